/* sealinit mount/: one sealed image from device (or file) to mounted,
 * read-only tree, the way init/ needs it for the system volume and for
 * every cryptex.  The seal must come from si_seal_open() over the same
 * descriptor: everything that reaches the dm-verity table is inside its
 * signed manifest, and the table names the device of that descriptor (a
 * partition's number, or a loop device attached to that very file), never
 * a path that could be re-opened to something else. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "lib/str.h"
#include "mount/mount.h"
#include "verify/seal.h"

int fs_sealed_mount(int fd, const char *name, unsigned flags, const struct si_seal *seal,
		    const char *dm_name, enum dm_verity_on_error on_error,
		    const char *mnt, struct dm_ioc *io, struct fs_sealed *out,
		    struct si_diag *d)
{
	struct dm_verity_spec spec;
	struct loop_dev lo;
	struct fs_sealed res;
	struct stat st;
	const char *fstype = NULL;
	char dev[DM_DEV_PATH_MAX];
	int r, created = 0;

	if (fd < 0 || !name || !seal || !dm_name || !io || !out ||
	    (flags & ~(unsigned)FS_SEALED_FILE))
		return SI_E_ARG;
	memset(&res, 0, sizeof res);
	lo.fd = -1;
	if (mnt) {
		if (seal->m.fs_type == SI_FS_RAW)
			return SI_E_ARG;
		fstype = si_seal_fstype_name(seal->m.fs_type);
		if (!fstype)
			return SI_E_ARG;
	}
	if (flags & FS_SEALED_FILE) {
		r = loop_dev_attach_fd(fd, name, 0, 0, LOOP_ATTACH_DIRECT_IO, &lo, d);
		if (r)
			return r;
		res.has_loop = 1;
		res.loop_minor = lo.minor;
		memcpy(res.loop_path, lo.path, sizeof res.loop_path);
		snprintf(dev, sizeof dev, "7:%u", lo.minor);
	} else {
		if (fstat(fd, &st) != 0)
			return si_diag_sys(d, SI_E_IO, name, errno);
		if (!S_ISBLK(st.st_mode)) {
			si_diag_where(d, name, strlen(name));
			si_diag_field(d, "device");
			si_diag_text(d, "a block device", "another file type");
			return SI_E_NODE;
		}
		snprintf(dev, sizeof dev, "%u:%u", major(st.st_rdev), minor(st.st_rdev));
	}
	r = dm_verity_spec_from_seal(seal, dev, dev, on_error, &spec, d);
	if (r)
		goto out;
	r = dm_verity_create(dm_name, &spec, io, &res.dm, d);
	if (r)
		goto out;
	created = 1;
	memcpy(res.dev, dev, sizeof res.dev);
	if (mnt)
		r = fs_mount_ro(res.dm.path, mnt, fstype, d);
out:
	/* The dm table holds the loop device now (or nothing does and it
	 * detaches): our loop fd is no longer needed either way. */
	loop_dev_close(&lo);
	if (r && created) {
		/* Undo the device; the first error stays the one reported. */
		int undo = dm_dev_remove(dm_name, io, NULL);
		(void)undo;
	}
	if (!r)
		*out = res;
	return r;
}
