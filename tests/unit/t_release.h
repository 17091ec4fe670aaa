/* sealinit tests: releases and bundles for the update tests -- sealed
 * images made from a seed, a release directory (kc/boot.kc,
 * cryptexes/os.cryptex, cryptexes/app.cryptex, release.set) and bundles
 * made by the same code as `sealctl update create`.  Shared by
 * tests/unit/test_engine.c and the power-loss harness (tests/crash/).
 * The including program loads `key` and fills `sg`, `anchor`, `sysroot`. */
#ifndef SEALINIT_TESTS_T_RELEASE_H
#define SEALINIT_TESTS_T_RELEASE_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "patch/diff.h"
#include "tests/unit/t_key.h"
#include "update/engine.h"
#include "verify/set.h"

static struct si_privkey key;
static struct si_signer sg;
static struct si_anchor anchor;
static uint8_t sysroot[32];    /* the system volume's root hash (any) */

/* ------------------------------------------------------------ files */

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
#pragma GCC diagnostic pop
	if (system(cmd) != 0) {
		fprintf(stderr, "t_release: %s failed\n", cmd);
		exit(2);
	}
}

static void put(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		fprintf(stderr, "t_release: write %s: %s\n", path, strerror(errno));
		exit(2);
	}
}


/* A sealed image of `len` bytes of data made from `seed`. */
static void image(const char *path, enum si_kind kind, const char *name, uint64_t rollback,
		  unsigned seed, size_t len)
{
	static const uint8_t salt[16] = { 1, 2, 3 };
	struct si_seal_params p;
	struct si_seal_layout l;
	uint8_t *img;
	size_t i;

	memset(&p, 0, sizeof p);
	p.kind = kind;
	p.name = name;
	p.version = "v";
	p.rollback_index = rollback;
	p.fs_type = kind == SI_KIND_KC_BOOT ? SI_FS_RAW : SI_FS_EROFS;
	p.data_size = len;
	p.salt = salt;
	p.salt_len = sizeof salt;
	p.overlay = kind == SI_KIND_CRYPTEX ? "/usr" : NULL;
	if (si_seal_layout(&p, key.algo, &l, NULL) != 0)
		exit(2);
	img = calloc(1, (size_t)l.image_size);
	for (i = 0; i < len; i++)
		img[i] = (uint8_t)((i / 4096) * 7 + seed * (i % 251 == 0 ? 3 : 1) + (i >> 13));
	if (si_seal_build(&p, &key, img, (size_t)l.image_size, 1, NULL) != 0)
		exit(2);
	put(path, img, (size_t)l.image_size);
	free(img);
}

/* A release in DIR: kc boot (seed kc_seed), os (os_seed), app (app_seed),
 * and its set. */
static void release(const char *dir, const char *name, uint64_t set_rb, unsigned os_seed,
		    uint64_t os_rb, int with_app, unsigned kc_seed, unsigned app_seed)
{
	static uint8_t out[SI_MANIFEST_MAX];
	struct si_set_params sp;
	char path[1300];
	size_t len = 0;
	unsigned i;

	sh("rm -rf '%s' && mkdir -p '%s/kc' '%s/cryptexes'", dir, dir, dir);
	snprintf(path, sizeof path, "%s/kc/boot.kc", dir);
	image(path, SI_KIND_KC_BOOT, "boot", 1, kc_seed, 20000);
	snprintf(path, sizeof path, "%s/cryptexes/os.cryptex", dir);
	image(path, SI_KIND_CRYPTEX, "os", os_rb, os_seed, 300000);
	if (with_app) {
		snprintf(path, sizeof path, "%s/cryptexes/app.cryptex", dir);
		image(path, SI_KIND_CRYPTEX, "app", 1, app_seed, 9000);
	}
	memset(&sp, 0, sizeof sp);
	sp.name = name;
	sp.version = name;
	sp.rollback_index = set_rb;
	memcpy(sp.system_root, sysroot, 32);
	{
		static const char *const files[] = { "kc/boot.kc", "cryptexes/os.cryptex",
						     "cryptexes/app.cryptex" };

		for (i = 0; i < 3; i++) {
			struct si_seal_unverified u;
			struct si_mem_io mio;
			struct si_io io;
			uint8_t *b;
			FILE *f;
			long n;

			snprintf(path, sizeof path, "%s/%s", dir, files[i]);
			f = fopen(path, "rb");
			if (!f)
				continue;
			fseek(f, 0, SEEK_END);
			n = ftell(f);
			rewind(f);
			b = malloc((size_t)n);
			if (fread(b, 1, (size_t)n, f) != (size_t)n)
				exit(2);
			fclose(f);
			si_io_mem(&io, &mio, b, (size_t)n);
			if (si_seal_open_unverified(&io, &u, NULL) != 0)
				exit(2);
			sp.img[sp.n].kind = u.m.kind;
			snprintf(sp.img[sp.n].name, sizeof sp.img[0].name, "%s", u.m.name);
			memcpy(sp.img[sp.n].digest, u.m.digest, 32);
			sp.img[sp.n].rollback_index = u.m.rollback_index;
			sp.n++;
			free(b);
		}
	}
	if (si_set_build(&sp, &sg, out, sizeof out, &len, NULL) != 0)
		exit(2);
	snprintf(path, sizeof path, "%s/release.set", dir);
	put(path, out, len);
}

struct fw {
	int fd;
};

static int fw_write(void *ctx, uint64_t off, const void *p, size_t n)
{
	struct fw *w = ctx;

	return pwrite(w->fd, p, n, (off_t)off) == (ssize_t)n ? 0 : SI_E_WRITE;
}

/* `sealctl update create --from FROM --to TO -o OUT` */
static void bundle(const char *from, const char *to, const char *out, struct up_bundle *b)
{
	struct patch_diff_opts o = { .seg_size = 64u << 10, .level = 3, .threads = 1 };
	struct up_create_args a;
	struct fw w;
	struct si_diag d;
	int r;

	w.fd = open(out, O_RDWR | O_CREAT | O_TRUNC, 0644);
	memset(&a, 0, sizeof a);
	a.from = from;
	a.to = to;
	a.kc_boot_path = "kc/boot.kc";
	a.cryptex_dir = "cryptexes";
	a.signer = &sg;
	a.diff = &o;
	a.write = fw_write;
	a.wctx = &w;
	si_diag_clear(&d);
	r = up_bundle_create(&a, b, &d);
	if (r || ftruncate(w.fd, (off_t)b->payload_end) != 0) {
		fprintf(stderr, "t_release: bundle %s -> %s: %s (%s)\n", from, to, si_err_name(r),
			d.field ? d.field : "");
		exit(2);
	}
	close(w.fd);
}

/* The test key (tests/vectors/seal/ec-pkcs8.pem) as signer and as the
 * anchor's one key, allowed every usage; the system root hash (any). */
static void t_release_keys(void)
{
	t_load_key(T_VEC "ec-pkcs8.pem", &key);
	si_signer_privkey(&sg, &key);
	memset(&anchor, 0, sizeof anchor);
	anchor.n_keys = 1;
	anchor.keys[0] = key.pub;
	anchor.keys[0].usages = SI_USAGE_ALL;
	anchor.keys[0].has_usages = 1;
	strcpy(anchor.keys[0].id, "platform");
	memset(sysroot, 0x42, 32);
}

#endif
