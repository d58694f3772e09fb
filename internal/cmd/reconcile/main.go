// Command reconcile compares taxflow's invoices with Stripe's invoices and Anrok's
// transactions over a period and prints every difference, each with what to do about it
// (the same report as the starter's GET /v1/reconciliation; see internal/reconcile):
//
//	reconcile -from 2026-11-01 -to 2026-12-01 [-stripe-account ID] [-anrok-connection ID] [-json]
//
// The period is [from, to) over the time taxflow received the invoices; -from and -to take
// RFC 3339 times or dates (midnight UTC). It reads the starter's environment
// (TAXFLOW_DATABASE_URL, TAXFLOW_SECRET_KEY, TAXFLOW_RATE_LIMIT_QUEUE; the others may be
// absent) and applies pending migrations as every taxflow process does; its Stripe and
// Anrok reads take their send slots from the same per-account rate limits as the workers.
// It changes nothing anywhere.
//
// Exit status: 0 no difference, 1 differences, 2 bad flags or configuration, 3 the
// reconciliation could not complete (database or provider unavailable).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/taxflow/taxflow/internal/app"
	"github.com/taxflow/taxflow/internal/config"
	"github.com/taxflow/taxflow/internal/reconcile"
)

// Exit statuses.
const (
	exitClean       = 0
	exitDifferences = 1
	exitBadInput    = 2
	exitFailed      = 3
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], nil, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// flagOf names each parameter as the command's flag.
var flagOf = map[string]string{"from": "-from", "to": "-to", "stripe_account_id": "-stripe-account", "anrok_connection_id": "-anrok-connection"}

// usedVariables are the settings the command needs; problems with the starter's others
// (its API token, say) do not stop it.
var usedVariables = []string{"TAXFLOW_DATABASE_URL", "TAXFLOW_SECRET_KEY", "TAXFLOW_RATE_LIMIT_QUEUE"}

// run is the command; environ replaces the process environment when not nil (tests).
func run(ctx context.Context, args []string, environ map[string]string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "start of the period, included: RFC 3339 time or date (UTC midnight), e.g. 2026-11-01")
	to := fs.String("to", "", "end of the period, excluded: RFC 3339 time or date (UTC midnight), e.g. 2026-12-01")
	stripeAccount := fs.String("stripe-account", "", "only the invoices of this taxflow Stripe account")
	anrokConnection := fs.String("anrok-connection", "", "only the invoices of this taxflow Anrok connection")
	asJSON := fs.Bool("json", false, "print the report as JSON (GET /v1/reconciliation's shape) instead of a table")
	timeout := fs.Duration("timeout", time.Hour, "give up after this long")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: reconcile -from DATE -to DATE [-stripe-account ID] [-anrok-connection ID] [-json]")
		fmt.Fprintln(stderr, "exit status: 0 no difference, 1 differences, 2 bad input, 3 could not reconcile")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitClean
		}
		return exitBadInput
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "reconcile: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return exitBadInput
	}
	params := reconcile.Params{StripeAccountID: *stripeAccount, AnrokConnectionID: *anrokConnection}
	var err error
	if params.From, err = parseTime("from", *from); err == nil {
		params.To, err = parseTime("to", *to)
	}
	if err == nil {
		err = params.Validate()
	}
	if err != nil {
		return badInput(stderr, err)
	}

	cfg, err := config.LoadFrom(environ)
	if err == nil {
		err = only(cfg.Validate(config.RoleStarter), usedVariables)
	}
	if err != nil {
		fmt.Fprintf(stderr, "reconcile: bad configuration:\n%v\n", err)
		return exitBadInput
	}
	keys, err := app.Keyring(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "reconcile: TAXFLOW_SECRET_KEY: %v\n", err)
		return exitBadInput
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	st, err := app.OpenStore(ctx, cfg, nil)
	if err != nil {
		fmt.Fprintf(stderr, "reconcile: %v\n", err)
		return exitFailed
	}
	defer st.Close()

	report, err := app.NewReconciler(cfg, st, keys, nil).Reconcile(ctx, params)
	var pe *reconcile.ParamError
	switch {
	case errors.As(err, &pe):
		return badInput(stderr, err)
	case err != nil:
		fmt.Fprintf(stderr, "reconcile: could not complete: %v\n", err)
		return exitFailed
	}
	if *asJSON {
		err = writeJSON(stdout, report)
	} else {
		err = writeTable(stdout, report)
	}
	if err != nil {
		fmt.Fprintf(stderr, "reconcile: %v\n", err)
		return exitFailed
	}
	if len(report.Differences) > 0 {
		return exitDifferences
	}
	return exitClean
}

// badInput reports a parameter error under its flag's name.
func badInput(stderr io.Writer, err error) int {
	var pe *reconcile.ParamError
	if errors.As(err, &pe) {
		fmt.Fprintf(stderr, "reconcile: %s: %s\n", flagOf[pe.Field], pe.Message)
	} else {
		fmt.Fprintf(stderr, "reconcile: %v\n", err)
	}
	return exitBadInput
}

// parseTime reads an RFC 3339 time, or a date taken as midnight UTC.
func parseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil // Validate names the missing one
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, &reconcile.ParamError{Field: field, Code: "invalid_time",
		Message: fmt.Sprintf("%q is neither an RFC 3339 time (2026-11-01T00:00:00Z) nor a date (2026-11-01)", s)}
}

// only keeps the configuration problems of the named variables.
func only(err error, vars []string) error {
	if err == nil {
		return nil
	}
	all := []error{err}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		all = joined.Unwrap()
	}
	var kept []error
	for _, e := range all {
		var ce *config.Error
		if !errors.As(e, &ce) || slices.Contains(vars, ce.Var) {
			kept = append(kept, e)
		}
	}
	return errors.Join(kept...)
}
