/* sealinit patch/: references in machine code, and their prediction
 * (Zucchini's idea, Chromium's courgette successor: most of what changes in
 * an executable between two builds is addresses, because code moved and
 * every reference to it moved with it).
 *
 * An XADD operation copies old[src, src+len) to new[dst, ...) like ADD,
 * but first rewrites each reference found in those bytes to where its
 * target went: the patch's target map says by how much each old region
 * moved (delta = new offset - old offset).  A reference at old q with
 * target T becomes one at new q' = q - src + dst with target T + delta(T).
 * When code and target moved alike nothing changes; when they moved
 * apart, the difference bytes are zero all the same.  The finder is a
 * pattern scan, not a disassembler: what it finds is a deterministic
 * function of the bytes and their offsets, the same on the build server
 * and in the apply, and the diff uses XADD only where the prediction pays.
 *
 * Offsets are image offsets: within a file, image offsets and virtual
 * addresses differ by a constant that is a multiple of the 4 KiB block
 * (erofs places file data on block boundaries; ELF keeps offset and address
 * congruent modulo the page), so PC-relative arithmetic and aarch64's page
 * arithmetic work on image offsets unchanged.
 *
 * x86-64 (one candidate per position, scanning forward; after a hit the
 * scan resumes past its field):
 *   E8/E9 rel32 (call, jmp), 0F 80..8F rel32 (jcc), and RIP-relative
 *   operands: [REX] op modrm or [REX] 0F op modrm with modrm & C7 == 05,
 *   for the opcodes below; field = the 4 bytes after modrm, target =
 *   field + 4 + disp (an immediate after the displacement shifts the true
 *   target by its size; the prediction only needs the same region).
 *   A hit needs its field inside the operation and its target inside the
 *   old image.
 * aarch64 (words at offsets that are multiples of 4):
 *   B/BL imm26, B.cond/CBZ/CBNZ/LDR-literal imm19, TBZ/TBNZ imm14 (all
 *   x4), ADR imm21, ADRP imm21 (pages) paired with the first of the next
 *   two words that is ADD (64-bit, immediate) or LDR/STR (unsigned
 *   offset) on the ADRP's register: the pair's full target is predicted,
 *   and both words rewritten; an unpaired ADRP only when its target moved
 *   by whole pages.  A prediction that does not fit its field, or breaks
 *   the scaling, leaves the words as they are. */
#include <pthread.h>
#include <string.h>

#include "lib/bytes.h"
#include "patch/patch.h"

/* Two-byte opcodes (after 0F): SSE moves and arithmetic, movzx/movsx,
 * cmov, imul, prefetch, nop. */
static const uint8_t rip_op2[256] = {
	[0x10] = 1, [0x11] = 1, [0x12] = 1, [0x13] = 1, [0x14] = 1, [0x15] = 1,
	[0x16] = 1, [0x17] = 1, [0x18] = 1, [0x1F] = 1, [0x28] = 1, [0x29] = 1,
	[0x2A] = 1, [0x2C] = 1, [0x2D] = 1, [0x2E] = 1, [0x2F] = 1, [0x40] = 1,
	[0x41] = 1, [0x42] = 1, [0x43] = 1, [0x44] = 1, [0x45] = 1, [0x46] = 1,
	[0x47] = 1, [0x48] = 1, [0x49] = 1, [0x4A] = 1, [0x4B] = 1, [0x4C] = 1,
	[0x4D] = 1, [0x4E] = 1, [0x4F] = 1, [0x51] = 1, [0x54] = 1, [0x55] = 1,
	[0x56] = 1, [0x57] = 1, [0x58] = 1, [0x59] = 1, [0x5A] = 1, [0x5B] = 1,
	[0x5C] = 1, [0x5D] = 1, [0x5E] = 1, [0x5F] = 1, [0x60] = 1, [0x61] = 1,
	[0x62] = 1, [0x66] = 1, [0x6E] = 1, [0x6F] = 1, [0x70] = 1, [0x74] = 1,
	[0x75] = 1, [0x76] = 1, [0x7E] = 1, [0x7F] = 1, [0xAF] = 1, [0xB6] = 1,
	[0xB7] = 1, [0xBE] = 1, [0xBF] = 1, [0xC2] = 1, [0xD4] = 1, [0xD6] = 1,
	[0xDB] = 1, [0xDF] = 1, [0xE6] = 1, [0xE7] = 1, [0xEB] = 1, [0xEF] = 1,
	[0xF4] = 1, [0xFA] = 1, [0xFB] = 1, [0xFE] = 1,
};

/* The block index's blocks are 2^shift old bytes: as small as 512 bytes,
 * so that a block holds about one piece and a lookup is one or two loads,
 * but no more blocks than PATCH_MAP_BLK_PER_PIECE per piece (the index
 * costs at most a third of the pieces' own memory) nor than 65536. */
static unsigned index_shift(uint64_t old_size, uint32_t count)
{
	unsigned sh = 9;

	while (sh < 63 && ((old_size >> sh) >= 65536 ||
			   (old_size >> sh) > (uint64_t)count * PATCH_MAP_BLK_PER_PIECE))
		sh++;
	return sh;
}

uint32_t patch_map_index_len(uint64_t old_size, uint32_t count)
{
	return (uint32_t)(old_size >> index_shift(old_size, count)) + 2;
}

void patch_map_index(struct patch_map *m, uint64_t old_size, uint32_t *blk)
{
	unsigned sh = index_shift(old_size, m->n);
	uint32_t nb = patch_map_index_len(old_size, m->n), b, i = 0;

	for (b = 0; b < nb; b++) {
		uint64_t start = (uint64_t)b << sh;

		while (i < m->n && m->v[i].end <= start)
			i++;
		blk[b] = i;
	}
	m->blk = blk;
	m->nblk = nb;
	m->shift = sh;
}

/* The piece of the map holding old offset t, or NULL.  *hint keeps the
 * last piece found: references cluster, so most lookups hit it. */
static const struct patch_map_piece *map_find(const struct patch_map *m, uint64_t t,
					      uint32_t *hint)
{
	uint32_t lo = 0, hi = m->n;

	if (m->n == 0)
		return NULL;
	/* the pieces are disjoint: the last one found, when it holds t, is
	 * the answer without the block index */
	if (*hint < m->n && m->v[*hint].start <= t && t < m->v[*hint].end)
		return &m->v[*hint];
	if (m->blk) {
		uint64_t b = t >> m->shift;

		if (b + 1 >= m->nblk)
			return NULL;
		lo = m->blk[b];
		hi = m->blk[b + 1] + 1 < m->n ? m->blk[b + 1] + 1 : m->n;
		if (lo >= m->n)
			return NULL;
	}
	if (*hint >= lo && *hint < hi && m->v[*hint].start <= t)
		lo = *hint;
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (m->v[mid].start <= t)
			lo = mid;
		else
			hi = mid;
	}
	if (m->v[lo].start <= t && t < m->v[lo].end) {
		*hint = lo;
		return &m->v[lo];
	}
	return NULL;
}

/* What a byte can start, for the x86-64 scan: 1 rel32 branch (E8, E9),
 * 2 escape (0F: jcc rel32 or a two-byte opcode), 3 REX, 4 a one-byte
 * opcode with a ModRM operand that compilers use RIP-relative, 0 nothing.
 * Most bytes start nothing and are skipped by one table load.  A constant
 * table: building it at every call cost more than the scan itself on the
 * short XADD ops of the os pair. */
#define X86_REX(x) [0x40 + (x)] = 3
static const uint8_t x86_first[256] = {
	[0xE8] = 1, [0xE9] = 1, [0x0F] = 2,
	X86_REX(0), X86_REX(1), X86_REX(2), X86_REX(3), X86_REX(4), X86_REX(5),
	X86_REX(6), X86_REX(7), X86_REX(8), X86_REX(9), X86_REX(10), X86_REX(11),
	X86_REX(12), X86_REX(13), X86_REX(14), X86_REX(15),
	[0x01] = 4, [0x03] = 4, [0x09] = 4, [0x0B] = 4, [0x21] = 4, [0x23] = 4,
	[0x29] = 4, [0x2B] = 4, [0x31] = 4, [0x33] = 4, [0x38] = 4, [0x39] = 4,
	[0x3A] = 4, [0x3B] = 4, [0x63] = 4, [0x80] = 4, [0x81] = 4, [0x83] = 4,
	[0x84] = 4, [0x85] = 4, [0x88] = 4, [0x89] = 4, [0x8A] = 4, [0x8B] = 4,
	[0x8D] = 4, [0xC6] = 4, [0xC7] = 4, [0xF6] = 4, [0xF7] = 4, [0xFF] = 4,
};
#undef X86_REX

/* x86-64: the field offset of a reference starting at b[i] (class cls),
 * or 0.  The caller keeps i + 5 <= len. */
static size_t x86_field(const uint8_t *b, size_t i, size_t len, uint8_t cls)
{
	size_t j = i;
	uint8_t c;

	if (cls == 1)
		return i + 1;
	if (cls == 2) {
		if ((b[i + 1] & 0xF0) == 0x80)
			return i + 2;
		if (i + 3 < len && rip_op2[b[i + 1]] && (b[i + 2] & 0xC7) == 0x05)
			return i + 3;
		return 0;
	}
	if (cls == 3) { /* REX, then a one-byte or 0F opcode */
		j = i + 1;
		c = b[j];
		if (j + 2 >= len)
			return 0;
		if (x86_first[c] == 4)
			return (b[j + 1] & 0xC7) == 0x05 ? j + 2 : 0;
		if (c == 0x0F && j + 3 < len && rip_op2[b[j + 1]] && (b[j + 2] & 0xC7) == 0x05)
			return j + 3;
		return 0;
	}
	return (b[i + 1] & 0xC7) == 0x05 ? i + 2 : 0;
}

/* The scans' filters, made once from the tests above and below: a
 * position is looked at only when its bytes pass the tests of
 * x86_field (or of refs_a64) that need no more than them, so that most
 * positions cost one predictable branch instead of a chain of
 * unpredictable ones; x86_field and refs_a64 still decide.
 *   x86_next[b1] bit cls: b1 may follow a first byte of class cls
 *   a64_top[w >> 24]: a word with this top byte may be one of a64_forms
 *   or ADR/ADRP */
static uint8_t x86_next[256], a64_top[256];
static pthread_once_t filters_once = PTHREAD_ONCE_INIT;

static const struct a64_form {
	uint32_t mask, value;
	unsigned shift, bits;
} a64_forms[] = {
	{ 0x7C000000u, 0x14000000u, 0, 26 }, /* B, BL */
	{ 0xFF000010u, 0x54000000u, 5, 19 }, /* B.cond */
	{ 0x7E000000u, 0x34000000u, 5, 19 }, /* CBZ, CBNZ */
	{ 0x7E000000u, 0x36000000u, 5, 14 }, /* TBZ, TBNZ */
	{ 0x3B000000u, 0x18000000u, 5, 19 }, /* LDR (literal), LDRSW, PRFM */
};
#define A64_ADR_MASK 0x1F000000u
#define A64_ADR_VALUE 0x10000000u

static void filters_make(void)
{
	unsigned b, k;

	for (b = 0; b < 256; b++) {
		uint32_t top = (uint32_t)b << 24;

		x86_next[b] = (uint8_t)(1u << 1 |
					((b & 0xF0) == 0x80 || rip_op2[b] ? 1u << 2 : 0) |
					(x86_first[b] == 4 || b == 0x0F ? 1u << 3 : 0) |
					((b & 0xC7) == 0x05 ? 1u << 4 : 0));
		for (k = 0; k < SI_ARRAY_SIZE(a64_forms); k++)
			if ((top & a64_forms[k].mask & 0xFF000000u) ==
			    (a64_forms[k].value & 0xFF000000u))
				a64_top[b] = 1;
		if ((top & A64_ADR_MASK) == A64_ADR_VALUE)
			a64_top[b] = 1;
	}
}

/* The x86-64 scans' anchors: the first byte at or after i that a field
 * needs near it, or len.  Both need an E8 (call) or a ModRM byte with
 * (b & C7) == 05 (RIP-relative; its instruction starts at most three
 * bytes before it); the reference scan (`branches`) also E9 (jmp) and 0F
 * (jcc, two-byte opcodes).  Eight bytes at a time: in code most words
 * hold none (a quarter of the literal filter's time otherwise). */
static inline uint64_t zero_lanes(uint64_t x)
{
	/* the lowest zero byte is flagged exactly (a borrow only flags bytes
	 * above a zero byte), so the lowest flag of an OR of these is too */
	return (x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull;
}

static inline size_t x86_anchor_at(const uint8_t *b, size_t i, size_t len, int branches)
{
	const uint64_t ones = 0x0101010101010101ull;

	for (; len - i >= 8; i += 8) {
		uint64_t w = si_le64(b + i);
		uint64_t m = zero_lanes(w ^ (ones * 0xE8)) |
			     zero_lanes((w & (ones * 0xC7)) ^ (ones * 0x05));

		if (branches)
			m |= zero_lanes(w ^ (ones * 0xE9)) | zero_lanes(w ^ (ones * 0x0F));
		if (m)
			return i + (size_t)(__builtin_ctzll(m) >> 3);
	}
	for (; i < len; i++)
		if (b[i] == 0xE8 || (b[i] & 0xC7) == 0x05 ||
		    (branches && (b[i] == 0xE9 || b[i] == 0x0F)))
			return i;
	return len;
}

/* The reference scan's: every field x86_field finds for a start s has an
 * anchor in b[s..s+3] (E8, E9 or 0F at s; a ModRM byte of 05 form at s+1
 * after a one-byte opcode, at s+2 after REX or 0F, at s+3 after REX 0F),
 * so no start below the anchor minus three has a field. */
static size_t x86_anchor(const uint8_t *b, size_t i, size_t len)
{
	return x86_anchor_at(b, i, len, 1);
}

static size_t refs_x86(uint8_t *buf, size_t len, uint64_t src, uint64_t dst, uint64_t old_size,
		       const struct patch_map *m)
{
	size_t i = 0, n = 0, a = 0;
	uint32_t hint = 0;

	while (i + 5 <= len) {
		size_t f;
		int32_t disp;
		uint64_t t;
		const struct patch_map_piece *pc;
		uint8_t c;

		if (i >= a) { /* past the last anchor: skip to the next's reach */
			a = x86_anchor(buf, i, len);
			if (a == len)
				break;
			if (a - i > 3) {
				i = a - 3;
				continue;
			}
		}
		c = x86_first[buf[i]];
		if (!(x86_next[buf[i + 1]] & (1u << c) & ~1u)) {
			i++;
			continue;
		}
		f = x86_field(buf, i, len, c);
		if (f == 0 || f + 4 > len) {
			i++;
			continue;
		}
		disp = (int32_t)si_le32(buf + f);
		t = src + f + 4 + (uint64_t)(int64_t)disp;
		if (t >= old_size) { /* also catches wrap below 0 */
			i++;
			continue;
		}
		pc = map_find(m, t, &hint);
		if (pc) {
			/* new disp = (t + delta) - (f' + 4), f' = f - src + dst */
			int64_t nd = (int64_t)disp + pc->delta - (int64_t)(dst - src);

			if (nd >= INT32_MIN && nd <= INT32_MAX && nd != disp) {
				si_put_le32(buf + f, (uint32_t)(int32_t)nd);
				if (m->hits)
					m->hits[pc - m->v]++;
				n++;
			}
		}
		i = f + 4;
	}
	return n;
}

static int64_t sext(uint64_t v, unsigned bits)
{
	uint64_t m = (uint64_t)1 << (bits - 1);

	v &= ((uint64_t)1 << bits) - 1;
	return (int64_t)((v ^ m) - m);
}

static int fits(int64_t v, unsigned bits)
{
	int64_t lim = (int64_t)1 << (bits - 1);

	return v >= -lim && v < lim;
}

/* The paired low 12 bits of an ADRP on register rd in w: ADD (64-bit,
 * immediate, no shift) or LDR/STR (unsigned offset); *scale is the
 * immediate's scaling.  Returns 0 when w is neither. */
static int a64_lo12(uint32_t w, unsigned rd, unsigned *scale)
{
	if ((w & 0xFFC00000u) == 0x91000000u && ((w >> 5) & 31) == rd) {
		*scale = 0;
		return 1;
	}
	if ((w & 0x3B000000u) == 0x39000000u && ((w >> 5) & 31) == rd) {
		unsigned size = w >> 30, v = (w >> 26) & 1, opc = (w >> 22) & 3;

		*scale = v && size == 0 && (opc & 2) ? 4 : size;
		return 1;
	}
	return 0;
}

static size_t refs_a64(uint8_t *buf, size_t len, uint64_t src, uint64_t dst, uint64_t old_size,
		       const struct patch_map *m)
{
	size_t i = (size_t)((4 - (src & 3)) & 3), n = 0, k;
	int64_t move = (int64_t)(dst - src);
	uint32_t hint = 0;

	for (; i + 4 <= len; i += 4) {
		uint32_t w = si_le32(buf + i);
		uint64_t q = src + i, qn = dst + i, t;
		const struct patch_map_piece *pc;

		if (!a64_top[w >> 24])
			continue;
		for (k = 0; k < SI_ARRAY_SIZE(a64_forms); k++)
			if ((w & a64_forms[k].mask) == a64_forms[k].value)
				break;
		if (k < SI_ARRAY_SIZE(a64_forms)) {
			const struct a64_form *f = &a64_forms[k];
			int64_t imm = sext(w >> f->shift, f->bits), ni;
			uint32_t fm = (((uint32_t)1 << f->bits) - 1) << f->shift;

			t = q + (uint64_t)(imm * 4);
			if (t >= old_size || !(pc = map_find(m, t, &hint)))
				continue;
			if ((pc->delta - move) & 3)
				continue;
			ni = imm + (pc->delta - move) / 4;
			if (!fits(ni, f->bits))
				continue;
			if (ni == imm)
				continue;
			w = (w & ~fm) | ((uint32_t)((uint64_t)ni << f->shift) & fm);
			si_put_le32(buf + i, w);
			if (m->hits)
				m->hits[pc - m->v]++;
			n++;
			continue;
		}
		if ((w & A64_ADR_MASK) != A64_ADR_VALUE)
			continue;
		/* ADR / ADRP: immlo [30:29], immhi [23:5] */
		{
			int64_t imm = sext(((w >> 29) & 3) | (((w >> 5) & 0x7FFFF) << 2), 21), ni;
			const uint32_t fm = 0x60FFFFE0u;
			unsigned rd = w & 31, scale = 0;
			size_t pj = 0;
			uint32_t pw = 0, lo = 0;
			uint64_t tn;

			if (!(w & 0x80000000u)) { /* ADR: byte offset */
				t = q + (uint64_t)imm;
				if (t >= old_size || !(pc = map_find(m, t, &hint)))
					continue;
				ni = imm + pc->delta - move;
				if (!fits(ni, 21) || ni == imm)
					continue;
				w = (w & ~fm) | (((uint32_t)ni & 3) << 29) |
				    (((uint32_t)(ni >> 2) & 0x7FFFF) << 5);
				si_put_le32(buf + i, w);
				if (m->hits)
					m->hits[pc - m->v]++;
				n++;
				continue;
			}
			t = (q & ~(uint64_t)0xFFF) + (uint64_t)(imm * 4096);
			for (k = 1; k <= 2 && i + 4 * k + 4 <= len; k++) {
				uint32_t x = si_le32(buf + i + 4 * k);

				if (a64_lo12(x, rd, &scale)) {
					pj = i + 4 * k;
					pw = x;
					lo = ((x >> 10) & 0xFFF) << scale;
					break;
				}
			}
			t += lo;
			if (t >= old_size || !(pc = map_find(m, t, &hint)))
				continue;
			tn = t + (uint64_t)pc->delta;
			if (!pj && (pc->delta & 0xFFF))
				continue; /* unpaired: only whole-page moves are exact */
			ni = (int64_t)(tn >> 12) - (int64_t)(qn >> 12);
			if (!fits(ni, 21))
				continue;
			if (pj) {
				uint32_t nlo = (uint32_t)(tn & 0xFFF);

				if (nlo & ((1u << scale) - 1))
					continue;
				pw = (pw & ~(0xFFFu << 10)) | ((nlo >> scale) << 10);
			}
			{
				uint32_t nw = (w & ~fm) | (((uint32_t)ni & 3) << 29) |
					      (((uint32_t)(ni >> 2) & 0x7FFFF) << 5);

				if (nw == w && (!pj || pw == si_le32(buf + pj)))
					continue;
				if (pj)
					si_put_le32(buf + pj, pw);
				si_put_le32(buf + i, nw);
			}
			if (m->hits)
				m->hits[pc - m->v]++;
			n++;
		}
	}
	return n;
}

size_t patch_refs_predict(int arch, uint8_t *buf, size_t len, uint64_t src, uint64_t dst,
			  uint64_t old_size, const struct patch_map *m)
{
	(void)pthread_once(&filters_once, filters_make);
	switch ((enum patch_arch)arch) {
	case PATCH_ARCH_NONE:
		return 0;
	case PATCH_ARCH_X86_64:
		return refs_x86(buf, len, src, dst, old_size, m);
	case PATCH_ARCH_AARCH64:
		return refs_a64(buf, len, src, dst, old_size, m);
	}
	return 0;
}

/* The literal filter (x86-64): a reference's rel32 as the position of its
 * target modulo 2^bits, so that references to one function or variable
 * from anywhere are the same bytes (the BCJ filters of xz and 7-Zip, for
 * calls; here also RIP-relative operands).  The fields: E8 rel32 (call),
 * and the disp32 of [REX] op ModRM and [REX] 0F op ModRM with ModRM & C7 ==
 * 05 for the opcodes of x86_first (class 4) and rip_op2; the target is the
 * field's end plus the field (an immediate after the field shifts the true
 * target; the filter only needs one value per target).  Only a field that
 * is the sign extension of its low `bits` bits (less than 2^(bits-1) away)
 * is rewritten, and the rewritten field is one again, so both directions
 * see the same fields rewritten.
 *
 * Both directions scan forward and must take the same decisions while the
 * bytes after the position differ (rewritten in one, not yet restored in
 * the other).  After a field, rewritten or not, the scan resumes past it;
 * and no field starts at or before a byte that an earlier position's
 * decision read: a decision at i reads at most i..i+3, and reads i+2 only
 * after an opcode or 0F at i+1, i+3 only after REX 0F at i, i+1 and a
 * two-byte opcode at i+2, while a field at i+1..i+3 needs E8 at i or
 * i+1..i+2 (E8 is neither a class-4 opcode nor 0F nor in rip_op2) or a
 * one-byte opcode at i+1 (its field is at i+3: after REX or 0F at i, not
 * read then).  So every byte a decision reads is the same in both
 * directions.  (tests/unit/test_patch.c checks it on dense random code.) */

/* The scan's tables, made once: lit_first[b] what byte b can start (1
 * E8, 2 0F, 3 REX, 4 a one-byte opcode of x86_first's class 4), and
 * lit_next[b1] bit cls when b1 may follow a first byte of class cls (E8:
 * any; 0F: a two-byte opcode; REX: an opcode or 0F; class 4: ModRM 05), so
 * most positions cost two table loads and one branch. */
static uint8_t lit_first[256], lit_next[256];
static pthread_once_t lit_once = PTHREAD_ONCE_INIT;

static void lit_make(void)
{
	unsigned b;

	for (b = 0; b < 256; b++)
		lit_first[b] = b == 0xE8 ? 1 : b == 0x0F ? 2 : x86_first[b] == 3 ? 3
			       : x86_first[b] == 4 ? 4 : 0;
	for (b = 0; b < 256; b++)
		lit_next[b] = (uint8_t)(1u << 1 | (rip_op2[b] ? 1u << 2 : 0) |
					(lit_first[b] == 2 || lit_first[b] == 4 ? 1u << 3 : 0) |
					((b & 0xC7) == 0x05 ? 1u << 4 : 0));
}

/* The field of the instruction starting at b[i], or 0. */
static inline size_t lit_field(const uint8_t *b, size_t i, size_t len)
{
	size_t j = i;
	unsigned cls = lit_first[b[i]];

	if (cls == 1)
		return len - i >= 5 ? i + 1 : 0;
	if (cls == 3) { /* REX */
		j = i + 1;
		if (j >= len)
			return 0;
		cls = lit_first[b[j]];
	}
	if (cls == 4)
		return len - j >= 6 && (b[j + 1] & 0xC7) == 0x05 ? j + 2 : 0;
	if (cls == 2)
		return len - j >= 7 && rip_op2[b[j + 1]] && (b[j + 2] & 0xC7) == 0x05 ? j + 3 : 0;
	return 0;
}

/* The literal filter's anchors (x86_anchor_at): E8 and ModRM 05 only. */
static size_t lit_anchor(const uint8_t *b, size_t i, size_t len)
{
	return x86_anchor_at(b, i, len, 0);
}

size_t patch_lit_filter(uint8_t *buf, size_t len, uint64_t pos, unsigned bits, int forward)
{
	uint32_t mask = bits >= 32 ? UINT32_MAX : ((uint32_t)1 << bits) - 1;
	uint32_t sign = ~(mask >> 1); /* bit bits - 1 and those above it */
	size_t i = 0, n = 0;

	(void)pthread_once(&lit_once, lit_make);
	while (i < len) {
		size_t a = lit_anchor(buf, i, len), p, f = 0;
		uint32_t v, at;

		if (a == len)
			break;
		/* positions before a - 3 have no anchor near them: no field */
		for (p = a >= i + 3 ? a - 3 : i; p <= a && f == 0; p++)
			if (p + 1 >= len || ((lit_next[buf[p + 1]] >> lit_first[buf[p]]) & 1))
				f = lit_field(buf, p, len);
		if (f == 0) {
			i = a + 1;
			continue;
		}
		v = si_le32(buf + f);
		i = f + 4;
		if (bits < 32 && (v & sign) != 0 && (v & sign) != sign)
			continue;
		at = (uint32_t)(pos + f + 4);
		v = (forward ? v + at : v - at) & mask;
		if (bits < 32 && (v >> (bits - 1)) & 1)
			v |= ~mask;
		si_put_le32(buf + f, v);
		n++;
	}
	return n;
}
