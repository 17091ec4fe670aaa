/* sealinit tests/crash/: a model of a file system on a disk that loses
 * power, behind struct si_fs (lib/fsops.h) -- in the spirit of littlefs's
 * emulated block device and dm-log-writes.
 *
 * The model keeps two views: what the code sees (every operation applied
 * at once) and what is durable.  File data becomes durable at the file's
 * fsync or fdatasync; a name (create, rename, link, unlink, mkdir, rmdir)
 * at the fsync of the directory that holds it (of both directories for a
 * rename).  Everything else is pending, in the order it was issued.
 *
 * A crash at operation k (every mutating operation counts: an open that
 * creates or truncates, pwrite, truncate, fsync, fdatasync, rename,
 * unlink, link, mkdir, rmdir, directory fsync) freezes the durable view
 * and the pending operations; memfs_state() then makes each disk a real
 * power cut can leave from them: every pending operation lost, every
 * prefix of them kept, the last kept write torn at a sector, and seeded
 * reordered subsets (any subset: a disk's cache reorders within a flush
 * interval, and a rename may land before or after its directory's fsync).
 * After the crash every operation fails with EIO (the machine is off).
 *
 * Faults besides power: from the fault_at'th write on (pwrite, truncate,
 * an open that creates), writes fail with fault_errno (ENOSPC, EIO);
 * fault_once makes only that one fail. */
#ifndef SEALINIT_TESTS_CRASH_MEMFS_H
#define SEALINIT_TESTS_CRASH_MEMFS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/fsops.h"

#define MF_PATH 256
#define MF_INODES 1024
#define MF_NAMES 1024
#define MF_HANDLES 64
#define MF_SECTOR 512

struct mf_blob {
	uint8_t *p;
	uint64_t size, cap;
};

struct mf_inode {
	int used, dir;
	struct mf_blob cur, dur;
};

struct mf_name {
	char path[MF_PATH];
	int ino;   /* -1: unused */
};

enum mf_opk { MF_W, MF_T, MF_CREATE, MF_MKDIR, MF_UNLINK, MF_RMDIR, MF_RENAME, MF_LINK };

struct mf_op {
	enum mf_opk k;
	int ino;
	uint64_t off, len;         /* W: the bytes in data; T: the size in off */
	uint8_t *data;
	char a[MF_PATH], b[MF_PATH];
	int done;                  /* made durable (fsync) */
};

struct memfs {
	pthread_mutex_t lock;
	struct mf_inode ino[MF_INODES];
	struct mf_name cur[MF_NAMES], dur[MF_NAMES];
	struct mf_op *ops;         /* pending, in issue order */
	size_t nops, capops;
	struct { int used, ino, mode; } h[MF_HANDLES];
	uint64_t capacity;         /* bytes of file data the disk holds */
	/* counters and injection */
	uint64_t nmut;             /* mutating operations so far */
	uint64_t crash_at;         /* crash before this mutating op (0: never) */
	int crashed;
	uint64_t nwrites;          /* writes so far (for faults) */
	uint64_t fault_at;         /* 0: never */
	int fault_errno, fault_once, faulted;
	/* set at the crash: the durable view and what was pending */
	struct memfs *snap;
};

void memfs_init(struct memfs *m, uint64_t capacity);
void memfs_free(struct memfs *m);
void memfs_ops(struct memfs *m, struct si_fs *fs);

/* Copies a real directory tree into the model, all of it durable. */
int memfs_import(struct memfs *m, const char *dir);
/* Writes the model's current view out to a real directory (debugging). */
int memfs_export(const struct memfs *m, const char *dir);

/* Disk state number idx made from a crash's snapshot (m->snap) into out
 * (initialized here, all durable).  0: made; 1: no such state (idx past
 * the last).  what names it ("prefix 3 of 7", "torn", ...). */
int memfs_state(const struct memfs *m, unsigned idx, unsigned seed, struct memfs *out,
		char *what, size_t wn);

/* A deep copy, all of it durable (a fresh boot of the same disk). */
void memfs_clone_durable(const struct memfs *m, struct memfs *out);

/* SHA-256 of the durable view: every name (sorted), its type and its
 * bytes -- two disks with the same fingerprint boot the same way. */
void memfs_fingerprint(const struct memfs *m, uint8_t out[32]);

/* File bytes of path in the current view (NULL when missing). */
const struct mf_blob *memfs_file(const struct memfs *m, const char *path);

#endif
