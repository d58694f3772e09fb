// Package workflows holds the invoice workflow: the process that takes one invoice from
// received to finalized in Stripe and Anrok and then mirrors what happens to it. This file
// is the package's public surface: the workflow's id, signal and query names, and its input
// and result types. The workflow is deterministic: it does no I/O and reads no clock but
// workflow.Now; every call out is an activity (package activities).
package workflows

import (
	"time"
)

// InvoiceWorkflowName is the registered name of the invoice workflow.
const InvoiceWorkflowName = "InvoiceWorkflow"

// InvoiceWorkflowID is the workflow id of an invoice: the one place it is built.
func InvoiceWorkflowID(invoiceID string) string { return "invoice/" + invoiceID }

// Signals an operator (Temporal UI) or the starter API sends to an invoice workflow.
const (
	// SignalRetry resumes a failed invoice from its failed step. Body: RetrySignal.
	SignalRetry = "retry"
	// SignalVoid voids a finalized invoice in Stripe and Anrok. Body: VoidSignal.
	SignalVoid = "void"
	// SignalStripeEvent forwards a verified Stripe webhook event about the invoice (sent by
	// the starter's webhook endpoint). Body: StripeEventSignal.
	SignalStripeEvent = "stripe-event"
	// SignalDispute reports a dispute of the invoice's payment. Body: DisputeSignal, e.g.
	// {"status": "lost"}.
	SignalDispute = "dispute"
	// SignalCreditNote issues a credit note stored by the API. Body: CreditNoteSignal.
	SignalCreditNote = "credit-note"
	// SignalRefreshTax recomputes the tax of a draft and rewrites it. Body: {} (optional reason).
	SignalRefreshTax = "refresh-tax"
	// SignalFinalizeNow ends the wait of a draft (for tax, or for a person in Stripe) and
	// finalizes it. Body: {} (optional reason).
	SignalFinalizeNow = "finalize-now"
)

// DisputeSignal is the body of SignalDispute.
type DisputeSignal struct {
	// Status is opened, won or lost: only a lost dispute changes the tax (a negation).
	Status string `json:"status"`
	// DisputeID is Stripe's dispute id, when the dispute came from Stripe.
	DisputeID string `json:"dispute_id,omitempty"`
}

// CreditNoteSignal is the body of SignalCreditNote.
type CreditNoteSignal struct {
	CreditNoteID string `json:"credit_note_id"`
}

// ActionSignal is the body of SignalRefreshTax and SignalFinalizeNow.
type ActionSignal struct {
	Reason string `json:"reason,omitempty"`
}

// DefaultContinueEvery is how many events a watching workflow handles before it continues
// as new (besides whenever Temporal suggests it).
const DefaultContinueEvery = 500

// StripeEventSignal is the body of SignalStripeEvent: the event is a hint, the workflow
// reads the invoice back from Stripe before acting.
type StripeEventSignal struct {
	EventID string `json:"event_id"`
	Type    string `json:"type"`
}

// QueryState returns the workflow's own view of the invoice (State).
const QueryState = "state"

// DefaultWatchPeriod is how long a finalized invoice's workflow keeps watching for events.
const DefaultWatchPeriod = 180 * 24 * time.Hour

// InvoiceInput starts the workflow of one invoice. It carries ids only: the invoice's body
// lives in Postgres.
type InvoiceInput struct {
	InvoiceID string
	// WatchPeriod overrides DefaultWatchPeriod (0: default).
	WatchPeriod time.Duration `json:",omitempty"`
	// Resume: a continuation (continue-as-new) or a restart by a late event (signal-with-
	// start): the workflow loads the invoice's state from Postgres before anything else.
	Resume bool `json:",omitempty"`
	// WatchUntil carries the end of the watch across continue-as-new.
	WatchUntil time.Time `json:",omitempty"`
	// ContinueEvery overrides DefaultContinueEvery (tests).
	ContinueEvery int `json:",omitempty"`
	// Logic is the version of the workflow's logic the run starts with (of the
	// "search-attributes" change), set by whatever starts it: StartInvoice, Signal and
	// continue-as-new pass LatestLogic. Runs started before the field existed carry 0 and
	// ask workflow.GetVersion, as they did when they were recorded. Carried in the input, the
	// version costs a new invoice neither the version marker nor the TemporalChangeVersion
	// search-attribute upsert the SDK writes with it (a visibility write per invoice; issue 7).
	Logic int `json:",omitempty"`
}

// LatestLogic is the logic version new runs start with (InvoiceInput.Logic).
const LatestLogic = int(versionLean)

// InvoiceResult is the workflow's result: ids and totals.
type InvoiceResult struct {
	InvoiceID       string
	Status          string
	TaxStatus       string
	StripeInvoiceID string
	Tax             int64
	Total           int64
}

// RetrySignal is the body of SignalRetry (all fields optional), e.g. {"reason": "mapped product"}.
type RetrySignal struct {
	Reason string `json:"reason,omitempty"`
}

// VoidSignal is the body of SignalVoid (all fields optional), e.g. {"reason": "duplicate"}.
type VoidSignal struct {
	Reason string `json:"reason,omitempty"`
}

// ErrorInfo is the last error of a failed step.
type ErrorInfo struct {
	Step     string
	Provider string
	Class    string
	Code     string
	Message  string
	At       time.Time
}

// State is the workflow's view of its invoice, returned by QueryState.
type State struct {
	InvoiceID       string
	Step            string
	Status          string
	TaxStatus       string
	StripeInvoiceID string
	Tax             int64
	Total           int64
	ExternalStatus  string `json:",omitempty"`
	// TaxDeadline is when the wait for tax ends (zero when not waiting).
	TaxDeadline time.Time
	// WaitingForRetry: failed, waiting for SignalRetry.
	WaitingForRetry bool
	VoidRequested   bool
	LastError       *ErrorInfo
}
