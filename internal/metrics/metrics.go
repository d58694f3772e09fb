package metrics

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Label values of the provider label.
const (
	ProviderAnrok  = "anrok"
	ProviderStripe = "stripe"
)

// Label values of the webhook source label.
const (
	WebhookSourceStripe   = "stripe"
	WebhookSourceOutgoing = "outgoing"
)

// StatusError is the status label of a provider request that got no HTTP response.
const StatusError = "error"

// maxLabelValues bounds the distinct values of a label fed from outside (per provider for
// operation); past it a new value is reported as OtherLabelValue.
const maxLabelValues = 100

// maxProviders bounds the distinct values of the provider label.
const maxProviders = 16

// OtherLabelValue replaces a label value once its label has maxLabelValues distinct values.
const OtherLabelValue = "other"

var (
	providerDurationBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
	// 1 s .. 30 days: an invoice waits for its tax up to TAXFLOW_TAX_WAIT (at most 720 h).
	finalizationBuckets = []float64{
		1, 5, 15, 30, 60, 2 * 60, 5 * 60, 10 * 60, 30 * 60,
		3600, 2 * 3600, 4 * 3600, 8 * 3600, 24 * 3600, 3 * 24 * 3600, 7 * 24 * 3600, 30 * 24 * 3600,
	}
)

// Metrics holds taxflow's metrics. Build it with New or NewRegistry; a nil *Metrics is a
// valid no-op.
type Metrics struct {
	reg      prometheus.Registerer
	gatherer prometheus.Gatherer

	providerDuration *prometheus.HistogramVec
	providerErrors   *prometheus.CounterVec
	rateLimited      *prometheus.CounterVec
	invoices         *prometheus.GaugeVec
	finalization     prometheus.Histogram
	webhooks         *prometheus.CounterVec
	slotWait         *prometheus.HistogramVec
	deferred         *prometheus.CounterVec
	late             *prometheus.CounterVec

	temporal *sdkCollector

	providers    *boundedValues
	opsMu        sync.Mutex
	operations   map[string]*boundedValues // per provider
	errorCodes   *boundedValues
	webhookTypes *boundedValues

	invMu   sync.Mutex
	invSeen map[invoiceKey]struct{}
}

// InvoiceCount is one row of the periodic count of invoices:
// SELECT status, tax_status, count(*) FROM invoices GROUP BY status, tax_status.
type InvoiceCount struct {
	Status    string
	TaxStatus string
	N         int64
}

type invoiceKey struct{ status, taxStatus string }

var (
	sharedMu sync.Mutex
	shared   = map[prometheus.Registerer]*Metrics{}
)

// NewRegistry builds a new registry holding the Go runtime and process collectors and
// taxflow's metrics, and returns both.
func NewRegistry() (*Metrics, *prometheus.Registry) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return New(reg), reg
}

// New registers taxflow's metrics (and the collector of the Temporal SDK's metrics) with
// reg and returns them. Handler serves reg when reg is also a prometheus.Gatherer (a
// *prometheus.Registry is), else prometheus.DefaultGatherer. A nil reg means a new empty
// registry. Called again with the same reg, New returns the same *Metrics.
//
// It panics only if reg already holds a different metric under one of taxflow's names
// (a programming error, found at start).
func New(reg prometheus.Registerer) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	// Only pointer Registerers (a *prometheus.Registry, a wrapping registerer) are safe map
	// keys; another kind simply gets a Metrics of its own each time.
	shareable := reflect.TypeOf(reg).Kind() == reflect.Pointer
	if shareable {
		sharedMu.Lock()
		defer sharedMu.Unlock()
		if m, ok := shared[reg]; ok {
			return m
		}
	}
	m := &Metrics{
		reg:          reg,
		providers:    newBoundedValues(maxProviders),
		operations:   map[string]*boundedValues{},
		errorCodes:   newBoundedValues(maxLabelValues),
		webhookTypes: newBoundedValues(maxLabelValues),
		invSeen:      map[invoiceKey]struct{}{},
	}
	if g, ok := reg.(prometheus.Gatherer); ok {
		m.gatherer = g
	} else {
		m.gatherer = prometheus.DefaultGatherer
	}
	m.providerDuration = register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "taxflow_provider_request_duration_seconds",
		Help:    "Duration of HTTP requests to tax and billing providers, until the response headers arrive.",
		Buckets: providerDurationBuckets,
	}, []string{"provider", "operation", "status"}))
	m.providerErrors = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "taxflow_provider_errors_total",
		Help: "Classified provider errors by code and class (retryable, rate_limited, needs_person).",
	}, []string{"provider", "code", "class"}))
	m.rateLimited = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "taxflow_provider_rate_limited_total",
		Help: "HTTP 429 answers received from providers.",
	}, []string{"provider"}))
	m.invoices = register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "taxflow_invoices",
		Help: "Invoices in the database by status and tax status, as last counted.",
	}, []string{"status", "tax_status"}))
	m.finalization = register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "taxflow_invoice_finalization_seconds",
		Help:    "Time from an invoice's receipt to its finalization.",
		Buckets: finalizationBuckets,
	}))
	m.webhooks = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "taxflow_webhook_events_total",
		Help: "Webhook events by source (stripe, outgoing), type and result.",
	}, []string{"source", "type", "result"}))
	m.slotWait = register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "taxflow_rate_limit_wait_seconds",
		Help:    "Time a provider request waited for its send slot under the account's rate limit.",
		Buckets: []float64{0, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 20},
	}, []string{"provider"}))
	m.deferred = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "taxflow_rate_limit_deferred_total",
		Help: "Provider requests deferred (their activity retried later) because the account's send slots were taken too far ahead.",
	}, []string{"provider"}))
	m.late = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "taxflow_rate_limit_late_total",
		Help: "Send slots given up because the request woke too late for them (a starved CPU, a slow database), a new slot taken.",
	}, []string{"provider"}))
	m.temporal = newSDKCollector()
	// An unchecked collector (it describes nothing: its families are known only at scrape
	// time); it is registered once per Metrics, and New returns the existing Metrics for a
	// Registerer it has seen.
	if err := reg.Register(m.temporal); err != nil {
		panic(fmt.Sprintf("metrics: register the Temporal SDK collector: %v", err))
	}
	if shareable {
		shared[reg] = m
	}
	return m
}

// register registers c with reg; if reg already holds an equal collector (same
// descriptors) it returns that one instead.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	panic(fmt.Sprintf("metrics: register: %v", err))
}

// Registerer is the registry the metrics are on, to add other collectors (nil for a nil
// Metrics).
func (m *Metrics) Registerer() prometheus.Registerer {
	if m == nil {
		return nil
	}
	return m.reg
}

// Handler serves the registry's metrics (mount it at /metrics). A metric that fails to be
// collected is left out and the rest is served.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.gatherer, promhttp.HandlerOpts{
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	})
}

// ObserveProviderRequest records one HTTP request to a provider: its duration under
// operation (normalized by NormalizeOperation, so a raw path is accepted too) and status
// (the HTTP status code; "error" when err is non-nil or status is 0), and counts a 429 in
// taxflow_provider_rate_limited_total. Transport calls it for every request.
func (m *Metrics) ObserveProviderRequest(provider, operation string, status int, err error, d time.Duration) {
	if m == nil {
		return
	}
	provider = m.provider(provider)
	op := NormalizeOperation(provider, operation)
	if !m.operationsOf(provider).admit(op) {
		op = OtherLabelValue
	}
	st := StatusError
	if err == nil && status > 0 {
		st = strconv.Itoa(status)
	}
	if o, e := m.providerDuration.GetMetricWithLabelValues(provider, op, st); e == nil {
		o.Observe(nonNegativeSeconds(d))
	}
	if err == nil && status == http.StatusTooManyRequests {
		if c, e := m.rateLimited.GetMetricWithLabelValues(provider); e == nil {
			c.Inc()
		}
	}
}

// provider bounds the provider label (a handful are expected: anrok, stripe).
func (m *Metrics) provider(p string) string {
	p = labelValue(p)
	if !m.providers.admit(p) {
		return OtherLabelValue
	}
	return p
}

func (m *Metrics) operationsOf(provider string) *boundedValues {
	m.opsMu.Lock()
	defer m.opsMu.Unlock()
	b := m.operations[provider]
	if b == nil {
		b = newBoundedValues(maxLabelValues)
		m.operations[provider] = b
	}
	return b
}

// CountProviderError counts one classified provider error: code is the failure's code
// (Anrok's 409 type, Stripe's code, or taxflow's), class its failure.Class
// (retryable, rate_limited, needs_person).
func (m *Metrics) CountProviderError(provider, code, class string) {
	if m == nil {
		return
	}
	code = labelValue(code)
	if !m.errorCodes.admit(code) {
		code = OtherLabelValue
	}
	if c, e := m.providerErrors.GetMetricWithLabelValues(m.provider(provider), code, labelValue(class)); e == nil {
		c.Inc()
	}
}

// CountWebhook counts one webhook event: source stripe or outgoing, typ the event type,
// result what became of it (accepted, duplicate, refused, ...).
func (m *Metrics) CountWebhook(source, typ, result string) {
	if m == nil {
		return
	}
	typ = labelValue(typ)
	if !m.webhookTypes.admit(typ) {
		typ = OtherLabelValue
	}
	if c, e := m.webhooks.GetMetricWithLabelValues(labelValue(source), typ, labelValue(result)); e == nil {
		c.Inc()
	}
}

// ObserveRateLimit records what the rate limiter did for one request: a send slot taken
// after wait ("taken"), the request put off ("deferred"), or a slot given up for waking too
// late ("late").
func (m *Metrics) ObserveRateLimit(provider, what string, wait time.Duration) {
	if m == nil {
		return
	}
	p := m.provider(provider)
	switch what {
	case "deferred":
		m.deferred.WithLabelValues(p).Inc()
	case "late":
		m.late.WithLabelValues(p).Inc()
	default:
		m.slotWait.WithLabelValues(p).Observe(nonNegativeSeconds(wait))
	}
}

// ObserveFinalization records the time an invoice took from its receipt to its
// finalization.
func (m *Metrics) ObserveFinalization(d time.Duration) {
	if m == nil {
		return
	}
	m.finalization.Observe(nonNegativeSeconds(d))
}

// SetInvoiceCounts replaces the invoice gauge with a new count: every (status, tax_status)
// in counts is set to its N (rows naming the same pair are added up; an empty status or
// tax status is reported as "none"), and every pair set by an earlier call but absent now is
// set to 0, so that a status that emptied shows 0 rather than its last count.
func (m *Metrics) SetInvoiceCounts(counts []InvoiceCount) {
	if m == nil {
		return
	}
	now := make(map[invoiceKey]float64, len(counts))
	for _, c := range counts {
		k := invoiceKey{noneIfEmpty(labelValue(c.Status)), noneIfEmpty(labelValue(c.TaxStatus))}
		now[k] += float64(c.N)
	}
	m.invMu.Lock()
	defer m.invMu.Unlock()
	for k := range m.invSeen {
		if _, ok := now[k]; !ok {
			m.invoices.WithLabelValues(k.status, k.taxStatus).Set(0)
		}
	}
	for k, n := range now {
		m.invoices.WithLabelValues(k.status, k.taxStatus).Set(n)
		m.invSeen[k] = struct{}{}
	}
}

func noneIfEmpty(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func nonNegativeSeconds(d time.Duration) float64 {
	if d < 0 {
		return 0
	}
	return d.Seconds()
}
