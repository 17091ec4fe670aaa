/* sealinit patch/: the patch header and index parser, and the segment
 * interpreter.  Pure: bytes in, validated struct out; the old image is read
 * through a callback and streams are decoded through another.  The wire
 * format is drawn in patch/patch.h. */
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

uint32_t patch_seg_len(const struct patch_info *info, uint32_t i)
{
	uint64_t off = (uint64_t)i * info->seg_size;
	uint64_t rest = info->new_size - off;

	return rest < info->seg_size ? (uint32_t)rest : info->seg_size;
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
	in.old_size = si_le64(buf + 32);
	in.new_size = si_le64(buf + 40);
	memcpy(in.old_digest, buf + 48, PATCH_HASH_LEN);
	memcpy(in.new_digest, buf + 80, PATCH_HASH_LEN);
	in.payload_len = si_le64(buf + 112);

	if (flags & ~PATCH_FLAG_SEALS)
		return fail_v(d, SI_E_PATCH_FIELD, "patch.flags", 16, PATCH_FLAG_SEALS, flags);
	in.has_seals = (flags & PATCH_FLAG_SEALS) != 0;
	if (si_le32(buf + 28) != 0 || si_le64(buf + 120) != 0)
		return fail(d, SI_E_PATCH_FIELD, "patch.reserved", 28);
	if (in.seg_size < PATCH_SEG_MIN || (in.seg_size & (in.seg_size - 1)) != 0)
		return fail_v(d, SI_E_PATCH_FIELD, "patch.seg_size", 20, PATCH_SEG_MIN, in.seg_size);
	if (in.seg_size > PATCH_SEG_MAX)
		return fail_v(d, SI_E_PATCH_LIMIT, "patch.seg_size", 20, PATCH_SEG_MAX, in.seg_size);
	/* nseg = ceil(new_size / seg_size), written without overflow. */
	nseg = in.new_size / in.seg_size + (in.new_size % in.seg_size != 0);
	if (nseg != in.nseg)
		return fail_v(d, SI_E_PATCH_FIELD, "patch.nseg", 24, nseg, in.nseg);
	if (in.nseg > CONFIG_PATCH_MAX_SEGMENTS)
		return fail_v(d, SI_E_PATCH_LIMIT, "patch.nseg", 24, CONFIG_PATCH_MAX_SEGMENTS,
			      in.nseg);
	hl = PATCH_HDR_LEN + (uint64_t)in.nseg * PATCH_ENTRY_LEN +
	     (in.has_seals ? PATCH_SEALS_LEN : 0) + PATCH_HASH_LEN;
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
	out->ctrl_len = si_le32(e + 16);
	out->diff_len = si_le32(e + 20);
	out->lit_len = si_le32(e + 24);
	out->ctrl_clen = si_le32(e + 28);
	out->diff_clen = si_le32(e + 32);
	out->lit_clen = si_le32(e + 36);
	memcpy(out->sha256, e + 40, PATCH_HASH_LEN);
}

int patch_index_check(const uint8_t *buf, size_t len, const struct patch_info *info,
		      uint64_t total_len, struct si_diag *d)
{
	uint8_t h[PATCH_HASH_LEN];
	struct patch_hash nh;
	uint64_t expect_off = 0, file_len;
	uint32_t i;

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

	patch_hash_init(&nh);
	for (i = 0; i < info->nseg; i++) {
		const uint8_t *e = buf + PATCH_HDR_LEN + (size_t)i * PATCH_ENTRY_LEN;
		uint64_t eoff = PATCH_HDR_LEN + (uint64_t)i * PATCH_ENTRY_LEN;
		uint32_t seg_len = patch_seg_len(info, i);
		struct patch_seg s;
		uint64_t clen;

		patch_index_entry(buf, i, &s);
		if (!all_zero(e + 9, 7) || !all_zero(e + 72, 8))
			return fail(d, SI_E_PATCH_FIELD, "patch.index.reserved", eoff + 9);
		if (s.codec != PATCH_CODEC_STORED && s.codec != PATCH_CODEC_ZSTD)
			return fail_v(d, SI_E_PATCH_CODEC, "patch.index.codec", eoff + 8,
				      PATCH_CODEC_ZSTD, s.codec);
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

/* Length of the run of COPY/ADD ops that starts with the current one (len
 * bytes from src) and continues with zero source deltas: those ops read
 * old and write out contiguously, so one read serves them all (a read per
 * op was most of the apply's system time).  cp/sp point after the current
 * op's header and delta.  Only a hint: each op is validated again when it
 * runs; the run stays inside out_room and the old image. */
static uint64_t chain_len(const uint8_t *ctrl, size_t hdr_end, size_t ctrl_len, size_t cp,
			  size_t sp, uint64_t src, uint64_t len, uint64_t out_room,
			  uint64_t old_size)
{
	uint64_t h, z, n;

	while (cp < hdr_end) {
		if (varint(ctrl, hdr_end, &cp, &h) != 0 || (h & 3) > PATCH_OP_ADD)
			break;
		if (varint(ctrl, ctrl_len, &sp, &z) != 0 || z != 0)
			break;
		n = h >> 2;
		if (n == 0 || n > out_room - len || !si_span_ok(src, len + n, old_size))
			break;
		len += n;
	}
	return len;
}

int patch_seg_run(const uint8_t *ctrl, size_t ctrl_len, const uint8_t *diff,
		  size_t diff_len, const uint8_t *lit, size_t lit_len, uint64_t seg_off,
		  uint64_t old_size, patch_read_fn read, void *rctx, uint8_t *out,
		  size_t out_len, struct si_diag *d)
{
	size_t cp = 0, sp, hdr_end, dp = 0, lp = 0, op = 0, have_end = 0;
	uint64_t cursor = seg_off, hl;
	int r;

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
		kind = (unsigned)(h & 3);
		len = h >> 2;
		if (len == 0)
			return fail(d, SI_E_PATCH_OP, "segment.ctrl.len", at);
		if (len > out_len - op)
			return fail_v(d, SI_E_PATCH_OVERRUN, "segment.ctrl.len", at,
				      out_len - op, len);
		switch ((enum patch_op)kind) {
		case PATCH_OP_COPY:
		case PATCH_OP_ADD:
			if (varint(ctrl, ctrl_len, &sp, &z) != 0)
				return fail(d, SI_E_PATCH_OP, "segment.ctrl.src", sp);
			/* zig-zag: even is +z/2, odd is -(z+1)/2, modulo 2^64 */
			src = cursor + ((z & 1) ? ~(z >> 1) : (z >> 1));
			if (!si_span_ok(src, len, old_size))
				return fail_v(d, SI_E_PATCH_OP, "segment.ctrl.src", at,
					      old_size, src);
			if (op + len > have_end || src != cursor) {
				uint64_t n = chain_len(ctrl, hdr_end, ctrl_len, cp, sp, src, len,
						       out_len - op, old_size);

				r = read(rctx, src, out + op, (size_t)n);
				if (r != 0)
					return r;
				have_end = op + (size_t)n;
			}
			if (kind == PATCH_OP_ADD) {
				if (len > diff_len - dp)
					return fail_v(d, SI_E_PATCH_OP, "segment.diff", at,
						      diff_len - dp, len);
				add_bytes(out + op, diff + dp, (size_t)len);
				dp += (size_t)len;
			}
			cursor = src + len;
			break;
		case PATCH_OP_LIT:
			if (len > lit_len - lp)
				return fail_v(d, SI_E_PATCH_OP, "segment.lit", at, lit_len - lp,
					      len);
			memcpy(out + op, lit + lp, (size_t)len);
			lp += (size_t)len;
			break;
		case PATCH_OP_ZERO:
			memset(out + op, 0, (size_t)len);
			break;
		}
		op += (size_t)len;
	}
	if (op != out_len)
		return fail_v(d, SI_E_PATCH_OP, "segment.length", cp, out_len, op);
	if (sp != ctrl_len)
		return fail_v(d, SI_E_PATCH_OP, "segment.ctrl.unused_bytes", sp, ctrl_len, sp);
	if (dp != diff_len || lp != lit_len)
		return fail_v(d, SI_E_PATCH_OP, "segment.unused_bytes", cp, diff_len + lit_len,
			      dp + lp);
	return 0;
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
		    void *dctx, patch_read_fn read, void *rctx, struct si_diag *d)
{
	size_t io_len = (size_t)info->seg_size + PATCH_CTRL_MAX(info->seg_size);
	uint8_t *io = work, *dl = work + io_len, *ctrl = dl + info->seg_size;
	const uint8_t *in = work;
	uint32_t out_len = patch_seg_len(info, i);
	uint8_t h[PATCH_HASH_LEN];
	int r;

	if (work_len < patch_worker_mem(info->seg_size))
		return SI_E_ARG;
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
	r = patch_seg_run(ctrl, seg->ctrl_len, dl, seg->diff_len, dl + seg->diff_len,
			  seg->lit_len, (uint64_t)i * info->seg_size, info->old_size, read,
			  rctx, io, out_len, d);
	if (r != 0)
		return r;
	patch_hash(io, out_len, h);
	if (si_ct_memcmp(h, seg->sha256, PATCH_HASH_LEN) != 0) {
		si_diag_bytes(d, seg->sha256, h, PATCH_HASH_LEN);
		si_diag_field(d, "segment.sha256");
		si_diag_offset(d, (uint64_t)i * info->seg_size);
		return SI_E_PATCH_SEG_HASH;
	}
	return 0;
}
