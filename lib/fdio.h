/* sealinit lib/: whole reads and writes at an offset of a file or block
 * device, through EINTR and short transfers.  No state, no allocation. */
#ifndef SEALINIT_LIB_FDIO_H
#define SEALINIT_LIB_FDIO_H

#include <stddef.h>
#include <stdint.h>

#include "lib/bytes.h"
#include "lib/err.h"

/* Reads exactly len bytes at off.  0; SI_E_SHORT when the file ends
 * first; SI_E_IO when the system refused, with its errno in d. */
int si_pread_full(int fd, uint64_t off, void *buf, size_t len,
		  struct si_diag *d) SI_WUR;

/* Writes exactly len bytes at off.  0, or SI_E_IO with errno in d (EIO
 * for a write that wrote nothing). */
int si_pwrite_full(int fd, uint64_t off, const void *buf, size_t len,
		   struct si_diag *d) SI_WUR;

/* Reads the whole file at path (opened O_RDONLY | O_NOFOLLOW | O_NONBLOCK
 * | O_CLOEXEC; a regular file is required unless any_type) into
 * buf[0..cap).  A file of cap bytes or more is refused, never cut.
 * Errors: SI_E_OPEN (errno: ENOENT when it is missing), SI_E_FILE_TYPE
 * (not a regular file), SI_E_TOO_BIG (expected cap - 1 at most, found its
 * size), SI_E_IO; d names the path. */
int si_read_file(const char *path, int any_type, void *buf, size_t cap,
		 size_t *len, struct si_diag *d) SI_WUR;

/* "regular file", "FIFO", "symbolic link", ... of a st_mode. */
const char *si_file_type_name(unsigned mode);

#endif
