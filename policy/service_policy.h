/* The mail-service policy: which webmail services staff may send through.
 *
 * Entries (config group webmail.services) list services by domain: exact host
 * or a domain and all its subdomains, compared as lower-case IDNA A-labels so
 * that a Unicode name in the config and its punycode on the wire are the same
 * name.  An entry may be limited to source subnets and to a time window (from,
 * until), on packet time.  The first entry, in file order, whose domain, source
 * and time all match decides; a host no entry decides is "unlisted".
 *
 * Immutable once built; shared by every worker. */
#ifndef POSTERN_POLICY_SERVICE_POLICY_H
#define POSTERN_POLICY_SERVICE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/hostname.h"
#include "config/config.h"
#include "reassembly/packet.h"

enum service_verdict { SERVICE_UNLISTED = 0, SERVICE_ALLOWED, SERVICE_DENIED };
const char *service_verdict_name(enum service_verdict v); /* "unlisted", "allowed", "denied" */

struct service_match {
	enum service_verdict verdict;
	const char *service;       /* the deciding entry's name, "" if unlisted */
	enum webmail_action action;/* denied: the entry's action or block_action; otherwise ACCEPT */
	unsigned line;             /* the deciding entry's line in the config, 0 if unlisted */
};

struct service_policy;
/* From the config's webmail group (copied: the config may go).  NULL with a
 * reason in err on failure. */
struct service_policy *service_policy_new(const struct webmail_config *wc, char *err, size_t errlen);
void service_policy_free(struct service_policy *sp);

/* Decide for a host (Host header or SNI; any case, trailing dot, :port,
 * Unicode or punycode) from client at now_us (Unix time, us).  An invalid host
 * name is never matched by an entry: unlisted. */
void service_policy_lookup(const struct service_policy *sp, const char *host,
			   const struct ip_addr *client, uint64_t now_us, struct service_match *out);

#endif
