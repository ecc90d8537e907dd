#!/usr/bin/env bash
# Regenerate tests/fixtures/rpinet-call/*.json from the real `rpinet call` in a --root lab: a
# router tree (lan 192.168.1.1/24, stock dhcp, an ext4 image with the SSD's UUID mounted at
# /mnt/rpinet) and three nodes added with `rpinet node add`, then
#
#  1. the boots: a boot-event log of what dnsmasq would have reported (one failed boot, one full
#     boot with the NFS mount in rmtab, one DHCP-only boot, one unknown Pi) → status (whole and
#     paged), discovered, doctor, node_add, node_remove, job (unknown), list;
#  2. the fleet: a small Raspberry Pi OS-shaped image and a list in Raspberry Pi
#     Imager's format served over HTTP on 127.0.0.1:$PORT (tests/lab.py serve) → image_catalog
#     (and with the list unreachable), image_import from the URL (every state of its job) and
#     with a wrong checksum, the refusals, images; the three nodes provisioned from it and an
#     image roll to a second image, booting the nodes as the roll switches them (running_lion
#     comes up, quiet_otter misses cmdline.txt) → every state of the roll's job, node_rollback
#     (kept root and none), inventory, the config as LuCI reads it, and rpinet's verdict on a
#     set of ssh_key lines (ssh-keys.json, for the browser's own check);
#  3. the same cluster with its storage on an NFS server → storage_exports (and, in part 1, its
#     refusal while the storage is the SSD).
#
# Time: rpinet judges boots against the real clock (a boot stalled at its stage, the age of a
# cached list). So the boots are written as having happened 200 s down to 10 s before the
# moment of generation, which is what rpinet then sees: "a few minutes after the boots". Every
# time in the output is then moved by the same amount, so that the moment of generation reads
# 1700000200, the browser tests' clock, and job ids get stable numbers (lab.py tidy). Part 1
# comes out the same on every run; in part 2 the seconds between the fleet steps and the
# number of intermediate job states depend on the machine's speed (the tests use the states
# every run has: the first and the last).
#
#   tests/make-fixtures.sh PATH/TO/rpinet        (PORT=18573 by default; it must be free)
set -euo pipefail

RPINET=$(realpath "${1:?usage: make-fixtures.sh PATH/TO/rpinet}")
TESTS="$(cd "$(dirname "$0")" && pwd)"
OUT="$TESTS/fixtures/rpinet-call"
PORT=${PORT:-18573}
LAB=$(mktemp -d /tmp/rpinet-luci-lab.XXXXXX)
SERVER=
# run as root, rpinet mounts the nodes' shared roots (overlays) inside the lab: unmount them first
cleanup() {
	[ -z "$SERVER" ] || kill "$SERVER" 2>/dev/null || true
	awk -v lab="$LAB/" 'index($2, lab) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do umount "$m" || true; done
	rm -rf "$LAB"
}
trap cleanup EXIT
UUID=6a1f3c2e-9b7d-4e21-8f0a-2d5c7e9b1a44
# the moment of generation, and the boots' start 200 s before it (1700000000 in the output)
NOW0=$(date +%s)
BASE=$((NOW0 - 200))
SHIFT=$((BASE - 1700000000))

w() { mkdir -p "$(dirname "$LAB/$1")"; printf '%b' "$2" > "$LAB/$1"; }
r() { "$RPINET" --root "$LAB" "$@"; }
call() { printf '%s' "${2:-{\}}" | r call "$1"; }
# rec FILE METHOD [ARGS]: one call and its reply (errors too), in calls.json's index
rec() { call "$2" "${3:-}" > "$OUT/$1.json" || true; printf '%s\t%s\t%s\n' "$1" "$2" "${3:-{\}}" >> "$OUT/.calls"; }
# job FILE [roll]: follow the job FILE's reply started; every state it went through in job-FILE.json
job() {
	local id; id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["job"])' < "$OUT/$1.json")
	if [ "${2:-}" = roll ]; then python3 "$TESTS/lab.py" roll "$RPINET" "$LAB" "$id" "$OUT/job-$1.json"
	else python3 "$TESTS/lab.py" job "$LAB" "$id" "$OUT/job-$1.json"; fi
}

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

# ---- 1. the boots ----
T=/mnt/rpinet/tftp
PXE=PXEClient:Arch:00000:UNDI:002001
ev() { local t=$((BASE + $1)); shift; printf '%s\n' "$t $*" | tr ' ' '\t' >> "$LAB/tmp/rpinet/events.log"; }
mkdir -p "$LAB/tmp/rpinet"
: > "$LAB/tmp/rpinet/events.log"
# running_lion: firmware and kernel, but cmdline.txt is missing
ev 0 dhcp add dc:a6:32:79:26:df 192.168.1.57 - $PXE
ev 3 tftp 2228 192.168.1.57 $T/38c128c0/start4.elf
ev 4 tftp 1024 192.168.1.57 $T/38c128c0/config.txt
ev 5 miss 192.168.1.57 $T/38c128c0/cmdline.txt not_found
ev 42 tftp 8000000 192.168.1.57 $T/38c128c0/kernel8.img
# quiet_otter: a whole boot; its OS asks for a lease with its hostname
ev 100 dhcp add 2c:cf:67:0a:11:2b 192.168.1.71 - $PXE
ev 102 tftp 1024 192.168.1.71 $T/2c-cf-67-0a-11-2b/config.txt
ev 110 tftp 9000000 192.168.1.71 $T/2c-cf-67-0a-11-2b/kernel_2712.img
ev 160 dhcp update 2c:cf:67:0a:11:2b 192.168.1.71 quiet-otter dhcpcd-10.0.6:Linux
# brave_fox: only DHCP so far, 10 s ago (within what a Pi takes at that stage)
ev 190 dhcp add b8:27:eb:6c:4c:16 192.168.1.64 - $PXE
# a Pi that is no node yet
ev 150 dhcp add dc:a6:32:01:02:03 192.168.1.60 - $PXE
ev 151 miss 192.168.1.60 $T/91cdf03e/start4.elf not_found
sed -i 's/\tnot_found$/\tnot found/; s/\t-\t/\t\t/' "$LAB/tmp/rpinet/events.log"
mkdir -p "$LAB/var/lib/nfs"
printf '192.168.1.71:/mnt/rpinet/nfs/quiet_otter:0x00000001\n' > "$LAB/var/lib/nfs/rmtab"
touch -d @$((BASE + 125)) "$LAB/var/lib/nfs/rmtab"

rm -rf "$OUT"
mkdir -p "$OUT"
rec status status
rec status-page status '{"offset":0,"limit":50}'
rec status-limit1 status '{"limit":1}'
rec discovered discovered
rec doctor doctor
rec job-unknown job '{"id":"j0-0"}'
rec node_add node_add '{"name":"pi_91cdf03e","serial":"91CDF03E","mac":"DC:A6:32:01:02:03","model":"pi4","boot_id":"serial","boot_dir":"","ip":""}'
rec node_add-invalid node_add '{"name":"Bad-Name","serial":"xyz","mac":"dc:a6","model":"pi4","boot_id":"serial","boot_dir":"","ip":""}'
rec node_remove node_remove '{"name":"pi_91cdf03e","purge":false}'
r list > "$OUT/list.json"
rec images images
# storage on the SSD: rpinet refuses to say what an NFS server must export
rec storage_exports-ssd storage_exports
python3 "$TESTS/lab.py" uci "$LAB/etc/config/rpinet" > "$OUT/uci-boots.json"

# ---- 2. the fleet ----
WWW="$LAB/www"
IMG="$LAB/img"
mkdir -p "$WWW" "$IMG/root/etc/ssh" "$IMG/root/home/pi" "$IMG/root/boot/firmware" "$IMG/root/usr/bin" "$IMG/boot/overlays"
# a Raspberry Pi OS-shaped image: MBR, FAT32 boot partition, ext4 root with a first user (uid
# 1000); the same bytes on every run (seeded filler, fixed ids and times), so its size and
# checksum in the fixtures only change when this recipe does
bytes() { python3 -c 'import random, sys; sys.stdout.buffer.write(random.Random(sys.argv[2]).randbytes(int(sys.argv[1])))' "$@"; }
(
	cd "$IMG"
	printf 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n' > root/etc/os-release
	echo raspberrypi > root/etc/hostname
	printf '127.0.0.1\tlocalhost\n127.0.1.1\traspberrypi\n' > root/etc/hosts
	printf 'proc /proc proc defaults 0 0\nPARTUUID=5e3da3da-01 /boot/firmware vfat defaults 0 2\nPARTUUID=5e3da3da-02 / ext4 defaults,noatime 0 1\n' > root/etc/fstab
	printf 'root:x:0:0:root:/root:/bin/bash\npi:x:1000:1000:,,,:/home/pi:/bin/bash\n' > root/etc/passwd
	printf 'root:x:0:\npi:x:1000:\n' > root/etc/group
	chown -R 1000:1000 root/home/pi
	bytes 1500000 busybox > root/usr/bin/busybox
	printf 'console=serial0,115200 console=tty1 root=PARTUUID=5e3da3da-02 rootfstype=ext4 fsck.repair=yes rootwait\n' > boot/cmdline.txt
	printf '[all]\narm_64bit=1\n' > boot/config.txt
	bytes 2000000 kernel > boot/kernel8.img
	bytes 400000 start4 > boot/start4.elf
	bytes 50000 bootcode > boot/bootcode.bin
	echo overlays > boot/overlays/README
	find root boot -exec touch -h -d @1731974400 {} +
	E2FSPROGS_FAKE_TIME=1731974400 mkfs.ext4 -q -F -b 4096 -U 5e3da3da-0000-4000-8000-000000000002 \
		-E hash_seed=5e3da3da-0000-4000-8000-000000000003 -d root root.ext4 24M >/dev/null 2>&1
	# mke2fs copies each file's ctime, which touch cannot set: set it in the filesystem
	(cd root && find . -mindepth 1 -printf 'sif /%P ctime 20241119000000\n') | debugfs -w -f - root.ext4 >/dev/null 2>&1
	mkfs.vfat --invariant -i 5e3da3da -F 32 -n bootfs -C boot.fat 34000 >/dev/null 2>&1
	(cd boot && mcopy -s -m -i ../boot.fat ./* ::/)
	truncate -s 64M disk.img
	printf 'label: dos\nlabel-id: 0x5e3da3da\nstart=8192, size=68000, type=c\nstart=77824, size=49152, type=83\n' | sfdisk -q disk.img
	dd if=boot.fat of=disk.img bs=512 seek=8192 conv=notrunc status=none
	dd if=root.ext4 of=disk.img bs=512 seek=77824 conv=notrunc status=none
	xz -T1 -1 -c disk.img > "$WWW/2024-11-19-lab-lite.img.xz"
)
SUM=$(sha256sum "$WWW/2024-11-19-lab-lite.img.xz" | cut -d' ' -f1)
XSUM=$(sha256sum "$IMG/disk.img" | cut -d' ' -f1)
SIZE=$(stat -c %s "$WWW/2024-11-19-lab-lite.img.xz")
XSIZE=$(stat -c %s "$IMG/disk.img")
URL="http://127.0.0.1:$PORT/2024-11-19-lab-lite.img.xz"
# The list, in Raspberry Pi Imager's format: images at the top level and in a category's
# subitems; a category behind subitems_url (not followed) and a .zip (not an image rpinet takes).
cat > "$WWW/os_list.json" <<EOF
{"imager": {"latest_version": "1.9.0"},
 "os_list": [
  {"name": "Raspberry Pi OS Lite (64-bit)", "description": "A port of Debian Bookworm with no desktop environment",
   "url": "https://downloads.raspberrypi.com/raspios_lite_arm64/images/raspios_lite_arm64-2024-11-19/2024-11-19-raspios-bookworm-arm64-lite.img.xz",
   "release_date": "2024-11-19", "extract_size": 2759852032, "image_download_size": 455368620,
   "extract_sha256": "3b1ef0ba2c9fba7a7d1b5e5a4a9f1b8b0a8c9b0f7e2a8c0d1b2a3c4d5e6f7a8b",
   "image_download_sha256": "6ac3a10a1f144c7e9d1f8e568d75ca809288280a593eb6ca053e49b539f465a4",
   "devices": ["pi5-64bit", "pi4-64bit", "pi3-64bit"], "init_format": "systemd"},
  {"name": "Raspberry Pi OS (other)", "description": "Other Raspberry Pi OS based images",
   "subitems": [
    {"name": "rpinet lab image", "description": "A small image the fixture lab serves itself",
     "url": "$URL", "release_date": "2024-11-19", "extract_size": $XSIZE, "extract_sha256": "$XSUM",
     "image_download_size": $SIZE, "image_download_sha256": "$SUM"},
    {"name": "Raspberry Pi OS (Legacy, 64-bit) Lite", "description": "A port of Debian Bullseye with no desktop environment",
     "url": "https://downloads.raspberrypi.com/raspios_oldstable_lite_arm64/images/raspios_oldstable_lite_arm64-2024-10-28/2024-10-22-raspios-bullseye-arm64-lite.img.xz",
     "release_date": "2024-10-22", "extract_size": 2147483648, "image_download_size": 343932928}
   ]},
  {"name": "Misc utility images", "description": "Bootloader EEPROM configuration, etc.",
   "subitems_url": "https://downloads.raspberrypi.com/utility_list.json"},
  {"name": "An archive", "url": "https://example.org/not-an-image.zip", "release_date": "2020-01-01"}
 ]}
EOF
python3 "$TESTS/lab.py" serve "$WWW" "$PORT" &
SERVER=$!
for _ in $(seq 50); do curl -fsS -o /dev/null "http://127.0.0.1:$PORT/os_list.json" 2>/dev/null && break; sleep 0.1; done
curl -fsS -o /dev/null "http://127.0.0.1:$PORT/os_list.json" || { echo "make-fixtures: nothing serves 127.0.0.1:$PORT (PORT=... for another)" >&2; exit 1; }

KEY='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDjHwP2whd95ZBBpOhJim/hs8lZdCU2rKkzTYXrz+Jtu admin@laptop'
# the list unreachable first (nothing listens on port 9), then the lab's list
sed -i "/^config rpinet 'main'\$/a\\\toption catalog_url 'http://127.0.0.1:9/os_list.json'\n\toption roll_batch '2'\n\tlist ssh_key '$KEY'" "$LAB/etc/config/rpinet"
rec image_catalog-unreachable image_catalog
sed -i "s|http://127.0.0.1:9/os_list.json|http://127.0.0.1:$PORT/os_list.json|" "$LAB/etc/config/rpinet"
rm -f "$LAB/tmp/rpinet/catalog.json"
call image_catalog > /dev/null   # starts the fetch
for _ in $(seq 50); do [ -s "$LAB/tmp/rpinet/catalog.json" ] && break; sleep 0.1; done
rec image_catalog image_catalog

rec image_import-ftp image_import '{"url":"ftp://downloads.raspberrypi.com/x.img.xz"}'
rec image_import-both image_import "{\"url\":\"$URL\",\"path\":\"/mnt/rpinet/x.img.xz\"}"
rec image_import-badsum-arg image_import "{\"url\":\"$URL\",\"sha256\":\"abc\"}"
rec image_import-url image_import "{\"url\":\"$URL\",\"name\":\"2024-11-19-lab-lite\",\"sha256\":\"$SUM\"}"
job image_import-url
rec image_import-badsum image_import "{\"url\":\"$URL\",\"name\":\"lab-badsum\",\"sha256\":\"$(printf '%064d' 0)\"}"
job image_import-badsum
cp "$WWW/2024-11-19-lab-lite.img.xz" "$LAB/mnt/rpinet/lab-next.img.xz"
r image import /mnt/rpinet/lab-next.img.xz --name lab-next >/dev/null
rm "$LAB/mnt/rpinet/lab-next.img.xz"
for n in running_lion quiet_otter brave_fox; do r node provision "$n" --image 2024-11-19-lab-lite >/dev/null; done
# the images and the config as the roll starts
call images > "$OUT/images-fleet.json"
python3 "$TESTS/lab.py" uci "$LAB/etc/config/rpinet" > "$OUT/uci-fleet.json"

rec image_roll-nothing image_roll '{"image":"lab-next","from":"lab-gone"}'
rec image_roll-noselection image_roll '{"image":"lab-next"}'
rec image_roll-batch image_roll '{"image":"lab-next","from":"2024-11-19-lab-lite","batch":"99"}'
rec image_roll image_roll '{"image":"lab-next","from":"2024-11-19-lab-lite","batch":"2"}'
job image_roll roll
rec node_rollback node_rollback '{"name":"quiet_otter"}'
rec node_rollback-refused node_rollback '{"name":"running_lion"}'
rec inventory inventory

# rpinet's verdict on ssh_key lines: each alone in a config of its own
KEYS="$LAB/keys"
mkdir -p "$KEYS/etc/config"
cp "$LAB/etc/config/network" "$LAB/etc/config/dhcp" "$KEYS/etc/config/"
ED=${KEY#ssh-ed25519 }; ED=${ED% *}
python3 - "$OUT/ssh-keys.json" "$RPINET" "$KEYS" "$ED" <<'PY'
import json, subprocess, sys
out, rpinet, root, ed = sys.argv[1:]
lines = [
    f"ssh-ed25519 {ed} admin@laptop", f"ssh-ed25519   {ed}", f"ssh-ed25519 {ed}",
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBGRosa+9kPRMFC8mYgwiUtsymci2MAhtIiyjJFwyoE+vDyQRSrSCvr6Pj5zusasdgdxxjLIO8WfZ//nmFzRxugY= ops@desk",
    f"ssh-dss {ed} old", f"ssh-rsa {ed} wrong-type", "ssh-ed25519 AAAA", f"ssh-ed25519 {ed[:-4]}",
    f"ssh-ed25519 {ed[:-1]}", f"ssh-ed25519 {ed} \"quoted\"", f"ssh-ed25519 {ed} back\\slash",
    f"ssh-ed25519\t{ed}", "ssh-ed25519", f"{ed}", f"ssh-ed25519 {ed} a@b ssh-ed25519 {ed} c@d",
]
verdicts = []
for key in lines:
    with open(f"{root}/etc/config/rpinet", "w") as f:
        f.write("config rpinet 'main'\n\tlist ssh_key '" + key.replace("'", "'\\''") + "'\n")
    reply = json.loads(subprocess.run([rpinet, "--root", root, "call", "inventory"], input=b"{}",
                                      capture_output=True).stdout)
    err = reply.get("error") if isinstance(reply, dict) else None
    verdicts.append({"key": key, "accepted": err is None, "error": err})
with open(out, "w") as f:
    json.dump(verdicts, f)
PY

# ---- 3. storage on an NFS server ----
# The fleet's config with storage_server and storage_export in place of storage_uuid and a
# container volume for every node, in a router tree of its own: what the server must export
# (storage_exports-server.json, for the `nfs:` tests; not in calls.json, whose storage_exports
# is the SSD's refusal) and the config as LuCI reads it (uci-server.json).
NFS="$LAB/nfs"
mkdir -p "$NFS/etc/config"
cp "$LAB/etc/config/network" "$LAB/etc/config/dhcp" "$NFS/etc/config/"
sed "s|^\toption storage_uuid .*|\toption storage_server '192.168.1.10'\n\toption storage_export '/mnt/tank/rpinet'\n\toption volume_size '16G'|" \
	"$LAB/etc/config/rpinet" > "$NFS/etc/config/rpinet"
printf '{}' | "$RPINET" --root "$NFS" call storage_exports > "$OUT/storage_exports-server.json"
python3 "$TESTS/lab.py" uci "$NFS/etc/config/rpinet" > "$OUT/uci-server.json"

python3 "$TESTS/lab.py" index "$OUT"
python3 "$TESTS/lab.py" tidy "$OUT" "$SHIFT"
echo "fixtures from $RPINET ($("$RPINET" --root "$LAB" status --json >/dev/null && echo ok)) in $OUT"
