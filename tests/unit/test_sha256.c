/* Unit tests for verify/sha256: FIPS 180-2 vectors and BearSSL's br_sha256
 * as the reference, on every implementation this CPU has (the accelerated
 * one chosen at run time, and the portable one forced). */
#include <bearssl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#if defined(__aarch64__)
#include <sys/auxv.h>
#endif

#include "lib/str.h"
#include "tests/unit/t.h"
#include "verify/sha256.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	/* xorshift64*: deterministic, so a failure reproduces */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

static void hexof(const uint8_t d[32], char out[65])
{
	si_hex(out, d, 32);
}

static void ref_sha256(const void *p, size_t n, uint8_t out[32])
{
	br_sha256_context c;

	br_sha256_init(&c);
	br_sha256_update(&c, p, n);
	br_sha256_out(&c, out);
}

/* FIPS 180-2 appendix B and the usual empty-message value. */
static void test_fips(const char *mode)
{
	static const struct {
		const char *msg;
		size_t repeat;
		const char *hex;
	} v[] = {
		{ "", 1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", 1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
		{ "a", 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0" },
	};
	size_t i, k;

	for (i = 0; i < SI_ARRAY_SIZE(v); i++) {
		struct si_sha256 c;
		uint8_t d[32];
		char hex[65];
		size_t len = strlen(v[i].msg);

		si_sha256_init(&c);
		for (k = 0; k < v[i].repeat; k++)
			si_sha256_update(&c, v[i].msg, len);
		si_sha256_final(&c, d);
		hexof(d, hex);
		T_CHECK(!strcmp(hex, v[i].hex), "%s: vector %zu: %s", mode, i, hex);
		if (v[i].repeat == 1) {
			si_sha256(v[i].msg, len, d);
			hexof(d, hex);
			T_CHECK(!strcmp(hex, v[i].hex), "%s: one-shot vector %zu: %s", mode, i, hex);
		}
	}
}

/* Random lengths 0..10000, one-shot and in random pieces, against BearSSL;
 * then si_sha256_many with random prefixes against one-at-a-time. */
static void test_random(const char *mode, const uint8_t *buf)
{
	unsigned iter, bad = 0, bad_split = 0, bad_many = 0;

	for (iter = 0; iter < 400; iter++) {
		size_t len = (size_t)(rnd() % 10001), off = (size_t)(rnd() % 64), done = 0;
		uint8_t want[32], got[32];
		struct si_sha256 c;

		ref_sha256(buf + off, len, want);
		si_sha256(buf + off, len, got);
		bad += memcmp(want, got, 32) != 0;
		si_sha256_init(&c);
		while (done < len) {
			size_t piece = (size_t)(rnd() % 200);

			if (rnd() % 8 == 0)
				piece = (size_t)(rnd() % 5000);
			if (piece > len - done)
				piece = len - done;
			si_sha256_update(&c, buf + off + done, piece);
			done += piece;
		}
		si_sha256_final(&c, got);
		bad_split += memcmp(want, got, 32) != 0;
	}
	T_CHECK(!bad, "%s: %u one-shot digests differ from BearSSL", mode, bad);
	T_CHECK(!bad_split, "%s: %u split-update digests differ from BearSSL", mode, bad_split);

	for (iter = 0; iter < 120; iter++) {
		size_t plen = (size_t)(rnd() % 300), mlen = (size_t)(rnd() % 5000);
		size_t n = (size_t)(rnd() % 7), stride = mlen + (size_t)(rnd() % 3), i;
		struct si_sha256 pre;
		uint8_t out[7 * 32], want[32];
		const uint8_t *prefix = buf + 20000, *base = buf + 1 + (size_t)(rnd() % 13);

		if (iter == 0) { /* the tree's case: 32-byte salt, 4 KiB blocks */
			plen = 32;
			mlen = stride = 4096;
			n = 5;
		}
		si_sha256_init(&pre);
		si_sha256_update(&pre, prefix, plen);
		si_sha256_many(&pre, base, stride, mlen, n, out);
		for (i = 0; i < n; i++) {
			br_sha256_context c;

			br_sha256_init(&c);
			br_sha256_update(&c, prefix, plen);
			br_sha256_update(&c, base + i * stride, mlen);
			br_sha256_out(&c, want);
			bad_many += memcmp(want, out + 32 * i, 32) != 0;
		}
	}
	T_CHECK(!bad_many, "%s: %u si_sha256_many digests differ from BearSSL", mode, bad_many);
}

/* A context copied after a prefix continues independently. */
static void test_copy(void)
{
	struct si_sha256 a, b;
	uint8_t da[32], db[32], want[32];

	si_sha256_init(&a);
	si_sha256_update(&a, "salt", 4);
	b = a;
	si_sha256_update(&a, "one", 3);
	si_sha256_update(&b, "two", 3);
	si_sha256_final(&a, da);
	si_sha256_final(&b, db);
	si_sha256("saltone", 7, want);
	T_MEMEQ(da, want, 32);
	si_sha256("salttwo", 7, want);
	T_MEMEQ(db, want, 32);
}

/* The CPU's choice is the one /proc/cpuinfo advertises. */
static void test_impl_choice(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096];
	const char *want = "portable";
	int seen = 0;

	if (f) {
		while (!seen && fgets(line, sizeof line, f)) {
#if defined(__x86_64__)
			if ((seen = !strncmp(line, "flags", 5)) && strstr(line, " sha_ni"))
				want = "sha-ni";
#elif defined(__aarch64__)
			if ((seen = !strncmp(line, "Features", 8)) && strstr(line, " sha2"))
				want = "armv8-ce";
#endif
		}
		fclose(f);
	}
#if defined(__aarch64__)
	/* Under qemu-user /proc/cpuinfo is the host's: ask the emulated CPU. */
	if (!seen && (getauxval(AT_HWCAP) & (1UL << 6))) /* HWCAP_SHA2 */
		want = "armv8-ce";
#endif
	T_STREQ(si_sha256_impl(), want);
	T_EQ(si_sha256_force_portable(1), 0);
	T_STREQ(si_sha256_impl(), "portable");
	T_EQ(si_sha256_force_portable(0), 1);
	T_STREQ(si_sha256_impl(), want);
	printf("sha256: implementation %s\n", si_sha256_impl());
}

/* The first calls race on the dispatch: every thread must still agree. */
struct race {
	const uint8_t *buf;
	uint8_t out[32];
};

static void *race_fn(void *arg)
{
	struct race *r = arg;

	si_sha256(r->buf, 9999, r->out);
	return NULL;
}

static void test_race(const uint8_t *buf)
{
	pthread_t t[4];
	struct race r[4];
	uint8_t want[32];
	unsigned i;

	for (i = 0; i < 4; i++) {
		r[i].buf = buf;
		T_EQ(pthread_create(&t[i], NULL, race_fn, &r[i]), 0);
	}
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	ref_sha256(buf, 9999, want);
	for (i = 0; i < 4; i++)
		T_MEMEQ(r[i].out, want, 32);
}

int main(void)
{
	static uint8_t buf[32768];
	size_t i;

	for (i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)(rnd() >> 56);
	test_race(buf); /* first: the dispatch is still unset */
	test_impl_choice();
	test_copy();
	test_fips(si_sha256_impl());
	test_random(si_sha256_impl(), buf);
	T_EQ(si_sha256_force_portable(1), 0);
	test_fips("portable");
	test_random("portable", buf);
	T_EQ(si_sha256_force_portable(0), 1);
	return t_done("sha256");
}
