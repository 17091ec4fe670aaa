/* sealctl update: update bundles (update/bundle.h).
 *
 *   update create   from two slot directories, each with its release set:
 *                   per image that changed a forward and a reverse patch
 *                   (or a whole image where that is smaller), unchanged
 *                   images by digest, the target set, one signature
 *   update inspect  what a bundle holds (nothing trusted: no anchor)
 *
 * Every image of both slots has its whole tree recomputed (sealcmd_slot_
 * check) and is checked against its slot's set before anything is made:
 * a bundle never carries a damaged image, nor one its target set does
 * not name.  The bundle is never written over a slot, the key or the
 * signing helper. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* --progress: each patch the bundle needs is a diff with its phases;
 * the images are named by the note lines as each is done. */
struct progress {
	unsigned n;             /* patches begun */
	enum patch_diff_phase last;
};

static void show_progress(void *ctx, enum patch_diff_phase phase, uint64_t done, uint64_t total)
{
	struct progress *p = ctx;
	char label[64];

	/* phases only go forward within a diff: going back is the next one
	 * (a patch from nothing has no base to index) */
	if (p->n == 0 || phase < p->last)
		p->n++;
	p->last = phase;
	snprintf(label, sizeof label, "patch %u: %s", p->n, sealcmd_diff_phase_name(phase));
	sealctl_progress(CMD, label, done, total);
}

static void note(void *ctx, const struct up_entry *e, size_t fwd, size_t rev)
{
	sealctl_progress_end();
	if (*(const int *)ctx)
		return; /* --json: stdout is the document */
	fprintf(stderr, "sealctl: update: %-9s %-16s %-5s forward %zu bytes, reverse %zu bytes\n",
		si_seal_kind_name(e->kind), e->name, action_name(e->action), fwd, rev);
}

/* An error of up_bundle_create names the file it concerns (a slot's set or
 * image) in the diagnostic's object: the message names that file, not
 * the slot directory. */
static int report_in(const char *dir, int r, const struct si_diag *d)
{
	struct si_diag c = *d;
	char file[sizeof c.where];

	if (!strchr(c.where, '/'))
		return sealctl_report(CMD, dir, r, &c);
	memcpy(file, c.where, sizeof file);
	c.where[0] = '\0';
	return sealctl_report(CMD, file, r, &c);
}

/* --json, the same keys for create and inspect: "file" is the bundle read,
 * "output" the bundle written (null when it does not apply). */
static void print_json(const char *cmd, const struct up_bundle *b, const char *type,
		       const char *file, const char *out)
{
	struct json j;
	unsigned i;

	json_begin(&j, stdout, cmd, 1);
	if (type)
		json_str(&j, "type", type);
	if (file)
		json_str(&j, "file", file);
	else
		json_null(&j, "file");
	if (!type) {
		if (out)
			json_str(&j, "output", out);
		else
			json_null(&j, "output");
	}
	json_str(&j, "name", b->name);
	json_str(&j, "version", b->version);
	json_u64(&j, "rollback_index", b->rollback_index);
	json_str(&j, "base_name", b->base_name);
	json_hex(&j, "base_set_digest", b->base_set, 32);
	json_hex(&j, "target_set_digest", b->target.sha256, 32);
	json_keyid(&j, "key_id", b->key_id);
	json_u64(&j, "size", b->payload_end);
	json_arr_begin(&j, "entries");
	for (i = 0; i < b->n; i++) {
		json_obj_begin(&j, NULL);
		json_str(&j, "kind", si_seal_kind_name(b->e[i].kind));
		json_str(&j, "name", b->e[i].name);
		json_str(&j, "action", action_name(b->e[i].action));
		json_u64(&j, "base_size", b->e[i].base_size);
		json_u64(&j, "target_size", b->e[i].target_size);
		json_u64(&j, "forward_size", b->e[i].fwd.len);
		json_u64(&j, "reverse_size", b->e[i].rev.len);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_end(&j);
}

static int create(const char *from, const char *to_dir, const char *key, const char *helper,
		  const char *out, const char *threads_s, const char *cache, int progress, int json)
{
	struct progress pr = { 0, PATCH_DIFF_SORT };
	static struct up_bundle bd;
	struct patch_diff_opts o = { .seg_size = 0, .level = 19 }; /* 0: by each image's size */
	const struct plan_board *b = sealcmd_board();
	struct up_create_args a;
	struct sealctl_signer sg;
	struct sealctl_out so;
	struct si_diag d;
	int r;

	if (sealcmd_threads(CMD, threads_s, &o.threads))
		return SEALCTL_USAGE;
	progress = sealcmd_progress_wanted(progress);
	if (progress) {
		o.progress = show_progress;
		o.pctx = &pr;
	}
	r = sealctl_signer_load(CMD, key, helper, &sg);
	if (r)
		return r;
	/* Both releases' images whole before anything is made: a damaged
	 * image (its manifest, hence its set entry, intact) would otherwise
	 * become a bundle that every device refuses at boot. */
	r = sealcmd_slot_check(CMD, from, progress);
	if (r == 0)
		r = sealcmd_slot_check(CMD, to_dir, progress);
	if (r) {
		sealctl_signer_done(&sg);
		return r;
	}
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
	if (r == 0) {
		memcpy(bd.key_id, sg.s.pub->fingerprint, 32);
		bd.sig_algo = sg.s.pub->algo;
	}
	sealctl_signer_done(&sg);
	if (r) {
		sealctl_out_abort(&so);
		if (r == SI_E_WRITE)
			return SEALCTL_SYSTEM; /* out_write reported it */
		if (sealctl_signer_blame(helper, r, NULL))
			return sealctl_report(CMD, helper, r, &d);
		return report_in(to_dir, r, &d);
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
		print_json(CMD, &bd, NULL, NULL, out);
	} else {
		printf("%s: update '%s' %s over '%s', %llu bytes, %u images\n", out, bd.name, bd.version,
		       bd.base_name, (unsigned long long)bd.payload_end, bd.n);
	}
	return SEALCTL_OK;
}

/* One bundle's head (p[0..len): at least its head, of a file of size
 * bytes), parsed without trusting it, printed for `update inspect` and
 * `inspect` (type "bundle"). */
int sealcmd_bundle_show(const char *cmd, const char *file, const uint8_t *p, size_t len,
			uint64_t size, int json, const char *type)
{
	static struct up_bundle b;
	struct si_diag d;
	char hex[65], id[SEALCTL_KEYID_SHORT + 1];
	unsigned i;
	int r;

	si_diag_clear(&d);
	r = up_bundle_open_unverified(p, len < UP_BUNDLE_HEAD_MAX ? len : UP_BUNDLE_HEAD_MAX, size,
				      &b, &d);
	if (r)
		return sealctl_report(cmd, file, r, &d);
	if (json) {
		print_json(cmd, &b, type, file, NULL);
		return SEALCTL_OK;
	}
	sealctl_keyid_short(id, b.key_id);
	si_hex(hex, b.base_set, 32);
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

static int inspect(const char *file, int json)
{
	struct sealcmd_image img;
	int r;

	r = sealcmd_image_open(CMD, file, &img);
	if (r)
		return r;
	r = sealcmd_bundle_show(CMD, file, img.map, img.len, img.len, json, NULL);
	sealcmd_image_close(&img);
	return r;
}

int sealctl_cmd_update(int argc, char **argv)
{
	const char *pos[2] = { NULL, NULL }, *from = NULL, *to = NULL, *key = NULL, *helper = NULL,
		   *out = NULL, *threads = NULL, *cache = NULL;
	size_t npos = 0;
	int json = 0, progress = 0, r;
	const struct sealcmd_optdef defs[] = {
		{ "--from", NULL, &from, NULL },
		{ "--to", NULL, &to, NULL },
		{ "--key", NULL, &key, NULL },
		{ "--signing-helper", NULL, &helper, NULL },
		{ "--output", "-o", &out, NULL },
		{ "--threads", NULL, &threads, NULL },
		{ "--progress", NULL, NULL, &progress },
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
		const char *inputs[] = { from, to, key, helper };
		struct stat sf, st;

		if (stat(from, &sf) == 0 && stat(to, &st) == 0 && sf.st_dev == st.st_dev &&
		    sf.st_ino == st.st_ino)
			return sealctl_usage_error(CMD, "--from %s and --to %s are the same slot: a bundle "
						   "goes from one release to another", from, to);

		r = sealctl_out_check(CMD, out, inputs, SI_ARRAY_SIZE(inputs));
		if (r)
			return r;
	}
	return create(from, to, key, helper, out, threads, cache, progress, json);
}
