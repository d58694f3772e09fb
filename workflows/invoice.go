package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/taxflow/taxflow/activities"
	"github.com/taxflow/taxflow/internal/failure"
	"github.com/taxflow/taxflow/internal/invoicing"
)

// a refers to the activities by method value, so their names stay typed.
var a *activities.Activities

// providerCallOptions: a provider call gets 75 seconds per attempt (its HTTP requests time
// out at 60) — so an attempt lost with its worker is retried on another soon — and is
// retried with backoff for as long as it takes; only errors that need a person stop the
// retries (they are non-retryable application errors) and leave the invoice failed.
var providerCallOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 75 * time.Second,
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
	// noTax: the tax deadline passed under a policy that goes on without tax (finalize,
	// keep_draft); the lines are written without tax and nothing is committed.
	noTax bool
	// keepDraftPolicy: the deadline's policy is keep_draft (not an operator's finalize-now).
	keepDraftPolicy bool
	// finalizeRequested: an operator sent finalize-now.
	finalizeRequested bool
	// retries counts the operator's retries; activities derive fresh idempotency keys from it
	// (Stripe replays a saved error for 24 h under the same key) and look for what an
	// earlier attempt created before creating anything.
	retries int
	// searchable: the workflow publishes its search attributes (version 1 and later).
	searchable bool
	// lean (version 2 of "search-attributes"): the starter sets the first search attributes
	// at the start, the workflow publishes only where it comes to rest, and the watch takes
	// version 1 without a marker of its own — fewer history events and visibility writes
	// per invoice (issue 7).
	lean        bool
	published   published
	retry       workflow.ReceiveChannel
	voidCh      workflow.ReceiveChannel
	stripe      workflow.ReceiveChannel
	disputes    workflow.ReceiveChannel
	creditNotes workflow.ReceiveChannel
	refresh     workflow.ReceiveChannel
	finalizeNow workflow.ReceiveChannel
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
		retry:       workflow.GetSignalChannel(ctx, SignalRetry),
		voidCh:      workflow.GetSignalChannel(ctx, SignalVoid),
		stripe:      workflow.GetSignalChannel(ctx, SignalStripeEvent),
		disputes:    workflow.GetSignalChannel(ctx, SignalDispute),
		creditNotes: workflow.GetSignalChannel(ctx, SignalCreditNote),
		refresh:     workflow.GetSignalChannel(ctx, SignalRefreshTax),
		finalizeNow: workflow.GetSignalChannel(ctx, SignalFinalizeNow),
	}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (State, error) { return w.state, nil }); err != nil {
		return nil, err
	}
	return w, nil
}

// Steps beyond invoicing's: the wait for a person to finalize in Stripe (leave_as_draft),
// and the end of an invoice that will never be finalized (skipped, deleted in Stripe).
const (
	stepAwaitFinalization invoicing.Step = "await_finalization"
	stepDone              invoicing.Step = "done"
)

// logicVersion is the logic this run follows: the one its input names, else (runs started
// before InvoiceInput.Logic existed) the one workflow.GetVersion recorded.
func (w *invoiceWorkflow) logicVersion(ctx workflow.Context) workflow.Version {
	switch {
	case w.in.Logic == 0:
		return workflow.GetVersion(ctx, changeSearchAttributes, workflow.DefaultVersion, versionLean)
	case w.in.Logic > LatestLogic || w.in.Logic < 1:
		// Started by a newer starter than this worker: fail the workflow task (it is retried)
		// until a worker that knows the logic takes it, as GetVersion does. Deploy workers first.
		panic(fmt.Sprintf("invoice %s was started with workflow logic %d; this worker knows 1 to %d: deploy the newer worker",
			w.in.InvoiceID, w.in.Logic, LatestLogic))
	}
	return workflow.Version(w.in.Logic)
}

func (w *invoiceWorkflow) stripeApp() bool { return w.check.TaxMode == invoicing.TaxModeStripeApp }

func (w *invoiceWorkflow) run(ctx workflow.Context) (InvoiceResult, error) {
	ctx = workflow.WithActivityOptions(ctx, providerCallOptions)
	v := w.logicVersion(ctx)
	w.searchable, w.lean = v >= 1, v >= versionLean
	if w.lean {
		w.published = startedWith(ctx)
	}
	defer w.publish(ctx)
	step := invoicing.StepCheck
	if w.in.Resume {
		var err error
		if step, err = w.resume(ctx); err != nil {
			return w.result(), err
		}
	}
	for step != invoicing.StepWatch && step != stepDone {
		w.state.Step = string(step)
		if !w.lean {
			w.publish(ctx)
		}
		next, err := w.runStep(ctx, step)
		if err == nil {
			step = next
			continue
		}
		if temporal.IsCanceledError(err) || ctx.Err() != nil {
			return w.result(), err
		}
		var ended *invoiceEnded
		if errors.As(err, &ended) {
			return w.result(), nil
		}
		if step, err = w.failAndWait(ctx, step, err); err != nil {
			if errors.As(err, &ended) {
				return w.result(), nil
			}
			return w.result(), err
		}
	}
	if step == stepDone {
		// Restarted by an event for an invoice that has ended: apply what came (a credit
		// note is refused, a dispute recorded) and end again.
		for w.in.Resume {
			ev, ok := w.pendingEvent()
			if !ok {
				break
			}
			if done, _, err := w.handle(ctx, ev); err != nil || done {
				return w.result(), err
			}
		}
		return w.result(), nil
	}
	return w.watch(ctx)
}

// mirrors says whether an event can change what taxflow knows of the invoice.
func (w *invoiceWorkflow) mirrors(typ string) bool {
	switch typ {
	case "invoice.finalized":
		return w.state.Status == string(invoicing.StatusDraft) || w.state.Status == string(invoicing.StatusReceived) || w.state.Status == string(invoicing.StatusFailed)
	case "invoice.paid", "invoice.payment_succeeded":
		return w.state.Status != string(invoicing.StatusPaid)
	case "invoice.payment_failed", "invoice.marked_uncollectible", "invoice.voided", "invoice.deleted":
		return true
	}
	return false // invoice.created, invoice.updated (read while waiting for Stripe's tax), ...
}

// invoiceEnded: the invoice will never go further (its draft was deleted in Stripe).
type invoiceEnded struct{ why string }

func (e *invoiceEnded) Error() string { return "invoice ended: " + e.why }

func (w *invoiceWorkflow) ref() activities.InvoiceRef {
	return activities.InvoiceRef{InvoiceID: w.in.InvoiceID, Retry: w.retries}
}

// runStep runs one step and says which comes next.
func (w *invoiceWorkflow) runStep(ctx workflow.Context, step invoicing.Step) (invoicing.Step, error) {
	switch step {
	case invoicing.StepCheck:
		w.noTax = false
		return invoicing.StepDraft, workflow.ExecuteActivity(ctx, a.CheckInvoice, w.ref()).Get(ctx, &w.check)
	case invoicing.StepDraft:
		if err := workflow.ExecuteActivity(ctx, a.CreateStripeDraft, w.ref()).Get(ctx, &w.draft); err != nil {
			return step, err
		}
		if w.stripeApp() {
			// Stripe computes the tax on the lines: they go first, without tax.
			return invoicing.StepLines, nil
		}
		return invoicing.StepTax, nil
	case invoicing.StepTax:
		return w.taxStep(ctx)
	case invoicing.StepLines:
		in := activities.LinesInput{InvoiceRef: w.ref(), KnownEmpty: w.draft.Fresh && !w.lines, WithoutTax: w.stripeApp() || w.noTax}
		w.lines = true
		var res activities.LinesResult
		if err := workflow.ExecuteActivity(ctx, a.WriteDraftLines, in).Get(ctx, &res); err != nil {
			return step, err
		}
		w.state.Status = string(invoicing.StatusDraft)
		switch {
		case w.stripeApp():
			return invoicing.StepTax, nil
		case w.noTax && w.keepDraftPolicy:
			return step, w.keepDraft()
		case w.noTax:
			return invoicing.StepFinalize, nil
		}
		return invoicing.StepCommit, nil
	case invoicing.StepCommit:
		var res activities.TaxSummary
		if err := workflow.ExecuteActivity(ctx, a.CommitTax, w.ref()).Get(ctx, &res); err != nil {
			return step, err
		}
		w.state.TaxStatus = string(invoicing.TaxCommitted)
		w.state.Tax = res.Tax
		if w.check.LeaveAsDraft {
			return stepAwaitFinalization, nil
		}
		return invoicing.StepFinalize, nil
	case invoicing.StepFinalize:
		return invoicing.StepWatch, w.finalize(ctx)
	case stepAwaitFinalization:
		return w.awaitFinalization(ctx)
	}
	return step, fmt.Errorf("unknown step %q", step)
}

func (w *invoiceWorkflow) finalize(ctx workflow.Context) error {
	in := activities.FinalizeInput{InvoiceRef: w.ref()}
	switch {
	case w.stripeApp() && w.noTax:
		in.Mode = activities.FinalizeStripeTaxIncomplete
	case w.stripeApp():
		in.Mode = activities.FinalizeStripeTax
	case w.noTax:
		in.Mode = activities.FinalizeWithoutTax
	}
	var res activities.FinalizeResult
	if err := workflow.ExecuteActivity(ctx, a.FinalizeStripeInvoice, in).Get(ctx, &res); err != nil {
		return err
	}
	w.state.Status = string(invoicing.StatusFinalized)
	w.state.StripeInvoiceID = res.StripeInvoiceID
	w.state.Tax, w.state.Total = res.Tax, res.Total
	switch {
	case w.noTax:
		// The finalize policy: issued without tax, and announced as such.
		w.state.TaxStatus = string(invoicing.TaxFailed)
		return w.recordFailure(ctx, invoicing.StepFinalize, &stepFailure{info: ErrorInfo{
			Provider: failure.ProviderTaxflow, Class: string(failure.NeedsPerson), Code: invoicing.CodeFinalizedWithoutTax,
			Message: "finalized without tax: no tax had arrived (the tax deadline under on_tax_timeout finalize, or an operator's finalize-now); nothing was committed in Anrok — credit and re-invoice, or record the tax in Anrok",
		}}, true)
	case w.stripeApp():
		w.state.TaxStatus = string(invoicing.TaxCommitted)
	}
	if res.Mismatch != nil {
		// Issued already, so nothing to retry: the invoice stays finalized (it can be voided
		// or credited) and the mismatch is recorded for a person.
		m := res.Mismatch
		return w.recordFailure(ctx, invoicing.StepFinalize, &stepFailure{info: ErrorInfo{Provider: m.Provider, Class: m.Class, Code: m.Code, Message: m.Message}}, true)
	}
	return nil
}

// taxStep waits for the tax (or the deadline) and decides what follows.
func (w *invoiceWorkflow) taxStep(ctx workflow.Context) (invoicing.Step, error) {
	var total int64
	var timedOut bool
	var err error
	if w.stripeApp() {
		total, timedOut, err = w.waitForStripeTax(ctx)
	} else {
		total, timedOut, err = w.waitForTax(ctx)
	}
	if err != nil {
		return invoicing.StepTax, err
	}
	if timedOut {
		policy := w.check.OnTaxTimeout
		if w.finalizeRequested {
			// The operator chose to finalize now, without the tax that has not arrived.
			policy, w.finalizeRequested = invoicing.OnTaxTimeoutFinalize, false
		}
		switch policy {
		case invoicing.OnTaxTimeoutFinalize, invoicing.OnTaxTimeoutKeepDraft:
			w.noTax = true
			w.state.TaxStatus = string(invoicing.TaxFailed)
			w.keepDraftPolicy = policy == invoicing.OnTaxTimeoutKeepDraft
			if w.stripeApp() {
				if w.keepDraftPolicy {
					return invoicing.StepTax, w.keepDraft()
				}
				return invoicing.StepFinalize, nil
			}
			return invoicing.StepLines, nil
		}
		return invoicing.StepTax, w.taxTimeoutFailure(false)
	}
	if w.check.SkipBelow > 0 && total < w.check.SkipBelow {
		// skip_below_minimum: Stripe would not collect this total; nothing is sent.
		if err := workflow.ExecuteActivity(ctx, a.SkipInvoice, w.ref()).Get(ctx, nil); err != nil {
			return invoicing.StepTax, err
		}
		w.state.Status = string(invoicing.StatusSkipped)
		w.state.TaxStatus = string(invoicing.TaxNotApplicable)
		return stepDone, nil
	}
	if w.stripeApp() {
		if w.check.LeaveAsDraft {
			return stepAwaitFinalization, nil
		}
		return invoicing.StepFinalize, nil
	}
	return invoicing.StepLines, nil
}

func (w *invoiceWorkflow) taxTimeoutFailure(keepStatus bool) error {
	return &stepFailure{keepStatus: keepStatus, info: ErrorInfo{
		Provider: failure.ProviderTaxflow,
		Class:    string(failure.NeedsPerson),
		Code:     invoicing.CodeTaxTimeout,
		Message: fmt.Sprintf("no tax within %s (see the tax activity's last failure in the Temporal UI, or the Anrok Stripe app): fix the cause, then retry",
			w.taxWait()),
	}}
}

// keepDraft is the keep_draft policy at the tax deadline: the draft stays in Stripe, the
// invoice stays a draft, and a retry goes back to waiting for tax.
func (w *invoiceWorkflow) keepDraft() error {
	w.noTax = false
	f := w.taxTimeoutFailure(true).(*stepFailure)
	f.resume = invoicing.StepTax
	return f
}

func (w *invoiceWorkflow) taxWait() time.Duration {
	if w.check.TaxWait <= 0 {
		return time.Hour
	}
	return w.check.TaxWait
}

// waitForTax waits for the invoice's tax or the deadline, whichever comes first. In
// anrok_api mode the tax arrives when the calculation activity succeeds (it retries
// transient Anrok failures until then).
func (w *invoiceWorkflow) waitForTax(ctx workflow.Context) (total int64, timedOut bool, err error) {
	wait := w.taxWait()
	deadline := workflow.Now(ctx).Add(wait)
	w.state.TaxDeadline = deadline
	defer func() { w.state.TaxDeadline = time.Time{} }()

	calcCtx, cancelCalc := workflow.WithCancel(ctx)
	timerCtx, cancelTimer := workflow.WithCancel(ctx)
	calc := workflow.ExecuteActivity(calcCtx, a.CalculateTax, w.ref())
	timer := workflow.NewTimerWithOptions(timerCtx, wait, workflow.TimerOptions{
		Summary: "waiting for tax until " + deadline.UTC().Format(time.RFC3339),
	})

	sel := workflow.NewSelector(ctx)
	sel.AddFuture(calc, func(f workflow.Future) {
		cancelTimer()
		var res activities.TaxSummary
		if err = f.Get(ctx, &res); err == nil {
			w.state.TaxStatus = string(invoicing.TaxCalculated)
			w.state.Tax = res.Tax
			total = res.Total
		}
	})
	sel.AddFuture(timer, func(f workflow.Future) {
		if f.Get(ctx, nil) == nil {
			timedOut = true
			cancelCalc()
		}
	})
	// An operator's finalize-now ends the wait at once: the finalize policy applies.
	sel.AddReceive(w.finalizeNow, func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		cancelCalc()
		cancelTimer()
		timedOut, w.finalizeRequested = true, true
	})
	sel.Select(ctx)
	return total, timedOut, err
}

// waitForStripeTax waits, in stripe_app mode, for the Anrok Stripe app to complete the
// tax on the draft (announced by Stripe's invoice.updated) or the deadline. The draft is
// read once at the start too: the app may have finished before the workflow got here.
func (w *invoiceWorkflow) waitForStripeTax(ctx workflow.Context) (total int64, timedOut bool, err error) {
	wait := w.taxWait()
	deadline := workflow.Now(ctx).Add(wait)
	w.state.TaxDeadline = deadline
	defer func() { w.state.TaxDeadline = time.Time{} }()
	timerCtx, cancelTimer := workflow.WithCancel(ctx)
	defer cancelTimer()
	timer := workflow.NewTimerWithOptions(timerCtx, wait, workflow.TimerOptions{
		Summary: "waiting for the Anrok Stripe app's tax until " + deadline.UTC().Format(time.RFC3339),
	})
	check := func() (bool, error) {
		var res activities.StripeTaxResult
		if err := workflow.ExecuteActivity(ctx, a.ReadStripeTax, w.ref()).Get(ctx, &res); err != nil {
			return false, err
		}
		if res.Complete {
			w.state.TaxStatus = string(invoicing.TaxCalculated)
			w.state.Tax, total = res.Tax, res.Total
		}
		return res.Complete, nil
	}
	done, err := check()
	for !done && err == nil && !timedOut {
		if w.lean {
			w.publish(ctx) // waiting on Stripe: a rest
		}
		var ev StripeEventSignal
		got, refresh := false, false
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(w.stripe, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, &ev)
			got = true
		})
		sel.AddFuture(timer, func(workflow.Future) { timedOut = true })
		sel.AddReceive(w.finalizeNow, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, nil)
			timedOut, w.finalizeRequested = true, true
		})
		sel.AddReceive(w.refresh, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, nil)
			refresh = true
		})
		sel.Select(ctx)
		if ctx.Err() != nil {
			return 0, false, ctx.Err()
		}
		if refresh {
			done, err = check()
			continue
		}
		if !got {
			break
		}
		if ev.Type == "invoice.updated" {
			done, err = check()
			continue
		}
		if err = w.onStripeEvent(ctx, ev); err != nil {
			return 0, false, err
		}
	}
	return total, timedOut && !done, err
}

// awaitFinalization waits (leave_as_draft) for a person to finalize the draft in Stripe.
func (w *invoiceWorkflow) awaitFinalization(ctx workflow.Context) (invoicing.Step, error) {
	w.state.Status = string(invoicing.StatusDraft)
	for {
		if w.lean {
			w.publish(ctx)
		}
		var ev StripeEventSignal
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(w.stripe, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &ev) })
		sel.AddReceive(w.voidCh, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, nil)
			w.state.VoidRequested = true // applied once finalized: a draft is deleted in Stripe
		})
		sel.AddReceive(w.retry, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
		refresh, finalize := false, false
		sel.AddReceive(w.refresh, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); refresh = true })
		sel.AddReceive(w.finalizeNow, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); finalize = true })
		sel.Select(ctx)
		if ctx.Err() != nil {
			return stepAwaitFinalization, ctx.Err()
		}
		if finalize {
			// The operator finalizes from taxflow instead of in Stripe.
			return invoicing.StepFinalize, nil
		}
		if refresh {
			if err := w.refreshDraft(ctx); err != nil {
				return stepAwaitFinalization, err
			}
			continue
		}
		if ev.Type == "" {
			continue
		}
		if err := w.onStripeEvent(ctx, ev); err != nil {
			return stepAwaitFinalization, err
		}
		if w.state.Status != string(invoicing.StatusDraft) {
			return invoicing.StepWatch, nil
		}
	}
}

// refreshDraft recomputes the tax of a draft waiting in Stripe and rewrites it: in
// anrok_api mode a new calculation written onto the lines and committed again (a new
// version of the same transaction); with the Stripe app, the draft's tax read again.
func (w *invoiceWorkflow) refreshDraft(ctx workflow.Context) error {
	if w.stripeApp() {
		var res activities.StripeTaxResult
		return workflow.ExecuteActivity(ctx, a.ReadStripeTax, w.ref()).Get(ctx, &res)
	}
	var calc activities.TaxSummary
	if err := workflow.ExecuteActivity(ctx, a.CalculateTax, w.ref()).Get(ctx, &calc); err != nil {
		return err
	}
	var lines activities.LinesResult
	if err := workflow.ExecuteActivity(ctx, a.WriteDraftLines, activities.LinesInput{InvoiceRef: w.ref()}).Get(ctx, &lines); err != nil {
		return err
	}
	var commit activities.TaxSummary
	if err := workflow.ExecuteActivity(ctx, a.CommitTax, w.ref()).Get(ctx, &commit); err != nil {
		return err
	}
	w.state.Tax = commit.Tax
	return nil
}

// onStripeEvent mirrors a Stripe event (read back from Stripe by the activity) and
// reacts: a void done in Stripe voids the Anrok transaction; a deleted draft ends the
// invoice (its Anrok transaction, if any, voided). Events that cannot change anything
// taxflow mirrors — or tell what the workflow already knows — cost no Stripe call.
func (w *invoiceWorkflow) onStripeEvent(ctx workflow.Context, ev StripeEventSignal) error {
	if !w.mirrors(ev.Type) {
		return nil
	}
	var res activities.StripeEventResult
	if err := workflow.ExecuteActivity(ctx, a.ApplyStripeEvent, w.ref(), activities.StripeEvent{ID: ev.EventID, Type: ev.Type}).Get(ctx, &res); err != nil {
		return err
	}
	switch res.Outcome {
	case activities.OutcomeFinalized:
		if w.state.Status == string(invoicing.StatusDraft) || w.state.Status == string(invoicing.StatusReceived) {
			w.state.Status = string(invoicing.StatusFinalized)
		}
		w.state.ExternalStatus = "FINALIZED"
		if res.Mismatch != nil {
			m := res.Mismatch
			return w.recordFailure(ctx, invoicing.StepFinalize, &stepFailure{info: ErrorInfo{Provider: m.Provider, Class: m.Class, Code: m.Code, Message: m.Message}}, true)
		}
	case activities.OutcomePaid:
		w.state.Status, w.state.ExternalStatus = string(invoicing.StatusPaid), "PAID"
	case activities.OutcomePaymentFailed:
		w.state.ExternalStatus = "PAYMENT_FAILED"
	case activities.OutcomeUncollectible:
		w.state.Status, w.state.ExternalStatus = string(invoicing.StatusUncollectible), "UNCOLLECTIBLE"
	case activities.OutcomeVoided, activities.OutcomeDeleted:
		w.state.Status = string(invoicing.StatusVoid)
		w.state.ExternalStatus = map[string]string{activities.OutcomeVoided: "VOID", activities.OutcomeDeleted: "DELETED"}[res.Outcome]
		var vres activities.VoidTaxResult
		if err := workflow.ExecuteActivity(ctx, a.VoidTax, w.ref()).Get(ctx, &vres); err != nil {
			return err
		}
		w.state.TaxStatus = vres.TaxStatus
		return &invoiceEnded{why: "the invoice is " + strings.ToLower(w.state.ExternalStatus) + " in Stripe"}
	}
	return nil
}

// stepFailure is a failure the workflow itself decides (a deadline), not an activity's.
// keepStatus records it without making the invoice failed (a kept draft stays a draft).
type stepFailure struct {
	info       ErrorInfo
	keepStatus bool
	// resume is the step a retry starts from ("": the failed step).
	resume invoicing.Step
}

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
		Code: info.Code, Message: info.Message, KeepStatus: keepStatus, Retry: w.retries,
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
	var sf *stepFailure
	keepStatus := errors.As(cause, &sf) && sf.keepStatus
	if err := w.recordFailure(ctx, step, cause, keepStatus); err != nil {
		return step, err
	}
	w.publish(ctx)
	resume := step
	if sf != nil && sf.resume != "" {
		resume = sf.resume
	}
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
	if w.finalizeRequested {
		w.finalizeRequested = false
		if sf != nil && sf.resume == invoicing.StepTax && sf.keepStatus {
			// A kept draft, finalized now by the operator: without tax, announced.
			w.noTax, resume = true, invoicing.StepFinalize
		}
	}
	w.retries++
	w.state.LastError = nil
	if !keepStatus {
		w.state.Status = string(invoicing.StatusBefore(resume))
	}
	err := workflow.ExecuteActivity(ctx, a.RecordProgress, activities.ProgressInput{
		InvoiceID: w.in.InvoiceID, Step: string(resume), Status: w.state.Status, ResolveErrors: true,
	}).Get(ctx, nil)
	if w.lean {
		// Retried: no longer failed, for anyone searching (the next rest may be far off
		// if a provider is down).
		w.publish(ctx)
	}
	return resume, err
}

func (w *invoiceWorkflow) drainRetries() {
	for w.retry.ReceiveAsync(nil) {
	}
}

// awaitRetry blocks until SignalRetry; void requests that arrive meanwhile are kept for
// when the invoice is finalized, and Stripe events are mirrored (a draft deleted in Stripe
// ends the wait, and the invoice).
func (w *invoiceWorkflow) awaitRetry(ctx workflow.Context) error {
	w.state.WaitingForRetry = true
	defer func() { w.state.WaitingForRetry = false }()
	for {
		retried := false
		var ev StripeEventSignal
		sel := workflow.NewSelector(ctx)
		// Refreshing the tax of a failed or kept draft is a retry; finalize-now is one that
		// finalizes a kept draft without the tax.
		sel.AddReceive(w.refresh, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); retried = true })
		sel.AddReceive(w.finalizeNow, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, nil)
			retried, w.finalizeRequested = true, true
		})
		sel.AddReceive(w.stripe, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &ev) })
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
		if ev.Type != "" {
			if err := w.onStripeEvent(ctx, ev); err != nil {
				var ended *invoiceEnded
				if errors.As(err, &ended) || temporal.IsCanceledError(err) {
					return err
				}
				// Mirroring failed (it needs a person too): the invoice waits for its retry.
				w.state.LastError = &ErrorInfo{Code: errorInfoOf(invoicing.StepWatch, err).Code, Message: err.Error()}
			}
		}
	}
}

// watch keeps a finalized invoice's workflow alive for the watch period, voiding it in
// Stripe and Anrok when asked.
func (w *invoiceWorkflow) watch(ctx workflow.Context) (InvoiceResult, error) {
	w.state.Step = string(invoicing.StepWatch)
	// Version 1: the watch restarts after a payment, continues as new when Temporal
	// suggests it, and mirrors disputes and credit notes. Histories recorded before keep
	// replaying through version 0.
	if !w.lean && workflow.GetVersion(ctx, changeWatchV1, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return w.watchV0(ctx)
	}
	return w.watchV1(ctx)
}

const changeWatchV1 = "watch-v1"

// watchV0 is the first version of the watch: a fixed period from finalization and voids.
func (w *invoiceWorkflow) watchV0(ctx workflow.Context) (InvoiceResult, error) {
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
		var ev StripeEventSignal
		sel.AddReceive(w.stripe, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &ev) })
		sel.AddFuture(timer, func(workflow.Future) { watching = false })
		sel.Select(ctx)
		if ctx.Err() != nil {
			return w.result(), ctx.Err()
		}
		if ev.Type != "" {
			if done, err := w.watchStripeEvent(ctx, ev); err != nil || done {
				return w.result(), err
			}
		}
	}
}

// watchStripeEvent mirrors a Stripe event while watching; done when the invoice ended
// (voided or deleted in Stripe). A mirroring failure that needs a person is recorded and
// waits for a retry, which mirrors the event again.
func (w *invoiceWorkflow) watchStripeEvent(ctx workflow.Context, ev StripeEventSignal) (bool, error) {
	for {
		err := w.onStripeEvent(ctx, ev)
		var ended *invoiceEnded
		switch {
		case err == nil:
			return false, nil
		case errors.As(err, &ended):
			return true, nil
		case temporal.IsCanceledError(err) || ctx.Err() != nil:
			return true, err
		}
		w.drainRetries()
		if err := w.recordFailure(ctx, invoicing.StepWatch, err, true); err != nil {
			return true, err
		}
		if err := w.awaitRetry(ctx); err != nil {
			return errors.As(err, &ended), nil
		}
		w.retries++
		w.state.LastError = nil
		if err := workflow.ExecuteActivity(ctx, a.RecordProgress, activities.ProgressInput{
			InvoiceID: w.in.InvoiceID, Step: string(invoicing.StepWatch), Status: w.state.Status, ResolveErrors: true,
		}).Get(ctx, nil); err != nil {
			return true, err
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
