/* sealinit: the kernel's modprobe helper before the handoff.
 *
 * A module the kernel asks for while sealinit runs (request_module: a
 * crypto algorithm such as "crypto-crc32c" that libcrc32c needs, a
 * device-mapper target "dm-verity", a file system) is answered from the
 * verified boot kernel collection only.  PID 1 copies the collection's
 * verified archive into a memfd, seals it against every change
 * (F_SEAL_WRITE|SHRINK|GROW|SEAL) and points /proc/sys/kernel/modprobe at
 * /init.  The kernel runs "/init -q -- NAME" as a helper process; that
 * process (not PID 1) opens PID 1's memfd through /proc/1/fd, checks the
 * seals (what PID 1 verified is what it reads), finds NAME among the
 * modules' names and alias= entries, and loads it after its depends=.
 * A name the collection does not have is refused with a line: nothing
 * from an unverified place is ever loaded.  Just before the handoff PID 1
 * puts the OS's /sbin/modprobe back (the system tier serves it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init/boot.h"
#include "init/log.h"
#include "kc/collection.h"
#include "kc/kc.h"
#include "lib/fdio.h"
#include "lib/str.h"

#define HELPER_FD 97                        /* the memfd, in PID 1 */
#define HELPER_SEALS (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)
#define MODPROBE_SYSCTL "/proc/sys/kernel/modprobe"
#define OS_MODPROBE "/sbin/modprobe"

static int write_sysctl(const char *val)
{
	int fd = open(MODPROBE_SYSCTL, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

int boot_modhelper_arm(const uint8_t *archive, size_t len, size_t hole, size_t hole_len)
{
	int fd, r = -1;

	if (hole > len || hole_len > len - hole)
		hole = hole_len = 0;
	fd = memfd_create("sealinit-kc-boot", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		goto out;
	if (ftruncate(fd, (off_t)len) != 0 || si_pwrite_full(fd, 0, archive, hole, NULL) != 0 ||
	    si_pwrite_full(fd, (uint64_t)(hole + hole_len), archive + hole + hole_len,
			   len - hole - hole_len, NULL) != 0 ||
	    fcntl(fd, F_ADD_SEALS, HELPER_SEALS) != 0 || dup3(fd, HELPER_FD, O_CLOEXEC) != HELPER_FD) {
		close(fd);
		goto out;
	}
	close(fd);
	r = write_sysctl("/init");
out:
	if (r)
		si_log(SI_LOG_WARN, "sealinit: kc: the kernel's module requests cannot be answered "
		       "(errno %d); a module only the kernel asks for stays unloaded", errno);
	return r;
}

void boot_modhelper_disarm(void)
{
	if (write_sysctl(OS_MODPROBE) != 0)
		si_log(SI_LOG_WARN, "sealinit: handoff: %s not restored to %s (errno %d)",
		       MODPROBE_SYSCTL, OS_MODPROBE, errno);
	close(HELPER_FD);
}

/* One line to the kernel log and the console, as PID 1's lines go. */
static void klog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void klog(const char *fmt, ...)
{
	char line[400];
	va_list ap;
	int fd, n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof line - 2)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		(void)!write(fd, line, (size_t)n);
		close(fd);
	}
	fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0) {
		(void)!write(fd, line, (size_t)n);
		close(fd);
	}
}

/* The module of the collection named `name`, or with alias= `name`. */
static int find(const uint8_t *a, const struct kc_collection *c, const char *name, unsigned *at)
{
	unsigned i;

	for (i = 0; i < c->count; i++)
		if (!c->mods[i].boot_image && kc_name_eq(c->mods[i].name, name)) {
			*at = i;
			return 1;
		}
	for (i = 0; i < c->count; i++)
		if (!c->mods[i].boot_image && kc_modinfo_has_alias(a + c->mods[i].offset, (size_t)c->mods[i].size, name, NULL) == 1) {
			*at = i;
			return 1;
		}
	return 0;
}

/* Loads module i after its depends= (each from the collection). */
static int load(const uint8_t *a, const struct kc_collection *c, unsigned i, unsigned depth,
		struct si_diag *d)
{
	struct kc_modinfo mi;
	char deps[KC_DEPENDS_MAX], *tok, *save;
	unsigned j;
	int r;

	if (depth > 16)
		return SI_E_MOD_CYCLE;
	r = kc_modinfo_parse(a + c->mods[i].offset, (size_t)c->mods[i].size, &mi, d);
	if (r == 0)
		r = kc_vermagic_check(&mi, c->release, d);
	if (r)
		return r;
	memcpy(deps, mi.depends, sizeof deps);
	for (tok = strtok_r(deps, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (boot_module_loaded(tok))
			continue;
		if (!find(a, c, tok, &j)) {
			si_diag_clear(d);
			si_diag_field(d, "depends");
			si_diag_text(d, "each one in the boot kernel collection", tok);
			return SI_E_MODULE_DEP;
		}
		r = load(a, c, j, depth + 1, d);
		if (r)
			return r;
	}
	return kc_module_load(a + c->mods[i].offset, (size_t)c->mods[i].size, NULL, d);
}

int boot_modhelper_main(int argc, char **argv)
{
	static struct kc_collection coll;
	char esc[KC_NAME_MAX * 4 + 8], line[300];
	const char *name = NULL;
	struct si_diag d;
	struct stat st;
	uint8_t *a;
	unsigned i;
	int fd, seals, r;

	/* "modprobe -q -- NAME" (kernel/kmod.c) */
	for (i = 1; i < (unsigned)argc; i++)
		if (argv[i][0] != '-')
			name = argv[i];
	if (!name)
		return 1;
	si_escape(esc, sizeof esc, name, strnlen(name, KC_NAME_MAX * 2));
	fd = open("/proc/1/fd/97", O_RDONLY | O_CLOEXEC);
	seals = fd < 0 ? -1 : fcntl(fd, F_GET_SEALS);
	if (fd < 0 || seals < 0 || (seals & HELPER_SEALS) != HELPER_SEALS || fstat(fd, &st) != 0 ||
	    st.st_size <= 0) {
		klog("sealinit: modprobe: '%s' not loaded: the verified boot kernel collection is "
		     "not available (not sealed, or sealinit is done)", esc);
		return 1;
	}
	a = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (a == MAP_FAILED)
		return 1;
	si_diag_clear(&d);
	r = kc_coll_parse(a, (size_t)st.st_size, &coll, &d);
	if (r == 0 && !find(a, &coll, name, &i)) {
		klog("sealinit: modprobe: '%s' is not in the verified boot kernel collection "
		     "(%u modules for %s): not loaded; nothing is loaded from an unverified place",
		     esc, coll.count, coll.release);
		return 1;
	}
	if (r == 0)
		r = load(a, &coll, i, 0, &d);
	if (r) {
		si_diag_format(&d, r, line, sizeof line);
		klog("sealinit: modprobe: '%s': %s [%s]", esc, line, si_err_name(r));
		return 1;
	}
	klog("sealinit: modprobe: loaded %s for the kernel's request '%s' from the verified boot "
	     "kernel collection", coll.mods[i].name, esc);
	return 0;
}
