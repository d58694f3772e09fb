package metrics

import (
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// TemporalMetricsHandler is the handler to put in client.Options.MetricsHandler: the
// Temporal SDK's counters, gauges and timers then appear on the Metrics' registry (see the
// package documentation for their names and labels). On a nil Metrics it returns
// client.MetricsNopHandler.
func (m *Metrics) TemporalMetricsHandler() client.MetricsHandler {
	if m == nil {
		return client.MetricsNopHandler
	}
	return m.temporal.root
}

// temporalBuckets are the SDK timers' buckets, in seconds: from RPCs (ms) to schedule-to-
// start latencies and the end-to-end latency of long workflows (hours, a day).
var temporalBuckets = []float64{
	.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30,
	60, 120, 300, 600, 1800, 3600, 6 * 3600, 24 * 3600,
}

// maxSDKSeries bounds the series the SDK handler keeps; past it a new series is not
// recorded (its counter, gauge or timer is a no-op).
const maxSDKSeries = 20000

type sdkKind uint8

const (
	kindCounter sdkKind = iota
	kindGauge
	kindTimer
)

func (k sdkKind) String() string {
	switch k {
	case kindCounter:
		return "counter"
	case kindGauge:
		return "gauge"
	default:
		return "timer"
	}
}

// exposedName is the Prometheus name of an SDK metric of kind k (see the package doc).
func exposedName(name string, k sdkKind) string {
	n := sanitizeMetricName(name)
	for _, p := range []string{"taxflow_", "go_", "process_", "promhttp_"} {
		if strings.HasPrefix(n, p) {
			n = "sdk_" + n
			break
		}
	}
	switch k {
	case kindCounter:
		if !strings.HasSuffix(n, "_total") {
			n += "_total"
		}
	case kindTimer:
		if !strings.HasSuffix(n, "_seconds") {
			n += "_seconds"
		}
	}
	return n
}

type familyKey struct {
	name string
	kind sdkKind
}

// sdkCollector holds the SDK's metrics and exposes them as an unchecked collector.
type sdkCollector struct {
	root *sdkHandler

	mu       sync.RWMutex
	byKey    map[familyKey]*sdkFamily // the SDK's name and kind → family
	families map[string]*sdkFamily    // exposed name → family
	nseries  atomic.Int64
}

func newSDKCollector() *sdkCollector {
	c := &sdkCollector{byKey: map[familyKey]*sdkFamily{}, families: map[string]*sdkFamily{}}
	c.root = &sdkHandler{c: c, tags: map[string]string{}}
	return c
}

// Describe sends nothing: the collector is unchecked, its families being known only as the
// SDK names them.
func (c *sdkCollector) Describe(chan<- *prometheus.Desc) {}

// Collect sends every series of every family, each family with the union of its label
// names.
func (c *sdkCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.RLock()
	fams := make([]*sdkFamily, 0, len(c.families))
	for _, f := range c.families {
		fams = append(fams, f)
	}
	c.mu.RUnlock()
	for _, f := range fams {
		for _, m := range f.metrics() {
			ch <- m
		}
	}
}

func (c *sdkCollector) family(name string, k sdkKind) *sdkFamily {
	key := familyKey{name, k}
	c.mu.RLock()
	f := c.byKey[key]
	c.mu.RUnlock()
	if f != nil {
		return f
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if f := c.byKey[key]; f != nil {
		return f
	}
	exposed := exposedName(name, k)
	for {
		other := c.families[exposed]
		if other == nil {
			f = newSDKFamily(exposed, name, k)
			c.families[exposed] = f
			break
		}
		if other.kind == k {
			f = other // two SDK names sanitized to one: one family
			break
		}
		exposed += "_" + k.String() // the same name as another kind: keep them apart
	}
	c.byKey[key] = f
	return f
}

// sdkFamily is one exposed metric: its series by tag set, and the union of their tag keys.
type sdkFamily struct {
	name, help string
	kind       sdkKind

	mu         sync.RWMutex
	series     map[string]*sdkSeries // tag-set key → series
	labelNames []string              // sorted union of the series' tag keys
	desc       *prometheus.Desc      // for labelNames; nil when it must be rebuilt
}

func newSDKFamily(exposed, sdkName string, k sdkKind) *sdkFamily {
	return &sdkFamily{
		name:   exposed,
		help:   "Temporal SDK " + k.String() + " " + sdkName + ".",
		kind:   k,
		series: map[string]*sdkSeries{},
	}
}

// seriesFor returns the series of h's tags, creating it; nil when the collector already
// holds maxSDKSeries series.
func (f *sdkFamily) seriesFor(h *sdkHandler) *sdkSeries {
	f.mu.RLock()
	s := f.series[h.key]
	f.mu.RUnlock()
	if s != nil {
		return s
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.series[h.key]; s != nil {
		return s
	}
	if h.c.nseries.Add(1) > maxSDKSeries {
		h.c.nseries.Add(-1)
		return nil
	}
	s = &sdkSeries{tags: h.tags}
	if f.kind == kindTimer {
		s.buckets = make([]uint64, len(temporalBuckets))
	}
	f.series[h.key] = s
	var added []string
	for _, k := range h.keys {
		if i := sort.SearchStrings(f.labelNames, k); i == len(f.labelNames) || f.labelNames[i] != k {
			added = append(added, k)
		}
	}
	if len(added) > 0 {
		// A new slice, never an in-place change: a scrape may be reading the old one.
		names := make([]string, 0, len(f.labelNames)+len(added))
		names = append(append(names, f.labelNames...), added...)
		sort.Strings(names)
		f.labelNames = names
		f.desc = nil
	}
	return s
}

// metrics builds the family's constant metrics for one scrape.
func (f *sdkFamily) metrics() []prometheus.Metric {
	f.mu.Lock()
	if f.desc == nil {
		f.desc = prometheus.NewDesc(f.name, f.help, f.labelNames, nil)
	}
	desc, names := f.desc, f.labelNames
	series := make([]*sdkSeries, 0, len(f.series))
	for _, s := range f.series {
		series = append(series, s)
	}
	f.mu.Unlock()

	out := make([]prometheus.Metric, 0, len(series))
	values := make([]string, len(names))
	for _, s := range series {
		for i, n := range names {
			values[i] = s.tags[n] // "" when the series lacks it: the label is absent
		}
		var m prometheus.Metric
		var err error
		switch f.kind {
		case kindCounter:
			m, err = prometheus.NewConstMetric(desc, prometheus.CounterValue, float64(s.count.Load()), values...)
		case kindGauge:
			m, err = prometheus.NewConstMetric(desc, prometheus.GaugeValue, math.Float64frombits(s.gauge.Load()), values...)
		case kindTimer:
			count, sum, buckets := s.snapshot()
			m, err = prometheus.NewConstHistogram(desc, count, sum, buckets, values...)
		}
		if err == nil {
			out = append(out, m)
		}
	}
	return out
}

// sdkSeries is one series' value.
type sdkSeries struct {
	tags map[string]string // never modified once the series exists

	count atomic.Uint64 // counter
	gauge atomic.Uint64 // gauge: float64 bits

	hmu     sync.Mutex // timer
	buckets []uint64   // per bucket, not cumulative
	sum     float64
	n       uint64
}

func (s *sdkSeries) Inc(d int64) {
	if s != nil && d > 0 {
		s.count.Add(uint64(d))
	}
}

func (s *sdkSeries) Update(v float64) {
	if s != nil {
		s.gauge.Store(math.Float64bits(v))
	}
}

func (s *sdkSeries) Record(d time.Duration) {
	if s == nil {
		return
	}
	v := nonNegativeSeconds(d)
	i := sort.SearchFloat64s(temporalBuckets, v) // first bucket with upper bound >= v
	s.hmu.Lock()
	if i < len(s.buckets) {
		s.buckets[i]++
	}
	s.sum += v
	s.n++
	s.hmu.Unlock()
}

func (s *sdkSeries) snapshot() (count uint64, sum float64, cumulative map[float64]uint64) {
	cumulative = make(map[float64]uint64, len(temporalBuckets))
	s.hmu.Lock()
	defer s.hmu.Unlock()
	var acc uint64
	for i, b := range temporalBuckets {
		acc += s.buckets[i]
		cumulative[b] = acc
	}
	return s.n, s.sum, cumulative
}

// sdkHandler implements client.MetricsHandler: a set of tags over the collector.
type sdkHandler struct {
	c    *sdkCollector
	tags map[string]string // sanitized keys, non-empty values
	keys []string          // sorted keys of tags
	key  string            // canonical encoding of tags
}

var _ client.MetricsHandler = (*sdkHandler)(nil)

// WithTags returns a handler whose tags are h's overlaid with tags (sanitized; a tag with
// an empty value removes the key).
func (h *sdkHandler) WithTags(tags map[string]string) client.MetricsHandler {
	if len(tags) == 0 {
		return h
	}
	merged := make(map[string]string, len(h.tags)+len(tags))
	for k, v := range h.tags {
		merged[k] = v
	}
	// Sorted, so that two keys sanitized to one resolve the same way every time.
	raw := make([]string, 0, len(tags))
	for k := range tags {
		raw = append(raw, k)
	}
	sort.Strings(raw)
	for _, k := range raw {
		sk := sanitizeLabelName(k)
		if sk == "" {
			continue
		}
		if v := labelValue(tags[k]); v != "" {
			merged[sk] = v
		} else {
			delete(merged, sk)
		}
	}
	keys := make([]string, 0, len(merged))
	for k := range merged {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(0xfe)
		b.WriteString(merged[k])
		b.WriteByte(0xff)
	}
	return &sdkHandler{c: h.c, tags: merged, keys: keys, key: b.String()}
}

func (h *sdkHandler) Counter(name string) client.MetricsCounter {
	return h.c.family(name, kindCounter).seriesFor(h)
}

func (h *sdkHandler) Gauge(name string) client.MetricsGauge {
	return h.c.family(name, kindGauge).seriesFor(h)
}

func (h *sdkHandler) Timer(name string) client.MetricsTimer {
	return h.c.family(name, kindTimer).seriesFor(h)
}
