// Package bench is `make bench` (issue 7): it measures taxflow against the two external
// limits that bound it at month end — Anrok's and Stripe's rate limits — and the Temporal
// platform underneath, on one machine in one run, and writes bench/results.json,
// bench/RESULTS.md, bench/drain.svg and bench/latency.svg.
//
// Every part is real: the pinned Temporal dev server (bin/temporal), a fresh PostgreSQL
// database per stack, the Anrok and Stripe simulators over HTTP, and taxflow's worker and
// starter as separate processes configured through their environment, as in production.
// Every figure is reported beside a reference measured in the same run (a bare workflow
// of no-op activities on the same server, the floor the rate limits impose, the API's
// /healthz, the worker before the load, ...), with its target and whether it met it.
//
// The package drives taxflow only from outside — its HTTP API, its database read-only, the
// Temporal client, the simulators — and must not change taxflow's behaviour: what it
// reports is what taxflow does.
package bench
