/* A decision is a value: the verdict of one transaction with its reasons.
 * Everything downstream (JSON event, LMDB record, syslog, kernel verdict,
 * injection) reads this value. */
#ifndef POSTERN_POLICY_VERDICT_H
#define POSTERN_POLICY_VERDICT_H

#include <stddef.h>
#include <stdint.h>

#include "policy/rules.h"

enum reason_kind {
	REASON_RULE = 0,     /* a rules-file rule (keyword, regex or DLP detector) */
	REASON_ATTACHMENT,   /* an attachment finding (blocked extension, macro, ...) */
	REASON_VIRUS,        /* ClamAV */
	REASON_RBL,          /* DNS block lists */
	REASON_SERVICE,      /* the mail-service policy: a webmail service denied or not approved */
};
const char *reason_kind_name(enum reason_kind k);

struct verdict_reason {
	enum reason_kind kind;
	enum rule_action action;
	char id[64];         /* rule id, finding name ("macro"...), "virus", "rbl" */
	char scope[64];      /* rule scope ("body", "header:subject"), attachment path, list zone */
	char excerpt[128];   /* matched text (masked for detectors), AV signature, listed query */
	uint64_t offset;     /* end offset of the first match in its field/stream */
	uint32_t part;
	uint32_t count;      /* matches, validated detections, or RBL score */
};

#define VERDICT_MAX_REASONS 32
struct verdict {
	enum rule_action action;   /* ALERT with no reasons = clean accept */
	struct verdict_reason reasons[VERDICT_MAX_REASONS];
	uint32_t reason_count;
	uint32_t reasons_dropped;
};
/* "accept" or "reset": an alert-only decision still accepts. */
const char *verdict_name(const struct verdict *v);

void verdict_init(struct verdict *v);
/* Add a reason (raises v->action to r->action); counted in reasons_dropped past the cap. */
void verdict_add(struct verdict *v, const struct verdict_reason *r);

#endif
