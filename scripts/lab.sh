#!/usr/bin/env bash
# rpinet's network-boot lab: an OpenWrt-like router in network namespaces.
#
#   lab.sh up DIR [--dhcp-mode server|proxy] [--match registered|any-pi] [--no-ssd] [--lan-ignore]
#       Make the namespaces (router with its br-lan bridge, a spare namespace for a
#       separate DHCP server) and lay out the router's --root tree in DIR.
#   lab.sh client DIR NAME MAC     a client namespace whose eth0 (MAC) is a br-lan port
#   lab.sh run DIR NAME CMD...     run CMD in client NAME's namespace
#   lab.sh client-del DIR NAME
#   lab.sh dnsmasq-start DIR       the router's dnsmasq (Debian's), in its jail-like view
#   lab.sh dnsmasq-stop DIR
#   lab.sh dnsmasq-pid DIR
#   lab.sh dhcpd-start DIR         a separate DHCP server (another dnsmasq) in the third
#   lab.sh dhcpd-stop DIR          namespace, for dhcp_mode proxy
#   lab.sh hooks DIR BIN           record boot events as the router does: dnsmasq's
#                                  dhcp-script runs BIN's `event dhcp|tftp` (copied into DIR)
#   lab.sh down DIR                stop everything, delete the namespaces and unmount the
#                                  shared roots' overlays under DIR (DIR is kept)
#
# Addresses (10.99.0.0/24) exist only inside the lab's namespaces; every namespace name
# starts with a prefix unique to the lab, so labs can run side by side.
#
# The router's files name router paths (/mnt/rpinet, /tmp/dnsmasq.d), as on OpenWrt. The
# router's dnsmasq therefore runs in a private mount namespace where DIR/mnt/rpinet is
# /mnt/rpinet (only when DIR/proc/mounts says the SSD is mounted there) and DIR/tmp is
# /tmp: the view procd's jail gives dnsmasq on the router. DIR itself is /mnt/.lab there.
set -euo pipefail

NET=10.99.0
ROUTER_IP=$NET.1
DHCPD_IP=$NET.2

die() { echo "lab: $*" >&2; exit 1; }

need_dir() {
  [ -n "${1:-}" ] || die "missing DIR"
  [ -f "$1/lab.env" ] || die "$1 is not a lab (no lab.env; run 'lab.sh up $1' first)"
  DIR=$(cd "$1" && pwd)
  # shellcheck disable=SC1091
  . "$DIR/lab.env"
}

router_ns() { echo "$LAB_PREFIX-r"; }
dhcpd_ns() { echo "$LAB_PREFIX-d"; }
client_ns() { echo "$LAB_PREFIX-c-$1"; }

# True while PID runs. A zombie counts as gone: the processes the lab starts are orphaned
# to init, which may be slow to reap them.
alive() {
  local st
  st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# Wait (bounded) for a line in a log file; fail if the process died first.
wait_for_log() { # file pattern pid what
  local i
  for i in $(seq 1 100); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    alive "$3" || return 1
    sleep 0.05
  done
  return 1
}

cmd_up() {
  local dir=${1:-} mode=server match=registered ssd=1 ignore=0
  [ -n "$dir" ] || die "usage: lab.sh up DIR [--dhcp-mode server|proxy] [--match registered|any-pi] [--no-ssd] [--lan-ignore]"
  shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --dhcp-mode) mode=$2; shift 2 ;;
      --match) match=$2; shift 2 ;;
      --no-ssd) ssd=0; shift ;;
      --lan-ignore) ignore=1; shift ;;
      *) die "unknown option $1" ;;
    esac
  done
  case "$mode" in server|proxy) ;; *) die "--dhcp-mode: server or proxy" ;; esac
  case "$match" in registered|any-pi) ;; *) die "--match: registered or any-pi" ;; esac
  mkdir -p "$dir"
  DIR=$(cd "$dir" && pwd)
  [ ! -f "$DIR/lab.env" ] || die "$DIR already holds a lab"

  LAB_PREFIX="rpl$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
  local uuid
  uuid=$(cat /proc/sys/kernel/random/uuid)
  cat >"$DIR/lab.env" <<EOF
LAB_PREFIX=$LAB_PREFIX
LAB_MODE=$mode
LAB_MATCH=$match
LAB_UUID=$uuid
LAB_ROUTER_IP=$ROUTER_IP
LAB_DHCPD_IP=$DHCPD_IP
EOF

  # --- the router's --root tree -------------------------------------------------------
  mkdir -p "$DIR"/{etc/config,var/etc,dev,proc,mnt/rpinet,tmp/dnsmasq.d,tmp/resolv.conf.d,tmp/hosts}
  chmod 1777 "$DIR/tmp"
  chmod 755 "$DIR/mnt/rpinet"
  : >"$DIR/tmp/resolv.conf.d/resolv.conf.auto"

  cat >"$DIR/etc/config/rpinet" <<EOF
config rpinet 'main'
	option enabled '1'
	option storage_uuid '$uuid'
	option storage_path '/mnt/rpinet'
	option interface 'lan'
	option dhcp_mode '$mode'
	option match '$match'
EOF

  cat >"$DIR/etc/config/network" <<EOF
config interface 'loopback'
	option device 'lo'
	option proto 'static'
	option ipaddr '127.0.0.1'
	option netmask '255.0.0.0'

config globals 'globals'
	option ula_prefix 'fd3c:5a1e:99e0::/48'

config device
	option name 'br-lan'
	option type 'bridge'
	list ports 'lan1'
	list ports 'lan2'

config interface 'lan'
	option device 'br-lan'
	option proto 'static'
	option ipaddr '$ROUTER_IP'
	option netmask '255.255.255.0'
	option ip6assign '60'

config interface 'wan'
	option device 'wan'
	option proto 'dhcp'
EOF

  # Stock OpenWrt /etc/config/dhcp (--lan-ignore: DHCP switched off on lan the usual way).
  {
    cat <<'EOF'
config dnsmasq
	option domainneeded '1'
	option boguspriv '1'
	option localise_queries '1'
	option rebind_protection '1'
	option rebind_localhost '1'
	option local '/lan/'
	option domain 'lan'
	option expandhosts '1'
	option authoritative '1'
	option readethers '1'
	option leasefile '/tmp/dhcp.leases'
	option resolvfile '/tmp/resolv.conf.d/resolv.conf.auto'
	option localservice '1'
	option ednspacket_max '1232'
	option logdhcp '1'
EOF
    cat <<'EOF'

config dhcp 'lan'
	option interface 'lan'
	option start '100'
	option limit '150'
	option leasetime '12h'
	option dhcpv4 'server'
EOF
    [ "$ignore" = 1 ] && printf "\toption ignore '1'\n"
    cat <<'EOF'

config dhcp 'wan'
	option interface 'wan'
	option ignore '1'
EOF
  } >"$DIR/etc/config/dhcp"

  # What /etc/init.d/dnsmasq generates from that for the anonymous instance (OpenWrt 23.05
  # paths), minus what Debian's build lacks (ubus) and the WAN device the lab does not have.
  {
    cat <<'EOF'
# auto-generated config file from /etc/config/dhcp
dhcp-authoritative
domain-needed
localise-queries
expand-hosts
bind-dynamic
local-service
edns-packet-max=1232
domain=lan
local=/lan/
addn-hosts=/tmp/hosts
dhcp-leasefile=/tmp/dhcp.leases
resolv-file=/tmp/resolv.conf.d/resolv.conf.auto
stop-dns-rebind
rebind-localhost-ok
dhcp-broadcast=tag:needs-broadcast
log-dhcp
conf-dir=/tmp/dnsmasq.d
bogus-priv
interface=br-lan
EOF
    # OpenWrt has a dnsmasq group; Debian's dnsmasq user is in nogroup.
    echo "user=dnsmasq"
    echo "group=$(id -gn dnsmasq 2>/dev/null || echo nogroup)"
    echo "dhcp-script=/mnt/.lab/dhcp-script.sh"
    # Lab only: dnsmasq pings a new address before offering it and serves no other DHCP
    # packet for those 3 seconds; clients booting side by side would then time out.
    echo "no-ping"
    # The lan pool. dnsmasq.init leaves it out when its udhcpc probe finds another DHCP
    # server on the interface (proxy mode: there is one), and writes no-dhcp-interface
    # instead when the section has ignore '1'.
    if [ "$ignore" = 1 ]; then
      echo "no-dhcp-interface=br-lan"
    elif [ "$mode" = server ]; then
      echo "dhcp-range=set:lan,$NET.100,$NET.249,255.255.255.0,12h"
    fi
  } >"$DIR/var/etc/dnsmasq.conf.cfg01411c"

  # The lab's stand-in for OpenWrt's dhcp-script.sh (which calls hotplug): log each event.
  cat >"$DIR/dhcp-script.sh" <<'EOF'
#!/bin/sh
echo "$*" >>/tmp/dhcp-script.log
EOF
  chmod 755 "$DIR/dhcp-script.sh"

  # The SSD: a UUID-labelled ext4 image named in the mount table. Its files are served from
  # the plain directory DIR/mnt/rpinet.
  truncate -s 8M "$DIR/dev/sda1"
  mkfs.ext4 -q -F -U "$uuid" -L rpinet "$DIR/dev/sda1"
  {
    echo "/dev/root / squashfs ro,relatime 0 0"
    echo "proc /proc proc rw,nosuid,nodev,noexec,noatime 0 0"
    echo "sysfs /sys sysfs rw,nosuid,nodev,noexec,noatime 0 0"
    echo "tmpfs /tmp tmpfs rw,nosuid,nodev,noatime 0 0"
    [ "$ssd" = 1 ] && echo "/dev/sda1 /mnt/rpinet ext4 rw 0 0"
    true
  } >"$DIR/proc/mounts"

  # --- the network --------------------------------------------------------------------
  local r d
  r=$(router_ns); d=$(dhcpd_ns)
  ip netns add "$r"
  ip netns add "$d"
  ip -n "$r" link set lo up
  ip -n "$d" link set lo up
  ip -n "$r" link add br-lan type bridge forward_delay 0 stp_state 0
  ip -n "$r" addr add "$ROUTER_IP/24" dev br-lan
  ip -n "$r" link set br-lan up
  ip -n "$r" link add lan-dhcpd type veth peer name eth0 netns "$d"
  ip -n "$r" link set lan-dhcpd master br-lan up
  ip -n "$d" addr add "$DHCPD_IP/24" dev eth0
  ip -n "$d" link set eth0 up
  echo "lab: up in $DIR (namespaces $LAB_PREFIX-*, dhcp_mode $mode, match $match, ssd $([ "$ssd" = 1 ] && echo mounted || echo absent))"
}

cmd_client() {
  need_dir "${1:-}"
  local name=${2:-} mac=${3:-}
  [[ "$name" =~ ^[a-z0-9]{1,10}$ ]] || die "client name: 1-10 of [a-z0-9]"
  [[ "$mac" =~ ^([0-9a-f]{2}:){5}[0-9a-f]{2}$ ]] || die "client MAC: lowercase aa:bb:cc:dd:ee:ff"
  local r c
  r=$(router_ns); c=$(client_ns "$name")
  ip netns add "$c"
  ip -n "$c" link set lo up
  ip -n "$r" link add "lan-$name" type veth peer name eth0 netns "$c"
  ip -n "$c" link set eth0 address "$mac"
  ip -n "$r" link set "lan-$name" master br-lan up
  ip -n "$c" link set eth0 up
  echo "$c"
}

cmd_run() {
  need_dir "${1:-}"
  local name=${2:-}
  shift 2 || die "usage: lab.sh run DIR NAME CMD..."
  exec ip netns exec "$(client_ns "$name")" "$@"
}

cmd_client_del() {
  need_dir "${1:-}"
  local r
  r=$(router_ns)
  ip -n "$r" link del "lan-$2" 2>/dev/null || true
  ip netns del "$(client_ns "$2")" 2>/dev/null || true
}

cmd_dnsmasq_start() {
  need_dir "${1:-}"
  local r pidf=$DIR/dnsmasq.pid
  r=$(router_ns)
  if [ -f "$pidf" ] && alive "$(cat "$pidf")"; then
    die "dnsmasq already runs (pid $(cat "$pidf"))"
  fi
  local ssd=0
  grep -q '^[^ ]* /mnt/rpinet ' "$DIR/proc/mounts" && ssd=1
  : >"$DIR/tmp/dnsmasq.log"
  # ip netns exec → unshare → sh → dnsmasq are exec'd in turn: $! is dnsmasq's pid.
  ip netns exec "$r" unshare -m --propagation private sh -ec '
    dir=$1 ssd=$2
    # As in the procd jail, no node root stays mounted in here: an overlay copy kept alive
    # in this namespace would hold its upper dir in use (EBUSY when that root is mounted
    # again, after a rollback), whichever lab it is of.
    while read -r _ m t _; do case "$t:$m" in overlay:*/mnt/rpinet/nfs/*) echo "$m" ;; esac; done \
      </proc/self/mounts | sort -r | while read -r m; do umount -l "$m"; done
    mount -t tmpfs -o mode=755 lab-mnt /mnt
    mkdir /mnt/.lab
    mount --bind "$dir" /mnt/.lab
    if [ "$ssd" = 1 ]; then mkdir /mnt/rpinet; mount --bind "$dir/mnt/rpinet" /mnt/rpinet; fi
    mount --bind "$dir/tmp" /tmp
    exec dnsmasq -k -C /mnt/.lab/var/etc/dnsmasq.conf.cfg01411c \
      -x /tmp/dnsmasq.pid --log-facility=/tmp/dnsmasq.log
  ' lab-dnsmasq "$DIR" "$ssd" >"$DIR/dnsmasq.out" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$pidf"
  if ! wait_for_log "$DIR/tmp/dnsmasq.log" "started, version" "$pid"; then
    echo "lab: dnsmasq did not start; it said:" >&2
    cat "$DIR/dnsmasq.out" "$DIR/tmp/dnsmasq.log" >&2 || true
    kill "$pid" 2>/dev/null || true
    rm -f "$pidf"
    exit 1
  fi
  echo "$pid"
}

stop_pid_file() { # pidfile
  [ -f "$1" ] || return 0
  local pid i
  pid=$(cat "$1")
  if kill "$pid" 2>/dev/null; then
    for i in $(seq 1 50); do alive "$pid" || break; sleep 0.05; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$1"
}

cmd_dnsmasq_stop() { need_dir "${1:-}"; stop_pid_file "$DIR/dnsmasq.pid"; }

cmd_dnsmasq_pid() {
  need_dir "${1:-}"
  [ -f "$DIR/dnsmasq.pid" ] && alive "$(cat "$DIR/dnsmasq.pid")" || die "dnsmasq is not running"
  cat "$DIR/dnsmasq.pid"
}

cmd_dhcpd_start() {
  need_dir "${1:-}"
  local d s=$DIR/dhcpd
  d=$(dhcpd_ns)
  mkdir -p "$s"
  cat >"$s/dnsmasq.conf" <<EOF
# The LAN's other DHCP server (an ISP box, say): leases only, knows nothing of Pis.
port=0
interface=eth0
bind-interfaces
dhcp-authoritative
dhcp-range=$NET.50,$NET.99,255.255.255.0,1h
dhcp-option=3,$DHCPD_IP
dhcp-leasefile=$s/leases
no-ping
log-dhcp
EOF
  : >"$s/dnsmasq.log"
  ip netns exec "$d" dnsmasq -k -C "$s/dnsmasq.conf" -x "$s/dnsmasq.pidfile" \
    --log-facility="$s/dnsmasq.log" >"$s/dnsmasq.out" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$s/pid"
  if ! wait_for_log "$s/dnsmasq.log" "started, version" "$pid"; then
    echo "lab: the separate DHCP server did not start:" >&2
    cat "$s/dnsmasq.out" "$s/dnsmasq.log" >&2 || true
    exit 1
  fi
  echo "$pid"
}

cmd_dhcpd_stop() { need_dir "${1:-}"; stop_pid_file "$DIR/dhcpd/pid"; }

# What OpenWrt's dhcp-script.sh and rpinet's hotplug hooks do, in one script: `rpinet event
# dhcp|tftp` with ACTION, MACADDR, IPADDR, HOSTNAME or TFTP_*. dnsmasq runs it in the lab's
# mount namespace, where DIR is /mnt/.lab: the binary is copied there. Each event is still
# logged, as the plain stand-in does.
cmd_hooks() {
  need_dir "${1:-}"
  local bin=${2:?usage: lab.sh hooks DIR BIN}
  mkdir -p "$DIR/bin"
  cp "$bin" "$DIR/bin/rpinet"
  cat >"$DIR/dhcp-script.sh" <<'EOF'
#!/bin/sh
echo "$*" >>/tmp/dhcp-script.log
case "$1" in
	add) export ACTION=add MACADDR="$2" IPADDR="$3" HOSTNAME="$4"; exec /mnt/.lab/bin/rpinet --root /mnt/.lab event dhcp ;;
	del) export ACTION=remove MACADDR="$2" IPADDR="$3" HOSTNAME="$4"; exec /mnt/.lab/bin/rpinet --root /mnt/.lab event dhcp ;;
	old) export ACTION=update MACADDR="$2" IPADDR="$3" HOSTNAME="$4"; exec /mnt/.lab/bin/rpinet --root /mnt/.lab event dhcp ;;
	tftp) export ACTION=add TFTP_SIZE="$2" TFTP_ADDR="$3" TFTP_PATH="$4"; exec /mnt/.lab/bin/rpinet --root /mnt/.lab event tftp ;;
esac
EOF
  chmod 755 "$DIR/dhcp-script.sh"
}

cmd_down() {
  need_dir "${1:-}"
  stop_pid_file "$DIR/dnsmasq.pid"
  stop_pid_file "$DIR/dhcpd/pid"
  local ns pid
  for ns in $(ip netns list | awk '{print $1}' | grep "^$LAB_PREFIX-" || true); do
    # anything still running in the lab's namespaces (pisim runs the tests left behind)
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  # the shared roots rpinet mounted under the lab (before anyone deletes DIR through them)
  awk -v d="$DIR/" '$3 == "overlay" && index($2, d) == 1 {print $2}' /proc/self/mounts |
    sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -f "$DIR/lab.env"
}

sub=${1:-}
shift || true
case "$sub" in
  up) cmd_up "$@" ;;
  client) cmd_client "$@" ;;
  run) cmd_run "$@" ;;
  client-del) cmd_client_del "$@" ;;
  dnsmasq-start) cmd_dnsmasq_start "$@" ;;
  dnsmasq-stop) cmd_dnsmasq_stop "$@" ;;
  dnsmasq-pid) cmd_dnsmasq_pid "$@" ;;
  dhcpd-start) cmd_dhcpd_start "$@" ;;
  dhcpd-stop) cmd_dhcpd_stop "$@" ;;
  hooks) cmd_hooks "$@" ;;
  down) cmd_down "$@" ;;
  *) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
