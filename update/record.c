/* sealinit update/: records in two copies, the update state and the
 * rollback floors (update/update.h).
 *
 * Record (UP_RECORD_SIZE bytes, little-endian):
 *   0   8  magic ("SISTATE1", "SIFLOOR1")
 *   8   4  version (1)
 *   12  4  payload length, 0..UP_RECORD_PAYLOAD
 *   16  8  sequence number (the newest valid copy wins)
 *   24  8  reserved (0)
 *   32  32 SHA-256 of bytes [0, 32) and [64, 64 + payload length)
 *   64     payload, zero-padded to the end
 *
 * State payload (version 1):
 *   0   1  active slot 'a'|'b'|'c'
 *   1   1  previous slot 'a'|'b'|'c'|0
 *   2   1  trial boots left
 *   3   1  trial boots in all
 *   4   1  flags: 1 confirmed, 2 revert requested
 *   5   1  outcome (enum up_outcome)
 *   6   2  reserved (0)
 *   8   32 active set digest
 *   40  32 previous set digest
 *   72  32 failed set digest (zero: none)
 *   104 64 outcome text, printable, NUL-padded
 *   = 168 bytes
 *
 * Floors payload: count (2), then per entry name length (1), name, floor
 * (8); names [A-Za-z0-9._+-] or "@set", each once.
 */
#include <stdio.h>
#include <string.h>

#include "lib/str.h"
#include "update/update.h"
#include "verify/manifest.h"
#include "verify/sha256.h"

#define REC_VERSION 1
#define STATE_LEN 168

/* ------------------------------------------------------------ records */

static void rec_digest(const uint8_t *rec, size_t plen, uint8_t out[32])
{
	struct si_sha256 c;

	si_sha256_init(&c);
	si_sha256_update(&c, rec, 32);
	si_sha256_update(&c, rec + UP_RECORD_HDR, plen);
	si_sha256_final(&c, out);
}

/* 0 when rec is a valid record with this magic; its seq and payload. */
static int rec_check(const uint8_t *rec, const char magic[8], uint64_t *seq, size_t *plen,
		     struct si_diag *d)
{
	uint8_t dg[32];
	uint32_t n;
	size_t i;

	if (memcmp(rec, magic, 8) != 0)
		return si_diag_at(d, SI_E_RECORD, "record.magic", 0);
	if (si_le32(rec + 8) != REC_VERSION)
		return si_diag_want(d, SI_E_RECORD, "record.version", REC_VERSION, si_le32(rec + 8));
	n = si_le32(rec + 12);
	if (n > UP_RECORD_PAYLOAD)
		return si_diag_want(d, SI_E_RECORD, "record.length", UP_RECORD_PAYLOAD, n);
	for (i = 24; i < 32; i++)
		if (rec[i])
			return si_diag_at(d, SI_E_RECORD, "record.reserved", i);
	rec_digest(rec, n, dg);
	if (si_ct_memcmp(dg, rec + 32, 32) != 0)
		return si_diag_at(d, SI_E_RECORD, "record.checksum", 32);
	*seq = si_le64(rec + 16);
	*plen = n;
	return 0;
}

int up_record_read(const struct si_fs *fs, const char *name, const char magic[8],
		   uint8_t *payload, size_t *len, struct up_record_info *info,
		   struct si_diag *d)
{
	uint8_t rec[2][UP_RECORD_SIZE];
	int ok[2] = { 0, 0 }, err[2] = { 0, 0 };
	uint64_t seq[2] = { 0, 0 };
	size_t plen[2] = { 0, 0 };
	char path[UP_PATH_MAX];
	struct up_record_info in;
	int k, best;

	if (!fs || !name || !payload || !len || !info)
		return SI_E_ARG;
	for (k = 0; k < 2; k++) {
		enum si_ftype t = SI_FT_NONE;
		uint64_t size = 0;
		int h, r;

		snprintf(path, sizeof path, "%s.%d", name, k);
		r = fs->stat(fs->ctx, path, &t, &size, d);
		if (r)
			return r;
		if (t == SI_FT_NONE)
			continue;
		if (t != SI_FT_REG || size != UP_RECORD_SIZE) {
			err[k] = SI_E_RECORD;
			continue;
		}
		r = fs->open(fs->ctx, path, SI_O_READ, &h, d);
		if (r)
			return r;
		r = fs->pread(fs->ctx, h, 0, rec[k], UP_RECORD_SIZE, d);
		fs->close(fs->ctx, h);
		if (r)
			return r;
		err[k] = rec_check(rec[k], magic, &seq[k], &plen[k], NULL);
		ok[k] = err[k] == 0;
	}
	best = ok[0] && ok[1] ? (seq[1] > seq[0] ? 1 : 0) : ok[0] ? 0 : ok[1] ? 1 : -1;
	memset(&in, 0, sizeof in);
	in.copy = best;
	if (best < 0) {
		in.other_err = err[0] ? err[0] : err[1];
		*info = in;
		return SI_E_NOTFOUND;
	}
	in.seq = seq[best];
	in.other_valid = ok[!best];
	in.other_err = err[!best];
	memcpy(payload, rec[best] + UP_RECORD_HDR, plen[best]);
	*len = plen[best];
	*info = in;
	return 0;
}

int up_record_write(const struct si_fs *fs, const char *name, const char magic[8],
		    uint64_t seq, const uint8_t *payload, size_t len, struct si_diag *d)
{
	uint8_t rec[UP_RECORD_SIZE];
	char path[UP_PATH_MAX], tmp[UP_PATH_MAX + 8], dir[UP_PATH_MAX];
	const char *slash;
	int h, r;

	if (!fs || !name || (!payload && len) || len > UP_RECORD_PAYLOAD)
		return SI_E_ARG;
	memset(rec, 0, sizeof rec);
	memcpy(rec, magic, 8);
	si_put_le32(rec + 8, REC_VERSION);
	si_put_le32(rec + 12, (uint32_t)len);
	si_put_le64(rec + 16, seq);
	if (len)
		memcpy(rec + UP_RECORD_HDR, payload, len);
	rec_digest(rec, len, rec + 32);
	snprintf(path, sizeof path, "%s.%d", name, (int)(seq % 2));
	snprintf(tmp, sizeof tmp, "%s.new", path);
	slash = strrchr(name, '/');
	snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - name) : 1, slash ? name : ".");
	/* Write new, fsync, rename, fsync the directory: the copy that holds
	 * the newest record before this one is the other one, untouched. */
	r = fs->open(fs->ctx, tmp, SI_O_WRITE, &h, d);
	if (r)
		return r;
	r = fs->pwrite(fs->ctx, h, 0, rec, sizeof rec, d);
	if (!r)
		r = fs->fsync(fs->ctx, h, d);
	fs->close(fs->ctx, h);
	if (!r)
		r = fs->rename(fs->ctx, tmp, path, d);
	if (!r)
		r = fs->fsync_dir(fs->ctx, dir, d);
	if (r) {
		int u = fs->unlink(fs->ctx, tmp, NULL);
		(void)u;
	}
	return r;
}

/* ------------------------------------------------------------ state */

int up_slot_ok(char slot)
{
	return slot >= 'a' && slot < 'a' + UP_SLOTS;
}

const char *up_slot_dir(char slot)
{
	static const char *const dir[UP_SLOTS] = { "slots/a", "slots/b", "slots/c" };

	return up_slot_ok(slot) ? dir[slot - 'a'] : dir[0];
}

size_t up_state_encode(const struct up_state *st, uint8_t *out, size_t cap)
{
	size_t n;

	if (cap < STATE_LEN)
		return 0;
	memset(out, 0, STATE_LEN);
	out[0] = (uint8_t)st->active;
	out[1] = (uint8_t)st->previous;
	out[2] = st->trial_left;
	out[3] = st->trial_total;
	out[4] = st->flags;
	out[5] = (uint8_t)st->outcome;
	memcpy(out + 8, st->active_set, 32);
	memcpy(out + 40, st->previous_set, 32);
	memcpy(out + 72, st->failed_set, 32);
	n = strnlen(st->outcome_text, sizeof st->outcome_text - 1);
	memcpy(out + 104, st->outcome_text, n);
	return STATE_LEN;
}

int up_state_decode(const uint8_t *p, size_t len, struct up_state *out, struct si_diag *d)
{
	struct up_state st;
	size_t i;

	if (len != STATE_LEN)
		return si_diag_want(d, SI_E_STATE, "state.length", STATE_LEN, len);
	memset(&st, 0, sizeof st);
	st.active = (char)p[0];
	st.previous = (char)p[1];
	st.trial_left = p[2];
	st.trial_total = p[3];
	st.flags = p[4];
	st.outcome = (enum up_outcome)p[5];
	if (!up_slot_ok(st.active))
		return si_diag_want(d, SI_E_STATE, "state.active", 'a', p[0]);
	if (st.previous && !up_slot_ok(st.previous))
		return si_diag_want(d, SI_E_STATE, "state.previous", 'b', p[1]);
	if (st.previous == st.active)
		return si_diag_want(d, SI_E_STATE, "state.previous", 0, p[1]);
	if (st.flags & ~(unsigned)(UP_STATE_CONFIRMED | UP_STATE_REVERT))
		return si_diag_want(d, SI_E_STATE, "state.flags", 0, st.flags);
	if (st.trial_left > st.trial_total || st.outcome > UP_OUT_FAILED || p[6] || p[7])
		return si_diag_at(d, SI_E_STATE, "state.trial", 2);
	memcpy(st.active_set, p + 8, 32);
	memcpy(st.previous_set, p + 40, 32);
	memcpy(st.failed_set, p + 72, 32);
	/* at most 63 printable bytes, then NULs to the end: the text is
	 * NUL-terminated inside its 64-byte field */
	for (i = 0; i < 63 && p[104 + i]; i++)
		if (p[104 + i] < 0x20 || p[104 + i] > 0x7e)
			return si_diag_at(d, SI_E_STATE, "state.outcome_text", 104 + i);
	for (; i < 64; i++)
		if (p[104 + i])
			return si_diag_at(d, SI_E_STATE, "state.outcome_text", 104 + i);
	memcpy(st.outcome_text, p + 104, 63);
	*out = st;
	return 0;
}

int up_state_load(const struct si_fs *fs, struct up_state *st, struct up_record_info *info,
		  struct si_diag *d)
{
	uint8_t p[UP_RECORD_PAYLOAD];
	size_t len = 0;
	int r;

	r = up_record_read(fs, "state", UP_STATE_MAGIC, p, &len, info, d);
	if (r == SI_E_NOTFOUND && info->other_err == 0) {
		/* Factory: no record was ever written.  Slot a, confirmed. */
		memset(st, 0, sizeof *st);
		st->active = 'a';
		st->flags = UP_STATE_CONFIRMED;
		return 0;
	}
	if (r)
		return r == SI_E_NOTFOUND ? si_diag_at(d, SI_E_RECORD, "state (both copies)", 0) : r;
	r = up_state_decode(p, len, st, d);
	if (r)
		return r;
	st->seq = info->seq;
	return 0;
}

int up_state_store(const struct si_fs *fs, struct up_state *st, struct si_diag *d)
{
	uint8_t p[UP_RECORD_PAYLOAD];
	size_t n = up_state_encode(st, p, sizeof p);
	int r;

	if (!n)
		return SI_E_ARG;
	r = up_record_write(fs, "state", UP_STATE_MAGIC, st->seq + 1, p, n, d);
	if (!r)
		st->seq++;
	return r;
}

/* ------------------------------------------------------------ floors */

uint64_t up_floor_of(const struct up_floors *f, const char *name)
{
	unsigned i;

	for (i = 0; f && i < f->n; i++)
		if (!strcmp(f->e[i].name, name))
			return f->e[i].floor;
	return 0;
}

int up_floor_raise(struct up_floors *f, const char *name, uint64_t v)
{
	unsigned i;

	for (i = 0; i < f->n; i++)
		if (!strcmp(f->e[i].name, name)) {
			if (v > f->e[i].floor)
				f->e[i].floor = v;
			return 0;
		}
	if (f->n == UP_FLOORS_MAX)
		return SI_E_TOO_BIG;
	snprintf(f->e[f->n].name, sizeof f->e[f->n].name, "%s", name);
	f->e[f->n].floor = v;
	f->n++;
	return 0;
}

static int floor_name_ok(const uint8_t *s, size_t n)
{
	return (n == 4 && !memcmp(s, UP_FLOOR_SET, 4)) || si_manifest_name_ok(s, n);
}

size_t up_floors_encode(const struct up_floors *f, uint8_t *out, size_t cap)
{
	size_t n = 2;
	unsigned i;

	if (cap < 2)
		return 0;
	si_put_le16(out, (uint16_t)f->n);
	for (i = 0; i < f->n; i++) {
		size_t nl = strlen(f->e[i].name);

		if (n + 1 + nl + 8 > cap)
			return 0;
		out[n] = (uint8_t)nl;
		memcpy(out + n + 1, f->e[i].name, nl);
		si_put_le64(out + n + 1 + nl, f->e[i].floor);
		n += 1 + nl + 8;
	}
	return n;
}

int up_floors_decode(const uint8_t *p, size_t len, struct up_floors *out, struct si_diag *d)
{
	struct up_floors f;
	size_t pos = 2;
	unsigned i, k, count;

	if (len < 2)
		return si_diag_want(d, SI_E_FLOORS, "floors.count", 2, len);
	count = si_le16(p);
	if (count > UP_FLOORS_MAX)
		return si_diag_want(d, SI_E_FLOORS, "floors.count", UP_FLOORS_MAX, count);
	memset(&f, 0, sizeof f);
	for (i = 0; i < count; i++) {
		size_t nl;

		if (len - pos < 1)
			return si_diag_at(d, SI_E_FLOORS, "floors.entry", pos);
		nl = p[pos];
		if (len - pos - 1 < nl + 8 || !floor_name_ok(p + pos + 1, nl))
			return si_diag_at(d, SI_E_FLOORS, "floors.entry", pos);
		memcpy(f.e[i].name, p + pos + 1, nl);
		f.e[i].floor = si_le64(p + pos + 1 + nl);
		for (k = 0; k < i; k++)
			if (!strcmp(f.e[k].name, f.e[i].name))
				return si_diag_at(d, SI_E_FLOORS, "floors.entry.name", pos + 1);
		pos += 1 + nl + 8;
	}
	if (pos != len)
		return si_diag_want(d, SI_E_FLOORS, "floors.length", pos, len);
	f.n = count;
	*out = f;
	return 0;
}

int up_floors_load(const struct si_fs *fs, struct up_floors *f, struct up_record_info *info,
		   struct si_diag *d)
{
	uint8_t p[UP_RECORD_PAYLOAD];
	size_t len = 0;
	int r;

	r = up_record_read(fs, "floors", UP_FLOORS_MAGIC, p, &len, info, d);
	if (r == SI_E_NOTFOUND && info->other_err == 0) {
		memset(f, 0, sizeof *f);
		return 0;
	}
	if (r)
		return r == SI_E_NOTFOUND ? si_diag_at(d, SI_E_RECORD, "floors (both copies)", 0) : r;
	r = up_floors_decode(p, len, f, d);
	if (!r)
		f->seq = info->seq;
	return r;
}

int up_floors_store(const struct si_fs *fs, struct up_floors *f, struct si_diag *d)
{
	uint8_t p[UP_RECORD_PAYLOAD];
	size_t n = up_floors_encode(f, p, sizeof p);
	int r;

	if (!n)
		return SI_E_TOO_BIG;
	r = up_record_write(fs, "floors", UP_FLOORS_MAGIC, f->seq + 1, p, n, d);
	if (!r)
		f->seq++;
	return r;
}

static int file_load(void *ctx, struct up_floors *f, struct up_record_info *info,
		     struct si_diag *d)
{
	struct up_record_info tmp;

	return up_floors_load(ctx, f, info ? info : &tmp, d);
}

static int file_store(void *ctx, struct up_floors *f, struct si_diag *d)
{
	return up_floors_store(ctx, f, d);
}

void up_floor_store_file(struct up_floor_store *s, const struct si_fs *fs)
{
	s->name = "preboot file";
	s->ctx = (void *)(uintptr_t)fs;
	s->load = file_load;
	s->store = file_store;
}
