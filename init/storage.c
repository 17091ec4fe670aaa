/* sealinit: stage storage -- the initramfs's modules (the CPU's SHA-256,
 * storage drivers, the preboot volume's file system), planned then
 * loaded; then the preboot volume, found by GPT label and mounted
 * read-only.  The initramfs is verified with the kernel by the boot
 * loader; its module list is still read with bounds. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init/boot.h"
#include "init/log.h"
#include "lib/fdio.h"
#include "lib/str.h"

#define MODULE_DIR "/lib/modules"

/* Maps each listed module read-only (its .modinfo is read from the map;
 * finit_module loads the file). */
static int modules_map(struct plan_modset *m, char *list)
{
	struct si_diag d;
	char *line, *save;

	m->n = 0;
	for (line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct stat st;
		void *p = MAP_FAILED;
		int fd, e = 0;

		if (strchr(line, '/') || line[0] == '.' || m->n >= CONFIG_MAX_MODULES ||
		    strlen(line) + sizeof MODULE_DIR "/" > sizeof m->file[0]) {
			si_diag_clear(&d);
			si_diag_where(&d, line, strlen(line));
			if (m->n >= CONFIG_MAX_MODULES)
				si_diag_values(&d, CONFIG_MAX_MODULES, m->n + 1);
			si_log_error("storage", MODULE_DIR "/order", SI_E_MODLIST, &d);
			return SI_E_MODLIST;
		}
		snprintf(m->file[m->n], sizeof m->file[0], MODULE_DIR "/%s", line);
		fd = open(m->file[m->n], O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) != 0)
			e = errno;
		else if (!S_ISREG(st.st_mode) || st.st_size <= 0)
			e = ENODATA;
		else if ((p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED)
			e = errno;
		if (fd >= 0)
			close(fd);
		if (e) {
			si_diag_clear(&d);
			si_log_error("storage", "initramfs module",
				     si_diag_sys(&d, SI_E_OPEN, m->file[m->n], e), &d);
			return SI_E_OPEN;
		}
		m->img[m->n] = p;
		m->len[m->n] = (size_t)st.st_size;
		m->n++;
	}
	return 0;
}

int stage_storage(struct boot *b)
{
	static char list[4096];
	static struct plan_modset m;
	char dev[64], hint[400] = "";
	struct si_diag d;
	size_t len = 0;
	unsigned i;
	int r;

	si_diag_clear(&d);
	r = kc_uname_release(b->kernel_release, sizeof b->kernel_release, &d);
	if (r) {
		si_log_error("storage", "kernel release", r, &d);
		return r;
	}
	r = si_read_file(MODULE_DIR "/order", 0, list, sizeof list - 1, &len, &d);
	if (r == SI_E_OPEN && d.sys_errno == ENOENT) {
		len = 0;
	} else if (r) {
		si_log_error("storage", "initramfs module list", r, &d);
		return r;
	}
	list[len] = '\0';
	r = modules_map(&m, list);
	if (r == 0)
		r = plan_modules(&m, b->kernel_release, "storage", "the initramfs", &b->ops);
	if (r == 0)
		r = boot_modset_load(&m, "storage", "the initramfs");
	for (i = 0; i < m.n; i++)
		munmap((void *)m.img[i], m.len[i]);
	if (r)
		return r;
	si_log(SI_LOG_INFO, "sealinit: storage: %u initramfs modules loaded", m.n);

	r = boot_wait_partition(b->set.preboot_label, dev, sizeof dev, hint, sizeof hint, &d);
	if (r) {
		si_log_error("storage", b->set.preboot_label, r, &d);
		if (hint[0])
			si_log(SI_LOG_ERR, "sealinit: hint: %s", hint);
		return r;
	}
	boot_mkdirs(PREBOOT_MNT);
	/* Read-only until the update stages need to write (staged patches). */
	if (mount(dev, PREBOOT_MNT, "ext4", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) {
		si_diag_clear(&d);
		si_log_error("storage", "preboot volume", si_diag_sys(&d, SI_E_MOUNT, dev, errno), &d);
		return SI_E_MOUNT;
	}
	si_log(SI_LOG_INFO, "sealinit: storage: preboot volume '%s' (%s) mounted", b->set.preboot_label, dev);
	return 0;
}
