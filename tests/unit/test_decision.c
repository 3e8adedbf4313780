/* The verdict value and the decision functions: actions, reason formats,
 * ordering and the caps. */
#include "policy/decision.h"

#include <stdio.h>
#include <string.h>

#include "testlib.h"

static struct rule mk_rule(const char *id, enum rule_action a, const char *header)
{
	struct rule r = {0};
	r.id = (char *)id;
	r.action = a;
	r.header_name = (char *)header;
	r.threshold = 1;
	return r;
}

static void test_empty_is_accept(void)
{
	struct verdict v;
	verdict_init(&v);
	CHECK_STR(verdict_name(&v), "accept");
	CHECK_EQ_U(v.reason_count, 0);
}

static void test_rule_hits(void)
{
	struct rule alert = mk_rule("proj", RULE_ACTION_ALERT, NULL);
	struct rule reset = mk_rule("hdr", RULE_ACTION_RESET, "x-project");
	struct rule_hit hits[2] = {
		{.rule = &alert, .count = 3, .scope = SCOPE_BODY, .part = 1, .offset = 42},
		{.rule = &reset, .count = 1, .scope = SCOPE_HEADER, .offset = 7},
	};
	snprintf(hits[0].excerpt, sizeof hits[0].excerpt, "falcon-123");
	snprintf(hits[1].excerpt, sizeof hits[1].excerpt, "secret");

	struct verdict v;
	verdict_init(&v);
	decision_add_rule_hits(&v, hits, 1);
	CHECK_STR(verdict_name(&v), "accept"); /* an alert alone still accepts */
	CHECK_EQ_U(v.reason_count, 1);
	CHECK_STR(v.reasons[0].id, "proj");
	CHECK_STR(v.reasons[0].scope, "body");
	CHECK_STR(v.reasons[0].excerpt, "falcon-123");
	CHECK_EQ_U(v.reasons[0].offset, 42);
	CHECK_EQ_U(v.reasons[0].part, 1);
	CHECK_EQ_U(v.reasons[0].count, 3);

	decision_add_rule_hits(&v, hits + 1, 1);
	CHECK_STR(verdict_name(&v), "reset");
	CHECK_STR(v.reasons[1].scope, "header:x-project");
	CHECK(v.reasons[1].kind == REASON_RULE);
}

static void test_attachment_findings(void)
{
	struct decision_actions act;
	decision_actions_default(&act);
	CHECK(act.finding[FINDING_VIRUS] == RULE_ACTION_RESET);
	CHECK(act.finding[FINDING_MACRO] == RULE_ACTION_ALERT);

	struct attachment_result r = {0};
	snprintf(r.name, sizeof r.name, "a.zip");
	r.findings[0].kind = FINDING_MACRO;
	snprintf(r.findings[0].path, sizeof r.findings[0].path, "a.zip/x.docm");
	r.findings[1].kind = FINDING_VIRUS;
	snprintf(r.findings[1].path, sizeof r.findings[1].path, "a.zip/eicar.com");
	snprintf(r.findings[1].detail, sizeof r.findings[1].detail, "Eicar-Test-Signature");
	r.finding_count = 1;

	struct verdict v;
	verdict_init(&v);
	decision_add_attachment(&v, &r, &act);
	CHECK_STR(verdict_name(&v), "accept");
	CHECK_STR(v.reasons[0].id, "macro");
	CHECK_STR(v.reasons[0].scope, "a.zip/x.docm");
	CHECK(v.reasons[0].kind == REASON_ATTACHMENT);

	r.finding_count = 2;
	verdict_init(&v);
	decision_add_attachment(&v, &r, &act);
	CHECK_STR(verdict_name(&v), "reset");
	CHECK_EQ_U(v.reason_count, 2);
	CHECK(v.reasons[1].kind == REASON_VIRUS);
	CHECK_STR(v.reasons[1].excerpt, "Eicar-Test-Signature");

	/* An operator who sets every action to alert gets no reset. */
	for (int k = 0; k < FINDING_KIND_COUNT; k++)
		act.finding[k] = RULE_ACTION_ALERT;
	verdict_init(&v);
	decision_add_attachment(&v, &r, &act);
	CHECK_STR(verdict_name(&v), "accept");
	CHECK_EQ_U(v.reason_count, 2);
}

static void test_rbl(void)
{
	struct decision_actions act;
	decision_actions_default(&act);
	struct rbl_result r = {0};
	r.score = 1;
	r.hit_count = 1;
	snprintf(r.hits[0].zone, sizeof r.hits[0].zone, "bl.test");
	snprintf(r.hits[0].query, sizeof r.hits[0].query, "2.0.0.127");
	snprintf(r.hits[0].answer, sizeof r.hits[0].answer, "127.0.0.2");
	r.hits[0].weight = 1;

	struct verdict v;
	verdict_init(&v);
	decision_add_rbl(&v, &r, &act); /* below the threshold: no reason at all */
	CHECK_EQ_U(v.reason_count, 0);
	CHECK_STR(verdict_name(&v), "accept");

	r.listed = true;
	decision_add_rbl(&v, &r, &act);
	CHECK_EQ_U(v.reason_count, 1);
	CHECK_STR(verdict_name(&v), "reset");
	CHECK_STR(v.reasons[0].scope, "bl.test");
	CHECK_STR(v.reasons[0].excerpt, "2.0.0.127 -> 127.0.0.2");
	CHECK(v.reasons[0].kind == REASON_RBL);
}

static void test_cap_never_loses_reset(void)
{
	struct verdict v;
	verdict_init(&v);
	struct verdict_reason alert = {.kind = REASON_RULE, .action = RULE_ACTION_ALERT};
	for (int i = 0; i < VERDICT_MAX_REASONS; i++)
		verdict_add(&v, &alert);
	struct verdict_reason reset = {.kind = REASON_RULE, .action = RULE_ACTION_RESET};
	verdict_add(&v, &reset);
	CHECK_EQ_U(v.reason_count, VERDICT_MAX_REASONS);
	CHECK_EQ_U(v.reasons_dropped, 1);
	CHECK_STR(verdict_name(&v), "reset");
}

int main(void)
{
	RUN(test_empty_is_accept);
	RUN(test_rule_hits);
	RUN(test_attachment_findings);
	RUN(test_rbl);
	RUN(test_cap_never_loses_reset);
	return tl_finish();
}
