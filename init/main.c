/* sealinit: PID 1.  This file reads like docs/boot-flow.md: each stage in
 * order, timed, and one failure policy.  Only init/ knows it is PID 1: it
 * gathers the inputs, plan/ decides, and the stages execute the plan.
 *
 *   1. mounts    /proc, /sys, /dev (devtmpfs), /run (tmpfs); then the log
 *   2. cmdline   sealinit.* options from /proc/cmdline, against the board's
 *                policy (plan_settings)
 *   3. anchor    the trust anchor from /sys/firmware/fdt (or, where the kernel
 *                has no device tree, a DTB in the signed initramfs)
 *   4. storage   the initramfs's storage modules, planned then loaded; the
 *                preboot volume
 *   5. update    the update state and floors (newest valid copies); a trial
 *                attempt spent, a failed trial rolled back, a staged
 *                update applied or a revert done; the slot to boot
 *   6. plan      every decision of the boot (plan_boot): the boot KC read
 *                whole and verified, every seal opened, overlays
 *                authorised, what is skipped and why
 *   7. kc        the boot kernel collection's modules, from verified memory
 *   8. system    the system volume through dm-verity on /newroot
 *   9. cryptex   each cryptex through dm-verity, overlaid on its target
 *  10. data      the writable data volume on its mount point
 *  11. handoff   the real init checked, status.json, switch_root, exec
 *                (sealinit.test=poweroff powers off here instead)
 *
 * Any required step that fails ends in the failure action (Kconfig, or
 * sealinit.failure= where the build allows it): sealinit never goes on
 * with unverified data.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "init/boot.h"
#include "init/log.h"
#include "lib/fdio.h"
#include "lib/str.h"
#include "verify/anchor.h"

extern char **environ;

/* The blob from the firmware, read whole before it is parsed. */
static uint8_t fdt_buf[CONFIG_MAX_FDT_KB * 1024] __attribute__((aligned(8)));

static unsigned elapsed_us(const struct timespec *from)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (unsigned)((now.tv_sec - from->tv_sec) * 1000000 +
			  (now.tv_nsec - from->tv_nsec) / 1000);
}

static void stage_begin(struct boot *b, const char *name)
{
	b->stage = name;
	clock_gettime(CLOCK_MONOTONIC, &b->stage_t0);
}

static void stage_end(struct boot *b)
{
	if (b->n_stages < BOOT_MAX_STAGES) {
		b->timing[b->n_stages].name = b->stage;
		b->timing[b->n_stages].us = elapsed_us(&b->stage_t0);
		b->n_stages++;
	}
}

static void timing_summary(const struct boot *b)
{
	char line[512];
	struct si_buf sb;
	unsigned i;

	si_buf_init(&sb, line, sizeof line);
	for (i = 0; i < b->n_stages; i++)
		si_buf_printf(&sb, "%s%s %u.%03u ms", i ? ", " : "", b->timing[i].name,
			      b->timing[i].us / 1000, b->timing[i].us % 1000);
	si_log(SI_LOG_INFO, "sealinit: timing: %s; total %u.%03u ms", line,
	       elapsed_us(&b->t0) / 1000, elapsed_us(&b->t0) % 1000);
}

static const char *failure_name(enum si_failure f)
{
	switch (f) {
	case SI_FAILURE_DEFAULT: break;
	case SI_FAILURE_PANIC: return "panic";
	case SI_FAILURE_REBOOT: return "reboot";
	case SI_FAILURE_RESCUE: return "rescue shell";
	}
	return "?";
}

static void __attribute__((noreturn)) rest_forever(void)
{
	for (;;)
		pause();
}

/* The failure action.  Never returns: PID 1 must not fall through into
 * anything after a failed check. */
static void __attribute__((noreturn)) fail_boot(struct boot *b)
{
	si_log(SI_LOG_ERR, "sealinit: failing boot in stage '%s' (action: %s)",
	       b->fail_stage ? b->fail_stage : b->stage, failure_name(b->set.failure));
	stage_end(b);
	timing_summary(b);
	sync();
	switch (b->set.failure) {
	case SI_FAILURE_RESCUE:
#ifdef CONFIG_RESCUE_SHELL
	{
		pid_t pid;

		/* The shell's own /dev/kmsg writes get the kernel's default. */
		si_log_handoff();
		pid = fork();

		if (pid == 0) {
			char *const argv[] = { (char *)CONFIG_RESCUE_SHELL, NULL };
			setsid();
			execv(CONFIG_RESCUE_SHELL, argv);
			_exit(127);
		}
		if (pid > 0) {
			int st;
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
				si_log(SI_LOG_ERR, "sealinit: rescue shell %s could not run; rebooting",
				       CONFIG_RESCUE_SHELL);
		}
	}
#else
		si_log(SI_LOG_ERR, "sealinit: no rescue shell in this build; rebooting");
#endif
		/* After the shell, or without one: reboot. */
		__attribute__((fallthrough));
	case SI_FAILURE_DEFAULT:
	case SI_FAILURE_REBOOT:
		reboot(RB_AUTOBOOT);
		break;
	case SI_FAILURE_PANIC:
		/* PID 1 exiting is how user space asks the kernel to panic
		 * ("Attempted to kill init!"); panic= then decides. */
		exit(EXIT_FAILURE);
	}
	si_log(SI_LOG_ERR, "sealinit: failure action did not take effect (errno %d); halting here", errno);
	rest_forever();
}

/* ---------------------------------------------------------------- early stages */

static int stage_mounts(void)
{
	static const struct {
		const char *src, *dir, *type, *opts;
		unsigned long flags;
	} m[] = {
		{ "proc", "/proc", "proc", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC },
		{ "sysfs", "/sys", "sysfs", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC },
		{ "devtmpfs", "/dev", "devtmpfs", "mode=0755", MS_NOSUID },
		{ "tmpfs", "/run", "tmpfs", "mode=0755", MS_NOSUID | MS_NODEV },
	};
	struct si_diag d;
	size_t i;
	int r = 0;

	for (i = 0; i < SI_ARRAY_SIZE(m); i++) {
		mkdir(m[i].dir, 0755);
		if (mount(m[i].src, m[i].dir, m[i].type, m[i].flags, m[i].opts) != 0 &&
		    errno != EBUSY) {
			si_diag_clear(&d);
			si_log_error("mounts", m[i].type, si_diag_sys(&d, SI_E_MOUNT, m[i].dir, errno), &d);
			r = SI_E_MOUNT;
		}
	}
	return r;
}

static void stage_cmdline(struct boot *b)
{
	static char buf[SI_CMDLINE_MAX + 1];
	struct si_diag d;
	size_t len = 0;
	int r;

	memset(&b->cmdline, 0, sizeof b->cmdline);
	r = si_read_file("/proc/cmdline", 1, buf, sizeof buf, &len, &d);
	if (r == 0)
		r = si_cmdline_parse(buf, len, &b->cmdline);
	if (r) {
		si_log_error("cmdline", "kernel command line", r, &d);
		si_log(SI_LOG_WARN, "sealinit: cmdline: going on with the built-in configuration");
		memset(&b->cmdline, 0, sizeof b->cmdline);
	}
	plan_settings(&b->board, &b->cmdline, &b->ops, &b->set);
	if (b->set.loglevel)
		si_log_set_level(b->set.loglevel);
}

/* The anchor blob from the initramfs, for the running OS's sealctl
 * (stage, confirm): the initramfs is emptied at the handoff, /run moves
 * into the new root.  Read-only; a failure costs only those commands. */
static void anchor_publish(size_t len)
{
	struct si_diag d;
	int fd;

	boot_mkdirs(RUNDIR);
	si_diag_clear(&d);
	fd = open(BOOT_ANCHOR_COPY, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0444);
	if (fd < 0 || si_pwrite_full(fd, 0, fdt_buf, len, &d) != 0)
		si_log(SI_LOG_WARN, "sealinit: anchor: could not write %s (errno %d): the running OS's "
		       "sealctl needs --dtb", BOOT_ANCHOR_COPY, fd < 0 ? errno : d.sys_errno);
	if (fd >= 0)
		close(fd);
}

static int stage_anchor(struct boot *b)
{
	struct si_diag d;
	size_t len = 0;
	int r;

	si_diag_clear(&d);
	r = si_read_file(BOOT_ANCHOR_PATH, 0, fdt_buf, sizeof fdt_buf, &len, &d);
	if (r == SI_E_OPEN)
		r = IS_ENABLED(CONFIG_ANCHOR_INITRAMFS) ? SI_E_ANCHOR_FILE_MISSING : SI_E_FDT_MISSING;
	if (r) {
		si_log_error("anchor", IS_ENABLED(CONFIG_ANCHOR_INITRAMFS) ? "anchor blob" : "device tree", r, &d);
		return r;
	}
	r = si_anchor_parse(fdt_buf, len, b->board.uboot_usages, &b->anchor, &d);
	if (r) {
		si_log_error("anchor", "trust anchor", r, &d);
		return r;
	}
	plan_anchor_report(&b->anchor, &b->ops);
	if (IS_ENABLED(CONFIG_ANCHOR_INITRAMFS))
		anchor_publish(len);
	return 0;
}

/* ---------------------------------------------------------------- handoff */

/* The handoff: the checked init, the status for the OS, then switch_root
 * and exec of the very descriptor that was checked. */
static void __attribute__((noreturn)) handoff(struct boot *b, char **argv)
{
	char resolved[PLAN_PATH_MAX];
	struct si_diag d;
	int fd = -1, r;

	if (stage_handoff_check(b, &fd, resolved, sizeof resolved) != 0)
		fail_boot(b);
	boot_tpm_floor_lock(b);
	stage_end(b);
	(void)stage_status(b, elapsed_us(&b->t0));
	if (b->set.test == SI_TEST_POWEROFF) {
		si_log(SI_LOG_NOTICE, "sealinit: test: powering off where the handoff would be (sealinit.test=poweroff)");
		timing_summary(b);
		sync();
		reboot(RB_POWER_OFF);
		rest_forever();
	}
	/* A script init is run through /dev/fd/N: devtmpfs has no /dev/fd. */
	if (symlink("/proc/self/fd", "/dev/fd") != 0 && errno != EEXIST)
		si_log(SI_LOG_WARN, "sealinit: handoff: no /dev/fd (errno %d)", errno);
	stage_begin(b, "switch_root");
	r = fs_switch_root(PLAN_NEWROOT, &d);
	if (r) {
		si_log_error("handoff", "switch_root", r, &d);
		fail_boot(b);
	}
	stage_end(b);
	timing_summary(b);
	si_log(SI_LOG_NOTICE, "sealinit: handoff: exec %s (%s) after %u.%03u ms", b->plan.init,
	       resolved, elapsed_us(&b->t0) / 1000, elapsed_us(&b->t0) % 1000);
	{
		/* since the kernel started: what a boot costs, kernel included */
		struct timespec up;

		if (clock_gettime(CLOCK_BOOTTIME, &up) == 0)
			si_log(SI_LOG_INFO, "sealinit: handoff: kernel uptime %ld.%03ld ms at the exec",
			       (long)up.tv_sec * 1000 + up.tv_nsec / 1000000, (up.tv_nsec / 1000) % 1000);
	}
	/* The kernel passed init's arguments to us: hand them on. */
	argv[0] = b->plan.init;
	boot_modhelper_disarm();
	/* After the last line, so all of sealinit's reach the kernel log. */
	si_log_handoff();
	syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
	if (errno == ENOSYS)
		execv(resolved, argv);
	si_diag_clear(&d);
	si_log_error("handoff", "real init", si_diag_sys(&d, SI_E_EXEC, b->plan.init, errno), &d);
	fail_boot(b);
}

/* One required stage: on failure, the failure action. */
static void run_stage(struct boot *b, const char *name, int (*fn)(struct boot *))
{
	stage_begin(b, name);
	if (fn(b) != 0)
		fail_boot(b);
	stage_end(b);
}

int main(int argc, char **argv)
{
	static struct boot b;

	if (getpid() != 1 && argc >= 3 && !strcmp(argv[1], "-q"))
		return boot_modhelper_main(argc, argv);
	if (getpid() != 1) {
		fprintf(stderr, "sealinit: runs only as PID 1 (the initramfs's /init); "
				"on a host, use sealctl (sealctl doctor predicts a boot)\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &b.t0);
	plan_board_kconfig(&b.board);
	boot_ops_init(&b);
	b.set.failure = b.board.failure;
	b.newroot_fd = -1;

	stage_begin(&b, "mounts");
	if (stage_mounts() != 0) {
		si_log_open(CONFIG_CONSOLE);
		fail_boot(&b);
	}
	si_log_open(CONFIG_CONSOLE);
	si_log(SI_LOG_NOTICE, "sealinit: starting (board %s)", b.board.name);
	plan_banner(&b.board, &b.ops);
	stage_end(&b);

	stage_begin(&b, "cmdline");
	stage_cmdline(&b);
	stage_end(&b);

	run_stage(&b, "anchor", stage_anchor);
	run_stage(&b, "storage", stage_storage);
	run_stage(&b, "update", stage_update);
	run_stage(&b, "plan", stage_plan);
	run_stage(&b, "kc", stage_kc);
	run_stage(&b, "system", stage_system);
	run_stage(&b, "cryptex", stage_cryptexes);
	run_stage(&b, "data", stage_data);
	stage_begin(&b, "handoff");
	handoff(&b, argv);
}
