/* sealctl: who signs a manifest -- a private key file, or an external
 * signing helper (--signing-helper CMD, avbtool's convention) so that the
 * private key can stay in an HSM or a cloud KMS.
 *
 * The helper is run as
 *     CMD ALGORITHM PUBLIC_KEY_FILE
 * with the bytes to sign on its standard input; it prints the signature
 * on its standard output and exits 0.  ALGORITHM is SHA256_RSA2048,
 * SHA256_RSA4096 (avbtool's names) or SHA256_ECDSA_P256.  The signature
 * is what `openssl dgst -sha256 -sign KEY` prints: RSA PKCS#1 v1.5 (as
 * long as the modulus), ECDSA P-256 as DER (ECDSA-Sig-Value) or raw r||s
 * (64 bytes).  Whatever it returns is verified with the public key before
 * an image is built with it (verify/seal_build.c reads every seal back). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/sealcmd.h"
#include "tools/sealctl.h"
#include "tools/signer.h"
#include "verify/sig.h"

extern char **environ;

const char *sealctl_signer_blame(const char *helper, int err, const char *other)
{
	return helper && (err == SI_E_SIGN_HELPER || err == SI_E_SIG_BAD || err == SI_E_SIG_LEN)
		       ? helper : other;
}

const char *sealctl_signer_algo_name(enum si_algo a)
{
	switch (a) {
	case SI_ALGO_ECDSA_P256: return "SHA256_ECDSA_P256";
	case SI_ALGO_RSA2048: return "SHA256_RSA2048";
	case SI_ALGO_RSA4096: return "SHA256_RSA4096";
	case SI_ALGO_NONE: return "NONE";
	}
	return "NONE";
}

/* One DER INTEGER at p[*i..n) into out[32] (big-endian, left-padded). */
static int der_int(const uint8_t *p, size_t n, size_t *i, uint8_t out[32])
{
	size_t len;

	if (*i + 2 > n || p[*i] != 0x02)
		return -1;
	len = p[*i + 1];
	*i += 2;
	if (len & 0x80 || len == 0 || *i + len > n)
		return -1;
	while (len > 1 && p[*i] == 0) {
		(*i)++;
		len--;
	}
	if (len > 32)
		return -1;
	memset(out, 0, 32);
	memcpy(out + 32 - len, p + *i, len);
	*i += len;
	return 0;
}

/* ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } -> r || s. */
static int ecdsa_der_to_raw(const uint8_t *p, size_t n, uint8_t raw[64])
{
	size_t i = 2;

	if (n < 8 || p[0] != 0x30 || (p[1] & 0x80) || (size_t)p[1] + 2 != n)
		return -1;
	if (der_int(p, n, &i, raw) || der_int(p, n, &i, raw + 32) || i != n)
		return -1;
	return 0;
}

static int helper_fail(struct si_diag *d, const char *what, int e)
{
	si_diag_field(d, what);
	if (e)
		si_diag_errno(d, e);
	return SI_E_SIGN_HELPER;
}

/* Runs the helper: msg on its stdin, up to cap bytes of its stdout. */
static int run_helper(const struct sealctl_signer *sg, const uint8_t *msg, size_t len,
		      uint8_t *out, size_t cap, size_t *got, struct si_diag *d)
{
	int in[2] = { -1, -1 }, outp[2] = { -1, -1 }, st, r = 0;
	char *argv[4];
	posix_spawn_file_actions_t fa;
	struct sigaction ign, old;
	size_t sent = 0, n = 0;
	pid_t pid;
	int e;

	argv[0] = (char *)sg->helper;
	argv[1] = (char *)sealctl_signer_algo_name(sg->pub.algo);
	argv[2] = (char *)sg->pub_arg;
	argv[3] = NULL;
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(outp, O_CLOEXEC) != 0) {
		e = errno;
		if (in[0] >= 0) {
			close(in[0]);
			close(in[1]);
		}
		return helper_fail(d, "pipe", e);
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	e = posix_spawnp(&pid, sg->helper, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(outp[1]);
	if (e != 0) {
		close(in[1]);
		close(outp[0]);
		return helper_fail(d, "exec", e);
	}
	/* A helper that exits without reading must not kill us with SIGPIPE. */
	memset(&ign, 0, sizeof ign);
	ign.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &ign, &old);
	while (in[1] >= 0 || outp[0] >= 0) {
		struct pollfd pf[2];
		int np = 0, wi = -1, ri = -1;

		if (in[1] >= 0) {
			pf[np].fd = in[1];
			pf[np].events = POLLOUT;
			wi = np++;
		}
		if (outp[0] >= 0) {
			pf[np].fd = outp[0];
			pf[np].events = POLLIN;
			ri = np++;
		}
		if (poll(pf, (nfds_t)np, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = helper_fail(d, "poll", errno);
			break;
		}
		if (wi >= 0 && pf[wi].revents) {
			ssize_t w = write(in[1], msg + sent, len - sent);

			if (w > 0)
				sent += (size_t)w;
			if (w < 0 && errno != EINTR && errno != EAGAIN) {
				close(in[1]);
				in[1] = -1;
			} else if (sent == len) {
				close(in[1]);
				in[1] = -1;
			}
		}
		if (ri >= 0 && pf[ri].revents) {
			uint8_t junk[256];
			ssize_t k = n < cap ? read(outp[0], out + n, cap - n)
					    : read(outp[0], junk, sizeof junk);

			if (k > 0 && n < cap)
				n += (size_t)k;
			else if (k > 0)
				n = cap + 1; /* more than any signature: refused below */
			if (k == 0 || (k < 0 && errno != EINTR && errno != EAGAIN)) {
				close(outp[0]);
				outp[0] = -1;
			}
		}
	}
	if (in[1] >= 0)
		close(in[1]);
	if (outp[0] >= 0)
		close(outp[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	sigaction(SIGPIPE, &old, NULL);
	if (r)
		return r;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		si_diag_field(d, WIFEXITED(st) ? "exit status" : "exit status (128 + signal)");
		si_diag_values(d, 0, WIFEXITED(st) ? (uint64_t)WEXITSTATUS(st)
						   : 128 + (uint64_t)WTERMSIG(st));
		return SI_E_SIGN_HELPER;
	}
	if (sent != len) {
		si_diag_field(d, "bytes the helper read");
		si_diag_values(d, len, sent);
		return SI_E_SIGN_HELPER;
	}
	*got = n;
	return 0;
}

static int helper_sign(void *ctx, const uint8_t *msg, size_t len, uint8_t *sig, size_t cap,
		       size_t *sig_len, struct si_diag *d)
{
	const struct sealctl_signer *sg = ctx;
	size_t want = si_sig_len(sg->pub.algo), n = 0;
	uint8_t buf[SI_SIG_MAX + 16];
	int r;

	if (cap < want)
		return SI_E_ARG;
	r = run_helper(sg, msg, len, buf, sizeof buf, &n, d);
	if (r)
		return r;
	if (sg->pub.algo == SI_ALGO_ECDSA_P256 && n != 64) {
		if (ecdsa_der_to_raw(buf, n, sig) != 0) {
			si_diag_field(d, "helper's signature (ECDSA: DER or 64 raw bytes)");
			si_diag_values(d, 64, n);
			return SI_E_SIGN_HELPER;
		}
		*sig_len = 64;
		return 0;
	}
	if (n != want) {
		si_diag_field(d, "helper's signature length");
		si_diag_values(d, want, n);
		return SI_E_SIGN_HELPER;
	}
	memcpy(sig, buf, n);
	*sig_len = n;
	return 0;
}

int sealctl_signer_load(const char *cmd, const char *key, const char *helper,
			struct sealctl_signer *sg)
{
	int r;

	memset(sg, 0, sizeof *sg);
	if (!helper) {
		r = sealcmd_load_priv(cmd, key, &sg->priv);
		if (r)
			return r;
		sg->pub = sg->priv.pub;
		si_signer_privkey(&sg->s, &sg->priv);
		return 0;
	}
	/* The helper holds the private key; --key names the public one. */
	r = sealcmd_load_pub(cmd, key, &sg->pub);
	if (r)
		return r;
	sg->helper = helper;
	/* A relative name that starts with '-' would read as an option. */
	if (key[0] == '-')
		snprintf(sg->pub_arg, sizeof sg->pub_arg, "./%s", key);
	else
		snprintf(sg->pub_arg, sizeof sg->pub_arg, "%s", key);
	sg->s.pub = &sg->pub;
	sg->s.sign = helper_sign;
	sg->s.ctx = sg;
	return 0;
}

void sealctl_signer_done(struct sealctl_signer *sg)
{
	memset(&sg->priv, 0, sizeof sg->priv);
}
