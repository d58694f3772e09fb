package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/taxflow/taxflow/internal/devenv"
	"github.com/taxflow/taxflow/internal/testenv"
)

// `make run` on the real binaries, as separate processes: PostgreSQL, the Temporal dev
// server, both simulators, the worker and the starter come up, the demo's four invoices are
// finalized, and everything stops. Ports and directories are the test's own.
func TestMakeRunBringsUpTheStackAndFinalizesTheDemo(t *testing.T) {
	root := testenv.RepoRoot()
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+"/", "./worker", "./starter", "./internal/cmd/anrok-sim", "./internal/cmd/stripe-sim", "./internal/cmd/devstack")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	if err := os.Symlink(testenv.TemporalPath(), filepath.Join(bin, "temporal")); err != nil {
		t.Fatal(err)
	}
	port := func() string {
		p, err := devenv.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	data := t.TempDir()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "devstack"), "-bin", bin, "-data", data, "-exit-after-demo",
		"-temporal-port", port(), "-ui-port", port(), "-anrok-addr", "127.0.0.1:"+port(), "-stripe-addr", "127.0.0.1:"+port(), "-metrics-addr", "127.0.0.1:"+port())
	cmd.Env = append(os.Environ(), "TAXFLOW_DATABASE_URL="+testenv.NewDatabase(t), "TAXFLOW_HTTP_ADDR=127.0.0.1:"+port(),
		"TAXFLOW_API_TOKEN=", "TAXFLOW_SECRET_KEY=", "TAXFLOW_CODEC_KEY=", "STRIPE_API_KEY=", "ANROK_API_KEY=")
	out, err := cmd.CombinedOutput()
	text := string(out)
	if err != nil {
		logs, _ := filepath.Glob(filepath.Join(data, "logs", "*.log"))
		for _, l := range logs {
			b, _ := os.ReadFile(l)
			t.Logf("--- %s\n%s", filepath.Base(l), tailOf(string(b), 3000))
		}
		t.Fatalf("devstack: %v\n%s", err, text)
	}
	if !strings.Contains(text, "Readiness: starter ready, worker ready") {
		t.Fatalf("readiness:\n%s", text)
	}
	if strings.Count(text, " finalized ") < 4 || !strings.Contains(text, "All 4 demo invoices finalized") {
		t.Fatalf("output:\n%s", text)
	}
	// The Denver line: subtotal 15000, tax 722, total 15722.
	var denver string
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, "-denver ") {
			denver = line
		}
	}
	if f := strings.Fields(denver); len(f) < 6 || f[3] != "15000" || f[4] != "722" || f[5] != "15722" {
		t.Fatalf("Denver row %q", denver)
	}
	for _, name := range []string{"temporal", "anrok-sim", "stripe-sim", "worker", "starter"} {
		if !strings.Contains(text, name+" stopped") {
			t.Errorf("%s was not stopped:\n%s", name, text)
		}
	}
}

func tailOf(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
