package reconcile

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/taxflow/taxflow/activities"
	"github.com/taxflow/taxflow/internal/store/sqldb"
)

// stripeAccount is one Stripe account as the reconciliation reads it: taxflow's accounts
// that reach the same Stripe account (same base URL and key) are read once, under the
// first one's id.
type stripeAccount struct {
	name    string
	members []string // taxflow's account ids
	reader  StripeReader
}

// anrokAccount is one Anrok account: the taxflow connections sharing it (same base URL and
// key) and their transaction prefixes, longest first.
type anrokAccount struct {
	name     string
	members  []string
	prefixes []string
	reader   AnrokReader
}

// stripeAccounts groups taxflow's Stripe accounts by the Stripe account they reach.
func (r *Reconciler) stripeAccounts(rows []sqldb.StripeAccount) (map[string]*stripeAccount, error) {
	byReach := map[string]*stripeAccount{}
	out := map[string]*stripeAccount{}
	for _, acct := range rows {
		key, err := r.Secrets.Open(acct.ApiKeySealed, activities.SecretPlace("stripe_accounts", acct.ID, "api_key"))
		if err != nil {
			return nil, fmt.Errorf("the API key of Stripe account %s cannot be decrypted (put it again with PUT /v1/stripe-accounts/%s): %w", acct.ID, acct.ID, err)
		}
		reach := strings.TrimRight(deref(acct.BaseUrl), "/") + "\x00" + key
		g := byReach[reach]
		if g == nil {
			g = &stripeAccount{name: acct.ID, reader: r.Stripe(acct, key)}
			byReach[reach] = g
		}
		g.members = append(g.members, acct.ID)
		out[acct.ID] = g
	}
	return out, nil
}

// anrokAccounts groups taxflow's Anrok connections by the Anrok account they reach.
func (r *Reconciler) anrokAccounts(rows []sqldb.AnrokConnection) (map[string]*anrokAccount, error) {
	byReach := map[string]*anrokAccount{}
	out := map[string]*anrokAccount{}
	for _, conn := range rows {
		key, err := r.Secrets.Open(conn.ApiKeySealed, activities.SecretPlace("anrok_connections", conn.ID, "api_key"))
		if err != nil {
			return nil, fmt.Errorf("the API key of Anrok connection %s cannot be decrypted (put it again with PUT /v1/anrok-connections/%s): %w", conn.ID, conn.ID, err)
		}
		reach := strings.TrimRight(deref(conn.BaseUrl), "/") + "\x00" + strings.TrimSpace(key)
		g := byReach[reach]
		if g == nil {
			g = &anrokAccount{name: conn.ID, reader: r.Anrok(conn, key)}
			byReach[reach] = g
		}
		g.members = append(g.members, conn.ID)
		if !slices.Contains(g.prefixes, conn.TransactionPrefix) {
			g.prefixes = append(g.prefixes, conn.TransactionPrefix)
		}
		slices.SortStableFunc(g.prefixes, func(a, b string) int { return len(b) - len(a) })
		out[conn.ID] = g
	}
	return out, nil
}

// idPattern is taxflow's id rule (starter/api): ids never contain ':', which separates the
// parts of a transaction id.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// parseTransactionID reads the taxflow invoice id and suffix from an Anrok transaction id
// made under one of prefixes: "<prefix><invoice id>", "<...>:void", "<...>:dispute" or
// "<...>:cn-<credit note id>". Any other id is not taxflow's ("", "").
func parseTransactionID(id string, prefixes []string) (invoiceID, suffix string) {
	for _, p := range prefixes {
		rest, ok := strings.CutPrefix(id, p)
		if !ok {
			continue
		}
		inv, suf, _ := strings.Cut(rest, ":")
		if !idPattern.MatchString(inv) {
			continue
		}
		if cn, isCN := strings.CutPrefix(suf, suffixCreditNoteHead); suf == "" || suf == suffixVoid || suf == suffixDispute || (isCN && idPattern.MatchString(cn)) {
			return inv, suf
		}
	}
	return "", ""
}
