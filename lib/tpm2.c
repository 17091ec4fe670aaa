/* sealinit lib/: TPM 2.0 commands for the floor store -- marshalling into
 * a fixed buffer, bounded response parsing (lib/tpm2.h has the formats). */
#include <stdio.h>
#include <string.h>

#include "lib/tpm2.h"

#define TPM_ST_NO_SESSIONS 0x8001
#define TPM_ST_SESSIONS 0x8002
#define TPM_RS_PW 0x40000009u

enum {
	TPM_CC_NV_UndefineSpace = 0x122,
	TPM_CC_NV_DefineSpace = 0x12a,
	TPM_CC_NV_Increment = 0x134,
	TPM_CC_NV_WriteLock = 0x138,
	TPM_CC_NV_Read = 0x14e,
	TPM_CC_NV_ReadPublic = 0x169,
};

/* Response codes this code tells apart (Part 2, 6.6.3; format one: bit 7
 * set, the error number in bits 0..5). */
enum {
	TPM_RC_FMT1 = 0x080,
	TPM_RC_HANDLE = 0x08b,
	TPM_RC_NV_LOCKED = 0x148,
	TPM_RC_NV_UNINITIALIZED = 0x14a,
	TPM_RC_RETRY = 0x922,
	TPM_RC_TESTING = 0x90a,
	TPM_RC_YIELDED = 0x908,
};

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

uint32_t tpm2_rc_base(uint32_t rc)
{
	if (rc & TPM_RC_FMT1)
		return TPM_RC_FMT1 | (rc & 0x3f);
	return rc;
}

/* ------------------------------------------------------------ parsing */

int tpm2_rsp_parse(const uint8_t *buf, size_t len, int sessions, unsigned n_handles,
		   struct tpm2_rsp *out, struct si_diag *d)
{
	uint16_t tag;
	uint32_t size, rc, psize;
	size_t off;

	if (len < TPM2_HDR)
		return si_diag_want(d, SI_E_TPM_RESPONSE, "response header (bytes)", TPM2_HDR, len);
	if (len > TPM2_BUF)
		return si_diag_want(d, SI_E_TPM_RESPONSE, "response length", TPM2_BUF, len);
	tag = be16(buf);
	size = si_be32(buf + 2);
	rc = si_be32(buf + 6);
	if (size != len)
		return si_diag_want(d, SI_E_TPM_RESPONSE, "responseSize", len, size);
	if (tag != TPM_ST_NO_SESSIONS && tag != TPM_ST_SESSIONS)
		return si_diag_want(d, SI_E_TPM_RESPONSE, "tag", sessions ? TPM_ST_SESSIONS : TPM_ST_NO_SESSIONS, tag);
	if (rc != 0) {
		/* An error response is a bare header (Part 1, 18.8). */
		if (len != TPM2_HDR || tag != TPM_ST_NO_SESSIONS)
			return si_diag_want(d, SI_E_TPM_RESPONSE, "error response length", TPM2_HDR, len);
		out->rc = rc;
		out->param_off = out->param_len = 0;
		return 0;
	}
	if (tag != (sessions ? TPM_ST_SESSIONS : TPM_ST_NO_SESSIONS))
		return si_diag_want(d, SI_E_TPM_RESPONSE, "tag", sessions ? TPM_ST_SESSIONS : TPM_ST_NO_SESSIONS, tag);
	off = TPM2_HDR;
	if ((len - off) / 4 < n_handles)
		return si_diag_at(d, SI_E_TPM_RESPONSE, "response handles", off);
	off += (size_t)n_handles * 4;
	if (!sessions) {
		out->rc = 0;
		out->param_off = off;
		out->param_len = len - off;
		return 0;
	}
	if (len - off < 4)
		return si_diag_at(d, SI_E_TPM_RESPONSE, "parameterSize", off);
	psize = si_be32(buf + off);
	off += 4;
	if (psize > len - off)
		return si_diag_want(d, SI_E_TPM_RESPONSE, "parameterSize", len - off, psize);
	/* What follows is the password session's acknowledgement, which this
	 * code does not use: nonce (u16 size, 0), attributes u8, hmac (u16
	 * size, 0) -- exactly 5 bytes, one per session sent. */
	if (len - off - psize != 5)
		return si_diag_want(d, SI_E_TPM_RESPONSE, "response session area (bytes)", 5, len - off - psize);
	out->rc = 0;
	out->param_off = off;
	out->param_len = psize;
	return 0;
}

int tpm2_nv_public_parse(const uint8_t *p, size_t len, struct tpm2_nv_public *out,
			 struct si_diag *d)
{
	struct tpm2_nv_public v;
	size_t size, off = 0, pol, name;

	if (len < 2)
		return si_diag_at(d, SI_E_TPM_RESPONSE, "nvPublic.size", 0);
	size = be16(p);
	off = 2;
	/* nvIndex 4, nameAlg 2, attributes 4, authPolicy.size 2, dataSize 2 */
	if (size < 14 || size > len - off)
		return si_diag_want(d, SI_E_TPM_RESPONSE, "nvPublic.size", len - off, size);
	v.index = si_be32(p + off);
	v.name_alg = be16(p + off + 4);
	v.attrs = si_be32(p + off + 6);
	pol = be16(p + off + 10);
	if (pol > size - 14)
		return si_diag_want(d, SI_E_TPM_RESPONSE, "nvPublic.authPolicy.size", size - 14, pol);
	v.policy_len = (uint16_t)pol;
	if (size != 14 + pol)
		return si_diag_want(d, SI_E_TPM_RESPONSE, "nvPublic.size", 14 + pol, size);
	v.data_size = be16(p + off + 12 + pol);
	off += size;
	if (len - off < 2)
		return si_diag_at(d, SI_E_TPM_RESPONSE, "nvName.size", off);
	name = be16(p + off);
	off += 2;
	if (name != len - off)
		return si_diag_want(d, SI_E_TPM_RESPONSE, "nvName.size", len - off, name);
	/* validation ends: v holds only checked fields */
	*out = v;
	return 0;
}

int tpm2_nv_data_parse(const uint8_t *p, size_t len, size_t want, uint8_t *out,
		       struct si_diag *d)
{
	size_t n;

	if (len < 2)
		return si_diag_at(d, SI_E_TPM_RESPONSE, "data.size", 0);
	n = be16(p);
	if (n != want)
		return si_diag_want(d, SI_E_TPM_RESPONSE, "data.size", want, n);
	if (len - 2 != n)
		return si_diag_want(d, SI_E_TPM_RESPONSE, "NV_Read parameters (bytes)", n + 2, len);
	memcpy(out, p + 2, n);
	return 0;
}

/* ------------------------------------------------------------ commands */

struct cmd {
	uint8_t b[TPM2_BUF];
	size_t n;
	size_t auth_at;      /* where authorizationSize goes (0: none) */
};

static void put16(struct cmd *c, uint16_t v)
{
	c->b[c->n++] = (uint8_t)(v >> 8);
	c->b[c->n++] = (uint8_t)v;
}

static void put32(struct cmd *c, uint32_t v)
{
	si_put_be32(c->b + c->n, v);
	c->n += 4;
}

static void cmd_begin(struct cmd *c, int sessions, uint32_t cc)
{
	c->n = 0;
	c->auth_at = 0;
	put16(c, sessions ? TPM_ST_SESSIONS : TPM_ST_NO_SESSIONS);
	put32(c, 0); /* commandSize, at the end */
	put32(c, cc);
}

/* One password session (TPM_RS_PW) with the password pw[0..n), n <= 64:
 * authorizationSize | handle | nonce (empty) | attributes | hmac = pw. */
static void cmd_pw_session(struct cmd *c, const uint8_t *pw, size_t n)
{
	put32(c, (uint32_t)(4 + 2 + 1 + 2 + n));
	put32(c, TPM_RS_PW);
	put16(c, 0);
	c->b[c->n++] = 0;
	put16(c, (uint16_t)n);
	if (n)
		memcpy(c->b + c->n, pw, n);
	c->n += n;
}

/* Sends c, parses the response; retries what the TPM asks to be retried
 * (RETRY, TESTING, YIELDED), a few times.  rsp, out: the caller's. */
static int cmd_run(const struct tpm2_ops *t, struct cmd *c, int sessions, unsigned n_handles,
		   uint8_t *rsp, struct tpm2_rsp *out, struct si_diag *d)
{
	size_t rlen = 0;
	int r, tries;

	si_put_be32(c->b + 2, (uint32_t)c->n);
	for (tries = 0; tries < 8; tries++) {
		r = t->transmit(t->ctx, c->b, c->n, rsp, TPM2_BUF, &rlen, d);
		if (r)
			return r;
		r = tpm2_rsp_parse(rsp, rlen, sessions, n_handles, out, d);
		if (r)
			return r;
		if (out->rc != TPM_RC_RETRY && out->rc != TPM_RC_TESTING && out->rc != TPM_RC_YIELDED)
			return 0;
	}
	return 0;
}

/* err about NV index `index`: "in NV 0x01a51000". */
static int nv_err(struct si_diag *d, int err, uint32_t index)
{
	char w[24];

	snprintf(w, sizeof w, "NV 0x%08x", (unsigned)index);
	si_diag_where(d, w, strlen(w));
	return err;
}

/* The common tail: a TPM refusal as SI_E_TPM_RC with its code. */
static int tpm_refused(struct si_diag *d, const char *cmd, uint32_t rc)
{
	si_diag_field(d, cmd);
	si_diag_values(d, 0, rc);
	return SI_E_TPM_RC;
}

int tpm2_nv_read_public(const struct tpm2_ops *t, uint32_t index, struct tpm2_nv_public *out,
			struct si_diag *d)
{
	static struct cmd c;
	static uint8_t rsp[TPM2_BUF];
	struct tpm2_rsp rp;
	int r;

	cmd_begin(&c, 0, TPM_CC_NV_ReadPublic);
	put32(&c, index);
	r = cmd_run(t, &c, 0, 0, rsp, &rp, d);
	if (r)
		return r;
	if (tpm2_rc_base(rp.rc) == TPM_RC_HANDLE)
		return nv_err(d, SI_E_TPM_NV_MISSING, index);
	if (rp.rc)
		return tpm_refused(d, "TPM2_NV_ReadPublic", rp.rc);
	return tpm2_nv_public_parse(rsp + rp.param_off, rp.param_len, out, d);
}

/* A command on an NV index authorised by the index itself (authHandle =
 * nvIndex, empty password): NV_Read, NV_Increment, NV_WriteLock. */
static void cmd_nv_self(struct cmd *c, uint32_t cc, uint32_t index)
{
	cmd_begin(c, 1, cc);
	put32(c, index);
	put32(c, index);
	cmd_pw_session(c, NULL, 0);
}

static int nv_self_rc(uint32_t rc, uint32_t index, const char *cmd, struct si_diag *d)
{
	uint32_t b = tpm2_rc_base(rc);

	if (rc == 0)
		return 0;
	if (b == TPM_RC_HANDLE)
		return nv_err(d, SI_E_TPM_NV_MISSING, index);
	if (rc == TPM_RC_NV_LOCKED)
		return nv_err(d, SI_E_TPM_NV_LOCKED, index);
	if (rc == TPM_RC_NV_UNINITIALIZED)
		return nv_err(d, SI_E_TPM_NV_UNWRITTEN, index);
	return tpm_refused(d, cmd, rc);
}

int tpm2_nv_read_counter(const struct tpm2_ops *t, uint32_t index, uint64_t *value,
			 struct si_diag *d)
{
	static struct cmd c;
	static uint8_t rsp[TPM2_BUF];
	struct tpm2_rsp rp;
	uint8_t v[8];
	int r;

	cmd_nv_self(&c, TPM_CC_NV_Read, index);
	put16(&c, 8); /* size */
	put16(&c, 0); /* offset */
	r = cmd_run(t, &c, 1, 0, rsp, &rp, d);
	if (r)
		return r;
	r = nv_self_rc(rp.rc, index, "TPM2_NV_Read", d);
	if (r)
		return r;
	r = tpm2_nv_data_parse(rsp + rp.param_off, rp.param_len, 8, v, d);
	if (r)
		return r;
	*value = si_be64(v);
	return 0;
}

static int nv_self_simple(const struct tpm2_ops *t, uint32_t cc, const char *name, uint32_t index,
			  struct si_diag *d)
{
	static struct cmd c;
	static uint8_t rsp[TPM2_BUF];
	struct tpm2_rsp rp;
	int r;

	cmd_nv_self(&c, cc, index);
	r = cmd_run(t, &c, 1, 0, rsp, &rp, d);
	if (r)
		return r;
	r = nv_self_rc(rp.rc, index, name, d);
	if (r)
		return r;
	if (rp.param_len != 0)
		return si_diag_want(d, SI_E_TPM_RESPONSE, "parameterSize", 0, rp.param_len);
	return 0;
}

int tpm2_nv_increment(const struct tpm2_ops *t, uint32_t index, struct si_diag *d)
{
	return nv_self_simple(t, TPM_CC_NV_Increment, "TPM2_NV_Increment", index, d);
}

int tpm2_nv_write_lock(const struct tpm2_ops *t, uint32_t index, struct si_diag *d)
{
	return nv_self_simple(t, TPM_CC_NV_WriteLock, "TPM2_NV_WriteLock", index, d);
}

/* A command authorised by the owner hierarchy's password: begun with its
 * handles (TPM_RH_OWNER, then index when with_index) and session; the
 * caller adds the parameters and calls owner_run. */
static int owner_begin(struct cmd *c, uint32_t cc, int with_index, uint32_t index,
		       const uint8_t *pw, size_t n, struct si_diag *d)
{
	if (n > 64)
		return si_diag_want(d, SI_E_ARG, "owner password (bytes)", 64, n);
	cmd_begin(c, 1, cc);
	put32(c, TPM2_RH_OWNER);
	if (with_index)
		put32(c, index);
	cmd_pw_session(c, pw, n);
	return 0;
}

static int owner_run(const struct tpm2_ops *t, struct cmd *c, const char *name, uint32_t index,
		     struct si_diag *d)
{
	static uint8_t rsp[TPM2_BUF];
	struct tpm2_rsp rp;
	int r;

	r = cmd_run(t, c, 1, 0, rsp, &rp, d);
	if (r)
		return r;
	if (tpm2_rc_base(rp.rc) == TPM_RC_HANDLE && !(rp.rc & 0x40))
		return nv_err(d, SI_E_TPM_NV_MISSING, index);
	if (rp.rc)
		return tpm_refused(d, name, rp.rc);
	return 0;
}

int tpm2_nv_define(const struct tpm2_ops *t, uint32_t index, uint32_t attrs, uint16_t data_size,
		   const uint8_t *owner_auth, size_t owner_len, struct si_diag *d)
{
	static struct cmd c;
	int r;

	r = owner_begin(&c, TPM_CC_NV_DefineSpace, 0, index, owner_auth, owner_len, d);
	if (r)
		return r;
	put16(&c, 0);              /* auth: the index's authValue, empty */
	put16(&c, 4 + 2 + 4 + 2 + 2); /* publicInfo.size */
	put32(&c, index);
	put16(&c, TPM2_ALG_SHA256);
	put32(&c, attrs);
	put16(&c, 0);              /* authPolicy: none */
	put16(&c, data_size);
	return owner_run(t, &c, "TPM2_NV_DefineSpace", index, d);
}

int tpm2_nv_undefine(const struct tpm2_ops *t, uint32_t index, const uint8_t *owner_auth,
		     size_t owner_len, struct si_diag *d)
{
	static struct cmd c;
	int r;

	r = owner_begin(&c, TPM_CC_NV_UndefineSpace, 1, index, owner_auth, owner_len, d);
	if (r)
		return r;
	return owner_run(t, &c, "TPM2_NV_UndefineSpace", index, d);
}
