/* sealctl verify: the boot-time checks (footer, manifest, signature, usage,
 * rollback, geometry) plus what sealinit leaves to dm-verity: the whole
 * tree, recomputed on every core.  A file or a partition (footer at its
 * end). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/str.h"
#include "tools/json.h"
#include "tools/sealcmd.h"
#include "tools/sealctl.h"

#define CMD "verify"

int sealctl_cmd_verify(int argc, char **argv)
{
	const char *anchor_path = NULL, *key_path = NULL, *kind = NULL,
		   *floor_s = NULL, *threads_s = NULL, *path = NULL;
	static struct si_anchor anchor;
	struct sealcmd_image img = { -1, 0, NULL, 0 };
	struct si_seal s;
	struct si_io io;
	struct si_mem_io mem;
	struct si_diag d;
	uint64_t floor = 0;
	uint32_t usage_req = 0;
	unsigned threads;
	int image_only = 0, progress = 0;
	struct timespec t0, t1;
	char hex[65], id[SEALCTL_KEYID_SHORT + 1];
	size_t npos = 0;
	double secs;
	int json = 0, r;
	const struct sealcmd_optdef defs[] = {
		{ "--anchor", NULL, &anchor_path, NULL }, { "--key", NULL, &key_path, NULL },
		{ "--kind", NULL, &kind, NULL }, { "--recorded-floor", NULL, &floor_s, NULL },
		{ "--threads", NULL, &threads_s, NULL }, { "--image-only", NULL, NULL, &image_only },
		{ "--progress", NULL, NULL, &progress },
		{ "--json", NULL, NULL, &json },
	};

	r = sealcmd_parse(CMD, argc, argv, defs, SI_ARRAY_SIZE(defs), &path, 1, &npos);
	if (r)
		return r == SEALCMD_HELP ? SEALCTL_OK : r;
	if (!path || !!anchor_path == !!key_path)
		return sealctl_usage_error(CMD, "an IMAGE and exactly one of --anchor and --key "
					   "are required");
	if (kind) {
		int k = si_seal_kind_from_name(kind);

		if (!k)
			return sealctl_usage_error(CMD, "--kind: expected system, cryptex, kc-boot, "
						   "kc-system, kc-aux or update, found '%s'", kind);
		usage_req = si_seal_kind_usage((enum si_kind)k);
	}
	if (floor_s && sealcmd_u64(CMD, "--recorded-floor", floor_s, &floor))
		return SEALCTL_USAGE;
	if (sealcmd_threads(CMD, threads_s, &threads))
		return SEALCTL_USAGE;

	memset(&anchor, 0, sizeof anchor);
	if (anchor_path) {
		r = sealcmd_load_anchor(CMD, anchor_path, &anchor);
	} else {
		anchor.n_keys = 1;
		r = sealcmd_load_pub(CMD, key_path, &anchor.keys[0]);
		/* One key given by hand may overlay anywhere nobody forbids. */
		anchor.keys[0].n_targets = 1;
		strcpy(anchor.keys[0].targets, "/");
	}
	if (r)
		return r;

	r = sealcmd_image_open(CMD, path, &img);
	if (r)
		return r;
	si_io_mem(&io, &mem, img.map, img.len);
	si_diag_clear(&d);
	r = si_seal_open(&io, &anchor, usage_req, floor, &s, &d);
	if (r) {
		sealcmd_image_close(&img);
		return sealctl_report(CMD, path, r, &d);
	}
	if (!image_only) {
		/* What sealinit requires of this kind of image on this board. */
		const struct plan_board *b = sealcmd_board();
		struct plan_policy pol = { b, &anchor, b->real_init,
					   b->data_label[0] && strcmp(b->data_label, "none") ? b->data_mount : NULL };
		const char *base = strrchr(path, '/');
		char name[SI_SEAL_NAME_MAX + 1];
		size_t n;

		base = base ? base + 1 : path;
		n = strlen(base);
		name[0] = '\0';
		if (n > 8 && n - 8 <= SI_SEAL_NAME_MAX && !strcmp(base + n - 8, ".cryptex"))
			snprintf(name, sizeof name, "%.*s", (int)(n - 8), base);
		r = plan_seal_check(&pol, &s, name[0] ? name : NULL, &d);
		if (r) {
			sealcmd_image_close(&img);
			return sealctl_report(CMD, path, r, &d);
		}
	}
	progress = sealcmd_progress_wanted(progress);
	if (progress)
		sealctl_progress(CMD, "recomputing the hash tree", 0, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	si_diag_clear(&d);
	r = si_seal_verify_tree(&s.m, img.map, img.len, threads, &d);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (r == 0 && progress)
		sealctl_progress(CMD, "recomputing the hash tree", 1, 1);
	sealcmd_image_close(&img);
	if (r)
		return sealctl_report(CMD, path, r, &d);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (json) {
		struct json j;

		json_begin(&j, stdout, CMD, 1);
		json_str(&j, "image", path);
		json_bool(&j, "verified", 1);
		json_str(&j, "kind", si_seal_kind_name(s.m.kind));
		json_str(&j, "name", s.m.name);
		json_str(&j, "version", s.m.version);
		json_u64(&j, "rollback_index", s.m.rollback_index);
		json_str(&j, "hash_algorithm", si_seal_hash_name(s.m.hash_algo));
		json_hex(&j, "root_hash", s.m.root_hash, s.m.root_hash_len);
		json_str(&j, "signature_algorithm", si_algo_name(s.m.sig_algo));
		json_keyid(&j, "key_id", s.m.key_id);
		json_str(&j, "anchor_key", anchor_path ? anchor.keys[s.key_index].id : NULL);
		json_u64(&j, "data_blocks", s.m.data_blocks);
		json_u64(&j, "threads", threads);
		json_seconds(&j, "seconds", secs);
		json_end(&j);
		return SEALCTL_OK;
	}
	si_hex(hex, s.m.root_hash, s.m.root_hash_len);
	sealctl_keyid_short(id, s.m.key_id);
	printf("%s: verified %s '%s' %s (rollback %llu) %s,%s:%s%s%s root %s, %llu blocks in "
	       "%.3f s\n",
	       path, si_seal_kind_name(s.m.kind), s.m.name, s.m.version,
	       (unsigned long long)s.m.rollback_index, si_seal_hash_name(s.m.hash_algo),
	       si_algo_name(s.m.sig_algo), anchor_path ? anchor.keys[s.key_index].id : "key",
	       " ", id, hex, (unsigned long long)s.m.data_blocks, secs);
	return SEALCTL_OK;
}
