package store_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taxflow/taxflow/internal/store"
	"github.com/taxflow/taxflow/internal/store/sqldb"
	"github.com/taxflow/taxflow/internal/testenv"
)

func TestMigrationsApplyOnceAndTwiceIsHarmless(t *testing.T) {
	ctx := context.Background()
	url := testenv.NewDatabase(t)
	st, err := store.Open(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	// A second process starting (the worker beside the starter) finds nothing to apply.
	st, err = store.Open(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var n int
	if err := st.Pool.QueryRow(ctx, "SELECT count(*) FROM goose_db_version WHERE version_id > 0").Scan(&n); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migrations: %v %v", files, err)
	}
	if n != len(files) {
		t.Fatalf("%d migrations recorded for %d files: each must apply exactly once", n, len(files))
	}
}

func TestDecimalQuantitiesRoundTripExactly(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, testenv.NewDatabase(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = st.UpsertStripeAccount(ctx, sqldb.UpsertStripeAccountParams{ID: "acct", Alias: "a", ApiKeySealed: "x", ApiKeyHint: "h", Settings: json.RawMessage(`{}`)})
	must(err)
	_, err = st.UpsertCustomer(ctx, sqldb.UpsertCustomerParams{ID: "c", Name: "C", TaxIds: json.RawMessage(`[]`)})
	must(err)
	_, err = st.UpsertProduct(ctx, sqldb.UpsertProductParams{ID: "p", Name: "P"})
	must(err)
	now := time.Now().UTC()
	_, err = st.InsertInvoice(ctx, sqldb.InsertInvoiceParams{ID: "i", CustomerID: "c", Currency: "usd", IssuedAt: now, PeriodStart: now, PeriodEnd: now,
		BillingConfigurationID: "b", StripeAccountID: "acct", Metadata: json.RawMessage(`{}`), RequestHash: "h", Subtotal: 1, Total: 1, WorkflowID: "w"})
	must(err)
	q := decimal.RequireFromString("0.123456789012")
	_, err = st.InsertInvoiceLines(ctx, []sqldb.InsertInvoiceLinesParams{{InvoiceID: "i", ID: "l", Position: 0, ProductID: "p", Quantity: decimal.NullDecimal{Decimal: q, Valid: true}, Amount: 1}})
	must(err)
	lines, err := st.ListInvoiceLines(ctx, "i")
	must(err)
	if !lines[0].Quantity.Valid || !lines[0].Quantity.Decimal.Equal(q) || lines[0].UnitPrice.Valid {
		t.Fatalf("quantity %+v unit price %+v", lines[0].Quantity, lines[0].UnitPrice)
	}
}
