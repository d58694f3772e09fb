// Package anroksim simulates Anrok's seller API for taxflow's no-account sandbox, for
// tests and for chaos runs. It speaks the same JSON over the same paths as Anrok, so the
// production client (package anrok) runs against it unchanged:
//
//	POST /v1/seller/transactions/createEphemeral
//	POST /v1/seller/transactions/createOrUpdate
//	POST /v1/seller/transactions/id:{transactionId}/void
//	POST /v1/seller/transactions/createNegation
//	POST /v1/seller/transactions/list
//	POST /v1/seller/products/create
//	POST /v1/seller/products/externalId:{externalId}/get
//
// # One seller account
//
// A Server is one Anrok seller account, whatever API key calls it: like a sandbox, its
// products, customers and transactions are shared by every key it accepts (Options.APIKey
// restricts it to one). Its rate limit, like Anrok's, is per account and shared by all
// endpoints. It starts with three products: saas-product-1 and saas-product-2 (taxable
// SaaS) and not-taxable-3 (taxed nowhere).
//
// # Tax rules
//
// The rate table reproduces Anrok's documented example exactly: a 15000 (150.00 USD) SaaS
// line billed to 1450 Cherokee St, Denver, CO 80204 is not taxed by "Colorado"
// (productNotTaxed) and taxed by "Denver (local)" at rate "0.0481" on taxable amount
// "15000", tax "721.5", collected as 722. Besides Colorado/Denver it knows New York
// (state, New York City, MCTD), Washington (state, Seattle), Texas (state, Austin, on 80%
// of the price), California (SaaS not taxed), the states without a sales tax
// (jurisHasNoTax), the other US states (notCollecting: no nexus), twelve EU countries and
// the United Kingdom at their standard VAT rates, and a few other countries
// (notCollecting). An EU or UK customer with a tax id (euVrn or genericVatNumber) is
// reverse-charged: the country does not tax the line, with notTaxedReason
// {"type":"exempt","reason":{"type":"reverseCharge"}}. Rates do not vary by date.
//
// An address is placed by country (ISO 3166-1 alpha-2; a US state alone implies the US),
// then for the US by state code or name, then by city (or, without a city, postal-code
// prefix) for local jurisdictions. An unknown country, or a US address without a known
// state, answers 409 customerAddressCouldNotResolve.
//
// # Rounding
//
// Every tax is exact: taxAmount = taxableAmount × taxRate, with no rounding, as decimal
// strings. A tax-inclusive line first backs its pre-tax amount out of its amount:
// preTaxAmount = amount / (1 + Σ share × rate), rounded half away from zero to 4 decimal
// places (31000 inclusive in Denver is "29577.3304"), and its taxes are computed on that.
// A line's taxAmountToCollect is the sum of its jurisdictions' exact taxes rounded half
// away from zero to an integer (721.5 → 722, -721.5 → -722). The transaction's
// taxAmountToCollect is the sum of its lines' taxAmountToCollect, never the rounding of
// the exact total, so the lines always add up to the whole.
//
// # Transactions
//
// createOrUpdate stores a transaction at version 1 and bumps the version on every later
// call with the same id (an identical body included; a voided transaction comes back to
// life). void is idempotent and leaves the version alone. createNegation stores the exact
// inverse of the original's current version, at version 1, and answers {}. A transaction
// frozen for filing (Server.Freeze or the control endpoint) refuses createOrUpdate and
// void with 409 transactionFrozenForFiling but can be negated. The transactions list
// pages in order of last modification, so a transaction changed while a reader pages
// through reappears later with its new state. A customerId sent with a customerName on
// createOrUpdate creates (or renames) the customer; sent alone, it must already exist
// (409 customerIdNotFound). createEphemeral creates nothing.
//
// # Control endpoints
//
// Under /_sim/, outside Anrok's API, open unless Options.ControlToken is set (then a
// bearer token), JSON in and out:
//
//	GET    /_sim/transactions                every stored transaction, versions and status
//	GET    /_sim/transactions/{id}           one transaction (404 when unknown)
//	POST   /_sim/transactions/{id}/freeze    mark it filed
//	GET    /_sim/faults                      queued faults and random rates
//	POST   /_sim/faults                      {"kind":"serverError"|"externalServiceError"|"delay", "count":N, "delay":"2s"}
//	DELETE /_sim/faults                      drop queued faults, stop random ones
//	PUT    /_sim/faults/rates                {"serverError":0.1, "externalServiceError":0, "timeout":0.05, "timeoutDelay":"35s"}
//	GET    /_sim/products                    the account's products
//	POST   /_sim/customers                   {"id":..., "name":...}
//	GET    /_sim/stats                       {"requests", "throttled", "faults"}
//	POST   /_sim/reset                       back to the starting state
//
// The same operations are Go methods on Server. Injected faults hit Anrok API requests
// after authentication and the rate limit; a delay fault serves the request normally once
// the delay ends (or the client gives up), so a client that timed out may still have
// changed the account, as with the real service.
//
// # Where the simulator decides on its own
//
// Anrok's documentation leaves some answers open; the simulator's choices are:
// products/create of an existing external id answers 409 productExternalIdAlreadyExists;
// a custom tax category has no rules, so billing it where tax is collected answers 409
// productTaxCategoryNotSupportedForJuris; createOrUpdate of a negation's id answers 409
// transactionIsAlreadyANegation; the filingInfo list filter matches nothing (the
// simulator files no returns); the list's addresses and lineItems shapes are its own.
//
// The simulator is deterministic given Options.Now and Options.Seed, keeps no global
// state, and is safe for concurrent use.
package anroksim
