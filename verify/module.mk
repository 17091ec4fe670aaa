# verify/: sealed images (footer, manifest), signatures, keys, rollback.
LIB_SRCS += verify/seal.c verify/sig.c verify/key.c verify/rollback.c
SEALCTL_SRCS += tools/sealcmd.c tools/cmd_keygen.c tools/cmd_seal.c \
	tools/cmd_verify.c tools/cmd_inspect.c tools/cmd_anchor.c
UNIT_TESTS += tests/unit/test_seal.c tests/unit/test_key.c tests/unit/test_sig.c
FUZZ_TARGETS += tests/fuzz/fuzz_seal.c tests/fuzz/fuzz_key.c
