package reconcile

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taxflow/taxflow/internal/billing/stripebilling"
)

var (
	periodFrom = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	periodTo   = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	created    = time.Date(2026, 11, 15, 12, 0, 0, 0, time.UTC)
)

// world is one scenario: taxflow's invoices and what Stripe and Anrok hold.
type world struct {
	invoices []Invoice
	stripe   []StripeInvoice
	notes    map[string][]stripeCreditNote
	anrok    []AnrokTransaction
	known    []string
	// filtered turns unknown detection off on both sides.
	filtered bool
}

// finalized is an invoice as the workflow leaves it: 150.00 billed to Denver, 7.22 tax,
// finalized in Stripe (in_<id>) and committed in Anrok (taxflow:<id>).
func finalized(id string) Invoice {
	return Invoice{ID: id, Currency: "usd", Status: statusFinalized, TaxStatus: taxCommitted, Subtotal: 15000, Tax: 722, Total: 15722,
		StripeAccountID: "acct", StripeInvoiceID: "in_" + id, AnrokAccount: "anrok", AnrokTransactionID: "taxflow:" + id,
		AnrokTransactionStatus: taxCommitted, ReceivedAt: created}
}

func stripeOf(inv Invoice) StripeInvoice {
	return StripeInvoice{Account: "acct", Listed: true, InvoiceSummary: stripebilling.InvoiceSummary{
		ID: inv.StripeInvoiceID, Status: "open", Currency: "usd", TaxflowInvoiceID: inv.ID,
		Subtotal: inv.Subtotal, Tax: inv.Tax, Total: inv.Total, Created: created}}
}

func anrokOf(inv Invoice) AnrokTransaction {
	return AnrokTransaction{ID: inv.AnrokTransactionID, Account: "anrok", Type: anrokNormal, Created: created, Currency: "USD",
		InputAmount: inv.Subtotal, Tax: inv.Tax, TaxExact: decimal.NewFromInt(inv.Tax), TaxFromLines: true, Lines: 1,
		InvoiceID: inv.ID}
}

// consistent is an invoice with both providers agreeing.
func consistent(inv Invoice) world {
	return world{invoices: []Invoice{inv}, stripe: []StripeInvoice{stripeOf(inv)}, anrok: []AnrokTransaction{anrokOf(inv)}}
}

func (w world) observed() observed {
	o := observed{invoices: w.invoices, stripe: map[string]StripeInvoice{}, stripeCreditNotes: w.notes, anrok: w.anrok,
		known: map[string]bool{}, unknownStripe: !w.filtered, unknownAnrok: !w.filtered,
		windowFrom: periodFrom.Add(-skew), windowTo: periodTo.Add(DefaultGrace), unknownFrom: periodFrom, unknownTo: periodTo}
	for _, s := range w.stripe {
		o.stripe[s.ID] = s
	}
	for _, id := range w.known {
		o.known[id] = true
	}
	return o
}

func with[T any](v T, change func(*T)) T {
	change(&v)
	return v
}

// Each rule of the comparison, on one scenario each: what differs is reported with its kind
// and invoice, and nothing else is.
func TestComparisonReportsEachKindOfDifferenceAndNothingElse(t *testing.T) {
	inv := finalized("inv-1")
	cnIssued := CreditNote{ID: "cn-1", Status: creditNoteIssued, Tax: 241, Total: 5241, StripeCreditNoteID: "cn_1", AnrokTransactionID: "taxflow:inv-1:cn-cn-1"}
	cnTx := AnrokTransaction{ID: "taxflow:inv-1:cn-cn-1", Account: "anrok", Type: anrokNormal, Created: created, Currency: "USD",
		InputAmount: -5000, Tax: -241, TaxFromLines: true, Lines: 1, InvoiceID: "inv-1", Suffix: "cn-cn-1"}
	credited := func(w world) world {
		w.invoices[0].CreditNotes = []CreditNote{cnIssued}
		w.notes = map[string][]stripeCreditNote{"in_inv-1": {{ID: "cn_1", Status: creditNoteIssued, TaxflowCreditNoteID: "cn-1", Tax: 241, Total: 5241}}}
		w.anrok = append(w.anrok, cnTx)
		return w
	}
	ghostStripe := StripeInvoice{Account: "acct", Listed: true, InvoiceSummary: stripebilling.InvoiceSummary{
		ID: "in_ghost", Status: "draft", Currency: "usd", TaxflowInvoiceID: "ghost", Created: created}}
	ghostAnrok := AnrokTransaction{ID: "taxflow:ghost", Account: "anrok", Type: anrokNormal, Created: created, InvoiceID: "ghost", TaxFromLines: true}

	for _, c := range []struct {
		name  string
		world world
		want  []string // "kind invoice"
	}{
		{"everything agrees", consistent(inv), nil},
		{"a paid invoice", func() world {
			w := consistent(with(inv, func(i *Invoice) { i.Status = statusPaid }))
			w.stripe[0].Status = "paid"
			return w
		}(), nil},
		{"an invoice in flight is not compared", world{invoices: []Invoice{with(inv, func(i *Invoice) {
			i.Status, i.TaxStatus, i.StripeInvoiceID, i.AnrokTransactionID = statusDraft, "calculated", "in_draft", ""
		})}}, nil},
		{"a failed invoice is not compared either", world{invoices: []Invoice{with(inv, func(i *Invoice) { i.Status = statusFailed })}}, nil},

		{"Stripe lost the invoice", func() world {
			w := consistent(inv)
			w.stripe[0].Status, w.stripe[0].Listed = stripebilling.StatusDeleted, false
			return w
		}(), []string{"missing_in_stripe inv-1"}},
		{"Anrok lost the transaction", world{invoices: []Invoice{inv}, stripe: []StripeInvoice{stripeOf(inv)}},
			[]string{"missing_in_anrok inv-1"}},
		{"the Anrok Stripe app's transaction absent is a note, not a difference", world{
			invoices: []Invoice{with(inv, func(i *Invoice) { i.AnrokTransactionID = "stripe:in_inv-1" })}, stripe: []StripeInvoice{stripeOf(inv)}}, nil},

		{"a Stripe invoice naming an invoice taxflow does not have", with(consistent(inv), func(w *world) { w.stripe = append(w.stripe, ghostStripe) }),
			[]string{"unknown_in_stripe ghost"}},
		{"… received outside the period is not unknown", with(consistent(inv), func(w *world) {
			w.stripe = append(w.stripe, ghostStripe)
			w.known = []string{"ghost"}
		}), nil},
		{"… voided is harmless", with(consistent(inv), func(w *world) {
			w.stripe = append(w.stripe, with(ghostStripe, func(s *StripeInvoice) { s.Status = "void" }))
		}), nil},
		{"… under an account filter is not attributed", with(consistent(inv), func(w *world) {
			w.stripe = append(w.stripe, ghostStripe)
			w.filtered = true
		}), nil},
		{"an Anrok transaction naming an invoice taxflow does not have", with(consistent(inv), func(w *world) { w.anrok = append(w.anrok, ghostAnrok) }),
			[]string{"unknown_in_anrok ghost"}},
		{"… created after the period is the next period's", with(consistent(inv), func(w *world) {
			w.anrok = append(w.anrok, with(ghostAnrok, func(a *AnrokTransaction) { a.Created = periodTo.Add(time.Hour) }))
		}), nil},
		{"… and one created after it in Stripe too", with(consistent(inv), func(w *world) {
			w.stripe = append(w.stripe, with(ghostStripe, func(s *StripeInvoice) { s.Created = periodTo }))
		}), nil},

		{"two live Stripe invoices for one invoice", with(consistent(inv), func(w *world) {
			w.stripe = append(w.stripe, with(stripeOf(inv), func(s *StripeInvoice) { s.ID = "in_copy" }))
		}), []string{"duplicate_in_stripe inv-1"}},
		{"a voided copy is not a duplicate", with(consistent(inv), func(w *world) {
			w.stripe = append(w.stripe, with(stripeOf(inv), func(s *StripeInvoice) { s.ID, s.Status = "in_copy", "void" }))
		}), nil},
		{"two live Anrok transactions for one invoice (two connections' prefixes)", with(consistent(inv), func(w *world) {
			w.anrok = append(w.anrok, with(anrokOf(inv), func(a *AnrokTransaction) { a.ID = "tf2:inv-1" }))
		}), []string{"duplicate_in_anrok inv-1"}},

		{"Stripe's subtotal changed", with(consistent(inv), func(w *world) { w.stripe[0].Subtotal, w.stripe[0].Total = 16000, 16722 }),
			[]string{"amount_mismatch inv-1"}},
		{"Anrok's amount changed", with(consistent(inv), func(w *world) { w.anrok[0].InputAmount = 14000 }),
			[]string{"amount_mismatch inv-1"}},
		{"Stripe's currency differs", with(consistent(inv), func(w *world) { w.stripe[0].Currency = "eur" }),
			[]string{"amount_mismatch inv-1"}},
		{"Stripe's tax changed (and so its total)", with(consistent(inv), func(w *world) { w.stripe[0].Tax, w.stripe[0].Total = 700, 15700 }),
			[]string{"amount_mismatch inv-1", "tax_mismatch inv-1"}},
		{"Anrok's tax changed", with(consistent(inv), func(w *world) { w.anrok[0].Tax = 800 }),
			[]string{"tax_mismatch inv-1"}},
		{"Anrok's exact tax within half a unit a line is no mismatch", with(consistent(inv), func(w *world) {
			w.anrok[0].TaxFromLines, w.anrok[0].TaxExact = false, decimal.RequireFromString("721.5")
		}), nil},
		{"Anrok's exact tax beyond it is", with(consistent(inv), func(w *world) {
			w.anrok[0].TaxFromLines, w.anrok[0].TaxExact = false, decimal.RequireFromString("723.6")
		}), []string{"tax_mismatch inv-1"}},

		{"voided in Stripe behind taxflow's back", with(consistent(inv), func(w *world) { w.stripe[0].Status = "void" }),
			[]string{"status_mismatch inv-1"}},
		{"paid in Stripe, the webhook lost", with(consistent(inv), func(w *world) { w.stripe[0].Status = "paid" }),
			[]string{"status_mismatch inv-1"}},
		{"void in taxflow, but Anrok still files it", func() world {
			w := consistent(with(inv, func(i *Invoice) { i.Status, i.TaxStatus, i.AnrokTransactionStatus = statusVoid, taxVoided, taxVoided }))
			w.stripe[0].Status = "void"
			return w
		}(), []string{"status_mismatch inv-1"}},
		{"void everywhere", func() world {
			w := consistent(with(inv, func(i *Invoice) { i.Status, i.TaxStatus = statusVoid, taxVoided }))
			w.stripe[0].Status, w.anrok[0].Type = "void", anrokVoid
			return w
		}(), nil},
		{"void after filing: a negation", func() world {
			w := consistent(with(inv, func(i *Invoice) { i.Status, i.TaxStatus = statusVoid, taxNegated }))
			w.stripe[0].Status = "void"
			w.anrok = append(w.anrok, with(anrokOf(inv), func(a *AnrokTransaction) {
				a.ID, a.Suffix, a.InputAmount, a.Tax = "taxflow:inv-1:void", suffixVoid, -15000, -722
			}))
			return w
		}(), nil},
		{"negated in taxflow, no negation in Anrok", func() world {
			w := consistent(with(inv, func(i *Invoice) { i.Status, i.TaxStatus = statusPaid, taxNegated }))
			w.stripe[0].Status = "paid"
			return w
		}(), []string{"missing_in_anrok inv-1"}},
		{"a negation taxflow never recorded", with(consistent(inv), func(w *world) {
			w.anrok = append(w.anrok, with(anrokOf(inv), func(a *AnrokTransaction) { a.ID, a.Suffix = "taxflow:inv-1:dispute", suffixDispute }))
		}), []string{"status_mismatch inv-1"}},
		{"committed in taxflow, void in Anrok", with(consistent(inv), func(w *world) { w.anrok[0].Type = anrokVoid }),
			[]string{"status_mismatch inv-1"}},
		{"skipped: the draft deleted, nothing filed", world{invoices: []Invoice{with(inv, func(i *Invoice) {
			i.Status, i.TaxStatus, i.AnrokTransactionID = statusSkipped, "not_applicable", ""
		})}, stripe: []StripeInvoice{with(stripeOf(inv), func(s *StripeInvoice) { s.Status, s.Listed = stripebilling.StatusDeleted, false })}}, nil},
		{"skipped, yet still billed in Stripe", world{invoices: []Invoice{with(inv, func(i *Invoice) {
			i.Status, i.TaxStatus, i.AnrokTransactionID = statusSkipped, "not_applicable", ""
		})}, stripe: []StripeInvoice{stripeOf(inv)}}, []string{"status_mismatch inv-1"}},
		{"finalized without tax, yet filed in Anrok", func() world {
			w := consistent(with(inv, func(i *Invoice) { i.TaxStatus, i.AnrokTransactionID = "failed", "" }))
			w.anrok[0].ID = "taxflow:inv-1"
			return w
		}(), []string{"status_mismatch inv-1"}},

		{"a credit note in both systems", credited(consistent(inv)), nil},
		{"a credit note's Anrok tax changed", with(credited(consistent(inv)), func(w *world) { w.anrok[1].Tax = -300 }),
			[]string{"tax_mismatch inv-1"}},
		{"a credit note Stripe does not have", with(credited(consistent(inv)), func(w *world) { w.notes["in_inv-1"] = nil }),
			[]string{"missing_in_stripe inv-1"}},
		{"a credit note Anrok does not have", with(credited(consistent(inv)), func(w *world) { w.anrok = w.anrok[:1] }),
			[]string{"missing_in_anrok inv-1"}},
		{"a credit note's transaction taxflow does not have", with(consistent(inv), func(w *world) { w.anrok = append(w.anrok, cnTx) }),
			[]string{"unknown_in_anrok inv-1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			diffs, _, _ := compare(c.world.observed())
			var got []string
			for _, d := range diffs {
				got = append(got, string(d.Kind)+" "+d.InvoiceID)
				if d.Message == "" {
					t.Errorf("%s has no message", d.Kind)
				}
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("got %v, want %v\n%s", got, c.want, describe(diffs))
			}
		})
	}
}

func describe(diffs []Difference) string {
	var b strings.Builder
	for _, d := range diffs {
		fmt.Fprintf(&b, "  %s %s: %s\n", d.Kind, d.InvoiceID, d.Message)
	}
	return b.String()
}

// In-flight invoices are counted, not compared, and what could not be compared is noted.
func TestInFlightInvoicesAreCountedAndStripeAppTransactionsNoted(t *testing.T) {
	inv := finalized("inv-1")
	w := world{
		invoices: []Invoice{
			with(inv, func(i *Invoice) { i.AnrokTransactionID = "stripe:in_inv-1" }),
			with(finalized("inv-2"), func(i *Invoice) { i.Status = statusReceived }),
			with(finalized("inv-3"), func(i *Invoice) { i.Status = statusDraft }),
		},
		stripe: []StripeInvoice{stripeOf(inv)},
	}
	diffs, inFlight, notes := compare(w.observed())
	if len(diffs) != 0 || inFlight != 2 || len(notes) != 1 || !strings.Contains(notes[0], "Anrok Stripe app") || !strings.Contains(notes[0], "(inv-1)") {
		t.Fatalf("diffs %v, in flight %d, notes %q", diffs, inFlight, notes)
	}
}

// A difference names what differs on each side, in the currency's smallest unit.
func TestDifferencesCarryEverySidesValues(t *testing.T) {
	w := consistent(finalized("inv-1"))
	w.anrok[0].Tax = 800
	diffs, _, _ := compare(w.observed())
	if len(diffs) != 1 {
		t.Fatalf("%v", diffs)
	}
	d := diffs[0]
	if *d.Taxflow.Tax != 722 || *d.Stripe.Tax != 722 || *d.Anrok.Tax != 800 || d.StripeInvoiceID != "in_inv-1" ||
		d.AnrokTransactionID != "taxflow:inv-1" || !strings.Contains(d.Message, "taxflow 722, Anrok 800") {
		t.Fatalf("%+v", d)
	}
}

// Transaction ids are read under the account's prefixes, longest first; what does not look
// like taxflow's is nobody's invoice.
func TestTransactionIDsAreReadUnderTheConnectionsPrefixes(t *testing.T) {
	prefixes := []string{"taxflow:", "tf-", ""}
	for id, want := range map[string]string{
		"taxflow:inv-1":           "inv-1 ",
		"taxflow:inv-1:void":      "inv-1 void",
		"taxflow:inv-1:dispute":   "inv-1 dispute",
		"taxflow:inv-1:cn-cn.2":   "inv-1 cn-cn.2",
		"tf-inv-9":                "inv-9 ",
		"inv-3":                   "inv-3 ",
		"stripe:in_123":           " ",
		"taxflow:inv-1:something": " ",
		"taxflow:inv-1:cn-":       " ",
	} {
		inv, suffix := parseTransactionID(id, prefixes)
		if got := inv + " " + suffix; got != want {
			t.Errorf("%s: %q, want %q", id, got, want)
		}
	}
}

// Anrok's integer tax is read from the listed lines when each has one.
func TestCollectedTaxIsReadFromTheListedLines(t *testing.T) {
	sum, ok := collectedOfLines([]json.RawMessage{[]byte(`{"taxAmountToCollect":722}`), []byte(`{"taxAmountToCollect":-41}`)})
	if !ok || sum != 681 {
		t.Fatalf("%d %v", sum, ok)
	}
	if _, ok := collectedOfLines([]json.RawMessage{[]byte(`{"taxAmountToCollect":722}`), []byte(`{"taxAmount":"1.5"}`)}); ok {
		t.Fatal("a line without the integer must fall back to the exact total")
	}
}

// The period is checked before anything is read.
func TestPeriodRules(t *testing.T) {
	for _, c := range []struct {
		p     Params
		field string
		code  string
	}{
		{Params{To: periodTo}, "from", "missing_field"},
		{Params{From: periodFrom}, "to", "missing_field"},
		{Params{From: periodTo, To: periodFrom}, "to", "invalid_period"},
		{Params{From: periodFrom, To: periodFrom}, "to", "invalid_period"},
		{Params{From: periodFrom, To: periodFrom.Add(367 * 24 * time.Hour)}, "to", "period_too_long"},
		{Params{From: periodFrom, To: periodFrom.Add(366 * 24 * time.Hour)}, "", ""},
	} {
		err := c.p.Validate()
		pe, _ := err.(*ParamError)
		if (c.field == "") != (err == nil) || (pe != nil && (pe.Field != c.field || pe.Code != c.code)) {
			t.Errorf("%+v: %v", c.p, err)
		}
	}
}
