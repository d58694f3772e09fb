// Package alerts is taxflow's outgoing webhooks: operators register endpoints
// (PUT /v1/webhook-endpoints/{id}) and taxflow sends them signed events about invoices,
// durably and with retries.
//
// # How an event travels
//
//  1. Emit writes the event into the outgoing_events table inside the caller's transaction
//     (a transactional outbox): the event exists if and only if the state change it announces
//     committed.
//  2. A Dispatcher (one per worker process; several may run) claims undispatched events with
//     SELECT … FOR NO KEY UPDATE SKIP LOCKED and, for every endpoint subscribed to the event's type,
//     starts the delivery workflow "DeliverWebhookWorkflow" with the id
//     "webhook-delivery/<event id>/<endpoint id>" (a running one is reused and a closed one
//     is never started again, so a crash between the start and the marking never sends
//     twice), then marks the event dispatched. An event no endpoint subscribes to is just
//     marked dispatched.
//  3. The delivery workflow POSTs the event to the endpoint, retrying with exponential backoff
//     (10 s, doubling, at most 1 h apart) for up to 3 days, then marks the delivery failed.
//     Every attempt is recorded in webhook_deliveries (status, attempts, last error,
//     delivered_at). A deleted endpoint ends its deliveries quietly (status canceled).
//
// Each attempt is signed with the endpoint's secret of that moment (a secret put again
// applies to retries too) and goes to its URL of that moment.
//
// Delivery is at least once: a receiver may see an event twice (a crash after its 2xx and
// before taxflow recorded it) and must deduplicate on the event id.
//
// # What is sent
//
//	POST <endpoint url>
//	Content-Type: application/json
//	User-Agent: taxflow-webhooks/1
//	Taxflow-Event-Id: evt_4f1c…
//	Taxflow-Signature: t=1767225600,v1=<64 hex digits>
//
//	{"id":"evt_4f1c…","type":"invoice.failed","created":"2026-01-01T00:00:00Z",
//	 "data":{"invoice_id":"inv_1","customer_id":"cust_1","step":"tax","code":"customer_address_missing","message":"…"}}
//
// Every event's data names the invoice, the customer, the step and the error code (empty
// strings where they do not apply), and may carry more fields per type. The body of an
// event is the same bytes on every attempt. A 2xx answer is a delivery; anything else (a
// 3xx too: redirects are not followed), or no answer within 30 seconds, is retried.
//
// # Verifying the signature (receivers)
//
// Taxflow-Signature is "t=<unix seconds>,v1=<hex>", where <hex> is
// HMAC-SHA256(key = the endpoint's secret, message = "<t>.<raw body>") — Stripe's scheme.
// A receiver recomputes the HMAC over the raw body exactly as received (before any JSON
// parsing), compares it in constant time with every v1 in the header, and rejects a t
// older than its tolerance (5 minutes is usual) to refuse replays. Verify does all of this.
package alerts
