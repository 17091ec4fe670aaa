/* sealinit: the kernel-collection archive (layout in kc/collection.h). */
#include <string.h>

#include "kc/collection.h"

static int name_ok(const uint8_t *p, size_t field, size_t *len)
{
	size_t i, n = 0;

	while (n < field && p[n] != '\0')
		n++;
	if (n == 0 || n >= field)
		return 0;
	for (i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	for (i = n; i < field; i++) /* NUL padding, nothing hidden after it */
		if (p[i] != '\0')
			return 0;
	*len = n;
	return 1;
}

/* The header's release (buf holds KC_COLL_HDR bytes): rlen bytes of
 * [A-Za-z0-9._+-], then NUL padding to 64, into out[65]. */
static int release(const uint8_t *buf, char *out, struct si_diag *d)
{
	uint32_t rlen = si_le32(buf + 16);
	unsigned i;

	if (rlen == 0 || rlen > KC_COLL_RELEASE_MAX) {
		si_diag_values(d, KC_COLL_RELEASE_MAX, rlen);
		return si_diag_at(d, SI_E_KC_FIELD, "kc.release_len", 16);
	}
	for (i = 0; i < KC_COLL_RELEASE_MAX; i++) {
		uint8_t ch = buf[32 + i];
		int ok = i < rlen ? ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
				     (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
				     ch == '-' || ch == '+') : ch == '\0';
		if (!ok)
			return si_diag_at(d, SI_E_KC_FIELD, "kc.release", 32 + i);
	}
	memcpy(out, buf + 32, rlen);
	out[rlen] = '\0';
	return 0;
}

/* The magic and version every archive starts with. */
static int magic_version(const uint8_t *buf, size_t len, struct si_diag *d)
{
	uint32_t version;

	if (len < KC_COLL_HDR) {
		si_diag_values(d, KC_COLL_HDR, len);
		return SI_E_KC_TRUNC;
	}
	if (memcmp(buf, KC_COLL_MAGIC, 8) != 0) {
		si_diag_bytes(d, (const uint8_t *)KC_COLL_MAGIC, buf, 8);
		return si_diag_at(d, SI_E_KC_MAGIC, "kc.magic", 0);
	}
	version = si_le32(buf + 8);
	if (version != KC_COLL_VERSION) {
		si_diag_values(d, KC_COLL_VERSION, version);
		return si_diag_at(d, SI_E_KC_VERSION, "kc.version", 8);
	}
	return 0;
}

int kc_coll_release(const uint8_t *buf, size_t len, char *out, struct si_diag *d)
{
	int r;

	si_diag_clear(d);
	r = magic_version(buf, len, d);
	return r ? r : release(buf, out, d);
}

int kc_coll_parse(const uint8_t *buf, size_t len, struct kc_collection *out,
		  struct si_diag *d)
{
	struct kc_collection c;
	uint64_t size, table_end, prev_end, want, pad;
	uint32_t count, flags, fl;
	size_t n;
	unsigned i, j;
	int r;

	si_diag_clear(d);
	r = magic_version(buf, len, d);
	if (r)
		return r;
	count = si_le32(buf + 12);
	flags = si_le32(buf + 20);
	size = si_le64(buf + 24);
	if (count == 0) {
		si_diag_values(d, 1, 0);
		return si_diag_at(d, SI_E_KC_FIELD, "kc.count", 12);
	}
	if (count > CONFIG_MAX_MODULES) {
		si_diag_values(d, CONFIG_MAX_MODULES, count);
		return si_diag_at(d, SI_E_TOO_BIG, "kc.count", 12);
	}
	if (flags != 0) {
		si_diag_values(d, 0, flags);
		return si_diag_at(d, SI_E_KC_FIELD, "kc.flags", 20);
	}
	if (size != len) {
		si_diag_values(d, len, size);
		return si_diag_at(d, size > len ? SI_E_KC_TRUNC : SI_E_KC_BOUNDS, "kc.size", 24);
	}
	memset(&c, 0, sizeof c);
	r = release(buf, c.release, d);
	if (r)
		return r;

	/* count <= CONFIG_MAX_MODULES keeps this product small. */
	table_end = KC_COLL_HDR + (uint64_t)count * KC_COLL_ENTRY;
	if (table_end > len) {
		si_diag_values(d, table_end, len);
		return si_diag_at(d, SI_E_KC_TRUNC, "kc.table", KC_COLL_HDR);
	}
	prev_end = table_end;
	for (i = 0; i < count; i++) {
		const uint8_t *e = buf + KC_COLL_HDR + (size_t)i * KC_COLL_ENTRY;
		uint64_t eoff = KC_COLL_HDR + (uint64_t)i * KC_COLL_ENTRY;
		uint64_t off = si_le64(e + 56), sz = si_le64(e + 64);

		if (!name_ok(e, 56, &n))
			return si_diag_at(d, SI_E_KC_FIELD, "kc.module.name", eoff);
		fl = si_le32(e + 72);
		/* the boot loader's image: only entry 0, never also on request */
		if ((fl & ~(uint32_t)(KC_ENTRY_ON_REQUEST | KC_ENTRY_BOOT_IMAGE)) ||
		    ((fl & KC_ENTRY_BOOT_IMAGE) && (i != 0 || fl != KC_ENTRY_BOOT_IMAGE)))
			return si_diag_at(d, SI_E_KC_FIELD, "kc.module.flags", eoff + 72);
		for (j = 76; j < KC_COLL_ENTRY; j++)
			if (e[j] != 0)
				return si_diag_at(d, SI_E_KC_FIELD, "kc.module.reserved", eoff + j);
		if (sz == 0)
			return si_diag_at(d, SI_E_KC_FIELD, "kc.module.size", eoff + 64);
		/* Exactly where the writer puts it: the previous module's end
		 * (the table's, for the first) rounded up to 8 bytes.  A gap
		 * would be bytes the seal covers but nothing checks or uses:
		 * room to smuggle data past every later reader. */
		want = (prev_end + 7) & ~(uint64_t)7;
		if (off != want) {
			si_diag_values(d, want, off);
			return si_diag_at(d, off < prev_end ? SI_E_KC_BOUNDS : SI_E_KC_FIELD,
					 "kc.module.offset", eoff + 56);
		}
		if (!si_span_ok(off, 0, len)) {
			si_diag_values(d, len, off);
			return si_diag_at(d, SI_E_KC_BOUNDS, "kc.module.offset", eoff + 56);
		}
		for (pad = prev_end; pad < off; pad++)
			if (buf[pad] != 0) {
				si_diag_values(d, 0, buf[pad]);
				return si_diag_at(d, SI_E_KC_FIELD, "kc.padding", pad);
			}
		if (!si_span_ok(off, sz, len)) {
			si_diag_values(d, len, off);
			return si_diag_at(d, SI_E_KC_BOUNDS, "kc.module.size", eoff + 64);
		}
		prev_end = off + sz;
		memcpy(c.mods[i].name, e, n);
		c.mods[i].on_request = (fl & KC_ENTRY_ON_REQUEST) != 0;
		c.mods[i].boot_image = (fl & KC_ENTRY_BOOT_IMAGE) != 0;
		c.mods[i].name[n] = '\0';
		c.mods[i].offset = off;
		c.mods[i].size = sz;
		for (j = 0; j < i; j++)
			if (!strcmp(c.mods[j].name, c.mods[i].name)) {
				si_diag_text(d, "each module once", c.mods[i].name);
				return si_diag_at(d, SI_E_KC_DUP, "kc.module.name", eoff);
			}
	}
	if (prev_end != len) {
		si_diag_values(d, prev_end, len);
		return si_diag_at(d, SI_E_KC_BOUNDS, "kc.size", 24);
	}
	/* Validation ends here. */
	c.count = count;
	c.size = size;
	*out = c;
	return 0;
}

uint64_t kc_coll_size(const uint64_t *sizes, unsigned count)
{
	uint64_t off = KC_COLL_HDR + (uint64_t)count * KC_COLL_ENTRY;
	unsigned i;

	for (i = 0; i < count; i++) {
		off = (off + 7) & ~(uint64_t)7;
		off += sizes[i];
	}
	return off;
}

int kc_coll_write(uint8_t *buf, size_t len, const char *release,
		  const char *const *names, const uint64_t *sizes,
		  unsigned count, uint64_t *offsets, struct si_diag *d)
{
	uint64_t off = KC_COLL_HDR + (uint64_t)count * KC_COLL_ENTRY;
	size_t rlen = strlen(release), n;
	unsigned i;

	if (count == 0 || count > CONFIG_MAX_MODULES || kc_coll_size(sizes, count) != len)
		return SI_E_ARG;
	if (rlen == 0 || rlen > KC_COLL_RELEASE_MAX) {
		si_diag_values(d, KC_COLL_RELEASE_MAX, rlen);
		return si_diag_at(d, SI_E_KC_FIELD, "kc.release", 32);
	}
	memcpy(buf, KC_COLL_MAGIC, 8);
	si_put_le32(buf + 8, KC_COLL_VERSION);
	si_put_le32(buf + 12, count);
	si_put_le32(buf + 16, (uint32_t)rlen);
	si_put_le32(buf + 20, 0);
	si_put_le64(buf + 24, len);
	memcpy(buf + 32, release, rlen);
	for (i = 0; i < count; i++) {
		uint8_t *e = buf + KC_COLL_HDR + (size_t)i * KC_COLL_ENTRY;

		n = strlen(names[i]);
		if (n == 0 || n > KC_COLL_NAME_MAX) {
			si_diag_text(d, "1..55 bytes", names[i]);
			return si_diag_at(d, SI_E_KC_FIELD, "kc.module.name", 0);
		}
		memcpy(e, names[i], n);
		off = (off + 7) & ~(uint64_t)7;
		si_put_le64(e + 56, off);
		si_put_le64(e + 64, sizes[i]);
		offsets[i] = off;
		off += sizes[i];
	}
	return 0;
}

void kc_coll_mark(uint8_t *buf, size_t len, unsigned i, uint32_t flags)
{
	size_t at = KC_COLL_HDR + (size_t)i * KC_COLL_ENTRY + 72;

	if (at + 4 <= len)
		si_put_le32(buf + at, flags);
}
