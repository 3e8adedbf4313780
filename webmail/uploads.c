/* Uploads waiting for their send; the contract is in uploads.h.
 *
 * Chained hash buckets (power of two >= max_ids) keyed with SipHash over
 * (client address, host, compose id) under a per-table random key, since
 * clients choose compose ids.  One LRU list in the order of last use (put
 * or get): eviction takes its head.  Expiry is by the last upload's packet
 * time: a put sweeps a few expired entries from the LRU head (the least
 * recently used are the likeliest to be stale), and an expired entry found
 * by a lookup is dropped then, so a stale entry never answers a get.
 *
 * Items grow per entry as they arrive (an item is ~1.7 KiB; most compose
 * ids have none or one), up to WEBMAIL_UPLOAD_ITEMS. */
#include "webmail/uploads.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/siphash.h"

#define UPLOADS_DEFAULT_IDS 4096
#define UPLOADS_MAX_IDS (1u << 22)
#define UPLOADS_DEFAULT_TTL_US (3600ull * 1000000)
#define UPLOADS_KEY_MAX 256       /* host and compose id bytes kept in the key */
#define UPLOADS_SWEEP 8           /* expired entries dropped per put, at most */

struct upload_entry {
	struct upload_entry *hnext;              /* bucket chain */
	struct upload_entry *lru_prev, *lru_next;
	uint64_t hash;
	struct ip_addr client;
	char host[UPLOADS_KEY_MAX];
	char compose_id[UPLOADS_KEY_MAX];
	uint64_t last_put_us;
	struct webmail_upload_item *items;
	uint32_t nitems, items_cap;
};

struct webmail_uploads {
	pthread_mutex_t lock;
	struct siphash_key key;
	struct upload_entry **buckets;
	size_t nbuckets;                         /* power of two */
	struct upload_entry *lru_head, *lru_tail; /* head: least recently used */
	uint32_t max_ids;
	uint64_t ttl_us;
	struct webmail_uploads_stats st;
};

struct webmail_uploads *webmail_uploads_new(uint32_t max_ids, uint64_t ttl_us)
{
	struct webmail_uploads *u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->max_ids = max_ids ? max_ids : UPLOADS_DEFAULT_IDS;
	if (u->max_ids > UPLOADS_MAX_IDS)
		u->max_ids = UPLOADS_MAX_IDS;
	u->ttl_us = ttl_us ? ttl_us : UPLOADS_DEFAULT_TTL_US;
	u->nbuckets = 16;
	while (u->nbuckets < u->max_ids)
		u->nbuckets <<= 1;
	u->buckets = calloc(u->nbuckets, sizeof(*u->buckets));
	if (!u->buckets || siphash_key_random(&u->key) != 0 ||
	    pthread_mutex_init(&u->lock, NULL) != 0) {
		free(u->buckets);
		free(u);
		return NULL;
	}
	return u;
}

void webmail_uploads_free(struct webmail_uploads *u)
{
	if (!u)
		return;
	for (struct upload_entry *e = u->lru_head, *next; e; e = next) {
		next = e->lru_next;
		free(e->items);
		free(e);
	}
	free(u->buckets);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

/* ---- keys ---- */

struct upload_key {
	struct ip_addr client;   /* unused address bytes zero (packet.h) */
	const char *host, *compose_id;
	size_t host_len, id_len;
};

static size_t key_len(const char *s)
{
	size_t n = s ? strnlen(s, UPLOADS_KEY_MAX) : 0;
	return n == UPLOADS_KEY_MAX ? n - 1 : n;   /* cut as stored */
}

static void key_make(struct upload_key *k, const struct ip_addr *client, const char *host,
		     const char *compose_id)
{
	memset(&k->client, 0, sizeof(k->client));
	if (client) {
		k->client.family = client->family;
		memcpy(k->client.addr, client->addr,
		       client->family == 4 ? 4 : sizeof(client->addr));
	}
	k->host = host ? host : "";
	k->compose_id = compose_id ? compose_id : "";
	k->host_len = key_len(k->host);
	k->id_len = key_len(k->compose_id);
}

static uint64_t key_hash(const struct webmail_uploads *u, const struct upload_key *k)
{
	/* family, address, host, NUL, compose id: the NUL keeps "ab"+"c" apart from "a"+"bc" */
	uint8_t buf[1 + 16 + UPLOADS_KEY_MAX + 1 + UPLOADS_KEY_MAX];
	size_t n = 0;
	buf[n++] = k->client.family;
	memcpy(buf + n, k->client.addr, 16);
	n += 16;
	memcpy(buf + n, k->host, k->host_len);
	n += k->host_len;
	buf[n++] = 0;
	memcpy(buf + n, k->compose_id, k->id_len);
	n += k->id_len;
	return siphash24(&u->key, buf, n);
}

static bool key_equal(const struct upload_entry *e, uint64_t h, const struct upload_key *k)
{
	return e->hash == h && e->client.family == k->client.family &&
	       memcmp(e->client.addr, k->client.addr, 16) == 0 &&
	       strlen(e->host) == k->host_len && memcmp(e->host, k->host, k->host_len) == 0 &&
	       strlen(e->compose_id) == k->id_len &&
	       memcmp(e->compose_id, k->compose_id, k->id_len) == 0;
}

/* ---- table ---- */

static void lru_unlink(struct webmail_uploads *u, struct upload_entry *e)
{
	if (e->lru_prev)
		e->lru_prev->lru_next = e->lru_next;
	else
		u->lru_head = e->lru_next;
	if (e->lru_next)
		e->lru_next->lru_prev = e->lru_prev;
	else
		u->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void lru_append(struct webmail_uploads *u, struct upload_entry *e)
{
	e->lru_next = NULL;
	e->lru_prev = u->lru_tail;
	if (u->lru_tail)
		u->lru_tail->lru_next = e;
	else
		u->lru_head = e;
	u->lru_tail = e;
}

static void entry_remove(struct webmail_uploads *u, struct upload_entry *e)
{
	struct upload_entry **pp = &u->buckets[e->hash & (u->nbuckets - 1)];
	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
	lru_unlink(u, e);
	u->st.ids--;
	u->st.items -= e->nitems;
	free(e->items);
	free(e);
}

static bool expired(const struct webmail_uploads *u, const struct upload_entry *e, uint64_t now)
{
	return now > e->last_put_us && now - e->last_put_us > u->ttl_us;
}

static struct upload_entry *lookup(struct webmail_uploads *u, const struct upload_key *k,
				   uint64_t h, uint64_t now)
{
	for (struct upload_entry *e = u->buckets[h & (u->nbuckets - 1)]; e; e = e->hnext) {
		if (!key_equal(e, h, k))
			continue;
		if (expired(u, e, now)) {
			u->st.expired++;
			entry_remove(u, e);
			return NULL;
		}
		return e;
	}
	return NULL;
}

static void sweep(struct webmail_uploads *u, uint64_t now)
{
	for (unsigned i = 0; i < UPLOADS_SWEEP && u->lru_head && expired(u, u->lru_head, now);
	     i++) {
		u->st.expired++;
		entry_remove(u, u->lru_head);
	}
}

void webmail_uploads_put(struct webmail_uploads *u, const struct ip_addr *client, const char *host,
			 const char *compose_id, const struct webmail_upload_item *item,
			 uint64_t now_us)
{
	if (!u || !item)
		return;
	struct upload_key k;
	key_make(&k, client, host, compose_id);
	uint64_t h = key_hash(u, &k);
	pthread_mutex_lock(&u->lock);
	u->st.put++;
	sweep(u, now_us);
	struct upload_entry *e = lookup(u, &k, h, now_us);
	if (!e) {
		if (u->st.ids >= u->max_ids && u->lru_head) {
			u->st.evicted++;
			entry_remove(u, u->lru_head);
		}
		if (!(e = calloc(1, sizeof(*e)))) {
			u->st.items_dropped++;
			pthread_mutex_unlock(&u->lock);
			return;
		}
		e->hash = h;
		e->client = k.client;
		memcpy(e->host, k.host, k.host_len);
		memcpy(e->compose_id, k.compose_id, k.id_len);
		struct upload_entry **b = &u->buckets[h & (u->nbuckets - 1)];
		e->hnext = *b;
		*b = e;
		lru_append(u, e);
		u->st.ids++;
	} else {
		lru_unlink(u, e);
		lru_append(u, e);
	}
	if (now_us > e->last_put_us)
		e->last_put_us = now_us;
	if (e->nitems == e->items_cap && e->items_cap < WEBMAIL_UPLOAD_ITEMS) {
		uint32_t nc = e->items_cap ? e->items_cap * 2 : 2;
		if (nc > WEBMAIL_UPLOAD_ITEMS)
			nc = WEBMAIL_UPLOAD_ITEMS;
		struct webmail_upload_item *nv = realloc(e->items, nc * sizeof(*nv));
		if (nv) {
			e->items = nv;
			e->items_cap = nc;
		}
	}
	if (e->nitems < e->items_cap) {
		e->items[e->nitems++] = *item;
		u->st.items++;
	} else {
		u->st.items_dropped++;
	}
	pthread_mutex_unlock(&u->lock);
}

size_t webmail_uploads_get(struct webmail_uploads *u, const struct ip_addr *client,
			   const char *host, const char *compose_id, uint64_t now_us,
			   struct webmail_upload_item *out, size_t cap)
{
	if (!u)
		return 0;
	struct upload_key k;
	key_make(&k, client, host, compose_id);
	uint64_t h = key_hash(u, &k);
	size_t n = 0;
	pthread_mutex_lock(&u->lock);
	u->st.lookups++;
	struct upload_entry *e = lookup(u, &k, h, now_us);
	if (e) {
		u->st.hits++;
		lru_unlink(u, e);
		lru_append(u, e);
		n = e->nitems < cap ? e->nitems : cap;
		if (n)
			memcpy(out, e->items, n * sizeof(*out));
	}
	pthread_mutex_unlock(&u->lock);
	return n;
}

void webmail_uploads_stats(struct webmail_uploads *u, struct webmail_uploads_stats *out)
{
	pthread_mutex_lock(&u->lock);
	*out = u->st;
	pthread_mutex_unlock(&u->lock);
}
