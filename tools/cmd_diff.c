/* sealctl diff: make a patch from OLD to NEW (and the reverse one).
 *
 * Two sealed images: the patch names both seals, so apply can refuse
 * another base by its seal and check the result against the target's.  A
 * sealed image in a partition (footer at its end, a gap before it) is
 * diffed as the file it was sealed as, so one patch serves a file and a
 * partition of any size. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/str.h"
#include "patch/diff.h"
#include "patch/patch.h"
#include "tools/json.h"
#include "tools/out.h"
#include "tools/sealcmd.h"
#include "tools/sealctl.h"

#define CMD "diff"

static void show_progress(void *ctx, enum patch_diff_phase phase, uint64_t done, uint64_t total)
{
	const char *what = ctx;
	char label[64];

	snprintf(label, sizeof label, "%s: %s", what, sealcmd_diff_phase_name(phase));
	sealctl_progress(CMD, label, done, total);
}

struct input {
	struct sealcmd_image img;
	const uint8_t *p;       /* the bytes diffed: the mapping, or canon */
	size_t len;
	uint8_t *canon;         /* a partition's image as the file it was */
	int sealed;
	struct si_seal_unverified s;
	uint8_t md[32];
};

static int input_open(const char *path, struct input *in)
{
	int r = sealcmd_image_open(CMD, path, &in->img);

	if (r)
		return r;
	in->p = in->img.map;
	in->len = in->img.len;
	in->sealed = in->img.len && sealcmd_seal_id(in->img.map, in->img.len, &in->s, in->md) == 0;
	if (in->sealed) {
		uint64_t mend = in->s.m.manifest_offset + in->s.m.manifest_size;

		if (mend + SI_FOOTER_SIZE != in->img.len) {
			in->canon = malloc((size_t)mend + SI_FOOTER_SIZE);
			if (!in->canon)
				return sealctl_report(CMD, path, SI_E_NOMEM, NULL);
			memcpy(in->canon, in->img.map, (size_t)mend);
			memcpy(in->canon + mend, in->img.map + in->img.len - SI_FOOTER_SIZE,
			       SI_FOOTER_SIZE);
			in->p = in->canon;
			in->len = (size_t)mend + SI_FOOTER_SIZE;
		}
	}
	return 0;
}

static void input_close(struct input *in)
{
	free(in->canon);
	if (in->img.fd >= 0)
		sealcmd_image_close(&in->img);
}

static int diff_one(const char *what, const struct input *a, const struct input *b,
		    struct patch_diff_opts *o, const char *path, int verbose, size_t *size)
{
	struct patch_diff_stats st;
	struct si_diag d;
	uint8_t *p = NULL;
	size_t pn = 0;
	int r;

	si_diag_clear(&d);
	o->pctx = (void *)what;
	r = patch_diff(a->p, a->len, b->p, b->len, o, &p, &pn, &st, &d);
	sealctl_progress_end();
	if (r != 0)
		return sealctl_report(CMD, what, r, &d);
	if (verbose)
		fprintf(stderr,
			"sealctl: diff: %s: %zu bytes; ops copy %llu (%llu B) add %llu (%llu B) "
			"xadd %llu (%llu B) lit %llu (%llu B) zero %llu (%llu B) keep %llu (%llu B); "
			"streams ctrl %llu diff %llu lit %llu B; map %llu pieces (%llu B); "
			"references made %llu difference bytes zero; %llu gzip, xz or zstd members decompressed "
			"(gzip members: %llu coding the old member's symbols where they agree; "
			"xz streams: %llu tried both ways, %llu split into data and parse; "
			"deflate members other encoders made: %llu split into data and parse; "
			"zstd frames: %llu split into data and parse); "
			"%llu segments' literals through the x86-64 filter\n",
			what, pn, (unsigned long long)st.ops[0], (unsigned long long)st.bytes[0],
			(unsigned long long)st.ops[1], (unsigned long long)st.bytes[1],
			(unsigned long long)st.ops[4], (unsigned long long)st.bytes[4],
			(unsigned long long)st.ops[2], (unsigned long long)st.bytes[2],
			(unsigned long long)st.ops[3], (unsigned long long)st.bytes[3],
			(unsigned long long)st.ops[5], (unsigned long long)st.bytes[5],
			(unsigned long long)st.ctrl_c, (unsigned long long)st.diff_c,
			(unsigned long long)st.lit_c, (unsigned long long)st.map_pieces,
			(unsigned long long)st.map_c, (unsigned long long)st.xadd_saved,
			(unsigned long long)st.nexp, (unsigned long long)st.gz_reuse,
			(unsigned long long)st.xz_tried,
			(unsigned long long)st.xz_split, (unsigned long long)st.dfl_split,
			(unsigned long long)st.zs_split, (unsigned long long)st.lit_filtered);
	r = sealctl_out_file(CMD, path, 0, p, pn);
	free(p);
	*size = pn;
	return r;
}

int sealctl_cmd_diff(int argc, char **argv)
{
	const char *pos[2] = { NULL, NULL }, *out = NULL, *rev = NULL, *seg_s = NULL,
		   *level_s = NULL, *threads_s = NULL;
	struct patch_diff_opts o = { .seg_size = 0, .level = 22 }; /* 0: by the image's size */
	static struct input a, b;
	static struct patch_seals fwd, back;
	size_t npos = 0, fsize = 0, rsize = 0;
	int verbose = 0, progress = 0, json = 0, r;
	uint64_t v;
	const struct sealcmd_optdef defs[] = {
		{ "--output", "-o", &out, NULL }, { "--reverse", "-r", &rev, NULL },
		{ "--segment-kib", NULL, &seg_s, NULL }, { "--level", NULL, &level_s, NULL },
		{ "--threads", NULL, &threads_s, NULL }, { "--progress", NULL, NULL, &progress },
		{ "--verbose", "-v", NULL, &verbose }, { "--json", NULL, NULL, &json },
	};

	r = sealcmd_parse(CMD, argc, argv, defs, SI_ARRAY_SIZE(defs), pos, 2, &npos);
	if (r)
		return r == SEALCMD_HELP ? SEALCTL_OK : r;
	if (npos != 2 || !out)
		return sealctl_usage_error(CMD, "OLD, NEW and -o PATCH are required");
	if (seg_s) {
		if (si_parse_u64(seg_s, strlen(seg_s), PATCH_SEG_MIN / 1024, PATCH_SEG_MAX / 1024,
				 &v) != 0 || (v & (v - 1)))
			return sealctl_usage_error(CMD, "--segment-kib: expected a power of two in "
						   "%u..%u, found '%s'", PATCH_SEG_MIN / 1024,
						   PATCH_SEG_MAX / 1024, seg_s);
		o.seg_size = (uint32_t)v * 1024;
	}
	if (level_s) {
		if (si_parse_u64(level_s, strlen(level_s), 1, 22, &v) != 0)
			return sealctl_usage_error(CMD, "--level: expected 1..22, found '%s'", level_s);
		o.level = (int)v;
	}
	if (sealcmd_threads(CMD, threads_s, &o.threads))
		return SEALCTL_USAGE;
	if ((r = sealctl_out_distinct(CMD, out, rev)) != 0)
		return r;
	{
		const char *inputs[] = { pos[0], pos[1] };

		if ((r = sealctl_out_check(CMD, out, inputs, 2)) != 0 ||
		    (rev && (r = sealctl_out_check(CMD, rev, inputs, 2)) != 0))
			return r;
	}
	if (sealcmd_progress_wanted(progress))
		o.progress = show_progress;

	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	a.img.fd = b.img.fd = -1;
	if ((r = input_open(pos[0], &a)) != 0 || (r = input_open(pos[1], &b)) != 0)
		goto out;
	if (a.sealed && b.sealed) {
		memcpy(fwd.base_manifest, a.md, 32);
		memcpy(fwd.target_manifest, b.md, 32);
		memcpy(fwd.base_root, a.s.m.root_hash, 32);
		memcpy(fwd.target_root, b.s.m.root_hash, 32);
		memcpy(back.base_manifest, fwd.target_manifest, 32);
		memcpy(back.base_root, fwd.target_root, 32);
		memcpy(back.target_manifest, fwd.base_manifest, 32);
		memcpy(back.target_root, fwd.base_root, 32);
		if (!json)
			fprintf(stderr, "sealctl: diff: sealed images: %s '%s' %s -> %s\n",
				si_seal_kind_name(b.s.m.kind), b.s.m.name, a.s.m.version,
				b.s.m.version);
	}
	o.seals = a.sealed && b.sealed ? &fwd : NULL;
	r = diff_one("forward patch", &a, &b, &o, out, verbose, &fsize);
	if (r == SEALCTL_OK && rev) {
		o.seals = a.sealed && b.sealed ? &back : NULL;
		r = diff_one("reverse patch", &b, &a, &o, rev, verbose, &rsize);
	}
	if (r == SEALCTL_OK && json) {
		struct json j;

		json_begin(&j, stdout, CMD, 1);
		json_str(&j, "output", out);
		json_u64(&j, "patch_size", fsize);
		json_str(&j, "reverse", rev);
		if (rev)
			json_u64(&j, "reverse_size", rsize);
		else
			json_null(&j, "reverse_size");
		json_u64(&j, "old_size", a.len);
		json_u64(&j, "new_size", b.len);
		json_u64(&j, "segment_size", o.seg_size ? o.seg_size : patch_diff_seg_size(b.len));
		if (a.sealed && b.sealed) {
			json_obj_begin(&j, "sealed");
			json_str(&j, "kind", si_seal_kind_name(b.s.m.kind));
			json_str(&j, "name", b.s.m.name);
			json_str(&j, "from_version", a.s.m.version);
			json_str(&j, "to_version", b.s.m.version);
			json_obj_end(&j);
		} else {
			json_null(&j, "sealed");
		}
		json_end(&j);
	}
out:
	input_close(&a);
	input_close(&b);
	return r;
}
