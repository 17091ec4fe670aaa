/* sealinit patch/: what the diff learns about the images before matching
 * (build side):
 *
 * - the files of erofs images (the format sealed images use here): path,
 *   size and where the bytes lie (contiguous blocks, and the last partial
 *   block either in a block of its own or inline after the inode);
 * - which gzip members of the new image are diffed decompressed: a file
 *   that is one gzip member, whose deflate stream gz.c's encoder makes again
 *   byte for byte, and whose old version (same path, or the same path with
 *   its numbers changed: a kernel's files carry its version) is a member
 *   that decodes, and that changed;
 * - which xz streams of the new image are diffed decompressed: the first
 *   stream in a changed file (a .xz file, an x86 bzImage's payload) that
 *   xz.c splits into data and parse and joins back byte for byte, when its
 *   old version's file has one too, and when a trial diff of the member
 *   both ways says the split form is smaller (a parse changes wholesale
 *   when much of the data did: an update across many kernel releases);
 *   raw images (a boot kernel collection) count as one file each;
 * - the architecture of the executables inside the new image.
 *
 * The images are the build server's own, but a parser is a parser: every
 * offset is checked against the image, and anything unexpected makes the
 * image "not erofs" (then the diff works on raw bytes). */
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "lib/bytes.h"
#include "patch/diff.h"
#include "patch/diff_int.h"
#include "patch/gz.h"
#include "patch/xz.h"
#include "patch/zs.h"

/* ------------------------------------------------------------ erofs */
#define EROFS_MAGIC 0xE0F5E1E2u
#define EROFS_SB_OFF 1024u
#define EROFS_MAX_FILES (1u << 20)
#define EROFS_MAX_DEPTH 64
/* Raw images (no file system the plan reads): one suffix array of the
 * whole old image, up to this size (4 bytes of memory per byte). */
#define RAW_SA_MAX (256u << 20)

struct efile {
	char *path, *shape; /* shape: the path with runs of digits as '#' */
	uint64_t size;
	struct patch_ext ext[2];
	unsigned n_ext;
};

struct efiles {
	struct efile *v;
	size_t n, cap;
};

struct erofs {
	const uint8_t *p;
	size_t n;
	unsigned bits;
	uint64_t bs, meta;
};

/* Where an inode's data lies; 0 or -1 (a layout the diff does not read:
 * compressed or chunked). */
static int erofs_inode(const struct erofs *fs, uint64_t nid, uint16_t *mode, uint64_t *size,
		       struct patch_ext *ext, unsigned *n_ext)
{
	uint64_t off = fs->meta + nid * 32, isz, xsz, nblk, tail;
	const uint8_t *in;
	uint16_t fmt, xcount;
	unsigned layout;
	uint32_t raw;

	if (nid > (fs->n / 32) || !si_span_ok(off, 32, fs->n))
		return -1;
	in = fs->p + off;
	fmt = si_le16(in);
	xcount = si_le16(in + 2);
	*mode = si_le16(in + 4);
	layout = (fmt >> 1) & 7;
	if (fmt & 1) {
		if (!si_span_ok(off, 64, fs->n))
			return -1;
		isz = 64;
		*size = si_le64(in + 8);
	} else {
		isz = 32;
		*size = si_le32(in + 8);
	}
	raw = si_le32(in + 16);
	xsz = xcount ? 12 + ((uint64_t)xcount - 1) * 4 : 0;
	*n_ext = 0;
	if (*size == 0)
		return 0;
	nblk = (*size + fs->bs - 1) / fs->bs;
	if (layout == 0) { /* flat, all blocks contiguous */
		ext[0].off = (uint64_t)raw * fs->bs;
		ext[0].len = *size;
		*n_ext = 1;
	} else if (layout == 2) { /* flat, the last block inline after the inode */
		tail = *size - (nblk - 1) * fs->bs;
		if (nblk > 1) {
			ext[*n_ext].off = (uint64_t)raw * fs->bs;
			ext[*n_ext].len = (nblk - 1) * fs->bs;
			(*n_ext)++;
		}
		ext[*n_ext].off = off + isz + xsz;
		ext[*n_ext].len = tail;
		(*n_ext)++;
	} else {
		return -1;
	}
	for (unsigned j = 0; j < *n_ext; j++)
		if (!si_span_ok(ext[j].off, ext[j].len, fs->n))
			return -1;
	return 0;
}

/* A path with each run of digits as '#': a kernel's files carry its
 * version in their paths. */
static void path_shape(const char *s, char *out, size_t cap)
{
	size_t o = 0;

	while (*s && o + 1 < cap) {
		if (*s >= '0' && *s <= '9') {
			out[o++] = '#';
			while (*s >= '0' && *s <= '9')
				s++;
		} else {
			out[o++] = *s++;
		}
	}
	out[o] = 0;
}

static int files_push(struct efiles *f, const char *path, size_t plen, uint64_t size,
		      const struct patch_ext *ext, unsigned n_ext)
{
	struct efile *e;

	if (f->n == EROFS_MAX_FILES)
		return -1;
	if (diff_grow(&f->v, f->n, &f->cap, sizeof *f->v, 256))
		return SI_E_NOMEM;
	e = &f->v[f->n];
	e->path = malloc(2 * plen + 2);
	if (!e->path)
		return SI_E_NOMEM;
	memcpy(e->path, path, plen);
	e->path[plen] = 0;
	e->shape = e->path + plen + 1;
	path_shape(e->path, e->shape, plen + 1);
	e->size = size;
	e->n_ext = n_ext;
	memcpy(e->ext, ext, sizeof e->ext);
	f->n++;
	return 0;
}

static void files_free(struct efiles *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		free(f->v[i].path);
	free(f->v);
	memset(f, 0, sizeof *f);
}

/* One directory: its entries, block by block (the tail block as long as
 * the tail); regular files are listed, directories walked. */
static int erofs_dir(const struct erofs *fs, uint64_t nid, char *path, size_t plen, int depth,
		     struct efiles *out)
{
	struct patch_ext ext[2];
	unsigned n_ext, j;
	uint16_t mode;
	uint64_t size, at;
	int r;

	if (depth > EROFS_MAX_DEPTH || erofs_inode(fs, nid, &mode, &size, ext, &n_ext) != 0)
		return -1;
	for (j = 0; j < n_ext; j++) {
		for (at = 0; at < ext[j].len; at += fs->bs) {
			const uint8_t *b = fs->p + ext[j].off + at;
			uint64_t blen = ext[j].len - at < fs->bs ? ext[j].len - at : fs->bs;
			uint64_t nd, k;

			if (blen < 12)
				return -1;
			nd = si_le16(b + 8) / 12;
			if (nd == 0 || nd * 12 > blen)
				return -1;
			for (k = 0; k < nd; k++) {
				const uint8_t *de = b + 12 * k;
				uint64_t cnid = si_le64(de), no = si_le16(de + 8);
				uint64_t ne = k + 1 < nd ? si_le16(de + 12 + 8) : blen;
				uint8_t ft = de[10];
				size_t nl;

				if (no > ne || ne > blen)
					return -1;
				nl = (size_t)(ne - no);
				if (k + 1 == nd) /* the last name ends at a NUL or the block */
					nl = strnlen((const char *)b + no, nl);
				if (nl == 0 || plen + 1 + nl >= 4096)
					return -1;
				if ((nl == 1 && b[no] == '.') || (nl == 2 && b[no] == '.' && b[no + 1] == '.'))
					continue;
				path[plen] = '/';
				memcpy(path + plen + 1, b + no, nl);
				if (ft == 2) {
					if ((r = erofs_dir(fs, cnid, path, plen + 1 + nl, depth + 1, out)))
						return r;
				} else if (ft == 1) {
					struct patch_ext fx[2];
					unsigned fn;
					uint16_t fm;
					uint64_t fsz;

					memset(fx, 0, sizeof fx);
					if (erofs_inode(fs, cnid, &fm, &fsz, fx, &fn) == 0 &&
					    (r = files_push(out, path, plen + 1 + nl, fsz, fx, fn)))
						return r;
				}
			}
		}
	}
	return 0;
}

/* The files of an erofs image; 0 with an empty list when it is not one. */
static int erofs_files(const uint8_t *p, size_t n, struct efiles *out)
{
	struct erofs fs;
	char path[4096];
	int r;

	memset(out, 0, sizeof *out);
	if (n < EROFS_SB_OFF + 128 || si_le32(p + EROFS_SB_OFF) != EROFS_MAGIC)
		return 0;
	fs.p = p;
	fs.n = n;
	fs.bits = p[EROFS_SB_OFF + 12];
	if (fs.bits < 9 || fs.bits > 16)
		return 0;
	fs.bs = (uint64_t)1 << fs.bits;
	fs.meta = (uint64_t)si_le32(p + EROFS_SB_OFF + 40) * fs.bs;
	r = erofs_dir(&fs, si_le16(p + EROFS_SB_OFF + 14), path, 0, 0, out);
	if (r == SI_E_NOMEM)
		return r;
	if (r) /* not the erofs we know: no file list */
		files_free(out);
	return 0;
}

/* ------------------------------------------------------- gzip members */
struct mem {
	const uint8_t *p;
	size_t n;
	uint8_t *w;
	size_t wn, wcap;
	const uint8_t *cmp; /* when set: compare instead of store */
	int differs;
};

static int mem_read(void *ctx, uint64_t off, uint8_t *buf, size_t len)
{
	const struct mem *m = ctx;

	if (!si_span_ok(off, len, m->n))
		return SI_E_PATCH_EXPAND;
	memcpy(buf, m->p + off, len);
	return 0;
}

static int mem_write(void *ctx, uint64_t off, const uint8_t *buf, size_t len)
{
	struct mem *m = ctx;

	if (!si_span_ok(off, len, m->wcap))
		return SI_E_PATCH_EXPAND;
	if (m->cmp) {
		if (memcmp(m->cmp + off, buf, len) != 0) {
			m->differs = 1;
			return SI_E_PATCH_EXPAND; /* stop early: it does not reproduce */
		}
	} else {
		memcpy(m->w + off, buf, len);
	}
	if (off + len > m->wn)
		m->wn = off + len;
	return 0;
}

/* A file's bytes in one piece: in the image when they are one extent (a
 * raw image is one file of one extent), else copied into *own (the
 * caller frees it).  NULL when out of memory. */
static const uint8_t *file_view(const uint8_t *img, const struct efile *f, uint8_t **own)
{
	uint8_t *b;
	uint64_t at = 0;
	unsigned j;

	*own = NULL;
	if (f->n_ext == 1 && f->ext[0].len == f->size)
		return img + f->ext[0].off;
	if (!(b = *own = malloc(f->size ? f->size : 1)))
		return NULL;
	for (j = 0; j < f->n_ext; j++) {
		memcpy(b + at, img + f->ext[j].off, f->ext[j].len);
		at += f->ext[j].len;
	}
	return b;
}

/* The gzip header's length (RFC 1952 2.3) or 0; its trailer must fit
 * after it. */
static size_t gz_hdr(const uint8_t *b, size_t n)
{
	size_t p = patch_gz_header_len(b, n);

	return p && p + 8 <= n ? p : 0;
}

/* Decompresses the single member b[0..n); NULL unless it is exactly one
 * valid member (checked trailer) of at most PATCH_EXPAND_MAX bytes.  Its
 * symbols as tokens (gz.h) in *tok (malloc'd), *ntok of them. */
static uint8_t *gz_member(const uint8_t *b, size_t n, size_t *ulen, size_t *hl, uint8_t **tok,
			  size_t *ntok)
{
	struct patch_inflate *st;
	struct mem in = { b, n, NULL, 0, 0, NULL, 0 }, out = { 0 }, tm = { 0 };
	struct gz_tokens tk = { mem_write, &tm, 0, 0 };
	uint64_t used = 0, ol = 0, isize;
	uint32_t crc = 0;

	*hl = gz_hdr(b, n);
	if (*hl == 0)
		return NULL;
	isize = si_le32(b + n - 4);
	/* ISIZE is the size modulo 2^32; members past 4 GiB are not ours.
	 * Deflate makes at most 258 bytes of 2 bits (1032 a byte): a larger
	 * claim is a lie that would size the buffers below (fuzz_plan) */
	if (isize > PATCH_EXPAND_MAX || isize > (uint64_t)(n - *hl - 8) * 1032 + 64)
		return NULL;
	out.wcap = isize;
	out.w = malloc(isize ? isize : 1);
	/* at most a symbol per byte */
	tm.wcap = (size_t)isize * GZ_TOK_LEN;
	tm.w = malloc(tm.wcap ? tm.wcap : 1);
	st = malloc(sizeof *st);
	if (!out.w || !tm.w || !st ||
	    patch_inflate_run(st, mem_read, &in, *hl, n - *hl - 8, mem_write, &out, 0, isize, &tk,
			      &used, &ol, &crc) != 0 ||
	    used != n - *hl - 8 || ol != isize || crc != si_le32(b + n - 8)) {
		free(out.w);
		free(tm.w);
		free(st);
		return NULL;
	}
	free(st);
	*ulen = (size_t)isize;
	*tok = tm.w;
	*ntok = (size_t)tk.count;
	return out.w;
}

/* The reuse list (formats.md, Expansions): spans of the new member that
 * the old member's symbols code, the same symbols in the same order.  A
 * span starts where the new member has nothing pending (its start, or
 * after a match) and ends on a match, so that the search's state is the
 * same at both ends; spans are found by the hash of RU_RUN symbols at
 * their start, grown as far as the symbols agree, in order on both
 * sides.  Spans under RU_MIN bytes are left to the search (a record is
 * GZ_REUSE_REC bytes).  NULL when none. */
#define RU_RUN 8
#define RU_MIN 4096

static uint32_t tok_at(const uint8_t *t, size_t i)
{
	return si_le32(t + i * GZ_TOK_LEN);
}

static uint32_t tok_span(uint32_t t)
{
	return GZ_TOK_IS_MATCH(t) ? GZ_TOK_MLEN(t) : 1;
}

static uint32_t run_hash(const uint8_t *t, size_t i, unsigned bits)
{
	uint64_t h = 0;
	unsigned k;

	for (k = 0; k < RU_RUN; k++)
		h = (h + tok_at(t, i + k)) * 0x9E3779B97F4A7C15ull;
	return (uint32_t)(h >> (64 - bits));
}

static uint8_t *reuse_list(const uint8_t *to, size_t no, const uint8_t *tn, size_t nn,
			   size_t *len)
{
	uint32_t *head = NULL;
	uint64_t *opos = NULL, npos = 0;
	uint8_t *list = NULL;
	size_t cap = 0, i = 0, j, cursor = 0;
	unsigned bits = 10;
	int clean = 1;

	*len = 0;
	if (no < RU_RUN || nn < RU_RUN)
		return NULL;
	while (bits < 24 && ((size_t)1 << bits) < 2 * no) /* 64 MiB at most */
		bits++;
	head = calloc((size_t)1 << bits, sizeof *head);
	opos = malloc((no + 1) * sizeof *opos);
	if (!head || !opos)
		goto out;
	opos[0] = 0;
	for (j = 0; j < no; j++)
		opos[j + 1] = opos[j] + tok_span(tok_at(to, j));
	for (j = no - RU_RUN + 1; j-- > 0;) /* the first occurrence stays */
		head[run_hash(to, j, bits)] = (uint32_t)j + 1;
	while (i + RU_RUN <= nn) {
		uint32_t t = tok_at(tn, i);

		if (clean && (j = head[run_hash(tn, i, bits)]) != 0 && --j >= cursor) {
			size_t k = 0, last = 0;
			uint64_t span = 0, upto = 0;

			while (i + k < nn && j + k < no && tok_at(tn, i + k) == tok_at(to, j + k)) {
				uint32_t u = tok_at(tn, i + k);

				span += tok_span(u);
				k++;
				if (GZ_TOK_IS_MATCH(u)) {
					last = k;
					upto = span;
				}
			}
			if (last && upto >= RU_MIN) {
				uint8_t *nl;

				if (*len + GZ_REUSE_REC > cap) {
					cap = cap ? 2 * cap : 64 * GZ_REUSE_REC;
					if (!(nl = realloc(list, cap)))
						goto fail;
					list = nl;
				}
				si_put_le64(list + *len, npos);
				si_put_le64(list + *len + 8, opos[j]);
				si_put_le64(list + *len + 16, upto);
				*len += GZ_REUSE_REC;
				i += last;
				npos += upto;
				cursor = j + last;
				continue; /* after a match: clean */
			}
		}
		clean = GZ_TOK_IS_MATCH(t);
		npos += tok_span(t);
		i++;
	}
	goto out;
fail:
	free(list);
	list = NULL;
	*len = 0;
out:
	free(head);
	free(opos);
	return list;
}

/* The reuse's two inputs in the diff's memory: the list below
 * RU_TOK_AT, the old tokens from there. */
#define RU_TOK_AT ((uint64_t)1 << 40)
struct ru_mem {
	const uint8_t *list, *tok;
	size_t list_len, tok_len;
};

static int ru_mem_read(void *ctx, uint64_t off, uint8_t *buf, size_t len)
{
	const struct ru_mem *m = ctx;
	const uint8_t *b = m->list;
	size_t n = m->list_len;

	if (off >= RU_TOK_AT) {
		off -= RU_TOK_AT;
		b = m->tok;
		n = m->tok_len;
	}
	if (!si_span_ok(off, len, n))
		return SI_E_PATCH_EXPAND;
	memcpy(buf, b + off, len);
	return 0;
}

/* Does gz.c's encoder make exactly the stream of member b (header hl)?
 * With ru, as the apply will with that reuse list and those old tokens. */
static int gz_reproduces(const uint8_t *b, size_t n, size_t hl, const uint8_t *u, size_t ulen,
			 const struct gz_reuse *ru)
{
	struct patch_gzenc *z = malloc(sizeof *z);
	struct mem in = { u, ulen, NULL, 0, 0, NULL, 0 };
	struct mem out = { 0 };
	uint32_t crc;
	int ok;

	if (!z)
		return 0;
	out.cmp = b + hl;
	out.wcap = n - hl - 8;
	ok = patch_gzenc_run(z, mem_read, &in, 0, ulen, mem_write, &out, ru, &crc) == 0 &&
	     !out.differs && z->out_total == n - hl - 8;
	free(z);
	return ok;
}

/* ------------------------------------------------------- xz members */
/* The split's output: data below XZ_PARSE_AT, the parse from there, each
 * in a buffer that grows, to XZ_PLAN_MAX (a larger member stays raw: its
 * trial and its suffix array would cost the diff gigabytes). */
#define XZ_PARSE_AT ((uint64_t)1 << 40)
#define XZ_PLAN_MAX ((uint64_t)256 << 20)

struct xz_out {
	uint8_t *b[2];
	size_t n[2], cap[2];
};

static int xz_out_write(void *ctx, uint64_t off, const uint8_t *buf, size_t len)
{
	struct xz_out *o = ctx;
	int k = off >= XZ_PARSE_AT;

	if (k)
		off -= XZ_PARSE_AT;
	if (off > XZ_PLAN_MAX || len > XZ_PLAN_MAX - off)
		return SI_E_PATCH_EXPAND;
	if (off + len > o->cap[k]) {
		size_t c = o->cap[k] ? o->cap[k] : 1u << 20;
		uint8_t *nb;

		while (c < off + len)
			c *= 2;
		if (!(nb = realloc(o->b[k], c)))
			return SI_E_NOMEM;
		o->b[k] = nb;
		o->cap[k] = c;
	}
	memcpy(o->b[k] + off, buf, len);
	if (off + len > o->n[k])
		o->n[k] = (size_t)(off + len);
	return 0;
}

static int xz_out_read(void *ctx, uint64_t off, uint8_t *buf, size_t len)
{
	const struct xz_out *o = ctx;
	int k = off >= XZ_PARSE_AT;

	if (k)
		off -= XZ_PARSE_AT;
	if (!si_span_ok(off, len, o->n[k]))
		return SI_E_PATCH_EXPAND;
	memcpy(buf, o->b[k] + off, len);
	return 0;
}

/* The split in o (data d bytes, parse pl) joined with `join` must give
 * back m[0..mn) byte for byte: then data || parse (malloc'd), else NULL. */
static uint8_t *joined_back(patch_join_fn join, void *z, const struct xz_out *o, uint64_t d,
			    uint64_t pl, const uint8_t *m, size_t mn)
{
	struct mem out = { 0 };
	uint64_t ml = 0;
	uint8_t *u;

	out.cmp = m;
	out.wcap = mn;
	if (join(z, xz_out_read, (void *)o, 0, d, XZ_PARSE_AT, pl, mem_write, &out, mn, &ml, NULL) ||
	    out.differs || ml != mn || !(u = malloc((size_t)(d + pl) + 1)))
		return NULL;
	if (d)
		memcpy(u, o->b[0], (size_t)d);
	if (pl)
		memcpy(u + d, o->b[1], (size_t)pl);
	return u;
}

/* The first member of kind (PATCH_EXP_XZ, PATCH_EXP_ZSTD) in b[0..n) (at
 * most 4 tried: where magic is and ok says a header starts) that splits
 * and joins back byte for byte, as data || parse (malloc'd, *ul bytes;
 * *dl: the data's); the member is b[*at, *at + *ml).  NULL when none
 * does. */
static uint8_t *split_member(unsigned kind, const uint8_t *magic, size_t mn,
			     int (*ok)(const uint8_t *, size_t), const uint8_t *b, size_t n,
			     size_t *at, size_t *ml, size_t *dl, size_t *ul)
{
	void *z = malloc(patch_exp_state_size(1u << kind));
	patch_split_fn split = patch_exp_split_fn(kind);
	size_t from = 0;
	uint8_t *u = NULL;
	int tries = 0;

	while (z && !u && tries < 4 && from + 9 <= n) {
		const uint8_t *h = memmem(b + from, n - from, magic, mn);
		struct xz_out o;
		struct mem in;
		uint64_t d = 0, pl = 0, used = 0;
		size_t off;

		if (!h)
			break;
		off = (size_t)(h - b);
		from = off + 1;
		if (!ok(h, n - off))
			continue;
		tries++;
		memset(&o, 0, sizeof o);
		in = (struct mem){ h, n - off, NULL, 0, 0, NULL, 0 };
		if (split(z, mem_read, &in, n - off, xz_out_write, &o, xz_out_read, &o, 0, XZ_PLAN_MAX,
			  XZ_PARSE_AT, XZ_PLAN_MAX, &d, &pl, &used, NULL) == 0 &&
		    d + pl <= XZ_PLAN_MAX &&
		    (u = joined_back(patch_exp_join_fn(kind), z, &o, d, pl, h, (size_t)used))) {
			*at = off;
			*ml = (size_t)used;
			*dl = (size_t)d;
			*ul = (size_t)(d + pl);
		}
		free(o.b[0]);
		free(o.b[1]);
	}
	free(z);
	return u;
}

static const uint8_t xz_magic[6] = { 0xFD, '7', 'z', 'X', 'Z', 0 };
static const uint8_t zs_magic[4] = { 0x28, 0xB5, 0x2F, 0xFD };

static uint8_t *xz_member(const uint8_t *b, size_t n, size_t *at, size_t *ml, size_t *dl,
			  size_t *ul)
{
	return split_member(PATCH_EXP_XZ, xz_magic, sizeof xz_magic, patch_xz_header_ok, b, n, at,
			    ml, dl, ul);
}

static uint8_t *zs_member(const uint8_t *b, size_t n, size_t *at, size_t *ml, size_t *dl,
			  size_t *ul)
{
	return split_member(PATCH_EXP_ZSTD, zs_magic, sizeof zs_magic, patch_zs_header_ok, b, n, at,
			    ml, dl, ul);
}

/* The old files sorted by path and by shape, for the twin lookups. */
struct twins {
	const struct efile **by_path, **by_shape;
	size_t n;
};

static int cmp_path(const void *a, const void *b)
{
	return strcmp((*(const struct efile *const *)a)->path, (*(const struct efile *const *)b)->path);
}

static int cmp_shape(const void *a, const void *b)
{
	return strcmp((*(const struct efile *const *)a)->shape,
		      (*(const struct efile *const *)b)->shape);
}

static int twins_init(struct twins *t, const struct efiles *of)
{
	size_t i;

	t->n = of->n;
	t->by_path = malloc((of->n + 1) * sizeof *t->by_path);
	t->by_shape = malloc((of->n + 1) * sizeof *t->by_shape);
	if (!t->by_path || !t->by_shape) {
		free(t->by_path);
		free(t->by_shape);
		return SI_E_NOMEM;
	}
	for (i = 0; i < of->n; i++)
		t->by_path[i] = t->by_shape[i] = &of->v[i];
	qsort(t->by_path, of->n, sizeof *t->by_path, cmp_path);
	qsort(t->by_shape, of->n, sizeof *t->by_shape, cmp_shape);
	return 0;
}

static void twins_free(struct twins *t)
{
	free(t->by_path);
	free(t->by_shape);
}

/* A new file's old version: the same path, else the one old file with the
 * same shape (a kernel's files carry its version in their paths). */
static const struct efile *old_twin(const struct twins *t, const struct efile *f)
{
	const struct efile key = { f->path, f->shape, 0, { { 0, 0 }, { 0, 0 } }, 0 }, *kp = &key;
	const struct efile *const *hit;

	hit = bsearch(&kp, t->by_path, t->n, sizeof *t->by_path, cmp_path);
	if (hit)
		return *hit;
	hit = bsearch(&kp, t->by_shape, t->n, sizeof *t->by_shape, cmp_shape);
	if (!hit)
		return NULL;
	/* ambiguous shapes have no twin */
	if ((hit > t->by_shape && strcmp((*(hit - 1))->shape, f->shape) == 0) ||
	    (hit + 1 < t->by_shape + t->n && strcmp((*(hit + 1))->shape, f->shape) == 0))
		return NULL;
	return *hit;
}

/* Appends an expansion that takes over both members decompressed (*uo,
 * *un, then NULL); NULL when out of memory (they stay the caller's). */
static struct diff_exp *exp_add(struct diff_plan *p, size_t *cap, uint8_t kind, uint8_t **uo,
				size_t uol, uint8_t **un, size_t unl)
{
	struct diff_exp *x;

	if (diff_grow(&p->exp, p->nexp, cap, sizeof *p->exp, 16))
		return NULL;
	x = &p->exp[p->nexp++];
	memset(x, 0, sizeof *x);
	x->kind = kind;
	x->u_old = *uo;
	x->u_old_len = uol;
	x->u_new = *un;
	x->u_new_len = unl;
	*uo = *un = NULL;
	return x;
}

/* The extents of bytes [at, at + len) of file f (at most two). */
static unsigned sub_ext(const struct efile *f, uint64_t at, uint64_t len, struct patch_ext out[2])
{
	unsigned j, n = 0;

	memset(out, 0, 2 * sizeof *out);
	for (j = 0; j < f->n_ext && len; j++) {
		uint64_t xl = f->ext[j].len, k;

		if (at >= xl) {
			at -= xl;
			continue;
		}
		k = xl - at < len ? xl - at : len;
		out[n].off = f->ext[j].off + at;
		out[n].len = k;
		n++;
		len -= k;
		at = 0;
	}
	return n;
}

/* Does the split form pay?  Both forms of the member diffed alone (the
 * full diff matches the raw bytes against the whole old image too, which
 * for a compressed stream finds nothing more); the split form must be
 * smaller by 1/32: its apply splits and joins the streams (about a second
 * for a 66 MB kernel). */
static int xz_pays(const uint8_t *om, size_t oml, const uint8_t *nm, size_t nml,
		   const uint8_t *uo, size_t uol, const uint8_t *un, size_t unl,
		   const struct patch_diff_opts *opt)
{
	struct patch_diff_opts t = *opt;
	size_t raw = 0, split = 0;
	uint8_t *q = NULL;

	t.seals = NULL;
	t.progress = NULL;
	t.no_expand = 1;
	if (t.level > 19)
		t.level = 19;
	if (patch_diff(om, oml, nm, nml, &t, &q, &raw, NULL, NULL))
		return 0;
	free(q);
	q = NULL;
	if (patch_diff(uo, uol, un, unl, &t, &q, &split, NULL, NULL))
		return 0;
	free(q);
	return split < raw - raw / 32;
}

/* Does file f hold magic (n bytes)?  (Most files do not: they are not
 * copied.)  A magic split across the two extents (the blocks, the inline
 * tail) is missed: that file is diffed as bytes. */
static int has_magic(const uint8_t *img, const struct efile *f, const uint8_t *magic, size_t n)
{
	unsigned j;

	for (j = 0; j < f->n_ext; j++)
		if (memmem(img + f->ext[j].off, f->ext[j].len, magic, n))
			return 1;
	return 0;
}

/* An xz stream in changed file f (old version g) that pays split. */
static int plan_xz(const uint8_t *old, const uint8_t *nw, const struct efile *f,
		   const struct efile *g, const struct patch_diff_opts *opt, struct diff_plan *p,
		   size_t *cap)
{
	const uint8_t *nb, *ob;
	uint8_t *nown = NULL, *oown = NULL, *un = NULL, *uo = NULL;
	size_t nat = 0, nml = 0, ndl = 0, nul = 0, oat = 0, oml = 0, odl = 0, oul = 0;
	struct diff_exp *x;
	int r = 0;

	if (!has_magic(nw, f, xz_magic, sizeof xz_magic) ||
	    !has_magic(old, g, xz_magic, sizeof xz_magic))
		return 0;
	nb = file_view(nw, f, &nown);
	ob = file_view(old, g, &oown);
	if (!nb || !ob) {
		r = SI_E_NOMEM;
		goto out;
	}
	if (f->size == g->size && memcmp(nb, ob, f->size) == 0)
		goto out;
	if (!(un = xz_member(nb, f->size, &nat, &nml, &ndl, &nul)) ||
	    !(uo = xz_member(ob, g->size, &oat, &oml, &odl, &oul)))
		goto out;
	if (oml == nml && memcmp(ob + oat, nb + nat, nml) == 0)
		goto out;
	p->xz_tried++;
	if (!xz_pays(ob + oat, oml, nb + nat, nml, uo, oul, un, nul, opt))
		goto out;
	if (!(x = exp_add(p, cap, PATCH_EXP_XZ, &uo, oul, &un, nul))) {
		r = SI_E_NOMEM;
		goto out;
	}
	x->n_old = (uint8_t)sub_ext(g, oat, oml, x->old_ext);
	x->n_new = (uint8_t)sub_ext(f, nat, nml, x->new_ext);
	si_put_le64(x->hdr, odl);
	si_put_le64(x->hdr + 8, ndl);
out:
	free(nown);
	free(oown);
	free(un);
	free(uo);
	return r;
}

/* A zstd frame in changed file f (old version g; in an image that is not
 * erofs, the frames themselves), diffed split into data and parse (kind
 * 4) when both split and join back and that pays, as for an xz stream
 * (xz_pays, both forms diffed alone): a changed frame differs from its old
 * version from the change on, and its data and parse usually diff to a
 * fraction of that (a program with 77 bytes inserted: 599,499 -> 2,315
 * bytes), but zstd's window reaches megabytes back, and where the
 * encoder took its matches from across the change (text of a few words
 * repeated) every offset in the parse changes (118,352 -> 127,663). */
static int plan_zs(const uint8_t *old, const uint8_t *nw, const struct efile *f,
		   const struct efile *g, const struct patch_diff_opts *opt, struct diff_plan *p,
		   size_t *cap)
{
	const uint8_t *nb, *ob;
	uint8_t *nown = NULL, *oown = NULL, *un = NULL, *uo = NULL;
	size_t nat = 0, nml = 0, ndl = 0, nul = 0, oat = 0, oml = 0, odl = 0, oul = 0;
	struct diff_exp *x;
	int r = 0;

	if (f->size < 9 || g->size < 9 || f->n_ext == 0 || g->n_ext == 0 ||
	    !has_magic(nw, f, zs_magic, sizeof zs_magic) ||
	    !has_magic(old, g, zs_magic, sizeof zs_magic))
		return 0;
	nb = file_view(nw, f, &nown);
	ob = file_view(old, g, &oown);
	if (!nb || !ob) {
		r = SI_E_NOMEM;
		goto out;
	}
	if (f->size == g->size && memcmp(nb, ob, f->size) == 0)
		goto out;
	if (!(un = zs_member(nb, f->size, &nat, &nml, &ndl, &nul)) ||
	    !(uo = zs_member(ob, g->size, &oat, &oml, &odl, &oul)))
		goto out;
	if (oml == nml && memcmp(ob + oat, nb + nat, nml) == 0)
		goto out;
	if (opt && !xz_pays(ob + oat, oml, nb + nat, nml, uo, oul, un, nul, opt))
		goto out;
	if (!(x = exp_add(p, cap, PATCH_EXP_ZSTD, &uo, oul, &un, nul))) {
		r = SI_E_NOMEM;
		goto out;
	}
	x->n_old = (uint8_t)sub_ext(g, oat, oml, x->old_ext);
	x->n_new = (uint8_t)sub_ext(f, nat, nml, x->new_ext);
	si_put_le64(x->hdr, odl);
	si_put_le64(x->hdr + 8, ndl);
out:
	free(nown);
	free(oown);
	free(un);
	free(uo);
	return r;
}

static int exp_cmp(const void *a, const void *b)
{
	const struct diff_exp *x = a, *y = b;

	return x->new_ext[0].off < y->new_ext[0].off ? -1 : x->new_ext[0].off > y->new_ext[0].off;
}

static int dfl_add(const uint8_t *nb, const struct efile *f, const uint8_t *ob,
		   const struct efile *g, struct diff_plan *p, size_t *cap);

/* A gzip member, file f of the new image with old version g: diffed
 * decompressed when both decode, it changed, and gz.c's encoder makes the
 * new one again byte for byte (with the old member's symbols where they
 * agree, when that reproduces too). */
static int plan_gz(const uint8_t *old, const uint8_t *nw, const struct efile *f,
		   const struct efile *g, struct diff_plan *p, size_t *cap)
{
	const uint8_t *nb, *ob;
	uint8_t *nown = NULL, *oown = NULL, *un = NULL, *uo = NULL;
	uint8_t *tn = NULL, *to = NULL, *list = NULL;
	size_t unl = 0, uol = 0, nhl = 0, ohl = 0, ntn = 0, nto = 0, ll = 0;
	struct diff_exp *x;
	int r = 0, other = 0;

	if (g->size < 18 || g->n_ext == 0)
		return 0;
	nb = file_view(nw, f, &nown);
	ob = file_view(old, g, &oown);
	if (!nb || !ob || (f->size == g->size && memcmp(nb, ob, f->size) == 0))
		goto out; /* unchanged: raw bytes cost nothing */
	un = gz_member(nb, f->size, &unl, &nhl, &tn, &ntn);
	if (!un || nhl > 32) {
		other = 1;
		goto out;
	}
	uo = gz_member(ob, g->size, &uol, &ohl, &to, &nto);
	if (!uo)
		goto out;
	/* the old member's symbols where the new one has the same (the
	 * apply then does not search there), else all searched */
	list = reuse_list(to, nto, tn, ntn, &ll);
	if (list) {
		struct ru_mem rm = { list, to, ll, nto * GZ_TOK_LEN };
		struct gz_reuse ru = { ru_mem_read, &rm, 0, ll, RU_TOK_AT, nto, uol };

		if (ll > UINT32_MAX || unl + ll > PATCH_EXPAND_MAX ||
		    !gz_reproduces(nb, f->size, nhl, un, unl, &ru)) {
			free(list);
			list = NULL;
		}
	}
	if (!list && !gz_reproduces(nb, f->size, nhl, un, unl, NULL)) {
		other = 1; /* not gzip -9's: split (kind 3) */
		goto out;
	}
	if (list) {
		uint8_t *nu = realloc(un, unl + ll);

		if (!nu) {
			r = SI_E_NOMEM;
			goto out;
		}
		un = nu;
		memcpy(un + unl, list, ll);
		unl += ll;
		p->gz_reuse++;
	}
	if (!(x = exp_add(p, cap, PATCH_EXP_GZIP, &uo, uol, &un, unl))) {
		r = SI_E_NOMEM;
		goto out;
	}
	x->reuse_len = list ? (uint32_t)ll : 0;
	x->n_old = (uint8_t)g->n_ext;
	x->n_new = (uint8_t)f->n_ext;
	memcpy(x->old_ext, g->ext, sizeof x->old_ext);
	memcpy(x->new_ext, f->ext, sizeof x->new_ext);
	x->hdr_len = (uint8_t)nhl;
	memcpy(x->hdr, nb, nhl);
out:
	free(un);
	free(uo);
	free(tn);
	free(to);
	free(list);
	if (r == 0 && other) /* with the views it holds */
		r = dfl_add(nb, f, ob, g, p, cap);
	free(nown);
	free(oown);
	return r;
}

/* ------------------------------------------------ deflate members, split */
/* Member b[0..n) (one gzip member or zlib stream) split and joined back
 * byte for byte, as data || parse (malloc'd, *ul bytes; *dl: the data's);
 * NULL when it does not, or is larger than XZ_PLAN_MAX split. */
static uint8_t *dfl_member(const uint8_t *b, size_t n, size_t *dl, size_t *ul)
{
	struct patch_dfl *z = malloc(sizeof *z);
	struct mem in = { b, n, NULL, 0, 0, NULL, 0 };
	struct xz_out o;
	uint64_t d = 0, pl = 0;
	uint8_t *u = NULL;

	memset(&o, 0, sizeof o);
	if (z &&
	    patch_dfl_split(z, mem_read, &in, n, xz_out_write, &o, 0, XZ_PLAN_MAX, XZ_PARSE_AT,
			    XZ_PLAN_MAX, &d, &pl, NULL) == 0 &&
	    d + pl <= XZ_PLAN_MAX &&
	    (u = joined_back(patch_exp_join_fn(PATCH_EXP_DEFLATE), z, &o, d, pl, b, n))) {
		*dl = (size_t)d;
		*ul = (size_t)(d + pl);
	}
	free(o.b[0]);
	free(o.b[1]);
	free(z);
	return u;
}

/* A deflate member, file f of the new image (bytes nb) with old version g
 * (bytes ob), each exactly one gzip member or zlib stream, changed: diffed
 * split into data and parse (kind 3) when both split and join back.  No
 * trial of both forms: a changed compressed stream differs from its old
 * version from the change on, and its data and parse diff to a fraction
 * of that. */
static int dfl_add(const uint8_t *nb, const struct efile *f, const uint8_t *ob,
		   const struct efile *g, struct diff_plan *p, size_t *cap)
{
	uint8_t *un = NULL, *uo = NULL;
	size_t ndl = 0, nul = 0, odl = 0, oul = 0;
	struct diff_exp *x;
	int r = 0;

	if (f->size < 8 || g->size < 8 || f->n_ext == 0 || g->n_ext == 0)
		return 0;
	if (!(un = dfl_member(nb, f->size, &ndl, &nul)) || !(uo = dfl_member(ob, g->size, &odl, &oul)))
		goto out;
	if (!(x = exp_add(p, cap, PATCH_EXP_DEFLATE, &uo, oul, &un, nul))) {
		r = SI_E_NOMEM;
		goto out;
	}
	x->n_old = (uint8_t)g->n_ext;
	x->n_new = (uint8_t)f->n_ext;
	memcpy(x->old_ext, g->ext, sizeof x->old_ext);
	memcpy(x->new_ext, f->ext, sizeof x->new_ext);
	si_put_le64(x->hdr, odl);
	si_put_le64(x->hdr + 8, ndl);
out:
	free(un);
	free(uo);
	return r;
}

/* The same for file f and old version g, when it changed (a zlib stream
 * of an image that is not erofs). */
static int plan_dfl(const uint8_t *old, const uint8_t *nw, const struct efile *f,
		    const struct efile *g, struct diff_plan *p, size_t *cap)
{
	uint8_t *nown = NULL, *oown = NULL;
	const uint8_t *nb = file_view(nw, f, &nown), *ob = file_view(old, g, &oown);
	int r = 0;

	if (!nb || !ob)
		r = SI_E_NOMEM;
	else if (f->size != g->size || memcmp(nb, ob, f->size) != 0)
		r = dfl_add(nb, f, ob, g, p, cap);
	free(nown);
	free(oown);
	return r;
}

static int plan_expansions(const uint8_t *old, const uint8_t *nw, const struct twins *tw,
			   const struct efiles *nf, const struct patch_diff_opts *opt,
			   struct diff_plan *p)
{
	size_t i, cap = 0;
	int r;

	for (i = 0; i < nf->n && p->nexp < CONFIG_PATCH_MAX_EXPANSIONS; i++) {
		const struct efile *f = &nf->v[i], *g;

		if (f->size < 18 || f->n_ext == 0 || f->ext[0].len < 2)
			continue;
		if (nw[f->ext[0].off] != 0x1f || nw[f->ext[0].off + 1] != 0x8b) {
			uint32_t had = p->nexp;

			g = opt && f->size >= 9 ? old_twin(tw, f) : NULL;
			if (g && f->size >= 32 && g->size >= 32 && g->n_ext &&
			    (r = plan_xz(old, nw, f, g, opt, p, &cap)))
				return r;
			if (g && p->nexp == had && (r = plan_zs(old, nw, f, g, opt, p, &cap)))
				return r;
			continue;
		}
		g = old_twin(tw, f);
		if (g && (r = plan_gz(old, nw, f, g, p, &cap)))
			return r;
	}
	/* the format wants them in the order of their new extents */
	if (p->nexp)
		qsort(p->exp, p->nexp, sizeof *p->exp, exp_cmp);
	return 0;
}

/* ------------------------------------ members of other images */
/* An image that is not erofs (ext4, a tar, a disk image) has no paths the
 * plan reads, but its gzip members and xz streams are found where a
 * file's data can begin, every RAW_ALIGN bytes (tar's records, file
 * systems' blocks): a gzip header there and a deflate stream that
 * decodes, its CRC-32 and length checked; an xz stream header there and
 * its footer (xz_stream_len).  A member of the new image that the old
 * image does not hold byte for byte is paired with the changed old member
 * of its kind whose decompressed bytes are most alike (a bottom-k sketch
 * of their 8-byte shingles: at least SK_MIN of the SK_N smallest hashes of
 * both together in each), and the pair is planned as two files of erofs
 * images are.  A member whose blocks a file system did not keep together
 * does not decode where it starts: its bytes are diffed raw, as before. */
#define RAW_ALIGN 512u
#define RAW_MEMBERS 4096u /* members looked at in each image */
#define SK_N 64u
#define SK_MIN 8u

enum { RM_GZ, RM_XZ, RM_ZL, RM_ZS }; /* a gzip member, an xz, a zlib stream, a zstd frame */

struct rmem {
	uint64_t off, len; /* the member in its image */
	int kind;          /* RM_GZ, RM_XZ, RM_ZL or RM_ZS */
	uint32_t h;        /* the CRC-32 of its bytes (raw_same's first test) */
	uint64_t ulen;     /* its decompressed length */
	uint64_t sk[SK_N]; /* the smallest shingle hashes, ascending */
	unsigned nsk;
	int same;  /* the other image holds it byte for byte */
	int taken; /* an old member already paired */
};

struct sketch_sink {
	struct rmem *m;
	uint64_t x; /* the last 8 bytes */
	uint64_t n;
	uint32_t adler; /* of the bytes, for a zlib stream's trailer */
};

static void sk_add(struct rmem *m, uint64_t h)
{
	unsigned lo = 0, hi = m->nsk;

	if (m->nsk == SK_N && h >= m->sk[SK_N - 1])
		return;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (m->sk[mid] < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < m->nsk && m->sk[lo] == h)
		return;
	if (m->nsk < SK_N)
		m->nsk++;
	memmove(m->sk + lo + 1, m->sk + lo, (m->nsk - 1 - lo) * sizeof *m->sk);
	m->sk[lo] = h;
}

/* The inflate's output, not kept: only sketched. */
static int sketch_write(void *ctx, uint64_t off, const uint8_t *buf, size_t len)
{
	struct sketch_sink *k = ctx;
	size_t i;

	(void)off;
	if (k->m->kind == RM_ZL)
		k->adler = patch_adler32(k->adler, buf, len);
	for (i = 0; i < len; i++) {
		uint64_t h;

		k->x = k->x << 8 | buf[i];
		if (++k->n < 8)
			continue;
		h = k->x * 0x9E3779B97F4A7C15ull;
		sk_add(k->m, h ^ h >> 31);
	}
	return 0;
}

/* Of the SK_N smallest hashes of a and b together, how many both have. */
static unsigned sk_common(const struct rmem *a, const struct rmem *b)
{
	unsigned i = 0, j = 0, seen = 0, both = 0;

	while (seen < SK_N && (i < a->nsk || j < b->nsk)) {
		if (j >= b->nsk || (i < a->nsk && a->sk[i] < b->sk[j])) {
			i++;
		} else if (i >= a->nsk || b->sk[j] < a->sk[i]) {
			j++;
		} else {
			both++;
			i++;
			j++;
		}
		seen++;
	}
	return both;
}

static uint64_t u64_dist(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

/* The length of the xz stream at b[0] (n bytes to the image's end), from
 * its footer and index: the first "YZ" at a multiple of 4 bytes whose
 * footer has the header's flags and a good CRC-32, whose index (where the
 * footer's backward size puts it) has a good CRC-32, and whose blocks, by
 * the index's records, fill the stream from its header to the index; 0
 * when none.  The stream itself is decoded only if it changed. */
static uint64_t xz_stream_len(const uint8_t *b, uint64_t n)
{
	uint64_t at;

	if (!patch_xz_header_ok(b, n > 12 ? 12 : (size_t)n))
		return 0;
	for (at = 24; at + 12 <= n; at += 4) {
		const uint8_t *f = b + at;
		uint64_t back, count, blocks = 0, v, k;
		size_t ix, p;

		if (f[10] != 'Y' || f[11] != 'Z' || f[8] != b[6] || f[9] != b[7] ||
		    patch_crc32(0, f + 4, 6) != si_le32(f))
			continue;
		back = ((uint64_t)si_le32(f + 4) + 1) * 4;
		if (back < 8 || back > at - 12)
			continue;
		ix = (size_t)(at - back);
		if (b[ix] != 0 || patch_crc32(0, b + ix, (size_t)back - 4) != si_le32(f - 4))
			continue;
		p = ix + 1;
		if (patch_xz_vli(b, (size_t)at - 4, &p, &count) != 0)
			continue;
		for (k = 0; k < count; k++) {
			if (patch_xz_vli(b, (size_t)at - 4, &p, &v) != 0 || v > n)
				break;
			blocks += (v + 3) & ~(uint64_t)3;
			if (patch_xz_vli(b, (size_t)at - 4, &p, &v) != 0 || blocks > n)
				break;
		}
		if (k == count && 12 + blocks == ix)
			return at + 12;
	}
	return 0;
}

/* The gzip member starting at b[0] (n bytes to the image's end) into *m;
 * 0 when there is none. */
static int raw_member(const uint8_t *b, uint64_t n, struct patch_inflate *st, struct rmem *m)
{
	struct mem in = { b, (size_t)n, NULL, 0, 0, NULL, 0 };
	struct sketch_sink k = { m, 0, 0, 1 };
	uint64_t used = 0, ol = 0;
	uint32_t crc = 0;
	/* a header of up to DFL_HDR_MAX bytes (a long file name): kind 1
	 * takes 32 at most, kind 3 the rest */
	size_t hl = gz_hdr(b, n > DFL_HDR_MAX ? DFL_HDR_MAX : (size_t)n);

	if (hl == 0)
		return 0;
	memset(m, 0, sizeof *m);
	if (patch_inflate_run(st, mem_read, &in, hl, n - hl, sketch_write, &k, 0,
			      PATCH_EXPAND_MAX, NULL, &used, &ol, &crc) != 0 ||
	    hl + used + 8 > n || crc != si_le32(b + hl + used) ||
	    (uint32_t)ol != si_le32(b + hl + used + 4))
		return 0;
	m->len = hl + used + 8;
	m->ulen = ol;
	m->h = patch_crc32(0, b, (size_t)m->len);
	return 1;
}

/* Appends m to (*v)[0..*k), of room for *cap, growing it by doubling. */
static int rm_push(struct rmem **v, size_t *k, size_t *cap, const struct rmem *m)
{
	if (*k == *cap) {
		size_t nc = *cap ? 2 * *cap : 16;
		struct rmem *nv = realloc(*v, nc * sizeof **v);

		if (!nv)
			return SI_E_NOMEM;
		*v = nv;
		*cap = nc;
	}
	(*v)[(*k)++] = *m;
	return 0;
}

static int raw_members(const uint8_t *img, size_t n, struct patch_inflate *st, struct rmem **out,
		       size_t *count)
{
	struct rmem *v = NULL, m;
	size_t k = 0, cap = 0;
	uint64_t off;

	for (off = 0; off + 18 <= n && k < RAW_MEMBERS; off += RAW_ALIGN) {
		const uint8_t *b = img + off;

		if (b[0] == 0xFD && b[1] == '7') {
			memset(&m, 0, sizeof m);
			m.kind = RM_XZ;
			if (!(m.len = xz_stream_len(b, n - off)))
				continue;
			m.h = patch_crc32(0, b, (size_t)m.len);
		} else if (b[0] != 0x1f || b[1] != 0x8b || b[2] != 8 ||
			   !raw_member(b, n - off, st, &m)) {
			continue;
		}
		m.off = off;
		if (rm_push(&v, &k, &cap, &m)) {
			free(v);
			return SI_E_NOMEM;
		}
		/* the next one begins past this one */
		off += (m.len - 1) / RAW_ALIGN * RAW_ALIGN;
	}
	*out = v;
	*count = k;
	return 0;
}

/* The zlib stream at b[0] (n bytes to the image's end) into *m; 0 when
 * there is none.  Its header must be 0x78 (deflate, a 32 KiB window, as
 * zlib writes it by default) with no preset dictionary; the deflate stream
 * must decode, to at least ZL_MIN bytes, and be followed by their
 * Adler-32, so that compressed or random bytes that happen to begin like
 * one are not taken. */
#define ZL_MIN 64u

static int zl_member(const uint8_t *b, uint64_t n, struct patch_inflate *st, struct rmem *m)
{
	struct mem in = { b, (size_t)n, NULL, 0, 0, NULL, 0 };
	struct sketch_sink k = { m, 0, 0, 1 };
	uint64_t used = 0, ol = 0;
	uint32_t crc = 0;

	if (n < 2 + 2 + 4 || b[0] != 0x78 || (b[1] & 0x20) || ((unsigned)b[0] << 8 | b[1]) % 31)
		return 0;
	memset(m, 0, sizeof *m);
	m->kind = RM_ZL;
	if (patch_inflate_run(st, mem_read, &in, 2, n - 2, sketch_write, &k, 0, PATCH_EXPAND_MAX,
			      NULL, &used, &ol, &crc) != 0 ||
	    ol < ZL_MIN || 2 + used + 4 > n || si_be32(b + 2 + used) != k.adler)
		return 0;
	m->len = 2 + used + 4;
	m->ulen = ol;
	m->h = patch_crc32(0, b, (size_t)m->len);
	return 1;
}

/* The zlib streams of img[0..n) (a squashfs image's blocks, which are not
 * aligned), outside the members already found (v[0..*count), in order),
 * appended to them. */
static int zl_members(const uint8_t *img, size_t n, struct patch_inflate *st, struct rmem **v,
		      size_t *count)
{
	size_t found = *count, k = *count, cap = *count, j = 0;
	uint64_t off = 0;
	struct rmem m;

	while (off + 8 <= n && k < RAW_MEMBERS) {
		const uint8_t *h = memchr(img + off, 0x78, n - off - 7);

		if (!h)
			break;
		off = (uint64_t)(h - img);
		while (j < found && (*v)[j].off + (*v)[j].len <= off)
			j++;
		if (j < found && (*v)[j].off <= off) {
			off = (*v)[j].off + (*v)[j].len; /* inside a gzip or xz member */
			continue;
		}
		if (!zl_member(h, n - off, st, &m) ||
		    (j < found && off + m.len > (*v)[j].off)) {
			off++;
			continue;
		}
		m.off = off;
		if (rm_push(v, &k, &cap, &m))
			return SI_E_NOMEM;
		off += m.len;
	}
	*count = k;
	return 0;
}

/* The zstd frame at b[0] (n bytes to the image's end) into *m; 0 when
 * there is none: a frame header without a dictionary, a frame libzstd
 * finds the end of and decodes, to at least ZL_MIN bytes (sketched). */
static int zs_rmember(const uint8_t *b, uint64_t n, struct rmem *m)
{
	struct sketch_sink k = { m, 0, 0, 1 };
	ZSTD_DStream *ds;
	ZSTD_inBuffer in;
	uint8_t out[1u << 16];
	size_t len, r = 1;
	int ok = 0;

	if (!patch_zs_header_ok(b, n > 18 ? 18 : (size_t)n))
		return 0;
	len = ZSTD_findFrameCompressedSize(b, (size_t)n);
	if (ZSTD_isError(len) || len < 9 || !(ds = ZSTD_createDStream()))
		return 0;
	memset(m, 0, sizeof *m);
	m->kind = RM_ZS;
	in = (ZSTD_inBuffer){ b, len, 0 };
	(void)ZSTD_DCtx_setParameter(ds, ZSTD_d_windowLogMax, 31);
	while (r != 0) {
		ZSTD_outBuffer o = { out, sizeof out, 0 };

		r = ZSTD_decompressStream(ds, &o, &in);
		if (ZSTD_isError(r) || (o.pos == 0 && in.pos == in.size && r != 0))
			break;
		(void)sketch_write(&k, 0, out, o.pos);
		if (k.n > PATCH_EXPAND_MAX)
			break;
	}
	if (r == 0 && in.pos == len && k.n >= ZL_MIN && k.n <= PATCH_EXPAND_MAX) {
		m->len = len;
		m->ulen = k.n;
		m->h = patch_crc32(0, b, len);
		ok = 1;
	}
	ZSTD_freeDStream(ds);
	return ok;
}

/* Does [off, off + len) meet one of v[0..n)? */
static const struct rmem *rm_meets(const struct rmem *v, size_t n, uint64_t off, uint64_t len)
{
	size_t j;

	for (j = 0; j < n; j++)
		if (v[j].off < off + len && off < v[j].off + v[j].len)
			return &v[j];
	return NULL;
}

/* The zstd frames of img[0..n), at any offset, outside the members
 * already found (v[0..*count), in any order: the magic is rare but in
 * them), appended to them. */
static int zs_members(const uint8_t *img, size_t n, struct rmem **v, size_t *count)
{
	size_t found = *count, k = *count, cap = *count;
	uint64_t off = 0;
	const struct rmem *in;
	struct rmem m;

	while (off + 9 <= n && k < RAW_MEMBERS) {
		const uint8_t *h = memmem(img + off, n - off, zs_magic, sizeof zs_magic);

		if (!h)
			break;
		off = (uint64_t)(h - img);
		if ((in = rm_meets(*v, found, off, 1))) {
			off = in->off + in->len; /* inside another member */
			continue;
		}
		if (!zs_rmember(h, n - off, &m) || rm_meets(*v, found, off, m.len)) {
			off++;
			continue;
		}
		m.off = off;
		if (rm_push(v, &k, &cap, &m))
			return SI_E_NOMEM;
		off += m.len;
	}
	*count = k;
	return 0;
}

/* Does [off, off + len) meet an extent the plan's expansions already
 * take, in the old image (old) or the new one? */
static int exp_meets(const struct diff_plan *p, int old, uint64_t off, uint64_t len)
{
	uint32_t k;
	unsigned j;

	for (k = 0; k < p->nexp; k++) {
		const struct diff_exp *x = &p->exp[k];
		unsigned n = old ? x->n_old : x->n_new;

		for (j = 0; j < n; j++) {
			const struct patch_ext *e = old ? &x->old_ext[j] : &x->new_ext[j];

			if (e->off < off + len && off < e->off + e->len)
				return 1;
		}
	}
	return 0;
}

/* Marks the members both images hold byte for byte. */
static void raw_same(const uint8_t *old, struct rmem *o, size_t no, const uint8_t *nw,
		     struct rmem *nv, size_t nn)
{
	size_t i, j;

	for (i = 0; i < nn; i++)
		for (j = 0; j < no; j++)
			if (o[j].kind == nv[i].kind && o[j].len == nv[i].len && o[j].h == nv[i].h &&
			    memcmp(old + o[j].off, nw + nv[i].off, (size_t)o[j].len) == 0) {
				nv[i].same = o[j].same = 1;
				break;
			}
}

/* A changed xz stream's sketch, from its data: 0, or -1 when it does not
 * split and join back (it is then left raw). */
static int xz_sketch(const uint8_t *img, struct rmem *m)
{
	size_t at = 0, ml = 0, dl = 0, ul = 0;
	uint8_t *u = xz_member(img + m->off, (size_t)m->len, &at, &ml, &dl, &ul);
	struct sketch_sink k = { m, 0, 0, 1 };

	if (!u)
		return -1;
	if (at != 0 || ml != m->len) {
		free(u);
		return -1;
	}
	m->ulen = dl;
	(void)sketch_write(&k, 0, u, dl);
	free(u);
	return 0;
}

static int plan_raw(const uint8_t *old, size_t on, const uint8_t *nw, size_t nn,
		    const struct patch_diff_opts *opt, struct diff_plan *p, size_t *cap)
{
	struct patch_inflate *st = malloc(sizeof *st);
	struct rmem *o = NULL, *nv = NULL;
	size_t no = 0, nc = 0, i, j;
	int r;

	if (!st)
		return SI_E_NOMEM;
	r = raw_members(old, on, st, &o, &no);
	if (r == 0)
		r = raw_members(nw, nn, st, &nv, &nc);
	if (r == 0)
		r = zl_members(old, on, st, &o, &no);
	if (r == 0)
		r = zl_members(nw, nn, st, &nv, &nc);
	free(st);
	/* the zstd frames, after the others (zl_members wants those before
	 * it sorted; zs_members takes them in any order) */
	if (r == 0)
		r = zs_members(old, on, &o, &no);
	if (r == 0)
		r = zs_members(nw, nn, &nv, &nc);
	if (r == 0)
		raw_same(old, o, no, nw, nv, nc);
	/* the changed xz streams decoded, for their sketches */
	for (i = 0; r == 0 && i < no; i++)
		if (o[i].kind == RM_XZ && !o[i].same && xz_sketch(old, &o[i]))
			o[i].same = 1; /* not to be paired */
	for (i = 0; r == 0 && i < nc; i++)
		if (nv[i].kind == RM_XZ && !nv[i].same && xz_sketch(nw, &nv[i]))
			nv[i].same = 1;
	for (i = 0; r == 0 && i < nc && p->nexp < CONFIG_PATCH_MAX_EXPANSIONS; i++) {
		size_t best = no;
		unsigned bc = SK_MIN - 1, c;

		if (nv[i].same || exp_meets(p, 0, nv[i].off, nv[i].len))
			continue;
		for (j = 0; j < no; j++) {
			if (o[j].kind != nv[i].kind || o[j].same || o[j].taken ||
			    exp_meets(p, 1, o[j].off, o[j].len))
				continue;
			c = sk_common(&nv[i], &o[j]);
			if (c > bc || (c == bc && best < no &&
				       u64_dist(o[j].ulen, nv[i].ulen) <
					       u64_dist(o[best].ulen, nv[i].ulen))) {
				bc = c;
				best = j;
			}
		}
		if (best < no) {
			const struct efile f = { NULL, NULL, nv[i].len, { { nv[i].off, nv[i].len },
									  { 0, 0 } }, 1 };
			const struct efile g = { NULL, NULL, o[best].len, { { o[best].off, o[best].len },
									    { 0, 0 } }, 1 };

			o[best].taken = 1;
			if (nv[i].kind == RM_XZ)
				r = plan_xz(old, nw, &f, &g, opt, p, cap);
			else if (nv[i].kind == RM_ZL)
				r = plan_dfl(old, nw, &f, &g, p, cap);
			else if (nv[i].kind == RM_ZS)
				r = plan_zs(old, nw, &f, &g, opt, p, cap);
			else
				r = plan_gz(old, nw, &f, &g, p, cap);
		}
	}
	free(o);
	free(nv);
	return r;
}

/* The main extent of a file: its blocks (the inline tail is small). */
static const struct patch_ext *main_ext(const struct efile *f)
{
	return f->n_ext == 2 && f->ext[1].len > f->ext[0].len ? &f->ext[1] : &f->ext[0];
}

static int pair_cmp(const void *a, const void *b)
{
	const struct match_pair *x = a, *y = b;

	return x->new_lo < y->new_lo ? -1 : x->new_lo > y->new_lo;
}

/* Each changed file of the new image and its old version: the matcher
 * looks there first. */
static int plan_pairs(const uint8_t *old, const uint8_t *nw, const struct twins *tw,
		      const struct efiles *nf, struct diff_plan *p)
{
	size_t i, cap = 0;

	for (i = 0; i < nf->n; i++) {
		const struct efile *f = &nf->v[i], *g;
		const struct patch_ext *a, *b;

		if (f->n_ext == 0 || !(g = old_twin(tw, f)) || g->n_ext == 0)
			continue;
		a = main_ext(f);
		b = main_ext(g);
		if (a->len < 64 || b->len < 64 || b->len >= INT32_MAX ||
		    (a->len == b->len && memcmp(nw + a->off, old + b->off, a->len) == 0))
			continue;
		if (diff_grow(&p->pairs, p->npairs, &cap, sizeof *p->pairs, 256))
			return SI_E_NOMEM;
		p->pairs[p->npairs].new_lo = a->off;
		p->pairs[p->npairs].new_hi = a->off + a->len;
		p->pairs[p->npairs].old_lo = b->off;
		p->pairs[p->npairs].old_hi = b->off + b->len;
		p->npairs++;
	}
	if (p->npairs)
		qsort(p->pairs, p->npairs, sizeof *p->pairs, pair_cmp);
	return 0;
}

/* --------------------------------------------------------- BTF data */
/* Bytes of file f at offset off (through its extents), n <= 64; 0 or -1. */
static int file_read(const uint8_t *img, const struct efile *f, uint64_t off, uint8_t *b,
		     size_t n)
{
	unsigned j;

	if (!si_span_ok(off, n, f->size))
		return -1;
	for (j = 0; j < f->n_ext && n; j++) {
		if (off >= f->ext[j].len) {
			off -= f->ext[j].len;
			continue;
		}
		while (n && off < f->ext[j].len) {
			*b++ = img[f->ext[j].off + off++];
			n--;
		}
		off = 0;
	}
	return n ? -1 : 0;
}

/* File range [lo, hi) as image ranges, appended to the plan's BTF list. */
static int code_push(struct diff_plan *p, size_t *cap, const struct efile *f, uint64_t lo,
		     uint64_t hi)
{
	uint64_t at = 0;
	unsigned j;

	for (j = 0; j < f->n_ext; j++) {
		uint64_t a = lo > at ? lo : at, b = hi < at + f->ext[j].len ? hi : at + f->ext[j].len;

		if (a < b) {
			if (diff_grow(&p->btf, p->nbtf, cap, sizeof *p->btf, 256))
				return SI_E_NOMEM;
			p->btf[p->nbtf].off = f->ext[j].off + (a - at);
			p->btf[p->nbtf].len = b - a;
			p->nbtf++;
		}
		at += f->ext[j].len;
	}
	return 0;
}

static int ext_off_cmp(const void *a, const void *b)
{
	const struct patch_ext *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* Where the new image holds type information that builds renumber and
 * reorder wholesale: the .BTF sections of ELF files (every kernel module
 * has one, 15% of a kernel collection).  There a cover that agrees only
 * half the time is noise that costs more than the literal bytes, so the
 * matcher asks more of covers (measured on the kc64 pair's modules: their
 * BTF costs 6% less).  Also notes where the ELF files are: outside them a
 * far source must be longer to pay (text snippets found anywhere). */
static int plan_btf(const uint8_t *nw, const struct efiles *nf, struct diff_plan *p)
{
	size_t i, cap = 0, ecap = 0;
	int r;

	for (i = 0; i < nf->n; i++) {
		const struct efile *f = &nf->v[i];
		uint8_t h[64];
		uint64_t shoff;
		unsigned shent, shnum, k;

		if (f->size < 64 || file_read(nw, f, 0, h, 64) != 0)
			continue;
		if (memcmp(h, "\x7f" "ELF\x02\x01", 6) != 0)
			continue;
		{
			unsigned j;

			for (j = 0; j < f->n_ext; j++) {
				if (diff_grow(&p->elf, p->nelf, &ecap, sizeof *p->elf, 256))
					return SI_E_NOMEM;
				p->elf[p->nelf++] = f->ext[j];
			}
		}
		shoff = si_le64(h + 0x28);
		shent = si_le16(h + 0x3A);
		shnum = si_le16(h + 0x3C);
		if (shent < 64 || shnum == 0)
			continue;
		{
			uint8_t sh[64];
			uint64_t stroff, strsz;
			unsigned strndx = si_le16(h + 0x3E);

			if (strndx >= shnum ||
			    file_read(nw, f, shoff + (uint64_t)strndx * shent, sh, 64) != 0)
				continue;
			stroff = si_le64(sh + 0x18);
			strsz = si_le64(sh + 0x20);
			for (k = 0; k < shnum; k++) {
				uint64_t off, sz, nm;
				uint8_t name[5];

				if (file_read(nw, f, shoff + (uint64_t)k * shent, sh, 64) != 0)
					break;
				off = si_le64(sh + 0x18);
				sz = si_le64(sh + 0x20);
				nm = si_le32(sh);
				if (si_le32(sh + 4) != 1 || !si_span_ok(off, sz, f->size) || nm + 5 > strsz ||
				    file_read(nw, f, stroff + nm, name, 5) != 0 ||
				    memcmp(name, ".BTF", 5) != 0)
					continue;
				if ((r = code_push(p, &cap, f, off, off + sz)))
					return r;
			}
		}
	}
	if (p->nbtf)
		qsort(p->btf, p->nbtf, sizeof *p->btf, ext_off_cmp);
	if (p->nelf)
		qsort(p->elf, p->nelf, sizeof *p->elf, ext_off_cmp);
	return 0;
}

/* ------------------------------------------------------ architecture */
/* The executables' architecture: ELF headers (x86-64 62, aarch64 183) and
 * arm64 kernel Images ("ARM\x64" at 56) at block starts, by majority.
 * Files start on 4 KiB blocks in erofs and ext4 images; a raw executable
 * starts at 0. */
static int arch_of(const uint8_t *p, size_t n)
{
	size_t off, x86 = 0, a64 = 0;

	for (off = 0; off + 64 <= n; off += 4096) {
		const uint8_t *h = p + off;

		if (memcmp(h, "\x7f" "ELF\x02\x01", 6) == 0) {
			uint16_t m = si_le16(h + 18);

			x86 += m == 62;
			a64 += m == 183;
		} else if (memcmp(h + 56, "ARM\x64", 4) == 0) {
			a64 += 64; /* a kernel Image is worth many modules */
		}
	}
	if (x86 > a64)
		return PATCH_ARCH_X86_64;
	if (a64 > x86)
		return PATCH_ARCH_AARCH64;
	return PATCH_ARCH_NONE;
}

int diff_plan_make(const uint8_t *old, size_t on, const uint8_t *nw, size_t nn,
		   const struct patch_diff_opts *opt, struct diff_plan *p)
{
	struct efiles of, nf;
	int r;

	memset(p, 0, sizeof *p);
	p->arch = arch_of(nw, nn);
	r = erofs_files(old, on, &of);
	if (r)
		return r;
	r = erofs_files(nw, nn, &nf);
	if (r == 0 && of.n && nf.n) {
		struct twins tw;

		r = twins_init(&tw, &of);
		if (r == 0 && !(opt && opt->no_expand))
			r = plan_expansions(old, nw, &tw, &nf, opt, p);
		if (r == 0)
			r = plan_pairs(old, nw, &tw, &nf, p);
		if (r == 0)
			r = plan_btf(nw, &nf, p);
		twins_free(&tw);
	} else if (r == 0) {
		/* not erofs: the whole images are the one pair, when the
		 * array's text is not too large (a partition's free space
		 * is cut from it) */
		if (on >= 64 && match_sa_text_len(old, on) <= RAW_SA_MAX &&
		    !(p->pairs = malloc(sizeof *p->pairs))) {
			r = SI_E_NOMEM;
		} else if (p->pairs) {
			p->pairs[0].new_lo = 0;
			p->pairs[0].new_hi = nn;
			p->pairs[0].old_lo = 0;
			p->pairs[0].old_hi = on;
			p->npairs = 1;
		}
		/* a boot kernel collection: the kernel's xz stream, as in a
		 * file of erofs images (the images are one file each); other
		 * images' gzip members and xz streams, found by their headers */
		if (r == 0 && opt && !opt->no_expand && nn >= 32) {
			struct efile fo = { NULL, NULL, on, { { 0, on }, { 0, 0 } }, 1 };
			struct efile fn = { NULL, NULL, nn, { { 0, nn }, { 0, 0 } }, 1 };
			size_t cap = 0;

			r = plan_xz(old, nw, &fn, &fo, opt, p, &cap);
			if (r == 0)
				r = plan_raw(old, on, nw, nn, opt, p, &cap);
			if (r == 0 && p->nexp > 1)
				qsort(p->exp, p->nexp, sizeof *p->exp, exp_cmp);
		}
	}

	files_free(&of);
	files_free(&nf);
	if (r)
		diff_plan_free(p);
	return r;
}

void diff_plan_free(struct diff_plan *p)
{
	uint32_t k;

	for (k = 0; k < p->nexp; k++) {
		free(p->exp[k].u_old);
		free(p->exp[k].u_new);
	}
	free(p->exp);
	free(p->pairs);
	free(p->btf);
	free(p->elf);
	memset(p, 0, sizeof *p);
}
