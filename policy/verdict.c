#include "policy/verdict.h"

#include <string.h>

const char *reason_kind_name(enum reason_kind k)
{
	switch (k) {
	case REASON_RULE: return "rule";
	case REASON_ATTACHMENT: return "attachment";
	case REASON_VIRUS: return "virus";
	case REASON_RBL: return "rbl";
	case REASON_SERVICE: return "service";
	}
	return "unknown";
}

const char *verdict_name(const struct verdict *v)
{
	return v->action == RULE_ACTION_RESET ? "reset" : "accept";
}

void verdict_init(struct verdict *v)
{
	memset(v, 0, sizeof *v);
	v->action = RULE_ACTION_ALERT;
}

void verdict_add(struct verdict *v, const struct verdict_reason *r)
{
	/* The action is raised even when the reason itself no longer fits:
	 * a dropped reason must never turn a reset into an accept. */
	if (r->action > v->action)
		v->action = r->action;
	if (v->reason_count >= VERDICT_MAX_REASONS) {
		v->reasons_dropped++;
		return;
	}
	v->reasons[v->reason_count++] = *r;
}
