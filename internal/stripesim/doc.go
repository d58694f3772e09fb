// Package stripesim is a stateful simulator of Stripe's test mode, as much of it as taxflow
// uses: customers, products and prices, tax rates, invoice items, invoices and their lines,
// and the events those objects emit. It is an http.Handler that stripe-go v82 (API version
// 2025-08-27.basil) talks to as if it were api.stripe.com:
//
//	sim := stripesim.New(stripesim.Options{})
//	srv := httptest.NewServer(sim)
//	sc := stripe.NewClient("sk_test_123", stripe.WithBackends(stripe.NewBackendsWithConfig(
//		&stripe.BackendConfig{URL: stripe.String(srv.URL), MaxNetworkRetries: stripe.Int64(0)})))
//
// What it owns: the Stripe rules taxflow depends on, enforced the way Stripe enforces them and
// answered with Stripe's error shapes — API-key authentication with one independent account
// per key, idempotency keys, the per-account rate limit, the invoice state machine
// (draft → open → paid | void | uncollectible), invoice totals and tax aggregation, the
// 250-line and ±99,999,999 amount limits, the currency minimum charge, and customer balances.
// Parameters Stripe does not know are refused with parameter_unknown; parameters Stripe knows
// but the simulator does not model are refused with an explicit error naming them, never
// silently ignored.
//
// What it must not do: talk to the network, keep global state, or depend on the rest of
// taxflow. Webhook delivery, credit notes, disputes and invoice payments are not modelled
// yet; every change is recorded as an event (GET /v1/events), which is what webhook delivery
// will send.
//
// # Stripe endpoints
//
//	POST/GET         /v1/customers                 GET/POST/DELETE /v1/customers/{id}
//	POST/GET         /v1/products                  GET/POST        /v1/products/{id}
//	POST/GET         /v1/prices                    GET             /v1/prices/{id}
//	GET              /v1/tax_rates                 GET             /v1/tax_rates/{id}
//	POST/GET         /v1/invoiceitems              GET/POST/DELETE /v1/invoiceitems/{id}
//	POST/GET         /v1/invoices                  GET/POST/DELETE /v1/invoices/{id}
//	GET              /v1/invoices/{id}/lines       POST            /v1/invoices/{id}/lines/{line}
//	POST /v1/invoices/{id}/add_lines | update_lines | remove_lines
//	POST /v1/invoices/{id}/finalize | pay | void | mark_uncollectible | send
//	GET              /v1/events                    GET             /v1/events/{id}
//
// # Control endpoints
//
// They need "Authorization: Bearer <Options.ControlToken>" when a token is set, and answer
// JSON (errors in Stripe's shape). API keys appear only redacted (sk_test_****abcd).
//
//	GET    /_sim/invoices[?status=&customer=&account=<last4>&metadata[k]=v]   every invoice of every account
//	GET    /_sim/invoices/{id}             one invoice, whichever account owns it
//	GET    /_sim/requests                  the request log
//	GET    /_sim/faults                    the fault injector's state
//	POST   /_sim/faults                    {"rules":[{"method","path","count","mode","status"}],"delay":"250ms","rate":0.1}
//	DELETE /_sim/faults                    remove every fault
//	POST   /_sim/clock                     {"advance":"25h"}: move the simulated clock
//	POST   /_sim/idempotency/forget        forget every idempotency key (Stripe's 24 h retention)
//	POST   /_sim/reset                     forget everything
//	GET    /_sim/stats                     accounts, rate-limited requests, injected faults, now
//
// The same operations exist as methods on Server for tests in Go.
package stripesim
