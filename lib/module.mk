LIB_SRCS += lib/err.c lib/str.c lib/fdio.c lib/fsops.c
UNIT_TESTS += tests/unit/test_lib.c
