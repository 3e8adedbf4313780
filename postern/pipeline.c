#include "postern/pipeline.h"
#include "postern/pipeline_internal.h"

#include <errno.h>
#include <stddef.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include <poll.h>

#include "config/config.h"
#include "policy/mail_scan.h"
#include "postern/event_json.h"
#include "rbl/rbl.h"
#include "store/store.h"
#include "tls_parser/client_hello.h"
#include "webmail/uploads.h"

/* Client bytes an SMTP-port connection may carry before its server's first
 * byte; beyond, it is not mail (see check_greeting). */
#define PREGREET_MAX (256u * 1024u)
/* Expiry runs at most once per second of packet time. */
#define EXPIRE_INTERVAL_US 1000000u
/* DNS sockets are polled (without waiting) every this many packets while
 * lookups are out. */
#define DNS_POLL_PACKETS 64
/* Verdict records are pruned once per hour of packet time. */
#define PRUNE_INTERVAL_US (3600ull * 1000000u)

static const char *const app_kind_names[] = {"unknown", "smtp", "none", "http", "tls"};

/* One transaction between tx_begin and tx_end, with its inspection. */
struct tx_slot {
	uint32_t index;
	uint64_t start_us, commit_us;
	bool committed;
	bool decided;
	struct app_flow *app;
	struct mail_scan *scan;
	struct verdict verdict;
	/* Inline: the commit packet is held while the decision waits for DNS. */
	bool held;
	uint64_t hold_deadline_us;
	struct pipeline_verdict hold;
};

/* Commit points held at once per pipeline; past it a decision is taken at
 * once with the answers in so far (counted in held_cap). */
#define HELD_MAX 4096

void pipeline_config_default(struct pipeline_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	decoder_config_default(&cfg->decode);
	flow_table_config_default(&cfg->flows);
	smtp_limits_default(&cfg->smtp);
	cfg->smtp_ports[0] = 25;
	cfg->smtp_ports[1] = 587;
	cfg->smtp_port_count = 2;
	cfg->smtp_banner_detect = true;
	cfg->max_extract_open = 256;
	cfg->http_ports[0] = 80;
	cfg->http_ports[1] = 8080;
	cfg->http_port_count = 2;
	cfg->tls_ports[0] = 443;
	cfg->tls_port_count = 1;
	cfg->content_detect = true;
	http_limits_default(&cfg->http);
	cfg->http.max_pending = HTTP_SLOTS;
	webmail_limits_default(&cfg->webmail);
	cfg->max_http_body = 64u << 20;
}

void pipeline_config_apply(struct pipeline_config *cfg, const struct postern_config *pc)
{
	cfg->smtp = pc->smtp;
	cfg->smtp.max_message = pc->max_message;
	if (pc->max_flows)
		cfg->flows.max_flows = (uint32_t)(pc->max_flows > UINT32_MAX ? UINT32_MAX : pc->max_flows);
	if (pc->smtp_port_count) {
		cfg->smtp_port_count = 0;
		for (unsigned i = 0; i < pc->smtp_port_count && i < PIPELINE_MAX_SMTP_PORTS; i++)
			cfg->smtp_ports[cfg->smtp_port_count++] = pc->smtp_ports[i];
	}
	if (pc->store_enabled)
		cfg->store_retention_us = pc->store.retention_us;
	cfg->hold_timeout_ms = pc->hold_timeout_ms;
	cfg->fail_closed = pc->fail_closed;
	const struct webmail_config *wc = &pc->webmail;
	if (!wc->enabled) {
		cfg->http_port_count = cfg->tls_port_count = 0;
		cfg->content_detect = false;
		return;
	}
	cfg->http_port_count = 0;
	for (unsigned i = 0; i < wc->http_port_count && i < PIPELINE_MAX_SMTP_PORTS; i++)
		cfg->http_ports[cfg->http_port_count++] = wc->http_ports[i];
	cfg->tls_port_count = 0;
	for (unsigned i = 0; i < wc->tls_port_count && i < PIPELINE_MAX_SMTP_PORTS; i++)
		cfg->tls_ports[cfg->tls_port_count++] = wc->tls_ports[i];
	cfg->content_detect = wc->content_detect;
	cfg->webmail.generic_threshold = wc->generic_threshold;
	cfg->max_http_body = wc->max_body ? wc->max_body : pc->max_message;
}

/* ---- event output ---------------------------------------------------- */

void pipeline_emit(struct pipeline *pl, json_t *ev)
{
	if (!ev)
		return;
	/* jansson keeps insertion order, so the same input gives the same bytes.
	 * Serialise into one buffer and write it once: json_dumpf would call
	 * fwrite per token.  Events are bounded by the parsers' field caps. */
	size_t n = json_dumpb(ev, pl->evbuf, pl->evcap, JSON_COMPACT);
	if (n + 1 > pl->evcap) {
		char *bigger = realloc(pl->evbuf, n + 1);
		if (bigger) {
			pl->evbuf = bigger;
			pl->evcap = n + 1;
			n = json_dumpb(ev, pl->evbuf, pl->evcap, JSON_COMPACT);
		}
	}
	if (n && n < pl->evcap) {
		pl->evbuf[n] = '\n';
		fwrite(pl->evbuf, 1, n + 1, pl->out);
		if (pl->cfg.flush_events)
			fflush(pl->out);
	} else {
		pl->stats.events_lost++;
		json_decref(ev);
		return;
	}
	pl->stats.events++;
	json_decref(ev);
}

void pipeline_add_tuple(json_t *ev, const struct flow_info *fi)
{
	event_json_set(ev, "flow_id", json_integer((json_int_t)fi->id));
	event_json_set(ev, "client", event_json_addr(&fi->tuple.client));
	event_json_set(ev, "client_port", json_integer(fi->tuple.client_port));
	event_json_set(ev, "server", event_json_addr(&fi->tuple.server));
	event_json_set(ev, "server_port", json_integer(fi->tuple.server_port));
	if (fi->tuple.vlan)
		event_json_set(ev, "vlan", json_integer(fi->tuple.vlan));
}

static json_t *auth_json(const char *mech, enum smtp_auth_outcome outcome)
{
	if (outcome == SMTP_AUTH_NONE)
		return NULL;
	json_t *a = json_object();
	event_json_set(a, "mechanism", event_json_text(mech));
	event_json_set(a, "outcome", json_string(smtp_auth_outcome_name(outcome)));
	return a;
}

/* The verdict record is the event itself plus the fields the store lists by
 * (the flow and the commit time) and extra's members, if any. */
void pipeline_store_event(struct pipeline *pl, const struct flow_info *fi, const json_t *ev,
			  uint64_t commit_us, uint32_t index, json_t *extra)
{
	char flow_id[160], a[64], b[64];
	event_json_addr_text(&fi->tuple.client, a, sizeof a);
	event_json_addr_text(&fi->tuple.server, b, sizeof b);
	snprintf(flow_id, sizeof flow_id, "%s:%u>%s:%u", a, fi->tuple.client_port, b,
		 fi->tuple.server_port);
	/* shallow: only top-level members are added to the copy */
	json_t *rec = json_copy((json_t *)ev);
	if (!rec || (extra && json_object_update(rec, extra) < 0)) {
		json_decref(rec);
		json_decref(extra);
		pl->stats.store_dropped++;
		return;
	}
	json_decref(extra);
	json_object_set_new(rec, "flow", json_string(flow_id));
	json_object_set_new(rec, "ts_commit_us", json_integer((json_int_t)commit_us));
	char *text = json_dumps(rec, JSON_COMPACT);
	json_decref(rec);
	if (!text || !store_put(pl->cfg.store, commit_us, flow_id, index, text, strlen(text)))
		pl->stats.store_dropped++;
	free(text);
}

static void emit_transaction(struct app_flow *app, const struct smtp_transaction *tx,
			     const struct tx_slot *slot)
{
	struct pipeline *pl = app->pl;
	const struct flow_info *fi = flow_get_info(app->flow);
	json_t *ev = json_object();
	uint64_t start_us = slot ? slot->start_us : pl->now_us;

	event_json_set(ev, "type", json_string("smtp_transaction"));
	pipeline_add_tuple(ev, fi);
	event_json_set(ev, "tx", json_integer(tx->index));
	event_json_set(ev, "ts_start", event_json_time(start_us));
	if (slot && slot->committed)
		event_json_set(ev, "ts_commit", event_json_time(slot->commit_us));
	event_json_set(ev, "ts_end", event_json_time(pl->now_us));
	event_json_set(ev, "helo", event_json_text(tx->helo));
	event_json_set(ev, "mail_from", event_json_text(tx->mail_from));
	if (tx->mail_params && tx->mail_params[0])
		event_json_set(ev, "mail_params", event_json_text(tx->mail_params));
	if (tx->has_size_param)
		event_json_set(ev, "size_param", json_integer((json_int_t)tx->size_param));
	if (tx->body_param)
		event_json_set(ev, "body_param", event_json_text(tx->body_param));
	if (tx->smtputf8)
		event_json_set(ev, "smtputf8", json_true());

	json_t *rcpt = json_array(), *rejected = json_array();
	for (uint32_t i = 0; i < tx->rcpt_count; i++) {
		const struct smtp_rcpt *r = &tx->rcpt[i];
		json_array_append_new(rcpt, event_json_text(r->address));
		if (r->reply_code >= 400)
			json_array_append_new(rejected, event_json_text(r->address));
	}
	event_json_set(ev, "rcpt_to", rcpt);
	if (json_array_size(rejected))
		event_json_set(ev, "rcpt_rejected", rejected);
	else
		json_decref(rejected);
	if (tx->rcpt_dropped)
		event_json_set(ev, "rcpt_dropped", json_integer(tx->rcpt_dropped));

	if (tx->method) {
		event_json_set(ev, "method", json_string(tx->method));
		if (tx->bdat_chunks)
			event_json_set(ev, "bdat_chunks", json_integer(tx->bdat_chunks));
		event_json_set(ev, "message_size", json_integer((json_int_t)tx->message_bytes));
		json_t *h = json_object();
		event_json_set(h, "subject", event_json_text(tx->subject));
		event_json_set(h, "from", event_json_text(tx->from));
		event_json_set(h, "to", event_json_text(tx->to));
		event_json_set(h, "cc", event_json_text(tx->cc));
		event_json_set(h, "message_id", event_json_text(tx->message_id));
		event_json_set(ev, "headers", h);
	}
	if (tx->reply_code) {
		event_json_set(ev, "reply_code", json_integer(tx->reply_code));
		event_json_set(ev, "reply_text", event_json_text(tx->reply_text));
	}
	event_json_set(ev, "outcome", json_string(smtp_outcome_name(tx->outcome)));
	event_json_set(ev, "auth", auth_json(tx->auth_mechanism, tx->auth_outcome));
	event_json_set(ev, "anomalies", event_json_flags(tx->anomalies, smtp_anomaly_name));
	if (slot && slot->scan) {
		event_json_set(ev, "direction", json_string(mail_scan_direction(slot->scan)));
		if (slot->decided)
			verdict_to_json(&slot->verdict, ev);
		event_json_set(ev, "content", mail_scan_json(slot->scan));
		if (slot->decided && pl->cfg.store)
			pipeline_store_event(pl, fi, ev, slot->commit_us, tx->index, NULL);
		if (slot->decided && pl->cfg.on_decided)
			pl->cfg.on_decided(pl->cfg.on_decided_ctx, ev);
	}
	pipeline_emit(pl, ev);
}

static json_t *dir_stats_json(const struct flow_dir_stats *d)
{
	json_t *o = json_object();
	event_json_set(o, "packets", json_integer((json_int_t)d->packets));
	event_json_set(o, "bytes", json_integer((json_int_t)d->bytes));
	event_json_set(o, "delivered", json_integer((json_int_t)d->delivered));
	event_json_set(o, "gaps", json_integer(d->gaps));
	event_json_set(o, "gap_bytes", json_integer((json_int_t)d->gap_bytes));
	event_json_set(o, "retransmits", json_integer(d->retransmits));
	event_json_set(o, "out_of_order", json_integer(d->out_of_order));
	event_json_set(o, "overlap_conflicts", json_integer(d->overlap_conflicts));
	return o;
}

static void emit_flow(struct pipeline *pl, struct flow *f, struct app_flow *app,
		      enum flow_end_reason why)
{
	const struct flow_info *fi = flow_get_info(f);
	json_t *ev = json_object();
	event_json_set(ev, "type", json_string("flow"));
	pipeline_add_tuple(ev, fi);
	event_json_set(ev, "ts_start", event_json_time(fi->first_ts_us));
	event_json_set(ev, "ts_end", event_json_time(fi->last_ts_us));
	event_json_set(ev, "end", json_string(flow_end_reason_name(why)));
	event_json_set(ev, "app", json_string(app_kind_names[app ? app->kind : APP_UNKNOWN]));
	event_json_set(ev, "handshake", json_boolean(fi->handshake_seen));
	event_json_set(ev, "to_server", dir_stats_json(&fi->dir[FLOW_DIR_TO_SERVER]));
	event_json_set(ev, "to_client", dir_stats_json(&fi->dir[FLOW_DIR_TO_CLIENT]));
	event_json_set(ev, "anomalies", event_json_flags(fi->anomalies, flow_anomaly_name));

	if (app && app->smtp) {
		const struct smtp_session_info *si = smtp_session_info(app->smtp);
		json_t *s = json_object();
		event_json_set(s, "banner", event_json_text(si->banner));
		event_json_set(s, "helo", event_json_text(si->helo));
		event_json_set(s, "capabilities", event_json_text(si->capabilities));
		event_json_set(s, "auth", auth_json(si->auth_mechanism, si->auth_outcome));
		event_json_set(s, "starttls", json_boolean(si->starttls));
		event_json_set(s, "transactions", json_integer(si->transactions));
		event_json_set(s, "commands", json_integer(si->commands));
		event_json_set(s, "replies", json_integer(si->replies));
		event_json_set(s, "anomalies", event_json_flags(si->anomalies, smtp_anomaly_name));
		event_json_set(ev, "smtp", s);
	}
	pipeline_emit(pl, ev);
}

static void dns_service(struct pipeline *pl, int timeout_ms);

/* ---- message extraction (for tests and forensics) -------------------- */

static void extract_close(struct app_flow *app)
{
	if (!app->extract)
		return;
	if (fclose(app->extract) != 0 && !app->extract_failed) {
		app->extract_failed = true;
		app->pl->stats.extract_failed++;
	}
	app->extract = NULL;
	app->pl->extract_open--;
}

static void extract_open(struct app_flow *app, const struct smtp_transaction *tx)
{
	struct pipeline *pl = app->pl;
	if (!pl->cfg.extract_dir || app->extract || app->extract_failed)
		return;
	if (pl->extract_open >= pl->cfg.max_extract_open) {
		app->extract_failed = true;
		pl->stats.extract_skipped_cap++;
		return;
	}
	char path[4096];
	snprintf(path, sizeof path, "%s/%llu-%u.eml", pl->cfg.extract_dir,
		 (unsigned long long)flow_get_info(app->flow)->id, tx->index);
	app->extract = fopen(path, "wb");
	if (!app->extract) {
		app->extract_failed = true;
		pl->stats.extract_failed++;
		return;
	}
	pl->extract_open++;
}

/* ---- SMTP callbacks --------------------------------------------------- */

static struct tx_slot *slot_find(struct app_flow *app, uint32_t index)
{
	for (int i = 0; i < TX_SLOTS; i++)
		if (app->tx[i] && app->tx[i]->index == index)
			return app->tx[i];
	return NULL;
}

/* The packet's numbers for a verdict: who sent it, its seq and ack. */
void pipeline_fill_verdict(struct pipeline_verdict *v, const struct packet *pkt,
			   const struct flow *f, uint64_t token)
{
	const struct flow_info *fi = flow_get_info(f);
	memset(v, 0, sizeof *v);
	v->token = token;
	v->client = fi->tuple.client;
	v->server = fi->tuple.server;
	v->client_port = fi->tuple.client_port;
	v->server_port = fi->tuple.server_port;
	if (pkt) {
		v->from_client = pkt->sport == fi->tuple.client_port &&
				 !memcmp(&pkt->src, &fi->tuple.client, sizeof pkt->src);
		v->seq = pkt->seq;
		v->ack = pkt->ack;
		v->payload_len = pkt->payload_len;
	}
}

static void fill_verdict_keep_action(struct pipeline_verdict *v, const struct packet *pkt,
				     const struct flow *f)
{
	enum pipeline_action a = v->action;
	pipeline_fill_verdict(v, pkt, f, v->token);
	v->action = a;
}

static void unhold(struct pipeline *pl, struct tx_slot *slot)
{
	for (size_t i = 0; i < pl->nheld; i++)
		if (pl->held[i] == slot) {
			pl->held[i] = pl->held[--pl->nheld];
			break;
		}
	slot->held = false;
	slot->app->holding = false;
}

/* The held commit packet gets its answer: the decision now, or on expiry
 * (expired) the fail-open / fail-closed setting. */
static void hold_decide(struct pipeline *pl, struct tx_slot *slot, bool expired,
			struct pipeline_verdict *out)
{
	mail_scan_decide(slot->scan, &slot->verdict);
	slot->decided = true;
	*out = slot->hold;
	bool reset = slot->verdict.action == RULE_ACTION_RESET || (expired && pl->cfg.fail_closed);
	out->action = reset ? PIPE_RESET : PIPE_ACCEPT;
	unhold(pl, slot);
	if (expired)
		pl->stats.held_timeout++;
	pl->stats.held_released++;
	if (reset) {
		slot->app->reset_done = true;
		pl->stats.resets++;
	}
}

static void slot_free(struct app_flow *app, struct tx_slot *slot)
{
	struct pipeline *pl = app->pl;
	if (slot->held && pl->released) {
		/* The flow ended while its commit packet was held (flush, eviction):
		 * it still needs an answer.  held + released never exceed HELD_MAX
		 * (on_msg_end holds only below it), and this slot leaves held. */
		hold_decide(pl, slot, true, &pl->released[pl->nreleased++]);
	}
	for (int i = 0; i < TX_SLOTS; i++)
		if (app->tx[i] == slot)
			app->tx[i] = NULL;
	mail_scan_free(slot->scan);
	free(slot);
}

static void on_tx_begin(void *ctx, const struct smtp_transaction *tx)
{
	struct app_flow *app = ctx;
	struct pipeline *pl = app->pl;
	pl->stats.smtp_transactions++;
	app->extract_failed = false;
	int free_i = -1;
	for (int i = 0; i < TX_SLOTS && free_i < 0; i++)
		if (!app->tx[i])
			free_i = i;
	struct tx_slot *slot = free_i >= 0 ? calloc(1, sizeof *slot) : NULL;
	if (!slot) {
		/* The transaction is still reported, only without inspection. */
		pl->stats.tx_slots_full++;
		return;
	}
	slot->index = tx->index;
	slot->app = app;
	slot->start_us = pl->now_us;
	if (pl->cfg.scanner)
		slot->scan = mail_scan_begin(pl->cfg.scanner, &flow_get_info(app->flow)->tuple.client,
					     tx->mail_from);
	app->tx[free_i] = slot;
}

static void on_msg_data(void *ctx, const struct smtp_transaction *tx, const uint8_t *data,
			size_t len)
{
	struct app_flow *app = ctx;
	struct tx_slot *slot = slot_find(app, tx->index);
	if (slot && slot->scan)
		mail_scan_data(slot->scan, data, len);
	extract_open(app, tx);
	if (app->extract && fwrite(data, 1, len, app->extract) != len && !app->extract_failed) {
		app->extract_failed = true;
		app->pl->stats.extract_failed++;
	}
}

/* The commit point: the verdict must exist before these bytes go on. */
static void on_msg_end(void *ctx, const struct smtp_transaction *tx)
{
	struct app_flow *app = ctx;
	struct pipeline *pl = app->pl;
	pl->stats.smtp_messages++;
	extract_open(app, tx); /* an empty message still gets its (empty) file */
	extract_close(app);
	struct tx_slot *slot = slot_find(app, tx->index);
	if (!slot)
		return;
	slot->commit_us = pl->now_us;
	slot->committed = true;
	if (!slot->scan)
		return;
	const char *rcpt[64];
	size_t n = 0;
	for (uint32_t i = 0; i < tx->rcpt_count && n < sizeof rcpt / sizeof rcpt[0]; i++)
		rcpt[n++] = tx->rcpt[i].address;
	mail_scan_end(slot->scan, rcpt, n);
	if (pl->cur_out && !mail_scan_ready(slot->scan)) {
		/* Inline: hold this packet until the block lists answer. */
		if (pl->nheld + pl->nreleased < HELD_MAX) {
			slot->held = true;
			slot->hold_deadline_us = pl->now_us + (uint64_t)pl->cfg.hold_timeout_ms * 1000u;
			pipeline_fill_verdict(&slot->hold, pl->cur_pkt, app->flow, pl->cur_out->token);
			pl->held[pl->nheld++] = slot;
			app->holding = true;
			pl->cur_out->action = PIPE_HOLD;
			pl->stats.held++;
			return;
		}
		pl->stats.held_cap++;
	}
	if (!mail_scan_ready(slot->scan) && pl->cfg.wait_for_lookups) {
		struct rbl_resolver *r = mail_scanner_resolver(pl->cfg.scanner);
		if (r) {
			mail_scanner_note_wait(pl->cfg.scanner);
			rbl_wait(r, pl->cfg.lookup_wait_ms);
		}
	}
	mail_scan_decide(slot->scan, &slot->verdict);
	slot->decided = true;
	if (pl->cur_out && slot->verdict.action == RULE_ACTION_RESET) {
		pl->cur_out->action = PIPE_RESET;
		app->reset_done = true;
		pl->stats.resets++;
	}
}

static void on_tx_end(void *ctx, const struct smtp_transaction *tx)
{
	struct app_flow *app = ctx;
	extract_close(app);
	struct tx_slot *slot = slot_find(app, tx->index);
	emit_transaction(app, tx, slot);
	if (slot)
		slot_free(app, slot);
}

static void on_starttls(void *ctx)
{
	struct app_flow *app = ctx;
	app->pl->stats.smtp_starttls++;
	/* Encrypted from here on: keep counting packets, stop handing bytes up,
	 * and inline, let the kernel stop queueing the connection. */
	flow_stop_delivery(app->flow, FLOW_DIR_TO_SERVER);
	flow_stop_delivery(app->flow, FLOW_DIR_TO_CLIENT);
	app->bypass = true;
}

static const struct smtp_callbacks smtp_cb = {
	.tx_begin = on_tx_begin,
	.msg_data = on_msg_data,
	.msg_end = on_msg_end,
	.tx_end = on_tx_end,
	.starttls = on_starttls,
};

/* ---- application dispatch -------------------------------------------- */

static bool port_listed(const uint16_t *ports, unsigned n, uint16_t port)
{
	for (unsigned i = 0; i < n; i++)
		if (ports[i] == port)
			return true;
	return false;
}

static bool is_smtp_port(const struct pipeline *pl, uint16_t port)
{
	for (unsigned i = 0; i < pl->cfg.smtp_port_count; i++)
		if (pl->cfg.smtp_ports[i] == port)
			return true;
	return false;
}

void pipeline_app_give_up(struct app_flow *app)
{
	app->kind = APP_NONE;
	app->pl->stats.flows_not_parsed++;
	flow_stop_delivery(app->flow, FLOW_DIR_TO_SERVER);
	flow_stop_delivery(app->flow, FLOW_DIR_TO_CLIENT);
	app->bypass = true; /* not a protocol we parse */
}

static bool app_start_smtp(struct app_flow *app)
{
	app->smtp = smtp_session_new(&app->pl->cfg.smtp, &smtp_cb, app);
	if (!app->smtp) {
		app->pl->stats.parser_alloc_failed++;
		pipeline_app_give_up(app);
		return false;
	}
	app->kind = APP_SMTP;
	app->pl->stats.smtp_sessions++;
	return true;
}

static struct app_flow *app_get(struct pipeline *pl, struct flow *f)
{
	struct app_flow *app = flow_get_app(f);
	if (app)
		return app;
	app = calloc(1, sizeof *app);
	if (!app) {
		pl->stats.parser_alloc_failed++;
		flow_stop_delivery(f, FLOW_DIR_TO_SERVER);
		flow_stop_delivery(f, FLOW_DIR_TO_CLIENT);
		return NULL;
	}
	app->pl = pl;
	app->flow = f;
	flow_set_app(f, app);
	uint16_t port = flow_get_info(f)->tuple.server_port;
	if (is_smtp_port(pl, port))
		app_start_smtp(app);
	else if (port_listed(pl->cfg.http_ports, pl->cfg.http_port_count, port))
		pipeline_http_start(app);
	else if (port_listed(pl->cfg.tls_ports, pl->cfg.tls_port_count, port))
		pipeline_tls_start(app);
	else if (!pl->cfg.smtp_banner_detect && !pl->cfg.content_detect)
		pipeline_app_give_up(app);
	return app;
}

/* Keep up to APP_PROBE_MAX first bytes for protocol detection; returns how
 * many of data were taken. */
static size_t probe_add(struct app_flow *app, const uint8_t *data, size_t len)
{
	size_t room = (size_t)APP_PROBE_MAX - app->probe_len;
	size_t take = len < room ? len : room;
	memcpy(app->probe + app->probe_len, data, take);
	app->probe_len = (uint8_t)(app->probe_len + take);
	return take;
}

/* Other ports, client first: an HTTP request line or a TLS handshake record
 * (content detection). */
static void app_probe_client(struct app_flow *app, const uint8_t *data, size_t len)
{
	app->probe_client = true;
	size_t take = probe_add(app, data, len);
	int http = http_detect_request(app->probe, app->probe_len);
	int tls = tls_detect(app->probe, app->probe_len);
	if (http <= 0 && tls <= 0) {
		if ((http < 0 || tls < 0) && app->probe_len < APP_PROBE_MAX && take == len)
			return; /* too short to tell yet */
		pipeline_app_give_up(app);
		return;
	}
	bool ok = http > 0 ? pipeline_http_start(app) : pipeline_tls_start(app);
	uint8_t probe[APP_PROBE_MAX];
	size_t n = app->probe_len;
	memcpy(probe, app->probe, n);
	app->probe_len = 0;
	if (!ok)
		return;
	void (*feed)(struct app_flow *, enum flow_dir, const uint8_t *, size_t) =
		http > 0 ? pipeline_http_data : pipeline_tls_data;
	feed(app, FLOW_DIR_TO_SERVER, probe, n);
	if (take < len)
		feed(app, FLOW_DIR_TO_SERVER, data + take, len - take);
}

/* Other ports: an SMTP server speaks first with a 220 greeting, and a client
 * waits for it.  A client that speaks first is not talking SMTP (but may be
 * talking HTTP or TLS). */
static void app_probe(struct app_flow *app, enum flow_dir dir, const uint8_t *data, size_t len)
{
	if (dir == FLOW_DIR_TO_SERVER || !app->pl->cfg.smtp_banner_detect) {
		if (dir == FLOW_DIR_TO_SERVER && app->pl->cfg.content_detect &&
		    (app->probe_len == 0 || app->probe_client))
			app_probe_client(app, data, len);
		else
			pipeline_app_give_up(app);
		return;
	}
	if (app->probe_client) {
		pipeline_app_give_up(app);
		return;
	}
	size_t take = probe_add(app, data, len);
	int verdict = smtp_detect_greeting(app->probe, app->probe_len);
	if (verdict < 0 && app->probe_len < APP_PROBE_MAX && take == len)
		return;
	if (verdict <= 0) {
		pipeline_app_give_up(app);
		return;
	}
	if (!app_start_smtp(app))
		return;
	smtp_session_feed(app->smtp, SMTP_FROM_SERVER, app->probe, app->probe_len);
	if (take < len)
		smtp_session_feed(app->smtp, SMTP_FROM_SERVER, data + take, len - take);
}

/* SMTP ports are parsed from the first byte, but a connection whose server
 * opens with something other than an SMTP reply is not mail (iperf3, a
 * tunnel on port 25): give it up, so inline it is bypassed instead of costing
 * full inspection.  Only when the handshake was seen (the server's first
 * bytes are really its first) and only on the first few bytes.  false: the
 * flow was given up. */
static bool check_greeting(struct app_flow *app, enum flow_dir dir, const uint8_t *data,
			   size_t len)
{
	if (!flow_get_info(app->flow)->handshake_seen) {
		app->greeting_checked = true;
		return true;
	}
	if (dir == FLOW_DIR_TO_SERVER) {
		/* Inline only (a capture may hold the client's side alone): a
		 * server greets within milliseconds; a client that streams this
		 * much while its server stays silent is not talking SMTP (iperf3's
		 * data connection).  A mail client sending its whole dialog before
		 * the greeting still gets parsed: the greeting arrives long before. */
		if (!app->pl->cur_out)
			return true;
		app->pregreet_bytes += (uint32_t)(len < PREGREET_MAX ? len : PREGREET_MAX);
		if (app->pregreet_bytes < PREGREET_MAX)
			return true;
		app->greeting_checked = true;
		pipeline_app_give_up(app);
		return false;
	}
	probe_add(app, data, len);
	/* Any reply code opens SMTP (a 554 greeting refuses, but is SMTP). */
	const uint8_t *p = app->probe;
	size_t n = app->probe_len;
	bool reply = true;
	for (size_t i = 0; i < n && i < 4; i++)
		reply = reply && (i < 3 ? (p[i] >= '0' && p[i] <= '9') : (p[i] == ' ' || p[i] == '-'));
	if (reply && n < 4 && app->probe_len < APP_PROBE_MAX)
		return true; /* too short to tell yet */
	app->greeting_checked = true;
	app->probe_len = 0;
	if (reply)
		return true;
	pipeline_app_give_up(app);
	return false;
}

static void on_data(void *user, struct flow *f, enum flow_dir dir, const uint8_t *data, size_t len)
{
	struct app_flow *app = app_get(user, f);
	if (!app)
		return;
	switch (app->kind) {
	case APP_SMTP:
		if (!app->greeting_checked && !check_greeting(app, dir, data, len))
			return;
		smtp_session_feed(app->smtp, (enum smtp_dir)dir, data, len);
		break;
	case APP_HTTP:
		pipeline_http_data(app, dir, data, len);
		break;
	case APP_TLS:
		pipeline_tls_data(app, dir, data, len);
		break;
	case APP_UNKNOWN:
		app_probe(app, dir, data, len);
		break;
	case APP_NONE:
		break;
	}
}

static void on_gap(void *user, struct flow *f, enum flow_dir dir, uint64_t len)
{
	struct app_flow *app = app_get(user, f);
	if (!app)
		return;
	if (app->kind == APP_SMTP)
		smtp_session_gap(app->smtp, (enum smtp_dir)dir, len);
	else if (app->kind == APP_HTTP)
		pipeline_http_gap(app, dir, len);
	else if (app->kind == APP_UNKNOWN || app->kind == APP_TLS)
		pipeline_app_give_up(app); /* cannot recognise a protocol across a hole */
}

static void on_eof(void *user, struct flow *f, enum flow_dir dir)
{
	(void)user;
	(void)f;
	(void)dir;
}

static void on_end(void *user, struct flow *f, enum flow_end_reason why)
{
	struct pipeline *pl = user;
	struct app_flow *app = flow_get_app(f);
	if (app && app->smtp)
		smtp_session_close(app->smtp); /* reports open transactions first */
	if (app)
		pipeline_http_end(app); /* reports open requests first */
	emit_flow(pl, f, app, why);
	if (app) {
		extract_close(app);
		smtp_session_free(app->smtp);
		for (int i = 0; i < TX_SLOTS; i++)
			if (app->tx[i])
				slot_free(app, app->tx[i]);
		free(app);
		flow_set_app(f, NULL);
	}
}

static const struct reasm_callbacks reasm_cb = {
	.data = on_data,
	.gap = on_gap,
	.eof = on_eof,
	.end = on_end,
};

/* ---- pipeline --------------------------------------------------------- */

struct pipeline *pipeline_new(const struct pipeline_config *cfg, FILE *out)
{
	struct pipeline *pl = calloc(1, sizeof *pl);
	if (!pl)
		return NULL;
	pl->cfg = *cfg;
	pl->out = out;
	pl->held = calloc(HELD_MAX, sizeof *pl->held);
	pl->released = calloc(HELD_MAX, sizeof *pl->released);
	pl->decoder = decoder_new(&cfg->decode);
	pl->flows = flow_table_new(&cfg->flows, &reasm_cb, pl);
	if (!pl->decoder || !pl->flows || !pl->held || !pl->released) {
		int saved = errno;
		pipeline_free(pl);
		errno = saved;
		return NULL;
	}
	return pl;
}

/* The answer for a packet whose processing set no commit-point action. */
static void inline_answer(struct pipeline *pl, struct flow *f, enum flow_dir dir,
			  const struct packet *pkt, struct pipeline_verdict *out)
{
	struct app_flow *app = flow_get_app(f);
	if (out->action == PIPE_ACCEPT && app) {
		if (app->redirected) {
			/* The client has its answer; the server was reset.  Its
			 * data (a retransmitted request) must not reach the
			 * server; its ACK, FIN and RST may. */
			if (dir == FLOW_DIR_TO_SERVER && pkt->payload_len) {
				out->action = PIPE_DROP;
				pl->stats.dropped_after_reset++;
			}
		} else if (app->reset_done) {
			/* retransmissions of a reset message must not reach the server */
			out->action = PIPE_DROP;
			pl->stats.dropped_after_reset++;
		} else if (app->holding && dir == FLOW_DIR_TO_SERVER && pkt->payload_len) {
			/* a retransmitted commit packet would pass what is held */
			out->action = PIPE_DROP;
		} else if (app->bypass && !app->holding) {
			out->action = PIPE_BYPASS;
			pl->stats.bypassed++;
		}
	}
	if (out->action != PIPE_HOLD)
		fill_verdict_keep_action(out, pkt, f);
}

static enum decode_status process(struct pipeline *pl, int link, const uint8_t *frame,
				  size_t caplen, size_t wire_len, uint64_t ts_us,
				  struct pipeline_verdict *out)
{
	struct packet pkt;
	if (ts_us < pl->now_us)
		pl->stats.time_backwards++;
	else
		pl->now_us = ts_us;
	if (pl->now_us >= pl->next_expire_us) {
		flow_table_expire(pl->flows, pl->now_us);
		decoder_expire(pl->decoder, pl->now_us);
		pl->next_expire_us = pl->now_us + EXPIRE_INTERVAL_US;
	}
	if (pl->cfg.scanner)
		mail_scanner_set_time(pl->cfg.scanner, pl->now_us);
	if (pl->cfg.store && pl->cfg.store_retention_us && pl->now_us >= pl->next_prune_us) {
		if (pl->now_us > pl->cfg.store_retention_us)
			store_prune(pl->cfg.store, pl->now_us - pl->cfg.store_retention_us);
		pl->next_prune_us = pl->now_us + PRUNE_INTERVAL_US;
	}
	enum decode_status st = decoder_decode(pl->decoder, link, frame, caplen, wire_len, ts_us, &pkt);
	if (st == DECODE_TCP) {
		pl->cur_out = out;
		pl->cur_pkt = &pkt;
		enum flow_dir dir;
		struct flow *f = flow_table_process(pl->flows, &pkt, &dir);
		pl->cur_out = NULL;
		pl->cur_pkt = NULL;
		if (out && f)
			inline_answer(pl, f, dir, &pkt, out);
	}
	/* Replay reads DNS answers only where it waits for them (commit points,
	 * the end), so whether an answer was "already there" never depends on
	 * how fast the server was: the output stays deterministic. */
	if (!pl->cfg.wait_for_lookups && ++pl->dns_poll_countdown >= DNS_POLL_PACKETS) {
		pl->dns_poll_countdown = 0;
		dns_service(pl, 0);
	}
	return st;
}

enum decode_status pipeline_packet(struct pipeline *pl, int link, const uint8_t *frame,
				   size_t caplen, size_t wire_len, uint64_t ts_us)
{
	return process(pl, link, frame, caplen, wire_len, ts_us, NULL);
}

enum decode_status pipeline_packet_inline(struct pipeline *pl, int link, const uint8_t *frame,
					  size_t len, uint64_t ts_us, uint64_t token,
					  struct pipeline_verdict *out)
{
	memset(out, 0, sizeof *out);
	out->action = PIPE_ACCEPT;
	out->token = token;
	return process(pl, link, frame, len, len, ts_us, out);
}

void pipeline_release_held(struct pipeline *pl, uint64_t now_us,
			   void (*cb)(void *ctx, const struct pipeline_verdict *v), void *ctx)
{
	for (size_t i = 0; i < pl->nreleased; i++)
		cb(ctx, &pl->released[i]);
	pl->nreleased = 0;
	for (size_t i = 0; i < pl->nheld;) {
		struct tx_slot *slot = pl->held[i];
		bool ready = mail_scan_ready(slot->scan);
		if (!ready && now_us < slot->hold_deadline_us) {
			i++;
			continue;
		}
		struct pipeline_verdict v;
		hold_decide(pl, slot, !ready, &v); /* removes held[i] */
		cb(ctx, &v);
	}
}

size_t pipeline_held_count(const struct pipeline *pl)
{
	return pl->nheld + pl->nreleased;
}

void pipeline_service_dns(struct pipeline *pl)
{
	dns_service(pl, 0);
}

void pipeline_set_scanner(struct pipeline *pl, struct mail_scanner *ms)
{
	pl->cfg.scanner = ms;
}

/* Let c-ares read whatever answers have arrived; timeout_ms 0 never waits. */
static void dns_service(struct pipeline *pl, int timeout_ms)
{
	struct rbl_resolver *r = pl->cfg.scanner ? mail_scanner_resolver(pl->cfg.scanner) : NULL;
	if (!r)
		return;
	struct pollfd fds[16];
	size_t n = rbl_pollfds(r, fds, sizeof fds / sizeof fds[0]);
	if (n && poll(fds, (nfds_t)n, timeout_ms) < 0)
		return;
	rbl_process(r, fds, n);
}

void pipeline_capture_error(struct pipeline *pl, const char *file, uint64_t frame_no,
			    const char *what)
{
	json_t *ev = json_object();
	event_json_set(ev, "type", json_string("capture_error"));
	event_json_set(ev, "file", event_json_text(file));
	event_json_set(ev, "frame", json_integer((json_int_t)frame_no));
	event_json_set(ev, "error", event_json_text(what));
	pipeline_emit(pl, ev);
}

/* Every counter of every stage goes into the closing stats event: a table per
 * stats struct (all fields uint64_t) keeps names and fields side by side. */
struct counter {
	const char *name;
	size_t offset;
};
#define COUNTER(type, field, name) {name, offsetof(struct type, field)}

static const struct counter decode_counters[] = {
	COUNTER(decoder_stats, frames, "frames"),
	COUNTER(decoder_stats, tcp, "tcp"),
	COUNTER(decoder_stats, not_tcp, "not_tcp"),
	COUNTER(decoder_stats, unsupported, "unsupported"),
	COUNTER(decoder_stats, truncated, "truncated"),
	COUNTER(decoder_stats, malformed, "malformed"),
	COUNTER(decoder_stats, ipv4_csum_bad, "ipv4_csum_bad"),
	COUNTER(decoder_stats, tcp_csum_bad, "tcp_csum_bad"),
	COUNTER(decoder_stats, tcp_options_bad, "tcp_options_bad"),
	COUNTER(decoder_stats, tcp_payload_truncated, "tcp_payload_truncated"),
	COUNTER(decoder_stats, vlan_tagged, "vlan_tagged"),
	COUNTER(decoder_stats, vlan_extra, "vlan_extra"),
	COUNTER(decoder_stats, ipv6_ext_headers, "ipv6_ext_headers"),
	COUNTER(decoder_stats, frag_fragments, "frag_fragments"),
	COUNTER(decoder_stats, frag_reassembled, "frag_reassembled"),
	COUNTER(decoder_stats, frag_timeout, "frag_timeout"),
	COUNTER(decoder_stats, frag_dropped_cap, "frag_dropped_cap"),
	COUNTER(decoder_stats, frag_overlap, "frag_overlap"),
	COUNTER(decoder_stats, frag_invalid, "frag_invalid"),
};

static const struct counter flow_counters[] = {
	COUNTER(flow_table_stats, flows_created, "created"),
	COUNTER(flow_table_stats, flows_ended, "ended"),
	COUNTER(flow_table_stats, flows_evicted, "evicted"),
	COUNTER(flow_table_stats, flows_timed_out, "timed_out"),
	COUNTER(flow_table_stats, flows_midstream, "midstream"),
	COUNTER(flow_table_stats, packets_untracked, "packets_untracked"),
	COUNTER(flow_table_stats, ooo_dropped_cap, "ooo_dropped_cap"),
	COUNTER(flow_table_stats, ooo_bytes_dropped_cap, "ooo_bytes_dropped_cap"),
	COUNTER(flow_table_stats, overlap_conflicts, "overlap_conflicts"),
	COUNTER(flow_table_stats, retransmits, "retransmits"),
	COUNTER(flow_table_stats, gaps, "gaps"),
	COUNTER(flow_table_stats, gap_bytes, "gap_bytes"),
	COUNTER(flow_table_stats, bad_seq, "bad_seq"),
	COUNTER(flow_table_stats, bad_rst, "bad_rst"),
	COUNTER(flow_table_stats, alloc_failures, "alloc_failures"),
};

static const struct counter app_counters[] = {
	COUNTER(pipeline_stats, smtp_sessions, "smtp_sessions"),
	COUNTER(pipeline_stats, smtp_transactions, "smtp_transactions"),
	COUNTER(pipeline_stats, smtp_messages, "smtp_messages"),
	COUNTER(pipeline_stats, smtp_starttls, "smtp_starttls"),
	COUNTER(pipeline_stats, flows_not_parsed, "flows_not_parsed"),
	COUNTER(pipeline_stats, parser_alloc_failed, "parser_alloc_failed"),
	COUNTER(pipeline_stats, extract_failed, "extract_failed"),
	COUNTER(pipeline_stats, extract_skipped_cap, "extract_skipped_cap"),
	COUNTER(pipeline_stats, time_backwards, "time_backwards"),
	COUNTER(pipeline_stats, events_lost, "events_lost"),
	COUNTER(pipeline_stats, tx_slots_full, "tx_slots_full"),
	COUNTER(pipeline_stats, store_dropped, "store_dropped"),
	COUNTER(pipeline_stats, held, "held"),
	COUNTER(pipeline_stats, held_released, "held_released"),
	COUNTER(pipeline_stats, held_timeout, "held_timeout"),
	COUNTER(pipeline_stats, held_cap, "held_cap"),
	COUNTER(pipeline_stats, resets, "resets"),
	COUNTER(pipeline_stats, bypassed, "bypassed"),
	COUNTER(pipeline_stats, dropped_after_reset, "dropped_after_reset"),
	COUNTER(pipeline_stats, http_sessions, "http_sessions"),
	COUNTER(pipeline_stats, http_requests, "http_requests"),
	COUNTER(pipeline_stats, http_inspected, "http_inspected"),
	COUNTER(pipeline_stats, http_body_capped, "http_body_capped"),
	COUNTER(pipeline_stats, http_slots_full, "http_slots_full"),
	COUNTER(pipeline_stats, webmail_sends, "webmail_sends"),
	COUNTER(pipeline_stats, webmail_drafts, "webmail_drafts"),
	COUNTER(pipeline_stats, webmail_uploads, "webmail_uploads"),
	COUNTER(pipeline_stats, webmail_blocked, "webmail_blocked"),
	COUNTER(pipeline_stats, redirects, "redirects"),
	COUNTER(pipeline_stats, uploads_carried, "uploads_carried"),
	COUNTER(pipeline_stats, tls_sessions, "tls_sessions"),
	COUNTER(pipeline_stats, tls_client_hellos, "tls_client_hellos"),
	COUNTER(pipeline_stats, tls_blocked, "tls_blocked"),
	COUNTER(pipeline_stats, tls_unparsed, "tls_unparsed"),
};

static const struct counter upload_counters[] = {
	COUNTER(webmail_uploads_stats, ids, "ids"),
	COUNTER(webmail_uploads_stats, items, "items"),
	COUNTER(webmail_uploads_stats, put, "put"),
	COUNTER(webmail_uploads_stats, items_dropped, "items_dropped"),
	COUNTER(webmail_uploads_stats, evicted, "evicted"),
	COUNTER(webmail_uploads_stats, expired, "expired"),
	COUNTER(webmail_uploads_stats, lookups, "lookups"),
	COUNTER(webmail_uploads_stats, hits, "hits"),
};

static const struct counter content_counters[] = {
	COUNTER(mail_scanner_stats, scans, "scans"),
	COUNTER(mail_scanner_stats, decided, "decided"),
	COUNTER(mail_scanner_stats, reset, "reset"),
	COUNTER(mail_scanner_stats, alerted, "alerted"),
	COUNTER(mail_scanner_stats, attachments, "attachments"),
	COUNTER(mail_scanner_stats, attachments_dropped, "attachments_dropped"),
	COUNTER(mail_scanner_stats, attachment_budget_short, "attachment_budget_short"),
	COUNTER(mail_scanner_stats, text_bytes, "text_bytes"),
	COUNTER(mail_scanner_stats, attachment_bytes, "attachment_bytes"),
	COUNTER(mail_scanner_stats, mime_anomalies, "mime_anomalies"),
	COUNTER(mail_scanner_stats, rbl_waits, "rbl_waits"),
	COUNTER(mail_scanner_stats, reasons_dropped, "reasons_dropped"),
	COUNTER(mail_scanner_stats, scan_errors, "scan_errors"),
	COUNTER(mail_scanner_stats, alloc_failures, "alloc_failures"),
};

static const struct counter rbl_counters[] = {
	COUNTER(rbl_stats, queries, "queries"),
	COUNTER(rbl_stats, answers, "answers"),
	COUNTER(rbl_stats, listed, "listed"),
	COUNTER(rbl_stats, not_listed, "not_listed"),
	COUNTER(rbl_stats, timeouts, "timeouts"),
	COUNTER(rbl_stats, errors, "errors"),
	COUNTER(rbl_stats, cache_hits, "cache_hits"),
	COUNTER(rbl_stats, cache_evictions, "cache_evictions"),
	COUNTER(rbl_stats, pending_skipped, "pending_skipped"),
};

static const struct counter store_counters[] = {
	COUNTER(store_stats, put, "put"),
	COUNTER(store_stats, committed, "committed"),
	COUNTER(store_stats, dropped_queue_full, "dropped_queue_full"),
	COUNTER(store_stats, write_errors, "write_errors"),
	COUNTER(store_stats, pruned, "pruned"),
	COUNTER(store_stats, map_full, "map_full"),
};

static json_t *counters_json(const void *stats, const struct counter *c, size_t n)
{
	json_t *o = json_object();
	for (size_t i = 0; i < n; i++) {
		uint64_t v;
		memcpy(&v, (const char *)stats + c[i].offset, sizeof v);
		event_json_set(o, c[i].name, json_integer((json_int_t)v));
	}
	return o;
}

#define COUNTERS_JSON(stats, table) counters_json(stats, table, sizeof table / sizeof table[0])

static void emit_stats(struct pipeline *pl)
{
	json_t *ev = json_object();
	event_json_set(ev, "type", json_string("stats"));
	event_json_set(ev, "decode", COUNTERS_JSON(decoder_stats(pl->decoder), decode_counters));
	event_json_set(ev, "flows", COUNTERS_JSON(flow_table_stats(pl->flows), flow_counters));
	event_json_set(ev, "app", COUNTERS_JSON(&pl->stats, app_counters));
	if (pl->cfg.scanner) {
		event_json_set(ev, "content",
			       COUNTERS_JSON(mail_scanner_stats(pl->cfg.scanner), content_counters));
		struct rbl_resolver *r = mail_scanner_resolver(pl->cfg.scanner);
		if (r)
			event_json_set(ev, "rbl", COUNTERS_JSON(rbl_resolver_stats(r), rbl_counters));
	}
	if (pl->cfg.uploads) {
		struct webmail_uploads_stats us;
		webmail_uploads_stats(pl->cfg.uploads, &us);
		event_json_set(ev, "webmail_uploads", COUNTERS_JSON(&us, upload_counters));
	}
	if (pl->cfg.store) {
		/* Committed counts are only final once the writer has caught up;
		 * live stats (inline) never wait for the disk. */
		if (pl->finished)
			store_sync(pl->cfg.store);
		struct store_stats ss;
		store_stats(pl->cfg.store, &ss);
		event_json_set(ev, "store", COUNTERS_JSON(&ss, store_counters));
	}
	pipeline_emit(pl, ev);
}

void pipeline_emit_stats(struct pipeline *pl)
{
	emit_stats(pl);
	fflush(pl->out);
}

void pipeline_finish(struct pipeline *pl)
{
	if (pl->finished)
		return;
	pl->finished = true;
	flow_table_flush(pl->flows);
	/* Answers to lookups of transactions that never decided still count in
	 * the rbl counters: let them arrive before the counters are written. */
	struct rbl_resolver *r = pl->cfg.scanner ? mail_scanner_resolver(pl->cfg.scanner) : NULL;
	if (r && pl->cfg.wait_for_lookups)
		rbl_wait(r, pl->cfg.lookup_wait_ms);
	emit_stats(pl);
}

const struct pipeline_stats *pipeline_stats(const struct pipeline *pl)
{
	return &pl->stats;
}

void pipeline_free(struct pipeline *pl)
{
	if (!pl)
		return;
	if (pl->flows)
		flow_table_free(pl->flows); /* ends leftover flows: callbacks still work */
	decoder_free(pl->decoder);
	free(pl->evbuf);
	free(pl->held);
	free(pl->released);
	free(pl);
}
