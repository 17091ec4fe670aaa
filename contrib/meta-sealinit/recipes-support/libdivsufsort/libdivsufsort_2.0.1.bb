SUMMARY = "libdivsufsort: suffix-array construction (sealctl diff)"
DESCRIPTION = "Built from Debian's source package libdivsufsort 2.0.1 (the \
upstream tarball Debian ships)."
HOMEPAGE = "https://github.com/y-256/libdivsufsort"
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://COPYING;md5=d3d9f98f9cad1ec88f661dafd4ed79d8"

SRC_URI = "https://deb.debian.org/debian/pool/main/libd/libdivsufsort/libdivsufsort_${PV}.orig.tar.bz2"
# From Debian's signed Sources index (bookworm), libdivsufsort_2.0.1-5.dsc
SRC_URI[sha256sum] = "55c02c86ea1763f581e0f50440008c554b8da2272129adee4ac84cb1362018bc"
S = "${WORKDIR}/libdivsufsort-${PV}"

# The shipped configure script as it is (no autoreconf), a static library.
do_configure() {
	${S}/configure --build=${BUILD_SYS} --host=${HOST_SYS} --prefix=${prefix} \
		--libdir=${libdir} --includedir=${includedir} --disable-shared --enable-static
}

do_compile() {
	oe_runmake
}

do_install() {
	oe_runmake install DESTDIR=${D}
	rm -f ${D}${libdir}/*.la
}

BBCLASSEXTEND = "native"
