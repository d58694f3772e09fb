package ratelimit_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/taxflow/taxflow/internal/ratelimit"
	"github.com/taxflow/taxflow/internal/store"
	"github.com/taxflow/taxflow/internal/testenv"
)

// openStores opens n independent connection pools on one fresh database: n processes.
func openStores(t *testing.T, n int) []*store.Store {
	t.Helper()
	url := testenv.NewDatabase(t)
	var out []*store.Store
	for i := 0; i < n; i++ {
		st, err := store.Open(context.Background(), url, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Close)
		out = append(out, st)
	}
	return out
}

// arrivals is a provider that records when each request arrived.
type arrivals struct {
	mu sync.Mutex
	at []time.Time
}

func (a *arrivals) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	a.mu.Lock()
	a.at = append(a.at, time.Now())
	a.mu.Unlock()
}

func (a *arrivals) sorted() []time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := append([]time.Time(nil), a.at...)
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// maxInAnyWindow is the most arrivals in any window of length w (a sliding window, the way
// the Anrok simulator counts).
func maxInAnyWindow(at []time.Time, w time.Duration) int {
	most, start := 0, 0
	for end := range at {
		for at[end].Sub(at[start]) >= w {
			start++
		}
		most = max(most, end-start+1)
	}
	return most
}

// Two processes, many callers each, one key: the provider never sees more than the limit
// in any second, and every request gets through.
func TestTwoProcessesTogetherStayUnderTheLimit(t *testing.T) {
	stores := openStores(t, 2)
	provider := &arrivals{}
	srv := httptest.NewServer(provider)
	t.Cleanup(srv.Close)

	const perSecond, callers, each = 20, 10, 3
	var wg sync.WaitGroup
	errs := make(chan error, 2*callers*each)
	start := time.Now()
	for _, st := range stores {
		l := &ratelimit.Limiter{Slots: st.Queries}
		client := l.Client(&http.Client{Timeout: 30 * time.Second}, "anrok/conn-1", perSecond)
		for c := 0; c < callers; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					resp, err := client.Get(srv.URL)
					if err != nil {
						errs <- err
						return
					}
					resp.Body.Close()
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	at := provider.sorted()
	n := 2 * callers * each
	if len(at) != n {
		t.Fatalf("%d requests arrived, want %d", len(at), n)
	}
	if most := maxInAnyWindow(at, time.Second); most > perSecond {
		t.Fatalf("%d requests arrived within one second; the limit is %d", most, perSecond)
	}
	// Evenly spaced: the n requests cannot have taken less than n-1 spacings.
	l := &ratelimit.Limiter{}
	if floor := time.Duration(n-1) * l.Spacing(perSecond); time.Since(start) < floor {
		t.Fatalf("%d requests in %s, faster than the spacing allows (%s)", n, time.Since(start), floor)
	}
	for i := 1; i < len(at); i++ {
		// Slots are 52 ms apart; a request may leave a little late, never much early.
		if gap := at[i].Sub(at[i-1]); gap < l.Spacing(perSecond)/2 {
			t.Fatalf("requests %d and %d arrived %s apart: a burst", i-1, i, gap)
		}
	}
}

// Keys are independent: a busy Anrok connection does not slow a Stripe account.
func TestKeysAreIndependent(t *testing.T) {
	st := openStores(t, 1)[0]
	l := &ratelimit.Limiter{Slots: st.Queries}
	ctx := context.Background()
	for i := 0; i < 20; i++ {
		if _, err := l.Reserve(ctx, "anrok/busy", 10); err != nil {
			t.Fatal(err)
		}
	}
	wait, err := l.Reserve(ctx, "stripe/acct", 10)
	if err != nil || wait != 0 {
		t.Fatalf("an idle key waits %s (%v)", wait, err)
	}
}

// Past MaxQueued waiting callers, a caller takes no slot: it is told to come back, and its
// request never leaves (the tracker says so).
func TestBacklogDefersWithoutSendingAnything(t *testing.T) {
	st := openStores(t, 1)[0]
	provider := &arrivals{}
	srv := httptest.NewServer(provider)
	t.Cleanup(srv.Close)
	l := &ratelimit.Limiter{Slots: st.Queries, MaxQueued: 5}
	ctx := context.Background()
	const perSecond = 10
	granted := 0
	for {
		_, err := l.Reserve(ctx, "stripe/acct", perSecond)
		if err != nil {
			be, ok := ratelimit.AsBacklog(err)
			if !ok {
				t.Fatal(err)
			}
			if be.RetryAfter <= 0 || be.Backlog <= 0 || be.PerSecond != perSecond || be.Key != "stripe/acct" {
				t.Fatalf("backlog error %+v", be)
			}
			break
		}
		granted++
		if granted > 10 {
			t.Fatal("more than MaxQueued+1 callers were given a slot")
		}
	}
	if granted < 5 {
		t.Fatalf("only %d callers got a slot before the backlog was full", granted)
	}
	client := l.Client(&http.Client{}, "stripe/acct", perSecond)
	tctx, tracker := ratelimit.WithTracker(ctx)
	req, _ := http.NewRequestWithContext(tctx, http.MethodGet, srv.URL, nil)
	_, err := client.Do(req)
	if _, ok := ratelimit.AsBacklog(err); !ok {
		t.Fatalf("a request past the backlog: %v", err)
	}
	if tracker.Sent() || len(provider.sorted()) != 0 {
		t.Fatal("a deferred request reached the provider")
	}
	// Once sent, the tracker knows.
	l2 := &ratelimit.Limiter{Slots: st.Queries}
	tctx, tracker = ratelimit.WithTracker(ctx)
	req, _ = http.NewRequestWithContext(tctx, http.MethodGet, srv.URL, nil)
	resp, err := l2.Client(&http.Client{}, "stripe/other", perSecond).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !tracker.Sent() {
		t.Fatal("the tracker missed a sent request")
	}
}

func TestAZeroRateIsRefused(t *testing.T) {
	st := openStores(t, 1)[0]
	l := &ratelimit.Limiter{Slots: st.Queries}
	_, err := l.Reserve(context.Background(), "k", 0)
	if err == nil {
		t.Fatal("a rate of 0 was accepted")
	}
	if _, ok := ratelimit.AsBacklog(err); ok || errors.Is(err, context.Canceled) {
		t.Fatalf("wrong error: %v", err)
	}
}

// A caller whose context ends while it waits gives up at once.
func TestWaitEndsWithTheContext(t *testing.T) {
	st := openStores(t, 1)[0]
	l := &ratelimit.Limiter{Slots: st.Queries}
	ctx := context.Background()
	for i := 0; i < 30; i++ {
		if _, err := l.Reserve(ctx, "k", 10); err != nil {
			t.Fatal(err)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := l.Wait(cctx, "k", 10); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait: %v", err)
	}
}
