package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/taxflow/taxflow/internal/failure"
)

// A read is retried while the failure is transient (5xx, 429, a deferred send slot) and
// given up at once when it needs a person (a refused key) — outside Temporal, the
// reconciliation retries on its own.
func TestReadsRetryTransientFailuresOnly(t *testing.T) {
	r := &Reconciler{Backoff: time.Millisecond}
	calls := 0
	err := r.read(context.Background(), func() error {
		calls++
		if calls < 3 {
			return &failure.Error{Provider: failure.ProviderAnrok, Class: failure.RateLimited, Code: "anrok_rate_limited", RetryAfter: time.Millisecond}
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("rate limited: %v after %d calls", err, calls)
	}
	calls = 0
	refused := failure.NeedsPersonError(failure.ProviderStripe, "stripe_unauthorized", "key refused")
	if err := r.read(context.Background(), func() error { calls++; return refused }); !errors.Is(err, refused) || calls != 1 {
		t.Fatalf("needs a person: %v after %d calls", err, calls)
	}
	calls = 0
	down := failure.RetryableError(failure.ProviderStripe, "stripe_unreachable", "down", nil)
	if err := r.read(context.Background(), func() error { calls++; return down }); !errors.Is(err, down) || calls != readAttempts {
		t.Fatalf("down: %v after %d calls", err, calls)
	}
}

// Ids that do not apply are null in JSON, not "".
func TestDifferenceJSONWritesAbsentIDsAsNull(t *testing.T) {
	b, err := json.Marshal(Difference{Kind: UnknownInStripe, InvoiceID: "ghost", StripeInvoiceID: "in_1", Message: "void it"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"unknown_in_stripe","invoice_id":"ghost","stripe_invoice_id":"in_1","anrok_transaction_id":null,"taxflow":null,"stripe":null,"anrok":null,"message":"void it"}`
	if got := string(b); got != want || strings.Contains(got, "credit_note_id") {
		t.Fatalf("%s", got)
	}
}
