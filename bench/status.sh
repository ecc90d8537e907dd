#!/usr/bin/env bash
# Benchmark: `rpinet call status` (the rpcd exec-plugin path LuCI polls) on a
# --root lab with 100 nodes and a full boot-event log, plus `rpinet event`
# (what each dnsmasq hook costs) and the event log's size bound; then again with every node's
# boot report in its root (the cost of reading and judging them).
#
#   bench/status.sh [CALLS] [NODES]   (default 50 calls, 100 nodes; release build)
#
# Prints wall time per call (mean and worst), peak RSS of one call, and the
# log's size. Not a test: numbers depend on the machine.
set -euo pipefail

calls=${1:-50}
nodes=${2:-100}
here=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$here/Cargo.toml"
bin="$here/target/release/rpinet"
lab=$(mktemp -d /tmp/rpinet-bench.XXXXXX)
if [ -n "${BENCH_KEEP:-}" ]; then echo "lab kept in $lab"; else trap 'rm -rf "$lab"' EXIT; fi

uuid=6a1f0000-0000-0000-0000-0000000000be
mkdir -p "$lab/etc/config" "$lab/dev" "$lab/proc/100/root/mnt/rpinet/tftp" "$lab/var/etc" \
         "$lab/tmp/dnsmasq.cfg01411c.d" "$lab/tmp/rpinet" "$lab/var/lib/nfs" "$lab/proc/200"
printf "config interface 'lan'\n\toption proto 'static'\n\toption ipaddr '192.168.1.1'\n\toption netmask '255.255.255.0'\n" \
    > "$lab/etc/config/network"
printf "config dnsmasq\n\toption domain 'lan'\n\nconfig dhcp 'lan'\n\toption interface 'lan'\n" > "$lab/etc/config/dhcp"
printf "conf-dir=/tmp/dnsmasq.cfg01411c.d\n" > "$lab/var/etc/dnsmasq.conf.cfg01411c"
printf "/dev/root / squashfs ro 0 0\n/dev/sda1 /mnt/rpinet ext4 rw 0 0\n" > "$lab/proc/mounts"
truncate -s 4M "$lab/dev/sda1"
mkfs.ext4 -q -F -U "$uuid" "$lab/dev/sda1"
echo dnsmasq > "$lab/proc/100/comm"
printf '/usr/sbin/dnsmasq\0-C\0/var/etc/dnsmasq.conf.cfg01411c\0' > "$lab/proc/100/cmdline"
echo nfsd > "$lab/proc/200/comm"

# 100 nodes: config, boot files, root fs bits, exports
{
    printf "config rpinet 'main'\n\toption storage_uuid '%s'\n\toption storage_path '/mnt/rpinet'\n\n" "$uuid"
    for i in $(seq 0 $((nodes - 1))); do
        printf "config node 'node_%02d'\n\toption serial '%08x'\n\toption mac 'dc:a6:32:00:%02x:%02x'\n\toption model 'pi4'\n\n" \
            "$i" $((0x91cd0000 + i)) $((i >> 8)) $((i & 255))
    done
} > "$lab/etc/config/rpinet"
{
    echo "# BEGIN rpinet"
    for i in $(seq 0 $((nodes - 1))); do
        serial=$(printf %08x $((0x91cd0000 + i)))
        t="$lab/mnt/rpinet/tftp/$serial"; n="$lab/mnt/rpinet/nfs/node_$(printf %02d "$i")"
        mkdir -p "$t/overlays" "$n/etc"
        for f in start4.elf fixup4.dat config.txt kernel8.img initramfs8 bcm2711-rpi-4-b.dtb; do echo x > "$t/$f"; done
        echo "root=/dev/nfs nfsroot=192.168.1.1:/mnt/rpinet/nfs/node_$(printf %02d "$i"),vers=3 rw ip=dhcp rootwait" > "$t/cmdline.txt"
        echo "proc /proc proc defaults 0 0" > "$n/etc/fstab"
        echo "VERSION_CODENAME=bookworm" > "$n/etc/os-release"
        echo "/mnt/rpinet/nfs/node_$(printf %02d "$i") 192.168.1.0/24(rw,sync,no_subtree_check,no_root_squash)"
        echo "/mnt/rpinet/tftp/$serial 192.168.1.0/24(rw,sync,no_subtree_check,no_root_squash)"
    done
    echo "# END rpinet"
} > "$lab/etc/exports"
cp "$lab/etc/exports" "$lab/var/lib/nfs/etab"

# A full event log: whole Pi 4 boots (as dnsmasq's hooks record them) for all
# nodes, round after round, through `rpinet event` until it has rotated.
t0=$(date +%s%N)
n_events=0
boot() { # node index, time
    local i=$1 serial ip mac
    serial=$(printf %08x $((0x91cd0000 + i))); ip="192.168.$((1 + i / 200)).$((20 + i % 200))"
    mac=$(printf 'dc:a6:32:00:%02x:%02x' $((i >> 8)) $((i & 255)))
    ACTION=add MACADDR=$mac IPADDR=$ip HOSTNAME= DNSMASQ_VENDOR_CLASS=PXEClient:Arch:00000:UNDI:002001 \
        "$bin" --root "$lab" event dhcp
    for f in start4.elf config.txt start4.elf fixup4.dat config.txt config.txt initramfs8 \
             bcm2711-rpi-4-b.dtb overlays/overlay_map.dtb config.txt cmdline.txt kernel8.img; do
        ACTION=add TFTP_SIZE=1024 TFTP_ADDR=$ip TFTP_PATH=/mnt/rpinet/tftp/$serial/$f "$bin" --root "$lab" event tftp
    done
    ACTION=update MACADDR=$mac IPADDR=$ip HOSTNAME=node-$i DNSMASQ_VENDOR_CLASS=dhcpcd-10.0.6:Linux \
        "$bin" --root "$lab" event dhcp
    n_events=$((n_events + 14))
}
# until the log has rotated and the current file is nearly full again
boots=0
size() { stat -c %s "$lab/tmp/rpinet/events.log" 2>/dev/null || echo 0; }
while [ ! -e "$lab/tmp/rpinet/events.log.1" ] || [ "$(size)" -lt $((192 * 1024 - 2048)) ]; do
    boot $((boots % nodes)); boots=$((boots + 1))
done
round=$(( (boots + nodes - 1) / nodes ))
t1=$(date +%s%N)
log_bytes=$(( $(stat -c %s "$lab/tmp/rpinet/events.log") + $(stat -c %s "$lab/tmp/rpinet/events.log.1" 2>/dev/null || echo 0) ))
log_lines=$(cat "$lab/tmp/rpinet/events.log.1" "$lab/tmp/rpinet/events.log" 2>/dev/null | wc -l)

# status through the rpcd exec-plugin path
"$bin" --root "$lab" call status </dev/null > "$lab/status.json"
grep -q '"stage":"up"' "$lab/status.json" || { echo "bench: no node reached up" >&2; exit 1; }
worst=0; total=0
for _ in $(seq 1 "$calls"); do
    a=$(date +%s%N)
    echo '{"ubus_rpc_session":"x"}' | "$bin" --root "$lab" call status > /dev/null
    b=$(date +%s%N)
    d=$(( (b - a) / 1000 )); total=$((total + d)); [ "$d" -gt "$worst" ] && worst=$d
done
rss=$( { /usr/bin/time -f '%M' "$bin" --root "$lab" call status </dev/null >/dev/null; } 2>&1 | tail -1)
# CPU time per call (less sensitive than wall time to other load on the machine)
cpu=""; core_cpu=""
if command -v perf >/dev/null; then
    cpu=$(perf stat -r "$calls" -x, -e task-clock "$bin" --root "$lab" call status </dev/null 2>&1 >/dev/null | awk -F, '/task-clock/ {print $1}')
    core_cpu=$(perf stat -r "$calls" -x, -e task-clock "$bin" --root "$lab" status --json </dev/null 2>&1 >/dev/null | awk -F, '/task-clock/ {print $1}')
fi
reply_bytes=$(wc -c < "$lab/status.json")

printf 'event log: %d events written in %d boots (%d rounds of the '"$nodes"' nodes); holds %d lines, %d bytes (bound %d)\n' \
    "$n_events" "$boots" "$round" "$log_lines" "$log_bytes" $((2 * 192 * 1024))
printf 'rpinet event: %.2f ms per call (mean over %d)\n' "$(echo "($t1 - $t0) / $n_events / 1000000" | bc -l)" "$n_events"
printf 'rpinet call status ('"$nodes"' nodes, full log): mean %.2f ms, worst %.2f ms over %d calls; reply %d bytes\n' \
    "$(echo "$total / $calls / 1000" | bc -l)" "$(echo "$worst / 1000" | bc -l)" "$calls" "$reply_bytes"
printf 'peak RSS of one call: %d KiB\n' "$rss"
[ -n "$cpu" ] && printf 'CPU time per call: call status %s ms (of which the core'"'"'s status --json alone: %s ms)\n' "$cpu" "$core_cpu"

# Every node's own report of its last boot (what rpinet-report writes into its root), then the
# same status calls: the cost of reading and judging the reports.
for i in $(seq 0 $((nodes - 1))); do
    d="$lab/mnt/rpinet/nfs/node_$(printf %02d "$i")/var/lib/rpinet"
    mkdir -p "$d"
    {
        echo "rpinet-boot-report 1"; echo "state=running"; echo "mode=multi-user"
        echo "boot=0123456789abcdef0123456789abcdef"; echo "kernel=6.6.51+rpt-rpi-v8"
        echo "initrd_us=2481000"; echo "userspace_us=7930000"; echo "finish_us=41200000"
        echo "multi_user_us=40100000"
        for w in 1 2 3 4 5 6 7 8 9 10; do echo "warning=kernel: a warning line of the kind a boot has, number $w"; done
        echo "volume=active ext4"; echo "runtime=containerd active enabled"; echo "runtime=k3s-agent active enabled"
    } > "$d/boot-report"
done
report_bytes=$(stat -c %s "$lab/mnt/rpinet/nfs/node_00/var/lib/rpinet/boot-report")
"$bin" --root "$lab" call status </dev/null > "$lab/status-reports.json"
grep -q '"stage":"running"' "$lab/status-reports.json" || { echo "bench: no node reached running" >&2; exit 1; }
if command -v perf >/dev/null; then
    cpu_r=$(perf stat -r "$calls" -x, -e task-clock "$bin" --root "$lab" call status </dev/null 2>&1 >/dev/null | awk -F, '/task-clock/ {print $1}')
    printf 'CPU time per call with every node'"'"'s boot report (%d bytes each): call status %s ms (without: %s ms; the reports: %.2f ms)\n' \
        "$report_bytes" "$cpu_r" "$cpu" "$(echo "$cpu_r - $cpu" | bc -l)"
fi
printf 'load average while measuring: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
