/* TCP reset injection on the bridge.
 *
 * Why AF_PACKET on the bridge ports: postern is a transparent bridge, with no
 * IP address of its own on the segments it joins.  A raw IP socket would hand
 * the RST to the host's own stack, which routes it by destination, and the
 * host has no route into the bridged segments (and must not get one).  An
 * AF_PACKET socket sends a complete Ethernet frame out of one named
 * interface, so each RST leaves by the exact bridge port facing the end it is
 * meant for, addressed with the MACs learned from the connection's own
 * traffic; nothing on the bridge needs an address or a route. */
#include "nfq/inject.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libnetfilter_queue/libnetfilter_queue_ipv4.h>
#include <libnetfilter_queue/libnetfilter_queue_tcp.h>

#define ETH_HDR_LEN 14
#define TCP_HDR_LEN 20

struct injector {
	int fd;
	struct injector_stats stats;
};

/* The IP header and TCP header are built here, aligned for the header
 * structs the checksum helpers take, then copied behind the Ethernet header
 * (which leaves them only 2-byte aligned in the caller's frame). */
union l3_scratch {
	struct {
		struct iphdr ip;
		struct tcphdr tcp;
	} v4;
	struct {
		struct ip6_hdr ip;
		struct tcphdr tcp;
	} v6;
};
_Static_assert(sizeof(struct iphdr) + TCP_HDR_LEN == sizeof(((union l3_scratch *)0)->v4),
	       "IPv4 and TCP headers are contiguous");
_Static_assert(sizeof(struct ip6_hdr) + TCP_HDR_LEN == sizeof(((union l3_scratch *)0)->v6),
	       "IPv6 and TCP headers are contiguous");

static void tcp_fill(struct tcphdr *t, const struct inject_end *src,
		     const struct inject_end *dst, uint32_t seq, uint32_t ack)
{
	memset(t, 0, sizeof(*t));
	t->source = htons(src->port);
	t->dest = htons(dst->port);
	t->seq = htonl(seq);
	t->ack_seq = htonl(ack);
	t->doff = TCP_HDR_LEN / 4;
	t->rst = 1;
	t->ack = 1;
	/* window, checksum (filled later) and urgent pointer stay 0 */
}

size_t inject_build_rst(uint8_t *frame, size_t cap, const struct inject_end *src,
			const struct inject_end *dst, uint32_t seq, uint32_t ack)
{
	if (!frame || !src || !dst || src->family != dst->family)
		return 0;
	if (src->family != AF_INET && src->family != AF_INET6)
		return 0;
	bool v4 = src->family == AF_INET;
	size_t l3_len = (v4 ? sizeof(struct iphdr) : sizeof(struct ip6_hdr)) + TCP_HDR_LEN;
	if (cap < ETH_HDR_LEN + l3_len)
		return 0;

	memcpy(frame, dst->mac, 6);
	memcpy(frame + 6, src->mac, 6);
	uint16_t type = htons(v4 ? ETHERTYPE_IP : ETHERTYPE_IPV6);
	memcpy(frame + 12, &type, 2);

	union l3_scratch s;
	memset(&s, 0, sizeof(s));
	if (v4) {
		struct iphdr *ip = &s.v4.ip;
		ip->version = 4;
		ip->ihl = sizeof(*ip) / 4;
		ip->tot_len = htons((uint16_t)l3_len);
		ip->frag_off = htons(IP_DF);
		ip->ttl = 64;
		ip->protocol = IPPROTO_TCP;
		memcpy(&ip->saddr, src->addr, 4);
		memcpy(&ip->daddr, dst->addr, 4);
		nfq_ip_set_checksum(ip);
		tcp_fill(&s.v4.tcp, src, dst, seq, ack);
		nfq_tcp_compute_checksum_ipv4(&s.v4.tcp, ip);
	} else {
		struct ip6_hdr *ip = &s.v6.ip;
		ip->ip6_flow = htonl(6u << 28); /* version 6, class and flow label 0 */
		ip->ip6_plen = htons(TCP_HDR_LEN);
		ip->ip6_nxt = IPPROTO_TCP;
		ip->ip6_hlim = 64;
		memcpy(&ip->ip6_src, src->addr, 16);
		memcpy(&ip->ip6_dst, dst->addr, 16);
		tcp_fill(&s.v6.tcp, src, dst, seq, ack);
		nfq_tcp_compute_checksum_ipv6(&s.v6.tcp, ip);
	}
	memcpy(frame + ETH_HDR_LEN, &s, l3_len);
	return ETH_HDR_LEN + l3_len;
}

struct injector *injector_new(char *err, size_t errlen)
{
	struct injector *inj = calloc(1, sizeof(*inj));
	if (!inj) {
		if (err && errlen)
			snprintf(err, errlen, "injector: out of memory");
		return NULL;
	}
	/* Protocol 0: the socket only sends, nothing is queued to it. */
	inj->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (inj->fd < 0) {
		int e = errno;
		if (err && errlen) {
			if (e == EPERM || e == EACCES)
				snprintf(err, errlen,
					 "AF_PACKET socket for TCP resets: needs CAP_NET_RAW (%s)",
					 strerror(e));
			else
				snprintf(err, errlen, "AF_PACKET socket for TCP resets: %s",
					 strerror(e));
		}
		free(inj);
		errno = e;
		return NULL;
	}
	return inj;
}

static bool mac_known(const uint8_t mac[6])
{
	static const uint8_t zero[6];
	return memcmp(mac, zero, sizeof(zero)) != 0;
}

/* One RST from src to dst, out of the port facing dst. */
static int send_rst(struct injector *inj, const struct inject_end *src,
		    const struct inject_end *dst, uint32_t seq, uint32_t ack)
{
	if (!mac_known(dst->mac)) {
		inj->stats.unknown_mac++;
		return -1;
	}
	uint8_t frame[ETH_HDR_LEN + sizeof(union l3_scratch)];
	size_t len = inject_build_rst(frame, sizeof(frame), src, dst, seq, ack);
	if (len == 0) {
		inj->stats.send_errors++;
		return -1;
	}
	struct sockaddr_ll to;
	memset(&to, 0, sizeof(to));
	to.sll_family = AF_PACKET;
	to.sll_ifindex = (int)dst->ifindex;
	to.sll_halen = 6;
	memcpy(to.sll_addr, dst->mac, 6);
	/* Never block the datapath on a full socket buffer: a reset that cannot
	 * go out now is counted as a send error. */
	ssize_t n = sendto(inj->fd, frame, len, MSG_DONTWAIT, (const struct sockaddr *)&to,
			   sizeof(to));
	if (n < 0 || (size_t)n != len) {
		inj->stats.send_errors++;
		return -1;
	}
	inj->stats.sent++;
	return 0;
}

int injector_reset(struct injector *inj, const struct inject_end *client,
		   const struct inject_end *server, uint32_t seq_to_server, uint32_t seq_to_client)
{
	if (!inj || !client || !server)
		return -1;
	/* Each RST carries the ack its sender would send: the client had
	 * acknowledged up to seq_to_client, the server received up to
	 * seq_to_server (it never saw the held bytes). */
	int to_server = send_rst(inj, client, server, seq_to_server, seq_to_client);
	int to_client = send_rst(inj, server, client, seq_to_client, seq_to_server);
	return to_server == 0 && to_client == 0 ? 0 : -1;
}

const struct injector_stats *injector_stats(const struct injector *inj)
{
	return &inj->stats;
}

void injector_free(struct injector *inj)
{
	if (!inj)
		return;
	close(inj->fd);
	free(inj);
}
