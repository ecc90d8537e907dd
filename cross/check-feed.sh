#!/usr/bin/env bash
# The feed Makefiles keep the conventions of OpenWrt's packages and LuCI feeds, so they can be
# submitted there as they are (net/rpinet, applications/luci-app-rpinet). The SDK itself
# cannot be had on the build machines; this checks what a feed reviewer checks by eye.
#
#   cross/check-feed.sh
set -euo pipefail
cd "$(dirname "$0")/.."

passed=0 failed=0
check() { # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then passed=$((passed + 1)); else echo "FAIL: $what" >&2; failed=$((failed + 1)); fi
}
var() { sed -n "s/^$2:=//p" "$1" | head -n1; }
has() { grep -qE "$2" "$1"; }

m=openwrt/rpinet/Makefile
check "$m: SPDX licence line first" has "$m" '^# SPDX-License-Identifier: '
check "$m: includes \$(TOPDIR)/rules.mk before anything else" \
  test "$(grep -m1 '^include' "$m")" = 'include $(TOPDIR)/rules.mk'
check "$m: PKG_NAME is rpinet" test "$(var "$m" PKG_NAME)" = rpinet
check "$m: PKG_VERSION is Cargo.toml's version" \
  test "$(var "$m" PKG_VERSION)" = "$(sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n1)"
check "$m: PKG_RELEASE is a number" sh -c "echo '$(var "$m" PKG_RELEASE)' | grep -qE '^[0-9]+\$'"
# The source is pinned: a tarball by its hash, or a git commit by its hash.
if [ -n "$(var "$m" PKG_SOURCE_PROTO)" ]; then
  check "$m: PKG_SOURCE_PROTO is git" test "$(var "$m" PKG_SOURCE_PROTO)" = git
  check "$m: PKG_SOURCE_VERSION is a commit" sh -c "echo '$(var "$m" PKG_SOURCE_VERSION)' | grep -qE '^[0-9a-f]{40}\$'"
  check "$m: PKG_MIRROR_HASH is a SHA-256" sh -c "echo '$(var "$m" PKG_MIRROR_HASH)' | grep -qE '^[0-9a-f]{64}\$'"
else
  check "$m: PKG_SOURCE names a versioned tarball" \
    sh -c "echo '$(var "$m" PKG_SOURCE)' | grep -qE '^\\\$\\(PKG_NAME\\)-\\\$\\(PKG_VERSION\\)\\.tar\\.(gz|xz|zst)\$'"
  check "$m: PKG_SOURCE_URL is https" sh -c "echo '$(var "$m" PKG_SOURCE_URL)' | grep -q '^https://'"
  check "$m: PKG_HASH is a SHA-256" sh -c "echo '$(var "$m" PKG_HASH)' | grep -qE '^[0-9a-f]{64}\$'"
fi
check "$m: PKG_MAINTAINER is 'Name <e-mail>'" sh -c "echo '$(var "$m" PKG_MAINTAINER)' | grep -qE '^[^<]+ <[^@> ]+@[^@> ]+\\.[a-z]+>\$'"
check "$m: PKG_LICENSE is MIT, as Cargo.toml says" \
  test "$(var "$m" PKG_LICENSE)" = "$(sed -n 's/^license *= *"\(.*\)"/\1/p' Cargo.toml | head -n1)"
for f in $(var "$m" PKG_LICENSE_FILES); do check "$m: PKG_LICENSE_FILES: $f exists" test -f "$f"; done
check "$m: PKG_LICENSE_FILES set" test -n "$(var "$m" PKG_LICENSE_FILES)"
check "$m: PKG_BUILD_DEPENDS has rust/host" has "$m" '^PKG_BUILD_DEPENDS:=.*rust/host'
check "$m: includes \$(INCLUDE_DIR)/package.mk" has "$m" '^include \$\(INCLUDE_DIR\)/package\.mk'
check "$m: includes lang/rust/rust-package.mk" has "$m" 'lang/rust/rust-package\.mk'
check "$m: DEPENDS starts with \$(RUST_ARCH_DEPENDS)" has "$m" '^  DEPENDS:=\$\(RUST_ARCH_DEPENDS\) '
for f in SECTION CATEGORY TITLE URL; do check "$m: Package/rpinet sets $f" has "$m" "^  $f:="; done
check "$m: description, conffiles and install defined" \
  sh -c "grep -q '^define Package/rpinet/description' '$m' && grep -q '^define Package/rpinet/conffiles' '$m' && grep -q '^define Package/rpinet/install' '$m'"
# Built from PKG_SOURCE alone: no Build/Prepare of its own, nothing read from a checkout.
check "$m: no Build/Prepare (the SDK unpacks PKG_SOURCE)" sh -c "! grep -q '^define Build/Prepare' '$m'"
check "$m: no paths outside the package" sh -c "! grep -qE 'CURDIR\\)/\\.\\.|abspath' '$m'"
check "$m: ends with BuildPackage" test "$(grep -v '^$' "$m" | tail -n1)" = '$(eval $(call BuildPackage,rpinet))'
check "$m: tabs, not spaces, in recipes" sh -c "! grep -qE '^ +\\\$\\((INSTALL|CP|call)' '$m'"

l=luci-app-rpinet/Makefile
check "openwrt/luci-app-rpinet is luci-app-rpinet/" test "$(readlink openwrt/luci-app-rpinet)" = ../luci-app-rpinet
check "$l: includes \$(TOPDIR)/rules.mk first" test "$(grep -m1 '^include' "$l")" = 'include $(TOPDIR)/rules.mk'
for f in LUCI_TITLE LUCI_DEPENDS PKG_LICENSE; do check "$l: sets $f" test -n "$(var "$l" $f)"; done
check "$l: LUCI_DEPENDS has +rpinet" sh -c "echo '$(var "$l" LUCI_DEPENDS)' | grep -q '+rpinet'"
check "$l: PKG_MAINTAINER is rpinet's" test "$(var "$l" PKG_MAINTAINER)" = "$(var "$m" PKG_MAINTAINER)"
check "$l: PKG_VERSION is rpinet's" test "$(var "$l" PKG_VERSION)" = "$(var "$m" PKG_VERSION)"
check "$l: includes luci.mk" has "$l" '^include .*luci\.mk'
check "$l: ends with LuCI's BuildPackage signature" \
  test "$(grep -v '^$' "$l" | tail -n1)" = '# call BuildPackage - OpenWrt buildroot signature'

# The release tarball leaves out the Makefile that pins its hash.
check ".gitattributes: $m is export-ignore" grep -qx "$m export-ignore" .gitattributes

echo "check-feed: $passed passed, $failed failed"
[ "$failed" = 0 ]
