LIB_SRCS += init/cmdline.c
INIT_SRCS += init/main.c init/log.c init/volumes.c
UNIT_TESTS += tests/unit/test_cmdline.c
FUZZ_TARGETS += tests/fuzz/fuzz_cmdline.c
