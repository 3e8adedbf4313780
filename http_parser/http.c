#include "http_parser/http.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Stub: replaced by the implementation. */
struct http_session {
	struct http_session_info info;
};

void http_limits_default(struct http_limits *l)
{
	memset(l, 0, sizeof *l);
}

const char *http_anomaly_name(uint32_t bit)
{
	(void)bit;
	return NULL;
}

const char *http_request_header(const struct http_request *r, const char *name)
{
	(void)r;
	(void)name;
	return NULL;
}

struct http_session *http_session_new(const struct http_limits *limits,
				      const struct http_callbacks *cb, void *ctx)
{
	(void)limits;
	(void)cb;
	(void)ctx;
	return calloc(1, sizeof(struct http_session));
}

void http_session_feed(struct http_session *s, enum http_dir dir, const uint8_t *data, size_t len)
{
	(void)s;
	(void)dir;
	(void)data;
	(void)len;
}

void http_session_gap(struct http_session *s, enum http_dir dir, uint64_t len)
{
	(void)s;
	(void)dir;
	(void)len;
}

void http_session_close(struct http_session *s)
{
	(void)s;
}

void http_session_free(struct http_session *s)
{
	free(s);
}

const struct http_session_info *http_session_info(const struct http_session *s)
{
	return &s->info;
}

int http_detect_request(const uint8_t *data, size_t len)
{
	(void)data;
	(void)len;
	return 0;
}
