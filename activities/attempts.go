package activities

import (
	"context"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"

	"github.com/taxflow/taxflow/internal/ratelimit"
)

// A retried attempt looks for what an earlier attempt did at the provider before acting
// again (billing.Call.Retried): one more request. That is only needed when an earlier
// attempt may have sent something. Attempts put off by the rate limiter send nothing, and
// at month end they are most attempts: without this, every deferral would cost a look-up.
//
// The interceptor gives each attempt a ratelimit.Tracker (the limiter's transport marks it
// just before a request leaves). An attempt that ends in an error with nothing sent, all
// attempts before it quiet too, records so in its heartbeat details — synchronously, before
// the failure is reported — and the next attempt reads them. A worker that dies mid-attempt
// records nothing, so the attempt after it looks up, as it must.

// quietAttempts is the heartbeat detail: attempts 1..Through sent no provider request.
type quietAttempts struct {
	Through int32
}

type earlierMaySentKey struct{}

// earlierAttemptMayHaveSent reports whether an earlier attempt of this activity may have
// reached a provider: always after an attempt that was not recorded quiet; never on the
// first attempt.
func earlierAttemptMayHaveSent(ctx context.Context) bool {
	if v, ok := ctx.Value(earlierMaySentKey{}).(bool); ok {
		return v
	}
	return attempt(ctx) > 1
}

// AttemptInterceptor is the worker interceptor that tracks quiet attempts. Register it on
// every worker that runs taxflow's activities (worker.Options.Interceptors).
type AttemptInterceptor struct {
	interceptor.WorkerInterceptorBase
}

// InterceptActivity wraps one activity execution.
func (*AttemptInterceptor) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &attemptInbound{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}}
}

type attemptInbound struct {
	interceptor.ActivityInboundInterceptorBase
}

func (a *attemptInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (interface{}, error) {
	n := activity.GetInfo(ctx).Attempt
	var prior quietAttempts
	if n > 1 && activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &prior); err != nil {
			prior = quietAttempts{}
		}
	}
	allQuiet := n == 1 || prior.Through == n-1
	ctx = context.WithValue(ctx, earlierMaySentKey{}, !allQuiet)
	ctx, tracker := ratelimit.WithTracker(ctx)
	res, err := a.Next.ExecuteActivity(ctx, in)
	if err != nil && allQuiet && !tracker.Sent() {
		activity.RecordHeartbeat(ctx, quietAttempts{Through: n})
	}
	return res, err
}
