/* libFuzzer target: the patch parser and applier (patch/format.c).
 * Input: u32 old_len (LE, capped), old image bytes, then the patch file.
 * Runs what apply runs on a patch before and after its validation line:
 * header, index (hash, tiling, caps), then every segment through the
 * decoder (stored, or zstd through patch/zstd.c as sealinit does) and the
 * interpreter, with the old image in memory.  Segments larger than 256 KiB
 * are skipped to keep runs fast; the caps are the same code either way.
 * When the top bit of the u32 old_len is set, the target rewrites
 * new_digest and the index hash to match the (mutated) index before the
 * checks, so that mutations of header and index fields reach the checks
 * behind the hash (STYLE: fuzzers may bypass the authentication). */
#include <stdlib.h>
#include <string.h>

#include "patch/patch.h"
#include "patch/zstd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int mem_read(void *ctx, uint64_t off, uint8_t *buf, size_t len)
{
	memcpy(buf, (const uint8_t *)ctx + off, len);
	return 0;
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct patch_info info;
	struct si_diag d;
	const uint8_t *old, *p;
	size_t old_len, plen, wm;
	uint8_t *work, *fixed = NULL;
	char line[512];
	uint32_t i;
	int r;

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
	if (r != 0 || info.seg_size > (256u << 10))
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
	r = patch_index_check(p, plen, &info, plen, &d);
	si_diag_format(&d, r, line, sizeof line);
	if (r != 0 || info.old_size != old_len) {
		free(fixed);
		return 0;
	}
	/* Validated: the index is trusted structurally from here. */
	wm = patch_worker_mem(info.seg_size);
	work = malloc(wm);
	if (!work) {
		free(fixed);
		return 0;
	}
	for (i = 0; i < info.nseg; i++) {
		struct patch_seg s;
		size_t clen;

		patch_index_entry(p, i, &s);
		clen = (size_t)s.ctrl_clen + s.diff_clen + s.lit_clen;
		memcpy(work, p + info.header_len + s.payload_off, clen);
		si_diag_clear(&d);
		r = patch_seg_apply(&info, &s, i, work, wm, patch_zstd_decode, decoder(), mem_read,
				    (void *)old, &d);
		si_diag_format(&d, r, line, sizeof line);
		if (r != 0)
			break;
	}
	free(work);
	free(fixed);
	return 0;
}
