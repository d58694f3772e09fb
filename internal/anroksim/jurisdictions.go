package anroksim

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// jurisdictionsCSV is the simulator's jurisdiction data: every US state and DC, a few
// local jurisdictions, Canada and its provinces, Australia, the United Kingdom, the EU and
// the countries where the simulated seller does not collect. The file documents its own
// format; it is a simulation for testing, not tax advice.
//
//go:embed rates/jurisdictions.csv
var jurisdictionsCSV []byte

// Jurisdiction levels and statuses, as the data file writes them.
const (
	levelCountry = "country"
	levelState   = "state"
	levelLocal   = "local"

	statusTaxed         = "taxed"
	statusNoTax         = "noTax"
	statusNotCollecting = "notCollecting"
)

// The data file's columns for the product tax categories that some jurisdiction taxes.
const (
	columnSaaS                 = "saas"
	columnDigitalGoods         = "digitalGoods"
	columnProfessionalServices = "professionalServices"
)

var categoryColumns = []string{columnSaaS, columnDigitalGoods, columnProfessionalServices}

// categoryRule is how a jurisdiction treats one product tax category.
type categoryRule struct {
	// share is the taxable part of the price; zero means the category is not taxed.
	share decimal.Decimal
	// rate is the category's own rate; zero means the jurisdiction's rate.
	rate decimal.Decimal
}

// levy is one tax a jurisdiction charges on a line.
type levy struct {
	taxName string
	rate    decimal.Decimal
	// share is the part of the price the jurisdiction taxes: Texas taxes SaaS as a data
	// processing service on 80% of the price; everywhere else it is the whole price.
	share decimal.Decimal
}

// jurisdiction is one taxing authority a line can be sourced to: one row of the data file.
type jurisdiction struct {
	id      string
	name    string
	level   string
	country string
	region  string
	// parent is the jurisdiction a state (province) or local one belongs to: a local's
	// state, a province's country; nil for a US state and for countries.
	parent *jurisdiction
	// hasNoTax: the jurisdiction levies no sales tax at all (Oregon).
	hasNoTax bool
	// notCollecting: the simulated seller is not registered there, so Anrok computes
	// nothing for it.
	notCollecting bool
	taxName       string
	rate          decimal.Decimal
	// rules are the product tax categories it taxes, by data column; a category without
	// a rule (or with a zero share) is not taxed (productNotTaxed).
	rules map[string]categoryRule
	// cities and postalPrefixes place an address in a local jurisdiction.
	cities         []string
	postalPrefixes []string
	// vatPrefixes and vatMin..vatMax describe a plausible VAT number of a VAT country; a
	// customer holding one is reverse-charged.
	vatPrefixes    []string
	vatMin, vatMax int
	// federal, for a Canadian HST province, is Canada with its 5% named HST: the federal
	// part of the harmonized tax.
	federal *jurisdiction
}

// vat reports a VAT country, where a business customer's VAT number reverse-charges the
// tax.
func (j *jurisdiction) vat() bool { return len(j.vatPrefixes) > 0 }

// usState is the id of the US state whose exemption certificates cover j (the state
// itself and its locals), or "" outside the US.
func (j *jurisdiction) usState() string {
	for x := j; x != nil; x = x.parent {
		if x.country == "US" && x.level == levelState {
			return x.id
		}
	}
	return ""
}

// levyFor is the levy j charges on a product whose category maps to column; false when j
// does not tax it.
func (j *jurisdiction) levyFor(column string) (levy, bool) {
	r, ok := j.rules[column]
	if !ok || r.share.IsZero() {
		return levy{}, false
	}
	rate := j.rate
	if !r.rate.IsZero() {
		rate = r.rate
	}
	return levy{taxName: j.taxName, rate: rate, share: r.share}, true
}

// plausibleVATNumber reports whether value looks like a VAT number of j: one of its
// prefixes, then vatMin..vatMax letters and digits with at most two letters (spaces, dots
// and hyphens ignored). It checks the format only, as a sandbox can: the real service may
// also validate the number with the tax authority.
func (j *jurisdiction) plausibleVATNumber(value string) bool {
	v := strings.ToUpper(strings.NewReplacer(" ", "", ".", "", "-", "").Replace(value))
	for _, p := range j.vatPrefixes {
		rest, ok := strings.CutPrefix(v, p)
		if !ok || len(rest) < j.vatMin || len(rest) > j.vatMax {
			continue
		}
		letters, valid := 0, true
		for _, c := range rest {
			switch {
			case c >= '0' && c <= '9':
			case c >= 'A' && c <= 'Z':
				letters++
			default:
				valid = false
			}
		}
		if valid && letters <= 2 {
			return true
		}
	}
	return false
}

// countryJurisdictions is what the simulator knows of one country.
type countryJurisdictions struct {
	// top is the country-level jurisdiction; nil for the US, whose states are the
	// top-level jurisdictions.
	top *jurisdiction
	// states are the states (provinces) by code; an address in a country that has them
	// must name one.
	states     map[string]*jurisdiction
	stateNames map[string]string // folded name → code
	// locals are the local jurisdictions of each state, in data-file order.
	locals map[string][]*jurisdiction
}

// state finds a state (province) given as its code or its name, in any case.
func (c *countryJurisdictions) state(region string) (*jurisdiction, bool) {
	r := strings.TrimSpace(region)
	if r == "" {
		return nil, false
	}
	if j, ok := c.states[strings.ToUpper(r)]; ok {
		return j, true
	}
	if code, ok := c.stateNames[foldName(r)]; ok {
		return c.states[code], true
	}
	return nil, false
}

// jurisdictionTable is the parsed data file.
type jurisdictionTable struct {
	countries map[string]*countryJurisdictions
	byID      map[string]*jurisdiction
	// all is every jurisdiction in data-file order.
	all []*jurisdiction
}

// jurisdictions is the embedded data. It is parsed once at start-up; the package's tests
// parse it, so a broken file fails the build's tests, not a running sandbox.
var jurisdictions = mustParseJurisdictions(jurisdictionsCSV)

func mustParseJurisdictions(data []byte) *jurisdictionTable {
	t, err := parseJurisdictions(data)
	if err != nil {
		panic(fmt.Sprintf("anroksim: rates/jurisdictions.csv: %v", err))
	}
	return t
}

// parseJurisdictions reads the data file (see its header for the format).
func parseJurisdictions(data []byte) (*jurisdictionTable, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.Comment = '#'
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	col := map[string]int{}
	for i, name := range header {
		col[strings.TrimSpace(name)] = i
	}
	for _, name := range append([]string{"id", "level", "country", "region", "name", "status", "taxName", "rate",
		"cities", "postalPrefixes", "vatPrefixes", "vatLength"}, categoryColumns...) {
		if _, ok := col[name]; !ok {
			return nil, fmt.Errorf("header: no %q column", name)
		}
	}

	t := &jurisdictionTable{countries: map[string]*countryJurisdictions{}, byID: map[string]*jurisdiction{}}
	country := func(code string) *countryJurisdictions {
		c := t.countries[code]
		if c == nil {
			c = &countryJurisdictions{states: map[string]*jurisdiction{}, stateNames: map[string]string{}, locals: map[string][]*jurisdiction{}}
			t.countries[code] = c
		}
		return c
	}
	var locals []*jurisdiction
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		line, _ := r.FieldPos(0)
		field := func(name string) string { return strings.TrimSpace(rec[col[name]]) }
		j, err := parseJurisdiction(field)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if _, dup := t.byID[j.id]; dup {
			return nil, fmt.Errorf("line %d: duplicate id %q", line, j.id)
		}
		c := country(j.country)
		switch j.level {
		case levelCountry:
			if c.top != nil {
				return nil, fmt.Errorf("line %d: a second country row for %s", line, j.country)
			}
			c.top = j
		case levelState:
			if c.states[j.region] != nil {
				return nil, fmt.Errorf("line %d: a second row for %s-%s", line, j.country, j.region)
			}
			c.states[j.region] = j
			c.stateNames[foldName(j.name)] = j.region
		case levelLocal:
			locals = append(locals, j)
		}
		t.byID[j.id] = j
		t.all = append(t.all, j)
	}

	for _, c := range t.countries {
		for _, st := range c.states {
			st.parent = c.top
			if st.taxName == "HST" && c.top != nil {
				federal := *c.top
				federal.taxName = "HST"
				st.federal = &federal
			}
		}
	}
	for _, l := range locals {
		st := t.countries[l.country].states[l.region]
		if st == nil {
			return nil, fmt.Errorf("local %s: no state row for %s-%s", l.id, l.country, l.region)
		}
		l.parent = st
		t.countries[l.country].locals[l.region] = append(t.countries[l.country].locals[l.region], l)
	}
	for code, c := range t.countries {
		if c.top == nil && len(c.states) == 0 {
			return nil, fmt.Errorf("country %s has locals but neither a country nor a state row", code)
		}
	}
	return t, nil
}

func parseJurisdiction(field func(string) string) (*jurisdiction, error) {
	j := &jurisdiction{
		id:      field("id"),
		level:   field("level"),
		country: strings.ToUpper(field("country")),
		region:  strings.ToUpper(field("region")),
		name:    field("name"),
		taxName: field("taxName"),
		rules:   map[string]categoryRule{},
	}
	switch {
	case j.id == "" || j.name == "":
		return nil, errors.New("id and name are required")
	case len(j.country) != 2:
		return nil, fmt.Errorf("%s: country %q is not a two-letter code", j.id, j.country)
	case j.level != levelCountry && j.level != levelState && j.level != levelLocal:
		return nil, fmt.Errorf("%s: unknown level %q", j.id, j.level)
	case (j.level == levelCountry) != (j.region == ""):
		return nil, fmt.Errorf("%s: a country row has no region, other rows have one", j.id)
	}

	switch status := field("status"); status {
	case statusTaxed:
		rate, err := parseRate(field("rate"))
		if err != nil {
			return nil, fmt.Errorf("%s: rate: %w", j.id, err)
		}
		if j.taxName == "" {
			return nil, fmt.Errorf("%s: a taxed jurisdiction needs a taxName", j.id)
		}
		j.rate = rate
		for _, c := range categoryColumns {
			rule, err := parseCategoryRule(field(c))
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", j.id, c, err)
			}
			j.rules[c] = rule
		}
	case statusNoTax:
		j.hasNoTax = true
	case statusNotCollecting:
		j.notCollecting = true
	default:
		return nil, fmt.Errorf("%s: unknown status %q", j.id, status)
	}

	j.cities = splitList(field("cities"), normalizeCity)
	j.postalPrefixes = splitList(field("postalPrefixes"), strings.TrimSpace)
	if j.level == levelLocal && len(j.cities) == 0 && len(j.postalPrefixes) == 0 {
		return nil, fmt.Errorf("%s: a local jurisdiction needs cities or postal prefixes", j.id)
	}
	j.vatPrefixes = splitList(field("vatPrefixes"), strings.ToUpper)
	if len(j.vatPrefixes) > 0 {
		lo, hi, ok := strings.Cut(field("vatLength"), "-")
		if !ok {
			hi = lo
		}
		var err1, err2 error
		j.vatMin, err1 = strconv.Atoi(lo)
		j.vatMax, err2 = strconv.Atoi(hi)
		if err1 != nil || err2 != nil || j.vatMin < 1 || j.vatMax < j.vatMin {
			return nil, fmt.Errorf("%s: vatLength %q is not N or N-M", j.id, field("vatLength"))
		}
	}
	return j, nil
}

func parseRate(s string) (decimal.Decimal, error) {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Zero, fmt.Errorf("%q is not a decimal", s)
	}
	if !d.IsPositive() || d.GreaterThanOrEqual(decimal.NewFromInt(1)) {
		return decimal.Zero, fmt.Errorf("%s is not a rate between 0 and 1", s)
	}
	return d, nil
}

// parseCategoryRule reads a category cell: "share" or "share@rate".
func parseCategoryRule(s string) (categoryRule, error) {
	shareText, rateText, hasRate := strings.Cut(s, "@")
	share, err := decimal.NewFromString(shareText)
	if err != nil || share.IsNegative() || share.GreaterThan(decimal.NewFromInt(1)) {
		return categoryRule{}, fmt.Errorf("%q is not a share between 0 and 1", s)
	}
	r := categoryRule{share: share}
	if hasRate {
		if r.rate, err = parseRate(rateText); err != nil {
			return categoryRule{}, err
		}
	}
	return r, nil
}

func splitList(s string, norm func(string) string) []string {
	var out []string
	for _, part := range strings.Split(s, "|") {
		if p := norm(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// resolve places an address in its jurisdictions, outermost first: the country (where it
// has a country-level tax), the state or province, then the matching locals. ok is false
// when Anrok could not place the top-level jurisdiction: an unknown country, or a country
// with states (the US, Canada) and no recognisable state.
func (t *jurisdictionTable) resolve(a addressInput) (jurises []*jurisdiction, ok bool) {
	country := strings.ToUpper(strings.TrimSpace(a.country))
	if country == "" {
		// Without a country, a recognisable US state is enough to place the address.
		if _, isUS := t.countries["US"].state(a.region); isUS {
			country = "US"
		}
	}
	c := t.countries[country]
	if c == nil {
		return nil, false
	}
	if len(c.states) == 0 {
		return []*jurisdiction{c.top}, true
	}
	st, ok := c.state(a.region)
	if !ok {
		return nil, false
	}
	switch {
	case st.federal != nil:
		jurises = append(jurises, st.federal)
	case c.top != nil:
		jurises = append(jurises, c.top)
	}
	jurises = append(jurises, st)
	for _, l := range c.locals[st.region] {
		if l.matches(a) {
			jurises = append(jurises, l)
		}
	}
	return jurises, true
}

// matches sources an address to a local jurisdiction. The city decides when there is
// one, so a suburb sharing a postal prefix is not taxed as the city; the postal code only
// decides for an address without a city.
func (j *jurisdiction) matches(a addressInput) bool {
	if city := normalizeCity(a.city); city != "" {
		for _, c := range j.cities {
			if c == city {
				return true
			}
		}
		return false
	}
	postal := strings.TrimSpace(a.postalCode)
	for _, p := range j.postalPrefixes {
		if strings.HasPrefix(postal, p) {
			return true
		}
	}
	return false
}

func normalizeCity(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

// foldName compares place names loosely: case, spacing and the accents of "Québec".
func foldName(s string) string {
	return accentFolder.Replace(normalizeCity(s))
}

var accentFolder = strings.NewReplacer("é", "e", "è", "e", "ê", "e", "à", "a", "ô", "o", "î", "i", "ç", "c")
