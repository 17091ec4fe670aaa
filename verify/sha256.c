/* sealinit: SHA-256 (FIPS 180-4 section 6.2), run-time dispatch, and the
 * many-message loop the dm-verity hash tree runs on. */
#include <stdatomic.h>
#include <string.h>

#include "lib/bytes.h"
#include "verify/sha256.h"
#include "verify/sha256_arch.h"

/* FIPS 180-4 4.2.2: the first 32 bits of the fractional parts of the cube
 * roots of the first 64 primes. */
const uint32_t si_sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* FIPS 180-4 5.3.3 */
static const uint32_t sha256_iv[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

static inline uint32_t ror32(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

#define S0(x) (ror32(x, 2) ^ ror32(x, 13) ^ ror32(x, 22))
#define S1(x) (ror32(x, 6) ^ ror32(x, 11) ^ ror32(x, 25))
#define s0(x) (ror32(x, 7) ^ ror32(x, 18) ^ ((x) >> 3))
#define s1(x) (ror32(x, 17) ^ ror32(x, 19) ^ ((x) >> 10))
#define CH(x, y, z) (((x) & (y)) ^ (~(x) & (z)))
#define MAJ(x, y, z) (((x) & (y)) ^ ((x) & (z)) ^ ((y) & (z)))

void si_sha256_blocks_portable(uint32_t h[8], const uint8_t *p, size_t n)
{
	uint32_t w[64];

	for (; n; n--, p += SI_SHA256_BLOCK) {
		uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
		uint32_t e = h[4], f = h[5], g = h[6], hh = h[7];
		unsigned i;

		for (i = 0; i < 16; i++)
			w[i] = si_be32(p + 4 * i);
		for (; i < 64; i++)
			w[i] = s1(w[i - 2]) + w[i - 7] + s0(w[i - 15]) + w[i - 16];
		for (i = 0; i < 64; i++) {
			uint32_t t1 = hh + S1(e) + CH(e, f, g) + si_sha256_k[i] + w[i];
			uint32_t t2 = S0(a) + MAJ(a, b, c);

			hh = g;
			g = f;
			f = e;
			e = d + t1;
			d = c;
			c = b;
			b = a;
			a = t1 + t2;
		}
		h[0] += a;
		h[1] += b;
		h[2] += c;
		h[3] += d;
		h[4] += e;
		h[5] += f;
		h[6] += g;
		h[7] += hh;
	}
}

/* ------------------------------------------------------------ dispatch
 * sel holds the implementation chosen for this CPU (0 until the first
 * call).  Detection is a pure function of the CPU, so racing threads store
 * the same value: an idempotent relaxed store is enough. */
enum { IMPL_UNSET = 0, IMPL_PORTABLE, IMPL_SHANI, IMPL_ARMCE };

static atomic_int sha256_sel;
static atomic_int sha256_forced;

static int sha256_impl_id(void)
{
	int s;

	if (atomic_load_explicit(&sha256_forced, memory_order_relaxed))
		return IMPL_PORTABLE;
	s = atomic_load_explicit(&sha256_sel, memory_order_relaxed);
	if (s == IMPL_UNSET) {
		s = IMPL_PORTABLE;
		if (si_sha256_have_shani())
			s = IMPL_SHANI;
		else if (si_sha256_have_armce())
			s = IMPL_ARMCE;
		atomic_store_explicit(&sha256_sel, s, memory_order_relaxed);
	}
	return s;
}

int si_sha256_force_portable(int on)
{
	return atomic_exchange(&sha256_forced, on ? 1 : 0);
}

const char *si_sha256_impl(void)
{
	switch (sha256_impl_id()) {
	case IMPL_SHANI:
		return "sha-ni";
	case IMPL_ARMCE:
		return "armv8-ce";
	}
	return "portable";
}

static void sha256_blocks(int impl, uint32_t h[8], const uint8_t *p, size_t n)
{
	if (!n)
		return;
	switch (impl) {
	case IMPL_SHANI:
		si_sha256_blocks_shani(h, p, n);
		return;
	case IMPL_ARMCE:
		si_sha256_blocks_armce(h, p, n);
		return;
	}
	si_sha256_blocks_portable(h, p, n);
}

static void sha256_blocks_x2(int impl, uint32_t ha[8], const uint8_t *pa,
			     uint32_t hb[8], const uint8_t *pb, size_t n)
{
	if (!n)
		return;
	switch (impl) {
	case IMPL_SHANI:
		si_sha256_blocks_shani_x2(ha, pa, hb, pb, n);
		return;
	case IMPL_ARMCE:
		si_sha256_blocks_armce_x2(ha, pa, hb, pb, n);
		return;
	}
	si_sha256_blocks_portable(ha, pa, n);
	si_sha256_blocks_portable(hb, pb, n);
}

/* arm64 stays at two chains: four are untested for speed there. */
static void sha256_blocks_x4(int impl, uint32_t *h[4], const uint8_t *const p[4], size_t n)
{
	if (!n)
		return;
	if (impl == IMPL_SHANI) {
		si_sha256_blocks_shani_x4(h, p, n);
		return;
	}
	sha256_blocks_x2(impl, h[0], p[0], h[1], p[1], n);
	sha256_blocks_x2(impl, h[2], p[2], h[3], p[3], n);
}

/* ------------------------------------------------------------ streaming */
void si_sha256_init(struct si_sha256 *c)
{
	memcpy(c->h, sha256_iv, sizeof c->h);
	c->count = 0;
	memset(c->buf, 0, sizeof c->buf);
}

void si_sha256_update(struct si_sha256 *c, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t used = (size_t)(c->count % SI_SHA256_BLOCK);
	int impl;

	if (!len)
		return;
	impl = sha256_impl_id();
	c->count += len;
	if (used) {
		size_t take = SI_SHA256_BLOCK - used;

		if (len < take) {
			memcpy(c->buf + used, p, len);
			return;
		}
		memcpy(c->buf + used, p, take);
		sha256_blocks(impl, c->h, c->buf, 1);
		p += take;
		len -= take;
	}
	sha256_blocks(impl, c->h, p, len / SI_SHA256_BLOCK);
	p += len - len % SI_SHA256_BLOCK;
	len %= SI_SHA256_BLOCK;
	if (len)
		memcpy(c->buf, p, len);
}

/* FIPS 180-4 5.1.1: 0x80, zeros, then the length in bits, big-endian,
 * filling the last block: `tail` (< 64 bytes) becomes one or two blocks in
 * out; returns the number of blocks. */
static size_t sha256_pad(const uint8_t *tail, size_t r, uint64_t total,
			 uint8_t out[2 * SI_SHA256_BLOCK])
{
	size_t nb = r + 9 > SI_SHA256_BLOCK ? 2 : 1;
	uint64_t bits = total << 3;
	unsigned i;

	memcpy(out, tail, r);
	out[r] = 0x80;
	memset(out + r + 1, 0, nb * SI_SHA256_BLOCK - r - 1);
	for (i = 0; i < 8; i++)
		out[nb * SI_SHA256_BLOCK - 1 - i] = (uint8_t)(bits >> (8 * i));
	return nb;
}

static void sha256_out(const uint32_t h[8], uint8_t out[SI_SHA256_LEN])
{
	unsigned i;

	for (i = 0; i < 8; i++)
		si_put_be32(out + 4 * i, h[i]);
}

void si_sha256_final(struct si_sha256 *c, uint8_t out[SI_SHA256_LEN])
{
	uint8_t pad[2 * SI_SHA256_BLOCK];
	size_t nb = sha256_pad(c->buf, (size_t)(c->count % SI_SHA256_BLOCK), c->count, pad);

	sha256_blocks(sha256_impl_id(), c->h, pad, nb);
	sha256_out(c->h, out);
	memset(c, 0, sizeof *c);
}

void si_sha256(const void *data, size_t len, uint8_t out[SI_SHA256_LEN])
{
	struct si_sha256 c;

	si_sha256_init(&c);
	si_sha256_update(&c, data, len);
	si_sha256_final(&c, out);
}

/* ------------------------------------------------------------ many
 * Every message is prefix || msg with the same lengths, so each splits the
 * same way: a head block (the prefix's buffered bytes + the first bytes of
 * msg), whole blocks read in place, and one or two padded tail blocks.
 * Four (then two, then one) messages go through the compression function
 * together. */
struct sha256_lane {
	uint32_t h[8];
	uint8_t head[SI_SHA256_BLOCK];
	uint8_t tail[2 * SI_SHA256_BLOCK];
};

static void sha256_lane_start(struct sha256_lane *l, const struct si_sha256 *prefix,
			      size_t used, const uint8_t *msg, size_t take,
			      size_t body, size_t msg_len, uint64_t total)
{
	memcpy(l->h, prefix->h, sizeof l->h);
	if (used) {
		memcpy(l->head, prefix->buf, used);
		memcpy(l->head + used, msg, take);
	}
	sha256_pad(msg + take + body, msg_len - take - body, total, l->tail);
}

void si_sha256_many(const struct si_sha256 *prefix, const uint8_t *base,
		    size_t stride, size_t msg_len, size_t n, uint8_t *out)
{
	size_t used = (size_t)(prefix->count % SI_SHA256_BLOCK);
	size_t take = used ? SI_SHA256_BLOCK - used : 0;
	uint64_t total = prefix->count + msg_len;
	size_t body, nb, i = 0;
	int impl = sha256_impl_id();

	if (msg_len < take) {
		/* Too short for a head block: not the tree's case, stay simple. */
		for (; i < n; i++) {
			struct si_sha256 c = *prefix;

			si_sha256_update(&c, base + i * stride, msg_len);
			si_sha256_final(&c, out + i * SI_SHA256_LEN);
		}
		return;
	}
	body = (msg_len - take) / SI_SHA256_BLOCK * SI_SHA256_BLOCK;
	nb = msg_len - take - body + 9 > SI_SHA256_BLOCK ? 2 : 1;

	for (; i + 4 <= n; i += 4) {
		struct sha256_lane l[4];
		uint32_t *h[4];
		const uint8_t *m[4], *q[4];
		unsigned k;

		for (k = 0; k < 4; k++) {
			m[k] = base + (i + k) * stride;
			sha256_lane_start(&l[k], prefix, used, m[k], take, body, msg_len, total);
			h[k] = l[k].h;
		}
		if (used) {
			for (k = 0; k < 4; k++)
				q[k] = l[k].head;
			sha256_blocks_x4(impl, h, q, 1);
		}
		for (k = 0; k < 4; k++)
			q[k] = m[k] + take;
		sha256_blocks_x4(impl, h, q, body / SI_SHA256_BLOCK);
		for (k = 0; k < 4; k++)
			q[k] = l[k].tail;
		sha256_blocks_x4(impl, h, q, nb);
		for (k = 0; k < 4; k++)
			sha256_out(l[k].h, out + (i + k) * SI_SHA256_LEN);
	}
	for (; i + 2 <= n; i += 2) {
		struct sha256_lane a, b;
		const uint8_t *ma = base + i * stride, *mb = ma + stride;

		sha256_lane_start(&a, prefix, used, ma, take, body, msg_len, total);
		sha256_lane_start(&b, prefix, used, mb, take, body, msg_len, total);
		if (used)
			sha256_blocks_x2(impl, a.h, a.head, b.h, b.head, 1);
		sha256_blocks_x2(impl, a.h, ma + take, b.h, mb + take, body / SI_SHA256_BLOCK);
		sha256_blocks_x2(impl, a.h, a.tail, b.h, b.tail, nb);
		sha256_out(a.h, out + i * SI_SHA256_LEN);
		sha256_out(b.h, out + (i + 1) * SI_SHA256_LEN);
	}
	if (i < n) {
		struct sha256_lane a;
		const uint8_t *ma = base + i * stride;

		sha256_lane_start(&a, prefix, used, ma, take, body, msg_len, total);
		if (used)
			sha256_blocks(impl, a.h, a.head, 1);
		sha256_blocks(impl, a.h, ma + take, body / SI_SHA256_BLOCK);
		sha256_blocks(impl, a.h, a.tail, nb);
		sha256_out(a.h, out + i * SI_SHA256_LEN);
	}
}
