/* A decoded TCP packet: a view over the capture (or NFQUEUE) buffer, no copy.
 * Filled by decoder_decode(); pointers stay valid until the next decoder call
 * or until the caller releases the frame, whichever comes first. */
#ifndef POSTERN_REASSEMBLY_PACKET_H
#define POSTERN_REASSEMBLY_PACKET_H

#include <stdbool.h>
#include <stdint.h>

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

/* IPv4 addresses live in addr[0..3], the rest is zero; family tells which. */
struct ip_addr {
	uint8_t family; /* 4 or 6 */
	uint8_t addr[16];
};

struct tcp_options {
	bool has_mss, has_wscale, sack_permitted, has_timestamp;
	uint8_t wscale;
	uint16_t mss;
	uint32_t tsval, tsecr;
};

/* Per-packet findings that do not stop decoding; counted by the decoder and
 * visible to the flow layer. */
enum packet_flag {
	PKT_IPV4_CSUM_BAD = 1u << 0, /* often NIC offload on the capturing host */
	PKT_TCP_CSUM_BAD = 1u << 1,
	PKT_DEFRAGMENTED = 1u << 2,  /* rebuilt from IP fragments */
	PKT_TRUNCATED_PAYLOAD = 1u << 3, /* snaplen cut the payload: payload_len < tcp length */
	PKT_TCP_OPTIONS_BAD = 1u << 4,
};

struct packet {
	uint64_t ts_us;       /* packet time, microseconds since the epoch */
	uint32_t wire_len;    /* length on the wire (pcap len / NFQUEUE payload length) */
	uint32_t flags;       /* enum packet_flag */
	uint16_t vlan[2];     /* outer first; vlan_count of them are valid */
	uint8_t vlan_count;
	uint8_t ttl;          /* IPv4 TTL or IPv6 hop limit */
	struct ip_addr src, dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint16_t window;
	uint8_t tcp_flags;    /* TCP_* bits */
	struct tcp_options opt;
	const uint8_t *l3;    /* start of the IP header (for injection/verdict code) */
	uint32_t l3_len;
	const uint8_t *payload;
	uint32_t payload_len; /* bytes present; see PKT_TRUNCATED_PAYLOAD */
};

#endif
