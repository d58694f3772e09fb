package app

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Provider calls made at once keep their connections for the next ones: a second wave of
// concurrent requests opens no new connection (Go's default transport would keep only 2
// and open — and, against Stripe and Anrok, TLS-handshake — the rest again).
func TestProviderClientKeepsTheConnectionsConcurrentCallsOpened(t *testing.T) {
	var opened atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(20 * time.Millisecond) // long enough for the wave's requests to overlap
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	hc := HTTPClient()
	const concurrent = 20
	wave := func() {
		var wg sync.WaitGroup
		for range concurrent {
			wg.Go(func() {
				resp, err := hc.Get(srv.URL)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			})
		}
		wg.Wait()
	}
	wave()
	first := opened.Load()
	if first < 2 || first > concurrent {
		t.Fatalf("first wave of %d opened %d connections", concurrent, first)
	}
	wave()
	if again := opened.Load() - first; again != 0 {
		t.Fatalf("second wave opened %d new connections; the first wave's %d should have been kept", again, first)
	}
}
