package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/readyz":
			_, _ = w.Write([]byte(`{"status":"ready"}`))
		case "/slow":
			time.Sleep(200 * time.Millisecond)
		default:
			http.Error(w, `{"status":"not ready"}`, http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()

	if err := probe(srv.URL+"/readyz", time.Second); err != nil {
		t.Errorf("a 200 is healthy: %v", err)
	}
	if err := probe(srv.URL+"/down", time.Second); err == nil {
		t.Error("a 503 is not healthy")
	}
	if err := probe(srv.URL+"/slow", 50*time.Millisecond); err == nil {
		t.Error("an answer after the timeout is not healthy")
	}
	if err := probe("http://127.0.0.1:1/readyz", time.Second); err == nil {
		t.Error("a refused connection is not healthy")
	}
}
