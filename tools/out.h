/* sealctl: writing outputs without ever destroying what the integrator
 * owns.
 *
 *  - An output that is the same file as an input (same device and inode;
 *    for device nodes the same device) is refused, as is an output inside
 *    a directory that is an input.
 *  - A file is written to a temporary in its own directory
 *    (".NAME.sealctl-XXXXXX"), fsynced, renamed over NAME, and the
 *    directory fsynced; every failure path -- and SIGINT, SIGTERM,
 *    SIGHUP -- removes the temporary.  NOCLOBBER keeps an existing NAME
 *    (the rename itself refuses to replace: no window for a race).
 *  - A block device (DEVICE outputs only: images) is written into, in
 *    place; a character device (/dev/null) is written as it is.
 *  - Everything is written with write(), never through a mapping, so a
 *    full disk is an error (ENOSPC, one line), not a SIGBUS.
 * Each function reports its failure once and returns a sealctl exit code. */
#ifndef SEALINIT_TOOLS_OUT_H
#define SEALINIT_TOOLS_OUT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

enum {
	SEALCTL_OUT_NOCLOBBER = 1u << 0, /* refuse an existing file (keygen without --force) */
	SEALCTL_OUT_DEVICE = 1u << 1,    /* a block device is written into (images) */
	SEALCTL_OUT_PRIVATE = 1u << 2,   /* mode 0600 (private keys) */
};

enum sealctl_out_kind { SEALCTL_OUT_FILE, SEALCTL_OUT_BLK, SEALCTL_OUT_CHR };

struct sealctl_out {
	const char *path;       /* as given: what messages name */
	char target[PATH_MAX];  /* the file replaced: path, or a symlink's target */
	char tmp[PATH_MAX];     /* the temporary; "" when written in place */
	int fd;
	enum sealctl_out_kind kind;
	uint64_t dev_size;      /* block devices: their size */
	unsigned flags;
};

/* Refuses (usage, exit 2) an output that is one of the inputs, or lies in
 * an input directory.  NULL entries are skipped.  0 when fine. */
int sealctl_out_check(const char *cmd, const char *out, const char *const *inputs,
		      size_t n);
/* Two outputs that name the same file (-o and -r, -o and --pub). */
int sealctl_out_distinct(const char *cmd, const char *a, const char *b);

int sealctl_out_open(const char *cmd, const char *path, unsigned flags,
		     struct sealctl_out *o);
int sealctl_out_write(const char *cmd, struct sealctl_out *o, uint64_t off,
		      const void *p, size_t n);
/* Writes zeros over [off, off + n). */
int sealctl_out_zero(const char *cmd, struct sealctl_out *o, uint64_t off, uint64_t n);
/* Sets a regular file's size (holes read as zeros; nothing is mapped). */
int sealctl_out_size(const char *cmd, struct sealctl_out *o, uint64_t size);
int sealctl_out_commit(const char *cmd, struct sealctl_out *o);
void sealctl_out_abort(struct sealctl_out *o);

/* The whole of data to path, through the above. */
int sealctl_out_file(const char *cmd, const char *path, unsigned flags,
		     const void *data, size_t len);

/* A temporary file of sealctl's own that a signal must not leave behind
 * (the erofs image seal --dir makes, apply's NEW.part). */
void sealctl_tmp_register(const char *path);
void sealctl_tmp_forget(const char *path);

#endif
