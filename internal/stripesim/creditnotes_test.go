package stripesim

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v82"
)

// taxedInvoice is an open invoice of two lines with tax computed elsewhere:
// 10000 + 481 tax and 5000 (quantity 2) + 241 tax, total 15722.
func (h *harness) taxedInvoice(sc *stripe.Client) *stripe.Invoice {
	h.t.Helper()
	inv := h.draft(sc, h.customer(sc).ID)
	l1 := amountLine(10000, "Platform fee")
	l1.TaxAmounts = []*stripe.InvoiceAddLinesLineTaxAmountParams{salesTax(481, 10000, 4.81, "DENVER", "city")}
	l2 := &stripe.InvoiceAddLinesLineParams{
		PriceData: &stripe.InvoiceAddLinesLinePriceDataParams{
			ProductData:       &stripe.InvoiceAddLinesLinePriceDataProductDataParams{Name: stripe.String("Seats")},
			UnitAmountDecimal: stripe.Float64(2500), TaxBehavior: stripe.String("exclusive"),
		},
		Quantity:   stripe.Int64(2),
		TaxAmounts: []*stripe.InvoiceAddLinesLineTaxAmountParams{salesTax(241, 5000, 4.81, "DENVER", "city")},
	}
	h.addLines(sc, inv.ID, l1, l2)
	inv, err := sc.V1Invoices.FinalizeInvoice(h.ctx, inv.ID, nil)
	require.NoError(h.t, err)
	require.Equal(h.t, int64(15722), inv.Total)
	require.Equal(h.t, int64(15722), inv.AmountDue)
	return inv
}

func lineCredit(line string, amount int64) *stripe.CreditNoteCreateLineParams {
	return &stripe.CreditNoteCreateLineParams{Type: stripe.String("invoice_line_item"), InvoiceLineItem: stripe.String(line), Amount: stripe.Int64(amount)}
}

func customCredit(unit int64, description string) *stripe.CreditNoteCreateLineParams {
	return &stripe.CreditNoteCreateLineParams{Type: stripe.String("custom_line_item"), UnitAmount: stripe.Int64(unit), Description: stripe.String(description)}
}

func (h *harness) creditNote(sc *stripe.Client, params *stripe.CreditNoteCreateParams) (*stripe.CreditNote, error) {
	return sc.V1CreditNotes.Create(h.ctx, params)
}

// The credit notes of an invoice never add up to more than its total (void ones aside),
// and no invoice line is credited beyond its amount.
func TestCreditNotesCannotExceedTheInvoiceTotal(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	inv := h.taxedInvoice(sc)
	l1 := inv.Lines.Data[0].ID

	cn, err := h.creditNote(sc, &stripe.CreditNoteCreateParams{Invoice: stripe.String(inv.ID),
		Lines: []*stripe.CreditNoteCreateLineParams{lineCredit(l1, 10000)}})
	require.NoError(t, err)
	assert.Equal(t, int64(10481), cn.Total, "the line's tax is credited in proportion")

	_, err = h.creditNote(sc, &stripe.CreditNoteCreateParams{Invoice: stripe.String(inv.ID),
		Lines: []*stripe.CreditNoteCreateLineParams{lineCredit(l1, 1)}})
	assert.Contains(t, stripeError(t, err, http.StatusBadRequest).Msg, "exceeds the invoice line's amount")

	_, err = h.creditNote(sc, &stripe.CreditNoteCreateParams{Invoice: stripe.String(inv.ID),
		Lines: []*stripe.CreditNoteCreateLineParams{customCredit(5242, "Goodwill")}})
	se := stripeError(t, err, http.StatusBadRequest)
	assert.Equal(t, stripe.ErrorTypeInvalidRequest, se.Type)
	assert.Equal(t, "lines", se.Param)
	assert.Contains(t, se.Msg, "at most 5241")

	last, err := h.creditNote(sc, &stripe.CreditNoteCreateParams{Invoice: stripe.String(inv.ID),
		Lines: []*stripe.CreditNoteCreateLineParams{customCredit(5241, "Goodwill")}})
	require.NoError(t, err)
	assert.Equal(t, int64(5241), last.Total)
	got, err := sc.V1Invoices.Retrieve(h.ctx, inv.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, stripe.InvoiceStatusPaid, got.Status, "an open invoice credited in full is paid")
	assert.Zero(t, got.AmountDue)
	assert.Equal(t, int64(15722), got.PrePaymentCreditNotesAmount)

	// Voiding a credit note frees its amount again — but not once the invoice it settled is
	// no longer open.
	_, err = sc.V1CreditNotes.VoidCreditNote(h.ctx, last.ID, nil)
	stripeError(t, err, http.StatusBadRequest)
}

// On an open invoice a credit note is pre-payment: it lowers amount_due, and voiding it
// raises it again. Credit, refund and out-of-band amounts only apply after payment.
func TestPrePaymentCreditNotesReduceTheAmountDue(t *testing.T) {
	rc := newReceiver(t)
	h := webhookHarness(t, rc, Options{})
	sc := h.client(testKey)
	inv := h.taxedInvoice(sc)
	l2 := inv.Lines.Data[1].ID

	_, err := h.creditNote(sc, &stripe.CreditNoteCreateParams{Invoice: stripe.String(inv.ID), CreditAmount: stripe.Int64(2620),
		Lines: []*stripe.CreditNoteCreateLineParams{{Type: stripe.String("invoice_line_item"), InvoiceLineItem: stripe.String(l2), Quantity: stripe.Int64(1)}}})
	stripeError(t, err, http.StatusBadRequest)

	cn, err := h.creditNote(sc, &stripe.CreditNoteCreateParams{
		Invoice: stripe.String(inv.ID), Reason: stripe.String("order_change"), Memo: stripe.String("One seat less"),
		Metadata: map[string]string{"taxflow_credit_id": "cr_1"},
		Lines:    []*stripe.CreditNoteCreateLineParams{{Type: stripe.String("invoice_line_item"), InvoiceLineItem: stripe.String(l2), Quantity: stripe.Int64(1)}},
	})
	require.NoError(t, err)
	assert.Equal(t, stripe.CreditNoteTypePrePayment, cn.Type)
	assert.Equal(t, stripe.CreditNoteStatusIssued, cn.Status)
	assert.Equal(t, int64(2500), cn.Subtotal)
	assert.Equal(t, int64(2621), cn.Total, "half the line's 241 tax, rounded half away from zero")
	assert.Equal(t, cn.Total, cn.Amount)
	assert.Equal(t, cn.Total, cn.PrePaymentAmount)
	assert.Equal(t, inv.Number+"-CN-01", cn.Number)
	assert.Equal(t, stripe.CreditNoteReasonOrderChange, cn.Reason)
	assert.Equal(t, "cr_1", cn.Metadata["taxflow_credit_id"])
	require.Len(t, cn.Lines.Data, 1)
	assert.Equal(t, l2, cn.Lines.Data[0].InvoiceLineItem)
	assert.Equal(t, int64(1), cn.Lines.Data[0].Quantity)
	require.Len(t, cn.TotalTaxes, 1)
	assert.Equal(t, inv.TotalTaxes[0].TaxRateDetails.TaxRate, cn.TotalTaxes[0].TaxRateDetails.TaxRate)

	got, err := sc.V1Invoices.Retrieve(h.ctx, inv.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, stripe.InvoiceStatusOpen, got.Status)
	assert.Equal(t, int64(15722-2621), got.AmountDue)
	assert.Equal(t, int64(15722-2621), got.AmountRemaining)
	assert.Equal(t, int64(2621), got.PrePaymentCreditNotesAmount)
	assert.Equal(t, int64(15722), got.Total, "the total stays; what is due changes")

	voided, err := sc.V1CreditNotes.VoidCreditNote(h.ctx, cn.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, stripe.CreditNoteStatusVoid, voided.Status)
	assert.NotZero(t, voided.VoidedAt)
	_, err = sc.V1CreditNotes.VoidCreditNote(h.ctx, cn.ID, nil)
	stripeError(t, err, http.StatusBadRequest)
	got, err = sc.V1Invoices.Retrieve(h.ctx, inv.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(15722), got.AmountDue)
	assert.Zero(t, got.PrePaymentCreditNotesAmount)

	// Payment collects what is due after credit notes.
	_, err = h.creditNote(sc, &stripe.CreditNoteCreateParams{Invoice: stripe.String(inv.ID),
		Lines: []*stripe.CreditNoteCreateLineParams{customCredit(722, "Rounding goodwill")}})
	require.NoError(t, err)
	paid, err := h.sim.PayInvoice(inv.ID)
	require.NoError(t, err)
	assert.Equal(t, int64(15000), paid.Amount)

	h.flush()
	types := eventTypes(rc.events(testSecret))
	assert.Contains(t, types, "credit_note.created")
	assert.Contains(t, types, "credit_note.voided")
	var listed []string
	for c, err := range sc.V1CreditNotes.List(h.ctx, &stripe.CreditNoteListParams{Invoice: stripe.String(inv.ID)}) {
		require.NoError(t, err)
		listed = append(listed, c.ID)
	}
	assert.Len(t, listed, 2)
	assert.Equal(t, cn.ID, listed[1], "newest first")
}

// After payment a credit note must say where the money goes: the customer's balance, a
// refund of the invoice's charge, or outside Stripe — and exactly the whole amount.
func TestPostPaymentCreditNotesAreRefundedOrCredited(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	inv := h.taxedInvoice(sc)
	paid, err := h.sim.PayInvoice(inv.ID)
	require.NoError(t, err)
	l1 := inv.Lines.Data[0].ID

	_, err = h.creditNote(sc, &stripe.CreditNoteCreateParams{Invoice: stripe.String(inv.ID),
		Lines: []*stripe.CreditNoteCreateLineParams{lineCredit(l1, 1000)}})
	assert.Contains(t, stripeError(t, err, http.StatusBadRequest).Msg, "post-payment amount (1048)")

	credited, err := h.creditNote(sc, &stripe.CreditNoteCreateParams{Invoice: stripe.String(inv.ID), CreditAmount: stripe.Int64(1048),
		Lines: []*stripe.CreditNoteCreateLineParams{lineCredit(l1, 1000)}})
	require.NoError(t, err)
	assert.Equal(t, stripe.CreditNoteTypePostPayment, credited.Type)
	assert.Equal(t, int64(1048), credited.PostPaymentAmount)
	assert.NotEmpty(t, credited.CustomerBalanceTransaction.ID)
	cus, err := sc.V1Customers.Retrieve(h.ctx, inv.Customer.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(-1048), cus.Balance, "the credit waits on the customer's balance")

	refunded, err := h.creditNote(sc, &stripe.CreditNoteCreateParams{Invoice: stripe.String(inv.ID),
		RefundAmount: stripe.Int64(2000), OutOfBandAmount: stripe.Int64(96),
		Lines: []*stripe.CreditNoteCreateLineParams{lineCredit(l1, 2000)}})
	require.NoError(t, err)
	require.Len(t, refunded.Refunds, 1)
	assert.Equal(t, int64(2000), refunded.Refunds[0].AmountRefunded)
	assert.Equal(t, int64(96), refunded.OutOfBandAmount)
	ch, err := sc.V1Charges.Retrieve(h.ctx, paid.Charge, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(2000), ch.AmountRefunded)
	re, err := sc.V1Refunds.Retrieve(h.ctx, refunded.Refunds[0].Refund.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, paid.Charge, re.Charge.ID)

	got, err := sc.V1Invoices.Retrieve(h.ctx, inv.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(1048+2096), got.PostPaymentCreditNotesAmount)
	assert.Zero(t, got.PrePaymentCreditNotesAmount)
	assert.Equal(t, int64(15722), got.AmountPaid)

	_, err = sc.V1CreditNotes.VoidCreditNote(h.ctx, refunded.ID, nil)
	assert.Contains(t, stripeError(t, err, http.StatusBadRequest).Msg, "refund")
	_, err = sc.V1CreditNotes.VoidCreditNote(h.ctx, credited.ID, nil)
	require.NoError(t, err)
	cus, err = sc.V1Customers.Retrieve(h.ctx, inv.Customer.ID, nil)
	require.NoError(t, err)
	assert.Zero(t, cus.Balance)

	_, err = h.creditNote(sc, &stripe.CreditNoteCreateParams{Invoice: stripe.String(inv.ID), RefundAmount: stripe.Int64(99999),
		Lines: []*stripe.CreditNoteCreateLineParams{customCredit(99999, "too much")}})
	stripeError(t, err, http.StatusBadRequest)
}

// Tax amounts on credit note lines name the invoice's own tax rates.
func TestCreditNoteTaxAmountsReferenceTheInvoiceTaxRates(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	inv := h.taxedInvoice(sc)
	rate := inv.TotalTaxes[0].TaxRateDetails.TaxRate

	other := h.draft(sc, h.customer(sc).ID)
	line := amountLine(1000, "x")
	line.TaxAmounts = []*stripe.InvoiceAddLinesLineTaxAmountParams{salesTax(60, 1000, 6, "CALIFORNIA", "state")}
	other = h.addLines(sc, other.ID, line)
	otherRate := other.TotalTaxes[0].TaxRateDetails.TaxRate
	require.NotEqual(t, rate, otherRate)

	withTax := func(rate string, tax int64) *stripe.CreditNoteCreateLineParams {
		l := customCredit(1000, "Refund of overcharge")
		l.TaxAmounts = []*stripe.CreditNoteCreateLineTaxAmountParams{{Amount: stripe.Int64(tax), TaxableAmount: stripe.Int64(1000), TaxRate: stripe.String(rate)}}
		return l
	}
	_, err := h.creditNote(sc, &stripe.CreditNoteCreateParams{Invoice: stripe.String(inv.ID), Lines: []*stripe.CreditNoteCreateLineParams{withTax(otherRate, 60)}})
	assert.Equal(t, "lines[0][tax_amounts][0][tax_rate]", stripeError(t, err, http.StatusBadRequest).Param)
	_, err = h.creditNote(sc, &stripe.CreditNoteCreateParams{Invoice: stripe.String(inv.ID), Lines: []*stripe.CreditNoteCreateLineParams{withTax("txr_missing", 60)}})
	assert.Equal(t, "resource_missing", string(stripeError(t, err, http.StatusBadRequest).Code))

	cn, err := h.creditNote(sc, &stripe.CreditNoteCreateParams{Invoice: stripe.String(inv.ID), Lines: []*stripe.CreditNoteCreateLineParams{withTax(rate, 48)}})
	require.NoError(t, err)
	assert.Equal(t, int64(1048), cn.Total)
	require.Len(t, cn.Lines.Data[0].Taxes, 1)
	assert.Equal(t, rate, cn.Lines.Data[0].Taxes[0].TaxRateDetails.TaxRate)
	assert.Equal(t, int64(48), cn.Lines.Data[0].Taxes[0].Amount)
}

// Only open and paid invoices take credit notes; custom lines are priced by unit_amount and
// quantity and need a description; invoice lines are credited by amount or quantity.
func TestCreditNoteRequestRules(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	draft := h.draft(sc, h.customer(sc).ID)
	_, err := h.creditNote(sc, &stripe.CreditNoteCreateParams{Invoice: stripe.String(draft.ID), Lines: []*stripe.CreditNoteCreateLineParams{customCredit(100, "x")}})
	assert.Contains(t, stripeError(t, err, http.StatusBadRequest).Msg, "open or paid")
	voided := h.openInvoice(sc, 1000)
	_, err = sc.V1Invoices.VoidInvoice(h.ctx, voided.ID, nil)
	require.NoError(t, err)
	_, err = h.creditNote(sc, &stripe.CreditNoteCreateParams{Invoice: stripe.String(voided.ID), Lines: []*stripe.CreditNoteCreateLineParams{customCredit(100, "x")}})
	stripeError(t, err, http.StatusBadRequest)
	_, err = h.creditNote(sc, &stripe.CreditNoteCreateParams{Invoice: stripe.String("in_missing"), Lines: []*stripe.CreditNoteCreateLineParams{customCredit(100, "x")}})
	assert.Equal(t, "resource_missing", string(stripeError(t, err, http.StatusBadRequest).Code))

	inv := h.taxedInvoice(sc)
	l1 := inv.Lines.Data[0].ID
	bad := []*stripe.CreditNoteCreateLineParams{
		{Type: stripe.String("custom_line_item"), Amount: stripe.Int64(100), Description: stripe.String("x")},
		{Type: stripe.String("custom_line_item"), UnitAmount: stripe.Int64(100)},
		{Type: stripe.String("invoice_line_item"), InvoiceLineItem: stripe.String(l1)},
		{Type: stripe.String("invoice_line_item"), InvoiceLineItem: stripe.String(l1), Amount: stripe.Int64(1), Quantity: stripe.Int64(1)},
		{Type: stripe.String("invoice_line_item"), InvoiceLineItem: stripe.String("il_missing"), Amount: stripe.Int64(1)},
		{Type: stripe.String("invoice_line_item"), InvoiceLineItem: stripe.String(l1), Quantity: stripe.Int64(2)},
		{InvoiceLineItem: stripe.String(l1), Amount: stripe.Int64(1)},
	}
	for i, l := range bad {
		_, err := h.creditNote(sc, &stripe.CreditNoteCreateParams{Invoice: stripe.String(inv.ID), Lines: []*stripe.CreditNoteCreateLineParams{l}})
		require.Error(t, err, "bad line %d", i)
		stripeError(t, err, http.StatusBadRequest)
	}
	cn, err := h.creditNote(sc, &stripe.CreditNoteCreateParams{Invoice: stripe.String(inv.ID), Lines: []*stripe.CreditNoteCreateLineParams{
		{Type: stripe.String("custom_line_item"), UnitAmount: stripe.Int64(250), Quantity: stripe.Int64(4), Description: stripe.String("Support hours")},
	}})
	require.NoError(t, err)
	assert.Equal(t, int64(1000), cn.Total)
	assert.Equal(t, stripe.CreditNoteLineItemTypeCustomLineItem, cn.Lines.Data[0].Type)
	assert.Equal(t, int64(250), cn.Lines.Data[0].UnitAmount)
	assert.Equal(t, "Support hours", cn.Lines.Data[0].Description)
	got, err := sc.V1CreditNotes.Retrieve(h.ctx, cn.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, cn.Total, got.Total)
	updated, err := sc.V1CreditNotes.Update(h.ctx, cn.ID, &stripe.CreditNoteUpdateParams{Memo: stripe.String("Thanks")})
	require.NoError(t, err)
	assert.Equal(t, "Thanks", updated.Memo)
}

// A preview computes the credit note without issuing it.
func TestCreditNotePreviewIssuesNothing(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	inv := h.taxedInvoice(sc)
	preview, err := sc.V1CreditNotes.Preview(h.ctx, &stripe.CreditNotePreviewParams{
		Invoice: stripe.String(inv.ID),
		Lines: []*stripe.CreditNotePreviewLineParams{{
			Type: stripe.String("invoice_line_item"), InvoiceLineItem: stripe.String(inv.Lines.Data[0].ID), Amount: stripe.Int64(5000),
		}},
	})
	require.NoError(t, err)
	assert.Equal(t, int64(5241), preview.Total)
	assert.Equal(t, int64(5241), preview.PrePaymentAmount)
	for _, err := range sc.V1CreditNotes.List(h.ctx, &stripe.CreditNoteListParams{Invoice: stripe.String(inv.ID)}) {
		require.NoError(t, err)
		t.Fatal("a preview issues no credit note")
	}
	got, _ := h.sim.Invoice(inv.ID)
	assert.Equal(t, int64(15722), got.AmountDue)
	assert.Zero(t, got.PrePaymentCreditNotesAmount)
}
