#!/usr/bin/env bash
# Check the built packages as opkg and a router would see them.
#
#   cross/test-packages.sh DIST
#
# For every rpinet_*.ipk (and luci-app-rpinet_*.ipk) in DIST: the container
# layout ipkg-build makes, the control metadata, the installed tree with its
# modes and owners, the install scripts, a static binary of the right
# architecture. Then the aarch64 binary runs under qemu-aarch64-static on a
# demo --root tree and must behave byte for byte like the x86_64 one (output,
# exit code and the files it writes). Also: `sh -n` on every shell file in
# files/, and the packer's output is reproducible.
# No real opkg or apk-tools exists in Debian 12 or any registry the build machines reach, so
# nothing here installs the packages with one; the checks below are what opkg and apk rely
# on, and cross/package-diff.py compares every package with its feed Makefile.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
dist=$(cd "${1:?usage: test-packages.sh DIST}" && pwd)
cd "$top"
tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT

passed=0 failed=0
ok() { passed=$((passed + 1)); }
fail() { echo "FAIL: $*" >&2; failed=$((failed + 1)); }
check() { # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then ok; else fail "$what"; fi
}

version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n1)-$(sed -n 's/^PKG_RELEASE:=//p' openwrt/rpinet/Makefile)

# --- shell syntax of everything installed on the router -----------------
for f in files/etc/init.d/rpinet files/etc/uci-defaults/90-rpinet \
         files/etc/hotplug.d/dhcp/90-rpinet files/etc/hotplug.d/tftp/90-rpinet \
         files/usr/libexec/rpcd/rpinet; do
  check "sh -n $f" sh -n "$f"
done
for f in cross/*.sh; do
  check "bash -n $f" bash -n "$f"
done
# what provisioning puts into node roots
for f in src/provision/node/rpinet-volume src/provision/node/rpinet-report; do
  check "sh -n $f" sh -n "$f"
done

# The rpinet packages, one per arch label: the four of the walking skeleton
# must be there.
for a in x86_64 aarch64_cortex-a72 aarch64_cortex-a53 aarch64_generic; do
  check "dist has rpinet_${version}_$a.ipk" test -f "$dist/rpinet_${version}_$a.ipk"
done

expected_tree="drwxr-xr-x ./
drwxr-xr-x ./etc/
drwxr-xr-x ./etc/config/
-rw------- ./etc/config/rpinet
drwxr-xr-x ./etc/hotplug.d/
drwxr-xr-x ./etc/hotplug.d/dhcp/
-rw-r--r-- ./etc/hotplug.d/dhcp/90-rpinet
drwxr-xr-x ./etc/hotplug.d/tftp/
-rw-r--r-- ./etc/hotplug.d/tftp/90-rpinet
drwxr-xr-x ./etc/init.d/
-rwxr-xr-x ./etc/init.d/rpinet
drwxr-xr-x ./etc/uci-defaults/
-rwxr-xr-x ./etc/uci-defaults/90-rpinet
drwxr-xr-x ./usr/
drwxr-xr-x ./usr/libexec/
drwxr-xr-x ./usr/libexec/rpcd/
-rwxr-xr-x ./usr/libexec/rpcd/rpinet
drwxr-xr-x ./usr/sbin/
-rwxr-xr-x ./usr/sbin/rpinet"

# tar_modes TARFILE: "mode path" per member, and fails unless all are 0/0.
tar_modes() {
  local listing
  listing=$(tar -tvzf "$1" --numeric-owner)
  if awk '$2 != "0/0" { bad = 1 } END { exit bad }' <<<"$listing"; then :; else
    fail "$1: a member not owned by 0/0"; fi
  awk '{ print $1, $6 }' <<<"$listing"
}

# control_field FILE NAME
control_field() { sed -n "s/^$2: //p" "$1" | head -n1; }

check_ipk() { # check_ipk IPK PACKAGE ARCH
  local ipk=$1 pkg=$2 arch=$3 d
  d=$tmp/$(basename "$ipk" .ipk)
  mkdir -p "$d/data" "$d/control"
  # Outer container: gzipped tar with exactly these members, in this order.
  check "$ipk: gzip outer" sh -c "gzip -t '$ipk'"
  local members
  members=$(tar -tzf "$ipk" | tr '\n' ' ')
  check "$ipk: members ($members)" test "$members" = "./debian-binary ./data.tar.gz ./control.tar.gz "
  tar -C "$d" -xzf "$ipk"
  check "$ipk: debian-binary is 2.0" test "$(cat "$d/debian-binary")" = 2.0
  tar -C "$d/data" -xzf "$d/data.tar.gz"
  tar -C "$d/control" -xzf "$d/control.tar.gz"
  tar_modes "$ipk" >/dev/null
  local c=$d/control/control
  check "$ipk: Package" test "$(control_field "$c" Package)" = "$pkg"
  check "$ipk: Version" test "$(control_field "$c" Version)" = "$version"
  check "$ipk: Architecture" test "$(control_field "$c" Architecture)" = "$arch"
  check "$ipk: file name" test "$(basename "$ipk")" = "${pkg}_${version}_${arch}.ipk"
  for f in License Section Maintainer Description; do
    check "$ipk: $f present" test -n "$(control_field "$c" $f)"
  done
  local size
  size=$(find "$d/data" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
  check "$ipk: Installed-Size $size" test "$(control_field "$c" Installed-Size)" = "$size"
  # Control fields are "Name: value" lines; only Description continues with " ".
  check "$ipk: control syntax" sh -c "! grep -vqE '^([A-Z][A-Za-z-]+: .+| .+)\$' '$c'"
  check "$ipk: postinst uses default_postinst" grep -q 'default_postinst "\$0" "\$@"' "$d/control/postinst"
  check "$ipk: prerm uses default_prerm" grep -q 'default_prerm "\$0" "\$@"' "$d/control/prerm"
  for s in postinst prerm postinst-pkg; do
    check "$ipk: sh -n $s" sh -n "$d/control/$s"
  done
  [ ! -e "$d/control/prerm-pkg" ] || check "$ipk: sh -n prerm-pkg" sh -n "$d/control/prerm-pkg"
  check "$ipk: postinst/prerm executable" test -x "$d/control/postinst" -a -x "$d/control/prerm"
  echo "$d"
}

for ipk in "$dist"/rpinet_*.ipk; do
  arch=$(basename "$ipk" .ipk); arch=${arch#rpinet_${version}_}
  d=$(check_ipk "$ipk" rpinet "$arch")
  c=$d/control/control
  deps=$(control_field "$c" Depends)
  check "$ipk: Depends ($deps)" test "$deps" = "libc, dnsmasq, nfs-kernel-server"
  check "$ipk: Conflicts nfs-kernel-server-v4" test "$(control_field "$c" Conflicts)" = nfs-kernel-server-v4
  check "$ipk: conffiles" test "$(cat "$d/control/conffiles")" = /etc/config/rpinet
  tree=$(tar_modes "$d/data.tar.gz")
  if [ "$tree" = "$expected_tree" ]; then ok; else
    fail "$ipk: installed tree differs:"; diff <(echo "$expected_tree") <(echo "$tree") >&2 || true; fi
  for f in etc/config/rpinet etc/init.d/rpinet etc/uci-defaults/90-rpinet \
           etc/hotplug.d/dhcp/90-rpinet etc/hotplug.d/tftp/90-rpinet usr/libexec/rpcd/rpinet; do
    check "$ipk: /$f is files/$f" cmp -s "$d/data/$f" "files/$f"
  done
  bin=$d/data/usr/sbin/rpinet
  check "$ipk: static binary" cross/check-static.sh "$bin" >/dev/null
  case $arch in
    x86_64) want='x86-64' ;;
    aarch64_*) want='ARM aarch64' ;;
    arm_*) want='ARM, EABI5' ;;
    mipsel_*) want='LSB.*MIPS' ;;
    mips_*) want='MSB.*MIPS' ;;
    *) want='unknown arch' ;;
  esac
  check "$ipk: binary is $want" sh -c "file -b '$bin' | grep -Eq '$want'"
  echo "$(basename "$ipk") $(sha256sum <"$bin" | cut -c1-16)" >>"$tmp/binaries"
done
# Every aarch64 label carries the same binary.
check "one aarch64 binary for all aarch64 labels" \
  test "$(grep '_aarch64_' "$tmp/binaries" | awk '{ print $2 }' | sort -u | wc -l)" = 1

# luci-app-rpinet is packed (both formats) as soon as its directory has files.
if [ -d luci-app-rpinet/htdocs ] || [ -d luci-app-rpinet/root ]; then
  check "dist has luci-app-rpinet_${version}_all.ipk" test -f "$dist/luci-app-rpinet_${version}_all.ipk"
  check "dist has apk/noarch/luci-app-rpinet-${version%-*}-r${version##*-}.apk" \
    test -f "$dist/apk/noarch/luci-app-rpinet-${version%-*}-r${version##*-}.apk"
fi
for ipk in "$dist"/luci-app-rpinet_*.ipk; do
  [ -f "$ipk" ] || continue
  d=$(check_ipk "$ipk" luci-app-rpinet all)
  check "$ipk: depends on rpinet" sh -c "grep -q '^Depends:.*rpinet' '$d/control/control'"
  check "$ipk: ships LuCI files" sh -c "ls '$d/data/www' '$d/data/usr/share' >/dev/null 2>&1"
done

# --- apk v3 packages (OpenWrt 25.12) ---------------------------------------
# Parsed with the packer's own reader: the checks compare every field and
# file with the .ipk of the same arch, so the two formats cannot drift apart.
# (Checked by hand against apk-tools 3.0.5, which no registry here ships.)
apk_version=${version%-*}-r${version##*-}
for apk in "$dist"/apk/*/rpinet-*.apk "$dist"/apk/noarch/luci-app-rpinet-*.apk; do
  [ -f "$apk" ] || continue
  dir=$(basename "$(dirname "$apk")")
  pkg=$(basename "$apk" "-$apk_version.apk")
  ipk=$dist/${pkg}_${version}_$( [ "$dir" = noarch ] && echo all || echo "$dir").ipk
  check "$apk: named <name>-$apk_version.apk" test -f "$dist/apk/$dir/$pkg-$apk_version.apk"
  check "$apk: has an .ipk twin" test -f "$ipk"
  [ -f "$ipk" ] || continue
  mkdir -p "$tmp/apk/$dir-$pkg/ipk"
  tar -xzf "$ipk" -O ./data.tar.gz | tar -C "$tmp/apk/$dir-$pkg/ipk" -xzf -
  if out=$(python3 - "$apk" "$tmp/apk/$dir-$pkg/ipk" "$pkg" "$apk_version" "$dir" "$tmp/apk/$dir-$pkg" <<'PY' 2>&1
import hashlib, os, stat, sys
sys.path.insert(0, "cross")
import mkapk
apk, ipk_tree, pkg, version, arch, scratch = sys.argv[1:]
info, files, scripts, data = mkapk.read(apk)
bad = []
def want(what, ok):
    if not ok: bad.append(what)
want("name %s" % info["name"], info["name"] == pkg)
want("version %s" % info["version"], info["version"] == version)
want("arch %s" % info["arch"], info["arch"] == arch)
if pkg == "rpinet":
    want("depends %s" % info["depends"], info["depends"] == ["dnsmasq", "libc", "nfs-kernel-server", "!nfs-kernel-server-v4"])
else:
    want("depends %s" % info["depends"], "rpinet" in info["depends"])
# Every file of the .ipk, same mode and content; plus the /lib/apk/packages files.
ipk_files = {}
for cur, _, names in os.walk(ipk_tree):
    for n in names:
        p = os.path.join(cur, n)
        ipk_files[os.path.relpath(p, ipk_tree)] = (stat.S_IMODE(os.lstat(p).st_mode), open(p, "rb").read())
apk_files = {os.path.join(d, n): (m, size, h) for d, n, m, size, h in files if n is not None}
meta = {"lib/apk/packages/%s.%s" % (pkg, x) for x in ("list", "conffiles", "conffiles_static")}
want("files %s" % sorted(set(apk_files) ^ set(ipk_files) - meta),
     set(apk_files) - meta == set(ipk_files) and "lib/apk/packages/%s.list" % pkg in apk_files)
for path, (mode, content) in ipk_files.items():
    if path in apk_files:
        m, size, h = apk_files[path]
        want("%s: mode %o" % (path, m), m == mode)
        want("%s: size/hash" % path, size == len(content) and h == hashlib.sha256(content).hexdigest())
want("installed-size", info["installed-size"] == sum(s for _, s, _ in apk_files.values()))
# DATA blocks: in path/file order, each the content its entry hashes.
order = [(d, n, h) for d, n, m, size, h in files if n is not None]
paths = []
for d, n, m, size, h in files:
    if n is None: paths.append([])
    else: paths[-1].append((n, size, h))
for p, f, content in data:
    n, size, h = paths[p - 1][f - 1]
    want("data block %d/%d" % (p, f), len(content) == size and hashlib.sha256(content).hexdigest() == h)
want("one data block per non-empty file", len(data) == sum(1 for _, s, _ in apk_files.values() if s))
want("post-install runs default_postinst", "\ndefault_postinst\n" in scripts.get("post-install", ""))
want("post-upgrade sets PKG_UPGRADE", "export PKG_UPGRADE=1" in scripts.get("post-upgrade", ""))
want("pre-deinstall runs default_prerm", "\ndefault_prerm\n" in scripts.get("pre-deinstall", ""))
for name, body in scripts.items():
    open(os.path.join(scratch, name), "w").write(body)
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
  ); then ok; else fail "$apk: $out"; fi
  for s in post-install post-upgrade pre-deinstall; do
    check "$apk: sh -n $s" sh -n "$tmp/apk/$dir-$pkg/$s"
  done
done
for a in x86_64 aarch64_cortex-a72 aarch64_cortex-a53 aarch64_generic; do
  check "dist has apk/$a/rpinet-$apk_version.apk" test -f "$dist/apk/$a/rpinet-$apk_version.apk"
done

# --- reproducible: packing the same tree again gives the same bytes -------
a=$dist/rpinet_${version}_aarch64_cortex-a72.ipk
if [ -f "$a" ]; then
  mkdir -p "$tmp/repro"
  tar -C "$tmp/repro" -xzf "$a" ./data.tar.gz ./debian-binary
  # with the mtime the package was made with
  export SOURCE_DATE_EPOCH=$(stat -c %Y "$tmp/repro/debian-binary")
  mkdir -p "$tmp/repro/bin" && tar -C "$tmp/repro/bin" -xzf "$tmp/repro/data.tar.gz" ./usr/sbin/rpinet
  cross/stage.sh rpinet aarch64_cortex-a72 "$tmp/repro/bin/usr/sbin/rpinet" "$tmp/repro/stage" >/dev/null
  cross/mkipk.sh "$tmp/repro/stage/rpinet" "$tmp/repro/out" >/dev/null
  check "repacking gives identical bytes" cmp -s "$a" "$tmp/repro/out/$(basename "$a")"
fi

# --- every router binary under qemu behaves like the x86_64 one -----------
# aarch64 always (make ipk builds it); armv7, mipsel and mips too when
# `make packages` has built them (mips is big-endian: the SSD's superblock UUID
# is read through explicit little-endian decoding, and this shows it).
unpack_bin() { # unpack_bin IPK DEST
  mkdir -p "$(dirname "$2")"
  tar -xzf "$1" -O ./data.tar.gz | tar -xzf - -O ./usr/sbin/rpinet >"$2"
  chmod 755 "$2"
}

# A demo router tree: the shipped default config turned on, three nodes, the
# stock dnsmasq/network config, and an SSD (an ext4 image with a known UUID)
# mounted at the storage path.
demo_root() { # demo_root DIR
  local r=$1 uuid=0b9e6c52-8a0d-4c1e-9f2a-6f1e2d3c4b5a
  rm -rf "$r"; mkdir -p "$r/etc/config" "$r/proc" "$r/dev" "$r/mnt/rpinet" "$r/var/etc" "$r/tmp"
  sed -e "s/option enabled '0'/option enabled '1'/" \
      -e "s/# option storage_uuid ''/option storage_uuid '$uuid'/" files/etc/config/rpinet >"$r/etc/config/rpinet"
  cat >>"$r/etc/config/rpinet" <<'UCI'

config node 'running_lion'
	option serial '38C128C0'
	option mac 'DC:A6:32:79:26:DF'
	option model 'pi4'

config node 'quiet_owl'
	option serial 'a1b2c3d4'
	option mac 'd8:3a:dd:01:02:03'
	option model 'pi5'
	option boot_id 'mac'
	option ip '192.168.1.51'

config node 'old_fox'
	option serial '00000000'
	option mac 'b8:27:eb:aa:bb:cc'
	option model 'pi3'
	option boot_id 'custom'
	option boot_dir 'fox'
UCI
  cat >"$r/etc/config/network" <<'UCI'
config interface 'lan'
	option device 'br-lan'
	option proto 'static'
	option ipaddr '192.168.1.1'
	option netmask '255.255.255.0'
UCI
  cat >"$r/etc/config/dhcp" <<'UCI'
config dnsmasq
	option domain 'lan'
	option local '/lan/'

config dhcp 'lan'
	option interface 'lan'
	option start '100'
	option limit '150'
	option leasetime '12h'
UCI
  printf 'conf-dir=/tmp/dnsmasq.cfg01411c.d\n' >"$r/var/etc/dnsmasq.conf.cfg01411c"
  printf '# /mnt\t*(ro,all_squash,insecure,sync)\n' >"$r/etc/exports"
  if [ ! -f "$tmp/ssd.img" ]; then
    truncate -s 4M "$tmp/ssd.img"
    mkfs.ext4 -q -F -U "$uuid" -L rpinet "$tmp/ssd.img"
  fi
  cp "$tmp/ssd.img" "$r/dev/sda1"
  printf '/dev/root / squashfs ro 0 0\n/dev/sda1 /mnt/rpinet ext4 rw,noatime 0 0\n' >"$r/proc/mounts"
}

# run_all BIN OUT: every read-only command, then a real apply; records
# stdout, stderr, exit code and the resulting tree.
run_all() {
  local bin=$1 out=$2 r=$tmp/root n=0
  mkdir -p "$out"
  demo_root "$r"
  while IFS= read -r cmd; do
    n=$((n + 1))
    # shellcheck disable=SC2086
    set +e; $bin $cmd >"$out/$n.out" 2>"$out/$n.err" </dev/null; echo $? >"$out/$n.rc"; set -e
    echo "$cmd" >"$out/$n.cmd"
  done <<CMDS
--help
apply --help
--root $r apply --dry-run
--root $r status --json
--root $r status
--root $r node show running_lion --json
--root $r doctor --json
--root $r node add bad_name! --serial 1 --mac x
list
--root $r apply
--root $r apply
CMDS
  # The tree apply left behind (file names, modes and contents).
  (cd "$r" && find . -path ./dev -prune -o -print0 | LC_ALL=C sort -z |
    xargs -0 stat -c '%A %n' ) >"$out/tree"
  (cd "$r" && find . -path ./dev -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) >"$out/sums"
  cp "$r/etc/exports" "$out/exports"
  cp "$r/tmp/dnsmasq.cfg01411c.d/rpinet.conf" "$out/rpinet.conf" 2>/dev/null || true
}

# Same file name for every arch: it shows in the usage text.
unpack_bin "$dist/rpinet_${version}_x86_64.ipk" "$tmp/x86_64/rpinet"
run_all "$tmp/x86_64/rpinet" "$tmp/run-x86_64"
for pair in aarch64_cortex-a72:aarch64 arm_cortex-a7_neon-vfpv4:arm mipsel_24kc:mipsel mips_24kc:mips; do
  arch=${pair%%:*} q=qemu-${pair#*:}-static
  ipk=$dist/rpinet_${version}_$arch.ipk
  if [ ! -f "$ipk" ]; then
    [ "$arch" = aarch64_cortex-a72 ] && fail "no $ipk to run under qemu"
    continue
  fi
  unpack_bin "$ipk" "$tmp/$arch/rpinet"
  run_all "$q $tmp/$arch/rpinet" "$tmp/run-$arch"
  if diff -r "$tmp/run-x86_64" "$tmp/run-$arch" >"$tmp/qemu.diff"; then ok; else
    fail "$arch under $q differs from x86_64:"; head -40 "$tmp/qemu.diff" >&2; fi
done
check "the binaries printed something (help)" test -s "$tmp/run-x86_64/1.out"
# And what they did is what apply is for (so an empty run cannot pass).
o=$tmp/run-aarch64_cortex-a72
check "apply --dry-run exits 0" test "$(cat "$o/3.rc")" = 0
check "apply exits 0" test "$(cat "$o/10.rc")" = 0
check "apply kept the user's exports line" grep -qx "# /mnt	\*(ro,all_squash,insecure,sync)" "$o/exports"
check "apply wrote the exports block" grep -q '^/mnt/rpinet/nfs/quiet_owl 192.168.1.51(.*mp=/mnt/rpinet)' "$o/exports"
check "apply wrote rpinet.conf" grep -qx 'tftp-root=/mnt/rpinet/tftp' "$o/rpinet.conf"
check "a refused node name exits non-zero" test "$(cat "$o/8.rc")" != 0

# --- every package is what its feed Makefile defines ----------------------
if python3 cross/package-diff.py "$dist" >"$tmp/package-diff" 2>&1; then ok; else
  fail "a package differs from its definition:"; cat "$tmp/package-diff" >&2; fi
tail -n1 "$tmp/package-diff"

# --- translations: luci.mk's luci-i18n-rpinet-LANG from po/LANG/rpinet.po --------
# None ship yet, so a copy of the app gets a German one: the .lmo must give LuCI's lookups
# the translations (plain, with a context, plural header), and the packages must be their
# definition in both formats.
i18n=$tmp/i18n/luci-app-rpinet
mkdir -p "$i18n/po/de"
cp -R luci-app-rpinet/Makefile luci-app-rpinet/htdocs luci-app-rpinet/root "$i18n/"
cat >"$i18n/po/de/rpinet.po" <<'PO'
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\n"

msgid "Nodes"
msgstr "Knoten"

msgctxt "boot stage"
msgid "Running"
msgstr "Läuft"

msgid "Settings"
msgstr ""
PO
stage_out=$(cross/stage.sh luci-app-rpinet all "$i18n" "$tmp/i18n/stage" | tr '\n' ' ')
check "luci.mk stand-in builds the app and its German package ($stage_out)" \
  test "$stage_out" = "luci-app-rpinet luci-i18n-rpinet-de "
lmo=$tmp/i18n/stage/luci-i18n-rpinet-de/usr/lib/lua/luci/i18n/rpinet.de.lmo
check "rpinet.de.lmo: Nodes" test "$(python3 cross/po2lmo.py --lookup "$lmo" Nodes)" = Knoten
check "rpinet.de.lmo: Running in context" test "$(python3 cross/po2lmo.py --lookup "$lmo" Running 'boot stage')" = "Läuft"
check "rpinet.de.lmo: an untranslated string is left out" sh -c "! python3 cross/po2lmo.py --lookup '$lmo' Settings"
for p in luci-app-rpinet luci-i18n-rpinet-de; do
  cross/mkipk.sh "$tmp/i18n/stage/$p" "$tmp/i18n/dist" >/dev/null
  python3 cross/mkapk.py "$tmp/i18n/stage/$p" "$tmp/i18n/dist/apk/noarch" >/dev/null
done
if python3 cross/package-diff.py "$tmp/i18n/dist" "$i18n" >"$tmp/i18n/diff" 2>&1; then ok; else
  fail "a translation package differs from its definition:"; cat "$tmp/i18n/diff" >&2; fi

# The OpenWrt SDK Makefile agrees with Cargo.toml.
check "openwrt/rpinet/Makefile PKG_VERSION = Cargo.toml version" \
  test "$(sed -n 's/^PKG_VERSION:=//p' openwrt/rpinet/Makefile)-$(sed -n 's/^PKG_RELEASE:=//p' openwrt/rpinet/Makefile)" = "$version"

echo "test-packages: $passed passed, $failed failed"
[ "$failed" = 0 ]
