/* sealinit patch/: a streaming delta format for disk images.
 *
 * The new image is cut into fixed segments; each segment is an independent
 * stream of operations against the WHOLE old image, so segments apply in
 * any order, in parallel, idempotently, with memory bounded by the segment
 * size.  Wire format (docs/formats.md, "Delta patches"), all little-endian:
 *
 *   header, 128 bytes
 *     0   magic "SIPATCH1"
 *     8   u32 version (3)
 *     12  u32 header_len: 128 + nseg * 80 (+ 128 with seals) + 32
 *                         + nexp * 128 + 32 (the hash)
 *     16  u32 flags (bit 0: seals section; other bits refused)
 *     20  u32 seg_size: power of two, PATCH_SEG_MIN..PATCH_SEG_MAX
 *     24  u32 nseg = ceil(new_size / seg_size)
 *                    + sum over expansions of ceil(u_new_len / seg_size)
 *     28  u32 nexp: expansions (gzip and xz members diffed decompressed)
 *     32  u64 old_size
 *     40  u64 new_size
 *     48  [32] old_digest: SHA-256 over the segment digest (patch_seg_digest)
 *         of each seg_size chunk of old
 *     80  [32] new_digest: SHA-256 over the segments' output digests (index order)
 *     112 u64 payload_len: bytes of payload after the header
 *     120 u32 map_count: pieces of the target map
 *     124 u32 map_clen: encoded bytes of the map stream
 *   index, nseg entries of 80 bytes: the image's segments, then each
 *   expansion's (its decompressed new member cut into segments)
 *     0   u64 payload_off (from the end of the header), segments in order,
 *         tiling the payload after the map stream
 *     8   u8 codec (0 stored, 1 zstd), u8 arch (0 none, 1 x86-64,
 *         2 aarch64: XADD's reference finder), u8 diff_mode (0 bytes,
 *         1 runs), u8 lit_filter (0 none, 1 x86-64), u8 lit_bits
 *         (0 without a filter; PATCH_LIT_BITS_MIN..32 with one), [3]
 *         reserved (0)
 *     16  u32 ctrl_len, u32 diff_len, u32 lit_len (decoded sizes)
 *     28  u32 ctrl_clen, u32 diff_clen, u32 lit_clen (encoded sizes)
 *     40  [32] segment digest of the segment's output (patch_seg_digest)
 *     72  u64 reserved (0)
 *   seals, 128 bytes, only with flag 1 (PATCH_FLAG_SEALS): the sealed images
 *     0   [32] base manifest digest: SHA-256 of the old image's signed manifest
 *     32  [32] base root hash (sha256 dm-verity)
 *     64  [32] target manifest digest
 *     96  [32] target root hash
 *   tables, 32 bytes
 *     0   u32 map_len (decoded bytes of the map stream), u8 map_codec,
 *         [27] reserved (0)
 *   expansions, nexp entries of 128 bytes, in the order of their new extents
 *     0   u8 kind (1: gzip member, re-made as gzip -9 makes it), u8 n_old
 *         (1..2), u8 n_new (1..2) extents, u8 hdr_len (10..32), u32 reserved
 *     8   u64 u_old_len, u64 u_new_len (decompressed members)
 *     24  [2] old extents (u64 off, u64 len) in the old image
 *     56  [2] new extents (u64 off, u64 len) in the new image
 *     88  [32] the new member's gzip header (hdr_len bytes, then zeros)
 *     120 u64 reserved (0)
 *   [32] SHA-256 of header, index, seals, tables and expansions
 *   payload: the map stream, then per segment ctrl || diff || lit, encoded
 *   with the segment's codec
 *
 * Source space: the old image [0, old_size), then each expansion's old
 * member decompressed, in order.  Target map (decoded map stream): per
 * piece varint(start - previous end), varint(len), zig-zag varint(delta -
 * previous delta); pieces of the old image that moved by delta (new offset -
 * old offset), sorted, disjoint.
 *
 * Control stream: varint H, H bytes of op headers varint(len << 3 | kind),
 * then the source deltas, one zig-zag varint per COPY/ADD/XADD in order:
 * src = cursor + delta, where the cursor starts at the segment's output
 * offset (an expansion's segment: the same offset in its old member's place
 * in the source space) and moves to src + len.
 *   COPY 0  out = src[src, src+len)
 *   ADD  1  out = src[src, src+len) + diff[next len bytes]  (bytewise mod 256)
 *   LIT  2  out = lit[next len bytes], through the segment's literal
 *           filter backward (patch_lit_filter, at the op's output offset)
 *   ZERO 3  out = len zero bytes
 *   XADD 4  as ADD, from the old image only, after rewriting the references
 *           that the segment's arch finds there to their targets' new places
 *           (patch/refs.c)
 *   KEEP 5  out = the output's own bytes there (an image segment's bytes
 *           that an expansion wrote)
 * The ops must produce exactly the segment's length and consume the diff and
 * literal streams exactly.
 *
 * Difference stream, diff_mode 1 (runs): varint R, R bytes of run pairs
 * varint(zeros) varint(nonzero), then the nonzero bytes: the difference
 * bytes of the segment's ADD/XADD ops in order, zero runs left out (mostly
 * zeros, so zstd gets a tenth of the bytes and the apply skips them).
 */
#ifndef SEALINIT_PATCH_PATCH_H
#define SEALINIT_PATCH_PATCH_H

#include <stddef.h>
#include <stdint.h>

#include "lib/bytes.h"
#include "lib/err.h"
#include "lib/fsops.h"

#define PATCH_MAGIC "SIPATCH1"
#define PATCH_VERSION 3u
#define PATCH_HDR_LEN 128u
#define PATCH_ENTRY_LEN 80u
#define PATCH_HASH_LEN 32u
#define PATCH_FLAG_SEALS 1u
#define PATCH_SEALS_LEN 128u
#define PATCH_TABLES_LEN 32u
#define PATCH_EXP_LEN 128u

/* Which sealed images a patch goes from and to (flag PATCH_FLAG_SEALS). */
struct patch_seals {
	uint8_t base_manifest[32], base_root[32];
	uint8_t target_manifest[32], target_root[32];
};

/* Caps (a Kconfig home for them is a follow-up): a segment is at most
 * 8 MiB of output, its control stream at most a quarter of that, and a
 * patch has at most 1 Mi segments (8 TiB at the largest segment size). */
#ifndef CONFIG_PATCH_SEG_MAX_KB
#define CONFIG_PATCH_SEG_MAX_KB 8192
#endif
#ifndef CONFIG_PATCH_MAX_SEGMENTS
#define CONFIG_PATCH_MAX_SEGMENTS 1048576
#endif
/* The target map's pieces (24 bytes each in the apply's memory) and the
 * expansions: each costs apply memory, so both are capped. */
#ifndef CONFIG_PATCH_MAP_MAX
#define CONFIG_PATCH_MAP_MAX 262144
#endif
#ifndef CONFIG_PATCH_MAX_EXPANSIONS
#define CONFIG_PATCH_MAX_EXPANSIONS 4096
#endif
/* Decompressed size of one expansion's member (either side). */
#ifndef CONFIG_PATCH_EXPAND_MAX_MB
#define CONFIG_PATCH_EXPAND_MAX_MB 1024
#endif
#define PATCH_EXPAND_MAX ((uint64_t)CONFIG_PATCH_EXPAND_MAX_MB << 20)
#define PATCH_SEG_MIN 4096u
#define PATCH_SEG_MAX ((uint32_t)CONFIG_PATCH_SEG_MAX_KB * 1024u)
#define PATCH_CTRL_MAX(seg) ((seg) / 4u)

enum patch_codec { PATCH_CODEC_STORED = 0, PATCH_CODEC_ZSTD = 1 };
enum patch_op {
	PATCH_OP_COPY = 0,
	PATCH_OP_ADD = 1,
	PATCH_OP_LIT = 2,
	PATCH_OP_ZERO = 3,
	PATCH_OP_XADD = 4,
	PATCH_OP_KEEP = 5,
};
#define PATCH_OP_KINDS 6u
enum patch_arch { PATCH_ARCH_NONE = 0, PATCH_ARCH_X86_64 = 1, PATCH_ARCH_AARCH64 = 2 };
enum patch_exp_kind { PATCH_EXP_GZIP = 1, PATCH_EXP_XZ = 2, PATCH_EXP_DEFLATE = 3, PATCH_EXP_ZSTD = 4 };
/* A gzip member's symbol in the scratch (gz.h, GZ_TOK_*): 4 bytes; a
 * record of its reuse list (formats.md, Expansions): 24. */
#define PATCH_EXP_TOK_LEN 4u
#define PATCH_EXP_REUSE_REC 24u

enum patch_diff_mode { PATCH_DIFF_BYTES = 0, PATCH_DIFF_RUNS = 1 };
enum patch_lit_filter { PATCH_LIT_PLAIN = 0, PATCH_LIT_X86 = 1 };

struct patch_seg {
	uint64_t payload_off;
	uint8_t codec, arch, diff_mode, lit_filter, lit_bits;
	uint32_t ctrl_len, diff_len, lit_len;
	uint32_t ctrl_clen, diff_clen, lit_clen;
	uint8_t sha256[PATCH_HASH_LEN];
};

/* The validated header; the index stays in the caller's buffer and is read
 * entry by entry with patch_index_entry(). */
struct patch_info {
	uint32_t header_len, seg_size, nseg;
	int has_seals;
	uint64_t old_size, new_size, payload_len;
	uint8_t old_digest[PATCH_HASH_LEN], new_digest[PATCH_HASH_LEN];
	uint32_t nexp, map_count, map_clen;
	uint32_t nseg_image;          /* segments of the image proper */
	/* set by patch_info_complete: */
	uint32_t map_len;
	uint8_t map_codec;
	uint64_t src_size;            /* old image and the old members */
	uint64_t exp_total;           /* the scratch: old and new members,
				       * decompressed, and the old members'
				       * tokens where a new one has a reuse list */
	uint8_t exp_kinds;            /* bit k: an expansion of kind k is here
				       * (0 until known: any kind) */
};

/* A gzip member diffed in decompressed space (validated by
 * patch_index_check; read with patch_exp_get). */
struct patch_ext {
	uint64_t off, len;
};

struct patch_exp {
	uint8_t kind, n_old, n_new, hdr_len;
	uint64_t u_old_len, u_new_len;
	struct patch_ext old_ext[2], new_ext[2];
	uint8_t hdr[32];
	/* kinds 2 and 3: the data's length in each member decompressed (the
	 * parse follows it), from hdr[0..16) */
	uint64_t data_old, data_new;
	/* kind 1: bytes of the reuse list at the end of the new member
	 * decompressed (0: none; formats.md, Expansions) */
	uint32_t reuse_len;
	/* derived: */
	uint64_t src_base;   /* the old member's place in the source space */
	uint64_t scratch_old, scratch_new; /* its members' places in the scratch */
	uint64_t scratch_tok; /* with a reuse list: the old member's tokens there */
	uint64_t tok_count;  /* set by patch_exp_expand: how many */
	uint32_t seg_first;  /* its first segment */
};

/* The target map (XADD): pieces of the old image that moved by delta. */
struct patch_map_piece {
	uint64_t start, end;
	int64_t delta;
};

struct patch_map {
	const struct patch_map_piece *v;
	uint32_t n;
	uint32_t *hits; /* the diff's count of rewrites per piece; NULL in the apply */
	/* optional (patch_map_index): per block of 2^shift old bytes, the
	 * first piece ending after its start */
	const uint32_t *blk;
	uint32_t nblk;
	unsigned shift;
};

/* Entries patch_map_index needs for an old image of old_size bytes and a
 * map of count pieces: at most count * PATCH_MAP_BLK_PER_PIECE + 2, and
 * at most 65537 (256 KiB of memory). */
#define PATCH_MAP_BLK_PER_PIECE 2
uint32_t patch_map_index_len(uint64_t old_size, uint32_t count);

/* Builds the block index of m in blk[0..patch_map_index_len(old_size, m->n))
 * and points m at it: a reference's piece is then found in the few
 * pieces of its block, not by a search of them all. */
void patch_map_index(struct patch_map *m, uint64_t old_size, uint32_t *blk);

/* Bytes of header needed before patch_header_parse can size the rest. */
#define PATCH_PREFIX_LEN PATCH_HDR_LEN

/* Reads the fixed header from buf[0..len) (len >= 128) and checks it;
 * header_len tells how much to read for patch_index_check. */
int patch_header_parse(const uint8_t *buf, size_t len, struct patch_info *out,
		       struct si_diag *d) SI_WUR;

/* Checks the whole header+index (buf holds info->header_len bytes): index
 * hash, every entry's reserved bytes, codecs, sizes against caps, payload
 * tiling, and new_digest over the entries' output hashes.  total_len is the
 * patch file's size (header_len + payload_len exactly, else truncated or
 * trailing).  Below this call the index is trusted structurally. */
int patch_index_check(const uint8_t *buf, size_t len, const struct patch_info *info,
		      uint64_t total_len, struct si_diag *d) SI_WUR;

/* Fills the fields of info that come from the tables and the expansions
 * (map_len, map_codec, src_size, exp_total) from a checked header. */
void patch_info_complete(const uint8_t *hdr, struct patch_info *info);

/* The seals section of a checked header (patch_index_check first; only
 * when info->has_seals). */
void patch_seals_get(const uint8_t *hdr, const struct patch_info *info,
		     struct patch_seals *out);

/* Entry i of a checked index (no checks: call patch_index_check first). */
void patch_index_entry(const uint8_t *hdr, uint32_t i, struct patch_seg *out);

/* Expansion k of a checked header (patch_index_check first). */
/* Where the expansion entries start in the file (PATCH_EXP_LEN bytes
 * each; entry k's kind is its first byte), for a parsed header. */
size_t patch_exp_table_off(const struct patch_info *info);
/* The kinds of the nexp entries at table (bit k: kind k; kinds past 7 are
 * not counted: the index check refuses them). */
uint8_t patch_exp_kinds(const uint8_t *table, uint32_t nexp);
void patch_exp_get(const uint8_t *hdr, const struct patch_info *info, uint32_t k,
		   struct patch_exp *out);

/* Parses the decoded map stream raw[0..len) into out[0..info->map_count):
 * sorted, disjoint pieces inside the old image, the stream consumed
 * exactly (SI_E_PATCH_CORRUPT otherwise). */
int patch_map_parse(const uint8_t *raw, size_t len, const struct patch_info *info,
		    struct patch_map_piece *out, struct si_diag *d) SI_WUR;

/* Output length of image segment i (i < info->nseg_image). */
uint32_t patch_seg_len(const struct patch_info *info, uint32_t i);

/* Reads old[off, off+len) into buf; returns 0 or a negative code. */
typedef int (*patch_read_fn)(void *ctx, uint64_t off, uint8_t *buf, size_t len);

/* Writes buf[0..len) at off; returns 0 or a negative code. */
typedef int (*patch_write_fn)(void *ctx, uint64_t off, const uint8_t *buf, size_t len);

/* A split member's join (kinds 2 to 4: patch_xz_join, patch_dfl_join, patch_zs_join),
 * its coder's state behind st. */
typedef int (*patch_join_fn)(void *st, patch_read_fn read, void *rctx, uint64_t data_base,
			     uint64_t data_len, uint64_t parse_base, uint64_t parse_len,
			     patch_write_fn write, void *wctx, uint64_t m_max, uint64_t *m_len,
			     struct si_diag *d);
/* And the split: member[0..m_len) through read into its data (at
 * data_base, at most data_max) and parse (parse_base, parse_max) through
 * write, back reading the data written; *used: the member's bytes. */
typedef int (*patch_split_fn)(void *st, patch_read_fn read, void *rctx, uint64_t m_len,
			      patch_write_fn write, void *wctx, patch_read_fn back, void *bctx,
			      uint64_t data_base, uint64_t data_max, uint64_t parse_base,
			      uint64_t parse_max, uint64_t *data_len, uint64_t *parse_len,
			      uint64_t *used, struct si_diag *d);

/* Decodes one stream: src[0..slen) -> dst[0..dlen) exactly, else
 * SI_E_PATCH_STREAM; codecs it does not know: SI_E_PATCH_CODEC. */
typedef int (*patch_decode_fn)(void *ctx, int codec, const uint8_t *src, size_t slen,
			       uint8_t *dst, size_t dlen);

/* Where a segment writes and reads: the output offset (in the new image,
 * or in its expansion's new member), the source cursor's start, and the
 * callbacks for the source space and, for KEEP, the output. */
struct patch_seg_env {
	uint64_t src_size;      /* COPY/ADD sources stay below this */
	uint64_t old_size;      /* XADD sources and reference targets below this */
	uint64_t cursor;
	uint64_t out_off;       /* KEEP reads the output here */
	uint32_t len;           /* the segment's output length */
	int arch, keep_ok;      /* keep_ok: an image segment */
	int diff_mode;          /* enum patch_diff_mode */
	int lit_filter;         /* enum patch_lit_filter */
	unsigned lit_bits;      /* its modulus, with PATCH_LIT_X86 */
	int32_t exp;            /* its expansion, or -1 */
	const struct patch_map *map;
	patch_read_fn read;     /* the source space */
	void *rctx;
	patch_read_fn read_out; /* the output, for KEEP */
	void *octx;
	/* NULL, or what KEEP's reads wait for (octx; 0, or an error that
	 * ends the segment): the ops run first, the reads of at most
	 * PATCH_KEEP_DEFER ranges after it, once, at the segment's end */
	int (*keep_wait)(void *octx);
	/* NULL, or set by patch_seg_apply: 1 when every op was ZERO (the
	 * output is zero bytes), else 0 */
	int *zeroed;
};
#define PATCH_KEEP_DEFER 64u

/* Fills env's placement for segment i of a checked header (the callbacks
 * and map are the caller's); exps: the header's expansions. */
void patch_seg_place(const struct patch_info *info, const struct patch_exp *exps, uint32_t i,
		     struct patch_seg_env *env);

/* Runs one segment's decoded streams into out[0..env->len): ctrl, diff and
 * lit are the decoded streams.  Pure apart from the callbacks; on error out
 * holds partial bytes. */
int patch_seg_run(const uint8_t *ctrl, size_t ctrl_len, const uint8_t *diff,
		  size_t diff_len, const uint8_t *lit, size_t lit_len,
		  const struct patch_seg_env *env, uint8_t *out, struct si_diag *d) SI_WUR;

/* Rewrites the references that arch's finder sees in buf[0..len), the
 * bytes of old[src, src+len) placed at new offset dst, to their targets'
 * new places by the map (patch/refs.c); returns how many it rewrote.  The
 * diff runs the same function to make XADD's difference bytes. */
size_t patch_refs_predict(int arch, uint8_t *buf, size_t len, uint64_t src, uint64_t dst,
			  uint64_t old_size, const struct patch_map *m);

/* The literal filter of a segment's LIT ops (lit_filter 1, x86-64, in
 * patch/refs.c): forward (the diff) rewrites the rel32 fields of calls and
 * RIP-relative operands in buf[0..len), the bytes at output offset pos,
 * that are the sign extension of their low `bits` bits, to their targets'
 * offsets modulo 2^bits, sign-extended; backward (the apply) undoes it.
 * bits: PATCH_LIT_BITS_MIN..32.  Returns the fields rewritten. */
#define PATCH_LIT_BITS_MIN 20u
size_t patch_lit_filter(uint8_t *buf, size_t len, uint64_t pos, unsigned bits, int forward);

/* The apply's source window (apply.c): a worker serves source reads of at
 * most a quarter of it from the PATCH_APPLY_WIN bytes it read last; part
 * of patch_apply_mem's worker, left out when only it does not fit. */
#define PATCH_APPLY_WIN 65536u

/* Memory one apply worker needs for a given segment size: the output/input
 * buffer (seg + ctrl cap), the diff+lit buffer (seg), the control (seg/4). */
static inline size_t patch_worker_mem(uint32_t seg_size)
{
	return (size_t)seg_size + PATCH_CTRL_MAX(seg_size) + seg_size + PATCH_CTRL_MAX(seg_size);
}

/* Decodes and runs segment i, checks its output hash.  payload points at the
 * segment's ctrl_clen+diff_clen+lit_clen encoded bytes, which must live in
 * work (the first seg_size + ctrl cap bytes, where it is read to), since the
 * output overwrites them; work holds patch_worker_mem(seg_size) bytes.  The
 * output is work[0..patch_seg_len). */
int patch_seg_apply(const struct patch_info *info, const struct patch_seg *seg,
		    uint32_t i, uint8_t *work, size_t work_len, patch_decode_fn decode,
		    void *dctx, const struct patch_seg_env *env, struct si_diag *d) SI_WUR;

/* The expansions' two halves (exp.c; the coders are gz.c and xz.c).
 * Expanding reads the old member from its old extents (read: the old
 * image) and writes it decompressed at e->scratch_old (write: the scratch;
 * back reads the scratch, for an xz member's distances past its window).
 * A gzip member: its header, stream, trailer's CRC-32 and size are checked,
 * it must fill its extents and decompress to u_old_len; with a reuse list
 * its symbols are also written, as tokens, at e->scratch_tok (and counted
 * in e->tok_count, which making reads).  An xz member: its
 * data (data_old bytes) then its parse, u_old_len in all, every field
 * checked (xz.c).  Making codes the new member again from e->scratch_new
 * (read: the scratch) across its new extents (write: the output), which it
 * must fill exactly.  Either failure: SI_E_PATCH_EXPAND.  st: the caller's
 * patch_exp_state_size(info->exp_kinds) bytes, aligned for any type. */
int patch_exp_expand(struct patch_exp *e, void *st, patch_read_fn read, void *rctx,
		     patch_write_fn write, void *wctx, patch_read_fn back, void *bctx,
		     struct si_diag *d) SI_WUR;
int patch_exp_make(const struct patch_exp *e, void *st, patch_read_fn read, void *rctx,
		   patch_write_fn write, void *wctx, struct si_diag *d) SI_WUR;
/* Bytes of state the kinds in mask need (bit k: kind k; the largest): a
 * patch with gzip members only does not pay for an xz member's window. */
size_t patch_exp_state_size(unsigned kinds);

/* The join and the split of a split kind (PATCH_EXP_XZ, PATCH_EXP_DEFLATE,
 * PATCH_EXP_ZSTD), else NULL. */
patch_join_fn patch_exp_join_fn(unsigned kind);
patch_split_fn patch_exp_split_fn(unsigned kind);

/* ----------------------------------------------------------- the apply driver
 * Applies a patch file to an old image file, writing new out of place:
 * <out>.part is written, every segment hash checked, fsynced, then renamed
 * to <out> and the directory fsynced.  On any error the .part file is
 * removed (unless a checkpoint journal keeps it for a resume), so nothing
 * ever appears under the output name that was not fully verified.
 * When out_path is a block device (a partition), the result is written
 * into it in place instead: no .part, no rename, nothing removed on error
 * (the caller decides what the partition holds meanwhile). */
enum patch_phase {
	PATCH_PHASE_BASE = 0,     /* hashing the old image (done/total: chunks) */
	PATCH_PHASE_SEGMENTS = 1, /* writing the new one (done/total: segments) */
};

struct patch_progress {
	enum patch_phase phase;
	uint32_t done, total;
	/* A resumed apply: how many segments the checkpoint journal already
	 * held when this run started (0: a fresh start), and the lowest
	 * segment it did not hold (where the work goes on). */
	uint32_t resumed, resume_at;
};

/* Called (serialised) after each segment; may be NULL. */
typedef void (*patch_progress_fn)(void *ctx, const struct patch_progress *p);

/* A check of the whole result before the rename (the sealed-image hook:
 * verify the root hash against the target's signed manifest).  h is the
 * finished .part file's handle in fs.  May be NULL. */
typedef int (*patch_final_check_fn)(void *ctx, const struct si_fs *fs, int h, uint64_t size,
				    struct si_diag *d);

struct patch_apply_args {
	/* Every file operation (lib/fsops.h); NULL: ordinary paths
	 * (si_fs_cwd).  The paths below are in its namespace. */
	const struct si_fs *fs;
	const char *old_path, *patch_path, *out_path;
	const char *checkpoint_path; /* NULL: no journal */
	const char *scratch_path;    /* expansions' members; NULL: <out>.scratch, or
				      * <patch>.scratch when out is a partition */
	unsigned threads;            /* wanted workers; capped by work memory */
	uint8_t *work;               /* caller's memory: patch_apply_mem(info, threads) */
	size_t work_len;
	patch_decode_fn decode;
	void *dctx;
	patch_progress_fn progress;
	void *pctx;
	patch_final_check_fn final_check;
	void *fctx;
	uint32_t stop_after;         /* tests: stop after N new segments (0: never) */
	/* Optional: the old image through a read function instead of
	 * old_path (a sealed image in a partition, read as the file it was
	 * made from); old_size is then its size and old_path is not opened. */
	patch_read_fn old_read;
	void *old_rctx;
	uint64_t old_size;
};

int patch_apply_file(const struct patch_apply_args *a, struct si_diag *d) SI_WUR;

/* work_len that patch_apply_file needs for `threads` workers (a valid
 * header's info): index, per-segment state, base digests, the target map,
 * the expansions' state, worker buffers. */
size_t patch_apply_mem(const struct patch_info *info, unsigned threads);

/* Stored codec only (the boot code's fallback and the tests'). */
int patch_decode_stored(void *ctx, int codec, const uint8_t *src, size_t slen,
			uint8_t *dst, size_t dlen) SI_WUR;

/* SHA-256 used by the format (one place to switch implementations). */
struct patch_hash {
	_Alignas(16) uint8_t state[128];
};
void patch_hash_init(struct patch_hash *h);
void patch_hash_update(struct patch_hash *h, const void *p, size_t n);
void patch_hash_final(struct patch_hash *h, uint8_t out[PATCH_HASH_LEN]);
void patch_hash(const void *p, size_t n, uint8_t out[PATCH_HASH_LEN]);

/* The digest of a segment's output and of a chunk of the old image
 * (formats.md, "Segment digest"): the span cut into four lanes of q = 64 *
 * floor(len / 256) bytes and a tail of len - 4q (under 256) bytes; the
 * SHA-256 of the lanes' four SHA-256s then the tail.  The lanes are
 * independent messages, hashed together (si_sha256_many): 1.9x one
 * stream's speed with SHA-NI, where one stream waits on its own rounds.
 * The _lanes/_end pair hashes lanes [lo, hi) first (the part of a segment
 * already made), the rest and the tail later. */
#define PATCH_SEG_LANES 4u
void patch_seg_digest(const uint8_t *p, size_t len, uint8_t out[PATCH_HASH_LEN]);
/* How many lanes lie wholly within p[0, n) for a span of len bytes. */
unsigned patch_seg_lanes_within(size_t len, size_t n);
void patch_seg_digest_lanes(const uint8_t *p, size_t len, unsigned lo, unsigned hi,
			    uint8_t lanes[PATCH_SEG_LANES][PATCH_HASH_LEN]);
void patch_seg_digest_end(const uint8_t *p, size_t len,
			  const uint8_t lanes[PATCH_SEG_LANES][PATCH_HASH_LEN],
			  uint8_t out[PATCH_HASH_LEN]);

#endif
