/* libFuzzer target: gzip members at the apply (patch/gz.c): the inflate
 * that splits an old member into its bytes and its symbols (tokens), and
 * the gzip -9 encoder that makes a new member again, with a reuse list
 * (formats.md, Expansions) naming spans to code with the old symbols.
 * Input: u16 LE list length, the list, u16 LE deflate length, a raw
 * deflate stream (the old member's), then the new member's bytes.
 *   - The stream is inflated with its tokens (a refusal: no tokens).
 *   - The new bytes are encoded with the list over those tokens.  Whatever
 *     the list, an accepted result must inflate, to as many bytes as the
 *     new member has (each symbol covers its bytes; a distance never
 *     reaches before the start); without a list, to the very bytes.
 *   - gzip -9's stream of the new bytes, coded again with its own symbols
 *     over a span, must be that very stream (a span picked by the list
 *     length's bits, and one over the first three quarters; new bytes
 *     of at most 96 KiB, and only when the length's top four bits are 0).
 *   - When the new bytes are the old member's own and the list is empty,
 *     the one span that covers them up to the old stream's last match,
 *     coded with the old symbols, must also inflate to those bytes.
 * Members are kept under 256 KiB. */
#include <stdlib.h>
#include <string.h>

#include "lib/bytes.h"
#include "patch/gz.h"
#include "tests/unit/t_xzbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP (1u << 18)
#define OWN_MAX (96u << 10) /* own_stream's bytes at most (43 KiB and more
			     * make its long span longer than the window) */

static struct patch_inflate *inf;
static struct patch_gzenc *enc;
static struct xbuf in, old_u, newb, out, back, scratch;

static void setup(void)
{
	struct xbuf *v[] = { &in, &old_u, &newb, &out, &back };
	size_t i;

	inf = malloc(sizeof *inf);
	enc = malloc(sizeof *enc);
	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		v[i]->p = malloc(CAP * 2);
		v[i]->cap = CAP * 2;
		if (!v[i]->p)
			abort();
	}
	/* the reuse's reads: the list, then the tokens */
	scratch.cap = 65536 + (size_t)CAP * GZ_TOK_LEN;
	scratch.p = malloc(scratch.cap);
	if (!inf || !enc || !scratch.p)
		abort();
}

/* Inflates b into *u: its length, or -1. */
static int64_t inflate_to(const struct xbuf *b, struct xbuf *u, struct gz_tokens *tk)
{
	uint64_t used = 0, ol = 0;
	uint32_t crc = 0;

	u->n = 0;
	if (patch_inflate_run(inf, xbuf_read, (void *)b, 0, b->n, xbuf_write, u, 0, CAP, tk, &used, &ol,
			      &crc) != 0)
		return -1;
	return (int64_t)ol;
}

/* Encodes newb with the list (ln bytes at scratch 0) over ntok tokens
 * (at scratch ln) into out; then out inflated into back: its length, or
 * -1 when the encoder refused. */
static int64_t encode(size_t ln, uint64_t ntok, uint64_t old_len, int with_list)
{
	struct gz_reuse ru = { xbuf_read, &scratch, 0, ln, ln, ntok, old_len };
	uint32_t crc = 0;
	int64_t bl;

	out.n = 0;
	if (patch_gzenc_run(enc, xbuf_read, &newb, 0, newb.n, xbuf_write, &out, with_list ? &ru : NULL,
			    &crc) != 0)
		return -1;
	bl = inflate_to(&out, &back, NULL);
	if (bl < 0)
		abort(); /* accepted, but not a deflate stream */
	return bl;
}

/* newb's gzip -9 stream is in `in`, its symbols after one record in the
 * scratch: the stream coded again with them over [start, end) must be
 * that very stream, byte for byte, or the replay is not what the search
 * does around it. */
static void span_check(uint64_t ntok, uint64_t start, uint64_t end)
{
	if (end <= start)
		return;
	si_put_le64(scratch.p, start);
	si_put_le64(scratch.p + 8, start);
	si_put_le64(scratch.p + 16, end - start);
	if (encode(GZ_REUSE_REC, ntok, newb.n, 1) != (int64_t)newb.n)
		abort(); /* refused */
	if (out.n != in.n || memcmp(out.p, in.p, in.n) != 0)
		abort(); /* another stream than the search's */
}

/* gzip -9's own stream of newb against its own symbols over two spans:
 * from the start, or the end of a match, to the end of a later one (both
 * picked by sel), the search running before and after it; and from the
 * start to the last match that ends in the first three quarters, so that
 * in a text of more than 43 KiB the span is longer than the window and the
 * search after it reaches back into it. */
static void own_stream(unsigned sel)
{
	struct gz_tokens tk = { xbuf_write, &scratch, GZ_REUSE_REC, 0 };
	uint64_t at = 0, start = 0, end = 0, most = 0, i, nm = 0, k, j;

	if (newb.n > OWN_MAX)
		return; /* four more gzip -9 runs: kept to inputs that run fast */
	if (encode(0, 0, 0, 0) != (int64_t)newb.n)
		abort();
	memcpy(in.p, out.p, out.n);
	in.n = out.n;
	scratch.n = GZ_REUSE_REC;
	if (inflate_to(&in, &old_u, &tk) != (int64_t)newb.n)
		abort();
	for (i = 0; i < tk.count; i++)
		nm += GZ_TOK_IS_MATCH(si_le32(scratch.p + GZ_REUSE_REC + i * GZ_TOK_LEN));
	if (nm == 0)
		return;
	k = sel % nm;                           /* the span starts after match k */
	j = k + 1 + (sel >> 4) % (nm - k);      /* and ends with match j */
	for (i = 0, nm = 0; i < tk.count; i++) {
		uint32_t t = si_le32(scratch.p + GZ_REUSE_REC + i * GZ_TOK_LEN);

		at += GZ_TOK_IS_MATCH(t) ? GZ_TOK_MLEN(t) : 1;
		if (GZ_TOK_IS_MATCH(t)) {
			if (++nm == k)
				start = at;
			if (nm == j)
				end = at;
			if (at <= newb.n - newb.n / 4)
				most = at;
		}
	}
	span_check(tk.count, start, end);
	span_check(tk.count, 0, most);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gz_tokens tk = { xbuf_write, &scratch, 0, 0 };
	size_t ln, dn, p = 0;
	uint64_t ntok = 0;
	int64_t ol, bl;

	if (!inf)
		setup();
	if (size < 4 || size > 3 * CAP)
		return 0;
	ln = si_le16(data) % 4096;
	p = 2;
	if (ln > size - p - 2)
		return 0;
	p += ln;
	dn = si_le16(data + p);
	p += 2;
	if (dn > size - p || size - p - dn > CAP)
		return 0;
	memcpy(newb.p, data + p + dn, size - p - dn);
	newb.n = size - p - dn;
	/* when the u16's top four bits, which the list length ignores, are 0
	 * (the seeds'; one random input in 16): its four gzip -9 runs would
	 * otherwise be most of the target's time */
	if ((si_le16(data) & 0xF000) == 0)
		own_stream(si_le16(data));
	memcpy(scratch.p, data + 2, ln);
	memcpy(in.p, data + p, dn);
	in.n = dn;
	/* the old member: its bytes and, after the list, its tokens */
	scratch.n = ln;
	tk.base = ln;
	ol = inflate_to(&in, &old_u, &tk);
	if (ol >= 0)
		ntok = tk.count;
	scratch.n = ln + ntok * GZ_TOK_LEN;

	bl = encode(0, 0, 0, 0);
	if (bl != (int64_t)newb.n || memcmp(back.p, newb.p, newb.n) != 0)
		abort(); /* gzip -9's stream of the bytes does not give them back */
	bl = encode(ln, ntok, ol >= 0 ? (uint64_t)ol : 0, 1);
	if (bl >= 0 && bl != (int64_t)newb.n)
		abort();
	if (ol > 0 && ln == 0) {
		/* the old member coded with its own symbols, up to its last match */
		uint64_t at = 0, end = 0, i;

		for (i = 0; i < ntok; i++) {
			uint32_t t = si_le32(scratch.p + i * GZ_TOK_LEN);

			at += GZ_TOK_IS_MATCH(t) ? GZ_TOK_MLEN(t) : 1;
			if (GZ_TOK_IS_MATCH(t))
				end = at;
		}
		if (end == 0)
			return 0;
		memmove(scratch.p + GZ_REUSE_REC, scratch.p, ntok * GZ_TOK_LEN);
		si_put_le64(scratch.p, 0);
		si_put_le64(scratch.p + 8, 0);
		si_put_le64(scratch.p + 16, end);
		scratch.n = GZ_REUSE_REC + ntok * GZ_TOK_LEN;
		memcpy(newb.p, old_u.p, (size_t)ol);
		newb.n = (size_t)ol;
		bl = encode(GZ_REUSE_REC, ntok, (uint64_t)ol, 1);
		if (bl != ol || memcmp(back.p, old_u.p, (size_t)ol) != 0)
			abort(); /* its own symbols, and not its bytes */
	}
	return 0;
}
