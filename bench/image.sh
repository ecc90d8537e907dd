#!/usr/bin/env bash
# Benchmark of `rpinet image import` + `node provision` against
#   (b) the manual pipeline: xz -d, loop mount with offset, cp -a of both partitions
#   (c) the decompression floor: xz -dc > /dev/null
# on a Raspberry Pi OS-sized image: 256 MiB FAT + an ext4 root holding
# >= 1.5 GiB of real files copied from this machine's /usr, compressed with xz.
# Prints wall time, CPU time, peak RSS and peak extra disk for each.
# Needs root (loop mount for (b)). BENCH_DIR (default /var/tmp/rpinet-bench)
# keeps the built image between runs; ROOT_DIRS (the directories copied into the
# root) and XZ_LEVEL (6) make a smaller image for a quicker run.
set -euo pipefail
cd "$(dirname "$0")/.."
W=${BENCH_DIR:-/var/tmp/rpinet-bench}
ROOT_MIB=${ROOT_MIB:-1600}
ROOT_DIRS=${ROOT_DIRS:-/usr/lib/x86_64-linux-gnu /usr/share /usr/bin /usr/lib /usr/libexec /usr/include /usr/sbin /usr/local}
XZ_LEVEL=${XZ_LEVEL:-6}
mkdir -p "$W"
cargo build --release --quiet
BIN=$PWD/target/release/rpinet

build_image() {
  local s=$W/stage
  rm -rf "$s"; mkdir -p "$s/root/etc" "$s/boot/overlays"
  # Root: whole directories of /usr until ROOT_MIB is reached.
  local have=0
  for d in $ROOT_DIRS; do
    [ -d "$d" ] || continue
    [ "$have" -ge "$ROOT_MIB" ] && break
    mkdir -p "$s/root$(dirname "$d")"
    cp -a "$d" "$s/root$(dirname "$d")/" 2>/dev/null || true
    have=$(( $(du -sm "$s/root" | cut -f1) ))
  done
  printf 'VERSION_CODENAME=bookworm\n' > "$s/root/etc/os-release"
  printf 'proc /proc proc defaults 0 0\nPARTUUID=b-01 /boot/firmware vfat defaults 0 2\nPARTUUID=b-02 / ext4 defaults,noatime 0 1\n' > "$s/root/etc/fstab"
  echo raspberrypi > "$s/root/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\traspberrypi\n' > "$s/root/etc/hosts"
  # Boot: ~60 MiB of firmware-like files.
  printf 'console=serial0,115200 console=tty1 root=PARTUUID=b-02 rootfstype=ext4 fsck.repair=yes rootwait quiet init=/usr/lib/raspberrypi-sys-mods/firstboot\n' > "$s/boot/cmdline.txt"
  head -c 52000 /dev/urandom > "$s/boot/bootcode.bin"
  for i in $(seq 1 6); do head -c 9000000 /dev/urandom > "$s/boot/kernel_$i.img"; done
  for i in $(seq 1 300); do head -c 20000 /dev/urandom > "$s/boot/overlays/overlay-number-$i.dtbo"; done
  local used; used=$(du -sm "$s/root" | cut -f1)
  local rmib=$(( used * 13 / 10 + 200 ))
  mkfs.ext4 -q -F -d "$s/root" "$W/root.ext4" "${rmib}M"
  mkfs.vfat -F 32 -n bootfs -C "$W/boot.fat" $((256 * 1024)) >/dev/null
  (cd "$s/boot" && mcopy -s -m -i "$W/boot.fat" ./* ::/)
  truncate -s $(( (4 + 256 + rmib) ))M "$W/os.img"
  printf 'label: dos\nstart=8192, size=%d, type=c\nstart=%d, type=83\n' $((256 * 2048)) $((8192 + 256 * 2048)) | sfdisk -q "$W/os.img"
  dd if="$W/boot.fat" of="$W/os.img" bs=1M seek=4 conv=notrunc status=none
  dd if="$W/root.ext4" of="$W/os.img" bs=1M seek=$((4 + 256)) conv=notrunc status=none
  rm -f "$W/boot.fat" "$W/root.ext4" "$W/os.img.xz"
  xz -T2 "-$XZ_LEVEL" "$W/os.img"
  rm -rf "$s"
}
[ -f "$W/os.img.xz" ] || build_image

used_bytes() { df -B1 --output=used "$W" | tail -1; }

# measure NAME CMD...: wall, CPU, peak RSS (of the slowest process), peak extra disk.
measure() {
  local name=$1; shift
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  local base; base=$(used_bytes)
  local peakf; peakf=$(mktemp)
  echo 0 > "$peakf"
  ( p=0; while :; do u=$(( $(used_bytes) - base )); [ $u -gt $p ] && { p=$u; echo $p > "$peakf"; }; sleep 0.2; done ) &
  local sampler=$!
  local tf; tf=$(mktemp)
  local t0; t0=$(date +%s.%N)
  /usr/bin/time -f '%U %S %M' -o "$tf" -a bash -c "$*" 
  local t1; t1=$(date +%s.%N)
  kill $sampler 2>/dev/null; wait $sampler 2>/dev/null || true
  local cpu rss
  cpu=$(awk '{c+=$1+$2} END {printf "%.1f", c}' "$tf")
  rss=$(awk '{if ($3>m) m=$3} END {printf "%d", m/1024}' "$tf")
  WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')
  printf '%-34s wall %7.1f s  cpu %7.1f s  peak RSS %5d MiB  peak extra disk %6d MiB\n' \
    "$name" "$WALL" "$cpu" "$rss" $(( $(cat "$peakf") >> 20 ))
  rm -f "$tf" "$peakf"
}

echo "image: $(du -m "$W/os.img.xz" | cut -f1) MiB xz, $(xz -l --robot "$W/os.img.xz" | awk '$1=="totals"{print int($5/1048576)}') MiB raw"

ONLY=${BENCH_ONLY:-abc}   # which of (a) (b) (c) to run

# (a) rpinet
if [[ $ONLY == *a* ]]; then
A=$W/a; rm -rf "$A"; mkdir -p "$A/etc/config"
ln "$W/os.img.xz" "$A/os.img.xz"
bench/router.sh "$A"
"$BIN" --root "$A" node add n1 --serial 12345678 --mac dc:a6:32:00:00:01 >/dev/null
measure "(a) rpinet import" "$BIN --root $A image import /os.img.xz --name os"
WALL_A=$WALL
measure "(a) rpinet provision" "$BIN --root $A node provision n1 --image os"
WALL_A=$(awk -v a="$WALL_A" -v b="$WALL" 'BEGIN{print a+b}')
rm -rf "$A"
fi

# (b) manual
if [[ $ONLY == *b* ]]; then
B=$W/b; rm -rf "$B"; mkdir -p "$B/boot" "$B/root" "$B/mb" "$B/mr"
measure "(b) xz -d + loop mount + cp -a" "
  xz -dk -T1 -c $W/os.img.xz > $B/os.img
  mount -o ro,loop,offset=$(((8192 + 256 * 2048) * 512)) $B/os.img $B/mr
  if mount -o ro,loop,offset=$((8192 * 512)) $B/os.img $B/mb 2>/dev/null; then
    cp -a $B/mb/. $B/boot/; umount $B/mb
  else  # no vfat module here (as on a stock router): mtools instead
    mcopy -s -p -m -i $B/os.img@@$((8192 * 512)) ::/ $B/boot/
  fi
  cp -a $B/mr/. $B/root/
  umount $B/mr; rm -f $B/os.img; sync"
WALL_B=$WALL
rm -rf "$B"
fi

# (c) floor
if [[ $ONLY == *c* ]]; then
  measure "(c) xz -dc > /dev/null" "xz -dc -T1 $W/os.img.xz > /dev/null"
  WALL_C=$WALL
fi

# The targets: (a) <= 0.7 x (b) and <= 1.3 x (c).
if [[ $ONLY == abc ]]; then
  awk -v a="$WALL_A" -v b="$WALL_B" -v c="$WALL_C" 'BEGIN {
    printf "(a) import + provision %.1f s = %.2f x (b) (target <= 0.70), %.2f x (c) (target <= 1.30)\n", a, a / b, a / c }'
fi
