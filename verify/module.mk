# verify/: the trust anchor, sealed images (footer, manifest), signatures,
# keys, rollback, SHA-256 (run-time dispatch: SHA-NI, ARMv8 CE, portable)
# and the dm-verity hash tree.
LIB_SRCS += verify/anchor.c verify/manifest.c verify/seal.c verify/set.c verify/sig.c verify/key.c \
	verify/rollback.c verify/sha256.c verify/sha256_x86.c verify/sha256_arm64.c verify/hashtree.c
# The builder of sealed images is host-side: sealctl and the tests.
SEALCTL_SRCS += verify/seal_build.c
UNIT_TESTS += tests/unit/test_anchor.c tests/unit/test_seal.c tests/unit/test_key.c \
	tests/unit/test_sig.c tests/unit/test_sha256.c tests/unit/test_hashtree.c tests/unit/test_set.c
FUZZ_TARGETS += tests/fuzz/fuzz_anchor.c tests/fuzz/fuzz_seal.c tests/fuzz/fuzz_key.c tests/fuzz/fuzz_set.c

# vt-bench: the tree over plain files, for `make bench` and
# tests/interop/veritysetup.sh (sealctl-free, so both run before sealctl
# can seal).
VT_BENCH := $(HB)/vt-bench
VT_BENCH_OBJS := $(patsubst %.c,$(HB)/obj/%.o,tests/bench/vt-bench.c \
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

# make unit-hash-target: the SHA-256 and hash-tree tests built for the
# board (static, musl: $(B)/tests/) and run there -- under qemu-user when
# the board's CPU is not the host's, which is how the arm64 crypto
# extension code (verify/sha256_arm64.c) gets tested on an x86 host.
# On the second CPU model (cortex-a57) only test_sha256 runs again: the
# tree's code does not depend on the CPU, and hashing its large trees under
# emulation is most of this target's time.
HASH_TRIPLE := $(if $(filter arm64,$(ARCH)),aarch64-linux-musl,x86_64-linux-musl)
HASH_QEMU := $(if $(filter arm64,$(ARCH)),$(if $(filter aarch64,$(shell uname -m)),,qemu-aarch64-static))
HASH_TARGET_TESTS := $(B)/tests/test_sha256 $(B)/tests/test_hashtree
$(HASH_TARGET_TESTS): $(B)/tests/%: $(B)/obj/tests/unit/%.o \
		$(patsubst %.c,$(B)/obj/%.o,verify/sha256.c verify/sha256_x86.c \
		verify/sha256_arm64.c verify/hashtree.c lib/err.c lib/str.c) \
		$(BUILD)/deps/$(HASH_TRIPLE)/libbearssl.a
	@mkdir -p $(dir $@)
	$(call say,LD,$@)
	$(Q)$(call TARGET_LINK,$@,$^)
.PHONY: unit-hash-target
unit-hash-target: $(HASH_TARGET_TESTS)
	@$(if $(HASH_QEMU),$(DEB) install qemu-user-static >/dev/null &&) \
	 for c in $(if $(HASH_QEMU),max cortex-a57,native); do \
		for t in $(HASH_TARGET_TESTS); do \
			case $$c/$$t in cortex-a57/*/test_hashtree) continue ;; esac; \
			echo "  RUN     $$t ($$c)"; \
			$(if $(HASH_QEMU),$(HASH_QEMU) -cpu $$c) $$t | tail -n 2 || exit 1; \
		done; \
	 done
