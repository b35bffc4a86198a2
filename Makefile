# brickdesk — `make run` builds and serves it, `make test` runs every test.
# Both install what is missing first (scripts/tools.sh) and are quick when it is all there.

SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
export PATH := $(HOME)/.cargo/bin:$(HOME)/.cache/brickdesk-tools/binaryen/node_modules/.bin:$(PATH)

BIN := target/release/brickdesk
ARGS ?=

.PHONY: build run test lint ui clean dist image

## build: the release binary with the web UI embedded, at target/release/brickdesk
build: ui
	cargo build --release --locked -p server

## ui: the web UI into dist/ (scripts/ui.sh: the wasm cut into a first part and a part per
## page, then wasm-bindgen and wasm-opt). Only when something it is built from changed (the
## stamp), and dist/ is rewritten only when its content changes: an untouched dist/ keeps the
## server from embedding it again, so a `make build` with nothing changed takes seconds.
UI_SOURCES := $(shell find frontend app/src assets -type f 2>/dev/null) app/Cargo.toml \
	scripts/ui.sh Cargo.toml Cargo.lock .cargo/config.toml
ui:
	@[ -f dist/index.html ] || rm -f target/ui.stamp
	@$(MAKE) --no-print-directory target/ui.stamp

target/ui.stamp: $(UI_SOURCES)
	scripts/tools.sh build
	scripts/ui.sh
	mkdir -p target
	touch $@

## run: build, then serve the demo on http://127.0.0.1:8080: simulated marketplaces and the
## user demo / demo (pass other flags with ARGS="--listen ..."; `make run DEMO=` for no demo)
DEMO ?= --demo
run: build
	$(BIN) serve $(DEMO) $(ARGS)

## test: format and lint checks, unit and end-to-end tests, and the browser tests
test: build
	scripts/tools.sh test
	$(MAKE) lint
	@# The log is followed until cargo itself exits (not through a pipe, which a process left
	@# behind by a failed test could hold open for ever); its exit status is the target's.
	@# Every test binary runs even when one fails, and the summary's last lines say why.
	scripts/check-dist.sh --if-built
	scripts/check-image.sh --if-built
	: > target/test.log; \
		BRICKDESK_REQUIRE_BROWSER=1 BRICKDESK_BIN=$(CURDIR)/$(BIN) cargo test --locked --no-fail-fast \
		> target/test.log 2>&1 & tests=$$!; \
		tail -n +1 --pid=$$tests -f target/test.log; \
		wait $$tests && status=0 || status=$$?; \
		scripts/test-summary.sh target/test.log $$status

## dist: static (musl) release binaries for x86_64 and aarch64 in target/dist, each a tarball
## with the example config, systemd unit, proxy snippets and a README, plus SHA256SUMS; then
## checks them (static, and the aarch64 one running under qemu-user). Installs what it needs.
dist:
	scripts/dist.sh

## image: the OCI image for amd64 and arm64 from make dist's binaries (podman or buildah),
## then checked (and run, where the machine can run containers)
image: dist
	scripts/image.sh
	scripts/check-image.sh

## lint: rustfmt and clippy, warnings are errors
lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

clean:
	cargo clean
	rm -rf dist
