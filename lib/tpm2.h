/* sealinit lib/: the few TPM 2.0 commands the rollback-floor store needs,
 * spoken directly (no TSS library in PID 1): each command marshalled into
 * a fixed buffer, sent through one transport call, and its response
 * parsed with explicit bounds (tpm2_rsp_parse and the parameter parsers
 * are pure and fuzzed: tests/fuzz/fuzz_tpm2.c).
 *
 * References: TCG TPM 2.0 Library, Part 1 (architecture: NV counters,
 * 37.2; response codes, 39), Part 2 (structures: TPMA_NV 13.4,
 * TPMS_NV_PUBLIC 13.5, TPM_RC 6.6), Part 3 (commands: NV_DefineSpace
 * 31.3, NV_UndefineSpace 31.4, NV_ReadPublic 31.6, NV_Increment 31.8,
 * NV_Read 31.13, NV_WriteLock 31.11).
 *
 * Errors (lib/tpm2_err.def): SI_E_TPM_ABSENT, SI_E_TPM_IO (transport),
 * SI_E_TPM_RESPONSE (a malformed response: field and offset in d),
 * SI_E_TPM_RC (the TPM refused: its response code in d's found value),
 * SI_E_TPM_NV_MISSING (no such NV index), SI_E_TPM_NV_LOCKED (written
 * locked), SI_E_TPM_NV_UNWRITTEN (a counter never incremented).
 */
#ifndef SEALINIT_LIB_TPM2_H
#define SEALINIT_LIB_TPM2_H

#include <stddef.h>
#include <stdint.h>

#include "lib/bytes.h"
#include "lib/err.h"

/* Commands and responses fit here (the kernel's TPM_BUFSIZE is 4096). */
#define TPM2_BUF 4096
#define TPM2_HDR 10

/* TPMA_NV (Part 2, 13.4) */
enum {
	TPMA_NV_OWNERWRITE = 1u << 1,
	TPMA_NV_AUTHWRITE = 1u << 2,
	TPMA_NV_POLICYWRITE = 1u << 3,
	TPMA_NV_TPM_NT_MASK = 0xfu << 4,
	TPMA_NV_COUNTER = 1u << 4,          /* TPM_NT_COUNTER in the type field */
	TPMA_NV_WRITELOCKED = 1u << 11,
	TPMA_NV_WRITE_STCLEAR = 1u << 14,
	TPMA_NV_OWNERREAD = 1u << 17,
	TPMA_NV_AUTHREAD = 1u << 18,
	TPMA_NV_NO_DA = 1u << 25,
	TPMA_NV_READLOCKED = 1u << 28,
	TPMA_NV_WRITTEN = 1u << 29,
};
/* State bits the TPM sets by itself: not part of what an index was defined with. */
#define TPMA_NV_STATE (TPMA_NV_WRITELOCKED | TPMA_NV_READLOCKED | TPMA_NV_WRITTEN)

#define TPM2_ALG_SHA256 0x000b
#define TPM2_RH_OWNER 0x40000001u
#define TPM2_RH_LOCKOUT 0x4000000au

/* The transport: sends cmd[0..len) and receives one whole response into
 * rsp[0..cap) (its length in *rlen).  0, SI_E_TPM_IO (errno in d). */
struct tpm2_ops {
	void *ctx;
	int (*transmit)(void *ctx, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t cap,
			size_t *rlen, struct si_diag *d);
};

/* lib/tpm2_dev.c: a TPM character device (/dev/tpmrm0, /dev/tpm0) or a
 * Unix stream socket speaking raw TPM commands (swtpm's --server, for
 * tests).  path NULL: /dev/tpmrm0, else /dev/tpm0.  SI_E_TPM_ABSENT when
 * there is none (errno in d), SI_E_TPM_IO. */
struct tpm2_dev {
	int fd;
	char path[108];     /* a socket path: sun_path's size */
};
int tpm2_dev_open(struct tpm2_dev *dev, const char *path, struct tpm2_ops *ops,
		  struct si_diag *d) SI_WUR;
void tpm2_dev_close(struct tpm2_dev *dev);

/* ------------------------------------------------------------ parsing */

/* A response:
 *
 *   tag u16 | responseSize u32 | responseCode u32         (Part 1, 18.8)
 *   then, when responseCode is 0:
 *     handles (n_handles x u32)
 *     tag TPM_ST_SESSIONS:    parameterSize u32 | parameters | sessions
 *     tag TPM_ST_NO_SESSIONS: parameters (to the end)
 *
 * Big-endian throughout.  tpm2_rsp_parse checks the header against len
 * (responseSize == len, 10 <= len <= TPM2_BUF), the tag against what was
 * sent, and the parameter area's bounds; out gets the response code and
 * where the parameters are.  A nonzero TPM response code is returned in
 * out->rc with 0 (the caller decides what it means).  Errors:
 * SI_E_TPM_RESPONSE. */
struct tpm2_rsp {
	uint32_t rc;
	size_t param_off, param_len;
};
int tpm2_rsp_parse(const uint8_t *buf, size_t len, int sessions, unsigned n_handles,
		   struct tpm2_rsp *out, struct si_diag *d) SI_WUR;

/* TPM2B_NV_PUBLIC then TPM2B_NAME, exactly filling len (NV_ReadPublic's
 * parameters):
 *
 *   size u16 | nvIndex u32 | nameAlg u16 | attributes u32 |
 *     authPolicy (size u16 | bytes) | dataSize u16          (size bytes)
 *   name size u16 | name bytes
 *
 * Errors: SI_E_TPM_RESPONSE. */
struct tpm2_nv_public {
	uint32_t index;
	uint16_t name_alg;
	uint32_t attrs;
	uint16_t policy_len;    /* authPolicy's length (its bytes are not kept) */
	uint16_t data_size;
};
int tpm2_nv_public_parse(const uint8_t *p, size_t len, struct tpm2_nv_public *out,
			 struct si_diag *d) SI_WUR;

/* NV_Read's parameters: TPM2B_MAX_NV_BUFFER of exactly want bytes,
 * nothing after it.  Errors: SI_E_TPM_RESPONSE. */
int tpm2_nv_data_parse(const uint8_t *p, size_t len, size_t want, uint8_t *out,
		       struct si_diag *d) SI_WUR;

/* TPM_RC classification (Part 2, 6.6): the format-one error number of
 * rc (its handle/parameter/session bits dropped), or rc itself. */
uint32_t tpm2_rc_base(uint32_t rc);

/* ------------------------------------------------------------ commands */

/* NV_ReadPublic.  SI_E_TPM_NV_MISSING when the index is not defined. */
int tpm2_nv_read_public(const struct tpm2_ops *t, uint32_t index, struct tpm2_nv_public *out,
			struct si_diag *d) SI_WUR;
/* NV_Read of a counter (8 bytes, big-endian), with the index's own empty
 * authorization (TPMA_NV_AUTHREAD).  SI_E_TPM_NV_UNWRITTEN when it was
 * never incremented. */
int tpm2_nv_read_counter(const struct tpm2_ops *t, uint32_t index, uint64_t *value,
			 struct si_diag *d) SI_WUR;
/* NV_Increment with the index's empty authorization.  SI_E_TPM_NV_LOCKED. */
int tpm2_nv_increment(const struct tpm2_ops *t, uint32_t index, struct si_diag *d) SI_WUR;
/* NV_WriteLock: no write until the next TPM Startup(CLEAR) (a reboot). */
int tpm2_nv_write_lock(const struct tpm2_ops *t, uint32_t index, struct si_diag *d) SI_WUR;
/* NV_DefineSpace under the owner hierarchy (owner password, may be
 * empty): an index of data_size bytes with attrs and an empty authValue
 * and authPolicy, nameAlg SHA-256. */
int tpm2_nv_define(const struct tpm2_ops *t, uint32_t index, uint32_t attrs, uint16_t data_size,
		   const uint8_t *owner_auth, size_t owner_len, struct si_diag *d) SI_WUR;
/* NV_UndefineSpace under the owner hierarchy. */
int tpm2_nv_undefine(const struct tpm2_ops *t, uint32_t index, const uint8_t *owner_auth,
		     size_t owner_len, struct si_diag *d) SI_WUR;

#endif
