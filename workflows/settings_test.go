package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/taxflow/taxflow/activities"
	"github.com/taxflow/taxflow/internal/invoicing"
)

func checked(env *testsuite.TestWorkflowEnvironment, res activities.CheckResult) {
	if res.TaxWait == 0 {
		res.TaxWait = time.Hour
	}
	env.OnActivity(a.CheckInvoice, mock.Anything, ref).Return(res, nil)
	env.OnActivity(a.CreateStripeDraft, mock.Anything, ref).Return(activities.DraftResult{StripeInvoiceID: "in_1", Fresh: true}, nil)
}

func linesIn(withoutTax bool) interface{} {
	return mock.MatchedBy(func(in activities.LinesInput) bool { return in.InvoiceID == invoiceID && in.WithoutTax == withoutTax })
}

func finalizeMode(mode string) interface{} {
	return mock.MatchedBy(func(in activities.FinalizeInput) bool { return in.InvoiceID == invoiceID && in.Mode == mode })
}

func result(t *testing.T, env *testsuite.TestWorkflowEnvironment) InvoiceResult {
	t.Helper()
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res InvoiceResult
	require.NoError(t, env.GetWorkflowResult(&res))
	return res
}

func stripeEvent(env *testsuite.TestWorkflowEnvironment, typ string, after time.Duration) {
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalStripeEvent, StripeEventSignal{EventID: "evt_" + typ, Type: typ})
	}, after)
}

// stripe_app: the lines go first without tax, the Anrok Stripe app's tax arrives with
// invoice.updated, nothing is committed by taxflow, and the finalized tax is read back.
func TestStripeAppTaxArrivesWithInvoiceUpdatedAndIsReadBack(t *testing.T) {
	env := newEnv(t)
	checked(env, activities.CheckResult{TaxMode: invoicing.TaxModeStripeApp, OnTaxTimeout: invoicing.OnTaxTimeoutFail})
	env.OnActivity(a.WriteDraftLines, mock.Anything, linesIn(true)).Return(activities.LinesResult{}, nil)
	env.OnActivity(a.ReadStripeTax, mock.Anything, ref).Return(activities.StripeTaxResult{}, nil).Once()
	env.OnActivity(a.ReadStripeTax, mock.Anything, ref).Return(activities.StripeTaxResult{Complete: true, Tax: 722, Total: 15722}, nil).Once()
	env.OnActivity(a.FinalizeStripeInvoice, mock.Anything, finalizeMode(activities.FinalizeStripeTax)).Return(activities.FinalizeResult{StripeInvoiceID: "in_1", Tax: 722, Total: 15722}, nil)
	stripeEvent(env, "invoice.updated", 5*time.Minute)
	env.ExecuteWorkflow(InvoiceWorkflowName, InvoiceInput{InvoiceID: invoiceID, WatchPeriod: time.Hour})
	res := result(t, env)
	require.Equal(t, "finalized", res.Status)
	require.Equal(t, "committed", res.TaxStatus)
	require.Equal(t, int64(722), res.Tax)
	env.AssertNotCalled(t, "CalculateTax", mock.Anything, mock.Anything)
	env.AssertNotCalled(t, "CommitTax", mock.Anything, mock.Anything)
}

func stripeAppTimeout(t *testing.T, policy string) *testsuite.TestWorkflowEnvironment {
	env := newEnv(t)
	checked(env, activities.CheckResult{TaxMode: invoicing.TaxModeStripeApp, OnTaxTimeout: policy})
	env.OnActivity(a.WriteDraftLines, mock.Anything, linesIn(true)).Return(activities.LinesResult{}, nil)
	env.OnActivity(a.ReadStripeTax, mock.Anything, ref).Return(activities.StripeTaxResult{}, nil)
	return env
}

func TestStripeAppDeadlineUnderFailFailsTheInvoice(t *testing.T) {
	env := stripeAppTimeout(t, invoicing.OnTaxTimeoutFail)
	var recorded activities.FailureInput
	env.OnActivity(a.RecordFailure, mock.Anything, mock.Anything).Run(func(args mock.Arguments) { recorded = args.Get(1).(activities.FailureInput) }).Return(nil)
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, 2*time.Hour)
	env.ExecuteWorkflow(InvoiceWorkflowName, InvoiceInput{InvoiceID: invoiceID})
	require.Equal(t, invoicing.CodeTaxTimeout, recorded.Code)
	require.False(t, recorded.KeepStatus)
	env.AssertNotCalled(t, "FinalizeStripeInvoice", mock.Anything, mock.Anything)
}

func TestStripeAppDeadlineUnderFinalizeFinalizesWithoutTaxAndAlerts(t *testing.T) {
	env := stripeAppTimeout(t, invoicing.OnTaxTimeoutFinalize)
	env.OnActivity(a.FinalizeStripeInvoice, mock.Anything, finalizeMode(activities.FinalizeStripeTaxIncomplete)).Return(activities.FinalizeResult{StripeInvoiceID: "in_1", Total: 15000}, nil)
	var recorded activities.FailureInput
	env.OnActivity(a.RecordFailure, mock.Anything, mock.Anything).Run(func(args mock.Arguments) { recorded = args.Get(1).(activities.FailureInput) }).Return(nil)
	env.ExecuteWorkflow(InvoiceWorkflowName, InvoiceInput{InvoiceID: invoiceID, WatchPeriod: time.Hour})
	res := result(t, env)
	require.Equal(t, "finalized", res.Status)
	require.Equal(t, "failed", res.TaxStatus)
	require.Equal(t, invoicing.CodeFinalizedWithoutTax, recorded.Code, "the alert")
	require.True(t, recorded.KeepStatus)
}

func TestStripeAppDeadlineUnderKeepDraftKeepsTheDraftUntilARetry(t *testing.T) {
	env := stripeAppTimeout(t, invoicing.OnTaxTimeoutKeepDraft)
	var recorded activities.FailureInput
	env.OnActivity(a.RecordFailure, mock.Anything, mock.Anything).Run(func(args mock.Arguments) { recorded = args.Get(1).(activities.FailureInput) }).Return(nil)
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryState)
		require.NoError(t, err)
		var st State
		require.NoError(t, v.Get(&st))
		require.Equal(t, "draft", st.Status)
		require.True(t, st.WaitingForRetry)
		env.CancelWorkflow()
	}, 2*time.Hour)
	env.ExecuteWorkflow(InvoiceWorkflowName, InvoiceInput{InvoiceID: invoiceID})
	require.Equal(t, invoicing.CodeTaxTimeout, recorded.Code)
	require.True(t, recorded.KeepStatus, "the invoice stays a draft")
	env.AssertNotCalled(t, "FinalizeStripeInvoice", mock.Anything, mock.Anything)
}

func anrokTimeout(t *testing.T, policy string) *testsuite.TestWorkflowEnvironment {
	env := newEnv(t)
	checked(env, activities.CheckResult{TaxMode: invoicing.TaxModeAnrokAPI, OnTaxTimeout: policy})
	env.OnActivity(a.CalculateTax, mock.Anything, ref).Return(activities.TaxSummary{}, temporal.NewApplicationErrorWithOptions("429", "rateLimited",
		temporal.ApplicationErrorOptions{NextRetryDelay: 25 * time.Minute}))
	return env
}

func TestAnrokDeadlineUnderFinalizeWritesLinesWithoutTaxFinalizesAndAlerts(t *testing.T) {
	env := anrokTimeout(t, invoicing.OnTaxTimeoutFinalize)
	env.OnActivity(a.WriteDraftLines, mock.Anything, linesIn(true)).Return(activities.LinesResult{}, nil)
	env.OnActivity(a.FinalizeStripeInvoice, mock.Anything, finalizeMode(activities.FinalizeWithoutTax)).Return(activities.FinalizeResult{StripeInvoiceID: "in_1", Total: 15000}, nil)
	var recorded activities.FailureInput
	env.OnActivity(a.RecordFailure, mock.Anything, mock.Anything).Run(func(args mock.Arguments) { recorded = args.Get(1).(activities.FailureInput) }).Return(nil)
	env.ExecuteWorkflow(InvoiceWorkflowName, InvoiceInput{InvoiceID: invoiceID, WatchPeriod: time.Hour})
	res := result(t, env)
	require.Equal(t, "finalized", res.Status)
	require.Equal(t, invoicing.CodeFinalizedWithoutTax, recorded.Code)
	env.AssertNotCalled(t, "CommitTax", mock.Anything, mock.Anything)
}

func TestAnrokDeadlineUnderKeepDraftWritesTheDraftAndRetryTaxesIt(t *testing.T) {
	env := newEnv(t)
	checked(env, activities.CheckResult{TaxMode: invoicing.TaxModeAnrokAPI, OnTaxTimeout: invoicing.OnTaxTimeoutKeepDraft})
	// Anrok is down until the retry, then answers.
	env.OnActivity(a.CalculateTax, mock.Anything, mock.MatchedBy(func(r activities.InvoiceRef) bool { return r.Retry == 0 })).
		Return(activities.TaxSummary{}, temporal.NewApplicationErrorWithOptions("429", "rateLimited", temporal.ApplicationErrorOptions{NextRetryDelay: 25 * time.Minute}))
	env.OnActivity(a.CalculateTax, mock.Anything, mock.MatchedBy(func(r activities.InvoiceRef) bool { return r.Retry == 1 })).Return(activities.TaxSummary{Tax: 722, Total: 15722}, nil)
	env.OnActivity(a.WriteDraftLines, mock.Anything, linesIn(true)).Return(activities.LinesResult{}, nil).Once()
	env.OnActivity(a.WriteDraftLines, mock.Anything, linesIn(false)).Return(activities.LinesResult{}, nil).Once()
	env.OnActivity(a.CommitTax, mock.Anything, ref).Return(activities.TaxSummary{Tax: 722}, nil)
	env.OnActivity(a.FinalizeStripeInvoice, mock.Anything, finalizeMode(activities.FinalizeCommitted)).Return(activities.FinalizeResult{StripeInvoiceID: "in_1", Tax: 722, Total: 15722}, nil)
	var recorded activities.FailureInput
	env.OnActivity(a.RecordFailure, mock.Anything, mock.Anything).Run(func(args mock.Arguments) { recorded = args.Get(1).(activities.FailureInput) }).Return(nil)
	env.OnActivity(a.RecordProgress, mock.Anything, mock.Anything).Return(nil)
	env.RegisterDelayedCallback(func() {
		v, _ := env.QueryWorkflow(QueryState)
		var st State
		require.NoError(t, v.Get(&st))
		require.Equal(t, "draft", st.Status)
		require.True(t, st.WaitingForRetry)
		env.SignalWorkflow(SignalRetry, RetrySignal{})
	}, 3*time.Hour)
	env.ExecuteWorkflow(InvoiceWorkflowName, InvoiceInput{InvoiceID: invoiceID, WatchPeriod: time.Hour})
	require.Equal(t, invoicing.CodeTaxTimeout, recorded.Code)
	require.True(t, recorded.KeepStatus)
	res := result(t, env)
	require.Equal(t, "finalized", res.Status)
	require.Equal(t, int64(722), res.Tax)
	env.AssertNumberOfCalls(t, "WriteDraftLines", 2)
}

// skip_below_minimum: a total under the currency's Stripe minimum is not sent.
func TestInvoiceUnderTheMinimumIsSkipped(t *testing.T) {
	env := newEnv(t)
	checked(env, activities.CheckResult{TaxMode: invoicing.TaxModeAnrokAPI, SkipBelow: 50})
	env.OnActivity(a.CalculateTax, mock.Anything, ref).Return(activities.TaxSummary{Tax: 2, Total: 42}, nil)
	env.OnActivity(a.SkipInvoice, mock.Anything, ref).Return(nil)
	env.ExecuteWorkflow(InvoiceWorkflowName, InvoiceInput{InvoiceID: invoiceID})
	res := result(t, env)
	require.Equal(t, "skipped", res.Status)
	require.Equal(t, "not_applicable", res.TaxStatus)
	env.AssertNotCalled(t, "WriteDraftLines", mock.Anything, mock.Anything)
	env.AssertNotCalled(t, "CommitTax", mock.Anything, mock.Anything)
}

// leave_as_draft: committed in Anrok, left as a draft; a person finalizes it in Stripe.
func TestLeaveAsDraftWaitsForFinalizationInStripe(t *testing.T) {
	env := newEnv(t)
	checked(env, activities.CheckResult{TaxMode: invoicing.TaxModeAnrokAPI, LeaveAsDraft: true})
	env.OnActivity(a.CalculateTax, mock.Anything, ref).Return(activities.TaxSummary{Tax: 722, Total: 15722}, nil)
	env.OnActivity(a.WriteDraftLines, mock.Anything, linesIn(false)).Return(activities.LinesResult{}, nil)
	env.OnActivity(a.CommitTax, mock.Anything, ref).Return(activities.TaxSummary{Tax: 722}, nil)
	env.OnActivity(a.ApplyStripeEvent, mock.Anything, ref, mock.Anything).Return(activities.StripeEventResult{Outcome: activities.OutcomeFinalized}, nil)
	stripeEvent(env, "invoice.finalized", 3*24*time.Hour)
	env.ExecuteWorkflow(InvoiceWorkflowName, InvoiceInput{InvoiceID: invoiceID, WatchPeriod: time.Hour})
	res := result(t, env)
	require.Equal(t, "finalized", res.Status)
	env.AssertNotCalled(t, "FinalizeStripeInvoice", mock.Anything, mock.Anything)
}

// A draft deleted in Stripe (leave_as_draft) ends the invoice; its Anrok transaction is voided.
func TestDraftDeletedInStripeVoidsTheAnrokTransaction(t *testing.T) {
	env := newEnv(t)
	checked(env, activities.CheckResult{TaxMode: invoicing.TaxModeAnrokAPI, LeaveAsDraft: true})
	env.OnActivity(a.CalculateTax, mock.Anything, ref).Return(activities.TaxSummary{Tax: 722, Total: 15722}, nil)
	env.OnActivity(a.WriteDraftLines, mock.Anything, linesIn(false)).Return(activities.LinesResult{}, nil)
	env.OnActivity(a.CommitTax, mock.Anything, ref).Return(activities.TaxSummary{Tax: 722}, nil)
	env.OnActivity(a.ApplyStripeEvent, mock.Anything, ref, mock.Anything).Return(activities.StripeEventResult{Outcome: activities.OutcomeDeleted}, nil)
	env.OnActivity(a.VoidTax, mock.Anything, ref).Return(activities.VoidTaxResult{TaxStatus: "voided"}, nil)
	stripeEvent(env, "invoice.deleted", time.Hour)
	env.ExecuteWorkflow(InvoiceWorkflowName, InvoiceInput{InvoiceID: invoiceID})
	res := result(t, env)
	require.Equal(t, "void", res.Status)
	require.Equal(t, "voided", res.TaxStatus)
}

// A void done in Stripe's dashboard reaches Anrok.
func TestVoidInStripeReachesAnrok(t *testing.T) {
	env := newEnv(t)
	happyPath(env)
	env.OnActivity(a.ApplyStripeEvent, mock.Anything, ref, mock.Anything).Return(activities.StripeEventResult{Outcome: activities.OutcomeVoided}, nil)
	env.OnActivity(a.VoidTax, mock.Anything, ref).Return(activities.VoidTaxResult{TaxStatus: "voided"}, nil)
	stripeEvent(env, "invoice.voided", 24*time.Hour)
	env.ExecuteWorkflow(InvoiceWorkflowName, InvoiceInput{InvoiceID: invoiceID})
	res := result(t, env)
	require.Equal(t, "void", res.Status)
	require.Equal(t, "voided", res.TaxStatus)
	env.AssertNotCalled(t, "VoidStripeInvoice", mock.Anything, mock.Anything)
}

// Payment events move the status; the invoice goes on being watched.
func TestPaidEventMarksTheInvoicePaid(t *testing.T) {
	env := newEnv(t)
	happyPath(env)
	env.OnActivity(a.ApplyStripeEvent, mock.Anything, ref, mock.Anything).Return(activities.StripeEventResult{Outcome: activities.OutcomePaid}, nil)
	stripeEvent(env, "invoice.paid", time.Hour)
	env.ExecuteWorkflow(InvoiceWorkflowName, InvoiceInput{InvoiceID: invoiceID, WatchPeriod: 2 * time.Hour})
	require.Equal(t, "paid", result(t, env).Status)
}

// finalize-now during the wait for tax: the operator's choice is the finalize policy —
// finalized without the tax that has not arrived, and announced.
func TestFinalizeNowEndsTheTaxWait(t *testing.T) {
	env := anrokTimeout(t, invoicing.OnTaxTimeoutFail)
	env.OnActivity(a.WriteDraftLines, mock.Anything, linesIn(true)).Return(activities.LinesResult{}, nil)
	env.OnActivity(a.FinalizeStripeInvoice, mock.Anything, finalizeMode(activities.FinalizeWithoutTax)).Return(activities.FinalizeResult{StripeInvoiceID: "in_1", Total: 15000}, nil)
	var recorded activities.FailureInput
	env.OnActivity(a.RecordFailure, mock.Anything, mock.Anything).Run(func(args mock.Arguments) { recorded = args.Get(1).(activities.FailureInput) }).Return(nil)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalFinalizeNow, ActionSignal{Reason: "month end"}) }, 10*time.Minute)
	env.ExecuteWorkflow(InvoiceWorkflowName, InvoiceInput{InvoiceID: invoiceID, WatchPeriod: time.Hour})
	res := result(t, env)
	require.Equal(t, "finalized", res.Status)
	require.Equal(t, invoicing.CodeFinalizedWithoutTax, recorded.Code)
	env.AssertNotCalled(t, "CommitTax", mock.Anything, mock.Anything)
}
