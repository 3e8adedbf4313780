/* Flow table and TCP reassembly tests: packets are built directly as struct
 * packet values (no decoder), callbacks record what the stream delivered. */
#include <stdlib.h>
#include <string.h>

#include "reassembly/flow.h"
#include "tests/unit/testlib.h"

#define MAX_IDS 64
#define BUF_CAP (1u << 17)

struct rec_dir {
	uint8_t *buf;
	size_t len;       /* data bytes recorded */
	uint64_t gap_bytes;
	unsigned gaps, eofs;
	uint64_t pos;     /* data + gap bytes: stream offset */
};

struct rec {
	struct rec_dir dir[MAX_IDS][2];
	unsigned ends[MAX_IDS];
	enum flow_end_reason why[MAX_IDS];
	uint64_t end_order[MAX_IDS];
	unsigned n_ended;
	uint32_t anomalies[MAX_IDS];
	struct flow_dir_stats stats[MAX_IDS][2];
	uint64_t stop_after; /* stop_delivery of to_server once this many bytes were seen */
	bool eof_before_end_ok;
};

static uint64_t fid(struct flow *f)
{
	uint64_t id = flow_get_info(f)->id;
	return id < MAX_IDS ? id : 0;
}

static void on_data(void *u, struct flow *f, enum flow_dir d, const uint8_t *data, size_t len)
{
	struct rec *r = u;
	struct rec_dir *rd = &r->dir[fid(f)][d];
	if (!rd->buf)
		rd->buf = calloc(1, BUF_CAP);
	size_t n = len;
	if (rd->len + n > BUF_CAP)
		n = BUF_CAP - rd->len;
	memcpy(rd->buf + rd->len, data, n);
	rd->len += n;
	rd->pos += len;
	if (r->stop_after && d == FLOW_DIR_TO_SERVER && rd->pos >= r->stop_after)
		flow_stop_delivery(f, d);
}

static void on_gap(void *u, struct flow *f, enum flow_dir d, uint64_t len)
{
	struct rec *r = u;
	struct rec_dir *rd = &r->dir[fid(f)][d];
	rd->gaps++;
	rd->gap_bytes += len;
	rd->pos += len;
}

static void on_eof(void *u, struct flow *f, enum flow_dir d)
{
	struct rec *r = u;
	r->dir[fid(f)][d].eofs++;
}

static void on_end(void *u, struct flow *f, enum flow_end_reason why)
{
	struct rec *r = u;
	uint64_t id = fid(f);
	r->ends[id]++;
	r->why[id] = why;
	if (r->n_ended < MAX_IDS)
		r->end_order[r->n_ended++] = flow_get_info(f)->id;
	r->anomalies[id] = flow_get_info(f)->anomalies;
	memcpy(r->stats[id], flow_get_info(f)->dir, sizeof(r->stats[id]));
}

static const struct reasm_callbacks cbs = {on_data, on_gap, on_eof, on_end};

static void rec_free(struct rec *r)
{
	for (int i = 0; i < MAX_IDS; i++)
		for (int d = 0; d < 2; d++)
			free(r->dir[i][d].buf);
	free(r);
}

static struct rec *rec_new(void)
{
	return calloc(1, sizeof(struct rec));
}

static struct flow_table *table_new(struct rec *r, void (*tweak)(struct flow_table_config *))
{
	struct flow_table_config cfg;
	flow_table_config_default(&cfg);
	cfg.max_flows = 16;
	if (tweak)
		tweak(&cfg);
	return flow_table_new(&cfg, &cbs, r);
}

/* Connection n: client 10.0.0.1:(40000+n) -> server 10.0.0.2:25. */
static uint64_t now_us = 1000000;

static struct flow *send_pkt(struct flow_table *t, int conn, enum flow_dir d, uint8_t flags,
			     uint32_t seq, uint32_t ack, const void *payload, uint32_t len)
{
	struct packet p;
	memset(&p, 0, sizeof(p));
	p.ts_us = now_us;
	p.src.family = p.dst.family = 4;
	uint8_t c[4] = {10, 0, 0, 1}, s[4] = {10, 0, 0, 2};
	uint16_t cport = (uint16_t)(40000 + conn), sport = 25;
	if (d == FLOW_DIR_TO_SERVER) {
		memcpy(p.src.addr, c, 4);
		memcpy(p.dst.addr, s, 4);
		p.sport = cport;
		p.dport = sport;
	} else {
		memcpy(p.src.addr, s, 4);
		memcpy(p.dst.addr, c, 4);
		p.sport = sport;
		p.dport = cport;
	}
	p.seq = seq;
	p.ack = ack;
	p.window = 65535;
	p.tcp_flags = flags;
	p.payload = payload;
	p.payload_len = len;
	p.wire_len = 54 + len;
	return flow_table_process(t, &p, NULL);
}

#define C2S FLOW_DIR_TO_SERVER
#define S2C FLOW_DIR_TO_CLIENT
#define SYN TCP_SYN
#define ACK TCP_ACK
#define FIN TCP_FIN
#define RST TCP_RST
#define PA (TCP_PSH | TCP_ACK)

static void handshake(struct flow_table *t, int conn, uint32_t cisn, uint32_t sisn)
{
	send_pkt(t, conn, C2S, SYN, cisn, 0, NULL, 0);
	send_pkt(t, conn, S2C, SYN | ACK, sisn, cisn + 1, NULL, 0);
	send_pkt(t, conn, C2S, ACK, cisn + 1, sisn + 1, NULL, 0);
}

static size_t baseline_memory(void)
{
	struct rec *r = rec_new();
	struct flow_table *t = table_new(r, NULL);
	size_t m = flow_table_memory(t);
	flow_table_free(t);
	rec_free(r);
	return m;
}

static void test_handshake_both_directions(void)
{
	struct rec *r = rec_new();
	struct flow_table *t = table_new(r, NULL);
	size_t base = flow_table_memory(t);
	uint32_t c = 1000, s = 5000;
	handshake(t, 0, c, s);
	send_pkt(t, 0, S2C, PA, s + 1, c + 1, "220 hi\r\n", 8);
	send_pkt(t, 0, C2S, PA, c + 1, s + 9, "EHLO x\r\n", 8);
	struct flow *f = send_pkt(t, 0, C2S, PA, c + 9, s + 9, "QUIT\r\n", 6);
	CHECK(f != NULL);
	CHECK(flow_table_memory(t) > base);
	send_pkt(t, 0, S2C, PA | FIN, s + 9, c + 15, "221 bye\r\n", 9);
	CHECK_EQ_U(r->ends[1], 0);
	CHECK_EQ_U(r->dir[1][S2C].eofs, 1);
	f = send_pkt(t, 0, C2S, ACK | FIN, c + 15, s + 19, NULL, 0);
	CHECK(f == NULL);
	CHECK_EQ_U(r->ends[1], 1);
	CHECK_EQ_U(r->why[1], FLOW_END_FIN);
	CHECK_EQ_U(r->dir[1][C2S].eofs, 1);
	CHECK_EQ_U(r->dir[1][C2S].len, 14);
	CHECK(memcmp(r->dir[1][C2S].buf, "EHLO x\r\nQUIT\r\n", 14) == 0);
	CHECK_EQ_U(r->dir[1][S2C].len, 17);
	CHECK(memcmp(r->dir[1][S2C].buf, "220 hi\r\n221 bye\r\n", 17) == 0);
	CHECK_EQ_U(r->stats[1][C2S].packets, 5);
	CHECK_EQ_U(r->stats[1][S2C].packets, 3);
	CHECK_EQ_U(r->stats[1][C2S].bytes, 14);
	CHECK_EQ_U(r->stats[1][C2S].delivered, 14);
	CHECK_EQ_U(r->stats[1][S2C].delivered, 17);
	CHECK_EQ_U(r->stats[1][C2S].gaps + r->stats[1][S2C].gaps, 0);
	CHECK_EQ_U(r->anomalies[1], 0);
	/* the final ACK finds no flow */
	CHECK(send_pkt(t, 0, S2C, ACK, s + 19, c + 16, NULL, 0) == NULL);
	const struct flow_table_stats *st = flow_table_stats(t);
	CHECK_EQ_U(st->flows_created, 1);
	CHECK_EQ_U(st->flows_ended, 1);
	CHECK_EQ_U(st->flows_active, 0);
	CHECK_EQ_U(st->packets_untracked, 1);
	CHECK_EQ_U(flow_table_memory(t), base);
	flow_table_free(t);
	CHECK_EQ_U(r->ends[1], 1);
	rec_free(r);
}

static void test_synack_first(void)
{
	struct rec *r = rec_new();
	struct flow_table *t = table_new(r, NULL);
	enum flow_dir d = C2S;
	struct packet p;
	(void)p;
	uint32_t c = 77, s = 9000;
	struct flow *f = send_pkt(t, 0, S2C, SYN | ACK, s, c + 1, NULL, 0);
	CHECK(f != NULL);
	const struct flow_info *fi = flow_get_info(f);
	CHECK_EQ_U(fi->tuple.server_port, 25);
	CHECK_EQ_U(fi->tuple.client_port, 40000);
	CHECK(fi->handshake_seen);
	send_pkt(t, 0, C2S, PA, c + 1, s + 1, "abc", 3);
	send_pkt(t, 0, S2C, PA, s + 1, c + 4, "xyz", 3);
	(void)d;
	CHECK_EQ_U(r->dir[1][C2S].len, 3);
	CHECK_EQ_U(r->dir[1][S2C].len, 3);
	CHECK(f != NULL && flow_get_info(f)->anomalies == 0);
	flow_table_free(t);
	CHECK_EQ_U(r->ends[1], 1);
	CHECK_EQ_U(r->why[1], FLOW_END_SHUTDOWN);
	rec_free(r);
}

static void test_midstream(void)
{
	struct rec *r = rec_new();
	struct flow_table *t = table_new(r, NULL);
	/* first packet seen: server (port 25) -> client, with data */
	struct flow *f = send_pkt(t, 0, S2C, PA, 7000, 3000, "250 ok\r\n", 8);
	CHECK(f != NULL);
	const struct flow_info *fi = flow_get_info(f);
	CHECK_EQ_U(fi->tuple.server_port, 25);
	CHECK(!fi->handshake_seen);
	CHECK(fi->anomalies & FLOW_ANOM_MIDSTREAM);
	/* the ACK set where the client's bytes continue */
	send_pkt(t, 0, C2S, PA, 3000, 7008, "DATA\r\n", 6);
	CHECK_EQ_U(r->dir[1][S2C].len, 8);
	CHECK_EQ_U(r->dir[1][C2S].len, 6);
	CHECK_EQ_U(flow_table_stats(t)->flows_midstream, 1);
	/* pure ACK of an unknown connection: not tracked */
	CHECK(send_pkt(t, 5, C2S, ACK, 1, 1, NULL, 0) == NULL);
	CHECK_EQ_U(flow_table_stats(t)->packets_untracked, 1);
	flow_table_free(t);
	rec_free(r);

	/* midstream disabled */
	r = rec_new();
	struct flow_table_config cfg;
	flow_table_config_default(&cfg);
	cfg.allow_midstream = false;
	t = flow_table_new(&cfg, &cbs, r);
	CHECK(send_pkt(t, 0, S2C, PA, 7000, 3000, "250 ok\r\n", 8) == NULL);
	CHECK_EQ_U(flow_table_stats(t)->packets_untracked, 1);
	CHECK_EQ_U(flow_table_stats(t)->flows_created, 0);
	flow_table_free(t);
	rec_free(r);
}

static uint64_t rng_state = 88172645463325252ull;
static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

struct seg {
	uint32_t off, len;
};

/* Random stream, random segmentation, random order with duplicates and
 * overlapping re-sends of the same bytes: delivery must be exact. */
static void test_permutation_property(void)
{
	size_t base = baseline_memory();
	for (int iter = 0; iter < 300; iter++) {
		struct rec *r = rec_new();
		struct flow_table *t = table_new(r, NULL);
		uint32_t total = 1 + rnd() % 20000;
		uint8_t *stream = malloc(total);
		for (uint32_t i = 0; i < total; i++)
			stream[i] = (uint8_t)rnd();
		uint32_t cisn = (iter % 3 == 0) ? 0xFFFFFFFFu - rnd() % 5000 : rnd();
		uint32_t sisn = rnd();
		handshake(t, 0, cisn, sisn);
		struct seg segs[512];
		unsigned n = 0;
		for (uint32_t off = 0; off < total && n < 400;) {
			uint32_t len = 1 + rnd() % 1500;
			if (off + len > total || n == 399)
				len = total - off;
			segs[n++] = (struct seg){off, len};
			off += len;
		}
		unsigned orig = n;
		/* duplicates and overlapping re-sends of correct bytes */
		unsigned extra = rnd() % 20;
		for (unsigned i = 0; i < extra && n < 512; i++) {
			uint32_t off = rnd() % total;
			uint32_t len = 1 + rnd() % 3000;
			if (off + len > total)
				len = total - off;
			segs[n++] = (struct seg){off, len};
		}
		/* Fisher-Yates, but keep windows moderate: permutation of all */
		for (unsigned i = n - 1; i > 0; i--) {
			unsigned j = rnd() % (i + 1);
			struct seg tmp = segs[i];
			segs[i] = segs[j];
			segs[j] = tmp;
		}
		(void)orig;
		for (unsigned i = 0; i < n; i++)
			send_pkt(t, 0, C2S, PA, cisn + 1 + segs[i].off, sisn + 1,
				 stream + segs[i].off, segs[i].len);
		send_pkt(t, 0, C2S, FIN | ACK, cisn + 1 + total, sisn + 1, NULL, 0);
		struct rec_dir *rd = &r->dir[1][C2S];
		CHECK_EQ_U(rd->eofs, 1);
		CHECK_EQ_U(rd->len, total);
		CHECK_EQ_U(rd->gaps, 0);
		bool same = rd->buf && rd->len == total && memcmp(rd->buf, stream, total) == 0;
		CHECK(same);
		CHECK_EQ_U(flow_table_stats(t)->overlap_conflicts, 0);
		CHECK_EQ_U(flow_table_stats(t)->ooo_bytes_held, 0);
		send_pkt(t, 0, S2C, FIN | ACK, sisn + 1, cisn + 2 + total, NULL, 0);
		CHECK_EQ_U(r->ends[1], 1);
		CHECK_EQ_U(r->stats[1][C2S].delivered, total);
		CHECK_EQ_U(flow_table_memory(t), base);
		free(stream);
		flow_table_free(t);
		rec_free(r);
		if (tl_failed)
			break;
	}
}

static void test_overlap_conflict(void)
{
	struct rec *r = rec_new();
	struct flow_table *t = table_new(r, NULL);
	uint32_t c = 100, s = 200;
	handshake(t, 0, c, s);
	/* buffered first: "AAAA" at offset 4, then a conflicting "BBBB" for it */
	send_pkt(t, 0, C2S, PA, c + 5, s + 1, "AAAA", 4);
	send_pkt(t, 0, C2S, PA, c + 5, s + 1, "BBBB", 4);
	CHECK_EQ_U(flow_table_stats(t)->overlap_conflicts, 1);
	/* the hole is filled by a segment whose tail disagrees with the buffer */
	send_pkt(t, 0, C2S, PA, c + 1, s + 1, "0123CCCC", 8);
	CHECK_EQ_U(r->dir[1][C2S].len, 8);
	CHECK(memcmp(r->dir[1][C2S].buf, "0123AAAA", 8) == 0);
	CHECK_EQ_U(flow_table_stats(t)->overlap_conflicts, 2);
	/* retransmission of delivered bytes: same -> counted only; different -> conflict */
	send_pkt(t, 0, C2S, PA, c + 1, s + 1, "0123", 4);
	CHECK_EQ_U(flow_table_stats(t)->overlap_conflicts, 2);
	send_pkt(t, 0, C2S, PA, c + 3, s + 1, "2X", 2);
	CHECK_EQ_U(flow_table_stats(t)->overlap_conflicts, 3);
	/* partial overlap with new bytes after: old part compared, new part delivered */
	send_pkt(t, 0, C2S, PA, c + 7, s + 1, "AAzz", 4);
	CHECK_EQ_U(flow_table_stats(t)->overlap_conflicts, 3);
	CHECK_EQ_U(r->dir[1][C2S].len, 10);
	CHECK(memcmp(r->dir[1][C2S].buf, "0123AAAAzz", 10) == 0);
	struct flow *f = send_pkt(t, 0, C2S, PA, c + 9, s + 1, "Qzy", 3);
	CHECK_EQ_U(flow_table_stats(t)->overlap_conflicts, 4);
	CHECK(memcmp(r->dir[1][C2S].buf, "0123AAAAzzy", 11) == 0);
	CHECK(f && (flow_get_info(f)->anomalies & FLOW_ANOM_OVERLAP_CONFLICT));
	CHECK(f && flow_get_info(f)->dir[C2S].overlap_conflicts == 4);
	CHECK(f && flow_get_info(f)->dir[C2S].retransmits == 3);
	flow_table_free(t);
	rec_free(r);
}

static void test_gap_fin(void)
{
	/* hole, then data + FIN: the server's FIN-ACK acknowledges past the hole */
	struct rec *r = rec_new();
	struct flow_table *t = table_new(r, NULL);
	uint32_t c = 1, s = 2;
	handshake(t, 0, c, s);
	send_pkt(t, 0, C2S, PA, c + 1, s + 1, "aaaaaaaaaa", 10);
	send_pkt(t, 0, C2S, PA | FIN, c + 21, s + 1, "cccccccccc", 10);
	CHECK_EQ_U(r->dir[1][C2S].eofs, 0);
	CHECK_EQ_U(r->dir[1][C2S].len, 10);
	send_pkt(t, 0, S2C, ACK | FIN, s + 1, c + 32, NULL, 0);
	CHECK_EQ_U(r->dir[1][C2S].gaps, 1);
	CHECK_EQ_U(r->dir[1][C2S].gap_bytes, 10);
	CHECK_EQ_U(r->dir[1][C2S].len, 20);
	CHECK_EQ_U(r->dir[1][C2S].eofs, 1);
	CHECK_EQ_U(r->ends[1], 1);
	CHECK_EQ_U(r->why[1], FLOW_END_FIN);
	CHECK(r->anomalies[1] & FLOW_ANOM_GAP);
	CHECK_EQ_U(r->stats[1][C2S].gap_bytes, 10);
	CHECK_EQ_U(flow_table_stats(t)->gap_bytes, 10);
	flow_table_free(t);
	CHECK_EQ_U(r->ends[1], 1);
	rec_free(r);

	/* hole, FIN, no ACKs: the flush at flow end turns the hole into a gap */
	r = rec_new();
	t = table_new(r, NULL);
	handshake(t, 0, c, s);
	send_pkt(t, 0, C2S, PA, c + 1, s + 1, "aaaaaaaaaa", 10);
	send_pkt(t, 0, C2S, PA | FIN, c + 21, 0, "cccccccccc", 10);
	flow_table_flush(t);
	CHECK_EQ_U(r->dir[1][C2S].gap_bytes, 10);
	CHECK_EQ_U(r->dir[1][C2S].len, 20);
	CHECK(memcmp(r->dir[1][C2S].buf + 10, "cccccccccc", 10) == 0);
	CHECK_EQ_U(r->dir[1][C2S].eofs, 1);
	CHECK_EQ_U(r->why[1], FLOW_END_SHUTDOWN);
	flow_table_free(t);
	CHECK_EQ_U(r->ends[1], 1);
	rec_free(r);
}

static void test_gap_ack_beyond(void)
{
	struct rec *r = rec_new();
	struct flow_table *t = table_new(r, NULL);
	uint32_t c = 0xFFFFFFF0u, s = 2;
	handshake(t, 0, c, s);
	send_pkt(t, 0, C2S, PA, c + 1, s + 1, "0123456789", 10);
	/* 10 bytes never captured; the server acknowledges them */
	send_pkt(t, 0, S2C, ACK, s + 1, c + 31, NULL, 0);
	CHECK_EQ_U(r->dir[1][C2S].gaps, 1);
	CHECK_EQ_U(r->dir[1][C2S].gap_bytes, 20);
	send_pkt(t, 0, C2S, PA, c + 31, s + 1, "xyz", 3);
	CHECK_EQ_U(r->dir[1][C2S].len, 13);
	CHECK(memcmp(r->dir[1][C2S].buf + 10, "xyz", 3) == 0);
	/* the late original is a retransmission now, not redelivered */
	send_pkt(t, 0, C2S, PA, c + 11, s + 1, "0123456789", 10);
	CHECK_EQ_U(r->dir[1][C2S].len, 13);
	/* an absurd ACK (far beyond any window) is ignored */
	send_pkt(t, 0, S2C, ACK, s + 1, c + 34 + 0x40000000u, NULL, 0);
	CHECK_EQ_U(r->dir[1][C2S].gaps, 1);
	flow_table_free(t);
	rec_free(r);
}

static void cfg_small_ooo(struct flow_table_config *c)
{
	c->max_ooo_bytes_per_dir = 100;
}

static void test_ooo_cap(void)
{
	struct rec *r = rec_new();
	struct flow_table *t = table_new(r, cfg_small_ooo);
	size_t base = flow_table_memory(t);
	uint32_t c = 10, s = 20;
	uint8_t buf[50];
	handshake(t, 0, c, s);
	memset(buf, 'a', sizeof(buf));
	/* hole at [0,10): three 50-byte segments ahead; the third exceeds the cap */
	send_pkt(t, 0, C2S, PA, c + 11, s + 1, buf, 50);
	send_pkt(t, 0, C2S, PA, c + 61, s + 1, buf, 50);
	CHECK_EQ_U(flow_table_stats(t)->ooo_bytes_held, 100);
	CHECK(flow_table_memory(t) > base + 100);
	send_pkt(t, 0, C2S, PA, c + 111, s + 1, buf, 50);
	const struct flow_table_stats *st = flow_table_stats(t);
	CHECK_EQ_U(st->ooo_dropped_cap, 1);
	CHECK_EQ_U(st->ooo_bytes_dropped_cap, 50);
	/* room was made: the hole became a gap and the buffer was delivered */
	CHECK_EQ_U(r->dir[1][C2S].gap_bytes, 10);
	CHECK_EQ_U(r->dir[1][C2S].len, 100);
	CHECK_EQ_U(st->ooo_bytes_held, 0);
	/* the dropped bytes become a gap at the end */
	send_pkt(t, 0, C2S, PA, c + 161, s + 1, buf, 10);
	flow_table_flush(t);
	CHECK_EQ_U(r->dir[1][C2S].gap_bytes, 60);
	CHECK_EQ_U(r->dir[1][C2S].len, 110);
	CHECK(r->anomalies[1] & FLOW_ANOM_OOO_CAP);
	CHECK_EQ_U(r->stats[1][C2S].gap_bytes + r->stats[1][C2S].delivered, 170);
	CHECK_EQ_U(flow_table_memory(t), base);
	flow_table_free(t);
	rec_free(r);
}

static void test_rst(void)
{
	struct rec *r = rec_new();
	struct flow_table *t = table_new(r, NULL);
	uint32_t c = 500, s = 600;
	handshake(t, 0, c, s);
	send_pkt(t, 0, C2S, PA, c + 1, s + 1, "hello", 5);
	/* out of window: ignored */
	struct flow *f = send_pkt(t, 0, S2C, RST, s + 1 + 0x10000000u, 0, NULL, 0);
	CHECK(f != NULL);
	CHECK(f && (flow_get_info(f)->anomalies & FLOW_ANOM_BAD_RST));
	CHECK_EQ_U(r->ends[1], 0);
	CHECK_EQ_U(flow_table_stats(t)->bad_rst, 1);
	/* behind next_seq: ignored too */
	send_pkt(t, 0, C2S, RST, c - 100, 0, NULL, 0);
	CHECK_EQ_U(r->ends[1], 0);
	/* buffered bytes after a hole are flushed (with a gap) before the end */
	send_pkt(t, 0, C2S, PA, c + 10, s + 1, "world", 5);
	f = send_pkt(t, 0, S2C, RST | ACK, s + 1, c + 6, NULL, 0);
	CHECK(f == NULL);
	CHECK_EQ_U(r->ends[1], 1);
	CHECK_EQ_U(r->why[1], FLOW_END_RST);
	CHECK_EQ_U(r->dir[1][C2S].len, 10);
	CHECK_EQ_U(r->dir[1][C2S].gap_bytes, 4);
	CHECK_EQ_U(r->dir[1][C2S].eofs, 0);
	/* RST answering a SYN (port closed) */
	send_pkt(t, 1, C2S, SYN, 42, 0, NULL, 0);
	send_pkt(t, 1, S2C, RST | ACK, 0, 43, NULL, 0);
	CHECK_EQ_U(r->ends[2], 1);
	CHECK_EQ_U(r->why[2], FLOW_END_RST);
	flow_table_free(t);
	CHECK_EQ_U(r->ends[1], 1);
	CHECK_EQ_U(r->ends[2], 1);
	rec_free(r);
}

static void test_wraparound(void)
{
	struct rec *r = rec_new();
	struct flow_table *t = table_new(r, NULL);
	uint32_t c = 0xFFFFFFFAu, s = 0xFFFFFFFFu;
	handshake(t, 0, c, s);
	/* bytes 0..19 cross 2^32; sent out of order */
	send_pkt(t, 0, C2S, PA, c + 11, s + 1, "klmnopqrst", 10);
	send_pkt(t, 0, C2S, PA, c + 6, s + 1, "fghij", 5);
	send_pkt(t, 0, C2S, PA, c + 1, s + 1, "abcde", 5);
	send_pkt(t, 0, S2C, PA, s + 1, c + 21, "0123", 4);
	CHECK_EQ_U(r->dir[1][C2S].len, 20);
	CHECK(memcmp(r->dir[1][C2S].buf, "abcdefghijklmnopqrst", 20) == 0);
	CHECK_EQ_U(r->dir[1][S2C].len, 4);
	send_pkt(t, 0, C2S, FIN | ACK, c + 21, s + 5, NULL, 0);
	send_pkt(t, 0, S2C, FIN | ACK, s + 5, c + 22, NULL, 0);
	CHECK_EQ_U(r->ends[1], 1);
	CHECK_EQ_U(r->why[1], FLOW_END_FIN);
	CHECK_EQ_U(r->dir[1][C2S].gaps + r->dir[1][S2C].gaps, 0);
	CHECK_EQ_U(r->stats[1][C2S].out_of_order, 2);
	flow_table_free(t);
	rec_free(r);
}

static void cfg_three(struct flow_table_config *c)
{
	c->max_flows = 3;
}

static void test_eviction_order(void)
{
	struct rec *r = rec_new();
	struct flow_table *t = table_new(r, cfg_three);
	for (int i = 0; i < 3; i++) {
		now_us += 10;
		handshake(t, i, 100u * (unsigned)i, 7);
	}
	/* touch flow 1 (conn 0) so flow 2 becomes the least recently used */
	now_us += 10;
	send_pkt(t, 0, C2S, PA, 1, 8, "x", 1);
	now_us += 10;
	handshake(t, 3, 1, 1);
	CHECK_EQ_U(r->n_ended, 1);
	CHECK_EQ_U(r->end_order[0], 2);
	CHECK_EQ_U(r->why[2], FLOW_END_EVICTED);
	now_us += 10;
	handshake(t, 4, 1, 1);
	CHECK_EQ_U(r->end_order[1], 3);
	CHECK_EQ_U(flow_table_stats(t)->flows_evicted, 2);
	CHECK_EQ_U(flow_table_stats(t)->flows_active, 3);
	flow_table_flush(t);
	/* flush: oldest first: conn 0 (flow 1), then flows 4, 5 */
	CHECK_EQ_U(r->n_ended, 5);
	CHECK_EQ_U(r->end_order[2], 1);
	CHECK_EQ_U(r->end_order[3], 4);
	CHECK_EQ_U(r->end_order[4], 5);
	CHECK_EQ_U(r->why[1], FLOW_END_SHUTDOWN);
	flow_table_free(t);
	CHECK_EQ_U(r->n_ended, 5);
	rec_free(r);
}

static void cfg_timeouts(struct flow_table_config *c)
{
	c->timeout_syn_us = 100;
	c->timeout_established_us = 1000;
	c->timeout_closed_us = 300;
}

static void test_expiry_order(void)
{
	struct rec *r = rec_new();
	struct flow_table *t = table_new(r, cfg_timeouts);
	uint64_t t0 = now_us;
	now_us = t0;
	handshake(t, 0, 1, 1); /* flow 1: established at t0 */
	now_us = t0 + 10;
	send_pkt(t, 1, C2S, SYN, 1, 0, NULL, 0); /* flow 2: syn at t0+10 */
	now_us = t0 + 20;
	handshake(t, 2, 1, 1);
	send_pkt(t, 2, C2S, FIN | ACK, 2, 2, NULL, 0); /* flow 3: closing at t0+20 */
	now_us = t0 + 30;
	handshake(t, 3, 1, 1); /* flow 4: established at t0+30 */
	flow_table_expire(t, t0 - 5000); /* an older time expires nothing */
	CHECK_EQ_U(r->n_ended, 0);
	flow_table_expire(t, t0 + 109);
	CHECK_EQ_U(r->n_ended, 0);
	flow_table_expire(t, t0 + 110);
	CHECK_EQ_U(r->n_ended, 1);
	CHECK_EQ_U(r->end_order[0], 2);
	CHECK_EQ_U(r->why[2], FLOW_END_TIMEOUT);
	/* a packet keeps flow 1 alive */
	now_us = t0 + 500;
	send_pkt(t, 0, C2S, PA, 2, 2, "k", 1);
	flow_table_expire(t, t0 + 1100);
	/* closing flow 3 (idle since t0+20) and flow 4 (t0+30), in LRU order */
	CHECK_EQ_U(r->n_ended, 3);
	CHECK_EQ_U(r->end_order[1], 3);
	CHECK_EQ_U(r->end_order[2], 4);
	CHECK_EQ_U(r->dir[3][C2S].eofs, 1);
	flow_table_expire(t, t0 + 1500);
	CHECK_EQ_U(r->n_ended, 4);
	CHECK_EQ_U(r->end_order[3], 1);
	CHECK_EQ_U(flow_table_stats(t)->flows_timed_out, 4);
	flow_table_free(t);
	for (int i = 1; i <= 4; i++)
		CHECK_EQ_U(r->ends[i], 1);
	rec_free(r);
}

/* Flush order must not depend on the hash key: two tables (two random keys)
 * fed the same packets end flows in the same order. */
static void test_flush_deterministic(void)
{
	uint64_t order[2][MAX_IDS];
	for (int k = 0; k < 2; k++) {
		struct rec *r = rec_new();
		struct flow_table *t = table_new(r, NULL);
		for (int i = 0; i < 12; i++) {
			now_us += 1;
			handshake(t, (i * 7) % 12, 1, 1);
		}
		now_us += 1;
		send_pkt(t, 5, C2S, PA, 2, 2, "z", 1);
		flow_table_free(t);
		CHECK_EQ_U(r->n_ended, 12);
		memcpy(order[k], r->end_order, sizeof(order[k]));
		rec_free(r);
	}
	CHECK(memcmp(order[0], order[1], 12 * sizeof(uint64_t)) == 0);
	/* conn 5 was created 11th (i=11: 77%12=5) and touched last */
	CHECK_EQ_U(order[0][0], 1);
	CHECK_EQ_U(order[0][11], 12);
}

static void test_stop_delivery(void)
{
	struct rec *r = rec_new();
	struct flow_table *t = table_new(r, NULL);
	size_t base = flow_table_memory(t);
	r->stop_after = 4;
	uint32_t c = 1, s = 1;
	handshake(t, 0, c, s);
	/* buffer something ahead, then fill the hole: the callback stops delivery
	 * after the first chunk; the buffered piece must not be delivered */
	send_pkt(t, 0, C2S, PA, c + 5, s + 1, "efgh", 4);
	struct flow *f = send_pkt(t, 0, C2S, PA, c + 1, s + 1, "abcd", 4);
	CHECK_EQ_U(r->dir[1][C2S].len, 4);
	send_pkt(t, 0, C2S, PA, c + 9, s + 1, "ijkl", 4);
	send_pkt(t, 0, C2S, PA, c + 20, s + 1, "mnop", 4);
	CHECK_EQ_U(r->dir[1][C2S].len, 4);
	CHECK_EQ_U(r->dir[1][C2S].gaps, 0);
	CHECK(f && flow_get_info(f)->dir[C2S].packets == 6);
	CHECK(f && flow_get_info(f)->dir[C2S].bytes == 16);
	CHECK(f && flow_get_info(f)->dir[C2S].delivered == 4);
	CHECK_EQ_U(flow_table_stats(t)->ooo_bytes_held, 0);
	/* the other direction still flows */
	send_pkt(t, 0, S2C, PA, s + 1, c + 24, "250", 3);
	CHECK_EQ_U(r->dir[1][S2C].len, 3);
	send_pkt(t, 0, C2S, FIN | ACK, c + 24, s + 4, NULL, 0);
	CHECK_EQ_U(r->dir[1][C2S].eofs, 1);
	flow_table_flush(t);
	CHECK_EQ_U(r->dir[1][C2S].gaps, 0);
	CHECK_EQ_U(r->ends[1], 1);
	CHECK_EQ_U(flow_table_memory(t), base);
	flow_table_free(t);
	rec_free(r);
}

static void test_misc_flags(void)
{
	struct rec *r = rec_new();
	struct flow_table *t = table_new(r, NULL);
	/* TFO: data on the SYN */
	send_pkt(t, 0, C2S, SYN, 1000, 0, "tfo!", 4);
	send_pkt(t, 0, S2C, SYN | ACK, 50, 1005, NULL, 0);
	struct flow *f = send_pkt(t, 0, C2S, PA, 1005, 51, "more", 4);
	CHECK_EQ_U(r->dir[1][C2S].len, 8);
	CHECK(r->dir[1][C2S].buf && memcmp(r->dir[1][C2S].buf, "tfo!more", 8) == 0);
	CHECK(f && (flow_get_info(f)->anomalies & FLOW_ANOM_SYN_DATA));
	CHECK(f && !(flow_get_info(f)->anomalies & FLOW_ANOM_HANDSHAKE));

	/* bad checksum: processed, marked */
	struct packet p;
	memset(&p, 0, sizeof(p));
	p.ts_us = now_us;
	p.src.family = p.dst.family = 4;
	p.src.addr[0] = 10;
	p.src.addr[3] = 1;
	p.dst.addr[0] = 10;
	p.dst.addr[3] = 2;
	p.sport = 40000;
	p.dport = 25;
	p.seq = 1009;
	p.ack = 51;
	p.tcp_flags = PA;
	p.flags = PKT_TCP_CSUM_BAD;
	p.payload = (const uint8_t *)"csum";
	p.payload_len = 4;
	CHECK(flow_table_process(t, &p, NULL) == f);
	CHECK_EQ_U(r->dir[1][C2S].len, 12);
	CHECK(f && (flow_get_info(f)->anomalies & FLOW_ANOM_BAD_CSUM));

	/* truncated payload: IPv4 header says 40 + 20 + 10 bytes, 4 captured */
	uint8_t l3[64];
	memset(l3, 0, sizeof(l3));
	l3[0] = 0x45;
	l3[3] = 20 + 20 + 10;
	memcpy(l3 + 40, "trun", 4);
	p.flags = PKT_TRUNCATED_PAYLOAD;
	p.seq = 1013;
	p.l3 = l3;
	p.l3_len = 44;
	p.payload = l3 + 40;
	p.payload_len = 4;
	flow_table_process(t, &p, NULL);
	CHECK_EQ_U(r->dir[1][C2S].len, 16);
	CHECK_EQ_U(r->dir[1][C2S].gap_bytes, 6);
	CHECK(f && flow_get_info(f)->dir[C2S].bytes == 22);
	CHECK(f && (flow_get_info(f)->anomalies & FLOW_ANOM_TRUNCATED));
	send_pkt(t, 0, C2S, PA, 1023, 51, "next", 4);
	CHECK_EQ_U(r->dir[1][C2S].len, 20);

	/* far ahead: bad seq, dropped */
	send_pkt(t, 0, C2S, PA, 1027 + (64u << 20), 51, "zz", 2);
	CHECK_EQ_U(flow_table_stats(t)->bad_seq, 1);
	CHECK(f && (flow_get_info(f)->anomalies & FLOW_ANOM_BAD_SEQ));

	/* data after FIN is cut */
	send_pkt(t, 0, C2S, PA | FIN, 1027, 51, "end", 3);
	send_pkt(t, 0, C2S, PA, 1030, 51, "after", 5);
	CHECK(f && (flow_get_info(f)->anomalies & FLOW_ANOM_DATA_AFTER_FIN));
	CHECK_EQ_U(r->dir[1][C2S].len, 23);
	CHECK_EQ_U(r->dir[1][C2S].eofs, 1);

	/* another VLAN is another flow */
	p.flags = 0;
	p.l3 = NULL;
	p.vlan[0] = 7;
	p.vlan_count = 1;
	p.tcp_flags = SYN;
	p.payload = NULL;
	p.payload_len = 0;
	struct flow *g = flow_table_process(t, &p, NULL);
	CHECK(g != NULL && g != f);
	CHECK(g && flow_get_info(g)->tuple.vlan == 7);
	flow_table_free(t);
	CHECK_EQ_U(r->ends[1], 1);
	CHECK_EQ_U(r->ends[2], 1);
	rec_free(r);
}

static void test_names_and_config(void)
{
	CHECK_STR(flow_end_reason_name(FLOW_END_EVICTED), "evicted");
	CHECK_STR(flow_anomaly_name(FLOW_ANOM_OVERLAP_CONFLICT), "overlap_conflict");
	CHECK_STR(flow_anomaly_name(FLOW_ANOM_TRUNCATED), "truncated");
	CHECK(flow_anomaly_name(3) == NULL);
	struct flow_table_config cfg;
	flow_table_config_default(&cfg);
	cfg.max_flows = 0;
	CHECK(flow_table_new(&cfg, &cbs, NULL) == NULL);
}

static void test_memory_per_flow(void)
{
	struct rec *r = rec_new();
	struct flow_table_config cfg;
	flow_table_config_default(&cfg);
	cfg.max_flows = 4096;
	struct flow_table *t = flow_table_new(&cfg, &cbs, r);
	size_t empty = flow_table_memory(t);
	for (int i = 0; i < 4096; i++) {
		struct packet p;
		memset(&p, 0, sizeof(p));
		p.ts_us = now_us;
		p.src.family = p.dst.family = 4;
		p.src.addr[0] = 10;
		p.src.addr[2] = (uint8_t)(i >> 8);
		p.src.addr[3] = (uint8_t)i;
		p.dst.addr[0] = 10;
		p.sport = 1024;
		p.dport = 25;
		p.tcp_flags = SYN;
		flow_table_process(t, &p, NULL);
	}
	size_t per = flow_table_memory(t) / 4096;
	fprintf(stderr, "memory per idle flow (incl. bucket share): %zu bytes, table overhead %zu\n",
		per, empty);
	CHECK(per <= 512);
	CHECK_EQ_U(flow_table_stats(t)->flows_active, 4096);
	flow_table_free(t);
	rec_free(r);
}

int main(void)
{
	RUN(test_names_and_config);
	RUN(test_handshake_both_directions);
	RUN(test_synack_first);
	RUN(test_midstream);
	RUN(test_permutation_property);
	RUN(test_overlap_conflict);
	RUN(test_gap_fin);
	RUN(test_gap_ack_beyond);
	RUN(test_ooo_cap);
	RUN(test_rst);
	RUN(test_wraparound);
	RUN(test_eviction_order);
	RUN(test_expiry_order);
	RUN(test_flush_deterministic);
	RUN(test_stop_delivery);
	RUN(test_misc_flags);
	RUN(test_memory_per_flow);
	return tl_finish();
}
