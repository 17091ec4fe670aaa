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
#include "tools/sealcmd.h"
#include "tools/sealctl.h"

#define CMD "kc"
#define KC_INDEX_MAX 16384

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sealctl kc --kernel-root DIR --modules LIST --key KEY.pem\n"
		"                  --name NAME --version V --rollback-index N\n"
		"                  [--kind kc-boot|kc-system|kc-aux] [--release R]\n"
		"                  [--force-release R] -o OUT\n\n"
		"Builds a sealed kernel collection from an unpacked kernel package\n"
		"(dpkg-deb -x linux-image-*.deb DIR): the modules named in LIST (one\n"
		"name a line, '#' comments) and every module they depend on\n"
		"(depends=), in load order: dependencies first, otherwise LIST's order.\n"
		"  --kernel-root DIR  holds lib/modules/<release>/\n"
		"  --release R        which release under lib/modules (default: the only one)\n"
		"  --kind K           kc-boot (default), kc-system or kc-aux\n"
		"  --force-release R  label the collection with another release than its\n"
		"                     modules' (for testing the boot-time mismatch check)\n"
		"Every module's vermagic must name the release; its .modinfo is parsed\n"
		"with the same code sealinit uses.\n\n"
		"exit codes: 0 built; 1 invalid input (module missing, dependency cycle,\n"
		"            release mismatch, key); 2 wrong arguments; 3 system error\n");
}

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
	r = sealctl_read_file(m->path, 64u << 20, &m->img, &m->len);
	if (r) {
		si_diag_clear(&d);
		si_diag_errno(&d, errno);
		return sealctl_report(CMD, m->path, r, &d);
	}
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
		   *rb = NULL, *kind = "kc-boot", *release = NULL, *force = NULL, *out = NULL;
	static struct kc_modinfo infos[CONFIG_MAX_MODULES];
	static struct kc_edge edges[CONFIG_MAX_MODULES];
	static struct kc_order_ctx octx;
	static char listed[CONFIG_MAX_MODULES][KC_NAME_MAX];
	uint16_t order[CONFIG_MAX_MODULES];
	const char *names[CONFIG_MAX_MODULES];
	uint64_t sizes[CONFIG_MAX_MODULES], offs[CONFIG_MAX_MODULES];
	char dir[4096], tmp[4096], line[256];
	struct si_diag d;
	unsigned n_listed = 0, i;
	uint8_t *arch = NULL;
	uint64_t alen;
	FILE *f;
	int m, r, ret = SEALCTL_SYSTEM;

	{
		const struct sealcmd_optdef defs[] = {
			{ "--kernel-root", &root, NULL }, { "--modules", &list, NULL },
			{ "--key", &keyp, NULL }, { "--name", &name, NULL },
			{ "--version", &version, NULL }, { "--rollback-index", &rb, NULL },
			{ "--kind", &kind, NULL }, { "--release", &release, NULL },
			{ "--force-release", &force, NULL }, { "-o", &out, NULL },
		};
		m = sealcmd_parse(CMD, argc, argv, defs, SI_ARRAY_SIZE(defs), NULL, 0, usage);
		if (m)
			return m == SEALCMD_HELP ? SEALCTL_OK : m;
	}
	if (!root || !list || !keyp || !name || !version || !rb || !out) {
		sealctl_msg(CMD, "--kernel-root, --modules, --key, --name, --version, --rollback-index and -o are required");
		usage(stderr);
		return SEALCTL_USAGE;
	}
	if (strcmp(kind, "kc-boot") && strcmp(kind, "kc-system") && strcmp(kind, "kc-aux")) {
		sealctl_msg(CMD, "--kind: expected kc-boot, kc-system or kc-aux, found '%s'", kind);
		return SEALCTL_USAGE;
	}
	if (!release) {
		static char only[256];
		struct dirent *de;
		unsigned found = 0;
		DIR *dp;

		snprintf(dir, sizeof dir, "%s/lib/modules", root);
		dp = opendir(dir);
		while (dp && (de = readdir(dp)))
			if (de->d_name[0] != '.' && found++ == 0)
				snprintf(only, sizeof only, "%s", de->d_name);
		if (dp)
			closedir(dp);
		if (found != 1) {
			sealctl_msg(CMD, "%s: expected exactly one release, found %u; give --release", dir, found);
			return SEALCTL_USAGE;
		}
		release = only;
	}
	snprintf(dir, sizeof dir, "%s/lib/modules/%s/kernel", root, release);
	if (nftw(dir, ix_add, 16, FTW_PHYS) != 0 || ix.n == 0) {
		sealctl_msg(CMD, "%s: cannot index modules (missing, or more than %d)", dir, KC_INDEX_MAX);
		return SEALCTL_FAIL;
	}

	f = fopen(list, "r");
	if (!f) {
		sealctl_msg(CMD, "%s: %s", list, strerror(errno));
		return SEALCTL_SYSTEM;
	}
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
	alen = kc_coll_size(sizes, n_mods);
	arch = calloc(1, (size_t)alen);
	if (!arch)
		return SEALCTL_SYSTEM;
	si_diag_clear(&d);
	r = kc_coll_write(arch, (size_t)alen, force ? force : release, names, sizes, n_mods,
			  offs, &d);
	if (r) {
		ret = sealctl_report(CMD, out, r, &d);
		goto done;
	}
	for (i = 0; i < n_mods; i++)
		memcpy(arch + offs[i], mods[order[i]].img, mods[order[i]].len);
	snprintf(tmp, sizeof tmp, "%s.archive.tmp", out);
	r = sealctl_write_file(tmp, arch, (size_t)alen);
	if (r) {
		si_diag_clear(&d);
		si_diag_errno(&d, errno);
		ret = sealctl_report(CMD, tmp, r, &d);
		goto done;
	}
	{
		char *sargv[] = { "seal", "--image", tmp, "--fs-type", "raw", "--kind", (char *)kind,
				  "--name", (char *)name, "--version", (char *)version,
				  "--rollback-index", (char *)rb, "--key", (char *)keyp, "-o",
				  (char *)out, NULL };
		ret = sealctl_cmd_seal((int)SI_ARRAY_SIZE(sargv) - 1, sargv);
	}
	unlink(tmp);
	if (ret == SEALCTL_OK) {
		printf("%s: %s collection for %s%s: %u modules:", out, kind, force ? force : release,
		       force ? " (forced)" : "", n_mods);
		for (i = 0; i < n_mods; i++)
			printf(" %s", names[i]);
		printf("\n");
	}
done:
	free(arch);
	return ret;
}
