#!/usr/bin/env bash
# Benchmark of `rpinet image import URL`: the same image imported
#   (1) from the local file            rpinet image import /os.img.xz
#   (2) from a local HTTP server        rpinet image import http://127.0.0.1:PORT/os.img.xz
#   (3) the transfer alone              curl -o /dev/null (what (2) adds to (1) at most)
#   (4) from the local file, --sha256   (the one-thread xz path a stream takes)
# The download path must not be slower than (1) + (3). The image is bench/image.sh's
# (built there once, kept in BENCH_DIR); by default a smaller one than bench-image's (the
# Python library, headers and docs of this machine, xz -6), ROOT_DIRS to change it.
# Prints wall and CPU time of each. Needs curl and python3 (the server).
set -euo pipefail
cd "$(dirname "$0")/.."
export BENCH_DIR=${BENCH_DIR:-/var/tmp/rpinet-bench-fleet} ROOT_MIB=${ROOT_MIB:-1600}
export ROOT_DIRS=${ROOT_DIRS:-/usr/lib/python3.11 /usr/lib/python3 /usr/include /usr/share/doc}
W=$BENCH_DIR
BENCH_ONLY=- bench/image.sh         # builds the release binary and the image, measures nothing
BIN=$PWD/target/release/rpinet

router() { rm -rf "$1"; mkdir -p "$1"; bench/router.sh "$1"; }

measure() {  # NAME CMD: wall and CPU seconds
  local name=$1; shift
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  local tf; tf=$(mktemp)
  local t0; t0=$(date +%s.%N)
  /usr/bin/time -f '%U %S' -o "$tf" bash -c "$*"
  local t1; t1=$(date +%s.%N)
  WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')
  printf '%-40s wall %7.1f s  cpu %7.1f s\n' "$name" "$WALL" "$(awk '{print $1+$2}' "$tf")"
  rm -f "$tf"
}

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$W" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$W/r"' EXIT
sleep 1
url=http://127.0.0.1:$port/os.img.xz
sum=$(sha256sum "$W/os.img.xz" | cut -d' ' -f1)
echo "image: $(du -m "$W/os.img.xz" | cut -f1) MiB xz; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
R=$W/r
router "$R"; ln "$W/os.img.xz" "$R/os.img.xz"
measure "(1) import from the file" "$BIN --root $R image import /os.img.xz --name os >/dev/null"
F=$WALL
router "$R"
measure "(2) import from http://127.0.0.1" "$BIN --root $R image import $url --name os --sha256 $sum >/dev/null"
U=$WALL
measure "(3) the transfer alone (curl)" "curl -sS -o /dev/null $url"
T=$WALL
router "$R"; ln "$W/os.img.xz" "$R/os.img.xz"
measure "(4) import from the file, --sha256" "$BIN --root $R image import /os.img.xz --name os --sha256 $sum >/dev/null"
awk -v f="$F" -v u="$U" -v t="$T" 'BEGIN {
  printf "download path %.1f s vs file + transfer %.1f s: %s\n", u, f + t, (u <= f + t ? "not slower" : "SLOWER") }'
