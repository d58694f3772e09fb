package bench

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/taxflow/taxflow/internal/bench/bare"
	"github.com/taxflow/taxflow/internal/testenv"
)

// bareRun is the reference workload running: the reference worker process (package bare,
// built as internal/cmd/bench/bareworker) on a task queue of its own.
//
// It is a separate process, not a worker inside the benchmark, so that it is measured as
// taxflow's worker is — its own process, gRPC connection and garbage collector, competing
// for the same two cores — with the same worker.Options (the zero value) as worker/main.go.
type bareRun struct {
	p         *platform
	taskQueue string
	proc      *process
	// completed counts the workflows of earlier batches that completed.
	completed int
}

func (p *platform) startBare(ctx context.Context, name string) (*bareRun, error) {
	b := &bareRun{p: p, taskQueue: "bench-bare-" + name + "-" + testenv.RandomHex(4)}
	var err error
	b.proc, err = startProcess("bare-"+name, p.bareBin, p.logDir, []string{
		"TEMPORAL_ADDRESS=" + p.temporalAddr, "TEMPORAL_NAMESPACE=default", "BENCH_TASK_QUEUE=" + b.taskQueue,
	})
	if err != nil {
		return nil, err
	}
	if err := waitForPoller(ctx, p, b.taskQueue, fmt.Sprintf("%d@", b.proc.pid())); err != nil {
		_ = b.proc.stop(5 * time.Second)
		return nil, fmt.Errorf("reference worker: %w", err)
	}
	return b, nil
}

func (b *bareRun) stop() error { return b.proc.stop(10 * time.Second) }

// workflowID names the i-th reference workflow of a batch.
func (b *bareRun) workflowID(batch string, i int) string {
	return fmt.Sprintf("bench-bare/%s/%s/%06d", b.taskQueue, batch, i+1)
}

// start starts one reference workflow of activities no-op activities.
func (b *bareRun) start(ctx context.Context, id string, activities int) error {
	_, err := b.p.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: b.taskQueue}, bare.WorkflowName, activities)
	if err != nil {
		return fmt.Errorf("start %s: %w", id, err)
	}
	return nil
}

// startAll starts n workflows at once through concurrency clients; it returns when the
// first start was sent.
func (b *bareRun) startAll(ctx context.Context, batch string, n, activities, concurrency int) (time.Time, error) {
	var next atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := b.start(ctx, b.workflowID(batch, i), activities); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return start, firstErr
}

// startPaced starts n workflows at rate per second (open loop).
func (b *bareRun) startPaced(ctx context.Context, batch string, n, activities int, rate float64) (time.Time, error) {
	interval := time.Duration(float64(time.Second) / rate)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	start := time.Now()
	for i := 0; i < n; i++ {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			select {
			case <-ctx.Done():
				return start, ctx.Err()
			case <-time.After(d):
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.start(ctx, b.workflowID(batch, i), activities); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return start, firstErr
}

// bareTiming is one reference workflow's start and close, as the server recorded them.
type bareTiming struct {
	id           string
	start, close time.Time
}

// waitCompleted waits until n workflows of the batch have completed (visibility counts
// those of the whole task queue, earlier batches included), then returns their timings,
// earliest close first.
func (b *bareRun) waitCompleted(ctx context.Context, scenario, batch string, n int, since time.Time, timeout time.Duration) ([]bareTiming, error) {
	before := b.completed
	query := fmt.Sprintf("TaskQueue = '%s' AND ExecutionStatus = 'Completed'", b.taskQueue)
	prefix := b.workflowID(batch, 0)
	prefix = prefix[:strings.LastIndex(prefix, "/")+1]
	deadline := time.Now().Add(timeout)
	lastPrint := time.Time{}
	for {
		resp, err := b.p.client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: query})
		if err != nil {
			return nil, fmt.Errorf("count reference workflows: %w", err)
		}
		done := int(resp.GetCount()) - before
		if done >= n || time.Since(lastPrint) >= 2*time.Second {
			b.p.progress.count(scenario, "reference workflows completed", done, n, since, "")
			lastPrint = time.Now()
		}
		if done >= n {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%d of %d reference workflows completed in %s", done, n, timeout)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	var out []bareTiming
	var token []byte
	for {
		resp, err := b.p.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: 1000, NextPageToken: token})
		if err != nil {
			return nil, fmt.Errorf("list reference workflows: %w", err)
		}
		for _, e := range resp.GetExecutions() {
			if e.GetStatus() != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED || !strings.HasPrefix(e.GetExecution().GetWorkflowId(), prefix) {
				continue
			}
			out = append(out, bareTiming{id: e.GetExecution().GetWorkflowId(), start: e.GetStartTime().AsTime(), close: e.GetCloseTime().AsTime()})
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].close.Before(out[j].close) })
	b.completed += len(out)
	return out, nil
}
