LIB_SRCS += verify/anchor.c
UNIT_TESTS += tests/unit/test_anchor.c
FUZZ_TARGETS += tests/fuzz/fuzz_anchor.c
