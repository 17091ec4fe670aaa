/* sealctl: helpers shared by the commands. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/sealctl.h"

void sealctl_msg(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sealctl: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int sealctl_report(const char *cmd, const char *what, int err,
		   const struct si_diag *d)
{
	char line[512];

	si_diag_format(d, err, line, sizeof line);
	fprintf(stderr, "sealctl: %s: %s: %s [%s]\n", cmd, what, line,
		si_err_name(err));
	if (*si_err_check(err))
		fprintf(stderr, "sealctl: hint: %s\n", si_err_check(err));
	switch (si_err_cause(err)) {
	case SI_CAUSE_SYSTEM:
	case SI_CAUSE_LIMIT:
		return SEALCTL_SYSTEM;
	case SI_CAUSE_NONE:
	case SI_CAUSE_INPUT:
	case SI_CAUSE_UNSUPPORTED:
	case SI_CAUSE_TRUST:
		return SEALCTL_FAIL;
	}
	return SEALCTL_FAIL;
}

int sealctl_read_file(const char *path, size_t max, uint8_t **out, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return SI_E_OPEN;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return SI_E_IO;
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return SI_E_TOO_BIG;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		close(fd);
		return SI_E_NOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(buf);
			close(fd);
			return r == 0 ? SI_E_SHORT : SI_E_IO;
		}
		got += (size_t)r;
	}
	close(fd);
	*out = buf;
	*len = got;
	return 0;
}

int sealctl_write_file(const char *path, const void *data, size_t len)
{
	char tmp[4096], dir[4096];
	const uint8_t *p = data;
	int fd, dfd;

	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return SI_E_ARG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return SI_E_OPEN;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			unlink(tmp);
			return SI_E_IO;
		}
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		unlink(tmp);
		return SI_E_IO;
	}
	if (rename(tmp, path) != 0) {
		unlink(tmp);
		return SI_E_IO;
	}
	snprintf(dir, sizeof dir, "%s", path);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}
