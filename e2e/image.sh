#!/usr/bin/env bash
# image.sh STYLE OUT.img: a small Debian (amd64) disk image shaped like Raspberry Pi OS.
#
#   bookworm  pi-gen bookworm: init=…/firstboot and a PARTUUID root in cmdline.txt,
#             resize2fs_once enabled as a SysV script, userconf-pi's userconfig, sshswitch,
#             regenerate_ssh_host_keys, dphys-swapfile's config, a uid-1000 user to rename
#   trixie    pi-gen trixie: `resize` in cmdline.txt, real cloud-init with Raspberry Pi OS's
#             99_raspberry-pi.cfg (NoCloud from file:///boot/firmware; no SSH host keys made
#             by cloud-init: regenerate_ssh_host_keys makes them) and its boot-partition seed
#             (meta-data `instance_id: rpios-image`, user-data, network-config)
#
# Container runtimes, as a cluster node has them (rpinet binds their state onto the node's
# volume), each with a local image to run (no registry: e2e/oci.py makes them from
# busybox-static into /usr/local/share/rpinet-e2e):
#
#   bookworm  Debian's docker.io (containerd, runc; apparmor, without which every
#             `docker run` fails on Debian's AppArmor kernel), enabled as its packages do;
#             busybox-rootfs.tar for `docker import`
#   trixie    containerd (runc) and its ctr client, enabled; busybox-oci.tar, an OCI image
#             archive for `ctr image import`
#
# Both: a PARTUUID fstab, a golden machine-id and golden SSH host keys (what every clone of
# an image shares), the kernel and an NFS-capable initramfs as kernel8.img/initramfs8 on a
# FAT boot partition. The stand-ins for Pi OS's units are in e2e/pios/ (our own, written to
# behave as the originals do on a netbooted node).
set -euo pipefail
style=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)
case "$style" in
  bookworm) suite=bookworm extra=",docker.io,containerd,runc,apparmor,busybox-static" runtimes="docker containerd" ;;
  trixie) suite=trixie extra=",cloud-init,containerd,runc,busybox-static" runtimes="containerd" ;;
  *) echo "image.sh: style is bookworm or trixie" >&2; exit 2 ;;
esac
work=$(mktemp -d "$(dirname "$out")/.build-$style.XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs=$work/root
boot=$work/boot
golden_id=0123456789abcdef0123456789abcdef
label=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')

# --variant=apt is Essential: yes and apt. Raspberry Pi OS (pi-gen's debootstrap) has every
# required and important package; the ones a login needs are named. `login` (/usr/bin/login,
# which agetty execs) is required but no longer Essential from trixie on: without it the
# serial getty starts over after each user name ("can't exec /bin/login").
mmdebstrap --variant=apt --mode=root --quiet \
  --include="systemd-sysv,udev,dbus,login,linux-image-amd64,initramfs-tools,openssh-server,sudo,nfs-common,e2fsprogs,util-linux,mount,iproute2,kmod,procps,netbase,less$extra" \
  --customize-hook='sed -i "s/^MODULES=.*/MODULES=netboot/" "$1/etc/initramfs-tools/initramfs.conf"' \
  --customize-hook='chroot "$1" update-initramfs -u -k all >/dev/null' \
  "$suite" "$rootfs" http://deb.debian.org/debian

# The runtimes' services enabled by their packages' own postinst, and the local images.
for r in $runtimes; do
  [ "$(chroot "$rootfs" systemctl is-enabled "$r.service")" = enabled ] ||
    { echo "image.sh: $r.service is not enabled in the $style image" >&2; exit 1; }
done
chroot "$rootfs" sh -c 'command -v ctr >/dev/null && command -v runc >/dev/null' ||
  { echo "image.sh: no ctr or runc in the $style image" >&2; exit 1; }
bb=$rootfs/usr/bin/busybox
[ -e "$bb" ] || bb=$rootfs/bin/busybox
python3 "$here/oci.py" "$bb" "$rootfs/usr/local/share/rpinet-e2e"

p=$here/pios
install -D -m 755 "$p/firstboot" "$rootfs/usr/lib/raspberrypi-sys-mods/firstboot"
install -D -m 755 "$p/regenerate_ssh_host_keys" "$rootfs/usr/lib/raspberrypi-sys-mods/regenerate_ssh_host_keys"
install -D -m 644 "$p/regenerate_ssh_host_keys.service" "$rootfs/usr/lib/systemd/system/regenerate_ssh_host_keys.service"
install -D -m 644 "$p/sshswitch.service" "$rootfs/usr/lib/systemd/system/sshswitch.service"
install -D -m 755 "$p/userconfig" "$rootfs/usr/lib/userconf-pi/userconfig"
install -D -m 644 "$p/userconfig.service" "$rootfs/usr/lib/systemd/system/userconfig.service"
chroot "$rootfs" systemctl -q enable regenerate_ssh_host_keys sshswitch userconfig
chroot "$rootfs" systemctl -q disable ssh 2>/dev/null || true
echo "CONF_SWAPSIZE=100" >"$rootfs/etc/dphys-swapfile"
printf '%s\n' "$golden_id" >"$rootfs/etc/machine-id"
echo raspberrypi >"$rootfs/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\t\traspberrypi\n' >"$rootfs/etc/hosts"
{
  echo "proc            /proc           proc    defaults          0       0"
  echo "PARTUUID=$label-01  /boot/firmware  vfat    defaults          0       2"
  echo "PARTUUID=$label-02  /               ext4    defaults,noatime  0       1"
} >"$rootfs/etc/fstab"
mkdir -p "$rootfs/boot/firmware"
ls "$rootfs"/etc/ssh/ssh_host_*_key >/dev/null 2>&1 || chroot "$rootfs" ssh-keygen -A

mkdir -p "$boot"
cp "$(ls "$rootfs"/boot/vmlinuz-* | head -n 1)" "$boot/kernel8.img"
cp "$(ls "$rootfs"/boot/initrd.img-* | head -n 1)" "$boot/initramfs8"
printf 'stand-in: the Pi 4 loader probes for this file\n' >"$boot/start4.elf"
printf '[all]\nauto_initramfs=1\nenable_uart=1\n' >"$boot/config.txt"
sd="console=serial0,115200 console=tty1 root=PARTUUID=$label-02 rootfstype=ext4 fsck.repair=yes rootwait quiet"
if [ "$style" = bookworm ]; then
  chroot "$rootfs" useradd -m -u 1000 -G sudo -s /bin/bash pi
  install -D -m 755 "$p/resize2fs_once" "$rootfs/etc/init.d/resize2fs_once"
  mkdir -p "$rootfs/etc/rc3.d"
  ln -sf ../init.d/resize2fs_once "$rootfs/etc/rc3.d/S01resize2fs_once"
  echo "$sd init=/usr/lib/raspberrypi-sys-mods/firstboot" >"$boot/cmdline.txt"
else
  install -D -m 644 "$p/99_raspberry-pi.cfg" "$rootfs/etc/cloud/cloud.cfg.d/99_raspberry-pi.cfg"
  echo "$sd resize" >"$boot/cmdline.txt"
  printf 'instance_id: rpios-image\n' >"$boot/meta-data"
  printf '#cloud-config\nhostname: raspberrypi\nmanage_etc_hosts: true\n' >"$boot/user-data"
  printf 'network:\n  version: 2\n  ethernets:\n    eth0:\n      dhcp4: true\n' >"$boot/network-config"
fi

# Pack: an MBR disk, the FAT boot partition at 4 MiB, the ext4 root after it.
boot_mb=256
root_mb=$(( $(du -sm "$rootfs" | cut -f1) * 13 / 10 + 64 ))
truncate -s "${boot_mb}M" "$work/boot.fat"
mkfs.vfat -n bootfs "$work/boot.fat" >/dev/null
mcopy -s -i "$work/boot.fat" "$boot"/* ::/
truncate -s "${root_mb}M" "$work/root.ext4"
mkfs.ext4 -q -L rootfs -d "$rootfs" "$work/root.ext4"
truncate -s "$(( 4 + boot_mb + root_mb ))M" "$work/disk.img"
printf 'label: dos\nlabel-id: 0x%s\nstart=4MiB, size=%sMiB, type=c\nstart=%sMiB, type=83\n' \
  "$label" "$boot_mb" "$(( 4 + boot_mb ))" | sfdisk -q "$work/disk.img"
dd if="$work/boot.fat" of="$work/disk.img" bs=1M seek=4 conv=notrunc,sparse status=none
dd if="$work/root.ext4" of="$work/disk.img" bs=1M seek=$(( 4 + boot_mb )) conv=notrunc,sparse status=none
mv "$work/disk.img" "$out"
echo "image.sh: $out ($style, PARTUUID $label-02)"
