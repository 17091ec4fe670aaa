/* sealctl anchor: lists and edits the trust anchor in a device tree
 * (binding: docs/bindings/sealinit,trust-anchor.yaml; verify/anchor.h), or
 * prints the node as a .dtsi fragment or a device-tree overlay.
 *
 * Edits never break a tree: a key already in the anchor is updated, not
 * added twice (sealinit refuses two nodes with one public key); a key that
 * U-Boot's /signature already holds gets its "sealinit,usages" set there;
 * a lower rollback floor needs --force; and every DTB written is parsed
 * with sealinit's own anchor parser first -- a tree it would refuse is
 * never written. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include "lib/str.h"
#include "tools/json.h"
#include "tools/out.h"
#include "tools/sealcmd.h"
#include "tools/sealctl.h"

#define CMD "anchor"
#define ANCHOR_COMPAT "sealinit,trust-anchor"

static int id_ok(const char *id)
{
	size_t n = strlen(id), i;

	if (n == 0 || n > SI_KEY_ID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9') ||
		      id[i] == '-'))
			return 0;
	return 1;
}

static int parse_usages(const char *s, uint32_t *out)
{
	uint32_t m = 0;

	while (*s) {
		const char *c = strchr(s, ',');
		size_t n = c ? (size_t)(c - s) : strlen(s);
		uint32_t u;

		if (n == 3 && !memcmp(s, "all", 3))
			u = SI_USAGE_ALL;
		else
			u = si_usage_from_name(s, n);
		if (!u)
			return -1;
		m |= u;
		s += n;
		if (*s == ',')
			s++;
	}
	if (!m)
		return -1;
	*out = m;
	return 0;
}

/* "--overlay-targets /usr,/opt" into the property's bytes: NUL-separated
 * absolute normalised paths, each once.  Returns the length, 0 if bad. */
static size_t parse_targets(const char *s, char *out, size_t cap)
{
	size_t n = 0, k = 0;

	while (*s) {
		const char *c = strchr(s, ',');
		size_t w = c ? (size_t)(c - s) : strlen(s), i;

		if (!si_path_ok((const uint8_t *)s, w) || n + w + 1 > cap || ++k > SI_KEY_TARGETS_MAX)
			return 0;
		for (i = 0; i < n; i += strlen(out + i) + 1)
			if (strlen(out + i) == w && !memcmp(out + i, s, w))
				return 0;
		memcpy(out + n, s, w);
		out[n + w] = '\0';
		n += w + 1;
		s += w;
		if (*s == ',')
			s++;
	}
	return n;
}

/* The usages as a device-tree string list ("a\0b\0"); returns its length. */
static int usages_list(uint32_t usages, char list[128])
{
	size_t n = 0;
	unsigned i;

	for (i = 0; i < 6; i++)
		if (usages & (1u << i)) {
			const char *u = si_usage_name((enum si_usage)(1u << i));

			memcpy(list + n, u, strlen(u) + 1);
			n += strlen(u) + 1;
		}
	return (int)n;
}

static uint32_t key_e(const struct si_key *k)
{
	uint32_t e = 0;
	unsigned i;

	for (i = 0; i < k->e_len; i++)
		e = e << 8 | k->e[i];
	return e;
}

/* ------------------------------------------------------------- listing */
static void print_list(const char *path, const struct si_anchor *a, int json)
{
	char us[128], id[SEALCTL_KEYID_SHORT + 1];
	unsigned i, b;
	size_t t;

	if (json) {
		struct json j;

		json_begin(&j, stdout, CMD, 1);
		json_str(&j, "file", path);
		if (a->has_floor)
			json_u64(&j, "rollback_floor", a->rollback_floor);
		else
			json_null(&j, "rollback_floor");
		json_arr_begin(&j, "keys");
		for (i = 0; i < a->n_keys; i++) {
			const struct si_key *k = &a->keys[i];

			json_obj_begin(&j, NULL);
			json_str(&j, "id", k->id);
			json_str(&j, "source", k->source == SI_KEY_UBOOT ? "u-boot" : "sealinit");
			json_str(&j, "algorithm", si_algo_name(k->algo));
			json_keyid(&j, "key_id", k->fingerprint);
			json_arr_begin(&j, "usages");
			for (b = 0; b < 6; b++)
				if (k->usages & (1u << b))
					json_str(&j, NULL, si_usage_name((enum si_usage)(1u << b)));
			json_arr_end(&j);
			json_arr_begin(&j, "overlay_targets");
			for (t = 0, b = 0; b < k->n_targets; b++, t += strlen(k->targets + t) + 1)
				json_str(&j, NULL, k->targets + t);
			json_arr_end(&j);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_end(&j);
		return;
	}
	printf("%s: trust anchor, %u key%s, ", path, a->n_keys, a->n_keys == 1 ? "" : "s");
	if (a->has_floor)
		printf("rollback floor %llu\n", (unsigned long long)a->rollback_floor);
	else
		printf("no rollback floor\n");
	for (i = 0; i < a->n_keys; i++) {
		const struct si_key *k = &a->keys[i];

		si_usages_format(k->usages, us, sizeof us);
		sealctl_keyid_short(id, k->fingerprint);
		printf("  key-%-20s %-8s %-10s %s  %s", k->id,
		       k->source == SI_KEY_UBOOT ? "u-boot" : "sealinit", si_algo_name(k->algo), id,
		       us);
		for (t = 0, b = 0; b < k->n_targets; b++, t += strlen(k->targets + t) + 1)
			printf("%s%s", b ? "," : "; overlay targets ", k->targets + t);
		printf("\n");
	}
}

/* ------------------------------------------------------ the DTS printers */
static void print_node(FILE *f, const char *ind, const struct si_key *k, const char *id,
		       uint32_t usages, const char *targets, size_t tlen, int has_floor,
		       uint64_t floor)
{
	unsigned i, first = 1;

	fprintf(f, "%ssealinit {\n", ind);
	fprintf(f, "%s\tcompatible = \"%s\";\n", ind, ANCHOR_COMPAT);
	if (has_floor)
		fprintf(f, "%s\trollback-floor = <0x%x 0x%x>;\n", ind,
			(unsigned)(floor >> 32), (unsigned)floor);
	fprintf(f, "\n%s\tkey-%s {\n", ind, id);
	fprintf(f, "%s\t\talgorithm = \"%s\";\n", ind, si_algo_name(k->algo));
	fprintf(f, "%s\t\tusages = ", ind);
	for (i = 0; i < 6; i++)
		if (usages & (1u << i)) {
			fprintf(f, "%s\"%s\"", first ? "" : ", ",
				si_usage_name((enum si_usage)(1u << i)));
			first = 0;
		}
	if (tlen) {
		size_t j;

		fprintf(f, ";\n%s\t\toverlay-targets = ", ind);
		for (j = 0; j < tlen; j += strlen(targets + j) + 1)
			fprintf(f, "%s\"%s\"", j ? ", " : "", targets + j);
	}
	fprintf(f, ";\n%s\t\tpublic-key = [", ind);
	for (i = 0; i < k->pub_len; i++)
		fprintf(f, "%s%02x", i == 0 ? "" : (i % 16 == 0 ? "\n\t\t\t" : " "), k->pub[i]);
	fprintf(f, "];\n");
	if (k->algo != SI_ALGO_ECDSA_P256)
		fprintf(f, "%s\t\trsa-exponent = <%u>;\n", ind, key_e(k));
	fprintf(f, "%s\t};\n%s};\n", ind, ind);
}

static int print_source(const char *out, int overlay, const struct si_key *k, const char *id,
			uint32_t usages, const char *targets, size_t tlen, int has_floor,
			uint64_t floor)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int r;

	if (!f)
		return sealctl_report(CMD, out ? out : "stdout", SI_E_NOMEM, NULL);
	if (overlay)
		fprintf(f, "/dts-v1/;\n/plugin/;\n\n/* sealinit trust anchor: compile with dtc -@ "
			   "-I dts -O dtb */\n&{/} {\n");
	else
		fprintf(f, "/* sealinit trust anchor (docs/bindings/sealinit,trust-anchor.yaml) */\n"
			   "/ {\n");
	print_node(f, "\t", k, id, usages, targets, tlen, has_floor, floor);
	fprintf(f, "};\n");
	fclose(f);
	if (out)
		r = sealctl_out_file(CMD, out, 0, buf, len);
	else
		r = fwrite(buf, 1, len, stdout) == len && fflush(stdout) == 0
			    ? 0 : sealctl_report_errno(CMD, "stdout", SI_E_WRITE, errno);
	free(buf);
	return r;
}

/* --------------------------------------------------------------- editing */
struct edit {
	const struct si_key *key; /* --key */
	const char *id;           /* --id */
	const char *uboot;        /* --uboot-key NAME */
	const char *remove;       /* --remove-key ID */
	uint32_t usages;
	const char *targets;      /* --overlay-targets, NUL-separated */
	size_t tlen;
	int has_floor, force;
	uint64_t floor;
};

static int fdt_fail(const char *file, const char *what, int err)
{
	struct si_diag d;

	si_diag_clear(&d);
	si_diag_field(&d, what);
	si_diag_text(&d, "libfdt success", fdt_strerror(err));
	return sealctl_report(CMD, file, SI_E_FDT_BAD, &d);
}

/* Properties that are not given are kept (an update changes what it names). */
static int set_key(void *fdt, int node, const struct si_key *k, const struct edit *e)
{
	char list[128];
	int r;

	r = fdt_setprop_string(fdt, node, "algorithm", si_algo_name(k->algo));
	if (!r)
		r = fdt_setprop(fdt, node, "usages", list, usages_list(e->usages, list));
	if (!r && e->tlen)
		r = fdt_setprop(fdt, node, "overlay-targets", e->targets, (int)e->tlen);
	if (!r)
		r = fdt_setprop(fdt, node, "public-key", k->pub, k->pub_len);
	if (!r && k->algo != SI_ALGO_ECDSA_P256)
		r = fdt_setprop_u32(fdt, node, "rsa-exponent", key_e(k));
	if (!r && k->algo == SI_ALGO_ECDSA_P256 && fdt_getprop(fdt, node, "rsa-exponent", NULL))
		r = fdt_delprop(fdt, node, "rsa-exponent");
	return r;
}

/* The anchor node, created as /sealinit when the tree has none. */
static int native_node(void *fdt)
{
	int node = fdt_node_offset_by_compatible(fdt, -1, ANCHOR_COMPAT), r;

	if (node >= 0)
		return node;
	node = fdt_add_subnode(fdt, 0, "sealinit");
	if (node < 0)
		return node;
	r = fdt_setprop_string(fdt, node, "compatible", ANCHOR_COMPAT);
	return r ? r : node;
}

static int edit_dtb(const char *in, const char *out, const struct edit *e, int json)
{
	static struct si_anchor before, after;
	uint8_t *buf, *fdt = NULL;
	size_t len, cap;
	char name[SI_KEY_ID_MAX + 32], done[512], kid[SEALCTL_KEYID_SHORT + 1], us[128];
	struct si_diag d;
	int r, node, key, have_before;
	unsigned i;

	r = sealctl_load_file(CMD, in, (size_t)CONFIG_MAX_FDT_KB * 1024, &buf, &len);
	if (r)
		return r;
	r = len < 40 ? -FDT_ERR_TRUNCATED : fdt_check_full(buf, len);
	if (r != 0) {
		free(buf);
		si_diag_clear(&d);
		si_diag_text(&d, "a valid FDT", fdt_strerror(r));
		return sealctl_report(CMD, in, SI_E_FDT_BAD, &d);
	}
	/* What the anchor holds now (a tree without one holds nothing yet;
	 * a malformed one is edited all the same -- the result is checked). */
	si_diag_clear(&d);
	r = si_anchor_parse(buf, len, sealcmd_board()->uboot_usages, &before, &d);
	have_before = r == 0;
	cap = len + 8192 + 2 * SI_KEY_PUB_MAX + SI_KEY_TARGETS_BYTES;
	fdt = malloc(cap);
	if (!fdt) {
		free(buf);
		return sealctl_report(CMD, in, SI_E_NOMEM, NULL);
	}
	r = fdt_open_into(buf, fdt, (int)cap);
	free(buf);
	if (r) {
		free(fdt);
		return fdt_fail(in, "fdt_open_into", r);
	}
	done[0] = '\0';
	si_usages_format(e->usages, us, sizeof us);

	if (e->key) {
		const struct si_key *same = NULL;

		for (i = 0; have_before && i < before.n_keys; i++)
			if (!memcmp(before.keys[i].fingerprint, e->key->fingerprint, 32))
				same = &before.keys[i];
		sealctl_keyid_short(kid, e->key->fingerprint);
		if (same && same->source == SI_KEY_UBOOT) {
			/* One key pair for FIT and seals: give U-Boot's node usages. */
			char list[128];

			snprintf(name, sizeof name, "/signature/key-%s", same->id);
			key = fdt_path_offset(fdt, name);
			r = key < 0 ? key : fdt_setprop(fdt, key, "sealinit,usages", list,
							 usages_list(e->usages, list));
			if (!r && e->tlen)
				r = fdt_setprop(fdt, key, "sealinit,overlay-targets", e->targets,
						(int)e->tlen);
			if (r) {
				free(fdt);
				return fdt_fail(in, name, r);
			}
			snprintf(done, sizeof done, "the key is U-Boot's %s: its sealinit,usages set to %s",
				 name, us);
		} else if (same && strcmp(same->id, e->id) != 0) {
			free(fdt);
			return sealctl_usage_error(CMD, "%s: this key is already in the anchor as key-%s; "
						   "--id %s updates it, or --remove-key %s first",
						   in, same->id, same->id, same->id);
		} else {
			node = native_node(fdt);
			if (node < 0) {
				free(fdt);
				return fdt_fail(in, "/sealinit", node);
			}
			snprintf(name, sizeof name, "key-%s", e->id);
			key = fdt_subnode_offset(fdt, node, name);
			snprintf(done, sizeof done, "key-%s %s: %s key %s may sign %s", e->id,
				 same ? "updated" : key >= 0 ? "replaced (another key had this id)"
							      : "added",
				 si_algo_name(e->key->algo), kid, us);
			if (key < 0)
				key = fdt_add_subnode(fdt, node, name);
			r = key < 0 ? key : set_key(fdt, key, e->key, e);
			if (r) {
				free(fdt);
				return fdt_fail(in, name, r);
			}
		}
	} else if (e->uboot) {
		char list[128];

		snprintf(name, sizeof name, "/signature/key-%s", e->uboot);
		key = fdt_path_offset(fdt, name);
		if (key < 0) {
			free(fdt);
			si_diag_clear(&d);
			si_diag_field(&d, name);
			return sealctl_report(CMD, in, SI_E_NOTFOUND, &d);
		}
		r = fdt_setprop(fdt, key, "sealinit,usages", list, usages_list(e->usages, list));
		if (!r && e->tlen)
			r = fdt_setprop(fdt, key, "sealinit,overlay-targets", e->targets, (int)e->tlen);
		if (r) {
			free(fdt);
			return fdt_fail(in, name, r);
		}
		snprintf(done, sizeof done, "%s may sign %s", name, us);
	} else if (e->remove) {
		node = fdt_node_offset_by_compatible(fdt, -1, ANCHOR_COMPAT);
		snprintf(name, sizeof name, "key-%s", e->remove);
		key = node < 0 ? node : fdt_subnode_offset(fdt, node, name);
		if (key < 0) {
			free(fdt);
			snprintf(name, sizeof name, "/signature/key-%s", e->remove);
			if (have_before)
				for (i = 0; i < before.n_keys; i++)
					if (!strcmp(before.keys[i].id, e->remove) &&
					    before.keys[i].source == SI_KEY_UBOOT)
						return sealctl_usage_error(
							CMD, "%s: key-%s is U-Boot's (%s), which verifies "
							"FIT images: sealctl does not remove it; "
							"--uboot-key %s --usages restricts it", in,
							e->remove, name, e->remove);
			si_diag_clear(&d);
			si_diag_field(&d, "key-<id> in the trust anchor");
			si_diag_text(&d, e->remove, "no such key");
			return sealctl_report(CMD, in, SI_E_NOTFOUND, &d);
		}
		r = fdt_del_node(fdt, key);
		if (r) {
			free(fdt);
			return fdt_fail(in, name, r);
		}
		snprintf(done, sizeof done, "key-%s removed", e->remove);
	}
	if (e->has_floor) {
		uint8_t f[8];
		size_t n = strlen(done);

		if (have_before && before.has_floor && e->floor < before.rollback_floor && !e->force) {
			free(fdt);
			return sealctl_usage_error(CMD, "%s: --rollback-floor %llu is below the anchor's "
						   "floor %llu: images it refused would boot again; "
						   "--force lowers it", in,
						   (unsigned long long)e->floor,
						   (unsigned long long)before.rollback_floor);
		}
		node = native_node(fdt);
		si_put_be32(f, (uint32_t)(e->floor >> 32));
		si_put_be32(f + 4, (uint32_t)e->floor);
		r = node < 0 ? node : fdt_setprop(fdt, node, "rollback-floor", f, 8);
		if (r) {
			free(fdt);
			return fdt_fail(in, "rollback-floor", r);
		}
		snprintf(done + n, sizeof done - n, "%srollback floor %llu", n ? "; " : "",
			 (unsigned long long)e->floor);
	}
	r = fdt_pack(fdt);
	if (r) {
		free(fdt);
		return fdt_fail(out, "fdt_pack", r);
	}
	/* The tree as sealinit will read it, before it is kept. */
	si_diag_clear(&d);
	r = si_anchor_parse(fdt, fdt_totalsize(fdt), sealcmd_board()->uboot_usages, &after, &d);
	if (r) {
		free(fdt);
		r = sealctl_report(CMD, out, r, &d);
		fprintf(stderr, "sealctl: hint: the edited tree would not pass sealinit's anchor "
			"parser: %s was not written\n", out);
		return r;
	}
	r = sealctl_out_file(CMD, out, 0, fdt, fdt_totalsize(fdt));
	free(fdt);
	if (r)
		return r;
	if (json)
		print_list(out, &after, 1);
	else
		printf("%s: %s\n", out, done);
	return SEALCTL_OK;
}

int sealctl_cmd_anchor(int argc, char **argv)
{
	const char *keyp = NULL, *id = NULL, *usages_s = NULL, *floor_s = NULL, *dtb = NULL,
		   *out = NULL, *list = NULL, *uboot = NULL, *remove = NULL, *targets_s = NULL;
	static char targets[SI_KEY_TARGETS_BYTES];
	int dtsi = 0, overlay = 0, force = 0, json = 0, r;
	struct edit e;
	struct si_key k;
	const struct sealcmd_optdef defs[] = {
		{ "--list", NULL, &list, NULL }, { "--dtb", NULL, &dtb, NULL },
		{ "--output", "-o", &out, NULL }, { "--key", NULL, &keyp, NULL },
		{ "--id", NULL, &id, NULL }, { "--usages", NULL, &usages_s, NULL },
		{ "--overlay-targets", NULL, &targets_s, NULL },
		{ "--uboot-key", NULL, &uboot, NULL }, { "--remove-key", NULL, &remove, NULL },
		{ "--rollback-floor", NULL, &floor_s, NULL }, { "--force", NULL, NULL, &force },
		{ "--dtsi", NULL, NULL, &dtsi }, { "--overlay", NULL, NULL, &overlay },
		{ "--json", NULL, NULL, &json },
	};

	r = sealcmd_parse(CMD, argc, argv, defs, SI_ARRAY_SIZE(defs), NULL, 0, NULL);
	if (r)
		return r == SEALCMD_HELP ? SEALCTL_OK : r;
	if (list) {
		static struct si_anchor a;

		if (dtb || out || keyp || id || usages_s || uboot || remove || floor_s || dtsi ||
		    overlay || force || targets_s)
			return sealctl_usage_error(CMD, "--list DTB takes no other option but --json");
		r = sealcmd_load_anchor(CMD, list, &a);
		if (r)
			return r;
		print_list(list, &a, json);
		return SEALCTL_OK;
	}
	if ((!!dtb + dtsi + overlay) != 1)
		return sealctl_usage_error(CMD, "one of --list DTB, --dtb IN -o OUT, --dtsi or "
					   "--overlay is required");
	if (dtb && !out)
		return sealctl_usage_error(CMD, "--dtb IN needs -o OUT");
	memset(&e, 0, sizeof e);
	if (!!keyp + !!uboot + !!remove > 1)
		return sealctl_usage_error(CMD, "one of --key, --uboot-key and --remove-key at a time");
	if ((keyp || uboot) && !usages_s)
		return sealctl_usage_error(CMD, "%s needs --usages", keyp ? "--key" : "--uboot-key");
	if (keyp && !id)
		return sealctl_usage_error(CMD, "--key needs --id");
	if ((id && !keyp) || ((usages_s || targets_s) && !keyp && !uboot))
		return sealctl_usage_error(CMD, "--id, --usages and --overlay-targets go with --key "
					   "(or --uboot-key)");
	if (targets_s && !(e.tlen = parse_targets(targets_s, targets, sizeof targets)))
		return sealctl_usage_error(CMD, "--overlay-targets: expected 1..%d distinct absolute "
					   "paths separated by commas (no ., .. or empty parts), "
					   "found '%s'", SI_KEY_TARGETS_MAX, targets_s);
	e.targets = targets;
	if ((dtsi || overlay) && (!keyp || uboot || remove))
		return sealctl_usage_error(CMD, "--dtsi and --overlay print a new anchor: --key, --id "
					   "and --usages are required");
	if (dtb && !keyp && !uboot && !remove && !floor_s)
		return sealctl_usage_error(CMD, "nothing to do: give --key, --uboot-key, "
					   "--remove-key or --rollback-floor");
	if (id && !id_ok(id))
		return sealctl_usage_error(CMD, "--id: expected 1..32 of [a-z0-9-], found '%s'", id);
	if (remove && !*remove)
		return sealctl_usage_error(CMD, "--remove-key: an id is required");
	if (usages_s && parse_usages(usages_s, &e.usages))
		return sealctl_usage_error(CMD, "--usages: expected a comma list of system, cryptex, "
					   "kc-boot, kc-system, kc-aux, update, all; found '%s'",
					   usages_s);
	if (floor_s) {
		if (sealcmd_u64(CMD, "--rollback-floor", floor_s, &e.floor))
			return SEALCTL_USAGE;
		e.has_floor = 1;
	}
	if (force && !floor_s)
		return sealctl_usage_error(CMD, "--force goes with --rollback-floor");
	if (keyp) {
		r = sealcmd_load_pub(CMD, keyp, &k);
		if (r)
			return r;
		e.key = &k;
	}
	if (out) {
		const char *inputs[] = { dtb, keyp };

		r = sealctl_out_check(CMD, out, inputs, SI_ARRAY_SIZE(inputs));
		if (r)
			return r;
	}
	if (dtb) {
		e.id = id;
		e.uboot = uboot;
		e.remove = remove;
		e.force = force;
		return edit_dtb(dtb, out, &e, json);
	}
	return print_source(out, overlay, &k, id, e.usages, e.targets, e.tlen, e.has_floor,
			    e.floor);
}
