package anroksim

import (
	"sync"
	"time"
)

// rateLimiter enforces "N requests per second" as a sliding one-second window: a request
// is allowed when fewer than N were allowed in the second before it. Unlike fixed
// windows, this never lets 2N through around a window boundary, so a client that passes
// the simulator also stays within Anrok's limit.
type rateLimiter struct {
	limit int

	mu sync.Mutex
	// allowed holds the times of the requests allowed within the last second, oldest
	// first: a ring of at most limit entries.
	allowed []time.Time
}

func newRateLimiter(perSecond int) *rateLimiter {
	return &rateLimiter{limit: perSecond}
}

// allow records a request at now. When it is over the limit, retryAfter is how long until
// the oldest request in the window leaves it.
func (l *rateLimiter) allow(now time.Time) (ok bool, retryAfter time.Duration) {
	if l.limit <= 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	windowStart := now.Add(-time.Second)
	drop := 0
	for drop < len(l.allowed) && !l.allowed[drop].After(windowStart) {
		drop++
	}
	l.allowed = l.allowed[drop:]
	if len(l.allowed) < l.limit {
		l.allowed = append(l.allowed, now)
		return true, 0
	}
	return false, l.allowed[0].Add(time.Second).Sub(now)
}

func (l *rateLimiter) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.allowed = nil
}

// keyedRateLimiter keeps one rateLimiter per API key: Anrok counts requests per seller
// account, and each key of the sandbox stands for one account, so a busy key never
// throttles another.
type keyedRateLimiter struct {
	limit int

	mu   sync.Mutex
	keys map[string]*rateLimiter
}

// maxIdleKeys bounds how many keys are remembered before the idle ones are forgotten.
const maxIdleKeys = 1024

func newKeyedRateLimiter(perSecond int) *keyedRateLimiter {
	return &keyedRateLimiter{limit: perSecond, keys: map[string]*rateLimiter{}}
}

// allow records a request of key at now (see rateLimiter.allow).
func (k *keyedRateLimiter) allow(key string, now time.Time) (bool, time.Duration) {
	if k.limit <= 0 {
		return true, 0
	}
	k.mu.Lock()
	l := k.keys[key]
	if l == nil {
		if len(k.keys) >= maxIdleKeys {
			k.forgetIdleLocked(now)
		}
		l = newRateLimiter(k.limit)
		k.keys[key] = l
	}
	k.mu.Unlock()
	return l.allow(now)
}

// forgetIdleLocked drops the keys with no request in the last second: they have nothing
// left to count.
func (k *keyedRateLimiter) forgetIdleLocked(now time.Time) {
	windowStart := now.Add(-time.Second)
	for key, l := range k.keys {
		l.mu.Lock()
		idle := len(l.allowed) == 0 || !l.allowed[len(l.allowed)-1].After(windowStart)
		l.mu.Unlock()
		if idle {
			delete(k.keys, key)
		}
	}
}

func (k *keyedRateLimiter) reset() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys = map[string]*rateLimiter{}
}
