LIB_SRCS += kc/collection.c
UNIT_TESTS += tests/unit/test_collection.c
FUZZ_TARGETS += tests/fuzz/fuzz_collection.c
