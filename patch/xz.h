/* sealinit patch/: xz members in decompressed space (xz.c).
 *
 * An xz stream (the payload of an x86 bzImage, a .xz file) rewrites from
 * its first changed byte on, so its compressed bytes cost a patch almost
 * their whole size.  Its LZMA2 data splits, without loss, into two parts:
 *   - the data the LZMA2 chunks decode to (in the filters' space: before
 *     a BCJ filter is undone), and
 *   - the **parse**: the chunks' headers and, per chunk, the symbols the
 *     encoder chose (literal runs, matches with their lengths and
 *     distances, repeats), plus every container byte verbatim.
 * Both are diffed against the old member's like any other bytes; the
 * apply codes the symbols again with LZMA's range coder, which gives back
 * the very bytes the encoder wrote.  Unlike gzip (gz.c) no encoder's
 * choices need to be reproduced, so this works for any LZMA2 encoder and
 * needs no 32 MiB match finder at the apply: a window of XZ_WIN bytes in
 * memory, farther bytes read back through a callback.
 *
 * The parse stream (docs/formats.md, "xz members"): tokens, one byte each
 * then their fields:
 *   0x00..0x3f  n+1 literals (the bytes are the data's)
 *   0x40..0x7f  a match, length 2 + (t & 0x3f); 0x7f: then one byte more
 *               (length 65 + b, at most 273); then LEB128 distance - 1
 *   0x80..0xbf  a repeat of the last distance, its length as above
 *   0xc0        a short repeat (one byte at the last distance)
 *   0xc1..0xc3  a repeat of the second..fourth last distance; LEB128
 *               length - 2
 *   0xe0 c [p]  an LZMA chunk: c = its reset level (0..3), then with
 *               c >= 2 the properties byte
 *   0xe1 c n    an uncompressed chunk: c = 1 (dictionary reset) or 2,
 *               LEB128 n = its length - 1 (< 65536)
 *   0xe2        the end of a block's LZMA2 data
 *   0xf0 n b..  LEB128 n > 0, then n container bytes verbatim
 *   0xff        the end of the member
 */
#ifndef SEALINIT_PATCH_XZ_H
#define SEALINIT_PATCH_XZ_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "patch/patch.h"

#define XZ_WIN (1u << 20)      /* recent data kept in memory */
#define XZ_CHUNK_C 65536u      /* an LZMA2 chunk's compressed bytes, at most */
#define XZ_CHUNK_U (2u << 20)  /* and its uncompressed bytes */
#define XZ_LIT_PROBS (0x300u << 4)

struct xz_len_probs {
	uint16_t choice, choice2, low[16][8], mid[16][8], high[256];
};

struct xz_model {
	uint16_t is_match[12][16], is_rep[12], is_rep0[12], is_rep1[12], is_rep2[12];
	uint16_t is_rep0_long[12][16];
	uint16_t dist_slot[4][64], dist_special[115], dist_align[16];
	struct xz_len_probs len, rep_len;
	uint16_t lit[XZ_LIT_PROBS];
	unsigned lc, lp, pb, state;
	uint32_t rep[4];
};

struct xz_rc {
	int enc;
	uint32_t range, code;
	uint64_t low, cache_size;
	uint8_t cache;
	uint8_t *buf;
	size_t pos, len;
	int err;
};

/* A sequential byte stream through a callback, with a buffer. */
struct xz_stream {
	patch_read_fn read;
	patch_write_fn write;
	void *ctx;
	uint64_t base, len, off; /* off: bytes moved so far */
	uint8_t buf[4096];
	size_t bpos, blen;
	int ended; /* 1: a read or write past len was refused; 2: a LEB128
		    * number of more than 63 bits */
};

struct patch_xz {
	struct xz_model m;
	struct xz_rc rc;
	uint8_t win[XZ_WIN];
	uint8_t cbuf[XZ_CHUNK_C + 16];
	struct xz_stream in, data, parse;
	patch_read_fn back;   /* data already written, for distances past the window */
	void *bctx;
	uint64_t pos;         /* data bytes so far */
	uint64_t dict_start;  /* pos at the last dictionary reset */
	uint64_t avail;       /* join: data bytes in the window up to here */
	uint64_t flushed;     /* split: data bytes written out */
	uint64_t far_reads;   /* reads past the window (measured) */
	uint32_t dict_size;
	unsigned lit_run;
	uint8_t raw[256];
	size_t raw_n;
	int have_props, have_dict;
};

/* The stream's operations (xz.c; zs.c's too): a reader or a writer of
 * len bytes at base, through the callback, off counting what it moved;
 * past len: SI_E_PATCH_EXPAND, with ended 1 (2: a LEB128 number longer
 * than 63 bits). */
void patch_xs_init(struct xz_stream *s, patch_read_fn rd, patch_write_fn wr, void *ctx,
		   uint64_t base, uint64_t len);
int patch_xs_flush(struct xz_stream *s) SI_WUR;
int patch_xs_put(struct xz_stream *s, const uint8_t *p, size_t n) SI_WUR;
int patch_xs_get(struct xz_stream *s, uint8_t *p, size_t n) SI_WUR;
int patch_xs_byte(struct xz_stream *s, unsigned *b) SI_WUR;
int patch_xs_varint(struct xz_stream *s, uint64_t *v) SI_WUR;
int patch_xs_put_varint(struct xz_stream *s, uint64_t v) SI_WUR;

/* Splits the xz stream at the start of member[0..m_len) (read through
 * read/rctx) into its data, written at data_base.. (at most data_max
 * bytes), and its parse, written at parse_base.. (at most parse_max), both
 * through write/wctx; back/bctx reads the data back where write put it.
 * *data_len, *parse_len: what it wrote; *used: the stream's length (bytes
 * after it are not read, except into a buffer).
 * A stream it cannot split: SI_E_PATCH_EXPAND (d: which field); the
 * callbacks' errors are passed on. */
int patch_xz_split(struct patch_xz *z, patch_read_fn read, void *rctx, uint64_t m_len,
		   patch_write_fn write, void *wctx, patch_read_fn back, void *bctx,
		   uint64_t data_base, uint64_t data_max, uint64_t parse_base, uint64_t parse_max,
		   uint64_t *data_len, uint64_t *parse_len, uint64_t *used, struct si_diag *d) SI_WUR;

/* Joins data[0..data_len) at data_base and the parse[0..parse_len) at
 * parse_base (both read through read/rctx) into the xz stream, written
 * through write/wctx at 0.. (at most m_max bytes); both must be used
 * exactly.  *m_len: the stream's length.  A parse that does not describe
 * a stream of that data: SI_E_PATCH_EXPAND. */
int patch_xz_join(struct patch_xz *z, patch_read_fn read, void *rctx, uint64_t data_base,
		  uint64_t data_len, uint64_t parse_base, uint64_t parse_len, patch_write_fn write,
		  void *wctx, uint64_t m_max, uint64_t *m_len, struct si_diag *d) SI_WUR;

/* 1 when p[0..len) starts with a valid xz stream header (12 bytes: the
 * magic, the flags, their CRC-32), else 0. */
int patch_xz_header_ok(const uint8_t *p, size_t len);

/* A variable-length integer of xz's headers and index at p[*at], below
 * len, in its shortest form (at most 9 bytes); *at moves past it.  0, or
 * -1 when it is cut, too long or not the shortest. */
int patch_xz_vli(const uint8_t *p, size_t len, size_t *at, uint64_t *v);

#endif
