package chaos

import (
	"context"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/taxflow/taxflow/internal/codec"
	"github.com/taxflow/taxflow/workflows"
)

// workflowInspector reads the invoices' workflows in Temporal: an invoice taxflow shows as
// finalized or failed must still have its workflow running (watching it, or waiting for a
// retry), and a stuck one is explained by its pending activity's last failure.
type workflowInspector struct {
	c   client.Client
	cdc *codec.Codec
}

func newWorkflowInspector(ctx context.Context, address, codecKey string) (*workflowInspector, error) {
	cdc, err := codec.FromEnv(codecKey)
	if err != nil {
		return nil, fmt.Errorf("codec: %w", err)
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := client.DialContext(dctx, client.Options{HostPort: address, Namespace: "default", Logger: quietLogger{},
		DataConverter: cdc.DataConverter(), FailureConverter: cdc.FailureConverter()})
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal: %w", err)
	}
	return &workflowInspector{c: c, cdc: cdc}, nil
}

func (w *workflowInspector) close() { w.c.Close() }

// A nil inspector (a test without Temporal) checks and explains nothing.

// check returns "" when the invoice's workflow runs without trouble, else what is wrong:
// it ended, or its workflow task keeps failing (a non-deterministic change, a panic).
func (w *workflowInspector) check(ctx context.Context, invoiceID string) string {
	if w == nil {
		return ""
	}
	d, err := w.c.DescribeWorkflowExecution(ctx, workflows.InvoiceWorkflowID(invoiceID), "")
	if err != nil {
		return fmt.Sprintf("its workflow cannot be described: %v", err)
	}
	info := d.GetWorkflowExecutionInfo()
	if st := info.GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return fmt.Sprintf("its workflow is %s, not running", st)
	}
	if wt := d.GetPendingWorkflowTask(); wt != nil && wt.GetAttempt() > 3 {
		return fmt.Sprintf("its workflow task has failed %d times", wt.GetAttempt()-1)
	}
	return ""
}

// explain describes what a pending invoice's workflow is waiting for.
func (w *workflowInspector) explain(ctx context.Context, invoiceID string) string {
	if w == nil {
		return "no workflow inspector"
	}
	d, err := w.c.DescribeWorkflowExecution(ctx, workflows.InvoiceWorkflowID(invoiceID), "")
	if err != nil {
		return fmt.Sprintf("workflow not found: %v", err)
	}
	var parts []string
	parts = append(parts, "workflow "+d.GetWorkflowExecutionInfo().GetStatus().String())
	for _, a := range d.GetPendingActivities() {
		s := fmt.Sprintf("activity %s attempt %d (%s)", a.GetActivityType().GetName(), a.GetAttempt(), a.GetState())
		if f := a.GetLastFailure(); f != nil {
			s += ": " + w.cdc.FailureConverter().FailureToError(f).Error()
		}
		parts = append(parts, s)
	}
	if wt := d.GetPendingWorkflowTask(); wt != nil {
		parts = append(parts, fmt.Sprintf("workflow task attempt %d", wt.GetAttempt()))
	}
	return strings.Join(parts, "; ")
}
