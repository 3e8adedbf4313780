/* The verdict store: one LMDB record per decided transaction.
 *
 * Key:   be64(commit time, µs) | flow id text | NUL | be32(transaction index)
 *        -- time-ordered, so listing by time range and pruning are range scans.
 * Value: the verdict record as compact JSON (docs/events.md, "verdict").
 *
 * Writes never block the caller on disk: store_put copies the record into a
 * bounded queue that one writer thread commits in batches; a full queue drops
 * the record and counts it.  Readers (postern verdicts) open the environment
 * read-only and may run while the writer works. */
#ifndef POSTERN_STORE_STORE_H
#define POSTERN_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store_config {
	const char *path;         /* LMDB environment directory (created if missing) */
	uint64_t map_size;        /* bytes (default 1 GiB) */
	uint64_t retention_us;    /* records older than newest time - retention are pruned; 0 = keep */
	uint32_t queue_records;   /* pending records (default 4096) */
	uint32_t batch_records;   /* records per write transaction (default 256) */
	uint64_t map_size_max;    /* the map doubles up to this when full; 0 = 8 x map_size */
};
void store_config_default(struct store_config *c);

struct store;
/* NULL with a message (path and reason) in err on failure. */
struct store *store_open(const struct store_config *c, char *err, size_t errlen);
/* Queue one record; false if it was dropped (queue full, out of memory). */
bool store_put(struct store *s, uint64_t ts_us, const char *flow_id, uint32_t tx_index,
	       const char *json, size_t len);
/* Queue pruning of records older than before_us. */
void store_prune(struct store *s, uint64_t before_us);
/* Wait until every queued record is committed. */
void store_sync(struct store *s);
/* Sync, stop the writer, close. */
void store_close(struct store *s);
/* Test hook: while held the writer commits nothing (store_put fills the queue
 * deterministically).  Release before store_sync, which would wait forever. */
void store_hold_writer(struct store *s, bool hold);

struct store_stats {
	uint64_t put, committed, dropped_queue_full, write_errors, pruned, map_full;
};
/* Read under a lock: safe from any thread. */
void store_stats(struct store *s, struct store_stats *out);

/* Listing, for postern verdicts.  Every set field must match. */
struct store_filter {
	uint64_t since_us, until_us;  /* commit time range [since, until); 0 = open */
	const char *verdict;          /* "accept" / "reset" / "redirect" or NULL */
	const char *sender;           /* substring of mail_from (case-insensitive) or NULL */
	const char *recipient;        /* substring of any recipient or NULL */
	const char *rule;             /* a reason with this rule id or NULL */
	uint64_t limit;               /* records returned at most; 0 = all */
	bool newest_first;
};
/* Calls cb for each matching record (JSON text, not NUL-terminated) in time
 * order.  cb returns false to stop.  Returns records matched, -1 with a
 * message in err when the store cannot be opened. */
long store_list(const char *path, const struct store_filter *f,
		bool (*cb)(void *ctx, const char *json, size_t len), void *ctx,
		char *err, size_t errlen);

#endif
