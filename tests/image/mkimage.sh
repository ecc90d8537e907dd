#!/usr/bin/env bash
# Build a Raspberry Pi OS-shaped disk image for the import tests:
#   mkimage.sh OUT BLOCKSIZE [EXT4-FEATURES]
# OUT/tree    the staged root tree (every tricky entry), the expected result
# OUT/bootd   the staged boot tree
# OUT/disk.img, OUT/disk.img.xz   MBR: p1 FAT32 (boot), p2 ext4 (root)
# (also as disk-blocks.img.xz, many xz blocks, and disk.img.gz)
# OUT/root.ext4  the root filesystem alone (for crafted hostile copies)
set -euo pipefail
out=$1 bs=$2 feat=${3:-}
rm -rf "$out"; mkdir -p "$out"; cd "$out"
t=tree
mkdir -p $t/etc $t/usr/bin $t/big $t/dev $t/home/pi $t/sticky $t/deep/a/b/c/d/e
printf 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_CODENAME=bookworm\n' > $t/etc/os-release
echo raspberrypi > $t/etc/hostname
printf '127.0.0.1\tlocalhost\n127.0.1.1\traspberrypi\n' > $t/etc/hosts
printf 'proc /proc proc defaults 0 0\nPARTUUID=1234-01 /boot/firmware vfat defaults 0 2\nPARTUUID=1234-02 / ext4 defaults,noatime 0 1\n' > $t/etc/fstab
head -c 20000 /dev/urandom > $t/usr/bin/ping
chmod 4755 $t/usr/bin/ping
setfattr -n security.capability -v 0sAQAAAgAgAAAAAAAAAAAAAAAAAAA= $t/usr/bin/ping
setfattr -n user.comment -v "a user xattr" $t/etc/hostname
# POSIX ACL (kernel xattr form v2): user::rw- user:1000:r-- group::r-- mask::r-- other::r--
setfattr -n system.posix_acl_access \
  -v 0x02000000010006ffffffff02000400e803000004000400ffffffff10000400ffffffff20000400ffffffff \
  $t/home/pi 2>/dev/null || true
echo pi-user > $t/home/pi/.profile
chown -R 1000:1000 $t/home/pi
chown 1000:1000 $t/home/pi/.profile
chmod 2775 $t/usr; chmod 1777 $t/sticky; chmod 0700 $t/home/pi
ln $t/etc/hostname $t/etc/hostname.hardlink
ln $t/etc/hostname $t/usr/hostname.hardlink2
ln -s ../etc/hostname $t/usr/bin/fastlink
ln -s "/$(printf 'long%.0s' {1..50})/target" $t/usr/bin/slowlink
ln -s dangling/../../../../etc/shadow $t/usr/bin/escape
mknod $t/dev/null2 c 1 3; mknod $t/dev/sda9 b 8 9; mknod $t/dev/bigdev c 259 300
mkfifo $t/dev/fifo
python3 -c "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])" $t/dev/sock
truncate -s 8M $t/sparse; printf 'middle' | dd of=$t/sparse bs=1 seek=3000000 conv=notrunc status=none
printf 'end' | dd of=$t/sparse bs=1 seek=$((8 * 1048576 - 3)) conv=notrunc status=none
# A hole at the end (mkfs.ext4 -d of e2fsprogs 1.47 gets its size wrong with 1 KiB blocks).
if [ "$bs" = 4096 ]; then truncate -s 5M $t/tailhole; printf 'start' | dd of=$t/tailhole conv=notrunc status=none; fi
head -c 3000000 /dev/urandom > $t/random.bin
: > $t/empty
for i in $(seq 1 3000); do echo "$i" > "$t/big/entry_with_a_longer_name_$i"; done
printf 'tiny' > $t/etc/tiny   # inline data when the feature is on
touch -h -d '2001-02-03 04:05:06' $t/usr/bin/fastlink
touch -d '2001-02-03 04:05:06' $t/etc/os-release $t/deep/a/b/c/d/e $t/deep
touch -d '1969-12-31 23:59:00' $t/etc/tiny
mkfs.ext4 -q -F -b "$bs" -N 8192 ${feat:+-O "$feat"} -d $t root.ext4 40M
# A file in 400 pieces, for an extent tree two levels deep: fill, punch every
# other block free, then write into the holes.
frag=frag.bin; head -c $((400 * bs)) /dev/urandom > $frag
python3 - "$bs" <<'PY'
import sys
bs = int(sys.argv[1])
with open('fill.cmd', 'w') as f:
    f.write('mkdir /fill\n')
    for i in range(800):
        f.write(f'write one.blk /fill/{i}\n')
with open('punch.cmd', 'w') as f:
    for i in range(0, 800, 2):
        f.write(f'rm /fill/{i}\n')
    f.write('write frag.bin /frag.bin\n')
    f.write('sif /frag.bin mtime @981173106\nsif /frag.bin uid 0\nsif /frag.bin gid 0\nsif /frag.bin mode 0100644\n')
open('one.blk', 'wb').write(b'\x01' * bs)
PY
debugfs -w -f fill.cmd root.ext4 >/dev/null 2>&1
debugfs -w -f punch.cmd root.ext4 >/dev/null 2>&1
# Index the big directories (htree), as a long-used system has them.
e2fsck -fyD root.ext4 >/dev/null 2>&1 || [ $? -le 1 ]
# The staged tree gets what debugfs added.
mkdir -p $t/fill
for i in $(seq 1 2 799); do cp one.blk $t/fill/$i; done
cp $frag $t/frag.bin; touch -d @981173106 $t/frag.bin; chmod 644 $t/frag.bin
# Boot partition: FAT32 with long names.
mkdir -p bootd/overlays "bootd/A Folder With Long Name"
printf 'console=serial0,115200 console=tty1 root=PARTUUID=1234-02 rootfstype=ext4 fsck.repair=yes rootwait quiet init=/usr/lib/raspberrypi-sys-mods/firstboot\n' > bootd/cmdline.txt
printf '[all]\nauto_initramfs=1\n' > bootd/config.txt
head -c 300000 /dev/urandom > bootd/kernel8.img
head -c 50000 /dev/urandom > bootd/bootcode.bin
echo overlay > "bootd/overlays/vc4-kms-v3d-pi4.dtbo"
echo x > "bootd/A Folder With Long Name/Ünïcödé name.txt"
echo y > bootd/UPPER.TXT
mkfs.vfat -F 32 -n bootfs -C boot.fat 34000 >/dev/null
(cd bootd && mcopy -s -m -i ../boot.fat ./* ::/)
truncate -s 80M disk.img
printf 'label: dos\nstart=8192, size=68000, type=c\nstart=77824, size=81920, type=83\n' | sfdisk -q disk.img
dd if=boot.fat of=disk.img bs=512 seek=8192 conv=notrunc status=none
dd if=root.ext4 of=disk.img bs=512 seek=77824 conv=notrunc status=none
xz -k -T1 -2 disk.img
# As xz -T0 makes them (Raspberry Pi OS images): many blocks, decoded in parallel.
xz -c -T2 -2 --block-size=2MiB disk.img > disk-blocks.img.xz
gzip -c -1 disk.img > disk.img.gz
rm -f fill.cmd punch.cmd one.blk
