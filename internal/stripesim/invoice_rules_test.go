package stripesim

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v82"
)

// Stripe caps an invoice at 250 line items; a request that would exceed it adds nothing.
func TestInvoiceHoldsAtMost250LineItems(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	cus := h.customer(sc)
	inv := h.draft(sc, cus.ID)

	tooMany := make([]*stripe.InvoiceAddLinesLineParams, 251)
	for i := range tooMany {
		tooMany[i] = amountLine(100, fmt.Sprintf("line %d", i))
	}
	_, err := sc.V1Invoices.AddLines(h.ctx, inv.ID, &stripe.InvoiceAddLinesParams{Lines: tooMany})
	se := stripeError(t, err, 400)
	assert.Equal(t, "lines", se.Param)
	snap, _ := h.sim.Invoice(inv.ID)
	assert.Empty(t, snap.Lines, "a refused request adds no line at all")

	inv = h.addLines(sc, inv.ID, tooMany[:250]...)
	assert.Equal(t, int64(25000), inv.Subtotal)
	assert.Len(t, inv.Lines.Data, 10, "an invoice embeds the first 10 lines")
	assert.True(t, inv.Lines.HasMore)

	_, err = sc.V1Invoices.AddLines(h.ctx, inv.ID, &stripe.InvoiceAddLinesParams{Lines: tooMany[250:]})
	stripeError(t, err, 400)
	_, err = sc.V1InvoiceItems.Create(h.ctx, &stripe.InvoiceItemCreateParams{
		Customer: stripe.String(cus.ID), Invoice: stripe.String(inv.ID), Amount: stripe.Int64(100),
	})
	stripeError(t, err, 400)

	n := 0
	for line, err := range sc.V1Invoices.ListLines(h.ctx, &stripe.InvoiceListLinesParams{Invoice: stripe.String(inv.ID)}) {
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("line %d", n), line.Description, "lines keep the order they were added in")
		n++
	}
	assert.Equal(t, 250, n)
}

// Amounts are limited to ±99,999,999 in the smallest unit (USD 999,999.99).
func TestLineAmountBeyondStripeMaximumIsRefused(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	inv := h.draft(sc, h.customer(sc).ID)

	_, err := sc.V1Invoices.AddLines(h.ctx, inv.ID, &stripe.InvoiceAddLinesParams{Lines: []*stripe.InvoiceAddLinesLineParams{amountLine(100_000_000, "big")}})
	se := stripeError(t, err, 400)
	assert.Equal(t, stripe.ErrorCodeAmountTooLarge, se.Code)
	assert.Equal(t, "lines[0][amount]", se.Param)

	_, err = sc.V1Invoices.AddLines(h.ctx, inv.ID, &stripe.InvoiceAddLinesParams{Lines: []*stripe.InvoiceAddLinesLineParams{amountLine(-100_000_000, "credit")}})
	assert.Equal(t, stripe.ErrorCodeAmountTooSmall, stripeError(t, err, 400).Code)

	h.addLines(sc, inv.ID, amountLine(99_999_999, "max"), amountLine(-99_999_999, "min"))
}

// An invoice whose amount due is positive but under the currency's minimum charge (USD 0.50)
// cannot be charged: Stripe marks it paid at finalization and carries the amount to the
// customer's balance, which the next invoice then collects.
func TestAmountDueBelowCurrencyMinimumIsPaidAndCarriedToCustomerBalance(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	cus := h.customer(sc)

	small := h.draft(sc, cus.ID)
	h.addLines(sc, small.ID, amountLine(30, "tiny usage"))
	small, err := sc.V1Invoices.FinalizeInvoice(h.ctx, small.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, stripe.InvoiceStatusPaid, small.Status)
	assert.Equal(t, int64(30), small.Total)
	assert.Zero(t, small.AmountDue)
	assert.Zero(t, small.AmountRemaining)
	assert.Equal(t, int64(30), small.EndingBalance)
	assert.NotZero(t, small.StatusTransitions.PaidAt)

	c, err := sc.V1Customers.Retrieve(h.ctx, cus.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(30), c.Balance, "the customer owes the 30 cents")

	next := h.draft(sc, cus.ID)
	next = h.addLines(sc, next.ID, amountLine(1000, "usage"))
	assert.Equal(t, int64(30), next.StartingBalance)
	assert.Equal(t, int64(1030), next.AmountDue)
	next, err = sc.V1Invoices.FinalizeInvoice(h.ctx, next.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, stripe.InvoiceStatusOpen, next.Status)
	assert.Equal(t, int64(1030), next.AmountDue)
	assert.Equal(t, "SIM000001-0002", next.Number)
	c, err = sc.V1Customers.Retrieve(h.ctx, cus.ID, nil)
	require.NoError(t, err)
	assert.Zero(t, c.Balance)
}

// The minimum depends on the currency: GBP 0.30, so 29 pence is below it and 30 is not.
func TestCurrencyMinimumsFollowStripeTable(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	for _, tc := range []struct {
		amount int64
		status stripe.InvoiceStatus
	}{{29, stripe.InvoiceStatusPaid}, {30, stripe.InvoiceStatusOpen}} {
		cus := h.customer(sc)
		inv, err := sc.V1Invoices.Create(h.ctx, &stripe.InvoiceCreateParams{Customer: stripe.String(cus.ID), Currency: stripe.String("gbp")})
		require.NoError(t, err)
		h.addLines(sc, inv.ID, amountLine(tc.amount, "fee"))
		inv, err = sc.V1Invoices.FinalizeInvoice(h.ctx, inv.ID, nil)
		require.NoError(t, err)
		assert.Equal(t, tc.status, inv.Status, "gbp %d", tc.amount)
	}
}

// A zero total has nothing to collect: finalization pays it at once.
func TestZeroAmountInvoiceIsPaidOnFinalization(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	inv := h.draft(sc, h.customer(sc).ID)
	inv, err := sc.V1Invoices.FinalizeInvoice(h.ctx, inv.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, stripe.InvoiceStatusPaid, inv.Status)
}

// A negative total leaves the customer with credit, applied to the next invoice.
func TestNegativeTotalBecomesCustomerCredit(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	cus := h.customer(sc)
	credit := h.draft(sc, cus.ID)
	h.addLines(sc, credit.ID, amountLine(-700, "refund"))
	credit, err := sc.V1Invoices.FinalizeInvoice(h.ctx, credit.ID, nil)
	require.NoError(t, err)
	assert.Zero(t, credit.AmountDue)
	assert.Equal(t, int64(-700), credit.EndingBalance)

	next := h.draft(sc, cus.ID)
	next = h.addLines(sc, next.ID, amountLine(1000, "usage"))
	assert.Equal(t, int64(300), next.AmountDue)
}

// The customer named on an invoice must exist in the same account.
func TestInvoiceForUnknownCustomerIsResourceMissing(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	_, err := sc.V1Invoices.Create(h.ctx, &stripe.InvoiceCreateParams{Customer: stripe.String("cus_nope")})
	se := stripeError(t, err, 400)
	assert.Equal(t, stripe.ErrorCodeResourceMissing, se.Code)
	assert.Equal(t, "customer", se.Param)
	assert.Equal(t, "No such customer: 'cus_nope'", se.Msg)

	_, err = sc.V1Invoices.Create(h.ctx, &stripe.InvoiceCreateParams{})
	se = stripeError(t, err, 400)
	assert.Equal(t, stripe.ErrorCodeParameterMissing, se.Code)
	assert.Equal(t, "customer", se.Param)
}

// A deleted customer answers its deletion stub, and can no longer be invoiced.
func TestDeletedCustomerCannotBeInvoiced(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	cus := h.customer(sc)
	del, err := sc.V1Customers.Delete(h.ctx, cus.ID, nil)
	require.NoError(t, err)
	assert.True(t, del.Deleted)
	got, err := sc.V1Customers.Retrieve(h.ctx, cus.ID, nil)
	require.NoError(t, err)
	assert.True(t, got.Deleted)

	_, err = sc.V1Invoices.Create(h.ctx, &stripe.InvoiceCreateParams{Customer: stripe.String(cus.ID)})
	assert.Equal(t, stripe.ErrorCodeResourceMissing, stripeError(t, err, 400).Code)
	_, err = sc.V1Customers.Update(h.ctx, cus.ID, &stripe.CustomerUpdateParams{Name: stripe.String("x")})
	stripeError(t, err, 404)
}

// days_until_due belongs to send_invoice, which needs it (or a due_date).
func TestDueDateRulesFollowCollectionMethod(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	cus := h.customer(sc)
	_, err := sc.V1Invoices.Create(h.ctx, &stripe.InvoiceCreateParams{
		Customer: stripe.String(cus.ID), CollectionMethod: stripe.String("charge_automatically"), DaysUntilDue: stripe.Int64(30),
	})
	assert.Equal(t, "You can only specify 'due_date' or 'days_until_due' if invoice collection method is 'send_invoice'.", stripeError(t, err, 400).Msg)

	_, err = sc.V1Invoices.Create(h.ctx, &stripe.InvoiceCreateParams{Customer: stripe.String(cus.ID), CollectionMethod: stripe.String("send_invoice")})
	assert.Equal(t, "If invoice collection method is 'send_invoice', you must specify 'due_date' or 'days_until_due'.", stripeError(t, err, 400).Msg)

	_, err = sc.V1Invoices.Create(h.ctx, &stripe.InvoiceCreateParams{Customer: stripe.String(cus.ID), CollectionMethod: stripe.String("by_pigeon")})
	se := stripeError(t, err, 400)
	assert.Equal(t, "collection_method", se.Param)
	assert.Equal(t, "Invalid collection_method: must be one of charge_automatically or send_invoice", se.Msg)

	due := testStart.Unix() + 7*86400
	inv, err := sc.V1Invoices.Create(h.ctx, &stripe.InvoiceCreateParams{
		Customer: stripe.String(cus.ID), CollectionMethod: stripe.String("send_invoice"), DueDate: stripe.Int64(due),
	})
	require.NoError(t, err)
	assert.Equal(t, due, inv.DueDate)
}

// Metadata: at most 50 keys, keys up to 40 characters, values up to 500.
func TestMetadataFollowsStripeLimits(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	cus := h.customer(sc)
	create := func(md map[string]string) error {
		_, err := sc.V1Invoices.Create(h.ctx, &stripe.InvoiceCreateParams{Customer: stripe.String(cus.ID), Metadata: md})
		return err
	}
	fifty := map[string]string{}
	for i := range 50 {
		fifty[fmt.Sprintf("k%02d", i)] = "v"
	}
	require.NoError(t, create(fifty))
	fifty["k50"] = "v"
	stripeError(t, create(fifty), 400)
	stripeError(t, create(map[string]string{strings.Repeat("k", 41): "v"}), 400)
	require.NoError(t, create(map[string]string{strings.Repeat("k", 40): strings.Repeat("v", 500)}))
	se := stripeError(t, create(map[string]string{"k": strings.Repeat("v", 501)}), 400)
	assert.Equal(t, "metadata[k]", se.Param)

	// An empty value removes a key; the others stay.
	inv := h.draft(sc, cus.ID)
	inv, err := sc.V1Invoices.Update(h.ctx, inv.ID, &stripe.InvoiceUpdateParams{Metadata: map[string]string{"a": "1", "b": "2"}})
	require.NoError(t, err)
	inv, err = sc.V1Invoices.Update(h.ctx, inv.ID, &stripe.InvoiceUpdateParams{Metadata: map[string]string{"a": ""}})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"b": "2"}, inv.Metadata)
}

// Custom fields: at most 4, names up to 40 characters, values up to 140.
func TestCustomFieldsFollowStripeLimits(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	cus := h.customer(sc)
	field := func(name, value string) *stripe.InvoiceCreateCustomFieldParams {
		return &stripe.InvoiceCreateCustomFieldParams{Name: stripe.String(name), Value: stripe.String(value)}
	}
	create := func(fields ...*stripe.InvoiceCreateCustomFieldParams) error {
		_, err := sc.V1Invoices.Create(h.ctx, &stripe.InvoiceCreateParams{Customer: stripe.String(cus.ID), CustomFields: fields})
		return err
	}
	require.NoError(t, create(field("a", "1"), field("b", "2"), field("c", "3"), field(strings.Repeat("d", 40), strings.Repeat("4", 140))))
	stripeError(t, create(field("a", "1"), field("b", "2"), field("c", "3"), field("d", "4"), field("e", "5")), 400)
	assert.Equal(t, "custom_fields[0][name]", stripeError(t, create(field(strings.Repeat("n", 41), "v")), 400).Param)
	assert.Equal(t, "custom_fields[0][value]", stripeError(t, create(field("n", strings.Repeat("v", 141))), 400).Param)
}

// Tax amounts and automatic tax exclude each other: with automatic tax on, Stripe (or the
// tax app) computes the tax.
func TestTaxAmountsAreRefusedWithAutomaticTax(t *testing.T) {
	h := newHarness(t, Options{AutomaticTaxProvider: "anrok"})
	sc := h.client(testKey)
	cus := h.customer(sc)
	inv, err := sc.V1Invoices.Create(h.ctx, &stripe.InvoiceCreateParams{
		Customer: stripe.String(cus.ID),
		AutomaticTax: &stripe.InvoiceCreateAutomaticTaxParams{
			Enabled: stripe.Bool(true), Liability: &stripe.InvoiceCreateAutomaticTaxLiabilityParams{Type: stripe.String("self")},
		},
	})
	require.NoError(t, err)
	assert.True(t, inv.AutomaticTax.Enabled)
	assert.Equal(t, "anrok", inv.AutomaticTax.Provider)
	assert.Empty(t, inv.AutomaticTax.Status, "the Anrok app has not answered yet")
	assert.Equal(t, stripe.InvoiceAutomaticTaxLiabilityTypeSelf, inv.AutomaticTax.Liability.Type)

	line := amountLine(1000, "fee")
	line.TaxAmounts = []*stripe.InvoiceAddLinesLineTaxAmountParams{salesTax(60, 1000, 6, "CALIFORNIA", "state")}
	_, err = sc.V1Invoices.AddLines(h.ctx, inv.ID, &stripe.InvoiceAddLinesParams{Lines: []*stripe.InvoiceAddLinesLineParams{line}})
	assert.Equal(t, "lines[0][tax_amounts]", stripeError(t, err, 400).Param)

	// Turning automatic tax on is refused once lines carry tax amounts.
	manual := h.draft(sc, cus.ID)
	h.addLines(sc, manual.ID, line)
	_, err = sc.V1Invoices.Update(h.ctx, manual.ID, &stripe.InvoiceUpdateParams{
		AutomaticTax: &stripe.InvoiceUpdateAutomaticTaxParams{Enabled: stripe.Bool(true)},
	})
	stripeError(t, err, 400)
}

// Automatic tax needs the customer's location; without it finalization fails and the
// invoice records last_finalization_error.
func TestAutomaticTaxWithoutCustomerLocationCannotFinalize(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	cus, err := sc.V1Customers.Create(h.ctx, &stripe.CustomerCreateParams{Name: stripe.String("Nowhere Inc")})
	require.NoError(t, err)
	inv, err := sc.V1Invoices.Create(h.ctx, &stripe.InvoiceCreateParams{
		Customer: stripe.String(cus.ID), AutomaticTax: &stripe.InvoiceCreateAutomaticTaxParams{Enabled: stripe.Bool(true)},
	})
	require.NoError(t, err)
	assert.Equal(t, stripe.InvoiceAutomaticTaxStatusRequiresLocationInputs, inv.AutomaticTax.Status)
	_, err = sc.V1Invoices.FinalizeInvoice(h.ctx, inv.ID, nil)
	assert.Equal(t, stripe.ErrorCodeCustomerTaxLocationInvalid, stripeError(t, err, 400).Code)
	got, err := sc.V1Invoices.Retrieve(h.ctx, inv.ID, nil)
	require.NoError(t, err)
	require.NotNil(t, got.LastFinalizationError)
	assert.Equal(t, stripe.ErrorCodeCustomerTaxLocationInvalid, got.LastFinalizationError.Code)
	assert.Equal(t, stripe.InvoiceStatusDraft, got.Status)
}

// Tax rate data: percentage 0–100 with at most four decimal places, at most ten tax amounts
// per line, and an identical tax_rate_data reuses its tax rate.
func TestTaxRateDataFollowsStripeRules(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	inv := h.draft(sc, h.customer(sc).ID)
	add := func(taxes ...*stripe.InvoiceAddLinesLineTaxAmountParams) (*stripe.Invoice, error) {
		line := amountLine(10000, "fee")
		line.TaxAmounts = taxes
		return sc.V1Invoices.AddLines(h.ctx, inv.ID, &stripe.InvoiceAddLinesParams{Lines: []*stripe.InvoiceAddLinesLineParams{line}})
	}
	_, err := add(salesTax(100, 10000, 100.5, "X", "state"))
	assert.Equal(t, "lines[0][tax_amounts][0][tax_rate_data][percentage]", stripeError(t, err, 400).Param)

	eleven := make([]*stripe.InvoiceAddLinesLineTaxAmountParams, 11)
	for i := range eleven {
		eleven[i] = salesTax(1, 10000, 0.01, fmt.Sprintf("D%d", i), "district")
	}
	_, err = add(eleven...)
	assert.Equal(t, "lines[0][tax_amounts]", stripeError(t, err, 400).Param)

	missing := salesTax(100, 10000, 1, "X", "state")
	missing.TaxRateData.DisplayName = nil
	_, err = add(missing)
	assert.Equal(t, stripe.ErrorCodeParameterMissing, stripeError(t, err, 400).Code)

	first, err := add(salesTax(481, 10000, 4.81, "CALIFORNIA", "state"))
	require.NoError(t, err)
	second, err := add(salesTax(481, 10000, 4.81, "CALIFORNIA", "state"), salesTax(481, 10000, 4.81, "NEVADA", "state"))
	require.NoError(t, err)
	firstRate := first.Lines.Data[0].Taxes[0].TaxRateDetails.TaxRate
	assert.Equal(t, firstRate, second.Lines.Data[1].Taxes[0].TaxRateDetails.TaxRate)
	assert.NotEqual(t, firstRate, second.Lines.Data[1].Taxes[1].TaxRateDetails.TaxRate)
	n := 0
	for rate, err := range sc.V1TaxRates.List(h.ctx, &stripe.TaxRateListParams{}) {
		require.NoError(t, err)
		assert.False(t, rate.Active)
		n++
	}
	assert.Equal(t, 2, n)
}

// Inclusive taxes are part of the line amount: they lower total_excluding_tax instead of
// raising total.
func TestInclusiveTaxIsInsideTheLineAmount(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	inv, err := sc.V1Invoices.Create(h.ctx, &stripe.InvoiceCreateParams{Customer: stripe.String(h.customer(sc).ID), Currency: stripe.String("eur")})
	require.NoError(t, err)
	vat := salesTax(1900, 10000, 19, "DE", "country")
	vat.TaxRateData.Inclusive = stripe.Bool(true)
	vat.TaxRateData.TaxType = stripe.String("vat")
	line := amountLine(11900, "Licence")
	line.TaxAmounts = []*stripe.InvoiceAddLinesLineTaxAmountParams{vat}
	inv = h.addLines(sc, inv.ID, line)
	assert.Equal(t, int64(11900), inv.Subtotal)
	assert.Equal(t, int64(10000), inv.SubtotalExcludingTax)
	assert.Equal(t, int64(10000), inv.TotalExcludingTax)
	assert.Equal(t, int64(11900), inv.Total)
	assert.Equal(t, stripe.InvoiceTotalTaxTaxBehaviorInclusive, inv.TotalTaxes[0].TaxBehavior)
}

// A bare amount is the line's total: quantity cannot come with it; price_data needs a product
// that exists.
func TestLinePricingParametersFollowStripeRules(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	inv := h.draft(sc, h.customer(sc).ID)
	add := func(line *stripe.InvoiceAddLinesLineParams) error {
		_, err := sc.V1Invoices.AddLines(h.ctx, inv.ID, &stripe.InvoiceAddLinesParams{Lines: []*stripe.InvoiceAddLinesLineParams{line}})
		return err
	}
	se := stripeError(t, add(&stripe.InvoiceAddLinesLineParams{Amount: stripe.Int64(100), Quantity: stripe.Int64(2)}), 400)
	assert.Equal(t, "You may only specify one of these parameters: amount, quantity.", se.Msg)
	assert.Equal(t, "lines[0][amount]", se.Param)

	se = stripeError(t, add(&stripe.InvoiceAddLinesLineParams{
		PriceData: &stripe.InvoiceAddLinesLinePriceDataParams{Product: stripe.String("prod_missing"), UnitAmountDecimal: stripe.Float64(1)},
	}), 400)
	assert.Equal(t, stripe.ErrorCodeResourceMissing, se.Code)
	assert.Equal(t, "lines[0][price_data][product]", se.Param)

	_, err := sc.V1Products.Create(h.ctx, &stripe.ProductCreateParams{ID: stripe.String("prod_seats"), Name: stripe.String("Seats")})
	require.NoError(t, err)
	se = stripeError(t, add(&stripe.InvoiceAddLinesLineParams{
		PriceData: &stripe.InvoiceAddLinesLinePriceDataParams{Product: stripe.String("prod_seats"), UnitAmountDecimal: stripe.Float64(0.0000000000001)},
	}), 400)
	assert.Equal(t, "lines[0][price_data][unit_amount_decimal]", se.Param, "at most 12 decimal places")

	price, err := sc.V1Prices.Create(h.ctx, &stripe.PriceCreateParams{
		Currency: stripe.String("usd"), Product: stripe.String("prod_seats"), UnitAmount: stripe.Int64(1500),
	})
	require.NoError(t, err)
	got := h.addLines(sc, inv.ID, &stripe.InvoiceAddLinesLineParams{
		Pricing: &stripe.InvoiceAddLinesLinePricingParams{Price: stripe.String(price.ID)}, Quantity: stripe.Int64(3),
	})
	assert.Equal(t, int64(4500), got.Lines.Data[0].Amount)
	assert.Equal(t, price.ID, got.Lines.Data[0].Pricing.PriceDetails.Price)

	// Quantity 0 is allowed (zero-quantity lines), and prices lines at 0.
	got = h.addLines(sc, inv.ID, &stripe.InvoiceAddLinesLineParams{
		Pricing: &stripe.InvoiceAddLinesLinePricingParams{Price: stripe.String(price.ID)}, Quantity: stripe.Int64(0),
	})
	assert.Zero(t, got.Lines.Data[1].Amount)
}

// remove_lines deletes an item or unassigns it back to pending, from where add_lines can
// place it on an invoice again.
func TestRemoveLinesDeletesOrUnassignsItems(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	cus := h.customer(sc)
	inv := h.draft(sc, cus.ID)
	inv = h.addLines(sc, inv.ID, amountLine(100, "a"), amountLine(200, "b"))
	a, b := inv.Lines.Data[0], inv.Lines.Data[1]

	_, err := sc.V1Invoices.RemoveLines(h.ctx, inv.ID, &stripe.InvoiceRemoveLinesParams{Lines: []*stripe.InvoiceRemoveLinesLineParams{{ID: stripe.String(a.ID)}}})
	se := stripeError(t, err, 400)
	assert.Equal(t, stripe.ErrorCodeParameterMissing, se.Code)
	assert.Equal(t, "lines[0][behavior]", se.Param)

	inv, err = sc.V1Invoices.RemoveLines(h.ctx, inv.ID, &stripe.InvoiceRemoveLinesParams{Lines: []*stripe.InvoiceRemoveLinesLineParams{
		{ID: stripe.String(a.ID), Behavior: stripe.String("delete")},
		{ID: stripe.String(b.ID), Behavior: stripe.String("unassign")},
	}})
	require.NoError(t, err)
	assert.Empty(t, inv.Lines.Data)
	assert.Zero(t, inv.Total)

	_, err = sc.V1InvoiceItems.Retrieve(h.ctx, a.Parent.InvoiceItemDetails.InvoiceItem, nil)
	stripeError(t, err, 404)
	pending, err := sc.V1InvoiceItems.Retrieve(h.ctx, b.Parent.InvoiceItemDetails.InvoiceItem, nil)
	require.NoError(t, err)
	assert.Nil(t, pending.Invoice)

	other := h.draft(sc, cus.ID)
	other = h.addLines(sc, other.ID, &stripe.InvoiceAddLinesLineParams{InvoiceItem: stripe.String(pending.ID)})
	assert.Equal(t, int64(200), other.Total)
	assert.Equal(t, pending.ID, other.Lines.Data[0].Parent.InvoiceItemDetails.InvoiceItem)

	// Items are picked up at creation only when asked.
	_, err = sc.V1Invoices.RemoveLines(h.ctx, other.ID, &stripe.InvoiceRemoveLinesParams{Lines: []*stripe.InvoiceRemoveLinesLineParams{
		{ID: stripe.String(other.Lines.Data[0].ID), Behavior: stripe.String("unassign")},
	}})
	require.NoError(t, err)
	excluded := h.draft(sc, cus.ID)
	assert.Empty(t, excluded.Lines.Data, "pending items are excluded by default")
	included, err := sc.V1Invoices.Create(h.ctx, &stripe.InvoiceCreateParams{
		Customer: stripe.String(cus.ID), PendingInvoiceItemsBehavior: stripe.String("include"),
	})
	require.NoError(t, err)
	assert.Equal(t, int64(200), included.Total)
}

// Invoices list newest first and filter by customer, status and creation time.
func TestListInvoicesNewestFirstWithFilters(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	acme, other := h.customer(sc), h.customer(sc)
	var ids []string
	for i := range 3 {
		inv := h.draft(sc, acme.ID)
		ids = append(ids, inv.ID)
		if i == 0 {
			h.addLines(sc, inv.ID, amountLine(5000, "fee"))
			_, err := sc.V1Invoices.FinalizeInvoice(h.ctx, inv.ID, nil)
			require.NoError(t, err)
		}
		h.sim.AdvanceClock(time.Hour)
	}
	h.draft(sc, other.ID)

	list := func(p *stripe.InvoiceListParams) []string {
		var out []string
		for inv, err := range sc.V1Invoices.List(h.ctx, p) {
			require.NoError(t, err)
			out = append(out, inv.ID)
		}
		return out
	}
	byAcme := &stripe.InvoiceListParams{Customer: stripe.String(acme.ID)}
	byAcme.Limit = stripe.Int64(1) // pages of one: the iterator follows starting_after
	assert.Equal(t, []string{ids[2], ids[1], ids[0]}, list(byAcme))
	assert.Equal(t, []string{ids[0]}, list(&stripe.InvoiceListParams{Status: stripe.String("open")}))
	assert.Equal(t, []string{ids[2], ids[1]}, list(&stripe.InvoiceListParams{
		Customer: stripe.String(acme.ID), CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: testStart.Unix() + 3600},
	}))

	resp, body := h.raw("GET", "/v1/invoices?status=lost", testKey, "", nil)
	assert.Equal(t, 400, resp.StatusCode)
	assert.Contains(t, body, "Invalid status: must be one of draft, open, void, paid, or uncollectible")
}

// Updating one line through its own endpoint answers the line, and reaches the invoice item
// behind it; tax amounts left out of an update stay as they were.
func TestUpdatingOneLineAnswersTheLineAndKeepsUnmentionedTaxes(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	inv := h.draft(sc, h.customer(sc).ID)
	line := amountLine(1000, "fee")
	line.TaxAmounts = []*stripe.InvoiceAddLinesLineTaxAmountParams{salesTax(60, 1000, 6, "CALIFORNIA", "state")}
	inv = h.addLines(sc, inv.ID, line)
	li, err := sc.V1InvoiceLineItems.Update(h.ctx, inv.Lines.Data[0].ID, &stripe.InvoiceLineItemUpdateParams{
		Invoice: stripe.String(inv.ID), Amount: stripe.Int64(2000), Description: stripe.String("bigger fee"),
	})
	require.NoError(t, err)
	assert.Equal(t, "line_item", li.Object)
	assert.Equal(t, int64(2000), li.Amount)
	require.Len(t, li.Taxes, 1)
	assert.Equal(t, int64(60), li.Taxes[0].Amount)
	item, err := sc.V1InvoiceItems.Retrieve(h.ctx, li.Parent.InvoiceItemDetails.InvoiceItem, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(2000), item.Amount)
	assert.Equal(t, "bigger fee", item.Description)

	// tax_amounts="" removes them.
	inv, err = sc.V1Invoices.UpdateLines(h.ctx, inv.ID, &stripe.InvoiceUpdateLinesParams{Lines: []*stripe.InvoiceUpdateLinesLineParams{{
		ID: stripe.String(li.ID), TaxAmounts: []*stripe.InvoiceUpdateLinesLineTaxAmountParams{},
	}}})
	require.NoError(t, err)
	assert.Empty(t, inv.Lines.Data[0].Taxes)
	assert.Equal(t, int64(2000), inv.Total)

	_, err = sc.V1Invoices.UpdateLines(h.ctx, inv.ID, &stripe.InvoiceUpdateLinesParams{Lines: []*stripe.InvoiceUpdateLinesLineParams{{
		ID: stripe.String("il_nope"), Amount: stripe.Int64(1),
	}}})
	se := stripeError(t, err, 400)
	assert.Equal(t, stripe.ErrorCodeResourceMissing, se.Code)
	assert.Equal(t, "lines[0][id]", se.Param)
}
