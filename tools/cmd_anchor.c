/* sealctl anchor: puts a public key into the device tree's trust anchor
 * (binding: docs/bindings/sealinit,trust-anchor.yaml; verify/anchor.h), or
 * prints the node as a .dtsi fragment or a device-tree overlay. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include "lib/str.h"
#include "tools/sealcmd.h"
#include "tools/sealctl.h"

#define CMD "anchor"
#define ANCHOR_COMPAT "sealinit,trust-anchor"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sealctl anchor --key PUB.pem --id ID --usages U1,U2,...\n"
		"                      [--overlay-targets P1,P2,...] [--rollback-floor N]\n"
		"                      (--dtb IN.dtb -o OUT.dtb | --dtsi [-o F] | --overlay [-o F])\n\n"
		"Adds key-ID to the trust-anchor node (compatible \"sealinit,trust-anchor\",\n"
		"created as /sealinit when the tree has none) of IN.dtb, writing OUT.dtb;\n"
		"or prints the node as a .dtsi fragment or an overlay source (dtc -@).\n"
		"Run it again on OUT.dtb to add more keys.\n"
		"  --id ID           1..32 of [a-z0-9-]\n"
		"  --usages LIST     what the key may sign: system, cryptex, kc-boot,\n"
		"                    kc-system, kc-aux, update, or all\n"
		"  --overlay-targets LIST  absolute paths where this key's cryptexes may be\n"
		"                    overlaid (a cryptex's target must be one of them or\n"
		"                    below one); without it, none\n"
		"  --rollback-floor N  images with a lower rollback index are refused\n\n"
		"exit codes: 0 written; 1 invalid input (key, DTB, duplicate id);\n"
		"            2 wrong arguments; 3 system error (I/O)\n");
}

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

/* The node's body as DTS source, indented by `ind` tabs. */
static void print_node(FILE *f, const char *ind, const struct si_key *k,
		       const char *id, uint32_t usages, const char *targets, size_t tlen,
		       int has_floor, uint64_t floor)
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
	if (k->algo != SI_ALGO_ECDSA_P256) {
		uint32_t e = 0;
		for (i = 0; i < k->e_len; i++)
			e = e << 8 | k->e[i];
		fprintf(f, "%s\t\trsa-exponent = <%u>;\n", ind, e);
	}
	fprintf(f, "%s\t};\n%s};\n", ind, ind);
}

static int fdt_fail(const char *what, int err)
{
	struct si_diag d;

	si_diag_clear(&d);
	si_diag_text(&d, "libfdt success", fdt_strerror(err));
	return sealctl_report(CMD, what, SI_E_FDT_BAD, &d);
}

static int write_dtb(const char *in, const char *out, const struct si_key *k,
		     const char *id, uint32_t usages, const char *targets, size_t tlen,
		     int has_floor, uint64_t floor)
{
	uint8_t *buf, *fdt;
	size_t len, cap;
	char nodename[SI_KEY_ID_MAX + 8];
	int r, node, key;

	r = sealctl_read_file(in, (size_t)CONFIG_MAX_FDT_KB * 1024, &buf, &len);
	if (r) {
		struct si_diag d;
		si_diag_clear(&d);
		si_diag_errno(&d, errno);
		return sealctl_report(CMD, in, r, &d);
	}
	if (len < 40 || fdt_check_full(buf, len) != 0) {
		free(buf);
		return sealctl_report(CMD, in, SI_E_FDT_BAD, NULL);
	}
	cap = len + 4096 + k->pub_len + tlen;
	fdt = malloc(cap);
	if (!fdt) {
		free(buf);
		return sealctl_report(CMD, in, SI_E_NOMEM, NULL);
	}
	r = fdt_open_into(buf, fdt, (int)cap);
	free(buf);
	if (r) {
		free(fdt);
		return fdt_fail(in, r);
	}
	node = fdt_node_offset_by_compatible(fdt, -1, ANCHOR_COMPAT);
	if (node < 0) {
		node = fdt_add_subnode(fdt, 0, "sealinit");
		if (node < 0 || (r = fdt_setprop_string(fdt, node, "compatible", ANCHOR_COMPAT))) {
			free(fdt);
			return fdt_fail(in, node < 0 ? node : r);
		}
	}
	snprintf(nodename, sizeof nodename, "key-%s", id);
	if (fdt_subnode_offset(fdt, node, nodename) >= 0) {
		free(fdt);
		sealctl_msg(CMD, "%s: the anchor already has a key-%s node", in, id);
		return SEALCTL_FAIL;
	}
	if (has_floor) {
		uint8_t f[8];
		si_put_be32(f, (uint32_t)(floor >> 32));
		si_put_be32(f + 4, (uint32_t)floor);
		if ((r = fdt_setprop(fdt, node, "rollback-floor", f, 8))) {
			free(fdt);
			return fdt_fail(in, r);
		}
	}
	key = fdt_add_subnode(fdt, node, nodename);
	if (key < 0) {
		free(fdt);
		return fdt_fail(in, key);
	}
	r = fdt_setprop_string(fdt, key, "algorithm", si_algo_name(k->algo));
	if (!r) {
		char list[128];
		size_t n = 0;
		unsigned i;

		for (i = 0; i < 6; i++)
			if (usages & (1u << i)) {
				const char *u = si_usage_name((enum si_usage)(1u << i));
				memcpy(list + n, u, strlen(u) + 1);
				n += strlen(u) + 1;
			}
		r = fdt_setprop(fdt, key, "usages", list, (int)n);
	}
	if (!r && tlen)
		r = fdt_setprop(fdt, key, "overlay-targets", targets, (int)tlen);
	if (!r)
		r = fdt_setprop(fdt, key, "public-key", k->pub, k->pub_len);
	if (!r && k->algo != SI_ALGO_ECDSA_P256) {
		uint32_t e = 0;
		unsigned i;
		for (i = 0; i < k->e_len; i++)
			e = e << 8 | k->e[i];
		r = fdt_setprop_u32(fdt, key, "rsa-exponent", e);
	}
	if (!r)
		r = fdt_pack(fdt);
	if (r) {
		free(fdt);
		return fdt_fail(out, r);
	}
	r = sealctl_write_file(out, fdt, fdt_totalsize(fdt));
	free(fdt);
	if (r) {
		struct si_diag d;
		si_diag_clear(&d);
		si_diag_errno(&d, errno);
		return sealctl_report(CMD, out, r, &d);
	}
	return 0;
}

int sealctl_cmd_anchor(int argc, char **argv)
{
	const char *keyp = NULL, *id = NULL, *usages_s = NULL, *floor_s = NULL,
		   *dtb = NULL, *out = NULL, *targets_s = NULL;
	char targets[SI_KEY_TARGETS_BYTES];
	size_t tlen = 0;
	int dtsi = 0, overlay = 0, m, r;
	uint64_t floor = 0;
	uint32_t usages;
	struct si_key k;
	FILE *f = stdout;

	{
		const struct sealcmd_optdef defs[] = {
			{ "--key", &keyp, NULL }, { "--id", &id, NULL }, { "--usages", &usages_s, NULL },
			{ "--rollback-floor", &floor_s, NULL }, { "--dtb", &dtb, NULL },
			{ "--overlay-targets", &targets_s, NULL },
			{ "-o", &out, NULL }, { "--dtsi", NULL, &dtsi }, { "--overlay", NULL, &overlay },
		};
		m = sealcmd_parse(CMD, argc, argv, defs, SI_ARRAY_SIZE(defs), NULL, 0, usage);
		if (m)
			return m == SEALCMD_HELP ? SEALCTL_OK : m;
	}
	if (!keyp || !id || !usages_s || (!!dtb + dtsi + overlay) != 1 || (dtb && !out)) {
		sealctl_msg(CMD, "--key, --id, --usages and one of --dtb IN -o OUT, --dtsi, --overlay are required");
		usage(stderr);
		return SEALCTL_USAGE;
	}
	if (!id_ok(id)) {
		sealctl_msg(CMD, "--id: expected 1..32 of [a-z0-9-], found '%s'", id);
		return SEALCTL_USAGE;
	}
	if (parse_usages(usages_s, &usages)) {
		sealctl_msg(CMD, "--usages: expected a comma list of system, cryptex, kc-boot, kc-system, kc-aux, update, all; found '%s'", usages_s);
		return SEALCTL_USAGE;
	}
	if (floor_s && sealcmd_u64(CMD, "--rollback-floor", floor_s, &floor))
		return SEALCTL_USAGE;
	if (targets_s && !(tlen = parse_targets(targets_s, targets, sizeof targets))) {
		sealctl_msg(CMD, "--overlay-targets: expected 1..%d distinct absolute paths separated by commas (no ., .. or empty parts), found '%s'",
			    SI_KEY_TARGETS_MAX, targets_s);
		return SEALCTL_USAGE;
	}
	r = sealcmd_load_pub(CMD, keyp, &k);
	if (r)
		return r;
	if (dtb) {
		r = write_dtb(dtb, out, &k, id, usages, targets, tlen, !!floor_s, floor);
		if (r)
			return r;
		printf("%s: key-%s (%s) for %s\n", out, id, si_algo_name(k.algo), usages_s);
		return SEALCTL_OK;
	}
	if (out) {
		f = fopen(out, "we");
		if (!f) {
			struct si_diag d;
			si_diag_clear(&d);
			si_diag_errno(&d, errno);
			return sealctl_report(CMD, out, SI_E_OPEN, &d);
		}
	}
	if (overlay) {
		fprintf(f, "/dts-v1/;\n/plugin/;\n\n/* sealinit trust anchor: compile with dtc -@ -I dts -O dtb */\n&{/} {\n");
		print_node(f, "\t", &k, id, usages, targets, tlen, !!floor_s, floor);
		fprintf(f, "};\n");
	} else {
		fprintf(f, "/* sealinit trust anchor (docs/bindings/sealinit,trust-anchor.yaml) */\n/ {\n");
		print_node(f, "\t", &k, id, usages, targets, tlen, !!floor_s, floor);
		fprintf(f, "};\n");
	}
	if (out && fclose(f) != 0)
		return sealctl_report(CMD, out, SI_E_IO, NULL);
	return SEALCTL_OK;
}
