/* sealinit lib/: whole reads and writes at an offset. */
#include <errno.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/fdio.h"

/* One pread/pwrite moves at most this much (Linux caps a call near 2 GiB). */
#define FDIO_CHUNK (1u << 30)

int si_pread_full(int fd, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pread(fd, p, len > FDIO_CHUNK ? FDIO_CHUNK : len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return SI_E_SHORT;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int si_pwrite_full(int fd, uint64_t off, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len > FDIO_CHUNK ? FDIO_CHUNK : len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}
