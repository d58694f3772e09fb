package anrok

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/taxflow/taxflow/internal/failure"
)

// DefaultBaseURL is Anrok's production API.
const DefaultBaseURL = "https://api.anrok.com"

// DefaultTimeout bounds one call when Config.HTTPClient is not given.
const DefaultTimeout = 30 * time.Second

// DefaultUserAgent identifies taxflow to Anrok when Config.UserAgent is empty.
const DefaultUserAgent = "taxflow-anrok-client/1"

const (
	// maxErrorBody bounds how much of an error answer is read: only a message is needed,
	// and a misbehaving proxy must not make the worker buffer an arbitrary page.
	maxErrorBody = 64 << 10
	// maxResponseBody bounds a successful answer: a transaction with thousands of lines and
	// several jurisdictions each stays well below it.
	maxResponseBody = 32 << 20
)

// Config configures a Client.
type Config struct {
	// BaseURL is Anrok's API root; empty means DefaultBaseURL. Point it at the anroksim
	// simulator for the no-account sandbox.
	BaseURL string
	// APIKey is the seller's API key, sent as a bearer token and never logged.
	APIKey string
	// HTTPClient makes the calls; nil means a client with DefaultTimeout.
	HTTPClient *http.Client
	// UserAgent is sent on every call; empty means DefaultUserAgent.
	UserAgent string
}

// String keeps the API key out of anything that prints a Config.
func (c Config) String() string {
	return fmt.Sprintf("anrok.Config{BaseURL: %q, APIKey: %s, UserAgent: %q}", c.BaseURL, redactedKey(c.APIKey), c.UserAgent)
}

// GoString keeps the API key out of %#v.
func (c Config) GoString() string { return c.String() }

// LogValue keeps the API key out of structured logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("base_url", c.BaseURL),
		slog.String("api_key", redactedKey(c.APIKey)),
		slog.String("user_agent", c.UserAgent),
	)
}

func redactedKey(k string) string {
	if k == "" {
		return "(none)"
	}
	return "[redacted]"
}

// Client calls Anrok's seller API. It is safe for concurrent use.
type Client struct {
	baseURL   string
	apiKey    string
	http      *http.Client
	userAgent string
}

// New returns a Client for cfg. It does not call Anrok.
func New(cfg Config) *Client {
	c := &Client{
		baseURL:   strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/"),
		apiKey:    strings.TrimSpace(cfg.APIKey),
		http:      cfg.HTTPClient,
		userAgent: cfg.UserAgent,
	}
	if c.baseURL == "" {
		c.baseURL = DefaultBaseURL
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: DefaultTimeout}
	}
	if c.userAgent == "" {
		c.userAgent = DefaultUserAgent
	}
	return c
}

// String keeps the API key out of anything that prints a Client (fmt would otherwise
// print its unexported fields).
func (c *Client) String() string {
	return fmt.Sprintf("anrok.Client{BaseURL: %q, APIKey: %s}", c.baseURL, redactedKey(c.apiKey))
}

// GoString keeps the API key out of %#v.
func (c *Client) GoString() string { return c.String() }

// LogValue keeps the API key out of structured logs.
func (c *Client) LogValue() slog.Value {
	return slog.GroupValue(slog.String("base_url", c.baseURL), slog.String("api_key", redactedKey(c.apiKey)))
}

// CreateEphemeral computes the tax of a transaction without saving it: Anrok neither files
// it nor counts it toward nexus, so it is the call for drafts and estimates. req.ID is not
// sent.
func (c *Client) CreateEphemeral(ctx context.Context, req TransactionRequest) (*TaxResponse, error) {
	req.ID = ""
	return c.tax(ctx, "createEphemeral", "/v1/seller/transactions/createEphemeral", req, false)
}

// CreateOrUpdate computes the tax of a transaction and saves it under req.ID for filing.
// Calling it again with the same id replaces the transaction and bumps its version, so a
// retry after a timeout is safe: at worst the version moves on by one.
func (c *Client) CreateOrUpdate(ctx context.Context, req TransactionRequest) (*TaxResponse, error) {
	if strings.TrimSpace(req.ID) == "" {
		p := append([]string{"id is required by createOrUpdate (the transaction id)"}, req.problems()...)
		return nil, invalid(p)
	}
	return c.tax(ctx, "createOrUpdate", "/v1/seller/transactions/createOrUpdate", req, true)
}

func (c *Client) tax(ctx context.Context, endpoint, path string, req TransactionRequest, wantVersion bool) (*TaxResponse, error) {
	cl := call{endpoint: endpoint, transactionID: req.ID, currencyCode: req.CurrencyCode, taxDate: req.TaxDate}
	if p := req.problems(); len(p) > 0 {
		return nil, invalid(p)
	}
	body, status, err := c.post(ctx, cl, path, req)
	if err != nil {
		return nil, err
	}
	return decodeTaxResponse(cl, status, body, req, wantVersion)
}

// decodeTaxResponse reads a tax answer and checks that it answers the request: Anrok
// returns one line per request line, in request order, and a figure missing from the
// answer must never be read as a zero tax.
func decodeTaxResponse(cl call, status int, body []byte, req TransactionRequest, wantVersion bool) (*TaxResponse, error) {
	var presence struct {
		Version            json.RawMessage `json:"version"`
		TaxAmountToCollect json.RawMessage `json:"taxAmountToCollect"`
		PreTaxAmount       json.RawMessage `json:"preTaxAmount"`
		LineItems          []struct {
			TaxAmountToCollect json.RawMessage `json:"taxAmountToCollect"`
		} `json:"lineItems"`
	}
	var out TaxResponse
	if err := json.Unmarshal(body, &presence); err != nil {
		return nil, unexpected(cl, status, "the body is not a tax response (%v)", err)
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, unexpected(cl, status, "the body is not a tax response (%v)", err)
	}
	switch {
	case isAbsent(presence.TaxAmountToCollect):
		return nil, unexpected(cl, status, "taxAmountToCollect is missing")
	case isAbsent(presence.PreTaxAmount):
		return nil, unexpected(cl, status, "preTaxAmount is missing")
	case wantVersion && (isAbsent(presence.Version) || out.Version < 1):
		return nil, unexpected(cl, status, "version is missing")
	case len(out.LineItems) != len(req.LineItems):
		return nil, unexpected(cl, status, "%d line items answered for %d sent", len(out.LineItems), len(req.LineItems))
	}
	for i, li := range req.LineItems {
		if isAbsent(presence.LineItems[i].TaxAmountToCollect) {
			return nil, unexpected(cl, status, "lineItems[%d].taxAmountToCollect is missing", i)
		}
		if li.ID != "" && out.LineItems[i].ID != li.ID {
			return nil, unexpected(cl, status, "lineItems[%d] answers line %q, not %q", i, out.LineItems[i].ID, li.ID)
		}
	}
	out.Raw = body
	return &out, nil
}

func isAbsent(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// Void takes a committed transaction out of Anrok's returns and sales totals. With
// expectedVersion, Anrok refuses the void if the transaction changed since it was read.
// Voiding an already voided transaction succeeds, so a retry is safe. A transaction
// already filed answers CodeTransactionFrozenForFiling: negate it instead.
func (c *Client) Void(ctx context.Context, transactionID string, expectedVersion *int64) error {
	cl := call{endpoint: "void", transactionID: transactionID, expectedVersion: expectedVersion}
	switch {
	case strings.TrimSpace(transactionID) == "":
		return invalid([]string{"the transaction id to void is required"})
	case expectedVersion != nil && *expectedVersion < 1:
		return invalid([]string{fmt.Sprintf("transactionExpectedVersion %d is not a version (versions start at 1)", *expectedVersion)})
	}
	body := struct {
		TransactionExpectedVersion *int64 `json:"transactionExpectedVersion,omitempty"`
	}{expectedVersion}
	// Transaction ids conventionally contain ':' ("stripe:in_123"), which is legal in a
	// path segment; anything else that is not (a '/', a space) is escaped.
	path := "/v1/seller/transactions/id:" + url.PathEscape(transactionID) + "/void"
	_, _, err := c.post(ctx, cl, path, body)
	return err
}

// CreateNegation records the exact inverse of a transaction under a new id: the way to
// reverse a transaction Anrok has already filed (a lost dispute, a full refund).
//
// A negation is not idempotent: if a first attempt timed out after Anrok saved it, the
// retry answers CodeDuplicateTransactionID, which then means the work is done.
func (c *Client) CreateNegation(ctx context.Context, req NegationRequest) error {
	cl := call{endpoint: "createNegation", transactionID: req.OriginalTransactionID, newTxnID: req.NewTransactionID, expectedVersion: req.OriginalTransactionExpectedVersion}
	if p := req.problems(); len(p) > 0 {
		return invalid(p)
	}
	_, _, err := c.post(ctx, cl, "/v1/seller/transactions/createNegation", req)
	return err
}

// ListTransactions reads one page of the seller's transactions (a premium Anrok feature),
// for reconciliation. Pass resp.NextCursor, without a filter, for the next page.
func (c *Client) ListTransactions(ctx context.Context, req ListRequest) (*ListResponse, error) {
	cl := call{endpoint: "transactions/list"}
	if p := req.problems(); len(p) > 0 {
		return nil, invalid(p)
	}
	body, status, err := c.post(ctx, cl, "/v1/seller/transactions/list", req)
	if err != nil {
		return nil, err
	}
	var presence struct {
		Transactions json.RawMessage `json:"transactions"`
	}
	var out ListResponse
	if err := json.Unmarshal(body, &presence); err != nil {
		return nil, unexpected(cl, status, "the body is not a transactions page (%v)", err)
	}
	if isAbsent(presence.Transactions) {
		return nil, unexpected(cl, status, "transactions is missing")
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, unexpected(cl, status, "the body is not a transactions page (%v)", err)
	}
	if out.HasMore && out.NextCursor == "" {
		return nil, unexpected(cl, status, "hasMore is true but nextCursor is empty")
	}
	return &out, nil
}

// post sends one call and returns the body of a 2xx answer. Every failure comes back as a
// *failure.Error.
func (c *Client) post(ctx context.Context, cl call, path string, in any) ([]byte, int, error) {
	if c.apiKey == "" {
		return nil, 0, failure.NeedsPersonError(failure.ProviderAnrok, CodeUnauthorized,
			"no Anrok API key is configured: set the Anrok connection's API key")
	}
	payload, err := json.Marshal(in)
	if err != nil {
		// Only a programming error can make these types unmarshalable.
		return nil, 0, failure.NeedsPersonError(failure.ProviderAnrok, CodeInvalidRequest,
			fmt.Sprintf("cannot encode the %s request: %v", cl.endpoint, err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.baseURL+path, bytes.NewReader(payload))
	if err != nil {
		return nil, 0, failure.NeedsPersonError(failure.ProviderAnrok, CodeInvalidRequest,
			fmt.Sprintf("cannot build the %s request; check the Anrok connection's base URL: %v", cl.endpoint, err))
	}
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)

	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, c.transportError(ctx, cl, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		if err != nil && resp.StatusCode == http.StatusConflict {
			// A 409 means nothing without the conflict type in its body; every other
			// status classifies on its own and only loses its message.
			return nil, resp.StatusCode, c.transportError(ctx, cl, err)
		}
		return nil, resp.StatusCode, c.classifyStatus(cl, resp, body)
	}

	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if err != nil {
		return nil, resp.StatusCode, c.transportError(ctx, cl, err)
	}
	if len(body) > maxResponseBody {
		return nil, resp.StatusCode, unexpected(cl, resp.StatusCode, "the answer exceeds %d bytes", maxResponseBody)
	}
	return body, resp.StatusCode, nil
}

// redact removes the API key from text that came back from the network, in case a server
// or proxy echoes request headers into an error body.
func (c *Client) redact(s string) string {
	if len(c.apiKey) < 6 {
		// A key this short would match ordinary words; real keys are long.
		return s
	}
	return strings.ReplaceAll(s, c.apiKey, "[redacted]")
}
