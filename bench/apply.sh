#!/usr/bin/env bash
# Benchmark `rpinet apply` on --root trees with 10, 100 and 1,000 nodes: wall time and peak
# RSS of the first apply (everything written) and of a no-op apply (nothing changed).
#
#   bench/apply.sh [BINARY]            one binary (default: a fresh release build)
#   bench/apply.sh --against REV       this tree's release build and REV's, side by side in
#                                      one run (REV built in a worktree under target/)
set -euo pipefail
cd "$(dirname "$0")/.."
# BENCH_DIR=/dev/shm/x models the router, where /tmp is tmpfs.
work=$(mktemp -d "${BENCH_DIR:-/tmp}/rpinet-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
bins=()
if [ "${1:-}" = --against ]; then
  rev=${2:?--against needs a revision}
  cargo build --release --locked -q
  bins+=(target/release/rpinet)
  wt=target/bench-against
  rm -rf "$wt"; git worktree prune
  git worktree add -q --detach "$wt" "$rev"
  (cd "$wt" && CARGO_TARGET_DIR=$PWD/../bench-against-target cargo build --release --locked -q)
  git worktree remove --force "$wt"
  cp target/bench-against-target/release/rpinet "$work/rpinet-$rev"
  bins+=("$work/rpinet-$rev")
elif [ -n "${1:-}" ]; then
  bins+=("$1")
else
  cargo build --release --locked -q
  bins+=(target/release/rpinet)
fi

mklab() { # DIR N
  local d=$1 n=$2
  mkdir -p "$d"/etc/config "$d"/proc "$d"/dev "$d"/mnt/rpinet "$d"/var/etc
  printf "\nconfig interface 'lan'\n\toption ipaddr '10.0.0.1'\n\toption netmask '255.255.0.0'\n" >"$d"/etc/config/network
  printf "\nconfig dnsmasq\n\nconfig dhcp 'lan'\n\toption interface 'lan'\n" >"$d"/etc/config/dhcp
  printf "conf-dir=/tmp/dnsmasq.d\n" >"$d"/var/etc/dnsmasq.conf.cfg01411c
  truncate -s 2M "$d"/dev/sda1
  mkfs.ext4 -q -F -U 6a1f0000-1111-2222-3333-444455556666 "$d"/dev/sda1
  echo "/dev/sda1 /mnt/rpinet ext4 rw 0 0" >"$d"/proc/mounts
  python3 - "$d" "$n" <<'PY'
import sys
d, n = sys.argv[1], int(sys.argv[2])
out = ["", "config rpinet 'main'", "\toption storage_uuid '6a1f0000-1111-2222-3333-444455556666'",
       "\toption storage_path '/mnt/rpinet'"]
for k in range(n):
    out += ["", f"config node 'n{k}'", f"\toption serial '{k:08x}'",
            f"\toption mac 'dc:a6:32:{k >> 16 & 255:02x}:{k >> 8 & 255:02x}:{k & 255:02x}'",
            f"\toption ip '10.0.{k // 250 + 1}.{k % 250 + 2}'"]
open(f"{d}/etc/config/rpinet", "w").write("\n".join(out) + "\n")
PY
}

# Best wall time of 5 runs and the peak RSS of that process (wait4 rusage), for
# `rpinet --root DIR apply`; with "fresh", each run gets a new copy of DIR (a first apply).
measure() { # LABEL DIR fresh|again
  python3 - "$bin" "$@" <<'PY'
import shutil, subprocess, sys, time
bin, label, d, mode = sys.argv[1:]
best, rss = None, 0
for _ in range(5):
    target = d
    if mode == "fresh":
        target = d + ".copy"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(d, target, symlinks=True)
    # GNU time reports the peak RSS (a child forked from Python would inherit Python's).
    t = time.perf_counter()
    out = subprocess.run(["/usr/bin/time", "-f", "%M", bin, "--root", target, "apply"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True, text=True)
    dt = time.perf_counter() - t
    best = dt if best is None else min(best, dt)
    rss = max(rss, int(out.stderr.strip().splitlines()[-1]))
print(f"{label:<30} {best * 1000:7.1f} ms   peak RSS {rss / 1024:5.1f} MiB")
PY
}

for bin in "${bins[@]}"; do
  echo "rpinet apply: $bin ($(du -b "$bin" | cut -f1) bytes binary)"
  for n in 10 100 1000; do
    d=$work/lab$n
    rm -rf "$d" "$d.copy"
    mklab "$d" "$n"
    measure "$(printf '%5s nodes, first apply' "$n")" "$d" fresh
    "$bin" --root "$d" apply
    measure "$(printf '%5s nodes, no-op apply' "$n")" "$d" again
  done
done
