/* Unit tests for lib/: strict numbers, escaping, hex, the error table,
 * whole reads and writes at an offset. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/fdio.h"
#include "lib/str.h"
#include "tests/unit/t.h"

static void test_parse_u64(void)
{
	static const struct {
		const char *s;
		uint64_t min, max;
		int err;
		uint64_t want;
	} cases[] = {
		{ "0", 0, 10, 0, 0 },
		{ "10", 0, 10, 0, 10 },
		{ "11", 0, 10, SI_E_RANGE, 0 },
		{ "0x1f", 0, 100, 0, 31 },
		{ "0X1F", 0, 100, 0, 31 },
		{ "", 0, 10, SI_E_SYNTAX, 0 },
		{ "0x", 0, 10, SI_E_SYNTAX, 0 },
		{ "010", 0, 100, SI_E_SYNTAX, 0 },
		{ "1 ", 0, 10, SI_E_SYNTAX, 0 },
		{ "-1", 0, 10, SI_E_SYNTAX, 0 },
		{ "+1", 0, 10, SI_E_SYNTAX, 0 },
		{ "18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX },
		{ "18446744073709551616", 0, UINT64_MAX, SI_E_RANGE, 0 },
		{ "0x10000000000000000", 0, UINT64_MAX, SI_E_RANGE, 0 },
		{ "5", 6, 10, SI_E_RANGE, 0 },
	};
	size_t i;

	for (i = 0; i < SI_ARRAY_SIZE(cases); i++) {
		uint64_t v = 12345;
		int r = si_parse_u64(cases[i].s, strlen(cases[i].s), cases[i].min,
				     cases[i].max, &v);
		T_CHECK(r == cases[i].err, "parse '%s': got %s want %s", cases[i].s,
			si_err_name(r), si_err_name(cases[i].err));
		T_CHECK(v == (r ? 12345u : cases[i].want), "parse '%s': value %llu", cases[i].s,
			(unsigned long long)v);
	}
}

static void test_escape(void)
{
	char out[16];

	si_escape(out, sizeof out, "abc", 3);
	T_STREQ(out, "abc");
	si_escape(out, sizeof out, "a\nb\0c", 5);
	T_STREQ(out, "a\\x0ab\\x00c");
	si_escape(out, sizeof out, "0123456789abcdefghij", 20);
	T_STREQ(out, "0123456789ab...");
	T_EQ(strlen(out), 15);
	si_escape(out, 4, "abcdef", 6);
	T_STREQ(out, "...");
}

static void test_hex(void)
{
	uint8_t b[3] = { 0x00, 0xab, 0xff }, back[3];
	char h[7], abbrev[8];

	si_hex(h, b, 3);
	T_STREQ(h, "00abff");
	T_OK(si_unhex(back, 3, "00ABff", 6));
	T_MEMEQ(back, b, 3);
	T_ERR(si_unhex(back, 3, "00abf", 5), SI_E_SYNTAX);
	T_ERR(si_unhex(back, 3, "00abfg", 6), SI_E_SYNTAX);
	si_hex_abbrev(abbrev, sizeof abbrev, b, 3);
	T_STREQ(abbrev, "00abff");
	si_hex_abbrev(abbrev, 6, b, 3);
	T_STREQ(abbrev, "00...");
}

static void test_err_table(void)
{
	struct si_diag d;
	char line[200];

	T_STREQ(si_err_name(SI_E_SHORT), "SI_E_SHORT");
	T_STREQ(si_err_name(-99999), "SI_E_UNKNOWN");
	T_EQ(si_err_cause(SI_E_ANCHOR_MISSING), SI_CAUSE_INPUT);
	si_diag_clear(&d);
	si_diag_field(&d, "footer.magic");
	si_diag_offset(&d, 4096);
	si_diag_text(&d, "SEAL", "XXXX");
	si_diag_format(&d, SI_E_SHORT, line, sizeof line);
	T_STREQ(line, "input ends early (field footer.magic at offset 4096: expected SEAL, found XXXX)");
	si_diag_clear(&d);
	si_diag_values(&d, 65, 64);
	si_diag_format(&d, SI_E_ANCHOR_KEYLEN, line, sizeof line);
	T_STREQ(line, "public key has the wrong length for its algorithm (expected 65, found 64)");
}

/* An unlinked temporary file, or -1 (the failure counted). */
static int tmp_fd(void)
{
	char path[] = "/tmp/sealinit-test-fdio-XXXXXX";
	int fd = mkstemp(path);

	T_CHECK(fd >= 0, "mkstemp: %s", strerror(errno));
	if (fd >= 0)
		unlink(path);
	return fd;
}

/* A write larger than one pwrite call moves (256 KiB: lib/fdio.c) lands
 * whole and in place, into a file sized first as the patch apply sizes
 * its output. */
static void test_fdio_large(void)
{
	static uint8_t in[600001], out[600001 + 14];
	size_t i;
	int fd = tmp_fd();

	if (fd < 0)
		return;
	for (i = 0; i < sizeof in; i++)
		in[i] = (uint8_t)(i * 13 + i / 251);
	T_EQ(ftruncate(fd, (off_t)sizeof out), 0);
	T_OK(si_pwrite_full(fd, 7, in, sizeof in, NULL));
	T_OK(si_pread_full(fd, 0, out, sizeof out, NULL));
	T_MEMEQ(out + 7, in, sizeof in);
	T_EQ(out[6], 0);
	T_EQ(out[7 + sizeof in], 0);
	close(fd);
}

static void test_fdio(void)
{
	uint8_t in[5000], out[5000];
	struct si_diag d;
	size_t i;
	int fd = tmp_fd();

	if (fd < 0)
		return;
	for (i = 0; i < sizeof in; i++)
		in[i] = (uint8_t)(i * 7 + 1);
	T_OK(si_pwrite_full(fd, 100, in, sizeof in, NULL));   /* a hole, then data */
	T_OK(si_pread_full(fd, 100, out, sizeof out, NULL));
	T_MEMEQ(in, out, sizeof in);
	memset(out, 0xff, sizeof out);
	T_OK(si_pread_full(fd, 0, out, 100, NULL));
	T_EQ(out[0], 0);
	T_EQ(out[99], 0);
	T_OK(si_pread_full(fd, 5099, out, 1, NULL));           /* the last byte */
	T_EQ(out[0], in[4999]);
	T_ERR(si_pread_full(fd, 5099, out, 2, NULL), SI_E_SHORT); /* one byte short */
	T_ERR(si_pread_full(fd, 5100, out, 1, NULL), SI_E_SHORT);
	T_OK(si_pread_full(fd, 5100, out, 0, NULL));
	close(fd);
	test_fdio_large();
	/* A refusal is SI_E_IO with the errno in the diagnostic, never -errno. */
	si_diag_clear(&d);
	T_ERR(si_pread_full(fd, 0, out, 1, &d), SI_E_IO);
	T_EQ(d.sys_errno, EBADF);
	T_CHECK(d.flags & SI_DIAG_ERRNO, "errno flag set");
	si_diag_clear(&d);
	T_ERR(si_pwrite_full(fd, 0, in, 1, &d), SI_E_IO);
	T_EQ(d.sys_errno, EBADF);
}

/* si_read_file: whole small files, never cut, regular files only, and
 * nothing that can block (a FIFO) or redirect (a symlink). */
static void test_read_file(void)
{
	char dir[] = "/tmp/sealinit-test-rf-XXXXXX", p[128], q[128];
	uint8_t buf[16];
	struct si_diag d;
	size_t len = 99;
	int fd;

	T_CHECK(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
	snprintf(p, sizeof p, "%s/f", dir);
	fd = open(p, O_WRONLY | O_CREAT, 0644);
	T_CHECK(fd >= 0 && write(fd, "0123456789", 10) == 10, "write %s", p);
	close(fd);
	T_OK(si_read_file(p, 0, buf, sizeof buf, &len, NULL));
	T_EQ(len, 10);
	T_MEMEQ(buf, "0123456789", 10);
	/* cap 10: a 10-byte file does not fit (room for one more is needed) */
	si_diag_clear(&d);
	len = 99;
	T_ERR(si_read_file(p, 0, buf, 10, &len, &d), SI_E_TOO_BIG);
	T_EQ(len, 99);
	T_EQ(d.expected, 9);
	T_EQ(d.found, 10);
	/* missing */
	snprintf(q, sizeof q, "%s/missing", dir);
	si_diag_clear(&d);
	T_ERR(si_read_file(q, 0, buf, sizeof buf, &len, &d), SI_E_OPEN);
	T_EQ(d.sys_errno, ENOENT);
	/* a symlink to the regular file: refused, not followed */
	snprintf(q, sizeof q, "%s/link", dir);
	T_CHECK(symlink(p, q) == 0, "symlink");
	si_diag_clear(&d);
	T_ERR(si_read_file(q, 0, buf, sizeof buf, &len, &d), SI_E_OPEN);
	T_EQ(d.sys_errno, ELOOP);
	unlink(q);
	/* a FIFO with no writer: refused at once, does not block */
	snprintf(q, sizeof q, "%s/fifo", dir);
	T_CHECK(mkfifo(q, 0644) == 0, "mkfifo");
	si_diag_clear(&d);
	T_ERR(si_read_file(q, 0, buf, sizeof buf, &len, &d), SI_E_FILE_TYPE);
	T_STREQ(d.found_s, "FIFO");
	unlink(q);
	/* a directory */
	si_diag_clear(&d);
	T_ERR(si_read_file(dir, 0, buf, sizeof buf, &len, &d), SI_E_FILE_TYPE);
	T_STREQ(d.found_s, "directory");
	unlink(p);
	rmdir(dir);
}

int main(void)
{
	test_fdio();
	test_read_file();
	test_parse_u64();
	test_escape();
	test_hex();
	test_err_table();
	return t_done("test_lib");
}
