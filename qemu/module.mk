# qemu/: the boot-cost benchmark (issue 4 item 8).  Boots the demo system
# through sealinit and through a busybox sh + veritysetup initramfs under
# QEMU, N times each, and writes the "Boot cost (issue 4)" section of
# docs/benchmarks.md (tests/bench/bench-boot; N=9 for more boots).
BENCH_TARGETS += bench-boot
.PHONY: bench-boot
bench-boot: all
	@tests/bench/bench-boot $(or $(N),5)
