/* sealinit plan/: status.json (plan/status.h). */
#include <string.h>

#include "lib/str.h"
#include "plan/status.h"

static void json_str(struct si_buf *sb, const char *s)
{
	si_buf_puts(sb, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			si_buf_printf(sb, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			si_buf_printf(sb, "\\u%04x", c);
		else
			si_buf_putn(sb, (const char *)&c, 1);
	}
	si_buf_puts(sb, "\"");
}

static void image(struct si_buf *sb, int first, const struct si_seal *s,
		  const struct si_anchor *a, const char *on)
{
	char root[2 * SI_SEAL_DIGEST_MAX + 1];

	si_hex(root, s->m.root_hash, s->m.root_hash_len);
	si_buf_printf(sb, "%s\n    {\"name\": ", first ? "" : ",");
	json_str(sb, s->m.name);
	si_buf_puts(sb, ", \"kind\": ");
	json_str(sb, si_seal_kind_name(s->m.kind));
	si_buf_puts(sb, ", \"version\": ");
	json_str(sb, s->m.version);
	si_buf_printf(sb, ", \"rollback_index\": %llu, \"root_hash\": \"%s\", \"key_id\": ",
		      (unsigned long long)s->m.rollback_index, root);
	json_str(sb, a->keys[s->key_index].id);
	si_buf_puts(sb, ", \"mounted_on\": ");
	json_str(sb, on);
	si_buf_puts(sb, "}");
}

static const char *outcome_name(enum up_outcome o)
{
	static const char *const n[] = { "none", "applied", "confirmed", "rolled-back", "reverted",
					 "refused", "failed" };

	return (unsigned)o < SI_ARRAY_SIZE(n) ? n[o] : "?";
}

/* The release booted and the update state: what `sealctl status` says,
 * for the OS that does not run it. */
static void release(struct si_buf *sb, const struct plan *p, const struct up_state *st)
{
	char hex[65];

	si_buf_puts(sb, ",\n  \"release\": ");
	if (!p->has_set) {
		si_buf_puts(sb, "null");
	} else {
		si_buf_puts(sb, "{\"slot\": ");
		json_str(sb, p->slot);
		si_buf_puts(sb, ", \"name\": ");
		json_str(sb, p->set.name);
		si_buf_puts(sb, ", \"version\": ");
		json_str(sb, p->set.version);
		si_hex(hex, p->set.digest, 32);
		si_buf_printf(sb, ", \"rollback_index\": %llu, \"set_digest\": \"%s\"}",
			      (unsigned long long)p->set.rollback_index, hex);
	}
	si_buf_puts(sb, ",\n  \"update\": ");
	if (!st) {
		si_buf_puts(sb, "null");
		return;
	}
	si_buf_printf(sb, "{\"confirmed\": %s, \"trial_boots_left\": %u, \"trial_boots\": %u, "
		      "\"previous_slot\": ", st->flags & UP_STATE_CONFIRMED ? "true" : "false",
		      st->flags & UP_STATE_CONFIRMED ? 0u : (unsigned)st->trial_left,
		      (unsigned)st->trial_total);
	if (st->previous)
		json_str(sb, up_slot_dir(st->previous));
	else
		si_buf_puts(sb, "null");
	si_buf_printf(sb, ", \"revert_requested\": %s, \"last\": \"%s\", \"last_text\": ",
		      st->flags & UP_STATE_REVERT ? "true" : "false", outcome_name(st->outcome));
	json_str(sb, st->outcome_text);
	si_buf_puts(sb, "}");
}

size_t plan_status_json(const struct plan *p, const struct plan_board *b,
			const struct si_anchor *a, const char *release_name,
			const struct up_state *st,
			const struct plan_timing *t, unsigned n_t, unsigned total_us,
			char *out, size_t cap, int *truncated)
{
	struct si_buf sb;
	unsigned i, k = 0;

	si_buf_init(&sb, out, cap);
	si_buf_puts(&sb, "{\n  \"board\": ");
	json_str(&sb, b->name);
	si_buf_puts(&sb, ",\n  \"kernel_release\": ");
	json_str(&sb, release_name ? release_name : "");
	release(&sb, p, st);
	si_buf_puts(&sb, ",\n  \"verified\": [");
	if (p->kc.state == PLAN_IMG_USE)
		image(&sb, k++ == 0, &p->kc.seal, a, "(memory)");
	if (p->sys.state == PLAN_IMG_USE)
		image(&sb, k++ == 0, &p->sys.seal, a, "/");
	if (p->ksys.state == PLAN_IMG_USE)
		image(&sb, k++ == 0, &p->ksys.seal, a, PLAN_MODULES_DIR);
	if (p->aux.state == PLAN_IMG_USE)
		image(&sb, k++ == 0, &p->aux.seal, a, PLAN_MODULES_DIR);
	for (i = 0; i < p->n_cx; i++)
		if (p->cx[i].img.state == PLAN_IMG_USE)
			image(&sb, k++ == 0, &p->cx[i].img.seal, a, p->cx[i].target);
	si_buf_puts(&sb, "\n  ],\n  \"skipped\": [");
	k = 0;
	if (p->aux.state == PLAN_IMG_SKIP) {
		si_buf_puts(&sb, "\n    {\"name\": ");
		json_str(&sb, p->aux.file);
		si_buf_puts(&sb, ", \"reason\": ");
		json_str(&sb, p->aux.reason);
		si_buf_puts(&sb, "}");
		k++;
	}
	for (i = 0; i < p->n_cx; i++) {
		if (p->cx[i].img.state != PLAN_IMG_SKIP)
			continue;
		si_buf_printf(&sb, "%s\n    {\"name\": ", k++ ? "," : "");
		json_str(&sb, p->cx[i].name);
		si_buf_puts(&sb, ", \"reason\": ");
		json_str(&sb, p->cx[i].img.reason);
		si_buf_puts(&sb, "}");
	}
	si_buf_puts(&sb, "\n  ],\n  \"timing_us\": {");
	for (i = 0; i < n_t; i++)
		si_buf_printf(&sb, "%s\"%s\": %u", i ? ", " : "", t[i].name, t[i].us);
	si_buf_printf(&sb, "%s\"total\": %u}\n}\n", n_t ? ", " : "", total_us);
	if (truncated)
		*truncated = sb.truncated;
	return sb.len;
}
