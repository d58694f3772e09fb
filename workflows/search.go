package workflows

import (
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/taxflow/taxflow/internal/invoicing"
)

// Search attributes of invoice workflows: typed Keywords operators filter on in the
// Temporal UI, e.g. `InvoiceStatus = "failed" AND ErrorCode = "product_not_mapped"`. They
// must be registered on the namespace (make run, the tests' dev server and the compose
// setup do it; `temporal operator search-attribute create --name X --type Keyword`).
var (
	SearchInvoiceID      = temporal.NewSearchAttributeKeyKeyword("InvoiceId")
	SearchCustomerID     = temporal.NewSearchAttributeKeyKeyword("CustomerId")
	SearchStripeAccount  = temporal.NewSearchAttributeKeyKeyword("StripeAccount")
	SearchInvoiceStatus  = temporal.NewSearchAttributeKeyKeyword("InvoiceStatus")
	SearchTaxStatus      = temporal.NewSearchAttributeKeyKeyword("TaxStatus")
	SearchExternalStatus = temporal.NewSearchAttributeKeyKeyword("ExternalStatus")
	SearchErrorCode      = temporal.NewSearchAttributeKeyKeyword("ErrorCode")
)

// SearchAttributeNames lists the search attributes to register (all Keyword).
var SearchAttributeNames = []string{"InvoiceId", "CustomerId", "StripeAccount", "InvoiceStatus", "TaxStatus", "ExternalStatus", "ErrorCode"}

// SearchAttributeDefinitions is the same list for testsuite.DevServerOptions.
func SearchAttributeDefinitions() temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		SearchInvoiceID.ValueSet(""), SearchCustomerID.ValueSet(""), SearchStripeAccount.ValueSet(""),
		SearchInvoiceStatus.ValueSet(""), SearchTaxStatus.ValueSet(""), SearchExternalStatus.ValueSet(""), SearchErrorCode.ValueSet(""),
	)
}

const changeSearchAttributes = "search-attributes"

// versionLean is the version of changeSearchAttributes that publishes at rests only.
const versionLean workflow.Version = 2

// InitialSearchAttributes are those an invoice workflow starts with (StartInvoice): what
// the first publish would otherwise upsert at once.
func InitialSearchAttributes(invoiceID string) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		SearchInvoiceID.ValueSet(invoiceID),
		SearchInvoiceStatus.ValueSet(string(invoicing.StatusReceived)),
		SearchTaxStatus.ValueSet(string(invoicing.TaxPending)),
	)
}

// startedWith reads the search attributes the run started with (set by the starter, or
// carried over by continue-as-new), as published: publish then upserts only what differs.
func startedWith(ctx workflow.Context) published {
	sa := workflow.GetTypedSearchAttributes(ctx)
	get := func(k temporal.SearchAttributeKeyKeyword) string {
		v, _ := sa.GetKeyword(k)
		return v
	}
	return published{
		invoice: get(SearchInvoiceID), customer: get(SearchCustomerID), account: get(SearchStripeAccount),
		status: get(SearchInvoiceStatus), taxStatus: get(SearchTaxStatus), external: get(SearchExternalStatus),
		errorCode: get(SearchErrorCode),
	}
}

// published is what the workflow last wrote to its search attributes.
type published struct {
	invoice, customer, account, status, taxStatus, external, errorCode string
}

// publish upserts the search attributes that changed since the last call (workflows
// started before search attributes existed never publish: their histories hold no upsert).
// Version 1 publishes before every step; the lean version 2 where the workflow comes to
// rest — waiting for a retry, for Stripe, for a person, watching, at its end — and after a
// retry: the steps between run in milliseconds, and the state query shows them live.
func (w *invoiceWorkflow) publish(ctx workflow.Context) {
	if !w.searchable {
		return
	}
	code := ""
	if w.state.LastError != nil {
		code = w.state.LastError.Code
	}
	now := published{
		invoice: w.in.InvoiceID, customer: w.check.CustomerID, account: w.check.StripeAccountID, status: w.state.Status,
		taxStatus: w.state.TaxStatus, external: w.state.ExternalStatus, errorCode: code,
	}
	if now == w.published {
		return
	}
	var updates []temporal.SearchAttributeUpdate
	set := func(key temporal.SearchAttributeKeyKeyword, old, val string) {
		if old == val {
			return
		}
		if val == "" {
			updates = append(updates, key.ValueUnset())
		} else {
			updates = append(updates, key.ValueSet(val))
		}
	}
	set(SearchInvoiceID, w.published.invoice, now.invoice)
	set(SearchCustomerID, w.published.customer, now.customer)
	set(SearchStripeAccount, w.published.account, now.account)
	set(SearchInvoiceStatus, w.published.status, now.status)
	set(SearchTaxStatus, w.published.taxStatus, now.taxStatus)
	set(SearchExternalStatus, w.published.external, now.external)
	set(SearchErrorCode, w.published.errorCode, now.errorCode)
	if len(updates) > 0 {
		// An upsert that fails to encode would fail the task; it carries only ids and statuses.
		_ = workflow.UpsertTypedSearchAttributes(ctx, updates...)
	}
	w.published = now
}
