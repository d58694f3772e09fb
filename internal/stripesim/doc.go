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
// Behaviour that Stripe documents but the simulator does not model is refused with an explicit
// error naming the parameter, never silently ignored.
//
// What it also offers tests (and operators of the no-account sandbox) under /_sim/ and as Go
// methods: fault injection (failed, lost and slow responses), a bounded log of every request,
// and a read-only view of every invoice of every account.
//
// What it must not do: talk to the network, read global state, or depend on the rest of
// taxflow. Webhook delivery, credit notes, disputes and invoice payments are not modelled
// yet; events are recorded (GET /v1/events) so that webhook delivery can be added on top.
package stripesim
