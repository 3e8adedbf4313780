/* Streaming HTTP/1.x session parser: both directions of one TCP connection.
 *
 * The client side is parsed into requests (request line, headers, body with
 * Content-Length or chunked framing, Content-Encoding gzip/deflate undone),
 * the server side into responses, paired with their requests in order
 * (pipelining, keep-alive, 1xx interim responses).  Framing is done by the
 * http-parser library (nodejs/http-parser); this layer keeps what postern
 * needs, with every buffer capped and every cap counted.
 *
 * Nothing about webmail or policy is known here.  request_end is the commit
 * point: the last byte of the request body (or of the head when there is no
 * body) is in the bytes just fed.
 *
 * Byte-by-byte feeding gives the same callbacks (with different chunking of
 * request_body) as whole-buffer feeding. */
#ifndef POSTERN_HTTP_PARSER_HTTP_H
#define POSTERN_HTTP_PARSER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum http_dir { HTTP_TO_SERVER = 0, HTTP_TO_CLIENT = 1 }; /* same values as enum flow_dir */

struct http_limits {
	uint32_t max_url;          /* bytes of the request target kept (default 8 KiB) */
	uint32_t max_header_value; /* bytes of one header value kept (default 8 KiB) */
	uint32_t max_headers;      /* header fields kept per request (default 64) */
	uint32_t max_pending;      /* requests awaiting their response (default 32) */
	uint64_t max_inflate;      /* decoded bytes of one gzip/deflate body (default 64 MiB) */
	uint32_t max_inflate_ratio;/* decoded / encoded above this: bomb, stop decoding (default 200) */
};
void http_limits_default(struct http_limits *l);

enum http_anomaly {
	HTTP_ANOM_PARSE_ERROR = 1u << 0,     /* the framing broke: parsing of that direction stopped */
	HTTP_ANOM_TE_AND_CL = 1u << 1,       /* Transfer-Encoding and Content-Length both present */
	HTTP_ANOM_URL_TOO_LONG = 1u << 2,
	HTTP_ANOM_HEADER_TOO_LONG = 1u << 3,
	HTTP_ANOM_TOO_MANY_HEADERS = 1u << 4,
	HTTP_ANOM_PENDING_CAP = 1u << 5,     /* more pipelined requests than max_pending */
	HTTP_ANOM_GAP = 1u << 6,             /* bytes of the stream are missing */
	HTTP_ANOM_BAD_ENCODING = 1u << 7,    /* Content-Encoding unknown or corrupt: body passed raw */
	HTTP_ANOM_INFLATE_CAP = 1u << 8,     /* decoded body past max_inflate or max_inflate_ratio */
	HTTP_ANOM_UNANSWERED = 1u << 9,      /* response without a request, or request never answered */
	HTTP_ANOM_DUPLICATE_HOST = 1u << 10, /* several Host headers, or Host differs from absolute URL */
	HTTP_ANOM_TRUNCATED = 1u << 11,      /* the connection ended inside a message */
};
#define HTTP_ANOM_COUNT 12
const char *http_anomaly_name(uint32_t bit); /* "parse_error", ...; NULL if unknown */

struct http_header {
	const char *name;          /* lower case */
	const char *value;         /* as sent, trimmed, capped at max_header_value */
};

/* One request and (once seen) its response.  Strings are NUL-terminated,
 * owned by the session, valid from request_begin until request_done returns. */
struct http_request {
	uint32_t index;            /* 0, 1, 2... on this connection */
	const char *method;        /* "GET", "POST", ... */
	const char *url;           /* request target as sent (capped) */
	const char *host;          /* lower case, without port: Host header, or the absolute URL's host; "" if none */
	uint16_t port;             /* from Host or absolute URL; 0 = not given */
	const char *path;          /* path of the target, not decoded ("/" if none) */
	const char *query;         /* after '?', not decoded; "" if none */
	const char *content_type;  /* full Content-Type value (with parameters), "" if none */
	int64_t content_length;    /* -1 if absent */
	bool chunked;
	const char *content_encoding; /* lower case, "" if none */
	const struct http_header *headers;
	size_t header_count;       /* headers kept (max_headers) */
	uint16_t version_major, version_minor;
	uint64_t body_bytes;       /* decoded body bytes delivered so far */
	uint64_t wire_body_bytes;  /* body bytes as framed on the wire */
	uint16_t status;           /* final response status; 0 until seen */
	uint32_t anomalies;        /* enum http_anomaly bits about this request */
	bool complete;             /* request_end was called */
};
/* A header's value (first of that name, name lower case) or NULL. */
const char *http_request_header(const struct http_request *r, const char *name);

struct http_callbacks {
	/* Headers complete. */
	void (*request_begin)(void *ctx, const struct http_request *r);
	/* Body bytes, de-chunked and decoded from Content-Encoding. */
	void (*request_body)(void *ctx, const struct http_request *r, const uint8_t *data, size_t len);
	/* The request is complete: the commit point. */
	void (*request_end)(void *ctx, const struct http_request *r);
	/* The final (non-1xx) response head arrived; r->status is set. */
	void (*response)(void *ctx, const struct http_request *r);
	/* The request is over: its response completed, or the connection ended.
	 * Exactly once per request_begin, in order. */
	void (*request_done)(void *ctx, const struct http_request *r);
	/* The connection switched protocols (CONNECT 2xx, 101 Upgrade): no more HTTP. */
	void (*upgrade)(void *ctx);
};

struct http_session;
/* NULL with errno on failure; limits may be NULL (defaults). */
struct http_session *http_session_new(const struct http_limits *limits,
				      const struct http_callbacks *cb, void *ctx);
void http_session_feed(struct http_session *s, enum http_dir dir, const uint8_t *data, size_t len);
/* len bytes of that direction are missing: the open message is marked, that
 * direction stops parsing (framing cannot be trusted past a hole). */
void http_session_gap(struct http_session *s, enum http_dir dir, uint64_t len);
/* Connection end: open requests get request_done (HTTP_ANOM_TRUNCATED where due). */
void http_session_close(struct http_session *s);
void http_session_free(struct http_session *s);

struct http_session_info {
	uint32_t requests, responses;
	uint32_t anomalies;        /* bits seen on the connection */
	bool upgraded;
	bool client_broken, server_broken; /* parse error or gap stopped that direction */
	uint64_t inflated_bytes;
};
const struct http_session_info *http_session_info(const struct http_session *s);

/* Do these first client bytes start an HTTP/1.x request?  1 yes, 0 no,
 * -1 not enough bytes to tell. */
int http_detect_request(const uint8_t *data, size_t len);

#endif
