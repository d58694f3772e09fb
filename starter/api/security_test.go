package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stripe/stripe-go/v82"

	"github.com/taxflow/taxflow/internal/codec"
	"github.com/taxflow/taxflow/internal/config"
	"github.com/taxflow/taxflow/internal/metrics"
	"github.com/taxflow/taxflow/internal/testenv"
)

// publicRoutes are the only routes served without the bearer token: health, readiness and
// metrics (no customer data), and Stripe's webhook (verified by its signature).
var publicRoutes = []string{"GET /healthz", "GET /readyz", "GET /metrics", "POST /v1/webhooks/stripe/{stripe_account_id}"}

// route is one pattern the API's handler registers, read from the package's source.
type route struct {
	pattern string
	// direct: registered on the mux itself rather than through handle(), which puts every
	// route behind authenticated().
	direct bool
}

// registeredRoutes reads every route pattern the package registers — handle("..."),
// mux.Handle("..."), mux.HandleFunc("...") — from its non-test source, so that a route
// added tomorrow is in this test without anyone adding it here.
func registeredRoutes(t *testing.T) []route {
	t.Helper()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var routes []route
	fset := gotoken.NewFileSet()
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			// handle's own body registers its parameter: the routes are its callers'.
			if as, ok := n.(*ast.AssignStmt); ok && len(as.Lhs) == 1 && len(as.Rhs) == 1 {
				if id, ok := as.Lhs[0].(*ast.Ident); ok && id.Name == "handle" {
					if _, ok := as.Rhs[0].(*ast.FuncLit); ok {
						return false
					}
				}
			}
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) < 2 {
				return true
			}
			var direct bool
			switch fn := call.Fun.(type) {
			case *ast.Ident:
				if fn.Name != "handle" {
					return true
				}
			case *ast.SelectorExpr:
				if fn.Sel.Name != "Handle" && fn.Sel.Name != "HandleFunc" {
					return true
				}
				direct = true
			default:
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != gotoken.STRING {
				t.Fatalf("%s: a route registered with a pattern that is not a literal: this test cannot see it", fset.Position(call.Pos()))
			}
			pattern, _ := strconv.Unquote(lit.Value)
			routes = append(routes, route{pattern: pattern, direct: direct})
			return true
		})
	}
	if len(routes) < 20 {
		t.Fatalf("only %d routes found in the source: the reader is broken", len(routes))
	}
	return routes
}

var wildcard = regexp.MustCompile(`\{[a-z_]+(\.\.\.)?\}`)

// routeRequest is a request that the pattern matches (any other method, or none, is
// not this route): wildcards become a valid id.
func routeRequest(pattern string) (method, path string) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = "POST", pattern
	}
	path = wildcard.ReplaceAllString(path, "inv_1")
	if strings.HasSuffix(path, "/") {
		path += "decode" // a subtree: /codec/ serves /codec/decode
	}
	return method, path
}

// securityServer is the API with every optional part present (codec, metrics, estimates),
// so that every registered route is served, and its log in buf.
func securityServer(t *testing.T, f *fixture, tokens []string, buf *bytes.Buffer) http.Handler {
	t.Helper()
	key, keys := testenv.SecretKey(t)
	c, err := codec.FromEnv(key)
	if err != nil {
		t.Fatal(err)
	}
	var out io.Writer = io.Discard
	if buf != nil {
		out = buf
	}
	s := &Server{Store: f.store, Secrets: keys, Workflows: f.wf, Tokens: tokens, Codec: c, CodecOrigins: []string{"http://127.0.0.1:8233"},
		Metrics: metrics.New(prometheus.NewRegistry()), Log: slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	return s.Handler()
}

func send(h http.Handler, method, path, auth string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// Every route but health, readiness, metrics and Stripe's webhook needs one of the bearer
// tokens, exactly: no token, another scheme, a token one character off, a prefix, a longer
// token or a token in another case is a 401 in the contract's shape; the scheme's case
// does not matter (RFC 7235). A valid token gets past authentication on every route.
func TestEveryRouteButThePublicOnesNeedsTheBearerToken(t *testing.T) {
	f := newFixture(t)
	h := securityServer(t, f, []string{"old-token-0123456789", token}, nil)
	last := token[len(token)-1]
	offByOne := token[:len(token)-1] + string(last^1)
	refused := map[string]string{
		"no Authorization":        "",
		"a wrong token":           "Bearer wrong-token-012345678",
		"the last character off":  "Bearer " + offByOne,
		"the first character off": "Bearer X" + token[1:],
		"all but the last":        "Bearer " + token[:len(token)-1],
		"one character more":      "Bearer " + token + "0",
		"the token in capitals":   "Bearer " + strings.ToUpper(token),
		"lowercase, wrong token":  "bearer " + offByOne,
		"the scheme alone":        "Bearer",
		"the scheme and a space":  "Bearer ",
		"two spaces":              "Bearer  " + token,
		"no scheme":               token,
		"Basic with the token":    "Basic " + base64.StdEncoding.EncodeToString([]byte("x:"+token)),
		"another scheme":          "Token " + token,
		"a scheme run into it":    "Bearer" + token,
	}
	accepted := []string{"Bearer " + token, "Bearer old-token-0123456789", "bearer " + token, "BEARER " + token}

	seen := map[string]bool{}
	for _, r := range registeredRoutes(t) {
		if r.pattern == "/" {
			continue // everything else: the contract's 404
		}
		if seen[r.pattern] {
			t.Fatalf("%s is registered twice", r.pattern)
		}
		seen[r.pattern] = true
		public := slices.Contains(publicRoutes, r.pattern)
		if r.direct && !public && r.pattern != "/codec/" {
			t.Errorf("%s is registered on the mux itself, around authenticated(): register it with handle()", r.pattern)
		}
		method, path := routeRequest(r.pattern)
		if public {
			if rec := send(h, method, path, ""); rec.Code == http.StatusUnauthorized {
				t.Errorf("%s: the public route asks for a token", r.pattern)
			}
			continue
		}
		for name, auth := range refused {
			rec := send(h, method, path, auth)
			resp := response{status: rec.Code, raw: rec.Body.String()}
			if code, _ := errorOf(decoded(resp)); rec.Code != http.StatusUnauthorized || code != "unauthorized" || rec.Header().Get("WWW-Authenticate") == "" {
				t.Errorf("%s with %s: %d %s", r.pattern, name, rec.Code, rec.Body.String())
			}
			checkAnswer(t, r.pattern+" with "+name, resp)
		}
		for _, auth := range accepted {
			if rec := send(h, method, path, auth); rec.Code == http.StatusUnauthorized {
				t.Errorf("%s with %q: 401 %s", r.pattern, auth, rec.Body.String())
			}
		}
	}
	for _, p := range publicRoutes {
		if !seen[p] {
			t.Errorf("the public route %s is not registered (or no longer registered by a literal pattern)", p)
		}
	}
	if !seen["/codec/"] {
		t.Error("the codec endpoint is not registered")
	}
	// The token in a query string is not a token.
	if rec := send(h, "GET", "/v1/products/saas?access_token="+token, ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("a token in the query: %d", rec.Code)
	}
}

func decoded(r response) response {
	_ = json.Unmarshal([]byte(r.raw), &r.body)
	return r
}

// Rotating the API token without downtime: TAXFLOW_API_TOKEN lists the new token beside
// the old one, clients move, then the old one is dropped — and is refused from then on.
func TestAPITokenRotationWithoutDowntime(t *testing.T) {
	f := newFixture(t)
	const old, next = "old-token-0123456789", "new-token-9876543210"
	starter := func(env string) http.Handler {
		cfg, err := config.LoadFrom(map[string]string{"TAXFLOW_API_TOKEN": env})
		if err != nil {
			t.Fatal(err)
		}
		return securityServer(t, f, cfg.APITokens, nil)
	}
	for _, step := range []struct {
		env      string
		accepted []string
		refused  []string
	}{
		{old, []string{old}, []string{next}},
		{next + ", " + old, []string{old, next}, nil},
		{next, []string{next}, []string{old}},
	} {
		h := starter(step.env)
		for _, tok := range step.accepted {
			if rec := send(h, "GET", "/v1/products/saas", "Bearer "+tok); rec.Code != http.StatusOK {
				t.Errorf("TAXFLOW_API_TOKEN=%q: %s refused (%d)", step.env, tok, rec.Code)
			}
		}
		for _, tok := range step.refused {
			if rec := send(h, "GET", "/v1/products/saas", "Bearer "+tok); rec.Code != http.StatusUnauthorized {
				t.Errorf("TAXFLOW_API_TOKEN=%q: %s accepted (%d)", step.env, tok, rec.Code)
			}
		}
	}
}

// Stripe's webhook refuses what it cannot verify — naming why — and then signals nothing,
// forwards no dispute and records no event: the cases TestStripeWebhookSecurity leaves out.
func TestStripeWebhookRefusalsNameTheReasonAndLeaveNoTrace(t *testing.T) {
	f := newFixture(t)
	f.webhookAccounts()
	ev := event("evt_1", "invoice.paid", "in_sim_1")
	dispute := []byte(fmt.Sprintf(`{"id":"evt_d","object":"event","api_version":%q,"created":%d,"type":"charge.dispute.closed","data":{"object":{"id":"dp_1","object":"dispute"}}}`,
		stripe.APIVersion, time.Now().Unix()))
	now := time.Now()
	altered := bytes.Replace(ev, []byte("invoice.paid"), []byte("invoice.voided"), 1)
	cases := []struct {
		name, account string
		payload       []byte
		signature     string
		code          string
	}{
		{"unsigned", "acct", ev, "", "webhook_unsigned"},
		{"forged with another secret", "acct", ev, sign(ev, "whsec_forged", now), "webhook_signature_invalid"},
		{"signed with the other account's secret", "acct", ev, sign(ev, "whsec_other_secret_999", now), "webhook_signature_invalid"},
		{"signed for acct, sent to other", "other", ev, sign(ev, whsec, now), "webhook_signature_invalid"},
		{"the body altered after signing", "acct", altered, sign(ev, whsec, now), "webhook_signature_invalid"},
		{"replayed after the 5-minute tolerance", "acct", ev, sign(ev, whsec, now.Add(-WebhookTolerance-time.Minute)), "webhook_too_old"},
		{"a v0 signature only", "acct", ev, strings.Replace(sign(ev, whsec, now), "v1=", "v0=", 1), "webhook_signature_invalid"},
		{"no timestamp", "acct", ev, regexp.MustCompile(`t=\d+,`).ReplaceAllString(sign(ev, whsec, now), ""), "webhook_too_old"},
		{"a forged dispute", "acct", dispute, sign(dispute, "whsec_forged", now), "webhook_signature_invalid"},
		{"an unknown account", "nobody", ev, sign(ev, whsec, now), "unknown_stripe_account"},
		{"a unicode account id", "acct%C3%A9", ev, sign(ev, whsec, now), "invalid_id"},
	}
	for _, c := range cases {
		r := decoded(f.deliver(c.account, c.payload, c.signature))
		checkAnswer(t, c.name, r)
		if code, _ := errorOf(r); r.status != http.StatusBadRequest || code != c.code {
			t.Errorf("%s: %d %s, want 400 %s", c.name, r.status, r.raw, c.code)
		}
	}
	if len(f.wf.signals) != 0 {
		t.Fatalf("refused events reached workflows: %v", f.wf.signals)
	}
	var events int
	if err := f.store.Pool.QueryRow(context.Background(), "SELECT count(*) FROM stripe_events").Scan(&events); err != nil || events != 0 {
		t.Fatalf("%d refused events recorded (%v)", events, err)
	}
	// The same delivery, signed, is accepted: the refusals above were about the signature.
	if r := f.deliver("acct", ev, sign(ev, whsec, now)); r.status != http.StatusOK || len(f.wf.signals) != 1 {
		t.Fatalf("the genuine event: %d %s, signals %v", r.status, r.raw, f.wf.signals)
	}
}

// The API's log holds ids, codes and errors — never a secret it was given, nor a
// customer's name, email, address or tax id — on its normal paths and on its failures
// (refused webhooks, a workflow that cannot start, a database that is gone).
func TestTheAPILogsNoSecretOrPersonalData(t *testing.T) {
	f := newFixture(t)
	var logs bytes.Buffer
	h := securityServer(t, f, []string{token}, &logs)
	secrets := []string{
		"sk_test_SECRETstripe0001", "whsec_SECRETwebhook0002", "SECRET-anrok-key-0003", "SECRET-endpoint-key-0004",
		"Jane Q. Private", "jane.private@example.com", "742 Evergreen Terrace", "Springfield Gardens", "DE987654321",
	}
	do := func(method, path, body string) response {
		t.Helper()
		r := serve(h, method, path, body, "application/json")
		checkAnswer(t, method+" "+path, r)
		return r
	}
	do("PUT", "/v1/stripe-accounts/acct", `{"alias":"Main","api_key":"`+secrets[0]+`","webhook_secret":"`+secrets[1]+`","settings":{}}`)
	do("PUT", "/v1/anrok-connections/anrok", `{"name":"Sandbox","api_key":"`+secrets[2]+`","environment":"sandbox"}`)
	do("PUT", "/v1/webhook-endpoints/ops", `{"url":"https://ops.example.com/hook","secret":"`+secrets[3]+`","events":["*"]}`)
	customer := `{"name":"` + secrets[4] + `","email":"` + secrets[5] + `","billing_address":{"line1":"` + secrets[6] + `","city":"` + secrets[7] + `","region":"CO","postal_code":"80204","country":"US"},
		"tax_ids":[{"type":"eu_vat","value":"` + secrets[8] + `"}],"billing_configurations":[{"id":"main","stripe_account_id":"acct","stripe_customer_id":"cus_1","collection_method":"charge_automatically"}]}`
	do("PUT", "/v1/customers/cust", customer)
	for _, path := range []string{"/v1/stripe-accounts/acct", "/v1/anrok-connections/anrok", "/v1/webhook-endpoints/ops", "/v1/customers/cust"} {
		do("GET", path, "")
	}
	f.wf.fail = true // the workflow cannot start: logged, and the sweeper retries
	do("POST", "/v1/invoices", denver)
	f.wf.fail = false
	ev := event("evt_1", "invoice.paid", "in_unknown")
	for _, sig := range []string{"", sign(ev, "whsec_forged", time.Now()), sign(ev, secrets[1], time.Now().Add(-time.Hour)), sign(ev, secrets[1], time.Now())} {
		req := httptest.NewRequest("POST", "/v1/webhooks/stripe/acct", bytes.NewReader(ev))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Stripe-Signature", sig)
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	// The database goes away in the middle of a customer's update: a 500, logged.
	f.store.Pool.Close()
	if r := serve(h, "PUT", "/v1/customers/cust", customer, "application/json"); r.status != http.StatusInternalServerError {
		t.Fatalf("without a database: %d %s", r.status, r.raw)
	}
	text := logs.String()
	for _, want := range []string{"could not start the invoice workflow", "stripe webhook refused", "request failed"} {
		if !strings.Contains(text, want) {
			t.Fatalf("the log lacks %q, so this test proves less than it says:\n%s", want, text)
		}
	}
	for _, secret := range secrets {
		if strings.Contains(text, secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
}

// Secrets are write-only: no answer shows them, and a stored key cannot be sent to a new
// base_url — where whoever set it would read the key — by an update that leaves it out.
func TestAStoredKeyDoesNotFollowANewBaseURL(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct{ path, body, withKey string }{
		{"/v1/stripe-accounts/acct", `{"alias":"Main","base_url":"https://attacker.example","settings":{}}`, `{"alias":"Main","api_key":"sk_test_mine00001234","base_url":"https://attacker.example","settings":{}}`},
		{"/v1/anrok-connections/anrok", `{"name":"Sandbox","environment":"sandbox","base_url":"https://attacker.example"}`, `{"name":"Sandbox","environment":"sandbox","api_key":"mine/key","base_url":"https://attacker.example"}`},
	} {
		r := f.do("PUT", c.path, c.body)
		if code, field := errorOf(r); r.status != 422 || code != "missing_field" || field != "api_key" {
			t.Fatalf("%s to a new base_url without the key: %d %s", c.path, r.status, r.raw)
		}
		if g := f.mustStatus(f.do("GET", c.path, ""), 200); g.body["base_url"] != nil {
			t.Fatalf("%s: base_url changed to %v", c.path, g.body["base_url"])
		}
		// With the key, or with the same base_url, the update goes through.
		f.mustStatus(f.do("PUT", c.path, c.withKey), 200)
		f.mustStatus(f.do("PUT", c.path, c.body), 200)
	}
	for _, path := range []string{"/v1/stripe-accounts/acct", "/v1/anrok-connections/anrok"} {
		r := f.mustStatus(f.do("GET", path, ""), 200)
		for _, secret := range []string{"sk_test_abcdefgh1234", "sk_test_mine00001234", "sxxx/saxxx/secret.xxx", "mine/key"} {
			if strings.Contains(r.raw, secret) {
				t.Fatalf("%s shows %q: %s", path, secret, r.raw)
			}
		}
	}
}
