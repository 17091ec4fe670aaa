/* libFuzzer target: the sealed-image footer and manifest parser
 * (verify/seal.c).  The input is a whole image.  It is opened twice: with
 * si_seal_open_unverified, which skips the signature so fuzzing reaches the
 * TLV body and geometry checks behind it (STYLE.md allows this here), and
 * with si_seal_open against an anchor holding the key of the seed corpus,
 * for the envelope, key lookup and signature paths.  An image that opens is
 * then checked in full, which exercises the hash tree on its geometry. */
#include <stdint.h>
#include <string.h>

#include "verify/seal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The public key of tests/vectors/seal/ec-pkcs8.pem, which signed the
 * ECDSA seeds; a PEM in the binary would tie the target to a file path. */
static const char seed_pub[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEROEAMIJuvxmr2DlnfIJ7y/vJX4vo\n" "WkevKfjsCiQMlweAuASj1bH52OnSsGL9vrtDJoPPB9wqetsmAHxwkYgP7g==\n"
	"-----END PUBLIC KEY-----\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct si_anchor a;
	static int init;
	struct si_mem_io m;
	struct si_io io;
	struct si_seal_unverified u;
	struct si_seal s;
	struct si_diag d;
	char line[512];
	int r, ru;

	si_io_mem(&io, &m, data, size);
	if (!init) {
		memset(&a, 0, sizeof a);
		if (si_key_parse_public((const uint8_t *)seed_pub, sizeof seed_pub - 1,
					&a.keys[0], NULL) == 0)
			a.n_keys = 1;
		a.keys[0].usages = SI_USAGE_ALL;
		a.has_floor = 1;
		a.rollback_floor = 1;
		init = 1;
	}
	si_diag_clear(&d);
	r = ru = si_seal_open_unverified(&io, &u, &d);
	si_diag_format(&d, r, line, sizeof line);
	if (r == 0) {
		const struct si_manifest *mf = &u.m;

		/* what the parser promises about an accepted seal */
		if (mf->padded_size > mf->hash_offset || mf->hash_offset + mf->hash_size > mf->manifest_offset ||
		    mf->manifest_offset + mf->manifest_size > size - SI_FOOTER_SIZE ||
		    mf->padded_size % mf->data_block_size || mf->name[0] == '\0')
			__builtin_trap();
		r = si_seal_verify_tree(mf, data, size, 1, &d);
		si_diag_format(&d, r, line, sizeof line);
		/* part of the data: all of it is the whole check, and a part of
		 * an image that passes passes */
		if (si_seal_verify_tree_range(mf, data, size, 0, mf->data_blocks, &d) != r ||
		    (r == 0 && si_seal_verify_tree_range(mf, data, size, mf->data_blocks / 2,
							 mf->data_blocks - mf->data_blocks / 2, &d) != 0) ||
		    (r == 0 && si_seal_verify_tree_range(mf, data, size, mf->data_blocks, 1, &d) != SI_E_ARG))
			__builtin_trap();
	}
	si_diag_clear(&d);
	r = si_seal_open(&io, &a, 0, 0, &s, &d);
	si_diag_format(&d, r, line, sizeof line);
	/* An authenticated seal says exactly what the unverified parse said. */
	if (r == 0 && (ru != 0 || memcmp(&s.m, &u.m, sizeof s.m) != 0))
		__builtin_trap();
	return 0;
}
