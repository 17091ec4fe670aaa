/* sealctl tpm provision | show: the TPM 2.0 rollback-floor counter
 * (update/floor_tpm.h has the design): defined, started and optionally
 * raised by an integrator's factory step or on the device; shown with its
 * attributes.  In the host sealctl and the device's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "tools/json.h"
#include "tools/sealcmd.h"
#include "tools/sealctl.h"
#include "update/floor_tpm.h"

#define CMD "tpm"

struct tpm_opts {
	const char *device, *index_s, *owner_file, *floor_s;
	int json;
	uint32_t index;
	uint64_t floor;
	uint8_t owner[64];
	size_t owner_len;
};

static int tpm_parse_common(const char *cmd, struct tpm_opts *o)
{
	uint64_t v;

	o->index = UP_TPM_NV_INDEX ? UP_TPM_NV_INDEX : UP_TPM_NV_INDEX_DEFAULT;
	if (o->index_s) {
		if (sealcmd_u64(cmd, "--index", o->index_s, &v))
			return SEALCTL_USAGE;
		if (v < 0x01000000 || v > 0x01ffffff)
			return sealctl_usage_error(cmd, "--index %s: an NV index is 0x01000000..0x01ffffff "
						   "(owner range 0x01800000..0x01bfffff)", o->index_s);
		o->index = (uint32_t)v;
	}
	if (o->owner_file) {
		uint8_t *buf;
		size_t len;
		int r = sealctl_load_file(cmd, o->owner_file, sizeof o->owner + 1, &buf, &len);

		if (r)
			return r;
		/* a trailing newline is the editor's, not the password's */
		if (len && buf[len - 1] == '\n')
			len--;
		memcpy(o->owner, buf, len);
		o->owner_len = len;
		free(buf);
	}
	return 0;
}

static int tpm_open(const char *cmd, struct tpm_opts *o, struct tpm2_dev *dev, struct tpm2_ops *ops)
{
	struct si_diag d;
	int r;

	si_diag_clear(&d);
	r = tpm2_dev_open(dev, o->device, ops, &d);
	if (r)
		return sealctl_report(cmd, o->device ? o->device : "/dev/tpmrm0", r, &d);
	return 0;
}

static void print_counter(const char *cmd, const struct tpm_opts *o, uint64_t v, int locked,
			  int defined, int json)
{
	struct json j;

	if (json) {
		json_begin(&j, stdout, cmd, 1);
		json_u64(&j, "nv_index", o->index);
		json_u64(&j, "attributes", UP_FLOOR_TPM_ATTRS);
		json_u64(&j, "counter", v);
		json_bool(&j, "write_locked", locked);
		json_bool(&j, "defined_now", defined);
		json_end(&j);
		return;
	}
	printf("NV counter 0x%08x: %llu%s%s\n", o->index, (unsigned long long)v,
	       locked ? " (write-locked until reboot)" : "", defined ? " (defined now)" : "");
	printf("attributes 0x%08x: counter, authwrite, authread, ownerread, write_stclear, no_da; "
	       "empty authValue and policy\n", (unsigned)UP_FLOOR_TPM_ATTRS);
}

int sealctl_cmd_tpm(int argc, char **argv)
{
	struct tpm_opts o;
	struct tpm2_dev dev;
	struct tpm2_ops ops;
	struct si_diag d;
	const char *pos[1] = { NULL };
	size_t npos = 0;
	uint64_t v = 0;
	int r, locked = 0, defined = 0, provision;
	const struct sealcmd_optdef defs[] = {
		{ "--device", NULL, &o.device, NULL },
		{ "--index", NULL, &o.index_s, NULL },
		{ "--owner-auth-file", NULL, &o.owner_file, NULL },
		{ "--floor", NULL, &o.floor_s, NULL },
		{ "--json", NULL, NULL, &o.json },
	};

	memset(&o, 0, sizeof o);
	r = sealcmd_parse(CMD, argc, argv, defs, SI_ARRAY_SIZE(defs), pos, 1, &npos);
	if (r)
		return r == SEALCMD_HELP ? SEALCTL_OK : r;
	sealctl_json_mode = o.json;
	if (npos == 0 || (strcmp(pos[0], "provision") && strcmp(pos[0], "show")))
		return sealctl_usage_error(CMD, "a subcommand is required: provision or show");
	provision = !strcmp(pos[0], "provision");
	if (!provision && (o.owner_file || o.floor_s))
		return sealctl_usage_error(CMD, "--owner-auth-file and --floor go with provision");
	r = tpm_parse_common(CMD, &o);
	if (r)
		return r;
	if (o.floor_s && sealcmd_u64(CMD, "--floor", o.floor_s, &o.floor))
		return SEALCTL_USAGE;
	r = tpm_open(CMD, &o, &dev, &ops);
	if (r)
		return r;
	si_diag_clear(&d);
	if (provision)
		r = up_floor_tpm_provision(&ops, o.index, o.owner, o.owner_len, o.floor,
					   UP_TPM_RAISE_MAX ? UP_TPM_RAISE_MAX : 1024, &defined, &v, &d);
	if (r == 0)
		r = up_floor_tpm_read(&ops, o.index, &v, &locked, &d);
	tpm2_dev_close(&dev);
	memset(o.owner, 0, sizeof o.owner);
	if (r)
		return sealctl_report(CMD, dev.path, r, &d);
	print_counter(CMD, &o, v, locked, defined, o.json);
	return SEALCTL_OK;
}
