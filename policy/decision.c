#include "policy/decision.h"

#include <stdio.h>
#include <string.h>

void decision_actions_default(struct decision_actions *a)
{
	/* Findings that are near-certain harm reset; the rest alert, because
	 * blocking every encrypted archive or macro document breaks real work. */
	for (int k = 0; k < FINDING_KIND_COUNT; k++)
		a->finding[k] = RULE_ACTION_ALERT;
	a->finding[FINDING_BLOCKED_EXTENSION] = RULE_ACTION_RESET;
	a->finding[FINDING_TYPE_MISMATCH] = RULE_ACTION_RESET;
	a->finding[FINDING_ARCHIVE_BOMB] = RULE_ACTION_RESET;
	a->finding[FINDING_HASH_LISTED] = RULE_ACTION_RESET;
	a->finding[FINDING_VIRUS] = RULE_ACTION_RESET;
	a->rbl = RULE_ACTION_RESET;
}

static void copy(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

void decision_add_rule_hits(struct verdict *v, const struct rule_hit *hits, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct rule_hit *h = &hits[i];
		struct verdict_reason r = {.kind = REASON_RULE, .action = h->rule->action};
		copy(r.id, sizeof r.id, h->rule->id);
		if (h->scope == SCOPE_HEADER && h->rule->header_name)
			snprintf(r.scope, sizeof r.scope, "header:%s", h->rule->header_name);
		else
			copy(r.scope, sizeof r.scope, rule_scope_name(h->scope));
		copy(r.excerpt, sizeof r.excerpt, h->excerpt);
		r.offset = h->offset;
		r.part = h->part;
		r.count = h->count;
		verdict_add(v, &r);
	}
}

void decision_add_attachment(struct verdict *v, const struct attachment_result *res,
			     const struct decision_actions *a)
{
	for (uint32_t i = 0; i < res->finding_count; i++) {
		const struct attachment_finding *f = &res->findings[i];
		struct verdict_reason r = {
			.kind = f->kind == FINDING_VIRUS ? REASON_VIRUS : REASON_ATTACHMENT,
			.action = a->finding[f->kind],
			.count = 1,
		};
		copy(r.id, sizeof r.id, attachment_finding_name(f->kind));
		copy(r.scope, sizeof r.scope, f->path);
		copy(r.excerpt, sizeof r.excerpt, f->detail);
		verdict_add(v, &r);
	}
}

void decision_add_rbl(struct verdict *v, const struct rbl_result *res,
		      const struct decision_actions *a)
{
	if (!res->listed)
		return;
	for (uint32_t i = 0; i < res->hit_count; i++) {
		const struct rbl_hit *h = &res->hits[i];
		struct verdict_reason r = {.kind = REASON_RBL, .action = a->rbl,
					   .count = (uint32_t)(h->weight > 0 ? h->weight : 0)};
		copy(r.id, sizeof r.id, "rbl");
		copy(r.scope, sizeof r.scope, h->zone);
		snprintf(r.excerpt, sizeof r.excerpt, "%s -> %s", h->query, h->answer);
		verdict_add(v, &r);
	}
}
