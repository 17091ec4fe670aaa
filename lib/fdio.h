/* sealinit lib/: whole reads and writes at an offset of a file or block
 * device, through EINTR and short transfers.  No state, no allocation. */
#ifndef SEALINIT_LIB_FDIO_H
#define SEALINIT_LIB_FDIO_H

#include <stddef.h>
#include <stdint.h>

/* Reads exactly len bytes at off.  0; SI_E_SHORT when the file ends
 * first; -errno on an error (errno is left set). */
int si_pread_full(int fd, uint64_t off, void *buf, size_t len);

/* Writes exactly len bytes at off.  0, or -errno (-EIO for a write that
 * wrote nothing). */
int si_pwrite_full(int fd, uint64_t off, const void *buf, size_t len);

#endif
