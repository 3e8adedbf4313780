#include "http_parser/form.h"

#include <stdlib.h>
#include <string.h>

/* Stub: replaced by the implementation. */
struct form_decoder {
	struct form_stats st;
};

enum form_kind form_kind_of(const char *content_type)
{
	(void)content_type;
	return FORM_RAW;
}

const char *form_kind_name(enum form_kind k)
{
	(void)k;
	return "raw";
}

void form_limits_default(struct form_limits *l)
{
	memset(l, 0, sizeof *l);
}

const char *form_anomaly_name(uint32_t bit)
{
	(void)bit;
	return NULL;
}

struct form_decoder *form_decoder_new(const char *content_type, const struct form_limits *limits,
				      const struct form_callbacks *cb, void *ctx)
{
	(void)content_type;
	(void)limits;
	(void)cb;
	(void)ctx;
	return calloc(1, sizeof(struct form_decoder));
}

enum form_kind form_decoder_kind(const struct form_decoder *d)
{
	(void)d;
	return FORM_RAW;
}

void form_feed(struct form_decoder *d, const uint8_t *data, size_t len)
{
	(void)d;
	(void)data;
	(void)len;
}

void form_gap(struct form_decoder *d, uint64_t len)
{
	(void)d;
	(void)len;
}

void form_close(struct form_decoder *d)
{
	(void)d;
}

void form_decoder_free(struct form_decoder *d)
{
	free(d);
}

const struct form_stats *form_decoder_stats(const struct form_decoder *d)
{
	return &d->st;
}

size_t form_urldecode(const char *in, size_t len, char *out, size_t cap)
{
	(void)in;
	(void)len;
	if (cap)
		out[0] = 0;
	return 0;
}
