/* libFuzzer target for NFQUEUE packet-message parsing.
 *
 * The input is a receive buffer: netlink messages are walked with
 * nfq_nlmsg_fits/mnl_nlmsg_next as the receive loop does and each goes through
 * nfq_parse_packet.  The buffer is copied to an allocation of exactly the
 * input size so ASan sees any read past it.  Invariants checked: a parsed
 * packet's payload lies inside its message, the hardware address length fits
 * its field, and the verdict built for the packet parses back with its id. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>

#include "nfq/queue.h"

static void fz_fail(void)
{
	abort();
}

static void check_verdict(const struct nfq_packet *p)
{
	_Alignas(struct nlmsghdr) uint8_t buf[NFQ_VERDICT_MSG_MAX];
	size_t n = nfq_build_verdict(buf, sizeof(buf), 1, p->id, (p->mark & 1) ? NFQ_DROP : NFQ_ACCEPT,
				     p->mark, p->ct_mark, p->ct_mark);
	const struct nlmsghdr *nlh = (const void *)buf;
	int len = (int)n;
	if (n == 0 || n > sizeof(buf) || !mnl_nlmsg_ok(nlh, len))
		fz_fail();
	const struct nlattr *a = mnl_nlmsg_get_payload_offset(nlh, sizeof(struct nfgenmsg));
	struct nfqnl_msg_verdict_hdr vh;
	if (mnl_attr_get_type(a) != NFQA_VERDICT_HDR || mnl_attr_get_payload_len(a) != sizeof(vh))
		fz_fail();
	memcpy(&vh, mnl_attr_get_payload(a), sizeof(vh));
	if (ntohl(vh.id) != p->id)
		fz_fail();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (1u << 20))
		return 0;
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	int len = (int)size;
	/* the receive buffer is aligned; so is this allocation */
	for (const struct nlmsghdr *nlh = (const void *)buf; nfq_nlmsg_fits(nlh, len);
	     nlh = mnl_nlmsg_next(nlh, &len)) {
		struct nfq_packet p;
		if (nfq_parse_packet(nlh, &p) != 0)
			continue;
		const uint8_t *lo = (const uint8_t *)nlh, *hi = lo + nlh->nlmsg_len;
		if (!p.payload || p.payload < lo || p.payload > hi || p.len > (size_t)(hi - p.payload))
			fz_fail();
		if (p.hwaddr_len > sizeof(p.hwaddr) || p.ts_us == 0)
			fz_fail();
		if (p.len)
			(void)p.payload[p.len - 1];
		check_verdict(&p);
	}
	free(buf);
	return 0;
}
