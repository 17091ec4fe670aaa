/* sealinit kc/: the dependency graph of a module set, and loading the set
 * concurrently.  No I/O of its own: the loader comes through kc_load_ops
 * (init_module and finit_module in PID 1, a recorder in the tests).
 *
 * Concurrency is the kernel's to give: init_module(2) of independent
 * modules runs in parallel (signature check, relocation, the module's init
 * function), and a driver's init that waits on its device (a disk probe)
 * leaves the CPU to the next module.  udev loads modules this way.
 */
#include <string.h>
#include <time.h>

#include "kc/kc.h"

static int graph_edge(struct kc_graph *g, const struct kc_modinfo *mods, size_t i,
		      size_t j, struct si_diag *d)
{
	unsigned k;

	for (k = 0; k < g->n_before[i]; k++)
		if (g->before[i][k] == j)
			return 0;
	if (g->n_before[i] == KC_GRAPH_BEFORE_MAX) {
		si_diag_where(d, mods[i].name, strlen(mods[i].name));
		si_diag_field(d, "depends");
		si_diag_values(d, KC_GRAPH_BEFORE_MAX, KC_GRAPH_BEFORE_MAX + 1);
		return SI_E_TOO_BIG;
	}
	g->before[i][g->n_before[i]++] = (uint16_t)j;
	return 0;
}

/* One comma-separated list: depends= (soft = 0) or pre: (soft = 1). */
static int graph_list(struct kc_graph *g, const struct kc_modinfo *mods, size_t n,
		      size_t i, const char *list, int soft, kc_alias_fn has_alias,
		      void *ctx, struct si_diag *d)
{
	char tok[KC_NAME_MAX];
	const char *p = list;
	size_t j, len;
	int r;

	while (*p) {
		len = strcspn(p, ",");
		if (len == 0 || len >= KC_NAME_MAX) {
			si_diag_where(d, mods[i].name, strlen(mods[i].name));
			si_diag_field(d, soft ? "softdep" : "depends");
			return SI_E_MODINFO;
		}
		memcpy(tok, p, len);
		tok[len] = '\0';
		p += len + (p[len] == ',');
		if (kc_find(mods, n, tok, len, &j)) {
			if (j == i) {
				if (soft)
					continue;
				si_diag_where(d, mods[i].name, strlen(mods[i].name));
				si_diag_field(d, "depends");
				return SI_E_MOD_CYCLE;
			}
			r = graph_edge(g, mods, i, j, d);
			if (r)
				return r;
			continue;
		}
		if (!soft || !has_alias)
			continue;
		/* "pre: crc32c": every module of the set that is a crc32c. */
		for (j = 0; j < n; j++) {
			if (j == i)
				continue;
			r = has_alias(ctx, j, tok, d);
			if (r < 0)
				return r;
			if (r) {
				r = graph_edge(g, mods, i, j, d);
				if (r)
					return r;
			}
		}
	}
	return 0;
}

int kc_graph_build(const struct kc_modinfo *mods, size_t n, kc_alias_fn has_alias,
		   void *ctx, struct kc_graph *g, struct si_diag *d)
{
	uint16_t indeg[CONFIG_MAX_MODULES], queue[CONFIG_MAX_MODULES];
	size_t i, j, head = 0, tail = 0;
	unsigned k;
	int r;

	if ((!mods && n) || !g)
		return SI_E_ARG;
	if (n > CONFIG_MAX_MODULES) {
		si_diag_field(d, "modules");
		si_diag_values(d, CONFIG_MAX_MODULES, n);
		return SI_E_TOO_BIG;
	}
	memset(g, 0, sizeof *g);
	g->n = (unsigned)n;
	for (i = 0; i < n; i++) {
		if (strnlen(mods[i].name, KC_NAME_MAX) == KC_NAME_MAX ||
		    strnlen(mods[i].depends, KC_DEPENDS_MAX) == KC_DEPENDS_MAX ||
		    strnlen(mods[i].pre, KC_DEPENDS_MAX) == KC_DEPENDS_MAX)
			return SI_E_ARG;
		if (kc_find(mods, i, mods[i].name, strlen(mods[i].name), &j)) {
			si_diag_field(d, "name");
			si_diag_text(d, NULL, mods[i].name);
			return SI_E_MOD_DUP;
		}
	}
	for (i = 0; i < n; i++) {
		r = graph_list(g, mods, n, i, mods[i].depends, 0, has_alias, ctx, d);
		if (!r)
			r = graph_list(g, mods, n, i, mods[i].pre, 1, has_alias, ctx, d);
		if (r)
			return r;
	}
	/* Kahn: every module must become ready, or there is a cycle. */
	for (i = 0; i < n; i++)
		indeg[i] = g->n_before[i];
	for (i = 0; i < n; i++)
		if (!indeg[i])
			queue[tail++] = (uint16_t)i;
	while (head < tail) {
		size_t done = queue[head++];

		for (i = 0; i < n; i++)
			for (k = 0; k < g->n_before[i]; k++)
				if (g->before[i][k] == done && --indeg[i] == 0)
					queue[tail++] = (uint16_t)i;
	}
	if (tail < n) {
		for (i = 0; i < n && !indeg[i]; i++)
			;
		si_diag_where(d, mods[i].name, strlen(mods[i].name));
		si_diag_field(d, "depends");
		return SI_E_MOD_CYCLE;
	}
	return 0;
}

static unsigned us_between(const struct timespec *a, const struct timespec *b)
{
	return (unsigned)((b->tv_sec - a->tv_sec) * 1000000 + (b->tv_nsec - a->tv_nsec) / 1000);
}

/* Called with the lock held: the first pending module whose predecessors
 * are all loaded, or -1. */
static long ready_one(const struct kc_load_run *run)
{
	const struct kc_graph *g = run->g;
	unsigned i, k;

	for (i = 0; i < g->n; i++) {
		if (run->state[i] != KC_LOAD_PENDING)
			continue;
		for (k = 0; k < g->n_before[i]; k++)
			if (run->state[g->before[i][k]] != KC_LOAD_DONE)
				break;
		if (k == g->n_before[i])
			return (long)i;
	}
	return -1;
}

static void *load_worker(void *arg)
{
	struct kc_load_run *run = arg;
	struct timespec t0, t1;
	long i;
	int r;

	pthread_mutex_lock(&run->lock);
	for (;;) {
		i = run->stop ? -1 : ready_one(run);
		if (i < 0) {
			if (run->running == 0) /* nothing will change any more */
				break;
			pthread_cond_wait(&run->cond, &run->lock);
			continue;
		}
		run->state[i] = KC_LOAD_RUNNING;
		run->running++;
		pthread_mutex_unlock(&run->lock);

		si_diag_clear(&run->diag[i]);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		r = run->ops->load(run->ops->ctx, (size_t)i, &run->diag[i]);
		clock_gettime(CLOCK_MONOTONIC, &t1);

		pthread_mutex_lock(&run->lock);
		run->us[i] = us_between(&t0, &t1);
		run->err[i] = r;
		run->state[i] = r ? KC_LOAD_FAILED : KC_LOAD_DONE;
		if (r)
			run->stop = 1;
		run->running--;
		pthread_cond_broadcast(&run->cond);
	}
	pthread_cond_broadcast(&run->cond);
	pthread_mutex_unlock(&run->lock);
	return NULL;
}

#define KC_LOAD_WORKERS_MAX 16

int kc_load_graph(const struct kc_graph *g, const struct kc_load_ops *ops,
		  unsigned workers, struct kc_load_run *run, size_t *failed,
		  struct si_diag *d)
{
	pthread_t tid[KC_LOAD_WORKERS_MAX];
	unsigned i, started = 0;

	if (!g || !ops || !ops->load || !run || g->n > CONFIG_MAX_MODULES)
		return SI_E_ARG;
	memset(run->state, KC_LOAD_PENDING, sizeof run->state);
	memset(run->err, 0, sizeof run->err);
	memset(run->us, 0, sizeof run->us);
	run->g = g;
	run->ops = ops;
	run->running = run->stop = 0;
	if (pthread_mutex_init(&run->lock, NULL) != 0)
		return SI_E_IO;
	if (pthread_cond_init(&run->cond, NULL) != 0) {
		pthread_mutex_destroy(&run->lock);
		return SI_E_IO;
	}
	if (workers > KC_LOAD_WORKERS_MAX)
		workers = KC_LOAD_WORKERS_MAX;
	if (workers > g->n)
		workers = g->n;
	/* A thread that cannot start is one worker fewer, not an error. */
	for (i = 1; i < workers; i++)
		if (pthread_create(&tid[started], NULL, load_worker, run) == 0)
			started++;
	load_worker(run);
	for (i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	pthread_cond_destroy(&run->cond);
	pthread_mutex_destroy(&run->lock);

	for (i = 0; i < g->n; i++)
		if (run->state[i] == KC_LOAD_FAILED) {
			if (failed)
				*failed = i;
			if (d)
				*d = run->diag[i];
			return run->err[i];
		}
	for (i = 0; i < g->n; i++)
		if (run->state[i] != KC_LOAD_DONE) {
			if (failed)
				*failed = i;
			si_diag_field(d, "depends");
			return SI_E_MOD_CYCLE;
		}
	return 0;
}
