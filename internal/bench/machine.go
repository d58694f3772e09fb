package bench

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Machine describes where the run happened: the figures mean little without it.
type Machine struct {
	CPUModel       string    `json:"cpu_model"`
	Cores          int       `json:"cores"`
	MemoryBytes    int64     `json:"memory_bytes"`
	OS             string    `json:"os"`
	Kernel         string    `json:"kernel"`
	GoVersion      string    `json:"go_version"`
	TemporalCLI    string    `json:"temporal_cli"`
	TemporalSetup  string    `json:"temporal_setup"`
	PostgreSQL     string    `json:"postgresql"`
	Date           time.Time `json:"date"`
	GitCommit      string    `json:"git_commit"`
	GitUncommitted bool      `json:"git_uncommitted_changes"`
}

// productionDynamicConfig is what the benchmark changes in the dev server's dynamic config
// (unless Options.TemporalDevDefaults). The CLI turns on
// system.forceSearchAttributesCacheRefreshOnRead so that search attributes created while the
// dev server runs are visible at once: every read of the search-attribute metadata then
// re-reads it from the database instead of the cache. The server defaults it to false and
// documents "This should not be turned on in production"; taxflow's search attributes exist
// before anything starts. It charges a workflow that uses search attributes (taxflow's is
// started with them and upserts them; the bare reference uses none) a cost no cluster has.
var productionDynamicConfig = []string{"system.forceSearchAttributesCacheRefreshOnRead=false"}

// temporalSetup describes the platform every figure runs on.
func temporalSetup(devDefaults bool) string {
	config := "the dev server's dynamic config except " + productionDynamicConfig[0] + " (the value every server ships with; the CLI sets true for the dev server)"
	if devDefaults {
		config = "the dev server's dynamic config as the CLI ships it (system.forceSearchAttributesCacheRefreshOnRead=true: search-attribute metadata re-read from the database on every use)"
	}
	return "dev server (bin/temporal server start-dev, via internal/testenv): in-memory SQLite, " +
		"1 history shard (the CLI's dev server fixes it), " + config + "; a shard's transfer queue, which " +
		"hands every workflow and activity task to matching, polls at most 20 times a second " +
		"(history.transferProcessorMaxPollRPS), so under load each step of a workflow waits up to ~50 ms"
}

func describeMachine(ctx context.Context, p *platform) Machine {
	m := Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), Date: time.Now().UTC()}
	m.CPUModel = procField("/proc/cpuinfo", "model name")
	if kb, err := strconv.ParseInt(strings.Fields(procField("/proc/meminfo", "MemTotal") + " 0")[0], 10, 64); err == nil {
		m.MemoryBytes = kb * 1024
	}
	m.OS = strings.Trim(osRelease("PRETTY_NAME"), `"`) + " " + runtime.GOOS + "/" + runtime.GOARCH
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.TemporalCLI = commandOutput(ctx, p.root, "bin/temporal", "--version")
	m.TemporalSetup = temporalSetup(p.opts.TemporalDevDefaults)
	m.GitCommit = commandOutput(ctx, p.root, "git", "rev-parse", "HEAD")
	m.GitUncommitted = commandOutput(ctx, p.root, "git", "status", "--porcelain") != ""
	if conn, err := pgx.Connect(ctx, p.adminURL); err == nil {
		_ = conn.QueryRow(ctx, "SHOW server_version").Scan(&m.PostgreSQL)
		conn.Close(ctx)
	}
	return m
}

// procField reads "name : value" from a /proc file.
func procField(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func osRelease(key string) string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && k == key {
			return v
		}
	}
	return ""
}

func commandOutput(ctx context.Context, dir, name string, args ...string) string {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
