/* sealinit: PID 1.  This file reads like docs/boot-flow.md: each stage in
 * order, timed, and one failure policy.  Only init/ knows it is PID 1; the
 * stages call pure library code (verify/, ...) and report its errors once.
 *
 *   1. mounts    /proc, /sys, /dev (devtmpfs), /run (tmpfs); then the log
 *   2. cmdline   sealinit.* options from /proc/cmdline
 *   3. anchor    the trust anchor from /sys/firmware/fdt
 *   4. storage   the initramfs's storage modules; the preboot volume
 *   5. kc        the boot kernel collection, verified in memory; its modules
 *   6. system    the sealed system volume through dm-verity on /newroot
 *   7. cryptex   each cryptex through dm-verity, overlaid on its target
 *   8. data      the writable data volume on /newroot/data
 *   9. handoff   status.json; switch_root; exec the real init
 *                (sealinit.test=poweroff powers off here instead)
 *
 * Any required step that fails ends in the failure action (Kconfig, or
 * sealinit.failure=): sealinit never goes on with unverified data.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "init/boot.h"
#include "init/cmdline.h"
#include "init/log.h"
#include "lib/str.h"
#include "verify/anchor.h"

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

static const char *failure_name(int failure)
{
	switch ((enum si_failure)failure) {
	case SI_FAILURE_DEFAULT: break;
	case SI_FAILURE_PANIC: return "panic";
	case SI_FAILURE_REBOOT: return "reboot";
	case SI_FAILURE_RESCUE: return "rescue shell";
	}
	return "?";
}

static enum si_failure failure_default(void)
{
	if (IS_ENABLED(CONFIG_FAILURE_PANIC))
		return SI_FAILURE_PANIC;
	if (IS_ENABLED(CONFIG_FAILURE_RESCUE))
		return SI_FAILURE_RESCUE;
	return SI_FAILURE_REBOOT;
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
	si_log(SI_LOG_ERR, "sealinit: failing boot in stage '%s' (action: %s)", b->stage,
	       failure_name(b->failure));
	stage_end(b);
	timing_summary(b);
	sync();
	switch ((enum si_failure)b->failure) {
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

/* ---------------------------------------------------------------- stages */

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
			si_diag_where(&d, m[i].dir, strlen(m[i].dir));
			si_diag_errno(&d, errno);
			si_log_error("mounts", m[i].type, SI_E_MOUNT, &d);
			r = SI_E_MOUNT;
		}
	}
	return r;
}

/* Reads a whole small file; -errno, or -EFBIG when it does not fit in cap. */
int boot_read_file(const char *path, char *buf, size_t cap, size_t *len)
{
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t r = read(fd, buf + got, cap - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got == cap) {
			close(fd);
			return -EFBIG;
		}
	}
	close(fd);
	*len = got;
	return 0;
}

static void stage_cmdline(struct boot *b)
{
	static char buf[SI_CMDLINE_MAX + 1];
	size_t len = 0;
	unsigned i;
	int r;

	r = boot_read_file("/proc/cmdline", buf, sizeof buf, &len);
	if (r != 0) {
		struct si_diag d;

		si_diag_clear(&d);
		si_diag_where(&d, "/proc/cmdline", 13);
		si_diag_errno(&d, r == -EFBIG ? EFBIG : -r);
		si_log_error("cmdline", "kernel command line", SI_E_IO, &d);
		si_log(SI_LOG_WARN, "sealinit: cmdline: going on with the built-in configuration");
		return;
	}
	if (si_cmdline_parse(buf, len, &b->cmdline) != 0)
		return;
	for (i = 0; i < b->cmdline.n_problems; i++)
		si_log(SI_LOG_WARN, "sealinit: cmdline: %s: '%s' ignored [%s]",
		       si_err_meaning(b->cmdline.problems[i].err),
		       b->cmdline.problems[i].option,
		       si_err_name(b->cmdline.problems[i].err));
	if (b->cmdline.problems_dropped)
		si_log(SI_LOG_WARN, "sealinit: cmdline: %u more problems not shown",
		       b->cmdline.problems_dropped);
	if (b->cmdline.n_problems)
		si_log(SI_LOG_WARN, "sealinit: hint: %s", si_err_check(b->cmdline.problems[0].err));
	if (b->cmdline.loglevel)
		si_log_set_level(b->cmdline.loglevel);
	if (b->cmdline.failure != SI_FAILURE_DEFAULT)
		b->failure = b->cmdline.failure;
	if (b->cmdline.test != SI_TEST_NONE && !IS_ENABLED(CONFIG_TEST_HOOKS)) {
		si_log(SI_LOG_WARN, "sealinit: cmdline: sealinit.test= ignored: this build has no test hooks (CONFIG_TEST_HOOKS)");
		b->cmdline.test = SI_TEST_NONE;
	}
}

static int stage_anchor(struct boot *b)
{
	struct si_diag d;
	size_t len = 0;
	unsigned i;
	int r;

	si_diag_clear(&d);
	r = boot_read_file("/sys/firmware/fdt", (char *)fdt_buf, sizeof fdt_buf, &len);
	if (r == -EFBIG) {
		si_diag_where(&d, "/sys/firmware/fdt", 17);
		si_diag_values(&d, sizeof fdt_buf, sizeof fdt_buf + 1);
		si_log_error("anchor", "device tree", SI_E_TOO_BIG, &d);
		return SI_E_TOO_BIG;
	}
	if (r != 0) {
		si_diag_where(&d, "/sys/firmware/fdt", 17);
		si_diag_errno(&d, -r);
		si_log_error("anchor", "device tree", SI_E_FDT_MISSING, &d);
		return SI_E_FDT_MISSING;
	}
	r = si_anchor_parse(fdt_buf, len, &b->anchor, &d);
	if (r != 0) {
		si_log_error("anchor", "trust anchor", r, &d);
		return r;
	}
	for (i = 0; i < b->anchor.n_keys; i++) {
		const struct si_key *k = &b->anchor.keys[i];
		char usages[96], fp[17];

		si_usages_format(k->usages, usages, sizeof usages);
		si_hex(fp, k->fingerprint, 8);
		si_log(SI_LOG_INFO, "sealinit: anchor: key '%s' %s%s may sign %s (fingerprint %s)",
		       k->id, si_algo_name(k->algo),
		       k->source == SI_KEY_UBOOT ? " from U-Boot /signature" : "", usages, fp);
	}
	if (b->anchor.has_floor)
		si_log(SI_LOG_INFO, "sealinit: anchor: rollback floor %llu",
		       (unsigned long long)b->anchor.rollback_floor);
	si_log(SI_LOG_NOTICE, "sealinit: anchor: %u key%s OK", b->anchor.n_keys,
	       b->anchor.n_keys == 1 ? "" : "s");
	return 0;
}

/* The handoff: the status for the OS, then switch_root and exec. */
static void __attribute__((noreturn)) handoff(struct boot *b, char **argv)
{
	const char *init = b->cmdline.init[0] ? b->cmdline.init : CONFIG_REAL_INIT;
	char path[SI_CMDLINE_PATH_MAX + sizeof NEWROOT];
	struct si_diag d;
	struct stat st;
	int r;

	snprintf(path, sizeof path, "%s%s", NEWROOT, init);
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111)) {
		si_diag_clear(&d);
		si_diag_where(&d, init, strlen(init));
		si_diag_errno(&d, errno);
		si_log_error("handoff", "real init", SI_E_INIT_MISSING, &d);
		fail_boot(b);
	}
	stage_end(b);
	(void)stage_status(b, elapsed_us(&b->t0));
	if (b->cmdline.test == SI_TEST_POWEROFF) {
		si_log(SI_LOG_NOTICE, "sealinit: test: powering off where the handoff would be (sealinit.test=poweroff)");
		timing_summary(b);
		sync();
		reboot(RB_POWER_OFF);
		rest_forever();
	}
	stage_begin(b, "switch_root");
	r = fs_switch_root(NEWROOT, &d);
	if (r) {
		si_log_error("handoff", "switch_root", r, &d);
		fail_boot(b);
	}
	stage_end(b);
	timing_summary(b);
	si_log(SI_LOG_NOTICE, "sealinit: handoff: exec %s after %u.%03u ms", init,
	       elapsed_us(&b->t0) / 1000, elapsed_us(&b->t0) % 1000);
	/* The kernel passed init's arguments to us: hand them on. */
	argv[0] = (char *)init;
	/* After the last line, so all of sealinit's reach the kernel log. */
	si_log_handoff();
	execv(init, argv);
	si_diag_clear(&d);
	si_diag_where(&d, init, strlen(init));
	si_diag_errno(&d, errno);
	si_log_error("handoff", "real init", SI_E_EXEC, &d);
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

static const char *label(const char *cmdline, const char *config)
{
	return cmdline[0] ? cmdline : config;
}

int main(int argc, char **argv)
{
	static struct boot b;

	(void)argc;
	if (getpid() != 1) {
		fprintf(stderr, "sealinit: runs only as PID 1 (the initramfs's /init); "
				"on a host, use sealctl\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &b.t0);
	b.failure = failure_default();

	stage_begin(&b, "mounts");
	if (stage_mounts() != 0) {
		si_log_open(CONFIG_CONSOLE);
		fail_boot(&b);
	}
	si_log_open(CONFIG_CONSOLE);
	si_log(SI_LOG_NOTICE, "sealinit: starting (board %s)", CONFIG_BOARD);
	if (IS_ENABLED(CONFIG_TEST_HOOKS))
		si_log(SI_LOG_WARN, "sealinit: WARNING: development build: test hooks enabled (CONFIG_TEST_HOOKS); not for production");
	stage_end(&b);

	stage_begin(&b, "cmdline");
	stage_cmdline(&b);
	b.preboot_label = label(b.cmdline.preboot, CONFIG_PREBOOT_LABEL);
	b.system_label = label(b.cmdline.system, CONFIG_SYSTEM_LABEL);
	b.data_label = label(b.cmdline.data, CONFIG_DATA_LABEL);
	stage_end(&b);

	run_stage(&b, "anchor", stage_anchor);
	run_stage(&b, "storage", stage_storage);
	run_stage(&b, "kc", stage_kc);
	run_stage(&b, "system", stage_system);
	run_stage(&b, "cryptex", stage_cryptexes);
	run_stage(&b, "data", stage_data);
	stage_begin(&b, "handoff");
	handoff(&b, argv);
}
