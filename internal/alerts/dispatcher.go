package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/taxflow/taxflow/internal/store"
	"github.com/taxflow/taxflow/internal/store/sqldb"
)

// DeliveryWorkflowName is the registered name of the delivery workflow (workflows package).
const DeliveryWorkflowName = "DeliverWebhookWorkflow"

// DeliveryWorkflowID is the workflow id of the delivery of one event to one endpoint: the one
// place it is built.
func DeliveryWorkflowID(eventID, endpointID string) string {
	return "webhook-delivery/" + eventID + "/" + endpointID
}

// DeliveryInput starts a delivery workflow: ids only (the secret never enters history).
type DeliveryInput struct {
	EventID    string
	EndpointID string
}

// Starter starts the delivery workflow of in. Starting one that exists (running or closed)
// must succeed without starting another.
type Starter interface {
	StartDelivery(ctx context.Context, in DeliveryInput, eventType string) error
}

// Defaults of a Dispatcher.
const (
	DefaultInterval  = time.Second
	DefaultBatchSize = 100
	// startTimeout bounds one workflow start.
	startTimeout = 10 * time.Second
)

// Dispatcher moves events from the outbox to delivery workflows. Run one in every worker
// process: they share the work through row locks.
type Dispatcher struct {
	Store     *store.Store
	Temporal  client.Client
	TaskQueue string
	Log       *slog.Logger
	// Interval is the pause between polls when the outbox is empty (DefaultInterval if 0).
	Interval time.Duration
	// BatchSize is how many events one transaction claims (DefaultBatchSize if 0).
	BatchSize int
	// Starter starts the workflows; nil starts them with Temporal on TaskQueue. Tests
	// replace it.
	Starter Starter
}

// Run dispatches until ctx ends: a full batch is followed at once by the next, otherwise it
// waits Interval. Errors (the database or Temporal unreachable) are logged and retried at
// the next poll; nothing is lost, since an event stays undispatched until its workflows
// started.
func (d *Dispatcher) Run(ctx context.Context) {
	interval := d.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	log := d.logger()
	log.Info("webhook dispatcher started", "task_queue", d.TaskQueue, "interval", interval)
	failures := 0
	for {
		n, err := d.DispatchOnce(ctx)
		if ctx.Err() != nil {
			log.Info("webhook dispatcher stopped")
			return
		}
		wait := interval
		switch {
		case err != nil:
			failures++
			// Log the first failure and then every minute or so, not every poll.
			if failures == 1 || failures%60 == 0 {
				log.Warn("webhook dispatch failed; retrying", "error", err, "failures", failures)
			}
		case n == d.batchSize():
			failures = 0
			wait = 0
		default:
			failures = 0
		}
		if wait == 0 {
			continue
		}
		select {
		case <-ctx.Done():
			log.Info("webhook dispatcher stopped")
			return
		case <-time.After(wait):
		}
	}
}

func (d *Dispatcher) batchSize() int {
	if d.BatchSize > 0 {
		return d.BatchSize
	}
	return DefaultBatchSize
}

func (d *Dispatcher) logger() *slog.Logger {
	if d.Log != nil {
		return d.Log
	}
	return slog.Default()
}

// DispatchOnce claims one batch of undispatched events (skipping those another dispatcher
// holds), starts the deliveries of each to its subscribed endpoints and marks it dispatched,
// all in one transaction. It returns how many events it dispatched. When a start fails, the
// events before it are still marked, the failing one and those after it stay for the next
// call, and the error is returned.
func (d *Dispatcher) DispatchOnce(ctx context.Context) (int, error) {
	starter := d.Starter
	if starter == nil {
		if d.Temporal == nil {
			return 0, errors.New("alerts: Dispatcher needs a Temporal client or a Starter")
		}
		starter = TemporalStarter{Client: d.Temporal, TaskQueue: d.TaskQueue}
	}
	var (
		dispatched int
		startErr   error
	)
	err := d.Store.InTx(ctx, func(q *sqldb.Queries) error {
		events, err := q.ClaimUndispatchedEvents(ctx, int32(d.batchSize()))
		if err != nil {
			return err
		}
		subscribers := map[string][]string{}
		var done []string
	events:
		for _, ev := range events {
			endpoints, ok := subscribers[ev.Type]
			if !ok {
				if endpoints, err = q.ListSubscribedWebhookEndpoints(ctx, ev.Type); err != nil {
					return err
				}
				subscribers[ev.Type] = endpoints
			}
			for _, ep := range endpoints {
				in := DeliveryInput{EventID: ev.ID, EndpointID: ep}
				sctx, cancel := context.WithTimeout(ctx, startTimeout)
				err := starter.StartDelivery(sctx, in, ev.Type)
				cancel()
				if err != nil {
					startErr = fmt.Errorf("start delivery of event %s to endpoint %s: %w", ev.ID, ep, err)
					break events
				}
				if err := q.CreateWebhookDelivery(ctx, sqldb.CreateWebhookDeliveryParams{EventID: ev.ID, EndpointID: ep}); err != nil {
					return err
				}
			}
			done = append(done, ev.ID)
		}
		if len(done) == 0 {
			return nil
		}
		if err := q.MarkEventsDispatched(ctx, done); err != nil {
			return err
		}
		dispatched = len(done)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("alerts: dispatch: %w", err)
	}
	return dispatched, startErr
}

// TemporalStarter starts delivery workflows with a Temporal client.
type TemporalStarter struct {
	Client    client.Client
	TaskQueue string
}

// StartDelivery starts the delivery workflow under its deterministic id. A running one is
// reused (USE_EXISTING) and a closed one is not started again (REJECT_DUPLICATE): a
// dispatcher that crashed after starting and before marking the event dispatched never
// sends it twice.
func (s TemporalStarter) StartDelivery(ctx context.Context, in DeliveryInput, eventType string) error {
	_, err := s.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       DeliveryWorkflowID(in.EventID, in.EndpointID),
		TaskQueue:                s.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		StaticSummary:            eventType + " → " + in.EndpointID,
	}, DeliveryWorkflowName, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil
	}
	return err
}
