/* sealinit tests: a minimal ELF relocatable object with a .modinfo
 * section, what kernel modules look like to kc/modinfo.c.  Shared by the
 * kc and plan tests (static functions: one copy per test program). */
#ifndef SEALINIT_TESTS_T_ELF_H
#define SEALINIT_TESTS_T_ELF_H

#include <stdint.h>
#include <string.h>

#include "lib/bytes.h"

/* ------------------------------------------------------------ ELF builder */

/* Layout: ELF header | .modinfo | .shstrtab | section headers
 * (0 null, 1 .modinfo, 2 .shstrtab, 3 .text) */
static const char SHSTR[] = "\0.modinfo\0.shstrtab\0.text";
#define SH_NAME_MODINFO 1
#define SH_NAME_SHSTRTAB 10
#define SH_NAME_TEXT 20

struct elf {
	uint8_t b[8192];
	size_t len;
	size_t shoff, mi_off, str_off;
};

static size_t al8(size_t v)
{
	return (v + 7) & ~(size_t)7;
}

static void sh_put(struct elf *e, unsigned i, uint32_t name, uint32_t type,
		   uint64_t off, uint64_t size)
{
	uint8_t *h = e->b + e->shoff + (size_t)i * 64;

	si_put_le32(h, name);
	si_put_le32(h + 4, type);
	si_put_le64(h + 24, off);
	si_put_le64(h + 32, size);
}

static void mk_elf(struct elf *e, const char *mi, size_t mlen, uint16_t machine)
{
	memset(e, 0, sizeof *e);
	memcpy(e->b, "\x7f" "ELF\x02\x01\x01", 7);
	si_put_le16(e->b + 16, 1);   /* ET_REL */
	si_put_le16(e->b + 18, machine);
	si_put_le32(e->b + 20, 1);
	si_put_le16(e->b + 52, 64);
	si_put_le16(e->b + 58, 64);
	si_put_le16(e->b + 60, 4);
	si_put_le16(e->b + 62, 2);
	e->mi_off = 64;
	memcpy(e->b + e->mi_off, mi, mlen);
	e->str_off = al8(e->mi_off + mlen);
	memcpy(e->b + e->str_off, SHSTR, sizeof SHSTR);
	e->shoff = al8(e->str_off + sizeof SHSTR);
	si_put_le64(e->b + 40, e->shoff);
	sh_put(e, 1, SH_NAME_MODINFO, 1, e->mi_off, mlen);
	sh_put(e, 2, SH_NAME_SHSTRTAB, 3, e->str_off, sizeof SHSTR);
	sh_put(e, 3, SH_NAME_TEXT, 1, e->mi_off, 0);
	e->len = e->shoff + 4 * 64;
}

#endif
