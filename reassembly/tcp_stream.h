/* Internal to reassembly/: the flow and table structures shared by
 * flow_table.c (lookup, LRU, TCP state) and tcp_stream.c (per-direction byte
 * reassembly).  Nothing outside reassembly/ includes this. */
#ifndef POSTERN_REASSEMBLY_TCP_STREAM_H
#define POSTERN_REASSEMBLY_TCP_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/siphash.h"
#include "reassembly/flow.h"

/* Wrap-safe 32-bit sequence comparisons (RFC 1982 style). */
static inline int32_t seq_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}
static inline bool seq_lt(uint32_t a, uint32_t b) { return seq_diff(a, b) < 0; }
static inline bool seq_le(uint32_t a, uint32_t b) { return seq_diff(a, b) <= 0; }
static inline bool seq_gt(uint32_t a, uint32_t b) { return seq_diff(a, b) > 0; }
static inline bool seq_ge(uint32_t a, uint32_t b) { return seq_diff(a, b) >= 0; }
static inline uint32_t seq_max(uint32_t a, uint32_t b) { return seq_gt(a, b) ? a : b; }
static inline uint32_t seq_min(uint32_t a, uint32_t b) { return seq_lt(a, b) ? a : b; }

/* One buffered out-of-order piece: copied bytes [seq, seq + len).  Pieces in
 * a direction's list never overlap each other (first seen wins at insert). */
struct tcp_seg {
	struct tcp_seg *next;
	uint32_t seq;
	uint32_t len;
	uint8_t data[];
};

enum tcp_half_flag {
	TH_SEQ_SET = 1u << 0,  /* next_seq is meaningful */
	TH_SYN_SEEN = 1u << 1,
	TH_FIN_SEEN = 1u << 2,
	TH_EOF_SENT = 1u << 3,
	TH_STOPPED = 1u << 4,  /* flow_stop_delivery() */
	TH_WSCALE = 1u << 5,   /* SYN carried a window scale option */
	TH_DATA_SEEN = 1u << 6,
};

/* One direction of a TCP connection. */
struct tcp_half {
	struct tcp_seg *ooo_head, *ooo_tail; /* sorted by seq */
	uint8_t *hist;       /* ring of the last hist_cap delivered bytes, lazily allocated */
	uint32_t isn;
	uint32_t next_seq;   /* first byte not yet delivered or gapped */
	uint32_t max_seq;    /* highest segment end seen (delivery target at flow end) */
	uint32_t fin_seq;    /* sequence number of the FIN itself */
	uint32_t win_max;    /* largest scaled window this side advertised (0: unknown) */
	uint32_t ooo_bytes;
	uint16_t ooo_segs;
	uint16_t hist_len;   /* valid bytes in hist, ending at next_seq */
	uint16_t hist_pos;   /* next write position in the ring */
	uint8_t wscale;
	uint8_t flags;       /* enum tcp_half_flag */
};

enum flow_class {
	FLOW_CLASS_SYN = 0,  /* handshake not completed */
	FLOW_CLASS_EST,      /* established */
	FLOW_CLASS_CLOSING,  /* one FIN seen */
	FLOW_CLASS_COUNT,
};

struct flow {
	struct flow *hnext;               /* hash bucket chain */
	struct flow *lru_prev, *lru_next; /* list of its class, oldest first */
	void *app;
	struct flow_table *table;         /* owner, for flow_stop_delivery() */
	uint64_t touch;                   /* table-wide touch counter at last packet */
	uint64_t touch_us;                /* table clock (monotonic) at last packet */
	uint32_t hash;
	uint8_t cls;                      /* enum flow_class */
	bool ending;                      /* end procedure running */
	struct flow_info info;
	struct tcp_half half[2];
};

struct flow_lru {
	struct flow *head, *tail;
};

struct flow_table {
	struct flow_table_config cfg;
	struct reasm_callbacks cb;
	void *user;
	struct siphash_key key;
	struct flow **buckets;
	uint32_t bucket_mask;
	uint64_t next_id;
	uint64_t touch_counter;
	uint64_t clock_us;                /* max packet time seen */
	uint64_t timeout_us[FLOW_CLASS_COUNT];
	struct flow_lru lru[FLOW_CLASS_COUNT];
	size_t mem_dynamic;               /* flows + segments + history rings */
	struct flow_table_stats stats;
};

/* tcp_stream.c: byte reassembly of one direction. */

/* A payload segment of direction d: captured bytes data[0..caplen) at seq; the
 * segment was truelen bytes long on the wire (truelen > caplen: truncated). */
void tcp_half_segment(struct flow_table *t, struct flow *f, enum flow_dir d, uint32_t seq,
		      const uint8_t *data, uint32_t caplen, uint32_t truelen);
/* Move delivery to target: buffered bytes are delivered, holes become gaps. */
void tcp_half_advance_to(struct flow_table *t, struct flow *f, enum flow_dir d, uint32_t target);
/* Deliver all that can be delivered (holes become gaps) up to the FIN or the
 * highest byte seen. */
void tcp_half_flush(struct flow_table *t, struct flow *f, enum flow_dir d);
/* How far ahead of next_seq a segment of direction d may start before it is
 * "far outside the window" (receiver window, at least 1 MiB). */
uint32_t tcp_half_window_limit(const struct flow *f, enum flow_dir d);
/* Free the buffered segments and the history ring. */
void tcp_half_release(struct flow_table *t, struct tcp_half *h);

#endif
