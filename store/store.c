/* The verdict store on LMDB (one unnamed database in a directory
 * environment: data.mdb + lock.mdb).
 *
 * One writer thread owns every write transaction.  store_put only copies the
 * record and takes the queue lock; the writer takes whatever is queued (up to
 * batch_records) and commits it as one transaction, so a burst becomes a few
 * large commits and a trickle becomes small ones without waiting for a batch
 * to fill.
 *
 * Durability: each transaction is committed with LMDB's default durability
 * (the data pages and then the meta page are fsync'ed), so a record counted
 * as committed survives a crash or power loss.  The cost is two fsyncs per
 * batch, not per record: under load the batches fill up and the fsync cost is
 * shared by batch_records records; at a low rate each record pays it, which a
 * low rate can afford.  MDB_NOSYNC with a periodic mdb_env_sync would save
 * little under load and lose the last interval of verdicts on power loss.
 *
 * A full map (MDB_MAP_FULL) is counted in map_full; the writer then doubles
 * the map (up to map_size_max) and retries the same transaction.  At the
 * limit, the transaction's records are dropped and counted in write_errors:
 * the caller is never blocked, and retention pruning frees space.
 *
 * Pruning runs in the writer too, in transactions of at most PRUNE_CHUNK
 * deletions, one chunk between two batches, so a large prune neither holds a
 * huge transaction nor stalls the inserts.
 *
 * LMDB forbids opening one environment twice in a process (the second open
 * would re-initialise the shared lock table and closing it drops the first
 * one's file locks), so the stores open in this process are registered, and
 * store_list reads through the open environment when it finds the path
 * there. */
#include "store/store.h"

#include <errno.h>
#include <jansson.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define KEY_TS_BYTES 8
#define KEY_TAIL_BYTES 5          /* NUL + be32 transaction index */
#define PRUNE_CHUNK 1024          /* deletions per write transaction */
#define AUTO_PRUNE_STEP_US 1000000 /* retention pruning waits for the cutoff to move 1 s */
#define FILE_MODE 0600            /* verdicts are mail metadata: owner only */
#define DIR_MODE 0700

struct record {
	uint64_t seq; /* position in the put order, for store_sync */
	uint64_t ts_us;
	size_t key_len, val_len;
	unsigned char data[]; /* key, then value */
};

struct store {
	MDB_env *env;
	MDB_dbi dbi;
	dev_t dev; /* identity of the directory, for the registry */
	ino_t ino;
	struct store *next_open;
	uint64_t map_size, map_size_max, retention_us;
	uint32_t batch_records;
	size_t max_key;
	struct record **batch; /* the writer's current transaction */
	/* Held for writing while the writer resizes the map, for reading by an
	 * in-process store_list: LMDB requires no transaction while resizing. */
	pthread_rwlock_t resize_lock;
	pthread_t writer;

	pthread_mutex_t lock; /* everything below */
	pthread_cond_t work;  /* the writer waits for records, prunes, stop */
	pthread_cond_t done;  /* store_sync waits for the writer's progress */
	struct record **queue;
	uint32_t cap, head, count;
	uint64_t put_seq, done_seq;
	uint64_t prune_before, prune_req, prune_done;
	uint64_t auto_pruned_before, newest_ts;
	bool hold, stop;
	struct store_stats stats;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct store *registry;

void store_config_default(struct store_config *c)
{
	memset(c, 0, sizeof *c);
	c->map_size = 1ull << 30;
	c->queue_records = 4096;
	c->batch_records = 256;
}

static void be64_put(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static void be32_put(unsigned char *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static uint64_t key_ts(const MDB_val *k)
{
	const unsigned char *p = k->mv_data;
	uint64_t v = 0;
	if (k->mv_size < KEY_TS_BYTES)
		return 0;
	for (int i = 0; i < KEY_TS_BYTES; i++)
		v = v << 8 | p[i];
	return v;
}

static struct store *registry_find(dev_t dev, ino_t ino)
{
	for (struct store *s = registry; s; s = s->next_open)
		if (s->dev == dev && s->ino == ino)
			return s;
	return NULL;
}

/* mkdir -p: each missing component is created; an existing one is fine. */
static int make_dirs(const char *path, char *err, size_t errlen)
{
	char *copy = strdup(path);
	if (!copy) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	for (char *p = copy + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(copy, DIR_MODE) < 0 && errno != EEXIST) {
			snprintf(err, errlen, "%s: cannot create directory '%s': %s", path, copy,
				 strerror(errno));
			free(copy);
			return -1;
		}
		*p = saved;
		if (saved == '\0')
			break;
	}
	free(copy);
	return 0;
}

/* Double the map up to the limit; false when it cannot grow. */
static bool grow_map(struct store *s)
{
	if (s->map_size >= s->map_size_max)
		return false;
	uint64_t next = s->map_size > s->map_size_max / 2 ? s->map_size_max : s->map_size * 2;
	pthread_rwlock_wrlock(&s->resize_lock);
	int rc = mdb_env_set_mapsize(s->env, (size_t)next);
	pthread_rwlock_unlock(&s->resize_lock);
	if (rc)
		return false;
	s->map_size = next;
	return true;
}

static int begin_write(struct store *s, MDB_txn **txn)
{
	int rc = mdb_txn_begin(s->env, NULL, 0, txn);
	if (rc == MDB_MAP_RESIZED) { /* another process grew it: adopt its size */
		pthread_rwlock_wrlock(&s->resize_lock);
		rc = mdb_env_set_mapsize(s->env, 0);
		pthread_rwlock_unlock(&s->resize_lock);
		if (!rc)
			rc = mdb_txn_begin(s->env, NULL, 0, txn);
	}
	return rc;
}

struct outcome {
	uint64_t committed, errors, map_full, pruned;
};

/* One transaction with the whole batch, retried after growing a full map. */
static void write_batch(struct store *s, struct record **b, uint32_t n, struct outcome *o)
{
	for (;;) {
		MDB_txn *txn;
		int rc = begin_write(s, &txn);
		if (rc) {
			o->errors += n;
			return;
		}
		for (uint32_t i = 0; i < n && !rc; i++) {
			MDB_val k = {b[i]->key_len, b[i]->data};
			MDB_val v = {b[i]->val_len, b[i]->data + b[i]->key_len};
			rc = mdb_put(txn, s->dbi, &k, &v, 0);
		}
		if (rc)
			mdb_txn_abort(txn);
		else
			rc = mdb_txn_commit(txn);
		if (rc == MDB_MAP_FULL) {
			o->map_full++;
			if (grow_map(s))
				continue;
		}
		if (rc)
			o->errors += n;
		else
			o->committed += n;
		return;
	}
}

/* Delete up to PRUNE_CHUNK records older than before in one transaction.
 * True when none older remain -- or on an error (counted), since retrying
 * would only repeat it. */
static bool prune_chunk(struct store *s, uint64_t before, struct outcome *o)
{
	for (;;) {
		MDB_txn *txn;
		MDB_cursor *cur;
		int rc = begin_write(s, &txn);
		if (rc) {
			o->errors++;
			return true;
		}
		if ((rc = mdb_cursor_open(txn, s->dbi, &cur))) {
			mdb_txn_abort(txn);
			o->errors++;
			return true;
		}
		uint64_t deleted = 0;
		bool finished = false;
		MDB_val k, v;
		rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
		while (!rc) {
			if (key_ts(&k) >= before) {
				finished = true;
				break;
			}
			if (deleted == PRUNE_CHUNK)
				break;
			if ((rc = mdb_cursor_del(cur, 0)))
				break;
			deleted++;
			/* after a delete the cursor already sits on the next
			 * record; MDB_NEXT returns it without moving */
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
		}
		if (rc == MDB_NOTFOUND) {
			finished = true;
			rc = 0;
		}
		mdb_cursor_close(cur);
		if (rc)
			mdb_txn_abort(txn);
		else
			rc = mdb_txn_commit(txn);
		if (rc == MDB_MAP_FULL) { /* deleting copies pages too */
			o->map_full++;
			if (grow_map(s))
				continue;
		}
		if (rc) {
			o->errors++;
			return true;
		}
		o->pruned += deleted;
		return finished;
	}
}

static void request_prune(struct store *s, uint64_t before_us)
{
	if (before_us > s->prune_before)
		s->prune_before = before_us;
	s->prune_req++;
}

static void *writer_main(void *arg)
{
	struct store *s = arg;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (s->hold || (!s->stop && !s->count && s->prune_done == s->prune_req))
			pthread_cond_wait(&s->work, &s->lock);
		if (!s->count && s->prune_done == s->prune_req)
			break; /* stopping, and nothing left */
		uint32_t n = 0;
		uint64_t last_seq = 0, newest = 0;
		while (n < s->batch_records && s->count) {
			struct record *r = s->queue[s->head];
			s->head = (s->head + 1) % s->cap;
			s->count--;
			s->batch[n++] = r;
			last_seq = r->seq;
			if (r->ts_us > newest)
				newest = r->ts_us;
		}
		bool prune = s->prune_done != s->prune_req;
		uint64_t before = s->prune_before, req = s->prune_req;
		pthread_mutex_unlock(&s->lock);

		struct outcome o = {0};
		if (n)
			write_batch(s, s->batch, n, &o);
		for (uint32_t i = 0; i < n; i++)
			free(s->batch[i]);
		bool prune_finished = prune && prune_chunk(s, before, &o);

		pthread_mutex_lock(&s->lock);
		s->stats.committed += o.committed;
		s->stats.write_errors += o.errors;
		s->stats.map_full += o.map_full;
		s->stats.pruned += o.pruned;
		if (n)
			s->done_seq = last_seq;
		if (prune_finished) {
			s->prune_done = req;
			if (req == s->prune_req)
				s->prune_before = 0;
		}
		if (o.committed && newest > s->newest_ts)
			s->newest_ts = newest;
		if (s->retention_us && s->newest_ts > s->retention_us) {
			uint64_t cutoff = s->newest_ts - s->retention_us;
			if (cutoff >= s->auto_pruned_before + AUTO_PRUNE_STEP_US) {
				s->auto_pruned_before = cutoff;
				request_prune(s, cutoff);
			}
		}
		pthread_cond_broadcast(&s->done);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* Open the database and learn the newest commit time (for retention); a
 * write transaction also proves the environment is writable. */
static int open_db(struct store *s)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = begin_write(s, &txn);
	if (rc)
		return rc;
	if ((rc = mdb_dbi_open(txn, NULL, 0, &s->dbi)) || (rc = mdb_cursor_open(txn, s->dbi, &cur))) {
		mdb_txn_abort(txn);
		return rc;
	}
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	if (!rc)
		s->newest_ts = key_ts(&k);
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_txn_commit(txn);
}

static void store_free(struct store *s)
{
	if (s->env)
		mdb_env_close(s->env);
	free(s->queue);
	free(s->batch);
	pthread_rwlock_destroy(&s->resize_lock);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->work);
	pthread_cond_destroy(&s->done);
	free(s);
}

struct store *store_open(const struct store_config *c, char *err, size_t errlen)
{
	struct stat st;
	int rc;
	if (!c || !c->path || !*c->path) {
		snprintf(err, errlen, "store: no path given");
		return NULL;
	}
	if (!c->queue_records || !c->batch_records || !c->map_size) {
		snprintf(err, errlen, "%s: queue_records, batch_records and map_size must be > 0",
			 c->path);
		return NULL;
	}
	if (stat(c->path, &st) < 0) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", c->path, strerror(errno));
			return NULL;
		}
		if (make_dirs(c->path, err, errlen) < 0)
			return NULL;
		if (stat(c->path, &st) < 0) {
			snprintf(err, errlen, "%s: %s", c->path, strerror(errno));
			return NULL;
		}
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a directory (the store is an LMDB environment directory)",
			 c->path);
		return NULL;
	}

	struct store *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "%s: out of memory", c->path);
		return NULL;
	}
	pthread_rwlock_init(&s->resize_lock, NULL);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->work, NULL);
	pthread_cond_init(&s->done, NULL);
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->cap = c->queue_records;
	s->batch_records = c->batch_records;
	s->retention_us = c->retention_us;
	s->queue = calloc(s->cap, sizeof *s->queue);
	s->batch = calloc(s->batch_records, sizeof *s->batch);
	if (!s->queue || !s->batch) {
		snprintf(err, errlen, "%s: out of memory for a queue of %u records", c->path, s->cap);
		store_free(s);
		return NULL;
	}
	if ((rc = mdb_env_create(&s->env))) {
		snprintf(err, errlen, "%s: mdb_env_create: %s", c->path, mdb_strerror(rc));
		s->env = NULL;
		store_free(s);
		return NULL;
	}
	if ((rc = mdb_env_set_mapsize(s->env, (size_t)c->map_size)) ||
	    (rc = mdb_env_open(s->env, c->path, 0, FILE_MODE))) {
		snprintf(err, errlen, "%s: cannot open the LMDB environment: %s", c->path,
			 mdb_strerror(rc));
		store_free(s);
		return NULL;
	}
	MDB_envinfo info;
	mdb_env_info(s->env, &info);
	s->map_size = info.me_mapsize; /* an existing store may be larger */
	s->map_size_max = c->map_size_max ? c->map_size_max : c->map_size * 8;
	if (s->map_size_max < s->map_size)
		s->map_size_max = s->map_size;
	s->max_key = (size_t)mdb_env_get_maxkeysize(s->env);

	pthread_mutex_lock(&registry_lock);
	if (registry_find(s->dev, s->ino)) {
		pthread_mutex_unlock(&registry_lock);
		snprintf(err, errlen, "%s: already open in this process", c->path);
		store_free(s);
		return NULL;
	}
	if ((rc = open_db(s))) {
		pthread_mutex_unlock(&registry_lock);
		snprintf(err, errlen, "%s: cannot open the database: %s", c->path, mdb_strerror(rc));
		store_free(s);
		return NULL;
	}
	if (s->retention_us && s->newest_ts > s->retention_us) {
		s->auto_pruned_before = s->newest_ts - s->retention_us;
		request_prune(s, s->auto_pruned_before);
	}
	if ((rc = pthread_create(&s->writer, NULL, writer_main, s))) {
		pthread_mutex_unlock(&registry_lock);
		snprintf(err, errlen, "%s: cannot start the writer thread: %s", c->path, strerror(rc));
		store_free(s);
		return NULL;
	}
	s->next_open = registry;
	registry = s;
	pthread_mutex_unlock(&registry_lock);
	return s;
}

bool store_put(struct store *s, uint64_t ts_us, const char *flow_id, uint32_t tx_index,
	       const char *json, size_t len)
{
	if (!s)
		return false;
	size_t flow_len = flow_id ? strlen(flow_id) : 0;
	size_t key_len = KEY_TS_BYTES + flow_len + KEY_TAIL_BYTES;
	struct record *r = NULL;
	/* A key LMDB cannot hold or a missing value is refused up front: in
	 * the batch it would fail the whole transaction. */
	if (key_len <= s->max_key && (json || !len))
		r = malloc(sizeof *r + key_len + len);
	if (r) {
		r->ts_us = ts_us;
		r->key_len = key_len;
		r->val_len = len;
		be64_put(r->data, ts_us);
		if (flow_len)
			memcpy(r->data + KEY_TS_BYTES, flow_id, flow_len);
		r->data[KEY_TS_BYTES + flow_len] = '\0';
		be32_put(r->data + KEY_TS_BYTES + flow_len + 1, tx_index);
		if (len)
			memcpy(r->data + key_len, json, len);
	}
	pthread_mutex_lock(&s->lock);
	s->stats.put++;
	if (!r) {
		s->stats.write_errors++;
		pthread_mutex_unlock(&s->lock);
		return false;
	}
	if (s->count == s->cap || s->stop) {
		s->stats.dropped_queue_full++;
		pthread_mutex_unlock(&s->lock);
		free(r);
		return false;
	}
	r->seq = ++s->put_seq;
	s->queue[(s->head + s->count) % s->cap] = r;
	s->count++;
	pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->lock);
	return true;
}

void store_prune(struct store *s, uint64_t before_us)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	request_prune(s, before_us);
	pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->lock);
}

void store_sync(struct store *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	uint64_t records = s->put_seq, prunes = s->prune_req;
	while (s->done_seq < records || s->prune_done < prunes)
		pthread_cond_wait(&s->done, &s->lock);
	pthread_mutex_unlock(&s->lock);
}

void store_hold_writer(struct store *s, bool hold)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->hold = hold;
	pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->lock);
}

void store_close(struct store *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true; /* the writer drains the queue and pending prunes first */
	s->hold = false;
	pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->writer, NULL);

	pthread_mutex_lock(&registry_lock); /* waits for an in-process store_list */
	for (struct store **p = &registry; *p; p = &(*p)->next_open)
		if (*p == s) {
			*p = s->next_open;
			break;
		}
	pthread_mutex_unlock(&registry_lock);
	store_free(s);
}

void store_stats(struct store *s, struct store_stats *out)
{
	if (!s) {
		memset(out, 0, sizeof *out);
		return;
	}
	pthread_mutex_lock(&s->lock);
	*out = s->stats;
	pthread_mutex_unlock(&s->lock);
}

/* ---- listing ---- */

static bool any_contains(json_t *arr, const char *needle)
{
	size_t i;
	json_t *el;
	json_array_foreach(arr, i, el) {
		const char *str = json_string_value(el);
		if (str && strcasestr(str, needle))
			return true;
	}
	return false;
}

static bool has_rule(json_t *reasons, const char *rule)
{
	size_t i;
	json_t *el;
	json_array_foreach(reasons, i, el) {
		const char *id = json_string_value(json_object_get(el, "id"));
		if (id && !strcmp(id, rule))
			return true;
	}
	return false;
}

/* A missing field or a record that is not a JSON object matches no filter. */
static bool record_matches(const struct store_filter *f, const MDB_val *v)
{
	if (!f->verdict && !f->sender && !f->recipient && !f->rule)
		return true;
	json_t *root = json_loadb(v->mv_data, v->mv_size, 0, NULL);
	bool ok = json_is_object(root);
	if (ok && f->verdict) {
		const char *verdict = json_string_value(json_object_get(root, "verdict"));
		ok = verdict && !strcmp(verdict, f->verdict);
	}
	if (ok && f->sender) {
		const char *from = json_string_value(json_object_get(root, "mail_from"));
		ok = from && strcasestr(from, f->sender);
	}
	if (ok && f->recipient) /* "rcpt", or the transaction event's "rcpt_to" */
		ok = any_contains(json_object_get(root, "rcpt"), f->recipient) ||
		     any_contains(json_object_get(root, "rcpt_to"), f->recipient);
	if (ok && f->rule)
		ok = has_rule(json_object_get(root, "reasons"), f->rule);
	json_decref(root);
	return ok;
}

static long list_txn(MDB_txn *txn, MDB_dbi dbi, const struct store_filter *f,
		     bool (*cb)(void *ctx, const char *json, size_t len), void *ctx, int *rcp)
{
	MDB_cursor *cur;
	MDB_val k, v;
	unsigned char bound[KEY_TS_BYTES];
	long matched = 0;
	int rc;
	if ((rc = mdb_cursor_open(txn, dbi, &cur))) {
		*rcp = rc;
		return -1;
	}
	if (!f->newest_first) {
		if (f->since_us) {
			be64_put(bound, f->since_us);
			k = (MDB_val){sizeof bound, bound};
			rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		} else {
			rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
		}
	} else if (f->until_us) {
		/* the first key at or after until, then one back */
		be64_put(bound, f->until_us);
		k = (MDB_val){sizeof bound, bound};
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		rc = rc == MDB_NOTFOUND ? mdb_cursor_get(cur, &k, &v, MDB_LAST)
					: rc ? rc : mdb_cursor_get(cur, &k, &v, MDB_PREV);
	} else {
		rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	}
	while (!rc) {
		uint64_t ts = key_ts(&k);
		if (f->newest_first ? ts < f->since_us : f->until_us && ts >= f->until_us)
			break;
		if (k.mv_size >= KEY_TS_BYTES + KEY_TAIL_BYTES && record_matches(f, &v)) {
			matched++;
			if (!cb(ctx, v.mv_data, v.mv_size) || (f->limit && (uint64_t)matched >= f->limit))
				break;
		}
		rc = mdb_cursor_get(cur, &k, &v, f->newest_first ? MDB_PREV : MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND) {
		*rcp = rc;
		return -1;
	}
	return matched;
}

long store_list(const char *path, const struct store_filter *f,
		bool (*cb)(void *ctx, const char *json, size_t len), void *ctx,
		char *err, size_t errlen)
{
	struct stat st;
	MDB_env *env = NULL;
	MDB_txn *txn;
	MDB_dbi dbi;
	long matched;
	int rc = 0;

	if (!path || !f || !cb) {
		snprintf(err, errlen, "store_list: missing argument");
		return -1;
	}
	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a directory (the store is an LMDB environment directory)",
			 path);
		return -1;
	}

	/* Open in this process: read through its environment, with the
	 * registry locked so it cannot close under us. */
	pthread_mutex_lock(&registry_lock);
	struct store *own = registry_find(st.st_dev, st.st_ino);
	if (own) {
		pthread_rwlock_rdlock(&own->resize_lock);
		if ((rc = mdb_txn_begin(own->env, NULL, MDB_RDONLY, &txn))) {
			matched = -1;
		} else {
			matched = list_txn(txn, own->dbi, f, cb, ctx, &rc);
			mdb_txn_abort(txn);
		}
		pthread_rwlock_unlock(&own->resize_lock);
		pthread_mutex_unlock(&registry_lock);
		if (matched < 0)
			snprintf(err, errlen, "%s: reading the store: %s", path, mdb_strerror(rc));
		return matched;
	}
	pthread_mutex_unlock(&registry_lock);

	const char *what = "cannot open the LMDB environment";
	if ((rc = mdb_env_create(&env)))
		goto fail;
	if ((rc = mdb_env_open(env, path, MDB_RDONLY, FILE_MODE))) {
		char data[4096];
		snprintf(data, sizeof data, "%s/data.mdb", path);
		if (rc == ENOENT && access(data, F_OK) < 0)
			what = "no verdict store here (no data.mdb)";
		goto fail;
	}
	/* adopt the map size the writer set, which may exceed the default */
	if ((rc = mdb_env_set_mapsize(env, 0)))
		goto fail;
	rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	if (rc == MDB_MAP_RESIZED && !(rc = mdb_env_set_mapsize(env, 0)))
		rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	if (rc)
		goto fail;
	what = "reading the store";
	if ((rc = mdb_dbi_open(txn, NULL, 0, &dbi))) {
		mdb_txn_abort(txn);
		goto fail;
	}
	matched = list_txn(txn, dbi, f, cb, ctx, &rc);
	mdb_txn_abort(txn);
	if (matched < 0)
		goto fail;
	mdb_env_close(env);
	return matched;
fail:
	snprintf(err, errlen, "%s: %s: %s", path, what, mdb_strerror(rc));
	if (env)
		mdb_env_close(env);
	return -1;
}
