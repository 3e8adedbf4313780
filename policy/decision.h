/* Turning inspection results into reasons of a verdict.  Pure functions: the
 * order of the calls is the order of the reasons (rules, then attachments in
 * message order, then block lists), so the same mail gives the same record. */
#ifndef POSTERN_POLICY_DECISION_H
#define POSTERN_POLICY_DECISION_H

#include "attachments/attachment.h"
#include "policy/inspect.h"
#include "policy/verdict.h"
#include "rbl/rbl.h"

/* Actions for findings that do not come from the rules file. */
struct decision_actions {
	enum rule_action finding[FINDING_KIND_COUNT];
	enum rule_action rbl;
};
void decision_actions_default(struct decision_actions *a);

/* One reason per rule hit, with the rule's action. */
void decision_add_rule_hits(struct verdict *v, const struct rule_hit *hits, size_t n);
/* One reason per finding of the attachment (ClamAV findings as REASON_VIRUS). */
void decision_add_attachment(struct verdict *v, const struct attachment_result *r,
			     const struct decision_actions *a);
/* One reason per listing list when the check reached its threshold; nothing otherwise. */
void decision_add_rbl(struct verdict *v, const struct rbl_result *r,
		      const struct decision_actions *a);

#endif
