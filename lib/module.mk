LIB_SRCS += lib/err.c lib/str.c lib/fdio.c
UNIT_TESTS += tests/unit/test_lib.c
