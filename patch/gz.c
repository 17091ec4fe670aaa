/* sealinit patch/: gzip members in decompressed space.
 *
 * A file compressed in the image (Debian compresses every changelog with
 * `gzip -9n`) rewrites completely when a line is added at its top, so its
 * compressed bytes cost a patch almost their whole size.  Decompressed,
 * the change is a few lines.  The patch carries the member decompressed
 * (an "expansion") and the apply compresses it again; that is only sound
 * when compressing gives back the very same bytes, which the diff checks
 * before it uses an expansion (else the member is diffed as raw bytes).
 *
 * So the encoder below must choose exactly what GNU gzip 1.x chooses at
 * level 9: it implements the same algorithm (RFC 1951 with gzip's parse and
 * block decisions), which is fixed and well known, not gzip's code:
 *   - a 64 KiB window slid by 32 KiB when the position reaches 65274,
 *     hash of 3 bytes (15 bits, shift 5), chains through `prev`;
 *   - lazy matching: at each position the longest match along the chain
 *     (4096 links, a quarter once the previous match reached 32, stop at
 *     258), an earlier match kept unless the next position's is longer,
 *     3-byte matches farther than 4096 dropped, no search within 262 bytes
 *     of the window's end, position 0 never a match, bytes past the input
 *     end as the window holds them (the two after it zeroed);
 *   - a block ends when 32767 literals or 32768 distances are buffered, or,
 *     every 4096 literals, when fewer than half the symbols are distances
 *     and the estimated output is under half the input;
 *   - per block the smaller of stored (when its bytes are still in the
 *     window), fixed and dynamic Huffman codes, with the heap construction
 *     of code lengths (ties to the shallower subtree) and the length-limit
 *     repair that deflate always used.
 * With a reuse list (formats.md, Expansions) it codes the list's spans with
 * the old member's symbols, which the inflate below writes out as tokens,
 * instead of searching: gzip -9's search is most of its time, and where
 * the old symbols are the ones it would choose (a changelog past the
 * window that sees its new entries) the bytes are the same.
 * Everything it needs is in one caller-allocated state (about 300 KiB), and
 * its input and output go through callbacks: no allocation, bounded
 * memory, as the apply at boot needs.
 *
 * The decoder is a plain RFC 1951 inflate with a 32 KiB window, also
 * through callbacks. */
#include <pthread.h>
#include <string.h>

#include "lib/bytes.h"
#include "patch/gz.h"

/* ------------------------------------------------------------------ crc32 */
/* gzip's CRC-32 (ISO 3309, reflected 0xEDB88320), table by byte */
static const uint32_t crc_table[256] = {
	0x00000000u, 0x77073096u, 0xee0e612cu, 0x990951bau, 0x076dc419u, 0x706af48fu,
	0xe963a535u, 0x9e6495a3u, 0x0edb8832u, 0x79dcb8a4u, 0xe0d5e91eu, 0x97d2d988u,
	0x09b64c2bu, 0x7eb17cbdu, 0xe7b82d07u, 0x90bf1d91u, 0x1db71064u, 0x6ab020f2u,
	0xf3b97148u, 0x84be41deu, 0x1adad47du, 0x6ddde4ebu, 0xf4d4b551u, 0x83d385c7u,
	0x136c9856u, 0x646ba8c0u, 0xfd62f97au, 0x8a65c9ecu, 0x14015c4fu, 0x63066cd9u,
	0xfa0f3d63u, 0x8d080df5u, 0x3b6e20c8u, 0x4c69105eu, 0xd56041e4u, 0xa2677172u,
	0x3c03e4d1u, 0x4b04d447u, 0xd20d85fdu, 0xa50ab56bu, 0x35b5a8fau, 0x42b2986cu,
	0xdbbbc9d6u, 0xacbcf940u, 0x32d86ce3u, 0x45df5c75u, 0xdcd60dcfu, 0xabd13d59u,
	0x26d930acu, 0x51de003au, 0xc8d75180u, 0xbfd06116u, 0x21b4f4b5u, 0x56b3c423u,
	0xcfba9599u, 0xb8bda50fu, 0x2802b89eu, 0x5f058808u, 0xc60cd9b2u, 0xb10be924u,
	0x2f6f7c87u, 0x58684c11u, 0xc1611dabu, 0xb6662d3du, 0x76dc4190u, 0x01db7106u,
	0x98d220bcu, 0xefd5102au, 0x71b18589u, 0x06b6b51fu, 0x9fbfe4a5u, 0xe8b8d433u,
	0x7807c9a2u, 0x0f00f934u, 0x9609a88eu, 0xe10e9818u, 0x7f6a0dbbu, 0x086d3d2du,
	0x91646c97u, 0xe6635c01u, 0x6b6b51f4u, 0x1c6c6162u, 0x856530d8u, 0xf262004eu,
	0x6c0695edu, 0x1b01a57bu, 0x8208f4c1u, 0xf50fc457u, 0x65b0d9c6u, 0x12b7e950u,
	0x8bbeb8eau, 0xfcb9887cu, 0x62dd1ddfu, 0x15da2d49u, 0x8cd37cf3u, 0xfbd44c65u,
	0x4db26158u, 0x3ab551ceu, 0xa3bc0074u, 0xd4bb30e2u, 0x4adfa541u, 0x3dd895d7u,
	0xa4d1c46du, 0xd3d6f4fbu, 0x4369e96au, 0x346ed9fcu, 0xad678846u, 0xda60b8d0u,
	0x44042d73u, 0x33031de5u, 0xaa0a4c5fu, 0xdd0d7cc9u, 0x5005713cu, 0x270241aau,
	0xbe0b1010u, 0xc90c2086u, 0x5768b525u, 0x206f85b3u, 0xb966d409u, 0xce61e49fu,
	0x5edef90eu, 0x29d9c998u, 0xb0d09822u, 0xc7d7a8b4u, 0x59b33d17u, 0x2eb40d81u,
	0xb7bd5c3bu, 0xc0ba6cadu, 0xedb88320u, 0x9abfb3b6u, 0x03b6e20cu, 0x74b1d29au,
	0xead54739u, 0x9dd277afu, 0x04db2615u, 0x73dc1683u, 0xe3630b12u, 0x94643b84u,
	0x0d6d6a3eu, 0x7a6a5aa8u, 0xe40ecf0bu, 0x9309ff9du, 0x0a00ae27u, 0x7d079eb1u,
	0xf00f9344u, 0x8708a3d2u, 0x1e01f268u, 0x6906c2feu, 0xf762575du, 0x806567cbu,
	0x196c3671u, 0x6e6b06e7u, 0xfed41b76u, 0x89d32be0u, 0x10da7a5au, 0x67dd4accu,
	0xf9b9df6fu, 0x8ebeeff9u, 0x17b7be43u, 0x60b08ed5u, 0xd6d6a3e8u, 0xa1d1937eu,
	0x38d8c2c4u, 0x4fdff252u, 0xd1bb67f1u, 0xa6bc5767u, 0x3fb506ddu, 0x48b2364bu,
	0xd80d2bdau, 0xaf0a1b4cu, 0x36034af6u, 0x41047a60u, 0xdf60efc3u, 0xa867df55u,
	0x316e8eefu, 0x4669be79u, 0xcb61b38cu, 0xbc66831au, 0x256fd2a0u, 0x5268e236u,
	0xcc0c7795u, 0xbb0b4703u, 0x220216b9u, 0x5505262fu, 0xc5ba3bbeu, 0xb2bd0b28u,
	0x2bb45a92u, 0x5cb36a04u, 0xc2d7ffa7u, 0xb5d0cf31u, 0x2cd99e8bu, 0x5bdeae1du,
	0x9b64c2b0u, 0xec63f226u, 0x756aa39cu, 0x026d930au, 0x9c0906a9u, 0xeb0e363fu,
	0x72076785u, 0x05005713u, 0x95bf4a82u, 0xe2b87a14u, 0x7bb12baeu, 0x0cb61b38u,
	0x92d28e9bu, 0xe5d5be0du, 0x7cdcefb7u, 0x0bdbdf21u, 0x86d3d2d4u, 0xf1d4e242u,
	0x68ddb3f8u, 0x1fda836eu, 0x81be16cdu, 0xf6b9265bu, 0x6fb077e1u, 0x18b74777u,
	0x88085ae6u, 0xff0f6a70u, 0x66063bcau, 0x11010b5cu, 0x8f659effu, 0xf862ae69u,
	0x616bffd3u, 0x166ccf45u, 0xa00ae278u, 0xd70dd2eeu, 0x4e048354u, 0x3903b3c2u,
	0xa7672661u, 0xd06016f7u, 0x4969474du, 0x3e6e77dbu, 0xaed16a4au, 0xd9d65adcu,
	0x40df0b66u, 0x37d83bf0u, 0xa9bcae53u, 0xdebb9ec5u, 0x47b2cf7fu, 0x30b5ffe9u,
	0xbdbdf21cu, 0xcabac28au, 0x53b39330u, 0x24b4a3a6u, 0xbad03605u, 0xcdd70693u,
	0x54de5729u, 0x23d967bfu, 0xb3667a2eu, 0xc4614ab8u, 0x5d681b02u, 0x2a6f2b94u,
	0xb40bbe37u, 0xc30c8ea1u, 0x5a05df1bu, 0x2d02ef8du,
};

/* Slicing by eight: crc8[k][b] is the CRC of byte b followed by k zero
 * bytes, so eight input bytes cost eight independent table loads instead
 * of a chain of eight (4.5 times as fast here, on a kernel's changelog,
 * which every gzip member's bytes pass through twice at the apply). */
static uint32_t crc8[8][256];
static pthread_once_t crc8_once = PTHREAD_ONCE_INIT;

static void crc8_make(void)
{
	unsigned i, k;

	for (i = 0; i < 256; i++)
		crc8[0][i] = crc_table[i];
	for (k = 1; k < 8; k++)
		for (i = 0; i < 256; i++)
			crc8[k][i] = (crc8[k - 1][i] >> 8) ^ crc_table[crc8[k - 1][i] & 0xFF];
}

uint32_t patch_crc32(uint32_t crc, const uint8_t *p, size_t n)
{
	(void)pthread_once(&crc8_once, crc8_make);
	crc = ~crc;
	for (; n >= 8; n -= 8, p += 8) {
		uint32_t lo = crc ^ si_le32(p), hi = si_le32(p + 4);

		crc = crc8[7][lo & 0xFF] ^ crc8[6][(lo >> 8) & 0xFF] ^ crc8[5][(lo >> 16) & 0xFF] ^
		      crc8[4][lo >> 24] ^ crc8[3][hi & 0xFF] ^ crc8[2][(hi >> 8) & 0xFF] ^
		      crc8[1][(hi >> 16) & 0xFF] ^ crc8[0][hi >> 24];
	}
	while (n--)
		crc = crc_table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
	return ~crc;
}

/* ------------------------------------------------------------ the tables */
static const uint8_t extra_lbits[29] = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
					 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0 };
static const uint8_t extra_dbits[30] = { 0, 0, 0, 0, 1, 1, 2, 2, 3,  3,  4,  4,  5,  5,  6,
					 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13 };
static const uint8_t extra_blbits[19] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					  0, 0, 0, 0, 0, 0, 2, 3, 7 };
static const uint8_t bl_order[19] = { 16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
				      11, 4,  12, 3, 13, 2, 14, 1, 15 };
static const uint16_t len_base[29] = { 3,  4,  5,  6,  7,  8,  9,  10,  11,  13,
				       15, 17, 19, 23, 27, 31, 35, 43,  51,  59,
				       67, 83, 99, 115, 131, 163, 195, 227, 258 };
static const uint16_t dist_base[30] = { 1,    2,    3,    4,    5,    7,     9,     13,
					17,   25,   33,   49,   65,   97,    129,   193,
					257,  385,  513,  769,  1025, 1537,  2049,  3073,
					4097, 6145, 8193, 12289, 16385, 24577 };

#define WSIZE 32768u
#define WMASK (WSIZE - 1)
#define HASH_BITS 15
#define HASH_SIZE (1u << HASH_BITS)
#define HASH_MASK (HASH_SIZE - 1)
#define H_SHIFT 5
#define MIN_MATCH 3
#define MAX_MATCH 258
#define MIN_LOOKAHEAD (MAX_MATCH + MIN_MATCH + 1)
#define MAX_DIST (WSIZE - MIN_LOOKAHEAD)
#define TOO_FAR 4096
#define LIT_BUFSIZE 0x8000u
#define DIST_BUFSIZE 0x8000u
#define L_CODES 286
#define D_CODES 30
#define BL_CODES 19
#define HEAP_SIZE (2 * L_CODES + 1)
#define MAX_BITS 15
#define MAX_BL_BITS 7
#define END_BLOCK 256
#define REP_3_6 16
#define REPZ_3_10 17
#define REPZ_11_138 18
/* level 9 */
#define GOOD_MATCH 32
#define MAX_LAZY 258
#define NICE_MATCH 258
#define MAX_CHAIN 4096


static uint16_t bi_reverse(unsigned code, int len)
{
	unsigned res = 0;

	do {
		res |= code & 1;
		code >>= 1;
		res <<= 1;
	} while (--len > 0);
	return (uint16_t)(res >> 1);
}

static void gen_codes(struct gz_ct *tree, int max_code, const uint16_t *bl_count)
{
	uint16_t next_code[MAX_BITS + 1];
	unsigned code = 0;
	int bits, n;

	for (bits = 1; bits <= MAX_BITS; bits++) {
		code = (code + bl_count[bits - 1]) << 1;
		next_code[bits] = (uint16_t)code;
	}
	for (n = 0; n <= max_code; n++) {
		int len = tree[n].len;

		if (len == 0)
			continue;
		tree[n].code = bi_reverse(next_code[len]++, len);
	}
}

/* The code tables (the same for every run; kept in the state so that the
 * library has no mutable globals). */
static void tables_init(struct gz_tables *t)
{
	uint16_t bl_count[MAX_BITS + 1];
	int n, code, length = 0, dist = 0;
	uint8_t *length_code = t->length_code, *dist_code = t->dist_code;
	uint16_t *base_length = t->base_length, *base_dist = t->base_dist;
	struct gz_ct *static_ltree = t->static_ltree, *static_dtree = t->static_dtree;

	for (code = 0; code < 28; code++) {
		base_length[code] = (uint16_t)length;
		for (n = 0; n < (1 << extra_lbits[code]); n++)
			length_code[length++] = (uint8_t)code;
	}
	/* length 258 (255 after MIN_MATCH) uses code 28, not code 27 */
	length_code[length - 1] = (uint8_t)code;
	for (code = 0; code < 16; code++) {
		base_dist[code] = (uint16_t)dist;
		for (n = 0; n < (1 << extra_dbits[code]); n++)
			dist_code[dist++] = (uint8_t)code;
	}
	dist >>= 7;
	for (; code < D_CODES; code++) {
		base_dist[code] = (uint16_t)(dist << 7);
		for (n = 0; n < (1 << (extra_dbits[code] - 7)); n++)
			dist_code[256 + dist++] = (uint8_t)code;
	}
	memset(bl_count, 0, sizeof bl_count);
	for (n = 0; n <= 143; n++)
		static_ltree[n].len = 8;
	for (; n <= 255; n++)
		static_ltree[n].len = 9;
	for (; n <= 279; n++)
		static_ltree[n].len = 7;
	for (; n <= 287; n++)
		static_ltree[n].len = 8;
	bl_count[7] = 24;
	bl_count[8] = 152;
	bl_count[9] = 112;
	gen_codes(static_ltree, L_CODES + 1, bl_count);
	for (n = 0; n < D_CODES; n++) {
		static_dtree[n].len = 5;
		static_dtree[n].code = bi_reverse((unsigned)n, 5);
	}
}

static unsigned d_code(const struct gz_tables *t, unsigned dist)
{
	return dist < 256 ? t->dist_code[dist] : t->dist_code[256 + (dist >> 7)];
}

static void gz_io_init(struct gz_io *io, patch_read_fn read, void *rctx, uint64_t in_base,
		       uint64_t in_len, patch_write_fn write, void *wctx)
{
	io->read = read;
	io->rctx = rctx;
	io->write = write;
	io->wctx = wctx;
	io->in_base = in_base;
	io->in_len = in_len;
	io->in_off = 0;
}

/* ----------------------------------------------------------- bit output */
static int out_flush(struct patch_gzenc *z)
{
	if (z->err == 0 && z->obuf_n) {
		int r = z->io.write(z->io.wctx, z->out_total, z->obuf, z->obuf_n);

		if (r)
			z->err = r;
		z->out_total += z->obuf_n;
	}
	z->obuf_n = 0;
	return z->err;
}

static void put_byte(struct patch_gzenc *z, uint8_t b)
{
	z->obuf[z->obuf_n++] = b;
	if (z->obuf_n == sizeof z->obuf)
		out_flush(z);
}

/* Bits out, low first, four bytes at a time once 32 are pending (a code
 * and its extra bits are at most 16, so at most 47 are). */
static void send_bits(struct patch_gzenc *z, unsigned value, int length)
{
	z->bi_buf |= (uint64_t)value << z->bi_valid;
	z->bi_valid += length;
	if (z->bi_valid < 32)
		return;
	if (z->obuf_n + 4 < sizeof z->obuf) {
		si_put_le32(z->obuf + z->obuf_n, (uint32_t)z->bi_buf);
		z->obuf_n += 4;
	} else {
		put_byte(z, (uint8_t)z->bi_buf);
		put_byte(z, (uint8_t)(z->bi_buf >> 8));
		put_byte(z, (uint8_t)(z->bi_buf >> 16));
		put_byte(z, (uint8_t)(z->bi_buf >> 24));
	}
	z->bi_buf >>= 32;
	z->bi_valid -= 32;
}

/* The pending bits out, the last byte padded with zeros. */
static void bi_windup(struct patch_gzenc *z)
{
	while (z->bi_valid > 0) {
		put_byte(z, (uint8_t)z->bi_buf);
		z->bi_buf >>= 8;
		z->bi_valid -= 8;
	}
	z->bi_buf = 0;
	z->bi_valid = 0;
}

#define send_code(z, c, tree) send_bits(z, (tree)[c].code, (tree)[c].len)

/* ------------------------------------------------------------ the trees */
static void init_block(struct patch_gzenc *z)
{
	int n;

	for (n = 0; n < L_CODES; n++)
		z->dyn_ltree[n].freq = 0;
	for (n = 0; n < D_CODES; n++)
		z->dyn_dtree[n].freq = 0;
	for (n = 0; n < BL_CODES; n++)
		z->bl_tree[n].freq = 0;
	z->dyn_ltree[END_BLOCK].freq = 1;
	z->opt_len = z->static_len = 0;
	z->last_lit = z->last_dist = z->last_flags = 0;
	z->flags = 0;
	z->flag_bit = 1;
}

#define SMALLEST 1
static int smaller(const struct patch_gzenc *z, const struct gz_ct *tree, int n, int m)
{
	return tree[n].freq < tree[m].freq ||
	       (tree[n].freq == tree[m].freq && z->depth[n] <= z->depth[m]);
}

static void pqdownheap(struct patch_gzenc *z, const struct gz_ct *tree, int k)
{
	int v = z->heap[k], j = k << 1;

	while (j <= z->heap_len) {
		if (j < z->heap_len && smaller(z, tree, z->heap[j + 1], z->heap[j]))
			j++;
		if (smaller(z, tree, v, z->heap[j]))
			break;
		z->heap[k] = z->heap[j];
		k = j;
		j <<= 1;
	}
	z->heap[k] = v;
}

struct tree_desc {
	struct gz_ct *dyn;
	const struct gz_ct *stat;
	const uint8_t *extra;
	int extra_base, elems, max_length;
	int *max_code;
};

static void gen_bitlen(struct patch_gzenc *z, const struct tree_desc *desc)
{
	struct gz_ct *tree = desc->dyn;
	int max_code = *desc->max_code, h, n, m, bits, xbits, overflow = 0;

	for (bits = 0; bits <= MAX_BITS; bits++)
		z->bl_count[bits] = 0;
	tree[z->heap[z->heap_max]].len = 0; /* the root */
	for (h = z->heap_max + 1; h < HEAP_SIZE; h++) {
		n = z->heap[h];
		bits = tree[tree[n].dad].len + 1;
		if (bits > desc->max_length) {
			bits = desc->max_length;
			overflow++;
		}
		tree[n].len = (uint16_t)bits;
		if (n > max_code)
			continue; /* not a leaf */
		z->bl_count[bits]++;
		xbits = n >= desc->extra_base ? desc->extra[n - desc->extra_base] : 0;
		z->opt_len += (uint64_t)tree[n].freq * (unsigned)(bits + xbits);
		if (desc->stat)
			z->static_len += (uint64_t)tree[n].freq * (unsigned)(desc->stat[n].len + xbits);
	}
	if (overflow == 0)
		return;
	/* Too long codes: move leaves up one level at a time (the overflow
	 * repair every deflate uses), then give the lengths out again in
	 * frequency order. */
	do {
		bits = desc->max_length - 1;
		while (z->bl_count[bits] == 0)
			bits--;
		z->bl_count[bits]--;
		z->bl_count[bits + 1] += 2;
		z->bl_count[desc->max_length]--;
		overflow -= 2;
	} while (overflow > 0);
	for (bits = desc->max_length; bits != 0; bits--) {
		n = z->bl_count[bits];
		while (n != 0) {
			m = z->heap[--h];
			if (m > max_code)
				continue;
			if (tree[m].len != (unsigned)bits) {
				z->opt_len += (uint64_t)((int64_t)bits - tree[m].len) * tree[m].freq;
				tree[m].len = (uint16_t)bits;
			}
			n--;
		}
	}
}

static void build_tree(struct patch_gzenc *z, const struct tree_desc *desc)
{
	struct gz_ct *tree = desc->dyn;
	int elems = desc->elems, n, m, max_code = -1, node = elems;

	z->heap_len = 0;
	z->heap_max = HEAP_SIZE;
	for (n = 0; n < elems; n++) {
		if (tree[n].freq != 0) {
			z->heap[++z->heap_len] = max_code = n;
			z->depth[n] = 0;
		} else {
			tree[n].len = 0;
		}
	}
	/* at least two codes of non-zero frequency */
	while (z->heap_len < 2) {
		int nw = z->heap[++z->heap_len] = (max_code < 2 ? ++max_code : 0);

		tree[nw].freq = 1;
		z->depth[nw] = 0;
		z->opt_len--;
		if (desc->stat)
			z->static_len -= desc->stat[nw].len;
	}
	*desc->max_code = max_code;
	for (n = z->heap_len / 2; n >= 1; n--)
		pqdownheap(z, tree, n);
	do {
		n = z->heap[SMALLEST];
		z->heap[SMALLEST] = z->heap[z->heap_len--];
		pqdownheap(z, tree, SMALLEST);
		m = z->heap[SMALLEST];
		z->heap[--z->heap_max] = n;
		z->heap[--z->heap_max] = m;
		tree[node].freq = (uint16_t)(tree[n].freq + tree[m].freq);
		z->depth[node] = (uint8_t)((z->depth[n] >= z->depth[m] ? z->depth[n] : z->depth[m]) + 1);
		tree[n].dad = tree[m].dad = (uint16_t)node;
		z->heap[SMALLEST] = node++;
		pqdownheap(z, tree, SMALLEST);
	} while (z->heap_len >= 2);
	z->heap[--z->heap_max] = z->heap[SMALLEST];
	gen_bitlen(z, desc);
	gen_codes(tree, max_code, z->bl_count);
}

/* A code-length table's run-length coding (RFC 1951 3.2.7): with send == 0
 * it counts the codes into bl_tree's frequencies (and sets the guard past
 * max_code), with send == 1 it writes them with bl_tree's codes; one walk
 * so that counting and sending cannot disagree. */
static void walk_tree(struct patch_gzenc *z, struct gz_ct *tree, int max_code, int send)
{
	int n, prevlen = -1, curlen, nextlen = tree[0].len, count = 0, max_count = 7, min_count = 4;

	if (nextlen == 0) {
		max_count = 138;
		min_count = 3;
	}
	if (!send)
		tree[max_code + 1].len = 0xffff; /* guard */
	for (n = 0; n <= max_code; n++) {
		unsigned sym, extra, xbits;

		curlen = nextlen;
		nextlen = tree[n + 1].len;
		if (++count < max_count && curlen == nextlen)
			continue;
		if (count < min_count) {
			if (send) {
				do
					send_code(z, curlen, z->bl_tree);
				while (--count != 0);
			} else {
				z->bl_tree[curlen].freq = (uint16_t)(z->bl_tree[curlen].freq + count);
			}
			goto next;
		}
		if (curlen != 0) {
			if (curlen != prevlen) {
				if (send)
					send_code(z, curlen, z->bl_tree);
				else
					z->bl_tree[curlen].freq++;
				count--;
			}
			sym = REP_3_6, extra = (unsigned)count - 3, xbits = 2;
		} else if (count <= 10) {
			sym = REPZ_3_10, extra = (unsigned)count - 3, xbits = 3;
		} else {
			sym = REPZ_11_138, extra = (unsigned)count - 11, xbits = 7;
		}
		if (send) {
			send_code(z, sym, z->bl_tree);
			send_bits(z, extra, (int)xbits);
		} else {
			z->bl_tree[sym].freq++;
		}
next:
		count = 0;
		prevlen = curlen;
		if (nextlen == 0) {
			max_count = 138;
			min_count = 3;
		} else if (curlen == nextlen) {
			max_count = 6;
			min_count = 3;
		} else {
			max_count = 7;
			min_count = 4;
		}
	}
}

static void compress_block(struct patch_gzenc *z, const struct gz_ct *ltree,
			   const struct gz_ct *dtree)
{
	unsigned lx = 0, dx = 0, fx = 0, flag = 0;

	if (z->last_lit != 0)
		do {
			unsigned lc, code, dist;
			int extra;

			if ((lx & 7) == 0)
				flag = z->flag_buf[fx++];
			lc = z->l_buf[lx++];
			if ((flag & 1) == 0) {
				send_code(z, lc, ltree);
			} else {
				code = z->t.length_code[lc];
				send_code(z, code + 256 + 1, ltree);
				extra = extra_lbits[code];
				if (extra != 0)
					send_bits(z, lc - z->t.base_length[code], extra);
				dist = z->d_buf[dx++];
				code = d_code(&z->t, dist);
				send_code(z, code, dtree);
				extra = extra_dbits[code];
				if (extra != 0)
					send_bits(z, dist - z->t.base_dist[code], extra);
			}
			flag >>= 1;
		} while (lx < z->last_lit);
	send_code(z, END_BLOCK, ltree);
}

static void flush_block(struct patch_gzenc *z, int have_buf, uint64_t stored_len, int eof)
{
	struct tree_desc l_desc = { z->dyn_ltree, z->t.static_ltree, extra_lbits, 257, L_CODES,
				    MAX_BITS, &z->l_max_code };
	struct tree_desc d_desc = { z->dyn_dtree, z->t.static_dtree, extra_dbits, 0, D_CODES,
				    MAX_BITS, &z->d_max_code };
	struct tree_desc bl_desc = { z->bl_tree, NULL, extra_blbits, 0, BL_CODES, MAX_BL_BITS,
				     &z->bl_max_code };
	uint64_t opt_lenb, static_lenb;
	int max_blindex;

	z->flag_buf[z->last_flags] = z->flags;
	build_tree(z, &l_desc);
	build_tree(z, &d_desc);
	walk_tree(z, z->dyn_ltree, z->l_max_code, 0);
	walk_tree(z, z->dyn_dtree, z->d_max_code, 0);
	build_tree(z, &bl_desc);
	for (max_blindex = BL_CODES - 1; max_blindex >= 3; max_blindex--)
		if (z->bl_tree[bl_order[max_blindex]].len != 0)
			break;
	z->opt_len += 3 * ((uint64_t)max_blindex + 1) + 5 + 5 + 4;
	opt_lenb = (z->opt_len + 3 + 7) >> 3;
	static_lenb = (z->static_len + 3 + 7) >> 3;
	if (static_lenb <= opt_lenb)
		opt_lenb = static_lenb;
	/* (gzip's whole-file "stored" method, only possible for a seekable
	 * output and a single incompressible block, is not made: such a
	 * member does not reproduce and is diffed raw) */
	if (stored_len + 4 <= opt_lenb && have_buf) {
		const uint8_t *buf = z->window + (size_t)z->block_start;
		uint64_t k;

		send_bits(z, (0u << 1) + (unsigned)eof, 3);
		bi_windup(z);
		put_byte(z, (uint8_t)stored_len);
		put_byte(z, (uint8_t)(stored_len >> 8));
		put_byte(z, (uint8_t)~stored_len);
		put_byte(z, (uint8_t)(~stored_len >> 8));
		for (k = 0; k < stored_len; k++)
			put_byte(z, buf[k]);
	} else if (static_lenb == opt_lenb) {
		send_bits(z, (1u << 1) + (unsigned)eof, 3);
		compress_block(z, z->t.static_ltree, z->t.static_dtree);
	} else {
		int lcodes = z->l_max_code + 1, dcodes = z->d_max_code + 1, blcodes = max_blindex + 1, rank;

		send_bits(z, (2u << 1) + (unsigned)eof, 3);
		send_bits(z, (unsigned)(lcodes - 257), 5);
		send_bits(z, (unsigned)(dcodes - 1), 5);
		send_bits(z, (unsigned)(blcodes - 4), 4);
		for (rank = 0; rank < blcodes; rank++)
			send_bits(z, z->bl_tree[bl_order[rank]].len, 3);
		walk_tree(z, z->dyn_ltree, lcodes - 1, 1);
		walk_tree(z, z->dyn_dtree, dcodes - 1, 1);
		compress_block(z, z->dyn_ltree, z->dyn_dtree);
	}
	init_block(z);
	if (eof)
		bi_windup(z);
}

/* Returns 1 when the block should end here. */
static int ct_tally(struct patch_gzenc *z, unsigned dist, unsigned lc)
{
	z->l_buf[z->last_lit++] = (uint8_t)lc;
	if (dist == 0) {
		z->dyn_ltree[lc].freq++;
	} else {
		dist--;
		z->dyn_ltree[z->t.length_code[lc] + 256 + 1].freq++;
		z->dyn_dtree[d_code(&z->t, dist)].freq++;
		z->d_buf[z->last_dist++] = (uint16_t)dist;
		z->flags |= z->flag_bit;
	}
	z->flag_bit = (uint8_t)(z->flag_bit << 1);
	if ((z->last_lit & 7) == 0) {
		z->flag_buf[z->last_flags++] = z->flags;
		z->flags = 0;
		z->flag_bit = 1;
	}
	if ((z->last_lit & 0xfff) == 0) {
		uint64_t out_length = (uint64_t)z->last_lit * 8, in_length = (uint64_t)((int64_t)z->strstart - z->block_start);
		int dcode;

		for (dcode = 0; dcode < D_CODES; dcode++)
			out_length += (uint64_t)z->dyn_dtree[dcode].freq * (5u + extra_dbits[dcode]);
		out_length >>= 3;
		if (z->last_dist < z->last_lit / 2 && out_length < in_length / 2)
			return 1;
	}
	return z->last_lit == LIT_BUFSIZE - 1 || z->last_dist == DIST_BUFSIZE;
}

static void flush_block_here(struct patch_gzenc *z, int eof)
{
	flush_block(z, z->block_start >= 0, (uint64_t)((int64_t)z->strstart - z->block_start), eof);
	z->block_start = (int64_t)z->strstart;
}

/* ----------------------------------------------------------- the parser */
static unsigned read_input(struct patch_gzenc *z, uint8_t *dst, unsigned want)
{
	uint64_t left = z->io.in_len - z->io.in_off;
	unsigned n = left < want ? (unsigned)left : want;
	int r;

	if (n == 0 || z->err)
		return 0;
	r = z->io.read(z->io.rctx, z->io.in_base + z->io.in_off, dst, n);
	if (r) {
		z->err = r;
		return 0;
	}
	z->crc = patch_crc32(z->crc, dst, n);
	z->io.in_off += n;
	return n;
}

static void fill_window(struct patch_gzenc *z)
{
	unsigned more = (unsigned)(2 * WSIZE - z->lookahead - z->strstart), n, m;

	if (z->strstart >= WSIZE + MAX_DIST) {
		memcpy(z->window, z->window + WSIZE, WSIZE);
		z->match_start -= WSIZE;
		z->strstart -= WSIZE;
		z->block_start -= (int64_t)WSIZE;
		z->slid += WSIZE;
		for (n = 0; n < HASH_SIZE; n++) {
			m = z->head[n];
			z->head[n] = (uint16_t)(m >= WSIZE ? m - WSIZE : 0);
		}
		for (n = 0; n < WSIZE; n++) {
			m = z->prev[n];
			z->prev[n] = (uint16_t)(m >= WSIZE ? m - WSIZE : 0);
		}
		more += WSIZE;
	}
	if (!z->eofile) {
		n = read_input(z, z->window + z->strstart + z->lookahead, more);
		if (n == 0) {
			z->eofile = 1;
			/* the two bytes past the end hash as zeros */
			memset(z->window + z->strstart + z->lookahead, 0, MIN_MATCH - 1);
		} else {
			z->lookahead += n;
		}
	}
}

#define UPDATE_HASH(h, c) (h = (((h) << H_SHIFT) ^ (c)) & HASH_MASK)

static unsigned insert_string(struct patch_gzenc *z, unsigned s)
{
	unsigned head;

	UPDATE_HASH(z->ins_h, z->window[s + MIN_MATCH - 1]);
	head = z->head[z->ins_h];
	z->prev[s & WMASK] = (uint16_t)head;
	z->head[z->ins_h] = (uint16_t)s;
	return head;
}

static unsigned longest_match(struct patch_gzenc *z, unsigned cur_match)
{
	unsigned chain_length = MAX_CHAIN;
	const uint8_t *scan = z->window + z->strstart;
	int best_len = (int)z->prev_length; /* >= MIN_MATCH - 1 */
	unsigned limit = z->strstart > MAX_DIST ? z->strstart - MAX_DIST : 0;
	uint16_t scan_start, scan_end, m_start, m_end;

	if (z->prev_length >= GOOD_MATCH)
		chain_length >>= 2;
	/* A link can only be longer than best_len when its bytes at best_len - 1
	 * and best_len, and its first two, equal the scan's: the same four
	 * bytes gzip compares, as two 16-bit loads (the walk of the chain is
	 * most of gzip -9's time). */
	memcpy(&scan_start, scan, 2);
	memcpy(&scan_end, scan + best_len - 1, 2);
	do {
		const uint8_t *match = z->window + cur_match;
		int len;

		memcpy(&m_end, match + best_len - 1, 2);
		memcpy(&m_start, match, 2);
		if (m_end != scan_end || m_start != scan_start)
			continue;
		/* scan[2] == match[2] follows from the hash of 3 bytes and is
		 * not compared; the rest is, up to MAX_MATCH, eight bytes at a
		 * time (the window has room: the scan never starts within 262
		 * bytes of its end) */
		len = 3;
		while (len + 8 <= MAX_MATCH) {
			uint64_t a, b;

			memcpy(&a, scan + len, 8);
			memcpy(&b, match + len, 8);
			if (a != b) {
				len += __builtin_ctzll(a ^ b) >> 3;
				goto measured;
			}
			len += 8;
		}
		while (len < MAX_MATCH && scan[len] == match[len])
			len++;
measured:
		if (len > best_len) {
			z->match_start = cur_match;
			best_len = len;
			if (len >= NICE_MATCH)
				break;
			memcpy(&scan_end, scan + best_len - 1, 2);
		}
	} while ((cur_match = z->prev[cur_match & WMASK]) > limit && --chain_length != 0);
	return (unsigned)best_len;
}

/* ------------------------------------------------------------ the reuse */
static int ru_fail(struct patch_gzenc *z, const char *field)
{
	z->field = field;
	z->f_vals = 0;
	z->err = SI_E_PATCH_EXPAND;
	return z->err;
}

/* A refusal with the value the list should have had and the one it has. */
static int ru_failv(struct patch_gzenc *z, const char *field, uint64_t expected, uint64_t found)
{
	ru_fail(z, field);
	z->f_vals = 1;
	z->f_exp = expected;
	z->f_got = found;
	return z->err;
}

/* a + b, or UINT64_MAX when that does not fit (a value to report) */
static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

/* The next record, checked: in order on both sides, inside both members,
 * at least one byte; none left: ru_len 0. */
static int ru_next(struct patch_gzenc *z)
{
	const struct gz_reuse *ru = z->ru;
	uint8_t rec[GZ_REUSE_REC];
	int r;

	z->ru_len = 0;
	if (z->ru_rec * GZ_REUSE_REC >= ru->list_len)
		return 0;
	r = ru->read(ru->rctx, ru->list_base + z->ru_rec * GZ_REUSE_REC, rec, GZ_REUSE_REC);
	if (r) {
		z->err = r;
		return r;
	}
	z->ru_rec++;
	z->ru_new = si_le64(rec);
	z->ru_old = si_le64(rec + 8);
	z->ru_len = si_le64(rec + 16);
	if (z->ru_len == 0)
		return ru_failv(z, "exp.reuse.record", 1, 0);
	if (z->ru_new < z->ru_end_new)
		return ru_failv(z, "exp.reuse.record", z->ru_end_new, z->ru_new);
	if (z->ru_old < z->ru_end_old)
		return ru_failv(z, "exp.reuse.record", z->ru_end_old, z->ru_old);
	if (!si_span_ok(z->ru_new, z->ru_len, z->io.in_len))
		return ru_failv(z, "exp.reuse.record", z->io.in_len, sat_add(z->ru_new, z->ru_len));
	if (!si_span_ok(z->ru_old, z->ru_len, ru->old_len))
		return ru_failv(z, "exp.reuse.record", ru->old_len, sat_add(z->ru_old, z->ru_len));
	z->ru_end_new = z->ru_new + z->ru_len;
	z->ru_end_old = z->ru_old + z->ru_len;
	return 0;
}

/* The old member's next token. */
static int tok_get(struct patch_gzenc *z, uint32_t *t)
{
	const struct gz_reuse *ru = z->ru;

	if (z->tb_pos == z->tb_len) {
		uint64_t left = (ru->tok_count - z->tok_i) * GZ_TOK_LEN;
		size_t n = left < sizeof z->tbuf ? (size_t)left : sizeof z->tbuf;
		int r;

		if (n == 0)
			return ru_failv(z, "exp.reuse.tokens", z->tok_i + 1, ru->tok_count);
		r = ru->read(ru->rctx, ru->tok_base + z->tok_i * GZ_TOK_LEN, z->tbuf, n);
		if (r) {
			z->err = r;
			return r;
		}
		z->tb_pos = 0;
		z->tb_len = n;
	}
	*t = si_le32(z->tbuf + z->tb_pos);
	z->tb_pos += GZ_TOK_LEN;
	z->tok_i++;
	return 0;
}

/* A span's position s entered in the hash chains, as the search would,
 * unless it is more than WSIZE before the span's end: then only its hash
 * is rolled (the chains' loads and stores were 40 % of the replay).  No
 * search can tell: every search after the span is at a position t >= the
 * end and looks only at positions above t - MAX_DIST, above end - WSIZE.
 * Where the search would find such a position p as a chain's head or
 * link, this state holds an older one (the chains only ever hold earlier
 * positions, and a slide keeps their order), so both stop there: a head
 * too far to search, a link at or below the limit.  A slot of prev that p
 * would have written is read only from a position entered later at the
 * same slot, which wrote it, or from one before the span, never reached. */
static void ru_insert(struct patch_gzenc *z, unsigned s)
{
	if (z->slid + s + WSIZE < z->ru_end_new)
		UPDATE_HASH(z->ins_h, z->window[s + MIN_MATCH - 1]);
	else
		insert_string(z, s);
}

/* The search loop's step past one position (hashed) to the next, the
 * window filled as its loop fills it. */
static void ru_step(struct patch_gzenc *z)
{
	ru_insert(z, z->strstart);
	z->strstart++;
	z->lookahead--;
	while (z->lookahead < MIN_LOOKAHEAD && !z->eofile && z->err == 0)
		fill_window(z);
}

/* Codes the record's span with the old member's symbols, doing what the
 * search would have done around them: every position hashed in order,
 * the window filled where the lazy loop fills it (after a position
 * alone, and after a match's first position and its end), the blocks
 * ended where they tally.  Entered with no symbol pending (after a match,
 * or at the start); it must end on a match, which leaves none pending. */
static int ru_replay(struct patch_gzenc *z)
{
	uint64_t end = z->ru_end_new;
	uint32_t t = 0;
	int flush;

	while (z->tok_pos < z->ru_old) {
		if (tok_get(z, &t))
			return z->err;
		z->tok_pos += GZ_TOK_IS_MATCH(t) ? GZ_TOK_MLEN(t) : 1;
	}
	if (z->tok_pos != z->ru_old) /* inside a symbol: the next one starts at tok_pos */
		return ru_failv(z, "exp.reuse.old_off", z->tok_pos, z->ru_old);
	while (z->slid + z->strstart < end) {
		uint64_t at = z->slid + z->strstart;

		if (tok_get(z, &t))
			return z->err;
		if (!GZ_TOK_IS_MATCH(t)) {
			ru_step(z);
			if (ct_tally(z, 0, z->window[z->strstart - 1]))
				flush_block_here(z, 0);
			z->tok_pos++;
		} else {
			unsigned dist = GZ_TOK_DIST(t), len = GZ_TOK_MLEN(t), k;

			if (dist > WSIZE || dist > at)
				return ru_failv(z, "exp.reuse.distance", at < WSIZE ? at : WSIZE,
						dist);
			if (len > z->lookahead || at + len > end)
				return ru_failv(z, "exp.reuse.length",
						end - at < z->lookahead ? end - at : z->lookahead,
						len);
			ru_step(z);
			ru_insert(z, z->strstart);
			flush = ct_tally(z, dist, len - MIN_MATCH);
			z->lookahead -= len - 1;
			for (k = 2; k < len; k++) {
				z->strstart++;
				ru_insert(z, z->strstart);
			}
			z->strstart++;
			if (flush)
				flush_block_here(z, 0);
			while (z->lookahead < MIN_LOOKAHEAD && !z->eofile && z->err == 0)
				fill_window(z);
			z->tok_pos += len;
		}
		if (z->err)
			return z->err;
	}
	if (!GZ_TOK_IS_MATCH(t))
		return ru_fail(z, "exp.reuse.end");
	return ru_next(z);
}

int patch_gzenc_run(struct patch_gzenc *z, patch_read_fn read, void *rctx, uint64_t in_base,
		    uint64_t in_len, patch_write_fn write, void *wctx, const struct gz_reuse *ru,
		    uint32_t *crc)
{
	unsigned hash_head, prev_match, match_length = MIN_MATCH - 1, j;
	int match_available = 0;

	tables_init(&z->t);
	memset(z->window, 0, sizeof z->window);
	memset(z->head, 0, sizeof z->head);
	memset(z->prev, 0, sizeof z->prev);
	gz_io_init(&z->io, read, rctx, in_base, in_len, write, wctx);
	z->crc = 0;
	z->err = 0;
	z->obuf_n = 0;
	z->out_total = 0;
	z->bi_buf = 0;
	z->bi_valid = 0;
	z->strstart = 0;
	z->block_start = 0;
	z->match_start = 0;
	z->prev_length = 0;
	z->eofile = 0;
	z->slid = 0;
	z->field = NULL;
	z->f_vals = 0;
	z->ru = ru;
	z->ru_rec = z->ru_len = z->ru_end_new = z->ru_end_old = 0;
	z->tok_i = z->tok_pos = 0;
	z->tb_pos = z->tb_len = 0;
	init_block(z);
	if (ru && ru->list_len % GZ_REUSE_REC)
		return ru_failv(z, "exp.reuse.list_len", ru->list_len - ru->list_len % GZ_REUSE_REC,
				ru->list_len);
	if (ru && ru_next(z))
		return z->err;

	z->lookahead = read_input(z, z->window, 2 * WSIZE);
	if (z->lookahead == 0) {
		z->eofile = 1;
	} else {
		while (z->lookahead < MIN_LOOKAHEAD && !z->eofile)
			fill_window(z);
	}
	z->ins_h = 0;
	for (j = 0; j < MIN_MATCH - 1; j++)
		UPDATE_HASH(z->ins_h, z->window[j]);

	while (z->lookahead != 0 && z->err == 0) {
		if (z->ru_len && z->slid + z->strstart >= z->ru_new) {
			/* a span coded with the old symbols: it must start
			 * where nothing is pending */
			if (match_available || z->slid + z->strstart != z->ru_new) {
				/* found: the pending symbol's position, or the
				 * one the search had gone past it to */
				ru_failv(z, "exp.reuse.new_off", z->ru_new,
					 z->slid + z->strstart - (unsigned)match_available);
				break;
			}
			if (ru_replay(z))
				break;
			continue;
		}
		hash_head = insert_string(z, z->strstart);
		z->prev_length = match_length;
		prev_match = z->match_start;
		match_length = MIN_MATCH - 1;
		if (hash_head != 0 && z->prev_length < MAX_LAZY &&
		    z->strstart - hash_head <= MAX_DIST && z->strstart <= 2 * WSIZE - MIN_LOOKAHEAD) {
			match_length = longest_match(z, hash_head);
			if (match_length > z->lookahead)
				match_length = z->lookahead;
			if (match_length == MIN_MATCH && z->strstart - z->match_start > TOO_FAR)
				match_length--;
		}
		if (z->prev_length >= MIN_MATCH && match_length <= z->prev_length) {
			int flush = ct_tally(z, z->strstart - 1 - prev_match, z->prev_length - MIN_MATCH);

			z->lookahead -= z->prev_length - 1;
			z->prev_length -= 2;
			do {
				z->strstart++;
				insert_string(z, z->strstart);
			} while (--z->prev_length != 0);
			match_available = 0;
			match_length = MIN_MATCH - 1;
			z->strstart++;
			if (flush)
				flush_block_here(z, 0);
		} else if (match_available) {
			if (ct_tally(z, 0, z->window[z->strstart - 1]))
				flush_block_here(z, 0);
			z->strstart++;
			z->lookahead--;
		} else {
			match_available = 1;
			z->strstart++;
			z->lookahead--;
		}
		while (z->lookahead < MIN_LOOKAHEAD && !z->eofile && z->err == 0)
			fill_window(z);
	}
	if (z->err)
		return z->err;
	if (match_available)
		ct_tally(z, 0, z->window[z->strstart - 1]);
	flush_block(z, z->block_start >= 0, (uint64_t)((int64_t)z->strstart - z->block_start), 1);
	out_flush(z);
	if (z->err)
		return z->err;
	if (z->io.in_off != in_len)
		return SI_E_PATCH_EXPAND;
	*crc = z->crc;
	return 0;
}

/* ---------------------------------------------------------------- inflate */
static int in_fill(struct patch_inflate *s)
{
	uint64_t left = s->io.in_len - s->io.in_off;
	size_t n = left < sizeof s->ibuf ? (size_t)left : sizeof s->ibuf;
	int r;

	if (n == 0)
		return SI_E_PATCH_EXPAND;
	r = s->io.read(s->io.rctx, s->io.in_base + s->io.in_off, s->ibuf, n);
	if (r)
		return r;
	s->io.in_off += n;
	s->ipos = 0;
	s->ilen = n;
	return 0;
}

static int need_bits(struct patch_inflate *s, unsigned n)
{
	while (s->bitcnt < n) {
		int r;

		if (s->ipos == s->ilen && (r = in_fill(s)))
			return r;
		s->bitbuf |= (uint64_t)s->ibuf[s->ipos++] << s->bitcnt;
		s->bitcnt += 8;
	}
	return 0;
}

static int get_bits(struct patch_inflate *s, unsigned n, unsigned *v)
{
	int r = need_bits(s, n);

	if (r)
		return r;
	*v = (unsigned)(s->bitbuf & (((uint64_t)1 << n) - 1));
	s->bitbuf >>= n;
	s->bitcnt -= n;
	return 0;
}

static int tok_flush(struct patch_inflate *s)
{
	struct gz_tokens *t = s->tok;
	int r = 0;

	if (s->tpos) {
		r = t->write(t->ctx, t->base + t->count * GZ_TOK_LEN, s->tbuf, s->tpos);
		t->count += s->tpos / GZ_TOK_LEN;
		s->tpos = 0;
	}
	return r;
}

/* The bytes made and not yet written, through the callback (their CRC
 * taken), then the last GZ_INF_WIN kept at the buffer's start for the
 * distances that reach back into them. */
static int inf_flush(struct patch_inflate *s)
{
	size_t n = s->opos - s->oflushed, keep;
	int r;

	if (n) {
		if (s->ps && s->ps->zlib)
			s->ps->adler = patch_adler32(s->ps->adler, s->ob + s->oflushed, n);
		else
			s->crc = patch_crc32(s->crc, s->ob + s->oflushed, n);
		r = s->io.write(s->io.wctx, s->out_base + s->out_total - n, s->ob + s->oflushed, n);
		if (r)
			return r;
	}
	keep = s->opos < GZ_INF_WIN ? s->opos : GZ_INF_WIN;
	memmove(s->ob, s->ob + s->opos - keep, keep);
	s->opos = s->oflushed = keep;
	return 0;
}

/* Room at opos for a match's bytes and a word copy's overrun. */
static int inf_room(struct patch_inflate *s)
{
	return s->opos > sizeof s->ob - GZ_INF_SLACK ? inf_flush(s) : 0;
}

/* One byte out (a stored block's); at most out_max in all. */
static int out_byte(struct patch_inflate *s, uint8_t b)
{
	int r;

	if (s->out_total == s->out_max)
		return SI_E_PATCH_EXPAND;
	if ((r = inf_room(s)))
		return r;
	s->ob[s->opos++] = b;
	s->out_total++;
	return 0;
}

/* The bit buffer filled to at least 56 bits with one load, when the input
 * buffer holds eight bytes more (else need_bits goes a byte at a time).
 * Bits above bitcnt are the next input bytes' own, so need_bits, which
 * ORs them in again, leaves them as they are. */
static inline void refill(struct patch_inflate *s)
{
	if (s->ilen - s->ipos >= 8) {
		s->bitbuf |= si_le64(s->ibuf + s->ipos) << s->bitcnt;
		s->ipos += (63 - s->bitcnt) >> 3;
		s->bitcnt |= 56;
	}
}

/* ------------------------------------------------ kind 3's parse, written */
static int ps_flush(struct gz_parse *p)
{
	int r = 0;

	if (p->pos) {
		r = p->write(p->ctx, p->base + p->len, p->buf, p->pos);
		p->len += p->pos;
		p->pos = 0;
	}
	return r;
}

static int ps_byte(struct gz_parse *p, unsigned b)
{
	if (p->len + p->pos >= p->max) {
		p->why = "dfl.parse_len";
		return SI_E_PATCH_EXPAND;
	}
	p->buf[p->pos++] = (uint8_t)b;
	return p->pos == sizeof p->buf ? ps_flush(p) : 0;
}

static int ps_leb(struct gz_parse *p, uint64_t v)
{
	int r;

	while (v >= 0x80) {
		if ((r = ps_byte(p, (unsigned)(v & 0x7f) | 0x80)))
			return r;
		v >>= 7;
	}
	return ps_byte(p, (unsigned)v);
}

/* The literals counted so far as their tokens. */
static int ps_lits(struct gz_parse *p)
{
	int r = 0;

	while (p->lits && r == 0) {
		unsigned n = p->lits < 64 ? p->lits : 64;

		r = ps_byte(p, n - 1);
		p->lits -= n;
	}
	return r;
}

static int ps_match(struct gz_parse *p, unsigned len, unsigned dist)
{
	int r = ps_lits(p);

	if (r == 0 && len <= 65)
		r = ps_byte(p, 0x40 + len - 3);
	else if (r == 0 && (r = ps_byte(p, 0x7f)) == 0)
		r = ps_byte(p, len - 66);
	return r ? r : ps_leb(p, dist - 1);
}

static int ps_refuse(struct gz_parse *p, const char *why)
{
	p->why = why;
	return SI_E_PATCH_EXPAND;
}

uint32_t patch_adler32(uint32_t adler, const uint8_t *b, size_t n)
{
	uint32_t a = adler & 0xffff, c = adler >> 16;

	while (n) {
		size_t k = n < 5552 ? n : 5552; /* no overflow of c before the modulo */

		n -= k;
		while (k--) {
			a += *b++;
			c += a;
		}
		a %= 65521;
		c %= 65521;
	}
	return c << 16 | a;
}

/* One token to the caller's sink, buffered. */
static int tok_put(struct patch_inflate *s, uint32_t t)
{
	si_put_le32(s->tbuf + s->tpos, t);
	s->tpos += GZ_TOK_LEN;
	if (s->tpos == sizeof s->tbuf)
		return tok_flush(s);
	return 0;
}

/* Canonical Huffman code from lengths: counts per length and symbols in
 * code order (RFC 1951 3.2.2).  Refuses over-subscribed codes;
 * incomplete ones are allowed only as the single-code distance case. */
static int huff_build(struct gz_huff *h, const uint8_t *lens, unsigned n)
{
	uint16_t offs[16];
	unsigned i, len;
	int left = 1;

	memset(h->count, 0, sizeof h->count);
	for (i = 0; i < n; i++)
		h->count[lens[i]]++;
	if (h->count[0] == n) {
		h->count[0] = 0;
		return 0; /* no codes: only an error if used */
	}
	for (len = 1; len < 16; len++) {
		left <<= 1;
		left -= h->count[len];
		if (left < 0)
			return SI_E_PATCH_EXPAND;
	}
	offs[1] = 0;
	for (len = 1; len < 15; len++)
		offs[len + 1] = (uint16_t)(offs[len] + h->count[len]);
	for (i = 0; i < n; i++)
		if (lens[i])
			h->symbol[offs[lens[i]]++] = (uint16_t)i;
	h->count[0] = 0;
	/* The fast table: canonical codes in order, each written at its
	 * bit-reversed value and every value sharing its low bits. */
	memset(h->fast, 0, sizeof h->fast);
	{
		unsigned code = 0, idx = 0;

		for (len = 1; len <= GZ_FAST_BITS; len++) {
			for (i = 0; i < h->count[len]; i++, code++, idx++) {
				unsigned rev = 0, b, f;

				for (b = 0; b < len; b++)
					rev |= ((code >> b) & 1) << (len - 1 - b);
				for (f = rev; f < (1u << GZ_FAST_BITS); f += 1u << len)
					h->fast[f] = (uint16_t)(h->symbol[idx] << 4 | len);
			}
			code <<= 1;
		}
	}
	return 0;
}

/* A long code, or one near the input's end: bit by bit. */
static __attribute__((noinline)) int huff_slow(struct patch_inflate *s, const struct gz_huff *h,
					       unsigned *sym)
{
	int code = 0, first = 0, index = 0, count;
	unsigned len, bit;

	for (len = 1; len < 16; len++) {
		int r = get_bits(s, 1, &bit);

		if (r)
			return r;
		code |= (int)bit;
		count = h->count[len];
		if (code - count < first) {
			*sym = h->symbol[index + (code - first)];
			return 0;
		}
		index += count;
		first += count;
		first <<= 1;
		code <<= 1;
	}
	return SI_E_PATCH_EXPAND;
}

/* A short code in one lookup when the input holds its bits (the buffer
 * is refilled before each symbol), inline in the symbol loop; else
 * huff_slow. */
static inline int huff_decode(struct patch_inflate *s, const struct gz_huff *h, unsigned *sym)
{
	uint16_t f;

	if (s->bitcnt < GZ_FAST_BITS && need_bits(s, GZ_FAST_BITS) != 0)
		return huff_slow(s, h, sym); /* fewer bits left in the input */
	f = h->fast[s->bitbuf & ((1u << GZ_FAST_BITS) - 1)];
	if (!f)
		return huff_slow(s, h, sym);
	*sym = f >> 4;
	s->bitbuf >>= f & 15;
	s->bitcnt -= f & 15;
	return 0;
}

/* A block's symbols.  Before each, the output buffer has room for the
 * longest match and the bit buffer (when the input allows) holds 56 bits:
 * a length, its distance and their extra bits take at most 48, so the
 * symbol is decoded without a byte-at-a-time refill. */
static int inflate_codes(struct patch_inflate *s, const struct gz_huff *lc, const struct gz_huff *dc)
{
	for (;;) {
		unsigned sym, v, len, dist;
		uint8_t *to;
		const uint8_t *from;
		int r;

		if ((r = inf_room(s)))
			return r;
		refill(s);
		if ((r = huff_decode(s, lc, &sym)))
			return r;
		if (sym < 256) {
			if (s->out_total == s->out_max)
				return SI_E_PATCH_EXPAND;
			s->ob[s->opos++] = (uint8_t)sym;
			s->out_total++;
			if (s->tok && (r = tok_put(s, sym)))
				return r;
			if (s->ps && ++s->ps->lits == 64 && (r = ps_lits(s->ps)))
				return r;
			continue;
		}
		if (sym == 256)
			return s->ps && (r = ps_lits(s->ps)) == 0 ? ps_byte(s->ps, 0xc3) : r;
		sym -= 257;
		if (sym >= 29)
			return SI_E_PATCH_EXPAND;
		if ((r = get_bits(s, extra_lbits[sym], &v)))
			return r;
		len = len_base[sym] + v;
		if (s->ps && sym == 27 && v == 31) /* 258 as 284: the join codes 285 */
			return ps_refuse(s->ps, "dfl.length");
		if ((r = huff_decode(s, dc, &sym)))
			return r;
		if (sym >= 30)
			return SI_E_PATCH_EXPAND;
		if ((r = get_bits(s, extra_dbits[sym], &v)))
			return r;
		dist = dist_base[sym] + v;
		if (dist > s->out_total)
			return SI_E_PATCH_EXPAND; /* before the start of the output */
		if (len > s->out_max - s->out_total)
			return SI_E_PATCH_EXPAND;
		if (s->tok && (r = tok_put(s, GZ_TOK_MATCH(dist, len))))
			return r;
		if (s->ps && (r = ps_match(s->ps, len, dist)))
			return r;
		/* dist <= out_total and dist <= 32768: the source is in the
		 * buffer (its first GZ_INF_WIN bytes are kept at every flush) */
		to = s->ob + s->opos;
		from = to - dist;
		s->opos += len;
		s->out_total += len;
		if (dist >= 8) {
			/* eight bytes at a time, each read after it was written;
			 * up to 7 bytes past the match are written, inside the
			 * slack, and overwritten by what comes next */
			unsigned k;

			for (k = 0; k < len; k += 8)
				memcpy(to + k, from + k, 8);
		} else {
			while (len--)
				*to++ = *from++;
		}
	}
}

/* How many code-length symbols cl[0..n) holds (a repeat symbol is
 * followed by its field). */
static unsigned ncl_syms(const uint8_t *cl, unsigned n)
{
	unsigned k, c = 0;

	for (k = 0; k < n; k++, c++)
		if (cl[k] >= 16)
			k++;
	return c;
}

static int inflate_block(struct patch_inflate *s, unsigned type)
{
	static const uint8_t order[19] = { 16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15 };
	uint8_t lens[320], cl[2 * 316];
	unsigned nlen, ndist, ncode, i, v, ncl = 0;
	int r;

	if (type == 1) {
		for (i = 0; i < 144; i++)
			lens[i] = 8;
		for (; i < 256; i++)
			lens[i] = 9;
		for (; i < 280; i++)
			lens[i] = 7;
		for (; i < 288; i++)
			lens[i] = 8;
		if ((r = huff_build(&s->lcode, lens, 288)))
			return r;
		for (i = 0; i < 30; i++)
			lens[i] = 5;
		if ((r = huff_build(&s->dcode, lens, 30)))
			return r;
		return inflate_codes(s, &s->lcode, &s->dcode);
	}
	if ((r = get_bits(s, 5, &nlen)) || (r = get_bits(s, 5, &ndist)) || (r = get_bits(s, 4, &ncode)))
		return r;
	nlen += 257;
	ndist += 1;
	ncode += 4;
	if (nlen > 286 || ndist > 30)
		return SI_E_PATCH_EXPAND;
	memset(lens, 0, 19);
	if (s->ps && ((r = ps_byte(s->ps, nlen - 257)) || (r = ps_byte(s->ps, ndist - 1)) ||
		      (r = ps_byte(s->ps, ncode - 4))))
		return r;
	for (i = 0; i < ncode; i++) {
		if ((r = get_bits(s, 3, &v)))
			return r;
		lens[order[i]] = (uint8_t)v;
		if (s->ps && (r = ps_byte(s->ps, v)))
			return r;
	}
	if ((r = huff_build(&s->lcode, lens, 19)))
		return r;
	for (i = 0; i < nlen + ndist;) {
		unsigned sym, rep, val = 0;

		if ((r = huff_decode(s, &s->lcode, &sym)))
			return r;
		if (s->ps && ncl < sizeof cl)
			cl[ncl++] = (uint8_t)sym;
		if (sym < 16) {
			lens[i++] = (uint8_t)sym;
			continue;
		}
		if (sym == 16) {
			if (i == 0)
				return SI_E_PATCH_EXPAND;
			val = lens[i - 1];
			if ((r = get_bits(s, 2, &rep)))
				return r;
			rep += 3;
		} else if (sym == 17) {
			if ((r = get_bits(s, 3, &rep)))
				return r;
			rep += 3;
		} else {
			if ((r = get_bits(s, 7, &rep)))
				return r;
			rep += 11;
		}
		if (i + rep > nlen + ndist)
			return SI_E_PATCH_EXPAND;
		if (s->ps && ncl < sizeof cl)
			cl[ncl++] = (uint8_t)(rep - (sym == 18 ? 11 : 3));
		while (rep--)
			lens[i++] = (uint8_t)val;
	}
	/* the code-length symbols: at most one per length, two bytes each */
	if (s->ps) {
		unsigned k;

		if ((r = ps_leb(s->ps, ncl_syms(cl, ncl))))
			return r;
		for (k = 0; k < ncl; k++)
			if ((r = ps_byte(s->ps, cl[k])))
				return r;
	}
	if (lens[256] == 0)
		return SI_E_PATCH_EXPAND;
	if ((r = huff_build(&s->lcode, lens, nlen)) || (r = huff_build(&s->dcode, lens + nlen, ndist)))
		return r;
	return inflate_codes(s, &s->lcode, &s->dcode);
}

static int inflate_run(struct patch_inflate *s, patch_read_fn read, void *rctx, uint64_t in_base,
		       uint64_t in_len, patch_write_fn write, void *wctx, uint64_t out_base,
		       uint64_t out_max, struct gz_tokens *tok, struct gz_parse *ps, uint64_t *used,
		       uint64_t *out_len, uint32_t *crc)
{
	unsigned last = 0, type;
	int r;

	s->tok = tok;
	s->tpos = 0;
	if (tok)
		tok->count = 0;
	s->ps = ps;

	gz_io_init(&s->io, read, rctx, in_base, in_len, write, wctx);
	s->ipos = s->ilen = 0;
	s->bitbuf = 0;
	s->bitcnt = 0;
	s->opos = s->oflushed = 0;
	s->out_base = out_base;
	s->out_total = 0;
	s->out_max = out_max;
	s->crc = 0;
	while (!last) {
		if ((r = get_bits(s, 1, &last)) || (r = get_bits(s, 2, &type)))
			return r;
		if (s->ps && type != 0 && type != 3 &&
		    ((r = ps_byte(s->ps, type == 1 ? 0xc0 : 0xc1)) || (r = ps_byte(s->ps, last))))
			return r;
		if (type == 0) {
			unsigned len, nlen, b;

			/* stored: skip to a byte boundary, LEN, NLEN, bytes */
			if (s->ps && (s->bitbuf & ((1u << (s->bitcnt & 7)) - 1)) != 0)
				return ps_refuse(s->ps, "dfl.padding");
			s->bitbuf >>= s->bitcnt & 7;
			s->bitcnt -= s->bitcnt & 7;
			if ((r = get_bits(s, 16, &len)) || (r = get_bits(s, 16, &nlen)))
				return r;
			if ((len ^ 0xFFFF) != nlen)
				return SI_E_PATCH_EXPAND;
			if (s->ps && ((r = ps_byte(s->ps, 0xc2)) || (r = ps_byte(s->ps, last)) ||
				      (r = ps_leb(s->ps, len))))
				return r;
			while (len--) {
				if ((r = get_bits(s, 8, &b)) || (r = out_byte(s, (uint8_t)b)) ||
				    (s->tok && (r = tok_put(s, b))))
					return r;
			}
		} else if (type == 3) {
			return SI_E_PATCH_EXPAND;
		} else if ((r = inflate_block(s, type))) {
			return r;
		}
	}
	if (s->ps && (s->bitbuf & ((1u << (s->bitcnt & 7)) - 1)) != 0)
		return ps_refuse(s->ps, "dfl.padding");
	if ((r = inf_flush(s)) || (tok && (r = tok_flush(s))))
		return r;
	/* the input bytes the stream used: whole bytes read, less the
	 * unused whole bytes still in the bit buffer */
	*used = s->io.in_off - (s->ilen - s->ipos) - s->bitcnt / 8;
	*out_len = s->out_total;
	*crc = s->crc;
	return 0;
}

int patch_inflate_run(struct patch_inflate *s, patch_read_fn read, void *rctx, uint64_t in_base,
		      uint64_t in_len, patch_write_fn write, void *wctx, uint64_t out_base,
		      uint64_t out_max, struct gz_tokens *tok, uint64_t *used, uint64_t *out_len,
		      uint32_t *crc)
{
	return inflate_run(s, read, rctx, in_base, in_len, write, wctx, out_base, out_max, tok,
			   NULL, used, out_len, crc);
}

/* ------------------------------------------------------ kind 3: the split */
static int dfl_fail(struct si_diag *d, const char *field, uint64_t exp, uint64_t got)
{
	return si_diag_want(d, SI_E_PATCH_EXPAND, field, exp, got);
}

size_t patch_gz_header_len(const uint8_t *h, size_t n)
{
	size_t p = 10;

	if (n < 18 || h[0] != 0x1f || h[1] != 0x8b || h[2] != 8 || (h[3] & 0xE0))
		return 0;
	if (h[3] & 4) { /* FEXTRA */
		if (p + 2 > n)
			return 0;
		p += 2 + si_le16(h + p);
	}
	for (int k = 3; k <= 4; k++) /* FNAME, FCOMMENT: zero-terminated */
		if (h[3] & (1 << k)) {
			while (p < n && h[p])
				p++;
			p++;
		}
	if (h[3] & 2) /* FHCRC */
		p += 2;
	return p <= n ? p : 0;
}

/* The container's header at the member's start: a gzip header or a zlib
 * one (no preset dictionary); *hl its length, *tl the trailer's (8 or 4).
 * Bounded by n (what was read of it) and m_len. */
static int dfl_container(const uint8_t *h, size_t n, uint64_t m_len, size_t *hl, size_t *tl,
			 struct si_diag *d)
{
	if (n >= 2 && h[0] == 0x1f && h[1] == 0x8b) {
		size_t p = patch_gz_header_len(h, n);

		if (n < 18 || h[2] != 8 || (h[3] & 0xE0))
			return dfl_fail(d, "dfl.gzip.header", 8, n < 3 ? 0 : h[2]);
		if (p == 0 || p + 8 + 2 > m_len)
			return dfl_fail(d, "dfl.gzip.header", n, p);
		*hl = p;
		*tl = 8;
		return 0;
	}
	if (n < 2 || (h[0] & 0x0f) != 8 || (h[0] >> 4) > 7 || (h[1] & 0x20) ||
	    ((unsigned)h[0] << 8 | h[1]) % 31 != 0 || m_len < 2 + 2 + 4)
		return dfl_fail(d, "dfl.header", 0x78, n ? h[0] : 0);
	*hl = 2;
	*tl = 4;
	return 0;
}

static int ps_bytes(struct gz_parse *p, const uint8_t *b, size_t n)
{
	int r = ps_byte(p, 0xf0);

	if (r == 0)
		r = ps_leb(p, n);
	while (r == 0 && n--)
		r = ps_byte(p, *b++);
	return r;
}

int patch_dfl_split(struct patch_dfl *z, patch_read_fn read, void *rctx, uint64_t m_len,
		    patch_write_fn write, void *wctx, uint64_t data_base, uint64_t data_max,
		    uint64_t parse_base, uint64_t parse_max, uint64_t *data_len,
		    uint64_t *parse_len, struct si_diag *d)
{
	struct gz_parse *ps = &z->ps;
	size_t n = m_len < DFL_HDR_MAX ? (size_t)m_len : DFL_HDR_MAX, hl = 0, tl = 0;
	uint64_t used = 0, ol = 0, body;
	uint32_t crc = 0;
	uint8_t t[8];
	int r;

	if ((r = read(rctx, 0, z->hdr, n)))
		return r;
	if ((r = dfl_container(z->hdr, n, m_len, &hl, &tl, d)))
		return r;
	body = m_len - hl - tl;
	memset(ps, 0, sizeof *ps);
	ps->write = write;
	ps->ctx = wctx;
	ps->base = parse_base;
	ps->max = parse_max;
	ps->adler = 1;
	ps->zlib = tl == 4;
	if ((r = ps_bytes(ps, z->hdr, hl)))
		goto out;
	r = inflate_run(&z->in, read, rctx, hl, body, write, wctx, data_base, data_max, NULL, ps,
			&used, &ol, &crc);
	if (r)
		goto out;
	if (used != body)
		return dfl_fail(d, "dfl.stream_len", body, used);
	if ((r = read(rctx, hl + body, t, tl)))
		return r;
	if (tl == 8 && (si_le32(t) != crc || si_le32(t + 4) != (uint32_t)ol))
		return dfl_fail(d, "dfl.gzip.trailer", crc, si_le32(t));
	if (tl == 4 && ((uint32_t)t[0] << 24 | (uint32_t)t[1] << 16 | (uint32_t)t[2] << 8 | t[3]) !=
			       ps->adler)
		return dfl_fail(d, "dfl.zlib.adler32", ps->adler, si_le32(t));
	if ((r = ps_bytes(ps, t, tl)) || (r = ps_byte(ps, 0xff)) || (r = ps_flush(ps)))
		goto out;
	*data_len = ol;
	*parse_len = ps->len;
	return 0;
out:
	if (r == SI_E_PATCH_EXPAND)
		si_diag_field(d, ps->why ? ps->why : "dfl.stream");
	return r;
}

/* ------------------------------------------------------- kind 3: the join */
static int rd_fill(struct gz_rd *r, unsigned *b);

static inline int rd_byte(struct gz_rd *r, unsigned *b)
{
	uint64_t k = r->pos - r->bstart;

	if (r->pos >= r->bstart && k < r->blen) {
		*b = r->buf[k];
		r->pos++;
		return 0;
	}
	return rd_fill(r, b);
}

static int rd_fill(struct gz_rd *r, unsigned *b)
{
	if (r->pos >= r->len)
		return SI_E_PATCH_EXPAND;
	{
		uint64_t left = r->len - r->pos;
		int e;

		r->bstart = r->pos;
		r->blen = left < sizeof r->buf ? (size_t)left : sizeof r->buf;
		if ((e = r->read(r->ctx, r->base + r->pos, r->buf, r->blen))) {
			r->blen = 0;
			return e;
		}
	}
	*b = r->buf[r->pos++ - r->bstart];
	return 0;
}

static int rd_leb(struct gz_rd *r, uint64_t max, uint64_t *v)
{
	unsigned b, sh = 0;
	int e;

	*v = 0;
	do {
		if ((e = rd_byte(r, &b)))
			return e;
		if (sh > 56)
			return SI_E_PATCH_EXPAND;
		*v |= (uint64_t)(b & 0x7f) << sh;
		sh += 7;
	} while (b & 0x80);
	return *v <= max ? 0 : SI_E_PATCH_EXPAND;
}

static void rd_init(struct gz_rd *r, patch_read_fn read, void *ctx, uint64_t base, uint64_t len)
{
	r->read = read;
	r->ctx = ctx;
	r->base = base;
	r->len = len;
	r->pos = r->bstart = 0;
	r->blen = 0;
}

static int jw_flush(struct patch_dfl *z)
{
	if (z->err == 0 && z->on) {
		if (z->on > z->out_max - z->out_total)
			z->err = SI_E_PATCH_EXPAND;
		else if ((z->err = z->write(z->wctx, z->out_total, z->obuf, z->on)) == 0)
			z->out_total += z->on;
	}
	z->on = 0;
	return z->err;
}

/* n <= 32 bits of v out, low first: four bytes at a time once 32 are
 * pending (at most 63 then). */
static inline void jw_bits(struct patch_dfl *z, uint32_t v, unsigned n)
{
	z->bb |= (uint64_t)v << z->bn;
	z->bn += n;
	if (z->bn < 32)
		return;
	si_put_le32(z->obuf + z->on, (uint32_t)z->bb);
	z->on += 4;
	z->bb >>= 32;
	z->bn -= 32;
	if (z->on > sizeof z->obuf - 4)
		jw_flush(z);
}

/* The pending bits out to a byte boundary (the last byte padded with
 * zeros), into the buffer. */
static void jw_align(struct patch_dfl *z)
{
	if (z->bn & 7)
		jw_bits(z, 0, 8 - (z->bn & 7));
	while (z->bn) {
		z->obuf[z->on++] = (uint8_t)z->bb;
		z->bb >>= 8;
		z->bn -= 8;
		if (z->on > sizeof z->obuf - 4)
			jw_flush(z);
	}
}

/* Canonical codes (RFC 1951 3.2.2) of lens[0..n), bit-reversed for the
 * output; -1 for an over-subscribed set of lengths. */
static int dfl_codes(const uint8_t *lens, unsigned n, uint16_t *code)
{
	uint16_t count[16] = { 0 }, next[16];
	unsigned i, len, c = 0;
	int left = 1;

	for (i = 0; i < n; i++)
		count[lens[i]]++;
	count[0] = 0;
	for (len = 1; len < 16; len++) {
		left = left * 2 - count[len];
		if (left < 0)
			return -1;
		c = (c + count[len - 1]) << 1;
		next[len] = (uint16_t)c;
	}
	for (i = 0; i < n; i++)
		code[i] = lens[i] ? bi_reverse(next[lens[i]]++, lens[i]) : 0;
	return 0;
}

/* A dynamic block's header from the parse, coded, and its codes set. */
static int join_dyn(struct patch_dfl *z, struct si_diag *d)
{
	static const uint8_t order[19] = { 16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15 };
	struct gz_rd *p = &z->prs;
	uint8_t cll[19] = { 0 }, lens[320];
	uint16_t clc[19];
	unsigned hlit, hdist, hclen, i, v, nlen, ndist, have = 0;
	uint64_t ncl, k;
	int e;

	if ((e = rd_byte(p, &hlit)) || (e = rd_byte(p, &hdist)) || (e = rd_byte(p, &hclen)))
		return e;
	if (hlit > 29 || hdist > 29 || hclen > 15)
		return dfl_fail(d, "dfl.parse.header", 29, hlit > 29 ? hlit : hdist > 29 ? hdist : hclen);
	jw_bits(z, hlit, 5);
	jw_bits(z, hdist, 5);
	jw_bits(z, hclen, 4);
	for (i = 0; i < hclen + 4; i++) {
		if ((e = rd_byte(p, &v)))
			return e;
		if (v > 7)
			return dfl_fail(d, "dfl.parse.clen", 7, v);
		cll[order[i]] = (uint8_t)v;
		jw_bits(z, v, 3);
	}
	if (dfl_codes(cll, 19, clc))
		return dfl_fail(d, "dfl.parse.clen", 0, 1);
	nlen = hlit + 257;
	ndist = hdist + 1;
	if ((e = rd_leb(p, nlen + ndist, &ncl)))
		return e;
	for (k = 0; k < ncl; k++) {
		unsigned sym, rep = 1, x = 0, val = 0;

		if ((e = rd_byte(p, &sym)))
			return e;
		if (sym > 18 || cll[sym] == 0)
			return dfl_fail(d, "dfl.parse.clsym", 18, sym);
		jw_bits(z, clc[sym], cll[sym]);
		if (sym < 16) {
			val = sym;
		} else {
			static const uint8_t xb[3] = { 2, 3, 7 }, base[3] = { 3, 3, 11 };

			if ((e = rd_byte(p, &x)))
				return e;
			if (x >= 1u << xb[sym - 16] || (sym == 16 && have == 0))
				return dfl_fail(d, "dfl.parse.repeat", (1u << xb[sym - 16]) - 1, x);
			jw_bits(z, x, xb[sym - 16]);
			rep = base[sym - 16] + x;
			val = sym == 16 ? lens[have - 1] : 0;
		}
		if (rep > nlen + ndist - have)
			return dfl_fail(d, "dfl.parse.lengths", nlen + ndist, have + rep);
		while (rep--)
			lens[have++] = (uint8_t)val;
	}
	if (have != nlen + ndist || lens[256] == 0)
		return dfl_fail(d, "dfl.parse.lengths", nlen + ndist, have);
	memset(z->llen, 0, sizeof z->llen);
	memset(z->dlen, 0, sizeof z->dlen);
	memcpy(z->llen, lens, nlen);
	memcpy(z->dlen, lens + nlen, ndist);
	if (dfl_codes(z->llen, 288, z->lcode) || dfl_codes(z->dlen, 30, z->dcode))
		return dfl_fail(d, "dfl.parse.lengths", 0, 1);
	return 0;
}

static void join_fixed(struct patch_dfl *z)
{
	unsigned i;

	for (i = 0; i < 288; i++) {
		z->llen[i] = (uint8_t)z->t.static_ltree[i].len;
		z->lcode[i] = z->t.static_ltree[i].code;
	}
	for (i = 0; i < 30; i++) {
		z->dlen[i] = (uint8_t)z->t.static_dtree[i].len;
		z->dcode[i] = z->t.static_dtree[i].code;
	}
}

/* A symbol of the lit/len code out; one the block's code lacks is refused. */
static int join_sym(struct patch_dfl *z, unsigned sym, struct si_diag *d)
{
	if (z->llen[sym] == 0)
		return dfl_fail(d, "dfl.parse.symbol", 1, sym);
	jw_bits(z, z->lcode[sym], z->llen[sym]);
	return 0;
}

int patch_dfl_join(struct patch_dfl *z, patch_read_fn read, void *rctx, uint64_t data_base,
		   uint64_t data_len, uint64_t parse_base, uint64_t parse_len,
		   patch_write_fn write, void *wctx, uint64_t m_max, uint64_t *m_len,
		   struct si_diag *d)
{
	struct gz_rd *p = &z->prs, *dt = &z->dat;
	/* 0 before the first block, 1 between blocks, 2 in one, 3 after the
	 * last */
	unsigned state = 0, last = 0, t, b;
	uint64_t v;
	int e = 0;

	tables_init(&z->t);
	rd_init(p, read, rctx, parse_base, parse_len);
	rd_init(dt, read, rctx, data_base, data_len);
	z->bb = 0;
	z->bn = 0;
	z->on = 0;
	z->out_total = 0;
	z->out_max = m_max;
	z->write = write;
	z->wctx = wctx;
	z->err = 0;
	for (;;) {
		if ((e = rd_byte(p, &t)))
			break;
		if (t == 0xff) {
			if (state != 3)
				return dfl_fail(d, "dfl.parse.end", 3, state);
			break;
		}
		if (t == 0xf0) { /* container bytes: outside the deflate stream */
			if (state == 1 || state == 2)
				return dfl_fail(d, "dfl.parse.container", 3, state);
			if ((e = rd_leb(p, m_max, &v)))
				break;
			if (v == 0)
				return dfl_fail(d, "dfl.parse.container", 1, 0);
			while (v-- && (e = rd_byte(p, &b)) == 0)
				jw_bits(z, b, 8);
			if (e)
				break;
			continue;
		}
		if (t >= 0xc0 && t <= 0xc2) { /* a block */
			if (state != 0 && state != 1)
				return dfl_fail(d, "dfl.parse.block", 1, state);
			if ((e = rd_byte(p, &last)))
				break;
			if (last > 1)
				return dfl_fail(d, "dfl.parse.final", 1, last);
			jw_bits(z, last | (t == 0xc2 ? 0u : t == 0xc0 ? 2u : 4u), 3);
			if (t == 0xc2) {
				if ((e = rd_leb(p, 65535, &v)))
					break;
				jw_align(z);
				jw_bits(z, (uint32_t)v | (uint32_t)(v ^ 0xffff) << 16, 32);
				while (v-- && (e = rd_byte(dt, &b)) == 0)
					jw_bits(z, b, 8);
				if (e)
					break;
				state = last ? 3 : 1;
				continue;
			}
			if (t == 0xc0)
				join_fixed(z);
			else if ((e = join_dyn(z, d)))
				return e;
			state = 2;
			continue;
		}
		if (state != 2)
			return dfl_fail(d, "dfl.parse.token", 2, state);
		if (t == 0xc3) {
			if ((e = join_sym(z, 256, d)))
				return e;
			state = last ? 3 : 1;
			if (last)
				jw_align(z);
			continue;
		}
		if (t < 0x40) {
			unsigned k;

			for (k = 0; k <= t && (e = rd_byte(dt, &b)) == 0; k++)
				if ((e = join_sym(z, b, d)))
					return e; /* its field, not the parse's */
			if (e)
				break;
			continue;
		}
		if (t < 0x80) {
			unsigned len = t - 0x40 + 3, lc, dc;

			if (t == 0x7f) {
				if ((e = rd_byte(p, &b)))
					break;
				len = 66 + b;
				if (len > 258)
					return dfl_fail(d, "dfl.parse.length", 258, len);
			}
			if ((e = rd_leb(p, 32767, &v)))
				break;
			v++;
			/* the distance inside the data so far, the length in it */
			if (v > dt->pos || len > dt->len - dt->pos)
				return dfl_fail(d, "dfl.parse.match", dt->pos, v);
			lc = z->t.length_code[len - 3];
			if ((e = join_sym(z, lc + 257, d)))
				return e;
			if (extra_lbits[lc])
				jw_bits(z, len - 3 - z->t.base_length[lc], extra_lbits[lc]);
			dc = d_code(&z->t, (unsigned)v - 1);
			if (z->dlen[dc] == 0)
				return dfl_fail(d, "dfl.parse.distance", 1, dc);
			jw_bits(z, z->dcode[dc], z->dlen[dc]);
			if (extra_dbits[dc])
				jw_bits(z, (uint32_t)(v - 1 - z->t.base_dist[dc]), extra_dbits[dc]);
			dt->pos += len; /* the join needs no matched byte */
			continue;
		}
		return dfl_fail(d, "dfl.parse.token", 0xc3, t);
	}
	if (e)
		return e == SI_E_PATCH_EXPAND ? dfl_fail(d, "dfl.parse", p->len, p->pos) : e;
	if (p->pos != p->len || dt->pos != dt->len)
		return dfl_fail(d, p->pos != p->len ? "dfl.parse_len" : "dfl.data_len",
				p->pos != p->len ? p->len : dt->len, p->pos != p->len ? p->pos : dt->pos);
	jw_align(z); /* the trailer's last bytes (state 3 left no partial byte) */
	if (jw_flush(z))
		return z->err == SI_E_PATCH_EXPAND ? dfl_fail(d, "dfl.length", m_max, m_max + 1)
						   : z->err;
	*m_len = z->out_total;
	return 0;
}
