package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// hostileInvoice is the Denver invoice (id, one line) as JSON, after edit changes the
// invoice or its first line. A value rawValue(...) goes into the JSON as it is: nested
// arrays, numbers beyond int64 and the like, which a JSON encoder would not write.
func hostileInvoice(id string, edit func(inv, line map[string]any)) string {
	line := map[string]any{"id": "l1", "product_id": "saas", "description": "Platform", "amount": 15000}
	inv := map[string]any{
		"id": id, "customer_id": "cust", "currency": "usd", "issued_at": "2026-11-01T00:00:00Z",
		"service_period": map[string]any{"start": "2026-10-01T00:00:00Z", "end": "2026-11-01T00:00:00Z"},
		"lines":          []any{line},
	}
	if edit != nil {
		edit(inv, line)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(inv); err != nil {
		panic(err)
	}
	return rawPlaceholder.ReplaceAllStringFunc(strings.TrimSpace(b.String()), func(m string) string {
		raw, _ := base64.StdEncoding.DecodeString(rawPlaceholder.FindStringSubmatch(m)[1])
		return string(raw)
	})
}

var rawPlaceholder = regexp.MustCompile(`"@raw:([A-Za-z0-9+/=]*)@"`)

// rawValue is a value hostileInvoice writes into the JSON as it is.
func rawValue(raw string) string {
	return "@raw:" + base64.StdEncoding.EncodeToString([]byte(raw)) + "@"
}

func set(field string, v any) func(inv, line map[string]any) {
	return func(inv, _ map[string]any) { inv[field] = v }
}

func setLine(field string, v any) func(inv, line map[string]any) {
	return func(_, line map[string]any) { line[field] = v }
}

// lines makes n lines l0..n-1 of amount 1 (their ids through id).
func lines(n int, id func(i int) string) func(inv, line map[string]any) {
	return func(inv, _ map[string]any) {
		ls := make([]any, n)
		for i := range ls {
			ls[i] = map[string]any{"id": id(i), "product_id": "saas", "amount": 1}
		}
		inv["lines"] = ls
	}
}

func numbered(i int) string { return fmt.Sprintf("l%d", i) }

const sqlInjection = `x'); DROP TABLE invoices; --`

// deep is n nested arrays.
func deep(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }

// chunked sends body without a Content-Length, so that only the handler's own limit can
// stop it.
func (f *fixture) chunked(path, body string) response {
	f.t.Helper()
	req, _ := http.NewRequest("POST", f.srv.URL+path, io.MultiReader(strings.NewReader(body)))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{status: resp.StatusCode, raw: string(raw)}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

// padded is body with spaces before its closing brace, size bytes in all.
func padded(body string, size int) string {
	return body[:len(body)-1] + strings.Repeat(" ", size-len(body)) + "}"
}

// Requests a hostile or careless client sends: each is refused with the exact status,
// code and field, quickly, and nothing is stored or started.
func TestHostileInvoicesAreRefusedAndLeaveNoTrace(t *testing.T) {
	f := newFixture(t)
	if body := hostileInvoice("inv_raw", setLine("amount", rawValue("1e400"))); !strings.Contains(body, `"amount":1e400`) {
		t.Fatalf("raw values are not written as they are: %s", body)
	}
	tenThousand := hostileInvoice("inv_10k", lines(10_000, numbered))
	if len(tenThousand) >= maxBody {
		t.Fatalf("the 10,000-line invoice is %d bytes: over the body limit, it would not test the line limit", len(tenThousand))
	}
	cases := []struct {
		name        string
		body        string
		contentType string // "" is application/json
		chunked     bool
		status      int
		code, field string
	}{
		// Oversized bodies: the 4 MiB limit, with or without a Content-Length.
		{name: "a body one byte over 4 MiB", body: padded(hostileInvoice("inv_big", nil), maxBody+1), status: 413, code: "body_too_large"},
		{name: "a body over 4 MiB sent chunked", body: padded(hostileInvoice("inv_big", nil), maxBody+1), chunked: true, status: 413, code: "body_too_large"},
		{name: "10,000 lines of 500-character descriptions", body: hostileInvoice("inv_big", func(inv, _ map[string]any) {
			lines(10_000, numbered)(inv, nil)
			for _, l := range inv["lines"].([]any) {
				l.(map[string]any)["description"] = strings.Repeat("x", 500)
			}
		}), status: 413, code: "body_too_large"},
		// 10,000 lines: within the body limit, past taxflow's 5,000 (Stripe's 250 are
		// handled by collapsing the Stripe invoice's lines).
		{name: "10,000 lines", body: tenThousand, status: 422, code: "too_many_lines", field: "lines"},
		{name: "5,001 lines", body: hostileInvoice("inv_5001", lines(5001, numbered)), status: 422, code: "too_many_lines", field: "lines"},
		// Deeply nested JSON: a 400, never a stack overflow.
		{name: "100,000 nested arrays in metadata", body: hostileInvoice("inv_deep", set("metadata", rawValue(deep(100_000)))), status: 400, code: "malformed_json"},
		{name: "100,000 nested arrays in an amount", body: hostileInvoice("inv_deep", setLine("amount", rawValue(deep(100_000)))), status: 400, code: "malformed_json"},
		{name: "100,000 nested objects in a description", body: hostileInvoice("inv_deep", setLine("description", rawValue(strings.Repeat(`{"a":`, 100_000)+"1"+strings.Repeat("}", 100_000)))), status: 400, code: "malformed_json"},
		{name: "9,000 nested arrays in an amount", body: hostileInvoice("inv_deep", setLine("amount", rawValue(deep(9000)))), status: 400, code: "invalid_amount", field: "lines[0].amount"},
		{name: "9,000 nested arrays in a quantity", body: hostileInvoice("inv_deep", setLine("quantity", rawValue(deep(9000)))), status: 400, code: "invalid_decimal", field: "lines[0].quantity"},
		{name: "9,000 nested arrays in metadata", body: hostileInvoice("inv_deep", set("metadata", rawValue(deep(9000)))), status: 400, code: "invalid_field", field: "metadata"},
		// Wrong content types.
		{name: "text/plain", body: denver, contentType: "text/plain", status: 415, code: "unsupported_media_type"},
		{name: "no content type", body: denver, contentType: "-", status: 415, code: "unsupported_media_type"},
		{name: "a form", body: "id=inv_1&customer_id=cust", contentType: "application/x-www-form-urlencoded", status: 415, code: "unsupported_media_type"},
		{name: "multipart", body: denver, contentType: "multipart/form-data; boundary=x", status: 415, code: "unsupported_media_type"},
		{name: "XML", body: "<invoice/>", contentType: "application/xml", status: 415, code: "unsupported_media_type"},
		{name: "a JSON patch", body: denver, contentType: "application/json-patch+json", status: 415, code: "unsupported_media_type"},
		// Negative or overflowing amounts.
		{name: "an amount past int64", body: hostileInvoice("inv_amt", setLine("amount", rawValue("9223372036854775808"))), status: 400, code: "invalid_amount", field: "lines[0].amount"},
		{name: "an amount below int64", body: hostileInvoice("inv_amt", setLine("amount", rawValue("-9223372036854775809"))), status: 400, code: "invalid_amount", field: "lines[0].amount"},
		{name: "an amount of 1e400", body: hostileInvoice("inv_amt", setLine("amount", rawValue("1e400"))), status: 400, code: "invalid_amount", field: "lines[0].amount"},
		{name: "zero with a huge negative exponent", body: hostileInvoice("inv_amt", setLine("amount", rawValue("0e-999999999"))), status: 400, code: "invalid_amount", field: "lines[0].amount"},
		{name: "an amount past Anrok's limit", body: hostileInvoice("inv_amt", setLine("amount", 100_000_000_001)), status: 400, code: "invalid_amount", field: "lines[0].amount"},
		{name: "an amount past Stripe's maximum", body: hostileInvoice("inv_amt", setLine("amount", 100_000_000)), status: 422, code: "amount_exceeds_stripe_maximum", field: "lines[0].amount"},
		{name: "a credit past Stripe's maximum", body: hostileInvoice("inv_amt", setLine("amount", -100_000_000)), status: 422, code: "amount_exceeds_stripe_maximum", field: "lines[0].amount"},
		{name: "lines adding up past Stripe's maximum", body: hostileInvoice("inv_amt", func(inv, _ map[string]any) {
			inv["lines"] = []any{map[string]any{"id": "a", "product_id": "saas", "amount": 60_000_000}, map[string]any{"id": "b", "product_id": "saas", "amount": 60_000_000}}
		}), status: 422, code: "amount_exceeds_stripe_maximum", field: "lines"},
		{name: "a negative fraction", body: hostileInvoice("inv_amt", setLine("amount", rawValue("-0.5"))), status: 400, code: "invalid_amount", field: "lines[0].amount"},
		{name: "a negative quantity", body: hostileInvoice("inv_amt", setLine("quantity", "-1")), status: 400, code: "invalid_decimal", field: "lines[0].quantity"},
		{name: "a quantity with an exponent", body: hostileInvoice("inv_amt", setLine("quantity", "1e3")), status: 400, code: "invalid_decimal", field: "lines[0].quantity"},
		{name: "a quantity of 16 digits", body: hostileInvoice("inv_amt", setLine("quantity", "1234567890123456")), status: 400, code: "invalid_decimal", field: "lines[0].quantity"},
		{name: "a unit price of 13 decimal places", body: hostileInvoice("inv_amt", setLine("unit_price", "0.0000000000001")), status: 400, code: "invalid_decimal", field: "lines[0].unit_price"},
		// Unicode in ids.
		{name: "an accented invoice id", body: hostileInvoice("inv_é", nil), status: 400, code: "invalid_field", field: "id"},
		{name: "a right-to-left override in an id", body: hostileInvoice("inv\u202egpj.exe", nil), status: 400, code: "invalid_field", field: "id"},
		{name: "a zero-width space in an id", body: hostileInvoice("inv\u200b1", nil), status: 400, code: "invalid_field", field: "id"},
		{name: "fullwidth letters in an id", body: hostileInvoice("ｉｎｖ１", nil), status: 400, code: "invalid_field", field: "id"},
		{name: "a Cyrillic homoglyph in an id", body: hostileInvoice("іnv_1", nil), status: 400, code: "invalid_field", field: "id"},
		{name: "an emoji line id", body: hostileInvoice("inv_u", setLine("id", "l🔥")), status: 400, code: "invalid_field", field: "lines[0].id"},
		{name: "a unicode product id", body: hostileInvoice("inv_u", setLine("product_id", "saaš")), status: 400, code: "invalid_field", field: "lines[0].product_id"},
		{name: "a unicode customer id", body: hostileInvoice("inv_u", set("customer_id", "cüst")), status: 400, code: "invalid_field", field: "customer_id"},
		{name: "a homoglyph billing configuration id", body: hostileInvoice("inv_u", set("billing_configuration_id", "mаin")), status: 400, code: "invalid_field", field: "billing_configuration_id"},
		{name: "a colon in an id (it separates Anrok id parts)", body: hostileInvoice("inv:void", nil), status: 400, code: "invalid_field", field: "id"},
		{name: "a NUL in an id", body: hostileInvoice("inv\x00", nil), status: 400, code: "invalid_field", field: "id"},
		{name: "an id of 101 characters", body: hostileInvoice(strings.Repeat("i", 101), nil), status: 400, code: "invalid_field", field: "id"},
		// SQL in every string field: refused where the field has a syntax, stored verbatim
		// where it is free text (TestSQLInFreeTextIsStoredVerbatim).
		{name: "SQL in id", body: hostileInvoice(sqlInjection, nil), status: 400, code: "invalid_field", field: "id"},
		{name: "SQL in customer_id", body: hostileInvoice("inv_sql", set("customer_id", sqlInjection)), status: 400, code: "invalid_field", field: "customer_id"},
		{name: "SQL in currency", body: hostileInvoice("inv_sql", set("currency", sqlInjection)), status: 422, code: "unknown_currency", field: "currency"},
		{name: "SQL in issued_at", body: hostileInvoice("inv_sql", set("issued_at", sqlInjection)), status: 400, code: "invalid_time", field: "issued_at"},
		{name: "SQL in service_period.start", body: hostileInvoice("inv_sql", set("service_period", map[string]any{"start": sqlInjection, "end": "2026-11-01T00:00:00Z"})), status: 400, code: "invalid_time", field: "service_period.start"},
		{name: "SQL in service_period.end", body: hostileInvoice("inv_sql", set("service_period", map[string]any{"start": "2026-10-01T00:00:00Z", "end": sqlInjection})), status: 400, code: "invalid_time", field: "service_period.end"},
		{name: "SQL in billing_configuration_id", body: hostileInvoice("inv_sql", set("billing_configuration_id", sqlInjection)), status: 400, code: "invalid_field", field: "billing_configuration_id"},
		{name: "SQL in lines[0].id", body: hostileInvoice("inv_sql", setLine("id", sqlInjection)), status: 400, code: "invalid_field", field: "lines[0].id"},
		{name: "SQL in lines[0].product_id", body: hostileInvoice("inv_sql", setLine("product_id", sqlInjection)), status: 400, code: "invalid_field", field: "lines[0].product_id"},
		{name: "SQL in lines[0].quantity", body: hostileInvoice("inv_sql", setLine("quantity", sqlInjection)), status: 400, code: "invalid_decimal", field: "lines[0].quantity"},
		{name: "SQL in lines[0].unit_price", body: hostileInvoice("inv_sql", setLine("unit_price", sqlInjection)), status: 400, code: "invalid_decimal", field: "lines[0].unit_price"},
		{name: "SQL in lines[0].amount", body: hostileInvoice("inv_sql", setLine("amount", sqlInjection)), status: 400, code: "invalid_amount", field: "lines[0].amount"},
		{name: "SQL in a metadata key with brackets", body: hostileInvoice("inv_sql", set("metadata", map[string]any{"a[0]'; --": "v"})), status: 422, code: "invalid_field", field: "metadata.a[0]'; --"},
		// Duplicate line ids.
		{name: "a line id twice", body: hostileInvoice("inv_dup", lines(2, func(int) string { return "l1" })), status: 422, code: "duplicate_line_id", field: "lines[1].id"},
		{name: "a line id again after another", body: hostileInvoice("inv_dup", lines(3, func(i int) string { return []string{"l1", "l2", "l1"}[i] })), status: 422, code: "duplicate_line_id", field: "lines[2].id"},
		// Currencies Stripe does not support (or taxflow does not invoice in).
		{name: "a made-up currency", body: hostileInvoice("inv_cur", set("currency", "xyz")), status: 422, code: "unknown_currency", field: "currency"},
		{name: "bitcoin", body: hostileInvoice("inv_cur", set("currency", "btc")), status: 422, code: "unknown_currency", field: "currency"},
		{name: "a stablecoin", body: hostileInvoice("inv_cur", set("currency", "usdc")), status: 422, code: "unknown_currency", field: "currency"},
		{name: "a three-decimal currency", body: hostileInvoice("inv_cur", set("currency", "kwd")), status: 422, code: "unknown_currency", field: "currency"},
		{name: "a currency with a trailing space", body: hostileInvoice("inv_cur", set("currency", "usd ")), status: 422, code: "unknown_currency", field: "currency"},
		{name: "a fullwidth currency", body: hostileInvoice("inv_cur", set("currency", "ＵＳＤ")), status: 422, code: "unknown_currency", field: "currency"},
		{name: "an empty currency", body: hostileInvoice("inv_cur", set("currency", "")), status: 400, code: "missing_field", field: "currency"},
		{name: "a numeric currency", body: hostileInvoice("inv_cur", set("currency", 840)), status: 400, code: "invalid_field", field: "currency"},
		// Malformed in other ways.
		{name: "a stray brace after the body", body: denver + "}", status: 400, code: "malformed_json"},
		{name: "a second object after the body", body: denver + denver, status: 400, code: "malformed_json"},
		{name: "a byte-order mark", body: "\ufeff" + denver, status: 400, code: "malformed_json"},
		{name: "a NUL in a description", body: hostileInvoice("inv_nul", setLine("description", "a\x00b")), status: 400, code: "invalid_field", field: "lines[0].description"},
		{name: "a NUL in a metadata value", body: hostileInvoice("inv_nul", set("metadata", map[string]any{"k": "a\x00"})), status: 400, code: "invalid_field", field: "metadata.k"},
		{name: "an unknown field in a line", body: hostileInvoice("inv_x", setLine("amout", 1)), status: 400, code: "unknown_field", field: "amout"},
		{name: "lines as an object", body: hostileInvoice("inv_x", set("lines", map[string]any{"id": "l1"})), status: 400, code: "invalid_field", field: "lines"},
		{name: "fifty metadata keys", body: hostileInvoice("inv_x", func(inv, _ map[string]any) {
			m := map[string]any{}
			for i := range 50 {
				m[fmt.Sprint("k", i)] = "v"
			}
			inv["metadata"] = m
		}), status: 422, code: "invalid_field", field: "metadata"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f.t = t
			before, started := f.invoiceCount(), len(f.wf.started)
			var r response
			switch {
			case c.chunked:
				r = f.chunked("/v1/invoices", c.body)
			case c.contentType == "-":
				r = f.doWith("POST", "/v1/invoices", c.body, "Bearer "+token, "")
			case c.contentType != "":
				r = f.doWith("POST", "/v1/invoices", c.body, "Bearer "+token, c.contentType)
			default:
				r = f.do("POST", "/v1/invoices", c.body)
			}
			checkAnswer(t, c.name, r)
			if code, field := errorOf(r); r.status != c.status || code != c.code || field != c.field {
				t.Fatalf("%d %s %q, want %d %s %q: %.300s", r.status, code, field, c.status, c.code, c.field, r.raw)
			}
			if n := f.invoiceCount(); n != before || len(f.wf.started) != started {
				t.Fatalf("refused, yet %d invoices stored (was %d) and %d workflows started (was %d)", n, before, len(f.wf.started), started)
			}
		})
	}
	f.t = t
	if n := f.invoiceCount(); n != 0 {
		t.Fatalf("%d invoices stored", n)
	}
}

// Limits are limits, not approximations: what is just within them is accepted, and stored
// as sent.
func TestJustWithinTheLimitsIsAccepted(t *testing.T) {
	f := newFixture(t)
	cases := []struct{ name, body, contentType string }{
		{"a body of exactly 4 MiB", padded(hostileInvoice("inv_4mib", nil), maxBody), ""},
		{"5,000 lines", hostileInvoice("inv_5000", lines(5000, numbered)), ""},
		{"251 lines (one Stripe line, all of them in taxflow)", hostileInvoice("inv_251", lines(251, numbered)), ""},
		{"a credit line", hostileInvoice("inv_credit", func(inv, _ map[string]any) {
			inv["lines"] = []any{map[string]any{"id": "fee", "product_id": "saas", "amount": 15000}, map[string]any{"id": "credit", "product_id": "saas", "amount": -2500}}
		}), ""},
		{"a negative invoice", hostileInvoice("inv_negative", setLine("amount", -99_999_999)), ""},
		{"exactly Stripe's maximum", hostileInvoice("inv_max", setLine("amount", 99_999_999)), ""},
		{"the largest quantity and unit price", hostileInvoice("inv_decimals", func(_, line map[string]any) {
			line["quantity"], line["unit_price"] = "999999999999999.999999999999", "0.000000000001"
		}), ""},
		{"line ids differing in case", hostileInvoice("inv_case", lines(2, func(i int) string { return []string{"L1", "l1"}[i] })), ""},
		{"a currency in capitals", hostileInvoice("inv_usd", set("currency", "USD")), ""},
		{"JSON with a charset, in capitals", hostileInvoice("inv_charset", nil), "Application/JSON; charset=utf-8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f.t = t
			before := f.invoiceCount()
			var r response
			if c.contentType != "" {
				r = f.doWith("POST", "/v1/invoices", c.body, "Bearer "+token, c.contentType)
			} else {
				r = f.do("POST", "/v1/invoices", c.body)
			}
			if r.status != http.StatusAccepted {
				t.Fatalf("%d: %.300s", r.status, r.raw)
			}
			if f.invoiceCount() != before+1 {
				t.Fatal("accepted but not stored")
			}
			// Stored as sent: the fuzz targets' check.
			var sent sentInvoice
			if err := json.Unmarshal([]byte(c.body), &sent); err != nil {
				t.Fatal(err)
			}
			var got storedInvoice
			if err := json.Unmarshal([]byte(f.mustStatus(f.do("GET", "/v1/invoices/"+sent.ID, ""), 200).raw), &got); err != nil {
				t.Fatal(err)
			}
			sameInvoice(t, sent, got)
		})
	}
}

// Free text — descriptions, metadata — is data: SQL in it is stored and shown verbatim and
// runs nowhere.
func TestSQLInFreeTextIsStoredVerbatim(t *testing.T) {
	f := newFixture(t)
	body := hostileInvoice("inv_sql_text", func(inv, line map[string]any) {
		line["description"] = sqlInjection
		inv["metadata"] = map[string]any{sqlInjection: sqlInjection, "quote": `'"\`}
	})
	f.mustStatus(f.do("POST", "/v1/invoices", body), 202)
	var got storedInvoice
	if err := json.Unmarshal([]byte(f.mustStatus(f.do("GET", "/v1/invoices/inv_sql_text", ""), 200).raw), &got); err != nil {
		t.Fatal(err)
	}
	if d := got.Lines[0].Description; d == nil || *d != sqlInjection || got.Metadata[sqlInjection] != sqlInjection || got.Metadata["quote"] != `'"\` {
		t.Fatalf("stored %+v", got)
	}
	// The invoices table is still there, with the invoice in it.
	if n := f.invoiceCount(); n != 1 {
		t.Fatalf("%d invoices", n)
	}
	// Configuration free text too.
	f.mustStatus(f.do("PUT", "/v1/products/sqlp", `{"name":`+quote(sqlInjection)+`}`), 201)
	if r := f.mustStatus(f.do("GET", "/v1/products/sqlp", ""), 200); r.body["name"] != sqlInjection {
		t.Fatalf("product %s", r.raw)
	}
}

// Ids in paths and query parameters have the same syntax as in bodies.
func TestHostilePathsAndQueriesAreRefusedNamingTheParameter(t *testing.T) {
	f := newFixture(t)
	cases := []struct{ name, method, target, code, field string }{
		{"a unicode invoice id in the path", "GET", "/v1/invoices/inv_%C3%A9", "invalid_id", "id"},
		{"SQL in the path", "GET", "/v1/invoices/x'%3B%20DROP%20TABLE%20invoices%3B--", "invalid_id", "id"},
		{"a NUL in the path", "GET", "/v1/customers/c%00", "invalid_id", "id"},
		{"SQL in a product id", "PUT", "/v1/products/p'%20OR%20'1'%3D'1", "invalid_id", "id"},
		{"SQL in a customer filter", "GET", "/v1/invoices?customer_id=%27%20OR%201%3D1--", "invalid_id", "customer_id"},
		{"SQL in a status filter", "GET", "/v1/invoices?status=%27%20OR%20%271%27%3D%271", "invalid_field", "status"},
		{"SQL in a cursor", "GET", "/v1/invoices?cursor=%27%3B%20DELETE%20FROM%20invoices%3B--", "invalid_id", "cursor"},
		{"a limit past int64", "GET", "/v1/invoices?limit=9223372036854775808", "invalid_field", "limit"},
	}
	for _, c := range cases {
		r := f.do(c.method, c.target, `{"name":"x"}`)
		checkAnswer(t, c.name, r)
		if code, field := errorOf(r); r.status != 400 || code != c.code || field != c.field {
			t.Errorf("%s: %d %s %q, want 400 %s %q", c.name, r.status, code, field, c.code, c.field)
		}
	}
	var products int
	if err := f.store.Pool.QueryRow(context.Background(), "SELECT count(*) FROM products").Scan(&products); err != nil || products != 1 {
		t.Fatalf("%d products (%v)", products, err)
	}
}

// A finalized invoice's credit notes: hostile amounts and ids are refused, and nothing is
// stored or signalled.
func TestHostileCreditNotesAreRefusedAndLeaveNoTrace(t *testing.T) {
	f := newFixture(t)
	f.mustStatus(f.do("POST", "/v1/invoices", denver), 202)
	if _, err := f.store.Pool.Exec(context.Background(), `UPDATE invoices SET status = 'finalized', stripe_invoice_id = 'in_1', stripe_finalized_at = now() WHERE id = 'inv_1'`); err != nil {
		t.Fatal(err)
	}
	note := func(id, lineID, amount string) string {
		return fmt.Sprintf(`{"id":%s,"lines":[{"line_id":%s,"amount":%s}]}`, quote(id), quote(lineID), amount)
	}
	cases := []struct {
		name, body  string
		status      int
		code, field string
	}{
		{"a negative credit", note("cn1", "l1", "-100"), 400, "invalid_amount", "lines[0].amount"},
		{"a zero credit", note("cn1", "l1", "0"), 400, "invalid_amount", "lines[0].amount"},
		{"a credit past int64", note("cn1", "l1", "9223372036854775808"), 400, "invalid_amount", "lines[0].amount"},
		{"a fractional credit", note("cn1", "l1", "0.5"), 400, "invalid_amount", "lines[0].amount"},
		{"more than the line", note("cn1", "l1", "15001"), 422, "credit_exceeds_invoice", "lines[0].amount"},
		{"a line that does not exist", note("cn1", "nope", "1"), 422, "line_not_found", "lines[0].line_id"},
		{"SQL in the credit note id", note(sqlInjection, "l1", "1"), 400, "invalid_field", "id"},
		{"SQL in the line id", note("cn1", sqlInjection, "1"), 400, "invalid_field", "lines[0].line_id"},
		{"a unicode credit note id", note("cn_é", "l1", "1"), 400, "invalid_field", "id"},
		{"the same line twice", `{"id":"cn1","lines":[{"line_id":"l1","amount":1},{"line_id":"l1","amount":1}]}`, 400, "duplicate_line_id", "lines[1].line_id"},
		{"251 lines", `{"id":"cn1","lines":[` + strings.TrimSuffix(strings.Repeat(`{"line_id":"l1","amount":1},`, 251), ",") + `]}`, 400, "invalid_field", "lines"},
		{"a reason Stripe does not know", `{"id":"cn1","lines":[{"line_id":"l1","amount":1}],"reason":"'; --"}`, 400, "invalid_field", "reason"},
	}
	for _, c := range cases {
		r := f.do("POST", "/v1/invoices/inv_1/credit-notes", c.body)
		checkAnswer(t, c.name, r)
		if code, field := errorOf(r); r.status != c.status || code != c.code || field != c.field {
			t.Errorf("%s: %d %s %q, want %d %s %q: %.200s", c.name, r.status, code, field, c.status, c.code, c.field, r.raw)
		}
	}
	var notes int
	if err := f.store.Pool.QueryRow(context.Background(), "SELECT count(*) FROM credit_notes").Scan(&notes); err != nil || notes != 0 {
		t.Fatalf("%d credit notes stored (%v)", notes, err)
	}
	if len(f.wf.signals) != 0 {
		t.Fatalf("signals %v", f.wf.signals)
	}
}
