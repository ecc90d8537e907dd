#!/usr/bin/env bash
# router.sh DIR: lay out DIR as a router-shaped --root for the benchmarks: lan 10.9.0.1/24,
# a dnsmasq instance, rpinet enabled, and the "SSD" (an ext4 image with the storage UUID)
# mounted at /mnt/rpinet. DIR must exist.
set -euo pipefail
A=$1
UUID=6a1f0000-1111-2222-3333-444455556666
mkdir -p "$A/etc/config" "$A/var/etc" "$A/proc" "$A/dev" "$A/mnt/rpinet"
printf "\nconfig interface 'lan'\n\toption proto 'static'\n\toption ipaddr '10.9.0.1'\n\toption netmask '255.255.255.0'\n" > "$A/etc/config/network"
printf "\nconfig dnsmasq\n\nconfig dhcp 'lan'\n\toption interface 'lan'\n" > "$A/etc/config/dhcp"
printf "conf-dir=/tmp/dnsmasq.d\n" > "$A/var/etc/dnsmasq.conf.cfg01411c"
printf "\nconfig rpinet 'main'\n\toption enabled '1'\n\toption storage_uuid '$UUID'\n\toption storage_path '/mnt/rpinet'\n" > "$A/etc/config/rpinet"
printf "/dev/sda1 /mnt/rpinet ext4 rw 0 0\n" > "$A/proc/mounts"
truncate -s 2M "$A/dev/sda1"; mkfs.ext4 -q -F -U $UUID "$A/dev/sda1"
