package ratelimit

import (
	"context"
	"sync/atomic"
)

// Tracker records whether any provider request left during one activity attempt. An
// attempt deferred by a *BacklogError before sending anything has not touched the provider,
// and the next attempt need not look for its work (no extra look-up request).
type Tracker struct{ sent atomic.Bool }

type trackerKey struct{}

// WithTracker returns ctx carrying a new Tracker.
func WithTracker(ctx context.Context) (context.Context, *Tracker) {
	t := &Tracker{}
	return context.WithValue(ctx, trackerKey{}, t), t
}

// Sent reports whether a request went out (or may have: it is marked just before sending).
func (t *Tracker) Sent() bool { return t.sent.Load() }

func markSent(ctx context.Context) {
	if t, ok := ctx.Value(trackerKey{}).(*Tracker); ok {
		t.sent.Store(true)
	}
}
