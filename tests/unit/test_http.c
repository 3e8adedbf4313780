/* HTTP session parser: requests, pairing, bodies, anomalies and the
 * chunking property.
 *
 * Every case is a script of client / server chunks (and gaps).  run_case()
 * feeds it whole, byte by byte and in random chunkings, and checks that the
 * text log of every callback (bodies as a count and hash per request) and
 * the session summary are the same each time; the cases then check the
 * whole-fed result.  Some inputs are byte copies of the captures in
 * /work/shared/pcaps/http (see MANIFEST.md there). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "http_parser/http.h"
#include "tests/unit/testlib.h"

enum step_kind { ST_C, ST_S, ST_GAP_C, ST_GAP_S };

struct step {
	enum step_kind kind;
	const uint8_t *data;
	size_t len;
};

#define C(s) { ST_C, (const uint8_t *)(s), sizeof(s) - 1 }
#define S(s) { ST_S, (const uint8_t *)(s), sizeof(s) - 1 }
#define CB(p, n) { ST_C, (const uint8_t *)(p), (n) }
#define GAP_C(n) { ST_GAP_C, NULL, (n) }
#define GAP_S(n) { ST_GAP_S, NULL, (n) }
#define NSTEPS(a) (sizeof(a) / sizeof((a)[0]))

#define MAX_REC 16
#define BODY_KEEP 8192

struct rec {
	char method[16], url[512], host[128], path[256], query[256], ctype[128], ce[64];
	char hdr_ua[128];
	uint16_t port, status;
	int64_t cl;
	bool chunked;
	size_t hcount;
	uint32_t anom_begin, anom_done;
	uint64_t body_bytes, wire, hash;
	uint8_t body[BODY_KEEP];
	size_t kept;
	unsigned begins, ends, resps, dones;
	bool complete;
	const struct http_request *ptr;
};

struct log {
	char *text;
	size_t len, cap;
	struct rec rec[MAX_REC];
	uint32_t next_done;
	unsigned upgrades, errors;
	struct http_session_info info;
	struct http_session *s;
};

static void logf_(struct log *lg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct log *lg, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(lg->text + lg->len, lg->cap - lg->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < lg->cap - lg->len) {
			lg->len += (size_t)n;
			return;
		}
		lg->cap = lg->cap * 2 + (size_t)(n > 0 ? n : 0) + 256;
		lg->text = realloc(lg->text, lg->cap);
		if (!lg->text)
			abort();
	}
}

static void copy(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "(null)");
}

static struct rec *rec_of(struct log *lg, const struct http_request *r)
{
	if (r->index >= MAX_REC) {
		lg->errors++;
		return NULL;
	}
	return &lg->rec[r->index];
}

static void on_begin(void *ctx, const struct http_request *r)
{
	struct log *lg = ctx;
	struct rec *rc = rec_of(lg, r);
	if (!rc)
		return;
	if (rc->begins++ || r->complete || r->body_bytes)
		lg->errors++;
	rc->ptr = r;
	copy(rc->method, sizeof rc->method, r->method);
	copy(rc->url, sizeof rc->url, r->url);
	copy(rc->host, sizeof rc->host, r->host);
	copy(rc->path, sizeof rc->path, r->path);
	copy(rc->query, sizeof rc->query, r->query);
	copy(rc->ctype, sizeof rc->ctype, r->content_type);
	copy(rc->ce, sizeof rc->ce, r->content_encoding);
	copy(rc->hdr_ua, sizeof rc->hdr_ua, http_request_header(r, "User-Agent"));
	rc->port = r->port;
	rc->cl = r->content_length;
	rc->chunked = r->chunked;
	rc->hcount = r->header_count;
	rc->anom_begin = r->anomalies;
	rc->hash = 1469598103934665603ull;
	logf_(lg, "begin %u %s %s host=%s:%u path=%s query=%s ct=%s cl=%lld ch=%d ce=%s v%u.%u anom=%#x",
	      r->index, r->method, r->url, r->host, r->port, r->path, r->query, r->content_type,
	      (long long)r->content_length, r->chunked, r->content_encoding, r->version_major,
	      r->version_minor, r->anomalies);
	for (size_t i = 0; i < r->header_count; i++)
		logf_(lg, " [%s: %s]", r->headers[i].name, r->headers[i].value);
	logf_(lg, "\n");
}

static void on_body(void *ctx, const struct http_request *r, const uint8_t *d, size_t n)
{
	struct log *lg = ctx;
	struct rec *rc = rec_of(lg, r);
	if (!rc)
		return;
	if (!rc->begins || rc->ends || !n || r != rc->ptr)
		lg->errors++;
	for (size_t i = 0; i < n; i++) {
		rc->hash = (rc->hash ^ d[i]) * 1099511628211ull;
		if (rc->kept < BODY_KEEP)
			rc->body[rc->kept++] = d[i];
	}
	rc->body_bytes += n;
	if (rc->body_bytes != r->body_bytes)
		lg->errors++;
}

static void on_end(void *ctx, const struct http_request *r)
{
	struct log *lg = ctx;
	struct rec *rc = rec_of(lg, r);
	if (!rc)
		return;
	if (!rc->begins || rc->ends++ || !r->complete || r != rc->ptr)
		lg->errors++;
	logf_(lg, "end %u body=%llu wire=%llu hash=%016llx anom=%#x\n", r->index,
	      (unsigned long long)r->body_bytes, (unsigned long long)r->wire_body_bytes,
	      (unsigned long long)rc->hash, r->anomalies);
}

static void on_response(void *ctx, const struct http_request *r)
{
	struct log *lg = ctx;
	struct rec *rc = rec_of(lg, r);
	if (!rc)
		return;
	if (!rc->begins || rc->resps++ || !r->status || r != rc->ptr)
		lg->errors++;
	logf_(lg, "response %u %u\n", r->index, r->status);
}

static void on_done(void *ctx, const struct http_request *r)
{
	struct log *lg = ctx;
	struct rec *rc = rec_of(lg, r);
	if (!rc)
		return;
	/* in order, once, and the strings of request_begin still there */
	if (!rc->begins || rc->dones++ || r->index != lg->next_done++ || r != rc->ptr ||
	    strcmp(rc->url, r->url) || strcmp(rc->host, r->host) || strcmp(rc->ctype, r->content_type))
		lg->errors++;
	if ((rc->ends != 0) != r->complete)
		lg->errors++;
	rc->status = r->status;
	rc->anom_done = r->anomalies;
	rc->wire = r->wire_body_bytes;
	rc->complete = r->complete;
	logf_(lg, "done %u status=%u complete=%d body=%llu hash=%016llx anom=%#x\n", r->index,
	      r->status, r->complete, (unsigned long long)r->body_bytes,
	      (unsigned long long)rc->hash, r->anomalies);
}

static void on_upgrade(void *ctx)
{
	struct log *lg = ctx;
	lg->upgrades++;
	logf_(lg, "upgrade\n");
}

static const struct http_callbacks callbacks = {
	.request_begin = on_begin, .request_body = on_body, .request_end = on_end,
	.response = on_response, .request_done = on_done, .upgrade = on_upgrade,
};

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rng(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

enum feed_mode { WHOLE, BYTES, RANDOM };

static void feed(struct http_session *s, enum http_dir dir, const uint8_t *d, size_t n,
		 enum feed_mode mode)
{
	while (n) {
		size_t k = n;
		if (mode == BYTES)
			k = 1;
		else if (mode == RANDOM)
			k = 1 + (size_t)(rng() % (rng() % 4 == 0 ? 4096 : 17));
		if (k > n)
			k = n;
		http_session_feed(s, dir, d, k);
		d += k;
		n -= k;
	}
}

static struct log *run(const struct step *st, size_t n, const struct http_limits *lim,
		       enum feed_mode mode)
{
	struct log *lg = calloc(1, sizeof *lg);
	if (!lg)
		abort();
	lg->cap = 1024;
	lg->text = malloc(lg->cap);
	if (!lg->text)
		abort();
	lg->text[0] = '\0';
	struct http_session *s = http_session_new(lim, &callbacks, lg);
	if (!s)
		abort();
	lg->s = s;
	for (size_t i = 0; i < n; i++) {
		switch (st[i].kind) {
		case ST_C:
			feed(s, HTTP_TO_SERVER, st[i].data, st[i].len, mode);
			break;
		case ST_S:
			feed(s, HTTP_TO_CLIENT, st[i].data, st[i].len, mode);
			break;
		case ST_GAP_C:
			http_session_gap(s, HTTP_TO_SERVER, st[i].len);
			break;
		case ST_GAP_S:
			http_session_gap(s, HTTP_TO_CLIENT, st[i].len);
			break;
		}
	}
	http_session_close(s);
	http_session_close(s); /* idempotent */
	lg->info = *http_session_info(s);
	http_session_free(s);
	lg->s = NULL;
	const struct http_session_info *in = &lg->info;
	logf_(lg, "info req=%u resp=%u anom=%#x up=%d cb=%d sb=%d infl=%llu\n", in->requests,
	      in->responses, in->anomalies, in->upgraded, in->client_broken, in->server_broken,
	      (unsigned long long)in->inflated_bytes);
	/* every request_begin had its request_done */
	for (unsigned i = 0; i < MAX_REC; i++)
		if (lg->rec[i].begins != lg->rec[i].dones)
			lg->errors++;
	if (lg->next_done != in->requests)
		lg->errors++;
	return lg;
}

static void log_free(struct log *lg)
{
	free(lg->text);
	free(lg);
}

/* Whole-fed log, after checking that other chunkings log the same. */
static struct log *run_case(const struct step *st, size_t n, const struct http_limits *lim)
{
	struct log *ref = run(st, n, lim, WHOLE);
	CHECK_EQ_U(ref->errors, 0);
	if (ref->errors)
		fprintf(stderr, "callback contract broken; log:\n%s", ref->text);
	for (int v = 0; v < 5; v++) {
		struct log *o = run(st, n, lim, v == 0 ? BYTES : RANDOM);
		CHECK_EQ_U(o->errors, 0);
		if (strcmp(ref->text, o->text) != 0) {
			tl_failed++;
			fprintf(stderr, "chunking %d changed the log:\n--- whole\n%s--- chunked\n%s", v,
				ref->text, o->text);
		} else {
			tl_passed++;
		}
		log_free(o);
	}
	return ref;
}

static bool has(const struct log *lg, const char *needle)
{
	return strstr(lg->text, needle) != NULL;
}

/* Events in this order somewhere in the log. */
static bool in_order(const struct log *lg, const char *a, const char *b)
{
	const char *x = strstr(lg->text, a), *y = strstr(lg->text, b);
	return x && y && x < y;
}

static struct http_limits defaults(void)
{
	struct http_limits l;
	http_limits_default(&l);
	return l;
}

/* ---- zlib helpers for request bodies ---- */

static size_t compress_to(int wbits, const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	if (deflateInit2(&z, 9, Z_DEFLATED, wbits, 9, Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END)
		abort();
	size_t got = cap - z.avail_out;
	deflateEnd(&z);
	return got;
}

/* "POST /up HTTP/1.1 ... Content-Encoding: <ce> ... Content-Length" + body. */
static size_t post_with(char *buf, size_t cap, const char *ce, const uint8_t *body, size_t n)
{
	int h = snprintf(buf, cap,
			 "POST /up HTTP/1.1\r\nHost: up.example\r\nContent-Type: text/plain\r\n"
			 "Content-Encoding: %s\r\nContent-Length: %zu\r\n\r\n",
			 ce, n);
	if (h < 0 || (size_t)h + n > cap)
		abort();
	memcpy(buf + h, body, n);
	return (size_t)h + n;
}

static const char ok_empty[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

/* ---- cases ---- */

static void test_limits_and_names(void)
{
	struct http_limits l = defaults();
	CHECK_EQ_U(l.max_url, 8192);
	CHECK_EQ_U(l.max_header_value, 8192);
	CHECK_EQ_U(l.max_headers, 64);
	CHECK_EQ_U(l.max_pending, 32);
	CHECK_EQ_U(l.max_inflate, 64u << 20);
	CHECK_EQ_U(l.max_inflate_ratio, 200);
	CHECK_STR(http_anomaly_name(HTTP_ANOM_PARSE_ERROR), "parse_error");
	CHECK_STR(http_anomaly_name(HTTP_ANOM_TE_AND_CL), "te_and_cl");
	CHECK_STR(http_anomaly_name(HTTP_ANOM_INFLATE_CAP), "inflate_cap");
	CHECK_STR(http_anomaly_name(HTTP_ANOM_TRUNCATED), "truncated");
	CHECK(http_anomaly_name(0) == NULL);
	CHECK(http_anomaly_name(HTTP_ANOM_GAP | HTTP_ANOM_PARSE_ERROR) == NULL);
	CHECK(http_anomaly_name(1u << HTTP_ANOM_COUNT) == NULL);
	for (unsigned i = 0; i < HTTP_ANOM_COUNT; i++)
		CHECK(http_anomaly_name(1u << i) != NULL);
}

static void test_detect(void)
{
	struct {
		const char *s;
		int want;
	} t[] = {
		{ "GET / HTTP/1.1\r\n", 1 }, { "GET /", 1 }, { "", -1 }, { "G", -1 }, { "GE", -1 },
		{ "GET", -1 }, { "GET ", -1 }, { "GET x", 0 }, { "GETX /", 0 }, { "get / HTTP/1.1", 0 },
		{ "POST http://mail.example/x HTTP/1.1", 1 }, { "POST htt", -1 }, { "POST HTTPS://a", 1 },
		{ "POST ftp://a", 0 }, { "CONNECT mail.example:443 HTTP/1.1", 1 },
		{ "CONNECT [::1]:443", 1 }, { "OPTIONS * HTTP/1.1", 1 }, { "PROPFIND /dav", 1 },
		{ "M-SEARCH * HTTP/1.1", 1 }, { "PATCH /a", 1 }, { "DELETE /a", 1 }, { "TRACE /", 1 },
		{ "\x16\x03\x01\x02\x00", 0 }, { "EHLO mail.example\r\n", 0 }, { "HELO x", 0 },
		{ "SSH-2.0-OpenSSH", 0 }, { "MKCO", -1 }, { "PUT\t/", 0 },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		int got = http_detect_request((const uint8_t *)t[i].s, strlen(t[i].s));
		if (got != t[i].want)
			fprintf(stderr, "detect \"%s\": %d, want %d\n", t[i].s, got, t[i].want);
		CHECK(got == t[i].want);
	}
}

/* Keep-alive with pipelined requests, responses paired in order. */
static void test_pipelined_get(void)
{
	const struct step st[] = {
		C("GET /a HTTP/1.1\r\nHost: Example.COM:8080\r\nUser-Agent: t/1\r\n\r\n"
		  "GET /b?x=1&y=%20#frag HTTP/1.1\r\nHost: example.com\r\n\r\n"),
		S("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
		C("GET /c HTTP/1.1\r\nHost: example.com\r\n\r\n"),
		S("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
		  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
	};
	struct http_limits l = defaults();
	struct log *lg = run_case(st, NSTEPS(st), &l);
	CHECK_EQ_U(lg->info.requests, 3);
	CHECK_EQ_U(lg->info.responses, 3);
	CHECK_EQ_U(lg->info.anomalies, 0);
	CHECK_STR(lg->rec[0].method, "GET");
	CHECK_STR(lg->rec[0].host, "example.com");
	CHECK_EQ_U(lg->rec[0].port, 8080);
	CHECK_STR(lg->rec[0].path, "/a");
	CHECK_STR(lg->rec[0].query, "");
	CHECK_STR(lg->rec[0].hdr_ua, "t/1");
	CHECK_EQ_U(lg->rec[0].hcount, 2);
	CHECK(lg->rec[0].cl == -1);
	CHECK_STR(lg->rec[1].url, "/b?x=1&y=%20#frag");
	CHECK_STR(lg->rec[1].path, "/b");
	CHECK_STR(lg->rec[1].query, "x=1&y=%20");
	CHECK_EQ_U(lg->rec[1].port, 0);
	CHECK_EQ_U(lg->rec[0].status, 200);
	CHECK_EQ_U(lg->rec[1].status, 404);
	CHECK_EQ_U(lg->rec[2].status, 200);
	/* request 1 is done only when its response is, after request 2 began */
	CHECK(in_order(lg, "begin 2", "done 1"));
	CHECK(in_order(lg, "response 0 200", "done 0"));
	CHECK(in_order(lg, "done 0", "begin 2"));
	log_free(lg);
}

/* curl POST from http_post_urlencoded.pcap; its response is framed by
 * Content-Length and says Connection: close. */
static void test_post_content_length(void)
{
	const struct step st[] = {
		C("POST /post HTTP/1.1\r\n"
		  "User-Agent: curl/7.29.0\r\n"
		  "Host: httpbin.org\r\n"
		  "Accept: */*\r\n"
		  "Content-Length: 11\r\n"
		  "Content-Type: application/x-www-form-urlencoded\r\n"
		  "\r\n"
		  "hello world"),
		S("HTTP/1.1 200 OK\r\n"),
		S("Server: gunicorn/0.16.1\r\n"
		  "Date: Tue, 19 Mar 2013 16:05:11 GMT\r\n"
		  "Content-Type: application/json\r\n"
		  "Content-Length: 29\r\n"
		  "Connection: close\r\n"
		  "\r\n"
		  "{\n  \"data\": \"hello world\"\n}\n\n"),
	};
	struct http_limits l = defaults();
	struct log *lg = run_case(st, NSTEPS(st), &l);
	struct rec *r = &lg->rec[0];
	CHECK_EQ_U(lg->info.requests, 1);
	CHECK_STR(r->method, "POST");
	CHECK_STR(r->host, "httpbin.org");
	CHECK_STR(r->ctype, "application/x-www-form-urlencoded");
	CHECK(r->cl == 11);
	CHECK(!r->chunked);
	CHECK_EQ_U(r->body_bytes, 11);
	CHECK(r->kept == 11 && memcmp(r->body, "hello world", 11) == 0);
	CHECK_EQ_U(r->status, 200);
	CHECK(r->complete);
	CHECK_EQ_U(lg->info.anomalies, 0);
	/* the commit point: request_end before the response */
	CHECK(in_order(lg, "end 0", "response 0"));
	log_free(lg);
}

/* http_post_chunked_trailers.pcap: bare LF line ends, chunk sizes with a
 * trailing space, an extension on the last chunk, two trailer fields.
 * http-parser 2.9.4 wants CRLF after a chunk size: after "8 " it reads the
 * rest as a chunk extension up to a CR.  So the request never completes
 * (truncated at close), and past HTTP_CHUNK_LINE_MAX bytes without data
 * the client side is a parse error: the rest of a connection cannot hide
 * in one chunk line. */
#define TRAILERS_REQ                                                                  \
	"POST /qwe.asd HTTP/1.1\n"                                                   \
	"Host: 127.0.0.1\n"                                                          \
	"Transfer-Encoding: chunked\n"                                               \
	"Content-Type: Application/binary\n"                                         \
	"\n"                                                                         \
	"8 \n"                                                                       \
	"tototata\n"                                                                 \
	"4 \n"                                                                       \
	"titi\n"                                                                     \
	"0 ; qwe3=asd3; zxc3=\"rt\"y3\"\n"                                           \
	"trailehdr1: tralierdata1\n"                                                 \
	"trailehdr2: tralierdata2\n"                                                 \
	"\n"

static void test_chunked_trailers(void)
{
	const struct step st[] = {
		C(TRAILERS_REQ),
		S("HTTP/1.1 200 OK\n\n\n"),
	};
	struct http_limits l = defaults();
	struct log *lg = run_case(st, NSTEPS(st), &l);
	struct rec *r = &lg->rec[0];
	CHECK_EQ_U(lg->info.requests, 1);
	CHECK(r->chunked);
	CHECK(r->cl == -1);
	CHECK_STR(r->ctype, "Application/binary");
	CHECK_EQ_U(r->body_bytes, 0);
	CHECK(!r->complete);
	CHECK(r->anom_done & HTTP_ANOM_TRUNCATED);
	CHECK_EQ_U(r->status, 200); /* no length: ends with the connection */
	log_free(lg);

	static char pad[20000];
	memset(pad, 'x', sizeof pad);
	const struct step st1[] = { C(TRAILERS_REQ), CB(pad, sizeof pad) };
	lg = run_case(st1, NSTEPS(st1), &l);
	CHECK(lg->info.client_broken);
	CHECK(lg->rec[0].anom_done & HTTP_ANOM_PARSE_ERROR);
	CHECK_EQ_U(lg->rec[0].anom_done & HTTP_ANOM_TRUNCATED, 0);
	log_free(lg);

	/* the same with CRLF: body, extension and trailers all understood */
	const struct step st1b[] = {
		C("POST /qwe.asd HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
		  "Content-Type: Application/binary\r\n\r\n8\r\ntototata\r\n4\r\ntiti\r\n"
		  "0 ; qwe3=asd3; zxc3=\"rt\"y3\"\r\ntrailehdr1: tralierdata1\r\n"
		  "trailehdr2: tralierdata2\r\n\r\n"),
		S("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
	};
	lg = run_case(st1b, NSTEPS(st1b), &l);
	r = &lg->rec[0];
	CHECK_EQ_U(r->body_bytes, 12);
	CHECK(r->kept == 12 && memcmp(r->body, "tototatatiti", 12) == 0);
	CHECK_EQ_U(r->hcount, 3); /* trailers are not headers */
	CHECK(r->complete);
	CHECK_EQ_U(lg->info.anomalies, 0);
	log_free(lg);

	/* chunked with extensions, CRLF, several chunks, then a second request */
	const struct step st2[] = {
		C("POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "5;name=val\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0;last\r\nX-T: 1\r\n\r\n"
		  "GET /next HTTP/1.1\r\nHost: h\r\n\r\n"),
		S("HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n" /* 204: no body */
		  "HTTP/1.1 304 Not Modified\r\n\r\n"),
	};
	lg = run_case(st2, NSTEPS(st2), &l);
	CHECK_EQ_U(lg->rec[0].body_bytes, 31);
	CHECK(memcmp(lg->rec[0].body, "helloabcdefghijklmnopqrstuvwxyz", 31) == 0);
	CHECK_EQ_U(lg->rec[0].status, 204);
	CHECK_EQ_U(lg->rec[1].status, 304);
	CHECK_STR(lg->rec[1].path, "/next");
	CHECK_EQ_U(lg->info.anomalies, 0);
	log_free(lg);
}

/* http_post_gzip_urlencoded.pcap (curl --data with a gzip body). */
static void test_gzip_capture(void)
{
	const struct step st[] = {
		C("POST /hi.php HTTP/1.1\r\n"
		  "Host: 192.168.235.101\r\n"
		  "User-Agent: curl/7.55.1\r\n"
		  "Accept: */*\r\n"
		  "Content-Encoding: gzip\r\n"
		  "Content-Length: 45\r\n"
		  "Content-Type: application/x-www-form-urlencoded\r\n"
		  "\r\n"
		  "\037\213\010\000\357\305\016[\000\003\313K\314M\265\315\312\317\310SHI,\315\253T"
		  "\310\315IL)\316\310\254\344\002\000N_Q`\031\000\000\000"),
		S("HTTP/1.1 200 OK\r\n"
		  "Date: Wed, 30 May 2018 12:45:53 GMT\r\n"
		  "Server: Apache/2.4.12 (Ubuntu)\r\n"
		  "Content-Length: 24\r\n"
		  "Content-Type: text/html; charset=UTF-8\r\n"
		  "\r\n"
		  "Hi john dauny mladshiy\n"
		  "!"),
	};
	struct http_limits l = defaults();
	struct log *lg = run_case(st, NSTEPS(st), &l);
	struct rec *r = &lg->rec[0];
	static const char plain[] = "name=john dauny mladshiy\n";
	CHECK_STR(r->ce, "gzip");
	CHECK_EQ_U(r->body_bytes, sizeof plain - 1);
	CHECK(r->kept == sizeof plain - 1 && memcmp(r->body, plain, sizeof plain - 1) == 0);
	CHECK_EQ_U(r->wire, 45);
	CHECK_EQ_U(lg->info.inflated_bytes, sizeof plain - 1);
	CHECK_EQ_U(lg->info.anomalies, 0);
	CHECK_STR(r->host, "192.168.235.101");
	log_free(lg);
}

/* gzip (several members, chunked framing), zlib-wrapped and raw deflate. */
static void test_codings(void)
{
	static uint8_t plain[20000], packed[30000], packed2[30000];
	static char req[70000];
	for (size_t i = 0; i < sizeof plain; i++)
		plain[i] = (uint8_t)("to: alice@example.org, subject: quarterly numbers "[i % 50] ^ (i / 997));
	struct http_limits l = defaults();
	const struct {
		const char *ce;
		int wbits;
	} kinds[] = { { "gzip", 31 }, { "x-gzip", 31 }, { "deflate", 15 }, { "Deflate", -15 } };
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		size_t n = compress_to(kinds[k].wbits, plain, sizeof plain, packed, sizeof packed);
		size_t rl = post_with(req, sizeof req, kinds[k].ce, packed, n);
		const struct step st[] = { CB(req, rl), S(ok_empty) };
		struct log *lg = run_case(st, NSTEPS(st), &l);
		struct rec *r = &lg->rec[0];
		CHECK_EQ_U(r->body_bytes, sizeof plain);
		CHECK(memcmp(r->body, plain, BODY_KEEP) == 0);
		CHECK_EQ_U(r->wire, n);
		CHECK_EQ_U(lg->info.anomalies, 0);
		CHECK_EQ_U(lg->info.inflated_bytes, sizeof plain);
		log_free(lg);
	}

	/* two gzip members in a chunked body: both decoded */
	size_t n1 = compress_to(31, plain, 3000, packed, sizeof packed);
	size_t n2 = compress_to(31, plain + 3000, 5000, packed2, sizeof packed2);
	int h = snprintf(req, sizeof req,
			 "POST /m HTTP/1.1\r\nHost: h\r\nContent-Encoding: gzip\r\n"
			 "Transfer-Encoding: chunked\r\n\r\n%zx\r\n",
			 n1);
	size_t rl = (size_t)h;
	memcpy(req + rl, packed, n1);
	rl += n1;
	rl += (size_t)sprintf(req + rl, "\r\n%zx\r\n", n2);
	memcpy(req + rl, packed2, n2);
	rl += n2;
	rl += (size_t)sprintf(req + rl, "\r\n0\r\n\r\n");
	const struct step st[] = { CB(req, rl), S(ok_empty) };
	struct log *lg = run_case(st, NSTEPS(st), &l);
	CHECK_EQ_U(lg->rec[0].body_bytes, 8000);
	CHECK(memcmp(lg->rec[0].body, plain, 8000) == 0);
	CHECK(lg->rec[0].chunked);
	CHECK_EQ_U(lg->info.anomalies, 0);
	log_free(lg);

	/* identity is no coding; unknown codings pass the body raw */
	const struct step id[] = {
		C("POST /i HTTP/1.1\r\nHost: h\r\nContent-Encoding: identity\r\nContent-Length: 3\r\n\r\nabc"
		  "POST /b HTTP/1.1\r\nHost: h\r\nContent-Encoding: br\r\nContent-Length: 3\r\n\r\nxyz"
		  "POST /g HTTP/1.1\r\nHost: h\r\nContent-Encoding: gzip\r\n"
		  "Content-Encoding: deflate\r\nContent-Length: 3\r\n\r\nqrs"),
	};
	lg = run_case(id, NSTEPS(id), &l);
	CHECK_EQ_U(lg->rec[0].anom_done & HTTP_ANOM_BAD_ENCODING, 0);
	CHECK(lg->rec[0].kept == 3 && memcmp(lg->rec[0].body, "abc", 3) == 0);
	CHECK(lg->rec[1].anom_begin & HTTP_ANOM_BAD_ENCODING);
	CHECK(lg->rec[1].kept == 3 && memcmp(lg->rec[1].body, "xyz", 3) == 0);
	CHECK_STR(lg->rec[2].ce, "gzip, deflate");
	CHECK(lg->rec[2].anom_begin & HTTP_ANOM_BAD_ENCODING);
	CHECK(lg->rec[2].kept == 3 && memcmp(lg->rec[2].body, "qrs", 3) == 0);
	log_free(lg);
}

/* Corrupt gzip: what decoded is delivered, then the raw rest. */
static void test_corrupt_gzip(void)
{
	static uint8_t plain[12000], packed[20000];
	static char req[40000];
	for (size_t i = 0; i < sizeof plain; i++)
		plain[i] = (uint8_t)('a' + (i * 7 + i / 13) % 26);
	size_t n = compress_to(31, plain, sizeof plain, packed, sizeof packed);
	for (size_t i = n / 2; i < n / 2 + 16; i++)
		packed[i] ^= 0x5a;
	size_t rl = post_with(req, sizeof req, "gzip", packed, n);
	const struct step st[] = { CB(req, rl), S(ok_empty) };
	struct http_limits l = defaults();
	struct log *lg = run_case(st, NSTEPS(st), &l);
	struct rec *r = &lg->rec[0];
	CHECK(r->anom_done & HTTP_ANOM_BAD_ENCODING);
	CHECK(r->complete);
	CHECK(r->body_bytes > 0);
	CHECK(memcmp(r->body, plain, 64) == 0);
	log_free(lg);

	/* a body that is not gzip at all: raw from the first byte */
	const struct step st2[] = {
		C("POST /x HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: 10\r\n\r\nplain text"),
	};
	lg = run_case(st2, NSTEPS(st2), &l);
	CHECK(lg->rec[0].anom_done & HTTP_ANOM_BAD_ENCODING);
	CHECK(lg->rec[0].kept == 10 && memcmp(lg->rec[0].body, "plain text", 10) == 0);
	log_free(lg);

	/* a gzip stream cut short (the body ends first) */
	n = compress_to(31, plain, 1000, packed, sizeof packed);
	rl = post_with(req, sizeof req, "gzip", packed, n - 6);
	const struct step st3[] = { CB(req, rl) };
	lg = run_case(st3, NSTEPS(st3), &l);
	CHECK(lg->rec[0].anom_done & HTTP_ANOM_BAD_ENCODING);
	CHECK(lg->rec[0].complete);
	log_free(lg);

	/* An incompressible body of several inflate blocks, corrupt in the
	 * third: whole blocks go to zlib straight from the input, cut ones
	 * through the stage, and every chunking must end up the same
	 * (run_case compares the logs, body hash included). */
	uint64_t x = 1;
	for (size_t i = 0; i < sizeof plain; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		plain[i] = (uint8_t)(x >> 56);
	}
	n = compress_to(31, plain, sizeof plain, packed, sizeof packed);
	CHECK(n > 2 * 4096 + 200);
	for (size_t i = 2 * 4096 + 100; i < 2 * 4096 + 116; i++)
		packed[i] ^= 0x5a;
	rl = post_with(req, sizeof req, "gzip", packed, n);
	const struct step st4[] = { CB(req, rl), S(ok_empty) };
	lg = run_case(st4, NSTEPS(st4), &l);
	r = &lg->rec[0];
	CHECK(r->anom_done & HTTP_ANOM_BAD_ENCODING);
	CHECK(r->complete);
	CHECK(r->body_bytes >= 2 * 4096);
	CHECK(memcmp(r->body, plain, 4096) == 0);
	log_free(lg);
}

/* A gzip bomb stops at the ratio cap; max_inflate caps an honest body. */
static void test_inflate_caps(void)
{
	size_t big = 24u << 20;
	uint8_t *zeros = calloc(1, big);
	static uint8_t packed[200000];
	static char req[210000];
	size_t n = compress_to(31, zeros, big, packed, sizeof packed);
	free(zeros);
	size_t rl = post_with(req, sizeof req, "gzip", packed, n);
	const struct step st[] = { CB(req, rl), C("GET /after HTTP/1.1\r\n\r\n"), S(ok_empty), S(ok_empty) };
	struct http_limits l = defaults();
	struct log *lg = run_case(st, NSTEPS(st), &l);
	struct rec *r = &lg->rec[0];
	CHECK(r->anom_done & HTTP_ANOM_INFLATE_CAP);
	CHECK(r->body_bytes > 0);
	CHECK(r->body_bytes <= (uint64_t)l.max_inflate_ratio * r->wire);
	CHECK(r->body_bytes < big);
	CHECK(r->complete);
	CHECK_EQ_U(r->wire, n);
	CHECK_STR(lg->rec[1].path, "/after"); /* framing unaffected */
	CHECK_EQ_U(lg->rec[1].anom_done, 0);
	log_free(lg);

	static uint8_t plain[5000];
	for (size_t i = 0; i < sizeof plain; i++)
		plain[i] = (uint8_t)(i * 2654435761u >> 13);
	n = compress_to(15, plain, sizeof plain, packed, sizeof packed);
	rl = post_with(req, sizeof req, "deflate", packed, n);
	const struct step st2[] = { CB(req, rl) };
	l.max_inflate = 1000;
	lg = run_case(st2, NSTEPS(st2), &l);
	CHECK(lg->rec[0].anom_done & HTTP_ANOM_INFLATE_CAP);
	CHECK_EQ_U(lg->rec[0].body_bytes, 1000);
	CHECK(memcmp(lg->rec[0].body, plain, 1000) == 0);
	log_free(lg);
}

/* Expect: 100-continue with several 100s before the final response, as in
 * http_multipart_multi100.pcap (same head, shorter body). */
static void test_expect_continue(void)
{
	const struct step st[] = {
		C("POST /upload HTTP/1.1\r\n"
		  "Host: 10.25.10.120:1551\r\n"
		  "User-Agent: curl/7.68.0\r\n"
		  "Accept: */*\r\n"
		  "Content-Length: 20\r\n"
		  "Content-Type: multipart/form-data; boundary=------------------------22a5480273a448e1\r\n"
		  "Expect: 100-continue\r\n"
		  "\r\n"),
		S("HTTP/1.1 100 Continue\r\n\r\n"),
		C("0123456789"),
		S("HTTP/1.1 100 Continue\r\n\r\n"),
		S("HTTP/1.1 102 Processing\r\nContent-Length: 4\r\n\r\n"),
		C("abcdefghij"),
		S("HTTP/1.1 100 Continue\r\n\r\n"),
		S("HTTP/1.1 200 OK\r\n"
		  "Server: Werkzeug/2.2.2 Python/3.8.10\r\n"
		  "Content-Type: text/html; charset=utf-8\r\n"
		  "Content-Length: 27\r\n"
		  "Connection: close\r\n"
		  "\r\n"),
		S("file uploaded successfully\n"),
	};
	struct http_limits l = defaults();
	struct log *lg = run_case(st, NSTEPS(st), &l);
	struct rec *r = &lg->rec[0];
	CHECK_EQ_U(lg->info.responses, 1);
	CHECK_EQ_U(r->status, 200);
	CHECK_EQ_U(r->body_bytes, 20);
	CHECK_STR(r->host, "10.25.10.120");
	CHECK_EQ_U(r->port, 1551);
	CHECK_EQ_U(lg->info.anomalies, 0);
	CHECK(in_order(lg, "end 0", "response 0 200"));
	log_free(lg);
}

/* A response to HEAD has no body, whatever its Content-Length says. */
static void test_head(void)
{
	const struct step st[] = {
		C("HEAD /big HTTP/1.1\r\nHost: h\r\n\r\nGET /small HTTP/1.1\r\nHost: h\r\n\r\n"),
		S("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"
		  "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"),
	};
	struct http_limits l = defaults();
	struct log *lg = run_case(st, NSTEPS(st), &l);
	CHECK_STR(lg->rec[0].method, "HEAD");
	CHECK_EQ_U(lg->rec[0].status, 200);
	CHECK_EQ_U(lg->rec[1].status, 201);
	CHECK_EQ_U(lg->info.anomalies, 0);
	CHECK(!lg->info.server_broken);
	log_free(lg);
}

/* CONNECT answered 200: a tunnel, no more HTTP in either direction. */
static void test_connect(void)
{
	const struct step st[] = {
		C("CONNECT mail.example.com:443 HTTP/1.1\r\nHost: mail.example.com:443\r\n\r\n"
		  "\026\003\001\002\000\001\000\001\374\003\003"),
		S("HTTP/1.1 200 Connection established\r\n\r\n\026\003\003\000\132\002"),
		C("GET /not-http HTTP/1.1\r\n\r\n"),
		S("HTTP/1.1 500 no\r\n\r\n"),
	};
	struct http_limits l = defaults();
	struct log *lg = run_case(st, NSTEPS(st), &l);
	CHECK_EQ_U(lg->info.requests, 1);
	CHECK(lg->info.upgraded);
	CHECK_EQ_U(lg->upgrades, 1);
	CHECK_STR(lg->rec[0].method, "CONNECT");
	CHECK_STR(lg->rec[0].host, "mail.example.com");
	CHECK_EQ_U(lg->rec[0].port, 443);
	CHECK_EQ_U(lg->rec[0].status, 200);
	CHECK_EQ_U(lg->info.anomalies, 0);
	CHECK(in_order(lg, "done 0", "upgrade"));
	log_free(lg);

	/* refused (407): the bytes sent meanwhile are HTTP after all */
	const struct step st2[] = {
		C("CONNECT a.example:443 HTTP/1.1\r\n\r\nGET http://a.example/x HTTP/1.1\r\nHost: a.example\r\n\r\n"),
		S("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 3\r\n\r\nno!"
		  "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
	};
	lg = run_case(st2, NSTEPS(st2), &l);
	CHECK_EQ_U(lg->info.requests, 2);
	CHECK(!lg->info.upgraded);
	CHECK_EQ_U(lg->rec[0].status, 407);
	CHECK_EQ_U(lg->rec[1].status, 200);
	CHECK_STR(lg->rec[1].host, "a.example");
	CHECK_STR(lg->rec[1].path, "/x");
	CHECK_EQ_U(lg->info.anomalies, 0);
	log_free(lg);
}

/* Bytes held after a switch request: a gap or more than the hold keeps,
 * then a refusal, and the client side is cut there; a server side that
 * breaks first leaves the held bytes unknown. */
static void test_hold_limits(void)
{
	static char pad[70000];
	memset(pad, 'x', sizeof pad);
	memcpy(pad, "GET /held HTTP/1.1\r\nX-Pad: ", 28);
	const struct step st[] = {
		C("CONNECT a.example:443 HTTP/1.1\r\n\r\n"),
		CB(pad, sizeof pad),
		S("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"),
	};
	struct http_limits l = defaults();
	struct log *lg = run_case(st, NSTEPS(st), &l);
	CHECK_EQ_U(lg->info.requests, 1);
	CHECK_EQ_U(lg->rec[0].status, 403);
	CHECK(lg->info.client_broken);
	CHECK(lg->info.anomalies & HTTP_ANOM_GAP);
	log_free(lg);

	const struct step st2[] = {
		C("CONNECT a.example:443 HTTP/1.1\r\n\r\nGET /one HTTP/1.1\r\n\r\n"),
		GAP_C(10),
		S("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"),
	};
	lg = run_case(st2, NSTEPS(st2), &l);
	CHECK_EQ_U(lg->info.requests, 2);
	CHECK_STR(lg->rec[1].path, "/one");
	CHECK(lg->info.client_broken);
	CHECK(lg->info.anomalies & HTTP_ANOM_GAP);
	log_free(lg);

	const struct step st3[] = {
		C("CONNECT a.example:443 HTTP/1.1\r\n\r\nGET /one HTTP/1.1\r\n\r\n"),
		S("HTTP/1.1 2"),
		GAP_S(10),
		C("GET /two HTTP/1.1\r\n\r\n"),
	};
	lg = run_case(st3, NSTEPS(st3), &l);
	CHECK_EQ_U(lg->info.requests, 1);
	CHECK(lg->info.server_broken);
	CHECK(!lg->info.upgraded);
	CHECK(lg->rec[0].anom_done & HTTP_ANOM_GAP);
	log_free(lg);
}

/* 101 Switching Protocols ends HTTP; a refused Upgrade does not. */
static void test_upgrade(void)
{
	const struct step st[] = {
		C("GET /chat HTTP/1.1\r\nHost: ws.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"),
		S("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
		  "\201\005hello"),
		C("\201\205\000\000\000\000hello"),
	};
	struct http_limits l = defaults();
	struct log *lg = run_case(st, NSTEPS(st), &l);
	CHECK(lg->info.upgraded);
	CHECK_EQ_U(lg->rec[0].status, 101);
	CHECK_EQ_U(lg->info.requests, 1);
	CHECK_EQ_U(lg->info.anomalies, 0);
	log_free(lg);

	const struct step st2[] = {
		C("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\n"
		  "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"
		  "POST /form HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\n"),
		C("a=bc"),
		S("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"),
		S(ok_empty),
	};
	lg = run_case(st2, NSTEPS(st2), &l);
	CHECK(!lg->info.upgraded);
	CHECK_EQ_U(lg->info.requests, 2);
	CHECK_STR(lg->rec[1].path, "/form");
	CHECK(lg->rec[1].kept == 4 && memcmp(lg->rec[1].body, "a=bc", 4) == 0);
	CHECK_EQ_U(lg->rec[1].status, 200);
	log_free(lg);
}

/* http_te_cl_smuggle.pcap: chunked wins, so the smuggled GET is seen. */
static void test_te_cl(void)
{
	const struct step st[] = {
		C("POST / HTTP/1.1\r\n"
		  "Host: target\r\n"
		  "Transfer-Encoding: chunked\r\n"
		  "Content-Length: 50\r\n"
		  "\r\n"
		  "0\r\n"
		  "\r\n"
		  "GET /smuggled-te-cl HTTP/1.1\r\n"
		  "Host: target\r\n"
		  "\r\n"),
	};
	struct http_limits l = defaults();
	struct log *lg = run_case(st, NSTEPS(st), &l);
	CHECK_EQ_U(lg->info.requests, 2);
	CHECK(lg->rec[0].chunked);
	CHECK(lg->rec[0].anom_begin & HTTP_ANOM_TE_AND_CL);
	CHECK_EQ_U(lg->rec[0].body_bytes, 0);
	CHECK_STR(lg->rec[1].path, "/smuggled-te-cl");
	CHECK_EQ_U(lg->rec[1].anom_done & HTTP_ANOM_TE_AND_CL, 0);
	CHECK(lg->info.anomalies & HTTP_ANOM_TE_AND_CL);
	log_free(lg);

	/* a coding other than chunked with a length: http-parser refuses it */
	const struct step st2[] = {
		C("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\nabcde"),
		S("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
	};
	lg = run_case(st2, NSTEPS(st2), &l);
	CHECK_EQ_U(lg->info.requests, 0);
	CHECK(lg->info.client_broken);
	CHECK(lg->info.anomalies & HTTP_ANOM_PARSE_ERROR);
	CHECK(lg->info.anomalies & HTTP_ANOM_TE_AND_CL);
	CHECK_EQ_U(lg->info.anomalies & HTTP_ANOM_UNANSWERED, 0); /* the 400 was its answer */
	log_free(lg);
}

/* Absolute-form targets (a proxy): http_gmail_2009_post_via_proxy.pcap,
 * with the Cookie value left out of this file. */
static void test_absolute_url(void)
{
	const struct step st[] = {
		C("POST http://mail.google.com/mail/channel/bind?VER=6&it=42470&at=xn3j31wu48khrokz8lz9it16ee271v&SID=BFD63E29C52937FA&RID=70262&zx=fbagj7j815wq&t=1 HTTP/1.1\r\n"
		  "Host: mail.google.com\r\n"
		  "User-Agent: Mozilla/5.0 (Windows; U; Windows NT 5.1; en-GB; rv:1.9.0.1) Gecko/2008070208 Firefox/3.0.1\r\n"
		  "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
		  "Accept-Language: en-gb,en;q=0.5\r\n"
		  "Accept-Encoding: gzip,deflate\r\n"
		  "Accept-Charset: ISO-8859-1,utf-8;q=0.7,*;q=0.7\r\n"
		  "Keep-Alive: 300\r\n"
		  "Proxy-Connection: keep-alive\r\n"
		  "Content-Type: application/x-www-form-urlencoded; charset=UTF-8\r\n"
		  "Referer: http://mail.google.com/mail/?ui=2&view=js&name=js&ver=uhlfONI7sUY.en.&am=!iBuYvrfV6ffpZdlgwe4yQg8Hq4PKjYtpSFaq6Il-\r\n"
		  "Content-Length: 68\r\n"
		  "Cookie: "),
		C("TZ=-60\r\n"
		  "Pragma: no-cache\r\n"
		  "Cache-Control: no-cache\r\n"
		  "\r\n"
		  "count=1&req0_type=i&req0_time=42445&req0_evtype=mousemove&req0__sc=c"),
		S("HTTP/1.1 200 OK\r\n"
		  "Via: 1.0 SURF2\r\n"
		  "Connection: close\r\n"
		  "Proxy-Connection: close\r\n"
		  "Content-Type: text/plain; charset=utf-8\r\n"
		  "Content-Encoding: gzip\r\n"
		  "Server: GFE/1.3\r\n"
		  "\r\n"
		  "\037\213\010\000\000\000\000\000\002\3772\341\2524JS\005\000\000\000\377\377\003\0007:\342-\006\000\000\000"),
	};
	struct http_limits l = defaults();
	struct log *lg = run_case(st, NSTEPS(st), &l);
	struct rec *r = &lg->rec[0];
	CHECK_STR(r->host, "mail.google.com");
	CHECK_EQ_U(r->port, 0);
	CHECK_STR(r->path, "/mail/channel/bind");
	CHECK_STR(r->query, "VER=6&it=42470&at=xn3j31wu48khrokz8lz9it16ee271v&SID=BFD63E29C52937FA&RID=70262&zx=fbagj7j815wq&t=1");
	CHECK_STR(r->ctype, "application/x-www-form-urlencoded; charset=UTF-8");
	CHECK_EQ_U(r->body_bytes, 68);
	CHECK_EQ_U(r->hcount, 14);
	CHECK_EQ_U(r->status, 200); /* framed by the connection's end */
	CHECK_EQ_U(lg->info.anomalies, 0);
	log_free(lg);

	/* Host disagreeing with the target, two Host fields, IPv6 literals */
	const struct step st2[] = {
		C("GET http://Evil.example/x?q HTTP/1.1\r\nHost: good.example\r\n\r\n"
		  "GET http://a.example:8080/ HTTP/1.1\r\nHost: a.example:9090\r\n\r\n"
		  "GET http://a.example:8080/ HTTP/1.1\r\nHost: A.example\r\n\r\n"
		  "GET / HTTP/1.1\r\nHost: first.example\r\nHost: second.example\r\n\r\n"
		  "GET / HTTP/1.1\r\nHost: [2001:DB8::1]:8443\r\n\r\n"
		  "GET http://[2001:db8::2]:81 HTTP/1.1\r\n\r\n"
		  "OPTIONS * HTTP/1.1\r\nHost: h:bad\r\n\r\n"),
	};
	lg = run_case(st2, NSTEPS(st2), &l);
	CHECK_STR(lg->rec[0].host, "evil.example");
	CHECK_STR(lg->rec[0].query, "q");
	CHECK(lg->rec[0].anom_begin & HTTP_ANOM_DUPLICATE_HOST);
	CHECK(lg->rec[1].anom_begin & HTTP_ANOM_DUPLICATE_HOST);
	CHECK_EQ_U(lg->rec[1].port, 8080);
	CHECK_EQ_U(lg->rec[2].anom_begin & HTTP_ANOM_DUPLICATE_HOST, 0);
	CHECK_STR(lg->rec[3].host, "first.example");
	CHECK(lg->rec[3].anom_begin & HTTP_ANOM_DUPLICATE_HOST);
	CHECK_STR(lg->rec[4].host, "2001:db8::1");
	CHECK_EQ_U(lg->rec[4].port, 8443);
	CHECK_STR(lg->rec[5].host, "2001:db8::2");
	CHECK_EQ_U(lg->rec[5].port, 81);
	CHECK_STR(lg->rec[5].path, "/");
	CHECK_STR(lg->rec[6].path, "*");
	CHECK_STR(lg->rec[6].host, "h"); /* not a port: dropped */
	CHECK_EQ_U(lg->rec[6].port, 0);
	for (int i = 0; i < 7; i++)
		CHECK(lg->rec[i].anom_done & HTTP_ANOM_UNANSWERED);
	log_free(lg);
}

/* url, header value and header count caps; the headers that matter for
 * framing and decoding still count past max_headers. */
static void test_caps(void)
{
	static uint8_t packed[256];
	static char req[2048];
	size_t n = compress_to(31, (const uint8_t *)"secret=1", 8, packed, sizeof packed);
	int h = snprintf(req, sizeof req,
			 "POST /a/very/long/path/that/goes/on?and=on HTTP/1.1\r\n"
			 "X-One: 1\r\nX-Two: 0123456789abcdef\r\nX-Three: 3\r\nHost: Capped.Example\r\n"
			 "Content-Type: text/x\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n",
			 n);
	memcpy(req + h, packed, n);
	const struct step st[] = { CB(req, (size_t)h + n), S(ok_empty) };
	struct http_limits l = defaults();
	l.max_url = 16;
	l.max_header_value = 8;
	l.max_headers = 2;
	struct log *lg = run_case(st, NSTEPS(st), &l);
	struct rec *r = &lg->rec[0];
	CHECK_STR(r->url, "/a/very/long/pat");
	CHECK_STR(r->path, "/a/very/long/pat");
	CHECK(r->anom_begin & HTTP_ANOM_URL_TOO_LONG);
	CHECK(r->anom_begin & HTTP_ANOM_HEADER_TOO_LONG);
	CHECK(r->anom_begin & HTTP_ANOM_TOO_MANY_HEADERS);
	CHECK_EQ_U(r->hcount, 2);
	CHECK(has(lg, "[x-two: 01234567]"));
	CHECK_STR(r->host, "capped.e"); /* from the capped value */
	CHECK_STR(r->ctype, "text/x");
	CHECK(r->kept == 8 && memcmp(r->body, "secret=1", 8) == 0);
	log_free(lg);

	/* more than http-parser's 80 KiB of head: a parse error */
	size_t big = 90000;
	char *huge = malloc(big + 64);
	int k = sprintf(huge, "GET / HTTP/1.1\r\nX-Big: ");
	memset(huge + k, 'x', big);
	memcpy(huge + k + big, "\r\n\r\n", 4);
	const struct step st2[] = { CB(huge, (size_t)k + big + 4) };
	lg = run_case(st2, NSTEPS(st2), &l);
	CHECK(lg->info.client_broken);
	CHECK(lg->info.anomalies & HTTP_ANOM_PARSE_ERROR);
	CHECK(lg->info.anomalies & HTTP_ANOM_HEADER_TOO_LONG);
	CHECK_EQ_U(lg->info.requests, 0);
	log_free(lg);
	free(huge);
}

/* Past max_pending the oldest request is finished unanswered, and the
 * responses still pair with the right requests (a dropped HEAD included). */
static void test_pending_cap(void)
{
	const struct step st[] = {
		C("HEAD /0 HTTP/1.1\r\nHost: h\r\n\r\nGET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
		  "GET /2 HTTP/1.1\r\nHost: h\r\n\r\nGET /3 HTTP/1.1\r\nHost: h\r\n\r\n"),
		S("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
		  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
		  "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
		  "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"),
	};
	struct http_limits l = defaults();
	l.max_pending = 2;
	struct log *lg = run_case(st, NSTEPS(st), &l);
	CHECK_EQ_U(lg->info.requests, 4);
	CHECK(lg->rec[0].anom_done & HTTP_ANOM_UNANSWERED);
	CHECK(lg->rec[0].anom_done & HTTP_ANOM_PENDING_CAP);
	CHECK(lg->rec[1].anom_done & HTTP_ANOM_UNANSWERED);
	CHECK_EQ_U(lg->rec[2].status, 201);
	CHECK_EQ_U(lg->rec[3].status, 202);
	CHECK_EQ_U(lg->rec[2].anom_done, 0);
	CHECK(!lg->info.server_broken);
	CHECK(in_order(lg, "done 0", "begin 2"));
	log_free(lg);
}

/* A gap stops its direction; the open message is marked. */
static void test_gap(void)
{
	const struct step st[] = {
		C("POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n0123456789"),
		GAP_C(50),
		C("0123456789GET /x HTTP/1.1\r\n\r\n"),
		S("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
	};
	struct http_limits l = defaults();
	struct log *lg = run_case(st, NSTEPS(st), &l);
	CHECK_EQ_U(lg->info.requests, 1);
	CHECK(lg->info.client_broken);
	CHECK(!lg->info.server_broken);
	CHECK(lg->rec[0].anom_done & HTTP_ANOM_GAP);
	CHECK(!lg->rec[0].complete);
	CHECK_EQ_U(lg->rec[0].body_bytes, 10);
	CHECK_EQ_U(lg->rec[0].status, 400);
	CHECK(in_order(lg, "response 0 400", "done 0"));
	CHECK(!has(lg, "end 0"));
	log_free(lg);

	const struct step st2[] = {
		C("GET /a HTTP/1.1\r\nHost: h\r\n\r\n"),
		S("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc"),
		GAP_S(20),
		C("GET /b HTTP/1.1\r\nHost: h\r\n\r\n"),
		S("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
	};
	lg = run_case(st2, NSTEPS(st2), &l);
	CHECK_EQ_U(lg->info.requests, 2);
	CHECK(lg->info.server_broken);
	CHECK(lg->rec[0].anom_done & HTTP_ANOM_GAP);
	CHECK_EQ_U(lg->rec[0].status, 200);
	CHECK(lg->rec[1].anom_done & HTTP_ANOM_UNANSWERED);
	CHECK_EQ_U(lg->rec[1].anom_done & HTTP_ANOM_GAP, 0);
	log_free(lg);
}

/* The connection ends inside a request, or inside a response. */
static void test_truncated(void)
{
	const struct step st[] = {
		C("POST /upload HTTP/1.1\r\nHost: localhost:8080\r\nContent-Length: 100\r\n\r\n0123456789"),
	};
	struct http_limits l = defaults();
	struct log *lg = run_case(st, NSTEPS(st), &l);
	CHECK_EQ_U(lg->info.requests, 1);
	CHECK(lg->rec[0].anom_done & HTTP_ANOM_TRUNCATED);
	CHECK(lg->rec[0].anom_done & HTTP_ANOM_UNANSWERED);
	CHECK(!lg->rec[0].complete);
	CHECK_EQ_U(lg->rec[0].body_bytes, 10);
	CHECK(lg->info.anomalies & HTTP_ANOM_TRUNCATED);
	CHECK(!lg->info.client_broken);
	log_free(lg);

	const struct step st2[] = {
		C("GET / HTTP/1.1\r\nHost: h\r\n\r\nGET /part"),
		S("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"),
	};
	lg = run_case(st2, NSTEPS(st2), &l);
	CHECK_EQ_U(lg->info.requests, 1);
	CHECK(lg->rec[0].complete);
	CHECK(lg->rec[0].anom_done & HTTP_ANOM_TRUNCATED);
	CHECK_EQ_U(lg->rec[0].anom_done & HTTP_ANOM_UNANSWERED, 0);
	log_free(lg);

	/* gzip body cut by the close: the staged bytes are still decoded */
	static uint8_t packed[256];
	static char req[1024];
	size_t n = compress_to(31, (const uint8_t *)"to=bob&body=hello+there", 23, packed, sizeof packed);
	size_t rl = post_with(req, sizeof req, "gzip", packed, n);
	const struct step st3[] = { CB(req, rl - 8) };
	lg = run_case(st3, NSTEPS(st3), &l);
	CHECK(lg->rec[0].anom_done & HTTP_ANOM_TRUNCATED);
	CHECK(lg->rec[0].kept == 23 && memcmp(lg->rec[0].body, "to=bob&body=hello+there", 23) == 0);
	log_free(lg);
}

/* Parse errors, a response nobody asked for, a response ahead of its
 * request's head or body. */
static void test_errors_and_order(void)
{
	const struct step st[] = {
		C("GET / HTTP/1.1\r\nBad Header Line\r\n\r\n"),
		S("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
	};
	struct http_limits l = defaults();
	struct log *lg = run_case(st, NSTEPS(st), &l);
	CHECK_EQ_U(lg->info.requests, 0);
	CHECK_EQ_U(lg->info.responses, 1);
	CHECK(lg->info.client_broken);
	CHECK_EQ_U(lg->info.anomalies, HTTP_ANOM_PARSE_ERROR);
	log_free(lg);

	const struct step st2[] = {
		C("\026\003\001\000\245\001\000\000\241\003\003"),
		S("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
		S("garbage\r\n"),
	};
	lg = run_case(st2, NSTEPS(st2), &l);
	CHECK(lg->info.client_broken);
	CHECK(lg->info.server_broken);
	CHECK(lg->info.anomalies & HTTP_ANOM_UNANSWERED);
	log_free(lg);

	const struct step st3[] = {
		C("POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: 20\r\n\r\n01234"),
		S("HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n"),
		C("56789abcdefghij"),
		C("POST /x HTTP/1.1\r\nHost: h\r\n"),
		S("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n"),
		C("Content-Length: 0\r\n\r\n"),
	};
	lg = run_case(st3, NSTEPS(st3), &l);
	CHECK_EQ_U(lg->rec[0].status, 413);
	CHECK(in_order(lg, "response 0 413", "end 0"));
	CHECK(in_order(lg, "end 0", "done 0"));
	CHECK(lg->rec[0].complete);
	CHECK_EQ_U(lg->rec[0].body_bytes, 20);
	CHECK_EQ_U(lg->rec[1].status, 401);
	CHECK(in_order(lg, "begin 1", "response 1 401"));
	CHECK(in_order(lg, "response 1 401", "end 1"));
	CHECK_EQ_U(lg->info.anomalies, 0);
	log_free(lg);
}

int main(void)
{
	RUN(test_limits_and_names);
	RUN(test_detect);
	RUN(test_pipelined_get);
	RUN(test_post_content_length);
	RUN(test_chunked_trailers);
	RUN(test_gzip_capture);
	RUN(test_codings);
	RUN(test_corrupt_gzip);
	RUN(test_inflate_caps);
	RUN(test_expect_continue);
	RUN(test_head);
	RUN(test_connect);
	RUN(test_upgrade);
	RUN(test_hold_limits);
	RUN(test_te_cl);
	RUN(test_absolute_url);
	RUN(test_caps);
	RUN(test_pending_cap);
	RUN(test_gap);
	RUN(test_truncated);
	RUN(test_errors_and_order);
	return tl_finish();
}
