/* sealinit: PID 1's log. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "init/log.h"
#include "lib/str.h"

static int log_level = CONFIG_LOG_LEVEL;
static int console_fd = -1, kmsg_fd = -1, opened;

/* The kernel rate-limits each /dev/kmsg opener to 10 lines per 5 s while
 * the sysctl printk_devkmsg is "ratelimit" (its default), so most of a
 * boot's lines would be missing from dmesg.  While sealinit runs it is "on";
 * si_log_handoff() puts "ratelimit" back.  Kept open from si_log_open() to
 * then, so the restore does not depend on where /proc is after
 * switch_root; -1 when sealinit changed nothing. */
static int devkmsg_fd = -1;

/* Lines kept until /dev/kmsg opens: "<L>text\n" records back to back. */
static char early[CONFIG_LOG_BUFFER_KB * 1024];
static size_t early_len;
static unsigned early_dropped;

void si_log_set_level(int level)
{
	log_level = level;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void kmsg_line(int level, const char *text, size_t n)
{
	char rec[1100];
	int k = snprintf(rec, sizeof rec, "<%d>%.*s", level, (int)n, text);

	if (k <= 0)
		return;
	if ((size_t)k >= sizeof rec)
		k = sizeof rec - 1;
	if (kmsg_fd >= 0) {
		write_all(kmsg_fd, rec, (size_t)k);
		return;
	}
	if (early_len + (size_t)k + 1 > sizeof early) {
		early_dropped++;
		return;
	}
	memcpy(early + early_len, rec, (size_t)k);
	early[early_len + (size_t)k] = '\n';
	early_len += (size_t)k + 1;
}

static void emit(int level, const char *raw, size_t rn)
{
	/* One event, one line: whatever reached the text (a file name, a
	 * label, a manifest string that a caller forgot to escape), control
	 * bytes and non-ASCII are shown as \xNN, so nothing can end the line,
	 * forge another "sealinit:" line or drive the terminal. */
	static const char hx[] = "0123456789abcdef";
	char text[1200];
	size_t n = 0, i;

	for (i = 0; i < rn && n + 5 < sizeof text; i++) {
		unsigned char ch = (unsigned char)raw[i];

		if (ch >= 0x20 && ch < 0x7f) {
			text[n++] = (char)ch;
			continue;
		}
		text[n++] = '\\';
		text[n++] = 'x';
		text[n++] = hx[ch >> 4];
		text[n++] = hx[ch & 15];
	}
	text[n] = '\0';

	/* The console gets what the level allows; errors always. */
	if (level <= log_level || level <= SI_LOG_ERR) {
		int fd = console_fd >= 0 ? console_fd : (opened ? -1 : STDOUT_FILENO);
		if (fd >= 0) {
			write_all(fd, text, n);
			write_all(fd, "\n", 1);
		}
	}
	kmsg_line(level, text, n);
}

/* 0 or an errno.  The sysctl takes a whole value at offset 0, newline
 * included (the kernel refuses "on" without it).  EINVAL when
 * printk.devkmsg= on the command line locked it: the integrator chose, so
 * sealinit leaves it and prints nothing. */
static int devkmsg_write(const char *val)
{
	size_t n = strlen(val);
	ssize_t w = pwrite(devkmsg_fd, val, n, 0);

	return w == (ssize_t)n ? 0 : w < 0 ? errno : EIO;
}

static void devkmsg_on(void)
{
	static const char rl[] = "ratelimit\n";
	char cur[sizeof rl];
	ssize_t n;

	devkmsg_fd = open("/proc/sys/kernel/printk_devkmsg", O_RDWR | O_CLOEXEC);
	if (devkmsg_fd < 0)
		return;
	n = pread(devkmsg_fd, cur, sizeof cur, 0);
	if (n != (ssize_t)sizeof rl - 1 || memcmp(cur, rl, sizeof rl - 1) != 0 ||
	    devkmsg_write("on\n") != 0) {
		close(devkmsg_fd);
		devkmsg_fd = -1;
	}
}

void si_log_handoff(void)
{
	int e;

	if (devkmsg_fd < 0)
		return;
	e = devkmsg_write("ratelimit\n");
	close(devkmsg_fd);
	devkmsg_fd = -1;
	if (e)
		si_log(SI_LOG_WARN, "sealinit: log: could not set printk_devkmsg back to 'ratelimit' (errno %d)", e);
}

void si_log_open(const char *console)
{
	size_t i, start;

	opened = 1;
	console_fd = open(console, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (console_fd < 0)
		console_fd = fcntl(STDOUT_FILENO, F_GETFD) >= 0 ? STDOUT_FILENO : -1;
	kmsg_fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (kmsg_fd < 0)
		return;
	/* Before the replay: the buffered lines count against the limit too. */
	devkmsg_on();
	for (i = start = 0; i < early_len; i++)
		if (early[i] == '\n') {
			write_all(kmsg_fd, early + start, i - start);
			start = i + 1;
		}
	early_len = 0;
	if (early_dropped)
		si_log(SI_LOG_WARN, "sealinit: log: %u early lines were dropped (raise CONFIG_LOG_BUFFER_KB)",
		       early_dropped);
}

void si_log(int level, const char *fmt, ...)
{
	char line[1024];
	struct si_buf b;
	va_list ap;

	si_buf_init(&b, line, sizeof line);
	va_start(ap, fmt);
	si_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	emit(level, line, b.len);
}

void si_log_error(const char *stage, const char *what, int err,
		  const struct si_diag *d)
{
	char line[1024];

	si_error_line(line, sizeof line, stage, what, err, d);
	si_log(SI_LOG_ERR, "%s", line);
	if (*si_err_check(err))
		si_log(SI_LOG_ERR, "sealinit: hint: %s", si_err_check(err));
}
