#!/usr/bin/env bash
# Small real filesystems as fuzz seeds (made here, not committed):
# fuzz/seeds/{ext4,fat,partition,edits,xz}/
set -euo pipefail
cd "$(dirname "$0")"
rm -rf seeds; mkdir -p seeds/ext4 seeds/fat seeds/partition seeds/edits seeds/xz
w=$(mktemp -d); trap 'rm -rf "$w"' EXIT
mkdir -p $w/t/d/e; echo hi > $w/t/a; ln $w/t/a $w/t/d/b; ln -s a $w/t/l
ln -s "$(printf 'x%.0s' {1..80})" $w/t/slow; mknod $w/t/c c 1 3; mkfifo $w/t/f
for i in $(seq 1 40); do : > $w/t/d/e/n$i; done
setfattr -n user.x -v y $w/t/a
printf 'tiny' > $w/t/inl
mkfs.ext4 -q -F -b 1024 -N 64 -O ^has_journal,^resize_inode -d $w/t seeds/ext4/plain.img 200K
mkfs.ext4 -q -F -b 1024 -N 64 -O ^has_journal,^resize_inode,inline_data,^metadata_csum -d $w/t seeds/ext4/inline.img 200K
mkfs.ext4 -q -F -b 1024 -N 64 -O ^has_journal,^resize_inode,^extent -t ext2 -d $w/t seeds/ext4/ext2.img 200K
mkfs.vfat -C $w/fat.img 200 >/dev/null
mcopy -i $w/fat.img $w/t/a "::/A long name here.txt"; mmd -i $w/fat.img ::/sub
mcopy -i $w/fat.img $w/t/a ::/sub/x
cp $w/fat.img seeds/fat/fat12.img
truncate -s 1M $w/disk; printf 'label: dos\nstart=64, size=400, type=c\nstart=512, size=400, type=83\n' | sfdisk -q $w/disk
head -c 17408 $w/disk > seeds/partition/mbr
truncate -s 2M $w/gpt; printf 'label: gpt\nstart=2048, size=400\n' | sfdisk -q $w/gpt
head -c 17408 $w/gpt > seeds/partition/gpt
printf 'console=tty1 root=PARTUUID=1-02 rootfstype=ext4 fsck.repair=yes rootwait init=/x resize\n' > seeds/edits/cmdline
printf 'proc /proc proc defaults 0 0\nPARTUUID=1-01 /boot/firmware vfat defaults 0 2\n127.0.1.1 x\nCONF_SWAPSIZE=100\n' > seeds/edits/fstab
# xz: many small blocks (as xz -T0 makes them), each check type, and one block.
head -c 20000 seeds/ext4/plain.img > $w/x
xz -c -T2 -0 --block-size=4KiB $w/x > seeds/xz/blocks.xz
xz -c -T1 -0 --block-size=6KiB --check=crc32 $w/x > seeds/xz/crc32.xz
xz -c -T1 -0 --block-size=8KiB --check=none $w/x > seeds/xz/none.xz
xz -c -T1 -0 $w/x > seeds/xz/one.xz
