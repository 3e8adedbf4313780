/* NFQUEUE queue: packet-message parsing and verdict messages offline, then a
 * live round trip when run as root.
 *
 * Offline, packet messages are built with libmnl the way nfnetlink_queue
 * sends them (attribute order and sizes of nfqnl_build_packet_message) and
 * verdict messages are parsed back with libmnl.
 *
 * Live, a forked child moves into a fresh network namespace, queues UDP to
 * 127.0.0.1:9999 on OUTPUT (iptables NFQUEUE, queue 7) and checks accept,
 * drop, batch accept, a verdict for an unknown id, the busy-queue error and,
 * when nf_conntrack_netlink is there, a conntrack mark set by a verdict and
 * seen on the next packet of the flow.  The namespace goes with the child. */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netfilter/nfnetlink_queue.h>

#include "nfq/queue.h"
#include "tests/unit/testlib.h"

#define PKT_TYPE ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET)

static _Alignas(struct nlmsghdr) uint8_t msgbuf[8192];

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static struct nlmsghdr *pkt_begin(void *buf, uint16_t queue)
{
	memset(buf, 0, 256);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = PKT_TYPE;
	struct nfgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = AF_INET;
	g->version = NFNETLINK_V0;
	g->res_id = htons(queue);
	return nlh;
}

static void put_hdr(struct nlmsghdr *nlh, uint32_t id, uint16_t proto)
{
	struct nfqnl_msg_packet_hdr ph = {.packet_id = htonl(id), .hw_protocol = htons(proto),
					  .hook = NF_INET_FORWARD};
	mnl_attr_put(nlh, NFQA_PACKET_HDR, sizeof(ph), &ph);
}

static const uint8_t ip_bytes[] = {0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1,
				   10, 0, 0, 2, 0x30, 0x39, 0x27, 0x0f, 0, 8, 0, 0};

/* Every attribute a bridged, conntracked GSO packet carries, in kernel order. */
static struct nlmsghdr *full_packet(void *buf)
{
	struct nlmsghdr *nlh = pkt_begin(buf, 3);
	put_hdr(nlh, 0x01020304, 0x0800);
	mnl_attr_put_u32(nlh, NFQA_IFINDEX_INDEV, htonl(11));
	mnl_attr_put_u32(nlh, NFQA_IFINDEX_PHYSINDEV, htonl(12));
	mnl_attr_put_u32(nlh, NFQA_IFINDEX_OUTDEV, htonl(13));
	mnl_attr_put_u32(nlh, NFQA_IFINDEX_PHYSOUTDEV, htonl(14));
	mnl_attr_put_u32(nlh, NFQA_MARK, htonl(0xdeadbeef));
	struct nfqnl_msg_packet_hw hw = {.hw_addrlen = htons(6),
					 .hw_addr = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55}};
	mnl_attr_put(nlh, NFQA_HWADDR, sizeof(hw), &hw);
	struct nfqnl_msg_packet_timestamp ts = {.sec = htobe64(1700000000), .usec = htobe64(123456)};
	mnl_attr_put(nlh, NFQA_TIMESTAMP, sizeof(ts), &ts);
	struct nlattr *ct = mnl_attr_nest_start(nlh, NFQA_CT);
	struct nlattr *tup = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
	mnl_attr_put_u32(nlh, 1, htonl(0x0a000001));
	mnl_attr_nest_end(nlh, tup);
	mnl_attr_put_u32(nlh, CTA_STATUS, htonl(8));
	mnl_attr_put_u32(nlh, CTA_MARK, htonl(0x00ab0012));
	mnl_attr_nest_end(nlh, ct);
	mnl_attr_put_u32(nlh, NFQA_CT_INFO, htonl(2));
	mnl_attr_put_u32(nlh, NFQA_SKB_INFO, htonl(NFQA_SKB_GSO | NFQA_SKB_CSUMNOTREADY));
	mnl_attr_put_u32(nlh, NFQA_CAP_LEN, htonl(70000));
	mnl_attr_put(nlh, NFQA_PAYLOAD, sizeof(ip_bytes), ip_bytes);
	return nlh;
}

static void test_parse_full(void)
{
	struct nlmsghdr *nlh = full_packet(msgbuf);
	struct nfq_packet p;
	CHECK(nfq_parse_packet(nlh, &p) == 0);
	CHECK_EQ_U(p.id, 0x01020304);
	CHECK_EQ_U(p.hw_protocol, 0x0800);
	CHECK_EQ_U(p.len, sizeof(ip_bytes));
	CHECK(p.payload && memcmp(p.payload, ip_bytes, sizeof(ip_bytes)) == 0);
	CHECK_EQ_U(p.ts_us, UINT64_C(1700000000123456));
	CHECK_EQ_U(p.mark, 0xdeadbeef);
	CHECK(p.has_ct_mark);
	CHECK_EQ_U(p.ct_mark, 0x00ab0012);
	CHECK_EQ_U(p.indev, 11);
	CHECK_EQ_U(p.physindev, 12);
	CHECK_EQ_U(p.outdev, 13);
	CHECK_EQ_U(p.physoutdev, 14);
	CHECK_EQ_U(p.hwaddr_len, 6);
	CHECK(memcmp(p.hwaddr, "\x02\x11\x22\x33\x44\x55", 6) == 0);
	CHECK_EQ_U(p.orig_len, 70000);
	CHECK(p.gso);
	CHECK(p.csum_not_ready);
}

static void test_parse_minimal(void)
{
	struct nlmsghdr *nlh = pkt_begin(msgbuf, 0);
	put_hdr(nlh, 7, 0x86dd);
	mnl_attr_put(nlh, NFQA_PAYLOAD, 5, "abcde");
	struct nfq_packet p;
	uint64_t before = now_us();
	CHECK(nfq_parse_packet(nlh, &p) == 0);
	uint64_t after = now_us();
	CHECK_EQ_U(p.id, 7);
	CHECK_EQ_U(p.hw_protocol, 0x86dd);
	CHECK_EQ_U(p.len, 5);
	CHECK_EQ_U(p.orig_len, 5);
	/* no NFQA_TIMESTAMP: the receive time */
	CHECK(p.ts_us >= before && p.ts_us <= after);
	CHECK(!p.has_ct_mark);
	CHECK_EQ_U(p.mark, 0);
	CHECK_EQ_U(p.indev + p.outdev + p.physindev + p.physoutdev, 0);
	CHECK_EQ_U(p.hwaddr_len, 0);
	CHECK(!p.gso && !p.csum_not_ready);

	/* an empty payload is still a payload */
	nlh = pkt_begin(msgbuf, 0);
	put_hdr(nlh, 8, 0x0800);
	mnl_attr_put(nlh, NFQA_PAYLOAD, 0, "");
	CHECK(nfq_parse_packet(nlh, &p) == 0);
	CHECK_EQ_U(p.len, 0);
	CHECK_EQ_U(p.id, 8);

	/* attributes newer than our headers are skipped */
	nlh = pkt_begin(msgbuf, 0);
	put_hdr(nlh, 9, 0x0800);
	mnl_attr_put_u32(nlh, NFQA_MAX + 5, 1);
	mnl_attr_put(nlh, NFQA_PAYLOAD, 3, "xyz");
	CHECK(nfq_parse_packet(nlh, &p) == 0);
	CHECK_EQ_U(p.id, 9);
}

static void test_parse_missing(void)
{
	struct nfq_packet p;
	struct nlmsghdr *nlh = pkt_begin(msgbuf, 0);
	mnl_attr_put(nlh, NFQA_PAYLOAD, 5, "abcde");
	CHECK(nfq_parse_packet(nlh, &p) == -1); /* no packet header */

	nlh = pkt_begin(msgbuf, 0);
	put_hdr(nlh, 7, 0x0800);
	CHECK(nfq_parse_packet(nlh, &p) == -1); /* no payload */

	nlh = full_packet(msgbuf);
	nlh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_VERDICT;
	CHECK(nfq_parse_packet(nlh, &p) == -1); /* not a packet message */
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | NFQNL_MSG_PACKET;
	CHECK(nfq_parse_packet(nlh, &p) == -1);

	nlh = pkt_begin(msgbuf, 0);
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN + 2; /* shorter than nfgenmsg */
	CHECK(nfq_parse_packet(nlh, &p) == -1);
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN;
	CHECK(nfq_parse_packet(nlh, &p) == -1);
}

/* One attribute of the wrong size makes the message fail, but the packet id
 * is still reported when the header itself was sound. */
static void test_parse_bad_lengths(void)
{
	static const int u32_types[] = {NFQA_MARK, NFQA_IFINDEX_INDEV, NFQA_IFINDEX_OUTDEV,
					NFQA_IFINDEX_PHYSINDEV, NFQA_IFINDEX_PHYSOUTDEV,
					NFQA_CAP_LEN, NFQA_SKB_INFO};
	struct nfq_packet p;
	for (size_t i = 0; i < sizeof(u32_types) / sizeof(u32_types[0]); i++) {
		for (int len = 0; len <= 8; len += 2) {
			if (len == 4)
				continue;
			struct nlmsghdr *nlh = pkt_begin(msgbuf, 0);
			put_hdr(nlh, 42, 0x0800);
			mnl_attr_put(nlh, (uint16_t)u32_types[i], (size_t)len, "\x01\x02\x03\x04\x05\x06\x07\x08");
			mnl_attr_put(nlh, NFQA_PAYLOAD, 3, "xyz");
			int r = nfq_parse_packet(nlh, &p);
			CHECK(r == -1);
			if (r != -1)
				fprintf(stderr, "  type %d len %d accepted\n", u32_types[i], len);
			CHECK_EQ_U(p.id, 42);
		}
	}
	/* short fixed structures */
	struct nlmsghdr *nlh = pkt_begin(msgbuf, 0);
	mnl_attr_put(nlh, NFQA_PACKET_HDR, 6, "\0\0\0\1\x08\0");
	mnl_attr_put(nlh, NFQA_PAYLOAD, 3, "xyz");
	CHECK(nfq_parse_packet(nlh, &p) == -1);
	CHECK_EQ_U(p.id, 0);

	nlh = pkt_begin(msgbuf, 0);
	put_hdr(nlh, 5, 0x0800);
	mnl_attr_put(nlh, NFQA_HWADDR, 10, "\0\6\0\0\1\2\3\4\5\6");
	mnl_attr_put(nlh, NFQA_PAYLOAD, 3, "xyz");
	CHECK(nfq_parse_packet(nlh, &p) == -1);

	nlh = pkt_begin(msgbuf, 0);
	put_hdr(nlh, 5, 0x0800);
	mnl_attr_put(nlh, NFQA_TIMESTAMP, 8, "\0\0\0\0\0\0\0\1");
	mnl_attr_put(nlh, NFQA_PAYLOAD, 3, "xyz");
	CHECK(nfq_parse_packet(nlh, &p) == -1);

	/* a hardware address length beyond the 8-byte field is clamped */
	nlh = pkt_begin(msgbuf, 0);
	put_hdr(nlh, 5, 0x0800);
	struct nfqnl_msg_packet_hw hw = {.hw_addrlen = htons(200), .hw_addr = {1, 2, 3, 4, 5, 6, 7, 8}};
	mnl_attr_put(nlh, NFQA_HWADDR, sizeof(hw), &hw);
	mnl_attr_put(nlh, NFQA_PAYLOAD, 3, "xyz");
	CHECK(nfq_parse_packet(nlh, &p) == 0);
	CHECK_EQ_U(p.hwaddr_len, 8);
	CHECK_EQ_U(p.hwaddr[7], 8);

	/* an absurd timestamp falls back to the receive time */
	nlh = pkt_begin(msgbuf, 0);
	put_hdr(nlh, 5, 0x0800);
	struct nfqnl_msg_packet_timestamp ts = {.sec = htobe64(UINT64_MAX), .usec = htobe64(5)};
	mnl_attr_put(nlh, NFQA_TIMESTAMP, sizeof(ts), &ts);
	mnl_attr_put(nlh, NFQA_PAYLOAD, 3, "xyz");
	uint64_t before = now_us();
	CHECK(nfq_parse_packet(nlh, &p) == 0);
	CHECK(p.ts_us >= before);
	ts.sec = htobe64(10);
	ts.usec = htobe64(1000000);
	nlh = pkt_begin(msgbuf, 0);
	put_hdr(nlh, 5, 0x0800);
	mnl_attr_put(nlh, NFQA_TIMESTAMP, sizeof(ts), &ts);
	mnl_attr_put(nlh, NFQA_PAYLOAD, 3, "xyz");
	CHECK(nfq_parse_packet(nlh, &p) == 0);
	CHECK(p.ts_us >= before);
}

static void test_parse_ct_nest(void)
{
	struct nfq_packet p;
	/* conntrack entry without a mark attribute */
	struct nlmsghdr *nlh = pkt_begin(msgbuf, 0);
	put_hdr(nlh, 1, 0x0800);
	struct nlattr *ct = mnl_attr_nest_start(nlh, NFQA_CT);
	mnl_attr_put_u32(nlh, CTA_STATUS, htonl(8));
	mnl_attr_nest_end(nlh, ct);
	mnl_attr_put(nlh, NFQA_PAYLOAD, 3, "xyz");
	CHECK(nfq_parse_packet(nlh, &p) == 0);
	CHECK(!p.has_ct_mark);

	/* a short CTA_MARK is ignored, the packet still parses */
	nlh = pkt_begin(msgbuf, 0);
	put_hdr(nlh, 1, 0x0800);
	ct = mnl_attr_nest_start(nlh, NFQA_CT);
	mnl_attr_put(nlh, CTA_MARK, 2, "\1\2");
	mnl_attr_nest_end(nlh, ct);
	mnl_attr_put(nlh, NFQA_PAYLOAD, 3, "xyz");
	CHECK(nfq_parse_packet(nlh, &p) == 0);
	CHECK(!p.has_ct_mark);

	/* garbage inside the nest (an inner length past the nest) */
	nlh = pkt_begin(msgbuf, 0);
	put_hdr(nlh, 1, 0x0800);
	uint8_t junk[8] = {0xff, 0x00, CTA_MARK, 0, 1, 2, 3, 4};
	mnl_attr_put(nlh, NFQA_CT, sizeof(junk), junk);
	mnl_attr_put(nlh, NFQA_PAYLOAD, 3, "xyz");
	CHECK(nfq_parse_packet(nlh, &p) == 0);
	CHECK(!p.has_ct_mark);

	/* mark 0 is a mark: has_ct_mark is about presence */
	nlh = pkt_begin(msgbuf, 0);
	put_hdr(nlh, 1, 0x0800);
	ct = mnl_attr_nest_start(nlh, NFQA_CT);
	mnl_attr_put_u32(nlh, CTA_MARK, 0);
	mnl_attr_nest_end(nlh, ct);
	mnl_attr_put(nlh, NFQA_PAYLOAD, 3, "xyz");
	CHECK(nfq_parse_packet(nlh, &p) == 0);
	CHECK(p.has_ct_mark);
	CHECK_EQ_U(p.ct_mark, 0);
}

static void test_parse_truncated(void)
{
	struct nfq_packet p;
	struct nlmsghdr *nlh = full_packet(msgbuf);
	uint32_t full = nlh->nlmsg_len;
	/* Cut the message anywhere inside the payload attribute: the attribute
	 * walk stops at an attribute running past the end, so no payload. */
	unsigned fails = 0;
	for (uint32_t cut = full - 1; cut > full - sizeof(ip_bytes) - 4; cut--) {
		nlh->nlmsg_len = cut;
		if (nfq_parse_packet(nlh, &p) == -1)
			fails++;
	}
	CHECK_EQ_U(fails, sizeof(ip_bytes) + 3);
	/* every shorter cut parses without reading past nlmsg_len (ASan) */
	for (uint32_t cut = MNL_NLMSG_HDRLEN; cut < full; cut++) {
		nlh->nlmsg_len = cut;
		(void)nfq_parse_packet(nlh, &p);
	}
	nlh->nlmsg_len = full;
	CHECK(nfq_parse_packet(nlh, &p) == 0);

	/* an attribute whose own length runs past the message */
	nlh = pkt_begin(msgbuf, 0);
	put_hdr(nlh, 3, 0x0800);
	struct nlattr *a = mnl_nlmsg_get_payload_tail(nlh);
	mnl_attr_put(nlh, NFQA_PAYLOAD, 4, "abcd");
	a->nla_len = 200;
	CHECK(nfq_parse_packet(nlh, &p) == -1);
	CHECK_EQ_U(p.id, 3);
}

/* Two messages in one datagram, iterated as the receive loop does. */
static void test_multi_message(void)
{
	static _Alignas(struct nlmsghdr) uint8_t dgram[4096];
	struct nlmsghdr *a = pkt_begin(dgram, 1);
	put_hdr(a, 100, 0x0800);
	mnl_attr_put(a, NFQA_PAYLOAD, 3, "one");
	struct nlmsghdr *b = pkt_begin(dgram + NLMSG_ALIGN(a->nlmsg_len), 1);
	put_hdr(b, 101, 0x0800);
	mnl_attr_put(b, NFQA_PAYLOAD, 3, "two");
	int len = (int)(NLMSG_ALIGN(a->nlmsg_len) + b->nlmsg_len);
	uint32_t ids[4];
	unsigned n = 0;
	for (const struct nlmsghdr *m = (const void *)dgram; nfq_nlmsg_fits(m, len) && n < 4;
	     m = mnl_nlmsg_next(m, &len)) {
		struct nfq_packet p;
		if (nfq_parse_packet(m, &p) == 0)
			ids[n++] = p.id;
	}
	CHECK_EQ_U(n, 2);
	CHECK_EQ_U(ids[0], 100);
	CHECK_EQ_U(ids[1], 101);

	/* a length over 2^31 is not a fit (mnl_nlmsg_ok takes it as negative) */
	struct nlmsghdr *h = (void *)dgram;
	h->nlmsg_len = 0x97979797;
	CHECK(!nfq_nlmsg_fits(h, 4096));
	h->nlmsg_len = 4097;
	CHECK(!nfq_nlmsg_fits(h, 4096));
	h->nlmsg_len = 15;
	CHECK(!nfq_nlmsg_fits(h, 4096));
	h->nlmsg_len = 16;
	CHECK(nfq_nlmsg_fits(h, 16));
	CHECK(!nfq_nlmsg_fits(h, 15));
	CHECK(!nfq_nlmsg_fits(h, -4));
}

struct verdict_seen {
	uint16_t type, queue;
	bool has_hdr, has_ct, has_ct_mark, has_mark;
	uint32_t verdict, id, ct_mark, mark;
	unsigned ct_attrs;
};

static int ct_cb(const struct nlattr *a, void *data)
{
	struct verdict_seen *v = data;
	v->ct_attrs++;
	if (mnl_attr_get_type(a) == CTA_MARK && mnl_attr_validate(a, MNL_TYPE_U32) == 0) {
		v->has_ct_mark = true;
		v->ct_mark = ntohl(mnl_attr_get_u32(a));
	}
	return MNL_CB_OK;
}

static int verdict_attr_cb(const struct nlattr *a, void *data)
{
	struct verdict_seen *v = data;
	switch (mnl_attr_get_type(a)) {
	case NFQA_VERDICT_HDR:
		if (mnl_attr_get_payload_len(a) == sizeof(struct nfqnl_msg_verdict_hdr)) {
			struct nfqnl_msg_verdict_hdr h;
			memcpy(&h, mnl_attr_get_payload(a), sizeof(h));
			v->has_hdr = true;
			v->verdict = ntohl(h.verdict);
			v->id = ntohl(h.id);
		}
		break;
	case NFQA_MARK:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0) {
			v->has_mark = true;
			v->mark = ntohl(mnl_attr_get_u32(a));
		}
		break;
	case NFQA_CT:
		v->has_ct = true;
		if (mnl_attr_parse_nested(a, ct_cb, v) < 0)
			v->has_ct = false;
		break;
	}
	return MNL_CB_OK;
}

static bool parse_verdict(const void *buf, size_t len, struct verdict_seen *v)
{
	memset(v, 0, sizeof(*v));
	const struct nlmsghdr *nlh = buf;
	int l = (int)len;
	if (!mnl_nlmsg_ok(nlh, l) || nlh->nlmsg_len != len)
		return false;
	v->type = nlh->nlmsg_type;
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
	v->queue = ntohs(g->res_id);
	return mnl_attr_parse(nlh, sizeof(*g), verdict_attr_cb, v) >= 0;
}

static void test_verdict_build(void)
{
	_Alignas(struct nlmsghdr) uint8_t buf[NFQ_VERDICT_MSG_MAX];
	struct verdict_seen v;
	size_t n = nfq_build_verdict(buf, sizeof(buf), 5, 77, NFQ_ACCEPT, 0, 0, 0x1234);
	CHECK(n > 0 && n <= sizeof(buf));
	CHECK(parse_verdict(buf, n, &v));
	CHECK_EQ_U(v.type, (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_VERDICT);
	CHECK(((const struct nlmsghdr *)(const void *)buf)->nlmsg_flags & NLM_F_REQUEST);
	CHECK_EQ_U(v.queue, 5);
	CHECK(v.has_hdr);
	CHECK_EQ_U(v.verdict, NF_ACCEPT);
	CHECK_EQ_U(v.id, 77);
	CHECK(!v.has_ct); /* no mask, no conntrack change */

	n = nfq_build_verdict(buf, sizeof(buf), 65535, 0xffffffff, NFQ_DROP, 0, 0, 0);
	CHECK(parse_verdict(buf, n, &v));
	CHECK_EQ_U(v.queue, 65535);
	CHECK_EQ_U(v.verdict, NF_DROP);
	CHECK_EQ_U(v.id, 0xffffffff);

	/* bits outside the mask come from the current mark */
	n = nfq_build_verdict(buf, sizeof(buf), 5, 78, NFQ_ACCEPT, 0x00ab00ff, 0x00ff0000,
			      0x12cd0034);
	CHECK(parse_verdict(buf, n, &v));
	CHECK(v.has_ct && v.has_ct_mark);
	CHECK_EQ_U(v.ct_attrs, 1);
	CHECK_EQ_U(v.ct_mark, 0x12ab0034);
	CHECK_EQ_U(v.verdict, NF_ACCEPT);

	n = nfq_build_verdict(buf, sizeof(buf), 5, 79, NFQ_DROP, 0xffffffff, 0xffffffff, 0);
	CHECK(parse_verdict(buf, n, &v));
	CHECK_EQ_U(v.ct_mark, 0xffffffff);
	CHECK_EQ_U(v.verdict, NF_DROP);

	CHECK_EQ_U(nfq_build_verdict(buf, NFQ_VERDICT_MSG_MAX - 1, 5, 1, NFQ_ACCEPT, 1, 1, 0), 0);

	/* packet-mark verdict (the bypass path): bits outside the mask kept */
	memset(&v, 0, sizeof v);
	n = nfq_build_verdict_mark(buf, sizeof(buf), 5, 80, NFQ_ACCEPT, 0x10000000, 0x10000000,
				   0x00000007);
	CHECK(parse_verdict(buf, n, &v));
	CHECK(v.has_mark && !v.has_ct);
	CHECK_EQ_U(v.mark, 0x10000007);
	CHECK_EQ_U(v.id, 80);
	CHECK_EQ_U(v.verdict, NF_ACCEPT);
	memset(&v, 0, sizeof v);
	n = nfq_build_verdict_mark(buf, sizeof(buf), 5, 81, NFQ_ACCEPT, 0, 0x10000000, 0xffffffff);
	CHECK(parse_verdict(buf, n, &v));
	CHECK_EQ_U(v.mark, 0xefffffff);
	CHECK_EQ_U(nfq_build_verdict_mark(buf, 8, 5, 1, NFQ_ACCEPT, 1, 1, 0), 0);

	n = nfq_build_verdict_batch(buf, sizeof(buf), 9, 1000);
	CHECK(parse_verdict(buf, n, &v));
	CHECK_EQ_U(v.type, (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_VERDICT_BATCH);
	CHECK_EQ_U(v.queue, 9);
	CHECK_EQ_U(v.verdict, NF_ACCEPT);
	CHECK_EQ_U(v.id, 1000);
	CHECK(!v.has_ct);
	CHECK_EQ_U(nfq_build_verdict_batch(buf, 8, 9, 1000), 0);
}

static void test_config_default(void)
{
	struct nfq_config c;
	nfq_config_default(&c, 3);
	CHECK_EQ_U(c.queue_num, 3);
	CHECK_EQ_U(c.queue_maxlen, 4096);
	CHECK_EQ_U(c.rcvbuf, 8u << 20);
	CHECK(c.fail_open && c.gso && c.conntrack);
	CHECK_EQ_U(c.max_batch, 64);
}

/* ---- live part ---- */

#define LIVE_QUEUE 7
#define LIVE_PORT 9999

struct got {
	unsigned n;
	uint32_t id[16];
	size_t len[16];
	uint8_t data[16][256];
	bool has_ct_mark[16];
	uint32_t ct_mark[16];
	uint16_t proto[16];
	uint32_t outdev[16];
	uint64_t ts_us[16];
	bool gso[16], csum_not_ready[16];
};

static void got_cb(void *ctx, const struct nfq_packet *p)
{
	struct got *g = ctx;
	if (g->n >= 16)
		return;
	unsigned i = g->n++;
	g->id[i] = p->id;
	g->len[i] = p->len;
	memcpy(g->data[i], p->payload, p->len < 256 ? p->len : 256);
	g->has_ct_mark[i] = p->has_ct_mark;
	g->ct_mark[i] = p->ct_mark;
	g->proto[i] = p->hw_protocol;
	g->outdev[i] = p->outdev;
	g->ts_us[i] = p->ts_us;
	g->gso[i] = p->gso;
	g->csum_not_ready[i] = p->csum_not_ready;
}

/* Receive until want packets arrived or the time is up. */
static unsigned wait_packets(struct nfq_queue *q, struct got *g, unsigned want, int ms)
{
	struct pollfd pfd = {.fd = nfq_queue_fd(q), .events = POLLIN};
	while (g->n < want) {
		if (poll(&pfd, 1, ms) <= 0)
			break;
		if (nfq_queue_receive(q, got_cb, g) < 0)
			break;
	}
	return g->n;
}

static ssize_t udp_wait(int fd, char *buf, size_t cap, int ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	if (poll(&pfd, 1, ms) <= 0)
		return -1;
	return recv(fd, buf, cap, MSG_DONTWAIT);
}

static bool payload_is(const struct got *g, unsigned i, const char *text)
{
	size_t tl = strlen(text);
	const uint8_t *d = g->data[i];
	return g->len[i] == 28 + tl && (d[0] >> 4) == 4 && d[9] == IPPROTO_UDP &&
	       d[22] == (LIVE_PORT >> 8) && d[23] == (LIVE_PORT & 0xff) &&
	       memcmp(d + 28, text, tl) == 0;
}

static bool lo_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0)
		return false;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	bool ok = ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
	ifr.ifr_flags |= IFF_UP;
	ok = ok && ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
	/* an Ethernet MTU, so large TCP sends on lo are GSO packets */
	ifr.ifr_mtu = 1500;
	ok = ok && ioctl(s, SIOCSIFMTU, &ifr) == 0;
	close(s);
	return ok;
}

/* Queue length 2, nothing answered: with fail-open the packets beyond the
 * length pass uninspected (and no counter anywhere says so); without it they
 * are dropped. */
static void live_fail_open(bool fail_open, int tx, int rx)
{
	struct nfq_config c;
	nfq_config_default(&c, LIVE_QUEUE);
	c.conntrack = false;
	c.queue_maxlen = 2;
	c.fail_open = fail_open;
	char err[256], buf[64];
	struct nfq_queue *q = nfq_queue_open(&c, err, sizeof(err));
	CHECK(q != NULL);
	if (!q)
		return;
	for (int i = 0; i < 4; i++)
		send(tx, "over", 4, 0);
	unsigned bypassed = 0;
	while (udp_wait(rx, buf, sizeof(buf), 300) == 4)
		bypassed++;
	CHECK_EQ_U(bypassed, fail_open ? 2 : 0);
	struct got g = {0};
	CHECK_EQ_U(wait_packets(q, &g, 2, 2000), 2);
	for (unsigned i = 0; i < g.n; i++)
		nfq_verdict(q, g.id[i], NFQ_ACCEPT, 0, 0, 0);
	unsigned answered = 0;
	while (udp_wait(rx, buf, sizeof(buf), 300) == 4)
		answered++;
	CHECK_EQ_U(answered, 2);
	CHECK_EQ_U(nfq_queue_stats(q)->received, 2);
	nfq_queue_close(q);
}

struct tcp_run {
	struct nfq_queue *q;
	unsigned pkts, gso_pkts, csum_not_ready;
	size_t max_len, max_orig_len;
};

static void tcp_cb(void *ctx, const struct nfq_packet *p)
{
	struct tcp_run *r = ctx;
	r->pkts++;
	r->gso_pkts += p->gso;
	r->csum_not_ready += p->csum_not_ready;
	if (p->len > r->max_len)
		r->max_len = p->len;
	if (p->orig_len > r->max_orig_len)
		r->max_orig_len = p->orig_len;
	nfq_verdict(r->q, p->id, NFQ_ACCEPT, 0, 0, 0);
}

/* 256 KiB over TCP on lo (MTU 1500) through the queue, every packet
 * accepted from the callback.  Returns the bytes that arrived. */
static size_t live_tcp(bool gso, struct tcp_run *r)
{
	enum { TOTAL = 256 * 1024 };
	static char data[TOTAL], sink[65536];
	struct nfq_config c;
	nfq_config_default(&c, LIVE_QUEUE);
	c.conntrack = false;
	c.gso = gso;
	char err[256];
	memset(r, 0, sizeof(*r));
	r->q = nfq_queue_open(&c, err, sizeof(err));
	if (!r->q)
		return 0;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(9998),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int one = 1, ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int cs = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), as = -1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	size_t sent = 0, rcvd = 0;
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(ls, 1) != 0)
		goto done;
	if (connect(cs, (struct sockaddr *)&a, sizeof(a)) != 0 && errno != EINPROGRESS)
		goto done;
	uint64_t deadline = now_us() + 10000000;
	while (rcvd < TOTAL && now_us() < deadline) {
		struct pollfd pfd = {.fd = nfq_queue_fd(r->q), .events = POLLIN};
		poll(&pfd, 1, 10);
		if (nfq_queue_receive(r->q, tcp_cb, r) < 0)
			break;
		if (as < 0)
			as = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
		if (sent < TOTAL) {
			ssize_t n = send(cs, data + sent, TOTAL - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
		}
		if (as >= 0) {
			ssize_t n = recv(as, sink, sizeof(sink), MSG_DONTWAIT);
			if (n > 0)
				rcvd += (size_t)n;
		}
	}
done:
	if (as >= 0)
		close(as);
	close(cs);
	close(ls);
	nfq_queue_close(r->q);
	return rcvd;
}

static void live_gso(void)
{
	if (system("iptables -w -A OUTPUT -o lo -p tcp --dport 9998 -j NFQUEUE "
		   "--queue-num 7 >/dev/null 2>&1") != 0) {
		fprintf(stderr, "GSO part skipped (iptables TCP rule failed)\n");
		return;
	}
	struct tcp_run r;
	CHECK_EQ_U(live_tcp(true, &r), 256 * 1024);
	fprintf(stderr, "  live TCP with NFQA_CFG_F_GSO: %u packets, %u GSO, largest %zu bytes, %u "
			"csum not ready\n", r.pkts, r.gso_pkts, r.max_len, r.csum_not_ready);
	CHECK(r.gso_pkts > 0);
	CHECK(r.max_len > 1500);
	CHECK(r.max_orig_len == r.max_len); /* lo's GSO stays within the copy range */
	CHECK_EQ_U(r.csum_not_ready, r.pkts);
	CHECK(live_tcp(false, &r) == 256 * 1024);
	fprintf(stderr, "  live TCP without it: %u packets, %u GSO, largest %zu bytes, %u csum "
			"not ready\n", r.pkts, r.gso_pkts, r.max_len, r.csum_not_ready);
	/* the kernel segments and checksums before queueing */
	CHECK_EQ_U(r.gso_pkts, 0);
	CHECK(r.max_len <= 1500);
	CHECK_EQ_U(r.csum_not_ready, 0);
}

static void live_ct_mark(struct nfq_queue *q, int tx, int rx)
{
	char buf[256];
	struct got g = {0};
	send(tx, "mark-1", 6, 0);
	CHECK_EQ_U(wait_packets(q, &g, 1, 2000), 1);
	CHECK(payload_is(&g, 0, "mark-1"));
	/* the flow has a conntrack entry (first packet: mark 0) */
	CHECK(g.has_ct_mark[0]);
	CHECK_EQ_U(g.ct_mark[0], 0);
	CHECK(nfq_verdict(q, g.id[0], NFQ_ACCEPT, 0x00ab0000, 0x00ff0000, g.ct_mark[0]) == 0);
	CHECK(udp_wait(rx, buf, sizeof(buf), 2000) == 6);

	send(tx, "mark-2", 6, 0);
	CHECK_EQ_U(wait_packets(q, &g, 2, 2000), 2);
	CHECK(g.has_ct_mark[1]);
	CHECK_EQ_U(g.ct_mark[1], 0x00ab0000);
	/* other bits kept */
	CHECK(nfq_verdict(q, g.id[1], NFQ_ACCEPT, 0x12, 0xff, g.ct_mark[1]) == 0);
	CHECK(udp_wait(rx, buf, sizeof(buf), 2000) == 6);

	send(tx, "mark-3", 6, 0);
	CHECK_EQ_U(wait_packets(q, &g, 3, 2000), 3);
	CHECK(g.has_ct_mark[2]);
	CHECK_EQ_U(g.ct_mark[2], 0x00ab0012);
	CHECK(nfq_verdict(q, g.id[2], NFQ_ACCEPT, 0, 0, 0) == 0);
	CHECK(udp_wait(rx, buf, sizeof(buf), 2000) == 6);
	CHECK_EQ_U(nfq_queue_stats(q)->ct_marked, 2);
}

/* Without CAP_NET_ADMIN the error says so (not "already bound"). */
static void live_unprivileged(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
			_exit(3);
		struct nfq_config c;
		nfq_config_default(&c, LIVE_QUEUE + 1);
		char err[256] = "";
		struct nfq_queue *q = nfq_queue_open(&c, err, sizeof(err));
		fprintf(stderr, "  unprivileged open: %s\n", q ? "succeeded" : err);
		_exit(!q && strstr(err, "needs CAP_NET_ADMIN") ? 0 : 1);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void live_child(int report_fd)
{
	if (unshare(CLONE_NEWNET) != 0) {
		fprintf(stderr, "live part skipped (unshare: %s)\n", strerror(errno));
		goto out;
	}
	if (!lo_up()) {
		fprintf(stderr, "live part skipped (cannot bring lo up)\n");
		goto out;
	}
	/* -m conntrack makes the namespace track connections (NFQA_CT) */
	if (system("iptables -w -A OUTPUT -o lo -p udp --dport 9999 -m conntrack "
		   "--ctstate NEW,ESTABLISHED -j NFQUEUE --queue-num 7 >/dev/null 2>&1") != 0) {
		fprintf(stderr, "live part skipped (iptables NFQUEUE rule failed)\n");
		goto out;
	}
	struct nfq_config c;
	nfq_config_default(&c, LIVE_QUEUE);
	char err[256];
	struct nfq_queue *q = nfq_queue_open(&c, err, sizeof(err));
	bool ct_ok = q != NULL;
	if (!q) {
		fprintf(stderr, "conntrack mark part skipped: %s\n", err);
		c.conntrack = false;
		q = nfq_queue_open(&c, err, sizeof(err));
	}
	CHECK(q != NULL);
	if (!q) {
		fprintf(stderr, "open: %s\n", err);
		goto out;
	}

	/* root: SO_RCVBUFFORCE past rmem_max (the kernel reports double) */
	int rcvbuf = 0;
	socklen_t sl = sizeof(rcvbuf);
	CHECK(getsockopt(nfq_queue_fd(q), SOL_SOCKET, SO_RCVBUF, &rcvbuf, &sl) == 0);
	CHECK((uint32_t)rcvbuf >= c.rcvbuf);

	/* a second binder of the same queue is told why it cannot have it */
	struct nfq_queue *q2 = nfq_queue_open(&c, err, sizeof(err));
	CHECK(q2 == NULL);
	CHECK(q2 == NULL && strstr(err, "already bound") != NULL);
	if (q2)
		nfq_queue_close(q2);

	int rx = socket(AF_INET, SOCK_DGRAM, 0), tx = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(LIVE_PORT),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	CHECK(bind(rx, (struct sockaddr *)&dst, sizeof(dst)) == 0);
	CHECK(connect(tx, (struct sockaddr *)&dst, sizeof(dst)) == 0);
	char buf[256];

	/* accept */
	struct got g = {0};
	uint64_t t0 = now_us();
	CHECK(send(tx, "hello-accept", 12, 0) == 12);
	CHECK_EQ_U(wait_packets(q, &g, 1, 2000), 1);
	CHECK(payload_is(&g, 0, "hello-accept"));
	CHECK_EQ_U(g.proto[0], 0x0800);
	CHECK_EQ_U(g.outdev[0], if_nametoindex("lo"));
	CHECK(g.ts_us[0] + 1000000 >= t0 && g.ts_us[0] <= now_us() + 1000000);
	fprintf(stderr, "  live: loopback UDP arrives with gso=%d csum_not_ready=%d\n", g.gso[0],
		g.csum_not_ready[0]);
	CHECK(udp_wait(rx, buf, sizeof(buf), 200) == -1); /* held until the verdict */
	CHECK(nfq_verdict(q, g.id[0], NFQ_ACCEPT, 0, 0, 0) == 0);
	ssize_t n = udp_wait(rx, buf, sizeof(buf), 2000);
	CHECK(n == 12 && memcmp(buf, "hello-accept", 12) == 0);

	/* drop */
	CHECK(send(tx, "hello-drop", 10, 0) == 10);
	CHECK_EQ_U(wait_packets(q, &g, 2, 2000), 2);
	CHECK(payload_is(&g, 1, "hello-drop"));
	CHECK(g.id[1] != g.id[0]);
	CHECK(nfq_verdict(q, g.id[1], NFQ_DROP, 0, 0, 0) == 0);
	CHECK(udp_wait(rx, buf, sizeof(buf), 500) == -1);

	/* max_batch 2: three waiting packets take two calls; then one batch
	 * verdict accepts all three */
	nfq_queue_close(q);
	c.max_batch = 2;
	q = nfq_queue_open(&c, err, sizeof(err));
	CHECK(q != NULL);
	if (!q)
		goto out;
	memset(&g, 0, sizeof(g));
	send(tx, "batch-1", 7, 0);
	send(tx, "batch-2", 7, 0);
	send(tx, "batch-3", 7, 0);
	struct pollfd pfd = {.fd = nfq_queue_fd(q), .events = POLLIN};
	usleep(100000);
	CHECK(poll(&pfd, 1, 2000) == 1);
	CHECK_EQ_U(nfq_queue_receive(q, got_cb, &g), 2);
	CHECK_EQ_U(wait_packets(q, &g, 3, 2000), 3);
	CHECK(payload_is(&g, 0, "batch-1") && payload_is(&g, 1, "batch-2") &&
	      payload_is(&g, 2, "batch-3"));
	CHECK(g.id[0] < g.id[1] && g.id[1] < g.id[2]);
	CHECK(nfq_verdict_batch_accept(q, g.id[2]) == 0);
	unsigned arrived = 0;
	while (udp_wait(rx, buf, sizeof(buf), 1000) == 7)
		arrived++;
	CHECK_EQ_U(arrived, 3);

	/* a verdict for an id the kernel does not hold comes back as an error */
	CHECK(nfq_verdict(q, g.id[2] + 1000, NFQ_ACCEPT, 0, 0, 0) == 0);
	CHECK(poll(&pfd, 1, 1000) == 1);
	CHECK_EQ_U(nfq_queue_receive(q, got_cb, &g), 0);
	const struct nfq_stats *st = nfq_queue_stats(q);
	CHECK_EQ_U(st->verdict_errors, 1);
	CHECK_EQ_U(st->received, 3);
	CHECK_EQ_U(st->batch_verdicts, 1);
	CHECK_EQ_U(st->parse_errors, 0);

	if (ct_ok) {
		live_ct_mark(q, tx, rx);
	} else {
		/* without the conntrack glue the kernel ignores NFQA_CT: the
		 * verdict itself must still work */
		memset(&g, 0, sizeof(g));
		send(tx, "no-glue", 7, 0);
		CHECK_EQ_U(wait_packets(q, &g, 1, 2000), 1);
		CHECK(!g.has_ct_mark[0]);
		CHECK(nfq_verdict(q, g.id[0], NFQ_ACCEPT, 1, 1, 0) == 0);
		CHECK(udp_wait(rx, buf, sizeof(buf), 2000) == 7);
		CHECK(nfq_queue_receive(q, got_cb, &g) == 0);
		CHECK_EQ_U(nfq_queue_stats(q)->verdict_errors, 1);
	}
	st = nfq_queue_stats(q);
	CHECK_EQ_U(st->recv_errors, 0);
	nfq_queue_close(q);
	live_fail_open(true, tx, rx);
	live_fail_open(false, tx, rx);
	close(rx);
	close(tx);
	live_gso();
	live_unprivileged();
out:;
	unsigned counts[2] = {tl_passed, tl_failed};
	if (write(report_fd, counts, sizeof(counts)) != (ssize_t)sizeof(counts))
		_exit(2);
	_exit(0);
}

static void test_live(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "live part skipped (not root)\n");
		return;
	}
	int pfd[2];
	if (pipe(pfd) != 0) {
		CHECK(!"pipe");
		return;
	}
	unsigned before[2] = {tl_passed, tl_failed};
	pid_t pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		live_child(pfd[1]);
	}
	close(pfd[1]);
	unsigned counts[2];
	bool got_counts = read(pfd[0], counts, sizeof(counts)) == (ssize_t)sizeof(counts);
	close(pfd[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	CHECK(got_counts && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (got_counts) {
		tl_passed += counts[0] - before[0];
		tl_failed += counts[1] - before[1];
	}
}

int main(void)
{
	RUN(test_config_default);
	RUN(test_parse_full);
	RUN(test_parse_minimal);
	RUN(test_parse_missing);
	RUN(test_parse_bad_lengths);
	RUN(test_parse_ct_nest);
	RUN(test_parse_truncated);
	RUN(test_multi_message);
	RUN(test_verdict_build);
	RUN(test_live);
	return tl_finish();
}
