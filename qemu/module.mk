# qemu/: the boot-cost benchmark (issue 4 item 8).  Boots the demo system
# through sealinit, through a busybox sh + veritysetup initramfs and through
# the unverified floor (tests/bench/floor-init.c: the same modules and
# images mounted plain) under QEMU, N times each, and writes the "Boot
# cost (issue 4)" section of docs/benchmarks.md (tests/bench/bench-boot;
# N=9 for more boots).
BENCH_TARGETS += bench-boot
.PHONY: bench-boot
# The floor's /init: static for the board, like sealinit; not in `all`.
BENCH_FLOOR_INIT := $(TB)/bench-floor-init
$(BENCH_FLOOR_INIT): $(TB)/obj/tests/bench/floor-init.o
	$(call say,LD,$@)
	$(Q)$(call TARGET_LINK,$@.debug,$^)
	$(Q)$(TARGET_STRIP) -o $@ $@.debug
bench-boot: all $(BENCH_FLOOR_INIT)
	@tests/bench/bench-boot $(or $(N),5)
