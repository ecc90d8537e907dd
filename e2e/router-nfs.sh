#!/usr/bin/env bash
# e2e/router-nfs.sh: the router's side of storage on an NFS server, on a kernel that has an
# NFS client (this machine's may not). A VM (qemu-system-x86_64) boots the e2e trixie image's
# kernel and initramfs with its root on NFS and, as init, e2e/router-nfs-init.sh: it mounts
# the server's exports with the mount(2) data rpinet uses (the kernel's own parser; no
# mount.nfs), then runs rpinet in a --root tree whose storage_path is that mount:
#   - image import and node provision onto the server, and the same onto the VM's tmpfs;
#   - doctor's probe against an export with no_root_squash and one with root_squash;
#   - the mount of an export the server does not have, and of a server that is not there.
# The server is nfs-ganesha in a namespace of its own on the lab's LAN (scripts/lab.sh).
# Needs root and the e2e's cached image (make e2e builds it). Not a test: it prints what it
# saw; timings depend on the machine (TCG unless E2E_ACCEL=kvm).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cache=${RPINET_E2E_CACHE:-/var/cache/rpinet-e2e}
img=$cache/trixie.img
rpinet=${RPINET:-$repo/target/release/rpinet}
lab_sh=$repo/scripts/lab.sh
[ "$(id -u)" = 0 ] || { echo "router-nfs: needs root" >&2; exit 1; }
[ -f "$img" ] || { echo "router-nfs: no $img: run E2E_STYLES=trixie make e2e first" >&2; exit 1; }
lab=$(mktemp -d /var/tmp/router-nfs.XXXXXX)
cleanup() { "$lab_sh" down "$lab" >/dev/null 2>&1 || true; [ -n "${KEEP:-}" ] || rm -rf "$lab"; }
trap cleanup EXIT
"$lab_sh" up "$lab" >/dev/null
r=$(. "$lab/lab.env"; echo "$LAB_PREFIX-r")

# The VM's root: the image's root as rpinet imports it, with rpinet, the init and the image.
ln "$img" "$lab/os.img" 2>/dev/null || cp "$img" "$lab/os.img"
"$rpinet" --root "$lab" image import /os.img --name vm >/dev/null
vm=$lab/mnt/rpinet/images/vm/root
cp "$rpinet" "$vm/usr/local/bin/rpinet"
cp "$here/router-nfs-init.sh" "$vm/router-nfs-init.sh"
ln "$lab/os.img" "$vm/os.img" 2>/dev/null || cp "$img" "$vm/os.img"
kernel=$lab/mnt/rpinet/images/vm/boot/kernel8.img initrd=$lab/mnt/rpinet/images/vm/boot/initramfs8
mkdir -p "$lab/srv/open" "$lab/srv/squash"
chmod 1777 "$lab/srv/squash" # a squashed root may write there, as nobody

# The server: 10.99.0.10 on the router's LAN; the VM (10.99.0.60) gets its root, an export
# without root squashing and one with.
s=$("$lab_sh" client "$lab" nas 02:00:0a:63:00:0a)
ip -n "$s" addr add 10.99.0.10/24 dev eth0
export_block() { # id path squash
  cat <<EOF
EXPORT {
  Export_Id = $1; Path = "$2"; Pseudo = "$2"; Protocols = 3; Transports = TCP, UDP;
  Access_Type = NONE; Squash = $3; SecType = sys;
  FSAL { Name = VFS; }
  CLIENT { Clients = 10.99.0.60; Access_Type = RW; }
}
EOF
}
{
  echo 'NFS_CORE_PARAM { Protocols = 3; Enable_NLM = false; Enable_RQUOTA = false; }'
  echo 'NFSV4 { Graceless = true; }'
  echo 'LOG { Default_Log_Level = WARN; }'
  export_block 1 /srv/root No_Root_Squash
  export_block 2 /srv/open No_Root_Squash
  export_block 3 /srv/squash Root_Squash
} >"$lab/ganesha.conf"
ip netns exec "$s" unshare -m --propagation private sh -ec '
  lab=$1
  mount -t tmpfs -o mode=755 rn-run /run; mkdir -p /run/rpcbind /run/ganesha
  mount -t tmpfs -o mode=755 rn-nfs /var/lib/nfs
  mount -t tmpfs -o mode=755 rn-srv /srv
  mkdir /srv/root /srv/open /srv/squash
  mount --bind "$lab/mnt/rpinet/images/vm/root" /srv/root
  mount --bind "$lab/srv/open" /srv/open
  mount --bind "$lab/srv/squash" /srv/squash
  rpcbind -f -w &
  exec ganesha.nfsd -F -L "$lab/ganesha.log" -f "$lab/ganesha.conf" -p /run/ganesha/ganesha.pid
' router-nfs "$lab" >"$lab/ganesha.out" 2>&1 </dev/null &
disown # lab.sh down ends it
sleep 3

# TCG: a /dev/kvm may be there and boot nothing (nested); E2E_ACCEL=kvm when it works
accel=(-accel "${E2E_ACCEL:-tcg}")
ip -n "$r" tuntap add rn-vm mode tap
ip -n "$r" link set rn-vm master br-lan up
echo "router-nfs: booting the VM (${accel[1]})" >&2
timeout 1800 ip netns exec "$r" qemu-system-x86_64 "${accel[@]}" -m 4096 -smp 2 -display none \
  -no-reboot -monitor none -nodefaults -kernel "$kernel" -initrd "$initrd" \
  -append "root=/dev/nfs nfsroot=10.99.0.10:/srv/root,vers=3,tcp rw ip=10.99.0.60::10.99.0.1:255.255.255.0::eth0:off net.ifnames=0 console=ttyS0 init=/router-nfs-init.sh panic=-1" \
  -netdev tap,id=n0,ifname=rn-vm,script=no,downscript=no -device virtio-net-pci,netdev=n0 \
  -serial "file:$lab/console.log" || true
sed -n 's/^router-nfs: //p' "$lab/console.log" | tr -d '\r'
grep -q '^router-nfs: done' "$lab/console.log" || { echo "router-nfs: the VM did not finish; console:" >&2; tail -n 30 "$lab/console.log" >&2; exit 1; }
