/* sealinit tests/crash/: the power-loss model behind struct si_fs; see
 * memfs.h for what it keeps and what a crash leaves. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "patch/patch.h"
#include "tests/crash/memfs.h"

/* ------------------------------------------------------------ helpers */

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q) {
		fprintf(stderr, "memfs: out of memory\n");
		abort();
	}
	return q;
}

static void blob_set(struct mf_blob *b, const uint8_t *p, uint64_t n)
{
	if (n > b->cap) {
		b->p = xrealloc(b->p, (size_t)n);
		b->cap = n;
	}
	if (n)
		memcpy(b->p, p, (size_t)n);
	b->size = n;
}

static void blob_resize(struct mf_blob *b, uint64_t n)
{
	if (n > b->cap) {
		uint64_t c = b->cap * 2 > n ? b->cap * 2 : n;

		b->p = xrealloc(b->p, (size_t)c);
		b->cap = c;
	}
	if (n > b->size)
		memset(b->p + b->size, 0, (size_t)(n - b->size));
	b->size = n;
}

static void blob_write(struct mf_blob *b, uint64_t off, const uint8_t *p, uint64_t n)
{
	if (off + n > b->size)
		blob_resize(b, off + n);
	memcpy(b->p + off, p, (size_t)n);
}

/* "a/b/c" -> "a/b"; "c" -> "." */
static void parent_of(const char *path, char *out)
{
	const char *s = strrchr(path, '/');

	if (!s) {
		strcpy(out, ".");
		return;
	}
	memcpy(out, path, (size_t)(s - path));
	out[s - path] = 0;
}

static int norm(const char *in, char *out, struct si_diag *d)
{
	while (*in == '/')
		in++;
	if (strlen(in) >= MF_PATH)
		return si_diag_sys(d, SI_E_TOO_BIG, in, ENAMETOOLONG);
	strcpy(out, *in ? in : ".");
	return 0;
}

static int find(const struct mf_name *t, const char *path)
{
	int i;

	for (i = 0; i < MF_NAMES; i++)
		if (t[i].ino >= 0 && !strcmp(t[i].path, path))
			return i;
	return -1;
}

static int lookup(const struct mf_name *t, const struct memfs *m, const char *path)
{
	int i;

	if (!strcmp(path, "."))
		return 0; /* the root is inode 0 */
	i = find(t, path);
	(void)m;
	return i < 0 ? -1 : t[i].ino;
}

static void name_set(struct mf_name *t, const char *path, int ino)
{
	int i = find(t, path);

	if (i < 0)
		for (i = 0; i < MF_NAMES && t[i].ino >= 0; i++)
			;
	if (i >= MF_NAMES) {
		fprintf(stderr, "memfs: more than %d names\n", MF_NAMES);
		abort();
	}
	snprintf(t[i].path, MF_PATH, "%s", path);
	t[i].ino = ino;
}

/* Removes path and everything below it. */
static void name_del(struct mf_name *t, const char *path)
{
	size_t n = strlen(path);
	int i;

	for (i = 0; i < MF_NAMES; i++)
		if (t[i].ino >= 0 && (!strcmp(t[i].path, path) ||
				      (!strncmp(t[i].path, path, n) && t[i].path[n] == '/')))
			t[i].ino = -1;
}

static int is_dir_in(const struct memfs *m, const struct mf_name *t, const char *path)
{
	int ino = lookup(t, m, path);

	return ino >= 0 && m->ino[ino].dir;
}

static int new_inode(struct memfs *m, int dir)
{
	int i;

	for (i = 1; i < MF_INODES && m->ino[i].used; i++)
		;
	if (i >= MF_INODES) {
		fprintf(stderr, "memfs: more than %d inodes\n", MF_INODES);
		abort();
	}
	m->ino[i].used = 1;
	m->ino[i].dir = dir;
	m->ino[i].cur.size = m->ino[i].dur.size = 0;
	return i;
}

/* A new name p (its parent must be a directory) for a new inode. */
static int add_name(struct memfs *m, const char *p, int dir, int err, const char *where,
		    int *ino, struct si_diag *d)
{
	char par[MF_PATH];

	parent_of(p, par);
	if (!is_dir_in(m, m->cur, par))
		return si_diag_sys(d, err, where, ENOENT);
	*ino = new_inode(m, dir);
	name_set(m->cur, p, *ino);
	return 0;
}

static struct mf_op *log_op(struct memfs *m, enum mf_opk k, int ino)
{
	struct mf_op *o;

	if (m->nops == m->capops) {
		m->capops = m->capops ? m->capops * 2 : 64;
		m->ops = xrealloc(m->ops, m->capops * sizeof *m->ops);
	}
	o = &m->ops[m->nops++];
	memset(o, 0, sizeof *o);
	o->k = k;
	o->ino = ino;
	return o;
}

/* An op applied to a names table and the durable contents (a crash state,
 * or a commit by fsync).  torn: a write's bytes kept (the rest lost). */
static void apply_dur(struct memfs *m, struct mf_name *t, const struct mf_op *o, uint64_t keep)
{
	char par[MF_PATH];

	switch (o->k) {
	case MF_W:
		blob_write(&m->ino[o->ino].dur, o->off, o->data, keep);
		break;
	case MF_T:
		blob_resize(&m->ino[o->ino].dur, o->off);
		break;
	case MF_CREATE:
	case MF_MKDIR:
		parent_of(o->a, par);
		if (is_dir_in(m, t, par))
			name_set(t, o->a, o->ino);
		break;
	case MF_UNLINK:
	case MF_RMDIR:
		name_del(t, o->a);
		break;
	case MF_RENAME:
		name_del(t, o->a);
		/* fall through */
	case MF_LINK:
		parent_of(o->b, par);
		if (is_dir_in(m, t, par)) {
			name_del(t, o->b);
			name_set(t, o->b, o->ino);
		}
		break;
	}
}

static void compact(struct memfs *m)
{
	size_t i, j = 0;

	for (i = 0; i < m->nops; i++) {
		if (m->ops[i].done) {
			free(m->ops[i].data);
			continue;
		}
		m->ops[j++] = m->ops[i];
	}
	m->nops = j;
}

/* ------------------------------------------------------------ counting */

static struct memfs *snapshot(const struct memfs *m)
{
	struct memfs *s = malloc(sizeof *s);
	size_t i;

	if (!s)
		abort();
	memfs_clone_durable(m, s);
	s->ops = xrealloc(NULL, (m->nops ? m->nops : 1) * sizeof *s->ops);
	s->nops = s->capops = 0;
	for (i = 0; i < m->nops; i++) {
		if (m->ops[i].done)
			continue;
		s->ops[s->nops] = m->ops[i];
		if (m->ops[i].data) {
			s->ops[s->nops].data = xrealloc(NULL, (size_t)m->ops[i].len);
			memcpy(s->ops[s->nops].data, m->ops[i].data, (size_t)m->ops[i].len);
		}
		s->nops++;
	}
	s->capops = s->nops;
	return s;
}

/* Every mutating operation passes here first: EIO once the power is off. */
static int mutate(struct memfs *m, const char *where, struct si_diag *d)
{
	if (m->crashed)
		return si_diag_sys(d, SI_E_IO, where, EIO);
	if (m->crash_at && m->nmut + 1 == m->crash_at) {
		m->snap = snapshot(m);
		m->crashed = 1;
		return si_diag_sys(d, SI_E_IO, where, EIO);
	}
	m->nmut++;
	return 0;
}

/* Writes also pass here: the injected fault. */
static int write_fault(struct memfs *m, const char *where, struct si_diag *d)
{
	m->nwrites++;
	if (m->fault_at && m->nwrites >= m->fault_at && (!m->fault_once || !m->faulted)) {
		m->faulted = 1;
		return si_diag_sys(d, m->fault_errno == ENOSPC ? SI_E_WRITE : SI_E_IO, where,
				   m->fault_errno);
	}
	return 0;
}

/* The bytes of every file that has a name or is open: a file whose name
 * a crash lost holds no space afterwards (the file system's recovery
 * frees orphans, as ext4's does). */
static uint64_t used_bytes(const struct memfs *m)
{
	uint8_t live[MF_INODES];
	uint64_t n = 0;
	int i;

	memset(live, 0, sizeof live);
	for (i = 0; i < MF_NAMES; i++)
		if (m->cur[i].ino >= 0)
			live[m->cur[i].ino] = 1;
	for (i = 0; i < MF_HANDLES; i++)
		if (m->h[i].used)
			live[m->h[i].ino] = 1;
	for (i = 1; i < MF_INODES; i++)
		if (live[i] && m->ino[i].used && !m->ino[i].dir)
			n += m->ino[i].cur.size;
	return n;
}

/* ------------------------------------------------------------ operations */

#define LOCK(m) pthread_mutex_lock(&(m)->lock)
#define UNLOCK(m) pthread_mutex_unlock(&(m)->lock)

static int mf_open(void *ctx, const char *path, enum si_omode mode, int *h, struct si_diag *d)
{
	struct memfs *m = ctx;
	char p[MF_PATH];
	int ino, r, i;

	r = norm(path, p, d);
	if (r)
		return r;
	LOCK(m);
	if (m->crashed) {
		r = si_diag_sys(d, SI_E_IO, path, EIO);
		goto out;
	}
	ino = lookup(m->cur, m, p);
	if (ino >= 0 && m->ino[ino].dir) {
		r = si_diag_sys(d, SI_E_OPEN, path, EISDIR);
		goto out;
	}
	if (ino < 0 && (mode == SI_O_READ || mode == SI_O_RDWR_EXISTING)) {
		r = si_diag_sys(d, SI_E_OPEN, path, ENOENT);
		goto out;
	}
	if (ino < 0 || mode == SI_O_WRITE) {
		r = mutate(m, path, d);
		if (!r)
			r = write_fault(m, path, d);
		if (r)
			goto out;
	}
	if (ino < 0) {
		r = add_name(m, p, 0, SI_E_OPEN, path, &ino, d);
		if (r)
			goto out;
		snprintf(log_op(m, MF_CREATE, ino)->a, MF_PATH, "%s", p);
	} else if (mode == SI_O_WRITE && m->ino[ino].cur.size) {
		m->ino[ino].cur.size = 0;
		log_op(m, MF_T, ino)->off = 0;
	}
	for (i = 0; i < MF_HANDLES && m->h[i].used; i++)
		;
	if (i >= MF_HANDLES) {
		r = si_diag_sys(d, SI_E_OPEN, path, EMFILE);
		goto out;
	}
	m->h[i].used = 1;
	m->h[i].ino = ino;
	m->h[i].mode = (int)mode;
	*h = i;
	r = 0;
out:
	UNLOCK(m);
	return r;
}

static int handle(struct memfs *m, int h, struct si_diag *d)
{
	if (h < 0 || h >= MF_HANDLES || !m->h[h].used)
		return si_diag_sys(d, SI_E_IO, NULL, EBADF);
	return 0;
}

static int mf_pread(void *ctx, int h, uint64_t off, void *buf, size_t len, struct si_diag *d)
{
	struct memfs *m = ctx;
	const struct mf_blob *b;
	int r;

	LOCK(m);
	r = m->crashed ? si_diag_sys(d, SI_E_IO, NULL, EIO) : handle(m, h, d);
	if (!r) {
		b = &m->ino[m->h[h].ino].cur;
		if (off > b->size || len > b->size - off)
			r = SI_E_SHORT;
		else
			memcpy(buf, b->p + off, len);
	}
	UNLOCK(m);
	return r;
}

static int mf_pwrite(void *ctx, int h, uint64_t off, const void *buf, size_t len,
		     struct si_diag *d)
{
	struct memfs *m = ctx;
	struct mf_inode *in;
	struct mf_op *o;
	uint64_t grow;
	int r;

	LOCK(m);
	r = handle(m, h, d);
	if (!r && m->h[h].mode == SI_O_READ)
		r = si_diag_sys(d, SI_E_IO, NULL, EBADF);
	if (!r)
		r = mutate(m, NULL, d);
	if (!r)
		r = write_fault(m, NULL, d);
	if (r)
		goto out;
	in = &m->ino[m->h[h].ino];
	grow = off + len > in->cur.size ? off + len - in->cur.size : 0;
	if (grow && used_bytes(m) + grow > m->capacity) {
		r = si_diag_sys(d, SI_E_WRITE, NULL, ENOSPC);
		goto out;
	}
	blob_write(&in->cur, off, buf, len);
	o = log_op(m, MF_W, m->h[h].ino);
	o->off = off;
	o->len = len;
	o->data = xrealloc(NULL, len);
	memcpy(o->data, buf, len);
out:
	UNLOCK(m);
	return r;
}

static int mf_fsync(void *ctx, int h, struct si_diag *d)
{
	struct memfs *m = ctx;
	size_t i;
	int r, ino;

	LOCK(m);
	r = handle(m, h, d);
	if (!r)
		r = mutate(m, NULL, d);
	if (r)
		goto out;
	ino = m->h[h].ino;
	for (i = 0; i < m->nops; i++) {
		struct mf_op *o = &m->ops[i];

		if (!o->done && o->ino == ino && (o->k == MF_W || o->k == MF_T)) {
			apply_dur(m, m->dur, o, o->len);
			o->done = 1;
		}
	}
	compact(m);
out:
	UNLOCK(m);
	return r;
}

static int mf_truncate(void *ctx, int h, uint64_t size, struct si_diag *d)
{
	struct memfs *m = ctx;
	struct mf_inode *in;
	int r;

	LOCK(m);
	r = handle(m, h, d);
	if (!r)
		r = mutate(m, NULL, d);
	if (!r)
		r = write_fault(m, NULL, d);
	if (r)
		goto out;
	in = &m->ino[m->h[h].ino];
	if (size > in->cur.size && used_bytes(m) + size - in->cur.size > m->capacity) {
		r = si_diag_sys(d, SI_E_WRITE, NULL, ENOSPC);
		goto out;
	}
	blob_resize(&in->cur, size);
	log_op(m, MF_T, m->h[h].ino)->off = size;
out:
	UNLOCK(m);
	return r;
}

static int mf_size(void *ctx, int h, uint64_t *size, struct si_diag *d)
{
	struct memfs *m = ctx;
	int r;

	LOCK(m);
	r = m->crashed ? si_diag_sys(d, SI_E_IO, NULL, EIO) : handle(m, h, d);
	if (!r)
		*size = m->ino[m->h[h].ino].cur.size;
	UNLOCK(m);
	return r;
}

static int mf_close(void *ctx, int h)
{
	struct memfs *m = ctx;

	LOCK(m);
	if (h >= 0 && h < MF_HANDLES)
		m->h[h].used = 0;
	UNLOCK(m);
	return 0;
}

static int name_op(struct memfs *m, enum mf_opk k, const char *a, const char *b,
		   struct si_diag *d)
{
	char pa[MF_PATH], pb[MF_PATH], par[MF_PATH];
	struct mf_op *o;
	int r, ino, i;

	r = norm(a, pa, d);
	if (!r && b)
		r = norm(b, pb, d);
	if (r)
		return r;
	LOCK(m);
	r = mutate(m, a, d);
	if (r)
		goto out;
	ino = lookup(m->cur, m, pa);
	switch (k) {
	case MF_UNLINK:
		if (ino < 0)
			goto out;
		if (m->ino[ino].dir) {
			r = si_diag_sys(d, SI_E_IO, a, EISDIR);
			goto out;
		}
		name_del(m->cur, pa);
		break;
	case MF_RMDIR:
		if (ino < 0)
			goto out;
		for (i = 0; i < MF_NAMES; i++)
			if (m->cur[i].ino >= 0 && !strncmp(m->cur[i].path, pa, strlen(pa)) &&
			    m->cur[i].path[strlen(pa)] == '/') {
				r = si_diag_sys(d, SI_E_IO, a, ENOTEMPTY);
				goto out;
			}
		name_del(m->cur, pa);
		break;
	case MF_MKDIR:
		if (ino >= 0) {
			if (!m->ino[ino].dir)
				r = si_diag_sys(d, SI_E_IO, a, EEXIST);
			goto out;
		}
		r = add_name(m, pa, 1, SI_E_IO, a, &ino, d);
		if (r)
			goto out;
		break;
	case MF_RENAME:
	case MF_LINK: {
		int t = lookup(m->cur, m, pb);

		if (ino < 0) {
			r = si_diag_sys(d, SI_E_IO, a, ENOENT);
			goto out;
		}
		parent_of(pb, par);
		if (!is_dir_in(m, m->cur, par) || (k == MF_LINK && t >= 0) ||
		    (t >= 0 && m->ino[t].dir) || m->ino[ino].dir) {
			r = si_diag_sys(d, SI_E_IO, a, t >= 0 ? EEXIST : ENOENT);
			goto out;
		}
		if (k == MF_RENAME)
			name_del(m->cur, pa);
		name_set(m->cur, pb, ino);
		break;
	}
	default:
		break;
	}
	o = log_op(m, k, ino);
	snprintf(o->a, MF_PATH, "%s", pa);
	if (b)
		snprintf(o->b, MF_PATH, "%s", pb);
out:
	UNLOCK(m);
	return r;
}

static int mf_rename(void *ctx, const char *from, const char *to, struct si_diag *d)
{
	return name_op(ctx, MF_RENAME, from, to, d);
}

static int mf_link(void *ctx, const char *from, const char *to, struct si_diag *d)
{
	return name_op(ctx, MF_LINK, from, to, d);
}

static int mf_unlink(void *ctx, const char *path, struct si_diag *d)
{
	return name_op(ctx, MF_UNLINK, path, NULL, d);
}

static int mf_mkdir(void *ctx, const char *path, struct si_diag *d)
{
	return name_op(ctx, MF_MKDIR, path, NULL, d);
}

static int mf_rmdir(void *ctx, const char *path, struct si_diag *d)
{
	return name_op(ctx, MF_RMDIR, path, NULL, d);
}

/* A directory's fsync makes the names in it durable (both ends of a
 * rename into or out of it). */
static int mf_fsync_dir(void *ctx, const char *path, struct si_diag *d)
{
	struct memfs *m = ctx;
	char p[MF_PATH], pa[MF_PATH], pb[MF_PATH];
	size_t i;
	int r;

	r = norm(path, p, d);
	if (r)
		return r;
	LOCK(m);
	r = mutate(m, path, d);
	if (r)
		goto out;
	if (!is_dir_in(m, m->cur, p)) {
		r = si_diag_sys(d, SI_E_IO, path, ENOENT);
		goto out;
	}
	for (i = 0; i < m->nops; i++) {
		struct mf_op *o = &m->ops[i];

		if (o->done || o->k == MF_W || o->k == MF_T)
			continue;
		parent_of(o->a, pa);
		parent_of(o->b, pb);
		if (!strcmp(pa, p) || ((o->k == MF_RENAME || o->k == MF_LINK) && !strcmp(pb, p))) {
			apply_dur(m, m->dur, o, 0);
			o->done = 1;
		}
	}
	compact(m);
out:
	UNLOCK(m);
	return r;
}

static int mf_stat(void *ctx, const char *path, enum si_ftype *t, uint64_t *size,
		   struct si_diag *d)
{
	struct memfs *m = ctx;
	char p[MF_PATH];
	int r, ino;

	r = norm(path, p, d);
	if (r)
		return r;
	LOCK(m);
	if (m->crashed) {
		r = si_diag_sys(d, SI_E_IO, path, EIO);
	} else {
		ino = lookup(m->cur, m, p);
		*t = ino < 0 ? SI_FT_NONE : m->ino[ino].dir ? SI_FT_DIR : SI_FT_REG;
		*size = ino < 0 ? 0 : m->ino[ino].cur.size;
	}
	UNLOCK(m);
	return r;
}

static int mf_list(void *ctx, const char *dir, void (*each)(void *, const char *, size_t),
		   void *arg, struct si_diag *d)
{
	struct memfs *m = ctx;
	char p[MF_PATH], par[MF_PATH];
	char (*names)[MF_PATH];
	int r, i, n = 0;

	r = norm(dir, p, d);
	if (r)
		return r;
	names = xrealloc(NULL, MF_NAMES * sizeof *names);
	LOCK(m);
	if (m->crashed)
		r = si_diag_sys(d, SI_E_IO, dir, EIO);
	else if (!is_dir_in(m, m->cur, p))
		r = si_diag_sys(d, SI_E_OPEN, dir, ENOENT);
	for (i = 0; !r && i < MF_NAMES; i++) {
		if (m->cur[i].ino < 0)
			continue;
		parent_of(m->cur[i].path, par);
		if (!strcmp(par, p)) {
			const char *s = strrchr(m->cur[i].path, '/');

			snprintf(names[n++], MF_PATH, "%s", s ? s + 1 : m->cur[i].path);
		}
	}
	UNLOCK(m);
	/* called without the lock: each may operate on the model */
	for (i = 0; i < n; i++)
		each(arg, names[i], strlen(names[i]));
	free(names);
	return r;
}

static int mf_free(void *ctx, uint64_t *bytes, struct si_diag *d)
{
	struct memfs *m = ctx;
	uint64_t u;

	LOCK(m);
	u = used_bytes(m);
	*bytes = m->capacity > u ? m->capacity - u : 0;
	UNLOCK(m);
	(void)d;
	return 0;
}

void memfs_ops(struct memfs *m, struct si_fs *fs)
{
	memset(fs, 0, sizeof *fs);
	fs->ctx = m;
	fs->open = mf_open;
	fs->pread = mf_pread;
	fs->pwrite = mf_pwrite;
	fs->fsync = mf_fsync;
	fs->fdatasync = mf_fsync;
	fs->truncate = mf_truncate;
	fs->size = mf_size;
	fs->close = mf_close;
	fs->rename = mf_rename;
	fs->unlink = mf_unlink;
	fs->link = mf_link;
	fs->mkdir = mf_mkdir;
	fs->rmdir = mf_rmdir;
	fs->fsync_dir = mf_fsync_dir;
	fs->stat = mf_stat;
	fs->list = mf_list;
	fs->free_bytes = mf_free;
}

/* ------------------------------------------------------------ life */

void memfs_init(struct memfs *m, uint64_t capacity)
{
	int i;

	memset(m, 0, sizeof *m);
	pthread_mutex_init(&m->lock, NULL);
	for (i = 0; i < MF_NAMES; i++)
		m->cur[i].ino = m->dur[i].ino = -1;
	m->ino[0].used = 1;
	m->ino[0].dir = 1;
	m->capacity = capacity;
}

void memfs_free(struct memfs *m)
{
	size_t i;
	int j;

	for (j = 0; j < MF_INODES; j++) {
		free(m->ino[j].cur.p);
		free(m->ino[j].dur.p);
	}
	for (i = 0; i < m->nops; i++)
		free(m->ops[i].data);
	free(m->ops);
	if (m->snap) {
		memfs_free(m->snap);
		free(m->snap);
	}
	pthread_mutex_destroy(&m->lock);
	memset(m, 0, sizeof *m);
}

void memfs_clone_durable(const struct memfs *m, struct memfs *out)
{
	int i;

	memfs_init(out, m->capacity);
	memcpy(out->dur, m->dur, sizeof out->dur);
	memcpy(out->cur, m->dur, sizeof out->cur);
	for (i = 0; i < MF_INODES; i++) {
		out->ino[i].used = m->ino[i].used;
		out->ino[i].dir = m->ino[i].dir;
		blob_set(&out->ino[i].dur, m->ino[i].dur.p, m->ino[i].dur.size);
		blob_set(&out->ino[i].cur, m->ino[i].dur.p, m->ino[i].dur.size);
	}
}

static int import_dir(struct memfs *m, const char *real, const char *rel)
{
	char rp[1024], p[MF_PATH];
	struct dirent *e;
	struct stat st;
	DIR *dir = opendir(real);
	int r = 0;

	if (!dir)
		return -1;
	while (r == 0 && (e = readdir(dir))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(rp, sizeof rp, "%s/%s", real, e->d_name);
		if ((size_t)snprintf(p, sizeof p, "%s%s%s", rel, *rel ? "/" : "", e->d_name) >=
		    sizeof p || lstat(rp, &st) != 0) {
			r = -1;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			int ino = new_inode(m, 1);

			name_set(m->cur, p, ino);
			name_set(m->dur, p, ino);
			r = import_dir(m, rp, p);
		} else if (S_ISREG(st.st_mode)) {
			int ino = new_inode(m, 0), fd = open(rp, O_RDONLY);
			uint8_t *buf = xrealloc(NULL, (size_t)st.st_size);

			if (fd < 0 || read(fd, buf, (size_t)st.st_size) != st.st_size)
				r = -1;
			if (fd >= 0)
				close(fd);
			blob_set(&m->ino[ino].cur, buf, (uint64_t)st.st_size);
			blob_set(&m->ino[ino].dur, buf, (uint64_t)st.st_size);
			free(buf);
			name_set(m->cur, p, ino);
			name_set(m->dur, p, ino);
		}
	}
	closedir(dir);
	return r;
}

int memfs_import(struct memfs *m, const char *dir)
{
	return import_dir(m, dir, "");
}

int memfs_export(const struct memfs *m, const char *dir)
{
	char p[1024];
	int i, pass;

	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < MF_NAMES; i++) {
			const struct mf_inode *in;

			if (m->cur[i].ino < 0)
				continue;
			in = &m->ino[m->cur[i].ino];
			snprintf(p, sizeof p, "%s/%s", dir, m->cur[i].path);
			if (pass == 0 && in->dir) {
				char cmd[1200];

				snprintf(cmd, sizeof cmd, "mkdir -p '%s'", p);
				if (system(cmd) != 0)
					return -1;
			} else if (pass == 1 && !in->dir) {
				FILE *f = fopen(p, "wb");

				if (!f || fwrite(in->cur.p, 1, (size_t)in->cur.size, f) != in->cur.size) {
					if (f)
						fclose(f);
					return -1;
				}
				fclose(f);
			}
		}
	return 0;
}

const struct mf_blob *memfs_file(const struct memfs *m, const char *path)
{
	int ino = lookup(m->cur, m, path);

	return ino < 0 || m->ino[ino].dir ? NULL : &m->ino[ino].cur;
}

static const struct mf_name *sort_base;

static int by_path(const void *a, const void *b)
{
	return strcmp(sort_base[*(const int *)a].path, sort_base[*(const int *)b].path);
}

void memfs_fingerprint(const struct memfs *m, uint8_t out[32])
{
	struct patch_hash h;
	int idx[MF_NAMES], n = 0, i;

	for (i = 0; i < MF_NAMES; i++)
		if (m->dur[i].ino >= 0)
			idx[n++] = i;
	sort_base = m->dur;
	qsort(idx, (size_t)n, sizeof idx[0], by_path);
	patch_hash_init(&h);
	for (i = 0; i < n; i++) {
		const struct mf_name *nm = &m->dur[idx[i]];
		const struct mf_inode *in = &m->ino[nm->ino];
		uint8_t t = (uint8_t)in->dir;
		uint64_t sz = in->dur.size;

		patch_hash_update(&h, nm->path, strlen(nm->path) + 1);
		patch_hash_update(&h, &t, 1);
		patch_hash_update(&h, &sz, sizeof sz);
		if (!in->dir && sz)
			patch_hash_update(&h, in->dur.p, (size_t)sz);
	}
	patch_hash_final(&h, out);
}

/* ------------------------------------------------------------ crash states */

#define MF_SUBSETS 4

static uint64_t torn_len(const struct mf_op *o)
{
	/* the first half of its sectors reached the disk */
	uint64_t keep = (o->len / 2) & ~(uint64_t)(MF_SECTOR - 1);

	return o->k == MF_W && keep && keep < o->len ? keep : 0;
}

static void state_apply(const struct memfs *s, struct memfs *out, size_t n, const uint8_t *keep,
			size_t torn_at)
{
	size_t i;

	memfs_clone_durable(s, out);
	for (i = 0; i < n; i++) {
		const struct mf_op *o = &s->ops[i];

		if (!keep[i])
			continue;
		apply_dur(out, out->dur, o, i == torn_at ? torn_len(o) : o->len);
	}
	/* what is durable is all there is after the boot */
	memcpy(out->cur, out->dur, sizeof out->cur);
	for (i = 0; i < MF_INODES; i++)
		blob_set(&out->ino[i].cur, out->ino[i].dur.p, out->ino[i].dur.size);
}

int memfs_state(const struct memfs *m, unsigned idx, unsigned seed, struct memfs *out,
		char *what, size_t wn)
{
	const struct memfs *s = m->snap;
	size_t n, i, t, ntorn = 0;
	uint8_t *keep;

	if (!s)
		return 1;
	n = s->nops;
	keep = xrealloc(NULL, n + 1);
	/* prefixes: 0 (every pending operation lost) .. n (all of them kept) */
	if (idx <= n) {
		for (i = 0; i < n; i++)
			keep[i] = i < idx;
		state_apply(s, out, n, keep, (size_t)-1);
		snprintf(what, wn, "prefix %u of %zu", idx, n);
		free(keep);
		return 0;
	}
	idx -= (unsigned)n + 1;
	/* torn: the prefix ending in each write, that write torn */
	for (t = 0; t < n; t++) {
		if (!torn_len(&s->ops[t]))
			continue;
		if (ntorn++ == idx) {
			for (i = 0; i < n; i++)
				keep[i] = i <= t;
			state_apply(s, out, n, keep, t);
			snprintf(what, wn, "prefix %zu of %zu, write %zu torn", t + 1, n, t + 1);
			free(keep);
			return 0;
		}
	}
	idx -= (unsigned)ntorn;
	/* reordered: seeded subsets (none when nothing is pending) */
	if (n >= 2 && idx < MF_SUBSETS) {
		uint64_t x = (uint64_t)seed * 0x9E3779B97F4A7C15ull + idx * 0xBF58476D1CE4E5B9ull + n;

		for (i = 0; i < n; i++) {
			x ^= x >> 31;
			x *= 0x94D049BB133111EBull;
			x ^= x >> 29;
			keep[i] = (uint8_t)(x >> 63);
		}
		state_apply(s, out, n, keep, (size_t)-1);
		snprintf(what, wn, "subset %u of %zu operations", idx + 1, n);
		free(keep);
		return 0;
	}
	free(keep);
	return 1;
}
