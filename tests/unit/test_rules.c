/* Rules file loading: a good file gives the rules with their defaults; every
 * kind of error is reported with its line; all errors are collected; libconfig
 * syntax errors keep libconfig's line; includes; big generated sets compile. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "policy/rules.h"
#include "testlib.h"

static struct rule_errors errs;

static struct ruleset *load(const char *text)
{
	rule_errors_free(&errs);
	rule_errors_init(&errs, 64);
	return ruleset_load_mem("t.rules", text, strlen(text), &errs);
}

/* An error on line with reason containing what. */
static bool has_error(unsigned line, const char *what)
{
	for (size_t i = 0; i < errs.count; i++)
		if (errs.v[i].line == line && strstr(errs.v[i].reason, what) &&
		    strcmp(errs.v[i].file, "t.rules") == 0)
			return true;
	fprintf(stderr, "  no error on line %u with \"%s\"; have:\n", line, what);
	for (size_t i = 0; i < errs.count; i++)
		fprintf(stderr, "    %s:%u: %s\n", errs.v[i].file, errs.v[i].line, errs.v[i].reason);
	return false;
}

static const char good[] =
	"rules = (\n"
	"  { id = \"kr-confidential\"; description = \"Korean 'confidential' marking\";\n"
	"    scope = [\"subject\", \"body\", \"attachment.content\"]; keyword = \"대외비\"; threshold = 1;\n"
	"    direction = \"outbound\"; action = \"reset\"; },\n"
	"  { id = \"proj-x\"; scope = \"header:X-Project\"; regex = \"falcon-[0-9]+\"; nocase = true; action = \"alert\"; },\n"
	"  { id = \"cards\"; scope = \"body\"; detector = \"card\"; threshold = 5; action = \"reset\"; direction = \"outbound\"; },\n"
	"  { id = \"jp\"; scope = (\"attachment.name\", \"mail_from\", \"rcpt\", \"attachment.type\"); keyword = \"社外秘\"; }\n"
	");\n";

static void test_good_file(void)
{
	struct ruleset *rs = load(good);
	CHECK(rs != NULL);
	CHECK_EQ_U(errs.count, 0);
	if (!rs)
		return;
	CHECK_EQ_U(ruleset_count(rs), 4);
	CHECK(ruleset_db_bytes(rs) > 0);
	const struct rule *r = ruleset_rule(rs, 0);
	CHECK_STR(r->id, "kr-confidential");
	CHECK_STR(r->description, "Korean 'confidential' marking");
	CHECK_EQ_U(r->scopes, (1u << SCOPE_SUBJECT) | (1u << SCOPE_BODY) | (1u << SCOPE_ATTACH_CONTENT));
	CHECK_EQ_U(r->match, RULE_MATCH_KEYWORD);
	CHECK_STR(r->pattern, "대외비");
	CHECK_EQ_U(r->direction, RULE_DIR_OUTBOUND);
	CHECK_EQ_U(r->action, RULE_ACTION_RESET);
	CHECK_EQ_U(r->line, 2);
	r = ruleset_rule(rs, 1);
	CHECK_EQ_U(r->scopes, 1u << SCOPE_HEADER);
	CHECK_STR(r->header_name, "x-project");
	CHECK_EQ_U(r->match, RULE_MATCH_REGEX);
	CHECK(r->nocase);
	CHECK_EQ_U(r->threshold, 1);
	CHECK_EQ_U(r->direction, RULE_DIR_ANY);
	CHECK_EQ_U(r->line, 5);
	r = ruleset_rule(rs, 2);
	CHECK_EQ_U(r->match, RULE_MATCH_DETECTOR);
	CHECK_EQ_U(r->detector, DLP_CARD);
	CHECK(r->pattern == NULL);
	CHECK_EQ_U(r->threshold, 5);
	r = ruleset_rule(rs, 3);
	CHECK_STR(r->pattern, "社外秘");
	CHECK_EQ_U(r->action, RULE_ACTION_ALERT);
	CHECK(!r->nocase);
	CHECK(r->description == NULL);
	CHECK_EQ_U(r->scopes, (1u << SCOPE_ATTACH_NAME) | (1u << SCOPE_MAIL_FROM) | (1u << SCOPE_RCPT) |
				      (1u << SCOPE_ATTACH_TYPE));
	CHECK(ruleset_rule(rs, 4) == NULL);
	ruleset_free(rs);
}

static void test_empty(void)
{
	struct ruleset *rs = load("");
	CHECK(rs != NULL);
	CHECK_EQ_U(ruleset_count(rs), 0);
	ruleset_free(rs);
	rs = load("# nothing\nrules = ();\n");
	CHECK(rs != NULL);
	CHECK_EQ_U(ruleset_count(rs), 0);
	ruleset_free(rs);
}

/* One error kind per rule, each on its own line: all are reported. */
static void test_every_error(void)
{
	static const char text[] =
		"rules = (\n"
		/* 2 */ "  { id = \"a\"; scope = \"body\"; keyword = \"x\"; treshold = 2; },\n"
		/* 3 */ "  { id = \"a\"; scope = \"body\"; keyword = \"y\"; },\n"
		/* 4 */ "  { id = \"b\"; scope = \"bdy\"; keyword = \"x\"; },\n"
		/* 5 */ "  { id = \"c\"; scope = \"header\"; keyword = \"x\"; },\n"
		/* 6 */ "  { id = \"d\"; scope = \"body\"; keyword = \"\"; },\n"
		/* 7 */ "  { id = \"e\"; scope = \"body\"; keyword = \"x\"; threshold = 0; },\n"
		/* 8 */ "  { id = \"f\"; scope = \"body\"; detector = \"iban\"; },\n"
		/* 9 */ "  { id = \"g\"; scope = \"subject\"; regex = \"(unclosed\"; },\n"
		/* 10 */ "  { id = \"h\"; scope = \"body\"; keyword = \"x\"; regex = \"y\"; },\n"
		/* 11 */ "  { id = \"i\"; scope = \"body\"; },\n"
		/* 12 */ "  { scope = \"body\"; keyword = \"x\"; },\n"
		/* 13 */ "  { id = \"j\"; keyword = \"x\"; },\n"
		/* 14 */ "  { id = \"k\"; scope = \"body\"; keyword = \"x\"; threshold = \"5\"; },\n"
		/* 15 */ "  { id = \"l\"; scope = \"body\"; keyword = \"x\"; direction = \"out\"; },\n"
		/* 16 */ "  { id = \"m\"; scope = \"body\"; keyword = \"x\"; action = \"drop\"; },\n"
		/* 17 */ "  { id = \"n\"; scope = (\"body\", 3); keyword = \"x\"; },\n"
		/* 18 */ "  { id = \"o\"; scope = [\"header:a\", \"header:b\"]; keyword = \"x\"; },\n"
		/* 19 */ "  { id = \"p\"; scope = \"body\"; keyword = \"x\"; nocase = 1; },\n"
		/* 20 */ "  { id = \"has space\"; scope = \"body\"; keyword = \"x\"; },\n"
		/* 21 */ "  \"not a group\",\n"
		/* 22 */ "  { id = \"q\"; scope = [\"body\", \"body\"]; keyword = \"x\"; },\n"
		/* 23 */ "  { id = \"r\"; scope = \"header:\"; keyword = \"x\"; },\n"
		/* 24 */ "  { id = \"s\"; scope = \"body\"; regex = \"a{2,1}\"; },\n"
		/* 25 */ "  { id = \"t\"; scope = \"body\"; keyword = \"x\"; threshold = 2000000; }\n"
		");\n"
		/* 27 */ "rule = ();\n";
	struct ruleset *rs = load(text);
	CHECK(rs == NULL);
	CHECK(has_error(2, "unknown key 'treshold'"));
	CHECK(has_error(3, "duplicate id (first defined on line 2)"));
	CHECK(has_error(4, "unknown scope 'bdy'"));
	CHECK(has_error(5, "needs a field name"));
	CHECK(has_error(6, "empty keyword"));
	CHECK(has_error(7, "threshold 0 out of range"));
	CHECK(has_error(8, "unknown detector 'iban'"));
	CHECK(has_error(9, "rule 'g': regex rejected by Hyperscan"));
	CHECK(has_error(10, "exactly one of"));
	CHECK(has_error(11, "needs one of"));
	CHECK(has_error(12, "missing 'id'"));
	CHECK(has_error(13, "missing 'scope'"));
	CHECK(has_error(14, "'threshold' must be an integer"));
	CHECK(has_error(15, "direction 'out'"));
	CHECK(has_error(16, "action 'drop'"));
	CHECK(has_error(17, "scope entries must be strings"));
	CHECK(has_error(18, "only one header:NAME"));
	CHECK(has_error(19, "'nocase' must be true or false"));
	CHECK(has_error(20, "id must be"));
	CHECK(has_error(21, "not a group"));
	CHECK(has_error(22, "listed twice"));
	CHECK(has_error(23, "header name must be"));
	CHECK(has_error(24, "rule 's': regex rejected by Hyperscan"));
	CHECK(has_error(25, "out of range"));
	CHECK(has_error(27, "unknown top-level setting 'rule'"));
	CHECK_EQ_U(errs.count, 25);
	CHECK_EQ_U(errs.dropped, 0);
	rule_errors_free(&errs);
}

/* A valid file except for regexes: the combined compile fails and the
 * per-regex compiles name each bad rule. */
static void test_regex_errors_named(void)
{
	static const char text[] =
		"rules = (\n"
		"  { id = \"ok1\"; scope = [\"body\", \"subject\"]; keyword = \"fine\"; },\n"
		"  { id = \"bad1\"; scope = [\"body\", \"subject\"]; regex = \"[z-a]\"; },\n"
		"  { id = \"ok2\"; scope = \"body\"; regex = \"good[0-9]+\"; },\n"
		"  { id = \"bad2\"; scope = \"body\"; regex = \"x(?<=y)\"; },\n"
		"  { id = \"empty\"; scope = \"rcpt\"; regex = \"a*\"; }\n"
		");\n";
	struct ruleset *rs = load(text);
	CHECK(rs == NULL);
	CHECK(has_error(3, "rule 'bad1': regex rejected by Hyperscan"));
	CHECK(has_error(5, "rule 'bad2': regex rejected by Hyperscan"));
	CHECK(has_error(6, "rule 'empty': regex rejected by Hyperscan"));
	CHECK_EQ_U(errs.count, 3); /* bad1 once, though in two scopes */
}

static void test_syntax_error(void)
{
	static const char text[] =
		"rules = (\n"
		"  { id = \"a\"; scope = \"body\"; keyword = \"x\"; },\n"
		"  { id = \"b\"; scope = = \"body\"; keyword = \"x\"; }\n"
		");\n";
	struct ruleset *rs = load(text);
	CHECK(rs == NULL);
	CHECK_EQ_U(errs.count, 1);
	CHECK(has_error(3, "syntax error"));
	rs = load("rules = ( { id = \"a\"; scope = \"body\"; keyword = \"unterminated; } );\n");
	CHECK(rs == NULL);
	CHECK_EQ_U(errs.count, 1);
	rs = load("rules = { id = \"a\"; };\n");
	CHECK(rs == NULL);
	CHECK(has_error(1, "'rules' must be a list"));
	static const char nul[] = "rules = ();\0x";
	rule_errors_free(&errs);
	rule_errors_init(&errs, 4);
	CHECK(ruleset_load_mem("t.rules", nul, sizeof(nul) - 1, &errs) == NULL);
	CHECK_EQ_U(errs.count, 1);
}

static void test_error_cap(void)
{
	rule_errors_free(&errs);
	rule_errors_init(&errs, 2);
	static const char text[] = "a = 1;\nb = 2;\nc = 3;\nd = 4;\n";
	CHECK(ruleset_load_mem("t.rules", text, strlen(text), &errs) == NULL);
	CHECK_EQ_U(errs.count, 2);
	CHECK_EQ_U(errs.dropped, 2);
	CHECK_EQ_U(errs.v[1].line, 2);
}

static void test_file_and_include(void)
{
	char dir[] = "/tmp/postern_rules_XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char main_path[256], inc_path[256];
	snprintf(main_path, sizeof(main_path), "%s/main.rules", dir);
	snprintf(inc_path, sizeof(inc_path), "%s/more.rules", dir);
	FILE *f = fopen(inc_path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs("{ id = \"inc\"; scope = \"body\"; keyword = \"x\"; },\n"
	      "{ id = \"inc-bad\"; scope = \"body\"; keyword = \"x\"; colour = \"red\"; }\n", f);
	fclose(f);
	f = fopen(main_path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs("rules = (\n"
	      "  { id = \"top\"; scope = \"body\"; keyword = \"y\"; },\n"
	      "  @include \"more.rules\"\n"
	      ");\n", f);
	fclose(f);
	rule_errors_free(&errs);
	rule_errors_init(&errs, 8);
	struct ruleset *rs = ruleset_load(main_path, &errs);
	CHECK(rs == NULL);
	CHECK_EQ_U(errs.count, 1);
	if (errs.count == 1) {
		/* the included file is named (as written in @include) */
		CHECK(strstr(errs.v[0].file, "more.rules") != NULL);
		CHECK_EQ_U(errs.v[0].line, 2);
		CHECK(strstr(errs.v[0].reason, "unknown key 'colour'") != NULL);
	}
	/* fix the include: loads */
	f = fopen(inc_path, "w");
	if (f) {
		fputs("{ id = \"inc\"; scope = \"body\"; keyword = \"x\"; }\n", f);
		fclose(f);
	}
	rule_errors_free(&errs);
	rule_errors_init(&errs, 8);
	rs = ruleset_load(main_path, &errs);
	CHECK(rs != NULL);
	CHECK_EQ_U(ruleset_count(rs), 2);
	ruleset_free(rs);
	rule_errors_free(&errs);
	rule_errors_init(&errs, 8);
	rs = ruleset_load("/nonexistent/x.rules", &errs);
	CHECK(rs == NULL);
	CHECK_EQ_U(errs.count, 1);
	unlink(inc_path);
	unlink(main_path);
	rmdir(dir);
}

static void test_from_rules(void)
{
	const size_t n = 10000;
	struct rule *rules = calloc(n + 2, sizeof(*rules));
	CHECK(rules != NULL);
	if (!rules)
		return;
	char buf[64];
	for (size_t i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "kw-%zu", i);
		rules[i].id = strdup(buf);
		snprintf(buf, sizeof(buf), "secret-word-%zu-x", i);
		rules[i].pattern = strdup(buf);
		rules[i].scopes = (1u << SCOPE_BODY) | (1u << SCOPE_SUBJECT);
		rules[i].threshold = 1;
	}
	rules[n].id = strdup("re");
	rules[n].pattern = strdup("codename-[a-z]{3}[0-9]+");
	rules[n].match = RULE_MATCH_REGEX;
	rules[n].scopes = 1u << SCOPE_BODY;
	rules[n].threshold = 1;
	rules[n + 1].id = strdup("det");
	rules[n + 1].match = RULE_MATCH_DETECTOR;
	rules[n + 1].detector = DLP_EMAIL;
	rules[n + 1].scopes = 1u << SCOPE_ATTACH_CONTENT;
	rules[n + 1].threshold = 2;
	rule_errors_free(&errs);
	rule_errors_init(&errs, 8);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct ruleset *rs = ruleset_from_rules(rules, n + 2, "gen", &errs);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(rs != NULL);
	CHECK_EQ_U(ruleset_count(rs), n + 2);
	fprintf(stderr, "  %zu keywords: %.2f s, %zu bytes\n", n,
		(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
		ruleset_db_bytes(rs));
	ruleset_free(rs);

	/* invalid built rules are refused with a reason */
	rules = calloc(2, sizeof(*rules));
	rules[0].id = strdup("dup");
	rules[0].pattern = strdup("a");
	rules[0].scopes = 1u << SCOPE_BODY;
	rules[0].threshold = 0;
	rules[1].id = strdup("dup");
	rules[1].pattern = strdup("b");
	rules[1].scopes = 1u << SCOPE_BODY;
	rules[1].threshold = 1;
	rule_errors_free(&errs);
	rule_errors_init(&errs, 8);
	CHECK(ruleset_from_rules(rules, 2, "gen", &errs) == NULL);
	CHECK_EQ_U(errs.count, 2);
}

static void test_names(void)
{
	CHECK_STR(rule_scope_name(SCOPE_MAIL_FROM), "mail_from");
	CHECK_STR(rule_scope_name(SCOPE_HEADER), "header");
	CHECK_STR(rule_scope_name(SCOPE_ATTACH_CONTENT), "attachment.content");
	CHECK_STR(rule_scope_name(SCOPE_COUNT), "?");
	CHECK(rule_scope_is_stream(SCOPE_BODY));
	CHECK(rule_scope_is_stream(SCOPE_ATTACH_CONTENT));
	CHECK(!rule_scope_is_stream(SCOPE_SUBJECT));
	CHECK_STR(rule_action_name(RULE_ACTION_RESET), "reset");
	CHECK_STR(rule_direction_name(RULE_DIR_OUTBOUND), "outbound");
	CHECK_STR(dlp_detector_name(DLP_KR_RRN), "kr_rrn");
	CHECK_STR(dlp_detector_name(DLP_EMAIL), "email");
}

int main(void)
{
	RUN(test_good_file);
	RUN(test_empty);
	RUN(test_every_error);
	RUN(test_regex_errors_named);
	RUN(test_syntax_error);
	RUN(test_error_cap);
	RUN(test_file_and_include);
	RUN(test_from_rules);
	RUN(test_names);
	rule_errors_free(&errs);
	return tl_finish();
}
