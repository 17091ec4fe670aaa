/* Unit tests for plan/: every decision of a boot and every refusal, on a
 * fake machine (preboot files, partitions, loaded modules) behind
 * struct plan_ops.  Each refusal asserts its exact error code and the
 * console line it prints.  Keys come from tests/vectors/seal/; run from
 * the top directory. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc/collection.h"
#include "lib/str.h"
#include "plan/plan.h"
#include "plan/status.h"
#include "tests/unit/t.h"
#include "tests/unit/t_key.h"
#include "tests/unit/t_elf.h"
#include "verify/seal.h"

#define VEC "tests/vectors/seal/"
#define RELEASE "6.1.0-test-arm64"
#define SLOT "slots/a"

static struct si_privkey key_platform, key_cx, key_rsa;

/* After setup(), an image put with put_sealed, put_kc or put_system is
 * the vendor's: the release set is made again over it.  An attacker's
 * change edits bytes in place and leaves the set as it was. */
static int auto_set;
static const char *run_slot = SLOT;   /* the slot the planner is given */
static int full_trees;                /* doctor --full */
static struct up_floors floors;       /* the recorded floors it is given */
static void make_set(const char *name, uint64_t rollback);
#define VENDOR_SET() do { if (auto_set) make_set("13.3.1t", 1); } while (0)

/* ------------------------------------------------------------ the machine */

struct file {
	char path[200];
	enum plan_ftype type;
	uint8_t *data;
	size_t len;
};

static struct file files[24];
static unsigned n_files;
static struct file parts[4]; /* path = label */
static unsigned n_parts;
static const char *loaded[8];
static char lines[96][1100];
static unsigned n_lines, open_handles;

static void world_reset(void)
{
	unsigned i;

	for (i = 0; i < n_files; i++)
		free(files[i].data);
	for (i = 0; i < n_parts; i++)
		free(parts[i].data);
	n_files = n_parts = n_lines = open_handles = 0;
	memset(loaded, 0, sizeof loaded);
}

/* Files of the world live in the active slot unless their path says
 * otherwise ("slots/..."; "/x" for the preboot volume's root). */
static void full_path(char *out, size_t n, const char *path)
{
	if (!strncmp(path, "slots/", 6))
		snprintf(out, n, "%s", path);
	else if (path[0] == '/')
		snprintf(out, n, "%s", path + 1);
	else
		snprintf(out, n, "%s/%s", SLOT, path);
}

static void put_file(const char *path, enum plan_ftype type, const uint8_t *data, size_t len)
{
	struct file *f = &files[n_files++];

	full_path(f->path, sizeof f->path, path);
	f->type = type;
	f->data = malloc(len ? len : 1);
	if (len)
		memcpy(f->data, data, len);
	f->len = len;
}

static struct file *find_file(const char *path)
{
	unsigned i;

	for (i = 0; i < n_files; i++)
		if (!strcmp(files[i].path, path))
			return &files[i];
	return NULL;
}

/* find_file for a test's own (slot-relative) path. */
static struct file *world_file(const char *path)
{
	char full[200];

	full_path(full, sizeof full, path);
	return find_file(full);
}

static void drop_file(const char *path)
{
	struct file *f = world_file(path);

	if (!f)
		return;
	free(f->data);
	*f = files[--n_files];
}

static void fake_log(void *ctx, int level, const char *line)
{
	(void)ctx;
	(void)level;
	if (n_lines < SI_ARRAY_SIZE(lines))
		snprintf(lines[n_lines++], sizeof lines[0], "%s", line);
}

static int fake_list(void *ctx, const char *dir, void (*each)(void *, const char *, size_t),
		     void *arg, struct si_diag *d)
{
	size_t n = strlen(dir);
	unsigned i, seen = 0;

	(void)ctx;
	for (i = 0; i < n_files; i++)
		if (!strncmp(files[i].path, dir, n) && files[i].path[n] == '/' &&
		    !strchr(files[i].path + n + 1, '/')) {
			each(arg, files[i].path + n + 1, strlen(files[i].path + n + 1));
			seen++;
		}
	if (!seen)
		return si_diag_sys(d, SI_E_OPEN, dir, ENOENT);
	return 0;
}

static int fake_open(void *ctx, const char *path, int *h, uint64_t *size, struct si_diag *d)
{
	struct file *f = find_file(path);

	(void)ctx;
	if (!f)
		return si_diag_sys(d, SI_E_OPEN, path, ENOENT);
	if (f->type == PLAN_FT_LNK) {
		si_diag_where(d, path, strlen(path));
		si_diag_errno(d, ELOOP);
		si_diag_field(d, "symbolic link");
		return SI_E_PATH_SYMLINK;
	}
	if (f->type != PLAN_FT_REG) {
		si_diag_where(d, path, strlen(path));
		si_diag_text(d, "a regular file", f->type == PLAN_FT_FIFO ? "FIFO" : "directory");
		return SI_E_FILE_TYPE;
	}
	*h = (int)(f - files);
	*size = f->len;
	open_handles++;
	return 0;
}

static int fake_open_part(void *ctx, const char *label, int *h, uint64_t *size,
			  char *hint, size_t hint_n, struct si_diag *d)
{
	unsigned i;

	(void)ctx;
	for (i = 0; i < n_parts; i++)
		if (!strcmp(parts[i].path, label)) {
			*h = 100 + (int)i;
			*size = parts[i].len;
			open_handles++;
			return 0;
		}
	snprintf(hint, hint_n, "block devices: vda1 \"preboot\"");
	si_diag_where(d, label, strlen(label));
	si_diag_field(d, "PARTNAME");
	return SI_E_PART_NOTFOUND;
}

static int fake_read_at(void *ctx, int h, uint64_t off, void *buf, size_t len)
{
	const struct file *f = h >= 100 ? &parts[h - 100] : &files[h];

	(void)ctx;
	if (!si_span_ok(off, len, f->len))
		return SI_E_SHORT;
	memcpy(buf, f->data + off, len);
	return 0;
}

static void fake_close(void *ctx, int h)
{
	(void)ctx;
	(void)h;
	open_handles--;
}

static int fake_loaded(void *ctx, const char *name)
{
	unsigned i;

	(void)ctx;
	for (i = 0; i < SI_ARRAY_SIZE(loaded) && loaded[i]; i++)
		if (kc_name_eq(loaded[i], name))
			return 1;
	return 0;
}

static const struct plan_ops ops = {
	NULL, fake_log, fake_list, fake_open, fake_open_part, fake_read_at, fake_close, fake_loaded,
};

/* The first line that contains `s`, or NULL. */
static const char *line_with(const char *s)
{
	unsigned i;

	for (i = 0; i < n_lines; i++)
		if (strstr(lines[i], s))
			return lines[i];
	return NULL;
}

static void dump_lines(void)
{
	unsigned i;

	for (i = 0; i < n_lines; i++)
		fprintf(stderr, "    | %s\n", lines[i]);
}

#define T_LINE(s)                                                                     \
	do {                                                                          \
		T_CHECK(line_with(s) != NULL, "no console line with \"%s\"; lines:", s); \
		if (!line_with(s))                                                    \
			dump_lines();                                                 \
	} while (0)

/* ------------------------------------------------------------ images */

static const char *seal_version = "13.3.1";
static size_t kc_fit_len; /* put_kc: a boot image (entry 0) of this size first */
static const uint8_t *seal_kc_system; /* kc-aux images: the system tier's digest */

static uint8_t *seal_img(enum si_kind kind, const char *name, enum si_fstype fs,
			 const char *overlay, const struct si_privkey *key,
			 const uint8_t *data, size_t dlen, size_t *out_len)
{
	static const uint8_t salt[16] = { 9, 8, 7 };
	struct si_seal_params p;
	struct si_seal_layout l;
	uint8_t *img;

	memset(&p, 0, sizeof p);
	p.kind = kind;
	p.name = name;
	p.version = seal_version;
	p.rollback_index = 1;
	p.fs_type = fs;
	p.data_size = dlen;
	p.salt = salt;
	p.salt_len = sizeof salt;
	p.overlay = overlay;
	p.kc_system = kind == SI_KIND_KC_AUX ? seal_kc_system : NULL;
	if (si_seal_layout(&p, key->algo, &l, NULL) != 0) {
		fprintf(stderr, "seal_img %s: layout\n", name);
		exit(2);
	}
	img = calloc(1, (size_t)l.image_size);
	memcpy(img, data, dlen);
	if (si_seal_build(&p, key, img, (size_t)l.image_size, 1, NULL) != 0) {
		fprintf(stderr, "seal_img %s: build\n", name);
		exit(2);
	}
	*out_len = (size_t)l.image_size;
	return img;
}

static void put_sealed(const char *path, enum si_kind kind, const char *name,
		       enum si_fstype fs, const char *overlay, const struct si_privkey *key)
{
	uint8_t data[5000];
	size_t len, i;
	uint8_t *img;

	for (i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)(i * 13 + name[0]);
	img = seal_img(kind, name, fs, overlay, key, data, sizeof data, &len);
	put_file(path, PLAN_FT_REG, img, len);
	free(img);
	VENDOR_SET();
}

static void put_system(const char *name, enum si_fstype fs, const struct si_privkey *key)
{
	uint8_t data[8192];
	size_t len;
	uint8_t *img;

	memset(data, 0x5a, sizeof data);
	img = seal_img(SI_KIND_SYSTEM, name, fs, NULL, key, data, sizeof data, &len);
	snprintf(parts[n_parts].path, sizeof parts[0].path, "system");
	parts[n_parts].data = img;
	parts[n_parts].len = len;
	n_parts++;
	VENDOR_SET();
}

/* The boot KC: dm_mod and dm_verity (which needs dm-mod and `extra_dep`). */
static void put_kc(const char *release, const char *vermagic, const char *extra_dep,
		   enum si_fstype fs, const struct si_privkey *key)
{
	static struct elf e1, e2;
	static const char *const names[] = { "fit", "dm_mod", "dm_verity" };
	char mi1[200], mi2[200];
	size_t n1, n2, len, alen, i;
	uint64_t sizes[3], offs[3];
	unsigned nb = kc_fit_len ? 1 : 0;
	uint8_t *arch, *img;

	n1 = (size_t)snprintf(mi1, sizeof mi1, "name=dm_mod%cvermagic=%s SMP mod_unload aarch64%cdepends=%c",
			      0, vermagic, 0, 0) + 1;
	n2 = (size_t)snprintf(mi2, sizeof mi2, "name=dm_verity%cvermagic=%s SMP mod_unload aarch64%cdepends=dm-mod%s%s%c",
			      0, vermagic, 0, extra_dep[0] ? "," : "", extra_dep, 0) + 1;
	mk_elf(&e1, mi1, n1, 183);
	mk_elf(&e2, mi2, n2, 183);
	sizes[0] = kc_fit_len;
	sizes[1] = e1.len;
	sizes[2] = e2.len;
	alen = (size_t)kc_coll_size(sizes + 1 - nb, 2 + nb);
	arch = calloc(1, alen);
	if (kc_coll_write(arch, alen, release, names + 1 - nb, sizes + 1 - nb, 2 + nb, offs, NULL) != 0)
		exit(2);
	if (nb) {
		for (i = 0; i < kc_fit_len; i++)
			arch[offs[0] + i] = (uint8_t)(i * 7 + 1);
		kc_coll_mark(arch, alen, 0, KC_ENTRY_BOOT_IMAGE);
	}
	memcpy(arch + offs[nb], e1.b, e1.len);
	memcpy(arch + offs[nb + 1], e2.b, e2.len);
	img = seal_img(SI_KIND_KC_BOOT, "boot", fs, NULL, key, arch, alen, &len);
	put_file("kc/boot.kc", PLAN_FT_REG, img, len);
	free(img);
	free(arch);
	VENDOR_SET();
}

/* ------------------------------------------------------------ the setup */

static struct si_anchor anchor;
static struct plan_board board;
static struct plan_settings set;
static struct plan p;
static uint8_t kc_buf[1 << 20];

static void add_key(const struct si_privkey *k, const char *id, uint32_t usages,
		    const char *const *targets)
{
	struct si_key *dst = &anchor.keys[anchor.n_keys++];
	size_t n = 0;

	*dst = k->pub;
	snprintf(dst->id, sizeof dst->id, "%s", id);
	dst->usages = usages;
	dst->has_usages = 1;
	dst->n_targets = 0;
	memset(dst->targets, 0, sizeof dst->targets);
	for (; targets && *targets; targets++) {
		memcpy(dst->targets + n, *targets, strlen(*targets) + 1);
		n += strlen(*targets) + 1;
		dst->n_targets++;
	}
}

/* A healthy machine: platform key (everything but kc-aux, cryptexes on
 * /usr and /opt), a cryptex-only key (cryptexes on /opt/app only), an
 * RSA integrator key (kc-aux); KC, system, os on /usr (required), app on
 * /opt/app (optional). */
static void setup(void)
{
	static const char *const plat_t[] = { "/usr", "/opt", NULL };
	static const char *const cx_t[] = { "/opt/app", NULL };
	struct si_cmdline c;

	world_reset();
	auto_set = 0;
	run_slot = SLOT;
	memset(&floors, 0, sizeof floors);
	memset(&anchor, 0, sizeof anchor);
	add_key(&key_platform, "platform", SI_USAGE_ALL & ~SI_USAGE_KC_AUX, plat_t);
	add_key(&key_cx, "cx", SI_USAGE_CRYPTEX, cx_t);
	add_key(&key_rsa, "integrator", SI_USAGE_KC_AUX, NULL);
	plan_board_kconfig(&board);
	snprintf(board.required, sizeof board.required, "os");
	board.cryptex_targets[0] = '\0';
	snprintf(board.real_init, sizeof board.real_init, "/sbin/init");
	snprintf(board.data_mount, sizeof board.data_mount, "/data");
	snprintf(board.data_label, sizeof board.data_label, "data");
	snprintf(board.system_name, sizeof board.system_name, "system");
	snprintf(board.kc_boot_path, sizeof board.kc_boot_path, "kc/boot.kc");
	snprintf(board.cryptex_dir, sizeof board.cryptex_dir, "cryptexes");
	board.max_cryptexes = CONFIG_MAX_CRYPTEXES;
	memset(&c, 0, sizeof c);
	plan_settings(&board, &c, &ops, &set);
	put_kc(RELEASE, RELEASE, "", SI_FS_RAW, &key_platform);
	put_system("system", SI_FS_EROFS, &key_platform);
	put_sealed("cryptexes/os.cryptex", SI_KIND_CRYPTEX, "os", SI_FS_EROFS, "/usr", &key_platform);
	put_sealed("cryptexes/app.cryptex", SI_KIND_CRYPTEX, "app", SI_FS_EROFS, "/opt/app", &key_cx);
	make_set("13.3.1t", 1);
	auto_set = 1;
	n_lines = 0;
}

/* The release: a set over the slot's images as they are now and the
 * system partition, signed by the platform key (`update` usage).  Tests
 * that change an image as its vendor would call it again; tests that
 * change one as an attacker would do not. */
static void make_set(const char *name, uint64_t rollback)
{
	static uint8_t out[SI_MANIFEST_MAX];
	struct si_set_params sp;
	struct si_signer sg;
	struct si_seal_unverified u;
	struct si_mem_io mio;
	struct si_io io;
	size_t len = 0, pre = strlen(SLOT) + 1;
	unsigned i;

	memset(&sp, 0, sizeof sp);
	sp.name = name;
	sp.version = "13.3.1 (t)";
	sp.rollback_index = rollback;
	for (i = 0; i < n_files; i++) {
		struct si_set_image *e;

		if (strncmp(files[i].path, SLOT "/", pre) || files[i].type != PLAN_FT_REG)
			continue;
		si_io_mem(&io, &mio, files[i].data, files[i].len);
		if (si_seal_open_unverified(&io, &u, NULL) != 0 || u.m.kind == SI_KIND_SYSTEM)
			continue;
		e = &sp.img[sp.n++];
		e->kind = u.m.kind;
		snprintf(e->name, sizeof e->name, "%s", u.m.name);
		memcpy(e->digest, u.m.digest, 32);
		e->rollback_index = u.m.rollback_index;
	}
	for (i = 0; i < n_parts; i++)
		if (!strcmp(parts[i].path, "system")) {
			si_io_mem(&io, &mio, parts[i].data, parts[i].len);
			if (si_seal_open_unverified(&io, &u, NULL) == 0) {
				memcpy(sp.system_root, u.m.root_hash, 32);
				memcpy(sp.system_digest, u.m.digest, 32);
			}
		}
	drop_file(PLAN_SET_FILE);
	si_signer_privkey(&sg, &key_platform);
	if (si_set_build(&sp, &sg, out, sizeof out, &len, NULL) != 0) {
		fprintf(stderr, "make_set: build\n");
		exit(2);
	}
	put_file(PLAN_SET_FILE, PLAN_FT_REG, out, len);
}

static int run(void)
{
	struct plan_inputs in = {
		.board = &board, .set = &set, .anchor = &anchor, .kernel_release = RELEASE,
		.kc_buf = kc_buf, .kc_cap = sizeof kc_buf, .slot = run_slot, .floors = &floors,
		.full_trees = full_trees,
	};
	int r;

	n_lines = 0;
	r = plan_boot(&in, &ops, &p);
	plan_release(&p, &ops);
	return r;
}

/* status.json of the last plan, whole (never cut). */
static const char *status_json(void)
{
	static char json[8192];
	int trunc = 1;

	plan_status_json(&p, &board, &anchor, RELEASE, NULL, NULL, 0, 1, json, sizeof json, &trunc);
	T_EQ(trunc, 0);
	return json;
}

static const struct plan_cryptex *cx(const char *name)
{
	unsigned i;

	for (i = 0; i < p.n_cx; i++)
		if (!strcmp(p.cx[i].name, name))
			return &p.cx[i];
	return NULL;
}

/* Replaces the app cryptex by one signed by `key` with `target`. */
static void app_with(const char *target, const struct si_privkey *key)
{
	drop_file("cryptexes/app.cryptex");
	put_sealed("cryptexes/app.cryptex", SI_KIND_CRYPTEX, "app", SI_FS_EROFS, target, key);
}

static void expect_app_skipped(int err, const char *line)
{
	T_OK(run());
	T_CHECK(cx("app") && cx("app")->img.state == PLAN_IMG_SKIP, "app skipped");
	T_ERR(cx("app") ? cx("app")->img.err : 0, err);
	T_LINE(line);
	T_LINE("skipping optional cryptex 'app'; the boot goes on without it");
	T_CHECK(cx("os") && cx("os")->img.state == PLAN_IMG_USE, "os still used");
}

/* ------------------------------------------------------------ tests */

static void test_happy(void)
{
	const struct plan_cryptex *os, *app;

	setup();
	T_OK(run());
	T_EQ(open_handles, 0);
	T_STREQ(p.kc.seal.m.name, "boot");
	T_EQ(p.kc_mods.n, 2);
	T_STREQ(p.kc_mods.info[1].name, "dm_verity");
	T_STREQ(p.sys.seal.m.name, "system");
	T_EQ(p.n_cx, 2);
	os = cx("os");
	app = cx("app");
	T_CHECK(os && app, "both planned");
	if (!os || !app)
		return;
	T_EQ(os->rank, 0);
	T_EQ(app->rank, 1);
	T_STREQ(p.cx[0].name, "os"); /* in precedence order */
	T_STREQ(os->mnt, PLAN_CRYPTEX_MNT "/os");
	T_STREQ(os->dm_name, "sealinit-cx-os");
	T_EQ(p.n_ov, 2);
	T_STREQ(p.ov[0].target, "/usr");      /* parents first */
	T_STREQ(p.ov[1].target, "/opt/app");
	T_EQ(p.has_data, 1);
	T_STREQ(p.init, "/sbin/init");
	T_LINE("sealinit: kc: verified kc-boot 'boot' 13.3.1 (rollback 1) sha256,set:platform root ");
	T_LINE("sealinit: system: verified system 'system' 13.3.1");
	T_LINE("sealinit: cryptex: verified cryptex 'app' 13.3.1 (rollback 1) sha256,set:cx root");
	T_CHECK(!line_with("[SI_E_"), "no error line: %s", line_with("[SI_E_") ? line_with("[SI_E_") : "");
	{
		const char *json = status_json();

		T_CHECK(strstr(json, "\"name\": \"app\", \"kind\": \"cryptex\"") != NULL, "status lists app");
		T_CHECK(strstr(json, "\"mounted_on\": \"/opt/app\"") != NULL, "app on /opt/app");
		T_CHECK(strstr(json, "\"skipped\": [\n  ]") != NULL, "nothing skipped: %s", json);
	}
}

static void test_kc(void)
{
	setup();
	drop_file("kc/boot.kc");
	T_ERR(run(), SI_E_REQUIRED_MISSING);
	T_STREQ(p.stage, "kc");
	T_LINE("sealinit: kc: boot kernel collection: a required image is missing (in slots/a/kc/boot.kc: errno 2");

	setup();
	world_file("kc/boot.kc")->type = PLAN_FT_FIFO;
	T_ERR(run(), SI_E_FILE_TYPE);
	T_LINE("expected a regular file, found FIFO) [SI_E_FILE_TYPE]");

	setup();
	world_file("kc/boot.kc")->type = PLAN_FT_LNK;
	T_ERR(run(), SI_E_PATH_SYMLINK);

	setup();
	{
		struct plan_inputs in = { .board = &board, .set = &set, .anchor = &anchor,
					  .kernel_release = RELEASE, .kc_buf = kc_buf, .kc_cap = 100 };
		T_ERR(plan_boot(&in, &ops, &p), SI_E_TOO_BIG);
		T_LINE("(field size in slots/a/kc/boot.kc: expected 100, found ");
	}

	/* a cryptex-only key may not sign the boot KC */
	setup();
	drop_file("kc/boot.kc");
	put_kc(RELEASE, RELEASE, "", SI_FS_RAW, &key_cx);
	T_ERR(run(), SI_E_SEAL_USAGE);
	T_LINE("sealinit: kc: kc-boot 'slots/a/kc/boot.kc': the signing key may not sign this kind of image");

	setup();
	drop_file("kc/boot.kc");
	put_kc(RELEASE, RELEASE, "", SI_FS_EROFS, &key_platform);
	T_ERR(run(), SI_E_IMAGE_KIND);
	T_LINE("kc-boot 'boot': image has the wrong file-system type for its place (field manifest.fs_type: expected raw, found erofs)");

	setup();
	drop_file("kc/boot.kc");
	put_kc("6.1.0-other", "6.1.0-other", "", SI_FS_RAW, &key_platform);
	T_ERR(run(), SI_E_KC_RELEASE);
	T_LINE("(field kernel release: expected " RELEASE ", found 6.1.0-other)");

	/* a module built for another kernel in a collection for this one */
	setup();
	drop_file("kc/boot.kc");
	put_kc(RELEASE, "6.1.0-other", "", SI_FS_RAW, &key_platform);
	T_ERR(run(), SI_E_KC_RELEASE);
	T_LINE("sealinit: kc: module 'dm_mod' of kc-boot 'boot': kernel collection is for another kernel release (field vermagic in dm_mod");

	/* a dependency nowhere: refused before anything loads; one the
	 * kernel has already is fine */
	setup();
	drop_file("kc/boot.kc");
	put_kc(RELEASE, RELEASE, "reed_solomon", SI_FS_RAW, &key_platform);
	T_ERR(run(), SI_E_MODULE_DEP);
	T_LINE("sealinit: kc: module 'dm_verity' of kc-boot 'boot': a module needs a module that is neither in its set nor loaded (field depends in dm_verity: expected each one in the set or loaded, found reed_solomon) [SI_E_MODULE_DEP]");
	loaded[0] = "reed-solomon";
	T_OK(run());

	/* one flipped data byte: the whole tree is recomputed */
	setup();
	world_file("kc/boot.kc")->data[200] ^= 1;
	T_ERR(run(), SI_E_SEAL_ROOT_MISMATCH);
}

static void test_system(void)
{
	setup();
	free(parts[0].data);
	n_parts = 0;
	T_ERR(run(), SI_E_PART_NOTFOUND);
	T_STREQ(p.stage, "system");
	T_LINE("sealinit: system: system: no partition with that label");
	T_LINE("sealinit: hint: block devices: vda1 \"preboot\"");

	setup();
	free(parts[0].data);
	n_parts = 0;
	put_system("other", SI_FS_EROFS, &key_platform);
	T_ERR(run(), SI_E_SYSTEM_NAME);
	T_LINE("sealinit: system: system volume 'system': the system volume's signed name is not the configured one (field manifest.name: expected system, found other) [SI_E_SYSTEM_NAME]");

	setup();
	free(parts[0].data);
	n_parts = 0;
	put_system("system", SI_FS_RAW, &key_platform);
	T_ERR(run(), SI_E_IMAGE_KIND);

	setup();
	free(parts[0].data);
	n_parts = 0;
	put_system("system", SI_FS_EROFS, &key_cx);
	T_ERR(run(), SI_E_SEAL_USAGE);

	/* a key the anchor does not hold: the hint names both sides */
	setup();
	anchor.n_keys = 1; /* only platform */
	free(parts[0].data);
	n_parts = 0;
	put_system("system", SI_FS_EROFS, &key_rsa);
	T_ERR(run(), SI_E_SEAL_KEY_UNKNOWN);
	T_LINE("sealinit: hint: the image is signed by key ");
	T_LINE("; the anchor holds platform (");
}

static void test_cryptex_required(void)
{
	setup();
	drop_file("cryptexes/os.cryptex");
	T_ERR(run(), SI_E_REQUIRED_MISSING);
	T_STREQ(p.stage, "cryptex");
	T_LINE("sealinit: cryptex: required cryptex 'os': a required image is missing (in slots/a/cryptexes/os.cryptex) [SI_E_REQUIRED_MISSING]");

	/* a required cryptex that fails any check fails the boot */
	setup();
	world_file("cryptexes/os.cryptex")->type = PLAN_FT_FIFO;
	T_ERR(run(), SI_E_FILE_TYPE);
	T_LINE("sealinit: cryptex: cryptex 'os': not a regular file");

	/* the whole root: never, whoever signed it */
	setup();
	drop_file("cryptexes/os.cryptex");
	put_sealed("cryptexes/os.cryptex", SI_KIND_CRYPTEX, "os", SI_FS_EROFS, "/", &key_platform);
	T_ERR(run(), SI_E_OVERLAY_DENIED); /* platform's targets are /usr and /opt */
	anchor.keys[0].n_targets = 1;
	strcpy(anchor.keys[0].targets, "/");
	T_ERR(run(), SI_E_OVERLAY_FORBIDDEN);
	T_LINE("(field manifest.overlay: expected / (the whole root), found /) [SI_E_OVERLAY_FORBIDDEN]");

	/* precedence is the required list's order, whatever the names */
	setup();
	snprintf(board.required, sizeof board.required, "os base");
	put_sealed("cryptexes/base.cryptex", SI_KIND_CRYPTEX, "base", SI_FS_EROFS, "/usr", &key_platform);
	T_OK(run());
	T_STREQ(p.cx[0].name, "os");
	T_STREQ(p.cx[1].name, "base");
	T_STREQ(p.cx[2].name, "app");
	T_STREQ(p.ov[0].target, "/usr");
	T_EQ(p.ov[0].n, 2);
	T_STREQ(p.cx[p.ov[0].layer[0]].name, "os"); /* topmost */
	T_STREQ(p.cx[p.ov[0].layer[1]].name, "base");
}

static void test_cryptex_optional(void)
{
	/* each refusal skips the optional app, and the boot goes on */
	setup();
	world_file("cryptexes/app.cryptex")->type = PLAN_FT_FIFO;
	expect_app_skipped(SI_E_FILE_TYPE, "cryptex 'app': not a regular file (in slots/a/cryptexes/app.cryptex: expected a regular file, found FIFO)");

	setup();
	world_file("cryptexes/app.cryptex")->type = PLAN_FT_LNK;
	expect_app_skipped(SI_E_PATH_SYMLINK, "cryptex 'app': a path goes through a symbolic link");

	setup();
	app_with("/opt/app", &key_rsa); /* integrator: kc-aux only */
	expect_app_skipped(SI_E_SEAL_USAGE, "cryptex 'app': the signing key may not sign this kind of image");

	setup();
	app_with(NULL, &key_cx);
	expect_app_skipped(SI_E_MANIFEST_MISSING, "(field manifest.overlay) [SI_E_MANIFEST_MISSING]");

	/* signed for another target than its key allows */
	setup();
	app_with("/etc", &key_cx);
	expect_app_skipped(SI_E_OVERLAY_DENIED, "(field manifest.overlay (anchor key overlay-targets) in cx: expected /opt/app, found /etc) [SI_E_OVERLAY_DENIED]");
	setup();
	app_with("/optimal", &key_platform); /* /opt allows /opt/..., not /optimal */
	expect_app_skipped(SI_E_OVERLAY_DENIED, "expected /usr|/opt, found /optimal");
	setup();
	anchor.keys[1].n_targets = 0;
	expect_app_skipped(SI_E_OVERLAY_DENIED, "expected none (the key overlays nothing), found /opt/app");

	/* the board pins a name's targets on top of the key's */
	setup();
	snprintf(board.cryptex_targets, sizeof board.cryptex_targets, "os=/usr app=/opt/app/sub");
	expect_app_skipped(SI_E_OVERLAY_DENIED, "(field manifest.overlay (CONFIG_CRYPTEX_TARGETS): expected /opt/app/sub, found /opt/app)");
	setup();
	snprintf(board.cryptex_targets, sizeof board.cryptex_targets, "app=/opt");
	T_OK(run());
	T_EQ(cx("app")->img.state, PLAN_IMG_USE);

	/* targets nobody may cover, with a key that allows everything */
	{
		static const char *const bad[][2] = {
			{ "/", "/ (the whole root)" },
			{ "/sbin", "a directory holding the real init" },
			{ "/data", "the data volume mount point" },
			{ "/data/x", "the data volume mount point" },
			{ "/proc", "an API file system" },
			{ "/run/x", "an API file system" },
		};
		size_t i;

		for (i = 0; i < SI_ARRAY_SIZE(bad); i++) {
			setup();
			strcpy(anchor.keys[1].targets, "/");
			anchor.keys[1].n_targets = 1;
			app_with(bad[i][0], &key_cx);
			expect_app_skipped(SI_E_OVERLAY_FORBIDDEN, bad[i][1]);
		}
		/* /data as the data mount is only forbidden when there is one */
		setup();
		strcpy(anchor.keys[1].targets, "/");
		anchor.keys[1].n_targets = 1;
		snprintf(set.data_label, sizeof set.data_label, "none");
		app_with("/data/x", &key_cx);
		T_OK(run());
		T_EQ(cx("app")->img.state, PLAN_IMG_USE);
		/* init= moves what is forbidden with it */
		setup();
		strcpy(anchor.keys[1].targets, "/");
		anchor.keys[1].n_targets = 1;
		snprintf(set.init, sizeof set.init, "/opt/app/bin/init");
		expect_app_skipped(SI_E_OVERLAY_FORBIDDEN, "a directory holding the real init");
	}

	/* an optional cryptex never hides a required one's files */
	setup();
	app_with("/usr/lib", &key_platform);
	expect_app_skipped(SI_E_OVERLAY_SHADOW, "(field manifest.overlay in os: expected a target outside every required cryptex target, found /usr/lib) [SI_E_OVERLAY_SHADOW]");
	/* ... on the same target it lies below the required one */
	setup();
	app_with("/usr", &key_platform);
	T_OK(run());
	T_EQ(p.n_ov, 1);
	T_EQ(p.ov[0].n, 2);
	T_STREQ(p.cx[p.ov[0].layer[0]].name, "os");
	T_STREQ(p.cx[p.ov[0].layer[1]].name, "app");
	/* ... and an alphabetically earlier optional one stays below too */
	setup();
	put_sealed("cryptexes/aaa.cryptex", SI_KIND_CRYPTEX, "aaa", SI_FS_EROFS, "/usr", &key_platform);
	T_OK(run());
	T_STREQ(p.cx[p.ov[0].layer[0]].name, "os");
	T_STREQ(p.cx[p.ov[0].layer[1]].name, "aaa");

	/* the file name chooses nothing: a cryptex copied under another name */
	setup();
	{
		struct file *f = world_file("cryptexes/app.cryptex");

		snprintf(f->path, sizeof f->path, SLOT "/cryptexes/tools.cryptex");
	}
	T_OK(run());
	T_EQ(cx("tools")->img.state, PLAN_IMG_SKIP);
	T_ERR(cx("tools")->img.err, SI_E_CRYPTEX_NAME);
	T_LINE("cryptex 'tools': cryptex file name and signed name differ (field manifest.name: expected tools, found app)");
}

/* The release set: one signature per boot, then digests; no mix and
 * match, no image outside the set, the system volume it names, floors. */
static void test_set(void)
{
	uint8_t *other;
	size_t len;
	struct file *f;

	setup();
	T_OK(run());
	T_EQ(p.has_set, 1);
	T_STREQ(p.set.name, "13.3.1t");
	T_LINE("sealinit: set: verified release '13.3.1t' 13.3.1 (t) (rollback 1, 3 images, system root ");
	T_LINE(") sha256,ecdsa-p256:platform in slots/a OK");
	T_STREQ(p.kc.file, SLOT "/kc/boot.kc");

	/* no set: refused, unless the build allows it (and says so) */
	setup();
	drop_file(PLAN_SET_FILE);
	T_ERR(run(), SI_E_SET_MISSING);
	T_STREQ(p.stage, "set");
	T_LINE("sealinit: set: release set 'slots/a/release.set': no release set on the preboot volume (in slots/a/release.set) [SI_E_SET_MISSING]");
	board.insecure_no_set = 1;
	T_OK(run());
	T_EQ(p.has_set, 0);
	T_LINE("sealinit: set: no release set in slots/a (CONFIG_INSECURE_NO_SET)");
	/* the slot is the one the state names */
	setup();
	run_slot = "slots/b";
	T_ERR(run(), SI_E_SET_MISSING);
	T_LINE("(in slots/b/release.set)");

	/* signed by a key without the `update` usage */
	setup();
	anchor.keys[0].usages &= ~(uint32_t)SI_USAGE_UPDATE;
	T_ERR(run(), SI_E_SEAL_USAGE);
	T_STREQ(p.stage, "set");
	/* one byte of the set changed: its signature */
	setup();
	world_file(PLAN_SET_FILE)->data[40] ^= 1;
	T_CHECK(run() != 0, "a changed set is refused");
	T_STREQ(p.stage, "set");
	/* a set is read whole into a bounded buffer */
	setup();
	f = world_file(PLAN_SET_FILE);
	f->data = realloc(f->data, SI_MANIFEST_MAX + 1);
	f->len = SI_MANIFEST_MAX + 1;
	T_ERR(run(), SI_E_TOO_BIG);

	/* mix and match: a validly signed os of another release */
	setup();
	{
		uint8_t data[5000];

		memset(data, 0x33, sizeof data);
		other = seal_img(SI_KIND_CRYPTEX, "os", SI_FS_EROFS, "/usr", &key_platform, data,
				 sizeof data, &len);
	}
	drop_file("cryptexes/os.cryptex");
	put_file("cryptexes/os.cryptex", PLAN_FT_REG, other, len);
	T_ERR(run(), SI_E_SET_DIGEST);
	T_LINE("sealinit: cryptex: cryptex 'os': image differs from the one the release set names");
	free(other);
	/* ... an optional one is skipped */
	setup();
	auto_set = 0;
	app_with("/opt/app/v2", &key_cx);
	T_OK(run());
	T_EQ(cx("app")->img.state, PLAN_IMG_SKIP);
	T_ERR(cx("app")->img.err, SI_E_SET_DIGEST);
	/* an image outside the set: skipped (optional) with its reason */
	setup();
	auto_set = 0;
	put_sealed("cryptexes/extra.cryptex", SI_KIND_CRYPTEX, "extra", SI_FS_EROFS, "/opt/extra", &key_platform);
	T_OK(run());
	T_EQ(cx("extra")->img.state, PLAN_IMG_SKIP);
	T_ERR(cx("extra")->img.err, SI_E_SET_MEMBER);
	T_LINE("image is not in the active release set (field release set in extra: expected an image the set lists, found 13.3.1t) [SI_E_SET_MEMBER]");
	/* a KC of another release */
	setup();
	auto_set = 0;
	drop_file("kc/boot.kc");
	put_kc(RELEASE, RELEASE, "crc32c", SI_FS_RAW, &key_platform);
	T_ERR(run(), SI_E_SET_DIGEST);
	T_STREQ(p.stage, "kc");
	/* a system volume of another release */
	setup();
	auto_set = 0;
	free(parts[0].data);
	n_parts = 0;
	{
		uint8_t data[8192];

		memset(data, 0x5b, sizeof data);
		parts[0].data = seal_img(SI_KIND_SYSTEM, "system", SI_FS_EROFS, NULL, &key_platform,
					 data, sizeof data, &parts[0].len);
		snprintf(parts[0].path, sizeof parts[0].path, "system");
		n_parts = 1;
	}
	T_ERR(run(), SI_E_SET_SYSTEM);
	T_STREQ(p.stage, "system");
	T_LINE("system volume is not the one the release set names (field manifest digest (release set) in system: expected ");

	/* floors: the set's own ("@set") and each image's name */
	setup();
	T_OK(up_floor_raise(&floors, UP_FLOOR_SET, 2));
	T_ERR(run(), SI_E_SEAL_ROLLBACK);
	T_STREQ(p.stage, "set");
	T_LINE("expected 2, found 1");
	setup();
	T_OK(up_floor_raise(&floors, "os", 4));
	T_ERR(run(), SI_E_SEAL_ROLLBACK);
	T_LINE("sealinit: cryptex: cryptex 'os': rollback index below the floor (field manifest.rollback_index (recorded floor) in os: expected 4, found 1) [SI_E_SEAL_ROLLBACK]");
	T_LINE("expected 4, found 1");
	setup();
	T_OK(up_floor_raise(&floors, "app", 4));
	T_OK(run());
	T_ERR(cx("app")->img.err, SI_E_SEAL_ROLLBACK);
	/* ... also without a set */
	setup();
	board.insecure_no_set = 1;
	drop_file(PLAN_SET_FILE);
	T_OK(up_floor_raise(&floors, "boot", 3));
	T_ERR(run(), SI_E_SEAL_ROLLBACK);
	T_STREQ(p.stage, "kc");
	T_LINE("expected 3, found 1");
}

/* The system kernel collection: the set's kc-system entry at kc/<name>.kc,
 * for the running kernel, erofs, mounted on /lib/modules; the aux tier
 * absent unless there is a file. */
static void put_kc_system(const char *version, enum si_fstype fs)
{
	seal_version = version;
	put_sealed("kc/system.kc", SI_KIND_KC_SYSTEM, "system", fs, NULL, &key_platform);
	seal_version = "13.3.1";
}

static void test_kc_tiers(void)
{
	setup();
	T_OK(run());
	T_EQ(p.ksys.state, 0);
	T_EQ(p.aux.state, 0);

	setup();
	put_kc_system(RELEASE, SI_FS_EROFS);
	T_OK(run());
	T_EQ(p.ksys.state, PLAN_IMG_USE);
	T_STREQ(p.ksys.file, SLOT "/kc/system.kc");
	T_STREQ(p.ksys_mnt, PLAN_KSYS_MNT);
	T_LINE("sealinit: kc: verified kc-system 'system' " RELEASE " (rollback 1) sha256,set:platform root ");

	/* another kernel's modules: one line before anything mounts */
	setup();
	put_kc_system("6.1.0-other-arm64", SI_FS_EROFS);
	T_ERR(run(), SI_E_KC_RELEASE);
	T_LINE("sealinit: kc: kc-system 'system': kernel collection is for another kernel release");
	T_LINE("expected " RELEASE ", found 6.1.0-other-arm64");

	/* not an erofs tree */
	setup();
	put_kc_system(RELEASE, SI_FS_EXT4);
	T_ERR(run(), SI_E_IMAGE_KIND);
	T_LINE("(field manifest.fs_type: expected erofs, found ext4)");

	/* listed by the set, gone from the slot */
	setup();
	put_kc_system(RELEASE, SI_FS_EROFS);
	drop_file("kc/system.kc");
	T_ERR(run(), SI_E_REQUIRED_MISSING);
	T_LINE("sealinit: kc: kc-system 'system': a required image is missing");

	/* in the slot but not in the set: never opened */
	setup();
	auto_set = 0;
	put_kc_system(RELEASE, SI_FS_EROFS);
	T_OK(run());
	T_EQ(p.ksys.state, 0);
}

/* The aux tier (CONFIG_KC_AUX_PATH, outside the slot and the set): erofs
 * for the running release, made with exactly the system tier the set
 * lists (manifest.kc_system), signed by a key with kc-aux; anything else
 * is skipped with its line, and the boot goes on. */
static void put_aux(const char *version, enum si_fstype fs, const uint8_t *sys,
		    const struct si_privkey *key)
{
	uint8_t digest[32];
	int a = auto_set;

	if (!sys) {
		struct file *f = world_file("kc/system.kc");
		struct si_seal_unverified u;
		struct si_mem_io m;
		struct si_io io;

		T_CHECK(f != NULL, "no kc/system.kc to make the aux tier with");
		if (!f)
			return;
		si_io_mem(&io, &m, f->data, f->len);
		T_OK(si_seal_open_unverified(&io, &u, NULL));
		memcpy(digest, u.m.digest, 32);
		sys = digest;
	}
	seal_version = version;
	seal_kc_system = sys;
	auto_set = 0; /* not the set's: the vendor's release is left as it is */
	put_sealed("/kc-aux/aux.kc", SI_KIND_KC_AUX, "aux", fs, NULL, key);
	auto_set = a;
	seal_kc_system = NULL;
	seal_version = "13.3.1";
}

/* A boot collection whose entry 0 is the boot loader's image (the FIT
 * the firmware verified): its whole blocks are not hashed again; every
 * other byte is -- the header, the table, the padding after the image in
 * its last block, the modules -- and doctor --full hashes them all. */
static void test_kc_boot_image(void)
{
	struct file *f;
	size_t fit_off = KC_COLL_HDR + 3 * KC_COLL_ENTRY; /* right after the table */

	setup();
	drop_file("kc/boot.kc");
	kc_fit_len = 5 * 4096 + 100;
	put_kc(RELEASE, RELEASE, "", SI_FS_RAW, &key_platform);
	kc_fit_len = 0;
	T_OK(run());
	T_EQ(p.coll.count, 3);
	T_EQ(p.coll.mods[0].boot_image, 1);
	T_EQ(p.kc_mods.n, 2);
	f = world_file("kc/boot.kc");
	/* a byte in a block wholly inside the image: the firmware's to check */
	f->data[2 * 4096 + 17] ^= 1;
	T_OK(run());
	full_trees = 1;
	T_ERR(run(), SI_E_SEAL_DATA_CORRUPT);
	T_LINE("field data at offset 8192");
	full_trees = 0;
	f->data[2 * 4096 + 17] ^= 1;
	/* the image's first block (shared with the table) and its last (shared
	 * with the padding and dm_mod) are hashed */
	f->data[fit_off + 10] ^= 1;
	T_ERR(run(), SI_E_SEAL_DATA_CORRUPT);
	T_LINE("field data at offset 0:");
	f->data[fit_off + 10] ^= 1;
	f->data[fit_off + 5 * 4096 + 99] ^= 1;
	T_ERR(run(), SI_E_SEAL_DATA_CORRUPT);
	f->data[fit_off + 5 * 4096 + 99] ^= 1;
	/* a module byte, and the table's entry for the image */
	f->data[fit_off + 5 * 4096 + 100 + 200] ^= 1;
	T_ERR(run(), SI_E_SEAL_DATA_CORRUPT);
	f->data[fit_off + 5 * 4096 + 100 + 200] ^= 1;
	f->data[KC_COLL_HDR + 64] ^= 1; /* entry 0's size */
	T_ERR(run(), SI_E_SEAL_DATA_CORRUPT);
	f->data[KC_COLL_HDR + 64] ^= 1;
	/* the stored tree is checked whole */
	f->data[p.kc.seal.m.hash_offset + 40] ^= 1;
	T_CHECK(run() != 0, "a flipped byte in the hash tree");
	f->data[p.kc.seal.m.hash_offset + 40] ^= 1;
	T_OK(run());

	/* without a boot image nothing is skipped */
	setup();
	f = world_file("kc/boot.kc");
	f->data[KC_COLL_HDR + 2 * KC_COLL_ENTRY + 300] ^= 1;
	{
		int r = run();

		/* (one data block: no tree, the block hashes to the root) */
		T_CHECK(r == (p.kc.seal.m.data_blocks > 1 ? SI_E_SEAL_DATA_CORRUPT : SI_E_SEAL_ROOT_MISMATCH),
			"a module byte: %s", si_err_name(r));
	}
}

static void test_kc_aux(void)
{
	static const uint8_t other[32] = { 0xab, 0xcd };

	/* made with the set's system tier: kept, mounted over it */
	setup();
	put_kc_system(RELEASE, SI_FS_EROFS);
	put_aux(RELEASE, SI_FS_EROFS, NULL, &key_rsa);
	T_OK(run());
	T_EQ(p.aux.state, PLAN_IMG_USE);
	T_STREQ(p.aux_mnt, PLAN_KAUX_MNT);
	{
		const char *json = status_json();

		T_CHECK(strstr(json, "\"name\": \"system\", \"kind\": \"kc-system\"") != NULL, "%s", json);
		T_CHECK(strstr(json, "\"name\": \"aux\", \"kind\": \"kc-aux\"") != NULL, "%s", json);
	}
	T_LINE("sealinit: kc: verified kc-aux 'aux' " RELEASE " (rollback 1) sha256,rsa");

	/* made with another system tier: its index would be wrong */
	setup();
	put_kc_system(RELEASE, SI_FS_EROFS);
	put_aux(RELEASE, SI_FS_EROFS, other, &key_rsa);
	T_OK(run());
	T_EQ(p.aux.state, PLAN_IMG_SKIP);
	T_ERR(p.aux.err, SI_E_KC_AUX_SYSTEM);
	T_EQ(p.aux.h, -1);
	T_LINE("sealinit: kc: kc-aux 'aux': the aux kernel collection was made with another system tier "
	       "(field manifest.kc_system (the system tier's digest): expected ");
	T_LINE(", found abcd000000000000) [SI_E_KC_AUX_SYSTEM]");
	T_LINE("sealinit: kc: skipping the aux kernel collection kc-aux/aux.kc; the boot goes on without its modules");
	{
		const char *json = status_json();

		T_CHECK(strstr(json, "{\"name\": \"kc-aux/aux.kc\", \"reason\": \"the aux kernel collection was made with another system tier") != NULL,
			"%s", json);
	}

	/* a set without a system tier: nothing to stand over */
	setup();
	put_aux(RELEASE, SI_FS_EROFS, other, &key_rsa);
	T_OK(run());
	T_ERR(p.aux.err, SI_E_KC_AUX_SYSTEM);
	T_LINE("(field manifest.kc_system: expected a kc-system tier in the set, found a set without one)");

	/* for another kernel */
	setup();
	put_kc_system(RELEASE, SI_FS_EROFS);
	put_aux("6.1.0-other-arm64", SI_FS_EROFS, NULL, &key_rsa);
	T_OK(run());
	T_ERR(p.aux.err, SI_E_KC_RELEASE);
	T_LINE("expected " RELEASE ", found 6.1.0-other-arm64");

	/* not an erofs tree (the old raw archive among them) */
	setup();
	put_kc_system(RELEASE, SI_FS_EROFS);
	put_aux(RELEASE, SI_FS_RAW, NULL, &key_rsa);
	T_OK(run());
	T_ERR(p.aux.err, SI_E_IMAGE_KIND);
	T_LINE("(field manifest.fs_type: expected erofs, found raw)");

	/* signed by the platform key, whose usages lack kc-aux */
	setup();
	put_kc_system(RELEASE, SI_FS_EROFS);
	put_aux(RELEASE, SI_FS_EROFS, NULL, &key_platform);
	T_OK(run());
	T_ERR(p.aux.err, SI_E_SEAL_USAGE);
	T_EQ(p.aux.h, -1);

	/* below its recorded floor */
	setup();
	put_kc_system(RELEASE, SI_FS_EROFS);
	put_aux(RELEASE, SI_FS_EROFS, NULL, &key_rsa);
	T_OK(up_floor_raise(&floors, "aux", 2));
	T_OK(run());
	T_ERR(p.aux.err, SI_E_SEAL_ROLLBACK);

	/* one flipped byte in its manifest: refused, not trusted */
	setup();
	put_kc_system(RELEASE, SI_FS_EROFS);
	put_aux(RELEASE, SI_FS_EROFS, NULL, &key_rsa);
	{
		struct file *f = world_file("/kc-aux/aux.kc");

		f->data[f->len - 64 - 100] ^= 1;
	}
	T_OK(run());
	T_EQ(p.aux.state, PLAN_IMG_SKIP);
}

static void test_cryptex_dir(void)
{
	unsigned i;
	uint8_t junk[4] = { 1, 2, 3, 4 };

	/* names that are not cryptex names are ignored, escaped on the way */
	setup();
	put_file("cryptexes/bad\nsealinit: forged OK\x1b[2J.cryptex", PLAN_FT_REG, junk, 4);
	put_file("cryptexes/README", PLAN_FT_REG, junk, 4);
	put_file("cryptexes/.hidden.cryptex", PLAN_FT_REG, junk, 4);
	T_OK(run());
	T_EQ(p.n_cx, 2);
	T_LINE("sealinit: cryptex: 'bad\\x0asealinit: forged OK\\x1b[2J.cryptex' ignored: not a cryptex file name [SI_E_CRYPTEX_FILE]");
	for (i = 0; i < n_lines; i++)
		T_CHECK(!strchr(lines[i], '\n') && !strchr(lines[i], '\x1b'), "raw control byte in: %s", lines[i]);

	/* more cryptexes than the build takes: refused, never cut */
	setup();
	board.max_cryptexes = 2;
	put_file("cryptexes/extra.cryptex", PLAN_FT_REG, junk, 4);
	T_ERR(run(), SI_E_TOO_BIG);
	T_LINE("(field cryptexes (CONFIG_MAX_CRYPTEXES) in ");

	/* no cryptex directory at all: only the required check speaks */
	setup();
	drop_file("cryptexes/os.cryptex");
	drop_file("cryptexes/app.cryptex");
	T_ERR(run(), SI_E_REQUIRED_MISSING);
	board.required[0] = '\0';
	T_OK(run());
	T_EQ(p.n_cx, 0);
}

static void test_init_path(void)
{
	setup();
	snprintf(set.init, sizeof set.init, "sbin/init");
	T_ERR(run(), SI_E_INIT_PATH);
	T_STREQ(p.stage, "handoff");
	setup();
	snprintf(set.init, sizeof set.init, "/data/evil");
	T_ERR(run(), SI_E_INIT_PLACE);
	T_LINE("sealinit: handoff: real init: the real init is not a file of the system volume (field init: expected a path outside the data volume, found /data/evil)");
	setup();
	snprintf(set.init, sizeof set.init, "/sbin/../data/evil");
	T_ERR(run(), SI_E_INIT_PATH);

	/* at the handoff: where it resolved to */
	setup();
	T_OK(run());
	n_lines = 0;
	T_OK(plan_init_check(&p, "/bin/busybox", 1, PLAN_INIT_ON_SYSTEM, NULL, &ops));
	T_ERR(plan_init_check(&p, "/bin/busybox", 0, PLAN_INIT_ON_SYSTEM, NULL, &ops), SI_E_INIT_MISSING);
	T_ERR(plan_init_check(&p, "/bin/busybox", 1, PLAN_INIT_ON_OTHER, NULL, &ops), SI_E_INIT_PLACE);
	/* a symlink that leads into a cryptex's tree or the data volume */
	T_ERR(plan_init_check(&p, "/usr/sbin/init", 1, PLAN_INIT_ON_SYSTEM, NULL, &ops), SI_E_INIT_PLACE);
	T_ERR(plan_init_check(&p, "/data/init", 1, PLAN_INIT_ON_SYSTEM, NULL, &ops), SI_E_INIT_PLACE);
	T_LINE("(field init in /sbin/init: expected a file of the system volume, found /data/init) [SI_E_INIT_PLACE]");
	T_ERR(plan_init_check(&p, NULL, 0, PLAN_INIT_ON_OTHER, NULL, &ops), SI_E_INIT_MISSING);
}

static void test_execution_failures(void)
{
	struct si_diag d;

	/* a mount of optional app fails: dropped from its overlay */
	setup();
	T_OK(run());
	si_diag_clear(&d);
	T_OK(plan_cryptex_fail(&p, 1, SI_E_DM, &d, &ops));
	T_EQ(cx("app")->img.state, PLAN_IMG_SKIP);
	T_EQ(p.ov[1].dropped, 1);
	T_ERR(plan_cryptex_fail(&p, 0, SI_E_DM, &d, &ops), SI_E_DM); /* os: required */

	/* an overlay whose target resolves through a link */
	setup();
	T_OK(run());
	T_OK(plan_overlay_fail(&p, 1, SI_E_PATH_SYMLINK, &d, &ops));
	T_EQ(p.ov[1].dropped, 1);
	T_LINE("sealinit: cryptex: skipping optional cryptex 'app'");
	T_ERR(plan_overlay_fail(&p, 0, SI_E_OVERLAY_TARGET, &d, &ops), SI_E_OVERLAY_TARGET);

	/* a failed mount with both kinds: the optional layer goes, the rest is tried again */
	setup();
	app_with("/usr", &key_platform);
	T_OK(run());
	T_OK(plan_overlay_fail(&p, 0, SI_E_MOUNT, &d, &ops));
	T_EQ(p.ov[0].n, 1);
	T_EQ(p.ov[0].dropped, 0);
	T_STREQ(p.cx[p.ov[0].layer[0]].name, "os");
	T_ERR(plan_overlay_fail(&p, 0, SI_E_MOUNT, &d, &ops), SI_E_MOUNT);
}

static void test_settings(void)
{
	struct si_cmdline c;
	static const char cl[] = "init=/bin/sh sealinit.system=other sealinit.failure=rescue sealinit.test=poweroff";

	plan_board_kconfig(&board);
	board.cmdline_allow = 0;
	board.test_hooks = 0;
	T_OK(si_cmdline_parse(cl, sizeof cl - 1, &c));
	n_lines = 0;
	plan_settings(&board, &c, &ops, &set);
	T_STREQ(set.init, board.real_init);
	T_STREQ(set.system_label, board.system_label);
	T_EQ(set.failure, board.failure);
	T_EQ(set.test, SI_TEST_NONE);
	T_LINE("sealinit: cmdline: 'init=/bin/sh' ignored: this build does not let the command line choose the real init (CONFIG_CMDLINE_INIT is off)");
	T_LINE("sealinit: cmdline: 'sealinit.system=other' ignored: this build does not let the command line choose partitions (CONFIG_CMDLINE_LABELS is off)");
	T_LINE("'sealinit.failure=rescue' ignored");
	T_LINE("sealinit.test= ignored: this build has no test hooks");

	board.cmdline_allow = PLAN_ALLOW_INIT | PLAN_ALLOW_LABELS | PLAN_ALLOW_FAILURE;
	board.test_hooks = 1;
	n_lines = 0;
	plan_settings(&board, &c, &ops, &set);
	T_STREQ(set.init, "/bin/sh");
	T_STREQ(set.system_label, "other");
	T_EQ(set.failure, SI_FAILURE_RESCUE);
	T_EQ(set.test, SI_TEST_POWEROFF);
	T_EQ(n_lines, 0);
	plan_banner(&board, &ops);
	T_LINE("WARNING: development build: test hooks enabled");
	T_LINE("the command line may choose the real init and the failure action (CONFIG_CMDLINE_INIT, CONFIG_CMDLINE_FAILURE)");
	board.insecure_uboot_all = 1;
	plan_banner(&board, &ops);
	T_LINE("WARNING: INSECURE: U-Boot /signature keys without sealinit,usages may sign every kind of image");
}

static void test_config(void)
{
	struct plan_board b;
	struct si_diag d;
	static const char good[] =
		"# comment\n"
		"CONFIG_BOARD=\"other-board\"\n"
		"CONFIG_SOMETHING_ELSE=y\n"
		"# CONFIG_CMDLINE_INIT is not set\n"
		"CONFIG_CMDLINE_LABELS=y\n"
		"CONFIG_REQUIRED_CRYPTEXES=\"os base\"\n"
		"CONFIG_CRYPTEX_TARGETS=\"os=/usr\"\n"
		"CONFIG_UBOOT_KEY_USAGES=\"kc-aux cryptex\"\n"
		"CONFIG_FAILURE_PANIC=y\n"
		"CONFIG_MAX_CRYPTEXES=3\n";

	plan_board_kconfig(&b);
	b.cmdline_allow = PLAN_ALLOW_INIT;
	T_OK(plan_board_parse_config(good, sizeof good - 1, &b, &d));
	T_STREQ(b.name, "other-board");
	T_EQ(b.cmdline_allow, PLAN_ALLOW_LABELS);
	T_STREQ(b.required, "os base");
	T_EQ(b.uboot_usages, SI_USAGE_KC_AUX | SI_USAGE_CRYPTEX);
	T_EQ(b.failure, SI_FAILURE_PANIC);
	T_EQ(b.max_cryptexes, 3);
	{
		static const struct {
			const char *text;
			int err;
		} bad[] = {
			{ "CONFIG_BOARD=unquoted\n", SI_E_CONFIG },
			{ "CONFIG_BOARD=\"a\"b\"\n", SI_E_CONFIG },
			{ "CONFIG_CMDLINE_INIT=m\n", SI_E_CONFIG },
			{ "CONFIG_UBOOT_KEY_USAGES=\"everything\"\n", SI_E_CONFIG },
			{ "CONFIG_MAX_CRYPTEXES=0x\n", SI_E_CONFIG },
			{ "BOARD=\"x\"\n", SI_E_CONFIG },
			{ "CONFIG_SYSTEM_NAME=\"01234567890123456789012345678901234567890123456789012345678901234567890\"\n", SI_E_TOO_BIG },
		};
		size_t i;

		for (i = 0; i < SI_ARRAY_SIZE(bad); i++) {
			struct plan_board before = b;

			si_diag_clear(&d);
			T_ERR(plan_board_parse_config(bad[i].text, strlen(bad[i].text), &b, &d), bad[i].err);
			T_MEMEQ(&before, &b, sizeof b); /* untouched on error */
		}
	}
}

int main(void)
{
	t_load_key(VEC "ec-pkcs8.pem", &key_platform);
	t_load_key(VEC "ec-sec1.pem", &key_cx);
	t_load_key(VEC "rsa2048-pkcs1.pem", &key_rsa);
	test_happy();
	test_kc();
	test_system();
	test_cryptex_required();
	test_cryptex_optional();
	test_set();
	test_kc_tiers();
	test_kc_boot_image();
	test_kc_aux();
	test_cryptex_dir();
	test_init_path();
	test_execution_failures();
	test_settings();
	test_config();
	world_reset();
	return t_done("test_plan");
}
