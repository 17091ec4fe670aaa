/* sealctl key id: the key id of a key file (public, or private: its public
 * half), the one way every command prints key ids (tools/sealctl.h): 16
 * hex digits on the console, 64 in JSON. */
#include <stdio.h>
#include <string.h>

#include "lib/str.h"
#include "tools/json.h"
#include "tools/sealcmd.h"
#include "tools/sealctl.h"

#define CMD "key"

int sealctl_cmd_key(int argc, char **argv)
{
	const char *pos[2] = { NULL, NULL };
	size_t npos = 0;
	int json = 0, r;
	struct si_key k;
	const struct sealcmd_optdef defs[] = { { "--json", NULL, NULL, &json } };

	r = sealcmd_parse(CMD, argc, argv, defs, SI_ARRAY_SIZE(defs), pos, 2, &npos);
	if (r)
		return r == SEALCMD_HELP ? SEALCTL_OK : r;
	if (npos == 0)
		return sealctl_usage_error(CMD, "a subcommand is required: id");
	if (strcmp(pos[0], "id") != 0)
		return sealctl_usage_error(CMD, "unknown subcommand '%s' (expected id)", pos[0]);
	if (npos != 2)
		return sealctl_usage_error(CMD, "id: a key file is required");
	r = sealcmd_load_pub(CMD, pos[1], &k);
	if (r)
		return r;
	if (json) {
		struct json j;

		json_begin(&j, stdout, CMD, 1);
		json_str(&j, "file", pos[1]);
		json_str(&j, "algorithm", si_algo_name(k.algo));
		json_keyid(&j, "key_id", k.fingerprint);
		json_end(&j);
	} else {
		char id[SEALCTL_KEYID_SHORT + 1];

		sealctl_keyid_short(id, k.fingerprint);
		printf("%s: %s key %s\n", pos[1], si_algo_name(k.algo), id);
	}
	return SEALCTL_OK;
}
