/* sealctl kc: builds a sealed kernel collection from an unpacked kernel
 * package: the listed modules and everything they depend on, ordered so
 * that dependencies load first and the list's own order holds where the
 * dependencies allow, packed as a collection archive (kc/collection.h) and
 * sealed like any other image (kind kc-boot, kc-system or kc-aux). */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kc/collection.h"
#include "kc/kc.h"
#include "lib/str.h"
#include "tools/json.h"
#include "tools/out.h"
#include "tools/sealcmd.h"
#include "tools/sealctl.h"
#include "tools/signer.h"

#define CMD "kc"
#define KC_INDEX_MAX 16384

/* Every *.ko under the release's kernel/ directory, by module name. */
static struct {
	unsigned n;
	char name[KC_INDEX_MAX][KC_NAME_MAX];
	char *path[KC_INDEX_MAX];
} ix;

static void norm(char *s)
{
	for (; *s; s++)
		if (*s == '-')
			*s = '_';
}

static int ix_add(const char *path, const struct stat *st, int type, struct FTW *f)
{
	const char *base = path + f->base;
	size_t n = strlen(base);

	(void)st;
	if (type != FTW_F || n < 4 || strcmp(base + n - 3, ".ko") != 0)
		return 0;
	if (ix.n >= KC_INDEX_MAX || n - 3 >= KC_NAME_MAX)
		return 1;
	memcpy(ix.name[ix.n], base, n - 3);
	ix.name[ix.n][n - 3] = '\0';
	norm(ix.name[ix.n]);
	ix.path[ix.n] = strdup(path);
	ix.n++;
	return 0;
}

static const char *ix_find(const char *name)
{
	char k[KC_NAME_MAX];
	unsigned i;

	snprintf(k, sizeof k, "%s", name);
	norm(k);
	for (i = 0; i < ix.n; i++)
		if (!strcmp(ix.name[i], k))
			return ix.path[i];
	return NULL;
}

struct mod {
	char want[KC_NAME_MAX];
	const char *path;
	uint8_t *img;
	size_t len;
	struct kc_modinfo info;
};

static struct mod mods[CONFIG_MAX_MODULES];
static unsigned n_mods;

static int have(const char *name)
{
	char k[KC_NAME_MAX], m[KC_NAME_MAX];
	unsigned i;

	snprintf(k, sizeof k, "%s", name);
	norm(k);
	for (i = 0; i < n_mods; i++) {
		snprintf(m, sizeof m, "%s", mods[i].want);
		norm(m);
		if (!strcmp(k, m))
			return 1;
	}
	return 0;
}

/* Adds a module (and, recursively, what it depends on). */
static int add_module(const char *name, const char *release, const char *why)
{
	struct si_diag d;
	struct mod *m;
	char deps[KC_DEPENDS_MAX], *tok, *save;
	int r;

	if (have(name))
		return 0;
	if (n_mods >= CONFIG_MAX_MODULES) {
		sealctl_msg(CMD, "more than %d modules: raise CONFIG_MAX_MODULES", CONFIG_MAX_MODULES);
		return SEALCTL_FAIL;
	}
	m = &mods[n_mods];
	snprintf(m->want, sizeof m->want, "%s", name);
	m->path = ix_find(name);
	if (!m->path) {
		sealctl_msg(CMD, "module '%s'%s%s not found under lib/modules/%s/kernel", name,
			    why ? ", needed by " : "", why ? why : "", release);
		return SEALCTL_FAIL;
	}
	r = sealctl_load_file(CMD, m->path, 64u << 20, &m->img, &m->len);
	if (r)
		return r;
	si_diag_clear(&d);
	r = kc_modinfo_parse(m->img, m->len, &m->info, &d);
	if (r)
		return sealctl_report(CMD, m->path, r, &d);
	r = kc_vermagic_check(&m->info, release, &d);
	if (r)
		return sealctl_report(CMD, m->path, r, &d);
	n_mods++;
	snprintf(deps, sizeof deps, "%s", m->info.depends);
	for (tok = strtok_r(deps, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		r = add_module(tok, release, name);
		if (r)
			return r;
	}
	return 0;
}

int sealctl_cmd_kc(int argc, char **argv)
{
	const char *root = NULL, *list = NULL, *keyp = NULL, *name = NULL, *version = NULL,
		   *rb = NULL, *kind = "kc-boot", *release = NULL, *force = NULL, *out = NULL,
		   *helper = NULL, *threads_s = NULL;
	int progress = 0;
	static struct kc_modinfo infos[CONFIG_MAX_MODULES];
	static struct kc_edge edges[CONFIG_MAX_MODULES];
	static struct kc_order_ctx octx;
	static char listed[CONFIG_MAX_MODULES][KC_NAME_MAX];
	static struct sealctl_signer sg;
	static struct sealcmd_seal_job job;
	uint16_t order[CONFIG_MAX_MODULES];
	const char *names[CONFIG_MAX_MODULES];
	uint64_t sizes[CONFIG_MAX_MODULES], offs[CONFIG_MAX_MODULES];
	uint8_t salt[SI_SEAL_SALT_MAX];
	char dir[4096], line[256];
	struct si_diag d;
	unsigned n_listed = 0, i;
	uint8_t *arch = NULL;
	uint64_t alen;
	FILE *f;
	int json = 0, r, ret = SEALCTL_SYSTEM;
	const struct sealcmd_optdef defs[] = {
		{ "--kernel-root", NULL, &root, NULL }, { "--modules", NULL, &list, NULL },
		{ "--key", NULL, &keyp, NULL }, { "--signing-helper", NULL, &helper, NULL },
		{ "--name", NULL, &name, NULL }, { "--version", NULL, &version, NULL },
		{ "--rollback-index", NULL, &rb, NULL }, { "--kind", NULL, &kind, NULL },
		{ "--release", NULL, &release, NULL }, { "--force-release", NULL, &force, NULL },
		{ "--threads", NULL, &threads_s, NULL }, { "--output", "-o", &out, NULL },
		{ "--progress", NULL, NULL, &progress }, { "--json", NULL, NULL, &json },
	};

	r = sealcmd_parse(CMD, argc, argv, defs, SI_ARRAY_SIZE(defs), NULL, 0, NULL);
	if (r)
		return r == SEALCMD_HELP ? SEALCTL_OK : r;
	if (!root || !list || !keyp || !name || !version || !rb || !out)
		return sealctl_usage_error(CMD, "--kernel-root, --modules, --key, --name, --version, "
					   "--rollback-index and -o are required");
	if (strcmp(kind, "kc-boot") && strcmp(kind, "kc-system") && strcmp(kind, "kc-aux"))
		return sealctl_usage_error(CMD, "--kind: expected kc-boot, kc-system or kc-aux, "
					   "found '%s'", kind);
	memset(&job, 0, sizeof job);
	r = sealcmd_seal_params(CMD, &job.p, name, kind, version, rb, NULL, NULL, salt);
	if (r)
		return r;
	job.p.fs_type = SI_FS_RAW;
	if (sealcmd_threads(CMD, threads_s, &job.threads))
		return SEALCTL_USAGE;
	job.progress = sealcmd_progress_wanted(progress);
	{
		const char *inputs[] = { root, list, keyp, helper };

		r = sealctl_out_check(CMD, out, inputs, SI_ARRAY_SIZE(inputs));
		if (r)
			return r;
	}
	if (!release) {
		static char only[256];
		struct dirent *de;
		unsigned found = 0;
		DIR *dp;

		snprintf(dir, sizeof dir, "%s/lib/modules", root);
		dp = opendir(dir);
		if (!dp)
			return sealctl_report_errno(CMD, dir, SI_E_OPEN, errno);
		while ((de = readdir(dp)))
			if (de->d_name[0] != '.' && found++ == 0)
				snprintf(only, sizeof only, "%s", de->d_name);
		closedir(dp);
		if (found != 1)
			return sealctl_usage_error(CMD, "%s: expected exactly one release, found %u; "
						   "give --release", dir, found);
		release = only;
	}
	snprintf(dir, sizeof dir, "%s/lib/modules/%s/kernel", root, release);
	if (access(dir, R_OK | X_OK) != 0)
		return sealctl_report_errno(CMD, dir, SI_E_OPEN, errno);
	if (nftw(dir, ix_add, 16, FTW_PHYS) != 0 || ix.n == 0) {
		sealctl_msg(CMD, "%s: cannot index modules (none, or more than %d)", dir, KC_INDEX_MAX);
		return SEALCTL_FAIL;
	}

	f = fopen(list, "re");
	if (!f)
		return sealctl_report_errno(CMD, list, SI_E_OPEN, errno);
	while (fgets(line, sizeof line, f)) {
		char *s = line, *e;

		s[strcspn(s, "#\n")] = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		e = s + strlen(s);
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (!*s)
			continue;
		if (n_listed >= CONFIG_MAX_MODULES || strlen(s) >= KC_NAME_MAX) {
			sealctl_msg(CMD, "%s: too many modules or name too long at '%s'", list, s);
			fclose(f);
			return SEALCTL_FAIL;
		}
		memcpy(listed[n_listed++], s, strlen(s) + 1);
	}
	fclose(f);
	if (n_listed == 0) {
		sealctl_msg(CMD, "%s: no modules listed", list);
		return SEALCTL_FAIL;
	}
	for (i = 0; i < n_listed; i++) {
		r = add_module(listed[i], release, NULL);
		if (r)
			return r;
	}
	/* The list's order is a wish: each listed module before the next. */
	for (i = 0; i + 1 < n_listed; i++) {
		memcpy(edges[i].before, listed[i], KC_NAME_MAX);
		memcpy(edges[i].after, listed[i + 1], KC_NAME_MAX);
	}
	for (i = 0; i < n_mods; i++)
		infos[i] = mods[i].info;
	si_diag_clear(&d);
	r = kc_order(infos, n_mods, edges, n_listed - 1, &octx, order, &d);
	if (r)
		return sealctl_report(CMD, list, r, &d);

	for (i = 0; i < n_mods; i++) {
		names[i] = mods[order[i]].info.name;
		sizes[i] = mods[order[i]].len;
	}
	r = sealctl_signer_load(CMD, keyp, helper, &sg);
	if (r)
		return r;
	alen = kc_coll_size(sizes, n_mods);
	/* The archive and its zero padding to whole blocks, in memory: it is
	 * sealed from here, no intermediate file. */
	arch = calloc(1, (size_t)((alen + 4095) & ~(uint64_t)4095));
	if (!arch) {
		ret = sealctl_report(CMD, out, SI_E_NOMEM, NULL);
		goto done;
	}
	si_diag_clear(&d);
	r = kc_coll_write(arch, (size_t)alen, force ? force : release, names, sizes, n_mods,
			  offs, &d);
	if (r) {
		ret = sealctl_report(CMD, out, r, &d);
		goto done;
	}
	for (i = 0; i < n_mods; i++)
		memcpy(arch + offs[i], mods[order[i]].img, mods[order[i]].len);
	job.p.data_size = alen;
	job.data = arch;
	job.data_name = list;
	job.signer = &sg.s;
	job.helper = helper;
	job.out = out;
	ret = sealcmd_seal_write(CMD, &job);
	if (ret != SEALCTL_OK)
		goto done;
	if (json) {
		struct json j;

		json_begin(&j, stdout, CMD, 1);
		json_str(&j, "output", out);
		json_str(&j, "kind", kind);
		json_str(&j, "name", name);
		json_str(&j, "version", version);
		json_u64(&j, "rollback_index", job.p.rollback_index);
		json_str(&j, "release", force ? force : release);
		json_bool(&j, "release_forced", force != NULL);
		json_u64(&j, "image_size", job.layout.image_size);
		json_hex(&j, "root_hash", job.root_hash, 32);
		json_keyid(&j, "key_id", sg.pub.fingerprint);
		json_arr_begin(&j, "modules");
		for (i = 0; i < n_mods; i++)
			json_str(&j, NULL, names[i]);
		json_arr_end(&j);
		json_end(&j);
	} else {
		char id[SEALCTL_KEYID_SHORT + 1];

		sealctl_keyid_short(id, sg.pub.fingerprint);
		printf("%s: %s collection for %s%s, key %s: %u modules:", out, kind,
		       force ? force : release, force ? " (forced)" : "", id, n_mods);
		for (i = 0; i < n_mods; i++)
			printf(" %s", names[i]);
		printf("\n");
	}
done:
	sealctl_signer_done(&sg);
	free(arch);
	return ret;
}
