package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/taxflow/taxflow/activities"
)

// StripeDisputeWorkflowName is the registered name of StripeDisputeWorkflow.
const StripeDisputeWorkflowName = "StripeDisputeWorkflow"

// StripeDisputeWorkflowID is the id of the workflow that forwards one Stripe dispute event:
// derived from the event, so a redelivered event never forwards twice.
func StripeDisputeWorkflowID(eventID string) string { return "stripe-dispute-event/" + eventID }

// StripeDisputeWorkflow forwards a Stripe dispute event (charge.dispute.created/closed) to
// the invoice it is about. Finding the invoice takes Stripe calls (dispute → payment intent
// → invoice payments → invoice, as the basil API requires), which the webhook endpoint must
// not make; this small workflow makes them durably.
func StripeDisputeWorkflow(ctx workflow.Context, in activities.DisputeEventInput) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		// A day of retries: an event about a dispute Stripe cannot show is given up.
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute,
		},
	})
	var invoiceID string
	err := workflow.ExecuteActivity(ctx, a.ForwardDispute, in).Get(ctx, &invoiceID)
	return invoiceID, err
}
