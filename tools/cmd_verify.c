/* sealctl verify: the boot-time checks (footer, manifest, signature, usage,
 * rollback, geometry) plus what sealinit leaves to dm-verity: the whole
 * tree, recomputed on every core. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/str.h"
#include "tools/sealcmd.h"
#include "tools/sealctl.h"

#define CMD "verify"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sealctl verify IMAGE (--anchor DTB | --key PUB.pem) [--kind KIND]\n"
		"                      [--recorded-floor N] [--threads N] [--image-only]\n\n"
		"Checks a sealed image the way sealinit does -- footer, manifest, signature\n"
		"by a key of the anchor (or PUB.pem, which may then sign every kind and\n"
		"overlay anywhere), the key's usage, rollback, and what sealinit requires\n"
		"of its kind on this board (%s): a kc-boot is raw, the system volume\n"
		"carries the configured name, a cryptex has an overlay target its key\n"
		"allows and nobody forbids and, when the file is NAME.cryptex, the signed\n"
		"name NAME -- then recomputes the whole dm-verity tree and the root hash.\n"
		"--image-only checks the seal alone (signature, usage, rollback, tree), not\n"
		"what sealinit requires of its kind; --kind requires that kind;\n"
		"--recorded-floor N refuses rollback indexes below N; --threads 0 (the\n"
		"default) uses every online CPU.\n\n"
		"exit codes: 0 verified; 1 the image fails a check or is malformed;\n"
		"            2 wrong arguments; 3 system error (I/O)\n", CONFIG_BOARD);
}

int sealctl_cmd_verify(int argc, char **argv)
{
	const char *anchor_path = NULL, *key_path = NULL, *kind = NULL,
		   *floor_s = NULL, *threads_s = NULL, *path = NULL;
	static struct si_anchor anchor;
	struct sealcmd_image img = { -1, NULL, 0 };
	struct si_seal s;
	struct si_io io;
	struct si_mem_io mem;
	struct si_diag d;
	uint64_t floor = 0, threads = 0;
	uint32_t usage_req = 0;
	int image_only = 0;
	struct timespec t0, t1;
	char hex[65];
	int m, r;

	{
		const struct sealcmd_optdef defs[] = {
			{ "--anchor", &anchor_path, NULL }, { "--key", &key_path, NULL },
			{ "--kind", &kind, NULL }, { "--recorded-floor", &floor_s, NULL },
			{ "--threads", &threads_s, NULL }, { "--image-only", NULL, &image_only },
		};
		m = sealcmd_parse(CMD, argc, argv, defs, SI_ARRAY_SIZE(defs), &path, 1, usage);
		if (m)
			return m == SEALCMD_HELP ? SEALCTL_OK : m;
	}
	if (!path || !!anchor_path == !!key_path) {
		sealctl_msg(CMD, "an IMAGE and exactly one of --anchor and --key are required");
		usage(stderr);
		return SEALCTL_USAGE;
	}
	if (kind) {
		int k = si_seal_kind_from_name(kind);
		if (!k) {
			sealctl_msg(CMD, "--kind: expected system, cryptex, kc-boot, kc-system, kc-aux or update, found '%s'", kind);
			return SEALCTL_USAGE;
		}
		usage_req = si_seal_kind_usage((enum si_kind)k);
	}
	if (floor_s && sealcmd_u64(CMD, "--recorded-floor", floor_s, &floor))
		return SEALCTL_USAGE;
	if (threads_s && (sealcmd_u64(CMD, "--threads", threads_s, &threads) || threads > 1024))
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
	clock_gettime(CLOCK_MONOTONIC, &t0);
	si_diag_clear(&d);
	r = si_seal_verify_tree(&s.m, img.map, img.len, (unsigned)threads, &d);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	sealcmd_image_close(&img);
	if (r)
		return sealctl_report(CMD, path, r, &d);
	si_hex(hex, s.m.root_hash, s.m.root_hash_len);
	printf("%s: verified %s '%s' %s (rollback %llu) %s,%s:%s root %s, %llu blocks in %.3f s\n",
	       path, si_seal_kind_name(s.m.kind), s.m.name, s.m.version,
	       (unsigned long long)s.m.rollback_index, si_seal_hash_name(s.m.hash_algo),
	       si_algo_name(s.m.sig_algo), anchor.keys[s.key_index].id, hex,
	       (unsigned long long)s.m.data_blocks,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return SEALCTL_OK;
}
