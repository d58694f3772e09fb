package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/taxflow/taxflow/internal/estimate"
	"github.com/taxflow/taxflow/internal/failure"
	"github.com/taxflow/taxflow/internal/money"
)

type estimateLineRequest struct {
	ID           string          `json:"id" validate:"required,taxflowid"`
	ProductID    string          `json:"product_id" validate:"required,taxflowid"`
	Amount       json.RawMessage `json:"amount"`
	Quantity     json.RawMessage `json:"quantity"`
	TaxInclusive bool            `json:"tax_inclusive"`
}

type estimateRequest struct {
	CustomerID string                `json:"customer_id" validate:"required,taxflowid"`
	Currency   string                `json:"currency" validate:"required"`
	Date       string                `json:"date"`
	Lines      []estimateLineRequest `json:"lines" validate:"required,min=1,max=250,dive"`
}

// postEstimate estimates the tax of current usage or a one-off fee: the engine's ephemeral
// calculation, nothing committed; identical requests within 24 hours come from the cache.
func (s *Server) postEstimate(w http.ResponseWriter, r *http.Request) error {
	if s.Estimator == nil {
		return errorf(http.StatusServiceUnavailable, "estimates_unavailable", "", "this starter has no tax engine configured")
	}
	var req estimateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	var p problems
	p.checkStruct("", &req)
	if err := p.err(http.StatusBadRequest); err != nil {
		return err
	}
	in := estimate.Request{CustomerID: req.CustomerID, Currency: strings.ToLower(req.Currency)}
	if req.Date != "" {
		in.Date = parseTime(&p, "date", req.Date)
	}
	seen := map[string]bool{}
	for i, l := range req.Lines {
		line := estimate.Line{ID: l.ID, ProductID: l.ProductID, TaxInclusive: l.TaxInclusive}
		line.Amount = parseAmount(&p, fmt.Sprintf("lines[%d].amount", i), l.Amount, -maxLineAmount, maxLineAmount)
		line.Quantity = parseDecimal(&p, fmt.Sprintf("lines[%d].quantity", i), l.Quantity)
		if seen[l.ID] {
			p.add(fmt.Sprintf("lines[%d].id", i), "duplicate_line_id", fmt.Sprintf("line id %q appears twice", l.ID))
		}
		seen[l.ID] = true
		in.Lines = append(in.Lines, line)
	}
	if err := p.err(http.StatusBadRequest); err != nil {
		return err
	}
	if _, ok := money.LookupCurrency(req.Currency); !ok {
		return unprocessable("unknown_currency", "currency", fmt.Sprintf("currency %q is not one taxflow invoices in", req.Currency))
	}
	ans, err := s.Estimator.Estimate(r.Context(), in)
	switch fe, classified := failure.As(err); {
	case err == nil:
	case errors.Is(err, estimate.ErrNotFound):
		field := "customer_id"
		if strings.Contains(err.Error(), "product") {
			field = "lines"
		}
		return unprocessable("not_found", field, err.Error()+" does not exist")
	case classified && fe.Class == failure.NeedsPerson:
		return unprocessable(fe.Code, "", fe.Message)
	case classified:
		if fe.Class == failure.RateLimited {
			// Anrok's own Retry-After, or how long until taxflow's limiter has a slot.
			secs := max(int64(math.Ceil(fe.RetryAfter.Seconds())), 1)
			w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		}
		return errorf(http.StatusServiceUnavailable, "tax_engine_unavailable", "", "the tax engine did not answer ("+fe.Code+"): try again shortly")
	default:
		return err
	}
	writeJSON(w, http.StatusOK, ans)
	return nil
}
