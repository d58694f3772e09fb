package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/taxflow/taxflow/activities"
	"github.com/taxflow/taxflow/internal/failure"
	"github.com/taxflow/taxflow/internal/invoicing"
)

// a refers to the activities by method value, so their names stay typed.
var a *activities.Activities

// providerCallOptions: a provider call gets two minutes per attempt and is retried with
// backoff for as long as it takes; only errors that need a person stop the retries (they
// are non-retryable application errors) and leave the invoice failed.
var providerCallOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 2 * time.Minute,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    5 * time.Minute,
		MaximumAttempts:    0,
	},
}

// InvoiceWorkflow runs one invoice: check → Stripe draft → tax (or the deadline) → draft
// lines with tax → commit in Anrok → finalize in Stripe → watch for a void.
func InvoiceWorkflow(ctx workflow.Context, in InvoiceInput) (InvoiceResult, error) {
	w, err := newInvoiceWorkflow(ctx, in)
	if err != nil {
		return InvoiceResult{}, err
	}
	return w.run(ctx)
}

type invoiceWorkflow struct {
	in    InvoiceInput
	state State
	check activities.CheckResult
	draft activities.DraftResult
	lines bool // the lines step has been attempted
	// retries counts the operator's retries; activities derive fresh idempotency keys from it
	// (Stripe replays a saved error for 24 h under the same key) and look for what an
	// earlier attempt created before creating anything.
	retries int
	retry   workflow.ReceiveChannel
	voidCh  workflow.ReceiveChannel
}

func newInvoiceWorkflow(ctx workflow.Context, in InvoiceInput) (*invoiceWorkflow, error) {
	if in.InvoiceID == "" {
		return nil, temporal.NewNonRetryableApplicationError("InvoiceInput.InvoiceID is empty", "bad_input", nil)
	}
	w := &invoiceWorkflow{
		in: in,
		state: State{
			InvoiceID: in.InvoiceID,
			Step:      string(invoicing.StepCheck),
			Status:    string(invoicing.StatusReceived),
			TaxStatus: string(invoicing.TaxPending),
		},
		retry:  workflow.GetSignalChannel(ctx, SignalRetry),
		voidCh: workflow.GetSignalChannel(ctx, SignalVoid),
	}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (State, error) { return w.state, nil }); err != nil {
		return nil, err
	}
	return w, nil
}

// order is the steps up to finalization.
var order = []invoicing.Step{
	invoicing.StepCheck, invoicing.StepDraft, invoicing.StepTax, invoicing.StepLines,
	invoicing.StepCommit, invoicing.StepFinalize,
}

func (w *invoiceWorkflow) run(ctx workflow.Context) (InvoiceResult, error) {
	ctx = workflow.WithActivityOptions(ctx, providerCallOptions)
	for i := 0; i < len(order); {
		step := order[i]
		w.state.Step = string(step)
		err := w.runStep(ctx, step)
		if err == nil {
			i++
			continue
		}
		if temporal.IsCanceledError(err) || ctx.Err() != nil {
			return w.result(), err
		}
		resume, err := w.failAndWait(ctx, step, err)
		if err != nil {
			return w.result(), err
		}
		i = indexOf(resume)
	}
	return w.watch(ctx)
}

func indexOf(step invoicing.Step) int {
	for i, s := range order {
		if s == step {
			return i
		}
	}
	return 0
}

func (w *invoiceWorkflow) ref() activities.InvoiceRef {
	return activities.InvoiceRef{InvoiceID: w.in.InvoiceID, Retry: w.retries}
}

func (w *invoiceWorkflow) runStep(ctx workflow.Context, step invoicing.Step) error {
	switch step {
	case invoicing.StepCheck:
		return workflow.ExecuteActivity(ctx, a.CheckInvoice, w.ref()).Get(ctx, &w.check)
	case invoicing.StepDraft:
		return workflow.ExecuteActivity(ctx, a.CreateStripeDraft, w.ref()).Get(ctx, &w.draft)
	case invoicing.StepTax:
		return w.waitForTax(ctx)
	case invoicing.StepLines:
		in := activities.LinesInput{InvoiceRef: w.ref(), KnownEmpty: w.draft.Fresh && !w.lines}
		w.lines = true
		var res activities.LinesResult
		if err := workflow.ExecuteActivity(ctx, a.WriteDraftLines, in).Get(ctx, &res); err != nil {
			return err
		}
		w.state.Status = string(invoicing.StatusDraft)
		return nil
	case invoicing.StepCommit:
		var res activities.TaxSummary
		if err := workflow.ExecuteActivity(ctx, a.CommitTax, w.ref()).Get(ctx, &res); err != nil {
			return err
		}
		w.state.TaxStatus = string(invoicing.TaxCommitted)
		w.state.Tax = res.Tax
		return nil
	case invoicing.StepFinalize:
		var res activities.FinalizeResult
		if err := workflow.ExecuteActivity(ctx, a.FinalizeStripeInvoice, w.ref()).Get(ctx, &res); err != nil {
			return err
		}
		w.state.Status = string(invoicing.StatusFinalized)
		w.state.StripeInvoiceID = res.StripeInvoiceID
		w.state.Tax, w.state.Total = res.Tax, res.Total
		if res.Mismatch != nil {
			// Issued already, so nothing to retry: the invoice stays finalized (it can be voided
			// or credited) and the mismatch is recorded for a person.
			m := res.Mismatch
			return w.recordFailure(ctx, invoicing.StepFinalize, &stepFailure{ErrorInfo{Provider: m.Provider, Class: m.Class, Code: m.Code, Message: m.Message}}, true)
		}
		return nil
	}
	return fmt.Errorf("unknown step %q", step)
}

// waitForTax waits for the invoice's tax or the deadline, whichever comes first. In
// anrok_api mode the tax arrives when the calculation activity succeeds (it retries
// transient Anrok failures until then); at the deadline the account's on_tax_timeout
// policy applies.
func (w *invoiceWorkflow) waitForTax(ctx workflow.Context) error {
	wait := w.check.TaxWait
	if wait <= 0 {
		wait = time.Hour
	}
	deadline := workflow.Now(ctx).Add(wait)
	w.state.TaxDeadline = deadline
	defer func() { w.state.TaxDeadline = time.Time{} }()

	calcCtx, cancelCalc := workflow.WithCancel(ctx)
	timerCtx, cancelTimer := workflow.WithCancel(ctx)
	calc := workflow.ExecuteActivity(calcCtx, a.CalculateTax, w.ref())
	timer := workflow.NewTimerWithOptions(timerCtx, wait, workflow.TimerOptions{
		Summary: "waiting for tax until " + deadline.UTC().Format(time.RFC3339),
	})

	var taxErr error
	timedOut := false
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(calc, func(f workflow.Future) {
		cancelTimer()
		var res activities.TaxSummary
		if taxErr = f.Get(ctx, &res); taxErr == nil {
			w.state.TaxStatus = string(invoicing.TaxCalculated)
			w.state.Tax = res.Tax
		}
	})
	sel.AddFuture(timer, func(f workflow.Future) {
		if f.Get(ctx, nil) == nil {
			timedOut = true
			cancelCalc()
		}
	})
	sel.Select(ctx)
	if !timedOut {
		return taxErr
	}
	// Only "fail" is accepted by the API today: never finalize silently without tax.
	return &stepFailure{ErrorInfo{
		Provider: failure.ProviderTaxflow,
		Class:    string(failure.NeedsPerson),
		Code:     invoicing.CodeTaxTimeout,
		Message: fmt.Sprintf("no tax within %s (the tax engine kept failing; see the CalculateTax activity's last failure in the Temporal UI): fix the cause, then retry",
			wait),
	}}
}

// stepFailure is a failure the workflow itself decides (a deadline), not an activity's.
type stepFailure struct{ info ErrorInfo }

func (e *stepFailure) Error() string { return e.info.Code + ": " + e.info.Message }

// errorInfoOf reads the classified failure out of an activity error.
func errorInfoOf(step invoicing.Step, err error) ErrorInfo {
	var sf *stepFailure
	if errors.As(err, &sf) {
		info := sf.info
		info.Step = string(step)
		return info
	}
	info := ErrorInfo{Step: string(step), Provider: failure.ProviderTaxflow, Class: string(failure.NeedsPerson), Code: "internal_error", Message: err.Error()}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		info.Code, info.Message = appErr.Type(), appErr.Message()
		var d activities.FailureDetails
		if appErr.HasDetails() && appErr.Details(&d) == nil {
			info.Provider, info.Class, info.Code, info.Message = d.Provider, d.Class, d.Code, d.Message
		}
	}
	return info
}

// recordFailure stores a failed step's error on the invoice (and in the query state).
// keepStatus leaves the invoice's status as it is (a finalized invoice stays finalized).
func (w *invoiceWorkflow) recordFailure(ctx workflow.Context, step invoicing.Step, cause error, keepStatus bool) error {
	info := errorInfoOf(step, cause)
	info.At = workflow.Now(ctx)
	w.state.LastError = &info
	err := workflow.ExecuteActivity(ctx, a.RecordFailure, activities.FailureInput{
		InvoiceID: w.in.InvoiceID, Step: info.Step, Provider: info.Provider, Class: info.Class,
		Code: info.Code, Message: info.Message, KeepStatus: keepStatus,
	}).Get(ctx, nil)
	if err == nil && !keepStatus {
		w.state.Status = string(invoicing.StatusFailed)
	}
	return err
}

// failAndWait records a failed step, undoes what must not stay (a committed Anrok
// transaction for an invoice Stripe could not finalize), waits for a retry and returns the
// step to resume from. Only cancellation ends it: a failure of the undo is recorded too,
// and the retry tries again.
func (w *invoiceWorkflow) failAndWait(ctx workflow.Context, step invoicing.Step, cause error) (invoicing.Step, error) {
	// Retries sent before this failure are stale: nobody could have seen it yet.
	w.drainRetries()
	if err := w.recordFailure(ctx, step, cause, false); err != nil {
		return step, err
	}
	resume := step
	if step == invoicing.StepFinalize {
		// Nothing is filed for an invoice that was never issued.
		var res activities.CompensationResult
		err := workflow.ExecuteActivity(ctx, a.VoidTaxOfUnfinalized, w.ref()).Get(ctx, &res)
		switch {
		case err == nil && res.Voided:
			w.state.TaxStatus = res.TaxStatus
			resume = invoicing.StepCommit
		case err != nil && (temporal.IsCanceledError(err) || ctx.Err() != nil):
			return step, err
		case err != nil:
			// The transaction stays committed for now; the retry finalizes again and, should
			// Stripe still refuse, voids again.
			if err := w.recordFailure(ctx, step, err, false); err != nil {
				return step, err
			}
		}
	}
	if err := w.awaitRetry(ctx); err != nil {
		return step, err
	}
	w.retries++
	w.state.LastError = nil
	w.state.Status = string(invoicing.StatusBefore(resume))
	err := workflow.ExecuteActivity(ctx, a.RecordProgress, activities.ProgressInput{
		InvoiceID: w.in.InvoiceID, Step: string(resume), Status: w.state.Status, ResolveErrors: true,
	}).Get(ctx, nil)
	return resume, err
}

func (w *invoiceWorkflow) drainRetries() {
	for w.retry.ReceiveAsync(nil) {
	}
}

// awaitRetry blocks until SignalRetry; void requests that arrive meanwhile are kept for
// when the invoice is finalized.
func (w *invoiceWorkflow) awaitRetry(ctx workflow.Context) error {
	w.state.WaitingForRetry = true
	defer func() { w.state.WaitingForRetry = false }()
	for {
		retried := false
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(w.retry, func(c workflow.ReceiveChannel, _ bool) {
			var sig RetrySignal
			c.Receive(ctx, &sig)
			retried = true
		})
		sel.AddReceive(w.voidCh, func(c workflow.ReceiveChannel, _ bool) {
			var sig VoidSignal
			c.Receive(ctx, &sig)
			w.state.VoidRequested = true
		})
		sel.Select(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if retried {
			return nil
		}
	}
}

// watch keeps a finalized invoice's workflow alive for the watch period, voiding it in
// Stripe and Anrok when asked.
func (w *invoiceWorkflow) watch(ctx workflow.Context) (InvoiceResult, error) {
	w.state.Step = string(invoicing.StepWatch)
	period := w.in.WatchPeriod
	if period <= 0 {
		period = DefaultWatchPeriod
	}
	until := workflow.Now(ctx).Add(period)
	timerCtx, cancelTimer := workflow.WithCancel(ctx)
	defer cancelTimer()
	timer := workflow.NewTimerWithOptions(timerCtx, period, workflow.TimerOptions{
		Summary: "watching for events until " + until.UTC().Format(time.RFC3339),
	})
	watching := true
	for {
		if w.state.VoidRequested {
			voided, err := w.void(ctx)
			if err != nil || voided {
				return w.result(), err
			}
		}
		if !watching {
			// A void that arrived together with the end of the watch is still applied.
			if w.voidCh.ReceiveAsync(nil) {
				w.state.VoidRequested = true
				continue
			}
			return w.result(), nil
		}
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(w.voidCh, func(c workflow.ReceiveChannel, _ bool) {
			var sig VoidSignal
			c.Receive(ctx, &sig)
			w.state.VoidRequested = true
		})
		sel.AddReceive(w.retry, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, nil) // nothing failed: a stray retry changes nothing
		})
		sel.AddFuture(timer, func(workflow.Future) { watching = false })
		sel.Select(ctx)
		if ctx.Err() != nil {
			return w.result(), ctx.Err()
		}
	}
}

// void voids the Stripe invoice, then the Anrok transaction. A failure that needs a person
// is recorded (the invoice stays finalized) and retried on SignalRetry; a paid invoice
// cannot be voided, which is recorded and ends the request (voided false).
func (w *invoiceWorkflow) void(ctx workflow.Context) (bool, error) {
	for {
		err := workflow.ExecuteActivity(ctx, a.VoidStripeInvoice, w.ref()).Get(ctx, nil)
		if err == nil {
			w.state.Status = string(invoicing.StatusVoid)
			var res activities.VoidTaxResult
			err = workflow.ExecuteActivity(ctx, a.VoidTax, w.ref()).Get(ctx, &res)
			if err == nil {
				w.state.TaxStatus = res.TaxStatus
				w.state.VoidRequested = false
				return true, nil
			}
		}
		if temporal.IsCanceledError(err) || ctx.Err() != nil {
			return false, err
		}
		w.drainRetries()
		if errorInfoOf(invoicing.StepVoid, err).Code == activities.CodeInvoicePaid {
			w.state.VoidRequested = false
			w.state.Status = string(invoicing.StatusPaid)
			return false, w.recordFailure(ctx, invoicing.StepVoid, err, true)
		}
		if err := w.recordFailure(ctx, invoicing.StepVoid, err, true); err != nil {
			return false, err
		}
		if err := w.awaitRetry(ctx); err != nil {
			return false, err
		}
		w.retries++
		w.state.LastError = nil
		if err := workflow.ExecuteActivity(ctx, a.RecordProgress, activities.ProgressInput{
			InvoiceID: w.in.InvoiceID, Step: string(invoicing.StepVoid), Status: w.state.Status, ResolveErrors: true,
		}).Get(ctx, nil); err != nil {
			return false, err
		}
	}
}

func (w *invoiceWorkflow) result() InvoiceResult {
	return InvoiceResult{
		InvoiceID:       w.state.InvoiceID,
		Status:          w.state.Status,
		TaxStatus:       w.state.TaxStatus,
		StripeInvoiceID: w.state.StripeInvoiceID,
		Tax:             w.state.Tax,
		Total:           w.state.Total,
	}
}
