################################################################################
#
# sealinit
#
################################################################################

# The source is the repository this external tree lives in (it sits in
# contrib/buildroot); SEALINIT_OVERRIDE_SRCDIR works as for any package.
SEALINIT_VERSION = 0.1.0
SEALINIT_SITE = $(realpath $(BR2_EXTERNAL_SEALINIT_PATH)/../..)
SEALINIT_SITE_METHOD = local
SEALINIT_DEPENDENCIES = bearssl dtc zstd
SEALINIT_BOARD = $(call qstrip,$(BR2_PACKAGE_SEALINIT_BOARD))
SEALINIT_DEFCONFIG = $(call qstrip,$(BR2_PACKAGE_SEALINIT_DEFCONFIG))
SEALINIT_FRAGMENTS = $(call qstrip,$(BR2_PACKAGE_SEALINIT_CONFIG_FRAGMENTS))
# sealinit's configuration is Kconfig read by kconfiglib, from the build
# machine's python3 (Debian: python3-kconfiglib).
SEALINIT_PY ?= python3

# One line of sealinit's Kconfig, into the defconfig the build starts from.
define SEALINIT_KCONFIG_SET
	echo 'CONFIG_$(1)=$(2)' >> $(@D)/sealinit.defconfig
endef
define SEALINIT_KCONFIG_BOOL
	echo '$(if $(2),CONFIG_$(1)=y,# CONFIG_$(1) is not set)' >> $(@D)/sealinit.defconfig
endef

# Buildroot's choices mapped onto sealinit's Kconfig (Kconfig in the source
# tree), over the defconfig, under the fragments.
define SEALINIT_CONFIGURE_CMDS
	$(if $(SEALINIT_DEFCONFIG),cat $(SEALINIT_DEFCONFIG),:) > $(@D)/sealinit.defconfig
	$(call SEALINIT_KCONFIG_SET,BOARD,$(BR2_PACKAGE_SEALINIT_BOARD))
	$(call SEALINIT_KCONFIG_BOOL,ARCH_ARM64,$(BR2_aarch64))
	$(call SEALINIT_KCONFIG_BOOL,ARCH_X86_64,$(BR2_x86_64))
	$(call SEALINIT_KCONFIG_BOOL,FAILURE_REBOOT,$(BR2_PACKAGE_SEALINIT_FAILURE_REBOOT))
	$(call SEALINIT_KCONFIG_BOOL,FAILURE_PANIC,$(BR2_PACKAGE_SEALINIT_FAILURE_PANIC))
	$(call SEALINIT_KCONFIG_BOOL,FAILURE_RESCUE,$(BR2_PACKAGE_SEALINIT_FAILURE_RESCUE))
	$(call SEALINIT_KCONFIG_BOOL,VERITY_EIO,$(BR2_PACKAGE_SEALINIT_VERITY_EIO))
	$(call SEALINIT_KCONFIG_BOOL,VERITY_RESTART,$(BR2_PACKAGE_SEALINIT_VERITY_RESTART))
	$(call SEALINIT_KCONFIG_BOOL,VERITY_PANIC,$(BR2_PACKAGE_SEALINIT_VERITY_PANIC))
	$(call SEALINIT_KCONFIG_SET,PREBOOT_LABEL,$(BR2_PACKAGE_SEALINIT_PREBOOT_LABEL))
	$(call SEALINIT_KCONFIG_SET,SYSTEM_LABEL,$(BR2_PACKAGE_SEALINIT_SYSTEM_LABEL))
	$(call SEALINIT_KCONFIG_SET,DATA_LABEL,$(BR2_PACKAGE_SEALINIT_DATA_LABEL))
	$(call SEALINIT_KCONFIG_SET,REQUIRED_CRYPTEXES,$(BR2_PACKAGE_SEALINIT_REQUIRED_CRYPTEXES))
	$(call SEALINIT_KCONFIG_SET,SYSTEM_NAME,$(BR2_PACKAGE_SEALINIT_SYSTEM_NAME))
	$(call SEALINIT_KCONFIG_SET,CRYPTEX_TARGETS,$(BR2_PACKAGE_SEALINIT_CRYPTEX_TARGETS))
	$(call SEALINIT_KCONFIG_SET,UBOOT_KEY_USAGES,$(BR2_PACKAGE_SEALINIT_UBOOT_KEY_USAGES))
	$(call SEALINIT_KCONFIG_BOOL,CMDLINE_LABELS,$(BR2_PACKAGE_SEALINIT_CMDLINE_LABELS))
	$(call SEALINIT_KCONFIG_BOOL,DATA_NOEXEC,$(BR2_PACKAGE_SEALINIT_DATA_NOEXEC))
	$(call SEALINIT_KCONFIG_SET,REAL_INIT,$(BR2_PACKAGE_SEALINIT_REAL_INIT))
	$(call SEALINIT_KCONFIG_SET,CONSOLE,$(BR2_PACKAGE_SEALINIT_CONSOLE))
	$(call SEALINIT_KCONFIG_SET,DEVICE_WAIT_MS,$(BR2_PACKAGE_SEALINIT_DEVICE_WAIT_MS))
	$(call SEALINIT_KCONFIG_SET,MODULE_LOAD_THREADS,$(BR2_PACKAGE_SEALINIT_MODULE_LOAD_THREADS))
	$(call SEALINIT_KCONFIG_BOOL,DEVELOPMENT,$(BR2_PACKAGE_SEALINIT_DEVELOPMENT))
	$(if $(SEALINIT_FRAGMENTS),cat $(SEALINIT_FRAGMENTS) >> $(@D)/sealinit.defconfig)
	cd $(@D) && KCONFIG_CONFIG=$(@D)/.config $(SEALINIT_PY) -m defconfig \
		--kconfig Kconfig sealinit.defconfig
endef

# sealinit decodes zstd patch streams: libzstd's decoder, built by
# sealinit's mk/lib.mk from the zstd package's source with the target
# compiler (Buildroot's zstd installs no libzstd.a with BR2_SHARED_LIBS,
# and sealinit is static).
SEALINIT_ZSTD_DECODER = $(@D)/zstd-decoder/libzstd.a
define SEALINIT_BUILD_ZSTD_DECODER
	$(TARGET_MAKE_ENV) $(MAKE) -C $(@D) -f mk/lib.mk LIB=zstd SRC=$(ZSTD_DIR) \
		OUT=$(@D)/zstd-decoder CC="$(TARGET_CC)" AR="$(TARGET_AR)" \
		CFLAGS="$(TARGET_CFLAGS) -ffunction-sections -fdata-sections"
endef

# The build with Buildroot's toolchain, BearSSL, libfdt and zstd; no apt.
SEALINIT_MAKE_OPTS = \
	NO_APT=1 PY=$(SEALINIT_PY) KCONFIG_CONFIG=$(@D)/.config \
	TARGET_CC="$(TARGET_CC)" TARGET_AR="$(TARGET_AR)" TARGET_STRIP="$(TARGET_STRIP)" \
	TARGET_LDFLAGS="$(TARGET_LDFLAGS)" \
	BEARSSL_INC=$(STAGING_DIR)/usr/include BEARSSL_LIB=$(STAGING_DIR)/usr/lib/libbearssl.a \
	LIBFDT_INC=$(STAGING_DIR)/usr/include LIBFDT_LIB=$(STAGING_DIR)/usr/lib/libfdt.a \
	ZSTD_INC=$(ZSTD_DIR)/lib ZSTD_LIB=$(SEALINIT_ZSTD_DECODER)

define SEALINIT_BUILD_CMDS
	$(SEALINIT_BUILD_ZSTD_DECODER)
	$(TARGET_MAKE_ENV) $(MAKE) -C $(@D) $(SEALINIT_MAKE_OPTS) sealinit
endef

# build/<board>/ or, without CONFIG_DEVELOPMENT, build/<board>-production/:
# the Makefile says which (print-sealinit).
define SEALINIT_INSTALL_TARGET_CMDS
	$(INSTALL) -D -m 0755 $$($(TARGET_MAKE_ENV) $(MAKE) -s --no-print-directory -C $(@D) \
		$(SEALINIT_MAKE_OPTS) print-sealinit) $(TARGET_DIR)/sbin/sealinit
	$(if $(BR2_PACKAGE_SEALINIT_INSTALL_AS_INIT),ln -sf sbin/sealinit $(TARGET_DIR)/init)
endef

$(eval $(generic-package))
