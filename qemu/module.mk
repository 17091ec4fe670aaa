# qemu/: the boot-cost benchmark (issue 4 item 8).  Boots the demo system
# through sealinit, through a busybox sh + veritysetup initramfs and through
# the unverified floor (tests/bench/floor-init.c: the same modules and
# images mounted plain) under QEMU, N times each, and writes the "Boot
# cost (issue 4)" section of docs/benchmarks.md (tests/bench/bench-boot;
# N=9 for more boots).  Its two guest programs are static for the board,
# like sealinit, and not in `all`:
#   bench-floor-init  the floor's /init
#   bench-sig-cost    sealinit's checks one at a time, on the boots' clock
#                     (tests/bench/sig-cost.c, sealinit's library code)
BENCH_TARGETS += bench-boot
.PHONY: bench-boot
BENCH_FLOOR_INIT := $(TB)/bench-floor-init
BENCH_SIG_COST := $(TB)/bench-sig-cost
# Listed, not $(LIB_SRCS): qemu/module.mk is read before verify/'s.
BENCH_SIG_COST_SRCS := tests/bench/sig-cost.c verify/sig.c verify/key.c verify/anchor.c \
	verify/sha256.c verify/sha256_x86.c verify/sha256_arm64.c lib/err.c lib/str.c
$(BENCH_FLOOR_INIT): $(TB)/obj/tests/bench/floor-init.o
$(BENCH_SIG_COST): $(call host_obj,$(TB),$(BENCH_SIG_COST_SRCS)) $(TARGET_LIBS)
$(BENCH_FLOOR_INIT) $(BENCH_SIG_COST):
	$(call say,LD,$@)
	$(Q)$(call TARGET_LINK,$@.debug,$^)
	$(Q)$(TARGET_STRIP) -o $@ $@.debug
bench-boot: all $(BENCH_FLOOR_INIT) $(BENCH_SIG_COST)
	@tests/bench/bench-boot $(or $(N),5)

# bench-update (issue 10): an update boot against a normal one, sealinit's
# peak memory while applying, the bundle against the image zstd'd.
BENCH_TARGETS += bench-update
.PHONY: bench-update
bench-update: all
	@tests/bench/bench-update $(or $(N),3)

# powercut (issue 11): the demo with a staged response, QEMU killed at a
# random instant of the update boot, then booted again (qemu/powercut).
# make powercut N=200 SEED=1; `make check` runs 10 cuts of seed 1.
.PHONY: powercut
powercut: all
	@qemu/powercut $(or $(N),200) $(or $(SEED),1)

# bench-kernel (issue 12): the kernel response (Debian arm64 6.1.0-56 ->
# 6.1.0-57) against its tiers zstd'd and HDiffPatch, the modules'
# signatures' share, the update boot through U-Boot against a normal one.
BENCH_TARGETS += bench-kernel
.PHONY: bench-kernel
bench-kernel: all
	@tests/bench/bench-kernel
