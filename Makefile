# rpinet — build, test, demo and packages.
#
#   make demo    set up a fresh Debian 12, build, and netboot simulated Pis
#                through a real dnsmasq in network namespaces
#   make check   the edit loop: fmt, clippy, unit tests, the layering test
#   make test    every test suite (what CI runs): check, every cargo test with the
#                netboot labs, packages, cross-architecture unit tests, LuCI
#   make e2e, make test-crash, make bench-*: slow real-world suites, run by hand
#
# Each tier's time, measured from a fresh clone, is in CONTRIBUTING.md.
# Each area keeps its rules in mk/<area>.mk and adds its test target to
# TEST_TARGETS, so `make test` runs them all.

SHELL := /bin/bash
CARGO ?= cargo
TEST_TARGETS :=

.PHONY: all build setup check test demo clean
all: build

build:
	$(CARGO) build --release --locked

# Install what the builds and tests need (idempotent; apt only when missing).
setup:
	scripts/setup-debian.sh

include $(sort $(wildcard mk/*.mk))

# The fast tier: no labs, no packages, no browser (they are in `make test`).
check:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings
	$(CARGO) test --locked --workspace --bins --lib
	$(CARGO) test --locked --test architecture

test: setup check
	$(CARGO) build --locked --workspace
	$(CARGO) test --locked --workspace
	@for t in $(TEST_TARGETS); do $(MAKE) --no-print-directory $$t || exit 1; done

clean:
	$(CARGO) clean
	rm -rf dist test-output
