/* sealctl: the host tool's command table and shared helpers.
 * Each command lives in tools/cmd_<name>.c and is listed in tools/sealctl.c;
 * its --help text and its section of sealctl(1) come from one source,
 * docs/man/sealctl.txt (tools/mkhelp turns it into both). */
#ifndef SEALINIT_TOOLS_SEALCTL_H
#define SEALINIT_TOOLS_SEALCTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/err.h"

/* Exit codes, one table for every command (`sealctl --help`, sealctl(1)):
 *   0  success
 *   1  invalid input or a failed verification: the operation ran and the
 *      answer is no (bad seal, bad key, bad patch, an input over a cap)
 *   2  wrong usage: unknown option, missing or malformed value, an output
 *      that is an input, an existing file without --force
 *   3  system error: the operating system refused (a file missing or
 *      unreadable, a full disk, out of memory, a tool sealctl runs failed) */
enum {
	SEALCTL_OK = 0,
	SEALCTL_FAIL = 1,
	SEALCTL_USAGE = 2,
	SEALCTL_SYSTEM = 3,
};

struct sealctl_cmd {
	const char *name;
	int (*run)(int argc, char **argv); /* argv[0] is the command name */
};

/* The exit code that fits an error of the table: system causes and out
 * of memory are 3, everything else (bad input, a cap exceeded, trust,
 * unsupported) is 1. */
int sealctl_exit_code(int err);

/* Prints "sealctl: <cmd>: <file>: <meaning> (<details>) [CODE]" and a
 * "sealctl: hint:" line once, records the error for --json, and returns
 * the exit code that fits it.  file is the file (or object) concerned. */
int sealctl_report(const char *cmd, const char *file, int err,
		   const struct si_diag *d);
/* The same for a failed system call on file: err with errno e. */
int sealctl_report_errno(const char *cmd, const char *file, int err, int e);
/* Prints "sealctl: <cmd>: <printf message>" to stderr. */
void sealctl_msg(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A usage error: the message, then "see sealctl <cmd> --help"; returns 2. */
int sealctl_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Reads a whole regular file into malloc'd memory; caps at max bytes.
 * 0, or an error (SI_E_OPEN, SI_E_FILE_TYPE, SI_E_TOO_BIG, SI_E_IO,
 * SI_E_NOMEM) with errno in d. */
int sealctl_read_file(const char *path, size_t max, uint8_t **out, size_t *len,
		      struct si_diag *d);
/* The same, reported (returns an exit code). */
int sealctl_load_file(const char *cmd, const char *path, size_t max, uint8_t **out,
		      size_t *len);

/* Key ids, one way everywhere: the SHA-256 fingerprint of the public key
 * (verify/anchor.h), in full (64 hex digits) in JSON, and as its first 16
 * hex digits on the console -- the form sealinit prints at boot. */
#define SEALCTL_KEYID_SHORT 16
void sealctl_keyid_full(char out[65], const uint8_t fp[32]);
void sealctl_keyid_short(char out[SEALCTL_KEYID_SHORT + 1], const uint8_t fp[32]);

/* --json: set by the commands that report; main() prints an error
 * document when a command fails without having printed its own. */
extern int sealctl_json_mode;
extern int sealctl_json_done;

/* Progress lines on stderr ("\r" updates on a terminal, one line per
 * step elsewhere is too noisy: then only the phase changes and the end). */
void sealctl_progress(const char *cmd, const char *phase, uint64_t done, uint64_t total);
void sealctl_progress_end(void);
extern int sealctl_progress_tty;

/* Commands, one per file. */
int sealctl_cmd_version(int argc, char **argv);
int sealctl_cmd_keygen(int argc, char **argv);
int sealctl_cmd_key(int argc, char **argv);
int sealctl_cmd_seal(int argc, char **argv);
int sealctl_cmd_verify(int argc, char **argv);
int sealctl_cmd_inspect(int argc, char **argv);
int sealctl_cmd_anchor(int argc, char **argv);
int sealctl_cmd_diff(int argc, char **argv);
int sealctl_cmd_apply(int argc, char **argv);
int sealctl_cmd_kc(int argc, char **argv);
int sealctl_cmd_doctor(int argc, char **argv);
int sealctl_cmd_set(int argc, char **argv);
int sealctl_cmd_update(int argc, char **argv);
int sealctl_cmd_stage(int argc, char **argv);
int sealctl_cmd_status(int argc, char **argv);
int sealctl_cmd_confirm(int argc, char **argv);
int sealctl_cmd_revert(int argc, char **argv);
int sealctl_cmd_tpm(int argc, char **argv);

/* The generated help (build/gen/help.c from docs/man/sealctl.txt). */
struct sealctl_help {
	const char *name, *summary, *text;
};
extern const struct sealctl_help sealctl_help[];
extern const size_t sealctl_help_count;
extern const char sealctl_help_main[]; /* `sealctl --help` after the command list */
/* Prints command `name`'s --help text to f. */
void sealctl_help_print(FILE *f, const char *name);

#endif
