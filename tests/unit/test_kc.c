/* Unit tests for kc/: the ELF .modinfo parser (on ELF files built here,
 * then broken one field at a time), the load orderer, the release checks.
 * Nothing is loaded into the host's kernel. */
#include <errno.h>
#include <string.h>
#include <sys/utsname.h>

#include "kc/kc.h"
#include "lib/bytes.h"
#include "lib/err.h"
#include "tests/unit/t.h"

#include "tests/unit/t_elf.h"

#define MI(s) s, sizeof(s) - 1

static const char GOOD[] =
	"license=GPL\0author=x\0name=dm_verity\0depends=dm-bufio,dm-mod,reed_solomon\0\0\0\0"
	"vermagic=6.1.0-50-arm64 SMP preempt mod_unload modversions aarch64\0alias=dm-verity\0";

static void test_modinfo_good(void)
{
	static struct elf e;
	struct kc_modinfo m;

	mk_elf(&e, MI(GOOD), 183);
	T_OK(kc_modinfo_parse(e.b, e.len, &m, NULL));
	T_STREQ(m.name, "dm_verity");
	T_STREQ(m.depends, "dm-bufio,dm-mod,reed_solomon");
	T_STREQ(m.vermagic, "6.1.0-50-arm64 SMP preempt mod_unload modversions aarch64");
	T_EQ(m.machine, 183);

	/* depends= empty; no vermagic: still fine. */
	mk_elf(&e, MI("name=loop\0depends=\0"), 62);
	T_OK(kc_modinfo_parse(e.b, e.len, &m, NULL));
	T_STREQ(m.name, "loop");
	T_STREQ(m.depends, "");
	T_STREQ(m.vermagic, "");
	T_EQ(m.machine, 62);

	/* Longest name that fits MODULE_NAME_LEN. */
	{
		char mi[128];
		size_t n;

		memcpy(mi, "name=", 5);
		memset(mi + 5, 'a', KC_NAME_MAX - 1);
		n = 5 + KC_NAME_MAX - 1;
		mi[n++] = '\0';
		mk_elf(&e, mi, n, 183);
		T_OK(kc_modinfo_parse(e.b, e.len, &m, NULL));
		T_EQ(strlen(m.name), KC_NAME_MAX - 1);
		mi[n - 1] = 'a';
		mi[n++] = '\0';
		mk_elf(&e, mi, n, 183);
		T_ERR(kc_modinfo_parse(e.b, e.len, &m, NULL), SI_E_TOO_BIG);
	}
}

static void test_modinfo_elf_errors(void)
{
	static struct elf e;
	struct kc_modinfo m;
	struct si_diag d;
	static const struct {
		const char *field;
		int err;
	} cases[] = {
		{ "elf.header", SI_E_ELF },         /* 0: 63 bytes */
		{ "elf.magic", SI_E_ELF },          /* 1 */
		{ "elf.class", SI_E_ELF },          /* 2: ELF32 */
		{ "elf.data", SI_E_ELF },           /* 3: big-endian */
		{ "elf.version", SI_E_ELF },        /* 4 */
		{ "elf.type", SI_E_ELF },           /* 5: ET_EXEC */
		{ "elf.ehsize", SI_E_ELF },         /* 6 */
		{ "elf.shentsize", SI_E_ELF },      /* 7 */
		{ "elf.shnum", SI_E_ELF },          /* 8: 0 (extended numbering) */
		{ "elf.shnum", SI_E_ELF },          /* 9: 0xff00 */
		{ "elf.shstrndx", SI_E_ELF },       /* 10: == shnum */
		{ "elf.shstrndx", SI_E_ELF },       /* 11: 0 */
		{ "elf.shoff", SI_E_ELF },          /* 12: table past the end */
		{ "elf.shoff", SI_E_ELF },          /* 13: offset near 2^64 */
		{ "elf.shstrtab", SI_E_ELF },       /* 14: not STRTAB */
		{ "elf.shstrtab", SI_E_ELF },       /* 15: past the end */
		{ "elf.modinfo", SI_E_ELF },        /* 16: NOBITS */
		{ "elf.modinfo", SI_E_ELF },        /* 17: size past the end */
		{ "elf.modinfo", SI_E_ELF },        /* 18: offset wraps */
		{ "elf.modinfo.duplicate", SI_E_ELF }, /* 19 */
		{ "modinfo.section", SI_E_MODINFO }, /* 20: none */
		{ "modinfo.section", SI_E_MODINFO }, /* 21: name offset past .shstrtab */
		{ "modinfo.section", SI_E_MODINFO }, /* 22: ".modinfo" cut by the table's end */
		{ "elf.header", SI_E_ELF },         /* 23: empty */
	};
	size_t i, len;

	for (i = 0; i < SI_ARRAY_SIZE(cases); i++) {
		mk_elf(&e, MI(GOOD), 183);
		len = e.len;
		switch (i) {
		case 0: len = 63; break;
		case 1: e.b[1] = 'e'; break;
		case 2: e.b[4] = 1; break;
		case 3: e.b[5] = 2; break;
		case 4: si_put_le32(e.b + 20, 2); break;
		case 5: si_put_le16(e.b + 16, 2); break;
		case 6: si_put_le16(e.b + 52, 52); break;
		case 7: si_put_le16(e.b + 58, 40); break;
		case 8: si_put_le16(e.b + 60, 0); break;
		case 9: si_put_le16(e.b + 60, 0xff00); break;
		case 10: si_put_le16(e.b + 62, 4); break;
		case 11: si_put_le16(e.b + 62, 0); break;
		case 12: len -= 1; break;
		case 13: si_put_le64(e.b + 40, UINT64_MAX - 100); break;
		case 14: sh_put(&e, 2, SH_NAME_SHSTRTAB, 1, e.str_off, sizeof SHSTR); break;
		case 15: sh_put(&e, 2, SH_NAME_SHSTRTAB, 3, e.str_off, len); break;
		case 16: sh_put(&e, 1, SH_NAME_MODINFO, 8, e.mi_off, sizeof GOOD - 1); break;
		case 17: sh_put(&e, 1, SH_NAME_MODINFO, 1, e.mi_off, len); break;
		case 18: sh_put(&e, 1, SH_NAME_MODINFO, 1, UINT64_MAX - 4, 16); break;
		case 19: sh_put(&e, 3, SH_NAME_MODINFO, 1, e.mi_off, 0); break;
		case 20: sh_put(&e, 1, SH_NAME_TEXT, 1, e.mi_off, sizeof GOOD - 1); break;
		case 21: sh_put(&e, 1, 5000, 1, e.mi_off, sizeof GOOD - 1); break;
		case 22: sh_put(&e, 2, SH_NAME_SHSTRTAB, 3, e.str_off, SH_NAME_MODINFO + 8); break;
		case 23: len = 0; break;
		}
		si_diag_clear(&d);
		T_CHECK(kc_modinfo_parse(len ? e.b : NULL, len, &m, &d) == cases[i].err,
			"ELF case %zu: got %s", i, si_err_name(kc_modinfo_parse(len ? e.b : NULL, len, &m, NULL)));
		T_STREQ(d.field, cases[i].field);
	}
	/* Offsets point at the culprit. */
	mk_elf(&e, MI(GOOD), 183);
	sh_put(&e, 1, SH_NAME_MODINFO, 8, e.mi_off, 1);
	si_diag_clear(&d);
	T_ERR(kc_modinfo_parse(e.b, e.len, &m, &d), SI_E_ELF);
	T_EQ(d.offset, e.shoff + 64);
}

static void test_modinfo_content_errors(void)
{
	static struct elf e;
	struct kc_modinfo m;
	struct si_diag d;
	static const struct {
		const char *mi;
		size_t len;
		int err;
		const char *field;
		uint64_t off; /* within .modinfo */
	} cases[] = {
		{ MI("name=a\0depends=b"), SI_E_MODINFO, "modinfo.unterminated", 7 },
		{ MI("name=a\0noequals\0"), SI_E_MODINFO, "modinfo.entry", 7 },
		{ MI("=x\0name=a\0"), SI_E_MODINFO, "modinfo.entry", 0 },
		{ MI("name=a\0name=b\0"), SI_E_MODINFO, "modinfo.duplicate", 7 },
		{ MI("name=a\0depends=\0depends=\0"), SI_E_MODINFO, "modinfo.duplicate", 16 },
		{ MI("name=a\0vermagic=1\0vermagic=1\0"), SI_E_MODINFO, "modinfo.duplicate", 18 },
		{ MI("license=GPL\0depends=\0"), SI_E_MODINFO, "modinfo.name", 0 },
		{ MI("name=\0"), SI_E_MODINFO, "modinfo.name", 0 },
		{ MI("name=a/b\0"), SI_E_MODINFO, "modinfo.name", 0 },
		{ MI("name=a b\0"), SI_E_MODINFO, "modinfo.name", 0 },
		{ MI("name=a\0depends=b c\0"), SI_E_MODINFO, "modinfo.depends", 7 },
		{ MI("name=a\0vermagic=6.1\x01\0"), SI_E_MODINFO, "modinfo.vermagic", 7 },
		{ MI(""), SI_E_MODINFO, "modinfo.name", 0 },
		{ MI("\0\0\0\0"), SI_E_MODINFO, "modinfo.name", 0 },
	};
	size_t i;

	for (i = 0; i < SI_ARRAY_SIZE(cases); i++) {
		mk_elf(&e, cases[i].mi, cases[i].len, 183);
		si_diag_clear(&d);
		memset(&m, 0x5a, sizeof m);
		T_CHECK(kc_modinfo_parse(e.b, e.len, &m, &d) == cases[i].err, "modinfo case %zu", i);
		T_STREQ(d.field, cases[i].field);
		T_EQ(d.offset, e.mi_off + cases[i].off);
		T_EQ((unsigned char)m.name[0], 0x5a); /* untouched on failure */
	}
	/* An over-long depends= is a limit, not a truncation. */
	{
		static char mi[KC_DEPENDS_MAX + 32];
		size_t n = 0;

		memcpy(mi, "name=a", 7);
		n = 7;
		memcpy(mi + n, "depends=", 8);
		n += 8;
		memset(mi + n, 'b', KC_DEPENDS_MAX);
		n += KC_DEPENDS_MAX;
		mi[n++] = '\0';
		mk_elf(&e, mi, n, 183);
		si_diag_clear(&d);
		T_ERR(kc_modinfo_parse(e.b, e.len, &m, &d), SI_E_TOO_BIG);
		T_STREQ(d.field, "modinfo.depends");
		T_EQ(d.found, KC_DEPENDS_MAX);
	}
}

/* softdep= "pre:" names (as modprobe reads them) and alias= lookups. */
static void test_modinfo_softdep_alias(void)
{
	static struct elf e;
	struct kc_modinfo m;
	struct si_diag d;
	static const struct {
		const char *mi;
		size_t len;
		int err;
		const char *pre_or_field;
	} cases[] = {
		{ MI("name=libcrc32c\0softdep=pre: crc32c\0"), 0, "crc32c" },
		{ MI("name=a\0softdep=pre: b  c post: d\0softdep=post: e pre: crypto-f\0"), 0, "b,c,crypto-f" },
		{ MI("name=a\0softdep=post: d\0"), 0, "" },
		{ MI("name=a\0softdep=\0"), 0, "" },
		{ MI("name=a\0softdep=crc32c\0"), SI_E_MODINFO, "modinfo.softdep" },
		{ MI("name=a\0softdep=pre: a*b\0"), SI_E_MODINFO, "modinfo.softdep" },
		{ MI("name=a\0softdep=post: a,b\0"), SI_E_MODINFO, "modinfo.softdep" },
		{ MI("name=a\0softdep=pre:b\0"), SI_E_MODINFO, "modinfo.softdep" },
	};
	size_t i;

	for (i = 0; i < SI_ARRAY_SIZE(cases); i++) {
		mk_elf(&e, cases[i].mi, cases[i].len, 183);
		si_diag_clear(&d);
		T_CHECK(kc_modinfo_parse(e.b, e.len, &m, &d) == cases[i].err, "softdep case %zu", i);
		if (cases[i].err == 0)
			T_STREQ(m.pre, cases[i].pre_or_field);
		else
			T_STREQ(d.field, cases[i].pre_or_field);
	}
	/* Over-long pre: list, across two entries: a limit, not a truncation. */
	{
		static char mi[KC_DEPENDS_MAX + 64];
		size_t n = 0;

		memcpy(mi, "name=a\0softdep=pre: ", 20);
		n = 20;
		memset(mi + n, 'b', KC_DEPENDS_MAX / 2);
		n += KC_DEPENDS_MAX / 2;
		memcpy(mi + n, "\0softdep=pre: ", 14);
		n += 14;
		memset(mi + n, 'c', KC_DEPENDS_MAX / 2);
		n += KC_DEPENDS_MAX / 2;
		mi[n++] = '\0';
		mk_elf(&e, mi, n, 183);
		si_diag_clear(&d);
		T_ERR(kc_modinfo_parse(e.b, e.len, &m, &d), SI_E_TOO_BIG);
		T_STREQ(d.field, "modinfo.softdep");
	}

	mk_elf(&e, MI(GOOD), 183);
	T_EQ(kc_modinfo_has_alias(e.b, e.len, "dm-verity", NULL), 1);
	T_EQ(kc_modinfo_has_alias(e.b, e.len, "dm-verit", NULL), 0);
	T_EQ(kc_modinfo_has_alias(e.b, e.len, "dm-verity2", NULL), 0);
	T_EQ(kc_modinfo_has_alias(e.b, e.len, "dm_verity", NULL), 0); /* a name, not an alias */
	mk_elf(&e, MI("name=crc32c_generic\0alias=crypto-crc32c\0alias=crc32c\0"), 183);
	T_EQ(kc_modinfo_has_alias(e.b, e.len, "crc32c", NULL), 1);
	T_EQ(kc_modinfo_has_alias(e.b, e.len, "crypto-crc32c", NULL), 1);
	mk_elf(&e, MI("name=a\0alias=x"), 183);
	si_diag_clear(&d);
	T_ERR(kc_modinfo_has_alias(e.b, e.len, "y", &d), SI_E_MODINFO);
	T_STREQ(d.field, "modinfo.unterminated");
	e.b[0] = 0;
	T_ERR(kc_modinfo_has_alias(e.b, e.len, "x", NULL), SI_E_ELF);
	T_ERR(kc_modinfo_has_alias(e.b, e.len, NULL, NULL), SI_E_ARG);
}

/* ------------------------------------------------------------ order */

static struct kc_order_ctx ctx;

static void mod(struct kc_modinfo *m, const char *name, const char *dep)
{
	memset(m, 0, sizeof *m);
	strcpy(m->name, name);
	strcpy(m->depends, dep);
}

/* Names the order as "a b c" for one comparison. */
static void order_str(char *out, size_t n, const struct kc_modinfo *m,
		      const uint16_t *order, size_t cnt)
{
	size_t i, len = 0;

	out[0] = '\0';
	for (i = 0; i < cnt && len + KC_NAME_MAX + 2 < n; i++)
		len += (size_t)snprintf(out + len, n - len, "%s%s", i ? " " : "", m[order[i]].name);
}

static void test_order(void)
{
	/* The qemu-aarch64 boot collection, listed out of order; name= has
	 * underscores, depends= the dashes of the file names. */
	static struct kc_modinfo m[CONFIG_MAX_MODULES + 1];
	struct kc_edge crc = { "crc32c_generic", "libcrc32c" };
	uint16_t order[CONFIG_MAX_MODULES + 1];
	char got[1024];
	struct si_diag d;
	size_t i;

	mod(&m[0], "erofs", "libcrc32c");
	mod(&m[1], "overlay", "");
	mod(&m[2], "dm_verity", "dm-bufio,dm-mod,reed_solomon");
	mod(&m[3], "loop", "");
	mod(&m[4], "libcrc32c", "");
	mod(&m[5], "dm_bufio", "dm-mod");
	mod(&m[6], "dm_mod", "dax");
	mod(&m[7], "dax", "");
	mod(&m[8], "reed_solomon", "");
	mod(&m[9], "crc32c_generic", "");
	T_OK(kc_order(m, 10, &crc, 1, &ctx, order, NULL));
	order_str(got, sizeof got, m, order, 10);
	T_STREQ(got, "overlay loop dax dm_mod dm_bufio reed_solomon dm_verity crc32c_generic libcrc32c erofs");

	/* Without the extra edge, libcrc32c may go before crc32c_generic. */
	T_OK(kc_order(m, 10, NULL, 0, &ctx, order, NULL));
	order_str(got, sizeof got, m, order, 10);
	T_STREQ(got, "overlay loop libcrc32c erofs dax dm_mod dm_bufio reed_solomon dm_verity crc32c_generic");

	/* DESIGN.md's order is already right: it comes back unchanged. */
	mod(&m[0], "reed_solomon", "");
	mod(&m[1], "dax", "");
	mod(&m[2], "dm_mod", "dax");
	mod(&m[3], "dm_bufio", "dm-mod");
	mod(&m[4], "dm_verity", "dm-bufio,dm-mod,reed_solomon");
	mod(&m[5], "loop", "");
	mod(&m[6], "crc32c_generic", "");
	mod(&m[7], "libcrc32c", "");
	mod(&m[8], "erofs", "libcrc32c");
	mod(&m[9], "overlay", "");
	T_OK(kc_order(m, 10, &crc, 1, &ctx, order, NULL));
	for (i = 0; i < 10; i++)
		T_EQ(order[i], i);

	T_OK(kc_order(m, 0, NULL, 0, &ctx, order, NULL));

	/* Cycle: c waits on the cycle a <-> b; the error names a or b. */
	mod(&m[0], "c", "a");
	mod(&m[1], "a", "b");
	mod(&m[2], "b", "a");
	si_diag_clear(&d);
	order[0] = 777;
	T_ERR(kc_order(m, 3, NULL, 0, &ctx, order, &d), SI_E_MOD_CYCLE);
	T_CHECK(strcmp(d.found_s, "a") == 0 || strcmp(d.found_s, "b") == 0, "cycle names %s", d.found_s);
	T_EQ(order[0], 777); /* untouched on failure */
	mod(&m[0], "self", "self");
	si_diag_clear(&d);
	T_ERR(kc_order(m, 1, NULL, 0, &ctx, order, &d), SI_E_MOD_CYCLE);
	T_STREQ(d.found_s, "self");
	/* An extra edge against depends= makes a cycle too. */
	mod(&m[0], "libcrc32c", "");
	mod(&m[1], "crc32c_generic", "libcrc32c");
	si_diag_clear(&d);
	T_ERR(kc_order(m, 2, &crc, 1, &ctx, order, &d), SI_E_MOD_CYCLE);

	/* Missing dependency: names both. */
	mod(&m[0], "dm_verity", "dm-bufio");
	mod(&m[1], "loop", "");
	si_diag_clear(&d);
	T_ERR(kc_order(m, 2, NULL, 0, &ctx, order, &d), SI_E_MOD_MISSING);
	T_STREQ(d.expected_s, "dm-bufio");
	T_STREQ(d.found_s, "dm_verity");
	mod(&m[0], "libcrc32c", "");
	si_diag_clear(&d);
	T_ERR(kc_order(m, 2, &crc, 1, &ctx, order, &d), SI_E_MOD_MISSING);
	T_STREQ(d.expected_s, "crc32c_generic");
	T_STREQ(d.found_s, "libcrc32c");

	/* Duplicates ('-' and '_' are one name). */
	mod(&m[0], "dm_mod", "");
	mod(&m[1], "dm-mod", "");
	si_diag_clear(&d);
	T_ERR(kc_order(m, 2, NULL, 0, &ctx, order, &d), SI_E_MOD_DUP);
	T_STREQ(d.found_s, "dm-mod");

	/* Malformed depends lists. */
	{
		static const char *const bad[] = { ",a", "a,", "a,,b", "," };

		mod(&m[1], "a", "");
		mod(&m[2], "b", "");
		for (i = 0; i < SI_ARRAY_SIZE(bad); i++) {
			mod(&m[0], "x", bad[i]);
			T_ERR(kc_order(m, 3, NULL, 0, &ctx, order, NULL), SI_E_MODINFO);
		}
		mod(&m[0], "x", "a,b");
		T_OK(kc_order(m, 3, NULL, 0, &ctx, order, NULL));
		T_EQ(order[0], 1);
		T_EQ(order[1], 2);
		T_EQ(order[2], 0);
	}

	/* Limits. */
	for (i = 0; i <= CONFIG_MAX_MODULES; i++) {
		char name[16];

		snprintf(name, sizeof name, "m%zu", i);
		mod(&m[i], name, "");
	}
	T_OK(kc_order(m, CONFIG_MAX_MODULES, NULL, 0, &ctx, order, NULL));
	si_diag_clear(&d);
	T_ERR(kc_order(m, CONFIG_MAX_MODULES + 1, NULL, 0, &ctx, order, &d), SI_E_TOO_BIG);
	T_EQ(d.expected, CONFIG_MAX_MODULES);
	/* A chain m0 <- m1 <- ... reversed in the list: fully reordered. */
	for (i = 1; i < CONFIG_MAX_MODULES; i++)
		snprintf(m[i].depends, sizeof m[i].depends, "m%zu", i - 1);
	{
		static struct kc_modinfo rev[CONFIG_MAX_MODULES];

		for (i = 0; i < CONFIG_MAX_MODULES; i++)
			rev[i] = m[CONFIG_MAX_MODULES - 1 - i];
		T_OK(kc_order(rev, CONFIG_MAX_MODULES, NULL, 0, &ctx, order, NULL));
		for (i = 0; i < CONFIG_MAX_MODULES; i++)
			T_EQ(order[i], CONFIG_MAX_MODULES - 1 - i);
	}
}

static void test_names(void)
{
	T_EQ(kc_name_eq("dm_mod", "dm-mod"), 1);
	T_EQ(kc_name_eq("dm-mod", "dm_mod"), 1);
	T_EQ(kc_name_eq("dm_mod", "dm_mo"), 0);
	T_EQ(kc_name_eq("dm_mo", "dm_mod"), 0);
	T_EQ(kc_name_eq("", ""), 1);
}

static void test_release(void)
{
	struct kc_modinfo m;
	struct si_diag d;
	struct utsname u;
	char rel[KC_RELEASE_MAX], tiny[2];

	T_OK(kc_release_check("6.1.0-50-arm64", "6.1.0-50-arm64", NULL));
	si_diag_clear(&d);
	T_ERR(kc_release_check("6.1.0-50-arm64", "6.1.0-49-arm64", &d), SI_E_KC_RELEASE);
	T_STREQ(d.expected_s, "6.1.0-49-arm64");
	T_STREQ(d.found_s, "6.1.0-50-arm64");
	T_ERR(kc_release_check("", "", NULL), SI_E_KC_RELEASE);
	T_ERR(kc_release_check("6.1.0-50-arm64", "6.1.0-50-arm64+", NULL), SI_E_KC_RELEASE);

	mod(&m, "erofs", "");
	strcpy(m.vermagic, "6.1.0-50-arm64 SMP preempt mod_unload modversions aarch64");
	T_OK(kc_vermagic_check(&m, "6.1.0-50-arm64", NULL));
	si_diag_clear(&d);
	T_ERR(kc_vermagic_check(&m, "6.1.0-50", &d), SI_E_KC_RELEASE);
	T_STREQ(d.found_s, "6.1.0-50-arm64");
	T_STREQ(d.where, "erofs");
	T_ERR(kc_vermagic_check(&m, "6.1.0-50-arm64 SMP", NULL), SI_E_KC_RELEASE);
	m.vermagic[0] = '\0';
	T_ERR(kc_vermagic_check(&m, "", NULL), SI_E_KC_RELEASE);

	T_OK(kc_uname_release(rel, sizeof rel, NULL));
	T_EQ(uname(&u), 0);
	T_STREQ(rel, u.release);
	T_ERR(kc_uname_release(tiny, sizeof tiny, NULL), SI_E_TOO_BIG);
}

static void test_load_args(void)
{
	struct si_diag d;

	/* Only refusals that happen before any syscall reaches the kernel. */
	T_ERR(kc_module_load(NULL, 0, NULL, NULL), SI_E_ARG);
	si_diag_clear(&d);
	T_ERR(kc_module_load_file("/nonexistent-sealinit/x.ko", NULL, &d), SI_E_OPEN);
	T_EQ(d.sys_errno, ENOENT);
	T_STREQ(d.where, "/nonexistent-sealinit/x.ko");
}

int main(void)
{
	test_modinfo_good();
	test_modinfo_elf_errors();
	test_modinfo_content_errors();
	test_modinfo_softdep_alias();
	test_names();
	test_order();
	test_release();
	test_load_args();
	return t_done("test_kc");
}
