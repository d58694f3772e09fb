package bench

import (
	"math"
	"sort"
	"time"
)

// seconds is a duration in seconds, as results report timings.
func seconds(d time.Duration) float64 { return d.Seconds() }

// millis is a duration in milliseconds.
func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// percentile is the q-th quantile (0..1) of ds by the nearest-rank method; 0 for none.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := int(math.Ceil(q*float64(len(s)))) - 1
	if rank < 0 {
		rank = 0
	}
	if rank >= len(s) {
		rank = len(s) - 1
	}
	return s[rank]
}

// Distribution summarises durations in milliseconds.
type Distribution struct {
	Count int     `json:"count"`
	P50Ms float64 `json:"p50_ms"`
	P90Ms float64 `json:"p90_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
	MinMs float64 `json:"min_ms"`
}

func distributionOf(ds []time.Duration) Distribution {
	if len(ds) == 0 {
		return Distribution{}
	}
	return Distribution{
		Count: len(ds),
		P50Ms: round3(millis(percentile(ds, 0.50))),
		P90Ms: round3(millis(percentile(ds, 0.90))),
		P99Ms: round3(millis(percentile(ds, 0.99))),
		MaxMs: round3(millis(percentile(ds, 1))),
		MinMs: round3(millis(percentile(ds, 0))),
	}
}

// round3 keeps three decimals: results are read by people.
func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// scaled is n times the run's scale, at least min.
func scaled(n int, scale float64, min int) int {
	v := int(math.Round(float64(n) * scale))
	if v < min {
		return min
	}
	return v
}

// LatencyHistogram counts latencies in equal buckets, for taxflow and its reference.
type LatencyHistogram struct {
	BucketMs  float64 `json:"bucket_ms"`
	Invoices  []int   `json:"invoices"`
	Reference []int   `json:"reference"`
}

// histogramBuckets is how many buckets the latency chart has.
const histogramBuckets = 40

// histogramOf buckets both series on one scale, from 0 to the larger p99.5 (the few
// beyond go into the last bucket, so one outlier does not squash the chart).
func histogramOf(invoices, reference []time.Duration) LatencyHistogram {
	top := max(percentile(invoices, 0.995), percentile(reference, 0.995))
	if top <= 0 {
		top = time.Millisecond
	}
	bucket := float64(top) / float64(histogramBuckets) / float64(time.Millisecond)
	h := LatencyHistogram{BucketMs: round3(bucket), Invoices: make([]int, histogramBuckets), Reference: make([]int, histogramBuckets)}
	put := func(counts []int, ds []time.Duration) {
		for _, d := range ds {
			i := int(millis(d) / bucket)
			counts[min(max(i, 0), histogramBuckets-1)]++
		}
	}
	put(h.Invoices, invoices)
	put(h.Reference, reference)
	return h
}
