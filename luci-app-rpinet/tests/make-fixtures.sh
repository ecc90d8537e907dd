#!/usr/bin/env bash
# Regenerate tests/fixtures/rpinet-call/*.json from the real `rpinet call` in a --root lab:
# a router tree (lan 192.168.1.1/24, stock dhcp, an ext4 image with the SSD's UUID mounted at
# /mnt/rpinet), three nodes added with `rpinet node add`, `rpinet apply`, and a boot-event
# log of what dnsmasq would have reported (one failed boot, one full boot with the NFS mount
# in rmtab, one DHCP-only boot, one unknown Pi). Times are fixed near 1700000000 so the
# browser test's clock can match them.
#
#   tests/make-fixtures.sh PATH/TO/rpinet        (built from a branch that has the rpcd plugin)
set -euo pipefail

RPINET=$(realpath "${1:?usage: make-fixtures.sh PATH/TO/rpinet}")
OUT="$(cd "$(dirname "$0")" && pwd)/fixtures/rpinet-call"
LAB=$(mktemp -d /tmp/rpinet-luci-lab.XXXXXX)
trap 'rm -rf "$LAB"' EXIT
UUID=6a1f3c2e-9b7d-4e21-8f0a-2d5c7e9b1a44

w() { mkdir -p "$(dirname "$LAB/$1")"; printf '%b' "$2" > "$LAB/$1"; }
r() { "$RPINET" --root "$LAB" "$@"; }
call() { printf '%s' "${2:-{\}}" | r call "$1"; }

w etc/config/network "\nconfig interface 'lan'\n\toption proto 'static'\n\toption ipaddr '192.168.1.1'\n\toption netmask '255.255.255.0'\n"
w etc/config/dhcp "\nconfig dnsmasq\n\toption domain 'lan'\n\nconfig dhcp 'lan'\n\toption interface 'lan'\n\toption start '100'\n"
w var/etc/dnsmasq.conf.cfg01411c "# auto-generated config file from /etc/config/dhcp\nconf-dir=/tmp/dnsmasq.d\n"
w etc/config/rpinet "\nconfig rpinet 'main'\n\toption enabled '1'\n\toption storage_uuid '$UUID'\n\toption storage_path '/mnt/rpinet'\n\toption match 'registered'\n"
w etc/exports "# /mnt\t*(ro,all_squash,insecure,sync)\n"
w proc/mounts "/dev/root / squashfs ro 0 0\n/dev/sda1 /mnt/rpinet ext4 rw,relatime 0 0\n"
mkdir -p "$LAB/mnt/rpinet" "$LAB/dev"
truncate -s 4M "$LAB/dev/sda1"
mkfs.ext4 -q -F -U "$UUID" -L pi-cluster "$LAB/dev/sda1"

r node add running_lion --serial 38C128C0 --mac DC:A6:32:79:26:DF --model pi4
r node add quiet_otter --serial d137e638 --mac 2c:cf:67:0a:11:2b --model pi5 --boot-id mac
r node add brave_fox --serial b66c4c16 --mac b8:27:eb:6c:4c:16 --model pi3
r apply >/dev/null

T=/mnt/rpinet/tftp
PXE=PXEClient:Arch:00000:UNDI:002001
ev() { printf '%s\n' "$*" | tr ' ' '\t' >> "$LAB/tmp/rpinet/events.log"; }
mkdir -p "$LAB/tmp/rpinet"
: > "$LAB/tmp/rpinet/events.log"
# running_lion: firmware and kernel, but cmdline.txt is missing
ev 1700000000 dhcp add dc:a6:32:79:26:df 192.168.1.57 - $PXE
ev 1700000003 tftp 2228 192.168.1.57 $T/38c128c0/start4.elf
ev 1700000004 tftp 1024 192.168.1.57 $T/38c128c0/config.txt
ev 1700000005 miss 192.168.1.57 $T/38c128c0/cmdline.txt not_found
ev 1700000042 tftp 8000000 192.168.1.57 $T/38c128c0/kernel8.img
# quiet_otter: a whole boot; its OS asks for a lease with its hostname
ev 1700000100 dhcp add 2c:cf:67:0a:11:2b 192.168.1.71 - $PXE
ev 1700000102 tftp 1024 192.168.1.71 $T/2c-cf-67-0a-11-2b/config.txt
ev 1700000110 tftp 9000000 192.168.1.71 $T/2c-cf-67-0a-11-2b/kernel_2712.img
ev 1700000160 dhcp update 2c:cf:67:0a:11:2b 192.168.1.71 quiet-otter dhcpcd-10.0.6:Linux
# brave_fox: only DHCP so far
ev 1700000190 dhcp add b8:27:eb:6c:4c:16 192.168.1.64 - $PXE
# a Pi that is no node yet
ev 1700000150 dhcp add dc:a6:32:01:02:03 192.168.1.60 - $PXE
ev 1700000151 miss 192.168.1.60 $T/91cdf03e/start4.elf not_found
sed -i 's/\tnot_found$/\tnot found/; s/\t-\t/\t\t/' "$LAB/tmp/rpinet/events.log"
mkdir -p "$LAB/var/lib/nfs"
printf '192.168.1.71:/mnt/rpinet/nfs/quiet_otter:0x00000001\n' > "$LAB/var/lib/nfs/rmtab"
touch -d @1700000125 "$LAB/var/lib/nfs/rmtab"

mkdir -p "$OUT"
call status > "$OUT/status.json"
call discovered > "$OUT/discovered.json"
call doctor > "$OUT/doctor.json"
call images > "$OUT/images.json"
call job '{"id":"j0-0"}' > "$OUT/job-unknown.json"
call node_add '{"name":"pi_91cdf03e","serial":"91CDF03E","mac":"DC:A6:32:01:02:03","model":"pi4","boot_id":"serial","boot_dir":"","ip":""}' > "$OUT/node_add.json"
call node_add '{"name":"Bad-Name","serial":"xyz","mac":"dc:a6","model":"pi4","boot_id":"serial","boot_dir":"","ip":""}' > "$OUT/node_add-invalid.json" || true
call node_remove '{"name":"pi_91cdf03e","purge":false}' > "$OUT/node_remove.json"
r list > "$OUT/list.json"
for f in "$OUT"/*.json; do python3 -m json.tool "$f" > "$f.tmp" && mv "$f.tmp" "$f"; done
echo "fixtures from $RPINET ($("$RPINET" --root "$LAB" status --json >/dev/null && echo ok)) in $OUT"
