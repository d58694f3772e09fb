package bench

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progress prints what the benchmark is doing, one line at a time, on stderr: the
// scenario, how far it is, its rate and the time left.
type progress struct {
	w     io.Writer
	start time.Time
	mu    sync.Mutex
}

func newProgress(w io.Writer) *progress {
	if w == nil {
		w = io.Discard
	}
	return &progress{w: w, start: time.Now()}
}

// logf prints one line under the scenario's name.
func (p *progress) logf(scenario, format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	el := time.Since(p.start).Round(time.Second)
	fmt.Fprintf(p.w, "bench %6s [%s] %s\n", el, scenario, fmt.Sprintf(format, args...))
}

// count prints done/total with the rate since since and the estimated time left; extra is
// appended as is.
func (p *progress) count(scenario, what string, done, total int, since time.Time, extra string) {
	el := time.Since(since).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(done) / el
	}
	eta := "?"
	if rate > 0 && done < total {
		eta = time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second).String()
	} else if done >= total {
		eta = "0s"
	}
	if extra != "" {
		extra = ", " + extra
	}
	p.logf(scenario, "%s %d/%d (%.1f/s, ETA %s%s)", what, done, total, rate, eta, extra)
}
