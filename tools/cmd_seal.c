/* sealctl seal: file-system image (or a directory, made into a reproducible
 * erofs image) -> sealed image: data | dm-verity tree | signed manifest |
 * footer (docs/formats.md, "Sealed images"). */
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

#include "lib/str.h"
#include "tools/sealcmd.h"
#include "tools/sealctl.h"

#define CMD "seal"

extern char **environ;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sealctl seal (--dir DIR | --image FSIMG) --name NAME --kind KIND\n"
		"                    --version VERSION --rollback-index N --key KEY.pem\n"
		"                    [--overlay PATH] [--fs-type TYPE] [--salt HEX] -o OUT\n\n"
		"Seals a file-system image: appends its dm-verity hash tree (format 1,\n"
		"SHA-256, 4096-byte blocks), a manifest signed with KEY.pem and a footer.\n"
		"  --dir DIR         make a reproducible erofs image of DIR first\n"
		"                    (mkfs.erofs -T0 --all-root -U <uuid from NAME>)\n"
		"  --image FSIMG     seal an existing image; data that is not a whole number\n"
		"                    of 4096-byte blocks is zero-padded\n"
		"  --kind KIND       system, cryptex, kc-boot, kc-system, kc-aux, update\n"
		"  --name NAME       1..64 of [A-Za-z0-9._+-], first alphanumeric\n"
		"  --version V       1..64 printable ASCII characters, e.g. \"13.3.1 (a)\"\n"
		"  --rollback-index N  refused at boot when below the device's floor\n"
		"  --overlay PATH    cryptex only: where it is overlaid (e.g. /usr)\n"
		"  --fs-type TYPE    erofs, ext4, squashfs, raw (default: detected)\n"
		"  --salt HEX        1..256 bytes (default: SHA-256 of name and version,\n"
		"                    so the same input seals to the same bytes)\n\n"
		"exit codes: 0 sealed; 1 invalid input (key, image, field);\n"
		"            2 wrong arguments; 3 system error (I/O, mkfs.erofs)\n");
}

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

static int run_mkfs(const char *dir, const char *name, const char *out)
{
	uint8_t h[32];
	char uuid[64], uopt[80];
	br_sha256_context c;
	pid_t pid;
	int st;
	char *args[] = { "mkfs.erofs", "-T0", "--all-root", uopt, "--quiet",
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
	if (posix_spawnp(&pid, "mkfs.erofs", NULL, NULL, args, environ) != 0) {
		sealctl_msg(CMD, "cannot run mkfs.erofs (Debian erofs-utils): %s", strerror(errno));
		return SEALCTL_SYSTEM;
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		sealctl_msg(CMD, "mkfs.erofs %s %s failed (status %d)", out, dir, st);
		return SEALCTL_SYSTEM;
	}
	return 0;
}

static int sys_fail(const char *path, int err)
{
	struct si_diag d;

	si_diag_clear(&d);
	si_diag_errno(&d, errno);
	return sealctl_report(CMD, path, err, &d);
}

int sealctl_cmd_seal(int argc, char **argv)
{
	const char *dir = NULL, *image = NULL, *name = NULL, *kind = NULL,
		   *version = NULL, *rb = NULL, *keyp = NULL, *overlay = NULL,
		   *fstype = NULL, *salthex = NULL, *out = NULL;
	static struct si_privkey key;
	struct si_seal_params p;
	struct si_seal_layout l;
	struct sealcmd_image in = { -1, NULL, 0 };
	struct si_diag d;
	char fstmp[4096], tmp[4096];
	uint8_t salt[SI_SEAL_SALT_MAX];
	uint8_t *map;
	int m, r, fd, ret = SEALCTL_SYSTEM;

	{
		const struct sealcmd_optdef defs[] = {
			{ "--dir", &dir, NULL }, { "--image", &image, NULL }, { "--name", &name, NULL },
			{ "--kind", &kind, NULL }, { "--version", &version, NULL },
			{ "--rollback-index", &rb, NULL }, { "--key", &keyp, NULL },
			{ "--overlay", &overlay, NULL }, { "--fs-type", &fstype, NULL },
			{ "--salt", &salthex, NULL }, { "-o", &out, NULL },
		};
		m = sealcmd_parse(CMD, argc, argv, defs, SI_ARRAY_SIZE(defs), NULL, 0, usage);
		if (m)
			return m == SEALCMD_HELP ? SEALCTL_OK : m;
	}
	if (!!dir == !!image) {
		sealctl_msg(CMD, "exactly one of --dir and --image is required");
		return SEALCTL_USAGE;
	}
	if (!name || !kind || !version || !rb || !keyp || !out) {
		sealctl_msg(CMD, "--name, --kind, --version, --rollback-index, --key and -o are required");
		usage(stderr);
		return SEALCTL_USAGE;
	}
	memset(&p, 0, sizeof p);
	p.name = name;
	p.version = version;
	p.overlay = overlay;
	p.kind = (enum si_kind)si_seal_kind_from_name(kind);
	if (!p.kind) {
		sealctl_msg(CMD, "--kind: expected system, cryptex, kc-boot, kc-system, kc-aux or update, found '%s'", kind);
		return SEALCTL_USAGE;
	}
	if (sealcmd_u64(CMD, "--rollback-index", rb, &p.rollback_index))
		return SEALCTL_USAGE;
	if (fstype && !(p.fs_type = (enum si_fstype)si_seal_fstype_from_name(fstype))) {
		sealctl_msg(CMD, "--fs-type: expected erofs, ext4, squashfs or raw, found '%s'", fstype);
		return SEALCTL_USAGE;
	}
	if (salthex) {
		size_t n = strlen(salthex) / 2;
		if (strlen(salthex) % 2 || n == 0 || n > sizeof salt ||
		    si_unhex(salt, n, salthex, strlen(salthex)) != 0) {
			sealctl_msg(CMD, "--salt: expected 2..512 hex digits, found '%s'", salthex);
			return SEALCTL_USAGE;
		}
		p.salt_len = n;
	} else {
		br_sha256_context c;
		br_sha256_init(&c);
		br_sha256_update(&c, "sealinit-salt-v1", 17);
		br_sha256_update(&c, name, strlen(name) + 1);
		br_sha256_update(&c, version, strlen(version));
		br_sha256_out(&c, salt);
		p.salt_len = 32;
	}
	p.salt = salt;

	r = sealcmd_load_priv(CMD, keyp, &key);
	if (r)
		return r;

	fstmp[0] = '\0';
	if (dir) {
		struct stat st;
		if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
			sealctl_msg(CMD, "--dir %s: not a directory", dir);
			return SEALCTL_USAGE;
		}
		snprintf(fstmp, sizeof fstmp, "%s.erofs.tmp", out);
		unlink(fstmp);
		r = run_mkfs(dir, name, fstmp);
		if (r) {
			unlink(fstmp);
			return r;
		}
		image = fstmp;
		if (!fstype)
			p.fs_type = SI_FS_EROFS;
	}
	r = sealcmd_image_open(CMD, image, &in);
	if (r)
		goto out;
	if (!p.fs_type)
		p.fs_type = detect_fs(in.map, in.len);
	p.data_size = in.len;

	si_diag_clear(&d);
	r = si_seal_layout(&p, key.algo, &l, &d);
	if (r) {
		ret = sealctl_report(CMD, image, r, &d);
		goto out;
	}
	if (snprintf(tmp, sizeof tmp, "%s.tmp", out) >= (int)sizeof tmp) {
		ret = SEALCTL_USAGE;
		goto out;
	}
	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = sys_fail(tmp, SI_E_OPEN);
		goto out;
	}
	if (ftruncate(fd, (off_t)l.image_size) != 0) {
		ret = sys_fail(tmp, SI_E_IO);
		close(fd);
		unlink(tmp);
		goto out;
	}
	map = mmap(NULL, (size_t)l.image_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		ret = sys_fail(tmp, SI_E_IO);
		close(fd);
		unlink(tmp);
		goto out;
	}
	memcpy(map, in.map, in.len);
	si_diag_clear(&d);
	r = si_seal_build(&p, &key, map, (size_t)l.image_size, 0, &d);
	if (r == 0 && msync(map, (size_t)l.image_size, MS_SYNC) != 0)
		r = SI_E_IO;
	munmap(map, (size_t)l.image_size);
	if (r == 0 && fsync(fd) != 0)
		r = SI_E_IO;
	close(fd);
	if (r) {
		unlink(tmp);
		ret = sealctl_report(CMD, out, r, &d);
		goto out;
	}
	if (rename(tmp, out) != 0) {
		ret = sys_fail(out, SI_E_IO);
		unlink(tmp);
		goto out;
	}
	{
		char dbuf[4096];
		int dfd;

		snprintf(dbuf, sizeof dbuf, "%s", out);
		dfd = open(dirname(dbuf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	printf("%s: sealed %s '%s' %s (rollback %llu, %s, %llu data bytes) with %s key %02x%02x%02x%02x...\n",
	       out, si_seal_kind_name(p.kind), name, version,
	       (unsigned long long)p.rollback_index, si_seal_fstype_name(p.fs_type),
	       (unsigned long long)p.data_size, si_algo_name(key.algo),
	       key.pub.fingerprint[0], key.pub.fingerprint[1], key.pub.fingerprint[2],
	       key.pub.fingerprint[3]);
	ret = SEALCTL_OK;
out:
	memset(&key, 0, sizeof key);
	if (in.fd >= 0)
		sealcmd_image_close(&in);
	if (fstmp[0])
		unlink(fstmp);
	return ret;
}
