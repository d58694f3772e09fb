package chaos

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"text/tabwriter"
	"time"
)

// Summary is the outcome of a run: what was posted and injected, how the invoices ended,
// and every violation found.
type Summary struct {
	Seed         uint64 `json:"seed"`
	Invoices     int    `json:"invoices"`
	DemoInvoices int    `json:"demo_invoices"`
	Accepted     int    `json:"accepted"`
	PostAttempts int    `json:"post_attempts"`

	Finalized    int            `json:"finalized"`
	FailedByCode map[string]int `json:"failed_by_code"`
	// Failures are the failed invoices with their code and message.
	Failures []string `json:"failures,omitempty"`

	// Faults are the faults the simulators injected, by simulator and kind; Bursts429 the
	// bursts of 429 each got; OverLimit429 the 429s of the simulators' own rate limits
	// (taxflow going over a provider's limit).
	Faults       FaultCounts      `json:"faults_injected"`
	Bursts429    map[string]int   `json:"bursts_429"`
	OverLimit429 map[string]int64 `json:"over_limit_429"`
	// Restarts counts the disruptions by kind; Events lists them.
	Restarts map[string]int `json:"restarts"`
	Events   []Event        `json:"events"`

	StripeInvoices    int `json:"stripe_invoices"`
	AnrokTransactions int `json:"anrok_transactions"`
	Duplicates        int `json:"duplicates"`
	Lost              int `json:"lost"`
	Stuck             int `json:"stuck"`
	TaxMismatches     int `json:"tax_mismatches"`
	// RecordMismatches: taxflow's record of a Stripe invoice or an Anrok transaction (id,
	// number, version) differs from the simulator's.
	RecordMismatches int `json:"record_mismatches"`

	Violations []string `json:"violations"`

	WallSeconds   float64 `json:"wall_seconds"`
	ChaosSeconds  float64 `json:"chaos_seconds"`
	SettleSeconds float64 `json:"settle_seconds"`
}

// OK reports whether the run found no violation.
func (s *Summary) OK() bool { return len(s.Violations) == 0 }

// WriteTable prints the summary as a table, then the disruptions and the violations.
func (s *Summary) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s\t%v\n", k, v) }
	fmt.Fprintln(tw, "\nchaos summary\t")
	row("seed", s.Seed)
	row("invoices posted", fmt.Sprintf("%d (+%d demo), %d POSTs", s.Invoices, s.DemoInvoices, s.PostAttempts))
	row("finalized", s.Finalized)
	failed := 0
	for _, n := range s.FailedByCode {
		failed += n
	}
	row("failed", failed)
	for _, code := range sortedKeys(s.FailedByCode) {
		row("  failed: "+code, s.FailedByCode[code])
	}
	for _, k := range sortedKeys(s.Faults) {
		row("fault injected: "+k, s.Faults[k])
	}
	for _, k := range sortedKeys(s.Bursts429) {
		row("429 bursts: "+k, s.Bursts429[k])
	}
	for _, k := range sortedKeys(s.OverLimit429) {
		row("429 of the rate limit: "+k, s.OverLimit429[k])
	}
	for _, k := range sortedKeys(s.Restarts) {
		row(k, s.Restarts[k])
	}
	row("Stripe invoices / Anrok transactions", fmt.Sprintf("%d / %d", s.StripeInvoices, s.AnrokTransactions))
	row("duplicates", s.Duplicates)
	row("lost", s.Lost)
	row("stuck", s.Stuck)
	row("tax mismatches", s.TaxMismatches)
	row("records unlike the providers'", s.RecordMismatches)
	row("wall time", fmt.Sprintf("%s (chaos %s, settling %s)", secs(s.WallSeconds), secs(s.ChaosSeconds), secs(s.SettleSeconds)))
	tw.Flush()
	if len(s.Events) > 0 {
		fmt.Fprintln(w, "\ndisruptions")
		for _, e := range s.Events {
			line := fmt.Sprintf("  +%5.1fs  %-20s %s; back in %s", e.At.Seconds(), e.Kind, e.Detail, e.Recovery.Round(10*time.Millisecond))
			if e.Error != "" {
				line += "; ERROR " + e.Error
			}
			fmt.Fprintln(w, line)
		}
	}
	if len(s.Failures) > 0 {
		fmt.Fprintln(w, "\nfailed invoices")
		for _, f := range s.Failures {
			fmt.Fprintln(w, "  "+f)
		}
	}
	if s.OK() {
		fmt.Fprintln(w, "\nOK: no duplicate, nothing lost, nothing stuck, Stripe's tax = Anrok's for every invoice")
		return
	}
	fmt.Fprintf(w, "\n%d VIOLATIONS\n", len(s.Violations))
	for i, v := range s.Violations {
		if i == 50 {
			fmt.Fprintf(w, "  … %d more (see the JSON summary)\n", len(s.Violations)-i)
			break
		}
		fmt.Fprintln(w, "  "+v)
	}
}

// WriteJSON writes the summary to path.
func (s *Summary) WriteJSON(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode the summary: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write the summary: %w", err)
	}
	return nil
}

func secs(s float64) string {
	return (time.Duration(s * float64(time.Second))).Round(100 * time.Millisecond).String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
