/* sealinit mount/: /sys/class/block/<dev>/uevent.  Pure.
 *
 * The kernel writes one "KEY=VALUE\n" line per variable
 * (drivers/base/core.c uevent_show, block/genhd.c part_uevent):
 *
 *   MAJOR=259\n MINOR=1\n DEVNAME=nvme0n1p1\n DEVTYPE=partition\n
 *   DISKSEQ=9\n PARTN=1\n PARTNAME=system\n
 *
 * PARTNAME is the GPT partition name as the kernel copied it (7-bit,
 * non-printables already replaced).  The file is sysfs text, but the
 * partition name is on the disk: an attacker who can write the disk chooses
 * it, so everything is validated before use.
 */
#include <string.h>

#include "lib/str.h"
#include "mount/mount.h"

enum { UE_MAJOR = 1u << 0, UE_MINOR = 1u << 1, UE_DEVNAME = 1u << 2,
       UE_DEVTYPE = 1u << 3, UE_PARTNAME = 1u << 4 };

#define UE_VALUE_MAX 256

static int ue_key_char(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int ue_devname_ok(const uint8_t *v, size_t n)
{
	size_t i;

	if (n == 0 || v[0] == '/' || v[n - 1] == '/')
		return 0;
	for (i = 0; i < n; i++) {
		uint8_t c = v[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-' || c == '+' || c == '/'))
			return 0;
		if (c == '/' && v[i + 1] == '/')
			return 0;
		/* "." and ".." components */
		if (c == '.' && (i == 0 || v[i - 1] == '/')) {
			size_t k = i + 1;

			if (k < n && v[k] == '.')
				k++;
			if (k == n || v[k] == '/')
				return 0;
		}
	}
	return 1;
}

int uevent_parse(const uint8_t *buf, size_t len, struct uevent *out,
		 struct si_diag *d)
{
	struct uevent u;
	unsigned seen = 0;
	size_t pos = 0;

	if ((!buf && len) || !out)
		return SI_E_ARG;
	if (len > UEVENT_MAX) {
		si_diag_values(d, UEVENT_MAX, len);
		return si_diag_at(d, SI_E_TOO_BIG, "uevent", 0);
	}
	memset(&u, 0, sizeof u);
	while (pos < len) {
		const uint8_t *line = buf + pos, *eq, *nl, *v;
		size_t rest = len - pos, klen, vlen, i;
		unsigned bit = 0;
		uint64_t num;

		nl = memchr(line, '\n', rest);
		if (!nl)
			return si_diag_at(d, SI_E_UEVENT, "uevent.newline", pos);
		eq = memchr(line, '=', (size_t)(nl - line));
		if (!eq || eq == line)
			return si_diag_at(d, SI_E_UEVENT, "uevent.key", pos);
		klen = (size_t)(eq - line);
		for (i = 0; i < klen; i++)
			if (!ue_key_char(line[i]))
				return si_diag_at(d, SI_E_UEVENT, "uevent.key", pos);
		v = eq + 1;
		vlen = (size_t)(nl - v);
		if (vlen > UE_VALUE_MAX)
			return si_diag_at(d, SI_E_TOO_BIG, "uevent.value", pos);
		for (i = 0; i < vlen; i++)
			if (v[i] < ' ' || v[i] > '~')
				return si_diag_at(d, SI_E_UEVENT, "uevent.value", pos);

#define KEY(s) (klen == sizeof(s) - 1 && memcmp(line, s, klen) == 0)
		if (KEY("MAJOR")) {
			bit = UE_MAJOR;
			if (si_parse_u64((const char *)v, vlen, 0, 4095, &num) != 0)
				return si_diag_at(d, SI_E_UEVENT, "uevent.MAJOR", pos);
			u.major = (unsigned)num;
		} else if (KEY("MINOR")) {
			bit = UE_MINOR;
			if (si_parse_u64((const char *)v, vlen, 0, (1u << 20) - 1, &num) != 0)
				return si_diag_at(d, SI_E_UEVENT, "uevent.MINOR", pos);
			u.minor = (unsigned)num;
		} else if (KEY("DEVNAME")) {
			bit = UE_DEVNAME;
			if (vlen >= sizeof u.devname)
				return si_diag_at(d, SI_E_TOO_BIG, "uevent.DEVNAME", pos);
			if (!ue_devname_ok(v, vlen))
				return si_diag_at(d, SI_E_UEVENT, "uevent.DEVNAME", pos);
			memcpy(u.devname, v, vlen);
		} else if (KEY("DEVTYPE")) {
			bit = UE_DEVTYPE;
			u.is_partition = vlen == 9 && memcmp(v, "partition", 9) == 0;
		} else if (KEY("PARTNAME")) {
			bit = UE_PARTNAME;
			if (vlen >= sizeof u.partname)
				return si_diag_at(d, SI_E_TOO_BIG, "uevent.PARTNAME", pos);
			memcpy(u.partname, v, vlen);
			u.has_partname = 1;
		}
#undef KEY
		if (seen & bit)
			return si_diag_at(d, SI_E_UEVENT, "uevent.duplicate", pos);
		seen |= bit;
		pos += (size_t)(nl - line) + 1;
	}
	u.has_dev = (seen & (UE_MAJOR | UE_MINOR | UE_DEVNAME)) ==
		    (UE_MAJOR | UE_MINOR | UE_DEVNAME);
	*out = u;
	return 0;
}

int part_table_find(const struct part_table *t, const char *label,
		    size_t *index, struct si_diag *d)
{
	size_t i, found = 0, at = 0;

	if (!t || !label || !index || t->n > PART_MAX)
		return SI_E_ARG;
	si_diag_where(d, label, strlen(label));
	for (i = 0; i < t->n; i++) {
		const struct uevent *p = &t->p[i];

		if (!p->is_partition || !p->has_partname || !p->has_dev ||
		    strcmp(p->partname, label) != 0)
			continue;
		if (found) {
			si_diag_field(d, "PARTNAME");
			si_diag_text(d, t->p[at].devname, p->devname);
			return SI_E_PART_DUP;
		}
		found = 1;
		at = i;
	}
	if (!found) {
		si_diag_field(d, "PARTNAME");
		return SI_E_PART_NOTFOUND;
	}
	*index = at;
	return 0;
}

size_t part_table_hint(const struct part_table *t, char *out, size_t n)
{
	char name[4 * PART_NAME_MAX + 4];
	struct si_buf b;
	const char *sep = "";
	size_t i;

	if (!out || n == 0)
		return 0;
	si_buf_init(&b, out, n);
	for (i = 0; t && i < t->n && i < PART_MAX; i++) {
		const struct uevent *p = &t->p[i];

		if (!p->is_partition || !p->has_dev)
			continue;
		si_buf_printf(&b, "%s%s", sep, p->devname);
		if (p->has_partname) {
			si_escape(name, sizeof name, p->partname, strlen(p->partname));
			si_buf_printf(&b, " \"%s\"", name);
		}
		si_buf_printf(&b, " (%u:%u)", p->major, p->minor);
		sep = ", ";
	}
	if (!*sep)
		si_buf_puts(&b, "none");
	if (b.truncated && n >= 4)
		memcpy(out + n - 4, "...", 4);
	return strlen(out);
}
