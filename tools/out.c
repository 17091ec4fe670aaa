/* sealctl: outputs; see tools/out.h. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/fs.h>

#include "lib/fdio.h"
#include "tools/out.h"

/* renameat2(RENAME_NOREPLACE) through the system call: musl's headers
 * (the device's sealctl) do not declare the wrapper. */
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
static int rename_noreplace(const char *from, const char *to)
{
#ifdef SYS_renameat2
	return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
#else
	(void)from;
	(void)to;
	errno = ENOSYS;
	return -1;
#endif
}
#include "tools/sealctl.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

/* ------------------------------------------------ temporaries and signals */
#define TMP_MAX_LIVE 8
static char tmp_live[TMP_MAX_LIVE][PATH_MAX];
static volatile sig_atomic_t tmp_used[TMP_MAX_LIVE];
static int tmp_handlers;

static void on_signal(int sig)
{
	int i;

	for (i = 0; i < TMP_MAX_LIVE; i++)
		if (tmp_used[i])
			unlink(tmp_live[i]); /* async-signal-safe */
	signal(sig, SIG_DFL);
	raise(sig);
}

void sealctl_tmp_register(const char *path)
{
	int i;

	if (!tmp_handlers) {
		struct sigaction sa;

		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		tmp_handlers = 1;
	}
	for (i = 0; i < TMP_MAX_LIVE; i++)
		if (!tmp_used[i]) {
			snprintf(tmp_live[i], sizeof tmp_live[i], "%s", path);
			tmp_used[i] = 1;
			return;
		}
}

void sealctl_tmp_forget(const char *path)
{
	int i;

	for (i = 0; i < TMP_MAX_LIVE; i++)
		if (tmp_used[i] && !strcmp(tmp_live[i], path))
			tmp_used[i] = 0;
}

/* ------------------------------------------------------------ same file */
static int same(const struct stat *a, const struct stat *b)
{
	if ((S_ISBLK(a->st_mode) && S_ISBLK(b->st_mode)) ||
	    (S_ISCHR(a->st_mode) && S_ISCHR(b->st_mode)))
		return a->st_rdev == b->st_rdev;
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

int sealctl_out_check(const char *cmd, const char *out, const char *const *inputs, size_t n)
{
	struct stat so, si, sd;
	char dir[PATH_MAX], *d;
	size_t i;
	int have = stat(out, &so) == 0;

	/* The directory the output goes to, for "inside an input directory". */
	snprintf(dir, sizeof dir, "%s", out);
	d = dirname(dir);
	for (i = 0; i < n; i++) {
		if (!inputs[i] || stat(inputs[i], &si) != 0)
			continue;
		if (have && same(&so, &si) && !S_ISCHR(so.st_mode))
			return sealctl_usage_error(cmd, "the output %s is the input %s: refusing to "
						   "overwrite an input", out, inputs[i]);
		if (S_ISDIR(si.st_mode)) {
			char walk[PATH_MAX], *w;

			/* Walk up from the output's directory to the root. */
			if (!realpath(d, walk))
				continue;
			for (;;) {
				if (stat(walk, &sd) == 0 && same(&sd, &si))
					return sealctl_usage_error(cmd, "the output %s is inside the "
								   "input directory %s", out, inputs[i]);
				w = strrchr(walk, '/');
				if (!w || w == walk)
					break;
				*w = '\0';
			}
		}
	}
	return 0;
}

int sealctl_out_distinct(const char *cmd, const char *a, const char *b)
{
	struct stat sa, sb;

	if (!a || !b)
		return 0;
	if (!strcmp(a, b) || (stat(a, &sa) == 0 && stat(b, &sb) == 0 && same(&sa, &sb)))
		return sealctl_usage_error(cmd, "two outputs name the same file: %s and %s", a, b);
	return 0;
}

/* --------------------------------------------------------------- writing */
static int fsync_dir(const char *path)
{
	char buf[PATH_MAX];
	int fd, r = 0;

	snprintf(buf, sizeof buf, "%s", path);
	fd = open(dirname(buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	if (fsync(fd) != 0 && errno != EINVAL)
		r = errno;
	close(fd);
	return r;
}

int sealctl_out_open(const char *cmd, const char *path, unsigned flags, struct sealctl_out *o)
{
	struct stat st;
	char dir[PATH_MAX], base[PATH_MAX];
	mode_t mask;
	int e;

	memset(o, 0, sizeof o[0]);
	o->path = path;
	o->fd = -1;
	o->flags = flags;
	if (!path[0])
		return sealctl_usage_error(cmd, "an empty output name");
	if (snprintf(o->target, sizeof o->target, "%s", path) >= (int)sizeof o->target)
		return sealctl_usage_error(cmd, "output name too long: %s", path);
	if (stat(path, &st) == 0) {
		struct si_diag d;

		if (S_ISBLK(st.st_mode) && (flags & SEALCTL_OUT_DEVICE)) {
			o->kind = SEALCTL_OUT_BLK;
			o->fd = open(path, O_RDWR | O_CLOEXEC);
			if (o->fd < 0)
				return sealctl_report_errno(cmd, path, SI_E_OPEN, errno);
			if (ioctl(o->fd, BLKGETSIZE64, &o->dev_size) != 0) {
				e = errno;
				close(o->fd);
				o->fd = -1;
				return sealctl_report_errno(cmd, path, SI_E_IO, e);
			}
			return 0;
		}
		if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) {
			o->kind = SEALCTL_OUT_CHR;
			o->fd = open(path, O_WRONLY | O_CLOEXEC);
			if (o->fd < 0)
				return sealctl_report_errno(cmd, path, SI_E_OPEN, errno);
			return 0;
		}
		if (!S_ISREG(st.st_mode)) {
			si_diag_clear(&d);
			si_diag_text(&d, flags & SEALCTL_OUT_DEVICE ? "regular file or block device"
								   : "regular file",
				     si_file_type_name(st.st_mode));
			return sealctl_report(cmd, path, SI_E_FILE_TYPE, &d);
		}
		if (flags & SEALCTL_OUT_NOCLOBBER)
			return sealctl_usage_error(cmd, "%s exists; --force replaces it", path);
		/* A symbolic link keeps pointing where it did: its target is replaced. */
		if (!realpath(path, o->target))
			return sealctl_report_errno(cmd, path, SI_E_OPEN, errno);
	}
	o->kind = SEALCTL_OUT_FILE;
	snprintf(dir, sizeof dir, "%s", o->target);
	snprintf(base, sizeof base, "%s", o->target);
	if (snprintf(o->tmp, sizeof o->tmp, "%s/.%s.sealctl-XXXXXX", dirname(dir),
		     basename(base)) >= (int)sizeof o->tmp)
		return sealctl_usage_error(cmd, "output name too long: %s", path);
	o->fd = mkostemp(o->tmp, O_CLOEXEC);
	if (o->fd < 0) {
		e = errno;
		o->tmp[0] = '\0';
		return sealctl_report_errno(cmd, path, SI_E_CREATE, e);
	}
	sealctl_tmp_register(o->tmp);
	mask = umask(0);
	umask(mask);
	if (fchmod(o->fd, (flags & SEALCTL_OUT_PRIVATE) ? 0600 : (0666 & ~mask)) != 0) {
		e = errno;
		sealctl_out_abort(o);
		return sealctl_report_errno(cmd, path, SI_E_CREATE, e);
	}
	return 0;
}

static int write_fail(const char *cmd, struct sealctl_out *o, int e)
{
	sealctl_out_abort(o);
	return sealctl_report_errno(cmd, o->path, SI_E_WRITE, e);
}

int sealctl_out_write(const char *cmd, struct sealctl_out *o, uint64_t off, const void *p,
		      size_t n)
{
	struct si_diag d;

	if (o->kind == SEALCTL_OUT_CHR) {
		const uint8_t *b = p;

		while (n) {
			ssize_t w = write(o->fd, b, n);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return write_fail(cmd, o, w < 0 ? errno : EIO);
			b += w;
			n -= (size_t)w;
		}
		return 0;
	}
	if (o->kind == SEALCTL_OUT_BLK && (off > o->dev_size || n > o->dev_size - off))
		return write_fail(cmd, o, ENOSPC);
	si_diag_clear(&d);
	if (si_pwrite_full(o->fd, off, p, n, &d) != 0)
		return write_fail(cmd, o, d.sys_errno ? d.sys_errno : EIO);
	return 0;
}

int sealctl_out_zero(const char *cmd, struct sealctl_out *o, uint64_t off, uint64_t n)
{
	static const uint8_t zero[65536];
	int r;

	/* A block device may zero the aligned middle itself. */
	if (o->kind == SEALCTL_OUT_BLK && n >= (1u << 20)) {
		uint64_t a = (off + 511) & ~(uint64_t)511, b = (off + n) & ~(uint64_t)511;
		uint64_t range[2] = { a, b - a };

		if (b > a && ioctl(o->fd, BLKZEROOUT, range) == 0) {
			if ((r = sealctl_out_zero(cmd, o, off, a - off)) != 0)
				return r;
			return sealctl_out_zero(cmd, o, b, off + n - b);
		}
	}
	while (n) {
		size_t k = n < sizeof zero ? (size_t)n : sizeof zero;

		if ((r = sealctl_out_write(cmd, o, off, zero, k)) != 0)
			return r;
		off += k;
		n -= k;
	}
	return 0;
}

int sealctl_out_size(const char *cmd, struct sealctl_out *o, uint64_t size)
{
	if (o->kind != SEALCTL_OUT_FILE)
		return 0;
	if (ftruncate(o->fd, (off_t)size) != 0)
		return write_fail(cmd, o, errno);
	return 0;
}

int sealctl_out_commit(const char *cmd, struct sealctl_out *o)
{
	int e;

	if (o->kind == SEALCTL_OUT_CHR) {
		close(o->fd);
		o->fd = -1;
		return 0;
	}
	if (fsync(o->fd) != 0)
		return write_fail(cmd, o, errno);
	if (close(o->fd) != 0) {
		o->fd = -1;
		return write_fail(cmd, o, errno);
	}
	o->fd = -1;
	if (o->kind == SEALCTL_OUT_BLK)
		return 0;
	if (o->flags & SEALCTL_OUT_NOCLOBBER) {
		/* Replace nothing, even a file that appeared meanwhile. */
		if (rename_noreplace(o->tmp, o->target) != 0) {
			e = errno;
			if (e == EEXIST) {
				sealctl_out_abort(o);
				return sealctl_usage_error(cmd, "%s exists; --force replaces it", o->path);
			}
			if (e != EINVAL && e != ENOSYS)
				return write_fail(cmd, o, e);
			if (link(o->tmp, o->target) != 0) {
				e = errno;
				sealctl_out_abort(o);
				if (e == EEXIST)
					return sealctl_usage_error(cmd, "%s exists; --force replaces it",
								   o->path);
				return sealctl_report_errno(cmd, o->path, SI_E_CREATE, e);
			}
			unlink(o->tmp);
		}
	} else if (rename(o->tmp, o->target) != 0) {
		e = errno;
		sealctl_out_abort(o);
		return sealctl_report_errno(cmd, o->path, SI_E_CREATE, e);
	}
	sealctl_tmp_forget(o->tmp);
	o->tmp[0] = '\0';
	e = fsync_dir(o->target);
	if (e)
		return sealctl_report_errno(cmd, o->path, SI_E_WRITE, e);
	return 0;
}

void sealctl_out_abort(struct sealctl_out *o)
{
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	if (o->tmp[0]) {
		unlink(o->tmp);
		sealctl_tmp_forget(o->tmp);
		o->tmp[0] = '\0';
	}
}

int sealctl_out_file(const char *cmd, const char *path, unsigned flags, const void *data,
		     size_t len)
{
	struct sealctl_out o;
	int r;

	r = sealctl_out_open(cmd, path, flags, &o);
	if (r)
		return r;
	r = sealctl_out_write(cmd, &o, 0, data, len);
	if (r)
		return r;
	return sealctl_out_commit(cmd, &o);
}
