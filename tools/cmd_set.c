/* sealctl set: release sets (verify/set.h).
 *
 *   set create   a slot directory's images (kernel collections and
 *                cryptexes) and the system volume they run on, bound into
 *                one signed release set, written as the slot's release.set
 *   set inspect  what a set says (nothing trusted: no anchor)
 *
 * Every image is read whole and its hash tree recomputed before the set
 * vouches for it: a set never names a damaged image. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/str.h"
#include "tools/json.h"
#include "tools/out.h"
#include "tools/sealcmd.h"
#include "tools/sealctl.h"
#include "tools/signer.h"
#include "verify/set.h"

#define CMD "set"

static int progress; /* --progress: each image's tree check on stderr */

static int has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), k = strlen(suf);

	return n > k && !strcmp(s + n - k, suf);
}

/* One image of the slot into the set's list: sealed, its tree whole, of
 * a kind a set holds, its name not yet listed.  sp NULL: only checked
 * (sealed, its tree whole). */
static int add_image(const char *cmd, const char *path, const char *out,
		     struct si_set_params *sp, int *skipped_aux)
{
	struct sealcmd_image img;
	struct si_seal_unverified u;
	struct si_set_image *e;
	uint8_t digest[32];
	struct si_diag d;
	unsigned i;
	int r;

	/* the set is never written over one of the images it names */
	r = out ? sealctl_out_check(cmd, out, &path, 1) : 0;
	if (r)
		return r;
	r = sealcmd_image_open(cmd, path, &img);
	if (r)
		return r;
	r = sealcmd_seal_id(img.map, img.len, &u, digest);
	si_diag_clear(&d);
	if (r == 0) {
		char label[300];

		snprintf(label, sizeof label, "%s: recomputing the hash tree", path);
		if (progress)
			sealctl_progress(cmd, label, 0, 1);
		r = si_seal_verify_tree(&u.m, img.map, img.len, 0, &d);
		if (progress && r == 0)
			sealctl_progress(cmd, label, 1, 1);
	}
	sealcmd_image_close(&img);
	if (r)
		return sealctl_report(cmd, path, r, &d);
	if (!sp)
		return 0;
	if (u.m.kind == SI_KIND_KC_AUX) {
		/* the integrator's collection stands on its own usage */
		(*skipped_aux)++;
		return 0;
	}
	if (u.m.kind != SI_KIND_KC_BOOT && u.m.kind != SI_KIND_KC_SYSTEM &&
	    u.m.kind != SI_KIND_CRYPTEX) {
		si_diag_clear(&d);
		si_diag_field(&d, "manifest.kind");
		si_diag_text(&d, "kc-boot, kc-system or cryptex", si_seal_kind_name(u.m.kind));
		return sealctl_report(CMD, path, SI_E_SEAL_KIND, &d);
	}
	for (i = 0; i < sp->n; i++)
		if (sp->img[i].kind == u.m.kind && !strcmp(sp->img[i].name, u.m.name)) {
			si_diag_clear(&d);
			si_diag_field(&d, "manifest.name");
			si_diag_text(&d, "each name once in a release", u.m.name);
			return sealctl_report(CMD, path, SI_E_SET_IMAGES, &d);
		}
	if (sp->n == SI_SET_MAX_IMAGES) {
		si_diag_clear(&d);
		si_diag_values(&d, SI_SET_MAX_IMAGES, sp->n + 1);
		return sealctl_report(CMD, path, SI_E_SET_IMAGES, &d);
	}
	e = &sp->img[sp->n++];
	e->kind = u.m.kind;
	snprintf(e->name, sizeof e->name, "%s", u.m.name);
	memcpy(e->digest, digest, 32);
	e->rollback_index = u.m.rollback_index;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every file DIR/sub/NAME<suffix>, in name order (the set lists them so). */
static int add_dir(const char *cmd, const char *slot, const char *sub, const char *suffix,
		   const char *out, struct si_set_params *sp, int *skipped_aux)
{
	char dir[4096], path[4096 + 256], *names[64];
	struct dirent *de;
	unsigned n = 0, i;
	DIR *dp;
	int r = 0;

	snprintf(dir, sizeof dir, "%s/%s", slot, sub);
	dp = opendir(dir);
	if (!dp)
		return errno == ENOENT ? 0 : sealctl_report_errno(cmd, dir, SI_E_OPEN, errno);
	while ((de = readdir(dp)) != NULL) {
		if (!has_suffix(de->d_name, suffix))
			continue;
		if (n == SI_ARRAY_SIZE(names)) {
			closedir(dp);
			for (i = 0; i < n; i++)
				free(names[i]);
			sealctl_msg(cmd, "%s: more than %u images", dir, (unsigned)SI_ARRAY_SIZE(names));
			return SEALCTL_FAIL;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			r = sealctl_report(cmd, dir, SI_E_NOMEM, NULL);
			break;
		}
		n++;
	}
	closedir(dp);
	qsort(names, n, sizeof names[0], cmp_str);
	for (i = 0; i < n; i++) {
		if (r == 0) {
			snprintf(path, sizeof path, "%s/%s", dir, names[i]);
			r = add_image(cmd, path, out, sp, skipped_aux);
		}
		free(names[i]);
	}
	return r;
}

/* A slot's collections (the directory of KC_BOOT_PATH, *.kc) and
 * cryptexes (CRYPTEX_DIR, *.cryptex), each through add_image. */
static int walk_slot(const char *cmd, const char *slot, const char *out,
		     struct si_set_params *sp, int *skipped_aux)
{
	const struct plan_board *b = sealcmd_board();
	const char *slash = strrchr(b->kc_boot_path, '/');
	char kcdir[256];
	int r;

	snprintf(kcdir, sizeof kcdir, "%.*s", slash ? (int)(slash - b->kc_boot_path) : 0,
		 b->kc_boot_path);
	r = add_dir(cmd, slot, slash ? kcdir : ".", ".kc", out, sp, skipped_aux);
	if (r == 0)
		r = add_dir(cmd, slot, b->cryptex_dir, ".cryptex", out, sp, skipped_aux);
	return r;
}

int sealcmd_slot_check(const char *cmd, const char *slot, int show_progress)
{
	int aux = 0;

	progress = show_progress;
	return walk_slot(cmd, slot, NULL, NULL, &aux);
}

static void print_set(const char *cmd, const char *type, const char *file, const struct si_set *s,
		      int json, const char *out)
{
	char root[65], dg[65];
	unsigned i;

	si_hex(root, s->system_root, 32);
	si_hex(dg, s->digest, 32);
	if (json) {
		struct json j;

		json_begin(&j, stdout, cmd, 1);
		if (type)
			json_str(&j, "type", type);
		json_str(&j, "file", out ? out : file);
		json_str(&j, "name", s->name);
		json_str(&j, "version", s->version);
		json_u64(&j, "rollback_index", s->rollback_index);
		json_hex(&j, "system_root_hash", s->system_root, 32);
		json_hex(&j, "system_manifest_digest", s->system_digest, 32);
		json_hex(&j, "digest", s->digest, 32);
		json_keyid(&j, "key_id", s->key_id);
		json_arr_begin(&j, "images");
		for (i = 0; i < s->n; i++) {
			json_obj_begin(&j, NULL);
			json_str(&j, "kind", si_seal_kind_name(s->img[i].kind));
			json_str(&j, "name", s->img[i].name);
			json_hex(&j, "manifest_digest", s->img[i].digest, 32);
			json_u64(&j, "rollback_index", s->img[i].rollback_index);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_end(&j);
		return;
	}
	{
		char id[SEALCTL_KEYID_SHORT + 1];

		sealctl_keyid_short(id, s->key_id);
		printf("%s: release set '%s' %s, rollback index %llu, signed by %s key %s\n",
		       out ? out : file, s->name, s->version, (unsigned long long)s->rollback_index,
		       si_algo_name(s->sig_algo), id);
	}
	printf("  digest       %s\n", dg);
	printf("  system root  %s\n", root);
	si_hex(dg, s->system_digest, 32);
	printf("  system       manifest %.16s...\n", dg);
	si_hex(dg, s->digest, 32);
	for (i = 0; i < s->n; i++) {
		si_hex(dg, s->img[i].digest, 32);
		printf("  %-9s %-16s rollback %-4llu manifest %.16s...\n",
		       si_seal_kind_name(s->img[i].kind), s->img[i].name,
		       (unsigned long long)s->img[i].rollback_index, dg);
	}
}

int sealcmd_set_show(const char *cmd, const char *file, const uint8_t *p, size_t len, int json,
		     const char *type)
{
	struct si_set s;
	struct si_diag d;
	int r;

	si_diag_clear(&d);
	r = si_set_open_unverified(p, len, &s, &d);
	if (r)
		return sealctl_report(cmd, file, r, &d);
	print_set(cmd, type, file, &s, json, NULL);
	return SEALCTL_OK;
}

int sealctl_cmd_set(int argc, char **argv)
{
	const char *pos[2] = { NULL, NULL }, *slot = NULL, *system = NULL, *key = NULL,
		   *helper = NULL, *name = NULL, *version = NULL, *rb = NULL, *out = NULL;
	static uint8_t buf[SI_MANIFEST_MAX];
	char outbuf[4096];
	size_t npos = 0, len = 0;
	int json = 0, r, aux = 0;
	const struct sealcmd_optdef defs[] = {
		{ "--slot", NULL, &slot, NULL },
		{ "--system", NULL, &system, NULL },
		{ "--key", NULL, &key, NULL },
		{ "--signing-helper", NULL, &helper, NULL },
		{ "--name", NULL, &name, NULL },
		{ "--version", NULL, &version, NULL },
		{ "--rollback-index", NULL, &rb, NULL },
		{ "--output", "-o", &out, NULL },
		{ "--progress", NULL, NULL, &progress },
		{ "--json", NULL, NULL, &json },
	};
	struct si_set s;
	struct si_diag d;

	r = sealcmd_parse(CMD, argc, argv, defs, SI_ARRAY_SIZE(defs), pos, 2, &npos);
	if (r)
		return r == SEALCMD_HELP ? SEALCTL_OK : r;
	sealctl_json_mode = json;
	progress = sealcmd_progress_wanted(progress);
	if (npos == 0)
		return sealctl_usage_error(CMD, "a subcommand is required: create or inspect");
	if (!strcmp(pos[0], "inspect")) {
		uint8_t *data = NULL;

		if (npos != 2)
			return sealctl_usage_error(CMD, "inspect: a set file is required");
		r = sealctl_load_file(CMD, pos[1], SI_MANIFEST_MAX, &data, &len);
		if (r)
			return r;
		r = sealcmd_set_show(CMD, pos[1], data, len, json, NULL);
		free(data);
		return r;
	}
	if (strcmp(pos[0], "create") != 0)
		return sealctl_usage_error(CMD, "unknown subcommand '%s' (expected create or inspect)", pos[0]);
	if (npos != 1)
		return sealctl_usage_error(CMD, "create takes no arguments, only options");
	if (!slot || !system || !key || !name || !version || !rb)
		return sealctl_usage_error(CMD, "create needs --slot, --system, --key, --name, --version and --rollback-index");
	{
		struct si_set_params sp;
		struct sealctl_signer sg;
		struct sealcmd_image img;
		struct si_seal_unverified u;
		uint8_t digest[32];
		struct stat st;

		memset(&sp, 0, sizeof sp);
		sp.name = name;
		sp.version = version;
		r = sealcmd_u64(CMD, "--rollback-index", rb, &sp.rollback_index);
		if (r)
			return r;
		/* a slot that is not there is an error, not an empty release */
		if (stat(slot, &st) != 0)
			return sealctl_report_errno(CMD, slot, SI_E_OPEN, errno);
		if (!S_ISDIR(st.st_mode))
			return sealctl_report_errno(CMD, slot, SI_E_OPEN, ENOTDIR);
		if (!out) {
			snprintf(outbuf, sizeof outbuf, "%s/%s", slot, PLAN_SET_FILE);
			out = outbuf;
		}
		{
			const char *inputs[] = { system, key, helper };

			r = sealctl_out_check(CMD, out, inputs, SI_ARRAY_SIZE(inputs));
			if (r)
				return r;
		}
		/* the system volume: by its root hash */
		r = sealcmd_image_open(CMD, system, &img);
		if (r)
			return r;
		r = sealcmd_seal_id(img.map, img.len, &u, digest);
		sealcmd_image_close(&img);
		if (r || u.m.kind != SI_KIND_SYSTEM) {
			si_diag_clear(&d);
			si_diag_field(&d, "manifest.kind");
			si_diag_text(&d, "system", r ? "not a sealed image" : si_seal_kind_name(u.m.kind));
			return sealctl_report(CMD, system, r ? r : SI_E_SEAL_KIND, &d);
		}
		memcpy(sp.system_root, u.m.root_hash, 32);
		memcpy(sp.system_digest, digest, 32);
		/* the key before the images: a wrong key path fails at once, not
		 * after every tree was hashed */
		r = sealctl_signer_load(CMD, key, helper, &sg);
		if (r)
			return r;
		r = walk_slot(CMD, slot, out, &sp, &aux);
		if (r) {
			sealctl_signer_done(&sg);
			return r;
		}
		si_diag_clear(&d);
		r = si_set_build(&sp, &sg.s, buf, sizeof buf, &len, &d);
		sealctl_signer_done(&sg);
		if (r)
			return sealctl_report(CMD, sealctl_signer_blame(helper, r, out), r, &d);
		r = sealctl_out_file(CMD, out, 0, buf, len);
		if (r)
			return r;
		si_diag_clear(&d);
		r = si_set_open_unverified(buf, len, &s, &d);
		if (r)
			return sealctl_report(CMD, out, r, &d);
		if (aux && !json)
			printf("%s: %d kc-aux collection%s left out (they stand on their own usage)\n",
			       out, aux, aux == 1 ? "" : "s");
		print_set(CMD, NULL, out, &s, json, out);
	}
	return SEALCTL_OK;
}
