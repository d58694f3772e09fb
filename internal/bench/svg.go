package bench

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"strings"
)

// The charts are SVG written by hand: a plotting library would be a heavy dependency for
// two charts. A chart is a plot area with two linear axes.

const (
	chartW, chartH                     = 860, 500
	marginL, marginR, marginT, marginB = 70, 30, 70, 60
)

// chart is one SVG being written.
type chart struct {
	buf            bytes.Buffer
	xMax, yMax     float64
	xLabel, yLabel string
}

func newChart(title, subtitle string, xMax, yMax float64, xLabel, yLabel string) *chart {
	c := &chart{xMax: niceCeil(xMax), yMax: niceCeil(yMax), xLabel: xLabel, yLabel: yLabel}
	fmt.Fprintf(&c.buf, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", chartW, chartH, chartW, chartH)
	fmt.Fprintf(&c.buf, `<rect width="%d" height="%d" fill="white"/>`+"\n", chartW, chartH)
	c.text(chartW/2, 24, "middle", 16, "bold", title)
	c.text(chartW/2, 44, "middle", 12, "normal", subtitle)
	c.axes()
	return c
}

// x and y map data to pixels.
func (c *chart) x(v float64) float64 { return marginL + v/c.xMax*(chartW-marginL-marginR) }
func (c *chart) y(v float64) float64 { return chartH - marginB - v/c.yMax*(chartH-marginT-marginB) }

func (c *chart) text(x, y float64, anchor string, size int, weight, s string) {
	fmt.Fprintf(&c.buf, `<text x="%.1f" y="%.1f" text-anchor="%s" font-size="%d" font-weight="%s">%s</text>`+"\n", x, y, anchor, size, weight, escape(s))
}

func (c *chart) axes() {
	x0, y0, x1, y1 := c.x(0), c.y(0), c.x(c.xMax), c.y(c.yMax)
	for i := 0; i <= 5; i++ {
		xv, yv := c.xMax*float64(i)/5, c.yMax*float64(i)/5
		fmt.Fprintf(&c.buf, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e5e5"/>`+"\n", c.x(xv), y0, c.x(xv), y1)
		fmt.Fprintf(&c.buf, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e5e5"/>`+"\n", x0, c.y(yv), x1, c.y(yv))
		c.text(c.x(xv), y0+18, "middle", 11, "normal", tick(xv))
		c.text(x0-8, c.y(yv)+4, "end", 11, "normal", tick(yv))
	}
	fmt.Fprintf(&c.buf, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", x0, y0, x1, y0)
	fmt.Fprintf(&c.buf, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", x0, y0, x0, y1)
	c.text((x0+x1)/2, chartH-18, "middle", 12, "normal", c.xLabel)
	fmt.Fprintf(&c.buf, `<text transform="translate(18,%.1f) rotate(-90)" text-anchor="middle">%s</text>`+"\n", (y0+y1)/2, escape(c.yLabel))
}

// polyline draws data points (x, y) joined by lines.
func (c *chart) polyline(pts [][2]float64, stroke string, width float64, dash string) {
	var b strings.Builder
	for _, p := range pts {
		fmt.Fprintf(&b, "%.1f,%.1f ", c.x(math.Min(p[0], c.xMax)), c.y(math.Min(p[1], c.yMax)))
	}
	d := ""
	if dash != "" {
		d = fmt.Sprintf(` stroke-dasharray="%s"`, dash)
	}
	fmt.Fprintf(&c.buf, `<polyline points="%s" fill="none" stroke="%s" stroke-width="%.1f"%s/>`+"\n", strings.TrimSpace(b.String()), stroke, width, d)
}

// bar draws a bar from x0 to x1 of height h.
func (c *chart) bar(x0, x1, h float64, fill, stroke string, opacity float64) {
	fmt.Fprintf(&c.buf, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" fill-opacity="%.2f" stroke="%s"/>`+"\n",
		c.x(x0), c.y(h), c.x(x1)-c.x(x0), c.y(0)-c.y(h), fill, opacity, stroke)
}

// vline draws a labelled vertical line at x.
func (c *chart) vline(x float64, stroke, label string) {
	fmt.Fprintf(&c.buf, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-dasharray="4 3"/>`+"\n", c.x(x), c.y(0), c.x(x), c.y(c.yMax), stroke)
	c.text(c.x(x)+4, c.y(c.yMax)+12, "start", 11, "normal", label)
}

// legend lists the series at the top left of the plot, or the top right.
func (c *chart) legend(items [][2]string, right bool) {
	x := float64(marginL + 12)
	if right {
		x = chartW - marginR - 330
	}
	fmt.Fprintf(&c.buf, `<rect x="%.1f" y="%d" width="324" height="%d" fill="white" fill-opacity="0.85"/>`+"\n", x-6, marginT+2, len(items)*18+8)
	for i, it := range items {
		y := float64(marginT) + 14 + float64(i)*18
		fmt.Fprintf(&c.buf, `<rect x="%.1f" y="%.1f" width="14" height="4" fill="%s"/>`+"\n", x, y-6, it[0])
		c.text(x+20, y, "start", 12, "normal", it[1])
	}
}

func (c *chart) bytes() []byte {
	c.buf.WriteString("</svg>\n")
	return c.buf.Bytes()
}

func escape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten, so the axis ticks are round.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func tick(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// charts draws the run's charts from its results.
func (r *Results) charts() charts {
	var out charts
	if d := r.Drain; d != nil && len(d.Curve) > 1 {
		out.drain = drainChart(d)
	}
	if l := r.Latency; l != nil && len(l.Histogram.Invoices) > 0 {
		out.latency = latencyChart(l)
	}
	return out
}

// drainChart is finalized invoices over time against the floor's straight line.
func drainChart(d *DrainResult) []byte {
	last := d.Curve[len(d.Curve)-1].Seconds
	c := newChart(fmt.Sprintf("Rate-limit drain: %d invoices at once, Anrok %d/s, Stripe %d/s", d.Invoices, d.AnrokLimit, d.StripeLimit),
		fmt.Sprintf("wall %.1fs ÷ floor %.1fs = %.2f (target ≤ 1.15) · %d failed · %d × 429 · taxflow limit configured: %v", d.WallSeconds, d.FloorSeconds, d.Ratio, d.Failed, d.Throttled, d.TaxflowLimited),
		math.Max(math.Max(last, d.WallSeconds), d.FloorSeconds*1.15)*1.05, float64(d.Invoices), "seconds since the first invoice was submitted", "invoices finalized")
	n := float64(d.Invoices)
	c.polyline([][2]float64{{0, 0}, {d.FloorSeconds, n}, {c.xMax, n}}, "#555", 1.5, "6 4")
	c.polyline([][2]float64{{0, 0}, {d.FloorSeconds * 1.15, n}}, "#e08a00", 1.2, "2 3")
	pts := make([][2]float64, 0, 2*len(d.Curve))
	for i, p := range d.Curve {
		if i > 0 {
			pts = append(pts, [2]float64{p.Seconds, float64(d.Curve[i-1].Finalized)})
		}
		pts = append(pts, [2]float64{p.Seconds, float64(p.Finalized)})
	}
	c.polyline(pts, "#1f6fd1", 2.2, "")
	for _, t := range d.ThrottledAt {
		fmt.Fprintf(&c.buf, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#d62728" stroke-opacity="0.6"/>`+"\n", c.x(t), c.y(0), c.x(t), c.y(0)-10)
	}
	items := [][2]string{{"#1f6fd1", "invoices finalized (taxflow)"}, {"#555", fmt.Sprintf("floor: the limits alone (%.1fs, set by %s)", d.FloorSeconds, d.FloorBy)}, {"#e08a00", "target: 1.15 × floor"}}
	if len(d.ThrottledAt) > 0 {
		items = append(items, [2]string{"#d62728", fmt.Sprintf("a 429 received (ticks on the time axis: %d)", d.Throttled)})
	}
	c.legend(items, false)
	return c.bytes()
}

// latencyChart is the distribution of received → finalized beside the reference's.
func latencyChart(l *LatencyResult) []byte {
	h := l.Histogram
	top := 0
	for i := range h.Invoices {
		top = max(top, h.Invoices[i], h.Reference[i])
	}
	c := newChart(fmt.Sprintf("Latency received → finalized: %d invoices at %.1f/s, no rate limit", l.Invoices, l.Rate),
		fmt.Sprintf("taxflow p50 %.0f ms, p99 %.0f ms · bare workflow (same pace) p50 %.0f ms, p99 %.0f ms", l.Latency.P50Ms, l.Latency.P99Ms, l.Bare.P50Ms, l.Bare.P99Ms),
		h.BucketMs*float64(len(h.Invoices)), float64(top)*1.1, "milliseconds (the last bar holds everything beyond)", "invoices / workflows")
	for i := range h.Invoices {
		x0, x1 := h.BucketMs*float64(i), h.BucketMs*float64(i+1)
		c.bar(x0, x1, float64(h.Reference[i]), "#999", "#777", 0.35)
		c.bar(x0, x1, float64(h.Invoices[i]), "#1f6fd1", "#1f6fd1", 0.55)
	}
	c.vline(l.Latency.P50Ms, "#0b3d91", "p50")
	c.vline(l.Latency.P99Ms, "#c0392b", "p99")
	c.legend([][2]string{{"#1f6fd1", "taxflow: received → finalized"}, {"#999", "bare workflow: start → close"}}, true)
	return c.bytes()
}
