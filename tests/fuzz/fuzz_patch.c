/* libFuzzer target: the patch parser and applier (patch/format.c, refs.c,
 * exp.c, gz.c, xz.c).  Input: u32 old_len (LE, capped), old image bytes, then the patch
 * file.  Runs what apply runs on a patch before and after its validation
 * line: header, index (hash, tiling, caps, expansions), the target map
 * stream, then in memory the apply's phases: every old member decompressed
 * (inflate; an xz member split), the expansions' segments, every new member
 * compressed again (the gzip encoder; an xz member joined), the image's segments (XADD's reference finders,
 * KEEP), each segment through the decoder (stored, or zstd through
 * patch/zstd.c as sealinit does) and the interpreter.  Segments larger than 256 KiB and
 * images or members larger than 1 MiB are skipped to keep runs fast; the
 * caps are the same code either way.  When the top bit of the u32 old_len
 * is set, the target rewrites new_digest and the index hash to match the
 * (mutated) index before the checks, so that mutations of header, index,
 * tables and expansion fields reach the checks behind the hash (STYLE:
 * fuzzers may bypass the authentication). */
#include <stdlib.h>
#include <string.h>

#include "patch/gz.h"
#include "patch/patch.h"
#include "patch/zstd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP (1u << 20)

struct mem {
	uint8_t *p;
	size_t n;
};

/* The source space: old image, then the scratch (old members first). */
struct space {
	const uint8_t *old;
	size_t old_len;
	const struct mem *scratch;
};

static int mem_read(void *ctx, uint64_t off, uint8_t *buf, size_t len)
{
	const struct mem *m = ctx;

	if (off > m->n || len > m->n - off)
		return SI_E_IO;
	memcpy(buf, m->p + off, len);
	return 0;
}

static int mem_write(void *ctx, uint64_t off, const uint8_t *buf, size_t len)
{
	struct mem *m = ctx;

	if (off > m->n || len > m->n - off)
		return SI_E_IO;
	memcpy(m->p + off, buf, len);
	return 0;
}

static int src_read(void *ctx, uint64_t off, uint8_t *buf, size_t len)
{
	const struct space *s = ctx;

	if (off < s->old_len) {
		size_t n = s->old_len - off < len ? s->old_len - (size_t)off : len;

		memcpy(buf, s->old + off, n);
		off += n;
		buf += n;
		len -= n;
	}
	return len ? mem_read((void *)s->scratch, off - s->old_len, buf, len) : 0;
}

/* sealinit's decoder: one context in memory of its own, kept across runs. */
static struct patch_zstd zd;
static void *zd_mem;

static void *decoder(void)
{
	size_t len = patch_zstd_mem(1);

	if (!zd_mem) {
		zd_mem = aligned_alloc(64, len);
		if (!zd_mem || patch_zstd_init(&zd, zd_mem, len, 1, 0, NULL) != 0)
			abort();
	}
	return &zd;
}

/* KEEP's reads wait for nothing here (the members are made before the
 * image's segments run), but through the apply's path: deferred to the
 * segment's end, the bytes before the first one hashed first. */
static int keep_ready(void *ctx)
{
	(void)ctx;
	return 0;
}

/* Runs segment i; its output goes to out (image) or the scratch. */
static int run_seg(const struct patch_info *info, const uint8_t *p, uint32_t i,
		   const struct patch_exp *exps, const struct patch_map *map, struct space *sp,
		   struct mem *out, struct mem *scratch, uint8_t *work, size_t wm)
{
	struct patch_seg s;
	struct patch_seg_env env;
	struct si_diag d;
	char line[512];
	size_t clen;
	int r;

	patch_index_entry(p, i, &s);
	patch_seg_place(info, exps, i, &env);
	env.map = map;
	env.read = src_read;
	env.rctx = sp;
	env.read_out = mem_read;
	env.octx = out;
	env.keep_wait = keep_ready;
	clen = (size_t)s.ctrl_clen + s.diff_clen + s.lit_clen;
	memcpy(work, p + info->header_len + s.payload_off, clen);
	si_diag_clear(&d);
	r = patch_seg_apply(info, &s, i, work, wm, patch_zstd_decode, decoder(), &env, &d);
	si_diag_format(&d, r, line, sizeof line);
	if (r)
		return r;
	if (env.exp < 0)
		return mem_write(out, env.out_off, work, env.len);
	return mem_write(scratch, exps[env.exp].scratch_new + env.out_off, work, env.len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *gz;
	struct patch_info info;
	struct si_diag d;
	const uint8_t *old, *p;
	size_t old_len, plen, wm;
	uint8_t *work = NULL, *fixed = NULL;
	struct patch_exp *exps = NULL;
	struct patch_map_piece *pieces = NULL;
	struct patch_map map = { NULL, 0, NULL, NULL, 0, 0 };
	uint32_t *blk = NULL;
	struct mem out = { NULL, 0 }, scratch = { NULL, 0 };
	struct space sp;
	char line[512];
	uint32_t i;
	int r;

	if (!gz && !(gz = aligned_alloc(64, (patch_exp_state_size(~0u) + 63) & ~(size_t)63)))
		return 0;
	if (size < 4)
		return 0;
	old_len = si_le32(data) & 0xffff;
	if (old_len > size - 4)
		return 0;
	old = data + 4;
	p = old + old_len;
	plen = size - 4 - old_len;
	si_diag_clear(&d);
	r = patch_header_parse(p, plen, &info, &d);
	si_diag_format(&d, r, line, sizeof line);
	if (r != 0 || info.seg_size > (256u << 10) || info.new_size > CAP)
		return 0;
	if ((data[3] & 0x80) && plen >= info.header_len) {
		struct patch_hash nh;

		fixed = malloc(plen);
		if (!fixed)
			return 0;
		memcpy(fixed, p, plen);
		patch_hash_init(&nh);
		for (i = 0; i < info.nseg; i++)
			patch_hash_update(&nh, fixed + PATCH_HDR_LEN + (size_t)i * PATCH_ENTRY_LEN + 40,
					  PATCH_HASH_LEN);
		patch_hash_final(&nh, fixed + 80);
		memcpy(info.new_digest, fixed + 80, PATCH_HASH_LEN);
		patch_hash(fixed, info.header_len - PATCH_HASH_LEN,
			   fixed + info.header_len - PATCH_HASH_LEN);
		p = fixed;
	}
	si_diag_clear(&d);
	r = patch_index_check(p, plen, &info, plen, &d);
	si_diag_format(&d, r, line, sizeof line);
	if (r != 0 || info.old_size != old_len)
		goto out;
	patch_info_complete(p, &info);
	if (info.exp_total > CAP)
		goto out;
	/* Validated: the index is trusted structurally from here. */
	wm = patch_worker_mem(info.seg_size);
	work = malloc(wm);
	exps = calloc(info.nexp + 1, sizeof *exps);
	pieces = calloc(info.map_count + 1, sizeof *pieces);
	out.n = info.new_size;
	out.p = calloc(1, out.n + 1);
	scratch.n = info.exp_total;
	scratch.p = calloc(1, scratch.n + 1);
	if (!work || !exps || !pieces || !out.p || !scratch.p)
		goto out;
	for (i = 0; i < info.nexp; i++)
		patch_exp_get(p, &info, i, &exps[i]);
	if (info.map_count) {
		/* the apply decodes the map in a worker's buffers */
		uint8_t *raw = work + info.seg_size + PATCH_CTRL_MAX(info.seg_size);

		memcpy(work, p + info.header_len, info.map_clen);
		r = patch_zstd_decode(decoder(), info.map_codec, work, info.map_clen, raw,
				      info.map_len);
		if (r == 0)
			r = patch_map_parse(raw, info.map_len, &info, pieces, &d);
		si_diag_format(&d, r, line, sizeof line);
		if (r)
			goto out;
		map.v = pieces;
		map.n = info.map_count;
		blk = malloc(patch_map_index_len(info.old_size, info.map_count) * sizeof *blk);
		if (!blk)
			goto out;
		patch_map_index(&map, info.old_size, blk);
	}
	sp.old = old;
	sp.old_len = old_len;
	sp.scratch = &scratch;
	{
		struct mem o = { (uint8_t *)old, old_len };

		for (i = 0; i < info.nexp; i++) {
			si_diag_clear(&d);
			r = patch_exp_expand(&exps[i], gz, mem_read, &o, mem_write, &scratch, mem_read,
					     &scratch, &d);
			si_diag_format(&d, r, line, sizeof line);
			if (r)
				goto out;
		}
	}
	for (i = info.nseg_image; i < info.nseg; i++)
		if (run_seg(&info, p, i, exps, &map, &sp, &out, &scratch, work, wm))
			goto out;
	for (i = 0; i < info.nexp; i++) {
		si_diag_clear(&d);
		r = patch_exp_make(&exps[i], gz, mem_read, &scratch, mem_write, &out, &d);
		si_diag_format(&d, r, line, sizeof line);
		if (r)
			goto out;
	}
	for (i = 0; i < info.nseg_image; i++)
		if (run_seg(&info, p, i, exps, &map, &sp, &out, &scratch, work, wm))
			break;
out:
	free(work);
	free(exps);
	free(pieces);
	free(blk);
	free(out.p);
	free(scratch.p);
	free(fixed);
	return 0;
}
