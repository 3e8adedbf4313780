/* libFuzzer target for the decoder and IP reassembly.
 *
 * Input: byte 0 picks the link type, byte 1 the configuration (small caps so
 * eviction paths run), the rest is one or more frames separated by the
 * marker "\xfeFRG" (so sequences of fragments reach reassembly).  Each frame
 * is copied into a buffer of its exact size so any over-read faults. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reassembly/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int links[] = {
	DECODE_LINK_NULL,      DECODE_LINK_ETHERNET, DECODE_LINK_RAW,
	DECODE_LINK_RAW_14,    DECODE_LINK_RAW_101,  DECODE_LINK_LOOP,
	DECODE_LINK_LINUX_SLL, DECODE_LINK_IPV4,     DECODE_LINK_IPV6,
	DECODE_LINK_LINUX_SLL2,
};

static volatile uint8_t sink;

static const uint8_t marker[4] = {0xfe, 'F', 'R', 'G'};

static const uint8_t *find_marker(const uint8_t *p, const uint8_t *end)
{
	for (; end - p >= 4; p++)
		if (memcmp(p, marker, 4) == 0)
			return p;
	return end;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	int link = links[data[0] % (sizeof(links) / sizeof(links[0]))];
	uint8_t c = data[1];
	struct decoder_config cfg;
	decoder_config_default(&cfg);
	cfg.verify_checksums = c & 1;
	if (c & 2) {
		cfg.frag_max_datagrams = 2;
		cfg.frag_max_fragments = 3;
		cfg.frag_max_bytes = 2048;
		cfg.frag_timeout_us = 1000;
	}
	if (c & 4)
		cfg.frag_max_datagram_size = 1500;
	struct decoder *d = decoder_new(&cfg);
	if (!d)
		abort();
	const struct decoder_stats *st = decoder_stats(d);
	uint64_t invalid = 0, held = 0, ts = 0;
	const uint8_t *p = data + 2, *end = data + size;
	for (unsigned n = 0; p <= end && n < 256; n++) {
		const uint8_t *m = find_marker(p, end);
		size_t len = (size_t)(m - p);
		uint8_t *frame = malloc(len ? len : 1);
		if (!frame)
			abort();
		memcpy(frame, p, len);
		/* A frame's last byte, when odd, claims a longer wire length. */
		size_t wire = len + (len && (frame[len - 1] & 1) ? 100 : 0);
		struct packet pk;
		ts += 300;
		enum decode_status s = decoder_decode(d, link, frame, len, wire, ts, &pk);
		invalid += s == DECODE_INVALID;
		held += s == DECODE_FRAGMENT_HELD;
		if (s == DECODE_TCP) {
			const uint8_t *lo, *hi;
			if (pk.flags & PKT_DEFRAGMENTED) {
				lo = pk.l3;
				hi = pk.l3 + pk.l3_len;
				if (pk.l3_len > 65535 + 40)
					abort();
			} else {
				lo = frame;
				hi = frame + len;
				if (pk.l3 < lo || pk.l3 + pk.l3_len > hi)
					abort();
			}
			if (pk.payload < lo || pk.payload + pk.payload_len > hi)
				abort();
			if (pk.payload_len) /* touch the bytes: ASan checks the range */
				sink = pk.payload[0] ^ pk.payload[pk.payload_len - 1];
			if (pk.src.family != 4 && pk.src.family != 6)
				abort();
		}
		free(frame);
		if (decoder_memory(d) > cfg.frag_max_bytes)
			abort();
		if (m == end)
			break;
		p = m + 4;
	}
	if (invalid != st->truncated + st->malformed + st->frag_invalid)
		abort();
	if (st->frames != st->tcp + st->not_tcp + st->unsupported + invalid + held)
		abort();
	decoder_expire(d, UINT64_MAX);
	if (decoder_memory(d) != 0)
		abort();
	decoder_free(d);
	return 0;
}
