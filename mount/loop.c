/* sealinit mount/: read-only loop devices.
 *
 * Free device: LOOP_CTL_GET_FREE on /dev/loop-control.  Another process can
 * configure the same device between our GET_FREE and our CONFIGURE; the
 * kernel then answers EBUSY and we ask for another one (util-linux does the
 * same).  Configuration: LOOP_CONFIGURE (Linux 5.8) in one step, else
 * LOOP_SET_FD + LOOP_SET_STATUS64.  LO_FLAGS_READ_ONLY comes from opening
 * the backing file read-only as well, so the fallback is read-only too.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/loop.h>

#include "lib/str.h"
#include "mount/mount.h"

#define LOOP_MAJOR_NR 7
#define LOOP_TRIES 16

enum { LOOP_TRY_OK, LOOP_TRY_BUSY, LOOP_TRY_FAIL };

static void loop_info_fill(struct loop_info64 *info, const char *file,
			   uint64_t offset, uint64_t size, uint32_t flags)
{
	const char *base = strrchr(file, '/');
	size_t n;

	memset(info, 0, sizeof *info);
	info->lo_offset = offset;
	info->lo_sizelimit = size;
	info->lo_flags = flags;
	/* Informational only (losetup -l shows it). */
	base = base ? base + 1 : file;
	n = strnlen(base, LO_NAME_SIZE - 1);
	memcpy(info->lo_file_name, base, n);
}

/* Configures the open loop device lfd on backing fd bfd.
 * Returns LOOP_TRY_*; *e is the errno of a failure. */
static int loop_configure(int lfd, int bfd, const char *file, uint64_t offset,
			  uint64_t size, unsigned flags, int *dio, int *e,
			  const char **step)
{
	struct loop_config cfg;
	uint32_t lf = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR;
	int want_dio = (flags & LOOP_ATTACH_DIRECT_IO) != 0;

	for (;;) {
		memset(&cfg, 0, sizeof cfg);
		cfg.fd = (uint32_t)bfd;
		loop_info_fill(&cfg.info, file, offset, size,
			       lf | (want_dio ? LO_FLAGS_DIRECT_IO : 0));
		*step = "LOOP_CONFIGURE";
		if (ioctl(lfd, LOOP_CONFIGURE, &cfg) == 0) {
			*dio = want_dio;
			return LOOP_TRY_OK;
		}
		*e = errno;
		if (*e == EBUSY)
			return LOOP_TRY_BUSY;
		if (*e == EINVAL && want_dio) {
			want_dio = 0; /* backing file system without O_DIRECT */
			continue;
		}
		if (*e != EINVAL && *e != ENOTTY)
			return LOOP_TRY_FAIL;
		break;
	}

	/* Kernels before 5.8. */
	*step = "LOOP_SET_FD";
	if (ioctl(lfd, LOOP_SET_FD, bfd) != 0) {
		*e = errno;
		return *e == EBUSY ? LOOP_TRY_BUSY : LOOP_TRY_FAIL;
	}
	loop_info_fill(&cfg.info, file, offset, size, LO_FLAGS_AUTOCLEAR);
	*step = "LOOP_SET_STATUS64";
	if (ioctl(lfd, LOOP_SET_STATUS64, &cfg.info) != 0) {
		*e = errno;
		(void)ioctl(lfd, LOOP_CLR_FD, 0);
		return LOOP_TRY_FAIL;
	}
	*dio = 0;
	if ((flags & LOOP_ATTACH_DIRECT_IO) &&
	    ioctl(lfd, LOOP_SET_DIRECT_IO, 1UL) == 0)
		*dio = 1;
	return LOOP_TRY_OK;
}

int loop_dev_attach(const char *file, uint64_t offset, uint64_t size,
		    unsigned flags, struct loop_dev *out, struct si_diag *d)
{
	int bfd, r;

	if (!file || !out || (flags & ~(unsigned)LOOP_ATTACH_DIRECT_IO))
		return SI_E_ARG;
	bfd = open(file, O_RDONLY | O_CLOEXEC);
	if (bfd < 0) {
		si_diag_where(d, file, strlen(file));
		si_diag_field(d, "loop.file");
		si_diag_errno(d, errno);
		return SI_E_OPEN;
	}
	r = loop_dev_attach_fd(bfd, file, offset, size, flags, out, d);
	close(bfd); /* the loop device holds its own reference */
	return r;
}

int loop_dev_attach_fd(int bfd, const char *file, uint64_t offset, uint64_t size,
		       unsigned flags, struct loop_dev *out, struct si_diag *d)
{
	struct loop_dev lo;
	const char *step = "";
	int ctl = -1, lfd = -1, r, e = 0, tries, n;

	if (bfd < 0 || !file || !out || (flags & ~(unsigned)LOOP_ATTACH_DIRECT_IO))
		return SI_E_ARG;
	memset(&lo, 0, sizeof lo);
	lo.fd = -1;
	si_diag_where(d, file, strlen(file));

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		si_diag_field(d, "/dev/loop-control");
		si_diag_errno(d, errno);
		r = SI_E_OPEN;
		goto out;
	}
	r = SI_E_LOOP_BUSY;
	for (tries = 0; tries < LOOP_TRIES; tries++) {
		struct si_buf b;
		int t;

		n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0) {
			si_diag_field(d, "LOOP_CTL_GET_FREE");
			si_diag_errno(d, errno);
			r = SI_E_LOOP;
			goto out;
		}
		si_buf_init(&b, lo.path, sizeof lo.path);
		si_buf_printf(&b, "/dev/loop%d", n);
		r = blk_node_ensure(lo.path, LOOP_MAJOR_NR, (unsigned)n, 0, d);
		if (r)
			goto out;
		lfd = open(lo.path, O_RDWR | O_CLOEXEC);
		if (lfd < 0 && (errno == EROFS || errno == EACCES))
			lfd = open(lo.path, O_RDONLY | O_CLOEXEC);
		if (lfd < 0) {
			si_diag_field(d, "loop.open");
			si_diag_errno(d, errno);
			r = SI_E_LOOP;
			goto out;
		}
		t = loop_configure(lfd, bfd, file, offset, size, flags,
				   &lo.direct_io, &e, &step);
		if (t == LOOP_TRY_OK) {
			struct loop_info64 info;

			/* Older kernels drop LO_FLAGS_DIRECT_IO silently when the
			 * backing file cannot do it: report what took effect. */
			if (ioctl(lfd, LOOP_GET_STATUS64, &info) == 0)
				lo.direct_io = (info.lo_flags & LO_FLAGS_DIRECT_IO) != 0;
			lo.minor = (unsigned)n;
			lo.fd = lfd;
			lfd = -1;
			r = 0;
			break;
		}
		close(lfd);
		lfd = -1;
		if (t == LOOP_TRY_FAIL) {
			si_diag_field(d, step);
			si_diag_errno(d, e);
			r = SI_E_LOOP;
			goto out;
		}
		r = SI_E_LOOP_BUSY;
	}
	if (r == 0)
		*out = lo;
	else
		si_diag_values(d, LOOP_TRIES, LOOP_TRIES);
out:
	if (lfd >= 0)
		close(lfd);
	if (ctl >= 0)
		close(ctl);
	return r;
}

void loop_dev_close(struct loop_dev *lo)
{
	if (lo && lo->fd >= 0) {
		close(lo->fd);
		lo->fd = -1;
	}
}

int loop_dev_detach(struct loop_dev *lo, struct si_diag *d)
{
	int r = 0;

	if (!lo || lo->fd < 0)
		return SI_E_ARG;
	/* ENXIO: already detached (autoclear ran). */
	if (ioctl(lo->fd, LOOP_CLR_FD, 0) != 0 && errno != ENXIO) {
		si_diag_where(d, lo->path, strlen(lo->path));
		si_diag_field(d, "LOOP_CLR_FD");
		si_diag_errno(d, errno);
		r = SI_E_LOOP;
	}
	loop_dev_close(lo);
	return r;
}
