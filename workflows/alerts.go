package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/taxflow/taxflow/activities"
	"github.com/taxflow/taxflow/internal/alerts"
)

// DeliverWebhookWorkflowName is the registered name of the webhook delivery workflow; its id
// is alerts.DeliveryWorkflowID(event, endpoint) and the dispatcher (alerts.Dispatcher)
// starts it.
const DeliverWebhookWorkflowName = alerts.DeliveryWorkflowName

// DeliveryDeadline is how long a delivery is retried before it is marked failed.
const DeliveryDeadline = 72 * time.Hour

// alertActs refers to the delivery activities by method value, so their names stay typed.
var alertActs *activities.AlertActivities

// deliveryOptions: one POST per attempt (the request itself is bounded to 30 s), retried
// 10 s, 20 s, 40 s … at most an hour apart, for up to DeliveryDeadline.
var deliveryOptions = workflow.ActivityOptions{
	StartToCloseTimeout:    time.Minute,
	ScheduleToCloseTimeout: DeliveryDeadline,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    10 * time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    time.Hour,
		// Unbounded in effect: the deadline ends the retries. (An explicit number also keeps
		// the SDK's test environment from capping unlimited retries at 10.)
		MaximumAttempts:        100_000,
		NonRetryableErrorTypes: []string{activities.ErrTypeWebhookEventMissing},
	},
}

// bookkeepingOptions: a database write, retried until it succeeds.
var bookkeepingOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    time.Minute,
	},
}

// DeliveryResult is the delivery workflow's result.
type DeliveryResult struct {
	EventID    string
	EndpointID string
	// Status is delivered, failed (retries exhausted, or the event is missing) or canceled
	// (the endpoint was deleted).
	Status     string
	StatusCode int    `json:",omitempty"`
	Reason     string `json:",omitempty"`
}

// DeliverWebhookWorkflow delivers one event to one endpoint: it retries the POST until the
// endpoint answers 2xx or DeliveryDeadline passes, then marks the delivery failed. A
// delivery that ends failed completes the workflow normally: the record is in
// webhook_deliveries, and the event is not lost for the invoice, whose state is in Postgres.
func DeliverWebhookWorkflow(ctx workflow.Context, in alerts.DeliveryInput) (DeliveryResult, error) {
	out := DeliveryResult{EventID: in.EventID, EndpointID: in.EndpointID}
	if in.EventID == "" || in.EndpointID == "" {
		return out, temporal.NewNonRetryableApplicationError("DeliveryInput needs EventID and EndpointID", "bad_input", nil)
	}
	var res activities.DeliverWebhookResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, deliveryOptions), alertActs.DeliverWebhook, in).Get(ctx, &res)
	if err == nil {
		out.Status, out.StatusCode = res.Status, res.StatusCode
		return out, nil
	}
	if temporal.IsCanceledError(err) || ctx.Err() != nil {
		return out, err
	}
	out.Status, out.Reason = activities.DeliveryFailed, givingUpReason(err)
	workflow.GetLogger(ctx).Warn("webhook delivery failed", "event_id", in.EventID, "endpoint_id", in.EndpointID, "reason", out.Reason)
	end := activities.EndWebhookDeliveryInput{EventID: in.EventID, EndpointID: in.EndpointID, Status: activities.DeliveryFailed, Reason: out.Reason}
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, bookkeepingOptions), alertActs.EndWebhookDelivery, end).Get(ctx, nil); err != nil {
		return out, err
	}
	return out, nil
}

// givingUpReason says why the retries stopped, with the last attempt's error.
func givingUpReason(err error) string {
	var app *temporal.ApplicationError
	var timeout *temporal.TimeoutError
	switch {
	case errors.As(err, &app) && app.NonRetryable():
		return app.Message()
	case errors.As(err, &app):
		return fmt.Sprintf("gave up after retrying for %s: %s", DeliveryDeadline, app.Message())
	case errors.As(err, &timeout):
		return fmt.Sprintf("gave up after retrying for %s: the last attempt timed out", DeliveryDeadline)
	}
	return fmt.Sprintf("gave up after retrying for %s: %v", DeliveryDeadline, err)
}

// RegisterAlerts registers the webhook delivery workflow and its activities on a worker.
func RegisterAlerts(r worker.Registry, acts *activities.AlertActivities) {
	r.RegisterWorkflowWithOptions(DeliverWebhookWorkflow, workflow.RegisterOptions{Name: DeliverWebhookWorkflowName})
	r.RegisterActivityWithOptions(acts, activity.RegisterOptions{})
}
