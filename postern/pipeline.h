/* The packet pipeline shared by replay and (later) the inline daemon:
 * decode -> flow table / TCP reassembly -> application parser (SMTP) -> events.
 *
 * A pipeline is single-threaded; the daemon runs one per worker.  Time comes
 * only from the packets, so the same input always gives the same events. */
#ifndef POSTERN_PIPELINE_H
#define POSTERN_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "reassembly/decode.h"
#include "reassembly/flow.h"
#include "http_parser/http.h"
#include "smtp_parser/smtp.h"
#include "webmail/webmail.h"

struct mail_scanner;
struct store;
typedef struct json_t json_t;

#define PIPELINE_MAX_SMTP_PORTS 16

struct pipeline_config {
	struct decoder_config decode;
	struct flow_table_config flows;
	struct smtp_limits smtp;
	uint16_t smtp_ports[PIPELINE_MAX_SMTP_PORTS]; /* parsed as SMTP from the first byte */
	unsigned smtp_port_count;
	bool smtp_banner_detect;  /* other ports: SMTP if the server greets like SMTP */
	/* Webmail control: HTTP requests and TLS ClientHellos. */
	uint16_t http_ports[PIPELINE_MAX_SMTP_PORTS]; /* parsed as HTTP from the first byte */
	unsigned http_port_count;
	uint16_t tls_ports[PIPELINE_MAX_SMTP_PORTS];  /* a ClientHello is expected */
	unsigned tls_port_count;
	bool content_detect;      /* other ports: HTTP or TLS by the client's first bytes */
	struct http_limits http;
	struct webmail_limits webmail;
	uint64_t max_http_body;   /* request body bytes inspected */
	/* Uploads waiting for their send, shared by every worker (not owned;
	 * NULL = uploads are not carried to sends). */
	struct webmail_uploads *uploads;
	const char *extract_dir;  /* write each message to DIR/<flow>-<tx>.eml; NULL = off */
	uint32_t max_extract_open;/* messages being written at once (extract_dir) */
	/* Content inspection: every message is judged by this scanner (not
	 * owned; NULL = envelope only, no verdicts). */
	struct mail_scanner *scanner;
	/* Verdict records go here (not owned; NULL = none).  Records older than
	 * store_retention_us of packet time are pruned as time passes. */
	struct store *store;
	uint64_t store_retention_us;
	/* Replay: at a commit point whose block-list answers are still out,
	 * wait for them (up to lookup_wait_ms of wall time) so the verdict does
	 * not depend on DNS latency.  The inline worker never waits: it holds
	 * the commit packet instead. */
	bool wait_for_lookups;
	uint32_t lookup_wait_ms;
	/* Inline: a commit point whose decision waits for DNS is held at most
	 * this long (packet time of later packets or pipeline_release_held's
	 * clock); then fail_closed says reset, otherwise accept. */
	uint32_t hold_timeout_ms;
	bool fail_closed;
	/* Called for every decided transaction with its event (verdict, reasons,
	 * envelope) just before it is written; NULL = none.  For alerts. */
	void (*on_decided)(void *ctx, const json_t *event);
	void *on_decided_ctx;
	bool flush_events;        /* live use: each event line is flushed as written */
};

void pipeline_config_default(struct pipeline_config *cfg);
/* The configuration file's settings that the pipeline itself uses (caps,
 * SMTP ports, retention, hold timeout, fail_closed), over cfg. */
struct postern_config;
void pipeline_config_apply(struct pipeline_config *cfg, const struct postern_config *pc);

/* Counters of the pipeline itself (the stages keep their own). */
struct pipeline_stats {
	uint64_t smtp_sessions;
	uint64_t smtp_transactions;
	uint64_t smtp_messages;        /* transactions whose message completed */
	uint64_t smtp_starttls;
	uint64_t flows_not_parsed;     /* TCP flows of no protocol we parse */
	uint64_t parser_alloc_failed;  /* flows left unparsed because memory ran out */
	uint64_t extract_failed;       /* messages that could not be written out */
	uint64_t extract_skipped_cap;  /* messages not written: max_extract_open reached */
	uint64_t events;
	uint64_t events_lost;          /* could not be serialised (out of memory) */
	uint64_t time_backwards;       /* packets older than the newest seen */
	uint64_t tx_slots_full;        /* transactions not inspected: too many open at once */
	uint64_t store_dropped;        /* verdict records the store refused (queue full) */
	uint64_t held, held_released, held_timeout, held_cap; /* inline: commit points held for DNS */
	uint64_t resets, bypassed, dropped_after_reset;
	uint64_t http_sessions, http_requests, http_inspected, http_body_capped;
	uint64_t webmail_sends, webmail_drafts, webmail_uploads, webmail_blocked, redirects;
	uint64_t uploads_carried;      /* uploaded attachments judged again with their send */
	uint64_t http_slots_full;      /* requests not inspected: too many awaiting responses */
	uint64_t tls_sessions, tls_client_hellos, tls_blocked, tls_unparsed;
};

struct pipeline;

/* Events are written as JSON lines to out.  NULL with errno on failure. */
struct pipeline *pipeline_new(const struct pipeline_config *cfg, FILE *out);

/* One captured frame.  Returns the decoder's classification. */
enum decode_status pipeline_packet(struct pipeline *p, int link, const uint8_t *frame,
				   size_t caplen, size_t wire_len, uint64_t ts_us);

/* ---- inline use ------------------------------------------------------
 * The inline datapath asks, for each packet, what to do with it. */
enum pipeline_action {
	PIPE_ACCEPT = 0,
	PIPE_HOLD,     /* a commit point whose decision waits (DNS): answer later */
	PIPE_RESET,    /* a commit point decided "reset": drop it and reset both ends */
	PIPE_DROP,     /* a packet of a connection already reset */
	PIPE_BYPASS,   /* accept, and nothing more of this connection needs inspection */
	PIPE_REDIRECT, /* an HTTP commit point decided "redirect": drop it, answer the client
	                * with a redirect to the block page, reset the server */
};

/* The packet a verdict is about: who sent it, and the numbers a reset needs. */
struct pipeline_verdict {
	enum pipeline_action action;
	uint64_t token;               /* the caller's packet token (HOLD release) */
	struct ip_addr client, server;
	uint16_t client_port, server_port;
	bool from_client;
	uint32_t seq, ack;            /* of the packet: RST to its receiver uses seq,
	                               * RST to its sender uses ack */
	uint32_t payload_len;         /* of the packet: a redirect acknowledges seq + payload_len */
};

/* Process one packet (raw IP when link is 101) and say what to do with it. */
enum decode_status pipeline_packet_inline(struct pipeline *p, int link, const uint8_t *frame,
					  size_t len, uint64_t ts_us, uint64_t token,
					  struct pipeline_verdict *out);
/* Held packets whose decision is now known (DNS answered) or whose hold
 * expired at now_us: cb once each, with the final action (ACCEPT or RESET). */
void pipeline_release_held(struct pipeline *p, uint64_t now_us,
			   void (*cb)(void *ctx, const struct pipeline_verdict *v), void *ctx);
/* Held packets right now. */
size_t pipeline_held_count(const struct pipeline *p);
/* Let DNS answers in (non-blocking). */
void pipeline_service_dns(struct pipeline *p);
/* Swap the scanner (policy reload).  Transactions already open keep the
 * scanner they started with; the caller frees an old scanner once
 * mail_scanner_open_scans() says none is left. */
void pipeline_set_scanner(struct pipeline *p, struct mail_scanner *ms);

/* Write a stats event now (live counters; the pipeline goes on). */
void pipeline_emit_stats(struct pipeline *p);

/* End every flow (capture end) and write the closing stats event. */
void pipeline_finish(struct pipeline *p);

/* Report a capture-level error (unreadable or truncated file) as an event. */
void pipeline_capture_error(struct pipeline *p, const char *file, uint64_t frame_no,
			    const char *what);

const struct pipeline_stats *pipeline_stats(const struct pipeline *p);
void pipeline_free(struct pipeline *p);

#endif
