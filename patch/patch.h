/* sealinit patch/: a streaming delta format for disk images.
 *
 * The new image is cut into fixed segments; each segment is an independent
 * stream of operations against the WHOLE old image, so segments apply in
 * any order, in parallel, idempotently, with memory bounded by the segment
 * size.  Wire format (docs/formats.md, "Delta patches"), all little-endian:
 *
 *   header, 128 bytes
 *     0   magic "SIPATCH1"
 *     8   u32 version (1)
 *     12  u32 header_len: 128 + nseg * 80 (+ 128 with seals) + 32 (the hash)
 *     16  u32 flags (bit 0: seals section; other bits refused)
 *     20  u32 seg_size: power of two, PATCH_SEG_MIN..PATCH_SEG_MAX
 *     24  u32 nseg = ceil(new_size / seg_size)
 *     28  u32 reserved (0)
 *     32  u64 old_size
 *     40  u64 new_size
 *     48  [32] old_digest: SHA-256 over the SHA-256 of each seg_size chunk of old
 *     80  [32] new_digest: SHA-256 over the segments' output SHA-256s (index order)
 *     112 u64 payload_len: bytes of segment payload after the header
 *     120 u64 reserved (0)
 *   index, nseg entries of 80 bytes
 *     0   u64 payload_off (from the end of the header), segments in order, tiling
 *     8   u8 codec (0 stored, 1 zstd), [7] reserved (0)
 *     16  u32 ctrl_len, u32 diff_len, u32 lit_len (decoded sizes)
 *     28  u32 ctrl_clen, u32 diff_clen, u32 lit_clen (encoded sizes)
 *     40  [32] SHA-256 of the segment's output
 *     72  u64 reserved (0)
 *   seals, 128 bytes, only with flag 1 (PATCH_FLAG_SEALS): the sealed images
 *     0   [32] base manifest digest: SHA-256 of the old image's signed manifest
 *     32  [32] base root hash (sha256 dm-verity)
 *     64  [32] target manifest digest
 *     96  [32] target root hash
 *   [32] SHA-256 of header, index and seals
 *   payload: per segment ctrl || diff || lit, encoded with the codec
 *
 * Control stream: varint H, H bytes of op headers varint(len << 2 | kind),
 * then the source deltas, one zig-zag varint per COPY/ADD in order:
 * src = cursor + delta, where the cursor starts at the segment's output
 * offset and moves to src + len.
 *   COPY 0  out = old[src, src+len)
 *   ADD  1  out = old[src, src+len) + diff[next len bytes]  (bytewise mod 256)
 *   LIT  2  out = lit[next len bytes]
 *   ZERO 3  out = len zero bytes
 * The ops must produce exactly the segment's length and consume the diff and
 * literal streams exactly.
 */
#ifndef SEALINIT_PATCH_PATCH_H
#define SEALINIT_PATCH_PATCH_H

#include <stddef.h>
#include <stdint.h>

#include "lib/bytes.h"
#include "lib/err.h"

#define PATCH_MAGIC "SIPATCH1"
#define PATCH_VERSION 1u
#define PATCH_HDR_LEN 128u
#define PATCH_ENTRY_LEN 80u
#define PATCH_HASH_LEN 32u
#define PATCH_FLAG_SEALS 1u
#define PATCH_SEALS_LEN 128u

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
#define PATCH_SEG_MIN 4096u
#define PATCH_SEG_MAX ((uint32_t)CONFIG_PATCH_SEG_MAX_KB * 1024u)
#define PATCH_CTRL_MAX(seg) ((seg) / 4u)

enum patch_codec { PATCH_CODEC_STORED = 0, PATCH_CODEC_ZSTD = 1 };
enum patch_op { PATCH_OP_COPY = 0, PATCH_OP_ADD = 1, PATCH_OP_LIT = 2, PATCH_OP_ZERO = 3 };

struct patch_seg {
	uint64_t payload_off;
	uint8_t codec;
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
};

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

/* The seals section of a checked header (patch_index_check first; only
 * when info->has_seals). */
void patch_seals_get(const uint8_t *hdr, const struct patch_info *info,
		     struct patch_seals *out);

/* Entry i of a checked index (no checks: call patch_index_check first). */
void patch_index_entry(const uint8_t *hdr, uint32_t i, struct patch_seg *out);

/* Output length of segment i. */
uint32_t patch_seg_len(const struct patch_info *info, uint32_t i);

/* Reads old[off, off+len) into buf; returns 0 or a negative code. */
typedef int (*patch_read_fn)(void *ctx, uint64_t off, uint8_t *buf, size_t len);

/* Decodes one stream: src[0..slen) -> dst[0..dlen) exactly, else
 * SI_E_PATCH_STREAM; codecs it does not know: SI_E_PATCH_CODEC. */
typedef int (*patch_decode_fn)(void *ctx, int codec, const uint8_t *src, size_t slen,
			       uint8_t *dst, size_t dlen);

/* Runs one segment's decoded streams into out[0..out_len): ctrl, diff and
 * lit are the decoded streams, seg_off the segment's output offset (the
 * control cursor's start), old_size bounds every source span.  Pure apart
 * from read(); on error out holds partial bytes. */
int patch_seg_run(const uint8_t *ctrl, size_t ctrl_len, const uint8_t *diff,
		  size_t diff_len, const uint8_t *lit, size_t lit_len, uint64_t seg_off,
		  uint64_t old_size, patch_read_fn read, void *rctx, uint8_t *out,
		  size_t out_len, struct si_diag *d) SI_WUR;

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
		    void *dctx, patch_read_fn read, void *rctx, struct si_diag *d) SI_WUR;

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
 * verify the root hash against the target's signed manifest).  fd is the
 * finished .part file.  May be NULL. */
typedef int (*patch_final_check_fn)(void *ctx, int fd, uint64_t size, struct si_diag *d);

struct patch_apply_args {
	const char *old_path, *patch_path, *out_path;
	const char *checkpoint_path; /* NULL: no journal */
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
 * header's info): index, per-segment state, base digests, worker buffers. */
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

#endif
