/* sealctl seal: file-system image (or a directory, made into a reproducible
 * erofs image) -> sealed image: data | dm-verity tree | signed manifest |
 * footer (docs/formats.md, "Sealed images").  As a file, or as a partition
 * image (--partition-size, or a block device): the footer then sits in the
 * partition's last 64 bytes and the gap before it is zero.
 *
 * The output is never mapped: the input is mapped read-only, everything
 * after the data is built in memory (si_seal_build_tail), and the image is
 * written with write() to a temporary that is renamed when complete -- a
 * full disk is one error line and nothing is left behind. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bearssl.h>

#include "lib/fdio.h"
#include "lib/str.h"
#include "tools/json.h"
#include "tools/out.h"
#include "tools/sealcmd.h"
#include "tools/sealctl.h"
#include "tools/signer.h"

#define CMD "seal"

extern char **environ;

/* Magic numbers at their documented offsets. */
static enum si_fstype detect_fs(const uint8_t *p, size_t len)
{
	if (len >= 1028 && si_le32(p + 1024) == 0xe0f5e1e2u)
		return SI_FS_EROFS;   /* EROFS_SUPER_MAGIC_V1 at 1024 */
	if (len >= 1082 && si_le16(p + 1080) == 0xef53)
		return SI_FS_EXT4;    /* ext2/3/4 s_magic at 1024 + 56 */
	if (len >= 4 && !memcmp(p, "hsqs", 4))
		return SI_FS_SQUASHFS;
	return SI_FS_RAW;
}

/* mkfs.erofs -T0 --all-root -U<uuid from name> --quiet -- OUT DIR: the
 * "--" keeps names that start with '-' from reading as options. */
static int run_mkfs(const char *cmd, const char *dir, const char *name, const char *out)
{
	uint8_t h[32];
	char uuid[64], uopt[80];
	br_sha256_context c;
	pid_t pid;
	int st, e;
	char *args[] = { "mkfs.erofs", "-T0", "--all-root", uopt, "--quiet", "--",
			 (char *)out, (char *)dir, NULL };

	br_sha256_init(&c);
	br_sha256_update(&c, "sealinit-erofs-uuid", 20);
	br_sha256_update(&c, name, strlen(name));
	br_sha256_out(&c, h);
	h[6] = (uint8_t)((h[6] & 0x0f) | 0x50); /* RFC 4122 version 5 ... */
	h[8] = (uint8_t)((h[8] & 0x3f) | 0x80); /* ... variant 1 */
	snprintf(uuid, sizeof uuid,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9], h[10],
		 h[11], h[12], h[13], h[14], h[15]);
	snprintf(uopt, sizeof uopt, "-U%s", uuid);
	e = posix_spawnp(&pid, "mkfs.erofs", NULL, NULL, args, environ);
	if (e != 0) {
		sealctl_msg(cmd, "cannot run mkfs.erofs (Debian package erofs-utils): errno %d (%s)",
			    e, strerror(e));
		return SEALCTL_SYSTEM;
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			sealctl_msg(cmd, "mkfs.erofs: waitpid: errno %d (%s)", errno, strerror(errno));
			return SEALCTL_SYSTEM;
		}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		sealctl_msg(cmd, "mkfs.erofs of %s failed (%s %d)", dir,
			    WIFEXITED(st) ? "exit status" : "signal",
			    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		return SEALCTL_SYSTEM;
	}
	return 0;
}

/* Reads the written image back through an fd. */
struct fd_io {
	int fd;
};

static int fd_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct fd_io *f = ctx;

	return si_pread_full(f->fd, off, buf, len, NULL);
}

int sealcmd_seal_write(const char *cmd, struct sealcmd_seal_job *j)
{
	struct sealctl_out o;
	struct si_diag d;
	struct si_seal check;
	struct si_anchor a;
	struct si_io io;
	struct fd_io fio;
	uint64_t psize, mend, tail_len;
	uint8_t *tail = NULL;
	int r;

	si_diag_clear(&d);
	r = si_seal_layout(&j->p, j->signer->pub->algo, &j->layout, &d);
	if (r)
		return sealctl_report(cmd, j->data_name, r, &d);
	mend = j->layout.manifest_offset + j->layout.manifest_size;
	tail_len = j->layout.image_size - j->layout.padded_size;
	r = sealctl_out_open(cmd, j->out, SEALCTL_OUT_DEVICE, &o);
	if (r)
		return r;
	if (o.kind == SEALCTL_OUT_CHR) {
		sealctl_out_abort(&o);
		return sealctl_usage_error(cmd, "-o %s: a sealed image goes to a file or a "
					   "block device", j->out);
	}
	psize = j->layout.image_size;
	if (o.kind == SEALCTL_OUT_BLK) {
		if (j->partition_size && j->partition_size != o.dev_size) {
			sealctl_out_abort(&o);
			return sealctl_usage_error(cmd, "--partition-size %llu, but %s holds %llu bytes",
						   (unsigned long long)j->partition_size, j->out,
						   (unsigned long long)o.dev_size);
		}
		psize = o.dev_size;
	} else if (j->partition_size) {
		psize = j->partition_size;
	}
	if (psize < j->layout.image_size) {
		sealctl_out_abort(&o);
		si_diag_clear(&d);
		si_diag_field(&d, "partition size");
		si_diag_values(&d, j->layout.image_size, psize);
		return sealctl_report(cmd, j->out, SI_E_TOO_BIG, &d);
	}
	j->written_size = psize;
	tail = malloc(tail_len ? (size_t)tail_len : 1);
	if (!tail) {
		sealctl_out_abort(&o);
		return sealctl_report(cmd, j->out, SI_E_NOMEM, NULL);
	}
	si_diag_clear(&d);
	if (j->progress)
		sealctl_progress(cmd, "hashing and signing", 0, 1);
	r = si_seal_build_tail(&j->p, j->signer, j->data, tail, (size_t)tail_len, j->threads, &d);
	if (r == 0 && j->progress)
		sealctl_progress(cmd, "hashing and signing", 1, 1);
	if (r) {
		free(tail);
		sealctl_out_abort(&o);
		return sealctl_report(cmd, sealctl_signer_blame(j->helper, r, j->out), r, &d);
	}
	/* A partition never looks sealed while half-written: its old footer
	 * goes first, the new one last. */
	if (o.kind == SEALCTL_OUT_BLK &&
	    (r = sealctl_out_zero(cmd, &o, psize - SI_FOOTER_SIZE, SI_FOOTER_SIZE)) != 0)
		goto fail;
	if (psize != j->layout.image_size && (r = sealctl_out_size(cmd, &o, psize)) != 0)
		goto fail;
	/* The data in pieces, so that a long write shows its progress. */
	{
		uint64_t off, step = 64u << 20;

		for (off = 0; off < j->layout.padded_size; off += step) {
			uint64_t n = j->layout.padded_size - off < step ? j->layout.padded_size - off
								       : step;

			if (j->progress)
				sealctl_progress(cmd, "writing", off, j->layout.padded_size);
			if ((r = sealctl_out_write(cmd, &o, off, j->data + off, (size_t)n)) != 0)
				goto fail;
		}
		if (j->progress)
			sealctl_progress(cmd, "writing", j->layout.padded_size, j->layout.padded_size);
	}
	if ((r = sealctl_out_write(cmd, &o, j->layout.padded_size, tail,
				   (size_t)(mend - j->layout.padded_size))) != 0)
		goto fail;
	if (o.kind == SEALCTL_OUT_BLK &&
	    (r = sealctl_out_zero(cmd, &o, mend, psize - SI_FOOTER_SIZE - mend)) != 0)
		goto fail;
	if (o.kind == SEALCTL_OUT_BLK && fdatasync(o.fd) != 0) {
		r = errno;
		sealctl_out_abort(&o);
		r = sealctl_report_errno(cmd, j->out, SI_E_WRITE, r);
		goto fail;
	}
	if ((r = sealctl_out_write(cmd, &o, psize - SI_FOOTER_SIZE,
				   tail + tail_len - SI_FOOTER_SIZE, SI_FOOTER_SIZE)) != 0)
		goto fail;
	/* What was written opens as sealinit will open it (O(1)). */
	memset(&a, 0, sizeof a);
	a.n_keys = 1;
	a.keys[0] = *j->signer->pub;
	a.keys[0].usages = SI_USAGE_ALL;
	fio.fd = o.fd;
	io.ctx = &fio;
	io.size = psize;
	io.read_at = fd_read;
	si_diag_clear(&d);
	r = si_seal_open(&io, &a, 0, 0, &check, &d);
	if (r) {
		/* A partition that does not read back must not look sealed. */
		if (o.kind == SEALCTL_OUT_BLK) {
			static const uint8_t zero[SI_FOOTER_SIZE];

			(void)!si_pwrite_full(o.fd, psize - SI_FOOTER_SIZE, zero, sizeof zero, NULL);
		}
		sealctl_out_abort(&o);
		r = sealctl_report(cmd, j->out, r, &d);
		goto fail;
	}
	memcpy(j->root_hash, check.m.root_hash, 32);
	memcpy(j->manifest_digest, check.m.digest, 32);
	free(tail);
	return sealctl_out_commit(cmd, &o);
fail:
	free(tail);
	sealctl_out_abort(&o);
	return r;
}

void sealcmd_seal_print(const char *cmd, const struct sealcmd_seal_job *j, int json)
{
	char id[SEALCTL_KEYID_SHORT + 1];

	if (json) {
		struct json js;

		json_begin(&js, stdout, cmd, 1);
		json_str(&js, "output", j->out);
		json_str(&js, "kind", si_seal_kind_name(j->p.kind));
		json_str(&js, "name", j->p.name);
		json_str(&js, "version", j->p.version);
		json_u64(&js, "rollback_index", j->p.rollback_index);
		json_str(&js, "fs_type", si_seal_fstype_name(j->p.fs_type));
		json_u64(&js, "data_size", j->p.data_size);
		json_u64(&js, "image_size", j->layout.image_size);
		if (j->written_size != j->layout.image_size)
			json_u64(&js, "partition_size", j->written_size);
		else
			json_null(&js, "partition_size");
		json_hex(&js, "salt", j->p.salt, j->p.salt_len);
		json_hex(&js, "root_hash", j->root_hash, 32);
		json_hex(&js, "manifest_digest", j->manifest_digest, 32);
		json_str(&js, "signature_algorithm", si_algo_name(j->signer->pub->algo));
		json_keyid(&js, "key_id", j->signer->pub->fingerprint);
		json_end(&js);
		return;
	}
	sealctl_keyid_short(id, j->signer->pub->fingerprint);
	printf("%s: sealed %s '%s' %s (rollback %llu, %s, %llu data bytes", j->out,
	       si_seal_kind_name(j->p.kind), j->p.name, j->p.version,
	       (unsigned long long)j->p.rollback_index, si_seal_fstype_name(j->p.fs_type),
	       (unsigned long long)j->p.data_size);
	if (j->written_size != j->layout.image_size)
		printf(", footer at the end of %llu bytes", (unsigned long long)j->written_size);
	printf(") with %s key %s\n", si_algo_name(j->signer->pub->algo), id);
}

/* The seal parameters from the options, checked before any work: a bad
 * name, version or overlay is a wrong argument (2), like a bad kind. */
int sealcmd_seal_params(const char *cmd, struct si_seal_params *p, const char *name,
			const char *kind, const char *version, const char *rb,
			const char *overlay, const uint8_t *kc_system, const char *salthex,
			uint8_t salt[SI_SEAL_SALT_MAX])
{
	struct si_seal_params t;
	struct si_seal_layout l;
	struct si_diag d;
	int r;

	memset(p, 0, sizeof *p);
	p->name = name;
	p->version = version;
	p->overlay = overlay;
	p->kc_system = kc_system;
	p->kind = (enum si_kind)si_seal_kind_from_name(kind);
	if (!p->kind)
		return sealctl_usage_error(cmd, "--kind: expected system, cryptex, kc-boot, kc-system, "
					   "kc-aux or update, found '%s'", kind);
	if (sealcmd_u64(cmd, "--rollback-index", rb, &p->rollback_index))
		return SEALCTL_USAGE;
	if (salthex) {
		size_t n = strlen(salthex) / 2;

		if (strlen(salthex) % 2 || n == 0 || n > SI_SEAL_SALT_MAX ||
		    si_unhex(salt, n, salthex, strlen(salthex)) != 0)
			return sealctl_usage_error(cmd, "--salt: expected 2..512 hex digits, found '%s'",
						   salthex);
		p->salt_len = n;
	} else {
		br_sha256_context c;

		br_sha256_init(&c);
		br_sha256_update(&c, "sealinit-salt-v1", 17);
		br_sha256_update(&c, name, strlen(name) + 1);
		br_sha256_update(&c, version, strlen(version));
		br_sha256_out(&c, salt);
		p->salt_len = 32;
	}
	p->salt = salt;
	/* The fields as the manifest will hold them, on a one-block stand-in. */
	t = *p;
	t.data_size = 1;
	if (!t.fs_type)
		t.fs_type = SI_FS_RAW;
	si_diag_clear(&d);
	r = si_seal_layout(&t, SI_ALGO_ECDSA_P256, &l, &d);
	if (r) {
		char line[512];

		si_diag_format(&d, r, line, sizeof line);
		return sealctl_usage_error(cmd, "%s [%s]", line, si_err_name(r));
	}
	return 0;
}

int sealcmd_kc_system(const char *cmd, const char *path, uint8_t digest[32], char *release)
{
	struct sealcmd_image img;
	struct si_seal_unverified u;
	struct si_diag d;
	int r;

	r = sealcmd_image_open(cmd, path, &img);
	if (r)
		return r;
	r = sealcmd_seal_id(img.map, img.len, &u, digest);
	if (r || u.m.kind != SI_KIND_KC_SYSTEM) {
		sealcmd_image_close(&img);
		si_diag_clear(&d);
		si_diag_field(&d, "manifest.kind");
		si_diag_text(&d, "kc-system", r ? "not a sealed image" : si_seal_kind_name(u.m.kind));
		return sealctl_report(cmd, path, r ? r : SI_E_SEAL_KIND, &d);
	}
	/* what is built against it must be what its root hash says */
	si_diag_clear(&d);
	r = si_seal_verify_tree(&u.m, img.map, img.len, 0, &d);
	sealcmd_image_close(&img);
	if (r)
		return sealctl_report(cmd, path, r, &d);
	if (release)
		memcpy(release, u.m.version, sizeof u.m.version);
	return 0;
}

int sealctl_cmd_seal(int argc, char **argv)
{
	const char *dir = NULL, *image = NULL, *name = NULL, *kind = NULL, *version = NULL,
		   *rb = NULL, *keyp = NULL, *overlay = NULL, *fstype = NULL, *salthex = NULL,
		   *out = NULL, *helper = NULL, *psize_s = NULL, *threads_s = NULL, *kcsys = NULL;
	int progress = 0;
	uint8_t kcd[32];
	static struct sealctl_signer sg;
	static struct sealcmd_seal_job job;
	struct sealcmd_image in = { -1, 0, NULL, 0 };
	uint8_t salt[SI_SEAL_SALT_MAX];
	char fstmp[4096];
	const uint8_t *data = NULL;
	size_t map_len = 0;
	int json = 0, r, ret;
	const struct sealcmd_optdef defs[] = {
		{ "--dir", NULL, &dir, NULL }, { "--image", NULL, &image, NULL },
		{ "--name", NULL, &name, NULL }, { "--kind", NULL, &kind, NULL },
		{ "--version", NULL, &version, NULL }, { "--rollback-index", NULL, &rb, NULL },
		{ "--key", NULL, &keyp, NULL }, { "--signing-helper", NULL, &helper, NULL },
		{ "--overlay", NULL, &overlay, NULL }, { "--fs-type", NULL, &fstype, NULL },
		{ "--salt", NULL, &salthex, NULL }, { "--partition-size", NULL, &psize_s, NULL },
		{ "--threads", NULL, &threads_s, NULL }, { "--output", "-o", &out, NULL },
		{ "--progress", NULL, NULL, &progress }, { "--json", NULL, NULL, &json },
		{ "--kc-system", NULL, &kcsys, NULL },
	};

	r = sealcmd_parse(CMD, argc, argv, defs, SI_ARRAY_SIZE(defs), NULL, 0, NULL);
	if (r)
		return r == SEALCMD_HELP ? SEALCTL_OK : r;
	if (!!dir == !!image)
		return sealctl_usage_error(CMD, "exactly one of --dir and --image is required");
	if (!name || !kind || !version || !rb || !keyp || !out)
		return sealctl_usage_error(CMD, "--name, --kind, --version, --rollback-index, --key "
					   "and -o are required");
	if (!!kcsys != !strcmp(kind, "kc-aux"))
		return sealctl_usage_error(CMD, kcsys ? "--kc-system is for --kind kc-aux"
					   : "--kind kc-aux needs --kc-system: the system tier its "
					   "module index was made with (sealctl kc --kind kc-aux makes both)");
	if (kcsys) {
		r = sealcmd_kc_system(CMD, kcsys, kcd, NULL);
		if (r)
			return r;
	}
	memset(&job, 0, sizeof job);
	r = sealcmd_seal_params(CMD, &job.p, name, kind, version, rb, overlay, kcsys ? kcd : NULL,
				salthex, salt);
	if (r)
		return r;
	if (fstype && !(job.p.fs_type = (enum si_fstype)si_seal_fstype_from_name(fstype)))
		return sealctl_usage_error(CMD, "--fs-type: expected erofs, ext4, squashfs or raw, "
					   "found '%s'", fstype);
	if (psize_s) {
		if (sealcmd_size(CMD, "--partition-size", psize_s, &job.partition_size))
			return SEALCTL_USAGE;
		if (job.partition_size == 0 || job.partition_size % 4096)
			return sealctl_usage_error(CMD, "--partition-size: expected a multiple of "
						   "4096 bytes, found %s", psize_s);
	}
	if (sealcmd_threads(CMD, threads_s, &job.threads))
		return SEALCTL_USAGE;
	job.progress = sealcmd_progress_wanted(progress);
	{
		const char *inputs[] = { dir, image, keyp, helper, kcsys };

		r = sealctl_out_check(CMD, out, inputs, SI_ARRAY_SIZE(inputs));
		if (r)
			return r;
	}
	if (dir) {
		struct stat st;

		if (stat(dir, &st) != 0)
			return sealctl_report_errno(CMD, dir, SI_E_OPEN, errno);
		if (!S_ISDIR(st.st_mode)) {
			struct si_diag d;

			si_diag_clear(&d);
			si_diag_text(&d, "directory", si_file_type_name(st.st_mode));
			return sealctl_report(CMD, dir, SI_E_FILE_TYPE, &d);
		}
	}
	r = sealctl_signer_load(CMD, keyp, helper, &sg);
	if (r)
		return r;

	ret = SEALCTL_SYSTEM;
	fstmp[0] = '\0';
	if (dir) {
		/* The erofs image goes next to the output (the same file
		 * system), or to $TMPDIR when the output is a device. */
		struct stat st;
		char obuf[4096];
		const char *tdir = getenv("TMPDIR");
		int fd;

		snprintf(obuf, sizeof obuf, "%s", out);
		if (stat(out, &st) == 0 && S_ISBLK(st.st_mode))
			snprintf(fstmp, sizeof fstmp, "%s/sealctl-erofs-XXXXXX",
				 tdir && *tdir ? tdir : "/tmp");
		else
			snprintf(fstmp, sizeof fstmp, "%s/.sealctl-erofs-XXXXXX", dirname(obuf));
		fd = mkostemp(fstmp, O_CLOEXEC);
		if (fd < 0) {
			r = errno;
			fstmp[0] = '\0';
			ret = sealctl_report_errno(CMD, out, SI_E_CREATE, r);
			goto out;
		}
		close(fd);
		sealctl_tmp_register(fstmp);
		if (job.progress)
			sealctl_progress(CMD, "making the erofs image", 0, 1);
		r = run_mkfs(CMD, dir, name, fstmp);
		if (r == 0 && job.progress)
			sealctl_progress(CMD, "making the erofs image", 1, 1);
		if (r) {
			ret = r;
			goto out;
		}
		image = fstmp;
		if (!fstype)
			job.p.fs_type = SI_FS_EROFS;
	}
	r = sealcmd_image_open(CMD, image, &in);
	if (r) {
		ret = r;
		goto out;
	}
	if (in.len == 0) {
		struct si_diag d;

		si_diag_clear(&d);
		si_diag_want(&d, SI_E_SEAL_GEOMETRY, "data size", 1, 0);
		ret = sealctl_report(CMD, image, SI_E_SEAL_GEOMETRY, &d);
		goto out;
	}
	if (!job.p.fs_type)
		job.p.fs_type = detect_fs(in.map, in.len);
	job.p.data_size = in.len;
	/* The data and its zero padding to whole blocks, read-only: mapping
	 * past the end of the file reads zeros up to the end of its last
	 * page, which covers the padding (blocks are 4096 bytes, pages at
	 * least that). */
	map_len = (in.len + 4095) & ~(size_t)4095;
	data = mmap(NULL, map_len, PROT_READ, MAP_SHARED, in.fd, 0);
	if (data == MAP_FAILED) {
		data = NULL;
		ret = sealctl_report_errno(CMD, image, SI_E_IO, errno);
		goto out;
	}
	job.data = data;
	job.data_name = dir ? dir : image;
	job.signer = &sg.s;
	job.helper = helper;
	job.out = out;
	ret = sealcmd_seal_write(CMD, &job);
	if (ret == SEALCTL_OK)
		sealcmd_seal_print(CMD, &job, json);
out:
	if (data)
		munmap((void *)data, map_len);
	sealctl_signer_done(&sg);
	if (in.fd >= 0)
		sealcmd_image_close(&in);
	if (fstmp[0]) {
		unlink(fstmp);
		sealctl_tmp_forget(fstmp);
	}
	return ret;
}
