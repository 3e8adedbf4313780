/* Rules file loading, validation and compilation; the contract is in rules.h,
 * the file format in docs/rules.md.
 *
 * Loading is two passes: every rule is parsed and checked on its own (all
 * errors collected), then the surviving rules are compiled, one Hyperscan
 * database per scope.  When a combined compile fails, each regex of that
 * scope is compiled alone so the error names its rule and line.  When the
 * file already had errors, regexes are still checked one by one (so one run
 * reports everything) but no database is built. */
#include "policy/rules.h"

#include "common/utf8.h"

#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/ruleset_priv.h"

#define RULE_ID_MAX 63          /* fits verdict_reason.id */
#define PATTERN_MAX 4096        /* keyword or regex bytes */

/* Detector candidates.  Card and RRN: a digit run must not continue a
 * longer run, so each candidate is framed by a non-digit or the start/end of
 * the field or stream ('$' in a stream is reported when the stream closes),
 * with SOM so the candidate can be read back; the validator trims the frame.
 * E-mail and URL patterns cannot have SOM (too large for Hyperscan): their
 * end is framed the same way and inspect.c walks back from it. */
static const char *const det_pattern[DLP_DETECTOR_COUNT] = {
	[DLP_KR_RRN] = "(?:^|[^0-9])[0-9]{6}-?[1-8][0-9]{6}(?:[^0-9]|$)",
	[DLP_CARD] = "(?:^|[^0-9])[0-9](?:[ -]?[0-9]){12,18}(?:[^0-9]|$)",
	[DLP_EMAIL] = ("[A-Za-z0-9._%+-]@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}"
		       "(?:[^A-Za-z0-9.-]|\\.[^A-Za-z0-9-]|\\.$|$)"),
};
static const bool det_som[DLP_DETECTOR_COUNT] = {[DLP_KR_RRN] = true, [DLP_CARD] = true};
static const char *const url_pattern =
	"https?://[A-Za-z0-9._~%!$&'()*+,;=:@-]+(?:[^A-Za-z0-9._~%!$&'()*+,;=:@-]|$)";

static const char *const scope_names[SCOPE_COUNT] = {
	[SCOPE_MAIL_FROM] = "mail_from",
	[SCOPE_RCPT] = "rcpt",
	[SCOPE_HEADER] = "header",
	[SCOPE_SUBJECT] = "subject",
	[SCOPE_BODY] = "body",
	[SCOPE_ATTACH_NAME] = "attachment.name",
	[SCOPE_ATTACH_CONTENT] = "attachment.content",
	[SCOPE_ATTACH_TYPE] = "attachment.type",
	[SCOPE_WEBMAIL_TO] = "webmail.to",
	[SCOPE_WEBMAIL_SUBJECT] = "webmail.subject",
	[SCOPE_WEBMAIL_BODY] = "webmail.body",
};

const char *rule_scope_name(enum rule_scope s)
{
	return (unsigned)s < SCOPE_COUNT ? scope_names[s] : "?";
}

bool rule_scope_is_stream(enum rule_scope s)
{
	return s == SCOPE_BODY || s == SCOPE_ATTACH_CONTENT || s == SCOPE_WEBMAIL_BODY;
}

const char *rule_direction_name(enum rule_direction d)
{
	switch (d) {
	case RULE_DIR_ANY: return "any";
	case RULE_DIR_INBOUND: return "inbound";
	case RULE_DIR_OUTBOUND: return "outbound";
	}
	return "?";
}

const char *rule_action_name(enum rule_action a)
{
	switch (a) {
	case RULE_ACTION_ALERT: return "alert";
	case RULE_ACTION_RESET: return "reset";
	}
	return "?";
}

static const char *const det_names[DLP_DETECTOR_COUNT] = {
	[DLP_KR_RRN] = "kr_rrn", [DLP_CARD] = "card", [DLP_EMAIL] = "email",
};

const char *dlp_detector_name(enum dlp_detector d)
{
	return (unsigned)d < DLP_DETECTOR_COUNT ? det_names[d] : "?";
}

/* ---- errors ---- */

static size_t err_total(const struct rule_errors *e)
{
	return e ? e->count + e->dropped : 0;
}

/* ---- helpers ---- */

static void rule_clear(struct rule *r)
{
	free(r->id);
	free(r->description);
	free(r->header_name);
	free(r->pattern);
	memset(r, 0, sizeof(*r));
}


static bool has_non_ascii(const char *s)
{
	for (; *s; s++)
		if ((uint8_t)*s >= 0x80)
			return true;
	return false;
}

/* Keyword as a Hyperscan expression: every ASCII byte as \xHH; non-ASCII
 * bytes as \xHH too, except in UTF-8 mode (caseless non-ASCII keywords)
 * where \xHH would mean a code point, so they stay raw. */
static char *keyword_expr(const char *kw, bool utf8)
{
	size_t n = strlen(kw);
	char *e = malloc(n * 4 + 1);
	if (!e)
		return NULL;
	char *o = e;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)kw[i];
		if (utf8 && c >= 0x80) {
			*o++ = (char)c;
		} else {
			static const char hex[] = "0123456789abcdef";
			*o++ = '\\';
			*o++ = 'x';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return e;
}

static bool keyword_utf8_caseless(const struct rule *r)
{
	return r->nocase && has_non_ascii(r->pattern) &&
	       utf8_valid((const uint8_t *)r->pattern, strlen(r->pattern));
}

static unsigned regex_flags(const struct rule *r)
{
	unsigned f = HS_FLAG_DOTALL | HS_FLAG_SOM_LEFTMOST;
	if (r->nocase)
		f |= HS_FLAG_CASELESS;
	/* UTF-8 mode only when the pattern needs it (non-ASCII text or code
	 * point syntax) and is valid UTF-8 itself. */
	if ((has_non_ascii(r->pattern) || strstr(r->pattern, "\\x{") || strstr(r->pattern, "\\p") ||
	     strstr(r->pattern, "\\P")) &&
	    utf8_valid((const uint8_t *)r->pattern, strlen(r->pattern)))
		f |= HS_FLAG_UTF8 | HS_FLAG_UCP;
	return f;
}

static unsigned scope_mode(enum rule_scope s)
{
	return rule_scope_is_stream(s) ? HS_MODE_STREAM | HS_MODE_SOM_HORIZON_SMALL : HS_MODE_BLOCK;
}

/* ---- parsing ---- */

struct parse_ctx {
	const char *name;        /* file name for messages when libconfig has none */
	struct rule_errors *errs;
	size_t errors;           /* errors reported by this load */
};

static const char *setting_file(const struct parse_ctx *pc, const config_setting_t *s)
{
	const char *f = config_setting_source_file(s);
	return f ? f : pc->name;
}

#define PERR(pc, s, ...)                                                             \
	do {                                                                         \
		rule_errors_add((pc)->errs, setting_file((pc), (s)),                 \
				config_setting_source_line(s), __VA_ARGS__);         \
		(pc)->errors++;                                                      \
	} while (0)

static char *dup_string(const config_setting_t *s)
{
	const char *v = config_setting_get_string(s);
	return strdup(v ? v : "");
}

static bool parse_scope_name(struct parse_ctx *pc, const config_setting_t *s, const char *rid,
			     const char *name, struct rule *r)
{
	if (strncmp(name, "header:", 7) == 0) {
		const char *h = name + 7;
		size_t n = strlen(h);
		if (n == 0 || n > 128) {
			PERR(pc, s, "rule '%s': scope '%s': header name must be 1-128 characters", rid,
			     name);
			return false;
		}
		for (size_t i = 0; i < n; i++) {
			uint8_t c = (uint8_t)h[i];
			if (c <= 0x20 || c >= 0x7f || c == ':') {
				PERR(pc, s, "rule '%s': scope '%s': invalid header field name", rid,
				     name);
				return false;
			}
		}
		char *lower = strdup(h);
		if (!lower) {
			PERR(pc, s, "out of memory");
			return false;
		}
		for (size_t i = 0; i < n; i++)
			if (lower[i] >= 'A' && lower[i] <= 'Z')
				lower[i] = (char)(lower[i] - 'A' + 'a');
		if (r->header_name && strcmp(r->header_name, lower) != 0) {
			PERR(pc, s, "rule '%s': only one header:NAME scope per rule ('%s' and '%s')",
			     rid, r->header_name, lower);
			free(lower);
			return false;
		}
		free(r->header_name);
		r->header_name = lower;
		r->scopes |= 1u << SCOPE_HEADER;
		return true;
	}
	for (unsigned i = 0; i < SCOPE_COUNT; i++) {
		if (i == SCOPE_HEADER || strcmp(name, scope_names[i]) != 0)
			continue;
		if (r->scopes & (1u << i)) {
			PERR(pc, s, "rule '%s': scope '%s' listed twice", rid, name);
			return false;
		}
		r->scopes |= 1u << i;
		return true;
	}
	if (strcmp(name, "header") == 0)
		PERR(pc, s, "rule '%s': scope 'header' needs a field name: 'header:NAME'", rid);
	else
		PERR(pc, s,
		     "rule '%s': unknown scope '%s' (mail_from, rcpt, header:NAME, subject, body, "
		     "attachment.name, attachment.content, attachment.type, webmail.to, "
		     "webmail.subject, webmail.body)",
		     rid, name);
	return false;
}

static bool want_string(struct parse_ctx *pc, const config_setting_t *s, const char *rid)
{
	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		return true;
	PERR(pc, s, "rule '%s': '%s' must be a string", rid, config_setting_name(s));
	return false;
}

/* Parse one rule group into r.  Returns true when the rule is usable. */
static bool parse_rule(struct parse_ctx *pc, const config_setting_t *g, size_t index,
		       struct rule *r)
{
	size_t before = pc->errors;
	char rid[RULE_ID_MAX + 1 + 16];
	memset(r, 0, sizeof(*r));
	r->threshold = 1;
	r->line = config_setting_source_line(g);

	const config_setting_t *idset = config_setting_get_member(g, "id");
	if (idset && config_setting_type(idset) == CONFIG_TYPE_STRING)
		snprintf(rid, sizeof(rid), "%s", config_setting_get_string(idset));
	else
		snprintf(rid, sizeof(rid), "#%zu", index + 1);

	unsigned nmatch = 0;
	bool have_scope = false;
	int len = config_setting_length(g);
	for (int i = 0; i < len; i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *key = config_setting_name(s);
		if (!key)
			continue;
		if (strcmp(key, "id") == 0) {
			if (!want_string(pc, s, rid))
				continue;
			const char *v = config_setting_get_string(s);
			size_t n = strlen(v);
			bool ok = n >= 1 && n <= RULE_ID_MAX;
			for (size_t k = 0; ok && k < n; k++)
				ok = (uint8_t)v[k] > 0x20 && (uint8_t)v[k] < 0x7f && v[k] != '"' &&
				     v[k] != '\\';
			if (!ok) {
				PERR(pc, s,
				     "rule '%s': id must be 1-%d printable ASCII characters without "
				     "spaces, quotes or backslashes",
				     rid, RULE_ID_MAX);
				continue;
			}
			r->id = dup_string(s);
		} else if (strcmp(key, "description") == 0) {
			if (want_string(pc, s, rid))
				r->description = dup_string(s);
		} else if (strcmp(key, "scope") == 0) {
			have_scope = true;
			int t = config_setting_type(s);
			if (t == CONFIG_TYPE_STRING) {
				parse_scope_name(pc, s, rid, config_setting_get_string(s), r);
			} else if (t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST) {
				int m = config_setting_length(s);
				if (m == 0)
					PERR(pc, s, "rule '%s': empty scope list", rid);
				for (int k = 0; k < m; k++) {
					const config_setting_t *e =
						config_setting_get_elem(s, (unsigned)k);
					if (config_setting_type(e) != CONFIG_TYPE_STRING) {
						PERR(pc, e, "rule '%s': scope entries must be strings",
						     rid);
						continue;
					}
					parse_scope_name(pc, e, rid, config_setting_get_string(e), r);
				}
			} else {
				PERR(pc, s, "rule '%s': 'scope' must be a string or a list of strings",
				     rid);
			}
		} else if (strcmp(key, "keyword") == 0 || strcmp(key, "regex") == 0) {
			nmatch++;
			if (!want_string(pc, s, rid))
				continue;
			const char *v = config_setting_get_string(s);
			size_t n = strlen(v);
			if (n == 0) {
				PERR(pc, s, "rule '%s': empty %s", rid, key);
				continue;
			}
			if (n > PATTERN_MAX) {
				PERR(pc, s, "rule '%s': %s longer than %d bytes", rid, key, PATTERN_MAX);
				continue;
			}
			free(r->pattern);
			r->pattern = strdup(v);
			r->match = key[0] == 'k' ? RULE_MATCH_KEYWORD : RULE_MATCH_REGEX;
		} else if (strcmp(key, "detector") == 0) {
			nmatch++;
			if (!want_string(pc, s, rid))
				continue;
			const char *v = config_setting_get_string(s);
			unsigned d;
			for (d = 0; d < DLP_DETECTOR_COUNT; d++)
				if (strcmp(v, det_names[d]) == 0)
					break;
			if (d == DLP_DETECTOR_COUNT) {
				PERR(pc, s, "rule '%s': unknown detector '%s' (kr_rrn, card, email)",
				     rid, v);
				continue;
			}
			r->match = RULE_MATCH_DETECTOR;
			r->detector = (enum dlp_detector)d;
		} else if (strcmp(key, "threshold") == 0) {
			int t = config_setting_type(s);
			if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) {
				PERR(pc, s, "rule '%s': 'threshold' must be an integer", rid);
				continue;
			}
			long long v = config_setting_get_int64(s);
			if (v < 1 || v > 1000000) {
				PERR(pc, s, "rule '%s': threshold %lld out of range 1-1000000", rid, v);
				continue;
			}
			r->threshold = (uint32_t)v;
		} else if (strcmp(key, "nocase") == 0) {
			if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
				PERR(pc, s, "rule '%s': 'nocase' must be true or false", rid);
				continue;
			}
			r->nocase = config_setting_get_bool(s) != 0;
		} else if (strcmp(key, "direction") == 0) {
			if (!want_string(pc, s, rid))
				continue;
			const char *v = config_setting_get_string(s);
			if (strcmp(v, "any") == 0)
				r->direction = RULE_DIR_ANY;
			else if (strcmp(v, "inbound") == 0)
				r->direction = RULE_DIR_INBOUND;
			else if (strcmp(v, "outbound") == 0)
				r->direction = RULE_DIR_OUTBOUND;
			else
				PERR(pc, s, "rule '%s': direction '%s' is not any, inbound or outbound",
				     rid, v);
		} else if (strcmp(key, "action") == 0) {
			if (!want_string(pc, s, rid))
				continue;
			const char *v = config_setting_get_string(s);
			if (strcmp(v, "alert") == 0)
				r->action = RULE_ACTION_ALERT;
			else if (strcmp(v, "reset") == 0)
				r->action = RULE_ACTION_RESET;
			else
				PERR(pc, s, "rule '%s': action '%s' is not alert or reset", rid, v);
		} else {
			PERR(pc, s,
			     "rule '%s': unknown key '%s' (id, description, scope, keyword, regex, "
			     "detector, threshold, nocase, direction, action)",
			     rid, key);
		}
	}
	if (!idset)
		PERR(pc, g, "rule %s: missing 'id'", rid);
	if (!have_scope)
		PERR(pc, g, "rule '%s': missing 'scope'", rid);
	if (nmatch == 0)
		PERR(pc, g, "rule '%s': needs one of 'keyword', 'regex' or 'detector'", rid);
	else if (nmatch > 1)
		PERR(pc, g, "rule '%s': exactly one of 'keyword', 'regex' or 'detector' allowed",
		     rid);
	if (pc->errors != before || !r->id || !r->scopes ||
	    (r->match != RULE_MATCH_DETECTOR && !r->pattern)) {
		rule_clear(r);
		return false;
	}
	if (r->match == RULE_MATCH_DETECTOR) {
		free(r->pattern);
		r->pattern = NULL;
	}
	return true;
}

/* ---- compilation ---- */

struct build {
	const char **expr;
	unsigned *flags;
	unsigned *ids;
	char **owned;
	size_t n, cap;
};

static int build_add(struct build *b, const char *expr, char *owned, unsigned flags, unsigned id)
{
	if (b->n == b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 64;
		const char **e = realloc(b->expr, nc * sizeof(*e));
		if (!e)
			return -1;
		b->expr = e;
		unsigned *f = realloc(b->flags, nc * sizeof(*f));
		if (!f)
			return -1;
		b->flags = f;
		unsigned *i = realloc(b->ids, nc * sizeof(*i));
		if (!i)
			return -1;
		b->ids = i;
		char **o = realloc(b->owned, nc * sizeof(*o));
		if (!o)
			return -1;
		b->owned = o;
		b->cap = nc;
	}
	b->expr[b->n] = expr;
	b->owned[b->n] = owned;
	b->flags[b->n] = flags;
	b->ids[b->n] = id;
	b->n++;
	return 0;
}

static void build_free(struct build *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->owned[i]);
	free(b->expr);
	free(b->flags);
	free(b->ids);
	free(b->owned);
	memset(b, 0, sizeof(*b));
}

/* Expression and flags of rule r (keyword or regex).  *owned gets memory to free. */
static const char *rule_expr(const struct rule *r, unsigned *flags, char **owned, bool *som)
{
	*owned = NULL;
	*som = false;
	if (r->match == RULE_MATCH_REGEX) {
		*flags = regex_flags(r);
		*som = true;
		return r->pattern;
	}
	bool u = keyword_utf8_caseless(r);
	*flags = r->nocase ? HS_FLAG_CASELESS : 0;
	if (u) {
		/* case folding can change the byte length: ask for the start */
		*flags |= HS_FLAG_UTF8 | HS_FLAG_UCP | HS_FLAG_SOM_LEFTMOST;
		*som = true;
	}
	*owned = keyword_expr(r->pattern, u);
	return *owned;
}

static void report_hs_error(struct rule_errors *errs, const char *name, const struct rule *r,
			    enum rule_scope sc, const char *msg)
{
	rule_errors_add(errs, name, r->line, "rule '%s': %s rejected by Hyperscan (%s scope): %s",
			r->id, r->match == RULE_MATCH_REGEX ? "regex" : "keyword",
			rule_scope_name(sc), msg);
}

/* Compile each regex of the scope alone; report the failures.  Returns how
 * many failed.  failed[] marks rules already reported (once per rule). */
static size_t check_regexes_alone(const struct rule *rules, size_t n, enum rule_scope sc,
				  uint8_t *failed, const char *name, struct rule_errors *errs)
{
	size_t bad = 0;
	for (size_t i = 0; i < n; i++) {
		const struct rule *r = &rules[i];
		if (!(r->scopes & (1u << sc)) || r->match == RULE_MATCH_DETECTOR)
			continue;
		if (r->match == RULE_MATCH_KEYWORD && !keyword_utf8_caseless(r))
			continue; /* byte literals cannot fail alone */
		unsigned flags;
		char *owned;
		bool som;
		const char *e = rule_expr(r, &flags, &owned, &som);
		if (!e) {
			free(owned);
			continue;
		}
		hs_database_t *db = NULL;
		hs_compile_error_t *ce = NULL;
		if (hs_compile(e, flags, scope_mode(sc), NULL, &db, &ce) != HS_SUCCESS) {
			bad++;
			if (!failed[i])
				report_hs_error(errs, name, r, sc, ce ? ce->message : "error");
			failed[i] = 1;
			hs_free_compile_error(ce);
		} else {
			hs_free_database(db);
		}
		free(owned);
	}
	return bad;
}

static void scope_db_free(struct scope_db *d)
{
	hs_free_database(d->db);
	free(d->pats);
	for (unsigned i = 0; i < DLP_DETECTOR_COUNT; i++)
		free(d->det_rules[i]);
	memset(d, 0, sizeof(*d));
}

/* Build scope sc's database.  0 ok (db may stay NULL), -1 error reported. */
static int compile_scope(struct ruleset *rs, enum rule_scope sc, uint8_t *failed,
			 const char *name, struct rule_errors *errs)
{
	struct scope_db *d = &rs->db[sc];
	struct build b = {0};
	size_t npat_cap = DLP_DETECTOR_COUNT + 1;
	size_t det_count[DLP_DETECTOR_COUNT] = {0};
	for (size_t i = 0; i < rs->n; i++) {
		const struct rule *r = &rs->rules[i];
		if (!(r->scopes & (1u << sc)))
			continue;
		npat_cap++;
		if (r->match == RULE_MATCH_DETECTOR)
			det_count[r->detector]++;
	}
	d->pats = calloc(npat_cap, sizeof(*d->pats));
	if (!d->pats)
		goto oom;
	for (unsigned k = 0; k < DLP_DETECTOR_COUNT; k++)
		if (det_count[k] && !(d->det_rules[k] = calloc(det_count[k], sizeof(uint32_t))))
			goto oom;
	for (size_t i = 0; i < rs->n; i++) {
		const struct rule *r = &rs->rules[i];
		if (!(r->scopes & (1u << sc)))
			continue;
		if (r->match == RULE_MATCH_DETECTOR) {
			unsigned k = r->detector;
			d->det_rules[k][d->det_nrules[k]++] = (uint32_t)i;
			continue;
		}
		unsigned flags;
		char *owned;
		bool som;
		const char *e = rule_expr(r, &flags, &owned, &som);
		if (!e || build_add(&b, e, owned, flags, d->npats) != 0) {
			free(owned);
			goto oom;
		}
		d->pats[d->npats++] = (struct pat){
			.kind = r->match == RULE_MATCH_REGEX ? PAT_REGEX : PAT_KEYWORD,
			.som = som, .rule = (uint32_t)i, .len = (uint32_t)strlen(r->pattern)};
	}
	for (unsigned k = 0; k < DLP_DETECTOR_COUNT; k++) {
		if (!det_count[k])
			continue;
		if (build_add(&b, det_pattern[k], NULL, det_som[k] ? HS_FLAG_SOM_LEFTMOST : 0,
			      d->npats) != 0)
			goto oom;
		d->pats[d->npats++] =
			(struct pat){.kind = PAT_DETECTOR, .det = (uint8_t)k, .som = det_som[k]};
	}
	if (rule_scope_is_stream(sc)) {
		if (build_add(&b, url_pattern, NULL, HS_FLAG_CASELESS, d->npats) != 0)
			goto oom;
		d->pats[d->npats++] = (struct pat){.kind = PAT_URL};
	}
	if (b.n == 0) {
		build_free(&b);
		return 0;
	}
	hs_compile_error_t *ce = NULL;
	if (hs_compile_multi(b.expr, b.flags, b.ids, (unsigned)b.n, scope_mode(sc), NULL, &d->db,
			     &ce) != HS_SUCCESS) {
		d->db = NULL;
		if (check_regexes_alone(rs->rules, rs->n, sc, failed, name, errs) == 0) {
			int x = ce ? ce->expression : -1;
			if (x >= 0 && (size_t)x < b.n && d->pats[x].kind <= PAT_REGEX)
				report_hs_error(errs, name, &rs->rules[d->pats[x].rule], sc,
						ce->message);
			else
				rule_errors_add(errs, name, 0, "scope '%s': Hyperscan compile failed: %s",
						rule_scope_name(sc), ce ? ce->message : "error");
		}
		hs_free_compile_error(ce);
		build_free(&b);
		return -1;
	}
	size_t sz = 0;
	if (hs_database_size(d->db, &sz) == HS_SUCCESS)
		rs->db_bytes += sz;
	build_free(&b);
	return 0;
oom:
	build_free(&b);
	rule_errors_add(errs, name, 0, "out of memory compiling scope '%s'", rule_scope_name(sc));
	return -1;
}

void ruleset_free(struct ruleset *rs)
{
	if (!rs)
		return;
	for (unsigned s = 0; s < SCOPE_COUNT; s++)
		scope_db_free(&rs->db[s]);
	for (size_t i = 0; i < rs->n; i++)
		rule_clear(&rs->rules[i]);
	free(rs->rules);
	free(rs);
}

static void free_rules(struct rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++)
		rule_clear(&rules[i]);
	free(rules);
}

struct id_ref {
	const char *id;
	size_t index;
	unsigned line;
	const char *file;        /* NULL: the ruleset's name */
};

static int id_ref_cmp(const void *a, const void *b)
{
	const struct id_ref *x = a, *y = b;
	int c = strcmp(x->id, y->id);
	if (c)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Checks of already-built rules that parse_rule also makes (for
 * ruleset_from_rules) and those that need all rules (duplicate ids). */
static size_t check_rules(const struct rule *rules, size_t n, const char *name,
			  struct rule_errors *errs)
{
	size_t bad = 0;
	for (size_t i = 0; i < n; i++) {
		const struct rule *r = &rules[i];
		const char *id = r->id ? r->id : "?";
		const char *why = NULL;
		if (!r->id || !r->id[0])
			why = "missing id";
		else if (!r->scopes || (r->scopes >> SCOPE_COUNT))
			why = "no valid scope";
		else if ((r->scopes & (1u << SCOPE_HEADER)) && (!r->header_name || !r->header_name[0]))
			why = "header scope without a field name";
		else if (r->threshold < 1)
			why = "threshold must be at least 1";
		else if (r->match == RULE_MATCH_DETECTOR && (unsigned)r->detector >= DLP_DETECTOR_COUNT)
			why = "unknown detector";
		else if (r->match != RULE_MATCH_DETECTOR && (!r->pattern || !r->pattern[0]))
			why = "empty pattern";
		else if (r->match > RULE_MATCH_DETECTOR)
			why = "unknown match kind";
		if (why) {
			rule_errors_add(errs, name, r->line, "rule '%s': %s", id, why);
			bad++;
		}
	}
	return bad;
}

/* Report ids used more than once (refs sorted in place).  Returns how many. */
static size_t check_duplicate_ids(struct id_ref *refs, size_t m, const char *name,
				  struct rule_errors *errs)
{
	size_t bad = 0;
	qsort(refs, m, sizeof(*refs), id_ref_cmp);
	for (size_t i = 1; i < m; i++) {
		if (strcmp(refs[i].id, refs[i - 1].id) != 0)
			continue;
		size_t first = i - 1;
		while (first > 0 && strcmp(refs[first - 1].id, refs[i].id) == 0)
			first--;
		rule_errors_add(errs, refs[i].file ? refs[i].file : name, refs[i].line,
				"rule '%s': duplicate id (first defined on line %u)", refs[i].id,
				refs[first].line);
		bad++;
	}
	return bad;
}

/* compile: false when errors were already found (check regexes only). */
static struct ruleset *compile_rules(struct rule *rules, size_t n, const char *name,
				     struct rule_errors *errs, bool compile, bool dup_check)
{
	size_t bad = check_rules(rules, n, name, errs);
	if (dup_check) {
		struct id_ref *refs = calloc(n ? n : 1, sizeof(*refs));
		size_t m = 0;
		for (size_t i = 0; refs && i < n; i++)
			if (rules[i].id)
				refs[m++] = (struct id_ref){rules[i].id, i, rules[i].line, NULL};
		bad += refs ? check_duplicate_ids(refs, m, name, errs) : 1;
		if (!refs)
			rule_errors_add(errs, name, 0, "out of memory");
		free(refs);
	}
	uint8_t *failed = calloc(n ? n : 1, 1);
	struct ruleset *rs = calloc(1, sizeof(*rs));
	if (!failed || !rs) {
		rule_errors_add(errs, name, 0, "out of memory");
		free(failed);
		free(rs);
		free_rules(rules, n);
		return NULL;
	}
	rs->rules = rules;
	rs->n = n;
	if (bad || !compile) {
		for (unsigned s = 0; s < SCOPE_COUNT; s++)
			check_regexes_alone(rules, n, (enum rule_scope)s, failed, name, errs);
		free(failed);
		ruleset_free(rs);
		return NULL;
	}
	int rc = 0;
	for (unsigned s = 0; s < SCOPE_COUNT; s++)
		if (compile_scope(rs, (enum rule_scope)s, failed, name, errs) != 0)
			rc = -1;
	free(failed);
	if (rc != 0) {
		ruleset_free(rs);
		return NULL;
	}
	return rs;
}

struct ruleset *ruleset_from_rules(struct rule *rules, size_t n, const char *name,
				   struct rule_errors *errs)
{
	return compile_rules(rules, n, name, errs, true, true);
}

static struct ruleset *load_config(config_t *cf, bool read_ok, const char *name,
				   struct rule_errors *errs)
{
	if (!read_ok) {
		const char *f = config_error_file(cf);
		rule_errors_add(errs, f ? f : name, (unsigned)config_error_line(cf), "%s",
				config_error_text(cf) ? config_error_text(cf) : "cannot read file");
		return NULL;
	}
	struct parse_ctx pc = {.name = name, .errs = errs};
	config_setting_t *root = config_root_setting(cf);
	const config_setting_t *list = NULL;
	int nroot = config_setting_length(root);
	for (int i = 0; i < nroot; i++) {
		const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
		const char *key = config_setting_name(s);
		if (key && strcmp(key, "rules") == 0)
			list = s;
		else
			PERR(&pc, s, "unknown top-level setting '%s' (expected 'rules')",
			     key ? key : "?");
	}
	size_t n = 0, cap = 0;
	struct rule *rules = NULL;
	if (list) {
		int t = config_setting_type(list);
		int m = config_setting_length(list);
		if (t != CONFIG_TYPE_LIST && !(t == CONFIG_TYPE_ARRAY && m == 0)) {
			PERR(&pc, list, "'rules' must be a list: rules = ( { ... }, ... );");
			m = 0;
		}
		cap = (size_t)(m > 0 ? m : 1);
		rules = calloc(cap, sizeof(*rules));
		if (!rules) {
			rule_errors_add(errs, name, 0, "out of memory");
			return NULL;
		}
		/* duplicate ids among all rules, also those with other errors */
		struct id_ref *refs = calloc(cap, sizeof(*refs));
		size_t nrefs = 0;
		for (int i = 0; refs && i < m; i++) {
			const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
			const config_setting_t *id =
				config_setting_type(g) == CONFIG_TYPE_GROUP
					? config_setting_get_member(g, "id")
					: NULL;
			if (id && config_setting_type(id) == CONFIG_TYPE_STRING)
				refs[nrefs++] = (struct id_ref){config_setting_get_string(id),
								(size_t)i,
								config_setting_source_line(g),
								config_setting_source_file(g)};
		}
		if (refs)
			pc.errors += check_duplicate_ids(refs, nrefs, name, errs);
		else
			PERR(&pc, list, "out of memory");
		free(refs);
		for (int i = 0; i < m; i++) {
			const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
			if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
				PERR(&pc, g, "rule #%d: not a group { ... }", i + 1);
				continue;
			}
			if (parse_rule(&pc, g, (size_t)i, &rules[n]))
				n++;
		}
	}
	if (!rules)
		rules = calloc(1, sizeof(*rules));
	if (!rules) {
		rule_errors_add(errs, name, 0, "out of memory");
		return NULL;
	}
	return compile_rules(rules, n, name, errs, pc.errors == 0, false);
}

struct ruleset *ruleset_load(const char *path, struct rule_errors *errs)
{
	config_t cf;
	config_init(&cf);
	/* @include paths are relative to the rules file's directory */
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		config_set_include_dir(&cf, dir[0] ? dir : "/");
	}
	bool ok = config_read_file(&cf, path) == CONFIG_TRUE;
	size_t before = err_total(errs);
	struct ruleset *rs = load_config(&cf, ok, path, errs);
	if (!ok && err_total(errs) == before)
		rule_errors_add(errs, path, 0, "cannot read rules file");
	config_destroy(&cf);
	return rs;
}

struct ruleset *ruleset_load_mem(const char *name, const char *text, size_t len,
				 struct rule_errors *errs)
{
	/* libconfig reads NUL-terminated text: copy, and refuse embedded NULs */
	if (memchr(text, '\0', len)) {
		rule_errors_add(errs, name, 0, "NUL byte in rules text");
		return NULL;
	}
	char *copy = malloc(len + 1);
	if (!copy) {
		rule_errors_add(errs, name, 0, "out of memory");
		return NULL;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	config_t cf;
	config_init(&cf);
	bool ok = config_read_string(&cf, copy) == CONFIG_TRUE;
	struct ruleset *rs = load_config(&cf, ok, name, errs);
	config_destroy(&cf);
	free(copy);
	return rs;
}

size_t ruleset_count(const struct ruleset *rs)
{
	return rs ? rs->n : 0;
}

const struct rule *ruleset_rule(const struct ruleset *rs, size_t i)
{
	return rs && i < rs->n ? &rs->rules[i] : NULL;
}

size_t ruleset_db_bytes(const struct ruleset *rs)
{
	return rs ? rs->db_bytes : 0;
}
