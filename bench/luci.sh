#!/usr/bin/env bash
# Benchmark: LuCI's Overview and Nodes pages with 200 and 1,000 nodes in headless Chromium.
# Overview: load, refresh, a sort of every node, DOM size and page height, with status paged
# (docs/api.md offset/limit) and with every node in one reply (an rpinet before paging).
# Nodes (the grid over `config node`, a page of it drawn): load, DOM size, page height and
# the rows drawn. Not a test: numbers depend on the machine.
#
#   bench/luci.sh [RUNS]     (default 5; needs `make luci-setup` once)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here/luci-app-rpinet/tests"
node bench-overview.js "${1:-5}"
echo
node bench-nodes.js "${1:-5}"
