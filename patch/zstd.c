/* sealinit patch/: the zstd stream decoder (patch/zstd.h says what a
 * stream must be and why the memory is bounded).
 *
 * Only libzstd's decoder is used, and only through functions that never
 * allocate once the context is static: ZSTD_initStaticDCtx,
 * ZSTD_getFrameHeader, ZSTD_findFrameCompressedSize, ZSTD_decompressDCtx.
 * Their prototypes are in zstd.h's ZSTD_STATIC_LINKING_ONLY section;
 * Debian's shared libzstd exports them too (sealctl links it). */
#define ZSTD_STATIC_LINKING_ONLY
#include <string.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "lib/bytes.h"
#include "lib/str.h"
#include "patch/zstd.h"

/* A context's slot: its size rounded up so every slot stays aligned. */
static size_t slot_len(void)
{
	return (ZSTD_estimateDCtxSize() + 63u) & ~(size_t)63u;
}

size_t patch_zstd_mem(unsigned n)
{
	if (n == 0 || n > PATCH_ZSTD_SLOTS_MAX)
		return 0;
	return (size_t)n * slot_len();
}

int patch_zstd_init(struct patch_zstd *z, void *mem, size_t mem_len, unsigned n,
		    uint64_t window_max, struct si_diag *d)
{
	uint8_t *m = mem;
	size_t need = patch_zstd_mem(n);
	unsigned i;

	if (!z || need == 0)
		return si_diag_want(d, SI_E_ARG, "zstd.decoders", PATCH_ZSTD_SLOTS_MAX, n);
	if (!m || ((uintptr_t)m & 7u) != 0) /* ZSTD_initStaticDCtx wants 8-byte alignment */
		return si_diag_want(d, SI_E_ARG, "zstd.workspace_alignment", 0, (uintptr_t)m & 7u);
	if (mem_len < need)
		return si_diag_want(d, SI_E_NOMEM, "zstd.workspace", need, mem_len);
	memset(z, 0, sizeof *z);
	/* ZSTD_initStaticDCtx leaves most of the context unset until a frame
	 * begins; zeroed memory means no earlier bytes of this memory can be
	 * read out through a crafted frame. */
	memset(m, 0, need);
	z->slot_len = slot_len();
	z->window_max = window_max ? window_max : PATCH_ZSTD_WINDOW_MAX;
	for (i = 0; i < n; i++) {
		z->dctx[i] = ZSTD_initStaticDCtx(m + (size_t)i * z->slot_len, z->slot_len);
		if (!z->dctx[i])
			return si_diag_want(d, SI_E_NOMEM, "zstd.workspace", z->slot_len, 0);
	}
	for (i = 0; i < n; i++)
		pthread_mutex_init(&z->slot_lock[i], NULL);
	pthread_mutex_init(&z->err_lock, NULL);
	z->nslots = n;
	return 0;
}

void patch_zstd_done(struct patch_zstd *z)
{
	unsigned i;

	if (!z || z->nslots == 0)
		return;
	for (i = 0; i < z->nslots; i++)
		pthread_mutex_destroy(&z->slot_lock[i]);
	pthread_mutex_destroy(&z->err_lock);
	z->nslots = 0;
}

/* A free decoder, locked; when all are busy, wait for one in turn. */
static unsigned slot_take(struct patch_zstd *z)
{
	unsigned i;

	for (i = 0; i < z->nslots; i++)
		if (pthread_mutex_trylock(&z->slot_lock[i]) == 0)
			return i;
	i = __atomic_fetch_add(&z->next, 1u, __ATOMIC_RELAXED) % z->nslots;
	pthread_mutex_lock(&z->slot_lock[i]);
	return i;
}

/* Window_Size from a Window_Descriptor byte (RFC 8878 3.1.1.1.2), for the
 * diagnostic when libzstd refuses a window above its own maximum. */
static uint64_t window_of(uint8_t desc)
{
	uint64_t base = (uint64_t)1 << (10 + (desc >> 3));

	return base + (base / 8) * (desc & 7u);
}

/* "expected N bytes, found more": the frame decodes past dst's end, and
 * libzstd stops there without saying by how much. */
static int output_longer(struct si_diag *d, size_t dlen)
{
	char want[32];
	struct si_buf b;

	si_buf_init(&b, want, sizeof want);
	si_buf_printf(&b, "%zu bytes", dlen);
	si_diag_field(d, "zstd.output");
	si_diag_text(d, want, "more");
	return SI_E_PATCH_STREAM;
}

/* libzstd's verdict on a frame (e: a ZSTD_ErrorCode) as one of ours. */
static int map_zstd_error(const struct patch_zstd *z, int e, const uint8_t *src, size_t slen,
			  size_t dlen, struct si_diag *d)
{
	switch (e) {
	case ZSTD_error_srcSize_wrong:
		return si_diag_at(d, SI_E_PATCH_ZSTD_TRUNCATED, "zstd.frame", slen);
	case ZSTD_error_dstSize_tooSmall:
	case ZSTD_error_dstBuffer_null: /* dst is NULL only when dlen is 0 */
		return output_longer(d, dlen);
	case ZSTD_error_frameParameter_windowTooLarge:
		/* Above libzstd's own maximum (2 GiB and more), so above ours;
		 * only a frame with a Window_Descriptor (byte 5) gets here. */
		return si_diag_want(d, SI_E_PATCH_ZSTD_WINDOW, "zstd.window", z->window_max,
				    slen > 5 ? window_of(src[5]) : 0);
	case ZSTD_error_dictionary_wrong:
		return si_diag_want(d, SI_E_PATCH_ZSTD_DICT, "zstd.dictionary_id", 0, 0);
	case ZSTD_error_prefix_unknown:
		return si_diag_want(d, SI_E_PATCH_ZSTD_CORRUPT, "zstd.magic", ZSTD_MAGICNUMBER,
				    slen >= 4 ? si_le32(src) : 0);
	case ZSTD_error_checksum_wrong:
		return si_diag_want(d, SI_E_PATCH_ZSTD_CORRUPT, "zstd.checksum", 0, (uint64_t)e);
	case ZSTD_error_memory_allocation:
	case ZSTD_error_stage_wrong:
	case ZSTD_error_init_missing:
	case ZSTD_error_parameter_unsupported:
	case ZSTD_error_parameter_outOfBound:
	case ZSTD_error_workSpace_tooSmall:
		/* Not the frame's fault: libzstd was called wrongly. */
		return si_diag_want(d, SI_E_ARG, "zstd.context", 0, (uint64_t)e);
	default:
		return si_diag_want(d, SI_E_PATCH_ZSTD_CORRUPT, "zstd.frame", 0, (uint64_t)e);
	}
}

int patch_zstd_frame(struct patch_zstd *z, const uint8_t *src, size_t slen, uint8_t *dst,
		     size_t dlen, struct si_diag *d)
{
	ZSTD_frameHeader fh;
	size_t r, flen;
	unsigned s;

	if (!z || z->nslots == 0 || (!src && slen) || (!dst && dlen))
		return si_diag_want(d, SI_E_ARG, "zstd.context", 0, 0);
	if (slen == 0)
		return dlen == 0 ? 0 : si_diag_want(d, SI_E_PATCH_STREAM, "zstd.output", dlen, 0);

	/* The frame header, before anything is decoded. */
	r = ZSTD_getFrameHeader(&fh, src, slen);
	if (ZSTD_isError(r))
		return map_zstd_error(z, ZSTD_getErrorCode(r), src, slen, dlen, d);
	if (r > 0) /* r more header bytes needed than the stream has */
		return si_diag_at(d, SI_E_PATCH_ZSTD_TRUNCATED, "zstd.header", slen);
	if (fh.frameType != ZSTD_frame)
		return si_diag_want(d, SI_E_PATCH_ZSTD_CORRUPT, "zstd.magic", ZSTD_MAGICNUMBER,
				    si_le32(src));
	if (fh.dictID != 0)
		return si_diag_want(d, SI_E_PATCH_ZSTD_DICT, "zstd.dictionary_id", 0, fh.dictID);
	if (fh.windowSize > z->window_max)
		return si_diag_want(d, SI_E_PATCH_ZSTD_WINDOW, "zstd.window", z->window_max,
				    fh.windowSize);
	if (fh.frameContentSize != ZSTD_CONTENTSIZE_UNKNOWN && fh.frameContentSize != dlen)
		return si_diag_want(d, SI_E_PATCH_STREAM, "zstd.content_size", dlen,
				    fh.frameContentSize);

	/* The frame's extent (block headers only): it must end the stream. */
	flen = ZSTD_findFrameCompressedSize(src, slen);
	if (ZSTD_isError(flen))
		return map_zstd_error(z, ZSTD_getErrorCode(flen), src, slen, dlen, d);
	if (flen != slen)
		return si_diag_at(d, SI_E_PATCH_ZSTD_CORRUPT, "zstd.trailing_bytes", flen);
	/* Validation of the header ends here; the blocks are checked by
	 * libzstd as it decodes them, into dst[0..dlen) and nowhere else. */

	s = slot_take(z);
	r = ZSTD_decompressDCtx(z->dctx[s], dst, dlen, src, slen);
	pthread_mutex_unlock(&z->slot_lock[s]);
	if (ZSTD_isError(r))
		return map_zstd_error(z, ZSTD_getErrorCode(r), src, slen, dlen, d);
	if (r != dlen)
		return si_diag_want(d, SI_E_PATCH_STREAM, "zstd.output", dlen, r);
	return 0;
}

int patch_zstd_decode(void *ctx, int codec, const uint8_t *src, size_t slen, uint8_t *dst,
		      size_t dlen)
{
	struct patch_zstd *z = ctx;
	struct si_diag d;
	int r;

	if (codec != PATCH_CODEC_ZSTD)
		return patch_decode_stored(NULL, codec, src, slen, dst, dlen);
	if (!z || z->nslots == 0)
		return SI_E_ARG;
	si_diag_clear(&d);
	r = patch_zstd_frame(z, src, slen, dst, dlen, &d);
	if (r != 0) {
		pthread_mutex_lock(&z->err_lock);
		if (z->err == 0) {
			z->err = r;
			z->err_diag = d;
		}
		pthread_mutex_unlock(&z->err_lock);
	}
	return r;
}

int patch_zstd_error(struct patch_zstd *z, struct si_diag *d)
{
	int r;

	if (!z || z->nslots == 0)
		return 0;
	pthread_mutex_lock(&z->err_lock);
	r = z->err;
	if (r != 0 && d)
		*d = z->err_diag;
	pthread_mutex_unlock(&z->err_lock);
	return r;
}
