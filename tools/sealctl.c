/* sealctl: the host tool over sealinit's library.  A thin command layer:
 * each command parses its options, calls the library and reports once. */
#include <stdio.h>
#include <string.h>

#include "tools/sealctl.h"

#define SEALCTL_VERSION "0.1.0"

static const struct sealctl_cmd sealctl_cmds[] = {
	{ "version", "print sealctl's version", sealctl_cmd_version },
	{ "keygen", "make a signing key (PEM)", sealctl_cmd_keygen },
	{ "seal", "seal a directory or file-system image", sealctl_cmd_seal },
	{ "verify", "check a sealed image: signature, usage, rollback, whole tree", sealctl_cmd_verify },
	{ "inspect", "print a sealed image's manifest (--json)", sealctl_cmd_inspect },
	{ "anchor", "put a public key into the device tree's trust anchor", sealctl_cmd_anchor },
	{ "diff", "make a delta patch from one image to the next", sealctl_cmd_diff },
	{ "apply", "apply a delta patch out of place", sealctl_cmd_apply },
	{ "kc", "build a sealed kernel collection from a kernel package", sealctl_cmd_kc },
	{ "doctor", "predict a boot: sealinit's planner on a disk image and device tree", sealctl_cmd_doctor },
};

static void sealctl_usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: sealctl COMMAND [OPTIONS]   (sealctl COMMAND --help for each)\n\n"
		   "Seals, inspects and verifies sealinit images, trust anchors and updates.\n\n"
		   "commands:\n");
	for (i = 0; i < sizeof sealctl_cmds / sizeof sealctl_cmds[0]; i++)
		fprintf(f, "  %-10s %s\n", sealctl_cmds[i].name, sealctl_cmds[i].summary);
	fprintf(f, "\nexit codes: 0 success; 1 the check failed or the input is invalid;\n"
		   "            2 wrong arguments; 3 system error (I/O, memory)\n");
}

int sealctl_cmd_version(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: sealctl version\n\nPrints sealctl's version.\n");
		return SEALCTL_OK;
	}
	if (argc > 1) {
		sealctl_msg("version", "unexpected argument '%s'", argv[1]);
		return SEALCTL_USAGE;
	}
	printf("sealctl %s\n", SEALCTL_VERSION);
	return SEALCTL_OK;
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		sealctl_usage(stderr);
		return SEALCTL_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		sealctl_usage(stdout);
		return SEALCTL_OK;
	}
	if (!strcmp(argv[1], "--version"))
		return sealctl_cmd_version(1, argv + 1);
	for (i = 0; i < sizeof sealctl_cmds / sizeof sealctl_cmds[0]; i++)
		if (!strcmp(argv[1], sealctl_cmds[i].name))
			return sealctl_cmds[i].run(argc - 1, argv + 1);
	fprintf(stderr, "sealctl: unknown command '%s'\n", argv[1]);
	sealctl_usage(stderr);
	return SEALCTL_USAGE;
}
