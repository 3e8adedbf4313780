/* Verdict store: put/sync/list with every filter, time range edges, order and
 * limit, pruning and retention, queue-full drops, map growth, reopening and
 * the errors for paths that are not a store.
 *
 * "test_store_lmdb --bench N DIR" instead measures put+commit throughput of N
 * records of about 600 bytes into a new store under DIR; --bench-sync waits
 * for each record's commit (one transaction per record). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"
#include "tests/unit/testlib.h"

#define SEC 1000000ull
#define T0 (1795428000ull * SEC) /* 2026-11-23T10:00:00Z */

static char tmp_root[] = "/tmp/test_store.XXXXXX";
static unsigned dir_counter;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* A fresh, not yet existing store path under the temp root. */
static void new_path(char *buf, size_t len)
{
	snprintf(buf, len, "%s/store%u", tmp_root, ++dir_counter);
}

static struct store *open_store(const char *path, uint32_t queue, uint64_t retention_us)
{
	struct store_config c;
	char err[512];
	store_config_default(&c);
	c.path = path;
	c.map_size = 16u << 20;
	if (queue)
		c.queue_records = queue;
	c.retention_us = retention_us;
	struct store *s = store_open(&c, err, sizeof err);
	if (!s)
		fprintf(stderr, "store_open: %s\n", err);
	return s;
}

/* A verdict record as the integrator writes it; NULL fields are left out. */
static char *record_json(uint64_t ts, const char *flow, uint32_t tx, const char *verdict,
			 const char *from, const char *rcpt1, const char *rcpt2, const char *rule)
{
	json_t *o = json_object();
	json_object_set_new(o, "ts_commit_us", json_integer((json_int_t)ts));
	json_object_set_new(o, "flow", json_string(flow));
	json_object_set_new(o, "tx", json_integer(tx));
	if (verdict)
		json_object_set_new(o, "verdict", json_string(verdict));
	if (from)
		json_object_set_new(o, "mail_from", json_string(from));
	json_t *rcpt = json_array();
	if (rcpt1)
		json_array_append_new(rcpt, json_string(rcpt1));
	if (rcpt2)
		json_array_append_new(rcpt, json_string(rcpt2));
	json_object_set_new(o, "rcpt", rcpt);
	json_object_set_new(o, "subject", json_string("quarterly figures"));
	json_t *reasons = json_array();
	if (rule) {
		json_t *r = json_pack("{s:s, s:s, s:s}", "kind", "rule", "id", rule, "action", "reset");
		json_array_append_new(reasons, r);
	}
	json_object_set_new(o, "reasons", reasons);
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static bool put_record(struct store *s, uint64_t ts, const char *flow, uint32_t tx,
		       const char *verdict, const char *from, const char *rcpt1, const char *rcpt2,
		       const char *rule)
{
	char *j = record_json(ts, flow, tx, verdict, from, rcpt1, rcpt2, rule);
	bool ok = store_put(s, ts, flow, tx, j, strlen(j));
	free(j);
	return ok;
}

/* Collects the ts_commit_us of each listed record. */
struct listing {
	uint64_t ts[64];
	unsigned n, stop_after;
	unsigned unparsed;
};

static bool collect(void *ctx, const char *json, size_t len)
{
	struct listing *l = ctx;
	json_t *o = json_loadb(json, len, 0, NULL);
	json_t *ts = json_object_get(o, "ts_commit_us");
	if (l->n < 64)
		l->ts[l->n] = json_is_integer(ts) ? (uint64_t)json_integer_value(ts) : 0;
	if (!o)
		l->unparsed++;
	l->n++;
	json_decref(o);
	return !l->stop_after || l->n < l->stop_after;
}

static long list(const char *path, const struct store_filter *f, struct listing *l)
{
	char err[512];
	memset(l, 0, sizeof *l);
	long n = store_list(path, f, collect, l, err, sizeof err);
	if (n < 0)
		fprintf(stderr, "store_list: %s\n", err);
	return n;
}

static void test_filters(void)
{
	char path[256];
	new_path(path, sizeof path);
	struct store *s = open_store(path, 0, 0);
	CHECK(s != NULL);
	if (!s)
		return;
	CHECK(put_record(s, T0 + 1, "1", 0, "accept", "alice@example.org", "bob@example.com",
			 NULL, NULL));
	CHECK(put_record(s, T0 + 2, "1", 1, "reset", "Mallory@Evil.Example", "bob@example.com",
			 "carol@corp.example", "dlp.iban"));
	CHECK(put_record(s, T0 + 3, "2", 0, "reset", "alice@example.org", "dave@corp.example",
			 NULL, "attach.exe"));
	CHECK(put_record(s, T0 + 4, "3", 0, "accept", "", "Carol@Corp.Example", NULL, NULL));
	store_sync(s);
	struct store_stats st;
	store_stats(s, &st);
	CHECK_EQ_U(st.put, 4);
	CHECK_EQ_U(st.committed, 4);

	struct listing l;
	struct store_filter f = {0};
	CHECK_EQ_U(list(path, &f, &l), 4);
	CHECK_EQ_U(l.ts[0], T0 + 1);
	CHECK_EQ_U(l.ts[3], T0 + 4);

	f = (struct store_filter){.verdict = "reset"};
	CHECK_EQ_U(list(path, &f, &l), 2);
	CHECK_EQ_U(l.ts[0], T0 + 2);
	CHECK_EQ_U(l.ts[1], T0 + 3);

	f = (struct store_filter){.sender = "evil.EXAMPLE"}; /* case-insensitive */
	CHECK_EQ_U(list(path, &f, &l), 1);
	CHECK_EQ_U(l.ts[0], T0 + 2);

	f = (struct store_filter){.recipient = "carol@corp"}; /* any recipient, any case */
	CHECK_EQ_U(list(path, &f, &l), 2);
	CHECK_EQ_U(l.ts[0], T0 + 2);
	CHECK_EQ_U(l.ts[1], T0 + 4);

	f = (struct store_filter){.rule = "dlp.iban"};
	CHECK_EQ_U(list(path, &f, &l), 1);
	CHECK_EQ_U(l.ts[0], T0 + 2);
	f = (struct store_filter){.rule = "dlp"}; /* rule ids match exactly */
	CHECK_EQ_U(list(path, &f, &l), 0);

	f = (struct store_filter){.verdict = "reset", .sender = "alice"}; /* every filter */
	CHECK_EQ_U(list(path, &f, &l), 1);
	CHECK_EQ_U(l.ts[0], T0 + 3);
	f = (struct store_filter){.verdict = "accept", .rule = "attach.exe"};
	CHECK_EQ_U(list(path, &f, &l), 0);
	store_close(s);
}

static void test_time_range_and_order(void)
{
	char path[256];
	new_path(path, sizeof path);
	struct store *s = open_store(path, 0, 0);
	CHECK(s != NULL);
	if (!s)
		return;
	for (unsigned i = 1; i <= 10; i++) /* put out of order: keys sort by time */
		CHECK(put_record(s, T0 + (11 - i) * SEC, "7", 11 - i, "accept", "a@b", "c@d", NULL,
				 NULL));
	/* the same second twice: flow id and tx keep both */
	CHECK(put_record(s, T0 + 5 * SEC, "8", 0, "reset", "a@b", "c@d", NULL, NULL));
	store_sync(s);

	struct listing l;
	struct store_filter f = {.since_us = T0 + 3 * SEC, .until_us = T0 + 6 * SEC};
	CHECK_EQ_U(list(path, &f, &l), 4); /* [3, 6): 3, 4, 5, 5 */
	CHECK_EQ_U(l.ts[0], T0 + 3 * SEC);
	CHECK_EQ_U(l.ts[3], T0 + 5 * SEC);
	f = (struct store_filter){.since_us = T0 + 3 * SEC + 1, .until_us = T0 + 6 * SEC + 1};
	CHECK_EQ_U(list(path, &f, &l), 4); /* 4, 5, 5, 6 */
	CHECK_EQ_U(l.ts[0], T0 + 4 * SEC);
	CHECK_EQ_U(l.ts[3], T0 + 6 * SEC);
	f = (struct store_filter){.until_us = T0 + 2 * SEC};
	CHECK_EQ_U(list(path, &f, &l), 1);
	f = (struct store_filter){.since_us = T0 + 10 * SEC};
	CHECK_EQ_U(list(path, &f, &l), 1);
	f = (struct store_filter){.since_us = T0 + 10 * SEC + 1};
	CHECK_EQ_U(list(path, &f, &l), 0);
	f = (struct store_filter){.since_us = T0 + 5 * SEC, .until_us = T0 + 5 * SEC};
	CHECK_EQ_U(list(path, &f, &l), 0); /* empty range */

	f = (struct store_filter){.newest_first = true, .limit = 3};
	CHECK_EQ_U(list(path, &f, &l), 3);
	CHECK_EQ_U(l.ts[0], T0 + 10 * SEC);
	CHECK_EQ_U(l.ts[2], T0 + 8 * SEC);
	f = (struct store_filter){.limit = 3};
	CHECK_EQ_U(list(path, &f, &l), 3);
	CHECK_EQ_U(l.ts[0], T0 + 1 * SEC);
	CHECK_EQ_U(l.ts[2], T0 + 3 * SEC);
	/* newest first inside the range: until is exclusive, since inclusive */
	f = (struct store_filter){.since_us = T0 + 4 * SEC, .until_us = T0 + 6 * SEC,
				  .newest_first = true};
	CHECK_EQ_U(list(path, &f, &l), 3);
	CHECK_EQ_U(l.ts[0], T0 + 5 * SEC);
	CHECK_EQ_U(l.ts[2], T0 + 4 * SEC);
	f = (struct store_filter){.until_us = T0 + 100 * SEC, .newest_first = true};
	CHECK_EQ_U(list(path, &f, &l), 11); /* until past the newest record */
	CHECK_EQ_U(l.ts[0], T0 + 10 * SEC);
	f = (struct store_filter){.until_us = T0, .newest_first = true};
	CHECK_EQ_U(list(path, &f, &l), 0); /* until before the oldest */
	f = (struct store_filter){.newest_first = true, .verdict = "reset"};
	CHECK_EQ_U(list(path, &f, &l), 1);

	/* the callback stops the listing */
	f = (struct store_filter){0};
	struct listing stop;
	char err[256];
	memset(&stop, 0, sizeof stop);
	stop.stop_after = 2;
	CHECK_EQ_U(store_list(path, &f, collect, &stop, err, sizeof err), 2);
	store_close(s);

	/* read by a separate environment once the writer is gone */
	f = (struct store_filter){.newest_first = true};
	CHECK_EQ_U(list(path, &f, &l), 11);
	CHECK_EQ_U(l.ts[0], T0 + 10 * SEC);
}

static void test_prune_and_retention(void)
{
	char path[256];
	new_path(path, sizeof path);
	struct store *s = open_store(path, 8192, 0);
	CHECK(s != NULL);
	if (!s)
		return;
	for (unsigned i = 1; i <= 10; i++)
		CHECK(put_record(s, T0 + i * SEC, "1", i, "accept", "a@b", "c@d", NULL, NULL));
	store_sync(s);
	store_prune(s, T0 + 6 * SEC);
	store_sync(s);
	struct listing l;
	struct store_filter f = {0};
	CHECK_EQ_U(list(path, &f, &l), 5);
	CHECK_EQ_U(l.ts[0], T0 + 6 * SEC); /* exactly "before" stays */
	struct store_stats st;
	store_stats(s, &st);
	CHECK_EQ_U(st.pruned, 5);

	/* more than one prune transaction's worth */
	for (unsigned i = 0; i < 3000; i++)
		CHECK(store_put(s, T0 + 100 * SEC + i, "2", i, "{}", 2));
	store_sync(s);
	store_prune(s, T0 + 100 * SEC + 2500);
	store_sync(s);
	f = (struct store_filter){.since_us = T0 + 100 * SEC};
	CHECK_EQ_U(list(path, &f, &l), 500);
	store_stats(s, &st);
	CHECK_EQ_U(st.pruned, 5 + 5 + 2500); /* the first five left are older too */
	store_close(s);

	/* retention: records older than newest - retention go on their own */
	new_path(path, sizeof path);
	s = open_store(path, 0, 5 * SEC);
	CHECK(s != NULL);
	if (!s)
		return;
	for (unsigned i = 1; i <= 20; i++)
		CHECK(put_record(s, T0 + i * SEC, "1", i, "accept", "a@b", "c@d", NULL, NULL));
	store_sync(s);
	store_sync(s); /* the second waits for the prune the first batch triggered */
	f = (struct store_filter){0};
	CHECK_EQ_U(list(path, &f, &l), 6); /* 15..20 */
	CHECK_EQ_U(l.ts[0], T0 + 15 * SEC);
	store_close(s);

	/* reopening with a shorter retention prunes at once */
	s = open_store(path, 0, 2 * SEC);
	CHECK(s != NULL);
	if (!s)
		return;
	store_sync(s);
	CHECK_EQ_U(list(path, &f, &l), 3); /* 18..20 */
	store_close(s);
}

static void test_queue_full(void)
{
	char path[256];
	new_path(path, sizeof path);
	struct store *s = open_store(path, 1, 0);
	CHECK(s != NULL);
	if (!s)
		return;
	store_hold_writer(s, true);
	CHECK(put_record(s, T0 + 1, "1", 0, "accept", "a@b", "c@d", NULL, NULL));
	for (unsigned i = 0; i < 5; i++)
		CHECK(!put_record(s, T0 + 2 + i, "1", i + 1, "accept", "a@b", "c@d", NULL, NULL));
	struct store_stats st;
	store_stats(s, &st);
	CHECK_EQ_U(st.put, 6);
	CHECK_EQ_U(st.dropped_queue_full, 5);
	CHECK_EQ_U(st.committed, 0);
	store_hold_writer(s, false);
	store_sync(s);
	CHECK(put_record(s, T0 + 10, "1", 9, "accept", "a@b", "c@d", NULL, NULL));
	store_sync(s);
	store_stats(s, &st);
	CHECK_EQ_U(st.committed, 2);
	CHECK_EQ_U(st.dropped_queue_full, 5);

	/* a flow id LMDB cannot hold in a key is refused and counted */
	char long_flow[600];
	memset(long_flow, 'f', sizeof long_flow - 1);
	long_flow[sizeof long_flow - 1] = '\0';
	CHECK(!store_put(s, T0 + 11, long_flow, 0, "{}", 2));
	store_stats(s, &st);
	CHECK_EQ_U(st.write_errors, 1);
	store_close(s);

	struct listing l;
	struct store_filter f = {0};
	CHECK_EQ_U(list(path, &f, &l), 2);
}

static void test_map_growth(void)
{
	char path[256], err[512];
	new_path(path, sizeof path);
	struct store_config c;
	store_config_default(&c);
	c.path = path;
	c.map_size = 64u << 10;
	c.map_size_max = 1u << 20;
	struct store *s = store_open(&c, err, sizeof err);
	CHECK(s != NULL);
	if (!s)
		return;
	char value[600];
	memset(value, 'x', sizeof value);
	unsigned accepted = 0;
	for (unsigned i = 0; i < 3000; i++) {
		accepted += store_put(s, T0 + i, "9", i, value, sizeof value);
		if (i % 100 == 99)
			store_sync(s); /* keep the batches small, so most fit */
	}
	store_sync(s);
	struct store_stats st;
	store_stats(s, &st);
	CHECK(st.map_full >= 1);
	CHECK(st.committed > (64u << 10) / sizeof value); /* it grew */
	CHECK(st.committed < 3000);                       /* but not past 1 MiB */
	CHECK_EQ_U(st.committed + st.write_errors, accepted);
	store_close(s);
	struct listing l;
	struct store_filter f = {0};
	CHECK_EQ_U(list(path, &f, &l), st.committed);
}

static void test_reopen(void)
{
	char path[256];
	new_path(path, sizeof path);
	struct store *s = open_store(path, 0, 0);
	CHECK(s != NULL);
	if (!s)
		return;
	CHECK(put_record(s, T0 + 1, "1", 0, "reset", "a@b", "c@d", NULL, "r1"));
	store_close(s); /* close commits what is queued */

	char err[512];
	struct store_config c;
	store_config_default(&c);
	c.path = path;
	s = store_open(&c, err, sizeof err);
	CHECK(s != NULL);
	if (!s)
		return;
	/* the same environment twice in one process is refused */
	CHECK(store_open(&c, err, sizeof err) == NULL);
	CHECK(strstr(err, path) != NULL);
	CHECK(put_record(s, T0 + 2, "1", 1, "accept", "a@b", "c@d", NULL, NULL));
	store_sync(s);
	struct listing l;
	struct store_filter f = {.rule = "r1"};
	CHECK_EQ_U(list(path, &f, &l), 1);
	f = (struct store_filter){0};
	CHECK_EQ_U(list(path, &f, &l), 2);
	store_close(s);
}

static void test_bad_paths(void)
{
	char path[256], err[512];
	struct store_config c;
	store_config_default(&c);

	/* a regular file */
	snprintf(path, sizeof path, "%s/plain-file", tmp_root);
	FILE *fp = fopen(path, "w");
	CHECK(fp != NULL);
	if (fp)
		fclose(fp);
	c.path = path;
	CHECK(store_open(&c, err, sizeof err) == NULL);
	CHECK(strstr(err, path) != NULL);
	CHECK(strstr(err, "not a directory") != NULL);
	struct store_filter f = {0};
	struct listing l;
	CHECK(store_list(path, &f, collect, &l, err, sizeof err) == -1);
	CHECK(strstr(err, "not a directory") != NULL);

	/* below a regular file: mkdir -p fails */
	snprintf(path, sizeof path, "%s/plain-file/sub", tmp_root);
	CHECK(store_open(&c, err, sizeof err) == NULL);
	CHECK(strstr(err, path) != NULL);

	/* missing: listing does not create it */
	snprintf(path, sizeof path, "%s/missing", tmp_root);
	CHECK(store_list(path, &f, collect, &l, err, sizeof err) == -1);
	CHECK(strstr(err, "No such file") != NULL);
	CHECK(access(path, F_OK) < 0);

	/* a directory that is no LMDB environment */
	snprintf(path, sizeof path, "%s/not-lmdb", tmp_root);
	CHECK(mkdir(path, 0700) == 0);
	char data[300];
	snprintf(data, sizeof data, "%s/data.mdb", path);
	fp = fopen(data, "w");
	CHECK(fp != NULL);
	if (fp) {
		for (unsigned i = 0; i < 2000; i++)
			fputs("this is not an LMDB file ", fp);
		fclose(fp);
	}
	CHECK(store_open(&c, err, sizeof err) == NULL);
	CHECK(strstr(err, path) != NULL);
	CHECK(strstr(err, "LMDB") != NULL);
	CHECK(store_list(path, &f, collect, &l, err, sizeof err) == -1);
	CHECK(strstr(err, path) != NULL);

	/* an empty directory is a store that was never written */
	snprintf(path, sizeof path, "%s/empty", tmp_root);
	CHECK(mkdir(path, 0700) == 0);
	CHECK(store_list(path, &f, collect, &l, err, sizeof err) == -1);

	/* nested directories are created */
	snprintf(path, sizeof path, "%s/a/b/c", tmp_root);
	struct store *s = store_open(&c, err, sizeof err);
	CHECK(s != NULL);
	store_close(s);
	CHECK_EQ_U(list(path, &f, &l), 0);

	/* unwritable directory (skipped as root, who may write anyway) */
	if (geteuid() != 0) {
		snprintf(path, sizeof path, "%s/ro", tmp_root);
		CHECK(mkdir(path, 0500) == 0);
		CHECK(store_open(&c, err, sizeof err) == NULL);
		CHECK(strstr(err, "Permission denied") != NULL);
		chmod(path, 0700);
	}
}

static void test_missing_fields(void)
{
	char path[256];
	new_path(path, sizeof path);
	struct store *s = open_store(path, 0, 0);
	CHECK(s != NULL);
	if (!s)
		return;
	static const char *const odd[] = {
		"{}",
		"[1,2]",
		"not json",
		"",
		"{\"verdict\":5,\"mail_from\":null,\"rcpt\":\"x@y\",\"reasons\":[1,{\"id\":3},{}]}",
		"{\"verdict\":\"reset\",\"rcpt\":[7,null],\"reasons\":{\"id\":\"r\"}}",
		"{\"rcpt_to\":[\"Zed@X.example\"]}", /* the transaction event's name */
	};
	for (unsigned i = 0; i < sizeof odd / sizeof odd[0]; i++)
		CHECK(store_put(s, T0 + i, "1", i, odd[i], strlen(odd[i])));
	store_sync(s);
	struct listing l;
	struct store_filter f = {0};
	CHECK_EQ_U(list(path, &f, &l), 7); /* stored and listed as they are */
	f = (struct store_filter){.verdict = "accept"};
	CHECK_EQ_U(list(path, &f, &l), 0);
	f = (struct store_filter){.verdict = "reset"};
	CHECK_EQ_U(list(path, &f, &l), 1);
	f = (struct store_filter){.sender = ""};
	CHECK_EQ_U(list(path, &f, &l), 0);
	f = (struct store_filter){.recipient = "x@y"};
	CHECK_EQ_U(list(path, &f, &l), 0);
	f = (struct store_filter){.recipient = "zed@x"};
	CHECK_EQ_U(list(path, &f, &l), 1);
	f = (struct store_filter){.rule = "r"};
	CHECK_EQ_U(list(path, &f, &l), 0);
	store_close(s);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* each_sync: wait for every record's commit (the trickle case) */
static int bench(unsigned n, const char *dir, bool each_sync)
{
	char path[512], err[512];
	snprintf(path, sizeof path, "%s/bench-store", dir);
	struct store_config c;
	store_config_default(&c);
	c.path = path;
	struct store *s = store_open(&c, err, sizeof err);
	if (!s) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	char *j = record_json(T0, "123456", 0, "reset", "someone.sender@example.org",
			      "first.recipient@example.com", "second.recipient@example.com",
			      "dlp.credit_card");
	char value[1024];
	int len = snprintf(value, sizeof value, "%.*s,\"pad\":\"%0*d\"}", (int)strlen(j) - 1, j,
			   (int)(600 - strlen(j)), 0);
	free(j);
	char flow[32];
	double t = now_s();
	unsigned dropped_put = 0;
	for (unsigned i = 0; i < n; i++) {
		snprintf(flow, sizeof flow, "%u", i / 4);
		while (!store_put(s, T0 + i, flow, i % 4, value, (size_t)len)) {
			dropped_put++; /* queue full: give the writer a moment, retry */
			usleep(100);
		}
		if (each_sync)
			store_sync(s);
	}
	double t_put = now_s() - t;
	store_sync(s);
	double t_all = now_s() - t;
	struct store_stats st;
	store_stats(s, &st);
	store_close(s);
	printf("%u records of %d bytes: %.0f records/s put+commit (%.2f s; puts alone %.2f s), "
	       "committed %llu, queue-full retries %u\n",
	       n, len, n / t_all, t_all, t_put, (unsigned long long)st.committed, dropped_put);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && (!strcmp(argv[1], "--bench") || !strcmp(argv[1], "--bench-sync")))
		return bench((unsigned)strtoul(argv[2], NULL, 10), argv[3],
			     !strcmp(argv[1], "--bench-sync"));
	if (!mkdtemp(tmp_root)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_filters);
	RUN(test_time_range_and_order);
	RUN(test_prune_and_retention);
	RUN(test_queue_full);
	RUN(test_map_growth);
	RUN(test_reopen);
	RUN(test_bad_paths);
	RUN(test_missing_fields);
	nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return tl_finish();
}
