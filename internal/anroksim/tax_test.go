package anroksim

import (
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Anrok's documented example, byte for byte: Colorado does not tax SaaS, Denver taxes it
// at its 4.81% local rate, 721.5 is collected as 722.
func TestDenverSaaSLineIsTaxedAtLocalRateOnly(t *testing.T) {
	s, _ := newSim(t, Options{})
	body := post(t, s, pathEphemeral, txnTo(denver(), line("item-1", ProductSaaS1, 15000))).ok(t)

	const want = `{"taxAmountToCollect":722,"preTaxAmount":"15000","lineItems":[{"id":"item-1",` +
		`"taxAmountToCollect":722,"preTaxAmount":"15000","jurises":[` +
		`{"name":"Colorado","taxes":null,"notTaxedReason":{"type":"productNotTaxed"}},` +
		`{"name":"Denver (local)","taxes":[{"taxName":"Tax","taxableAmount":"15000","taxAmount":"721.5","taxRate":"0.0481"}],"notTaxedReason":null}]}],` +
		`"jurisSummaries":[{"name":"Colorado","notTaxedReasons":[{"type":"productNotTaxed"}]},{"name":"Denver (local)","notTaxedReasons":[]}]}`
	assert.JSONEq(t, want, string(body))
	for _, exact := range []string{`"taxAmount":"721.5"`, `"taxRate":"0.0481"`, `"taxableAmount":"15000"`, `"preTaxAmount":"15000"`, `"taxAmountToCollect":722`} {
		assert.Contains(t, string(body), exact)
	}
}

func TestDenverIsPlacedByPostalCodeWhenTheAddressHasNoCity(t *testing.T) {
	s, _ := newSim(t, Options{})
	a := ephemeral(t, s, txnTo(obj{"region": "CO", "postalCode": "80204", "country": "US"}, line("l", ProductSaaS1, 15000)))
	assert.EqualValues(t, 722, a.TaxAmountToCollect)

	// A city decides over the postal code: Aurora is not Denver.
	a = ephemeral(t, s, txnTo(obj{"city": "Aurora", "region": "CO", "postalCode": "80204", "country": "US"}, line("l", ProductSaaS1, 15000)))
	assert.EqualValues(t, 0, a.TaxAmountToCollect)
	require.Len(t, a.LineItems[0].Jurises, 1)
	assert.Equal(t, "Colorado", a.LineItems[0].Jurises[0].Name)
}

// The documented inclusive example: 310.00 tax included backs out to 295.773304.
func TestTaxInclusiveLineBacksOutPreTaxAmountToFourPlaces(t *testing.T) {
	s, _ := newSim(t, Options{})
	a := ephemeral(t, s, txnTo(denver(), inclusive(line("item-2", ProductSaaS1, 31000))))

	l := a.LineItems[0]
	assert.Equal(t, "29577.3304", l.PreTaxAmount)
	assert.Equal(t, "29577.3304", a.PreTaxAmount)
	tax := l.Jurises[1].Taxes[0]
	assert.Equal(t, "29577.3304", tax.TaxableAmount)
	// Each tax is exactly taxableAmount × taxRate.
	assert.Equal(t, "1422.66959224", tax.TaxAmount)
	assert.True(t, decimal.RequireFromString(tax.TaxableAmount).Mul(decimal.RequireFromString(tax.TaxRate)).Equal(decimal.RequireFromString(tax.TaxAmount)))
	assert.EqualValues(t, 1423, l.TaxAmountToCollect)
}

func TestDocumentedMultiLineTransactionAddsUpPreTaxAmounts(t *testing.T) {
	s, _ := newSim(t, Options{})
	a := ephemeral(t, s, txnTo(denver(),
		line("item-1", ProductSaaS1, 15000),
		inclusive(line("item-2", ProductSaaS2, 31000)),
		line("item-3", ProductNotTaxable3, 24000),
	))
	// 15000 + 29577.3304 + 24000, the reference's "68577.3304".
	assert.Equal(t, "68577.3304", a.PreTaxAmount)
	assert.EqualValues(t, 722+1423+0, a.TaxAmountToCollect)
}

func TestLineTaxIsRoundedHalfAwayFromZero(t *testing.T) {
	s, _ := newSim(t, Options{})
	for _, tc := range []struct {
		amount int64
		exact  string
		want   int64
	}{
		{15000, "721.5", 722},
		{-15000, "-721.5", -722}, // a credit rounds away from zero too
		{1040, "50.024", 50},
		{10, "0.481", 0},
		{-10, "-0.481", 0},
	} {
		a := ephemeral(t, s, txnTo(denver(), line("l", ProductSaaS1, tc.amount)))
		assert.Equal(t, tc.exact, a.LineItems[0].Jurises[1].Taxes[0].TaxAmount, "amount %d", tc.amount)
		assert.Equal(t, tc.want, a.LineItems[0].TaxAmountToCollect, "amount %d", tc.amount)
	}
}

// The transaction's tax is the sum of the lines' rounded taxes, not the rounded sum of
// exact taxes: three lines of 0.481 collect 0, not round(1.443) = 1.
func TestTransactionTaxIsTheSumOfRoundedLineTaxes(t *testing.T) {
	s, _ := newSim(t, Options{})
	a := ephemeral(t, s, txnTo(denver(), line("a", ProductSaaS1, 10), line("b", ProductSaaS1, 10), line("c", ProductSaaS1, 10)))
	assert.EqualValues(t, 0, a.TaxAmountToCollect)
}

func TestNegativeLinesAreCredits(t *testing.T) {
	s, _ := newSim(t, Options{})
	a := ephemeral(t, s, txnTo(denver(), line("charge", ProductSaaS1, 15000), line("credit", ProductSaaS1, -5000)))
	assert.EqualValues(t, 722, a.LineItems[0].TaxAmountToCollect)
	assert.EqualValues(t, -241, a.LineItems[1].TaxAmountToCollect) // -240.5
	assert.EqualValues(t, 481, a.TaxAmountToCollect)
	assert.Equal(t, "10000", a.PreTaxAmount)
}

func TestNewYorkCityStacksStateCityAndCommuterDistrictTaxes(t *testing.T) {
	s, _ := newSim(t, Options{})
	a := ephemeral(t, s, txnTo(obj{"line1": "350 5th Ave", "city": "New York", "region": "NY", "postalCode": "10118", "country": "US"}, line("l", ProductSaaS1, 10000)))
	j := a.LineItems[0].Jurises
	require.Len(t, j, 3)
	assert.Equal(t, []string{"New York", "New York City (local)", "Metropolitan Commuter Transportation District (special)"}, []string{j[0].Name, j[1].Name, j[2].Name})
	assert.Equal(t, "400", j[0].Taxes[0].TaxAmount)
	assert.Equal(t, "450", j[1].Taxes[0].TaxAmount)
	assert.Equal(t, "37.5", j[2].Taxes[0].TaxAmount)
	assert.EqualValues(t, 888, a.TaxAmountToCollect) // 887.5
}

func TestSeattleAddsLocalTaxToWashingtonState(t *testing.T) {
	s, _ := newSim(t, Options{})
	a := ephemeral(t, s, txnTo(obj{"city": "Seattle", "region": "WA", "country": "US"}, line("l", ProductSaaS1, 10000)))
	assert.EqualValues(t, 650+385, a.TaxAmountToCollect)
	a = ephemeral(t, s, txnTo(obj{"city": "Spokane", "region": "Washington", "country": "US"}, line("l", ProductSaaS1, 10000)))
	assert.EqualValues(t, 650, a.TaxAmountToCollect)
}

func TestTexasTaxesSaaSOnEightyPercentOfThePrice(t *testing.T) {
	s, _ := newSim(t, Options{})
	a := ephemeral(t, s, txnTo(obj{"city": "Austin", "region": "TX", "country": "US"}, line("l", ProductSaaS1, 10000)))
	j := a.LineItems[0].Jurises
	require.Len(t, j, 2)
	assert.Equal(t, "8000", j[0].Taxes[0].TaxableAmount)
	assert.Equal(t, "500", j[0].Taxes[0].TaxAmount)
	assert.Equal(t, "0.0625", j[0].Taxes[0].TaxRate)
	assert.Equal(t, "160", j[1].Taxes[0].TaxAmount)
	assert.Equal(t, "10000", a.LineItems[0].PreTaxAmount)
	assert.EqualValues(t, 660, a.TaxAmountToCollect)
}

func TestCaliforniaDoesNotTaxSaaS(t *testing.T) {
	s, _ := newSim(t, Options{})
	a := ephemeral(t, s, txnTo(obj{"city": "San Francisco", "region": "CA", "country": "US"}, line("l", ProductSaaS1, 10000)))
	require.Len(t, a.LineItems[0].Jurises, 1)
	j := a.LineItems[0].Jurises[0]
	assert.Nil(t, j.Taxes)
	assert.Equal(t, "productNotTaxed", j.NotTaxedReason.Type)
	assert.EqualValues(t, 0, a.TaxAmountToCollect)
}

func TestOregonHasNoSalesTax(t *testing.T) {
	s, _ := newSim(t, Options{})
	a := ephemeral(t, s, txnTo(obj{"city": "Portland", "region": "OR", "country": "US"}, line("l", ProductSaaS1, 10000)))
	assert.Equal(t, "jurisHasNoTax", a.LineItems[0].Jurises[0].NotTaxedReason.Type)
	// No tax at all outranks the product's category.
	a = ephemeral(t, s, txnTo(obj{"region": "OR", "country": "US"}, line("l", ProductNotTaxable3, 10000)))
	assert.Equal(t, "jurisHasNoTax", a.LineItems[0].Jurises[0].NotTaxedReason.Type)
}

// The simulated seller is registered in every US state by default (Florida simply does
// not tax SaaS); Options.NoNexus takes registrations away. Countries the data file lists
// as notCollecting (Japan) never collect.
func TestStatesWithoutNexusAreNotCollecting(t *testing.T) {
	s, _ := newSim(t, Options{NoNexus: []string{"us-FL", "us-WA"}})
	a := ephemeral(t, s, txnTo(obj{"city": "Miami", "region": "FL", "country": "US"}, line("l", ProductSaaS1, 10000)))
	assert.Equal(t, "Florida", a.LineItems[0].Jurises[0].Name)
	assert.Equal(t, "notCollecting", a.LineItems[0].Jurises[0].NotTaxedReason.Type)
	a = ephemeral(t, s, txnTo(obj{"city": "Seattle", "region": "WA", "country": "US"}, line("l", ProductSaaS1, 10000)))
	require.Len(t, a.LineItems[0].Jurises, 2)
	for _, j := range a.LineItems[0].Jurises {
		assert.Equal(t, "notCollecting", j.NotTaxedReason.Type, "a state without nexus takes its locals along: %s", j.Name)
	}
	a = ephemeral(t, s, txnTo(obj{"country": "JP"}, line("l", ProductSaaS1, 10000)))
	assert.Equal(t, "notCollecting", a.LineItems[0].Jurises[0].NotTaxedReason.Type)

	registered, _ := newSim(t, Options{})
	a = ephemeral(t, registered, txnTo(obj{"city": "Miami", "region": "FL", "country": "US"}, line("l", ProductSaaS1, 10000)))
	assert.Equal(t, "productNotTaxed", a.LineItems[0].Jurises[0].NotTaxedReason.Type)
	assert.Panics(t, func() { New(Options{NoNexus: []string{"us-XX"}}) })
}

func TestNotTaxableProductIsNotTaxedAnywhere(t *testing.T) {
	s, _ := newSim(t, Options{})
	for _, addr := range []obj{denver(), {"city": "Seattle", "region": "WA", "country": "US"}, {"country": "DE"}} {
		a := ephemeral(t, s, txnTo(addr, line("l", ProductNotTaxable3, 10000)))
		for _, j := range a.LineItems[0].Jurises {
			assert.Nil(t, j.Taxes, j.Name)
			assert.Equal(t, "productNotTaxed", j.NotTaxedReason.Type, j.Name)
		}
		assert.EqualValues(t, 0, a.TaxAmountToCollect)
	}
}

func TestVATIsChargedAtTheCustomerCountrysStandardRate(t *testing.T) {
	s, _ := newSim(t, Options{})
	for country, want := range map[string]struct {
		name, rate, tax string
	}{
		"DE": {"Germany", "0.19", "1900"},
		"FR": {"France", "0.2", "2000"},
		"IE": {"Ireland", "0.23", "2300"},
		"NL": {"Netherlands", "0.21", "2100"},
		"GB": {"United Kingdom", "0.2", "2000"},
	} {
		body := txnTo(obj{"country": country}, line("l", ProductSaaS1, 10000))
		body["currencyCode"] = "EUR"
		a := ephemeral(t, s, body)
		j := a.LineItems[0].Jurises[0]
		assert.Equal(t, want.name, j.Name)
		require.Len(t, j.Taxes, 1, country)
		assert.Equal(t, "VAT", j.Taxes[0].TaxName)
		assert.Equal(t, want.rate, j.Taxes[0].TaxRate)
		assert.Equal(t, want.tax, j.Taxes[0].TaxAmount)
	}
}

func TestEUAndUKBusinessCustomersWithATaxIDAreReverseCharged(t *testing.T) {
	s, _ := newSim(t, Options{})
	for _, tc := range []struct{ country, idType, number string }{
		{"DE", "euVrn", "DE123456789"}, {"FR", "genericVatNumber", "FR12345678901"}, {"GB", "genericVatNumber", "GB123456789"},
	} {
		body := txnTo(obj{"country": tc.country}, line("l", ProductSaaS1, 10000))
		body["customerTaxIds"] = []obj{{"type": tc.idType, "value": tc.number}}
		a := ephemeral(t, s, body)
		j := a.LineItems[0].Jurises[0]
		assert.Nil(t, j.Taxes, tc.country)
		require.NotNil(t, j.NotTaxedReason)
		assert.Equal(t, "exempt", j.NotTaxedReason.Type)
		require.NotNil(t, j.NotTaxedReason.Reason)
		assert.Equal(t, "reverseCharge", j.NotTaxedReason.Reason.Type)
		assert.EqualValues(t, 0, a.TaxAmountToCollect)
		assert.Equal(t, "10000", a.PreTaxAmount)
	}
	// A tax id does not reverse-charge US sales tax.
	body := txnTo(denver(), line("l", ProductSaaS1, 15000))
	body["customerTaxIds"] = []obj{{"type": "genericVatNumber", "value": "X1"}}
	assert.EqualValues(t, 722, ephemeral(t, s, body).TaxAmountToCollect)
}

func TestLineItemsComeBackInRequestOrderWithTheirIDs(t *testing.T) {
	s, _ := newSim(t, Options{})
	noID := obj{"productExternalId": ProductSaaS1, "amount": 100}
	a := ephemeral(t, s, txnTo(denver(), line("z", ProductSaaS2, 300), line("a", ProductNotTaxable3, 200), noID, line("m", ProductSaaS1, 100)))
	require.Len(t, a.LineItems, 4)
	assert.Equal(t, "z", *a.LineItems[0].ID)
	assert.Equal(t, "a", *a.LineItems[1].ID)
	assert.Nil(t, a.LineItems[2].ID, "a line sent without id comes back with a null id")
	assert.Equal(t, "m", *a.LineItems[3].ID)
	assert.Equal(t, "300", a.LineItems[0].PreTaxAmount)
}

func TestEmptyLineItemsIsAZeroTaxTransaction(t *testing.T) {
	s, _ := newSim(t, Options{})
	a := ephemeral(t, s, txnTo(denver()))
	assert.Empty(t, a.LineItems)
	assert.EqualValues(t, 0, a.TaxAmountToCollect)
	assert.Equal(t, "0", a.PreTaxAmount)
}

func TestCreateEphemeralSavesNothing(t *testing.T) {
	s, _ := newSim(t, Options{})
	ephemeral(t, s, withID(txnTo(denver(), line("l", ProductSaaS1, 15000)), "stripe:in_1"))
	assert.Empty(t, s.Transactions())
}
