# patch/: the delta format (issue 5).  The format parser, the segment
# interpreter, the apply driver (with the reference finders, patch/refs.c,
# and the gzip coder of expansions, patch/gz.c) and the zstd stream decoder
# (patch/zstd.c) are library code: sealinit decodes zstd and stored streams
# with the same wrapper sealctl uses, over libzstd's decoder built from
# Debian's source for the target (mk/lib.mk LIB=zstd; ZSTD_INC/ZSTD_LIB for
# an integrator's own) and Debian's libzstd on the host.  Making patches
# (patch/diff.c, match.c, plan.c: matching, suffix sorting, compression)
# stays host-only.
LIB_SRCS += patch/format.c patch/apply.c patch/hash.c patch/zstd.c patch/refs.c patch/gz.c patch/exp.c patch/xz.c patch/zs.c
PATCH_DIFF_SRCS := patch/diff.c patch/match.c patch/plan.c
SEALCTL_SRCS += $(PATCH_DIFF_SRCS) tools/cmd_diff.c tools/cmd_apply.c
UNIT_TESTS += tests/unit/test_patch.c tests/unit/test_zstd.c tests/unit/test_xz.c
FUZZ_TARGETS += tests/fuzz/fuzz_patch.c tests/fuzz/fuzz_zstd.c tests/fuzz/fuzz_xz.c tests/fuzz/fuzz_gz.c tests/fuzz/fuzz_dfl.c tests/fuzz/fuzz_zs.c \
	tests/fuzz/fuzz_plan.c
# fuzz_plan: the diff's plan, linked with the diff's code (PATCH_DIFF_SRCS)
FUZZ_HOST_TARGETS += tests/fuzz/fuzz_plan.c
# liblzma (liblzma-dev): the tests' and fuzzer's xz streams and their
# differential check; sealctl and sealinit do not call it
HOST_LDLIBS += -lzstd -ldivsufsort -llzma
BENCH_TARGETS += bench-patch

# make unit-tsan (kc/module.mk) also runs test_patch under ThreadSanitizer:
# the apply's workers, the helper that compresses the members and the waits
# between them, and the diff's threads; a data race fails the run.  Only
# what it links: patch/, lib/ and verify/.
$(TSB)/tests/test_patch: $(patsubst %.c,$(TSB)/obj/%.o,tests/unit/test_patch.c $(wildcard patch/*.c lib/*.c verify/*.c)) $(HOST_LIBS)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)
	$(Q)clang -fsanitize=thread -pthread -o $@ $^ $(HOST_LDLIBS)
unit-tsan: $(TSB)/tests/test_patch
# built with the other tests (make check's build suite, two jobs), so that
# unit-tsan only runs them
tests: $(TSB)/tests/test_patch

.PHONY: bench-patch
# HDIFFZ=/HPATCHZ=: HDiffPatch, the peer (see tests/bench/bench-patch);
# PAIRS=: a subset of tests/bench/pairs.sh's pairs; SKIP="TOOL:PAIR ...": peer
# diffs not to make when they are not cached (bsdiff on the kernel pairs).
bench-patch: $(SEALCTL)
	@HDIFFZ="$(HDIFFZ)" HPATCHZ="$(HPATCHZ)" SKIP="$(SKIP)" tests/bench/bench-patch $(SEALCTL) $(PAIRS)

# make unit-zstd-target: test_zstd built for the board (static, musl,
# over the libzstd decoder sealinit links: Debian's source built by
# mk/lib.mk, or ZSTD_LIB) and run there -- under qemu-user, on the board's
# CPU, when that is not the host's.  `make check` runs it with
# unit-hash-target (suite unit-target).
ZSTD_TEST_QEMU := $(if $(filter arm64,$(ARCH)),$(if $(filter aarch64,$(shell uname -m)),,qemu-aarch64-static -cpu cortex-a57))
ZSTD_TARGET_TEST := $(B)/tests/test_zstd
$(ZSTD_TARGET_TEST): $(B)/obj/tests/unit/test_zstd.o $(call host_obj,$(TB),patch/zstd.c patch/apply.c \
		patch/format.c patch/hash.c patch/refs.c patch/gz.c patch/exp.c patch/xz.c patch/zs.c verify/sha256.c verify/sha256_x86.c \
		verify/sha256_arm64.c lib/err.c lib/str.c lib/fdio.c lib/fsops.c) $(TARGET_LIBS)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)
	$(Q)$(call TARGET_LINK,$@,$^)
.PHONY: unit-zstd-target
unit-zstd-target: $(ZSTD_TARGET_TEST)
	@$(if $(ZSTD_TEST_QEMU),$(DEB) install qemu-user-static >/dev/null &&) \
	 echo "  RUN     $< ($(or $(ZSTD_TEST_QEMU),native))" && \
	 $(ZSTD_TEST_QEMU) $< | tail -n 2
