package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// apiClient talks to the starter's public API, as a billing engine would.
type apiClient struct {
	base, token string
	hc          *http.Client
}

func newAPIClient(base, token string) *apiClient {
	return &apiClient{base: base, token: token, hc: &http.Client{Timeout: 30 * time.Second}}
}

// apiError is an answer other than 2xx.
type apiError struct {
	Status int
	Body   string
}

func (e *apiError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Status, e.Body) }

// do sends one request; a network error or a non-2xx answer is an error (*apiError for the
// latter).
func (c *apiClient) do(ctx context.Context, method, path string, body, out any) (int, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, &apiError{Status: resp.StatusCode, Body: strings.TrimSpace(string(data))}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// invoiceSummary is one row of GET /v1/invoices.
type invoiceSummary struct {
	ID              string `json:"id"`
	Status          string `json:"status"`
	TaxStatus       string `json:"tax_status"`
	Step            string `json:"step"`
	Tax             int64  `json:"tax"`
	Total           int64  `json:"total"`
	ExternalInvoice *struct {
		InvoiceID string `json:"invoice_id"`
	} `json:"external_invoice"`
	AnrokTxID *string `json:"anrok_transaction_id"`
}

// listInvoices reads every invoice, page by page.
func (c *apiClient) listInvoices(ctx context.Context) (map[string]invoiceSummary, error) {
	out := map[string]invoiceSummary{}
	cursor := ""
	for {
		q := url.Values{"limit": {"500"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page struct {
			Data       []invoiceSummary `json:"data"`
			NextCursor *string          `json:"next_cursor"`
		}
		if _, err := c.do(ctx, http.MethodGet, "/v1/invoices?"+q.Encode(), nil, &page); err != nil {
			return nil, err
		}
		for _, inv := range page.Data {
			out[inv.ID] = inv
		}
		if page.NextCursor == nil {
			return out, nil
		}
		cursor = *page.NextCursor
	}
}

// invoiceDetail is the part of GET /v1/invoices/{id} the run checks: its errors, and what
// taxflow recorded of the Stripe invoice and the Anrok transaction.
type invoiceDetail struct {
	Errors           []invoiceError   `json:"errors"`
	ExternalInvoice  *externalInvoice `json:"external_invoice"`
	AnrokTransaction *anrokRecord     `json:"anrok_transaction"`
}

// invoiceError is one error recorded on an invoice.
type invoiceError struct {
	Code       string     `json:"code"`
	Message    string     `json:"message"`
	Step       string     `json:"step"`
	ResolvedAt *time.Time `json:"resolved_at"`
}

// externalInvoice is taxflow's record of the Stripe invoice.
type externalInvoice struct {
	InvoiceID string  `json:"invoice_id"`
	Number    *string `json:"number"`
}

// anrokRecord is taxflow's record of the Anrok transaction.
type anrokRecord struct {
	ID      string `json:"id"`
	Version *int64 `json:"version"`
	Status  string `json:"status"`
}

// getInvoice reads one invoice.
func (c *apiClient) getInvoice(ctx context.Context, id string) (invoiceDetail, error) {
	var inv invoiceDetail
	_, err := c.do(ctx, http.MethodGet, "/v1/invoices/"+url.PathEscape(id), nil, &inv)
	return inv, err
}

// openError returns the code and message of the invoice's unresolved error, if any.
func (d invoiceDetail) openError() (code, message string) {
	for _, e := range d.Errors {
		if e.ResolvedAt == nil {
			code, message = e.Code, e.Message
		}
	}
	return code, message
}
