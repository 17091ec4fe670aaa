SUMMARY = "sealctl: keys, sealed images, trust anchors, patches (build host)"
require sealinit.inc
inherit native

DEPENDS = "bearssl-native dtc-native zstd-native libdivsufsort-native python3-kconfiglib-native"
# sealctl seal --dir runs mkfs.erofs.
RDEPENDS:${PN} = "erofs-utils-native"

EXTRA_OEMAKE = "${SEALINIT_MAKE} HOST_CC='${CC}' \
	HOST_BEARSSL_INC=${STAGING_INCDIR} HOST_BEARSSL_LIB=${STAGING_LIBDIR}/libbearssl.a \
	HOST_LIBFDT_INC=${STAGING_INCDIR} HOST_LIBFDT_LIB=${STAGING_LIBDIR}/libfdt.a \
	HOST_EXTRA_CFLAGS='${CPPFLAGS}' HOST_EXTRA_LDFLAGS='${LDFLAGS}'"

# sealctl's caps come from Kconfig too; its defaults serve every board.
do_configure() {
	: > ${B}/sealctl.defconfig
	cd ${S} && KCONFIG_CONFIG=${B}/.config python3 -m defconfig --kconfig Kconfig ${B}/sealctl.defconfig
}

do_compile() {
	oe_runmake sealctl man completion
}

do_install() {
	oe_runmake install DESTDIR=${D} PREFIX=${prefix}
}
