#!/usr/bin/env bash
# e2e/run.sh [STYLE...]: rpinet's proof on a real kernel. For each style
# (bookworm, trixie; default both):
#
#   1. a Raspberry Pi OS-shaped disk image (e2e/image.sh), built once and cached outside the
#      repository in $RPINET_E2E_CACHE (default /var/cache/rpinet-e2e), built again when
#      e2e/image.sh or e2e/pios/ changed;
#   2. a lab router in network namespaces (scripts/lab.sh): rpinet imports the image, adds
#      two nodes with container volumes and provisions them; dnsmasq (the router's config,
#      written by rpinet apply) leases their addresses; nfs-ganesha serves the exports rpinet
#      wrote to /etc/exports, with rpcbind, inside the router's namespace;
#   3. both nodes boot at once under qemu-system-x86_64 (KVM when /dev/kvm is usable, else
#      TCG) from their own TFTP dir: kernel8.img, initramfs8 and cmdline.txt as rpinet left
#      them (console=ttyS0 appended: a PC's serial port; and a device timeout of 600 s, as
#      under TCG with both CPUs busy udev may take over systemd's 90 s to announce ttyS0,
#      and the serial getty then never starts);
#   4. e2e/console.py logs in over each serial console as the provisioned user and records
#      the checks, the container runtime's among them (docker in bookworm, containerd in
#      trixie: a container run from a local image, 50 MB written onto the volume); three
#      rounds: the first boot, a plain reboot, and a boot after a reimage (one node keeping
#      its identity, one --new-identity with a bigger volume);
#   5. on the router's side, each round: the node's boot report appearing in its root (the
#      time from qemu's start, printed, and its size), nothing written into the runtimes'
#      state dirs on the NFS root itself, and `rpinet status --json`; e2e/check.py judges
#      all three rounds.
#
# E2E_STORAGE=server: the roots and volumes live on an NFS server of their own instead of
# the router's SSD (storage_server/storage_export): nfs-ganesha in a namespace of its own at
# 10.99.0.10 on the router's LAN, exporting exactly what `rpinet storage exports` prints; the
# router keeps DHCP and TFTP. This kernel has no NFS client, so the router's mount of the
# export is its mount table's line (as in tests/nfs_server.rs) over the directory the server
# exports; the nodes' kernels mount their roots, boot dirs and volumes from the server.
# Nodes on a server have copied roots (an overlay's upper cannot be on NFS).
#
# Traffic stays inside the lab's namespaces (10.99.0.0/24). Needs root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cache=${RPINET_E2E_CACHE:-/var/cache/rpinet-e2e}
rpinet=${RPINET:-$repo/target/debug/rpinet}
lab_sh=$repo/scripts/lab.sh
styles=("$@")
# What shapes the images: a cached image made from other files is built again.
recipe=$(cat "$here/image.sh" "$here/oci.py" "$here"/pios/* | sha256sum | cut -c1-16)
[ ${#styles[@]} -gt 0 ] || styles=(bookworm trixie)
[ "$(id -u)" = 0 ] || { echo "e2e: needs root (namespaces, qemu, NFS server)" >&2; exit 1; }
mkdir -p "$cache"
# KVM when it really runs a kernel (a nested /dev/kvm may exist and boot nothing): the
# kernel must print its banner within 20 s. Else TCG.
kvm_works() { # kernel
  [ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
  timeout 20 qemu-system-x86_64 -accel kvm -m 256 -display none -nodefaults -no-reboot \
    -kernel "$1" -append "console=ttyS0 earlyprintk=ttyS0 panic=-1" -serial stdio 2>/dev/null |
    grep -q -m 1 "Linux version"
}
password=e2e-secret
hash=$(openssl passwd -6 "$password")
nodes=(lion tiger)
declare -A mac=([lion]=dc:a6:32:00:12:01 [tiger]=dc:a6:32:00:12:02)
declare -A serial=([lion]=e2e00001 [tiger]=e2e00002)
declare -A ip=([lion]=10.99.0.51 [tiger]=10.99.0.52)
# The container runtime each style's image has (e2e/image.sh).
declare -A runtime=([bookworm]=docker [trixie]=containerd)
# The runtimes' state dirs rpinet binds onto the volume: on the NFS root they stay empty.
state_dirs="docker containerd rancher kubelet k0s"

lab=""
cleanup() {
  [ -n "$lab" ] && [ -f "$lab/lab.env" ] && "$lab_sh" down "$lab" >/dev/null 2>&1 || true
}
trap cleanup EXIT

say() { echo "e2e: $*"; }

storage=${E2E_STORAGE:-router}
server_ip=10.99.0.10 server_export=/srv/rpinet
[ "$storage" = router ] || [ "$storage" = server ] || { echo "e2e: E2E_STORAGE: router or server" >&2; exit 1; }
[ "$storage" = router ] || [ "${E2E_ROOT_MODE:-copy}" = copy ] ||
  { echo "e2e: a server's nodes have copied roots (E2E_ROOT_MODE=copy)" >&2; exit 1; }
root_mode=${E2E_ROOT_MODE:-$([ "$storage" = server ] && echo copy || echo shared)}

# What the exports of the NFS server are, as lines "PATH CLIENT(OPTIONS)": the rpinet block
# of the router's /etc/exports, or what `rpinet storage exports` tells the server to export.
exports_lines() { # lab
  if [ "$storage" = server ]; then
    "$rpinet" --root "$1" storage exports | grep -v '^#'
  else
    sed -n '/^# BEGIN rpinet/,/^# END rpinet/p' "$1/etc/exports" | grep -v '^#'
  fi
}

# Those exports as nfs-ganesha's (NFSv3, each to its client only).
ganesha_conf() { # lab
  local id=0 path client
  cat <<'EOF'
NFS_CORE_PARAM { Protocols = 3; Enable_NLM = false; Enable_RQUOTA = false; }
NFSV4 { Graceless = true; }
LOG { Default_Log_Level = WARN; }
EOF
  exports_lines "$1" |
    while read -r path client; do
      id=$((id + 1))
      client=${client%%(*}
      cat <<EOF
EXPORT {
  Export_Id = $id; Path = "$path"; Pseudo = "$path"; Protocols = 3; Transports = UDP, TCP;
  Access_Type = NONE; Squash = No_Root_Squash; SecType = sys;
  FSAL { Name = VFS; }
  CLIENT { Clients = $client; Access_Type = RW; }
}
EOF
    done
}

# In the router's namespace, the storage at /mnt/rpinet; on a server, in the server's, the
# same directory at the export's path.
ganesha_start() { # lab
  local conf=$lab/ganesha.conf ns top=/mnt
  ganesha_conf "$lab" >"$conf"
  ns=$(. "$lab/lab.env"; echo "$LAB_PREFIX-r")
  [ "$storage" = router ] || { ns=$server_ns top=${server_export%/*}; }
  ip netns exec "$ns" unshare -m --propagation private sh -ec '
    lab=$1 top=$2 at=$3
    # node overlays of other labs: not held in use from here (scripts/lab.sh: dnsmasq-start)
    while read -r _ m t _; do
      case "$t:$m" in "overlay:$lab/"*) ;; overlay:*/mnt/rpinet/nfs/*) echo "$m" ;; esac
    done </proc/self/mounts | sort -r | while read -r m; do umount -l "$m"; done
    mount -t tmpfs -o mode=755 e2e-run /run
    mkdir -p /run/rpcbind /run/ganesha
    mount -t tmpfs -o mode=755 e2e-nfs /var/lib/nfs
    mount -t tmpfs -o mode=755 e2e-mnt "$top"
    mkdir "$at"
    mount --rbind "$lab/mnt/rpinet" "$at"
    rpcbind -f -w &
    echo $! >"$lab/rpcbind.pid"
    exec ganesha.nfsd -F -L "$lab/ganesha.log" -f "$lab/ganesha.conf" -p /run/ganesha/ganesha.pid
  ' e2e-nfs "$lab" "$top" "$([ "$storage" = router ] && echo /mnt/rpinet || echo "$server_export")" \
    >"$lab/ganesha.out" 2>&1 </dev/null &
  echo $! >"$lab/ganesha.pid"
  disown
  sleep 3
  kill -0 "$(cat "$lab/ganesha.pid")" || { cat "$lab/ganesha.out" "$lab/ganesha.log" >&2; return 1; }
}

# nfs-ganesha resolves each export's path once, when it starts: after a reimage swapped the
# node's root directory, it would hand out the old (deleted) one — stale file handles. It
# is restarted, as knfsd's mountd resolves the path at every mount.
ganesha_stop() { # lab
  local f p
  for f in "$1/ganesha.pid" "$1/rpcbind.pid"; do
    [ -f "$f" ] || continue
    p=$(cat "$f")
    kill "$p" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    rm -f "$f"
  done
}

# Boot events, as the router records them (what `status` traces a boot from): dnsmasq's
# --dhcp-script runs `rpinet event dhcp|tftp` (scripts/lab.sh hooks).
install_hooks() { # lab
  "$lab_sh" hooks "$1" "$rpinet"
}

# qemu loads the kernel and initramfs from the node's TFTP dir itself, where a Pi's loader
# fetches them over TFTP: the transfers the loader makes are recorded as dnsmasq's hook
# would record them, in its order (firmware first: a new boot).
loader_events() { # node
  local n=$1 f dir=$lab/mnt/rpinet/tftp/${serial[$1]}
  for f in start4.elf config.txt cmdline.txt kernel8.img initramfs8; do
    [ -f "$dir/$f" ] || continue
    ACTION=add TFTP_SIZE=$(stat -c %s "$dir/$f") TFTP_ADDR=${ip[$n]} \
      TFTP_PATH=/mnt/rpinet/tftp/${serial[$n]}/$f "$rpinet" --root "$lab" event tftp || true
  done
}

# The node's report of the boot started at T0 (date +%s%N; the previous boot's id PREV) as
# the router sees it in the node's root: polled until it is there or qemu is gone, then
# "MILLISECONDS BYTES STATE" into OUT.
watch_report() { # node t0 prev qemu-pid out
  local f=$lab/mnt/rpinet/nfs/$1/var/lib/rpinet/boot-report b
  while kill -0 "$4" 2>/dev/null; do
    if [ -f "$f" ] && b=$(sed -n 's/^boot=//p' "$f" 2>/dev/null) && [ -n "$b" ] && [ "$b" != "$3" ]; then
      echo "$(( ($(date +%s%N) - $2) / 1000000 )) $(stat -c %s "$f") $(sed -n 's/^state=//p' "$f")" >"$5"
      return
    fi
    sleep 0.5
  done
}

boot() { # node round → writes $lab/<node>.<round>.json
  local n=$1 round=$2 r tap="e2e-$1" tftp prev qt0
  r=$(. "$lab/lab.env"; echo "$LAB_PREFIX-r")
  tftp=$lab/mnt/rpinet/tftp/${serial[$n]}
  ip -n "$r" link del "$tap" 2>/dev/null || true
  ip -n "$r" tuntap add "$tap" mode tap
  ip -n "$r" link set "$tap" master br-lan up
  local sock=$lab/$n.console
  rm -f "$sock" "$lab/$n.$round.report"
  prev=$(sed -n 's/^boot=//p' "$lab/mnt/rpinet/nfs/$n/var/lib/rpinet/boot-report" 2>/dev/null || true)
  qt0=$(date +%s%N)
  loader_events "$n"
  ip netns exec "$r" qemu-system-x86_64 "${accel[@]}" -m 1024 -smp 1 -display none \
    -no-reboot -monitor none -nodefaults \
    -kernel "$tftp/kernel8.img" -initrd "$tftp/initramfs8" \
    -append "$(cat "$tftp/cmdline.txt") console=ttyS0 systemd.default_device_timeout_sec=600" \
    -netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" \
    -device "virtio-net-pci,netdev=n0,mac=${mac[$n]}" \
    -chardev "socket,id=s0,path=$sock,server=on,wait=off,logfile=$lab/$n.$round.serial.log" \
    -serial chardev:s0 >"$lab/$n.$round.qemu.log" 2>&1 &
  local qpid=$! t0=$SECONDS
  watch_report "$n" "$qt0" "$prev" "$qpid" "$lab/$n.$round.report" &
  local wpid=$!
  if python3 "$here/console.py" "$sock" pi "$password" "$lab/$n.$round.json" "${runtime[$style]}"; then
    :
  else
    echo "e2e: $n ($round): console session failed; serial log tail:" >&2
    tail -n 40 "$lab/$n.$round.serial.log" >&2 || true
    # What getty and login said (e.g. "can't exec /bin/login"): the node's persistent
    # journal is in its root on the SSD.
    echo "e2e: $n ($round): its journal for the serial getty:" >&2
    journalctl -D "$lab/mnt/rpinet/nfs/$n/var/log/journal" -q --no-pager -o short-monotonic \
      -u serial-getty@ttyS0.service 2>&1 | tail -n 15 >&2 || true
  fi
  for _ in $(seq 1 120); do kill -0 "$qpid" 2>/dev/null || break; sleep 0.5; done
  kill "$qpid" 2>/dev/null || true
  wait "$qpid" 2>/dev/null || true
  wait "$wpid" 2>/dev/null || true
  say "$n ($round): session done in $((SECONDS - t0)) s"
  local ms bytes state
  if read -r ms bytes state <"$lab/$n.$round.report" 2>/dev/null; then
    say "$n ($round): boot report '$state' $((ms / 1000)).$(printf %03d $((ms % 1000))) s after qemu started ($accel_name), $bytes bytes"
  else
    say "$n ($round): no boot report of this boot appeared in its root"
  fi
  # What the NFS root holds in the runtimes' state dirs (the node binds the volume over
  # them) beyond what the image has there: nothing.
  local d img=$lab/mnt/rpinet/images/$style/root
  for d in $state_dirs; do
    (cd "$lab/mnt/rpinet/nfs/$n/var/lib" 2>/dev/null && find "$d" -mindepth 1 2>/dev/null | sort) |
      while read -r p; do [ -e "$img/var/lib/$p" ] || [ -L "$img/var/lib/$p" ] || echo "$p"; done
  done >"$lab/$n.$round.nfs-state" || true
  # The file only this node writes, as the router sees it: in its root; not in the image.
  echo "$(cat "$lab/mnt/rpinet/nfs/$n/var/lib/e2e-owner" 2>/dev/null) image:$(
    [ -e "$img/var/lib/e2e-owner" ] && echo has || echo none)" >"$lab/$n.$round.owner"
}

boot_all() { # round
  local n pids=()
  for n in "${nodes[@]}"; do boot "$n" "$1" & pids+=($!); done
  wait "${pids[@]}"
  # The router's view once both powered off: each node's boot and its report.
  "$rpinet" --root "$lab" status --json >"$lab/status.$1.json" || true
}

provision() { # node extra-args...
  local n=$1; shift
  (cd "$cache" && "$rpinet" --root "$lab" node provision "$n" --image "$style" \
    --user pi --password-hash "$hash" "$@")
}

status=0
run_t0=$SECONDS
for style in "${styles[@]}"; do
  img=$cache/$style.img
  if [ ! -f "$img" ] || [ "$(cat "$img.recipe" 2>/dev/null)" != "$recipe" ]; then
    say "building the $style-style image (cached in $cache)"
    rm -f "$img.recipe"
    "$here/image.sh" "$style" "$img"
    echo "$recipe" >"$img.recipe"
  fi
  if [ -z "${accel_name:-}" ]; then
    kernel=$(mktemp "$cache/.kernel.XXXXXX")
    mcopy -n -i "$img@@4194304" ::kernel8.img "$kernel"
    if kvm_works "$kernel"; then accel=(-accel kvm -cpu host) accel_name=kvm; else accel=(-accel tcg) accel_name=tcg; fi
    rm -f "$kernel"
  fi
  lab=$(mktemp -d "$cache/lab-$style.XXXXXX")
  "$lab_sh" up "$lab" >/dev/null
  say "$style: lab in $lab, qemu-system-x86_64 with $accel_name, $root_mode roots on the $storage"
  # A default volume size in the main section; tiger sets its own. The roots: shared (the
  # image's root under each node's own overlay) unless E2E_ROOT_MODE says copy.
  printf "\toption volume_size '1G'\n\toption root_mode '%s'\n" "$root_mode" >>"$lab/etc/config/rpinet"
  if [ "$storage" = server ]; then
    # the server on the LAN, and the router's storage its export, mounted (the table's line)
    server_ns=$("$lab_sh" client "$lab" nas 02:00:0a:63:00:0a)
    ip -n "$server_ns" addr add "$server_ip/24" dev eth0
    sed -i '/option storage_uuid/d' "$lab/etc/config/rpinet"
    printf "\toption storage_server '%s'\n\toption storage_export '%s'\n" "$server_ip" "$server_export" \
      >>"$lab/etc/config/rpinet"
    sed -i "s|^/dev/sda1 /mnt/rpinet ext4 rw 0 0\$|$server_ip:$server_export /mnt/rpinet nfs rw,nosuid,nodev,vers=3,proto=tcp,addr=$server_ip 0 0|" \
      "$lab/proc/mounts"
  fi
  "$rpinet" --root "$lab" node add lion --serial "${serial[lion]}" --mac "${mac[lion]}" --ip "${ip[lion]}"
  "$rpinet" --root "$lab" node add tiger --serial "${serial[tiger]}" --mac "${mac[tiger]}" --ip "${ip[tiger]}" --volume-size 2G
  t0=$SECONDS
  (cd "$cache" && "$rpinet" --root "$lab" image import "$style.img" --name "$style")
  say "$style: imported in $((SECONDS - t0)) s"
  # Every file's access time a day after the epoch, before any node uses the image (no
  # overlay is over it yet): after the first boot, the files read are those with a newer one
  # (relatime updates an access time older than its change). bench/shared.sh reads that list.
  find "$lab/mnt/rpinet/images/$style/root" -xdev -type f -exec touch -a -d @86400 {} +
  for n in "${nodes[@]}"; do provision "$n"; done
  "$rpinet" --root "$lab" apply >/dev/null
  if [ "$storage" = server ]; then
    # the router exports nothing: the server does
    { [ ! -f "$lab/etc/exports" ] || sed -n '/^# BEGIN rpinet/,/^# END rpinet/p' "$lab/etc/exports"; } |
      { grep -v '^#' || true; } >"$lab/router-exports"
    say "$style: the server exports $(exports_lines "$lab" | wc -l) trees; the router $(wc -l <"$lab/router-exports")"
  fi
  install_hooks "$lab"
  "$lab_sh" dnsmasq-start "$lab" >/dev/null
  ganesha_start "$lab"
  t0=$SECONDS
  boot_all first
  say "$style: first boots (two at once) in $((SECONDS - t0)) s"
  # The files lion's first boot read: those its processes have mapped once it is up (console
  # probe `mapped`: executables, libraries) and those whose access time moved (a copy's; an
  # overlay reads its lower with O_NOATIME), each once, when the image has them. Recorded
  # from shared roots on the router only: a fresh copy's files all have new access times.
  if [ "$storage/$root_mode" = router/shared ]; then
    {
      python3 -c 'import json, sys; print("\n".join(p[1:] for p in json.load(open(sys.argv[1])).get("mapped", "").split("|") if p.startswith("/")))' "$lab/lion.first.json" 2>/dev/null || true
      (cd "$lab/mnt/rpinet/nfs/lion" && find . -xdev -type f -newerat @172800 -printf '%P\n') || true
    } | sort -u | while read -r f; do [ -f "$lab/mnt/rpinet/images/$style/root/$f" ] && echo "$f"; done \
      >"$cache/$style.boot-files" || true
    say "$style: lion's first boot read $(wc -l <"$cache/$style.boot-files") files of its root ($cache/$style.boot-files)"
  fi
  t0=$SECONDS
  boot_all reboot
  say "$style: reboots (nothing changed) in $((SECONDS - t0)) s"
  # Reimage: lion keeps who it is, tiger asks for a new identity; tiger's volume grows.
  provision lion
  provision tiger --new-identity --volume-size 3G
  ganesha_stop "$lab"
  ganesha_start "$lab"
  t0=$SECONDS
  boot_all reimage
  say "$style: boots after the reimage in $((SECONDS - t0)) s"
  "$rpinet" --root "$lab" node show tiger
  "$lab_sh" down "$lab" >/dev/null
  if E2E_NFS=$([ "$storage" = router ] && echo 10.99.0.1:/mnt/rpinet || echo "$server_ip:$server_export") \
    python3 "$here/check.py" "$style" "$lab"; then
    rm -rf "$lab"
  else
    status=1
    say "$style: the lab is kept for a look: $lab (serial logs: $lab/*.serial.log)"
  fi
  lab=""
done
say "total: $((SECONDS - run_t0)) s for ${styles[*]}"
exit $status
