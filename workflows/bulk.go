package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/taxflow/taxflow/activities"
)

// BulkRetryWorkflowName is the registered name of BulkRetryWorkflow.
const BulkRetryWorkflowName = "BulkRetryWorkflow"

// BulkRetryInput configures a bulk retry.
type BulkRetryInput struct {
	// PerSecond bounds how many invoices are retried each second (0: 5), so a retry of
	// thousands stays within Anrok's and Stripe's rate limits.
	PerSecond int `json:",omitempty"`
	// Settle is how long to wait for the retried invoices before counting (0: 10 minutes);
	// counting stops early once none is failed.
	Settle time.Duration `json:",omitempty"`
}

// BulkRetryResult reports a bulk retry.
type BulkRetryResult struct {
	Invoices    int
	Retried     int
	Succeeded   int
	StillFailed int
}

// BulkRetryWorkflow retries every failed invoice (every invoice with an error no retry has
// resolved), a few per second, then reports how many are no longer failed.
func BulkRetryWorkflow(ctx workflow.Context, in BulkRetryInput) (BulkRetryResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
	})
	perSecond := in.PerSecond
	if perSecond <= 0 {
		perSecond = 5
	}
	settle := in.Settle
	if settle <= 0 {
		settle = 10 * time.Minute
	}
	var ids []string
	for cursor := ""; ; {
		var page activities.FailedPage
		if err := workflow.ExecuteActivity(ctx, a.ListFailedInvoices, cursor, int32(500)).Get(ctx, &page); err != nil {
			return BulkRetryResult{}, err
		}
		ids = append(ids, page.InvoiceIDs...)
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	res := BulkRetryResult{Invoices: len(ids)}
	for start := 0; start < len(ids); start += perSecond {
		end := min(start+perSecond, len(ids))
		var n int
		if err := workflow.ExecuteActivity(ctx, a.RetryInvoices, ids[start:end], "bulk retry").Get(ctx, &n); err != nil {
			return res, err
		}
		res.Retried += n
		if end < len(ids) {
			if err := workflow.Sleep(ctx, time.Second); err != nil {
				return res, err
			}
		}
	}
	deadline := workflow.Now(ctx).Add(settle)
	for {
		if err := workflow.ExecuteActivity(ctx, a.CountStillFailed, ids).Get(ctx, &res.StillFailed); err != nil {
			return res, err
		}
		if res.StillFailed == 0 || !workflow.Now(ctx).Before(deadline) {
			break
		}
		if err := workflow.Sleep(ctx, 5*time.Second); err != nil {
			return res, err
		}
	}
	res.Succeeded = res.Invoices - res.StillFailed
	return res, nil
}
