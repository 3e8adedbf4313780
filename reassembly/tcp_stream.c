/* Per-direction TCP byte reassembly.
 *
 * In-order bytes go to the data callback straight from the packet (no copy).
 * Bytes ahead of a hole are copied into a sorted list of non-overlapping
 * pieces, bounded per direction (bytes and pieces) and per table (bytes).
 * First seen data wins: a later segment covering buffered or recently
 * delivered bytes is compared, never substituted; differing bytes are an
 * overlap conflict.  Delivered bytes are remembered in a small ring
 * (history_bytes_per_dir, lazily allocated) for that comparison; older
 * retransmissions are only counted.  A gap resets the ring (its bytes no
 * longer end at next_seq). */
#include "reassembly/tcp_stream.h"

#include <stdlib.h>
#include <string.h>

/* Segments that start more than this far ahead of next_seq are "far outside
 * the window" when the receiver's window is not larger. */
#define TCP_MIN_WINDOW_LIMIT (1u << 20)
/* Segments ending more than this far behind next_seq are bogus, not retransmissions. */
#define TCP_MAX_BEHIND (1u << 30)

static void anomaly(struct flow *f, uint32_t bit)
{
	f->info.anomalies |= bit;
}

uint32_t tcp_half_window_limit(const struct flow *f, enum flow_dir d)
{
	uint32_t w = f->half[!d].win_max; /* receiver's window bounds what the sender may send */
	if (w < TCP_MIN_WINDOW_LIMIT)
		w = TCP_MIN_WINDOW_LIMIT;
	if (w > (1u << 30))
		w = 1u << 30;
	return w;
}

static void seg_free(struct flow_table *t, struct tcp_half *h, struct tcp_seg *s)
{
	h->ooo_bytes -= s->len;
	h->ooo_segs--;
	t->stats.ooo_bytes_held -= s->len;
	t->mem_dynamic -= sizeof(*s) + s->len;
	free(s);
}

/* Unlink the head piece (the caller frees it). */
static struct tcp_seg *seg_pop(struct tcp_half *h)
{
	struct tcp_seg *s = h->ooo_head;
	h->ooo_head = s->next;
	if (!h->ooo_head)
		h->ooo_tail = NULL;
	return s;
}

void tcp_half_release(struct flow_table *t, struct tcp_half *h)
{
	while (h->ooo_head)
		seg_free(t, h, seg_pop(h));
	if (h->hist) {
		free(h->hist);
		h->hist = NULL;
		t->mem_dynamic -= t->cfg.history_bytes_per_dir;
	}
	h->hist_len = 0;
	h->hist_pos = 0;
}

static void hist_record(struct flow_table *t, struct tcp_half *h, const uint8_t *data, uint32_t n)
{
	uint32_t cap = t->cfg.history_bytes_per_dir;
	if (cap == 0)
		return;
	if (!h->hist) {
		h->hist = malloc(cap);
		if (!h->hist) {
			t->stats.alloc_failures++;
			return;
		}
		t->mem_dynamic += cap;
		h->hist_len = 0;
		h->hist_pos = 0;
	}
	if (n > cap) {
		data += n - cap;
		n = cap;
	}
	uint32_t first = cap - h->hist_pos;
	if (first > n)
		first = n;
	memcpy(h->hist + h->hist_pos, data, first);
	memcpy(h->hist, data + first, n - first);
	h->hist_pos = (uint16_t)((h->hist_pos + n) % cap);
	uint32_t len = h->hist_len + n;
	h->hist_len = (uint16_t)(len > cap ? cap : len);
}

/* Compare data[0..n) at seq (entirely before next_seq) with what was delivered.
 * Returns true on a difference within the remembered window. */
static bool hist_conflict(const struct flow_table *t, const struct tcp_half *h, uint32_t seq,
			  const uint8_t *data, uint32_t n)
{
	if (!h->hist || h->hist_len == 0 || n == 0)
		return false;
	uint32_t cap = t->cfg.history_bytes_per_dir;
	uint32_t back = h->next_seq - seq; /* distance of data[0] behind next_seq, >= n */
	if (back > h->hist_len) {
		uint32_t skip = back - h->hist_len;
		if (skip >= n)
			return false;
		data += skip;
		n -= skip;
		back = h->hist_len;
	}
	/* data[0] is at ring index hist_pos - back (mod cap). */
	uint32_t idx = (h->hist_pos + cap - back) % cap;
	uint32_t first = cap - idx;
	if (first > n)
		first = n;
	if (memcmp(h->hist + idx, data, first) != 0)
		return true;
	return memcmp(h->hist, data + first, n - first) != 0;
}

static void conflict(struct flow_table *t, struct flow *f, enum flow_dir d)
{
	anomaly(f, FLOW_ANOM_OVERLAP_CONFLICT);
	f->info.dir[d].overlap_conflicts++;
	t->stats.overlap_conflicts++;
}

static void deliver(struct flow_table *t, struct flow *f, enum flow_dir d, const uint8_t *data,
		    uint32_t n)
{
	struct tcp_half *h = &f->half[d];
	if (n == 0)
		return;
	h->next_seq += n;
	if (h->flags & TH_STOPPED)
		return;
	hist_record(t, h, data, n);
	f->info.dir[d].delivered += n;
	if (t->cb.data)
		t->cb.data(t->user, f, d, data, n);
}

static void gap(struct flow_table *t, struct flow *f, enum flow_dir d, uint32_t n)
{
	struct tcp_half *h = &f->half[d];
	if (n == 0)
		return;
	h->next_seq += n;
	h->hist_len = 0;
	if (h->flags & TH_STOPPED)
		return;
	anomaly(f, FLOW_ANOM_GAP);
	f->info.dir[d].gap_bytes += n;
	f->info.dir[d].gaps++;
	t->stats.gaps++;
	t->stats.gap_bytes += n;
	if (t->cb.gap)
		t->cb.gap(t->user, f, d, n);
}

/* Deliver buffered pieces that start at or before next_seq. */
static void drain(struct flow_table *t, struct flow *f, enum flow_dir d)
{
	struct tcp_half *h = &f->half[d];
	while (h->ooo_head && seq_le(h->ooo_head->seq, h->next_seq)) {
		struct tcp_seg *s = seg_pop(h);
		uint32_t end = s->seq + s->len;
		if (seq_gt(end, h->next_seq)) {
			uint32_t off = h->next_seq - s->seq;
			deliver(t, f, d, s->data + off, s->len - off);
		}
		seg_free(t, h, s);
	}
}

void tcp_half_advance_to(struct flow_table *t, struct flow *f, enum flow_dir d, uint32_t target)
{
	struct tcp_half *h = &f->half[d];
	if (!(h->flags & TH_SEQ_SET))
		return;
	drain(t, f, d);
	while (seq_lt(h->next_seq, target)) {
		struct tcp_seg *s = h->ooo_head;
		uint32_t gap_end = (s && seq_lt(s->seq, target)) ? s->seq : target;
		gap(t, f, d, gap_end - h->next_seq);
		drain(t, f, d);
	}
}

void tcp_half_flush(struct flow_table *t, struct flow *f, enum flow_dir d)
{
	struct tcp_half *h = &f->half[d];
	uint32_t target = h->max_seq;
	if ((h->flags & TH_FIN_SEEN) && seq_gt(h->fin_seq, target))
		target = h->fin_seq;
	tcp_half_advance_to(t, f, d, target);
}

/* seq == next_seq: deliver data, letting buffered pieces (seen first) win
 * where they overlap it. */
static void deliver_in_order(struct flow_table *t, struct flow *f, enum flow_dir d,
			     const uint8_t *data, uint32_t len)
{
	struct tcp_half *h = &f->half[d];
	bool differs = false;
	while (len > 0) {
		struct tcp_seg *s = h->ooo_head;
		if (s && seq_le(s->seq, h->next_seq)) {
			struct tcp_seg *p = seg_pop(h);
			uint32_t end = p->seq + p->len;
			if (seq_gt(end, h->next_seq)) {
				uint32_t off = h->next_seq - p->seq;
				uint32_t n = p->len - off;
				uint32_t k = n < len ? n : len;
				if (memcmp(p->data + off, data, k) != 0)
					differs = true;
				data += k;
				len -= k;
				deliver(t, f, d, p->data + off, n);
			}
			seg_free(t, h, p);
			continue;
		}
		uint32_t n = len;
		if (s && s->seq - h->next_seq < n)
			n = s->seq - h->next_seq;
		const uint8_t *chunk = data;
		data += n;
		len -= n;
		deliver(t, f, d, chunk, n);
	}
	if (differs)
		conflict(t, f, d);
	drain(t, f, d);
}

static bool ooo_fits(const struct flow_table *t, const struct tcp_half *h, uint32_t n)
{
	return h->ooo_bytes + (uint64_t)n <= t->cfg.max_ooo_bytes_per_dir &&
	       t->stats.ooo_bytes_held + n <= t->cfg.max_ooo_bytes_total &&
	       h->ooo_segs < t->cfg.max_ooo_segments_per_dir;
}

/* seq > next_seq: buffer the parts of [seq, seq+len) not already buffered. */
static void ooo_insert(struct flow_table *t, struct flow *f, enum flow_dir d, uint32_t seq,
		       const uint8_t *data, uint32_t len)
{
	struct tcp_half *h = &f->half[d];
	struct tcp_seg *prev = NULL, *cur = h->ooo_head;
	uint32_t pos = seq, end = seq + len;
	bool differs = false, added = false, capped = false;
	uint64_t dropped = 0;

	/* Common case: the segment continues after the last buffered piece. */
	if (h->ooo_tail && seq_ge(seq, h->ooo_tail->seq + h->ooo_tail->len)) {
		prev = h->ooo_tail;
		cur = NULL;
	}
	while (seq_lt(pos, end)) {
		while (cur && seq_le(cur->seq + cur->len, pos)) {
			prev = cur;
			cur = cur->next;
		}
		if (cur && seq_le(cur->seq, pos)) {
			uint32_t ov_end = seq_min(end, cur->seq + cur->len);
			if (memcmp(cur->data + (pos - cur->seq), data + (pos - seq), ov_end - pos) != 0)
				differs = true;
			pos = ov_end;
			continue;
		}
		uint32_t piece_end = (cur && seq_lt(cur->seq, end)) ? cur->seq : end;
		uint32_t n = piece_end - pos;
		struct tcp_seg *s = NULL;
		if (!capped && ooo_fits(t, h, n)) {
			s = malloc(sizeof(*s) + n);
			if (!s)
				t->stats.alloc_failures++;
		}
		if (!s) {
			capped = true;
			dropped += n;
			pos = piece_end;
			continue;
		}
		s->seq = pos;
		s->len = n;
		memcpy(s->data, data + (pos - seq), n);
		s->next = cur;
		if (prev)
			prev->next = s;
		else
			h->ooo_head = s;
		if (!cur)
			h->ooo_tail = s;
		h->ooo_bytes += n;
		h->ooo_segs++;
		t->stats.ooo_bytes_held += n;
		t->mem_dynamic += sizeof(*s) + n;
		prev = s;
		pos = piece_end;
		added = true;
	}
	if (differs)
		conflict(t, f, d);
	if (added)
		f->info.dir[d].out_of_order++;
	else if (!capped) {
		f->info.dir[d].retransmits++;
		t->stats.retransmits++;
	}
	if (capped) {
		/* Dropped bytes become a gap later.  Make room now: the hole
		 * before the buffered data is declared lost. */
		anomaly(f, FLOW_ANOM_OOO_CAP);
		t->stats.ooo_dropped_cap++;
		t->stats.ooo_bytes_dropped_cap += dropped;
		if (h->ooo_head)
			tcp_half_advance_to(t, f, d, h->ooo_head->seq);
	}
}

void tcp_half_segment(struct flow_table *t, struct flow *f, enum flow_dir d, uint32_t seq,
		      const uint8_t *data, uint32_t caplen, uint32_t truelen)
{
	struct tcp_half *h = &f->half[d];
	if (truelen == 0)
		return;
	if (!(h->flags & TH_SEQ_SET)) {
		/* Midstream: the first data segment fixes the sequence space. */
		h->isn = seq - 1;
		h->next_seq = seq;
		h->max_seq = seq;
		h->flags |= TH_SEQ_SET;
	}
	h->flags |= TH_DATA_SEEN;
	if (h->flags & TH_FIN_SEEN) {
		int32_t room = seq_diff(h->fin_seq, seq);
		if (room < 0 || (uint32_t)room < truelen) {
			anomaly(f, FLOW_ANOM_DATA_AFTER_FIN);
			truelen = room > 0 ? (uint32_t)room : 0;
			if (caplen > truelen)
				caplen = truelen;
			if (truelen == 0)
				return;
		}
	}
	int32_t rel = seq_diff(seq, h->next_seq);
	uint32_t end = seq + truelen;
	if (rel > 0 && (uint32_t)rel > tcp_half_window_limit(f, d)) {
		anomaly(f, FLOW_ANOM_BAD_SEQ);
		t->stats.bad_seq++;
		return;
	}
	if (seq_le(end, h->next_seq)) {
		if (-(int64_t)rel > (int64_t)TCP_MAX_BEHIND) {
			anomaly(f, FLOW_ANOM_BAD_SEQ);
			t->stats.bad_seq++;
			return;
		}
		f->info.dir[d].retransmits++;
		t->stats.retransmits++;
		if (!(h->flags & TH_STOPPED) && hist_conflict(t, h, seq, data, caplen))
			conflict(t, f, d);
		return;
	}
	if (seq_gt(end, h->max_seq))
		h->max_seq = end;
	if (h->flags & TH_STOPPED) {
		h->next_seq = seq_max(h->next_seq, end);
		return;
	}
	if (rel < 0) {
		uint32_t cut = (uint32_t)-rel;
		uint32_t ccut = cut < caplen ? cut : caplen;
		if (hist_conflict(t, h, seq, data, ccut))
			conflict(t, f, d);
		data += ccut;
		caplen -= ccut;
		truelen -= cut;
		seq = h->next_seq;
	}
	if (seq == h->next_seq) {
		deliver_in_order(t, f, d, data, caplen);
		if (truelen > caplen && !(h->flags & TH_STOPPED))
			tcp_half_advance_to(t, f, d, end); /* snaplen-cut tail: lost */
	} else if (caplen > 0) {
		ooo_insert(t, f, d, seq, data, caplen);
	}
}
