package stripesim

import (
	"maps"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Stripe's limits, as its API enforces them.
const (
	maxMetadataKeys      = 50
	maxMetadataKeyLen    = 40
	maxMetadataValueLen  = 500
	maxCustomFields      = 4
	maxCustomFieldName   = 40
	maxCustomFieldValue  = 140
	maxInvoiceLines      = 250
	maxLineAmount        = 99_999_999 // in the currency's smallest unit: USD 999,999.99
	maxTaxAmountsPerLine = 10
	maxTaxDisplayName    = 200
	maxUnitAmountPlaces  = 12
	maxPercentagePlaces  = 4
)

// minimumCharge is Stripe's minimum charge per currency, in the smallest unit. An invoice
// whose amount due is positive but below it cannot be charged: Stripe marks it paid on
// finalization and carries the amount to the customer's balance, to be added to the next
// invoice. Currencies missing from the table have no minimum in the simulator.
var minimumCharge = map[string]int64{
	"usd": 50, "eur": 50, "aud": 50, "cad": 50, "chf": 50, "nzd": 50, "sgd": 50, "inr": 50, "brl": 50,
	"gbp": 30,
	"bgn": 100,
	"aed": 200, "myr": 200, "pln": 200, "ron": 200,
	"dkk": 250,
	"nok": 300, "sek": 300,
	"hkd": 400,
	"mxn": 1000, "thb": 1000,
	"czk": 1500,
	"huf": 17500,
	"jpy": 50, // zero-decimal: 50 yen
}

// supportedCurrencies are the presentment currencies Stripe accepts.
var supportedCurrencies = func() map[string]bool {
	m := map[string]bool{}
	for c := range strings.FieldsSeq(`usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bif bmd bnd bob
		brl bsd bwp byn bzd cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp gel gip
		gmd gnf gtq gyd hkd hnl htg huf idr ils inr isk jmd jpy kes kgs khr kmf krw kyd kzt lak lbp lkr lrd lsl
		mad mdl mga mkd mmk mnt mop mur mvr mwk mxn myr mzn nad ngn nio nok npr nzd pab pen pgk php pkr pln pyg
		qar ron rsd rub rwf sar sbd scr sek sgd shp sle sos srd std szl thb tjs top try ttd twd tzs uah ugx uyu
		uzs vnd vuv wst xaf xcd xof xpf yer zar zmw`) {
		m[c] = true
	}
	return m
}()

// checkCurrency validates a currency code; Stripe takes them lowercase (and lowercases
// uppercase input, which the simulator does too).
func checkCurrency(value, param string) (string, *apiError) {
	c := strings.ToLower(value)
	if !supportedCurrencies[c] {
		return "", invalidParam("", param, "Invalid currency: %s. Stripe currently supports these currencies: %s",
			value, "usd, eur, gbp, and the other currencies listed at https://stripe.com/docs/currencies")
	}
	return c, nil
}

// applyMetadata merges a metadata parameter into current, following Stripe's rules: a key
// with an empty value is removed, `metadata=` removes every key, and the result may hold at
// most 50 keys of at most 40 characters with values of at most 500.
func applyMetadata(current map[string]string, p *param, path string) (map[string]string, *apiError) {
	out := maps.Clone(current)
	if out == nil {
		out = map[string]string{}
	}
	if p == nil {
		return out, nil
	}
	if p.isEmpty() {
		return map[string]string{}, nil
	}
	keys, values := p.stringMap()
	for _, k := range keys {
		v := values[k]
		keyPath := paramPath(path, k)
		if utf8.RuneCountInString(k) > maxMetadataKeyLen {
			return nil, invalidParam("", keyPath, "Metadata keys can have a maximum length of %d characters. The key %q is too long.", maxMetadataKeyLen, k)
		}
		if utf8.RuneCountInString(v) > maxMetadataValueLen {
			return nil, invalidParam("", keyPath, "Metadata values can have a maximum length of %d characters.", maxMetadataValueLen)
		}
		if v == "" {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	if len(out) > maxMetadataKeys {
		return nil, invalidParam("", path, "Metadata can have a maximum of %d keys; this request would leave %d.", maxMetadataKeys, len(out))
	}
	return out, nil
}

// CustomField is a name/value pair printed on the invoice.
type CustomField struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// parseCustomFields validates custom_fields: at most 4, names of at most 40 characters and
// values of at most 140, both required. `custom_fields=` clears them (nil).
func parseCustomFields(p *param) ([]CustomField, *apiError) {
	if p.isEmpty() {
		return nil, nil
	}
	items := p.items()
	if len(items) > maxCustomFields {
		return nil, invalidParam("", "custom_fields", "Invoices can have at most %d custom fields; got %d.", maxCustomFields, len(items))
	}
	out := make([]CustomField, 0, len(items))
	for i, item := range items {
		base := paramPath("custom_fields", itoa(i))
		name, value := item.strOf("name"), item.strOf("value")
		if !item.has("name") {
			return nil, missingParam(paramPath(base, "name"))
		}
		if !item.has("value") {
			return nil, missingParam(paramPath(base, "value"))
		}
		if name == "" {
			return nil, emptyParam(paramPath(base, "name"))
		}
		if value == "" {
			return nil, emptyParam(paramPath(base, "value"))
		}
		if utf8.RuneCountInString(name) > maxCustomFieldName {
			return nil, invalidParam("", paramPath(base, "name"), "Custom field names can have at most %d characters.", maxCustomFieldName)
		}
		if utf8.RuneCountInString(value) > maxCustomFieldValue {
			return nil, invalidParam("", paramPath(base, "value"), "Custom field values can have at most %d characters.", maxCustomFieldValue)
		}
		out = append(out, CustomField{Name: name, Value: value})
	}
	return out, nil
}

var invoicePrefixPattern = regexp.MustCompile(`^[A-Z0-9]{3,12}$`)

// checkLineAmount enforces Stripe's amount range for one line (or invoice item).
func checkLineAmount(amount int64, param string) *apiError {
	if amount > maxLineAmount {
		return invalidParam("amount_too_large", param,
			"Amount must be no more than %d in the currency's smallest unit (999,999.99 in a two-decimal currency).", maxLineAmount)
	}
	if amount < -maxLineAmount {
		return invalidParam("amount_too_small", param,
			"Amount must be no less than -%d in the currency's smallest unit (-999,999.99 in a two-decimal currency).", maxLineAmount)
	}
	return nil
}
