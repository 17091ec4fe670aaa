/* sealinit: the dm-verity hash tree (format version 1, SHA-256).
 * Layout and rules: verify/hashtree.h.  Geometry follows the kernel's
 * dm-verity (drivers/md/dm-verity-target.c, verity_ctr: levels and
 * hash_per_block_bits) and cryptsetup's lib/verity/verity_hash.c (levels
 * stored top first), so both accept what we build. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "lib/bytes.h"
#include "verify/hashtree.h"
#include "verify/sha256.h"

static int vt_pow2_ok(uint32_t v)
{
	return v >= VT_MIN_BLOCK && v <= VT_MAX_BLOCK && (v & (v - 1)) == 0;
}

static unsigned vt_log2(uint32_t v)
{
	unsigned b = 0;

	while (v > 1) {
		v >>= 1;
		b++;
	}
	return b;
}

int vt_geom_init(uint64_t data_blocks, uint32_t data_block_size,
		 uint32_t hash_block_size, struct vt_geom *out)
{
	struct vt_geom g;
	/* Digests are 32 bytes and hash blocks at least 512: the fan-out
	 * is a power of two >= 16 and every slot is exactly 32 bytes, so a
	 * level's digests lie back to back (dm-verity version 1 rounds the
	 * slot up to a power of two: here that changes nothing). */
	unsigned bits, i;
	uint64_t bytes, pos = 0;

	if (!out)
		return SI_E_ARG;
	if (!data_blocks || !vt_pow2_ok(data_block_size) || !vt_pow2_ok(hash_block_size))
		return SI_E_VT_GEOM;
	if (si_mul_u64(data_blocks, data_block_size, &bytes) || bytes > SIZE_MAX)
		return SI_E_VT_TOO_BIG;

	memset(&g, 0, sizeof g);
	g.data_blocks = data_blocks;
	g.data_block_size = data_block_size;
	g.hash_block_size = hash_block_size;
	bits = vt_log2(hash_block_size / VT_DIGEST);
	/* verity_ctr: levels while (data_blocks - 1) >> (bits * levels) */
	while (bits * g.levels < 64 && ((data_blocks - 1) >> (bits * g.levels)))
		g.levels++;
	if (g.levels > VT_MAX_LEVELS)
		return SI_E_VT_TOO_BIG;
	for (i = 0; i < g.levels; i++) {
		/* level i covers the data in units of 2^(bits*(levels-i)) blocks */
		unsigned shift = bits * (g.levels - i);

		g.level_blocks[i] = shift >= 64 ? 1 : ((data_blocks - 1) >> shift) + 1;
		g.level_start[i] = pos;
		if (si_add_u64(pos, g.level_blocks[i], &pos))
			return SI_E_VT_TOO_BIG;
	}
	g.tree_blocks = pos;
	if (si_mul_u64(pos, hash_block_size, &g.tree_size) || g.tree_size > SIZE_MAX)
		return SI_E_VT_TOO_BIG;
	*out = g;
	return 0;
}

/* The geometry must be what vt_geom_init makes: offsets below are trusted
 * only after this. */
static int vt_geom_check(const struct vt_geom *g)
{
	struct vt_geom w;
	unsigned i;

	if (!g || vt_geom_init(g->data_blocks, g->data_block_size, g->hash_block_size, &w))
		return SI_E_ARG;
	if (w.levels != g->levels || w.tree_blocks != g->tree_blocks ||
	    w.tree_size != g->tree_size)
		return SI_E_ARG;
	for (i = 0; i < w.levels; i++)
		if (w.level_start[i] != g->level_start[i] ||
		    w.level_blocks[i] != g->level_blocks[i])
			return SI_E_ARG;
	return 0;
}

static int vt_prefix(const uint8_t *salt, size_t salt_len, struct si_sha256 *c)
{
	if (salt_len > VT_MAX_SALT)
		return SI_E_VT_SALT;
	if (salt_len && !salt)
		return SI_E_ARG;
	si_sha256_init(c);
	si_sha256_update(c, salt, salt_len);
	return 0;
}

/* ------------------------------------------------------------ workers
 * A job hashes n messages (msg_len bytes each, back to back from base),
 * each prefixed by the salt.  With out set, digest i goes to out + 32*i;
 * with expect set, it is compared with expect + 32*i and the lowest index
 * that differs is kept.  Workers take chunks from a shared counter, so a
 * thread that could not be started only means the others do more. */
#define VT_CHUNK 256u /* messages per grab: 1 MiB of 4 KiB blocks */
#define VT_BATCH 64u  /* digests compared per stack batch */

struct vt_job {
	const struct si_sha256 *prefix;
	const uint8_t *base;
	size_t msg_len;
	uint64_t n;
	uint8_t *out;
	const uint8_t *expect;
	atomic_uint_fast64_t next;
	atomic_uint_fast64_t first_bad; /* UINT64_MAX: none */
};

static void vt_note_bad(struct vt_job *j, uint64_t idx)
{
	uint_fast64_t cur = atomic_load(&j->first_bad);

	while (idx < cur && !atomic_compare_exchange_weak(&j->first_bad, &cur, idx))
		;
}

static void *vt_worker(void *arg)
{
	struct vt_job *j = arg;
	uint8_t dig[VT_BATCH * VT_DIGEST];

	for (;;) {
		uint64_t start = atomic_fetch_add(&j->next, VT_CHUNK), cnt, k;

		if (start >= j->n)
			break;
		cnt = j->n - start < VT_CHUNK ? j->n - start : VT_CHUNK;
		if (j->out) {
			si_sha256_many(j->prefix, j->base + start * j->msg_len, j->msg_len,
				       j->msg_len, (size_t)cnt, j->out + start * VT_DIGEST);
			continue;
		}
		/* Chunks are handed out in order: past a known bad block
		 * nothing can become the first one. */
		if (start > atomic_load(&j->first_bad))
			break;
		for (k = 0; k < cnt; k += VT_BATCH) {
			uint64_t b = cnt - k < VT_BATCH ? cnt - k : VT_BATCH, m;
			uint64_t at = start + k;

			si_sha256_many(j->prefix, j->base + at * j->msg_len, j->msg_len,
				       j->msg_len, (size_t)b, dig);
			for (m = 0; m < b; m++)
				if (si_ct_memcmp(dig + m * VT_DIGEST,
						 j->expect + (at + m) * VT_DIGEST, VT_DIGEST)) {
					vt_note_bad(j, at + m);
					break;
				}
		}
	}
	return NULL;
}

static unsigned vt_nthreads(unsigned threads, uint64_t n)
{
	uint64_t chunks = (n + VT_CHUNK - 1) / VT_CHUNK;

	if (!threads) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);

		threads = c > 0 ? (unsigned)(c > VT_MAX_THREADS ? VT_MAX_THREADS : c) : 1;
	}
	if (threads > VT_MAX_THREADS)
		threads = VT_MAX_THREADS;
	if (threads > chunks)
		threads = (unsigned)chunks;
	return threads ? threads : 1;
}

/* Runs the job on the calling thread and up to threads-1 others, all
 * joined before returning.  Returns the first bad index (verify jobs) or
 * UINT64_MAX. */
static uint64_t vt_run(struct vt_job *j, unsigned threads)
{
	pthread_t tid[VT_MAX_THREADS];
	unsigned t, started = 0, nt = vt_nthreads(threads, j->n);

	atomic_init(&j->next, 0);
	atomic_init(&j->first_bad, UINT64_MAX);
	for (t = 1; t < nt; t++) {
		if (pthread_create(&tid[started], NULL, vt_worker, j))
			break; /* fewer helpers; the queue still gets done */
		started++;
	}
	vt_worker(j);
	for (t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
	return atomic_load(&j->first_bad);
}

static uint64_t vt_hash_run(const struct si_sha256 *prefix, const uint8_t *base,
			    size_t msg_len, uint64_t n, uint8_t *out,
			    const uint8_t *expect, unsigned threads)
{
	struct vt_job j;

	memset(&j, 0, sizeof j);
	j.prefix = prefix;
	j.base = base;
	j.msg_len = msg_len;
	j.n = n;
	j.out = out;
	j.expect = expect;
	return vt_run(&j, threads);
}

static void vt_digest(const struct si_sha256 *prefix, const uint8_t *p, size_t len,
		      uint8_t out[VT_DIGEST])
{
	struct si_sha256 c = *prefix;

	si_sha256_update(&c, p, len);
	si_sha256_final(&c, out);
}

/* Byte offset of level i in the tree; geometry already checked, so the
 * products fit (tree_size did). */
static size_t vt_level_off(const struct vt_geom *g, unsigned i)
{
	return (size_t)g->level_start[i] * g->hash_block_size;
}

/* ------------------------------------------------------------ build */
int vt_hash_blocks(const struct vt_geom *g, const uint8_t *salt, size_t salt_len,
		   uint64_t first, uint64_t n, const uint8_t *blocks,
		   uint8_t *tree, unsigned threads)
{
	struct si_sha256 prefix;
	int r;

	if ((r = vt_geom_check(g)))
		return r;
	if ((r = vt_prefix(salt, salt_len, &prefix)))
		return r;
	if (!si_span_ok(first, n, g->data_blocks) || (n && (!blocks || (g->levels && !tree))))
		return SI_E_ARG;
	if (!g->levels || !n)
		return 0;
	vt_hash_run(&prefix, blocks, g->data_block_size, n,
		    tree + vt_level_off(g, g->levels - 1) + (size_t)first * VT_DIGEST,
		    NULL, threads);
	return 0;
}

int vt_tree_finish(const struct vt_geom *g, const uint8_t *salt, size_t salt_len,
		   const uint8_t *single_block, uint8_t *tree,
		   uint8_t root[VT_DIGEST], unsigned threads)
{
	struct si_sha256 prefix;
	unsigned i;
	int r;

	if ((r = vt_geom_check(g)))
		return r;
	if ((r = vt_prefix(salt, salt_len, &prefix)))
		return r;
	if (!root)
		return SI_E_ARG;
	if (!g->levels) {
		if (!single_block)
			return SI_E_ARG;
		vt_digest(&prefix, single_block, g->data_block_size, root);
		return 0;
	}
	if (!tree)
		return SI_E_ARG;
	for (i = g->levels; i-- > 0;) {
		/* Level i holds the digests of level i+1's blocks (or of the
		 * data for the bottom level), then zeros to its end. */
		uint64_t entries = i + 1 < g->levels ? g->level_blocks[i + 1] : g->data_blocks;
		uint8_t *lvl = tree + vt_level_off(g, i);
		size_t used = (size_t)entries * VT_DIGEST;

		if (i + 1 < g->levels)
			vt_hash_run(&prefix, tree + vt_level_off(g, i + 1), g->hash_block_size,
				    entries, lvl, NULL, threads);
		memset(lvl + used, 0, (size_t)g->level_blocks[i] * g->hash_block_size - used);
	}
	vt_digest(&prefix, tree, g->hash_block_size, root);
	return 0;
}

int vt_tree_build(const struct vt_geom *g, const uint8_t *salt, size_t salt_len,
		  const uint8_t *data, uint8_t *tree, uint8_t root[VT_DIGEST],
		  unsigned threads)
{
	int r;

	if (!data)
		return SI_E_ARG;
	r = vt_hash_blocks(g, salt, salt_len, 0, g ? g->data_blocks : 0, data, tree, threads);
	if (r)
		return r;
	return vt_tree_finish(g, salt, salt_len, data, tree, root, threads);
}

/* ------------------------------------------------------------ verify */
static int vt_root_bad(struct si_diag *d, const uint8_t want[VT_DIGEST],
		       const uint8_t got[VT_DIGEST])
{
	if (!si_ct_memcmp(want, got, VT_DIGEST))
		return 0;
	si_diag_field(d, "root_hash");
	si_diag_bytes(d, want, got, VT_DIGEST);
	return SI_E_SEAL_ROOT_MISMATCH;
}

int vt_tree_verify(const struct vt_geom *g, const uint8_t *salt, size_t salt_len,
		   const uint8_t *data, const uint8_t *tree,
		   const uint8_t root[VT_DIGEST], unsigned threads,
		   struct si_diag *d)
{
	if (!g)
		return SI_E_ARG;
	return vt_tree_verify_range(g, salt, salt_len, data, tree, root, 0, g->data_blocks,
				    threads, d);
}

int vt_tree_verify_range(const struct vt_geom *g, const uint8_t *salt, size_t salt_len,
			 const uint8_t *data, const uint8_t *tree,
			 const uint8_t root[VT_DIGEST], uint64_t first, uint64_t n,
			 unsigned threads, struct si_diag *d)
{
	struct si_sha256 prefix;
	uint8_t got[VT_DIGEST];
	uint64_t bad;
	unsigned i;
	int r;

	if ((r = vt_geom_check(g)))
		return r;
	if ((r = vt_prefix(salt, salt_len, &prefix)))
		return r;
	if (!data || !root || (g->levels && !tree) || first > g->data_blocks ||
	    n > g->data_blocks - first)
		return SI_E_ARG;
	if (!g->levels) {
		if (n == 0)
			return 0;
		vt_digest(&prefix, data, g->data_block_size, got);
		return vt_root_bad(d, root, got);
	}
	/* Nearest the root first: a changed hash block also makes every
	 * block below it look bad, so the top-most mismatch is the cause. */
	vt_digest(&prefix, tree, g->hash_block_size, got);
	if ((r = vt_root_bad(d, root, got)))
		return r;
	for (i = 1; i < g->levels; i++) {
		const uint8_t *parent = tree + vt_level_off(g, i - 1);

		bad = vt_hash_run(&prefix, tree + vt_level_off(g, i), g->hash_block_size,
				  g->level_blocks[i], NULL, parent, threads);
		if (bad != UINT64_MAX) {
			size_t off = vt_level_off(g, i) + (size_t)bad * g->hash_block_size;

			vt_digest(&prefix, tree + off, g->hash_block_size, got);
			si_diag_field(d, "hash_tree");
			si_diag_offset(d, off);
			si_diag_bytes(d, parent + bad * VT_DIGEST, got, VT_DIGEST);
			return SI_E_SEAL_TREE_CORRUPT;
		}
	}
	{
		const uint8_t *leaves = tree + vt_level_off(g, g->levels - 1);

		bad = vt_hash_run(&prefix, data + (size_t)first * g->data_block_size,
				  g->data_block_size, n, NULL, leaves + (size_t)first * VT_DIGEST,
				  threads);
		if (bad != UINT64_MAX) {
			size_t off = (size_t)(first + bad) * g->data_block_size;

			vt_digest(&prefix, data + off, g->data_block_size, got);
			si_diag_field(d, "data");
			si_diag_offset(d, off);
			si_diag_bytes(d, leaves + (first + bad) * VT_DIGEST, got, VT_DIGEST);
			return SI_E_SEAL_DATA_CORRUPT;
		}
	}
	return 0;
}
