package bench

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// On a shared machine other work can take the CPU a run needs and skew every figure. Each
// scenario therefore records where the machine's CPU went while it ran: to the run's own
// processes (the benchmark, the Temporal server, taxflow's and the reference's workers,
// the starter), to PostgreSQL (shared with anything else using it), and to everything
// else. RESULTS.md warns when everything else took a noticeable share.

// clockTicks is USER_HZ, the unit of /proc's CPU times (100 on Linux).
const clockTicks = 100

// cpuSample is a reading of the CPU counters.
type cpuSample struct {
	at            time.Time
	busy          uint64            // the machine's non-idle time
	own, postgres uint64            // the run's process tree; PostgreSQL's processes
	byName        map[string]uint64 // the run's live processes by name
}

// CPUUse is where the CPU went during a scenario, in cores on average (2 = both cores of
// a two-core machine busy all along).
type CPUUse struct {
	Seconds  float64 `json:"seconds"`
	Machine  float64 `json:"machine_cores"`
	Run      float64 `json:"run_cores"`
	Postgres float64 `json:"postgres_cores"`
	Others   float64 `json:"other_processes_cores"`
	// ByProcess splits Run by process name (temporal, worker, starter, bareworker, the
	// benchmark itself) and adds postgres.
	ByProcess map[string]float64 `json:"by_process,omitempty"`
}

func sampleCPU() cpuSample {
	s := cpuSample{at: time.Now(), byName: map[string]uint64{}}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line)
		for i := 1; i < len(f); i++ {
			v, _ := strconv.ParseUint(f[i], 10, 64)
			if i != 4 && i != 5 { // idle, iowait
				s.busy += v
			}
		}
	}
	procs := readProcs()
	children := map[int][]int{}
	for pid, p := range procs {
		children[p.ppid] = append(children[p.ppid], pid)
	}
	self := os.Getpid()
	if p, ok := procs[self]; ok {
		s.own += p.childTime // children already reaped
	}
	stack := []int{self}
	for len(stack) > 0 {
		pid := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if p, ok := procs[pid]; ok {
			s.own += p.time
			s.byName[p.comm] += p.time
		}
		stack = append(stack, children[pid]...)
	}
	for _, p := range procs {
		if p.comm == "postgres" {
			s.postgres += p.time + p.childTime
		}
	}
	return s
}

// use is the CPU spent between two samples.
func (s cpuSample) use(later cpuSample) CPUUse {
	el := later.at.Sub(s.at).Seconds()
	if el <= 0 {
		return CPUUse{}
	}
	cores := func(ticks uint64) float64 { return round3(float64(ticks) / clockTicks / el) }
	u := CPUUse{Seconds: round3(el), Machine: cores(later.busy - s.busy), Run: cores(later.own - s.own), Postgres: cores(later.postgres - s.postgres)}
	u.Others = round3(max(0, u.Machine-u.Run-u.Postgres))
	u.ByProcess = map[string]float64{"postgres": u.Postgres}
	for name, t := range later.byName {
		if d := t - min(t, s.byName[name]); d > 0 {
			u.ByProcess[name] = cores(d)
		}
	}
	return u
}

// add combines the CPU of two periods into that of both, each weighted by its length.
func (u CPUUse) add(v CPUUse) CPUUse {
	total := u.Seconds + v.Seconds
	if total <= 0 {
		return CPUUse{}
	}
	avg := func(a, b float64) float64 { return round3((a*u.Seconds + b*v.Seconds) / total) }
	out := CPUUse{Seconds: round3(total), Machine: avg(u.Machine, v.Machine), Run: avg(u.Run, v.Run),
		Postgres: avg(u.Postgres, v.Postgres), Others: avg(u.Others, v.Others), ByProcess: map[string]float64{}}
	for k, a := range u.ByProcess {
		out.ByProcess[k] = avg(a, v.ByProcess[k])
	}
	for k, b := range v.ByProcess {
		if _, ok := u.ByProcess[k]; !ok {
			out.ByProcess[k] = avg(0, b)
		}
	}
	return out
}

type procTimes struct {
	comm            string
	ppid            int
	time, childTime uint64
}

// readProcs reads every process's parent and CPU times from /proc/<pid>/stat.
func readProcs() map[int]procTimes {
	out := map[int]procTimes{}
	paths, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(s[:open]))
		if err != nil {
			continue
		}
		f := strings.Fields(s[end+1:]) // f[0] is the state: field 3 of stat
		if len(f) < 15 {
			continue
		}
		n := func(i int) uint64 { v, _ := strconv.ParseUint(f[i-3], 10, 64); return v }
		ppid, _ := strconv.Atoi(f[1])
		out[pid] = procTimes{comm: s[open+1 : end], ppid: ppid, time: n(14) + n(15), childTime: n(16) + n(17)}
	}
	return out
}
