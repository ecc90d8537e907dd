#!/usr/bin/env bash
# Install the cross toolchains rpinet's packages are built with (Debian 12).
#
#   cross/setup-debian.sh          x86_64 + aarch64: stable rustup targets, rust-lld links
#   cross/setup-debian.sh --zig    also armv7 / mipsel / mips: a pinned nightly with rust-src
#                                  (-Zbuild-std) and cargo-zigbuild + ziglang in cross/.venv
#
# Idempotent: every step checks first, so a second run takes a second or two.
# Everything comes from the registries (Debian apt, rustup's dist server, PyPI).
# The recipe and the reasons behind it: docs/facts.md §4.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
NIGHTLY=${NIGHTLY:-nightly-2026-05-20}
ZIG_VENV=${ZIG_VENV:-$here/.venv}
CARGO_ZIGBUILD_VERSION=0.24.1
ZIGLANG_VERSION=0.17.1

zig=0
[ "${1:-}" = --zig ] && zig=1

pkgs=(qemu-user-static binutils file tar gzip)
[ $zig = 1 ] && pkgs+=(python3-venv)
"$here/../scripts/apt-install.sh" cross-setup "${pkgs[@]}"

if ! command -v rustup >/dev/null 2>&1; then
  echo "cross-setup: rustup not found; install Rust with rustup first" >&2
  exit 1
fi

# Stable std for the two targets rustup ships; rust-lld (in the toolchain) links them.
installed=$(rustup target list --installed)
for t in x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do
  grep -qx "$t" <<<"$installed" || rustup target add "$t"
done

[ $zig = 1 ] || exit 0

# armv7 / mips need std built from source (-Zbuild-std): a pinned nightly + rust-src.
if ! rustup run "$NIGHTLY" rustc --version >/dev/null 2>&1; then
  rustup toolchain install "$NIGHTLY" --profile minimal --component rust-src --no-self-update
fi
rustup component list --installed --toolchain "$NIGHTLY" | grep -q '^rust-src' ||
  rustup component add rust-src --toolchain "$NIGHTLY"

# zig links them against its own musl: cargo-zigbuild and ziglang from PyPI.
if ! "$ZIG_VENV/bin/cargo-zigbuild" --version 2>/dev/null | grep -q "$CARGO_ZIGBUILD_VERSION" ||
   ! "$ZIG_VENV/bin/python3" -m ziglang version >/dev/null 2>&1; then
  python3 -m venv "$ZIG_VENV"
  "$ZIG_VENV/bin/pip" install -q "cargo-zigbuild==$CARGO_ZIGBUILD_VERSION" "ziglang==$ZIGLANG_VERSION"
fi
echo "cross-setup: ready ($NIGHTLY, cargo-zigbuild $CARGO_ZIGBUILD_VERSION, ziglang $ZIGLANG_VERSION)"
