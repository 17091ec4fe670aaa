/* sealinit tests/crash/: the power-loss harness.  It runs the real update
 * code -- the boot's update stage (update/boot.c, what PID 1 runs),
 * sealctl's stage, confirm and revert (update/engine.c), the patch driver
 * (patch/apply.c) -- against a model of a disk that keeps only what was
 * synced (memfs.c), and cuts the power at every operation.
 *
 * For each scenario: the disk before the operation is made (by running
 * the real code on the model); the operation runs once to count its
 * mutating operations; then, for every crash point k, it runs again and
 * the power goes at operation k; every disk that cut can leave
 * (memfs_state: all pending lost, every prefix kept, the last write torn,
 * reordered subsets) boots: the boot's update stage runs on it (that is
 * recovery), and the harness checks
 *   - the boot stage returns (the state records can be read);
 *   - the set that boots is the old one or the new one, byte for byte;
 *   - every image that set names is in the slot, its manifest the one the
 *     set names, its whole hash tree recomputed against its signed root;
 *   - no image of it is below a recorded floor (the device would refuse
 *     its own set: unbootable);
 *   - the state's record of the booted set agrees with the slot;
 *   - the next update still works: confirm when on trial, stage a bundle
 *     from the booted set to a newer release, boot, and find it active.
 * Recovery itself is then crashed at every one of its points (one level of
 * nesting) on the two extreme states of each point and must still end in
 * a valid state.  Faults besides power: ENOSPC and EIO at every write of
 * the operation (persistent from there on, and once): the boot goes on
 * with a whole set, a line says why, and the next update works.
 *
 * Usage: crashtest [--scenario NAME] [--sample] [--seed N] [-v]
 *   --sample  every 7th crash point, nested every 11th (make check)
 * Prints per scenario "crash points, states, nested, faults" and last
 * "crashtest: N crash points, M states, F failures" and
 * "crashtest: P passed, F failed".  Keys from tests/vectors/seal/; run
 * from the top directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/crash/memfs.h"
#include "tests/unit/t_key.h"
#include "tests/unit/t_release.h"

#define CAPACITY (64u << 20)

static char top[200];
static uint8_t work[8u << 20];
static int verbose;
static unsigned seed = 1;
static unsigned stride = 1, nstride = 1;

/* ------------------------------------------------------------ releases */

enum { R_A, R_B, R_C, R_D, R_N };
static const char *const rel_name[R_N] = { "13.3.1", "13.3.1a", "13.3.1b", "13.3.2" };
static char rel_dir[R_N][300];
static uint8_t rel_digest[R_N][32];       /* of each release.set */

/* Bundles: index [from][to]; made on demand. */
static char bundle_path[R_N][R_N][300];

static int rel_of(const uint8_t digest[32])
{
	int i;

	for (i = 0; i < R_N; i++)
		if (!memcmp(digest, rel_digest[i], 32))
			return i;
	return -1;
}

static const char *bundle_of(int from, int to)
{
	if (!bundle_path[from][to][0]) {
		struct up_bundle b;

		snprintf(bundle_path[from][to], sizeof bundle_path[0][0], "%s/%d%d.bundle", top,
			 from, to);
		bundle(rel_dir[from], rel_dir[to], bundle_path[from][to], &b);
	}
	return bundle_path[from][to];
}

/* ------------------------------------------------------------ the code under test */

static struct si_fs fsops;
static struct up_engine E;
static struct up_plan P;
static struct plan_board board;
static char lines[128][600];
static unsigned n_lines;

static void logline(void *ctx, int level, const char *line)
{
	(void)ctx;
	(void)level;
	if (verbose > 1)
		fprintf(stderr, "    | %s\n", line);
	if (n_lines < 128)
		snprintf(lines[n_lines++], sizeof lines[0], "%s", line);
}

static void plan_logline(void *ctx, int level, const char *line)
{
	logline(ctx, level, line);
}

static struct plan_ops pops = { .log = plan_logline };

static void engine_on(struct memfs *m, int fresh_log)
{
	memfs_ops(m, &fsops);
	memset(&E, 0, sizeof E);
	E.fs = &fsops;
	E.anchor = &anchor;
	E.kc_boot_path = "kc/boot.kc";
	E.cryptex_dir = "cryptexes";
	E.trial_boots = 3;
	E.prefix = "sealinit: update";
	E.log = logline;
	E.decode = patch_decode_zstd;
	E.threads = 1; /* one worker: the same operations in the same order every run */
	E.work = work;
	E.work_len = sizeof work;
	if (fresh_log)
		n_lines = 0;
}

static char booted;
static int boot_fallback; /* the scenario's boots: the loader fell back (sealinit.loader=fallback) */

/* The boot's update stage, as PID 1 runs it; fallback: with
 * sealinit.loader=fallback. */
static int boot_as(struct memfs *m, int fallback)
{
	struct up_boot b;
	struct si_diag d;
	int r;

	engine_on(m, 1);
	memset(&b, 0, sizeof b);
	b.e = &E;
	b.board = &board;
	b.ops = &pops;
	b.plan = &P;
	b.loader_fallback = fallback;
	si_diag_clear(&d);
	r = up_boot_run(&b, &d);
	booted = r ? 0 : b.slot;
	return r;
}

/* A boot of the scenario under test. */
static int op_boot(struct memfs *m)
{
	return boot_as(m, boot_fallback);
}

static int os_step(struct memfs *m, int (*fn)(struct up_engine *, struct si_diag *))
{
	struct si_diag d;
	int r;

	engine_on(m, 1);
	si_diag_clear(&d);
	r = up_engine_load(&E, &d);
	return r ? r : fn(&E, &d);
}

static int op_confirm(struct memfs *m)
{
	return os_step(m, up_confirm);
}

static int op_request_revert(struct memfs *m)
{
	return os_step(m, up_request_revert);
}

static const char *stage_file;

static int op_stage(struct memfs *m)
{
	struct si_diag d;
	struct stat st;
	int fd, r;

	engine_on(m, 1);
	si_diag_clear(&d);
	r = up_engine_load(&E, &d);
	if (r)
		return r;
	fd = open(stage_file, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "crashtest: %s: %s\n", stage_file, strerror(errno));
		exit(2);
	}
	r = up_stage(&E, fd, (uint64_t)st.st_size, &P, &d);
	close(fd);
	return r;
}

/* ------------------------------------------------------------ checks */

static char why[1024];

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	return 1;
}

/* The set in slot x of m: which release, every image whole, no image
 * below its floor.  -1 (why says it) when not. */
static int check_slot(struct memfs *m, char x)
{
	static uint8_t buf[SI_MANIFEST_MAX];
	struct si_set s;
	struct si_diag d;
	size_t len = 0;
	unsigned i;
	int rel, r;

	engine_on(m, 0);
	si_diag_clear(&d);
	r = up_engine_load(&E, &d);
	if (r)
		return fail("the state or the floors cannot be read after recovery: %s",
			    si_err_name(r)), -1;
	r = up_slot_set(&E, x, &s, buf, &len, &d);
	if (r)
		return fail("slot %c's release.set: %s (field %s)", x, si_err_name(r),
			    d.field ? d.field : "-"), -1;
	rel = rel_of(s.digest);
	if (rel < 0)
		return fail("slot %c holds a release.set that is none of the releases", x), -1;
	for (i = 0; i < s.n; i++) {
		const struct si_set_image *im = &s.img[i];
		const struct mf_blob *b;
		struct si_seal_unverified u;
		struct si_mem_io mio;
		struct si_io io;
		char path[UP_PATH_MAX];

		up_image_path(&E, x, im->kind, im->name, path, sizeof path);
		b = memfs_file(m, path);
		if (!b)
			return fail("%s (release %s) is missing", path, rel_name[rel]), -1;
		si_io_mem(&io, &mio, b->p, (size_t)b->size);
		si_diag_clear(&d);
		r = si_seal_open_unverified(&io, &u, &d);
		if (r)
			return fail("%s: %s", path, si_err_name(r)), -1;
		if (memcmp(u.m.digest, im->digest, 32))
			return fail("%s is not the image release %s names (a mix)", path,
				    rel_name[rel]), -1;
		r = si_seal_verify_tree(&u.m, b->p, (size_t)b->size, 1, &d);
		if (r)
			return fail("%s: its hash tree: %s", path, si_err_name(r)), -1;
		if (im->rollback_index < up_floor_of(&E.floors, im->name))
			return fail("%s: rollback index %llu below the recorded floor %llu: the "
				    "device would refuse its own set", path,
				    (unsigned long long)im->rollback_index,
				    (unsigned long long)up_floor_of(&E.floors, im->name)), -1;
	}
	return rel;
}

/* After recovery booted slot `booted`: the checks above, and the state
 * agrees.  Returns the release booted, -1 on failure. */
static int check_booted(struct memfs *m, int old, int new)
{
	int rel = check_slot(m, booted);

	if (rel < 0)
		return -1;
	if (rel != old && rel != new)
		return fail("release %s boots; only %s or %s may", rel_name[rel], rel_name[old],
			    rel_name[new]), -1;
	if (booted == E.st.active && memcmp(E.st.active_set, rel_digest[rel], 32) &&
	    !(E.st.active_set[0] == 0 && !memcmp(E.st.active_set, E.st.active_set + 1, 31)))
		return fail("the state names another set for slot %c than the one in it", booted), -1;
	if (booted != E.st.active && booted != E.st.previous)
		return fail("slot %c boots but the state names neither it active nor previous",
			    booted), -1;
	return rel;
}

/* The next update: confirm a trial, stage a bundle from the booted set to
 * the next release, boot, find it active; confirm it. */
static int next_update(struct memfs *m, int rel)
{
	int to = rel == R_A ? R_C : R_D, r;

	if (rel == R_D)
		return 0; /* nothing newer */
	if (!(E.st.flags & UP_STATE_CONFIRMED) && booted == E.st.active) {
		r = op_confirm(m);
		if (r)
			return fail("next update: confirm: %s", si_err_name(r));
	}
	stage_file = bundle_of(rel, to);
	r = op_stage(m);
	if (r == SI_E_BUNDLE_FAILED)
		return 0; /* that target failed its trial here before: refused by design */
	if (r)
		return fail("next update: stage %s -> %s: %s", rel_name[rel], rel_name[to],
			    si_err_name(r));
	r = boot_as(m, 0); /* the loader fell back from that trial, not this one */
	if (r)
		return fail("next update: boot: %s", si_err_name(r));
	r = check_slot(m, booted);
	if (r < 0)
		return 1;
	if (r != to)
		return fail("next update: %s boots, %s was staged", rel_name[r], rel_name[to]);
	r = op_confirm(m);
	if (r)
		return fail("next update: confirm %s: %s", rel_name[to], si_err_name(r));
	return 0;
}

/* ------------------------------------------------------------ scenarios */

struct scenario {
	const char *name;
	const char *what;
	void (*prepare)(struct memfs *m);
	int (*op)(struct memfs *m);
	int old, new;
	int finish;                    /* a crash may not lose it: recovery ends in `new` */
	int tight;                     /* the disk holds what the apply needs and no more */
	int fallback;                  /* every boot has sealinit.loader=fallback */
};

static struct memfs factory_disk;

static void must(int r, const char *what)
{
	if (r) {
		fprintf(stderr, "crashtest: preparing: %s: %s\n", what, si_err_name(r));
		unsigned i;

		for (i = 0; i < n_lines; i++)
			fprintf(stderr, "  %s\n", lines[i]);
		exit(2);
	}
}

static void fresh(struct memfs *m)
{
	memfs_clone_durable(&factory_disk, m);
}

static void staged(struct memfs *m, int from, int to)
{
	stage_file = bundle_of(from, to);
	must(op_stage(m), "stage");
}

static void prep_staged_ab(struct memfs *m)
{
	fresh(m);
	staged(m, R_A, R_B);
}

static void prep_factory(struct memfs *m)
{
	fresh(m);
}

/* B applied from A, on trial (its first boot spent by the commit). */
static void prep_trial_b(struct memfs *m)
{
	prep_staged_ab(m);
	must(op_boot(m), "apply A -> B");
}

static void prep_confirmed_b(struct memfs *m)
{
	prep_trial_b(m);
	must(op_confirm(m), "confirm B");
}

/* B on trial with its attempts spent: the next boot rolls back. */
static void prep_trial_spent(struct memfs *m)
{
	unsigned i;

	prep_trial_b(m);
	for (i = 1; i < E.trial_boots; i++)
		must(op_boot(m), "trial boot");
}

static void prep_revert_asked(struct memfs *m)
{
	prep_confirmed_b(m);
	must(op_request_revert(m), "revert asked");
}

static void prep_stacked(struct memfs *m)
{
	prep_confirmed_b(m);
	staged(m, R_A, R_C);
}

static int op_stage_ab(struct memfs *m)
{
	stage_file = bundle_of(R_A, R_B);
	return op_stage(m);
}

static const struct scenario scenarios[] = {
	{ "apply", "a multi-image response (boot KC, os, app) applied at boot",
	  prep_staged_ab, op_boot, R_A, R_B, 1, 0, 0 },
	{ "apply-tight", "the same on a disk with the space it needs and no more",
	  prep_staged_ab, op_boot, R_A, R_B, 1, 1, 0 },
	{ "stage", "sealctl stage of that response in the running OS",
	  prep_factory, op_stage_ab, R_A, R_B, 0, 0, 0 },
	{ "confirm", "sealctl confirm of the trial (floors raised)",
	  prep_trial_b, op_confirm, R_B, R_B, 0, 0, 0 },
	{ "trial-boot", "a trial boot counted", prep_trial_b, op_boot, R_B, R_A, 0, 0, 0 },
	{ "rollback", "the trial's attempts spent: rolled back at boot",
	  prep_trial_spent, op_boot, R_B, R_A, 1, 0, 0 },
	{ "revert-ask", "sealctl revert (the request)", prep_confirmed_b, op_request_revert, R_B,
	  R_A, 0, 0, 0 },
	{ "revert", "the revert at boot (rebuilt from reverse patches)", prep_revert_asked, op_boot,
	  R_B, R_A, 1, 0, 0 },
	{ "stacked", "response (b) staged while (a) is active: (a) reverted, (b) applied, in one boot",
	  prep_stacked, op_boot, R_B, R_C, 1, 0, 0 },
	{ "loader-fallback", "the trial's kernel never reached sealinit: the boot loader fell back, "
	  "the trial is rolled back (loader.env rewritten)", prep_trial_b, op_boot, R_B, R_A, 1, 0, 1 },
};

/* ------------------------------------------------------------ running */

/* Disks already booted and checked, by fingerprint: many crash points
 * leave the same disk (nothing was synced between them), and it boots
 * the same way every time. */
struct seen {
	uint8_t (*d)[32];
	size_t n, cap;
};

static int seen_add(struct seen *t, const struct memfs *m)
{
	uint8_t fp[32];
	size_t i;

	memfs_fingerprint(m, fp);
	for (i = 0; i < t->n; i++)
		if (!memcmp(t->d[i], fp, 32))
			return 0;
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 256;
		t->d = realloc(t->d, t->cap * sizeof *t->d);
		if (!t->d)
			abort();
	}
	memcpy(t->d[t->n++], fp, 32);
	return 1;
}

static void seen_clear(struct seen *t)
{
	free(t->d);
	memset(t, 0, sizeof *t);
}

static struct seen seen1, seen_nbase, seen2;
static unsigned long n_distinct, n_nested_distinct;

static unsigned long n_points, n_states, n_nested_points, n_nested_states, n_faults, n_fail;

static void report(const struct scenario *s, const char *where, const char *state)
{
	unsigned i;

	n_fail++;
	printf("FAIL %s: %s, %s: %s\n", s->name, where, state, why);
	if (verbose)
		for (i = 0; i < n_lines; i++)
			printf("    | %s\n", lines[i]);
}

/* A disk after a crash: recovery boots it, the checks run; next: also the
 * next update.  0: good. */
static int recover_and_check(const struct scenario *s, struct memfs *m, int next, int faulted)
{
	int r, rel;

	why[0] = 0;
	r = op_boot(m);
	if (r)
		return fail("recovery: the boot's update stage failed: %s", si_err_name(r));
	rel = check_booted(m, s->old, s->new);
	if (rel < 0)
		return 1;
	/* a power cut loses no update: what was staged (or asked for) before
	 * the cut is done by the boot after it */
	if (!faulted && rel != s->new && (s->finish || memfs_file(m, UP_STAGED_BUNDLE)))
		return fail("recovery booted %s: the %s was lost (%s)", rel_name[rel],
			    s->name, E.st.outcome_text[0] ? E.st.outcome_text : "no outcome recorded");
	/* the boot loader's view (loader.env) says what the state says: a
	 * loader that read it would try the kernel of the set sealinit boots */
	if (!faulted && up_loader_env_needed(E.fs, &E.st))
		return fail("loader.env does not say what the state record says (active %c, "
			    "previous %c)", E.st.active, E.st.previous ? E.st.previous : '-');
	/* (a disk cut to one update's size has no room for the next) */
	return next && !s->tight ? next_update(m, rel) : 0;
}

/* How many mutating operations and writes op makes on a copy of base. */
static void count_ops(const struct memfs *base, int (*op)(struct memfs *), uint64_t *nmut,
		      uint64_t *nwrites)
{
	struct memfs m;

	memfs_clone_durable(base, &m);
	(void)op(&m);
	*nmut = m.nmut;
	*nwrites = m.nwrites;
	memfs_free(&m);
}

/* Recovery crashed at each of its points, on one state. */
static void nested(const struct scenario *s, const struct memfs *state, const char *label)
{
	uint64_t nm, nw, j;
	char where[400], what[100];

	count_ops(state, op_boot, &nm, &nw);
	for (j = 1; j <= nm; j += nstride) {
		struct memfs m;
		unsigned idx;

		memfs_clone_durable(state, &m);
		m.crash_at = j;
		(void)op_boot(&m);
		n_nested_points++;
		for (idx = 0;; idx++) {
			struct memfs st;
			size_t npend = m.snap ? m.snap->nops : 0;

			/* the two ends: all pending lost, all kept */
			if (idx > 1 || (idx == 1 && npend == 0))
				break;
			if (memfs_state(&m, idx ? (unsigned)npend : 0, seed, &st, what, sizeof what))
				break;
			n_nested_states++;
			if (!seen_add(&seen2, &st)) {
				memfs_free(&st);
				continue;
			}
			n_nested_distinct++;
			if (recover_and_check(s, &st, 0, 0)) {
				snprintf(where, sizeof where, "%.300s, recovery crashed at %llu of %llu",
					 label, (unsigned long long)j, (unsigned long long)nm);
				report(s, where, what);
			}
			memfs_free(&st);
		}
		memfs_free(&m);
	}
}

static void run_scenario(const struct scenario *s)
{
	struct memfs base;
	uint64_t nm, nw, k, w;
	unsigned long p0 = n_points, s0 = n_states, np0 = n_nested_points, ns0 = n_nested_states,
		      f0 = n_faults, fl0 = n_fail, d0 = n_distinct, nd0 = n_nested_distinct;
	char where[400], what[100];

	boot_fallback = 0;
	s->prepare(&base);
	boot_fallback = s->fallback;
	if (s->tight) {
		/* what the apply says it needs, on top of what is used */
		struct memfs m;
		uint64_t fr = 0;

		memfs_clone_durable(&base, &m);
		memfs_ops(&m, &fsops);
		fsops.free_bytes(fsops.ctx, &fr, NULL);
		(void)op_boot(&m);
		base.capacity = base.capacity - fr + P.need + 4096;
		memfs_free(&m);
	}
	count_ops(&base, s->op, &nm, &nw);
	if (verbose)
		printf("%s: %s: %llu operations, %llu writes\n", s->name, s->what,
		       (unsigned long long)nm, (unsigned long long)nw);
	/* power cuts */
	for (k = 1; k <= nm; k += stride) {
		struct memfs m;
		unsigned idx;

		memfs_clone_durable(&base, &m);
		m.crash_at = k;
		(void)s->op(&m);
		n_points++;
		for (idx = 0;; idx++) {
			struct memfs st;

			if (memfs_state(&m, idx, seed + (unsigned)k, &st, what, sizeof what))
				break;
			n_states++;
			snprintf(where, sizeof where, "power cut at operation %llu of %llu",
				 (unsigned long long)k, (unsigned long long)nm);
			if (seen_add(&seen1, &st)) {
				struct memfs keep;

				n_distinct++;
				memfs_clone_durable(&st, &keep);
				if (recover_and_check(s, &st, 1, 0))
					report(s, where, what);
				/* nesting on the ends of each point */
				if ((idx == 0 || idx == (m.snap ? m.snap->nops : 0)) &&
				    (k - 1) % (nstride * stride) == 0 && seen_add(&seen_nbase, &keep))
					nested(s, &keep, where);
				memfs_free(&keep);
			}
			memfs_free(&st);
		}
		memfs_free(&m);
	}
	/* faults: every write fails from w on (ENOSPC, EIO), or only w (EIO) */
	for (w = 1; w <= nw; w += stride) {
		static const struct { int e, once; } kinds[] = { { ENOSPC, 0 }, { EIO, 0 }, { EIO, 1 } };
		unsigned kk;

		for (kk = 0; kk < 3; kk++) {
			struct memfs m;
			int r, rel;

			memfs_clone_durable(&base, &m);
			m.fault_at = w;
			m.fault_errno = kinds[kk].e;
			m.fault_once = kinds[kk].once;
			why[0] = 0;
			r = s->op(&m);
			n_faults++;
			snprintf(where, sizeof where, "%s at write %llu of %llu%s",
				 kinds[kk].e == ENOSPC ? "ENOSPC" : "EIO", (unsigned long long)w,
				 (unsigned long long)nw, kinds[kk].once ? " (once)" : "");
			if (s->op == op_boot) {
				/* the lines of this boot, before the checks log again */
				unsigned i;
				int seen = 0;

				for (i = 0; i < n_lines; i++)
					if (strstr(lines[i], strerror(kinds[kk].e)))
						seen = 1;
				if (r) {
					fail("the boot's update stage failed: %s", si_err_name(r));
					report(s, where, "during");
					memfs_free(&m);
					continue;
				}
				rel = check_booted(&m, s->old, s->new);
				if (rel < 0) {
					report(s, where, "during");
				} else if (rel == s->old && s->old != s->new && m.faulted && !seen) {
					/* an abort: a line must say why */
					fail("the old set boots but no line says %s", strerror(kinds[kk].e));
					report(s, where, "during");
				}
			}
			/* the fault is gone (space freed, the disk replaced): the
			 * device recovers and updates */
			m.fault_at = 0;
			{
				struct memfs st;

				memfs_clone_durable(&m, &st);
				if (recover_and_check(s, &st, 1, 1))
					report(s, where, "after");
				memfs_free(&st);
			}
			memfs_free(&m);
		}
	}
	memfs_free(&base);
	seen_clear(&seen1);
	seen_clear(&seen_nbase);
	seen_clear(&seen2);
	printf("crashtest: %-10s %4lu crash points, %5lu states (%4lu distinct), %5lu nested points, "
	       "%6lu nested states (%5lu distinct), %4lu faults, %lu failures (%s)\n", s->name,
	       n_points - p0, n_states - s0, n_distinct - d0, n_nested_points - np0,
	       n_nested_states - ns0, n_nested_distinct - nd0, n_faults - f0, n_fail - fl0, s->what);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	const char *only = NULL;
	unsigned long total;
	int i, any = 0;
	char *t;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--scenario") && i + 1 < argc)
			only = argv[++i];
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			seed = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--sample")) {
			stride = 7;
			nstride = 11;
		} else if (!strcmp(argv[i], "-v"))
			verbose++;
		else {
			fprintf(stderr, "usage: crashtest [--scenario NAME] [--sample] [--seed N] [-v]\n");
			return 2;
		}
	}
	t_release_keys();
	snprintf(top, sizeof top, "%s/crashtest.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	t = mkdtemp(top);
	if (!t)
		return 2;
	/* four releases; A -> B changes every image (a multi-image response) */
	for (i = 0; i < R_N; i++) {
		static const unsigned kc[R_N] = { 11, 12, 13, 14 }, os[R_N] = { 1, 2, 3, 4 },
				      app[R_N] = { 5, 6, 5, 7 };
		char p[1300];

		snprintf(rel_dir[i], sizeof rel_dir[i], "%s/%c", top, 'A' + i);
		release(rel_dir[i], rel_name[i], 1, os[i], 1, 1, kc[i], app[i]);
		snprintf(p, sizeof p, "%s/release.set", rel_dir[i]);
		{
			size_t n;
			uint8_t *b = t_slurp(p, &n);

			patch_hash(b, n, rel_digest[i]);
			free(b);
		}
	}
	/* the factory disk: release A in slot a */
	sh("mkdir -p '%s/factory/slots' && cp -a '%s' '%s/factory/slots/a'", top, rel_dir[R_A], top);
	{
		char p[1300];

		memfs_init(&factory_disk, CAPACITY);
		snprintf(p, sizeof p, "%s/factory", top);
		if (memfs_import(&factory_disk, p) != 0)
			return 2;
	}
	for (i = 0; i < (int)(sizeof scenarios / sizeof scenarios[0]); i++) {
		if (only && strcmp(only, scenarios[i].name))
			continue;
		any = 1;
		run_scenario(&scenarios[i]);
	}
	sh("rm -rf '%s'", top);
	if (!any) {
		fprintf(stderr, "crashtest: no scenario '%s'\n", only);
		return 2;
	}
	total = n_distinct + n_nested_distinct + n_faults;
	printf("crashtest: %lu crash points, %lu states (%lu distinct disks booted), %lu nested crash "
	       "points, %lu nested states (%lu distinct), %lu faults, %lu failures\n", n_points,
	       n_states, n_distinct, n_nested_points, n_nested_states, n_nested_distinct, n_faults,
	       n_fail);
	printf("crashtest: %lu crash points, %lu states, %lu failures\n", n_points + n_nested_points,
	       n_states + n_nested_states, n_fail);
	printf("crashtest: %lu passed, %lu failed\n", total - (n_fail < total ? n_fail : total), n_fail);
	return n_fail ? 1 : 0;
}
