/* sealinit mount/: partitions by GPT label, from sysfs.  Reads
 * SYSDIR/<entry>/uevent for every entry (uevent_parse validates them), so
 * no udev and no blkid are needed. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/str.h"
#include "mount/mount.h"

struct part_dirent {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

/* Reads dfd/<name>/uevent whole into buf; *len its size. */
static int part_read_uevent(int dfd, const char *name, uint8_t *buf,
			    size_t cap, size_t *len, struct si_diag *d)
{
	char rel[PART_DEVNAME_MAX + 16];
	struct si_buf b;
	size_t got = 0;
	ssize_t n;
	int fd, r = 0;

	si_buf_init(&b, rel, sizeof rel);
	si_buf_printf(&b, "%s/uevent", name);
	if (b.truncated)
		return SI_E_TOO_BIG;
	fd = openat(dfd, rel, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		si_diag_errno(d, errno);
		return SI_E_OPEN;
	}
	for (;;) {
		if (got == cap) {
			/* One byte beyond the cap tells "exactly full" from "more". */
			uint8_t extra;

			n = read(fd, &extra, 1);
			if (n > 0)
				r = SI_E_TOO_BIG;
			else if (n < 0)
				r = SI_E_IO;
			break;
		}
		n = read(fd, buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			si_diag_errno(d, errno);
			r = SI_E_IO;
			break;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (!r)
		*len = got;
	return r;
}

int part_table_scan(const char *sysdir, struct part_table *t, struct si_diag *d)
{
	/* Static: a page for the directory and one for a uevent file. */
	static uint64_t dents[512];
	static uint8_t ue[UEVENT_MAX];
	struct part_table tab;
	int dfd, r = 0;
	long n, pos;

	if (!sysdir || !t)
		return SI_E_ARG;
	memset(&tab, 0, sizeof tab);
	dfd = open(sysdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		si_diag_where(d, sysdir, strlen(sysdir));
		si_diag_errno(d, errno);
		return SI_E_OPEN;
	}
	for (;;) {
		n = syscall(SYS_getdents64, dfd, dents, sizeof dents);
		if (n < 0) {
			si_diag_where(d, sysdir, strlen(sysdir));
			si_diag_errno(d, errno);
			r = SI_E_IO;
			goto out;
		}
		if (n == 0)
			break;
		for (pos = 0; pos < n;) {
			struct part_dirent *e =
				(struct part_dirent *)(void *)((char *)dents + pos);
			struct uevent u;
			size_t len = 0;

			if (e->reclen == 0 || e->reclen > n - pos) {
				r = SI_E_IO;
				goto out;
			}
			pos += e->reclen;
			if (e->name[0] == '.')
				continue;
			r = part_read_uevent(dfd, e->name, ue, sizeof ue, &len, d);
			if (r == 0)
				r = uevent_parse(ue, len, &u, d);
			if (r == SI_E_OPEN) {
				r = 0; /* not a device directory */
				continue;
			}
			if (r) {
				si_diag_where(d, e->name, strlen(e->name));
				goto out;
			}
			if (!u.has_dev)
				continue;
			if (tab.n == PART_MAX) {
				si_diag_field(d, "partitions");
				si_diag_values(d, PART_MAX, PART_MAX + 1);
				r = SI_E_TOO_BIG;
				goto out;
			}
			tab.p[tab.n++] = u;
		}
	}
out:
	close(dfd);
	if (!r)
		*t = tab;
	return r;
}

int part_find_by_label(const char *label, struct part_table *t, char *path,
		       size_t n, struct si_diag *d)
{
	const struct uevent *p;
	struct si_buf b;
	size_t i;
	int r;

	if (!label || !t || !path || n == 0)
		return SI_E_ARG;
	r = part_table_scan("/sys/class/block", t, d);
	if (r)
		return r;
	r = part_table_find(t, label, &i, d);
	if (r)
		return r;
	p = &t->p[i];
	si_buf_init(&b, path, n);
	si_buf_printf(&b, "/dev/%s", p->devname);
	if (b.truncated)
		return SI_E_TOO_BIG;
	return blk_node_ensure(path, p->major, p->minor, 0, d);
}
