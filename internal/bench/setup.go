package bench

import (
	"context"
	"fmt"
	"net/http"

	"github.com/stripe/stripe-go/v82"
)

// benchCustomer is one customer of the benchmark: a US address Anrok's simulator taxes.
type benchCustomer struct {
	id, name                    string
	line1, city, region, postal string
	stripeCustomerID            string
}

var benchCustomers = []benchCustomer{
	{id: "cust-denver", name: "Cherokee Street Analytics", line1: "1450 Cherokee St", city: "Denver", region: "CO", postal: "80204"},
	{id: "cust-nyc", name: "Hudson Data Co", line1: "350 5th Ave", city: "New York", region: "NY", postal: "10118"},
	{id: "cust-seattle", name: "Sound Metrics LLC", line1: "400 Broad St", city: "Seattle", region: "WA", postal: "98109"},
	{id: "cust-austin", name: "Congress Avenue Labs", line1: "100 Congress Ave", city: "Austin", region: "TX", postal: "78701"},
}

// configure loads the stack's configuration through the public API, as an operator would:
// the Stripe account and the Anrok connection (with their rate limits), the product, and
// the customers (each created in the Stripe simulator first).
func (s *stack) configure(ctx context.Context) error {
	account := map[string]any{
		"alias": "Benchmark Stripe account", "api_key": s.stripeKey, "webhook_secret": s.webhookSecret,
		"base_url": s.stripe.url,
		"settings": map[string]any{"days_until_due": 30, "tax_mode": "anrok_api", "on_tax_timeout": "fail", "company_name": "taxflow bench"},
	}
	stripeOK, err := s.api.putRateLimited(ctx, "/v1/stripe-accounts/"+stripeAccountID, account, s.cfg.taxflowStripeRPS)
	if err != nil {
		return fmt.Errorf("configure the Stripe account: %w", err)
	}
	conn := map[string]any{
		"name": "Benchmark Anrok sandbox", "api_key": s.anrokKey, "base_url": s.anrok.url, "environment": "sandbox",
		"accounting_time_zone": "America/New_York", "transaction_prefix": "taxflow-bench:", "default": true,
	}
	anrokOK, err := s.api.putRateLimited(ctx, "/v1/anrok-connections/"+anrokConnectionID, conn, s.cfg.taxflowAnrokRPS)
	if err != nil {
		return fmt.Errorf("configure the Anrok connection: %w", err)
	}
	s.rateLimitsAccepted = stripeOK && anrokOK
	if !s.rateLimitsAccepted {
		s.p.progress.logf(s.cfg.name, "taxflow does not take requests_per_second yet (Stripe account: %v, Anrok connection: %v): it runs without its own limit", stripeOK, anrokOK)
	}
	if _, err := s.api.do(ctx, http.MethodPut, "/v1/products/"+productID, map[string]any{"name": "Platform fee", "anrok_product_id": "saas-product-1"}, nil); err != nil {
		return fmt.Errorf("configure the product: %w", err)
	}
	sc := stripe.NewClient(s.stripeKey, stripe.WithBackends(stripe.NewBackendsWithConfig(&stripe.BackendConfig{
		URL: stripe.String(s.stripe.url), MaxNetworkRetries: stripe.Int64(5), LeveledLogger: quietStripeLog{},
	})))
	for _, c := range benchCustomers {
		params := &stripe.CustomerCreateParams{Name: stripe.String(c.name), Address: &stripe.AddressParams{
			Line1: stripe.String(c.line1), City: stripe.String(c.city), State: stripe.String(c.region),
			PostalCode: stripe.String(c.postal), Country: stripe.String("US"),
		}}
		params.AddMetadata("taxflow_customer_id", c.id)
		sCustomer, err := sc.V1Customers.Create(ctx, params)
		if err != nil {
			return fmt.Errorf("create the Stripe customer of %s: %w", c.id, err)
		}
		body := map[string]any{
			"name":            c.name,
			"billing_address": map[string]string{"line1": c.line1, "city": c.city, "region": c.region, "postal_code": c.postal, "country": "US"},
			"billing_configurations": []map[string]any{{
				"id": "default", "stripe_account_id": stripeAccountID, "stripe_customer_id": sCustomer.ID, "collection_method": "send_invoice",
			}},
		}
		if _, err := s.api.do(ctx, http.MethodPut, "/v1/customers/"+c.id, body, nil); err != nil {
			return fmt.Errorf("configure customer %s: %w", c.id, err)
		}
		s.customers = append(s.customers, c.id)
	}
	return nil
}

// quietStripeLog keeps stripe-go from printing its retries of the simulator's 429s.
type quietStripeLog struct{}

func (quietStripeLog) Debugf(string, ...interface{}) {}
func (quietStripeLog) Infof(string, ...interface{})  {}
func (quietStripeLog) Warnf(string, ...interface{})  {}
func (quietStripeLog) Errorf(string, ...interface{}) {}
