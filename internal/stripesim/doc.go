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
// 250-line and ±99,999,999 amount limits, the currency minimum charge, customer balances,
// payments (payment intents, charges, InvoicePayments), disputes, credit notes, automatic tax
// computed by the Anrok Stripe app, and signed webhook delivery.
// Parameters Stripe does not know are refused with parameter_unknown; parameters Stripe knows
// but the simulator does not model are refused with an explicit error naming them, never
// silently ignored.
//
// What it must not do: talk to the network except to deliver webhooks to the endpoints it is
// given, keep global state, or depend on the rest of taxflow. Every change is recorded as an
// event (GET /v1/events) and sent to the account's webhook endpoint, if it has one.
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
//	GET /v1/payment_intents/{id}   GET /v1/charges/{id}   GET /v1/refunds/{id}
//	GET              /v1/disputes                  GET             /v1/disputes/{id}
//	GET              /v1/invoice_payments          GET             /v1/invoice_payments/{id}
//	POST/GET         /v1/credit_notes              GET/POST        /v1/credit_notes/{id}
//	GET /v1/credit_notes/preview   GET /v1/credit_notes/{id}/lines   POST /v1/credit_notes/{id}/void
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
//	POST   /_sim/faults                    {"rules":[{"method","path","count","mode","status","hold"}],"delay":"250ms","rate":0.1,
//	                                       "random":{"before_execute","after_execute","drop_connection","timeout","timeout_hold"}}
//	                                       modes: before_execute, after_execute, drop_connection, timeout, rate_limited
//	DELETE /_sim/faults                    remove every fault
//	POST   /_sim/clock                     {"advance":"25h"}: move the simulated clock
//	POST   /_sim/idempotency/forget        forget every idempotency key (Stripe's 24 h retention)
//	POST   /_sim/reset                     forget everything
//	GET    /_sim/stats                     accounts, rate-limited requests, injected faults, now
//	GET    /_sim/webhooks                  endpoints (redacted), retry policy, pending deliveries
//	PUT    /_sim/webhooks                  {"account_key":"sk_test_...","url":"...","secret":"whsec_...","enabled_events":["invoice.*"]}
//	GET    /_sim/webhooks/deliveries       the delivery log [?account=<last4>&event=evt_...&type=invoice.*&status=failed]
//	POST   /_sim/webhooks/flush            {"timeout":"30s"}: answer once no delivery is pending (504 on timeout)
//	POST   /_sim/invoices/{id}/pay         pay an open invoice by card → Payment
//	POST   /_sim/invoices/{id}/fail_payment {"decline_code":"insufficient_funds"}: a declined attempt → Payment
//	POST   /_sim/invoices/{id}/dispute     {"reason":"fraudulent"}: dispute the charge that paid it → Dispute
//	POST   /_sim/disputes/{id}/close       {"status":"won"|"lost"} → Dispute
//	GET    /_sim/automatic_tax             the Anrok app's provider, delay and outcomes
//	PUT    /_sim/automatic_tax             {"delay":"200ms","outcome":"complete"|"never"|"failed","account_key":"sk_test_..."}
//
// The same operations exist as methods on Server for tests in Go: SetWebhookEndpoint,
// WebhookEndpoints, WebhookDeliveries, FlushWebhooks, PayInvoice, FailInvoicePayment,
// OpenDispute, CloseDispute, AutomaticTax, SetAutomaticTaxDelay, SetAutomaticTaxOutcome. Close
// stops the background work (webhook delivery, the tax app's timers).
//
// # Webhooks
//
// Each account (API key) can have one endpoint: its own (SetWebhookEndpoint(key, ...), or PUT
// /_sim/webhooks with "account_key", the whole secret key, so it can be set before the
// account's first request), else the one for every account (the same without a key), else
// Options.Webhooks(key). Every event recorded from then on is POSTed to it as Stripe's event
// JSON:
//
//	{"id":"evt_sim_000042","object":"event","api_version":"2025-08-27.basil","created":1772366400,
//	 "data":{"object":{...the invoice...},"previous_attributes":{...}},   (previous_attributes on *.updated only)
//	 "livemode":false,"pending_webhooks":1,"request":{"id":"req_sim_000007","idempotency_key":"k1"},
//	 "type":"invoice.finalized"}
//
// with "request" {null, null} for what the simulator does on its own (the tax app, control
// actions), and the header Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256("<t>.<body>")>
// keyed with the whsec_ secret, which stripe-go's webhook.ConstructEvent verifies. t is the
// wall clock of the attempt; "created" is the simulated clock. Delivery is asynchronous, one
// event at a time per account in event order; a non-2xx answer (or none) is retried after
// Options.WebhookRetryBackoff, doubling, up to Options.WebhookMaxAttempts attempts. An event's
// pending_webhooks drops to 0 when its delivery succeeds.
//
// Events: customer.created|updated|deleted, product.created|updated, price.created, tax_rate.created,
// invoiceitem.created|updated|deleted, invoice.created|updated|deleted|finalized|
// finalization_failed|paid|payment_succeeded|payment_failed|marked_uncollectible|voided|sent,
// payment_intent.created|succeeded|payment_failed|canceled, charge.succeeded|failed|refunded,
// invoice_payment.paid, refund.created, charge.dispute.created|closed,
// credit_note.created|updated|voided.
//
// # Payments and disputes
//
// Paying an invoice by card (POST /v1/invoices/{id}/pay, PayInvoice) creates the invoice's
// payment intent (pi_) on the first attempt, a charge (ch_) per attempt, and one
// InvoicePayment (inpay_) linking invoice and payment intent; basil's payment intents and
// charges do not name their invoice. FailInvoicePayment declines an attempt (decline codes
// generic_decline, insufficient_funds, lost_card, stolen_card, do_not_honor, fraudulent,
// card_velocity_exceeded, expired_card, incorrect_cvc, processing_error): the invoice stays
// open with attempt_count + 1, the payment intent returns to requires_payment_method with
// last_payment_error. paid_out_of_band creates no payment. Voiding (or crediting in full) an
// invoice with an open payment cancels its payment intent and InvoicePayment. OpenDispute
// disputes the charge that paid an invoice (du_, needs_response); CloseDispute closes it won
// or lost. The invoice stays paid.
//
// # Credit notes
//
// POST /v1/credit_notes takes invoice, lines[] (type invoice_line_item with invoice_line_item
// and amount or quantity; type custom_line_item with description, unit_amount or
// unit_amount_decimal, and quantity; either with tax_amounts[]{amount, taxable_amount,
// tax_rate}), or amount alone (one custom line without tax), reason, memo, metadata,
// effective_at, credit_amount, refund_amount, out_of_band_amount. Rules: open or paid
// invoices only; tax_amounts name the invoice's own txr_ tax rates, and an invoice line
// credited without them carries its own taxes in proportion; the credit notes of an invoice
// (void ones aside) cannot add up to more than its total, nor credit a line beyond its amount
// or quantity. What is left to pay is credited first (pre_payment_amount, lowering amount_due;
// an open invoice credited in full becomes paid); the rest (post_payment_amount) must equal
// credit_amount (to the customer's balance) + refund_amount (a re_ refund of the invoice's
// charge) + out_of_band_amount. The invoice's pre_ and post_payment_credit_notes_amount add
// them up. Voiding reverses a credit note, except one with a refund or a pre-payment one whose
// invoice is no longer open. tax_rates, refunds[] and shipping_cost are not modelled.
//
// # Automatic tax and the Anrok Stripe app
//
// With Options.AutomaticTaxProvider "stripe" (the default) automatic tax is Stripe's own,
// answered at once and charging nothing. With "anrok" (the stripe-sim binary's default) the
// simulator plays the Anrok Stripe app: a draft with automatic tax shows automatic_tax.status
// null while the app computes; after Options.AutomaticTaxDelay (200 ms by default) the app
// writes the line taxes and total_taxes, sets status complete and Stripe sends
// invoice.updated. Every change to the draft's lines restarts the calculation (status null
// again, another invoice.updated when done). SetAutomaticTaxOutcome (per account or for all)
// makes the app never answer (status stays null) or fail (status failed); finalizing before
// status is complete fails with 400 taxes_calculation_failed (customer_tax_location_invalid
// for requires_location_inputs, given to customers without an address country), leaves
// last_finalization_error on the draft and sends invoice.finalization_failed. Turning
// automatic tax off removes the app's taxes. A change of the customer's address does not
// restart a calculation.
//
// The app's rates, by the customer's address (software as a service; each line taxed
// separately, rounding half away from zero to the smallest unit):
//
//	US CO, city Denver    DENVER city sales tax 4.81% (Colorado itself does not tax SaaS)
//	US NY                 NEW YORK state 4%; city New York adds NEW YORK CITY 4.5% (city) and
//	                      METROPOLITAN COMMUTER TRANSPORTATION DISTRICT 0.375% (district)
//	US WA                 WASHINGTON state 6.5%
//	US PA                 PENNSYLVANIA state 6%
//	US TX                 TEXAS state 6.25% on 80% of the amount (taxable_basis_reduced)
//	other US              no tax (the seller does not collect there)
//	CA ON                 ONTARIO HST 13%; rest of CA: CANADA GST 5%
//	AU                    AUSTRALIA GST 10%
//	GB 20%, DE 19%, FR 20%, NL 21%, IE 23%: VAT
//	anywhere else         no tax
//	tax_exempt exempt or reverse: no tax
//
// Exclusive (and unspecified) prices are taxed on top: taxable = amount × basis, tax =
// taxable × rate. Inclusive prices contain the tax: pre-tax = amount / (1 + Σ rate × basis),
// shared among the taxes in proportion to their rates. Untaxed lines carry no tax entries.
// Each tax references a tax rate (txr_) created the way tax_rate_data creates them.
package stripesim
