# patch/: the delta format (issue 5).  The format parser, the segment
# interpreter, the apply driver and the zstd stream decoder (patch/zstd.c)
# are library code: sealinit decodes zstd and stored streams with the same
# wrapper sealctl uses, over libzstd's decoder built from Debian's source
# for the target (mk/lib.mk LIB=zstd; ZSTD_INC/ZSTD_LIB for an
# integrator's own) and Debian's libzstd on the host.  Making patches
# (patch/diff.c: compression, suffix sorting) stays host-only.
LIB_SRCS += patch/format.c patch/apply.c patch/hash.c patch/zstd.c
SEALCTL_SRCS += patch/diff.c tools/cmd_diff.c tools/cmd_apply.c
UNIT_TESTS += tests/unit/test_patch.c
FUZZ_TARGETS += tests/fuzz/fuzz_patch.c
HOST_LDLIBS += -lzstd -ldivsufsort
BENCH_TARGETS += bench-patch

.PHONY: bench-patch
bench-patch: $(SEALCTL)
	@tests/bench/bench-patch $(SEALCTL)

