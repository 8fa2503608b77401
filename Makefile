# etcdisk: build, test and measure.
GO        ?= go
PKGS      ?= ./...
FUZZTIME  ?= 20000x
BENCHTIME ?= 1s

.PHONY: build test race bench lint fuzz fuzz-short clean coverage

# The version `etcdisk version` and every result carry: git describe of the
# checkout, and the commit hash, dirty flag and commit time. go build
# records the commit itself (-buildvcs) in a plain clone, but not in a git
# worktree nor under GOFLAGS=-buildvcs=false, so they are passed at link
# time as well. Outside a git checkout the binary says "devel" (or its
# module version) and no commit.
# NB: ":=", not "?=": an environment variable of the same name (CI's own
# VERSION or LDFLAGS) must not leak into the binary; `make build
# VERSION=v1.2.3` still overrides.
BIN        := bin/etcdisk
BUILDVCS   := $(shell git rev-parse --is-inside-work-tree >/dev/null 2>&1 && echo true || echo auto)
VERSION    := $(shell git describe --tags --always --dirty 2>/dev/null)
GIT_REV    := $(shell git rev-parse HEAD 2>/dev/null)
BUILDPKG   := github.com/etcdisk/etcdisk/internal/buildinfo
GO_LDFLAGS := $(if $(VERSION),-X main.version=$(VERSION)) \
  $(if $(GIT_REV),-X $(BUILDPKG).revision=$(GIT_REV) \
    -X $(BUILDPKG).modified=$(shell test -z "$$(git status --porcelain 2>/dev/null)" && echo false || echo true) \
    -X $(BUILDPKG).commitTime=$(shell TZ=UTC0 git log -1 --date=format-local:%Y-%m-%dT%H:%M:%SZ --format=%cd 2>/dev/null))

build: ## the binary, in bin/ (BIN=path to put it elsewhere)
	$(GO) build -buildvcs=$(BUILDVCS) -ldflags "$(GO_LDFLAGS)" -o $(BIN) ./cmd/etcdisk

test: lint ## everything CI runs: vet, gofmt, the tests, a short fuzz pass
	$(GO) test -p 1 -count=1 $(PKGS)
	$(MAKE) --no-print-directory fuzz FUZZTIME=2000x

race: ## the tests under the race detector
	$(GO) test -race -count=1 $(PKGS)

bench: ## Go benchmarks (the tool's own overhead per Save and more)
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $(PKGS)

lint: ## go vet and gofmt
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

fuzz: ## every fuzz target, FUZZTIME inputs (or a duration) each (a finding fails; see scripts/fuzz.sh)
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh $(PKGS)

# The coverage simulation of the verdict's confidence intervals (report/
# coverage_test.go): 2000 simulated runs per latency generator; prints the
# table the README shows. make test runs a reduced version as an assertion.
coverage: ## coverage of the p99 intervals on simulated bursty latency (the README's table)
	@$(GO) test -count=1 -v -run '^TestCoverage$$' ./report -coverage.full

clean:
	rm -rf bin

# The container image for Kubernetes (README, "Fleet"): the binary compiled
# here (CGO_ENABLED=0: static) on an empty base, scripts/deploy/Containerfile.scratch,
# so nothing is pulled from a registry (scripts/deploy/Containerfile builds it
# in a Go container instead). Built with the first engine that works: podman,
# docker (its daemon must answer) or buildah; without one it says so and
# builds only the binary, bin/image/etcdisk.
IMAGE          ?= etcdisk:latest
IMAGE_VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo container)
.PHONY: image
image: ## the container image $(IMAGE), when a container engine is available
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$(IMAGE_VERSION)" -o bin/image/etcdisk ./cmd/etcdisk
	@engine=""; \
	for e in $(CONTAINER_ENGINE) podman docker buildah; do \
	  command -v $$e >/dev/null 2>&1 || continue; \
	  if [ $$e = buildah ] || $$e info >/dev/null 2>&1; then engine=$$e; break; fi; \
	  echo "image: $$e is installed but does not answer ($$e info failed: no daemon or service?)"; \
	done; \
	if [ -z "$$engine" ]; then \
	  echo "image: no working container engine (podman, docker or buildah): image $(IMAGE) not built"; \
	  exit 0; \
	fi; \
	echo "image: building $(IMAGE) with $$engine"; \
	$$engine build -f scripts/deploy/Containerfile.scratch -t $(IMAGE) bin/image
