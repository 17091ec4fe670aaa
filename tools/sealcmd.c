/* sealctl: helpers the seal commands share; see tools/sealcmd.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>

#include "lib/str.h"
#include "verify/sha256.h"
#include "tools/sealcmd.h"
#include "tools/sealctl.h"

int sealcmd_is_help(const char *arg)
{
	return !strcmp(arg, "--help") || !strcmp(arg, "-h");
}

int sealcmd_opt(const char *cmd, int argc, char **argv, int *i,
		const char *name, const char **val)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		*i += 1;
		return 1;
	}
	if (a[n] != '\0')
		return 0;
	if (*i + 1 >= argc) {
		sealctl_msg(cmd, "option %s needs a value", name);
		return -1;
	}
	*val = argv[*i + 1];
	*i += 2;
	return 1;
}

int sealcmd_parse(const char *cmd, int argc, char **argv,
		  const struct sealcmd_optdef *defs, size_t ndefs,
		  const char **positional, size_t npos, void (*usage)(FILE *f))
{
	size_t k, got = 0;
	const char *v;
	int i = 1, m;

	while (i < argc) {
		if (sealcmd_is_help(argv[i])) {
			usage(stdout);
			return SEALCMD_HELP;
		}
		for (k = 0; k < ndefs; k++) {
			if (!defs[k].value) {
				if (!strcmp(argv[i], defs[k].name)) {
					*defs[k].flag = 1;
					i++;
					break;
				}
				continue;
			}
			m = sealcmd_opt(cmd, argc, argv, &i, defs[k].name, &v);
			if (m < 0)
				return SEALCTL_USAGE;
			if (m > 0) {
				*defs[k].value = v;
				break;
			}
		}
		if (k < ndefs)
			continue;
		if (argv[i][0] == '-' || got == npos) {
			sealctl_msg(cmd, "unexpected argument '%s'", argv[i]);
			usage(stderr);
			return SEALCTL_USAGE;
		}
		positional[got++] = argv[i++];
	}
	return 0;
}

int sealcmd_seal_id(const uint8_t *img, size_t len, struct si_seal_unverified *s,
		    uint8_t manifest_digest[32])
{
	struct si_mem_io m;
	struct si_io io;
	int r;

	si_io_mem(&io, &m, img, len);
	r = si_seal_open_unverified(&io, s, NULL);
	if (r)
		return r;
	if (s->m.root_hash_len != 32)
		return SI_E_SEAL_GEOMETRY;
	memcpy(manifest_digest, s->m.digest, 32);
	return 0;
}

int sealcmd_u64(const char *cmd, const char *opt, const char *s, uint64_t *out)
{
	if (si_parse_u64(s, strlen(s), 0, UINT64_MAX, out) != 0) {
		sealctl_msg(cmd, "%s: expected a decimal or 0x-hex number, found '%s'", opt, s);
		return SEALCTL_USAGE;
	}
	return 0;
}

int sealcmd_image_open(const char *cmd, const char *path, struct sealcmd_image *img)
{
	struct stat st;
	uint64_t size;
	void *m;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		struct si_diag d;
		si_diag_clear(&d);
		si_diag_errno(&d, errno);
		return sealctl_report(cmd, path, SI_E_OPEN, &d);
	}
	if (fstat(fd, &st) != 0)
		goto io;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size) != 0)
			goto io;
	} else if (S_ISREG(st.st_mode)) {
		size = (uint64_t)st.st_size;
	} else {
		close(fd);
		sealctl_msg(cmd, "%s: not a regular file or block device", path);
		return SEALCTL_FAIL;
	}
	if (size > SIZE_MAX) {
		close(fd);
		return sealctl_report(cmd, path, SI_E_TOO_BIG, NULL);
	}
	img->fd = fd;
	img->len = (size_t)size;
	if (size == 0) {
		img->map = NULL;
		return 0;
	}
	m = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		goto io;
	img->map = m;
	return 0;
io:
	{
		struct si_diag d;
		si_diag_clear(&d);
		si_diag_errno(&d, errno);
		close(fd);
		return sealctl_report(cmd, path, SI_E_IO, &d);
	}
}

void sealcmd_image_close(struct sealcmd_image *img)
{
	if (img->map)
		munmap((void *)img->map, img->len);
	if (img->fd >= 0)
		close(img->fd);
	img->map = NULL;
	img->fd = -1;
}

static int read_small(const char *cmd, const char *path, size_t max, uint8_t **buf,
		      size_t *len)
{
	int r = sealctl_read_file(path, max, buf, len);

	if (r) {
		struct si_diag d;
		si_diag_clear(&d);
		if (r == SI_E_OPEN || r == SI_E_IO)
			si_diag_errno(&d, errno);
		return sealctl_report(cmd, path, r, &d);
	}
	return 0;
}

int sealcmd_load_pub(const char *cmd, const char *path, struct si_key *k)
{
	struct si_diag d;
	uint8_t *buf;
	size_t len;
	int r = read_small(cmd, path, SI_KEY_PEM_MAX, &buf, &len);

	if (r)
		return r;
	si_diag_clear(&d);
	r = si_key_parse_public(buf, len, k, &d);
	free(buf);
	if (r)
		return sealctl_report(cmd, path, r, &d);
	snprintf(k->id, sizeof k->id, "key");
	k->usages = SI_USAGE_ALL;
	return 0;
}

int sealcmd_load_priv(const char *cmd, const char *path, struct si_privkey *k)
{
	struct si_diag d;
	uint8_t *buf;
	size_t len;
	int r = read_small(cmd, path, SI_KEY_PEM_MAX, &buf, &len);

	if (r)
		return r;
	si_diag_clear(&d);
	r = si_key_parse_private(buf, len, k, &d);
	memset(buf, 0, len);
	free(buf);
	if (r)
		return sealctl_report(cmd, path, r, &d);
	return 0;
}

const struct plan_board *sealcmd_board(void)
{
	static struct plan_board b;
	static int init;

	if (!init) {
		plan_board_kconfig(&b);
		init = 1;
	}
	return &b;
}

int sealcmd_load_anchor(const char *cmd, const char *path, struct si_anchor *a)
{
	struct si_diag d;
	uint8_t *buf;
	size_t len;
	int r = read_small(cmd, path, (size_t)CONFIG_MAX_FDT_KB * 1024, &buf, &len);

	if (r)
		return r;
	si_diag_clear(&d);
	r = si_anchor_parse(buf, len, sealcmd_board()->uboot_usages, a, &d);
	free(buf);
	if (r)
		return sealctl_report(cmd, path, r, &d);
	return 0;
}
