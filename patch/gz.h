/* sealinit patch/: gzip members in decompressed space (gz.c): a bounded
 * RFC 1951 decoder and an encoder that makes the bytes GNU gzip -9 makes.
 * Both keep all their state in a caller-allocated struct and move bytes
 * through callbacks, so the apply can run them at boot. */
#ifndef SEALINIT_PATCH_GZ_H
#define SEALINIT_PATCH_GZ_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "patch/patch.h"

uint32_t patch_crc32(uint32_t crc, const uint8_t *p, size_t n);
/* The length of the gzip header (RFC 1952 2.3: its flags' fields skipped)
 * at h[0..n), when it is one and ends inside n; else 0. */
size_t patch_gz_header_len(const uint8_t *h, size_t n);
/* zlib's Adler-32 (RFC 1950), from 1 */
uint32_t patch_adler32(uint32_t adler, const uint8_t *b, size_t n);

struct gz_ct {
	uint16_t freq, code, dad, len;
};

/* Where a coder's bytes come from and go (both coders). */
struct gz_io {
	patch_read_fn read;
	void *rctx;
	patch_write_fn write;
	void *wctx;
	uint64_t in_base, in_len, in_off;
};

struct gz_tables {
	uint8_t length_code[256], dist_code[512];
	uint16_t base_length[29], base_dist[30];
	struct gz_ct static_ltree[288], static_dtree[30];
};

/* A deflate stream's symbols as 32-bit little-endian tokens: a literal
 * is its byte (0..255); a match (dist << 8) | (len - 3), dist 1..32768,
 * len 3..258 (so at least 0x100). */
#define GZ_TOK_LEN PATCH_EXP_TOK_LEN
#define GZ_TOK_MATCH(dist, len) ((uint32_t)(dist) << 8 | ((len) - 3u))
#define GZ_TOK_IS_MATCH(t) ((t) >= 0x100u)
#define GZ_TOK_DIST(t) ((t) >> 8)
#define GZ_TOK_MLEN(t) (((t) & 0xffu) + 3u)

/* Where the decoder writes its tokens (count: how many it wrote). */
struct gz_tokens {
	patch_write_fn write;
	void *ctx;
	uint64_t base, count;
};

/* The encoder's reuse (formats.md, Expansions, "the reuse list"): records
 * of 24 bytes (u64 new_off, old_off, len) at list_base, list_len bytes,
 * and the old member's tokens (tok_count at tok_base), all read through
 * read.  In each record's span of the new member the encoder takes the
 * old member's symbols from old_off on, instead of searching. */
#define GZ_REUSE_REC PATCH_EXP_REUSE_REC
struct gz_reuse {
	patch_read_fn read;
	void *rctx;
	uint64_t list_base, list_len;
	uint64_t tok_base, tok_count;
	uint64_t old_len;
};

struct patch_gzenc {
	uint8_t window[2 * 32768];
	uint16_t prev[32768], head[32768];
	uint8_t l_buf[32768];
	uint16_t d_buf[32768];
	uint8_t flag_buf[4096];
	struct gz_ct dyn_ltree[2 * 286 + 1], dyn_dtree[2 * 30 + 1], bl_tree[2 * 19 + 1];
	struct gz_tables t;
	int heap[2 * 286 + 1];
	uint8_t depth[2 * 286 + 1];
	uint16_t bl_count[16];
	int heap_len, heap_max, l_max_code, d_max_code, bl_max_code;
	uint64_t opt_len, static_len;
	unsigned last_lit, last_dist, last_flags;
	uint8_t flags, flag_bit;
	unsigned strstart, lookahead, match_start, prev_length, ins_h;
	int64_t block_start;
	int eofile, err;
	uint64_t bi_buf;
	int bi_valid;
	uint8_t obuf[4096];
	size_t obuf_n;
	uint64_t out_total;
	struct gz_io io;
	uint32_t crc;
	uint64_t slid; /* bytes slid out of the window: a position is slid + index */
	/* reuse (NULL: none): the next record, the old tokens' cursor */
	const struct gz_reuse *ru;
	uint64_t ru_rec, ru_new, ru_old, ru_len, ru_end_new, ru_end_old;
	uint64_t tok_i, tok_pos;
	uint8_t tbuf[4096];
	size_t tb_pos, tb_len;
	const char *field; /* what a reuse refusal was about */
	int f_vals;        /* and, when 1, what was expected and found */
	uint64_t f_exp, f_got;
};

/* Compresses in_len bytes read at in_base..  as GNU gzip -9 does (raw
 * deflate, no header or trailer), writing the output in order through
 * write (its offset argument is the output's running length).  *crc: the
 * CRC-32 of the input.  With ru, the spans its list names are coded with
 * the old member's symbols (a list that does not fit: SI_E_PATCH_EXPAND,
 * z->field naming why).  Returns 0 or the first callback error. */
int patch_gzenc_run(struct patch_gzenc *z, patch_read_fn read, void *rctx, uint64_t in_base,
		    uint64_t in_len, patch_write_fn write, void *wctx, const struct gz_reuse *ru,
		    uint32_t *crc) SI_WUR;

#define GZ_FAST_BITS 11
struct gz_huff {
	uint16_t count[16];
	uint16_t symbol[288];
	/* the codes of at most GZ_FAST_BITS bits by their next bits (as read,
	 * low first): symbol << 4 | length, 0 for a longer code */
	uint16_t fast[1u << GZ_FAST_BITS];
};

/* Kind 3's parse as the decoder writes it (gz.c, patch_dfl_split). */
struct gz_parse {
	patch_write_fn write;
	void *ctx;
	uint64_t base, max, len; /* len: bytes written */
	uint8_t buf[4096];
	size_t pos;
	unsigned lits;   /* literals not yet written as a token */
	uint32_t adler;  /* Adler-32 of the data so far, */
	int zlib;        /* when 1 (else the CRC-32 is taken: a gzip member) */
	const char *why; /* what the decoder refused for the parse */
};

#define GZ_INF_WIN 32768u   /* deflate's farthest distance */
#define GZ_INF_SLACK 272u   /* a match's 258 bytes and a word copy's overrun */
struct patch_inflate {
	/* the output: the last GZ_INF_WIN bytes written, then ob[oflushed..
	 * opos) made and not yet written */
	uint8_t ob[4 * GZ_INF_WIN];
	uint8_t ibuf[4096];
	size_t ipos, ilen, opos, oflushed;
	uint64_t bitbuf;
	unsigned bitcnt;
	struct gz_huff lcode, dcode;
	struct gz_io io;
	uint64_t out_base, out_total, out_max;
	uint32_t crc;
	struct gz_tokens *tok;
	uint8_t tbuf[4096];
	size_t tpos;
	struct gz_parse *ps; /* kind 3's split: its parse, else NULL */
};

/* Decodes the raw deflate stream in in_len bytes at in_base, writing at
 * out_base + k; at most out_max bytes out (more: SI_E_PATCH_EXPAND).
 * *used: the input bytes the stream took (up to its last whole byte);
 * *out_len, *crc: what it made.  With tok, also every symbol as a token
 * (a stored block's bytes as literals), tok->count of them.  A malformed
 * stream: SI_E_PATCH_EXPAND. */
int patch_inflate_run(struct patch_inflate *s, patch_read_fn read, void *rctx, uint64_t in_base,
		      uint64_t in_len, patch_write_fn write, void *wctx, uint64_t out_base,
		      uint64_t out_max, struct gz_tokens *tok, uint64_t *used, uint64_t *out_len,
		      uint32_t *crc) SI_WUR;

/* ---------------------------------------------------------------- kind 3
 * A deflate member -- a gzip member (RFC 1952) or a zlib stream (RFC
 * 1950) -- split without loss into its data and its **parse**: every
 * symbol the encoder chose and every block's header, plus the container's
 * bytes verbatim (docs/formats.md, Expansions, kind 3).  Unlike kind 1 no
 * encoder's choices are reproduced, so any deflate encoder's output
 * splits (zlib at any level, as squashfs and Python write it); the join
 * codes the symbols again with the block's Huffman codes, which are a
 * function of the header: no search, no window.  Tokens, one byte each
 * then their fields:
 *   0x00..0x3f  n+1 literals (the bytes are the data's)
 *   0x40..0x7e  a match of length 3 + (t - 0x40); then LEB128 distance - 1
 *   0x7f b      a match of length 66 + b (at most 258); then the distance
 *   0xc0 f      a block with the fixed codes; f: 1 for the last block
 *   0xc1 f l d c k[c+4] n s..  a block with its own codes: HLIT, HDIST,
 *               HCLEN, the code-length code's lengths in stream order,
 *               LEB128 n, then the n code-length symbols, each 16, 17 or
 *               18 followed by its repeat field (2, 3, 7 bits' value)
 *   0xc2 f n    a stored block of LEB128 n (< 65536) bytes of the data
 *   0xc3        the end of a block
 *   0xf0 n b..  LEB128 n > 0, then n container bytes
 *   0xff        the end of the member
 * Refused by the split (the member stays raw): a length 258 coded as 284
 * with 31 (the join codes 285), nonzero padding bits, a trailer that does
 * not check. */
#define DFL_HDR_MAX 1024u /* a gzip header's bytes, at most */

/* A buffered reader of one stream (the join's parse and data). */
struct gz_rd {
	patch_read_fn read;
	void *ctx;
	uint64_t base, len, pos, bstart;
	size_t blen;
	uint8_t buf[4096];
};

struct patch_dfl {
	struct patch_inflate in;
	struct gz_parse ps;
	struct gz_rd prs, dat;
	struct gz_tables t;
	uint16_t lcode[288], dcode[30];
	uint8_t llen[288], dlen[30], hdr[DFL_HDR_MAX];
	uint64_t bb;
	unsigned bn;
	uint8_t obuf[4096];
	size_t on;
	uint64_t out_total, out_max;
	patch_write_fn write;
	void *wctx;
	int err;
};

/* Splits the member in m_len bytes read at 0.. through read/rctx into its
 * data, written at data_base.. (at most data_max bytes), and its parse,
 * at parse_base.. (at most parse_max), through write/wctx; *data_len,
 * *parse_len: what it wrote.  The member must be exactly one gzip member
 * or zlib stream.  Else SI_E_PATCH_EXPAND, d naming the field; the
 * callbacks' errors are passed on. */
int patch_dfl_split(struct patch_dfl *z, patch_read_fn read, void *rctx, uint64_t m_len,
		    patch_write_fn write, void *wctx, uint64_t data_base, uint64_t data_max,
		    uint64_t parse_base, uint64_t parse_max, uint64_t *data_len,
		    uint64_t *parse_len, struct si_diag *d) SI_WUR;

/* Joins data[0..data_len) at data_base and parse[0..parse_len) at
 * parse_base (read through read/rctx) into the member, written through
 * write/wctx at 0.. (at most m_max bytes); both used exactly.  *m_len: its
 * length.  A parse that does not describe a member of that data:
 * SI_E_PATCH_EXPAND (d: which field). */
int patch_dfl_join(struct patch_dfl *z, patch_read_fn read, void *rctx, uint64_t data_base,
		   uint64_t data_len, uint64_t parse_base, uint64_t parse_len,
		   patch_write_fn write, void *wctx, uint64_t m_max, uint64_t *m_len,
		   struct si_diag *d) SI_WUR;

#endif
