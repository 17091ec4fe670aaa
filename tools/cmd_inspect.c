/* sealctl inspect: what a file says about itself, without checking its
 * signature (use verify for that): human-readable or JSON.
 *
 * Which reader applies is decided by content, one row per format:
 *   a footer in the last 64 bytes: a sealed image (file or partition); a
 *                           kernel collection's modules are listed too
 *   "SIPATCH1" at 0         a delta patch (patch/patch.h): header, index, seals
 *   "SIKCOLL\0" at 0        a bare kernel-collection archive (kc/collection.h)
 *   "SIMF" at 0, kind 6     an update bundle's head (update/bundle.h)
 *   "SIMF" at 0, otherwise  a release set (verify/set.h): a manifest alone
 * A manifest's body starts with its kind (tags ascending, 0x8001 first:
 * tag 01 80, length 01 00, the kind), so the kind picks the parser; the
 * parser then checks all of it, that byte included. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc/collection.h"
#include "lib/str.h"
#include "patch/patch.h"
#include "tools/json.h"
#include "tools/sealcmd.h"
#include "tools/sealctl.h"

#define CMD "inspect"

static struct kc_collection coll;

static void json_modules(struct json *j, const struct kc_collection *c)
{
	unsigned i;

	json_obj_begin(j, "collection");
	json_str(j, "release", c->release);
	json_u64(j, "archive_size", c->size);
	json_arr_begin(j, "modules");
	for (i = 0; i < c->count; i++) {
		json_obj_begin(j, NULL);
		json_str(j, "name", c->mods[i].name);
		json_u64(j, "offset", c->mods[i].offset);
		json_u64(j, "size", c->mods[i].size);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}

static void text_modules(const struct kc_collection *c)
{
	unsigned i;

	printf("  collection       kernel %s, %u modules in load order:\n", c->release, c->count);
	for (i = 0; i < c->count; i++)
		printf("    %3u %-32s %10llu bytes%s\n", i + 1, c->mods[i].name,
		       (unsigned long long)c->mods[i].size,
		       c->mods[i].boot_image ? " (the boot loader's image)" :
		       c->mods[i].on_request ? " (on request)" : "");
}

static int inspect_collection(const char *path, const uint8_t *p, size_t len, int json)
{
	struct si_diag d;
	int r;

	si_diag_clear(&d);
	r = kc_coll_parse(p, len, &coll, &d);
	if (r)
		return sealctl_report(CMD, path, r, &d);
	if (json) {
		struct json j;

		json_begin(&j, stdout, CMD, 1);
		json_str(&j, "file", path);
		json_str(&j, "type", "kernel-collection");
		json_modules(&j, &coll);
		json_end(&j);
		return SEALCTL_OK;
	}
	printf("%s: kernel-collection archive (not sealed)\n", path);
	text_modules(&coll);
	return SEALCTL_OK;
}

/* An expansion's kind as inspect names it: "gzip" (made again as gzip
 * -9), "xz", "deflate" (a gzip member or zlib stream) and "zstd" (a zstd
 * frame): the last three split into data and parse. */
static const char *exp_kind_name(unsigned kind)
{
	return kind == PATCH_EXP_XZ ? "xz" : kind == PATCH_EXP_DEFLATE ? "deflate"
	       : kind == PATCH_EXP_ZSTD ? "zstd" : "gzip";
}

/* A member's bytes: the sum of its extents. */
static uint64_t exp_bytes(const struct patch_ext *x, unsigned n)
{
	uint64_t t = 0;
	unsigned k;

	for (k = 0; k < n; k++)
		t += x[k].len;
	return t;
}

static int inspect_patch(const char *path, const uint8_t *p, size_t len, int json)
{
	struct patch_info info;
	struct patch_seals seals;
	struct si_diag d;
	uint32_t i, codec[2] = { 0, 0 };
	int r;

	si_diag_clear(&d);
	r = patch_header_parse(p, len, &info, &d);
	if (r == 0 && info.header_len > len) {
		si_diag_want(&d, SI_E_PATCH_TRUNCATED, "patch.index", info.header_len, len);
		r = SI_E_PATCH_TRUNCATED;
	}
	if (r == 0)
		r = patch_index_check(p, info.header_len, &info, len, &d);
	if (r)
		return sealctl_report(CMD, path, r, &d);
	patch_info_complete(p, &info);
	for (i = 0; i < info.nseg; i++) {
		struct patch_seg s;

		patch_index_entry(p, i, &s);
		codec[s.codec == PATCH_CODEC_ZSTD]++;
	}
	if (info.has_seals)
		patch_seals_get(p, &info, &seals);
	if (json) {
		struct json j;

		json_begin(&j, stdout, CMD, 1);
		json_str(&j, "file", path);
		json_str(&j, "type", "patch");
		json_u64(&j, "format_version", PATCH_VERSION);
		json_u64(&j, "patch_size", len);
		json_u64(&j, "old_size", info.old_size);
		json_u64(&j, "new_size", info.new_size);
		json_u64(&j, "segment_size", info.seg_size);
		json_u64(&j, "segments", info.nseg);
		json_u64(&j, "segments_zstd", codec[1]);
		json_u64(&j, "segments_stored", codec[0]);
		json_u64(&j, "header_size", info.header_len);
		json_u64(&j, "payload_size", info.payload_len);
		json_hex(&j, "old_digest", info.old_digest, 32);
		json_hex(&j, "new_digest", info.new_digest, 32);
		if (info.has_seals) {
			json_obj_begin(&j, "seals");
			json_hex(&j, "base_manifest_digest", seals.base_manifest, 32);
			json_hex(&j, "base_root_hash", seals.base_root, 32);
			json_hex(&j, "target_manifest_digest", seals.target_manifest, 32);
			json_hex(&j, "target_root_hash", seals.target_root, 32);
			json_obj_end(&j);
		} else {
			json_null(&j, "seals");
		}
		json_arr_begin(&j, "expansions");
		for (i = 0; i < info.nexp; i++) {
			struct patch_exp e;

			patch_exp_get(p, &info, i, &e);
			json_obj_begin(&j, NULL);
			json_str(&j, "kind", exp_kind_name(e.kind));
			json_u64(&j, "old_bytes", exp_bytes(e.old_ext, e.n_old));
			json_u64(&j, "new_bytes", exp_bytes(e.new_ext, e.n_new));
			json_u64(&j, "old_decompressed", e.u_old_len);
			json_u64(&j, "new_decompressed", e.u_new_len);
			if (e.kind != PATCH_EXP_GZIP) {
				json_u64(&j, "old_data", e.data_old);
				json_u64(&j, "new_data", e.data_new);
			} else {
				json_u64(&j, "reuse_list", e.reuse_len);
			}
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_end(&j);
		return SEALCTL_OK;
	}
	{
		char a[65], b[65];

		printf("%s: delta patch, format %u (made by sealctl diff; apply checks every segment)\n",
		       path, PATCH_VERSION);
		printf("  old image        %llu bytes\n", (unsigned long long)info.old_size);
		printf("  new image        %llu bytes\n", (unsigned long long)info.new_size);
		printf("  segments         %u of %u bytes (%u zstd, %u stored)\n", info.nseg,
		       info.seg_size, codec[1], codec[0]);
		printf("  patch            %llu bytes: %u of header and index, %llu of payload\n",
		       (unsigned long long)len, info.header_len,
		       (unsigned long long)info.payload_len);
		if (info.has_seals) {
			si_hex(a, seals.base_root, 32);
			si_hex(b, seals.target_root, 32);
			printf("  base seal        root %s\n", a);
			printf("  target seal      root %s\n", b);
		} else {
			printf("  seals            none (raw images)\n");
		}
		/* what the apply decompresses into its scratch file, and makes again */
		for (i = 0; i < info.nexp; i++) {
			struct patch_exp e;

			patch_exp_get(p, &info, i, &e);
			printf("  expansion %-6u %s member: %llu -> %llu bytes, %llu -> %llu decompressed",
			       i, exp_kind_name(e.kind),
			       (unsigned long long)exp_bytes(e.old_ext, e.n_old),
			       (unsigned long long)exp_bytes(e.new_ext, e.n_new),
			       (unsigned long long)e.u_old_len, (unsigned long long)e.u_new_len);
			if (e.kind != PATCH_EXP_GZIP)
				printf(" (data %llu -> %llu, the rest its parse)",
				       (unsigned long long)e.data_old, (unsigned long long)e.data_new);
			else if (e.reuse_len)
				printf(" (reuse list: %u span%s coded with the old member's symbols)",
				       (unsigned)(e.reuse_len / PATCH_EXP_REUSE_REC),
				       e.reuse_len == PATCH_EXP_REUSE_REC ? "" : "s");
			printf("\n");
		}
		if (info.nexp)
			printf("  scratch          %llu bytes while it applies\n",
			       (unsigned long long)info.exp_total);
	}
	return SEALCTL_OK;
}

static int inspect_sealed(const char *path, const uint8_t *map, size_t len, int json)
{
	struct si_seal_unverified s;
	struct si_io io;
	struct si_mem_io mem;
	struct si_diag d;
	char salt[2 * SI_SEAL_SALT_MAX + 1], root[2 * SI_SEAL_DIGEST_MAX + 1];
	char kid[SEALCTL_KEYID_SHORT + 1];
	int r, have_coll = 0;

	si_io_mem(&io, &mem, map, len);
	si_diag_clear(&d);
	r = si_seal_open_unverified(&io, &s, &d);
	if (r)
		return sealctl_report(CMD, path, r, &d);
	if ((s.m.kind == SI_KIND_KC_BOOT || s.m.kind == SI_KIND_KC_SYSTEM ||
	     s.m.kind == SI_KIND_KC_AUX) && s.m.fs_type == SI_FS_RAW) {
		/* The archive is the data; unverified like everything here. */
		si_diag_clear(&d);
		r = kc_coll_parse(map, (size_t)s.m.data_size, &coll, &d);
		if (r)
			return sealctl_report(CMD, path, r, &d);
		have_coll = 1;
	}
	si_hex(salt, s.m.salt, s.m.salt_len);
	si_hex(root, s.m.root_hash, s.m.root_hash_len);
	if (json) {
		struct json j;

		json_begin(&j, stdout, CMD, 1);
		json_str(&j, "file", path);
		json_str(&j, "type", "sealed-image");
		json_str(&j, "name", s.m.name);
		json_str(&j, "kind", si_seal_kind_name(s.m.kind));
		json_str(&j, "version", s.m.version);
		json_u64(&j, "rollback_index", s.m.rollback_index);
		json_str(&j, "fs_type", si_seal_fstype_name(s.m.fs_type));
		json_u64(&j, "data_size", s.m.data_size);
		json_u64(&j, "padded_size", s.m.padded_size);
		json_u64(&j, "data_blocks", s.m.data_blocks);
		json_u64(&j, "data_block_size", s.m.data_block_size);
		json_u64(&j, "hash_block_size", s.m.hash_block_size);
		json_str(&j, "hash_algorithm", si_seal_hash_name(s.m.hash_algo));
		json_str(&j, "salt", salt);
		json_str(&j, "root_hash", root);
		json_u64(&j, "hash_offset", s.m.hash_offset);
		json_u64(&j, "hash_size", s.m.hash_size);
		json_str(&j, "overlay", s.m.has_overlay ? s.m.overlay : NULL);
		if (s.m.has_kc_system)
			json_hex(&j, "kc_system", s.m.kc_system, 32);
		else
			json_str(&j, "kc_system", NULL);
		json_keyid(&j, "key_id", s.m.key_id);
		json_str(&j, "signature_algorithm", si_algo_name(s.m.sig_algo));
		json_u64(&j, "manifest_offset", s.m.manifest_offset);
		json_u64(&j, "manifest_size", s.m.manifest_size);
		json_hex(&j, "manifest_digest", s.m.digest, 32);
		json_u64(&j, "image_size", s.m.image_size);
		json_u64(&j, "sealed_size", s.m.manifest_offset + s.m.manifest_size + SI_FOOTER_SIZE);
		json_bool(&j, "signature_checked", 0);
		if (have_coll)
			json_modules(&j, &coll);
		json_end(&j);
		return SEALCTL_OK;
	}
	sealctl_keyid_short(kid, s.m.key_id);
	printf("%s: sealed image (signature not checked; use sealctl verify)\n", path);
	printf("  kind             %s\n", si_seal_kind_name(s.m.kind));
	printf("  name             %s\n", s.m.name);
	printf("  version          %s\n", s.m.version);
	printf("  rollback index   %llu\n", (unsigned long long)s.m.rollback_index);
	printf("  fs type          %s\n", si_seal_fstype_name(s.m.fs_type));
	if (s.m.has_overlay)
		printf("  overlay          %s\n", s.m.overlay);
	if (s.m.has_kc_system) {
		char ks[65];

		si_hex(ks, s.m.kc_system, 32);
		printf("  kc-system        %s (the system tier its index was made with)\n", ks);
	}
	printf("  data             %llu bytes, padded to %llu (%llu blocks of %u)\n",
	       (unsigned long long)s.m.data_size, (unsigned long long)s.m.padded_size,
	       (unsigned long long)s.m.data_blocks, s.m.data_block_size);
	printf("  hash tree        %s, %u-byte blocks, %llu bytes at offset %llu\n",
	       si_seal_hash_name(s.m.hash_algo), s.m.hash_block_size,
	       (unsigned long long)s.m.hash_size, (unsigned long long)s.m.hash_offset);
	printf("  salt             %s\n", salt);
	printf("  root hash        %s\n", root);
	printf("  signature        %s by key %s\n", si_algo_name(s.m.sig_algo), kid);
	printf("  manifest         %u bytes at offset %llu; image %llu bytes%s\n",
	       s.m.manifest_size, (unsigned long long)s.m.manifest_offset,
	       (unsigned long long)s.m.image_size,
	       s.m.image_size != s.m.manifest_offset + s.m.manifest_size + SI_FOOTER_SIZE
		       ? " (a partition: footer at its end)" : "");
	if (have_coll)
		text_modules(&coll);
	return SEALCTL_OK;
}

int sealctl_cmd_inspect(int argc, char **argv)
{
	const char *path = NULL;
	struct sealcmd_image img = { -1, 0, NULL, 0 };
	size_t npos = 0;
	int json = 0, r;
	const struct sealcmd_optdef defs[] = { { "--json", NULL, NULL, &json } };

	r = sealcmd_parse(CMD, argc, argv, defs, SI_ARRAY_SIZE(defs), &path, 1, &npos);
	if (r)
		return r == SEALCMD_HELP ? SEALCTL_OK : r;
	sealctl_json_mode = json;
	if (!path)
		return sealctl_usage_error(CMD, "a FILE is required");
	r = sealcmd_image_open(CMD, path, &img);
	if (r)
		return r;
	/* A sealed collection starts with the archive's magic too: the
	 * footer decides first. */
	if (img.len >= SI_FOOTER_SIZE &&
	    !memcmp(img.map + img.len - SI_FOOTER_SIZE, SI_FOOTER_MAGIC, 8))
		r = inspect_sealed(path, img.map, img.len, json);
	else if (img.len >= 8 && !memcmp(img.map, PATCH_MAGIC, 8))
		r = inspect_patch(path, img.map, img.len, json);
	else if (img.len >= 8 && !memcmp(img.map, KC_COLL_MAGIC, 8))
		r = inspect_collection(path, img.map, img.len, json);
	else if (img.len >= 4 && !memcmp(img.map, SI_MANIFEST_MAGIC, 4)) {
		static const uint8_t bundle_kind[5] = { 0x01, 0x80, 0x01, 0x00, SI_KIND_UPDATE };

		if (img.len >= SI_MANIFEST_HDR_SIZE + 5 &&
		    !memcmp(img.map + SI_MANIFEST_HDR_SIZE, bundle_kind, 5))
			r = sealcmd_bundle_show(CMD, path, img.map, img.len, img.len, json, "bundle");
		else
			r = sealcmd_set_show(CMD, path, img.map, img.len, json, "release-set");
	}
	else
		r = inspect_sealed(path, img.map, img.len, json);
	sealcmd_image_close(&img);
	return r;
}
