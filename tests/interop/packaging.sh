#!/bin/bash
# The Buildroot external tree (contrib/buildroot) and the Yocto layer
# (contrib/meta-sealinit), checked as far as this machine allows: neither
# Buildroot nor bitbake is in Debian, so nothing here runs them.  What is
# checked, exactly:
#  Buildroot
#   - every Config.in parses with kconfiglib (Buildroot's Kconfig dialect,
#     empty symbol prefix) without a warning, against stub definitions of
#     the BR2_ symbols it depends on; sealinit selects bearssl and dtc;
#   - the .hash files hold the SHA-256 of the very tarballs Debian's apt
#     fetched (checked by apt against Debian's signed index), and of the
#     license files in them;
#   - the packages' commands run, through tests/interop/br-harness.mk (a
#     stand-in for Buildroot's package infrastructure): bearssl's build and
#     staging install from Debian's tarball with musl-gcc; sealinit's
#     configure (BR2 choices mapped onto sealinit's Kconfig: the generated
#     .config is checked option by option, and kconfiglib must not warn of
#     an unknown symbol), build (our Makefile with the package's toolchain,
#     NO_APT=1, Buildroot's staging BearSSL and libfdt, libzstd's decoder
#     built from the zstd package's source directory) and target install
#     (/sbin/sealinit, a static x86-64 binary, /init -> sbin/sealinit);
#     host-libdivsufsort's configure options on Debian's tarball;
#     host-sealctl's configure, build and install into HOST_DIR (a working
#     sealctl, both man pages, the completion).
#   - NOT checked: the downloads themselves, dtc/host-dtc/host-zstd/zstd (the
#     build machine's libzstd, sealinit's libfdt and Debian's libzstd source
#     stand in), legal-info,
#     an aarch64 toolchain, a real Buildroot make.
#  Yocto
#   - the recipes' and the class's tasks run through tests/interop/bbrun
#     (bitbake's variable expansion and task execution for the subset the
#     layer uses; unknown variables are errors): bearssl-native and
#     libdivsufsort-native from Debian's tarballs (SRC_URI's sha256sum and
#     LIC_FILES_CHKSUM's md5 compared with them), sealinit for an x86-64
#     musl target, sealctl-native, and sealed-image.bbclass's IMAGE_CMD:sealed
#     on an erofs image (with a key file, with a signing helper and a
#     partition size), whose output sealctl verify accepts;
#   - NOT checked: bitbake parsing, layer.conf, externalsrc, pseudo,
#     OE-core's dtc/zstd recipes, a real image build.
# Needs: python3-kconfiglib, musl-tools, cc, make, erofs-utils, openssl, the
# Debian tarballs (fetched with mk/debian.sh, cached), build/host/sealctl.
# Last line: "packaging: N passed, N failed".
set -u
source "$(dirname "$0")/lib.bash"
[[ -x $S ]] || { echo "packaging: 0 passed, 1 failed"; exit 1; }
BR=$top/contrib/buildroot Y=$top/contrib/meta-sealinit
aptdir=${SEALINIT_APT_DIR:-$top/build/apt}
W=$tmp/br && mkdir -p "$W"/{staging/usr/include,staging/usr/lib,target,host/include/libfdt,host/lib}
KINC=$tmp/kinc && mkdir -p "$KINC"
for h in linux asm-generic; do ln -s /usr/include/$h "$KINC/$h"; done
ln -s /usr/include/x86_64-linux-gnu/asm "$KINC/asm"

# ---- Debian's tarballs, as apt fetched them
"$top/mk/debian.sh" source bearssl 0.6+dfsg.1-3 "$tmp/unused-bearssl" >/dev/null 2>&1
"$top/mk/debian.sh" source libdivsufsort 2.0.1-5 "$tmp/unused-dss" >/dev/null 2>&1
bearssl_tgz=$aptdir/src/dl/bearssl-0.6+dfsg.1-3/bearssl_0.6+dfsg.1.orig.tar.xz
dss_tgz=$aptdir/src/dl/libdivsufsort-2.0.1-5/libdivsufsort_2.0.1.orig.tar.bz2
[[ -s $bearssl_tgz && -s $dss_tgz ]] && ok "Debian's tarballs of bearssl and libdivsufsort" || ko "tarballs missing: $bearssl_tgz $dss_tgz"
hash_ok() { # name hash-file tarball [license-file-in-tree]
	local want
	want=$(awk -v f="$(basename "$3")" '$1 == "sha256" && $3 == f { print $2 }' "$2")
	[[ -n $want && $(sha256sum < "$3" | cut -d' ' -f1) == "$want" ]] && ok "$1: the .hash names the tarball apt fetched" || ko "$1: hash $want"
}
hash_ok bearssl "$BR/package/bearssl/bearssl.hash" "$bearssl_tgz"
hash_ok libdivsufsort "$BR/package/libdivsufsort/libdivsufsort.hash" "$dss_tgz"
mkdir -p "$W/bearssl" "$W/libdivsufsort" "$W/bearssl-host/build"
tar -xf "$bearssl_tgz" -C "$W/bearssl" --strip-components=1
tar -xf "$dss_tgz" -C "$W/libdivsufsort" --strip-components=1
lic() { # name hash-file file
	local want
	want=$(awk -v f="$(basename "$3")" '$1 == "sha256" && $3 == f { print $2 }' "$2")
	[[ -n $want && $(sha256sum < "$3" | cut -d' ' -f1) == "$want" ]] && ok "$1: license file hash" || ko "$1: license hash"
}
lic bearssl "$BR/package/bearssl/bearssl.hash" "$W/bearssl/LICENSE.txt"
lic libdivsufsort "$BR/package/libdivsufsort/libdivsufsort.hash" "$W/libdivsufsort/COPYING"

# ---- Buildroot: Config.in with kconfiglib, Buildroot's dialect
cat > "$tmp/Config.test" <<'EOF'
mainmenu "stand-in for Buildroot's top Config.in"
config BR2_aarch64
	bool
config BR2_x86_64
	bool
	default y
config BR2_TOOLCHAIN_USES_MUSL
	bool
	default y
config BR2_USE_MMU
	bool
	default y
config BR2_PACKAGE_DTC
	bool
config BR2_PACKAGE_ZSTD
	bool
source "$BR2_EXTERNAL_SEALINIT_PATH/Config.in"
EOF
BR2_EXTERNAL_SEALINIT_PATH=$BR CONFIG_= /usr/bin/python3 - "$tmp/Config.test" "$tmp/br.config" > kconf.log 2>&1 <<'PY'
import sys, kconfiglib
k = kconfiglib.Kconfig(sys.argv[1], warn_to_stderr=False)
for name, val in (("BR2_PACKAGE_SEALINIT", "y"), ("BR2_PACKAGE_SEALINIT_FAILURE_PANIC", "y"),
                  ("BR2_PACKAGE_SEALINIT_VERITY_RESTART", "y"),
                  ("BR2_PACKAGE_SEALINIT_REQUIRED_CRYPTEXES", "os app"),
                  ("BR2_PACKAGE_SEALINIT_BOARD", "br-board"),
                  ("BR2_PACKAGE_SEALINIT_DEVICE_WAIT_MS", "7000"),
                  ("BR2_PACKAGE_SEALINIT_CRYPTEX_TARGETS", "os=/usr"),
                  ("BR2_PACKAGE_HOST_SEALCTL", "y")):
    assert k.syms[name].set_value(val), name
for w in k.warnings:
    print("warning:", w)
assert not k.warnings
assert k.syms["BR2_PACKAGE_BEARSSL"].str_value == "y", "bearssl not selected"
assert k.syms["BR2_PACKAGE_DTC"].str_value == "y", "dtc not selected"
assert k.syms["BR2_PACKAGE_ZSTD"].str_value == "y", "zstd not selected"
k.write_config(sys.argv[2])
PY
[[ $? -eq 0 ]] && ok "Buildroot Config.in: parses without a warning; sealinit selects bearssl, dtc and zstd" || ko "Config.in: $(tail -n 3 kconf.log)"
grep -q '^BR2_PACKAGE_SEALINIT_FAILURE_PANIC=y' "$tmp/br.config" && ok "the BR2_ .config has the choices" || ko "br.config"

# ---- Buildroot: the packages' commands
# python3 with kconfiglib: Debian's (on this machine another python3 may
# come first on PATH); Buildroot users set SEALINIT_PY if theirs is elsewhere.
hm() { make --no-print-directory -f "$top/tests/interop/br-harness.mk" BR_CONFIG="$tmp/br.config" W="$W" TOP="$top" \
	KINC="$KINC" SEALINIT_PY=/usr/bin/python3 HOST_SEALCTL_PY=/usr/bin/python3 "$@"; }
hm bearssl-staging > br-bearssl.log 2>&1 && [[ -s $W/staging/usr/lib/libbearssl.a && -s $W/staging/usr/include/bearssl.h ]] &&
	ok "bearssl.mk: builds Debian's BearSSL with the target compiler into staging" || ko "bearssl.mk: $(tail -n 3 br-bearssl.log)"
# dtc's staging install, from sealinit's own libfdt (the same Debian source);
# zstd's (the Yocto recipe's sysroot below), from sealinit's own decoder
cp "$top/build/deps/x86_64-linux-musl/libfdt.a" "$W/staging/usr/lib/" 2>/dev/null &&
	cp "$top/build/deps/src/libfdt/"{fdt.h,libfdt.h,libfdt_env.h} "$W/staging/usr/include/" || ko "libfdt for staging (build qemu-x86_64 first)"
cp "$top/build/deps/x86_64-linux-musl/libzstd.a" "$W/staging/usr/lib/" 2>/dev/null &&
	cp "$top/build/deps/src/zstd/lib/"{zstd.h,zstd_errors.h} "$W/staging/usr/include/" || ko "libzstd for staging (build qemu-x86_64 first)"
mkdir -p "$W/sealinit" && (cd "$top" && tar --exclude=./build --exclude=./.git --exclude=./.config -cf - .) | tar -xf - -C "$W/sealinit"
hm sealinit > br-sealinit.log 2>&1 && ok "sealinit.mk: configure, build, install" || ko "sealinit.mk: $(grep -v '^  ' br-sealinit.log | tail -n 5)"
# kconfiglib's warnings (an unknown symbol, a value it cannot take), not the compiler's
grep -qE "warning: .*(undefined symbol|sealinit\.defconfig|Kconfig)" br-sealinit.log &&
	ko "kconfiglib warned: $(grep -E -m2 'warning: .*(undefined symbol|sealinit\.defconfig|Kconfig)' br-sealinit.log)" ||
	ok "kconfiglib knows every mapped option"
cfg=$W/sealinit/.config
for want in 'CONFIG_BOARD="br-board"' CONFIG_ARCH_X86_64=y CONFIG_FAILURE_PANIC=y CONFIG_VERITY_RESTART=y \
	'CONFIG_REQUIRED_CRYPTEXES="os app"' CONFIG_DEVICE_WAIT_MS=7000 'CONFIG_PREBOOT_LABEL="preboot"' \
	'# CONFIG_DEVELOPMENT is not set' 'CONFIG_CRYPTEX_TARGETS="os=/usr"' 'CONFIG_SYSTEM_NAME="system"' \
	'# CONFIG_CMDLINE_LABELS is not set' CONFIG_DATA_NOEXEC=y; do
	grep -qxF "$want" "$cfg" 2>/dev/null && ok "sealinit's .config: $want" || ko "sealinit's .config lacks $want"
done
file "$W/target/sbin/sealinit" 2>/dev/null | grep -q 'x86-64.*statically linked' && ok "target: /sbin/sealinit is a static x86-64 binary" || ko "target sealinit: $(file "$W/target/sbin/sealinit" 2>&1)"
[[ $(readlink "$W/target/init") == sbin/sealinit ]] && ok "target: /init -> sbin/sealinit" || ko "no /init link"
[[ ! -e $W/sealinit/build/deps ]] && ok "no Debian source fetched for the target (Buildroot's libraries used)" || ko "build/deps made"
hm host-libdivsufsort > br-dss.log 2>&1 && [[ -s $W/host/lib/libdivsufsort.a ]] && ok "host-libdivsufsort: Debian's tarball with the package's configure options" || ko "host-libdivsufsort: $(tail -n 3 br-dss.log)"
cp "$top/build/deps/host/libbearssl.a" "$W/bearssl-host/build/" && cp -r "$W/bearssl/inc" "$W/bearssl-host/" &&
	hm host-bearssl > br-hb.log 2>&1 && [[ -s $W/host/lib/libbearssl.a && -s $W/host/include/bearssl.h ]] && ok "host-bearssl's install commands" || ko "host-bearssl: $(tail -n 3 br-hb.log)"
cp "$top/build/deps/host/libfdt.a" "$W/host/lib/" && cp "$top/build/deps/src/libfdt/"{fdt.h,libfdt.h,libfdt_env.h} "$W/host/include/libfdt/"
mkdir -p "$W/sealctl" && (cd "$top" && tar --exclude=./build --exclude=./.git --exclude=./.config -cf - .) | tar -xf - -C "$W/sealctl"
hm host-sealctl > br-sealctl.log 2>&1 && ok "sealctl.mk: host-sealctl configure, build, install" || ko "host-sealctl: $(grep -v '^  ' br-sealctl.log | tail -n 5)"
expect "host-sealctl: \$(HOST_DIR)/bin/sealctl runs" 0 "sealctl " "$W/host/bin/sealctl" --version
for f in share/man/man1/sealctl.1 share/man/man7/sealinit.7 share/bash-completion/completions/sealctl; do
	[[ -s $W/host/$f ]] && ok "host-sealctl installed $f" || ko "host-sealctl: no $f"
done

# ---- Yocto: the recipes' tasks through bbrun
tree_before=$(git -C "$top" status --porcelain --ignored 2>/dev/null | grep -v ' build/$')
# python3native puts the native python3 (with python3-kconfiglib-native) first on PATH.
mkdir -p "$tmp/py" && ln -s /usr/bin/python3 "$tmp/py/python3"
bb() { PATH=$tmp/py:$PATH /usr/bin/python3 "$top/tests/interop/bbrun" "$@"; }
# What OE-core's bitbake.conf and native.bbclass would set, for the build machine.
N=$tmp/yocto && NS=$N/native-sysroot && mkdir -p "$NS/usr/include" "$NS/usr/lib"
native=(-D "CC=cc" -D "AR=ar" -D "STRIP=strip" -D "CFLAGS=-O2" -D "CPPFLAGS=-I$NS/usr/include"
	-D "LDFLAGS=-L$NS/usr/lib" -D "prefix=/usr" -D "libdir=/usr/lib" -D "includedir=/usr/include"
	-D "BUILD_SYS=x86_64-linux" -D "HOST_SYS=x86_64-linux" -D "STAGING_INCDIR=$NS/usr/include"
	-D "STAGING_LIBDIR=$NS/usr/lib" -D "SEALINIT_TOPDIR=$top")
srcsum() { bb "$1" --var 'SRC_URI[sha256sum]' 2>&1; }
[[ $(srcsum "$Y/recipes-support/bearssl/bearssl_0.6+dfsg.1.bb") == $(sha256sum < "$bearssl_tgz" | cut -d' ' -f1) ]] &&
	ok "bearssl recipe: SRC_URI's sha256sum is Debian's tarball" || ko "bearssl SRC_URI sha256sum"
[[ $(srcsum "$Y/recipes-support/libdivsufsort/libdivsufsort_2.0.1.bb") == $(sha256sum < "$dss_tgz" | cut -d' ' -f1) ]] &&
	ok "libdivsufsort recipe: SRC_URI's sha256sum is Debian's tarball" || ko "libdivsufsort SRC_URI sha256sum"
licmd5() { # recipe tree
	local spec file md5
	spec=$(bb "$1" -D PV=x -D WORKDIR=/w --var LIC_FILES_CHKSUM)
	file=${spec#file://}; md5=${file#*md5=}; file=${file%%;*}
	[[ $(md5sum < "$2/$file" | cut -d' ' -f1) == "$md5" ]] && ok "$(basename "$1"): LIC_FILES_CHKSUM" || ko "$(basename "$1"): LIC_FILES_CHKSUM $spec"
}
licmd5 "$Y/recipes-support/bearssl/bearssl_0.6+dfsg.1.bb" "$W/bearssl"
licmd5 "$Y/recipes-support/libdivsufsort/libdivsufsort_2.0.1.bb" "$W/libdivsufsort"
mkdir -p "$N/bearssl" "$N/libdivsufsort"
tar -xf "$bearssl_tgz" -C "$N/bearssl" && tar -xf "$dss_tgz" -C "$N/libdivsufsort"
bb "${native[@]}" -D "WORKDIR=$N/bearssl" -D "PV=0.6+dfsg.1" -D "D=$N/bearssl/image" \
	"$Y/recipes-support/bearssl/bearssl_0.6+dfsg.1.bb" do_configure do_compile do_install > y-bearssl.log 2>&1 &&
	[[ -s $N/bearssl/image/usr/lib/libbearssl.a ]] && ok "bearssl-native: do_compile, do_install" || ko "bearssl-native: $(tail -n 3 y-bearssl.log)"
cp -r "$N/bearssl/image/usr/." "$NS/usr/"
bb "${native[@]}" -D "WORKDIR=$N/libdivsufsort" -D "PV=2.0.1" -D "D=$N/libdivsufsort/image" \
	"$Y/recipes-support/libdivsufsort/libdivsufsort_2.0.1.bb" do_configure do_compile do_install > y-dss.log 2>&1 &&
	[[ -s $N/libdivsufsort/image/usr/lib/libdivsufsort.a && ! -e $N/libdivsufsort/image/usr/lib/libdivsufsort.la ]] &&
	ok "libdivsufsort-native: configure, compile, install" || ko "libdivsufsort-native: $(tail -n 3 y-dss.log)"
cp -r "$N/libdivsufsort/image/usr/." "$NS/usr/"
cp "$top/build/deps/host/libfdt.a" "$NS/usr/lib/" && cp "$top/build/deps/src/libfdt/"{fdt.h,libfdt.h,libfdt_env.h} "$NS/usr/include/"
bb "${native[@]}" -D "WORKDIR=$N/sealctl" -D "D=$N/sealctl/image" \
	"$Y/recipes-core/sealinit/sealctl-native_0.1.0.bb" do_configure do_compile do_install > y-sealctl.log 2>&1 &&
	ok "sealctl-native: do_configure, do_compile, do_install" || ko "sealctl-native: $(grep -v '^  ' y-sealctl.log | tail -n 4)"
YS=$N/sealctl/image/usr/bin/sealctl
expect "sealctl-native's sealctl runs" 0 "sealctl " "$YS" --version
[[ -s $N/sealctl/image/usr/share/man/man7/sealinit.7 ]] && ok "sealctl-native installs the man pages" || ko "sealctl-native: no man pages"
# sealinit for an x86-64 musl target: Buildroot's musl staging stands in for
# the target sysroot's bearssl and dtc.
bb -D "CC=musl-gcc -isystem $KINC" -D "AR=ar" -D "STRIP=strip" -D "LDFLAGS=" -D "TARGET_ARCH=x86_64" \
	-D "MACHINE=yocto-machine" -D "base_sbindir=/sbin" -D "STAGING_INCDIR=$W/staging/usr/include" \
	-D "STAGING_LIBDIR=$W/staging/usr/lib" -D "SEALINIT_TOPDIR=$top" -D "WORKDIR=$N/sealinit" \
	-D "D=$N/sealinit/image" -D "PN=sealinit" -D 'SEALINIT_CONFIG=CONFIG_FAILURE_RESCUE=y CONFIG_DEVICE_WAIT_MS=9000' \
	"$Y/recipes-core/sealinit/sealinit_0.1.0.bb" do_configure do_compile do_install > y-sealinit.log 2>&1 &&
	ok "sealinit: do_configure, do_compile, do_install" || ko "sealinit recipe: $(grep -v '^  ' y-sealinit.log | tail -n 4)"
file "$N/sealinit/image/sbin/sealinit" 2>/dev/null | grep -q 'x86-64.*statically linked' && ok "sealinit recipe: a static x86-64 /sbin/sealinit" || ko "sealinit recipe output"
for want in 'CONFIG_BOARD="yocto-machine"' CONFIG_ARCH_X86_64=y CONFIG_FAILURE_RESCUE=y CONFIG_DEVICE_WAIT_MS=9000; do
	grep -qxF "$want" "$N/sealinit/build/.config" 2>/dev/null && ok "sealinit recipe's .config: $want" || ko "sealinit recipe's .config lacks $want"
done
[[ $(git -C "$top" status --porcelain --ignored 2>/dev/null | grep -v ' build/$') == "$tree_before" ]] &&
	ok "externalsrc builds leave the source tree alone" || ko "the source tree changed under externalsrc"

# sealed-image.bbclass: IMAGE_CMD:sealed on an erofs image (IMAGE_CMD:erofs's output)
mkdir -p "$N/rootfs/etc" "$N/deploy" && echo "yocto" > "$N/rootfs/etc/os-release"
mkfs.erofs --quiet "$N/deploy/img-qemu.rootfs.erofs" "$N/rootfs"
"$YS" keygen --algo ecdsa-p256 -o "$N/platform.pem" --pub "$N/platform.pub" >/dev/null
image=(-D "IMGDEPLOYDIR=$N/deploy" -D "IMAGE_NAME=img-qemu" -D "IMAGE_NAME_SUFFIX=.rootfs" -D "DISTRO_VERSION=4.0.9"
	-D "B=$N/deploy" -D "MAKE=make" -D "PATH=$PATH")
PATH=$(dirname "$YS"):$PATH bb "${image[@]}" -D "SEALINIT_KEY=$N/platform.pem" \
	"$Y/classes/sealed-image.bbclass" 'IMAGE_CMD:sealed' > y-image.log 2>&1 &&
	ok "sealed-image.bbclass: IMAGE_CMD:sealed" || ko "IMAGE_CMD:sealed: $(tail -n 3 y-image.log)"
expect "the sealed image verifies against the public key, kind system" 0 "verified system 'system' 4.0.9" \
	"$S" verify "$N/deploy/img-qemu.rootfs.sealed" --key "$N/platform.pub" --kind system
printf '#!/bin/sh\nexec openssl dgst -sha256 -sign %s\n' "$N/platform.pem" > "$N/helper" && chmod +x "$N/helper"
rm -f "$N/deploy/img-qemu.rootfs.sealed"
PATH=$(dirname "$YS"):$PATH bb "${image[@]}" -D "SEALINIT_KEY=$N/platform.pub" -D "SEALINIT_SIGNING_HELPER=$N/helper" \
	-D "SEALINIT_PARTITION_SIZE=2M" "$Y/classes/sealed-image.bbclass" 'IMAGE_CMD:sealed' > y-image2.log 2>&1 &&
	[[ $(stat -c %s "$N/deploy/img-qemu.rootfs.sealed") -eq 2097152 ]] &&
	ok "IMAGE_CMD:sealed with SEALINIT_SIGNING_HELPER and SEALINIT_PARTITION_SIZE" || ko "IMAGE_CMD:sealed (helper): $(tail -n 3 y-image2.log)"
PATH=$(dirname "$YS"):$PATH bb "${image[@]}" -D "SEALINIT_KEY=" "$Y/classes/sealed-image.bbclass" 'IMAGE_CMD:sealed' > y-image3.log 2>&1
[[ $? -ne 0 ]] && grep -q "set SEALINIT_KEY" y-image3.log && ok "IMAGE_CMD:sealed without SEALINIT_KEY: bbfatal" || ko "no bbfatal without a key"
summary packaging
