/* sealinit mount/: dm-verity devices through raw device-mapper ioctls on
 * /dev/mapper/control, the sequence libdevmapper uses for
 * `dmsetup create --readonly`: DM_DEV_CREATE, DM_TABLE_LOAD (inactive
 * table), DM_DEV_SUSPEND without DM_SUSPEND_FLAG (resume: the table goes
 * live).  The buffers are built by dm_table.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/str.h"
#include "mount/mount.h"

#define DM_CONTROL "/dev/mapper/control"
#define DM_CONTROL_SYS "/sys/class/misc/device-mapper/dev"

/* "MAJ:MIN\n" from sysfs, for when devtmpfs has not made the node. */
static int dm_control_number(unsigned *major, unsigned *minor)
{
	char buf[32];
	uint64_t ma, mi;
	ssize_t n;
	char *colon;
	int fd;

	fd = open(DM_CONTROL_SYS, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 1 || buf[n - 1] != '\n')
		return -1;
	buf[n - 1] = '\0';
	colon = strchr(buf, ':');
	if (!colon || si_parse_u64(buf, (size_t)(colon - buf), 0, 4095, &ma) ||
	    si_parse_u64(colon + 1, strlen(colon + 1), 0, (1u << 20) - 1, &mi))
		return -1;
	*major = (unsigned)ma;
	*minor = (unsigned)mi;
	return 0;
}

static int dm_control_open(int *fd, struct si_diag *d)
{
	unsigned ma, mi;
	int r;

	*fd = open(DM_CONTROL, O_RDWR | O_CLOEXEC);
	if (*fd >= 0)
		return 0;
	if (errno == ENOENT && dm_control_number(&ma, &mi) == 0) {
		r = blk_node_ensure(DM_CONTROL, ma, mi, 1, d);
		if (r)
			return r;
		*fd = open(DM_CONTROL, O_RDWR | O_CLOEXEC);
		if (*fd >= 0)
			return 0;
	}
	si_diag_where(d, DM_CONTROL, strlen(DM_CONTROL));
	si_diag_field(d, "dm.control");
	si_diag_errno(d, errno);
	return SI_E_OPEN;
}

static int dm_ioctl_do(int fd, unsigned long req, const char *what,
		       struct dm_ioc *io, struct si_diag *d)
{
	if (ioctl(fd, req, &io->u.hdr) == 0)
		return 0;
	si_diag_field(d, what);
	si_diag_errno(d, errno);
	return SI_E_DM;
}

static void dm_uuid(char *out, size_t n, const char *name)
{
	struct si_buf b;

	si_buf_init(&b, out, n);
	si_buf_printf(&b, "SEALINIT-%s", name);
}

int dm_verity_create(const char *name, const struct dm_verity_spec *s,
		     struct dm_ioc *io, struct dm_dev *out, struct si_diag *d)
{
	char params[DM_PARAMS_MAX];
	char uuid[DM_UUID_LEN];
	struct dm_dev dev;
	struct si_buf b;
	uint64_t sectors;
	int fd = -1, created = 0, r;

	if (!name || !s || !io || !out)
		return SI_E_ARG;
	memset(&dev, 0, sizeof dev);
	si_diag_where(d, name, strnlen(name, DM_NAME_LEN));
	r = dm_verity_params(s, params, sizeof params, d);
	if (r)
		return r;
	r = dm_verity_sectors(s, &sectors, d);
	if (r)
		return r;
	dm_uuid(uuid, sizeof uuid, name);
	r = dm_ioc_init(io, name, uuid, 0, d);
	if (r)
		return r;
	r = dm_control_open(&fd, d);
	if (r)
		return r;

	r = dm_ioctl_do(fd, DM_DEV_CREATE, "DM_DEV_CREATE", io, d);
	if (r)
		goto out;
	created = 1;
	dev.major = major(io->u.hdr.dev);
	dev.minor = minor(io->u.hdr.dev);

	r = dm_ioc_init(io, name, NULL, DM_READONLY_FLAG, d);
	if (!r)
		r = dm_ioc_add_target(io, 0, sectors, "verity", params, d);
	if (!r)
		r = dm_ioctl_do(fd, DM_TABLE_LOAD, "DM_TABLE_LOAD", io, d);
	if (r)
		goto out;

	r = dm_ioc_init(io, name, NULL, 0, d);
	if (!r)
		r = dm_ioctl_do(fd, DM_DEV_SUSPEND, "DM_DEV_SUSPEND(resume)", io, d);
	if (r)
		goto out;

	si_buf_init(&b, dev.path, sizeof dev.path);
	si_buf_printf(&b, "/dev/dm-%u", dev.minor);
	r = blk_node_ensure(dev.path, dev.major, dev.minor, 0, d);
out:
	if (r && created && dm_ioc_init(io, name, NULL, 0, NULL) == 0)
		(void)ioctl(fd, DM_DEV_REMOVE, &io->u.hdr); /* keep the first error */
	if (fd >= 0)
		close(fd);
	if (!r)
		*out = dev;
	return r;
}

int dm_dev_remove(const char *name, struct dm_ioc *io, struct si_diag *d)
{
	int fd = -1, r;

	if (!name || !io)
		return SI_E_ARG;
	si_diag_where(d, name, strnlen(name, DM_NAME_LEN));
	r = dm_ioc_init(io, name, NULL, 0, d);
	if (r)
		return r;
	r = dm_control_open(&fd, d);
	if (r)
		return r;
	r = dm_ioctl_do(fd, DM_DEV_REMOVE, "DM_DEV_REMOVE", io, d);
	close(fd);
	return r;
}
