# rpinet — build, test, demo and packages.
#
#   make demo    set up a fresh Debian 12, build, and netboot simulated Pis
#                through a real dnsmasq in network namespaces
#   make test    every test suite (what CI runs)
#
# Each area keeps its rules in mk/<area>.mk and adds its test target to
# TEST_TARGETS, so `make test` runs them all.

SHELL := /bin/bash
CARGO ?= cargo
TEST_TARGETS :=

.PHONY: all build setup test demo clean
all: build

build:
	$(CARGO) build --release --locked

# Install what the builds and tests need (idempotent; apt only when missing).
setup:
	scripts/setup-debian.sh

include $(sort $(wildcard mk/*.mk))

test: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) build --locked --workspace
	$(CARGO) test --locked --workspace
	@for t in $(TEST_TARGETS); do $(MAKE) --no-print-directory $$t || exit 1; done

clean:
	$(CARGO) clean
	rm -rf dist test-output
