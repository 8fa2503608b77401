# etcdisk: build, test and measure.
GO        ?= go
PKGS      ?= ./...
FUZZTIME  ?= 10s
BENCHTIME ?= 1s

.PHONY: build test race bench lint fuzz fuzz-short clean

build: ## the binary, in bin/
	$(GO) build -o bin/etcdisk ./cmd/etcdisk

test: lint ## everything CI runs: vet, gofmt, the tests, a short fuzz pass
	$(GO) test -count=1 $(PKGS)
	$(MAKE) --no-print-directory fuzz FUZZTIME=3s

race: ## the tests under the race detector
	$(GO) test -race -count=1 $(PKGS)

bench: ## Go benchmarks (the tool's own overhead per Save and more)
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $(PKGS)

lint: ## go vet and gofmt
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

fuzz: ## every fuzz target, FUZZTIME each
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
	  dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
	  for t in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/func //'); do \
	    echo "fuzz $$pkg $$t"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg >/dev/null; \
	  done; \
	done

clean:
	rm -rf bin
