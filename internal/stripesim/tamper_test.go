package stripesim

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v82"
)

// The changes made behind the API's back show through the API as they would in Stripe —
// a forgotten invoice is a 404 and listed nowhere; a quiet void, a changed line — and none
// of them sends an event.
func TestChangesBehindTheAPIsBackSendNoEvent(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	cust := h.customer(sc)
	line := amountLine(15000, "fee")
	line.TaxAmounts = []*stripe.InvoiceAddLinesLineTaxAmountParams{salesTax(722, 15000, 4.81, "DENVER", "city")}
	var ids []string
	for range 3 {
		inv := h.addLines(sc, h.draft(sc, cust.ID).ID, line)
		_, err := sc.V1Invoices.FinalizeInvoice(h.ctx, inv.ID, nil)
		require.NoError(t, err)
		ids = append(ids, inv.ID)
	}
	events := func() int {
		n := 0
		for _, err := range sc.V1Events.List(h.ctx, &stripe.EventListParams{}) {
			require.NoError(t, err)
			n++
		}
		return n
	}
	before := events()

	require.NoError(t, h.sim.ForgetInvoice(ids[0]))
	_, err := sc.V1Invoices.Retrieve(h.ctx, ids[0], nil)
	assert.Equal(t, stripe.ErrorCodeResourceMissing, stripeError(t, err, 404).Code)
	var listed []string
	for inv, err := range sc.V1Invoices.List(h.ctx, &stripe.InvoiceListParams{}) {
		require.NoError(t, err)
		listed = append(listed, inv.ID)
	}
	assert.Equal(t, []string{ids[2], ids[1]}, listed)

	require.NoError(t, h.sim.SetInvoiceStatusQuietly(ids[1], "void"))
	require.NoError(t, h.sim.SetLineAmount(ids[2], 0, 20000))
	require.NoError(t, h.sim.SetLineTax(ids[2], 0, 999))
	voided, err := sc.V1Invoices.Retrieve(h.ctx, ids[1], nil)
	require.NoError(t, err)
	assert.Equal(t, stripe.InvoiceStatusVoid, voided.Status)
	changed, err := sc.V1Invoices.Retrieve(h.ctx, ids[2], nil)
	require.NoError(t, err)
	assert.Equal(t, int64(20000), changed.Subtotal)
	assert.Equal(t, int64(20999), changed.Total)
	require.Len(t, changed.TotalTaxes, 1)
	assert.Equal(t, int64(999), changed.TotalTaxes[0].Amount)
	assert.Equal(t, before, events(), "no event")

	assert.Error(t, h.sim.SetInvoiceStatusQuietly(ids[2], "lost"))
	assert.Error(t, h.sim.SetLineAmount(ids[2], 3, 1))
	assert.Error(t, h.sim.ForgetInvoice(ids[0]), "already forgotten")
}
