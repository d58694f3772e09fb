package bench_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/taxflow/taxflow/internal/bench"
)

// `make bench` works: the whole harness — every scenario, on the real Temporal server,
// PostgreSQL, the simulators and taxflow's worker and starter processes — at a tiny scale,
// with every invoice accounted for and every output written and readable. It asserts what
// happened, never how fast: timings belong to the benchmark, not to tests.
func TestBenchRunsEveryScenarioAtATinyScale(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole stack")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	out := t.TempDir()
	res, err := bench.Run(ctx, bench.Options{Scale: 0.003, OutDir: out, Progress: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) > 0 {
		t.Fatalf("scenarios failed: %v", res.Errors)
	}

	p := res.Platform
	if p == nil || p.Finalized != p.Invoices || p.Failed != 0 || p.InvoicesPerSecond <= 0 || p.BarePerSecond <= 0 || len(p.Rounds) != bench.PlatformRounds {
		t.Fatalf("platform: %+v", p)
	}
	for _, rr := range p.Rounds {
		if rr.Invoices <= 0 || rr.InvoicesPerSecond <= 0 || rr.BarePerSecond <= 0 || rr.Ratio <= 0 {
			t.Errorf("platform round: %+v", rr)
		}
	}
	// The README's calls per invoice of the happy path, counted by the simulators.
	if p.AnrokCalls.Answered != 2*p.Invoices || p.StripeCalls.Answered != 3*p.Invoices {
		t.Errorf("platform: %d invoices took %d Anrok and %d Stripe calls, want 2 and 3 each", p.Invoices, p.AnrokCalls.Answered, p.StripeCalls.Answered)
	}
	if c := res.Cost; c == nil || c.Small.Bytes <= 0 || c.Large.Bytes <= 0 || c.Bare.Activities != p.ActivitiesPerInvoice || c.Small.Activities != p.ActivitiesPerInvoice {
		t.Errorf("cost: %+v (activities per invoice %d)", c, p.ActivitiesPerInvoice)
	}
	if l := res.Latency; l == nil || l.Latency.Count != l.Invoices || l.Bare.Count != l.Invoices || l.Failed != 0 {
		t.Errorf("latency: %+v", l)
	}
	d := res.Drain
	if d == nil || !d.Finished || d.Finalized != d.Invoices || d.Failed != 0 || d.FloorSeconds <= 0 || d.Curve[len(d.Curve)-1].Finalized != d.Invoices {
		t.Fatalf("drain: %+v", d)
	}
	if d.AnrokCalls.Answered < 2*d.Invoices || d.StripeCalls.Answered < 3*d.Invoices {
		t.Errorf("drain: %d invoices took %d Anrok and %d Stripe calls", d.Invoices, d.AnrokCalls.Answered, d.StripeCalls.Answered)
	}
	if w := res.Waiting; w == nil || w.Running < int64(w.Invoices) || w.After.RSSBytes <= 0 || w.Before.HeapInuseBytes <= 0 || w.Webhook.Count == 0 || w.WebhookFew.Count == 0 {
		t.Errorf("waiting: %+v", w)
	}
	if a := res.API; a == nil || a.Stored != a.Requests || a.Post.Count != a.Requests || a.Health.Count != a.Requests {
		t.Errorf("api: %+v", a)
	}
	items := map[int]bool{}
	for _, f := range res.Figures {
		items[f.Item] = true
		if f.Reference == nil {
			t.Errorf("figure %s has no reference", f.Key)
		}
	}
	for i := 1; i <= 6; i++ {
		if !items[i] {
			t.Errorf("no figure for item %d", i)
		}
	}

	// The outputs: the JSON says what Run returned, the Markdown shows every figure, the
	// charts are well-formed SVG.
	var back bench.Results
	readJSON(t, filepath.Join(out, "results.json"), &back)
	if len(back.Figures) != len(res.Figures) || back.Machine.Cores == 0 || back.Machine.GoVersion == "" {
		t.Errorf("results.json: %d figures, machine %+v", len(back.Figures), back.Machine)
	}
	md, err := os.ReadFile(filepath.Join(out, "RESULTS.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Figures {
		if !strings.Contains(string(md), f.Name) {
			t.Errorf("RESULTS.md lacks %q", f.Name)
		}
	}
	for _, name := range []string{"drain.svg", "latency.svg"} {
		checkSVG(t, filepath.Join(out, name))
		if !strings.Contains(string(md), "("+name+")") {
			t.Errorf("RESULTS.md does not show %s", name)
		}
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// checkSVG parses an SVG file to its end and checks it draws something.
func checkSVG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := xml.NewDecoder(f)
	shapes := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if se, ok := tok.(xml.StartElement); ok && (se.Name.Local == "polyline" || se.Name.Local == "rect") {
			shapes++
		}
	}
	if shapes < 3 {
		t.Errorf("%s draws %d shapes", path, shapes)
	}
}

// testLog sends the progress lines to the test's log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
