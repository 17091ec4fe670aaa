SUMMARY = "BearSSL, a small TLS and crypto library, as a static library"
DESCRIPTION = "Built from Debian's source package bearssl 0.6+dfsg.1 (the \
upstream tarball Debian ships), the one sealinit's own build uses."
HOMEPAGE = "https://bearssl.org/"
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://LICENSE.txt;md5=1fc37e1037ae673975fbcb96a98f7191"

SRC_URI = "https://deb.debian.org/debian/pool/main/b/bearssl/bearssl_${PV}.orig.tar.xz"
# From Debian's signed Sources index (bookworm), bearssl_0.6+dfsg.1-3.dsc
SRC_URI[sha256sum] = "102a625bd8f6155260867a50c508df8d8c3f796985dd744df1a68e5cd1a79004"
S = "${WORKDIR}/bearssl-0.6"

do_configure[noexec] = "1"

# The static library only: no tools, no tests, no shared object.
do_compile() {
	oe_runmake CC="${CC}" AR="${AR}" CFLAGS="${CFLAGS} -W -Wall -fPIC" lib
}

do_install() {
	install -D -m 0644 ${S}/build/libbearssl.a ${D}${libdir}/libbearssl.a
	install -d ${D}${includedir}
	install -m 0644 ${S}/inc/*.h ${D}${includedir}/
}

ALLOW_EMPTY:${PN} = "1"
BBCLASSEXTEND = "native"
