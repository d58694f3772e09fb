package bench

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// markdown is RESULTS.md: the figures side by side with their references, then the
// machine and the charts.
func (r *Results) markdown(ch charts) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# taxflow benchmark (issue 7)\n\n")
	fmt.Fprintf(&b, "`make bench`, %s, scale %g, %s on %s (%d cores, %.1f GiB), Go %s, Temporal CLI %s, PostgreSQL %s. "+
		"Run took %s. Scenarios: %s. Every reference was measured in the same run.\n\nTemporal: %s.\n\n",
		r.StartedAt.Format(time.RFC3339), r.Scale, r.Machine.CPUModel, r.Machine.OS, r.Machine.Cores, float64(r.Machine.MemoryBytes)/(1<<30),
		r.Machine.GoVersion, firstLine(r.Machine.TemporalCLI), r.Machine.PostgreSQL,
		(time.Duration(r.DurationSeconds) * time.Second).String(), strings.Join(r.Scenarios, ", "), r.Machine.TemporalSetup)
	b.WriteString("| # | figure | value | reference (same run) | target | met |\n|---|---|---|---|---|---|\n")
	for _, f := range r.Figures {
		ref := ""
		if f.Reference != nil {
			ref = fmt.Sprintf("%s %s — %s", number(f.Reference.Value), f.Reference.Unit, f.Reference.Name)
		}
		met := "—"
		if f.Pass != nil {
			met = "✗ no"
			if *f.Pass {
				met = "✓ yes"
			}
		}
		fmt.Fprintf(&b, "| %d | %s | **%s** %s | %s | %s | %s |\n", f.Item, cell(f.Name), number(f.Value), f.Unit, cell(ref), cell(f.Target), met)
	}
	b.WriteString("\nNotes:\n\n")
	for _, f := range r.Figures {
		if f.Note != "" {
			fmt.Fprintf(&b, "- **%s**: %s\n", f.Name, f.Note)
		}
	}
	if len(r.Errors) > 0 {
		b.WriteString("\n## Scenarios that did not finish\n\n")
		for _, e := range r.Errors {
			fmt.Fprintf(&b, "- %s\n", cell(e))
		}
	}
	b.WriteString(r.platformSection())
	b.WriteString(r.loadSection())
	if ch.drain != nil || ch.latency != nil {
		b.WriteString("\n## Charts\n\n")
		if ch.drain != nil {
			b.WriteString("![Rate-limit drain: invoices finalized over time against the floor](drain.svg)\n\n")
		}
		if ch.latency != nil {
			b.WriteString("![Latency distribution, received → finalized](latency.svg)\n\n")
		}
	}
	b.WriteString("\nAll measurements, with the calls the simulators counted, are in `results.json`.\n")
	return b.String()
}

// number prints a figure with the precision a person reads.
func number(v float64) string {
	switch {
	case v == float64(int64(v)):
		return fmt.Sprintf("%d", int64(v))
	case v >= 100 || v <= -100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10 || v <= -10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// cell keeps text from breaking a Markdown table.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// loadSection says where the CPU went during each scenario, and warns when other
// processes took a share that skews the figures.
func (r *Results) loadSection() string {
	var b strings.Builder
	b.WriteString("\n## Machine load\n\nCPU in cores on average (this machine has " + fmt.Sprint(r.Machine.Cores) + "): the run's own processes " +
		"(benchmark, Temporal, worker, starter, reference worker), PostgreSQL, and everything else.\n\n")
	b.WriteString("| scenario | seconds | machine | run | PostgreSQL | other processes |\n|---|---|---|---|---|---|\n")
	row := func(name string, u CPUUse) {
		fmt.Fprintf(&b, "| %s | %.0f | %.2f | %.2f | %.2f | %.2f |\n", name, u.Seconds, u.Machine, u.Run, u.Postgres, u.Others)
	}
	row("(before the run)", r.CPUBefore)
	var disturbed []string
	for _, name := range r.Scenarios {
		if u, ok := r.CPU[name]; ok {
			row(name, u)
			if u.Others > busyMachine {
				disturbed = append(disturbed, fmt.Sprintf("%s (%.2f cores)", name, u.Others))
			}
		}
	}
	if len(disturbed) > 0 {
		fmt.Fprintf(&b, "\n**Warning:** other processes took CPU during %s: those figures are lower than this machine can do alone.\n", strings.Join(disturbed, ", "))
	}
	return b.String()
}

// platformSection shows where taxflow's time and CPU went during the platform burst,
// beside the reference's CPU: what explains the platform ratio.
func (r *Results) platformSection() string {
	p := r.Platform
	if p == nil || p.InvoiceCPU.Seconds == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n## Where the platform bursts went\n\nAfter an unmeasured warm-up burst of each, every round starts bare workflows at once and posts as many invoices at once, the reference first in odd rounds and taxflow first in even ones; the ratio is the median round's.\n\n" +
		"| round | first | bare workflows | seconds | workflows/s | invoices | seconds | invoices/s | ratio |\n|---|---|---|---|---|---|---|---|---|\n")
	for i, rr := range p.Rounds {
		first := "taxflow"
		if rr.BareFirst {
			first = "bare"
		}
		fmt.Fprintf(&b, "| %d | %s | %d | %.1f | %.1f | %d | %.1f | %.1f | %.2f |\n", i+1, first, rr.Invoices, rr.BareSeconds, rr.BarePerSecond, rr.Invoices, rr.InvoiceSeconds, rr.InvoicesPerSecond, rr.Ratio)
	}
	b.WriteString("\nMean time per call in taxflow's worker (its own /metrics), over every round:\n\n| what | mean ms | count |\n|---|---|---|\n")
	rows := func(prefix string, m map[string]MeanMs) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "| %s %s | %.1f | %d |\n", prefix, k, m[k].Mean, m[k].Count)
		}
	}
	rows("activity", p.ActivityExecution)
	rows("HTTP request to", p.ProviderRequests)
	rows("rate-limit slot wait,", p.RateLimitWait)
	b.WriteString("\nCPU in cores on average, by process:\n\n| process | bare workflows | taxflow invoices |\n|---|---|---|\n")
	names := map[string]bool{}
	for k := range p.BareCPU.ByProcess {
		names[k] = true
	}
	for k := range p.InvoiceCPU.ByProcess {
		names[k] = true
	}
	keys := make([]string, 0, len(names))
	for k := range names {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "| %s | %.2f | %.2f |\n", k, p.BareCPU.ByProcess[k], p.InvoiceCPU.ByProcess[k])
	}
	fmt.Fprintf(&b, "| (whole machine) | %.2f | %.2f |\n", p.BareCPU.Machine, p.InvoiceCPU.Machine)
	return b.String()
}
