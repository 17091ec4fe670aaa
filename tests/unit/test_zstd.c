/* Unit tests for patch/zstd.c, the zstd stream decoder that sealinit and
 * sealctl share: a real patch (tests/vectors/zstd/, made by sealctl diff)
 * applied segment by segment through it, frames from the zstd command, and
 * every refusal with its exact error and diagnostic (window above the cap,
 * truncated, corrupt, dictionary, output too small or too large), plus
 * threads sharing fewer decoders than there are threads.  Built for the
 * host (make unit: Debian's libzstd) and for the board (make
 * unit-zstd-target: the libzstd decoder sealinit links, under qemu-user).
 * Run from the top directory.  With --dump DIR, every zstd stream of the
 * patch is written to DIR as a fuzz_zstd input (tests/vectors/zstd/make.sh). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/bytes.h"
#include "patch/patch.h"
#include "patch/zstd.h"
#include "tests/unit/t.h"

#define VEC "tests/vectors/zstd/"
#define MIB (1024u * 1024u)

static uint8_t *old_img, *new_img, *patch_file, *text_zst, *win_zst;
static size_t old_len, new_len, patch_len, text_zst_len, win_zst_len;
static char text[8192]; /* `seq 1 1000`: what text.zst and window16m.zst hold */
static size_t text_len;
static const char *dump_dir;

static void *xalloc(size_t n)
{
	void *p = aligned_alloc(64, (n + 63) & ~(size_t)63);

	if (!p)
		abort();
	return p;
}

/* A decoder set-up for n threads; the memory is returned for free(). */
static void *zinit(struct patch_zstd *z, unsigned n, uint64_t window_max)
{
	size_t len = patch_zstd_mem(n);
	void *mem = xalloc(len);

	if (patch_zstd_init(z, mem, len, n, window_max, NULL) != 0)
		abort();
	return mem;
}

static void load_vectors(void)
{
	unsigned i;

	old_img = t_slurp(VEC "old.bin", &old_len);
	new_img = t_slurp(VEC "new.bin", &new_len);
	patch_file = t_slurp(VEC "small.patch", &patch_len);
	text_zst = t_slurp(VEC "text.zst", &text_zst_len);
	win_zst = t_slurp(VEC "window16m.zst", &win_zst_len);
	for (i = 1; i <= 1000; i++)
		text_len += (size_t)snprintf(text + text_len, sizeof text - text_len, "%u\n", i);
}

/* ---------------------------------------------------------------- set-up */
static void test_init(void)
{
	struct patch_zstd z;
	struct si_diag d;
	size_t len = patch_zstd_mem(2);
	uint8_t *mem = xalloc(len + 64);

	T_CHECK(patch_zstd_mem(1) >= 4096 && patch_zstd_mem(1) % 64 == 0, "mem(1) = %zu",
		patch_zstd_mem(1));
	T_EQ(patch_zstd_mem(2), 2 * patch_zstd_mem(1));
	T_EQ(patch_zstd_mem(0), 0);
	T_EQ(patch_zstd_mem(PATCH_ZSTD_SLOTS_MAX + 1), 0);
	T_ERR(patch_zstd_init(&z, mem, len, 0, 0, NULL), SI_E_ARG);
	T_ERR(patch_zstd_init(&z, mem, len, PATCH_ZSTD_SLOTS_MAX + 1, 0, NULL), SI_E_ARG);
	T_ERR(patch_zstd_init(&z, mem + 4, len, 2, 0, NULL), SI_E_ARG);
	T_ERR(patch_zstd_init(&z, NULL, len, 2, 0, NULL), SI_E_ARG);
	si_diag_clear(&d);
	T_ERR(patch_zstd_init(&z, mem, len - 1, 2, 0, &d), SI_E_NOMEM);
	T_STREQ(d.field, "zstd.workspace");
	T_EQ(d.expected, len);
	T_EQ(d.found, len - 1);
	T_OK(patch_zstd_init(&z, mem, len, 2, 0, NULL));
	T_EQ(z.window_max, PATCH_ZSTD_WINDOW_MAX);
	T_EQ(PATCH_ZSTD_WINDOW_MAX, 8 * MIB); /* RFC 8878's recommended minimum */
	T_EQ(patch_zstd_error(&z, NULL), 0);
	patch_zstd_done(&z);
	/* A decoder that is not set up refuses rather than crashes. */
	T_ERR(patch_zstd_frame(&z, text_zst, text_zst_len, (uint8_t *)text, text_len, NULL),
	      SI_E_ARG);
	T_ERR(patch_zstd_decode(NULL, PATCH_CODEC_ZSTD, text_zst, text_zst_len, (uint8_t *)text,
				text_len),
	      SI_E_ARG);
	free(mem);
}

/* ------------------------------------------------------- the real patch */
static int mem_read(void *ctx, uint64_t off, uint8_t *buf, size_t len)
{
	(void)ctx;
	if (off > old_len || len > old_len - off)
		return SI_E_ARG;
	memcpy(buf, old_img + off, len);
	return 0;
}

/* The i-th zstd stream of the patch (0: none left): its bytes and size. */
static int patch_stream(unsigned k, const uint8_t **src, size_t *slen, size_t *dlen)
{
	struct patch_info info;
	struct patch_seg s;
	uint32_t i;

	if (patch_header_parse(patch_file, patch_len, &info, NULL) != 0 ||
	    patch_index_check(patch_file, patch_len, &info, patch_len, NULL) != 0)
		return 0;
	for (i = 0; i < info.nseg; i++) {
		const uint8_t *p;
		uint32_t cl[3], dl[3], j;

		patch_index_entry(patch_file, i, &s);
		if (s.codec != PATCH_CODEC_ZSTD)
			continue;
		p = patch_file + info.header_len + s.payload_off;
		cl[0] = s.ctrl_clen, cl[1] = s.diff_clen, cl[2] = s.lit_clen;
		dl[0] = s.ctrl_len, dl[1] = s.diff_len, dl[2] = s.lit_len;
		for (j = 0; j < 3; j++) {
			if (cl[j] && k-- == 0) {
				*src = p, *slen = cl[j], *dlen = dl[j];
				return 1;
			}
			p += cl[j];
		}
	}
	return 0;
}

static void test_real_patch(void)
{
	struct patch_info info;
	struct patch_zstd z;
	struct si_diag d;
	uint8_t *work, *mem;
	size_t wlen;
	uint32_t i;
	unsigned nzstd = 0, k;
	const uint8_t *src;
	size_t slen, dlen;

	T_EQ(old_len, 16384);
	T_EQ(new_len, 16384);
	T_OK(patch_header_parse(patch_file, patch_len, &info, NULL));
	T_OK(patch_index_check(patch_file, patch_len, &info, patch_len, NULL));
	patch_info_complete(patch_file, &info);
	T_EQ(info.seg_size, 4096);
	T_EQ(info.nseg, 4);
	mem = zinit(&z, 1, 0);
	wlen = patch_worker_mem(info.seg_size);
	work = xalloc(wlen);
	/* Each segment as sealinit applies it: decoded through the wrapper,
	 * run against the old image, its SHA-256 checked. */
	for (i = 0; i < info.nseg; i++) {
		struct patch_seg s;
		struct patch_seg_env env;

		patch_index_entry(patch_file, i, &s);
		nzstd += s.codec == PATCH_CODEC_ZSTD;
		memcpy(work, patch_file + info.header_len + s.payload_off,
		       (size_t)s.ctrl_clen + s.diff_clen + s.lit_clen);
		si_diag_clear(&d);
		memset(&env, 0, sizeof env);
		patch_seg_place(&info, NULL, i, &env);
		env.read = mem_read;
		T_OK(patch_seg_apply(&info, &s, i, work, wlen, patch_zstd_decode, &z, &env, &d));
		T_MEMEQ(work, new_img + (size_t)i * info.seg_size, patch_seg_len(&info, i));
	}
	T_EQ(nzstd, info.nseg);
	/* Every stream on its own, into a buffer of exactly its size. */
	for (k = 0; patch_stream(k, &src, &slen, &dlen); k++) {
		uint8_t *out = xalloc(dlen + 1);

		T_OK(patch_zstd_frame(&z, src, slen, out, dlen, NULL));
		free(out);
		if (dump_dir) {
			char path[512];
			FILE *f;

			/* fuzz_zstd's input: a length selector (0: exact), the stream. */
			snprintf(path, sizeof path, "%s/stream-%02u", dump_dir, k);
			f = fopen(path, "wb");
			if (!f || fputc(0, f) != 0 || fwrite(src, 1, slen, f) != slen || fclose(f) != 0)
				abort();
		}
	}
	T_CHECK(k >= info.nseg, "%u zstd streams in the patch", k);
	T_EQ(patch_zstd_error(&z, NULL), 0);
	patch_zstd_done(&z);
	free(work);
	free(mem);
}

/* The whole apply as sealinit will run it: two workers sharing two
 * decoders in caller memory, the output written out of place. */
static void test_apply_file(void)
{
	struct patch_apply_args a;
	struct patch_info info;
	struct patch_zstd z;
	struct si_diag d;
	char dir[] = "/tmp/test_zstd.XXXXXX", out[64];
	uint8_t *mem = zinit(&z, 2, 0), *work, *got;
	size_t got_len;

	T_CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	snprintf(out, sizeof out, "%s/new.bin", dir);
	T_OK(patch_header_parse(patch_file, patch_len, &info, NULL));
	memset(&a, 0, sizeof a);
	a.old_path = VEC "old.bin";
	a.patch_path = VEC "small.patch";
	a.out_path = out;
	a.threads = 2;
	a.work_len = patch_apply_mem(&info, 2);
	a.work = work = xalloc(a.work_len);
	a.decode = patch_zstd_decode;
	a.dctx = &z;
	si_diag_clear(&d);
	T_OK(patch_apply_file(&a, &d));
	got = t_slurp(out, &got_len);
	T_EQ(got_len, new_len);
	T_MEMEQ(got, new_img, new_len);
	T_EQ(patch_zstd_error(&z, NULL), 0);
	free(got);
	remove(out);
	rmdir(dir);
	patch_zstd_done(&z);
	free(work);
	free(mem);
}

/* ------------------------------------------------------------ the frames */
static void test_frames(void)
{
	struct patch_zstd z;
	uint8_t *out = xalloc(text_len), *mem = zinit(&z, 1, 0);

	/* zstd's own frames: content size and checksum; no content size and
	 * a window of 16 MiB (decoded when the cap allows it). */
	T_OK(patch_zstd_frame(&z, text_zst, text_zst_len, out, text_len, NULL));
	T_MEMEQ(out, text, text_len);
	patch_zstd_done(&z);
	free(mem);
	mem = zinit(&z, 1, 16 * MIB);
	memset(out, 0, text_len);
	T_OK(patch_zstd_frame(&z, win_zst, win_zst_len, out, text_len, NULL));
	T_MEMEQ(out, text, text_len);
	/* Empty streams stand for empty outputs; a frame is not empty. */
	T_OK(patch_zstd_frame(&z, NULL, 0, NULL, 0, NULL));
	T_ERR(patch_zstd_frame(&z, win_zst, win_zst_len, NULL, 0, NULL), SI_E_PATCH_STREAM);
	patch_zstd_done(&z);
	free(mem);
	free(out);
}

static void test_codecs(void)
{
	struct patch_zstd z;
	uint8_t out[16], *mem = zinit(&z, 1, 0);

	T_OK(patch_zstd_decode(&z, PATCH_CODEC_STORED, (const uint8_t *)"stored", 6, out, 6));
	T_MEMEQ(out, "stored", 6);
	T_OK(patch_zstd_decode(NULL, PATCH_CODEC_STORED, (const uint8_t *)"stored", 6, out, 6));
	T_ERR(patch_zstd_decode(&z, PATCH_CODEC_STORED, (const uint8_t *)"stored", 6, out, 5),
	      SI_E_PATCH_STREAM);
	T_ERR(patch_zstd_decode(&z, 7, (const uint8_t *)"x", 1, out, 1), SI_E_PATCH_CODEC);
	T_EQ(patch_zstd_error(&z, NULL), 0); /* only zstd streams are recorded */
	patch_zstd_done(&z);
	free(mem);
}

/* -------------------------------------------------------------- refusals */
/* A frame built by hand: magic, Frame_Header_Descriptor, the header's
 * other bytes, then one last raw block "abc" (RFC 8878 3.1.1.2). */
static size_t craft(uint8_t *f, uint8_t fhd, const uint8_t *hdr, size_t hlen)
{
	size_t n = 0;

	si_put_le32(f, 0xFD2FB528u);
	n = 4;
	f[n++] = fhd;
	memcpy(f + n, hdr, hlen);
	n += hlen;
	f[n++] = (3u << 3) | 1u; /* Block_Size 3, Raw_Block, Last_Block */
	f[n++] = 0;
	f[n++] = 0;
	memcpy(f + n, "abc", 3);
	return n + 3;
}

static void test_window(void)
{
	struct patch_zstd z;
	struct si_diag d;
	uint8_t f[64], out[4096], *mem = zinit(&z, 1, 0);
	const uint8_t *src;
	size_t n, slen, dlen;
	char line[512];

	/* zstd --long=24 from a pipe: a 16 MiB window, refused by the
	 * default cap (8 MiB) from the header alone. */
	si_diag_clear(&d);
	T_ERR(patch_zstd_frame(&z, win_zst, win_zst_len, out, text_len, &d),
	      SI_E_PATCH_ZSTD_WINDOW);
	T_STREQ(d.field, "zstd.window");
	T_EQ(d.expected, 8 * MIB);
	T_EQ(d.found, 16 * MIB);
	si_error_line(line, sizeof line, "patch", "os", SI_E_PATCH_ZSTD_WINDOW, &d);
	T_CHECK(strstr(line, "expected 8388608, found 16777216") &&
			strstr(line, "[SI_E_PATCH_ZSTD_WINDOW]"),
		"%s", line);
	/* The same header is refused even where the output would not fit:
	 * the window is checked before anything else about the output. */
	T_ERR(patch_zstd_frame(&z, win_zst, win_zst_len, out, 1, NULL), SI_E_PATCH_ZSTD_WINDOW);
	/* Just at and just above a cap: 1 KiB + 1/8 (descriptor 0x01). */
	n = craft(f, 0x00, (const uint8_t *)"\x01", 1);
	patch_zstd_done(&z);
	free(mem);
	mem = zinit(&z, 1, 1152);
	T_OK(patch_zstd_frame(&z, f, n, out, 3, NULL));
	T_MEMEQ(out, "abc", 3);
	patch_zstd_done(&z);
	free(mem);
	mem = zinit(&z, 1, 1151);
	si_diag_clear(&d);
	T_ERR(patch_zstd_frame(&z, f, n, out, 3, &d), SI_E_PATCH_ZSTD_WINDOW);
	T_EQ(d.expected, 1151);
	T_EQ(d.found, 1152);
	/* A single-segment frame's window is its content size. */
	n = craft(f, 0x20, (const uint8_t *)"\x03", 1);
	T_OK(patch_zstd_frame(&z, f, n, out, 3, NULL));
	/* Every stream of the real patch against a cap below its window. */
	T_CHECK(patch_stream(0, &src, &slen, &dlen), "no stream");
	patch_zstd_done(&z);
	free(mem);
	mem = zinit(&z, 1, 512);
	T_ERR(patch_zstd_frame(&z, src, slen, out, dlen, NULL), SI_E_PATCH_ZSTD_WINDOW);
	patch_zstd_done(&z);
	free(mem);
	/* Above libzstd's own limit (2^41: exponent 31): still ours. */
	mem = zinit(&z, 1, 0);
	n = craft(f, 0x00, (const uint8_t *)"\xf8", 1);
	si_diag_clear(&d);
	T_ERR(patch_zstd_frame(&z, f, n, out, 3, &d), SI_E_PATCH_ZSTD_WINDOW);
	T_EQ(d.found, (uint64_t)1 << 41);
	patch_zstd_done(&z);
	free(mem);
}

static void test_truncated(void)
{
	struct patch_zstd z;
	struct si_diag d;
	uint8_t *out = xalloc(8192), *mem = zinit(&z, 1, 0);
	const uint8_t *src;
	size_t slen, dlen, n;
	unsigned bad = 0;

	/* Every proper prefix of a real patch stream and of zstd's frame
	 * (cut in the magic, the header, a block, the checksum). */
	T_CHECK(patch_stream(0, &src, &slen, &dlen), "no stream");
	for (n = 1; n < slen; n++)
		bad += patch_zstd_frame(&z, src, n, out, dlen, NULL) != SI_E_PATCH_ZSTD_TRUNCATED;
	for (n = 1; n < text_zst_len; n++)
		bad += patch_zstd_frame(&z, text_zst, n, out, text_len, NULL) !=
		       SI_E_PATCH_ZSTD_TRUNCATED;
	T_EQ(bad, 0);
	si_diag_clear(&d);
	T_ERR(patch_zstd_frame(&z, text_zst, 5, out, text_len, &d), SI_E_PATCH_ZSTD_TRUNCATED);
	T_STREQ(d.field, "zstd.header");
	si_diag_clear(&d);
	T_ERR(patch_zstd_frame(&z, text_zst, text_zst_len - 1, out, text_len, &d),
	      SI_E_PATCH_ZSTD_TRUNCATED);
	T_STREQ(d.field, "zstd.frame");
	T_EQ(d.offset, text_zst_len - 1);
	/* Nothing where an output is declared: not a frame at all. */
	T_ERR(patch_zstd_frame(&z, NULL, 0, out, 5, NULL), SI_E_PATCH_STREAM);
	patch_zstd_done(&z);
	free(mem);
	free(out);
}

static void test_corrupt(void)
{
	struct patch_zstd z;
	struct si_diag d;
	uint8_t *f = xalloc(text_zst_len * 2 + 64), out[8192], *mem = zinit(&z, 1, 0);
	size_t n;

	/* A wrong checksum (zstd writes one; the output is decoded first). */
	memcpy(f, text_zst, text_zst_len);
	f[text_zst_len - 1] ^= 0x01;
	si_diag_clear(&d);
	T_ERR(patch_zstd_frame(&z, f, text_zst_len, out, text_len, &d), SI_E_PATCH_ZSTD_CORRUPT);
	T_STREQ(d.field, "zstd.checksum");
	/* Another magic, and a skippable frame (a frame, but not data). */
	memcpy(f, text_zst, text_zst_len);
	f[0] = 0x29;
	si_diag_clear(&d);
	T_ERR(patch_zstd_frame(&z, f, text_zst_len, out, text_len, &d), SI_E_PATCH_ZSTD_CORRUPT);
	T_STREQ(d.field, "zstd.magic");
	T_EQ(d.expected, 0xFD2FB528u);
	T_EQ(d.found, 0xFD2FB529u);
	si_put_le32(f, 0x184D2A50u);
	si_put_le32(f + 4, 3);
	memcpy(f + 8, "abc", 3);
	T_ERR(patch_zstd_frame(&z, f, 11, out, 3, NULL), SI_E_PATCH_ZSTD_CORRUPT);
	/* The reserved bit of the Frame_Header_Descriptor. */
	n = craft(f, 0x08, (const uint8_t *)"\x00", 1);
	T_ERR(patch_zstd_frame(&z, f, n, out, 3, NULL), SI_E_PATCH_ZSTD_CORRUPT);
	/* The reserved block type. */
	n = craft(f, 0x00, (const uint8_t *)"\x00", 1);
	T_OK(patch_zstd_frame(&z, f, n, out, 3, NULL));
	f[6] |= 3u << 1;
	T_ERR(patch_zstd_frame(&z, f, n, out, 3, NULL), SI_E_PATCH_ZSTD_CORRUPT);
	/* A compressed block whose literals repeat a Huffman table that was
	 * never sent (Treeless_Literals_Block first). */
	n = craft(f, 0x00, (const uint8_t *)"\x00", 1);
	f[6] = (uint8_t)((4u << 3) | (2u << 1) | 1u); /* Compressed_Block, 4 bytes */
	memcpy(f + 9, "\x03\x00\x00\x00", 4);
	n = 13;
	si_diag_clear(&d);
	T_ERR(patch_zstd_frame(&z, f, n, out, 3, &d), SI_E_PATCH_ZSTD_CORRUPT);
	T_STREQ(d.field, "zstd.frame");
	/* Bytes after the frame: one, or a whole second frame. */
	memcpy(f, text_zst, text_zst_len);
	f[text_zst_len] = 0;
	si_diag_clear(&d);
	T_ERR(patch_zstd_frame(&z, f, text_zst_len + 1, out, text_len, &d),
	      SI_E_PATCH_ZSTD_CORRUPT);
	T_STREQ(d.field, "zstd.trailing_bytes");
	T_EQ(d.offset, text_zst_len);
	memcpy(f + text_zst_len, text_zst, text_zst_len);
	T_ERR(patch_zstd_frame(&z, f, 2 * text_zst_len, out, text_len, NULL),
	      SI_E_PATCH_ZSTD_CORRUPT);
	/* A dictionary id (1 byte: 7). */
	n = craft(f, 0x01, (const uint8_t *)"\x00\x07", 2);
	si_diag_clear(&d);
	T_ERR(patch_zstd_frame(&z, f, n, out, 3, &d), SI_E_PATCH_ZSTD_DICT);
	T_EQ(d.found, 7);
	patch_zstd_done(&z);
	free(mem);
	free(f);
}

static void test_output_size(void)
{
	struct patch_zstd z;
	struct si_diag d;
	uint8_t *mem = zinit(&z, 1, 0), *out;
	const uint8_t *src;
	size_t slen, dlen;

	/* No content size in the frame (sealctl's): the decoder stops at
	 * the buffer's end and writes nothing past it. */
	T_CHECK(patch_stream(0, &src, &slen, &dlen), "no stream");
	out = xalloc(dlen + 64);
	memset(out, 0xa5, dlen + 64);
	si_diag_clear(&d);
	T_ERR(patch_zstd_frame(&z, src, slen, out, dlen - 1, &d), SI_E_PATCH_STREAM);
	T_STREQ(d.field, "zstd.output");
	T_STREQ(d.found_s, "more");
	T_EQ(out[dlen - 1], 0xa5);
	T_EQ(out[dlen], 0xa5);
	/* ... and says how much it got when the frame is shorter. */
	si_diag_clear(&d);
	T_ERR(patch_zstd_frame(&z, src, slen, out, dlen + 1, &d), SI_E_PATCH_STREAM);
	T_EQ(d.expected, dlen + 1);
	T_EQ(d.found, dlen);
	free(out);
	/* A content size in the header: refused before decoding. */
	out = xalloc(text_len + 64);
	memset(out, 0xa5, text_len + 64);
	si_diag_clear(&d);
	T_ERR(patch_zstd_frame(&z, text_zst, text_zst_len, out, text_len - 1, &d),
	      SI_E_PATCH_STREAM);
	T_STREQ(d.field, "zstd.content_size");
	T_EQ(d.expected, text_len - 1);
	T_EQ(d.found, text_len);
	T_EQ(out[0], 0xa5);
	T_ERR(patch_zstd_frame(&z, text_zst, text_zst_len, out, text_len + 1, NULL),
	      SI_E_PATCH_STREAM);
	free(out);
	patch_zstd_done(&z);
	free(mem);
}

/* Through the callback (no diagnostic argument): the first failure is
 * kept, later ones do not replace it. */
static void test_first_error(void)
{
	struct patch_zstd z;
	struct si_diag d;
	uint8_t out[8192], *mem = zinit(&z, 1, 0);

	T_OK(patch_zstd_decode(&z, PATCH_CODEC_ZSTD, text_zst, text_zst_len, out, text_len));
	T_ERR(patch_zstd_decode(&z, PATCH_CODEC_ZSTD, win_zst, win_zst_len, out, text_len),
	      SI_E_PATCH_ZSTD_WINDOW);
	T_ERR(patch_zstd_decode(&z, PATCH_CODEC_ZSTD, text_zst, 9, out, text_len),
	      SI_E_PATCH_ZSTD_TRUNCATED);
	si_diag_clear(&d);
	T_ERR(patch_zstd_error(&z, &d), SI_E_PATCH_ZSTD_WINDOW);
	T_STREQ(d.field, "zstd.window");
	T_EQ(d.found, 16 * MIB);
	patch_zstd_done(&z);
	free(mem);
}

/* -------------------------------------------------------------- threads */
struct thr {
	struct patch_zstd *z;
	int bad;
};

static void *thr_main(void *arg)
{
	struct thr *t = arg;
	uint8_t *out = xalloc(text_len);
	int i;

	for (i = 0; i < 50; i++) {
		memset(out, 0, text_len);
		if (patch_zstd_frame(t->z, text_zst, text_zst_len, out, text_len, NULL) != 0 ||
		    memcmp(out, text, text_len) != 0)
			t->bad++;
		if (patch_zstd_frame(t->z, win_zst, win_zst_len, out, text_len, NULL) !=
		    SI_E_PATCH_ZSTD_WINDOW)
			t->bad++;
	}
	free(out);
	return NULL;
}

static void test_threads(void)
{
	struct patch_zstd z;
	struct thr t[4];
	pthread_t tid[4];
	uint8_t *mem = zinit(&z, 2, 0);
	int i, started = 0, bad = 0;

	for (i = 0; i < 4; i++) {
		t[i].z = &z;
		t[i].bad = 0;
		if (pthread_create(&tid[i], NULL, thr_main, &t[i]) == 0)
			started++;
	}
	T_EQ(started, 4);
	for (i = 0; i < started; i++) {
		pthread_join(tid[i], NULL);
		bad += t[i].bad;
	}
	T_EQ(bad, 0);
	patch_zstd_done(&z);
	free(mem);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--dump"))
		dump_dir = argv[2];
	load_vectors();
	test_init();
	test_real_patch();
	test_apply_file();
	test_frames();
	test_codecs();
	test_window();
	test_truncated();
	test_corrupt();
	test_output_size();
	test_first_error();
	test_threads();
	free(old_img);
	free(new_img);
	free(patch_file);
	free(text_zst);
	free(win_zst);
	return t_done("test_zstd");
}
