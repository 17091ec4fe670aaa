# kc/: the collection archive, the .modinfo parser, the load orderer and the release check are pure
# library code; loading (init_module, finit_module, uname) only runs in PID 1.
LIB_SRCS += kc/modinfo.c kc/order.c kc/loadset.c kc/collection.c
INIT_SRCS += kc/load.c
UNIT_TESTS += tests/unit/test_kc.c tests/unit/test_loadset.c tests/unit/test_collection.c
FUZZ_TARGETS += tests/fuzz/fuzz_modinfo.c tests/fuzz/fuzz_collection.c

# test_kc also checks the loader's argument and open errors (it never loads
# anything into the host's kernel): link kc/load.c into it.
$(AB)/tests/test_kc: $(AB)/obj/kc/load.o

# make unit-tsan: the concurrent loader's tests under ThreadSanitizer
# (make check runs it): a data race in kc/loadset.c fails the run.
TSB := $(BUILD)/host-tsan
$(TSB)/obj/%.o: %.c $(BUILD)/deps/src/bearssl/.unpacked $(BUILD)/deps/src/libfdt/.unpacked $(AUTOCONF)
	@mkdir -p $(dir $@)
	$(call say,CC-TSAN,$<)
	$(Q)clang $(HOST_CFLAGS) -O1 -fsanitize=thread -MMD -MP -c $< -o $@
$(TSB)/tests/test_loadset: $(patsubst %.c,$(TSB)/obj/%.o,tests/unit/test_loadset.c kc/loadset.c kc/order.c lib/err.c lib/str.c)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)
	$(Q)clang -fsanitize=thread -pthread -o $@ $^
# Other modules add their tests as prerequisites (patch/module.mk:
# test_patch); each runs, a race in one fails the target.
.PHONY: unit-tsan
tests: $(TSB)/tests/test_loadset
unit-tsan: $(TSB)/tests/test_loadset
	@st=0; for t in $^; do \
	  n=$$(basename $$t); \
	  out=$$(TSAN_OPTIONS=halt_on_error=1:exitcode=66 $$t 2>&1) || st=1; \
	  printf '%s\n' "$$out" | grep -E 'WARNING: ThreadSanitizer|FAIL' | head -n 20; \
	  printf '%s\n' "$$out" | tail -n 1 | sed "s/^$$n:/$$n-tsan:/"; \
	done; exit $$st
