/* sealinit: the kernel command line's sealinit.* options.
 *
 * Pure: parses the bytes of /proc/cmdline.  The kernel keeps "a.b=c"
 * options out of init's argv (they look like module parameters) but shows
 * them in /proc/cmdline, which is where sealinit reads its own.
 *
 *   sealinit.test=poweroff        power off where the handoff would be (needs
 *                                 CONFIG_TEST_HOOKS; refused otherwise)
 *   sealinit.failure=panic|reboot|rescue   override the failure action
 *   sealinit.loglevel=3..7        console verbosity
 *   sealinit.loader=fallback      the boot loader booted the previous
 *                                 slot's kernel: the trial's kernel
 *                                 never reached sealinit
 *   sealinit.preboot=LABEL        GPT label of the preboot volume
 *   sealinit.system=LABEL         GPT label of the system volume
 *   sealinit.data=LABEL|none      GPT label of the data volume, or none
 *   init=/path                    the real init (the kernel's own option)
 *
 * Unknown sealinit.* options and bad values are collected, not ignored:
 * plan_settings reports each one.  A lone "--" ends the options, as it
 * ends the kernel's: what follows is init's arguments.
 */
#ifndef SEALINIT_INIT_CMDLINE_H
#define SEALINIT_INIT_CMDLINE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/bytes.h"
#include "lib/err.h"

#define SI_CMDLINE_MAX 4096   /* the kernel's COMMAND_LINE_SIZE on arm64 */
#define SI_CMDLINE_PATH_MAX 256
#define SI_CMDLINE_MAX_PROBLEMS 8
#define SI_CMDLINE_LABEL_MAX 36  /* a GPT name: 36 UTF-16 units */

enum si_failure {
	SI_FAILURE_DEFAULT = 0, /* Kconfig's choice */
	SI_FAILURE_PANIC,
	SI_FAILURE_REBOOT,
	SI_FAILURE_RESCUE,
};

enum si_test_hook {
	SI_TEST_NONE = 0,
	SI_TEST_POWEROFF,
};

struct si_cmdline_problem {
	int err;                 /* SI_E_CMDLINE_* */
	char option[64];         /* escaped, capped copy of the whole option */
};

struct si_cmdline {
	enum si_test_hook test;
	enum si_failure failure;
	int loglevel;            /* 0 = Kconfig's */
	int loader_fallback;     /* sealinit.loader=fallback */
	char init[SI_CMDLINE_PATH_MAX]; /* "" = Kconfig's */
	/* Partition labels, "" = Kconfig's; [A-Za-z0-9_.-]; data may be "none". */
	char preboot[SI_CMDLINE_LABEL_MAX + 1];
	char system[SI_CMDLINE_LABEL_MAX + 1];
	char data[SI_CMDLINE_LABEL_MAX + 1];
	unsigned n_problems;
	unsigned problems_dropped;
	struct si_cmdline_problem problems[SI_CMDLINE_MAX_PROBLEMS];
};

/* Parses buf[0..len).  Tokens are separated by white space; a value may be
 * double-quoted as the kernel allows.  Problems with individual options
 * are recorded in out->problems and the rest is still parsed, so one typo
 * does not hide the others.  Returns SI_E_TOO_BIG when len exceeds
 * SI_CMDLINE_MAX (nothing is parsed then), else 0. */
int si_cmdline_parse(const char *buf, size_t len, struct si_cmdline *out) SI_WUR;

#endif
