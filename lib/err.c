/* sealinit: the error table's lookups and the diagnostic formatter. */
#include <string.h>

#include "lib/err.h"
#include "lib/str.h"

struct si_err_row {
	int code;
	enum si_cause cause;
	const char *name, *meaning, *check;
};

static const struct si_err_row si_err_rows[] = {
	{ SI_OK, SI_CAUSE_NONE, "SI_OK", "success", "" },
#define SI_ERR(n, num, cause, meaning, check) { -(num), cause, #n, meaning, check },
#include "lib/err.def"
#include "verify/err.def"
#include "mount/err.def"
#include "kc/err.def"
#include "kc/coll_err.def"
#include "patch/err.def"
#include "patch/zstd_err.def"
#include "plan/err.def"
#include "update/err.def"
#include "lib/tpm2_err.def"
#undef SI_ERR
};

static const struct si_err_row *si_err_row(int err)
{
	size_t i;

	for (i = 0; i < sizeof si_err_rows / sizeof si_err_rows[0]; i++)
		if (si_err_rows[i].code == err)
			return &si_err_rows[i];
	return NULL;
}

const char *si_err_name(int err)
{
	const struct si_err_row *r = si_err_row(err);
	return r ? r->name : "SI_E_UNKNOWN";
}

const char *si_err_meaning(int err)
{
	const struct si_err_row *r = si_err_row(err);
	return r ? r->meaning : "unknown error code";
}

const char *si_err_check(int err)
{
	const struct si_err_row *r = si_err_row(err);
	return r ? r->check : "report this as a bug in sealinit";
}

enum si_cause si_err_cause(int err)
{
	const struct si_err_row *r = si_err_row(err);
	return r ? r->cause : SI_CAUSE_NONE;
}

const char *si_cause_name(enum si_cause c)
{
	switch (c) {
	case SI_CAUSE_NONE: return "none";
	case SI_CAUSE_INPUT: return "bad input";
	case SI_CAUSE_LIMIT: return "limit";
	case SI_CAUSE_SYSTEM: return "system";
	case SI_CAUSE_UNSUPPORTED: return "unsupported";
	case SI_CAUSE_TRUST: return "trust";
	}
	return "?";
}

void si_diag_clear(struct si_diag *d)
{
	if (d)
		memset(d, 0, sizeof *d);
}

void si_diag_field(struct si_diag *d, const char *field)
{
	if (d)
		d->field = field;
}

void si_diag_where(struct si_diag *d, const char *where, size_t len)
{
	if (d)
		si_escape(d->where, sizeof d->where, where, len);
}

void si_diag_offset(struct si_diag *d, uint64_t off)
{
	if (d) {
		d->offset = off;
		d->flags |= SI_DIAG_OFFSET;
	}
}

void si_diag_values(struct si_diag *d, uint64_t expected, uint64_t found)
{
	if (d) {
		d->expected = expected;
		d->found = found;
		d->flags |= SI_DIAG_VALUES;
	}
}

int si_diag_at(struct si_diag *d, int err, const char *field, uint64_t off)
{
	si_diag_field(d, field);
	si_diag_offset(d, off);
	return err;
}

int si_diag_want(struct si_diag *d, int err, const char *field,
		 uint64_t expected, uint64_t found)
{
	si_diag_field(d, field);
	si_diag_values(d, expected, found);
	return err;
}

int si_diag_sys(struct si_diag *d, int err, const char *where, int e)
{
	if (where)
		si_diag_where(d, where, strlen(where));
	si_diag_errno(d, e);
	return err;
}

void si_diag_errno(struct si_diag *d, int e)
{
	if (d) {
		d->sys_errno = e;
		d->flags |= SI_DIAG_ERRNO;
	}
}

void si_diag_text(struct si_diag *d, const char *expected, const char *found)
{
	if (!d)
		return;
	si_escape(d->expected_s, sizeof d->expected_s, expected ? expected : "",
		  expected ? strlen(expected) : 0);
	si_escape(d->found_s, sizeof d->found_s, found ? found : "",
		  found ? strlen(found) : 0);
	d->flags |= SI_DIAG_TEXT;
}

void si_diag_bytes(struct si_diag *d, const uint8_t *expected,
		   const uint8_t *found, size_t n)
{
	if (!d)
		return;
	si_hex_abbrev(d->expected_s, sizeof d->expected_s, expected, n);
	si_hex_abbrev(d->found_s, sizeof d->found_s, found, n);
	d->flags |= SI_DIAG_TEXT;
}

size_t si_diag_format(const struct si_diag *d, int err, char *buf, size_t n)
{
	struct si_buf b;
	const char *sep = " (";
	int loc = 0;

	si_buf_init(&b, buf, n);
	si_buf_puts(&b, si_err_meaning(err));
	if (!d)
		return b.len;
	if (d->field) {
		si_buf_printf(&b, "%sfield %s", sep, d->field);
		sep = " ";
		loc = 1;
	}
	if (d->where[0]) {
		si_buf_printf(&b, "%sin %s", loc ? " " : sep, d->where);
		sep = " ";
		loc = 1;
	}
	if (d->flags & SI_DIAG_OFFSET) {
		si_buf_printf(&b, "%sat offset %llu", loc ? " " : sep,
			      (unsigned long long)d->offset);
		loc = 1;
	}
	if (loc)
		sep = ": ";
	if (d->flags & SI_DIAG_VALUES) {
		si_buf_printf(&b, "%sexpected %llu, found %llu", sep,
			      (unsigned long long)d->expected,
			      (unsigned long long)d->found);
		sep = "; ";
	} else if (d->flags & SI_DIAG_TEXT) {
		si_buf_printf(&b, "%sexpected %s, found %s", sep, d->expected_s,
			      d->found_s);
		sep = "; ";
	}
	if (d->flags & SI_DIAG_ERRNO) {
		si_buf_printf(&b, "%serrno %d (%s)", sep, d->sys_errno,
			      si_strerror(d->sys_errno));
		sep = "; ";
	}
	if (strcmp(sep, " (") != 0)
		si_buf_puts(&b, ")");
	return b.len;
}

size_t si_error_line(char *buf, size_t n, const char *stage, const char *what,
		     int err, const struct si_diag *d)
{
	char msg[512];
	struct si_buf b;

	si_diag_format(d, err, msg, sizeof msg);
	si_buf_init(&b, buf, n);
	si_buf_printf(&b, "sealinit: %s: %s: %s [%s]", stage, what, msg, si_err_name(err));
	return b.len;
}
