/* sealinit patch/: the patch header and index parser, and the segment
 * interpreter.  Pure: bytes in, validated struct out; the old image is read
 * through a callback and streams are decoded through another.  The wire
 * format is drawn in patch/patch.h. */
#include <pthread.h>
#include <string.h>

#include "lib/bytes.h"
#include "patch/patch.h"

static int fail(struct si_diag *d, int err, const char *field, uint64_t off)
{
	si_diag_field(d, field);
	si_diag_offset(d, off);
	return err;
}

static int fail_v(struct si_diag *d, int err, const char *field, uint64_t off,
		  uint64_t expected, uint64_t found)
{
	si_diag_values(d, expected, found);
	return fail(d, err, field, off);
}

static int all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	size_t i;

	for (i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* Varints: 7 bits a byte, low group first, at most 10 bytes, no bits past
 * the 64th. */
static int varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *v)
{
	uint64_t r = 0;
	unsigned shift = 0;

	for (;;) {
		uint8_t b;

		if (*pos >= len)
			return -1;
		b = p[(*pos)++];
		if (shift == 63 && (b & 0x7e))
			return -1;
		r |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			break;
		shift += 7;
		if (shift > 63)
			return -1;
	}
	*v = r;
	return 0;
}

uint32_t patch_seg_len(const struct patch_info *info, uint32_t i)
{
	uint64_t off = (uint64_t)i * info->seg_size;
	uint64_t rest = info->new_size - off;

	return rest < info->seg_size ? (uint32_t)rest : info->seg_size;
}

/* Offsets of the sections after the index, for a parsed header. */
static size_t tables_off(const struct patch_info *info)
{
	return PATCH_HDR_LEN + (size_t)info->nseg * PATCH_ENTRY_LEN +
	       (info->has_seals ? PATCH_SEALS_LEN : 0);
}

static size_t exp_off(const struct patch_info *info, uint32_t k)
{
	return tables_off(info) + PATCH_TABLES_LEN + (size_t)k * PATCH_EXP_LEN;
}

size_t patch_exp_table_off(const struct patch_info *info)
{
	return exp_off(info, 0);
}

uint8_t patch_exp_kinds(const uint8_t *table, uint32_t nexp)
{
	uint8_t kinds = 0;
	uint32_t k;

	for (k = 0; k < nexp; k++)
		if (table[(size_t)k * PATCH_EXP_LEN] < 8)
			kinds |= (uint8_t)(1u << table[(size_t)k * PATCH_EXP_LEN]);
	return kinds;
}

int patch_header_parse(const uint8_t *buf, size_t len, struct patch_info *out,
		       struct si_diag *d)
{
	struct patch_info in;
	uint32_t ver, flags;
	uint64_t nseg, hl;

	/* Length before magic, magic before version, version before the rest. */
	if (len < PATCH_HDR_LEN)
		return fail_v(d, SI_E_PATCH_TRUNCATED, "patch.header", 0, PATCH_HDR_LEN, len);
	if (memcmp(buf, PATCH_MAGIC, 8) != 0) {
		si_diag_bytes(d, (const uint8_t *)PATCH_MAGIC, buf, 8);
		return fail(d, SI_E_PATCH_MAGIC, "patch.magic", 0);
	}
	ver = si_le32(buf + 8);
	if (ver != PATCH_VERSION)
		return fail_v(d, SI_E_PATCH_VERSION, "patch.version", 8, PATCH_VERSION, ver);
	memset(&in, 0, sizeof in);
	in.header_len = si_le32(buf + 12);
	flags = si_le32(buf + 16);
	in.seg_size = si_le32(buf + 20);
	in.nseg = si_le32(buf + 24);
	in.nexp = si_le32(buf + 28);
	in.old_size = si_le64(buf + 32);
	in.new_size = si_le64(buf + 40);
	memcpy(in.old_digest, buf + 48, PATCH_HASH_LEN);
	memcpy(in.new_digest, buf + 80, PATCH_HASH_LEN);
	in.payload_len = si_le64(buf + 112);
	in.map_count = si_le32(buf + 120);
	in.map_clen = si_le32(buf + 124);

	if (flags & ~PATCH_FLAG_SEALS)
		return fail_v(d, SI_E_PATCH_FIELD, "patch.flags", 16, PATCH_FLAG_SEALS, flags);
	in.has_seals = (flags & PATCH_FLAG_SEALS) != 0;
	if (in.seg_size < PATCH_SEG_MIN || (in.seg_size & (in.seg_size - 1)) != 0)
		return fail_v(d, SI_E_PATCH_FIELD, "patch.seg_size", 20, PATCH_SEG_MIN, in.seg_size);
	if (in.seg_size > PATCH_SEG_MAX)
		return fail_v(d, SI_E_PATCH_LIMIT, "patch.seg_size", 20, PATCH_SEG_MAX, in.seg_size);
	if (in.nexp > CONFIG_PATCH_MAX_EXPANSIONS)
		return fail_v(d, SI_E_PATCH_LIMIT, "patch.nexp", 28, CONFIG_PATCH_MAX_EXPANSIONS,
			      in.nexp);
	if (in.map_count > CONFIG_PATCH_MAP_MAX)
		return fail_v(d, SI_E_PATCH_LIMIT, "patch.map_count", 120, CONFIG_PATCH_MAP_MAX,
			      in.map_count);
	/* The image's segments: ceil(new_size / seg_size), without overflow;
	 * the expansions add theirs (checked with the index). */
	nseg = in.new_size / in.seg_size + (in.new_size % in.seg_size != 0);
	if (nseg > in.nseg || (in.nexp == 0 && nseg != in.nseg))
		return fail_v(d, SI_E_PATCH_FIELD, "patch.nseg", 24, nseg, in.nseg);
	if (in.nseg > CONFIG_PATCH_MAX_SEGMENTS)
		return fail_v(d, SI_E_PATCH_LIMIT, "patch.nseg", 24, CONFIG_PATCH_MAX_SEGMENTS,
			      in.nseg);
	in.nseg_image = (uint32_t)nseg;
	hl = PATCH_HDR_LEN + (uint64_t)in.nseg * PATCH_ENTRY_LEN +
	     (in.has_seals ? PATCH_SEALS_LEN : 0) + PATCH_TABLES_LEN +
	     (uint64_t)in.nexp * PATCH_EXP_LEN + PATCH_HASH_LEN;
	if (hl != in.header_len)
		return fail_v(d, SI_E_PATCH_FIELD, "patch.header_len", 12, hl, in.header_len);
	*out = in;
	return 0;
}

void patch_seals_get(const uint8_t *hdr, const struct patch_info *info,
		     struct patch_seals *out)
{
	const uint8_t *p = hdr + PATCH_HDR_LEN + (size_t)info->nseg * PATCH_ENTRY_LEN;

	memcpy(out->base_manifest, p, 32);
	memcpy(out->base_root, p + 32, 32);
	memcpy(out->target_manifest, p + 64, 32);
	memcpy(out->target_root, p + 96, 32);
}

void patch_index_entry(const uint8_t *hdr, uint32_t i, struct patch_seg *out)
{
	const uint8_t *e = hdr + PATCH_HDR_LEN + (size_t)i * PATCH_ENTRY_LEN;

	out->payload_off = si_le64(e);
	out->codec = e[8];
	out->arch = e[9];
	out->diff_mode = e[10];
	out->lit_filter = e[11];
	out->lit_bits = e[12];
	out->ctrl_len = si_le32(e + 16);
	out->diff_len = si_le32(e + 20);
	out->lit_len = si_le32(e + 24);
	out->ctrl_clen = si_le32(e + 28);
	out->diff_clen = si_le32(e + 32);
	out->lit_clen = si_le32(e + 36);
	memcpy(out->sha256, e + 40, PATCH_HASH_LEN);
}

static uint64_t segs_of(uint64_t len, uint32_t seg)
{
	return len / seg + (len % seg != 0);
}

/* The raw fields of expansion k (no derived ones). */
static void exp_raw(const uint8_t *hdr, const struct patch_info *info, uint32_t k,
		    struct patch_exp *out)
{
	const uint8_t *e = hdr + exp_off(info, k);
	unsigned j;

	memset(out, 0, sizeof *out);
	out->kind = e[0];
	out->n_old = e[1];
	out->n_new = e[2];
	out->hdr_len = e[3];
	out->u_old_len = si_le64(e + 8);
	out->u_new_len = si_le64(e + 16);
	for (j = 0; j < 2; j++) {
		out->old_ext[j].off = si_le64(e + 24 + 16 * j);
		out->old_ext[j].len = si_le64(e + 32 + 16 * j);
		out->new_ext[j].off = si_le64(e + 56 + 16 * j);
		out->new_ext[j].len = si_le64(e + 64 + 16 * j);
	}
	memcpy(out->hdr, e + 88, 32);
	if (out->kind == PATCH_EXP_GZIP)
		out->reuse_len = si_le32(e + 4);
	if (out->kind == PATCH_EXP_XZ || out->kind == PATCH_EXP_DEFLATE || out->kind == PATCH_EXP_ZSTD) {
		out->data_old = si_le64(e + 88);
		out->data_new = si_le64(e + 96);
	}
}

void patch_exp_get(const uint8_t *hdr, const struct patch_info *info, uint32_t k,
		   struct patch_exp *out)
{
	uint64_t src = info->old_size, sc_old = 0, sc_new = 0, sc_tok = 0, seg = info->nseg_image;
	uint32_t j;
	struct patch_exp e;

	/* The old members first, in order, then the new ones: in the source
	 * space (after the old image) and in the scratch file alike; in the
	 * scratch, the tokens of the old members whose new ones reuse them
	 * last (at most one token per byte). */
	for (j = 0; j < info->nexp; j++) {
		exp_raw(hdr, info, j, &e);
		sc_new += e.u_old_len;
		sc_tok += e.u_old_len + e.u_new_len;
	}
	for (j = 0; j <= k; j++) {
		exp_raw(hdr, info, j, &e);
		if (j == k)
			break;
		src += e.u_old_len;
		sc_old += e.u_old_len;
		sc_new += e.u_new_len;
		if (e.reuse_len)
			sc_tok += e.u_old_len * PATCH_EXP_TOK_LEN;
		seg += segs_of(e.u_new_len, info->seg_size);
	}
	*out = e;
	out->src_base = src;
	out->scratch_old = sc_old;
	out->scratch_new = sc_new;
	out->scratch_tok = sc_tok;
	out->seg_first = (uint32_t)seg;
}

void patch_info_complete(const uint8_t *hdr, struct patch_info *info)
{
	const uint8_t *t = hdr + tables_off(info);
	uint64_t src = info->old_size, tot = 0;
	uint32_t k;

	info->map_len = si_le32(t);
	info->map_codec = t[4];
	info->exp_kinds = patch_exp_kinds(hdr + exp_off(info, 0), info->nexp);
	for (k = 0; k < info->nexp; k++) {
		struct patch_exp e;

		exp_raw(hdr, info, k, &e);
		src += e.u_old_len;
		tot += e.u_old_len + e.u_new_len;
		if (e.reuse_len)
			tot += e.u_old_len * PATCH_EXP_TOK_LEN;
	}
	info->src_size = src;
	info->exp_total = tot;
}

/* Extents of one side of an expansion: 1..n, non-empty, inside the image. */
static int ext_check(const struct patch_ext *x, unsigned n, uint64_t size, uint64_t *total)
{
	unsigned j;

	*total = 0;
	if (n < 1 || n > 2)
		return -1;
	for (j = 0; j < 2; j++) {
		if (j >= n) {
			if (x[j].off || x[j].len)
				return -1;
			continue;
		}
		if (x[j].len == 0 || !si_span_ok(x[j].off, x[j].len, size))
			return -1;
		*total += x[j].len;
	}
	return 0;
}

/* The tables block and the expansions: each field in range, the members'
 * segments adding up to nseg.  New extents may overlap or come in any
 * order: what a member writes is only ever used through the image's
 * segments, whose hashes check every byte. */
static int exps_check(const uint8_t *buf, const struct patch_info *info, struct si_diag *d)
{
	const uint8_t *t = buf + tables_off(info);
	uint64_t nseg = info->nseg_image, src = info->old_size;
	uint32_t k;

	if (t[4] != PATCH_CODEC_STORED && t[4] != PATCH_CODEC_ZSTD)
		return fail_v(d, SI_E_PATCH_CODEC, "patch.tables.map_codec", tables_off(info) + 4,
			      PATCH_CODEC_ZSTD, t[4]);
	if (!all_zero(t + 5, PATCH_TABLES_LEN - 5))
		return fail(d, SI_E_PATCH_FIELD, "patch.tables.reserved", tables_off(info) + 5);
	/* every piece is three varints of at most 10 bytes */
	if (si_le32(t) > (uint64_t)info->map_count * 30 || (info->map_count && !si_le32(t)))
		return fail_v(d, SI_E_PATCH_FIELD, "patch.tables.map_len", tables_off(info),
			      (uint64_t)info->map_count * 30, si_le32(t));
	if (t[4] == PATCH_CODEC_STORED && si_le32(t) != info->map_clen)
		return fail_v(d, SI_E_PATCH_FIELD, "patch.map_clen", 124, si_le32(t),
			      info->map_clen);
	if (info->map_clen > info->payload_len)
		return fail_v(d, SI_E_PATCH_TRUNCATED, "patch.map_clen", 124, info->payload_len,
			      info->map_clen);
	/* the apply reads and decodes the map in a worker's buffers */
	if (info->map_clen > (uint64_t)info->seg_size + PATCH_CTRL_MAX(info->seg_size) ||
	    si_le32(t) > info->seg_size)
		return fail_v(d, SI_E_PATCH_LIMIT, "patch.map_len", tables_off(info),
			      info->seg_size, si_le32(t));
	for (k = 0; k < info->nexp; k++) {
		struct patch_exp e;
		uint64_t off = exp_off(info, k), old_tot, new_tot;
		const uint8_t *raw = buf + off;

		exp_raw(buf, info, k, &e);
		if (e.kind < PATCH_EXP_GZIP || e.kind > PATCH_EXP_ZSTD)
			return fail_v(d, SI_E_PATCH_FIELD, "patch.exp.kind", off, PATCH_EXP_ZSTD,
				      e.kind);
		if (e.kind == PATCH_EXP_GZIP &&
		    (e.hdr_len < 10 || e.hdr_len > 32 || e.hdr[0] != 0x1f || e.hdr[1] != 0x8b ||
		     e.hdr[2] != 8))
			return fail_v(d, SI_E_PATCH_FIELD, "patch.exp.hdr", off + 3, 10, e.hdr_len);
		/* an xz, deflate or zstd member: no header; the data lengths,
		 * then zeros */
		if (e.kind != PATCH_EXP_GZIP &&
		    (e.hdr_len != 0 || e.data_old > e.u_old_len || e.data_new > e.u_new_len))
			return fail_v(d, SI_E_PATCH_FIELD, "patch.exp.hdr", off + 88, e.u_new_len,
				      e.data_new);
		/* a gzip member's reuse list: whole records, inside its
		 * decompressed bytes */
		if (e.kind == PATCH_EXP_GZIP &&
		    (e.reuse_len % PATCH_EXP_REUSE_REC != 0 || e.reuse_len > e.u_new_len))
			return fail_v(d, SI_E_PATCH_FIELD, "patch.exp.reuse_len", off + 4,
				      e.u_new_len, e.reuse_len);
		if ((e.kind != PATCH_EXP_GZIP && si_le32(raw + 4) != 0) || si_le64(raw + 120) != 0 ||
		    (e.kind == PATCH_EXP_GZIP && !all_zero(e.hdr + e.hdr_len, 32u - e.hdr_len)) ||
		    (e.kind != PATCH_EXP_GZIP && !all_zero(e.hdr + 16, 16)))
			return fail(d, SI_E_PATCH_FIELD, "patch.exp.reserved", off + 4);
		if (ext_check(e.old_ext, e.n_old, info->old_size, &old_tot) != 0)
			return fail(d, SI_E_PATCH_FIELD, "patch.exp.old_ext", off + 24);
		if (ext_check(e.new_ext, e.n_new, info->new_size, &new_tot) != 0)
			return fail(d, SI_E_PATCH_FIELD, "patch.exp.new_ext", off + 56);
		/* a gzip member is at least its header, an empty stream and a
		 * trailer; an xz stream its header, an index and its footer; a
		 * deflate member a zlib header, an empty block and a trailer; a
		 * zstd frame its magic, a header of two bytes and a block's */
		if (e.kind == PATCH_EXP_GZIP ? old_tot < 18 || new_tot < (uint64_t)e.hdr_len + 10
		    : e.kind == PATCH_EXP_XZ ? old_tot < 32 || new_tot < 32
		    : e.kind == PATCH_EXP_ZSTD ? old_tot < 9 || new_tot < 9
					       : old_tot < 8 || new_tot < 8)
			return fail(d, SI_E_PATCH_FIELD, "patch.exp.ext_len", off + 24);
		if (e.u_old_len > PATCH_EXPAND_MAX || e.u_new_len > PATCH_EXPAND_MAX)
			return fail_v(d, SI_E_PATCH_LIMIT, "patch.exp.u_len", off + 8,
				      PATCH_EXPAND_MAX,
				      e.u_old_len > e.u_new_len ? e.u_old_len : e.u_new_len);
		if (si_add_u64(src, e.u_old_len, &src) != 0)
			return fail(d, SI_E_PATCH_FIELD, "patch.exp.u_old_len", off + 8);
		nseg += segs_of(e.u_new_len, info->seg_size);
	}
	if (nseg != info->nseg)
		return fail_v(d, SI_E_PATCH_FIELD, "patch.nseg", 24, nseg, info->nseg);
	return 0;
}

int patch_index_check(const uint8_t *buf, size_t len, const struct patch_info *info,
		      uint64_t total_len, struct si_diag *d)
{
	uint8_t h[PATCH_HASH_LEN];
	struct patch_hash nh;
	uint64_t expect_off, file_len;
	uint32_t i;
	int r;

	if (len < info->header_len)
		return fail_v(d, SI_E_PATCH_TRUNCATED, "patch.index", len, info->header_len, len);
	patch_hash(buf, info->header_len - PATCH_HASH_LEN, h);
	if (si_ct_memcmp(h, buf + info->header_len - PATCH_HASH_LEN, PATCH_HASH_LEN) != 0) {
		si_diag_bytes(d, h, buf + info->header_len - PATCH_HASH_LEN, PATCH_HASH_LEN);
		return fail(d, SI_E_PATCH_CORRUPT, "patch.index_hash",
			    info->header_len - PATCH_HASH_LEN);
	}
	if (si_add_u64(info->header_len, info->payload_len, &file_len) != 0)
		return fail(d, SI_E_PATCH_FIELD, "patch.payload_len", 112);
	if (total_len < file_len)
		return fail_v(d, SI_E_PATCH_TRUNCATED, "patch.payload_len", 112, file_len,
			      total_len);
	if (total_len > file_len)
		return fail_v(d, SI_E_PATCH_TRAILING, "patch.payload_len", 112, file_len,
			      total_len);
	r = exps_check(buf, info, d);
	if (r)
		return r;

	expect_off = info->map_clen;
	patch_hash_init(&nh);
	{
		uint32_t k = 0;
		uint64_t left = 0; /* of the current expansion's new member */
		struct patch_exp ex;

	for (i = 0; i < info->nseg; i++) {
		const uint8_t *e = buf + PATCH_HDR_LEN + (size_t)i * PATCH_ENTRY_LEN;
		uint64_t eoff = PATCH_HDR_LEN + (uint64_t)i * PATCH_ENTRY_LEN;
		struct patch_seg s;
		uint64_t clen, seg_len;

		/* this segment's output length: the image's, then each member's */
		if (i < info->nseg_image) {
			seg_len = patch_seg_len(info, i);
		} else {
			while (left == 0) {
				exp_raw(buf, info, k++, &ex);
				left = ex.u_new_len;
			}
			seg_len = left < info->seg_size ? left : info->seg_size;
			left -= seg_len;
		}
		patch_index_entry(buf, i, &s);
		if (!all_zero(e + 13, 3) || !all_zero(e + 72, 8))
			return fail(d, SI_E_PATCH_FIELD, "patch.index.reserved", eoff + 13);
		if (s.lit_filter > PATCH_LIT_X86)
			return fail_v(d, SI_E_PATCH_FIELD, "patch.index.lit_filter", eoff + 11,
				      PATCH_LIT_X86, s.lit_filter);
		if (s.lit_filter == PATCH_LIT_PLAIN ? s.lit_bits != 0
						    : s.lit_bits < PATCH_LIT_BITS_MIN || s.lit_bits > 32)
			return fail_v(d, SI_E_PATCH_FIELD, "patch.index.lit_bits", eoff + 12,
				      s.lit_filter == PATCH_LIT_PLAIN ? 0 : 32, s.lit_bits);
		if (s.diff_mode > PATCH_DIFF_RUNS)
			return fail_v(d, SI_E_PATCH_FIELD, "patch.index.diff_mode", eoff + 10,
				      PATCH_DIFF_RUNS, s.diff_mode);
		if (s.codec != PATCH_CODEC_STORED && s.codec != PATCH_CODEC_ZSTD)
			return fail_v(d, SI_E_PATCH_CODEC, "patch.index.codec", eoff + 8,
				      PATCH_CODEC_ZSTD, s.codec);
		if (s.arch > PATCH_ARCH_AARCH64)
			return fail_v(d, SI_E_PATCH_FIELD, "patch.index.arch", eoff + 9,
				      PATCH_ARCH_AARCH64, s.arch);
		if (s.payload_off != expect_off)
			return fail_v(d, SI_E_PATCH_CORRUPT, "patch.index.payload_off", eoff,
				      expect_off, s.payload_off);
		if (s.ctrl_len > PATCH_CTRL_MAX(info->seg_size))
			return fail_v(d, SI_E_PATCH_LIMIT, "patch.index.ctrl_len", eoff + 16,
				      PATCH_CTRL_MAX(info->seg_size), s.ctrl_len);
		/* Each output byte comes from at most one of diff and lit. */
		if ((uint64_t)s.diff_len + s.lit_len > seg_len)
			return fail_v(d, SI_E_PATCH_OVERRUN, "patch.index.diff_len+lit_len",
				      eoff + 20, seg_len, (uint64_t)s.diff_len + s.lit_len);
		/* The encoded streams are read into the output buffer. */
		clen = (uint64_t)s.ctrl_clen + s.diff_clen + s.lit_clen;
		if (clen > (uint64_t)info->seg_size + PATCH_CTRL_MAX(info->seg_size))
			return fail_v(d, SI_E_PATCH_LIMIT, "patch.index.clen", eoff + 28,
				      (uint64_t)info->seg_size + PATCH_CTRL_MAX(info->seg_size),
				      clen);
		if (s.codec == PATCH_CODEC_STORED &&
		    (s.ctrl_clen != s.ctrl_len || s.diff_clen != s.diff_len ||
		     s.lit_clen != s.lit_len))
			return fail(d, SI_E_PATCH_FIELD, "patch.index.clen", eoff + 28);
		if (!si_span_ok(s.payload_off, clen, info->payload_len))
			return fail_v(d, SI_E_PATCH_TRUNCATED, "patch.index.clen", eoff + 28,
				      info->payload_len - s.payload_off, clen);
		expect_off = s.payload_off + clen;
		patch_hash_update(&nh, e + 40, PATCH_HASH_LEN);
	}
	}
	if (expect_off != info->payload_len)
		return fail_v(d, SI_E_PATCH_CORRUPT, "patch.payload_len", 112, expect_off,
			      info->payload_len);
	patch_hash_final(&nh, h);
	if (si_ct_memcmp(h, info->new_digest, PATCH_HASH_LEN) != 0) {
		si_diag_bytes(d, info->new_digest, h, PATCH_HASH_LEN);
		return fail(d, SI_E_PATCH_CORRUPT, "patch.new_digest", 80);
	}
	return 0;
}

int patch_map_parse(const uint8_t *raw, size_t len, const struct patch_info *info,
		    struct patch_map_piece *out, struct si_diag *d)
{
	size_t pos = 0;
	uint64_t end = 0, gap, n, z;
	int64_t delta = 0;
	uint32_t i;

	for (i = 0; i < info->map_count; i++) {
		size_t at = pos;

		if (varint(raw, len, &pos, &gap) != 0 || varint(raw, len, &pos, &n) != 0 ||
		    varint(raw, len, &pos, &z) != 0)
			return fail(d, SI_E_PATCH_CORRUPT, "patch.map", at);
		/* pieces are non-empty, disjoint, in order, inside old */
		if (n == 0 || gap > info->old_size - end || n > info->old_size - end - gap)
			return fail_v(d, SI_E_PATCH_CORRUPT, "patch.map.piece", at, info->old_size,
				      end + gap);
		out[i].start = end + gap;
		out[i].end = out[i].start + n;
		delta += (int64_t)((z & 1) ? ~(z >> 1) : (z >> 1));
		out[i].delta = delta;
		end = out[i].end;
	}
	if (pos != len)
		return fail_v(d, SI_E_PATCH_CORRUPT, "patch.map.unused_bytes", pos, len, pos);
	return 0;
}

/* out[i] += diff[i] mod 256, eight lanes at a time without carries
 * between them: low seven bits add, the top bit is the xor of both tops. */
static void add_bytes(uint8_t *restrict out, const uint8_t *restrict diff, size_t n)
{
	const uint64_t lo = 0x7f7f7f7f7f7f7f7full, hi = 0x8080808080808080ull;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t a, b, r;

		memcpy(&a, out + i, 8);
		memcpy(&b, diff + i, 8);
		if (b == 0)
			continue;
		r = ((a & lo) + (b & lo)) ^ ((a ^ b) & hi);
		memcpy(out + i, &r, 8);
	}
	for (; i < n; i++)
		out[i] = (uint8_t)(out[i] + diff[i]);
}

/* Length of the read that serves the current COPY/ADD/XADD op (len bytes
 * from src) and the ops after it as long as they keep its alignment: a
 * following COPY/ADD/XADD whose source continues where the op's output
 * continues (src - out constant), LIT/ZERO/KEEP ops in between being read
 * over and then overwritten by their own bytes.  One read then serves
 * what bsdiff-style covers cut into many ops (a read per op was most of
 * the apply's system time).  cp/sp point after the current op's header and
 * delta.  Only a hint: each op is validated again when it runs; the read
 * stays inside out_room and the source, and ends with a source op. */
static uint64_t chain_len(const uint8_t *ctrl, size_t hdr_end, size_t ctrl_len, size_t cp,
			  size_t sp, uint64_t src, uint64_t len, uint64_t out_room,
			  uint64_t src_size)
{
	uint64_t h, z, n, end = len, at = len; /* end: the read's length; at: output so far */

	while (cp < hdr_end) {
		unsigned kind;

		if (varint(ctrl, hdr_end, &cp, &h) != 0)
			break;
		kind = (unsigned)(h & 7);
		n = h >> 3;
		if (n == 0 || n > out_room - at || !si_span_ok(src, at + n, src_size))
			break;
		if (kind == PATCH_OP_LIT || kind == PATCH_OP_ZERO || kind == PATCH_OP_KEEP) {
			at += n;
			continue;
		}
		if (kind != PATCH_OP_COPY && kind != PATCH_OP_ADD && kind != PATCH_OP_XADD)
			break;
		/* its source is cursor + delta, the cursor being where the
		 * previous source op ended: it continues the alignment when the
		 * delta equals the output skipped since */
		if (varint(ctrl, ctrl_len, &sp, &z) != 0 || z != (at - end) << 1)
			break;
		at += n;
		end = at;
	}
	return end;
}

/* The difference bytes of a segment's ops, in order: bytes (mode 0), or
 * runs (mode 1: a column of (zeros, nonzero) varint pairs, then the
 * nonzero bytes). */
struct diff_src {
	const uint8_t *p;
	size_t len, pos;           /* bytes: all of them; runs: the nonzero bytes */
	const uint8_t *runs;
	size_t runs_len, rpos;
	uint64_t zleft, nleft;
	int runs_mode;
};

static int diff_init(struct diff_src *s, const uint8_t *p, size_t len, int mode)
{
	uint64_t r;

	memset(s, 0, sizeof *s);
	s->runs_mode = mode == PATCH_DIFF_RUNS;
	if (!s->runs_mode) {
		s->p = p;
		s->len = len;
		return 0;
	}
	if (len == 0)
		return 0;
	if (varint(p, len, &s->pos, &r) != 0 || r > len - s->pos)
		return -1;
	s->runs = p + s->pos;
	s->runs_len = (size_t)r;
	s->p = p + s->pos + r;
	s->len = len - s->pos - (size_t)r;
	s->pos = 0;
	return 0;
}

/* Adds the next n difference bytes to out; -1 when the stream ends. */
static int diff_add(struct diff_src *s, uint8_t *out, size_t n)
{
	if (!s->runs_mode) {
		if (n > s->len - s->pos)
			return -1;
		add_bytes(out, s->p + s->pos, n);
		s->pos += n;
		return 0;
	}
	while (n) {
		uint64_t k;

		if (s->zleft) {
			k = s->zleft < n ? s->zleft : n;
			s->zleft -= k;
		} else if (s->nleft) {
			k = s->nleft < n ? s->nleft : n;
			if (k > s->len - s->pos)
				return -1;
			add_bytes(out, s->p + s->pos, (size_t)k);
			s->pos += (size_t)k;
			s->nleft -= k;
		} else {
			if (varint(s->runs, s->runs_len, &s->rpos, &s->zleft) != 0 ||
			    varint(s->runs, s->runs_len, &s->rpos, &s->nleft) != 0)
				return -1;
			continue;
		}
		out += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Everything used, nothing left over. */
static int diff_done(const struct diff_src *s)
{
	return s->pos == s->len && s->zleft == 0 && s->nleft == 0 && s->rpos == s->runs_len;
}

void patch_seg_place(const struct patch_info *info, const struct patch_exp *exps, uint32_t i,
		     struct patch_seg_env *env)
{
	env->src_size = info->src_size;
	env->old_size = info->old_size;
	env->keep_wait = NULL;
	env->zeroed = NULL;
	if (i < info->nseg_image) {
		env->out_off = (uint64_t)i * info->seg_size;
		env->cursor = env->out_off;
		env->len = patch_seg_len(info, i);
		env->keep_ok = 1;
		env->exp = -1;
	} else {
		uint32_t lo = 0, hi = info->nexp, j;
		uint64_t rest;

		/* the last expansion whose first segment is at or before i */
		while (hi - lo > 1) {
			uint32_t mid = lo + (hi - lo) / 2;

			if (exps[mid].seg_first <= i)
				lo = mid;
			else
				hi = mid;
		}
		j = i - exps[lo].seg_first;
		env->out_off = (uint64_t)j * info->seg_size;
		env->cursor = exps[lo].src_base + env->out_off;
		rest = exps[lo].u_new_len - env->out_off;
		env->len = rest < info->seg_size ? (uint32_t)rest : info->seg_size;
		env->keep_ok = 0;
		env->exp = (int32_t)lo;
	}
}

/* KEEP's ranges, read once env->keep_wait returns (merged when they
 * touch; past PATCH_KEEP_DEFER of them it is waited for there and the
 * rest read at once). */
struct keep_list {
	unsigned n;
	int waited;
	size_t zero; /* output bytes of ZERO ops */
	struct {
		size_t op, len;
	} r[PATCH_KEEP_DEFER];
};

static int seg_run(const uint8_t *ctrl, size_t ctrl_len, const uint8_t *diff, size_t diff_len,
		   const uint8_t *lit, size_t lit_len, const struct patch_seg_env *env,
		   uint8_t *out, struct keep_list *kl, struct si_diag *d)
{
	size_t cp = 0, sp, hdr_end, lp = 0, op = 0, have_end = 0, out_len = env->len;
	uint64_t cursor = env->cursor, hl, have_align = 0;
	struct diff_src ds;
	int r;

	kl->n = 0;
	kl->waited = env->keep_wait == NULL;
	kl->zero = 0;

	if (diff_init(&ds, diff, diff_len, env->diff_mode) != 0)
		return fail(d, SI_E_PATCH_OP, "segment.diff.runs", 0);
	/* varint H, then H bytes of op headers, then the source deltas */
	if (varint(ctrl, ctrl_len, &cp, &hl) != 0 || hl > ctrl_len - cp)
		return fail(d, SI_E_PATCH_OP, "segment.ctrl.header_len", 0);
	hdr_end = cp + (size_t)hl;
	sp = hdr_end;
	while (cp < hdr_end) {
		uint64_t h, len, z, src;
		size_t at = cp;
		unsigned kind;

		if (varint(ctrl, hdr_end, &cp, &h) != 0)
			return fail(d, SI_E_PATCH_OP, "segment.ctrl", at);
		kind = (unsigned)(h & 7);
		len = h >> 3;
		if (len == 0)
			return fail(d, SI_E_PATCH_OP, "segment.ctrl.len", at);
		if (len > out_len - op)
			return fail_v(d, SI_E_PATCH_OVERRUN, "segment.ctrl.len", at,
				      out_len - op, len);
		if (kind >= PATCH_OP_KINDS)
			return fail_v(d, SI_E_PATCH_OP, "segment.ctrl.kind", at, PATCH_OP_KINDS - 1,
				      kind);
		switch ((enum patch_op)kind) {
		case PATCH_OP_COPY:
		case PATCH_OP_ADD:
		case PATCH_OP_XADD:
			if (varint(ctrl, ctrl_len, &sp, &z) != 0)
				return fail(d, SI_E_PATCH_OP, "segment.ctrl.src", sp);
			/* zig-zag: even is +z/2, odd is -(z+1)/2, modulo 2^64 */
			src = cursor + ((z & 1) ? ~(z >> 1) : (z >> 1));
			if (!si_span_ok(src, len, env->src_size))
				return fail_v(d, SI_E_PATCH_OP, "segment.ctrl.src", at,
					      env->src_size, src);
			if (kind == PATCH_OP_XADD &&
			    (env->arch == PATCH_ARCH_NONE || !si_span_ok(src, len, env->old_size)))
				return fail_v(d, SI_E_PATCH_OP, "segment.ctrl.xadd", at,
					      env->old_size, src);
			/* read, unless an earlier read of this alignment covered it */
			if (op + len > have_end || src - op != have_align) {
				uint64_t n = chain_len(ctrl, hdr_end, ctrl_len, cp, sp, src, len,
						       out_len - op, env->src_size);

				r = env->read(env->rctx, src, out + op, (size_t)n);
				if (r != 0)
					return r;
				have_end = op + (size_t)n;
				have_align = src - op;
			}
			if (kind == PATCH_OP_XADD)
				patch_refs_predict(env->arch, out + op, (size_t)len, src,
						   env->out_off + op, env->old_size, env->map);
			if (kind != PATCH_OP_COPY && diff_add(&ds, out + op, (size_t)len) != 0)
				return fail_v(d, SI_E_PATCH_OP, "segment.diff", at, diff_len, len);
			cursor = src + len;
			break;
		case PATCH_OP_LIT:
			if (len > lit_len - lp)
				return fail_v(d, SI_E_PATCH_OP, "segment.lit", at, lit_len - lp,
					      len);
			memcpy(out + op, lit + lp, (size_t)len);
			if (env->lit_filter == PATCH_LIT_X86)
				(void)patch_lit_filter(out + op, (size_t)len, env->out_off + op,
						       env->lit_bits, 0);
			lp += (size_t)len;
			break;
		case PATCH_OP_ZERO:
			memset(out + op, 0, (size_t)len);
			kl->zero += (size_t)len;
			break;
		case PATCH_OP_KEEP:
			if (!env->keep_ok)
				return fail(d, SI_E_PATCH_OP, "segment.ctrl.keep", at);
			if (!kl->waited) {
				if (kl->n && kl->r[kl->n - 1].op + kl->r[kl->n - 1].len == op) {
					kl->r[kl->n - 1].len += (size_t)len;
					break;
				}
				if (kl->n < PATCH_KEEP_DEFER) {
					kl->r[kl->n].op = op;
					kl->r[kl->n++].len = (size_t)len;
					break;
				}
				if ((r = env->keep_wait(env->octx)) != 0)
					return r;
				kl->waited = 1;
			}
			r = env->read_out(env->octx, env->out_off + op, out + op, (size_t)len);
			if (r != 0)
				return r;
			break;
		}
		op += (size_t)len;
	}
	if (op != out_len)
		return fail_v(d, SI_E_PATCH_OP, "segment.length", cp, out_len, op);
	if (sp != ctrl_len)
		return fail_v(d, SI_E_PATCH_OP, "segment.ctrl.unused_bytes", sp, ctrl_len, sp);
	if (!diff_done(&ds) || lp != lit_len)
		return fail_v(d, SI_E_PATCH_OP, "segment.unused_bytes", cp, diff_len + lit_len,
			      ds.pos + lp);
	return 0;
}

/* The segment digest of len zero bytes (zeros: that many), once per length: a file
 * system's free space is segments of nothing but ZERO ops, every one of
 * the same digest (a 128 MiB ext4 image's 105 MB of free space hashed
 * again segment by segment: a third of its apply's CPU time). */
static void zero_hash(const uint8_t *zeros, size_t len, uint8_t h[PATCH_HASH_LEN])
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static struct {
		size_t len;
		uint8_t h[PATCH_HASH_LEN];
	} memo[4];
	static unsigned n;
	unsigned k;

	pthread_mutex_lock(&lock);
	for (k = 0; k < n; k++)
		if (memo[k].len == len) {
			memcpy(h, memo[k].h, PATCH_HASH_LEN);
			pthread_mutex_unlock(&lock);
			return;
		}
	pthread_mutex_unlock(&lock);
	patch_seg_digest(zeros, len, h);
	pthread_mutex_lock(&lock);
	if (n < SI_ARRAY_SIZE(memo)) {
		memo[n].len = len;
		memcpy(memo[n].h, h, PATCH_HASH_LEN);
		n++;
	}
	pthread_mutex_unlock(&lock);
}

/* The reads seg_run left, once keep_wait has returned. */
static int keep_read(const struct patch_seg_env *env, struct keep_list *kl, uint8_t *out)
{
	unsigned k;
	int r;

	if (kl->n && !kl->waited && (r = env->keep_wait(env->octx)) != 0)
		return r;
	kl->waited = 1;
	for (k = 0; k < kl->n; k++) {
		r = env->read_out(env->octx, env->out_off + kl->r[k].op, out + kl->r[k].op,
				  kl->r[k].len);
		if (r != 0)
			return r;
	}
	return 0;
}

int patch_seg_run(const uint8_t *ctrl, size_t ctrl_len, const uint8_t *diff,
		  size_t diff_len, const uint8_t *lit, size_t lit_len,
		  const struct patch_seg_env *env, uint8_t *out, struct si_diag *d)
{
	struct keep_list kl;
	int r = seg_run(ctrl, ctrl_len, diff, diff_len, lit, lit_len, env, out, &kl, d);

	return r != 0 ? r : keep_read(env, &kl, out);
}

int patch_decode_stored(void *ctx, int codec, const uint8_t *src, size_t slen,
			uint8_t *dst, size_t dlen)
{
	(void)ctx;
	if (codec != PATCH_CODEC_STORED)
		return SI_E_PATCH_CODEC;
	if (slen != dlen)
		return SI_E_PATCH_STREAM;
	memmove(dst, src, dlen);
	return 0;
}

int patch_seg_apply(const struct patch_info *info, const struct patch_seg *seg,
		    uint32_t i, uint8_t *work, size_t work_len, patch_decode_fn decode,
		    void *dctx, const struct patch_seg_env *env, struct si_diag *d)
{
	size_t io_len = (size_t)info->seg_size + PATCH_CTRL_MAX(info->seg_size);
	uint8_t *io = work, *dl = work + io_len, *ctrl = dl + info->seg_size;
	const uint8_t *in = work;
	struct patch_seg_env e = *env;
	struct keep_list kl;
	uint8_t lanes[PATCH_SEG_LANES][PATCH_HASH_LEN];
	unsigned made;
	uint8_t h[PATCH_HASH_LEN];
	int r;

	if (work_len < patch_worker_mem(info->seg_size))
		return SI_E_ARG;
	e.arch = seg->arch;
	e.diff_mode = seg->diff_mode;
	e.lit_filter = seg->lit_filter;
	e.lit_bits = seg->lit_bits;
	/* Decode ctrl and diff+lit out of io, then io becomes the output. */
	r = decode(dctx, seg->codec, in, seg->ctrl_clen, ctrl, seg->ctrl_len);
	if (r == 0)
		r = decode(dctx, seg->codec, in + seg->ctrl_clen, seg->diff_clen, dl,
			   seg->diff_len);
	if (r == 0)
		r = decode(dctx, seg->codec, in + seg->ctrl_clen + seg->diff_clen, seg->lit_clen,
			   dl + seg->diff_len, seg->lit_len);
	if (r != 0) {
		si_diag_field(d, "segment.payload");
		si_diag_values(d, i, i);
		return r;
	}
	r = seg_run(ctrl, seg->ctrl_len, dl, seg->diff_len, dl + seg->diff_len, seg->lit_len, &e,
		    io, &kl, d);
	if (r != 0)
		return r;
	if (env->zeroed)
		*env->zeroed = kl.zero == e.len;
	if (kl.zero == e.len) {
		zero_hash(io, e.len, h); /* no KEEP either: all of it ZERO */
	} else {
		/* the lanes before the first KEEP hashed while what it reads
		 * is still being made, the rest after */
		made = patch_seg_lanes_within(e.len, kl.n ? kl.r[0].op : e.len);
		patch_seg_digest_lanes(io, e.len, 0, made, lanes);
		if ((r = keep_read(&e, &kl, io)) != 0)
			return r;
		patch_seg_digest_lanes(io, e.len, made, PATCH_SEG_LANES, lanes);
		patch_seg_digest_end(io, e.len, (const uint8_t (*)[PATCH_HASH_LEN])lanes, h);
	}
	if (si_ct_memcmp(h, seg->sha256, PATCH_HASH_LEN) != 0) {
		si_diag_bytes(d, seg->sha256, h, PATCH_HASH_LEN);
		si_diag_field(d, "segment.sha256");
		si_diag_offset(d, e.out_off);
		return SI_E_PATCH_SEG_HASH;
	}
	return 0;
}
