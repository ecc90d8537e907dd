#!/bin/sh
# The init of e2e/router-nfs.sh's VM (PID 1 on its NFS root): what the router does with
# storage on an NFS server, on a kernel with an NFS client. Each line it means for the
# host starts "router-nfs: "; it powers the VM off at the end.
say() { echo "router-nfs: $*"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs -o size=2600m tmp /tmp
mount -t tmpfs run /run && mkdir -p /run/lock # Debian's /var/lock (OpenWrt's is in /tmp)
export PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp
S=10.99.0.10
# rpinet's mount(2) data (src/system/nfs_mount.rs), parsed by the kernel itself: -i, no helper
DATA="vers=3,proto=tcp,nolock,soft,timeo=100,retrans=3,addr=$S"
say "kernel $(uname -r); nfs in /proc/filesystems: $(grep -cw nfs /proc/filesystems)"

# tree DIR SERVER|ssd: a router-shaped --root whose storage_path is DIR/mnt/rpinet
tree() {
  d=$1
  mkdir -p "$d/etc/config" "$d/var/etc" "$d/proc" "$d/dev" "$d/mnt/rpinet"
  printf "\nconfig interface 'lan'\n\toption proto 'static'\n\toption ipaddr '10.99.0.1'\n\toption netmask '255.255.255.0'\n" >"$d/etc/config/network"
  printf "\nconfig dnsmasq\n\nconfig dhcp 'lan'\n\toption interface 'lan'\n" >"$d/etc/config/dhcp"
  printf "conf-dir=/tmp/dnsmasq.d\n" >"$d/var/etc/dnsmasq.conf.cfg01411c"
  cp /proc/filesystems "$d/proc/filesystems"
  if [ "$2" = ssd ]; then
    u=6a1f0000-1111-2222-3333-444455556666
    printf "\nconfig rpinet 'main'\n\toption enabled '1'\n\toption storage_uuid '$u'\n\toption storage_path '/mnt/rpinet'\n\toption root_mode 'copy'\n" >"$d/etc/config/rpinet"
    truncate -s 2M "$d/dev/sda1"; mkfs.ext4 -q -F -U $u "$d/dev/sda1"
    echo "/dev/sda1 /mnt/rpinet ext4 rw 0 0" >"$d/proc/mounts"
  else
    printf "\nconfig rpinet 'main'\n\toption enabled '1'\n\toption storage_server '$S'\n\toption storage_export '%s'\n\toption storage_path '/mnt/rpinet'\n" "$2" >"$d/etc/config/rpinet"
    grep " $d/mnt/rpinet " /proc/mounts | sed "s| $d/mnt/rpinet | /mnt/rpinet |" >"$d/proc/mounts"
  fi
  : >"$d/os.img"; mount --bind /os.img "$d/os.img"
}

# import one image and provision one node into tree DIR; print the times
work() { # dir label
  t0=$(now)
  rpinet --root "$1" image import /os.img --name os >"$1/import.out" 2>&1 || say "$2: import failed: $(tail -n1 "$1/import.out")"
  t1=$(now)
  rpinet --root "$1" node add n1 --serial 10000001 --mac dc:a6:32:00:00:01 --ip 10.99.0.61 >/dev/null
  rpinet --root "$1" node provision n1 --image os --user pi --password-hash '$6$x$y' >"$1/prov.out" 2>&1 ||
    say "$2: provision failed: $(tail -n1 "$1/prov.out")"
  t2=$(now)
  rpinet --root "$1" node provision n1 --image os >"$1/reprov.out" 2>&1 ||
    say "$2: reimage failed: $(tail -n1 "$1/reprov.out")"
  t3=$(now)
  say "$2: import $(secs "$t0" "$t1") s, provision $(secs "$t1" "$t2") s, reimage $(secs "$t2" "$t3") s; $(du -sm "$1/mnt/rpinet" | cut -f1) MiB held"
}

# 1. the export without squashing: mounted as rpinet mounts it; import, provision, doctor
mkdir -p /tmp/open/mnt/rpinet
if mount -i -t nfs -o "$DATA" "$S:/srv/open" /tmp/open/mnt/rpinet; then
  say "mount of $S:/srv/open with rpinet's data: ok ($(grep ' /tmp/open/mnt/rpinet ' /proc/mounts | cut -d' ' -f3-4 | cut -c1-90))"
  tree /tmp/open /srv/open
  work /tmp/open "on the server"
  grep -q "kmod\|squash\|refus" /tmp/open/prov.out && say "provision said: $(cat /tmp/open/prov.out | tr '\n' ' ' | cut -c1-300)"
  cmdline=$(cat /tmp/open/mnt/rpinet/tftp/10000001/cmdline.txt 2>/dev/null)
  say "node's cmdline.txt: $cmdline"
  say "node's fstab: $(grep -v '^#' /tmp/open/mnt/rpinet/nfs/n1/etc/fstab 2>/dev/null | tr '\n' ';')"
  say "doctor on no_root_squash:"
  rpinet --root /tmp/open doctor 2>&1 | sed 's/^/router-nfs:   /'
else
  say "mount of $S:/srv/open with rpinet's data FAILED"
fi

# 2. the same onto the VM's own memory (the SSD's place here)
tree /tmp/ssd ssd
work /tmp/ssd "on local tmpfs"

# 3. the export that squashes root
mkdir -p /tmp/sq/mnt/rpinet
if mount -i -t nfs -o "$DATA" "$S:/srv/squash" /tmp/sq/mnt/rpinet; then
  tree /tmp/sq /srv/squash
  say "doctor on root_squash:"
  rpinet --root /tmp/sq doctor 2>&1 | sed 's/^/router-nfs:   /'
  t=/tmp/sq/mnt/rpinet/.owner-probe; : >"$t" 2>/dev/null && say "a file root makes there belongs to uid $(stat -c %u "$t")"; rm -f "$t"
else
  say "mount of $S:/srv/squash FAILED"
fi

# 4. faults, as the kernel reports them to mount(2)
mkdir -p /tmp/f
e=$(mount -i -t nfs -o "$DATA" "$S:/srv/missing" /tmp/f 2>&1) && umount /tmp/f
say "an export the server does not have: $e"
e=$(timeout 120 mount -i -t nfs -o "vers=3,proto=tcp,nolock,soft,timeo=100,retrans=3,addr=10.99.0.99" 10.99.0.99:/x /tmp/f 2>&1)
say "a server that is not there: $e"
# 5. rpinet's own mount: `rpinet apply` live (no --root), this VM standing in for the router;
# the rest of apply (dnsmasq, services) finds no OpenWrt here, and only the mount is looked at
mkdir -p /etc/config /mnt/rpinet
printf "\nconfig interface 'lan'\n\toption proto 'static'\n\toption ipaddr '10.99.0.60'\n\toption netmask '255.255.255.0'\n" >/etc/config/network
printf "\nconfig dnsmasq\n\nconfig dhcp 'lan'\n\toption interface 'lan'\n" >/etc/config/dhcp
for x in "$S /srv/open" "$S /srv/squash" "$S /srv/missing" "10.99.0.99 /srv/open"; do
  set -- $x
  printf "config rpinet 'main'\n\toption enabled '1'\n\toption storage_server '%s'\n\toption storage_export '%s'\n\toption storage_path '/mnt/rpinet'\n" "$1" "$2" >/etc/config/rpinet
  out=$(timeout 300 rpinet apply 2>&1 | head -n 3 | tr '\n' ' ')
  say "live apply with $1:$2: mounted: $(grep ' /mnt/rpinet ' /proc/mounts | cut -d' ' -f1,3 | tr '\n' ' ')${out:+; said: $out}"
  umount /mnt/rpinet 2>/dev/null
done
say done
sync
echo o >/proc/sysrq-trigger
sleep 30
