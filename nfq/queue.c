/* One NFQUEUE queue over netlink; the contract is in queue.h.
 *
 * Messages are built with libnetfilter_queue's mnl helpers and sent with
 * libmnl.  Packet messages are parsed with our own attribute callback rather
 * than nfq_nlmsg_parse: its validator differs between library versions and
 * rejects a whole message for one bad attribute, and we must still learn the
 * packet id of a damaged message to answer it (an unanswered packet stays
 * held in the kernel until the queue is closed; NFQUEUE has no timeout).
 *
 * Kernel facts this relies on:
 * - Binding is one NFQNL_MSG_CONFIG message carrying the command, copy
 *   parameters, queue length and flags; the kernel applies them in that order
 *   and acks once.  PF_BIND/PF_UNBIND are no-ops since Linux 3.8.
 * - A queue bound by another netlink socket, and a sender without
 *   CAP_NET_ADMIN, both get EPERM; we tell them apart by our own capability.
 * - NFQA_CFG_F_CONNTRACK and NFQA_CT in verdicts need the conntrack glue of
 *   nf_conntrack_netlink (`modprobe nf_conntrack_netlink`, kernel built with
 *   CONFIG_NETFILTER_NETLINK_GLUE_CT); without it the config fails with
 *   EOPNOTSUPP (EAGAIN when the kernel just loaded the module), and a verdict's
 *   NFQA_CT would be ignored.
 * - With NETLINK_NO_ENOBUFS the kernel no longer reports receive-buffer
 *   overruns to us, so recv_errors only sees what still gets through; the
 *   kernel's own counters are in /proc/net/netfilter/nfnetlink_queue.  Packets
 *   accepted by fail-open (queue full, or socket buffer full) are counted
 *   nowhere: they simply pass uninspected. */
#include "nfq/queue.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#define COPY_RANGE 0xffff
/* One packet message: the copied packet plus metadata (conntrack nest,
 * addresses) that stays well under a page. */
#define RECV_BUF_SIZE (COPY_RANGE + 8192)
#define CONFIG_ACK_TIMEOUT_MS 2000
#define CAP_NET_ADMIN_BIT 12

struct nfq_queue {
	struct mnl_socket *nl;
	struct nfq_config cfg;
	struct nfq_stats st;
	uint8_t *buf;
	/* Messages of the last datagram not yet handled (max_batch reached). */
	size_t pend_off, pend_len;
};

void nfq_config_default(struct nfq_config *c, uint16_t queue_num)
{
	memset(c, 0, sizeof(*c));
	c->queue_num = queue_num;
	c->queue_maxlen = 4096;
	c->rcvbuf = 8u << 20;
	c->fail_open = true;
	c->gso = true;
	c->max_batch = 64;
	c->conntrack = true;
}

/* ---- parsing ---- */

struct attr_tab {
	const struct nlattr *tb[NFQA_MAX + 1];
	bool bad;                 /* a known attribute had the wrong size */
};

static bool attr_size_ok(const struct nlattr *a, int type)
{
	size_t len = mnl_attr_get_payload_len(a);
	switch (type) {
	case NFQA_PACKET_HDR:
		return len >= sizeof(struct nfqnl_msg_packet_hdr);
	case NFQA_TIMESTAMP:
		return len >= sizeof(struct nfqnl_msg_packet_timestamp);
	case NFQA_HWADDR:
		return len >= sizeof(struct nfqnl_msg_packet_hw);
	case NFQA_MARK:
	case NFQA_IFINDEX_INDEV:
	case NFQA_IFINDEX_OUTDEV:
	case NFQA_IFINDEX_PHYSINDEV:
	case NFQA_IFINDEX_PHYSOUTDEV:
	case NFQA_CAP_LEN:
	case NFQA_SKB_INFO:
		return len == sizeof(uint32_t);
	default:
		return true;
	}
}

static void packet_attr_cb(const struct nlattr *a, struct attr_tab *t)
{
	int type = mnl_attr_get_type(a);
	if (type > NFQA_MAX)
		return; /* newer kernel attribute */
	if (!attr_size_ok(a, type))
		t->bad = true;
	else
		t->tb[type] = a;
}

static int ct_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **mark = data;
	if (mnl_attr_get_type(a) == CTA_MARK && mnl_attr_get_payload_len(a) == sizeof(uint32_t))
		*mark = a;
	return MNL_CB_OK;
}

static uint32_t attr_be32(const struct nlattr *a)
{
	uint32_t v;
	memcpy(&v, mnl_attr_get_payload(a), sizeof(v));
	return ntohl(v);
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static bool is_packet_msg(const struct nlmsghdr *nlh)
{
	return nlh->nlmsg_type == ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET);
}

/* Fills out; *id_known tells whether out->id is valid even on failure. */
static int parse_packet(const struct nlmsghdr *nlh, struct nfq_packet *out, bool *id_known)
{
	*id_known = false;
	memset(out, 0, sizeof(*out));
	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg)) ||
	    !is_packet_msg(nlh))
		return -1;
	struct attr_tab t;
	memset(&t, 0, sizeof(t));
	/* Walked by hand: mnl_attr_parse ends the walk at the aligned message
	 * end, and the kernel's nlmsg_len is not aligned when the payload is
	 * not, so an attribute could reach up to 3 bytes past the message. */
	const uint8_t *end = (const uint8_t *)nlh + nlh->nlmsg_len;
	const struct nlattr *a = mnl_nlmsg_get_payload_offset(nlh, sizeof(struct nfgenmsg));
	while (mnl_attr_ok(a, (int)(end - (const uint8_t *)a))) {
		packet_attr_cb(a, &t);
		a = mnl_attr_next(a);
	}
	const struct nlattr *const *tb = t.tb;

	if (tb[NFQA_PACKET_HDR]) {
		struct nfqnl_msg_packet_hdr ph;
		memcpy(&ph, mnl_attr_get_payload(tb[NFQA_PACKET_HDR]), sizeof(ph));
		out->id = ntohl(ph.packet_id);
		out->hw_protocol = ntohs(ph.hw_protocol);
		*id_known = true;
	}
	if (tb[NFQA_PAYLOAD]) {
		out->payload = mnl_attr_get_payload(tb[NFQA_PAYLOAD]);
		out->len = mnl_attr_get_payload_len(tb[NFQA_PAYLOAD]);
	}
	out->orig_len = (uint32_t)out->len;
	if (tb[NFQA_CAP_LEN])
		out->orig_len = attr_be32(tb[NFQA_CAP_LEN]);
	if (tb[NFQA_TIMESTAMP]) {
		struct nfqnl_msg_packet_timestamp ts;
		memcpy(&ts, mnl_attr_get_payload(tb[NFQA_TIMESTAMP]), sizeof(ts));
		uint64_t sec = be64toh(ts.sec), usec = be64toh(ts.usec);
		/* 2^44 s is far past any real clock: keeps the product in range */
		if (sec < (UINT64_C(1) << 44) && usec < 1000000u)
			out->ts_us = sec * 1000000u + usec;
	}
	if (!out->ts_us)
		out->ts_us = now_us();
	if (tb[NFQA_MARK])
		out->mark = attr_be32(tb[NFQA_MARK]);
	if (tb[NFQA_IFINDEX_INDEV])
		out->indev = attr_be32(tb[NFQA_IFINDEX_INDEV]);
	if (tb[NFQA_IFINDEX_OUTDEV])
		out->outdev = attr_be32(tb[NFQA_IFINDEX_OUTDEV]);
	if (tb[NFQA_IFINDEX_PHYSINDEV])
		out->physindev = attr_be32(tb[NFQA_IFINDEX_PHYSINDEV]);
	if (tb[NFQA_IFINDEX_PHYSOUTDEV])
		out->physoutdev = attr_be32(tb[NFQA_IFINDEX_PHYSOUTDEV]);
	if (tb[NFQA_HWADDR]) {
		struct nfqnl_msg_packet_hw hw;
		memcpy(&hw, mnl_attr_get_payload(tb[NFQA_HWADDR]), sizeof(hw));
		uint16_t n = ntohs(hw.hw_addrlen);
		if (n > sizeof(out->hwaddr))
			n = sizeof(out->hwaddr);
		memcpy(out->hwaddr, hw.hw_addr, n);
		out->hwaddr_len = n;
	}
	if (tb[NFQA_SKB_INFO]) {
		uint32_t info = attr_be32(tb[NFQA_SKB_INFO]);
		out->gso = (info & NFQA_SKB_GSO) != 0;
		out->csum_not_ready = (info & NFQA_SKB_CSUMNOTREADY) != 0;
	}
	if (tb[NFQA_CT]) {
		const struct nlattr *mark = NULL;
		/* A damaged nest leaves the mark unknown rather than failing the
		 * packet: the packet still needs its verdict. */
		if (mnl_attr_parse_nested(tb[NFQA_CT], ct_attr_cb, &mark) >= 0 && mark) {
			out->has_ct_mark = true;
			out->ct_mark = attr_be32(mark);
		}
	}
	if (t.bad || !*id_known || !tb[NFQA_PAYLOAD])
		return -1;
	return 0;
}

bool nfq_nlmsg_fits(const struct nlmsghdr *nlh, long len)
{
	return len >= (long)sizeof(*nlh) && nlh->nlmsg_len >= sizeof(*nlh) &&
	       nlh->nlmsg_len <= (unsigned long)len;
}

int nfq_parse_packet(const struct nlmsghdr *nlh, struct nfq_packet *out)
{
	bool id_known;
	return parse_packet(nlh, out, &id_known);
}

/* ---- verdict messages ---- */

size_t nfq_build_verdict(void *buf, size_t cap, uint16_t queue_num, uint32_t id,
			 enum nfq_action a, uint32_t ct_value, uint32_t ct_mask,
			 uint32_t current_ct_mark)
{
	if (cap < NFQ_VERDICT_MSG_MAX)
		return 0;
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, queue_num);
	nfq_nlmsg_verdict_put(nlh, (int)id, a == NFQ_DROP ? NF_DROP : NF_ACCEPT);
	if (ct_mask) {
		/* The whole new mark, not CTA_MARK_MASK: kernels before the mask
		 * support in the verdict path would store the masked value alone. */
		uint32_t mark = (current_ct_mark & ~ct_mask) | (ct_value & ct_mask);
		struct nlattr *nest = mnl_attr_nest_start(nlh, NFQA_CT);
		mnl_attr_put_u32(nlh, CTA_MARK, htonl(mark));
		mnl_attr_nest_end(nlh, nest);
	}
	return nlh->nlmsg_len;
}

size_t nfq_build_verdict_mark(void *buf, size_t cap, uint16_t queue_num, uint32_t id,
			      enum nfq_action a, uint32_t value, uint32_t mask, uint32_t current_mark)
{
	if (cap < NFQ_VERDICT_MSG_MAX)
		return 0;
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, queue_num);
	nfq_nlmsg_verdict_put(nlh, (int)id, a == NFQ_DROP ? NF_DROP : NF_ACCEPT);
	nfq_nlmsg_verdict_put_mark(nlh, (current_mark & ~mask) | (value & mask));
	return nlh->nlmsg_len;
}

size_t nfq_build_verdict_batch(void *buf, size_t cap, uint16_t queue_num, uint32_t last_id)
{
	if (cap < NFQ_VERDICT_MSG_MAX)
		return 0;
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT_BATCH, queue_num);
	nfq_nlmsg_verdict_put(nlh, (int)last_id, NF_ACCEPT);
	return nlh->nlmsg_len;
}

static int send_msg(struct nfq_queue *q, const void *msg, size_t len)
{
	if (mnl_socket_sendto(q->nl, msg, len) < 0) {
		q->st.verdict_errors++;
		return -1;
	}
	return 0;
}

/* Send one verdict and count what it said. */
static int send_counted(struct nfq_queue *q, const void *msg, size_t len, enum nfq_action a)
{
	if (send_msg(q, msg, len) < 0)
		return -1;
	if (a == NFQ_DROP)
		q->st.dropped++;
	else
		q->st.accepted++;
	return 0;
}

int nfq_verdict(struct nfq_queue *q, uint32_t id, enum nfq_action a, uint32_t ct_value,
		uint32_t ct_mask, uint32_t current_ct_mark)
{
	_Alignas(struct nlmsghdr) uint8_t msg[NFQ_VERDICT_MSG_MAX];
	size_t len = nfq_build_verdict(msg, sizeof(msg), q->cfg.queue_num, id, a, ct_value,
				       ct_mask, current_ct_mark);
	if (send_counted(q, msg, len, a) < 0)
		return -1;
	if (ct_mask)
		q->st.ct_marked++;
	return 0;
}

int nfq_verdict_mark(struct nfq_queue *q, uint32_t id, enum nfq_action a, uint32_t value,
		     uint32_t mask, uint32_t current_mark)
{
	_Alignas(struct nlmsghdr) uint8_t msg[NFQ_VERDICT_MSG_MAX];
	size_t len = nfq_build_verdict_mark(msg, sizeof(msg), q->cfg.queue_num, id, a, value, mask,
					    current_mark);
	if (send_counted(q, msg, len, a) < 0)
		return -1;
	q->st.packet_marked++;
	return 0;
}

int nfq_verdict_batch_accept(struct nfq_queue *q, uint32_t last_id)
{
	_Alignas(struct nlmsghdr) uint8_t msg[NFQ_VERDICT_MSG_MAX];
	size_t len = nfq_build_verdict_batch(msg, sizeof(msg), q->cfg.queue_num, last_id);
	if (send_msg(q, msg, len) < 0)
		return -1;
	q->st.batch_verdicts++;
	return 0;
}

/* A packet we cannot hand to the caller still needs an answer. */
static void answer_unhandled(struct nfq_queue *q, uint32_t id)
{
	nfq_verdict(q, id, q->cfg.fail_open ? NFQ_ACCEPT : NFQ_DROP, 0, 0, 0);
}

/* ---- open / configure ---- */

static bool have_cap_net_admin(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return true; /* unknown: do not claim a missing capability */
	char line[256];
	bool have = true;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long eff;
		if (sscanf(line, "CapEff: %llx", &eff) == 1) {
			have = (eff >> CAP_NET_ADMIN_BIT) & 1;
			break;
		}
	}
	fclose(f);
	return have;
}

/* Send one config message with NLM_F_ACK and wait for its ack.  Returns 0 or
 * a positive errno. */
static int config_exchange(struct nfq_queue *q, struct nlmsghdr *nlh)
{
	uint32_t seq = (uint32_t)time(NULL) ^ (uint32_t)getpid();
	uint32_t portid = mnl_socket_get_portid(q->nl);
	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0)
		return errno;
	struct pollfd pfd = {.fd = mnl_socket_get_fd(q->nl), .events = POLLIN};
	for (;;) {
		int pr = poll(&pfd, 1, CONFIG_ACK_TIMEOUT_MS);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			return pr == 0 ? ETIMEDOUT : errno;
		ssize_t n = mnl_socket_recvfrom(q->nl, q->buf, RECV_BUF_SIZE);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == ENOBUFS)
				continue;
			return errno;
		}
		int len = (int)n;
		for (const struct nlmsghdr *m = (const void *)q->buf; nfq_nlmsg_fits(m, len);
		     m = mnl_nlmsg_next(m, &len)) {
			if (m->nlmsg_type == NLMSG_ERROR && mnl_nlmsg_portid_ok(m, portid) &&
			    m->nlmsg_seq == seq) {
				if (m->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(struct nlmsgerr))
					return EPROTO;
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(m);
				return e->error < 0 ? -e->error : 0;
			}
			/* Packets queued between the bind and its ack: the
			 * caller is not reading yet, answer by policy. */
			if (is_packet_msg(m)) {
				struct nfq_packet p;
				bool id_known;
				if (parse_packet(m, &p, &id_known) < 0)
					q->st.parse_errors++;
				if (id_known)
					answer_unhandled(q, p.id);
			}
		}
	}
}

static int configure(struct nfq_queue *q, bool conntrack)
{
	_Alignas(struct nlmsghdr) char msg[256];
	const struct nfq_config *c = &q->cfg;
	struct nlmsghdr *nlh = nfq_nlmsg_put(msg, NFQNL_MSG_CONFIG, c->queue_num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, COPY_RANGE);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, c->queue_maxlen);
	uint32_t flags = (c->gso ? NFQA_CFG_F_GSO : 0) | (c->fail_open ? NFQA_CFG_F_FAIL_OPEN : 0) |
			 (conntrack ? NFQA_CFG_F_CONNTRACK : 0);
	uint32_t mask = NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_CONNTRACK;
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(mask));
	return config_exchange(q, nlh);
}

static void set_rcvbuf(struct nfq_queue *q)
{
	int fd = mnl_socket_get_fd(q->nl);
	int v = q->cfg.rcvbuf > INT32_MAX ? INT32_MAX : (int)q->cfg.rcvbuf;
	if (v <= 0)
		return;
	/* FORCE passes rmem_max when privileged; plain SO_RCVBUF is capped by it */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
}

struct nfq_queue *nfq_queue_open(const struct nfq_config *c, char *err, size_t errlen)
{
	struct nfq_queue *q = calloc(1, sizeof(*q));
	if (!q || !(q->buf = malloc(RECV_BUF_SIZE))) {
		snprintf(err, errlen, "queue %u: out of memory", c->queue_num);
		free(q);
		return NULL;
	}
	q->cfg = *c;
	if (!q->cfg.max_batch)
		q->cfg.max_batch = 1;
	q->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!q->nl) {
		snprintf(err, errlen, "queue %u: netlink socket: %s", c->queue_num, strerror(errno));
		goto fail;
	}
	if (mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, errlen, "queue %u: netlink bind: %s", c->queue_num, strerror(errno));
		goto fail;
	}
	int one = 1;
	/* Overruns are then silent rather than an error on every recv; the
	 * kernel answers overflowed packets by fail-open or drops them. */
	(void)mnl_socket_setsockopt(q->nl, NETLINK_NO_ENOBUFS, &one, sizeof(one));
	(void)mnl_socket_setsockopt(q->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	set_rcvbuf(q);

	int e = configure(q, c->conntrack);
	for (int tries = 0; e == EAGAIN && tries < 3; tries++)
		e = configure(q, c->conntrack); /* the kernel just loaded a module */
	if (e == 0)
		return q;
	if (e == EPERM) {
		if (!have_cap_net_admin())
			snprintf(err, errlen,
				 "bind queue %u: Operation not permitted (needs CAP_NET_ADMIN)",
				 c->queue_num);
		else
			snprintf(err, errlen,
				 "queue %u is already bound by another process (or socket)",
				 c->queue_num);
	} else if (e == EOPNOTSUPP && c->conntrack) {
		snprintf(err, errlen,
			 "queue %u: conntrack flag not supported: %s (needs nf_conntrack_netlink "
			 "built with CONFIG_NETFILTER_NETLINK_GLUE_CT: modprobe "
			 "nf_conntrack_netlink; or set conntrack off)",
			 c->queue_num, strerror(e));
	} else {
		snprintf(err, errlen, "bind queue %u: %s%s", c->queue_num, strerror(e),
			 e == EINVAL || e == ENOENT || e == EOPNOTSUPP
				 ? " (is nfnetlink_queue available? modprobe nfnetlink_queue)"
				 : "");
	}
fail:
	if (q->nl)
		mnl_socket_close(q->nl);
	free(q->buf);
	free(q);
	return NULL;
}

int nfq_queue_fd(const struct nfq_queue *q)
{
	return mnl_socket_get_fd(q->nl);
}

const struct nfq_stats *nfq_queue_stats(const struct nfq_queue *q)
{
	return &q->st;
}

/* ---- receive ---- */

static void handle_msg(struct nfq_queue *q, const struct nlmsghdr *nlh,
		       void (*cb)(void *ctx, const struct nfq_packet *p), void *ctx, int *handled)
{
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		/* Only failures are answered (verdicts carry no NLM_F_ACK):
		 * typically a verdict for an id the kernel no longer holds. */
		const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
		if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*e) || e->error != 0)
			q->st.verdict_errors++;
		return;
	}
	if (!is_packet_msg(nlh))
		return;
	struct nfq_packet p;
	bool id_known;
	(*handled)++;
	if (parse_packet(nlh, &p, &id_known) < 0) {
		q->st.parse_errors++;
		if (id_known)
			answer_unhandled(q, p.id);
		return;
	}
	q->st.received++;
	if (p.gso)
		q->st.gso++;
	if (p.orig_len > p.len)
		q->st.truncated++;
	cb(ctx, &p);
}

int nfq_queue_receive(struct nfq_queue *q, void (*cb)(void *ctx, const struct nfq_packet *p),
		      void *ctx)
{
	int handled = 0;
	while ((uint32_t)handled < q->cfg.max_batch) {
		if (q->pend_len == 0) {
			ssize_t n = mnl_socket_recvfrom(q->nl, q->buf, RECV_BUF_SIZE);
			if (n < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					return handled;
				if (errno == EINTR)
					continue;
				if (errno == ENOBUFS || errno == ENOSPC) {
					/* overrun, or a datagram cut by MSG_TRUNC */
					q->st.recv_errors++;
					continue;
				}
				return -1;
			}
			q->pend_off = 0;
			q->pend_len = (size_t)n;
		}
		int len = (int)q->pend_len;
		const struct nlmsghdr *nlh = (const void *)(q->buf + q->pend_off);
		while (nfq_nlmsg_fits(nlh, len) && (uint32_t)handled < q->cfg.max_batch) {
			handle_msg(q, nlh, cb, ctx, &handled);
			nlh = mnl_nlmsg_next(nlh, &len);
		}
		if (nfq_nlmsg_fits(nlh, len)) {
			q->pend_off = (size_t)((const uint8_t *)nlh - q->buf);
			q->pend_len = (size_t)len;
		} else {
			q->pend_len = 0;
		}
	}
	return handled;
}

void nfq_queue_close(struct nfq_queue *q)
{
	if (!q)
		return;
	_Alignas(struct nlmsghdr) char msg[128];
	struct nlmsghdr *nlh = nfq_nlmsg_put(msg, NFQNL_MSG_CONFIG, q->cfg.queue_num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_UNBIND);
	/* Closing the socket unbinds too; this just makes it immediate.  The
	 * kernel drops the packets still held (unanswered) at unbind. */
	(void)mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len);
	mnl_socket_close(q->nl);
	free(q->buf);
	free(q);
}
