package app

import (
	"github.com/taxflow/taxflow/internal/anrok"
	"github.com/taxflow/taxflow/internal/billing/stripebilling"
	"github.com/taxflow/taxflow/internal/config"
	"github.com/taxflow/taxflow/internal/metrics"
	"github.com/taxflow/taxflow/internal/reconcile"
	"github.com/taxflow/taxflow/internal/secretbox"
	"github.com/taxflow/taxflow/internal/store"
	"github.com/taxflow/taxflow/internal/store/sqldb"
)

// NewReconciler builds the reconciliation (the starter's GET /v1/reconciliation and the
// reconcile command) on the activities' provider clients: its reads take their send slots
// from the same per-account rate limits as the workers' calls, so a reconciliation at month
// end never pushes an account over its provider's limit.
func NewReconciler(cfg config.Config, st *store.Store, keys *secretbox.Keyring, m *metrics.Metrics) *reconcile.Reconciler {
	clients := newProviderClients(cfg, st, m)
	return &reconcile.Reconciler{
		Store:   st,
		Secrets: keys,
		Stripe: func(acct sqldb.StripeAccount, apiKey string) reconcile.StripeReader {
			return stripebilling.New(stripebilling.Config{APIKey: apiKey, BaseURL: deref(acct.BaseUrl), HTTPClient: clients.forStripe(acct)})
		},
		Anrok: func(conn sqldb.AnrokConnection, apiKey string) reconcile.AnrokReader {
			return anrok.New(anrok.Config{BaseURL: deref(conn.BaseUrl), APIKey: apiKey, HTTPClient: clients.forAnrok(conn), UserAgent: "taxflow"})
		},
	}
}
