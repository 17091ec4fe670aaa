# kc/: the .modinfo parser, the load orderer and the release check are pure
# library code; loading (init_module, finit_module, uname) only runs in PID 1.
LIB_SRCS += kc/modinfo.c kc/order.c kc/loadset.c
INIT_SRCS += kc/load.c
UNIT_TESTS += tests/unit/test_kc.c tests/unit/test_loadset.c
FUZZ_TARGETS += tests/fuzz/fuzz_modinfo.c

# test_kc also checks the loader's argument and open errors (it never loads
# anything into the host's kernel): link kc/load.c into it.  The path is
# $(AB)/tests/test_kc; the Makefile defines AB after including this fragment.
build/host-asan/tests/test_kc: build/host-asan/obj/kc/load.o
