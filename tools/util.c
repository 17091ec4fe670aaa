/* sealctl: reporting, exit codes, key ids, progress and whole-file reads,
 * shared by every command. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/str.h"
#include "tools/json.h"
#include "tools/sealctl.h"
#include "tools/sealcmd.h"

int sealctl_json_mode;
int sealctl_json_done;
int sealctl_progress_tty;

/* The first error reported, for the --json error document. */
static struct {
	int set, err, exit;
	char cmd[32], file[512], line[640];
} first;

static void record(const char *cmd, const char *file, int err, int exit, const char *line)
{
	if (first.set)
		return;
	first.set = 1;
	first.err = err;
	first.exit = exit;
	snprintf(first.cmd, sizeof first.cmd, "%s", cmd);
	snprintf(first.file, sizeof first.file, "%s", file ? file : "");
	snprintf(first.line, sizeof first.line, "%s", line);
}

void sealcmd_json_error(const char *cmd, int exit_code)
{
	struct json j;

	json_begin(&j, stdout, cmd, 0);
	json_u64(&j, "exit", (uint64_t)exit_code);
	json_obj_begin(&j, "error");
	if (first.set && first.err) {
		json_str(&j, "code", si_err_name(first.err));
		json_u64(&j, "number", (uint64_t)-first.err);
		json_str(&j, "cause", si_cause_name(si_err_cause(first.err)));
	} else {
		json_str(&j, "code", exit_code == SEALCTL_USAGE ? "usage" : "failed");
		json_null(&j, "number");
		json_str(&j, "cause", exit_code == SEALCTL_USAGE ? "usage" : "none");
	}
	json_str(&j, "file", first.set && first.file[0] ? first.file : NULL);
	json_str(&j, "message", first.set ? first.line : "");
	json_obj_end(&j);
	json_end(&j);
}

void sealctl_help_print(FILE *f, const char *name)
{
	size_t i;

	for (i = 0; i < sealctl_help_count; i++)
		if (!strcmp(sealctl_help[i].name, name)) {
			fputs(sealctl_help[i].text, f);
			return;
		}
}

/* One message line, recorded for --json; a usage error adds its hint. */
static void vmessage(const char *cmd, int exit_code, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static void vmessage(const char *cmd, int exit_code, const char *fmt, va_list ap)
{
	char line[640];

	vsnprintf(line, sizeof line, fmt, ap);
	sealctl_progress_end();
	fprintf(stderr, "sealctl: %s: %s\n", cmd, line);
	if (exit_code == SEALCTL_USAGE)
		fprintf(stderr, "sealctl: hint: see sealctl %s --help\n", cmd);
	record(cmd, NULL, 0, exit_code, line);
}

void sealctl_msg(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(cmd, SEALCTL_FAIL, fmt, ap);
	va_end(ap);
}

int sealctl_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(cmd, SEALCTL_USAGE, fmt, ap);
	va_end(ap);
	return SEALCTL_USAGE;
}

int sealctl_exit_code(int err)
{
	if (err == 0)
		return SEALCTL_OK;
	if (err == SI_E_NOMEM)
		return SEALCTL_SYSTEM;
	switch (si_err_cause(err)) {
	case SI_CAUSE_SYSTEM:
		return SEALCTL_SYSTEM;
	case SI_CAUSE_NONE:
	case SI_CAUSE_INPUT:
	case SI_CAUSE_LIMIT:
	case SI_CAUSE_UNSUPPORTED:
	case SI_CAUSE_TRUST:
		return SEALCTL_FAIL;
	}
	return SEALCTL_FAIL;
}

int sealctl_report(const char *cmd, const char *file, int err, const struct si_diag *d)
{
	char line[512], full[640];
	int code = sealctl_exit_code(err);

	sealctl_progress_end();
	si_diag_format(d, err, line, sizeof line);
	snprintf(full, sizeof full, "%s [%s]", line, si_err_name(err));
	if (file)
		fprintf(stderr, "sealctl: %s: %s: %s\n", cmd, file, full);
	else
		fprintf(stderr, "sealctl: %s: %s\n", cmd, full);
	if (*si_err_check(err))
		fprintf(stderr, "sealctl: hint: %s\n", si_err_check(err));
	record(cmd, file, err, code, full);
	return code;
}

int sealctl_report_errno(const char *cmd, const char *file, int err, int e)
{
	struct si_diag d;

	si_diag_clear(&d);
	si_diag_errno(&d, e);
	return sealctl_report(cmd, file, err, &d);
}

int sealctl_read_file(const char *path, size_t max, uint8_t **out, size_t *len,
		      struct si_diag *d)
{
	struct stat st;
	uint8_t *buf;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return si_diag_sys(d, SI_E_OPEN, NULL, errno);
	if (fstat(fd, &st) != 0) {
		r = si_diag_sys(d, SI_E_IO, NULL, errno);
		close(fd);
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		si_diag_text(d, "regular file", si_file_type_name(st.st_mode));
		return SI_E_FILE_TYPE;
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return si_diag_want(d, SI_E_TOO_BIG, "file size", max, (uint64_t)st.st_size);
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		close(fd);
		return si_diag_want(d, SI_E_NOMEM, "file size", 0, (uint64_t)st.st_size);
	}
	r = si_pread_full(fd, 0, buf, (size_t)st.st_size, d);
	close(fd);
	if (r) {
		free(buf);
		return r;
	}
	*out = buf;
	*len = (size_t)st.st_size;
	return 0;
}

int sealctl_load_file(const char *cmd, const char *path, size_t max, uint8_t **out,
		      size_t *len)
{
	struct si_diag d;
	int r;

	si_diag_clear(&d);
	r = sealctl_read_file(path, max, out, len, &d);
	return r ? sealctl_report(cmd, path, r, &d) : 0;
}

void sealctl_keyid_full(char out[65], const uint8_t fp[32])
{
	si_hex(out, fp, 32);
}

void sealctl_keyid_short(char out[SEALCTL_KEYID_SHORT + 1], const uint8_t fp[32])
{
	si_hex(out, fp, SEALCTL_KEYID_SHORT / 2);
}

/* Progress: on a terminal one line rewritten in place; elsewhere (a log)
 * a line per phase and per tenth, so a build log shows that it moves. */
static struct {
	const char *cmd, *phase;
	int pct, open;
} prog = { NULL, NULL, -1, 0 };

void sealctl_progress(const char *cmd, const char *phase, uint64_t done, uint64_t total)
{
	int pct = total ? (int)(done * 100 / total) : 100;
	int newphase = !prog.phase || strcmp(prog.phase, phase) != 0;

	if (pct > 100)
		pct = 100;
	if (sealctl_progress_tty) {
		if (!newphase && pct == prog.pct)
			return;
		if (newphase && prog.open)
			fputc('\n', stderr);
		fprintf(stderr, "\rsealctl: %s: %s: %3d%%", cmd, phase, pct);
		prog.open = 1;
		if (pct == 100 && done == total) {
			fputc('\n', stderr);
			prog.open = 0;
		}
	} else {
		if (!newphase && pct / 10 == prog.pct / 10 && !(done == total && prog.pct != 100))
			return;
		fprintf(stderr, "sealctl: %s: %s: %d%%\n", cmd, phase, pct);
	}
	fflush(stderr);
	prog.cmd = cmd;
	prog.phase = phase;
	prog.pct = pct;
}

void sealctl_progress_end(void)
{
	if (prog.open)
		fputc('\n', stderr);
	prog.open = 0;
	prog.phase = NULL;
	prog.pct = -1;
}
