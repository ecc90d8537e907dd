#!/usr/bin/env bash
# Benchmark: shared roots (root_mode 'shared': the image's root under each node's overlay)
# against private copies (root_mode 'copy'). Not a test: the numbers depend on the machine.
#
#   1. import + provision of one shared node vs the decompression floor `xz -T0 -dc`, on the
#      Pi OS-sized image of bench/image.sh (built there when missing), caches dropped first;
#   2. provisioning 1, 20 and 100 nodes from one image, one after another: wall time and what
#      the SSD holds for them (du -x of tftp/, nfs/ and roots/), shared vs copy; copies stop
#      where the disk would not hold them;
#   3. bytes read from the disk when 20 nodes' boot file sets are read cold through their node
#      trees (/proc/self/io read_bytes; drop_caches before each run), shared vs copy: the files
#      a node's first boot read, as `make e2e` recorded them for the e2e's image of
#      BENCH_STYLE (default trixie): $RPINET_E2E_CACHE/STYLE.boot-files, the files the node
#      had mapped once up (executables, libraries) and those whose access time the boot moved.
#
#   bench/shared.sh [PART...]   (default: 1 2 3; root: mounts, drop_caches)
# BENCH_DIR (default /var/tmp/rpinet-bench) holds the image and the labs.
set -euo pipefail
cd "$(dirname "$0")/.."
W=${BENCH_DIR:-/var/tmp/rpinet-bench}
E2E=${RPINET_E2E_CACHE:-/var/cache/rpinet-e2e}
PARTS=${*:-1 2 3}
mkdir -p "$W"
cargo build --release --quiet
BIN=$PWD/target/release/rpinet
[ -f "$W/os.img.xz" ] || BENCH_ONLY=none bench/image.sh >/dev/null

drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# lab MODE DIR: a router root with the SSD at DIR/mnt/rpinet and root_mode MODE
lab() {
  local mode=$1 d=$2
  unmount_under "$d"
  rm -rf "$d"; mkdir -p "$d/etc/config"
  bench/router.sh "$d"
  printf "\toption root_mode '%s'\n" "$mode" >>"$d/etc/config/rpinet"
}

unmount_under() {
  awk -v d="$1/" '$3 == "overlay" && index($2, d) == 1 {print $2}' /proc/self/mounts |
    sort -r | while read -r m; do umount -l "$m"; done
}

add_nodes() { # DIR FROM TO
  local k
  for k in $(seq "$2" "$3"); do
    "$BIN" --root "$1" node add "n$k" --serial "$(printf '%08x' $((0x10000000 + k)))" \
      --mac "$(printf 'dc:a6:32:00:%02x:%02x' $((k / 256)) $((k % 256)))" >/dev/null
  done
}

held() { # DIR: bytes the SSD holds for the nodes (copies have no roots/)
  (cd "$1/mnt/rpinet" && for d in tftp nfs roots; do [ ! -d $d ] || du -sxB1 $d; done |
    awk '{s += $1} END {print s}')
}

mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

if [[ " $PARTS " == *" 1 "* ]]; then
  echo "== 1. import + provision (shared) vs xz -T0 -dc, $(du -m "$W/os.img.xz" | cut -f1) MiB .img.xz"
  L=$W/lab-import
  lab shared "$L"
  ln -f "$W/os.img.xz" "$L/os.img.xz"
  add_nodes "$L" 1 1
  drop
  t0=$(now)
  "$BIN" --root "$L" image import /os.img.xz --name os >/dev/null
  t1=$(now)
  "$BIN" --root "$L" node provision n1 --image os >/dev/null 2>&1
  t2=$(now)
  drop
  t3=$(now)
  xz -T0 -dc "$W/os.img.xz" >/dev/null
  t4=$(now)
  a=$(secs "$t0" "$t2")
  c=$(secs "$t3" "$t4")
  echo "import $(secs "$t0" "$t1") s + provision $(secs "$t1" "$t2") s = $a s; xz -T0 -dc $c s;" \
    "ratio $(awk -v a="$a" -v c="$c" 'BEGIN { printf "%.2f", a / c }') (target <= 1.30)"
  unmount_under "$L"; rm -rf "$L"
fi

if [[ " $PARTS " == *" 2 "* ]]; then
  echo "== 2. provisioning N nodes one after another from one image: wall time, SSD held"
  free=$(df -B1 --output=avail "$W" | tail -1)
  for mode in shared copy; do
    L=$W/lab-$mode
    lab "$mode" "$L"
    ln -f "$W/os.img.xz" "$L/os.img.xz"
    "$BIN" --root "$L" image import /os.img.xz --name os >/dev/null
    image=$(du -sxB1 "$L/mnt/rpinet/images/os" | cut -f1)
    done_n=0
    for n in 1 20 100; do
      if [ "$mode" = copy ] && [ $((image * n)) -gt $((free * 8 / 10)) ]; then
        echo "  $mode $n nodes: not run ($n copies of a $(mib "$image") image would not fit in $(mib "$free") free)"
        continue
      fi
      add_nodes "$L" $((done_n + 1)) "$n"
      t0=$(now)
      for k in $(seq $((done_n + 1)) "$n"); do
        "$BIN" --root "$L" node provision "n$k" --image os >/dev/null 2>&1
      done
      t1=$(now)
      sync
      total=$(held "$L")
      per=$(awk -v a="$t0" -v b="$t1" -v k=$((n - done_n)) 'BEGIN { printf "%.3f", (b - a) / k }')
      echo "  $mode $n nodes: $(secs "$t0" "$t1") s for nodes $((done_n + 1))-$n ($per s each); SSD holds $(mib "$total") for $n nodes (image $(mib "$image"))"
      done_n=$n
    done
    unmount_under "$L"; rm -rf "$L"
  done
fi

if [[ " $PARTS " == *" 3 "* ]]; then
  echo "== 3. bytes read from the disk: 20 nodes' boot file sets read cold through their trees"
  list=$E2E/${BENCH_STYLE:-trixie}.boot-files
  [ -s "$list" ] || { echo "  no $list: run make e2e first (it records the files a boot reads)"; exit 1; }
  for mode in shared copy; do
    L=$W/lab-reads-$mode
    lab "$mode" "$L"
    ln -f "$E2E/${BENCH_STYLE:-trixie}.img" "$L/os.img" 2>/dev/null || cp "$E2E/${BENCH_STYLE:-trixie}.img" "$L/os.img"
    "$BIN" --root "$L" image import /os.img --name os >/dev/null
    add_nodes "$L" 1 20
    for k in $(seq 1 20); do "$BIN" --root "$L" node provision "n$k" --image os >/dev/null 2>&1; done
    # the files of the list that a node's tree has (a boot also writes files of its own,
    # and provisioning leaves out the image's host keys)
    (cd "$L/mnt/rpinet/nfs/n1" && while read -r f; do [ ! -f "$f" ] || echo "$f"; done) \
      <"$list" >"$L/files"
    drop
    # (the script is python's stdin: the file list goes by name)
    python3 - "$L/mnt/rpinet/nfs" "$mode" "$L/files" <<'EOF'
import os, sys
top, mode, listed = sys.argv[1], sys.argv[2], sys.argv[3]
files = [l for l in open(listed).read().splitlines() if l]
size = 0
for k in range(1, 21):
    for f in files:
        with open(os.path.join(top, f"n{k}", f), "rb") as fh:
            while chunk := fh.read(1 << 20):
                size += len(chunk)
io = dict(l.split(": ") for l in open("/proc/self/io").read().splitlines())
print(f"  {mode}: {len(files)} files x 20 nodes = {size / 2**20:.1f} MiB read by the nodes; "
      f"{int(io['read_bytes']) / 2**20:.1f} MiB read from the disk")
EOF
    unmount_under "$L"; rm -rf "$L"
  done
fi
