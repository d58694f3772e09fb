package stripesim

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v82"
)

const appDelay = 40 * time.Millisecond

// anrokHarness is a simulator whose accounts have the Anrok Stripe app.
func anrokHarness(t *testing.T, rc *receiver) *harness {
	opts := Options{AutomaticTaxProvider: "anrok", AutomaticTaxDelay: appDelay}
	if rc != nil {
		return webhookHarness(t, rc, opts)
	}
	return newHarness(t, opts)
}

func (h *harness) customerAt(sc *stripe.Client, line1, city, state, postal, country string) *stripe.Customer {
	h.t.Helper()
	c, err := sc.V1Customers.Create(h.ctx, &stripe.CustomerCreateParams{
		Name: stripe.String("Customer in " + city),
		Address: &stripe.AddressParams{Line1: stripe.String(line1), City: stripe.String(city), State: stripe.String(state),
			PostalCode: stripe.String(postal), Country: stripe.String(country)},
	})
	require.NoError(h.t, err)
	return c
}

func (h *harness) denver(sc *stripe.Client) *stripe.Customer {
	return h.customerAt(sc, "1450 Cherokee St", "Denver", "CO", "80204", "US")
}

// automaticDraft is a draft with automatic tax on, as taxflow's stripe_app mode creates it.
func (h *harness) automaticDraft(sc *stripe.Client, customerID string) *stripe.Invoice {
	h.t.Helper()
	inv, err := sc.V1Invoices.Create(h.ctx, &stripe.InvoiceCreateParams{
		Customer: stripe.String(customerID), Currency: stripe.String("usd"), AutoAdvance: stripe.Bool(false),
		AutomaticTax: &stripe.InvoiceCreateAutomaticTaxParams{
			Enabled: stripe.Bool(true), Liability: &stripe.InvoiceCreateAutomaticTaxLiabilityParams{Type: stripe.String("self")},
		},
	})
	require.NoError(h.t, err)
	return inv
}

// waitTax polls the invoice until the app has answered (status not null).
func (h *harness) waitTax(sc *stripe.Client, id string) *stripe.Invoice {
	h.t.Helper()
	var inv *stripe.Invoice
	require.Eventually(h.t, func() bool {
		var err error
		inv, err = sc.V1Invoices.Retrieve(h.ctx, id, nil)
		require.NoError(h.t, err)
		return inv.AutomaticTax.Status != ""
	}, 5*time.Second, 5*time.Millisecond)
	return inv
}

// The app answers after the delay: taxes on every line, total_taxes, status complete, and
// an invoice.updated event saying so.
func TestAnrokAppCompletesAutomaticTaxAfterTheDelay(t *testing.T) {
	rc := newReceiver(t)
	h := anrokHarness(t, rc)
	sc := h.client(testKey)
	started := time.Now()
	inv := h.automaticDraft(sc, h.denver(sc).ID)
	assert.True(t, inv.AutomaticTax.Enabled)
	assert.Equal(t, "anrok", inv.AutomaticTax.Provider)
	assert.Equal(t, stripe.InvoiceAutomaticTaxLiabilityTypeSelf, inv.AutomaticTax.Liability.Type)
	assert.Empty(t, inv.AutomaticTax.Status, "pending: the app has not answered")
	inv = h.addLines(sc, inv.ID, &stripe.InvoiceAddLinesLineParams{
		PriceData: &stripe.InvoiceAddLinesLinePriceDataParams{
			ProductData:       &stripe.InvoiceAddLinesLinePriceDataProductDataParams{Name: stripe.String("Platform")},
			UnitAmountDecimal: stripe.Float64(15000), TaxBehavior: stripe.String("exclusive"),
		},
		Quantity: stripe.Int64(1),
	})
	assert.Empty(t, inv.AutomaticTax.Status)
	assert.Empty(t, inv.TotalTaxes)

	inv = h.waitTax(sc, inv.ID)
	assert.GreaterOrEqual(t, time.Since(started), appDelay)
	assert.Equal(t, stripe.InvoiceAutomaticTaxStatusComplete, inv.AutomaticTax.Status)
	require.Len(t, inv.Lines.Data[0].Taxes, 1)
	tax := inv.Lines.Data[0].Taxes[0]
	assert.Equal(t, int64(722), tax.Amount, "Denver's 4.81% of 15000, rounded half away from zero")
	assert.Equal(t, int64(15000), tax.TaxableAmount)
	assert.Equal(t, stripe.InvoiceLineItemTaxTaxabilityReasonStandardRated, tax.TaxabilityReason)
	assert.Equal(t, int64(15722), inv.Total)
	require.Len(t, inv.TotalTaxes, 1)
	rate, err := sc.V1TaxRates.Retrieve(h.ctx, tax.TaxRateDetails.TaxRate, nil)
	require.NoError(t, err)
	assert.Equal(t, 4.81, rate.Percentage)
	assert.Equal(t, "DENVER", rate.Jurisdiction)
	assert.Equal(t, stripe.TaxRateJurisdictionLevelCity, rate.JurisdictionLevel)

	fin, err := sc.V1Invoices.FinalizeInvoice(h.ctx, inv.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(15722), fin.AmountDue)

	h.flush()
	var complete []stripe.Invoice
	for _, ev := range rc.events(testSecret) {
		if ev.Type != "invoice.updated" {
			continue
		}
		var in stripe.Invoice
		require.NoError(t, json.Unmarshal(ev.Data.Raw, &in))
		if in.AutomaticTax.Status == stripe.InvoiceAutomaticTaxStatusComplete {
			complete = append(complete, in)
			assert.Contains(t, ev.Data.PreviousAttributes, "automatic_tax")
			assert.Empty(t, ev.Request.ID, "the app's update comes from no API request")
		}
	}
	require.NotEmpty(t, complete)
	assert.Equal(t, int64(15722), complete[len(complete)-1].Total)
}

// Every change to the draft's lines restarts the calculation; only the latest answer counts,
// and each answer is another invoice.updated.
func TestAnrokAppRecomputesWhenLinesChange(t *testing.T) {
	rc := newReceiver(t)
	h := anrokHarness(t, rc)
	sc := h.client(testKey)
	inv := h.automaticDraft(sc, h.denver(sc).ID)
	h.addLines(sc, inv.ID, amountLine(10000, "Platform"))
	first := h.waitTax(sc, inv.ID)
	assert.Equal(t, int64(481), first.TotalTaxes[0].Amount)

	again := h.addLines(sc, inv.ID, amountLine(5000, "Seats"))
	assert.Empty(t, again.AutomaticTax.Status, "pending again")
	second := h.waitTax(sc, inv.ID)
	assert.Equal(t, stripe.InvoiceAutomaticTaxStatusComplete, second.AutomaticTax.Status)
	assert.Equal(t, int64(481+241), second.TotalTaxes[0].Amount)
	assert.Equal(t, int64(15722), second.Total)

	// Two quick changes: one answer, for the final lines.
	h.sim.SetAutomaticTaxDelay(300 * time.Millisecond)
	_, err := sc.V1Invoices.RemoveLines(h.ctx, inv.ID, &stripe.InvoiceRemoveLinesParams{Lines: []*stripe.InvoiceRemoveLinesLineParams{
		{ID: stripe.String(second.Lines.Data[1].ID), Behavior: stripe.String("delete")},
	}})
	require.NoError(t, err)
	h.addLines(sc, inv.ID, amountLine(20000, "Enterprise"))
	third := h.waitTax(sc, inv.ID)
	assert.Equal(t, int64(481+962), third.TotalTaxes[0].Amount)
	time.Sleep(400 * time.Millisecond)
	h.flush()

	// One answer per settled set of lines: 10000, then 15000, then 30000 (never the 10000 of
	// the removal alone).
	var totals []int64
	for _, ev := range rc.events(testSecret) {
		var in stripe.Invoice
		if ev.Type == "invoice.updated" && json.Unmarshal(ev.Data.Raw, &in) == nil && in.AutomaticTax.Status == "complete" &&
			len(in.Lines.Data) > 0 {
			totals = append(totals, in.Subtotal)
		}
	}
	assert.Equal(t, []int64{10000, 15000, 30000}, totals)

	// Turning automatic tax off takes the app's taxes away.
	off, err := sc.V1Invoices.Update(h.ctx, inv.ID, &stripe.InvoiceUpdateParams{
		AutomaticTax: &stripe.InvoiceUpdateAutomaticTaxParams{Enabled: stripe.Bool(false)},
	})
	require.NoError(t, err)
	assert.False(t, off.AutomaticTax.Enabled)
	assert.Empty(t, off.TotalTaxes)
	assert.Equal(t, int64(30000), off.Total)
}

// The app can be told never to answer, for one account: its drafts stay pending and cannot
// be finalized (taxes_calculation_failed, invoice.finalization_failed), while other accounts
// go on; once told to answer again, the waiting drafts complete.
func TestAnrokAppCanBeToldNeverToComplete(t *testing.T) {
	rc := newReceiver(t)
	h := anrokHarness(t, rc)
	const otherKey = "sk_test_other_account_wxyz"
	code, body := h.control("PUT", "/_sim/automatic_tax", map[string]any{"account_key": testKey, "outcome": "never"})
	require.Equal(t, http.StatusOK, code, string(body))
	var settings AutomaticTaxSettings
	require.NoError(t, json.Unmarshal(body, &settings))
	assert.Equal(t, AutomaticTaxNeverCompletes, settings.Accounts["sk_test_****abcd"])
	assert.Equal(t, AutomaticTaxCompletes, settings.Outcome)

	sc, other := h.client(testKey), h.client(otherKey)
	inv := h.automaticDraft(sc, h.denver(sc).ID)
	h.addLines(sc, inv.ID, amountLine(10000, "Platform"))
	otherInv := h.automaticDraft(other, h.denver(other).ID)
	h.addLines(other, otherInv.ID, amountLine(10000, "Platform"))
	assert.Equal(t, stripe.InvoiceAutomaticTaxStatusComplete, h.waitTax(other, otherInv.ID).AutomaticTax.Status)

	time.Sleep(5 * appDelay)
	got, err := sc.V1Invoices.Retrieve(h.ctx, inv.ID, nil)
	require.NoError(t, err)
	assert.Empty(t, got.AutomaticTax.Status, "still pending")
	_, err = sc.V1Invoices.FinalizeInvoice(h.ctx, inv.ID, nil)
	assert.Equal(t, stripe.ErrorCodeTaxesCalculationFailed, stripeError(t, err, http.StatusBadRequest).Code)
	got, err = sc.V1Invoices.Retrieve(h.ctx, inv.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, stripe.InvoiceStatusDraft, got.Status)
	require.NotNil(t, got.LastFinalizationError)
	assert.Equal(t, stripe.ErrorCodeTaxesCalculationFailed, got.LastFinalizationError.Code)

	require.NoError(t, h.sim.SetAutomaticTaxOutcome(testKey, ""))
	done := h.waitTax(sc, inv.ID)
	assert.Equal(t, stripe.InvoiceAutomaticTaxStatusComplete, done.AutomaticTax.Status)
	fin, err := sc.V1Invoices.FinalizeInvoice(h.ctx, inv.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(10481), fin.AmountDue)

	h.flush()
	assert.Contains(t, eventTypes(rc.events(testSecret)), "invoice.finalization_failed")
}

// The app can also fail (status failed), which blocks finalization the same way; a customer
// without an address gets requires_location_inputs.
func TestAnrokAppFailuresBlockFinalization(t *testing.T) {
	h := anrokHarness(t, nil)
	require.NoError(t, h.sim.SetAutomaticTaxOutcome("", AutomaticTaxFails))
	assert.Error(t, h.sim.SetAutomaticTaxOutcome("", "sometimes"))
	sc := h.client(testKey)
	inv := h.automaticDraft(sc, h.denver(sc).ID)
	assert.Equal(t, stripe.InvoiceAutomaticTaxStatusFailed, h.waitTax(sc, inv.ID).AutomaticTax.Status)
	_, err := sc.V1Invoices.FinalizeInvoice(h.ctx, inv.ID, nil)
	assert.Equal(t, stripe.ErrorCodeTaxesCalculationFailed, stripeError(t, err, http.StatusBadRequest).Code)

	require.NoError(t, h.sim.SetAutomaticTaxOutcome("", ""))
	nowhere, err := sc.V1Customers.Create(h.ctx, &stripe.CustomerCreateParams{Name: stripe.String("Nowhere")})
	require.NoError(t, err)
	inv = h.automaticDraft(sc, nowhere.ID)
	assert.Equal(t, stripe.InvoiceAutomaticTaxStatusRequiresLocationInputs, h.waitTax(sc, inv.ID).AutomaticTax.Status)
	_, err = sc.V1Invoices.FinalizeInvoice(h.ctx, inv.ID, nil)
	assert.Equal(t, stripe.ErrorCodeCustomerTaxLocationInvalid, stripeError(t, err, http.StatusBadRequest).Code)
}

// The app's rate table is fixed and documented: these are its answers.
func TestAnrokAppAppliesItsDocumentedRateTable(t *testing.T) {
	h := anrokHarness(t, nil)
	sc := h.client(testKey)
	type tax struct {
		amount, taxable int64
		jurisdiction    string
		reason          stripe.InvoiceLineItemTaxTaxabilityReason
	}
	cases := []struct {
		name      string
		customer  *stripe.Customer
		line      *stripe.InvoiceAddLinesLineParams
		want      []tax
		wantTotal int64
	}{
		{"New York City", h.customerAt(sc, "1 Broadway", "New York", "NY", "10004", "US"), amountLine(10000, "x"),
			[]tax{{400, 10000, "NEW YORK", "standard_rated"}, {450, 10000, "NEW YORK CITY", "standard_rated"},
				{38, 10000, "METROPOLITAN COMMUTER TRANSPORTATION DISTRICT", "standard_rated"}}, 10888},
		{"Texas taxes 80%", h.customerAt(sc, "1 Congress Ave", "Austin", "TX", "78701", "US"), amountLine(10000, "x"),
			[]tax{{500, 8000, "TEXAS", "taxable_basis_reduced"}}, 10500},
		{"California is not collected", h.customerAt(sc, "1 Market St", "San Francisco", "CA", "94105", "US"), amountLine(10000, "x"),
			nil, 10000},
		{"Colorado outside Denver", h.customerAt(sc, "1 Main St", "Boulder", "CO", "80302", "US"), amountLine(10000, "x"), nil, 10000},
		{"Ontario HST", h.customerAt(sc, "1 King St", "Toronto", "ON", "M5H 1A1", "CA"), amountLine(10000, "x"),
			[]tax{{1300, 10000, "ONTARIO", "standard_rated"}}, 11300},
		{"UK VAT", h.customerAt(sc, "1 Strand", "London", "", "WC2N 5HR", "GB"), amountLine(10000, "x"),
			[]tax{{2000, 10000, "UNITED KINGDOM", "standard_rated"}}, 12000},
		{"inclusive price in Denver", h.denver(sc), &stripe.InvoiceAddLinesLineParams{
			PriceData: &stripe.InvoiceAddLinesLinePriceDataParams{
				ProductData:       &stripe.InvoiceAddLinesLinePriceDataProductDataParams{Name: stripe.String("Incl")},
				UnitAmountDecimal: stripe.Float64(10481), TaxBehavior: stripe.String("inclusive"),
			}, Quantity: stripe.Int64(1),
		}, []tax{{481, 10000, "DENVER", "standard_rated"}}, 10481},
	}
	exempt, err := sc.V1Customers.Create(h.ctx, &stripe.CustomerCreateParams{
		Name: stripe.String("Exempt"), TaxExempt: stripe.String("exempt"),
		Address: &stripe.AddressParams{City: stripe.String("Denver"), State: stripe.String("CO"), Country: stripe.String("US")},
	})
	require.NoError(t, err)
	cases = append(cases, struct {
		name      string
		customer  *stripe.Customer
		line      *stripe.InvoiceAddLinesLineParams
		want      []tax
		wantTotal int64
	}{"exempt customer", exempt, amountLine(10000, "x"), nil, 10000})

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inv := h.automaticDraft(sc, tc.customer.ID)
			h.addLines(sc, inv.ID, tc.line)
			inv = h.waitTax(sc, inv.ID)
			assert.Equal(t, stripe.InvoiceAutomaticTaxStatusComplete, inv.AutomaticTax.Status)
			var got []tax
			for _, tx := range inv.Lines.Data[0].Taxes {
				rate, err := sc.V1TaxRates.Retrieve(h.ctx, tx.TaxRateDetails.TaxRate, nil)
				require.NoError(t, err)
				got = append(got, tax{tx.Amount, tx.TaxableAmount, rate.Jurisdiction, tx.TaxabilityReason})
			}
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.wantTotal, inv.Total)
		})
	}
}

// The delay and outcome are control settings too.
func TestAutomaticTaxControlEndpoint(t *testing.T) {
	h := anrokHarness(t, nil)
	code, body := h.control("PUT", "/_sim/automatic_tax", map[string]any{"delay": "5ms", "outcome": "never"})
	require.Equal(t, http.StatusOK, code, string(body))
	code, body = h.control("GET", "/_sim/automatic_tax", nil)
	require.Equal(t, http.StatusOK, code)
	var s AutomaticTaxSettings
	require.NoError(t, json.Unmarshal(body, &s))
	assert.Equal(t, Duration(5*time.Millisecond), s.Delay)
	assert.Equal(t, AutomaticTaxNeverCompletes, s.Outcome)
	assert.Equal(t, "anrok", s.Provider)
	code, _ = h.control("PUT", "/_sim/automatic_tax", map[string]any{"outcome": "maybe"})
	assert.Equal(t, http.StatusBadRequest, code)
	code, _ = h.control("PUT", "/_sim/automatic_tax", map[string]any{"delay": "-1s"})
	assert.Equal(t, http.StatusBadRequest, code)
	h.sim.Reset()
	assert.Equal(t, Duration(appDelay), h.sim.AutomaticTax().Delay, "Reset restores the options")
	assert.Equal(t, AutomaticTaxCompletes, h.sim.AutomaticTax().Outcome)
}
