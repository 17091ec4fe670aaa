/* sealctl inspect: what a sealed image's manifest says, without checking
 * its signature (use verify for that): human-readable or JSON. */
#include <stdio.h>
#include <string.h>

#include "lib/str.h"
#include "tools/sealcmd.h"
#include "tools/sealctl.h"

#define CMD "inspect"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sealctl inspect IMAGE [--json]\n\n"
		"Prints the footer and manifest of a sealed image.  The signature is NOT\n"
		"checked (sealctl verify does that); the structure and geometry are.\n"
		"JSON keys: name, kind, version, rollback_index, fs_type, data_size,\n"
		"padded_size, data_blocks, data_block_size, hash_block_size,\n"
		"hash_algorithm, salt, root_hash (lowercase hex), hash_offset, hash_size\n"
		"(bytes from the start of the file), overlay, key_id,\n"
		"signature_algorithm, manifest_offset, manifest_size, image_size,\n"
		"signature_checked (false).  For veritysetup:\n"
		"  veritysetup verify IMG IMG ROOT --no-superblock --format=1 --hash=sha256\n"
		"    --data-blocks=DATA_BLOCKS --hash-offset=HASH_OFFSET --salt=SALT\n\n"
		"exit codes: 0 printed; 1 not a (well-formed) sealed image;\n"
		"            2 wrong arguments; 3 system error (I/O)\n");
}

/* JSON string: the manifest's strings are printable ASCII already. */
static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

int sealctl_cmd_inspect(int argc, char **argv)
{
	const char *path = NULL;
	struct sealcmd_image img = { -1, NULL, 0 };
	struct si_seal_unverified s;
	struct si_io io;
	struct si_mem_io mem;
	struct si_diag d;
	char salt[2 * SI_SEAL_SALT_MAX + 1], root[2 * SI_SEAL_DIGEST_MAX + 1], kid[65];
	int json = 0, i, r;

	for (i = 1; i < argc; i++) {
		if (sealcmd_is_help(argv[i])) {
			usage(stdout);
			return SEALCTL_OK;
		}
		if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (argv[i][0] == '-' || path) {
			sealctl_msg(CMD, "unexpected argument '%s'", argv[i]);
			usage(stderr);
			return SEALCTL_USAGE;
		} else {
			path = argv[i];
		}
	}
	if (!path) {
		sealctl_msg(CMD, "an IMAGE is required");
		usage(stderr);
		return SEALCTL_USAGE;
	}
	r = sealcmd_image_open(CMD, path, &img);
	if (r)
		return r;
	si_io_mem(&io, &mem, img.map, img.len);
	si_diag_clear(&d);
	r = si_seal_open_unverified(&io, &s, &d);
	sealcmd_image_close(&img);
	if (r)
		return sealctl_report(CMD, path, r, &d);
	si_hex(salt, s.m.salt, s.m.salt_len);
	si_hex(root, s.m.root_hash, s.m.root_hash_len);
	si_hex(kid, s.m.key_id, 32);
	if (json) {
		printf("{\n  \"name\": ");
		json_str(s.m.name);
		printf(",\n  \"kind\": \"%s\",\n  \"version\": ", si_seal_kind_name(s.m.kind));
		json_str(s.m.version);
		printf(",\n  \"rollback_index\": %llu,\n", (unsigned long long)s.m.rollback_index);
		printf("  \"fs_type\": \"%s\",\n", si_seal_fstype_name(s.m.fs_type));
		printf("  \"data_size\": %llu,\n", (unsigned long long)s.m.data_size);
		printf("  \"padded_size\": %llu,\n", (unsigned long long)s.m.padded_size);
		printf("  \"data_blocks\": %llu,\n", (unsigned long long)s.m.data_blocks);
		printf("  \"data_block_size\": %u,\n", s.m.data_block_size);
		printf("  \"hash_block_size\": %u,\n", s.m.hash_block_size);
		printf("  \"hash_algorithm\": \"%s\",\n", si_seal_hash_name(s.m.hash_algo));
		printf("  \"salt\": \"%s\",\n", salt);
		printf("  \"root_hash\": \"%s\",\n", root);
		printf("  \"hash_offset\": %llu,\n", (unsigned long long)s.m.hash_offset);
		printf("  \"hash_size\": %llu,\n", (unsigned long long)s.m.hash_size);
		printf("  \"overlay\": ");
		if (s.m.has_overlay)
			json_str(s.m.overlay);
		else
			printf("null");
		printf(",\n  \"key_id\": \"%s\",\n", kid);
		printf("  \"signature_algorithm\": \"%s\",\n", si_algo_name(s.m.sig_algo));
		printf("  \"manifest_offset\": %llu,\n", (unsigned long long)s.m.manifest_offset);
		printf("  \"manifest_size\": %u,\n", s.m.manifest_size);
		printf("  \"image_size\": %llu,\n", (unsigned long long)s.m.image_size);
		printf("  \"signature_checked\": false\n}\n");
		return SEALCTL_OK;
	}
	printf("%s: sealed image (signature not checked; use sealctl verify)\n", path);
	printf("  kind             %s\n", si_seal_kind_name(s.m.kind));
	printf("  name             %s\n", s.m.name);
	printf("  version          %s\n", s.m.version);
	printf("  rollback index   %llu\n", (unsigned long long)s.m.rollback_index);
	printf("  fs type          %s\n", si_seal_fstype_name(s.m.fs_type));
	if (s.m.has_overlay)
		printf("  overlay          %s\n", s.m.overlay);
	printf("  data             %llu bytes, padded to %llu (%llu blocks of %u)\n",
	       (unsigned long long)s.m.data_size, (unsigned long long)s.m.padded_size,
	       (unsigned long long)s.m.data_blocks, s.m.data_block_size);
	printf("  hash tree        %s, %u-byte blocks, %llu bytes at offset %llu\n",
	       si_seal_hash_name(s.m.hash_algo), s.m.hash_block_size,
	       (unsigned long long)s.m.hash_size, (unsigned long long)s.m.hash_offset);
	printf("  salt             %s\n", salt);
	printf("  root hash        %s\n", root);
	printf("  signature        %s by key %s\n", si_algo_name(s.m.sig_algo), kid);
	printf("  manifest         %u bytes at offset %llu; image %llu bytes\n",
	       s.m.manifest_size, (unsigned long long)s.m.manifest_offset,
	       (unsigned long long)s.m.image_size);
	return SEALCTL_OK;
}
