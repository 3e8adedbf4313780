/* Link, IP and TCP decoding, with IPv4/IPv6 fragment reassembly.
 *
 * decoder_decode() turns one captured frame into a struct packet when it
 * carries TCP.  Everything else is classified and counted; nothing here aborts
 * on bad input.  One decoder per worker: not thread-safe. */
#ifndef POSTERN_REASSEMBLY_DECODE_H
#define POSTERN_REASSEMBLY_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "reassembly/packet.h"

/* Link types: the values are libpcap's DLT_* numbers as pcap_datalink()
 * reports them; NFQUEUE delivers raw IP, i.e. DECODE_LINK_RAW. */
enum decode_link {
	DECODE_LINK_NULL = 0,       /* DLT_NULL: BSD loopback, host-order family */
	DECODE_LINK_ETHERNET = 1,   /* DLT_EN10MB */
	DECODE_LINK_RAW = 12,       /* DLT_RAW: IPv4 or IPv6 by version nibble */
	DECODE_LINK_RAW_14 = 14,    /* DLT_RAW as some BSDs number it */
	DECODE_LINK_RAW_101 = 101,  /* LINKTYPE_RAW as stored in pcap files */
	DECODE_LINK_LOOP = 108,     /* DLT_LOOP: network-order family */
	DECODE_LINK_LINUX_SLL = 113,
	DECODE_LINK_IPV4 = 228,
	DECODE_LINK_IPV6 = 229,
	DECODE_LINK_LINUX_SLL2 = 276,
};

struct decoder_config {
	uint32_t frag_max_datagrams; /* datagrams under reassembly at once */
	uint32_t frag_max_bytes;     /* bytes held in all pending fragments */
	uint32_t frag_max_datagram_size; /* largest rebuilt datagram (<= 65535 + hdr) */
	uint32_t frag_max_fragments; /* fragments per datagram */
	uint64_t frag_timeout_us;    /* on packet time */
	bool verify_checksums;       /* count bad IPv4/TCP checksums (never fatal) */
};

void decoder_config_default(struct decoder_config *cfg);

enum decode_status {
	DECODE_TCP = 0,      /* *out holds a TCP packet */
	DECODE_NOT_TCP,      /* valid frame, not TCP (UDP, ARP, ICMP...) */
	DECODE_FRAGMENT_HELD,/* an IP fragment was taken by reassembly (stored, or
			      * dropped at a cap: frag_dropped_cap); nothing to deliver yet */
	DECODE_INVALID,      /* malformed or truncated: counted as an anomaly */
	DECODE_UNSUPPORTED,  /* link type or protocol we do not parse */
};

/* Counters; every drop or skip has one. */
struct decoder_stats {
	uint64_t frames;
	uint64_t tcp;
	uint64_t not_tcp;
	uint64_t unsupported;
	uint64_t truncated;           /* frame shorter than its headers claim */
	uint64_t malformed;           /* bad version, header length, lengths... */
	uint64_t ipv4_csum_bad;
	uint64_t tcp_csum_bad;
	uint64_t tcp_options_bad;
	uint64_t vlan_tagged;
	uint64_t ipv6_ext_headers;
	uint64_t frag_fragments;      /* fragments seen */
	uint64_t frag_reassembled;    /* datagrams rebuilt */
	uint64_t frag_timeout;        /* datagrams dropped on timeout */
	uint64_t frag_dropped_cap;    /* fragments dropped at a memory/count cap */
	uint64_t frag_overlap;        /* overlapping fragments (first data wins) */
	uint64_t frag_invalid;        /* bad offsets, oversize datagram, ... */
	uint64_t vlan_extra;          /* VLAN tags beyond the two recorded (skipped) */
	uint64_t tcp_payload_truncated; /* TCP delivered with PKT_TRUNCATED_PAYLOAD */
};

struct decoder;

/* Returns NULL with errno set on allocation failure. */
struct decoder *decoder_new(const struct decoder_config *cfg);
void decoder_free(struct decoder *d);

/* Decode one frame.  caplen bytes are present, wire_len were on the wire
 * (a wire_len below caplen is taken as caplen).
 * On DECODE_TCP, out's pointers refer either to frame or to a buffer owned by
 * the decoder (a rebuilt datagram, PKT_DEFRAGMENTED set, then wire_len is the
 * rebuilt IP datagram's length), valid until the next decoder_decode().
 * Only TCP-bearing fragments are reassembled: IPv4 fragments of other
 * protocols, and IPv6 fragments whose next header is neither TCP nor an
 * extension header, are DECODE_NOT_TCP at once.  On any other status than
 * DECODE_TCP, *out holds only what was decoded before the decision (link and
 * IP fields) and is not a TCP packet.  Every DECODE_INVALID increments
 * exactly one of truncated, malformed, frag_invalid. */
enum decode_status decoder_decode(struct decoder *d, int link, const uint8_t *frame,
				  size_t caplen, size_t wire_len, uint64_t ts_us,
				  struct packet *out);

/* Drop fragment state older than the timeout relative to now_us. */
void decoder_expire(struct decoder *d, uint64_t now_us);

const struct decoder_stats *decoder_stats(const struct decoder *d);

/* Bytes currently held by fragment reassembly. */
size_t decoder_memory(const struct decoder *d);

#endif
