#!/usr/bin/env bash
# Benchmark: LuCI's Overview page with 200 and 1,000 nodes in headless Chromium: load,
# refresh, a sort of every node, DOM size and page height, with status paged (docs/api.md
# offset/limit) and with every node in one reply (an rpinet before paging). Not a test:
# numbers depend on the machine.
#
#   bench/luci.sh [RUNS]     (default 5; needs `make luci-setup` once)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here/luci-app-rpinet/tests"
exec node bench-overview.js "${1:-5}"
