/* sealctl: the one JSON writer every command's --json uses (docs/json.md).
 *
 * A document is one object: {"schema": 1, "command": NAME, "ok": true, ...}
 * pretty-printed, one key per line, two spaces per level, so that
 * `sed -n 's/^  "KEY": //p'` finds a top-level number.  Strings are
 * escaped so the output is always valid JSON (and ASCII): '"', '\\' and
 * control characters as JSON escapes, bytes above 0x7e as \u00XX.
 * Key ids are full fingerprints (64 hex digits), hashes and salts
 * lower-case hex, sizes and offsets numbers of bytes. */
#ifndef SEALINIT_TOOLS_JSON_H
#define SEALINIT_TOOLS_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SEALCTL_JSON_SCHEMA 1
#define JSON_DEPTH_MAX 8

struct json {
	FILE *f;
	int depth;
	int n[JSON_DEPTH_MAX]; /* members written at each level */
};

/* Starts the document: the envelope's schema, command and "ok". */
void json_begin(struct json *j, FILE *f, const char *command, int ok);
/* Ends it ("}\n") and marks the command's JSON as printed. */
void json_end(struct json *j);

/* Members; key is NULL inside arrays. */
void json_str(struct json *j, const char *key, const char *v);
void json_strn(struct json *j, const char *key, const char *v, size_t len);
void json_u64(struct json *j, const char *key, uint64_t v);
void json_i64(struct json *j, const char *key, int64_t v);
/* A duration in seconds, with three decimals. */
void json_seconds(struct json *j, const char *key, double v);
void json_bool(struct json *j, const char *key, int v);
void json_null(struct json *j, const char *key);
void json_hex(struct json *j, const char *key, const uint8_t *p, size_t n);
/* A key id: the full fingerprint as 64 hex digits. */
void json_keyid(struct json *j, const char *key, const uint8_t fp[32]);
void json_obj_begin(struct json *j, const char *key);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j, const char *key);
void json_arr_end(struct json *j);

#endif
