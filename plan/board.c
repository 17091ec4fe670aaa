/* sealinit plan/: the board's configuration (plan/plan.h), from the build's
 * Kconfig values or from a .config file that doctor reads. */
#include <string.h>

#include "lib/str.h"
#include "plan/plan.h"

#ifndef CONFIG_CRYPTEX_TARGETS
#define CONFIG_CRYPTEX_TARGETS ""
#endif
#ifndef CONFIG_UBOOT_KEY_USAGES
#define CONFIG_UBOOT_KEY_USAGES ""
#endif
#ifndef CONFIG_SYSTEM_NAME
#define CONFIG_SYSTEM_NAME "system"
#endif
#ifndef CONFIG_DATA_MOUNT
#define CONFIG_DATA_MOUNT "/data"
#endif

/* Usage names separated by spaces or commas into a mask; unknown names are
 * refused (returns -1). */
static int usages_from_list(const char *s, size_t len, uint32_t *out)
{
	uint32_t m = 0, u;
	size_t i = 0, start;

	while (i < len) {
		while (i < len && (s[i] == ' ' || s[i] == ','))
			i++;
		start = i;
		while (i < len && s[i] != ' ' && s[i] != ',')
			i++;
		if (i == start)
			break;
		u = si_usage_from_name(s + start, i - start);
		if (!u)
			return -1;
		m |= u;
	}
	*out = m;
	return 0;
}

static void copy(char *dst, size_t n, const char *src)
{
	struct si_buf b;

	si_buf_init(&b, dst, n);
	si_buf_puts(&b, src);
}

void plan_board_kconfig(struct plan_board *b)
{
	memset(b, 0, sizeof *b);
	copy(b->name, sizeof b->name, CONFIG_BOARD);
	copy(b->preboot_label, sizeof b->preboot_label, CONFIG_PREBOOT_LABEL);
	copy(b->system_label, sizeof b->system_label, CONFIG_SYSTEM_LABEL);
	copy(b->data_label, sizeof b->data_label, CONFIG_DATA_LABEL);
	copy(b->system_name, sizeof b->system_name, CONFIG_SYSTEM_NAME);
	copy(b->kc_boot_path, sizeof b->kc_boot_path, CONFIG_KC_BOOT_PATH);
	copy(b->kc_aux_path, sizeof b->kc_aux_path, CONFIG_KC_AUX_PATH);
	copy(b->cryptex_dir, sizeof b->cryptex_dir, CONFIG_CRYPTEX_DIR);
	copy(b->required, sizeof b->required, CONFIG_REQUIRED_CRYPTEXES);
	copy(b->cryptex_targets, sizeof b->cryptex_targets, CONFIG_CRYPTEX_TARGETS);
	copy(b->real_init, sizeof b->real_init, CONFIG_REAL_INIT);
	copy(b->data_mount, sizeof b->data_mount, CONFIG_DATA_MOUNT);
	b->cmdline_allow = (IS_ENABLED(CONFIG_CMDLINE_LABELS) ? PLAN_ALLOW_LABELS : 0) |
			   (IS_ENABLED(CONFIG_CMDLINE_INIT) ? PLAN_ALLOW_INIT : 0) |
			   (IS_ENABLED(CONFIG_CMDLINE_FAILURE) ? PLAN_ALLOW_FAILURE : 0);
	b->data_noexec = IS_ENABLED(CONFIG_DATA_NOEXEC);
	b->test_hooks = IS_ENABLED(CONFIG_TEST_HOOKS);
	b->failure = IS_ENABLED(CONFIG_FAILURE_PANIC) ? SI_FAILURE_PANIC :
		     IS_ENABLED(CONFIG_FAILURE_RESCUE) ? SI_FAILURE_RESCUE : SI_FAILURE_REBOOT;
	b->insecure_uboot_all = IS_ENABLED(CONFIG_INSECURE_UBOOT_KEYS_ALL_USAGES);
	b->insecure_no_set = IS_ENABLED(CONFIG_INSECURE_NO_SET);
	b->insecure_tpm_optional = IS_ENABLED(CONFIG_INSECURE_TPM_OPTIONAL);
	b->trial_boots = CONFIG_TRIAL_BOOTS;
	if (b->insecure_uboot_all)
		b->uboot_usages = SI_USAGE_ALL;
	else if (usages_from_list(CONFIG_UBOOT_KEY_USAGES, strlen(CONFIG_UBOOT_KEY_USAGES),
				  &b->uboot_usages) != 0)
		b->uboot_usages = 0; /* Kconfig's help lists the names */
	b->kc_max = (uint64_t)CONFIG_KC_BOOT_MAX_KB * 1024;
	b->max_cryptexes = CONFIG_MAX_CRYPTEXES;
}

/* ------------------------------------------------------------ .config */

enum opt_type { OPT_STR, OPT_BOOL, OPT_INT };

struct opt {
	const char *name;         /* without CONFIG_ */
	enum opt_type type;
	size_t off;               /* string field, or int/bool field */
	size_t size;              /* string field's size */
	unsigned bit;             /* OPT_BOOL into cmdline_allow when non-zero */
};

#define STR(n, f) { n, OPT_STR, offsetof(struct plan_board, f), sizeof(((struct plan_board *)0)->f), 0 }
#define BOOL(n, f) { n, OPT_BOOL, offsetof(struct plan_board, f), 0, 0 }
#define ALLOW(n, bit) { n, OPT_BOOL, offsetof(struct plan_board, cmdline_allow), 0, bit }

static const struct opt opts[] = {
	STR("BOARD", name),
	STR("PREBOOT_LABEL", preboot_label),
	STR("SYSTEM_LABEL", system_label),
	STR("DATA_LABEL", data_label),
	STR("SYSTEM_NAME", system_name),
	STR("KC_BOOT_PATH", kc_boot_path),
	STR("KC_AUX_PATH", kc_aux_path),
	STR("CRYPTEX_DIR", cryptex_dir),
	STR("REQUIRED_CRYPTEXES", required),
	STR("CRYPTEX_TARGETS", cryptex_targets),
	STR("REAL_INIT", real_init),
	STR("DATA_MOUNT", data_mount),
	ALLOW("CMDLINE_LABELS", PLAN_ALLOW_LABELS),
	ALLOW("CMDLINE_INIT", PLAN_ALLOW_INIT),
	ALLOW("CMDLINE_FAILURE", PLAN_ALLOW_FAILURE),
	BOOL("DATA_NOEXEC", data_noexec),
	BOOL("TEST_HOOKS", test_hooks),
	BOOL("INSECURE_UBOOT_KEYS_ALL_USAGES", insecure_uboot_all),
	BOOL("INSECURE_NO_SET", insecure_no_set),
	BOOL("INSECURE_TPM_OPTIONAL", insecure_tpm_optional),
	{ "UBOOT_KEY_USAGES", OPT_STR, 0, 0, 0 },     /* parsed into uboot_usages */
	{ "FAILURE_PANIC", OPT_BOOL, 0, 0, 0 },       /* the failure choice */
	{ "FAILURE_REBOOT", OPT_BOOL, 0, 0, 0 },
	{ "FAILURE_RESCUE", OPT_BOOL, 0, 0, 0 },
	{ "KC_BOOT_MAX_KB", OPT_INT, offsetof(struct plan_board, kc_max), 0, 0 },
	{ "MAX_CRYPTEXES", OPT_INT, offsetof(struct plan_board, max_cryptexes), 0, 0 },
	{ "TRIAL_BOOTS", OPT_INT, offsetof(struct plan_board, trial_boots), 0, 0 },
};

static int line_fail(struct si_diag *d, size_t off, const char *line, size_t n)
{
	si_diag_where(d, line, n);
	return si_diag_at(d, SI_E_CONFIG, "config line", off);
}

/* One "CONFIG_NAME=value" (or "# CONFIG_NAME is not set") line. */
static int config_line(struct plan_board *b, const char *l, size_t n, size_t off,
		       struct si_diag *d)
{
	const char *name, *val;
	size_t nlen, vlen, i;
	const struct opt *o = NULL;
	int unset = 0;

	if (n >= 2 && l[0] == '#' && l[1] == ' ' && n > 9 + 11 &&
	    !memcmp(l + 2, "CONFIG_", 7) && !memcmp(l + n - 11, " is not set", 11)) {
		name = l + 9;
		nlen = n - 9 - 11;
		val = NULL;
		vlen = 0;
		unset = 1;
	} else if (n == 0 || l[0] == '#') {
		return 0;
	} else {
		const char *eq = memchr(l, '=', n);

		if (n < 8 || memcmp(l, "CONFIG_", 7) || !eq)
			return line_fail(d, off, l, n);
		name = l + 7;
		nlen = (size_t)(eq - name);
		val = eq + 1;
		vlen = n - (size_t)(val - l);
	}
	for (i = 0; i < SI_ARRAY_SIZE(opts); i++)
		if (strlen(opts[i].name) == nlen && !memcmp(opts[i].name, name, nlen))
			o = &opts[i];
	if (!o)
		return 0; /* another option: not the planner's */
	switch (o->type) {
	case OPT_STR: {
		char tmp[PLAN_LIST_MAX];

		if (unset)
			vlen = 0;
		else if (vlen < 2 || val[0] != '"' || val[vlen - 1] != '"' ||
			 memchr(val + 1, '"', vlen - 2) || memchr(val + 1, '\\', vlen - 2))
			return line_fail(d, off, l, n);
		else
			val++, vlen -= 2;
		if (vlen >= sizeof tmp || (o->size && vlen >= o->size)) {
			si_diag_values(d, (o->size ? o->size : sizeof tmp) - 1, vlen);
			si_diag_where(d, l, n);
			return si_diag_at(d, SI_E_TOO_BIG, "config line", off);
		}
		memcpy(tmp, val ? val : "", vlen);
		tmp[vlen] = '\0';
		if (!strcmp(o->name, "UBOOT_KEY_USAGES")) {
			if (usages_from_list(tmp, vlen, &b->uboot_usages) != 0)
				return line_fail(d, off, l, n);
		} else {
			memcpy((char *)b + o->off, tmp, vlen + 1);
		}
		return 0;
	}
	case OPT_BOOL: {
		int on;

		if (unset)
			on = 0;
		else if (vlen == 1 && val[0] == 'y')
			on = 1;
		else if (vlen == 1 && val[0] == 'n')
			on = 0;
		else
			return line_fail(d, off, l, n);
		if (!strcmp(o->name, "FAILURE_PANIC") && on)
			b->failure = SI_FAILURE_PANIC;
		else if (!strcmp(o->name, "FAILURE_REBOOT") && on)
			b->failure = SI_FAILURE_REBOOT;
		else if (!strcmp(o->name, "FAILURE_RESCUE") && on)
			b->failure = SI_FAILURE_RESCUE;
		else if (o->bit)
			b->cmdline_allow = on ? b->cmdline_allow | o->bit : b->cmdline_allow & ~o->bit;
		else if (o->off)
			*(int *)(void *)((char *)b + o->off) = on;
		return 0;
	}
	case OPT_INT: {
		uint64_t v;

		if (unset || si_parse_u64(val, vlen, 1, UINT32_MAX, &v) != 0)
			return line_fail(d, off, l, n);
		if (!strcmp(o->name, "KC_BOOT_MAX_KB"))
			b->kc_max = v * 1024;
		else if (!strcmp(o->name, "TRIAL_BOOTS"))
			b->trial_boots = v > 15 ? 15 : (unsigned)v;
		else
			b->max_cryptexes = v > CONFIG_MAX_CRYPTEXES ? CONFIG_MAX_CRYPTEXES : (unsigned)v;
		return 0;
	}
	}
	return 0;
}

int plan_board_parse_config(const char *buf, size_t len, struct plan_board *b,
			    struct si_diag *d)
{
	struct plan_board nb;
	size_t pos = 0;
	int r;

	if (!buf || !b)
		return SI_E_ARG;
	if (len > 1024 * 1024) {
		si_diag_values(d, 1024 * 1024, len);
		return SI_E_TOO_BIG;
	}
	nb = *b;
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;

		r = config_line(&nb, buf + pos, n, pos, d);
		if (r)
			return r;
		pos += n + (nl ? 1 : 0);
	}
	if (nb.insecure_uboot_all)
		nb.uboot_usages = SI_USAGE_ALL;
	*b = nb;
	return 0;
}
