/* Flow table and TCP stream reassembly.
 *
 * One table per worker (no locks).  flow_table_process() looks a packet's
 * connection up (bidirectional key, SipHash with a per-table random key),
 * tracks the TCP state of both directions and delivers each direction's bytes
 * in order through struct reasm_callbacks: data chunks, explicit gaps, and the
 * end of the flow.  The parsers above never see TCP.
 *
 * Overlap policy: the first bytes seen for a sequence range win; a later
 * segment that covers the same range with different bytes is an anomaly
 * (FLOW_ANOM_OVERLAP_CONFLICT) and its differing bytes are ignored.
 *
 * All memory is capped: number of flows, out-of-order bytes per direction and
 * in all flows.  Every cap has a counter.  Expiry, eviction and the final flush
 * visit flows in a deterministic order (never hash order), so a replay gives
 * the same output whatever the hash key. */
#ifndef POSTERN_REASSEMBLY_FLOW_H
#define POSTERN_REASSEMBLY_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reassembly/packet.h"

/* Direction of bytes: FLOW_DIR_TO_SERVER carries what the client sends. */
enum flow_dir {
	FLOW_DIR_TO_SERVER = 0,
	FLOW_DIR_TO_CLIENT = 1,
};

enum flow_end_reason {
	FLOW_END_FIN = 0,   /* both directions closed with FIN */
	FLOW_END_RST,       /* a valid RST */
	FLOW_END_TIMEOUT,   /* idle past the timeout, on packet time */
	FLOW_END_EVICTED,   /* table full: the least recently used flow made room */
	FLOW_END_SHUTDOWN,  /* end of capture or daemon stop */
};

const char *flow_end_reason_name(enum flow_end_reason r);

/* Anomalies seen in a flow: a bit each, with a stable name for events. */
enum flow_anomaly {
	FLOW_ANOM_MIDSTREAM = 1u << 0,        /* picked up without a handshake */
	FLOW_ANOM_OVERLAP_CONFLICT = 1u << 1, /* retransmission with different bytes */
	FLOW_ANOM_GAP = 1u << 2,              /* bytes missing, reported as a gap */
	FLOW_ANOM_OOO_CAP = 1u << 3,          /* out-of-order buffer cap hit */
	FLOW_ANOM_BAD_SEQ = 1u << 4,          /* segment far outside the window */
	FLOW_ANOM_DATA_AFTER_FIN = 1u << 5,
	FLOW_ANOM_SYN_DATA = 1u << 6,         /* payload on SYN (TFO) */
	FLOW_ANOM_BAD_RST = 1u << 7,          /* RST outside the window: ignored */
	FLOW_ANOM_HANDSHAKE = 1u << 8,        /* odd handshake (split, simultaneous open...) */
	FLOW_ANOM_BAD_CSUM = 1u << 9,         /* a packet with a bad checksum */
	FLOW_ANOM_TRUNCATED = 1u << 10,       /* snaplen cut payload (rest is a gap) */
};
#define FLOW_ANOM_COUNT 11
/* Name of a single anomaly bit, e.g. "overlap_conflict"; NULL if unknown. */
const char *flow_anomaly_name(uint32_t bit);

struct flow_tuple {
	struct ip_addr client, server;
	uint16_t client_port, server_port;
	uint16_t vlan; /* outer VLAN id, 0 when untagged */
};

struct flow_dir_stats {
	uint64_t packets;
	uint64_t bytes;        /* TCP payload bytes seen on the wire */
	uint64_t delivered;    /* bytes handed to the data callback */
	uint64_t gap_bytes;    /* bytes reported as gaps */
	uint32_t gaps;
	uint32_t retransmits;  /* segments fully seen before */
	uint32_t out_of_order; /* segments buffered ahead of a hole */
	uint32_t overlap_conflicts;
};

struct flow;

/* Read-only view of a flow for callbacks and event writers. */
struct flow_info {
	uint64_t id;              /* 1, 2, 3... in creation order within the table */
	struct flow_tuple tuple;
	uint64_t first_ts_us, last_ts_us;
	struct flow_dir_stats dir[2];
	uint32_t anomalies;       /* enum flow_anomaly bits */
	bool handshake_seen;      /* false when picked up midstream */
};

const struct flow_info *flow_get_info(const struct flow *f);

/* Opaque per-flow pointer for the application layer (parser state).  The
 * reassembler never touches it; release it in the end callback. */
void *flow_get_app(const struct flow *f);
void flow_set_app(struct flow *f, void *app);

/* Stop delivering this direction's bytes (e.g. after STARTTLS); they are still
 * tracked and counted.  Both directions stopped = the flow only keeps counters. */
void flow_stop_delivery(struct flow *f, enum flow_dir dir);

struct reasm_callbacks {
	/* In-order bytes of one direction.  data is valid only during the call. */
	void (*data)(void *user, struct flow *f, enum flow_dir dir, const uint8_t *data, size_t len);
	/* len bytes of this direction are lost (never seen, or dropped at a cap);
	 * the next data call continues after them. */
	void (*gap)(void *user, struct flow *f, enum flow_dir dir, uint64_t len);
	/* The direction has sent FIN and every byte before it was delivered. */
	void (*eof)(void *user, struct flow *f, enum flow_dir dir);
	/* Last call for f: after it returns, f is freed. */
	void (*end)(void *user, struct flow *f, enum flow_end_reason why);
};

struct flow_table_config {
	uint32_t max_flows;
	uint64_t timeout_syn_us;         /* handshake not completed */
	uint64_t timeout_established_us; /* idle established flow */
	uint64_t timeout_closed_us;      /* after FIN/RST, to absorb stray packets */
	uint32_t max_ooo_bytes_per_dir;  /* out-of-order bytes buffered per direction */
	uint64_t max_ooo_bytes_total;    /* in all flows of the table */
	bool allow_midstream;            /* track flows whose handshake we missed */
	/* Added after the first contract: */
	uint32_t max_ooo_segments_per_dir; /* bounds the sorted insert walk (tiny segments) */
	uint32_t history_bytes_per_dir;  /* recently delivered bytes kept to detect conflicting
					  * retransmissions; 0 disables; at most 65535.  Beyond
					  * this window retransmissions are only counted. */
};

void flow_table_config_default(struct flow_table_config *cfg);

struct flow_table_stats {
	uint64_t flows_created;
	uint64_t flows_ended;
	uint64_t flows_active;
	uint64_t flows_evicted;       /* ended early to make room (max_flows) */
	uint64_t flows_timed_out;
	uint64_t flows_midstream;
	uint64_t packets_untracked;   /* no flow: not a SYN and midstream disabled, or after close */
	uint64_t ooo_bytes_held;      /* currently buffered */
	uint64_t ooo_dropped_cap;     /* segments dropped at a buffer cap */
	uint64_t ooo_bytes_dropped_cap;
	uint64_t overlap_conflicts;
	uint64_t retransmits;
	uint64_t gaps;
	uint64_t gap_bytes;
	uint64_t bad_seq;
	uint64_t bad_rst;             /* RSTs outside the window, ignored */
	uint64_t alloc_failures;      /* flow or segment allocation failed (counted as drops) */
};

struct flow_table;

/* NULL with errno set on failure (bad config: EINVAL). */
struct flow_table *flow_table_new(const struct flow_table_config *cfg,
				  const struct reasm_callbacks *cb, void *user);
/* Ends every remaining flow with FLOW_END_SHUTDOWN (deterministic order), then frees. */
void flow_table_free(struct flow_table *t);

/* Track one TCP packet: may call any callback for this and (on eviction)
 * other flows.  Returns the packet's flow, or NULL when it is not tracked or
 * ended during this call (FIN from both sides, valid RST: the end callback has
 * run); *dir (may be NULL) says which way the packet went.  Callbacks must not
 * re-enter the table (process/expire/flush/free); flow_stop_delivery() and
 * flow_set_app() are fine.  Policies (documented in flow_table.c): both FINs
 * end the flow at once (later strays count as packets_untracked); a bad TCP
 * checksum is processed and marked FLOW_ANOM_BAD_CSUM; a FIN beyond a hole
 * waits for an ACK past the hole, the peer's FIN or the flow end. */
struct flow *flow_table_process(struct flow_table *t, const struct packet *p,
				enum flow_dir *dir);

/* End flows idle past their timeout at packet time now_us. */
void flow_table_expire(struct flow_table *t, uint64_t now_us);

/* End every flow with FLOW_END_SHUTDOWN, oldest first. */
void flow_table_flush(struct flow_table *t);

const struct flow_table_stats *flow_table_stats(const struct flow_table *t);

/* Bytes used by the table: flow structs, hash buckets and buffered segments. */
size_t flow_table_memory(const struct flow_table *t);

#endif
