# plan/: the boot plan -- the command line, the board's policy and every
# decision of a boot, pure code that sealinit and `sealctl doctor` share.
LIB_SRCS += plan/cmdline.c plan/board.c plan/settings.c plan/modules.c plan/boot.c \
	plan/report.c plan/status.c plan/update.c
UNIT_TESTS += tests/unit/test_cmdline.c tests/unit/test_plan.c
FUZZ_TARGETS += tests/fuzz/fuzz_cmdline.c tests/fuzz/fuzz_config.c
