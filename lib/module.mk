LIB_SRCS += lib/err.c lib/str.c
UNIT_TESTS += tests/unit/test_lib.c
