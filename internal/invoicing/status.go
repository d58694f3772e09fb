// Package invoicing holds taxflow's invoice domain rules that need no I/O: statuses and
// steps, which address and product mappings an invoice uses, and how the tax engine's
// answer becomes the tax lines of the billing provider. The activities feed it rows from
// the store and hand its results to the providers; the workflow never calls it directly.
package invoicing

// Status is an invoice's status (API field `status`).
type Status string

const (
	StatusReceived      Status = "received"
	StatusDraft         Status = "draft"
	StatusFinalized     Status = "finalized"
	StatusPaid          Status = "paid"
	StatusVoid          Status = "void"
	StatusUncollectible Status = "uncollectible"
	StatusFailed        Status = "failed"
	StatusSkipped       Status = "skipped"
)

// TaxStatus is the state of an invoice's tax (API field `tax_status`).
type TaxStatus string

const (
	TaxPending       TaxStatus = "pending"
	TaxCalculated    TaxStatus = "calculated"
	TaxCommitted     TaxStatus = "committed"
	TaxFailed        TaxStatus = "failed"
	TaxVoided        TaxStatus = "voided"
	TaxNegated       TaxStatus = "negated"
	TaxNotApplicable TaxStatus = "not_applicable"
)

// Step is a step of the invoice workflow; a failed invoice records the step it failed at
// and a retry resumes there.
type Step string

const (
	StepCheck    Step = "check"
	StepDraft    Step = "draft"
	StepTax      Step = "tax"
	StepLines    Step = "lines"
	StepCommit   Step = "commit"
	StepFinalize Step = "finalize"
	StepWatch    Step = "watch"
	StepVoid     Step = "void"
)

// StatusBefore is the status an invoice shows while it works on step (not failed).
func StatusBefore(step Step) Status {
	switch step {
	case StepCheck, StepDraft, StepTax:
		return StatusReceived
	case StepLines, StepCommit, StepFinalize:
		return StatusDraft
	default:
		return StatusFinalized
	}
}

// Tax modes of a Stripe account.
const (
	TaxModeAnrokAPI  = "anrok_api"
	TaxModeStripeApp = "stripe_app"
)

// Policies at the tax deadline.
const (
	OnTaxTimeoutFail      = "fail"
	OnTaxTimeoutFinalize  = "finalize"
	OnTaxTimeoutKeepDraft = "keep_draft"
)

// Error codes taxflow itself gives an invoice.
const (
	CodeCustomerAddressMissing  = "customer_address_missing"
	CodeProductNotMapped        = "product_not_mapped"
	CodeAnrokConnectionMissing  = "anrok_connection_missing"
	CodeTaxTimeout              = "tax_timeout"
	CodeFinalizedWithoutTax     = "finalized_without_tax"
	CodeTaxMismatch             = "tax_mismatch"
	CodeSecretUnreadable        = "secret_unreadable"
	CodeBillingConfigMissing    = "billing_configuration_missing"
	CodeAmountExceedsStripeMax  = "amount_exceeds_stripe_maximum"
	CodeStripeInvoiceNotCreated = "stripe_invoice_missing"
)
