/* DNS block lists: asynchronous lookups with c-ares, never blocking the
 * caller.  The SMTP client address is looked up as reversed-octets.LIST
 * (IPv4) or reversed-nibbles.LIST (IPv6); URL host names as HOST.LIST
 * (SURBL style, registered domain).  Each list has a weight; a transaction
 * is listed when the weights of the lists that answered "listed" reach the
 * threshold.
 *
 * Answers are cached with their TTL (clamped to [min_ttl, max_ttl]) against
 * the caller's clock, which the pipeline feeds from packet time, so a replay
 * is deterministic as long as the DNS server answers the same.  A lookup that
 * times out counts as not listed (fail open) and is counted. */
#ifndef POSTERN_RBL_RBL_H
#define POSTERN_RBL_RBL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rbl_kind { RBL_KIND_IP = 0, RBL_KIND_DOMAIN };

struct rbl_list {
	char *zone;          /* "zen.example", no trailing dot */
	enum rbl_kind kind;
	int weight;
};

struct rbl_config {
	struct rbl_list *lists;
	size_t list_count;
	int threshold;       /* sum of weights that makes a transaction listed */
	char *servers;       /* c-ares server list "127.0.0.1:5353,[::1]:53"; NULL = system resolv.conf */
	uint32_t timeout_ms; /* per lookup (default 1500) */
	uint32_t tries;      /* default 2 */
	uint32_t cache_entries;  /* default 65536; LRU beyond */
	uint32_t min_ttl, max_ttl; /* seconds; defaults 60 and 86400 */
	uint32_t max_pending;    /* queries in flight; more are skipped and counted (default 4096) */
	uint32_t max_domains;    /* URL hosts looked up per transaction (default 16) */
};
void rbl_config_default(struct rbl_config *c);

struct rbl_resolver;
/* NULL with a message in err on failure (bad server list, c-ares init). */
struct rbl_resolver *rbl_resolver_new(const struct rbl_config *c, char *err, size_t errlen);
void rbl_resolver_free(struct rbl_resolver *r);

/* The clock for the cache, microseconds (packet time). */
void rbl_set_time(struct rbl_resolver *r, uint64_t now_us);

/* Event-loop integration: the sockets c-ares wants watched (fill up to n
 * pollfds; returns count) and the processing of whatever is ready.  Never
 * blocks. */
struct pollfd;
size_t rbl_pollfds(struct rbl_resolver *r, struct pollfd *fds, size_t n);
void rbl_process(struct rbl_resolver *r, const struct pollfd *fds, size_t n);
/* Wait (poll) until no query is in flight or timeout_ms passes.  For replay
 * and tests only; the inline worker never calls it. */
void rbl_wait(struct rbl_resolver *r, uint32_t timeout_ms);
/* Milliseconds until c-ares next needs rbl_process for its timeouts (at most
 * max_ms), for the poll timeout of an event loop. */
uint32_t rbl_timeout_ms(struct rbl_resolver *r, uint32_t max_ms);

/* One check: the lookups of one transaction. */
struct rbl_check;
struct rbl_check *rbl_check_new(struct rbl_resolver *r);
/* family AF_INET/AF_INET6, addr 4 or 16 bytes. */
void rbl_check_ip(struct rbl_check *c, int family, const uint8_t *addr);
void rbl_check_domain(struct rbl_check *c, const char *host);
/* true when every lookup of the check has an answer or timed out. */
bool rbl_check_done(const struct rbl_check *c);

#define RBL_MAX_HITS 16
struct rbl_hit {
	char zone[128];
	char query[256];     /* what was looked up: "1.2.0.192" or "bad.example" */
	char answer[48];     /* the A record returned, e.g. "127.0.0.2" */
	int weight;
};
struct rbl_result {
	int score;           /* sum of weights of the lists that listed */
	bool listed;         /* score >= threshold */
	struct rbl_hit hits[RBL_MAX_HITS];
	uint32_t hit_count;
	uint32_t hits_dropped; /* listed lookups beyond RBL_MAX_HITS (still scored) */
	uint32_t timeouts;   /* lookups of this check that failed open */
};
void rbl_check_result(const struct rbl_check *c, struct rbl_result *out);
/* Safe while lookups are in flight: their answers are then only cached. */
void rbl_check_free(struct rbl_check *c);

struct rbl_stats {
	uint64_t queries, answers, listed, not_listed, timeouts, errors;
	uint64_t cache_hits, cache_evictions, pending_skipped;
	uint64_t names_rejected;   /* IP literals, invalid host names, bad family, too long */
	uint64_t per_check_skipped; /* beyond max_domains (or 4 addresses) in one check */
	uint64_t inflight_shared;  /* lookups that joined a query already in flight */
};
const struct rbl_stats *rbl_resolver_stats(const struct rbl_resolver *r);

#endif
