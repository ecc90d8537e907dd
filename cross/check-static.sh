#!/usr/bin/env bash
# Check that each binary is fully static (no program interpreter, no NEEDED
# library) and print its size: a router has no libc but musl's own, and a
# dynamic binary built here would look for the wrong one. With MAX_BYTES set, a binary
# larger than that fails (the size budget: aarch64 stays within 768 KiB).
#   [MAX_BYTES=N] cross/check-static.sh BIN...
set -euo pipefail
rc=0
for bin in "$@"; do
  if [ ! -f "$bin" ]; then
    echo "check-static: $bin: no such file" >&2; rc=1; continue
  fi
  if readelf -lW "$bin" | grep -q 'program interpreter'; then
    echo "check-static: $bin: has a program interpreter (dynamically linked)" >&2; rc=1
  fi
  if readelf -dW "$bin" 2>/dev/null | grep -q '(NEEDED)'; then
    echo "check-static: $bin: needs shared libraries: $(readelf -dW "$bin" | grep '(NEEDED)' | tr -s ' ' | cut -d' ' -f6- | tr '\n' ' ')" >&2; rc=1
  fi
  size=$(stat -c %s "$bin")
  if [ -n "${MAX_BYTES:-}" ] && [ "$size" -gt "$MAX_BYTES" ]; then
    echo "check-static: $bin: $size bytes is over the budget of $MAX_BYTES" >&2; rc=1
  fi
  printf '%-60s %9d bytes  %s\n' "$bin" "$(stat -c %s "$bin")" "$(file -b "$bin" | cut -d, -f1-2)"
done
exit $rc
