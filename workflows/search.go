package workflows

import (
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
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

// published is what the workflow last wrote to its search attributes.
type published struct {
	invoice, customer, account, status, taxStatus, external, errorCode string
}

// publish upserts the search attributes that changed since the last call (workflows
// started before search attributes existed never publish: their histories hold no upsert).
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
