// Command devpg runs a command with a PostgreSQL server available to it, for `make test`:
// TAXFLOW_TEST_DATABASE_URL when set, else the machine's server on 127.0.0.1:5432 when it
// answers, else a throwaway cluster it starts in a temporary directory and removes after.
// The command gets TAXFLOW_TEST_DATABASE_URL in its environment.
//
//	devpg -- go test ./...
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/taxflow/taxflow/internal/devenv"
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: devpg -- command [args...]")
		os.Exit(2)
	}
	os.Exit(run(args))
}

func run(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	url := os.Getenv("TAXFLOW_TEST_DATABASE_URL")
	switch {
	case url != "":
		fmt.Fprintln(os.Stderr, "devpg: using TAXFLOW_TEST_DATABASE_URL")
	case devenv.Answers(ctx, devenv.MachineAdminURL):
		url = devenv.MachineAdminURL
		fmt.Fprintln(os.Stderr, "devpg: using the PostgreSQL server on 127.0.0.1:5432")
	default:
		dir, err := os.MkdirTemp("", "taxflow-pg-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "devpg:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		fmt.Fprintln(os.Stderr, "devpg: no PostgreSQL on 127.0.0.1:5432; starting a throwaway cluster in", dir)
		// The cluster must outlive ctx's cancellation long enough to be stopped cleanly.
		cluster, err := devenv.StartCluster(context.Background(), dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "devpg:", err)
			return 1
		}
		defer func() {
			if err := cluster.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, "devpg:", err)
			}
		}()
		url = cluster.AdminURL()
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), "TAXFLOW_TEST_DATABASE_URL="+url)
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "devpg:", err)
		return 1
	}
	go func() {
		<-ctx.Done()
		_ = cmd.Process.Signal(syscall.SIGTERM)
	}()
	err := cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "devpg:", err)
		return 1
	}
	return 0
}
