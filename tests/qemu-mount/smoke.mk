# Links the QEMU smoke test's PID 1 for the configured board.  Read after
# the Makefile, so every variable is set:
#   make -f Makefile -f tests/qemu-mount/smoke.mk smoke
SMOKE_SRCS := tests/qemu-mount/smoke.c $(LIB_SRCS) $(filter-out init/%,$(INIT_SRCS))
SMOKE := $(TB)/tests/qemu-mount/smoke
$(SMOKE): $(call host_obj,$(TB),$(SMOKE_SRCS)) $(TARGET_LIBS)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)
	$(Q)$(call TARGET_LINK,$@,$^)
.PHONY: smoke
smoke: $(SMOKE)
