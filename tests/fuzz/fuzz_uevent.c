/* libFuzzer target: the sysfs uevent parser (mount/uevent.c).  Checks the
 * invariants the partition lookup relies on: terminated, bounded names, a
 * DEVNAME that cannot leave /dev, numbers in range. */
#include <stdint.h>
#include <string.h>

#include "mount/mount.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uevent u;
	struct part_table *t;
	static struct part_table tab;
	size_t i;

	if (uevent_parse(data, size, &u, NULL) != 0)
		return 0;
	if (strnlen(u.devname, sizeof u.devname) == sizeof u.devname ||
	    strnlen(u.partname, sizeof u.partname) == sizeof u.partname)
		__builtin_trap();
	if (u.major > 4095 || u.minor >= (1u << 20))
		__builtin_trap();
	if (u.devname[0] == '/' || strstr(u.devname, "//"))
		__builtin_trap();
	{
		/* No "." or ".." component. */
		const char *c = u.devname;

		while (*c) {
			size_t n = strcspn(c, "/");

			if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
				__builtin_trap();
			c += n + (c[n] == '/');
		}
	}
	for (i = 0; u.partname[i]; i++)
		if (u.partname[i] < ' ' || u.partname[i] > '~')
			__builtin_trap();
	/* The lookup over a table holding this entry twice must refuse it. */
	t = &tab;
	t->n = 2;
	t->p[0] = u;
	t->p[1] = u;
	if (u.is_partition && u.has_partname && u.has_dev &&
	    part_table_find(t, u.partname, &i, NULL) != SI_E_PART_DUP)
		__builtin_trap();
	return 0;
}
