/* sealinit patch/: the expansions at the apply (formats.md, "Expansions"):
 * each old member split into the scratch file before the segments run, each
 * new member made again from the scratch after them.  A member's bytes are
 * its one or two extents in an image, read and written as one stream here;
 * the kinds' coders (gz.c, xz.c) see only that stream. */
#include <string.h>

#include "lib/bytes.h"
#include "patch/gz.h"
#include "patch/xz.h"
#include "patch/zs.h"

/* A member's bytes as one stream over its (one or two) extents. */
struct ext_io {
	const struct patch_ext *x;
	unsigned n;
	uint64_t total;
	patch_read_fn read;
	void *rctx;
	patch_write_fn write;
	void *wctx;
};

static int ext_span(const struct ext_io *io, uint64_t off, size_t len, int wr, uint8_t *rbuf,
		    const uint8_t *wbuf)
{
	unsigned j;

	if (!si_span_ok(off, len, io->total))
		return SI_E_PATCH_EXPAND;
	for (j = 0; j < io->n && len; j++) {
		uint64_t xl = io->x[j].len;

		if (off >= xl) {
			off -= xl;
			continue;
		}
		{
			size_t k = xl - off < len ? (size_t)(xl - off) : len;
			int r = wr ? io->write(io->wctx, io->x[j].off + off, wbuf, k)
				   : io->read(io->rctx, io->x[j].off + off, rbuf, k);

			if (r)
				return r;
			if (wr)
				wbuf += k;
			else
				rbuf += k;
			len -= k;
			off = 0;
		}
	}
	return 0;
}

static int ext_read(void *ctx, uint64_t off, uint8_t *buf, size_t len)
{
	return ext_span(ctx, off, len, 0, buf, NULL);
}

static int ext_write(void *ctx, uint64_t off, const uint8_t *buf, size_t len)
{
	return ext_span(ctx, off, len, 1, NULL, buf);
}

static void ext_io_init(struct ext_io *io, const struct patch_ext *x, unsigned n)
{
	unsigned j;

	memset(io, 0, sizeof *io);
	io->x = x;
	io->n = n;
	for (j = 0; j < n; j++)
		io->total += x[j].len;
}

/* The length of the gzip header (RFC 1952 2.3) at the start of io. */
static int gz_header_len(struct ext_io *io, uint64_t *hl)
{
	uint8_t h[10], b[2];
	uint64_t p = 10;
	int r, k;

	if ((r = ext_read(io, 0, h, 10)))
		return r;
	if (h[0] != 0x1f || h[1] != 0x8b || h[2] != 8 || (h[3] & 0xE0))
		return SI_E_PATCH_EXPAND;
	if (h[3] & 4) { /* FEXTRA */
		if ((r = ext_read(io, p, b, 2)))
			return r;
		p += 2 + (uint64_t)si_le16(b);
	}
	for (k = 3; k <= 4; k++) { /* FNAME, FCOMMENT: zero-terminated */
		if (!(h[3] & (1 << k)))
			continue;
		do {
			if ((r = ext_read(io, p++, b, 1)))
				return r;
		} while (b[0]);
	}
	if (h[3] & 2) /* FHCRC */
		p += 2;
	if (p + 8 > io->total)
		return SI_E_PATCH_EXPAND;
	*hl = p;
	return 0;
}

/* The one state the expansions use in turn (the apply's helper thread
 * makes the new members only after every old one was split). */
union exp_state {
	struct patch_inflate in;
	struct patch_gzenc en;
	struct patch_xz xz;
	struct patch_dfl dfl;
	struct patch_zs zs;
};

size_t patch_exp_state_size(unsigned kinds)
{
	size_t n = 0;

	if (kinds & (1u << PATCH_EXP_GZIP))
		n = sizeof(struct patch_gzenc) > sizeof(struct patch_inflate)
			    ? sizeof(struct patch_gzenc)
			    : sizeof(struct patch_inflate);
	if ((kinds & (1u << PATCH_EXP_XZ)) && sizeof(struct patch_xz) > n)
		n = sizeof(struct patch_xz);
	if ((kinds & (1u << PATCH_EXP_DEFLATE)) && sizeof(struct patch_dfl) > n)
		n = sizeof(struct patch_dfl);
	if ((kinds & (1u << PATCH_EXP_ZSTD)) && sizeof(struct patch_zs) > n)
		n = sizeof(struct patch_zs);
	return n;
}

static int exp_fail(struct si_diag *d, int r, const char *field, uint64_t expected, uint64_t found)
{
	si_diag_field(d, field);
	si_diag_values(d, expected, found);
	return r;
}

static int gz_expand(struct patch_exp *e, struct patch_inflate *st, patch_read_fn read,
		     void *rctx, patch_write_fn write, void *wctx, struct si_diag *d)
{
	struct ext_io io;
	struct gz_tokens tok = { write, wctx, e->scratch_tok, 0 };
	uint64_t hl, used = 0, out_len = 0;
	uint32_t crc = 0;
	uint8_t t[8];
	int r;

	ext_io_init(&io, e->old_ext, e->n_old);
	io.read = read;
	io.rctx = rctx;
	r = gz_header_len(&io, &hl);
	/* the old symbols, when the new member reuses them */
	if (r == 0)
		r = patch_inflate_run(st, ext_read, &io, hl, io.total - hl - 8, write, wctx,
				      e->scratch_old, e->u_old_len, e->reuse_len ? &tok : NULL,
				      &used, &out_len, &crc);
	e->tok_count = tok.count;
	if (r)
		return exp_fail(d, r, "exp.old.stream", 0, 0);
	if (used != io.total - hl - 8)
		return exp_fail(d, SI_E_PATCH_EXPAND, "exp.old.length", io.total - hl - 8, used);
	if (out_len != e->u_old_len)
		return exp_fail(d, SI_E_PATCH_EXPAND, "exp.old.u_len", e->u_old_len, out_len);
	if ((r = ext_read(&io, io.total - 8, t, 8)))
		return r;
	if (si_le32(t) != crc || si_le32(t + 4) != (uint32_t)out_len)
		return exp_fail(d, SI_E_PATCH_EXPAND, "exp.old.trailer", crc, si_le32(t));
	return 0;
}

/* The encoder's output, placed after the header and before the trailer:
 * a stream that would run into the trailer does not reproduce. */
struct ext_body {
	struct ext_io *io;
	uint64_t base, room;
};

static int ext_body_write(void *ctx, uint64_t off, const uint8_t *buf, size_t len)
{
	struct ext_body *b = ctx;

	if (!si_span_ok(off, len, b->room))
		return SI_E_PATCH_EXPAND;
	return ext_write(b->io, b->base + off, buf, len);
}

static int gz_make(const struct patch_exp *e, struct patch_gzenc *st, patch_read_fn read,
		   void *rctx, patch_write_fn write, void *wctx, struct si_diag *d)
{
	struct ext_io io;
	struct ext_body body;
	/* the reuse list follows the member's bytes in the scratch */
	uint64_t len = e->u_new_len - e->reuse_len;
	struct gz_reuse ru = { read, rctx, e->scratch_new + len, e->reuse_len, e->scratch_tok,
			       e->tok_count, e->u_old_len };
	uint8_t t[8];
	uint32_t crc = 0;
	int r;

	ext_io_init(&io, e->new_ext, e->n_new);
	io.write = write;
	io.wctx = wctx;
	if ((r = ext_write(&io, 0, e->hdr, e->hdr_len)))
		return exp_fail(d, r, "exp.new.header", io.total, e->hdr_len);
	body.io = &io;
	body.base = e->hdr_len;
	body.room = io.total - e->hdr_len - 8; /* the checked header keeps this positive */
	r = patch_gzenc_run(st, read, rctx, e->scratch_new, len, ext_body_write, &body,
			    e->reuse_len ? &ru : NULL, &crc);
	if (r && st->field) {
		si_diag_field(d, st->field);
		if (st->f_vals)
			si_diag_values(d, st->f_exp, st->f_got);
		return r;
	}
	if (r)
		return exp_fail(d, r, "exp.new.stream", io.total, 0);
	if ((uint64_t)e->hdr_len + st->out_total + 8 != io.total)
		return exp_fail(d, SI_E_PATCH_EXPAND, "exp.new.length", io.total,
				(uint64_t)e->hdr_len + st->out_total + 8);
	si_put_le32(t, crc);
	si_put_le32(t + 4, (uint32_t)len);
	if ((r = ext_write(&io, io.total - 8, t, 8)))
		return r;
	return 0;
}

/* The splits of kinds 2 to 4 behind one type: a deflate member has no
 * distances past its window (back unused) and is the whole stream. */
static int xz_split(void *st, patch_read_fn read, void *rctx, uint64_t m_len,
		    patch_write_fn write, void *wctx, patch_read_fn back, void *bctx,
		    uint64_t data_base, uint64_t data_max, uint64_t parse_base, uint64_t parse_max,
		    uint64_t *data_len, uint64_t *parse_len, uint64_t *used, struct si_diag *d)
{
	return patch_xz_split(st, read, rctx, m_len, write, wctx, back, bctx, data_base, data_max,
			      parse_base, parse_max, data_len, parse_len, used, d);
}

static int dfl_split(void *st, patch_read_fn read, void *rctx, uint64_t m_len,
		     patch_write_fn write, void *wctx, patch_read_fn back, void *bctx,
		     uint64_t data_base, uint64_t data_max, uint64_t parse_base, uint64_t parse_max,
		     uint64_t *data_len, uint64_t *parse_len, uint64_t *used, struct si_diag *d)
{
	(void)back;
	(void)bctx;
	*used = m_len;
	return patch_dfl_split(st, read, rctx, m_len, write, wctx, data_base, data_max,
			       parse_base, parse_max, data_len, parse_len, d);
}

static int zs_split(void *st, patch_read_fn read, void *rctx, uint64_t m_len,
		    patch_write_fn write, void *wctx, patch_read_fn back, void *bctx,
		    uint64_t data_base, uint64_t data_max, uint64_t parse_base, uint64_t parse_max,
		    uint64_t *data_len, uint64_t *parse_len, uint64_t *used, struct si_diag *d)
{
	return patch_zs_split(st, read, rctx, m_len, write, wctx, back, bctx, data_base, data_max,
			      parse_base, parse_max, data_len, parse_len, used, d);
}

patch_split_fn patch_exp_split_fn(unsigned kind)
{
	return kind == PATCH_EXP_XZ ? xz_split : kind == PATCH_EXP_DEFLATE ? dfl_split
	       : kind == PATCH_EXP_ZSTD ? zs_split : NULL;
}

/* A split member (kinds 2 to 4): its data then its parse, u_old_len
 * bytes in all, from its old extents, which it must fill exactly. */
static int split_expand(const struct patch_exp *e, patch_split_fn split, void *st,
			patch_read_fn read, void *rctx, patch_write_fn write, void *wctx,
			patch_read_fn back, void *bctx, struct si_diag *d)
{
	struct ext_io io;
	uint64_t dl = 0, pl = 0, used = 0;
	int r;

	ext_io_init(&io, e->old_ext, e->n_old);
	io.read = read;
	io.rctx = rctx;
	r = split(st, ext_read, &io, io.total, write, wctx, back, bctx, e->scratch_old, e->data_old,
		  e->scratch_old + e->data_old, e->u_old_len - e->data_old, &dl, &pl, &used, d);
	if (r)
		return r == SI_E_PATCH_EXPAND ? r : exp_fail(d, r, "exp.old.stream", 0, 0);
	if (used != io.total)
		return exp_fail(d, SI_E_PATCH_EXPAND, "exp.old.length", io.total, used);
	if (dl != e->data_old)
		return exp_fail(d, SI_E_PATCH_EXPAND, "exp.old.data_len", e->data_old, dl);
	if (pl != e->u_old_len - e->data_old)
		return exp_fail(d, SI_E_PATCH_EXPAND, "exp.old.parse_len", e->u_old_len - e->data_old,
				pl);
	return 0;
}

static int xz_join(void *st, patch_read_fn read, void *rctx, uint64_t data_base,
		   uint64_t data_len, uint64_t parse_base, uint64_t parse_len, patch_write_fn write,
		   void *wctx, uint64_t m_max, uint64_t *m_len, struct si_diag *d)
{
	return patch_xz_join(st, read, rctx, data_base, data_len, parse_base, parse_len, write,
			     wctx, m_max, m_len, d);
}

static int dfl_join(void *st, patch_read_fn read, void *rctx, uint64_t data_base,
		    uint64_t data_len, uint64_t parse_base, uint64_t parse_len,
		    patch_write_fn write, void *wctx, uint64_t m_max, uint64_t *m_len,
		    struct si_diag *d)
{
	return patch_dfl_join(st, read, rctx, data_base, data_len, parse_base, parse_len, write,
			      wctx, m_max, m_len, d);
}

static int zs_join(void *st, patch_read_fn read, void *rctx, uint64_t data_base,
		   uint64_t data_len, uint64_t parse_base, uint64_t parse_len, patch_write_fn write,
		   void *wctx, uint64_t m_max, uint64_t *m_len, struct si_diag *d)
{
	return patch_zs_join(st, read, rctx, data_base, data_len, parse_base, parse_len, write,
			     wctx, m_max, m_len, d);
}

patch_join_fn patch_exp_join_fn(unsigned kind)
{
	return kind == PATCH_EXP_XZ ? xz_join : kind == PATCH_EXP_DEFLATE ? dfl_join
	       : kind == PATCH_EXP_ZSTD ? zs_join : NULL;
}

/* A split member (kinds 2 and 3) joined from its data and parse in the
 * scratch into its new extents, which it must fill exactly. */
static int join_make(const struct patch_exp *e, patch_join_fn join, void *st, patch_read_fn read,
		     void *rctx, patch_write_fn write, void *wctx, struct si_diag *d)
{
	struct ext_io io;
	uint64_t ml = 0;
	int r;

	ext_io_init(&io, e->new_ext, e->n_new);
	io.write = write;
	io.wctx = wctx;
	r = join(st, read, rctx, e->scratch_new, e->data_new, e->scratch_new + e->data_new,
		 e->u_new_len - e->data_new, ext_write, &io, io.total, &ml, d);
	if (r)
		return r == SI_E_PATCH_EXPAND ? r : exp_fail(d, r, "exp.new.stream", 0, 0);
	if (ml != io.total)
		return exp_fail(d, SI_E_PATCH_EXPAND, "exp.new.length", io.total, ml);
	return 0;
}

int patch_exp_expand(struct patch_exp *e, void *st, patch_read_fn read, void *rctx,
		     patch_write_fn write, void *wctx, patch_read_fn back, void *bctx,
		     struct si_diag *d)
{
	union exp_state *u = st;

	switch ((enum patch_exp_kind)e->kind) {
	case PATCH_EXP_GZIP:
		return gz_expand(e, &u->in, read, rctx, write, wctx, d);
	case PATCH_EXP_XZ:
		return split_expand(e, xz_split, &u->xz, read, rctx, write, wctx, back, bctx, d);
	case PATCH_EXP_DEFLATE:
		return split_expand(e, dfl_split, &u->dfl, read, rctx, write, wctx, back, bctx, d);
	case PATCH_EXP_ZSTD:
		return split_expand(e, zs_split, &u->zs, read, rctx, write, wctx, back, bctx, d);
	}
	return exp_fail(d, SI_E_PATCH_EXPAND, "exp.kind", PATCH_EXP_GZIP, e->kind);
}

int patch_exp_make(const struct patch_exp *e, void *st, patch_read_fn read, void *rctx,
		   patch_write_fn write, void *wctx, struct si_diag *d)
{
	union exp_state *u = st;

	switch ((enum patch_exp_kind)e->kind) {
	case PATCH_EXP_GZIP:
		return gz_make(e, &u->en, read, rctx, write, wctx, d);
	case PATCH_EXP_XZ:
		return join_make(e, xz_join, &u->xz, read, rctx, write, wctx, d);
	case PATCH_EXP_DEFLATE:
		return join_make(e, dfl_join, &u->dfl, read, rctx, write, wctx, d);
	case PATCH_EXP_ZSTD:
		return join_make(e, zs_join, &u->zs, read, rctx, write, wctx, d);
	}
	return exp_fail(d, SI_E_PATCH_EXPAND, "exp.kind", PATCH_EXP_GZIP, e->kind);
}
