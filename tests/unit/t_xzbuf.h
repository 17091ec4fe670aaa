/* Memory behind the patch coders' callbacks (xz.c, gz.c), for test_xz,
 * test_patch, fuzz_xz and fuzz_gz: a buffer
 * read up to what it holds and written up to its capacity, and a member's
 * data and parse as two buffers behind one offset space (the parse from
 * `at` on), as the apply's scratch file holds them. */
#ifndef SEALINIT_TESTS_T_XZBUF_H
#define SEALINIT_TESTS_T_XZBUF_H

#include <stdint.h>
#include <string.h>

#include "lib/err.h"

struct xbuf {
	uint8_t *p;
	size_t n, cap;
};

static inline int xbuf_read(void *ctx, uint64_t off, uint8_t *p, size_t len)
{
	const struct xbuf *b = ctx;

	if (off > b->n || len > b->n - off)
		return SI_E_IO;
	memcpy(p, b->p + off, len);
	return 0;
}

static inline int xbuf_write(void *ctx, uint64_t off, const uint8_t *p, size_t len)
{
	struct xbuf *b = ctx;

	if (off > b->cap || len > b->cap - off)
		return SI_E_IO;
	memcpy(b->p + off, p, len);
	if (off + len > b->n)
		b->n = off + len;
	return 0;
}

struct xpair {
	struct xbuf *d, *p;
	uint64_t at;
};

static inline int xpair_read(void *ctx, uint64_t off, uint8_t *p, size_t len)
{
	struct xpair *t = ctx;

	return off >= t->at ? xbuf_read(t->p, off - t->at, p, len) : xbuf_read(t->d, off, p, len);
}

static inline int xpair_write(void *ctx, uint64_t off, const uint8_t *p, size_t len)
{
	struct xpair *t = ctx;

	return off >= t->at ? xbuf_write(t->p, off - t->at, p, len) : xbuf_write(t->d, off, p, len);
}

#endif
