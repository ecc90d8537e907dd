# Stand-in for OpenWrt's include/package.mk and package-pack.mk (see ../README.md): what
# `$(eval $(call BuildPackage,NAME))` makes of a package definition, laid out for
# cross/mkipk.sh and cross/mkapk.py:
#
#   make -C PKGDIR TOPDIR=cross/sdk STAGE_DIR=DIR PKGARCH=ARCH stage
#
# writes DIR/NAME/ (the files as installed) and DIR/NAME/CONTROL/ (control, conffiles,
# postinst-pkg, prerm-pkg) for every package the Makefile builds. PKGARCH names the
# architecture of packages that do not set their own (LuCI apps say `all`).

PKG_BUILD_DIR ?= $(CURDIR)
PKG_INSTALL_DIR ?= $(PKG_BUILD_DIR)/ipkg-install

empty :=
space := $(empty) $(empty)
comma := ,
define newline


endef

# DEPENDS as the control file writes it: `+name` (selected) and `name` are runtime
# dependencies, `+SYMBOL:name` is `name`; `@condition`s only decide whether the package can
# be built.
sdk_dep = $(lastword $(subst :, ,$(patsubst +%,%,$(1))))
sdk_depends = $(subst $(space),$(comma)$(space),$(strip libc $(foreach d,$(filter-out @%,$(1)),$(call sdk_dep,$(d)))))
sdk_list = $(subst $(space),$(comma)$(space),$(strip $(1)))

# The fields a Package/NAME section may set; cleared before each one is read.
SDK_PACKAGE_FIELDS := SECTION CATEGORY SUBMENU TITLE URL DEPENDS CONFLICTS PKGARCH

define sdk_control
Package: $(1)
Version: $(PKG_VERSION)-$(PKG_RELEASE)
Depends: $(call sdk_depends,$(SDK_$(1)_DEPENDS))
$(if $(strip $(SDK_$(1)_CONFLICTS)),Conflicts: $(call sdk_list,$(SDK_$(1)_CONFLICTS))$(newline))Source: openwrt/$(PKG_NAME)
SourceName: $(1)
License: $(PKG_LICENSE)
$(if $(PKG_LICENSE_FILES),LicenseFiles: $(PKG_LICENSE_FILES)$(newline))Section: $(SDK_$(1)_SECTION)
$(if $(SDK_$(1)_URL),URL: $(SDK_$(1)_URL)$(newline))Maintainer: $(PKG_MAINTAINER)
Architecture: $(or $(SDK_$(1)_PKGARCH),$(PKGARCH))
Installed-Size: 0
Description: $(SDK_$(1)_TITLE)
$(Package/$(1)/description)
endef

define BuildPackage
$(foreach f,$(SDK_PACKAGE_FIELDS),$(eval $(f) :=))
$(eval $(Package/$(1)))
$(foreach f,$(SDK_PACKAGE_FIELDS),$(eval SDK_$(1)_$(f) := $$($(f))))

.PHONY: stage stage/$(1) stage/$(1)/files
stage: stage/$(1)
stage/$(1)/files:
	rm -rf $(STAGE_DIR)/$(1)
	mkdir -p $(STAGE_DIR)/$(1)/CONTROL
	$$(call Package/$(1)/install,$(STAGE_DIR)/$(1))

# The control files, written once the files are in place. Description's continuation
# lines start with one space, as opkg reads them.
stage/$(1): stage/$(1)/files
	@$$(file >$(STAGE_DIR)/$(1)/CONTROL/control,$$(call sdk_control,$(1)))true
	@sed -i -e '/^Description:/,$$$$!b' -e '/^Description:/b' -e 's/^[[:space:]]*/ /' -e '/^ $$$$/d' $(STAGE_DIR)/$(1)/CONTROL/control
	@$$(if $$(strip $$(Package/$(1)/conffiles)),$$(file >$(STAGE_DIR)/$(1)/CONTROL/conffiles,$$(Package/$(1)/conffiles)))true
	@$$(if $$(Package/$(1)/postinst),$$(file >$(STAGE_DIR)/$(1)/CONTROL/postinst-pkg,$$(Package/$(1)/postinst)))true
	@$$(if $$(Package/$(1)/prerm),$$(file >$(STAGE_DIR)/$(1)/CONTROL/prerm-pkg,$$(Package/$(1)/prerm)))true
endef
