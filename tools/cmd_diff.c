/* sealctl diff: make a patch from OLD to NEW (and the reverse one). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/str.h"
#include "patch/diff.h"
#include "patch/patch.h"
#include "tools/sealcmd.h"
#include "tools/sealctl.h"

static void diff_usage(FILE *f)
{
	fprintf(f,
		"usage: sealctl diff OLD NEW -o PATCH [-r REVERSE] [options]\n\n"
		"Makes a delta patch that turns image OLD into image NEW (sealctl apply).\n"
		"With -r, also writes REVERSE, the patch from NEW back to OLD.\n\n"
		"options:\n"
		"  -o, --output PATCH    the forward patch (required)\n"
		"  -r, --reverse FILE    the reverse patch\n"
		"  --segment-kib N       output segment size in KiB, a power of two\n"
		"                        (default 4096; apply memory is about 2.5x this per thread)\n"
		"  --level N             zstd level 1..22 (default 22)\n"
		"  --threads N           compression threads (default: all cores)\n"
		"  -v, --verbose         print what the diff found\n");
}

static int diff_one(const char *what, const uint8_t *a, size_t an, const uint8_t *b, size_t bn,
		    const struct patch_diff_opts *o, const char *path, int verbose)
{
	struct patch_diff_stats st;
	struct si_diag d;
	uint8_t *p = NULL;
	size_t pn = 0;
	int r;

	si_diag_clear(&d);
	r = patch_diff(a, an, b, bn, o, &p, &pn, &st, &d);
	if (r != 0)
		return sealctl_report("diff", what, r, &d);
	if (verbose)
		fprintf(stderr,
			"sealctl: diff: %s: %zu bytes; ops copy %llu (%llu B) add %llu (%llu B) "
			"lit %llu (%llu B) zero %llu (%llu B); streams ctrl %llu diff %llu lit %llu B\n",
			what, pn, (unsigned long long)st.ops[0], (unsigned long long)st.bytes[0],
			(unsigned long long)st.ops[1], (unsigned long long)st.bytes[1],
			(unsigned long long)st.ops[2], (unsigned long long)st.bytes[2],
			(unsigned long long)st.ops[3], (unsigned long long)st.bytes[3],
			(unsigned long long)st.ctrl_c, (unsigned long long)st.diff_c,
			(unsigned long long)st.lit_c);
	r = sealctl_write_file(path, p, pn);
	free(p);
	if (r != 0) {
		si_diag_clear(&d);
		si_diag_field(&d, path);
		return sealctl_report("diff", "writing the patch", r, &d);
	}
	return SEALCTL_OK;
}

int sealctl_cmd_diff(int argc, char **argv)
{
	const char *pos[2] = { NULL, NULL }, *out = NULL, *rev = NULL;
	struct patch_diff_opts o = { .seg_size = 4u << 20, .level = 22 };
	uint8_t *a = NULL, *b = NULL;
	size_t an = 0, bn = 0;
	int npos = 0, verbose = 0, i, r;
	long nc = sysconf(_SC_NPROCESSORS_ONLN);

	o.threads = nc > 0 ? (unsigned)nc : 1;
	for (i = 1; i < argc; i++) {
		const char *s = argv[i];
		uint64_t v;

		if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
			diff_usage(stdout);
			return SEALCTL_OK;
		} else if ((!strcmp(s, "-o") || !strcmp(s, "--output")) && i + 1 < argc) {
			out = argv[++i];
		} else if ((!strcmp(s, "-r") || !strcmp(s, "--reverse")) && i + 1 < argc) {
			rev = argv[++i];
		} else if (!strcmp(s, "--segment-kib") && i + 1 < argc) {
			if (si_parse_u64(argv[i + 1], strlen(argv[i + 1]), PATCH_SEG_MIN / 1024,
					 PATCH_SEG_MAX / 1024, &v) != 0 || (v & (v - 1))) {
				sealctl_msg("diff", "--segment-kib: expected a power of two in %u..%u, found '%s'",
					    PATCH_SEG_MIN / 1024, PATCH_SEG_MAX / 1024, argv[i + 1]);
				return SEALCTL_USAGE;
			}
			o.seg_size = (uint32_t)v * 1024;
			i++;
		} else if (!strcmp(s, "--level") && i + 1 < argc) {
			if (si_parse_u64(argv[i + 1], strlen(argv[i + 1]), 1, 22, &v) != 0) {
				sealctl_msg("diff", "--level: expected 1..22, found '%s'", argv[i + 1]);
				return SEALCTL_USAGE;
			}
			o.level = (int)v;
			i++;
		} else if (!strcmp(s, "--threads") && i + 1 < argc) {
			if (si_parse_u64(argv[i + 1], strlen(argv[i + 1]), 1, 64, &v) != 0) {
				sealctl_msg("diff", "--threads: expected 1..64, found '%s'", argv[i + 1]);
				return SEALCTL_USAGE;
			}
			o.threads = (unsigned)v;
			i++;
		} else if (!strcmp(s, "-v") || !strcmp(s, "--verbose")) {
			verbose = 1;
		} else if (s[0] == '-' && s[1]) {
			sealctl_msg("diff", "unknown option or missing value: '%s' (see sealctl diff --help)", s);
			return SEALCTL_USAGE;
		} else if (npos < 2) {
			pos[npos++] = s;
		} else {
			sealctl_msg("diff", "unexpected argument '%s'", s);
			return SEALCTL_USAGE;
		}
	}
	if (npos != 2 || !out) {
		diff_usage(stderr);
		return SEALCTL_USAGE;
	}
	for (i = 0; i < 2; i++) {
		r = sealctl_read_file(pos[i], (size_t)INT32_MAX - 1, i ? &b : &a, i ? &bn : &an);
		if (r != 0) {
			struct si_diag d;

			si_diag_clear(&d);
			si_diag_field(&d, pos[i]);
			free(a);
			return sealctl_report("diff", i ? "reading NEW" : "reading OLD", r, &d);
		}
	}
	/* Two sealed images: the patch names both seals, so apply can refuse
	 * another base by name and check the result against the target's. */
	{
		static struct si_seal_unverified sa, sb;
		static struct patch_seals fwd, back;
		int sealed = sealcmd_seal_id(a, an, &sa, fwd.base_manifest) == 0 &&
			     sealcmd_seal_id(b, bn, &sb, fwd.target_manifest) == 0;

		if (sealed) {
			memcpy(fwd.base_root, sa.m.root_hash, 32);
			memcpy(fwd.target_root, sb.m.root_hash, 32);
			memcpy(back.base_manifest, fwd.target_manifest, 32);
			memcpy(back.base_root, fwd.target_root, 32);
			memcpy(back.target_manifest, fwd.base_manifest, 32);
			memcpy(back.target_root, fwd.base_root, 32);
			fprintf(stderr, "sealctl: diff: sealed images: %s '%s' %s -> %s\n",
				si_seal_kind_name(sb.m.kind), sb.m.name, sa.m.version, sb.m.version);
		}
		o.seals = sealed ? &fwd : NULL;
		r = diff_one("forward patch", a, an, b, bn, &o, out, verbose);
		o.seals = sealed ? &back : NULL;
		if (r == SEALCTL_OK && rev)
			r = diff_one("reverse patch", b, bn, a, an, &o, rev, verbose);
	}
	free(a);
	free(b);
	return r;
}
