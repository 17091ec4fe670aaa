# sealinit: builds one third-party static library from its unpacked Debian
# source with the caller's compiler.  Invoked by the top Makefile as
#   make -f mk/lib.mk LIB=bearssl|fdt|zstd SRC=dir OUT=dir CC=... CFLAGS=... AR=...
# so that `make -jN` compiles the library's files in parallel.
ifeq ($(LIB),bearssl)
srcs := $(wildcard $(SRC)/src/*.c $(SRC)/src/*/*.c)
incs := -I$(SRC)/inc -I$(SRC)/src
else ifeq ($(LIB),fdt)
srcs := $(filter-out %/fdt_empty_tree.c,$(wildcard $(SRC)/fdt*.c))
incs := -I$(SRC)
else ifeq ($(LIB),zstd)
# libzstd's decoder only (sealinit decodes patch streams; it never
# compresses): lib/common and lib/decompress, no compress/, dictBuilder/,
# legacy/ or deprecated/.  Defines, each for a reason:
#   ZSTD_LEGACY_SUPPORT=0     no pre-1.0 frame formats (sealctl writes zstd 1.x)
#   ZSTD_DISABLE_ASM          huf_decompress_amd64.S is not built: the asm
#   DYNAMIC_BMI2=0            loop only runs behind DYNAMIC_BMI2's run-time
#                             dispatch, which compiles every hot decoder
#                             function twice (a BMI2 copy); 1.5.4's portable
#                             "fast C" Huffman loops serve instead, so x86_64
#                             and aarch64 run the same C code, musl-gcc,
#                             clang --target=aarch64 and an integrator's CC
#                             all build it as plain C, and it is smaller
#                             (make prints sealinit's size; docs/formats.md)
#   ZSTD_NO_UNUSED_FUNCTIONS  drops FSE/HUF helpers with large stack frames
#                             that the decoder does not call
#   ZSTD_STRIP_ERROR_STRINGS  patch/zstd.c maps error codes, never prints
#                             libzstd's strings
#   ZSTD_TRACE=0              no weak tracing hooks
#   XXH_NAMESPACE=ZSTD_       as libzstd's own build: xxhash symbols prefixed
# ZSTD_MULTITHREAD is not defined, so pool.c and threading.c are stubs
# that the linker's --gc-sections drops with everything else unused.
srcs := $(wildcard $(SRC)/lib/common/*.c $(SRC)/lib/decompress/*.c)
incs := -I$(SRC)/lib -I$(SRC)/lib/common -DZSTD_LEGACY_SUPPORT=0 -DZSTD_DISABLE_ASM \
	-DDYNAMIC_BMI2=0 -DZSTD_NO_UNUSED_FUNCTIONS -DZSTD_STRIP_ERROR_STRINGS -DZSTD_TRACE=0 \
	-DXXH_NAMESPACE=ZSTD_ -DDEBUGLEVEL=0
else
$(error mk/lib.mk: LIB must be bearssl, fdt or zstd)
endif
objs := $(patsubst $(SRC)/%.c,$(OUT)/obj/%.o,$(srcs))
Q := $(if $(filter 1,$(V)),,@)

$(OUT)/lib$(LIB).a: $(objs)
	$(Q)rm -f $@ && $(AR) rcs $@ $^
	@$(if $(Q),printf '  %-7s %s\n' AR $@)

# Objects depend on this file too: the defines above are part of them.
$(OUT)/obj/%.o: $(SRC)/%.c mk/lib.mk
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(incs) -c $< -o $@
