/* libFuzzer target: update bundle heads (update/bundle.c) -- the first
 * thing sealinit reads of a bundle the running OS staged.  Unverified so
 * that fuzzing reaches the body and the relations; whatever parses must
 * hold the invariants the engine relies on: payloads aligned, inside the
 * file, in order and apart; names terminated; entries consistent with
 * their actions. */
#include <stdint.h>
#include <string.h>

#include "update/bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_payload(const struct up_payload *p, uint64_t *cursor, uint64_t end)
{
	if (!p->len)
		return;
	if (p->off % UP_BUNDLE_ALIGN || p->off < *cursor || p->off > end || p->len > end - p->off)
		__builtin_trap();
	*cursor = p->off + p->len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct up_bundle b;
	struct si_diag d;
	uint64_t file_size, cursor;
	unsigned i;

	if (size < 8)
		return 0;
	/* the file's size: the input's own, or a claim in its last 8 bytes */
	memcpy(&file_size, data + size - 8, 8);
	if (file_size & 1)
		file_size = size - 8;
	if (up_bundle_open_unverified(data, size - 8, file_size, &b, &d) != 0)
		return 0;
	if (b.payload_end != file_size || !memchr(b.name, 0, sizeof b.name) || b.n > UP_BUNDLE_MAX_ENTRIES)
		__builtin_trap();
	cursor = up_bundle_payload_start(b.head_len);
	check_payload(&b.target, &cursor, file_size);
	for (i = 0; i < b.n; i++) {
		const struct up_entry *e = &b.e[i];

		if (!memchr(e->name, 0, sizeof e->name) || !e->name[0])
			__builtin_trap();
		if ((e->action == UP_ACT_SAME && (e->fwd.len || e->rev.len)) ||
		    (e->action == UP_ACT_PATCH && (!e->fwd.len || !e->rev.len)) ||
		    (e->action == UP_ACT_DROP && (e->fwd.len || !e->rev.len)))
			__builtin_trap();
		check_payload(&e->fwd, &cursor, file_size);
		check_payload(&e->rev, &cursor, file_size);
		if (up_bundle_find(&b, e->kind, e->name) != e)
			__builtin_trap();
	}
	return 0;
}
