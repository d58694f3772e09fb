package app

import (
	"net/http"
	"strings"
	"time"

	"github.com/taxflow/taxflow/internal/config"
	"github.com/taxflow/taxflow/internal/metrics"
	"github.com/taxflow/taxflow/internal/ratelimit"
	"github.com/taxflow/taxflow/internal/store"
	"github.com/taxflow/taxflow/internal/store/sqldb"
)

// providerClients builds the HTTP clients of every Stripe and Anrok call a process makes —
// the activities' and the reconciliation's alike: timed and counted per provider, and
// held to each account's rate limit, shared with every other process through Postgres.
type providerClients struct {
	stripe, anrok *http.Client
	limiter       *ratelimit.Limiter
}

func newProviderClients(cfg config.Config, st *store.Store, m *metrics.Metrics) providerClients {
	hc := HTTPClient()
	return providerClients{
		// Each provider's calls are timed and counted under its own name.
		stripe: m.InstrumentClient(metrics.ProviderStripe, hc),
		anrok:  m.InstrumentClient(metrics.ProviderAnrok, hc),
		// Every request waits for a send slot of its account, shared by all processes.
		limiter: &ratelimit.Limiter{Slots: st.Queries, MaxQueued: cfg.RateLimitQueue,
			Observe: func(key string, what ratelimit.Event, wait time.Duration) {
				provider, _, _ := strings.Cut(key, "/")
				m.ObserveRateLimit(provider, string(what), wait)
			}},
	}
}

// forStripe is the client of one Stripe account's calls.
func (p providerClients) forStripe(acct sqldb.StripeAccount) *http.Client {
	perSecond := ratelimit.PerSecond(acct.RequestsPerSecond, ratelimit.StripePerSecond(acct.ApiKeyHint))
	return p.limiter.Client(p.stripe, StripeLimitKey(acct.ID), perSecond)
}

// forAnrok is the client of one Anrok connection's calls.
func (p providerClients) forAnrok(conn sqldb.AnrokConnection) *http.Client {
	perSecond := ratelimit.PerSecond(conn.RequestsPerSecond, ratelimit.AnrokPerSecond)
	return p.limiter.Client(p.anrok, AnrokLimitKey(conn.ID), perSecond)
}
