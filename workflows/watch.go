package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/taxflow/taxflow/activities"
	"github.com/taxflow/taxflow/internal/invoicing"
)

func (w *invoiceWorkflow) watchPeriod() time.Duration {
	if w.in.WatchPeriod > 0 {
		return w.in.WatchPeriod
	}
	return DefaultWatchPeriod
}

func (w *invoiceWorkflow) continueEvery() int {
	if w.in.ContinueEvery > 0 {
		return w.in.ContinueEvery
	}
	return DefaultContinueEvery
}

// watchV1 keeps a finalized invoice in step with Stripe and Anrok for the watch period —
// counted again from a payment — applying voids, disputes, credit notes and Stripe's
// events. It continues as new when Temporal suggests it (or after ContinueEvery events),
// never with a signal left unhandled; when the period ends it completes, and a later event
// starts the invoice's workflow again (signal-with-start) from its state in Postgres.
func (w *invoiceWorkflow) watchV1(ctx workflow.Context) (InvoiceResult, error) {
	until := w.in.WatchUntil
	if until.IsZero() {
		until = workflow.Now(ctx).Add(w.watchPeriod())
	}
	handled := 0
	for {
		timerCtx, cancelTimer := workflow.WithCancel(ctx)
		timer := workflow.NewTimerWithOptions(timerCtx, until.Sub(workflow.Now(ctx)), workflow.TimerOptions{
			Summary: "watching for events until " + until.UTC().Format(time.RFC3339),
		})
		expired, restart := false, false
		for !restart {
			if w.state.VoidRequested {
				voided, err := w.void(ctx)
				if err != nil || voided {
					cancelTimer()
					return w.result(), err
				}
			}
			if expired || handled >= w.continueEvery() || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
				// Whatever arrived meanwhile is handled first: signals left in the channels
				// would be lost by continue-as-new, and a late void must still apply.
				if ev, ok := w.pendingEvent(); ok {
					done, paid, err := w.handle(ctx, ev)
					handled++
					if err != nil || done {
						cancelTimer()
						return w.result(), err
					}
					if paid {
						until, restart = workflow.Now(ctx).Add(w.watchPeriod()), true
					}
					continue
				}
				cancelTimer()
				if expired {
					return w.result(), nil
				}
				return w.result(), workflow.NewContinueAsNewError(ctx, InvoiceWorkflowName, InvoiceInput{
					InvoiceID: w.in.InvoiceID, WatchPeriod: w.in.WatchPeriod, Resume: true,
					WatchUntil: until, ContinueEvery: w.in.ContinueEvery, Logic: LatestLogic,
				})
			}
			w.publish(ctx)
			var ev watchEvent
			sel := workflow.NewSelector(ctx)
			w.addWatchReceivers(ctx, sel, &ev)
			sel.AddFuture(timer, func(workflow.Future) { expired = true })
			sel.Select(ctx)
			if ctx.Err() != nil {
				cancelTimer()
				return w.result(), ctx.Err()
			}
			if ev.kind == "" {
				continue
			}
			handled++
			done, paid, err := w.handle(ctx, ev)
			if err != nil || done {
				cancelTimer()
				return w.result(), err
			}
			if paid {
				// The watch counts from the payment: disputes and credit notes follow it.
				until, restart = workflow.Now(ctx).Add(w.watchPeriod()), true
			}
		}
		cancelTimer()
	}
}

// watchEvent is one signal received while watching.
type watchEvent struct {
	kind       string
	stripe     StripeEventSignal
	dispute    DisputeSignal
	creditNote CreditNoteSignal
}

func (w *invoiceWorkflow) addWatchReceivers(ctx workflow.Context, sel workflow.Selector, ev *watchEvent) {
	sel.AddReceive(w.voidCh, func(c workflow.ReceiveChannel, _ bool) {
		var sig VoidSignal
		c.Receive(ctx, &sig)
		w.state.VoidRequested = true
	})
	sel.AddReceive(w.retry, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
	sel.AddReceive(w.stripe, func(c workflow.ReceiveChannel, _ bool) {
		ev.kind = SignalStripeEvent
		c.Receive(ctx, &ev.stripe)
	})
	sel.AddReceive(w.disputes, func(c workflow.ReceiveChannel, _ bool) {
		ev.kind = SignalDispute
		c.Receive(ctx, &ev.dispute)
	})
	sel.AddReceive(w.creditNotes, func(c workflow.ReceiveChannel, _ bool) {
		ev.kind = SignalCreditNote
		c.Receive(ctx, &ev.creditNote)
	})
	// A finalized invoice has no draft to refresh or finalize: those are ignored here.
	// The warning is for the operator who sent one from the UI (a log line, not a command:
	// replay is unaffected).
	ignored := func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		workflow.GetLogger(ctx).Warn("signal ignored: the invoice is finalized, it has no draft", "signal", c.Name(), "invoice_id", w.state.InvoiceID)
	}
	sel.AddReceive(w.refresh, ignored)
	sel.AddReceive(w.finalizeNow, ignored)
}

// pendingEvent takes one signal that is waiting, without blocking.
func (w *invoiceWorkflow) pendingEvent() (watchEvent, bool) {
	var ev watchEvent
	switch {
	case w.voidCh.ReceiveAsync(nil):
		w.state.VoidRequested = true
		return watchEvent{kind: SignalVoid}, true
	case w.stripe.ReceiveAsync(&ev.stripe):
		ev.kind = SignalStripeEvent
	case w.disputes.ReceiveAsync(&ev.dispute):
		ev.kind = SignalDispute
	case w.creditNotes.ReceiveAsync(&ev.creditNote):
		ev.kind = SignalCreditNote
	case w.retry.ReceiveAsync(nil), w.refresh.ReceiveAsync(nil), w.finalizeNow.ReceiveAsync(nil):
		return watchEvent{}, true
	default:
		return ev, false
	}
	return ev, true
}

// handle applies one watch event; done when the invoice ended, paid when it was paid (the
// watch then counts again). A failure that needs a person is recorded and waits for a
// retry, which applies the event again; the invoice keeps its status.
func (w *invoiceWorkflow) handle(ctx workflow.Context, ev watchEvent) (done, paid bool, err error) {
	if ev.kind == "" || ev.kind == SignalVoid {
		return false, false, nil
	}
	wasPaid := w.state.Status == string(invoicing.StatusPaid)
	for {
		err := w.apply(ctx, ev)
		var ended *invoiceEnded
		switch {
		case err == nil:
			return false, !wasPaid && w.state.Status == string(invoicing.StatusPaid), nil
		case errors.As(err, &ended):
			return true, false, nil
		case temporal.IsCanceledError(err) || ctx.Err() != nil:
			return true, false, err
		}
		w.drainRetries()
		if err := w.recordFailure(ctx, invoicing.StepWatch, err, true); err != nil {
			return true, false, err
		}
		if err := w.awaitRetry(ctx); err != nil {
			return errors.As(err, &ended), false, nil
		}
		w.retries++
		w.state.LastError = nil
		if err := workflow.ExecuteActivity(ctx, a.RecordProgress, activities.ProgressInput{
			InvoiceID: w.in.InvoiceID, Step: string(invoicing.StepWatch), Status: w.state.Status, ResolveErrors: true,
		}).Get(ctx, nil); err != nil {
			return true, false, err
		}
	}
}

func (w *invoiceWorkflow) apply(ctx workflow.Context, ev watchEvent) error {
	switch ev.kind {
	case SignalStripeEvent:
		return w.onStripeEvent(ctx, ev.stripe)
	case SignalDispute:
		var res activities.DisputeResult
		if err := workflow.ExecuteActivity(ctx, a.ApplyDispute, w.ref(), activities.Dispute{Status: ev.dispute.Status, DisputeID: ev.dispute.DisputeID}).Get(ctx, &res); err != nil {
			return err
		}
		if res.TaxStatus != "" {
			w.state.TaxStatus = res.TaxStatus
		}
		return nil
	case SignalCreditNote:
		var res activities.CreditNoteResult
		return workflow.ExecuteActivity(ctx, a.IssueCreditNote, w.ref(), ev.creditNote.CreditNoteID).Get(ctx, &res)
	}
	return nil
}

// resume loads the invoice's state from Postgres (a continuation, or a restart by a late
// event) and says where the workflow goes on: the watch for an issued invoice, nowhere for
// one that ended, the start for one still on its way (every step finds what was done).
func (w *invoiceWorkflow) resume(ctx workflow.Context) (invoicing.Step, error) {
	var st activities.InvoiceState
	if err := workflow.ExecuteActivity(ctx, a.LoadInvoiceState, w.ref()).Get(ctx, &st); err != nil {
		return invoicing.StepCheck, err
	}
	w.state.Status, w.state.TaxStatus, w.state.ExternalStatus = st.Status, st.TaxStatus, st.ExternalStatus
	w.state.StripeInvoiceID, w.state.Tax, w.state.Total = st.StripeInvoiceID, st.Tax, st.Total
	w.check.TaxMode, w.check.LeaveAsDraft = st.TaxMode, st.LeaveAsDraft
	w.check.CustomerID, w.check.StripeAccountID = st.CustomerID, st.StripeAccountID
	switch invoicing.Status(st.Status) {
	case invoicing.StatusFinalized, invoicing.StatusPaid, invoicing.StatusUncollectible:
		return invoicing.StepWatch, nil
	case invoicing.StatusVoid, invoicing.StatusSkipped:
		return stepDone, nil
	}
	return invoicing.StepCheck, nil
}
