/* sealinit patch/: the apply driver.  Reads the old image at random, writes
 * the new one out of place (<out>.part), segments in parallel on worker
 * threads that are joined before return, every segment hash checked, then
 * fsync, the whole-result hook (seal check), rename, fsync of the directory.
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
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>

#include "lib/bytes.h"
#include "lib/fdio.h"
#include "patch/patch.h"

#define JREC_LEN 40u

struct apply_ctx {
	const struct patch_apply_args *a;
	struct patch_info info;
	const uint8_t *hdr;
	uint8_t *done;       /* one byte per segment: 1 = output present and checked */
	uint8_t *chunk_hash; /* base digest: one SHA-256 per seg_size chunk of old */
	int old_fd, patch_fd, out_fd, j_fd;
	uint32_t j_seq;
	atomic_uint next;
	atomic_uint applied;
	atomic_int stop;
	pthread_mutex_t lock;
	uint32_t ndone;
	int phase; /* 0 base digest, 1 segments */
	uint32_t resumed, resume_at; /* what the journal held at the start */
	int err;
	struct si_diag diag;
};

/* The old image is read with pread, one call per op, into the output
 * buffer: measured on the os pair, mapping it instead saved 30 ms of 130
 * but added the touched pages of old to the resident set (30 MB with two
 * workers) and a SIGBUS if the image shrinks underneath PID 1. */
struct worker {
	struct apply_ctx *c;
	uint8_t *mem;
	size_t mem_len;
	pthread_t tid;
};

static int old_pread(struct apply_ctx *c, uint64_t off, uint8_t *buf, size_t len,
		     struct si_diag *d)
{
	if (c->a->old_read)
		return c->a->old_read(c->a->old_rctx, off, buf, len);
	return si_pread_full(c->old_fd, off, buf, len, d);
}

static int old_read(void *ctx, uint64_t off, uint8_t *buf, size_t len)
{
	struct worker *w = ctx;

	return old_pread(w->c, off, buf, len, NULL) == 0 ? 0 : SI_E_IO;
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
	pthread_mutex_unlock(&c->lock);
	atomic_store(&c->stop, 1);
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
	p.total = c->phase ? c->info.nseg
			   : (uint32_t)(c->info.old_size / c->info.seg_size +
					(c->info.old_size % c->info.seg_size != 0));
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
	patch_hash(w->mem, n, c->chunk_hash + (size_t)k * PATCH_HASH_LEN);
	progress(c);
}

static void do_segment(struct apply_ctx *c, struct worker *w, uint32_t i)
{
	struct patch_seg s;
	struct si_diag d;
	uint32_t out_len = patch_seg_len(&c->info, i);
	uint64_t out_off = (uint64_t)i * c->info.seg_size;
	int r;

	si_diag_clear(&d);
	patch_index_entry(c->hdr, i, &s);
	if (c->done[i]) {
		/* Resumed: the journal says this segment is complete; check it. */
		uint8_t h[PATCH_HASH_LEN];

		r = si_pread_full(c->out_fd, out_off, w->mem, out_len, NULL);
		if (r == 0) {
			patch_hash(w->mem, out_len, h);
			if (si_ct_memcmp(h, s.sha256, PATCH_HASH_LEN) == 0) {
				progress(c);
				return;
			}
		}
		c->done[i] = 0; /* only this worker touches entry i */
	}
	r = si_pread_full(c->patch_fd, c->info.header_len + s.payload_off, w->mem,
			  (size_t)s.ctrl_clen + s.diff_clen + s.lit_clen, &d);
	if (r != 0) {
		set_err(c, r == SI_E_SHORT ? SI_E_PATCH_TRUNCATED : SI_E_IO, NULL,
			d.sys_errno, "patch.payload");
		return;
	}
	r = patch_seg_apply(&c->info, &s, i, w->mem, w->mem_len, c->a->decode, c->a->dctx,
			    old_read, w, &d);
	if (r != 0) {
		if (!(d.flags & SI_DIAG_OFFSET))
			si_diag_offset(&d, out_off);
		set_err(c, r, &d, 0, NULL);
		return;
	}
	r = si_pwrite_full(c->out_fd, out_off, w->mem, out_len, &d);
	if (r != 0) {
		set_err(c, SI_E_WRITE, NULL, d.sys_errno, "output");
		return;
	}
	if (c->j_fd >= 0) {
		uint8_t rec[JREC_LEN];
		int jr = 0;

		if (fdatasync(c->out_fd) != 0) {
			set_err(c, SI_E_WRITE, NULL, errno, "output");
			return;
		}
		pthread_mutex_lock(&c->lock);
		c->j_seq++;
		jrec_make(c, c->j_seq, i, rec);
		jr = si_pwrite_full(c->j_fd, (uint64_t)(c->j_seq - 1) * JREC_LEN, rec, JREC_LEN, &d);
		if (jr == 0 && fdatasync(c->j_fd) != 0)
			jr = si_diag_sys(&d, SI_E_IO, NULL, errno);
		pthread_mutex_unlock(&c->lock);
		if (jr != 0) {
			set_err(c, SI_E_IO, NULL, d.sys_errno, "checkpoint");
			return;
		}
	}
	c->done[i] = 1;
	progress(c);
	if (c->a->stop_after &&
	    atomic_fetch_add(&c->applied, 1) + 1 >= c->a->stop_after)
		atomic_store(&c->stop, 1);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct apply_ctx *c = w->c;
	uint32_t n = c->phase == 0
		? (uint32_t)(c->info.old_size / c->info.seg_size +
			     (c->info.old_size % c->info.seg_size != 0))
		: c->info.nseg;

	while (!atomic_load(&c->stop)) {
		uint32_t i = atomic_fetch_add(&c->next, 1);

		if (i >= n)
			break;
		if (c->phase == 0)
			do_chunk_hash(c, w, i);
		else
			do_segment(c, w, i);
	}
	return NULL;
}

/* Runs the current phase on nw workers; the calling thread is worker 0. */
static void run_phase(struct apply_ctx *c, struct worker *w, unsigned nw)
{
	unsigned i, started = 1;

	atomic_store(&c->next, 0);
	for (i = 1; i < nw; i++) {
		if (pthread_create(&w[i].tid, NULL, worker_main, &w[i]) != 0)
			break;
		started++;
	}
	worker_main(&w[0]);
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
		if (si_pread_full(c->j_fd, (uint64_t)seq * JREC_LEN, rec, JREC_LEN, NULL) != 0)
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
		if (si_le32(rec + 4) != seq + 1 || seg >= c->info.nseg)
			break;
		c->done[seg] = 1;
		seq++;
	}
	c->j_seq = seq;
	c->resumed = seq;
	for (c->resume_at = 0; c->resume_at < c->info.nseg && c->done[c->resume_at];)
		c->resume_at++;
	if (ftruncate(c->j_fd, (off_t)seq * JREC_LEN) != 0) {
		si_diag_errno(d, errno);
		si_diag_field(d, "checkpoint");
		return SI_E_IO;
	}
	return 0;
}

static int fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n;
	int fd, r = 0;

	if (!slash) {
		dir[0] = '.';
		dir[1] = 0;
	} else {
		n = (size_t)(slash - path);
		if (n == 0)
			n = 1;
		if (n >= sizeof dir)
			return SI_E_ARG;
		memcpy(dir, path, n);
		dir[n] = 0;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return SI_E_IO;
	if (fsync(fd) != 0)
		r = SI_E_IO;
	close(fd);
	return r;
}

static size_t apply_meta(const struct patch_info *info)
{
	uint64_t nchunks = info->old_size / info->seg_size + (info->old_size % info->seg_size != 0);

	return ((size_t)info->header_len + info->nseg + (size_t)nchunks * PATCH_HASH_LEN + 63) &
	       ~(size_t)63;
}

size_t patch_apply_mem(const struct patch_info *info, unsigned threads)
{
	return apply_meta(info) + (size_t)threads * patch_worker_mem(info->seg_size);
}

int patch_apply_file(const struct patch_apply_args *a, struct si_diag *d)
{
	struct apply_ctx c0;
	struct apply_ctx *c = &c0;
	struct worker w[64];
	char part[PATH_MAX];
	uint8_t prefix[PATCH_HDR_LEN];
	uint8_t digest[PATCH_HASH_LEN];
	struct stat st;
	size_t meta, wm, used;
	uint64_t nchunks;
	unsigned nw, i;
	int r, resume = 0, keep_part = 0, blk;

	si_diag_clear(d);
	if ((!a->old_path && !a->old_read) || !a->patch_path || !a->out_path || !a->decode ||
	    !a->work)
		return SI_E_ARG;
	/* A partition is written in place; a file out of place. */
	blk = stat(a->out_path, &st) == 0 && S_ISBLK(st.st_mode);
	if ((size_t)snprintf(part, sizeof part, blk ? "%s" : "%s.part", a->out_path) >= sizeof part)
		return SI_E_ARG;
	memset(c, 0, sizeof *c);
	c->a = a;
	c->old_fd = c->patch_fd = c->out_fd = c->j_fd = -1;
	pthread_mutex_init(&c->lock, NULL);

	c->patch_fd = open(a->patch_path, O_RDONLY | O_CLOEXEC);
	if (c->patch_fd < 0) {
		si_diag_errno(d, errno);
		si_diag_field(d, "patch");
		r = SI_E_OPEN;
		goto out;
	}
	if (fstat(c->patch_fd, &st) != 0) {
		si_diag_errno(d, errno);
		r = SI_E_IO;
		goto out;
	}
	r = si_pread_full(c->patch_fd, 0, prefix, sizeof prefix, d);
	if (r == SI_E_SHORT) {
		si_diag_values(d, PATCH_HDR_LEN, (uint64_t)st.st_size);
		si_diag_field(d, "patch.header");
		r = SI_E_PATCH_TRUNCATED;
		goto out;
	}
	if (r != 0)
		goto out;
	r = patch_header_parse(prefix, sizeof prefix, &c->info, d);
	if (r != 0)
		goto out;

	/* Carve the caller's memory: index, done bytes, chunk hashes, workers. */
	nchunks = c->info.old_size / c->info.seg_size + (c->info.old_size % c->info.seg_size != 0);
	meta = apply_meta(&c->info);
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
	c->hdr = a->work;
	c->done = a->work + c->info.header_len;
	c->chunk_hash = c->done + c->info.nseg;
	memset(c->done, 0, c->info.nseg);
	used = meta;
	for (i = 0; i < nw; i++) {
		w[i].c = c;
		w[i].mem = a->work + used;
		w[i].mem_len = wm;
		used += wm;
	}
	r = si_pread_full(c->patch_fd, 0, a->work, c->info.header_len, d);
	if (r != 0) {
		if (r == SI_E_SHORT) {
			si_diag_values(d, c->info.header_len, (uint64_t)st.st_size);
			si_diag_field(d, "patch.index");
			r = SI_E_PATCH_TRUNCATED;
		}
		goto out;
	}
	r = patch_index_check(a->work, c->info.header_len, &c->info, (uint64_t)st.st_size, d);
	if (r != 0)
		goto out;
	/* Validation of the patch ends here: below, the index is trusted
	 * structurally (the payload is checked segment by segment). */

	if (a->old_read) {
		st.st_size = (off_t)a->old_size;
	} else {
		c->old_fd = open(a->old_path, O_RDONLY | O_CLOEXEC);
		if (c->old_fd < 0) {
			si_diag_errno(d, errno);
			si_diag_field(d, "old");
			r = SI_E_OPEN;
			goto out;
		}
		if (fstat(c->old_fd, &st) != 0) {
			si_diag_errno(d, errno);
			si_diag_field(d, "old");
			r = SI_E_IO;
			goto out;
		}
	}
	if ((uint64_t)st.st_size != c->info.old_size) {
		si_diag_values(d, c->info.old_size, (uint64_t)st.st_size);
		si_diag_field(d, "old.size");
		r = SI_E_PATCH_BASE_SIZE;
		goto out;
	}
	/* The base is checked whole before anything is written. */
	c->phase = 0;
	run_phase(c, w, nw);
	if (c->err) {
		r = c->err;
		*d = c->diag;
		goto out;
	}
	patch_hash(c->chunk_hash, (size_t)nchunks * PATCH_HASH_LEN, digest);
	if (si_ct_memcmp(digest, c->info.old_digest, PATCH_HASH_LEN) != 0) {
		si_diag_bytes(d, c->info.old_digest, digest, PATCH_HASH_LEN);
		si_diag_field(d, "old.digest");
		r = SI_E_PATCH_BASE_HASH;
		goto out;
	}

	if (a->checkpoint_path) {
		c->j_fd = open(a->checkpoint_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (c->j_fd < 0) {
			si_diag_errno(d, errno);
			si_diag_field(d, "checkpoint");
			r = SI_E_OPEN;
			goto out;
		}
		r = journal_load(c, d);
		if (r != 0)
			goto out;
		resume = c->j_seq > 0;
	}
	c->out_fd = -1;
	if (resume)
		c->out_fd = open(part, O_RDWR | O_CLOEXEC);
	if (c->out_fd < 0) {
		/* No partial output to resume from: start over. */
		memset(c->done, 0, c->info.nseg);
		c->j_seq = 0;
		if (c->j_fd >= 0 && ftruncate(c->j_fd, 0) != 0) {
			si_diag_errno(d, errno);
			si_diag_field(d, "checkpoint");
			r = SI_E_IO;
			goto out;
		}
		c->out_fd = open(part, blk ? O_RDWR | O_CLOEXEC
					   : O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	}
	if (c->out_fd < 0) {
		si_diag_errno(d, errno);
		si_diag_field(d, "output");
		r = SI_E_CREATE;
		goto out;
	}
	if (blk) {
		uint64_t size = 0;

		keep_part = 1; /* never removed: it is the caller's partition */
		if (ioctl(c->out_fd, BLKGETSIZE64, &size) != 0) {
			si_diag_errno(d, errno);
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
	} else if (ftruncate(c->out_fd, (off_t)c->info.new_size) != 0) {
		si_diag_errno(d, errno);
		si_diag_field(d, "output");
		r = SI_E_WRITE;
		goto remove_part;
	}
	c->phase = 1;
	c->ndone = 0;
	run_phase(c, w, nw);
	if (c->err) {
		r = c->err;
		*d = c->diag;
		keep_part = blk || (c->j_fd >= 0 && si_err_cause(r) == SI_CAUSE_SYSTEM);
		goto remove_part;
	}
	if (atomic_load(&c->stop)) {
		r = SI_E_PATCH_STOPPED;
		keep_part = blk || c->j_fd >= 0;
		goto remove_part;
	}
	if (fsync(c->out_fd) != 0) {
		si_diag_errno(d, errno);
		si_diag_field(d, "output");
		r = SI_E_WRITE;
		keep_part = blk || c->j_fd >= 0;
		goto remove_part;
	}
	if (a->final_check) {
		r = a->final_check(a->fctx, c->out_fd, c->info.new_size, d);
		if (r != 0)
			goto remove_part;
	}
	if (!blk && rename(part, a->out_path) != 0) {
		si_diag_errno(d, errno);
		si_diag_field(d, "output");
		r = SI_E_IO;
		goto remove_part;
	}
	r = blk ? 0 : fsync_dir_of(a->out_path);
	if (r == 0 && a->checkpoint_path)
		unlink(a->checkpoint_path);
	goto out;

remove_part:
	if (!keep_part) {
		unlink(part);
		if (a->checkpoint_path)
			unlink(a->checkpoint_path);
	}
out:
	if (c->old_fd >= 0)
		close(c->old_fd);
	if (c->patch_fd >= 0)
		close(c->patch_fd);
	if (c->out_fd >= 0)
		close(c->out_fd);
	if (c->j_fd >= 0)
		close(c->j_fd);
	pthread_mutex_destroy(&c->lock);
	return r;
}
