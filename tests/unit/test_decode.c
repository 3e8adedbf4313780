/* Decoder tests: frames are built here, byte by byte, for every link type. */
#include <stdlib.h>
#include <string.h>

#include "reassembly/decode.h"
#include "testlib.h"
#include "wire_util.h"

static const uint8_t SRC4[4] = {192, 0, 2, 1}, DST4[4] = {198, 51, 100, 7};
static const uint8_t SRC6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t DST6[16] = {0x20, 0x01, 0x0d, 0xb8, [14] = 0xab, [15] = 2};

struct tcp_spec {
	const uint8_t *opts;
	size_t optlen; /* multiple of 4 */
	const char *payload;
	size_t plen;
	uint8_t flags;
};

/* Writes a TCP header + payload at t; the checksum is left to the caller. */
static size_t tcp_put(uint8_t *t, const struct tcp_spec *s)
{
	w16(t, 2525);
	w16(t + 2, 25);
	w32(t + 4, 0x11223344);
	w32(t + 8, 0x55667788);
	t[12] = (uint8_t)((20 + s->optlen) / 4 << 4);
	t[13] = s->flags ? s->flags : (TCP_ACK | TCP_PSH);
	w16(t + 14, 8192);
	w16(t + 16, 0);
	w16(t + 18, 0);
	if (s->optlen)
		memcpy(t + 20, s->opts, s->optlen);
	memcpy(t + 20 + s->optlen, s->payload, s->plen);
	return 20 + s->optlen + s->plen;
}

/* IPv4 + TCP with valid checksums; ipopts length a multiple of 4. */
static size_t ipv4_tcp(uint8_t *p, const uint8_t *ipopts, size_t ipoptlen, const struct tcp_spec *s)
{
	size_t ihl = 20 + ipoptlen;
	size_t seg = tcp_put(p + ihl, s);
	p[0] = (uint8_t)(0x40 | ihl / 4);
	p[1] = 0;
	w16(p + 2, (unsigned)(ihl + seg));
	w16(p + 4, 0x1234);
	w16(p + 6, 0x4000);
	p[8] = 64;
	p[9] = 6;
	w16(p + 10, 0);
	memcpy(p + 12, SRC4, 4);
	memcpy(p + 16, DST4, 4);
	if (ipoptlen)
		memcpy(p + 20, ipopts, ipoptlen);
	w16(p + 10, ref_fold(ref_sum(0, p, ihl)));
	uint8_t ph[12];
	memcpy(ph, p + 12, 8);
	ph[8] = 0;
	ph[9] = 6;
	w16(ph + 10, (unsigned)seg);
	w16(p + ihl + 16, ref_fold(ref_sum(ref_sum(0, ph, 12), p + ihl, seg)));
	return ihl + seg;
}

/* IPv6 + extension headers (first_nh names the first; the chain must end in
 * next header 6) + TCP with a valid checksum. */
static size_t ipv6_tcp(uint8_t *p, uint8_t first_nh, const uint8_t *ext, size_t extlen,
		       const struct tcp_spec *s)
{
	size_t seg = tcp_put(p + 40 + extlen, s);
	p[0] = 0x60;
	p[1] = p[2] = p[3] = 0;
	w16(p + 4, (unsigned)(extlen + seg));
	p[6] = first_nh;
	p[7] = 55;
	memcpy(p + 8, SRC6, 16);
	memcpy(p + 24, DST6, 16);
	if (extlen)
		memcpy(p + 40, ext, extlen);
	uint8_t ph[40] = {0};
	memcpy(ph, p + 8, 32);
	w16(ph + 34, (unsigned)seg);
	ph[39] = 6;
	uint8_t *t = p + 40 + extlen;
	w16(t + 16, ref_fold(ref_sum(ref_sum(0, ph, 40), t, seg)));
	return 40 + extlen + seg;
}

static size_t eth_hdr(uint8_t *p, const uint16_t *tpids, const uint16_t *vids, size_t ntags,
		      uint16_t type)
{
	static const uint8_t mac[12] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};
	memcpy(p, mac, 12);
	size_t off = 12;
	for (size_t i = 0; i < ntags; i++) {
		w16(p + off, tpids[i]);
		w16(p + off + 2, 0x2000u | vids[i]); /* PCP 1 must be masked off */
		off += 4;
	}
	w16(p + off, type);
	return off + 2;
}

static const char HELLO[] = "EHLO mail.example.org\r\n";
static const struct tcp_spec PLAIN = {.payload = HELLO, .plen = sizeof(HELLO) - 1};

static struct decoder *new_dec(void)
{
	struct decoder_config cfg;
	decoder_config_default(&cfg);
	struct decoder *d = decoder_new(&cfg);
	CHECK(d != NULL);
	if (!d)
		abort();
	return d;
}

static bool payload_is_hello(const struct packet *pk)
{
	return pk->payload_len == sizeof(HELLO) - 1 &&
	       memcmp(pk->payload, HELLO, sizeof(HELLO) - 1) == 0;
}

static void test_config_default(void)
{
	struct decoder_config cfg;
	decoder_config_default(&cfg);
	CHECK_EQ_U(cfg.frag_max_datagrams, 1024);
	CHECK_EQ_U(cfg.frag_max_bytes, 4u << 20);
	CHECK(cfg.frag_max_datagram_size >= 65535);
	CHECK_EQ_U(cfg.frag_max_fragments, 64);
	CHECK_EQ_U(cfg.frag_timeout_us, 30000000);
	CHECK(cfg.verify_checksums);
	struct decoder *d = decoder_new(NULL);
	CHECK(d != NULL);
	CHECK_EQ_U(decoder_memory(d), 0);
	decoder_free(d);
	decoder_free(NULL);
}

static void test_ethernet_ipv4(void)
{
	struct decoder *d = new_dec();
	uint8_t f[256];
	size_t n = eth_hdr(f, NULL, NULL, 0, 0x0800);
	size_t ipl = ipv4_tcp(f + n, NULL, 0, &PLAIN);
	struct packet pk;
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_ETHERNET, f, n + ipl, n + ipl, 777, &pk), DECODE_TCP);
	CHECK_EQ_U(pk.ts_us, 777);
	CHECK_EQ_U(pk.wire_len, n + ipl);
	CHECK_EQ_U(pk.flags, 0);
	CHECK_EQ_U(pk.vlan_count, 0);
	CHECK_EQ_U(pk.ttl, 64);
	CHECK_EQ_U(pk.src.family, 4);
	CHECK(memcmp(pk.src.addr, SRC4, 4) == 0 && memcmp(pk.dst.addr, DST4, 4) == 0);
	CHECK_EQ_U(pk.src.addr[4] | pk.src.addr[15], 0);
	CHECK_EQ_U(pk.sport, 2525);
	CHECK_EQ_U(pk.dport, 25);
	CHECK_EQ_U(pk.seq, 0x11223344);
	CHECK_EQ_U(pk.ack, 0x55667788);
	CHECK_EQ_U(pk.window, 8192);
	CHECK_EQ_U(pk.tcp_flags, TCP_ACK | TCP_PSH);
	CHECK(pk.l3 == f + n);
	CHECK_EQ_U(pk.l3_len, ipl);
	CHECK(pk.payload == f + n + 40);
	CHECK(payload_is_hello(&pk));
	CHECK(!pk.opt.has_mss && !pk.opt.has_timestamp);

	/* Ethernet minimum-size padding after a short packet must be ignored. */
	struct tcp_spec small = {.payload = "x", .plen = 1};
	uint8_t g[64];
	memset(g, 0xee, sizeof(g));
	n = eth_hdr(g, NULL, NULL, 0, 0x0800);
	ipl = ipv4_tcp(g + n, NULL, 0, &small);
	CHECK(n + ipl < 60);
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_ETHERNET, g, 60, 60, 1, &pk), DECODE_TCP);
	CHECK_EQ_U(pk.payload_len, 1);
	CHECK_EQ_U(pk.l3_len, ipl);
	CHECK_EQ_U(pk.flags, 0); /* checksum over the padding would be wrong */

	const struct decoder_stats *st = decoder_stats(d);
	CHECK_EQ_U(st->frames, 2);
	CHECK_EQ_U(st->tcp, 2);
	CHECK_EQ_U(st->ipv4_csum_bad + st->tcp_csum_bad, 0);
	decoder_free(d);
}

static void test_vlan(void)
{
	struct decoder *d = new_dec();
	uint8_t f[256];
	struct packet pk;
	static const uint16_t tp1[] = {0x8100};
	static const uint16_t v1[] = {100};
	size_t n = eth_hdr(f, tp1, v1, 1, 0x0800);
	size_t len = n + ipv4_tcp(f + n, NULL, 0, &PLAIN);
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_ETHERNET, f, len, len, 0, &pk), DECODE_TCP);
	CHECK_EQ_U(pk.vlan_count, 1);
	CHECK_EQ_U(pk.vlan[0], 100);
	CHECK(payload_is_hello(&pk));

	static const uint16_t tp2[] = {0x88a8, 0x8100};
	static const uint16_t v2[] = {201, 200};
	n = eth_hdr(f, tp2, v2, 2, 0x86dd);
	len = n + ipv6_tcp(f + n, 6, NULL, 0, &PLAIN);
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_ETHERNET, f, len, len, 0, &pk), DECODE_TCP);
	CHECK_EQ_U(pk.vlan_count, 2);
	CHECK_EQ_U(pk.vlan[0], 201);
	CHECK_EQ_U(pk.vlan[1], 200);
	CHECK(payload_is_hello(&pk));

	static const uint16_t tp3[] = {0x9100, 0x9100, 0x8100};
	static const uint16_t v3[] = {1, 2, 4095};
	n = eth_hdr(f, tp3, v3, 3, 0x0800);
	len = n + ipv4_tcp(f + n, NULL, 0, &PLAIN);
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_ETHERNET, f, len, len, 0, &pk), DECODE_TCP);
	CHECK_EQ_U(pk.vlan_count, 2);
	CHECK_EQ_U(pk.vlan[0], 1);
	CHECK_EQ_U(pk.vlan[1], 2);
	CHECK(payload_is_hello(&pk));

	const struct decoder_stats *st = decoder_stats(d);
	CHECK_EQ_U(st->vlan_tagged, 3);
	CHECK_EQ_U(st->vlan_extra, 1);
	CHECK_EQ_U(st->tcp, 3);

	/* A tag cut in half is truncation, not a crash. */
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_ETHERNET, f, 16, 16, 0, &pk), DECODE_INVALID);
	CHECK_EQ_U(st->truncated, 1);
	decoder_free(d);
}

static void test_link_types(void)
{
	struct decoder *d = new_dec();
	const struct decoder_stats *st = decoder_stats(d);
	uint8_t ip4[128], ip6[160], f[256];
	size_t n4 = ipv4_tcp(ip4, NULL, 0, &PLAIN);
	size_t n6 = ipv6_tcp(ip6, 6, NULL, 0, &PLAIN);
	struct packet pk;

	static const int raws[] = {DECODE_LINK_RAW, DECODE_LINK_RAW_14, DECODE_LINK_RAW_101};
	for (size_t i = 0; i < 3; i++) {
		CHECK_EQ_U(decoder_decode(d, raws[i], ip4, n4, n4, 0, &pk), DECODE_TCP);
		CHECK_EQ_U(pk.src.family, 4);
		CHECK(payload_is_hello(&pk));
		CHECK_EQ_U(decoder_decode(d, raws[i], ip6, n6, n6, 0, &pk), DECODE_TCP);
		CHECK_EQ_U(pk.src.family, 6);
		CHECK(memcmp(pk.dst.addr, DST6, 16) == 0);
		CHECK_EQ_U(pk.ttl, 55);
		CHECK(payload_is_hello(&pk));
	}
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_IPV4, ip4, n4, n4, 0, &pk), DECODE_TCP);
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_IPV6, ip6, n6, n6, 0, &pk), DECODE_TCP);
	uint64_t mal = st->malformed;
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_IPV4, ip6, n6, n6, 0, &pk), DECODE_INVALID);
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_IPV6, ip4, n4, n4, 0, &pk), DECODE_INVALID);
	uint8_t bad = ip4[0];
	ip4[0] = 0x55;
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_RAW, ip4, n4, n4, 0, &pk), DECODE_INVALID);
	ip4[0] = bad;
	CHECK_EQ_U(st->malformed, mal + 3);

	/* DLT_NULL: host order of the capturing machine, either way round. */
	static const uint8_t null_le4[4] = {2, 0, 0, 0}, null_be4[4] = {0, 0, 0, 2};
	static const uint8_t af6[3] = {24, 28, 30};
	memcpy(f, null_le4, 4);
	memcpy(f + 4, ip4, n4);
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_NULL, f, n4 + 4, n4 + 4, 0, &pk), DECODE_TCP);
	CHECK(payload_is_hello(&pk));
	memcpy(f, null_be4, 4);
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_NULL, f, n4 + 4, n4 + 4, 0, &pk), DECODE_TCP);
	memcpy(f + 4, ip6, n6);
	for (size_t i = 0; i < 3; i++) {
		uint8_t le[4] = {af6[i], 0, 0, 0}, be[4] = {0, 0, 0, af6[i]};
		memcpy(f, le, 4);
		CHECK_EQ_U(decoder_decode(d, DECODE_LINK_NULL, f, n6 + 4, n6 + 4, 0, &pk), DECODE_TCP);
		CHECK_EQ_U(pk.src.family, 6);
		memcpy(f, be, 4);
		CHECK_EQ_U(decoder_decode(d, DECODE_LINK_NULL, f, n6 + 4, n6 + 4, 0, &pk), DECODE_TCP);
		/* DLT_LOOP is always network order. */
		CHECK_EQ_U(decoder_decode(d, DECODE_LINK_LOOP, f, n6 + 4, n6 + 4, 0, &pk), DECODE_TCP);
		CHECK(payload_is_hello(&pk));
	}
	static const uint8_t af_other[4] = {0, 0, 0, 7};
	memcpy(f, af_other, 4);
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_LOOP, f, n6 + 4, n6 + 4, 0, &pk), DECODE_NOT_TCP);

	/* Linux cooked v1: protocol at 14; v2: protocol at 0. */
	memset(f, 0, 16);
	w16(f + 2, 1);
	w16(f + 4, 6);
	w16(f + 14, 0x0800);
	memcpy(f + 16, ip4, n4);
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_LINUX_SLL, f, n4 + 16, n4 + 16, 0, &pk), DECODE_TCP);
	CHECK(payload_is_hello(&pk));
	CHECK(pk.l3 == f + 16);
	memset(f, 0, 20);
	w16(f, 0x86dd);
	w16(f + 8, 1);
	memcpy(f + 20, ip6, n6);
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_LINUX_SLL2, f, n6 + 20, n6 + 20, 0, &pk), DECODE_TCP);
	CHECK(payload_is_hello(&pk));
	CHECK(pk.l3 == f + 20);
	/* SLL with an unstripped VLAN tag. */
	memset(f, 0, 16);
	w16(f + 14, 0x8100);
	w16(f + 16, 42);
	w16(f + 18, 0x0800);
	memcpy(f + 20, ip4, n4);
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_LINUX_SLL, f, n4 + 20, n4 + 20, 0, &pk), DECODE_TCP);
	CHECK_EQ_U(pk.vlan_count, 1);
	CHECK_EQ_U(pk.vlan[0], 42);

	uint64_t unsup = st->unsupported, nt = st->not_tcp;
	CHECK_EQ_U(decoder_decode(d, 9999, ip4, n4, n4, 0, &pk), DECODE_UNSUPPORTED);
	size_t n = eth_hdr(f, NULL, NULL, 0, 0x0806); /* ARP */
	memset(f + n, 0, 28);
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_ETHERNET, f, n + 28, n + 28, 0, &pk), DECODE_NOT_TCP);
	n = eth_hdr(f, NULL, NULL, 0, 0x8847); /* MPLS */
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_ETHERNET, f, n + 28, n + 28, 0, &pk), DECODE_UNSUPPORTED);
	/* UDP over IPv4 and IPv6. */
	uint8_t u[64];
	memcpy(u, ip4, 28);
	u[9] = 17;
	w16(u + 2, 28);
	w16(u + 10, 0);
	w16(u + 10, ref_fold(ref_sum(0, u, 20)));
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_RAW, u, 28, 28, 0, &pk), DECODE_NOT_TCP);
	memcpy(u, ip6, 48);
	u[6] = 17;
	w16(u + 4, 8);
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_RAW, u, 48, 48, 0, &pk), DECODE_NOT_TCP);
	CHECK_EQ_U(st->unsupported, unsup + 2);
	CHECK_EQ_U(st->not_tcp, nt + 3);
	CHECK_EQ_U(st->ipv4_csum_bad + st->tcp_csum_bad, 0);
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_RAW, NULL, 0, 0, 0, &pk), DECODE_INVALID);
	decoder_free(d);
}

static void test_ipv4_header(void)
{
	struct decoder *d = new_dec();
	const struct decoder_stats *st = decoder_stats(d);
	uint8_t p[256];
	struct packet pk;
	/* Options: NOP, NOP, then a 6-byte record route stub padded with EOL. */
	static const uint8_t opts[8] = {1, 1, 7, 3, 4, 0, 0, 0};
	size_t n = ipv4_tcp(p, opts, sizeof(opts), &PLAIN);
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_RAW, p, n, n, 0, &pk), DECODE_TCP);
	CHECK(pk.payload == p + 28 + 20);
	CHECK(payload_is_hello(&pk));
	CHECK_EQ_U(pk.flags, 0);

	uint64_t mal = st->malformed;
	uint8_t q[256];
	memcpy(q, p, n);
	q[0] = 0x44; /* IHL 16 bytes */
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_RAW, q, n, n, 0, &pk), DECODE_INVALID);
	memcpy(q, p, n);
	w16(q + 2, 24); /* total length below the header length */
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_RAW, q, n, n, 0, &pk), DECODE_INVALID);
	memcpy(q, p, n);
	w16(q + 2, (unsigned)n + 1); /* claims more than was on the wire */
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_RAW, q, n, n, 0, &pk), DECODE_INVALID);
	memcpy(q, p, n);
	q[28 + 12] = 0x40; /* TCP data offset 16 bytes */
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_RAW, q, n, n, 0, &pk), DECODE_INVALID);
	memcpy(q, p, n);
	q[28 + 12] = 0xf0; /* TCP header longer than the segment */
	w16(q + 2, 28 + 40);
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_RAW, q, n, n, 0, &pk), DECODE_INVALID);
	CHECK_EQ_U(st->malformed, mal + 5);
	CHECK_EQ_U(st->truncated, 0);
	decoder_free(d);
}

static void test_ipv6_ext(void)
{
	struct decoder *d = new_dec();
	const struct decoder_stats *st = decoder_stats(d);
	uint8_t p[512];
	struct packet pk;
	/* hop-by-hop (8) -> routing (24) -> destination options (16) -> AH (16) -> TCP */
	uint8_t ext[64];
	memset(ext, 0, sizeof(ext));
	ext[0] = 43;
	ext[1] = 0;
	ext[2] = 1; /* PadN */
	ext[3] = 4;
	ext[8] = 60;
	ext[9] = 2;
	ext[32] = 51;
	ext[33] = 1;
	ext[48] = 6;
	ext[49] = 2; /* AH: (2 + 2) * 4 = 16 bytes */
	size_t n = ipv6_tcp(p, 0, ext, 64, &PLAIN);
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_RAW, p, n, n, 0, &pk), DECODE_TCP);
	CHECK(pk.payload == p + 40 + 64 + 20);
	CHECK(payload_is_hello(&pk));
	CHECK_EQ_U(pk.flags, 0);
	CHECK_EQ_U(st->ipv6_ext_headers, 4);

	/* Atomic fragment: offset 0, M clear -> an ordinary packet. */
	uint8_t fh[8] = {6, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef};
	n = ipv6_tcp(p, 44, fh, 8, &PLAIN);
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_RAW, p, n, n, 0, &pk), DECODE_TCP);
	CHECK(payload_is_hello(&pk));
	CHECK_EQ_U(st->frag_fragments, 0);

	/* ESP and no-next-header stop the walk. */
	uint8_t q[256];
	n = ipv6_tcp(q, 50, NULL, 0, &PLAIN);
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_RAW, q, n, n, 0, &pk), DECODE_NOT_TCP);
	q[6] = 59;
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_RAW, q, n, n, 0, &pk), DECODE_NOT_TCP);
	/* ... also after an extension header. */
	uint8_t dst[8] = {50, 0, 1, 4, 0, 0, 0, 0};
	n = ipv6_tcp(q, 60, dst, 8, &PLAIN);
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_RAW, q, n, n, 0, &pk), DECODE_NOT_TCP);

	/* An extension header running past the payload length is malformed. */
	uint64_t mal = st->malformed;
	dst[0] = 6;
	dst[1] = 200;
	n = ipv6_tcp(q, 60, dst, 8, &PLAIN);
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_RAW, q, n, n, 0, &pk), DECODE_INVALID);
	/* Payload length beyond the wire. */
	n = ipv6_tcp(q, 6, NULL, 0, &PLAIN);
	w16(q + 4, 2000);
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_RAW, q, n, n, 0, &pk), DECODE_INVALID);
	CHECK_EQ_U(st->malformed, mal + 2);

	/* A chain of 40 empty destination-options headers is refused. */
	uint8_t chain[40 * 8];
	memset(chain, 0, sizeof(chain));
	for (size_t i = 0; i < 40; i++) {
		chain[i * 8] = i == 39 ? 6 : 60;
		chain[i * 8 + 2] = 1;
		chain[i * 8 + 3] = 4;
	}
	uint8_t big[600];
	n = ipv6_tcp(big, 60, chain, sizeof(chain), &PLAIN);
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_RAW, big, n, n, 0, &pk), DECODE_INVALID);
	CHECK_EQ_U(st->malformed, mal + 3);
	decoder_free(d);
}

static void test_tcp_options(void)
{
	struct decoder *d = new_dec();
	const struct decoder_stats *st = decoder_stats(d);
	uint8_t p[256];
	struct packet pk;
	static const uint8_t good[] = {2, 4, 0x05, 0xb4,   /* MSS 1460 */
				       1, 3, 3, 7,         /* NOP, WS 7 */
				       4, 2, 8, 10,        /* SACK-permitted, TS */
				       0, 0, 0, 9, 0, 0, 0, 3,
				       5, 10, 0, 0, 0, 1, 0, 0, 0, 2, /* one SACK block */
				       1, 0};
	struct tcp_spec s = {.opts = good, .optlen = sizeof(good), .payload = HELLO,
			     .plen = sizeof(HELLO) - 1, .flags = TCP_SYN};
	CHECK_EQ_U(sizeof(good) % 4, 0);
	size_t n = ipv4_tcp(p, NULL, 0, &s);
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_RAW, p, n, n, 0, &pk), DECODE_TCP);
	CHECK(pk.opt.has_mss && pk.opt.has_wscale && pk.opt.sack_permitted && pk.opt.has_timestamp);
	CHECK_EQ_U(pk.opt.mss, 1460);
	CHECK_EQ_U(pk.opt.wscale, 7);
	CHECK_EQ_U(pk.opt.tsval, 9);
	CHECK_EQ_U(pk.opt.tsecr, 3);
	CHECK_EQ_U(pk.tcp_flags, TCP_SYN);
	CHECK_EQ_U(pk.flags, 0);
	CHECK(payload_is_hello(&pk));

	/* Bad lengths: flagged and counted, the packet still decodes and options
	 * before the bad one are kept. */
	static const uint8_t zero_len[] = {2, 4, 0x02, 0x00, 3, 0, 7, 1};
	static const uint8_t too_long[] = {1, 1, 8, 40};
	static const uint8_t wrong_mss[] = {2, 5, 1, 1, 1, 0, 0, 0};
	static const uint8_t lone_kind[] = {1, 1, 1, 19};
	const uint8_t *bad[] = {zero_len, too_long, wrong_mss, lone_kind};
	size_t bad_len[] = {sizeof(zero_len), sizeof(too_long), sizeof(wrong_mss), sizeof(lone_kind)};
	for (size_t i = 0; i < 4; i++) {
		s.opts = bad[i];
		s.optlen = bad_len[i];
		n = ipv4_tcp(p, NULL, 0, &s);
		CHECK_EQ_U(decoder_decode(d, DECODE_LINK_RAW, p, n, n, 0, &pk), DECODE_TCP);
		CHECK(pk.flags & PKT_TCP_OPTIONS_BAD);
		CHECK(payload_is_hello(&pk));
		CHECK(!(pk.flags & PKT_TCP_CSUM_BAD));
		if (i == 0) {
			CHECK(pk.opt.has_mss);
			CHECK_EQ_U(pk.opt.mss, 512);
			CHECK(!pk.opt.has_wscale);
		}
		if (i == 2)
			CHECK(!pk.opt.has_mss);
	}
	CHECK_EQ_U(st->tcp_options_bad, 4);
	decoder_free(d);
}

static void test_checksums(void)
{
	struct decoder *d = new_dec();
	const struct decoder_stats *st = decoder_stats(d);
	uint8_t p[256];
	struct packet pk;
	/* Odd payload lengths exercise the trailing byte. */
	for (size_t plen = 0; plen < 20; plen++) {
		struct tcp_spec s = {.payload = HELLO, .plen = plen};
		size_t n = ipv4_tcp(p, NULL, 0, &s);
		CHECK_EQ_U(decoder_decode(d, DECODE_LINK_RAW, p, n, n, 0, &pk), DECODE_TCP);
		CHECK_EQ_U(pk.flags, 0);
		n = ipv6_tcp(p, 6, NULL, 0, &s);
		CHECK_EQ_U(decoder_decode(d, DECODE_LINK_RAW, p, n, n, 0, &pk), DECODE_TCP);
		CHECK_EQ_U(pk.flags, 0);
	}
	CHECK_EQ_U(st->ipv4_csum_bad + st->tcp_csum_bad, 0);

	size_t n = ipv4_tcp(p, NULL, 0, &PLAIN);
	p[8] = 63; /* TTL changed without fixing the header checksum */
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_RAW, p, n, n, 0, &pk), DECODE_TCP);
	CHECK_EQ_U(pk.flags, PKT_IPV4_CSUM_BAD);
	CHECK(payload_is_hello(&pk));
	n = ipv4_tcp(p, NULL, 0, &PLAIN);
	p[n - 1] ^= 0x20;
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_RAW, p, n, n, 0, &pk), DECODE_TCP);
	CHECK_EQ_U(pk.flags, PKT_TCP_CSUM_BAD);
	n = ipv6_tcp(p, 6, NULL, 0, &PLAIN);
	p[8] ^= 1; /* source address is in the pseudo-header */
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_RAW, p, n, n, 0, &pk), DECODE_TCP);
	CHECK_EQ_U(pk.flags, PKT_TCP_CSUM_BAD);
	CHECK_EQ_U(st->ipv4_csum_bad, 1);
	CHECK_EQ_U(st->tcp_csum_bad, 2);
	decoder_free(d);

	struct decoder_config cfg;
	decoder_config_default(&cfg);
	cfg.verify_checksums = false;
	d = decoder_new(&cfg);
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_RAW, p, n, n, 0, &pk), DECODE_TCP);
	CHECK_EQ_U(pk.flags, 0);
	CHECK_EQ_U(decoder_stats(d)->tcp_csum_bad, 0);
	decoder_free(d);
}

/* Every prefix of a valid frame: cut in headers -> INVALID (truncated), cut in
 * the payload -> TCP with PKT_TRUNCATED_PAYLOAD and the bytes present. */
static void prefixes_check(int link, const uint8_t *f, size_t len, size_t payload_off)
{
	struct decoder *d = new_dec();
	const struct decoder_stats *st = decoder_stats(d);
	struct packet pk;
	unsigned wrong = 0;
	size_t first_wrong = 0;
	for (size_t cut = 0; cut <= len; cut++) {
		/* Copy so ASan sees reads past the cut. */
		uint8_t *c = malloc(cut ? cut : 1);
		memcpy(c, f, cut);
		uint64_t inv = st->truncated + st->malformed + st->frag_invalid;
		enum decode_status s = decoder_decode(d, link, c, cut, len, 5, &pk);
		if (cut < payload_off) {
			wrong += s != DECODE_INVALID;
			wrong += st->truncated + st->malformed + st->frag_invalid != inv + 1;
		} else {
			wrong += s != DECODE_TCP;
			wrong += pk.payload != c + payload_off || pk.payload_len != cut - payload_off;
			wrong += (cut < len) != ((pk.flags & PKT_TRUNCATED_PAYLOAD) != 0);
			wrong += (pk.flags & PKT_TCP_CSUM_BAD) != 0;
		}
		/* The same bytes claimed as the whole wire frame: never TCP unless
		 * the IP length fits, and never a crash. */
		s = decoder_decode(d, link, c, cut, cut, 5, &pk);
		if (cut < len)
			wrong += s != DECODE_INVALID;
		else
			wrong += s != DECODE_TCP || pk.flags != 0;
		if (wrong && !first_wrong)
			first_wrong = cut;
		free(c);
	}
	CHECK_EQ_U(wrong, 0);
	CHECK_EQ_U(first_wrong, 0);
	CHECK(st->truncated >= payload_off);
	CHECK(st->malformed > 0);
	decoder_free(d);
}

static void test_truncation(void)
{
	uint8_t f[512];
	static const uint16_t tp[] = {0x88a8, 0x8100};
	static const uint16_t vid[] = {10, 20};
	static const uint8_t opts[4] = {1, 1, 1, 0};
	static const uint8_t tcpopt[16] = {2, 4, 5, 0xb4, 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2};
	struct tcp_spec s = {.opts = tcpopt, .optlen = 16, .payload = HELLO, .plen = sizeof(HELLO) - 1};
	size_t n = eth_hdr(f, tp, vid, 2, 0x0800);
	size_t len = n + ipv4_tcp(f + n, opts, 4, &s);
	prefixes_check(DECODE_LINK_ETHERNET, f, len, n + 24 + 36);

	uint8_t ext[16] = {60, 0, 1, 4, 0, 0, 0, 0, 6, 0, 1, 4, 0, 0, 0, 0};
	n = eth_hdr(f, NULL, NULL, 0, 0x86dd);
	len = n + ipv6_tcp(f + n, 0, ext, 16, &s);
	prefixes_check(DECODE_LINK_ETHERNET, f, len, n + 40 + 16 + 36);

	memset(f, 0, 20);
	w16(f, 0x0800);
	len = 20 + ipv4_tcp(f + 20, NULL, 0, &s);
	prefixes_check(DECODE_LINK_LINUX_SLL2, f, len, 20 + 20 + 36);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)rng_state;
}

/* Random mutations of valid frames on every link type: the status must be
 * consistent with the counters and payloads must lie inside the frame. */
static void test_mutations(void)
{
	struct decoder *d = new_dec();
	const struct decoder_stats *st = decoder_stats(d);
	static const int links[] = {DECODE_LINK_NULL, DECODE_LINK_ETHERNET, DECODE_LINK_RAW,
				    DECODE_LINK_LOOP, DECODE_LINK_LINUX_SLL, DECODE_LINK_IPV4,
				    DECODE_LINK_IPV6, DECODE_LINK_LINUX_SLL2};
	uint8_t base[256], f[256];
	static const uint16_t tp[] = {0x8100};
	static const uint16_t vid[] = {7};
	size_t n = eth_hdr(base, tp, vid, 1, 0x86dd);
	uint8_t ext[8] = {6, 0, 1, 4, 0, 0, 0, 0};
	size_t len = n + ipv6_tcp(base + n, 60, ext, 8, &PLAIN);
	unsigned bad = 0;
	uint64_t counts[5] = {0};
	for (unsigned it = 0; it < 200000; it++) {
		memcpy(f, base, len);
		unsigned nmut = 1 + rng() % 4;
		for (unsigned k = 0; k < nmut; k++)
			f[rng() % len] = (uint8_t)rng();
		size_t cap = len - rng() % 8;
		int link = links[rng() % 8];
		size_t off = link == DECODE_LINK_ETHERNET ? 0 : n - 2; /* IP-ish start */
		struct packet pk;
		enum decode_status s = decoder_decode(d, link, f + off, cap - off, cap - off, it, &pk);
		counts[s]++;
		if (s == DECODE_TCP)
			bad += pk.payload < f + off || pk.payload + pk.payload_len > f + cap;
	}
	CHECK_EQ_U(bad, 0);
	CHECK_EQ_U(counts[DECODE_TCP], st->tcp);
	CHECK_EQ_U(counts[DECODE_NOT_TCP], st->not_tcp);
	CHECK_EQ_U(counts[DECODE_UNSUPPORTED], st->unsupported);
	CHECK_EQ_U(counts[DECODE_INVALID], st->truncated + st->malformed + st->frag_invalid);
	CHECK(counts[DECODE_TCP] > 1000);
	decoder_free(d);
}

int main(void)
{
	RUN(test_config_default);
	RUN(test_ethernet_ipv4);
	RUN(test_vlan);
	RUN(test_link_types);
	RUN(test_ipv4_header);
	RUN(test_ipv6_ext);
	RUN(test_tcp_options);
	RUN(test_checksums);
	RUN(test_truncation);
	RUN(test_mutations);
	return tl_finish();
}
