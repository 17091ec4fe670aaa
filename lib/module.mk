LIB_SRCS += lib/err.c lib/str.c lib/fdio.c lib/fsops.c
UNIT_TESTS += tests/unit/test_lib.c
# lib/tpm2: the TPM 2.0 commands of the floor store (update/floor_tpm.c).
LIB_SRCS += lib/tpm2.c lib/tpm2_dev.c
UNIT_TESTS += tests/unit/test_tpm2.c
FUZZ_TARGETS += tests/fuzz/fuzz_tpm2.c
