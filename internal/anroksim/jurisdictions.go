package anroksim

import (
	"strings"

	"github.com/shopspring/decimal"
)

// levy is one tax a jurisdiction charges on SaaS.
type levy struct {
	taxName string
	rate    decimal.Decimal
	// share is the part of the price the jurisdiction taxes: Texas taxes SaaS as a data
	// processing service on 80% of the price; everywhere else it is the whole price.
	share decimal.Decimal
}

// jurisdiction is one taxing authority a line can be sourced to.
type jurisdiction struct {
	id   string
	name string
	// vat marks a VAT country: a business customer with a tax id reverse-charges the VAT.
	vat bool
	// hasNoTax: the jurisdiction levies no sales tax at all (Oregon).
	hasNoTax bool
	// notCollecting: the simulated seller is not registered there, so Anrok computes
	// nothing for it.
	notCollecting bool
	// saas is what the jurisdiction charges on SaaS; empty means it does not tax SaaS
	// (productNotTaxed), like Colorado's state tax or California.
	saas []levy
}

func rate(s string) decimal.Decimal { return decimal.RequireFromString(s) }

var (
	wholePrice = decimal.NewFromInt(1)
	// texasDataProcessingShare: Texas exempts 20% of the price of data processing
	// services, SaaS included, so only 80% is taxable.
	texasDataProcessingShare = rate("0.8")
)

func taxes(name, r string) []levy {
	return []levy{{taxName: name, rate: rate(r), share: wholePrice}}
}

// usLocal is a local jurisdiction (city, special district) inside a state, matched by
// city name or, when the address has no city, by postal-code prefix.
type usLocal struct {
	cities         []string
	postalPrefixes []string
	jurises        []*jurisdiction
}

type usState struct {
	juris  *jurisdiction
	locals []usLocal
}

// usStates is the simulated seller's US footprint. Rates are current published rates for
// SaaS; the Denver figures are the ones Anrok's own documentation works through.
var usStates = map[string]usState{
	// Colorado's state tax does not apply to SaaS, but home-rule Denver taxes it at its
	// 4.81% local rate: the line Anrok's documentation uses as its worked example.
	"CO": {
		juris: &jurisdiction{id: "us-CO", name: "Colorado"},
		locals: []usLocal{{
			cities:         []string{"denver"},
			postalPrefixes: []string{"802"},
			jurises:        []*jurisdiction{{id: "us-CO-denver", name: "Denver (local)", saas: taxes("Tax", "0.0481")}},
		}},
	},
	// New York taxes SaaS as prewritten software: 4% state, 4.5% New York City and the
	// 0.375% Metropolitan Commuter Transportation District surcharge (8.875% in total).
	"NY": {
		juris: &jurisdiction{id: "us-NY", name: "New York", saas: taxes("Sales Tax", "0.04")},
		locals: []usLocal{{
			cities:         []string{"new york", "new york city", "nyc", "manhattan", "brooklyn", "bronx", "the bronx", "queens", "staten island"},
			postalPrefixes: []string{"100", "101", "102", "103", "104", "111", "112", "113", "114", "116"},
			jurises: []*jurisdiction{
				{id: "us-NY-nyc", name: "New York City (local)", saas: taxes("Sales Tax", "0.045")},
				{id: "us-NY-mctd", name: "Metropolitan Commuter Transportation District (special)", saas: taxes("Sales Tax", "0.00375")},
			},
		}},
	},
	// Washington taxes SaaS as a digital automated service: 6.5% state plus local tax.
	"WA": {
		juris: &jurisdiction{id: "us-WA", name: "Washington", saas: taxes("Sales Tax", "0.065")},
		locals: []usLocal{{
			cities:         []string{"seattle"},
			postalPrefixes: []string{"981"},
			jurises:        []*jurisdiction{{id: "us-WA-seattle", name: "Seattle (local)", saas: taxes("Sales Tax", "0.0385")}},
		}},
	},
	// Texas: 6.25% state and 2% Austin local, both on 80% of the price (see
	// texasDataProcessingShare).
	"TX": {
		juris: &jurisdiction{id: "us-TX", name: "Texas", saas: []levy{{taxName: "Sales Tax", rate: rate("0.0625"), share: texasDataProcessingShare}}},
		locals: []usLocal{{
			cities:         []string{"austin"},
			postalPrefixes: []string{"787"},
			jurises:        []*jurisdiction{{id: "us-TX-austin", name: "Austin (local)", saas: []levy{{taxName: "Sales Tax", rate: rate("0.02"), share: texasDataProcessingShare}}}},
		}},
	},
	// California does not tax SaaS (no transfer of tangible personal property).
	"CA": {juris: &jurisdiction{id: "us-CA", name: "California"}},
	// States without a general sales tax.
	"OR": {juris: &jurisdiction{id: "us-OR", name: "Oregon", hasNoTax: true}},
	"DE": {juris: &jurisdiction{id: "us-DE", name: "Delaware", hasNoTax: true}},
	"MT": {juris: &jurisdiction{id: "us-MT", name: "Montana", hasNoTax: true}},
	"NH": {juris: &jurisdiction{id: "us-NH", name: "New Hampshire", hasNoTax: true}},
}

// usStateNames lets an address give its state as a code or a name; a state known here but
// not in usStates is one where the simulated seller has no nexus (notCollecting).
var usStateNames = map[string]string{
	"AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
	"CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
	"FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
	"IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
	"ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
	"MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
	"NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
	"NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon",
	"PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
	"TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia",
	"WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
}

// vatCountries are the countries where the simulated seller is registered for VAT, with
// their standard rates (SaaS is an electronically supplied service, taxed at the standard
// rate where the customer is).
var vatCountries = map[string]*jurisdiction{}

// notCollectingCountries are real countries where the simulated seller is not registered.
var notCollectingCountries = map[string]string{
	"CA": "Canada", "AU": "Australia", "NZ": "New Zealand", "JP": "Japan", "SG": "Singapore",
	"CH": "Switzerland", "NO": "Norway", "IN": "India", "BR": "Brazil", "MX": "Mexico",
}

func init() {
	for _, c := range []struct{ code, name, rate string }{
		{"AT", "Austria", "0.20"}, {"BE", "Belgium", "0.21"}, {"DE", "Germany", "0.19"},
		{"DK", "Denmark", "0.25"}, {"ES", "Spain", "0.21"}, {"FR", "France", "0.20"},
		{"IE", "Ireland", "0.23"}, {"IT", "Italy", "0.22"}, {"NL", "Netherlands", "0.21"},
		{"PL", "Poland", "0.23"}, {"PT", "Portugal", "0.23"}, {"SE", "Sweden", "0.25"},
		// The United Kingdom left the EU but reverse-charges business customers the same way.
		{"GB", "United Kingdom", "0.20"},
	} {
		vatCountries[c.code] = &jurisdiction{id: strings.ToLower(c.code), name: c.name, vat: true, saas: taxes("VAT", c.rate)}
	}
}

// resolveAddress places an address in its jurisdictions, outermost first (state, then
// local). ok is false when Anrok could not place the top-level jurisdiction.
func resolveAddress(a addressInput) (jurises []*jurisdiction, ok bool) {
	country := strings.ToUpper(strings.TrimSpace(a.country))
	state, isUSState := usStateCode(a.region)
	if country == "" && isUSState {
		// Without a country, a recognisable US state is enough to place the address.
		country = "US"
	}
	switch {
	case country == "US":
		if !isUSState {
			return nil, false
		}
		rule, collecting := usStates[state]
		if !collecting {
			return []*jurisdiction{{id: "us-" + state, name: usStateNames[state], notCollecting: true}}, true
		}
		jurises = append(jurises, rule.juris)
		for _, l := range rule.locals {
			if l.matches(a) {
				jurises = append(jurises, l.jurises...)
			}
		}
		return jurises, true
	case vatCountries[country] != nil:
		return []*jurisdiction{vatCountries[country]}, true
	case notCollectingCountries[country] != "":
		return []*jurisdiction{{id: strings.ToLower(country), name: notCollectingCountries[country], notCollecting: true}}, true
	default:
		return nil, false
	}
}

// usStateCode recognises a US state given as its code or its name, in any case.
func usStateCode(region string) (string, bool) {
	r := strings.TrimSpace(region)
	if code := strings.ToUpper(r); usStateNames[code] != "" {
		return code, true
	}
	for code, name := range usStateNames {
		if strings.EqualFold(name, r) {
			return code, true
		}
	}
	return "", false
}

// matches sources an address to the local jurisdiction. The city decides when there is
// one, so a suburb sharing a postal prefix is not taxed as the city; the postal code only
// decides for an address without a city.
func (l usLocal) matches(a addressInput) bool {
	if city := normalizeCity(a.city); city != "" {
		for _, c := range l.cities {
			if c == city {
				return true
			}
		}
		return false
	}
	postal := strings.TrimSpace(a.postalCode)
	for _, p := range l.postalPrefixes {
		if strings.HasPrefix(postal, p) {
			return true
		}
	}
	return false
}

func normalizeCity(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}
