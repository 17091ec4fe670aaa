/* Unit tests for update/: records in two copies on a real directory (the
 * posix operations table), the state and floor payloads, every refusal. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/t.h"
#include "update/update.h"

static char dir[] = "/tmp/sealinit-test-update-XXXXXX";
static struct up_posix px;
static struct si_fs fs;

static void rm_rf(const char *p)
{
	pid_t pid = fork();

	if (pid == 0) {
		execlp("rm", "rm", "-rf", p, (char *)NULL);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
}

static void flip(const char *name, long off)
{
	char p[256];
	int fd;
	unsigned char c;

	snprintf(p, sizeof p, "%s/%s", dir, name);
	fd = open(p, O_RDWR);
	T_CHECK(fd >= 0, "open %s", p);
	if (fd < 0)
		return;
	T_EQ(pread(fd, &c, 1, off), 1);
	c ^= 1;
	T_EQ(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

static void test_state(void)
{
	struct up_state st, got;
	struct up_record_info info;
	struct si_diag d;
	char p[256];

	/* no record yet: the factory state */
	T_OK(up_state_load(&fs, &st, &info, &d));
	T_EQ(st.active, 'a');
	T_EQ(st.previous, 0);
	T_EQ(st.flags, UP_STATE_CONFIRMED);
	T_EQ(st.seq, 0);

	st.active = 'b';
	st.previous = 'a';
	st.trial_left = 3;
	st.trial_total = 3;
	st.flags = 0;
	memset(st.active_set, 0xab, 32);
	st.outcome = UP_OUT_APPLIED;
	strcpy(st.outcome_text, "13.3.1 (a) applied");
	T_OK(up_state_store(&fs, &st, &d));       /* seq 1 -> state.1 */
	T_EQ(st.seq, 1);
	snprintf(p, sizeof p, "%s/state.1", dir);
	T_CHECK(access(p, F_OK) == 0, "state.1 written");
	snprintf(p, sizeof p, "%s/state.1.new", dir);
	T_CHECK(access(p, F_OK) != 0, "no temporary left");
	st.trial_left = 2;
	T_OK(up_state_store(&fs, &st, &d));       /* seq 2 -> state.0 */
	T_OK(up_state_load(&fs, &got, &info, &d));
	T_EQ(got.seq, 2);
	T_EQ(info.copy, 0);
	T_EQ(info.other_valid, 1);
	T_EQ(got.trial_left, 2);
	T_EQ(got.active, 'b');
	T_STREQ(got.outcome_text, "13.3.1 (a) applied");
	T_EQ(got.active_set[31], 0xab);

	/* the newest copy damaged: the other one, and it says so */
	flip("state.0", 70);
	T_OK(up_state_load(&fs, &got, &info, &d));
	T_EQ(got.seq, 1);
	T_EQ(got.trial_left, 3);
	T_EQ(info.copy, 1);
	T_EQ(info.other_valid, 0);
	T_ERR(info.other_err, SI_E_RECORD);
	/* the next write goes over the damaged copy (seq 2 again: 1 + 1) */
	got.trial_left = 1;
	T_OK(up_state_store(&fs, &got, &d));
	T_OK(up_state_load(&fs, &got, &info, &d));
	T_EQ(got.seq, 2);
	T_EQ(got.trial_left, 1);
	T_EQ(info.other_valid, 1);
	/* both damaged: refused, never a silent factory reset */
	flip("state.0", 100);
	flip("state.1", 100);
	T_ERR(up_state_load(&fs, &got, &info, &d), SI_E_RECORD);
	/* another record's magic in a state file */
	flip("state.0", 100);
	flip("state.1", 100);
	flip("state.0", 0);
	T_OK(up_state_load(&fs, &got, &info, &d));
	T_EQ(info.copy, 1);
}

static void test_state_decode(void)
{
	uint8_t p[UP_RECORD_PAYLOAD];
	struct up_state st, got;
	struct si_diag d;
	size_t n;
	static const struct {
		const char *what;
		int off;
		uint8_t v;
		const char *field;
	} bad[] = {
		{ "active slot d", 0, 'd', "state.active" },
		{ "previous slot x", 1, 'x', "state.previous" },
		{ "previous = active", 1, 'a', "state.previous" },
		{ "unknown flag", 4, 4, "state.flags" },
		{ "trial left > total", 2, 9, "state.trial" },
		{ "outcome unknown", 5, 99, "state.trial" },
		{ "reserved", 6, 1, "state.trial" },
		{ "text unprintable", 104, 7, "state.outcome_text" },
	};
	size_t i;

	memset(&st, 0, sizeof st);
	st.active = 'a';
	st.trial_total = 3;
	n = up_state_encode(&st, p, sizeof p);
	T_EQ(n, 168);
	T_OK(up_state_decode(p, n, &got, &d));
	T_ERR(up_state_decode(p, n - 1, &got, &d), SI_E_STATE);
	for (i = 0; i < SI_ARRAY_SIZE(bad); i++) {
		uint8_t q[UP_RECORD_PAYLOAD];

		memcpy(q, p, n);
		q[bad[i].off] = bad[i].v;
		si_diag_clear(&d);
		T_ERR(up_state_decode(q, n, &got, &d), SI_E_STATE);
		T_CHECK(d.field && !strcmp(d.field, bad[i].field), "%s: field %s", bad[i].what,
			d.field ? d.field : "-");
	}
	/* text then a non-NUL after the NUL */
	{
		uint8_t q[UP_RECORD_PAYLOAD];

		memcpy(q, p, n);
		q[104] = 'x';
		q[110] = 'y';
		T_ERR(up_state_decode(q, n, &got, &d), SI_E_STATE);
	}
}

static void test_floors(void)
{
	struct up_floors f, g;
	struct up_record_info info;
	struct si_diag d;
	uint8_t p[UP_RECORD_PAYLOAD];
	size_t n;
	unsigned i;

	T_OK(up_floors_load(&fs, &f, &info, &d));
	T_EQ(f.n, 0);
	T_EQ(up_floor_of(&f, "os"), 0);
	T_OK(up_floor_raise(&f, "os", 3));
	T_OK(up_floor_raise(&f, UP_FLOOR_SET, 7));
	T_OK(up_floor_raise(&f, "os", 2)); /* never lowered */
	T_EQ(up_floor_of(&f, "os"), 3);
	T_OK(up_floors_store(&fs, &f, &d));
	T_OK(up_floors_load(&fs, &g, &info, &d));
	T_EQ(g.n, 2);
	T_EQ(up_floor_of(&g, UP_FLOOR_SET), 7);
	T_EQ(up_floor_of(&g, "os"), 3);
	/* full: refused, not dropped */
	for (i = g.n; i < UP_FLOORS_MAX; i++) {
		char name[16];

		snprintf(name, sizeof name, "c%u", i);
		T_OK(up_floor_raise(&g, name, 1));
	}
	T_ERR(up_floor_raise(&g, "one-more", 1), SI_E_TOO_BIG);
	/* decode refusals */
	n = up_floors_encode(&f, p, sizeof p);
	T_OK(up_floors_decode(p, n, &g, &d));
	T_ERR(up_floors_decode(p, n - 1, &g, &d), SI_E_FLOORS);
	p[3] = '/'; /* a name with a slash */
	T_ERR(up_floors_decode(p, n, &g, &d), SI_E_FLOORS);
	n = up_floors_encode(&f, p, sizeof p);
	memcpy(p + 2 + 1 + 2 + 8 + 1, "os", 2); /* "@set" entry renamed... */
	p[2 + 1 + 2 + 8] = 2;
	T_ERR(up_floors_decode(p, 2 + 11 + 11, &g, &d), SI_E_FLOORS);
	si_put_le16(p, UP_FLOORS_MAX + 1);
	T_ERR(up_floors_decode(p, n, &g, &d), SI_E_FLOORS);
}

static void test_fs(void)
{
	enum si_ftype t;
	uint64_t size;
	struct si_diag d;
	char p[256];
	int h;

	T_OK(fs.mkdir(fs.ctx, "slots", &d));
	T_OK(fs.mkdir(fs.ctx, "slots/a", &d));
	T_OK(fs.open(fs.ctx, "slots/a/x", SI_O_WRITE, &h, &d));
	T_OK(fs.pwrite(fs.ctx, h, 0, "hello", 5, &d));
	T_OK(fs.fsync(fs.ctx, h, &d));
	fs.close(fs.ctx, h);
	T_OK(fs.link(fs.ctx, "slots/a/x", "slots/a/y", &d));
	T_OK(fs.stat(fs.ctx, "slots/a/y", &t, &size, &d));
	T_EQ(t, SI_FT_REG);
	T_EQ(size, 5);
	T_OK(fs.stat(fs.ctx, "slots/none/y", &t, &size, &d));
	T_EQ(t, SI_FT_NONE);
	/* no link is followed on the way */
	snprintf(p, sizeof p, "%s/slots/l", dir);
	T_EQ(symlink("a", p), 0);
	T_ERR(fs.open(fs.ctx, "slots/l/x", SI_O_READ, &h, &d), SI_E_PATH_SYMLINK);
	T_ERR(fs.open(fs.ctx, "slots/l", SI_O_READ, &h, &d), SI_E_IO); /* O_NOFOLLOW: ELOOP */
	T_EQ(d.sys_errno, ELOOP);
	T_OK(fs.rename(fs.ctx, "slots/a/y", "slots/a/z", &d));
	T_OK(fs.fsync_dir(fs.ctx, "slots/a", &d));
	T_OK(fs.fsync_dir(fs.ctx, ".", &d));
	T_OK(fs.unlink(fs.ctx, "slots/a/z", &d));
	T_OK(fs.unlink(fs.ctx, "slots/a/z", &d)); /* gone already: fine */
	T_OK(fs.free_bytes(fs.ctx, &size, &d));
	T_CHECK(size > 0, "free bytes");
}

int main(void)
{
	int root;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	up_fs_posix(&fs, &px, root);
	test_state();
	test_state_decode();
	test_floors();
	test_fs();
	close(root);
	rm_rf(dir);
	return t_done("test_update");
}
