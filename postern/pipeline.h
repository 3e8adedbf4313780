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
#include "smtp_parser/smtp.h"

struct mail_scanner;
struct store;

#define PIPELINE_MAX_SMTP_PORTS 16

struct pipeline_config {
	struct decoder_config decode;
	struct flow_table_config flows;
	struct smtp_limits smtp;
	uint16_t smtp_ports[PIPELINE_MAX_SMTP_PORTS]; /* parsed as SMTP from the first byte */
	unsigned smtp_port_count;
	bool smtp_banner_detect;  /* other ports: SMTP if the server greets like SMTP */
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
};

void pipeline_config_default(struct pipeline_config *cfg);

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
};

struct pipeline;

/* Events are written as JSON lines to out.  NULL with errno on failure. */
struct pipeline *pipeline_new(const struct pipeline_config *cfg, FILE *out);

/* One captured frame.  Returns the decoder's classification. */
enum decode_status pipeline_packet(struct pipeline *p, int link, const uint8_t *frame,
				   size_t caplen, size_t wire_len, uint64_t ts_us);

/* End every flow (capture end) and write the closing stats event. */
void pipeline_finish(struct pipeline *p);

/* Report a capture-level error (unreadable or truncated file) as an event. */
void pipeline_capture_error(struct pipeline *p, const char *file, uint64_t frame_no,
			    const char *what);

const struct pipeline_stats *pipeline_stats(const struct pipeline *p);
void pipeline_free(struct pipeline *p);

#endif
