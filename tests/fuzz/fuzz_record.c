/* libFuzzer target: the state and floor payloads (update/record.c), which
 * sealinit reads from the preboot volume at every boot. */
#include <stdint.h>
#include <string.h>

#include "update/update.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct up_state st, again;
	struct up_floors f, g;
	uint8_t buf[UP_RECORD_PAYLOAD];
	size_t n;

	if (size && data[0] & 1) {
		if (up_state_decode(data + 1, size - 1, &st, NULL) == 0) {
			/* what decodes, encodes to the same bytes */
			n = up_state_encode(&st, buf, sizeof buf);
			if (n != size - 1 || memcmp(buf, data + 1, n) != 0 ||
			    up_state_decode(buf, n, &again, NULL) != 0)
				__builtin_trap();
		}
	} else if (size) {
		if (up_floors_decode(data + 1, size - 1, &f, NULL) == 0) {
			n = up_floors_encode(&f, buf, sizeof buf);
			if (n != size - 1 || up_floors_decode(buf, n, &g, NULL) != 0 || g.n != f.n)
				__builtin_trap();
		}
	}
	return 0;
}
