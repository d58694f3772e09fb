// Package anrok is taxflow's client for Anrok's seller API (API version 1.1): it computes
// tax for an invoice (createEphemeral), commits the invoice's transaction for filing
// (createOrUpdate), voids and negates it, and reads transactions back for reconciliation.
//
// The package owns three things and nothing else:
//
//   - The wire format. Request and response types mirror Anrok's JSON exactly. Amounts are
//     int64 minor units and every fractional figure Anrok sends as a decimal string
//     ("721.5", "0.0481") is a decimal.Decimal, never a float. Each line's answer is also
//     kept verbatim (LineTax.Raw) so callers can store Anrok's breakdown as Anrok wrote it.
//   - Local validation of what Anrok is documented to reject with a 400, so a bad invoice
//     fails fast with a message naming the field instead of spending a rate-limited call.
//   - Error classification. Every error a method returns is a *failure.Error with Provider
//     "anrok": nothing above this package looks at HTTP status codes or Anrok's 409 types
//     again. Anrok's 409 types are the Code* constants; the client's own codes (timeout,
//     rateLimited, ...) sit beside them.
//
// It does not rate-limit (the caller holds Anrok's 10 requests per second per seller
// account across the worker cluster), retry (the Temporal activity does, guided by the
// failure.Class), or decide what a transaction id is (the caller derives it from stable ids).
//
// The API key is never written into an error, a log line or a formatted Client/Config.
package anrok
