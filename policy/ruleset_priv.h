/* Compiled ruleset internals shared by rules.c (builds them) and inspect.c
 * (scans with them).  Not a public interface. */
#ifndef POSTERN_POLICY_RULESET_PRIV_H
#define POSTERN_POLICY_RULESET_PRIV_H

#include <hs/hs.h>

#include "policy/rules.h"

/* What a Hyperscan pattern id stands for in one scope's database. */
enum pat_kind {
	PAT_KEYWORD = 0, /* rule's keyword; start = end - len unless som */
	PAT_REGEX,       /* rule's regex, compiled with SOM_LEFTMOST */
	PAT_DETECTOR,    /* candidate of a DLP detector (all rules using it in this scope) */
	PAT_URL,         /* http(s) URL, for inspect_callbacks.url_host */
};

struct pat {
	uint8_t kind;
	uint8_t det;         /* enum dlp_detector for PAT_DETECTOR */
	uint8_t som;         /* the match reports its start */
	uint32_t rule;       /* index into ruleset rules (keyword, regex) */
	uint32_t len;        /* keyword length in bytes */
};

struct scope_db {
	hs_database_t *db;   /* NULL: nothing to scan in this scope */
	struct pat *pats;
	uint32_t npats;
	uint32_t *det_rules[DLP_DETECTOR_COUNT]; /* rules using each detector here */
	uint32_t det_nrules[DLP_DETECTOR_COUNT];
};

struct ruleset {
	struct rule *rules;
	size_t n;
	struct scope_db db[SCOPE_COUNT];
	size_t db_bytes;
};

/* Stream scopes keep this many trailing bytes so that matches and detector
 * candidates spanning chunks can be read back; candidate patterns are
 * bounded to fit. */
#define STREAM_WINDOW 256

#endif
