#include "webmail/uploads.h"

#include <stdlib.h>
#include <string.h>

/* Stub: replaced by the implementation. */
struct webmail_uploads {
	struct webmail_uploads_stats st;
};

struct webmail_uploads *webmail_uploads_new(uint32_t max_ids, uint64_t ttl_us)
{
	(void)max_ids;
	(void)ttl_us;
	return calloc(1, sizeof(struct webmail_uploads));
}

void webmail_uploads_free(struct webmail_uploads *u)
{
	free(u);
}

void webmail_uploads_put(struct webmail_uploads *u, const struct ip_addr *client, const char *host,
			 const char *compose_id, const struct webmail_upload_item *item,
			 uint64_t now_us)
{
	(void)u;
	(void)client;
	(void)host;
	(void)compose_id;
	(void)item;
	(void)now_us;
}

size_t webmail_uploads_get(struct webmail_uploads *u, const struct ip_addr *client,
			   const char *host, const char *compose_id, uint64_t now_us,
			   struct webmail_upload_item *out, size_t cap)
{
	(void)u;
	(void)client;
	(void)host;
	(void)compose_id;
	(void)now_us;
	(void)out;
	(void)cap;
	return 0;
}

void webmail_uploads_stats(struct webmail_uploads *u, struct webmail_uploads_stats *out)
{
	*out = u->st;
}
