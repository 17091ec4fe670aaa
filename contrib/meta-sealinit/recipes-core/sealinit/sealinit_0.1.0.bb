SUMMARY = "sealinit: verified boot and rapid updates from the initramfs"
DESCRIPTION = "One static program (musl, BearSSL, libfdt, libzstd) that runs as /init \
in the initramfs: it verifies the sealed kernel collection, system volume and \
cryptexes against the trust anchor in the device tree, mounts them through \
dm-verity and hands off to the real init."
require sealinit.inc

DEPENDS = "bearssl dtc zstd python3-kconfiglib-native"
# musl (TCLIBC = "musl"), arm64 or x86-64: what sealinit is built and tested for.
COMPATIBLE_HOST = "(aarch64|x86_64).*-linux-musl.*"

# The sealinit board (CONFIG_BOARD), a defconfig to start from (empty:
# sealinit's Kconfig defaults) and more CONFIG_ lines, e.g.
#   SEALINIT_CONFIG = "CONFIG_FAILURE_PANIC=y CONFIG_REQUIRED_CRYPTEXES=\"os\""
SEALINIT_BOARD ?= "${MACHINE}"
SEALINIT_DEFCONFIG ?= ""
SEALINIT_CONFIG ?= ""
SEALINIT_ARCH = "${@'ARCH_ARM64' if d.getVar('TARGET_ARCH') == 'aarch64' else 'ARCH_X86_64'}"

EXTRA_OEMAKE = "${SEALINIT_MAKE} \
	TARGET_CC='${CC}' TARGET_AR='${AR}' TARGET_STRIP='${STRIP}' TARGET_LDFLAGS='${LDFLAGS}' \
	BEARSSL_INC=${STAGING_INCDIR} BEARSSL_LIB=${STAGING_LIBDIR}/libbearssl.a \
	LIBFDT_INC=${STAGING_INCDIR} LIBFDT_LIB=${STAGING_LIBDIR}/libfdt.a \
	ZSTD_INC=${STAGING_INCDIR} ZSTD_LIB=${STAGING_LIBDIR}/libzstd.a"

do_configure() {
	if [ -n "${SEALINIT_DEFCONFIG}" ]; then
		cat "${SEALINIT_DEFCONFIG}" > ${B}/sealinit.defconfig
	else
		: > ${B}/sealinit.defconfig
	fi
	echo 'CONFIG_BOARD="${SEALINIT_BOARD}"' >> ${B}/sealinit.defconfig
	echo 'CONFIG_${SEALINIT_ARCH}=y' >> ${B}/sealinit.defconfig
	for line in ${SEALINIT_CONFIG}; do
		echo "$line" >> ${B}/sealinit.defconfig
	done
	cd ${S} && KCONFIG_CONFIG=${B}/.config python3 -m defconfig --kconfig Kconfig ${B}/sealinit.defconfig
}

do_compile() {
	oe_runmake sealinit
}

# /sbin/sealinit; an initramfs image makes it /init (see
# docs/integrators.md: INITRAMFS_IMAGE with a postprocess command linking it).
do_install() {
	# build/<board>/ or build/<board>-production/: the Makefile says which
	# (not oe_runmake: its NOTE line would end up in the path).
	install -D -m 0755 $(${MAKE} ${EXTRA_OEMAKE} -s --no-print-directory print-sealinit) \
		${D}${base_sbindir}/sealinit
}

FILES:${PN} = "${base_sbindir}/sealinit"
# sealinit's build strips it already (the unstripped one is sealinit.debug next to it).
INSANE_SKIP:${PN} += "already-stripped"
