/* sealinit update/: the host side of update bundles -- the head encoded
 * and signed (update/bundle.h).  sealctl's `update create` lays out the
 * payloads and calls this; the result is read back with the same parser
 * sealinit uses. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/str.h"
#include "patch/diff.h"
#include "patch/patch.h"
#include "update/bundle.h"
#include "update/engine.h"
#include "verify/manifest.h"
#include "verify/sha256.h"

struct w {
	uint8_t *p;
	size_t cap, len;
	int over;
};

static void put(struct w *w, const void *v, size_t n)
{
	if (w->over || n > w->cap - w->len) {
		w->over = 1;
		return;
	}
	memcpy(w->p + w->len, v, n);
	w->len += n;
}

static void put_u8(struct w *w, uint8_t v)
{
	put(w, &v, 1);
}

static void put_u64(struct w *w, uint64_t v)
{
	uint8_t b[8];

	si_put_le64(b, v);
	put(w, b, 8);
}

static void tlv(struct w *w, uint16_t tag, const void *v, size_t n)
{
	uint8_t h[4];

	if (n > 0xffff) {
		w->over = 1;
		return;
	}
	si_put_le16(h, tag);
	si_put_le16(h + 2, (uint16_t)n);
	put(w, h, 4);
	put(w, v, n);
}

static void payload(struct w *w, const struct up_payload *p)
{
	put_u64(w, p->off);
	put_u64(w, p->len);
	put(w, p->sha256, 32);
}

int up_bundle_head_build(const struct up_bundle *b, const struct si_signer *sg,
			 uint8_t *out, size_t cap, size_t *len, struct si_diag *d)
{
	static uint8_t body[UP_BUNDLE_BODY_MAX], list[UP_BUNDLE_BODY_MAX];
	struct w wb = { body, sizeof body, 0, 0 }, wl = { list, sizeof list, 0, 0 };
	struct up_bundle check;
	uint8_t tgt[48], kind = SI_KIND_UPDATE;
	size_t total = 0;
	unsigned i;
	int r;

	if (!b || !sg || !out || !len || b->n > UP_BUNDLE_MAX_ENTRIES)
		return SI_E_ARG;
	for (i = 0; i < b->n; i++) {
		const struct up_entry *e = &b->e[i];
		size_t nl = strlen(e->name);

		put_u8(&wl, (uint8_t)e->kind);
		put_u8(&wl, (uint8_t)nl);
		put(&wl, e->name, nl);
		put_u8(&wl, (uint8_t)e->action);
		put_u8(&wl, 0);
		put(&wl, e->base_digest, 32);
		put_u64(&wl, e->base_size);
		put(&wl, e->target_digest, 32);
		put_u64(&wl, e->target_size);
		payload(&wl, &e->fwd);
		payload(&wl, &e->rev);
	}
	si_put_le64(tgt, b->target.off);
	si_put_le64(tgt + 8, b->target.len);
	memcpy(tgt + 16, b->target.sha256, 32);
	tlv(&wb, SI_TAG_KIND, &kind, 1);
	tlv(&wb, SI_TAG_NAME, b->name, strlen(b->name));
	tlv(&wb, SI_TAG_VERSION, b->version, strlen(b->version));
	{
		uint8_t rb[8];

		si_put_le64(rb, b->rollback_index);
		tlv(&wb, SI_TAG_ROLLBACK, rb, 8);
	}
	tlv(&wb, UP_TAG_BASE, b->base_set, 32);
	tlv(&wb, UP_TAG_BASE_NAME, b->base_name, strlen(b->base_name));
	tlv(&wb, UP_TAG_TARGET, tgt, 48);
	tlv(&wb, UP_TAG_ENTRIES, list, wl.len);
	{
		uint8_t pe[8];

		si_put_le64(pe, b->payload_end);
		tlv(&wb, UP_TAG_PAYLOAD_END, pe, 8);
	}
	if (wl.over || wb.over)
		return si_diag_want(d, SI_E_MANIFEST_TOO_BIG, "bundle.body", UP_BUNDLE_BODY_MAX,
				    wb.len + wl.len);
	r = si_manifest_sign(body, wb.len, sg, out, cap, &total, d);
	if (r)
		return r;
	/* Read back as sealinit will (the payloads are checked against the
	 * file's size by the caller, which knows it). */
	r = up_bundle_open_unverified(out, total, b->payload_end, &check, d);
	if (r)
		return r;
	*len = total;
	return 0;
}

/* ------------------------------------------------------------ create */

struct slotdir {
	const char *dir;
	uint8_t set_bytes[SI_MANIFEST_MAX];
	size_t set_len;
	struct si_set set;
};

struct map {
	const uint8_t *p;
	size_t len;
};

static int map_file(const char *path, struct map *m, struct si_diag *d)
{
	struct stat st;
	void *p;
	int fd;

	m->p = NULL;
	m->len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return si_diag_sys(d, SI_E_OPEN, path, errno);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		close(fd);
		si_diag_where(d, path, strlen(path));
		si_diag_text(d, "a non-empty regular file", "something else");
		return SI_E_FILE_TYPE;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return si_diag_sys(d, SI_E_IO, path, errno);
	m->p = p;
	m->len = (size_t)st.st_size;
	return 0;
}

static void unmap(struct map *m)
{
	if (m->p)
		munmap((void *)m->p, m->len);
	m->p = NULL;
}

static int slot_open(const char *dir, struct slotdir *s, struct si_diag *d)
{
	char path[4096];
	struct map m;
	int r;

	s->dir = dir;
	snprintf(path, sizeof path, "%s/release.set", dir);
	r = map_file(path, &m, d);
	if (r)
		return r;
	if (m.len > sizeof s->set_bytes) {
		unmap(&m);
		return si_diag_want(d, SI_E_TOO_BIG, path, sizeof s->set_bytes, m.len);
	}
	memcpy(s->set_bytes, m.p, m.len);
	s->set_len = m.len;
	unmap(&m);
	r = si_set_open_unverified(s->set_bytes, s->set_len, &s->set, d);
	if (r)
		si_diag_where(d, path, strlen(path));
	return r;
}

/* An image of a slot directory, checked against its set's entry. */
static int image_load(const struct up_create_args *a, const struct slotdir *s,
		      const struct si_set_image *im, struct map *m, struct si_diag *d)
{
	struct up_engine e;
	struct si_seal_unverified u;
	struct si_mem_io mio;
	struct si_io io;
	char rel[UP_PATH_MAX], path[4096];
	int r;

	memset(&e, 0, sizeof e);
	e.kc_boot_path = a->kc_boot_path;
	e.cryptex_dir = a->cryptex_dir;
	up_image_path(&e, 'a', im->kind, im->name, rel, sizeof rel);
	snprintf(path, sizeof path, "%s/%s", s->dir, rel + strlen("slots/a/"));
	r = map_file(path, m, d);
	if (r)
		return r;
	si_io_mem(&io, &mio, m->p, m->len);
	r = si_seal_open_unverified(&io, &u, d);
	if (r == 0 && si_ct_memcmp(u.m.digest, im->digest, 32) != 0) {
		si_diag_clear(d);
		si_diag_field(d, "manifest digest (release set)");
		si_diag_bytes(d, im->digest, u.m.digest, 32);
		r = SI_E_SET_DIGEST;
	}
	if (r) {
		si_diag_where(d, path, strlen(path));
		unmap(m);
	}
	return r;
}

struct pl {
	uint8_t *p;
	size_t len;
};

static void pl_free(struct pl *p)
{
	free(p->p);
	p->p = NULL;
	p->len = 0;
}

/* The patch cache (up_create_args.patch_cache): a patch is a function of
 * the two sealed images (their manifest digests cover every data byte
 * through the root hash), the diff's settings and the patch format, so a
 * build that makes the same pair again (the kernel scenarios' 300 MB
 * system tier, whose releases' sets change with every build of the
 * system volume) takes it from DIR/<key>.patch.  Written new and renamed. */
static void cache_path(const char *dir, const struct patch_seals *s, const struct patch_diff_opts *o,
		       char *out, size_t n)
{
	struct si_sha256 c;
	uint8_t h[32], v[12];
	char hex[33];

	si_sha256_init(&c);
	si_sha256_update(&c, "sealinit-patch-cache-v1", 23);
	si_sha256_update(&c, s->base_manifest, 32);
	si_sha256_update(&c, s->target_manifest, 32);
	si_put_le32(v, PATCH_VERSION);
	si_put_le32(v + 4, o->seg_size);
	si_put_le32(v + 8, (uint32_t)o->level);
	si_sha256_update(&c, v, sizeof v);
	si_sha256_final(&c, h);
	si_hex(hex, h, 16);
	snprintf(out, n, "%s/%s.patch", dir, hex);
}

static int cache_get(const char *path, struct pl *out)
{
	struct map m;

	if (map_file(path, &m, NULL) != 0)
		return 0;
	out->p = malloc(m.len ? m.len : 1);
	if (!out->p) {
		unmap(&m);
		return 0;
	}
	memcpy(out->p, m.p, m.len);
	out->len = m.len;
	unmap(&m);
	return 1;
}

static void cache_put(const char *path, const struct pl *p)
{
	char tmp[4300];
	FILE *f;

	snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
	f = fopen(tmp, "wbe");
	if (!f)
		return;
	if (fwrite(p->p, 1, p->len, f) != p->len || fclose(f) != 0 || rename(tmp, path) != 0)
		(void)unlink(tmp);
}

/* A patch old -> new (old NULL: from nothing), the sealed images' digests
 * in its seals section. */
static int make_patch(const struct map *old, const struct map *nw, const char *cache,
		      const struct patch_diff_opts *base, struct pl *out, struct si_diag *d)
{
	char cpath[4200];
	int r;
	struct patch_diff_opts o = *base;
	struct patch_seals seals;
	struct si_seal_unverified u;
	struct si_mem_io mio;
	struct si_io io;

	memset(&seals, 0, sizeof seals);
	si_io_mem(&io, &mio, nw->p, nw->len);
	if (si_seal_open_unverified(&io, &u, NULL) == 0) {
		memcpy(seals.target_manifest, u.m.digest, 32);
		memcpy(seals.target_root, u.m.root_hash, 32);
	}
	if (old) {
		si_io_mem(&io, &mio, old->p, old->len);
		if (si_seal_open_unverified(&io, &u, NULL) == 0) {
			memcpy(seals.base_manifest, u.m.digest, 32);
			memcpy(seals.base_root, u.m.root_hash, 32);
		}
	}
	o.seals = &seals;
	if (cache) {
		cache_path(cache, &seals, &o, cpath, sizeof cpath);
		if (cache_get(cpath, out))
			return 0;
	}
	r = patch_diff(old ? old->p : (const uint8_t *)"", old ? old->len : 0, nw->p, nw->len,
		       &o, &out->p, &out->len, NULL, d);
	if (r == 0 && cache)
		cache_put(cpath, out);
	return r;
}

static uint64_t align_up(uint64_t v)
{
	return (v + UP_BUNDLE_ALIGN - 1) / UP_BUNDLE_ALIGN * UP_BUNDLE_ALIGN;
}

struct item {
	struct pl fwd, rev;
};

static void lay_out(struct up_bundle *b, uint32_t head_len, struct item *items, size_t set_len)
{
	uint64_t off = up_bundle_payload_start(head_len);
	unsigned i;

	b->head_len = head_len;
	b->target.off = off;
	b->target.len = set_len;
	off = align_up(off + set_len);
	for (i = 0; i < b->n; i++) {
		struct up_entry *e = &b->e[i];

		e->fwd.len = items[i].fwd.len;
		e->fwd.off = e->fwd.len ? off : 0;
		if (e->fwd.len)
			si_sha256(items[i].fwd.p, items[i].fwd.len, e->fwd.sha256);
		off = align_up(off + e->fwd.len);
		e->rev.len = items[i].rev.len;
		e->rev.off = e->rev.len ? off : 0;
		if (e->rev.len)
			si_sha256(items[i].rev.p, items[i].rev.len, e->rev.sha256);
		off = align_up(off + e->rev.len);
	}
	b->payload_end = off;
}

int up_bundle_create(const struct up_create_args *a, struct up_bundle *out, struct si_diag *d)
{
	static struct slotdir sa, sb;
	static struct up_bundle bd;
	static struct item items[UP_BUNDLE_MAX_ENTRIES];
	static uint8_t head[UP_BUNDLE_HEAD_MAX];
	size_t hl = 0, hl2 = 0;
	unsigned i, k;
	int r;

	r = slot_open(a->from, &sa, d);
	if (r == 0)
		r = slot_open(a->to, &sb, d);
	if (r)
		return r;
	if (!memcmp(sa.set.digest, sb.set.digest, 32)) {
		si_diag_where(d, a->to, strlen(a->to));
		si_diag_text(d, "another release set than --from's", sb.set.name);
		return SI_E_BUNDLE;
	}
	memset(&bd, 0, sizeof bd);
	memset(items, 0, sizeof items);
	snprintf(bd.name, sizeof bd.name, "%s", sb.set.name);
	snprintf(bd.version, sizeof bd.version, "%s", sb.set.version);
	snprintf(bd.base_name, sizeof bd.base_name, "%s", sa.set.name);
	bd.rollback_index = sb.set.rollback_index;
	memcpy(bd.base_set, sa.set.digest, 32);
	memcpy(bd.target.sha256, sb.set.digest, 32);
	/* the target's images, then what the base has and the target drops */
	for (i = 0; i < sb.set.n + sa.set.n; i++) {
		const struct si_set_image *t = i < sb.set.n ? &sb.set.img[i] : NULL;
		const struct si_set_image *s = t ? si_set_find(&sa.set, t->kind, t->name)
					     : &sa.set.img[i - sb.set.n];
		struct map ti = { NULL, 0 }, si = { NULL, 0 };
		struct up_entry *e;

		if (!t && si_set_find(&sb.set, s->kind, s->name))
			continue; /* in both: done above */
		e = &bd.e[bd.n];
		e->kind = t ? t->kind : s->kind;
		snprintf(e->name, sizeof e->name, "%s", t ? t->name : s->name);
		if (s) {
			r = image_load(a, &sa, s, &si, d);
			if (r)
				goto out;
			memcpy(e->base_digest, s->digest, 32);
			e->base_size = si.len;
		}
		if (t) {
			r = image_load(a, &sb, t, &ti, d);
			if (r) {
				unmap(&si);
				goto out;
			}
			memcpy(e->target_digest, t->digest, 32);
			e->target_size = ti.len;
		}
		if (s && t && !memcmp(s->digest, t->digest, 32)) {
			e->action = UP_ACT_SAME;
		} else if (!s) {
			e->action = UP_ACT_WHOLE;
			r = make_patch(NULL, &ti, a->patch_cache, a->diff, &items[bd.n].fwd, d);
		} else if (!t) {
			e->action = UP_ACT_DROP;
			r = make_patch(NULL, &si, a->patch_cache, a->diff, &items[bd.n].rev, d);
		} else {
			struct pl whole = { NULL, 0 };

			e->action = UP_ACT_PATCH;
			r = make_patch(&si, &ti, a->patch_cache, a->diff, &items[bd.n].fwd, d);
			if (r == 0)
				r = make_patch(&ti, &si, a->patch_cache, a->diff, &items[bd.n].rev, d);
			/* a whole image where that is smaller */
			if (r == 0)
				r = make_patch(NULL, &ti, a->patch_cache, a->diff, &whole, d);
			if (r == 0 && whole.len < items[bd.n].fwd.len) {
				pl_free(&items[bd.n].fwd);
				items[bd.n].fwd = whole;
				e->action = UP_ACT_WHOLE;
			} else {
				pl_free(&whole);
			}
		}
		unmap(&si);
		unmap(&ti);
		if (r) {
			si_diag_where(d, e->name, strlen(e->name));
			goto out;
		}
		bd.n++;
		if (a->note)
			a->note(a->nctx, e, items[bd.n - 1].fwd.len, items[bd.n - 1].rev.len);
	}
	/* The head's length does not depend on the offsets: lay out, sign,
	 * lay out again with the real length, sign again. */
	for (k = 0; k < 2; k++) {
		lay_out(&bd, k ? (uint32_t)hl : SI_MANIFEST_HDR_SIZE, items, sb.set_len);
		r = up_bundle_head_build(&bd, a->signer, head, sizeof head, k ? &hl2 : &hl, d);
		if (r)
			goto out;
	}
	if (hl2 != hl) {
		r = SI_E_BUNDLE;
		goto out;
	}
	r = a->write(a->wctx, 0, head, hl);
	if (r == 0)
		r = a->write(a->wctx, bd.target.off, sb.set_bytes, sb.set_len);
	for (i = 0; r == 0 && i < bd.n; i++) {
		if (bd.e[i].fwd.len)
			r = a->write(a->wctx, bd.e[i].fwd.off, items[i].fwd.p, items[i].fwd.len);
		if (r == 0 && bd.e[i].rev.len)
			r = a->write(a->wctx, bd.e[i].rev.off, items[i].rev.p, items[i].rev.len);
	}
	if (r == 0 && out)
		*out = bd;
out:
	for (i = 0; i < UP_BUNDLE_MAX_ENTRIES; i++) {
		pl_free(&items[i].fwd);
		pl_free(&items[i].rev);
	}
	return r;
}
