/* sealinit: byte-order loads and stores, bounds arithmetic.
 * Untrusted buffers are never cast to structs: fields are read with these. */
#ifndef SEALINIT_LIB_BYTES_H
#define SEALINIT_LIB_BYTES_H

#include <stddef.h>
#include <stdint.h>

static inline uint16_t si_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t si_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t si_le64(const uint8_t *p)
{
	return (uint64_t)si_le32(p) | (uint64_t)si_le32(p + 4) << 32;
}

static inline uint32_t si_be32(const uint8_t *p)
{
	return (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[0] << 24;
}

static inline uint64_t si_be64(const uint8_t *p)
{
	return (uint64_t)si_be32(p) << 32 | si_be32(p + 4);
}

static inline void si_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void si_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void si_put_le64(uint8_t *p, uint64_t v)
{
	si_put_le32(p, (uint32_t)v);
	si_put_le32(p + 4, (uint32_t)(v >> 32));
}

static inline void si_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* True when [off, off+len) lies inside a container of `total` bytes.
 * Compares remaining lengths: never forms off+len when it could wrap. */
static inline int si_span_ok(uint64_t off, uint64_t len, uint64_t total)
{
	return off <= total && len <= total - off;
}

/* Overflow-checked a+b; returns 0 and writes *r on success, -1 on wrap. */
static inline int si_add_u64(uint64_t a, uint64_t b, uint64_t *r)
{
	uint64_t s;

	if (__builtin_add_overflow(a, b, &s))
		return -1;
	*r = s;
	return 0;
}

static inline int si_mul_u64(uint64_t a, uint64_t b, uint64_t *r)
{
	uint64_t s;

	if (__builtin_mul_overflow(a, b, &s))
		return -1;
	*r = s;
	return 0;
}

/* Constant-time comparison of secrets and digests: returns 0 when equal. */
static inline int si_ct_memcmp(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t acc = 0;
	size_t i;

	for (i = 0; i < n; i++)
		acc |= (uint8_t)(x[i] ^ y[i]);
	return acc != 0;
}

#define SI_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SI_WUR __attribute__((warn_unused_result))

/* Kconfig: IS_ENABLED(CONFIG_FOO) is 1 when the option is set, 0 otherwise,
 * usable in ordinary C expressions so both branches are always compiled. */
#define SI__ARG_PLACEHOLDER_1 0,
#define SI__TAKE_SECOND(ignored, val, ...) val
#define SI__IS_DEFINED3(arg1_or_junk) SI__TAKE_SECOND(arg1_or_junk 1, 0, 0)
#define SI__IS_DEFINED2(val) SI__IS_DEFINED3(SI__ARG_PLACEHOLDER_##val)
#define IS_ENABLED(option) SI__IS_DEFINED2(option)

#endif
