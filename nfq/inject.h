/* TCP reset injection on the bridge.
 *
 * A reset decision drops the held packet (the one completing the message)
 * and sends one RST to each end, as if from the other end, with the sequence
 * numbers each end expects: to the server, seq = the held packet's seq (the
 * server never saw those bytes); to the client, seq = the held packet's ack
 * (what the server would send next).  Frames go out of the bridge port facing
 * each end (AF_PACKET on physoutdev / physindev) with the MACs learned from
 * the traffic, so no IP address or route on the bridge is needed. */
#ifndef POSTERN_NFQ_INJECT_H
#define POSTERN_NFQ_INJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One end of a connection as seen on the bridge. */
struct inject_end {
	int family;               /* AF_INET / AF_INET6 */
	uint8_t addr[16];
	uint16_t port;            /* host order */
	uint8_t mac[6];
	uint32_t ifindex;         /* bridge port facing this end */
};

/* TCP flags of an injected segment. */
#define INJECT_FIN 0x01
#define INJECT_RST 0x04
#define INJECT_PSH 0x08
#define INJECT_ACK 0x10
/* Payload bytes an injected segment may carry (the redirect answer). */
#define INJECT_PAYLOAD_MAX 1400

/* Build an Ethernet + IPv4/IPv6 + TCP segment from src to dst with the given
 * seq/ack (host order), flags and payload, correct checksums.  Returns the
 * frame length, 0 if cap is too small, the payload too long or the families
 * differ. */
size_t inject_build_tcp(uint8_t *frame, size_t cap, const struct inject_end *src,
			const struct inject_end *dst, uint32_t seq, uint32_t ack, uint8_t flags,
			const uint8_t *payload, size_t len);

/* The HTTP answer of a redirect: "302 Found" to location, no body,
 * Connection: close.  Returns its length, 0 if it does not fit in cap. */
size_t inject_http_redirect(char *out, size_t cap, const char *location);

/* Build an Ethernet + IPv4/IPv6 + TCP RST (ACK set) from src to dst with the
 * given seq/ack (host order), correct checksums.  Returns the frame length,
 * 0 if cap is too small or the families differ. */
size_t inject_build_rst(uint8_t *frame, size_t cap, const struct inject_end *src,
			const struct inject_end *dst, uint32_t seq, uint32_t ack);

struct injector_stats {
	uint64_t sent, send_errors, unknown_mac;
	uint64_t redirects;       /* redirect answers that went out */
};

struct injector;
/* Opens an AF_PACKET socket (needs CAP_NET_RAW).  NULL with a reason in err. */
struct injector *injector_new(char *err, size_t errlen);
/* Reset both ends: RST client->server with seq_to_server on server->ifindex,
 * and server->client with seq_to_client on client->ifindex.  0 when both
 * went out. */
int injector_reset(struct injector *inj, const struct inject_end *client,
		   const struct inject_end *server, uint32_t seq_to_server, uint32_t seq_to_client);
/* Redirect an HTTP request: RST to the server at seq_to_server (the
 * request's first byte: the server never saw it), and to the client, as if
 * from the server, "302 Found" to location with seq_to_client, acknowledging
 * up to ack_to_client (the end of the request), then FIN.  0 when both went out. */
int injector_redirect(struct injector *inj, const struct inject_end *client,
		      const struct inject_end *server, uint32_t seq_to_server,
		      uint32_t seq_to_client, uint32_t ack_to_client, const char *location);
const struct injector_stats *injector_stats(const struct injector *inj);
void injector_free(struct injector *inj);

#endif
