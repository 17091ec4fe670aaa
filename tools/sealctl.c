/* sealctl: the host tool over sealinit's library.  A thin command layer:
 * each command parses its options, calls the library and reports once.
 * The help texts are generated from docs/man/sealctl.txt, the same source
 * as sealctl(1). */
#include <stdio.h>
#include <string.h>

#include "lib/str.h"
#include "tools/json.h"
#include "tools/sealcmd.h"
#include "tools/sealctl.h"

#ifndef SEALCTL_VERSION
#define SEALCTL_VERSION "0.1.0"
#endif

/* The device's sealctl (make sealctl-device, -DSEALCTL_DEVICE) has the
 * commands the running OS needs and nothing that makes images. */
static const struct sealctl_cmd sealctl_cmds[] = {
	{ "version", sealctl_cmd_version },
#ifndef SEALCTL_DEVICE
	{ "keygen", sealctl_cmd_keygen },
	{ "key", sealctl_cmd_key },
	{ "seal", sealctl_cmd_seal },
	{ "verify", sealctl_cmd_verify },
	{ "inspect", sealctl_cmd_inspect },
	{ "anchor", sealctl_cmd_anchor },
	{ "diff", sealctl_cmd_diff },
	{ "apply", sealctl_cmd_apply },
	{ "kc", sealctl_cmd_kc },
	{ "doctor", sealctl_cmd_doctor },
	{ "update", sealctl_cmd_update },
	{ "set", sealctl_cmd_set },
#endif
	{ "stage", sealctl_cmd_stage },
	{ "status", sealctl_cmd_status },
	{ "confirm", sealctl_cmd_confirm },
	{ "revert", sealctl_cmd_revert },
	{ "tpm", sealctl_cmd_tpm },
};

static void sealctl_usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: sealctl COMMAND [OPTIONS] [--] [ARGUMENTS]   "
		   "(sealctl COMMAND --help for each)\n\n"
		   "Seals, inspects and verifies sealinit images, trust anchors and updates.\n\n"
		   "commands:\n");
	for (i = 0; i < sealctl_help_count; i++)
		fprintf(f, "  %-10s %s\n", sealctl_help[i].name, sealctl_help[i].summary);
	fputs(sealctl_help_main, f);
}

int sealctl_cmd_version(int argc, char **argv)
{
	int json = 0, r;
	const struct sealcmd_optdef defs[] = { { "--json", NULL, NULL, &json } };
	struct json j;

	r = sealcmd_parse("version", argc, argv, defs, SI_ARRAY_SIZE(defs), NULL, 0, NULL);
	if (r)
		return r == SEALCMD_HELP ? SEALCTL_OK : r;
	if (json) {
		sealctl_json_mode = 1;
		json_begin(&j, stdout, "version", 1);
		json_str(&j, "version", SEALCTL_VERSION);
		json_u64(&j, "json_schema", SEALCTL_JSON_SCHEMA);
		json_end(&j);
		return SEALCTL_OK;
	}
	printf("sealctl %s\n", SEALCTL_VERSION);
	return SEALCTL_OK;
}

int main(int argc, char **argv)
{
	size_t i;
	int r;

	if (argc < 2) {
		sealctl_usage(stderr);
		return SEALCTL_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		if (argc > 2 && strcmp(argv[1], "help") == 0) {
			for (i = 0; i < sealctl_help_count; i++)
				if (!strcmp(argv[2], sealctl_help[i].name)) {
					sealctl_help_print(stdout, argv[2]);
					return SEALCTL_OK;
				}
			fprintf(stderr, "sealctl: unknown command '%s'\n", argv[2]);
			return SEALCTL_USAGE;
		}
		sealctl_usage(stdout);
		return SEALCTL_OK;
	}
	if (!strcmp(argv[1], "--version"))
		return sealctl_cmd_version(1, argv + 1);
	if (!strcmp(argv[1], "--list-commands")) {
		for (i = 0; i < SI_ARRAY_SIZE(sealctl_cmds); i++)
			printf("%s\n", sealctl_cmds[i].name);
		return SEALCTL_OK;
	}
	for (i = 0; i < SI_ARRAY_SIZE(sealctl_cmds); i++)
		if (!strcmp(argv[1], sealctl_cmds[i].name)) {
			int k;

			/* --json anywhere before "--" asks for the error document too. */
			for (k = 2; k < argc && strcmp(argv[k], "--"); k++)
				if (!strcmp(argv[k], "--json"))
					sealctl_json_mode = 1;
			r = sealctl_cmds[i].run(argc - 1, argv + 1);
			sealctl_progress_end();
			if (r != SEALCTL_OK && sealctl_json_mode && !sealctl_json_done)
				sealcmd_json_error(sealctl_cmds[i].name, r);
			return r;
		}
	fprintf(stderr, "sealctl: unknown command '%s'\n", argv[1]);
	sealctl_usage(stderr);
	return SEALCTL_USAGE;
}
