package api

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/taxflow/taxflow/internal/invoicing"
	"github.com/taxflow/taxflow/internal/store/sqldb"
)

// The values GET /v1/invoices filters on.
var (
	invoiceStatuses = names(invoicing.StatusReceived, invoicing.StatusDraft, invoicing.StatusFinalized, invoicing.StatusPaid,
		invoicing.StatusVoid, invoicing.StatusUncollectible, invoicing.StatusFailed, invoicing.StatusSkipped)
	taxStatuses = names(invoicing.TaxPending, invoicing.TaxCalculated, invoicing.TaxCommitted, invoicing.TaxFailed,
		invoicing.TaxVoided, invoicing.TaxNegated, invoicing.TaxNotApplicable)
)

func names[T ~string](vs ...T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// Page sizes of GET /v1/invoices.
const (
	defaultPageSize = 100
	maxPageSize     = 500
)

// invoiceSummary is one invoice of a list: what a person scanning invoices needs; the
// whole invoice is GET /v1/invoices/{id}.
type invoiceSummary struct {
	ID              string               `json:"id"`
	CustomerID      string               `json:"customer_id"`
	Currency        string               `json:"currency"`
	Status          string               `json:"status"`
	TaxStatus       string               `json:"tax_status"`
	Step            string               `json:"step"`
	Subtotal        int64                `json:"subtotal"`
	Tax             int64                `json:"tax"`
	Total           int64                `json:"total"`
	IssuedAt        time.Time            `json:"issued_at"`
	StripeAccountID string               `json:"stripe_account_id"`
	ExternalInvoice *externalInvoiceView `json:"external_invoice"`
	AnrokTxID       *string              `json:"anrok_transaction_id"`
	AnrokTxStatus   *string              `json:"anrok_transaction_status"`
	WorkflowID      string               `json:"workflow_id"`
	CreatedAt       time.Time            `json:"created_at"`
	UpdatedAt       time.Time            `json:"updated_at"`
}

type invoiceList struct {
	Data []invoiceSummary `json:"data"`
	// NextCursor continues the list (cursor=...); null on the last page.
	NextCursor *string `json:"next_cursor"`
}

// listInvoices serves GET /v1/invoices?status=&tax_status=&customer_id=&stripe_account_id=&limit=&cursor=:
// invoices in id order, a page at a time.
func (s *Server) listInvoices(w http.ResponseWriter, r *http.Request) error {
	params, err := listParams(r)
	if err != nil {
		return err
	}
	rows, err := s.Store.ListInvoices(r.Context(), params)
	if err != nil {
		return err
	}
	out := invoiceList{Data: make([]invoiceSummary, 0, len(rows))}
	for _, row := range rows {
		sum := invoiceSummary{
			ID: row.ID, CustomerID: row.CustomerID, Currency: row.Currency, Status: row.Status,
			TaxStatus: row.TaxStatus, Step: row.Step, Subtotal: row.Subtotal, Tax: row.Tax, Total: row.Total,
			IssuedAt: row.IssuedAt, StripeAccountID: row.StripeAccountID, AnrokTxID: row.AnrokTransactionID,
			AnrokTxStatus: row.AnrokTransactionStatus, WorkflowID: row.WorkflowID, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt,
		}
		if row.StripeInvoiceID != nil {
			sum.ExternalInvoice = &externalInvoiceView{BillingProviderType: "stripe", InvoiceID: *row.StripeInvoiceID, ExternalStatus: row.ExternalStatus}
		}
		out.Data = append(out.Data, sum)
	}
	if len(rows) == int(params.PageSize) {
		next := rows[len(rows)-1].ID
		out.NextCursor = &next
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// listParams reads and checks the query: every problem named, unknown parameters too (a
// misspelt filter would otherwise silently list everything).
func listParams(r *http.Request) (sqldb.ListInvoicesParams, error) {
	q := r.URL.Query()
	var p problems
	params := sqldb.ListInvoicesParams{PageSize: defaultPageSize}
	for _, name := range slices.Sorted(maps.Keys(q)) {
		switch name {
		case "status", "tax_status", "customer_id", "stripe_account_id", "limit", "cursor":
			if len(q[name]) > 1 {
				p.add(name, "invalid_field", name+" may be given once")
			}
		default:
			p.add(name, "unknown_parameter", fmt.Sprintf("unknown query parameter %q: the filters are status, tax_status, customer_id, stripe_account_id, limit and cursor", name))
		}
	}
	oneOf := func(name string, allowed []string) *string {
		v := q.Get(name)
		if v == "" {
			return nil
		}
		if !slices.Contains(allowed, v) {
			p.add(name, "invalid_field", name+" must be one of "+strings.Join(allowed, ", "))
		}
		return &v
	}
	params.Status = oneOf("status", invoiceStatuses)
	params.TaxStatus = oneOf("tax_status", taxStatuses)
	id := func(name string) *string {
		v := q.Get(name)
		if v == "" {
			return nil
		}
		if !idPattern.MatchString(v) {
			p.add(name, "invalid_id", name+" must be "+idRule)
		}
		return &v
	}
	params.CustomerID = id("customer_id")
	params.StripeAccountID = id("stripe_account_id")
	if c := id("cursor"); c != nil {
		params.AfterID = *c
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			p.add("limit", "invalid_field", fmt.Sprintf("limit must be a whole number from 1 to %d", maxPageSize))
		}
		params.PageSize = int32(n)
	}
	return params, p.err(http.StatusBadRequest)
}
