package chaos

import (
	"math/rand/v2"
	"sort"
	"time"
)

// Kinds of disruption.
const (
	KillWorker      = "SIGKILL worker"
	KillStarter     = "SIGKILL starter"
	RestartTemporal = "restart Temporal"
	RestartPostgres = "restart PostgreSQL"
)

// plannedEvent is a disruption due At after the chaos starts.
type plannedEvent struct {
	At   time.Duration
	Kind string
	// Down is how long Temporal stays stopped; Mode is how it stops (SIGTERM or SIGKILL)
	// or pg_ctl's shutdown mode (fast or immediate), each in turn.
	Down time.Duration
	Mode string
}

// plan spreads the configured disruptions over the chaos window: the window is cut into as
// many slots as there are disruptions, in a shuffled order, and each happens at a random
// moment in the middle of its slot — so no two pile up, and a rerun with the same seed
// replays the same plan. The last tenth of the window is left quiet, so the last
// disruption still finds invoices in flight.
func plan(rng *rand.Rand, cfg Config) []plannedEvent {
	var kinds []string
	for _, k := range []struct {
		kind string
		n    int
	}{{KillWorker, cfg.WorkerKills}, {KillStarter, cfg.StarterKills}, {RestartTemporal, cfg.TemporalRestarts}, {RestartPostgres, cfg.PostgresRestarts}} {
		for range k.n {
			kinds = append(kinds, k.kind)
		}
	}
	rng.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	if len(kinds) == 0 {
		return nil
	}
	slot := cfg.ChaosFor * 9 / 10 / time.Duration(len(kinds))
	events := make([]plannedEvent, 0, len(kinds))
	turn := map[string]int{}
	for i, kind := range kinds {
		e := plannedEvent{Kind: kind, At: time.Duration(i)*slot + slot/5 + time.Duration(rng.Int64N(int64(slot*3/5)+1))}
		switch kind {
		case RestartTemporal:
			e.Down = time.Second + time.Duration(rng.Int64N(int64(4*time.Second)))
			e.Mode = []string{"SIGTERM", "SIGKILL"}[turn[kind]%2]
		case RestartPostgres:
			e.Mode = []string{"fast", "immediate"}[turn[kind]%2]
		}
		turn[kind]++
		events = append(events, e)
	}
	sort.Slice(events, func(i, j int) bool { return events[i].At < events[j].At })
	return events
}
