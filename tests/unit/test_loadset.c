/* Unit tests for kc/loadset.c: the dependency graph of a module set
 * (depends=, softdep "pre:" by name and by alias) and the concurrent
 * loader, driven by a recording fake loader (nothing reaches the kernel). */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "kc/kc.h"
#include "lib/err.h"
#include "tests/unit/t.h"

static struct kc_modinfo mods[CONFIG_MAX_MODULES];
static struct kc_graph g;
static struct kc_load_run run;

static void mod(size_t i, const char *name, const char *dep, const char *pre)
{
	memset(&mods[i], 0, sizeof mods[i]);
	strcpy(mods[i].name, name);
	strcpy(mods[i].depends, dep);
	strcpy(mods[i].pre, pre);
}

static int has_edge(size_t i, size_t j)
{
	unsigned k;

	for (k = 0; k < g.n_before[i]; k++)
		if (g.before[i][k] == j)
			return 1;
	return 0;
}

/* Aliases for the graph tests: "alias:NAME" strings per module. */
static const char *aliases[CONFIG_MAX_MODULES];

static int fake_alias(void *ctx, size_t i, const char *alias, struct si_diag *d)
{
	(void)ctx;
	if (!strcmp(alias, "broken")) {
		si_diag_field(d, "modinfo.unterminated");
		return SI_E_MODINFO;
	}
	return aliases[i] && !strcmp(aliases[i], alias);
}

/* Modules 0..8: qemu-aarch64's boot KC as sealctl kc orders it. */
static void kc_boot_set(void)
{
	memset(aliases, 0, sizeof aliases);
	mod(0, "loop", "", "");
	mod(1, "dax", "", "");
	mod(2, "dm_mod", "dax", "");
	mod(3, "dm_bufio", "", "");
	mod(4, "reed_solomon", "", "");
	mod(5, "dm_verity", "reed_solomon,dm-mod,dm-bufio", "");
	mod(6, "crc32c_generic", "", "");
	aliases[6] = "crc32c";
	mod(7, "libcrc32c", "", "crc32c");
	mod(8, "erofs", "libcrc32c", "");
}

static void test_graph(void)
{
	struct si_diag d;
	unsigned k;

	/* The boot KC of qemu-aarch64, and ext4 whose chain is outside the set. */
	kc_boot_set();
	mod(9, "ext4", "jbd2,mbcache,crc16", "crypto-crc32c");
	T_OK(kc_graph_build(mods, 10, fake_alias, NULL, &g, NULL));
	T_EQ(g.n, 10);
	T_EQ(g.n_before[0], 0);
	T_EQ(g.n_before[2], 1);
	T_CHECK(has_edge(2, 1), "dm_mod after dax");
	T_EQ(g.n_before[5], 3);
	T_CHECK(has_edge(5, 4) && has_edge(5, 2) && has_edge(5, 3), "dm_verity after its three (dashes match underscores)");
	T_EQ(g.n_before[7], 1);
	T_CHECK(has_edge(7, 6), "libcrc32c after crc32c_generic: softdep pre by alias");
	T_CHECK(has_edge(8, 7), "erofs after libcrc32c");
	T_EQ(g.n_before[9], 0); /* ext4's modules are not in this set */

	/* Without an alias callback, a softdep matches names only. */
	T_OK(kc_graph_build(mods, 10, NULL, NULL, &g, NULL));
	T_EQ(g.n_before[7], 0);
	mod(7, "libcrc32c", "", "crc32c-generic");
	T_OK(kc_graph_build(mods, 10, NULL, NULL, &g, NULL));
	T_CHECK(has_edge(7, 6), "softdep by module name");

	/* Every provider of an alias comes first; repeats are one edge. */
	memset(aliases, 0, sizeof aliases);
	mod(0, "crc32c_generic", "", "");
	aliases[0] = "crc32c";
	mod(1, "crc32c_arm64", "", "");
	aliases[1] = "crc32c";
	mod(2, "libcrc32c", "crc32c_generic", "crc32c,crc32c");
	T_OK(kc_graph_build(mods, 3, fake_alias, NULL, &g, NULL));
	T_EQ(g.n_before[2], 2);
	T_CHECK(has_edge(2, 0) && has_edge(2, 1), "both crc32c providers");

	/* A module that provides its own softdep is no cycle. */
	mod(0, "a", "", "self");
	aliases[0] = "self";
	T_OK(kc_graph_build(mods, 1, fake_alias, NULL, &g, NULL));
	T_EQ(g.n_before[0], 0);

	/* Refusals. */
	memset(aliases, 0, sizeof aliases);
	mod(0, "a", "b", "");
	mod(1, "b", "c", "");
	mod(2, "c", "a", "");
	si_diag_clear(&d);
	T_ERR(kc_graph_build(mods, 3, NULL, NULL, &g, &d), SI_E_MOD_CYCLE);
	T_CHECK(d.where[0] == 'a' || d.where[0] == 'b' || d.where[0] == 'c', "cycle names a module: %s", d.where);
	mod(0, "a", "", "b");
	mod(1, "b", "", "a");
	T_ERR(kc_graph_build(mods, 2, NULL, NULL, &g, NULL), SI_E_MOD_CYCLE);
	mod(0, "a", "a", "");
	si_diag_clear(&d);
	T_ERR(kc_graph_build(mods, 1, NULL, NULL, &g, &d), SI_E_MOD_CYCLE);
	T_STREQ(d.where, "a");
	mod(0, "dm-mod", "", "");
	mod(1, "dm_mod", "", "");
	si_diag_clear(&d);
	T_ERR(kc_graph_build(mods, 2, NULL, NULL, &g, &d), SI_E_MOD_DUP);
	T_STREQ(d.found_s, "dm_mod");
	mod(0, "a", "b,,c", "");
	T_ERR(kc_graph_build(mods, 1, NULL, NULL, &g, NULL), SI_E_MODINFO);
	mod(0, "a", "", "broken");
	mod(1, "b", "", "");
	si_diag_clear(&d);
	T_ERR(kc_graph_build(mods, 2, fake_alias, NULL, &g, &d), SI_E_MODINFO);
	T_STREQ(d.field, "modinfo.unterminated");
	/* More predecessors than a module may have. */
	{
		char dep[KC_DEPENDS_MAX] = "";

		for (k = 0; k <= KC_GRAPH_BEFORE_MAX; k++) {
			char name[8];

			snprintf(name, sizeof name, "m%u", k);
			mod(k + 1, name, "", "");
			strcat(dep, k ? ",m" : "m");
			snprintf(dep + strlen(dep), sizeof dep - strlen(dep), "%u", k);
		}
		mod(0, "top", dep, "");
		si_diag_clear(&d);
		T_ERR(kc_graph_build(mods, KC_GRAPH_BEFORE_MAX + 2, NULL, NULL, &g, &d), SI_E_TOO_BIG);
		T_STREQ(d.where, "top");
		dep[strlen(dep) - 4] = '\0'; /* drop ",m16": exactly the limit */
		mod(0, "top", dep, "");
		T_OK(kc_graph_build(mods, KC_GRAPH_BEFORE_MAX + 2, NULL, NULL, &g, NULL));
		T_EQ(g.n_before[0], KC_GRAPH_BEFORE_MAX);
	}
	T_ERR(kc_graph_build(mods, CONFIG_MAX_MODULES + 1, NULL, NULL, &g, NULL), SI_E_TOO_BIG);
	T_ERR(kc_graph_build(NULL, 1, NULL, NULL, &g, NULL), SI_E_ARG);
	T_OK(kc_graph_build(mods, 0, NULL, NULL, &g, NULL));
}

/* ---------------------------------------------------------------- loader */

/* The fake loader: records when each module starts and ends (one counter
 * for both), how many run at once, sleeps `ms`, fails where told. */
struct rec {
	pthread_mutex_t lock;
	unsigned seq, now, most;
	unsigned start[CONFIG_MAX_MODULES], end[CONFIG_MAX_MODULES], calls[CONFIG_MAX_MODULES];
	int fail[CONFIG_MAX_MODULES];
	unsigned ms;
};
static struct rec rec;

static int fake_load(void *ctx, size_t i, struct si_diag *d)
{
	struct rec *r = ctx;
	struct timespec nap = { 0, (long)r->ms * 1000000L };

	pthread_mutex_lock(&r->lock);
	r->start[i] = ++r->seq;
	r->calls[i]++;
	if (++r->now > r->most)
		r->most = r->now;
	pthread_mutex_unlock(&r->lock);
	nanosleep(&nap, NULL);
	pthread_mutex_lock(&r->lock);
	r->end[i] = ++r->seq;
	r->now--;
	pthread_mutex_unlock(&r->lock);
	if (r->fail[i]) {
		si_diag_where(d, mods[i].name, strlen(mods[i].name));
		si_diag_errno(d, 2);
		return r->fail[i];
	}
	return 0;
}

static void rec_reset(unsigned ms)
{
	memset(&rec, 0, sizeof rec);
	pthread_mutex_init(&rec.lock, NULL);
	rec.ms = ms;
}

static void test_load(void)
{
	const struct kc_load_ops ops = { fake_load, &rec };
	struct si_diag d;
	size_t bad = 99;
	unsigned i, k, workers;

	/* The KC set: every module after all its predecessors, each once. */
	kc_boot_set();
	mod(9, "overlay", "", "");
	T_OK(kc_graph_build(mods, 10, fake_alias, NULL, &g, NULL));
	for (workers = 0; workers <= 5; workers++) {
		rec_reset(3);
		T_OK(kc_load_graph(&g, &ops, workers, &run, &bad, NULL));
		for (i = 0; i < 10; i++) {
			T_EQ(rec.calls[i], 1);
			T_EQ(run.state[i], KC_LOAD_DONE);
			for (k = 0; k < g.n_before[i]; k++)
				T_CHECK(rec.end[g.before[i][k]] < rec.start[i],
					"%u workers: %s started before %s ended", workers,
					mods[i].name, mods[g.before[i][k]].name);
		}
		if (workers <= 1) {
			T_EQ(rec.most, 1);
			for (i = 0; i < 10; i++) /* one at a time, in the set's order */
				T_EQ(rec.start[i], 2 * i + 1);
		} else {
			T_CHECK(rec.most > 1, "%u workers: loads overlapped (most at once %u)", workers, rec.most);
			T_CHECK(rec.most <= workers, "%u workers: at most that many at once (%u)", workers, rec.most);
		}
	}
	T_CHECK(run.us[0] >= 3000, "load time recorded: %u us", run.us[0]);

	/* Independent modules: as many at once as there are workers. */
	for (i = 0; i < 8; i++) {
		char name[8];

		snprintf(name, sizeof name, "i%u", i);
		mod(i, name, "", "");
	}
	T_OK(kc_graph_build(mods, 8, NULL, NULL, &g, NULL));
	rec_reset(20);
	T_OK(kc_load_graph(&g, &ops, 4, &run, &bad, NULL));
	T_EQ(rec.most, 4);

	/* A failure: its error and diagnostic, its dependents never start. */
	mod(0, "a", "", "");
	mod(1, "b", "a", "");
	mod(2, "c", "b", "");
	mod(3, "d", "", "");
	T_OK(kc_graph_build(mods, 4, NULL, NULL, &g, NULL));
	rec_reset(1);
	rec.fail[1] = SI_E_MODULE_LOAD;
	si_diag_clear(&d);
	T_ERR(kc_load_graph(&g, &ops, 1, &run, &bad, &d), SI_E_MODULE_LOAD);
	T_EQ(bad, 1);
	T_STREQ(d.where, "b");
	T_EQ(d.sys_errno, 2);
	T_EQ(rec.calls[2], 0);
	T_EQ(rec.calls[3], 0); /* one worker: nothing starts after a failure */
	T_EQ(run.state[1], KC_LOAD_FAILED);
	T_EQ(run.state[2], KC_LOAD_PENDING);
	for (workers = 2; workers <= 4; workers++) {
		rec_reset(5);
		rec.fail[1] = SI_E_MODULE_LOAD;
		T_ERR(kc_load_graph(&g, &ops, workers, &run, &bad, NULL), SI_E_MODULE_LOAD);
		T_EQ(bad, 1);
		T_EQ(rec.calls[2], 0);
	}
	/* Two failures: the first in the set's order is the one reported. */
	rec_reset(5);
	rec.fail[1] = SI_E_MODULE_LOAD;
	rec.fail[3] = SI_E_OPEN;
	rec.fail[0] = 0;
	mod(1, "b", "", "");
	T_OK(kc_graph_build(mods, 4, NULL, NULL, &g, NULL));
	T_ERR(kc_load_graph(&g, &ops, 4, &run, &bad, NULL), SI_E_MODULE_LOAD);
	T_EQ(bad, 1);

	/* A graph that can never finish (not one kc_graph_build makes). */
	memset(&g, 0, sizeof g);
	g.n = 2;
	g.n_before[0] = 1;
	g.before[0][0] = 1;
	g.n_before[1] = 1;
	g.before[1][0] = 0;
	rec_reset(0);
	T_ERR(kc_load_graph(&g, &ops, 2, &run, &bad, NULL), SI_E_MOD_CYCLE);
	T_EQ(rec.calls[0] + rec.calls[1], 0);

	/* Nothing to load; bad arguments. */
	memset(&g, 0, sizeof g);
	T_OK(kc_load_graph(&g, &ops, 4, &run, &bad, NULL));
	T_ERR(kc_load_graph(NULL, &ops, 1, &run, &bad, NULL), SI_E_ARG);
	T_ERR(kc_load_graph(&g, NULL, 1, &run, &bad, NULL), SI_E_ARG);
}

int main(void)
{
	test_graph();
	test_load();
	return t_done("test_loadset");
}
