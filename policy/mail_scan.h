/* Mail inspection: one SMTP transaction's message through MIME decoding,
 * the rules, the attachment checks and the block lists, into a verdict.
 *
 *   mail_policy   compiled, immutable: rulesets, attachment engine, actions
 *                 (built from a postern_config; reload builds a new one)
 *   mail_scanner  per worker: Hyperscan scratch, DNS resolver, counters
 *   mail_scan     per transaction: begin, data*, end, decide
 *
 * The message is inspected as it streams: nothing but attachments (up to
 * their cap) is buffered.  Block-list lookups start as soon as their names are
 * known (the client address at MAIL FROM, URL hosts as the body is scanned) so
 * their answers are usually in by the commit point. */
#ifndef POSTERN_POLICY_MAIL_SCAN_H
#define POSTERN_POLICY_MAIL_SCAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "policy/decision.h"
#include "policy/verdict.h"
#include "reassembly/packet.h"

struct mail_policy {
	const struct postern_config *cfg;   /* not owned; must outlive the policy */
	struct ruleset *rulesets[CONFIG_MAX_RULE_FILES];
	size_t ruleset_count;
	struct attachment_engine *attachments;
	struct decision_actions actions;
	/* Webmail control (config group webmail); NULL when it is off.  No
	 * signature files: only the generic detector finds sends. */
	struct webmail_signatures *webmail;
	struct service_policy *services;
};

/* Load rules files, the attachment engine, webmail signatures and the
 * service policy named by cfg.  Errors (each
 * "file:line: reason") are written to errs; -1 if any. */
int mail_policy_load(struct mail_policy *mp, const struct postern_config *cfg, FILE *errs);
void mail_policy_free(struct mail_policy *mp);

struct mail_scanner_stats {
	uint64_t scans, decided, reset, alerted;
	uint64_t attachments, attachments_dropped;  /* past MAIL_SCAN_MAX_ATTACHMENTS (still checked) */
	uint64_t attachment_budget_short;           /* attachments cut short: max_attachment_memory spent */
	uint64_t text_bytes, attachment_bytes;
	uint64_t mime_anomalies;                    /* messages with at least one */
	uint64_t rbl_waits;                         /* decisions that had to wait for DNS */
	uint64_t reasons_dropped;
	uint64_t scan_errors;                       /* Hyperscan errors (stream abandoned) */
	uint64_t alloc_failures;                    /* out of memory: scans left uninspected, matches not counted */
};

struct mail_scanner;
struct mail_scanner *mail_scanner_new(const struct mail_policy *mp, char *err, size_t errlen);
void mail_scanner_free(struct mail_scanner *ms);
const struct mail_scanner_stats *mail_scanner_stats(const struct mail_scanner *ms);
/* The policy this scanner judges by. */
const struct mail_policy *mail_scanner_policy(const struct mail_scanner *ms);
/* The DNS resolver (NULL when block lists are off), for the caller's event loop. */
struct rbl_resolver *mail_scanner_resolver(struct mail_scanner *ms);
/* Transactions begun with this scanner and not yet freed: a scanner retired
 * by a reload is freed when this reaches 0. */
uint64_t mail_scanner_open_scans(const struct mail_scanner *ms);
/* The caller waited for block-list answers at a commit point (counted). */
void mail_scanner_note_wait(struct mail_scanner *ms);
/* Packet time, for the DNS cache. */
void mail_scanner_set_time(struct mail_scanner *ms, uint64_t now_us);

struct mail_scan;
/* A transaction starts (MAIL FROM).  NULL only when out of memory (counted). */
struct mail_scan *mail_scan_begin(struct mail_scanner *ms, const struct ip_addr *client,
				  const char *mail_from);
void mail_scan_data(struct mail_scan *s, const uint8_t *data, size_t len);
void mail_scan_gap(struct mail_scan *s, uint64_t len);
/* The message is complete: the envelope recipients are scanned, streams closed. */
void mail_scan_end(struct mail_scan *s, const char *const *rcpt, size_t nrcpt);
/* true when no block-list answer is outstanding. */
bool mail_scan_ready(const struct mail_scan *s);
/* The verdict (call after mail_scan_end; waiting lookups count as not listed). */
void mail_scan_decide(struct mail_scan *s, struct verdict *out);
/* "inbound" / "outbound". */
const char *mail_scan_direction(const struct mail_scan *s);
/* Content summary for events and records (direction not included): decoded subject, text bytes,
 * attachments (name, declared and true type, size, sha256), MIME anomalies. */
json_t *mail_scan_json(const struct mail_scan *s);
/* The decoded Subject, "" if none. */
const char *mail_scan_subject(const struct mail_scan *s);
void mail_scan_free(struct mail_scan *s);

/* ---- webmail -------------------------------------------------------------
 * A webmail request is inspected with the same rulesets, attachment engine
 * and decision as a mail, without MIME: the caller hands over the fields it
 * extracted.  No block-list lookups are made (the request goes out to a web
 * server, not a mail relay), so such a scan is always ready. */
struct mail_scan *mail_scan_begin_webmail(struct mail_scanner *ms, const struct ip_addr *client);
/* A whole field value: SCOPE_WEBMAIL_TO (one recipient field), SCOPE_WEBMAIL_SUBJECT. */
void mail_scan_field(struct mail_scan *s, enum rule_scope scope, const char *value, size_t len);
/* Text for the webmail.body scope, streamed. */
void mail_scan_text(struct mail_scan *s, const uint8_t *data, size_t len);
/* An uploaded file: the attachment checks and attachment.* scopes. */
void mail_scan_file_begin(struct mail_scan *s, const char *name, const char *content_type);
void mail_scan_file_data(struct mail_scan *s, const uint8_t *data, size_t len);
void mail_scan_file_end(struct mail_scan *s);
/* The request is complete (closes the body stream). */
void mail_scan_end_webmail(struct mail_scan *s);
/* A reason found earlier (an upload's checks, carried to its send); it joins
 * the decision in the order added, after the scan's own reasons.  A reason
 * equal to one already carried (kind, id, scope) is left out. */
void mail_scan_add_reason(struct mail_scan *s, const struct verdict_reason *r);

/* Attachments analysed by this scan, for the upload table. */
struct mail_scan_attachment {
	const char *name, *declared_type, *true_type, *sha256;
	uint64_t size;
	uint32_t findings;        /* bit per enum attachment_finding_kind */
};
size_t mail_scan_attachment_count(const struct mail_scan *s);
void mail_scan_attachment(const struct mail_scan *s, size_t i, struct mail_scan_attachment *out);

/* A verdict as JSON: {"verdict": ..., "reasons": [...]} members added to obj. */
void verdict_to_json(const struct verdict *v, json_t *obj);

#endif
