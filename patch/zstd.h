/* sealinit patch/: the zstd stream decoder, one code path for sealinit
 * (libzstd's decoder built from Debian's source with the target's
 * compiler, mk/lib.mk) and sealctl (Debian's libzstd).
 *
 * Bounded memory.  Each decoder is a libzstd decompression context in the
 * caller's memory (ZSTD_initStaticDCtx; patch_zstd_mem(n) bytes for n of
 * them, sized by the libzstd linked in).  A stream is decoded in one call
 * (ZSTD_decompressDCtx) straight into the caller's buffer, which is also
 * the frame's window: there is no window buffer, no malloc, and nothing is
 * written past dlen.  The peak is therefore n contexts plus the apply
 * worker buffers the caller already holds (patch_worker_mem).
 *
 * What a stream must be (docs/formats.md, "Delta patches"): exactly one
 * zstd frame (RFC 8878 section 3.1.1), decoding to exactly the declared
 * length.  Its frame header is read and checked before any block is:
 *   - the magic is zstd's (a skippable frame is refused), and it names no
 *     dictionary;
 *   - its window is at most the cap (below): a stream is at most one
 *     segment, so sealctl diff never makes a larger window, and a frame
 *     that asks for one is not a patch stream;
 *   - a content size, when the frame has one, equals the declared length;
 *   - the frame ends exactly where the stream does.
 * The cap costs no memory in this one-shot decoder; it keeps every patch
 * decodable by a streaming decoder whose window buffer is the cap (RFC 8878
 * section 3.1.1.1.2 lets a decoder refuse windows above its limit).
 */
#ifndef SEALINIT_PATCH_ZSTD_H
#define SEALINIT_PATCH_ZSTD_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "patch/patch.h"

/* The window cap: by default the segment cap, the largest stream a patch
 * can hold (a Kconfig home for both is the same follow-up). */
#ifndef CONFIG_PATCH_ZSTD_WINDOW_MAX_KB
#define CONFIG_PATCH_ZSTD_WINDOW_MAX_KB CONFIG_PATCH_SEG_MAX_KB
#endif
#define PATCH_ZSTD_WINDOW_MAX ((uint64_t)CONFIG_PATCH_ZSTD_WINDOW_MAX_KB * 1024u)

/* At most as many decoders as patch_apply_file has workers. */
#define PATCH_ZSTD_SLOTS_MAX 64u

struct ZSTD_DCtx_s;

/* n decoders over caller memory, shared by the apply workers: a call
 * takes a free decoder (each has a lock), or waits for one when every
 * decoder is busy, so n = the apply's worker count never waits.  The
 * struct holds no pointer into itself; dctx[] point into the caller's
 * memory, which must outlive it. */
struct patch_zstd {
	unsigned nslots;
	size_t slot_len;
	uint64_t window_max;
	struct ZSTD_DCtx_s *dctx[PATCH_ZSTD_SLOTS_MAX];
	pthread_mutex_t slot_lock[PATCH_ZSTD_SLOTS_MAX];
	unsigned next;                /* where a caller that must wait waits */
	/* The first failure seen by patch_zstd_decode (the callback has no
	 * diagnostic argument): patch_zstd_error() returns it. */
	pthread_mutex_t err_lock;
	int err;
	struct si_diag err_diag;
};

/* Bytes of caller memory for n decoders (n = 1..PATCH_ZSTD_SLOTS_MAX;
 * 0 otherwise).  The linked libzstd decides the size of one context:
 * about 94 KiB for 1.5.4 on a 64-bit target. */
size_t patch_zstd_mem(unsigned n);

/* Sets up n decoders in mem[0..mem_len) (8-byte aligned; zeroed here),
 * with a window cap of window_max bytes (0: PATCH_ZSTD_WINDOW_MAX).
 * Errors: SI_E_ARG (n out of range, mem misaligned or NULL),
 * SI_E_NOMEM (mem_len below patch_zstd_mem(n); values: needed, given). */
int patch_zstd_init(struct patch_zstd *z, void *mem, size_t mem_len, unsigned n,
		    uint64_t window_max, struct si_diag *d) SI_WUR;

/* Releases the locks (the memory is the caller's). */
void patch_zstd_done(struct patch_zstd *z);

/* Decodes one stream: src[0..slen) must be one zstd frame that decodes to
 * exactly dst[0..dlen) (src and dst do not overlap).  An empty stream
 * stands for an empty output.  Safe to call from several threads.
 * Errors, each with the field and the numbers in d:
 *   SI_E_PATCH_ZSTD_WINDOW     the frame's window is above the cap
 *                              (values: cap, window)
 *   SI_E_PATCH_ZSTD_TRUNCATED  the stream ends inside the frame
 *   SI_E_PATCH_ZSTD_CORRUPT    bad magic, a skippable frame, reserved
 *                              bits, a malformed block, a wrong checksum,
 *                              bytes after the frame (values: 0, libzstd's
 *                              error code where it gave one)
 *   SI_E_PATCH_ZSTD_DICT       the frame names a dictionary
 *   SI_E_PATCH_STREAM          the output is longer or shorter than dlen
 *                              (values: dlen, the frame's size if known)
 *   SI_E_ARG                   z is not set up */
int patch_zstd_frame(struct patch_zstd *z, const uint8_t *src, size_t slen, uint8_t *dst,
		     size_t dlen, struct si_diag *d) SI_WUR;

/* patch_decode_fn over a struct patch_zstd (ctx): stored streams as
 * patch_decode_stored, zstd streams as patch_zstd_frame, any other codec
 * SI_E_PATCH_CODEC.  A zstd stream's first failure is kept for
 * patch_zstd_error(). */
int patch_zstd_decode(void *ctx, int codec, const uint8_t *src, size_t slen, uint8_t *dst,
		      size_t dlen) SI_WUR;

/* The first failure patch_zstd_decode returned since init (0: none), and
 * its diagnostic into *d (if d), for the caller's one precise line. */
int patch_zstd_error(struct patch_zstd *z, struct si_diag *d);

#endif
