/* sealctl apply: apply a patch made by sealctl diff, out of place. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/str.h"
#include "patch/diff.h"
#include "patch/patch.h"
#include "tools/sealcmd.h"
#include "tools/sealctl.h"
#include "verify/seal.h"

#include <sys/mman.h>
#include <sys/stat.h>

static void apply_usage(FILE *f)
{
	fprintf(f,
		"usage: sealctl apply OLD PATCH -o NEW [options]\n\n"
		"Applies PATCH (made by sealctl diff) to image OLD and writes NEW out of place:\n"
		"NEW.part is written, every segment's digest checked, then renamed to NEW.\n"
		"A patch made for another base image is refused before anything is written.\n\n"
		"options:\n"
		"  -o, --output NEW      the patched image (required)\n"
		"  --threads N           worker threads (default: all cores, within --memory-mib)\n"
		"  --memory-mib N        memory for segment buffers (default 24)\n"
		"  --checkpoint FILE     journal completed segments in FILE; after an\n"
		"                        interruption the same command resumes\n"
		"  --progress            show progress on stderr (default when it is a terminal)\n"
		"  --anchor DTB | --key PUB.pem\n"
		"                        NEW is a sealed image: before the rename, check its\n"
		"                        manifest signature (by a key of the anchor, or PUB.pem)\n"
		"                        and recompute its whole hash tree against the signed\n"
		"                        root hash; on a mismatch NEW is not written\n");
}

/* The sealed-image hook: the finished NEW.part must open as a sealed image
 * signed by the anchor and its recomputed tree must give the signed root
 * hash.  (Mapped whole here; sealinit will hash the leaves as it writes.) */
struct seal_check {
	struct si_anchor anchor;
	int have_keys;               /* --anchor or --key: check the signature */
	int has_seals;               /* the patch names base and target seals */
	struct patch_seals seals;
	char line[600];
};

static int check_sealed(void *ctx, int fd, uint64_t size, struct si_diag *d)
{
	struct seal_check *sc = ctx;
	struct sealcmd_image img;
	struct si_io io;
	struct si_mem_io mem;
	struct si_seal s;
	struct si_seal_unverified u;
	const struct si_manifest *m = sc->have_keys ? &s.m : &u.m;
	char hex[2 * SI_SEAL_DIGEST_MAX + 1];
	int r;

	if (size == 0 || size > SIZE_MAX)
		return SI_E_PATCH_TARGET;
	img.fd = fd;
	img.len = (size_t)size;
	img.map = mmap(NULL, img.len, PROT_READ, MAP_SHARED, fd, 0);
	if (img.map == MAP_FAILED) {
		si_diag_errno(d, errno);
		return SI_E_IO;
	}
	si_io_mem(&io, &mem, img.map, img.len);
	if (sc->have_keys)
		r = si_seal_open(&io, &sc->anchor, 0, 0, &s, d);
	else
		r = si_seal_open_unverified(&io, &u, d);
	if (r == 0)
		r = si_seal_verify_tree(m, img.map, img.len, 0, d);
	if (r == 0 && sc->has_seals) {
		/* The result must be exactly the seal the patch names. */
		if (m->root_hash_len != 32 ||
		    si_ct_memcmp(m->digest, sc->seals.target_manifest, 32) != 0) {
			si_diag_field(d, "patch.seals.target_manifest");
			si_diag_bytes(d, sc->seals.target_manifest, m->digest, 32);
			r = SI_E_PATCH_TARGET;
		} else if (si_ct_memcmp(m->root_hash, sc->seals.target_root, 32) != 0) {
			si_diag_field(d, "patch.seals.target_root");
			si_diag_bytes(d, sc->seals.target_root, m->root_hash, 32);
			r = SI_E_PATCH_TARGET;
		}
	}
	munmap((void *)img.map, img.len);
	if (r != 0)
		return r;
	si_hex(hex, m->root_hash, m->root_hash_len);
	snprintf(sc->line, sizeof sc->line, "verified %s '%s' %s root %s", si_seal_kind_name(m->kind),
		 m->name, m->version, hex);
	return 0;
}

/* A patch that names its seals: read them (checked with the index), and
 * refuse a base that is not the named seal before anything is written. */
static int base_seal_check(const char *old, const char *patch, const struct patch_info *info,
			   struct seal_check *sc)
{
	struct sealcmd_image img;
	struct si_diag d;
	struct si_seal_unverified s;
	uint8_t md[32];
	uint8_t *hdr;
	struct stat st;
	int fd, r;

	si_diag_clear(&d);
	hdr = malloc(info->header_len);
	fd = open(patch, O_RDONLY | O_CLOEXEC);
	if (!hdr || fd < 0 || fstat(fd, &st) != 0 ||
	    pread(fd, hdr, info->header_len, 0) != (ssize_t)info->header_len) {
		si_diag_errno(&d, errno);
		if (fd >= 0)
			close(fd);
		free(hdr);
		return sealctl_report("apply", patch, SI_E_IO, &d);
	}
	close(fd);
	r = patch_index_check(hdr, info->header_len, info, (uint64_t)st.st_size, &d);
	if (r == 0)
		patch_seals_get(hdr, info, &sc->seals);
	free(hdr);
	if (r)
		return sealctl_report("apply", patch, r, &d);
	sc->has_seals = 1;
	r = sealcmd_image_open("apply", old, &img);
	if (r)
		return r;
	r = sealcmd_seal_id(img.map, img.len, &s, md);
	sealcmd_image_close(&img);
	if (r) {
		si_diag_field(&d, "OLD");
		return sealctl_report("apply", "the patch is for a sealed image; OLD is not one", r, &d);
	}
	if (si_ct_memcmp(md, sc->seals.base_manifest, 32) != 0) {
		si_diag_field(&d, "patch.seals.base_manifest");
		si_diag_bytes(&d, sc->seals.base_manifest, md, 32);
		return sealctl_report("apply", old, SI_E_PATCH_BASE_HASH, &d);
	}
	if (si_ct_memcmp(s.m.root_hash, sc->seals.base_root, 32) != 0) {
		si_diag_field(&d, "patch.seals.base_root");
		si_diag_bytes(&d, sc->seals.base_root, s.m.root_hash, 32);
		return sealctl_report("apply", old, SI_E_PATCH_BASE_HASH, &d);
	}
	return 0;
}

static void show_progress(void *ctx, const struct patch_progress *p)
{
	(void)ctx;
	fprintf(stderr, "\rsealctl: apply: segment %u/%u (%u%%)", p->done, p->total,
		p->total ? (unsigned)((uint64_t)p->done * 100 / p->total) : 100);
	if (p->done == p->total)
		fputc('\n', stderr);
}

int sealctl_cmd_apply(int argc, char **argv)
{
	const char *pos[2] = { NULL, NULL }, *out = NULL, *ckpt = NULL, *anchor = NULL, *key = NULL;
	static struct seal_check sc;
	struct patch_apply_args a;
	struct patch_info info;
	struct si_diag d;
	uint8_t prefix[PATCH_HDR_LEN];
	uint64_t mem_mib = 24, v;
	unsigned threads = 0;
	int npos = 0, prog = isatty(2), i, r, fd;
	size_t want;
	long nc = sysconf(_SC_NPROCESSORS_ONLN);
	ssize_t got;

	for (i = 1; i < argc; i++) {
		const char *s = argv[i];

		if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
			apply_usage(stdout);
			return SEALCTL_OK;
		} else if ((!strcmp(s, "-o") || !strcmp(s, "--output")) && i + 1 < argc) {
			out = argv[++i];
		} else if (!strcmp(s, "--anchor") && i + 1 < argc) {
			anchor = argv[++i];
		} else if (!strcmp(s, "--key") && i + 1 < argc) {
			key = argv[++i];
		} else if (!strcmp(s, "--checkpoint") && i + 1 < argc) {
			ckpt = argv[++i];
		} else if (!strcmp(s, "--threads") && i + 1 < argc) {
			if (si_parse_u64(argv[i + 1], strlen(argv[i + 1]), 1, 64, &v) != 0) {
				sealctl_msg("apply", "--threads: expected 1..64, found '%s'", argv[i + 1]);
				return SEALCTL_USAGE;
			}
			threads = (unsigned)v;
			i++;
		} else if (!strcmp(s, "--memory-mib") && i + 1 < argc) {
			if (si_parse_u64(argv[i + 1], strlen(argv[i + 1]), 1, 1u << 20, &mem_mib) != 0) {
				sealctl_msg("apply", "--memory-mib: expected 1..1048576, found '%s'",
					    argv[i + 1]);
				return SEALCTL_USAGE;
			}
			i++;
		} else if (!strcmp(s, "--progress")) {
			prog = 1;
		} else if (s[0] == '-' && s[1]) {
			sealctl_msg("apply", "unknown option or missing value: '%s' (see sealctl apply --help)", s);
			return SEALCTL_USAGE;
		} else if (npos < 2) {
			pos[npos++] = s;
		} else {
			sealctl_msg("apply", "unexpected argument '%s'", s);
			return SEALCTL_USAGE;
		}
	}
	if (npos != 2 || !out) {
		apply_usage(stderr);
		return SEALCTL_USAGE;
	}
	if (!threads)
		threads = nc > 0 ? (unsigned)nc : 1;
	if (anchor && key) {
		sealctl_msg("apply", "give --anchor or --key, not both");
		return SEALCTL_USAGE;
	}
	memset(&sc, 0, sizeof sc);
	if (anchor) {
		r = sealcmd_load_anchor("apply", anchor, &sc.anchor);
		if (r)
			return r;
	} else if (key) {
		sc.anchor.n_keys = 1;
		r = sealcmd_load_pub("apply", key, &sc.anchor.keys[0]);
		if (r)
			return r;
	}

	/* Size the work memory from the header. */
	si_diag_clear(&d);
	fd = open(pos[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		si_diag_errno(&d, errno);
		si_diag_field(&d, pos[1]);
		return sealctl_report("apply", "reading PATCH", SI_E_OPEN, &d);
	}
	got = read(fd, prefix, sizeof prefix);
	close(fd);
	r = patch_header_parse(prefix, got > 0 ? (size_t)got : 0, &info, &d);
	if (r != 0)
		return sealctl_report("apply", pos[1], r, &d);
	sc.have_keys = anchor || key;
	if (info.has_seals) {
		r = base_seal_check(pos[0], pos[1], &info, &sc);
		if (r)
			return r;
	}
	want = (size_t)mem_mib << 20;
	if (want < patch_apply_mem(&info, 1))
		want = patch_apply_mem(&info, 1); /* one worker always */
	if (want > patch_apply_mem(&info, threads))
		want = patch_apply_mem(&info, threads);

	memset(&a, 0, sizeof a);
	a.old_path = pos[0];
	a.patch_path = pos[1];
	a.out_path = out;
	a.checkpoint_path = ckpt;
	a.threads = threads;
	a.work_len = want;
	a.work = malloc(want);
	a.decode = patch_decode_zstd;
	a.progress = prog ? show_progress : NULL;
	if (anchor || key || info.has_seals) {
		a.final_check = check_sealed;
		a.fctx = &sc;
	}
	if (!a.work) {
		si_diag_values(&d, want, 0);
		return sealctl_report("apply", "work memory", SI_E_NOMEM, &d);
	}
	r = patch_apply_file(&a, &d);
	free(a.work);
	if (r != 0) {
		if (prog)
			fputc('\n', stderr);
		return sealctl_report("apply", pos[1], r, &d);
	}
	if (sc.line[0])
		printf("%s: %s\n", out, sc.line);
	return SEALCTL_OK;
}
