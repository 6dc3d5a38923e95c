# MarketingBot — common tasks. `make test` is the README's test command.
GO      ?= go
BIN     ?= bin
PKGS    ?= ./...
TIMEOUT ?= 40m
# Whole-system tests mostly wait (timers, emulated latency, quotas): six
# worlds at a time keep two cores busy without starving any of them.
# (sim/systemtest at ten: both cores saturated while the first ten worlds
# started, and a reply missed its 20-s wait; at six they are 15-35 % busy
# once the first worlds are up.)
PARALLEL ?= 6
# The whole-system packages: each starts many worlds (redis-server, the
# emulators, the roles, Chromium) and loads both cores on its own; run side
# by side they starved each other's worlds until replies missed their waits
# in CI. make test runs them one at a time (SYSPAR), after every other
# package, which run (and build) two at a time (PKGPAR): those are unit
# tests with fakes, miniredis or one browser, which never starved anything.
SYSTEM_PKGS ?= ./sim/systemtest ./sim/faults ./sim/sandbox ./sim/sandbox/ui
PKGPAR ?= 2
SYSPAR ?= 1

.PHONY: all build test test-short lint fmt vet tidy staticcheck fuzz sandbox clean

# staticcheck is fetched through the module proxy at a pinned version (go run
# caches the build), so `make lint` needs nothing installed beforehand.
STATICCHECK_VERSION ?= v0.8.2

all: lint test build

## build: the role binaries and tools into ./bin (releases are built by
## deploy/deploy.sh and the Dockerfile, with -trimpath; this build shares the
## test run's build cache, so CI's build step costs seconds)
build:
	$(GO) build -o $(BIN)/ ./cmd/...

## test: the whole suite with the race detector (needs redis-server, pdftotext, chromium — .ci/run installs them):
## the packages of PKGS outside SYSTEM_PKGS two at a time, then those in it one at a time
test:
	@sys=" $$($(GO) list $(SYSTEM_PKGS) | tr '\n' ' ')"; unit=; whole=; \
	for p in $$($(GO) list $(PKGS)); do case "$$sys" in *" $$p "*) whole="$$whole $$p";; *) unit="$$unit $$p";; esac; done; \
	run() { echo "$(GO) test -race -count=1 -p $$1 -parallel $(PARALLEL) -timeout $(TIMEOUT) $$2"; \
	  $(GO) test -race -count=1 -p $$1 -parallel $(PARALLEL) -timeout $(TIMEOUT) $$2; }; \
	rc=0; \
	if [ -n "$$unit" ]; then run $(PKGPAR) "$$unit" || rc=1; fi; \
	if [ -n "$$whole" ]; then run $(SYSPAR) "$$whole" || rc=1; fi; \
	exit $$rc

## test-short: unit tests only (whole-system tests under sim/ skip themselves)
test-short:
	$(GO) test -short -count=1 $(PKGS)

## lint: gofmt, go vet, go mod tidy (nothing to change), staticcheck
lint: vet tidy staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

tidy:
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }

staticcheck:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

## fuzz: every fuzz target, FUZZ=<count>x each (default: CI's per-target counts)
fuzz:
	@bash .ci/fuzz $(FUZZ)

## sandbox: the whole system on this machine (README's first command)
sandbox:
	$(GO) run ./cmd/sandbox

clean:
	rm -rf $(BIN) sandbox-data artifacts
