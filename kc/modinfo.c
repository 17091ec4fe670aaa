/* sealinit kc/: a kernel module's .modinfo.  Pure.
 *
 * A module is an ELF64 relocatable object (Linux modules on arm64 and
 * x86-64; we refuse everything else).  The fields we read (System V gABI,
 * "ELF Header" and "Sections"; little-endian):
 *
 *   ELF header, 64 bytes           section header, 64 bytes (e_shentsize)
 *    0 e_ident[16] \x7fELF 2 1 1    0 sh_name     u32  offset in .shstrtab
 *   16 e_type     u16  1 = REL      4 sh_type     u32  1 PROGBITS, 3 STRTAB
 *   18 e_machine  u16              24 sh_offset   u64
 *   40 e_shoff    u64              32 sh_size     u64
 *   52 e_ehsize   u16  64
 *   58 e_shentsize u16 64
 *   60 e_shnum    u16  0 = extended numbering: refused
 *   62 e_shstrndx u16  >= SHN_LORESERVE: refused
 *
 * .modinfo (scripts/mod/modpost.c, include/linux/moduleparam.h) is a run of
 * NUL-terminated "key=value" strings, with NUL padding between them.
 */
#include <string.h>

#include "kc/kc.h"
#include "lib/str.h"

#define EHDR_SIZE 64
#define SHDR_SIZE 64
#define SHN_LORESERVE_NR 0xff00u
#define SHT_PROGBITS_NR 1u
#define SHT_STRTAB_NR 3u

static int elf_fail(struct si_diag *d, const char *field, uint64_t off)
{
	return si_diag_at(d, SI_E_ELF, field, off);
}

static int name_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* The .modinfo section of img as [*off, *off + *size). */
static int elf_find_modinfo(const uint8_t *img, size_t len, uint64_t *off,
			    uint64_t *size, uint16_t *machine, struct si_diag *d)
{
	static const char want[] = ".modinfo";
	uint64_t shoff, str_off, str_size, tab_len, found_off = 0, found_size = 0;
	unsigned shnum, shstrndx, i, found = 0;
	const uint8_t *sh;

	if (len < EHDR_SIZE)
		return elf_fail(d, "elf.header", 0);
	if (memcmp(img, "\x7f" "ELF", 4) != 0)
		return elf_fail(d, "elf.magic", 0);
	if (img[4] != 2)
		return elf_fail(d, "elf.class", 4);
	if (img[5] != 1)
		return elf_fail(d, "elf.data", 5);
	if (img[6] != 1 || si_le32(img + 20) != 1)
		return elf_fail(d, "elf.version", 6);
	if (si_le16(img + 16) != 1)
		return elf_fail(d, "elf.type", 16);
	if (si_le16(img + 52) != EHDR_SIZE)
		return elf_fail(d, "elf.ehsize", 52);
	if (si_le16(img + 58) != SHDR_SIZE)
		return elf_fail(d, "elf.shentsize", 58);
	shoff = si_le64(img + 40);
	shnum = si_le16(img + 60);
	shstrndx = si_le16(img + 62);
	if (shnum == 0 || shnum >= SHN_LORESERVE_NR)
		return elf_fail(d, "elf.shnum", 60);
	if (shstrndx == 0 || shstrndx >= shnum)
		return elf_fail(d, "elf.shstrndx", 62);
	tab_len = (uint64_t)shnum * SHDR_SIZE;
	if (!si_span_ok(shoff, tab_len, len))
		return elf_fail(d, "elf.shoff", 40);

	sh = img + shoff + (uint64_t)shstrndx * SHDR_SIZE;
	str_off = si_le64(sh + 24);
	str_size = si_le64(sh + 32);
	if (si_le32(sh + 4) != SHT_STRTAB_NR || !si_span_ok(str_off, str_size, len))
		return elf_fail(d, "elf.shstrtab", shoff + (uint64_t)shstrndx * SHDR_SIZE);

	for (i = 0; i < shnum; i++) {
		uint64_t name, soff, ssize, hoff = shoff + (uint64_t)i * SHDR_SIZE;

		sh = img + hoff;
		name = si_le32(sh);
		/* The name and its NUL inside .shstrtab. */
		if (name >= str_size || str_size - name < sizeof want ||
		    memcmp(img + str_off + name, want, sizeof want) != 0)
			continue;
		soff = si_le64(sh + 24);
		ssize = si_le64(sh + 32);
		if (si_le32(sh + 4) != SHT_PROGBITS_NR || !si_span_ok(soff, ssize, len))
			return elf_fail(d, "elf.modinfo", hoff);
		if (found)
			return elf_fail(d, "elf.modinfo.duplicate", hoff);
		found = 1;
		found_off = soff;
		found_size = ssize;
	}
	if (!found)
		return si_diag_at(d, SI_E_MODINFO, "modinfo.section", 0);
	*off = found_off;
	*size = found_size;
	*machine = si_le16(img + 18);
	return 0;
}

/* The next "key=value" string of .modinfo sec[0..size) at or after *pos
 * (NUL padding skipped): 1 with *str and *slen set and *pos past it, 0 at
 * the end, or SI_E_MODINFO for a string with no NUL before the end.  off is
 * the section's offset in the file, for the diagnostic. */
static int modinfo_next(const uint8_t *sec, uint64_t size, uint64_t off, uint64_t *pos,
			const uint8_t **str, size_t *slen, struct si_diag *d)
{
	const uint8_t *nul;

	while (*pos < size && sec[*pos] == '\0')
		(*pos)++;
	if (*pos == size)
		return 0;
	nul = memchr(sec + *pos, '\0', (size_t)(size - *pos));
	if (!nul)
		return si_diag_at(d, SI_E_MODINFO, "modinfo.unterminated", off + *pos);
	*str = sec + *pos;
	*slen = (size_t)(nul - *str);
	*pos += *slen + 1;
	return 1;
}

/* Appends the "pre:" names of one softdep= value v[0..n) to pre (comma
 * separated); "post:" names are checked and skipped (they load after). */
static int softdep_add(const uint8_t *v, size_t n, char *pre, size_t cap,
		       struct si_diag *d, uint64_t off)
{
	enum { NONE, PRE, POST } where = NONE;
	size_t i = 0, used = strlen(pre);

	while (i < n) {
		size_t start, tl, k;

		while (i < n && v[i] == ' ')
			i++;
		start = i;
		while (i < n && v[i] != ' ')
			i++;
		tl = i - start;
		if (tl == 0)
			break;
		if (tl == 4 && memcmp(v + start, "pre:", 4) == 0) {
			where = PRE;
			continue;
		}
		if (tl == 5 && memcmp(v + start, "post:", 5) == 0) {
			where = POST;
			continue;
		}
		for (k = 0; k < tl; k++)
			if (!name_char(v[start + k]))
				return si_diag_at(d, SI_E_MODINFO, "modinfo.softdep", off);
		if (where == NONE)
			return si_diag_at(d, SI_E_MODINFO, "modinfo.softdep", off);
		if (where == POST)
			continue;
		if (used + (used != 0) + tl >= cap) {
			si_diag_values(d, cap - 1, used + (used != 0) + tl);
			return si_diag_at(d, SI_E_TOO_BIG, "modinfo.softdep", off);
		}
		if (used)
			pre[used++] = ',';
		memcpy(pre + used, v + start, tl);
		used += tl;
		pre[used] = '\0';
	}
	return 0;
}

int kc_modinfo_parse(const uint8_t *img, size_t len, struct kc_modinfo *out,
		     struct si_diag *d)
{
	enum { HAVE_NAME = 1, HAVE_DEPENDS = 2, HAVE_VERMAGIC = 4 };
	struct kc_modinfo m;
	uint64_t off = 0, size = 0, pos = 0;
	unsigned have = 0;
	const uint8_t *sec;
	int r;

	if ((!img && len) || !out)
		return SI_E_ARG;
	memset(&m, 0, sizeof m);
	r = elf_find_modinfo(img, len, &off, &size, &m.machine, d);
	if (r)
		return r;
	sec = img + off;
	/* Validation of the section's bounds ends here: sec[0..size) is in img. */
	for (;;) {
		const uint8_t *s, *eq;
		size_t slen, klen, vlen, i;
		uint64_t at;
		unsigned bit;
		char *dst;
		size_t cap;

		r = modinfo_next(sec, size, off, &pos, &s, &slen, d);
		if (r < 0)
			return r;
		if (r == 0)
			break;
		at = pos - slen - 1; /* the entry's offset in the section */
		eq = memchr(s, '=', slen);
		if (!eq || eq == s)
			return si_diag_at(d, SI_E_MODINFO, "modinfo.entry", off + at);
		klen = (size_t)(eq - s);
		vlen = slen - klen - 1;
		if (klen == 4 && memcmp(s, "name", 4) == 0) {
			bit = HAVE_NAME;
			dst = m.name;
			cap = sizeof m.name;
		} else if (klen == 7 && memcmp(s, "depends", 7) == 0) {
			bit = HAVE_DEPENDS;
			dst = m.depends;
			cap = sizeof m.depends;
		} else if (klen == 8 && memcmp(s, "vermagic", 8) == 0) {
			bit = HAVE_VERMAGIC;
			dst = m.vermagic;
			cap = sizeof m.vermagic;
		} else if (klen == 7 && memcmp(s, "softdep", 7) == 0) {
			r = softdep_add(eq + 1, vlen, m.pre, sizeof m.pre, d, off + at);
			if (r)
				return r;
			continue;
		} else {
			continue;
		}
		if (have & bit)
			return si_diag_at(d, SI_E_MODINFO, "modinfo.duplicate", off + at);
		have |= bit;
		if (vlen >= cap) {
			si_diag_values(d, cap - 1, vlen);
			return si_diag_at(d, SI_E_TOO_BIG, bit == HAVE_NAME ? "modinfo.name" :
				       bit == HAVE_DEPENDS ? "modinfo.depends" : "modinfo.vermagic",
				       off + at);
		}
		for (i = 0; i < vlen; i++) {
			uint8_t c = eq[1 + i];
			int ok = bit == HAVE_NAME ? name_char(c) :
				 bit == HAVE_DEPENDS ? (name_char(c) || c == ',') :
				 (c >= ' ' && c <= '~');

			if (!ok)
				return si_diag_at(d, SI_E_MODINFO, bit == HAVE_NAME ? "modinfo.name" :
					       bit == HAVE_DEPENDS ? "modinfo.depends" : "modinfo.vermagic",
					       off + at);
		}
		memcpy(dst, eq + 1, vlen);
		dst[vlen] = '\0';
	}
	if (!(have & HAVE_NAME) || m.name[0] == '\0')
		return si_diag_at(d, SI_E_MODINFO, "modinfo.name", off);
	*out = m;
	return 0;
}

int kc_modinfo_has_alias(const uint8_t *img, size_t len, const char *alias,
			 struct si_diag *d)
{
	uint64_t off = 0, size = 0, pos = 0;
	uint16_t machine;
	size_t alen;
	const uint8_t *sec;
	int r;

	if ((!img && len) || !alias)
		return SI_E_ARG;
	r = elf_find_modinfo(img, len, &off, &size, &machine, d);
	if (r)
		return r;
	sec = img + off;
	alen = strlen(alias);
	for (;;) {
		const uint8_t *s;
		size_t slen;

		r = modinfo_next(sec, size, off, &pos, &s, &slen, d);
		if (r <= 0)
			return r;
		if (slen == 6 + alen && memcmp(s, "alias=", 6) == 0 && memcmp(s + 6, alias, alen) == 0)
			return 1;
	}
}
