#include "tls_parser/client_hello.h"

#include <stdlib.h>
#include <string.h>

/* Stub: replaced by the implementation. */
struct tls_ch_parser {
	struct tls_client_hello ch;
	enum tls_ch_status st;
};

const char *tls_ch_status_name(enum tls_ch_status s)
{
	(void)s;
	return "need_more";
}

const char *tls_ch_anomaly_name(uint32_t bit)
{
	(void)bit;
	return NULL;
}

struct tls_ch_parser *tls_ch_new(size_t max_bytes)
{
	(void)max_bytes;
	return calloc(1, sizeof(struct tls_ch_parser));
}

enum tls_ch_status tls_ch_feed(struct tls_ch_parser *p, const uint8_t *data, size_t len)
{
	(void)data;
	(void)len;
	return p->st;
}

enum tls_ch_status tls_ch_status(const struct tls_ch_parser *p)
{
	return p->st;
}

const struct tls_client_hello *tls_ch_result(const struct tls_ch_parser *p)
{
	return &p->ch;
}

void tls_ch_free(struct tls_ch_parser *p)
{
	free(p);
}

enum tls_ch_status tls_ch_parse(const uint8_t *data, size_t len, struct tls_client_hello *out)
{
	(void)data;
	(void)len;
	memset(out, 0, sizeof *out);
	return TLS_CH_NOT_TLS;
}

int tls_detect(const uint8_t *data, size_t len)
{
	(void)data;
	(void)len;
	return 0;
}
