package workflows

import (
	"context"
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/taxflow/taxflow/activities"
)

// Client starts and reaches invoice workflows: the one way the starter and the activities
// talk to them.
type Client struct {
	Temporal  client.Client
	TaskQueue string
	// WatchPeriod is how long a finalized invoice is watched (TAXFLOW_WATCH_PERIOD; 0: the
	// default).
	WatchPeriod time.Duration
	// ContinueEvery overrides DefaultContinueEvery (tests).
	ContinueEvery int
}

// StartInvoice starts the invoice's workflow. A running workflow with the same id is
// reused, and a closed one is not started again (REJECT_DUPLICATE): a repeated request
// never runs an invoice twice.
func (c Client) StartInvoice(ctx context.Context, invoiceID string) error {
	_, err := c.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       InvoiceWorkflowID(invoiceID),
		TaskQueue:                c.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes:    InitialSearchAttributes(invoiceID),
	}, InvoiceWorkflowName, InvoiceInput{InvoiceID: invoiceID, WatchPeriod: c.WatchPeriod, ContinueEvery: c.ContinueEvery, Logic: LatestLogic})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil
	}
	return err
}

// Signal delivers a signal to the invoice's workflow. When the workflow has ended (its
// watch is over) it is started again from the invoice's state in Postgres with the signal
// (signal-with-start), so an event that arrives later — a credit note next year, a void in
// Stripe — still reaches the invoice.
func (c Client) Signal(ctx context.Context, invoiceID, signal string, arg any) error {
	_, err := c.Temporal.SignalWithStartWorkflow(ctx, InvoiceWorkflowID(invoiceID), signal, arg, client.StartWorkflowOptions{
		ID:                       InvoiceWorkflowID(invoiceID),
		TaskQueue:                c.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}, InvoiceWorkflowName, InvoiceInput{InvoiceID: invoiceID, WatchPeriod: c.WatchPeriod, ContinueEvery: c.ContinueEvery, Resume: true, Logic: LatestLogic})
	return err
}

// ForwardStripeDispute starts the workflow that forwards a Stripe dispute event to its
// invoice (once per event).
func (c Client) ForwardStripeDispute(ctx context.Context, in activities.DisputeEventInput) error {
	_, err := c.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       StripeDisputeWorkflowID(in.EventID),
		TaskQueue:                c.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}, StripeDisputeWorkflowName, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil
	}
	return err
}

// BulkRetryWorkflowID names a bulk retry.
func BulkRetryWorkflowID(id string) string { return "bulk-retry/" + id }

// StartBulkRetry starts a bulk retry of every failed invoice under id.
func (c Client) StartBulkRetry(ctx context.Context, id string, in BulkRetryInput) error {
	_, err := c.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    BulkRetryWorkflowID(id),
		TaskQueue:             c.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}, BulkRetryWorkflowName, in)
	return err
}

// BulkRetryOutcome reads a bulk retry: running (result nil) or its result.
func (c Client) BulkRetryOutcome(ctx context.Context, id string) (running bool, res *BulkRetryResult, err error) {
	d, err := c.Temporal.DescribeWorkflowExecution(ctx, BulkRetryWorkflowID(id), "")
	if err != nil {
		return false, nil, err
	}
	if d.WorkflowExecutionInfo.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return true, nil, nil
	}
	var out BulkRetryResult
	if err := c.Temporal.GetWorkflow(ctx, BulkRetryWorkflowID(id), "").Get(ctx, &out); err != nil {
		return false, nil, err
	}
	return false, &out, nil
}
