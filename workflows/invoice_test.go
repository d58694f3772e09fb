package workflows

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/taxflow/taxflow/activities"
	"github.com/taxflow/taxflow/internal/invoicing"
)

const invoiceID = "inv_1"

// ref matches the invoice's activity input at any retry count.
var ref = mock.MatchedBy(func(r activities.InvoiceRef) bool { return r.InvoiceID == invoiceID })

var finalizeIn = mock.MatchedBy(func(in activities.FinalizeInput) bool { return in.InvoiceID == invoiceID })

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(InvoiceWorkflow, workflow.RegisterOptions{Name: InvoiceWorkflowName})
	env.RegisterActivity(&activities.Activities{})
	return env
}

// happyPath mocks every step succeeding; a test that wants a step to fail first registers
// its failure (.Once()) before calling happyPath, since the first matching mock wins.
func happyPath(env *testsuite.TestWorkflowEnvironment) {
	env.OnActivity(a.CheckInvoice, mock.Anything, ref).Return(activities.CheckResult{
		StripeAccountID: "acct", AnrokConnectionID: "anrok", TaxMode: invoicing.TaxModeAnrokAPI,
		TaxWait: time.Hour, OnTaxTimeout: invoicing.OnTaxTimeoutFail, Subtotal: 15000, Lines: 1,
	}, nil)
	env.OnActivity(a.CreateStripeDraft, mock.Anything, ref).Return(activities.DraftResult{StripeInvoiceID: "in_1", Fresh: true}, nil)
	env.OnActivity(a.CalculateTax, mock.Anything, ref).Return(activities.TaxSummary{Tax: 722}, nil)
	env.OnActivity(a.WriteDraftLines, mock.Anything, mock.MatchedBy(func(in activities.LinesInput) bool { return in.InvoiceID == invoiceID })).Return(activities.LinesResult{StripeTax: 722, StripeTotal: 15722}, nil)
	env.OnActivity(a.CommitTax, mock.Anything, ref).Return(activities.TaxSummary{Tax: 722, TransactionID: "taxflow:inv_1", TransactionVersion: 1}, nil)
	env.OnActivity(a.FinalizeStripeInvoice, mock.Anything, finalizeIn).Return(activities.FinalizeResult{StripeInvoiceID: "in_1", Number: "SIM-0001", Tax: 722, Total: 15722}, nil)
}

func TestInvoiceIsFinalizedWithAnroksTaxAndWatchedUntilThePeriodEnds(t *testing.T) {
	env := newEnv(t)
	happyPath(env)
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryState)
		require.NoError(t, err)
		var st State
		require.NoError(t, v.Get(&st))
		require.Equal(t, string(invoicing.StatusFinalized), st.Status)
		require.Equal(t, string(invoicing.StepWatch), st.Step)
		require.Equal(t, int64(722), st.Tax)
	}, time.Hour)
	env.ExecuteWorkflow(InvoiceWorkflowName, InvoiceInput{InvoiceID: invoiceID, WatchPeriod: 48 * time.Hour})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res InvoiceResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, InvoiceResult{InvoiceID: invoiceID, Status: "finalized", TaxStatus: "committed", StripeInvoiceID: "in_1", Tax: 722, Total: 15722}, res)
	env.AssertExpectations(t)
}

func TestVoidSignalVoidsStripeThenAnrok(t *testing.T) {
	env := newEnv(t)
	happyPath(env)
	var order []string
	env.OnActivity(a.VoidStripeInvoice, mock.Anything, ref).Run(func(mock.Arguments) { order = append(order, "stripe") }).Return(nil)
	env.OnActivity(a.VoidTax, mock.Anything, ref).Run(func(mock.Arguments) { order = append(order, "anrok") }).Return(activities.VoidTaxResult{TaxStatus: "voided"}, nil)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalVoid, VoidSignal{Reason: "duplicate"}) }, 2*time.Hour)
	env.ExecuteWorkflow(InvoiceWorkflowName, InvoiceInput{InvoiceID: invoiceID})
	require.NoError(t, env.GetWorkflowError())
	var res InvoiceResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, "void", res.Status)
	require.Equal(t, "voided", res.TaxStatus)
	require.Equal(t, []string{"stripe", "anrok"}, order)
}

// The tax deadline is proven with the test environment's skipped time: Anrok keeps failing
// transiently, the one-hour wait runs out, and the invoice fails with tax_timeout; nothing
// is committed or finalized.
func TestTaxDeadlineFailsTheInvoiceAfterOneHour(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.CheckInvoice, mock.Anything, ref).Return(activities.CheckResult{TaxMode: invoicing.TaxModeAnrokAPI, TaxWait: time.Hour, OnTaxTimeout: invoicing.OnTaxTimeoutFail}, nil)
	env.OnActivity(a.CreateStripeDraft, mock.Anything, ref).Return(activities.DraftResult{StripeInvoiceID: "in_1", Fresh: true}, nil)
	// Anrok keeps answering 429 with Retry-After: 25 minutes; each retry waits that long.
	var calcAttempts int
	env.OnActivity(a.CalculateTax, mock.Anything, ref).Run(func(mock.Arguments) { calcAttempts++ }).
		Return(activities.TaxSummary{}, temporal.NewApplicationErrorWithOptions("anrok 429", "rateLimited",
			temporal.ApplicationErrorOptions{NextRetryDelay: 25 * time.Minute}))
	var recorded activities.FailureInput
	env.OnActivity(a.RecordFailure, mock.Anything, mock.Anything).Run(func(args mock.Arguments) {
		recorded = args.Get(1).(activities.FailureInput)
	}).Return(nil)
	var started time.Time
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryState)
		require.NoError(t, err)
		var st State
		require.NoError(t, v.Get(&st))
		require.True(t, st.WaitingForRetry, "the invoice waits for a retry after the deadline")
		require.Equal(t, invoicing.CodeTaxTimeout, st.LastError.Code)
		env.CancelWorkflow()
	}, 2*time.Hour)
	started = env.Now()
	env.ExecuteWorkflow(InvoiceWorkflowName, InvoiceInput{InvoiceID: invoiceID})
	require.Equal(t, invoicing.CodeTaxTimeout, recorded.Code)
	require.Equal(t, string(invoicing.StepTax), recorded.Step)
	require.Equal(t, 3, calcAttempts, "rate-limited calls are retried after Retry-After until the deadline (0, 25, 50 min)")
	require.False(t, env.Now().Before(started.Add(time.Hour)))
	env.AssertNotCalled(t, "CommitTax", mock.Anything, mock.Anything)
	env.AssertNotCalled(t, "FinalizeStripeInvoice", mock.Anything, mock.Anything)
}

func TestTaxArrivingBeforeTheDeadlineCancelsTheTimer(t *testing.T) {
	env := newEnv(t)
	happyPath(env)
	env.ExecuteWorkflow(InvoiceWorkflowName, InvoiceInput{InvoiceID: invoiceID, WatchPeriod: time.Hour})
	require.NoError(t, env.GetWorkflowError())
	// The only time that passed is the watch period: no one-hour tax wait was served.
	env.AssertNotCalled(t, "RecordFailure", mock.Anything, mock.Anything)
}

func TestNeedsPersonFailureWaitsForRetryAndResumesAtTheFailedStep(t *testing.T) {
	env := newEnv(t)
	// The first tax call fails: the product is not mapped in Anrok.
	env.OnActivity(a.CalculateTax, mock.Anything, ref).Return(activities.TaxSummary{},
		temporal.NewNonRetryableApplicationError("map product", "productExternalIdUnknown", nil,
			activities.FailureDetails{Provider: "anrok", Class: "needs_person", Code: "productExternalIdUnknown", Message: `map product "x" in Anrok`})).Once()
	happyPath(env)
	var failures []activities.FailureInput
	env.OnActivity(a.RecordFailure, mock.Anything, mock.Anything).Run(func(args mock.Arguments) {
		failures = append(failures, args.Get(1).(activities.FailureInput))
	}).Return(nil)
	var progress []activities.ProgressInput
	env.OnActivity(a.RecordProgress, mock.Anything, mock.Anything).Run(func(args mock.Arguments) {
		progress = append(progress, args.Get(1).(activities.ProgressInput))
	}).Return(nil)
	// A retry sent before the failure is stale and must not resume it.
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalRetry, RetrySignal{}) }, 0)
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryState)
		require.NoError(t, err)
		var st State
		require.NoError(t, v.Get(&st))
		require.Equal(t, "failed", st.Status)
		require.True(t, st.WaitingForRetry)
		env.SignalWorkflow(SignalRetry, RetrySignal{Reason: "mapped the product"})
	}, 30*time.Minute)
	env.ExecuteWorkflow(InvoiceWorkflowName, InvoiceInput{InvoiceID: invoiceID, WatchPeriod: time.Hour})
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, failures, 1)
	require.Equal(t, activities.FailureInput{InvoiceID: invoiceID, Step: "tax", Provider: "anrok", Class: "needs_person", Code: "productExternalIdUnknown", Message: `map product "x" in Anrok`}, failures[0])
	require.Equal(t, []activities.ProgressInput{{InvoiceID: invoiceID, Step: "tax", Status: "received", ResolveErrors: true}}, progress)
	env.AssertNumberOfCalls(t, "CheckInvoice", 1)
	env.AssertNumberOfCalls(t, "CreateStripeDraft", 1)
	env.AssertNumberOfCalls(t, "CalculateTax", 2)
	var res InvoiceResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, "finalized", res.Status)
}

// If Stripe can never finalize, the Anrok transaction is voided (nothing is filed for an
// invoice that was never issued), and a retry commits it again before finalizing.
func TestFinalizationFailureVoidsTheAnrokTransactionAndRetryRecommits(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.FinalizeStripeInvoice, mock.Anything, finalizeIn).Return(activities.FinalizeResult{},
		temporal.NewNonRetryableApplicationError("customer gone", "stripe_customer_missing", nil,
			activities.FailureDetails{Provider: "stripe", Class: "needs_person", Code: "stripe_customer_missing", Message: "fix stripe_customer_id"})).Once()
	happyPath(env)
	env.OnActivity(a.RecordFailure, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(a.RecordProgress, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(a.VoidTaxOfUnfinalized, mock.Anything, ref).Return(activities.CompensationResult{Voided: true, TaxStatus: "voided"}, nil)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalRetry, RetrySignal{}) }, time.Hour)
	env.ExecuteWorkflow(InvoiceWorkflowName, InvoiceInput{InvoiceID: invoiceID, WatchPeriod: time.Hour})
	require.NoError(t, env.GetWorkflowError())
	env.AssertNumberOfCalls(t, "VoidTaxOfUnfinalized", 1)
	env.AssertNumberOfCalls(t, "CommitTax", 2)
	env.AssertNumberOfCalls(t, "FinalizeStripeInvoice", 2)
	var res InvoiceResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, "finalized", res.Status)
	require.Equal(t, "committed", res.TaxStatus)
}

func TestWorkflowIDIsDerivedFromTheInvoiceID(t *testing.T) {
	require.Equal(t, "invoice/inv_42", InvoiceWorkflowID("inv_42"))
}

func TestEmptyInvoiceIDIsRejected(t *testing.T) {
	env := newEnv(t)
	env.ExecuteWorkflow(InvoiceWorkflowName, InvoiceInput{})
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(env.GetWorkflowError(), &appErr))
	require.Equal(t, "bad_input", appErr.Type())
}

// The undo of a failed finalization can fail too (the same bad Stripe key): that is
// recorded, the workflow stays alive, and the retry finalizes again.
func TestFailedCompensationIsRecordedAndTheRetryFinalizes(t *testing.T) {
	env := newEnv(t)
	needsPerson := func(code string) error {
		return temporal.NewNonRetryableApplicationError(code, code, nil, activities.FailureDetails{Provider: "stripe", Class: "needs_person", Code: code, Message: code})
	}
	env.OnActivity(a.FinalizeStripeInvoice, mock.Anything, finalizeIn).Return(activities.FinalizeResult{}, needsPerson("stripe_unauthorized")).Once()
	happyPath(env)
	env.OnActivity(a.VoidTaxOfUnfinalized, mock.Anything, ref).Return(activities.CompensationResult{}, needsPerson("stripe_unauthorized"))
	var failures []string
	env.OnActivity(a.RecordFailure, mock.Anything, mock.Anything).Run(func(args mock.Arguments) {
		failures = append(failures, args.Get(1).(activities.FailureInput).Code)
	}).Return(nil)
	env.OnActivity(a.RecordProgress, mock.Anything, mock.Anything).Return(nil)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalRetry, RetrySignal{}) }, time.Hour)
	env.ExecuteWorkflow(InvoiceWorkflowName, InvoiceInput{InvoiceID: invoiceID, WatchPeriod: time.Hour})
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, []string{"stripe_unauthorized", "stripe_unauthorized"}, failures)
	env.AssertNumberOfCalls(t, "CommitTax", 1) // the transaction was never voided: no recommit
	env.AssertNumberOfCalls(t, "FinalizeStripeInvoice", 2)
	var res InvoiceResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, "finalized", res.Status)
}

// Stripe's rule: a paid invoice cannot be voided. The refusal is recorded, the invoice is
// paid, and the workflow goes back to watching instead of waiting for a retry that cannot work.
func TestVoidOfAPaidInvoiceIsRecordedAndWatchingGoesOn(t *testing.T) {
	env := newEnv(t)
	happyPath(env)
	env.OnActivity(a.VoidStripeInvoice, mock.Anything, ref).Return(temporal.NewNonRetryableApplicationError("paid", activities.CodeInvoicePaid, nil,
		activities.FailureDetails{Provider: "stripe", Class: "needs_person", Code: activities.CodeInvoicePaid, Message: "paid: issue a credit note"}))
	var recorded activities.FailureInput
	env.OnActivity(a.RecordFailure, mock.Anything, mock.Anything).Run(func(args mock.Arguments) { recorded = args.Get(1).(activities.FailureInput) }).Return(nil)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalVoid, VoidSignal{}) }, time.Hour)
	env.ExecuteWorkflow(InvoiceWorkflowName, InvoiceInput{InvoiceID: invoiceID, WatchPeriod: 3 * time.Hour})
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, activities.CodeInvoicePaid, recorded.Code)
	require.True(t, recorded.KeepStatus)
	var res InvoiceResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, "paid", res.Status)
	env.AssertNotCalled(t, "VoidTax", mock.Anything, mock.Anything)
}

// A tax mismatch found after finalization (never expected: the draft is checked first) is
// recorded without failing the issued invoice, which goes on being watched.
func TestMismatchAfterFinalizationIsRecordedAndTheInvoiceStaysFinalized(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.FinalizeStripeInvoice, mock.Anything, finalizeIn).Return(activities.FinalizeResult{StripeInvoiceID: "in_1", Tax: 700, Total: 15700,
		Mismatch: &activities.FailureDetails{Provider: "taxflow", Class: "needs_person", Code: "tax_mismatch", Message: "700 vs 722"}}, nil).Once()
	happyPath(env)
	var recorded activities.FailureInput
	env.OnActivity(a.RecordFailure, mock.Anything, mock.Anything).Run(func(args mock.Arguments) { recorded = args.Get(1).(activities.FailureInput) }).Return(nil)
	env.ExecuteWorkflow(InvoiceWorkflowName, InvoiceInput{InvoiceID: invoiceID, WatchPeriod: time.Hour})
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, "tax_mismatch", recorded.Code)
	require.True(t, recorded.KeepStatus)
	var res InvoiceResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, "finalized", res.Status)
}
