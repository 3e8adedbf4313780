/* Inspection of one transaction (a mail, later a webmail request) against a
 * ruleset: fields are scanned whole, stream scopes through Hyperscan streams
 * that keep their state across chunks.  Knows nothing of SMTP or MIME: the
 * caller says which scope each byte belongs to.
 *
 * One inspect_scratch per worker thread (Hyperscan scratch is not shareable);
 * one inspection per transaction. */
#ifndef POSTERN_POLICY_INSPECT_H
#define POSTERN_POLICY_INSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/rules.h"

struct inspect_scratch;
struct inspect_scratch *inspect_scratch_new(const struct ruleset *rs);
/* After a reload: make the scratch big enough for rs too.  0 or -1. */
int inspect_scratch_update(struct inspect_scratch *s, const struct ruleset *rs);
void inspect_scratch_free(struct inspect_scratch *s);

#define INSPECT_EXCERPT_MAX 96

/* A rule's result for the transaction. */
struct rule_hit {
	const struct rule *rule;
	uint32_t count;          /* matches (detectors: distinct validated values) */
	enum rule_scope scope;   /* scope of the first match */
	uint32_t part;           /* stream scopes: part/attachment number of the first match */
	uint64_t offset;         /* end offset of the first match in that field or stream */
	char excerpt[INSPECT_EXCERPT_MAX]; /* the first match (detectors: masked), printable UTF-8 */
};

struct inspect_callbacks {
	/* A host name found in a URL in a stream scope (for SURBL-style lookups);
	 * lower case, each distinct host reported once per inspection. */
	void (*url_host)(void *ctx, const char *host);
};

struct inspect_limits {
	uint32_t max_url_hosts;      /* distinct URL hosts reported (default 32) */
	uint32_t max_distinct;       /* distinct detector values remembered per rule (default 4096) */
};
void inspect_limits_default(struct inspect_limits *l);

struct inspection;

/* direction: RULE_DIR_INBOUND or RULE_DIR_OUTBOUND (rules of the other
 * direction never fire).  NULL on allocation failure. */
struct inspection *inspection_new(const struct ruleset *rs, struct inspect_scratch *s,
				  enum rule_direction direction, const struct inspect_limits *lim,
				  const struct inspect_callbacks *cb, void *ctx);

/* A whole field value.  header_name is the field name for SCOPE_HEADER, else NULL. */
void inspection_field(struct inspection *in, enum rule_scope scope, const char *header_name,
		      const uint8_t *data, size_t len);

/* Stream scopes: begin, data*, end.  One stream per scope open at a time;
 * part numbers the stream in results. */
void inspection_stream_begin(struct inspection *in, enum rule_scope scope, uint32_t part);
void inspection_stream_data(struct inspection *in, enum rule_scope scope,
			    const uint8_t *data, size_t len);
void inspection_stream_end(struct inspection *in, enum rule_scope scope);

/* Rules whose count reached their threshold, in rules-file order.  Closes
 * open streams first.  The array is owned by the inspection. */
size_t inspection_hits(struct inspection *in, const struct rule_hit **hits);

struct inspect_stats {
	uint64_t bytes_scanned;
	uint64_t matches;            /* raw Hyperscan matches */
	uint64_t candidates_rejected;/* detector candidates the validator refused */
	uint64_t distinct_dropped;   /* detector values past max_distinct (still counted) */
	uint64_t url_hosts_dropped;  /* past max_url_hosts */
	uint64_t scan_errors;        /* Hyperscan returned an error: the stream is abandoned */
	uint64_t matches_lost;       /* matches not counted: out of memory for the rule's state */
};
const struct inspect_stats *inspection_stats(const struct inspection *in);
void inspection_free(struct inspection *in);

#endif
