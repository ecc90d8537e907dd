# Stand-in for OpenWrt's rules.mk (see README.md here): the install commands a package's
# install section uses, with OpenWrt's modes.
INCLUDE_DIR := $(TOPDIR)/include
INSTALL_DIR := install -d -m0755
INSTALL_BIN := install -m0755
INSTALL_DATA := install -m0644
INSTALL_CONF := install -m0600
CP := cp -fpR
LN := ln -sf
FIND := find
XARGS := xargs -r
