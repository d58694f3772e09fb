// Package chaos runs taxflow's chaos test (`make chaos`, and a short version in
// `make test`): invoices in flight on the real stack — its own PostgreSQL cluster, the
// Temporal dev server on a file database, the real worker and starter binaries supervised
// as `make run` supervises them, the Anrok and Stripe simulators — while, at seeded random
// moments, the worker and the starter are killed with SIGKILL, Temporal is stopped and
// started again, PostgreSQL is restarted, and the simulators answer with 5xx, timeouts and
// bursts of 429.
//
// When the faults stop and every invoice has settled, the outcome is checked in the
// simulators' own state, not in taxflow's: one Stripe invoice and one Anrok transaction per
// invoice, Stripe's tax equal to Anrok's, nothing lost, nothing stuck, every failure with
// its code. Run returns a Summary that lists every violation.
//
// The package owns only what it starts (processes by their pid, a temporary directory);
// it never touches the machine's PostgreSQL or any other stack.
package chaos
