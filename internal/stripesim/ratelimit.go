package stripesim

import (
	"sync"
	"time"
)

// rateLimiter enforces an account's requests-per-second limit with the generic cell rate
// algorithm: each request pushes a theoretical arrival time forward by 1/rate, and a request
// arriving more than one second's worth of requests ahead of it is refused. That allows a
// burst of up to `rate` requests and then `rate` per second — the shape of Stripe's limiter,
// which answers 429 rate_limit without a Retry-After and expects clients to back off.
//
// It uses the real monotonic clock, not Options.Now: a test that freezes business time must
// not freeze the limiter (no request would ever be allowed again).
type rateLimiter struct {
	mu       sync.Mutex
	interval time.Duration // time one request "costs"; 0 means unlimited
	burst    time.Duration // how far ahead of now the arrival time may run
	tat      time.Time     // theoretical arrival time of the next request
	now      func() time.Time
}

func newRateLimiter(requestsPerSecond int) *rateLimiter {
	l := &rateLimiter{now: time.Now}
	if requestsPerSecond > 0 {
		l.interval = time.Second / time.Duration(requestsPerSecond)
		l.burst = l.interval * time.Duration(requestsPerSecond-1)
	}
	return l
}

// allow reports whether a request may proceed now, and if so accounts for it.
func (l *rateLimiter) allow() bool {
	if l.interval == 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	tat := l.tat
	if tat.Before(now) {
		tat = now
	}
	if tat.Sub(now) > l.burst {
		return false
	}
	l.tat = tat.Add(l.interval)
	return true
}
