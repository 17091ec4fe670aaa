/* sealinit update/: the TPM 2.0 rollback-floor store (update/floor_tpm.h
 * has the design). */
#include <string.h>

#include "update/floor_tpm.h"

int up_floor_tpm_err(int err)
{
	return err <= SI_E_TPM_ABSENT && err >= SI_E_TPM_FLOOR_ABOVE;
}

int up_floor_tpm_check(const struct tpm2_nv_public *p, uint32_t index, struct si_diag *d)
{
	if (p->index != index)
		return si_diag_want(d, SI_E_TPM_NV_ATTRS, "nvPublic.nvIndex", index, p->index);
	if ((p->attrs & ~TPMA_NV_STATE) != UP_FLOOR_TPM_ATTRS)
		return si_diag_want(d, SI_E_TPM_NV_ATTRS, "nvPublic.attributes", UP_FLOOR_TPM_ATTRS,
				    p->attrs & ~TPMA_NV_STATE);
	if (p->name_alg != TPM2_ALG_SHA256)
		return si_diag_want(d, SI_E_TPM_NV_ATTRS, "nvPublic.nameAlg", TPM2_ALG_SHA256, p->name_alg);
	if (p->policy_len != 0)
		return si_diag_want(d, SI_E_TPM_NV_ATTRS, "nvPublic.authPolicy (bytes)", 0, p->policy_len);
	if (p->data_size != 8)
		return si_diag_want(d, SI_E_TPM_NV_ATTRS, "nvPublic.dataSize", 8, p->data_size);
	if (!(p->attrs & TPMA_NV_WRITTEN)) {
		si_diag_field(d, "nvPublic.attributes.WRITTEN");
		return SI_E_TPM_NV_UNWRITTEN;
	}
	return 0;
}

int up_floor_tpm_read(const struct tpm2_ops *t, uint32_t index, uint64_t *value, int *locked,
		      struct si_diag *d)
{
	struct tpm2_nv_public p;
	int r;

	r = tpm2_nv_read_public(t, index, &p, d);
	if (r)
		return r;
	r = up_floor_tpm_check(&p, index, d);
	if (r)
		return r;
	r = tpm2_nv_read_counter(t, index, value, d);
	if (r)
		return r;
	*locked = !!(p.attrs & TPMA_NV_WRITELOCKED);
	return 0;
}

int up_floor_tpm_raise(const struct tpm2_ops *t, uint32_t index, uint64_t v, unsigned max,
		       uint64_t *now, struct si_diag *d)
{
	uint64_t cur, i;
	int locked, r;

	r = up_floor_tpm_read(t, index, &cur, &locked, d);
	if (r)
		return r;
	if (cur < v && v - cur > max)
		return si_diag_want(d, SI_E_TPM_FLOOR_STEP, "counter increments", max, v - cur);
	for (i = cur; i < v; i++) {
		r = tpm2_nv_increment(t, index, d);
		if (r)
			return r;
	}
	if (cur < v) {
		r = tpm2_nv_read_counter(t, index, &cur, d);
		if (r)
			return r;
	}
	*now = cur;
	return 0;
}

int up_floor_tpm_provision(const struct tpm2_ops *t, uint32_t index, const uint8_t *owner,
			   size_t olen, uint64_t floor, unsigned max, int *defined, uint64_t *value,
			   struct si_diag *d)
{
	struct tpm2_nv_public p;
	uint64_t v;
	int locked, r;

	*defined = 0;
	r = tpm2_nv_read_public(t, index, &p, d);
	if (r == SI_E_TPM_NV_MISSING) {
		si_diag_clear(d);
		r = tpm2_nv_define(t, index, UP_FLOOR_TPM_ATTRS, 8, owner, olen, d);
		if (r)
			return r;
		*defined = 1;
		r = tpm2_nv_read_public(t, index, &p, d);
	}
	if (r)
		return r;
	r = up_floor_tpm_check(&p, index, d);
	if (r == SI_E_TPM_NV_UNWRITTEN) {
		si_diag_clear(d);
		r = tpm2_nv_increment(t, index, d);
	}
	if (r)
		return r;
	r = up_floor_tpm_read(t, index, &v, &locked, d);
	if (r)
		return r;
	if (floor && v > floor)
		return si_diag_want(d, SI_E_TPM_FLOOR_ABOVE, "counter", floor, v);
	if (floor) {
		r = up_floor_tpm_raise(t, index, floor, max, &v, d);
		if (r)
			return r;
	}
	*value = v;
	return 0;
}

/* ------------------------------------------------------------ the store */

static int tpm_load(void *ctx, struct up_floors *f, struct up_record_info *info, struct si_diag *d)
{
	struct up_floor_tpm *t = ctx;
	int r;

	if (t->file) {
		r = t->file->load(t->file->ctx, f, info, d);
		if (r)
			return r;
	} else {
		memset(f, 0, sizeof *f);
		if (info) {
			memset(info, 0, sizeof *info);
			info->copy = -1;
		}
	}
	si_diag_clear(&t->status_diag);
	t->locked = 0;
	if (t->tpm)
		t->status = up_floor_tpm_read(t->tpm, t->index, &t->value, &t->locked, &t->status_diag);
	else {
		t->status = t->open_err;
		t->status_diag = t->open_diag;
	}
	if (t->status == 0) {
		r = up_floor_raise(f, UP_FLOOR_SET, t->value);
		if (r)
			return si_diag_want(d, r, "floors", UP_FLOORS_MAX, f->n + 1);
		return 0;
	}
	if (t->optional && up_floor_tpm_err(t->status))
		return 0;
	if (d)
		*d = t->status_diag;
	return t->status;
}

static int tpm_store(void *ctx, struct up_floors *f, struct si_diag *d)
{
	struct up_floor_tpm *t = ctx;
	uint64_t now;
	int r;

	/* The counter first: a crash before the file is written leaves the
	 * counter higher than the file, and load takes the higher. */
	if (t->tpm || !t->optional) {
		if (!t->tpm) {
			if (d)
				*d = t->open_diag;
			return t->open_err;
		}
		r = up_floor_tpm_raise(t->tpm, t->index, up_floor_of(f, UP_FLOOR_SET), t->raise_max, &now, d);
		if (r == 0) {
			t->value = now;
			r = tpm2_nv_write_lock(t->tpm, t->index, d);
			t->locked = r == 0;
		}
		t->status = r;
		if (r && !(t->optional && up_floor_tpm_err(r)))
			return r;
		if (r)
			t->status_diag = *d;
		si_diag_clear(d);
	}
	if (t->file)
		return t->file->store(t->file->ctx, f, d);
	return 0;
}

void up_floor_store_tpm(struct up_floor_store *s, struct up_floor_tpm *t)
{
	s->name = t->file ? "TPM NV counter and preboot file" : "TPM NV counter";
	s->ctx = t;
	s->load = tpm_load;
	s->store = tpm_store;
}

void up_floor_store_config(struct up_floor_store *s, struct up_floor_store *file,
			   struct up_floor_tpm *t, struct tpm2_dev *dev, struct tpm2_ops *ops,
			   const struct si_fs *fs)
{
	up_floor_store_file(file, fs);
	if (!IS_ENABLED(CONFIG_FLOOR_TPM)) {
		*s = *file;
		return;
	}
	memset(t, 0, sizeof *t);
	t->index = UP_TPM_NV_INDEX;
	t->raise_max = UP_TPM_RAISE_MAX;
	t->file = IS_ENABLED(CONFIG_FLOOR_STORE_TPM_FILE) ? file : NULL;
	t->optional = IS_ENABLED(CONFIG_INSECURE_TPM_OPTIONAL);
	si_diag_clear(&t->open_diag);
	t->open_err = tpm2_dev_open(dev, NULL, ops, &t->open_diag);
	t->tpm = t->open_err ? NULL : ops;
	up_floor_store_tpm(s, t);
}
