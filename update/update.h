/* sealinit update/: the update lifecycle's state on the preboot volume --
 * records kept in two copies, the slots that hold whole releases, the
 * rollback floors -- and every write of it through one operations table.
 *
 * Preboot layout:
 *
 *   slots/a/, b/, c/       a release each: release.set, kc/boot.kc,
 *                          cryptexes/<name>.cryptex, revert/ (reverse
 *                          patches back to the release it was made from)
 *   state.0, state.1       the state record, two copies
 *   floors.0, floors.1     recorded rollback floors (the file floor store)
 *   staged/bundle          an update staged by the running OS
 *
 * Records: two copies, each a whole file written new, fsynced, renamed
 * over the older copy, the directory fsynced; a sequence number and a
 * SHA-256 each.  Reading takes the newest valid copy and says what it did.
 * All of it goes through struct si_fs so that the crash harness can run
 * the real code against a disk model (issue 11), and sealinit and sealctl
 * share it.
 */
#ifndef SEALINIT_UPDATE_UPDATE_H
#define SEALINIT_UPDATE_UPDATE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/bytes.h"
#include "lib/err.h"
#include "lib/fsops.h"
#include "verify/seal.h"

#define UP_PATH_MAX 256
#define UP_STAGED_DIR "staged"
#define UP_STAGED_BUNDLE "staged/bundle"
#define UP_RECORD_SIZE 512
#define UP_RECORD_HDR 64
#define UP_RECORD_PAYLOAD (UP_RECORD_SIZE - UP_RECORD_HDR)

/* ------------------------------------------------------------ operations */

/* Every read and write of update state goes through struct si_fs
 * (lib/fsops.h), relative to the preboot volume's root. */

/* struct si_fs over a real directory (update/fs.c): root_fd is the
 * preboot volume's root; files opened O_CLOEXEC, no link followed. */
struct up_posix {
	int root_fd;
};
void up_fs_posix(struct si_fs *fs, struct up_posix *px, int root_fd);

/* ------------------------------------------------------------ records */

/* A record: "<magic 8> <version 4> <payload length 4> <seq 8> <reserved 8>
 * <SHA-256 of the rest 32> <payload>", UP_RECORD_SIZE bytes, in
 * <name>.0 and <name>.1.  What reading found, for the log: */
struct up_record_info {
	uint64_t seq;              /* of the copy taken; 0 when none valid */
	int copy;                  /* 0 or 1; -1 when none valid */
	int other_valid;           /* the other copy checked out too */
	int other_err;             /* why it did not (0: missing) */
};

/* Reads <name>.0 and <name>.1, takes the newest valid copy (magic,
 * version, length, checksum), its payload into payload[0..UP_RECORD_PAYLOAD)
 * and its length in *len.  SI_E_NOTFOUND when neither copy is valid (info
 * says why); SI_E_IO when a copy could not be read. */
int up_record_read(const struct si_fs *fs, const char *name, const char magic[8],
		   uint8_t *payload, size_t *len, struct up_record_info *info,
		   struct si_diag *d) SI_WUR;

/* Writes seq's record into the copy seq % 2: <name>.N.new written whole,
 * fsynced, renamed over <name>.N, the directory fsynced.  The other copy
 * (the previous record) is never touched, so a crash at any point leaves
 * the old record or the new one.  Errors: SI_E_ARG, and the ops'. */
int up_record_write(const struct si_fs *fs, const char *name, const char magic[8],
		    uint64_t seq, const uint8_t *payload, size_t len, struct si_diag *d) SI_WUR;

/* ------------------------------------------------------------ state */

enum up_outcome {
	UP_OUT_NONE = 0,
	UP_OUT_APPLIED,        /* a staged update committed, now on trial */
	UP_OUT_CONFIRMED,
	UP_OUT_ROLLED_BACK,    /* trial boots ran out: the previous set is back */
	UP_OUT_REVERTED,
	UP_OUT_REFUSED,        /* a staged update was refused and removed */
	UP_OUT_FAILED,         /* applying failed; the old set stays */
};

enum { UP_STATE_CONFIRMED = 1u << 0, UP_STATE_REVERT = 1u << 1 };

struct up_state {
	uint64_t seq;
	char active;               /* 'a', 'b' or 'c' */
	char previous;             /* another slot, or 0: none */
	uint8_t trial_left;        /* boots left before rollback (when not confirmed) */
	uint8_t trial_total;
	uint8_t flags;             /* UP_STATE_* */
	uint8_t active_set[32];    /* digests of the sets' manifests */
	uint8_t previous_set[32];
	uint8_t failed_set[32];    /* never tried again (zero: none) */
	enum up_outcome outcome;
	char outcome_text[64];     /* printable */
};

#define UP_STATE_MAGIC "SISTATE1"

/* The boot loader's view of the state (update/loader.c): loader.env on
 * the preboot volume, "active=X\nprevious=Y\ntrial=HEX16\n" (trial "" when
 * confirmed, previous "" when none).  format returns its length (0: n too
 * small); needed says whether st calls for a write: 1 when loader.env says
 * something else, or is missing on a device whose state was ever
 * written; write stores it (new file, fsync, rename, fsync of the
 * directory).  Errors: those of fs. */
size_t up_loader_env_format(const struct up_state *st, char *buf, size_t n);
int up_loader_env_needed(const struct si_fs *fs, const struct up_state *st);
int up_loader_env_write(const struct si_fs *fs, const struct up_state *st,
			struct si_diag *d) SI_WUR;

/* The state, or the factory state (slot a active, confirmed) when no
 * record exists yet.  Errors: those of up_record_read but SI_E_NOTFOUND
 * with no copy present; SI_E_STATE (a record that checks out but says
 * something impossible). */
int up_state_load(const struct si_fs *fs, struct up_state *st, struct up_record_info *info,
		  struct si_diag *d) SI_WUR;

/* Writes st as record st->seq + 1 (and updates st->seq). */
int up_state_store(const struct si_fs *fs, struct up_state *st, struct si_diag *d) SI_WUR;

/* Payload codecs (pure; fuzzed). */
size_t up_state_encode(const struct up_state *st, uint8_t *out, size_t cap);
int up_state_decode(const uint8_t *p, size_t len, struct up_state *out, struct si_diag *d) SI_WUR;

/* Slots are 'a', 'b', 'c': the active set, the previous one, and the one
 * an update is written into (a response stacked on another reverts to the
 * base release, so the base, the old response and the new one coexist
 * until the commit). */
#define UP_SLOTS 3
int up_slot_ok(char slot);
/* "slots/a" for slot 'a' (and for anything not a slot). */
const char *up_slot_dir(char slot);

/* ------------------------------------------------------------ floors */

#define UP_FLOORS_MAX 32
#define UP_FLOORS_MAGIC "SIFLOOR1"
#define UP_FLOOR_SET "@set"    /* the release set's own floor */

struct up_floors {
	unsigned n;
	struct {
		char name[SI_SEAL_NAME_MAX + 1];
		uint64_t floor;
	} e[UP_FLOORS_MAX];
	uint64_t seq;
};

/* The recorded floor of `name` (0 when none). */
uint64_t up_floor_of(const struct up_floors *f, const char *name);
/* Raises name's floor to at least v (never lowers).  SI_E_TOO_BIG when
 * the store is full. */
int up_floor_raise(struct up_floors *f, const char *name, uint64_t v) SI_WUR;

/* The file floor store: floors.0/floors.1 on the preboot volume.  It stops
 * a downgrade by software that goes through sealctl, not an attacker who
 * rewrites the disk (docs/boot-flow.md, "Rollback floors").  No record:
 * no floors. */
int up_floors_load(const struct si_fs *fs, struct up_floors *f, struct up_record_info *info,
		   struct si_diag *d) SI_WUR;
int up_floors_store(const struct si_fs *fs, struct up_floors *f, struct si_diag *d) SI_WUR;

/* Where the floors live, behind one interface: the file pair above today,
 * a TPM 2.0 NV index (platform trust) later, without sealinit, sealctl or
 * the engine knowing which.  load: no floors recorded is not an error. */
struct up_floor_store {
	const char *name;          /* "preboot file" */
	void *ctx;
	/* info (may be NULL): what recovery chose, for the log */
	int (*load)(void *ctx, struct up_floors *f, struct up_record_info *info, struct si_diag *d);
	int (*store)(void *ctx, struct up_floors *f, struct si_diag *d);
};
/* The file store over fs (the preboot volume). */
void up_floor_store_file(struct up_floor_store *s, const struct si_fs *fs);

size_t up_floors_encode(const struct up_floors *f, uint8_t *out, size_t cap);
int up_floors_decode(const uint8_t *p, size_t len, struct up_floors *out, struct si_diag *d) SI_WUR;

#endif
