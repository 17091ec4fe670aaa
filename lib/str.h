/* sealinit: bounded strings.  Everything here writes at most `n` bytes,
 * always NUL-terminates when n > 0, and never reads past `len`. */
#ifndef SEALINIT_LIB_STR_H
#define SEALINIT_LIB_STR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/bytes.h"

/* A bounded string builder: appends past the end are cut, never overflow. */
struct si_buf {
	char *p;
	size_t cap, len;
	int truncated;
};

void si_buf_init(struct si_buf *b, char *p, size_t cap);
void si_buf_puts(struct si_buf *b, const char *s);
void si_buf_putn(struct si_buf *b, const char *s, size_t n);
void si_buf_printf(struct si_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void si_buf_vprintf(struct si_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Copies untrusted bytes for display: printable ASCII stays, the rest
 * becomes \xNN; output longer than `n` ends in "...".  Returns strlen. */
size_t si_escape(char *out, size_t n, const char *in, size_t len);

/* Lower-case hex of `len` bytes; out must hold 2*len+1. */
void si_hex(char *out, const uint8_t *in, size_t len);
/* Hex, abbreviated with "..." when it does not fit in n. */
void si_hex_abbrev(char *out, size_t n, const uint8_t *in, size_t len);
/* Parses exactly 2*len hex digits (either case) from s[0..slen). */
int si_unhex(uint8_t *out, size_t len, const char *s, size_t slen) SI_WUR;

/* Strict numbers from text: decimal, or 0x-prefixed hex; the whole of
 * s[0..len) is consumed; no sign, no spaces; value in [min, max].
 * Returns 0, SI_E_SYNTAX or SI_E_RANGE; *out written on success only. */
int si_parse_u64(const char *s, size_t len, uint64_t min, uint64_t max,
		 uint64_t *out) SI_WUR;

const char *si_strerror(int e);

/* An absolute normalised path: "/", or "/a/b" with no empty, "." or ".."
 * components, no trailing slash, printable ASCII without spaces, 1..255
 * bytes.  The syntax of manifests' overlay targets and anchors' lists. */
int si_path_ok(const uint8_t *s, size_t n);

/* 1 when path is prefix or lies below it, component-wise ("/opt" holds
 * "/opt/app", not "/optimal"); both absolute and normalised.  "/" holds
 * every path. */
int si_path_under(const char *path, const char *prefix);

#endif
