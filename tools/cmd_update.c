/* sealctl update: update bundles (update/bundle.h).
 *
 *   update create   from two slot directories, each with its release set:
 *                   per image that changed a forward and a reverse patch
 *                   (or a whole image where that is smaller), unchanged
 *                   images by digest, the target set, one signature
 *   update inspect  what a bundle holds (nothing trusted: no anchor)
 *
 * Every image is checked against its slot's set before anything is made:
 * a bundle never carries an image its target set does not name. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "patch/diff.h"
#include "patch/patch.h"
#include "tools/json.h"
#include "tools/out.h"
#include "tools/sealcmd.h"
#include "tools/sealctl.h"
#include "tools/signer.h"
#include "update/bundle.h"

#define CMD "update"

static const char *action_name(enum up_action a)
{
	return a == UP_ACT_SAME ? "same" : a == UP_ACT_PATCH ? "patch" : a == UP_ACT_WHOLE ? "whole" : "drop";
}

static int out_write(void *ctx, uint64_t off, const void *p, size_t n)
{
	return sealctl_out_write(CMD, ctx, off, p, n) ? SI_E_WRITE : 0;
}

static void note(void *ctx, const struct up_entry *e, size_t fwd, size_t rev)
{
	if (*(const int *)ctx)
		return; /* --json: stdout is the document */
	fprintf(stderr, "sealctl: update: %-9s %-16s %-5s forward %zu bytes, reverse %zu bytes\n",
		si_seal_kind_name(e->kind), e->name, action_name(e->action), fwd, rev);
}

static int create(const char *from, const char *to_dir, const char *key, const char *helper,
		  const char *out, const char *threads_s, const char *cache, int json)
{
	static struct up_bundle bd;
	struct patch_diff_opts o = { .seg_size = 4u << 20, .level = 19 };
	const struct plan_board *b = sealcmd_board();
	struct up_create_args a;
	struct sealctl_signer sg;
	struct sealctl_out so;
	struct si_diag d;
	unsigned i;
	int r;

	if (sealcmd_threads(CMD, threads_s, &o.threads))
		return SEALCTL_USAGE;
	r = sealctl_signer_load(CMD, key, helper, &sg);
	if (r)
		return r;
	r = sealctl_out_open(CMD, out, 0, &so);
	if (r) {
		sealctl_signer_done(&sg);
		return r;
	}
	memset(&a, 0, sizeof a);
	a.from = from;
	a.to = to_dir;
	a.kc_boot_path = b->kc_boot_path;
	a.cryptex_dir = b->cryptex_dir;
	a.signer = &sg.s;
	a.diff = &o;
	a.patch_cache = cache;
	a.write = out_write;
	a.wctx = &so;
	a.note = note;
	a.nctx = &json;
	si_diag_clear(&d);
	r = up_bundle_create(&a, &bd, &d);
	sealctl_signer_done(&sg);
	if (r) {
		sealctl_out_abort(&so);
		return r == SI_E_WRITE ? SEALCTL_SYSTEM : sealctl_report(CMD, to_dir, r, &d);
	}
	/* the padding between payloads reads as zeros */
	r = sealctl_out_size(CMD, &so, bd.payload_end);
	if (r) {
		sealctl_out_abort(&so);
		return r;
	}
	r = sealctl_out_commit(CMD, &so);
	if (r)
		return r;
	if (json) {
		struct json j;

		json_begin(&j, stdout, CMD, 1);
		json_str(&j, "output", out);
		json_str(&j, "name", bd.name);
		json_str(&j, "version", bd.version);
		json_str(&j, "base_name", bd.base_name);
		json_u64(&j, "size", bd.payload_end);
		json_arr_begin(&j, "entries");
		for (i = 0; i < bd.n; i++) {
			json_obj_begin(&j, NULL);
			json_str(&j, "kind", si_seal_kind_name(bd.e[i].kind));
			json_str(&j, "name", bd.e[i].name);
			json_str(&j, "action", action_name(bd.e[i].action));
			json_u64(&j, "forward_size", bd.e[i].fwd.len);
			json_u64(&j, "reverse_size", bd.e[i].rev.len);
			json_u64(&j, "target_size", bd.e[i].target_size);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_end(&j);
	} else {
		printf("%s: update '%s' %s over '%s', %llu bytes, %u images\n", out, bd.name, bd.version,
		       bd.base_name, (unsigned long long)bd.payload_end, bd.n);
	}
	return SEALCTL_OK;
}

static int inspect(const char *file, int json)
{
	static struct up_bundle b;
	uint8_t *data = NULL;
	size_t len = 0;
	struct si_diag d;
	char hex[65], id[SEALCTL_KEYID_SHORT + 1];
	unsigned i;
	int r;

	/* the head only: the bundle may be large */
	{
		FILE *f = fopen(file, "rb");
		long size;

		if (!f)
			return sealctl_report_errno(CMD, file, SI_E_OPEN, errno);
		if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0) {
			fclose(f);
			return sealctl_report_errno(CMD, file, SI_E_IO, errno);
		}
		rewind(f);
		len = (size_t)size < UP_BUNDLE_HEAD_MAX ? (size_t)size : UP_BUNDLE_HEAD_MAX;
		data = malloc(len ? len : 1);
		if (!data || fread(data, 1, len, f) != len) {
			fclose(f);
			free(data);
			return sealctl_report_errno(CMD, file, SI_E_IO, errno);
		}
		fclose(f);
		si_diag_clear(&d);
		r = up_bundle_open_unverified(data, len, (uint64_t)size, &b, &d);
		free(data);
		if (r)
			return sealctl_report(CMD, file, r, &d);
	}
	sealctl_keyid_short(id, b.key_id);
	si_hex(hex, b.base_set, 32);
	if (json) {
		struct json j;

		json_begin(&j, stdout, CMD, 1);
		json_str(&j, "file", file);
		json_str(&j, "name", b.name);
		json_str(&j, "version", b.version);
		json_u64(&j, "rollback_index", b.rollback_index);
		json_str(&j, "base_name", b.base_name);
		json_hex(&j, "base_set_digest", b.base_set, 32);
		json_hex(&j, "target_set_digest", b.target.sha256, 32);
		json_keyid(&j, "key_id", b.key_id);
		json_u64(&j, "size", b.payload_end);
		json_arr_begin(&j, "entries");
		for (i = 0; i < b.n; i++) {
			json_obj_begin(&j, NULL);
			json_str(&j, "kind", si_seal_kind_name(b.e[i].kind));
			json_str(&j, "name", b.e[i].name);
			json_str(&j, "action", action_name(b.e[i].action));
			json_u64(&j, "base_size", b.e[i].base_size);
			json_u64(&j, "target_size", b.e[i].target_size);
			json_u64(&j, "forward_size", b.e[i].fwd.len);
			json_u64(&j, "reverse_size", b.e[i].rev.len);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_end(&j);
		return SEALCTL_OK;
	}
	printf("%s: update '%s' %s (rollback %llu), %llu bytes, signed by %s key %s\n", file, b.name,
	       b.version, (unsigned long long)b.rollback_index, (unsigned long long)b.payload_end,
	       si_algo_name(b.sig_algo), id);
	printf("  base       '%s' (set %.16s...)\n", b.base_name, hex);
	si_hex(hex, b.target.sha256, 32);
	printf("  target     set %.16s...\n", hex);
	for (i = 0; i < b.n; i++)
		printf("  %-9s %-16s %-5s target %llu bytes, forward %llu, reverse %llu\n",
		       si_seal_kind_name(b.e[i].kind), b.e[i].name, action_name(b.e[i].action),
		       (unsigned long long)b.e[i].target_size, (unsigned long long)b.e[i].fwd.len,
		       (unsigned long long)b.e[i].rev.len);
	return SEALCTL_OK;
}

int sealctl_cmd_update(int argc, char **argv)
{
	const char *pos[2] = { NULL, NULL }, *from = NULL, *to = NULL, *key = NULL, *helper = NULL,
		   *out = NULL, *threads = NULL, *cache = NULL;
	size_t npos = 0;
	int json = 0, r;
	const struct sealcmd_optdef defs[] = {
		{ "--from", NULL, &from, NULL },
		{ "--to", NULL, &to, NULL },
		{ "--key", NULL, &key, NULL },
		{ "--signing-helper", NULL, &helper, NULL },
		{ "--output", "-o", &out, NULL },
		{ "--threads", NULL, &threads, NULL },
		{ "--patch-cache", NULL, &cache, NULL },
		{ "--json", NULL, NULL, &json },
	};

	r = sealcmd_parse(CMD, argc, argv, defs, SI_ARRAY_SIZE(defs), pos, 2, &npos);
	if (r)
		return r == SEALCMD_HELP ? SEALCTL_OK : r;
	sealctl_json_mode = json;
	if (npos == 0)
		return sealctl_usage_error(CMD, "a subcommand is required: create or inspect");
	if (!strcmp(pos[0], "inspect")) {
		if (npos != 2)
			return sealctl_usage_error(CMD, "inspect: a bundle file is required");
		return inspect(pos[1], json);
	}
	if (strcmp(pos[0], "create") != 0)
		return sealctl_usage_error(CMD, "unknown subcommand '%s' (expected create or inspect)", pos[0]);
	if (npos != 1 || !from || !to || !key || !out)
		return sealctl_usage_error(CMD, "create needs --from, --to, --key and -o");
	{
		const char *inputs[] = { from, to };

		r = sealctl_out_check(CMD, out, inputs, 2);
		if (r)
			return r;
	}
	return create(from, to, key, helper, out, threads, cache, json);
}
