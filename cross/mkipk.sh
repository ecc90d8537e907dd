#!/usr/bin/env bash
# Pack a staged package tree into an OpenWrt .ipk, the way OpenWrt's
# ipkg-build does it (opkg, OpenWrt <= 24.10):
#
#   cross/mkipk.sh STAGE OUTDIR
#
# STAGE holds the files as installed on the router, plus STAGE/CONTROL/ with
# control (Installed-Size is filled in here), conffiles, postinst, prerm, ...
# The .ipk is a gzipped tar (not an ar archive) of ./debian-binary,
# ./data.tar.gz and ./control.tar.gz; every tar is GNU format, sorted by name,
# owned by 0:0, with the mtime SOURCE_DATE_EPOCH (default 0): the same
# inputs give the same bytes. Prints the path of the written package.
set -euo pipefail

stage=${1:?usage: mkipk.sh STAGE OUTDIR}
out=${2:?usage: mkipk.sh STAGE OUTDIR}
control=$stage/CONTROL
[ -f "$control/control" ] || { echo "mkipk: $control/control is missing" >&2; exit 1; }

field() { sed -n "s/^$1: *//p" "$control/control" | head -n1; }
pkg=$(field Package)
version=$(field Version)
arch=$(field Architecture)
for v in pkg version arch; do
  [ -n "${!v}" ] || { echo "mkipk: $control/control has no $v field" >&2; exit 1; }
done

epoch=${SOURCE_DATE_EPOCH:-0}
tarflags=(--format=gnu --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# data.tar.gz: everything but CONTROL/, modes as staged.
(cd "$stage" && tar "${tarflags[@]}" --exclude=./CONTROL -cpf - .) | gzip -9n >"$tmp/data.tar.gz"

# Installed-Size: the bytes the files take once unpacked (what opkg checks
# against free space), not the compressed size.
size=$(cd "$stage" && find . -path ./CONTROL -prune -o -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')
mkdir "$tmp/control"
cp -p "$control"/* "$tmp/control/"
if grep -q '^Installed-Size:' "$tmp/control/control"; then
  sed -i "s/^Installed-Size:.*/Installed-Size: $size/" "$tmp/control/control"
else
  sed -i "/^Description:/i Installed-Size: $size" "$tmp/control/control"
fi
(cd "$tmp/control" && tar "${tarflags[@]}" -cf - .) | gzip -9n >"$tmp/control.tar.gz"

echo 2.0 >"$tmp/debian-binary"
mkdir -p "$out"
ipk=$out/${pkg}_${version}_${arch}.ipk
(cd "$tmp" && tar "${tarflags[@]}" -cf - ./debian-binary ./data.tar.gz ./control.tar.gz) | gzip -9n >"$ipk.tmp"
mv "$ipk.tmp" "$ipk"
echo "$ipk"
