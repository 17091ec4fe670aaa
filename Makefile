# sealinit: the build.  `make help` lists the targets; README.md explains them.
#
#   make [BOARD=name defconfig] && make     sealctl, sealinit, initramfs
#   make check                              every test; last line "N passed, N failed"
#   make demo                               boot the demo under QEMU
#
# Dependencies come from Debian only: packages are installed when missing
# (mk/debian.sh install), BearSSL, libfdt and libzstd's decoder are built
# from Debian *source* packages with the target's compiler.  Integrators
# who build them already point the build at theirs:
#   make BEARSSL_INC=... BEARSSL_LIB=.../libbearssl.a LIBFDT_INC=... LIBFDT_LIB=.../libfdt.a \
#        ZSTD_INC=... ZSTD_LIB=.../libzstd.a
# and a build system with its own toolchain (Buildroot, Yocto: contrib/)
# gives it and turns apt off:
#   make NO_APT=1 TARGET_CC=... TARGET_AR=... TARGET_STRIP=... [TARGET_LDFLAGS=...]
#   make NO_APT=1 HOST_BEARSSL_INC=... HOST_BEARSSL_LIB=... HOST_LIBFDT_INC=... \
#        HOST_LIBFDT_LIB=... [HOST_EXTRA_CFLAGS=... HOST_EXTRA_LDFLAGS=...] sealctl
SHELL := /bin/bash
.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SECONDARY:
TOP := $(CURDIR)
V ?= 0
Q := $(if $(filter 1,$(V)),,@)
say = $(if $(Q),@printf '  %-7s %s\n' '$(1)' '$(2)')
PY := /usr/bin/python3
DEB := $(TOP)/mk/debian.sh
# NO_APT=1: never install Debian packages (a Buildroot or Yocto build
# provides every tool and library itself).
DEB_INSTALL = $(if $(NO_APT),:,$(DEB) install)

BEARSSL_VERSION := 0.6+dfsg.1-3
DTC_VERSION := 1.6.1-4
# libfdt's fallback when bookworm's dtc source cannot be fetched: the
# upstream tarball of Debian trixie's device-tree-compiler source package.
# (Not U-Boot's older copy of libfdt: its fdt_check_full() dereferences
# NULL on a crafted blob, which our fuzzer found in seconds.)
DTC_FALLBACK_VERSION := 1.7.2-2
DTC_FALLBACK_SUITE := trixie
# libzstd's decoder for sealinit (patch streams; sealctl links Debian's
# libzstd-dev).  1.5.4+dfsg2-5 is bookworm's: bookworm-security lists
# 1.5.4+dfsg2-5+deb12u1 (a decoder fix), but its source files are not in
# the security archive's pool (404; its binaries are), so that pin cannot
# be built here.  Raise this pin once they are.
ZSTD_VERSION := 1.5.4+dfsg2-5

# Debian 12 packages: BUILD_PKGS for `make`, HOST_PKGS for the tests and
# the demo as well.  Both are installed when missing (root, apt-get).
BUILD_PKGS := make gcc clang lld llvm musl-tools python3-kconfiglib dpkg-dev \
	xz-utils cpio erofs-utils libzstd-dev libdivsufsort-dev liblzma-dev file
HOST_PKGS := make gcc clang lld llvm musl-tools python3-kconfiglib dpkg-dev \
	device-tree-compiler u-boot-tools dt-schema libclang-rt-14-dev cpio \
	file xz-utils zstd libzstd-dev liblzma-dev erofs-utils cryptsetup-bin openssl \
	qemu-system-arm kmod time hyperfine qemu-user-static libdivsufsort-dev bsdiff xdelta3 \
	fdisk e2fsprogs squashfs-tools binutils man-db groff-base bsdextrautils mount u-boot-qemu \
	dosfstools qemu-system-x86 ovmf systemd-boot-efi sbsigntool efitools swtpm swtpm-tools

# ---------------------------------------------------------------- config
KCONFIG_CONFIG ?= .config
export KCONFIG_CONFIG
config_targets := defconfig %_defconfig menuconfig savedefconfig olddefconfig help
only_config := $(if $(MAKECMDGOALS),$(if $(filter-out $(config_targets),$(MAKECMDGOALS)),,y))

ifneq ($(only_config),y)
-include $(KCONFIG_CONFIG)
$(KCONFIG_CONFIG):
	@$(MAKE) --no-print-directory defconfig
endif
unquote = $(patsubst "%",%,$(1))
BOARD_CFG := $(call unquote,$(CONFIG_BOARD))
ARCH := $(call unquote,$(CONFIG_ARCH))

.PHONY: defconfig menuconfig savedefconfig olddefconfig kconfiglib
kconfiglib:
	@$(DEB_INSTALL) python3-kconfiglib

# make BOARD=b defconfig: board/b/defconfig (development: test hooks);
# make BOARD=b production_defconfig: board/b/production_defconfig (no
# development switches; built into build/b-production/).
define board_defconfig
	@b=$${BOARD:-qemu-aarch64}; f=board/$$b/$@; \
	 [[ -d board/$$b ]] || { echo "no board '$$b': boards are $$(ls board | tr '\n' ' ')" >&2; exit 2; }; \
	 [[ -f $$f ]] || { echo "no $$f: board $$b has $$(cd board/$$b && ls *defconfig | tr '\n' ' ')" >&2; exit 2; }; \
	 $(PY) -m defconfig --kconfig Kconfig $$f && \
	 grep -q "^CONFIG_BOARD=\"$$b\"" $(KCONFIG_CONFIG) || \
	 { echo "$$f does not set CONFIG_BOARD=\"$$b\"" >&2; exit 2; }
endef
defconfig: kconfiglib
	$(board_defconfig)
%_defconfig: kconfiglib
	$(board_defconfig)

menuconfig: kconfiglib
	$(PY) -m menuconfig Kconfig

olddefconfig: kconfiglib
	$(PY) -m olddefconfig Kconfig

savedefconfig: kconfiglib
	$(PY) -m savedefconfig --kconfig Kconfig --out defconfig
	@echo "wrote defconfig; copy it to board/<name>/defconfig"

BUILD := build
# A build without the development switches has its own directory, so a
# board's development and production builds live side by side.
B := $(BUILD)/$(BOARD_CFG)$(if $(CONFIG_DEVELOPMENT),,-production)
AUTOCONF := $(B)/include/autoconf.h

# Regenerated when .config changes; rewritten only when different, so a
# `make` with the same configuration rebuilds nothing.
$(AUTOCONF): $(KCONFIG_CONFIG) Kconfig | kconfiglib
	@mkdir -p $(dir $@)
	$(Q)$(PY) -m genconfig --header-path $@.tmp Kconfig >/dev/null
	$(Q)if cmp -s $@.tmp $@; then rm $@.tmp; touch $@; else mv $@.tmp $@; fi

# ---------------------------------------------------------------- deps
DEPS := $(BUILD)/deps
BEARSSL_SRC := $(DEPS)/src/bearssl
LIBFDT_SRC_DIR := $(DEPS)/src/libfdt
ZSTD_SRC := $(DEPS)/src/zstd

$(BEARSSL_SRC)/.unpacked:
	$(call say,SOURCE,bearssl $(BEARSSL_VERSION))
	$(Q)$(DEB) install dpkg-dev
	$(Q)$(DEB) source bearssl $(BEARSSL_VERSION) $(BEARSSL_SRC)

$(ZSTD_SRC)/.unpacked:
	$(call say,SOURCE,libzstd $(ZSTD_VERSION))
	$(Q)$(DEB) install dpkg-dev
	$(Q)$(DEB) source libzstd $(ZSTD_VERSION) $(ZSTD_SRC)

# libfdt: dtc's source package as pinned; if its files cannot be fetched,
# the fallback above, and the build says so.
$(LIBFDT_SRC_DIR)/.unpacked:
	$(call say,SOURCE,libfdt (device-tree-compiler $(DTC_VERSION)))
	$(Q)$(DEB) install dpkg-dev
	$(Q)mkdir -p $(DEPS)/src && rm -rf $(LIBFDT_SRC_DIR); \
	if $(DEB) source device-tree-compiler $(DTC_VERSION) $(DEPS)/src/dtc 2>$(DEPS)/dtc-source.log; then \
		ln -sfn dtc/libfdt $(LIBFDT_SRC_DIR); \
	else \
		echo "  NOTE    device-tree-compiler $(DTC_VERSION) source not reachable (see $(DEPS)/dtc-source.log);" \
		     "using device-tree-compiler $(DTC_FALLBACK_VERSION) ($(DTC_FALLBACK_SUITE)) upstream source" >&2; \
		$(DEB) orig device-tree-compiler $(DTC_FALLBACK_VERSION) $(DTC_FALLBACK_SUITE) $(DEPS)/src/dtc-$(DTC_FALLBACK_VERSION) && \
		ln -sfn dtc-$(DTC_FALLBACK_VERSION)/libfdt $(LIBFDT_SRC_DIR); \
	fi
	$(Q)touch $@

# deps_rule(variant, CC, extra prerequisites, CFLAGS, AR):
# build/deps/<variant>/lib{bearssl,fdt,zstd}.a
DEP_CFLAGS := -O2 -fno-strict-aliasing -ffunction-sections -fdata-sections -w
define deps_rule
$(DEPS)/$(1)/libbearssl.a: $(BEARSSL_SRC)/.unpacked $(3) | buildpkgs
	+$(Q)$$(MAKE) --no-print-directory -f mk/lib.mk LIB=bearssl SRC=$(BEARSSL_SRC) OUT=$(DEPS)/$(1) CC="$(2)" CFLAGS="$(4)" AR="$(5)"
$(DEPS)/$(1)/libfdt.a: $(LIBFDT_SRC_DIR)/.unpacked $(3) | buildpkgs
	+$(Q)$$(MAKE) --no-print-directory -f mk/lib.mk LIB=fdt SRC=$(LIBFDT_SRC_DIR)/ OUT=$(DEPS)/$(1) CC="$(2)" CFLAGS="$(4)" AR="$(5)"
$(DEPS)/$(1)/libzstd.a: $(ZSTD_SRC)/.unpacked mk/lib.mk $(3) | buildpkgs
	+$(Q)$$(MAKE) --no-print-directory -f mk/lib.mk LIB=zstd SRC=$(ZSTD_SRC) OUT=$(DEPS)/$(1) CC="$(2)" CFLAGS="$(4)" AR="$(5)"
endef

# ---------------------------------------------------------------- host
HOST_CC ?= cc
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wvla -Wformat=2 -Wno-unused-parameter
# Both the host tool and the target use the Debian sources above unless an
# integrator gives its own builds: HOST_BEARSSL_INC/HOST_BEARSSL_LIB and
# HOST_LIBFDT_INC/HOST_LIBFDT_LIB for the host, BEARSSL_INC/BEARSSL_LIB and
# LIBFDT_INC/LIBFDT_LIB for the target.
HOST_BEARSSL_INC := $(BEARSSL_SRC)/inc
HOST_LIBFDT_INC := $(LIBFDT_SRC_DIR)
HOST_LIBS := $(or $(HOST_BEARSSL_LIB),$(DEPS)/host/libbearssl.a) $(or $(HOST_LIBFDT_LIB),$(DEPS)/host/libfdt.a)
$(eval $(call deps_rule,host,$(HOST_CC),,$(DEP_CFLAGS),ar))
HOST_INC := -I. -I$(B)/include -I$(HOST_BEARSSL_INC) -I$(HOST_LIBFDT_INC) -include $(AUTOCONF)
HOST_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g $(WARN) -pthread $(HOST_INC) $(HOST_EXTRA_CFLAGS)
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
HB := $(BUILD)/host
AB := $(BUILD)/host-asan
FB := $(BUILD)/fuzz
deps_ready := $(if $(HOST_BEARSSL_LIB),,$(BEARSSL_SRC)/.unpacked) \
	$(if $(HOST_LIBFDT_LIB),,$(LIBFDT_SRC_DIR)/.unpacked) $(AUTOCONF) | buildpkgs

host_obj = $(patsubst %.c,$(1)/obj/%.o,$(2))

$(HB)/obj/%.o: %.c $(deps_ready)
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(HOST_CC) $(HOST_CFLAGS) -MMD -MP -c $< -o $@

$(AB)/obj/%.o: %.c $(deps_ready)
	@mkdir -p $(dir $@)
	$(call say,CC-ASAN,$<)
	$(Q)$(HOST_CC) $(HOST_CFLAGS) -O1 $(ASAN_FLAGS) -MMD -MP -c $< -o $@

$(FB)/obj/%.o: %.c $(deps_ready)
	@mkdir -p $(dir $@)
	$(call say,CC-FUZZ,$<)
	$(Q)clang $(HOST_CFLAGS) -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -MMD -MP -c $< -o $@

# ---------------------------------------------------------------- target
SYSROOT := $(BUILD)/sysroot/$(ARCH)
ifeq ($(ARCH),arm64)
TRIPLE := aarch64-linux-musl
TARGET_CC := clang --target=$(TRIPLE) -nostdinc -isystem $(SYSROOT)/usr/include/$(TRIPLE) \
	-isystem $(SYSROOT)/kinc -isystem $(shell clang -print-resource-dir 2>/dev/null)/include
TARGET_AR := llvm-ar
TARGET_STRIP := llvm-strip
TARGET_LINK = ld.lld -static --gc-sections -o $(1) $(SYSROOT)/usr/lib/$(TRIPLE)/crt1.o \
	$(SYSROOT)/usr/lib/$(TRIPLE)/crti.o $(2) $(SYSROOT)/usr/lib/$(TRIPLE)/libc.a \
	$(SYSROOT)/usr/lib/gcc/aarch64-linux-gnu/12/libgcc.a $(SYSROOT)/usr/lib/$(TRIPLE)/crtn.o
SYSROOT_DEBS := musl-dev libgcc-12-dev linux-libc-dev
$(SYSROOT)/.unpacked:
	$(call say,SYSROOT,$(SYSROOT) (Debian arm64 $(SYSROOT_DEBS)))
	$(Q)rm -rf $(SYSROOT) && mkdir -p $(SYSROOT)/debs $(SYSROOT)/kinc
	$(Q)$(DEB) debs arm64 $(SYSROOT)/debs $(SYSROOT_DEBS)
	$(Q)for d in $(SYSROOT)/debs/*.deb; do dpkg-deb -x $$d $(SYSROOT); done
	$(Q)ln -sfn ../usr/include/linux $(SYSROOT)/kinc/linux; \
	    ln -sfn ../usr/include/asm-generic $(SYSROOT)/kinc/asm-generic; \
	    ln -sfn ../usr/include/aarch64-linux-gnu/asm $(SYSROOT)/kinc/asm
	$(Q)touch $@
else ifeq ($(ARCH),x86_64)
TRIPLE := x86_64-linux-musl
TARGET_CC := musl-gcc -isystem $(SYSROOT)/kinc
TARGET_AR := ar
TARGET_STRIP := strip
TARGET_LINK = musl-gcc -static -Wl,--gc-sections -o $(1) $(2)
$(SYSROOT)/.unpacked:
	$(Q)$(DEB_INSTALL) musl-tools linux-libc-dev
	$(Q)mkdir -p $(SYSROOT)/kinc
	$(Q)ln -sfn /usr/include/linux $(SYSROOT)/kinc/linux; \
	    ln -sfn /usr/include/asm-generic $(SYSROOT)/kinc/asm-generic; \
	    ln -sfn /usr/include/x86_64-linux-gnu/asm $(SYSROOT)/kinc/asm
	$(Q)touch $@
endif

# An integrator's toolchain (TARGET_CC on the command line): no Debian
# sysroot, and the compiler driver links.
ifeq ($(origin TARGET_CC),command line)
TARGET_SYSROOT_DEP :=
ifneq ($(origin TARGET_LINK),command line)
TARGET_LINK = $(TARGET_CC) -static -Wl,--gc-sections $(TARGET_LDFLAGS) -o $(1) $(2)
endif
else
TARGET_SYSROOT_DEP := $(SYSROOT)/.unpacked
endif

TARGET_CFLAGS := -std=c11 -D_GNU_SOURCE -Os -g $(WARN) -ffunction-sections -fdata-sections \
	-fno-strict-aliasing -fstack-protector-strong -I. -I$(B)/include \
	-I$(or $(BEARSSL_INC),$(HOST_BEARSSL_INC)) -I$(or $(LIBFDT_INC),$(HOST_LIBFDT_INC)) \
	-I$(or $(ZSTD_INC),$(ZSTD_SRC)/lib) -include $(AUTOCONF) $(TARGET_EXTRA_CFLAGS)
TB := $(B)
TARGET_LIBS := $(or $(BEARSSL_LIB),$(DEPS)/$(TRIPLE)/libbearssl.a) \
	$(or $(LIBFDT_LIB),$(DEPS)/$(TRIPLE)/libfdt.a) $(or $(ZSTD_LIB),$(DEPS)/$(TRIPLE)/libzstd.a)
target_deps_ready := $(if $(BEARSSL_LIB),,$(BEARSSL_SRC)/.unpacked) \
	$(if $(LIBFDT_LIB),,$(LIBFDT_SRC_DIR)/.unpacked) \
	$(if $(ZSTD_LIB),,$(ZSTD_SRC)/.unpacked) $(AUTOCONF) | buildpkgs
ifneq ($(TRIPLE),)
$(eval $(call deps_rule,$(TRIPLE),$(TARGET_CC),$(TARGET_SYSROOT_DEP),$(DEP_CFLAGS) -Os,$(TARGET_AR)))
endif

$(TB)/obj/%.o: %.c $(target_deps_ready) $(TARGET_SYSROOT_DEP)
	@mkdir -p $(dir $@)
	$(call say,CC,$< [$(ARCH)])
	$(Q)$(TARGET_CC) $(TARGET_CFLAGS) -MMD -MP -c $< -o $@

# ---------------------------------------------------------------- sources
# Each directory's module.mk (one per directory, read after every build
# variable above is set, so fragments may use $(HB), $(AB), $(TB), ...) adds:
#   LIB_SRCS      pure library code: runs in sealinit, sealctl, tests, fuzzers
#   INIT_SRCS     code only PID 1 runs (init/, mount/, module loading)
#   SEALCTL_SRCS  the host tool's own code (may allocate, may use libzstd)
#   UNIT_TESTS    tests/unit/test_*.c, each a program using tests/unit/t.h
#   FUZZ_TARGETS  tests/fuzz/fuzz_*.c; corpus in tests/fuzz/corpus/<name>/
#   FUZZ_HOST_TARGETS  those of them that also link the diff's code (PATCH_DIFF_SRCS)
#   HOST_LDLIBS   extra libraries for host programs
LIB_SRCS :=
INIT_SRCS :=
SEALCTL_SRCS :=
UNIT_TESTS :=
FUZZ_TARGETS :=
FUZZ_HOST_TARGETS :=
HOST_LDLIBS := -lpthread
BENCH_TARGETS :=
include $(sort $(wildcard */module.mk))


SEALCTL := $(HB)/sealctl
$(SEALCTL): $(call host_obj,$(HB),$(LIB_SRCS) $(SEALCTL_SRCS)) $(HOST_LIBS)
	$(call say,LD,$@)
	$(Q)$(HOST_CC) -pthread -o $@ $^ $(HOST_LDLIBS) $(HOST_EXTRA_LDFLAGS)

UNIT_BINS := $(patsubst tests/unit/%.c,$(AB)/tests/%,$(UNIT_TESTS))
$(AB)/tests/%: $(AB)/obj/tests/unit/%.o $(call host_obj,$(AB),$(LIB_SRCS) $(filter-out tools/sealctl.c,$(SEALCTL_SRCS))) $(HOST_LIBS)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)
	$(Q)$(HOST_CC) $(ASAN_FLAGS) -pthread -o $@ $^ $(HOST_LDLIBS)

$(CRASHTEST): $(call host_obj,$(HB),$(CRASH_SRCS) $(LIB_SRCS) $(filter-out tools/sealctl.c,$(SEALCTL_SRCS))) $(HOST_LIBS)
	$(call say,LD,$@)
	$(Q)$(HOST_CC) -pthread -o $@ $^ $(HOST_LDLIBS)

FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(FB)/%,$(FUZZ_TARGETS))
define fuzz_link
	$(call say,LD,$@)
	$(Q)clang -fsanitize=fuzzer,address,undefined -pthread -o $@ $^ $(HOST_LDLIBS)
endef
$(FB)/%: $(FB)/obj/tests/fuzz/%.o $(call host_obj,$(FB),$(LIB_SRCS)) $(HOST_LIBS)
	$(fuzz_link)
# targets of the diff's code (FUZZ_HOST_TARGETS: its plan) link it too
$(patsubst tests/fuzz/%.c,$(FB)/%,$(FUZZ_HOST_TARGETS)): $(FB)/%: $(FB)/obj/tests/fuzz/%.o \
		$(call host_obj,$(FB),$(LIB_SRCS) $(PATCH_DIFF_SRCS)) $(HOST_LIBS)
	$(fuzz_link)

SEALINIT := $(TB)/sealinit
$(SEALINIT): $(call host_obj,$(TB),$(LIB_SRCS) $(INIT_SRCS)) $(TARGET_LIBS)
	$(call say,LD,$@)
	$(Q)$(call TARGET_LINK,$@.debug,$^)
	$(Q)$(TARGET_STRIP) -o $@ $@.debug
	@printf '  %-7s %s: %s bytes stripped\n' SIZE $@ $$(stat -c %s $@)

$(SEALCTL_DEVICE): $(call host_obj,$(TB),$(LIB_SRCS) $(SEALCTL_DEVICE_SRCS)) $(TARGET_LIBS)
	$(call say,LD,$@)
	$(Q)$(call TARGET_LINK,$@.debug,$^)
	$(Q)$(TARGET_STRIP) -o $@ $@.debug
.PHONY: sealctl-device
sealctl-device: $(SEALCTL_DEVICE)

INITRAMFS := $(TB)/initramfs.cpio.gz
$(INITRAMFS): $(SEALINIT) board/$(BOARD_CFG)/modules qemu/mkinitramfs $(KCONFIG_CONFIG)
	$(call say,CPIO,$@)
	$(Q)qemu/mkinitramfs --board $(BOARD_CFG) --arch $(ARCH) --sealinit $(SEALINIT) -o $@

# ---------------------------------------------------------------- goals
.PHONY: all deps host sealctl sealinit initramfs tests fuzz-build check unit fuzz-replay \
	qemu-tests demo fuzz clean distclean help hostpkgs buildpkgs print-sealinit
hostpkgs:
	@$(DEB_INSTALL) $(HOST_PKGS)
buildpkgs:
	@$(DEB_INSTALL) $(BUILD_PKGS)

all: sealctl sealinit initramfs sealctl-device
sealctl: $(SEALCTL)
sealinit: $(SEALINIT)
initramfs: $(INITRAMFS)
tests: $(UNIT_BINS) $(SEALCTL)
fuzz-build: $(FUZZ_BINS)

# `make check`: everything, both boards, every test; the last line is the total.
check: hostpkgs
	@tests/run-all

unit: $(UNIT_BINS)
	@tests/run-unit $(UNIT_BINS)

fuzz-replay: $(FUZZ_BINS)
	@tests/run-fuzz replay $(FUZZ_BINS)

FUZZ_SECONDS ?= 600
fuzz: $(FUZZ_BINS)
	@tests/run-fuzz run $(FUZZ_SECONDS) $(FUZZ_BINS)

qemu-tests: all
	@qemu/scenario --all

# make demo BOARD=qemu-x86_64: another board than .config's is built
# with its own configuration (build/demo/<board>.config); a board that
# boots another's build (BUILD_BOARD in its board.conf: qemu-aarch64-uboot)
# builds that one.
demo: hostpkgs
	@b=$${BOARD:-$(BOARD_CFG)}; [ -f board/$$b/board.conf ] || { echo "make demo: no board '$$b' (board/$$b/board.conf)"; exit 1; }; \
	 bb=$$(sed -n 's/^BUILD_BOARD=//p' board/$$b/board.conf); bb=$${bb:-$$b}; cfg=$(KCONFIG_CONFIG); \
	 if [ "$$bb" != "$(BOARD_CFG)" ]; then cfg=build/demo/$$bb.config; mkdir -p build/demo; \
	   [ -f $$cfg ] || $(MAKE) --no-print-directory KCONFIG_CONFIG=$$cfg BOARD=$$bb defconfig >/dev/null || exit 1; fi; \
	 $(MAKE) --no-print-directory KCONFIG_CONFIG=$$cfg all && qemu/demo $$b

# Where this configuration's sealinit is (build/<board>[-production]/):
# for packaging recipes that install it.
print-sealinit:
	@echo $(abspath $(SEALINIT))

clean:
	rm -rf $(HB) $(AB) $(FB) $(TB)

distclean:
	rm -rf $(BUILD) $(KCONFIG_CONFIG) $(KCONFIG_CONFIG).old

help:
	@sed -n '2,6p' Makefile | sed 's/^# //'
	@echo "  make menuconfig | savedefconfig | olddefconfig   configuration (kconfiglib)"
	@echo "  make unit | fuzz-replay | qemu-tests             parts of make check"
	@echo "  make fuzz FUZZ_SECONDS=600                       run every fuzz target"
	@echo "  make crashtest                                   every crash point of the update path (docs/reliability.md)"
	@echo "  make powercut [N=200 SEED=1]                     power cuts under QEMU during an update boot"
	@echo "  make bench | bench-patch | bench-boot [N=5] | bench-kernel   benchmarks -> docs/benchmarks.md"
	@echo "  make man | completion                            sealctl(1), sealinit(7), bash completion"
	@echo "  make install DESTDIR= PREFIX=/usr/local          sealctl, the man pages, the completion"
	@echo "  make V=1                                         show the commands"

-include $(shell find $(BUILD) -path '*/obj/*' -name '*.d' -not -path '$(DEPS)/*' 2>/dev/null)
