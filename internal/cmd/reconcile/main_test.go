package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/taxflow/taxflow/activities"
	"github.com/taxflow/taxflow/internal/store"
	"github.com/taxflow/taxflow/internal/store/sqldb"
	"github.com/taxflow/taxflow/internal/stripesim"
	"github.com/taxflow/taxflow/internal/testenv"
)

// fixture is a database with one Stripe account on the simulator and the environment the
// command reads.
type fixture struct {
	t     *testing.T
	env   map[string]string
	store *store.Store
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	secret, keys := testenv.SecretKey(t)
	db := testenv.NewDatabase(t)
	st, err := store.Open(context.Background(), db, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	sim := httptest.NewServer(stripesim.New(stripesim.Options{}))
	t.Cleanup(sim.Close)
	f := &fixture{t: t, store: st, env: map[string]string{"TAXFLOW_DATABASE_URL": db, "TAXFLOW_SECRET_KEY": secret}}
	for id, key := range map[string]string{"acct": "sk_test_reconcile1234", "revoked": "sk_live_revoked1234"} {
		sealed, err := keys.Seal(key, activities.SecretPlace("stripe_accounts", id, "api_key"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.UpsertStripeAccount(context.Background(), sqldb.UpsertStripeAccountParams{ID: id, Alias: id, ApiKeySealed: sealed,
			ApiKeyHint: key[:8] + "…", BaseUrl: &sim.URL, Settings: json.RawMessage(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// finalizedInvoice records an invoice taxflow finalized on a Stripe invoice Stripe does not
// have.
func (f *fixture) finalizedInvoice(id string) {
	f.t.Helper()
	_, err := f.store.Pool.Exec(context.Background(), `
		INSERT INTO customers (id, name) VALUES ('cust', 'Denver Co') ON CONFLICT DO NOTHING;`)
	if err == nil {
		_, err = f.store.Pool.Exec(context.Background(), `
		INSERT INTO invoices (id, customer_id, currency, issued_at, period_start, period_end, billing_configuration_id,
		    stripe_account_id, request_hash, subtotal, tax, total, workflow_id, status, tax_status, step, stripe_invoice_id)
		VALUES ($1, 'cust', 'usd', now(), now(), now(), 'main', 'acct', 'h', 15000, 0, 15000, 'invoice/'||$1,
		    'finalized', 'not_applicable', 'watch', 'in_gone_'||$1)`, id)
	}
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) run(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, f.env, &out, &errOut)
	return code, out.String(), errOut.String()
}

var today = time.Now().UTC().Format(time.DateOnly)
var tomorrow = time.Now().UTC().Add(24 * time.Hour).Format(time.DateOnly)

// Exit status 0 when the period is clean, 1 with differences (listed in the table and the
// JSON), 2 on bad input, 3 when a provider refuses the reads.
func TestExitStatusSaysWhetherThePeriodIsClean(t *testing.T) {
	f := newFixture(t)
	if code, out, errOut := f.run("-from", "2020-01-01", "-to", "2020-02-01", "-stripe-account", "acct"); code != 0 || !strings.Contains(out, "No differences.") {
		t.Fatalf("clean: %d\n%s%s", code, out, errOut)
	}
	f.finalizedInvoice("inv-1")
	code, out, errOut := f.run("-from", today, "-to", tomorrow, "-stripe-account", "acct")
	if code != 1 || !strings.Contains(out, "missing_in_stripe") || !strings.Contains(out, "inv-1") || !strings.Contains(out, "in_gone_inv-1") {
		t.Fatalf("differences: %d\n%s%s", code, out, errOut)
	}
	code, out, _ = f.run("-json", "-from", today+"T00:00:00Z", "-to", tomorrow, "-stripe-account", "acct")
	var report struct {
		Differences []struct {
			Kind      string `json:"kind"`
			InvoiceID string `json:"invoice_id"`
		} `json:"differences"`
	}
	if err := json.Unmarshal([]byte(out), &report); code != 1 || err != nil || len(report.Differences) != 1 ||
		report.Differences[0].Kind != "missing_in_stripe" || report.Differences[0].InvoiceID != "inv-1" {
		t.Fatalf("json: %d %v\n%s", code, err, out)
	}
	if code, _, errOut := f.run("-from", today, "-to", tomorrow, "-stripe-account", "revoked"); code != 3 || !strings.Contains(errOut, "could not complete") {
		t.Fatalf("revoked key: %d %s", code, errOut)
	}
}

// Bad flags, a bad period, an unknown account and a bad configuration are exit status 2,
// naming what to fix; help is not an error.
func TestBadInputIsExitStatusTwo(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"-to", "2026-12-01"}, nil, "-from"},
		{[]string{"-from", "2026-11-01"}, nil, "-to"},
		{[]string{"-from", "November", "-to", "2026-12-01"}, nil, "-from"},
		{[]string{"-from", "2026-12-01", "-to", "2026-11-01"}, nil, "-to: to must be after from"},
		{[]string{"-from", "2025-01-01", "-to", "2026-12-01"}, nil, "366 days"},
		{[]string{"-from", "2026-11-01", "-to", "2026-12-01", "-stripe-account", "nope"}, nil, "-stripe-account"},
		{[]string{"-from", "2026-11-01", "-to", "2026-12-01", "-anrok-connection", "nope"}, nil, "-anrok-connection"},
		{[]string{"-from", "2026-11-01", "-to", "2026-12-01", "extra"}, nil, "unexpected argument"},
		{[]string{"-month", "11"}, nil, "-month"},
		{[]string{"-from", "2026-11-01", "-to", "2026-12-01"}, map[string]string{"TAXFLOW_DATABASE_URL": f.env["TAXFLOW_DATABASE_URL"]}, "TAXFLOW_SECRET_KEY"},
		{[]string{"-from", "2026-11-01", "-to", "2026-12-01"}, map[string]string{"TAXFLOW_DATABASE_URL": "mysql://x", "TAXFLOW_SECRET_KEY": f.env["TAXFLOW_SECRET_KEY"]}, "TAXFLOW_DATABASE_URL"},
	} {
		var out, errOut bytes.Buffer
		env := f.env
		if c.env != nil {
			env = c.env
		}
		if code := run(context.Background(), c.args, env, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%v: %d, stderr %q", c.args, code, errOut.String())
		}
	}
	if code, _, errOut := f.run("-help"); code != 0 || !strings.Contains(errOut, "exit status") {
		t.Fatalf("help: %d %s", code, errOut)
	}
}
