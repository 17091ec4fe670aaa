/* sealinit mount/: GUID partition tables read from a disk image, for
 * `sealctl doctor` (PID 1 asks the kernel instead: part.c).  Pure: bytes
 * in through an si_io, a validated table out.
 *
 * Layout (UEFI 2.10, 5.3), little-endian, sector size 512 (or 4096):
 *
 *   LBA 1: header
 *     0   8  signature "EFI PART"
 *     8   4  revision
 *     12  4  header size, 92..sector size
 *     16  4  CRC32 of the header (this field taken as 0)
 *     20  4  reserved, 0
 *     24  8  this header's LBA (1)
 *     32  8  the backup header's LBA
 *     40  8  first usable LBA
 *     48  8  last usable LBA
 *     56  16 disk GUID
 *     72  8  LBA of the entry array
 *     80  4  number of entries
 *     84  4  size of an entry: 128 * 2^n
 *     88  4  CRC32 of the entry array
 *   entry:
 *     0   16 type GUID (all zero: unused)
 *     16  16 unique GUID
 *     32  8  first LBA
 *     40  8  last LBA (inclusive)
 *     48  8  attributes
 *     56  72 name, UTF-16LE, 36 units
 *
 * Labels are made the way the kernel makes PARTNAME (block/partitions/
 * efi.c, utf16_le_to_7bit): each unit's low 7 bits, anything unprintable
 * as '!', so a label matches what sealinit sees at boot.
 */
#include <string.h>

#include "lib/str.h"
#include "mount/mount.h"
#include "verify/seal.h"

#define GPT_HDR_MIN 92

static uint32_t crc32_update(uint32_t c, const uint8_t *p, size_t n)
{
	size_t i;
	int k;

	c = ~c;
	for (i = 0; i < n; i++) {
		c ^= p[i];
		for (k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
	}
	return ~c;
}

static int gpt_at(const struct si_io *io, unsigned sector, uint8_t *hdr, struct si_diag *d)
{
	int r;

	if (io->size < 2 * (uint64_t)sector)
		return si_diag_want(d, SI_E_GPT, "gpt.header", 2 * (uint64_t)sector, io->size);
	r = io->read_at(io->ctx, sector, hdr, sector);
	if (r)
		return si_diag_at(d, r, "gpt.header", sector);
	if (memcmp(hdr, "EFI PART", 8) != 0)
		return si_diag_at(d, SI_E_GPT, "gpt.signature", sector);
	return 0;
}

int gpt_read(const struct si_io *io, struct gpt_table *out, struct si_diag *d)
{
	/* Static: a 4 KiB header and a 16 KiB slice of entries; one caller. */
	static uint8_t hdr[4096], ent[16384];
	struct gpt_table t;
	unsigned sector = 512;
	uint64_t sectors, first, last, entries_lba, total;
	uint32_t hsize, hcrc, nent, esize, ecrc, crc = 0;
	uint64_t done;
	unsigned i;
	int r;

	if (!io || !io->read_at || !out)
		return SI_E_ARG;
	si_diag_clear(d);
	r = gpt_at(io, 512, hdr, d);
	if (r == SI_E_GPT && io->size >= 2 * 4096) {
		si_diag_clear(d);
		sector = 4096;
		r = gpt_at(io, 4096, hdr, d);
	}
	if (r)
		return r;
	sectors = io->size / sector;
	hsize = si_le32(hdr + 12);
	if (hsize < GPT_HDR_MIN || hsize > sector)
		return si_diag_want(d, SI_E_GPT, "gpt.header_size", GPT_HDR_MIN, hsize);
	hcrc = si_le32(hdr + 16);
	si_put_le32(hdr + 16, 0);
	if (crc32_update(0, hdr, hsize) != hcrc)
		return si_diag_want(d, SI_E_GPT, "gpt.header_crc32", crc32_update(0, hdr, hsize), hcrc);
	if (si_le64(hdr + 24) != 1)
		return si_diag_want(d, SI_E_GPT, "gpt.my_lba", 1, si_le64(hdr + 24));
	first = si_le64(hdr + 40);
	last = si_le64(hdr + 48);
	entries_lba = si_le64(hdr + 72);
	nent = si_le32(hdr + 80);
	esize = si_le32(hdr + 84);
	ecrc = si_le32(hdr + 88);
	if (first > last || last >= sectors)
		return si_diag_want(d, SI_E_GPT, "gpt.last_usable_lba", sectors - 1, last);
	if (esize < 128 || esize > sizeof ent || (esize & (esize - 1)))
		return si_diag_want(d, SI_E_GPT, "gpt.entry_size", 128, esize);
	if (nent == 0 || nent > GPT_MAX_ENTRIES)
		return si_diag_want(d, SI_E_GPT, "gpt.entries", GPT_MAX_ENTRIES, nent);
	total = (uint64_t)nent * esize; /* <= 1024 * 16 KiB: no overflow */
	if (entries_lba < 2 || entries_lba >= sectors ||
	    !si_span_ok(entries_lba * sector, total, io->size))
		return si_diag_want(d, SI_E_GPT, "gpt.entries_lba", 2, entries_lba);
	/* The CRC over the whole array first: nothing in it is used before. */
	for (done = 0; done < total;) {
		size_t n = total - done < sizeof ent ? (size_t)(total - done) : sizeof ent;

		r = io->read_at(io->ctx, entries_lba * sector + done, ent, n);
		if (r)
			return si_diag_at(d, r, "gpt.entries", entries_lba * sector + done);
		crc = done ? crc32_update(crc, ent, n) : crc32_update(0, ent, n);
		done += n;
	}
	if (crc != ecrc)
		return si_diag_want(d, SI_E_GPT, "gpt.entries_crc32", crc, ecrc);
	/* ---- The table is intact from here on. ---- */
	memset(&t, 0, sizeof t);
	t.sector = sector;
	for (i = 0; i < nent; i++) {
		static const uint8_t zero[16];
		uint64_t off = entries_lba * sector + (uint64_t)i * esize;
		struct gpt_part *p;
		unsigned k;

		r = io->read_at(io->ctx, off, ent, 128);
		if (r)
			return si_diag_at(d, r, "gpt.entry", off);
		if (!memcmp(ent, zero, 16))
			continue;
		if (t.n == GPT_MAX_PARTS)
			return si_diag_want(d, SI_E_TOO_BIG, "gpt.partitions", GPT_MAX_PARTS, t.n + 1);
		p = &t.p[t.n];
		p->index = i + 1;
		p->first_lba = si_le64(ent + 32);
		p->last_lba = si_le64(ent + 40);
		if (p->first_lba < first || p->last_lba > last || p->first_lba > p->last_lba)
			return si_diag_at(d, SI_E_GPT, "gpt.entry.lba", off + 32);
		for (k = 0; k < 36; k++) {
			uint8_t c = (uint8_t)(si_le16(ent + 56 + 2 * k) & 0x7f);

			if (c && (c < 0x20 || c > 0x7e))
				c = '!';
			p->label[k] = (char)c;
		}
		p->label[36] = '\0';
		t.n++;
	}
	*out = t;
	return 0;
}

int gpt_find(const struct gpt_table *t, const char *label, const struct gpt_part **out,
	     struct si_diag *d)
{
	const struct gpt_part *found = NULL;
	unsigned i;

	si_diag_where(d, label, strlen(label));
	for (i = 0; i < t->n; i++) {
		if (strcmp(t->p[i].label, label) != 0)
			continue;
		if (found) {
			si_diag_field(d, "PARTNAME");
			return SI_E_PART_DUP;
		}
		found = &t->p[i];
	}
	if (!found) {
		si_diag_field(d, "PARTNAME");
		return SI_E_PART_NOTFOUND;
	}
	*out = found;
	return 0;
}
