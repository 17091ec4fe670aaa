/* update/floor_tpm.c against a real TPM 2.0: Debian's swtpm, started by
 * this test on a Unix socket (raw TPM commands), stopped at the end; a
 * restart of swtpm is a reboot (TPM Startup(CLEAR): write locks end).
 * What a user would notice: the floor counter is refused until
 * provisioned, refused when another tool's index sits at its handle,
 * only ever grows (raise, undefine + define again, TPM2_Clear + provision
 * again), is locked until the
 * reboot after a confirm, and the store takes the higher of the TPM's and
 * the file's floor; a missing TPM fails the load unless the build says
 * otherwise.
 *   test_floor_tpm [--dump DIR]   DIR: the swtpm conversations as fuzz
 *                                 corpus (tests/fuzz/fuzz_tpm2.c's form) */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/t.h"
#include "update/floor_tpm.h"

#define IDX UP_TPM_NV_INDEX_DEFAULT

static char dir[] = "/tmp/test_floor_tpm.XXXXXX";
static char sock[128];
static pid_t swtpm = -1;
static struct tpm2_dev dev;
static struct tpm2_ops real, ops;

/* ---- recording the conversation (--dump) */
static const char *dump_dir;
static uint8_t rec[16384];
static size_t rec_n;
static unsigned rec_files;

static int rec_transmit(void *ctx, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t cap,
			size_t *rlen, struct si_diag *d)
{
	int r = real.transmit(ctx, cmd, len, rsp, cap, rlen, d);

	if (r == 0 && rec_n + 2 + *rlen <= sizeof rec) {
		rec[rec_n] = (uint8_t)(*rlen >> 8);
		rec[rec_n + 1] = (uint8_t)*rlen;
		memcpy(rec + rec_n + 2, rsp, *rlen);
		rec_n += 2 + *rlen;
	}
	return r;
}

/* Starts recording an operation (fuzz_tpm2's selector byte op). */
static void rec_begin(uint8_t op)
{
	rec[0] = op;
	rec_n = 1;
}

static void rec_end(const char *name)
{
	char path[512];
	FILE *f;

	if (!dump_dir)
		return;
	snprintf(path, sizeof path, "%s/%02u-%s", dump_dir, rec_files++, name);
	f = fopen(path, "wb");
	if (f) {
		fwrite(rec, 1, rec_n, f);
		fclose(f);
	}
}

/* ---- swtpm */
static void swtpm_stop(void)
{
	if (swtpm > 0) {
		kill(swtpm, SIGTERM);
		waitpid(swtpm, NULL, 0);
	}
	swtpm = -1;
	tpm2_dev_close(&dev);
}

/* (Re)starts swtpm on the state in dir: a power cycle. */
static int swtpm_start(void)
{
	char state[160], server[160], ctrl[160], log[160];
	struct si_diag d;
	int i;

	snprintf(state, sizeof state, "dir=%s", dir);
	snprintf(server, sizeof server, "type=unixio,path=%s", sock);
	snprintf(ctrl, sizeof ctrl, "type=unixio,path=%s/ctrl", dir);
	snprintf(log, sizeof log, "file=%s/log,level=1", dir);
	unlink(sock);
	swtpm = fork();
	if (swtpm == 0) {
		execlp("swtpm", "swtpm", "socket", "--tpm2", "--tpmstate", state, "--server", server,
		       "--ctrl", ctrl, "--flags", "not-need-init,startup-clear", "--log", log, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 200; i++) {
		struct stat st;
		int status;

		if (stat(sock, &st) == 0)
			break;
		if (waitpid(swtpm, &status, WNOHANG) == swtpm) {
			fprintf(stderr, "test_floor_tpm: swtpm did not start (exit %d): install Debian's swtpm\n",
				WEXITSTATUS(status));
			swtpm = -1;
			return -1;
		}
		usleep(20000);
	}
	si_diag_clear(&d);
	if (tpm2_dev_open(&dev, sock, &real, &d) != 0) {
		fprintf(stderr, "test_floor_tpm: cannot connect to swtpm at %s\n", sock);
		return -1;
	}
	ops = real;
	ops.transmit = rec_transmit;
	return 0;
}

static uint64_t counter(void)
{
	uint64_t v = 0;
	int locked;

	if (up_floor_tpm_read(&ops, IDX, &v, &locked, NULL) != 0)
		return ~0ull;
	return v;
}

static void test_provision(void)
{
	struct si_diag d;
	uint64_t v = 0;
	int locked = 0, defined = 0;

	/* nothing there yet: what a cleared TPM looks like */
	rec_begin(0);
	si_diag_clear(&d);
	T_ERR(up_floor_tpm_read(&ops, IDX, &v, &locked, &d), SI_E_TPM_NV_MISSING);
	T_STREQ(d.where, "NV 0x01a51000");
	rec_end("missing");

	/* another tool's ordinary index at the handle: refused, not reused */
	T_OK(tpm2_nv_define(&ops, IDX, TPMA_NV_AUTHWRITE | TPMA_NV_AUTHREAD, 8, NULL, 0, NULL));
	rec_begin(0);
	si_diag_clear(&d);
	T_ERR(up_floor_tpm_read(&ops, IDX, &v, &locked, &d), SI_E_TPM_NV_ATTRS);
	T_STREQ(d.field, "nvPublic.attributes");
	T_EQ(d.expected, UP_FLOOR_TPM_ATTRS);
	T_EQ(d.found, TPMA_NV_AUTHWRITE | TPMA_NV_AUTHREAD);
	rec_end("foreign");
	T_ERR(up_floor_tpm_provision(&ops, IDX, NULL, 0, 0, 8, &defined, &v, NULL), SI_E_TPM_NV_ATTRS);
	T_OK(tpm2_nv_undefine(&ops, IDX, NULL, 0, NULL));
	T_ERR(tpm2_nv_undefine(&ops, IDX, NULL, 0, NULL), SI_E_TPM_NV_MISSING);

	/* defined but never written: provisioning stopped half-way */
	T_OK(tpm2_nv_define(&ops, IDX, UP_FLOOR_TPM_ATTRS, 8, NULL, 0, NULL));
	rec_begin(0);
	T_ERR(up_floor_tpm_read(&ops, IDX, &v, &locked, NULL), SI_E_TPM_NV_UNWRITTEN);
	rec_end("unwritten");
	rec_begin(2);
	T_OK(up_floor_tpm_provision(&ops, IDX, NULL, 0, 0, 8, &defined, &v, NULL));
	rec_end("provision");
	T_EQ(defined, 0);
	T_EQ(v, 1);     /* a new TPM's first counter starts at 1 */
	/* again: nothing changes */
	T_OK(up_floor_tpm_provision(&ops, IDX, NULL, 0, 0, 8, &defined, &v, NULL));
	T_EQ(v, 1);
	/* a wrong owner password: the TPM's refusal, nothing defined */
	T_OK(tpm2_nv_undefine(&ops, IDX, NULL, 0, NULL));
	si_diag_clear(&d);
	T_ERR(up_floor_tpm_provision(&ops, IDX, (const uint8_t *)"wrong", 5, 0, 8, &defined, &v, &d),
	      SI_E_TPM_RC);
	T_STREQ(d.field, "TPM2_NV_DefineSpace");
	T_ERR(up_floor_tpm_read(&ops, IDX, &v, &locked, NULL), SI_E_TPM_NV_MISSING);
	rec_begin(2);
	T_OK(up_floor_tpm_provision(&ops, IDX, NULL, 0, 3, 8, &defined, &v, NULL));
	rec_end("provision-floor");
	T_EQ(defined, 1);
	/* the undefined counter had reached 1: the new one starts above it */
	T_CHECK(v == 3, "provision --floor 3 gave %llu", (unsigned long long)v);
}

static void test_grow_only(void)
{
	struct si_diag d;
	uint64_t v = 0, before;
	int defined;

	rec_begin(1);
	T_OK(up_floor_tpm_raise(&ops, IDX, 5, 8, &v, NULL));
	rec_end("raise");
	T_EQ(v, 5);
	T_OK(up_floor_tpm_raise(&ops, IDX, 2, 8, &v, NULL));   /* never lowers */
	T_EQ(v, 5);
	T_EQ(counter(), 5);
	si_diag_clear(&d);
	T_ERR(up_floor_tpm_raise(&ops, IDX, 100, 8, &v, &d), SI_E_TPM_FLOOR_STEP);
	T_EQ(d.expected, 8);
	T_EQ(d.found, 95);
	T_EQ(counter(), 5);                                   /* nothing taken */
	T_ERR(up_floor_tpm_provision(&ops, IDX, NULL, 0, 4, 8, &defined, &v, NULL), SI_E_TPM_FLOOR_ABOVE);

	/* root deletes it and defines it again: the new counter starts above
	 * the old one (the TPM remembers the highest counter) -- no rollback */
	before = counter();
	T_OK(tpm2_nv_undefine(&ops, IDX, NULL, 0, NULL));
	T_OK(up_floor_tpm_provision(&ops, IDX, NULL, 0, 0, 8, &defined, &v, NULL));
	T_CHECK(v > before, "redefined counter %llu, the old one was %llu", (unsigned long long)v,
		(unsigned long long)before);
}

/* TPM2_Clear with the lockout hierarchy's (empty) password: what root can
 * do on a TPM whose owner left it so.  Not a command sealinit needs, so
 * marshalled here. */
static int tpm_clear(void)
{
	static const uint8_t cmd[] = {
		0x80, 0x02, 0, 0, 0, 27, 0, 0, 0x01, 0x26,   /* TPM_ST_SESSIONS, 27 bytes, TPM2_Clear */
		0x40, 0, 0, 0x0a,                             /* TPM_RH_LOCKOUT */
		0, 0, 0, 9, 0x40, 0, 0, 9, 0, 0, 0, 0, 0,     /* a password session, empty */
	};
	uint8_t rsp[TPM2_BUF];
	size_t n = 0;
	struct tpm2_rsp r;

	if (ops.transmit(ops.ctx, cmd, sizeof cmd, rsp, sizeof rsp, &n, NULL) != 0 ||
	    tpm2_rsp_parse(rsp, n, 1, 0, &r, NULL) != 0)
		return -1;
	return (int)r.rc;
}

static void test_clear(void)
{
	uint64_t v = 0, before = counter();
	int locked, defined;

	/* a cleared TPM has no counter: the boot fails closed ... */
	T_EQ(tpm_clear(), 0);
	T_ERR(up_floor_tpm_read(&ops, IDX, &v, &locked, NULL), SI_E_TPM_NV_MISSING);
	/* ... and one provisioned again starts above the old value */
	T_OK(up_floor_tpm_provision(&ops, IDX, NULL, 0, 0, 8, &defined, &v, NULL));
	T_EQ(defined, 1);
	T_CHECK(v > before, "after TPM2_Clear the counter starts at %llu, it was %llu",
		(unsigned long long)v, (unsigned long long)before);
}

static void test_lock(void)
{
	struct si_diag d;
	uint64_t v = 0, now = counter();
	int locked = 0;

	T_OK(tpm2_nv_write_lock(&ops, IDX, NULL));
	rec_begin(0);
	T_OK(up_floor_tpm_read(&ops, IDX, &v, &locked, NULL));
	rec_end("locked");
	T_EQ(locked, 1);
	rec_begin(1);
	si_diag_clear(&d);
	T_ERR(up_floor_tpm_raise(&ops, IDX, now + 1, 8, &v, &d), SI_E_TPM_NV_LOCKED);
	rec_end("raise-locked");
	T_EQ(counter(), now);
	/* a reboot ends the lock */
	swtpm_stop();
	if (swtpm_start() != 0) {
		T_CHECK(0, "swtpm restart");
		return;
	}
	T_OK(up_floor_tpm_read(&ops, IDX, &v, &locked, NULL));
	T_EQ(locked, 0);
	T_EQ(v, now);
	T_OK(up_floor_tpm_raise(&ops, IDX, now + 1, 8, &v, NULL));
	T_EQ(v, now + 1);
}

static void test_store(void)
{
	struct up_posix px;
	struct si_fs fs;
	struct up_floor_store file, s;
	struct up_floor_tpm t;
	struct up_floors f;
	struct up_record_info info;
	struct si_diag d;
	char pre[160];
	int root;
	uint64_t c = counter();

	snprintf(pre, sizeof pre, "%s/preboot", dir);
	mkdir(pre, 0755);
	root = open(pre, O_PATH | O_DIRECTORY | O_CLOEXEC);
	up_fs_posix(&fs, &px, root);
	up_floor_store_file(&file, &fs);
	/* the file says @set 2 and os 9; the TPM says c (> 2): the TPM wins
	 * for the set, the file keeps the per-image floor */
	memset(&f, 0, sizeof f);
	T_OK(up_floor_raise(&f, UP_FLOOR_SET, 2));
	T_OK(up_floor_raise(&f, "os", 9));
	T_OK(file.store(file.ctx, &f, NULL));
	memset(&t, 0, sizeof t);
	t.tpm = &ops;
	t.index = IDX;
	t.file = &file;
	t.raise_max = 8;
	up_floor_store_tpm(&s, &t);
	T_OK(s.load(s.ctx, &f, &info, NULL));
	T_EQ(up_floor_of(&f, UP_FLOOR_SET), c);
	T_EQ(up_floor_of(&f, "os"), 9);
	T_EQ(t.status, 0);
	T_EQ(t.value, c);
	/* a disk rewritten with an old floor file changes nothing */
	{
		struct up_floors old;

		memset(&old, 0, sizeof old);
		T_OK(up_floor_raise(&old, UP_FLOOR_SET, 1));
		T_OK(file.store(file.ctx, &old, NULL));
		T_OK(s.load(s.ctx, &f, NULL, NULL));
		T_EQ(up_floor_of(&f, UP_FLOOR_SET), c);
	}
	/* confirm: the counter rises and is locked, then the file */
	T_OK(up_floor_raise(&f, UP_FLOOR_SET, c + 2));
	T_OK(s.store(s.ctx, &f, NULL));
	T_EQ(counter(), c + 2);
	T_EQ(t.locked, 1);
	{
		struct up_floors g;

		T_OK(file.load(file.ctx, &g, NULL, NULL));
		T_EQ(up_floor_of(&g, UP_FLOOR_SET), c + 2);
	}
	/* the TPM alone: the set's floor only */
	t.file = NULL;
	up_floor_store_tpm(&s, &t);
	T_OK(s.load(s.ctx, &f, &info, NULL));
	T_EQ(f.n, 1);
	T_EQ(up_floor_of(&f, UP_FLOOR_SET), c + 2);
	T_EQ(info.copy, -1);

	/* no TPM: production fails closed, a development build goes on
	 * with the file's floors and says why */
	t.tpm = NULL;
	t.file = &file;
	t.open_err = SI_E_TPM_ABSENT;
	si_diag_clear(&t.open_diag);
	si_diag_sys(&t.open_diag, SI_E_TPM_ABSENT, "/dev/tpmrm0", ENOENT);
	up_floor_store_tpm(&s, &t);
	si_diag_clear(&d);
	T_ERR(s.load(s.ctx, &f, NULL, &d), SI_E_TPM_ABSENT);
	T_STREQ(d.where, "/dev/tpmrm0");
	T_ERR(s.store(s.ctx, &f, NULL), SI_E_TPM_ABSENT);
	t.optional = 1;
	T_OK(s.load(s.ctx, &f, NULL, NULL));
	T_EQ(t.status, SI_E_TPM_ABSENT);
	T_EQ(up_floor_of(&f, UP_FLOOR_SET), c + 2);
	/* a cleared TPM (the counter gone): the same */
	t.tpm = &ops;
	t.optional = 0;
	T_OK(tpm2_nv_undefine(&ops, IDX, NULL, 0, NULL));
	T_ERR(s.load(s.ctx, &f, NULL, NULL), SI_E_TPM_NV_MISSING);
	t.optional = 1;
	T_OK(s.load(s.ctx, &f, NULL, NULL));
	T_EQ(t.status, SI_E_TPM_NV_MISSING);
	close(root);
}

int main(int argc, char **argv)
{
	char cmd[300];

	if (argc == 3 && !strcmp(argv[1], "--dump"))
		dump_dir = argv[2];
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(sock, sizeof sock, "%s/tpm", dir);
	if (swtpm_start() != 0) {
		T_CHECK(0, "swtpm (Debian's swtpm package) must run for this test");
	} else {
		test_provision();
		test_grow_only();
		test_clear();
		test_lock();
		test_store();
	}
	swtpm_stop();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_floor_tpm: could not remove %s\n", dir);
	return t_done("test_floor_tpm");
}
