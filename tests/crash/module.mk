# tests/crash/: the power-loss harness -- the update path's real code on a
# model of a disk that keeps only what was synced (memfs.c), crashed at
# every operation (crashtest.c).  `make crashtest` runs all of it;
# `make check` a fixed sample (--sample).  Linked in the Makefile (after
# every fragment: it needs the whole LIB_SRCS).
CRASH_SRCS := tests/crash/crashtest.c tests/crash/memfs.c
CRASHTEST := $(HB)/crashtest

.PHONY: crashtest crashtest-sample
crashtest: $(CRASHTEST)
	$(CRASHTEST)
crashtest-sample: $(CRASHTEST)
	$(CRASHTEST) --sample
