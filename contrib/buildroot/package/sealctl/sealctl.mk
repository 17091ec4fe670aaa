################################################################################
#
# sealctl (host only: host-sealctl)
#
################################################################################

# The same source as the sealinit package.
SEALCTL_VERSION = 0.1.0
SEALCTL_SITE = $(realpath $(BR2_EXTERNAL_SEALINIT_PATH)/../..)
SEALCTL_SITE_METHOD = local
HOST_SEALCTL_DEPENDENCIES = host-bearssl host-dtc host-zstd host-libdivsufsort
# kconfiglib from the build machine's python3 (Debian: python3-kconfiglib).
HOST_SEALCTL_PY ?= python3

HOST_SEALCTL_MAKE_OPTS = \
	NO_APT=1 PY=$(HOST_SEALCTL_PY) KCONFIG_CONFIG=$(@D)/.config HOST_CC="$(HOSTCC)" \
	HOST_BEARSSL_INC=$(HOST_DIR)/include HOST_BEARSSL_LIB=$(HOST_DIR)/lib/libbearssl.a \
	HOST_LIBFDT_INC=$(HOST_DIR)/include/libfdt HOST_LIBFDT_LIB=$(HOST_DIR)/lib/libfdt.a \
	HOST_EXTRA_CFLAGS="$(HOST_CPPFLAGS)" HOST_EXTRA_LDFLAGS="$(HOST_LDFLAGS)"

# sealctl's caps come from Kconfig too; its defaults serve every board.
define HOST_SEALCTL_CONFIGURE_CMDS
	: > $(@D)/sealctl.defconfig
	cd $(@D) && KCONFIG_CONFIG=$(@D)/.config $(HOST_SEALCTL_PY) -m defconfig \
		--kconfig Kconfig sealctl.defconfig
endef

define HOST_SEALCTL_BUILD_CMDS
	$(HOST_MAKE_ENV) $(MAKE) -C $(@D) $(HOST_SEALCTL_MAKE_OPTS) sealctl man completion
endef

define HOST_SEALCTL_INSTALL_CMDS
	$(HOST_MAKE_ENV) $(MAKE) -C $(@D) $(HOST_SEALCTL_MAKE_OPTS) install DESTDIR= PREFIX=$(HOST_DIR)
endef

$(eval $(host-generic-package))
