/* sealinit: bounded strings. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/err.h"
#include "lib/str.h"

void si_buf_init(struct si_buf *b, char *p, size_t cap)
{
	b->p = p;
	b->cap = cap;
	b->len = 0;
	b->truncated = 0;
	if (cap)
		p[0] = '\0';
}

void si_buf_putn(struct si_buf *b, const char *s, size_t n)
{
	size_t room;

	if (!b->cap)
		return;
	room = b->cap - 1 - b->len;
	if (n > room) {
		n = room;
		b->truncated = 1;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void si_buf_puts(struct si_buf *b, const char *s)
{
	si_buf_putn(b, s, strlen(s));
}

void si_buf_vprintf(struct si_buf *b, const char *fmt, va_list ap)
{
	size_t room;
	int r;

	if (!b->cap)
		return;
	room = b->cap - b->len;
	r = vsnprintf(b->p + b->len, room, fmt, ap);
	if (r < 0)
		return;
	if ((size_t)r >= room) {
		b->len = b->cap - 1;
		b->truncated = 1;
	} else {
		b->len += (size_t)r;
	}
}

void si_buf_printf(struct si_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	si_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

size_t si_escape(char *out, size_t n, const char *in, size_t len)
{
	static const char hx[] = "0123456789abcdef";
	size_t i, o = 0;

	if (!n)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		size_t need = (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') ? 1 : 4;

		/* Keep room for "..." and the NUL when more input follows. */
		if (o + need + (i + 1 < len ? 3 : 0) + 1 > n) {
			if (o + 4 <= n) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (need == 1) {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hx[c >> 4];
			out[o++] = hx[c & 15];
		}
	}
	out[o] = '\0';
	return o;
}

void si_hex(char *out, const uint8_t *in, size_t len)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * len] = '\0';
}

void si_hex_abbrev(char *out, size_t n, const uint8_t *in, size_t len)
{
	static const char hx[] = "0123456789abcdef";
	size_t i, o = 0;

	if (!n)
		return;
	for (i = 0; i < len; i++) {
		if (o + 2 + 1 > n || (i + 1 < len && o + 2 + 3 + 1 > n)) {
			if (o + 4 <= n) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		out[o++] = hx[in[i] >> 4];
		out[o++] = hx[in[i] & 15];
	}
	out[o] = '\0';
}

static int si_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int si_unhex(uint8_t *out, size_t len, const char *s, size_t slen)
{
	size_t i;

	if (slen != 2 * len)
		return SI_E_SYNTAX;
	for (i = 0; i < slen; i++)
		if (si_hexval(s[i]) < 0)
			return SI_E_SYNTAX;
	for (i = 0; i < len; i++)
		out[i] = (uint8_t)(si_hexval(s[2 * i]) << 4 | si_hexval(s[2 * i + 1]));
	return 0;
}

int si_parse_u64(const char *s, size_t len, uint64_t min, uint64_t max,
		 uint64_t *out)
{
	uint64_t v = 0;
	unsigned base = 10;
	size_t i = 0;

	if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == len)
		return SI_E_SYNTAX;
	/* No leading zeros in decimal: "010" is ambiguous (octal?) so refused. */
	if (base == 10 && len > 1 && s[0] == '0')
		return SI_E_SYNTAX;
	for (; i < len; i++) {
		int d = base == 16 ? si_hexval(s[i]) :
			(s[i] >= '0' && s[i] <= '9' ? s[i] - '0' : -1);
		if (d < 0)
			return SI_E_SYNTAX;
		if (v > (UINT64_MAX - (uint64_t)d) / base)
			return SI_E_RANGE;
		v = v * base + (uint64_t)d;
	}
	if (v < min || v > max)
		return SI_E_RANGE;
	*out = v;
	return 0;
}

/* The messages of the errnos sealinit meets, fixed here rather than taken
 * from the C library: musl and glibc word them differently, and a line
 * sealctl doctor predicts on the host must be the line the device prints.
 * (The words are Linux's usual ones.) */
const char *si_strerror(int e)
{
	static const struct {
		int e;
		const char *s;
	} t[] = {
		{ EPERM, "Operation not permitted" },
		{ ENOENT, "No such file or directory" },
		{ EIO, "Input/output error" },
		{ ENXIO, "No such device or address" },
		{ ENOEXEC, "Exec format error" },
		{ EBADF, "Bad file descriptor" },
		{ EAGAIN, "Resource temporarily unavailable" },
		{ ENOMEM, "Cannot allocate memory" },
		{ EACCES, "Permission denied" },
		{ ENOTBLK, "Block device required" },
		{ EBUSY, "Device or resource busy" },
		{ EEXIST, "File exists" },
		{ ENODEV, "No such device" },
		{ ENOTDIR, "Not a directory" },
		{ EISDIR, "Is a directory" },
		{ EINVAL, "Invalid argument" },
		{ EFBIG, "File too large" },
		{ ENOSPC, "No space left on device" },
		{ EROFS, "Read-only file system" },
		{ ENAMETOOLONG, "File name too long" },
		{ ENOSYS, "Function not implemented" },
		{ ELOOP, "Too many levels of symbolic links" },
		{ ENODATA, "No data available" },
		{ EKEYREJECTED, "Key was rejected by service" },
		{ ENOKEY, "Required key not available" },
		{ EBADMSG, "Bad message" },
	};
	size_t i;

	for (i = 0; i < SI_ARRAY_SIZE(t); i++)
		if (t[i].e == e)
			return t[i].s;
	return strerror(e);
}

#define SI_PATH_MAX 255

int si_path_ok(const uint8_t *s, size_t n)
{
	size_t i, start;

	if (n == 0 || n > SI_PATH_MAX || s[0] != '/')
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	if (n == 1)
		return 1;
	start = 1;
	for (i = 1; i <= n; i++) {
		if (i == n || s[i] == '/') {
			size_t len = i - start;
			if (len == 0)
				return 0;
			if (len == 1 && s[start] == '.')
				return 0;
			if (len == 2 && s[start] == '.' && s[start + 1] == '.')
				return 0;
			start = i + 1;
		} else if (s[i] == ' ') {
			return 0;
		}
	}
	return 1;
}

int si_path_under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	if (n == 1 && prefix[0] == '/')
		return path[0] == '/';
	return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

