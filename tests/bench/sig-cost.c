/* What sealinit's checks cost one at a time, for the boot-cost benchmark
 * (tests/bench/bench-boot): run as /init under the same QEMU and the same
 * instruction clock as the boots, it times sealinit's own code for
 *   - one ECDSA P-256 signature check of a manifest-sized message
 *     (si_sig_verify, as every seal's and the anchor's check runs it),
 *   - one trust-anchor key check as verify/anchor.c does it (a P-256
 *     point multiplication by 1 with BearSSL's p256_m15: decoding the point
 *     proves it is on the curve),
 *   - SHA-256 of 1 MiB (si_sha256, the implementation sealinit picks: the
 *     boot KC's whole tree hashes a little more than that),
 * prints one line, "bench-sigcost: ...", and powers off.  The signing key
 * is /key.pem of its initramfs (any ECDSA P-256 key; bench-boot makes one).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <time.h>
#include <unistd.h>

#include <bearssl.h>

#include "lib/err.h"
#include "verify/key.h"
#include "verify/sha256.h"
#include "verify/sig.h"

#define ROUNDS 10

static double ms_since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) * 1e3 + (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

static void __attribute__((noreturn)) done(const char *line)
{
	printf("bench-sigcost: %s\n", line);
	fflush(stdout);
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

int main(void)
{
	static uint8_t pem[8192], big[1 << 20];
	static struct si_privkey sk;
	static const uint8_t one[1] = { 1 };
	uint8_t msg[317], sig[SI_SIG_MAX], pt[65], digest[SI_SHA256_LEN];
	char line[256];
	struct si_diag d;
	struct timespec t;
	double verify, check, hash;
	size_t sig_len = 0;
	ssize_t n;
	int fd, i, bad = 0;

	fd = open("/key.pem", O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, pem, sizeof pem);
	si_diag_clear(&d);
	if (n <= 0 || si_key_parse_private(pem, (size_t)n, &sk, &d) != 0 ||
	    sk.algo != SI_ALGO_ECDSA_P256)
		done("FAILED: no ECDSA P-256 key in /key.pem");
	memset(msg, 0xa5, sizeof msg);
	if (si_sig_sign(&sk, msg, sizeof msg, sig, sizeof sig, &sig_len, &d) != 0)
		done("FAILED: si_sig_sign");

	clock_gettime(CLOCK_MONOTONIC, &t);
	for (i = 0; i < ROUNDS; i++)
		bad |= si_sig_verify(&sk.pub, SI_ALGO_ECDSA_P256, msg, sizeof msg, sig, sig_len, &d);
	verify = ms_since(&t) / ROUNDS;

	clock_gettime(CLOCK_MONOTONIC, &t);
	for (i = 0; i < ROUNDS; i++) {
		memcpy(pt, sk.pub.pub, sizeof pt);
		bad |= br_ec_p256_m15.mul(pt, sizeof pt, one, sizeof one, BR_EC_secp256r1) != 1;
	}
	check = ms_since(&t) / ROUNDS;

	memset(big, 0x5a, sizeof big);
	clock_gettime(CLOCK_MONOTONIC, &t);
	si_sha256(big, sizeof big, digest);
	hash = ms_since(&t);

	if (bad)
		done("FAILED: a check said no");
	snprintf(line, sizeof line,
		 "ecdsa-p256 verify %.2f ms; anchor key check %.2f ms; sha256 of 1 MiB %.2f ms (%s)",
		 verify, check, hash, si_sha256_impl());
	done(line);
}
