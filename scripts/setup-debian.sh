#!/usr/bin/env bash
# Install what rpinet's builds, tests and demo need on Debian 12.
# Idempotent: only missing packages are installed, so a second run is quick.
set -euo pipefail

# The lab: namespaces, a real dnsmasq, real filesystems, NFS exports files; python3-venv for
# the pinned ansible-core venv (below); curl and wget for URL imports; systemd for the
# systemd-analyze that checks the boot order of the units provisioning writes.
"$(dirname "$0")/apt-install.sh" setup \
  iproute2 dnsmasq-base e2fsprogs dosfstools mtools fdisk xz-utils attr python3 \
  python3-venv curl wget \
  nfs-kernel-server procps util-linux mount file binutils qemu-user-static time systemd

# Real libuci for the UCI differential test (the libuci-sys dev-dependency builds OpenWrt's
# uci and libubox sources with cmake and makes its bindings with libclang).
"$(dirname "$0")/apt-install.sh" setup cmake libclang-dev libjson-c-dev

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found; install Rust with rustup first" >&2
  exit 1
fi
for c in rustfmt clippy; do
  rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c"
done

# ansible-inventory for the inventory test, pinned (tests/fleet/requirements.txt), in a venv
# under the cargo target dir; made again when the pins change.
top=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$top/target}
venv=$target/test-tools/ansible
req=$top/tests/fleet/requirements.txt
if ! cmp -s "$req" "$venv/requirements.txt" 2>/dev/null; then
  echo "setup: ansible-core (pinned) into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps -r "$req"
  cp "$req" "$venv/requirements.txt"
fi
