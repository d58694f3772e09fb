package stripesim

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/form"
)

// Stripe's form encoding nests with brackets; lists are indexed (or appended with []).
func TestParseParamsDecodesStripeBracketEncoding(t *testing.T) {
	raw := "lines[0][tax_amounts][0][tax_rate_data][percentage]=4.81" +
		"&lines[0][tax_amounts][0][amount]=481&lines[1][amount]=-5" +
		"&metadata[taxflow_invoice_id]=inv_1&metadata[note]=a%20b%2Bc" +
		"&expand[]=customer&expand[]=lines&description=hello+world"
	p, e := parseParams(raw)
	require.Nil(t, e)
	lines := p.get("lines").items()
	require.Len(t, lines, 2)
	ta := lines[0].get("tax_amounts").items()[0]
	assert.Equal(t, "4.81", ta.get("tax_rate_data").strOf("percentage"))
	n, ok := ta.int64Of("amount")
	assert.True(t, ok)
	assert.Equal(t, int64(481), n)
	n, _ = lines[1].int64Of("amount")
	assert.Equal(t, int64(-5), n)
	_, md := p.get("metadata").stringMap()
	assert.Equal(t, map[string]string{"taxflow_invoice_id": "inv_1", "note": "a b+c"}, md)
	assert.Equal(t, []string{"customer", "lines"}, p.get("expand").strings())
	assert.Equal(t, "hello world", p.strOf("description"))

	// Indices order lists, whatever order they arrive in.
	p, e = parseParams("l[10]=c&l[2]=b&l[0]=a")
	require.Nil(t, e)
	assert.Equal(t, []string{"a", "b", "c"}, p.get("l").strings())

	// An empty value is kept: it means "unset".
	p, e = parseParams("metadata=&tax_amounts=")
	require.Nil(t, e)
	assert.True(t, p.get("metadata").isEmpty())
}

func TestParseParamsRefusesMalformedKeys(t *testing.T) {
	for _, raw := range []string{"a[=1", "a]=1", "[a]=1", "a[b]c=1", "a=1&a[b]=2", "a[b]=2&a=1", "a[][b]=1", "%zz=1"} {
		_, e := parseParams(raw)
		assert.NotNil(t, e, raw)
	}
}

// What stripe-go encodes, the parser reads back: the canonical form is the same whichever
// spelling the client used, which is what idempotency compares.
func TestParseParamsReadsWhatStripeGoEncodes(t *testing.T) {
	params := &stripe.InvoiceAddLinesParams{Lines: []*stripe.InvoiceAddLinesLineParams{{
		Amount: stripe.Int64(100), Metadata: map[string]string{"k": "v"},
		TaxAmounts: []*stripe.InvoiceAddLinesLineTaxAmountParams{salesTax(5, 100, 4.81, "CA", "state")},
	}}}
	params.AddExpand("customer")
	values := &form.Values{}
	form.AppendTo(values, params)
	p, e := parseParams(values.Encode())
	require.Nil(t, e)
	pct, ok := p.get("lines").items()[0].get("tax_amounts").items()[0].get("tax_rate_data").decimalOf("percentage")
	require.True(t, ok)
	assert.Equal(t, "4.81", pct.String())

	a, _ := parseParams("expand[]=customer&customer=cus_1")
	b, _ := parseParams("customer=cus_1&expand[0]=customer")
	assert.Equal(t, a.canonical(), b.canonical())
	c, _ := parseParams("customer=cus_2&expand[0]=customer")
	assert.NotEqual(t, a.canonical(), c.canonical())
	_, err := url.ParseQuery(values.Encode())
	require.NoError(t, err)
}

// The parameter names stripe-go knows are derived from its parameter structs.
func TestKnownParamsComeFromStripeGoParamStructs(t *testing.T) {
	k := knownFrom(stripe.InvoiceCreateParams{})
	assert.True(t, k.has("customer"))
	assert.True(t, k.has("metadata"))
	assert.True(t, k.has("expand"))
	assert.True(t, k.child("automatic_tax").child("liability").has("type"))
	assert.False(t, k.has("colour"))
	l := knownFrom(stripe.InvoiceListParams{})
	assert.True(t, l.child("created").has("gte"))
	assert.True(t, l.has("starting_after"))
	lines := knownFrom(stripe.InvoiceAddLinesParams{}).child("lines").child("*")
	assert.True(t, lines.child("tax_amounts").child("*").child("tax_rate_data").has("percentage"))
}
