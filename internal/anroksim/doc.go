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
//	POST /v1/seller/productTaxCategories/list
//	POST /v1/seller/certificates/create
//	POST /v1/seller/certificates/list
//	POST /v1/seller/certificates/id:{certificateId}/get
//	POST /v1/seller/certificates/id:{certificateId}/archive
//
// # One seller account
//
// A Server is one Anrok seller account, whatever API key calls it: like a sandbox, its
// products, customers, transactions and certificates are shared by every key it accepts
// (Options.APIKey restricts it to one). Its rate limit, Options.RequestsPerSecond, is
// counted per API key (each key stands for a seller account, as Anrok's limit is per
// account) and shared by all endpoints: over it, 429 with a text/plain body ("You've
// exceeded your API limit of 10 per second") and Retry-After in seconds. It starts with
// three products: saas-product-1 and saas-product-2 (taxable SaaS) and not-taxable-3
// (taxed nowhere).
//
// # Jurisdiction data
//
// Rates are data, not code: the embedded file rates/jurisdictions.csv, whose header
// documents its columns. It is a simulation for testing, not tax advice; rates are
// approximations as of 2026. It holds every US state and DC (the state rate, whether each
// product tax category is taxed there and on what share of the price: Texas taxes SaaS on
// 80%, Connecticut at its own 1% rate; Alaska, Delaware, Montana, New Hampshire and Oregon
// answer jurisHasNoTax), local rates for a few cities (Denver, New York City with the MCTD
// surcharge, Seattle, Austin, Chicago, Philadelphia, Phoenix with Maricopa County,
// Nashville, Los Angeles), the standard VAT rates of the 27 EU member states and the
// United Kingdom (20%), Canada, Australia (GST 10%) and a few countries where the seller
// does not collect (notCollecting). The simulated seller is registered everywhere the file
// taxes; Options.NoNexus takes registrations away (those jurisdictions, and their states
// and locals, answer notCollecting).
//
// The file reproduces Anrok's documented example exactly: a 15000 (150.00 USD) SaaS line
// billed to 1450 Cherokee St, Denver, CO 80204 is not taxed by "Colorado"
// (productNotTaxed) and taxed by "Denver (local)" at rate "0.0481" on taxable amount
// "15000", tax "721.5", collected as 722.
//
// An address is placed by country (ISO 3166-1 alpha-2; a US state alone implies the US).
// In the US it needs a state (code or name); the state's local jurisdictions follow when
// the city matches (or, without a city, the postal-code prefix). In Canada it needs a
// province: "Canada" charges the 5% GST and the province its PST (British Columbia 7%,
// Saskatchewan 6%), RST (Manitoba 7%) or QST (Quebec 9.975%); in the HST provinces Canada's
// 5% is reported as HST beside the province's part of the harmonized rate (Ontario 5% + 8%
// = 13%; New Brunswick, Newfoundland and Labrador and Prince Edward Island 15%; Nova
// Scotia 14% since April 2025); Alberta and the territories answer jurisHasNoTax for the
// province. Elsewhere the country alone is the jurisdiction. An unknown country, or a US
// or Canadian address without a recognisable state or province, answers 409
// customerAddressCouldNotResolve. Rates do not vary by date.
//
// # Product tax categories
//
// productTaxCategories/list answers {"productTaxCategories": [{"taxCategoryId": {"type":
// "standard", "id": ...}, "name", "description"}]} for the standard categories the
// simulator knows: saas, saasBusiness (taxed as saas: business-use exemptions are not
// modelled), digitalGoods, professionalServices and nonTaxable (taxed nowhere). A product
// with a custom category is accepted but, with no rules for it, billing it where tax is
// collected answers 409 productTaxCategoryNotSupportedForJuris.
//
// # Reverse charge
//
// In a VAT country (the EU and the United Kingdom) a customer holding a plausible VAT
// number of that country (customerTaxIds of type euVrn or genericVatNumber) is
// reverse-charged: the country answers notTaxedReason {"type":"exempt","reason":
// {"type":"reverseCharge"}} and no tax. Plausible means the country's prefix (EL for
// Greece; GB or XI for the United Kingdom), then as many characters as the country's
// numbers have (rates/jurisdictions.csv, vatLength), letters and digits only with at most
// two letters; spaces, dots and hyphens are ignored. "DE123456789" is plausible;
// "123456789", "FR123456789" (French numbers have 11 characters after FR) and a German
// number for a French customer are not, and VAT is charged. Canada and Australia do not
// reverse-charge here.
//
// # Exemption certificates
//
// certificates/create takes Anrok's documented body: customerId (required), customerName
// (optional; creates or renames the customer, otherwise the customer must exist: 409
// customerIdNotFound), effectiveDateBegin (required, YYYY-MM-DD), exemptionNumber and
// notes (optional, for display), certificateFile {name, contentsBase64} (required, as
// Anrok requires the certificate's image; it must be valid base64 and is not kept) and
// jurises: [{jurisId (required: "us-MA", a US state, DC or territory), registrationId,
// effectiveDateEndi, notes}] (at least one). The end date's odd spelling
// "effectiveDateEndi" is Anrok's; "effectiveDateEnd" is accepted too. It answers {"id":
// ...}; a jurisdiction named twice answers 409 duplicateJurisIds. The simulator has no
// field for an exemption reason: put it in notes.
//
// An active certificate exempts its customer in its US states: for a transaction whose
// customerId matches and whose tax date (the accounting date unless taxDate is sent) lies
// between effectiveDateBegin and the state's effectiveDateEndi (both included, no end
// date: no end), the state's jurisdictions (the state and its locals) answer
// notTaxedReason {"type":"exempt","reason":{"type":"customerExempt"}} and no tax. A
// jurisdiction with no tax or where the seller does not collect still says so. Archived
// certificates exempt nothing.
//
// certificates/id:{id}/get answers the certificate: id, status (active; expiringSoon when
// a jurisdiction ends within 60 days; expired when all have ended; archived), customerId,
// customerName, createdTime, effectiveDateBegin, expiryDate (the earliest end, or null),
// exemptionNumber, notes and jurises, with null for what is absent. archive answers {} and
// is idempotent. Both answer 409 certificateIdNotFound for an unknown id.
// certificates/list takes {filter?: {customerId?, status?}, limit? (1..100, default 10),
// cursor?} and answers {certificates, nextCursor, hasMore} in order of creation; unlike
// the transactions list, the filter is sent again with the cursor; a cursor the simulator
// did not issue answers 409 invalidCursor. Certificate ids are "cert_000001", ....
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
// frozen for filing (Server.Freeze, the control endpoint, or freeze-on-commit below)
// refuses createOrUpdate and void with 409 transactionFrozenForFiling but can be negated.
// The transactions list pages in order of last modification, so a transaction changed
// while a reader pages through reappears later with its new state. A customerId sent with
// a customerName on createOrUpdate creates (or renames) the customer; sent alone, it must
// already exist (409 customerIdNotFound). createEphemeral creates nothing.
//
// # Errors
//
// A 400 is a JSON string naming the field ("Request body: \"lineItems\": Required."), a
// 409 a JSON object {"type": "<code>"} (with productExternalId where Anrok adds it), a
// missing or refused bearer key 401, and an unknown path 404.
//
// # Fault injection
//
// Each Server has its own fault settings, given in Options (and restored by Reset),
// changed with Go methods or the control endpoints, and set for the anrok-sim command by
// its flags or environment variables:
//
//   - random faults (Options.FaultRates, SetFaultRates; ANROK_SIM_FAULT_RATE_5XX,
//     ANROK_SIM_FAULT_RATE_EXTERNAL, ANROK_SIM_FAULT_RATE_TIMEOUT, ANROK_SIM_TIMEOUT_DELAY):
//     a share of requests answers 500, 409 externalServiceError, or is held for the
//     timeout delay and then served;
//   - queued faults (InjectFaults): the next N requests get a given fault;
//   - added latency (Options.Latency, SetLatency; ANROK_SIM_LATENCY): every Anrok API
//     request waits that long first, whatever its answer;
//   - forced 409s (Options.ForcedConflicts, ForceConflict; ANROK_SIM_FORCE_409="[endpoint=]
//     code[:count],..."): the next count requests, or every request (to one endpoint, see
//     Endpoints), answer 409 {"type": code} without being looked at;
//   - forced freezes (Options.FreezeOnCommit, SetFreezeOnCommit; ANROK_SIM_FORCE_FROZEN=
//     true or a list of ids): every transaction createOrUpdate creates, or the ones named,
//     is frozen for filing right after it is saved.
//
// A request meets them in this order: latency, authentication, the rate limit, forced
// 409s, queued faults, random faults. A fault answer has no effect on the account; a
// delayed request is served once the delay ends (or the client gives up), so a client
// that timed out may still have changed the account, as with the real service.
//
// # Control endpoints
//
// Under /_sim/, outside Anrok's API, open unless Options.ControlToken is set (then a
// bearer token), JSON in and out:
//
//	GET    /_sim/transactions                every stored transaction, versions and status
//	GET    /_sim/transactions/{id}           one transaction (404 when unknown)
//	POST   /_sim/transactions/{id}/freeze    mark it filed
//	GET    /_sim/certificates                every exemption certificate
//	GET    /_sim/faults                      every fault setting in force
//	POST   /_sim/faults                      {"kind":"serverError"|"externalServiceError"|"delay"|"rateLimited", "count":N, "delay":"2s"}
//	DELETE /_sim/faults                      clear every fault setting
//	PUT    /_sim/faults/rates                {"serverError":0.1, "externalServiceError":0, "timeout":0.05, "timeoutDelay":"35s"}
//	PUT    /_sim/faults/latency              {"latency":"250ms"} ("" or "0s" removes it)
//	POST   /_sim/faults/conflicts            {"code":"transactionFrozenForFiling", "endpoint":"createOrUpdate", "count":N}
//	DELETE /_sim/faults/conflicts            drop the forced 409s
//	PUT    /_sim/faults/frozen               {"all":true} or {"ids":["stripe:in_1"]} ({} stops)
//	GET    /_sim/products                    the account's products
//	POST   /_sim/customers                   {"id":..., "name":...}
//	GET    /_sim/stats                       {"requests", "throttled", "faults", "faultsByKind"}
//	POST   /_sim/reset                       back to the starting state
//
// # Where the simulator decides on its own
//
// Anrok's documentation leaves some answers open; the simulator's choices are:
// products/create of an existing external id answers 409 productExternalIdAlreadyExists;
// createOrUpdate of a negation's id answers 409 transactionIsAlreadyANegation; the
// filingInfo list filter matches nothing (the simulator files no returns); the list's
// addresses and lineItems shapes are its own, as are the productTaxCategories/list answer
// and the certificates list's page bounds; the exemption certificates' rules above follow
// Anrok's public API reference where it speaks and are the simulator's where it does not.
//
// The simulator is deterministic given Options.Now and Options.Seed (added latency and
// delays aside, which use the real clock), keeps no mutable global state (the parsed data
// file is read-only), and is safe for concurrent use.
package anroksim
