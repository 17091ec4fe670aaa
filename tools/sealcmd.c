/* sealctl: helpers the commands share; see tools/sealcmd.h. */
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

#include "lib/fdio.h"
#include "lib/str.h"
#include "tools/sealcmd.h"
#include "tools/sealctl.h"

static int is_opt(const char *a)
{
	return a[0] == '-' && a[1] != '\0';
}

int sealcmd_parse(const char *cmd, int argc, char **argv,
		  const struct sealcmd_optdef *defs, size_t ndefs,
		  const char **positional, size_t npos_max, size_t *npos)
{
	unsigned char seen[64] = { 0 };
	size_t k, got = 0;
	int i = 1, opts = 1;

	if (ndefs > sizeof seen)
		return SEALCTL_USAGE;
	while (i < argc) {
		const char *a = argv[i];

		if (opts && !strcmp(a, "--")) {
			opts = 0;
			i++;
			continue;
		}
		if (opts && (!strcmp(a, "--help") || !strcmp(a, "-h"))) {
			sealctl_help_print(stdout, cmd);
			return SEALCMD_HELP;
		}
		if (opts && !strcmp(a, "--list-options")) {
			for (k = 0; k < ndefs; k++)
				printf("%s%s%s%s\n", defs[k].name, defs[k].alias ? " " : "",
				       defs[k].alias ? defs[k].alias : "", defs[k].value ? " =" : "");
			printf("--help -h\n");
			return SEALCMD_HELP;
		}
		if (!opts || !is_opt(a)) {
			if (got == npos_max)
				return sealctl_usage_error(cmd, "unexpected argument '%s'", a);
			positional[got++] = a;
			i++;
			continue;
		}
		for (k = 0; k < ndefs; k++) {
			size_t n = strlen(defs[k].name);

			if (!strcmp(a, defs[k].name) || (defs[k].alias && !strcmp(a, defs[k].alias)))
				break;
			if (defs[k].value && !strncmp(a, defs[k].name, n) && a[n] == '=')
				break;
		}
		if (k == ndefs)
			return sealctl_usage_error(cmd, "unknown option '%s'", a);
		if (seen[k]++)
			return sealctl_usage_error(cmd, "option %s given twice", defs[k].name);
		if (!defs[k].value) {
			*defs[k].flag = 1;
			i++;
			continue;
		}
		if (!strncmp(a, defs[k].name, strlen(defs[k].name)) && a[strlen(defs[k].name)] == '=') {
			*defs[k].value = a + strlen(defs[k].name) + 1;
			i++;
			continue;
		}
		if (i + 1 >= argc)
			return sealctl_usage_error(cmd, "option %s needs a value", a);
		*defs[k].value = argv[i + 1];
		i += 2;
	}
	if (npos)
		*npos = got;
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

uint64_t sealcmd_canon_size(const struct sealcmd_canon *c)
{
	return c->manifest_end + SI_FOOTER_SIZE;
}

int sealcmd_canon_read(void *ctx, uint64_t off, uint8_t *buf, size_t len)
{
	const struct sealcmd_canon *c = ctx;
	uint64_t end = sealcmd_canon_size(c);
	size_t n;
	int r;

	if (off > end || len > end - off)
		return SI_E_SHORT;
	if (off < c->manifest_end) {
		n = c->manifest_end - off < len ? (size_t)(c->manifest_end - off) : len;
		r = si_pread_full(c->fd, off, buf, n, NULL);
		if (r)
			return r;
		buf += n;
		off += n;
		len -= n;
	}
	if (len == 0)
		return 0;
	return si_pread_full(c->fd, c->footer_off + (off - c->manifest_end), buf, len, NULL);
}

int sealcmd_u64(const char *cmd, const char *opt, const char *s, uint64_t *out)
{
	if (si_parse_u64(s, strlen(s), 0, UINT64_MAX, out) != 0)
		return sealctl_usage_error(cmd, "%s: expected a decimal or 0x-hex number, found '%s'",
					   opt, s);
	return 0;
}

int sealcmd_size(const char *cmd, const char *opt, const char *s, uint64_t *out)
{
	size_t n = strlen(s);
	unsigned shift = 0;
	uint64_t v;

	if (n > 1 && (s[n - 1] == 'K' || s[n - 1] == 'M' || s[n - 1] == 'G')) {
		shift = s[n - 1] == 'K' ? 10 : s[n - 1] == 'M' ? 20 : 30;
		n--;
	}
	if (si_parse_u64(s, n, 0, UINT64_MAX >> shift, &v) != 0)
		return sealctl_usage_error(cmd, "%s: expected a number of bytes (with K, M or G: "
					   "KiB, MiB, GiB), found '%s'", opt, s);
	*out = v << shift;
	return 0;
}

int sealcmd_threads(const char *cmd, const char *s, unsigned *out)
{
	uint64_t v = 0;
	long nc;

	if (s && si_parse_u64(s, strlen(s), 0, 64, &v) != 0)
		return sealctl_usage_error(cmd, "--threads: expected 0..64 (0: every online CPU), "
					   "found '%s'", s);
	if (v == 0) {
		nc = sysconf(_SC_NPROCESSORS_ONLN);
		v = nc < 1 ? 1 : nc > 64 ? 64 : (uint64_t)nc;
	}
	*out = (unsigned)v;
	return 0;
}

int sealcmd_progress_wanted(int forced)
{
	sealctl_progress_tty = isatty(2);
	return forced || sealctl_progress_tty;
}

int sealcmd_image_open(const char *cmd, const char *path, struct sealcmd_image *img)
{
	struct stat st;
	uint64_t size;
	void *m;
	int fd, e;

	img->fd = -1;
	img->map = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sealctl_report_errno(cmd, path, SI_E_OPEN, errno);
	if (fstat(fd, &st) != 0)
		goto io;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size) != 0)
			goto io;
	} else if (S_ISREG(st.st_mode)) {
		size = (uint64_t)st.st_size;
	} else {
		struct si_diag d;

		close(fd);
		si_diag_clear(&d);
		si_diag_text(&d, "regular file or block device", si_file_type_name(st.st_mode));
		return sealctl_report(cmd, path, SI_E_FILE_TYPE, &d);
	}
	if (size > SIZE_MAX) {
		close(fd);
		return sealctl_report(cmd, path, SI_E_TOO_BIG, NULL);
	}
	img->fd = fd;
	img->is_blk = S_ISBLK(st.st_mode);
	img->len = (size_t)size;
	if (size == 0)
		return 0;
	m = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		goto io;
	img->map = m;
	return 0;
io:
	e = errno;
	close(fd);
	img->fd = -1;
	return sealctl_report_errno(cmd, path, SI_E_IO, e);
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

int sealcmd_load_pub(const char *cmd, const char *path, struct si_key *k)
{
	static struct si_privkey priv;
	struct si_diag d, dpriv;
	uint8_t *buf;
	size_t len;
	int r = sealctl_load_file(cmd, path, SI_KEY_PEM_MAX, &buf, &len);

	if (r)
		return r;
	si_diag_clear(&d);
	r = si_key_parse_public(buf, len, k, &d);
	if (r == SI_E_KEY_NOPEM) {
		/* A private key names its public half too. */
		si_diag_clear(&dpriv);
		if (si_key_parse_private(buf, len, &priv, &dpriv) == 0) {
			*k = priv.pub;
			memset(&priv, 0, sizeof priv);
			r = 0;
		}
	}
	memset(buf, 0, len);
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
	int r = sealctl_load_file(cmd, path, SI_KEY_PEM_MAX, &buf, &len);

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
	int r = sealctl_load_file(cmd, path, (size_t)CONFIG_MAX_FDT_KB * 1024, &buf, &len);

	if (r)
		return r;
	si_diag_clear(&d);
	r = si_anchor_parse(buf, len, sealcmd_board()->uboot_usages, a, &d);
	free(buf);
	if (r)
		return sealctl_report(cmd, path, r, &d);
	return 0;
}

const char *sealcmd_diff_phase_name(enum patch_diff_phase phase)
{
	switch (phase) {
	case PATCH_DIFF_SORT: return "indexing the base";
	case PATCH_DIFF_MATCH: return "matching the target";
	case PATCH_DIFF_ENCODE: return "compressing";
	}
	return "working";
}
