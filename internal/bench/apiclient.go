package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// apiClient calls taxflow's HTTP API as any client would: JSON, the bearer token.
type apiClient struct {
	base  string
	token string
	hc    *http.Client
}

func newAPIClient(base, token string) *apiClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// The scenarios run many clients at once: keep their connections open.
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 256, 256
	return &apiClient{base: strings.TrimRight(base, "/"), token: token, hc: &http.Client{Timeout: 60 * time.Second, Transport: tr}}
}

// apiError is an answer other than 2xx.
type apiError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, strings.TrimSpace(e.Body))
}

// do sends body as JSON (nil: none) and decodes a 2xx answer into out.
func (c *apiClient) do(ctx context.Context, method, path string, body, out any) (int, error) {
	var r io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: read the answer: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, &apiError{Method: method, Path: path, Status: resp.StatusCode, Body: string(data)}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decode the answer: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// putRateLimited PUTs a Stripe account or Anrok connection with requests_per_second, the
// per-account limit taxflow holds across its workers. A taxflow without that setting yet
// refuses the unknown field (400/422 naming it): the PUT is then sent again without it,
// and accepted says so — the run reports that taxflow did not know the limit.
func (c *apiClient) putRateLimited(ctx context.Context, path string, body map[string]any, rps int) (accepted bool, err error) {
	with := make(map[string]any, len(body)+1)
	for k, v := range body {
		with[k] = v
	}
	with["requests_per_second"] = rps
	_, err = c.do(ctx, http.MethodPut, path, with, nil)
	if err == nil {
		return true, nil
	}
	var e *apiError
	if errors.As(err, &e) && (e.Status == http.StatusBadRequest || e.Status == http.StatusUnprocessableEntity) &&
		strings.Contains(e.Body, "requests_per_second") {
		if _, err := c.do(ctx, http.MethodPut, path, body, nil); err != nil {
			return false, err
		}
		return false, nil
	}
	return false, err
}

// invoiceView is the part of GET /v1/invoices/{id} the benchmark reads.
type invoiceView struct {
	ID              string `json:"id"`
	Status          string `json:"status"`
	TaxStatus       string `json:"tax_status"`
	Tax             int64  `json:"tax"`
	Total           int64  `json:"total"`
	ExternalInvoice *struct {
		InvoiceID string `json:"invoice_id"`
	} `json:"external_invoice"`
}

func (c *apiClient) invoice(ctx context.Context, id string) (invoiceView, error) {
	var v invoiceView
	_, err := c.do(ctx, http.MethodGet, "/v1/invoices/"+id, nil, &v)
	return v, err
}

// doSigned POSTs a Stripe webhook: the raw payload with its Stripe-Signature (no token).
func (c *apiClient) doSigned(ctx context.Context, path string, payload []byte, signature string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(payload))
	if err != nil {
		return 0, fmt.Errorf("POST %s: %w", path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", signature)
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("POST %s: %w", req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		return resp.StatusCode, &apiError{Method: req.Method, Path: req.URL.Path, Status: resp.StatusCode, Body: string(data)}
	}
	return resp.StatusCode, nil
}
