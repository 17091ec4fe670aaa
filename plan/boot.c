/* sealinit plan/: the boot plan (plan/plan.h, "the plan").
 *
 * Decides, in this order, printing each verdict as the boot's console
 * line: the boot kernel collection (read whole, verified in memory, its
 * modules checked), the system volume, every cryptex (file type, seal,
 * name, overlay target authorised and allowed, precedence, shadowing),
 * the overlays, the data volume, the real init's path.  Nothing here
 * touches the system except through plan_ops.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/str.h"
#include "plan/plan.h"
#include "verify/manifest.h"
#include "verify/rollback.h"

#define CRYPTEX_SUFFIX ".cryptex"
#define CRYPTEX_SUFFIX_LEN 8

/* ------------------------------------------------------------ helpers */

static void copy(char *dst, size_t n, const char *src)
{
	struct si_buf b;

	si_buf_init(&b, dst, n);
	si_buf_puts(&b, src);
}

static void img_init(struct plan_image *im, const char *file)
{
	memset(im, 0, sizeof *im);
	copy(im->file, sizeof im->file, file);
	im->h = -1;
}

/* An si_io over an open plan_ops handle. */
struct hio {
	const struct plan_ops *ops;
	int h;
};

static int hio_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct hio *x = ctx;

	return x->ops->read_at(x->ops->ctx, x->h, off, buf, len);
}

/* io reads image im's open handle. */
static void hio_init(struct hio *x, struct si_io *io, const struct plan_ops *ops,
		     const struct plan_image *im)
{
	x->ops = ops;
	x->h = im->h;
	io->ctx = x;
	io->size = im->size;
	io->read_at = hio_read;
}

static void verified_line(const struct plan_ops *ops, const struct si_anchor *a,
			  const char *stage, const struct si_seal *s)
{
	char root[17];

	si_hex(root, s->m.root_hash, 8);
	/* "set" where the release set vouched for it: no signature checked */
	plan_log(ops, PLAN_LOG_NOTICE, "sealinit: %s: verified %s '%s' %s (rollback %llu) %s,%s:%s root %s... OK",
		 stage, si_seal_kind_name(s->m.kind), s->m.name, s->m.version,
		 (unsigned long long)s->m.rollback_index, si_seal_hash_name(s->m.hash_algo),
		 s->via_set ? "set" : si_algo_name(s->m.sig_algo), a->keys[s->key_index].id, root);
}

/* After an unknown-key error: which key signed it, which the anchor holds. */
static void hint_keys(const struct plan_ops *ops, const struct si_anchor *a,
		      const struct si_io *io)
{
	struct si_seal_unverified u;
	char line[400], fp[17];
	struct si_buf sb;
	unsigned i;

	if (si_seal_open_unverified(io, &u, NULL) != 0)
		return;
	si_buf_init(&sb, line, sizeof line);
	for (i = 0; i < a->n_keys; i++) {
		si_hex(fp, a->keys[i].fingerprint, 8);
		si_buf_printf(&sb, "%s%s (%s)", i ? ", " : "", a->keys[i].id, fp);
	}
	si_hex(fp, u.m.key_id, 8);
	plan_log(ops, PLAN_LOG_ERR, "sealinit: hint: the image is signed by key %s...; the anchor holds %s",
		 fp, line);
}

/* The recorded floor of an image's name (0: none). */
static uint64_t floor_of(const struct plan_inputs *in, const char *name)
{
	return in->floors ? up_floor_of(in->floors, name) : 0;
}

/* Opens a seal: through the active release set when there is one (the
 * image, the system volume included, must be the one the set names, byte
 * for byte: no second signature check), else by its own signature; the
 * integrator's aux collection, which no set lists, always by its own.
 * Rollback against the anchor's floor and the floor recorded for the
 * image's name. */
static int open_seal(const struct plan_inputs *in, const struct plan *p,
		     const struct plan_ops *ops, const char *stage, const char *what,
		     const struct si_io *io, uint32_t usage, struct si_seal *s,
		     struct si_diag *d)
{
	int r;

	if (p->has_set && usage != SI_USAGE_KC_AUX) {
		struct si_seal_unverified u;

		r = si_seal_open_unverified(io, &u, d);
		if (r == 0)
			r = si_seal_from_set(&u, &p->set, in->anchor, usage, floor_of(in, u.m.name), s, d);
	} else {
		r = si_seal_open(io, in->anchor, usage, 0, s, d);
		if (r == 0 && floor_of(in, s->m.name) > s->m.rollback_index) {
			si_diag_clear(d);
			si_diag_where(d, s->m.name, strlen(s->m.name));
			r = si_rollback_check(s->m.rollback_index, in->anchor,
					      floor_of(in, s->m.name), d);
		}
	}
	if (r == 0)
		return 0;
	plan_log_error(ops, stage, what, r, d);
	if (r == SI_E_SEAL_KEY_UNKNOWN)
		hint_keys(ops, in->anchor, io);
	return r;
}

/* "<kind> '<name>'" for error lines; name is trusted (validated) text. */
static void what_of(char *out, size_t n, const char *kind, const char *name)
{
	struct si_buf b;

	si_buf_init(&b, out, n);
	si_buf_printf(&b, "%s '%s'", kind, name);
}

/* A path of the active slot: "<slot>/<rel>". */
static void in_slot(char *out, size_t n, const struct plan *p, const char *rel)
{
	struct si_buf b;

	si_buf_init(&b, out, n);
	si_buf_printf(&b, "%s/%s", p->slot, rel);
}

static int fs_mountable(enum si_fstype t)
{
	return t == SI_FS_EROFS || t == SI_FS_EXT4 || t == SI_FS_SQUASHFS;
}

/* ------------------------------------------------------------ set */

/* The active slot's release set: read whole, its signature checked once,
 * its rollback index against the anchor's floor and the recorded one.
 * Without one, only a build with CONFIG_INSECURE_NO_SET boots, on each
 * image's own signature. */
static int plan_set(const struct plan_inputs *in, const struct plan_ops *ops, struct plan *p)
{
	static uint8_t buf[SI_MANIFEST_MAX];
	char path[PLAN_PATH_MAX], what[PLAN_PATH_MAX + 16];
	struct si_diag d;
	uint64_t size = 0;
	int h = -1, r;

	p->stage = "set";
	in_slot(path, sizeof path, p, PLAN_SET_FILE);
	what_of(what, sizeof what, "release set", path);
	si_diag_clear(&d);
	r = ops->open(ops->ctx, path, &h, &size, &d);
	if (r == SI_E_OPEN && d.sys_errno == ENOENT) {
		if (in->board->insecure_no_set) {
			plan_log(ops, PLAN_LOG_WARN, "sealinit: set: no release set in %s "
				 "(CONFIG_INSECURE_NO_SET): each image on its own signature, "
				 "no protection against mixing releases", p->slot);
			return 0;
		}
		si_diag_clear(&d);
		si_diag_where(&d, path, strlen(path));
		r = SI_E_SET_MISSING;
	}
	if (r == 0 && (size == 0 || size > sizeof buf)) {
		si_diag_clear(&d);
		si_diag_where(&d, path, strlen(path));
		si_diag_field(&d, "size");
		si_diag_values(&d, sizeof buf, size);
		r = SI_E_TOO_BIG;
	}
	if (r == 0) {
		r = ops->read_at(ops->ctx, h, 0, buf, (size_t)size);
		if (r) {
			si_diag_clear(&d);
			si_diag_where(&d, path, strlen(path));
		}
	}
	if (h >= 0)
		ops->close(ops->ctx, h);
	if (r == 0)
		r = si_set_open(buf, (size_t)size, in->anchor, floor_of(in, UP_FLOOR_SET), &p->set, &d);
	/* The state record names the set it made active: another validly
	 * signed set put into the slot is not it. */
	if (r == 0 && in->active_set && si_ct_memcmp(in->active_set, p->set.digest, 32) != 0) {
		si_diag_clear(&d);
		si_diag_where(&d, path, strlen(path));
		si_diag_field(&d, "set digest (state record)");
		si_diag_bytes(&d, in->active_set, p->set.digest, 32);
		r = SI_E_SET_DIGEST;
	}
	if (r) {
		plan_log_error(ops, "set", what, r, &d);
		return r;
	}
	p->has_set = 1;
	{
		char root[17];

		si_hex(root, p->set.system_root, 8);
		plan_log(ops, PLAN_LOG_NOTICE, "sealinit: set: verified release '%s' %s (rollback %llu, "
			 "%u images, system root %s...) sha256,%s:%s in %s OK", p->set.name, p->set.version,
			 (unsigned long long)p->set.rollback_index, p->set.n, root,
			 si_algo_name(p->set.sig_algo), in->anchor->keys[p->set.key_index].id,
			 p->slot);
	}
	return 0;
}

/* Data blocks [first, first + n) of the boot collection read from handle
 * h into b (the image's own offsets) and checked against the tree there. */
static int kc_part(const struct plan_ops *ops, int h, const char *path, const struct si_manifest *m,
		   uint8_t *b, size_t len, uint64_t first, uint64_t n, struct si_diag *d)
{
	uint64_t bs = m->data_block_size;
	int r;

	if (n) {
		r = ops->read_at(ops->ctx, h, first * bs, b + first * bs, (size_t)(n * bs));
		if (r) {
			si_diag_clear(d);
			si_diag_where(d, path, strlen(path));
			return r;
		}
	}
	return si_seal_verify_tree_range(m, b, len, first, n, d);
}

/* The boot collection read into b and checked against its signed root
 * hash, then used from there only (no window between check and use): the
 * stored tree, and every data block but those wholly inside a boot image
 * (entry 0 flagged boot-image: the FIT the boot loader loaded and verified
 * with its own key before this kernel ran).  Those are neither read nor
 * hashed: sealinit never looks at them -- the archive's parser reads the
 * header, the table and the padding between entries, the loader the
 * modules -- and checking them here would prove nothing, since a boot
 * image that was not what the firmware verified has already run, and this
 * code with it.  On the U-Boot board that is 33 of 35 MB neither read nor
 * hashed again.  In order: the tree and block 0 (the header), the table's
 * blocks, entry 0's span from those verified bytes, every other block;
 * anything odd in the header, and all of it is read and checked (the
 * parser then says what is wrong).  doctor --full reads and checks all. */
static int kc_load(const struct plan_inputs *in, const struct plan_ops *ops, int h,
		   const char *path, const struct si_manifest *m, uint8_t *b, size_t len,
		   struct si_diag *d)
{
	uint64_t bs = m->data_block_size, nb = m->data_blocks, tb, lo, hi, off, sz;
	const uint8_t *e = b + KC_COLL_HDR;
	uint32_t count;
	int r;

	if (!si_span_ok(0, m->padded_size, len) || !si_span_ok(m->hash_offset, m->hash_size, len)) {
		si_diag_field(d, "image");
		si_diag_values(d, m->image_size, len);
		return SI_E_SEAL_BOUNDS;
	}
	r = ops->read_at(ops->ctx, h, m->hash_offset, b + m->hash_offset, (size_t)m->hash_size);
	if (r) {
		si_diag_clear(d);
		si_diag_where(d, path, strlen(path));
		return r;
	}
	if (in->full_trees || m->data_size < KC_COLL_HDR + KC_COLL_ENTRY ||
	    bs < KC_COLL_HDR + KC_COLL_ENTRY)
		return kc_part(ops, h, path, m, b, len, 0, nb, d);
	r = kc_part(ops, h, path, m, b, len, 0, 1, d);
	if (r)
		return r;
	count = si_le32(b + 12);
	/* the table's blocks (count is small: no overflow) */
	tb = (KC_COLL_HDR + (uint64_t)count * KC_COLL_ENTRY + bs - 1) / bs;
	if (memcmp(b, KC_COLL_MAGIC, 8) != 0 || count == 0 || count > CONFIG_MAX_MODULES || tb > nb)
		return kc_part(ops, h, path, m, b, len, 1, nb - 1, d);
	r = kc_part(ops, h, path, m, b, len, 1, tb - 1, d);
	if (r)
		return r;
	lo = hi = tb;
	off = si_le64(e + 56);
	sz = si_le64(e + 64);
	if (si_le32(e + 72) == KC_ENTRY_BOOT_IMAGE &&
	    off >= KC_COLL_HDR + (uint64_t)count * KC_COLL_ENTRY && si_span_ok(off, sz, m->data_size)) {
		lo = (off + bs - 1) / bs;
		hi = (off + sz) / bs;
		if (lo < tb)
			lo = tb;
		if (hi < lo)
			hi = lo;
	}
	r = kc_part(ops, h, path, m, b, len, tb, lo - tb, d);
	if (r == 0)
		r = kc_part(ops, h, path, m, b, len, hi, nb - hi, d);
	return r;
}

/* ------------------------------------------------------------ kc */

static int plan_kc(const struct plan_inputs *in, const struct plan_ops *ops, struct plan *p)
{
	char path[PLAN_PATH_MAX];
	struct plan_image *im = &p->kc;
	struct hio x;
	struct si_io io;
	struct si_diag d;
	char what[160];
	uint64_t size = 0;
	unsigned i;
	int h = -1, r;

	p->stage = "kc";
	in_slot(path, sizeof path, p, in->board->kc_boot_path);
	img_init(im, path);
	im->required = 1;
	si_diag_clear(&d);
	r = ops->open(ops->ctx, path, &h, &size, &d);
	if (r) {
		if (r == SI_E_OPEN && d.sys_errno == ENOENT)
			r = SI_E_REQUIRED_MISSING;
		plan_log_error(ops, "kc", "boot kernel collection", r, &d);
		return r;
	}
	if (size == 0 || size > in->kc_cap) {
		ops->close(ops->ctx, h);
		si_diag_clear(&d);
		si_diag_where(&d, path, strlen(path));
		si_diag_field(&d, "size");
		si_diag_values(&d, in->kc_cap, size);
		plan_log_error(ops, "kc", "boot kernel collection", SI_E_TOO_BIG, &d);
		return SI_E_TOO_BIG;
	}
	/* The seal first (its footer and manifest read through the handle),
	 * then what the archive needs read into memory, checked there and
	 * used from there only (kc_load). */
	im->size = size;
	im->h = h;
	hio_init(&x, &io, ops, im);
	im->h = -1;
	what_of(what, sizeof what, "kc-boot", path);
	r = open_seal(in, p, ops, "kc", what, &io, SI_USAGE_KC_BOOT, &im->seal, &d);
	if (r == 0) {
		what_of(what, sizeof what, "kc-boot", im->seal.m.name);
		r = plan_seal_check(&p->policy, &im->seal, NULL, &d);
		if (r == 0)
			r = kc_load(in, ops, h, path, &im->seal.m, in->kc_buf, (size_t)size, &d);
		if (r)
			plan_log_error(ops, "kc", what, r, &d);
	}
	ops->close(ops->ctx, h);
	if (r)
		return r;
	/* Validation of the collection's bytes ends here: signed manifest,
	 * then every data block it reads or uses against the root hash. */
	r = kc_coll_parse(in->kc_buf, (size_t)im->seal.m.data_size, &p->coll, &d);
	if (r == 0 && in->kernel_release)
		r = kc_release_check(p->coll.release, in->kernel_release, &d);
	if (r) {
		plan_log_error(ops, "kc", what, r, &d);
		return r;
	}
	verified_line(ops, in->anchor, "kc", &im->seal);
	p->kc_bytes = in->kc_buf;
	/* Modules marked "on request" wait for the kernel to ask for them
	 * (the modprobe helper answers from these same bytes). */
	p->kc_mods.n = 0;
	for (i = 0; i < p->coll.count; i++) {
		unsigned k = p->kc_mods.n;

		if (p->coll.mods[i].on_request || p->coll.mods[i].boot_image)
			continue;
		p->kc_mods.img[k] = in->kc_buf + p->coll.mods[i].offset;
		p->kc_mods.len[k] = (size_t)p->coll.mods[i].size;
		p->kc_mods.file[k][0] = '\0';
		p->kc_mods.n++;
	}
	r = plan_modules(&p->kc_mods, in->kernel_release, "kc", what, ops);
	if (r)
		return r;
	im->state = PLAN_IMG_USE;
	return 0;
}


/* The system and aux tiers are erofs trees whose signed version is the
 * kernel release they were made for: another release's modules would be
 * refused by the kernel one by one, long after the boot. */
static int tier_release(const struct plan_inputs *in, const struct si_manifest *m,
			struct si_diag *d)
{
	int r;

	if (!in->kernel_release)
		return 0;
	r = kc_release_check(m->version, in->kernel_release, d);
	if (r)
		si_diag_field(d, "manifest.version (the tier's kernel release)");
	return r;
}

/* ------------------------------------------------------------ kc-system */

/* The system kernel collection: the set's kc-system entry, if it lists
 * one (at most one), at kc/<name>.kc beside the boot KC.  Opened through
 * the set like every image (O(1): dm-verity checks its blocks on read),
 * an erofs tree whose signed version is the running kernel's release:
 * another release's modules would be refused by the kernel one by one,
 * long after the boot; here the mismatch is one line before anything
 * mounts. */
static int plan_kc_system(const struct plan_inputs *in, const struct plan_ops *ops,
			  struct plan *p)
{
	struct plan_image *im = &p->ksys;
	const struct si_set_image *e = NULL;
	char path[PLAN_PATH_MAX], rel[PLAN_PATH_MAX], what[160];
	const char *slash = strrchr(in->board->kc_boot_path, '/');
	struct si_diag d;
	struct hio x;
	struct si_io io;
	unsigned i;
	int r;

	img_init(im, "");
	if (!p->has_set)
		return 0;
	p->stage = "kc";
	for (i = 0; i < p->set.n; i++) {
		if (p->set.img[i].kind != SI_KIND_KC_SYSTEM)
			continue;
		if (e) {
			si_diag_clear(&d);
			si_diag_field(&d, "images (kc-system)");
			si_diag_where(&d, p->set.name, strlen(p->set.name));
			si_diag_text(&d, "one system kernel collection", p->set.img[i].name);
			plan_log_error(ops, "kc", "release set", SI_E_SET_IMAGES, &d);
			return SI_E_SET_IMAGES;
		}
		e = &p->set.img[i];
	}
	if (!e)
		return 0;
	{
		struct si_buf b;

		si_buf_init(&b, rel, sizeof rel);
		si_buf_printf(&b, "%.*s%s%s.kc", slash ? (int)(slash - in->board->kc_boot_path) : 0,
			      in->board->kc_boot_path, slash ? "/" : "", e->name);
	}
	in_slot(path, sizeof path, p, rel);
	img_init(im, path);
	im->required = 1;
	what_of(what, sizeof what, "kc-system", e->name);
	si_diag_clear(&d);
	r = ops->open(ops->ctx, path, &im->h, &im->size, &d);
	if (r) {
		im->h = -1;
		if (r == SI_E_OPEN && d.sys_errno == ENOENT)
			r = SI_E_REQUIRED_MISSING;
		plan_log_error(ops, "kc", what, r, &d);
		return r;
	}
	hio_init(&x, &io, ops, im);
	r = open_seal(in, p, ops, "kc", what, &io, SI_USAGE_KC_SYSTEM, &im->seal, &d);
	if (r)
		return r;
	r = plan_seal_check(&p->policy, &im->seal, NULL, &d);
	if (r == 0)
		r = tier_release(in, &im->seal.m, &d);
	if (r) {
		plan_log_error(ops, "kc", what, r, &d);
		return r;
	}
	verified_line(ops, in->anchor, "kc", &im->seal);
	copy(p->ksys_mnt, sizeof p->ksys_mnt, PLAN_KSYS_MNT);
	copy(p->ksys_dm, sizeof p->ksys_dm, "sealinit-kc-system");
	im->state = PLAN_IMG_USE;
	return 0;
}

/* ------------------------------------------------------------ kc-aux */

/* The integrator's aux collection: outside every set (CONFIG_KC_AUX_PATH),
 * on its own signature by a key whose usages hold kc-aux; an erofs tree
 * for the running kernel's release whose module index was made with
 * exactly the system tier this boot mounts (manifest.kc_system, its
 * digest): its index then stands over the system tier's on /lib/modules,
 * so the OS's modprobe finds the platform's modules as before and the
 * aux modules after them.  Opened like the system tier (O(1): dm-verity
 * checks its blocks on read).  Third-party modules are not the platform's
 * to require: a refused one is skipped with its line and the boot goes on
 * without it. */
static int plan_kc_aux(const struct plan_inputs *in, const struct plan_ops *ops, struct plan *p)
{
	struct plan_image *im = &p->aux;
	char what[PLAN_PATH_MAX + 16];
	struct si_diag d;
	struct hio x;
	struct si_io io;
	int r;

	img_init(im, in->board->kc_aux_path);
	if (!in->board->kc_aux_path[0])
		return 0;
	p->stage = "kc";
	what_of(what, sizeof what, "kc-aux", in->board->kc_aux_path);
	si_diag_clear(&d);
	r = ops->open(ops->ctx, in->board->kc_aux_path, &im->h, &im->size, &d);
	if (r) {
		im->h = -1;
		if (r == SI_E_OPEN && d.sys_errno == ENOENT)
			return 0;
		plan_log_error(ops, "kc", what, r, &d);
		goto skip;
	}
	hio_init(&x, &io, ops, im);
	si_diag_clear(&d);
	r = open_seal(in, p, ops, "kc", what, &io, SI_USAGE_KC_AUX, &im->seal, &d);
	if (r)
		goto skip;
	r = plan_seal_check(&p->policy, &im->seal, NULL, &d);
	if (r == 0)
		r = tier_release(in, &im->seal.m, &d);
	if (r == 0 && p->ksys.state != PLAN_IMG_USE) {
		si_diag_field(&d, "manifest.kc_system");
		si_diag_text(&d, "a kc-system tier in the set", "a set without one");
		r = SI_E_KC_AUX_SYSTEM;
	} else if (r == 0 && memcmp(im->seal.m.kc_system, p->ksys.seal.m.digest, 32) != 0) {
		char want[17], found[17];

		si_hex(want, p->ksys.seal.m.digest, 8);
		si_hex(found, im->seal.m.kc_system, 8);
		si_diag_field(&d, "manifest.kc_system (the system tier's digest)");
		si_diag_text(&d, want, found);
		r = SI_E_KC_AUX_SYSTEM;
	}
	if (r) {
		what_of(what, sizeof what, "kc-aux", im->seal.m.name);
		plan_log_error(ops, "kc", what, r, &d);
		goto skip;
	}
	verified_line(ops, in->anchor, "kc", &im->seal);
	copy(p->aux_mnt, sizeof p->aux_mnt, PLAN_KAUX_MNT);
	copy(p->aux_dm, sizeof p->aux_dm, "sealinit-kc-aux");
	im->state = PLAN_IMG_USE;
	return 0;
skip:
	if (im->h >= 0)
		ops->close(ops->ctx, im->h);
	im->h = -1;
	im->state = PLAN_IMG_SKIP;
	im->err = r;
	si_diag_format(&d, r, im->reason, sizeof im->reason);
	plan_log(ops, PLAN_LOG_WARN, "sealinit: kc: skipping the aux kernel collection %s; "
		 "the boot goes on without its modules", in->board->kc_aux_path);
	return 0;
}

/* ------------------------------------------------------------ system */

static int plan_system(const struct plan_inputs *in, const struct plan_ops *ops, struct plan *p)
{
	const char *label = in->set->system_label;
	struct plan_image *im = &p->sys;
	struct si_diag d;
	struct hio x;
	struct si_io io;
	char what[160], hint[400] = "";
	int r;

	p->stage = "system";
	img_init(im, label);
	im->required = 1;
	si_diag_clear(&d);
	r = ops->open_part(ops->ctx, label, &im->h, &im->size, hint, sizeof hint, &d);
	if (r) {
		plan_log_error(ops, "system", label, r, &d);
		if (hint[0])
			plan_log(ops, PLAN_LOG_ERR, "sealinit: hint: %s", hint);
		return r;
	}
	hio_init(&x, &io, ops, im);
	what_of(what, sizeof what, "system volume", label);
	r = open_seal(in, p, ops, "system", what, &io, SI_USAGE_SYSTEM, &im->seal, &d);
	if (r)
		return r;
	/* The release set names the system volume it runs on. */
	if (p->has_set && si_ct_memcmp(im->seal.m.root_hash, p->set.system_root, 32) != 0) {
		si_diag_clear(&d);
		si_diag_field(&d, "root hash (release set)");
		si_diag_where(&d, p->set.name, strlen(p->set.name));
		si_diag_bytes(&d, p->set.system_root, im->seal.m.root_hash, 32);
		plan_log_error(ops, "system", what, SI_E_SET_SYSTEM, &d);
		return SI_E_SET_SYSTEM;
	}
	r = plan_seal_check(&p->policy, &im->seal, NULL, &d);
	if (r) {
		plan_log_error(ops, "system", what, r, &d);
		return r;
	}
	verified_line(ops, in->anchor, "system", &im->seal);
	copy(p->sys_mnt, sizeof p->sys_mnt, PLAN_NEWROOT);
	im->state = PLAN_IMG_USE;
	return 0;
}

/* ------------------------------------------------------------ cryptexes */

/* Names of the cryptex directory, collected by the list callback. */
struct names {
	const struct plan_ops *ops;
	unsigned max, n, too_many;
	char name[CONFIG_MAX_CRYPTEXES][PLAN_NAME_MAX + 1];
	char extra[PLAN_NAME_MAX * 4 + 16];   /* the first name over the cap, escaped */
};

static void each_name(void *arg, const char *name, size_t len)
{
	struct names *nm = arg;
	char esc[PLAN_NAME_MAX * 4 + 16];

	if (len == 0 || name[0] == '.')
		return;
	if (len <= CRYPTEX_SUFFIX_LEN ||
	    memcmp(name + len - CRYPTEX_SUFFIX_LEN, CRYPTEX_SUFFIX, CRYPTEX_SUFFIX_LEN) != 0)
		return; /* not ours: the directory may hold other files */
	si_escape(esc, sizeof esc, name, len);
	if (!si_manifest_name_ok((const uint8_t *)name, len - CRYPTEX_SUFFIX_LEN)) {
		struct si_diag d;

		si_diag_clear(&d);
		si_diag_where(&d, esc, strlen(esc));
		plan_log(nm->ops, PLAN_LOG_WARN, "sealinit: cryptex: '%s' ignored: %s [%s]", esc,
			 si_err_meaning(SI_E_CRYPTEX_FILE), si_err_name(SI_E_CRYPTEX_FILE));
		return;
	}
	if (nm->n >= nm->max) {
		if (!nm->too_many++)
			copy(nm->extra, sizeof nm->extra, esc);
		return;
	}
	memcpy(nm->name[nm->n], name, len - CRYPTEX_SUFFIX_LEN);
	nm->name[nm->n][len - CRYPTEX_SUFFIX_LEN] = '\0';
	nm->n++;
}

/* The next space-separated word of *s into w (capped); 0 at the end. */
static size_t next_word(const char **s, char *w, size_t n)
{
	const char *p = *s;
	size_t len;

	while (*p == ' ')
		p++;
	len = strcspn(p, " ");
	*s = p + len;
	if (len == 0)
		return 0;
	if (len >= n) {
		w[0] = '\0';
		return len;
	}
	memcpy(w, p, len);
	w[len] = '\0';
	return len;
}

/* Position of name in the required list (0 = topmost), or -1. */
static int required_rank(const struct plan_board *b, const char *name)
{
	const char *s = b->required;
	char w[PLAN_NAME_MAX + 1];
	int k = 0;

	while (next_word(&s, w, sizeof w))
		if (!strcmp(w, name))
			return k;
		else
			k++;
	return -1;
}

/* The board's pins for `name` ("name=/path" words): 0 when the target is
 * allowed (or the name has no pin), else SI_E_OVERLAY_DENIED with d. */
static int board_pin_check(const struct plan_board *b, const char *name, const char *target,
			   struct si_diag *d)
{
	const char *s = b->cryptex_targets;
	char w[PLAN_PATH_MAX + PLAN_NAME_MAX + 2], pins[160] = "";
	size_t nl = strlen(name);
	struct si_buf pb;
	int pinned = 0;

	si_buf_init(&pb, pins, sizeof pins);
	while (next_word(&s, w, sizeof w)) {
		if (strncmp(w, name, nl) != 0 || w[nl] != '=')
			continue;
		pinned = 1;
		if (si_path_under(target, w + nl + 1))
			return 0;
		si_buf_printf(&pb, "%s%s", pb.len ? "|" : "", w + nl + 1);
	}
	if (!pinned)
		return 0;
	si_diag_field(d, "manifest.overlay (CONFIG_CRYPTEX_TARGETS)");
	si_diag_text(d, pins, target);
	return SI_E_OVERLAY_DENIED;
}

/* Targets no cryptex may cover, whoever signed it. */
static int target_forbidden(const struct plan_policy *pol, const char *target, struct si_diag *d)
{
	static const char *const api[] = { "/dev", "/proc", "/sys", "/run" };
	const char *why = NULL;
	size_t i;

	if (!strcmp(target, "/"))
		why = "/ (the whole root)";
	else if (si_path_under(pol->init, target))
		why = "a directory holding the real init";
	else if (pol->data_mnt && (si_path_under(pol->data_mnt, target) ||
				   si_path_under(target, pol->data_mnt)))
		why = "the data volume mount point, or above or below it";
	for (i = 0; !why && i < SI_ARRAY_SIZE(api); i++)
		if (si_path_under(api[i], target) || si_path_under(target, api[i]))
			why = "an API file system (/dev, /proc, /sys, /run)";
	if (!why)
		return 0;
	si_diag_field(d, "manifest.overlay");
	si_diag_text(d, why, target);
	return SI_E_OVERLAY_FORBIDDEN;
}

int plan_seal_check(const struct plan_policy *pol, const struct si_seal *s,
		    const char *name, struct si_diag *d)
{
	const struct si_manifest *m = &s->m;
	const struct si_key *k = &pol->anchor->keys[s->key_index];
	int r;

	si_diag_clear(d);
	switch (m->kind) {
	case SI_KIND_KC_BOOT:
		if (m->fs_type != SI_FS_RAW) {
			si_diag_field(d, "manifest.fs_type");
			si_diag_text(d, "raw", si_seal_fstype_name(m->fs_type));
			return SI_E_IMAGE_KIND;
		}
		return 0;
	case SI_KIND_SYSTEM:
		/* A validly signed image made for another role is not the
		 * system. */
		if (strcmp(m->name, pol->board->system_name) != 0) {
			si_diag_field(d, "manifest.name");
			si_diag_text(d, pol->board->system_name, m->name);
			return SI_E_SYSTEM_NAME;
		}
		break;
	case SI_KIND_CRYPTEX:
		/* The file name chooses nothing: the signed name must match. */
		if (name && strcmp(m->name, name) != 0) {
			si_diag_field(d, "manifest.name");
			si_diag_text(d, name, m->name);
			return SI_E_CRYPTEX_NAME;
		}
		if (!m->has_overlay) {
			si_diag_field(d, "manifest.overlay");
			return SI_E_MANIFEST_MISSING;
		}
		break;
	case SI_KIND_KC_SYSTEM:
	case SI_KIND_KC_AUX:
		/* an erofs tree <release>/... mounted on /lib/modules */
		if (m->fs_type != SI_FS_EROFS) {
			si_diag_field(d, "manifest.fs_type");
			si_diag_text(d, "erofs", si_seal_fstype_name(m->fs_type));
			return SI_E_IMAGE_KIND;
		}
		return 0;
	case SI_KIND_UPDATE:
	case SI_KIND_SET:
		return 0;
	}
	if (!fs_mountable(m->fs_type)) {
		si_diag_field(d, "manifest.fs_type");
		si_diag_text(d, "erofs|ext4|squashfs", si_seal_fstype_name(m->fs_type));
		return SI_E_IMAGE_KIND;
	}
	if (m->kind != SI_KIND_CRYPTEX)
		return 0;
	/* Authorised, not only signed: the key's overlay-targets, then the
	 * board's pins for this name, then what nobody may cover. */
	if (!si_key_allows_target(k, m->overlay)) {
		char have[SI_KEY_TARGETS_BYTES], *t;
		unsigned j;

		memcpy(have, k->targets, sizeof have);
		for (j = 0, t = have; j + 1 < k->n_targets; j++) {
			t += strlen(t);
			*t++ = '|';
		}
		si_diag_field(d, "manifest.overlay (anchor key overlay-targets)");
		si_diag_where(d, k->id, strlen(k->id));
		si_diag_text(d, k->n_targets ? have : "none (the key overlays nothing)", m->overlay);
		return SI_E_OVERLAY_DENIED;
	}
	r = board_pin_check(pol->board, m->name, m->overlay, d);
	if (!r)
		r = target_forbidden(pol, m->overlay, d);
	return r;
}

/* Refuses optional cryptex i: a required one fails the boot instead. */
static int refuse(struct plan *p, unsigned i, int err, const struct si_diag *d,
		  const struct plan_ops *ops)
{
	struct plan_cryptex *c = &p->cx[i];

	if (c->img.required)
		return err;
	c->img.state = PLAN_IMG_SKIP;
	c->img.err = err;
	si_diag_format(d, err, c->img.reason, sizeof c->img.reason);
	if (c->img.h >= 0) {
		ops->close(ops->ctx, c->img.h);
		c->img.h = -1;
	}
	plan_log(ops, PLAN_LOG_WARN, "sealinit: cryptex: skipping optional cryptex '%s'; the boot goes on without it",
		 c->name);
	return 0;
}

/* One cryptex: file, seal, name, target.  0 (used or skipped) or the
 * error of a required one. */
static int plan_one_cryptex(const struct plan_inputs *in, const struct plan_ops *ops,
			    struct plan *p, unsigned i)
{
	struct plan_cryptex *c = &p->cx[i];
	struct si_diag d;
	struct hio x;
	struct si_io io;
	char what[160];
	int r;

	what_of(what, sizeof what, "cryptex", c->name);
	si_diag_clear(&d);
	r = ops->open(ops->ctx, c->img.file, &c->img.h, &c->img.size, &d);
	if (r) {
		c->img.h = -1;
		plan_log_error(ops, "cryptex", what, r, &d);
		return refuse(p, i, r, &d, ops);
	}
	hio_init(&x, &io, ops, &c->img);
	r = open_seal(in, p, ops, "cryptex", what, &io, SI_USAGE_CRYPTEX, &c->img.seal, &d);
	if (r)
		return refuse(p, i, r, &d, ops);
	copy(c->target, sizeof c->target, c->img.seal.m.overlay);
	r = plan_seal_check(&p->policy, &c->img.seal, c->name, &d);
	if (r) {
		plan_log_error(ops, "cryptex", what, r, &d);
		return refuse(p, i, r, &d, ops);
	}
	c->img.state = PLAN_IMG_USE;
	return 0;
}

/* Depth of a normalised absolute path: "/" 0, "/usr" 1, "/usr/lib" 2. */
static unsigned depth_of(const char *path)
{
	unsigned k = 0;

	for (; *path; path++)
		k += *path == '/' && path[1];
	return k;
}

static void swap_cx(struct plan_cryptex *a, struct plan_cryptex *b)
{
	/* Static scratch: a cryptex is a few KiB; PID 1 keeps stacks small. */
	static struct plan_cryptex t;

	t = *a;
	*a = *b;
	*b = t;
}

static int plan_cryptexes(const struct plan_inputs *in, const struct plan_ops *ops,
			  struct plan *p)
{
	/* Static: the names are 4 KiB and PID 1 plans once. */
	static struct names nm;
	const struct plan_board *b = in->board;
	const char *s;
	char w[PLAN_NAME_MAX + 1], dir[PLAN_PATH_MAX];
	struct si_diag d;
	unsigned i, j, n_req = 0;
	int r;

	p->stage = "cryptex";
	memset(&nm, 0, sizeof nm);
	nm.ops = ops;
	nm.max = b->max_cryptexes < CONFIG_MAX_CRYPTEXES ? b->max_cryptexes : CONFIG_MAX_CRYPTEXES;
	si_diag_clear(&d);
	in_slot(dir, sizeof dir, p, b->cryptex_dir);
	r = ops->list(ops->ctx, dir, each_name, &nm, &d);
	if (r && !(r == SI_E_OPEN && d.sys_errno == ENOENT)) {
		plan_log_error(ops, "cryptex", "cryptex directory", r, &d);
		return r;
	}
	if (nm.too_many) {
		si_diag_clear(&d);
		si_diag_where(&d, nm.extra, strlen(nm.extra));
		si_diag_field(&d, "cryptexes (CONFIG_MAX_CRYPTEXES)");
		si_diag_values(&d, nm.max, nm.n + nm.too_many);
		plan_log_error(ops, "cryptex", "cryptex directory", SI_E_TOO_BIG, &d);
		return SI_E_TOO_BIG;
	}
	/* Every required cryptex must be there. */
	s = b->required;
	while (next_word(&s, w, sizeof w)) {
		for (i = 0; i < nm.n && strcmp(nm.name[i], w); i++)
			;
		if (i == nm.n) {
			char path[PLAN_PATH_MAX + PLAN_NAME_MAX + 16], what[160];

			snprintf(path, sizeof path, "%s/%s%s", dir, w, CRYPTEX_SUFFIX);
			si_diag_clear(&d);
			si_diag_where(&d, path, strlen(path));
			what_of(what, sizeof what, "required cryptex", w);
			plan_log_error(ops, "cryptex", what, SI_E_REQUIRED_MISSING, &d);
			return SI_E_REQUIRED_MISSING;
		}
	}
	/* Precedence: required ones in the list's order, then the optional
	 * ones by name.  Rank 0 is the topmost layer. */
	p->n_cx = nm.n;
	for (i = 0; i < nm.n; i++) {
		struct plan_cryptex *c = &p->cx[i];
		int rank = required_rank(b, nm.name[i]);

		memset(c, 0, sizeof *c);
		copy(c->name, sizeof c->name, nm.name[i]);
		img_init(&c->img, "");
		snprintf(c->img.file, sizeof c->img.file, "%s/%s%s", dir, nm.name[i],
			 CRYPTEX_SUFFIX);
		c->img.required = rank >= 0;
		c->rank = rank >= 0 ? (unsigned)rank : 1000u;
		n_req += rank >= 0;
		snprintf(c->mnt, sizeof c->mnt, "%s/%s", PLAN_CRYPTEX_MNT, nm.name[i]);
		snprintf(c->dm_name, sizeof c->dm_name, "sealinit-cx-%s", nm.name[i]);
	}
	/* Checked in name order, as an integrator reads the directory. */
	for (i = 1; i < p->n_cx; i++)
		for (j = i; j > 0 && strcmp(p->cx[j - 1].name, p->cx[j].name) > 0; j--)
			swap_cx(&p->cx[j - 1], &p->cx[j]);
	for (i = 0; i < p->n_cx; i++) {
		r = plan_one_cryptex(in, ops, p, i);
		if (r)
			return r;
	}
	/* Ranks: required by list position, optional after them by name. */
	for (i = 0, j = n_req; i < p->n_cx; i++)
		if (!p->cx[i].img.required)
			p->cx[i].rank = j++;
	for (i = 1; i < p->n_cx; i++)
		for (j = i; j > 0 && p->cx[j - 1].rank > p->cx[j].rank; j--)
			swap_cx(&p->cx[j - 1], &p->cx[j]);
	/* An optional cryptex below a required one's target would hide its
	 * files (its mount lands on top of that overlay): refuse it. */
	for (i = 0; i < p->n_cx; i++) {
		struct plan_cryptex *c = &p->cx[i];

		if (c->img.required || c->img.state != PLAN_IMG_USE)
			continue;
		for (j = 0; j < p->n_cx; j++) {
			const struct plan_cryptex *q = &p->cx[j];
			char what[160];

			if (!q->img.required || q->img.state != PLAN_IMG_USE ||
			    !strcmp(q->target, c->target) || !si_path_under(c->target, q->target))
				continue;
			si_diag_clear(&d);
			si_diag_field(&d, "manifest.overlay");
			si_diag_where(&d, q->name, strlen(q->name));
			si_diag_text(&d, "a target outside every required cryptex target", c->target);
			what_of(what, sizeof what, "cryptex", c->name);
			plan_log_error(ops, "cryptex", what, SI_E_OVERLAY_SHADOW, &d);
			r = refuse(p, i, SI_E_OVERLAY_SHADOW, &d, ops);
			if (r)
				return r;
			break;
		}
	}
	/* What is used, topmost first. */
	for (i = 0; i < p->n_cx; i++)
		if (p->cx[i].img.state == PLAN_IMG_USE)
			verified_line(ops, in->anchor, "cryptex", &p->cx[i].img.seal);
	/* One overlay per target, parents before the targets inside them;
	 * layers topmost first (the cryptexes are in rank order). */
	p->n_ov = 0;
	{
		unsigned dmax = 0, dep;

		for (i = 0; i < p->n_cx; i++)
			if (p->cx[i].img.state == PLAN_IMG_USE && depth_of(p->cx[i].target) > dmax)
				dmax = depth_of(p->cx[i].target);
		for (dep = 0; dep <= dmax; dep++)
			for (i = 0; i < p->n_cx; i++) {
				struct plan_overlay *o;

				if (p->cx[i].img.state != PLAN_IMG_USE || depth_of(p->cx[i].target) != dep)
					continue;
				for (j = 0; j < p->n_ov && strcmp(p->ov[j].target, p->cx[i].target); j++)
					;
				o = &p->ov[j];
				if (j == p->n_ov) {
					memset(o, 0, sizeof *o);
					copy(o->target, sizeof o->target, p->cx[i].target);
					p->n_ov++;
				}
				o->layer[o->n++] = i;
			}
	}
	return 0;
}

/* ------------------------------------------------------------ plan_boot */

int plan_boot(const struct plan_inputs *in, const struct plan_ops *ops, struct plan *p)
{
	const struct plan_settings *set = in->set;
	struct si_diag d;
	int r;

	if (!in || !ops || !p || !in->board || !set || !in->anchor || !in->kc_buf)
		return SI_E_ARG;
	memset(p, 0, sizeof *p);
	p->kc.h = p->sys.h = p->ksys.h = p->aux.h = -1;

	/* Where things go, before anything is checked against them. */
	p->stage = "plan";
	copy(p->init, sizeof p->init, set->init);
	p->has_data = set->data_label[0] && strcmp(set->data_label, "none") != 0;
	copy(p->data_label, sizeof p->data_label, set->data_label);
	copy(p->data_mnt, sizeof p->data_mnt, in->board->data_mount);
	p->data_noexec = in->board->data_noexec;
	p->policy.board = in->board;
	p->policy.anchor = in->anchor;
	p->policy.init = p->init;
	p->policy.data_mnt = p->has_data ? p->data_mnt : NULL;
	if (p->has_data && (!si_path_ok((const uint8_t *)p->data_mnt, strlen(p->data_mnt)) ||
			    !strcmp(p->data_mnt, "/"))) {
		si_diag_clear(&d);
		si_diag_field(&d, "CONFIG_DATA_MOUNT");
		si_diag_text(&d, "an absolute path below /", p->data_mnt);
		plan_log_error(ops, "data", "data volume", SI_E_CONFIG, &d);
		p->stage = "data";
		return SI_E_CONFIG;
	}
	if (!si_path_ok((const uint8_t *)p->init, strlen(p->init)) || !strcmp(p->init, "/") ||
	    (p->has_data && si_path_under(p->init, p->data_mnt))) {
		int e = si_path_ok((const uint8_t *)p->init, strlen(p->init)) && strcmp(p->init, "/")
			? SI_E_INIT_PLACE : SI_E_INIT_PATH;
		char esc[PLAN_PATH_MAX];

		si_escape(esc, sizeof esc, p->init, strlen(p->init));
		si_diag_clear(&d);
		si_diag_field(&d, "init");
		si_diag_text(&d, e == SI_E_INIT_PLACE ? "a path outside the data volume"
						      : "an absolute normalised path", esc);
		plan_log_error(ops, "handoff", "real init", e, &d);
		p->stage = "handoff";
		return e;
	}

	copy(p->slot, sizeof p->slot, in->slot ? in->slot : PLAN_SLOT_DEFAULT);
	r = plan_set(in, ops, p);
	if (r == 0)
		r = plan_kc(in, ops, p);
	if (r == 0)
		r = plan_kc_system(in, ops, p);
	if (r == 0)
		r = plan_kc_aux(in, ops, p);
	if (r == 0)
		r = plan_system(in, ops, p);
	if (r == 0)
		r = plan_cryptexes(in, ops, p);
	if (r)
		return r;
	p->stage = "plan";
	return 0;
}

void plan_release(struct plan *p, const struct plan_ops *ops)
{
	unsigned i;

	if (p->sys.h >= 0)
		ops->close(ops->ctx, p->sys.h);
	p->sys.h = -1;
	if (p->ksys.h >= 0)
		ops->close(ops->ctx, p->ksys.h);
	p->ksys.h = -1;
	if (p->aux.h >= 0)
		ops->close(ops->ctx, p->aux.h);
	p->aux.h = -1;
	for (i = 0; i < p->n_cx; i++) {
		if (p->cx[i].img.h >= 0)
			ops->close(ops->ctx, p->cx[i].img.h);
		p->cx[i].img.h = -1;
	}
}

/* ------------------------------------------------------------ execution */

int plan_cryptex_fail(struct plan *p, unsigned i, int err, const struct si_diag *d,
		      const struct plan_ops *ops)
{
	char what[160];
	unsigned o, l, k;

	if (!p || i >= p->n_cx)
		return SI_E_ARG;
	p->stage = "cryptex";
	what_of(what, sizeof what, "cryptex", p->cx[i].name);
	plan_log_error(ops, "cryptex", what, err, d);
	if (refuse(p, i, err, d, ops))
		return err;
	for (o = 0; o < p->n_ov; o++) {
		struct plan_overlay *ov = &p->ov[o];

		for (l = k = 0; l < ov->n; l++)
			if (ov->layer[l] != i)
				ov->layer[k++] = ov->layer[l];
		ov->n = k;
		ov->dropped = k == 0;
	}
	return 0;
}

int plan_overlay_resolved(struct plan *p, unsigned ov, int r, struct si_diag *d,
			  const struct plan_ops *ops)
{
	if (r == 0)
		return 0;
	if (r == SI_E_NOTFOUND || r == SI_E_FILE_TYPE) {
		si_diag_field(d, "manifest.overlay");
		si_diag_text(d, "a directory of the system volume",
			     r == SI_E_NOTFOUND ? "nothing" : "a path through a non-directory");
		r = SI_E_OVERLAY_TARGET;
	}
	return plan_overlay_fail(p, ov, r, d, ops);
}

int plan_overlay_fail(struct plan *p, unsigned ov, int err, const struct si_diag *d,
		      const struct plan_ops *ops)
{
	struct plan_overlay *o;
	char what[PLAN_PATH_MAX + 32];
	unsigned i, k = 0, req = 0;
	int target_bad = err == SI_E_OVERLAY_TARGET || err == SI_E_PATH_SYMLINK;

	if (!p || ov >= p->n_ov)
		return SI_E_ARG;
	o = &p->ov[ov];
	p->stage = "cryptex";
	snprintf(what, sizeof what, "overlay on %s", o->target);
	plan_log_error(ops, "cryptex", what, err, d);
	for (i = 0; i < o->n; i++)
		req += p->cx[o->layer[i]].img.required;
	/* A bad target fails every layer; a failed mount is tried again
	 * without the optional layers, unless there were none to drop. */
	if (req && (target_bad || req == o->n))
		return err;
	for (i = 0; i < o->n; i++) {
		struct plan_cryptex *c = &p->cx[o->layer[i]];

		if (c->img.required) {
			o->layer[k++] = o->layer[i];
			continue;
		}
		c->img.state = PLAN_IMG_SKIP;
		c->img.err = err;
		si_diag_format(d, err, c->img.reason, sizeof c->img.reason);
		plan_log(ops, PLAN_LOG_WARN, "sealinit: cryptex: skipping optional cryptex '%s'; the boot goes on without it",
			 c->name);
	}
	o->n = k;
	o->dropped = k == 0;
	return 0;
}

int plan_init_check(const struct plan *p, const char *resolved, int is_exec_file,
		    enum plan_init_mount on, const struct si_diag *d,
		    const struct plan_ops *ops)
{
	struct si_diag e;
	char esc[PLAN_PATH_MAX];
	unsigned i;

	if (!resolved) {
		plan_log_error(ops, "handoff", "real init", SI_E_INIT_MISSING, d);
		return SI_E_INIT_MISSING;
	}
	si_escape(esc, sizeof esc, resolved, strlen(resolved));
	si_diag_clear(&e);
	si_diag_field(&e, "init");
	if (!is_exec_file) {
		si_diag_where(&e, p->init, strlen(p->init));
		si_diag_text(&e, "an executable regular file", esc);
		plan_log_error(ops, "handoff", "real init", SI_E_INIT_MISSING, &e);
		return SI_E_INIT_MISSING;
	}
	for (i = 0; i < p->n_ov; i++)
		if (!p->ov[i].dropped && si_path_under(resolved, p->ov[i].target))
			on = PLAN_INIT_ON_OTHER;
	if (p->has_data && si_path_under(resolved, p->data_mnt))
		on = PLAN_INIT_ON_OTHER;
	if (on != PLAN_INIT_ON_SYSTEM) {
		si_diag_where(&e, p->init, strlen(p->init));
		si_diag_text(&e, "a file of the system volume", esc);
		plan_log_error(ops, "handoff", "real init", SI_E_INIT_PLACE, &e);
		return SI_E_INIT_PLACE;
	}
	return 0;
}
