// Package demo loads the demo configuration and invoices that `make run` shows: a Stripe
// account and an Anrok connection (the simulators, or real accounts when keys are given),
// products, customers in Denver, New York, Berlin and London, and one invoice each — the
// Denver one being Anrok's documented example (150.00 USD of SaaS → 7.22 tax). It talks to
// taxflow only through its public HTTP API, like any client.
package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v82"
)

// Options says where everything is.
type Options struct {
	// APIURL is the starter's base URL; Token its bearer token.
	APIURL string
	Token  string
	// StripeBaseURL is the Stripe simulator ("" = real Stripe); StripeKey its API key.
	StripeBaseURL string
	StripeKey     string
	// StripeWebhookSecret is the signing secret of the Stripe account's webhook endpoint
	// (whsec_...; "" = no webhooks).
	StripeWebhookSecret string
	// AnrokBaseURL is the Anrok simulator ("" = real Anrok); AnrokKey its API key.
	AnrokBaseURL string
	AnrokKey     string
	// RunID makes the demo invoice ids unique per run.
	RunID      string
	HTTPClient *http.Client
}

// Invoice is a demo invoice and what it should come to.
type Invoice struct {
	ID          string
	Customer    string
	Description string
}

// Result lists the demo invoices posted.
type Result struct {
	Invoices []Invoice
}

// StripeAccountID and AnrokConnectionID are the demo's configuration ids;
// TransactionPrefix is its Anrok connection's prefix (an invoice's Anrok transaction is the
// prefix and the invoice id).
const (
	StripeAccountID   = "stripe-demo"
	AnrokConnectionID = "anrok-demo"
	TransactionPrefix = "taxflow-demo:"
)

type customer struct {
	id, name, email string
	address         map[string]string
	taxIDs          []map[string]string
	invoiceLabel    string
	lines           []map[string]any
	currency        string
}

var customers = []customer{
	{
		id: "cust-denver", name: "Cherokee Street Analytics", email: "billing@cherokee.example",
		address:      map[string]string{"line1": "1450 Cherokee St", "city": "Denver", "region": "CO", "postal_code": "80204", "country": "US"},
		invoiceLabel: "Denver, CO: Anrok's documented example (Colorado does not tax SaaS; Denver 4.81%)",
		currency:     "usd",
		lines:        []map[string]any{{"id": "l1", "product_id": "platform-fee", "description": "Platform fee, November", "amount": 15000}},
	},
	{
		id: "cust-nyc", name: "Hudson Data Co", email: "ap@hudson.example",
		address:      map[string]string{"line1": "350 5th Ave", "city": "New York", "region": "NY", "postal_code": "10118", "country": "US"},
		invoiceLabel: "New York, NY: state and city tax on SaaS, usage with a decimal quantity",
		currency:     "usd",
		lines: []map[string]any{
			{"id": "l1", "product_id": "platform-fee", "description": "Platform fee, November", "amount": 50000},
			{"id": "l2", "product_id": "api-calls", "description": "API calls", "quantity": "12500.5", "unit_price": "0.02", "amount": 25001},
		},
	},
	{
		id: "cust-berlin", name: "Spree Software GmbH", email: "rechnung@spree.example",
		address:      map[string]string{"line1": "Friedrichstr. 1", "city": "Berlin", "postal_code": "10117", "country": "DE"},
		taxIDs:       []map[string]string{{"type": "eu_vat", "value": "DE123456789"}},
		invoiceLabel: "Berlin, DE with a VAT number: reverse charge, no tax",
		currency:     "eur",
		lines:        []map[string]any{{"id": "l1", "product_id": "platform-fee", "description": "Platform fee, November", "amount": 40000}},
	},
	{
		id: "cust-london", name: "Thames Metrics Ltd", email: "accounts@thames.example",
		address:      map[string]string{"line1": "1 Canada Square", "city": "London", "postal_code": "E14 5AB", "country": "GB"},
		invoiceLabel: "London, GB without a VAT number: 20% VAT",
		currency:     "gbp",
		lines: []map[string]any{
			{"id": "l1", "product_id": "platform-fee", "description": "Platform fee, November", "amount": 30000},
			{"id": "l2", "product_id": "support", "description": "Premium support (not taxable product)", "amount": 5000},
		},
	},
}

// Load configures taxflow through its API and posts one invoice per demo customer.
func Load(ctx context.Context, o Options) (Result, error) {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if o.RunID == "" {
		o.RunID = time.Now().UTC().Format("20060102-150405")
	}
	c := &apiClient{o: o}
	stripeAccount := map[string]any{
		"alias": "Demo Stripe account", "api_key": o.StripeKey,
		"settings": map[string]any{"days_until_due": 30, "tax_mode": "anrok_api", "on_tax_timeout": "fail", "company_name": "taxflow demo"},
	}
	if o.StripeBaseURL != "" {
		stripeAccount["base_url"] = o.StripeBaseURL
	}
	if o.StripeWebhookSecret != "" {
		stripeAccount["webhook_secret"] = o.StripeWebhookSecret
	}
	if err := c.put("/v1/stripe-accounts/"+StripeAccountID, stripeAccount); err != nil {
		return Result{}, err
	}
	anrokConn := map[string]any{
		"name": "Demo Anrok sandbox", "api_key": o.AnrokKey, "environment": "sandbox",
		"accounting_time_zone": "America/New_York", "transaction_prefix": TransactionPrefix, "default": true,
	}
	if o.AnrokBaseURL != "" {
		anrokConn["base_url"] = o.AnrokBaseURL
	}
	if err := c.put("/v1/anrok-connections/"+AnrokConnectionID, anrokConn); err != nil {
		return Result{}, err
	}
	sc := stripeClient(o)
	// The platform fee is also a Stripe product, so its lines show as quantity × price.
	if err := ensureStripeProduct(ctx, sc, PlatformFeeStripeProduct, "Platform fee"); err != nil {
		return Result{}, err
	}
	for _, p := range []map[string]any{
		{"id": "platform-fee", "name": "Platform fee", "anrok_product_id": "saas-product-1", "stripe_product_id": PlatformFeeStripeProduct},
		{"id": "api-calls", "name": "API calls", "anrok_product_id": "saas-product-2"},
		{"id": "support", "name": "Premium support", "anrok_product_id": "not-taxable-3"},
	} {
		id := p["id"].(string)
		delete(p, "id")
		if err := c.put("/v1/products/"+id, p); err != nil {
			return Result{}, err
		}
	}
	var res Result
	for _, cu := range customers {
		// The Stripe customer gets its address too: Stripe's own tax (the Anrok Stripe app,
		// tax_mode stripe_app) reads it from there.
		params := &stripe.CustomerCreateParams{Name: stripe.String(cu.name), Email: stripe.String(cu.email), Address: &stripe.AddressParams{
			Line1: stripe.String(cu.address["line1"]), City: stripe.String(cu.address["city"]), PostalCode: stripe.String(cu.address["postal_code"]),
			Country: stripe.String(cu.address["country"]),
		}}
		if r := cu.address["region"]; r != "" {
			params.Address.State = stripe.String(r)
		}
		params.AddMetadata("taxflow_customer_id", cu.id)
		params.SetIdempotencyKey("taxflow-demo/" + o.RunID + "/" + cu.id)
		sCustomer, err := sc.V1Customers.Create(ctx, params)
		if err != nil {
			return Result{}, fmt.Errorf("create the Stripe customer of %s: %w", cu.id, err)
		}
		body := map[string]any{
			"name": cu.name, "email": cu.email, "billing_address": cu.address,
			"billing_configurations": []map[string]any{{
				"id": "default", "stripe_account_id": StripeAccountID, "stripe_customer_id": sCustomer.ID,
				"collection_method": "send_invoice",
			}},
		}
		if cu.taxIDs != nil {
			body["tax_ids"] = cu.taxIDs
		}
		if err := c.put("/v1/customers/"+cu.id, body); err != nil {
			return Result{}, err
		}
		inv := Invoice{ID: "demo-" + o.RunID + "-" + strings.TrimPrefix(cu.id, "cust-"), Customer: cu.id, Description: cu.invoiceLabel}
		now := time.Now().UTC()
		if err := c.post("/v1/invoices", map[string]any{
			"id": inv.ID, "customer_id": cu.id, "currency": cu.currency,
			"issued_at":      now.Format(time.RFC3339),
			"service_period": map[string]string{"start": now.AddDate(0, -1, 0).Format(time.RFC3339), "end": now.Format(time.RFC3339)},
			"lines":          cu.lines,
			"metadata":       map[string]string{"source": "taxflow demo"},
		}); err != nil {
			return Result{}, err
		}
		res.Invoices = append(res.Invoices, inv)
	}
	return res, nil
}

// quiet keeps stripe-go from printing expected 404s (a product not created yet).
type quiet struct{}

func (quiet) Debugf(string, ...interface{}) {}
func (quiet) Infof(string, ...interface{})  {}
func (quiet) Warnf(string, ...interface{})  {}
func (quiet) Errorf(string, ...interface{}) {}

// PlatformFeeStripeProduct is the demo's Stripe product.
const PlatformFeeStripeProduct = "prod_taxflow_demo_platform_fee"

func ensureStripeProduct(ctx context.Context, sc *stripe.Client, id, name string) error {
	if _, err := sc.V1Products.Retrieve(ctx, id, nil); err == nil {
		return nil
	}
	if _, err := sc.V1Products.Create(ctx, &stripe.ProductCreateParams{ID: stripe.String(id), Name: stripe.String(name)}); err != nil {
		return fmt.Errorf("create the Stripe product %s: %w", id, err)
	}
	return nil
}

func stripeClient(o Options) *stripe.Client {
	cfg := &stripe.BackendConfig{HTTPClient: o.HTTPClient, MaxNetworkRetries: stripe.Int64(2), LeveledLogger: quiet{}}
	if o.StripeBaseURL != "" {
		cfg.URL = stripe.String(o.StripeBaseURL)
	}
	return stripe.NewClient(o.StripeKey, stripe.WithBackends(stripe.NewBackendsWithConfig(cfg)))
}

// InvoiceState is the part of GET /v1/invoices/{id} the demo shows.
type InvoiceState struct {
	ID              string `json:"id"`
	Status          string `json:"status"`
	TaxStatus       string `json:"tax_status"`
	Currency        string `json:"currency"`
	Subtotal        int64  `json:"subtotal"`
	Tax             int64  `json:"tax"`
	Total           int64  `json:"total"`
	ExternalInvoice *struct {
		InvoiceID      string  `json:"invoice_id"`
		ExternalStatus *string `json:"external_status"`
	} `json:"external_invoice"`
	AnrokTransaction *struct {
		ID      string `json:"id"`
		Version int64  `json:"version"`
	} `json:"anrok_transaction"`
	Errors []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
}

// Get reads an invoice through the API.
func Get(ctx context.Context, o Options, id string) (InvoiceState, error) {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	c := &apiClient{o: o}
	var st InvoiceState
	err := c.do(ctx, http.MethodGet, "/v1/invoices/"+id, nil, &st)
	return st, err
}

// WaitSettled polls an invoice until it is finalized or failed, or ctx ends.
func WaitSettled(ctx context.Context, o Options, id string) (InvoiceState, error) {
	for {
		st, err := Get(ctx, o, id)
		if err == nil && (st.Status == "finalized" || st.Status == "failed" || st.Status == "void") {
			return st, nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = ctx.Err()
			}
			return st, fmt.Errorf("invoice %s still %s: %w", id, st.Status, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

type apiClient struct{ o Options }

func (c *apiClient) put(path string, body any) error {
	return c.do(context.Background(), http.MethodPut, path, body, nil)
}

func (c *apiClient) post(path string, body any) error {
	return c.do(context.Background(), http.MethodPost, path, body, nil)
}

func (c *apiClient) do(ctx context.Context, method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.o.APIURL, "/")+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.o.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.o.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(data)))
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}
