# verify/: SHA-256 (run-time dispatch: SHA-NI, ARMv8 CE, portable) and the
# dm-verity hash tree.
LIB_SRCS += verify/sha256.c verify/sha256_x86.c verify/sha256_arm64.c verify/hashtree.c
UNIT_TESTS += tests/unit/test_sha256.c tests/unit/test_hashtree.c

# vt-bench: the tree over plain files, for `make bench` and
# tests/interop/veritysetup.sh (sealctl-free, so both run before sealctl
# can seal).
# (Included before the Makefile defines HB: spell the paths out.)
VT_BENCH := $(BUILD)/host/vt-bench
VT_BENCH_OBJS := $(patsubst %.c,$(BUILD)/host/obj/%.o,tests/bench/vt-bench.c \
	verify/sha256.c verify/sha256_x86.c verify/sha256_arm64.c verify/hashtree.c \
	lib/err.c lib/str.c)
$(VT_BENCH): $(VT_BENCH_OBJS)
	$(call say,LD,$@)
	$(Q)$(HOST_CC) -pthread -o $@ $^ $(HOST_LDLIBS)

# make bench: sealctl verify against veritysetup verify on a 1 GiB image;
# writes the "Seal verification" section of docs/benchmarks.md.
BENCH_TARGETS += bench-verify
.PHONY: bench bench-verify
bench: bench-verify
bench-verify: $(VT_BENCH)
	@tests/bench/bench-verify
