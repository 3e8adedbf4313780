/* DNS block list lookups over c-ares; the contract is in rbl.h.
 *
 * Shape: one table of entries keyed by the full query name
 * ("2.0.0.127.zen.example").  An entry is either in flight (PENDING, with a
 * list of the check lookups waiting for it) or a cached answer (LISTED,
 * CLEAN, ERROR) on an LRU list bounded by cache_entries.  A lookup that finds
 * a fresh cached answer completes at once; one that finds a query in flight
 * joins its waiters, so one name is never asked twice at the same time.
 *
 * Lookups point at their entry and entries at their waiting lookups, never
 * at checks as a whole: rbl_check_free unlinks its waiting lookups, and the
 * answer then only fills the cache.  Entries in flight are not on the LRU, so
 * eviction never frees a query c-ares still holds.
 *
 * Failures (timeout, SERVFAIL, REFUSED, no server reachable) fail open and
 * are not cached, so the next transaction asks again.  Answers that are not a
 * listing (outside 127/8, or 127.255.255.0/24, which public lists return for
 * refused queries) are cached as ERROR: the list said the same thing every
 * time, and asking again would only load it further.
 */
#include "rbl/rbl.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ares.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/siphash.h"

#define NAME_MAX_LEN 253  /* presentation form, no trailing dot */
#define ZONE_MAX_LEN 127  /* fits rbl_hit.zone */
#define SUBJECT_MAX_LEN 255
#define IPS_PER_CHECK 4
#define WAIT_MAX_FDS 64
#define BUCKETS_MAX (1u << 22)
#define RCVBUF_MAX (8u << 20)
#define MAX_DOMAINS_CAP 4096u /* max_domains above this is taken as this */

enum entry_state { E_PENDING, E_LISTED, E_CLEAN, E_ERROR };
enum lookup_state { L_PENDING, L_LISTED, L_CLEAN, L_FAILED };

struct lookup;

struct entry {
	struct entry *hnext;            /* hash chain */
	struct entry *lprev, *lnext;    /* LRU, cached entries only */
	struct lookup *waiters;         /* PENDING only */
	struct rbl_resolver *r;
	uint64_t hash;
	uint64_t expires_us;
	uint32_t answer;                /* A record, host order */
	uint8_t state;
	char name[];
};

struct lookup {
	struct rbl_check *check;
	struct entry *entry;            /* while PENDING */
	struct lookup *wprev, *wnext;   /* the entry's waiters */
	uint32_t answer;
	uint16_t list;
	uint16_t subject;
	uint8_t state;
};

struct rbl_check {
	struct rbl_resolver *r;
	struct lookup *lk;
	uint32_t nlk, caplk;
	char **subj;                    /* "2.0.0.127", "bad.example" */
	uint32_t nsubj, capsubj;
	uint32_t nips, ndomains;
	uint32_t pending;
};

struct sock {
	ares_socket_t fd;
	bool readable, writable;
};

struct rbl_resolver {
	ares_channel ch;
	struct rbl_stats st;
	uint64_t now_us;
	/* config, zones lower-cased */
	char (*zones)[ZONE_MAX_LEN + 1];
	enum rbl_kind *kinds;
	int *weights;
	size_t nlists;
	int threshold;
	uint32_t cache_entries, min_ttl, max_ttl, max_pending, max_domains;
	/* table */
	struct entry **buckets;
	uint32_t bucket_mask;
	struct siphash_key key;
	struct entry *lru_head, *lru_tail; /* head = most recent */
	uint32_t cached, pending;
	/* sockets c-ares wants watched, from its socket-state callback; bounded
	 * by what c-ares opens (one UDP and at most one TCP per server) */
	struct sock *socks;
	size_t nsocks, capsocks;
};

void rbl_config_default(struct rbl_config *c)
{
	memset(c, 0, sizeof *c);
	c->threshold = 1;
	c->timeout_ms = 1500;
	c->tries = 2;
	c->cache_entries = 65536;
	c->min_ttl = 60;
	c->max_ttl = 86400;
	c->max_pending = 4096;
	c->max_domains = 16;
}

/* ---- sockets ---- */

static void sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct rbl_resolver *r = data;
	size_t i;
	for (i = 0; i < r->nsocks && r->socks[i].fd != fd; i++)
		;
	if (!readable && !writable) {
		if (i < r->nsocks)
			r->socks[i] = r->socks[--r->nsocks];
		return;
	}
	if (i == r->nsocks) {
		if (r->nsocks == r->capsocks) {
			size_t cap = r->capsocks ? r->capsocks * 2 : 4;
			struct sock *n = realloc(r->socks, cap * sizeof *n);
			if (!n) {
				/* Not watched: the query times out and fails open. */
				r->st.errors++;
				return;
			}
			r->socks = n;
			r->capsocks = cap;
		}
		r->socks[r->nsocks++].fd = fd;
	}
	r->socks[i].readable = readable;
	r->socks[i].writable = writable;
}

size_t rbl_pollfds(struct rbl_resolver *r, struct pollfd *fds, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < r->nsocks && k < n; i++, k++) {
		fds[k].fd = r->socks[i].fd;
		fds[k].events = (short)((r->socks[i].readable ? POLLIN : 0) |
					(r->socks[i].writable ? POLLOUT : 0));
		fds[k].revents = 0;
	}
	return k;
}

void rbl_process(struct rbl_resolver *r, const struct pollfd *fds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		short ev = fds[i].revents;
		if (!ev || fds[i].fd < 0)
			continue;
		ares_socket_t rfd = (ev & (POLLIN | POLLERR | POLLHUP)) ? fds[i].fd : ARES_SOCKET_BAD;
		ares_socket_t wfd = (ev & POLLOUT) ? fds[i].fd : ARES_SOCKET_BAD;
		ares_process_fd(r->ch, rfd, wfd);
	}
	/* No socket: only the retransmissions and timeouts that are due. */
	ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
}

uint32_t rbl_timeout_ms(struct rbl_resolver *r, uint32_t max_ms)
{
	struct timeval maxtv = {.tv_sec = max_ms / 1000, .tv_usec = (max_ms % 1000) * 1000};
	struct timeval tv;
	struct timeval *t = ares_timeout(r->ch, &maxtv, &tv);
	uint64_t ms = (uint64_t)t->tv_sec * 1000 + ((uint64_t)t->tv_usec + 999) / 1000;
	return ms < max_ms ? (uint32_t)ms : max_ms;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void rbl_wait(struct rbl_resolver *r, uint32_t timeout_ms)
{
	uint64_t deadline = mono_ms() + timeout_ms;
	struct pollfd fds[WAIT_MAX_FDS];
	while (r->pending > 0) {
		uint64_t now = mono_ms();
		if (now >= deadline)
			break;
		size_t n = rbl_pollfds(r, fds, WAIT_MAX_FDS);
		uint32_t ms = rbl_timeout_ms(r, (uint32_t)(deadline - now));
		if (poll(fds, n, (int)ms) < 0)
			continue; /* EINTR: go round */
		rbl_process(r, fds, n);
	}
}

/* ---- table ---- */

static struct entry *table_find(struct rbl_resolver *r, const char *name, uint64_t h)
{
	for (struct entry *e = r->buckets[h & r->bucket_mask]; e; e = e->hnext)
		if (e->hash == h && strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

static void table_unlink(struct rbl_resolver *r, struct entry *e)
{
	struct entry **pp = &r->buckets[e->hash & r->bucket_mask];
	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
}

static void lru_unlink(struct rbl_resolver *r, struct entry *e)
{
	if (e->lprev)
		e->lprev->lnext = e->lnext;
	else
		r->lru_head = e->lnext;
	if (e->lnext)
		e->lnext->lprev = e->lprev;
	else
		r->lru_tail = e->lprev;
	e->lprev = e->lnext = NULL;
}

static void lru_push_front(struct rbl_resolver *r, struct entry *e)
{
	e->lprev = NULL;
	e->lnext = r->lru_head;
	if (r->lru_head)
		r->lru_head->lprev = e;
	else
		r->lru_tail = e;
	r->lru_head = e;
}

/* Drop a cached (not in-flight) entry. */
static void cache_drop(struct rbl_resolver *r, struct entry *e)
{
	lru_unlink(r, e);
	table_unlink(r, e);
	r->cached--;
	free(e);
}

/* ---- answers ---- */

static uint16_t rd16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Length of the (possibly compressed) name at p, or -1. */
static long name_len(const unsigned char *p, const unsigned char *abuf, int alen)
{
	char *s = NULL;
	long enclen = 0;
	if (ares_expand_name(p, abuf, alen, &s, &enclen) != ARES_SUCCESS)
		return -1;
	ares_free_string(s);
	return enclen;
}

/* RFC 2308 negative TTL: min(SOA TTL, SOA MINIMUM) of the SOA in the
 * authority section.  c-ares 1.18's ares_parse_soa_reply reads only the
 * answer section, hence this walk. */
static bool negative_ttl(const unsigned char *abuf, int alen, uint32_t *ttl)
{
	if (!abuf || alen < HFIXEDSZ)
		return false;
	const unsigned char *end = abuf + alen, *p = abuf + HFIXEDSZ;
	unsigned qd = rd16(abuf + 4), an = rd16(abuf + 6), ns = rd16(abuf + 8);
	for (unsigned i = 0; i < qd; i++) {
		long l = name_len(p, abuf, alen);
		if (l < 0 || end - p < l + QFIXEDSZ)
			return false;
		p += l + QFIXEDSZ;
	}
	for (unsigned i = 0; i < an + ns; i++) {
		long l = name_len(p, abuf, alen);
		if (l < 0 || end - p < l + RRFIXEDSZ)
			return false;
		p += l;
		uint16_t type = rd16(p), rdlen = rd16(p + 8);
		uint32_t rrttl = rd32(p + 4);
		p += RRFIXEDSZ;
		if (end - p < rdlen)
			return false;
		if (i >= an && type == ns_t_soa) {
			const unsigned char *q = p;
			for (int k = 0; k < 2; k++) { /* MNAME, RNAME */
				long nl = name_len(q, abuf, alen);
				if (nl < 0 || q + nl > p + rdlen)
					return false;
				q += nl;
			}
			if (p + rdlen - q < 20)
				return false;
			uint32_t minimum = rd32(q + 16);
			*ttl = rrttl < minimum ? rrttl : minimum;
			return true;
		}
		p += rdlen;
	}
	return false;
}

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct entry *e = arg;
	struct rbl_resolver *r = e->r;
	uint8_t state = E_CLEAN;
	uint32_t ttl = r->min_ttl, answer = 0;
	bool failed = false;

	r->pending--;
	switch (status) {
	case ARES_SUCCESS: {
		struct ares_addrttl at[8];
		int n = 8;
		r->st.answers++;
		if (ares_parse_a_reply(abuf, alen, NULL, at, &n) != ARES_SUCCESS || n <= 0) {
			/* NOERROR without an A record (CNAME only, say) */
			r->st.not_listed++;
			negative_ttl(abuf, alen, &ttl);
			break;
		}
		answer = ntohl(at[0].ipaddr.s_addr);
		ttl = (uint32_t)(at[0].ttl > 0 ? at[0].ttl : 0);
		for (int i = 1; i < n; i++)
			if (at[i].ttl >= 0 && (uint32_t)at[i].ttl < ttl)
				ttl = (uint32_t)at[i].ttl;
		if ((answer >> 24) != 127 || (answer & 0xffffff00u) == 0x7fffff00u) {
			state = E_ERROR;
			r->st.errors++;
		} else {
			state = E_LISTED;
			r->st.listed++;
		}
		break;
	}
	case ARES_ENOTFOUND: /* NXDOMAIN */
	case ARES_ENODATA:   /* NOERROR, no answer */
		r->st.answers++;
		r->st.not_listed++;
		negative_ttl(abuf, alen, &ttl);
		break;
	case ARES_ETIMEOUT:
		r->st.timeouts++;
		failed = true;
		break;
	case ARES_EDESTRUCTION:
	case ARES_ECANCELLED:
		failed = true;
		break;
	default: /* SERVFAIL, REFUSED, unreachable, malformed */
		r->st.errors++;
		failed = true;
		break;
	}
	if (ttl < r->min_ttl)
		ttl = r->min_ttl;
	if (ttl > r->max_ttl)
		ttl = r->max_ttl;

	uint8_t lstate = failed ? L_FAILED : state == E_LISTED ? L_LISTED
			: state == E_CLEAN ? L_CLEAN : L_FAILED;
	for (struct lookup *lk = e->waiters, *next; lk; lk = next) {
		next = lk->wnext;
		lk->state = lstate;
		lk->answer = answer;
		lk->entry = NULL;
		lk->wprev = lk->wnext = NULL;
		lk->check->pending--;
	}
	e->waiters = NULL;

	if (failed) {
		table_unlink(r, e);
		free(e);
		return;
	}
	e->state = state;
	e->answer = answer;
	e->expires_us = r->now_us + (uint64_t)ttl * 1000000;
	lru_push_front(r, e);
	r->cached++;
	while (r->cached > r->cache_entries && r->lru_tail) {
		cache_drop(r, r->lru_tail);
		r->st.cache_evictions++;
	}
}

/* ---- resolver ---- */

static void lower_copy(char *dst, const char *src, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char ch = src[i];
		dst[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
	}
	dst[n] = '\0';
}

struct rbl_resolver *rbl_resolver_new(const struct rbl_config *c, char *err, size_t errlen)
{
	struct rbl_config d;
	rbl_config_default(&d);
	uint32_t max_ttl = c->max_ttl ? c->max_ttl : d.max_ttl;
	if (c->min_ttl > max_ttl) {
		snprintf(err, errlen, "rbl: min_ttl %u > max_ttl %u", c->min_ttl, max_ttl);
		return NULL;
	}
	if (c->list_count > UINT16_MAX || (c->list_count && !c->lists)) {
		snprintf(err, errlen, "rbl: bad list table (%zu lists)", c->list_count);
		return NULL;
	}
	if (c->servers && !c->servers[0]) {
		snprintf(err, errlen, "rbl: empty server list");
		return NULL;
	}
	struct rbl_resolver *r = calloc(1, sizeof *r);
	if (!r) {
		snprintf(err, errlen, "rbl: out of memory");
		return NULL;
	}
	r->nlists = c->list_count;
	r->threshold = c->threshold;
	r->cache_entries = c->cache_entries ? c->cache_entries : d.cache_entries;
	r->min_ttl = c->min_ttl;
	r->max_ttl = max_ttl;
	r->max_pending = c->max_pending ? c->max_pending : d.max_pending;
	r->max_domains = c->max_domains < MAX_DOMAINS_CAP ? c->max_domains : MAX_DOMAINS_CAP;
	if (r->nlists) {
		r->zones = calloc(r->nlists, sizeof *r->zones);
		r->kinds = calloc(r->nlists, sizeof *r->kinds);
		r->weights = calloc(r->nlists, sizeof *r->weights);
		if (!r->zones || !r->kinds || !r->weights) {
			snprintf(err, errlen, "rbl: out of memory");
			goto fail;
		}
	}
	for (size_t i = 0; i < r->nlists; i++) {
		const struct rbl_list *l = &c->lists[i];
		size_t n = l->zone ? strlen(l->zone) : 0;
		if (n && l->zone[n - 1] == '.')
			n--;
		if (n == 0 || n > ZONE_MAX_LEN || (l->kind != RBL_KIND_IP && l->kind != RBL_KIND_DOMAIN)) {
			snprintf(err, errlen, "rbl: list %zu: zone empty, longer than %d or bad kind",
				 i, ZONE_MAX_LEN);
			goto fail;
		}
		lower_copy(r->zones[i], l->zone, n);
		r->kinds[i] = l->kind;
		r->weights[i] = l->weight;
	}

	uint64_t want = (uint64_t)r->cache_entries + r->max_pending;
	uint32_t nb = 64;
	while (nb < want && nb < BUCKETS_MAX)
		nb <<= 1;
	r->buckets = calloc(nb, sizeof *r->buckets);
	r->bucket_mask = nb - 1;
	if (!r->buckets || siphash_key_random(&r->key) != 0) {
		snprintf(err, errlen, "rbl: out of memory or no random key");
		goto fail;
	}

	int st = ares_library_init(ARES_LIB_INIT_ALL);
	if (st != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares library init: %s", ares_strerror(st));
		goto fail;
	}
	struct ares_options o;
	memset(&o, 0, sizeof o);
	o.timeout = (int)(c->timeout_ms ? c->timeout_ms : d.timeout_ms);
	o.tries = (int)(c->tries ? c->tries : d.tries);
	o.sock_state_cb = sock_state_cb;
	o.sock_state_cb_data = r;
	o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
	/* All answers to a burst of queries arrive before we read any: with the
	 * default 208 KiB buffer a few hundred small datagrams overflow it and
	 * the lost ones wait for a retransmission.  Room for every query in
	 * flight (about 1 KiB of kernel memory per datagram); the kernel caps it
	 * at net.core.rmem_max. */
	uint64_t rcvbuf = (uint64_t)r->max_pending * 1024;
	o.socket_receive_buffer_size = (int)(rcvbuf < RCVBUF_MAX ? rcvbuf : RCVBUF_MAX);
	st = ares_init_options(&r->ch, &o,
			       ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB |
				       ARES_OPT_FLAGS | ARES_OPT_SOCK_RCVBUF);
	if (st != ARES_SUCCESS) {
		ares_library_cleanup();
		r->ch = NULL;
		snprintf(err, errlen, "c-ares init: %s", ares_strerror(st));
		goto fail;
	}
	if (c->servers) {
		st = ares_set_servers_ports_csv(r->ch, c->servers);
		if (st != ARES_SUCCESS) {
			snprintf(err, errlen, "rbl: bad server list \"%s\": %s", c->servers,
				 ares_strerror(st));
			goto fail;
		}
	}
	return r;
fail:
	rbl_resolver_free(r);
	return NULL;
}

void rbl_resolver_free(struct rbl_resolver *r)
{
	if (!r)
		return;
	if (r->ch) {
		/* Calls on_answer with ARES_EDESTRUCTION for every query in flight:
		 * their waiters fail open and the entries are freed. */
		ares_destroy(r->ch);
		ares_library_cleanup();
	}
	while (r->lru_head)
		cache_drop(r, r->lru_head);
	free(r->buckets);
	free(r->socks);
	free(r->zones);
	free(r->kinds);
	free(r->weights);
	free(r);
}

void rbl_set_time(struct rbl_resolver *r, uint64_t now_us)
{
	r->now_us = now_us;
}

const struct rbl_stats *rbl_resolver_stats(const struct rbl_resolver *r)
{
	return &r->st;
}

/* ---- checks ---- */

struct rbl_check *rbl_check_new(struct rbl_resolver *r)
{
	struct rbl_check *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->r = r;
	c->capsubj = IPS_PER_CHECK + r->max_domains;
	c->caplk = c->capsubj * (uint32_t)r->nlists;
	c->subj = calloc(c->capsubj, sizeof *c->subj);
	c->lk = c->caplk ? calloc(c->caplk, sizeof *c->lk) : NULL;
	if (!c->subj || (c->caplk && !c->lk)) {
		free(c->subj);
		free(c->lk);
		free(c);
		return NULL;
	}
	return c;
}

void rbl_check_free(struct rbl_check *c)
{
	if (!c)
		return;
	/* Detach what is still in flight; the answer then only fills the cache.
	 * The resolver itself is not touched, so this is safe after it. */
	for (uint32_t i = 0; i < c->nlk; i++) {
		struct lookup *lk = &c->lk[i];
		if (lk->state != L_PENDING || !lk->entry)
			continue;
		if (lk->wprev)
			lk->wprev->wnext = lk->wnext;
		else
			lk->entry->waiters = lk->wnext;
		if (lk->wnext)
			lk->wnext->wprev = lk->wprev;
	}
	for (uint32_t i = 0; i < c->nsubj; i++)
		free(c->subj[i]);
	free(c->subj);
	free(c->lk);
	free(c);
}

bool rbl_check_done(const struct rbl_check *c)
{
	return c->pending == 0;
}

static void start_lookup(struct rbl_check *c, uint16_t list, uint16_t subject)
{
	struct rbl_resolver *r = c->r;
	char name[NAME_MAX_LEN + 2];
	int n = snprintf(name, sizeof name, "%s.%s", c->subj[subject], r->zones[list]);
	if (n < 0 || n > NAME_MAX_LEN) {
		r->st.names_rejected++;
		return;
	}
	if (c->nlk == c->caplk)
		return; /* cannot happen: sized for every subject on every list */
	struct lookup *lk = &c->lk[c->nlk++];
	memset(lk, 0, sizeof *lk);
	lk->check = c;
	lk->list = list;
	lk->subject = subject;

	uint64_t h = siphash24(&r->key, name, (size_t)n);
	struct entry *e = table_find(r, name, h);
	if (e && e->state != E_PENDING && e->expires_us <= r->now_us) {
		cache_drop(r, e);
		e = NULL;
	}
	if (e && e->state != E_PENDING) {
		r->st.cache_hits++;
		lru_unlink(r, e);
		lru_push_front(r, e);
		lk->state = e->state == E_LISTED ? L_LISTED : e->state == E_CLEAN ? L_CLEAN : L_FAILED;
		lk->answer = e->answer;
		return;
	}
	bool start = !e;
	if (start) {
		if (r->pending >= r->max_pending) {
			r->st.pending_skipped++;
			lk->state = L_FAILED;
			return;
		}
		e = calloc(1, sizeof *e + (size_t)n + 1);
		if (!e) {
			r->st.errors++;
			lk->state = L_FAILED;
			return;
		}
		memcpy(e->name, name, (size_t)n + 1);
		e->r = r;
		e->hash = h;
		e->state = E_PENDING;
		e->hnext = r->buckets[h & r->bucket_mask];
		r->buckets[h & r->bucket_mask] = e;
	} else {
		r->st.inflight_shared++;
	}
	/* Wait before asking: c-ares may answer from inside ares_query. */
	lk->state = L_PENDING;
	lk->entry = e;
	lk->wnext = e->waiters;
	if (e->waiters)
		e->waiters->wprev = lk;
	e->waiters = lk;
	c->pending++;
	if (start) {
		r->pending++;
		r->st.queries++;
		ares_query(r->ch, e->name, ns_c_in, ns_t_a, on_answer, e);
	}
}

/* Looks s up on every list of its kind, once per check, within the
 * per-check caps. */
static void lookup_subject(struct rbl_check *c, const char *s, enum rbl_kind kind)
{
	struct rbl_resolver *r = c->r;
	for (uint32_t i = 0; i < c->nsubj; i++)
		if (strcmp(c->subj[i], s) == 0)
			return; /* same address or registered domain: already asked */
	uint32_t *count = kind == RBL_KIND_IP ? &c->nips : &c->ndomains;
	uint32_t cap = kind == RBL_KIND_IP ? IPS_PER_CHECK : r->max_domains;
	if (*count >= cap || c->nsubj == c->capsubj) {
		r->st.per_check_skipped++;
		return;
	}
	char *d = strdup(s);
	if (!d) {
		r->st.errors++;
		return;
	}
	uint32_t si = c->nsubj++;
	c->subj[si] = d;
	(*count)++;
	for (size_t i = 0; i < r->nlists; i++)
		if (r->kinds[i] == kind)
			start_lookup(c, (uint16_t)i, (uint16_t)si);
}

static const char hexd[] = "0123456789abcdef";

void rbl_check_ip(struct rbl_check *c, int family, const uint8_t *addr)
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	char s[80];
	if (family == AF_INET6 && memcmp(addr, v4mapped, 12) == 0) {
		family = AF_INET; /* ::ffff:a.b.c.d is looked up as a.b.c.d */
		addr += 12;
	}
	if (family == AF_INET) {
		snprintf(s, sizeof s, "%u.%u.%u.%u", addr[3], addr[2], addr[1], addr[0]);
	} else if (family == AF_INET6) {
		char *p = s;
		for (int i = 15; i >= 0; i--) {
			*p++ = hexd[addr[i] & 15];
			*p++ = '.';
			*p++ = hexd[addr[i] >> 4];
			*p++ = '.';
		}
		p[-1] = '\0';
	} else {
		c->r->st.names_rejected++;
		return;
	}
	lookup_subject(c, s, RBL_KIND_IP);
}

/* Second-level labels under a two-letter country TLD that are registries'
 * own (example.co.uk, example.com.au): the registered domain is then three
 * labels.  Any two-letter second level counts too (example.ab.ca).  A
 * heuristic without the public suffix list. */
static bool public_second_level(const char *l, size_t n)
{
	static const char *const known[] = {"com", "net", "org", "edu", "gov", "mil", "gob",
					    "nic", "ltd", "plc", "nom", "sch", "gouv", "info"};
	if (n == 2)
		return true;
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (strlen(known[i]) == n && memcmp(known[i], l, n) == 0)
			return true;
	return false;
}

/* Lower-cases host into out and reduces it to its registered domain; false
 * for IP literals and names that are not valid host names. */
static bool registered_domain(const char *host, char out[SUBJECT_MAX_LEN + 1])
{
	char buf[NAME_MAX_LEN + 2];
	size_t n = strnlen(host, NAME_MAX_LEN + 2);
	if (n && host[n - 1] == '.')
		n--;
	if (n == 0 || n > NAME_MAX_LEN)
		return false;
	lower_copy(buf, host, n);
	size_t label_start[128], nlabels = 0, start = 0;
	for (size_t i = 0; i <= n; i++) {
		char ch = buf[i];
		if (i == n || ch == '.') {
			size_t len = i - start;
			if (len == 0 || len > 63 || buf[start] == '-' || buf[i - 1] == '-' ||
			    nlabels == sizeof label_start / sizeof label_start[0])
				return false;
			label_start[nlabels++] = start;
			start = i + 1;
		} else if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
			     ch == '_')) {
			return false; /* ':' and '[' of IPv6 literals end here too */
		}
	}
	if (nlabels < 2)
		return false;
	/* A numeric last label is an IPv4 literal (1.2.3.4, 0x7f.1): no TLD is. */
	const char *tld = buf + label_start[nlabels - 1];
	if (strspn(tld, "0123456789") == strlen(tld))
		return false;
	size_t keep = 2;
	if (nlabels >= 3 && strlen(tld) == 2) {
		const char *sld = buf + label_start[nlabels - 2];
		if (public_second_level(sld, (size_t)(tld - 1 - sld)))
			keep = 3;
	}
	memcpy(out, buf + label_start[nlabels - keep], n - label_start[nlabels - keep] + 1);
	return true;
}

void rbl_check_domain(struct rbl_check *c, const char *host)
{
	char s[SUBJECT_MAX_LEN + 1];
	if (!host || !registered_domain(host, s)) {
		c->r->st.names_rejected++;
		return;
	}
	lookup_subject(c, s, RBL_KIND_DOMAIN);
}

void rbl_check_result(const struct rbl_check *c, struct rbl_result *out)
{
	const struct rbl_resolver *r = c->r;
	memset(out, 0, sizeof *out);
	bool any = false;
	for (uint32_t i = 0; i < c->nlk; i++) {
		const struct lookup *lk = &c->lk[i];
		if (lk->state == L_FAILED) {
			out->timeouts++;
			continue;
		}
		if (lk->state != L_LISTED)
			continue;
		/* A list scores once, however many of the check's names it lists. */
		bool seen = false;
		for (uint32_t j = 0; j < i && !seen; j++)
			seen = c->lk[j].state == L_LISTED && c->lk[j].list == lk->list;
		if (!seen)
			out->score += r->weights[lk->list];
		any = true;
		if (out->hit_count == RBL_MAX_HITS) {
			out->hits_dropped++;
			continue;
		}
		struct rbl_hit *h = &out->hits[out->hit_count++];
		snprintf(h->zone, sizeof h->zone, "%s", r->zones[lk->list]);
		snprintf(h->query, sizeof h->query, "%s", c->subj[lk->subject]);
		struct in_addr a = {.s_addr = htonl(lk->answer)};
		inet_ntop(AF_INET, &a, h->answer, sizeof h->answer);
		h->weight = r->weights[lk->list];
	}
	out->listed = any && out->score >= r->threshold;
}
