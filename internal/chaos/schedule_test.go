package chaos

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// A seed replays the same disruptions at the same moments; every configured disruption
// happens once, inside the chaos window and before its quiet last tenth, and Temporal and
// PostgreSQL alternate between a clean stop and a crash.
func TestPlanIsReproducibleAndSpreadOverTheWindow(t *testing.T) {
	cfg := Defaults()
	a := plan(rand.New(rand.NewPCG(42, 1)), cfg)
	b := plan(rand.New(rand.NewPCG(42, 1)), cfg)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("the same seed planned differently:\n%v\n%v", a, b)
	}
	counts := map[string]int{}
	modes := map[string][]string{}
	for i, e := range a {
		counts[e.Kind]++
		if e.Mode != "" {
			modes[e.Kind] = append(modes[e.Kind], e.Mode)
		}
		if e.At <= 0 || e.At > cfg.ChaosFor*9/10 {
			t.Errorf("event %d at %s, outside the window", i, e.At)
		}
		if i > 0 && e.At-a[i-1].At < time.Second {
			t.Errorf("events %d and %d are %s apart", i-1, i, e.At-a[i-1].At)
		}
	}
	want := map[string]int{KillWorker: cfg.WorkerKills, KillStarter: cfg.StarterKills, RestartTemporal: cfg.TemporalRestarts, RestartPostgres: cfg.PostgresRestarts}
	if !reflect.DeepEqual(counts, want) {
		t.Errorf("planned %v, want %v", counts, want)
	}
	if m := modes[RestartTemporal]; !reflect.DeepEqual(m, []string{"SIGTERM", "SIGKILL"}) {
		t.Errorf("Temporal stops %v", m)
	}
	if m := modes[RestartPostgres]; !reflect.DeepEqual(m, []string{"fast", "immediate"}) {
		t.Errorf("PostgreSQL restarts %v", m)
	}
}
