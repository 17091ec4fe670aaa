/* sealinit patch/: the apply driver.  Reads the old image at random, writes
 * the new one out of place (<out>.part), segments in parallel on worker
 * threads that are joined before return, every segment hash checked, then
 * fsync, the whole-result hook (seal check), rename, fsync of the directory.
 *
 * Phases: (0) the old image's digest: for a partition, checked before
 * anything is written; for a file, which is replaced only once every
 * segment is checked, only after a refusal, to name another base as its
 * cause; with expansions, (1) each old member decompressed into the
 * scratch file (<out>.scratch); (2) the segments: the expansions' (they
 * make the new members decompressed in the scratch), the image's that no
 * member writes to, then those that it does; (3) once the expansions'
 * segments are done, each new member compressed again into its place in
 * <out>.part (as gzip -9 does: 0.3 s for a kernel's changelog searched
 * whole, a few hundredths when its reuse list codes all but its start
 * with the old member's symbols).  Phases 1 and 3, and the expansions'
 * segments between them, are the apply's critical path: every thread --
 * the calling one, with a coder's state of its own, and each worker whose
 * memory holds one (patch_exp_state_size) -- takes members to split, the
 * expansions' segments and members to make before any image segment (the
 * squashfs pair's 88 zlib blocks, the os pair's seven changelogs), and
 * runs the image's segments beside the chain when none of it is left to
 * take.  A thread that can still help the chain does not take a segment
 * holding a member's bytes, which waits at its end for phase 3: it waits
 * for the chain's next step instead (one that did sat out phases 2 and 3
 * when it found phase 1's last split still running: the sqfs pair 88 ->
 * 66 ms, lib 19.7 -> 17.9).  On the kcx
 * pair the image's 97 segments are done while its 66 MB xz member is
 * split (phase 1, 1.1 s), and the apply is the split, the
 * expansions' segments and the join (2.39 -> 2.31 s, median of eight;
 * with phase 1 alone and then two workers and a helper for phase 3, as
 * before).  The scratch file is removed whatever happens.
 *
 * Memory is the caller's: `work` holds the index, the bitmap, the base
 * digest table and one patch_worker_mem() slice per worker, so the peak is
 * a constant chosen by the caller, whatever the image size.  The old image
 * is read with pread (not mapped) so its pages never count against us.
 *
 * Checkpoint journal (--checkpoint): an append-only file of 40-byte records
 *   0 "SIJ1"  4 u32 seq (1, 2, ...)  8 u32 segment  12 u32 nseg
 *   16 [16] the patch's new_digest prefix  32 [8] SHA-256 of bytes 0..31, prefix
 * A record is appended, and fdatasync'd, only after its segment's output
 * was fdatasync'd.  Recovery reads records in order and stops at the first
 * one that is torn or out of sequence; segments it names are re-hashed from
 * the .part file (a cheap check that the file is the one the journal
 * describes) and skipped. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "lib/bytes.h"
#include "patch/gz.h"
#include "patch/patch.h"

#define JREC_LEN 40u

struct apply_ctx {
	const struct patch_apply_args *a;
	struct patch_info info;
	const uint8_t *hdr;
	uint8_t *done;       /* one byte per segment: 1 = output present and checked */
	uint8_t *chunk_hash; /* base digest: one SHA-256 per seg_size chunk of old */
	struct patch_exp *exps;
	uint32_t *order;     /* phase 2: the segments in the order workers take them */
	uint32_t n_first;    /* expansions' segments: order[0..n_first) */
	uint32_t m_first;    /* image segments holding a member's bytes: order[m_first..) */
	atomic_uint next_exp; /* phase 2: the next of order[0..n_first) */
	atomic_uint exp_left; /* expansions' segments not yet done */
	atomic_int expanded; /* phase 1 finished (set under lock) */
	atomic_int made;     /* phase 3 finished (set under lock) */
	/* phases 1 and 3: the next member to split or make, and how many
	 * are done; a worker whose memory holds a coder's state takes them
	 * too (st_size: that state's bytes) */
	atomic_uint next_split, splits_done, next_make, makes_done;
	size_t st_size;
	pthread_cond_t cond;
	struct patch_map_piece *pieces;
	uint32_t *blk;
	struct patch_map map;
	void *gz;            /* the expansions' inflate / deflate state */
	const struct si_fs *fs; /* every file operation (lib/fsops.h) */
	int old_fd, patch_fd, out_fd, j_fd, scratch_fd; /* fs handles; -1: none */
	int sparse;          /* out_fd is a file this apply made, zeros until written */
	uint32_t j_seq;
	atomic_uint next;
	atomic_uint applied;
	atomic_int stop;
	pthread_mutex_t lock, wlock;
	uint32_t ndone;
	int phase; /* 0 base digest, 2 segments (the expansions' then the image's) */
	uint32_t resumed, resume_at; /* what the journal held at the start */
	int err;
	struct si_diag diag;
};

/* The old image's chunks, each hashed for old_digest (phase 0). */
static uint64_t base_chunks(const struct patch_info *in)
{
	return in->old_size / in->seg_size + (in->old_size % in->seg_size != 0);
}

/* The old image is read with pread, one call per op, into the output
 * buffer: measured on the os pair, mapping it instead saved 30 ms of 130
 * but added the touched pages of old to the resident set (30 MB with two
 * workers) and a SIGBUS if the image shrinks underneath PID 1. */
/* Whole reads and writes through the context's file operations. */
static int c_pread(const struct apply_ctx *c, int h, uint64_t off, void *buf, size_t len,
		   struct si_diag *d)
{
	return c->fs->pread(c->fs->ctx, h, off, buf, len, d);
}

static int c_pwrite(const struct apply_ctx *c, int h, uint64_t off, const void *buf, size_t len,
		    struct si_diag *d)
{
	return c->fs->pwrite(c->fs->ctx, h, off, buf, len, d);
}

struct worker {
	struct apply_ctx *c;
	uint8_t *mem;
	size_t mem_len;
	void *st; /* the expansions' coder state, or NULL: none fits in mem */
	uint8_t *win;   /* APPLY_WIN bytes after mem: the source read last */
	uint64_t w_off; /* its offset in the source space */
	size_t w_len;   /* and length; 0: empty */
	size_t w_fill;  /* what a miss reads beyond the op: 0 .. APPLY_WIN */
	unsigned w_hits; /* reads the window served since it was filled */
	pthread_t tid;
};

/* The old image: the caller's read function, or the file. */
static int old_pread(const struct apply_ctx *c, uint64_t off, uint8_t *buf, size_t len,
		     struct si_diag *d)
{
	if (c->a->old_read)
		return c->a->old_read(c->a->old_rctx, off, buf, len);
	return c_pread(c, c->old_fd, off, buf, len, d);
}

static void expanded_wait(struct apply_ctx *c);

/* The source space: the old image, then the old members in the scratch
 * (an image segment beside phase 1 waits for it to have written them). */
static int src_read(void *ctx, uint64_t off, uint8_t *buf, size_t len)
{
	struct apply_ctx *c = ctx;
	uint64_t os = c->info.old_size;

	if (off + len > os && !atomic_load(&c->expanded)) {
		expanded_wait(c);
		if (!atomic_load(&c->expanded))
			return SI_E_PATCH_STOPPED;
	}

	if (off < os) {
		size_t n = os - off < len ? (size_t)(os - off) : len;

		if (old_pread(c, off, buf, n, NULL) != 0)
			return SI_E_IO;
		off += n;
		buf += n;
		len -= n;
	}
	if (len && c_pread(c, c->scratch_fd, off - os, buf, len, NULL) != 0)
		return SI_E_IO;
	return 0;
}

/* A worker's source reads (the ops'): a short one is served from the
 * window, which is filled from its offset on when it does not hold it.
 * The expansions' segments run short ops against an old member's data
 * and parse, each at its own alignment, so chain_len cannot join their
 * reads: on the sqfs pair a read each, 19,372 preads of the scratch for
 * 88 members.  How much a miss reads adapts: four times more after a
 * window that served a read, a quarter after one that served none, down
 * to the op alone -- a large image's scattered ops (app: 6 million) would
 * otherwise read 64 KiB each (its apply 0.50 -> 0.90 s, all of it system
 * time).  What the window holds never changes: the old image, and the
 * old members once phase 1 has written them (a window filled before that
 * ends at the old image's end). */
#define APPLY_WIN PATCH_APPLY_WIN

static int win_read(void *ctx, uint64_t off, uint8_t *buf, size_t len)
{
	struct worker *w = ctx;
	struct apply_ctx *c = w->c;
	uint64_t os = c->info.old_size, hi;
	size_t fill;
	int r;

	if (len > APPLY_WIN / 4 || !w->win)
		return src_read(c, off, buf, len);
	if (w->w_len >= len && off >= w->w_off && off - w->w_off <= w->w_len - len) {
		memcpy(buf, w->win + (off - w->w_off), len);
		w->w_hits++;
		return 0;
	}
	if (w->w_hits)
		w->w_fill = w->w_fill ? (w->w_fill < APPLY_WIN / 4 ? 4 * w->w_fill : APPLY_WIN) : 4096;
	else
		w->w_fill = w->w_fill >= 4 * 4096 ? w->w_fill / 4 : 0;
	w->w_hits = 0;
	fill = w->w_fill > len ? w->w_fill : len;
	hi = c->info.src_size - off > fill ? off + fill : c->info.src_size;
	if (off + len <= os && hi > os && !atomic_load(&c->expanded))
		hi = os; /* the old members may not be written yet */
	w->w_len = 0;
	if ((r = src_read(c, off, w->win, (size_t)(hi - off))) != 0)
		return r;
	w->w_off = off;
	w->w_len = (size_t)(hi - off);
	memcpy(buf, w->win, len);
	return 0;
}

static int fd_read(const struct apply_ctx *c, int fd, uint64_t off, uint8_t *buf, size_t len)
{
	int r = c_pread(c, fd, off, buf, len, NULL);

	return r == 0 ? 0 : r == SI_E_SHORT ? SI_E_PATCH_EXPAND : SI_E_IO;
}

static int old_read(void *ctx, uint64_t off, uint8_t *buf, size_t len)
{
	const struct apply_ctx *c = ctx;

	if (c->a->old_read)
		return c->a->old_read(c->a->old_rctx, off, buf, len);
	return fd_read(c, c->old_fd, off, buf, len);
}

static int out_read(void *ctx, uint64_t off, uint8_t *buf, size_t len)
{
	const struct apply_ctx *c = ctx;

	return fd_read(c, c->out_fd, off, buf, len);
}

static int scratch_read(void *ctx, uint64_t off, uint8_t *buf, size_t len)
{
	const struct apply_ctx *c = ctx;

	return fd_read(c, c->scratch_fd, off, buf, len);
}

static int scratch_write(void *ctx, uint64_t off, const uint8_t *buf, size_t len)
{
	const struct apply_ctx *c = ctx;

	return c_pwrite(c, c->scratch_fd, off, buf, len, NULL) == 0 ? 0 : SI_E_WRITE;
}

static int out_write(void *ctx, uint64_t off, const uint8_t *buf, size_t len)
{
	const struct apply_ctx *c = ctx;

	return c_pwrite(c, c->out_fd, off, buf, len, NULL) == 0 ? 0 : SI_E_WRITE;
}

/* KEEP's reads and the writes of a segment that holds a member's bytes
 * wait for phase 3 to have written the members: 0 once it has, else the
 * apply is stopping (SI_E_PATCH_STOPPED, which do_segment keeps quiet). */
static int made_wait(void *ctx)
{
	struct apply_ctx *c = ctx;
	int made;

	pthread_mutex_lock(&c->lock);
	while (!atomic_load(&c->made) && !atomic_load(&c->stop))
		pthread_cond_wait(&c->cond, &c->lock);
	made = atomic_load(&c->made);
	pthread_mutex_unlock(&c->lock);
	return made ? 0 : SI_E_PATCH_STOPPED;
}

/* Every worker stops taking work, and whoever waits wakes to see it;
 * called with c->lock held. */
static void stop_locked(struct apply_ctx *c)
{
	atomic_store(&c->stop, 1);
	pthread_cond_broadcast(&c->cond);
}

/* Records the first error only; every worker then stops taking work. */
static void set_err(struct apply_ctx *c, int err, const struct si_diag *d, int sys_errno,
		    const char *field)
{
	pthread_mutex_lock(&c->lock);
	if (c->err == 0) {
		c->err = err;
		if (d)
			c->diag = *d;
		if (field)
			c->diag.field = field;
		if (sys_errno)
			si_diag_errno(&c->diag, sys_errno);
	}
	stop_locked(c);
	pthread_mutex_unlock(&c->lock);
}

static void jrec_make(const struct apply_ctx *c, uint32_t seq, uint32_t seg, uint8_t *r)
{
	uint8_t h[PATCH_HASH_LEN];

	memcpy(r, "SIJ1", 4);
	si_put_le32(r + 4, seq);
	si_put_le32(r + 8, seg);
	si_put_le32(r + 12, c->info.nseg);
	memcpy(r + 16, c->info.new_digest, 16);
	patch_hash(r, 32, h);
	memcpy(r + 32, h, 8);
}

static void progress(struct apply_ctx *c)
{
	struct patch_progress p;

	pthread_mutex_lock(&c->lock);
	c->ndone++;
	p.phase = c->phase ? PATCH_PHASE_SEGMENTS : PATCH_PHASE_BASE;
	p.done = c->ndone;
	p.total = c->phase ? c->info.nseg : (uint32_t)base_chunks(&c->info);
	p.resumed = c->resumed;
	p.resume_at = c->resume_at;
	if (c->a->progress)
		c->a->progress(c->a->pctx, &p);
	pthread_mutex_unlock(&c->lock);
}

static void do_chunk_hash(struct apply_ctx *c, struct worker *w, uint32_t k)
{
	uint64_t off = (uint64_t)k * c->info.seg_size;
	uint64_t rest = c->info.old_size - off;
	size_t n = rest < c->info.seg_size ? (size_t)rest : c->info.seg_size;
	struct si_diag d;
	int r;

	si_diag_clear(&d);
	r = old_pread(c, off, w->mem, n, &d);
	if (r != 0) {
		set_err(c, SI_E_IO, NULL, d.sys_errno, "old");
		return;
	}
	patch_seg_digest(w->mem, n, c->chunk_hash + (size_t)k * PATCH_HASH_LEN);
	progress(c);
}

/* Does image segment i hold bytes a new member writes? */
static int seg_made(const struct apply_ctx *c, uint32_t i)
{
	uint64_t lo = (uint64_t)i * c->info.seg_size, hi = lo + patch_seg_len(&c->info, i);
	uint32_t k;
	unsigned j;

	for (k = 0; k < c->info.nexp; k++)
		for (j = 0; j < c->exps[k].n_new; j++)
			if (c->exps[k].new_ext[j].off < hi &&
			    lo < c->exps[k].new_ext[j].off + c->exps[k].new_ext[j].len)
				return 1;
	return 0;
}

/* Segment i; holds: it is an image segment that holds a member's bytes. */
static void do_segment(struct apply_ctx *c, struct worker *w, uint32_t i, int holds)
{
	struct patch_seg s;
	struct patch_seg_env env;
	struct si_diag d;
	int r, image = i < c->info.nseg_image, zeroed = 0;

	si_diag_clear(&d);
	patch_index_entry(c->hdr, i, &s);
	patch_seg_place(&c->info, c->exps, i, &env);
	env.zeroed = &zeroed;
	env.map = &c->map;
	env.read = win_read;
	env.rctx = w;
	env.read_out = out_read;
	env.octx = c;
	env.keep_wait = made_wait;
	if (image && c->done[i]) {
		/* Resumed: the journal says this segment is complete; check it. */
		uint8_t h[PATCH_HASH_LEN];

		r = c_pread(c, c->out_fd, env.out_off, w->mem, env.len, NULL);
		if (r == 0) {
			patch_seg_digest(w->mem, env.len, h);
			if (si_ct_memcmp(h, s.sha256, PATCH_HASH_LEN) == 0) {
				progress(c);
				return;
			}
		}
		c->done[i] = 0; /* only this worker touches entry i */
	}
	r = c_pread(c, c->patch_fd, c->info.header_len + s.payload_off, w->mem,
			  (size_t)s.ctrl_clen + s.diff_clen + s.lit_clen, &d);
	if (r != 0) {
		set_err(c, r == SI_E_SHORT ? SI_E_PATCH_TRUNCATED : SI_E_IO, NULL,
			d.sys_errno, "patch.payload");
		return;
	}
	r = patch_seg_apply(&c->info, &s, i, w->mem, w->mem_len, c->a->decode, c->a->dctx,
			    &env, &d);
	/* a segment that holds a member's bytes writes them after phase 3
	 * (which writes them too), whether or not it read them by KEEP */
	if (r == 0 && holds)
		r = made_wait(c);
	if (r == SI_E_PATCH_STOPPED && atomic_load(&c->stop))
		return; /* not done: another error, or --stop-after */
	if (r != 0) {
		if (!(d.flags & SI_DIAG_OFFSET))
			si_diag_offset(&d, env.out_off);
		set_err(c, r, &d, 0, NULL);
		return;
	}
	if (image && zeroed && c->sparse) {
		/* nothing but zeros, where the file holds zeros already (it
		 * was made empty, then sized): not written, a hole */
		r = 0;
	} else if (image) {
		/* One writer at a time: two threads writing one file contend for
		 * its inode lock by spinning (a third of the apply's CPU time on
		 * the os pair); waiting on the mutex sleeps instead. */
		pthread_mutex_lock(&c->wlock);
		r = c_pwrite(c, c->out_fd, env.out_off, w->mem, env.len, &d);
		pthread_mutex_unlock(&c->wlock);
		/* Start writing it back now: the fsync before the rename then
		 * finds most of the file on disk already (on the os pair it
		 * waited 20-40 ms for all of it). */
		if (r == 0 && c->fs->writeback)
			c->fs->writeback(c->fs->ctx, c->out_fd, env.out_off, env.len);
	} else {
		r = c_pwrite(c, c->scratch_fd, c->exps[env.exp].scratch_new + env.out_off, w->mem,
				   env.len, &d);
	}
	if (r != 0) {
		set_err(c, SI_E_WRITE, NULL, d.sys_errno, image ? "output" : "scratch");
		return;
	}
	if (image && c->j_fd >= 0) {
		uint8_t rec[JREC_LEN];
		int jr = 0;

		if (c->fs->fdatasync(c->fs->ctx, c->out_fd, &d) != 0) {
			set_err(c, SI_E_WRITE, NULL, d.sys_errno, "output");
			return;
		}
		pthread_mutex_lock(&c->lock);
		c->j_seq++;
		jrec_make(c, c->j_seq, i, rec);
		jr = c_pwrite(c, c->j_fd, (uint64_t)(c->j_seq - 1) * JREC_LEN, rec, JREC_LEN, &d);
		if (jr == 0)
			jr = c->fs->fdatasync(c->fs->ctx, c->j_fd, &d);
		pthread_mutex_unlock(&c->lock);
		if (jr != 0) {
			set_err(c, SI_E_IO, NULL, d.sys_errno, "checkpoint");
			return;
		}
	}
	if (image)
		c->done[i] = 1;
	progress(c);
	if (c->a->stop_after &&
	    atomic_fetch_add(&c->applied, 1) + 1 >= c->a->stop_after) {
		pthread_mutex_lock(&c->lock);
		stop_locked(c);
		pthread_mutex_unlock(&c->lock);
	}
}

/* Phase 0's worker: the old image's chunks. */
static void *chunk_main(void *arg)
{
	struct worker *w = arg;
	struct apply_ctx *c = w->c;
	uint32_t n = (uint32_t)base_chunks(&c->info);

	while (!atomic_load(&c->stop)) {
		uint32_t i = atomic_fetch_add(&c->next, 1);

		if (i >= n)
			break;
		do_chunk_hash(c, w, i);
	}
	return NULL;
}

/* Wakes the workers waiting for the chain (seg_main) when the last
 * member to split or make, or the last expansion's segment, is taken:
 * those that waited for it take the image's segments. */
static void taken(struct apply_ctx *c, uint32_t k, uint32_t n)
{
	if (k + 1 == n) {
		pthread_mutex_lock(&c->lock);
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->lock);
	}
}

/* Waits for phase 1 to end, or for the apply to stop. */
static void expanded_wait(struct apply_ctx *c)
{
	pthread_mutex_lock(&c->lock);
	while (!atomic_load(&c->expanded) && !atomic_load(&c->stop))
		pthread_cond_wait(&c->cond, &c->lock);
	pthread_mutex_unlock(&c->lock);
}

/* Phase 1's members not yet taken, split one after the other with the
 * coder's state st; the last one done ends phase 1. */
static void split_some(struct apply_ctx *c, void *st)
{
	struct si_diag d;
	uint32_t k;

	while (atomic_load(&c->next_split) < c->info.nexp && !atomic_load(&c->stop) &&
	       (k = atomic_fetch_add(&c->next_split, 1)) < c->info.nexp) {
		int r;

		taken(c, k, c->info.nexp);
		si_diag_clear(&d);
		r = patch_exp_expand(&c->exps[k], st, old_read, c, scratch_write, c, scratch_read, c,
				     &d);
		if (r) {
			set_err(c, r, &d, 0, NULL);
			return;
		}
		if (atomic_fetch_add(&c->splits_done, 1) + 1 == c->info.nexp) {
			pthread_mutex_lock(&c->lock);
			atomic_store(&c->expanded, 1);
			pthread_cond_broadcast(&c->cond);
			pthread_mutex_unlock(&c->lock);
		}
	}
}

/* Phase 3's members not yet taken, once the expansions' segments are all
 * done, each compressed into its place with the coder's state st; the
 * last one done ends phase 3. */
static void make_some(struct apply_ctx *c, void *st)
{
	struct si_diag d;
	uint32_t k;

	while (atomic_load(&c->exp_left) == 0 && atomic_load(&c->next_make) < c->info.nexp &&
	       !atomic_load(&c->stop) && (k = atomic_fetch_add(&c->next_make, 1)) < c->info.nexp) {
		int r;

		taken(c, k, c->info.nexp);
		si_diag_clear(&d);
		r = patch_exp_make(&c->exps[k], st, scratch_read, c, out_write, c, &d);
		if (r) {
			set_err(c, r, &d, 0, NULL);
			return;
		}
		if (atomic_fetch_add(&c->makes_done, 1) + 1 == c->info.nexp) {
			pthread_mutex_lock(&c->lock);
			atomic_store(&c->made, 1);
			pthread_cond_broadcast(&c->cond);
			pthread_mutex_unlock(&c->lock);
		}
	}
}

/* Once phase 1 has ended: the expansions' segments not yet taken, one
 * after the other; the last one done wakes phase 3. */
static void exp_segments(struct apply_ctx *c, struct worker *w)
{
	uint32_t i;

	while (atomic_load(&c->expanded) && !atomic_load(&c->stop) &&
	       (i = atomic_fetch_add(&c->next_exp, 1)) < c->n_first) {
		taken(c, i, c->n_first);
		do_segment(c, w, c->order[i], 0);
		if (atomic_fetch_sub(&c->exp_left, 1) == 1) {
			pthread_mutex_lock(&c->lock);
			pthread_cond_broadcast(&c->cond);
			pthread_mutex_unlock(&c->lock);
		}
	}
}

/* Whether this worker can still take part in phases 1 to 3 (a member to
 * split or make, an expansion's segment): then it does not take a
 * segment holding a member's bytes, which would wait at its end for
 * phase 3 while the chain needs a hand. */
static int chain_open(struct apply_ctx *c, int coder)
{
	return !atomic_load(&c->made) && !atomic_load(&c->stop) &&
	       (atomic_load(&c->next_exp) < c->n_first ||
		(coder && (atomic_load(&c->next_split) < c->info.nexp ||
			   atomic_load(&c->next_make) < c->info.nexp)));
}

/* Whether the chain has work this worker can take now. */
static int chain_ready(struct apply_ctx *c, int coder)
{
	return (coder && atomic_load(&c->next_split) < c->info.nexp) ||
	       (atomic_load(&c->expanded) && atomic_load(&c->next_exp) < c->n_first) ||
	       (coder && atomic_load(&c->exp_left) == 0 &&
		atomic_load(&c->next_make) < c->info.nexp);
}

/* Phase 2's worker, every thread's (the calling thread's coder state is
 * c->gz).  Members to split, the expansions' segments, members to make:
 * the chain of phases 1 to 3 is the apply's critical path, so each takes
 * what it can of it first.  Then the image's segments in order (a read of
 * an old member waits for phase 1: src_read; a segment holding a member's
 * bytes waits for phase 3 at its end: made_wait), except that a worker
 * that can still help the chain waits for it instead of taking a segment
 * holding a member's bytes. */
static void *seg_main(void *arg)
{
	struct worker *w = arg;
	struct apply_ctx *c = w->c;
	int coder = w->st != NULL;

	while (!atomic_load(&c->stop)) {
		uint32_t i;

		if (coder)
			split_some(c, w->st);
		exp_segments(c, w);
		if (coder)
			make_some(c, w->st);
		if (atomic_load(&c->next) >= c->m_first && chain_open(c, coder)) {
			pthread_mutex_lock(&c->lock);
			while (chain_open(c, coder) && !chain_ready(c, coder))
				pthread_cond_wait(&c->cond, &c->lock);
			pthread_mutex_unlock(&c->lock);
			continue;
		}
		i = atomic_fetch_add(&c->next, 1);
		if (i >= c->info.nseg)
			break;
		do_segment(c, w, c->order[i], i >= c->m_first);
	}
	return NULL;
}

/* Starts w[1..nw) on fn; returns how many run, the calling thread (worker
 * 0) counted. */
static unsigned workers_start(struct worker *w, unsigned nw, void *(*fn)(void *))
{
	unsigned i, started = 1;

	for (i = 1; i < nw; i++) {
		if (pthread_create(&w[i].tid, NULL, fn, &w[i]) != 0)
			break;
		started++;
	}
	return started;
}

static void workers_join(struct worker *w, unsigned started)
{
	unsigned i;

	for (i = 1; i < started; i++)
		pthread_join(w[i].tid, NULL);
}

/* Reads the journal; marks done[] and sets j_seq.  A journal of another
 * patch is refused; a torn tail is cut off. */
static int journal_load(struct apply_ctx *c, struct si_diag *d)
{
	uint8_t rec[JREC_LEN], h[PATCH_HASH_LEN];
	uint32_t seq = 0, seg;

	for (;;) {
		if (c_pread(c, c->j_fd, (uint64_t)seq * JREC_LEN, rec, JREC_LEN, NULL) != 0)
			break;
		if (memcmp(rec, "SIJ1", 4) != 0)
			break;
		patch_hash(rec, 32, h);
		if (memcmp(h, rec + 32, 8) != 0)
			break; /* torn or damaged: the tail ends here */
		if (memcmp(rec + 16, c->info.new_digest, 16) != 0 ||
		    si_le32(rec + 12) != c->info.nseg) {
			si_diag_field(d, "checkpoint");
			si_diag_offset(d, (uint64_t)seq * JREC_LEN + 16);
			si_diag_bytes(d, c->info.new_digest, rec + 16, 16);
			return SI_E_PATCH_JOURNAL;
		}
		seg = si_le32(rec + 8);
		if (si_le32(rec + 4) != seq + 1 || seg >= c->info.nseg_image)
			break;
		c->done[seg] = 1;
		seq++;
	}
	c->j_seq = seq;
	c->resumed = seq;
	for (c->resume_at = 0; c->resume_at < c->info.nseg && c->done[c->resume_at];)
		c->resume_at++;
	if (c->fs->truncate(c->fs->ctx, c->j_fd, (uint64_t)seq * JREC_LEN, d) != 0) {
		si_diag_field(d, "checkpoint");
		return SI_E_IO;
	}
	return 0;
}

/* The target map: its encoded stream read into worker 0's input area,
 * decoded into the output area, parsed into the pieces. */
static int map_load(struct apply_ctx *c, struct worker *w0, struct si_diag *d)
{
	const struct patch_info *in = &c->info;
	size_t io_len = (size_t)in->seg_size + PATCH_CTRL_MAX(in->seg_size);
	uint8_t *enc = w0->mem, *raw = w0->mem + io_len;
	int r;

	c->map.v = c->pieces;
	c->map.n = in->map_count;
	if (in->map_count == 0)
		return 0;
	r = c_pread(c, c->patch_fd, in->header_len, enc, in->map_clen, d);
	if (r != 0) {
		si_diag_field(d, "patch.map");
		return r == SI_E_SHORT ? SI_E_PATCH_TRUNCATED : SI_E_IO;
	}
	r = c->a->decode(c->a->dctx, in->map_codec, enc, in->map_clen, raw, in->map_len);
	if (r != 0) {
		si_diag_field(d, "patch.map");
		return r;
	}
	r = patch_map_parse(raw, in->map_len, in, c->pieces, d);
	if (r == 0)
		patch_map_index(&c->map, in->old_size, c->blk);
	return r;
}

/* The order the workers take segments in (see the top of this file). */
static void seg_order(struct apply_ctx *c)
{
	uint32_t i, n = 0, hi = c->info.nseg, k;

	for (i = c->info.nseg_image; i < c->info.nseg; i++)
		c->order[n++] = i;
	c->n_first = n;
	/* the others first, in order; those holding a member's bytes at the
	 * end, put there backwards and turned round */
	for (i = 0; i < c->info.nseg_image; i++)
		if (seg_made(c, i))
			c->order[--hi] = i;
		else
			c->order[n++] = i;
	c->m_first = n;
	for (k = 0; k < (c->info.nseg - n) / 2; k++) {
		uint32_t t = c->order[n + k];

		c->order[n + k] = c->order[c->info.nseg - 1 - k];
		c->order[c->info.nseg - 1 - k] = t;
	}
	atomic_store(&c->exp_left, c->n_first);
	atomic_store(&c->made, c->info.nexp == 0);
}

/* Phases 1 to 3 and the image's segments, on this thread and the
 * workers (seg_main). */
static int segments(struct apply_ctx *c, struct worker *w, unsigned nw, struct si_diag *d)
{
	unsigned started, i;

	seg_order(c);
	c->phase = 2;
	atomic_store(&c->next, c->n_first);
	atomic_store(&c->next_exp, 0);
	atomic_store(&c->expanded, c->info.nexp == 0);
	atomic_store(&c->next_split, 0);
	atomic_store(&c->splits_done, 0);
	atomic_store(&c->next_make, 0);
	atomic_store(&c->makes_done, 0);
	c->st_size = c->info.nexp ? patch_exp_state_size(c->info.exp_kinds) : 0;
	for (i = 0; i < nw; i++)
		w[i].st = !c->info.nexp ? NULL : i == 0 ? c->gz
			  : w[i].mem_len >= c->st_size ? (void *)w[i].mem : NULL;
	started = workers_start(w, nw, seg_main);
	seg_main(&w[0]);
	workers_join(w, started);
	if (c->err) {
		*d = c->diag;
		return c->err;
	}
	return 0;
}

/* Phase 0: the old image's chunk digests on the workers, then old_digest
 * compared. */
static int base_check(struct apply_ctx *c, struct worker *w, unsigned nw, struct si_diag *d)
{
	uint64_t nchunks = base_chunks(&c->info);
	uint8_t digest[PATCH_HASH_LEN];
	unsigned started;

	c->phase = 0;
	c->ndone = 0;
	atomic_store(&c->next, 0);
	started = workers_start(w, nw, chunk_main);
	chunk_main(&w[0]);
	workers_join(w, started);
	if (c->err) {
		*d = c->diag;
		return c->err;
	}
	patch_hash(c->chunk_hash, (size_t)nchunks * PATCH_HASH_LEN, digest);
	if (si_ct_memcmp(digest, c->info.old_digest, PATCH_HASH_LEN) != 0) {
		si_diag_bytes(d, c->info.old_digest, digest, PATCH_HASH_LEN);
		si_diag_field(d, "old.digest");
		return SI_E_PATCH_BASE_HASH;
	}
	return 0;
}

#define ALIGN64(n) (((n) + 63) & ~(size_t)63)

/* The work memory's layout before the workers' slices: header, done bytes,
 * chunk digests, expansions, map pieces, the expansions' codec state. */
struct meta_layout {
	size_t done, chunks, order, exps, pieces, blk, gz, end;
};

static void meta_layout(const struct patch_info *info, struct meta_layout *l)
{
	uint64_t nchunks = base_chunks(info);

	l->done = ALIGN64((size_t)info->header_len);
	l->chunks = ALIGN64(l->done + info->nseg);
	l->order = ALIGN64(l->chunks + (size_t)nchunks * PATCH_HASH_LEN);
	l->exps = ALIGN64(l->order + (size_t)info->nseg * sizeof(uint32_t));
	l->pieces = ALIGN64(l->exps + (size_t)info->nexp * sizeof(struct patch_exp));
	l->blk = ALIGN64(l->pieces + (size_t)info->map_count * sizeof(struct patch_map_piece));
	l->gz = ALIGN64(l->blk + (info->map_count ? (size_t)patch_map_index_len(info->old_size,
										info->map_count) *
							    sizeof(uint32_t)
						  : 0));
	/* the kinds unknown (0): room for any */
	l->end = ALIGN64(l->gz + (info->nexp ? patch_exp_state_size(info->exp_kinds ? info->exp_kinds
										    : ~0u)
					     : 0));
}

static size_t apply_meta(const struct patch_info *info)
{
	struct meta_layout l;

	meta_layout(info, &l);
	return l.end;
}

/* A worker's slice: its segment's buffers (the coder's state shares
 * them), then its source window. */
static size_t apply_worker_mem(uint32_t seg_size)
{
	return patch_worker_mem(seg_size) + APPLY_WIN;
}

size_t patch_apply_mem(const struct patch_info *info, unsigned threads)
{
	return apply_meta(info) + (size_t)threads * apply_worker_mem(info->seg_size);
}

int patch_apply_file(const struct patch_apply_args *a, struct si_diag *d)
{
	struct apply_ctx c0;
	struct apply_ctx *c = &c0;
	struct worker w[64];
	char part[PATH_MAX], scratch[PATH_MAX];
	uint8_t prefix[PATCH_HDR_LEN];
	const struct si_fs *fs = a->fs ? a->fs : &si_fs_cwd;
	enum si_ftype ot = SI_FT_NONE;
	uint64_t psize = 0, osize = 0, ignored;
	size_t meta, wm, used;
	uint64_t nchunks;
	unsigned nw, i, kinds = 0;
	int r, resume = 0, keep_part = 0, blk;

	si_diag_clear(d);
	if ((!a->old_path && !a->old_read) || !a->patch_path || !a->out_path || !a->decode ||
	    !a->work)
		return SI_E_ARG;
	/* A partition is written in place; a file out of place. */
	blk = fs->stat(fs->ctx, a->out_path, &ot, &ignored, NULL) == 0 && ot == SI_FT_BLK;
	if ((size_t)snprintf(part, sizeof part, blk ? "%s" : "%s.part", a->out_path) >= sizeof part)
		return SI_E_ARG;
	/* The expansions' scratch: the caller's, else beside the output file,
	 * or beside the patch when the output is a partition. */
	if (a->scratch_path ? strlen(a->scratch_path) >= sizeof scratch
			    : (size_t)snprintf(scratch, sizeof scratch, "%s.scratch",
					       blk ? a->patch_path : a->out_path) >= sizeof scratch)
		return SI_E_ARG;
	if (a->scratch_path)
		memcpy(scratch, a->scratch_path, strlen(a->scratch_path) + 1);
	memset(c, 0, sizeof *c);
	c->a = a;
	c->fs = fs;
	c->old_fd = c->patch_fd = c->out_fd = c->j_fd = c->scratch_fd = -1;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->wlock, NULL);
	pthread_cond_init(&c->cond, NULL);

	r = fs->open(fs->ctx, a->patch_path, SI_O_READ, &c->patch_fd, d);
	if (r != 0) {
		c->patch_fd = -1;
		si_diag_field(d, "patch");
		r = SI_E_OPEN;
		goto out;
	}
	r = fs->size(fs->ctx, c->patch_fd, &psize, d);
	if (r != 0)
		goto out;
	r = c_pread(c, c->patch_fd, 0, prefix, sizeof prefix, d);
	if (r == SI_E_SHORT) {
		si_diag_values(d, PATCH_HDR_LEN, psize);
		si_diag_field(d, "patch.header");
		r = SI_E_PATCH_TRUNCATED;
		goto out;
	}
	if (r != 0)
		goto out;
	r = patch_header_parse(prefix, sizeof prefix, &c->info, d);
	if (r != 0)
		goto out;

	/* The expansions' kinds size their coders' state (an xz member's
	 * window is 1 MiB, a gzip member's state 300 KiB): read them first,
	 * into the memory carved below; what the checked index says later
	 * must be within them. */
	if (c->info.nexp) {
		size_t tl = (size_t)c->info.nexp * PATCH_EXP_LEN;

		if (tl <= a->work_len &&
		    c_pread(c, c->patch_fd, patch_exp_table_off(&c->info), a->work, tl, NULL) == 0)
			c->info.exp_kinds = patch_exp_kinds(a->work, c->info.nexp);
		kinds = c->info.exp_kinds;
	}
	/* Carve the caller's memory: index, done bytes, chunk hashes, workers. */
	nchunks = base_chunks(&c->info);
	meta = apply_meta(&c->info);
	wm = apply_worker_mem(c->info.seg_size);
	/* memory for one worker but not its window: no window (its reads
	 * each a pread, as before it was) */
	if (a->work_len < meta + wm && a->work_len >= meta + patch_worker_mem(c->info.seg_size))
		wm = patch_worker_mem(c->info.seg_size);
	if (nchunks > CONFIG_PATCH_MAX_SEGMENTS || a->work_len < meta + wm) {
		si_diag_values(d, meta + wm, a->work_len);
		si_diag_field(d, "apply.work");
		r = SI_E_NOMEM;
		goto out;
	}
	nw = a->threads ? a->threads : 1;
	if (nw > SI_ARRAY_SIZE(w))
		nw = SI_ARRAY_SIZE(w);
	if (nw > (a->work_len - meta) / wm)
		nw = (unsigned)((a->work_len - meta) / wm);
	{
		struct meta_layout l;

		meta_layout(&c->info, &l);
		c->hdr = a->work;
		c->done = a->work + l.done;
		c->chunk_hash = a->work + l.chunks;
		c->exps = (struct patch_exp *)(void *)(a->work + l.exps);
		c->order = (uint32_t *)(void *)(a->work + l.order);
		c->pieces = (struct patch_map_piece *)(void *)(a->work + l.pieces);
		c->blk = (uint32_t *)(void *)(a->work + l.blk);
		c->gz = a->work + l.gz;
	}
	memset(c->done, 0, c->info.nseg);
	used = meta;
	for (i = 0; i < nw; i++) {
		w[i].c = c;
		w[i].mem = a->work + used;
		w[i].mem_len = patch_worker_mem(c->info.seg_size);
		w[i].win = wm > w[i].mem_len ? w[i].mem + w[i].mem_len : NULL;
		w[i].w_len = 0;
		w[i].w_fill = 0;
		w[i].w_hits = 0;
		used += wm;
	}
	r = c_pread(c, c->patch_fd, 0, a->work, c->info.header_len, d);
	if (r != 0) {
		if (r == SI_E_SHORT) {
			si_diag_values(d, c->info.header_len, psize);
			si_diag_field(d, "patch.index");
			r = SI_E_PATCH_TRUNCATED;
		}
		goto out;
	}
	r = patch_index_check(a->work, c->info.header_len, &c->info, psize, d);
	if (r != 0)
		goto out;
	patch_info_complete(a->work, &c->info);
	if (kinds && (c->info.exp_kinds & ~kinds)) {
		/* the file changed under us: its state was sized for others */
		si_diag_values(d, kinds, c->info.exp_kinds);
		si_diag_field(d, "patch.exp.kind");
		r = SI_E_PATCH_CORRUPT;
		goto out;
	}
	for (i = 0; i < c->info.nexp; i++)
		patch_exp_get(a->work, &c->info, i, &c->exps[i]);
	r = map_load(c, &w[0], d);
	if (r != 0)
		goto out;
	/* Validation of the patch ends here: below, the index and the map are
	 * trusted structurally (the payload is checked segment by segment). */

	if (a->old_read) {
		osize = a->old_size;
	} else {
		r = fs->open(fs->ctx, a->old_path, SI_O_READ, &c->old_fd, d);
		if (r != 0) {
			c->old_fd = -1;
			si_diag_field(d, "old");
			r = SI_E_OPEN;
			goto out;
		}
		r = fs->size(fs->ctx, c->old_fd, &osize, d);
		if (r != 0) {
			si_diag_field(d, "old");
			goto out;
		}
	}
	if (osize != c->info.old_size) {
		si_diag_values(d, c->info.old_size, osize);
		si_diag_field(d, "old.size");
		r = SI_E_PATCH_BASE_SIZE;
		goto out;
	}
	/* A partition is written in place, and what it held is lost from the
	 * first write: its base is checked whole before that.  A file is
	 * written out of place and replaced only once every segment is
	 * checked, so a wrong base cannot reach it: its base is checked only
	 * when the apply fails, to say why (what the output's hashes do not
	 * need, a pass over the whole old image, is not paid on success). */
	if (blk) {
		r = base_check(c, w, nw, d);
		if (r != 0)
			goto out;
	}

	if (a->checkpoint_path) {
		r = fs->open(fs->ctx, a->checkpoint_path, SI_O_RDWR, &c->j_fd, d);
		if (r != 0) {
			c->j_fd = -1;
			si_diag_field(d, "checkpoint");
			r = SI_E_CREATE;
			goto out;
		}
		r = journal_load(c, d);
		if (r != 0)
			goto out;
		resume = c->j_seq > 0;
	}
	c->out_fd = -1;
	if (resume && fs->open(fs->ctx, part, SI_O_RDWR_EXISTING, &c->out_fd, NULL) != 0)
		c->out_fd = -1;
	if (c->out_fd < 0) {
		/* No partial output to resume from: start over. */
		memset(c->done, 0, c->info.nseg);
		c->j_seq = 0;
		if (c->j_fd >= 0 && fs->truncate(fs->ctx, c->j_fd, 0, d) != 0) {
			si_diag_field(d, "checkpoint");
			r = SI_E_IO;
			goto out;
		}
		r = fs->open(fs->ctx, part, blk ? SI_O_RDWR_EXISTING : SI_O_WRITE, &c->out_fd, d);
		if (r != 0) {
			c->out_fd = -1;
			si_diag_field(d, "output");
			r = r == SI_E_WRITE ? SI_E_WRITE : SI_E_CREATE;
			goto out;
		}
		c->sparse = !blk; /* truncated to nothing, then sized below */
	}
	if (blk) {
		uint64_t size = 0;

		keep_part = 1; /* never removed: it is the caller's partition */
		if (fs->size(fs->ctx, c->out_fd, &size, d) != 0) {
			si_diag_field(d, "output");
			r = SI_E_IO;
			goto out;
		}
		if (size < c->info.new_size) {
			si_diag_values(d, c->info.new_size, size);
			si_diag_field(d, "output.size");
			r = SI_E_TOO_BIG;
			goto out;
		}
	} else if (fs->truncate(fs->ctx, c->out_fd, c->info.new_size, d) != 0) {
		si_diag_field(d, "output");
		r = SI_E_WRITE;
		goto remove_part;
	}
	if (c->info.nexp) {
		r = fs->open(fs->ctx, scratch, SI_O_WRITE, &c->scratch_fd, d);
		if (r != 0) {
			c->scratch_fd = -1;
			si_diag_field(d, "scratch");
			r = SI_E_CREATE;
			goto remove_part;
		}
	}
	c->ndone = 0;
	r = segments(c, w, nw, d);
	if (r != 0 && r != SI_E_PATCH_STOPPED && !blk) {
		/* another base explains any refusal: it is named instead */
		struct si_diag bd;

		si_diag_clear(&bd);
		c->err = 0;
		atomic_store(&c->stop, 0);
		if (base_check(c, w, nw, &bd) == SI_E_PATCH_BASE_HASH) {
			r = SI_E_PATCH_BASE_HASH;
			*d = bd;
		}
	}
	if (r != 0) {
		keep_part = blk || (c->j_fd >= 0 && si_err_cause(r) == SI_CAUSE_SYSTEM);
		goto remove_part;
	}
	if (atomic_load(&c->stop)) {
		r = SI_E_PATCH_STOPPED;
		keep_part = blk || c->j_fd >= 0;
		goto remove_part;
	}
	if (fs->fsync(fs->ctx, c->out_fd, d) != 0) {
		si_diag_field(d, "output");
		r = SI_E_WRITE;
		keep_part = blk || c->j_fd >= 0;
		goto remove_part;
	}
	if (a->final_check) {
		r = a->final_check(a->fctx, fs, c->out_fd, c->info.new_size, d);
		if (r != 0)
			goto remove_part;
	}
	if (!blk && fs->rename(fs->ctx, part, a->out_path, d) != 0) {
		si_diag_field(d, "output");
		r = SI_E_IO;
		goto remove_part;
	}
	if (!blk) {
		char dir[PATH_MAX];

		si_path_dir(a->out_path, dir, sizeof dir);
		r = fs->fsync_dir(fs->ctx, dir, d);
		if (r != 0)
			si_diag_field(d, "output's directory");
	}
	if (r == 0 && a->checkpoint_path)
		(void)fs->unlink(fs->ctx, a->checkpoint_path, NULL);
	goto out;

remove_part:
	if (!keep_part) {
		(void)fs->unlink(fs->ctx, part, NULL);
		if (a->checkpoint_path)
			(void)fs->unlink(fs->ctx, a->checkpoint_path, NULL);
	}
out:
	if (c->scratch_fd >= 0) {
		fs->close(fs->ctx, c->scratch_fd);
		(void)fs->unlink(fs->ctx, scratch, NULL);
	}
	if (c->old_fd >= 0)
		fs->close(fs->ctx, c->old_fd);
	if (c->patch_fd >= 0)
		fs->close(fs->ctx, c->patch_fd);
	if (c->out_fd >= 0)
		fs->close(fs->ctx, c->out_fd);
	if (c->j_fd >= 0)
		fs->close(fs->ctx, c->j_fd);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->wlock);
	pthread_cond_destroy(&c->cond);
	return r;
}
