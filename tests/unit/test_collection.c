/* Unit tests for kc/collection.c: round trip, then one mutation per rule. */
#include <string.h>

#include "kc/collection.h"
#include "tests/unit/t.h"

static uint8_t arch[8192];
static size_t arch_len;

/* --dump DIR writes the valid archive: the fuzz seed (tests/fuzz/make-corpus). */
static void build(void)
{
	static const char *const names[] = { "dm-mod", "dm_bufio", "dm-verity" };
	static const uint64_t sizes[] = { 100, 13, 1000 };
	uint64_t offs[3];
	unsigned i;

	arch_len = kc_coll_size(sizes, 3);
	memset(arch, 0, sizeof arch);
	T_OK(kc_coll_write(arch, arch_len, "6.1.0-56-arm64", names, sizes, 3, offs, NULL));
	for (i = 0; i < 3; i++)
		memset(arch + offs[i], 0x40 + (int)i, sizes[i]);
}

static void test_roundtrip(void)
{
	struct kc_collection c;

	build();
	T_OK(kc_coll_parse(arch, arch_len, &c, NULL));
	T_EQ(c.count, 3);
	T_STREQ(c.release, "6.1.0-56-arm64");
	T_STREQ(c.mods[1].name, "dm_bufio");
	T_EQ(c.mods[1].size, 13);
	T_EQ(c.mods[0].offset % 8, 0);
	T_EQ(c.mods[2].offset % 8, 0);
	T_EQ(arch[c.mods[2].offset], 0x42);
	T_EQ(c.mods[2].offset + c.mods[2].size, arch_len);
	T_EQ(c.mods[0].offset, KC_COLL_HDR + 3 * KC_COLL_ENTRY);
	T_EQ(c.mods[1].offset, 488);
	T_EQ(c.mods[1].on_request, 0);
	/* "?name" in sealctl kc's list: flag bit 0 of the entry */
	kc_coll_mark(arch, arch_len, 1, KC_ENTRY_ON_REQUEST);
	T_OK(kc_coll_parse(arch, arch_len, &c, NULL));
	T_EQ(c.mods[0].on_request, 0);
	T_EQ(c.mods[1].on_request, 1);
	T_EQ(si_le32(arch + KC_COLL_HDR + KC_COLL_ENTRY + 72), KC_ENTRY_ON_REQUEST);
	/* the boot loader's image: entry 0 only, and only that flag */
	kc_coll_mark(arch, arch_len, 0, KC_ENTRY_BOOT_IMAGE);
	T_OK(kc_coll_parse(arch, arch_len, &c, NULL));
	T_EQ(c.mods[0].boot_image, 1);
	T_EQ(c.mods[1].boot_image, 0);
	kc_coll_mark(arch, arch_len, 0, KC_ENTRY_BOOT_IMAGE | KC_ENTRY_ON_REQUEST);
	T_ERR(kc_coll_parse(arch, arch_len, &c, NULL), SI_E_KC_FIELD);
	kc_coll_mark(arch, arch_len, 0, 0);
	kc_coll_mark(arch, arch_len, 2, KC_ENTRY_BOOT_IMAGE);
	T_ERR(kc_coll_parse(arch, arch_len, &c, NULL), SI_E_KC_FIELD);
}

static void test_rejections(void)
{
	struct kc_collection c;
	struct si_diag d;
	const size_t e0 = KC_COLL_HDR, e1 = KC_COLL_HDR + KC_COLL_ENTRY;
	static const struct {
		const char *what;
		size_t off;
		int width; /* 1, 4, 8 */
		uint64_t value;
		int err;
		const char *field;
	} cases[] = {
		{ "magic", 0, 1, 'X', SI_E_KC_MAGIC, "kc.magic" },
		{ "version 2", 8, 4, 2, SI_E_KC_VERSION, "kc.version" },
		{ "count 0", 12, 4, 0, SI_E_KC_FIELD, "kc.count" },
		{ "count huge", 12, 4, 0x7fffffff, SI_E_TOO_BIG, "kc.count" },
		{ "release length 0", 16, 4, 0, SI_E_KC_FIELD, "kc.release_len" },
		{ "release length 65", 16, 4, 65, SI_E_KC_FIELD, "kc.release_len" },
		{ "release longer than said", 16, 4, 5, SI_E_KC_FIELD, "kc.release" },
		{ "release with a slash", 33, 1, '/', SI_E_KC_FIELD, "kc.release" },
		{ "flags", 20, 4, 1, SI_E_KC_FIELD, "kc.flags" },
		{ "size larger than buffer", 24, 8, 1u << 20, SI_E_KC_TRUNC, "kc.size" },
		{ "size smaller than buffer", 24, 8, 200, SI_E_KC_BOUNDS, "kc.size" },
		{ "name empty", e0, 1, 0, SI_E_KC_FIELD, "kc.module.name" },
		{ "name with a dot", e0 + 2, 1, '.', SI_E_KC_FIELD, "kc.module.name" },
		{ "bytes after the name's NUL", e0 + 30, 1, 'x', SI_E_KC_FIELD, "kc.module.name" },
		{ "reserved", e0 + 80, 1, 1, SI_E_KC_FIELD, "kc.module.reserved" },
		{ "unknown entry flag", e0 + 72, 4, 4, SI_E_KC_FIELD, "kc.module.flags" },
		{ "reserved after the flags", e0 + 76, 1, 1, SI_E_KC_FIELD, "kc.module.reserved" },
		{ "size 0", e0 + 64, 8, 0, SI_E_KC_FIELD, "kc.module.size" },
		{ "unaligned offset", e0 + 56, 8, 389, SI_E_KC_FIELD, "kc.module.offset" },
		{ "offset inside the table", e0 + 56, 8, 8, SI_E_KC_BOUNDS, "kc.module.offset" },
		{ "size past the end", e1 + 64, 8, UINT64_MAX - 4, SI_E_KC_BOUNDS, "kc.module.size" },
		{ "overlap with the previous", e1 + 56, 8, KC_COLL_HDR + 3 * KC_COLL_ENTRY + 8, SI_E_KC_BOUNDS, "kc.module.offset" },
		{ "same name twice", e1 + 2, 1, '-', SI_E_KC_DUP, "kc.module.name" },
		/* module 0 is 100 bytes at 384: module 1 belongs at 488 exactly,
		 * and 484..487 are zero padding */
		{ "aligned gap before a module", e1 + 56, 8, 496, SI_E_KC_FIELD, "kc.module.offset" },
		{ "non-zero padding", 485, 1, 7, SI_E_KC_FIELD, "kc.padding" },
	};
	size_t i;

	for (i = 0; i < SI_ARRAY_SIZE(cases); i++) {
		int r;

		build();
		if (cases[i].width == 1)
			arch[cases[i].off] = (uint8_t)cases[i].value;
		else if (cases[i].width == 4)
			si_put_le32(arch + cases[i].off, (uint32_t)cases[i].value);
		else
			si_put_le64(arch + cases[i].off, cases[i].value);
		if (!strcmp(cases[i].what, "same name twice"))
			memcpy(arch + e1, "dm-mod\0\0", 8);
		r = kc_coll_parse(arch, arch_len, &c, &d);
		T_CHECK(r == cases[i].err, "%s: got %s want %s", cases[i].what, si_err_name(r),
			si_err_name(cases[i].err));
		T_CHECK(d.field && !strcmp(d.field, cases[i].field), "%s: field %s want %s",
			cases[i].what, d.field ? d.field : "(none)", cases[i].field);
		/* the header's release alone: the same verdict on magic, version
		 * and release; nothing else of the archive is its business */
		{
			char rel[KC_COLL_RELEASE_MAX + 1];
			int head = !strcmp(cases[i].field, "kc.magic") ||
				   !strcmp(cases[i].field, "kc.version") ||
				   !strncmp(cases[i].field, "kc.release", 10);

			r = kc_coll_release(arch, KC_COLL_HDR, rel, &d);
			if (head)
				T_CHECK(r == cases[i].err && d.field && !strcmp(d.field, cases[i].field),
					"%s: release: got %s (%s)", cases[i].what, si_err_name(r),
					d.field ? d.field : "(none)");
			else
				T_CHECK(r == 0 && !strcmp(rel, "6.1.0-56-arm64"),
					"%s: release: got %s", cases[i].what, si_err_name(r));
		}
	}
	build();
	{
		char rel[KC_COLL_RELEASE_MAX + 1];

		T_OK(kc_coll_release(arch, KC_COLL_HDR, rel, &d));
		T_CHECK(!strcmp(rel, "6.1.0-56-arm64"), "release %s", rel);
		T_ERR(kc_coll_release(arch, KC_COLL_HDR - 1, rel, &d), SI_E_KC_TRUNC);
	}
	T_ERR(kc_coll_parse(arch, 50, &c, &d), SI_E_KC_TRUNC);
	T_ERR(kc_coll_parse(arch, arch_len - 1, &c, &d), SI_E_KC_TRUNC);
	T_ERR(kc_coll_parse(arch, arch_len + 8, &c, &d), SI_E_KC_BOUNDS);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--dump")) {
		char path[512];
		FILE *f;

		build();
		snprintf(path, sizeof path, "%s/valid.kc", argv[2]);
		f = fopen(path, "wb");
		if (!f)
			return 1;
		fwrite(arch, 1, arch_len, f);
		fclose(f);
		return 0;
	}
	test_roundtrip();
	test_rejections();
	return t_done("test_collection");
}
