/* sealinit: the kernel-collection archive.
 *
 * A kernel collection (kc-boot, kc-system, kc-aux) is a sealed image whose
 * data (fs type "raw") is this archive: the kernel release it was built for
 * and its modules, in load order.  sealctl kc computes the order at build
 * time from each module's depends= and the board's list; sealinit loads
 * the modules from the verified bytes, each once the modules its depends=
 * and softdep pre: name are in (kc_load_graph), table order breaking ties.
 *
 *   offset  size  field                       (little-endian)
 *   0       8     magic "SIKCOLL\0"
 *   8       4     version = 1
 *   12      4     count of modules, 1..CONFIG_MAX_MODULES
 *   16      4     release length, 1..64
 *   20      4     flags = 0 (reserved; non-zero is refused)
 *   24      8     archive size: every byte up to the last module's end
 *   32      64    release, NUL-padded (e.g. "6.1.0-56-arm64")
 *   96      96*N  table: per module
 *                   0   56  name, NUL-padded ([A-Za-z0-9_-], 1..55)
 *                   56  8   offset of the module's ELF bytes
 *                   64  8   size of the module's ELF bytes (> 0)
 *                   72  24  reserved, zero
 *   ...           module bytes, in table order: the first right after the
 *                 table, each next one at the previous one's end rounded
 *                 up to 8 bytes; the padding bytes are zero; the last
 *                 module ends at the archive size.  No other gap exists.
 *
 * The archive is only parsed after the seal around it verified (the
 * manifest's signature, then the data against the root hash), but the
 * parser trusts nothing: every field is checked as if it were hostile.
 */
#ifndef SEALINIT_KC_COLLECTION_H
#define SEALINIT_KC_COLLECTION_H

#include <stddef.h>
#include <stdint.h>

#include "lib/bytes.h"
#include "lib/err.h"

#define KC_COLL_MAGIC "SIKCOLL\0"
#define KC_COLL_VERSION 1
#define KC_COLL_HDR 96
#define KC_COLL_ENTRY 96
#define KC_COLL_NAME_MAX 55
#define KC_COLL_RELEASE_MAX 64
#define KC_ENTRY_ON_REQUEST 1u
#define KC_ENTRY_BOOT_IMAGE 2u

struct kc_coll_entry {
	char name[KC_COLL_NAME_MAX + 1];
	uint64_t offset;
	uint64_t size;
	int on_request;      /* flag bit 0: loaded only when the kernel asks */
	int boot_image;      /* flag bit 1: the boot loader's image, not a module */
};

struct kc_collection {
	char release[KC_COLL_RELEASE_MAX + 1];
	unsigned count;
	uint64_t size;
	struct kc_coll_entry mods[CONFIG_MAX_MODULES];
};

/* Parses and checks the whole archive buf[0..len) (trailing bytes after
 * the archive size are refused: the seal's data size must match).
 * Errors: SI_E_KC_TRUNC, SI_E_KC_MAGIC, SI_E_KC_VERSION, SI_E_KC_FIELD
 * (field names it), SI_E_KC_BOUNDS, SI_E_KC_DUP, SI_E_TOO_BIG (count over
 * CONFIG_MAX_MODULES).  *out is written only on success. */
int kc_coll_parse(const uint8_t *buf, size_t len, struct kc_collection *out,
		  struct si_diag *d) SI_WUR;

/* The release an archive's header names, from its first KC_COLL_HDR bytes
 * or more (len), checked as kc_coll_parse checks magic, version and
 * release: for reading the release of an archive not yet verified, to
 * compare and print it (sealinit's restart into a new kernel), never to
 * trust it.  out holds KC_COLL_RELEASE_MAX + 1 bytes.  Errors:
 * SI_E_KC_TRUNC, SI_E_KC_MAGIC, SI_E_KC_VERSION, SI_E_KC_FIELD. */
int kc_coll_release(const uint8_t *buf, size_t len, char *out, struct si_diag *d) SI_WUR;

/* Host side: the archive's size for these module sizes. */
uint64_t kc_coll_size(const uint64_t *sizes, unsigned count);

/* Host side: writes the header and table for `count` modules of the given
 * names and sizes into buf (kc_coll_size bytes, zeroed by the caller) and
 * returns in offsets[] where each module's bytes go.
 * Errors: SI_E_ARG, SI_E_KC_FIELD. */
int kc_coll_write(uint8_t *buf, size_t len, const char *release,
		  const char *const *names, const uint64_t *sizes,
		  unsigned count, uint64_t *offsets, struct si_diag *d) SI_WUR;

/* Host side: sets entry i's flags (KC_ENTRY_*) in a written archive. */
void kc_coll_mark(uint8_t *buf, size_t len, unsigned i, uint32_t flags);

#endif
