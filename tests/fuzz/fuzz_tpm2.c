/* libFuzzer target: the TPM 2.0 response parser (lib/tpm2.c) and the
 * floor store's use of it (update/floor_tpm.c) -- what sealinit reads
 * from the TPM at every boot.  The input scripts a TPM: byte 0 picks the
 * operation (read, raise, provision), then each response is a u16
 * big-endian length and that many bytes, handed out one per command.
 * tests/unit/test_floor_tpm --dump records real swtpm conversations in
 * this form (the corpus). */
#include <stdint.h>
#include <string.h>

#include "update/floor_tpm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct script {
	const uint8_t *p;
	size_t n;
};

static int script_transmit(void *ctx, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t cap,
			   size_t *rlen, struct si_diag *d)
{
	struct script *s = ctx;
	size_t n;

	(void)cmd;
	(void)len;
	if (s->n < 2)
		return si_diag_sys(d, SI_E_TPM_IO, "script", 5);
	n = (size_t)s->p[0] << 8 | s->p[1];
	if (n > s->n - 2 || n > cap)
		return si_diag_sys(d, SI_E_TPM_IO, "script", 5);
	memcpy(rsp, s->p + 2, n);
	*rlen = n;
	s->p += 2 + n;
	s->n -= 2 + n;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct script s = { data + 1, size ? size - 1 : 0 };
	struct tpm2_ops ops = { &s, script_transmit };
	struct si_diag d;
	uint64_t v = 0;
	int locked = 0, defined = 0, r;

	if (!size)
		return 0;
	si_diag_clear(&d);
	switch (data[0] % 3) {
	case 0:
		r = up_floor_tpm_read(&ops, UP_TPM_NV_INDEX_DEFAULT, &v, &locked, &d);
		break;
	case 1:
		r = up_floor_tpm_raise(&ops, UP_TPM_NV_INDEX_DEFAULT, 5, 8, &v, &d);
		break;
	default:
		r = up_floor_tpm_provision(&ops, UP_TPM_NV_INDEX_DEFAULT, NULL, 0, 3, 8, &defined, &v, &d);
		break;
	}
	/* every refusal is a code of the table */
	if (r > 0 || (r && si_err_cause(r) == SI_CAUSE_NONE))
		__builtin_trap();
	return 0;
}
