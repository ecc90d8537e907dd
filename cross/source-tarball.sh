#!/usr/bin/env bash
# The release source tarball openwrt/rpinet/Makefile's PKG_SOURCE names:
#
#   cross/source-tarball.sh DIR [TREE]    write DIR/rpinet-VERSION.tar.xz, print its SHA-256
#
# The tracked files of TREE (a commit or tree; default HEAD; `index` for what is staged)
# under rpinet-VERSION/, as a tar with every mtime 0, owner 0:0 and names sorted, xz on one
# thread: the same files give the same bytes, whenever and wherever it is made. The feed
# Makefile is left out (.gitattributes export-ignore), so its PKG_HASH can name this tarball
# without changing it. Says whether PKG_HASH matches.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:?usage: source-tarball.sh DIR [TREE]}
tree=${2:-HEAD}
[ "$tree" != index ] || tree=$(git write-tree)
version=$(git show "$tree:Cargo.toml" | sed -n 's/^version *= *"\(.*\)"/\1/p' | head -n1)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git archive --format=tar --prefix="rpinet-$version/" "$tree" | tar -C "$tmp" -xf -
mkdir -p "$dir"
out=$dir/rpinet-$version.tar.xz
tar -C "$tmp" --format=gnu --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
  -cf - "rpinet-$version" | xz -9 -T1 -c >"$out.tmp"
mv "$out.tmp" "$out"
sum=$(sha256sum "$out" | cut -d' ' -f1)
echo "$out $sum"
pinned=$(sed -n 's/^PKG_HASH:=//p' openwrt/rpinet/Makefile)
if [ "$pinned" = "$sum" ]; then
  echo "source: PKG_HASH matches"
else
  echo "source: PKG_HASH is $pinned; set it to $sum when releasing $version"
fi
