/* vt-bench: builds or verifies a dm-verity hash tree (format 1, no
 * superblock, separate hash file) with verify/hashtree, for the benchmark
 * and the veritysetup interop test.  A test tool, not part of sealctl.
 *
 *   vt-bench format [--salt HEX] [--block-size N] [--threads N] DATA HASH
 *       writes the tree to HASH, prints "root <hex>"
 *   vt-bench verify [--salt HEX] [--block-size N] [--threads N] --root HEX DATA HASH
 *       exit 0 when the tree and data match the root, 1 when not, 2 on misuse
 *   vt-bench speed [--threads N] [--mib N]
 *       hashes N MiB of 4 KiB salted blocks in memory, prints GB/s
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/str.h"
#include "verify/hashtree.h"
#include "verify/sha256.h"

static void usage(void)
{
	fprintf(stderr, "usage: vt-bench format|verify [--salt HEX] [--block-size N] "
			"[--threads N] [--root HEX] DATA HASH\n"
			"       vt-bench speed [--threads N] [--mib N]\n");
	exit(2);
}

static const uint8_t *map_file(const char *path, size_t *len)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "vt-bench: %s: %s\n", path, strerror(errno));
		exit(3);
	}
	*len = (size_t)st.st_size;
	if (!*len) {
		close(fd);
		return NULL;
	}
	/* Prefault in the kernel: far cheaper than one fault per page. */
	p = mmap(NULL, *len, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		fprintf(stderr, "vt-bench: mmap %s: %s\n", path, strerror(errno));
		exit(3);
	}
	return p;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	uint8_t salt[VT_MAX_SALT], root[32], want[32];
	size_t salt_len = 0, dlen, tlen;
	unsigned threads = 0, mib = 1024;
	uint32_t bs = 4096;
	int have_root = 0, i, r;
	const char *cmd, *files[2];
	int nfiles = 0;
	struct vt_geom g;

	if (argc < 2)
		usage();
	cmd = argv[1];
	for (i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--salt") && i + 1 < argc) {
			const char *h = argv[++i];

			if (strcmp(h, "-")) {
				salt_len = strlen(h) / 2;
				if (salt_len > VT_MAX_SALT || si_unhex(salt, salt_len, h, strlen(h)))
					usage();
			}
		} else if (!strcmp(a, "--root") && i + 1 < argc) {
			const char *h = argv[++i];

			if (si_unhex(want, 32, h, strlen(h)))
				usage();
			have_root = 1;
		} else if (!strcmp(a, "--threads") && i + 1 < argc) {
			threads = (unsigned)atoi(argv[++i]);
		} else if (!strcmp(a, "--block-size") && i + 1 < argc) {
			bs = (uint32_t)atoi(argv[++i]);
		} else if (!strcmp(a, "--mib") && i + 1 < argc) {
			mib = (unsigned)atoi(argv[++i]);
		} else if (a[0] != '-' && nfiles < 2) {
			files[nfiles++] = a;
		} else {
			usage();
		}
	}

	if (!strcmp(cmd, "speed")) {
		size_t n = (size_t)mib << 20;
		uint8_t *data = malloc(n), *tree;
		double t0, t1;

		memset(salt, 0x5e, 32);
		if (!data || vt_geom_init(n / 4096, 4096, 4096, &g))
			return 3;
		tree = malloc((size_t)g.tree_size);
		memset(data, 0x42, n);
		if (!tree || vt_tree_build(&g, salt, 32, data, tree, root, threads))
			return 3;
		t0 = now();
		r = vt_tree_verify(&g, salt, 32, data, tree, root, threads, NULL);
		t1 = now();
		printf("%s: %u MiB verified in %.3f s: %.2f GB/s (%s)\n", si_sha256_impl(), mib,
		       t1 - t0, n / (t1 - t0) / 1e9, r ? si_err_name(r) : "ok");
		return r != 0;
	}
	if (nfiles != 2 || (strcmp(cmd, "format") && strcmp(cmd, "verify")))
		usage();

	{
		const uint8_t *data = map_file(files[0], &dlen);

		if (!dlen || dlen % bs) {
			fprintf(stderr, "vt-bench: %s: size %zu is not a positive multiple of %u\n",
				files[0], dlen, bs);
			return 2;
		}
		if ((r = vt_geom_init(dlen / bs, bs, bs, &g))) {
			fprintf(stderr, "vt-bench: %s\n", si_err_meaning(r));
			return 2;
		}
		if (!strcmp(cmd, "format")) {
			uint8_t *tree = g.tree_size ? malloc((size_t)g.tree_size) : NULL;
			char hex[65];
			FILE *f;

			if ((g.tree_size && !tree) ||
			    (r = vt_tree_build(&g, salt, salt_len, data, tree, root, threads))) {
				fprintf(stderr, "vt-bench: format: %s\n", si_err_meaning(r));
				return 3;
			}
			f = fopen(files[1], "wb");
			if (!f || (g.tree_size && fwrite(tree, (size_t)g.tree_size, 1, f) != 1) ||
			    fclose(f)) {
				fprintf(stderr, "vt-bench: %s: write failed\n", files[1]);
				return 3;
			}
			si_hex(hex, root, 32);
			printf("root %s\n", hex);
			return 0;
		}
		if (!have_root)
			usage();
		{
			const uint8_t *tree = map_file(files[1], &tlen);
			struct si_diag d;
			char line[256];

			if (tlen < g.tree_size) {
				fprintf(stderr, "vt-bench: %s: %zu bytes, the tree needs %llu\n",
					files[1], tlen, (unsigned long long)g.tree_size);
				return 1;
			}
			si_diag_clear(&d);
			r = vt_tree_verify(&g, salt, salt_len, data, tree, want, threads, &d);
			if (r) {
				si_diag_format(&d, r, line, sizeof line);
				fprintf(stderr, "vt-bench: verify: %s: %s\n", si_err_name(r), line);
				return 1;
			}
			return 0;
		}
	}
}
