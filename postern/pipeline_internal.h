/* Internals shared by the pipeline's files: pipeline.c (packets, flows,
 * SMTP, events) and pipeline_http.c (HTTP requests, webmail, TLS).  Not a
 * public interface. */
#ifndef POSTERN_PIPELINE_INTERNAL_H
#define POSTERN_PIPELINE_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "postern/pipeline.h"

/* Transactions of one session open at once: a pipelining client may start
 * N+1 before N's final reply.  The SMTP parser keeps at most 4 open (it ends
 * the oldest first), so 8 never fills; tx_slots_full would show it. */
#define TX_SLOTS 8
/* HTTP requests of one connection awaiting their response (the HTTP
 * parser's max_pending is set to this). */
#define HTTP_SLOTS 32
/* How many server bytes banner detection may look at before giving up. */
#define APP_PROBE_MAX 64

enum app_kind {
	APP_UNKNOWN = 0, /* no payload yet, or still probing */
	APP_SMTP,
	APP_NONE,        /* not a protocol we parse: only counted */
	APP_HTTP,
	APP_TLS,         /* until the ClientHello is judged */
};

struct tx_slot;
struct http_slot;
struct http_session;
struct tls_ch_parser;

/* Per-flow application state, allocated on the first payload byte so that
 * idle and payload-less flows cost only their flow-table entry. */
struct app_flow {
	struct pipeline *pl;
	struct flow *flow;
	enum app_kind kind;
	bool probed_no_smtp;
	bool greeting_checked;    /* SMTP port: the server's first bytes were looked at */
	uint32_t pregreet_bytes;  /* client bytes before the server said anything */
	uint8_t probe_len;
	bool probe_client;        /* the probe holds client bytes (HTTP/TLS detection) */
	uint8_t probe[APP_PROBE_MAX];
	struct smtp_session *smtp;
	struct tx_slot *tx[TX_SLOTS];
	struct http_session *http;
	struct http_slot *hreq[HTTP_SLOTS]; /* requests begun and not yet done */
	struct tls_ch_parser *tls;
	bool redirected;          /* an HTTP redirect answered the client: its data is dropped */
	bool holding;             /* a commit packet of this flow is held */
	bool reset_done;          /* reset: every later packet is dropped */
	bool bypass;              /* nothing more to inspect: let the kernel stop queueing */
	FILE *extract;
	bool extract_failed;
};

struct pipeline {
	struct pipeline_config cfg;
	FILE *out;
	struct decoder *decoder;
	struct flow_table *flows;
	struct pipeline_stats stats;
	uint64_t now_us;          /* newest packet time seen */
	uint64_t next_expire_us;
	uint32_t extract_open;
	uint64_t next_prune_us;
	uint32_t dns_poll_countdown;
	/* Inline: the packet being processed and the answer for it. */
	struct pipeline_verdict *cur_out;
	const struct packet *cur_pkt;
	struct tx_slot **held;       /* HELD_MAX */
	size_t nheld;
	struct pipeline_verdict *released; /* decided while their slot went away */
	size_t nreleased;
	bool finished;
	char *evbuf;              /* one serialised event (grows to the largest) */
	size_t evcap;
};

/* pipeline.c */
void pipeline_emit(struct pipeline *pl, json_t *ev);
void pipeline_add_tuple(json_t *ev, const struct flow_info *fi);
/* Put the event as a verdict record (with the flow and commit time, and
 * extra's members; extra is consumed, may be NULL). */
void pipeline_store_event(struct pipeline *pl, const struct flow_info *fi, const json_t *ev,
			  uint64_t commit_us, uint32_t index, json_t *extra);
void pipeline_fill_verdict(struct pipeline_verdict *v, const struct packet *pkt,
			   const struct flow *f, uint64_t token);
void pipeline_app_give_up(struct app_flow *app);

/* pipeline_http.c */
bool pipeline_http_start(struct app_flow *app);
void pipeline_http_data(struct app_flow *app, enum flow_dir dir, const uint8_t *data, size_t len);
void pipeline_http_gap(struct app_flow *app, enum flow_dir dir, uint64_t len);
bool pipeline_tls_start(struct app_flow *app);
void pipeline_tls_data(struct app_flow *app, enum flow_dir dir, const uint8_t *data, size_t len);
/* Flow end: open requests are reported, everything freed. */
void pipeline_http_end(struct app_flow *app);

#endif
