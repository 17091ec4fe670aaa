/* sealinit: the kernel command line's sealinit.* options. */
#include <stddef.h>
#include <string.h>

#include "plan/cmdline.h"
#include "lib/str.h"

static void problem(struct si_cmdline *c, int err, const char *opt, size_t len)
{
	if (c->n_problems >= SI_CMDLINE_MAX_PROBLEMS) {
		c->problems_dropped++;
		return;
	}
	c->problems[c->n_problems].err = err;
	si_escape(c->problems[c->n_problems].option,
		  sizeof c->problems[c->n_problems].option, opt, len);
	c->n_problems++;
}

static int is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static int eq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* A partition label as sealinit accepts it: 1..36 of [A-Za-z0-9_.-]. */
static int label_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > SI_CMDLINE_LABEL_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return 0;
	return 1;
}

/* One option "key[=value]" with quotes already removed from the value. */
static void option(struct si_cmdline *c, unsigned *seen, const char *tok,
		   size_t toklen, const char *key, size_t klen,
		   const char *val, size_t vlen, int has_val)
{
	enum { SEEN_TEST = 1, SEEN_FAILURE = 2, SEEN_LOGLEVEL = 4, SEEN_INIT = 8,
	       SEEN_PREBOOT = 16, SEEN_SYSTEM = 32, SEEN_DATA = 64, SEEN_LOADER = 128 };
	static const struct {
		const char *key;
		unsigned seen;
		size_t off;
	} labels[] = {
		{ "preboot", SEEN_PREBOOT, offsetof(struct si_cmdline, preboot) },
		{ "system", SEEN_SYSTEM, offsetof(struct si_cmdline, system) },
		{ "data", SEEN_DATA, offsetof(struct si_cmdline, data) },
	};
	uint64_t n;
	size_t i;

	if (eq(key, klen, "init")) {
		if (*seen & SEEN_INIT) {
			problem(c, SI_E_CMDLINE_DUP, tok, toklen);
			return;
		}
		*seen |= SEEN_INIT;
		if (!has_val || vlen == 0 || vlen >= sizeof c->init || val[0] != '/' ||
		    memchr(val, '\0', vlen)) {
			problem(c, SI_E_CMDLINE_VALUE, tok, toklen);
			return;
		}
		memcpy(c->init, val, vlen);
		c->init[vlen] = '\0';
		return;
	}
	if (klen < 9 || memcmp(key, "sealinit.", 9) != 0)
		return;
	key += 9;
	klen -= 9;
	if (eq(key, klen, "test")) {
		if (*seen & SEEN_TEST) {
			problem(c, SI_E_CMDLINE_DUP, tok, toklen);
			return;
		}
		*seen |= SEEN_TEST;
		if (has_val && eq(val, vlen, "poweroff"))
			c->test = SI_TEST_POWEROFF;
		else
			problem(c, SI_E_CMDLINE_VALUE, tok, toklen);
	} else if (eq(key, klen, "failure")) {
		if (*seen & SEEN_FAILURE) {
			problem(c, SI_E_CMDLINE_DUP, tok, toklen);
			return;
		}
		*seen |= SEEN_FAILURE;
		if (has_val && eq(val, vlen, "panic"))
			c->failure = SI_FAILURE_PANIC;
		else if (has_val && eq(val, vlen, "reboot"))
			c->failure = SI_FAILURE_REBOOT;
		else if (has_val && eq(val, vlen, "rescue"))
			c->failure = SI_FAILURE_RESCUE;
		else
			problem(c, SI_E_CMDLINE_VALUE, tok, toklen);
	} else if (eq(key, klen, "loader")) {
		/* the boot loader fell back from a trial kernel that never
		 * reached sealinit (update/loader.c) */
		if (*seen & SEEN_LOADER) {
			problem(c, SI_E_CMDLINE_DUP, tok, toklen);
			return;
		}
		*seen |= SEEN_LOADER;
		if (has_val && eq(val, vlen, "fallback"))
			c->loader_fallback = 1;
		else
			problem(c, SI_E_CMDLINE_VALUE, tok, toklen);
	} else if (eq(key, klen, "loglevel")) {
		if (*seen & SEEN_LOGLEVEL) {
			problem(c, SI_E_CMDLINE_DUP, tok, toklen);
			return;
		}
		*seen |= SEEN_LOGLEVEL;
		if (has_val && si_parse_u64(val, vlen, 3, 7, &n) == 0)
			c->loglevel = (int)n;
		else
			problem(c, SI_E_CMDLINE_VALUE, tok, toklen);
	} else {
		for (i = 0; i < SI_ARRAY_SIZE(labels); i++) {
			char *dst = (char *)c + labels[i].off;

			if (!eq(key, klen, labels[i].key))
				continue;
			if (*seen & labels[i].seen) {
				problem(c, SI_E_CMDLINE_DUP, tok, toklen);
				return;
			}
			*seen |= labels[i].seen;
			if (!has_val || !label_ok(val, vlen)) {
				problem(c, SI_E_CMDLINE_VALUE, tok, toklen);
				return;
			}
			memcpy(dst, val, vlen);
			dst[vlen] = '\0';
			return;
		}
		problem(c, SI_E_CMDLINE_UNKNOWN, tok, toklen);
	}
}

int si_cmdline_parse(const char *buf, size_t len, struct si_cmdline *out)
{
	struct si_cmdline c;
	unsigned seen = 0;
	size_t i = 0;

	if (len > SI_CMDLINE_MAX)
		return SI_E_TOO_BIG;
	memset(&c, 0, sizeof c);
	while (i < len) {
		size_t start, eqpos = 0, vstart, vend, end;
		int has_val = 0, quoted = 0;

		while (i < len && (is_space(buf[i]) || buf[i] == '\0'))
			i++;
		if (i == len)
			break;
		start = i;
		/* The kernel's next_arg(): quotes may open anywhere and hide
		 * spaces until they close. */
		while (i < len && buf[i] != '\0' && (quoted || !is_space(buf[i]))) {
			if (buf[i] == '"')
				quoted = !quoted;
			else if (buf[i] == '=' && !has_val && !quoted) {
				has_val = 1;
				eqpos = i;
			}
			i++;
		}
		end = i;
		/* "--" ends the kernel's options: what follows is init's
		 * arguments (the kernel hands them to init, never parses
		 * them), so it is not ours either. */
		if (end - start == 2 && buf[start] == '-' && buf[start + 1] == '-')
			break;
		if (quoted) {
			problem(&c, SI_E_CMDLINE_VALUE, buf + start, end - start);
			continue;
		}
		if (!has_val) {
			option(&c, &seen, buf + start, end - start, buf + start,
			       end - start, NULL, 0, 0);
			continue;
		}
		vstart = eqpos + 1;
		vend = end;
		if (vend - vstart >= 2 && buf[vstart] == '"' && buf[vend - 1] == '"') {
			vstart++;
			vend--;
		}
		if (memchr(buf + vstart, '"', vend - vstart) ||
		    memchr(buf + start, '"', eqpos - start)) {
			/* Quotes only around a whole value. */
			if (eqpos - start >= 9 && !memcmp(buf + start, "sealinit.", 9))
				problem(&c, SI_E_CMDLINE_VALUE, buf + start, end - start);
			continue;
		}
		option(&c, &seen, buf + start, end - start, buf + start, eqpos - start,
		       buf + vstart, vend - vstart, 1);
	}
	*out = c;
	return 0;
}
