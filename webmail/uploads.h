/* Uploads waiting for their send.  Webmail uploads attachments in requests of
 * their own before the send (Roundcube keys them by the compose id); the
 * checks of each upload are remembered here under (client, host, compose id)
 * so that the send is judged with its attachments.
 *
 * Shared by every worker (a send may arrive on another connection, hence
 * another queue): a mutex guards it, held only to copy entries.  Bounded:
 * max_ids compose ids (least recently used evicted first, counted), and at
 * most WEBMAIL_UPLOAD_ITEMS attachments each (further ones counted). Entries
 * expire ttl_us of packet time after their last upload. */
#ifndef POSTERN_WEBMAIL_UPLOADS_H
#define POSTERN_WEBMAIL_UPLOADS_H

#include <stddef.h>
#include <stdint.h>

#include "policy/verdict.h"
#include "reassembly/packet.h"

#define WEBMAIL_UPLOAD_ITEMS 32
#define WEBMAIL_UPLOAD_REASONS 4

struct webmail_upload_item {
	char name[256];
	char declared_type[128];
	char true_type[128];
	uint64_t size;
	char sha256[65];
	uint32_t findings;         /* bit per enum attachment_finding_kind */
	struct verdict_reason reasons[WEBMAIL_UPLOAD_REASONS]; /* what the upload's checks found */
	uint32_t reason_count;
};

struct webmail_uploads_stats {
	uint64_t ids, items;       /* held now */
	uint64_t put, items_dropped; /* items past WEBMAIL_UPLOAD_ITEMS per id */
	uint64_t evicted, expired;
	uint64_t lookups, hits;
};

struct webmail_uploads;
/* max_ids 0 = 4096, ttl_us 0 = one hour.  NULL on allocation failure. */
struct webmail_uploads *webmail_uploads_new(uint32_t max_ids, uint64_t ttl_us);
void webmail_uploads_free(struct webmail_uploads *u);
/* Remember one uploaded attachment. */
void webmail_uploads_put(struct webmail_uploads *u, const struct ip_addr *client, const char *host,
			 const char *compose_id, const struct webmail_upload_item *item,
			 uint64_t now_us);
/* Copy the attachments uploaded under this key (up to cap) into out; the
 * entry stays (a send that fails may be retried).  Returns the count. */
size_t webmail_uploads_get(struct webmail_uploads *u, const struct ip_addr *client,
			   const char *host, const char *compose_id, uint64_t now_us,
			   struct webmail_upload_item *out, size_t cap);
void webmail_uploads_stats(struct webmail_uploads *u, struct webmail_uploads_stats *out);

#endif
