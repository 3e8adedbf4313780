/* One NFQUEUE queue over netlink (libmnl + libnetfilter_queue).
 *
 * The kernel hands each queued packet (an IP packet: the bridge's FORWARD
 * hook with br_netfilter) with its metadata; the caller answers with a
 * verdict per packet id, in any order (held packets are answered later).
 * Non-blocking: nfq_queue_receive reads what is there and returns; the caller
 * polls nfq_queue_fd alongside its other sockets.
 *
 * Options set on the queue: copy the whole packet, NFQA_CFG_F_GSO (large
 * packets arrive unsegmented, no checksum), NFQA_CFG_F_FAIL_OPEN (when the
 * queue is full the kernel accepts instead of dropping), NFQA_CFG_F_CONNTRACK
 * (the conntrack mark comes with each packet, so a verdict can set bits of it
 * under a mask). */
#ifndef POSTERN_NFQ_QUEUE_H
#define POSTERN_NFQ_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nfq_config {
	uint16_t queue_num;
	uint32_t queue_maxlen;    /* packets the kernel queues before fail-open (default 4096) */
	uint32_t rcvbuf;          /* socket receive buffer bytes (default 8 MiB; SO_RCVBUFFORCE when root) */
	bool fail_open;           /* NFQA_CFG_F_FAIL_OPEN (default true) */
	bool gso;                 /* NFQA_CFG_F_GSO (default true) */
	uint32_t max_batch;       /* packets handled per nfq_queue_receive call (default 64) */
	bool conntrack;           /* NFQA_CFG_F_CONNTRACK (default true; the kernel needs
				   * nf_conntrack_netlink for it and for ct-mark verdicts) */
};
void nfq_config_default(struct nfq_config *c, uint16_t queue_num);

/* One queued packet; pointers valid during the callback only. */
struct nfq_packet {
	uint32_t id;
	uint16_t hw_protocol;     /* ETH_P_IP / ETH_P_IPV6 (host order) */
	const uint8_t *payload;   /* the IP packet */
	size_t len;
	uint64_t ts_us;           /* NFQA_TIMESTAMP, or the receive time (CLOCK_REALTIME) */
	uint32_t mark;            /* packet mark */
	bool has_ct_mark;
	uint32_t ct_mark;         /* conntrack mark (with NFQA_CFG_F_CONNTRACK) */
	uint32_t indev, outdev;         /* ifindex, 0 if unknown */
	uint32_t physindev, physoutdev; /* bridge ports, 0 if not bridged */
	uint8_t hwaddr[8];        /* source MAC (NFQA_HWADDR), hwaddr_len 0 if absent */
	uint16_t hwaddr_len;
	uint32_t orig_len;        /* length on the wire (NFQA_CAP_LEN); > len when the
				   * payload was cut at the 64 KiB copy range */
	bool gso;                 /* NFQA_SKB_GSO: an unsegmented GSO packet */
	bool csum_not_ready;      /* NFQA_SKB_CSUMNOTREADY: L4 checksum not filled in yet
				   * (normal with NFQA_CFG_F_GSO); do not verify it */
};

enum nfq_action { NFQ_ACCEPT = 0, NFQ_DROP };

struct nfq_stats {
	uint64_t received;        /* packets delivered to the callback */
	uint64_t accepted, dropped;
	uint64_t ct_marked;       /* verdicts that set conntrack mark bits */
	uint64_t packet_marked;   /* verdicts that set packet mark bits (bypass) */
	uint64_t verdict_errors;  /* sendto failures and kernel error replies to verdicts
				   * (a lost verdict leaves the packet held in the kernel
				   * until the queue is closed) */
	uint64_t recv_errors;     /* ENOBUFS, truncated datagrams: the kernel dropped queue messages */
	uint64_t parse_errors;    /* messages without a packet id or payload (answered with
				   * accept under fail_open, else drop, when the id is known) */
	uint64_t gso;             /* packets flagged as GSO */
	uint64_t batch_verdicts;  /* NFQNL_MSG_VERDICT_BATCH messages sent */
	uint64_t truncated;       /* packets longer than the copy range (payload cut) */
};

struct nfq_queue;
/* NULL with a reason in err (EPERM without CAP_NET_ADMIN, queue already bound...). */
struct nfq_queue *nfq_queue_open(const struct nfq_config *c, char *err, size_t errlen);
int nfq_queue_fd(const struct nfq_queue *q);
/* Read what is waiting (up to max_batch packets) and call cb for each.
 * Returns packets handled, 0 when nothing was waiting, -1 on a fatal error.
 * A return of max_batch means more may be waiting, possibly already read from
 * the socket: call again before going back to poll. */
int nfq_queue_receive(struct nfq_queue *q,
		      void (*cb)(void *ctx, const struct nfq_packet *p), void *ctx);
/* Verdict on one packet.  set_ct_mark: when non-zero mask, the connection's
 * mark becomes (current & ~mask) | (value & mask), sent whole as CTA_MARK in
 * an NFQA_CT nest (pass the packet's ct_mark as current).  The kernel applies
 * it only through nf_conntrack_netlink's queue glue (`modprobe
 * nf_conntrack_netlink`, CONFIG_NETFILTER_NETLINK_GLUE_CT); without it the
 * nest is ignored and the verdict still counts.  Verdicts may be given in any
 * order.  A kernel refusal (unknown id) arrives later, counted by
 * nfq_queue_receive in verdict_errors. */
int nfq_verdict(struct nfq_queue *q, uint32_t id, enum nfq_action a, uint32_t ct_value,
		uint32_t ct_mask, uint32_t current_ct_mark);
/* Verdict that sets bits of the PACKET mark: (current & ~mask) | (value &
 * mask).  Needs no conntrack glue in the kernel: the bridge rules copy the
 * bits into the connection mark (CONNMARK --save-mark in mangle POSTROUTING,
 * tools/postern-bridge), which then stops the queueing of the connection. */
int nfq_verdict_mark(struct nfq_queue *q, uint32_t id, enum nfq_action a, uint32_t value,
		     uint32_t mask, uint32_t current_mark);
/* Accept every packet with id <= last_id not yet answered (NFQNL_MSG_VERDICT_BATCH). */
int nfq_verdict_batch_accept(struct nfq_queue *q, uint32_t last_id);
const struct nfq_stats *nfq_queue_stats(const struct nfq_queue *q);
void nfq_queue_close(struct nfq_queue *q);

/* Parse one NFQNL_MSG_PACKET netlink message (exposed for tests and fuzzing).
 * 0 or -1. */
struct nlmsghdr;
int nfq_parse_packet(const struct nlmsghdr *nlh, struct nfq_packet *out);
/* Whether a whole message starts at nlh within len bytes: mnl_nlmsg_ok with
 * the length compared unsigned (libmnl 1.0.4 casts it to int, so a length
 * over 2^31 passes there and mnl_nlmsg_next jumps out of the buffer). */
bool nfq_nlmsg_fits(const struct nlmsghdr *nlh, long len);

/* Verdict messages as sent (exposed for tests).  Return the message length,
 * 0 when cap is under NFQ_VERDICT_MSG_MAX. */
#define NFQ_VERDICT_MSG_MAX 64
size_t nfq_build_verdict(void *buf, size_t cap, uint16_t queue_num, uint32_t id,
			 enum nfq_action a, uint32_t ct_value, uint32_t ct_mask,
			 uint32_t current_ct_mark);
size_t nfq_build_verdict_batch(void *buf, size_t cap, uint16_t queue_num, uint32_t last_id);
size_t nfq_build_verdict_mark(void *buf, size_t cap, uint16_t queue_num, uint32_t id,
			      enum nfq_action a, uint32_t value, uint32_t mask, uint32_t current_mark);

#endif
