# Router packages: static musl binaries for every common OpenWrt architecture,
# packed as .ipk (opkg, OpenWrt <= 24.10) and .apk (apk-tools v3, 25.12).
#
#   make cross-setup     rustup targets for x86_64/aarch64 (+ zig toolchain: cross-setup-zig)
#   make ipk             x86_64 + aarch64 binaries -> dist/rpinet_<version>_<arch>.ipk
#   make apk             the same as apk v3 -> dist/apk/<arch>/rpinet-<version>-r<release>.apk
#   make packages        every architecture, .ipk and .apk, luci-app-rpinet too
#   make dist            packages + dist/SHA256SUMS
#   make test-packages   unpack and check the packages; aarch64 binary under qemu
#   make test-cross      unit tests for aarch64 and mipsel under qemu-user
#   make check-feed      the feed Makefiles keep the packages and LuCI feeds' conventions
#   make source          the release tarball PKG_SOURCE names, and whether PKG_HASH matches
#
# One definition of each package: openwrt/rpinet/Makefile and luci-app-rpinet/Makefile
# (also openwrt/luci-app-rpinet/). cross/stage.sh lays the prebuilt packages out from them,
# and test-packages compares every built package with them (cross/package-diff.py).
#
# Recipe: docs/facts.md §4; files installed on
# the router: files/; SDK build: openwrt/rpinet/Makefile.

NIGHTLY ?= nightly-2026-05-20
ZIG_VENV ?= $(CURDIR)/cross/.venv
DIST ?= dist
PKG_STAGE ?= $(TARGET_DIR)/pkg-stage
export SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)

# Every router binary is built the same way: the pinned nightly compiles std with the
# release profile (-Zbuild-std) and zig links it against its own musl. That, location
# details left out of panic messages, panics that abort at once (they print nothing;
# rpinet is built and fuzzed never to panic) and no unwind tables keep aarch64 under 768 KiB with everything
# in: 977,968 B with stable's prebuilt std, 837,872 B with build-std alone, 635,400 B so.
# (743,920 B since the image import gained parallel xz, .img.gz and the parallel copy;
# 741,384 B with the layered layout: nix wrappers, serde views, ubus through its command;
# 839,240 B with the reliability, volume and storm work, over the budget; 709,864 B without unwind tables:
# with panics that abort at once nothing unwinds, yet .eh_frame + .eh_frame_hdr were 144 KB.
# 815,056 B with the boot reports, over again; 777,192 B with std built for size
# (optimize_for_size: small sorts, not one ~2 KB sort per element type), Debug formatting
# left out (fmt-debug=none: nothing but tests prints {:?}) and the CRC64 tables made at run
# time instead of 16 KB of .rodata.)
# Tests (`cargo test`, test-cross) still build with stable and full panic messages.
LLD_TARGETS := x86_64-unknown-linux-musl aarch64-unknown-linux-musl
ZIG_TARGETS := armv7-unknown-linux-musleabihf mipsel-unknown-linux-musl mips-unknown-linux-musl
SIZE_FLAGS := "-C", "link-self-contained=no", "-C", "force-unwind-tables=no", "-Z", "location-detail=none", "-Z", "fmt-debug=none", "-Z", "unstable-options", "-C", "panic=immediate-abort"

# OpenWrt package architecture -> Rust target. One static binary serves every
# CPU variant of an architecture, so it is packed once per label.
ARCHS_x86_64-unknown-linux-musl := x86_64
ARCHS_aarch64-unknown-linux-musl := aarch64_cortex-a72 aarch64_cortex-a53 aarch64_cortex-a76 aarch64_generic
# Hard-float ARMv7 (the Rust target is VFPv3-D16 + Thumb-2, no NEON: every
# one of these CPUs runs it).
ARCHS_armv7-unknown-linux-musleabihf := arm_cortex-a7_neon-vfpv4 arm_cortex-a9_vfpv3-d16 \
	arm_cortex-a15_neon-vfpv4 arm_cortex-a9_neon arm_cortex-a8_vfpv3 arm_cortex-a5_vfpv4
ARCHS_mipsel-unknown-linux-musl := mipsel_24kc
ARCHS_mips-unknown-linux-musl := mips_24kc
# The size budget, checked at each build.
MAX_BYTES_aarch64-unknown-linux-musl := 786432

TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)
bin_of = $(TARGET_DIR)/$(1)/release/rpinet
VERSION = $(shell sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n1)
RELEASE = $(shell sed -n 's/^PKG_RELEASE:=//p' openwrt/rpinet/Makefile)
LUCI_DIR := luci-app-rpinet
# luci-app-rpinet is packed as soon as its directory holds files to install.
HAVE_LUCI = $(if $(wildcard $(LUCI_DIR)/htdocs $(LUCI_DIR)/root),1)

.PHONY: cross-setup cross-setup-zig ipk apk packages dist check-version test-packages test-cross check-feed source \
	$(addprefix cross-,$(LLD_TARGETS) $(ZIG_TARGETS))

cross-setup:
	NIGHTLY=$(NIGHTLY) ZIG_VENV=$(ZIG_VENV) cross/setup-debian.sh

cross-setup-zig:
	NIGHTLY=$(NIGHTLY) ZIG_VENV=$(ZIG_VENV) cross/setup-debian.sh --zig

$(addprefix cross-,$(LLD_TARGETS) $(ZIG_TARGETS)): cross-%: cross-setup-zig
	PATH="$(ZIG_VENV)/bin:$$PATH" $(CARGO) +$(NIGHTLY) zigbuild -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size \
		--config 'target.$*.rustflags=[$(SIZE_FLAGS)]' --release --locked --target $* --bin rpinet
	MAX_BYTES=$(MAX_BYTES_$*) cross/check-static.sh $(call bin_of,$*)

# pack FORMAT TARGETS: stage and pack one package per OpenWrt arch of each target, laid out
# from openwrt/rpinet/Makefile by cross/stage.sh.
pack = @set -e; for t in $(2); do \
		case $$t in $(foreach t,$(LLD_TARGETS) $(ZIG_TARGETS),$(t)$(rparen) archs="$(ARCHS_$(t))";;) esac; \
		for a in $$archs; do \
			for p in $$(cross/stage.sh rpinet $$a $(TARGET_DIR)/$$t/release/rpinet $(PKG_STAGE)/$(1)/$$a); do \
				$(call pack_one,$(1),$(PKG_STAGE)/$(1)/$$a/$$p,$$a); \
			done; \
		done; \
	done
rparen := )
# pack_one FORMAT STAGE ARCH
pack_one = $(if $(filter ipk,$(1)),cross/mkipk.sh $(2) $(DIST),python3 cross/mkapk.py $(2) $(DIST)/apk/$(3))

# luci-app-rpinet and its translations (arch all), packed with either format.
pack_luci = $(if $(HAVE_LUCI),@set -e; for p in $$(cross/stage.sh luci-app-rpinet all $(LUCI_DIR) $(PKG_STAGE)/$(1)/all); do \
		$(call pack_one,$(1),$(PKG_STAGE)/$(1)/all/$$p,noarch); \
	done)

ipk: check-version $(addprefix cross-,$(LLD_TARGETS))
	@mkdir -p $(DIST)
	$(call pack,ipk,$(LLD_TARGETS))
	$(call pack_luci,ipk)

apk: check-version $(addprefix cross-,$(LLD_TARGETS))
	$(call pack,apk,$(LLD_TARGETS))
	$(call pack_luci,apk)

packages: ipk apk $(addprefix cross-,$(ZIG_TARGETS))
	$(call pack,ipk,$(ZIG_TARGETS))
	$(call pack,apk,$(ZIG_TARGETS))
	@cross/check-static.sh $(foreach t,$(LLD_TARGETS) $(ZIG_TARGETS),$(call bin_of,$(t)))

# Release artefacts: exactly this build's packages, checked, and their sums.
dist:
	rm -rf $(DIST)
	$(MAKE) --no-print-directory packages
	cd $(DIST) && find . -name '*.ipk' -o -name '*.apk' | sed 's|^\./||' | LC_ALL=C sort \
		| xargs sha256sum >SHA256SUMS
	cross/test-packages.sh $(DIST)
	@cat $(DIST)/SHA256SUMS

# Cargo.toml is the one source of the version: the SDK Makefile must agree.
check-version:
	@v=$(VERSION); m=$$(sed -n 's/^PKG_VERSION:=//p' openwrt/rpinet/Makefile); \
	if [ "$$v" != "$$m" ]; then \
		echo "check-version: Cargo.toml says $$v, openwrt/rpinet/Makefile PKG_VERSION says $$m" >&2; exit 1; fi; \
	case "$(RELEASE)" in ''|*[!0-9]*) echo "check-version: PKG_RELEASE must be an integer (apk)" >&2; exit 1;; esac; \
	echo "check-version: $$v-$(RELEASE)"

# Checks packages made for the test alone, so stale ones in dist/ cannot mix in.
TEST_DIST := $(TARGET_DIR)/test-dist
test-packages:
	rm -rf $(TEST_DIST)
	$(MAKE) --no-print-directory ipk apk DIST=$(TEST_DIST)
	cross/test-packages.sh $(TEST_DIST)

# The unit tests on the router architectures under qemu-user: aarch64 (the
# Pi 4 router) and mipsel (32-bit; mips is big-endian and is built, not
# tested here, to keep `make test` short). Most of the time is the property
# tests running under qemu: ~2 min warm, ~6 min cold on 2 busy cores.
# PROPTEST_CASES: the property tests' 2000 cases take minutes under qemu-user; 200 still
# exercise every option on 64-bit aarch64 and 32-bit mipsel.
test-cross: export PROPTEST_CASES = 200
test-cross: cross-setup-zig
	$(CARGO) test --locked --target aarch64-unknown-linux-musl --bin rpinet
	PATH="$(ZIG_VENV)/bin:$$PATH" RUSTUP_TOOLCHAIN=$(NIGHTLY) cargo-zigbuild test \
		-Zbuild-std=std,panic_abort --locked --target mipsel-unknown-linux-musl --bin rpinet

check-feed:
	cross/check-feed.sh

source:
	cross/source-tarball.sh $(DIST)

TEST_TARGETS += check-feed test-packages test-cross
