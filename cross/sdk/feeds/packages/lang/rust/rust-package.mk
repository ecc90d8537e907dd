# Stand-in for the packages feed's lang/rust/rust-package.mk (see ../../README.md): the names
# a Rust package's Makefile uses. Nothing is compiled here; `make cross-*` builds the binary.
RUST_ARCH_DEPENDS := @(aarch64||arm||i386||i686||mips||mipsel||mips64||mips64el||powerpc||powerpc64||riscv64||x86_64)
define Build/Compile/Cargo
endef
define RustBinPackage
endef
