package metrics

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
)

func TestTemporalHandlerRecordsDifferingTagSetsWithoutPanic(t *testing.T) {
	m, _ := NewRegistry()
	root := m.TemporalMetricsHandler().WithTags(map[string]string{"namespace": "default", "client_name": "temporal_go"})

	// One name, three tag-key sets, in an order where later calls bring new keys.
	rpc := root.WithTags(map[string]string{"operation": "StartWorkflowExecution"})
	rpc.Counter("temporal_request").Inc(1)
	rpc.Counter("temporal_request").Inc(2)
	rpc.WithTags(map[string]string{"status_code": "Unavailable"}).Counter("temporal_request").Inc(1)
	root.WithTags(map[string]string{"operation": "PollActivityTaskQueue", "task_queue": "q", "worker_type": "ActivityWorker"}).
		Counter("temporal_request").Inc(5)
	// A key that goes away again: an empty value removes it.
	rpc.WithTags(map[string]string{"status_code": ""}).Counter("temporal_request").Inc(1)

	// Gauges: the last value wins, per tag set.
	pollers := root.WithTags(map[string]string{"poller_type": "workflow_task", "task_queue": "q"})
	pollers.Gauge("temporal_num_pollers").Update(3)
	pollers.Gauge("temporal_num_pollers").Update(2)
	root.WithTags(map[string]string{"worker_type": "WorkflowWorker"}).Gauge("temporal_num_pollers").Update(7)

	// Timers: histograms in seconds.
	act := root.WithTags(map[string]string{"activity_type": "DraftInvoice", "workflow_type": "Invoice", "task_queue": "q"})
	act.Timer("temporal_activity_execution_latency").Record(30 * time.Millisecond)
	act.Timer("temporal_activity_execution_latency").Record(2 * time.Second)
	root.Timer("temporal_activity_execution_latency").Record(time.Millisecond)

	samples, _ := scrape(t, m.Handler())
	base := map[string]string{"namespace": "default", "client_name": "temporal_go"}
	with := func(kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"temporal_request_total", with("operation", "StartWorkflowExecution"), 4},
		{"temporal_request_total", with("operation", "StartWorkflowExecution", "status_code", "Unavailable"), 1},
		{"temporal_request_total", with("operation", "PollActivityTaskQueue", "task_queue", "q", "worker_type", "ActivityWorker"), 5},
		{"temporal_num_pollers", with("poller_type", "workflow_task", "task_queue", "q"), 2},
		{"temporal_num_pollers", with("worker_type", "WorkflowWorker"), 7},
		{"temporal_activity_execution_latency_seconds_count", with("activity_type", "DraftInvoice", "workflow_type", "Invoice", "task_queue", "q"), 2},
		{"temporal_activity_execution_latency_seconds_sum", with("activity_type", "DraftInvoice", "workflow_type", "Invoice", "task_queue", "q"), 2.03},
		{"temporal_activity_execution_latency_seconds_bucket", with("activity_type", "DraftInvoice", "workflow_type", "Invoice", "task_queue", "q", "le", "0.05"), 1},
		{"temporal_activity_execution_latency_seconds_bucket", with("activity_type", "DraftInvoice", "workflow_type", "Invoice", "task_queue", "q", "le", "+Inf"), 2},
		{"temporal_activity_execution_latency_seconds_count", base, 1},
	}
	for _, c := range checks {
		got := mustFind(t, samples, c.name, c.labels)
		if diff := got - c.want; diff > 1e-9 || diff < -1e-9 {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

func TestTemporalHandlerSanitizesNamesAndTagKeys(t *testing.T) {
	m, _ := NewRegistry()
	h := m.TemporalMetricsHandler().WithTags(map[string]string{
		"task.queue": "q", "9lives": "x", "__reserved": "r", "le": "5", "": "dropped", "bad-utf8": "a\xffb",
	})
	h.Counter("my.custom-metric").Inc(1)
	h.Timer("custom latency").Record(time.Second)
	h.Gauge("taxflow_invoices").Update(1) // would clash with taxflow's own gauge

	samples, body := scrape(t, m.Handler())
	labels := map[string]string{"task_queue": "q", "_9lives": "x", "tag_reserved": "r", "tag_le": "5", "bad_utf8": "a\uFFFDb"}
	mustFind(t, samples, "my_custom_metric_total", labels)
	mustFind(t, samples, "custom_latency_seconds_count", labels)
	mustFind(t, samples, "sdk_taxflow_invoices", labels)
	if strings.Contains(body, "dropped") {
		t.Error("a tag with an empty key was exposed")
	}
}

func TestTemporalHandlerKeepsKindsOfOneNameApart(t *testing.T) {
	m, _ := NewRegistry()
	h := m.TemporalMetricsHandler()
	h.Gauge("temporal_thing_total").Update(4)
	h.Counter("temporal_thing").Inc(2) // exposed as temporal_thing_total too: a counter
	h.Timer("temporal_thing_total").Record(time.Second)

	samples, _ := scrape(t, m.Handler())
	if got := mustFind(t, samples, "temporal_thing_total", map[string]string{}); got != 4 {
		t.Errorf("gauge temporal_thing_total = %v, want 4", got)
	}
	if got := mustFind(t, samples, "temporal_thing_total_counter", map[string]string{}); got != 2 {
		t.Errorf("counter temporal_thing_total_counter = %v, want 2", got)
	}
	mustFind(t, samples, "temporal_thing_total_seconds_count", map[string]string{})
}

func TestTemporalHandlerIsSafeForConcurrentUse(t *testing.T) {
	m, _ := NewRegistry()
	root := m.TemporalMetricsHandler()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				h := root.WithTags(map[string]string{fmt.Sprintf("k%d", i%5): "v", "g": fmt.Sprint(g % 3)})
				h.Counter("temporal_c").Inc(1)
				h.Gauge("temporal_g").Update(float64(i))
				h.Timer("temporal_t").Record(time.Duration(i) * time.Millisecond)
			}
		}(g)
	}
	for i := 0; i < 5; i++ {
		scrape(t, m.Handler())
	}
	wg.Wait()
	samples, _ := scrape(t, m.Handler())
	var total float64
	for _, s := range samples {
		if s.name == "temporal_c_total" {
			total += s.value
		}
	}
	if total != 8*200 {
		t.Errorf("sum of temporal_c_total = %v, want %d", total, 8*200)
	}
}

// The SDK's own metrics, emitted by the SDK itself, reach /metrics: a client whose
// frontend is down records its RPC attempts (temporal_request, its failures by status code,
// its latency) through the handler.
func TestTemporalHandlerExposesTheSDKsOwnMetrics(t *testing.T) {
	m, _ := NewRegistry()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more: every RPC fails Unavailable
	c, err := client.NewLazyClient(client.Options{
		HostPort:       addr,
		Namespace:      "taxflow-test",
		MetricsHandler: m.TemporalMetricsHandler(),
		Logger:         discardLogger{},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := c.DescribeWorkflowExecution(ctx, "invoice/x", ""); err == nil {
		t.Fatal("DescribeWorkflowExecution succeeded without a server")
	}

	// The lazy client's first RPC, GetSystemInfo, fails; it carries the root tags
	// (namespace, client_name, ...) and status_code only on the failure counter.
	samples, body := scrape(t, m.Handler())
	var requests, failures float64
	for _, s := range samples {
		switch s.name {
		case "temporal_request_total":
			requests += s.value
			if s.labels["operation"] == "" || s.labels["client_name"] != "temporal_go" {
				t.Errorf("temporal_request_total%v: operation or client_name missing", s.labels)
			}
		case "temporal_request_failure_total":
			failures += s.value
			if s.labels["status_code"] == "" {
				t.Errorf("temporal_request_failure_total%v: no status_code", s.labels)
			}
		}
	}
	if requests == 0 || failures == 0 {
		t.Errorf("requests %v, failures %v recorded; want both > 0. Scrape:\n%s", requests, failures, body)
	}
	if !names(samples)["temporal_request_latency_seconds_count"] {
		t.Errorf("temporal_request_latency_seconds missing. Scrape:\n%s", body)
	}
}

type discardLogger struct{}

func (discardLogger) Debug(string, ...any) {}
func (discardLogger) Info(string, ...any)  {}
func (discardLogger) Warn(string, ...any)  {}
func (discardLogger) Error(string, ...any) {}

func TestNilMetricsTemporalHandlerIsNop(t *testing.T) {
	var m *Metrics
	h := m.TemporalMetricsHandler()
	if h != client.MetricsNopHandler {
		t.Fatalf("nil Metrics: handler %T, want client.MetricsNopHandler", h)
	}
	h.WithTags(map[string]string{"a": "b"}).Counter("x").Inc(1)
}
