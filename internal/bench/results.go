package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Results is everything one run measured: bench/results.json.
type Results struct {
	Machine    Machine   `json:"machine"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	// DurationSeconds is the whole run, setup included.
	DurationSeconds float64  `json:"duration_seconds"`
	Scale           float64  `json:"scale"`
	Scenarios       []string `json:"scenarios"`
	// Figures are the figures, each with its reference from this run, its target
	// and whether it met it.
	Figures []Figure `json:"figures"`
	// The scenarios' own measurements, for whoever wants more than the figures.
	Platform *PlatformResult `json:"platform,omitempty"`
	Cost     *CostResult     `json:"cost,omitempty"`
	Drain    *DrainResult    `json:"drain,omitempty"`
	Latency  *LatencyResult  `json:"latency,omitempty"`
	Waiting  *WaitingResult  `json:"waiting,omitempty"`
	API      *APIResult      `json:"api,omitempty"`
	// CPUBefore is where the CPU went in the seconds before the run started; CPU, during
	// each scenario. Other processes' share says how much a busy machine skewed the run.
	CPUBefore CPUUse            `json:"cpu_before_run"`
	CPU       map[string]CPUUse `json:"cpu_by_scenario"`
	// Errors are scenarios that could not finish, with why.
	Errors []string `json:"errors,omitempty"`
}

// Figure is one figure of the issue.
type Figure struct {
	// Item is the item number (1–6).
	Item  int     `json:"item"`
	Key   string  `json:"key"`
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	// Reference is what the figure is compared with, measured in the same run.
	Reference *Reference `json:"reference,omitempty"`
	// Target is the target ("≥ 0.8"); empty when the issue sets none.
	Target string `json:"target,omitempty"`
	// Pass is whether the target was met; absent when there is no target.
	Pass *bool  `json:"pass,omitempty"`
	Note string `json:"note,omitempty"`
}

// Reference is a figure's reference.
type Reference struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

func passed(ok bool) *bool { return &ok }

// figure adds a figure to the results.
func (r *Results) figure(f Figure) {
	f.Value = round3(f.Value)
	if f.Reference != nil {
		f.Reference.Value = round3(f.Reference.Value)
	}
	r.Figures = append(r.Figures, f)
}

// write writes results.json, RESULTS.md and the charts into dir.
func (r *Results) write(dir string, charts charts) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	files := map[string][]byte{
		"results.json": append(b, '\n'),
		"RESULTS.md":   []byte(r.markdown(charts)),
	}
	if charts.drain != nil {
		files["drain.svg"] = charts.drain
	}
	if charts.latency != nil {
		files["latency.svg"] = charts.latency
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

// charts are the SVG files of a run (nil when their scenario did not run).
type charts struct {
	drain, latency []byte
}
