// Package ratelimit holds each provider account to its request rate across every taxflow
// process: Anrok allows 10 requests per second per account, Stripe 100 (25 in test mode),
// and a month-end of invoices spread over several workers must never go over.
//
// # How
//
// Every HTTP request to a provider takes a send slot first (Limiter.Wait). The slots of one
// key (an Anrok connection, a Stripe account) live in one PostgreSQL row holding the time
// of the next free slot — the generic cell rate algorithm: a slot is taken by pushing that
// time one spacing further, in one statement, so two processes can never take the same
// slot, and Postgres' clock decides, so the workers' clocks do not matter. The caller then
// sleeps until its slot. Requests leave evenly spaced, never in bursts: spacing is
// 1/requests_per_second plus Headroom (4%), so that a request delayed a few milliseconds
// on its way cannot make any one-second window hold one request too many.
//
// This is exact per request, whichever process and activity makes it. (A Temporal
// task-queue rate limit counts activity starts, not requests — an activity that looks an
// earlier attempt's work up makes two — and is split across the queue's partitions.)
//
// # Waiting without hoarding
//
// A caller waits at most MaxWait, and no key keeps more than MaxQueued callers waiting
// (MaxQueued/rate seconds of slots): when the slots are taken further ahead than that, Wait
// takes none and returns a *BacklogError with a RetryAfter. An activity returns it as a
// rate-limited failure, and Temporal retries it after RetryAfter — so a month-end backlog
// waits in Temporal's timers, not in worker slots, and one busy account cannot take every
// activity slot from the others. No slot is lost: a slot is only taken by a caller that
// will use it.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/taxflow/taxflow/internal/store/sqldb"
)

// Event is what Observe is told of.
type Event string

const (
	Taken    Event = "taken"
	Deferred Event = "deferred"
	Late     Event = "late"
)

// Defaults of a Limiter.
const (
	DefaultMaxWait   = 20 * time.Second
	DefaultMaxQueued = 100
	DefaultHeadroom  = 0.04
)

// Slots is where the slots are kept (sqldb.Queries).
type Slots interface {
	ReserveRateSlot(ctx context.Context, arg sqldb.ReserveRateSlotParams) (int64, error)
	RateBacklog(ctx context.Context, limitKey string) (int64, error)
}

// Limiter hands out send slots. The zero values of its fields take the defaults.
type Limiter struct {
	Slots Slots
	// MaxWait is the longest a caller sleeps for its slot.
	MaxWait time.Duration
	// MaxQueued bounds the callers of one key waiting at once.
	MaxQueued int
	// Headroom widens the spacing by this fraction (0.04: 4%).
	Headroom float64
	// Observe, when set, is told of every slot taken (Taken, with its wait), every
	// deferral (Deferred) and every slot given up for waking too late (Late).
	Observe func(key string, what Event, wait time.Duration)
}

// BacklogError: the key's slots are taken further ahead than a caller may wait. Nothing was
// sent; try again after RetryAfter.
type BacklogError struct {
	Key        string
	PerSecond  int
	Backlog    time.Duration
	RetryAfter time.Duration
}

func (e *BacklogError) Error() string {
	return fmt.Sprintf("%s: %d requests/second, the next %s of requests are spoken for; trying again in %s",
		e.Key, e.PerSecond, e.Backlog.Round(time.Second), e.RetryAfter.Round(100*time.Millisecond))
}

// AsBacklog finds a *BacklogError in err's chain.
func AsBacklog(err error) (*BacklogError, bool) {
	var be *BacklogError
	return be, errors.As(err, &be)
}

// Spacing is the time between two requests of a key limited to perSecond.
func (l *Limiter) Spacing(perSecond int) time.Duration {
	h := l.Headroom
	if h == 0 {
		h = DefaultHeadroom
	}
	base := time.Second / time.Duration(perSecond)
	return base + time.Duration(float64(base)*h)
}

// maxWait is the longest a caller of a key limited to perSecond may be queued.
func (l *Limiter) maxWait(perSecond int) time.Duration {
	mw, mq := l.MaxWait, l.MaxQueued
	if mw == 0 {
		mw = DefaultMaxWait
	}
	if mq == 0 {
		mq = DefaultMaxQueued
	}
	return min(mw, time.Duration(mq)*l.Spacing(perSecond))
}

// Reserve takes the next slot of key and returns how long to wait for it, or a
// *BacklogError when the slots are taken too far ahead. perSecond must be positive.
func (l *Limiter) Reserve(ctx context.Context, key string, perSecond int) (time.Duration, error) {
	if perSecond <= 0 {
		return 0, fmt.Errorf("rate limit of %s: %d requests/second is not a limit", key, perSecond)
	}
	spacing, maxWait := l.Spacing(perSecond), l.maxWait(perSecond)
	waitUs, err := l.Slots.ReserveRateSlot(ctx, sqldb.ReserveRateSlotParams{
		LimitKey: key, SpacingUs: spacing.Microseconds(), MaxWaitUs: maxWait.Microseconds(),
	})
	if errors.Is(err, pgx.ErrNoRows) {
		backlogUs, err := l.Slots.RateBacklog(ctx, key)
		if err != nil {
			return 0, fmt.Errorf("rate limit of %s: read the backlog: %w", key, err)
		}
		backlog := time.Duration(backlogUs) * time.Microsecond
		// Come back when about half the window has drained, spread out so the deferred
		// callers do not all return in the same instant.
		retry := max(backlog-maxWait/2, spacing) + time.Duration(rand.Int64N(int64(maxWait/4)+1))
		if l.Observe != nil {
			l.Observe(key, Deferred, 0)
		}
		return 0, &BacklogError{Key: key, PerSecond: perSecond, Backlog: backlog, RetryAfter: retry}
	}
	if err != nil {
		return 0, fmt.Errorf("rate limit of %s: take a slot: %w", key, err)
	}
	wait := max(time.Duration(waitUs)*time.Microsecond, 0)
	if l.Observe != nil {
		l.Observe(key, Taken, wait)
	}
	return wait, nil
}

// MaxLate is how late a caller may wake for its slot and still send. The spacing's
// headroom leaves about 38 ms of slack in any one-second window, whatever the rate; a
// request sent later than its slot by more than that, followed by one on time, would put
// one request too many into a window. A caller that finds itself later than MaxLate — a
// starved CPU, a slow database answer — gives its slot up and takes a new one.
const MaxLate = 20 * time.Millisecond

// maxRetakes bounds how often one request gives up a late slot; after that it is sent late
// (a 429, should it come, is handled like any other).
const maxRetakes = 3

// Wait takes the next slot of key and sleeps until it (or until ctx ends).
func (l *Limiter) Wait(ctx context.Context, key string, perSecond int) error {
	for retakes := 0; ; retakes++ {
		asked := time.Now()
		wait, err := l.Reserve(ctx, key, perSecond)
		if err != nil {
			return err
		}
		// The slot is at least asked+wait: the database answered after it was asked.
		if err := sleep(ctx, wait); err != nil {
			return err
		}
		if late := time.Since(asked) - wait; late <= MaxLate || retakes == maxRetakes {
			return nil
		}
		if l.Observe != nil {
			l.Observe(key, Late, 0)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Transport limits every request through next to key's rate and marks the request's
// Tracker before it leaves. (A changed limit applies through a new client: taxflow builds
// its provider clients from the account's row.)
func (l *Limiter) Transport(next http.RoundTripper, key string, perSecond int) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		if err := l.Wait(req.Context(), key, perSecond); err != nil {
			if req.Body != nil {
				_ = req.Body.Close()
			}
			return nil, err
		}
		markSent(req.Context())
		return next.RoundTrip(req)
	})
}

// Client returns a copy of c whose requests are limited to key's rate.
func (l *Limiter) Client(c *http.Client, key string, perSecond int) *http.Client {
	out := *c
	out.Transport = l.Transport(c.Transport, key, perSecond)
	return &out
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// AnrokPerSecond is Anrok's documented limit: 10 requests per second per seller account.
const AnrokPerSecond = 10

// StripePerSecond is Stripe's limit for a key: 100 requests per second in live mode, 25 in
// test mode. apiKey may be the key or its hint ("sk_test_…1234").
func StripePerSecond(apiKey string) int {
	for _, p := range []string{"sk_test_", "rk_test_"} {
		if len(apiKey) >= len(p) && apiKey[:len(p)] == p {
			return 25
		}
	}
	return 100
}

// PerSecond is the configured limit, or def when none is set.
func PerSecond(configured *int32, def int) int {
	if configured != nil && *configured > 0 {
		return int(*configured)
	}
	return def
}
