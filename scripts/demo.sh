#!/usr/bin/env bash
# make demo: an OpenWrt-like router in network namespaces, three Raspberry Pis registered
# with `rpinet node add`, `rpinet apply`, then each simulated Pi netbooting through the
# router's real dnsmasq. Everything is removed at the end, also on failure or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-target/release}
RPINET=$BIN/rpinet
PISIM=$BIN/pisim
for b in "$RPINET" "$PISIM"; do
  [ -x "$b" ] || { echo "demo: $b is missing; run 'make demo' (it builds first)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "demo: needs root (network namespaces, mounts)" >&2; exit 1; }

DIR=$(mktemp -d /tmp/rpinet-demo.XXXXXX)
cleanup() {
  scripts/lab.sh down "$DIR" >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -t 1 ]; then B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' N=$'\e[0m'; else B='' G='' R='' N=''; fi
step() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
show() { printf '%s$ %s%s\n' "$B" "$*" "$N"; "$@"; }
rpinet() { show "$RPINET" --root "$DIR" "$@"; }
indent() { sed 's/^/    /'; }

step "1. A router: namespaces, br-lan 10.99.0.1/24, OpenWrt-like /etc under --root $DIR"
scripts/lab.sh up "$DIR"
echo "  the SSD: $(grep /mnt/rpinet "$DIR/proc/mounts") (an ext4 image, UUID $(. "$DIR/lab.env"; echo "$LAB_UUID"))"
echo "  /etc/config/rpinet:"
indent <"$DIR/etc/config/rpinet"

step "2. Register three Pis"
rpinet node add lion --serial 38c128c0 --mac dc:a6:32:79:26:df
rpinet node add tiger --serial 0badcafe --mac e4:5f:01:00:00:02 --boot-id mac
rpinet node add bear --serial 9d00ce41d137e638 --mac 2c:cf:67:00:00:03 --model pi5 \
  --boot-id custom --boot-dir bear-boot

step "3. Apply: dnsmasq config, host entries, exports, node directories"
rpinet apply
echo "  /tmp/dnsmasq.d/rpinet.conf:"
indent <"$DIR/tmp/dnsmasq.d/rpinet.conf"
echo "  /tmp/dnsmasq.d/rpinet.hosts/:"
for f in "$DIR"/tmp/dnsmasq.d/rpinet.hosts/*; do grep -v '^#' "$f" | indent; done
echo "  /etc/exports:"
indent <"$DIR/etc/exports"

# Boot files, as an imported image would give them; each names its node.
fill() { # dir node files...
  local d=$DIR/mnt/rpinet/tftp/$1 node=$2 f
  shift 2
  for f in "$@"; do
    mkdir -p "$(dirname "$d/$f")"
    if [ "$f" = cmdline.txt ]; then
      echo "console=serial0,115200 root=/dev/nfs nfsroot=10.99.0.1:/mnt/rpinet/nfs/$node,vers=3 rw ip=dhcp rootwait" >"$d/$f"
    else
      echo "$f of $node" >"$d/$f"
    fi
  done
}
PI4=(start4.elf config.txt fixup4.dat bcm2711-rpi-4-b.dtb overlays/overlay_map.dtb cmdline.txt kernel8.img)
PI5=(config.txt bcm2712-rpi-5-b.dtb overlays/overlay_map.dtb cmdline.txt kernel_2712.img)
fill 38c128c0 lion "${PI4[@]}"
fill e4-5f-01-00-00-02 tiger "${PI4[@]}"
fill bear-boot bear "${PI5[@]}"
echo "  (boot files placed in tftp/38c128c0, tftp/e4-5f-01-00-00-02, tftp/bear-boot)"

step "4. Start the router's dnsmasq (Debian's, in a jail-like mount namespace)"
echo "  dnsmasq pid $(scripts/lab.sh dnsmasq-start "$DIR")"

step "5. Netboot"
results=()
boot() { # name mac what pisim-args...
  local name=$1 mac=$2 what=$3 rc=0
  shift 3
  printf '\n%s-- %s (%s)%s\n' "$B" "$name" "$what" "$N"
  scripts/lab.sh client "$DIR" "$name" "$mac" >/dev/null
  scripts/lab.sh run "$DIR" "$name" "$PISIM" "$@" >"$DIR/$name.json" 2>"$DIR/$name.log" || rc=$?
  grep -v 'TFTP_GET' "$DIR/$name.log" | sed -e 's/^pisim [^ ]* [^ ]*: /    /'
  results+=("$(printf '%-7s %-26s exit %s  %s' "$name" "$what" "$rc" \
    "$(sed -n 's/^pisim [^ ]* [^ ]*: RESULT //p' "$DIR/$name.log")")")
}
boot lion dc:a6:32:79:26:df "Pi 4, dir by serial" --kind pi4 --serial 38c128c0
boot tiger e4:5f:01:00:00:02 "Pi 4, dir by MAC" --kind pi4 --serial 0badcafe --boot-id mac
boot bear 2c:cf:67:00:00:03 "Pi 5, custom dir" --kind pi5 --serial 9d00ce41d137e638 \
  --boot-id custom:bear-boot
boot stray dc:a6:32:00:00:99 "Pi 4, not registered" --kind pi4 --serial 5b154510
boot laptop 02:11:22:33:44:55 "a laptop" --kind laptop

step "6. What dnsmasq says it sent"
grep -E 'sent /mnt/rpinet/tftp/[^ ]*/(cmdline.txt|kernel[^ ]*) to' "$DIR/tmp/dnsmasq.log" \
  | sed 's/^.*dnsmasq-tftp\[[0-9]*\]: /    /'

step "Summary"
for r in "${results[@]}"; do
  case "$r" in
    *"RESULT booted"*|*"RESULT leased"*|*"no boot menu"*) printf '  %s%s%s\n' "$G" "$r" "$N" ;;
    *) printf '  %s%s%s\n' "$R" "$r" "$N" ;;
  esac
done
echo
echo "Registered Pis booted from their own directories; the stray Pi and the laptop got an"
echo "address but no boot menu. Cleaning up."
