/* sealinit mount/: the dm-verity table line and the device-mapper ioctl
 * buffer.  Pure: builds bytes for the kernel, performs no I/O.
 *
 * Buffer layout for DM_TABLE_LOAD (include/uapi/linux/dm-ioctl.h,
 * drivers/md/dm-ioctl.c: populate_table / next_target):
 *
 *   0                        struct dm_ioctl  data_start = sizeof, data_size = whole
 *   data_start               struct dm_target_spec  next = bytes to the next spec
 *   data_start + sizeof spec params, NUL-terminated, padded to 8 bytes
 *
 * The kernel reads target_count specs starting at data_start, checks that
 * every params string ends before data_size, and takes `next` relative to
 * the current spec.
 */
#include <string.h>

#include "lib/str.h"
#include "mount/mount.h"
#include "verify/seal.h"

static int dm_fail(struct si_diag *d, int err, const char *field)
{
	si_diag_field(d, field);
	return err;
}

static int pow2_in(uint32_t v, uint32_t lo, uint32_t hi)
{
	return v >= lo && v <= hi && (v & (v - 1)) == 0;
}

/* A device argument: "/dev/..." or "MAJ:MIN"; printable, no spaces. */
static int dev_ok(const char *s, size_t cap)
{
	size_t i, n = strnlen(s, cap);

	if (n == 0 || n == cap)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return 0;
	return 1;
}

int dm_verity_sectors(const struct dm_verity_spec *s, uint64_t *sectors,
		      struct si_diag *d)
{
	uint64_t bytes;

	if (!s || !sectors)
		return SI_E_ARG;
	if (!pow2_in(s->data_block_size, 512, 65536))
		return dm_fail(d, SI_E_DM_PARAMS, "verity.data_block_size");
	if (s->data_blocks == 0 ||
	    si_mul_u64(s->data_blocks, s->data_block_size, &bytes) != 0)
		return dm_fail(d, SI_E_DM_PARAMS, "verity.data_blocks");
	*sectors = bytes / 512;
	return 0;
}

int dm_verity_params(const struct dm_verity_spec *s, char *out, size_t n,
		     struct si_diag *d)
{
	char root[2 * sizeof s->root_hash + 1];
	char salt[2 * DM_SALT_MAX + 1];
	const char *opt = "";
	uint64_t sectors, hash_bytes;
	struct si_buf b;
	int r;

	if (!s || !out || n == 0)
		return SI_E_ARG;
	r = dm_verity_sectors(s, &sectors, d);
	if (r)
		return r;
	if (!pow2_in(s->hash_block_size, 512, 65536))
		return dm_fail(d, SI_E_DM_PARAMS, "verity.hash_block_size");
	if (si_mul_u64(s->hash_start_block, s->hash_block_size, &hash_bytes) != 0)
		return dm_fail(d, SI_E_DM_PARAMS, "verity.hash_start_block");
	if (!dev_ok(s->data_dev, sizeof s->data_dev))
		return dm_fail(d, SI_E_DM_PARAMS, "verity.data_dev");
	if (!dev_ok(s->hash_dev, sizeof s->hash_dev))
		return dm_fail(d, SI_E_DM_PARAMS, "verity.hash_dev");
	if (s->salt_len > DM_SALT_MAX)
		return dm_fail(d, SI_E_DM_PARAMS, "verity.salt");
	if ((unsigned)s->on_error > DM_VERITY_PANIC)
		return dm_fail(d, SI_E_DM_PARAMS, "verity.on_error");
	switch (s->on_error) {
	case DM_VERITY_EIO:
		break;
	case DM_VERITY_RESTART:
		opt = " 1 restart_on_corruption";
		break;
	case DM_VERITY_PANIC:
		opt = " 1 panic_on_corruption";
		break;
	}

	si_hex(root, s->root_hash, sizeof s->root_hash);
	if (s->salt_len)
		si_hex(salt, s->salt, s->salt_len);
	else
		memcpy(salt, "-", 2);

	si_buf_init(&b, out, n);
	si_buf_printf(&b, "1 %s %s %u %u %llu %llu sha256 %s %s%s", s->data_dev,
		      s->hash_dev, (unsigned)s->data_block_size,
		      (unsigned)s->hash_block_size,
		      (unsigned long long)s->data_blocks,
		      (unsigned long long)s->hash_start_block, root, salt, opt);
	if (b.truncated)
		return dm_fail(d, SI_E_DM_BUF, "verity.params");
	return 0;
}

/* Device-mapper names and uuids: kept to a plain set, so nothing in the
 * name can surprise udev rules or /dev/mapper in the running OS. */
static int dm_name_ok(const char *s, size_t cap)
{
	size_t i, n = strnlen(s, cap);

	if (n == 0 || n == cap)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '+' || c == '-'))
			return 0;
	}
	return s[0] != '.';
}

int dm_ioc_init(struct dm_ioc *io, const char *name, const char *uuid,
		uint32_t flags, struct si_diag *d)
{
	struct dm_ioctl *h;

	if (!io || !name)
		return SI_E_ARG;
	if (!dm_name_ok(name, DM_NAME_LEN))
		return dm_fail(d, SI_E_DM_PARAMS, "dm.name");
	if (uuid && !dm_name_ok(uuid, DM_UUID_LEN))
		return dm_fail(d, SI_E_DM_PARAMS, "dm.uuid");
	memset(io, 0, sizeof *io);
	h = &io->u.hdr;
	/* 4.0.0: the kernel accepts any request whose minor is not newer
	 * than its own, and everything used here exists since 4.0. */
	h->version[0] = DM_VERSION_MAJOR;
	h->version[1] = 0;
	h->version[2] = 0;
	h->data_size = sizeof io->u.bytes;
	h->data_start = sizeof(struct dm_ioctl);
	h->flags = flags;
	memcpy(h->name, name, strlen(name) + 1);
	if (uuid)
		memcpy(h->uuid, uuid, strlen(uuid) + 1);
	return 0;
}

int dm_ioc_add_target(struct dm_ioc *io, uint64_t start, uint64_t sectors,
		      const char *type, const char *params, struct si_diag *d)
{
	struct dm_target_spec spec;
	size_t tlen, plen, off, need, room;

	if (!io || !type || !params)
		return SI_E_ARG;
	tlen = strnlen(type, DM_MAX_TYPE_NAME);
	if (tlen == 0 || tlen == DM_MAX_TYPE_NAME || !dm_name_ok(type, DM_MAX_TYPE_NAME))
		return dm_fail(d, SI_E_DM_PARAMS, "dm.target_type");
	if (sectors == 0)
		return dm_fail(d, SI_E_DM_PARAMS, "dm.target_length");
	/* Where the next spec goes: after the specs already added. */
	off = io->u.hdr.data_start;
	{
		uint32_t i;

		for (i = 0; i < io->u.hdr.target_count; i++) {
			struct dm_target_spec prev;

			memcpy(&prev, io->u.bytes + off, sizeof prev);
			off += prev.next;
		}
	}
	plen = strlen(params);
	need = (sizeof spec + plen + 1 + 7) & ~(size_t)7;
	room = sizeof io->u.bytes - off;
	if (off > sizeof io->u.bytes || need > room)
		return dm_fail(d, SI_E_DM_BUF, "dm.params");

	memset(&spec, 0, sizeof spec);
	spec.sector_start = start;
	spec.length = sectors;
	spec.next = (uint32_t)need;
	memcpy(spec.target_type, type, tlen);
	memcpy(io->u.bytes + off, &spec, sizeof spec);
	memcpy(io->u.bytes + off + sizeof spec, params, plen + 1);
	io->u.hdr.target_count++;
	return 0;
}

int dm_verity_spec_from_seal(const struct si_seal *seal, const char *data_dev,
			     const char *hash_dev, enum dm_verity_on_error on_error,
			     struct dm_verity_spec *out, struct si_diag *d)
{
	struct dm_verity_spec s;
	size_t dl, hl;

	if (!seal || !data_dev || !hash_dev || !out)
		return SI_E_ARG;
	memset(&s, 0, sizeof s);
	dl = strnlen(data_dev, sizeof s.data_dev);
	hl = strnlen(hash_dev, sizeof s.hash_dev);
	if (dl == sizeof s.data_dev)
		return dm_fail(d, SI_E_DM_PARAMS, "verity.data_dev");
	if (hl == sizeof s.hash_dev)
		return dm_fail(d, SI_E_DM_PARAMS, "verity.hash_dev");
	memcpy(s.data_dev, data_dev, dl);
	memcpy(s.hash_dev, hash_dev, hl);
	if (seal->m.hash_algo != SI_HASH_SHA256) {
		si_diag_values(d, SI_HASH_SHA256, (uint64_t)seal->m.hash_algo);
		return dm_fail(d, SI_E_DM_PARAMS, "verity.hash_algo");
	}
	if (seal->m.root_hash_len != sizeof s.root_hash) {
		si_diag_values(d, sizeof s.root_hash, seal->m.root_hash_len);
		return dm_fail(d, SI_E_DM_PARAMS, "verity.root_hash");
	}
	if (seal->m.salt_len > DM_SALT_MAX || seal->m.salt_len > sizeof seal->m.salt)
		return dm_fail(d, SI_E_DM_PARAMS, "verity.salt");
	if (seal->m.hash_block_size == 0 || seal->m.hash_offset % seal->m.hash_block_size != 0) {
		si_diag_values(d, seal->m.hash_block_size, seal->m.hash_offset);
		return dm_fail(d, SI_E_DM_PARAMS, "verity.hash_offset");
	}
	s.data_block_size = seal->m.data_block_size;
	s.hash_block_size = seal->m.hash_block_size;
	s.data_blocks = seal->m.data_blocks;
	s.hash_start_block = seal->m.hash_offset / seal->m.hash_block_size;
	memcpy(s.root_hash, seal->m.root_hash, sizeof s.root_hash);
	memcpy(s.salt, seal->m.salt, seal->m.salt_len);
	s.salt_len = seal->m.salt_len;
	s.on_error = on_error;
	*out = s;
	return 0;
}
