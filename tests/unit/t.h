/* sealinit: the unit-test harness.  Table-driven tests call T_EQ/T_OK/T_ERR;
 * each failed check prints file:line and the values; the program's exit
 * status is the number of failed checks (capped), and its last line is
 * "<test>: N passed, N failed" which `make check` adds up. */
#ifndef SEALINIT_TESTS_T_H
#define SEALINIT_TESTS_T_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"

static int t_pass, t_fail;

#define T_CHECK(cond, ...)                                                   \
	do {                                                                 \
		if (cond) {                                                  \
			t_pass++;                                            \
		} else {                                                     \
			t_fail++;                                            \
			fprintf(stderr, "%s:%d: FAIL: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);                        \
			fputc('\n', stderr);                                 \
		}                                                            \
	} while (0)

#define T_EQ(a, b)                                                            \
	do {                                                                  \
		long long t_a_ = (long long)(a), t_b_ = (long long)(b);       \
		T_CHECK(t_a_ == t_b_, "%s == %s: %lld != %lld", #a, #b, t_a_, \
			t_b_);                                                \
	} while (0)

/* Asserts an exact sealinit error code and names both on failure. */
#define T_ERR(expr, want)                                                    \
	do {                                                                 \
		int t_r_ = (expr), t_w_ = (want);                            \
		T_CHECK(t_r_ == t_w_, "%s: got %s (%d), want %s (%d)", #expr, \
			si_err_name(t_r_), t_r_, si_err_name(t_w_), t_w_);  \
	} while (0)

#define T_OK(expr) T_ERR(expr, 0)

#define T_STREQ(a, b)                                                       \
	do {                                                                \
		const char *t_a_ = (a), *t_b_ = (b);                        \
		T_CHECK(t_a_ && t_b_ && strcmp(t_a_, t_b_) == 0,            \
			"%s == %s: \"%s\" != \"%s\"", #a, #b,                \
			t_a_ ? t_a_ : "(null)", t_b_ ? t_b_ : "(null)");    \
	} while (0)

#define T_MEMEQ(a, b, n) T_CHECK(memcmp((a), (b), (n)) == 0, "%s == %s (%zu bytes)", #a, #b, (size_t)(n))

/* A test vector read whole (run from the top directory); exits 2 when it
 * cannot be read.  The caller frees it. */
static inline uint8_t *t_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b;
	long n;

	if (!f) {
		fprintf(stderr, "cannot open %s (run from the top directory)\n", path);
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	b = n >= 0 ? malloc((size_t)n + 1) : NULL;
	if (!b || fread(b, 1, (size_t)n, f) != (size_t)n)
		exit(2);
	fclose(f);
	*len = (size_t)n;
	return b;
}

static inline int t_done(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, t_pass, t_fail);
	return t_fail ? 1 : 0;
}

#endif
