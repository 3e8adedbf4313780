/* The upload table: put/get under (client, host, compose id), isolation of
 * keys, LRU eviction at max_ids, expiry on packet time, the per-id item
 * cap, and two threads putting and getting at once. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "webmail/uploads.h"

static struct ip_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct ip_addr ip = {.family = 4};
	ip.addr[0] = a;
	ip.addr[1] = b;
	ip.addr[2] = c;
	ip.addr[3] = d;
	return ip;
}

static struct webmail_upload_item item(const char *name, uint64_t size)
{
	struct webmail_upload_item it;
	memset(&it, 0, sizeof(it));
	snprintf(it.name, sizeof(it.name), "%s", name);
	snprintf(it.declared_type, sizeof(it.declared_type), "application/pdf");
	it.size = size;
	it.findings = 1u << 2;
	it.reason_count = 1;
	it.reasons[0].kind = REASON_ATTACHMENT;
	snprintf(it.reasons[0].id, sizeof(it.reasons[0].id), "macro");
	return it;
}

#define SEC 1000000ull

static void test_put_get(void)
{
	struct webmail_uploads *u = webmail_uploads_new(0, 0);
	CHECK(u != NULL);
	struct ip_addr c = v4(10, 0, 0, 1);
	struct webmail_upload_item a = item("a.pdf", 10), b = item("b.docm", 20), out[4];
	webmail_uploads_put(u, &c, "mail.example.com", "cid1", &a, 1 * SEC);
	webmail_uploads_put(u, &c, "mail.example.com", "cid1", &b, 2 * SEC);
	size_t n = webmail_uploads_get(u, &c, "mail.example.com", "cid1", 3 * SEC, out, 4);
	CHECK_EQ_U(n, 2);
	CHECK_STR(out[0].name, "a.pdf");
	CHECK_STR(out[1].name, "b.docm");
	CHECK_EQ_U(out[1].size, 20);
	CHECK_STR(out[1].reasons[0].id, "macro");
	/* the entry stays (a send may be retried); cap limits the copy */
	CHECK_EQ_U(webmail_uploads_get(u, &c, "mail.example.com", "cid1", 4 * SEC, out, 1), 1);
	CHECK_STR(out[0].name, "a.pdf");

	/* other client, host or compose id: nothing */
	struct ip_addr c2 = v4(10, 0, 0, 2);
	struct ip_addr c6 = {.family = 6};
	memcpy(c6.addr, "\x0a\x00\x00\x01", 4); /* same bytes, other family */
	CHECK_EQ_U(webmail_uploads_get(u, &c2, "mail.example.com", "cid1", 4 * SEC, out, 4), 0);
	CHECK_EQ_U(webmail_uploads_get(u, &c6, "mail.example.com", "cid1", 4 * SEC, out, 4), 0);
	CHECK_EQ_U(webmail_uploads_get(u, &c, "mail.example.org", "cid1", 4 * SEC, out, 4), 0);
	CHECK_EQ_U(webmail_uploads_get(u, &c, "mail.example.com", "cid2", 4 * SEC, out, 4), 0);
	CHECK_EQ_U(webmail_uploads_get(u, &c, "mail.example.com", "", 4 * SEC, out, 4), 0);
	/* the host/id boundary is part of the key */
	webmail_uploads_put(u, &c, "ab", "c", &a, 5 * SEC);
	CHECK_EQ_U(webmail_uploads_get(u, &c, "a", "bc", 5 * SEC, out, 4), 0);
	CHECK_EQ_U(webmail_uploads_get(u, &c, "ab", "c", 5 * SEC, out, 4), 1);

	struct webmail_uploads_stats st;
	webmail_uploads_stats(u, &st);
	CHECK_EQ_U(st.ids, 2);
	CHECK_EQ_U(st.items, 3);
	CHECK_EQ_U(st.put, 3);
	CHECK_EQ_U(st.lookups, 9);
	CHECK_EQ_U(st.hits, 3);
	CHECK_EQ_U(st.evicted + st.expired + st.items_dropped, 0);
	webmail_uploads_free(u);
}

static void test_lru(void)
{
	struct webmail_uploads *u = webmail_uploads_new(3, 0);
	struct ip_addr c = v4(192, 0, 2, 7);
	struct webmail_upload_item a = item("x", 1), out[2];
	webmail_uploads_put(u, &c, "h", "1", &a, 1 * SEC);
	webmail_uploads_put(u, &c, "h", "2", &a, 2 * SEC);
	webmail_uploads_put(u, &c, "h", "3", &a, 3 * SEC);
	/* using "1" makes "2" the least recently used */
	CHECK_EQ_U(webmail_uploads_get(u, &c, "h", "1", 4 * SEC, out, 2), 1);
	webmail_uploads_put(u, &c, "h", "4", &a, 5 * SEC);
	CHECK_EQ_U(webmail_uploads_get(u, &c, "h", "2", 6 * SEC, out, 2), 0);
	CHECK_EQ_U(webmail_uploads_get(u, &c, "h", "1", 6 * SEC, out, 2), 1);
	CHECK_EQ_U(webmail_uploads_get(u, &c, "h", "3", 6 * SEC, out, 2), 1);
	CHECK_EQ_U(webmail_uploads_get(u, &c, "h", "4", 6 * SEC, out, 2), 1);
	/* a put to an existing id never evicts */
	webmail_uploads_put(u, &c, "h", "1", &a, 7 * SEC);
	struct webmail_uploads_stats st;
	webmail_uploads_stats(u, &st);
	CHECK_EQ_U(st.evicted, 1);
	CHECK_EQ_U(st.ids, 3);
	CHECK_EQ_U(st.items, 4);
	/* many more ids: the table stays at its bound */
	for (int i = 0; i < 1000; i++) {
		char id[16];
		snprintf(id, sizeof(id), "n%d", i);
		webmail_uploads_put(u, &c, "h", id, &a, (uint64_t)(8 + i) * SEC);
	}
	webmail_uploads_stats(u, &st);
	CHECK_EQ_U(st.ids, 3);
	CHECK_EQ_U(st.evicted, 1001);
	CHECK_EQ_U(webmail_uploads_get(u, &c, "h", "n999", 2000 * SEC, out, 2), 1);
	CHECK_EQ_U(webmail_uploads_get(u, &c, "h", "n996", 2000 * SEC, out, 2), 0);
	webmail_uploads_free(u);
}

static void test_ttl(void)
{
	struct webmail_uploads *u = webmail_uploads_new(16, 60 * SEC);
	struct ip_addr c = v4(10, 1, 1, 1);
	struct webmail_upload_item a = item("x", 1), out[2];
	webmail_uploads_put(u, &c, "h", "old", &a, 100 * SEC);
	webmail_uploads_put(u, &c, "h", "kept", &a, 100 * SEC);
	/* a later upload restarts the clock of its id only */
	webmail_uploads_put(u, &c, "h", "kept", &a, 150 * SEC);
	CHECK_EQ_U(webmail_uploads_get(u, &c, "h", "old", 160 * SEC, out, 2), 1);  /* 60 s: not yet */
	CHECK_EQ_U(webmail_uploads_get(u, &c, "h", "old", 161 * SEC, out, 2), 0);  /* expired */
	CHECK_EQ_U(webmail_uploads_get(u, &c, "h", "kept", 161 * SEC, out, 2), 2);
	/* a get does not extend the life: TTL counts from the last upload */
	CHECK_EQ_U(webmail_uploads_get(u, &c, "h", "kept", 211 * SEC, out, 2), 0);
	struct webmail_uploads_stats st;
	webmail_uploads_stats(u, &st);
	CHECK_EQ_U(st.expired, 2);
	CHECK_EQ_U(st.ids, 0);
	CHECK_EQ_U(st.items, 0);
	/* a put sweeps stale ids it does not touch */
	webmail_uploads_put(u, &c, "h", "s1", &a, 300 * SEC);
	webmail_uploads_put(u, &c, "h", "s2", &a, 300 * SEC);
	webmail_uploads_put(u, &c, "h", "fresh", &a, 400 * SEC);
	webmail_uploads_stats(u, &st);
	CHECK_EQ_U(st.expired, 4);
	CHECK_EQ_U(st.ids, 1);
	/* time going back a little (another worker's clock) is no expiry */
	CHECK_EQ_U(webmail_uploads_get(u, &c, "h", "fresh", 399 * SEC, out, 2), 1);
	webmail_uploads_free(u);
}

static void test_item_cap(void)
{
	struct webmail_uploads *u = webmail_uploads_new(4, 0);
	struct ip_addr c = v4(10, 2, 2, 2);
	struct webmail_upload_item *out = calloc(WEBMAIL_UPLOAD_ITEMS + 8, sizeof(*out));
	for (int i = 0; i < WEBMAIL_UPLOAD_ITEMS + 5; i++) {
		char name[16];
		snprintf(name, sizeof(name), "f%02d", i);
		struct webmail_upload_item it = item(name, (uint64_t)i);
		webmail_uploads_put(u, &c, "h", "many", &it, SEC);
	}
	size_t n = webmail_uploads_get(u, &c, "h", "many", SEC, out, WEBMAIL_UPLOAD_ITEMS + 8);
	CHECK_EQ_U(n, WEBMAIL_UPLOAD_ITEMS);
	CHECK_STR(out[0].name, "f00");
	CHECK_STR(out[WEBMAIL_UPLOAD_ITEMS - 1].name, "f31");
	struct webmail_uploads_stats st;
	webmail_uploads_stats(u, &st);
	CHECK_EQ_U(st.items_dropped, 5);
	CHECK_EQ_U(st.items, WEBMAIL_UPLOAD_ITEMS);
	/* long keys are cut as stored, consistently */
	char longid[600];
	memset(longid, 'z', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	struct webmail_upload_item it = item("l", 1);
	webmail_uploads_put(u, &c, longid, longid, &it, SEC);
	CHECK_EQ_U(webmail_uploads_get(u, &c, longid, longid, SEC, out, 2), 1);
	webmail_uploads_put(u, NULL, NULL, NULL, &it, SEC);
	CHECK_EQ_U(webmail_uploads_get(u, NULL, NULL, NULL, SEC, out, 2), 1);
	free(out);
	webmail_uploads_free(u);
}

struct worker {
	struct webmail_uploads *u;
	int id;
	unsigned hits, wrong;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct ip_addr c = v4(10, 9, 9, (uint8_t)w->id);
	struct webmail_upload_item out[WEBMAIL_UPLOAD_ITEMS];
	for (int i = 0; i < 20000; i++) {
		char id[16], name[32];
		snprintf(id, sizeof(id), "c%d", i % 97);
		snprintf(name, sizeof(name), "w%d-%d", w->id, i % 97);
		struct webmail_upload_item it = item(name, (uint64_t)i);
		webmail_uploads_put(w->u, &c, "shared.example", id, &it, (uint64_t)i);
		size_t n = webmail_uploads_get(w->u, &c, "shared.example", id, (uint64_t)i, out,
					       WEBMAIL_UPLOAD_ITEMS);
		if (n)
			w->hits++;
		/* only this thread's client ever put under this key */
		for (size_t k = 0; k < n; k++)
			if (strcmp(out[k].name, name) != 0)
				w->wrong++;
	}
	return NULL;
}

static void test_threads(void)
{
	struct webmail_uploads *u = webmail_uploads_new(64, 0);
	struct worker w[2] = {{u, 1, 0, 0}, {u, 2, 0, 0}};
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		CHECK(pthread_create(&t[i], NULL, work, &w[i]) == 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ_U(w[0].wrong + w[1].wrong, 0);
	CHECK(w[0].hits > 0 && w[1].hits > 0);
	struct webmail_uploads_stats st;
	webmail_uploads_stats(u, &st);
	CHECK_EQ_U(st.put, 40000);
	CHECK_EQ_U(st.lookups, 40000);
	CHECK(st.ids <= 64);
	CHECK(st.evicted > 0);
	CHECK(st.items + st.items_dropped <= st.put);
	webmail_uploads_free(u);
}

int main(void)
{
	RUN(test_put_get);
	RUN(test_lru);
	RUN(test_ttl);
	RUN(test_item_cap);
	RUN(test_threads);
	return tl_finish();
}
