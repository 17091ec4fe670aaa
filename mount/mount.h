/* sealinit mount/: loop devices, dm-verity through raw device-mapper
 * ioctls, read-only and overlay mounts, partitions by GPT label, and the
 * switch to the new root.
 *
 * Two halves:
 *   pure (LIB_SRCS: host, fuzzers, targets)   dm_verity_params, dm_ioc_*,
 *       uevent_parse, part_table_find, fs_overlay_opts
 *   system (INIT_SRCS: PID 1 only)            loop_dev_*, dm_verity_create,
 *       dm_dev_remove, fs_*, part_table_scan, blk_node_ensure
 *
 * Nothing here prints, exits or allocates; every fd is O_CLOEXEC.  Every
 * fallible function returns 0 or a negative code from lib/err.h and fills
 * the diagnostic (field, errno, expected/found) when d is not NULL.  Output
 * parameters are written only on success.
 *
 * Errors any function may return besides those listed: SI_E_ARG (a NULL or
 * out-of-contract argument).
 */
#ifndef SEALINIT_MOUNT_MOUNT_H
#define SEALINIT_MOUNT_MOUNT_H

#include <stddef.h>
#include <stdint.h>

#include <linux/dm-ioctl.h>

#include "lib/bytes.h"
#include "lib/err.h"

/* ------------------------------------------------------------ device nodes */

/* Makes sure `path` is the block (is_char == 0) or character device
 * major:minor: creates it (mode 0600, parent directory 0755 if missing)
 * when devtmpfs did not; a different node or file there is refused.
 * Errors: SI_E_NODE. */
int blk_node_ensure(const char *path, unsigned major, unsigned minor,
		    int is_char, struct si_diag *d) SI_WUR;

/* ------------------------------------------------------------ loop (loop.c) */

#define LOOP_PATH_MAX 24 /* "/dev/loop" + 10 digits + NUL */

enum {
	LOOP_ATTACH_DIRECT_IO = 1u << 0, /* try LO_FLAGS_DIRECT_IO, drop it on EINVAL */
};

/* An attached loop device.  It is read-only and LO_FLAGS_AUTOCLEAR: the
 * kernel detaches it when the last opener closes it, so keep `fd` open until
 * its consumer (a dm table or a mount) holds the device, then loop_dev_close.
 */
struct loop_dev {
	int fd;             /* open on `path`, O_CLOEXEC */
	unsigned minor;     /* major is 7 */
	int direct_io;      /* 1 when LO_FLAGS_DIRECT_IO took effect */
	char path[LOOP_PATH_MAX];
};

/* Attaches bytes [offset, offset + size) of `file` (size 0: to its end)
 * read-only to a free loop device, from /dev/loop-control's
 * LOOP_CTL_GET_FREE (retried when another process takes the device first),
 * with LOOP_CONFIGURE, or LOOP_SET_FD + LOOP_SET_STATUS64 on kernels
 * without it.
 * Errors: SI_E_OPEN (file or /dev/loop-control), SI_E_LOOP (field: the
 * ioctl), SI_E_LOOP_BUSY, SI_E_NODE. */
int loop_dev_attach(const char *file, uint64_t offset, uint64_t size,
		    unsigned flags, struct loop_dev *out, struct si_diag *d) SI_WUR;

/* The same over the open, read-only descriptor bfd (the caller keeps it):
 * the loop device serves exactly the file that was checked through bfd,
 * whatever its path names by now.  `file` only labels the device and the
 * messages.  Errors: those of loop_dev_attach but SI_E_OPEN of the file. */
int loop_dev_attach_fd(int bfd, const char *file, uint64_t offset, uint64_t size,
		       unsigned flags, struct loop_dev *out, struct si_diag *d) SI_WUR;

/* Closes our fd: the device goes away once its consumer releases it. */
void loop_dev_close(struct loop_dev *lo);

/* Detaches now (LOOP_CLR_FD; if the device is still in use the kernel
 * detaches it at its last close) and closes our fd.  Errors: SI_E_LOOP. */
int loop_dev_detach(struct loop_dev *lo, struct si_diag *d) SI_WUR;

/* ------------------------------------------------------------ dm-verity (dm_table.c pure, dm.c ioctls) */

#define DM_DEV_PATH_MAX 64  /* a data or hash device: "/dev/loop3", "253:0" */
#define DM_SALT_MAX 256     /* dm-verity's own limit on the salt */
#define DM_PARAMS_MAX 1024  /* the verity table line */
#define DM_IOC_SIZE 2048    /* struct dm_ioctl + one target + its params */

enum dm_verity_on_error {
	DM_VERITY_EIO = 0,  /* a corrupt block reads as an I/O error */
	DM_VERITY_RESTART,  /* restart_on_corruption */
	DM_VERITY_PANIC,    /* panic_on_corruption */
};

/* The dm-verity table: every value comes from the verified seal. */
struct dm_verity_spec {
	char data_dev[DM_DEV_PATH_MAX];
	char hash_dev[DM_DEV_PATH_MAX];
	uint32_t data_block_size, hash_block_size;
	uint64_t data_blocks;       /* number of data blocks */
	uint64_t hash_start_block;  /* in hash_block_size units, on hash_dev */
	uint8_t root_hash[32];      /* sha256 */
	uint8_t salt[DM_SALT_MAX];
	size_t salt_len;            /* 0: no salt, written "-" */
	enum dm_verity_on_error on_error;
};

/* Writes the verity target's parameter line into out[n]:
 *   "1 DATA HASH DBS HBS NBLOCKS HASHSTART sha256 ROOTHEX SALTHEX[ 1 restart_on_corruption|panic_on_corruption]"
 * (Documentation/admin-guide/device-mapper/verity.rst, version 1 format).
 * Errors: SI_E_DM_PARAMS (field names the bad value), SI_E_DM_BUF. */
int dm_verity_params(const struct dm_verity_spec *s, char *out, size_t n,
		     struct si_diag *d) SI_WUR;

struct si_seal;

/* Fills the table for a sealed image (verify/seal.h) whose data starts at
 * byte 0 of data_dev and whose hash tree is at seal->hash_offset of
 * hash_dev (both the same loop device or partition for a sealed file).
 * Only what si_seal_open() returned may come in here.
 * Errors: SI_E_DM_PARAMS (hash algorithm, root hash length, hash offset not
 * a whole number of hash blocks, salt, device paths). */
int dm_verity_spec_from_seal(const struct si_seal *seal, const char *data_dev,
			     const char *hash_dev, enum dm_verity_on_error on_error,
			     struct dm_verity_spec *out, struct si_diag *d) SI_WUR;

/* Length of the verity device in 512-byte sectors.  Errors: SI_E_DM_PARAMS. */
int dm_verity_sectors(const struct dm_verity_spec *s, uint64_t *sectors,
		      struct si_diag *d) SI_WUR;

/* The ioctl buffer: struct dm_ioctl, then for DM_TABLE_LOAD one
 * struct dm_target_spec and its NUL-terminated params, padded to 8 bytes
 * (include/uapi/linux/dm-ioctl.h).  Caller-allocated, no pointers inside. */
struct dm_ioc {
	union {
		struct dm_ioctl hdr;
		uint64_t align;
		unsigned char bytes[DM_IOC_SIZE];
	} u;
};

/* Resets the buffer for one ioctl on device `name`: interface version 4.0.0,
 * data_size = whole buffer, data_start = sizeof(struct dm_ioctl), flags.
 * `uuid` may be NULL.  Names are [A-Za-z0-9_.+-], 1..DM_NAME_LEN-1 bytes.
 * Errors: SI_E_DM_PARAMS. */
int dm_ioc_init(struct dm_ioc *io, const char *name, const char *uuid,
		uint32_t flags, struct si_diag *d) SI_WUR;

/* Appends one target [start, start + sectors) of `type` with `params`.
 * Errors: SI_E_DM_PARAMS, SI_E_DM_BUF. */
int dm_ioc_add_target(struct dm_ioc *io, uint64_t start, uint64_t sectors,
		      const char *type, const char *params, struct si_diag *d) SI_WUR;

#define DM_NODE_PATH_MAX 24 /* "/dev/dm-" + digits */

struct dm_dev {
	unsigned major, minor;
	char path[DM_NODE_PATH_MAX]; /* "/dev/dm-<minor>", present on success */
};

/* Creates the read-only dm-verity device `name` (uuid "SEALINIT-<name>")
 * on /dev/mapper/control: DM_DEV_CREATE, DM_TABLE_LOAD (DM_READONLY_FLAG,
 * one "verity" target), DM_DEV_SUSPEND (resume); makes /dev/dm-N if devtmpfs
 * did not.  On any failure after the create, the device is removed again.
 * `io` is the caller's scratch buffer.
 * Errors: SI_E_DM_PARAMS, SI_E_DM_BUF, SI_E_OPEN (control node), SI_E_DM
 * (field: the ioctl), SI_E_NODE. */
int dm_verity_create(const char *name, const struct dm_verity_spec *s,
		     struct dm_ioc *io, struct dm_dev *out, struct si_diag *d) SI_WUR;

/* DM_DEV_REMOVE.  Errors: SI_E_DM_PARAMS, SI_E_OPEN, SI_E_DM. */
int dm_dev_remove(const char *name, struct dm_ioc *io, struct si_diag *d) SI_WUR;

/* ------------------------------------------------------------ sealed images (sealed.c) */

enum {
	FS_SEALED_FILE = 1u << 0, /* path is a file: attach it to a loop device */
};

/* What fs_sealed_mount set up (for status and for teardown). */
struct fs_sealed {
	struct dm_dev dm;
	char dev[DM_DEV_PATH_MAX];   /* the device the table names: "254:2", "7:0" */
	int has_loop;
	unsigned loop_minor;
	char loop_path[LOOP_PATH_MAX];
};

/* The whole chain for one sealed image whose seal si_seal_open() verified
 * through the open descriptor fd: [a read-only loop device attached to fd
 * (FS_SEALED_FILE), direct I/O where it works] -> dm-verity device
 * `dm_name` built from the seal, naming that device by number (for a
 * partition: fd's own device number) -> read-only, nodev mount of the
 * seal's file system on `mnt` (mnt NULL: no mount, e.g. a raw image read
 * through the dm device).  Data and hash tree are on the same device, the
 * tree at seal->m.hash_offset.  `name` labels messages and the loop
 * device.  On failure everything made here is undone (the loop device goes
 * with its last user: it is autoclear).
 * Errors: those of loop_dev_attach_fd, dm_verity_spec_from_seal,
 * dm_verity_create and fs_mount_ro; SI_E_NODE (fd is no block device
 * without FS_SEALED_FILE); SI_E_ARG (a raw seal with a mount point, or an
 * unknown fs type). */
int fs_sealed_mount(int fd, const char *name, unsigned flags, const struct si_seal *seal,
		    const char *dm_name, enum dm_verity_on_error on_error,
		    const char *mnt, struct dm_ioc *io, struct fs_sealed *out,
		    struct si_diag *d) SI_WUR;

/* ------------------------------------------------------------ mounts (fs.c, fs_opts.c) */

#define FS_PATH_MAX 256
#define FS_OVERLAY_OPTS_MAX 4096 /* mount(2) copies one page of options */
#define FS_LAYERS_MAX 16         /* cryptexes above one target */

/* Mounts block device `dev` read-only and nodev on `target`; fstype is
 * "erofs", "ext4" (mounted with noload: a sealed image is never replayed)
 * or "squashfs".  (No nosuid: the system volume and the cryptexes are
 * verified and carry the OS's own setuid programs.)
 * Errors: SI_E_ARG (other fstype), SI_E_MOUNT. */
int fs_mount_ro(const char *dev, const char *target, const char *fstype,
		struct si_diag *d) SI_WUR;

/* Mounts the writable data volume (not verified: it holds only state) on
 * `target` with MS_NODEV | MS_NOSUID (and MS_NOEXEC with FS_DATA_NOEXEC),
 * so nothing on it can carry device nodes, setuid programs (or programs)
 * into the verified system.  fstype "ext4" (or another the kernel knows;
 * checked against [a-z0-9]).  Errors: SI_E_ARG, SI_E_MOUNT. */
enum { FS_DATA_NOEXEC = 1u << 0 };
int fs_mount_data(const char *dev, const char *target, const char *fstype,
		  unsigned flags, struct si_diag *d) SI_WUR;

/* Pure: "lowerdir=L0:L1:...:BASE" for a read-only overlay where lowers[0]
 * is the topmost layer (its files win) and `base` the lowest.  Each path is
 * absolute, without ':' ',' '\\' or whitespace and without ".." components.
 * Errors: SI_E_OVERLAY, SI_E_TOO_BIG (n > FS_LAYERS_MAX or longer than out). */
int fs_overlay_opts(const char *const *lowers, size_t n, const char *base,
		    char *out, size_t outn, struct si_diag *d) SI_WUR;

/* Mounts a read-only overlay on `target`: lowers above base (base is
 * usually target itself, the system volume's directory).
 * Errors: those of fs_overlay_opts, SI_E_MOUNT. */
int fs_overlay_mount(const char *target, const char *const *lowers, size_t n,
		     const char *base, struct si_diag *d) SI_WUR;

/* One cryptex tree and where it goes: root is the mounted cryptex
 * ("/run/sealinit/cx/os"), target the absolute path in the new root ("/usr"). */
struct fs_layer {
	char root[FS_PATH_MAX];
	char target[FS_PATH_MAX];
};

/* Overlays every layer on `newroot`: one overlay per distinct target, with
 * that target's layers in array order (the first is topmost) above
 * newroot+target; parents are mounted before nested targets.
 * Errors: those of fs_overlay_mount, SI_E_TOO_BIG. */
int fs_overlay_apply(const char *newroot, const struct fs_layer *layers,
		     size_t n, struct si_diag *d) SI_WUR;

/* Moves /dev, /proc, /sys and /run (those that are mount points) under
 * `newroot` with MS_MOVE; one whose directory the new root lacks is
 * detached instead (as systemd does).  Errors: SI_E_MOUNT (field: the dir). */
int fs_move_api_mounts(const char *newroot, struct si_diag *d) SI_WUR;

/* switch_root: newroot must be a mount point; moves the API file systems
 * (fs_move_api_mounts), deletes the initramfs's files when / is ramfs or
 * tmpfs (never crossing into another file system), then chdir(newroot),
 * mount(newroot, "/", MS_MOVE), chroot("."), chdir("/").  The caller then
 * execs the real init.  Deletion is best effort; failures from the step
 * that makes the new root "/" onwards are returned.
 * Errors: SI_E_NOT_MOUNTPOINT, SI_E_MOUNT, SI_E_SWITCH_ROOT (field: the step). */
int fs_switch_root(const char *newroot, struct si_diag *d) SI_WUR;

/* ------------------------------------------------------------ GPT (gpt.c, pure) */

#define GPT_MAX_ENTRIES 1024  /* entries in the array (128 is usual) */
#define GPT_MAX_PARTS 128     /* used entries */

struct gpt_part {
	unsigned index;            /* 1-based, as the kernel numbers partitions */
	uint64_t first_lba, last_lba;
	char label[37];            /* the kernel's PARTNAME for it */
};

struct gpt_table {
	unsigned sector;           /* 512 or 4096: where the header was */
	unsigned n;
	struct gpt_part p[GPT_MAX_PARTS];
};

struct si_io;

/* Reads the primary GPT of a disk image: header (signature, size, CRC32,
 * its own LBA), the entry array (bounds, entry size, CRC32 over all of it
 * before any entry is used), every used entry inside the usable range.
 * Errors: SI_E_GPT (field names the part), SI_E_TOO_BIG, and what
 * io->read_at returns.  *out is written only on success. */
int gpt_read(const struct si_io *io, struct gpt_table *out, struct si_diag *d) SI_WUR;

/* The one partition labelled `label`.  Errors: SI_E_PART_NOTFOUND,
 * SI_E_PART_DUP (d as part_table_find's). */
int gpt_find(const struct gpt_table *t, const char *label, const struct gpt_part **out,
	     struct si_diag *d) SI_WUR;

/* ------------------------------------------------------------ resolution (resolve.c) */

enum {
	FS_RESOLVE_NO_SYMLINKS = 1u << 0, /* no component may be a symbolic link */
	FS_RESOLVE_DIR = 1u << 1,         /* a directory: O_PATH | O_DIRECTORY */
	FS_RESOLVE_KEEP_ON_EXEC = 1u << 2,/* no O_CLOEXEC (a script run by fd) */
	FS_RESOLVE_PATH = 1u << 3,        /* any file type: O_PATH */
};

/* Opens absolute `path` inside the tree at root_fd as if root_fd were "/"
 * (openat2 RESOLVE_IN_ROOT): symbolic links, absolute ones included, never
 * lead out of it; with FS_RESOLVE_NO_SYMLINKS none is followed at all.
 * Files are opened O_RDONLY | O_NONBLOCK, directories (and anything with
 * FS_RESOLVE_PATH) O_PATH.  *out is the
 * descriptor; mount on "/proc/self/fd/N" to use exactly what was checked.
 * Errors: SI_E_PATH_SYMLINK (d->where: the path up to the link),
 * SI_E_NOTFOUND, SI_E_FILE_TYPE (a component is not a directory),
 * SI_E_OPEN (errno in d). */
int fs_resolve(int root_fd, const char *path, unsigned flags, int *out,
	       struct si_diag *d) SI_WUR;

/* A tree reached through root_fd -- the preboot volume -- whose files are
 * named by relative paths ("kc/boot.kc"), no symbolic link followed on
 * the way.  fs_tree_list calls each(arg, name, len) for every entry of
 * directory `dir`; fs_tree_open opens a regular file (its type checked on
 * an O_PATH descriptor before it is opened to read, without blocking) and
 * gives its size.  Errors: SI_E_OPEN (errno ENOENT: missing),
 * SI_E_PATH_SYMLINK, SI_E_FILE_TYPE (found_s names the type), SI_E_IO;
 * d->where is `rel`. */
int fs_tree_list(int root_fd, const char *dir,
		 void (*each)(void *arg, const char *name, size_t len), void *arg,
		 struct si_diag *d) SI_WUR;
int fs_tree_open(int root_fd, const char *rel, int *out, uint64_t *size,
		 struct si_diag *d) SI_WUR;

/* Where fd leads, relative to directory `root` (an absolute path as the
 * kernel names it): "/newroot/bin/busybox" -> "/bin/busybox".
 * Errors: SI_E_IO, SI_E_NOTFOUND (outside root), SI_E_TOO_BIG. */
int fs_fd_path_in(int fd, const char *root, char *out, size_t n) SI_WUR;

/* The aux kernel collection's mounted tree, reached through root_fd, holds
 * only <release>/, its modules.* files and its updates/ directories of
 * *.ko files, with no link, device, FIFO, socket or overlay attribute
 * (auxtree.c has the rules and why).  Errors: SI_E_KC_AUX_TREE (d->where:
 * the entry, escaped; expected and found say what), with errno when a
 * call on the tree failed. */
int fs_aux_tree_check(int root_fd, const char *release, struct si_diag *d) SI_WUR;

/* ------------------------------------------------------------ partitions (uevent.c pure, part.c sysfs) */

#define UEVENT_MAX 4096       /* a sysfs attribute is at most one page */
#define PART_DEVNAME_MAX 32
#define PART_NAME_MAX 72      /* GPT: 36 UTF-16 units, as the kernel copies them */
#define PART_MAX 64           /* block devices scanned */

/* What we use from /sys/class/block/<dev>/uevent. */
struct uevent {
	unsigned major, minor;
	int is_partition;          /* DEVTYPE=partition */
	int has_dev;               /* MAJOR, MINOR and DEVNAME were all present */
	int has_partname;
	char devname[PART_DEVNAME_MAX];
	char partname[PART_NAME_MAX];
};

/* Parses one uevent file: "KEY=VALUE\n" lines, KEY [A-Z0-9_]+, VALUE
 * printable; MAJOR < 4096 and MINOR < 2^20 strict decimal; DEVNAME relative,
 * [A-Za-z0-9._+-/] without "..".  Unknown keys are skipped, a repeated
 * known key is refused.  Errors: SI_E_UEVENT (offset of the line),
 * SI_E_TOO_BIG (len > UEVENT_MAX or a value longer than its field). */
int uevent_parse(const uint8_t *buf, size_t len, struct uevent *out,
		 struct si_diag *d) SI_WUR;

struct part_table {
	size_t n;
	struct uevent p[PART_MAX]; /* block devices with DEVNAME/MAJOR/MINOR, in sysfs order */
};

/* Reads SYSDIR/<dev>/uevent for every entry of sysdir ("/sys/class/block").
 * Entries that are not block devices with a number are skipped.
 * Errors: SI_E_OPEN, SI_E_IO, SI_E_UEVENT (where: the entry), SI_E_TOO_BIG. */
int part_table_scan(const char *sysdir, struct part_table *t,
		    struct si_diag *d) SI_WUR;

/* Pure: the index of the one partition whose PARTNAME equals label.
 * Errors: SI_E_PART_NOTFOUND, SI_E_PART_DUP (found: both device names). */
int part_table_find(const struct part_table *t, const char *label,
		    size_t *index, struct si_diag *d) SI_WUR;

/* Pure: the "hint:" text listing the partitions of t, for when a label is
 * missing: `vda1 "preboot" (254:1), vda3 (254:3)` (names escaped; unnamed
 * partitions without quotes; whole disks left out; "none" when there are no
 * partitions).  Always NUL-terminated; ends in "..." when out is too short.
 * Returns strlen(out). */
size_t part_table_hint(const struct part_table *t, char *out, size_t n);

/* Scans /sys/class/block, finds the label, makes sure the node exists and
 * writes "/dev/<devname>" to path[n].  The table is the caller's scratch
 * (and, on SI_E_PART_NOTFOUND, what the "hint:" line lists).
 * Errors: those of part_table_scan and part_table_find, SI_E_NODE,
 * SI_E_TOO_BIG (path does not fit). */
int part_find_by_label(const char *label, struct part_table *t, char *path,
		       size_t n, struct si_diag *d) SI_WUR;

#endif
