# verify/: SHA-256 (run-time dispatch: SHA-NI, ARMv8 CE, portable) and the
# dm-verity hash tree.
LIB_SRCS += verify/sha256.c verify/sha256_x86.c verify/sha256_arm64.c verify/hashtree.c
UNIT_TESTS += tests/unit/test_sha256.c tests/unit/test_hashtree.c
