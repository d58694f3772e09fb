package reconcile

import (
	"context"
	"time"

	"github.com/taxflow/taxflow/internal/failure"
)

// readAttempts bounds the tries of one provider read. Reads run outside Temporal, so the
// reconciliation retries transient failures itself: 5xx, timeouts, 429s, and waits for a
// send slot under the account's rate limit (shared with the workers).
const readAttempts = 6

// maxBackoff caps the wait between two tries.
const maxBackoff = 10 * time.Second

// read runs f until it succeeds, fails for good (an error that needs a person, such as a
// refused API key), or has been tried readAttempts times.
func (r *Reconciler) read(ctx context.Context, f func() error) error {
	wait := r.Backoff
	if wait == 0 {
		wait = 500 * time.Millisecond
	}
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || attempt == readAttempts || failure.ClassOf(err) == failure.NeedsPerson {
			return err
		}
		pause := wait
		if fe, ok := failure.As(err); ok && fe.RetryAfter > 0 {
			pause = fe.RetryAfter
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(2*wait, maxBackoff)
	}
}
