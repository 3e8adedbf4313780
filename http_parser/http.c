/* Streaming HTTP/1.x session parser; the contract is in http.h.
 *
 * Two nodejs/http-parser instances do the framing: HTTP_REQUEST on the
 * client bytes, HTTP_RESPONSE on the server bytes.  Around them:
 *
 * - Requests live in a FIFO of slots, one per request message, created when
 *   its first byte is parsed (so a response that arrives before the request
 *   head is complete still pairs with the right request).  A slot is handed
 *   to the callbacks from request_begin (head complete) and finished by
 *   request_done when both its request is over (complete or broken) and its
 *   response has completed, or at close.  Requests complete in order and
 *   responses pair in order, so slots finish from the head of the FIFO.
 * - Past max_pending slots the oldest is finished early (UNANSWERED); one bit
 *   per dropped request (was it HEAD?) stays owed so the responses still
 *   pair and frame right.
 * - After a request asking to switch protocols (CONNECT, Upgrade) the client
 *   bytes are held (bounded) until its response says whether they are still
 *   HTTP: 2xx to CONNECT or 101 ends HTTP on the connection, anything else
 *   resumes parsing with the held bytes.
 * - Encoded request bodies are inflated in fixed blocks of INFLATE_BLOCK
 *   wire bytes, so zlib sees the same calls and the caps trip at the same
 *   byte however the input was chunked.
 * - Header names and values are collected in a per-session scratch buffer
 *   and copied, capped, into the request's own arena, which stops growing
 *   at request_begin: pointers handed out stay valid until request_done. */
#include "http_parser/http.h"

#include <errno.h>
#include <http_parser.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#define HTTP_NAME_MAX 256          /* header name bytes kept */
#define HTTP_CE_MAX 128            /* joined Content-Encoding bytes kept */
#define HTTP_HOLD_MAX (64u << 10)  /* client bytes held while an upgrade is undecided */
#define HTTP_OWED_MAX 256          /* dropped requests whose responses are still due */
#define INFLATE_BLOCK 4096         /* encoded bytes per inflate() call */
#define INFLATE_OUT 16384          /* decoded bytes per inflate() call at most */
#define HTTP_CHUNK_LINE_MAX 16384  /* chunked-body framing bytes between data */

enum body_coding { CODING_NONE, CODING_GZIP, CODING_DEFLATE, CODING_RAW };
enum dec_state { DEC_RUN, DEC_RAW, DEC_STOP };

struct http_decoder {
	z_stream z;
	bool z_ready;          /* inflateInit2 done */
	bool started;          /* this body's stream set up */
	bool at_end;           /* Z_STREAM_END and no input after it */
	enum dec_state state;
	uint64_t in_total, out_total;
	size_t stage_len;
	uint8_t stage[INFLATE_BLOCK];
	uint8_t out[INFLATE_OUT];
};

struct hdr_off {
	size_t name, value;
};

struct http_slot {
	struct http_request req;
	struct http_slot *next;
	char *arena;
	size_t len, cap;
	struct hdr_off *hoff;  /* while the head is collected */
	uint32_t nhdr, hoff_cap;
	struct http_header *hdrs;
	size_t url_len;
	bool url_closed;
	size_t host_off, ctype_off;
	uint32_t host_count;
	bool has_ctype, has_cl, has_te;
	bool method_known;
	uint8_t method;        /* enum http_method */
	bool begun, complete, broken, resp_head, resp_done;
};

enum hdr_state { HS_NONE, HS_FIELD, HS_VALUE };

struct http_session {
	struct http_limits lim;
	struct http_callbacks cb;
	void *ctx;
	struct http_session_info info;
	http_parser req_p, resp_p;
	http_parser_settings req_set, resp_set;

	struct http_slot *head, *tail;
	uint32_t nslots;
	struct http_slot *cur;         /* request message being parsed */

	/* the header being collected */
	enum hdr_state hstate;
	bool in_trailers;
	char name[HTTP_NAME_MAX + 1];
	size_t name_len;
	char *val;
	size_t val_len, val_alloc;
	char ce[HTTP_CE_MAX + 1];
	size_t ce_len;
	bool ce_long;

	enum body_coding coding;       /* of the current request body */
	struct http_decoder *dec;

	/* the response being parsed */
	bool resp_in_msg, resp_headed, resp_interim, resp_upgrade;
	struct http_slot *resp_slot;

	/* dropped requests still owed a response: bit set = HEAD */
	uint8_t owed[HTTP_OWED_MAX / 8];
	uint32_t owed_first, owed_count;

	/* client bytes after a protocol-switch request */
	struct http_slot *hold_slot;
	uint8_t *hold;
	size_t hold_len, hold_alloc;
	bool hold_lost;

	/* Where the request parser is in the client stream: chunk-size lines
	 * are not bounded by http-parser (a bare LF after "8 " turns the rest
	 * of the connection into one chunk extension), so in a chunked body
	 * at most HTTP_CHUNK_LINE_MAX bytes may pass without data. */
	uint64_t client_off, exec_off, progress_off;
	const char *exec_base;
	bool chunk_guard;

	bool client_stopped, server_stopped, closed;
};

void http_limits_default(struct http_limits *l)
{
	l->max_url = 8192;
	l->max_header_value = 8192;
	l->max_headers = 64;
	l->max_pending = 32;
	l->max_inflate = (uint64_t)64 << 20;
	l->max_inflate_ratio = 200;
}

static const char *const anomaly_names[HTTP_ANOM_COUNT] = {
	"parse_error", "te_and_cl", "url_too_long", "header_too_long", "too_many_headers",
	"pending_cap", "gap", "bad_encoding", "inflate_cap", "unanswered", "duplicate_host",
	"truncated",
};

const char *http_anomaly_name(uint32_t bit)
{
	for (unsigned i = 0; i < HTTP_ANOM_COUNT; i++)
		if (bit == 1u << i)
			return anomaly_names[i];
	return NULL;
}

const char *http_request_header(const struct http_request *r, const char *name)
{
	for (size_t i = 0; i < r->header_count; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

/* ---- small helpers ---- */

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

static void lower_str(char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = lower(p[i]);
}

/* A request's anomaly; the session hears of it once the request is handed
 * out (request_begin).  Until then it may stem from bytes http-parser handed
 * over only because a chunk ended there, ahead of an error that would
 * otherwise have swallowed them: counting it would make the session depend
 * on the chunking. */
static void anom(struct http_session *s, struct http_slot *slot, uint32_t bit)
{
	if (slot)
		slot->req.anomalies |= bit;
	if (!slot || slot->begun)
		s->info.anomalies |= bit;
}

/* A buffer that doubles up to max, with room for need bytes: the (maybe
 * moved) buffer, or NULL with the old one untouched. */
static void *grow(void *buf, size_t *alloc, size_t need, size_t max)
{
	if (need <= *alloc && buf)
		return buf;
	if (need > max)
		return NULL;
	size_t a = *alloc ? *alloc : 64;
	while (a < need)
		a = a > max / 2 ? max : a * 2;
	void *n = realloc(buf, a);
	if (n)
		*alloc = a;
	return n;
}

static int grow_chars(char **p, size_t *alloc, size_t need, size_t max)
{
	char *n = grow(*p, alloc, need, max);
	if (!n)
		return -1;
	*p = n;
	return 0;
}

/* Appends bytes and a NUL to the slot's arena; the offset, or SIZE_MAX. */
static size_t arena_add(struct http_slot *slot, const char *p, size_t n)
{
	if (grow_chars(&slot->arena, &slot->cap, slot->len + n + 1, SIZE_MAX))
		return SIZE_MAX;
	size_t off = slot->len;
	if (n)
		memcpy(slot->arena + off, p, n);
	slot->arena[off + n] = '\0';
	slot->len += n + 1;
	return off;
}

/* Same, copying a range of the arena itself (which may move). */
static size_t arena_dup(struct http_slot *slot, size_t from, size_t n)
{
	if (grow_chars(&slot->arena, &slot->cap, slot->len + n + 1, SIZE_MAX))
		return SIZE_MAX;
	size_t off = slot->len;
	memmove(slot->arena + off, slot->arena + from, n);
	slot->arena[off + n] = '\0';
	slot->len += n + 1;
	return off;
}

static void slot_free(struct http_slot *slot)
{
	free(slot->arena);
	free(slot->hoff);
	free(slot->hdrs);
	free(slot);
}

/* ---- slot FIFO ---- */

static void slot_unlink_head(struct http_session *s)
{
	struct http_slot *slot = s->head;
	s->head = slot->next;
	if (!s->head)
		s->tail = NULL;
	s->nslots--;
	if (s->cur == slot)
		s->cur = NULL;
	if (s->resp_slot == slot)
		s->resp_slot = NULL;
	if (s->hold_slot == slot)
		s->hold_slot = NULL;
}

/* request_done (if the slot was ever handed out), then free. */
static void slot_finish(struct http_session *s, struct http_slot *slot)
{
	if (slot->begun && s->cb.request_done)
		s->cb.request_done(s->ctx, &slot->req);
	slot_free(slot);
}

/* Finishes the slots at the head whose request and response are both over. */
static void drain(struct http_session *s)
{
	while (s->head) {
		struct http_slot *slot = s->head;
		if (!(slot->complete || slot->broken) || !slot->resp_done)
			break;
		slot_unlink_head(s);
		slot_finish(s, slot);
	}
}

static void owed_push(struct http_session *s, bool head)
{
	uint32_t i = (s->owed_first + s->owed_count) % HTTP_OWED_MAX;
	if (head)
		s->owed[i / 8] |= (uint8_t)(1u << (i % 8));
	else
		s->owed[i / 8] &= (uint8_t)~(1u << (i % 8));
	s->owed_count++;
}

static bool owed_pop(struct http_session *s)
{
	uint32_t i = s->owed_first;
	s->owed_first = (i + 1) % HTTP_OWED_MAX;
	s->owed_count--;
	return s->owed[i / 8] & (1u << (i % 8));
}

/* Past max_pending: the oldest request is finished unanswered; its response,
 * when it comes, is framed (HEAD or not) and ignored. */
static void drop_oldest(struct http_session *s)
{
	struct http_slot *slot = s->head;
	anom(s, slot, HTTP_ANOM_PENDING_CAP);
	s->info.anomalies |= HTTP_ANOM_PENDING_CAP;
	if (s->resp_slot == slot) {
		s->resp_slot = NULL;
	} else if (!slot->resp_head && !s->server_stopped) {
		if (s->owed_count < HTTP_OWED_MAX)
			owed_push(s, slot->method_known && slot->method == HTTP_HEAD);
		else
			s->server_stopped = true; /* pairing can no longer be followed */
	}
	if (!slot->resp_head)
		anom(s, slot, HTTP_ANOM_UNANSWERED);
	slot_unlink_head(s);
	slot_finish(s, slot);
}

/* ---- request bodies ---- */

static void deliver(struct http_session *s, struct http_slot *slot, const uint8_t *p, size_t n,
		    bool decoded)
{
	if (!n)
		return;
	slot->req.body_bytes += n;
	if (decoded)
		s->info.inflated_bytes += n;
	if (s->cb.request_body)
		s->cb.request_body(s->ctx, &slot->req, p, n);
}

static void dec_raw(struct http_session *s, struct http_slot *slot, const uint8_t *p, size_t n)
{
	anom(s, slot, HTTP_ANOM_BAD_ENCODING);
	s->dec->state = DEC_RAW;
	deliver(s, slot, p, n, false);
}

static uint64_t inflate_allowance(const struct http_session *s, const struct http_decoder *d)
{
	uint64_t lim = s->lim.max_inflate;
	uint32_t ratio = s->lim.max_inflate_ratio;
	if (ratio) {
		uint64_t r = d->in_total > UINT64_MAX / ratio ? UINT64_MAX : d->in_total * ratio;
		if (r < lim)
			lim = r;
	}
	return lim > d->out_total ? lim - d->out_total : 0;
}

/* One block of encoded bytes through zlib. */
static void dec_run(struct http_session *s, struct http_slot *slot, const uint8_t *in, size_t n)
{
	struct http_decoder *d = s->dec;
	if (!n)
		return;
	if (!d->started) {
		int wbits = 16 + MAX_WBITS;
		if (s->coding == CODING_DEFLATE) {
			/* "deflate" is meant to be zlib-wrapped, but raw deflate is
			 * common: a valid zlib header says which. */
			bool zlib_hdr = n >= 2 && (in[0] & 0x0f) == Z_DEFLATED && (in[0] >> 4) <= 7 &&
					((unsigned)in[0] << 8 | in[1]) % 31 == 0;
			wbits = zlib_hdr ? MAX_WBITS : -MAX_WBITS;
		}
		int rc;
		if (d->z_ready) {
			rc = inflateReset2(&d->z, wbits);
		} else {
			memset(&d->z, 0, sizeof d->z);
			rc = inflateInit2(&d->z, wbits);
			d->z_ready = rc == Z_OK;
		}
		if (rc != Z_OK) {
			dec_raw(s, slot, in, n);
			return;
		}
		d->started = true;
	}
	if (d->at_end) {
		if (s->coding != CODING_GZIP) {
			dec_raw(s, slot, in, n); /* bytes after the deflate stream */
			return;
		}
		inflateReset(&d->z); /* another gzip member */
		d->at_end = false;
	}
	d->z.next_in = (Bytef *)in;
	d->z.avail_in = (uInt)n;
	d->in_total += n;
	for (;;) {
		uint64_t allow = inflate_allowance(s, d);
		/* One byte more than allowed tells whether the stream wanted more. */
		size_t room = allow < sizeof d->out ? (size_t)allow + 1 : sizeof d->out;
		uInt in_before = d->z.avail_in;
		d->z.next_out = d->out;
		d->z.avail_out = (uInt)room;
		int rc = inflate(&d->z, Z_NO_FLUSH);
		size_t got = room - d->z.avail_out;
		if (got > allow) {
			deliver(s, slot, d->out, (size_t)allow, true);
			d->out_total += allow;
			anom(s, slot, HTTP_ANOM_INFLATE_CAP);
			d->state = DEC_STOP;
			return;
		}
		deliver(s, slot, d->out, got, true);
		d->out_total += got;
		if (rc == Z_STREAM_END) {
			if (!d->z.avail_in) {
				d->at_end = true;
				return;
			}
			if (s->coding != CODING_GZIP) {
				dec_raw(s, slot, d->z.next_in, d->z.avail_in);
				return;
			}
			inflateReset(&d->z);
			continue;
		}
		if (rc != Z_OK && rc != Z_BUF_ERROR) {
			/* Not a stream at all: the whole body raw.  Corrupt
			 * midway: raw from where zlib stopped. */
			if (d->out_total == 0 && d->in_total == n)
				dec_raw(s, slot, in, n);
			else
				dec_raw(s, slot, d->z.next_in, d->z.avail_in);
			return;
		}
		if (!d->z.avail_in && d->z.avail_out)
			return;
		if (!got && d->z.avail_in == in_before)
			return; /* no progress possible */
	}
}

static void body_feed(struct http_session *s, struct http_slot *slot, const uint8_t *p, size_t n)
{
	if (s->coding == CODING_NONE || s->coding == CODING_RAW) {
		deliver(s, slot, p, n, false);
		return;
	}
	struct http_decoder *d = s->dec;
	while (n) {
		if (d->state == DEC_STOP)
			return;
		if (d->state == DEC_RAW) {
			deliver(s, slot, p, n, false);
			return;
		}
		if (!d->stage_len && n >= INFLATE_BLOCK) {
			/* A whole block straight from the input: the same
			 * blocks as through the stage, without the copy. */
			dec_run(s, slot, p, INFLATE_BLOCK);
			p += INFLATE_BLOCK;
			n -= INFLATE_BLOCK;
			continue;
		}
		size_t take = INFLATE_BLOCK - d->stage_len;
		if (take > n)
			take = n;
		memcpy(d->stage + d->stage_len, p, take);
		d->stage_len += take;
		p += take;
		n -= take;
		if (d->stage_len == INFLATE_BLOCK) {
			d->stage_len = 0;
			dec_run(s, slot, d->stage, INFLATE_BLOCK);
		}
	}
}

/* The body ended (complete) or was cut (a gap, a parse error, close): what is
 * staged is decoded.  A complete body whose stream did not end is corrupt. */
static void body_finish(struct http_session *s, struct http_slot *slot, bool complete)
{
	if (s->coding == CODING_GZIP || s->coding == CODING_DEFLATE) {
		struct http_decoder *d = s->dec;
		if (d->state == DEC_RUN && d->stage_len) {
			size_t n = d->stage_len;
			d->stage_len = 0;
			dec_run(s, slot, d->stage, n);
		}
		if (complete && d->state == DEC_RUN && d->started && !d->at_end)
			anom(s, slot, HTTP_ANOM_BAD_ENCODING);
	}
	s->coding = CODING_NONE;
}

/* ---- request head ---- */

static void hdr_reset(struct http_session *s)
{
	s->hstate = HS_NONE;
	s->name_len = 0;
	s->val_len = 0;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static bool name_is(const struct http_session *s, const char *n)
{
	size_t l = strlen(n);
	return s->name_len == l && memcmp(s->name, n, l) == 0;
}

static void ce_add(struct http_session *s, const char *v, size_t n)
{
	if (!n)
		return;
	size_t need = n + (s->ce_len ? 2 : 0);
	if (s->ce_len + need > HTTP_CE_MAX) {
		s->ce_long = true;
		return;
	}
	if (s->ce_len) {
		memcpy(s->ce + s->ce_len, ", ", 2);
		s->ce_len += 2;
	}
	for (size_t i = 0; i < n; i++)
		s->ce[s->ce_len++] = lower(v[i]);
}

/* The NUL after the request target, before anything else enters the arena. */
static int url_close(struct http_slot *slot)
{
	if (slot->url_closed)
		return 0;
	slot->url_closed = true;
	return arena_add(slot, NULL, 0) == SIZE_MAX ? -1 : 0;
}

static int hdr_commit(struct http_session *s, struct http_slot *slot)
{
	const char *v = s->val ? s->val : "";
	size_t n = s->val_len;
	while (n && is_ws(*v)) {
		v++;
		n--;
	}
	while (n && is_ws(v[n - 1]))
		n--;
	int rc = 0;
	if (name_is(s, "host")) {
		if (!slot->host_count++) {
			slot->host_off = arena_add(slot, v, n);
			rc |= slot->host_off == SIZE_MAX;
		}
	} else if (name_is(s, "content-type")) {
		if (!slot->has_ctype) {
			slot->has_ctype = true;
			slot->ctype_off = arena_add(slot, v, n);
			rc |= slot->ctype_off == SIZE_MAX;
		}
	} else if (name_is(s, "content-length")) {
		slot->has_cl = true;
	} else if (name_is(s, "transfer-encoding")) {
		slot->has_te = true;
	} else if (name_is(s, "content-encoding")) {
		ce_add(s, v, n);
	}
	if (slot->nhdr < s->lim.max_headers) {
		if (slot->nhdr == slot->hoff_cap) {
			uint32_t cap = slot->hoff_cap ? slot->hoff_cap * 2 : 8;
			struct hdr_off *h = realloc(slot->hoff, cap * sizeof *h);
			if (!h)
				return -1;
			slot->hoff = h;
			slot->hoff_cap = cap;
		}
		struct hdr_off *h = &slot->hoff[slot->nhdr];
		h->name = arena_add(slot, s->name, s->name_len);
		h->value = arena_add(slot, v, n);
		if (h->name == SIZE_MAX || h->value == SIZE_MAX)
			return -1;
		slot->nhdr++;
	} else {
		anom(s, slot, HTTP_ANOM_TOO_MANY_HEADERS);
	}
	hdr_reset(s);
	return rc ? -1 : 0;
}

/* Host header value: lower case, port split off, IPv6 brackets removed. */
static void split_hostport(const char *h, size_t n, size_t *hoff, size_t *hlen, uint16_t *port)
{
	size_t colon = n;
	*hoff = 0;
	*hlen = n;
	*port = 0;
	if (n && h[0] == '[') {
		const char *rb = memchr(h, ']', n);
		if (!rb)
			return;
		*hoff = 1;
		*hlen = (size_t)(rb - h) - 1;
		if ((size_t)(rb - h) + 1 < n && rb[1] == ':')
			colon = (size_t)(rb - h) + 1;
	} else {
		const char *c = memchr(h, ':', n);
		if (c && !memchr(c + 1, ':', n - (size_t)(c - h) - 1)) {
			colon = (size_t)(c - h);
			*hlen = colon;
		}
	}
	if (colon >= n)
		return;
	uint32_t p = 0;
	size_t i = colon + 1;
	if (i == n)
		return;
	for (; i < n; i++) {
		if (h[i] < '0' || h[i] > '9' || (p = p * 10 + (uint32_t)(h[i] - '0')) > 65535)
			return;
	}
	*port = (uint16_t)p;
}

struct target {
	size_t host_off, host_len; /* within the arena */
	bool has_host;
	uint16_t port;
	size_t path_off, path_len, query_off, query_len;
	bool has_path;
};

/* Origin form "/p?q#f" (and "*"): path and query split by hand. */
static void split_origin(const char *u, size_t n, struct target *t)
{
	const char *hash = memchr(u, '#', n);
	if (hash)
		n = (size_t)(hash - u);
	const char *q = memchr(u, '?', n);
	t->path_off = 0;
	t->path_len = q ? (size_t)(q - u) : n;
	t->has_path = t->path_len > 0;
	if (q) {
		t->query_off = (size_t)(q - u) + 1;
		t->query_len = n - t->query_off;
	}
}

/* Absolute form and CONNECT's authority form through http_parser_parse_url;
 * false if it is neither (or too long for its 16-bit offsets). */
static bool split_absolute(const char *u, size_t n, bool connect, struct target *t)
{
	struct http_parser_url pu;
	if (n > UINT16_MAX)
		return false;
	http_parser_url_init(&pu);
	if (http_parser_parse_url(u, n, connect, &pu) || !(pu.field_set & (1u << UF_HOST)))
		return false;
	t->has_host = true;
	t->host_off = pu.field_data[UF_HOST].off;
	t->host_len = pu.field_data[UF_HOST].len;
	if (pu.field_set & (1u << UF_PORT))
		t->port = pu.port;
	if (pu.field_set & (1u << UF_PATH)) {
		t->has_path = true;
		t->path_off = pu.field_data[UF_PATH].off;
		t->path_len = pu.field_data[UF_PATH].len;
	}
	if (pu.field_set & (1u << UF_QUERY)) {
		t->query_off = pu.field_data[UF_QUERY].off;
		t->query_len = pu.field_data[UF_QUERY].len;
	}
	return true;
}

/* Headers complete: the public view of the request, built once; the arena
 * does not move after this. */
static int head_finish(struct http_session *s, struct http_slot *slot, const http_parser *p)
{
	struct http_request *r = &slot->req;
	r->method = http_method_str((enum http_method)p->method);
	slot->method_known = true;
	slot->method = (uint8_t)p->method;
	r->version_major = p->http_major;
	r->version_minor = p->http_minor;
	r->chunked = p->flags & F_CHUNKED;
	if (p->flags & F_CONTENTLENGTH)
		r->content_length = p->content_length > INT64_MAX ? INT64_MAX :
								    (int64_t)p->content_length;
	if (slot->has_te && slot->has_cl)
		anom(s, slot, HTTP_ANOM_TE_AND_CL);
	if (slot->host_count > 1)
		anom(s, slot, HTTP_ANOM_DUPLICATE_HOST);

	/* The target (offset 0 of the arena, url_len bytes). */
	struct target t = { 0 };
	bool connect = p->method == HTTP_CONNECT;
	bool absolute = false;
	if (slot->url_len && (connect || (slot->arena[0] != '/' && slot->arena[0] != '*')))
		absolute = split_absolute(slot->arena, slot->url_len, connect, &t);
	if (!absolute) {
		memset(&t, 0, sizeof t);
		split_origin(slot->arena, slot->url_len, &t);
	}

	size_t hh_off = 0, hh_len = 0;
	uint16_t hh_port = 0;
	if (slot->host_count) {
		const char *hv = slot->arena + slot->host_off;
		split_hostport(hv, strlen(hv), &hh_off, &hh_len, &hh_port);
		hh_off += slot->host_off;
	}
	size_t host_from, host_len;
	if (t.has_host) {
		host_from = t.host_off;
		host_len = t.host_len;
		r->port = t.port;
		if (slot->host_count &&
		    (hh_len != host_len ||
		     strncasecmp(slot->arena + hh_off, slot->arena + host_from, host_len) ||
		     (hh_port && t.port && hh_port != t.port)))
			anom(s, slot, HTTP_ANOM_DUPLICATE_HOST);
	} else {
		host_from = hh_off;
		host_len = hh_len;
		r->port = hh_port;
	}

	size_t host = arena_dup(slot, host_from, host_len);
	size_t path = t.has_path ? arena_dup(slot, t.path_off, t.path_len) : arena_add(slot, "/", 1);
	size_t query = arena_dup(slot, t.query_off, t.query_len);
	while (s->ce_len && is_ws(s->ce[s->ce_len - 1]))
		s->ce_len--;
	size_t ce = arena_add(slot, s->ce, s->ce_long ? 0 : s->ce_len);
	size_t empty = arena_add(slot, NULL, 0);
	if (host == SIZE_MAX || path == SIZE_MAX || query == SIZE_MAX || ce == SIZE_MAX ||
	    empty == SIZE_MAX)
		return -1;
	if (slot->nhdr) {
		slot->hdrs = calloc(slot->nhdr, sizeof *slot->hdrs);
		if (!slot->hdrs)
			return -1;
	}
	lower_str(slot->arena + host, host_len);

	/* From here on the arena stays put. */
	char *a = slot->arena;
	r->url = a;
	r->host = a + host;
	r->path = a + path;
	r->query = a + query;
	r->content_type = slot->has_ctype ? a + slot->ctype_off : a + empty;
	r->content_encoding = a + ce;
	for (uint32_t i = 0; i < slot->nhdr; i++) {
		slot->hdrs[i].name = a + slot->hoff[i].name;
		slot->hdrs[i].value = a + slot->hoff[i].value;
	}
	r->headers = slot->hdrs;
	r->header_count = slot->nhdr;
	free(slot->hoff);
	slot->hoff = NULL;

	/* The body's coding; several or unknown codings are passed raw. */
	if (s->ce_long) {
		s->coding = CODING_RAW;
	} else if (s->ce_len == 0 || strcmp(r->content_encoding, "identity") == 0) {
		s->coding = CODING_NONE;
	} else if (strcmp(r->content_encoding, "gzip") == 0 ||
		   strcmp(r->content_encoding, "x-gzip") == 0) {
		s->coding = CODING_GZIP;
	} else if (strcmp(r->content_encoding, "deflate") == 0) {
		s->coding = CODING_DEFLATE;
	} else {
		s->coding = CODING_RAW;
	}
	if (s->coding == CODING_RAW)
		anom(s, slot, HTTP_ANOM_BAD_ENCODING);
	if (s->coding == CODING_GZIP || s->coding == CODING_DEFLATE) {
		if (!s->dec) {
			s->dec = calloc(1, sizeof *s->dec);
			if (!s->dec) {
				s->coding = CODING_NONE;
				return -1;
			}
		}
		struct http_decoder *d = s->dec;
		d->started = d->at_end = false;
		d->state = DEC_RUN;
		d->in_total = d->out_total = 0;
		d->stage_len = 0;
	}
	return 0;
}

/* ---- request parser callbacks ---- */

static int req_message_begin(http_parser *p)
{
	struct http_session *s = p->data;
	if (s->client_stopped)
		return -1; /* stopped from a nested callback */
	uint32_t max = s->lim.max_pending ? s->lim.max_pending : 1;
	while (s->nslots >= max && s->head)
		drop_oldest(s);
	struct http_slot *slot = calloc(1, sizeof *slot);
	if (!slot)
		return -1;
	slot->req.content_length = -1;
	if (s->tail)
		s->tail->next = slot;
	else
		s->head = slot;
	s->tail = slot;
	s->nslots++;
	s->cur = slot;
	hdr_reset(s);
	s->in_trailers = false;
	s->ce_len = 0;
	s->ce_long = false;
	return 0;
}

/* The stream offset just past these bytes of the current execute call. */
static void progress(struct http_session *s, const char *at, size_t n)
{
	/* An empty piece (an empty value, or a mark flushed at a chunk's
	 * end) is no data and may depend on the chunking. */
	if (n)
		s->progress_off = s->exec_off + (uint64_t)(at + n - s->exec_base);
}

static int req_url(http_parser *p, const char *at, size_t n)
{
	struct http_session *s = p->data;
	if (s->client_stopped)
		return -1; /* stopped from a nested callback */
	progress(s, at, n);
	struct http_slot *slot = s->cur;
	if (!slot || slot->url_closed)
		return 0;
	slot->method_known = true;
	slot->method = (uint8_t)p->method;
	size_t room = s->lim.max_url > slot->url_len ? s->lim.max_url - slot->url_len : 0;
	if (n > room) {
		anom(s, slot, HTTP_ANOM_URL_TOO_LONG);
		n = room;
	}
	if (!n)
		return 0;
	if (grow_chars(&slot->arena, &slot->cap, slot->url_len + n + 1, SIZE_MAX))
		return -1;
	memcpy(slot->arena + slot->url_len, at, n);
	slot->url_len += n;
	slot->len = slot->url_len;
	return 0;
}

static int req_header_field(http_parser *p, const char *at, size_t n)
{
	struct http_session *s = p->data;
	if (s->client_stopped)
		return -1; /* stopped from a nested callback */
	progress(s, at, n);
	struct http_slot *slot = s->cur;
	if (!slot || s->in_trailers)
		return 0;
	if (url_close(slot))
		return -1;
	if (s->hstate == HS_VALUE && hdr_commit(s, slot))
		return -1;
	s->hstate = HS_FIELD;
	size_t room = HTTP_NAME_MAX - s->name_len;
	if (n > room) {
		anom(s, slot, HTTP_ANOM_HEADER_TOO_LONG);
		n = room;
	}
	for (size_t i = 0; i < n; i++)
		s->name[s->name_len++] = lower(at[i]);
	return 0;
}

static int req_header_value(http_parser *p, const char *at, size_t n)
{
	struct http_session *s = p->data;
	if (s->client_stopped)
		return -1; /* stopped from a nested callback */
	progress(s, at, n);
	struct http_slot *slot = s->cur;
	if (!slot || s->in_trailers)
		return 0;
	s->hstate = HS_VALUE;
	size_t max = s->lim.max_header_value;
	size_t room = max - s->val_len;
	if (n > room) {
		anom(s, slot, HTTP_ANOM_HEADER_TOO_LONG);
		n = room;
	}
	if (!n)
		return 0;
	if (grow_chars(&s->val, &s->val_alloc, s->val_len + n, max))
		return -1;
	memcpy(s->val + s->val_len, at, n);
	s->val_len += n;
	return 0;
}

static int req_headers_complete(http_parser *p)
{
	struct http_session *s = p->data;
	if (s->client_stopped)
		return -1; /* stopped from a nested callback */
	struct http_slot *slot = s->cur;
	if (!slot)
		return -1;
	if (url_close(slot))
		return -1;
	if (s->hstate == HS_VALUE && hdr_commit(s, slot))
		return -1;
	hdr_reset(s);
	s->in_trailers = true;
	if (head_finish(s, slot, p))
		return -1;
	if ((p->flags & F_CHUNKED) && !p->upgrade) {
		/* Pause so that the guard applies from the next byte on. */
		s->chunk_guard = true;
		http_parser_pause(p, 1);
	}
	slot->begun = true;
	slot->req.index = s->info.requests++;
	s->info.anomalies |= slot->req.anomalies;
	if (s->cb.request_begin)
		s->cb.request_begin(s->ctx, &slot->req);
	/* A response head that came before the request head was complete. */
	if (slot->resp_head && s->cb.response)
		s->cb.response(s->ctx, &slot->req);
	return 0;
}

static int req_body(http_parser *p, const char *at, size_t n)
{
	struct http_session *s = p->data;
	if (s->client_stopped)
		return -1; /* stopped from a nested callback */
	progress(s, at, n);
	struct http_slot *slot = s->cur;
	if (!slot)
		return 0;
	slot->req.wire_body_bytes += n;
	body_feed(s, slot, (const uint8_t *)at, n);
	return 0;
}

static int req_message_complete(http_parser *p)
{
	struct http_session *s = p->data;
	if (s->client_stopped)
		return -1; /* stopped from a nested callback */
	struct http_slot *slot = s->cur;
	if (!slot)
		return 0;
	body_finish(s, slot, true);
	s->chunk_guard = false;
	s->cur = NULL;
	slot->complete = slot->req.complete = true;
	if (s->cb.request_end)
		s->cb.request_end(s->ctx, &slot->req);
	/* http-parser stops after a CONNECT or Upgrade request: what follows is
	 * held until the response says whether it is still HTTP. */
	if (p->upgrade && !slot->resp_done)
		s->hold_slot = slot;
	drain(s);
	return 0;
}

/* ---- response parser callbacks ---- */

static int resp_message_begin(http_parser *p)
{
	struct http_session *s = p->data;
	if (s->server_stopped)
		return -1; /* stopped from a nested callback */
	s->resp_in_msg = true;
	s->resp_headed = s->resp_interim = s->resp_upgrade = false;
	s->resp_slot = NULL;
	return 0;
}

static int resp_headers_complete(http_parser *p)
{
	struct http_session *s = p->data;
	if (s->server_stopped)
		return -1; /* stopped from a nested callback */
	unsigned st = p->status_code;
	s->resp_headed = true;
	if (st < 100)
		return -1; /* "000": no status at all, a parse error */
	if (st < 200 && st != 101) {
		s->resp_interim = true;
		return 1; /* 1xx: no body, the final response follows */
	}
	s->info.responses++;
	bool head = false, connect = false;
	if (s->owed_count) {
		head = owed_pop(s);
	} else {
		struct http_slot *slot = s->head;
		while (slot && slot->resp_head)
			slot = slot->next;
		if (slot) {
			slot->resp_head = true;
			slot->req.status = (uint16_t)st;
			head = slot->method_known && slot->method == HTTP_HEAD;
			connect = slot->method_known && slot->method == HTTP_CONNECT;
			s->resp_slot = slot;
			if (slot->begun && s->cb.response)
				s->cb.response(s->ctx, &slot->req);
		} else {
			s->info.anomalies |= HTTP_ANOM_UNANSWERED;
		}
	}
	if (st == 101 || (connect && st >= 200 && st < 300)) {
		s->resp_upgrade = true;
		return 2; /* no body, no more HTTP */
	}
	if (head || st == 204 || st == 304)
		return 1;
	return 0;
}

static void client_exec(struct http_session *s, const uint8_t *data, size_t len);
static void client_break(struct http_session *s, uint32_t bit);

static void hold_free(struct http_session *s)
{
	free(s->hold);
	s->hold = NULL;
	s->hold_len = s->hold_alloc = 0;
	s->hold_lost = false;
}

/* The protocol switch was refused: the held bytes are HTTP after all. */
static void hold_release(struct http_session *s)
{
	uint8_t *buf = s->hold;
	size_t len = s->hold_len;
	bool lost = s->hold_lost;
	s->hold = NULL;
	s->hold_len = s->hold_alloc = 0;
	s->hold_lost = false;
	s->hold_slot = NULL;
	if (len && !s->client_stopped)
		client_exec(s, buf, len);
	free(buf);
	if (lost) {
		if (s->hold_slot)
			s->hold_lost = true; /* still missing, after the new hold */
		else if (!s->client_stopped)
			client_break(s, HTTP_ANOM_GAP);
	}
}

static int resp_message_complete(http_parser *p)
{
	struct http_session *s = p->data;
	if (s->server_stopped)
		return -1; /* stopped from a nested callback */
	s->resp_in_msg = false;
	if (s->resp_interim)
		return 0;
	struct http_slot *slot = s->resp_slot;
	s->resp_slot = NULL;
	if (slot)
		slot->resp_done = true;
	if (s->resp_upgrade) {
		s->info.upgraded = true;
		s->client_stopped = s->server_stopped = true;
		s->hold_slot = NULL;
		hold_free(s);
		drain(s);
		if (s->cb.upgrade)
			s->cb.upgrade(s->ctx);
		return 0;
	}
	bool release = slot && slot == s->hold_slot;
	if (release)
		s->hold_slot = NULL;
	drain(s);
	if (release)
		hold_release(s);
	return 0;
}

/* ---- directions ---- */

/* The request whose response is being parsed, once its head is complete,
 * or the one it will answer while it is not; NULL between responses. */
static struct http_slot *resp_open(struct http_session *s)
{
	if (!s->resp_in_msg)
		return NULL;
	if (s->resp_headed || s->owed_count)
		return s->resp_slot;
	struct http_slot *slot = s->head;
	while (slot && slot->resp_head)
		slot = slot->next;
	return slot;
}

static void client_break(struct http_session *s, uint32_t bit)
{
	s->client_stopped = true;
	s->chunk_guard = false;
	s->info.client_broken = true;
	s->info.anomalies |= bit;
	enum http_errno err = HTTP_PARSER_ERRNO(&s->req_p);
	if (bit != HTTP_ANOM_PARSE_ERROR)
		err = HPE_OK;
	if (err == HPE_HEADER_OVERFLOW)
		s->info.anomalies |= HTTP_ANOM_HEADER_TOO_LONG;
	struct http_slot *slot = s->cur;
	if (!slot)
		return;
	s->cur = NULL;
	if (!slot->begun) {
		/* Its response is framed by its method (HEAD): take it from
		 * the parser, as the URL may not have been handed over. */
		slot->method_known = true;
		slot->method = (uint8_t)s->req_p.method;
		/* http-parser refuses Transfer-Encoding with a Content-Length
		 * (unless chunked) at the end of the head: still say why. */
		if (err == HPE_UNEXPECTED_CONTENT_LENGTH && !s->in_trailers) {
			if (s->hstate != HS_NONE)
				hdr_commit(s, slot);
			if (slot->has_te && slot->has_cl) {
				anom(s, slot, HTTP_ANOM_TE_AND_CL);
				s->info.anomalies |= HTTP_ANOM_TE_AND_CL;
			}
		}
	} else {
		body_finish(s, slot, false);
	}
	anom(s, slot, bit);
	slot->broken = true;
	drain(s);
}

static void server_break(struct http_session *s, uint32_t bit)
{
	s->server_stopped = true;
	s->info.server_broken = true;
	s->info.anomalies |= bit;
	struct http_slot *slot = resp_open(s);
	if (slot)
		anom(s, slot, bit);
	s->resp_slot = NULL;
	if (s->hold_slot) {
		/* Whether the switch happened is unknown now. */
		s->hold_slot = NULL;
		s->client_stopped = true;
		hold_free(s);
	}
}

static void hold_add(struct http_session *s, const uint8_t *data, size_t len)
{
	if (s->hold_lost)
		return;
	if (len > HTTP_HOLD_MAX - s->hold_len) {
		len = HTTP_HOLD_MAX - s->hold_len;
		s->hold_lost = true;
	}
	if (!len)
		return;
	uint8_t *h = grow(s->hold, &s->hold_alloc, s->hold_len + len, HTTP_HOLD_MAX);
	if (!h) {
		s->hold_lost = true;
		return;
	}
	s->hold = h;
	memcpy(s->hold + s->hold_len, data, len);
	s->hold_len += len;
}

static void client_exec(struct http_session *s, const uint8_t *data, size_t len)
{
	http_parser *p = &s->req_p;
	while (len && !s->client_stopped) {
		size_t slice = len;
		if (s->chunk_guard) {
			uint64_t lim = s->progress_off + HTTP_CHUNK_LINE_MAX;
			if (s->client_off >= lim) {
				client_break(s, HTTP_ANOM_PARSE_ERROR);
				return;
			}
			if (slice > lim - s->client_off)
				slice = (size_t)(lim - s->client_off);
		}
		s->exec_base = (const char *)data;
		s->exec_off = s->client_off;
		size_t n = http_parser_execute(p, &s->req_set, (const char *)data, slice);
		if (s->client_stopped)
			return;
		bool paused = HTTP_PARSER_ERRNO(p) == HPE_PAUSED;
		if (paused) {
			http_parser_pause(p, 0);
		} else if (HTTP_PARSER_ERRNO(p) != HPE_OK) {
			client_break(s, HTTP_ANOM_PARSE_ERROR);
			return;
		}
		if (n > slice)
			n = slice;
		data += n;
		len -= n;
		s->client_off += n;
		if (paused)
			continue;
		if (s->chunk_guard && s->client_off >= s->progress_off + HTTP_CHUNK_LINE_MAX) {
			client_break(s, HTTP_ANOM_PARSE_ERROR);
			return;
		}
		if (n == slice)
			continue;
		if (s->hold_slot) {
			hold_add(s, data, len);
			return;
		}
		/* Stopped on a switch that was already refused: go on. */
		if (!p->upgrade || !n) {
			client_break(s, HTTP_ANOM_PARSE_ERROR);
			return;
		}
	}
}

static void server_exec(struct http_session *s, const uint8_t *data, size_t len)
{
	size_t n = http_parser_execute(&s->resp_p, &s->resp_set, (const char *)data, len);
	if (s->server_stopped)
		return;
	if (HTTP_PARSER_ERRNO(&s->resp_p) != HPE_OK || n < len)
		server_break(s, HTTP_ANOM_PARSE_ERROR);
}

/* ---- public ---- */

struct http_session *http_session_new(const struct http_limits *limits,
				      const struct http_callbacks *cb, void *ctx)
{
	struct http_session *s = calloc(1, sizeof *s);
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	if (limits)
		s->lim = *limits;
	else
		http_limits_default(&s->lim);
	if (cb)
		s->cb = *cb;
	s->ctx = ctx;

	http_parser_init(&s->req_p, HTTP_REQUEST);
	/* RFC 9112 6.3: with both, chunked framing wins (and we say so). */
	s->req_p.allow_chunked_length = 1;
	s->req_p.data = s;
	http_parser_settings_init(&s->req_set);
	s->req_set.on_message_begin = req_message_begin;
	s->req_set.on_url = req_url;
	s->req_set.on_header_field = req_header_field;
	s->req_set.on_header_value = req_header_value;
	s->req_set.on_headers_complete = req_headers_complete;
	s->req_set.on_body = req_body;
	s->req_set.on_message_complete = req_message_complete;

	http_parser_init(&s->resp_p, HTTP_RESPONSE);
	s->resp_p.allow_chunked_length = 1;
	s->resp_p.data = s;
	http_parser_settings_init(&s->resp_set);
	s->resp_set.on_message_begin = resp_message_begin;
	s->resp_set.on_headers_complete = resp_headers_complete;
	s->resp_set.on_message_complete = resp_message_complete;
	return s;
}

void http_session_feed(struct http_session *s, enum http_dir dir, const uint8_t *data, size_t len)
{
	/* len 0 would tell http-parser the stream ended. */
	if (s->closed || s->info.upgraded || !len)
		return;
	if (dir == HTTP_TO_SERVER) {
		if (s->client_stopped)
			return;
		if (s->hold_slot)
			hold_add(s, data, len);
		else
			client_exec(s, data, len);
	} else if (!s->server_stopped) {
		server_exec(s, data, len);
	}
}

void http_session_gap(struct http_session *s, enum http_dir dir, uint64_t len)
{
	if (s->closed || s->info.upgraded || !len)
		return;
	if (dir == HTTP_TO_SERVER) {
		if (s->client_stopped)
			return;
		if (s->hold_slot)
			s->hold_lost = true;
		else
			client_break(s, HTTP_ANOM_GAP);
	} else if (!s->server_stopped) {
		server_break(s, HTTP_ANOM_GAP);
	}
}

void http_session_close(struct http_session *s)
{
	if (s->closed)
		return;
	if (!s->info.upgraded) {
		if (!s->client_stopped && s->cur) {
			struct http_slot *slot = s->cur;
			s->cur = NULL;
			if (slot->begun)
				body_finish(s, slot, false);
			anom(s, slot, HTTP_ANOM_TRUNCATED);
			s->info.anomalies |= HTTP_ANOM_TRUNCATED;
			slot->broken = true;
		}
		if (!s->server_stopped && s->resp_in_msg) {
			/* EOF ends a response framed by the connection's end. */
			http_parser_execute(&s->resp_p, &s->resp_set, NULL, 0);
			if (s->resp_in_msg) {
				anom(s, resp_open(s), HTTP_ANOM_TRUNCATED);
				s->info.anomalies |= HTTP_ANOM_TRUNCATED;
			}
		}
	}
	s->closed = true;
	s->client_stopped = s->server_stopped = true;
	s->hold_slot = NULL;
	hold_free(s);
	while (s->head) {
		struct http_slot *slot = s->head;
		if (slot->begun && !slot->resp_head)
			anom(s, slot, HTTP_ANOM_UNANSWERED);
		slot_unlink_head(s);
		slot_finish(s, slot);
	}
}

void http_session_free(struct http_session *s)
{
	if (!s)
		return;
	while (s->head) {
		struct http_slot *slot = s->head;
		slot_unlink_head(s);
		slot_free(slot);
	}
	if (s->dec) {
		if (s->dec->z_ready)
			inflateEnd(&s->dec->z);
		free(s->dec);
	}
	free(s->hold);
	free(s->val);
	free(s);
}

const struct http_session_info *http_session_info(const struct http_session *s)
{
	return &s->info;
}

/* ---- detection ---- */

static const char *const methods[] = {
#define XX(num, name, string) #string,
	HTTP_METHOD_MAP(XX)
#undef XX
};

static int prefix_ci(const uint8_t *d, size_t n, const char *lit)
{
	size_t l = strlen(lit);
	size_t m = n < l ? n : l;
	for (size_t i = 0; i < m; i++)
		if (lower((char)d[i]) != lit[i])
			return 0;
	return n < l ? -1 : 1;
}

static bool is_alnum(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int plausible_target(const uint8_t *t, size_t n, bool connect)
{
	if (!n)
		return -1;
	if (t[0] == '/' || t[0] == '*')
		return 1;
	if (connect && (is_alnum(t[0]) || t[0] == '['))
		return 1;
	int a = prefix_ci(t, n, "http://"), b = prefix_ci(t, n, "https://");
	if (a == 1 || b == 1)
		return 1;
	return a == -1 || b == -1 ? -1 : 0;
}

int http_detect_request(const uint8_t *data, size_t len)
{
	int best = 0;
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		const char *m = methods[i];
		size_t ml = strlen(m);
		int v;
		if (len <= ml) {
			v = memcmp(data, m, len) == 0 ? -1 : 0;
		} else if (memcmp(data, m, ml) || data[ml] != ' ') {
			v = 0;
		} else {
			v = plausible_target(data + ml + 1, len - ml - 1, strcmp(m, "CONNECT") == 0);
		}
		if (v == 1)
			return 1;
		if (v == -1)
			best = -1;
	}
	return best;
}
