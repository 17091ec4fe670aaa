/* lib/tpm2's response parsers (pure): every refusal asserts its exact
 * error; the valid shapes are what swtpm answers (tests/unit/test_floor_tpm
 * runs the commands against it). */
#include "lib/tpm2.h"
#include "tests/unit/t.h"

/* A response: tag, size (filled), rc, then body. */
static size_t rsp(uint8_t *b, uint16_t tag, uint32_t rc, const uint8_t *body, size_t n)
{
	b[0] = (uint8_t)(tag >> 8);
	b[1] = (uint8_t)tag;
	si_put_be32(b + 2, (uint32_t)(10 + n));
	si_put_be32(b + 6, rc);
	if (n)
		memcpy(b + 10, body, n);
	return 10 + n;
}

static void test_rsp(void)
{
	uint8_t b[64];
	struct tpm2_rsp r;
	size_t n;
	/* parameterSize 3, 3 bytes, then the password session's 5 */
	static const uint8_t sess[] = { 0, 0, 0, 3, 1, 2, 3, 0, 0, 1, 0, 0 };

	n = rsp(b, 0x8002, 0, sess, sizeof sess);
	T_OK(tpm2_rsp_parse(b, n, 1, 0, &r, NULL));
	T_EQ(r.rc, 0);
	T_EQ(r.param_off, 14);
	T_EQ(r.param_len, 3);
	/* no sessions: the parameters run to the end */
	n = rsp(b, 0x8001, 0, sess, 4);
	T_OK(tpm2_rsp_parse(b, n, 0, 0, &r, NULL));
	T_EQ(r.param_off, 10);
	T_EQ(r.param_len, 4);
	/* an error response: the code, nothing else */
	n = rsp(b, 0x8001, 0x14a, NULL, 0);
	T_OK(tpm2_rsp_parse(b, n, 1, 0, &r, NULL));
	T_EQ(r.rc, 0x14a);
	/* refusals */
	T_ERR(tpm2_rsp_parse(b, 9, 1, 0, &r, NULL), SI_E_TPM_RESPONSE);
	n = rsp(b, 0x8002, 0, sess, sizeof sess);
	T_ERR(tpm2_rsp_parse(b, n - 1, 1, 0, &r, NULL), SI_E_TPM_RESPONSE);  /* size != length */
	n = rsp(b, 0x8003, 0, sess, sizeof sess);
	T_ERR(tpm2_rsp_parse(b, n, 1, 0, &r, NULL), SI_E_TPM_RESPONSE);      /* unknown tag */
	n = rsp(b, 0x8001, 0, sess, sizeof sess);
	T_ERR(tpm2_rsp_parse(b, n, 1, 0, &r, NULL), SI_E_TPM_RESPONSE);      /* tag not what was sent */
	n = rsp(b, 0x8002, 0x14a, sess, 2);
	T_ERR(tpm2_rsp_parse(b, n, 1, 0, &r, NULL), SI_E_TPM_RESPONSE);      /* an error with a body */
	{
		static const uint8_t big[] = { 0xff, 0xff, 0xff, 0xf0, 1, 2, 3, 0, 0, 1, 0, 0 };

		n = rsp(b, 0x8002, 0, big, sizeof big);
		T_ERR(tpm2_rsp_parse(b, n, 1, 0, &r, NULL), SI_E_TPM_RESPONSE); /* parameterSize past the end */
	}
	n = rsp(b, 0x8002, 0, sess, sizeof sess - 1);
	T_ERR(tpm2_rsp_parse(b, n, 1, 0, &r, NULL), SI_E_TPM_RESPONSE);      /* session area short */
	n = rsp(b, 0x8002, 0, sess, 2);
	T_ERR(tpm2_rsp_parse(b, n, 1, 1, &r, NULL), SI_E_TPM_RESPONSE);      /* handles past the end */
	T_ERR(tpm2_rsp_parse(b, TPM2_BUF + 1, 1, 0, &r, NULL), SI_E_TPM_RESPONSE);
}

static void test_nv_public(void)
{
	/* size 14 | index | sha256 | attrs | policy 0 | dataSize 8 | name 2 bytes */
	uint8_t p[] = { 0, 14, 0x01, 0xa5, 0x10, 0x00, 0x00, 0x0b, 0x22, 0x06, 0x40, 0x14, 0, 0, 0, 8,
			0, 2, 0xaa, 0xbb };
	struct tpm2_nv_public v;
	struct si_diag d;

	T_OK(tpm2_nv_public_parse(p, sizeof p, &v, NULL));
	T_EQ(v.index, 0x01a51000);
	T_EQ(v.name_alg, 0x000b);
	T_EQ(v.attrs, 0x22064014);
	T_EQ(v.policy_len, 0);
	T_EQ(v.data_size, 8);
	T_ERR(tpm2_nv_public_parse(p, 1, &v, NULL), SI_E_TPM_RESPONSE);
	T_ERR(tpm2_nv_public_parse(p, sizeof p - 1, &v, NULL), SI_E_TPM_RESPONSE);   /* name cut */
	T_ERR(tpm2_nv_public_parse(p, 17, &v, NULL), SI_E_TPM_RESPONSE);             /* no name size */
	p[1] = 13;
	T_ERR(tpm2_nv_public_parse(p, sizeof p, &v, NULL), SI_E_TPM_RESPONSE);       /* too small */
	p[1] = 40;
	si_diag_clear(&d);
	T_ERR(tpm2_nv_public_parse(p, sizeof p, &v, &d), SI_E_TPM_RESPONSE);         /* past the end */
	T_STREQ(d.field, "nvPublic.size");
	p[1] = 14;
	p[13] = 1; /* a policy of 1 byte that is not there */
	T_ERR(tpm2_nv_public_parse(p, sizeof p, &v, NULL), SI_E_TPM_RESPONSE);
}

static void test_nv_data(void)
{
	const uint8_t ok[] = { 0, 8, 0, 0, 0, 0, 0, 0, 0, 7 }, short_[] = { 0, 4, 0, 0, 0, 7 },
		      extra[] = { 0, 8, 0, 0, 0, 0, 0, 0, 0, 7, 0 };
	uint8_t v[8];

	T_OK(tpm2_nv_data_parse(ok, sizeof ok, 8, v, NULL));
	T_EQ(si_be64(v), 7);
	T_ERR(tpm2_nv_data_parse(short_, sizeof short_, 8, v, NULL), SI_E_TPM_RESPONSE);
	T_ERR(tpm2_nv_data_parse(extra, sizeof extra, 8, v, NULL), SI_E_TPM_RESPONSE);
	T_ERR(tpm2_nv_data_parse(ok, 1, 8, v, NULL), SI_E_TPM_RESPONSE);
	T_ERR(tpm2_nv_data_parse(ok, sizeof ok - 1, 8, v, NULL), SI_E_TPM_RESPONSE);
}

static void test_rc(void)
{
	T_EQ(tpm2_rc_base(0x18b), 0x08b);   /* TPM_RC_HANDLE + handle 1 */
	T_EQ(tpm2_rc_base(0x28b), 0x08b);
	T_EQ(tpm2_rc_base(0x148), 0x148);   /* format zero: itself */
}

int main(void)
{
	test_rsp();
	test_nv_public();
	test_nv_data();
	test_rc();
	return t_done("test_tpm2");
}
