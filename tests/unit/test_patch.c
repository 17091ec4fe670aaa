/* Unit tests for patch/: header and index validation, the segment
 * interpreter, diff + apply round trips, refusal of bad patches and bases
 * without leaving output, checkpoint resume. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/bytes.h"
#include "patch/diff.h"
#include "patch/patch.h"
#include "tests/unit/t.h"

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
	MUT(si_put_le32(b + 8, 2), SI_E_PATCH_VERSION);
	MUT(si_put_le32(b + 16, 1), SI_E_PATCH_FIELD);
	MUT(si_put_le32(b + 28, 1), SI_E_PATCH_FIELD);
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

static void test_seg_run(void)
{
	static const uint8_t old[16] = "0123456789abcdef";
	uint8_t out[16];
	struct si_diag d;
	/* headers: COPY 4, ADD 2, LIT 3, ZERO 7; deltas: +8 (zig-zag 16) to
	 * copy from 8, -12 (zig-zag 23) to add from 0 */
	static const uint8_t ok[] = { 4, 4 << 2 | 0, 2 << 2 | 1, 3 << 2 | 2, 7 << 2 | 3, 16, 23 };
	static const uint8_t diff[2] = { 1, 0xff }, lit[3] = "xyz";

	si_diag_clear(&d);
	T_OK(patch_seg_run(ok, sizeof ok, diff, 2, lit, 3, 0, 16, mem_read, (void *)old, out,
			   16, &d));
	T_MEMEQ(out, "89ab" "10" "xyz\0\0\0\0\0\0\0", 16);
	/* one byte short of the segment; one past it */
	T_ERR(patch_seg_run(ok, sizeof ok, diff, 2, lit, 3, 0, 16, mem_read, (void *)old, out, 17,
			    NULL),
	      SI_E_PATCH_OP);
	T_ERR(patch_seg_run(ok, sizeof ok, diff, 2, lit, 3, 0, 16, mem_read, (void *)old, out, 15,
			    NULL),
	      SI_E_PATCH_OVERRUN);
	{
		static const uint8_t big[] = { 5, 0xfc, 0xff, 0xff, 0xff, 0x0f }; /* ZERO 2^32-1 */
		T_ERR(patch_seg_run(big, sizeof big, NULL, 0, NULL, 0, 0, 16, mem_read,
				    (void *)old, out, 16, NULL),
		      SI_E_PATCH_OVERRUN);
	}
	{
		static const uint8_t src_out[] = { 1, 4 << 2 | 0, 26 }; /* COPY 4 from 13 */
		T_ERR(patch_seg_run(src_out, sizeof src_out, NULL, 0, NULL, 0, 0, 16, mem_read,
				    (void *)old, out, 4, NULL),
		      SI_E_PATCH_OP);
	}
	{
		static const uint8_t neg[] = { 1, 4 << 2 | 0, 1 }; /* COPY 4 from -1 */
		T_ERR(patch_seg_run(neg, sizeof neg, NULL, 0, NULL, 0, 0, 16, mem_read,
				    (void *)old, out, 4, NULL),
		      SI_E_PATCH_OP);
	}
	{
		static const uint8_t zlen[] = { 1, 0 << 2 | 3 };
		static const uint8_t trunc[] = { 1, 4 << 2 | 0 };
		static const uint8_t longv[] = { 11, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
						 0x80, 0x80, 0x80, 0x80, 0x01 };
		static const uint8_t hlen[] = { 3, 4 << 2 | 3 };
		static const uint8_t extra[] = { 1, 4 << 2 | 3, 0 };
		T_ERR(patch_seg_run(zlen, sizeof zlen, NULL, 0, NULL, 0, 0, 16, mem_read,
				    (void *)old, out, 4, NULL),
		      SI_E_PATCH_OP);
		T_ERR(patch_seg_run(trunc, sizeof trunc, NULL, 0, NULL, 0, 0, 16, mem_read,
				    (void *)old, out, 4, NULL),
		      SI_E_PATCH_OP);
		T_ERR(patch_seg_run(hlen, sizeof hlen, NULL, 0, NULL, 0, 0, 16, mem_read,
				    (void *)old, out, 4, NULL),
		      SI_E_PATCH_OP);
		T_ERR(patch_seg_run(extra, sizeof extra, NULL, 0, NULL, 0, 0, 16, mem_read,
				    (void *)old, out, 4, NULL),
		      SI_E_PATCH_OP);
		T_OK(patch_seg_run(extra, sizeof extra - 1, NULL, 0, NULL, 0, 0, 16, mem_read,
				   (void *)old, out, 4, NULL));
		T_ERR(patch_seg_run(longv, sizeof longv, NULL, 0, NULL, 0, 0, 16, mem_read,
				    (void *)old, out, 4, NULL),
		      SI_E_PATCH_OP);
	}
	/* diff or literal bytes missing, or left over */
	T_ERR(patch_seg_run(ok, sizeof ok, diff, 1, lit, 3, 0, 16, mem_read, (void *)old, out, 16,
			    NULL),
	      SI_E_PATCH_OP);
	T_ERR(patch_seg_run(ok, sizeof ok, diff, 2, lit, 2, 0, 16, mem_read, (void *)old, out, 16,
			    NULL),
	      SI_E_PATCH_OP);
	T_ERR(patch_seg_run(ok, sizeof ok - 1, diff, 2, lit, 3, 0, 16, mem_read, (void *)old, out,
			    16, NULL),
	      SI_E_PATCH_OP);
	{
		static const uint8_t lit_extra[4] = "xyzw";
		T_ERR(patch_seg_run(ok, sizeof ok, diff, 2, lit_extra, 4, 0, 16, mem_read,
				    (void *)old, out, 16, NULL),
		      SI_E_PATCH_OP);
	}
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
	o2[OLD_N / 2] ^= 1; /* another base, same size */
	put_file(p_new, o2, OLD_N);
	T_ERR(apply(p_new, p_patch, NULL, 2, 0), SI_E_PATCH_BASE_HASH);
	T_CHECK(!exists(p_out) && !exists(p_part), "output left after wrong base");
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

		work_len = patch_apply_mem(&info, 1) - 1;
		T_ERR(apply(p_old, p_patch, NULL, 2, 0), SI_E_NOMEM);
		work_len = patch_apply_mem(&info, 1);
		T_OK(apply(p_old, p_patch, NULL, 4, 0));
		check_out_is(new_img, new_n);
		work_len = keep;
	}
	T_ERR(apply("/nonexistent/old", p_patch, NULL, 2, 0), SI_E_OPEN);
	free(p);
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
	T_EQ(pl.calls[PATCH_PHASE_BASE], (OLD_N + 4095) / 4096);
	T_EQ(pl.total[PATCH_PHASE_BASE], (OLD_N + 4095) / 4096);
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
	test_roundtrip();
	test_refusals();
	test_resume();
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
