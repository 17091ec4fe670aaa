/* libFuzzer target: the kernel command line parser (plan/cmdline.c). */
#include <stdint.h>
#include <string.h>

#include "plan/cmdline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct si_cmdline c;
	unsigned i;

	if (si_cmdline_parse((const char *)data, size, &c) != 0)
		return 0;
	for (i = 0; i < c.n_problems; i++)
		if (strlen(c.problems[i].option) >= sizeof c.problems[i].option)
			__builtin_trap();
	if (c.init[0] && c.init[0] != '/')
		__builtin_trap();
	return 0;
}
