/* Unit tests for the update engine (update/engine.c) on a real directory:
 * a preboot volume with a factory release, bundles made by the same code
 * as `sealctl update create`, then stage, apply at boot, confirm, revert,
 * a response stacked on another, and every refusal with its error --
 * checking after each refusal that nothing was written.  Keys come from
 * tests/vectors/seal/; run from the top directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "patch/diff.h"
#include "tests/unit/t.h"
#include "tests/unit/t_key.h"
#include "tests/unit/t_release.h"
#include "plan/plan.h"
#include "update/engine.h"
#include "verify/set.h"

static char top[256];          /* the test's directory */
static char pre[300];          /* the preboot volume */
static uint8_t work[8u << 20];

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static int exists(const char *fmt, const char *a)
{
	char p[600];
	struct stat st;

	snprintf(p, sizeof p, fmt, a);
	return stat(p, &st) == 0;
}
#pragma GCC diagnostic pop

/* ------------------------------------------------------------ the engine */

static struct up_posix px;
static struct si_fs fs;
static struct up_engine e;
static struct up_plan plan;
static uint64_t fake_free;     /* nonzero: what free_bytes says */
static char lines[64][600];
static unsigned n_lines;

static void logline(void *ctx, int level, const char *line)
{
	(void)ctx;
	(void)level;
	if (n_lines < 64)
		snprintf(lines[n_lines++], sizeof lines[0], "%s", line);
}

static int small_free(void *ctx, uint64_t *bytes, struct si_diag *d)
{
	(void)ctx;
	(void)d;
	*bytes = fake_free;
	return 0;
}

static void engine(void)
{
	static int fd = -1;
	struct si_diag d;

	if (fd >= 0)
		close(fd);
	fd = open(pre, O_RDONLY | O_DIRECTORY);
	up_fs_posix(&fs, &px, fd);
	if (fake_free)
		fs.free_bytes = small_free;
	memset(&e, 0, sizeof e);
	e.fs = &fs;
	e.anchor = &anchor;
	e.kc_boot_path = "kc/boot.kc";
	e.cryptex_dir = "cryptexes";
	e.trial_boots = 3;
	e.prefix = "update";
	e.log = logline;
	e.decode = patch_decode_zstd;
	e.threads = 2;
	e.work = work;
	e.work_len = sizeof work;
	n_lines = 0;
	si_diag_clear(&d);
	if (up_engine_load(&e, &d) != 0) {
		fprintf(stderr, "test_engine: load: %s\n", si_err_name(up_engine_load(&e, &d)));
		exit(2);
	}
}

static int stage(const char *file)
{
	struct stat st;
	struct si_diag d;
	int fd = open(file, O_RDONLY), r;

	engine();
	fstat(fd, &st);
	si_diag_clear(&d);
	r = up_stage(&e, fd, (uint64_t)st.st_size, &plan, &d);
	close(fd);
	return r;
}

static int boot_apply(void)
{
	struct si_diag d;

	engine();
	si_diag_clear(&d);
	return up_apply_staged(&e, &plan, &d);
}

/* A listing of the preboot volume (names and sizes), to compare. */
static void listing(char *out, size_t n)
{
	char cmd[700];
	FILE *p;
	size_t k;

	snprintf(cmd, sizeof cmd, "cd '%s' && find . -printf '%%p %%s\\n' | LC_ALL=C sort", pre);
	p = popen(cmd, "r");
	k = fread(out, 1, n - 1, p);
	out[k] = '\0';
	pclose(p);
}

static int image_is(char slot, const char *rel, const char *release_dir)
{
	char a[700], b[700];

	snprintf(a, sizeof a, "cmp -s '%s/slots/%c/%s' '%s/%s'", pre, slot, rel, release_dir, rel);
	(void)b;
	return system(a) == 0;
}

/* ------------------------------------------------------------ tests */

static char relA[300], relB[300], relC[300], relOld[300], relX[300];
static char bAB[300], bAC[300], bBC[300], bAOld[300], bAX[300];

static void factory(void)
{
	sh("rm -rf '%s' && mkdir -p '%s/slots'", pre, pre);
	sh("cp -a '%s' '%s/slots/a'", relA, pre);
	fake_free = 0;
}

static void test_apply_confirm_revert(void)
{
	char before[8192];

	factory();
	T_OK(stage(bAB));
	T_CHECK(exists("%s/staged/bundle", pre), "staged");
	T_EQ(plan.stacked, 0);
	T_EQ(plan.new_slot, 'b');
	/* the boot */
	T_OK(boot_apply());
	T_EQ(e.st.active, 'b');
	T_EQ(e.st.previous, 'a');
	T_EQ(e.st.trial_total, 3);
	T_EQ(e.st.trial_left, 2);
	T_EQ(e.st.flags & UP_STATE_CONFIRMED, 0);
	T_EQ(e.st.outcome, UP_OUT_APPLIED);
	T_CHECK(image_is('b', "cryptexes/os.cryptex", relB), "os is release B's, byte for byte");
	T_CHECK(image_is('b', "kc/boot.kc", relB), "boot linked");
	T_CHECK(image_is('b', "release.set", relB), "the set");
	T_CHECK(exists("%s/slots/b/revert/cryptex-os.patch", pre), "reverse patch kept");
	T_CHECK(exists("%s/slots/b/revert/base.set", pre), "base set kept");
	T_CHECK(!exists("%s/staged/bundle", pre), "bundle removed");
	T_CHECK(image_is('a', "cryptexes/os.cryptex", relA), "the previous set is untouched");
	/* the same bundle again: not over itself */
	sh("mkdir -p '%s/staged' && cp '%s' '%s/staged/bundle'", pre, bAB, pre);
	listing(before, sizeof before);
	engine();
	/* on trial: nothing may be staged */
	{
		struct stat st;
		struct si_diag d;
		int fd = open(bAB, O_RDONLY);

		fstat(fd, &st);
		si_diag_clear(&d);
		T_ERR(up_stage(&e, fd, (uint64_t)st.st_size, &plan, &d), SI_E_TRIAL_PENDING);
		close(fd);
	}
	sh("rm -rf '%s/staged'", pre);
	/* confirm: floors, the previous slot's images go */
	engine();
	{
		struct si_diag d;

		si_diag_clear(&d);
		T_OK(up_confirm(&e, &d));
	}
	T_CHECK(e.st.flags & UP_STATE_CONFIRMED, "confirmed");
	T_EQ(up_floor_of(&e.floors, UP_FLOOR_SET), 1);
	T_EQ(up_floor_of(&e.floors, "os"), 1);
	T_CHECK(!exists("%s/slots/a", pre), "slot a pruned");
	/* revert: rebuilt from the reverse patches, nothing downloaded */
	engine();
	{
		struct si_diag d;

		si_diag_clear(&d);
		T_OK(up_request_revert(&e, &d));
		T_CHECK(e.st.flags & UP_STATE_REVERT, "revert requested");
		engine();
		si_diag_clear(&d);
		T_OK(up_revert(&e, &d));
	}
	T_EQ(e.st.active, 'a');
	T_EQ(e.st.previous, 0);
	T_EQ(e.st.outcome, UP_OUT_REVERTED);
	T_CHECK(e.st.flags & UP_STATE_CONFIRMED, "the base was confirmed before");
	T_CHECK(image_is('a', "cryptexes/os.cryptex", relA), "os rebuilt byte for byte");
	T_CHECK(image_is('a', "kc/boot.kc", relA), "boot back");
	T_CHECK(image_is('a', "release.set", relA), "base set back");
	T_CHECK(!exists("%s/slots/b", pre), "the reverted slot removed");
	/* and a later update works */
	T_OK(stage(bAB));
	T_OK(boot_apply());
	T_EQ(e.st.active, 'b');
}

static void test_stacked(void)
{
	struct si_diag d;

	factory();
	T_OK(stage(bAB));
	T_OK(boot_apply());
	engine();
	si_diag_clear(&d);
	T_OK(up_confirm(&e, &d));
	/* (b) is made from the base, not from (a) */
	T_OK(stage(bAC));
	T_EQ(plan.stacked, 1);
	T_EQ(plan.base_slot, 'a');
	T_EQ(plan.new_slot, 'c');
	T_OK(boot_apply());
	T_EQ(e.st.active, 'c');
	T_EQ(e.st.previous, 'a');
	T_CHECK(image_is('c', "cryptexes/os.cryptex", relC), "os is (b)'s");
	T_CHECK(image_is('a', "cryptexes/os.cryptex", relA), "the base rebuilt for it");
	T_CHECK(!exists("%s/slots/b", pre), "(a)'s slot removed");
	/* a bundle from (a) to (b) is refused: (a) is not active any more */
	T_ERR(stage(bBC), SI_E_TRIAL_PENDING);
	engine();
	si_diag_clear(&d);
	T_OK(up_confirm(&e, &d));
	T_ERR(stage(bBC), SI_E_BUNDLE_BASE);
	T_CHECK(!exists("%s/staged/bundle", pre), "nothing left");
}

static void test_refusals(void)
{
	char before[8192], after[8192];
	char bad[320];

	/* a bundle for another release: refused before any write */
	factory();
	listing(before, sizeof before);
	T_ERR(stage(bBC), SI_E_BUNDLE_BASE);
	listing(after, sizeof after);
	T_STREQ(after, before);
	/* a flipped payload byte */
	factory();
	snprintf(bad, sizeof bad, "%s/bad.bundle", top);
	sh("cp '%s' '%s'", bAB, bad);
	{
		struct up_bundle b;

		bundle(relA, relB, bad, &b);
		const struct up_entry *os = up_bundle_find(&b, SI_KIND_CRYPTEX, "os");

		T_CHECK(os && os->fwd.len, "os patched");
		sh("printf 'X' | dd of='%s' bs=1 seek=%llu conv=notrunc status=none", bad,
		   (unsigned long long)(os->fwd.off + os->fwd.len / 2));
		listing(before, sizeof before);
		T_ERR(stage(bad), SI_E_BUNDLE_PAYLOAD);
		listing(after, sizeof after);
		T_STREQ(after, before);
		/* staged behind sealctl's back: sealinit refuses and removes it */
		sh("mkdir -p '%s/staged' && cp '%s' '%s/staged/bundle'", pre, bad, pre);
		T_ERR(boot_apply(), SI_E_BUNDLE_PAYLOAD);
		T_EQ(e.st.active, 'a');
		T_EQ(e.st.outcome, UP_OUT_REFUSED);
		T_CHECK(strstr(e.st.outcome_text, "SI_E_BUNDLE_PAYLOAD") != NULL, "outcome says why");
		T_CHECK(!exists("%s/staged/bundle", pre), "removed");
		T_CHECK(image_is('a', "cryptexes/os.cryptex", relA), "the active set untouched");
	}
	/* a broken signature */
	factory();
	sh("cp '%s' '%s' && printf 'Z' | dd of='%s' bs=1 seek=100 conv=notrunc status=none", bAB, bad, bad);
	T_CHECK(stage(bad) != 0, "a changed head is refused");
	T_CHECK(!exists("%s/staged", pre), "nothing left");
	/* a downgrade: an older set after a newer one was confirmed */
	factory();
	T_OK(stage(bAB));
	T_OK(boot_apply());
	{
		struct si_diag d;

		engine();
		si_diag_clear(&d);
		T_OK(up_confirm(&e, &d));
	}
	sh("rm -rf '%s/slots/a'", pre);
	{
		/* bOld: B -> Old (set rollback 0 < floor 1) */
		snprintf(bAOld, sizeof bAOld, "%s/bOld.bundle", top);
	}
	{
		struct up_bundle b;

		bundle(relB, relOld, bAOld, &b);
	}
	T_ERR(stage(bAOld), SI_E_SEAL_ROLLBACK);
	/* an image below its recorded floor: os 1 against a floor of 5 */
	factory();
	engine();
	{
		struct up_floors f = e.floors;
		struct si_diag d;

		T_OK(up_floor_raise(&f, "os", 5));
		si_diag_clear(&d);
		T_OK(up_floors_store(&fs, &f, &d));
		T_ERR(stage(bAB), SI_E_SEAL_ROLLBACK);
		T_CHECK(!exists("%s/staged/bundle", pre), "nothing left");
	}
	/* a release that failed its trial is not tried again */
	factory();
	engine();
	memcpy(e.st.failed_set, plan.target.digest, 32);
	{
		struct si_diag d;
		struct up_state s = e.st;

		T_OK(stage(bAB));
		memcpy(s.failed_set, plan.target.digest, 32);
		sh("rm -rf '%s/staged'", pre);
		engine();
		s.seq = e.st.seq;
		si_diag_clear(&d);
		T_OK(up_state_store(&fs, &s, &d));
		T_ERR(stage(bAB), SI_E_BUNDLE_FAILED);
	}
	/* no space: refused with both numbers, nothing written */
	factory();
	fake_free = 1000;
	listing(before, sizeof before);
	T_ERR(stage(bAB), SI_E_NO_SPACE);
	listing(after, sizeof after);
	T_STREQ(after, before);
	/* ... also at boot, after the space went */
	fake_free = 0;
	T_OK(stage(bAB));
	fake_free = 1000;
	T_ERR(boot_apply(), SI_E_NO_SPACE);
	T_EQ(e.st.active, 'a');
	T_CHECK(!exists("%s/staged/bundle", pre), "removed");
	fake_free = 0;
	/* a revert with nothing to go back to */
	factory();
	engine();
	{
		struct si_diag d;

		si_diag_clear(&d);
		T_ERR(up_request_revert(&e, &d), SI_E_NO_PREVIOUS);
	}
	/* an image added by the update, and one it drops */
	factory();
	T_OK(stage(bAX));
	T_OK(boot_apply());
	T_CHECK(!exists("%s/slots/b/cryptexes/app.cryptex", pre), "app dropped");
	T_CHECK(exists("%s/slots/b/revert/cryptex-app.patch", pre), "its way back kept");
	{
		struct si_diag d;

		engine();
		si_diag_clear(&d);
		T_OK(up_confirm(&e, &d));
		T_OK(up_request_revert(&e, &d));
		engine();
		T_OK(up_revert(&e, &d));
	}
	T_CHECK(image_is('a', "cryptexes/app.cryptex", relA), "app restored from nothing");
}

/* A trial that runs out rolls back (plan_update decides, as at boot); the
 * failed release is refused from then on, and a later one applies. */
static void test_rollback_then_update(void)
{
	struct plan_update u;
	struct plan_board b;
	struct si_diag d;
	unsigned k;

	memset(&b, 0, sizeof b);
	b.trial_boots = 3;
	factory();
	T_OK(stage(bAB));
	T_OK(boot_apply());
	/* boots 2 and 3 spend their attempts, the 4th finds none left */
	for (k = 0; k < 3; k++) {
		engine();
		plan_update(&b, &e.st, 0, &u, NULL);
		if (k < 2) {
			T_EQ(u.action, PLAN_UP_TRIAL);
			T_EQ(u.slot, 'b');
		} else {
			T_EQ(u.action, PLAN_UP_ROLLBACK);
			T_EQ(u.slot, 'a');
		}
		T_EQ(u.write, 1);
		u.next.seq = e.st.seq;
		si_diag_clear(&d);
		T_OK(up_state_store(&fs, &u.next, &d));
	}
	engine();
	T_EQ(e.st.active, 'a');
	T_EQ(e.st.outcome, UP_OUT_ROLLED_BACK);
	T_CHECK(e.st.flags & UP_STATE_CONFIRMED, "back on a confirmed set");
	/* a confirmed set writes nothing at boot */
	plan_update(&b, &e.st, 0, &u, NULL);
	T_EQ(u.action, PLAN_UP_BOOT);
	T_EQ(u.write, 0);
	/* the failed release is not tried again; another one is */
	T_ERR(stage(bAB), SI_E_BUNDLE_FAILED);
	T_OK(stage(bAC));
	T_OK(boot_apply());
	T_EQ(e.st.active, 'b');
	T_CHECK(image_is('b', "cryptexes/os.cryptex", relC), "the later release applied");
	T_CHECK(image_is('a', "cryptexes/os.cryptex", relA), "its base kept for its trial");
}

/* A crash in the middle of an apply: the next boot resumes and commits. */
static void test_resume(void)
{
	factory();
	T_OK(stage(bAB));
	/* the work of a boot that died before the commit: slot b half made */
	sh("mkdir -p '%s/slots/b/cryptexes' && head -c 5000 '%s/cryptexes/os.cryptex' > "
	   "'%s/slots/b/cryptexes/os.cryptex.part'", pre, relB, pre);
	sh("cp '%s/kc/boot.kc' '%s/slots/b/x.junk'", relA, pre);
	T_OK(boot_apply());
	T_EQ(e.st.active, 'b');
	T_CHECK(image_is('b', "cryptexes/os.cryptex", relB), "os whole");
	/* a state record of the old layout is the previous one, intact */
	{
		struct up_record_info info;
		struct up_state s;
		struct si_diag d;

		si_diag_clear(&d);
		T_OK(up_state_load(&fs, &s, &info, &d));
		T_EQ(s.active, 'b');
		T_CHECK(info.other_valid || info.seq == 1, "the other copy is the previous record");
	}
}

int main(int argc, char **argv)
{
	char *t;

	t_release_keys();
	snprintf(top, sizeof top, "%s/test_engine.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	t = mkdtemp(top);
	if (!t)
		return 2;
	snprintf(pre, sizeof pre, "%s/pre", top);
	snprintf(relA, sizeof relA, "%s/A", top);
	snprintf(relB, sizeof relB, "%s/B", top);
	snprintf(relC, sizeof relC, "%s/C", top);
	snprintf(relOld, sizeof relOld, "%s/Old", top);
	snprintf(relX, sizeof relX, "%s/X", top);
	release(relA, "13.3.1", 1, 1, 1, 1, 11, 5);
	release(relB, "13.3.1a", 1, 2, 1, 1, 11, 5);
	release(relC, "13.3.1b", 1, 3, 1, 1, 11, 5);
	release(relOld, "13.3", 0, 9, 1, 1, 11, 5);
	release(relX, "13.3.1x", 1, 4, 1, 0, 11, 5);
	snprintf(bAB, sizeof bAB, "%s/ab.bundle", top);
	snprintf(bAC, sizeof bAC, "%s/ac.bundle", top);
	snprintf(bBC, sizeof bBC, "%s/bc.bundle", top);
	snprintf(bAX, sizeof bAX, "%s/ax.bundle", top);
	{
		struct up_bundle b;

		bundle(relA, relB, bAB, &b);
		T_EQ(b.n, 3);
		bundle(relA, relC, bAC, &b);
		bundle(relB, relC, bBC, &b);
		bundle(relA, relX, bAX, &b);
		T_EQ(up_bundle_find(&b, SI_KIND_CRYPTEX, "app")->action, UP_ACT_DROP);
	}
	if (argc == 3 && !strcmp(argv[1], "--dump")) {
		/* tests/fuzz/make-corpus: bundle heads as fuzz_bundle reads
		 * them (the head, then the file's size in 8 bytes) */
		const char *src[2] = { bAB, bAX };
		unsigned k;

		for (k = 0; k < 2; k++) {
			static uint8_t head[UP_BUNDLE_ALIGN + 8];
			struct stat st;
			char path[600];
			uint64_t sz;
			int fd = open(src[k], O_RDONLY);

			if (fd < 0 || fstat(fd, &st) != 0 || pread(fd, head, UP_BUNDLE_ALIGN, 0) != UP_BUNDLE_ALIGN)
				return 2;
			close(fd);
			sz = (uint64_t)st.st_size;
			memcpy(head + UP_BUNDLE_ALIGN, &sz, 8);
			snprintf(path, sizeof path, "%s/%s", argv[2], k ? "drop.bundle" : "patch.bundle");
			put(path, head, sizeof head);
		}
		sh("rm -rf '%s'", top);
		return 0;
	}
	test_apply_confirm_revert();
	test_stacked();
	test_refusals();
	test_rollback_then_update();
	test_resume();
	sh("rm -rf '%s'", top);
	return t_done("test_engine");
}
