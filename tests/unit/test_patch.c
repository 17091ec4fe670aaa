/* Unit tests for patch/: header and index validation, the segment
 * interpreter, diff + apply round trips, refusal of bad patches and bases
 * without leaving output, checkpoint resume. */
#include <fcntl.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "lib/bytes.h"
#include "patch/diff.h"
#include "patch/diff_int.h"
#include "patch/gz.h"
#include "patch/zs.h"
#include "tests/unit/t_xzbuf.h"
#include "patch/patch.h"
#include "tests/unit/t.h"
#include "verify/sha256.h"

static char dir[] = "/tmp/test_patch.XXXXXX";
static char p_old[256], p_new[256], p_patch[256], p_out[256], p_part[256], p_ckpt[256];

static uint32_t rnd_state = 12345;
static uint8_t rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (uint8_t)(rnd_state >> 16);
}

static void put_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		abort();
}

static uint8_t *get_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p;
	long l;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	l = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)l + 1);
	if (fread(p, 1, (size_t)l, f) != (size_t)l)
		abort();
	fclose(f);
	*n = (size_t)l;
	return p;
}

static int exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* An old image with code-like structure and zeros, and a new one with
 * relocated, edited, inserted and deleted regions. */
#define OLD_N (300 * 1024 + 77)
static uint8_t *old_img, *new_img;
static size_t new_n;

static void make_images(void)
{
	size_t i, o = 0;

	old_img = malloc(OLD_N);
	new_img = malloc(OLD_N * 2);
	for (i = 0; i < OLD_N; i++)
		old_img[i] = (i / 4096) % 5 == 3 ? 0 : (uint8_t)(rnd() & 0x3f);
	/* copy with small edits (addresses shifted by a constant: ADD) */
	for (i = 0; i < 100000; i++)
		new_img[o++] = (uint8_t)(old_img[i] + (i % 64 == 0 ? 4 : 0));
	for (i = 0; i < 5000; i++) /* new bytes */
		new_img[o++] = rnd();
	memset(new_img + o, 0, 20000); /* zeros */
	o += 20000;
	memcpy(new_img + o, old_img + 200000, OLD_N - 200000); /* moved tail */
	o += OLD_N - 200000;
	memcpy(new_img + o, old_img + 120000, 30000); /* a block from the middle */
	o += 30000;
	new_n = o;
}

static uint8_t *work;
static size_t work_len = 8u << 20;

static int apply(const char *old, const char *patch, const char *ckpt, unsigned threads,
		 uint32_t stop_after)
{
	struct patch_apply_args a;
	struct si_diag d;

	memset(&a, 0, sizeof a);
	a.old_path = old;
	a.patch_path = patch;
	a.out_path = p_out;
	a.checkpoint_path = ckpt;
	a.threads = threads;
	a.work = work;
	a.work_len = work_len;
	a.decode = patch_decode_zstd;
	a.stop_after = stop_after;
	return patch_apply_file(&a, &d);
}

static uint8_t *mk_patch(const uint8_t *a, size_t an, const uint8_t *b, size_t bn,
			 uint32_t seg, size_t *pn)
{
	struct patch_diff_opts o = { .seg_size = seg, .level = 3, .threads = 2 };
	uint8_t *p = NULL;
	int r = patch_diff(a, an, b, bn, &o, &p, pn, NULL, NULL);

	T_OK(r);
	return p;
}

/* The default segment size: a sixteenth of the new image, a power of two
 * within 1..4 MiB; a diff without one takes it. */
static void test_seg_default(void)
{
	static uint8_t b[64 << 10];
	struct patch_info info;
	size_t pn = 0, i;
	uint8_t *p;

	T_EQ(patch_diff_seg_size(0), 1u << 20);
	T_EQ(patch_diff_seg_size(22773760), 1u << 20);
	T_EQ(patch_diff_seg_size((32u << 20) - 1), 1u << 20);
	T_EQ(patch_diff_seg_size(32u << 20), 2u << 20);
	T_EQ(patch_diff_seg_size((64u << 20) - 1), 2u << 20);
	T_EQ(patch_diff_seg_size(64u << 20), 4u << 20);
	T_EQ(patch_diff_seg_size(407736320), 4u << 20);
	T_EQ(patch_diff_seg_size(UINT64_MAX), 4u << 20);
	for (i = 0; i < sizeof b; i++)
		b[i] = (uint8_t)(i * 7 + (i >> 10));
	p = mk_patch(b, sizeof b, b, sizeof b, 0, &pn);
	if (p) {
		T_OK(patch_header_parse(p, pn, &info, NULL));
		T_EQ(info.seg_size, 1u << 20);
		T_EQ(info.nseg, 1);
	}
	free(p);
}

/* The diff's searches made sixteen at a time (the suffix array's and the
 * index's, their loads interleaved) find what each finds alone: on data
 * where many sources tie (blocks repeated with small edits), so the
 * nearest-source rule decides. */
static void test_batch_search(void)
{
	static uint8_t o[1 << 16], n[(1 << 16) + 4096];
	uint32_t x = 12345;
	size_t i, nn = 0;

	for (i = 0; i < sizeof o; i++) {
		if (i % 512 < 256) {
			x = x * 1103515245u + 12345u;
			o[i] = (uint8_t)(x >> 24);
		} else {
			o[i] = o[i - 256] ^ (uint8_t)(i % 97 == 0); /* the block again, edited */
		}
	}
	for (i = 0; i < sizeof o; i++) {
		if (i % 4096 == 100) /* insertions: other alignments */
			for (size_t k = 0; k < 64; k++)
				n[nn++] = (uint8_t)(k * 37);
		n[nn++] = i % 1000 == 0 ? (uint8_t)~o[i] : o[i];
	}
	T_EQ(match_batch_check(o, sizeof o, n, nn), 0);
}

/* The paired file's suffix array with its long runs cut: every result a
 * true match measured to its end, none shorter than the whole file's
 * array gives (where that one's source has no long run), on runs of each
 * length about the cut (FILL_RUN = 4096), of zeros and 0xFF, at old's start
 * and end, and new made of old's pieces that start, end or stop inside
 * them. */
static void test_sa_cuts(void)
{
	static const size_t runs[] = { 5000, 100, 4095, 4096, 4097, 12288, 70000, 8191, 4200 };
	static uint8_t o[200000], n[120000];
	uint32_t x = 777;
	size_t on = 0, nn = 0, ncut = 0, i, k;

	for (k = 0; k < sizeof runs / sizeof runs[0]; k++) {
		for (i = 0; i < runs[k]; i++)
			o[on++] = k % 3 == 2 ? 0xFF : 0;
		for (i = 0; i < 3000 + k * 500; i++) {
			x = x * 1103515245u + 12345u;
			o[on++] = (uint8_t)(x >> 24);
		}
	}
	for (i = 0; i < 6000; i++)
		o[on++] = 0; /* a run at the end */
	/* pieces across each run's start and end, and anywhere */
	for (k = 0, i = 0; nn + 6000 <= sizeof n; k++) {
		static const size_t into[] = { 1, 100, 4000, 4095, 4096, 4097, 5000 };
		size_t r = k % (sizeof runs / sizeof runs[0]), d = into[k % 7], at, len;

		at = 0;
		for (i = 0; i < r; i++)
			at += runs[i] + 3000 + i * 500;
		len = 600 + k * 37 % 900;
		if (k % 3 == 0)
			at = at + runs[r] - (d < runs[r] ? d : runs[r]); /* into the run's end */
		else if (k % 3 == 1)
			at = at > d ? at - d % 2000 : 0; /* into its start */
		else
			at = (size_t)(k * 7919u) % (on - 6000);
		if (k % 3 == 1)
			len += d;
		memcpy(n + nn, o + at, len);
		nn += len;
		n[nn - 1] ^= (uint8_t)(k % 2); /* sometimes a changed last byte */
	}
	T_EQ(match_cut_check(o, on, n, nn, &ncut), 0);
	T_EQ(ncut, 7); /* 5000, 12288, 70000, 8191, 4200, 4097 and the end's 6000 */
}

/* 1 when file `path` holds exactly want[0..n). */
static int same_file(const char *path, const uint8_t *want, size_t n)
{
	size_t got_n = 0;
	uint8_t *got = get_file(path, &got_n);
	int same = got && got_n == n && memcmp(got, want, n) == 0;

	free(got);
	return same;
}

static void check_out_is(const uint8_t *want, size_t n)
{
	size_t got_n = 0;
	uint8_t *got = get_file(p_out, &got_n);

	T_CHECK(got != NULL, "output missing");
	if (got) {
		T_EQ(got_n, n);
		T_CHECK(got_n == n && memcmp(got, want, n) == 0, "output differs");
	}
	free(got);
	T_CHECK(!exists(p_part), "part file left behind");
}

/* What the last apply_sized's output took on disk (st_blocks). */
static uint64_t out_alloc;

/* Applies patch q (on two threads) to old image a of an bytes, checks the
 * output is b, frees all three and puts the usual old image back. */
static void apply_sized(uint8_t *a, size_t an, uint8_t *q, size_t qn, uint8_t *b, size_t bn)
{
	struct stat sb;

	put_file(p_old, a, an);
	put_file(p_patch, q, qn);
	unlink(p_out);
	T_OK(apply(p_old, p_patch, NULL, 2, 0));
	check_out_is(b, bn);
	out_alloc = stat(p_out, &sb) == 0 ? (uint64_t)sb.st_blocks * 512 : UINT64_MAX;
	unlink(p_out);
	free(q);
	free(a);
	free(b);
	put_file(p_old, old_img, OLD_N);
}

/* The same for an old image as long as the new one. */
static void apply_big(uint8_t *a, uint8_t *q, size_t qn, uint8_t *b, size_t bn)
{
	apply_sized(a, bn, q, qn, b, bn);
}

static void test_roundtrip(void)
{
	static const uint32_t segs[] = { 4096, 65536, 1u << 20 };
	size_t pn, i;
	uint8_t *p;

	put_file(p_old, old_img, OLD_N);
	put_file(p_new, new_img, new_n);
	for (i = 0; i < SI_ARRAY_SIZE(segs); i++) {
		p = mk_patch(old_img, OLD_N, new_img, new_n, segs[i], &pn);
		T_CHECK(pn < new_n / 4, "patch too large: %zu", pn);
		put_file(p_patch, p, pn);
		unlink(p_out);
		T_OK(apply(p_old, p_patch, NULL, 1, 0));
		check_out_is(new_img, new_n);
		unlink(p_out);
		T_OK(apply(p_old, p_patch, NULL, 3, 0));
		check_out_is(new_img, new_n);
		free(p);
	}
	/* An image large enough that the diff matches it in two chunks on two
	 * threads (the one pair split, its suffix array shared), and the same
	 * patch on one thread */
	{
		size_t bn = 5u << 20, k;
		uint8_t *a = malloc(bn), *b = malloc(bn);
		struct patch_diff_opts o = { .seg_size = 1u << 20, .level = 1, .threads = 2 };
		uint8_t *q = NULL;
		size_t qn = 0;

		for (k = 0; k < bn; k++)
			a[k] = (uint8_t)((k * 2654435761u) >> 13) & 0x7f;
		memcpy(b, a, bn);
		for (k = 0; k < bn; k += 4099)
			b[k] ^= 0x40; /* edits all over, across the cut */
		memmove(b + (2u << 20) + 17, b + (2u << 20), bn - (2u << 20) - 17);
		T_OK(patch_diff(a, bn, b, bn, &o, &q, &qn, NULL, NULL));
		T_CHECK(qn < bn / 8, "two-chunk patch too large: %zu", qn);
		{
			/* the same patch whatever the number of threads */
			struct patch_diff_opts o1 = o;
			uint8_t *q1 = NULL;
			size_t q1n = 0;

			o1.threads = 1;
			T_OK(patch_diff(a, bn, b, bn, &o1, &q1, &q1n, NULL, NULL));
			T_CHECK(q1n == qn && memcmp(q1, q, qn) == 0,
				"patch on 1 thread differs from 2 threads' (%zu vs %zu bytes)", q1n, qn);
			free(q1);
		}
		apply_big(a, q, qn, b, bn);
	}
	/* x86-64 code that the old image does not have: its literals go
	 * through the x86-64 filter (calls from everywhere to a few targets),
	 * and the apply undoes it */
	{
		size_t bn = 256u << 10, k;
		uint8_t *a = calloc(1, bn), *b = malloc(bn), *q = NULL;
		struct patch_diff_opts o = { .seg_size = 65536, .level = 3, .threads = 2 };
		struct patch_diff_stats st;
		uint32_t x = 7;
		size_t qn = 0;

		memcpy(a, "\x7f" "ELF\x02\x01", 6);
		a[18] = 62;
		memcpy(b, a, 64);
		for (k = 64; k < bn; k++) {
			x = x * 1103515245u + 12345u;
			b[k] = (uint8_t)(x >> 16);
			if ((x >> 8) % 8 == 0 && k + 5 <= bn) {
				b[k] = 0xE8;
				si_put_le32(b + k + 1, (uint32_t)(0x1000 * ((x >> 12) % 8) - (k + 5)));
				k += 4;
			}
		}
		T_OK(patch_diff(a, bn, b, bn, &o, &q, &qn, &st, NULL));
		T_CHECK(st.lit_filtered > 0, "no segment's literals filtered");
		apply_big(a, q, qn, b, bn);
	}
	/* reverse */
	p = mk_patch(new_img, new_n, old_img, OLD_N, 65536, &pn);
	put_file(p_patch, p, pn);
	free(p);
	T_OK(apply(p_new, p_patch, NULL, 2, 0));
	check_out_is(old_img, OLD_N);
	/* empty new, empty old */
	p = mk_patch(old_img, OLD_N, new_img, 0, 65536, &pn);
	put_file(p_patch, p, pn);
	free(p);
	T_OK(apply(p_old, p_patch, NULL, 2, 0));
	check_out_is(new_img, 0);
	put_file(p_new, "", 0);
	p = mk_patch(old_img, 0, new_img, 5000, 4096, &pn);
	put_file(p_patch, p, pn);
	free(p);
	T_OK(apply(p_new, p_patch, NULL, 2, 0));
	check_out_is(new_img, 5000);
	put_file(p_new, new_img, new_n);
}

/* Images with a stretch of one byte (a partition's zero padding, erased
 * flash's 0xFF) or of a short period that is longer in the new image than
 * in the old: past the old stretch's end each cover ties with the one
 * before it, and when the later cover took the tie every cover walked back
 * over the whole stretch (hours for a few MiB; the diff of a 40 MB ext4
 * image never ended).  Each must diff within the watchdog (each takes
 * 40 ms; they took 20 s to hours before) and apply to the image. */
static void runs_watchdog(int sig)
{
	static const char m[] = "test_patch: FAIL: the diff of stretched runs did not end in 60 s\n";

	ssize_t w = write(2, m, sizeof m - 1);

	(void)sig;
	(void)w;
	_exit(1);
}

static void test_runs(void)
{
	static const struct {
		uint8_t fill;
		size_t period;
	} cases[] = { { 0x00, 1 }, { 0xFF, 1 }, { 'A', 8 } };
	const size_t data = 256u << 10, tail = 64u << 10, old_run = 512u << 10,
		     new_run = 1536u << 10;
	size_t ci;

	signal(SIGALRM, runs_watchdog);
	alarm(60);
	for (ci = 0; ci < SI_ARRAY_SIZE(cases); ci++) {
		size_t an = data + old_run + tail, bn = data + new_run + tail, k, qn = 0;
		uint8_t *a = malloc(an), *b = malloc(bn), *q = NULL;
		struct patch_diff_opts o = { .seg_size = 1u << 20, .level = 3, .threads = 2 };

		if (!a || !b) {
			T_CHECK(0, "memory for the images");
			free(a), free(b);
			break;
		}
		for (k = 0; k < data; k++)
			a[k] = rnd();
		for (k = 0; k < old_run; k++)
			a[data + k] = (uint8_t)(cases[ci].fill + k % cases[ci].period);
		memcpy(a + data + old_run, a, tail);
		memcpy(b, a, data);
		for (k = 0; k < new_run; k++)
			b[data + k] = (uint8_t)(cases[ci].fill + k % cases[ci].period);
		memcpy(b + data + new_run, a, tail);
		T_OK(patch_diff(a, an, b, bn, &o, &q, &qn, NULL, NULL));
		T_CHECK(qn < 4096, "case %zu: a patch of %zu bytes", ci, qn);
		apply_sized(a, an, q, qn, b, bn);
	}
	alarm(0);
	signal(SIGALRM, SIG_DFL);
}

/* A long run of one byte value in new that old has only in short runs
 * (a file system's free space grown): no probe in it, so it is one ZERO
 * op (or, another value, literal), not hundreds of covers reading the
 * few old bytes the index's chains offered (the last ones before old's
 * end: 272-byte ADDs, 1.77 million on a 512 MB ext4 image). */
static void test_fill_runs(void)
{
	const size_t part = 256u << 10, gap = 64u << 10, run = 2u << 20, end = 300;
	const uint8_t fills[] = { 0x00, 0xFF };
	size_t fi;

	for (fi = 0; fi < sizeof fills; fi++) {
		size_t an = 2 * part + gap + end, bn = 2 * part + run, k, qn = 0;
		uint8_t *a = malloc(an), *b = malloc(bn), *q = NULL;
		struct patch_diff_opts o = { .seg_size = 1u << 20, .level = 3, .threads = 2 };
		struct patch_diff_stats st;
		uint64_t covers;

		if (!a || !b) {
			T_CHECK(0, "memory for the images");
			free(a), free(b);
			break;
		}
		for (k = 0; k < part; k++)
			a[k] = rnd();
		memset(a + part, fills[fi], gap);
		for (k = 0; k < part; k++)
			a[part + gap + k] = rnd();
		memset(a + 2 * part + gap, fills[fi], end);
		memcpy(b, a, part);
		memset(b + part, fills[fi], run);
		memcpy(b + part + run, a + part + gap, part);
		memset(&st, 0, sizeof st);
		T_OK(patch_diff(a, an, b, bn, &o, &q, &qn, &st, NULL));
		covers = st.ops[PATCH_OP_COPY] + st.ops[PATCH_OP_ADD] + st.ops[PATCH_OP_XADD];
		T_CHECK(covers <= 8, "fill %02x: %llu covers", fills[fi], (unsigned long long)covers);
		T_CHECK(st.bytes[fills[fi] ? PATCH_OP_LIT : PATCH_OP_ZERO] >= run - gap,
			"fill %02x: %llu bytes of ZERO, %llu of LIT", fills[fi],
			(unsigned long long)st.bytes[PATCH_OP_ZERO],
			(unsigned long long)st.bytes[PATCH_OP_LIT]);
		T_CHECK(qn < 4096, "fill %02x: a patch of %zu bytes", fills[fi], qn);
		apply_sized(a, an, q, qn, b, bn);
		/* zeros: segment 1 (1 to 2 MiB) is nothing but ZERO, not
		 * written to the new file (a hole) */
		if (fills[fi] == 0)
			T_CHECK(out_alloc <= bn - (1u << 20), "%llu bytes allocated of %zu",
				(unsigned long long)out_alloc, bn);
	}
}

static void test_header(void)
{
	struct patch_info info;
	uint8_t h[PATCH_HDR_LEN], b[PATCH_HDR_LEN];
	size_t pn;
	uint8_t *p = mk_patch(old_img, OLD_N, new_img, new_n, 65536, &pn);

	memcpy(h, p, sizeof h);
	T_OK(patch_header_parse(h, sizeof h, &info, NULL));
	T_EQ(info.seg_size, 65536);
	T_EQ(info.new_size, new_n);
	T_EQ(info.old_size, OLD_N);
	T_EQ(info.nseg, (new_n + 65535) / 65536);
	T_OK(patch_index_check(p, pn, &info, pn, NULL));
	T_ERR(patch_index_check(p, pn, &info, pn - 1, NULL), SI_E_PATCH_TRUNCATED);
	T_ERR(patch_index_check(p, pn, &info, pn + 1, NULL), SI_E_PATCH_TRAILING);
	T_ERR(patch_index_check(p, info.header_len - 1, &info, pn, NULL), SI_E_PATCH_TRUNCATED);
	/* any index byte flipped: the index hash */
	p[PATCH_HDR_LEN + 20] ^= 1;
	T_ERR(patch_index_check(p, pn, &info, pn, NULL), SI_E_PATCH_CORRUPT);
	p[PATCH_HDR_LEN + 20] ^= 1;

	T_ERR(patch_header_parse(h, sizeof h - 1, &info, NULL), SI_E_PATCH_TRUNCATED);
#define MUT(stmt, err)                                               \
	do {                                                         \
		memcpy(b, h, sizeof b);                              \
		stmt;                                                \
		T_ERR(patch_header_parse(b, sizeof b, &info, NULL), err); \
	} while (0)
	MUT(b[0] = 'X', SI_E_PATCH_MAGIC);
	MUT(si_put_le32(b + 8, 2), SI_E_PATCH_VERSION); /* version 2 patches: re-make them */
	MUT(si_put_le32(b + 8, 4), SI_E_PATCH_VERSION);
	MUT(si_put_le32(b + 16, 1), SI_E_PATCH_FIELD);
	MUT(si_put_le32(b + 28, 1), SI_E_PATCH_FIELD); /* an expansion the header_len lacks */
	MUT(si_put_le32(b + 28, CONFIG_PATCH_MAX_EXPANSIONS + 1), SI_E_PATCH_LIMIT);
	MUT(si_put_le32(b + 120, CONFIG_PATCH_MAP_MAX + 1), SI_E_PATCH_LIMIT);
	MUT(si_put_le32(b + 20, 65535), SI_E_PATCH_FIELD);
	MUT(si_put_le32(b + 20, 2048), SI_E_PATCH_FIELD);
	MUT(si_put_le32(b + 20, 1u << 30), SI_E_PATCH_LIMIT);
	MUT(si_put_le32(b + 24, info.nseg + 1), SI_E_PATCH_FIELD);
	MUT(si_put_le32(b + 12, info.header_len + 80), SI_E_PATCH_FIELD);
	MUT(si_put_le64(b + 40, UINT64_MAX), SI_E_PATCH_FIELD);
#undef MUT
	free(p);
}

/* A patch that names its seals: the section is covered by the index hash
 * and read back exactly; unknown flag bits are refused. */
static void test_seals(void)
{
	struct patch_diff_opts o = { .seg_size = 65536, .level = 3, .threads = 1 };
	struct patch_seals want, got;
	struct patch_info info;
	struct si_diag d;
	uint8_t *p = NULL, *q = NULL;
	size_t pn = 0, qn = 0;
	size_t i;

	for (i = 0; i < 32; i++) {
		want.base_manifest[i] = (uint8_t)i;
		want.base_root[i] = (uint8_t)(0x40 + i);
		want.target_manifest[i] = (uint8_t)(0x80 + i);
		want.target_root[i] = (uint8_t)(0xc0 + i);
	}
	o.seals = &want;
	T_OK(patch_diff(old_img, OLD_N, new_img, new_n, &o, &p, &pn, NULL, NULL));
	o.seals = NULL;
	T_OK(patch_diff(old_img, OLD_N, new_img, new_n, &o, &q, &qn, NULL, NULL));
	T_EQ(pn, qn + PATCH_SEALS_LEN);
	T_OK(patch_header_parse(p, pn, &info, NULL));
	T_EQ(info.has_seals, 1);
	T_OK(patch_index_check(p, pn, &info, pn, NULL));
	patch_seals_get(p, &info, &got);
	T_MEMEQ(&got, &want, sizeof want);
	/* The seals are inside the hashed header: one flipped bit is caught. */
	p[PATCH_HDR_LEN + (size_t)info.nseg * PATCH_ENTRY_LEN + 70] ^= 1;
	T_ERR(patch_index_check(p, pn, &info, pn, NULL), SI_E_PATCH_CORRUPT);
	/* A raw patch: no section; a patch claiming one it lacks is refused. */
	T_OK(patch_header_parse(q, qn, &info, NULL));
	T_EQ(info.has_seals, 0);
	si_put_le32(q + 16, PATCH_FLAG_SEALS);
	T_ERR(patch_header_parse(q, qn, &info, &d), SI_E_PATCH_FIELD);
	T_STREQ(d.field, "patch.header_len");
	si_put_le32(q + 16, 2);
	T_ERR(patch_header_parse(q, qn, &info, &d), SI_E_PATCH_FIELD);
	T_STREQ(d.field, "patch.flags");
	free(p);
	free(q);
}

static int mem_read(void *ctx, uint64_t off, uint8_t *buf, size_t len)
{
	memcpy(buf, (const uint8_t *)ctx + off, len);
	return 0;
}

/* Runs a hand-made control stream as image segment 0 of a 16-byte old
 * image (src_size 24: 8 more bytes of "member" after it). */
static uint8_t seg_out[32];
static const uint8_t seg_old[24] = "0123456789abcdefMEMBER!!";

static int seg_mode;

static int seg(const uint8_t *ctrl, size_t cl, const uint8_t *diff, size_t dl, const uint8_t *lit,
	       size_t ll, uint32_t out_len, int arch, int keep_ok, struct si_diag *d)
{
	struct patch_seg_env env;

	memset(&env, 0, sizeof env);
	env.diff_mode = seg_mode;
	env.src_size = 24;
	env.old_size = 16;
	env.len = out_len;
	env.arch = arch;
	env.keep_ok = keep_ok;
	env.exp = keep_ok ? -1 : 0;
	env.read = mem_read;
	env.rctx = (void *)seg_old;
	env.read_out = mem_read;
	env.octx = (void *)"KEEPKEEPKEEPKEEPKEEPKEEP";
	return patch_seg_run(ctrl, cl, diff, dl, lit, ll, &env, seg_out, d);
}

/* KEEP's reads after keep_wait: the output "made" only when it returns;
 * a read before it is counted as an error. */
static struct {
	int made, waits, reads, early, fail;
	uint8_t out[512];
} kw;

static int kw_wait(void *ctx)
{
	(void)ctx;
	kw.waits++;
	if (kw.fail)
		return SI_E_PATCH_STOPPED;
	kw.made = 1;
	return 0;
}

static int kw_read(void *ctx, uint64_t off, uint8_t *buf, size_t len)
{
	(void)ctx;
	kw.reads++;
	kw.early += !kw.made;
	memcpy(buf, kw.out + off, len);
	return 0;
}

/* An image segment of n one-byte KEEPs and LITs in turn (then two KEEPs
 * that touch): every KEEP read after the one wait, the ops before it,
 * whether the ranges fit the deferred list or not; a wait that fails
 * ends the segment with its error. */
/* The segment digest (formats.md): SHA-256 of the four lanes' SHA-256s
 * then the tail, computed here the long way; the split form (lanes made
 * first, the rest later) and the portable code give the same; a byte
 * changed in any lane or in the tail changes it. */
static void test_seg_digest(void)
{
	static const size_t lens[] = { 0, 1, 255, 256, 257, 1000, 4096, 4096 + 64 * 3 + 17,
				       65536 + 5 };
	static uint8_t b[65536 + 5];
	size_t i, k;

	for (i = 0; i < sizeof b; i++)
		b[i] = (uint8_t)(i * 131 + (i >> 8));
	for (i = 0; i < SI_ARRAY_SIZE(lens); i++) {
		size_t len = lens[i], q = len / 256 * 64;
		uint8_t top[4 * PATCH_HASH_LEN + 256], want[PATCH_HASH_LEN], got[PATCH_HASH_LEN];
		uint8_t lanes[PATCH_SEG_LANES][PATCH_HASH_LEN];
		unsigned made;
		int was;

		for (k = 0; k < 4; k++)
			si_sha256(b + k * q, q, top + k * PATCH_HASH_LEN);
		memcpy(top + 4 * PATCH_HASH_LEN, b + 4 * q, len - 4 * q);
		si_sha256(top, 4 * PATCH_HASH_LEN + len - 4 * q, want);
		patch_seg_digest(b, len, got);
		T_MEMEQ(got, want, PATCH_HASH_LEN);
		for (made = 0; made <= PATCH_SEG_LANES; made++) {
			memset(lanes, 0, sizeof lanes);
			patch_seg_digest_lanes(b, len, 0, made, lanes);
			patch_seg_digest_lanes(b, len, made, PATCH_SEG_LANES, lanes);
			patch_seg_digest_end(b, len, (const uint8_t (*)[PATCH_HASH_LEN])lanes, got);
			T_MEMEQ(got, want, PATCH_HASH_LEN);
		}
		was = si_sha256_force_portable(1);
		patch_seg_digest(b, len, got);
		si_sha256_force_portable(was);
		T_MEMEQ(got, want, PATCH_HASH_LEN);
		for (k = 0; k < len; k += len / 7 + 1) {
			b[k] ^= 0x40;
			patch_seg_digest(b, len, got);
			b[k] ^= 0x40;
			T_CHECK(memcmp(got, want, PATCH_HASH_LEN) != 0, "len %zu: byte %zu changed", len, k);
		}
	}
	/* lanes wholly made: q = 1024 for 4096 bytes; no lanes, none to wait for */
	T_EQ(patch_seg_lanes_within(4096, 0), 0);
	T_EQ(patch_seg_lanes_within(4096, 1023), 0);
	T_EQ(patch_seg_lanes_within(4096, 1024), 1);
	T_EQ(patch_seg_lanes_within(4096, 3100), 3);
	T_EQ(patch_seg_lanes_within(4096, 4096), 4);
	T_EQ(patch_seg_lanes_within(255, 0), 4);
}

static void test_seg_keep_wait(void)
{
	static const unsigned counts[] = { 3, PATCH_KEEP_DEFER, PATCH_KEEP_DEFER + 9 };
	uint8_t ctrl[600], lit[200], out[512], want[512];
	size_t i, j;

	for (i = 0; i < sizeof kw.out; i++)
		kw.out[i] = (uint8_t)(i * 7 + 1);
	for (i = 0; i < SI_ARRAY_SIZE(counts); i++) {
		unsigned n = counts[i];
		size_t h = 0, len = 0;
		struct patch_seg_env env;
		struct si_diag d;

		/* H (a two-byte varint), then the headers */
		for (j = 0; j < n; j++) {
			ctrl[2 + h++] = 1 << 3 | PATCH_OP_KEEP;
			ctrl[2 + h++] = 1 << 3 | PATCH_OP_LIT;
			lit[j] = (uint8_t)(0xA0 + j);
			want[len] = kw.out[len];
			want[len + 1] = lit[j];
			len += 2;
		}
		ctrl[2 + h++] = 2 << 3 | PATCH_OP_KEEP;
		ctrl[2 + h++] = 3 << 3 | PATCH_OP_KEEP;
		memcpy(want + len, kw.out + len, 5);
		len += 5;
		ctrl[0] = (uint8_t)(0x80 | (h & 0x7F));
		ctrl[1] = (uint8_t)(h >> 7);
		memset(&env, 0, sizeof env);
		env.src_size = env.old_size = 16;
		env.len = (uint32_t)len;
		env.keep_ok = 1;
		env.exp = -1;
		env.read = mem_read;
		env.rctx = (void *)seg_old;
		env.read_out = kw_read;
		env.keep_wait = kw_wait;
		memset(&kw.made, 0, sizeof kw - sizeof kw.out);
		T_OK(patch_seg_run(ctrl, h + 2, NULL, 0, lit, n, &env, out, &d));
		T_EQ(kw.waits, 1);
		T_EQ(kw.early, 0);
		/* the deferred list: one read per range, the touching two as one */
		if (n < PATCH_KEEP_DEFER)
			T_EQ(kw.reads, n + 1);
		T_MEMEQ(out, want, len);
		memset(&kw.made, 0, sizeof kw - sizeof kw.out);
		kw.fail = 1;
		T_ERR(patch_seg_run(ctrl, h + 2, NULL, 0, lit, n, &env, out, &d), SI_E_PATCH_STOPPED);
		T_EQ(kw.reads, 0);
	}
}

static void test_seg_run(void)
{
	struct si_diag d;
	/* headers: COPY 4, ADD 2, LIT 3, ZERO 7; deltas: +8 (zig-zag 16) to
	 * copy from 8, -12 (zig-zag 23) to add from 0 */
	static const uint8_t ok[] = { 4, 4 << 3 | 0, 2 << 3 | 1, 3 << 3 | 2, 7 << 3 | 3, 16, 23 };
	static const uint8_t diff[2] = { 1, 0xff }, lit[3] = "xyz";

	si_diag_clear(&d);
	T_OK(seg(ok, sizeof ok, diff, 2, lit, 3, 16, 0, 1, &d));
	T_MEMEQ(seg_out, "89ab" "10" "xyz\0\0\0\0\0\0\0", 16);
	/* one byte short of the segment; one past it */
	T_ERR(seg(ok, sizeof ok, diff, 2, lit, 3, 17, 0, 1, NULL), SI_E_PATCH_OP);
	T_ERR(seg(ok, sizeof ok, diff, 2, lit, 3, 15, 0, 1, NULL), SI_E_PATCH_OVERRUN);
	{
		static const uint8_t big[] = { 5, 0xfb, 0xff, 0xff, 0xff, 0x1f }; /* ZERO 2^32-1 */
		T_ERR(seg(big, sizeof big, NULL, 0, NULL, 0, 16, 0, 1, NULL), SI_E_PATCH_OVERRUN);
	}
	{
		static const uint8_t src_out[] = { 1, 4 << 3 | 0, 42 }; /* COPY 4 from 21 */
		static const uint8_t src_in[] = { 1, 4 << 3 | 0, 40 };  /* COPY 4 from 20 */
		static const uint8_t neg[] = { 1, 4 << 3 | 0, 1 };      /* COPY 4 from -1 */

		T_ERR(seg(src_out, sizeof src_out, NULL, 0, NULL, 0, 4, 0, 1, NULL), SI_E_PATCH_OP);
		/* the source space goes on past the old image (the members) */
		T_OK(seg(src_in, sizeof src_in, NULL, 0, NULL, 0, 4, 0, 1, NULL));
		T_MEMEQ(seg_out, "ER!!", 4);
		T_ERR(seg(neg, sizeof neg, NULL, 0, NULL, 0, 4, 0, 1, NULL), SI_E_PATCH_OP);
	}
	{
		static const uint8_t zlen[] = { 1, 0 << 3 | 3 };
		static const uint8_t trunc[] = { 1, 4 << 3 | 0 };
		static const uint8_t longv[] = { 11, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
						 0x80, 0x80, 0x80, 0x80, 0x01 };
		static const uint8_t hlen[] = { 3, 4 << 3 | 3 };
		static const uint8_t extra[] = { 1, 4 << 3 | 3, 0 };
		static const uint8_t kind6[] = { 1, 4 << 3 | 6 }, kind7[] = { 1, 4 << 3 | 7 };

		T_ERR(seg(zlen, sizeof zlen, NULL, 0, NULL, 0, 4, 0, 1, NULL), SI_E_PATCH_OP);
		T_ERR(seg(trunc, sizeof trunc, NULL, 0, NULL, 0, 4, 0, 1, NULL), SI_E_PATCH_OP);
		T_ERR(seg(hlen, sizeof hlen, NULL, 0, NULL, 0, 4, 0, 1, NULL), SI_E_PATCH_OP);
		T_ERR(seg(extra, sizeof extra, NULL, 0, NULL, 0, 4, 0, 1, NULL), SI_E_PATCH_OP);
		T_OK(seg(extra, sizeof extra - 1, NULL, 0, NULL, 0, 4, 0, 1, NULL));
		T_ERR(seg(longv, sizeof longv, NULL, 0, NULL, 0, 4, 0, 1, NULL), SI_E_PATCH_OP);
		T_ERR(seg(kind6, sizeof kind6, NULL, 0, NULL, 0, 4, 0, 1, &d), SI_E_PATCH_OP);
		T_STREQ(d.field, "segment.ctrl.kind");
		T_ERR(seg(kind7, sizeof kind7, NULL, 0, NULL, 0, 4, 0, 1, NULL), SI_E_PATCH_OP);
	}
	{
		/* XADD: needs an arch, and a source inside the old image proper */
		static const uint8_t xadd[] = { 1, 4 << 3 | 4, 0 };
		static const uint8_t xadd_member[] = { 1, 4 << 3 | 4, 32 }; /* from 16 */
		static const uint8_t zero4[4];

		si_diag_clear(&d);
		T_ERR(seg(xadd, sizeof xadd, zero4, 4, NULL, 0, 4, PATCH_ARCH_NONE, 1, &d), SI_E_PATCH_OP);
		T_STREQ(d.field, "segment.ctrl.xadd");
		T_ERR(seg(xadd_member, sizeof xadd_member, zero4, 4, NULL, 0, 4, PATCH_ARCH_X86_64, 1,
			  NULL),
		      SI_E_PATCH_OP);
		T_OK(seg(xadd, sizeof xadd, zero4, 4, NULL, 0, 4, PATCH_ARCH_X86_64, 1, NULL));
		T_MEMEQ(seg_out, "0123", 4);
		/* XADD takes its difference bytes like ADD */
		T_ERR(seg(xadd, sizeof xadd, NULL, 0, NULL, 0, 4, PATCH_ARCH_X86_64, 1, NULL),
		      SI_E_PATCH_OP);
	}
	{
		/* KEEP: the output's own bytes, in image segments only */
		static const uint8_t keep[] = { 2, 4 << 3 | 5, 2 << 3 | 3 };

		T_OK(seg(keep, sizeof keep, NULL, 0, NULL, 0, 6, 0, 1, NULL));
		T_MEMEQ(seg_out, "KEEP\0\0", 6);
		si_diag_clear(&d);
		T_ERR(seg(keep, sizeof keep, NULL, 0, NULL, 0, 6, 0, 0, &d), SI_E_PATCH_OP);
		T_STREQ(d.field, "segment.ctrl.keep");
	}
	{
		/* the difference bytes as runs: ADD 2 + ADD 6 from 0, diff
		 * bytes 1 0 | 0 0 0 0 0 2 as pairs (0,1) (6,1): R=4, runs, 1 2 */
		static const uint8_t adds[] = { 2, 2 << 3 | 1, 6 << 3 | 1, 0, 0 };
		static const uint8_t runs[] = { 4, 0, 1, 6, 1, 1, 2 };
		static const uint8_t short_runs[] = { 2, 0, 1, 1 };      /* 7 bytes missing */
		static const uint8_t more_runs[] = { 6, 0, 1, 6, 1, 0, 1, 1, 2, 3 };
		static const uint8_t spare_nz[] = { 4, 0, 1, 6, 1, 1, 2, 9 };
		static const uint8_t bad_r[] = { 9, 0, 1 };

		seg_mode = PATCH_DIFF_RUNS;
		T_OK(seg(adds, sizeof adds, runs, sizeof runs, NULL, 0, 8, 0, 1, NULL));
		T_MEMEQ(seg_out, "11234569", 8);
		si_diag_clear(&d);
		T_ERR(seg(adds, sizeof adds, short_runs, sizeof short_runs, NULL, 0, 8, 0, 1, &d),
		      SI_E_PATCH_OP);
		T_STREQ(d.field, "segment.diff");
		si_diag_clear(&d);
		T_ERR(seg(adds, sizeof adds, more_runs, sizeof more_runs, NULL, 0, 8, 0, 1, &d),
		      SI_E_PATCH_OP);
		T_STREQ(d.field, "segment.unused_bytes");
		si_diag_clear(&d);
		T_ERR(seg(adds, sizeof adds, spare_nz, sizeof spare_nz, NULL, 0, 8, 0, 1, &d),
		      SI_E_PATCH_OP);
		T_STREQ(d.field, "segment.unused_bytes");
		si_diag_clear(&d);
		T_ERR(seg(adds, sizeof adds, bad_r, sizeof bad_r, NULL, 0, 8, 0, 1, &d), SI_E_PATCH_OP);
		T_STREQ(d.field, "segment.diff.runs");
		seg_mode = PATCH_DIFF_BYTES;
	}
	/* diff or literal bytes missing, or left over */
	T_ERR(seg(ok, sizeof ok, diff, 1, lit, 3, 16, 0, 1, NULL), SI_E_PATCH_OP);
	T_ERR(seg(ok, sizeof ok, diff, 2, lit, 2, 16, 0, 1, NULL), SI_E_PATCH_OP);
	T_ERR(seg(ok, sizeof ok - 1, diff, 2, lit, 3, 16, 0, 1, NULL), SI_E_PATCH_OP);
	{
		static const uint8_t lit_extra[4] = "xyzw";
		T_ERR(seg(ok, sizeof ok, diff, 2, lit_extra, 4, 16, 0, 1, NULL), SI_E_PATCH_OP);
	}
}

/* The reference finders and their prediction (patch/refs.c), on code
 * made by hand: a moved call site, a moved target. */
static void test_refs(void)
{
	struct patch_map_piece pc[2] = { { 0, 0x100, 0 }, { 0x100, 0x200, 0x40 } };
	struct patch_map m = { pc, 2, NULL, NULL, 0, 0 };
	uint8_t b[32];

	/* x86-64: call rel32 at old 0x10 to old 0x120; the target moved by
	 * 0x40, the call site (placed at new 0x18) by 8: disp + 0x40 - 8 */
	memset(b, 0x90, sizeof b);
	b[0] = 0xE8;
	si_put_le32(b + 1, 0x120 - (0x10 + 5));
	T_EQ(patch_refs_predict(PATCH_ARCH_X86_64, b, 8, 0x10, 0x18, 0x200, &m), 1);
	T_EQ((int32_t)si_le32(b + 1), 0x160 - (0x18 + 5));
	/* RIP-relative lea: 48 8D 05 disp32 */
	memset(b, 0x90, sizeof b);
	b[0] = 0x48, b[1] = 0x8D, b[2] = 0x05;
	si_put_le32(b + 3, 0x130 - (0x20 + 7));
	T_EQ(patch_refs_predict(PATCH_ARCH_X86_64, b, 8, 0x20, 0x20, 0x200, &m), 1);
	T_EQ((int32_t)si_le32(b + 3), 0x170 - (0x20 + 7));
	/* a target outside the old image, or unmapped: unchanged */
	memset(b, 0x90, sizeof b);
	b[0] = 0xE8;
	si_put_le32(b + 1, 0x7000);
	T_EQ(patch_refs_predict(PATCH_ARCH_X86_64, b, 8, 0x10, 0x18, 0x200, &m), 0);
	/* a field cut by the operation's end: not a reference */
	memset(b, 0x90, sizeof b);
	b[0] = 0xE8;
	si_put_le32(b + 1, 0x120 - (0x10 + 5));
	T_EQ(patch_refs_predict(PATCH_ARCH_X86_64, b, 4, 0x10, 0x18, 0x200, &m), 0);

	/* aarch64: BL at old 0x40 to 0x140 (imm26 = 0x40 words); the target
	 * moved by 0x40: imm26 + 0x10 */
	si_put_le32(b, 0x94000000u | 0x40);
	T_EQ(patch_refs_predict(PATCH_ARCH_AARCH64, b, 4, 0x40, 0x40, 0x200, &m), 1);
	T_EQ(si_le32(b), 0x94000000u | 0x50);
	/* ADRP x0 + ADD x0, x0, #lo12 to 0x1f8 (page 0, lo12 0x1f8); moved by
	 * 0x40: 0x238, page 0, lo12 0x238 */
	si_put_le32(b, 0x90000000u);
	si_put_le32(b + 4, 0x91000000u | (0x1f8u << 10));
	T_EQ(patch_refs_predict(PATCH_ARCH_AARCH64, b, 8, 0x80, 0x80, 0x200, &m), 1);
	T_EQ(si_le32(b), 0x90000000u);
	T_EQ(si_le32(b + 4), 0x91000000u | (0x238u << 10));
	/* a word at an offset that is not a multiple of 4 is not looked at */
	si_put_le32(b + 1, 0x94000000u | 0x40);
	T_EQ(patch_refs_predict(PATCH_ARCH_AARCH64, b + 1, 4, 0x41, 0x41, 0x200, &m), 0);
	T_EQ(patch_refs_predict(PATCH_ARCH_NONE, b, 8, 0, 0, 0x200, &m), 0);
}

/* The x86-64 scan skips to the bytes a reference needs near it (E8, E9,
 * 0F, a ModRM byte of 05 form, up to three bytes after the reference's
 * start): each form found at every offset of a buffer of filler the skip
 * jumps over, alone, with the filler before and after it, and cut by the
 * operation's end one byte short. */
static void test_refs_skip(void)
{
	static const struct {
		uint8_t op[4];
		unsigned n; /* opcode bytes before the field */
	} form[] = {
		{ { 0xE8 }, 1 },		     /* call rel32 */
		{ { 0xE9 }, 1 },		     /* jmp rel32 */
		{ { 0x0F, 0x84 }, 2 },		     /* je rel32 */
		{ { 0x8B, 0x05 }, 2 },		     /* mov eax, [rip+d] */
		{ { 0x48, 0x8D, 0x3D }, 3 },	     /* lea rdi, [rip+d] */
		{ { 0x0F, 0x10, 0x05 }, 3 },	     /* movups xmm0, [rip+d] */
		{ { 0x66, 0x0F, 0x2E, 0x05 }, 4 }, /* the 66 is filler here */
		{ { 0x4C, 0x0F, 0x10, 0x0D }, 4 }, /* REX 0F op ModRM */
	};
	/* none of them is E8, E9 or 0F, nor of ModRM 05 form, nor REX */
	static const uint8_t fill[] = { 0x90, 0x00, 0xC3, 0x31, 0xFF, 0x66, 0xCC, 0x20 };
	struct patch_map_piece pc = { 0, 0x10000, 0x40 };
	struct patch_map m = { &pc, 1, NULL, NULL, 0, 0 };
	uint8_t b[64];
	size_t f, at, k, fl = 0;
	int ok = 1, cut = 1;

	for (f = 0; f < sizeof form / sizeof form[0]; f++) {
		for (at = 0; at + form[f].n + 4 <= sizeof b; at++) {
			size_t end = at + form[f].n + 4;
			int32_t disp = (int32_t)(0x8000 - (0x1000 + end));

			for (k = 0; k < sizeof b; k++)
				b[k] = fill[fl++ % sizeof fill];
			memcpy(b + at, form[f].op, form[f].n);
			si_put_le32(b + at + form[f].n, (uint32_t)disp);
			/* target 0x8000 moved by 0x40, the site not at all */
			if (patch_refs_predict(PATCH_ARCH_X86_64, b, sizeof b, 0x1000, 0x1000,
					       0x10000, &m) != 1 ||
			    (int32_t)si_le32(b + at + form[f].n) != disp + 0x40)
				ok = 0;
			si_put_le32(b + at + form[f].n, (uint32_t)disp);
			if (end >= 5 && patch_refs_predict(PATCH_ARCH_X86_64, b, end - 1, 0x1000,
							   0x1000, 0x10000, &m) != 0)
				cut = 0;
		}
	}
	T_EQ(ok, 1);
	T_EQ(cut, 1);
}

/* The map's block index (patch_map_index) finds the piece a search of
 * all the pieces finds: maps dense and sparse (blocks of 512 bytes up to
 * most of the image), pieces adjacent and apart, targets in gaps, at a
 * piece's edges, in the last block and past the old image's end; a call
 * at every offset of a buffer, predicted once with the index and once
 * without, must come out the same, and the index stays in its bound. */
static void test_map_index(void)
{
	static const uint32_t counts[] = { 1, 2, 7, 300, 5000 };
	static const uint64_t sizes[] = { 600, 4096, 1u << 20, 22786048 };
	size_t ci, si, k;

	for (si = 0; si < SI_ARRAY_SIZE(sizes); si++)
		for (ci = 0; ci < SI_ARRAY_SIZE(counts); ci++) {
			uint64_t os = sizes[si], at = 0;
			uint32_t n = 0, want = counts[ci], len = patch_map_index_len(os, want);
			struct patch_map_piece *v = calloc(want, sizeof *v);
			uint32_t *blk = calloc(len, sizeof *blk);
			uint8_t *a = malloc(4096), *b = malloc(4096);
			struct patch_map plain, idx;
			size_t ra, rb, diff = 0;

			if (!v || !blk || !a || !b) {
				T_CHECK(0, "memory for the map");
				free(v), free(blk), free(a), free(b);
				return;
			}
			T_CHECK(len <= (uint64_t)want * PATCH_MAP_BLK_PER_PIECE + 2 && len <= 65537,
				"index of %u entries for %u pieces", len, want);
			/* pieces with gaps (or none) between, ending before os */
			while (n < want && at < os) {
				uint64_t gap = rnd() & 1 ? 0 : rnd() % 64;
				uint64_t plen = 1 + (os / want > 1 ? (uint64_t)rnd() * 7 % (2 * (os / want)) : 0);

				if (at + gap + plen > os)
					break;
				v[n].start = at + gap;
				v[n].end = at + gap + plen;
				v[n].delta = (int64_t)(rnd() % 200) - 100;
				at = v[n].end;
				n++;
			}
			plain = (struct patch_map){ v, n, NULL, NULL, 0, 0 };
			idx = plain;
			patch_map_index(&idx, os, blk);
			T_EQ(idx.nblk, patch_map_index_len(os, n));
			/* calls from every offset of a 4 KiB buffer to targets
			 * all over [0, os + 64): edges of pieces as often as not */
			for (k = 0; k + 5 <= 4096; k += 5) {
				uint64_t t;

				if (n && rnd() & 1) {
					const struct patch_map_piece *pc = &v[rnd() * 31u % n];

					t = rnd() % 3 == 0 ? pc->start : rnd() % 3 == 0 ? pc->end - 1 : pc->end;
				} else {
					t = ((uint64_t)rnd() << 24 | (uint64_t)rnd() << 16 |
					     (uint64_t)rnd() << 8 | rnd()) % (os + 64);
				}
				a[k] = 0xE8;
				si_put_le32(a + k + 1, (uint32_t)(t - (k + 5)));
			}
			memcpy(b, a, 4096);
			ra = patch_refs_predict(PATCH_ARCH_X86_64, a, 4095, 0, 0, os, &plain);
			rb = patch_refs_predict(PATCH_ARCH_X86_64, b, 4095, 0, 0, os, &idx);
			T_EQ(ra, rb);
			for (k = 0; k < 4096; k++)
				diff += a[k] != b[k];
			T_EQ(diff, 0);
			free(v);
			free(blk);
			free(a);
			free(b);
		}
}

/* The literal filter (patch_lit_filter): the fields it rewrites, and that
 * backward undoes forward whatever the bytes, the modulus and the offset:
 * bytes dense in E8, REX, the RIP opcodes and ModRM 05, where rewritten
 * fields would change the decisions of a scan that looked past them. */
static void test_lit_filter(void)
{
	static const uint8_t alpha[] = { 0xE8, 0x48, 0x4C, 0x8B, 0x8D, 0x0F, 0x10, 0x05,
					 0x15, 0x00, 0xFF, 0x01, 0xE8, 0x05, 0x80 };
	uint8_t b[64], c[64];
	uint32_t seed = 1;
	unsigned round, bits;

	/* call rel32 at offset 0x1000 + 2 to 0x1100: 0x1100 mod 2^24 */
	memset(b, 0x90, sizeof b);
	b[2] = 0xE8;
	si_put_le32(b + 3, 0x1100 - (0x1002 + 5));
	T_EQ(patch_lit_filter(b, 16, 0x1000, 24, 1), 1);
	T_EQ(si_le32(b + 3), 0x1100);
	T_EQ(patch_lit_filter(b, 16, 0x1000, 24, 0), 1);
	T_EQ(si_le32(b + 3), 0x1100 - (0x1002 + 5));
	/* a target before 0: negative modulo 2^24, sign-extended */
	si_put_le32(b + 3, (uint32_t)-0x2000);
	T_EQ(patch_lit_filter(b, 16, 0x1000, 24, 1), 1);
	T_EQ(si_le32(b + 3), 0xFFFFF007u);
	/* RIP-relative: 48 8B 05 disp32 and 0F 10 05 disp32 (movups) */
	memset(b, 0x90, sizeof b);
	b[0] = 0x48, b[1] = 0x8B, b[2] = 0x05;
	si_put_le32(b + 3, 0x40);
	b[7] = 0x0F, b[8] = 0x10, b[9] = 0x05;
	si_put_le32(b + 10, 0x40);
	T_EQ(patch_lit_filter(b, 14, 0, 32, 1), 2);
	T_EQ(si_le32(b + 3), 0x47);
	T_EQ(si_le32(b + 10), 0x4E);
	/* a field farther than 2^(bits-1): left, and the scan goes past it
	 * (the E8 inside is no call) */
	memset(b, 0x90, sizeof b);
	b[0] = 0xE8;
	si_put_le32(b + 1, 0x00E80000u);
	T_EQ(patch_lit_filter(b, 16, 0, 20, 1), 0);
	T_EQ(si_le32(b + 1), 0x00E80000u);
	/* a field cut by the piece's end */
	T_EQ(patch_lit_filter(b, 4, 0, 32, 1), 0);
	for (round = 0; round < 20000; round++) {
		size_t n = 1 + round % sizeof b, k;
		uint64_t pos = (uint64_t)round * 2654435761u;

		for (k = 0; k < n; k++) {
			seed = seed * 1103515245u + 12345u;
			b[k] = (seed >> 16) % 3 ? alpha[(seed >> 8) % sizeof alpha] : (uint8_t)(seed >> 20);
		}
		bits = PATCH_LIT_BITS_MIN + round % (33 - PATCH_LIT_BITS_MIN);
		memcpy(c, b, n);
		(void)patch_lit_filter(c, n, pos, bits, 1);
		(void)patch_lit_filter(c, n, pos, bits, 0);
		if (memcmp(b, c, n) != 0) {
			T_CHECK(0, "filter round %u (bits %u, %zu bytes) not undone", round, bits, n);
			break;
		}
	}
}

/* The map stream: pieces in order, non-empty, inside old, consumed exactly. */
static void test_map_parse(void)
{
	struct patch_info info;
	struct patch_map_piece v[4];
	struct si_diag d;
	/* gap 16 len 32 delta +8 (zz 16); gap 0 len 16 delta -8 (zz 16+15=31) */
	static const uint8_t good[] = { 16, 32, 16, 0, 16, 31 };
	static const uint8_t empty_piece[] = { 0, 0, 0 };
	static const uint8_t past_old[] = { 16, 0x80, 0x01, 0 }; /* len 128 from 16 */
	static const uint8_t trunc[] = { 16, 32 };
	static const uint8_t extra[] = { 16, 32, 16, 7 };

	memset(&info, 0, sizeof info);
	info.old_size = 100;
	info.map_count = 2;
	T_OK(patch_map_parse(good, sizeof good, &info, v, NULL));
	T_EQ(v[0].start, 16);
	T_EQ(v[0].end, 48);
	T_EQ(v[0].delta, 8);
	T_EQ(v[1].start, 48);
	T_EQ(v[1].end, 64);
	T_EQ(v[1].delta, -8);
	info.map_count = 1;
	si_diag_clear(&d);
	T_ERR(patch_map_parse(empty_piece, sizeof empty_piece, &info, v, &d), SI_E_PATCH_CORRUPT);
	T_STREQ(d.field, "patch.map.piece");
	T_ERR(patch_map_parse(past_old, sizeof past_old, &info, v, NULL), SI_E_PATCH_CORRUPT);
	si_diag_clear(&d);
	T_ERR(patch_map_parse(trunc, sizeof trunc, &info, v, &d), SI_E_PATCH_CORRUPT);
	T_STREQ(d.field, "patch.map");
	si_diag_clear(&d);
	T_ERR(patch_map_parse(extra, sizeof extra, &info, v, &d), SI_E_PATCH_CORRUPT);
	T_STREQ(d.field, "patch.map.unused_bytes");
}

/* A partition, as the apply sees it: p_out, a file, stats as a block
 * device (written in place, never renamed). */
static int part_stat(void *ctx, const char *path, enum si_ftype *t, uint64_t *size,
		     struct si_diag *d)
{
	int r = si_fs_cwd.stat(ctx, path, t, size, d);

	if (r == 0 && strcmp(path, p_out) == 0 && *t == SI_FT_REG)
		*t = SI_FT_BLK;
	return r;
}

/* A base that differs only in bytes no segment reads (old [150000,
 * 200000) is in no part of new): a file's apply, replaced only once every
 * segment is checked, gives the right result without hashing the base
 * whole; a partition's, written in place, refuses it before its first
 * write, and the partition keeps what it held. */
static void base_unread(const uint8_t *p, size_t pn, uint8_t *o2)
{
	struct patch_apply_args a;
	struct si_fs fs = si_fs_cwd;
	struct si_diag d;
	size_t got_n = 0;
	uint8_t *fill = malloc(new_n), *got;

	memcpy(o2, old_img, OLD_N);
	o2[170001] ^= 1;
	put_file(p_new, o2, OLD_N);
	put_file(p_patch, p, pn);
	T_OK(apply(p_new, p_patch, NULL, 2, 0));
	check_out_is(new_img, new_n);

	memset(fill, 0xa5, new_n);
	put_file(p_out, fill, new_n);
	fs.stat = part_stat;
	memset(&a, 0, sizeof a);
	a.fs = &fs;
	a.old_path = p_new;
	a.patch_path = p_patch;
	a.out_path = p_out;
	a.threads = 2;
	a.work = work;
	a.work_len = work_len;
	a.decode = patch_decode_zstd;
	si_diag_clear(&d);
	T_ERR(patch_apply_file(&a, &d), SI_E_PATCH_BASE_HASH);
	T_STREQ(d.field, "old.digest");
	got = get_file(p_out, &got_n);
	T_CHECK(got && got_n == new_n && memcmp(got, fill, new_n) == 0,
		"the partition was written for another base");
	free(got);
	/* the right base: the partition gets the result */
	a.old_path = p_old;
	T_OK(patch_apply_file(&a, &d));
	check_out_is(new_img, new_n);
	unlink(p_out);
	free(fill);
}

/* Bad patches and bases are refused and leave neither output nor .part. */
static void test_refusals(void)
{
	size_t pn;
	uint8_t *p = mk_patch(old_img, OLD_N, new_img, new_n, 65536, &pn);
	uint8_t *o2;
	struct patch_info info;

	T_OK(patch_header_parse(p, pn, &info, NULL));
	put_file(p_old, old_img, OLD_N);
	unlink(p_out);

	put_file(p_patch, p, pn - 100); /* truncated payload */
	T_ERR(apply(p_old, p_patch, NULL, 2, 0), SI_E_PATCH_TRUNCATED);
	T_CHECK(!exists(p_out) && !exists(p_part), "output left after truncated patch");
	put_file(p_patch, p, 100); /* truncated header */
	T_ERR(apply(p_old, p_patch, NULL, 2, 0), SI_E_PATCH_TRUNCATED);
	put_file(p_patch, p, info.header_len - 1); /* truncated index */
	T_ERR(apply(p_old, p_patch, NULL, 2, 0), SI_E_PATCH_TRUNCATED);

	p[pn - 1] ^= 0x55; /* corrupted last segment's payload */
	put_file(p_patch, p, pn);
	{
		int r = apply(p_old, p_patch, NULL, 2, 0);
		T_CHECK(r == SI_E_PATCH_STREAM || r == SI_E_PATCH_SEG_HASH || r == SI_E_PATCH_OP,
			"corrupt payload: got %s", si_err_name(r));
	}
	T_CHECK(!exists(p_out) && !exists(p_part), "output left after corrupt patch");
	p[pn - 1] ^= 0x55;
	put_file(p_patch, p, pn);

	o2 = malloc(OLD_N);
	memcpy(o2, old_img, OLD_N);
	o2[50000] ^= 1; /* another base, same size, in bytes the patch reads */
	put_file(p_new, o2, OLD_N);
	T_ERR(apply(p_new, p_patch, NULL, 2, 0), SI_E_PATCH_BASE_HASH);
	T_CHECK(!exists(p_out) && !exists(p_part), "output left after wrong base");
	base_unread(p, pn, o2);
	put_file(p_new, o2, OLD_N - 1); /* another base, other size */
	T_ERR(apply(p_new, p_patch, NULL, 2, 0), SI_E_PATCH_BASE_SIZE);
	T_CHECK(!exists(p_out) && !exists(p_part), "output left after wrong base");
	free(o2);

	/* a previous output under the name survives a refused apply */
	put_file(p_out, "keep", 4);
	p[16] ^= 1;
	put_file(p_patch, p, pn);
	T_ERR(apply(p_old, p_patch, NULL, 2, 0), SI_E_PATCH_FIELD);
	check_out_is((const uint8_t *)"keep", 4);
	unlink(p_out);
	p[16] ^= 1;

	/* too little work memory for one worker */
	put_file(p_patch, p, pn);
	{
		size_t keep = work_len;

		work_len = patch_apply_mem(&info, 1) - PATCH_APPLY_WIN - 1;
		T_ERR(apply(p_old, p_patch, NULL, 2, 0), SI_E_NOMEM);
		/* one worker without its source window */
		work_len = patch_apply_mem(&info, 1) - 1;
		T_OK(apply(p_old, p_patch, NULL, 2, 0));
		check_out_is(new_img, new_n);
		work_len = patch_apply_mem(&info, 1);
		T_OK(apply(p_old, p_patch, NULL, 4, 0));
		check_out_is(new_img, new_n);
		work_len = keep;
	}
	T_ERR(apply("/nonexistent/old", p_patch, NULL, 2, 0), SI_E_OPEN);
	free(p);
}

static void system_rm_tree(void);

/* Two erofs images (mkfs.erofs, a build dependency) whose gzip file
 * changed: the diff carries the member decompressed (an expansion), the
 * apply compresses it again into place.  Then the tables' and expansions'
 * refusals, each with its exact code, and a resume across them. */
static char p_tree[256];

/* An image ($I) of the tree p_tree ($T) that the shell command fill makes,
 * by the shell command make, read and then removed (NULL on failure). */
static uint8_t *image_of(const char *side, const char *fill, const char *make, size_t *n)
{
	char cmd[8192], img[300];
	uint8_t *b;

	snprintf(img, sizeof img, "%s/%s.img", dir, side);
	snprintf(cmd, sizeof cmd, "T=%s && I=%s && rm -rf $T && mkdir -p $T && %s && %s", p_tree,
		 img, fill, make);
	if (system(cmd) != 0)
		return NULL;
	b = get_file(img, n);
	unlink(img);
	return b;
}

/* An erofs image of the tree the shell command fill makes (in "T"). */
static uint8_t *erofs_of(const char *side, const char *fill, size_t *n)
{
	return image_of(side, fill,
			"mkfs.erofs --quiet -T0 --all-root -U 00000000-0000-0000-0000-000000000000 $I $T",
			n);
}

static uint8_t *mk_erofs(const char *side, const char *top_line, size_t *n)
{
	char fill[1024];

	snprintf(fill, sizeof fill,
		 "mkdir -p $T/doc && { %s seq 1 3000; } > $T/doc/changelog && "
		 "gzip -9n $T/doc/changelog && printf 'same\\n' > $T/doc/README",
		 top_line);
	return erofs_of(side, fill, n);
}

/* Re-makes the header hash after a test changed a header field. */
static void rehash(uint8_t *p, const struct patch_info *info)
{
	patch_hash(p, info->header_len - PATCH_HASH_LEN, p + info->header_len - PATCH_HASH_LEN);
}

/* Diffs a -> b (a's file is at old), applies the patch with two workers
 * and checks the result is b; *p (freed first) keeps the patch, *st the
 * diff's figures. */
static void diff_apply(const uint8_t *a, size_t an, const uint8_t *b, size_t bn, const char *old,
		       const struct patch_diff_opts *o, uint8_t **p, size_t *pn,
		       struct patch_diff_stats *st)
{
	free(*p);
	*p = NULL;
	T_OK(patch_diff(a, an, b, bn, o, p, pn, st, NULL));
	put_file(p_patch, *p, *pn);
	T_OK(apply(old, p_patch, NULL, 2, 0));
	check_out_is(b, bn);
	unlink(p_out);
}

/* A good patch q changed by the caller, its hash made again: the apply
 * refuses it with err and publishes nothing, no scratch file left. */
static void apply_refused(uint8_t *q, size_t qn, const struct patch_info *info, int err,
			  const char *what)
{
	char scratch[300];

	snprintf(scratch, sizeof scratch, "%s.scratch", p_out);
	rehash(q, info);
	put_file(p_patch, q, qn);
	T_ERR(apply(p_old, p_patch, NULL, 2, 0), err);
	T_CHECK(!exists(p_out) && !exists(p_part) && !exists(scratch), "output after %s", what);
}

/* The two images a test made: 1 when both are there (then written as the
 * old and the new image's files), else both freed and the failure named. */
static int both_made(uint8_t *a, size_t an, uint8_t *b, size_t bn, const char *tools)
{
	T_CHECK(a && b, "%s failed", tools);
	if (!a || !b) {
		free(a);
		free(b);
		return 0;
	}
	put_file(p_old, a, an);
	put_file(p_new, b, bn);
	return 1;
}

/* A tar of the tree the shell command fill makes (in "T"). */
static uint8_t *tar_of(const char *side, const char *fill, size_t *n)
{
	return image_of(side, fill,
			"tar -C $T --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf $I .",
			n);
}

/* Images that are not erofs (a tar here): their gzip members and xz
 * streams found by their headers where a file can begin and paired by
 * content, not by place: the new tar has the two changed changelogs under
 * each other's names, so pairing in order would be wrong.  An unchanged
 * member, and members cut short, stay raw.  The patch applies, forward
 * and reverse, and is far smaller than the same diff on raw bytes. */
static void test_raw_members(void)
{
	static const char common[] =
		"mkdir -p $T/doc && printf 'same\\n' > $T/doc/README && "
		"seq 7 7 70000 | gzip -9n > $T/doc/same.gz && "
		"seq 1 400 | gzip -9n | head -c 500 > $T/doc/cut.gz && "
		"{ seq 1 3 60000 | xz -6 | head -c 3000; } > $T/doc/cut.xz";
	char fa[2048], fb[2048];
	struct patch_diff_opts o = { .seg_size = 65536, .level = 3, .threads = 2 };
	struct patch_diff_opts raw = o;
	struct patch_diff_stats st;
	uint8_t *a, *b, *p = NULL, *q = NULL;
	size_t an = 0, bn = 0, pn = 0, qn = 0;

	snprintf(fa, sizeof fa,
		 "%s && seq 1 30000 | gzip -9n > $T/doc/a.gz && "
		 "seq 100000 3 190000 | gzip -9n > $T/doc/b.gz && "
		 "seq 1 2 40000 | xz -6 > $T/doc/data.xz",
		 common);
	snprintf(fb, sizeof fb,
		 "%s && { echo a new entry; seq 100000 3 190000; } | gzip -9n > $T/doc/a.gz && "
		 "{ echo another; seq 1 30000; } | gzip -9n > $T/doc/b.gz && "
		 "{ echo x; seq 1 2 40000; } | xz -6 > $T/doc/data.xz",
		 common);
	a = tar_of("a", fa, &an);
	b = tar_of("b", fb, &bn);
	if (!both_made(a, an, b, bn, "tar, gzip or xz"))
		return;
	diff_apply(a, an, b, bn, p_old, &o, &p, &pn, &st);
	T_EQ(st.nexp, 3);
	T_EQ(st.xz_split, 1);
	/* each changed changelog with the old one it grew from: 12 and 8
	 * bytes longer ("a new entry", "another"), not 41 KB apart */
	{
		struct patch_info info;
		struct patch_exp e;
		uint32_t k, good = 0;

		T_OK(patch_header_parse(p, pn, &info, NULL));
		for (k = 0; k < info.nexp; k++) {
			patch_exp_get(p, &info, k, &e);
			if (e.kind == PATCH_EXP_GZIP) {
				uint64_t grew = e.u_new_len - e.reuse_len - e.u_old_len;

				good += grew == 12 || grew == 8;
			}
		}
		T_EQ(good, 2);
	}
	raw.no_expand = 1;
	T_OK(patch_diff(a, an, b, bn, &raw, &q, &qn, NULL, NULL));
	T_CHECK(pn * 3 < qn, "members: %zu bytes against %zu raw", pn, qn);
	free(q);
	q = NULL;
	/* the reverse pairs them the same way */
	diff_apply(b, bn, a, an, p_new, &o, &q, &qn, &st);
	T_EQ(st.nexp, 3);
	free(p);
	free(q);
	free(a);
	free(b);
	put_file(p_old, old_img, OLD_N);
	put_file(p_new, new_img, new_n);
}

/* The tars the shell commands fa and fb make, diffed both ways: the
 * patches apply, split (the stats' counter at off) n members each way, and
 * the forward one is a ratio-th of the raw diff's at most. */
static void split_both_ways(const char *fa, const char *fb, const char *tools, size_t off,
			    uint64_t n, size_t ratio)
{
	struct patch_diff_opts o = { .seg_size = 65536, .level = 3, .threads = 2 };
	struct patch_diff_opts raw = o;
	struct patch_diff_stats st;
	uint8_t *a, *b, *p = NULL, *q = NULL;
	size_t an = 0, bn = 0, pn = 0, qn = 0;

	a = tar_of("a", fa, &an);
	b = tar_of("b", fb, &bn);
	if (!both_made(a, an, b, bn, tools))
		return;
	diff_apply(a, an, b, bn, p_old, &o, &p, &pn, &st);
	T_EQ(*(uint64_t *)((char *)&st + off), n);
	T_EQ(st.nexp, n);
	raw.no_expand = 1;
	T_OK(patch_diff(a, an, b, bn, &raw, &q, &qn, NULL, NULL));
	T_CHECK(pn * ratio < qn, "%s: %zu bytes against %zu raw", tools, pn, qn);
	diff_apply(b, bn, a, an, p_new, &o, &q, &qn, &st);
	T_EQ(*(uint64_t *)((char *)&st + off), n);
	free(p);
	free(q);
	free(a);
	free(b);
	put_file(p_old, old_img, OLD_N);
	put_file(p_new, new_img, new_n);
}

/* Deflate members that gz.c's gzip -9 does not make again, split into
 * data and parse (formats.md, Expansions, kind 3): a gzip -1 member at a
 * tar record (gzip -9's parse is another) and a zlib stream (as squashfs
 * writes its blocks), each grown by a line.  Both are split; the patch applies
 * forward and reverse and is far smaller than the raw diff; a zlib stream
 * whose Adler-32 lies is not taken (it stays raw and the patch applies);
 * a gzip -9 member with a file name of 60 bytes in its header (kind 1
 * keeps 32) is split too. */
static void test_deflate_members(void)
{
	/* lines of words drawn by a seed, as a text is */
	static const char words[] =
		"python3 -c 'import random, sys; r = random.Random(int(sys.argv[1])); "
		"w = \"alpha beta gamma delta kernel fix update module driver\".split(); "
		"sys.stdout.write(\"\".join(\" \".join(r.choice(w) for _ in range(r.randint(3, 12))) "
		"+ \"\\n\" for _ in range(int(sys.argv[2]))))'";
	static const char zl[] =
		"python3 -c 'import sys, zlib; d = zlib.compress(sys.stdin.buffer.read(), 9); "
		"sys.stdout.buffer.write(d[:-1] + bytes([d[-1] ^ int(sys.argv[1])]))'";
	static const char gz[] = "gzip -1n";
	char fa[4096], fb[4096];

	/* and a gzip -9 member whose header names a file of 60 bytes: past
	 * kind 1's 32 bytes of header */
	static const char named[] =
		"n=$T/a_file_name_of_sixty_bytes_that_gzip_puts_in_the_header.txt && ";
	snprintf(fa, sizeof fa,
		 "mkdir -p $T/doc && %s 1 6000 | %s > $T/doc/a.gz && "
		 "%s 2 6000 | %s 0 > $T/doc/b.zz && %s 3 5000 | %s 1 > $T/doc/c.zz && "
		 "%s%s 4 6000 > $n && gzip -9 -c $n > $T/doc/d.gz && rm $n",
		 words, gz, words, zl, words, zl, named, words);
	snprintf(fb, sizeof fb,
		 "mkdir -p $T/doc && { echo new; %s 1 6000; } | %s > $T/doc/a.gz && "
		 "{ %s 2 6000; echo tail; } | %s 0 > $T/doc/b.zz && "
		 "{ echo x; %s 3 5000; } | %s 1 > $T/doc/c.zz && "
		 "%s{ echo y; %s 4 6000; } > $n && gzip -9 -c $n > $T/doc/d.gz && rm $n",
		 words, gz, words, zl, words, zl, named, words);
	split_both_ways(fa, fb, "tar, gzip, python3", offsetof(struct patch_diff_stats, dfl_split),
			3, 3);
}


/* Kind 4: zstd frames of libzstd at several levels and settings (a
 * checksum or not, the content size or not, a long window, blocks of
 * every type) split into data that is what they decode to and a parse,
 * and joined back byte for byte; then each refusal of the join and the
 * split. */
static int zs_roundtrip(struct patch_zs *z, const uint8_t *m, size_t mn, const uint8_t *want,
			size_t wn)
{
	static uint8_t db[1u << 21], pb[1u << 21], ob[1u << 20];
	struct xbuf dat = { db, 0, sizeof db }, par = { pb, 0, sizeof pb };
	struct xbuf in = { (uint8_t *)(uintptr_t)m, mn, mn }, out = { ob, 0, sizeof ob };
	struct xpair t = { &dat, &par, sizeof db };
	uint64_t dl = 0, pl = 0, used = 0, ml = 0;
	struct si_diag d;

	si_diag_clear(&d);
	if (patch_zs_split(z, xbuf_read, &in, mn, xpair_write, &t, xpair_read, &t, 0, sizeof db,
			   sizeof db, sizeof pb, &dl, &pl, &used, &d) != 0)
		return -1;
	if (used != mn || dl != wn || memcmp(db, want, wn) != 0)
		return -2;
	if (patch_zs_join(z, xpair_read, &t, 0, dl, sizeof db, pl, xbuf_write, &out, sizeof ob, &ml,
			  &d) != 0)
		return -3;
	return ml == mn && memcmp(ob, m, mn) == 0 ? 0 : -4;
}

static void test_zs_frames(void)
{
	static const struct {
		int level, checksum, size, wlog;
	} cfg[] = { { 1, 1, 1, 0 }, { 3, 0, 1, 0 }, { 9, 1, 0, 0 }, { 19, 1, 1, 0 },
		    { 22, 0, 0, 27 }, { -5, 1, 1, 0 } };
	struct patch_zs *z = malloc(sizeof *z);
	size_t n = 600000, i, k, cap = ZSTD_compressBound(n);
	uint8_t *src = malloc(n), *m = malloc(cap);
	uint32_t x = 7;

	if (!z || !src || !m) {
		T_CHECK(0, "no memory");
		goto out;
	}
	/* words, then a program-like stretch, zeros (RLE blocks) and noise
	 * (raw blocks) */
	for (i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		src[i] = i < 200000 ? (uint8_t)("alpha beta gamma delta "[(x >> 16) % 23])
			 : i < 350000 ? (uint8_t)(i % 251 < 40 ? x >> 24 : src[i - 4096])
			 : i < 480000 ? 0 : (uint8_t)(x >> 24);
	}
	for (k = 0; k < sizeof cfg / sizeof cfg[0]; k++) {
		ZSTD_CCtx *c = ZSTD_createCCtx();
		size_t mn;
		int r;

		ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, cfg[k].level);
		ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, cfg[k].checksum);
		ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, cfg[k].size);
		if (cfg[k].wlog)
			ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, cfg[k].wlog);
		mn = ZSTD_compress2(c, m, cap, src, n);
		ZSTD_freeCCtx(c);
		T_CHECK(!ZSTD_isError(mn), "level %d", cfg[k].level);
		r = zs_roundtrip(z, m, mn, src, n);
		T_CHECK(r == 0, "level %d: %d", cfg[k].level, r);
		/* a short one, of one block */
		mn = ZSTD_compress(m, cap, src + 1000, 300, cfg[k].level);
		T_EQ(zs_roundtrip(z, m, mn, src + 1000, 300), 0);
	}
	/* nothing at all */
	{
		size_t mn = ZSTD_compress(m, cap, src, 0, 3);

		T_EQ(zs_roundtrip(z, m, mn, src, 0), 0);
	}
out:
	free(z);
	free(src);
	free(m);
}

struct zs_case {
	const char *field;
	size_t n;
	uint8_t b[48];
};

/* join's result for data and a parse written by hand into out */
static int join_case(patch_join_fn join, void *z, const char *data, const uint8_t *parse,
		     size_t pn, size_t m_max, struct xbuf *out, struct si_diag *d)
{
	static uint8_t dp[4096];
	struct xbuf dat = { dp, 0, sizeof dp / 2 }, par = { dp + sizeof dp / 2, 0, sizeof dp / 2 };
	struct xpair t = { &dat, &par, sizeof dp / 2 };
	uint64_t ml = 0;

	dat.n = strlen(data);
	memcpy(dat.p, data, dat.n);
	par.n = pn;
	memcpy(par.p, parse, pn);
	out->n = 0;
	si_diag_clear(d);
	return join(z, xpair_read, &t, 0, dat.n, sizeof dp / 2, par.n, xbuf_write, out, m_max, &ml,
		    d);
}

static int zs_join_case(struct patch_zs *z, const char *data, const uint8_t *parse, size_t pn,
			size_t m_max, struct xbuf *out, struct si_diag *d)
{
	return join_case(patch_exp_join_fn(PATCH_EXP_ZSTD), z, data, parse, pn, m_max, out, d);
}

static void test_zs_refusals(void)
{
	/* a frame header (a window of 1 KiB, content size 6 in 4 bytes),
	 * then "ababab" as a compressed block: the raw literals "ab", one
	 * sequence of length 4 at offset 2 (value 5), predefined tables, the
	 * last sequence's states 24, 14, 1 (LL code 2, OF 2, ML 1) */
#define ZH 0xf0, 10, 0x28, 0xb5, 0x2f, 0xfd, 0x80, 0x00, 6, 0, 0, 0
#define ZB 0xd2, 1, 0x00, 2, 1, 1, 0x00
	static const uint8_t good[] = { ZH, ZB, 2, 1, 4, 24, 14, 1, 0xff };
#define ZC(f, ...) { f, sizeof((const uint8_t[]){ __VA_ARGS__ }), { __VA_ARGS__ } }
	static const struct zs_case joins[] = {
		ZC("zs.parse.token", ZH, 0xc0),
		ZC("zs.parse.last", ZH, 0xd0, 2),
		ZC("zs.parse.end", ZH, 0xff),
		ZC("zs.parse.container", ZH, 0xd0, 0, 0, 0xf0, 1, 0),
		ZC("zs.parse.token", ZH, 0xd0, 1, 0, 0xd0),
		ZC("zs.parse.block_len", ZH, 0xd0, 1, 0x81, 0x80, 0x10),
		ZC("zs.parse.rle", ZH, 0xd1, 1, 2, 'b', 0xff),
		ZC("zs.parse.literals", ZH, 0xd2, 1, 0x08, 2),
		ZC("zs.parse.treeless", ZH, 0xd2, 1, 0x03, 2),
		ZC("zs.parse.sequences", ZH, 0xd2, 1, 0x00, 2, 1, 4),
		ZC("zs.parse.modes", ZH, 0xd2, 1, 0x00, 2, 1, 1, 0x01),
		ZC("zs.parse.table.repeat", ZH, 0xd2, 1, 0x00, 2, 1, 1, 0xc0),
		ZC("zs.parse.table.rle", ZH, 0xd2, 1, 0x00, 2, 1, 1, 0x40, 36),
		ZC("zs.parse.sequence", ZH, ZB, 3, 1, 4),
		ZC("zs.parse.state", ZH, ZB, 2, 1, 4, 64, 14, 1),
		/* state 0 of the predefined LL table decodes code 0, not 2 */
		ZC("zs.parse.state", ZH, ZB, 2, 1, 4, 0, 14, 1),
		ZC("zs.parse.end", ZH, ZB, 2, 1, 4, 24, 14, 1, 0xff, 0),
	};
#undef ZC
	struct patch_zs *z = malloc(sizeof *z);
	static uint8_t ob[4096];
	struct xbuf out = { ob, 0, sizeof ob };
	struct si_diag d;
	size_t k, mlen;
	uint8_t dec[16];

	if (!z) {
		T_CHECK(0, "no memory");
		return;
	}
	T_OK(zs_join_case(z, "ababab", good, sizeof good, sizeof ob, &out, &d));
	mlen = out.n;
	/* libzstd reads the frame the join made as "ababab" */
	T_EQ(ZSTD_decompress(dec, sizeof dec, ob, mlen), 6u);
	T_CHECK(memcmp(dec, "ababab", 6) == 0, "the frame decodes");
	T_EQ(zs_roundtrip(z, ob, mlen, (const uint8_t *)"ababab", 6), 0);
	for (k = 0; k < sizeof joins / sizeof joins[0]; k++) {
		T_ERR(zs_join_case(z, "ababab", joins[k].b, joins[k].n, sizeof ob, &out, &d),
		      SI_E_PATCH_EXPAND);
		T_CHECK(d.field && strcmp(d.field, joins[k].field) == 0, "join case %zu: %s, want %s",
			k, d.field ? d.field : "(none)", joins[k].field);
	}
	T_ERR(zs_join_case(z, "abababa", good, sizeof good, sizeof ob, &out, &d), SI_E_PATCH_EXPAND);
	T_STREQ(d.field, "zs.parse.end");
	T_ERR(zs_join_case(z, "ababab", good, sizeof good, mlen - 1, &out, &d), SI_E_PATCH_EXPAND);
	T_STREQ(d.field, "zs.frame.length");
	/* the frame's room, and where its block would end */
	T_CHECK((d.flags & SI_DIAG_VALUES) && d.expected == mlen - 1 && d.found == mlen,
		"zs.frame.length: %llu, %llu", (unsigned long long)d.expected,
		(unsigned long long)d.found);
	{ /* 32 raw literals do not fit the one-byte header the parse names */
		static const uint8_t big[] = { ZH, 0xd2, 1, 0x00, 32, 0, 1, 0xff };

		T_ERR(zs_join_case(z, "abababababababababababababababab", big, sizeof big, sizeof ob,
				   &out, &d),
		      SI_E_PATCH_EXPAND);
		T_STREQ(d.field, "zs.parse.literals.size");
	}

	/* the split's refusals, each a change of the good frame */
	{
		static const struct {
			const char *field;
			size_t at;
			uint8_t v;
			int cut;
		} sp[] = {
			{ "zs.frame.header", 4, 0x88, 0 },   /* reserved bit */
			{ "zs.frame.header", 4, 0x81, 0 },   /* a dictionary id */
			{ "zs.frame.header", 0, 0x29, 0 },   /* magic */
			{ "zs.frame.content_size", 6, 7, 0 },
			{ "zs.block.type", 10, 0x07, 0 },    /* block type 3 */
			{ "zs.block.size", 0, 0, 3 },        /* cut short */
			{ "zs.sequences.modes", 17, 0x01, 0 },
		};
		uint8_t f[64];
		struct xbuf in = { f, 0, sizeof f };
		static uint8_t db[256], pb[256];
		struct xbuf dat = { db, 0, sizeof db }, par = { pb, 0, sizeof pb };
		struct xpair t = { &dat, &par, sizeof db };
		uint64_t dl, pl, used;

		T_CHECK(mlen <= sizeof f && ob[13] == 0x10 && ob[16] == 0x01 && ob[17] == 0x00,
			"the good frame: %zu bytes", mlen);
		for (k = 0; k < sizeof sp / sizeof sp[0]; k++) {
			memcpy(f, ob, mlen);
			in.n = mlen - (size_t)sp[k].cut;
			if (!sp[k].cut)
				f[sp[k].at] = sp[k].v;
			si_diag_clear(&d);
			T_ERR(patch_zs_split(z, xbuf_read, &in, in.n, xpair_write, &t, xpair_read, &t, 0,
					     sizeof db, sizeof db, sizeof pb, &dl, &pl, &used, &d),
			      SI_E_PATCH_EXPAND);
			T_CHECK(d.field && strcmp(d.field, sp[k].field) == 0,
				"split case %zu: %s, want %s", k, d.field ? d.field : "(none)",
				sp[k].field);
			if (sp[k].at == 6) /* the content size the header says, what came */
				T_CHECK((d.flags & SI_DIAG_VALUES) && d.expected == 7 && d.found == 6,
					"zs.frame.content_size: %llu, %llu",
					(unsigned long long)d.expected, (unsigned long long)d.found);
		}
	}
	free(z);
#undef ZH
#undef ZB
}

/* zstd frames in an image that is not erofs (a tar): a program-like file
 * changed inside a frame is diffed split, far smaller than raw; a frame
 * whose split does not pay stays raw. */
static void test_zstd_members(void)
{
	char fa[2048], fb[2048];

	snprintf(fa, sizeof fa,
		 "mkdir -p $T/d && head -c 400000 /bin/bash > $T/p && "
		 "zstd -q -3 -c $T/p > $T/d/p.zst && rm $T/p");
	snprintf(fb, sizeof fb,
		 "mkdir -p $T/d && { head -c 100000 /bin/bash; printf 'inserted bytes'; "
		 "tail -c +100001 /bin/bash | head -c 300000; } > $T/p && "
		 "zstd -q -3 -c $T/p > $T/d/p.zst && rm $T/p");
	split_both_ways(fa, fb, "tar, zstd", offsetof(struct patch_diff_stats, zs_split), 1, 10);
}

/* The apply's source window: runs of short reads, each at its own
 * alignment, one after the other from a random place (the window grows
 * to PATCH_APPLY_WIN), of lengths and gaps that make reads end anywhere
 * around a window's end (one byte past it, among them), then scattered
 * ones (it shrinks); what each read gets is checked by the segments'
 * digests. */
static void test_apply_window(void)
{
	const size_t n = 1u << 20, cap = 2u << 20;
	uint8_t *a = malloc(n), *b = malloc(cap), *p = NULL;
	struct patch_diff_opts o = { .seg_size = 1u << 20, .level = 3, .threads = 1 };
	size_t i, bn = 0, pn = 0, off = 0;
	uint32_t x = 99;

	T_CHECK(a && b, "alloc");
	for (i = 0; i < n; i++)
		a[i] = rnd();
	put_file(p_old, a, n);
	while (bn + 300 * 120 <= cap - cap / 8) { /* runs from random places */
		unsigned k;

		x = x * 1103515245u + 12345u;
		off = (x >> 4) % (n / 2);
		for (k = 0; k < 300; k++) {
			size_t l, g;

			x = x * 1103515245u + 12345u;
			l = 24 + (x >> 16) % 90;
			g = 1 + (x >> 8) % 37;
			off += g;
			memcpy(b + bn, a + off, l);
			bn += l;
			off += l;
		}
	}
	while (bn + 200 <= cap) { /* scattered */
		x = x * 1103515245u + 12345u;
		off = (x >> 4) % (n - 200);
		memcpy(b + bn, a + off, 40);
		bn += 40;
	}
	T_OK(patch_diff(a, n, b, bn, &o, &p, &pn, NULL, NULL));
	put_file(p_patch, p, pn);
	T_OK(apply(p_old, p_patch, NULL, 1, 0));
	check_out_is(b, bn);
	unlink(p_out);
	free(p);
	free(a);
	free(b);
}
/* Members split and made by every worker whose memory holds a coder's
 * state (apply.c, phases 1 and 3): eight changed gzip members of awk's
 * numbers, six gzip -9's (kind 1) and two gzip -1's (kind 3), segments of 256 KiB so that a
 * worker's memory holds either coder; the result is right with two
 * workers and with one, each time (under ThreadSanitizer too). */
static void test_members_parallel(void)
{
	struct patch_diff_opts o = { .seg_size = 262144, .level = 3, .threads = 2 };
	struct patch_diff_stats st;
	struct patch_info info;
	char fa[512], fb[512];
	uint8_t *a, *b, *p = NULL;
	size_t an = 0, bn = 0, pn = 0;
	int k;

#define MEMBERS_FMT                                                                   \
	"mkdir -p $T/doc && for i in 1 2 3 4 5 6 7 8; do { %s "                         \
	"awk -v s=$i 'BEGIN { srand(s); for (n = 0; n < 6000; n++) "                    \
	"print int(rand() * 1000), \"fix\", int(rand() * 100) }'; } | "                 \
	"if [ $i -le 6 ]; then gzip -9n; else gzip -1n; fi > $T/doc/c$i.gz; done"
	snprintf(fa, sizeof fa, MEMBERS_FMT, "");
	snprintf(fb, sizeof fb, MEMBERS_FMT, "echo a new line;");
#undef MEMBERS_FMT
	a = erofs_of("a", fa, &an);
	b = erofs_of("b", fb, &bn);
	if (!both_made(a, an, b, bn, "mkfs.erofs or gzip"))
		return;
	T_OK(patch_diff(a, an, b, bn, &o, &p, &pn, &st, NULL));
	T_EQ(st.nexp, 8);
	T_EQ(st.dfl_split, 2);
	T_OK(patch_header_parse(p, pn, &info, NULL));
	T_CHECK(patch_worker_mem(info.seg_size) >= patch_exp_state_size(info.exp_kinds),
		"a worker's %zu bytes hold no coder (%zu)", patch_worker_mem(info.seg_size),
		patch_exp_state_size(info.exp_kinds));
	put_file(p_patch, p, pn);
	for (k = 0; k < 4; k++) {
		unlink(p_out);
		T_OK(apply(p_old, p_patch, NULL, k % 2 ? 1 : 2, 0));
		check_out_is(b, bn);
	}
	unlink(p_out);
	free(p);
	free(a);
	free(b);
	put_file(p_old, old_img, OLD_N);
	put_file(p_new, new_img, new_n);
}

/* Kind 3's refusals (gz.c), one case each: the join of a parse the patch
 * carries (untrusted), and the split of a member of the old image (258
 * coded as 284 + 31 is left to fuzz_dfl: the join never codes it).  The
 * base case, a zlib stream of "ababa" (two literals, a match of 3 at
 * distance 2, fixed codes), joins; its member splits back into the same
 * data and parse. */
struct dfl_case {
	const char *field;
	size_t n;
	uint8_t b[64];
};

static int dfl_join_case(struct patch_dfl *z, const char *data, const uint8_t *parse, size_t pn,
			 size_t m_max, struct xbuf *out, struct si_diag *d)
{
	return join_case(patch_exp_join_fn(PATCH_EXP_DEFLATE), z, data, parse, pn, m_max, out, d);
}

static void test_dfl_refusals(void)
{
#define HDR 0xf0, 2, 0x78, 0x9c
#define ADLER 0xf0, 4, 0x05, 0xba, 0x01, 0xe8 /* Adler-32 of "ababa" */
	static const uint8_t good[] = { HDR, 0xc0, 1, 0x01, 0x40, 0x01, 0xc3, ADLER, 0xff };
	/* dynamic headers: HLIT, HDIST, HCLEN, then the code-length code */
	static const struct dfl_case joins[] = {
		{ "dfl.parse.token", 12, { HDR, 0xc0, 1, 0x01, 0xc5 } },
		{ "dfl.parse.final", 6, { HDR, 0xc0, 2 } },
		{ "dfl.parse.match", 10, { HDR, 0xc0, 1, 0x01, 0x40, 0x02 } },
		{ "dfl.parse.end", 9, { HDR, 0xc0, 1, 0x01, 0xff } },
		{ "dfl.parse.container", 9, { HDR, 0xc0, 1, 0x01, 0xf0 } },
		{ "dfl.parse.block", 9, { HDR, 0xc0, 1, 0x01, 0xc0 } },
		{ "dfl.parse.length", 10, { HDR, 0xc0, 1, 0x01, 0x7f, 193 } },
		{ "dfl.parse.header", 9, { HDR, 0xc1, 1, 30, 0, 0 } },
		{ "dfl.parse.clen", 13, { HDR, 0xc1, 1, 0, 0, 0, 8, 0, 0, 0 } },
		/* no code for symbol 5 */
		{ "dfl.parse.clsym", 15, { HDR, 0xc1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 5 } },
		/* 16 (repeat the previous length) first: codes for 16 and 0 */
		{ "dfl.parse.repeat", 16, { HDR, 0xc1, 1, 0, 0, 0, 1, 0, 0, 1, 1, 16, 0 } },
		/* 11 zeros (18, 0) of the 258 lengths */
		{ "dfl.parse.lengths", 16, { HDR, 0xc1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 18, 0 } },
		/* lengths: 256 zeros, then EOB and one distance of length 1
		 * (codes for 18 and 1); a literal has no code */
		{ "dfl.parse.symbol", 37, { HDR, 0xc1, 1, 0, 0, 15, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					  0, 0, 0, 0, 0, 1, 0, 4, 18, 127, 18, 107, 1, 1, 0x00, 0xc3 } },
		/* "ab" stored, then 256 zeros, EOB and length code 257, no
		 * distance code (codes for 18, 0 and 1): the match has none */
		{ "dfl.parse.distance", 41, { HDR, 0xc2, 0, 2, 0xc1, 1, 1, 0, 15, 0, 0, 1, 2, 0, 0, 0, 0,
					     0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 5, 18, 127, 18, 107, 1,
					     1, 0, 0x40, 0x01 } },
		{ "dfl.parse_len", 20, { HDR, 0xc0, 1, 0x01, 0x40, 0x01, 0xc3, ADLER, 0xff, 0 } },
	};
	struct patch_dfl *z = malloc(sizeof *z);
	static uint8_t ob[4096], ib[4096], db[4096], pb[8192];
	struct xbuf out = { ob, 0, sizeof ob }, in = { ib, 0, sizeof ib };
	struct xbuf dat = { db, 0, sizeof db }, par = { pb, 0, sizeof pb };
	struct xpair t = { &dat, &par, sizeof db };
	struct si_diag d;
	uint64_t dl = 0, pl = 0;
	size_t k, mlen;

	if (!z) {
		T_CHECK(0, "no memory");
		return;
	}
	T_OK(dfl_join_case(z, "ababa", good, sizeof good, sizeof ob, &out, &d));
	mlen = out.n;
	T_EQ(mlen, 11u); /* 78 9c, 38 bits of stream, the Adler-32 */
	for (k = 0; k < sizeof joins / sizeof joins[0]; k++) {
		T_ERR(dfl_join_case(z, "ababa", joins[k].b, joins[k].n, sizeof ob, &out, &d),
		      SI_E_PATCH_EXPAND);
		T_STREQ(d.field, joins[k].field);
	}
	T_ERR(dfl_join_case(z, "ababab", good, sizeof good, sizeof ob, &out, &d), SI_E_PATCH_EXPAND);
	T_STREQ(d.field, "dfl.data_len");
	T_ERR(dfl_join_case(z, "ababa", good, sizeof good, mlen - 1, &out, &d), SI_E_PATCH_EXPAND);
	T_STREQ(d.field, "dfl.length");

	/* the split: the member back, then each refusal */
	T_OK(dfl_join_case(z, "ababa", good, sizeof good, sizeof ob, &out, &d));
#define SPLIT_CASE(mut, fld)                                                                \
	do {                                                                                \
		memcpy(in.p, ob, mlen);                                                     \
		in.n = mlen;                                                                \
		mut;                                                                        \
		dat.n = par.n = 0;                                                          \
		si_diag_clear(&d);                                                          \
		T_ERR(patch_dfl_split(z, xbuf_read, &in, in.n, xpair_write, &t, 0, sizeof db,  \
				      sizeof db, sizeof pb, &dl, &pl, &d),                   \
		      SI_E_PATCH_EXPAND);                                                   \
		T_STREQ(d.field, fld);                                                      \
	} while (0)
	memcpy(in.p, ob, mlen);
	in.n = mlen;
	T_OK(patch_dfl_split(z, xbuf_read, &in, in.n, xpair_write, &t, 0, sizeof db, sizeof db,
			     sizeof pb, &dl, &pl, &d));
	T_CHECK(dl == 5 && memcmp(db, "ababa", 5) == 0 && pl == sizeof good &&
			memcmp(pb, good, sizeof good) == 0,
		"split: %llu data, %llu parse", (unsigned long long)dl, (unsigned long long)pl);
	SPLIT_CASE(in.p[0] = 0x79, "dfl.header");
	SPLIT_CASE(in.p[1] = 0xbc, "dfl.header"); /* preset dictionary */
	SPLIT_CASE(in.p[mlen - 1] ^= 1, "dfl.zlib.adler32");
	SPLIT_CASE(in.p[in.n++] = 0, "dfl.stream_len"); /* a byte after it */
	SPLIT_CASE(in.p[mlen - 5] |= 0x80, "dfl.padding"); /* the last byte's unused bits */
	SPLIT_CASE((in.p[0] = 0x1f, in.p[1] = 0x8b, in.p[2] = 7), "dfl.gzip.header");
	/* the same stream as a gzip member (header, CRC-32 and size): it
	 * splits; its CRC-32 one off does not */
	{
		static const uint8_t gz[] = { 0xf0, 10, 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xc0, 1,
					      0x01, 0x40, 0x01, 0xc3, 0xf0, 8, 0x94, 0x6f, 0x34, 0xd7, 5,
					      0, 0, 0, 0xff };

		T_OK(dfl_join_case(z, "ababa", gz, sizeof gz, sizeof ob, &out, &d));
		mlen = out.n;
		memcpy(in.p, ob, mlen);
		in.n = mlen;
		T_OK(patch_dfl_split(z, xbuf_read, &in, in.n, xpair_write, &t, 0, sizeof db,
				     sizeof db, sizeof pb, &dl, &pl, &d));
		SPLIT_CASE(in.p[mlen - 8] ^= 1, "dfl.gzip.trailer");
	}
#undef SPLIT_CASE
#undef HDR
#undef ADLER
	free(z);
}

/* The new members are matched against all the old ones at once (diff.c,
 * match_members), where the old members lie end to end: a new member made
 * of one old member's end and the next one's start is one cover in that
 * space (here an ADD, a byte changed on each side), which must be cut
 * where the first ends (the diff reads each member from its own buffer;
 * merged again, its difference bytes were read past that buffer's end and
 * the apply refused the patch). */
static void test_members_across(void)
{
	struct patch_diff_opts o = { .seg_size = 65536, .level = 3, .threads = 2 };
	struct patch_diff_stats st;
	uint8_t *a, *b, *p = NULL;
	size_t an = 0, bn = 0, pn = 0;

	a = tar_of("a", "mkdir -p $T/doc && seq 1 20000 | gzip -9n > $T/doc/a.gz && "
			"seq 100000 3 160000 | gzip -9n > $T/doc/b.gz", &an);
	/* a byte changed on each side of the members' bound: one ADD across it */
	b = tar_of("b", "mkdir -p $T/doc && { seq 5000 19998; echo 1999x; echo 20000; "
			"echo 100000; echo 10000y; seq 100006 3 103000; echo new; } | "
			"gzip -9n > $T/doc/a.gz && { echo top; seq 100000 3 160000; } | "
			"gzip -9n > $T/doc/b.gz", &bn);
	if (!both_made(a, an, b, bn, "tar or gzip"))
		return;
	diff_apply(a, an, b, bn, p_old, &o, &p, &pn, &st);
	T_EQ(st.nexp, 2);
	free(p);
	free(a);
	free(b);
	put_file(p_old, old_img, OLD_N);
	put_file(p_new, new_img, new_n);
}

/* A gzip member whose trailer lies is not diffed decompressed: its ISIZE
 * one more than the data, or 2^31 - 1 (past what its deflate stream can
 * hold: the diff would size its buffers by it), or its CRC-32 one off.
 * The same members with true trailers are (the control); either way the
 * patch applies, forward, byte for byte. */
static void test_gz_trailers(void)
{
	/* what each case changes in the trailer (bytes -8..-5 CRC-32, -4..-1
	 * ISIZE, little-endian), which mk() below writes again */
	static const char *const lies[] = {
		"isz=$(( $(seq 1 30000 | wc -c) + 1 ))",
		"isz=2147483647",
		"crc=1",
	};
	static const char mk[] =
		"mk() { f=$1; shift; \"$@\" | gzip -9n > $f.t; n=$(stat -c %%s $f.t); "
		"le() { for v in $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) "
		"$(($1 >> 24 & 255)); do printf \"\\\\$(printf %%o $v)\"; done; }; "
		"c=$(tail -c 8 $f.t | head -c 4 | od -An -tu4 | tr -d ' '); "
		"s=$(tail -c 4 $f.t | od -An -tu4 | tr -d ' '); "
		"%s; [ -n \"${crc:-}\" ] && c=$(( c ^ 1 )); [ -n \"${isz:-}\" ] && s=$isz; "
		"{ head -c $(( n - 8 )) $f.t; le $c; le $s; } > $f; rm $f.t; }; mkdir -p $T/doc && ";
	struct patch_diff_opts o = { .seg_size = 65536, .level = 3, .threads = 2 };
	struct patch_diff_stats st;
	char fa[2048], fb[2048];
	unsigned k;

	for (k = 0; k <= SI_ARRAY_SIZE(lies); k++) {
		const char *lie = k < SI_ARRAY_SIZE(lies) ? lies[k] : ":";
		uint8_t *a, *b, *p = NULL;
		size_t an = 0, bn = 0, pn = 0;
		char pre[1024];

		snprintf(pre, sizeof pre, mk, lie);
		snprintf(fa, sizeof fa, "%s mk $T/doc/a.gz seq 1 30000", pre);
		snprintf(fb, sizeof fb, "%s mk $T/doc/a.gz sh -c 'echo a new entry; seq 1 30000'",
			 pre);
		a = tar_of("a", fa, &an);
		b = tar_of("b", fb, &bn);
		if (!both_made(a, an, b, bn, "tar, gzip, od"))
			return;
		diff_apply(a, an, b, bn, p_old, &o, &p, &pn, &st);
		T_CHECK(st.nexp == (k == SI_ARRAY_SIZE(lies)), "trailer '%s': %llu members decompressed",
			lie, (unsigned long long)st.nexp);
		free(p);
		free(a);
		free(b);
	}
	put_file(p_old, old_img, OLD_N);
	put_file(p_new, new_img, new_n);
}

static void test_expansions(void)
{
	struct patch_diff_opts o = { .seg_size = 4096, .level = 3, .threads = 2 };
	struct patch_diff_stats st;
	struct patch_info info;
	struct si_diag d;
	uint8_t *a, *b, *p = NULL, *q;
	size_t an = 0, bn = 0, pn = 0, toff, eoff;
	char scratch[300];

	snprintf(p_tree, sizeof p_tree, "%s/tree", dir);
	snprintf(scratch, sizeof scratch, "%s.scratch", p_out);
	a = mk_erofs("a", "", &an);
	b = mk_erofs("b", "echo 'a new entry at the top';", &bn);
	if (!both_made(a, an, b, bn, "mkfs.erofs or gzip"))
		return;
	T_OK(patch_diff(a, an, b, bn, &o, &p, &pn, &st, NULL));
	T_EQ(st.nexp, 1);
	T_CHECK(st.ops[PATCH_OP_KEEP] > 0, "no KEEP ops");
	put_file(p_patch, p, pn);
	unlink(p_out);
	T_OK(apply(p_old, p_patch, NULL, 2, 0));
	check_out_is(b, bn);
	T_CHECK(!exists(scratch), "scratch file left behind");
	/* interrupted after two segments, resumed: the members are made again */
	unlink(p_out);
	unlink(p_ckpt);
	T_ERR(apply(p_old, p_patch, p_ckpt, 1, 2), SI_E_PATCH_STOPPED);
	T_CHECK(!exists(scratch), "scratch file left behind after a stop");
	T_OK(apply(p_old, p_patch, p_ckpt, 2, 0));
	check_out_is(b, bn);
	unlink(p_out);
	/* stopped after each count of segments with two workers, which may
	 * then be waiting for the members (KEEP, or the output's write), and
	 * resumed with two: the right image every time, the scratch gone */
	{
		uint32_t k, n = 0, wrong = 0, left = 0;

		T_OK(patch_header_parse(p, pn, &info, NULL));
		for (k = 1; k < info.nseg; k++) {
			unlink(p_out);
			unlink(p_ckpt);
			if (apply(p_old, p_patch, p_ckpt, 2, k) != SI_E_PATCH_STOPPED)
				continue; /* all done before the stop was seen */
			n++;
			left += exists(scratch);
			if (apply(p_old, p_patch, p_ckpt, 2, 0) != 0 || !same_file(p_out, b, bn))
				wrong++;
		}
		T_CHECK(n > 0, "no apply was stopped");
		T_EQ(wrong, 0);
		T_EQ(left, 0);
		unlink(p_out);
		unlink(p_ckpt);
	}

	T_OK(patch_header_parse(p, pn, &info, NULL));
	T_EQ(info.nexp, 1);
	toff = PATCH_HDR_LEN + (size_t)info.nseg * PATCH_ENTRY_LEN;
	eoff = toff + PATCH_TABLES_LEN;
	q = malloc(pn);
#define EXPMUT(stmt, err, fld)                                                   \
	do {                                                                     \
		memcpy(q, p, pn);                                                \
		stmt;                                                            \
		rehash(q, &info);                                                \
		si_diag_clear(&d);                                               \
		T_ERR(patch_index_check(q, pn, &info, pn, &d), err);             \
		T_STREQ(d.field, fld);                                           \
	} while (0)
	EXPMUT(q[eoff] = 5, SI_E_PATCH_FIELD, "patch.exp.kind");
	EXPMUT(q[eoff] = 0, SI_E_PATCH_FIELD, "patch.exp.kind");
	EXPMUT(q[eoff] = 4, SI_E_PATCH_FIELD, "patch.exp.hdr"); /* zstd: no gzip header */
	EXPMUT(q[eoff] = 3, SI_E_PATCH_FIELD, "patch.exp.hdr"); /* deflate: no gzip header */
	EXPMUT(q[eoff] = 2, SI_E_PATCH_FIELD, "patch.exp.hdr"); /* xz: no gzip header */
	EXPMUT(q[eoff + 4] = 1, SI_E_PATCH_FIELD, "patch.exp.reuse_len"); /* not whole records */
	EXPMUT(si_put_le32(q + eoff + 4, (uint32_t)(si_le64(p + eoff + 16) + 24) / 24 * 24),
	       SI_E_PATCH_FIELD, "patch.exp.reuse_len"); /* past the member */
	EXPMUT(q[eoff + 120] = 1, SI_E_PATCH_FIELD, "patch.exp.reserved");
	EXPMUT(q[eoff + 88 + 31] = 1, SI_E_PATCH_FIELD, "patch.exp.reserved"); /* past hdr_len */
	EXPMUT(q[eoff + 3] = 9, SI_E_PATCH_FIELD, "patch.exp.hdr");
	EXPMUT(q[eoff + 3] = 33, SI_E_PATCH_FIELD, "patch.exp.hdr");
	EXPMUT(q[eoff + 88] = 0, SI_E_PATCH_FIELD, "patch.exp.hdr");
	EXPMUT(q[eoff + 1] = 3, SI_E_PATCH_FIELD, "patch.exp.old_ext");
	EXPMUT(q[eoff + 2] = 0, SI_E_PATCH_FIELD, "patch.exp.new_ext");
	EXPMUT(si_put_le64(q + eoff + 24, info.old_size), SI_E_PATCH_FIELD, "patch.exp.old_ext");
	EXPMUT(si_put_le64(q + eoff + 64, 0), SI_E_PATCH_FIELD, "patch.exp.new_ext");
	EXPMUT((si_put_le64(q + eoff + 32, 4), si_put_le64(q + eoff + 40, 0),
		si_put_le64(q + eoff + 48, 0), q[eoff + 1] = 1),
	       SI_E_PATCH_FIELD, "patch.exp.ext_len");
	EXPMUT(si_put_le64(q + eoff + 16, PATCH_EXPAND_MAX + 1), SI_E_PATCH_LIMIT, "patch.exp.u_len");
	EXPMUT(si_put_le64(q + eoff + 16, si_le64(p + eoff + 16) + 4096), SI_E_PATCH_FIELD,
	       "patch.nseg");
	/* the tables and the index entries' new bytes */
	EXPMUT(q[toff + 4] = 2, SI_E_PATCH_CODEC, "patch.tables.map_codec");
	EXPMUT(q[toff + 31] = 1, SI_E_PATCH_FIELD, "patch.tables.reserved");
	EXPMUT(q[PATCH_HDR_LEN + 9] = 3, SI_E_PATCH_FIELD, "patch.index.arch");
	EXPMUT(q[PATCH_HDR_LEN + 10] = 2, SI_E_PATCH_FIELD, "patch.index.diff_mode");
	EXPMUT(q[PATCH_HDR_LEN + 11] = 2, SI_E_PATCH_FIELD, "patch.index.lit_filter");
	EXPMUT(q[PATCH_HDR_LEN + 11] = 1, SI_E_PATCH_FIELD, "patch.index.lit_bits");
	EXPMUT((q[PATCH_HDR_LEN + 11] = 1, q[PATCH_HDR_LEN + 12] = PATCH_LIT_BITS_MIN - 1),
	       SI_E_PATCH_FIELD, "patch.index.lit_bits");
	EXPMUT((q[PATCH_HDR_LEN + 11] = 1, q[PATCH_HDR_LEN + 12] = 33), SI_E_PATCH_FIELD,
	       "patch.index.lit_bits");
	EXPMUT(q[PATCH_HDR_LEN + 12] = 24, SI_E_PATCH_FIELD, "patch.index.lit_bits");
	EXPMUT(q[PATCH_HDR_LEN + 13] = 1, SI_E_PATCH_FIELD, "patch.index.reserved");
	/* the member's place or size changed: found when it is made or
	 * expanded, nothing published */
	memcpy(q, p, pn);
	si_put_le64(q + eoff + 8, si_le64(p + eoff + 8) + 1); /* u_old_len */
	apply_refused(q, pn, &info, SI_E_PATCH_EXPAND, "a bad member");
	memcpy(q, p, pn);
	q[eoff + 88 + 3] ^= 0x10; /* the new member's gzip header: another flag */
	apply_refused(q, pn, &info, SI_E_PATCH_SEG_HASH, "a bad header");
#undef EXPMUT
	free(q);
	/* the reverse patch */
	diff_apply(b, bn, a, an, p_new, &o, &p, &pn, &st);
	T_EQ(st.nexp, 1);
	/* the new image also holds the changelog's text, which only the old
	 * member decompressed has: its segments read the scratch, and wait
	 * for the members to be expanded beside them */
	free(b);
	b = erofs_of("b", "mkdir -p $T/doc && { echo 'a new entry at the top'; seq 1 3000; } > "
			  "$T/doc/changelog && { seq 1 3000; echo end; } > $T/doc/plain && "
			  "gzip -9n $T/doc/changelog && printf 'same\\n' > $T/doc/README", &bn);
	T_CHECK(b != NULL, "mkfs.erofs or gzip failed");
	if (b) {
		diff_apply(a, an, b, bn, p_old, &o, &p, &pn, &st);
		T_EQ(st.nexp, 1);
		put_file(p_patch, p, pn);
		unlink(p_ckpt);
		T_ERR(apply(p_old, p_patch, p_ckpt, 2, 1), SI_E_PATCH_STOPPED);
		T_OK(apply(p_old, p_patch, p_ckpt, 1, 0));
		check_out_is(b, bn);
		unlink(p_out);
	}
	free(p);
	free(a);
	free(b);
	put_file(p_old, old_img, OLD_N);
	put_file(p_new, new_img, new_n);
	system_rm_tree();
}

/* ------------------------------------------------ gzip: the reuse list */
/* A gzip -9n member of the text the shell command makes: its deflate
 * stream (after the 10-byte header, before the trailer), decompressed
 * (*u) and its symbols (*tok, *ntok tokens). */
static uint8_t *gz_text(const char *cmd, size_t *sn, struct xbuf *u, struct xbuf *tok)
{
	char line[1024], path[300];
	struct patch_inflate *st = malloc(sizeof *st);
	struct xbuf in;
	struct gz_tokens tk = { xbuf_write, tok, 0, 0 };
	uint64_t used = 0, ol = 0;
	uint32_t crc = 0;
	size_t n = 0;
	uint8_t *m;

	snprintf(path, sizeof path, "%s/t.gz", dir);
	snprintf(line, sizeof line, "{ %s; } | gzip -9n > %s", cmd, path);
	if (system(line) != 0 || !(m = get_file(path, &n)) || n < 18) {
		free(st);
		return NULL;
	}
	in.p = m;
	in.n = n - 8;
	u->cap = si_le32(m + n - 4);
	u->p = malloc(u->cap);
	u->n = 0;
	tok->cap = u->cap * GZ_TOK_LEN;
	tok->p = malloc(tok->cap);
	tok->n = 0;
	T_OK(patch_inflate_run(st, xbuf_read, &in, 10, n - 18, xbuf_write, u, 0, u->cap, &tk, &used,
			       &ol, &crc));
	T_EQ(ol, u->cap);
	T_EQ(tk.count * GZ_TOK_LEN, tok->n);
	free(st);
	memmove(m, m + 10, n - 18);
	*sn = n - 18;
	return m;
}

/* a refusal's expected and found values (vals 0: none) */
static struct {
	int vals;
	uint64_t e, g;
} ru_v;

/* Codes u with reuse list `list` (ln bytes) over the old tokens: 0 and the
 * stream equal to want, or the refusal (its field in *field). */
static int gz_reuse_run(const struct xbuf *u, const uint8_t *list, size_t ln,
			const struct xbuf *tok, uint64_t ntok, uint64_t old_len,
			const uint8_t *want, size_t wn, const char **field)
{
	struct patch_gzenc *z = malloc(sizeof *z);
	struct xbuf lt, out = { malloc(wn + 65536), 0, wn + 65536 };
	struct gz_reuse ru;
	uint32_t crc;
	int r;

	/* the list, then the tokens, in one buffer */
	lt.cap = lt.n = ln + tok->n;
	lt.p = malloc(lt.n + 1);
	memcpy(lt.p, list, ln);
	memcpy(lt.p + ln, tok->p, tok->n);
	ru.read = xbuf_read;
	ru.rctx = &lt;
	ru.list_base = 0;
	ru.list_len = ln;
	ru.tok_base = ln;
	ru.tok_count = ntok;
	ru.old_len = old_len;
	r = patch_gzenc_run(z, xbuf_read, (void *)u, 0, u->n, xbuf_write, &out, &ru, &crc);
	*field = z->field;
	ru_v.vals = z->f_vals;
	ru_v.e = z->f_exp;
	ru_v.g = z->f_got;
	if (r == 0 && (out.n != wn || memcmp(out.p, want, wn) != 0))
		r = -1;
	free(z);
	free(lt.p);
	free(out.p);
	return r;
}

static void put_rec(uint8_t *r, uint64_t n, uint64_t o, uint64_t len)
{
	si_put_le64(r, n);
	si_put_le64(r + 8, o);
	si_put_le64(r + 16, len);
}

/* The apply's side of an expansion with a reuse list (exp.c), in memory:
 * the member t.gz (gz_text's, of the text u) expanded, its symbols
 * written to the scratch; the same text with a list of one span made
 * again into exactly that member; a list that does not fit refused with
 * its field. */
static void gz_exp_reuse(const struct xbuf *u, uint64_t span)
{
	char path[300];
	size_t mn = 0;
	uint8_t *m;
	struct xbuf img, sc, out;
	struct patch_exp e;
	struct si_diag d;
	void *st = malloc(patch_exp_state_size(1u << PATCH_EXP_GZIP));

	snprintf(path, sizeof path, "%s/t.gz", dir);
	m = get_file(path, &mn);
	T_CHECK(m && st && mn > 18, "t.gz");
	if (!m || !st || mn <= 18) {
		free(m);
		free(st);
		return;
	}
	img.p = m;
	img.n = img.cap = mn;
	memset(&e, 0, sizeof e);
	e.kind = PATCH_EXP_GZIP;
	e.n_old = e.n_new = 1;
	e.old_ext[0].len = e.new_ext[0].len = mn;
	e.hdr_len = 10;
	memcpy(e.hdr, m, 10);
	e.reuse_len = 24;
	e.u_old_len = u->n;
	e.u_new_len = u->n + 24;
	e.scratch_new = u->n;
	e.scratch_tok = 2 * u->n + 24;
	sc.cap = e.scratch_tok + u->n * GZ_TOK_LEN;
	sc.p = calloc(1, sc.cap);
	sc.n = 0;
	out.cap = mn;
	out.p = calloc(1, mn);
	out.n = 0;
	si_diag_clear(&d);
	T_OK(patch_exp_expand(&e, st, xbuf_read, &img, xbuf_write, &sc, xbuf_read, &sc, &d));
	T_CHECK(e.tok_count > 0 && e.tok_count < u->n, "tokens: %llu",
		(unsigned long long)e.tok_count);
	memcpy(sc.p + e.scratch_new, u->p, u->n);
	put_rec(sc.p + e.scratch_new + u->n, 0, 0, span);
	sc.n = sc.cap;
	T_OK(patch_exp_make(&e, st, xbuf_read, &sc, xbuf_write, &out, &d));
	T_CHECK(out.n == mn && memcmp(out.p, m, mn) == 0, "the member made again differs");
	put_rec(sc.p + e.scratch_new + u->n, 0, 0, 0);
	si_diag_clear(&d);
	T_ERR(patch_exp_make(&e, st, xbuf_read, &sc, xbuf_write, &out, &d), SI_E_PATCH_EXPAND);
	T_STREQ(d.field ? d.field : "(none)", "exp.reuse.record");
	T_CHECK((d.flags & SI_DIAG_VALUES) && d.expected == 1 && d.found == 0,
		"an empty span: expected 1 byte, found 0");
	free(sc.p);
	free(out.p);
	free(m);
	free(st);
}

/* The inflate on gzip's own members of every block kind and match shape:
 * fixed codes (a short text), dynamic ones at -1 and -9, stored blocks
 * (random bytes), distances 1 and 3 (runs of one byte and of "ab\n", the
 * byte-at-a-time copy), long members (the output buffer flushed many
 * times, distances reaching back across a flush), members of several
 * kinds of block; each must give gzip's bytes, its CRC-32 and its length,
 * and refuse one byte too few of output room. */
static void test_gz_inflate(void)
{
	static const char *const cmds[] = {
		"printf 'hello, hello, hello world\\n'",
		"seq 1 200000",
		"seq 1 200000 | gzip -1",
		"head -c 300000 /dev/zero",
		"yes ab | head -c 300000",
		"head -c 150000 /dev/urandom; seq 1 50000; head -c 70000 /dev/urandom",
		"for i in 1 2 3; do seq $i 3 99999; head -c 40000 /dev/urandom; done",
	};
	static const char *const levels[] = { "-1n", "-9n" };
	char line[1024], gzp[300], rawp[300];
	size_t i, j;

	snprintf(gzp, sizeof gzp, "%s/i.gz", dir);
	snprintf(rawp, sizeof rawp, "%s/i.raw", dir);
	for (i = 0; i < SI_ARRAY_SIZE(cmds); i++) {
		for (j = 0; j < SI_ARRAY_SIZE(levels); j++) {
			struct patch_inflate *st = malloc(sizeof *st);
			struct xbuf in, u, tok;
			struct gz_tokens tk = { xbuf_write, &tok, 0, 0 };
			uint64_t used = 0, ol = 0;
			uint32_t crc = 0;
			size_t n = 0, rn = 0;
			uint8_t *m, *raw;

			snprintf(line, sizeof line, "{ %s; } > %s && gzip %s < %s > %s", cmds[i], rawp,
				 levels[j], rawp, gzp);
			m = system(line) == 0 ? get_file(gzp, &n) : NULL;
			raw = get_file(rawp, &rn);
			T_CHECK(m && raw && n >= 18, "%s: gzip failed", cmds[i]);
			if (!m || !raw || n < 18) {
				free(m);
				free(raw);
				free(st);
				continue;
			}
			in.p = m;
			in.n = n - 8;
			u.cap = rn;
			u.p = malloc(u.cap + 1);
			u.n = 0;
			tok.cap = (rn + 1) * GZ_TOK_LEN;
			tok.p = malloc(tok.cap);
			tok.n = 0;
			T_OK(patch_inflate_run(st, xbuf_read, &in, 10, n - 18, xbuf_write, &u, 0, rn, &tk,
					       &used, &ol, &crc));
			T_EQ(ol, rn);
			T_EQ(used, n - 18);
			T_EQ(crc, si_le32(m + n - 8));
			T_CHECK(u.n == rn && memcmp(u.p, raw, rn) == 0, "%s %s: other bytes", cmds[i],
				levels[j]);
			/* one byte less room: refused, whatever the last symbol */
			u.n = 0;
			T_ERR(patch_inflate_run(st, xbuf_read, &in, 10, n - 18, xbuf_write, &u, 0,
						rn - 1, NULL, &used, &ol, &crc),
			      SI_E_PATCH_EXPAND);
			free(u.p);
			free(tok.p);
			free(m);
			free(raw);
			free(st);
		}
	}
	/* the CRC-32 by eight bytes at a time, at every length and alignment
	 * up to 40: as one byte at a time ("123456789": 0xCBF43926) */
	{
		static const uint8_t nine[] = "123456789";
		uint8_t buf[48];
		size_t k, len, bad = 0;

		T_EQ(patch_crc32(0, nine, 9), 0xCBF43926u);
		for (k = 0; k < sizeof buf; k++)
			buf[k] = (uint8_t)(k * 37 + 11);
		for (k = 0; k < 8; k++)
			for (len = 0; k + len <= 40; len++) {
				uint32_t one = 0;
				size_t b;

				for (b = 0; b < len; b++)
					one = patch_crc32(one, buf + k + b, 1);
				bad += patch_crc32(0, buf + k, len) != one;
			}
		T_EQ(bad, 0);
	}
}

/* The reuse list: a member coded with the old member's symbols over spans
 * gives gzip -9's bytes exactly (the whole of an unchanged text, and a
 * text with a line added at its top, through the diff and the apply);
 * each malformed list is refused by its field. */
static void test_gz_reuse(void)
{
	struct patch_diff_opts o = { .seg_size = 65536, .level = 3, .threads = 2 };
	struct patch_diff_stats st;
	struct xbuf u, tok, tok2;
	uint8_t list[3 * 24], *s, *a, *b, *p = NULL;
	const char *f = NULL;
	size_t sn = 0, i, an = 0, bn = 0, pn = 0;
	uint64_t pos = 0, last_match_end = 0, inside = 0, mid = 0, ntok;

	s = gz_text("seq 1 30000", &sn, &u, &tok);
	T_CHECK(s != NULL, "gzip failed");
	if (!s)
		return;
	ntok = tok.n / GZ_TOK_LEN;
	for (i = 0; i < ntok; i++) {
		uint32_t t = si_le32(tok.p + i * GZ_TOK_LEN);

		if (GZ_TOK_IS_MATCH(t)) {
			if (!inside && pos > 100)
				inside = pos + 1; /* within a match */
			pos += GZ_TOK_MLEN(t);
			last_match_end = pos;
		} else {
			pos++;
		}
	}
	T_EQ(pos, u.n);
	/* the whole text with its own symbols, and without a list */
	put_rec(list, 0, 0, last_match_end);
	T_OK(gz_reuse_run(&u, list, 24, &tok, ntok, u.n, s, sn, &f));
	T_OK(gz_reuse_run(&u, list, 0, &tok, ntok, u.n, s, sn, &f));
	/* two spans, the second where the first ended (after a match) */
	for (i = 0, pos = 0; i < ntok && pos < u.n / 2; i++) {
		uint32_t t = si_le32(tok.p + i * GZ_TOK_LEN);

		pos += GZ_TOK_IS_MATCH(t) ? GZ_TOK_MLEN(t) : 1;
		if (GZ_TOK_IS_MATCH(t))
			mid = pos;
	}
	put_rec(list, 0, 0, mid);
	put_rec(list + 24, mid, mid, last_match_end - mid);
	T_OK(gz_reuse_run(&u, list, 48, &tok, ntok, u.n, s, sn, &f));
#define RU_REFUSED(ln, fld)                                                          	do {                                                                         		f = NULL;                                                            		T_ERR(gz_reuse_run(&u, list, ln, &tok, ntok, u.n, s, sn, &f),        		      SI_E_PATCH_EXPAND);                                            		T_STREQ(f ? f : "(none)", fld);                                      	} while (0)
#define RU_VALUES(want_e, want_g)                                                    \
	do {                                                                         \
		T_EQ(ru_v.vals, 1);                                                  \
		T_EQ(ru_v.e, (uint64_t)(want_e));                                    \
		T_EQ(ru_v.g, (uint64_t)(want_g));                                    \
	} while (0)
	RU_REFUSED(23, "exp.reuse.list_len");
	RU_VALUES(0, 23); /* whole records: 0 bytes, not 23 */
	put_rec(list, 0, 0, 0);
	RU_REFUSED(24, "exp.reuse.record"); /* empty */
	RU_VALUES(1, 0);
	put_rec(list, 1, 0, u.n);
	RU_REFUSED(24, "exp.reuse.record"); /* past the member */
	RU_VALUES(u.n, u.n + 1);
	put_rec(list, 0, 1, u.n);
	RU_REFUSED(24, "exp.reuse.record"); /* past the old member */
	RU_VALUES(u.n, u.n + 1);
	put_rec(list, 0, 0, mid);
	put_rec(list + 24, mid - 10, mid, 50);
	RU_REFUSED(48, "exp.reuse.record"); /* overlaps the one before */
	RU_VALUES(mid, mid - 10);
	put_rec(list, 0, inside, 50);
	RU_REFUSED(24, "exp.reuse.old_off"); /* inside an old match */
	T_EQ(ru_v.g, inside);
	T_CHECK(ru_v.e > inside, "the next symbol at %llu", (unsigned long long)ru_v.e);
	put_rec(list, 1, 1, 50);
	RU_REFUSED(24, "exp.reuse.new_off"); /* position 0 still pending */
	RU_VALUES(1, 0);
	put_rec(list, 0, 0, 1);
	RU_REFUSED(24, "exp.reuse.end"); /* ends on a literal */
	T_EQ(ru_v.vals, 0);
	put_rec(list, 0, 0, last_match_end);
	f = NULL;
	T_ERR(gz_reuse_run(&u, list, 24, &tok, ntok / 2, u.n, s, sn, &f), SI_E_PATCH_EXPAND);
	T_STREQ(f ? f : "(none)", "exp.reuse.tokens"); /* fewer tokens than the span */
	RU_VALUES(ntok / 2 + 1, ntok / 2);
	/* symbols that do not fit where they are put */
	tok2.cap = tok2.n = 2 * GZ_TOK_LEN;
	tok2.p = malloc(tok2.n);
	si_put_le32(tok2.p, 5u << 8 | 0); /* a match at position 0 */
	si_put_le32(tok2.p + 4, 1u << 8 | 0);
	put_rec(list, 0, 0, 3);
	f = NULL;
	T_ERR(gz_reuse_run(&u, list, 24, &tok2, 2, 6, s, sn, &f), SI_E_PATCH_EXPAND);
	T_STREQ(f ? f : "(none)", "exp.reuse.distance");
	RU_VALUES(0, 5); /* at position 0 no distance fits */
	si_put_le32(tok2.p, 'x');
	si_put_le32(tok2.p + 4, 1u << 8 | 255); /* 258 bytes: past the span */
	put_rec(list, 0, 0, 4);
	f = NULL;
	T_ERR(gz_reuse_run(&u, list, 24, &tok2, 2, 300, s, sn, &f), SI_E_PATCH_EXPAND);
	T_STREQ(f ? f : "(none)", "exp.reuse.length");
	RU_VALUES(3, 258); /* 3 bytes left of the span */
#undef RU_VALUES
#undef RU_REFUSED
	free(tok2.p);
	gz_exp_reuse(&u, last_match_end);
	free(s);
	free(u.p);
	free(tok.p);

	/* through the diff: a changelog with an entry added at its top */
	snprintf(p_tree, sizeof p_tree, "%s/tree", dir);
	a = erofs_of("a", "mkdir -p $T/doc && seq 1 30000 > $T/doc/changelog && "
			  "gzip -9n $T/doc/changelog", &an);
	b = erofs_of("b", "mkdir -p $T/doc && { echo 'a new entry'; seq 1 30000; } > "
			  "$T/doc/changelog && gzip -9n $T/doc/changelog", &bn);
	T_CHECK(a && b, "mkfs.erofs or gzip failed");
	if (a && b) {
		put_file(p_old, a, an);
		diff_apply(a, an, b, bn, p_old, &o, &p, &pn, &st);
		T_EQ(st.nexp, 1);
		T_EQ(st.gz_reuse, 1);
		put_file(p_new, b, bn);
		diff_apply(b, bn, a, an, p_new, &o, &p, &pn, &st); /* the line removed */
		T_EQ(st.gz_reuse, 1);
	}
	free(p);
	free(a);
	free(b);
	put_file(p_old, old_img, OLD_N);
	put_file(p_new, new_img, new_n);
	system_rm_tree();
}

/* An erofs image holding a kernel-like file: a header, an xz stream of
 * `data` (a shell pipeline) as the kernel's own build makes it (the x86
 * filter, then LZMA2), its size; `ver` names it as a kernel does. */
static uint8_t *mk_xz_erofs(const char *side, const char *ver, const char *data, size_t *n)
{
	char fill[1024];

	snprintf(fill, sizeof fill,
		 "mkdir -p $T/boot && { head -c 4096 /dev/zero | tr '\\0' H; %s | xz -T1 -c "
		 "--check=crc32 --x86 --lzma2=preset=6,dict=1MiB; printf SIZE; } > "
		 "$T/boot/vmlinuz-%s && printf 'same\\n' > $T/README",
		 data, ver);
	return erofs_of(side, fill, n);
}

/* An xz stream whose data changed a little: the diff carries its data and
 * parse (an expansion of kind 2), the apply codes it again into place;
 * its refusals; and streams whose data changed wholesale stay raw bytes
 * (the trial diff finds the split form no smaller). */
static void test_xz_expansions(void)
{
	struct patch_diff_opts o = { .seg_size = 65536, .level = 3, .threads = 2 };
	struct patch_diff_stats st;
	struct patch_info info;
	uint8_t *a, *b, *ra, *rb, *p = NULL, *q;
	size_t an = 0, bn = 0, ran = 0, rbn = 0, pn = 0, eoff;
	char scratch[300], path[300];

	snprintf(p_tree, sizeof p_tree, "%s/tree", dir);
	snprintf(scratch, sizeof scratch, "%s.scratch", p_out);
	a = mk_xz_erofs("a", "1.0", "seq 1 150000 | sed 's/^/line /'", &an);
	snprintf(path, sizeof path, "%s/boot/vmlinuz-1.0", p_tree);
	ra = get_file(path, &ran);
	b = mk_xz_erofs("b", "1.1", "seq 1 150000 | sed 's/^/line /; 7000s/$/ changed/; 90000d'",
			&bn);
	snprintf(path, sizeof path, "%s/boot/vmlinuz-1.1", p_tree);
	rb = get_file(path, &rbn);
	T_CHECK(a && b && ra && rb, "mkfs.erofs or xz failed");
	if (!a || !b || !ra || !rb) {
		free(a);
		free(b);
		free(ra);
		free(rb);
		return;
	}
	/* the files alone, raw images (a boot kernel collection is one): the
	 * same member found in them */
	put_file(p_old, ra, ran);
	diff_apply(ra, ran, rb, rbn, p_old, &o, &p, &pn, &st);
	T_EQ(st.nexp, 1);
	T_CHECK(pn < 40000, "raw xz patch of %zu bytes", pn);
	free(p);
	p = NULL;
	free(ra);
	free(rb);
	put_file(p_old, a, an);
	put_file(p_new, b, bn);
	T_OK(patch_diff(a, an, b, bn, &o, &p, &pn, &st, NULL));
	T_EQ(st.nexp, 1);
	T_EQ(st.xz_tried, 1);
	T_EQ(st.xz_split, 1);
	T_OK(patch_header_parse(p, pn, &info, NULL));
	eoff = PATCH_HDR_LEN + (size_t)info.nseg * PATCH_ENTRY_LEN + PATCH_TABLES_LEN;
	T_EQ(p[eoff], PATCH_EXP_XZ);
	/* a small change of the data is a small patch, unlike the stream's
	 * bytes, which change from the edit on */
	T_CHECK(pn < 40000, "xz patch of %zu bytes", pn);
	put_file(p_patch, p, pn);
	unlink(p_out);
	T_OK(apply(p_old, p_patch, NULL, 2, 0));
	check_out_is(b, bn);
	T_CHECK(!exists(scratch), "scratch file left behind");
	unlink(p_out);
	T_OK(apply(p_old, p_patch, NULL, 1, 0));
	check_out_is(b, bn);
	unlink(p_out);
	/* the old member's data length or place wrong: refused at its split,
	 * nothing published */
	q = malloc(pn);
	memcpy(q, p, pn);
	si_put_le64(q + eoff + 88, si_le64(p + eoff + 88) - 1);
	apply_refused(q, pn, &info, SI_E_PATCH_EXPAND, "a bad member");
	memcpy(q, p, pn);
	si_put_le64(q + eoff + 24, si_le64(p + eoff + 24) - 1); /* old extent a byte earlier */
	apply_refused(q, pn, &info, SI_E_PATCH_EXPAND, "a bad place");
	memcpy(q, p, pn);
	si_put_le64(q + eoff + 96, si_le64(p + eoff + 96) + 1); /* new data one byte longer */
	rehash(q, &info);
	put_file(p_patch, q, pn);
	T_CHECK(apply(p_old, p_patch, NULL, 2, 0) != 0, "a wrong new data length applied");
	T_CHECK(!exists(p_out) && !exists(p_part) && !exists(scratch), "output after a bad length");
	free(q);
	/* the reverse */
	diff_apply(b, bn, a, an, p_new, &o, &p, &pn, &st);
	T_EQ(st.nexp, 1);
	free(p);
	p = NULL;
	free(a);
	free(b);
	/* data that changed wholesale (a cipher's stream, two keys): raw */
	a = mk_xz_erofs("a", "1.0",
			"head -c 200000 /dev/zero | openssl enc -aes-128-ctr -nosalt "
			"-K 000102030405060708090a0b0c0d0e0f -iv 00000000000000000000000000000000",
			&an);
	b = mk_xz_erofs("b", "1.1",
			"head -c 200000 /dev/zero | openssl enc -aes-128-ctr -nosalt "
			"-K 0f0e0d0c0b0a09080706050403020100 -iv 00000000000000000000000000000000",
			&bn);
	T_CHECK(a && b, "mkfs.erofs, openssl or xz failed");
	if (a && b) {
		put_file(p_old, a, an);
		diff_apply(a, an, b, bn, p_old, &o, &p, &pn, &st);
		T_EQ(st.nexp, 0);
		T_EQ(st.xz_tried, 1); /* tried, and kept raw */
		T_EQ(st.xz_split, 0);
	}
	free(p);
	free(a);
	free(b);
	put_file(p_old, old_img, OLD_N);
	put_file(p_new, new_img, new_n);
	system_rm_tree();
}

static void system_rm_tree(void)
{
	char cmd[300];

	snprintf(cmd, sizeof cmd, "rm -rf %s", p_tree);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", p_tree);
}

static void test_resume(void)
{
	size_t pn, jn;
	uint8_t *p = mk_patch(old_img, OLD_N, new_img, new_n, 4096, &pn), *j;
	uint8_t *p2;
	size_t pn2;

	put_file(p_old, old_img, OLD_N);
	put_file(p_patch, p, pn);
	unlink(p_out);
	unlink(p_ckpt);
	T_ERR(apply(p_old, p_patch, p_ckpt, 2, 5), SI_E_PATCH_STOPPED);
	T_CHECK(!exists(p_out), "output published by an interrupted apply");
	T_CHECK(exists(p_part) && exists(p_ckpt), "interrupted apply kept no state");
	j = get_file(p_ckpt, &jn);
	T_CHECK(jn >= 5 * 40 && jn % 40 == 0, "journal length %zu", jn);
	/* a torn record at the tail is ignored */
	{
		int fd = open(p_ckpt, O_WRONLY | O_APPEND);
		T_EQ(write(fd, "SIJ1torn", 8), 8);
		close(fd);
	}
	T_ERR(apply(p_old, p_patch, p_ckpt, 1, 10), SI_E_PATCH_STOPPED);
	free(j);
	j = get_file(p_ckpt, &jn);
	T_CHECK(jn >= 15 * 40 && jn % 40 == 0, "journal length after resume %zu", jn);
	free(j);

	/* the journal of another patch is refused */
	p2 = mk_patch(old_img, OLD_N, old_img, OLD_N, 4096, &pn2);
	put_file(p_new, p2, pn2);
	T_ERR(apply(p_old, p_new, p_ckpt, 1, 0), SI_E_PATCH_JOURNAL);
	free(p2);
	put_file(p_new, new_img, new_n);

	/* a damaged .part segment named done is redone, not trusted */
	{
		int fd = open(p_part, O_WRONLY);
		T_EQ(pwrite(fd, "XXXX", 4, 0), 4);
		close(fd);
	}
	T_OK(apply(p_old, p_patch, p_ckpt, 2, 0));
	check_out_is(new_img, new_n);
	T_CHECK(!exists(p_ckpt), "journal left after success");
	free(p);
}

/* The CLI's hooks: the base through a read function (a partition read as
 * the file it was made from), the phase and resume in the progress
 * reports, diff's phases. */
struct mem_old {
	const uint8_t *p;
	size_t n;
	unsigned reads;
};

static int base_read(void *ctx, uint64_t off, uint8_t *buf, size_t len)
{
	struct mem_old *m = ctx;

	if (off > m->n || len > m->n - off)
		return SI_E_SHORT;
	memcpy(buf, m->p + off, len);
	m->reads++;
	return 0;
}

struct prog_log {
	unsigned calls[2];
	uint32_t last_done[2], total[2], resumed, resume_at;
};

static void prog_cb(void *ctx, const struct patch_progress *p)
{
	struct prog_log *l = ctx;

	l->calls[p->phase]++;
	l->last_done[p->phase] = p->done;
	l->total[p->phase] = p->total;
	l->resumed = p->resumed;
	l->resume_at = p->resume_at;
}

struct diff_log {
	unsigned calls[3];
	uint64_t last[3], total[3];
	int order_ok, last_phase;
};

static void diff_cb(void *ctx, enum patch_diff_phase ph, uint64_t done, uint64_t total)
{
	struct diff_log *l = ctx;

	if ((int)ph < l->last_phase)
		l->order_ok = 0;
	l->last_phase = (int)ph;
	l->calls[ph]++;
	l->last[ph] = done;
	l->total[ph] = total;
}

static void test_hooks(void)
{
	struct patch_diff_opts o = { .seg_size = 4096, .level = 3, .threads = 2 };
	struct diff_log dl = { { 0 }, { 0 }, { 0 }, 1, 0 };
	struct mem_old m = { old_img, OLD_N, 0 };
	struct prog_log pl;
	struct patch_apply_args a;
	struct si_diag d;
	uint8_t *p = NULL;
	size_t pn = 0;
	uint32_t nseg = (uint32_t)((new_n + 4095) / 4096);

	o.progress = diff_cb;
	o.pctx = &dl;
	T_OK(patch_diff(old_img, OLD_N, new_img, new_n, &o, &p, &pn, NULL, NULL));
	T_CHECK(dl.order_ok, "diff phases out of order");
	T_CHECK(dl.calls[0] == 2 && dl.last[0] == OLD_N, "sort phase: %u calls", dl.calls[0]);
	T_CHECK(dl.calls[1] >= 2 && dl.last[1] == new_n && dl.total[1] == new_n, "match phase");
	T_EQ(dl.calls[2], nseg);
	T_EQ(dl.last[2], nseg);
	put_file(p_patch, p, pn);
	unlink(p_old); /* the read function is the only base */
	unlink(p_ckpt);
	memset(&a, 0, sizeof a);
	memset(&pl, 0, sizeof pl);
	a.old_path = p_old;
	a.old_read = base_read;
	a.old_rctx = &m;
	a.old_size = OLD_N;
	a.patch_path = p_patch;
	a.out_path = p_out;
	a.checkpoint_path = p_ckpt;
	a.threads = 1;
	a.work = work;
	a.work_len = work_len;
	a.decode = patch_decode_zstd;
	a.progress = prog_cb;
	a.pctx = &pl;
	a.stop_after = 3;
	T_ERR(patch_apply_file(&a, &d), SI_E_PATCH_STOPPED);
	T_CHECK(m.reads > 0, "the read function was not used");
	/* a file's base is hashed whole only to explain a refusal */
	T_EQ(pl.calls[PATCH_PHASE_BASE], 0);
	T_EQ(pl.resumed, 0);
	memset(&pl, 0, sizeof pl);
	a.stop_after = 0;
	T_OK(patch_apply_file(&a, &d));
	T_EQ(pl.resumed, 3);
	T_EQ(pl.resume_at, 3); /* one thread: segments 0..2 were done */
	T_EQ(pl.last_done[PATCH_PHASE_SEGMENTS], nseg);
	check_out_is(new_img, new_n);
	/* a base of another size through the function: refused before writing */
	a.old_size = OLD_N - 1;
	unlink(p_out);
	T_ERR(patch_apply_file(&a, &d), SI_E_PATCH_BASE_SIZE);
	T_CHECK(!exists(p_out) && !exists(p_part), "output written for a wrong base");
	put_file(p_old, old_img, OLD_N);
	free(p);
}

/* Under ThreadSanitizer (make unit-tsan) the tests with xz members are
 * left out (the xz expansions', the raw images' members): the LZMA coder,
 * instrumented at every access, took 17 s of the 22, and the apply's
 * threads and waits are the same ones the gzip expansions' tests run; so
 * is the long runs' test (the diff's matching on one thread). */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define T_TSAN 1
#endif
#endif

int main(void)
{
	if (!mkdtemp(dir))
		return 2;
	snprintf(p_old, sizeof p_old, "%s/old", dir);
	snprintf(p_new, sizeof p_new, "%s/new", dir);
	snprintf(p_patch, sizeof p_patch, "%s/patch", dir);
	snprintf(p_out, sizeof p_out, "%s/out", dir);
	snprintf(p_part, sizeof p_part, "%s/out.part", dir);
	snprintf(p_ckpt, sizeof p_ckpt, "%s/ckpt", dir);
	work = malloc(work_len);
	make_images();
	test_header();
	test_seals();
	test_seg_run();
	test_seg_digest();
	test_seg_default();
	test_batch_search();
	test_sa_cuts();
	test_dfl_refusals();
	test_seg_keep_wait();
	test_refs();
	test_refs_skip();
	test_fill_runs();
	test_map_index();
	test_lit_filter();
	test_map_parse();
	test_roundtrip();
	test_refusals();
	test_resume();
	test_expansions();
	test_members_parallel();
	test_apply_window();
	test_zs_frames();
	test_zs_refusals();
	test_zstd_members();
	test_gz_inflate();
	test_gz_reuse();
#ifndef T_TSAN
	test_runs();
	test_raw_members();
	test_deflate_members();
	test_members_across();
	test_gz_trailers();
	test_xz_expansions();
#else
	(void)test_runs;
	(void)test_raw_members;
	(void)test_deflate_members;
	(void)test_members_across;
	(void)test_gz_trailers;
	(void)test_xz_expansions;
#endif
	test_hooks();
	free(work);
	free(old_img);
	free(new_img);
	unlink(p_old);
	unlink(p_new);
	unlink(p_patch);
	unlink(p_out);
	unlink(p_part);
	unlink(p_ckpt);
	rmdir(dir);
	return t_done("test_patch");
}
