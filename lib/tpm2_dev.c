/* sealinit lib/: the TPM transport -- a kernel TPM character device
 * (/dev/tpmrm0, the resource manager, else /dev/tpm0), or a Unix stream
 * socket speaking raw TPM commands (swtpm --server type=unixio: the host
 * tests).  A device takes one whole command per write and gives one whole
 * response per read; a socket may split them, so the response is read
 * until its header's responseSize is in. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/tpm2.h"

static int dev_transmit(void *ctx, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t cap,
			size_t *rlen, struct si_diag *d)
{
	struct tpm2_dev *dev = ctx;
	size_t got = 0, want = TPM2_HDR;
	ssize_t n;

	do
		n = write(dev->fd, cmd, len);
	while (n < 0 && errno == EINTR);
	if (n < 0 || (size_t)n != len)
		return si_diag_sys(d, SI_E_TPM_IO, dev->path, n < 0 ? errno : EIO);
	while (got < want) {
		n = read(dev->fd, rsp + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return si_diag_sys(d, SI_E_TPM_IO, dev->path, n < 0 ? errno : EIO);
		got += (size_t)n;
		if (got >= TPM2_HDR) {
			want = si_be32(rsp + 2);
			if (want < TPM2_HDR || want > cap)
				break; /* the parser says what is wrong */
		}
	}
	*rlen = got;
	return 0;
}

int tpm2_dev_open(struct tpm2_dev *dev, const char *path, struct tpm2_ops *ops,
		  struct si_diag *d)
{
	struct stat st;
	int fd = -1;

	memset(dev, 0, sizeof *dev);
	dev->fd = -1;
	if (!path) {
		fd = open("/dev/tpmrm0", O_RDWR | O_CLOEXEC);
		path = fd >= 0 || errno != ENOENT ? "/dev/tpmrm0" : "/dev/tpm0";
	}
	if (strlen(path) >= sizeof dev->path)
		return si_diag_want(d, SI_E_ARG, "TPM device path (bytes)", sizeof dev->path - 1, strlen(path));
	memcpy(dev->path, path, strlen(path) + 1);
	if (fd < 0 && stat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		struct sockaddr_un a;

		memset(&a, 0, sizeof a);
		a.sun_family = AF_UNIX;
		if (strlen(path) >= sizeof a.sun_path)
			return si_diag_want(d, SI_E_ARG, "TPM socket path (bytes)", sizeof a.sun_path - 1, strlen(path));
		memcpy(a.sun_path, path, strlen(path));
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
			int e = errno;

			close(fd);
			return si_diag_sys(d, SI_E_TPM_ABSENT, path, e);
		}
	} else if (fd < 0) {
		fd = open(path, O_RDWR | O_CLOEXEC);
	}
	if (fd < 0)
		return si_diag_sys(d, errno == ENOENT || errno == ENODEV || errno == ENXIO ? SI_E_TPM_ABSENT : SI_E_TPM_IO,
				   path, errno);
	dev->fd = fd;
	ops->ctx = dev;
	ops->transmit = dev_transmit;
	return 0;
}

void tpm2_dev_close(struct tpm2_dev *dev)
{
	if (dev->fd >= 0)
		close(dev->fd);
	dev->fd = -1;
}
