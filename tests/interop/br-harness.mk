# Stands in for Buildroot's package infrastructure, just enough to run the
# commands of contrib/buildroot's packages as Buildroot would run them
# (tests/interop/packaging.sh; Buildroot itself is not in Debian).
#   make -f br-harness.mk BR_CONFIG=... W=... TOP=... KINC=... STEP
# Each step's target lives in the package's build directory, so $(@D) is
# that directory, as in Buildroot.  What is NOT Buildroot's: no download
# (the tarballs Debian's apt fetched are unpacked by the test), no
# host-dtc/dtc/host-zstd/zstd (the build machine's and sealinit's own libfdt
# stand in; Debian's libzstd source, as sealinit's build unpacked it, is
# $(ZSTD_DIR)), the toolchain is Debian's musl-gcc.
include $(BR_CONFIG)
qstrip = $(strip $(subst ",,$(1)))
generic-package :=
host-generic-package :=
host-autotools-package :=
BR2_EXTERNAL_SEALINIT_PATH := $(TOP)/contrib/buildroot
ZSTD_DIR := $(TOP)/build/deps/src/zstd
INSTALL := install
TARGET_MAKE_ENV := PATH="$(PATH)"
HOST_MAKE_ENV := PATH="$(PATH)"
TARGET_CC := musl-gcc -isystem $(KINC)
TARGET_AR := ar
TARGET_STRIP := strip
TARGET_CFLAGS := -Os
TARGET_LDFLAGS :=
HOSTCC := cc
HOSTAR := ar
HOST_CFLAGS := -O2
STAGING_DIR := $(W)/staging
TARGET_DIR := $(W)/target
HOST_DIR := $(W)/host
HOST_CPPFLAGS := -I$(HOST_DIR)/include
HOST_LDFLAGS := -L$(HOST_DIR)/lib -Wl,-rpath,$(HOST_DIR)/lib
include $(BR2_EXTERNAL_SEALINIT_PATH)/external.mk

.PHONY: bearssl-staging sealinit host-libdivsufsort host-sealctl host-bearssl
bearssl-staging: $(W)/bearssl/.stamp
$(W)/bearssl/.stamp:
	$(BEARSSL_BUILD_CMDS)
	$(BEARSSL_INSTALL_STAGING_CMDS)
	touch $@

sealinit: $(W)/sealinit/.stamp
$(W)/sealinit/.stamp:
	$(SEALINIT_CONFIGURE_CMDS)
	$(SEALINIT_BUILD_CMDS)
	$(SEALINIT_INSTALL_TARGET_CMDS)
	touch $@

# host-autotools-package: configure --prefix=$(HOST_DIR) with the package's
# options, make, make install (no autoreconf: the package does not ask for it).
host-libdivsufsort: $(W)/libdivsufsort/.stamp
$(W)/libdivsufsort/.stamp:
	cd $(@D) && ./configure --prefix=$(HOST_DIR) $(HOST_LIBDIVSUFSORT_CONF_OPTS) >/dev/null
	$(HOST_MAKE_ENV) $(MAKE) -C $(@D) >/dev/null
	$(HOST_MAKE_ENV) $(MAKE) -C $(@D) install >/dev/null
	touch $@

host-sealctl: $(W)/sealctl/.stamp
$(W)/sealctl/.stamp:
	$(HOST_SEALCTL_CONFIGURE_CMDS)
	$(HOST_SEALCTL_BUILD_CMDS)
	$(HOST_SEALCTL_INSTALL_CMDS)
	touch $@

# The host-bearssl install commands, over a library the test put in
# build/ (host-bearssl's build commands are the target's with the host
# compiler: the target's run above).
host-bearssl: $(W)/bearssl-host/.stamp
$(W)/bearssl-host/.stamp:
	$(HOST_BEARSSL_INSTALL_CMDS)
	touch $@
