#!/usr/bin/env bash
# Benchmark: LuCI's Overview page with 1,000 nodes in headless Chromium, paged (status
# contract 1) against every node in one reply (today's status). Not a test: numbers depend
# on the machine.
#
#   bench/luci.sh [RUNS]     (default 5; needs `make luci-setup` once)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here/luci-app-rpinet/tests"
exec node bench-overview.js "${1:-5}"
