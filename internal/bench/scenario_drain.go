package bench

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"
)

// DrainResult is item 3: a month-end burst against the providers' real limits. Its floor
// is the time the limits alone impose — calls ÷ limit, for the provider that needs longer
// — from the calls the simulators actually answered.
type DrainResult struct {
	Invoices       int       `json:"invoices"`
	AnrokLimit     int       `json:"anrok_limit_rps"`
	StripeLimit    int       `json:"stripe_limit_rps"`
	TaxflowLimited bool      `json:"taxflow_rate_limits_configured"`
	AnrokCalls     CallStats `json:"anrok_calls"`
	StripeCalls    CallStats `json:"stripe_calls"`
	// FloorSeconds = max(anrok answered ÷ anrok limit, stripe answered ÷ stripe limit).
	FloorSeconds float64 `json:"floor_seconds"`
	FloorBy      string  `json:"floor_set_by"`
	// WallSeconds runs from the first submit to the last finalization (to the cap when
	// the drain did not finish).
	WallSeconds float64 `json:"wall_seconds"`
	Ratio       float64 `json:"ratio"`
	Finished    bool    `json:"finished"`
	CapSeconds  float64 `json:"cap_seconds"`
	Finalized   int     `json:"finalized"`
	Failed      int     `json:"failed"`
	Unfinished  int     `json:"unfinished"`
	Throttled   int     `json:"throttled_429"`
	// TaxflowSaw429 is taxflow's own count (taxflow_provider_rate_limited_total).
	TaxflowSaw429 map[string]float64 `json:"taxflow_counted_429"`
	// Curve is finalized invoices over time (seconds since the first submit), for the chart.
	Curve []CurvePoint `json:"curve"`
	// ThrottledAt are the 429s' times (seconds since the first submit; at most 1,000).
	ThrottledAt []float64 `json:"throttled_at"`
}

// CurvePoint is one point of the drain curve.
type CurvePoint struct {
	Seconds   float64 `json:"s"`
	Finalized int     `json:"n"`
}

const (
	anrokLimit  = 10 // Anrok's requests per second per account
	stripeLimit = 25 // Stripe's test mode; live is 100
)

func (r *runner) runDrain(ctx context.Context) error {
	n := scaled(1000, r.opts.Scale, 5)
	s, err := r.p.newStack(ctx, stackConfig{name: "drain", anrokRPS: anrokLimit, stripeRPS: stripeLimit, taxflowAnrokRPS: anrokLimit, taxflowStripeRPS: stripeLimit})
	if err != nil {
		return err
	}
	defer r.p.closeStack(s)
	res := &DrainResult{Invoices: n, AnrokLimit: anrokLimit, StripeLimit: stripeLimit, TaxflowLimited: s.rateLimitsAccepted}
	r.res.Drain = res
	// The setup's own calls leave the simulators' one-second windows first.
	time.Sleep(1100 * time.Millisecond)

	// The cap, from the README's calls per invoice (the floor itself is computed from the
	// calls counted).
	expected := math.Max(float64(2*n)/anrokLimit, float64(3*n)/stripeLimit)
	capDur := time.Duration(math.Max(r.opts.DrainCapFactor*expected, expected+30) * float64(time.Second))
	res.CapSeconds = capDur.Seconds()
	r.p.progress.logf(ScenarioDrain, "%d invoices at once; simulators at Anrok %d/s, Stripe %d/s; expected floor %.0fs, cap %s",
		n, anrokLimit, stripeLimit, expected, capDur.Round(time.Second))
	am, sm := s.anrok.mark(), s.stripe.mark()
	ids := invoiceIDs("drain", n)
	start, err := s.submitAll(ctx, ScenarioDrain, ids, submitConcurrency)
	if err != nil {
		return err
	}
	throttled := func() string {
		return fmt.Sprintf("429s %d", s.anrok.callsSince(am).Throttled+s.stripe.callsSince(sm).Throttled)
	}
	st, err := s.waitSettled(ctx, ScenarioDrain, "drain-", n, start, capDur-time.Since(start), throttled)
	if err != nil {
		return err
	}
	res.Finalized, res.Failed, res.Unfinished, res.Finished = st.finalized, st.failed, st.other, !st.timedOut && st.failed == 0
	ts, err := s.timings(ctx, "drain-")
	if err != nil {
		return err
	}
	res.Curve = drainCurve(ts, start)
	res.AnrokCalls, res.StripeCalls = s.anrok.callsSince(am), s.stripe.callsSince(sm)
	res.Throttled = res.AnrokCalls.Throttled + res.StripeCalls.Throttled
	res.ThrottledAt = secondsSince(start, append(res.AnrokCalls.throttledAt, res.StripeCalls.throttledAt...), 1000)
	res.TaxflowSaw429, _ = scrapeLabeled(ctx, s.workerOps, "taxflow_provider_rate_limited_total", "provider")
	anrokFloor := float64(res.AnrokCalls.Answered) / anrokLimit
	stripeFloor := float64(res.StripeCalls.Answered) / stripeLimit
	res.FloorSeconds, res.FloorBy = anrokFloor, "anrok"
	if stripeFloor > anrokFloor {
		res.FloorSeconds, res.FloorBy = stripeFloor, "stripe"
	}
	if st.timedOut {
		res.WallSeconds = time.Since(start).Seconds()
	} else if last := lastFinalized(ts); !last.IsZero() {
		res.WallSeconds = last.Sub(start).Seconds()
	}
	res.Ratio = res.WallSeconds / res.FloorSeconds

	floorRef := &Reference{Name: fmt.Sprintf("floor: %d Anrok calls ÷ %d/s, %d Stripe calls ÷ %d/s (set by %s)",
		res.AnrokCalls.Answered, anrokLimit, res.StripeCalls.Answered, stripeLimit, res.FloorBy), Value: res.FloorSeconds, Unit: "s"}
	note := fmt.Sprintf("wall %.1fs from the first submit to the last finalization", res.WallSeconds)
	if st.timedOut {
		note = fmt.Sprintf("NOT FINISHED: stopped at the cap (%.0fs, %.1f× the expected floor) with %d of %d finalized; the ratio is a lower bound", res.CapSeconds, r.opts.DrainCapFactor, st.finalized, n)
	}
	if !s.rateLimitsAccepted {
		note += "; taxflow does not take requests_per_second yet, so it ran without its own limit"
	}
	r.res.figure(Figure{Item: 3, Key: "drain_ratio", Name: fmt.Sprintf("Rate-limit drain: wall time ÷ floor, %d invoices", n),
		Value: res.Ratio, Unit: "ratio", Reference: floorRef, Target: "≤ 1.15", Pass: passed(!st.timedOut && res.Ratio <= 1.15), Note: note})
	r.res.figure(Figure{Item: 3, Key: "drain_failed", Name: "Rate-limit drain: failed invoices",
		Value: float64(res.Failed), Unit: "invoices", Reference: &Reference{Name: "invoices submitted", Value: float64(n), Unit: "invoices"},
		Target: "0", Pass: passed(res.Failed == 0 && !st.timedOut), Note: fmt.Sprintf("%d finalized, %d still on their way", res.Finalized, res.Unfinished)})
	r.res.figure(Figure{Item: 3, Key: "drain_429s", Name: "Rate-limit drain: 429s received",
		Value: float64(res.Throttled), Unit: "responses",
		Reference: &Reference{Name: "calls answered (Anrok + Stripe)", Value: float64(res.AnrokCalls.Answered + res.StripeCalls.Answered), Unit: "calls"},
		Target:    "0", Pass: passed(res.Throttled == 0),
		Note: fmt.Sprintf("Anrok %d, Stripe %d (counted by the simulators); taxflow counted %v", res.AnrokCalls.Throttled, res.StripeCalls.Throttled, res.TaxflowSaw429)})
	return nil
}

// drainCurve is the count of finalized invoices over time, one point per finalization
// (thinned to at most 400 points).
func drainCurve(ts []invoiceTiming, start time.Time) []CurvePoint {
	var fin []time.Time
	for _, t := range ts {
		if t.status == "finalized" {
			fin = append(fin, t.updated)
		}
	}
	step := max(1, len(fin)/400)
	out := []CurvePoint{{0, 0}}
	for i := 0; i < len(fin); i += step {
		out = append(out, CurvePoint{Seconds: round3(fin[i].Sub(start).Seconds()), Finalized: i + 1})
	}
	if len(fin) > 0 {
		out = append(out, CurvePoint{Seconds: round3(fin[len(fin)-1].Sub(start).Seconds()), Finalized: len(fin)})
	}
	return out
}

func lastFinalized(ts []invoiceTiming) time.Time {
	var last time.Time
	for _, t := range ts {
		if t.status == "finalized" && t.updated.After(last) {
			last = t.updated
		}
	}
	return last
}

// secondsSince turns times into seconds since start, sorted, keeping at most limit of
// them evenly.
func secondsSince(start time.Time, ts []time.Time, limit int) []float64 {
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	step := max(1, (len(ts)+limit-1)/limit)
	out := []float64{}
	for i := 0; i < len(ts); i += step {
		out = append(out, round3(ts[i].Sub(start).Seconds()))
	}
	return out
}
