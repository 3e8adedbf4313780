/* IP fragment reassembly tests, plus decoding of real captures through libpcap.
 * argv[1], when given, is the directory holding the public test captures. */
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "reassembly/decode.h"
#include "testlib.h"
#include "wire_util.h"

/* TCP segment with payload[i] = seed + i, checksum left zero. */
static size_t tcp_put(uint8_t *t, size_t plen, uint8_t seed)
{
	memset(t, 0, 20);
	w16(t, 40000);
	w16(t + 2, 25);
	t[7] = 1;
	t[12] = 5 << 4;
	t[13] = TCP_ACK;
	w16(t + 14, 1000);
	for (size_t i = 0; i < plen; i++)
		t[20 + i] = (uint8_t)(seed + i);
	return 20 + plen;
}

/* A whole IPv4 TCP datagram, valid checksums. */
static size_t v4_datagram(uint8_t *p, uint8_t src_last, uint16_t id, size_t plen, uint8_t seed)
{
	size_t seg = tcp_put(p + 20, plen, seed);
	memset(p, 0, 20);
	p[0] = 0x45;
	w16(p + 2, (unsigned)(20 + seg));
	w16(p + 4, id);
	p[8] = 64;
	p[9] = 6;
	p[12] = 10, p[15] = src_last;
	p[16] = 10, p[19] = 99;
	w16(p + 10, ref_fold(ref_sum(0, p, 20)));
	uint8_t ph[12] = {0};
	memcpy(ph, p + 12, 8);
	ph[9] = 6;
	w16(ph + 10, (unsigned)seg);
	w16(p + 20 + 16, ref_fold(ref_sum(ref_sum(0, ph, 12), p + 20, seg)));
	return 20 + seg;
}

/* Fragment [off, off+len) of datagram dg (20-byte header) into out. */
static size_t v4_frag(uint8_t *out, const uint8_t *dg, size_t off, size_t len, bool more)
{
	memcpy(out, dg, 20);
	memcpy(out + 20, dg + 20 + off, len);
	w16(out + 2, (unsigned)(20 + len));
	w16(out + 6, (unsigned)(off / 8) | (more ? 0x2000u : 0));
	w16(out + 10, 0);
	w16(out + 10, ref_fold(ref_sum(0, out, 20)));
	return 20 + len;
}

/* IPv6 TCP datagram with an optional 8-byte hop-by-hop header. */
static size_t v6_datagram(uint8_t *p, bool hbh, size_t plen, uint8_t seed)
{
	size_t ext = hbh ? 8 : 0;
	size_t seg = tcp_put(p + 40 + ext, plen, seed);
	memset(p, 0, 40 + ext);
	p[0] = 0x60;
	w16(p + 4, (unsigned)(ext + seg));
	p[6] = hbh ? 0 : 6;
	p[7] = 64;
	p[8] = 0x20, p[9] = 0x01, p[23] = 1;
	p[24] = 0x20, p[25] = 0x01, p[39] = 2;
	if (hbh) {
		p[40] = 6;
		p[42] = 1; /* PadN */
		p[43] = 4;
	}
	uint8_t ph[40] = {0};
	memcpy(ph, p + 8, 32);
	w16(ph + 34, (unsigned)seg);
	ph[39] = 6;
	uint8_t *t = p + 40 + ext;
	w16(t + 16, ref_fold(ref_sum(ref_sum(0, ph, 40), t, seg)));
	return 40 + ext + seg;
}

/* Fragment of the fragmentable part (after unfrag bytes) of dg. */
static size_t v6_frag(uint8_t *out, const uint8_t *dg, size_t unfrag, size_t off, size_t len,
		      bool more, uint32_t id)
{
	memcpy(out, dg, unfrag);
	uint8_t *nhp = unfrag == 40 ? out + 6 : out + 40; /* who names the next header */
	uint8_t inner = *nhp;
	*nhp = 44;
	uint8_t *fh = out + unfrag;
	fh[0] = inner;
	fh[1] = 0;
	w16(fh + 2, (unsigned)off | (more ? 1u : 0));
	fh[4] = (uint8_t)(id >> 24), fh[5] = (uint8_t)(id >> 16);
	fh[6] = (uint8_t)(id >> 8), fh[7] = (uint8_t)id;
	memcpy(out + unfrag + 8, dg + unfrag + off, len);
	w16(out + 4, (unsigned)(unfrag - 40 + 8 + len));
	return unfrag + 8 + len;
}

static struct decoder *new_dec(const struct decoder_config *over)
{
	struct decoder_config cfg;
	decoder_config_default(&cfg);
	struct decoder *d = decoder_new(over ? over : &cfg);
	if (!d)
		abort();
	return d;
}

static enum decode_status feed(struct decoder *d, const uint8_t *p, size_t n, uint64_t ts,
			       struct packet *pk)
{
	return decoder_decode(d, DECODE_LINK_RAW, p, n, n, ts, pk);
}

/* The rebuilt packet must equal the original datagram. */
static bool same_as(const struct packet *pk, const uint8_t *dg, size_t len, size_t hlen)
{
	return pk->l3_len == len && pk->wire_len == len &&
	       memcmp(pk->l3 + hlen, dg + hlen, len - hlen) == 0 &&
	       pk->payload == pk->l3 + hlen + 20 && pk->payload_len == len - hlen - 20 &&
	       pk->flags == PKT_DEFRAGMENTED;
}

/* Fragment a 400-byte-payload datagram into chunks of 48 and feed them in the
 * order given by perm. */
static void v4_in_order(const unsigned *perm, unsigned nfrag, uint64_t *reassembled)
{
	struct decoder *d = new_dec(NULL);
	uint8_t dg[512], fr[128];
	size_t len = v4_datagram(dg, 1, 77, 400, 3);
	size_t plen = len - 20; /* 420 */
	size_t chunk = (plen + nfrag - 1) / nfrag;
	chunk = (chunk + 7) & ~(size_t)7;
	struct packet pk;
	unsigned wrong = 0;
	for (unsigned i = 0; i < nfrag; i++) {
		size_t off = perm[i] * chunk;
		if (off >= plen) {
			continue;
		}
		size_t n = off + chunk < plen ? chunk : plen - off;
		size_t fl = v4_frag(fr, dg, off, n, off + n < plen);
		enum decode_status s = feed(d, fr, fl, 100 + i, &pk);
		if (i + 1 < nfrag)
			wrong += s != DECODE_FRAGMENT_HELD;
		else
			wrong += s != DECODE_TCP || !same_as(&pk, dg, len, 20) || pk.ts_us != 100 + i;
	}
	CHECK_EQ_U(wrong, 0);
	CHECK_EQ_U(pk.l3[6] & 0x3f, 0); /* rebuilt header: no MF, offset 0 */
	CHECK_EQ_U(ref_fold(ref_sum(0, pk.l3, 20)), 0);
	CHECK_EQ_U(decoder_stats(d)->frag_fragments, nfrag);
	CHECK_EQ_U(decoder_stats(d)->frag_overlap, 0);
	CHECK_EQ_U(decoder_stats(d)->tcp, 1);
	CHECK_EQ_U(decoder_memory(d), 0);
	*reassembled += decoder_stats(d)->frag_reassembled;
	decoder_free(d);
}

static uint64_t rng_state = 0x243f6a8885a308d3ull;
static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)rng_state;
}

static void test_v4_orders(void)
{
	uint64_t done = 0;
	unsigned perm[9];
	for (unsigned i = 0; i < 9; i++)
		perm[i] = i;
	v4_in_order(perm, 9, &done);
	for (unsigned i = 0; i < 9; i++)
		perm[i] = 8 - i;
	v4_in_order(perm, 9, &done);
	for (unsigned r = 0; r < 50; r++) {
		for (unsigned i = 8; i > 0; i--) {
			unsigned j = rng() % (i + 1), t = perm[i];
			perm[i] = perm[j];
			perm[j] = t;
		}
		v4_in_order(perm, 9, &done);
	}
	CHECK_EQ_U(done, 52);
}

static void test_v4_overlap_duplicate(void)
{
	struct decoder *d = new_dec(NULL);
	const struct decoder_stats *st = decoder_stats(d);
	uint8_t a[256], b[256], fr[256];
	size_t len = v4_datagram(a, 1, 5, 100, 0);    /* the data that must win */
	v4_datagram(b, 1, 5, 100, 0x80);               /* same header, other bytes */
	struct packet pk;
	/* [0,40) from a, then [24,72) from b overlapping 16 bytes, then a
	 * duplicate of the first, then [8,120) from b covering everything
	 * except the tail, then the tail [112,120) from a. */
	CHECK_EQ_U(feed(d, fr, v4_frag(fr, a, 0, 40, true), 1, &pk), DECODE_FRAGMENT_HELD);
	CHECK_EQ_U(feed(d, fr, v4_frag(fr, b, 24, 48, true), 2, &pk), DECODE_FRAGMENT_HELD);
	CHECK_EQ_U(st->frag_overlap, 1);
	CHECK_EQ_U(feed(d, fr, v4_frag(fr, a, 0, 40, true), 3, &pk), DECODE_FRAGMENT_HELD);
	CHECK_EQ_U(st->frag_overlap, 2);
	CHECK_EQ_U(feed(d, fr, v4_frag(fr, b, 16, 96, true), 4, &pk), DECODE_FRAGMENT_HELD);
	CHECK_EQ_U(st->frag_overlap, 3);
	CHECK_EQ_U(feed(d, fr, v4_frag(fr, a, 112, 8, false), 5, &pk), DECODE_TCP);
	CHECK_EQ_U(st->frag_reassembled, 1);
	/* Expected: a[0,40) b[40,112) a[112,120) -- first data wins everywhere. */
	uint8_t want[256];
	memcpy(want, a, len);
	memcpy(want + 20 + 40, b + 20 + 40, 72);
	CHECK(pk.l3_len == len && memcmp(pk.l3 + 20, want + 20, len - 20) == 0);
	CHECK(pk.flags & PKT_TCP_CSUM_BAD); /* mixed data no longer matches */
	CHECK_EQ_U(decoder_memory(d), 0);

	/* A late duplicate after completion starts a new datagram that never
	 * completes and times out. */
	CHECK_EQ_U(feed(d, fr, v4_frag(fr, a, 0, 40, true), 6, &pk), DECODE_FRAGMENT_HELD);
	CHECK(decoder_memory(d) > 40);
	decoder_expire(d, 6 + 29999999);
	CHECK(decoder_memory(d) > 0);
	decoder_expire(d, 6 + 30000000);
	CHECK_EQ_U(decoder_memory(d), 0);
	CHECK_EQ_U(st->frag_timeout, 1);
	decoder_free(d);
}

static void test_v4_timeout_lazy(void)
{
	struct decoder *d = new_dec(NULL);
	const struct decoder_stats *st = decoder_stats(d);
	uint8_t dg[256], fr[256];
	struct packet pk;
	size_t len = v4_datagram(dg, 1, 9, 64, 1);
	CHECK_EQ_U(feed(d, fr, v4_frag(fr, dg, 0, 40, true), 1000, &pk), DECODE_FRAGMENT_HELD);
	/* The rest arrives 31 s later: the first part has expired on insert. */
	CHECK_EQ_U(feed(d, fr, v4_frag(fr, dg, 40, len - 60, false), 31001000, &pk),
		   DECODE_FRAGMENT_HELD);
	CHECK_EQ_U(st->frag_timeout, 1);
	CHECK_EQ_U(st->frag_reassembled, 0);
	/* ... and now the head again completes it. */
	CHECK_EQ_U(feed(d, fr, v4_frag(fr, dg, 0, 40, true), 31002000, &pk), DECODE_TCP);
	CHECK(same_as(&pk, dg, len, 20));
	decoder_free(d);
}

static void test_v4_invalid(void)
{
	struct decoder *d = new_dec(NULL);
	const struct decoder_stats *st = decoder_stats(d);
	uint8_t dg[256], fr[256];
	struct packet pk;
	v4_datagram(dg, 1, 11, 100, 1);
	/* MF set with a length not a multiple of 8. */
	CHECK_EQ_U(feed(d, fr, v4_frag(fr, dg, 0, 36, true), 1, &pk), DECODE_INVALID);
	/* Tiny first fragment that splits the TCP header. */
	CHECK_EQ_U(feed(d, fr, v4_frag(fr, dg, 0, 16, true), 1, &pk), DECODE_INVALID);
	/* Offset 8 for TCP rewrites the flags (RFC 1858). */
	CHECK_EQ_U(feed(d, fr, v4_frag(fr, dg, 8, 16, true), 1, &pk), DECODE_INVALID);
	/* Offset + length beyond 65535. */
	size_t n = v4_frag(fr, dg, 0, 40, true);
	w16(fr + 6, 0x1fff);
	w16(fr + 10, 0);
	w16(fr + 10, ref_fold(ref_sum(0, fr, 20)));
	CHECK_EQ_U(feed(d, fr, n, 1, &pk), DECODE_INVALID);
	CHECK_EQ_U(st->frag_invalid, 4);
	CHECK_EQ_U(decoder_memory(d), 0);
	/* Conflicting ends: a last fragment, then another last fragment
	 * elsewhere, then a middle one beyond the end. */
	CHECK_EQ_U(feed(d, fr, v4_frag(fr, dg, 96, 24, false), 2, &pk), DECODE_FRAGMENT_HELD);
	CHECK_EQ_U(feed(d, fr, v4_frag(fr, dg, 96, 16, false), 2, &pk), DECODE_INVALID);
	CHECK_EQ_U(feed(d, fr, v4_frag(fr, dg, 112, 16, true), 2, &pk), DECODE_INVALID);
	CHECK_EQ_U(st->frag_invalid, 6);
	/* The rest still completes with the first ending. */
	CHECK_EQ_U(feed(d, fr, v4_frag(fr, dg, 0, 96, true), 3, &pk), DECODE_TCP);
	CHECK_EQ_U(pk.payload_len, 100);
	CHECK_EQ_U(pk.flags, PKT_DEFRAGMENTED);
	/* A cut (snaplen) fragment cannot be stored. */
	n = v4_frag(fr, dg, 0, 40, true);
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_RAW, fr, n - 1, n, 4, &pk), DECODE_INVALID);
	CHECK_EQ_U(st->truncated, 1);
	/* Fragments of another protocol are not kept. */
	n = v4_frag(fr, dg, 0, 40, true);
	fr[9] = 17;
	CHECK_EQ_U(feed(d, fr, n, 5, &pk), DECODE_NOT_TCP);
	CHECK_EQ_U(decoder_memory(d), 0);
	decoder_free(d);
}

static void test_v4_keys(void)
{
	struct decoder *d = new_dec(NULL);
	uint8_t a[256], b[256], fr[256], eth[300];
	struct packet pk;
	size_t la = v4_datagram(a, 1, 42, 60, 1);
	size_t lb = v4_datagram(b, 2, 42, 60, 2); /* other source, same id */
	CHECK_EQ_U(feed(d, fr, v4_frag(fr, a, 0, 40, true), 1, &pk), DECODE_FRAGMENT_HELD);
	CHECK_EQ_U(feed(d, fr, v4_frag(fr, b, 0, 40, true), 1, &pk), DECODE_FRAGMENT_HELD);
	/* Same addresses and id on a VLAN: a third datagram. */
	static const uint8_t hdr[18] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x81, 0, 0, 5, 8, 0};
	memcpy(eth, hdr, 18);
	size_t n = v4_frag(eth + 18, a, 40, la - 60, false);
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_ETHERNET, eth, n + 18, n + 18, 2, &pk),
		   DECODE_FRAGMENT_HELD);
	CHECK_EQ_U(feed(d, fr, v4_frag(fr, b, 40, lb - 60, false), 3, &pk), DECODE_TCP);
	CHECK(same_as(&pk, b, lb, 20));
	CHECK_EQ_U(feed(d, fr, v4_frag(fr, a, 40, la - 60, false), 4, &pk), DECODE_TCP);
	CHECK(same_as(&pk, a, la, 20));
	CHECK_EQ_U(decoder_stats(d)->frag_reassembled, 2);
	CHECK(decoder_memory(d) > 0); /* the VLAN one is still pending */
	decoder_free(d);
}

static void test_caps(void)
{
	struct decoder_config cfg;
	decoder_config_default(&cfg);
	cfg.frag_max_datagrams = 4;
	cfg.frag_max_fragments = 4;
	struct decoder *d = new_dec(&cfg);
	const struct decoder_stats *st = decoder_stats(d);
	uint8_t dg[5][256], fr[256];
	size_t len[5];
	struct packet pk;
	for (unsigned i = 0; i < 5; i++) {
		len[i] = v4_datagram(dg[i], 1, (uint16_t)(100 + i), 60, (uint8_t)i);
		CHECK_EQ_U(feed(d, fr, v4_frag(fr, dg[i], 0, 40, true), 10 + i, &pk),
			   DECODE_FRAGMENT_HELD);
	}
	/* The fifth evicted the oldest (the first). */
	CHECK_EQ_U(st->frag_dropped_cap, 1);
	CHECK_EQ_U(feed(d, fr, v4_frag(fr, dg[0], 40, len[0] - 60, false), 20, &pk),
		   DECODE_FRAGMENT_HELD);
	/* That tail evicted the second one in turn; the fifth completes. */
	CHECK_EQ_U(st->frag_dropped_cap, 2);
	CHECK_EQ_U(feed(d, fr, v4_frag(fr, dg[4], 40, len[4] - 60, false), 21, &pk), DECODE_TCP);
	CHECK(same_as(&pk, dg[4], len[4], 20));
	decoder_free(d);

	/* Too many fragments in one datagram: the datagram is dropped. */
	d = new_dec(&cfg);
	st = decoder_stats(d);
	uint8_t big[600];
	size_t bl = v4_datagram(big, 1, 7, 300, 0);
	for (unsigned i = 0; i < 5; i++)
		CHECK_EQ_U(feed(d, fr, v4_frag(fr, big, 40 + i * 24, 24, true), 1, &pk),
			   DECODE_FRAGMENT_HELD);
	CHECK_EQ_U(st->frag_dropped_cap, 5);
	CHECK_EQ_U(decoder_memory(d), 0);
	(void)bl;
	decoder_free(d);

	/* Byte cap: two 1000-byte datagrams under a 1500-byte budget. */
	decoder_config_default(&cfg);
	cfg.frag_max_bytes = 1500;
	d = new_dec(&cfg);
	st = decoder_stats(d);
	uint8_t x[1200], y[1200], f2[1200];
	size_t lx = v4_datagram(x, 1, 1, 1000, 0), ly = v4_datagram(y, 2, 1, 1000, 0);
	CHECK_EQ_U(feed(d, f2, v4_frag(f2, x, 0, 800, true), 1, &pk), DECODE_FRAGMENT_HELD);
	CHECK(decoder_memory(d) >= 800 && decoder_memory(d) <= 1500);
	CHECK_EQ_U(feed(d, f2, v4_frag(f2, y, 0, 800, true), 2, &pk), DECODE_FRAGMENT_HELD);
	CHECK_EQ_U(st->frag_dropped_cap, 1); /* x made room for y */
	CHECK(decoder_memory(d) <= 1500);
	CHECK_EQ_U(feed(d, f2, v4_frag(f2, y, 800, ly - 820, false), 3, &pk), DECODE_TCP);
	CHECK(same_as(&pk, y, ly, 20));
	decoder_free(d);

	/* A single datagram larger than the whole budget cannot be held. */
	cfg.frag_max_bytes = 1000;
	d = new_dec(&cfg);
	st = decoder_stats(d);
	CHECK_EQ_U(feed(d, f2, v4_frag(f2, x, 0, 800, true), 4, &pk), DECODE_FRAGMENT_HELD);
	CHECK(decoder_memory(d) > 800);
	CHECK_EQ_U(feed(d, f2, v4_frag(f2, x, 800, lx - 820, false), 5, &pk), DECODE_FRAGMENT_HELD);
	CHECK_EQ_U(decoder_memory(d), 0);
	CHECK_EQ_U(st->frag_dropped_cap, 2);
	CHECK_EQ_U(st->frag_reassembled, 0);
	decoder_free(d);
}

/* A hostile flood: random offsets, few ids.  Memory and datagram counts stay
 * under their caps and nothing crashes. */
static void test_flood(void)
{
	struct decoder_config cfg;
	decoder_config_default(&cfg);
	cfg.frag_max_bytes = 256 * 1024;
	cfg.frag_max_datagrams = 64;
	struct decoder *d = new_dec(&cfg);
	const struct decoder_stats *st = decoder_stats(d);
	uint8_t dg[1600], fr[1600];
	v4_datagram(dg, 1, 0, 1400, 0);
	struct packet pk;
	size_t maxmem = 0;
	unsigned whole = 0;
	for (unsigned i = 0; i < 200000; i++) {
		size_t off = (rng() % 170) * 8;
		size_t len = 8 * (1 + rng() % 10);
		if (off + len > 1420)
			len = 1420 - off;
		bool more = rng() % 8 != 0;
		whole += off == 0 && !more; /* not a fragment at all */
		size_t n = v4_frag(fr, dg, off, len, more);
		w16(fr + 4, rng() % 200);
		fr[15] = (uint8_t)(rng() % 4);
		feed(d, fr, n, i * 10ull, &pk);
		if (decoder_memory(d) > maxmem)
			maxmem = decoder_memory(d);
	}
	CHECK(maxmem <= cfg.frag_max_bytes);
	CHECK(st->frag_dropped_cap > 0);
	CHECK(st->frag_overlap > 0);
	CHECK_EQ_U(st->frag_fragments, 200000 - whole);
	CHECK(whole > 0);
	decoder_expire(d, UINT64_MAX);
	CHECK_EQ_U(decoder_memory(d), 0);
	decoder_free(d);
}

static void test_v6(void)
{
	struct decoder *d = new_dec(NULL);
	const struct decoder_stats *st = decoder_stats(d);
	uint8_t dg[600], fr[600];
	struct packet pk;
	for (int hbh = 0; hbh < 2; hbh++) {
		size_t unfrag = hbh ? 48 : 40;
		size_t len = v6_datagram(dg, hbh, 300, 9);
		size_t plen = len - unfrag;
		/* Reverse order, three pieces. */
		CHECK_EQ_U(feed(d, fr, v6_frag(fr, dg, unfrag, 256, plen - 256, false, 0xabcd), 1, &pk),
			   DECODE_FRAGMENT_HELD);
		CHECK_EQ_U(feed(d, fr, v6_frag(fr, dg, unfrag, 128, 128, true, 0xabcd), 2, &pk),
			   DECODE_FRAGMENT_HELD);
		CHECK_EQ_U(feed(d, fr, v6_frag(fr, dg, unfrag, 0, 128, true, 0xabcd), 3, &pk),
			   DECODE_TCP);
		CHECK(same_as(&pk, dg, len, unfrag));
		CHECK(memcmp(pk.l3, dg, len) == 0); /* fragment header gone, lengths fixed */
		CHECK_EQ_U(pk.src.family, 6);
		CHECK_EQ_U(pk.ttl, 64);
	}
	CHECK_EQ_U(st->frag_reassembled, 2);
	CHECK_EQ_U(st->frag_fragments, 6);

	/* A fragment whose fragmentable part starts with another fragment
	 * header does not carry TCP directly: not reassembled. */
	size_t len = v6_datagram(dg, false, 100, 1);
	uint8_t inner[600];
	size_t il = v6_frag(inner, dg, 40, 0, 64, true, 5); /* a fragment as payload */
	size_t ip = il - 40;
	CHECK_EQ_U(feed(d, fr, v6_frag(fr, inner, 40, 0, 48, true, 6), 4, &pk), DECODE_NOT_TCP);
	CHECK_EQ_U(feed(d, fr, v6_frag(fr, inner, 40, 48, ip - 48, false, 6), 5, &pk),
		   DECODE_NOT_TCP);
	CHECK_EQ_U(st->frag_reassembled, 2);
	(void)len;

	/* Fragments of UDP are not kept. */
	v6_datagram(dg, false, 100, 1);
	dg[6] = 17;
	CHECK_EQ_U(feed(d, fr, v6_frag(fr, dg, 40, 0, 64, true, 7), 6, &pk), DECODE_NOT_TCP);
	/* Offset + length beyond 65535. */
	v6_datagram(dg, false, 100, 1);
	size_t n = v6_frag(fr, dg, 40, 0, 64, true, 8);
	w16(fr + 42, 65528 | 1);
	CHECK_EQ_U(feed(d, fr, n, 7, &pk), DECODE_INVALID);
	CHECK_EQ_U(decoder_memory(d), 0);
	decoder_free(d);
}

struct pcap_counts {
	unsigned frames, tcp, held, invalid, defragmented, tcp_csum_bad, ipv4_csum_bad, vlan2;
	char defrag_payload[128]; /* the first rebuilt segment's payload */
};

static bool pcap_decode(const char *dir, const char *name, struct pcap_counts *c,
			struct decoder_stats *out_st)
{
	char path[1024], err[PCAP_ERRBUF_SIZE];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	pcap_t *p = pcap_open_offline(path, err);
	CHECK(p != NULL);
	if (!p) {
		fprintf(stderr, "%s: %s\n", path, err);
		return false;
	}
	struct decoder *d = new_dec(NULL);
	struct pcap_pkthdr *h;
	const u_char *data;
	memset(c, 0, sizeof(*c));
	while (pcap_next_ex(p, &h, &data) == 1) {
		struct packet pk;
		uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000 + (uint64_t)h->ts.tv_usec;
		enum decode_status s = decoder_decode(d, pcap_datalink(p), data, h->caplen, h->len,
						      ts, &pk);
		c->frames++;
		c->held += s == DECODE_FRAGMENT_HELD;
		c->invalid += s == DECODE_INVALID;
		if (s == DECODE_TCP) {
			c->tcp++;
			if ((pk.flags & PKT_DEFRAGMENTED) && !c->defragmented++ &&
			    pk.payload_len < sizeof(c->defrag_payload))
				memcpy(c->defrag_payload, pk.payload, pk.payload_len);
			c->tcp_csum_bad += (pk.flags & PKT_TCP_CSUM_BAD) != 0;
			c->ipv4_csum_bad += (pk.flags & PKT_IPV4_CSUM_BAD) != 0;
			c->vlan2 += pk.vlan_count == 2;
		}
	}
	*out_st = *decoder_stats(d);
	decoder_free(d);
	pcap_close(p);
	return true;
}

/* Expected numbers were read by hand from
 *   tshark -r FILE -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE \
 *     -T fields -e frame.number -e vlan.id -e ip.flags.mf -e ip.frag_offset \
 *     -e ip.checksum.status -e tcp.len -e tcp.checksum.status -e ip.fragment.count
 * (tshark 4.0, Debian 12). */
static const char *pcap_dir = "tests/pcaps/public";

static void test_pcaps(void)
{
	const char *dir = pcap_dir;
	struct pcap_counts c;
	struct decoder_stats st;
	/* 6 frames: SYN, three IPv4 fragments (offsets 0, 48, 72 bytes) held, the
	 * fourth (offset 24, 48 bytes) overlaps [48,72) with other data and
	 * completes the datagram -> TCP, then FIN; all IPv4 header checksums
	 * good.  tshark (-V: "Conflicting data in fragment overlap: True")
	 * keeps the later bytes, gets ".RKNWUrdooM..." and a bad TCP checksum;
	 * with first data winning the request is the cmd.exe one and its TCP
	 * checksum is valid -- the overlap is the evasion this capture shows. */
	if (pcap_decode(dir, "ipv4_frag_ooo_http.pcap", &c, &st)) {
		CHECK_EQ_U(c.frames, 6);
		CHECK_EQ_U(c.tcp, 3);
		CHECK_EQ_U(c.held, 3);
		CHECK_EQ_U(c.defragmented, 1);
		CHECK_EQ_U(st.frag_fragments, 4);
		CHECK_EQ_U(st.frag_reassembled, 1);
		CHECK_EQ_U(c.tcp_csum_bad, 0);
		CHECK_EQ_U(st.ipv4_csum_bad, 0);
		CHECK_EQ_U(st.frag_overlap, 1);
		CHECK_STR(c.defrag_payload,
			  "GET /msadc/..%2f../..%2f../..%2f../winnt/system32/cmd.exe?/c+dir+c:\\\n");
	}
	/* 3 frames on VLAN 6, IPv6 fragments of one datagram (tshark: "reassembled
	 * in 3", 3 fragments, TCP len 1000, checksum good). */
	if (pcap_decode(dir, "ipv6_frag_vlan_tcp.pcap", &c, &st)) {
		CHECK_EQ_U(c.frames, 3);
		CHECK_EQ_U(c.tcp, 1);
		CHECK_EQ_U(c.held, 2);
		CHECK_EQ_U(c.defragmented, 1);
		CHECK_EQ_U(st.frag_fragments, 3);
		CHECK_EQ_U(st.frag_reassembled, 1);
		CHECK_EQ_U(st.vlan_tagged, 3);
		CHECK_EQ_U(c.tcp_csum_bad, 0);
	}
	/* 6 TCP frames, all with VLAN ids 201 (outer) and 200 (inner); tshark
	 * reports every IPv4 header and TCP checksum as bad (status 0: the
	 * capture was taken with checksum offload). */
	if (pcap_decode(dir, "vlan_qinq_http.pcap", &c, &st)) {
		CHECK_EQ_U(c.frames, 6);
		CHECK_EQ_U(c.tcp, 6);
		CHECK_EQ_U(c.vlan2, 6);
		CHECK_EQ_U(c.tcp_csum_bad, 6);
		CHECK_EQ_U(c.ipv4_csum_bad, 6);
		CHECK_EQ_U(st.frag_fragments, 0);
	}
}

int main(int argc, char **argv)
{
	RUN(test_v4_orders);
	RUN(test_v4_overlap_duplicate);
	RUN(test_v4_timeout_lazy);
	RUN(test_v4_invalid);
	RUN(test_v4_keys);
	RUN(test_caps);
	RUN(test_flood);
	RUN(test_v6);
	if (argc > 1)
		pcap_dir = argv[1];
	RUN(test_pcaps);
	return tl_finish();
}
