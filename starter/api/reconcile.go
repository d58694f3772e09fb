package api

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/taxflow/taxflow/internal/failure"
	"github.com/taxflow/taxflow/internal/reconcile"
)

// Reconciler answers GET /v1/reconciliation (reconcile.Reconciler, built by internal/app).
type Reconciler interface {
	Reconcile(ctx context.Context, p reconcile.Params) (reconcile.Report, error)
}

var _ Reconciler = (*reconcile.Reconciler)(nil)

// reconcile serves GET /v1/reconciliation?from=&to=[&stripe_account_id=][&anrok_connection_id=]:
// taxflow's invoices received in [from, to) compared with Stripe's invoices and Anrok's
// transactions, every difference listed with what to do. It only reads: nothing is changed
// in Stripe, Anrok or taxflow.
func (s *Server) reconcile(w http.ResponseWriter, r *http.Request) error {
	if s.Reconciler == nil {
		return errorf(http.StatusServiceUnavailable, "reconciliation_unavailable", "", "this starter has no reconciliation configured")
	}
	params, err := reconciliationParams(r)
	if err != nil {
		return err
	}
	report, err := s.Reconciler.Reconcile(r.Context(), params)
	var pe *reconcile.ParamError
	switch fe, classified := failure.As(err); {
	case err == nil:
	case errors.As(err, &pe):
		return unprocessable(pe.Code, pe.Field, pe.Message)
	case classified && fe.Class == failure.NeedsPerson:
		// A provider refused the reads (a revoked key, say): the request is fine, the
		// configuration is not.
		return unprocessable(fe.Code, "", "the reconciliation could not read a provider: "+err.Error())
	case classified:
		// A 503 carries Retry-After (writeError).
		return errorf(http.StatusServiceUnavailable, "provider_unavailable", "",
			"a provider did not answer the reconciliation's reads ("+fe.Code+"): try again shortly")
	default:
		return err
	}
	writeJSON(w, http.StatusOK, report)
	return nil
}

// reconciliationParams reads the query: a malformed or unknown parameter is a 400 naming it;
// a period that cannot be reconciled (to before from, over 366 days) a 422.
func reconciliationParams(r *http.Request) (reconcile.Params, error) {
	q := r.URL.Query()
	var p problems
	for _, name := range slices.Sorted(maps.Keys(q)) {
		switch name {
		case "from", "to", "stripe_account_id", "anrok_connection_id":
			if len(q[name]) > 1 {
				p.add(name, "invalid_field", name+" may be given once")
			}
		default:
			p.add(name, "unknown_parameter", fmt.Sprintf("unknown query parameter %q: the parameters are from, to, stripe_account_id and anrok_connection_id", name))
		}
	}
	params := reconcile.Params{From: parseTime(&p, "from", q.Get("from")), To: parseTime(&p, "to", q.Get("to"))}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"stripe_account_id", &params.StripeAccountID}, {"anrok_connection_id", &params.AnrokConnectionID}} {
		v := q.Get(f.name)
		if v != "" && !idPattern.MatchString(v) {
			p.add(f.name, "invalid_id", f.name+" must be "+idRule)
		}
		*f.dst = v
	}
	if err := p.err(http.StatusBadRequest); err != nil {
		return params, err
	}
	if err := params.Validate(); err != nil {
		var pe *reconcile.ParamError
		if errors.As(err, &pe) {
			return params, unprocessable(pe.Code, pe.Field, pe.Message)
		}
		return params, err
	}
	return params, nil
}
