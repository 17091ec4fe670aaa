/* libFuzzer target: the GPT reader (mount/gpt.c) that sealctl doctor runs
 * on disk images. */
#include <stdint.h>
#include <string.h>

#include "mount/mount.h"
#include "verify/seal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gpt_table t;
	const struct gpt_part *p;
	struct si_mem_io m;
	struct si_io io;
	struct si_diag d;
	unsigned i;

	si_io_mem(&io, &m, data, size);
	if (gpt_read(&io, &t, &d) != 0)
		return 0;
	for (i = 0; i < t.n; i++) {
		/* what the reader promises: in range, labels printable */
		if (t.p[i].first_lba > t.p[i].last_lba ||
		    (t.p[i].last_lba + 1) * (uint64_t)t.sector > size || !memchr(t.p[i].label, 0, 37))
			__builtin_trap();
		if (gpt_find(&t, t.p[i].label, &p, &d) == 0 && strcmp(p->label, t.p[i].label))
			__builtin_trap();
	}
	return 0;
}
