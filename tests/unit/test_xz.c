/* Unit tests for patch/xz.c: xz streams made by liblzma with every shape
 * that matters (presets, the x86 filter before LZMA2, check types, several
 * blocks, stored chunks, other literal properties, a small dictionary,
 * distances past the split's window) split into data and parse and join
 * back byte for byte, the data being what liblzma decodes; then each
 * refusal, by its field. */
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bytes.h"
#include "patch/gz.h"
#include "patch/xz.h"
#include "tests/unit/t_xzbuf.h"
#include "tests/unit/t.h"

#define CAP (16u << 20)
#define PARSE_AT ((uint64_t)1 << 40)

static struct patch_xz z;
static struct xbuf dat, par, out;
static struct xpair dp = { &dat, &par, PARSE_AT };

static int split(const uint8_t *m, size_t n, uint64_t data_max, uint64_t *used,
		 struct si_diag *d)
{
	struct xbuf in = { (uint8_t *)m, n, n };
	uint64_t dl = 0, pl = 0;

	dat.n = par.n = 0;
	return patch_xz_split(&z, xbuf_read, &in, n, xpair_write, &dp, xpair_read, &dp, 0, data_max,
			      PARSE_AT, CAP, &dl, &pl, used, d);
}

static int join(uint64_t *ml, struct si_diag *d)
{
	out.n = 0;
	return patch_xz_join(&z, xpair_read, &dp, 0, dat.n, PARSE_AT, par.n, xbuf_write, &out, out.cap,
			     ml, d);
}

/* An xz stream of in[0..n) with filters (NULL: preset 6), check; block
 * size bs (0: one block). */
static uint8_t *mk(const uint8_t *in, size_t n, const lzma_filter *f, lzma_check check,
		   uint64_t bs, size_t *on)
{
	size_t cap = n + n / 2 + 4096, pos = 0;
	uint8_t *o = malloc(cap);
	lzma_stream s = LZMA_STREAM_INIT;
	lzma_ret r;

	if (bs) {
		lzma_mt mt;

		memset(&mt, 0, sizeof mt);
		mt.threads = 1;
		mt.block_size = bs;
		mt.preset = 6;
		mt.check = check;
		r = lzma_stream_encoder_mt(&s, &mt);
		if (r == LZMA_OK) {
			s.next_in = in;
			s.avail_in = n;
			s.next_out = o;
			s.avail_out = cap;
			r = lzma_code(&s, LZMA_FINISH);
			pos = cap - s.avail_out;
			lzma_end(&s);
		}
		r = r == LZMA_STREAM_END ? LZMA_OK : r;
	} else if (f) {
		r = lzma_stream_buffer_encode((lzma_filter *)f, check, NULL, in, n, o, &pos, cap);
	} else {
		r = lzma_easy_buffer_encode(6, check, NULL, in, n, o, &pos, cap);
	}
	if (r != LZMA_OK) {
		free(o);
		return NULL;
	}
	*on = pos;
	return o;
}

static uint8_t *text(size_t n, unsigned seed)
{
	uint8_t *p = malloc(n);
	size_t i = 0;
	unsigned k = seed;

	while (i < n) {
		char line[64];
		int l = snprintf(line, sizeof line, "entry %u: status %u ok\n", k, k % 7);

		k++;

		memcpy(p + i, line, (size_t)l < n - i ? (size_t)l : n - i);
		i += (size_t)l < n - i ? (size_t)l : n - i;
	}
	return p;
}

static void roundtrip(const char *what, const uint8_t *in, size_t n, const lzma_filter *f,
		      lzma_check check, uint64_t bs, int plain, uint64_t min_far)
{
	size_t mn = 0;
	uint8_t *m = mk(in, n, f, check, bs, &mn), *m2;
	uint64_t used = 0, ml = 0;
	struct si_diag d;
	int r;

	T_CHECK(m != NULL, "liblzma failed");
	if (!m)
		return;
	/* bytes after the stream (a bzImage's size field) are not its */
	m2 = malloc(mn + 7);
	memcpy(m2, m, mn);
	memcpy(m2 + mn, "TRAILER", 7);
	r = split(m2, mn + 7, CAP, &used, &d);
	T_OK(r);
	if (r == 0) {
		T_EQ(used, mn);
		if (plain)
			T_CHECK(dat.n == n && memcmp(dat.p, in, n) == 0, "%s: data differs", what);
		else
			T_EQ(dat.n, n);
		T_CHECK(z.far_reads >= min_far, "%s: %llu reads past the window", what,
			(unsigned long long)z.far_reads);
		r = join(&ml, &d);
		T_OK(r);
		if (r == 0)
			T_CHECK(ml == mn && memcmp(out.p, m, mn) == 0, "%s: not joined back", what);
	}
	free(m);
	free(m2);
}

static void test_shapes(void)
{
	size_t n = 300000, i;
	uint8_t *t = text(n, 1), *code = malloc(60000), *noise = malloc(200000), *far;
	lzma_options_lzma o;
	lzma_filter f[3];

	for (i = 0; i < 60000; i++) /* calls and moves, x86-like */
		code[i] = (uint8_t)("\xe8\x48\x89\x8b\x00\xc3\x55\x5d"[(i * 7 + i / 13) & 7] + (i % 5 == 0));
	for (i = 0; i < 200000; i++)
		noise[i] = (uint8_t)(rand() >> 7);
	roundtrip("preset 6", t, n, NULL, LZMA_CHECK_CRC32, 0, 1, 0);
	roundtrip("crc64", t, n, NULL, LZMA_CHECK_CRC64, 0, 1, 0);
	roundtrip("sha256", t, n, NULL, LZMA_CHECK_SHA256, 0, 1, 0);
	roundtrip("no check", t, n, NULL, LZMA_CHECK_NONE, 0, 1, 0);
	roundtrip("empty", t, 0, NULL, LZMA_CHECK_CRC32, 0, 1, 0);
	roundtrip("one byte", t, 1, NULL, LZMA_CHECK_CRC32, 0, 1, 0);
	roundtrip("blocks", t, n, NULL, LZMA_CHECK_CRC32, 50000, 1, 0);
	roundtrip("stored chunks", noise, 200000, NULL, LZMA_CHECK_CRC32, 0, 1, 0);

	lzma_lzma_preset(&o, 9 | LZMA_PRESET_EXTREME);
	f[0] = (lzma_filter){ LZMA_FILTER_LZMA2, &o };
	f[1] = (lzma_filter){ LZMA_VLI_UNKNOWN, NULL };
	roundtrip("preset 9e", t, n, f, LZMA_CHECK_CRC32, 0, 1, 0);
	lzma_lzma_preset(&o, 6);
	o.lc = 0;
	o.lp = 2;
	o.pb = 0;
	roundtrip("lc0 lp2 pb0", t, n, f, LZMA_CHECK_CRC32, 0, 1, 0);
	lzma_lzma_preset(&o, 6);
	o.lc = 4;
	o.pb = 4;
	roundtrip("lc4 pb4", t, n, f, LZMA_CHECK_CRC32, 0, 1, 0);
	lzma_lzma_preset(&o, 6);
	o.dict_size = 4096;
	roundtrip("dict 4 KiB", t, n, f, LZMA_CHECK_CRC32, 0, 1, 0);
	lzma_lzma_preset(&o, 1);
	o.mode = LZMA_MODE_FAST;
	roundtrip("fast mode", t, n, f, LZMA_CHECK_CRC32, 0, 1, 0);
	/* the kernel's: the x86 filter, then LZMA2 (the data is the filter's) */
	lzma_lzma_preset(&o, 6);
	f[0] = (lzma_filter){ LZMA_FILTER_X86, NULL };
	f[1] = (lzma_filter){ LZMA_FILTER_LZMA2, &o };
	f[2] = (lzma_filter){ LZMA_VLI_UNKNOWN, NULL };
	roundtrip("x86 filter", code, 60000, f, LZMA_CHECK_CRC32, 0, 0, 0);
	/* 1.5 MiB of noise twice: its matches reach past the 1 MiB window */
	far = malloc(3u << 20);
	for (i = 0; i < (3u << 19); i++)
		far[i] = (uint8_t)(rand() >> 9);
	memcpy(far + (3u << 19), far, 3u << 19);
	lzma_lzma_preset(&o, 6);
	f[0] = (lzma_filter){ LZMA_FILTER_LZMA2, &o };
	f[1] = (lzma_filter){ LZMA_VLI_UNKNOWN, NULL };
	roundtrip("far matches", far, 3u << 20, f, LZMA_CHECK_CRC32, 0, 1, 1);
	free(far);
	free(t);
	free(code);
	free(noise);
}

/* Each refusal of a member, by field; nothing is written past the caps. */
static void refuse(const char *what, const uint8_t *m, size_t n, uint64_t data_max,
		   const char *field)
{
	uint64_t used = 0;
	struct si_diag d;

	T_ERR(split(m, n, data_max, &used, &d), SI_E_PATCH_EXPAND);
	T_CHECK(d.field && strcmp(d.field, field) == 0, "%s: field %s, expected %s", what,
		d.field ? d.field : "(none)", field);
	T_CHECK(dat.n <= data_max, "%s: data past its cap", what);
}

/* The block header at 12 (bh bytes) and the index of stream q[0..mn), with
 * their CRC-32s made again after a test changed a field. */
static void bh_crc(uint8_t *q, size_t bh)
{
	si_put_le32(q + 12 + bh - 4, patch_crc32(0, q + 12, bh - 4));
}

/* Where the block header's filter flags start: after its flags byte and
 * the sizes those say are present (liblzma's one-call encoder writes both). */
static size_t filter_at(const uint8_t *q)
{
	size_t at = 14;
	int k;

	for (k = 0; k < 2; k++)
		if (q[13] & (0x40 << k))
			while (q[at++] & 0x80)
				;
	return at;
}

static size_t index_at(const uint8_t *q, size_t mn)
{
	return mn - 12 - ((size_t)si_le32(q + mn - 8) + 1) * 4;
}

static void index_crc(uint8_t *q, size_t mn)
{
	size_t at = index_at(q, mn);

	si_put_le32(q + mn - 16, patch_crc32(0, q + at, mn - 16 - at));
}

static void test_refusals(void)
{
	size_t n = 100000, mn = 0, bh, fa;
	uint8_t *t = text(n, 3), *m = mk(t, n, NULL, LZMA_CHECK_CRC32, 0, &mn), *q = malloc(mn);
	uint64_t used = 0, ml = 0;
	struct si_diag d;

	T_CHECK(m != NULL, "liblzma failed");
	if (!m)
		return;
	bh = ((size_t)m[12] + 1) * 4; /* the block header's length */
	fa = filter_at(m);           /* its one filter: id 0x21, 1 byte, the dictionary */
#define MUT(stmt, len, field)                       \
	do {                                        \
		memcpy(q, m, mn);                   \
		stmt;                               \
		refuse(#stmt, q, len, CAP, field);  \
	} while (0)
	MUT(q[0] ^= 1, mn, "xz.stream.header");
	MUT(q[8] ^= 1, mn, "xz.stream.header");                 /* its CRC-32 */
	MUT(q[13] ^= 0x04, mn, "xz.block.crc32");
	/* the block header's fields, its CRC-32 made again: a reserved flag, a
	 * filter other than LZMA2 last, a dictionary byte past 40, padding */
	MUT((q[13] |= 0x04, bh_crc(q, bh)), mn, "xz.block.flags");
	MUT((q[fa] = 0x03, bh_crc(q, bh)), mn, "xz.block.filter");
	MUT((q[fa + 2] = 41, bh_crc(q, bh)), mn, "xz.block.lzma2_props");
	MUT((q[fa + 3] = 1, bh_crc(q, bh)), mn, "xz.block.padding");
	/* the index's record count, its CRC-32 made again */
	MUT((q[index_at(q, mn) + 1] = 2, index_crc(q, mn)), mn, "xz.index.records");
	MUT(q[12 + bh] = 0x03, mn, "xz.chunk.control");          /* a reserved control */
	MUT(q[12 + bh] &= 0x9f, mn, "xz.chunk.dict_reset");      /* no dictionary reset first */
	MUT(q[12 + bh + 5] = 225, mn, "xz.chunk.props");         /* lc, lp, pb out of range */
	MUT(q[12 + bh + 6] = 1, mn, "xz.chunk.rc_init");         /* the coder's first byte */
	/* the chunk's compressed size one more: the coder ends before it */
	MUT((q[12 + bh + 4] == 0xFF ? q[12 + bh + 3]++ : 0, q[12 + bh + 4]++), mn, "xz.chunk.end");
	MUT(q[mn - 13] ^= 1, mn, "xz.index.crc32");
	MUT(q[mn - 1] = 'X', mn, "xz.stream.footer");
	MUT((void)0, mn / 2, "xz.stream.truncated");
	MUT((void)0, 20, "xz.stream.truncated");
	memcpy(q, m, mn);
	refuse("data past its cap", q, mn, n - 1, "xz.data.length");
#undef MUT
	/* the join: each part of the parse it cannot use */
	T_OK(split(m, mn, CAP, &used, &d));
	{
		size_t pn = par.n, dn = dat.n;
		uint8_t *p0 = malloc(pn);

		memcpy(p0, par.p, pn);
		par.n = pn - 1; /* the end token cut */
		T_ERR(join(&ml, &d), SI_E_PATCH_EXPAND);
		T_STREQ(d.field, "xz.parse.truncated");
		par.n = pn;
		dat.n = dn - 1; /* a byte of data short */
		T_ERR(join(&ml, &d), SI_E_PATCH_EXPAND);
		T_STREQ(d.field, "xz.parse.data");
		dat.n = dn;
		memcpy(dat.p + dn, "x", 1); /* a byte too many */
		dat.n = dn + 1;
		T_ERR(join(&ml, &d), SI_E_PATCH_EXPAND);
		T_STREQ(d.field, "xz.parse.end");
		dat.n = dn;
		par.p[pn - 1] = 0xD0; /* no such token */
		T_ERR(join(&ml, &d), SI_E_PATCH_EXPAND);
		T_STREQ(d.field, "xz.parse.token");
		memcpy(par.p, p0, pn);
		/* the output's room: one byte short */
		out.cap = mn - 1;
		T_ERR(join(&ml, &d), SI_E_PATCH_EXPAND);
		T_STREQ(d.field, "xz.join.length");
		out.cap = CAP;
		T_OK(join(&ml, &d));
		T_EQ(ml, mn);
		free(p0);
	}
	/* hand-made parses over "abcd", each wrong in one part */
	{
		static const struct {
			uint8_t p[16];
			size_t n;
			const char *field;
		} bad[] = {
			/* the first match reaches before the data's start */
			{ { 0xE0, 3, 0x5D, 0x00, 0x40, 0x05, 0xE2, 0xFF }, 8, "xz.parse.distance" },
			/* properties out of range (lc + lp > 4) */
			{ { 0xE0, 3, 0xFF, 0x03, 0xE2, 0xFF }, 6, "xz.parse.props" },
			/* a chunk without a dictionary reset first */
			{ { 0xE0, 2, 0x5D, 0x03, 0xE2, 0xFF }, 6, "xz.parse.reset" },
			/* a stored chunk of control 3, then one without a reset first */
			{ { 0xE1, 3, 0x03, 0xE2, 0xFF }, 5, "xz.parse.stored" },
			{ { 0xE1, 2, 0x03, 0xE2, 0xFF }, 5, "xz.parse.stored" },
			/* literals outside any chunk */
			{ { 0x03, 0xFF }, 2, "xz.parse.no_chunk" },
			/* a length past 273 */
			{ { 0xE0, 3, 0x5D, 0x00, 0x7F, 209, 0x00, 0xE2, 0xFF }, 9, "xz.parse.length" },
			/* a distance of more than 63 bits */
			{ { 0xE0, 3, 0x5D, 0x00, 0x40, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
			    0x80, 0x01 },
			  15, "xz.parse.number" },
			/* a chunk with no symbol */
			{ { 0xE0, 3, 0x5D, 0xE2, 0xFF }, 5, "xz.join.chunk_empty" },
			/* a block's end before any chunk */
			{ { 0xE2, 0xFF }, 2, "xz.parse.block_end" },
			/* container bytes, none of them */
			{ { 0xF0, 0x00, 0xFF }, 3, "xz.parse.raw" },
		};
		size_t k;

		for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
			memcpy(par.p, bad[k].p, bad[k].n);
			par.n = bad[k].n;
			memcpy(dat.p, "abcd", 4);
			dat.n = 4;
			T_ERR(join(&ml, &d), SI_E_PATCH_EXPAND);
			T_CHECK(d.field && strcmp(d.field, bad[k].field) == 0, "parse %zu: field %s, expected %s",
				k, d.field ? d.field : "(none)", bad[k].field);
		}
	}
	free(t);
	free(m);
	free(q);
}

int main(void)
{
	dat.p = malloc(CAP);
	par.p = malloc(CAP);
	out.p = malloc(CAP);
	dat.cap = par.cap = out.cap = CAP;
	if (!dat.p || !par.p || !out.p)
		return 2;
	test_shapes();
	test_refusals();
	free(dat.p);
	free(par.p);
	free(out.p);
	return t_done("test_xz");
}
