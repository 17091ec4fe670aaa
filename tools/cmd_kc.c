/* sealctl kc: builds a sealed kernel collection from an unpacked kernel
 * package.  kc-boot and kc-aux: the listed modules and everything they
 * depend on, ordered so that dependencies load first and the list's own
 * order holds where the dependencies allow, packed as a collection archive
 * (kc/collection.h) and sealed like any other image.  kc-system: every
 * other module of the release (all but --except's list and its closure)
 * with modules.dep and friends made by depmod on this host, as an erofs
 * tree "<release>/kernel/..." sealed like sealctl seal --dir: sealinit
 * mounts it at /lib/modules in the new root. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

/* Module files by module name: ix, every *.ko of the release under
 * --kernel-root (its kernel/ directory; for kc-aux the whole release
 * directory, updates/ and extra/ included); sys_ix, for kc-aux, those of
 * the system tier it is indexed with. */
struct kindex {
	unsigned n;
	char name[KC_INDEX_MAX][KC_NAME_MAX];
	char *path[KC_INDEX_MAX];
};
static struct kindex ix, sys_ix;
static struct kindex *ix_fill = &ix;

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
	struct kindex *x = ix_fill;

	(void)st;
	if (type != FTW_F || n < 4 || strcmp(base + n - 3, ".ko") != 0)
		return 0;
	if (x->n >= KC_INDEX_MAX || n - 3 >= KC_NAME_MAX)
		return 1;
	memcpy(x->name[x->n], base, n - 3);
	x->name[x->n][n - 3] = '\0';
	norm(x->name[x->n]);
	x->path[x->n] = strdup(path);
	if (!x->path[x->n])
		return 1;
	x->n++;
	return 0;
}

static const char *kx_find(const struct kindex *x, const char *name)
{
	char k[KC_NAME_MAX];
	unsigned i;

	snprintf(k, sizeof k, "%s", name);
	norm(k);
	for (i = 0; i < x->n; i++)
		if (!strcmp(x->name[i], k))
			return x->path[i];
	return NULL;
}

static const char *ix_find(const char *name)
{
	return kx_find(&ix, name);
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
	/* kc-aux: what the system tier has, the system tier provides */
	if (why && kx_find(&sys_ix, name))
		return 0;
	if (n_mods >= CONFIG_MAX_MODULES) {
		sealctl_msg(CMD, "more than %d modules: raise CONFIG_MAX_MODULES", CONFIG_MAX_MODULES);
		return SEALCTL_FAIL;
	}
	m = &mods[n_mods];
	snprintf(m->want, sizeof m->want, "%s", name);
	m->path = ix_find(name);
	if (!m->path) {
		sealctl_msg(CMD, "module '%s'%s%s not found under lib/modules/%s%s", name,
			    why ? ", needed by " : "", why ? why : "", release,
			    sys_ix.n ? "" : "/kernel");
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

/* ---- kc-system: every module outside the boot tier, as an erofs tree */

extern char **environ;

static int run_tool(const char *what, char *const args[])
{
	pid_t pid;
	int e, st;

	e = posix_spawnp(&pid, args[0], NULL, NULL, args, environ);
	if (e) {
		sealctl_msg(CMD, "cannot run %s: errno %d (%s)", args[0], e, strerror(e));
		return SEALCTL_SYSTEM;
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			sealctl_msg(CMD, "%s: waitpid: errno %d (%s)", args[0], errno, strerror(errno));
			return SEALCTL_SYSTEM;
		}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		sealctl_msg(CMD, "%s failed (%s %d)", what, WIFEXITED(st) ? "exit" : "signal",
			    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		return SEALCTL_SYSTEM;
	}
	return 0;
}

static int mkdirs(char *path)
{
	char *s;

	for (s = path + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			if (mkdir(path, 0755) != 0 && errno != EEXIST) {
				*s = '/';
				return -1;
			}
			*s = '/';
		}
	return mkdir(path, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* A hard link where the tree is on the output's file system, else a copy. */
static int place(const char *from, const char *to)
{
	uint8_t *buf;
	size_t len;
	FILE *f;
	int r;

	if (link(from, to) == 0)
		return 0;
	r = sealctl_load_file(CMD, from, 256u << 20, &buf, &len);
	if (r)
		return r;
	f = fopen(to, "wxe");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		free(buf);
		return sealctl_report_errno(CMD, to, SI_E_CREATE, errno);
	}
	free(buf);
	return 0;
}

/* place() into a directory made first if it is not there. */
static int place_mk(const char *from, const char *to)
{
	char dir[8192], *slash;

	snprintf(dir, sizeof dir, "%s", to);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		if (mkdirs(dir) != 0)
			return sealctl_report_errno(CMD, dir, SI_E_CREATE, errno);
	}
	return place(from, to);
}

/* Each of names[0..n) that from_dir has, placed in to_dir; *placed counts
 * them. */
static int place_present(const char *from_dir, const char *to_dir, const char *const *names,
			 size_t n, unsigned *placed)
{
	char from[8192], to[8192];
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		if ((size_t)snprintf(from, sizeof from, "%s/%s", from_dir, names[i]) >= sizeof from ||
		    (size_t)snprintf(to, sizeof to, "%s/%s", to_dir, names[i]) >= sizeof to) {
			sealctl_msg(CMD, "%s: path too long", from_dir);
			return SEALCTL_FAIL;
		}
		if (access(from, R_OK) != 0)
			continue;
		r = place(from, to);
		if (r)
			return r;
		(*placed)++;
	}
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)f;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* The tree at dir sealed as sealctl seal --dir seals it. */
static int seal_tree(const char *dir, const char *kind, const char *kcsys, const char *name,
		     const char *version, const char *rb, const char *keyp, const char *helper,
		     int json, const char *out)
{
	const char *seal[24];
	int n = 0;

	seal[n++] = "kc";
	seal[n++] = "--dir";
	seal[n++] = dir;
	seal[n++] = "--kind";
	seal[n++] = kind;
	if (kcsys) {
		seal[n++] = "--kc-system";
		seal[n++] = kcsys;
	}
	seal[n++] = "--name";
	seal[n++] = name;
	seal[n++] = "--version";
	seal[n++] = version;
	seal[n++] = "--rollback-index";
	seal[n++] = rb;
	seal[n++] = "--key";
	seal[n++] = keyp;
	if (helper) {
		seal[n++] = "--signing-helper";
		seal[n++] = helper;
	}
	if (json)
		seal[n++] = "--json";
	seal[n++] = "-o";
	seal[n++] = out;
	seal[n] = NULL;
	return sealctl_cmd_seal(n, (char **)seal);
}

/* The staging tree: TMP/lib/modules/<release>/{kernel/...,modules.order,
 * modules.builtin*}, depmod over it, sealed with sealctl seal --dir. */
static int system_tier(const char *root, const char *release, const char *out,
		       const char *name, const char *kind, const char *version, const char *rb,
		       const char *keyp, const char *helper, int json)
{
	static const char *const copied[] = { "modules.order", "modules.builtin",
					      "modules.builtin.modinfo" };
	char tmp[4096], top[4200], kdir[4096], dst[8192], obuf[4096], rel[8192];
	unsigned i, kept = 0, copies = 0;
	size_t klen;
	int r;

	snprintf(obuf, sizeof obuf, "%s", out);
	snprintf(tmp, sizeof tmp, "%s/.sealctl-kcsys-XXXXXX", dirname(obuf));
	if (!mkdtemp(tmp))
		return sealctl_report_errno(CMD, tmp, SI_E_CREATE, errno);
	snprintf(top, sizeof top, "%s/lib/modules", tmp);
	snprintf(kdir, sizeof kdir, "%s/lib/modules/%s/kernel", root, release);
	klen = strlen(kdir);
	r = SEALCTL_SYSTEM;
	for (i = 0; i < ix.n; i++) {
		if (have(ix.name[i]))
			continue;
		if (strncmp(ix.path[i], kdir, klen) != 0)
			continue;
		snprintf(dst, sizeof dst, "%s/%s/kernel%s", top, release, ix.path[i] + klen);
		r = place_mk(ix.path[i], dst);
		if (r)
			goto done;
		kept++;
	}
	snprintf(rel, sizeof rel, "%s/lib/modules/%s", root, release);
	snprintf(dst, sizeof dst, "%s/%s", top, release);
	r = place_present(rel, dst, copied, SI_ARRAY_SIZE(copied), &copies);
	if (r)
		goto done;
	{
		char *args[] = { "depmod", "-b", tmp, (char *)release, NULL };

		r = run_tool("depmod (Debian package kmod) over the system tier", args);
		if (r)
			goto done;
	}
	r = seal_tree(top, kind, NULL, name, version, rb, keyp, helper, json, out);
	if (r == 0 && !json)
		printf("%s: kc-system tier for %s: %u modules (all but %u of the boot tier), "
		       "modules.dep made by depmod\n", out, release, kept, n_mods);
done:
	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return r;
}

/* ---- kc-aux: the integrator's modules, with an index over both tiers */

/* What depmod writes (kmod 30..33): the aux tier's index, which stands
 * over the system tier's while both are mounted. */
static const char *const depmod_out[] = {
	"modules.dep", "modules.dep.bin", "modules.alias", "modules.alias.bin",
	"modules.softdep", "modules.symbols", "modules.symbols.bin", "modules.builtin.bin",
	"modules.builtin.alias.bin", "modules.devname", "modules.weakdep",
};

/* The system tier sysimg extracted under TMP/lib/modules (fsck.erofs), the
 * listed modules and the closure the system tier lacks put in its
 * <release>/updates/, depmod over the whole; the aux tree is
 * <release>/updates/ and depmod's output, sealed as kc-aux with the
 * system tier's digest (manifest.kc_system): sealinit mounts it over the
 * system tier only when that is the tier the set booted. */
static int aux_tier(const char *root, const char *release, const char *out, const char *name,
		    const char *version, const char *rb, const char *keyp, const char *helper,
		    int json, const char *sysimg, char (*listed)[KC_NAME_MAX], unsigned n_listed)
{
	char tmp[4096], obuf[4096], sysrel[SI_SEAL_VERSION_MAX + 1], xdir[4200], arg[4300];
	char dst[8192], at[8192], from[8192];
	uint8_t digest[32];
	unsigned i, kept = 0;
	int r;

	if (strcmp(version, release) != 0)
		return sealctl_usage_error(CMD, "--version of a kc-aux tier must be the kernel release "
					   "%s (sealinit checks it against the running kernel), found '%s'",
					   release, version);
	r = sealcmd_kc_system(CMD, sysimg, digest, sysrel);
	if (r)
		return r;
	if (strcmp(sysrel, release) != 0) {
		sealctl_msg(CMD, "%s: the system tier is for kernel release %s, the aux modules for %s",
			    sysimg, sysrel, release);
		return SEALCTL_FAIL;
	}
	snprintf(obuf, sizeof obuf, "%s", out);
	snprintf(tmp, sizeof tmp, "%s/.sealctl-kcaux-XXXXXX", dirname(obuf));
	if (!mkdtemp(tmp))
		return sealctl_report_errno(CMD, tmp, SI_E_CREATE, errno);
	snprintf(xdir, sizeof xdir, "%s/lib/modules", tmp);
	snprintf(dst, sizeof dst, "%s/lib", tmp);
	if (mkdir(dst, 0755) != 0) {
		r = sealctl_report_errno(CMD, dst, SI_E_CREATE, errno);
		goto done;
	}
	snprintf(arg, sizeof arg, "--extract=%s", xdir);
	{
		char *args[] = { "fsck.erofs", arg, "--no-preserve", (char *)sysimg, NULL };

		r = run_tool("fsck.erofs --extract (Debian package erofs-utils) of the system tier", args);
		if (r)
			goto done;
	}
	snprintf(dst, sizeof dst, "%s/%s", xdir, release);
	ix_fill = &sys_ix;
	if (nftw(dst, ix_add, 16, FTW_PHYS) != 0 || sys_ix.n == 0) {
		ix_fill = &ix;
		sealctl_msg(CMD, "%s: no modules under %s/ in the system tier (or more than %d)",
			    sysimg, release, KC_INDEX_MAX);
		r = SEALCTL_FAIL;
		goto done;
	}
	ix_fill = &ix;
	for (i = 0; i < n_listed; i++) {
		const char *p = kx_find(&sys_ix, listed[i]);

		if (p) {
			sealctl_msg(CMD, "module '%s' is the system tier's (%s): an aux tier adds modules "
				    "to the platform's, it does not replace one", listed[i],
				    p + strlen(xdir) + 1);
			r = SEALCTL_FAIL;
			goto done;
		}
		r = add_module(listed[i], release, NULL);
		if (r)
			goto done;
	}
	for (i = 0; i < n_mods; i++) {
		const char *base = strrchr(mods[i].path, '/') + 1;

		snprintf(dst, sizeof dst, "%s/%s/updates/%s", xdir, release, base);
		snprintf(at, sizeof at, "%s/aux/%s/updates/%s", tmp, release, base);
		r = place_mk(mods[i].path, dst);
		if (r == 0)
			r = place_mk(mods[i].path, at);
		if (r)
			goto done;
	}
	{
		char *args[] = { "depmod", "-b", tmp, (char *)release, NULL };

		r = run_tool("depmod (Debian package kmod) over the system tier and the aux modules", args);
		if (r)
			goto done;
	}
	snprintf(from, sizeof from, "%s/%s", xdir, release);
	snprintf(at, sizeof at, "%s/aux/%s", tmp, release);
	r = place_present(from, at, depmod_out, SI_ARRAY_SIZE(depmod_out), &kept);
	if (r)
		goto done;
	if (kept < 2) {
		sealctl_msg(CMD, "depmod wrote no modules.dep under %s/%s", xdir, release);
		r = SEALCTL_FAIL;
		goto done;
	}
	snprintf(at, sizeof at, "%s/aux", tmp);
	r = seal_tree(at, "kc-aux", sysimg, name, version, rb, keyp, helper, json, out);
	if (r == 0 && !json) {
		char hex[65];

		si_hex(hex, digest, 32);
		printf("%s: kc-aux tier for %s: %u modules in updates/:", out, release, n_mods);
		for (i = 0; i < n_mods; i++)
			printf(" %s", mods[i].info.name);
		printf("; modules.dep made by depmod with kc-system %s (digest %.16s...)\n", sysimg, hex);
	}
done:
	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return r;
}

int sealctl_cmd_kc(int argc, char **argv)
{
	const char *root = NULL, *list = NULL, *keyp = NULL, *name = NULL, *version = NULL,
		   *rb = NULL, *kind = "kc-boot", *release = NULL, *force = NULL, *out = NULL,
		   *helper = NULL, *threads_s = NULL, *except = NULL, *bootimg = NULL,
		   *kcsys = NULL;
	int progress = 0;
	static struct kc_modinfo infos[CONFIG_MAX_MODULES];
	static struct kc_edge edges[CONFIG_MAX_MODULES];
	static struct kc_order_ctx octx;
	static char listed[CONFIG_MAX_MODULES][KC_NAME_MAX];
	static uint8_t req[CONFIG_MAX_MODULES];
	static struct sealctl_signer sg;
	static struct sealcmd_seal_job job;
	uint16_t order[CONFIG_MAX_MODULES];
	const char *names[CONFIG_MAX_MODULES];
	uint64_t sizes[CONFIG_MAX_MODULES], offs[CONFIG_MAX_MODULES];
	uint8_t salt[SI_SEAL_SALT_MAX];
	char dir[4096], line[256];
	struct si_diag d;
	unsigned n_listed = 0, i;
	uint8_t *arch = NULL, *bimg = NULL;
	size_t blen = 0;
	unsigned nb;
	uint64_t alen;
	FILE *f;
	int json = 0, is_sys, is_aux, r, ret = SEALCTL_SYSTEM;
	const struct sealcmd_optdef defs[] = {
		{ "--kernel-root", NULL, &root, NULL }, { "--modules", NULL, &list, NULL },
		{ "--except", NULL, &except, NULL }, { "--boot-image", NULL, &bootimg, NULL },
		{ "--key", NULL, &keyp, NULL }, { "--signing-helper", NULL, &helper, NULL },
		{ "--name", NULL, &name, NULL }, { "--version", NULL, &version, NULL },
		{ "--rollback-index", NULL, &rb, NULL }, { "--kind", NULL, &kind, NULL },
		{ "--release", NULL, &release, NULL }, { "--force-release", NULL, &force, NULL },
		{ "--threads", NULL, &threads_s, NULL }, { "--output", "-o", &out, NULL },
		{ "--progress", NULL, NULL, &progress }, { "--json", NULL, NULL, &json },
		{ "--kc-system", NULL, &kcsys, NULL },
	};

	r = sealcmd_parse(CMD, argc, argv, defs, SI_ARRAY_SIZE(defs), NULL, 0, NULL);
	if (r)
		return r == SEALCMD_HELP ? SEALCTL_OK : r;
	if (strcmp(kind, "kc-boot") && strcmp(kind, "kc-system") && strcmp(kind, "kc-aux"))
		return sealctl_usage_error(CMD, "--kind: expected kc-boot, kc-system or kc-aux, "
					   "found '%s'", kind);
	is_sys = !strcmp(kind, "kc-system");
	is_aux = !strcmp(kind, "kc-aux");
	if (!!kcsys != is_aux)
		return sealctl_usage_error(CMD, is_aux ? "--kind kc-aux needs --kc-system SYSTEM.kc: "
					   "the sealed system tier its modules go beside"
					   : "--kc-system is for --kind kc-aux");
	if (is_aux && (force || progress || threads_s))
		return sealctl_usage_error(CMD, "--force-release, --progress and --threads are for "
					   "kc-boot");
	if (is_sys ? !!list : !!except)
		return sealctl_usage_error(CMD, is_sys ? "--kind kc-system takes every module but "
					   "--except's: --modules is for kc-boot and kc-aux"
					   : "--except is for --kind kc-system");
	if (!root || (!list && !is_sys) || !keyp || !name || !version || !rb || !out)
		return sealctl_usage_error(CMD, "--kernel-root, --modules (kc-boot, kc-aux), --key, "
					   "--name, --version, --rollback-index and -o are required");
	if (is_sys && (force || progress))
		return sealctl_usage_error(CMD, "--force-release and --progress are for kc-boot and kc-aux");
	if (bootimg && strcmp(kind, "kc-boot"))
		return sealctl_usage_error(CMD, "--boot-image is for --kind kc-boot");
	memset(&job, 0, sizeof job);
	/* (kc-aux: sealctl seal checks them, with the system tier's digest) */
	r = is_aux ? 0 : sealcmd_seal_params(CMD, &job.p, name, kind, version, rb, NULL, NULL, NULL,
					     salt);
	if (r)
		return r;
	job.p.fs_type = SI_FS_RAW;
	if (sealcmd_threads(CMD, threads_s, &job.threads))
		return SEALCTL_USAGE;
	job.progress = sealcmd_progress_wanted(progress);
	{
		const char *inputs[] = { root, list ? list : except, keyp, helper, kcsys };

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
	snprintf(dir, sizeof dir, "%s/lib/modules/%s%s", root, release, is_aux ? "" : "/kernel");
	if (access(dir, R_OK | X_OK) != 0)
		return sealctl_report_errno(CMD, dir, SI_E_OPEN, errno);
	if (nftw(dir, ix_add, 16, FTW_PHYS) != 0 || ix.n == 0) {
		sealctl_msg(CMD, "%s: cannot index modules (none, or more than %d)", dir, KC_INDEX_MAX);
		return SEALCTL_FAIL;
	}

	if (is_sys && !except)
		return system_tier(root, release, out, name, kind, version, rb, keyp, helper, json);
	if (is_sys)
		list = except;
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
		req[n_listed] = *s == '?';
		if (*s == '?')
			s++;
		memcpy(listed[n_listed++], s, strlen(s) + 1);
	}
	fclose(f);
	if (n_listed == 0) {
		sealctl_msg(CMD, "%s: no modules listed", list);
		return SEALCTL_FAIL;
	}
	if (is_aux) {
		for (i = 0; i < n_listed; i++)
			if (req[i])
				return sealctl_usage_error(CMD, "%s: '?%s': loading on request is for "
							   "kc-boot", list, listed[i]);
		return aux_tier(root, release, out, name, version, rb, keyp, helper, json, kcsys,
				listed, n_listed);
	}
	for (i = 0; i < n_listed; i++) {
		r = add_module(listed[i], release, NULL);
		if (r)
			return r;
	}
	if (is_sys)
		return system_tier(root, release, out, name, kind, version, rb, keyp, helper, json);
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

	/* --boot-image: entry 0, "fit", the image the boot loader loads (the
	 * kernel with the boot tier: one sealed image, one patch). */
	if (bootimg) {
		if (n_mods + 1 > CONFIG_MAX_MODULES) {
			sealctl_msg(CMD, "more than %d entries: raise CONFIG_MAX_MODULES", CONFIG_MAX_MODULES);
			return SEALCTL_FAIL;
		}
		r = sealctl_load_file(CMD, bootimg, 256u << 20, &bimg, &blen);
		if (r)
			return r;
		names[0] = "fit";
		sizes[0] = blen;
	}
	nb = bootimg ? 1 : 0;
	for (i = 0; i < n_mods; i++) {
		names[nb + i] = mods[order[i]].info.name;
		sizes[nb + i] = mods[order[i]].len;
	}
	r = sealctl_signer_load(CMD, keyp, helper, &sg);
	if (r)
		return r;
	alen = kc_coll_size(sizes, n_mods + nb);
	/* The archive and its zero padding to whole blocks, in memory: it is
	 * sealed from here, no intermediate file. */
	arch = calloc(1, (size_t)((alen + 4095) & ~(uint64_t)4095));
	if (!arch) {
		ret = sealctl_report(CMD, out, SI_E_NOMEM, NULL);
		goto done;
	}
	si_diag_clear(&d);
	r = kc_coll_write(arch, (size_t)alen, force ? force : release, names, sizes, n_mods + nb,
			  offs, &d);
	if (r) {
		ret = sealctl_report(CMD, out, r, &d);
		goto done;
	}
	if (bootimg) {
		memcpy(arch + offs[0], bimg, blen);
		kc_coll_mark(arch, (size_t)alen, 0, KC_ENTRY_BOOT_IMAGE);
	}
	for (i = 0; i < n_mods; i++) {
		unsigned j;

		memcpy(arch + offs[nb + i], mods[order[i]].img, mods[order[i]].len);
		/* "?name" in the list: in the collection, loaded on request */
		for (j = 0; j < n_listed; j++)
			if (req[j] && kc_name_eq(listed[j], names[nb + i]))
				kc_coll_mark(arch, (size_t)alen, nb + i, KC_ENTRY_ON_REQUEST);
	}
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
			json_str(&j, NULL, names[nb + i]);
		json_arr_end(&j);
		json_end(&j);
	} else {
		char id[SEALCTL_KEYID_SHORT + 1];

		sealctl_keyid_short(id, sg.pub.fingerprint);
		printf("%s: %s collection for %s%s, key %s: %s%u modules:", out, kind,
		       force ? force : release, force ? " (forced)" : "", id,
		       bootimg ? "the boot image (fit) and " : "", n_mods);
		for (i = 0; i < n_mods; i++) {
			unsigned j, q = 0;

			for (j = 0; j < n_listed; j++)
				q |= req[j] && kc_name_eq(listed[j], names[nb + i]);
			printf(" %s%s", q ? "?" : "", names[nb + i]);
		}
		printf("\n");
	}
done:
	sealctl_signer_done(&sg);
	free(arch);
	free(bimg);
	return ret;
}
