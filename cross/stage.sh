#!/usr/bin/env bash
# Lay out packages as the router will hold them, plus CONTROL/ metadata, for cross/mkipk.sh
# and cross/mkapk.py to pack, from the feed Makefiles: the one definition of each package.
#
#   cross/stage.sh rpinet          ARCH BIN STAGE   # BIN: the static binary for ARCH
#   cross/stage.sh luci-app-rpinet all  SRC STAGE   # SRC: the app (luci-app-rpinet/); and one
#                                                   # luci-i18n-rpinet-LANG a SRC/po/LANG
#
# The Makefile (openwrt/rpinet/Makefile, luci-app-rpinet/Makefile) is evaluated by GNU make
# against cross/sdk/, which stands in for the SDK parts it calls (cross/sdk/README.md): its
# install section lays out the files, its fields and defines give the control file,
# conffiles and install scripts. STAGE/NAME/ is written for every package the Makefile
# builds; the names are printed, one a line.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
name=${1:?usage: stage.sh rpinet|luci-app-rpinet ARCH BIN|SRC STAGE}
arch=${2:?missing ARCH}
src=${3:?missing BIN or SRC}
stage=${4:?missing STAGE}

case $name in
  rpinet) pkgdir=$top/openwrt/rpinet bin=$src ;;
  luci-app-rpinet)
    [ -f "$src/Makefile" ] || { echo "stage: $src: no luci-app Makefile" >&2; exit 1; }
    pkgdir=$(cd "$src" && pwd) ;;
  *) echo "stage: unknown package $name" >&2; exit 1 ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
args=(TOPDIR="$top/cross/sdk" STAGE_DIR="$tmp/stage" PKGARCH="$arch")
if [ "$name" = rpinet ]; then
  [ -f "$bin" ] || { echo "stage: $bin: no such binary" >&2; exit 1; }
  # The SDK's build tree: the unpacked source (this checkout) and cargo's install root.
  mkdir -p "$tmp/install/bin"
  cp "$bin" "$tmp/install/bin/rpinet"
  args+=(PKG_BUILD_DIR="$top" PKG_INSTALL_DIR="$tmp/install")
fi
# OpenWrt builds with umask 022; a checkout may carry other modes.
umask 022
make -s --no-print-directory -C "$pkgdir" "${args[@]}" stage >&2

# The opkg install scripts OpenWrt generates for every package: the shared default_postinst
# / default_prerm (lib/functions.sh) run the package's own postinst-pkg / prerm-pkg, its
# uci-defaults, and enable + start / stop + disable its init scripts.
write_scripts() {
  cat >"$1/postinst" <<'SH'
#!/bin/sh
[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0
[ -s "${IPKG_INSTROOT}/lib/functions.sh" ] || exit 0
. "${IPKG_INSTROOT}/lib/functions.sh"
default_postinst "$0" "$@"
SH
  cat >"$1/prerm" <<'SH'
#!/bin/sh
[ -s "${IPKG_INSTROOT}/lib/functions.sh" ] || exit 0
. "${IPKG_INSTROOT}/lib/functions.sh"
default_prerm "$0" "$@"
SH
  chmod 755 "$1/postinst" "$1/prerm"
}

mkdir -p "$stage"
for d in "$tmp/stage"/*/; do
  p=$(basename "$d")
  write_scripts "$d/CONTROL"
  rm -rf "${stage:?}/$p"
  mv "$d" "$stage/$p"
  echo "$p"
done
