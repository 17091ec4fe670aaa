################################################################################
#
# libdivsufsort (host only: the suffix sorting of sealctl diff)
#
################################################################################

# Debian's source package, as for bearssl.
LIBDIVSUFSORT_VERSION = 2.0.1
LIBDIVSUFSORT_SOURCE = libdivsufsort_$(LIBDIVSUFSORT_VERSION).orig.tar.bz2
LIBDIVSUFSORT_SITE = https://deb.debian.org/debian/pool/main/libd/libdivsufsort
LIBDIVSUFSORT_LICENSE = MIT
LIBDIVSUFSORT_LICENSE_FILES = COPYING
HOST_LIBDIVSUFSORT_CONF_OPTS = --disable-shared --enable-static

$(eval $(host-autotools-package))
