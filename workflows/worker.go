package workflows

import (
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/taxflow/taxflow/activities"
)

// Register registers the invoice workflow and its activities on a worker.
func Register(r worker.Registry, acts *activities.Activities) {
	r.RegisterWorkflowWithOptions(InvoiceWorkflow, workflow.RegisterOptions{Name: InvoiceWorkflowName})
	r.RegisterWorkflowWithOptions(StripeDisputeWorkflow, workflow.RegisterOptions{Name: StripeDisputeWorkflowName})
	r.RegisterWorkflowWithOptions(BulkRetryWorkflow, workflow.RegisterOptions{Name: BulkRetryWorkflowName})
	r.RegisterActivityWithOptions(acts, activity.RegisterOptions{})
}
