/* libFuzzer target: the input is a small config byte and then a sequence of
 * segment descriptors fed to one flow table with four possible connections.
 *
 * Descriptor (8 bytes, then payload when "own bytes" is set):
 *   b0: bits 0-1 connection, bit 2 direction (to client), bit 3 own bytes
 *       (payload taken from the input: may conflict), bit 4 truncated
 *       (half captured), bit 5 expire after, bit 6 stop delivery of this
 *       direction after the packet, bit 7 flush after
 *   b1: TCP flags       b2-3: seq offset     b4-5: ack offset
 *   b6: payload length  b7: time step (ms)
 * Sequence numbers are offsets from a per-connection, per-direction base near
 * 2^32, so every connection wraps.  Pattern bytes are a function of the
 * sequence number: delivered bytes of a connection that never sent its own
 * bytes must match the pattern at the exact sequence number.
 *
 * Checked: delivered/gap totals equal the flow's counters, delivered + gap
 * never exceed the sequence span the descriptors can reach, end is called
 * exactly once per flow, buffered bytes stay under the caps and memory returns
 * to the empty-table figure after a flush. */
#include <stdlib.h>
#include <string.h>

#include "reassembly/flow.h"
#include "reassembly/tcp_stream.h"

#define MAX_FLOWS_TRACKED 4096
#define SPAN_MAX (65536u + 65536u + 512u)

struct fstate {
	uint64_t data[2], gap[2];
	unsigned ends;
	uint8_t conn;
	bool created;
};

struct fuzz_ctx {
	struct fstate *fs; /* indexed by flow id */
	bool corrupt[4];
};

static uint32_t base_seq(unsigned conn, unsigned dir)
{
	return 0xFFFF8000u + conn * 0x1111u + dir * 0x777u;
}

static uint8_t pattern(uint32_t seq)
{
	return (uint8_t)((seq * 2654435761u) >> 24);
}

static struct fstate *fstate_of(struct fuzz_ctx *c, struct flow *f)
{
	uint64_t id = flow_get_info(f)->id;
	if (id >= MAX_FLOWS_TRACKED)
		abort();
	return &c->fs[id];
}

static unsigned conn_of(const struct flow *f)
{
	return (unsigned)(flow_get_info(f)->tuple.client_port - 40000) & 3u;
}

static void on_data(void *u, struct flow *f, enum flow_dir d, const uint8_t *data, size_t len)
{
	struct fuzz_ctx *c = u;
	struct fstate *s = fstate_of(c, f);
	if (len == 0 || s->ends)
		abort();
	s->data[d] += len;
	if (s->data[d] + s->gap[d] > SPAN_MAX)
		abort();
	/* white box: deliver() has advanced next_seq past these bytes */
	uint32_t start = f->half[d].next_seq - (uint32_t)len;
	if (!c->corrupt[conn_of(f)] && flow_get_info(f)->tuple.server_port == 25)
		for (size_t i = 0; i < len; i++)
			if (data[i] != pattern(start + (uint32_t)i))
				abort();
}

static void on_gap(void *u, struct flow *f, enum flow_dir d, uint64_t len)
{
	struct fuzz_ctx *c = u;
	struct fstate *s = fstate_of(c, f);
	if (len == 0 || s->ends)
		abort();
	s->gap[d] += len;
	if (s->data[d] + s->gap[d] > SPAN_MAX)
		abort();
}

static void on_eof(void *u, struct flow *f, enum flow_dir d)
{
	struct fuzz_ctx *c = u;
	if (fstate_of(c, f)->ends)
		abort();
}

static void on_end(void *u, struct flow *f, enum flow_end_reason why)
{
	struct fuzz_ctx *c = u;
	struct fstate *s = fstate_of(c, f);
	const struct flow_info *fi = flow_get_info(f);
	if (s->ends++ != 0)
		abort();
	for (int d = 0; d < 2; d++) {
		if (fi->dir[d].delivered != s->data[d] || fi->dir[d].gap_bytes != s->gap[d])
			abort();
		if (f->half[d].ooo_head)
			abort(); /* the end flush leaves nothing buffered */
	}
	if (why > FLOW_END_SHUTDOWN)
		abort();
}

static const struct reasm_callbacks cbs = {on_data, on_gap, on_eof, on_end};

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	if (size < 1)
		return 0;
	struct flow_table_config cfg;
	flow_table_config_default(&cfg);
	uint8_t c0 = in[0];
	cfg.max_flows = 1 + (c0 & 3);
	cfg.max_ooo_bytes_per_dir = (c0 & 4) ? 300 : 4096;
	cfg.max_ooo_bytes_total = (c0 & 8) ? 500 : 1u << 20;
	cfg.max_ooo_segments_per_dir = (c0 & 16) ? 4 : 64;
	cfg.allow_midstream = c0 & 32;
	cfg.history_bytes_per_dir = (c0 & 64) ? 16 : 2048;
	cfg.timeout_syn_us = 2000;
	cfg.timeout_established_us = 50000;
	cfg.timeout_closed_us = 10000;
	in++;
	size--;

	struct fuzz_ctx ctx;
	memset(&ctx, 0, sizeof(ctx));
	ctx.fs = calloc(MAX_FLOWS_TRACKED, sizeof(*ctx.fs));
	if (!ctx.fs)
		return 0;
	struct flow_table *t = flow_table_new(&cfg, &cbs, &ctx);
	if (!t) {
		free(ctx.fs);
		return 0;
	}
	size_t empty = flow_table_memory(t);
	uint64_t now = 1000000;
	uint8_t l3[40 + 256];
	uint8_t payload[256];

	while (size >= 8) {
		if (flow_table_stats(t)->flows_created >= MAX_FLOWS_TRACKED - 2)
			break;
		uint8_t b0 = in[0];
		unsigned conn = b0 & 3, dir = (b0 >> 2) & 1;
		struct packet p;
		memset(&p, 0, sizeof(p));
		p.tcp_flags = in[1];
		uint32_t seq_off = (uint32_t)in[2] << 8 | in[3];
		uint32_t ack_off = (uint32_t)in[4] << 8 | in[5];
		uint32_t len = in[6];
		now += (uint64_t)in[7] * 1000;
		in += 8;
		size -= 8;
		if (b0 & 8) {
			if (len > size)
				len = (uint32_t)size;
			memcpy(payload, in, len);
			in += len;
			size -= len;
			ctx.corrupt[conn] = true;
		}
		p.seq = base_seq(conn, dir) + seq_off;
		p.ack = base_seq(conn, !dir) + ack_off;
		if (!(b0 & 8))
			for (uint32_t i = 0; i < len; i++)
				payload[i] = pattern(p.seq + ((p.tcp_flags & TCP_SYN) ? 1 : 0) + i);
		p.ts_us = now;
		p.src.family = p.dst.family = 4;
		p.src.addr[0] = p.dst.addr[0] = 10;
		p.src.addr[3] = dir ? 2 : 1;
		p.dst.addr[3] = dir ? 1 : 2;
		p.sport = dir ? 25 : (uint16_t)(40000 + conn);
		p.dport = dir ? (uint16_t)(40000 + conn) : 25;
		p.window = 1000;
		p.payload = payload;
		p.payload_len = len;
		if (b0 & 16) {
			/* snaplen cut: the IPv4 header tells the real length */
			memset(l3, 0, 40);
			l3[0] = 0x45;
			l3[2] = (uint8_t)((40 + len) >> 8);
			l3[3] = (uint8_t)(40 + len);
			memcpy(l3 + 40, payload, len);
			p.l3 = l3;
			p.l3_len = 40 + len / 2;
			p.payload = l3 + 40;
			p.payload_len = len / 2;
			p.flags = PKT_TRUNCATED_PAYLOAD;
		}
		enum flow_dir fd;
		struct flow *f = flow_table_process(t, &p, &fd);
		const struct flow_table_stats *st = flow_table_stats(t);
		if (f) {
			if (flow_get_info(f)->id >= MAX_FLOWS_TRACKED)
				abort();
			if (b0 & 64)
				flow_stop_delivery(f, fd);
		}
		if (st->ooo_bytes_held > cfg.max_ooo_bytes_total)
			abort();
		if (st->flows_active > cfg.max_flows)
			abort();
		if (b0 & 32)
			flow_table_expire(t, now);
		if (b0 & 128)
			flow_table_flush(t);
	}
	flow_table_flush(t);
	const struct flow_table_stats *st = flow_table_stats(t);
	if (st->flows_active != 0 || st->ooo_bytes_held != 0 || flow_table_memory(t) != empty)
		abort();
	if (st->flows_created != st->flows_ended)
		abort();
	for (uint64_t id = 1; id <= st->flows_created; id++)
		if (ctx.fs[id].ends != 1)
			abort();
	flow_table_free(t);
	free(ctx.fs);
	return 0;
}
