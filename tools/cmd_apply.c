/* sealctl apply: apply a patch made by sealctl diff, out of place.
 *
 * OLD is a file or a partition; NEW a file (written as NEW.part, renamed
 * when every segment and the whole result checked out) or a partition
 * (written in place, its footer moved to the partition's end last).  A
 * patch between sealed images matches its base by the base's seal, not by
 * its size: a sealed image in a partition (footer at the end, a gap before
 * it) is read as the file it was sealed as. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/str.h"
#include "patch/diff.h"
#include "patch/patch.h"
#include "tools/json.h"
#include "tools/out.h"
#include "tools/sealcmd.h"
#include "tools/sealctl.h"
#include "verify/seal.h"

#define CMD "apply"

/* The sealed-image hook: the finished result must open as a sealed image
 * (signed by the anchor, with --anchor or --key) and its recomputed tree
 * must give the signed root hash. */
struct seal_check {
	struct si_anchor anchor;
	int have_keys;               /* --anchor or --key: check the signature */
	int has_seals;               /* the patch names base and target seals */
	int failed;                  /* the result was refused (report NEW) */
	struct patch_seals seals;
	struct si_manifest m;        /* the result's, when it checked out */
	int verified;
};

static int check_sealed(void *ctx, const struct si_fs *fs, int fd, uint64_t size,
			struct si_diag *d)
{
	struct seal_check *sc = ctx;
	const uint8_t *map;
	struct si_io io;
	struct si_mem_io mem;
	struct si_seal s;
	struct si_seal_unverified u;
	const struct si_manifest *m = sc->have_keys ? &s.m : &u.m;
	int r;

	/* sealctl applies through si_fs_cwd: its handles are descriptors */
	if (fs != &si_fs_cwd)
		return SI_E_ARG;
	sc->failed = 1;
	if (size == 0 || size > SIZE_MAX)
		return SI_E_PATCH_TARGET;
	map = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		si_diag_errno(d, errno);
		return SI_E_IO;
	}
	si_io_mem(&io, &mem, map, (size_t)size);
	if (sc->have_keys)
		r = si_seal_open(&io, &sc->anchor, 0, 0, &s, d);
	else
		r = si_seal_open_unverified(&io, &u, d);
	if (r == 0)
		r = si_seal_verify_tree(m, map, (size_t)size, 0, d);
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
	munmap((void *)map, (size_t)size);
	if (r != 0)
		return r;
	sc->m = *m;
	sc->verified = 1;
	sc->failed = 0;
	return 0;
}

/* How OLD is read: as it is, or as the file a partition's seal was. */
struct old_view {
	int fd;
	int use_read;                /* through canon/direct reads, not old_path */
	struct sealcmd_canon canon;
	uint64_t size;
};

static int direct_read(void *ctx, uint64_t off, uint8_t *buf, size_t len)
{
	const struct old_view *v = ctx;

	if (off > v->size || len > v->size - off)
		return SI_E_SHORT;
	return si_pread_full(v->fd, off, buf, len, NULL);
}

static int canon_read(void *ctx, uint64_t off, uint8_t *buf, size_t len)
{
	struct old_view *v = ctx;

	return sealcmd_canon_read(&v->canon, off, buf, len);
}

/* The patch's header, index checked; for a patch between sealed images,
 * the base's seal must be the one it names (before anything is written),
 * and decides how OLD is read. */
static int base_check(const char *old, const char *patch, struct patch_info *info,
		      struct seal_check *sc, struct old_view *v)
{
	struct sealcmd_image img = { -1, 0, NULL, 0 };
	struct si_diag d;
	struct si_seal_unverified s;
	struct stat st;
	uint8_t md[32];
	uint8_t *hdr;
	int fd, r;

	si_diag_clear(&d);
	fd = open(patch, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sealctl_report_errno(CMD, patch, SI_E_OPEN, errno);
	hdr = malloc(PATCH_HDR_LEN);
	if (!hdr) {
		close(fd);
		return sealctl_report(CMD, patch, SI_E_NOMEM, NULL);
	}
	if (fstat(fd, &st) != 0) {
		r = si_diag_sys(&d, SI_E_IO, NULL, errno);
		goto bad_patch;
	}
	r = si_pread_full(fd, 0, hdr, PATCH_HDR_LEN, &d);
	if (r == SI_E_SHORT)
		r = si_diag_want(&d, SI_E_PATCH_TRUNCATED, "patch.header", PATCH_HDR_LEN,
				 (uint64_t)st.st_size);
	if (r == 0)
		r = patch_header_parse(hdr, PATCH_HDR_LEN, info, &d);
	if (r == 0) {
		uint8_t *h2 = realloc(hdr, info->header_len);

		if (!h2) {
			r = SI_E_NOMEM;
			goto bad_patch;
		}
		hdr = h2;
		r = si_pread_full(fd, 0, hdr, info->header_len, &d);
		if (r == SI_E_SHORT)
			r = si_diag_want(&d, SI_E_PATCH_TRUNCATED, "patch.index", info->header_len,
					 (uint64_t)st.st_size);
	}
	if (r == 0)
		r = patch_index_check(hdr, info->header_len, info, (uint64_t)st.st_size, &d);
	if (r == 0 && info->has_seals) {
		patch_seals_get(hdr, info, &sc->seals);
		sc->has_seals = 1;
	}
bad_patch:
	close(fd);
	free(hdr);
	if (r)
		return sealctl_report(CMD, patch, r, &d);

	r = sealcmd_image_open(CMD, old, &img);
	if (r)
		return r;
	v->size = img.len;
	if (sc->has_seals) {
		r = img.len ? sealcmd_seal_id(img.map, img.len, &s, md) : SI_E_SEAL_TRUNC;
		if (r) {
			sealcmd_image_close(&img);
			si_diag_clear(&d);
			si_diag_field(&d, "OLD");
			si_diag_text(&d, "the sealed image the patch names", "no seal");
			return sealctl_report(CMD, old, r, &d);
		}
		if (si_ct_memcmp(md, sc->seals.base_manifest, 32) != 0 ||
		    si_ct_memcmp(s.m.root_hash, sc->seals.base_root, 32) != 0) {
			int root = si_ct_memcmp(md, sc->seals.base_manifest, 32) == 0;

			sealcmd_image_close(&img);
			si_diag_field(&d, root ? "patch.seals.base_root" : "patch.seals.base_manifest");
			si_diag_bytes(&d, root ? sc->seals.base_root : sc->seals.base_manifest,
				      root ? s.m.root_hash : md, 32);
			return sealctl_report(CMD, old, SI_E_PATCH_BASE_HASH, &d);
		}
		v->canon.manifest_end = s.m.manifest_offset + s.m.manifest_size;
		v->canon.footer_off = img.len - SI_FOOTER_SIZE;
		if (img.len != info->old_size && sealcmd_canon_size(&v->canon) == info->old_size) {
			/* A partition: read as the file it was sealed as. */
			v->use_read = 2;
		}
	}
	if (!v->use_read && img.is_blk && img.len >= info->old_size) {
		v->use_read = 1;
		v->size = info->old_size;
	}
	if (v->use_read) {
		v->fd = dup(img.fd);
		v->canon.fd = v->fd;
		if (v->fd < 0) {
			r = errno;
			sealcmd_image_close(&img);
			return sealctl_report_errno(CMD, old, SI_E_IO, r);
		}
		if (v->use_read == 2)
			v->size = sealcmd_canon_size(&v->canon);
	}
	sealcmd_image_close(&img);
	if (!v->use_read && v->size != info->old_size) {
		si_diag_clear(&d);
		si_diag_want(&d, SI_E_PATCH_BASE_SIZE, "old.size", info->old_size, v->size);
		return sealctl_report(CMD, old, SI_E_PATCH_BASE_SIZE, &d);
	}
	return 0;
}

struct prog {
	const char *ckpt;
	int show;
	int said_resume;
	uint32_t resumed, resume_at;
};

static void show_progress(void *ctx, const struct patch_progress *p)
{
	struct prog *g = ctx;

	if (p->phase == PATCH_PHASE_SEGMENTS && p->resumed && !g->said_resume) {
		g->said_resume = 1;
		g->resumed = p->resumed;
		g->resume_at = p->resume_at;
		sealctl_progress_end();
		fprintf(stderr, "sealctl: apply: resuming from checkpoint %s: %u of %u segments "
			"were done; continuing at segment %u\n", g->ckpt, p->resumed, p->total,
			p->resume_at);
	}
	if (!g->show)
		return;
	if (p->phase == PATCH_PHASE_BASE)
		sealctl_progress(CMD, "checking OLD", p->done, p->total);
	else
		sealctl_progress(CMD, "writing NEW", p->done > p->resumed ? p->done : p->resumed,
				 p->total);
}

/* A partition's result: the footer goes from the end of the image as a
 * file to the end of the partition, the gap between is zeroed. */
static int footer_to_end(const char *out, uint64_t new_size)
{
	struct sealctl_out o;
	struct stat st;
	uint8_t footer[SI_FOOTER_SIZE];
	struct si_diag d;
	uint64_t mend;
	int fd, r;

	si_diag_clear(&d);
	fd = open(out, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0)
		return sealctl_report_errno(CMD, out, SI_E_OPEN, errno);
	r = si_pread_full(fd, new_size - SI_FOOTER_SIZE, footer, SI_FOOTER_SIZE, &d);
	close(fd);
	if (r)
		return sealctl_report(CMD, out, r, &d);
	mend = si_le64(footer + 16) + si_le32(footer + 24);
	r = sealctl_out_open(CMD, out, SEALCTL_OUT_DEVICE, &o);
	if (r)
		return r;
	if (o.dev_size == new_size) {
		sealctl_out_abort(&o);
		return 0;
	}
	if (mend > new_size - SI_FOOTER_SIZE)
		mend = new_size - SI_FOOTER_SIZE;
	if ((r = sealctl_out_zero(CMD, &o, mend, o.dev_size - SI_FOOTER_SIZE - mend)) != 0)
		return r;
	if (fdatasync(o.fd) != 0) {
		r = errno;
		sealctl_out_abort(&o);
		return sealctl_report_errno(CMD, out, SI_E_WRITE, r);
	}
	if ((r = sealctl_out_write(CMD, &o, o.dev_size - SI_FOOTER_SIZE, footer,
				   SI_FOOTER_SIZE)) != 0)
		return r;
	return sealctl_out_commit(CMD, &o);
}

int sealctl_cmd_apply(int argc, char **argv)
{
	const char *pos[2] = { NULL, NULL }, *out = NULL, *ckpt = NULL, *anchor = NULL,
		   *key = NULL, *threads_s = NULL, *mem_s = NULL, *stop_s = NULL;
	static struct seal_check sc;
	static struct old_view view;
	struct patch_apply_args a;
	struct patch_info info;
	struct si_diag d;
	struct prog g = { NULL, 0, 0, 0, 0 };
	struct stat st;
	char part[4096];
	uint64_t mem_mib = 24, stop = 0;
	unsigned threads;
	size_t npos = 0, want;
	int progress = 0, json = 0, blk, r;
	const struct sealcmd_optdef defs[] = {
		{ "--output", "-o", &out, NULL }, { "--anchor", NULL, &anchor, NULL },
		{ "--key", NULL, &key, NULL }, { "--checkpoint", NULL, &ckpt, NULL },
		{ "--threads", NULL, &threads_s, NULL }, { "--memory-mib", NULL, &mem_s, NULL },
		{ "--progress", NULL, NULL, &progress }, { "--stop-after", NULL, &stop_s, NULL },
		{ "--json", NULL, NULL, &json },
	};

	r = sealcmd_parse(CMD, argc, argv, defs, SI_ARRAY_SIZE(defs), pos, 2, &npos);
	if (r)
		return r == SEALCMD_HELP ? SEALCTL_OK : r;
	if (npos != 2 || !out)
		return sealctl_usage_error(CMD, "OLD, PATCH and -o NEW are required");
	if (sealcmd_threads(CMD, threads_s, &threads))
		return SEALCTL_USAGE;
	if (mem_s && si_parse_u64(mem_s, strlen(mem_s), 1, 1u << 20, &mem_mib) != 0)
		return sealctl_usage_error(CMD, "--memory-mib: expected 1..1048576, found '%s'", mem_s);
	if (stop_s && (si_parse_u64(stop_s, strlen(stop_s), 1, UINT32_MAX, &stop) != 0 || !ckpt))
		return sealctl_usage_error(CMD, "--stop-after: expected 1.. segments, with "
					   "--checkpoint; found '%s'", stop_s);
	if (anchor && key)
		return sealctl_usage_error(CMD, "give --anchor or --key, not both");
	{
		const char *inputs[] = { pos[0], pos[1], anchor, key, ckpt };

		if ((r = sealctl_out_check(CMD, out, inputs, SI_ARRAY_SIZE(inputs))) != 0)
			return r;
		if ((r = sealctl_out_distinct(CMD, out, ckpt)) != 0)
			return r;
		/* the checkpoint is written too: never over OLD, PATCH or a key */
		if (ckpt && (r = sealctl_out_check(CMD, ckpt, inputs, SI_ARRAY_SIZE(inputs) - 1)) != 0)
			return r;
	}
	blk = stat(out, &st) == 0 && S_ISBLK(st.st_mode);
	if (stat(out, &st) == 0 && !S_ISREG(st.st_mode) && !blk) {
		si_diag_clear(&d);
		si_diag_text(&d, "regular file or block device", si_file_type_name(st.st_mode));
		return sealctl_report(CMD, out, SI_E_FILE_TYPE, &d);
	}
	memset(&sc, 0, sizeof sc);
	if (anchor) {
		r = sealcmd_load_anchor(CMD, anchor, &sc.anchor);
		if (r)
			return r;
	} else if (key) {
		sc.anchor.n_keys = 1;
		r = sealcmd_load_pub(CMD, key, &sc.anchor.keys[0]);
		if (r)
			return r;
	}
	sc.have_keys = anchor || key;
	memset(&view, 0, sizeof view);
	view.fd = -1;
	r = base_check(pos[0], pos[1], &info, &sc, &view);
	if (r)
		return r;

	want = (size_t)mem_mib << 20;
	if (want < patch_apply_mem(&info, 1))
		want = patch_apply_mem(&info, 1); /* one worker always */
	if (want > patch_apply_mem(&info, threads))
		want = patch_apply_mem(&info, threads);
	memset(&a, 0, sizeof a);
	a.old_path = pos[0];
	if (view.use_read) {
		a.old_read = view.use_read == 2 ? canon_read : direct_read;
		a.old_rctx = &view;
		a.old_size = view.size;
	}
	a.patch_path = pos[1];
	a.out_path = out;
	a.checkpoint_path = ckpt;
	a.threads = threads;
	a.work_len = want;
	a.work = malloc(want);
	a.decode = patch_decode_zstd;
	g.ckpt = ckpt;
	g.show = sealcmd_progress_wanted(progress);
	a.progress = show_progress;
	a.pctx = &g;
	a.stop_after = (uint32_t)stop;
	if (sc.have_keys || info.has_seals) {
		a.final_check = check_sealed;
		a.fctx = &sc;
	}
	if (!a.work) {
		if (view.fd >= 0)
			close(view.fd);
		si_diag_clear(&d);
		si_diag_want(&d, SI_E_NOMEM, "work memory", want, 0);
		return sealctl_report(CMD, out, SI_E_NOMEM, &d);
	}
	/* The engine's temporary, for the signal handler; with a checkpoint
	 * it stays on purpose (the next run resumes from it). */
	snprintf(part, sizeof part, "%s.part", out);
	if (!blk && !ckpt)
		sealctl_tmp_register(part);
	if (blk) {
		/* The partition stops looking sealed before it changes. */
		struct sealctl_out o;

		r = sealctl_out_open(CMD, out, SEALCTL_OUT_DEVICE, &o);
		if (r == 0 && o.dev_size >= SI_FOOTER_SIZE)
			r = sealctl_out_zero(CMD, &o, o.dev_size - SI_FOOTER_SIZE, SI_FOOTER_SIZE);
		if (r == 0)
			r = sealctl_out_commit(CMD, &o);
		if (r) {
			free(a.work);
			if (view.fd >= 0)
				close(view.fd);
			return r;
		}
	}
	r = patch_apply_file(&a, &d);
	free(a.work);
	if (view.fd >= 0)
		close(view.fd);
	sealctl_tmp_forget(part);
	sealctl_progress_end();
	if (r != 0) {
		const char *f = d.field ? d.field : "";
		const char *file = pos[1];

		if (sc.failed || !strncmp(f, "output", 6))
			file = out;
		else if (!strncmp(f, "old", 3))
			file = pos[0];
		else if (!strncmp(f, "checkpoint", 10))
			file = ckpt;
		r = sealctl_report(CMD, file, r, &d);
		if (ckpt && r == SEALCTL_SYSTEM)
			fprintf(stderr, "sealctl: apply: the checkpoint %s keeps the work done; the same "
				"command resumes\n", ckpt);
		return r;
	}
	if (blk) {
		r = footer_to_end(out, info.new_size);
		if (r)
			return r;
	}
	if (json) {
		struct json j;

		json_begin(&j, stdout, CMD, 1);
		json_str(&j, "output", out);
		json_u64(&j, "size", info.new_size);
		json_u64(&j, "segments", info.nseg);
		json_u64(&j, "resumed_segments", g.resumed);
		if (sc.verified) {
			json_obj_begin(&j, "sealed");
			json_str(&j, "kind", si_seal_kind_name(sc.m.kind));
			json_str(&j, "name", sc.m.name);
			json_str(&j, "version", sc.m.version);
			json_hex(&j, "root_hash", sc.m.root_hash, sc.m.root_hash_len);
			json_keyid(&j, "key_id", sc.m.key_id);
			json_bool(&j, "signature_checked", sc.have_keys);
			json_obj_end(&j);
		} else {
			json_null(&j, "sealed");
		}
		json_end(&j);
	} else if (sc.verified) {
		char hex[65];

		si_hex(hex, sc.m.root_hash, sc.m.root_hash_len);
		printf("%s: verified %s '%s' %s root %s%s\n", out, si_seal_kind_name(sc.m.kind),
		       sc.m.name, sc.m.version, hex,
		       sc.have_keys ? "" : " (signature not checked: no --anchor or --key)");
	} else {
		printf("%s: %llu bytes, %u segments checked\n", out,
		       (unsigned long long)info.new_size, info.nseg);
	}
	return SEALCTL_OK;
}
