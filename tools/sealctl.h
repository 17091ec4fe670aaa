/* sealctl: the host tool's command table and shared helpers.
 * Each command lives in tools/cmd_<name>.c and is listed in tools/sealctl.c. */
#ifndef SEALINIT_TOOLS_SEALCTL_H
#define SEALINIT_TOOLS_SEALCTL_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

/* Exit codes, documented in `sealctl --help` and docs/integrators.md. */
enum {
	SEALCTL_OK = 0,
	SEALCTL_FAIL = 1,    /* the operation ran and the answer is no: bad seal, bad patch */
	SEALCTL_USAGE = 2,   /* wrong arguments */
	SEALCTL_SYSTEM = 3,  /* I/O or resources: file missing, disk full */
};

struct sealctl_cmd {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv); /* argv[0] is the command name */
};

/* Prints "sealctl: <cmd>: <what>: <error line>" once, and returns the exit
 * code that fits the error's cause. */
int sealctl_report(const char *cmd, const char *what, int err,
		   const struct si_diag *d);
/* Prints "sealctl: <cmd>: <printf message>" to stderr. */
void sealctl_msg(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Reads a whole file into malloc'd memory; caps at max bytes. */
int sealctl_read_file(const char *path, size_t max, uint8_t **out, size_t *len);
/* Writes data to path atomically: path.tmp, fsync, rename, fsync dir. */
int sealctl_write_file(const char *path, const void *data, size_t len);

/* Commands, one per file. */
int sealctl_cmd_version(int argc, char **argv);
int sealctl_cmd_keygen(int argc, char **argv);
int sealctl_cmd_seal(int argc, char **argv);
int sealctl_cmd_verify(int argc, char **argv);
int sealctl_cmd_inspect(int argc, char **argv);
int sealctl_cmd_anchor(int argc, char **argv);
int sealctl_cmd_diff(int argc, char **argv);
int sealctl_cmd_apply(int argc, char **argv);
int sealctl_cmd_kc(int argc, char **argv);
int sealctl_cmd_doctor(int argc, char **argv);

#endif
