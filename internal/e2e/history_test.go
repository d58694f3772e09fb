package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/taxflow/taxflow/internal/codec"
	"github.com/taxflow/taxflow/internal/demo"
	"github.com/taxflow/taxflow/internal/testenv"
	"github.com/taxflow/taxflow/workflows"
)

// rawHistory reads a workflow's history as Temporal stores it (payloads encrypted).
func (s *stack) rawHistory(invoiceID string) *historypb.History {
	s.t.Helper()
	it := s.temporal.GetWorkflowHistory(context.Background(), workflows.InvoiceWorkflowID(invoiceID), "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			s.t.Fatal(err)
		}
		h.Events = append(h.Events, e)
	}
	return h
}

// exportHistory writes a workflow's history as JSON (the format of `temporal workflow show
// --output json`), its payloads decrypted with the test's codec key (which dies with the
// test): committed histories are test data, readable and replayable by anyone. A committed
// history is never overwritten: it is the record of a version the code must keep replaying.
func (s *stack) exportHistory(invoiceID, path string) {
	s.t.Helper()
	if _, err := os.Stat(path); err == nil && os.Getenv("TAXFLOW_RECORD_HISTORIES") != "" {
		s.t.Logf("%s exists: kept (delete it to record it again)", filepath.Base(path))
		return
	}
	h := s.rawHistory(invoiceID)
	if err := proxy.VisitPayloads(context.Background(), h, proxy.VisitPayloadsOptions{
		SkipSearchAttributes: true,
		Visitor: func(_ *proxy.VisitPayloadsContext, p []*commonpb.Payload) ([]*commonpb.Payload, error) {
			return s.codec.Decode(p)
		},
	}); err != nil {
		s.t.Fatal(err)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(h)
	if err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// TestHistoriesOfEachPathReplay runs the workflow's paths on the real server — finalized,
// failed then retried, voided — exports their histories and replays them against the code.
// With TAXFLOW_RECORD_HISTORIES=1 it also writes them to workflows/testdata/histories, the
// set `make test` replays on every change.
func TestHistoriesOfEachPathReplay(t *testing.T) {
	s := newStack(t)
	res, err := demo.Load(context.Background(), s.opts)
	if err != nil {
		t.Fatal(err)
	}
	finalized, voided := res.Invoices[0].ID, res.Invoices[1].ID
	s.waitFor(finalized, status("finalized"))
	s.waitFor(voided, status("finalized"))
	if code, body := s.call("POST", "/v1/invoices/"+voided+"/void", nil); code != 202 {
		t.Fatalf("void %d %v", code, body)
	}
	s.waitFor(voided, func(st demo.InvoiceState) bool { return st.TaxStatus == "voided" })

	// Failed on a product Anrok does not know, then retried after the mapping is fixed.
	if code, _ := s.call("PUT", "/v1/products/mystery", map[string]any{"name": "Mystery", "anrok_product_id": "not-in-anrok"}); code != 201 {
		t.Fatal(code)
	}
	retried := "inv-retried-" + s.opts.RunID
	if code, body := s.call("POST", "/v1/invoices", map[string]any{
		"id": retried, "customer_id": "cust-denver", "currency": "usd", "issued_at": "2026-11-01T00:00:00Z",
		"service_period": map[string]string{"start": "2026-10-01T00:00:00Z", "end": "2026-11-01T00:00:00Z"},
		"lines":          []map[string]any{{"id": "l1", "product_id": "mystery", "amount": 15000}},
	}); code != 202 {
		t.Fatalf("%d %v", code, body)
	}
	s.waitFor(retried, status("failed"))
	s.call("PUT", "/v1/products/mystery", map[string]any{"name": "Mystery", "anrok_product_id": "saas-product-1"})
	if code, _ := s.call("POST", "/v1/invoices/"+retried+"/retry", nil); code != 202 {
		t.Fatal(code)
	}
	s.waitFor(retried, status("finalized"))

	// The watch's version 1: a payment, a credit note and a lost dispute.
	amended := s.denverInvoice("amended", 15000)
	if _, err := s.stripe.PayInvoice(s.stripeInvoicesOf(amended)[0].ID); err != nil {
		t.Fatal(err)
	}
	s.waitFor(amended, status("paid"))
	s.call("POST", "/v1/invoices/"+amended+"/credit-notes", map[string]any{"id": "cn-h", "lines": []map[string]any{{"line_id": "l1", "amount": 1000}}})
	s.waitCreditNote(amended, "cn-h")
	s.call("POST", "/v1/invoices/"+amended+"/disputes", map[string]string{"status": "lost"})
	s.waitFor(amended, func(st demo.InvoiceState) bool { return st.TaxStatus == "negated" })

	// Stripe computes the tax (the Anrok Stripe app), and a draft left for a person.
	s.setSettings(map[string]any{"tax_mode": "stripe_app"})
	app := "inv-app-h-" + s.opts.RunID
	s.postInvoice(app, "cust-denver", "usd", line("l1", "platform-fee", 15000))
	s.waitFor(app, status("finalized"))
	s.setSettings(map[string]any{"leave_as_draft": true})
	left := "inv-left-h-" + s.opts.RunID
	s.postInvoice(left, "cust-denver", "usd", line("l1", "platform-fee", 15000))
	s.waitFor(left, func(st demo.InvoiceState) bool { return st.Status == "draft" && st.TaxStatus == "committed" })
	if _, err := s.stripeClient().V1Invoices.FinalizeInvoice(context.Background(), s.stripeInvoicesOf(left)[0].ID, nil); err != nil {
		t.Fatal(err)
	}
	s.waitFor(left, status("finalized"))

	// New runs carry their logic version in the input (InvoiceInput.Logic): no version
	// marker, and no TemporalChangeVersion upsert (a visibility write each).
	for _, e := range s.rawHistory(finalized).GetEvents() {
		if e.GetEventType() == enums.EVENT_TYPE_MARKER_RECORDED {
			t.Errorf("event %d: a %s marker in a new invoice's history", e.GetEventId(), e.GetMarkerRecordedEventAttributes().GetMarkerName())
		}
		if _, ok := e.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes().GetIndexedFields()["TemporalChangeVersion"]; ok {
			t.Errorf("event %d upserts TemporalChangeVersion", e.GetEventId())
		}
	}

	dir := t.TempDir()
	if os.Getenv("TAXFLOW_RECORD_HISTORIES") != "" {
		dir = filepath.Join(testenv.RepoRoot(), "workflows", workflows.HistoryDir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s.exportHistory(finalized, filepath.Join(dir, "finalized-watching.json"))
	s.exportHistory(voided, filepath.Join(dir, "finalized-then-voided.json"))
	s.exportHistory(retried, filepath.Join(dir, "failed-anrok-409-then-retried.json"))
	s.exportHistory(amended, filepath.Join(dir, "paid-credited-dispute-lost.json"))
	s.exportHistory(app, filepath.Join(dir, "stripe-app-tax.json"))
	s.exportHistory(left, filepath.Join(dir, "left-as-draft-finalized-in-stripe.json"))
	files, err := workflows.ReplayHistories(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 6 {
		t.Fatalf("replayed %v", files)
	}
}

// Secrets and customer data never reach Temporal history or the logs: workflow inputs and
// results are ids and totals; bodies and keys stay in Postgres (keys encrypted).
func TestNoSecretOrCustomerDataInHistoryOrLogs(t *testing.T) {
	s := newStack(t)
	res, err := demo.Load(context.Background(), s.opts)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, inv := range res.Invoices {
		s.waitFor(inv.ID, status("finalized"))
		ids = append(ids, inv.ID)
	}
	// A failure too: its message names the Anrok product, which must not show in clear.
	s.call("PUT", "/v1/products/mystery", map[string]any{"name": "Mystery", "anrok_product_id": "not-in-anrok-secret-sku"})
	failed := "inv-secret-failed-" + s.opts.RunID
	s.postInvoice(failed, "cust-denver", "usd", line("l1", "mystery", 100))
	s.waitFor(failed, status("failed"))
	ids = append(ids, failed)

	secrets := []string{
		s.opts.StripeKey, s.opts.AnrokKey, s.opts.StripeWebhookSecret, // API keys, signing secret
		"1450 Cherokee St", "Friedrichstr", "Canada Square", "80204", // addresses
		"billing@cherokee.example", "DE123456789", // email, tax id
	}
	dir := t.TempDir()
	for _, id := range ids {
		// As Temporal stores it: every payload encrypted, failure messages included.
		raw := s.rawHistory(id)
		encrypted := 0
		if err := proxy.VisitPayloads(context.Background(), raw, proxy.VisitPayloadsOptions{
			SkipSearchAttributes: true,
			Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
				for _, p := range ps {
					if string(p.GetMetadata()[codec.MetadataEncoding]) != codec.Encoding {
						t.Errorf("%s: a payload in clear: %s", id, p.GetMetadata()["encoding"])
					}
					encrypted++
				}
				return ps, nil
			},
		}); err != nil {
			t.Fatal(err)
		}
		if encrypted == 0 {
			t.Fatalf("%s: no payload found", id)
		}
		b, err := protojson.Marshal(raw)
		if err != nil {
			t.Fatal(err)
		}
		stored := readable(t, b)
		for _, secret := range append(secrets, "not-in-anrok-secret-sku") {
			if strings.Contains(stored, secret) {
				t.Errorf("%s: Temporal stores %q in clear", id, secret)
			}
		}
		if strings.Contains(stored, `"InvoiceID":"`+id) {
			t.Errorf("%s: the workflow input is readable without the codec key", id)
		}
		// Decrypted with the key: the data is there (the check above could see it), and
		// still no customer data — workflows carry ids and totals only.
		path := filepath.Join(dir, id+".json")
		s.exportHistory(id, path)
		plain, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		text := readable(t, plain)
		if !strings.Contains(text, `"InvoiceID":"`+id) {
			t.Fatalf("%s: decrypted history shows no workflow input", id)
		}
		if id == failed && !strings.Contains(text, "not-in-anrok-secret-sku") {
			t.Fatalf("%s: the decrypted failure message does not name the product: the check above proves nothing", id)
		}
		for _, secret := range secrets {
			if strings.Contains(text, secret) {
				t.Errorf("%s: the decrypted history contains %q", id, secret)
			}
		}
	}
	logs := s.logs.String()
	for _, secret := range secrets {
		if strings.Contains(logs, secret) {
			t.Errorf("the logs contain %q", secret)
		}
	}
	// The keys are stored, but encrypted.
	var sealed string
	if err := s.store.Pool.QueryRow(context.Background(), "SELECT api_key_sealed FROM anrok_connections").Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, s.opts.AnrokKey) {
		t.Fatal("the Anrok key is stored in clear")
	}
}

// readable is a history's JSON with every payload decoded: payload data is base64 in the
// JSON form, so a plain search of the file would find nothing even if a secret were there.
func readable(t *testing.T, raw []byte) string {
	t.Helper()
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	sb.Write(raw)
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case string:
			if d, err := base64.StdEncoding.DecodeString(x); err == nil {
				sb.WriteString("\n")
				sb.Write(d)
			}
		}
	}
	walk(doc)
	return sb.String()
}
