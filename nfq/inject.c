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

/* The IP header, TCP header and payload are built here, aligned for the
 * header structs the checksum helpers take (they also read the payload that
 * follows the TCP header), then copied behind the Ethernet header (which
 * leaves them only 2-byte aligned in the caller's frame). */
union l3_scratch {
	uint64_t align;
	uint8_t bytes[sizeof(struct ip6_hdr) + TCP_HDR_LEN + INJECT_PAYLOAD_MAX];
};

size_t inject_build_tcp(uint8_t *frame, size_t cap, const struct inject_end *src,
			const struct inject_end *dst, uint32_t seq, uint32_t ack, uint8_t flags,
			const uint8_t *payload, size_t len)
{
	if (!frame || !src || !dst || src->family != dst->family || len > INJECT_PAYLOAD_MAX)
		return 0;
	if (src->family != AF_INET && src->family != AF_INET6)
		return 0;
	bool v4 = src->family == AF_INET;
	size_t ip_len = v4 ? sizeof(struct iphdr) : sizeof(struct ip6_hdr);
	size_t l3_len = ip_len + TCP_HDR_LEN + len;
	if (cap < ETH_HDR_LEN + l3_len)
		return 0;

	memcpy(frame, dst->mac, 6);
	memcpy(frame + 6, src->mac, 6);
	uint16_t type = htons(v4 ? ETHERTYPE_IP : ETHERTYPE_IPV6);
	memcpy(frame + 12, &type, 2);

	union l3_scratch s;
	memset(&s, 0, sizeof(s));
	struct tcphdr *t = (struct tcphdr *)(void *)(s.bytes + ip_len);
	t->source = htons(src->port);
	t->dest = htons(dst->port);
	t->seq = htonl(seq);
	t->ack_seq = htonl(ack);
	t->doff = TCP_HDR_LEN / 4;
	t->fin = !!(flags & INJECT_FIN);
	t->syn = 0;
	t->rst = !!(flags & INJECT_RST);
	t->psh = !!(flags & INJECT_PSH);
	t->ack = !!(flags & INJECT_ACK);
	/* A segment with data offers a window, so the receiver can answer it;
	 * a RST needs none.  Checksum (filled below) and urgent pointer 0. */
	t->window = (flags & INJECT_RST) ? 0 : htons(65535);
	if (len)
		memcpy(s.bytes + ip_len + TCP_HDR_LEN, payload, len);
	if (v4) {
		struct iphdr *ip = (struct iphdr *)(void *)s.bytes;
		ip->version = 4;
		ip->ihl = sizeof(*ip) / 4;
		ip->tot_len = htons((uint16_t)l3_len);
		ip->frag_off = htons(IP_DF);
		ip->ttl = 64;
		ip->protocol = IPPROTO_TCP;
		memcpy(&ip->saddr, src->addr, 4);
		memcpy(&ip->daddr, dst->addr, 4);
		nfq_ip_set_checksum(ip);
		nfq_tcp_compute_checksum_ipv4(t, ip);
	} else {
		struct ip6_hdr *ip = (struct ip6_hdr *)(void *)s.bytes;
		ip->ip6_flow = htonl(6u << 28); /* version 6, class and flow label 0 */
		ip->ip6_plen = htons((uint16_t)(TCP_HDR_LEN + len));
		ip->ip6_nxt = IPPROTO_TCP;
		ip->ip6_hlim = 64;
		memcpy(&ip->ip6_src, src->addr, 16);
		memcpy(&ip->ip6_dst, dst->addr, 16);
		nfq_tcp_compute_checksum_ipv6(t, ip);
	}
	memcpy(frame + ETH_HDR_LEN, s.bytes, l3_len);
	return ETH_HDR_LEN + l3_len;
}

size_t inject_build_rst(uint8_t *frame, size_t cap, const struct inject_end *src,
			const struct inject_end *dst, uint32_t seq, uint32_t ack)
{
	return inject_build_tcp(frame, cap, src, dst, seq, ack, INJECT_RST | INJECT_ACK, NULL, 0);
}

size_t inject_http_redirect(char *out, size_t cap, const char *location)
{
	/* No body: a browser follows Location at once; Connection: close because
	 * the FIN that follows ends the connection. */
	int n = snprintf(out, cap,
			 "HTTP/1.1 302 Found\r\n"
			 "Location: %s\r\n"
			 "Cache-Control: no-store\r\n"
			 "Content-Length: 0\r\n"
			 "Connection: close\r\n"
			 "\r\n",
			 location);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
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

/* One segment from src to dst, out of the port facing dst. */
static int send_segment(struct injector *inj, const struct inject_end *src,
			const struct inject_end *dst, uint32_t seq, uint32_t ack, uint8_t flags,
			const uint8_t *payload, size_t plen)
{
	if (!mac_known(dst->mac)) {
		inj->stats.unknown_mac++;
		return -1;
	}
	uint8_t frame[ETH_HDR_LEN + sizeof(union l3_scratch)];
	size_t len = inject_build_tcp(frame, sizeof(frame), src, dst, seq, ack, flags, payload, plen);
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
	/* Never block the datapath on a full socket buffer: a segment that cannot
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

static int send_rst(struct injector *inj, const struct inject_end *src,
		    const struct inject_end *dst, uint32_t seq, uint32_t ack)
{
	return send_segment(inj, src, dst, seq, ack, INJECT_RST | INJECT_ACK, NULL, 0);
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

int injector_redirect(struct injector *inj, const struct inject_end *client,
		      const struct inject_end *server, uint32_t seq_to_server,
		      uint32_t seq_to_client, uint32_t ack_to_client, const char *location)
{
	if (!inj || !client || !server || !location)
		return -1;
	char resp[INJECT_PAYLOAD_MAX];
	size_t n = inject_http_redirect(resp, sizeof resp, location);
	if (!n) {
		inj->stats.send_errors++;
		return -1;
	}
	/* The server never saw the request: RST at the request's first byte.
	 * The client gets the answer as if from the server, acknowledging the
	 * whole request (so it does not retransmit it), then FIN. */
	int to_server = send_rst(inj, client, server, seq_to_server, seq_to_client);
	int to_client = send_segment(inj, server, client, seq_to_client, ack_to_client,
				     INJECT_ACK | INJECT_PSH | INJECT_FIN, (const uint8_t *)resp, n);
	if (to_client == 0)
		inj->stats.redirects++;
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
