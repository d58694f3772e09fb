# taxflow — `make run` and `make test` are all a newcomer needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO   ?= go
BIN  := $(CURDIR)/bin

# Pinned tool versions: built from source through the Go module proxy, never @latest.
TEMPORAL_CLI_VERSION  := v1.5.1
STRIPE_MOCK_VERSION   := v0.195.0
WORKFLOWCHECK_VERSION := v0.6.0
SQLC_VERSION          := v1.31.1
COMPOSE_VERSION       := v2.40.3

# The compose plugin is only needed to validate docker-compose.yml, and only where a docker
# client is installed (internal/deploy's test skips otherwise): make test builds it then.
COMPOSE_TOOL := $(if $(shell command -v docker 2>/dev/null),$(BIN)/.docker-compose-$(COMPOSE_VERSION))

TEST_FLAGS ?= -count=1 -timeout 20m

.PHONY: help tools compose build run test lint generate clean

help:
	@echo "make run       the whole stack on embedded defaults, with a demo"
	@echo "make test      every test, on a real Temporal server and real PostgreSQL"
	@echo "make lint      go vet and Temporal's workflowcheck"
	@echo "make tools     build the pinned Temporal CLI, stripe-mock and workflowcheck into bin/"
	@echo "make compose   build the pinned Docker Compose plugin into bin/ (make test does, where docker is installed)"
	@echo "make build     build the binaries into bin/"
	@echo "make generate  regenerate the typed SQL (sqlc $(SQLC_VERSION))"
	@echo "make fuzz      fuzz every target for FUZZTIME (default 10s)"
	@echo "make bench     the benchmark (about 25 minutes): bench/results.json, RESULTS.md, charts"
	@echo "make chaos     300 invoices through crashes and faults, checked in the simulators (about 5 minutes)"

# Each tool is stamped with its version, so a version bump rebuilds it.
$(BIN)/.temporal-$(TEMPORAL_CLI_VERSION):
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)
	@touch $@
$(BIN)/.stripe-mock-$(STRIPE_MOCK_VERSION):
	GOBIN=$(BIN) $(GO) install github.com/stripe/stripe-mock@$(STRIPE_MOCK_VERSION)
	@touch $@
$(BIN)/.workflowcheck-$(WORKFLOWCHECK_VERSION):
	GOBIN=$(BIN) $(GO) install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION)
	@touch $@
$(BIN)/.sqlc-$(SQLC_VERSION):
	GOBIN=$(BIN) $(GO) install github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION)
	@touch $@
$(BIN)/.docker-compose-$(COMPOSE_VERSION):
	COMPOSE_VERSION=$(COMPOSE_VERSION) GO=$(GO) internal/deploy/install-compose.sh $(BIN)/docker-compose
	@touch $@

tools: $(BIN)/.temporal-$(TEMPORAL_CLI_VERSION) $(BIN)/.stripe-mock-$(STRIPE_MOCK_VERSION) $(BIN)/.workflowcheck-$(WORKFLOWCHECK_VERSION)

compose: $(BIN)/.docker-compose-$(COMPOSE_VERSION)

build:
	$(GO) build -o $(BIN)/ ./worker ./starter ./internal/cmd/anrok-sim ./internal/cmd/stripe-sim ./internal/cmd/devstack ./internal/cmd/devpg ./internal/cmd/reconcile

run: tools build
	$(BIN)/devstack

# devpg provides PostgreSQL: the machine's on 127.0.0.1:5432, else a throwaway cluster.
# The test of `make run` itself runs last, alone: it binds fixed-per-run ports for five
# processes, which other packages' servers starting on random ports could take meanwhile.
test: tools $(COMPOSE_TOOL)
	$(GO) run ./internal/cmd/devpg -- bash -c '$(GO) test $(TEST_FLAGS) -skip TestMakeRun ./... && $(MAKE) --no-print-directory fuzz-targets && $(GO) test $(TEST_FLAGS) -run TestMakeRun ./internal/cmd/devstack'

# Every fuzz target runs on its corpus in `go test`; `make fuzz` fuzzes each for FUZZTIME
# (`make fuzz FUZZTIME=5m` searches longer). make test fuzzes each for a count of inputs
# instead (the third field, sized to about ten seconds here), not a duration: Go 1.26's fuzz
# coordinator can fail a run bounded by a duration at its deadline with "context deadline
# exceeded" and no failing input (golang/go#75804, fixed in Go 1.27), and CI must not fail
# on that.
FUZZTIME ?= 10s
FUZZ_TARGETS := starter/api:FuzzPostInvoice:4000x starter/api:FuzzPostInvoiceFields:1500x \
	starter/api:FuzzJSONEndpoints:20000x internal/money:FuzzAllocate:20000x \
	internal/tax:FuzzResultAllocate:20000x internal/invoicing:FuzzStripeInvoiceLines:20000x \
	internal/billing/stripebilling:FuzzAddLineParams:10000x
.PHONY: fuzz fuzz-targets
fuzz:
	$(GO) run ./internal/cmd/devpg -- $(MAKE) --no-print-directory fuzz-targets FUZZ_BY=time
# FUZZ_BY=time: each target for FUZZTIME; otherwise for its count.
fuzz-targets:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; rest=$${t#*:}; name=$${rest%%:*}; budget=$${rest#*:}; \
	  if [ "$(FUZZ_BY)" = time ]; then budget=$(FUZZTIME); fi; \
	  echo "fuzz $$name ($$budget)"; \
	  $(GO) test -run='^$$' -fuzz="^$$name$$" -fuzztime=$$budget -fuzzminimizetime=5s ./$$pkg; \
	done

lint: tools
	$(GO) vet ./...
	$(BIN)/workflowcheck ./...

generate: $(BIN)/.sqlc-$(SQLC_VERSION)
	$(BIN)/sqlc generate -f internal/store/sqlc.yaml

clean:
	rm -rf $(BIN) .data .run

# Issue 7's benchmark on this machine (about 25 minutes): results in bench/ (results.json,
# RESULTS.md, drain.svg, latency.svg). BENCH_FLAGS='-scale 0.05' shrinks it for a smoke
# check; '-only drain,latency' runs some scenarios (internal/cmd/bench -help).
.PHONY: bench
bench: tools build
	$(GO) run ./internal/cmd/devpg -- $(GO) run ./internal/cmd/bench -bin $(BIN) $(BENCH_FLAGS)

# Issue 8's chaos run (about 5 minutes): 300 invoices through SIGKILLs of the worker and the
# starter, Temporal and PostgreSQL restarts, and the simulators' 5xx, timeouts and 429 bursts,
# then checked in the simulators' state. It starts its own PostgreSQL cluster and Temporal.
# CHAOS_FLAGS passes flags (go run ./internal/cmd/chaos -help): '-seed N' replays a run,
# '-json chaos.json' writes the summary.
.PHONY: chaos
chaos: tools build
	$(GO) run ./internal/cmd/chaos -bin $(BIN) $(CHAOS_FLAGS)
