# patch/: the delta format (issue 5).  The format parser, the segment
# interpreter and the apply driver are library code (sealinit applies staged
# patches); making patches and the zstd decoder are host-only for now,
# because the targets have no zstd build yet (sealinit can apply stored-codec
# patches; see docs/formats.md "Delta patches").
LIB_SRCS += patch/format.c patch/apply.c patch/hash.c patch/refs.c patch/gz.c
SEALCTL_SRCS += patch/diff.c patch/match.c patch/plan.c tools/cmd_diff.c tools/cmd_apply.c
UNIT_TESTS += tests/unit/test_patch.c
FUZZ_TARGETS += tests/fuzz/fuzz_patch.c
HOST_LDLIBS += -lzstd -ldivsufsort
BENCH_TARGETS += bench-patch

.PHONY: bench-patch
# HDIFFZ=/HPATCHZ=: HDiffPatch, the peer (see tests/bench/bench-patch);
# PAIRS=: a subset of tests/bench/pairs.sh's pairs.
bench-patch: $(SEALCTL)
	@HDIFFZ="$(HDIFFZ)" HPATCHZ="$(HPATCHZ)" tests/bench/bench-patch $(SEALCTL) $(PAIRS)
