#!/usr/bin/env bash
# Benchmark: a boot storm. N simulated Pi 4s (tools/pisim, one network namespace each) power
# on together and netboot through the real Debian dnsmasq with the config `rpinet apply`
# writes, its dhcp-script wired to `rpinet event` as OpenWrt's hotplug hooks do, from boot
# dirs holding files of the real sizes (sparse: no disk is filled).
#
#   bench/storm.sh                     the whole matrix (long: ~80 runs)
#   STORM_N="10 100" STORM_INITRAMFS="no yes" STORM_TIMEOUT="30000 5000" \
#   STORM_RESEND="yes no" STORM_REPEAT=2 STORM_TFTP_MAX="" bench/storm.sh
#
# STORM_ATTEMPTS (default 1): boots a Pi tries before it gives up; above 1 a Pi whose boot
# failed (a file timed out) starts again from DHCP, as one with the EEPROM settings rpinet
# recommends does (NET_BOOT_MAX_RETRIES=-1, BOOT_ORDER ending in f). "boots tried" is the most
# any Pi needed.
# STORM_TFTP_MAX, when set, replaces the tftp-max rpinet wrote (e.g. 50, dnsmasq's default,
# to show the collapse). One table row per run: booted, wall time to the last Pi, per-Pi
# median/p95/max, aggregate MB/s, dnsmasq CPU, hook CPU (the dhcp-script and rpinet event),
# hook events lost, duplicate transfers, and trace mismatches (nodes whose `status` stage is
# not what their Pi fetched). Needs root, ip netns and dnsmasq. Not a test: numbers depend on
# the machine.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
ns=${STORM_N:-1 10 25 50 100}
initramfs_set=${STORM_INITRAMFS:-no yes}
timeouts=${STORM_TIMEOUT:-30000 5000}
resends=${STORM_RESEND:-yes no}
repeat=${STORM_REPEAT:-2}
tftp_max=${STORM_TFTP_MAX:-}
attempts=${STORM_ATTEMPTS:-1}

[ "$(id -u)" = 0 ] || { echo "bench-storm: needs root (network namespaces)" >&2; exit 1; }
cargo build --release --quiet --workspace --manifest-path "$here/Cargo.toml"
bin="$here/target/release/rpinet"
pisim="$here/target/release/pisim"
lab_sh="$here/scripts/lab.sh"
work=$(mktemp -d /tmp/rpinet-storm.XXXXXX)
lab=""
cleanup() {
    [ -n "$lab" ] && [ -f "$lab/lab.env" ] && "$lab_sh" down "$lab" >/dev/null 2>&1 || true
    [ -n "${BENCH_KEEP:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT

# clock ticks of a process (user+system) and of its reaped children
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
child_ticks() { awk '{print $16 + $17}' "/proc/$1/stat" 2>/dev/null || echo 0; }
hz=$(getconf CLK_TCK)

# files of a Pi 4 boot dir, real sizes (Raspberry Pi OS bookworm)
fill() { # dir serial
    local d=$1
    mkdir -p "$d/overlays"
    truncate -s 2228768 "$d/start4.elf"
    truncate -s 5399 "$d/fixup4.dat"
    printf 'arm_64bit=1\nauto_initramfs=1\n# %s\n' "$2" > "$d/config.txt"
    truncate -s 56393 "$d/bcm2711-rpi-4-b.dtb"
    truncate -s 5334 "$d/overlays/overlay_map.dtb"
    echo "console=serial0,115200 root=/dev/nfs nfsroot=10.99.0.1:/mnt/rpinet/nfs/$2,vers=3 rw ip=dhcp rootwait" > "$d/cmdline.txt"
    truncate -s 9313791 "$d/kernel8.img"
    truncate -s 12582912 "$d/initramfs8"
}

run_point() { # n initramfs timeout_ms resend rep
    local n=$1 initrd=$2 tmo=$3 resend=$4 rep=$5
    lab="$work/lab-$n-$initrd-$tmo-$resend-$rep"
    "$lab_sh" up "$lab" >/dev/null
    # shellcheck disable=SC1091
    . "$lab/lab.env"
    {
        for i in $(seq 0 $((n - 1))); do
            printf "config node 'p%d'\n\toption serial '%08x'\n\toption mac 'dc:a6:32:5a:%02x:%02x'\n\n" \
                "$i" $((0x5a000000 + i)) $((i >> 8)) $((i & 255))
        done
    } >> "$lab/etc/config/rpinet"
    for i in $(seq 0 $((n - 1))); do fill "$lab/mnt/rpinet/tftp/$(printf %08x $((0x5a000000 + i)))" "p$i"; done
    "$bin" --root "$lab" apply >/dev/null
    local conf="$lab/tmp/dnsmasq.d/rpinet.conf"
    if [ -n "$tftp_max" ]; then sed -i "s/^tftp-max=.*/tftp-max=$tftp_max/" "$conf"; fi
    local slots
    slots=$(sed -n 's/^tftp-max=//p' "$conf")
    # dnsmasq's dhcp-script: OpenWrt's dhcp-script.sh with rpinet's hotplug hooks inlined
    "$lab_sh" hooks "$lab" "$bin"
    local dpid helper
    dpid=$("$lab_sh" dnsmasq-start "$lab")
    helper=$(pgrep -P "$dpid" | head -n1 || true)
    [ -n "${STORM_DEBUG:-}" ] && echo "dnsmasq $dpid helper ${helper:-none}: $(ps -o pid,ppid,comm --ppid "$dpid" | tr "\n" " ")" >&2
    for i in $(seq 0 $((n - 1))); do
        "$lab_sh" client "$lab" "p$i" "$(printf 'dc:a6:32:5a:%02x:%02x' $((i >> 8)) $((i & 255)))" >/dev/null
    done
    local out="$lab/out"; mkdir -p "$out"
    local d0 h0 t0
    d0=$(ticks "$dpid"); h0=$(( $(ticks "${helper:-$dpid}") + $(child_ticks "${helper:-$dpid}") ))
    # every Pi waits on one file, then all start at once
    for i in $(seq 0 $((n - 1))); do
        ip netns exec "$LAB_PREFIX-c-p$i" sh -c '
            while [ ! -e "$1/go" ]; do sleep 0.005; done
            a=$(date +%s%N) k=0
            while [ $k -lt "$8" ]; do
                k=$((k + 1))
                "$2" --iface eth0 --kind pi4 --serial "$3" --file-timeout-ms "$4" --resend "$5" \
                    --initramfs "$6" --tftp-retries 1000 >"$1/$7.json" 2>>"$1/$7.err" && break
            done
            echo "$? $(( ($(date +%s%N) - a) / 1000000 )) $k" >"$1/$7.done"
        ' storm "$out" "$pisim" "$(printf %08x $((0x5a000000 + i)))" "$tmo" "$resend" "$initrd" "p$i" \
            "$attempts" &
    done
    sleep 0.5
    t0=$(date +%s%N)
    touch "$out/go"
    wait
    local wall_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    local d1
    d1=$(ticks "$dpid")
    # let the script queue drain: the event log stops growing
    local last=-1 cur=0 k
    for k in $(seq 1 120); do
        cur=$( { cat "$lab/tmp/rpinet/events.log" "$lab/tmp/rpinet/events.log.1" 2>/dev/null || true; } | wc -l)
        [ "$cur" = "$last" ] && break
        last=$cur; sleep 1
    done
    local h1
    h1=$(( $(ticks "${helper:-$dpid}") + $(child_ticks "${helper:-$dpid}") ))
    cp "$lab/tmp/dnsmasq.log" "$lab/tmp/rpinet/logread.txt"
    "$bin" --root "$lab" status --json > "$lab/status.json"
    "$lab_sh" down "$lab" >/dev/null 2>&1 || true
    python3 - "$lab" "$n" "$initrd" "$tmo" "$resend" "$rep" "$wall_ms" \
        "$(( (d1 - d0) * 1000 / hz ))" "$(( (h1 - h0) * 1000 / hz ))" "$slots" <<'PY'
import json, os, sys, statistics
lab, n, initrd, tmo, resend, rep, wall, dcpu, hcpu, slots = sys.argv[1:]
n = int(n); out = os.path.join(lab, "out")
booted, kernels, times, total_bytes, fetched, asked, tries = 0, 0, [], 0, {}, 0, 0
for i in range(n):
    name = f"p{i}"
    code, ms, k = open(os.path.join(out, name + ".done")).read().split()
    times.append(int(ms))
    tries = max(tries, int(k))
    try:
        rep_ = json.load(open(os.path.join(out, name + ".json")))
    except Exception:
        rep_ = {}
    files = rep_.get("files", [])
    ok = [f for f in files if f.get("status") == "ok" and not f.get("probe")]
    total_bytes += sum(f.get("bytes", 0) for f in ok)
    # dnsmasq reports an early-terminated size probe as "sent" too
    asked += len(ok) + sum(1 for f in files if f.get("probe") and f.get("status") == "ok")
    names = {f["path"].split("/", 1)[-1] for f in ok}
    need_initrd = initrd == "yes"
    # pisim's exit 0: the kernel came (initramfs8 is optional to the firmware, not to "booted")
    kernels += code == "0"
    up = code == "0" and (not need_initrd or "initramfs8" in names)
    booted += up
    # what the trace must say: kernel when kernel8.img came, firmware for start4.elf, else dhcp
    fetched[name] = "kernel" if "kernel8.img" in names else "firmware" if any(
        x.startswith("start4") or x == "config.txt" for x in names) else "dhcp" if rep_.get("lease") or files else "none"
status = json.load(open(os.path.join(lab, "status.json")))
stage = {x["name"]: x["boot"]["stage"] for x in status["nodes"]}
mismatch = sum(1 for k, v in fetched.items() if stage.get(k) != v)
log = []
for f in ("events.log.1", "events.log"):
    p = os.path.join(lab, "tmp/rpinet", f)
    if os.path.exists(p):
        log += open(p).read().splitlines()
events = sum(1 for l in log if "\ttftp\t" in l)
dl = open(os.path.join(lab, "tmp/dnsmasq.log"), errors="replace").read().splitlines()
sent = sum(1 for l in dl if "dnsmasq-tftp" in l and ": sent " in l)
failed = sum(1 for l in dl if "dnsmasq-tftp" in l and "failed sending" in l)
# transfers dnsmasq finished beyond the files the Pis received: duplicates of re-sent requests
dups = max(0, sent - asked)
wall_s = int(wall) / 1000
q = sorted(times)
p95 = q[min(len(q) - 1, int(round(0.95 * (len(q) - 1))))]
mbs = total_bytes / 1e6 / wall_s if wall_s else 0
print(f"| {n:>3} | {initrd:>3} | {int(tmo)//1000:>2} s | {resend:>3} | {slots:>4} | {rep} | {booted:>3}/{n:<3} | {wall_s:6.1f} | "
      f"{statistics.median(q)/1000:5.1f} / {p95/1000:5.1f} / {q[-1]/1000:5.1f} | {mbs:6.1f} | {int(dcpu)/1000:5.1f} | {int(hcpu)/1000:5.1f} | "
      f"{max(0, sent - events):>4} | {dups:>4} | {failed:>4} | {mismatch:>3} | {kernels:>3} | {tries:>2} |", flush=True)
PY
    [ -n "${BENCH_KEEP:-}" ] || rm -rf "$lab"; lab=""
}

echo "| N | initramfs | timeout | resend | tftp-max | run | booted | wall s | per Pi s median / p95 / max | MB/s | dnsmasq CPU s | hook CPU s | events lost | dup transfers | failed sending | trace mismatches | kernel loaded | boots tried |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for n in $ns; do
    for initrd in $initramfs_set; do
        for tmo in $timeouts; do
            for resend in $resends; do
                for rep in $(seq 1 "$repeat"); do
                    run_point "$n" "$initrd" "$tmo" "$resend" "$rep"
                done
            done
        done
    done
done
