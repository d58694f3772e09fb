package anroksim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testNow is the simulator's pinned clock in tests: dates, the rate limit and list times
// all derive from it.
var testNow = time.Date(2024, 6, 15, 12, 0, 0, 0, time.UTC)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newSim(t *testing.T, opts Options) (*Server, *testClock) {
	t.Helper()
	clock := &testClock{t: testNow}
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	return New(opts), clock
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

// post sends body (a string is sent as is, anything else as JSON) with a valid key.
func post(t *testing.T, h http.Handler, path string, body any) answer {
	t.Helper()
	return postWithKey(t, h, path, body, "sk_test/sa_test/secret.test")
}

func postWithKey(t *testing.T, h http.Handler, path string, body any, key string) answer {
	t.Helper()
	var raw string
	switch b := body.(type) {
	case string:
		raw = b
	default:
		j, err := json.Marshal(b)
		require.NoError(t, err)
		raw = string(j)
	}
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(raw))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return answer{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// conflict returns the 409 type of an answer, failing the test on any other status.
func (a answer) conflict(t *testing.T) conflictBody {
	t.Helper()
	require.Equal(t, http.StatusConflict, a.status, "body: %s", a.body)
	var c conflictBody
	require.NoError(t, json.Unmarshal(a.body, &c))
	return c
}

// badRequest returns the JSON string of a 400 answer.
func (a answer) badRequest(t *testing.T) string {
	t.Helper()
	require.Equal(t, http.StatusBadRequest, a.status, "body: %s", a.body)
	var msg string
	require.NoError(t, json.Unmarshal(a.body, &msg), "a 400 body is a JSON string: %s", a.body)
	return msg
}

func (a answer) ok(t *testing.T) []byte {
	t.Helper()
	require.Equal(t, http.StatusOK, a.status, "body: %s", a.body)
	return a.body
}

const (
	pathEphemeral = "/v1/seller/transactions/createEphemeral"
	pathCommit    = "/v1/seller/transactions/createOrUpdate"
	pathNegation  = "/v1/seller/transactions/createNegation"
	pathList      = "/v1/seller/transactions/list"
)

func pathVoid(id string) string { return "/v1/seller/transactions/id:" + id + "/void" }

type obj = map[string]any

// denver is the address of Anrok's documented example.
func denver() obj {
	return obj{"line1": "1450 Cherokee St", "city": "Denver", "region": "CO", "postalCode": "80204", "country": "US"}
}

func line(id, product string, amount int64) obj {
	return obj{"id": id, "productExternalId": product, "amount": amount}
}

func inclusive(l obj) obj {
	l["isTaxIncludedInAmount"] = true
	return l
}

func txnTo(address obj, lines ...obj) obj {
	items := make([]any, len(lines))
	for i, l := range lines {
		items[i] = l
	}
	return obj{"lineItems": items, "currencyCode": "USD", "customerAddress": address}
}

func withID(b obj, id string) obj {
	b["id"] = id
	return b
}

// taxAnswer decodes a tax response keeping every decimal as the exact string sent.
type taxAnswer struct {
	Version            *int64 `json:"version"`
	TaxAmountToCollect int64  `json:"taxAmountToCollect"`
	PreTaxAmount       string `json:"preTaxAmount"`
	LineItems          []struct {
		ID                 *string `json:"id"`
		TaxAmountToCollect int64   `json:"taxAmountToCollect"`
		PreTaxAmount       string  `json:"preTaxAmount"`
		Jurises            []struct {
			Name  string `json:"name"`
			Taxes []struct {
				TaxName       string `json:"taxName"`
				TaxableAmount string `json:"taxableAmount"`
				TaxAmount     string `json:"taxAmount"`
				TaxRate       string `json:"taxRate"`
			} `json:"taxes"`
			NotTaxedReason *struct {
				Type   string `json:"type"`
				Reason *struct {
					Type string `json:"type"`
				} `json:"reason"`
			} `json:"notTaxedReason"`
		} `json:"jurises"`
	} `json:"lineItems"`
	JurisSummaries []struct {
		Name            string `json:"name"`
		NotTaxedReasons []struct {
			Type string `json:"type"`
		} `json:"notTaxedReasons"`
	} `json:"jurisSummaries"`
}

func decodeTax(t *testing.T, body []byte) taxAnswer {
	t.Helper()
	var a taxAnswer
	require.NoError(t, json.Unmarshal(body, &a))
	return a
}

func ephemeral(t *testing.T, s *Server, body obj) taxAnswer {
	t.Helper()
	return decodeTax(t, post(t, s, pathEphemeral, body).ok(t))
}
