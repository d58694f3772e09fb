package anroktax

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taxflow/taxflow/internal/anrok"
	"github.com/taxflow/taxflow/internal/anroksim"
	"github.com/taxflow/taxflow/internal/tax"
)

func engine(t *testing.T) (*Engine, *anroksim.Server) {
	sim := anroksim.New(anroksim.Options{})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return New(anrok.New(anrok.Config{BaseURL: srv.URL, APIKey: "sxxx/saxxx/secret.xxx"})), sim
}

func denver() tax.Request {
	return tax.Request{
		TransactionID: "taxflow:inv-1",
		Currency:      "usd",
		Customer: tax.Customer{ID: "taxflow:cust-1", Name: "Cherokee", Address: tax.Address{
			Line1: "1450 Cherokee St", City: "Denver", Region: "CO", PostalCode: "80204", Country: "US"}},
		Lines:          []tax.Line{{ID: "item-1", ProductCode: "saas-product-1", Amount: 15000}},
		AccountingTime: time.Now(),
	}
}

func TestDenverExampleBecomesABreakdownWithLevelsAndTypes(t *testing.T) {
	e, _ := engine(t)
	res, err := e.Calculate(context.Background(), denver())
	if err != nil {
		t.Fatal(err)
	}
	if res.Tax != 722 || len(res.Lines) != 1 || res.Lines[0].LineID != "item-1" || len(res.Lines[0].Raw) == 0 {
		t.Fatalf("result %+v", res)
	}
	bd := res.Lines[0].Breakdown
	if len(bd) != 2 {
		t.Fatalf("breakdown %+v", bd)
	}
	if bd[0].Jurisdiction != "Colorado" || bd[0].Level != "state" || bd[0].NotTaxedReason != "productNotTaxed" || bd[0].State != "CO" {
		t.Fatalf("Colorado %+v", bd[0])
	}
	if bd[1].Jurisdiction != "Denver (local)" || bd[1].Level != "city" || bd[1].TaxType != "sales_tax" ||
		!bd[1].TaxAmount.Equal(decimal.RequireFromString("721.5")) || !bd[1].Rate.Equal(decimal.RequireFromString("0.0481")) {
		t.Fatalf("Denver %+v", bd[1])
	}
}

func TestCommitRecordsTheTransactionAndVoidOfAFrozenOneSaysSo(t *testing.T) {
	e, sim := engine(t)
	ctx := context.Background()
	res, err := e.Commit(ctx, denver())
	if err != nil {
		t.Fatal(err)
	}
	if res.TransactionID != "taxflow:inv-1" || res.TransactionVersion != 1 {
		t.Fatalf("commit %+v", res)
	}
	if err := sim.Freeze("taxflow:inv-1"); err != nil {
		t.Fatal(err)
	}
	err = e.Void(ctx, "taxflow:inv-1", 1)
	if !errors.Is(err, tax.ErrTransactionFrozen) {
		t.Fatalf("void of a frozen transaction: %v", err)
	}
	if err := e.Negate(ctx, "taxflow:inv-1", "taxflow:inv-1:void", 1); err != nil {
		t.Fatal(err)
	}
	if err := e.Negate(ctx, "taxflow:inv-1", "taxflow:inv-1:void", 1); !errors.Is(err, tax.ErrDuplicateTransaction) {
		t.Fatalf("second negation: %v", err)
	}
}

func TestOnlyVATRegistrationsAreSentAsTaxIDs(t *testing.T) {
	got := taxIDs([]tax.TaxID{{Type: "eu_vat", Value: "DE1"}, {Type: "gb_vat", Value: "GB1"}, {Type: "au_abn", Value: "AU1"}, {Type: "us_ein", Value: "12-3"}})
	want := []anrok.TaxID{{Type: "euVrn", Value: "DE1"}, {Type: "genericVatNumber", Value: "GB1"}, {Type: "genericVatNumber", Value: "AU1"}}
	if len(got) != len(want) {
		t.Fatalf("%+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%+v", got)
		}
	}
}

func TestJurisdictionLevels(t *testing.T) {
	cases := []struct {
		name, country string
		pos           int
		want          string
	}{
		{"Colorado", "US", 0, "state"},
		{"Denver (local)", "US", 1, "city"},
		{"New York City (local)", "US", 1, "city"},
		{"King County", "US", 1, "county"},
		{"Regional Transit District", "US", 2, "district"},
		{"Germany", "DE", 0, "country"},
	}
	for _, c := range cases {
		if got := jurisdictionLevel(c.name, c.country, c.pos); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

func TestLine2JoinsLine1AndAccountingZoneIsSent(t *testing.T) {
	req := denver()
	req.Customer.Address.Line2 = "Suite 5"
	req.AccountingTimeZone = "America/Denver"
	tr := toTransaction(req, false)
	if tr.CustomerAddress.Line1 != "1450 Cherokee St, Suite 5" || tr.AccountingTimeZone != "America/Denver" || tr.ID != "" || tr.CurrencyCode != "USD" {
		t.Fatalf("%+v", tr)
	}
}
