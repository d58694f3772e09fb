package reconcile

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/taxflow/taxflow/internal/anrok"
	"github.com/taxflow/taxflow/internal/billing/stripebilling"
	"github.com/taxflow/taxflow/internal/secretbox"
	"github.com/taxflow/taxflow/internal/store/sqldb"
)

// MaxPeriod is the longest period one reconciliation covers: a year (a leap one included).
const MaxPeriod = 366 * 24 * time.Hour

// DefaultGrace is how long after the period a Stripe invoice of one of its invoices may have
// been created and still be listed (later ones are read by id; see the package doc).
const DefaultGrace = 7 * 24 * time.Hour

// skew widens the provider reads before the period: Stripe's and Anrok's clocks are not
// PostgreSQL's.
const skew = time.Hour

// Store is what the reconciliation reads from PostgreSQL (sqldb.Queries).
type Store interface {
	ListInvoicesReceivedBetween(ctx context.Context, arg sqldb.ListInvoicesReceivedBetweenParams) ([]sqldb.ListInvoicesReceivedBetweenRow, error)
	ListCreditNotesOfInvoices(ctx context.Context, invoiceIds []string) ([]sqldb.ListCreditNotesOfInvoicesRow, error)
	ExistingInvoiceIDs(ctx context.Context, ids []string) ([]string, error)
	ListStripeAccounts(ctx context.Context) ([]sqldb.StripeAccount, error)
	ListAnrokConnections(ctx context.Context) ([]sqldb.AnrokConnection, error)
}

// StripeReader reads one Stripe account (stripebilling.Provider).
type StripeReader interface {
	InvoicesCreated(ctx context.Context, from, to time.Time, after string) iter.Seq2[stripebilling.InvoiceSummary, error]
	InvoiceSummary(ctx context.Context, id string) (stripebilling.InvoiceSummary, error)
	CreditNotesOf(ctx context.Context, invoiceID string) ([]stripebilling.CreditNoteSummary, error)
}

// AnrokReader reads one Anrok account's transactions (anrok.Client).
type AnrokReader interface {
	ListTransactions(ctx context.Context, req anrok.ListRequest) (*anrok.ListResponse, error)
}

// Reconciler compares taxflow's invoices with Stripe's and Anrok's records. Build it with
// internal/app, which gives it the activities' rate-limited provider clients.
type Reconciler struct {
	Store   Store
	Secrets *secretbox.Keyring
	// Stripe and Anrok build the reader of an account from its row and opened API key.
	Stripe func(acct sqldb.StripeAccount, apiKey string) StripeReader
	Anrok  func(conn sqldb.AnrokConnection, apiKey string) AnrokReader
	// Grace is DefaultGrace when zero.
	Grace time.Duration
	// Backoff is the first wait before a failed read is retried (500 ms when zero).
	Backoff time.Duration
}

// Params select what to reconcile: invoices received in [From, To), optionally of one
// Stripe account and/or one Anrok connection.
type Params struct {
	From, To          time.Time
	StripeAccountID   string
	AnrokConnectionID string
}

// ParamError is a parameter the reconciliation cannot take, naming it (as the API's query
// parameter and the command's flag are named).
type ParamError struct {
	Field   string
	Code    string
	Message string
}

func (e *ParamError) Error() string { return e.Field + ": " + e.Message }

// Validate checks the period.
func (p Params) Validate() error {
	switch {
	case p.From.IsZero():
		return &ParamError{"from", "missing_field", `from is required: an RFC 3339 time such as "2026-11-01T00:00:00Z"`}
	case p.To.IsZero():
		return &ParamError{"to", "missing_field", `to is required: an RFC 3339 time such as "2026-12-01T00:00:00Z"`}
	case !p.To.After(p.From):
		return &ParamError{"to", "invalid_period", "to must be after from (the period is [from, to))"}
	case p.To.Sub(p.From) > MaxPeriod:
		return &ParamError{"to", "period_too_long", fmt.Sprintf("the period is %s long; reconcile at most 366 days at a time (split it)",
			p.To.Sub(p.From).Round(time.Hour))}
	}
	return nil
}

// Reconcile reads the period's invoices and their Stripe and Anrok records, and compares them.
func (r *Reconciler) Reconcile(ctx context.Context, p Params) (Report, error) {
	if err := p.Validate(); err != nil {
		return Report{}, err
	}
	p.From, p.To = p.From.UTC(), p.To.UTC()
	accounts, err := r.Store.ListStripeAccounts(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("list Stripe accounts: %w", err)
	}
	conns, err := r.Store.ListAnrokConnections(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("list Anrok connections: %w", err)
	}
	if err := checkFilters(p, accounts, conns); err != nil {
		return Report{}, err
	}
	invoices, err := r.loadInvoices(ctx, p)
	if err != nil {
		return Report{}, err
	}
	grace := r.Grace
	if grace == 0 {
		grace = DefaultGrace
	}
	o := observed{
		invoices: invoices, stripe: map[string]StripeInvoice{}, stripeCreditNotes: map[string][]stripeCreditNote{},
		unknownStripe: p.AnrokConnectionID == "", unknownAnrok: p.StripeAccountID == "",
		windowFrom: p.From.Add(-skew), windowTo: p.To.Add(grace), unknownFrom: p.From, unknownTo: p.To,
	}
	stripeAccounts, err := r.stripeAccounts(accounts)
	if err != nil {
		return Report{}, err
	}
	anrokAccounts, err := r.anrokAccounts(conns)
	if err != nil {
		return Report{}, err
	}
	if err := r.readStripe(ctx, p, &o, stripeAccounts); err != nil {
		return Report{}, err
	}
	if err := r.readAnrok(ctx, p, &o, anrokAccounts); err != nil {
		return Report{}, err
	}
	if o.known, err = r.knownElsewhere(ctx, o); err != nil {
		return Report{}, err
	}
	diffs, inFlight, notes := compare(o)
	return Report{
		Period:      Period{From: p.From, To: p.To, Basis: "received_at"},
		Filters:     Filters{StripeAccountID: p.StripeAccountID, AnrokConnectionID: p.AnrokConnectionID},
		Checked:     Checked{Invoices: len(invoices), StripeInvoices: len(o.stripe), AnrokTransactions: len(o.anrok)},
		Differences: append([]Difference{}, diffs...),
		InFlight:    inFlight,
		Notes:       append([]string{}, notes...),
	}, nil
}

func checkFilters(p Params, accounts []sqldb.StripeAccount, conns []sqldb.AnrokConnection) error {
	if p.StripeAccountID != "" && !hasID(accounts, func(a sqldb.StripeAccount) string { return a.ID }, p.StripeAccountID) {
		return &ParamError{"stripe_account_id", "not_found", fmt.Sprintf("Stripe account %q does not exist", p.StripeAccountID)}
	}
	if p.AnrokConnectionID != "" && !hasID(conns, func(c sqldb.AnrokConnection) string { return c.ID }, p.AnrokConnectionID) {
		return &ParamError{"anrok_connection_id", "not_found", fmt.Sprintf("Anrok connection %q does not exist", p.AnrokConnectionID)}
	}
	return nil
}

func hasID[T any](rows []T, id func(T) string, want string) bool {
	for _, r := range rows {
		if id(r) == want {
			return true
		}
	}
	return false
}

// loadInvoices reads taxflow's side of the period.
func (r *Reconciler) loadInvoices(ctx context.Context, p Params) ([]Invoice, error) {
	rows, err := r.Store.ListInvoicesReceivedBetween(ctx, sqldb.ListInvoicesReceivedBetweenParams{
		ReceivedFrom: p.From, ReceivedTo: p.To, StripeAccountID: nonEmpty(p.StripeAccountID), AnrokConnectionID: nonEmpty(p.AnrokConnectionID),
	})
	if err != nil {
		return nil, fmt.Errorf("list the period's invoices: %w", err)
	}
	ids := make([]string, len(rows))
	for i, row := range rows {
		ids[i] = row.ID
	}
	notes, err := r.Store.ListCreditNotesOfInvoices(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("list the period's credit notes: %w", err)
	}
	byInvoice := map[string][]CreditNote{}
	for _, n := range notes {
		byInvoice[n.InvoiceID] = append(byInvoice[n.InvoiceID], CreditNote{ID: n.ID, Status: n.Status, Tax: n.Tax, Total: n.Total,
			StripeCreditNoteID: deref(n.StripeCreditNoteID), AnrokTransactionID: deref(n.AnrokTransactionID)})
	}
	out := make([]Invoice, len(rows))
	for i, row := range rows {
		out[i] = Invoice{
			ID: row.ID, Currency: row.Currency, Status: row.Status, TaxStatus: row.TaxStatus,
			Subtotal: row.Subtotal, Tax: row.Tax, Total: row.Total,
			StripeAccountID: row.StripeAccountID, StripeInvoiceID: deref(row.StripeInvoiceID),
			AnrokTransactionID: deref(row.AnrokTransactionID), AnrokTransactionStatus: deref(row.AnrokTransactionStatus),
			ReceivedAt: row.CreatedAt, CreditNotes: byInvoice[row.ID],
		}
		// AnrokAccount is set once the Anrok accounts to read are known.
		out[i].anrokConnection = deref(row.AnrokConnectionID)
	}
	return out, nil
}

// knownElsewhere finds, among the invoice ids Stripe and Anrok name that are not of the
// period, those taxflow has.
func (r *Reconciler) knownElsewhere(ctx context.Context, o observed) (map[string]bool, error) {
	period := map[string]bool{}
	for _, inv := range o.invoices {
		period[inv.ID] = true
	}
	seen := map[string]bool{}
	var ask []string
	consider := func(id string) {
		if id != "" && !period[id] && !seen[id] {
			seen[id] = true
			ask = append(ask, id)
		}
	}
	for _, s := range o.stripe {
		consider(s.TaxflowInvoiceID)
	}
	for _, t := range o.anrok {
		consider(t.InvoiceID)
	}
	known := map[string]bool{}
	if len(ask) == 0 {
		return known, nil
	}
	found, err := r.Store.ExistingInvoiceIDs(ctx, ask)
	if err != nil {
		return nil, fmt.Errorf("look up the invoices Stripe and Anrok name: %w", err)
	}
	for _, id := range found {
		known[id] = true
	}
	return known, nil
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
