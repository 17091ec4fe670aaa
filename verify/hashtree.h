/* sealinit: the dm-verity hash tree, format version 1, SHA-256.
 *
 * The tree is what the kernel's dm-verity and cryptsetup's veritysetup use
 * (Documentation/admin-guide/device-mapper/verity.rst; veritysetup
 * --format=1 --no-superblock), so `veritysetup verify` accepts our trees:
 *
 *   digest(block) = SHA-256(salt || block)                (version 1)
 *   a hash block holds hash_block_size/32 digests in order, zero padded;
 *   level L hashes the blocks of level L+1 (the bottom level hashes the
 *   data blocks); the top level is a single hash block, and
 *   root = digest(top hash block).
 *   On disk the levels follow each other, TOP level first:
 *
 *     tree: | level 0 (top, 1 block) | level 1 | ... | level n-1 (leaves) |
 *
 *   Number of levels: the smallest n with (data_blocks - 1) >> (n * b) == 0,
 *   b = log2(hash_block_size / 32).  One data block gives n = 0: no tree at
 *   all, and root = digest(the data block).
 *
 * No superblock: the signed manifest carries salt, sizes and offsets.
 * Pure code: the caller owns every buffer; nothing here allocates.  Threads
 * only hash (bounded compute) and are joined before a call returns.
 */
#ifndef SEALINIT_VERIFY_HASHTREE_H
#define SEALINIT_VERIFY_HASHTREE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/bytes.h"
#include "lib/err.h"

/* Fan-out is at least 512/32 = 16 per level, so 16 levels span 2^64 blocks. */
#define VT_MAX_LEVELS 16
#define VT_MIN_BLOCK 512u
#define VT_MAX_BLOCK 65536u
#define VT_DIGEST 32
#define VT_MAX_SALT 256   /* the dm-verity superblock's salt field */
#define VT_MAX_THREADS 64 /* threads = 0 means the online CPUs, capped here */

struct vt_geom {
	uint64_t data_blocks;
	uint32_t data_block_size, hash_block_size;
	unsigned levels; /* 0 when data_blocks == 1 */
	/* first hash block of each level, counted from the start of the tree;
	 * index 0 = top */
	uint64_t level_start[VT_MAX_LEVELS];
	uint64_t level_blocks[VT_MAX_LEVELS];
	uint64_t tree_blocks; /* hash blocks in all levels */
	uint64_t tree_size;   /* bytes: tree_blocks * hash_block_size */
};

/* Computes the geometry.  Errors: SI_E_VT_GEOM (a size is not a power of
 * two in 512..65536, or data_blocks == 0), SI_E_VT_TOO_BIG (the data or the
 * tree size overflows 64 bits, or more than VT_MAX_LEVELS levels).
 * *out is written on success only. */
int vt_geom_init(uint64_t data_blocks, uint32_t data_block_size,
		 uint32_t hash_block_size, struct vt_geom *out) SI_WUR;

/* Builds the whole tree into `tree` (g->tree_size bytes, every byte
 * written, padding zeroed) and the root hash.  `data` holds
 * g->data_blocks * g->data_block_size bytes.  threads: 0 = online CPUs.
 * Errors: SI_E_ARG (g not from vt_geom_init, NULL buffers), SI_E_VT_SALT. */
int vt_tree_build(const struct vt_geom *g, const uint8_t *salt, size_t salt_len,
		  const uint8_t *data, uint8_t *tree, uint8_t root[VT_DIGEST],
		  unsigned threads) SI_WUR;

/* Recomputes every digest and compares in constant time per digest.
 * Reports the inconsistency nearest the root, so that the error names the
 * block that was changed, not its innocent children:
 *   SI_E_SEAL_ROOT_MISMATCH  the top block (or, with no tree, the only data
 *                            block) does not hash to `root`; d gets the
 *                            field "root_hash" and expected/found as hex;
 *   SI_E_SEAL_TREE_CORRUPT   a hash block does not match its parent's entry;
 *                            d offset = byte offset of that block in the tree;
 *   SI_E_SEAL_DATA_CORRUPT   the lowest-numbered data block whose digest
 *                            differs from its leaf entry; d offset = byte
 *                            offset of the data block in the data.
 * Also SI_E_ARG, SI_E_VT_SALT.  d may be NULL. */
int vt_tree_verify(const struct vt_geom *g, const uint8_t *salt, size_t salt_len,
		   const uint8_t *data, const uint8_t *tree,
		   const uint8_t root[VT_DIGEST], unsigned threads,
		   struct si_diag *d) SI_WUR;

/* The same for data blocks [first, first + n) only: the whole stored tree
 * against root, then those blocks against their leaves (n == 0: the tree
 * alone).  A reader that uses part of the data checks what it uses; the
 * other blocks' bytes stay unchecked and must stay unused.  Errors: those
 * of vt_tree_verify; SI_E_ARG when the range is outside the data. */
int vt_tree_verify_range(const struct vt_geom *g, const uint8_t *salt, size_t salt_len,
			 const uint8_t *data, const uint8_t *tree,
			 const uint8_t root[VT_DIGEST], uint64_t first, uint64_t n,
			 unsigned threads, struct si_diag *d) SI_WUR;

/* Streaming pieces, for writers that see the data once (patch apply):
 * vt_hash_blocks hashes n data blocks of g->data_block_size bytes, starting
 * at data block `first`, straight into their slots of the bottom level of
 * `tree` (it writes the slots only); call it for every data block, in any
 * order and from any thread, then vt_tree_finish zeroes the bottom level's
 * padding, builds the upper levels and the root.  With one data block
 * (g->levels == 0) there is no tree: vt_hash_blocks does nothing and
 * vt_tree_finish takes the block as `single_block` (ignored otherwise).
 * Errors: SI_E_ARG (range outside the data), SI_E_VT_SALT. */
int vt_hash_blocks(const struct vt_geom *g, const uint8_t *salt, size_t salt_len,
		   uint64_t first, uint64_t n, const uint8_t *blocks,
		   uint8_t *tree, unsigned threads) SI_WUR;
int vt_tree_finish(const struct vt_geom *g, const uint8_t *salt, size_t salt_len,
		   const uint8_t *single_block, uint8_t *tree,
		   uint8_t root[VT_DIGEST], unsigned threads) SI_WUR;

#endif
