package activities

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/taxflow/taxflow/internal/failure"
	"github.com/taxflow/taxflow/internal/invoicing"
	"github.com/taxflow/taxflow/internal/store"
	"github.com/taxflow/taxflow/internal/testenv"
)

// loadFixture stores an invoice of two lines (their products, customer, billing
// configuration, Stripe account and a default Anrok connection) in a fresh database.
func loadFixture(t *testing.T) *Activities {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, testenv.NewDatabase(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	for _, sql := range []string{
		`INSERT INTO stripe_accounts (id, alias, api_key_sealed, api_key_hint, settings) VALUES ('acct', 'Main', 'sealed', 'sk_…1234', '{"tax_mode": "anrok_api"}')`,
		`INSERT INTO anrok_connections (id, name, api_key_sealed, api_key_hint, environment, transaction_prefix, is_default) VALUES ('anrok', 'Sandbox', 'sealed', '…5678', 'sandbox', 'tf:', true)`,
		`INSERT INTO products (id, name, anrok_product_id) VALUES ('seats', 'Seats', 'saas-1'), ('api', 'API calls', 'saas-2')`,
		`INSERT INTO customers (id, name) VALUES ('cust', 'Cherokee Street Analytics')`,
		`INSERT INTO billing_configurations (customer_id, id, stripe_account_id, stripe_customer_id, collection_method) VALUES ('cust', 'default', 'acct', 'cus_1', 'send_invoice')`,
		`INSERT INTO invoices (id, customer_id, currency, issued_at, period_start, period_end, billing_configuration_id, stripe_account_id, request_hash, subtotal, total, workflow_id)
		 VALUES ('inv', 'cust', 'usd', now(), now() - interval '30 days', now(), 'default', 'acct', 'h', 25000, 25000, 'invoice/inv')`,
		`INSERT INTO invoice_lines (invoice_id, id, position, product_id, amount) VALUES ('inv', 'l2', 2, 'api', 10000), ('inv', 'l1', 1, 'seats', 15000)`,
	} {
		if _, err := st.Pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	return &Activities{Store: st}
}

// One load reads the invoice with everything its steps use: lines in order, each line's
// product, the customer, the billing configuration, the Stripe account with its settings,
// and the connection.
func TestLoadInvoiceReadsEverythingAStepUses(t *testing.T) {
	a := loadFixture(t)
	b, err := a.loadInvoice(context.Background(), "inv", true)
	if err != nil {
		t.Fatal(err)
	}
	if b.Invoice.ID != "inv" || b.Invoice.Subtotal != 25000 || b.Customer.ID != "cust" || b.Billing.StripeCustomerID != "cus_1" ||
		b.StripeAccount.ID != "acct" || b.Settings.TaxMode != invoicing.TaxModeAnrokAPI || b.Anrok == nil || b.Anrok.ID != "anrok" {
		t.Fatalf("bundle: %+v", b)
	}
	if len(b.Lines) != 2 || b.Lines[0].ID != "l1" || b.Lines[1].ID != "l2" {
		t.Fatalf("lines out of order: %+v", b.Lines)
	}
	if len(b.Products) != 2 || *b.Products["seats"].AnrokProductID != "saas-1" || *b.Products["api"].AnrokProductID != "saas-2" {
		t.Fatalf("products: %+v", b.Products)
	}
}

// What the single read cannot find is named: a missing invoice, a billing configuration
// removed since the invoice was received (with the fix), each for a person to act on.
func TestLoadInvoiceNamesWhatIsMissing(t *testing.T) {
	a := loadFixture(t)
	ctx := context.Background()
	needsPerson := func(err error, code string) {
		t.Helper()
		var fe *failure.Error
		if !errors.As(err, &fe) || fe.Class != failure.NeedsPerson || fe.Code != code {
			t.Fatalf("got %v, want a needs-a-person failure %s", err, code)
		}
	}
	_, err := a.loadInvoice(ctx, "nope", false)
	needsPerson(err, "invoice_missing")

	if _, err := a.Store.Pool.Exec(ctx, `DELETE FROM billing_configurations WHERE customer_id = 'cust'`); err != nil {
		t.Fatal(err)
	}
	_, err = a.loadInvoice(ctx, "inv", false)
	needsPerson(err, invoicing.CodeBillingConfigMissing)
	if msg := err.Error(); !strings.Contains(msg, `"default"`) || !strings.Contains(msg, "PUT /v1/customers/cust") {
		t.Fatalf("the message names neither the configuration nor the fix: %q", msg)
	}
}

// The connection is chosen as the check step left it: the one the invoice was checked with;
// at the check (resolveConnection), the customer's, else the default; none at all leaves it
// nil for the check step to name.
func TestLoadInvoiceChoosesTheConnection(t *testing.T) {
	a := loadFixture(t)
	ctx := context.Background()
	exec := func(sql string) {
		t.Helper()
		if _, err := a.Store.Pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	conn := func(resolve bool, want string) {
		t.Helper()
		b, err := a.loadInvoice(ctx, "inv", resolve)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if b.Anrok != nil {
			got = b.Anrok.ID
		}
		if got != want {
			t.Fatalf("resolve %v: connection %q, want %q", resolve, got, want)
		}
		if len(b.Lines) != 2 || b.Customer.ID != "cust" || b.Billing.ID != "default" {
			t.Fatalf("resolve %v: bundle %+v", resolve, b)
		}
	}
	exec(`INSERT INTO anrok_connections (id, name, api_key_sealed, api_key_hint, environment, transaction_prefix) VALUES ('eu', 'EU entity', 'sealed', '…9', 'production', 'eu:')`)
	conn(false, "anrok") // not checked yet: the default
	exec(`UPDATE customers SET anrok_connection_id = 'eu' WHERE id = 'cust'`)
	conn(true, "eu") // the customer's
	exec(`UPDATE invoices SET anrok_connection_id = 'anrok' WHERE id = 'inv'`)
	conn(false, "anrok") // the one it was checked with, whatever the customer names now
	conn(true, "eu")     // a new check follows today's configuration

	exec(`UPDATE customers SET anrok_connection_id = NULL`)
	exec(`UPDATE invoices SET anrok_connection_id = NULL`)
	exec(`UPDATE anrok_connections SET is_default = false`)
	conn(true, "") // two connections and neither the default: none to choose
	exec(`DELETE FROM anrok_connections WHERE id = 'eu'`)
	conn(true, "anrok") // the only one
	exec(`DELETE FROM anrok_connections`)
	conn(true, "")
}
