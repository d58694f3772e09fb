// Package bare is the benchmark's reference workload: a workflow that runs a given number of
// no-op activities one after another, and nothing else. Run on the same Temporal server
// with the same worker settings as taxflow's worker, its throughput is what the platform
// allows; taxflow's invoices per second divided by it is the platform ratio (issue 7, item
// 1). It owns no taxflow code and must not import any: the point is to measure Temporal
// alone.
package bare

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// WorkflowName is the registered name of the reference workflow.
const WorkflowName = "BenchBareWorkflow"

// ActivityName is the registered name of the no-op activity.
const ActivityName = "BenchNoOp"

// activityOptions are those of taxflow's provider calls (workflows.providerCallOptions), so
// that the server schedules and retries the reference's activities the same way.
var activityOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 75 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    5 * time.Minute,
	},
}

// Workflow runs activities no-op activities in sequence, as the invoice workflow runs its
// steps.
func Workflow(ctx workflow.Context, activities int) error {
	ctx = workflow.WithActivityOptions(ctx, activityOptions)
	for i := 0; i < activities; i++ {
		if err := workflow.ExecuteActivity(ctx, ActivityName, i).Get(ctx, nil); err != nil {
			return fmt.Errorf("no-op activity %d: %w", i, err)
		}
	}
	return nil
}

// NoOp does nothing and returns its input.
func NoOp(_ context.Context, step int) (int, error) { return step, nil }

// Register registers the workflow and the activity on a worker.
func Register(r worker.Registry) {
	r.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: WorkflowName})
	r.RegisterActivityWithOptions(NoOp, activity.RegisterOptions{Name: ActivityName})
}

// NewWorker builds the reference worker on taskQueue. Its worker.Options are the zero
// value, exactly as taxflow's worker (worker/main.go) builds its own: same pollers, same
// task slots, same sticky cache.
func NewWorker(c client.Client, taskQueue string) worker.Worker {
	w := worker.New(c, taskQueue, worker.Options{})
	Register(w)
	return w
}
