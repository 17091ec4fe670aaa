/* libFuzzer target: release set manifests (verify/set.c), unverified so
 * that fuzzing reaches the body parser, then verified against the seed
 * corpus's key, then an image checked against whatever set parsed. */
#include <stdint.h>
#include <string.h>

#include "verify/set.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* tests/vectors/seal/ec-pkcs8.pub.pem, which signed the seed. */
static const char seed_pub[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEROEAMIJuvxmr2DlnfIJ7y/vJX4vo\n"
	"WkevKfjsCiQMlweAuASj1bH52OnSsGL9vrtDJoPPB9wqetsmAHxwkYgP7g==\n"
	"-----END PUBLIC KEY-----\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct si_anchor a;
	static int init;
	struct si_set s, v;
	struct si_seal_unverified u;
	struct si_seal out;
	struct si_diag d;
	unsigned i;
	int r;

	if (!init) {
		memset(&a, 0, sizeof a);
		if (si_key_parse_public((const uint8_t *)seed_pub, sizeof seed_pub - 1,
					&a.keys[0], NULL) == 0)
			a.n_keys = 1;
		a.keys[0].usages = SI_USAGE_ALL;
		init = 1;
	}
	r = si_set_open_unverified(data, size, &s, &d);
	if (r == 0) {
		for (i = 0; i < s.n; i++)
			if (!memchr(s.img[i].name, 0, sizeof s.img[i].name) || !s.img[i].name[0])
				__builtin_trap();
		/* an image that claims an entry's name and digest */
		if (s.n) {
			memset(&u, 0, sizeof u);
			u.m.kind = s.img[0].kind;
			memcpy(u.m.name, s.img[0].name, sizeof u.m.name);
			memcpy(u.m.digest, s.img[0].digest, 32);
			u.m.rollback_index = s.img[0].rollback_index;
			r = si_seal_from_set(&u, &s, &a, 0, 0, &out, &d);
			(void)r;
		}
	}
	r = si_set_open(data, size, &a, 0, &v, &d);
	if (r == 0 && memcmp(v.digest, s.digest, 32) != 0)
		__builtin_trap();
	return 0;
}
