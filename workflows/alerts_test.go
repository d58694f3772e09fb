package workflows

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/taxflow/taxflow/activities"
	"github.com/taxflow/taxflow/internal/alerts"
)

var delivery = alerts.DeliveryInput{EventID: "evt_1", EndpointID: "ops"}

func newDeliveryEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	RegisterAlerts(env, &activities.AlertActivities{})
	return env
}

func rejected() error {
	return temporal.NewApplicationError("the endpoint answered HTTP 503", activities.ErrTypeWebhookRejected)
}

func deliveryResult(t *testing.T, env *testsuite.TestWorkflowEnvironment) DeliveryResult {
	t.Helper()
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res DeliveryResult
	require.NoError(t, env.GetWorkflowResult(&res))
	return res
}

func TestDeliveryIsRetriedWithBackoffUntilTheEndpointAccepts(t *testing.T) {
	env := newDeliveryEnv(t)
	var at []time.Time
	record := func(mock.Arguments) { at = append(at, env.Now()) }
	env.OnActivity(alertActs.DeliverWebhook, mock.Anything, delivery).Run(record).Return(activities.DeliverWebhookResult{}, rejected()).Times(3)
	env.OnActivity(alertActs.DeliverWebhook, mock.Anything, delivery).Run(record).Return(activities.DeliverWebhookResult{Status: activities.DeliveryDelivered, StatusCode: 204}, nil).Once()

	env.ExecuteWorkflow(DeliverWebhookWorkflowName, delivery)
	res := deliveryResult(t, env)
	require.Equal(t, DeliveryResult{EventID: "evt_1", EndpointID: "ops", Status: "delivered", StatusCode: 204}, res)
	require.Len(t, at, 4)
	// 10 s, then doubling.
	for i, want := range []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second} {
		require.Equal(t, want, at[i+1].Sub(at[i]), "wait before attempt %d", i+2)
	}
	env.AssertNotCalled(t, "EndWebhookDelivery", mock.Anything, mock.Anything)
}

func TestDeliveryGivesUpAfterThreeDaysAndIsMarkedFailed(t *testing.T) {
	env := newDeliveryEnv(t)
	start := env.Now()
	var attempts int
	var last time.Time
	var gaps []time.Duration
	env.OnActivity(alertActs.DeliverWebhook, mock.Anything, delivery).Run(func(mock.Arguments) {
		if attempts > 0 {
			gaps = append(gaps, env.Now().Sub(last))
		}
		attempts++
		last = env.Now()
	}).Return(activities.DeliverWebhookResult{}, rejected())
	var ended activities.EndWebhookDeliveryInput
	var endedAt time.Time
	env.OnActivity(alertActs.EndWebhookDelivery, mock.Anything, mock.Anything).Run(func(args mock.Arguments) {
		ended = args.Get(1).(activities.EndWebhookDeliveryInput)
		endedAt = env.Now()
	}).Return(nil).Once()

	env.ExecuteWorkflow(DeliverWebhookWorkflowName, delivery)
	res := deliveryResult(t, env)
	require.Equal(t, "failed", res.Status)
	require.Equal(t, activities.EndWebhookDeliveryInput{EventID: "evt_1", EndpointID: "ops", Status: "failed", Reason: "gave up after retrying for 72h0m0s: the endpoint answered HTTP 503"}, ended)
	// Retried for (nearly) three days, never beyond, at most an hour apart.
	require.LessOrEqual(t, endedAt.Sub(start), DeliveryDeadline)
	require.Greater(t, endedAt.Sub(start), DeliveryDeadline-time.Hour)
	for _, g := range gaps {
		require.LessOrEqual(t, g, time.Hour)
	}
	require.Equal(t, time.Hour, gaps[len(gaps)-1])
	require.Greater(t, attempts, 70)
}

func TestDeliveryToADeletedEndpointEndsQuietly(t *testing.T) {
	env := newDeliveryEnv(t)
	env.OnActivity(alertActs.DeliverWebhook, mock.Anything, delivery).Return(activities.DeliverWebhookResult{Status: activities.DeliveryCanceled}, nil).Once()
	env.ExecuteWorkflow(DeliverWebhookWorkflowName, delivery)
	require.Equal(t, "canceled", deliveryResult(t, env).Status)
	env.AssertNotCalled(t, "EndWebhookDelivery", mock.Anything, mock.Anything)
}

func TestDeliveryOfAMissingEventFailsWithoutRetrying(t *testing.T) {
	env := newDeliveryEnv(t)
	env.OnActivity(alertActs.DeliverWebhook, mock.Anything, delivery).
		Return(activities.DeliverWebhookResult{}, temporal.NewNonRetryableApplicationError("event evt_1 is not in outgoing_events", activities.ErrTypeWebhookEventMissing, nil)).Once()
	var ended activities.EndWebhookDeliveryInput
	env.OnActivity(alertActs.EndWebhookDelivery, mock.Anything, mock.Anything).Run(func(args mock.Arguments) {
		ended = args.Get(1).(activities.EndWebhookDeliveryInput)
	}).Return(nil).Once()
	env.ExecuteWorkflow(DeliverWebhookWorkflowName, delivery)
	require.Equal(t, "failed", deliveryResult(t, env).Status)
	require.Equal(t, "event evt_1 is not in outgoing_events", ended.Reason)
	env.AssertNumberOfCalls(t, "DeliverWebhook", 1)
}

func TestDeliveryMarkedFailedEvenWhenTheDatabaseIsBackOnlyLater(t *testing.T) {
	env := newDeliveryEnv(t)
	env.OnActivity(alertActs.DeliverWebhook, mock.Anything, delivery).
		Return(activities.DeliverWebhookResult{}, temporal.NewNonRetryableApplicationError("gone", activities.ErrTypeWebhookEventMissing, nil))
	env.OnActivity(alertActs.EndWebhookDelivery, mock.Anything, mock.Anything).Return(errors.New("database down")).Times(3)
	env.OnActivity(alertActs.EndWebhookDelivery, mock.Anything, mock.Anything).Return(nil).Once()
	env.ExecuteWorkflow(DeliverWebhookWorkflowName, delivery)
	require.Equal(t, "failed", deliveryResult(t, env).Status)
	env.AssertNumberOfCalls(t, "EndWebhookDelivery", 4)
}

func TestDeliveryWorkflowRefusesAnEmptyInput(t *testing.T) {
	env := newDeliveryEnv(t)
	env.ExecuteWorkflow(DeliverWebhookWorkflowName, alerts.DeliveryInput{EventID: "evt_1"})
	require.True(t, env.IsWorkflowCompleted())
	require.Error(t, env.GetWorkflowError())
}
