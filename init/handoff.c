/* sealinit: stage handoff, the checks before it -- the real init resolved
 * inside the new root (its symbolic links never lead out of it), and
 * required to be an executable file of the verified system volume itself;
 * then status.json.  init/main.c switches root and execs the descriptor
 * checked here, so what runs as PID 1 is the file that was checked. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init/boot.h"
#include "init/log.h"

int stage_handoff_check(struct boot *b, int *init_fd, char *resolved, size_t n)
{
	char real[PLAN_PATH_MAX];
	const char *rel;
	enum plan_init_mount on = PLAN_INIT_ON_OTHER;
	struct si_diag d;
	struct stat st;
	int fd = -1, r, is_exec = 0;

	si_diag_clear(&d);
	r = fs_resolve(b->newroot_fd, b->plan.init, 0, &fd, &d);
	if (r)
		return plan_init_check(&b->plan, NULL, 0, on, &d, &b->ops);
	if (fstat(fd, &st) == 0) {
		is_exec = S_ISREG(st.st_mode) && (st.st_mode & 0111);
		if (st.st_dev == b->sys_dev)
			on = PLAN_INIT_ON_SYSTEM;
	}
	/* Where it resolved to: the kernel's own name for the descriptor. */
	if (fs_fd_path_in(fd, PLAN_NEWROOT, real, sizeof real) == 0) {
		rel = real;
	} else {
		rel = "(outside the new root)";
		on = PLAN_INIT_ON_OTHER;
	}
	r = plan_init_check(&b->plan, rel, is_exec, on, &d, &b->ops);
	if (r) {
		close(fd);
		return r;
	}
	/* A script is run by its interpreter through /dev/fd/N: that one
	 * descriptor must survive the exec. */
	{
		char magic[2];

		if (pread(fd, magic, 2, 0) == 2 && magic[0] == '#' && magic[1] == '!')
			(void)fcntl(fd, F_SETFD, 0);
	}
	snprintf(resolved, n, "%s", rel);
	*init_fd = fd;
	return 0;
}

int stage_status(struct boot *b, unsigned elapsed_us)
{
	static char out[16384];
	struct si_diag d;
	size_t len;
	int fd, truncated = 0, r = 0;

	len = plan_status_json(&b->plan, &b->board, &b->anchor, b->kernel_release, &b->ustate, b->timing,
			       b->n_stages, elapsed_us, out, sizeof out, &truncated);
	if (truncated)
		si_log(SI_LOG_WARN, "sealinit: status: status.json truncated at %zu bytes", len);
	boot_mkdirs(RUNDIR);
	fd = open(RUNDIR "/status.json", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, out, len) != (ssize_t)len)
		r = SI_E_IO;
	si_diag_clear(&d);
	if (r)
		si_diag_sys(&d, r, RUNDIR "/status.json", errno);
	if (fd >= 0)
		close(fd);
	if (r)
		si_log_error("status", "status.json", r, &d);
	return r;
}
