// Package testenv gives tests the real parts taxflow runs on: a fresh PostgreSQL database
// per test on the machine's server (or the throwaway cluster `make test` starts), and a
// Temporal dev server built from source into bin/ (`make tools`). Nothing is mocked and
// nothing is downloaded; everything started is stopped at cleanup.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/taxflow/taxflow/internal/secretbox"
)

// RepoRoot is the directory holding go.mod.
func RepoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			panic("testenv: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// AdminURL is the PostgreSQL server tests create their databases on:
// TAXFLOW_TEST_DATABASE_URL (set by `make test`), else the machine's server.
func AdminURL() string {
	if u := os.Getenv("TAXFLOW_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// RandomHex returns n random bytes as hex.
func RandomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// NewDatabase creates an empty database for one test and returns its URL; it is dropped
// when the test ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin := AdminURL()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("testenv: PostgreSQL is not reachable at %s (run the tests with `make test`, which starts a throwaway cluster when none answers): %v", redact(admin), err)
	}
	defer conn.Close(ctx)
	name := "taxflow_test_" + RandomHex(6)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testenv: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Logf("testenv: drop %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("testenv: drop %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// SecretKey returns a fresh TAXFLOW_SECRET_KEY value and its keyring.
func SecretKey(t testing.TB) (string, *secretbox.Keyring) {
	t.Helper()
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	value := "test:" + base64.StdEncoding.EncodeToString(raw)
	k, err := secretbox.FromEnv(value)
	if err != nil {
		t.Fatal(err)
	}
	return value, k
}

// TemporalPath is the pinned Temporal CLI that `make tools` builds.
func TemporalPath() string { return filepath.Join(RepoRoot(), "bin", "temporal") }

// searchAttributes are taxflow's search attributes (workflows.SearchAttributeNames; the
// list is repeated here because testenv must not import the workflows package).
var searchAttributes = []string{"InvoiceId", "CustomerId", "StripeAccount", "InvoiceStatus", "TaxStatus", "ExternalStatus", "ErrorCode"}

// StartTemporal starts a Temporal dev server (in memory, on a free port) from bin/temporal.
// Call it from TestMain and Stop the server after m.Run. dynamicConfig sets dynamic config
// values ("key=json-value") over the dev server's defaults.
func StartTemporal(ctx context.Context, logOutput io.Writer, dynamicConfig ...string) (*testsuite.DevServer, error) {
	path := TemporalPath()
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("testenv: %s is missing: run `make tools` (it builds the pinned Temporal CLI from source)", path)
	}
	if logOutput == nil {
		logOutput = io.Discard
	}
	var args []string
	for _, name := range searchAttributes {
		args = append(args, "--search-attribute", name+"=Keyword")
	}
	for _, kv := range dynamicConfig {
		args = append(args, "--dynamic-config-value", kv)
	}
	return testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:  path,
		LogLevel:      "error",
		ClientOptions: &client.Options{Namespace: "default"},
		ExtraArgs:     args,
		Stdout:        logOutput,
		Stderr:        logOutput,
	})
}

// SearchAttributeNames returns the search attributes the dev server registers.
func SearchAttributeNames() []string { return append([]string(nil), searchAttributes...) }
