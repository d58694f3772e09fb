package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/taxflow/taxflow/internal/codec"
	"github.com/taxflow/taxflow/internal/testenv"
)

func codecServer(t *testing.T, open bool) (*httptest.Server, *codec.Codec) {
	t.Helper()
	key, _ := testenv.SecretKey(t)
	c, err := codec.FromEnv(key)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Codec: c, CodecOpen: open, CodecOrigins: []string{"http://127.0.0.1:8233"}, Tokens: []string{token},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Workflows: &recordingWorkflows{}}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv, c
}

// The Temporal UI reads encrypted payloads through the codec endpoint.
func TestCodecEndpointDecodesForTheUI(t *testing.T) {
	srv, c := codecServer(t, false)
	enc, err := c.Encode([]*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`{"InvoiceID":"inv_1"}`)}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := protojson.Marshal(&commonpb.Payloads{Payloads: enc})
	post := func(auth string) *http.Response {
		req, _ := http.NewRequest("POST", srv.URL+"/codec/decode", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", "http://127.0.0.1:8233")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if resp := post(""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without the token: %d", resp.StatusCode)
	}
	resp := post("Bearer " + token)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out commonpb.Payloads
	if resp.StatusCode != 200 || protojson.Unmarshal(raw, &out) != nil || string(out.Payloads[0].Data) != `{"InvoiceID":"inv_1"}` {
		t.Fatalf("decode: %d %s", resp.StatusCode, raw)
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != "http://127.0.0.1:8233" {
		t.Fatalf("CORS headers %v", resp.Header)
	}
	// The browser's preflight.
	req, _ := http.NewRequest("OPTIONS", srv.URL+"/codec/decode", nil)
	req.Header.Set("Origin", "http://127.0.0.1:8233")
	pre, err := http.DefaultClient.Do(req)
	if err != nil || pre.StatusCode != http.StatusNoContent || pre.Header.Get("Access-Control-Allow-Headers") == "" {
		t.Fatalf("preflight %v %v", pre, err)
	}
}

func TestCodecEndpointCanBeOpenForALocalUI(t *testing.T) {
	srv, c := codecServer(t, true)
	enc, _ := c.Encode([]*commonpb.Payload{{Data: []byte("x")}})
	body, _ := protojson.Marshal(&commonpb.Payloads{Payloads: enc})
	resp, err := http.Post(srv.URL+"/codec/decode", "application/json", strings.NewReader(string(body)))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", resp, err)
	}
}

func TestReadyzReportsEachDependency(t *testing.T) {
	s := &Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Workflows: &recordingWorkflows{},
		Ready: func(ctx context.Context) map[string]error {
			return map[string]error{"postgres": nil, "temporal": io.ErrUnexpectedEOF}
		}}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != 503 || out["checks"].(map[string]any)["postgres"] != "ok" {
		t.Fatalf("%d %v", resp.StatusCode, out)
	}
}
