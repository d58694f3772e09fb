package bench

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// scrape reads a Prometheus text exposition: every sample of metric, by its labels (as
// written between the braces, "" for none).
func scrape(ctx context.Context, opsURL, metric string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, opsURL+"/metrics", nil)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("metrics: %s answered %s", opsURL, resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, metric) {
			continue
		}
		rest := line[len(metric):]
		labels := ""
		if strings.HasPrefix(rest, "{") {
			// A label value may hold braces ({id} in an operation): the labels end at the
			// last one.
			end := strings.LastIndex(rest, "}")
			if end < 0 {
				continue
			}
			labels, rest = rest[1:end], rest[end+1:]
		}
		if !strings.HasPrefix(rest, " ") {
			continue // a longer metric name
		}
		fields := strings.Fields(rest)
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			continue
		}
		out[labels] = v
	}
	return out, sc.Err()
}

// scrapeValue reads a metric without labels.
func scrapeValue(ctx context.Context, opsURL, metric string) (float64, error) {
	m, err := scrape(ctx, opsURL, metric)
	if err != nil {
		return 0, err
	}
	v, ok := m[""]
	if !ok {
		return 0, fmt.Errorf("metrics: %s missing", metric)
	}
	return v, nil
}

// scrapeLabeled reads a metric by the value of one label.
func scrapeLabeled(ctx context.Context, opsURL, metric, label string) (map[string]float64, error) {
	m, err := scrape(ctx, opsURL, metric)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for labels, v := range m {
		for _, kv := range strings.Split(labels, `",`) {
			if k, val, ok := strings.Cut(kv, "="); ok && strings.TrimPrefix(k, ",") == label {
				out[strings.Trim(val, `"`)] += v
			}
		}
	}
	return out, nil
}

// residentBytes is a process's resident set (VmRSS in /proc/<pid>/status).
func residentBytes(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("rss: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			fields := strings.Fields(v)
			kb, err := strconv.ParseInt(fields[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("rss: %w", err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("rss: no VmRSS in /proc/%d/status", pid)
}

// histogramTotals are a Prometheus histogram's _sum and _count by one label.
type histogramTotals map[string][2]float64

// scrapeHistogram reads a histogram's _sum and _count by label.
func scrapeHistogram(ctx context.Context, opsURL, metric, label string) (histogramTotals, error) {
	sums, err := scrapeLabeled(ctx, opsURL, metric+"_sum", label)
	if err != nil {
		return nil, err
	}
	counts, err := scrapeLabeled(ctx, opsURL, metric+"_count", label)
	if err != nil {
		return nil, err
	}
	out := histogramTotals{}
	for k, v := range sums {
		out[k] = [2]float64{v, counts[k]}
	}
	return out, nil
}

// meansSince is the mean (in milliseconds) and count of what was observed after before.
func (h histogramTotals) meansSince(before histogramTotals) map[string]MeanMs {
	out := map[string]MeanMs{}
	for k, v := range h {
		sum, n := v[0]-before[k][0], v[1]-before[k][1]
		if n > 0 {
			out[k] = MeanMs{Mean: round3(sum / n * 1000), Count: int(n)}
		}
	}
	return out
}

// MeanMs is a mean duration in milliseconds over Count observations.
type MeanMs struct {
	Mean  float64 `json:"mean_ms"`
	Count int     `json:"count"`
}
