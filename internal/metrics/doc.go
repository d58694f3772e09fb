// Package metrics is taxflow's Prometheus instrumentation: its own metrics (provider calls,
// invoices, webhooks), the Temporal SDK's metrics (through a client.MetricsHandler on the
// same registry) and the /metrics handler that serves them.
//
// # Building it
//
// NewRegistry builds a private registry with the Go runtime and process collectors and the
// Metrics on it; New(reg) puts the Metrics on a registry of the caller's (calling New twice
// with the same Registerer returns the same *Metrics, so nothing is registered twice).
// Handler serves the registry in Prometheus' text (or OpenMetrics) format.
//
// A nil *Metrics is valid: every method is then a no-op (Transport returns next unchanged,
// TemporalMetricsHandler returns client.MetricsNopHandler, Handler answers 404), so code can
// run without metrics.
//
// # taxflow's metrics
//
//	taxflow_provider_request_duration_seconds  histogram  provider, operation, status
//	    Every HTTP request to a provider, timed until the response headers arrive.
//	    provider: anrok | stripe. operation: the request path with its ids replaced by
//	    {id} (NormalizeOperation), e.g. /v1/invoices/{id}/finalize,
//	    /v1/seller/transactions/createEphemeral, /v1/seller/transactions/{id}/void.
//	    status: the HTTP status code ("200", "409", "429", ...) or "error" when no response
//	    arrived (network error, timeout, cancellation).
//	taxflow_provider_errors_total              counter    provider, code, class
//	    Classified provider errors (internal/failure): code is the error's stable code
//	    (productExternalIdUnknown, stripe_rate_limited, ...), class one of retryable,
//	    rate_limited, needs_person.
//	taxflow_provider_rate_limited_total        counter    provider
//	    429 answers received from a provider.
//	taxflow_invoices                           gauge      status, tax_status
//	    Invoices in Postgres by status and tax status, as last counted (SetInvoiceCounts).
//	    A combination counted before but absent from the latest count is set to 0.
//	taxflow_invoice_finalization_seconds       histogram  (none)
//	    Time from an invoice's receipt to its finalization; buckets from 1 s to 30 days.
//	taxflow_webhook_events_total               counter    source, type, result
//	    Webhook events: source stripe (received from Stripe) or outgoing (taxflow's alerts),
//	    type the event type (invoice.paid, ...), result what became of it (accepted,
//	    duplicate, refused, delivered, failed, ...).
//	taxflow_rate_limit_wait_seconds            histogram  provider
//	    Time a provider request waited for its send slot (internal/ratelimit).
//	taxflow_rate_limit_deferred_total          counter    provider
//	    Requests put off, their activity retried later, because the account's send slots
//	    were taken too far ahead.
//	taxflow_rate_limit_late_total              counter    provider
//	    Send slots given up because the request woke too late for them.
//
// Label values that come from outside (operation, code, type) are bounded: past
// maxLabelValues distinct values per label (per provider for operation), a new value is
// reported as "other", so a misbehaving caller cannot grow the series without end.
//
// # The Temporal SDK's metrics
//
// TemporalMetricsHandler returns a client.MetricsHandler for client.Options.MetricsHandler.
// The SDK's metrics appear on the same registry, named the way Temporal's published Grafana
// dashboards for the Go SDK expect:
//
//   - a counter gets the suffix _total: temporal_request → temporal_request_total;
//   - a timer is a histogram in seconds with the suffix _seconds:
//     temporal_activity_execution_latency → temporal_activity_execution_latency_seconds
//     (buckets from 1 ms to 1 day);
//   - a gauge keeps its name: temporal_num_pollers, temporal_worker_task_slots_available.
//
// Names are sanitized to Prometheus' charset ([a-zA-Z_:][a-zA-Z0-9_:]*, tag keys to
// [a-zA-Z_][a-zA-Z0-9_]*; a tag named le is renamed tag_le).
//
// The SDK emits one metric name with different tag key sets (an RPC made for a workflow
// task carries workflow_type and task_queue, a client's own RPC does not; a worker's metrics
// carry worker_type; custom metrics from workflow code carry whatever it adds). The
// handler keeps one metric family per exposed name, and in it one series per distinct tag
// set; the family's label names are the union of the tag keys seen so far, and a series
// lacking one of them exposes it with the empty value, which Prometheus treats as the label
// being absent. A tag with an empty value is likewise dropped, so {a="x"} and {a="x",b=""}
// are one series. Nothing is lost when a later call brings a new key, no label-set mismatch
// can occur (the families are produced by one unchecked collector, built at scrape time), and
// no fully-qualified name is ever registered twice. Should one SDK name be used as two kinds
// (a counter and a gauge), the second kind's family gets the kind as a suffix
// (name_gauge) instead of clashing. Names that would collide with taxflow's own metrics or
// the Go/process collectors (taxflow_, go_, process_, promhttp_) are prefixed with sdk_.
package metrics
