package devenv

import (
	"context"
	"testing"
)

// make test must work where no PostgreSQL is running: this starts the throwaway cluster
// that devpg falls back to, uses it and stops it.
func TestThrowawayClusterStartsServesAndStops(t *testing.T) {
	ctx := context.Background()
	c, err := StartCluster(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !Answers(ctx, c.AdminURL()) {
		_ = c.Stop()
		t.Fatal("the cluster does not answer")
	}
	url, err := EnsureDatabase(ctx, c.AdminURL(), "taxflow")
	if err != nil {
		_ = c.Stop()
		t.Fatal(err)
	}
	if !Answers(ctx, url) {
		t.Error("the new database does not answer")
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if Answers(ctx, c.AdminURL()) {
		t.Fatal("the cluster still answers after Stop")
	}
}

// A chaos run restarts its cluster while taxflow uses it: the cluster comes back on the
// same port, after a clean stop as after a crash.
func TestClusterRestartsOnTheSamePort(t *testing.T) {
	ctx := context.Background()
	c, err := StartCluster(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	for _, mode := range []string{"fast", "immediate"} {
		if err := c.Restart(mode); err != nil {
			t.Fatal(err)
		}
		if !Answers(ctx, c.AdminURL()) {
			t.Fatalf("the cluster does not answer on port %d after a %s restart", c.Port, mode)
		}
	}
}
