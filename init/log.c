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

static void emit(int level, const char *text, size_t n)
{
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
	char msg[512];

	si_diag_format(d, err, msg, sizeof msg);
	si_log(SI_LOG_ERR, "sealinit: %s: %s: %s [%s]", stage, what, msg, si_err_name(err));
	if (*si_err_check(err))
		si_log(SI_LOG_ERR, "sealinit: hint: %s", si_err_check(err));
}
