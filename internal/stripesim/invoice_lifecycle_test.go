package stripesim

import (
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v82"
)

// The whole path taxflow drives: a send_invoice draft, lines with tax computed elsewhere
// (tax_amounts), a line update, finalization and a void — with Stripe's totals at each step.
func TestDraftWithTaxAmountsFinalizesAndVoidsWithStripeTotals(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	cus := h.customer(sc)
	_, err := sc.V1Products.Create(h.ctx, &stripe.ProductCreateParams{ID: stripe.String("prod_api_calls"), Name: stripe.String("API calls")})
	require.NoError(t, err)

	inv, err := sc.V1Invoices.Create(h.ctx, &stripe.InvoiceCreateParams{
		Customer: stripe.String(cus.ID), Currency: stripe.String("usd"), AutoAdvance: stripe.Bool(false),
		CollectionMethod: stripe.String("send_invoice"), DaysUntilDue: stripe.Int64(30),
		Metadata:     map[string]string{"taxflow_invoice_id": "inv_1"},
		CustomFields: []*stripe.InvoiceCreateCustomFieldParams{{Name: stripe.String("PO"), Value: stripe.String("PO-7")}},
		Description:  stripe.String("March usage"), PendingInvoiceItemsBehavior: stripe.String("exclude"),
	})
	require.NoError(t, err)
	assert.Equal(t, stripe.InvoiceStatusDraft, inv.Status)
	assert.True(t, strings.HasPrefix(inv.ID, "in_"))
	assert.Equal(t, cus.ID, inv.Customer.ID)
	assert.Equal(t, "inv_1", inv.Metadata["taxflow_invoice_id"])
	assert.Equal(t, "PO-7", inv.CustomFields[0].Value)
	assert.Empty(t, inv.Number, "drafts have no number")
	assert.Empty(t, inv.HostedInvoiceURL, "drafts have no hosted page")
	assert.Zero(t, inv.EffectiveAt, "effective_at is set at finalization")
	assert.Equal(t, testStart.Unix()+30*86400, inv.DueDate, "days_until_due counts from creation")

	start, end := testStart.AddDate(0, -1, 0).Unix(), testStart.Unix()-1
	inv = h.addLines(sc, inv.ID,
		&stripe.InvoiceAddLinesLineParams{
			Amount: stripe.Int64(10000), Description: stripe.String("Platform fee"),
			Period:   &stripe.InvoiceAddLinesLinePeriodParams{Start: stripe.Int64(start), End: stripe.Int64(end)},
			Metadata: map[string]string{"taxflow_line_id": "line_1"},
			TaxAmounts: []*stripe.InvoiceAddLinesLineTaxAmountParams{
				salesTax(600, 10000, 6, "CALIFORNIA", "state"),
				salesTax(25, 10000, 0.25, "SAN FRANCISCO", "county"),
			},
		},
		&stripe.InvoiceAddLinesLineParams{
			PriceData: &stripe.InvoiceAddLinesLinePriceDataParams{
				Product: stripe.String("prod_api_calls"), UnitAmountDecimal: stripe.Float64(1234.5), TaxBehavior: stripe.String("exclusive"),
			},
			Quantity: stripe.Int64(4), Metadata: map[string]string{"taxflow_line_id": "line_2"},
			TaxAmounts: []*stripe.InvoiceAddLinesLineTaxAmountParams{
				salesTax(296, 4938, 6, "CALIFORNIA", "state"),
				salesTax(12, 4938, 0.25, "SAN FRANCISCO", "county"),
			},
		},
	)
	require.Len(t, inv.Lines.Data, 2)
	first, second := inv.Lines.Data[0], inv.Lines.Data[1]
	assert.True(t, strings.HasPrefix(first.ID, "il_"))
	assert.Equal(t, stripe.InvoiceLineItemParentTypeInvoiceItemDetails, first.Parent.Type)
	assert.True(t, strings.HasPrefix(first.Parent.InvoiceItemDetails.InvoiceItem, "ii_"))
	assert.Equal(t, "line_1", first.Metadata["taxflow_line_id"])
	assert.Equal(t, start, first.Period.Start)
	assert.Equal(t, int64(4938), second.Amount, "4 × 1234.5")
	assert.Equal(t, int64(4), second.Quantity)
	assert.Equal(t, "prod_api_calls", second.Pricing.PriceDetails.Product)
	assert.True(t, strings.HasPrefix(second.Pricing.PriceDetails.Price, "price_"))
	assert.Equal(t, 1234.5, second.Pricing.UnitAmountDecimal)
	require.Len(t, first.Taxes, 2)
	assert.Equal(t, stripe.InvoiceLineItemTaxTaxBehaviorExclusive, first.Taxes[0].TaxBehavior)
	assert.Equal(t, stripe.InvoiceLineItemTaxTaxabilityReasonStandardRated, first.Taxes[0].TaxabilityReason)
	stateRate := first.Taxes[0].TaxRateDetails.TaxRate
	assert.True(t, strings.HasPrefix(stateRate, "txr_"))
	assert.Equal(t, stateRate, second.Taxes[0].TaxRateDetails.TaxRate, "identical tax_rate_data reuses the tax rate")

	assert.Equal(t, int64(14938), inv.Subtotal)
	assert.Equal(t, int64(14938), inv.TotalExcludingTax)
	assert.Equal(t, int64(14938+600+25+296+12), inv.Total)
	assert.Equal(t, inv.Total, inv.AmountDue)
	require.Len(t, inv.TotalTaxes, 2, "taxes aggregate per tax rate")
	assert.Equal(t, int64(896), inv.TotalTaxes[0].Amount)
	assert.Equal(t, int64(14938), inv.TotalTaxes[0].TaxableAmount)
	assert.Equal(t, stateRate, inv.TotalTaxes[0].TaxRateDetails.TaxRate)
	assert.Equal(t, stripe.InvoiceTotalTaxType("tax_rate_details"), inv.TotalTaxes[0].Type)
	assert.Equal(t, int64(37), inv.TotalTaxes[1].Amount)

	rate, err := sc.V1TaxRates.Retrieve(h.ctx, stateRate, nil)
	require.NoError(t, err)
	assert.False(t, rate.Active, "tax rates made from tax_rate_data are archived at once")
	assert.Equal(t, 6.0, rate.Percentage)
	assert.Equal(t, "CALIFORNIA", rate.Jurisdiction)
	assert.Equal(t, stripe.TaxRateJurisdictionLevelState, rate.JurisdictionLevel)
	assert.Equal(t, stripe.TaxRateTaxTypeSalesTax, rate.TaxType)

	// Anrok recomputed line 2 for a quantity of 5: the tax amounts are replaced, not added.
	h.sim.AdvanceClock(time.Hour)
	inv, err = sc.V1Invoices.UpdateLines(h.ctx, inv.ID, &stripe.InvoiceUpdateLinesParams{Lines: []*stripe.InvoiceUpdateLinesLineParams{{
		ID: stripe.String(second.ID), Quantity: stripe.Int64(5),
		TaxAmounts: []*stripe.InvoiceUpdateLinesLineTaxAmountParams{{
			Amount: stripe.Int64(370), TaxableAmount: stripe.Int64(6173),
			TaxRateData: &stripe.InvoiceUpdateLinesLineTaxAmountTaxRateDataParams{
				DisplayName: stripe.String("Sales tax"), Inclusive: stripe.Bool(false), Percentage: stripe.Float64(6),
				Jurisdiction: stripe.String("CALIFORNIA"), JurisdictionLevel: stripe.String("state"),
				TaxType: stripe.String("sales_tax"), Country: stripe.String("US"), State: stripe.String("CA"),
			},
			TaxabilityReason: stripe.String("standard_rated"),
		}},
	}}})
	require.NoError(t, err)
	assert.Equal(t, int64(6173), inv.Lines.Data[1].Amount, "5 × 1234.5 = 6172.5 rounds half up")
	require.Len(t, inv.Lines.Data[1].Taxes, 1)
	assert.Equal(t, int64(10000+6173), inv.Subtotal)
	assert.Equal(t, int64(10000+6173+600+25+370), inv.Total)
	assert.Equal(t, int64(970), inv.TotalTaxes[0].Amount)

	finalized, err := sc.V1Invoices.FinalizeInvoice(h.ctx, inv.ID, nil)
	require.NoError(t, err)
	now := testStart.Add(time.Hour).Unix()
	assert.Equal(t, stripe.InvoiceStatusOpen, finalized.Status)
	assert.Equal(t, "SIM000001-0001", finalized.Number)
	assert.Equal(t, now, finalized.StatusTransitions.FinalizedAt)
	assert.Equal(t, now, finalized.EffectiveAt, "effective_at defaults to the finalization time")
	assert.Equal(t, testStart.Unix()+30*86400, finalized.DueDate)
	assert.NotEmpty(t, finalized.HostedInvoiceURL)
	assert.Equal(t, inv.Total, finalized.AmountDue)
	assert.Equal(t, inv.Total, finalized.AmountRemaining)
	assert.Zero(t, finalized.AmountPaid)
	assert.Equal(t, "Acme Corp", finalized.CustomerName)
	assert.Equal(t, "94105", finalized.CustomerAddress.PostalCode)

	var listed []*stripe.InvoiceLineItem
	for line, err := range sc.V1Invoices.ListLines(h.ctx, &stripe.InvoiceListLinesParams{Invoice: stripe.String(inv.ID)}) {
		require.NoError(t, err)
		listed = append(listed, line)
	}
	require.Len(t, listed, 2)
	assert.Equal(t, first.ID, listed[0].ID)

	h.sim.AdvanceClock(time.Hour)
	voided, err := sc.V1Invoices.VoidInvoice(h.ctx, inv.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, stripe.InvoiceStatusVoid, voided.Status)
	assert.Equal(t, now+3600, voided.StatusTransitions.VoidedAt)
	assert.Equal(t, finalized.Total, voided.Total, "voiding keeps the amounts")

	got, err := sc.V1Invoices.Retrieve(h.ctx, inv.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, stripe.InvoiceStatusVoid, got.Status)

	snap, ok := h.sim.Invoice(inv.ID)
	require.True(t, ok)
	assert.Equal(t, "sk_test_****abcd", snap.Account)
	assert.Equal(t, "void", snap.Status)
	assert.Equal(t, int64(600+25+370), snap.TotalTax)
	assert.Equal(t, got.Total, snap.Total)
	require.Len(t, snap.Lines, 2)
	assert.True(t, decimal.RequireFromString("1234.5").Equal(snap.Lines[1].UnitAmountDecimal))
	assert.Equal(t, "CALIFORNIA", snap.TotalTaxes[0].TaxRate.Jurisdiction)

	var types []string
	for ev, err := range sc.V1Events.List(h.ctx, &stripe.EventListParams{Type: stripe.String("invoice.*")}) {
		require.NoError(t, err)
		types = append(types, string(ev.Type))
	}
	assert.Equal(t, []string{"invoice.voided", "invoice.finalized", "invoice.updated", "invoice.updated", "invoice.created"}, types)
}

// Stripe's state machine: finalize only from draft; pay from open or uncollectible; void from
// open or uncollectible; mark_uncollectible from open; lines and most fields only while draft.
func TestInvoiceStateMachineRefusesIllegalTransitions(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	cus := h.customer(sc)

	in := func(status stripe.InvoiceStatus) string {
		inv := h.draft(sc, cus.ID)
		h.addLines(sc, inv.ID, amountLine(5000, "fee"))
		if status == stripe.InvoiceStatusDraft {
			return inv.ID
		}
		_, err := sc.V1Invoices.FinalizeInvoice(h.ctx, inv.ID, nil)
		require.NoError(t, err)
		switch status {
		case stripe.InvoiceStatusPaid:
			_, err = sc.V1Invoices.Pay(h.ctx, inv.ID, &stripe.InvoicePayParams{PaidOutOfBand: stripe.Bool(true)})
		case stripe.InvoiceStatusVoid:
			_, err = sc.V1Invoices.VoidInvoice(h.ctx, inv.ID, nil)
		case stripe.InvoiceStatusUncollectible:
			_, err = sc.V1Invoices.MarkUncollectible(h.ctx, inv.ID, nil)
		}
		require.NoError(t, err)
		return inv.ID
	}
	const (
		alreadyFinalized = "This invoice is already finalized, you can't re-finalize a non-draft invoice."
		notOpenMsg       = "You can only pass in open invoices. This invoice isn't open."
		onlyDraftDelete  = "You can only delete draft invoices."
		notEditableMsg   = "Invalid invoice: This invoice is no longer editable"
		finalizedUpdate  = "Finalized invoices can't be updated in this way"
	)
	ops := map[string]func(id string) error{
		"finalize": func(id string) error { _, err := sc.V1Invoices.FinalizeInvoice(h.ctx, id, nil); return err },
		"pay":      func(id string) error { _, err := sc.V1Invoices.Pay(h.ctx, id, nil); return err },
		"void":     func(id string) error { _, err := sc.V1Invoices.VoidInvoice(h.ctx, id, nil); return err },
		"mark_uncollectible": func(id string) error {
			_, err := sc.V1Invoices.MarkUncollectible(h.ctx, id, nil)
			return err
		},
		"delete": func(id string) error { _, err := sc.V1Invoices.Delete(h.ctx, id, nil); return err },
		"add_lines": func(id string) error {
			_, err := sc.V1Invoices.AddLines(h.ctx, id, &stripe.InvoiceAddLinesParams{Lines: []*stripe.InvoiceAddLinesLineParams{amountLine(100, "late")}})
			return err
		},
		"update_description": func(id string) error {
			_, err := sc.V1Invoices.Update(h.ctx, id, &stripe.InvoiceUpdateParams{Description: stripe.String("changed")})
			return err
		},
	}
	cases := []struct {
		from    stripe.InvoiceStatus
		op      string
		message string
		code    stripe.ErrorCode
	}{
		{stripe.InvoiceStatusOpen, "finalize", alreadyFinalized, ""},
		{stripe.InvoiceStatusPaid, "finalize", alreadyFinalized, ""},
		{stripe.InvoiceStatusVoid, "finalize", alreadyFinalized, ""},
		{stripe.InvoiceStatusUncollectible, "finalize", alreadyFinalized, ""},
		{stripe.InvoiceStatusPaid, "pay", "Invoice is already paid", ""},
		{stripe.InvoiceStatusVoid, "pay", "This invoice is void and can no longer be paid.", ""},
		{stripe.InvoiceStatusDraft, "void", notOpenMsg, ""},
		{stripe.InvoiceStatusPaid, "void", "Invoices with `paid` payments cannot be voided.", ""},
		{stripe.InvoiceStatusVoid, "void", notOpenMsg, ""},
		{stripe.InvoiceStatusDraft, "mark_uncollectible", notOpenMsg, ""},
		{stripe.InvoiceStatusPaid, "mark_uncollectible", notOpenMsg, ""},
		{stripe.InvoiceStatusVoid, "mark_uncollectible", notOpenMsg, ""},
		{stripe.InvoiceStatusUncollectible, "mark_uncollectible", "This invoice has already been marked uncollectible.", ""},
		{stripe.InvoiceStatusOpen, "delete", onlyDraftDelete, ""},
		{stripe.InvoiceStatusPaid, "delete", onlyDraftDelete, ""},
		{stripe.InvoiceStatusVoid, "delete", onlyDraftDelete, ""},
		{stripe.InvoiceStatusUncollectible, "delete", onlyDraftDelete, ""},
		{stripe.InvoiceStatusOpen, "add_lines", notEditableMsg, stripe.ErrorCodeInvoiceNotEditable},
		{stripe.InvoiceStatusPaid, "add_lines", notEditableMsg, stripe.ErrorCodeInvoiceNotEditable},
		{stripe.InvoiceStatusVoid, "add_lines", notEditableMsg, stripe.ErrorCodeInvoiceNotEditable},
		{stripe.InvoiceStatusUncollectible, "add_lines", notEditableMsg, stripe.ErrorCodeInvoiceNotEditable},
		{stripe.InvoiceStatusOpen, "update_description", finalizedUpdate, ""},
		{stripe.InvoiceStatusPaid, "update_description", finalizedUpdate, ""},
	}
	for _, tc := range cases {
		t.Run(string(tc.from)+"/"+tc.op, func(t *testing.T) {
			id := in(tc.from)
			se := stripeError(t, ops[tc.op](id), 400)
			assert.Equal(t, stripe.ErrorTypeInvalidRequest, se.Type)
			assert.Equal(t, tc.message, se.Msg)
			assert.Equal(t, tc.code, se.Code)
			got, ok := h.sim.Invoice(id)
			require.True(t, ok)
			assert.Equal(t, string(tc.from), got.Status, "a refused transition changes nothing")
		})
	}
}

// The transitions Stripe does allow out of uncollectible, and paying a draft (which Stripe
// finalizes first, in the same call).
func TestUncollectibleInvoicesCanStillBePaidOrVoided(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	cus := h.customer(sc)
	open := func() string {
		inv := h.draft(sc, cus.ID)
		h.addLines(sc, inv.ID, amountLine(5000, "fee"))
		_, err := sc.V1Invoices.FinalizeInvoice(h.ctx, inv.ID, nil)
		require.NoError(t, err)
		_, err = sc.V1Invoices.MarkUncollectible(h.ctx, inv.ID, nil)
		require.NoError(t, err)
		return inv.ID
	}
	paid, err := sc.V1Invoices.Pay(h.ctx, open(), nil)
	require.NoError(t, err)
	assert.Equal(t, stripe.InvoiceStatusPaid, paid.Status)
	assert.Equal(t, int64(5000), paid.AmountPaid)
	assert.Zero(t, paid.AmountRemaining)
	assert.True(t, paid.Attempted)
	assert.NotZero(t, paid.StatusTransitions.MarkedUncollectibleAt)

	voided, err := sc.V1Invoices.VoidInvoice(h.ctx, open(), nil)
	require.NoError(t, err)
	assert.Equal(t, stripe.InvoiceStatusVoid, voided.Status)

	draft := h.draft(sc, cus.ID)
	h.addLines(sc, draft.ID, amountLine(5000, "fee"))
	paidDraft, err := sc.V1Invoices.Pay(h.ctx, draft.ID, &stripe.InvoicePayParams{PaidOutOfBand: stripe.Bool(true)})
	require.NoError(t, err)
	assert.Equal(t, stripe.InvoiceStatusPaid, paidDraft.Status)
	assert.NotEmpty(t, paidDraft.Number, "paying a draft finalizes it")
	assert.False(t, paidDraft.Attempted, "paid out of band: no payment attempt")
}

// Deleting is for drafts only; a deleted draft is gone (404) and its items die with it.
func TestDeletedDraftIsGone(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	cus := h.customer(sc)
	inv := h.draft(sc, cus.ID)
	inv = h.addLines(sc, inv.ID, amountLine(700, "fee"))
	deleted, err := sc.V1Invoices.Delete(h.ctx, inv.ID, nil)
	require.NoError(t, err)
	assert.True(t, deleted.Deleted)

	_, err = sc.V1Invoices.Retrieve(h.ctx, inv.ID, nil)
	se := stripeError(t, err, 404)
	assert.Equal(t, stripe.ErrorCodeResourceMissing, se.Code)
	assert.Equal(t, "No such invoice: '"+inv.ID+"'", se.Msg)
	_, err = sc.V1InvoiceItems.Retrieve(h.ctx, inv.Lines.Data[0].Parent.InvoiceItemDetails.InvoiceItem, nil)
	stripeError(t, err, 404)

	snap, ok := h.sim.Invoice(inv.ID)
	require.True(t, ok, "the simulator keeps deleted drafts for inspection")
	assert.True(t, snap.Deleted)
}

// Sending a send_invoice draft finalizes it; charge_automatically invoices cannot be sent.
func TestSendInvoiceFinalizesDraftAndRequiresSendInvoiceCollection(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	cus := h.customer(sc)
	inv, err := sc.V1Invoices.Create(h.ctx, &stripe.InvoiceCreateParams{
		Customer: stripe.String(cus.ID), CollectionMethod: stripe.String("send_invoice"), DaysUntilDue: stripe.Int64(14),
	})
	require.NoError(t, err)
	h.addLines(sc, inv.ID, amountLine(2500, "fee"))
	sent, err := sc.V1Invoices.SendInvoice(h.ctx, inv.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, stripe.InvoiceStatusOpen, sent.Status)

	charge := h.draft(sc, cus.ID)
	_, err = sc.V1Invoices.SendInvoice(h.ctx, charge.ID, nil)
	se := stripeError(t, err, 400)
	assert.Equal(t, "You can only manually send an invoice if its collection method is 'send_invoice'.", se.Msg)
}
