/* libFuzzer target for the HTTP session parser.
 *
 * The input is a sequence of chunks.  A control byte 0xF0..0xF7 starts a new
 * chunk: bit 0 = direction (server when set), 0xF4..0xF7 = a gap of the next
 * byte's value + 1 bytes instead of data.  The first input byte picks small
 * or default limits (bit 0) and seeds the re-chunking.
 *
 * The session is run twice: every chunk fed whole, then every chunk cut in
 * pseudo-random pieces (many of one byte).  Both runs must give the same
 * request log (a hash of every callback with the request's fields, bodies
 * as a count and hash per request).  Checked on the way: request_done once
 * per request_begin and in order, request_end at most once and before
 * request_done, body bytes as counted by the parser, strings readable. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_parser/http.h"

#define MAX_REQ 4096

struct fz {
	uint64_t hash;
	uint32_t events;
	uint32_t next_done;
	uint8_t state[MAX_REQ];        /* 0 none, 1 begun, 2 ended, 3 done */
	uint64_t body[MAX_REQ];
	uint64_t body_hash[MAX_REQ];
	uint32_t upgrades;
};

static void fz_fail(void)
{
	abort();
}

static void mix(struct fz *f, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		f->hash = (f->hash ^ b[i]) * 1099511628211ull;
	f->events++;
}

static void mix_str(struct fz *f, const char *s)
{
	if (!s)
		fz_fail();
	mix(f, s, strlen(s) + 1);
}

static void mix_req(struct fz *f, const struct http_request *r, char tag)
{
	char buf[160];
	int n = snprintf(buf, sizeof buf, "%c %u %u %lld %d %u.%u %llu %llu %u %x %d", tag, r->index,
			 r->port, (long long)r->content_length, r->chunked, r->version_major,
			 r->version_minor, (unsigned long long)r->body_bytes,
			 (unsigned long long)r->wire_body_bytes, r->status, r->anomalies, r->complete);
	mix(f, buf, (size_t)n);
	mix_str(f, r->method);
	mix_str(f, r->url);
	mix_str(f, r->host);
	mix_str(f, r->path);
	mix_str(f, r->query);
	mix_str(f, r->content_type);
	mix_str(f, r->content_encoding);
	if (r->header_count && !r->headers)
		fz_fail();
	for (size_t i = 0; i < r->header_count; i++) {
		mix_str(f, r->headers[i].name);
		mix_str(f, r->headers[i].value);
	}
}

static struct fz *fz_of(void *ctx, const struct http_request *r)
{
	if (r->index >= MAX_REQ)
		fz_fail();
	return ctx;
}

static void on_begin(void *ctx, const struct http_request *r)
{
	struct fz *f = fz_of(ctx, r);
	if (f->state[r->index] != 0 || r->complete || r->body_bytes)
		fz_fail();
	f->state[r->index] = 1;
	f->body_hash[r->index] = 1469598103934665603ull;
	mix_req(f, r, 'B');
}

static void on_body(void *ctx, const struct http_request *r, const uint8_t *d, size_t n)
{
	struct fz *f = fz_of(ctx, r);
	if (f->state[r->index] != 1 || n == 0)
		fz_fail();
	uint64_t h = f->body_hash[r->index];
	for (size_t i = 0; i < n; i++)
		h = (h ^ d[i]) * 1099511628211ull;
	f->body_hash[r->index] = h;
	f->body[r->index] += n;
	if (f->body[r->index] != r->body_bytes)
		fz_fail();
}

static void on_end(void *ctx, const struct http_request *r)
{
	struct fz *f = fz_of(ctx, r);
	if (f->state[r->index] != 1 || !r->complete)
		fz_fail();
	f->state[r->index] = 2;
	mix_req(f, r, 'E');
	mix(f, &f->body_hash[r->index], sizeof f->body_hash[r->index]);
}

static void on_response(void *ctx, const struct http_request *r)
{
	struct fz *f = fz_of(ctx, r);
	if (f->state[r->index] == 0 || f->state[r->index] == 3 || !r->status)
		fz_fail();
	mix_req(f, r, 'R');
}

static void on_done(void *ctx, const struct http_request *r)
{
	struct fz *f = fz_of(ctx, r);
	if (f->state[r->index] == 0 || f->state[r->index] == 3 || r->index != f->next_done++)
		fz_fail();
	if ((f->state[r->index] == 2) != r->complete)
		fz_fail();
	f->state[r->index] = 3;
	mix_req(f, r, 'D');
	mix(f, &f->body_hash[r->index], sizeof f->body_hash[r->index]);
}

static void on_upgrade(void *ctx)
{
	struct fz *f = ctx;
	f->upgrades++;
	mix(f, "U", 1);
}

static const struct http_callbacks callbacks = {
	.request_begin = on_begin, .request_body = on_body, .request_end = on_end,
	.response = on_response, .request_done = on_done, .upgrade = on_upgrade,
};

static void run(struct fz *f, const uint8_t *data, size_t size, bool split)
{
	memset(f, 0, sizeof *f);
	f->hash = 1469598103934665603ull;
	struct http_limits lim;
	http_limits_default(&lim);
	if (data[0] & 1) {
		lim.max_url = 24;
		lim.max_header_value = 16;
		lim.max_headers = 3;
		lim.max_pending = 3;
		lim.max_inflate = 5000;
		lim.max_inflate_ratio = 20;
	}
	uint64_t rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)data[0] << 32) ^ size;
	struct http_session *s = http_session_new(&lim, &callbacks, f);
	if (!s)
		return;
	enum http_dir dir = HTTP_TO_SERVER;
	size_t i = 1;
	while (i < size) {
		size_t j = i;
		while (j < size && (data[j] & 0xF8) != 0xF0)
			j++;
		const uint8_t *p = data + i;
		size_t n = j - i;
		while (n) {
			size_t k = n;
			if (split) {
				rng ^= rng << 13;
				rng ^= rng >> 7;
				rng ^= rng << 17;
				k = (rng & 3) ? 1 : 1 + (size_t)(rng >> 40) % 64;
				if (k > n)
					k = n;
			}
			http_session_feed(s, dir, p, k);
			p += k;
			n -= k;
		}
		if (j >= size)
			break;
		uint8_t c = data[j++];
		dir = (c & 1) ? HTTP_TO_CLIENT : HTTP_TO_SERVER;
		if ((c & 4) && j < size)
			http_session_gap(s, dir, (uint64_t)data[j++] + 1);
		i = j;
	}
	http_session_close(s);
	const struct http_session_info *in = http_session_info(s);
	if (in->requests != f->next_done || (f->upgrades != 0) != in->upgraded || f->upgrades > 1)
		fz_fail();
	for (uint32_t r = 0; r < in->requests && r < MAX_REQ; r++)
		if (f->state[r] != 3)
			fz_fail();
	char buf[128];
	int n = snprintf(buf, sizeof buf, "I %u %u %x %d %d %d %llu", in->requests, in->responses,
			 in->anomalies, in->upgraded, in->client_broken, in->server_broken,
			 (unsigned long long)in->inflated_bytes);
	mix(f, buf, (size_t)n);
	http_session_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz whole, split;
	if (!size)
		return 0;
	/* detection: a 1 or 0 on a prefix is final */
	int full = http_detect_request(data + 1, size - 1);
	for (size_t l = 0; l < size - 1 && l < 48; l++) {
		int v = http_detect_request(data + 1, l);
		if (v != -1 && v != full)
			fz_fail();
	}
	run(&whole, data, size, false);
	run(&split, data, size, true);
	if (whole.hash != split.hash || whole.events != split.events)
		fz_fail();
	return 0;
}
