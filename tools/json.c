/* sealctl: the JSON writer (tools/json.h, docs/json.md). */
#include <stdio.h>
#include <string.h>

#include "lib/str.h"
#include "tools/json.h"
#include "tools/sealctl.h"

static void indent(struct json *j)
{
	int i;

	for (i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

static void quoted(FILE *f, const char *s, size_t len)
{
	size_t i;

	fputc('"', f);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c > 0x7e)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* The separator and indentation before a member, and its key. */
static void member(struct json *j, const char *key)
{
	if (j->n[j->depth]++)
		fputc(',', j->f);
	fputc('\n', j->f);
	indent(j);
	if (key) {
		quoted(j->f, key, strlen(key));
		fputs(": ", j->f);
	}
}

void json_begin(struct json *j, FILE *f, const char *command, int ok)
{
	memset(j, 0, sizeof *j);
	j->f = f;
	fputc('{', f);
	j->depth = 1;
	json_u64(j, "schema", SEALCTL_JSON_SCHEMA);
	json_str(j, "command", command);
	json_bool(j, "ok", ok);
}

void json_end(struct json *j)
{
	fputs("\n}\n", j->f);
	fflush(j->f);
	sealctl_json_done = 1;
}

void json_strn(struct json *j, const char *key, const char *v, size_t len)
{
	member(j, key);
	quoted(j->f, v, len);
}

void json_str(struct json *j, const char *key, const char *v)
{
	if (!v) {
		json_null(j, key);
		return;
	}
	json_strn(j, key, v, strlen(v));
}

void json_u64(struct json *j, const char *key, uint64_t v)
{
	member(j, key);
	fprintf(j->f, "%llu", (unsigned long long)v);
}

void json_i64(struct json *j, const char *key, int64_t v)
{
	member(j, key);
	fprintf(j->f, "%lld", (long long)v);
}

void json_seconds(struct json *j, const char *key, double v)
{
	member(j, key);
	fprintf(j->f, "%.3f", v);
}

void json_bool(struct json *j, const char *key, int v)
{
	member(j, key);
	fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j, const char *key)
{
	member(j, key);
	fputs("null", j->f);
}

void json_hex(struct json *j, const char *key, const uint8_t *p, size_t n)
{
	size_t i;

	member(j, key);
	fputc('"', j->f);
	for (i = 0; i < n; i++)
		fprintf(j->f, "%02x", p[i]);
	fputc('"', j->f);
}

void json_keyid(struct json *j, const char *key, const uint8_t fp[32])
{
	json_hex(j, key, fp, 32);
}

static void open_(struct json *j, const char *key, char c)
{
	member(j, key);
	fputc(c, j->f);
	if (j->depth + 1 < JSON_DEPTH_MAX)
		j->depth++;
	j->n[j->depth] = 0;
}

static void close_(struct json *j, char c)
{
	int empty = j->n[j->depth] == 0;

	if (j->depth > 0)
		j->depth--;
	if (!empty) {
		fputc('\n', j->f);
		indent(j);
	}
	fputc(c, j->f);
}

void json_obj_begin(struct json *j, const char *key)
{
	open_(j, key, '{');
}

void json_obj_end(struct json *j)
{
	close_(j, '}');
}

void json_arr_begin(struct json *j, const char *key)
{
	open_(j, key, '[');
}

void json_arr_end(struct json *j)
{
	close_(j, ']');
}
