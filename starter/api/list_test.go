package api

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// GET /v1/invoices: filters, pages that add up to every invoice once, and every bad
// parameter named.
func TestListInvoicesFiltersAndPages(t *testing.T) {
	f := newFixture(t)
	for i := 0; i < 7; i++ {
		body := strings.Replace(denver, `"id":"inv_1"`, fmt.Sprintf(`"id":"inv_%d"`, i), 1)
		f.mustStatus(f.do("POST", "/v1/invoices", body), 202)
	}
	if _, err := f.store.Pool.Exec(context.Background(), `UPDATE invoices SET status = 'failed' WHERE id IN ('inv_2', 'inv_5')`); err != nil {
		t.Fatal(err)
	}
	r := f.mustStatus(f.do("GET", "/v1/invoices?status=failed", ""), 200)
	if ids := listedIDs(r); fmt.Sprint(ids) != "[inv_2 inv_5]" || r.body["next_cursor"] != nil {
		t.Fatalf("failed: %v %s", ids, r.raw)
	}
	var all []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("the pages never end")
		}
		r := f.mustStatus(f.do("GET", "/v1/invoices?customer_id=cust&limit=3"+cursor, ""), 200)
		all = append(all, listedIDs(r)...)
		next, _ := r.body["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = "&cursor=" + next
	}
	if fmt.Sprint(all) != "[inv_0 inv_1 inv_2 inv_3 inv_4 inv_5 inv_6]" {
		t.Fatalf("pages: %v", all)
	}
	first := f.mustStatus(f.do("GET", "/v1/invoices?limit=1", ""), 200).body["data"].([]any)[0].(map[string]any)
	if first["id"] != "inv_0" || first["status"] != "received" || first["total"] != float64(15000) || first["workflow_id"] != "invoice/inv_0" {
		t.Fatalf("summary %v", first)
	}
	for query, field := range map[string]string{
		"status=done":          "status",
		"tax_status=taxed":     "tax_status",
		"limit=0":              "limit",
		"limit=501":            "limit",
		"limit=ten":            "limit",
		"customer_id=a%20b":    "customer_id",
		"cursor=%27%3B--":      "cursor",
		"stauts=failed":        "stauts",
		"status=paid&status=x": "status",
	} {
		r := f.mustStatus(f.do("GET", "/v1/invoices?"+query, ""), 400)
		if _, got := errorOf(r); got != field {
			t.Errorf("%s: field %q: %s", query, got, r.raw)
		}
	}
	f.mustStatus(f.doWith("GET", "/v1/invoices", "", "", ""), 401)
}

func listedIDs(r response) []string {
	var ids []string
	data, _ := r.body["data"].([]any)
	for _, d := range data {
		ids = append(ids, d.(map[string]any)["id"].(string))
	}
	return ids
}
