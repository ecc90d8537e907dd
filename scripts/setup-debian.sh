#!/usr/bin/env bash
# Install what rpinet's builds, tests and demo need on Debian 12.
# Idempotent: only missing packages are installed, so a second run is quick.
set -euo pipefail

need=()
want() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed' || need+=("$1"); }

# The lab: namespaces, a real dnsmasq, real filesystems, NFS exports files.
for p in iproute2 dnsmasq-base e2fsprogs dosfstools mtools fdisk xz-utils \
         nfs-kernel-server procps util-linux mount file binutils qemu-user-static time; do
  want "$p"
done

if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found; install Rust with rustup first" >&2
  exit 1
fi
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
for t in x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do
  rustup target list --installed | grep -qx "$t" || rustup target add "$t"
done
