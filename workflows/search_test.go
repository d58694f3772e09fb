package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/taxflow/taxflow/activities"
	"github.com/taxflow/taxflow/internal/testenv"
)

// The tests' dev server registers exactly the workflow's search attributes.
func TestTestServerRegistersEverySearchAttribute(t *testing.T) {
	got := testenv.SearchAttributeNames()
	if len(got) != len(SearchAttributeNames) {
		t.Fatalf("testenv registers %v, the workflow publishes %v", got, SearchAttributeNames)
	}
	for i := range got {
		if got[i] != SearchAttributeNames[i] {
			t.Fatalf("testenv registers %v, the workflow publishes %v", got, SearchAttributeNames)
		}
	}
}

// upserts records the values every search-attribute upsert of the workflow sets, in order
// (the test environment's mock does not show the keys it unsets).
func upserts(env *testsuite.TestWorkflowEnvironment) *[]map[string]string {
	var got []map[string]string
	env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		m := map[string]string{}
		for k, v := range args.Get(0).(temporal.SearchAttributes).GetUntypedValues() {
			s, _ := v.(string)
			m[k.GetName()] = s
		}
		got = append(got, m)
	}).Return(nil)
	return &got
}

// The lean version (2) publishes where the workflow rests, not before every step: an
// invoice started with its first search attributes (as StartInvoice does) and finalized
// without a hitch upserts once, when it starts watching, with everything that changed.
func TestHappyPathPublishesOnceWhenItStartsWatching(t *testing.T) {
	env := newEnv(t)
	happyPath(env)
	got := upserts(env)
	require.NoError(t, env.SetTypedSearchAttributesOnStart(InitialSearchAttributes(invoiceID)))
	env.ExecuteWorkflow(InvoiceWorkflowName, InvoiceInput{InvoiceID: invoiceID, WatchPeriod: time.Hour})
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, []map[string]string{{
		"StripeAccount": "acct", "InvoiceStatus": "finalized", "TaxStatus": "committed",
	}}, *got)
}

// A failure is published as it happens (operators search for it), and so is the retry
// that clears it — even before the invoice comes to rest again.
func TestFailureAndItsRetryArePublished(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.CalculateTax, mock.Anything, ref).Return(activities.TaxSummary{},
		temporal.NewNonRetryableApplicationError("map product", "productExternalIdUnknown", nil,
			activities.FailureDetails{Provider: "anrok", Class: "needs_person", Code: "productExternalIdUnknown", Message: "map it"})).Once()
	happyPath(env)
	env.OnActivity(a.RecordFailure, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(a.RecordProgress, mock.Anything, mock.Anything).Return(nil)
	got := upserts(env)
	require.NoError(t, env.SetTypedSearchAttributesOnStart(InitialSearchAttributes(invoiceID)))
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalRetry, RetrySignal{}) }, 30*time.Minute)
	env.ExecuteWorkflow(InvoiceWorkflowName, InvoiceInput{InvoiceID: invoiceID, WatchPeriod: time.Hour})
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, []map[string]string{
		{"StripeAccount": "acct", "InvoiceStatus": "failed", "ErrorCode": "productExternalIdUnknown"},
		{"InvoiceStatus": "received"}, // and ErrorCode unset, which the mock cannot show
		{"InvoiceStatus": "finalized", "TaxStatus": "committed"},
	}, *got)
}

// A run started with its logic version in the input (as StartInvoice, Signal and
// continue-as-new start every run) never asks workflow.GetVersion: its history holds no
// version marker and no TemporalChangeVersion upsert. A run started before the field existed
// asks, as it did when it was recorded.
func TestLogicInTheInputSparesTheVersionMarker(t *testing.T) {
	for _, tc := range []struct {
		name  string
		logic int
		asks  bool
	}{
		{"started with the latest logic", LatestLogic, false},
		{"started before InvoiceInput.Logic existed", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			happyPath(env)
			asked := 0
			env.OnGetVersion(changeSearchAttributes, workflow.DefaultVersion, versionLean).Run(func(mock.Arguments) { asked++ }).Return(versionLean)
			got := upserts(env)
			require.NoError(t, env.SetTypedSearchAttributesOnStart(InitialSearchAttributes(invoiceID)))
			env.ExecuteWorkflow(InvoiceWorkflowName, InvoiceInput{InvoiceID: invoiceID, WatchPeriod: time.Hour, Logic: tc.logic})
			require.NoError(t, env.GetWorkflowError())
			require.Equal(t, tc.asks, asked > 0, "GetVersion calls: %d", asked)
			// Both follow the lean logic: one upsert, when the invoice starts watching.
			require.Equal(t, []map[string]string{{
				"StripeAccount": "acct", "InvoiceStatus": "finalized", "TaxStatus": "committed",
			}}, *got)
		})
	}
}

// A run started with a logic version this worker does not know fails its workflow task
// (retried until a newer worker takes it) instead of running logic it cannot follow.
func TestUnknownLogicWaitsForANewerWorker(t *testing.T) {
	env := newEnv(t)
	happyPath(env)
	env.ExecuteWorkflow(InvoiceWorkflowName, InvoiceInput{InvoiceID: invoiceID, WatchPeriod: time.Hour, Logic: LatestLogic + 1})
	err := env.GetWorkflowError()
	var panicErr *temporal.PanicError
	require.ErrorAs(t, err, &panicErr)
	require.Contains(t, panicErr.Error(), "deploy the newer worker")
	env.AssertNotCalled(t, "CheckInvoice", mock.Anything, mock.Anything)
}
