#include "webmail/webmail.h"

#include <stdlib.h>
#include <string.h>

/* Stub: replaced by the implementation. */
struct webmail_request {
	struct webmail_result res;
};

void webmail_limits_default(struct webmail_limits *l)
{
	memset(l, 0, sizeof *l);
	form_limits_default(&l->form);
}

struct webmail_request *webmail_request_begin(const struct webmail_signatures *sigs,
					      const struct webmail_limits *lim,
					      const struct http_request *req,
					      const struct webmail_sink *sink, void *ctx)
{
	(void)sigs;
	(void)lim;
	(void)req;
	(void)sink;
	(void)ctx;
	struct webmail_request *w = calloc(1, sizeof *w);
	if (w) {
		w->res.product = w->res.signature = "";
		w->res.to = w->res.cc = w->res.bcc = w->res.from = w->res.subject = w->res.compose_id = "";
	}
	return w;
}

void webmail_request_body(struct webmail_request *w, const uint8_t *data, size_t len)
{
	(void)w;
	(void)data;
	(void)len;
}

void webmail_request_gap(struct webmail_request *w, uint64_t len)
{
	(void)w;
	(void)len;
}

const struct webmail_result *webmail_request_end(struct webmail_request *w)
{
	return &w->res;
}

void webmail_request_free(struct webmail_request *w)
{
	free(w);
}
