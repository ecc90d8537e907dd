#!/usr/bin/env bash
# Lay out a package as the router will hold it, plus CONTROL/ metadata, for
# cross/mkipk.sh and cross/mkapk.py to pack.
#
#   cross/stage.sh rpinet          ARCH BIN STAGE   # BIN: the static binary for ARCH
#   cross/stage.sh luci-app-rpinet all  SRC STAGE   # SRC: the luci-app-rpinet/ directory
#
# Version, license and description come from Cargo.toml; the package release
# and maintainer from openwrt/rpinet/Makefile (PKG_RELEASE, PKG_MAINTAINER):
# one source for every way the package is built.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
name=${1:?usage: stage.sh rpinet|luci-app-rpinet ARCH SRC STAGE}
arch=${2:?missing ARCH}
src=${3:?missing BIN or SRC}
stage=${4:?missing STAGE}

cargo_field() { sed -n "s/^$1 *= *\"\(.*\)\"/\1/p" "$top/Cargo.toml" | head -n1; }
make_var() { sed -n "s/^$1:=//p" "$top/openwrt/rpinet/Makefile" | head -n1; }
# The body of `define Package/rpinet/NAME` in the feed Makefile, as the SDK writes it to
# NAME-pkg (make's $$ unescaped): one definition of the install scripts for both builds.
make_define() {
  sed -n "/^define Package\/rpinet\/$1\$/,/^endef\$/p" "$top/openwrt/rpinet/Makefile" |
    sed '1d;$d' | sed 's/\$\$/$/g'
}
version=$(cargo_field version)-$(make_var PKG_RELEASE)
license=$(cargo_field license)
maintainer=$(make_var PKG_MAINTAINER)

rm -rf "$stage"
mkdir -p "$stage/CONTROL"
c=$stage/CONTROL

# The opkg install scripts OpenWrt generates for every package: the shared
# default_postinst / default_prerm (lib/functions.sh) run the package's own
# postinst-pkg / prerm-pkg, its uci-defaults, and enable + start / stop +
# disable its init scripts.
write_scripts() {
  cat >"$c/postinst" <<'SH'
#!/bin/sh
[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0
[ -s "${IPKG_INSTROOT}/lib/functions.sh" ] || exit 0
. "${IPKG_INSTROOT}/lib/functions.sh"
default_postinst "$0" "$@"
SH
  cat >"$c/prerm" <<'SH'
#!/bin/sh
[ -s "${IPKG_INSTROOT}/lib/functions.sh" ] || exit 0
. "${IPKG_INSTROOT}/lib/functions.sh"
default_prerm "$0" "$@"
SH
  chmod 755 "$c/postinst" "$c/prerm"
}

case $name in
rpinet)
  [ -f "$src" ] || { echo "stage: $src: no such binary" >&2; exit 1; }
  f=$top/files
  install -d -m755 "$stage/usr/sbin" "$stage/etc/config" "$stage/etc/init.d" \
    "$stage/etc/uci-defaults" "$stage/etc/hotplug.d/dhcp" "$stage/etc/hotplug.d/tftp" \
    "$stage/usr/libexec/rpcd"
  install -m755 "$src" "$stage/usr/sbin/rpinet"
  install -m600 "$f/etc/config/rpinet" "$stage/etc/config/rpinet"
  install -m755 "$f/etc/init.d/rpinet" "$stage/etc/init.d/rpinet"
  install -m755 "$f/etc/uci-defaults/90-rpinet" "$stage/etc/uci-defaults/90-rpinet"
  install -m644 "$f/etc/hotplug.d/dhcp/90-rpinet" "$stage/etc/hotplug.d/dhcp/90-rpinet"
  install -m644 "$f/etc/hotplug.d/tftp/90-rpinet" "$stage/etc/hotplug.d/tftp/90-rpinet"
  install -m755 "$f/usr/libexec/rpcd/rpinet" "$stage/usr/libexec/rpcd/rpinet"
  # The stock dnsmasq package is built with TFTP (dnsmasq-full provides
  # dnsmasq and has it on by default); nfs-kernel-server pulls kmod-fs-nfsd.
  # The SSD's own kmods (usb-storage, fs-ext4) depend on the hardware: the
  # README names them.
  depends="libc, dnsmasq, nfs-kernel-server"
  section=net
  description="Network-boot server for Raspberry Pi clusters
 Serves a Raspberry Pi cluster's boot files over TFTP and root filesystems
 over NFS from an SSD on the router: one UCI config, dnsmasq does DHCP."
  echo /etc/config/rpinet >"$c/conffiles"
  make_define postinst >"$c/postinst-pkg"
  make_define prerm >"$c/prerm-pkg"
  [ -s "$c/postinst-pkg" ] && [ -s "$c/prerm-pkg" ] || { echo "stage: no install scripts in openwrt/rpinet/Makefile" >&2; exit 1; }
  ;;
luci-app-rpinet)
  [ -d "$src" ] || { echo "stage: $src: no such directory" >&2; exit 1; }
  # luci.mk's layout: htdocs/ goes to /www, root/ to /.
  [ -d "$src/htdocs" ] && { install -d -m755 "$stage/www"; cp -R "$src/htdocs/." "$stage/www/"; }
  [ -d "$src/root" ] && cp -R "$src/root/." "$stage/"
  find "$stage" -path "$c" -prune -o -type d -exec chmod 755 {} + -o -type f -exec chmod go-w,a+r {} +
  title=$(sed -n 's/^LUCI_TITLE:=//p' "$src/Makefile" 2>/dev/null | head -n1)
  summary=$(sed -n 's/^LUCI_DESCRIPTION:=//p' "$src/Makefile" 2>/dev/null | head -n1)
  depends="libc, luci-base, rpinet"
  section=luci
  description="${title:-LuCI support for rpinet}
 ${summary:-Web interface for rpinet: storage, nodes, images and boot status.}"
  # conffiles: what the app ships under /etc/config, if anything.
  if [ -d "$stage/etc/config" ]; then
    (cd "$stage" && find ./etc/config -type f | sed 's/^\.//' | sort) >"$c/conffiles"
  fi
  [ -s "$c/conffiles" ] || rm -f "$c/conffiles"
  cat >"$c/postinst-pkg" <<'SH'
# A new LuCI app: drop LuCI's menu/index caches and let rpcd load its ACLs.
[ -n "${IPKG_INSTROOT}" ] || {
	rm -f /tmp/luci-indexcache*
	rm -rf /tmp/luci-modulecache/
	/etc/init.d/rpcd reload
}
SH
  ;;
*)
  echo "stage: unknown package $name" >&2; exit 1 ;;
esac
write_scripts

cat >"$c/control" <<CTRL
Package: $name
Version: $version
Depends: $depends
Source: openwrt/$name
SourceName: $name
License: $license
Section: $section
Maintainer: $maintainer
Architecture: $arch
Installed-Size: 0
Description: $description
CTRL
