#include "policy/mail_scan.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/utf8.h"
#include "policy/service_policy.h"
#include "smtp_parser/mime.h"
#include "webmail/webmail.h"

/* Attachments summarised in the event; further ones are still checked and
 * their findings still count, they are only left out of the summary. */
#define MAIL_SCAN_MAX_ATTACHMENTS 32
#define SUBJECT_MAX 1000
#define HEADER_NAME_MAX 128
/* Decoded text arrives a line at a time; Hyperscan's per-call cost would
 * dominate such short chunks, so stream bytes are gathered up to this much
 * before a scan (matching is unchanged: the streams carry state anyway). */
#define STAGE_BYTES 8192

struct attachment_summary {
	char name[ATTACHMENT_PATH_MAX];
	char declared_type[128];
	char true_type[128];
	uint64_t size;
	char sha256[65];
	uint32_t findings;        /* bit per enum attachment_finding_kind */
};

struct mail_scanner {
	const struct mail_policy *mp;
	struct inspect_scratch *scratch[CONFIG_MAX_RULE_FILES];
	struct rbl_resolver *rbl;
	uint64_t att_buffered;     /* attachment bytes buffered by all open scans */
	uint64_t open_scans;
	struct mail_scanner_stats stats;
};

enum part_kind { PART_NONE = 0, PART_BODY, PART_ATTACHMENT };

struct mail_scan {
	struct mail_scanner *ms;
	enum rule_direction dir;
	struct mime_parser *mime;
	struct inspection *insp[CONFIG_MAX_RULE_FILES];
	size_t ninsp;
	struct rbl_check *rbl;
	enum part_kind part;
	struct attachment_analysis *att;
	uint64_t att_charged;     /* this attachment's bytes in ms->att_buffered */
	bool att_frozen;          /* the budget ran out: it buffers no more */
	uint32_t stream_no;       /* numbers attachment streams, archive members included */
	struct verdict att_reasons;
	struct verdict carried;   /* webmail: reasons of earlier uploads */
	bool text_open;           /* webmail.body stream begun */
	struct attachment_summary atts[MAIL_SCAN_MAX_ATTACHMENTS];
	uint32_t natts, atts_dropped;
	/* Staging of the open stream scope's bytes (one stream is open at a
	 * time: body parts and attachments do not interleave). */
	enum rule_scope stage_scope;
	size_t stage_len;
	uint8_t stage[STAGE_BYTES];
	char subject[SUBJECT_MAX + 1];
	bool have_subject;
	uint64_t text_bytes;
	bool ended;
};

/* ---- policy ------------------------------------------------------------ */

int mail_policy_load(struct mail_policy *mp, const struct postern_config *cfg, FILE *errs)
{
	memset(mp, 0, sizeof *mp);
	mp->cfg = cfg;
	int rc = 0;
	for (size_t i = 0; i < cfg->rule_file_count; i++) {
		struct rule_errors e;
		rule_errors_init(&e, 64);
		struct ruleset *rs = ruleset_load(cfg->rule_files[i], &e);
		for (size_t j = 0; j < e.count; j++) {
			if (e.v[j].line)
				fprintf(errs, "%s:%u: %s\n", e.v[j].file, e.v[j].line, e.v[j].reason);
			else
				fprintf(errs, "%s: %s\n", e.v[j].file, e.v[j].reason);
		}
		if (e.dropped)
			fprintf(errs, "%s: %zu more errors not shown\n", cfg->rule_files[i], e.dropped);
		rule_errors_free(&e);
		if (!rs) {
			rc = -1;
			continue;
		}
		mp->rulesets[mp->ruleset_count++] = rs;
	}
	if (rc == 0 && mp->ruleset_count == 0) {
		/* No rules files: an empty ruleset still scans the text for URL
		 * hosts, which domain block lists need. */
		static const char none[] = "rules = ();\n";
		struct rule_errors e;
		rule_errors_init(&e, 4);
		struct ruleset *rs = ruleset_load_mem("(no rules)", none, sizeof none - 1, &e);
		rule_errors_free(&e);
		if (rs)
			mp->rulesets[mp->ruleset_count++] = rs;
		else
			rc = -1;
	}
	char err[512] = "";
	mp->attachments = attachment_engine_new(&cfg->attachments, err, sizeof err);
	if (!mp->attachments) {
		fprintf(errs, "%s\n", err[0] ? err : "attachment checks: cannot initialise");
		rc = -1;
	}
	if (cfg->webmail.enabled) {
		if (cfg->webmail.signature_path_count) {
			struct rule_errors e;
			rule_errors_init(&e, 64);
			mp->webmail = webmail_signatures_load((const char *const *)cfg->webmail.signature_paths,
							      cfg->webmail.signature_path_count, &e);
			for (size_t j = 0; j < e.count; j++) {
				if (e.v[j].line)
					fprintf(errs, "%s:%u: %s\n", e.v[j].file, e.v[j].line, e.v[j].reason);
				else
					fprintf(errs, "%s: %s\n", e.v[j].file, e.v[j].reason);
			}
			if (e.dropped)
				fprintf(errs, "webmail signatures: %zu more errors not shown\n", e.dropped);
			rule_errors_free(&e);
			if (!mp->webmail)
				rc = -1;
		}
		err[0] = '\0';
		mp->services = service_policy_new(&cfg->webmail, err, sizeof err);
		if (!mp->services) {
			fprintf(errs, "webmail services: %s\n", err[0] ? err : "cannot build the policy");
			rc = -1;
		}
	}
	decision_actions_default(&mp->actions);
	for (int k = 0; k < FINDING_KIND_COUNT; k++)
		mp->actions.finding[k] = cfg->finding_action[k];
	mp->actions.rbl = cfg->rbl_action;
	if (rc)
		mail_policy_free(mp);
	return rc;
}

void mail_policy_free(struct mail_policy *mp)
{
	for (size_t i = 0; i < mp->ruleset_count; i++)
		ruleset_free(mp->rulesets[i]);
	if (mp->attachments)
		attachment_engine_free(mp->attachments);
	webmail_signatures_free(mp->webmail);
	service_policy_free(mp->services);
	memset(mp, 0, sizeof *mp);
}

/* ---- scanner ----------------------------------------------------------- */

struct mail_scanner *mail_scanner_new(const struct mail_policy *mp, char *err, size_t errlen)
{
	struct mail_scanner *ms = calloc(1, sizeof *ms);
	if (!ms) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ms->mp = mp;
	for (size_t i = 0; i < mp->ruleset_count; i++) {
		ms->scratch[i] = inspect_scratch_new(mp->rulesets[i]);
		if (!ms->scratch[i]) {
			snprintf(err, errlen, "cannot allocate Hyperscan scratch space");
			mail_scanner_free(ms);
			return NULL;
		}
	}
	if (mp->cfg->rbl_enabled) {
		ms->rbl = rbl_resolver_new(&mp->cfg->rbl, err, errlen);
		if (!ms->rbl) {
			mail_scanner_free(ms);
			return NULL;
		}
	}
	return ms;
}

void mail_scanner_free(struct mail_scanner *ms)
{
	if (!ms)
		return;
	for (size_t i = 0; i < CONFIG_MAX_RULE_FILES; i++)
		if (ms->scratch[i])
			inspect_scratch_free(ms->scratch[i]);
	if (ms->rbl)
		rbl_resolver_free(ms->rbl);
	free(ms);
}

const struct mail_scanner_stats *mail_scanner_stats(const struct mail_scanner *ms)
{
	return &ms->stats;
}

const struct mail_policy *mail_scanner_policy(const struct mail_scanner *ms)
{
	return ms->mp;
}

struct rbl_resolver *mail_scanner_resolver(struct mail_scanner *ms)
{
	return ms->rbl;
}

uint64_t mail_scanner_open_scans(const struct mail_scanner *ms)
{
	return ms->open_scans;
}

void mail_scanner_note_wait(struct mail_scanner *ms)
{
	ms->stats.rbl_waits++;
}

void mail_scanner_set_time(struct mail_scanner *ms, uint64_t now_us)
{
	if (ms->rbl)
		rbl_set_time(ms->rbl, now_us);
}

/* ---- scan: fan-out to every ruleset's inspection ------------------------ */

static void field(struct mail_scan *s, enum rule_scope scope, const char *header,
		  const void *data, size_t len)
{
	for (size_t i = 0; i < s->ninsp; i++)
		inspection_field(s->insp[i], scope, header, data, len);
}

static void stage_flush(struct mail_scan *s)
{
	if (!s->stage_len)
		return;
	for (size_t i = 0; i < s->ninsp; i++)
		inspection_stream_data(s->insp[i], s->stage_scope, s->stage, s->stage_len);
	s->stage_len = 0;
}

static void stream_begin(struct mail_scan *s, enum rule_scope scope, uint32_t part)
{
	stage_flush(s);
	for (size_t i = 0; i < s->ninsp; i++)
		inspection_stream_begin(s->insp[i], scope, part);
}

static void stream_data(struct mail_scan *s, enum rule_scope scope, const void *data, size_t len)
{
	if (!s->ninsp)
		return;
	if (s->stage_len && s->stage_scope != scope)
		stage_flush(s);
	s->stage_scope = scope;
	if (s->stage_len + len > STAGE_BYTES) {
		stage_flush(s);
		if (len >= STAGE_BYTES) { /* big chunks go straight through */
			for (size_t i = 0; i < s->ninsp; i++)
				inspection_stream_data(s->insp[i], scope, data, len);
			return;
		}
	}
	memcpy(s->stage + s->stage_len, data, len);
	s->stage_len += len;
}

static void stream_end(struct mail_scan *s, enum rule_scope scope)
{
	stage_flush(s);
	for (size_t i = 0; i < s->ninsp; i++)
		inspection_stream_end(s->insp[i], scope);
}

/* ---- MIME callbacks ------------------------------------------------------ */

static void on_header(void *ctx, uint32_t depth, const char *name, const char *value)
{
	struct mail_scan *s = ctx;
	if (depth != 0) /* header:NAME and subject look at the message's own header */
		return;
	char lname[HEADER_NAME_MAX];
	size_t i = 0;
	for (; name[i] && i + 1 < sizeof lname; i++)
		lname[i] = (char)tolower((unsigned char)name[i]);
	lname[i] = '\0';
	size_t vlen = strlen(value);
	field(s, SCOPE_HEADER, lname, value, vlen);
	if (!strcmp(lname, "subject") && !s->have_subject) {
		s->have_subject = true;
		snprintf(s->subject, sizeof s->subject, "%s", value);
		field(s, SCOPE_SUBJECT, NULL, value, vlen);
	}
}

static void on_member(void *ctx, const char *path, const uint8_t *data, size_t len)
{
	struct mail_scan *s = ctx;
	field(s, SCOPE_ATTACH_NAME, NULL, path, strlen(path));
	stream_begin(s, SCOPE_ATTACH_CONTENT, ++s->stream_no);
	stream_data(s, SCOPE_ATTACH_CONTENT, data, len);
	stream_end(s, SCOPE_ATTACH_CONTENT);
}

static const struct attachment_callbacks member_cb = {.member = on_member};

static void on_part_begin(void *ctx, const struct mime_part *p)
{
	struct mail_scan *s = ctx;
	if (p->is_attachment) {
		s->part = PART_ATTACHMENT;
		s->att = attachment_begin(s->ms->mp->attachments, p->filename, p->content_type,
					  &member_cb, s);
		if (!s->att)
			s->ms->stats.alloc_failures++;
		if (p->filename[0])
			field(s, SCOPE_ATTACH_NAME, NULL, p->filename, strlen(p->filename));
		stream_begin(s, SCOPE_ATTACH_CONTENT, ++s->stream_no);
	} else {
		s->part = PART_BODY;
		stream_begin(s, SCOPE_BODY, p->index);
	}
}

/* Attachments are buffered for archive and antivirus analysis; one worker's
 * buffers together stay under max_attachment_memory.  Bytes are charged as
 * they are buffered, so small attachments cost what they are. */
static void feed_attachment(struct mail_scan *s, const uint8_t *data, size_t len)
{
	struct mail_scanner *ms = s->ms;
	const struct postern_config *cfg = ms->mp->cfg;
	if (!s->att_frozen) {
		uint64_t want = s->att_charged + len <= cfg->attachments.max_buffer
					? len
					: cfg->attachments.max_buffer - s->att_charged;
		if (ms->att_buffered + want > cfg->max_attachment_memory) {
			attachment_limit_buffer(s->att, s->att_charged);
			s->att_frozen = true;
			ms->stats.attachment_budget_short++;
		} else {
			s->att_charged += want;
			ms->att_buffered += want;
		}
	}
	attachment_feed(s->att, data, len);
}

static void release_attachment(struct mail_scan *s)
{
	s->ms->att_buffered -= s->att_charged;
	s->att_charged = 0;
	s->att_frozen = false;
	if (s->att)
		attachment_free(s->att);
	s->att = NULL;
}

static void on_part_data(void *ctx, const struct mime_part *p, const uint8_t *data, size_t len)
{
	struct mail_scan *s = ctx;
	(void)p;
	if (s->part == PART_BODY) {
		s->text_bytes += len;
		stream_data(s, SCOPE_BODY, data, len);
	} else if (s->part == PART_ATTACHMENT) {
		s->ms->stats.attachment_bytes += len;
		if (s->att)
			feed_attachment(s, data, len);
		stream_data(s, SCOPE_ATTACH_CONTENT, data, len);
	}
}

static void summarise(struct mail_scan *s, const struct attachment_result *r)
{
	s->ms->stats.attachments++;
	if (s->natts >= MAIL_SCAN_MAX_ATTACHMENTS) {
		s->atts_dropped++;
		s->ms->stats.attachments_dropped++;
		return;
	}
	struct attachment_summary *a = &s->atts[s->natts++];
	snprintf(a->name, sizeof a->name, "%s", r->name);
	snprintf(a->declared_type, sizeof a->declared_type, "%s", r->declared_type);
	snprintf(a->true_type, sizeof a->true_type, "%s", r->true_type);
	snprintf(a->sha256, sizeof a->sha256, "%s", r->sha256);
	a->size = r->size;
	for (uint32_t i = 0; i < r->finding_count; i++)
		a->findings |= 1u << r->findings[i].kind;
}

static void on_part_end(void *ctx, const struct mime_part *p, uint64_t size)
{
	struct mail_scan *s = ctx;
	(void)p;
	(void)size;
	if (s->part == PART_BODY) {
		stream_end(s, SCOPE_BODY);
	} else if (s->part == PART_ATTACHMENT) {
		stream_end(s, SCOPE_ATTACH_CONTENT);
		if (s->att) {
			/* attachment_end calls on_member for archive members. */
			const struct attachment_result *r = attachment_end(s->att);
			summarise(s, r);
			if (r->true_type[0])
				field(s, SCOPE_ATTACH_TYPE, NULL, r->true_type, strlen(r->true_type));
			decision_add_attachment(&s->att_reasons, r, &s->ms->mp->actions);
		}
		release_attachment(s);
	}
	s->part = PART_NONE;
}

static const struct mime_callbacks mime_cb = {
	.header = on_header,
	.part_begin = on_part_begin,
	.part_data = on_part_data,
	.part_end = on_part_end,
};

static void on_url_host(void *ctx, const char *host)
{
	struct mail_scan *s = ctx;
	if (s->rbl)
		rbl_check_domain(s->rbl, host);
}

static const struct inspect_callbacks inspect_cb = {.url_host = on_url_host};

/* ---- scan lifecycle ------------------------------------------------------ */

static bool direction_applies(enum rule_direction want, enum rule_direction dir)
{
	return want == RULE_DIR_ANY || want == dir;
}

/* A scan with its inspections, direction from the client's address; a mail
 * (webmail false) also gets its MIME decoder and URL-host lookups. */
static struct mail_scan *scan_new(struct mail_scanner *ms, const struct ip_addr *client,
				  bool webmail)
{
	const struct postern_config *cfg = ms->mp->cfg;
	struct mail_scan *s = calloc(1, sizeof *s);
	if (!s) {
		ms->stats.alloc_failures++;
		return NULL;
	}
	s->ms = ms;
	ms->open_scans++;
	verdict_init(&s->att_reasons);
	verdict_init(&s->carried);
	int family = client->family == 6 ? AF_INET6 : AF_INET;
	/* Outbound: the client (the one sending the mail) is one of ours. */
	s->dir = netset_contains(&cfg->internal, family, client->addr) ? RULE_DIR_OUTBOUND
								       : RULE_DIR_INBOUND;
	if (!webmail && !(s->mime = mime_parser_new(&cfg->mime, &mime_cb, s)))
		goto oom;
	for (size_t i = 0; i < ms->mp->ruleset_count; i++) {
		/* Webmail: no URL-host callback, no block-list lookups. */
		s->insp[i] = inspection_new(ms->mp->rulesets[i], ms->scratch[i], s->dir, NULL,
					    webmail ? NULL : &inspect_cb, s);
		if (!s->insp[i])
			goto oom;
		s->ninsp++;
	}
	if (!webmail && ms->rbl && direction_applies(cfg->rbl_direction, s->dir)) {
		s->rbl = rbl_check_new(ms->rbl);
		if (!s->rbl)
			goto oom;
		rbl_check_ip(s->rbl, family, client->addr);
	}
	ms->stats.scans++;
	return s;
oom:
	ms->stats.alloc_failures++;
	mail_scan_free(s);
	return NULL;
}

struct mail_scan *mail_scan_begin(struct mail_scanner *ms, const struct ip_addr *client,
				  const char *mail_from)
{
	struct mail_scan *s = scan_new(ms, client, false);
	if (s && mail_from)
		field(s, SCOPE_MAIL_FROM, NULL, mail_from, strlen(mail_from));
	return s;
}

void mail_scan_data(struct mail_scan *s, const uint8_t *data, size_t len)
{
	if (!s->ended && s->mime)
		mime_feed(s->mime, data, len);
}

void mail_scan_gap(struct mail_scan *s, uint64_t len)
{
	if (!s->ended && s->mime)
		mime_gap(s->mime, len);
}

void mail_scan_end(struct mail_scan *s, const char *const *rcpt, size_t nrcpt)
{
	if (s->ended || !s->mime)
		return;
	mime_close(s->mime);
	s->ended = true;
	for (size_t i = 0; i < nrcpt; i++)
		field(s, SCOPE_RCPT, NULL, rcpt[i], strlen(rcpt[i]));
	if (mime_parser_stats(s->mime)->anomalies)
		s->ms->stats.mime_anomalies++;
	s->ms->stats.text_bytes += s->text_bytes;
}

bool mail_scan_ready(const struct mail_scan *s)
{
	return !s->rbl || rbl_check_done(s->rbl);
}

void mail_scan_decide(struct mail_scan *s, struct verdict *v)
{
	struct mail_scanner *ms = s->ms;
	verdict_init(v);
	for (size_t i = 0; i < s->ninsp; i++) {
		const struct rule_hit *hits;
		size_t n = inspection_hits(s->insp[i], &hits);
		decision_add_rule_hits(v, hits, n);
		ms->stats.scan_errors += inspection_stats(s->insp[i])->scan_errors;
		ms->stats.alloc_failures += inspection_stats(s->insp[i])->matches_lost;
	}
	for (uint32_t i = 0; i < s->att_reasons.reason_count; i++)
		verdict_add(v, &s->att_reasons.reasons[i]);
	v->reasons_dropped += s->att_reasons.reasons_dropped;
	if (s->att_reasons.action > v->action)
		v->action = s->att_reasons.action;
	for (uint32_t i = 0; i < s->carried.reason_count; i++)
		verdict_add(v, &s->carried.reasons[i]);
	v->reasons_dropped += s->carried.reasons_dropped;
	if (s->rbl) {
		struct rbl_result r;
		rbl_check_result(s->rbl, &r);
		decision_add_rbl(v, &r, &ms->mp->actions);
	}
	ms->stats.decided++;
	if (v->action == RULE_ACTION_RESET)
		ms->stats.reset++;
	else if (v->reason_count)
		ms->stats.alerted++;
	ms->stats.reasons_dropped += v->reasons_dropped;
}

const char *mail_scan_direction(const struct mail_scan *s)
{
	return rule_direction_name(s->dir);
}

const char *mail_scan_subject(const struct mail_scan *s)
{
	return s->subject;
}

static json_t *finding_names(uint32_t mask)
{
	json_t *a = json_array();
	for (int k = 0; k < FINDING_KIND_COUNT; k++)
		if (mask & (1u << k))
			json_array_append_new(a, json_string(attachment_finding_name(k)));
	return a;
}

/* jansson refuses invalid UTF-8; the decoders promise UTF-8 but a name from
 * an unknown charset passes through raw: U+FFFD for such bytes, as every
 * other event field gets (postern/event_json.c).  Inputs are the capped
 * fields of this file, the subject the longest. */
static json_t *text(const char *s)
{
	size_t n = strlen(s);
	if (utf8_valid((const uint8_t *)s, n))
		return json_stringn(s, n);
	char buf[3 * (SUBJECT_MAX + 1)];
	size_t o = utf8_sanitize((const uint8_t *)s, n, buf, sizeof buf, NULL);
	return json_stringn(buf, o);
}

json_t *mail_scan_json(const struct mail_scan *s)
{
	json_t *c = json_object();
	if (s->have_subject)
		json_object_set_new(c, "subject", text(s->subject));
	static const struct mime_stats none;
	const struct mime_stats *st = s->mime ? mime_parser_stats(s->mime) : &none;
	json_object_set_new(c, "text_bytes", json_integer((json_int_t)s->text_bytes));
	if (s->mime)
		json_object_set_new(c, "parts", json_integer(st->parts));
	json_t *atts = json_array();
	for (uint32_t i = 0; i < s->natts; i++) {
		const struct attachment_summary *a = &s->atts[i];
		json_t *o = json_object();
		json_object_set_new(o, "name", text(a->name));
		json_object_set_new(o, "declared_type", text(a->declared_type));
		json_object_set_new(o, "true_type", text(a->true_type));
		json_object_set_new(o, "size", json_integer((json_int_t)a->size));
		json_object_set_new(o, "sha256", json_string(a->sha256));
		if (a->findings)
			json_object_set_new(o, "findings", finding_names(a->findings));
		json_array_append_new(atts, o);
	}
	json_object_set_new(c, "attachments", atts);
	if (s->atts_dropped)
		json_object_set_new(c, "attachments_dropped", json_integer(s->atts_dropped));
	if (st->anomalies) {
		json_t *an = json_array();
		for (uint32_t b = 0; b < MIME_ANOM_COUNT; b++)
			if (st->anomalies & (1u << b))
				json_array_append_new(an, json_string(mime_anomaly_name(1u << b)));
		json_object_set_new(c, "mime_anomalies", an);
	}
	return c;
}

/* ---- webmail --------------------------------------------------------------- */

struct mail_scan *mail_scan_begin_webmail(struct mail_scanner *ms, const struct ip_addr *client)
{
	return scan_new(ms, client, true);
}

void mail_scan_field(struct mail_scan *s, enum rule_scope scope, const char *value, size_t len)
{
	if (!s->ended)
		field(s, scope, NULL, value, len);
	if (scope == SCOPE_WEBMAIL_SUBJECT && !s->have_subject) {
		s->have_subject = true;
		snprintf(s->subject, sizeof s->subject, "%.*s", (int)(len < SUBJECT_MAX ? len : SUBJECT_MAX),
			 value);
	}
}

void mail_scan_text(struct mail_scan *s, const uint8_t *data, size_t len)
{
	if (s->ended || s->part == PART_ATTACHMENT)
		return;
	if (!s->text_open) {
		s->text_open = true;
		stream_begin(s, SCOPE_WEBMAIL_BODY, 0);
	}
	s->text_bytes += len;
	stream_data(s, SCOPE_WEBMAIL_BODY, data, len);
}

void mail_scan_file_begin(struct mail_scan *s, const char *name, const char *content_type)
{
	if (s->ended || s->part == PART_ATTACHMENT)
		return;
	/* Files and body text do not interleave in a request body, but the
	 * body stream is kept open across them: it is one text of the request. */
	struct mime_part p = {.filename = name ? name : "",
			      .content_type = content_type && content_type[0] ? content_type
									   : "application/octet-stream",
			      .is_attachment = true};
	stage_flush(s);
	on_part_begin(s, &p);
}

void mail_scan_file_data(struct mail_scan *s, const uint8_t *data, size_t len)
{
	if (s->part == PART_ATTACHMENT)
		on_part_data(s, NULL, data, len);
}

void mail_scan_file_end(struct mail_scan *s)
{
	if (s->part == PART_ATTACHMENT)
		on_part_end(s, NULL, 0);
}

void mail_scan_end_webmail(struct mail_scan *s)
{
	if (s->ended)
		return;
	mail_scan_file_end(s);
	if (s->text_open)
		stream_end(s, SCOPE_WEBMAIL_BODY);
	s->ended = true;
	s->ms->stats.text_bytes += s->text_bytes;
}

void mail_scan_add_reason(struct mail_scan *s, const struct verdict_reason *r)
{
	/* Several uploads may carry the same finding: once is enough. */
	for (uint32_t i = 0; i < s->carried.reason_count; i++) {
		const struct verdict_reason *c = &s->carried.reasons[i];
		if (c->kind == r->kind && !strcmp(c->id, r->id) && !strcmp(c->scope, r->scope))
			return;
	}
	verdict_add(&s->carried, r);
}

size_t mail_scan_attachment_count(const struct mail_scan *s)
{
	return s->natts;
}

void mail_scan_attachment(const struct mail_scan *s, size_t i, struct mail_scan_attachment *out)
{
	const struct attachment_summary *a = &s->atts[i];
	out->name = a->name;
	out->declared_type = a->declared_type;
	out->true_type = a->true_type;
	out->sha256 = a->sha256;
	out->size = a->size;
	out->findings = a->findings;
}

void verdict_to_json(const struct verdict *v, json_t *obj)
{
	json_object_set_new(obj, "verdict", json_string(verdict_name(v)));
	json_t *rs = json_array();
	for (uint32_t i = 0; i < v->reason_count; i++) {
		const struct verdict_reason *r = &v->reasons[i];
		json_t *o = json_object();
		json_object_set_new(o, "kind", json_string(reason_kind_name(r->kind)));
		json_object_set_new(o, "id", text(r->id));
		json_object_set_new(o, "action", json_string(rule_action_name(r->action)));
		json_object_set_new(o, "scope", text(r->scope));
		if (r->excerpt[0])
			json_object_set_new(o, "excerpt", text(r->excerpt));
		if (r->kind == REASON_RULE) {
			json_object_set_new(o, "part", json_integer(r->part));
			json_object_set_new(o, "offset", json_integer((json_int_t)r->offset));
		}
		json_object_set_new(o, "count", json_integer(r->count));
		json_array_append_new(rs, o);
	}
	json_object_set_new(obj, "reasons", rs);
	if (v->reasons_dropped)
		json_object_set_new(obj, "reasons_dropped", json_integer(v->reasons_dropped));
}

void mail_scan_free(struct mail_scan *s)
{
	if (!s)
		return;
	release_attachment(s);
	for (size_t i = 0; i < s->ninsp; i++)
		inspection_free(s->insp[i]);
	if (s->mime)
		mime_parser_free(s->mime);
	if (s->rbl)
		rbl_check_free(s->rbl);
	s->ms->open_scans--;
	free(s);
}
