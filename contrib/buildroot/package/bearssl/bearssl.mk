################################################################################
#
# bearssl
#
################################################################################

# Debian's source package (the upstream tarball Debian ships, checked by
# bearssl.hash against Debian's signed index): sealinit takes its
# dependencies from Debian's archive only.
BEARSSL_VERSION = 0.6+dfsg.1
BEARSSL_SOURCE = bearssl_$(BEARSSL_VERSION).orig.tar.xz
BEARSSL_SITE = https://deb.debian.org/debian/pool/main/b/bearssl
BEARSSL_LICENSE = MIT
BEARSSL_LICENSE_FILES = LICENSE.txt
BEARSSL_INSTALL_STAGING = YES
BEARSSL_INSTALL_TARGET = NO

# The static library only ("lib": no tools, no tests, no shared object).
define BEARSSL_BUILD_CMDS
	$(TARGET_MAKE_ENV) $(MAKE) -C $(@D) CC="$(TARGET_CC)" AR="$(TARGET_AR)" \
		CFLAGS="$(TARGET_CFLAGS) -W -Wall -fPIC" lib
endef

define BEARSSL_INSTALL_STAGING_CMDS
	$(INSTALL) -D -m 0644 $(@D)/build/libbearssl.a $(STAGING_DIR)/usr/lib/libbearssl.a
	$(INSTALL) -m 0644 -t $(STAGING_DIR)/usr/include $(@D)/inc/*.h
endef

define HOST_BEARSSL_BUILD_CMDS
	$(HOST_MAKE_ENV) $(MAKE) -C $(@D) CC="$(HOSTCC)" AR="$(HOSTAR)" \
		CFLAGS="$(HOST_CFLAGS) -W -Wall -fPIC" lib
endef

define HOST_BEARSSL_INSTALL_CMDS
	$(INSTALL) -D -m 0644 $(@D)/build/libbearssl.a $(HOST_DIR)/lib/libbearssl.a
	$(INSTALL) -d $(HOST_DIR)/include
	$(INSTALL) -m 0644 -t $(HOST_DIR)/include $(@D)/inc/*.h
endef

$(eval $(generic-package))
$(eval $(host-generic-package))
