// Package money holds taxflow's money rules: the currencies it accepts (with their minor
// units and Stripe's limits) and the one rounding rule used to turn an engine's fractional
// tax into integer minor units. Amounts are int64 minor units; fractions are decimal.Decimal.
// Nothing here is float64.
package money

import "strings"

// Currency is a currency taxflow can invoice in.
type Currency struct {
	// Code is the lower-case ISO 4217 code, as Stripe writes it.
	Code string
	// Exponent is the number of minor-unit digits (2 for USD, 0 for JPY).
	Exponent int32
	// StripeMinimum is Stripe's minimum charge in minor units (0: Stripe documents none).
	StripeMinimum int64
}

// StripeMaxAmount is the largest amount, in minor units, Stripe accepts on an invoice.
const StripeMaxAmount = 99_999_999

// currencies are the currencies both Stripe and Anrok settle that taxflow accepts, with
// Stripe's documented minimum charge amounts.
var currencies = map[string]Currency{}

func init() {
	for _, c := range []Currency{
		{"usd", 2, 50}, {"eur", 2, 50}, {"gbp", 2, 30}, {"aud", 2, 50}, {"cad", 2, 50},
		{"chf", 2, 50}, {"nzd", 2, 50}, {"sgd", 2, 50}, {"inr", 2, 50}, {"brl", 2, 50},
		{"bgn", 2, 100}, {"aed", 2, 200}, {"myr", 2, 200}, {"pln", 2, 200}, {"ron", 2, 200},
		{"dkk", 2, 250}, {"nok", 2, 300}, {"sek", 2, 300}, {"hkd", 2, 400}, {"mxn", 2, 1000},
		{"thb", 2, 1000}, {"czk", 2, 1500}, {"huf", 2, 17500}, {"jpy", 0, 50},
		{"krw", 0, 0}, {"zar", 2, 0}, {"ils", 2, 0}, {"isk", 0, 0}, {"twd", 2, 0},
	} {
		currencies[c.Code] = c
	}
}

// LookupCurrency finds a currency by its ISO code, in any case.
func LookupCurrency(code string) (Currency, bool) {
	c, ok := currencies[strings.ToLower(code)]
	return c, ok
}

// CurrencyCodes lists the accepted codes (for error messages), sorted.
func CurrencyCodes() []string {
	out := make([]string, 0, len(currencies))
	for k := range currencies {
		out = append(out, k)
	}
	sortStrings(out)
	return out
}
