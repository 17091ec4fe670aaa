# sealinit: builds one third-party static library from its unpacked Debian
# source with the caller's compiler.  Invoked by the top Makefile as
#   make -f mk/lib.mk LIB=bearssl|fdt SRC=dir OUT=dir CC=... CFLAGS=... AR=...
# so that `make -jN` compiles the library's files in parallel.
ifeq ($(LIB),bearssl)
srcs := $(wildcard $(SRC)/src/*.c $(SRC)/src/*/*.c)
incs := -I$(SRC)/inc -I$(SRC)/src
else ifeq ($(LIB),fdt)
srcs := $(filter-out %/fdt_empty_tree.c,$(wildcard $(SRC)/fdt*.c))
incs := -I$(SRC)
else
$(error mk/lib.mk: LIB must be bearssl or fdt)
endif
objs := $(patsubst $(SRC)/%.c,$(OUT)/obj/%.o,$(srcs))
Q := $(if $(filter 1,$(V)),,@)

$(OUT)/lib$(LIB).a: $(objs)
	$(Q)rm -f $@ && $(AR) rcs $@ $^
	@$(if $(Q),printf '  %-7s %s\n' AR $@)

$(OUT)/obj/%.o: $(SRC)/%.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(incs) -c $< -o $@
