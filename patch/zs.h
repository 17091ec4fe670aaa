/* sealinit patch/: kind 4, a zstd frame (RFC 8878) split without loss into
 * its data and its **parse**, and joined back (zs.c; docs/formats.md,
 * Expansions, kind 4).  A zstd kernel (CONFIG_KERNEL_ZSTD), a squashfs
 * image's zstd blocks, a .zst file: a changed frame differs from its old
 * version from the change on, raw; split, its data diffs as the files it
 * holds and its parse as the encoder's choices, which agree where the
 * data does.  As kind 3 does for deflate, the split keeps every choice the
 * encoder made that the data does not determine -- block types and sizes,
 * each literals section's type and size format, the Huffman and FSE table
 * descriptions (their bytes, verbatim), each sequence's literal length,
 * match length and offset value as coded (repeat codes included), the
 * number of sequences' form and each FSE state the last sequence was
 * decoded in -- so that the join codes the same bits: the literals with
 * the block's Huffman codes, the sequences with its FSE tables, backward
 * from the states kept.  No search, no window: the join reads the data
 * only for the literals.  Tokens, one byte each then their fields:
 *   0xd0 f n        a raw block of LEB128 n bytes of the data; f: 1 last
 *   0xd1 f n b      an RLE block: n bytes of the data, each b
 *   0xd2 f          a compressed block, then
 *       lt n        literals type | size format << 2, LEB128 count
 *       [b]         (type 1, RLE: the byte)
 *       [h d..]     (type 2: LEB128 h, h bytes of Huffman description)
 *       s k         LEB128 sequences, the form of their count (1..3)
 *       [m t.. q..  (s > 0: the modes byte; per table LL, OF, ML, mode 1:
 *        e e e]     its symbol, mode 2: LEB128 length and the description;
 *                   the s sequences, each LEB128 literal length, match
 *                   length - 3, offset value - 1; the LL, OF and ML states
 *                   of the last one, LEB128)
 *   0xf0 n b..      LEB128 n > 0 container bytes (the frame header, the
 *                   content checksum: copied, not computed)
 *   0xff            the end of the frame
 * The split refuses (the frame stays raw) what it cannot give back: a
 * dictionary, a reserved bit, a stream not consumed exactly. */
#ifndef SEALINIT_PATCH_ZS_H
#define SEALINIT_PATCH_ZS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "patch/patch.h"
#include "patch/xz.h"

#define ZS_BLOCK_MAX (128u << 10)          /* a block's data and bytes, at most */
#define ZS_SEQ_MAX (ZS_BLOCK_MAX / 3 + 1)  /* a block's sequences, at most */
#define ZS_OB (512u << 10)                 /* split: the data's recent bytes */
#define ZS_KEEP (256u << 10)               /* of them, kept when it flushes */
#define ZS_HUF_BITS 12u                    /* a Huffman code's length, at most */
#define ZS_DESC_MAX 256u                   /* a table description's bytes, at most */

/* An FSE table (RFC 8878 4.1.1): per state its symbol, the bits it reads
 * and the base they add to; for the join, each symbol's states in table
 * order (by_sym[start[s]..start[s] + cnt[s])). */
struct zs_fse {
	unsigned log, nsym; /* log 0: one state (RLE mode) */
	uint8_t sym[512], nb[512];
	uint16_t base[512];
	uint16_t cnt[256], start[256];
	uint16_t by_sym[512];
};

/* A Huffman table (4.2.1): each symbol's code and length; for the split,
 * the decoding table (symbol | length << 8 per index of max_bits). */
struct zs_huf {
	unsigned max_bits, nsym; /* max_bits 0: none yet */
	uint8_t nb[256];
	uint16_t code[256];
	uint16_t dec[1u << ZS_HUF_BITS];
};

struct zs_seq {
	uint32_t ll, ml, ov;
};

struct patch_zs {
	struct zs_fse t[3];  /* LL, OF, ML in force (repeat mode) */
	struct zs_fse wt;    /* the Huffman weights' table */
	struct zs_huf huf;   /* the last literals' table (treeless) */
	uint8_t have[3];
	uint8_t cbuf[ZS_BLOCK_MAX + 64]; /* a block's bytes */
	uint8_t lit[ZS_BLOCK_MAX + 64];  /* a block's literals */
	uint8_t desc[ZS_DESC_MAX];
	union {
		uint8_t ob[ZS_OB];              /* split: the data's recent bytes */
		struct zs_seq seq[ZS_SEQ_MAX];  /* join: a block's sequences */
	} u;
	struct xz_stream ps, ds; /* split: parse; join: parse and data */
	patch_read_fn back;      /* split: data already written */
	void *bctx;
	uint64_t data_base, data_max, dpos, ob_start;
	size_t ob_len;
	uint32_t rep[3];
	const char *why; /* the field a refusal names, */
	int vals;        /* with (1) the bound it wanted and what it found */
	uint64_t want, found;
};

/* Splits the zstd frame at the start of member[0..m_len) (read through
 * read/rctx) into its data, written at data_base.. (at most data_max
 * bytes; back/bctx reads it again, for offsets past what is kept), and
 * its parse, at parse_base.. (at most parse_max); *data_len, *parse_len:
 * what it wrote, *used: the frame's bytes.  Else SI_E_PATCH_EXPAND, d
 * naming the field; the callbacks' errors are passed on. */
int patch_zs_split(struct patch_zs *z, patch_read_fn read, void *rctx, uint64_t m_len,
		   patch_write_fn write, void *wctx, patch_read_fn back, void *bctx,
		   uint64_t data_base, uint64_t data_max, uint64_t parse_base, uint64_t parse_max,
		   uint64_t *data_len, uint64_t *parse_len, uint64_t *used,
		   struct si_diag *d) SI_WUR;

/* Joins data[0..data_len) at data_base and parse[0..parse_len) at
 * parse_base (read through read/rctx) into the frame, written through
 * write/wctx at 0.. (at most m_max bytes); both used exactly.  *m_len:
 * its length.  A parse that does not describe a frame of that data:
 * SI_E_PATCH_EXPAND (d: which field). */
int patch_zs_join(struct patch_zs *z, patch_read_fn read, void *rctx, uint64_t data_base,
		  uint64_t data_len, uint64_t parse_base, uint64_t parse_len, patch_write_fn write,
		  void *wctx, uint64_t m_max, uint64_t *m_len, struct si_diag *d) SI_WUR;

/* Does b[0..n) start like a zstd frame (magic, a frame header without a
 * dictionary or reserved bit)? */
int patch_zs_header_ok(const uint8_t *b, size_t n);

#endif
