package stripesim

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"
)

// The Anrok Stripe app: automatic tax computed by a third-party app (automatic_tax.provider
// "anrok"), the way taxflow's stripe_app tax mode sees it:
//
//   - an invoice created (or updated) with automatic_tax[enabled]=true starts with
//     automatic_tax.status null: the app has not answered yet;
//   - after the delay (Options.AutomaticTaxDelay, SetAutomaticTaxDelay, PUT /_sim/automatic_tax)
//     the app writes taxes onto every line and sets status "complete", which Stripe reports
//     with an invoice.updated event (there is no dedicated "tax done" event);
//   - any change to the draft's lines (add_lines, update_lines, remove_lines, a line or
//     invoice item update, an item created onto the draft) sets status back to null and starts
//     a new calculation; only the latest one counts;
//   - a customer without an address country gets status "requires_location_inputs";
//   - the app can be told never to answer (status stays null) or to fail (status "failed"),
//     for every account or one account (SetAutomaticTaxOutcome);
//   - finalizing while the status is not "complete" fails the way Stripe fails a finalization
//     it cannot compute tax for: 400 taxes_calculation_failed (customer_tax_location_invalid
//     for requires_location_inputs), the invoice stays a draft with last_finalization_error,
//     and an invoice.finalization_failed event is sent. Finalizing again once the app has
//     answered succeeds.

// DefaultAutomaticTaxDelay is how long the simulated Anrok app takes when
// Options.AutomaticTaxDelay is 0.
const DefaultAutomaticTaxDelay = 200 * time.Millisecond

// providerAnrok is automatic_tax.provider for the Anrok Stripe app.
const providerAnrok = "anrok"

// Automatic-tax statuses.
const (
	autoTaxPending               = "" // rendered null: the third-party app has not answered
	autoTaxComplete              = "complete"
	autoTaxFailed                = "failed"
	autoTaxRequiresLocationInput = "requires_location_inputs"
)

// AutomaticTaxOutcome says how the simulated Anrok app's calculations end.
type AutomaticTaxOutcome string

const (
	// AutomaticTaxCompletes: the app computes the tax after the delay (status "complete").
	AutomaticTaxCompletes AutomaticTaxOutcome = "complete"
	// AutomaticTaxNeverCompletes: the app never answers; status stays null, so finalization
	// keeps failing until the outcome changes. Changing it back resumes the calculations.
	AutomaticTaxNeverCompletes AutomaticTaxOutcome = "never"
	// AutomaticTaxFails: the app answers with a failure (status "failed").
	AutomaticTaxFails AutomaticTaxOutcome = "failed"
)

func (o AutomaticTaxOutcome) valid() bool {
	switch o {
	case AutomaticTaxCompletes, AutomaticTaxNeverCompletes, AutomaticTaxFails:
		return true
	}
	return false
}

// anrokApp holds the simulated app's settings.
type anrokApp struct {
	mu             sync.Mutex
	optsDelay      time.Duration
	optsOutcome    AutomaticTaxOutcome
	delay          time.Duration
	outcome        AutomaticTaxOutcome
	accountOutcome map[string]AutomaticTaxOutcome // by API key
}

func newAnrokApp(opts Options) *anrokApp {
	a := &anrokApp{optsDelay: opts.AutomaticTaxDelay, optsOutcome: opts.AutomaticTaxOutcome}
	if a.optsDelay <= 0 {
		a.optsDelay = DefaultAutomaticTaxDelay
	}
	if a.optsOutcome == "" {
		a.optsOutcome = AutomaticTaxCompletes
	}
	a.reset()
	return a
}

func (a *anrokApp) reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.delay, a.outcome, a.accountOutcome = a.optsDelay, a.optsOutcome, map[string]AutomaticTaxOutcome{}
}

func (a *anrokApp) currentDelay() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.delay
}

func (a *anrokApp) outcomeFor(key string) AutomaticTaxOutcome {
	a.mu.Lock()
	defer a.mu.Unlock()
	if o, ok := a.accountOutcome[key]; ok {
		return o
	}
	return a.outcome
}

// AutomaticTaxSettings is the simulated Anrok app's configuration, as
// GET /_sim/automatic_tax shows it.
type AutomaticTaxSettings struct {
	Provider string              `json:"provider"`
	Delay    Duration            `json:"delay"`
	Outcome  AutomaticTaxOutcome `json:"outcome"`
	// Accounts are the per-account outcomes, by redacted key.
	Accounts map[string]AutomaticTaxOutcome `json:"accounts"`
}

// AutomaticTax returns the automatic-tax settings.
func (s *Server) AutomaticTax() AutomaticTaxSettings {
	a := s.tax
	a.mu.Lock()
	defer a.mu.Unlock()
	out := AutomaticTaxSettings{
		Provider: s.opts.AutomaticTaxProvider, Delay: Duration(a.delay), Outcome: a.outcome,
		Accounts: map[string]AutomaticTaxOutcome{},
	}
	for k, o := range a.accountOutcome {
		out.Accounts[RedactKey(k)] = o
	}
	return out
}

// SetAutomaticTaxDelay changes how long the Anrok app takes for calculations started from now
// on; 0 restores the delay Options configured.
func (s *Server) SetAutomaticTaxDelay(d time.Duration) {
	s.tax.mu.Lock()
	if d <= 0 {
		d = s.tax.optsDelay
	}
	s.tax.delay = d
	s.tax.mu.Unlock()
}

// SetAutomaticTaxOutcome sets how the Anrok app's calculations end for the account whose
// secret key is accountKey, or with accountKey "" for every account without its own setting.
// An empty outcome removes an account's own setting (or, for "", restores Options'). Drafts
// waiting on an app that never answered are calculated again (after the delay) when their
// outcome changes.
func (s *Server) SetAutomaticTaxOutcome(accountKey string, o AutomaticTaxOutcome) error {
	if o != "" && !o.valid() {
		return fmt.Errorf("automatic tax outcome must be %q, %q or %q, got %q",
			AutomaticTaxCompletes, AutomaticTaxNeverCompletes, AutomaticTaxFails, o)
	}
	a := s.tax
	a.mu.Lock()
	switch {
	case accountKey == "" && o == "":
		a.outcome = a.optsOutcome
	case accountKey == "":
		a.outcome = o
	case o == "":
		delete(a.accountOutcome, accountKey)
	default:
		a.accountOutcome[accountKey] = o
	}
	a.mu.Unlock()
	// Wake the drafts still waiting: the app "recovers" with the new outcome.
	for _, acct := range s.allAccounts() {
		if accountKey != "" && acct.key != accountKey {
			continue
		}
		if s.tax.outcomeFor(acct.key) == AutomaticTaxNeverCompletes {
			continue
		}
		acct.mu.Lock()
		for _, inv := range acct.invoices.oldestFirst() {
			if usesAnrokApp(inv) && !inv.deleted && inv.status == statusDraft && inv.automaticTax.status == autoTaxPending {
				s.scheduleAutomaticTax(acct, inv.id, inv.taxGen)
			}
		}
		acct.mu.Unlock()
	}
	return nil
}

// usesAnrokApp reports whether an invoice's tax is computed by the simulated Anrok app.
func usesAnrokApp(inv *invoice) bool {
	return inv.automaticTax.enabled && inv.automaticTax.provider == providerAnrok
}

// automaticTaxChanged restarts the app's calculation of a draft whose automatic tax or lines
// changed: the status is null (pending) until the new calculation ends.
func (c *call) automaticTaxChanged(inv *invoice) {
	if !usesAnrokApp(inv) || inv.status != statusDraft {
		return
	}
	inv.automaticTax.status = autoTaxPending
	inv.taxGen++
	c.s.scheduleAutomaticTax(c.acct, inv.id, inv.taxGen)
}

func (s *Server) scheduleAutomaticTax(acct *account, invoiceID string, gen int64) {
	epoch := s.epoch.Load()
	time.AfterFunc(s.tax.currentDelay(), func() { s.runAutomaticTax(acct, invoiceID, gen, epoch) })
}

// runAutomaticTax is the app answering: it computes the taxes of the draft if the
// calculation is still the latest one, and reports the result with invoice.updated.
func (s *Server) runAutomaticTax(acct *account, invoiceID string, gen, epoch int64) {
	if s.closed.Load() || s.epoch.Load() != epoch {
		return
	}
	outcome := s.tax.outcomeFor(acct.key)
	if outcome == AutomaticTaxNeverCompletes {
		return
	}
	acct.mu.Lock()
	defer acct.mu.Unlock()
	inv, ok := acct.invoices.get(invoiceID)
	if !ok || inv.deleted || inv.status != statusDraft || !usesAnrokApp(inv) || inv.taxGen != gen {
		return
	}
	c := s.backgroundCall(acct)
	before := c.renderInvoice(inv)
	if outcome == AutomaticTaxFails {
		inv.automaticTax.status = autoTaxFailed
	} else {
		c.computeAnrokTax(inv)
	}
	c.emit("invoice.updated", c.renderInvoice(inv), before)
}

// backgroundCall is the context of work the simulator does on its own (the tax app, control
// actions): no HTTP request, so its events carry a null request.
func (s *Server) backgroundCall(acct *account) *call {
	return &call{s: s, acct: acct, params: &param{}, now: s.now()}
}

// computeAnrokTax writes the app's taxes onto every line of a draft.
func (c *call) computeAnrokTax(inv *invoice) {
	cust, ok := c.acct.customers.get(inv.customer)
	if !ok || cust.address == nil || cust.address.Country == "" {
		inv.automaticTax.status = autoTaxRequiresLocationInput
		return
	}
	juris := anrokJurisdictions(cust)
	for _, l := range inv.lines {
		l.taxes = c.anrokLineTaxes(l.item, juris)
	}
	inv.automaticTax.status = autoTaxComplete
}

// anrokJurisdiction is one tax the simulated app charges at an address.
type anrokJurisdiction struct {
	name, level, taxType, display string
	percentage                    decimal.Decimal
	basis                         int64 // percent of the line amount that is taxable
	country, state                string
}

// anrokJurisdictions is the simulated app's rate table for software sold as a service. It is
// deliberately small and fixed, so results are deterministic (the package documentation
// lists it). Exempt and reverse-charge customers, and places the app does not collect in,
// get no tax.
func anrokJurisdictions(cust *customer) []anrokJurisdiction {
	if cust.taxExempt == "exempt" || cust.taxExempt == "reverse" {
		return nil
	}
	a := cust.address
	country, state := strings.ToUpper(a.Country), strings.ToUpper(a.State)
	city := strings.ToLower(strings.TrimSpace(a.City))
	j := func(name, level, taxType, display, pct string, basis int64) anrokJurisdiction {
		return anrokJurisdiction{name: name, level: level, taxType: taxType, display: display,
			percentage: decimal.RequireFromString(pct), basis: basis, country: country, state: state}
	}
	salesTax := func(name, level, pct string) anrokJurisdiction {
		return j(name, level, "sales_tax", "Sales Tax", pct, 100)
	}
	switch country {
	case "US":
		switch state {
		case "CO":
			// Colorado does not tax SaaS; Denver does.
			if city == "denver" {
				return []anrokJurisdiction{salesTax("DENVER", "city", "4.81")}
			}
		case "NY":
			out := []anrokJurisdiction{salesTax("NEW YORK", "state", "4")}
			if city == "new york" || city == "new york city" {
				out = append(out, salesTax("NEW YORK CITY", "city", "4.5"),
					salesTax("METROPOLITAN COMMUTER TRANSPORTATION DISTRICT", "district", "0.375"))
			}
			return out
		case "WA":
			return []anrokJurisdiction{salesTax("WASHINGTON", "state", "6.5")}
		case "PA":
			return []anrokJurisdiction{salesTax("PENNSYLVANIA", "state", "6")}
		case "TX":
			// Texas taxes 80% of the price of data processing services.
			return []anrokJurisdiction{j("TEXAS", "state", "sales_tax", "Sales Tax", "6.25", 80)}
		}
		return nil
	case "CA":
		if state == "ON" {
			return []anrokJurisdiction{j("ONTARIO", "state", "hst", "HST", "13", 100)}
		}
		return []anrokJurisdiction{j("CANADA", "country", "gst", "GST", "5", 100)}
	case "AU":
		return []anrokJurisdiction{j("AUSTRALIA", "country", "gst", "GST", "10", 100)}
	}
	if vat, ok := anrokVAT[country]; ok {
		return []anrokJurisdiction{j(vat.name, "country", "vat", "VAT", vat.rate, 100)}
	}
	return nil
}

var anrokVAT = map[string]struct{ name, rate string }{
	"GB": {"UNITED KINGDOM", "20"}, "DE": {"GERMANY", "19"}, "FR": {"FRANCE", "20"},
	"NL": {"NETHERLANDS", "21"}, "IE": {"IRELAND", "23"},
}

// anrokLineTaxes computes one line's taxes. Exclusive prices (and unspecified ones, which the
// app treats as exclusive) are taxed on top: tax = round(taxable × rate), taxable =
// round(amount × basis). Inclusive prices contain the tax: the pre-tax amount is
// round(amount / (1 + Σ rate × basis)), and the difference is shared among the taxes in
// proportion to their rates, the last one taking the rounding remainder. Rounding is half
// away from zero, in the smallest currency unit.
// Untaxed lines carry no tax entries.
func (c *call) anrokLineTaxes(it *invoiceItem, juris []anrokJurisdiction) []lineTax {
	if len(juris) == 0 {
		return nil
	}
	inclusive := it.taxBehavior == "inclusive"
	amount := decimal.NewFromInt(it.amount)
	hundred := decimal.NewFromInt(100)
	out := make([]lineTax, 0, len(juris))
	rate := func(jd anrokJurisdiction) *taxRate {
		return c.taxRateFor(taxRateData{
			displayName: jd.display, inclusive: inclusive, percentage: jd.percentage, jurisdiction: jd.name,
			jurisdictionLevel: jd.level, taxType: jd.taxType, country: jd.country, state: jd.state,
		})
	}
	reason := func(jd anrokJurisdiction) string {
		if jd.basis < 100 {
			return "taxable_basis_reduced"
		}
		return "standard_rated"
	}
	if !inclusive {
		for _, jd := range juris {
			taxable := amount.Mul(decimal.NewFromInt(jd.basis)).Div(hundred).Round(0)
			tax := taxable.Mul(jd.percentage).Div(hundred).Round(0)
			out = append(out, lineTax{amount: tax.IntPart(), taxableAmount: taxable.IntPart(), taxabilityReason: reason(jd), rate: rate(jd)})
		}
		return out
	}
	weights := make([]decimal.Decimal, len(juris))
	total := decimal.Zero
	for i, jd := range juris {
		weights[i] = jd.percentage.Mul(decimal.NewFromInt(jd.basis)).Div(hundred)
		total = total.Add(weights[i])
	}
	pretax := amount.Mul(hundred).Div(hundred.Add(total)).Round(0)
	taxTotal := amount.Sub(pretax)
	left := taxTotal
	for i, jd := range juris {
		tax := left
		if i < len(juris)-1 && !total.IsZero() {
			tax = taxTotal.Mul(weights[i]).Div(total).Round(0)
			left = left.Sub(tax)
		}
		taxable := pretax.Mul(decimal.NewFromInt(jd.basis)).Div(hundred).Round(0)
		out = append(out, lineTax{amount: tax.IntPart(), taxableAmount: taxable.IntPart(), taxabilityReason: reason(jd), rate: rate(jd)})
	}
	return out
}
