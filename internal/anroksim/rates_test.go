package anroksim

import (
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Anrok's documented example, compared as bytes: the data file must keep Colorado not
// taxing SaaS and Denver taxing it at 4.81% under the name "Tax".
func TestDenverExampleStillReproducesExactly(t *testing.T) {
	s, _ := newSim(t, Options{})
	body := post(t, s, pathEphemeral, txnTo(denver(), line("item-1", ProductSaaS1, 15000))).ok(t)
	const want = `{"taxAmountToCollect":722,"preTaxAmount":"15000","lineItems":[{"id":"item-1",` +
		`"taxAmountToCollect":722,"preTaxAmount":"15000","jurises":[` +
		`{"name":"Colorado","taxes":null,"notTaxedReason":{"type":"productNotTaxed"}},` +
		`{"name":"Denver (local)","taxes":[{"taxName":"Tax","taxableAmount":"15000","taxAmount":"721.5","taxRate":"0.0481"}],"notTaxedReason":null}]}],` +
		`"jurisSummaries":[{"name":"Colorado","notTaxedReasons":[{"type":"productNotTaxed"}]},{"name":"Denver (local)","notTaxedReasons":[]}]}`
	assert.Equal(t, want, string(body))
}

func TestRatesFileSaysItIsASimulationNotTaxAdvice(t *testing.T) {
	header := strings.ToLower(string(jurisdictionsCSV[:strings.Index(string(jurisdictionsCSV), "\nid,")]))
	assert.Contains(t, header, "a simulation for testing, not tax advice")
	assert.Contains(t, header, "approximations as of 2026")
}

var usStatesAndDC = strings.Fields(`AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI
	MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY`)

func TestEveryUSStateHasARate(t *testing.T) {
	require.Len(t, usStatesAndDC, 51)
	noTax := map[string]bool{"AK": true, "DE": true, "MT": true, "NH": true, "OR": true}
	for _, code := range usStatesAndDC {
		j := jurisdictions.byID["us-"+code]
		require.NotNil(t, j, code)
		assert.Equal(t, levelState, j.level, code)
		assert.Equal(t, code, j.region)
		if noTax[code] {
			assert.True(t, j.hasNoTax, "%s has no sales tax", code)
			continue
		}
		assert.True(t, j.rate.IsPositive() && j.rate.LessThan(decimal.RequireFromString("0.1")), "%s rate %s", code, j.rate)
		for _, c := range categoryColumns {
			_, ok := j.rules[c]
			assert.True(t, ok, "%s says nothing of %s", code, c)
		}
	}
	// Placing an address by the state's name works for every state too.
	s, _ := newSim(t, Options{})
	for _, code := range usStatesAndDC {
		name := jurisdictions.byID["us-"+code].name
		a := ephemeral(t, s, txnTo(obj{"region": name, "country": "US"}, line("l", ProductSaaS1, 10000)))
		assert.Equal(t, name, a.LineItems[0].Jurises[0].Name)
	}
}

func TestStatesWithoutSalesTaxAnswerJurisHasNoTax(t *testing.T) {
	s, _ := newSim(t, Options{})
	for _, st := range []string{"AK", "DE", "MT", "NH", "OR"} {
		a := ephemeral(t, s, txnTo(obj{"region": st, "country": "US"}, line("l", ProductSaaS1, 10000)))
		assert.Equal(t, "jurisHasNoTax", a.LineItems[0].Jurises[0].NotTaxedReason.Type, st)
		assert.EqualValues(t, 0, a.TaxAmountToCollect)
	}
}

func TestSaaSTaxabilityFollowsTheStateData(t *testing.T) {
	s, _ := newSim(t, Options{})
	for st, want := range map[string]int64{
		"MA": 625, // taxed at 6.25%
		"PA": 600,
		"FL": 0, // Florida does not tax SaaS
		"GA": 0,
		"CT": 100, // Connecticut taxes SaaS at its own 1% rate
	} {
		a := ephemeral(t, s, txnTo(obj{"region": st, "country": "US"}, line("l", ProductSaaS1, 10000)))
		assert.Equal(t, want, a.TaxAmountToCollect, st)
	}
	a := ephemeral(t, s, txnTo(obj{"region": "CT", "country": "US"}, line("l", ProductSaaS1, 10000)))
	assert.Equal(t, "0.01", a.LineItems[0].Jurises[0].Taxes[0].TaxRate)
}

func TestChicagoTaxesSaaSThoughIllinoisDoesNot(t *testing.T) {
	s, _ := newSim(t, Options{})
	a := ephemeral(t, s, txnTo(obj{"city": "Chicago", "region": "IL", "country": "US", "postalCode": "60601"}, line("l", ProductSaaS1, 10000)))
	j := a.LineItems[0].Jurises
	require.Len(t, j, 2)
	assert.Equal(t, "Illinois", j[0].Name)
	assert.Equal(t, "productNotTaxed", j[0].NotTaxedReason.Type)
	assert.Equal(t, "Chicago (local)", j[1].Name)
	assert.Equal(t, "0.11", j[1].Taxes[0].TaxRate)
	assert.EqualValues(t, 1100, a.TaxAmountToCollect)
}

func TestLocalJurisdictionsStackInDataFileOrder(t *testing.T) {
	s, _ := newSim(t, Options{})
	a := ephemeral(t, s, txnTo(obj{"city": "Phoenix", "region": "AZ", "country": "US"}, line("l", ProductSaaS1, 10000)))
	var names []string
	for _, j := range a.LineItems[0].Jurises {
		names = append(names, j.Name)
	}
	assert.Equal(t, []string{"Arizona", "Maricopa County", "Phoenix (local)"}, names)
	assert.EqualValues(t, 560+70+230, a.TaxAmountToCollect)

	a = ephemeral(t, s, txnTo(obj{"city": "Philadelphia", "region": "PA", "country": "US"}, line("l", ProductSaaS1, 10000)))
	assert.EqualValues(t, 600+200, a.TaxAmountToCollect)
}

func TestProductTaxCategoryDecidesWhereALineIsTaxed(t *testing.T) {
	s, _ := newSim(t, Options{})
	for _, p := range []Product{
		{ExternalID: "ebook", Name: "E-book", TaxCategory: TaxCategory{Type: TaxCategoryStandard, ID: CategoryDigitalGoods}},
		{ExternalID: "consulting", Name: "Consulting", TaxCategory: TaxCategory{Type: TaxCategoryStandard, ID: CategoryProfessionalServices}},
		{ExternalID: "saas-biz", Name: "SaaS for business", TaxCategory: TaxCategory{Type: TaxCategoryStandard, ID: CategorySaaSBusiness}},
	} {
		require.NoError(t, s.AddProduct(p))
	}
	tax := func(addr obj, product string) int64 {
		return ephemeral(t, s, txnTo(addr, line("l", product, 10000))).TaxAmountToCollect
	}
	ny := obj{"region": "NY", "country": "US"}
	hi := obj{"region": "HI", "country": "US"}
	de := obj{"country": "DE"}
	assert.EqualValues(t, 400, tax(ny, ProductSaaS1))
	assert.EqualValues(t, 400, tax(ny, "saas-biz"), "saasBusiness is taxed as SaaS")
	assert.EqualValues(t, 0, tax(ny, "ebook"), "New York does not tax digital goods")
	assert.EqualValues(t, 0, tax(ny, "consulting"))
	assert.EqualValues(t, 400, tax(hi, "consulting"), "Hawaii's excise tax reaches services")
	assert.EqualValues(t, 290, tax(obj{"region": "CO", "country": "US", "city": "Boulder"}, "ebook"), "Colorado taxes digital goods, not SaaS")
	assert.EqualValues(t, 1900, tax(de, "ebook"))
	assert.EqualValues(t, 0, tax(de, "consulting"), "professional services from abroad are not taxed where the consumer is")
}

func TestProductTaxCategoriesListsTheStandardCategories(t *testing.T) {
	s, _ := newSim(t, Options{})
	body := post(t, s, "/v1/seller/productTaxCategories/list", obj{}).ok(t)
	for _, id := range []string{CategorySaaS, CategorySaaSBusiness, CategoryDigitalGoods, CategoryProfessionalServices, CategoryNonTaxable} {
		assert.Contains(t, string(body), `"taxCategoryId":{"type":"standard","id":"`+id+`"}`)
	}
	assert.Contains(t, string(body), `"name":"Software as a service"`)
	post(t, s, "/v1/seller/productTaxCategories/list", "").ok(t)
	assert.Len(t, StandardTaxCategories(), 5)

	// Every listed category can be given to a product.
	for i, c := range StandardTaxCategories() {
		p := obj{"externalId": "p" + string(rune('a'+i)), "name": c.Name, "taxCategoryId": obj{"type": c.TaxCategory.Type, "id": c.TaxCategory.ID}}
		post(t, s, "/v1/seller/products/create", p).ok(t)
	}
}

var euMemberStates = map[string]string{
	"AT": "0.2", "BE": "0.21", "BG": "0.2", "HR": "0.25", "CY": "0.19", "CZ": "0.21", "DK": "0.25",
	"EE": "0.24", "FI": "0.255", "FR": "0.2", "DE": "0.19", "GR": "0.24", "HU": "0.27", "IE": "0.23",
	"IT": "0.22", "LV": "0.21", "LT": "0.21", "LU": "0.17", "MT": "0.18", "NL": "0.21", "PL": "0.23",
	"PT": "0.23", "RO": "0.21", "SK": "0.23", "SI": "0.22", "ES": "0.21", "SE": "0.25",
}

func TestEveryEUMemberStateChargesItsStandardVATRate(t *testing.T) {
	require.Len(t, euMemberStates, 27)
	s, _ := newSim(t, Options{})
	for country, rate := range euMemberStates {
		body := txnTo(obj{"country": country}, line("l", ProductSaaS1, 10000))
		body["currencyCode"] = "EUR"
		a := ephemeral(t, s, body)
		require.Len(t, a.LineItems[0].Jurises, 1, country)
		j := a.LineItems[0].Jurises[0]
		require.Len(t, j.Taxes, 1, country)
		assert.Equal(t, "VAT", j.Taxes[0].TaxName, country)
		assert.Equal(t, rate, j.Taxes[0].TaxRate, country)
		assert.True(t, jurisdictions.byID[strings.ToLower(country)].vat(), "%s reverse-charges businesses", country)
	}
}

func TestReverseChargeNeedsAPlausibleVATNumber(t *testing.T) {
	s, _ := newSim(t, Options{})
	vatOn := func(country, number string) int64 {
		body := txnTo(obj{"country": country}, line("l", ProductSaaS1, 10000))
		body["customerTaxIds"] = []obj{{"type": "genericVatNumber", "value": number}}
		return ephemeral(t, s, body).TaxAmountToCollect
	}
	for country, number := range map[string]string{
		"DE": "DE123456789",
		"FR": "FR 12 345678901", // spaces are ignored
		"AT": "ATU12345678",
		"NL": "NL123456789B01",
		"GR": "EL123456789",
		"IE": "IE1234567WA",
		"ES": "ESX1234567X",
		"GB": "GB123456789",
		"RO": "RO1234",
	} {
		assert.EqualValues(t, 0, vatOn(country, number), "%s %s is reverse-charged", country, number)
	}
	for name, tc := range map[string]struct{ country, number string }{
		"no prefix":             {"DE", "123456789"},
		"too short for France":  {"FR", "FR123456789"},
		"too long for Germany":  {"DE", "DE1234567890"},
		"another country's":     {"FR", "DE123456789"},
		"mostly letters":        {"DE", "DEABCDEFGHI"},
		"not letters or digits": {"DE", "DE12345678!"},
		"a placeholder":         {"DE", "X1"},
	} {
		fullVAT := map[string]int64{"DE": 1900, "FR": 2000}[tc.country]
		assert.Equal(t, fullVAT, vatOn(tc.country, tc.number), "%s: VAT is charged", name)
	}

	// Any plausible number among several will do; euVrn works like genericVatNumber.
	body := txnTo(obj{"country": "IT"}, line("l", ProductSaaS1, 10000))
	body["customerTaxIds"] = []obj{{"type": "genericVatNumber", "value": "nonsense"}, {"type": "euVrn", "value": "IT12345678901"}}
	a := ephemeral(t, s, body)
	assert.EqualValues(t, 0, a.TaxAmountToCollect)
	assert.Equal(t, "reverseCharge", a.LineItems[0].Jurises[0].NotTaxedReason.Reason.Type)
}

func TestUnitedKingdomChargesTwentyPercentVAT(t *testing.T) {
	s, _ := newSim(t, Options{})
	body := txnTo(obj{"country": "GB", "city": "London", "postalCode": "E14 5AB"}, line("l", ProductSaaS1, 30000), line("s", ProductNotTaxable3, 5000))
	body["currencyCode"] = "GBP"
	a := ephemeral(t, s, body)
	assert.EqualValues(t, 6000, a.TaxAmountToCollect)
	assert.Equal(t, "United Kingdom", a.LineItems[0].Jurises[0].Name)
	assert.Equal(t, "0.2", a.LineItems[0].Jurises[0].Taxes[0].TaxRate)
}

func canada(province string) obj {
	return obj{"country": "CA", "region": province, "city": "Somewhere"}
}

func TestQuebecChargesGSTAndQST(t *testing.T) {
	s, _ := newSim(t, Options{})
	for _, region := range []string{"QC", "Quebec", "Québec"} {
		a := ephemeral(t, s, txnTo(canada(region), line("l", ProductSaaS1, 10000)))
		j := a.LineItems[0].Jurises
		require.Len(t, j, 2, region)
		assert.Equal(t, "Canada", j[0].Name)
		assert.Equal(t, "GST", j[0].Taxes[0].TaxName)
		assert.Equal(t, "0.05", j[0].Taxes[0].TaxRate)
		assert.Equal(t, "500", j[0].Taxes[0].TaxAmount)
		assert.Equal(t, "Quebec", j[1].Name)
		assert.Equal(t, "QST", j[1].Taxes[0].TaxName)
		assert.Equal(t, "0.09975", j[1].Taxes[0].TaxRate)
		assert.Equal(t, "997.5", j[1].Taxes[0].TaxAmount)
		assert.EqualValues(t, 1498, a.TaxAmountToCollect) // 1497.5
	}
}

func TestHSTProvincesChargeTheHarmonizedRate(t *testing.T) {
	s, _ := newSim(t, Options{})
	for province, want := range map[string]struct {
		name     string
		part     string
		total    int64
		federal  string
		province string
	}{
		"ON": {"Ontario", "0.08", 1300, "500", "800"},
		"NB": {"New Brunswick", "0.1", 1500, "500", "1000"},
		"NL": {"Newfoundland and Labrador", "0.1", 1500, "500", "1000"},
		"PE": {"Prince Edward Island", "0.1", 1500, "500", "1000"},
		"NS": {"Nova Scotia", "0.09", 1400, "500", "900"},
	} {
		a := ephemeral(t, s, txnTo(canada(province), line("l", ProductSaaS1, 10000)))
		j := a.LineItems[0].Jurises
		require.Len(t, j, 2, province)
		assert.Equal(t, "Canada", j[0].Name)
		assert.Equal(t, "HST", j[0].Taxes[0].TaxName, "Canada's part of the HST is named HST")
		assert.Equal(t, want.federal, j[0].Taxes[0].TaxAmount)
		assert.Equal(t, want.name, j[1].Name)
		assert.Equal(t, "HST", j[1].Taxes[0].TaxName)
		assert.Equal(t, want.part, j[1].Taxes[0].TaxRate)
		assert.Equal(t, want.province, j[1].Taxes[0].TaxAmount)
		assert.Equal(t, want.total, a.TaxAmountToCollect, province)
	}
}

func TestPSTProvincesAddTheirTaxToGST(t *testing.T) {
	s, _ := newSim(t, Options{})
	for province, want := range map[string]struct {
		name, taxName string
		total         int64
	}{
		"BC": {"British Columbia", "PST", 1200},
		"SK": {"Saskatchewan", "PST", 1100},
		"MB": {"Manitoba", "RST", 1200},
	} {
		a := ephemeral(t, s, txnTo(canada(province), line("l", ProductSaaS1, 10000)))
		j := a.LineItems[0].Jurises
		require.Len(t, j, 2)
		assert.Equal(t, "GST", j[0].Taxes[0].TaxName)
		assert.Equal(t, want.name, j[1].Name)
		assert.Equal(t, want.taxName, j[1].Taxes[0].TaxName)
		assert.Equal(t, want.total, a.TaxAmountToCollect, province)
	}
	// Alberta has no provincial tax: GST alone.
	a := ephemeral(t, s, txnTo(canada("AB"), line("l", ProductSaaS1, 10000)))
	assert.EqualValues(t, 500, a.TaxAmountToCollect)
	assert.Equal(t, "jurisHasNoTax", a.LineItems[0].Jurises[1].NotTaxedReason.Type)
}

func TestCanadianAddressNeedsAProvince(t *testing.T) {
	s, _ := newSim(t, Options{})
	for _, addr := range []obj{{"country": "CA", "city": "Toronto"}, {"country": "CA", "region": "Cascadia"}} {
		assert.Equal(t, "customerAddressCouldNotResolve", post(t, s, pathEphemeral, txnTo(addr, line("l", ProductSaaS1, 1))).conflict(t).Type)
	}
	// "CA" as a region without a country is still California.
	a := ephemeral(t, s, txnTo(obj{"region": "CA"}, line("l", ProductSaaS1, 1)))
	assert.Equal(t, "California", a.LineItems[0].Jurises[0].Name)
}

func TestAustraliaChargesTenPercentGST(t *testing.T) {
	s, _ := newSim(t, Options{})
	body := txnTo(obj{"country": "AU", "region": "NSW", "city": "Sydney"}, line("l", ProductSaaS1, 10000))
	body["currencyCode"] = "AUD"
	a := ephemeral(t, s, body)
	require.Len(t, a.LineItems[0].Jurises, 1)
	j := a.LineItems[0].Jurises[0]
	assert.Equal(t, "Australia", j.Name)
	assert.Equal(t, "GST", j.Taxes[0].TaxName)
	assert.Equal(t, "0.1", j.Taxes[0].TaxRate)
	assert.EqualValues(t, 1000, a.TaxAmountToCollect)
}

func TestNoNexusInACountryTakesItsProvincesAlong(t *testing.T) {
	s, _ := newSim(t, Options{NoNexus: []string{"ca"}})
	a := ephemeral(t, s, txnTo(canada("QC"), line("l", ProductSaaS1, 10000)))
	for _, j := range a.LineItems[0].Jurises {
		assert.Equal(t, "notCollecting", j.NotTaxedReason.Type, j.Name)
	}
}

func TestMalformedRatesFilesAreRefused(t *testing.T) {
	const header = "id,level,country,region,name,status,taxName,rate,saas,digitalGoods,professionalServices,cities,postalPrefixes,vatPrefixes,vatLength\n"
	for name, rows := range map[string]string{
		"rate above 1":         "us-ZZ,state,US,ZZ,Zed,taxed,Sales Tax,1.5,1,1,0,,,,\n",
		"unknown status":       "us-ZZ,state,US,ZZ,Zed,maybe,,,,,,,,,\n",
		"bad share":            "us-ZZ,state,US,ZZ,Zed,taxed,Sales Tax,0.05,2,1,0,,,,\n",
		"local without state":  "us-ZZ-x,local,US,ZZ,X (local),taxed,Tax,0.01,1,1,0,x,,,\n",
		"duplicate id":         "gb,country,GB,,UK,taxed,VAT,0.2,1,1,0,,,,\ngb,country,GB,,UK,taxed,VAT,0.2,1,1,0,,,,\n",
		"bad VAT length":       "gb,country,GB,,UK,taxed,VAT,0.2,1,1,0,,,GB,nine\n",
		"country with region":  "gb,country,GB,EN,UK,taxed,VAT,0.2,1,1,0,,,,\n",
		"taxed without a name": "gb,country,GB,,UK,taxed,,0.2,1,1,0,,,,\n",
	} {
		_, err := parseJurisdictions([]byte(header + rows))
		assert.Error(t, err, name)
	}
	_, err := parseJurisdictions([]byte("id,name\n"))
	assert.Error(t, err, "missing columns")
	_, err = parseJurisdictions(jurisdictionsCSV)
	assert.NoError(t, err)
}
