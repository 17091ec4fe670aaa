/* sealinit: the one error table.
 *
 * Every fallible function in sealinit returns 0 or one of these negative
 * codes.  The table is composed from one fragment per module (lib/err.def,
 * verify/err.def, ...) so that each module lists, next to its code, every
 * error it can return; the codes stay unique because each fragment owns a
 * numeric range:
 *
 *   1..99     lib/       generic (arguments, limits of the arena, I/O)
 *   100..199  verify/    device tree and trust anchor
 *   200..299  verify/    sealed images: footer, manifest, hash tree
 *   300..399  verify/    keys and signatures
 *   400..499  mount/     loop, device-mapper, mounts, handoff
 *   500..599  kc/        kernel collections and module loading
 *             (550..569: the collection archive, kc/coll_err.def)
 *   600..699  patch/     delta format, apply, bundles, journal
 *             (680..689: the zstd stream decoder, patch/zstd_err.def)
 *   700..799  plan/      command line, boot policy
 *   800..899  update/    state records, slots, floors, bundles, the engine
 *   900..949  lib/tpm2, update/floor_tpm: the TPM 2.0 floor store
 *
 * Each entry: SI_ERR(NAME, number, cause, "meaning", "what to check").
 * The cause groups codes for policy and for humans.
 */
#ifndef SEALINIT_LIB_ERR_H
#define SEALINIT_LIB_ERR_H

#include <stddef.h>
#include <stdint.h>

enum si_cause {
	SI_CAUSE_NONE = 0,
	SI_CAUSE_INPUT,       /* the input is malformed: truncated, bad magic, out of bounds */
	SI_CAUSE_LIMIT,       /* a configured cap was exceeded (never truncated) */
	SI_CAUSE_SYSTEM,      /* the operating system refused: errno says why */
	SI_CAUSE_UNSUPPORTED, /* well-formed, but a version/algorithm we do not implement */
	SI_CAUSE_TRUST,       /* a security verdict: signature, hash, usage, rollback */
};

enum si_err {
	SI_OK = 0,
#define SI_ERR(name, num, cause, meaning, check) name = -(num),
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

/* Lookups never fail: an unknown code yields "SI_E_UNKNOWN" texts. */
const char *si_err_name(int err);
const char *si_err_meaning(int err);
const char *si_err_check(int err);
enum si_cause si_err_cause(int err);
const char *si_cause_name(enum si_cause c);

/* Diagnostic out-parameter: lets the caller print one precise line.
 * Library code fills what it knows; every string it points to is either a
 * static literal or the caller's own buffer.  Values are only meaningful
 * when the matching flag is set. */
enum {
	SI_DIAG_OFFSET = 1u << 0,
	SI_DIAG_VALUES = 1u << 1, /* expected/found numbers */
	SI_DIAG_TEXT = 1u << 2,   /* expected_s/found_s strings */
	SI_DIAG_ERRNO = 1u << 3,
};

#define SI_DIAG_STR 72

struct si_diag {
	unsigned flags;
	const char *field;   /* static: "footer.magic", "manifest.root_hash" */
	char where[SI_DIAG_STR]; /* the object: node path, image name (escaped) */
	uint64_t offset;     /* byte offset in the object */
	uint64_t expected;
	uint64_t found;
	int sys_errno;
	char expected_s[SI_DIAG_STR];
	char found_s[SI_DIAG_STR];
};

/* All helpers accept d == NULL, so callers that do not care pass NULL. */
void si_diag_clear(struct si_diag *d);
void si_diag_field(struct si_diag *d, const char *field);
/* Copies (escaped, capped) the object's name: "/sealinit/key-a", "os". */
void si_diag_where(struct si_diag *d, const char *where, size_t len);
void si_diag_offset(struct si_diag *d, uint64_t off);
void si_diag_values(struct si_diag *d, uint64_t expected, uint64_t found);
void si_diag_errno(struct si_diag *d, int e);
/* Text forms; found/expected are copied, escaped and capped. */
void si_diag_text(struct si_diag *d, const char *expected, const char *found);
void si_diag_bytes(struct si_diag *d, const uint8_t *expected,
		   const uint8_t *found, size_t n);

/* The usual tails of a refusal, each returning err so a parser can write
 * "return si_diag_at(d, SI_E_X, "hdr.magic", off);":
 *   si_diag_at    the field and the byte offset where it is;
 *   si_diag_want  the field and the expected and found numbers;
 *   si_diag_sys   the object (escaped, capped) and errno: a system call
 *                 failed on it. */
int si_diag_at(struct si_diag *d, int err, const char *field, uint64_t off);
int si_diag_want(struct si_diag *d, int err, const char *field,
		 uint64_t expected, uint64_t found);
int si_diag_sys(struct si_diag *d, int err, const char *where, int e);

/* The boot's error line, "sealinit: <stage>: <what>: <meaning (details)>
 * [CODE]", into buf (always NUL-terminated); returns strlen.  PID 1 and
 * sealctl doctor print exactly this. */
size_t si_error_line(char *buf, size_t n, const char *stage, const char *what,
		     int err, const struct si_diag *d);

/* Formats "meaning (field F in W at offset O: expected E, found F;
 * errno N)" into buf, always NUL-terminated; returns strlen. */
size_t si_diag_format(const struct si_diag *d, int err, char *buf, size_t n);

#endif
