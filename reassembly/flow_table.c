/* Flow table: bidirectional lookup, LRU bookkeeping and TCP connection state.
 *
 * Lookup: open hashing (chained buckets, power-of-two array >= max_flows)
 * keyed with SipHash-2-4 over the direction-independent tuple.
 *
 * Order: each flow sits on one of three LRU lists, one per timeout class
 * (handshake, established, closing), in the order of its last packet.  The
 * table clock is the largest packet time seen, so every list is also sorted
 * by idle time and expiry only looks at list heads.  Eviction, expiry and
 * flush merge the heads by a table-wide touch counter: the order never
 * depends on the hash key.
 *
 * Policies (see also tcp_stream.c):
 * - Closing: when both directions have sent FIN the flow ends at once
 *   (FLOW_END_FIN) after its bytes are delivered, holes becoming gaps.  Stray
 *   packets after that (last ACK, retransmitted FIN) find no flow and count as
 *   packets_untracked; a payload-less packet never creates a flow.
 * - A FIN beyond a hole waits: the hole becomes a gap when the receiver ACKs
 *   past it, when the other side also closes, or when the flow ends.
 * - RST: valid when its sequence number lies in [next_seq, max_seq + window]
 *   of its sender (or, answering a SYN, when it ACKs the SYN).  A valid RST
 *   flushes both directions and ends the flow; others set FLOW_ANOM_BAD_RST
 *   and are ignored.
 * - Bad TCP checksum: processed normally (offload makes most of them benign
 *   in captures), the flow gets FLOW_ANOM_BAD_CSUM.
 * - A SYN on a flow whose sequence space is set, with another ISN, is an odd
 *   handshake (FLOW_ANOM_HANDSHAKE) and is ignored.
 * - Callbacks must not call flow_table_process/expire/flush/free re-entrantly;
 *   flow_stop_delivery and flow_set_app are fine. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reassembly/flow.h"
#include "reassembly/tcp_stream.h"

#define FLOW_MAX_FLOWS (1u << 26)

const char *flow_end_reason_name(enum flow_end_reason r)
{
	switch (r) {
	case FLOW_END_FIN: return "fin";
	case FLOW_END_RST: return "rst";
	case FLOW_END_TIMEOUT: return "timeout";
	case FLOW_END_EVICTED: return "evicted";
	case FLOW_END_SHUTDOWN: return "shutdown";
	}
	return "unknown";
}

const char *flow_anomaly_name(uint32_t bit)
{
	static const char *const names[FLOW_ANOM_COUNT] = {
		"midstream", "overlap_conflict", "gap", "ooo_cap", "bad_seq", "data_after_fin",
		"syn_data", "bad_rst", "handshake", "bad_csum", "truncated",
	};
	for (unsigned i = 0; i < FLOW_ANOM_COUNT; i++)
		if (bit == (1u << i))
			return names[i];
	return NULL;
}

void flow_table_config_default(struct flow_table_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_flows = 65536;
	cfg->timeout_syn_us = 30ull * 1000000;
	cfg->timeout_established_us = 600ull * 1000000; /* > SMTP's 5 min command timeout */
	cfg->timeout_closed_us = 60ull * 1000000;
	cfg->max_ooo_bytes_per_dir = 256 * 1024;
	cfg->max_ooo_bytes_total = 64ull * 1024 * 1024;
	cfg->allow_midstream = true;
	cfg->max_ooo_segments_per_dir = 512;
	cfg->history_bytes_per_dir = 2048;
}

const struct flow_info *flow_get_info(const struct flow *f)
{
	return &f->info;
}

void *flow_get_app(const struct flow *f)
{
	return f->app;
}

void flow_set_app(struct flow *f, void *app)
{
	f->app = app;
}

/* ---- LRU lists ---- */

static void lru_unlink(struct flow_table *t, struct flow *f)
{
	struct flow_lru *l = &t->lru[f->cls];
	if (f->lru_prev)
		f->lru_prev->lru_next = f->lru_next;
	else
		l->head = f->lru_next;
	if (f->lru_next)
		f->lru_next->lru_prev = f->lru_prev;
	else
		l->tail = f->lru_prev;
	f->lru_prev = f->lru_next = NULL;
}

static void lru_append(struct flow_table *t, struct flow *f)
{
	struct flow_lru *l = &t->lru[f->cls];
	f->lru_next = NULL;
	f->lru_prev = l->tail;
	if (l->tail)
		l->tail->lru_next = f;
	else
		l->head = f;
	l->tail = f;
}

static void flow_touch(struct flow_table *t, struct flow *f, uint8_t cls)
{
	lru_unlink(t, f);
	f->cls = cls;
	f->touch = ++t->touch_counter;
	f->touch_us = t->clock_us;
	lru_append(t, f);
}

/* The least recently touched flow of all classes, or NULL. */
static struct flow *lru_oldest(const struct flow_table *t)
{
	struct flow *best = NULL;
	for (int c = 0; c < FLOW_CLASS_COUNT; c++) {
		struct flow *h = t->lru[c].head;
		if (h && (!best || h->touch < best->touch))
			best = h;
	}
	return best;
}

/* ---- hashing ---- */

struct flow_key {
	uint8_t buf[1 + 2 + 2 * (16 + 2)];
};

static int endpoint_cmp(const struct ip_addr *a, uint16_t ap, const struct ip_addr *b, uint16_t bp)
{
	int c = memcmp(a->addr, b->addr, sizeof(a->addr));
	if (c)
		return c;
	return (int)ap - (int)bp;
}

static void key_put(uint8_t *p, const struct ip_addr *a, uint16_t port)
{
	memcpy(p, a->addr, 16);
	p[16] = (uint8_t)(port >> 8);
	p[17] = (uint8_t)port;
}

static uint32_t packet_hash(const struct flow_table *t, const struct packet *p, uint16_t vlan)
{
	struct flow_key k;
	k.buf[0] = p->src.family;
	k.buf[1] = (uint8_t)(vlan >> 8);
	k.buf[2] = (uint8_t)vlan;
	/* Direction-independent: the lower endpoint first. */
	if (endpoint_cmp(&p->src, p->sport, &p->dst, p->dport) <= 0) {
		key_put(k.buf + 3, &p->src, p->sport);
		key_put(k.buf + 21, &p->dst, p->dport);
	} else {
		key_put(k.buf + 3, &p->dst, p->dport);
		key_put(k.buf + 21, &p->src, p->sport);
	}
	return (uint32_t)siphash24(&t->key, k.buf, sizeof(k.buf));
}

static bool addr_eq(const struct ip_addr *a, const struct ip_addr *b)
{
	return a->family == b->family && memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

static struct flow *flow_lookup(struct flow_table *t, const struct packet *p, uint16_t vlan,
				uint32_t hash, enum flow_dir *dir)
{
	for (struct flow *f = t->buckets[hash & t->bucket_mask]; f; f = f->hnext) {
		const struct flow_tuple *tu = &f->info.tuple;
		if (f->hash != hash || tu->vlan != vlan)
			continue;
		if (tu->client_port == p->sport && tu->server_port == p->dport &&
		    addr_eq(&tu->client, &p->src) && addr_eq(&tu->server, &p->dst)) {
			*dir = FLOW_DIR_TO_SERVER;
			return f;
		}
		if (tu->client_port == p->dport && tu->server_port == p->sport &&
		    addr_eq(&tu->client, &p->dst) && addr_eq(&tu->server, &p->src)) {
			*dir = FLOW_DIR_TO_CLIENT;
			return f;
		}
	}
	return NULL;
}

static void hash_unlink(struct flow_table *t, struct flow *f)
{
	struct flow **pp = &t->buckets[f->hash & t->bucket_mask];
	while (*pp && *pp != f)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = f->hnext;
	f->hnext = NULL;
}

/* ---- flow end ---- */

static void flow_end(struct flow_table *t, struct flow *f, enum flow_end_reason why)
{
	if (f->ending)
		return;
	f->ending = true;
	/* Whatever is buffered is delivered, holes become gaps: every byte seen
	 * is accounted for before the end. */
	for (int d = 0; d < 2; d++) {
		struct tcp_half *h = &f->half[d];
		tcp_half_flush(t, f, (enum flow_dir)d);
		if ((h->flags & TH_FIN_SEEN) && !(h->flags & TH_EOF_SENT) && why != FLOW_END_RST &&
		    h->next_seq == h->fin_seq) {
			h->flags |= TH_EOF_SENT;
			if (t->cb.eof)
				t->cb.eof(t->user, f, (enum flow_dir)d);
		}
	}
	hash_unlink(t, f);
	lru_unlink(t, f);
	t->stats.flows_ended++;
	t->stats.flows_active--;
	if (why == FLOW_END_EVICTED)
		t->stats.flows_evicted++;
	else if (why == FLOW_END_TIMEOUT)
		t->stats.flows_timed_out++;
	if (t->cb.end)
		t->cb.end(t->user, f, why);
	tcp_half_release(t, &f->half[0]);
	tcp_half_release(t, &f->half[1]);
	t->mem_dynamic -= sizeof(*f);
	free(f);
}

/* ---- table ---- */

struct flow_table *flow_table_new(const struct flow_table_config *cfg,
				  const struct reasm_callbacks *cb, void *user)
{
	if (!cfg || cfg->max_flows == 0 || cfg->max_flows > FLOW_MAX_FLOWS ||
	    cfg->history_bytes_per_dir > 65535 || cfg->max_ooo_segments_per_dir > 65535) {
		errno = EINVAL;
		return NULL;
	}
	struct flow_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->cfg = *cfg;
	if (cb)
		t->cb = *cb;
	t->user = user;
	uint32_t n = 1;
	while (n < cfg->max_flows)
		n <<= 1;
	t->buckets = calloc(n, sizeof(*t->buckets));
	if (!t->buckets || siphash_key_random(&t->key) != 0) {
		int e = errno;
		free(t->buckets);
		free(t);
		errno = e ? e : ENOMEM;
		return NULL;
	}
	t->bucket_mask = n - 1;
	t->next_id = 1;
	t->timeout_us[FLOW_CLASS_SYN] = cfg->timeout_syn_us;
	t->timeout_us[FLOW_CLASS_EST] = cfg->timeout_established_us;
	t->timeout_us[FLOW_CLASS_CLOSING] = cfg->timeout_closed_us;
	return t;
}

void flow_table_flush(struct flow_table *t)
{
	struct flow *f;
	while ((f = lru_oldest(t)) != NULL)
		flow_end(t, f, FLOW_END_SHUTDOWN);
}

void flow_table_free(struct flow_table *t)
{
	if (!t)
		return;
	flow_table_flush(t);
	free(t->buckets);
	free(t);
}

void flow_table_expire(struct flow_table *t, uint64_t now_us)
{
	if (now_us > t->clock_us)
		t->clock_us = now_us;
	for (;;) {
		struct flow *best = NULL;
		for (int c = 0; c < FLOW_CLASS_COUNT; c++) {
			struct flow *h = t->lru[c].head;
			if (h && now_us >= h->touch_us && now_us - h->touch_us >= t->timeout_us[c] &&
			    (!best || h->touch < best->touch))
				best = h;
		}
		if (!best)
			return;
		flow_end(t, best, FLOW_END_TIMEOUT);
	}
}

/* ---- per-packet processing ---- */

static bool is_service_port(uint16_t port)
{
	static const uint16_t ports[] = {25,  587, 465, 2525, 80,  443, 8080, 8443, 110,
					 995, 143, 993, 21,   22,  23,  53,   3128, 8000};
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
		if (ports[i] == port)
			return true;
	return false;
}

/* Midstream guess: the server is the side on a well-known service port, else
 * the lower port (ephemeral ports are high); ties: the destination. */
static bool midstream_src_is_client(const struct packet *p)
{
	bool s = is_service_port(p->sport), d = is_service_port(p->dport);
	if (s != d)
		return d;
	return p->sport >= p->dport;
}

/* Payload length on the wire: payload_len unless snaplen cut it; then the IP
 * header's length field tells how long the segment really was. */
static uint32_t packet_true_len(const struct packet *p)
{
	uint32_t n = p->payload ? p->payload_len : 0;
	if (!(p->flags & PKT_TRUNCATED_PAYLOAD) || !p->l3 || !p->payload || p->payload < p->l3)
		return n;
	size_t hdr = (size_t)(p->payload - p->l3);
	size_t ip_len;
	if (p->l3_len >= 20 && (p->l3[0] >> 4) == 4)
		ip_len = (size_t)p->l3[2] << 8 | p->l3[3];
	else if (p->l3_len >= 40 && (p->l3[0] >> 4) == 6)
		ip_len = 40 + ((size_t)p->l3[4] << 8 | p->l3[5]);
	else
		return n;
	if (ip_len < hdr || ip_len - hdr < n || ip_len - hdr > 65535)
		return n;
	return (uint32_t)(ip_len - hdr);
}

static struct flow *flow_create(struct flow_table *t, const struct packet *p, uint16_t vlan,
				uint32_t hash, bool src_is_client)
{
	if (t->stats.flows_active >= t->cfg.max_flows) {
		struct flow *old = lru_oldest(t);
		if (old)
			flow_end(t, old, FLOW_END_EVICTED);
	}
	struct flow *f = calloc(1, sizeof(*f));
	if (!f) {
		t->stats.alloc_failures++;
		return NULL;
	}
	f->table = t;
	f->hash = hash;
	f->info.id = t->next_id++;
	struct flow_tuple *tu = &f->info.tuple;
	tu->client = src_is_client ? p->src : p->dst;
	tu->server = src_is_client ? p->dst : p->src;
	tu->client_port = src_is_client ? p->sport : p->dport;
	tu->server_port = src_is_client ? p->dport : p->sport;
	tu->vlan = vlan;
	f->info.first_ts_us = f->info.last_ts_us = p->ts_us;
	f->hnext = t->buckets[hash & t->bucket_mask];
	t->buckets[hash & t->bucket_mask] = f;
	f->cls = FLOW_CLASS_SYN;
	f->touch = ++t->touch_counter;
	f->touch_us = t->clock_us;
	lru_append(t, f);
	t->mem_dynamic += sizeof(*f);
	t->stats.flows_created++;
	t->stats.flows_active++;
	return f;
}

static void half_set_seq(struct tcp_half *h, uint32_t isn)
{
	h->isn = isn;
	h->next_seq = h->max_seq = isn + 1;
	h->flags |= TH_SEQ_SET;
}

static void handle_syn(struct flow *f, enum flow_dir d, const struct packet *p)
{
	struct tcp_half *h = &f->half[d], *o = &f->half[!d];
	bool ack = p->tcp_flags & TCP_ACK;
	if ((d == FLOW_DIR_TO_SERVER) == ack)
		f->info.anomalies |= FLOW_ANOM_HANDSHAKE; /* simultaneous open or reversed roles */
	if (h->flags & TH_SYN_SEEN) {
		if (p->seq != h->isn)
			f->info.anomalies |= FLOW_ANOM_HANDSHAKE; /* new ISN on a live flow: ignored */
		return;
	}
	if (h->flags & TH_SEQ_SET) {
		if (h->isn != p->seq && (h->flags & TH_DATA_SEEN)) {
			f->info.anomalies |= FLOW_ANOM_HANDSHAKE;
			return;
		}
		if (h->isn != p->seq)
			half_set_seq(h, p->seq);
	} else {
		half_set_seq(h, p->seq);
	}
	h->flags |= TH_SYN_SEEN;
	if (p->opt.has_wscale) {
		h->flags |= TH_WSCALE;
		h->wscale = p->opt.wscale > 14 ? 14 : p->opt.wscale;
	}
	if (ack) {
		if (!(o->flags & TH_SEQ_SET))
			half_set_seq(o, p->ack - 1);
		else if (seq_lt(p->ack, o->isn + 1) || seq_gt(p->ack, o->max_seq))
			f->info.anomalies |= FLOW_ANOM_HANDSHAKE;
	}
}

static bool rst_valid(const struct flow *f, enum flow_dir d, const struct packet *p)
{
	const struct tcp_half *h = &f->half[d], *o = &f->half[!d];
	if (h->flags & TH_SEQ_SET) {
		uint32_t win = o->win_max > 65535 ? o->win_max : 65535;
		if (seq_ge(p->seq, h->next_seq) && seq_le(p->seq, h->max_seq + win))
			return true;
	}
	/* An RST answering a SYN (or from a side whose bytes we never saw) is
	 * believed when it acknowledges exactly what the peer sent. */
	if (!(h->flags & TH_DATA_SEEN) && (p->tcp_flags & TCP_ACK) && (o->flags & TH_SEQ_SET) &&
	    seq_ge(p->ack, o->isn + 1) && seq_le(p->ack, o->max_seq + 1))
		return true;
	return false;
}

static void check_eof(struct flow_table *t, struct flow *f, enum flow_dir d)
{
	struct tcp_half *h = &f->half[d];
	if ((h->flags & (TH_FIN_SEEN | TH_EOF_SENT)) != TH_FIN_SEEN)
		return;
	if (h->next_seq != h->fin_seq && !(h->flags & TH_STOPPED))
		return;
	h->flags |= TH_EOF_SENT;
	if (t->cb.eof)
		t->cb.eof(t->user, f, d);
}

struct flow *flow_table_process(struct flow_table *t, const struct packet *p, enum flow_dir *dirp)
{
	if (p->ts_us > t->clock_us)
		t->clock_us = p->ts_us;
	uint16_t vlan = p->vlan_count ? p->vlan[0] : 0;
	uint32_t hash = packet_hash(t, p, vlan);
	uint8_t fl = p->tcp_flags;
	uint32_t caplen = p->payload ? p->payload_len : 0;
	uint32_t truelen = packet_true_len(p);
	enum flow_dir d = FLOW_DIR_TO_SERVER;
	struct flow *f = flow_lookup(t, p, vlan, hash, &d);

	if (!f) {
		bool src_client, midstream = false;
		if (fl & TCP_RST)
			goto untracked;
		if ((fl & (TCP_SYN | TCP_ACK)) == TCP_SYN)
			src_client = true;
		else if ((fl & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK))
			src_client = false;
		else if (t->cfg.allow_midstream && truelen > 0 && !(fl & TCP_SYN)) {
			midstream = true;
			src_client = midstream_src_is_client(p);
		} else
			goto untracked;
		f = flow_create(t, p, vlan, hash, src_client);
		if (!f)
			goto untracked;
		d = src_client ? FLOW_DIR_TO_SERVER : FLOW_DIR_TO_CLIENT;
		if (midstream) {
			f->info.anomalies |= FLOW_ANOM_MIDSTREAM;
			t->stats.flows_midstream++;
		} else {
			f->info.handshake_seen = true;
		}
	}
	if (dirp)
		*dirp = d;

	struct tcp_half *h = &f->half[d], *o = &f->half[!d];
	f->info.dir[d].packets++;
	f->info.dir[d].bytes += truelen;
	if (p->ts_us > f->info.last_ts_us)
		f->info.last_ts_us = p->ts_us;
	if (p->flags & PKT_TCP_CSUM_BAD)
		f->info.anomalies |= FLOW_ANOM_BAD_CSUM;
	if (p->flags & PKT_TRUNCATED_PAYLOAD)
		f->info.anomalies |= FLOW_ANOM_TRUNCATED;

	if (fl & TCP_RST) {
		if (rst_valid(f, d, p)) {
			flow_end(t, f, FLOW_END_RST);
			return NULL;
		}
		f->info.anomalies |= FLOW_ANOM_BAD_RST;
		t->stats.bad_rst++;
		flow_touch(t, f, f->cls);
		return f;
	}

	uint32_t data_seq = p->seq;
	if (fl & TCP_SYN) {
		handle_syn(f, d, p);
		data_seq = p->seq + 1;
		if (truelen)
			f->info.anomalies |= FLOW_ANOM_SYN_DATA;
	} else {
		uint32_t w = p->window;
		if ((h->flags & TH_WSCALE) && (o->flags & TH_WSCALE))
			w <<= h->wscale;
		if (w > h->win_max)
			h->win_max = w;
	}

	if (fl & TCP_ACK) {
		if (!(o->flags & TH_SEQ_SET)) {
			/* Midstream: the ACK tells where the peer's bytes continue. */
			if (!f->info.handshake_seen)
				half_set_seq(o, p->ack - 1);
		} else {
			/* The receiver acknowledges bytes we never saw: they are lost. */
			uint32_t target = p->ack;
			if ((o->flags & TH_FIN_SEEN) && seq_gt(target, o->fin_seq))
				target = o->fin_seq;
			int32_t ahead = seq_diff(target, o->next_seq);
			if (ahead > 0 && (uint32_t)ahead <= tcp_half_window_limit(f, (enum flow_dir)!d)) {
				if (seq_gt(target, o->max_seq))
					o->max_seq = target;
				tcp_half_advance_to(t, f, (enum flow_dir)!d, target);
			}
		}
	}

	if (truelen)
		tcp_half_segment(t, f, d, data_seq, p->payload, caplen, truelen);

	if (fl & TCP_FIN) {
		uint32_t fs = data_seq + truelen;
		if (!(h->flags & TH_SEQ_SET))
			half_set_seq(h, fs - 1);
		int32_t rel = seq_diff(fs, h->next_seq);
		if (rel < 0 || (uint32_t)rel > tcp_half_window_limit(f, d)) {
			f->info.anomalies |= FLOW_ANOM_BAD_SEQ;
			t->stats.bad_seq++;
		} else if (!(h->flags & TH_FIN_SEEN)) {
			h->fin_seq = fs;
			h->flags |= TH_FIN_SEEN;
			if (seq_gt(fs, h->max_seq))
				h->max_seq = fs;
		}
	}
	check_eof(t, f, d);
	check_eof(t, f, (enum flow_dir)!d);
	if ((h->flags & TH_FIN_SEEN) && (o->flags & TH_FIN_SEEN)) {
		flow_end(t, f, FLOW_END_FIN);
		return NULL;
	}

	uint8_t cls = FLOW_CLASS_SYN;
	if ((h->flags | o->flags) & TH_FIN_SEEN)
		cls = FLOW_CLASS_CLOSING;
	else if (!f->info.handshake_seen || (f->half[FLOW_DIR_TO_CLIENT].flags & TH_SYN_SEEN) ||
		 ((h->flags | o->flags) & TH_DATA_SEEN))
		cls = FLOW_CLASS_EST;
	flow_touch(t, f, cls);
	return f;

untracked:
	t->stats.packets_untracked++;
	if (dirp)
		*dirp = d;
	return NULL;
}

const struct flow_table_stats *flow_table_stats(const struct flow_table *t)
{
	return &t->stats;
}

size_t flow_table_memory(const struct flow_table *t)
{
	return sizeof(*t) + (size_t)(t->bucket_mask + 1) * sizeof(*t->buckets) + t->mem_dynamic;
}

void flow_stop_delivery(struct flow *f, enum flow_dir dir)
{
	struct tcp_half *h = &f->half[dir];
	if (h->flags & TH_STOPPED)
		return;
	h->flags |= TH_STOPPED;
	/* Buffered bytes will never be delivered: free them now (safe inside a
	 * data callback: the piece being delivered is already unlinked). */
	tcp_half_release(f->table, h);
}
