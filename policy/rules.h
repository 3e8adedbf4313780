/* Rule sets: the rules file (libconfig syntax, docs/rules.md), validated and
 * compiled into Hyperscan databases, one per scope.  A compiled ruleset is
 * immutable and may be shared read-only by every worker; reload builds a new
 * one beside the old.
 *
 * Scopes are where a rule looks.  Field scopes (addresses, headers, names,
 * types) are scanned whole in Hyperscan block mode; stream scopes (decoded
 * body text, decoded attachment content) in streaming mode, so a match split
 * across packets, MIME lines or base64 quanta is still found. */
#ifndef POSTERN_POLICY_RULES_H
#define POSTERN_POLICY_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/load_errors.h"

enum rule_scope {
	SCOPE_MAIL_FROM = 0,    /* envelope sender */
	SCOPE_RCPT,             /* each envelope recipient */
	SCOPE_HEADER,           /* header:NAME -- the decoded value of header NAME (top level) */
	SCOPE_SUBJECT,          /* decoded Subject */
	SCOPE_BODY,             /* decoded text of every text part, UTF-8 (stream) */
	SCOPE_ATTACH_NAME,      /* attachment file name, also names inside archives */
	SCOPE_ATTACH_CONTENT,   /* decoded attachment bytes, also archive members (stream) */
	SCOPE_ATTACH_TYPE,      /* true type of an attachment, a MIME type like "application/pdf" */
	/* Webmail sends (HTTP requests); attachment.* scopes serve uploads too. */
	SCOPE_WEBMAIL_TO,       /* each recipient field value (to, cc and bcc), decoded */
	SCOPE_WEBMAIL_SUBJECT,  /* the subject field, decoded */
	SCOPE_WEBMAIL_BODY,     /* the message body and every other text field of the request (stream) */
	SCOPE_COUNT
};
const char *rule_scope_name(enum rule_scope s); /* "mail_from", "header", "attachment.name" ... */
bool rule_scope_is_stream(enum rule_scope s);

enum rule_direction { RULE_DIR_ANY = 0, RULE_DIR_INBOUND, RULE_DIR_OUTBOUND };
const char *rule_direction_name(enum rule_direction d);

/* Ordered by severity: a decision takes the highest action of its reasons. */
enum rule_action { RULE_ACTION_ALERT = 0, RULE_ACTION_RESET };
const char *rule_action_name(enum rule_action a);

enum rule_match {
	RULE_MATCH_KEYWORD = 0, /* literal bytes (UTF-8 text: Korean, Japanese... as is) */
	RULE_MATCH_REGEX,       /* Hyperscan (PCRE subset) regular expression */
	RULE_MATCH_DETECTOR,    /* a DLP detector: candidates by Hyperscan, confirmed by a validator */
};

enum dlp_detector {
	DLP_KR_RRN = 0,  /* Korean resident registration number, checksum-validated */
	DLP_CARD,        /* payment card number, Luhn-validated */
	DLP_EMAIL,       /* distinct e-mail addresses */
	DLP_DETECTOR_COUNT
};
const char *dlp_detector_name(enum dlp_detector d); /* "kr_rrn", "card", "email" */

struct rule {
	char *id;
	char *description;
	uint32_t scopes;         /* bit (1u << enum rule_scope) per scope */
	char *header_name;       /* for SCOPE_HEADER: field name, lower case */
	enum rule_match match;
	char *pattern;           /* keyword or regex (NULL for detectors) */
	enum dlp_detector detector;
	bool nocase;
	uint32_t threshold;      /* matches (or validated detections) needed, >= 1 */
	enum rule_direction direction;
	enum rule_action action;
	unsigned line;           /* line in the rules file */
};

/* Errors found while loading (struct rule_errors): common/load_errors.h. */

struct ruleset;

/* Load one rules file and compile it.  NULL when any error was found (all of
 * them are in errs, each with file:line: reason); a ruleset never holds a rule
 * that failed.  An empty file gives an empty (valid) ruleset. */
struct ruleset *ruleset_load(const char *path, struct rule_errors *errs);
/* Same from memory (tests, fuzzing); name is used in error messages. */
struct ruleset *ruleset_load_mem(const char *name, const char *text, size_t len,
				 struct rule_errors *errs);
/* Compile a ruleset from already-built rules (benchmarks, tests): takes ownership. */
struct ruleset *ruleset_from_rules(struct rule *rules, size_t n, const char *name,
				   struct rule_errors *errs);
void ruleset_free(struct ruleset *rs);

size_t ruleset_count(const struct ruleset *rs);
const struct rule *ruleset_rule(const struct ruleset *rs, size_t i);
/* Bytes of compiled Hyperscan databases (all scopes). */
size_t ruleset_db_bytes(const struct ruleset *rs);

#endif
