/* sealinit update/: the update engine (update/engine.h).
 *
 * Order of every operation that writes: work files under names nothing
 * reads (".part", ".fwd-*", ".ckpt-*"), fsynced, renamed into place, the
 * directory fsynced; the slot's release.set last; the state record
 * (update/record.c) as the one step that commits.  Everything before the
 * commit can be redone: an image already in place is checked by its
 * manifest digest and kept, a patch resumes from its checkpoint.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/str.h"
#include "update/engine.h"
#include "verify/hashtree.h"
#include "verify/manifest.h"
#include "verify/sha256.h"

#define COPY_CHUNK (64u * 1024u)
#define SPACE_MARGIN (1024u * 1024u)  /* directory blocks, records, slack */

/* ------------------------------------------------------------ helpers */

static void elog(const struct up_engine *e, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void elog(const struct up_engine *e, int level, const char *fmt, ...)
{
	char line[512];
	struct si_buf b;
	va_list ap;

	if (!e->log)
		return;
	si_buf_init(&b, line, sizeof line);
	si_buf_printf(&b, "%s: ", e->prefix ? e->prefix : "update");
	va_start(ap, fmt);
	si_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	e->log(e->lctx, level, line);
}

static int zero32(const uint8_t *p)
{
	static const uint8_t z[32];

	return memcmp(p, z, 32) == 0;
}

static void short_hex(char out[17], const uint8_t *p)
{
	si_hex(out, p, 8);
}

static const char *kind_file(enum si_kind k)
{
	return si_seal_kind_name(k);
}

void up_image_path(const struct up_engine *e, char slot, enum si_kind kind, const char *name,
		   char *out, size_t n)
{
	const char *slash = strrchr(e->kc_boot_path, '/');

	if (kind == SI_KIND_KC_BOOT)
		snprintf(out, n, "%s/%s", up_slot_dir(slot), e->kc_boot_path);
	else if (kind == SI_KIND_CRYPTEX)
		snprintf(out, n, "%s/%s/%s.cryptex", up_slot_dir(slot), e->cryptex_dir, name);
	else
		snprintf(out, n, "%s/%.*s%s%s.kc", up_slot_dir(slot),
			 slash ? (int)(slash - e->kc_boot_path) : 0, e->kc_boot_path,
			 slash ? "/" : "", name);
}

static void revert_patch_path(char slot, enum si_kind kind, const char *name, char *out, size_t n)
{
	snprintf(out, n, "%s/%s/%s-%s.patch", up_slot_dir(slot), UP_REVERT_DIR, kind_file(kind), name);
}

static void dir_of(const char *path, char *out, size_t n);

/* One directory made when missing, and made durable: its name is in its
 * parent only once the parent is synced (found by the power-loss
 * harness: a staged bundle renamed and synced inside a new staged/ was
 * lost with the directory's name). */
static int mkdir1(const struct up_engine *e, const char *p, struct si_diag *d)
{
	char parent[UP_PATH_MAX];
	enum si_ftype t = SI_FT_NONE;
	uint64_t sz;
	int r;

	r = e->fs->stat(e->fs->ctx, p, &t, &sz, d);
	if (r || t == SI_FT_DIR)
		return r;
	r = e->fs->mkdir(e->fs->ctx, p, d);
	if (r)
		return r;
	dir_of(p, parent, sizeof parent);
	return e->fs->fsync_dir(e->fs->ctx, parent, d);
}

/* mkdir -p of a preboot-relative directory. */
static int mkdirs(const struct up_engine *e, const char *path, struct si_diag *d)
{
	char p[UP_PATH_MAX];
	size_t i;
	int r;

	if (snprintf(p, sizeof p, "%s", path) >= (int)sizeof p)
		return si_diag_sys(d, SI_E_TOO_BIG, path, ENAMETOOLONG);
	for (i = 1; p[i]; i++) {
		if (p[i] != '/')
			continue;
		p[i] = '\0';
		r = mkdir1(e, p, d);
		p[i] = '/';
		if (r)
			return r;
	}
	return mkdir1(e, p, d);
}

static void dir_of(const char *path, char *out, size_t n)
{
	const char *slash = strrchr(path, '/');

	snprintf(out, n, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
}

static int read_all(const struct up_engine *e, const char *path, uint8_t *buf, size_t cap,
		    size_t *len, struct si_diag *d)
{
	uint64_t size = 0;
	int h, r;

	r = e->fs->open(e->fs->ctx, path, SI_O_READ, &h, d);
	if (r)
		return r;
	r = e->fs->size(e->fs->ctx, h, &size, d);
	if (r == 0 && size > cap)
		r = si_diag_want(d, SI_E_TOO_BIG, path, cap, size);
	if (r == 0)
		r = e->fs->pread(e->fs->ctx, h, 0, buf, (size_t)size, d);
	e->fs->close(e->fs->ctx, h);
	if (r == 0)
		*len = (size_t)size;
	return r;
}

/* The end of every write of a whole file: r is how writing h (the open
 * <path>.part) went; then fsync, close, rename over path, fsync the
 * directory -- or, on any error, the .part removed. */
static int finish_part(const struct up_engine *e, int h, const char *tmp, const char *path,
		       int r, struct si_diag *d)
{
	char dir[UP_PATH_MAX];

	dir_of(path, dir, sizeof dir);
	if (!r)
		r = e->fs->fsync(e->fs->ctx, h, d);
	e->fs->close(e->fs->ctx, h);
	if (!r)
		r = e->fs->rename(e->fs->ctx, tmp, path, d);
	if (!r)
		r = e->fs->fsync_dir(e->fs->ctx, dir, d);
	if (r) {
		int u = e->fs->unlink(e->fs->ctx, tmp, NULL);

		(void)u;
	}
	return r;
}

/* path written whole: <path>.part, fsync, rename, fsync the directory. */
static int write_atomic(const struct up_engine *e, const char *path, const void *data,
			size_t len, struct si_diag *d)
{
	char tmp[UP_PATH_MAX + 8];
	int h, r;

	snprintf(tmp, sizeof tmp, "%s.part", path);
	r = e->fs->open(e->fs->ctx, tmp, SI_O_WRITE, &h, d);
	if (r)
		return r;
	return finish_part(e, h, tmp, path, e->fs->pwrite(e->fs->ctx, h, 0, data, len, d), d);
}

/* Copies [off, off + len) of the bundle to path (atomically), checking its
 * SHA-256 on the way: a payload that differs from its signed digest is
 * never left under its name. */
struct src {
	int (*read)(void *ctx, uint64_t off, void *buf, size_t len);
	void *ctx;
	uint64_t size;
};

static int copy_payload(const struct up_engine *e, const struct src *s, const struct up_payload *pl,
			const char *path, uint8_t *buf, struct si_diag *d)
{
	char tmp[UP_PATH_MAX + 8];
	struct si_sha256 c;
	uint8_t dg[32];
	uint64_t done = 0;
	int h, r;

	snprintf(tmp, sizeof tmp, "%s.part", path);
	r = e->fs->open(e->fs->ctx, tmp, SI_O_WRITE, &h, d);
	if (r)
		return r;
	si_sha256_init(&c);
	while (r == 0 && done < pl->len) {
		size_t n = pl->len - done < COPY_CHUNK ? (size_t)(pl->len - done) : COPY_CHUNK;

		r = s->read(s->ctx, pl->off + done, buf, n);
		if (r) {
			si_diag_where(d, "bundle", 6);
			break;
		}
		si_sha256_update(&c, buf, n);
		r = e->fs->pwrite(e->fs->ctx, h, done, buf, n, d);
		done += n;
	}
	if (r == 0) {
		si_sha256_final(&c, dg);
		if (si_ct_memcmp(dg, pl->sha256, 32) != 0) {
			si_diag_clear(d);
			si_diag_where(d, path, strlen(path));
			si_diag_field(d, "payload sha256");
			si_diag_bytes(d, pl->sha256, dg, 32);
			r = SI_E_BUNDLE_PAYLOAD;
		}
	}
	return finish_part(e, h, tmp, path, r, d);
}

/* An si_io over an si_fs handle. */
struct fio {
	const struct si_fs *fs;
	int h;
};

static int fio_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct fio *x = ctx;

	return x->fs->pread(x->fs->ctx, x->h, off, buf, len, NULL);
}

/* The manifest digest of the image at path: SI_E_NOTFOUND when there is
 * none (or it is not a sealed image: it is then replaced). */
static int image_digest(const struct up_engine *e, const char *path, uint8_t out[32],
			uint64_t *size)
{
	struct si_seal_unverified u;
	enum si_ftype t = SI_FT_NONE;
	struct fio x;
	struct si_io io;
	uint64_t sz = 0;
	int r;

	if (e->fs->stat(e->fs->ctx, path, &t, &sz, NULL) != 0 || t != SI_FT_REG)
		return SI_E_NOTFOUND;
	x.fs = e->fs;
	if (e->fs->open(e->fs->ctx, path, SI_O_READ, &x.h, NULL) != 0)
		return SI_E_NOTFOUND;
	io.ctx = &x;
	io.size = sz;
	io.read_at = fio_read;
	r = si_seal_open_unverified(&io, &u, NULL);
	e->fs->close(e->fs->ctx, x.h);
	if (r)
		return SI_E_NOTFOUND;
	memcpy(out, u.m.digest, 32);
	if (size)
		*size = sz;
	return 0;
}

static int image_is(const struct up_engine *e, const char *path, const uint8_t digest[32])
{
	uint8_t dg[32];

	return image_digest(e, path, dg, NULL) == 0 && si_ct_memcmp(dg, digest, 32) == 0;
}

/* ------------------------------------------------------------ load */

/* The engine's floor store: the caller's, or the file pair on its fs. */
static const struct up_floor_store *store_of(const struct up_engine *e, struct up_floor_store *tmp)
{
	if (e->floor_store)
		return e->floor_store;
	up_floor_store_file(tmp, e->fs);
	return tmp;
}

int up_engine_load(struct up_engine *e, struct si_diag *d)
{
	struct up_record_info info;
	struct up_floor_store fst;
	const struct up_floor_store *fs;
	int r;

	r = up_state_load(e->fs, &e->st, &info, d);
	if (r)
		return r;
	fs = store_of(e, &fst);
	return fs->load(fs->ctx, &e->floors, NULL, d);
}

int up_slot_set(struct up_engine *e, char slot, struct si_set *s, uint8_t *buf, size_t *len,
		struct si_diag *d)
{
	char path[UP_PATH_MAX];
	int r;

	snprintf(path, sizeof path, "%s/release.set", up_slot_dir(slot));
	r = read_all(e, path, buf, SI_MANIFEST_MAX, len, d);
	if (r == SI_E_OPEN && d && d->sys_errno == ENOENT) {
		si_diag_clear(d);
		si_diag_where(d, path, strlen(path));
		return SI_E_SET_MISSING;
	}
	if (r)
		return r;
	return si_set_open(buf, *len, e->anchor, up_floor_of(&e->floors, UP_FLOOR_SET), s, d);
}

/* The set a slot made by an update came from (its revert/base.set). */
static int slot_base_set(struct up_engine *e, char slot, struct si_set *s, uint8_t *buf,
			 size_t *len, uint64_t floor, struct si_diag *d)
{
	char path[UP_PATH_MAX];
	int r;

	snprintf(path, sizeof path, "%s/%s", up_slot_dir(slot), UP_BASE_SET);
	r = read_all(e, path, buf, SI_MANIFEST_MAX, len, d);
	if (r == SI_E_OPEN && d && d->sys_errno == ENOENT) {
		si_diag_clear(d);
		si_diag_where(d, path, strlen(path));
		return SI_E_NO_PREVIOUS;
	}
	if (r)
		return r;
	return si_set_open(buf, *len, e->anchor, floor, s, d);
}

static char other_slot(char a, char b)
{
	char c;

	for (c = 'a'; c < 'a' + UP_SLOTS; c++)
		if (c != a && c != b)
			return c;
	return 0;
}

/* ------------------------------------------------------------ check */

static int zero_read(void *ctx, uint64_t off, uint8_t *buf, size_t len)
{
	(void)ctx;
	(void)off;
	(void)buf;
	return len ? SI_E_SHORT : 0;
}

static int entry_consistent(const struct up_plan *p, struct si_diag *d)
{
	unsigned i;

	/* every image of the target set has its entry, with its digest */
	for (i = 0; i < p->target.n; i++) {
		const struct si_set_image *t = &p->target.img[i];
		const struct up_entry *en = up_bundle_find(&p->b, t->kind, t->name);

		if (!en || en->action == UP_ACT_DROP || si_ct_memcmp(en->target_digest, t->digest, 32)) {
			si_diag_clear(d);
			si_diag_where(d, t->name, strlen(t->name));
			si_diag_field(d, "bundle.entries (target set)");
			si_diag_text(d, "an entry with the target set's digest", en ? "another" : "none");
			return SI_E_BUNDLE;
		}
	}
	/* every image of the base set has its entry, with its digest */
	for (i = 0; i < p->base.n; i++) {
		const struct si_set_image *t = &p->base.img[i];
		const struct up_entry *en = up_bundle_find(&p->b, t->kind, t->name);

		if (!en || si_ct_memcmp(en->base_digest, t->digest, 32) != 0) {
			si_diag_clear(d);
			si_diag_where(d, t->name, strlen(t->name));
			si_diag_field(d, "bundle.entries (base set)");
			si_diag_text(d, "an entry with the base set's digest", en ? "another" : "none");
			return SI_E_BUNDLE;
		}
	}
	/* and no entry names an image neither set has */
	for (i = 0; i < p->b.n; i++) {
		const struct up_entry *en = &p->b.e[i];

		if (!si_set_find(&p->target, en->kind, en->name) &&
		    !si_set_find(&p->base, en->kind, en->name)) {
			si_diag_clear(d);
			si_diag_where(d, en->name, strlen(en->name));
			si_diag_field(d, "bundle.entries");
			si_diag_text(d, "an image of the base or the target set", en->name);
			return SI_E_BUNDLE;
		}
		if (!zero32(en->base_digest) && !si_set_find(&p->base, en->kind, en->name)) {
			si_diag_clear(d);
			si_diag_where(d, en->name, strlen(en->name));
			si_diag_field(d, "bundle.entries.base_digest");
			si_diag_text(d, "none (not in the base set)", "a digest");
			return SI_E_BUNDLE;
		}
	}
	return 0;
}

static uint64_t work_bytes(const struct up_engine *e, const char *dir, unsigned depth);

int up_bundle_check(struct up_engine *e, int (*read)(void *ctx, uint64_t off, void *buf, size_t len),
		    void *rctx, uint64_t size, int at_boot, struct up_plan *p, struct si_diag *d)
{
	static uint8_t head[UP_BUNDLE_HEAD_MAX];
	uint64_t set_floor = up_floor_of(&e->floors, UP_FLOOR_SET);
	uint8_t active_digest[32];
	size_t hl = size < sizeof head ? (size_t)size : sizeof head;
	unsigned i;
	int r;

	memset(p, 0, sizeof *p);
	si_diag_clear(d);
	r = read(rctx, 0, head, hl);
	if (r)
		return r;
	r = up_bundle_open(head, hl, size, e->anchor, set_floor, &p->b, d);
	if (r)
		return r;
	/* the target set: its payload's digest is the set file's digest */
	if (p->b.target.len > SI_MANIFEST_MAX)
		return si_diag_want(d, SI_E_BUNDLE, "bundle.target.length", SI_MANIFEST_MAX,
				    p->b.target.len);
	r = read(rctx, p->b.target.off, p->target_bytes, (size_t)p->b.target.len);
	if (r)
		return r;
	p->target_len = (size_t)p->b.target.len;
	{
		uint8_t dg[32];

		si_sha256(p->target_bytes, p->target_len, dg);
		if (si_ct_memcmp(dg, p->b.target.sha256, 32) != 0) {
			si_diag_clear(d);
			si_diag_field(d, "bundle.target sha256");
			si_diag_bytes(d, p->b.target.sha256, dg, 32);
			return SI_E_BUNDLE_PAYLOAD;
		}
	}
	r = si_set_open(p->target_bytes, p->target_len, e->anchor, set_floor, &p->target, d);
	if (r)
		return r;
	if (strcmp(p->target.name, p->b.name) || strcmp(p->target.version, p->b.version) ||
	    p->target.rollback_index != p->b.rollback_index) {
		si_diag_clear(d);
		si_diag_field(d, "bundle.name/version/rollback (target set)");
		si_diag_text(d, p->target.name, p->b.name);
		return SI_E_BUNDLE;
	}
	if (!zero32(e->st.failed_set) && si_ct_memcmp(e->st.failed_set, p->target.digest, 32) == 0) {
		si_diag_clear(d);
		si_diag_where(d, p->target.name, strlen(p->target.name));
		return SI_E_BUNDLE_FAILED;
	}
	for (i = 0; i < p->target.n; i++) {
		const struct si_set_image *t = &p->target.img[i];
		uint64_t fl = up_floor_of(&e->floors, t->name);

		if (t->rollback_index < fl) {
			si_diag_clear(d);
			si_diag_where(d, t->name, strlen(t->name));
			si_diag_field(d, "rollback_index (recorded floor)");
			si_diag_values(d, fl, t->rollback_index);
			return SI_E_SEAL_ROLLBACK;
		}
	}
	/* the base: the active set, or (stacked) the set the active
	 * response was made from */
	{
		struct si_set act;
		static uint8_t abuf[SI_MANIFEST_MAX];
		size_t alen = 0;

		r = up_slot_set(e, e->st.active, &act, abuf, &alen, d);
		if (r)
			return r;
		memcpy(active_digest, act.digest, 32);
		if (si_ct_memcmp(p->b.base_set, act.digest, 32) == 0) {
			p->base = act;
			memcpy(p->base_bytes, abuf, alen);
			p->base_len = alen;
			p->base_slot = e->st.active;
		} else if (e->st.previous &&
			   slot_base_set(e, e->st.active, &p->base, p->base_bytes, &p->base_len,
					 set_floor, NULL) == 0 &&
			   si_ct_memcmp(p->b.base_set, p->base.digest, 32) == 0) {
			p->stacked = 1;
			p->base_slot = e->st.previous;
		} else {
			char want[17], got[17];

			short_hex(want, active_digest);
			short_hex(got, p->b.base_set);
			si_diag_clear(d);
			si_diag_where(d, p->b.name, strlen(p->b.name));
			si_diag_field(d, "bundle.base (set digest)");
			si_diag_text(d, want, got);
			elog(e, 3, "the bundle '%s' is made from release '%s' (%s...); this device runs "
			     "'%s' (%s...)", p->b.name, p->b.base_name, got, act.name, want);
			return SI_E_BUNDLE_BASE;
		}
	}
	if (si_ct_memcmp(p->target.digest, active_digest, 32) == 0) {
		si_diag_clear(d);
		si_diag_where(d, p->target.name, strlen(p->target.name));
		si_diag_field(d, "bundle (target set)");
		si_diag_text(d, "a release other than the active one", p->target.name);
		return SI_E_BUNDLE_BASE;
	}
	r = entry_consistent(p, d);
	if (r)
		return r;
	p->new_slot = other_slot(e->st.active, p->base_slot);
	/* space: what is not in place yet */
	p->need = SPACE_MARGIN + p->target_len + p->base_len + (at_boot ? 0 : size);
	for (i = 0; i < p->b.n; i++) {
		const struct up_entry *en = &p->b.e[i];
		char path[UP_PATH_MAX];

		if (en->action == UP_ACT_PATCH || en->action == UP_ACT_WHOLE) {
			up_image_path(e, p->new_slot, en->kind, en->name, path, sizeof path);
			if (!image_is(e, path, en->target_digest))
				p->need += en->target_size + en->fwd.len;
		}
		p->need += en->rev.len;
		if (p->stacked && en->action != UP_ACT_WHOLE && !zero32(en->base_digest)) {
			up_image_path(e, p->base_slot, en->kind, en->name, path, sizeof path);
			if (!image_is(e, path, en->base_digest))
				p->need += en->base_size;
		}
	}
	r = e->fs->free_bytes(e->fs->ctx, &p->avail, d);
	if (r)
		return r;
	/* an earlier attempt's work in the slot being written (a power cut
	 * mid-apply) is reused or replaced: its bytes count as free (found
	 * by make powercut: a resumed apply was refused for the space its
	 * own .part file held) */
	p->avail += work_bytes(e, up_slot_dir(p->new_slot), 3);
	if (p->need > p->avail) {
		si_diag_clear(d);
		si_diag_where(d, p->b.name, strlen(p->b.name));
		si_diag_field(d, "bytes (preboot volume)");
		si_diag_values(d, p->need, p->avail);
		return SI_E_NO_SPACE;
	}
	return 0;
}

/* ------------------------------------------------------------ images */

/* The patch driver's final check: the result is the target image --
 * its manifest's digest, its size, and its whole hash tree recomputed
 * from the data and compared with the tree it carries and the signed
 * root hash.  Memory: the tree and one chunk, from the verify half of the
 * engine's work area. */
struct vcheck {
	const uint8_t *digest;
	uint8_t *mem;
	size_t mem_len;
	unsigned threads;
};

static int verify_fd(void *ctx, const struct si_fs *fs, int h, uint64_t size, struct si_diag *d)
{
	const struct vcheck *v = ctx;
	struct fio f = { fs, h };
	struct si_seal_unverified u;
	struct vt_geom g;
	struct si_io io;
	uint8_t root[32], *tree, *chunk;
	size_t chunk_len;
	uint64_t blk, per;
	int r;

	io.ctx = &f;
	io.size = size;
	io.read_at = fio_read;
	r = si_seal_open_unverified(&io, &u, d);
	if (r)
		return r;
	if (si_ct_memcmp(u.m.digest, v->digest, 32) != 0) {
		si_diag_clear(d);
		si_diag_field(d, "manifest digest (target)");
		si_diag_bytes(d, v->digest, u.m.digest, 32);
		return SI_E_SET_DIGEST;
	}
	r = vt_geom_init(u.m.data_blocks, u.m.data_block_size, u.m.hash_block_size, &g);
	if (r)
		return r;
	if (g.tree_size + u.m.data_block_size > v->mem_len) {
		si_diag_clear(d);
		si_diag_field(d, "memory for the hash tree (CONFIG_UPDATE_MEM_KB)");
		si_diag_values(d, v->mem_len, g.tree_size + u.m.data_block_size);
		return SI_E_NOMEM;
	}
	tree = v->mem;
	chunk = v->mem + g.tree_size;
	chunk_len = v->mem_len - (size_t)g.tree_size;
	per = chunk_len / u.m.data_block_size;
	if (per > 256)
		per = 256; /* 1 MiB at 4 KiB blocks: hashing threads get enough */
	for (blk = 0; blk < g.data_blocks; blk += per) {
		uint64_t n = g.data_blocks - blk < per ? g.data_blocks - blk : per;

		r = fs->pread(fs->ctx, h, blk * u.m.data_block_size, chunk,
				  (size_t)(n * u.m.data_block_size), d);
		if (r)
			return r;
		if (g.levels == 0)
			break; /* one block: finish takes it */
		r = vt_hash_blocks(&g, u.m.salt, u.m.salt_len, blk, n, chunk, tree, v->threads);
		if (r)
			return r;
	}
	r = vt_tree_finish(&g, u.m.salt, u.m.salt_len, chunk, tree, root, v->threads);
	if (r)
		return r;
	if (si_ct_memcmp(root, u.m.root_hash, 32) != 0) {
		si_diag_clear(d);
		si_diag_field(d, "root_hash (recomputed)");
		si_diag_bytes(d, u.m.root_hash, root, 32);
		return SI_E_SEAL_ROOT_MISMATCH;
	}
	/* the tree the image carries is the one dm-verity will read */
	for (blk = 0; blk < g.tree_size; blk += chunk_len) {
		size_t n = g.tree_size - blk < chunk_len ? (size_t)(g.tree_size - blk) : chunk_len;

		r = fs->pread(fs->ctx, h, u.m.hash_offset + blk, chunk, n, d);
		if (r)
			return r;
		if (si_ct_memcmp(chunk, tree + blk, n) != 0) {
			si_diag_clear(d);
			si_diag_field(d, "hash tree (recomputed)");
			si_diag_offset(d, blk);
			return SI_E_SEAL_TREE_CORRUPT;
		}
	}
	return 0;
}

struct prog {
	const struct up_engine *e;
	const char *what;
	unsigned last;
};

static void progress(void *ctx, const struct patch_progress *pp)
{
	struct prog *g = ctx;
	unsigned pct;

	if (pp->phase != PATCH_PHASE_SEGMENTS || !pp->total)
		return;
	pct = (unsigned)((uint64_t)pp->done * 100 / pp->total);
	/* a few lines per image: 25, 50, 75 (100 is the result's line) */
	if (pct / 25 > g->last / 25 && pct < 100) {
		g->last = pct;
		elog(g->e, 6, "%s: %u%% (%u of %u segments)", g->what, pct, pp->done, pp->total);
	}
}

/* Applies patch (preboot-relative) to src (NULL: from nothing) into out,
 * checked against digest. */
static int apply_one(const struct up_engine *e, const char *src, const char *patch,
		     const char *out, const uint8_t digest[32], const char *what,
		     struct si_diag *d)
{
	char ckpt[UP_PATH_MAX + 8];
	struct patch_apply_args a;
	struct vcheck v;
	struct prog g = { e, what, 0 };
	size_t half = e->work_len / 2;
	int r;

	snprintf(ckpt, sizeof ckpt, "%s.ckpt", out);
	memset(&a, 0, sizeof a);
	a.fs = e->fs;
	a.old_path = src;
	if (!src) {
		a.old_read = zero_read;
		a.old_size = 0;
	}
	a.patch_path = patch;
	a.out_path = out;
	a.checkpoint_path = ckpt;
	a.threads = e->threads ? e->threads : 1;
	a.work = e->work;
	a.work_len = half;
	a.decode = e->decode;
	a.dctx = e->dctx;
	a.progress = progress;
	a.pctx = &g;
	v.digest = digest;
	v.mem = e->work + half;
	v.mem_len = e->work_len - half;
	v.threads = e->threads;
	a.final_check = verify_fd;
	a.fctx = &v;
	r = patch_apply_file(&a, d);
	if (r == SI_E_PATCH_JOURNAL) {
		/* the work files of another patch, left by an earlier attempt
		 * into this slot (a power cut, a rollback): they go, and the
		 * image is made from the start */
		char part[UP_PATH_MAX + 8], dir[UP_PATH_MAX];

		elog(e, 5, "%s: the work files in %s are another patch's (an earlier attempt): "
		     "removed, starting over", what, out);
		snprintf(part, sizeof part, "%s.part", out);
		dir_of(out, dir, sizeof dir);
		si_diag_clear(d);
		r = e->fs->unlink(e->fs->ctx, ckpt, d);
		if (r == 0)
			r = e->fs->unlink(e->fs->ctx, part, d);
		if (r == 0)
			r = e->fs->fsync_dir(e->fs->ctx, dir, d);
		if (r == 0)
			r = patch_apply_file(&a, d);
	}
	return r;
}

/* A hard link of src at dst (the same bytes, no space); a copy where the
 * file system cannot link. */
static int link_image(const struct up_engine *e, const char *src, const char *dst,
		      struct si_diag *d)
{
	char dir[UP_PATH_MAX];
	int r, u;

	u = e->fs->unlink(e->fs->ctx, dst, NULL);
	(void)u;
	r = e->fs->link(e->fs->ctx, src, dst, d);
	if (r)
		return r;
	dir_of(dst, dir, sizeof dir);
	return e->fs->fsync_dir(e->fs->ctx, dir, d);
}

/* ------------------------------------------------------------ materialize */

/* Rebuilds the set `s` (bytes sb) in slot `to` from slot `from`, whose
 * revert/ holds the reverse patches back to it: images that did not
 * change are linked, the others rebuilt from `from`'s image and checked;
 * release.set last.  Nothing is done for what is already in place. */
static int rebuild_base(struct up_engine *e, char from, char to, const struct si_set *s,
			const uint8_t *sb, size_t sl, struct si_diag *d)
{
	char path[UP_PATH_MAX], src[UP_PATH_MAX], patch[UP_PATH_MAX], what[96];
	struct si_set cur;
	static uint8_t cb[SI_MANIFEST_MAX];
	size_t cl = 0;
	unsigned i;
	int r;

	if (up_slot_set(e, to, &cur, cb, &cl, NULL) == 0 && !memcmp(cur.digest, s->digest, 32)) {
		for (i = 0; i < s->n; i++) {
			up_image_path(e, to, s->img[i].kind, s->img[i].name, path, sizeof path);
			if (!image_is(e, path, s->img[i].digest))
				break;
		}
		if (i == s->n)
			return 0; /* whole: nothing to rebuild */
	}
	snprintf(path, sizeof path, "%s/release.set", up_slot_dir(to));
	{
		int u = e->fs->unlink(e->fs->ctx, path, NULL);

		(void)u;
	}
	for (i = 0; i < s->n; i++) {
		const struct si_set_image *im = &s->img[i];

		up_image_path(e, to, im->kind, im->name, path, sizeof path);
		if (image_is(e, path, im->digest))
			continue;
		dir_of(path, src, sizeof src);
		r = mkdirs(e, src, d);
		if (r)
			return r;
		up_image_path(e, from, im->kind, im->name, src, sizeof src);
		snprintf(what, sizeof what, "%s '%s'", si_seal_kind_name(im->kind), im->name);
		if (image_is(e, src, im->digest)) {
			r = link_image(e, src, path, d);
		} else {
			uint8_t ph[PATCH_HDR_LEN];
			struct patch_info info;

			revert_patch_path(from, im->kind, im->name, patch, sizeof patch);
			{
				int h;

				r = e->fs->open(e->fs->ctx, patch, SI_O_READ, &h, d);
				if (r) {
					si_diag_clear(d);
					si_diag_where(d, patch, strlen(patch));
					return SI_E_IMAGE_MISSING;
				}
				r = e->fs->pread(e->fs->ctx, h, 0, ph, sizeof ph, d);
				e->fs->close(e->fs->ctx, h);
			}
			if (r == 0)
				r = patch_header_parse(ph, sizeof ph, &info, d);
			if (r)
				return r;
			elog(e, 5, "%s: rebuilding %s from %s with its reverse patch", what,
			     up_slot_dir(to), up_slot_dir(from));
			r = apply_one(e, info.old_size ? src : NULL, patch, path, im->digest, what, d);
		}
		if (r) {
			si_diag_where(d, path, strlen(path));
			return r;
		}
	}
	snprintf(path, sizeof path, "%s/release.set", up_slot_dir(to));
	return write_atomic(e, path, sb, sl, d);
}

/* ------------------------------------------------------------ remove */

struct names {
	char n[64][SI_SEAL_NAME_MAX + 24];
	unsigned count;
};

static void each_name(void *arg, const char *name, size_t len)
{
	struct names *nm = arg;

	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return;
	if (nm->count < 64 && len < sizeof nm->n[0]) {
		memcpy(nm->n[nm->count], name, len);
		nm->n[nm->count][len] = '\0';
		nm->count++;
	}
}

/* Removes a directory tree of the preboot volume (depth-limited: slots
 * hold two levels). */
static int rm_tree(const struct up_engine *e, const char *dir, unsigned depth, struct si_diag *d)
{
	struct names nm;
	char path[UP_PATH_MAX];
	unsigned i;
	int r;

	memset(&nm, 0, sizeof nm);
	r = e->fs->list(e->fs->ctx, dir, each_name, &nm, d);
	if (r == SI_E_OPEN && d && d->sys_errno == ENOENT)
		return 0;
	if (r)
		return r;
	for (i = 0; i < nm.count; i++) {
		enum si_ftype t = SI_FT_NONE;
		uint64_t sz;

		snprintf(path, sizeof path, "%s/%s", dir, nm.n[i]);
		r = e->fs->stat(e->fs->ctx, path, &t, &sz, d);
		if (r)
			return r;
		if (t == SI_FT_DIR && depth)
			r = rm_tree(e, path, depth - 1, d);
		else
			r = e->fs->unlink(e->fs->ctx, path, d);
		if (r)
			return r;
	}
	return e->fs->rmdir(e->fs->ctx, dir, d);
}

static int ends_with(const char *s, const char *t)
{
	size_t a = strlen(s), b = strlen(t);

	return a >= b && !strcmp(s + a - b, t);
}

/* The bytes of an apply's work files under dir: images being made
 * (.part), checkpoints, scratch files, and what revert/ holds. */
static uint64_t work_bytes(const struct up_engine *e, const char *dir, unsigned depth)
{
	struct names nm;
	char path[UP_PATH_MAX];
	uint64_t n = 0;
	unsigned i;
	int in_revert = ends_with(dir, "/" UP_REVERT_DIR);

	memset(&nm, 0, sizeof nm);
	if (e->fs->list(e->fs->ctx, dir, each_name, &nm, NULL) != 0)
		return 0;
	for (i = 0; i < nm.count; i++) {
		enum si_ftype t = SI_FT_NONE;
		uint64_t sz = 0;

		snprintf(path, sizeof path, "%s/%s", dir, nm.n[i]);
		if (e->fs->stat(e->fs->ctx, path, &t, &sz, NULL) != 0)
			continue;
		if (t == SI_FT_DIR && depth)
			n += work_bytes(e, path, depth - 1);
		else if (t == SI_FT_REG && (in_revert || ends_with(nm.n[i], ".part") ||
					    ends_with(nm.n[i], ".ckpt") || ends_with(nm.n[i], ".scratch")))
			n += sz;
	}
	return n;
}

int up_gc(struct up_engine *e, struct si_diag *d)
{
	char c;
	int r;

	for (c = 'a'; c < 'a' + UP_SLOTS; c++) {
		enum si_ftype t = SI_FT_NONE;
		uint64_t sz;

		if (c == e->st.active || c == e->st.previous)
			continue;
		r = e->fs->stat(e->fs->ctx, up_slot_dir(c), &t, &sz, d);
		if (r)
			return r;
		if (t == SI_FT_NONE)
			continue;
		r = rm_tree(e, up_slot_dir(c), 3, d);
		if (r)
			return r;
		elog(e, 6, "removed %s (no longer needed)", up_slot_dir(c));
	}
	return e->fs->fsync_dir(e->fs->ctx, "slots", d);
}

/* ------------------------------------------------------------ commit */

static int commit(struct up_engine *e, const struct up_state *n, struct si_diag *d)
{
	struct up_state s = *n;
	int r;

	s.seq = e->st.seq;
	r = up_state_store(e->fs, &s, d);
	if (r == 0)
		e->st = s;
	return r;
}

static void outcome(struct up_state *s, enum up_outcome o, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void outcome(struct up_state *s, enum up_outcome o, const char *fmt, ...)
{
	va_list ap;
	size_t i;

	s->outcome = o;
	va_start(ap, fmt);
	vsnprintf(s->outcome_text, sizeof s->outcome_text, fmt, ap);
	va_end(ap);
	for (i = 0; s->outcome_text[i]; i++)
		if (s->outcome_text[i] < 0x20 || s->outcome_text[i] > 0x7e)
			s->outcome_text[i] = '?';
}

/* ------------------------------------------------------------ apply */

struct hsrc {
	const struct si_fs *fs;
	int h;
};

static int hsrc_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct hsrc *x = ctx;

	return x->fs->pread(x->fs->ctx, x->h, off, buf, len, NULL);
}

static int apply_entries(struct up_engine *e, struct up_plan *p, const struct src *s,
			 struct si_diag *d)
{
	static uint8_t buf[COPY_CHUNK];
	char path[UP_PATH_MAX], from[UP_PATH_MAX], fwd[UP_PATH_MAX], dir[UP_PATH_MAX], what[96];
	char x = p->new_slot;
	unsigned i;
	int r;

	snprintf(dir, sizeof dir, "%s/%s", up_slot_dir(x), UP_REVERT_DIR);
	r = mkdirs(e, dir, d);
	if (r)
		return r;
	for (i = 0; i < p->b.n; i++) {
		const struct up_entry *en = &p->b.e[i];

		snprintf(what, sizeof what, "%s '%s'", si_seal_kind_name(en->kind), en->name);
		/* the reverse patch first: small, and the slot is only whole
		 * with it */
		if (en->rev.len) {
			revert_patch_path(x, en->kind, en->name, path, sizeof path);
			r = copy_payload(e, s, &en->rev, path, buf, d);
			if (r)
				return r;
		}
		if (en->action == UP_ACT_DROP)
			continue;
		up_image_path(e, x, en->kind, en->name, path, sizeof path);
		if (image_is(e, path, en->target_digest)) {
			elog(e, 6, "%s: already in %s", what, up_slot_dir(x));
			continue;
		}
		dir_of(path, dir, sizeof dir);
		r = mkdirs(e, dir, d);
		if (r)
			return r;
		up_image_path(e, p->base_slot, en->kind, en->name, from, sizeof from);
		if (en->action == UP_ACT_SAME) {
			if (!image_is(e, from, en->base_digest)) {
				si_diag_clear(d);
				si_diag_where(d, from, strlen(from));
				return SI_E_IMAGE_MISSING;
			}
			r = link_image(e, from, path, d);
			if (r)
				return r;
			continue;
		}
		if (en->action == UP_ACT_PATCH && !image_is(e, from, en->base_digest)) {
			si_diag_clear(d);
			si_diag_where(d, from, strlen(from));
			return SI_E_IMAGE_MISSING;
		}
		snprintf(fwd, sizeof fwd, "%s/.fwd-%s-%s.patch", up_slot_dir(x), kind_file(en->kind),
			 en->name);
		r = copy_payload(e, s, &en->fwd, fwd, buf, d);
		if (r)
			return r;
		elog(e, 5, "%s: applying %s patch (%llu bytes) into %s", what,
		     en->action == UP_ACT_PATCH ? "a" : "a whole-image", (unsigned long long)en->fwd.len,
		     up_slot_dir(x));
		r = apply_one(e, en->action == UP_ACT_PATCH ? from : NULL, fwd, path,
			      en->target_digest, what, d);
		{
			int u = e->fs->unlink(e->fs->ctx, fwd, NULL);

			(void)u;
		}
		if (r) {
			si_diag_where(d, path, strlen(path));
			return r;
		}
		{
			char root[17];

			short_hex(root, en->target_digest);
			elog(e, 5, "%s: verified in %s (manifest %s..., whole tree recomputed)", what,
			     up_slot_dir(x), root);
		}
	}
	snprintf(path, sizeof path, "%s/%s", up_slot_dir(x), UP_BASE_SET);
	r = write_atomic(e, path, p->base_bytes, p->base_len, d);
	if (r)
		return r;
	snprintf(path, sizeof path, "%s/release.set", up_slot_dir(x));
	return write_atomic(e, path, p->target_bytes, p->target_len, d);
}

/* The staged bundle removed, durably. */
static int remove_staged(struct up_engine *e, struct si_diag *d)
{
	int r = e->fs->unlink(e->fs->ctx, UP_STAGED_BUNDLE, d);

	return r ? r : e->fs->fsync_dir(e->fs->ctx, UP_STAGED_DIR, d);
}

static void refuse(struct up_engine *e, const char *what, int r, struct si_diag *d)
{
	struct up_state n = e->st;
	struct si_diag d2;
	int u;

	outcome(&n, UP_OUT_REFUSED, "%s: %s", what, si_err_name(r));
	si_diag_clear(&d2);
	u = remove_staged(e, &d2);
	if (u == 0)
		u = commit(e, &n, &d2);
	if (u != 0)
		elog(e, 3, "the outcome could not be recorded (%s: %s); the bundle is checked "
		     "again at the next boot", si_err_name(u),
		     d2.sys_errno ? strerror(d2.sys_errno) : si_err_meaning(u));
	(void)d;
}

int up_apply_staged(struct up_engine *e, struct up_plan *p, struct si_diag *d)
{
	struct hsrc hs;
	struct src s;
	struct up_state n;
	uint64_t size = 0;
	char got[17];
	int r;

	hs.fs = e->fs;
	r = e->fs->open(e->fs->ctx, UP_STAGED_BUNDLE, SI_O_READ, &hs.h, d);
	if (r)
		return r;
	r = e->fs->size(e->fs->ctx, hs.h, &size, d);
	s.read = hsrc_read;
	s.ctx = &hs;
	s.size = size;
	if (r == 0)
		r = up_bundle_check(e, hsrc_read, &hs, size, 1, p, d);
	if (r == SI_E_BUNDLE_BASE && p->target.n && !zero32(e->st.active_set) &&
	    si_ct_memcmp(p->target.digest, e->st.active_set, 32) == 0) {
		/* Its set is the active one: this bundle was committed and the
		 * power went before its removal reached the disk.  Nothing is
		 * refused; it goes. */
		e->fs->close(e->fs->ctx, hs.h);
		elog(e, 5, "the staged bundle ('%s') is the active set already (committed before a "
		     "power cut): removed", p->target.name);
		return remove_staged(e, d);
	}
	if (r) {
		e->fs->close(e->fs->ctx, hs.h);
		refuse(e, p->b.name[0] ? p->b.name : "staged bundle", r, d);
		return r;
	}
	short_hex(got, p->target.digest);
	elog(e, 5, "applying '%s' %s over '%s'%s into %s (%llu bytes needed, %llu free)",
	     p->target.name, p->target.version, p->base.name,
	     p->stacked ? " (reverting the active response first)" : "", up_slot_dir(p->new_slot),
	     (unsigned long long)p->need, (unsigned long long)p->avail);
	if (p->stacked) {
		r = rebuild_base(e, e->st.active, p->base_slot, &p->base, p->base_bytes,
				 p->base_len, d);
		if (r) {
			e->fs->close(e->fs->ctx, hs.h);
			refuse(e, p->b.name, r, d);
			return r;
		}
	}
	r = apply_entries(e, p, &s, d);
	e->fs->close(e->fs->ctx, hs.h);
	if (r) {
		/* I/O errors keep the work for the next boot's resume; what
		 * the bundle's own bytes caused is refused for good */
		if (si_err_cause(r) != SI_CAUSE_SYSTEM)
			refuse(e, p->b.name, r, d);
		return r;
	}
	/* The commit: one record names the new set active, on trial; this
	 * boot is its first attempt. */
	n = e->st;
	n.previous = p->base_slot;
	n.active = p->new_slot;
	n.trial_total = (uint8_t)(e->trial_boots ? e->trial_boots : 1);
	n.trial_left = (uint8_t)(n.trial_total - 1);
	n.flags = 0;
	memcpy(n.previous_set, p->base.digest, 32);
	memcpy(n.active_set, p->target.digest, 32);
	outcome(&n, UP_OUT_APPLIED, "%s over %s", p->target.name, p->base.name);
	r = commit(e, &n, d);
	if (r)
		return r;
	elog(e, 5, "committed '%s' %s in %s (set %s...): on trial, boot 1 of %u", p->target.name,
	     p->target.version, up_slot_dir(n.active), got, (unsigned)n.trial_total);
	/* Clean-up: the bundle, and what no slot needs (a stacked response's
	 * old slot).  Failures here cost space, never the commit. */
	{
		struct si_diag d2;

		si_diag_clear(&d2);
		if (remove_staged(e, &d2) != 0 || up_gc(e, &d2) != 0)
			elog(e, 4, "clean-up after the commit: %s (retried at the next update)",
			     si_err_meaning(SI_E_IO));
	}
	return 0;
}

/* ------------------------------------------------------------ revert */

int up_revert(struct up_engine *e, struct si_diag *d)
{
	static uint8_t bb[SI_MANIFEST_MAX];
	struct si_set base;
	struct up_state n;
	size_t bl = 0;
	int r;

	if (!e->st.previous) {
		r = SI_E_NO_PREVIOUS;
	} else {
		r = slot_base_set(e, e->st.active, &base, bb, &bl, up_floor_of(&e->floors, UP_FLOOR_SET), d);
		if (r == 0 && si_ct_memcmp(base.digest, e->st.previous_set, 32) != 0) {
			si_diag_clear(d);
			si_diag_field(d, "revert/base.set (state record)");
			si_diag_bytes(d, e->st.previous_set, base.digest, 32);
			r = SI_E_SET_DIGEST;
		}
		if (r == 0) {
			unsigned i;

			for (i = 0; i < base.n && r == 0; i++)
				if (base.img[i].rollback_index < up_floor_of(&e->floors, base.img[i].name)) {
					si_diag_clear(d);
					si_diag_where(d, base.img[i].name, strlen(base.img[i].name));
					si_diag_field(d, "rollback_index (recorded floor)");
					si_diag_values(d, up_floor_of(&e->floors, base.img[i].name),
						       base.img[i].rollback_index);
					r = SI_E_SEAL_ROLLBACK;
				}
		}
		if (r == 0) {
			elog(e, 5, "reverting to '%s' %s in %s", base.name, base.version,
			     up_slot_dir(e->st.previous));
			r = rebuild_base(e, e->st.active, e->st.previous, &base, bb, bl, d);
		}
	}
	n = e->st;
	n.flags &= (uint8_t)~UP_STATE_REVERT;
	if (r) {
		if (si_err_cause(r) == SI_CAUSE_SYSTEM)
			return r; /* the request stays: the next boot tries again */
		outcome(&n, UP_OUT_REFUSED, "revert: %s", si_err_name(r));
		if (commit(e, &n, NULL) != 0)
			elog(e, 3, "the outcome could not be recorded");
		return r;
	}
	n.active = e->st.previous;
	n.previous = 0;
	n.flags = UP_STATE_CONFIRMED;
	n.trial_left = n.trial_total = 0;
	memcpy(n.active_set, base.digest, 32);
	memset(n.previous_set, 0, 32);
	outcome(&n, UP_OUT_REVERTED, "back to %s", base.name);
	r = commit(e, &n, d);
	if (r)
		return r;
	elog(e, 5, "reverted: '%s' %s is active in %s", base.name, base.version,
	     up_slot_dir(n.active));
	{
		struct si_diag d2;

		si_diag_clear(&d2);
		if (up_gc(e, &d2) != 0)
			elog(e, 4, "clean-up after the revert failed (retried at the next update)");
	}
	return 0;
}

/* ------------------------------------------------------------ sealctl */

static int fd_src_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	return si_pread_full(*(const int *)ctx, off, buf, len, NULL);
}

int up_stage(struct up_engine *e, int src_fd, uint64_t size, struct up_plan *p,
	     struct si_diag *d)
{
	static uint8_t buf[COPY_CHUNK];
	char tmp[UP_PATH_MAX];
	uint64_t done = 0;
	int h, r, fd = src_fd;

	if (!(e->st.flags & UP_STATE_CONFIRMED))
		return si_diag_want(d, SI_E_TRIAL_PENDING, "trial boots left",
				    0, e->st.trial_left);
	r = up_bundle_check(e, fd_src_read, &fd, size, 0, p, d);
	if (r)
		return r;
	/* the copy: write new, fsync, rename, fsync the directory */
	r = mkdirs(e, UP_STAGED_DIR, d);
	if (r)
		return r;
	snprintf(tmp, sizeof tmp, "%s.part", UP_STAGED_BUNDLE);
	r = e->fs->open(e->fs->ctx, tmp, SI_O_WRITE, &h, d);
	if (r)
		return r;
	while (r == 0 && done < size) {
		size_t n = size - done < sizeof buf ? (size_t)(size - done) : sizeof buf;

		r = si_pread_full(fd, done, buf, n, d);
		if (r == 0)
			r = e->fs->pwrite(e->fs->ctx, h, done, buf, n, d);
		done += n;
	}
	if (r == 0)
		r = e->fs->fsync(e->fs->ctx, h, d);
	e->fs->close(e->fs->ctx, h);
	/* the copy checked again: what sealinit will read */
	if (r == 0) {
		struct hsrc hs;
		static struct up_plan again;

		hs.fs = e->fs;
		hs.h = -1;
		r = e->fs->open(e->fs->ctx, tmp, SI_O_READ, &hs.h, d);
		if (r == 0)
			r = up_bundle_check(e, hsrc_read, &hs, size, 1, &again, d);
		if (r == 0) {
			/* every payload's digest, not only the head's */
			unsigned i;

			for (i = 0; r == 0 && i < again.b.n; i++) {
				const struct up_entry *en = &again.b.e[i];
				const struct up_payload *pl[2] = { &en->fwd, &en->rev };
				unsigned k;

				for (k = 0; r == 0 && k < 2; k++) {
					struct si_sha256 c;
					uint8_t dg[32];
					uint64_t o = 0;

					if (!pl[k]->len)
						continue;
					si_sha256_init(&c);
					while (r == 0 && o < pl[k]->len) {
						size_t n = pl[k]->len - o < sizeof buf ? (size_t)(pl[k]->len - o)
										     : sizeof buf;

						r = hsrc_read(&hs, pl[k]->off + o, buf, n);
						si_sha256_update(&c, buf, n);
						o += n;
					}
					si_sha256_final(&c, dg);
					if (r == 0 && si_ct_memcmp(dg, pl[k]->sha256, 32) != 0) {
						si_diag_clear(d);
						si_diag_where(d, en->name, strlen(en->name));
						si_diag_field(d, k ? "reverse payload sha256" : "forward payload sha256");
						si_diag_bytes(d, pl[k]->sha256, dg, 32);
						r = SI_E_BUNDLE_PAYLOAD;
					}
				}
			}
		}
		if (hs.h >= 0)
			e->fs->close(e->fs->ctx, hs.h);
	}
	if (r == 0)
		r = e->fs->rename(e->fs->ctx, tmp, UP_STAGED_BUNDLE, d);
	if (r == 0)
		r = e->fs->fsync_dir(e->fs->ctx, UP_STAGED_DIR, d);
	if (r) {
		int u = e->fs->unlink(e->fs->ctx, tmp, NULL);

		/* the directory too when it holds nothing else: a refusal
		 * leaves nothing behind */
		u = e->fs->rmdir(e->fs->ctx, UP_STAGED_DIR, NULL);
		(void)u;
	}
	return r;
}

int up_confirm(struct up_engine *e, struct si_diag *d)
{
	static uint8_t sb[SI_MANIFEST_MAX];
	struct si_set s;
	struct up_state n = e->st;
	struct up_floors f = e->floors;
	size_t sl = 0;
	unsigned i;
	int r;

	r = up_slot_set(e, e->st.active, &s, sb, &sl, d);
	if (r)
		return r;
	if (!(e->st.flags & UP_STATE_CONFIRMED)) {
		n.flags |= UP_STATE_CONFIRMED;
		n.trial_left = 0;
		outcome(&n, UP_OUT_CONFIRMED, "%s confirmed", s.name);
		r = commit(e, &n, d);
		if (r)
			return r;
	}
	/* Floors rise only now, after the state says confirmed: until then
	 * the previous set must stay bootable.  Idempotent. */
	r = up_floor_raise(&f, UP_FLOOR_SET, s.rollback_index);
	for (i = 0; r == 0 && i < s.n; i++)
		r = up_floor_raise(&f, s.img[i].name, s.img[i].rollback_index);
	if (r)
		return si_diag_want(d, r, "floors", UP_FLOORS_MAX, f.n + 1);
	if (memcmp(&f, &e->floors, sizeof f) != 0) {
		struct up_floor_store fst;
		const struct up_floor_store *fs = store_of(e, &fst);

		r = fs->store(fs->ctx, &f, d);
		if (r)
			return r;
		e->floors = f;
	}
	/* The previous slot's images are rebuilt from the reverse patches
	 * when a revert needs them: only its unchanged images (hard links
	 * shared with the active slot) cost nothing to keep. */
	if (e->st.previous) {
		r = rm_tree(e, up_slot_dir(e->st.previous), 3, d);
		if (r == 0)
			r = e->fs->fsync_dir(e->fs->ctx, "slots", d);
	}
	return r;
}

int up_request_revert(struct up_engine *e, struct si_diag *d)
{
	static uint8_t bb[SI_MANIFEST_MAX];
	struct si_set base;
	struct up_state n = e->st;
	size_t bl = 0;
	int r;

	if (!e->st.previous)
		return si_diag_at(d, SI_E_NO_PREVIOUS, up_slot_dir(e->st.active), 0);
	r = slot_base_set(e, e->st.active, &base, bb, &bl, up_floor_of(&e->floors, UP_FLOOR_SET), d);
	if (r)
		return r;
	n.flags |= UP_STATE_REVERT;
	return commit(e, &n, d);
}
