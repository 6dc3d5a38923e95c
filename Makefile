# MarketingBot — common tasks. `make test` is the README's test command.
GO      ?= go
BIN     ?= bin
PKGS    ?= ./...
TIMEOUT ?= 40m

.PHONY: all build test test-short lint fmt vet fuzz sandbox clean

all: lint test build

## build: the role binaries and tools into ./bin
build:
	$(GO) build -trimpath -o $(BIN)/ ./cmd/...

## test: the whole suite with the race detector (needs redis-server, pdftotext, chromium — .ci/run installs them)
test:
	$(GO) test -race -count=1 -timeout $(TIMEOUT) $(PKGS)

## test-short: skips the slow multi-process fault tests
test-short:
	$(GO) test -race -short -count=1 $(PKGS)

## lint: gofmt and go vet
lint: vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

## fuzz: every fuzz target for FUZZTIME each (default 10s)
FUZZTIME ?= 10s
fuzz:
	@bash .ci/fuzz $(FUZZTIME)

## sandbox: the whole system on this machine (README's first command)
sandbox:
	$(GO) run ./cmd/sandbox

clean:
	rm -rf $(BIN) sandbox-data artifacts
