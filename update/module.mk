# update/: the update lifecycle -- state records in two copies, slots,
# rollback floors, bundles, the engine -- with every write through struct
# si_fs (lib/fsops.h).  update/fs.c is that table over a real directory (PID 1, sealctl).
LIB_SRCS += update/record.c update/bundle.c update/engine.c update/boot.c update/loader.c
SEALCTL_SRCS += update/bundle_build.c
INIT_SRCS += update/fs.c
SEALCTL_SRCS += update/fs.c
UNIT_TESTS += tests/unit/test_update.c tests/unit/test_engine.c
FUZZ_TARGETS += tests/fuzz/fuzz_record.c tests/fuzz/fuzz_bundle.c
# The TPM 2.0 floor store (CONFIG_FLOOR_STORE_TPM*), over lib/tpm2.
LIB_SRCS += update/floor_tpm.c
UNIT_TESTS += tests/unit/test_floor_tpm.c
