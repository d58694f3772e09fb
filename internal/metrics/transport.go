package metrics

import (
	"net/http"
	"strings"
	"time"
)

// Transport wraps next (http.DefaultTransport when nil) so that every request through it is
// recorded under provider: its duration until the response headers arrive, its normalized
// path as operation, its status (or "error"), and a 429 as a rate-limited answer. The
// response and error are passed through untouched. On a nil Metrics it returns next.
func (m *Metrics) Transport(provider string, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	if m == nil {
		return next
	}
	return &transport{m: m, provider: provider, next: next}
}

// InstrumentClient returns a copy of c (a new client when c is nil) whose transport is
// c's wrapped by Transport(provider, ...); its timeout, redirect policy and cookie jar are
// c's. On a nil Metrics it returns c itself.
func (m *Metrics) InstrumentClient(provider string, c *http.Client) *http.Client {
	if m == nil {
		return c
	}
	var cp http.Client
	if c != nil {
		cp = *c
	}
	cp.Transport = m.Transport(provider, cp.Transport)
	return &cp
}

type transport struct {
	m        *Metrics
	provider string
	next     http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	path := ""
	if req.URL != nil {
		path = req.URL.EscapedPath()
	}
	t.m.ObserveProviderRequest(t.provider, path, status, err, time.Since(start))
	return resp, err
}

// stripeCollections are Stripe API collections: in a Stripe path, the segment after one of
// them is an object's id (/v1/products/{id}), unless it is one of stripeActions.
var stripeCollections = map[string]bool{
	"accounts": true, "balance_transactions": true, "charges": true, "coupons": true,
	"credit_notes": true, "customers": true, "disputes": true, "events": true, "files": true,
	"invoice_payments": true, "invoiceitems": true, "invoices": true, "lines": true,
	"payment_intents": true, "payment_methods": true, "payouts": true, "plans": true,
	"prices": true, "products": true, "promotion_codes": true, "quotes": true, "refunds": true,
	"sessions": true, "setup_intents": true, "subscription_items": true,
	"subscriptions": true, "tax_ids": true, "tax_rates": true, "test_clocks": true,
	"transfers": true, "webhook_endpoints": true,
}

// stripeActions are the literal segments that can follow a Stripe collection.
var stripeActions = map[string]bool{
	"search": true, "preview": true, "upcoming": true, "create_preview": true,
}

// NormalizeOperation turns a request path into a bounded operation label: the query is
// dropped and every segment that looks like an id becomes {id}:
//
//   - Anrok's id:<transaction id> segments (any segment with ':'), and any segment with a
//     percent-escape;
//   - Stripe-style ids, a lowercase prefix, '_' and a rest with a digit or an upper-case
//     letter (in_1Nx..., il_..., cus_..., txr_..., in_sim_000001);
//   - digits, hex strings of 8+ characters with a digit, UUIDs, any other segment with a
//     digit (but not an API version such as v1), and anything of 32+ characters;
//   - for provider "stripe", the segment after a known collection (/v1/products/<any id>),
//     since Stripe accepts caller-chosen ids for some objects.
//
// An already normalized operation is returned unchanged, so "/v1/invoices/{id}/finalize"
// and "createEphemeral" pass through.
func NormalizeOperation(provider, path string) string {
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	if path == "" {
		return "/"
	}
	segs := strings.Split(path, "/")
	const maxSegments = 12
	if len(segs) > maxSegments {
		segs = append(segs[:maxSegments], "...")
	}
	stripe := provider == ProviderStripe
	prev := ""
	for i, seg := range segs {
		orig := seg
		switch {
		case seg == "" || seg == "{id}" || seg == "...":
		case idLike(seg):
			segs[i] = "{id}"
		case stripe && stripeCollections[prev] && !stripeActions[seg] && !stripeCollections[seg]:
			segs[i] = "{id}"
		}
		prev = orig
	}
	return labelValue(strings.Join(segs, "/"))
}

// idLike reports whether a path segment looks like an identifier rather than a fixed part
// of an API's path.
func idLike(seg string) bool {
	if len(seg) >= 32 || strings.ContainsAny(seg, ":%@=") {
		return true
	}
	digits, upper, hex := 0, 0, true
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c >= 'A' && c <= 'Z':
			upper++
			if c > 'F' {
				hex = false
			}
		case c >= 'a' && c <= 'f':
		case c == '-':
		default:
			hex = false
		}
	}
	if digits == len(seg) {
		return true // 12345
	}
	if hex && digits > 0 && len(seg) >= 8 {
		return true // deadbeef01, a UUID
	}
	if u := strings.IndexByte(seg, '_'); u > 0 && isLowerAlpha(seg[:u]) {
		rest := seg[u+1:]
		if strings.IndexFunc(rest, func(r rune) bool { return r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' }) >= 0 {
			return true // a Stripe id: in_1NXW..., cus_sim_000001
		}
		return false // add_lines, tax_ids, mark_uncollectible
	}
	if digits > 0 && !isAPIVersion(seg) {
		return true // inv-2026-0001
	}
	return false
}

func isLowerAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return s != ""
}

// isAPIVersion matches v1, v2, v1beta1, v2alpha.
func isAPIVersion(s string) bool {
	if len(s) < 2 || s[0] != 'v' || s[1] < '0' || s[1] > '9' {
		return false
	}
	i := 1
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	rest := s[i:]
	for _, tag := range []string{"alpha", "beta"} {
		if strings.HasPrefix(rest, tag) {
			rest = strings.TrimLeft(rest[len(tag):], "0123456789")
			break
		}
	}
	return rest == ""
}
