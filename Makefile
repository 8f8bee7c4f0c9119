# docker-multiarch: build, install and test the Docker CLI plugin.
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null)
META       = github.com/docker-multiarch/docker-multiarch/internal/pluginmeta
LDFLAGS    = -s -w -X $(META).Version=$(VERSION) -X $(META).Commit=$(COMMIT)
GOBUILD    = CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)"
BIN        = bin/docker-multiarch
# Where the docker CLI looks for plugins: $DOCKER_CONFIG/cli-plugins, by default ~/.docker/cli-plugins.
PLUGIN_DIR = $(or $(DOCKER_CONFIG),$(HOME)/.docker)/cli-plugins
CROSS      = darwin/arm64 darwin/amd64 windows/amd64 windows/arm64 linux/arm64 linux/arm
E2E_FLAGS ?= -count=1 -timeout 60m

.PHONY: build install test unit fuzz fuzz-ci e2e farm farm-down demo cross lint clean bench docs

build:
	$(GOBUILD) -o $(BIN) ./cmd/docker-multiarch

install: build
	install -D -m 0755 $(BIN) $(PLUGIN_DIR)/docker-multiarch
	@echo "installed $(PLUGIN_DIR)/docker-multiarch"

# Everything: lint, unit tests, then the e2e suite against the real farm.
test: lint unit e2e

# vet and the unit tests (every fuzz target's seed corpus included), then every fuzz target for
# FUZZTIME_CI (fuzz-ci).
unit:
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/...
	CGO_ENABLED=1 $(GO) test -race -count=1 ./...
	cd e2e/farm/tools/farmctl && $(GO) vet ./... && $(GO) test -count=1 ./...
	$(MAKE) --no-print-directory fuzz-ci

# Fuzzing of every parser of untrusted text (flags, farm files, metadata, bake definitions,
# archives, registry manifests): each Go fuzz target (func FuzzXxx in a package's _test.go files,
# listed by `go test -list`, so new ones are picked up) runs for FUZZTIME, one after another (one
# package's fuzzing uses every core). A failure stops the run; its input is kept in the package's
# testdata/fuzz/FuzzXxx/, which then replays it as a test: fix the code, keep the input as a seed.
# A bare "context deadline exceeded" with no failing input is Go's own race at the end of the
# fuzz time (go.dev/issue/75804), not a finding: the target's corpus is replayed instead.
FUZZTIME    ?= 30s
FUZZTIME_CI ?= 5s

fuzz:
	@set -e; log=$$(mktemp); trap 'rm -f $$log' EXIT; \
	for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' . | grep -v '^./e2e/' | xargs -r -n1 dirname | sort -u); do \
		list=$$($(GO) test -list '^Fuzz' $$dir) || { echo "$$list"; exit 1; }; \
		for target in $$(echo "$$list" | grep '^Fuzz'); do \
			echo "fuzzing $$dir $$target for $(FUZZTIME)"; \
			if $(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) $$dir >$$log 2>&1; then tail -n 1 $$log; continue; fi; \
			grep -v '^fuzz: elapsed' $$log; \
			if grep -q '^    context deadline exceeded$$' $$log && ! grep -q 'Failing input written' $$log; then \
				echo "(the fuzz time ran out under Go's race, go.dev/issue/75804: replaying the corpus)"; \
				$(GO) test -count=1 -run "^$$target\$$" $$dir; \
			else exit 1; fi; \
		done; \
	done

# Every fuzz target briefly (FUZZTIME_CI each): what make unit runs after the tests.
fuzz-ci:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME_CI)

# The e2e farm: two dockerd engines, QEMU, a registry on 127.0.0.1, local BuildKit and base images.
farm:
	bash e2e/farm/farm.sh up

farm-down:
	bash e2e/farm/farm.sh down

e2e: farm
	$(GO) test -tags e2e $(E2E_FLAGS) -v ./e2e/...

demo: farm install
	bash docs/demo.sh

cross:
	@set -e; for p in $(CROSS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; [ $$os = windows ] && ext=.exe; \
		echo "building $$os/$$arch"; \
		GOOS=$$os GOARCH=$$arch GOARM=7 $(GOBUILD) -o bin/cross/docker-multiarch-$$os-$$arch$$ext ./cmd/docker-multiarch; \
	done

# gofmt, go vet, then golangci-lint with the layer rules of .golangci.yml (only plugin/ prints, only
# driver/ imports buildx/BuildKit). The linter is built once from the version pinned in
# tools/lint/go.mod (its own module, so its dependencies never touch ours) into bin/, named by version.
GOLANGCI_LINT_VERSION = $(shell sed -n 's|^[[:space:]]*github.com/golangci/golangci-lint/v2 \(v[^ ]*\).*|\1|p' tools/lint/go.mod)
GOLANGCI_LINT         = bin/golangci-lint-$(GOLANGCI_LINT_VERSION)

lint: $(GOLANGCI_LINT)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/...
	$(GOLANGCI_LINT) run ./...

$(GOLANGCI_LINT): tools/lint/go.mod tools/lint/go.sum
	@test -n "$(GOLANGCI_LINT_VERSION)" || { echo "no golangci-lint version in tools/lint/go.mod"; exit 1; }
	@echo "building golangci-lint $(GOLANGCI_LINT_VERSION) into $@ (once)"
	cd tools/lint && $(GO) build -o ../../$@ github.com/golangci/golangci-lint/v2/cmd/golangci-lint

clean:
	rm -rf bin

# Benchmarks against docker-buildx (built by the farm from the pinned module), measured in the same run.
# Every benchmark runs and prints its ratios; the target fails after them when any goal was missed.
bench: build farm
	@rc=0; \
	$(GO) run ./bench metadata -plugin $(BIN) -buildx /var/lib/multiarch-farm/bin/docker-buildx || rc=1; \
	$(GO) run ./bench build -plugin $(BIN) -buildx /var/lib/multiarch-farm/bin/docker-buildx || rc=1; \
	exit $$rc

# docs/reference.md from the commands' own --help.
docs: build
	@d=$$(mktemp -d) && mkdir -p $$d/cli-plugins && cp $(BIN) $$d/cli-plugins/ && \
	{ echo "# Command reference"; echo; echo "Generated from \`--help\` of each command (\`make docs\`)."; \
	  for c in "" "node add" "node ls" "node inspect" "node rm" "create" "apply" "ls" "rm" "build" "bake" "inspect" "merge" "verify" "rebuild" "history ls" "history inspect" "history rm" "history report" "du" "prune" "test" "version"; do \
	    echo; echo "## docker multiarch $$c"; echo; echo '```'; DOCKER_CONFIG=$$d docker multiarch $$c --help; echo '```'; \
	  done; } > docs/reference.md; rm -rf $$d
