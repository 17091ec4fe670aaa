/* sealinit kc/: loading modules.  init_module(2) takes the image from our
 * memory, the very bytes the seal check hashed; finit_module(2) reads a
 * file of the initramfs (which the boot loader's signature covers). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "kc/kc.h"
#include "lib/str.h"

static int kc_load_fail(struct si_diag *d, const char *field, int e)
{
	si_diag_field(d, field);
	si_diag_errno(d, e);
	return SI_E_MODULE_LOAD;
}

int kc_module_load(const uint8_t *image, size_t len, const char *params,
		   struct si_diag *d)
{
	struct kc_modinfo mi;

	if (!image || len == 0)
		return SI_E_ARG;
	/* Name the module in any diagnostic; the kernel parses it anyway. */
	if (kc_modinfo_parse(image, len, &mi, NULL) == 0)
		si_diag_where(d, mi.name, strlen(mi.name));
	if (syscall(SYS_init_module, image, (unsigned long)len, params ? params : "") == 0 ||
	    errno == EEXIST)
		return 0;
	return kc_load_fail(d, "init_module", errno);
}

int kc_module_load_file(const char *path, const char *params, struct si_diag *d)
{
	int fd, r = 0;

	if (!path)
		return SI_E_ARG;
	si_diag_where(d, path, strlen(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		si_diag_errno(d, errno);
		return SI_E_OPEN;
	}
	if (syscall(SYS_finit_module, fd, params ? params : "", 0) != 0 && errno != EEXIST)
		r = kc_load_fail(d, "finit_module", errno);
	close(fd);
	return r;
}

int kc_uname_release(char *out, size_t n, struct si_diag *d)
{
	struct utsname u;
	size_t len;

	if (!out || n == 0)
		return SI_E_ARG;
	if (uname(&u) != 0) {
		si_diag_field(d, "uname");
		si_diag_errno(d, errno);
		return SI_E_IO;
	}
	len = strnlen(u.release, sizeof u.release);
	if (len >= n)
		return SI_E_TOO_BIG;
	memcpy(out, u.release, len + 1);
	return 0;
}
