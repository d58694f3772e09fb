// Package reconcile compares taxflow's invoices with Stripe's invoices and Anrok's
// transactions over a period and lists every difference, each with what to do about it. It
// owns the rules of that comparison; it only reads — from PostgreSQL (internal/store),
// Stripe (internal/billing/stripebilling) and Anrok (internal/anrok), through the same
// rate-limited clients as the activities (internal/app builds it) — and never changes
// anything anywhere: fixing a difference is a person's decision.
//
// # The period
//
// A period is [from, to) over the time taxflow received the invoice (invoices.created_at).
// Receipt, not issued_at, because every Stripe invoice and Anrok transaction of an invoice
// is created after taxflow received it: the provider reads can then be bounded (Stripe
// invoices created from an hour before from to Grace after to; Anrok transactions modified
// since an hour before from — Anrok's list filters only on modification), whereas issued_at
// is the billing engine's date and says nothing about when Stripe or Anrok saw the invoice.
// A taxflow invoice of the period whose Stripe invoice falls outside the listing is read by
// its id, so a late draft is never reported missing.
//
// # What is compared
//
// For every invoice of the period that is not in flight (received, draft or failed: the
// workflow is still working on it, or waits for a retry; counted as in_flight):
//   - Stripe: the invoice taxflow recorded exists (missing_in_stripe), no other live
//     Stripe invoice names it in metadata (duplicate_in_stripe), its status matches taxflow's
//     (finalized = open, paid, uncollectible; void = void or deleted; skipped = deleted)
//     (status_mismatch), and its subtotal, total, currency (amount_mismatch) and tax
//     (tax_mismatch) equal taxflow's.
//   - Anrok: by taxflow's tax status — committed: the transaction exists (missing_in_anrok),
//     is not void (status_mismatch), and its amount, currency and tax equal taxflow's; voided:
//     nothing of the invoice is filed; negated: the transaction and its negation
//     (<id>:void, <id>:dispute) both exist; anything else (finalized without tax, skipped,
//     Stripe-app tax): nothing of the invoice is filed by taxflow. Two live transactions for
//     one invoice — committed under the prefixes of two connections of one Anrok account —
//     are duplicate_in_anrok.
//   - Credit notes issued in taxflow: the Stripe credit note and the negative Anrok
//     transaction exist, are not void, and carry taxflow's tax (totals are not compared:
//     taxflow's total is amount plus tax, which differs from Stripe's for tax-inclusive
//     lines). Pending and refused credit notes are not compared.
//   - Objects nobody in taxflow knows: a live Stripe invoice (or credit note) whose metadata
//     names a taxflow invoice taxflow does not have (unknown_in_stripe), and a live Anrok
//     transaction whose id, under a connection's prefix, names one (unknown_in_anrok), each
//     reported in the period it was created in. An object naming an invoice received outside
//     the period is not compared.
//
// Anrok's tax is the sum of its lines' integer taxAmountToCollect when the list gives them;
// otherwise its exact taxAmountDue.total, which may differ from the collected integer by at
// most half a unit per line. Transactions of the Anrok Stripe app ("stripe:in_…") are
// compared when the connection's account lists them; their absence is a note, not a
// difference (the app may record them in an Anrok account taxflow is not connected to).
//
// With a Stripe account filter, unknown Anrok transactions are not reported (they cannot be
// attributed to an account), and with an Anrok connection filter unknown Stripe invoices are
// not; the accounts read on the other side are those the selected invoices use.
package reconcile
