/* The pipeline's HTTP and TLS side: webmail control.
 *
 * HTTP: every request is followed (http_parser/http.h); its body goes through
 * the webmail request analysis (fields, roles, uploads) into a content scan
 * as it arrives.  At the request's last byte -- the commit point -- a request
 * the signatures or the generic detector call a send, draft or upload is
 * judged: the service policy for its host, the rules on its fields, the
 * attachment checks on its files (uploads are remembered under their compose
 * id and judged again with the send that uses them).  The event is written
 * when the request is over (its response, or the connection's end).
 *
 * TLS: the ClientHello is parsed; a host the service policy denies is reset
 * on the packet that completes it.  Either way the rest of the connection is
 * encrypted, so it is then bypassed. */
#include <stdlib.h>
#include <string.h>

#include "policy/mail_scan.h"
#include "policy/service_policy.h"
#include "postern/event_json.h"
#include "postern/pipeline_internal.h"
#include "store/store.h"
#include "tls_parser/client_hello.h"
#include "webmail/uploads.h"

/* One request from request_begin to request_done. */
struct http_slot {
	struct app_flow *app;
	uint32_t index;
	uint64_t start_us, commit_us;
	bool committed, judged, body_capped;
	uint64_t body_fed;
	struct webmail_request *wm;
	const struct webmail_result *res;  /* after the commit point */
	struct mail_scan *scan;            /* requests with a body (or a send without one) */
	struct service_match svc;
	enum webmail_action action;
	struct verdict verdict;
	struct webmail_upload_item *carried; /* the send's earlier uploads */
	size_t ncarried;
};

static struct http_slot *hslot_find(struct app_flow *app, uint32_t index)
{
	for (int i = 0; i < HTTP_SLOTS; i++)
		if (app->hreq[i] && app->hreq[i]->index == index)
			return app->hreq[i];
	return NULL;
}

static void hslot_free(struct app_flow *app, struct http_slot *slot)
{
	for (int i = 0; i < HTTP_SLOTS; i++)
		if (app->hreq[i] == slot)
			app->hreq[i] = NULL;
	webmail_request_free(slot->wm);
	mail_scan_free(slot->scan);
	free(slot->carried);
	free(slot);
}

/* ---- the request's content, as the webmail analysis hands it over ------- */

static void sink_text(void *ctx, enum webmail_role role, const char *field, const uint8_t *data,
		      size_t len)
{
	struct http_slot *slot = ctx;
	(void)role;
	(void)field;
	if (slot->scan)
		mail_scan_text(slot->scan, data, len);
}

static void sink_file_begin(void *ctx, const char *field, const char *filename,
			    const char *content_type)
{
	struct http_slot *slot = ctx;
	(void)field;
	if (slot->scan)
		mail_scan_file_begin(slot->scan, filename, content_type);
}

static void sink_file_data(void *ctx, const uint8_t *data, size_t len)
{
	struct http_slot *slot = ctx;
	if (slot->scan)
		mail_scan_file_data(slot->scan, data, len);
}

static void sink_file_end(void *ctx, uint64_t size)
{
	struct http_slot *slot = ctx;
	(void)size;
	if (slot->scan)
		mail_scan_file_end(slot->scan);
}

static const struct webmail_sink sink = {
	.text = sink_text,
	.file_begin = sink_file_begin,
	.file_data = sink_file_data,
	.file_end = sink_file_end,
};

/* ---- judging a webmail request at its commit point ---------------------- */

static const struct mail_policy *policy_of(const struct pipeline *pl)
{
	return pl->cfg.scanner ? mail_scanner_policy(pl->cfg.scanner) : NULL;
}

static void field_if(struct mail_scan *s, enum rule_scope scope, const char *v)
{
	if (v && v[0])
		mail_scan_field(s, scope, v, strlen(v));
}

/* The send's attachments were uploaded earlier: their checks join its decision. */
static void carry_uploads(struct pipeline *pl, struct http_slot *slot, const char *host)
{
	const struct webmail_result *res = slot->res;
	if (!pl->cfg.uploads || !res->compose_id[0])
		return;
	slot->carried = calloc(WEBMAIL_UPLOAD_ITEMS, sizeof *slot->carried);
	if (!slot->carried)
		return;
	const struct flow_info *fi = flow_get_info(slot->app->flow);
	slot->ncarried = webmail_uploads_get(pl->cfg.uploads, &fi->tuple.client, host,
					     res->compose_id, pl->now_us, slot->carried,
					     WEBMAIL_UPLOAD_ITEMS);
	pl->stats.uploads_carried += slot->ncarried;
	if (!slot->ncarried) {
		free(slot->carried); /* the common case: no upload waited for this send */
		slot->carried = NULL;
		return;
	}
	for (size_t i = 0; i < slot->ncarried; i++) {
		const struct webmail_upload_item *it = &slot->carried[i];
		if (it->name[0])
			mail_scan_field(slot->scan, SCOPE_ATTACH_NAME, it->name, strlen(it->name));
		for (uint32_t j = 0; j < it->reason_count && j < WEBMAIL_UPLOAD_REASONS; j++)
			mail_scan_add_reason(slot->scan, &it->reasons[j]);
	}
}

/* An upload that passed is remembered for its send. */
static void remember_upload(struct pipeline *pl, struct http_slot *slot, const char *host)
{
	const struct webmail_result *res = slot->res;
	if (!pl->cfg.uploads || !res->compose_id[0] || !slot->scan)
		return;
	const struct flow_info *fi = flow_get_info(slot->app->flow);
	for (size_t i = 0; i < mail_scan_attachment_count(slot->scan); i++) {
		struct mail_scan_attachment a;
		mail_scan_attachment(slot->scan, i, &a);
		struct webmail_upload_item it;
		memset(&it, 0, sizeof it);
		snprintf(it.name, sizeof it.name, "%s", a.name);
		snprintf(it.declared_type, sizeof it.declared_type, "%s", a.declared_type);
		snprintf(it.true_type, sizeof it.true_type, "%s", a.true_type);
		snprintf(it.sha256, sizeof it.sha256, "%s", a.sha256);
		it.size = a.size;
		it.findings = a.findings;
		for (uint32_t j = 0; j < slot->verdict.reason_count && it.reason_count < WEBMAIL_UPLOAD_REASONS; j++)
			if (slot->verdict.reasons[j].kind != REASON_SERVICE)
				it.reasons[it.reason_count++] = slot->verdict.reasons[j];
		webmail_uploads_put(pl->cfg.uploads, &fi->tuple.client, host, res->compose_id, &it,
				    pl->now_us);
	}
}

/* The service policy's word on this request, as the first reason; returns
 * how a block is carried out if it is the service that blocks. */
static enum webmail_action service_reason(const struct webmail_config *wc, struct http_slot *slot,
					  const char *host, struct verdict *v)
{
	struct verdict_reason r;
	memset(&r, 0, sizeof r);
	r.kind = REASON_SERVICE;
	snprintf(r.scope, sizeof r.scope, "%s", host);
	enum webmail_action act = WEBMAIL_ACTION_ACCEPT;
	switch (slot->svc.verdict) {
	case SERVICE_ALLOWED:
		return WEBMAIL_ACTION_ACCEPT; /* approved: logged with its fields, no reason */
	case SERVICE_DENIED:
		act = slot->svc.action;
		snprintf(r.id, sizeof r.id, "%s", slot->svc.service);
		snprintf(r.excerpt, sizeof r.excerpt, "denied (line %u)", slot->svc.line);
		break;
	case SERVICE_UNLISTED:
		if (slot->res->signature[0]) {
			act = wc->unlisted_action;
			snprintf(r.id, sizeof r.id, "unlisted-webmail");
		} else {
			act = wc->unknown_action;
			snprintf(r.id, sizeof r.id, "unknown-webmail");
		}
		snprintf(r.excerpt, sizeof r.excerpt, "%s", slot->res->product);
		break;
	}
	r.action = act == WEBMAIL_ACTION_ACCEPT ? RULE_ACTION_ALERT : RULE_ACTION_RESET;
	r.count = 1;
	verdict_add(v, &r);
	return act;
}

static void judge(struct app_flow *app, struct http_slot *slot, const struct http_request *r)
{
	struct pipeline *pl = app->pl;
	const struct webmail_result *res = slot->res;
	switch (res->kind) {
	case WEBMAIL_NONE:
		return;
	case WEBMAIL_SEND: pl->stats.webmail_sends++; break;
	case WEBMAIL_DRAFT: pl->stats.webmail_drafts++; break;
	case WEBMAIL_UPLOAD: pl->stats.webmail_uploads++; break;
	}
	const struct mail_policy *mp = policy_of(pl);
	if (!mp)
		return; /* detection only: no policy to judge by */
	const struct webmail_config *wc = &mp->cfg->webmail;
	const struct flow_info *fi = flow_get_info(app->flow);
	const char *host = r->host;
	if (mp->services)
		service_policy_lookup(mp->services, host, &fi->tuple.client, pl->now_us, &slot->svc);
	else
		slot->svc = (struct service_match){.verdict = SERVICE_UNLISTED, .service = ""};
	if (!slot->scan) {
		slot->scan = mail_scan_begin_webmail(pl->cfg.scanner, &fi->tuple.client);
		if (!slot->scan)
			return; /* out of memory: counted by the scanner; fails open */
	}
	field_if(slot->scan, SCOPE_WEBMAIL_TO, res->to);
	field_if(slot->scan, SCOPE_WEBMAIL_TO, res->cc);
	field_if(slot->scan, SCOPE_WEBMAIL_TO, res->bcc);
	field_if(slot->scan, SCOPE_WEBMAIL_SUBJECT, res->subject);
	if (res->kind != WEBMAIL_UPLOAD)
		carry_uploads(pl, slot, host);
	mail_scan_end_webmail(slot->scan);

	struct verdict content;
	mail_scan_decide(slot->scan, &content);
	verdict_init(&slot->verdict);
	enum webmail_action how = service_reason(wc, slot, host, &slot->verdict);
	for (uint32_t i = 0; i < content.reason_count; i++)
		verdict_add(&slot->verdict, &content.reasons[i]);
	slot->verdict.reasons_dropped += content.reasons_dropped;
	slot->judged = true;

	/* A block the service decided is carried out its way; a block by the
	 * content (rules, attachments) the configured way. */
	if (slot->verdict.action != RULE_ACTION_RESET)
		slot->action = WEBMAIL_ACTION_ACCEPT;
	else if (how != WEBMAIL_ACTION_ACCEPT)
		slot->action = how;
	else
		slot->action = wc->block_action == WEBMAIL_ACTION_ACCEPT ? WEBMAIL_ACTION_RESET
									 : wc->block_action;
	if (slot->action == WEBMAIL_ACTION_REDIRECT && !wc->block_page)
		slot->action = WEBMAIL_ACTION_RESET;

	if (res->kind == WEBMAIL_UPLOAD && slot->action == WEBMAIL_ACTION_ACCEPT)
		remember_upload(pl, slot, host);
	if (slot->action == WEBMAIL_ACTION_ACCEPT)
		return;
	pl->stats.webmail_blocked++;
	if (!pl->cur_out)
		return;
	if (slot->action == WEBMAIL_ACTION_REDIRECT) {
		pl->cur_out->action = PIPE_REDIRECT;
		app->redirected = true;
		pl->stats.redirects++;
	} else {
		pl->cur_out->action = PIPE_RESET;
		app->reset_done = true;
		pl->stats.resets++;
	}
}

/* ---- events ----------------------------------------------------------------- */

static json_t *webmail_json(const struct http_slot *slot)
{
	const struct webmail_result *res = slot->res;
	json_t *w = json_object();
	event_json_set(w, "kind", json_string(webmail_kind_name(res->kind)));
	event_json_set(w, "product", event_json_text(res->product));
	if (res->signature[0])
		event_json_set(w, "signature", event_json_text(res->signature));
	event_json_set(w, "confidence", json_integer(res->confidence));
	if (res->reason_count) {
		json_t *a = json_array();
		for (uint32_t i = 0; i < res->reason_count && i < WEBMAIL_MAX_REASONS; i++)
			json_array_append_new(a, event_json_text(res->reasons[i]));
		event_json_set(w, "reasons", a);
	}
	const struct {
		const char *key, *value;
	} fields[] = {
		{"from", res->from}, {"to", res->to}, {"cc", res->cc}, {"bcc", res->bcc},
		{"subject", res->subject}, {"compose_id", res->compose_id},
	};
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		if (fields[i].value && fields[i].value[0])
			event_json_set(w, fields[i].key, event_json_text(fields[i].value));
	event_json_set(w, "recipients", json_integer(res->recipients));
	event_json_set(w, "body_bytes", json_integer((json_int_t)res->body_bytes));
	event_json_set(w, "fields", json_integer(res->fields));
	event_json_set(w, "form", json_string(form_kind_name(res->form)));
	if (res->form_anomalies)
		event_json_set(w, "form_anomalies", event_json_flags(res->form_anomalies, form_anomaly_name));
	if (res->truncated_fields)
		event_json_set(w, "truncated_fields", json_integer(res->truncated_fields));
	json_t *files = json_array();
	for (uint32_t i = 0; i < res->file_count && i < WEBMAIL_MAX_FILES; i++) {
		json_t *f = json_object();
		event_json_set(f, "field", event_json_text(res->files[i].field));
		event_json_set(f, "name", event_json_text(res->files[i].filename));
		event_json_set(f, "type", event_json_text(res->files[i].content_type));
		event_json_set(f, "size", json_integer((json_int_t)res->files[i].size));
		json_array_append_new(files, f);
	}
	event_json_set(w, "files", files);
	if (res->files_dropped)
		event_json_set(w, "files_dropped", json_integer(res->files_dropped));
	if (slot->ncarried) {
		json_t *up = json_array();
		for (size_t i = 0; i < slot->ncarried; i++) {
			const struct webmail_upload_item *it = &slot->carried[i];
			json_t *o = json_object();
			event_json_set(o, "name", event_json_text(it->name));
			event_json_set(o, "true_type", event_json_text(it->true_type));
			event_json_set(o, "size", json_integer((json_int_t)it->size));
			event_json_set(o, "sha256", json_string(it->sha256));
			json_array_append_new(up, o);
		}
		event_json_set(w, "uploads", up);
	}
	return w;
}

/* What `postern verdicts` lists and filters by, besides the event: the
 * request number and the recipient fields. */
static json_t *record_extra(const struct http_slot *slot)
{
	json_t *extra = json_object();
	json_object_set_new(extra, "tx", json_integer(slot->index));
	json_t *rcpt = json_array();
	const char *const vals[] = {slot->res->to, slot->res->cc, slot->res->bcc};
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
		if (vals[i] && vals[i][0])
			json_array_append_new(rcpt, event_json_text(vals[i]));
	json_object_set_new(extra, "rcpt", rcpt);
	return extra;
}

static void emit_request(struct app_flow *app, const struct http_request *r,
			 const struct http_slot *slot)
{
	struct pipeline *pl = app->pl;
	const struct flow_info *fi = flow_get_info(app->flow);
	json_t *ev = json_object();
	event_json_set(ev, "type", json_string("http_request"));
	pipeline_add_tuple(ev, fi);
	event_json_set(ev, "request", json_integer(r->index));
	event_json_set(ev, "ts_start", event_json_time(slot ? slot->start_us : pl->now_us));
	if (slot && slot->committed)
		event_json_set(ev, "ts_commit", event_json_time(slot->commit_us));
	event_json_set(ev, "ts_end", event_json_time(pl->now_us));
	event_json_set(ev, "method", event_json_text(r->method));
	event_json_set(ev, "host", event_json_text(r->host));
	event_json_set(ev, "url", event_json_text(r->url));
	if (r->status)
		event_json_set(ev, "status", json_integer(r->status));
	if (r->content_type && r->content_type[0])
		event_json_set(ev, "content_type", event_json_text(r->content_type));
	event_json_set(ev, "body_bytes", json_integer((json_int_t)r->body_bytes));
	if (slot && slot->body_capped)
		event_json_set(ev, "body_capped", json_true());
	event_json_set(ev, "anomalies", event_json_flags(r->anomalies, http_anomaly_name));
	/* Parameters no signature condition saw: padding could hide a send from
	 * the signatures (the generic detector still scores it). */
	if (slot && slot->res && slot->res->fields_unseen)
		event_json_set(ev, "fields_unseen", json_integer(slot->res->fields_unseen));
	if (slot && slot->res && slot->res->kind != WEBMAIL_NONE)
		event_json_set(ev, "webmail", webmail_json(slot));
	if (slot && slot->judged) {
		json_t *svc = json_object();
		event_json_set(svc, "verdict", json_string(service_verdict_name(slot->svc.verdict)));
		if (slot->svc.service && slot->svc.service[0])
			event_json_set(svc, "name", event_json_text(slot->svc.service));
		if (slot->svc.line)
			event_json_set(svc, "line", json_integer(slot->svc.line));
		event_json_set(ev, "service", svc);
		event_json_set(ev, "direction", json_string(mail_scan_direction(slot->scan)));
		verdict_to_json(&slot->verdict, ev);
		/* reset or redirect: how the block is carried out */
		event_json_set(ev, "verdict", json_string(webmail_action_name(slot->action)));
		event_json_set(ev, "content", mail_scan_json(slot->scan));
		if (pl->cfg.store)
			pipeline_store_event(pl, fi, ev, slot->commit_us, slot->index, record_extra(slot));
		if (pl->cfg.on_decided)
			pl->cfg.on_decided(pl->cfg.on_decided_ctx, ev);
	}
	pipeline_emit(pl, ev);
}

/* ---- HTTP callbacks ------------------------------------------------------------ */

static void on_request_begin(void *ctx, const struct http_request *r)
{
	struct app_flow *app = ctx;
	struct pipeline *pl = app->pl;
	pl->stats.http_requests++;
	int free_i = -1;
	for (int i = 0; i < HTTP_SLOTS && free_i < 0; i++)
		if (!app->hreq[i])
			free_i = i;
	struct http_slot *slot = free_i >= 0 ? calloc(1, sizeof *slot) : NULL;
	if (!slot) {
		pl->stats.http_slots_full++; /* reported, not inspected */
		return;
	}
	slot->app = app;
	slot->index = r->index;
	slot->start_us = pl->now_us;
	bool has_body = r->content_length > 0 || r->chunked;
	if (pl->cfg.scanner && has_body) {
		slot->scan = mail_scan_begin_webmail(pl->cfg.scanner, &flow_get_info(app->flow)->tuple.client);
		if (slot->scan)
			pl->stats.http_inspected++;
	}
	/* The signatures belong to the policy generation of the scanner: an open
	 * scan keeps that generation alive across a reload until the request is
	 * over.  A request without a body ends within this callback chain; one
	 * whose scan could not be had gets the generic detector only. */
	const struct mail_policy *mp = policy_of(pl);
	const struct webmail_signatures *sigs = mp && (!has_body || slot->scan) ? mp->webmail : NULL;
	slot->wm = webmail_request_begin(sigs, &pl->cfg.webmail, r, &sink, slot);
	if (!slot->wm) {
		pl->stats.parser_alloc_failed++;
		mail_scan_free(slot->scan);
		free(slot);
		return;
	}
	app->hreq[free_i] = slot;
}

static void on_request_body(void *ctx, const struct http_request *r, const uint8_t *data, size_t len)
{
	struct app_flow *app = ctx;
	struct http_slot *slot = hslot_find(app, r->index);
	if (!slot || slot->body_capped)
		return;
	uint64_t max = app->pl->cfg.max_http_body;
	if (slot->body_fed + len > max) {
		len = (size_t)(max - slot->body_fed);
		slot->body_capped = true;
		app->pl->stats.http_body_capped++;
	}
	slot->body_fed += len;
	if (len)
		webmail_request_body(slot->wm, data, len);
}

/* The commit point: the verdict must exist before this packet goes on. */
static void on_request_end(void *ctx, const struct http_request *r)
{
	struct app_flow *app = ctx;
	struct http_slot *slot = hslot_find(app, r->index);
	if (!slot)
		return;
	slot->committed = true;
	slot->commit_us = app->pl->now_us;
	slot->res = webmail_request_end(slot->wm);
	judge(app, slot, r);
}

static void on_request_done(void *ctx, const struct http_request *r)
{
	struct app_flow *app = ctx;
	struct http_slot *slot = hslot_find(app, r->index);
	emit_request(app, r, slot);
	if (slot)
		hslot_free(app, slot);
}

static void on_upgrade(void *ctx)
{
	struct app_flow *app = ctx;
	/* WebSocket or a CONNECT tunnel: not HTTP any more. */
	flow_stop_delivery(app->flow, FLOW_DIR_TO_SERVER);
	flow_stop_delivery(app->flow, FLOW_DIR_TO_CLIENT);
	if (!app->redirected && !app->reset_done)
		app->bypass = true;
}

static const struct http_callbacks http_cb = {
	.request_begin = on_request_begin,
	.request_body = on_request_body,
	.request_end = on_request_end,
	.request_done = on_request_done,
	.upgrade = on_upgrade,
};

bool pipeline_http_start(struct app_flow *app)
{
	struct pipeline *pl = app->pl;
	app->http = http_session_new(&pl->cfg.http, &http_cb, app);
	if (!app->http) {
		pl->stats.parser_alloc_failed++;
		pipeline_app_give_up(app);
		return false;
	}
	app->kind = APP_HTTP;
	pl->stats.http_sessions++;
	return true;
}

void pipeline_http_data(struct app_flow *app, enum flow_dir dir, const uint8_t *data, size_t len)
{
	if (app->redirected || app->reset_done)
		return; /* judged and cut: the rest of the connection is not for us */
	http_session_feed(app->http, (enum http_dir)dir, data, len);
}

void pipeline_http_gap(struct app_flow *app, enum flow_dir dir, uint64_t len)
{
	http_session_gap(app->http, (enum http_dir)dir, len);
	if (dir != FLOW_DIR_TO_SERVER)
		return; /* a hole in a response changes no request body */
	for (int i = 0; i < HTTP_SLOTS; i++)
		if (app->hreq[i] && !app->hreq[i]->committed)
			webmail_request_gap(app->hreq[i]->wm, len);
}

/* ---- TLS ----------------------------------------------------------------------- */

static void emit_client_hello(struct app_flow *app, enum tls_ch_status st,
			      const struct tls_client_hello *ch, const struct service_match *svc,
			      bool blocked)
{
	struct pipeline *pl = app->pl;
	json_t *ev = json_object();
	event_json_set(ev, "type", json_string("tls_client_hello"));
	pipeline_add_tuple(ev, flow_get_info(app->flow));
	event_json_set(ev, "ts", event_json_time(pl->now_us));
	event_json_set(ev, "status", json_string(tls_ch_status_name(st)));
	if (ch->sni[0])
		event_json_set(ev, "sni", event_json_text(ch->sni));
	if (ch->alpn[0])
		event_json_set(ev, "alpn", event_json_text(ch->alpn));
	if (ch->ja4[0])
		event_json_set(ev, "ja4", json_string(ch->ja4));
	if (ch->max_version)
		event_json_set(ev, "version", json_integer(ch->max_version));
	event_json_set(ev, "anomalies", event_json_flags(ch->anomalies, tls_ch_anomaly_name));
	if (svc) {
		json_t *s = json_object();
		event_json_set(s, "verdict", json_string(service_verdict_name(svc->verdict)));
		if (svc->service && svc->service[0])
			event_json_set(s, "name", event_json_text(svc->service));
		if (svc->line)
			event_json_set(s, "line", json_integer(svc->line));
		event_json_set(ev, "service", s);
		event_json_set(ev, "verdict", json_string(blocked ? "reset" : "accept"));
	}
	if (blocked && pl->cfg.on_decided)
		pl->cfg.on_decided(pl->cfg.on_decided_ctx, ev);
	pipeline_emit(pl, ev);
}

static void tls_finish(struct app_flow *app)
{
	tls_ch_free(app->tls);
	app->tls = NULL;
	flow_stop_delivery(app->flow, FLOW_DIR_TO_SERVER);
	flow_stop_delivery(app->flow, FLOW_DIR_TO_CLIENT);
	app->kind = APP_NONE;
	if (!app->reset_done)
		app->bypass = true; /* encrypted from here on */
}

bool pipeline_tls_start(struct app_flow *app)
{
	struct pipeline *pl = app->pl;
	app->tls = tls_ch_new(0);
	if (!app->tls) {
		pl->stats.parser_alloc_failed++;
		pipeline_app_give_up(app);
		return false;
	}
	app->kind = APP_TLS;
	pl->stats.tls_sessions++;
	return true;
}

void pipeline_tls_data(struct app_flow *app, enum flow_dir dir, const uint8_t *data, size_t len)
{
	struct pipeline *pl = app->pl;
	if (dir != FLOW_DIR_TO_SERVER) {
		/* The server spoke before the ClientHello completed: not a TLS
		 * client we can judge. */
		pl->stats.tls_unparsed++;
		emit_client_hello(app, tls_ch_status(app->tls), tls_ch_result(app->tls), NULL, false);
		tls_finish(app);
		return;
	}
	enum tls_ch_status st = tls_ch_feed(app->tls, data, len);
	if (st == TLS_CH_NEED_MORE)
		return;
	const struct tls_client_hello *ch = tls_ch_result(app->tls);
	if (st != TLS_CH_DONE) {
		pl->stats.tls_unparsed++;
		emit_client_hello(app, st, ch, NULL, false);
		tls_finish(app);
		return;
	}
	pl->stats.tls_client_hellos++;
	const struct mail_policy *mp = policy_of(pl);
	struct service_match svc = {.verdict = SERVICE_UNLISTED, .service = ""};
	bool judged = mp && mp->services && ch->sni[0];
	if (judged)
		service_policy_lookup(mp->services, ch->sni, &flow_get_info(app->flow)->tuple.client,
				      pl->now_us, &svc);
	/* Inside TLS nothing can be said to the browser: a denied service is
	 * reset on the packet that completes the ClientHello. */
	bool blocked = svc.verdict == SERVICE_DENIED && svc.action != WEBMAIL_ACTION_ACCEPT;
	if (blocked) {
		pl->stats.tls_blocked++;
		if (pl->cur_out) {
			pl->cur_out->action = PIPE_RESET;
			app->reset_done = true;
			pl->stats.resets++;
		}
	}
	emit_client_hello(app, st, ch, judged ? &svc : NULL, blocked);
	tls_finish(app);
}

/* ---- flow end ------------------------------------------------------------------ */

void pipeline_http_end(struct app_flow *app)
{
	if (app->http) {
		http_session_close(app->http); /* request_done for every open request */
		http_session_free(app->http);
		app->http = NULL;
	}
	for (int i = 0; i < HTTP_SLOTS; i++)
		if (app->hreq[i])
			hslot_free(app, app->hreq[i]);
	if (app->tls) {
		app->pl->stats.tls_unparsed++;
		emit_client_hello(app, tls_ch_status(app->tls), tls_ch_result(app->tls), NULL, false);
		tls_ch_free(app->tls);
		app->tls = NULL;
	}
}
