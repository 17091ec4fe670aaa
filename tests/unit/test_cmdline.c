/* Unit tests for plan/cmdline.c. */
#include <string.h>

#include "plan/cmdline.h"
#include "tests/unit/t.h"

static int parse(const char *s, struct si_cmdline *c)
{
	return si_cmdline_parse(s, strlen(s), c);
}

static void test_options(void)
{
	struct si_cmdline c;

	T_OK(parse("console=ttyAMA0 sealinit.test=poweroff quiet\n", &c));
	T_EQ(c.test, SI_TEST_POWEROFF);
	T_EQ(c.n_problems, 0);
	T_OK(parse("sealinit.failure=panic sealinit.loglevel=7 init=/bin/sh", &c));
	T_EQ(c.failure, SI_FAILURE_PANIC);
	T_EQ(c.loglevel, 7);
	T_STREQ(c.init, "/bin/sh");
	T_OK(parse("sealinit.failure=\"rescue\"", &c));
	T_EQ(c.failure, SI_FAILURE_RESCUE);
	T_OK(parse("foo=\"a b\" sealinit.failure=reboot", &c));
	T_EQ(c.failure, SI_FAILURE_REBOOT);
	T_EQ(c.n_problems, 0);
	T_OK(parse("", &c));
	T_EQ(c.n_problems, 0);
	T_EQ(c.test, SI_TEST_NONE);
	T_OK(parse("sealinit.preboot=boot_a sealinit.system=sys-b sealinit.data=none", &c));
	T_STREQ(c.preboot, "boot_a");
	T_STREQ(c.system, "sys-b");
	T_STREQ(c.data, "none");
	T_EQ(c.n_problems, 0);
	/* "--" ends the options: after it, init's arguments, never ours. */
	T_OK(parse("sealinit.loglevel=5 -- sealinit.failure=rescue init=/data/x sealinit.bogus=1", &c));
	T_EQ(c.loglevel, 5);
	T_EQ(c.failure, SI_FAILURE_DEFAULT);
	T_STREQ(c.init, "");
	T_EQ(c.n_problems, 0);
	T_OK(parse("--", &c));
	T_EQ(c.n_problems, 0);
	/* "--x" or "a--" are options like any other */
	T_OK(parse("--x sealinit.failure=panic", &c));
	T_EQ(c.failure, SI_FAILURE_PANIC);
	/* Other modules' parameters are not ours to judge. */
	T_OK(parse("dm_verity.foo=1 sealinitx.y=2 sealinit=1", &c));
	T_EQ(c.n_problems, 0);
}

static void test_problems(void)
{
	static const struct {
		const char *line;
		int err;
		const char *shown;
	} cases[] = {
		{ "sealinit.tset=poweroff", SI_E_CMDLINE_UNKNOWN, "sealinit.tset=poweroff" },
		{ "sealinit.test=reboot", SI_E_CMDLINE_VALUE, "sealinit.test=reboot" },
		{ "sealinit.test", SI_E_CMDLINE_VALUE, "sealinit.test" },
		{ "sealinit.loglevel=8", SI_E_CMDLINE_VALUE, "sealinit.loglevel=8" },
		{ "sealinit.loglevel=07", SI_E_CMDLINE_VALUE, "sealinit.loglevel=07" },
		{ "sealinit.failure=", SI_E_CMDLINE_VALUE, "sealinit.failure=" },
		{ "sealinit.failure=panic sealinit.failure=reboot", SI_E_CMDLINE_DUP, "sealinit.failure=reboot" },
		{ "init=sbin/init", SI_E_CMDLINE_VALUE, "init=sbin/init" },
		{ "sealinit.test=\"poweroff", SI_E_CMDLINE_VALUE, "sealinit.test=\"poweroff" },
		{ "sealinit.x=\x01\xff", SI_E_CMDLINE_UNKNOWN, "sealinit.x=\\x01\\xff" },
		{ "sealinit.system=a/b", SI_E_CMDLINE_VALUE, "sealinit.system=a/b" },
		{ "sealinit.preboot=", SI_E_CMDLINE_VALUE, "sealinit.preboot=" },
		{ "sealinit.data=0123456789012345678901234567890123456", SI_E_CMDLINE_VALUE, "sealinit.data=0123456789012345678901234567890123456" },
		{ "sealinit.system=a sealinit.system=b", SI_E_CMDLINE_DUP, "sealinit.system=b" },
	};
	struct si_cmdline c;
	size_t i;

	for (i = 0; i < SI_ARRAY_SIZE(cases); i++) {
		T_OK(parse(cases[i].line, &c));
		T_CHECK(c.n_problems == 1, "'%s': %u problems", cases[i].line, c.n_problems);
		T_CHECK(c.problems[0].err == cases[i].err, "'%s': got %s want %s", cases[i].line,
			si_err_name(c.problems[0].err), si_err_name(cases[i].err));
		T_STREQ(c.problems[0].option, cases[i].shown);
	}
	/* A bad option does not hide a good one after it. */
	T_OK(parse("sealinit.bogus=1 sealinit.test=poweroff", &c));
	T_EQ(c.test, SI_TEST_POWEROFF);
	T_EQ(c.n_problems, 1);
	/* Many problems: counted, not lost silently. */
	T_OK(parse("sealinit.a sealinit.b sealinit.c sealinit.d sealinit.e sealinit.f "
		   "sealinit.g sealinit.h sealinit.i sealinit.j", &c));
	T_EQ(c.n_problems, SI_CMDLINE_MAX_PROBLEMS);
	T_EQ(c.problems_dropped, 2);
}

static void test_limits(void)
{
	static char big[SI_CMDLINE_MAX + 2];
	struct si_cmdline c;

	memset(big, 'a', sizeof big - 1);
	T_ERR(si_cmdline_parse(big, SI_CMDLINE_MAX + 1, &c), SI_E_TOO_BIG);
	T_OK(si_cmdline_parse(big, SI_CMDLINE_MAX, &c));
	/* Embedded NULs separate tokens, never end the parse early. */
	T_OK(si_cmdline_parse("quiet\0sealinit.test=poweroff", 28, &c));
	T_EQ(c.test, SI_TEST_POWEROFF);
}

int main(void)
{
	test_options();
	test_problems();
	test_limits();
	return t_done("test_cmdline");
}
