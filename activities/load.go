package activities

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/taxflow/taxflow/internal/failure"
	"github.com/taxflow/taxflow/internal/invoicing"
	"github.com/taxflow/taxflow/internal/store"
	"github.com/taxflow/taxflow/internal/store/sqldb"
	"github.com/taxflow/taxflow/internal/tax"
)

// invoiceBundle is an invoice with everything its steps read, loaded from Postgres.
type invoiceBundle struct {
	Invoice       sqldb.Invoice
	Lines         []sqldb.InvoiceLine
	Customer      sqldb.Customer
	Products      map[string]sqldb.Product
	StripeAccount sqldb.StripeAccount
	Settings      invoicing.StripeSettings
	Billing       sqldb.BillingConfiguration
	// Anrok is the connection the invoice uses (nil when none is configured).
	Anrok *sqldb.AnrokConnection
}

// loadInvoice loads an invoice. With resolveConnection it picks the Anrok connection from
// the current configuration (the check step: a retry uses today's configuration); otherwise
// it uses the connection the invoice was checked with. Every activity calls it, so it reads
// in two round trips: the invoice with its customer, Stripe account, billing configuration
// and connection; then the lines with their products. When the first finds nothing,
// something is missing, and loadByParts reads record by record to say what.
func (a *Activities) loadInvoice(ctx context.Context, invoiceID string, resolveConnection bool) (*invoiceBundle, error) {
	q := a.Store.Queries
	var b *invoiceBundle
	row, err := q.GetInvoiceBundle(ctx, sqldb.GetInvoiceBundleParams{ID: invoiceID, ResolveConnection: resolveConnection})
	switch {
	case err == nil:
		b = &invoiceBundle{Invoice: row.Invoice, Customer: row.Customer, StripeAccount: row.StripeAccount,
			Billing: row.BillingConfiguration, Anrok: &row.AnrokConnection}
	case store.IsNotFound(err):
		if b, err = a.loadByParts(ctx, invoiceID, resolveConnection); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("load invoice %s: %w", invoiceID, err)
	}
	lines, err := q.ListInvoiceLinesWithProducts(ctx, invoiceID)
	if err != nil {
		return nil, fmt.Errorf("load lines of %s: %w", invoiceID, err)
	}
	b.Lines = make([]sqldb.InvoiceLine, 0, len(lines))
	b.Products = make(map[string]sqldb.Product, len(lines))
	for _, l := range lines {
		b.Lines = append(b.Lines, l.InvoiceLine)
		b.Products[l.Product.ID] = l.Product
	}
	if b.Settings, err = invoicing.ParseStripeSettings(b.StripeAccount.Settings); err != nil {
		return nil, corrupt("settings of Stripe account "+b.StripeAccount.ID, err)
	}
	return b, nil
}

// loadByParts reads what GetInvoiceBundle joins, one record at a time, naming what is
// missing: the invoice or its billing configuration fail for a person to act on; no Anrok
// connection leaves Anrok nil (the check step names the fix). The customer and the Stripe
// account cannot be missing: the invoice references them.
func (a *Activities) loadByParts(ctx context.Context, invoiceID string, resolveConnection bool) (*invoiceBundle, error) {
	q := a.Store.Queries
	inv, err := q.GetInvoice(ctx, invoiceID)
	if err != nil {
		if store.IsNotFound(err) {
			return nil, failure.NeedsPersonError(failure.ProviderTaxflow, "invoice_missing",
				fmt.Sprintf("invoice %s is not in the database", invoiceID))
		}
		return nil, fmt.Errorf("load invoice %s: %w", invoiceID, err)
	}
	b := &invoiceBundle{Invoice: inv}
	if b.Customer, err = q.GetCustomer(ctx, inv.CustomerID); err != nil {
		return nil, fmt.Errorf("load customer %s: %w", inv.CustomerID, err)
	}
	if b.StripeAccount, err = q.GetStripeAccount(ctx, inv.StripeAccountID); err != nil {
		return nil, fmt.Errorf("load stripe account %s: %w", inv.StripeAccountID, err)
	}
	b.Billing, err = q.GetBillingConfiguration(ctx, sqldb.GetBillingConfigurationParams{CustomerID: inv.CustomerID, ID: inv.BillingConfigurationID})
	if err != nil {
		if store.IsNotFound(err) {
			return nil, failure.NeedsPersonError(failure.ProviderTaxflow, invoicing.CodeBillingConfigMissing,
				fmt.Sprintf("customer %s no longer has billing configuration %q: add it back with PUT /v1/customers/%s", inv.CustomerID, inv.BillingConfigurationID, inv.CustomerID))
		}
		return nil, fmt.Errorf("load billing configuration: %w", err)
	}
	// The connection, chosen as GetInvoiceBundle chooses it.
	var conn sqldb.AnrokConnection
	switch {
	case inv.AnrokConnectionID != nil && !resolveConnection:
		conn, err = q.GetAnrokConnection(ctx, *inv.AnrokConnectionID)
	case b.Customer.AnrokConnectionID != nil:
		conn, err = q.GetAnrokConnection(ctx, *b.Customer.AnrokConnectionID)
	default:
		conn, err = q.GetDefaultAnrokConnection(ctx)
	}
	switch {
	case err == nil:
		b.Anrok = &conn
	case store.IsNotFound(err):
	default:
		return nil, fmt.Errorf("load anrok connection: %w", err)
	}
	return b, nil
}

func (b *invoiceBundle) addresses() (shipping, billingAddr *tax.Address, err error) {
	parse := func(raw json.RawMessage) (*tax.Address, error) {
		if len(raw) == 0 || string(raw) == "null" {
			return nil, nil
		}
		var a tax.Address
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, corrupt(fmt.Sprintf("stored address of customer %s", b.Customer.ID), err)
		}
		return &a, nil
	}
	if shipping, err = parse(b.Customer.ShippingAddress); err != nil {
		return nil, nil, err
	}
	billingAddr, err = parse(b.Customer.BillingAddress)
	return shipping, billingAddr, err
}

func (b *invoiceBundle) taxIDs() ([]tax.TaxID, error) {
	var ids []tax.TaxID
	if len(b.Customer.TaxIds) > 0 {
		if err := json.Unmarshal(b.Customer.TaxIds, &ids); err != nil {
			return nil, corrupt(fmt.Sprintf("stored tax ids of customer %s", b.Customer.ID), err)
		}
	}
	return ids, nil
}

// corrupt is stored data taxflow cannot read: retrying cannot help, a person must look.
func corrupt(what string, err error) error {
	return &failure.Error{Provider: failure.ProviderTaxflow, Class: failure.NeedsPerson, Code: "stored_data_unreadable",
		Message: what + " cannot be read: put the record again through the API", Err: err}
}
