/* Transaction inspection; the contract is in inspect.h.
 *
 * Counting: a rule's count is the number of non-overlapping matches (a match
 * that starts before the end of the rule's previous counted match in the same
 * field or stream is ignored), summed over all its scopes; detectors count
 * distinct validated values instead.  Per-rule state exists only for rules
 * that matched (a small hash map), so a 100k-rule set costs nothing per clean
 * transaction.
 *
 * Streams keep their last STREAM_WINDOW bytes: a match or candidate that
 * starts in an earlier chunk is read back from there; one that starts even
 * earlier still counts (keywords, regexes) but its excerpt is cut, and a
 * detector candidate that long is rejected. */
#include "policy/inspect.h"

#include "common/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "policy/dlp.h"
#include "policy/ruleset_priv.h"

struct inspect_scratch {
	hs_scratch_t *hs;
};

static int scratch_fit(struct inspect_scratch *s, const struct ruleset *rs)
{
	for (unsigned i = 0; i < SCOPE_COUNT; i++)
		if (rs->db[i].db && hs_alloc_scratch(rs->db[i].db, &s->hs) != HS_SUCCESS)
			return -1;
	return 0;
}

struct inspect_scratch *inspect_scratch_new(const struct ruleset *rs)
{
	struct inspect_scratch *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (rs && scratch_fit(s, rs) != 0) {
		inspect_scratch_free(s);
		return NULL;
	}
	return s;
}

int inspect_scratch_update(struct inspect_scratch *s, const struct ruleset *rs)
{
	return rs ? scratch_fit(s, rs) : 0;
}

void inspect_scratch_free(struct inspect_scratch *s)
{
	if (!s)
		return;
	hs_free_scratch(s->hs);
	free(s);
}

void inspect_limits_default(struct inspect_limits *l)
{
	l->max_url_hosts = 32;
	l->max_distinct = 4096;
}

/* A matched rule's running result. */
struct rstate {
	uint32_t rule;
	uint32_t first_call;     /* scan call of the recorded first match */
	uint32_t last_ctx;       /* field/stream of last_to */
	uint32_t first_ctx;      /* field/stream of the first match */
	uint64_t first_from;     /* its start (SOM patterns) */
	bool have_first;
	uint64_t last_to;
	struct rule_hit hit;
	uint64_t *set;           /* distinct detector values, open addressing, 0 = empty */
	uint32_t set_n, set_cap;
};

struct stream_state {
	hs_stream_t *hs;
	bool open;               /* begun and not ended */
	uint32_t part;
	uint32_t ctx;            /* scan context id */
	uint64_t base;           /* bytes fed so far */
	uint8_t win[STREAM_WINDOW];
	size_t wlen;             /* the last wlen bytes before base */
};

struct inspection {
	const struct ruleset *rs;
	struct inspect_scratch *scr;
	enum rule_direction dir;
	struct inspect_limits lim;
	struct inspect_callbacks cb;
	void *cbctx;
	uint64_t seed;           /* keys the detector value sets' hashing */

	struct rstate *st;
	uint32_t nst, capst;
	uint32_t *map;           /* rule+1 -> state index, open addressing */
	uint32_t map_cap;

	struct stream_state streams[SCOPE_COUNT];
	uint32_t ctx_seq, call_seq;

	char **hosts;
	uint32_t nhosts;

	struct rule_hit *hits;
	struct inspect_stats stats;

	/* the scan in progress */
	enum rule_scope cur_scope;
	uint32_t cur_part;
	uint32_t cur_ctx;
	const char *cur_header;  /* lower case, SCOPE_HEADER */
	const uint8_t *cur_data;
	size_t cur_len;
	uint64_t cur_base;       /* stream offset of cur_data[0] */
	const struct stream_state *cur_stream;
};

struct inspection *inspection_new(const struct ruleset *rs, struct inspect_scratch *s,
				  enum rule_direction direction, const struct inspect_limits *lim,
				  const struct inspect_callbacks *cb, void *ctx)
{
	if (!rs || !s)
		return NULL;
	struct inspection *in = calloc(1, sizeof(*in));
	if (!in)
		return NULL;
	in->rs = rs;
	in->scr = s;
	in->dir = direction;
	if (lim)
		in->lim = *lim;
	else
		inspect_limits_default(&in->lim);
	if (cb)
		in->cb = *cb;
	in->cbctx = ctx;
	if (getrandom(&in->seed, sizeof(in->seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(in->seed))
		in->seed = (uint64_t)(uintptr_t)in * 0x9E3779B97F4A7C15ull;
	return in;
}

static bool rule_active(const struct inspection *in, const struct rule *r)
{
	return r->direction == RULE_DIR_ANY || r->direction == in->dir;
}

/* The map slot holding rule's state index + 1, or the empty slot where it
 * would go.  map_cap is a power of two kept above twice the states. */
static uint32_t *map_slot(uint32_t *map, uint32_t map_cap, const struct rstate *st, uint32_t rule)
{
	uint32_t m = map_cap - 1;
	for (uint32_t h = (rule * 2654435761u) & m;; h = (h + 1) & m)
		if (map[h] == 0 || st[map[h] - 1].rule == rule)
			return &map[h];
}

/* States exist only for rules that matched, so there are at most as many
 * as the ruleset has rules: the map needs no other cap. */
static struct rstate *state_get(struct inspection *in, uint32_t rule)
{
	uint32_t *slot = in->map_cap ? map_slot(in->map, in->map_cap, in->st, rule) : NULL;
	if (slot && *slot)
		return &in->st[*slot - 1];
	/* new state: grow the map at half load */
	if ((in->nst + 1) * 2 > in->map_cap) {
		uint32_t nc = in->map_cap ? in->map_cap * 2 : 64;
		uint32_t *nm = calloc(nc, sizeof(*nm));
		if (!nm)
			return NULL;
		for (uint32_t i = 0; i < in->nst; i++)
			*map_slot(nm, nc, in->st, in->st[i].rule) = i + 1;
		free(in->map);
		in->map = nm;
		in->map_cap = nc;
		slot = map_slot(nm, nc, in->st, rule);
	}
	if (in->nst == in->capst) {
		uint32_t nc = in->capst ? in->capst * 2 : 16;
		struct rstate *ns = realloc(in->st, nc * sizeof(*ns));
		if (!ns)
			return NULL;
		in->st = ns;
		in->capst = nc;
	}
	struct rstate *st = &in->st[in->nst];
	memset(st, 0, sizeof(*st));
	st->rule = rule;
	st->last_ctx = UINT32_MAX;
	st->hit.rule = &in->rs->rules[rule];
	*slot = ++in->nst;
	return st;
}

/* Bytes [from, to) of the current field or stream into out (cap bytes, the
 * tail is kept when longer).  Returns the length, or -1 when from is no
 * longer available. */
static long get_bytes(const struct inspection *in, uint64_t from, uint64_t to, uint8_t *out,
		      size_t cap)
{
	if (to < from)
		return -1;
	if (to - from > cap)
		from = to - cap;
	uint64_t end = in->cur_base + in->cur_len;
	if (to > end)
		return -1;
	size_t wlen = in->cur_stream ? in->cur_stream->wlen : 0;
	if (from + wlen < in->cur_base)
		return -1;
	/* the part before cur_base from the window, the rest from the chunk */
	size_t o = 0;
	if (from < in->cur_base) {
		uint64_t upto = to < in->cur_base ? to : in->cur_base;
		o = (size_t)(upto - from);
		memcpy(out, in->cur_stream->win + wlen - (size_t)(in->cur_base - from), o);
		from = upto;
	}
	if (to > from) /* cur_data is NULL when a stream closes */
		memcpy(out + o, in->cur_data + (from - in->cur_base), (size_t)(to - from));
	return (long)(o + (size_t)(to - from));
}

/* Printable UTF-8: leading continuation bytes dropped, a sequence cut at the
 * end dropped, invalid bytes and controls replaced by '?', whitespace by ' '. */
static void sanitize(const uint8_t *s, size_t n, char *out, size_t cap)
{
	size_t i = 0, o = 0;
	while (i < n && (s[i] & 0xC0) == 0x80)
		i++;
	while (i < n && o + 1 < cap) {
		uint8_t c = s[i];
		if (c < 0x80) {
			out[o++] = c == '\t' || c == '\r' || c == '\n' ? ' '
				 : (c < 0x20 || c == 0x7f)            ? '?'
								      : (char)c;
			i++;
			continue;
		}
		bool cut;
		size_t k = utf8_seq_len(s + i, n - i, &cut);
		if (cut) /* a sequence cut at the end of the slice */
			break;
		if (!k || (c == 0xC2 && s[i + 1] < 0xA0)) { /* invalid, or a C1 control */
			out[o++] = '?';
			i++;
			continue;
		}
		if (o + k >= cap)
			break;
		memcpy(out + o, s + i, k);
		o += k;
		i += k;
	}
	out[o] = '\0';
}

static void record_first(struct inspection *in, struct rstate *st, uint64_t to,
			 const char *excerpt_masked, uint64_t from, bool have_from)
{
	if (st->have_first && !(st->first_call == in->call_seq && to < st->hit.offset))
		return;
	st->have_first = true;
	st->first_call = in->call_seq;
	st->first_ctx = in->cur_ctx;
	st->first_from = from;
	st->hit.scope = in->cur_scope;
	st->hit.part = in->cur_part;
	st->hit.offset = to;
	if (excerpt_masked) {
		snprintf(st->hit.excerpt, sizeof(st->hit.excerpt), "%s", excerpt_masked);
		return;
	}
	uint8_t buf[INSPECT_EXCERPT_MAX - 1];
	uint64_t start = have_from ? from : (to > sizeof(buf) ? to - sizeof(buf) : 0);
	long n = -1;
	/* a start that left the window: show what is left of the match */
	while (n < 0 && start <= to) {
		n = get_bytes(in, start, to, buf, sizeof(buf));
		if (n < 0) {
			uint64_t avail = in->cur_base -
					 (in->cur_stream ? in->cur_stream->wlen : 0);
			if (avail <= start)
				break;
			start = avail;
		}
	}
	if (n < 0)
		n = 0;
	sanitize(buf, (size_t)n, st->hit.excerpt, sizeof(st->hit.excerpt));
}

static void count_add(struct rstate *st)
{
	if (st->hit.count < UINT32_MAX)
		st->hit.count++;
}

static void on_pattern(struct inspection *in, const struct pat *p, uint64_t from, uint64_t to)
{
	const struct rule *r = &in->rs->rules[p->rule];
	if (!rule_active(in, r))
		return;
	if (in->cur_scope == SCOPE_HEADER &&
	    (!in->cur_header || strcmp(in->cur_header, r->header_name) != 0))
		return;
	uint64_t start = p->som ? from : (to >= p->len ? to - p->len : 0);
	bool have_start = true;
	if (start > to) { /* HS_OFFSET_PAST_HORIZON: started over 64 KiB back */
		start = to;
		have_start = false;
	}
	struct rstate *st = state_get(in, p->rule);
	if (!st) {
		in->stats.matches_lost++;
		return;
	}
	if (st->last_ctx == in->cur_ctx && start < st->last_to) {
		/* overlaps the previous counted match; a longer match from the
		 * same start as the first one extends its excerpt (falcon-1 ->
		 * falcon-123) */
		if (p->som && st->first_ctx == in->cur_ctx && st->first_from == start &&
		    to > st->hit.offset && st->last_to == st->hit.offset) {
			st->have_first = false;
			record_first(in, st, to, NULL, start, true);
			st->last_to = to;
		}
		return;
	}
	st->last_ctx = in->cur_ctx;
	st->last_to = to;
	count_add(st);
	record_first(in, st, to, NULL, start, have_start);
}

/* The slot of a distinct-value set holding key, or the empty slot where it
 * would go (set_cap is a power of two kept above twice the values). */
static uint64_t *set_slot(uint64_t *set, uint32_t set_cap, uint64_t key)
{
	uint32_t m = set_cap - 1;
	for (uint32_t h = (uint32_t)(key ^ (key >> 32)) * 2654435761u & m;; h = (h + 1) & m)
		if (set[h] == 0 || set[h] == key)
			return &set[h];
}

static bool set_insert(struct inspection *in, struct rstate *st, uint64_t key)
{
	key |= key == 0;
	uint64_t *slot = st->set_cap ? set_slot(st->set, st->set_cap, key) : NULL;
	if (slot && *slot)
		return false;
	if (st->set_n >= in->lim.max_distinct) {
		in->stats.distinct_dropped++;
		return true; /* unknown: counted as new */
	}
	if ((st->set_n + 1) * 2 > st->set_cap) {
		uint32_t nc = st->set_cap ? st->set_cap * 2 : 16;
		uint64_t *ns = calloc(nc, sizeof(*ns));
		if (!ns) {
			in->stats.distinct_dropped++;
			return true;
		}
		for (uint32_t i = 0; i < st->set_cap; i++)
			if (st->set[i])
				*set_slot(ns, nc, st->set[i]) = st->set[i];
		free(st->set);
		st->set = ns;
		st->set_cap = nc;
		slot = set_slot(ns, nc, key);
	}
	*slot = key;
	st->set_n++;
	return true;
}

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Up to cap bytes ending at to; *at_start: they begin at offset 0 of the
 * field or stream (nothing earlier exists). */
static long get_tail(const struct inspection *in, uint64_t to, uint8_t *buf, size_t cap,
		     bool *at_start)
{
	uint64_t avail = in->cur_base - (in->cur_stream ? in->cur_stream->wlen : 0);
	uint64_t from = to > cap ? to - cap : 0;
	if (from < avail)
		from = avail;
	*at_start = from == 0;
	return get_bytes(in, from, to, buf, cap);
}

static bool local_char(uint8_t c)
{
	return is_alpha(c) || is_digit(c) || (c && strchr("._%+-", c));
}

static void on_detector(struct inspection *in, const struct pat *p, uint64_t from, uint64_t to)
{
	const struct scope_db *d = &in->rs->db[in->cur_scope];
	bool any = false;
	for (uint32_t i = 0; i < d->det_nrules[p->det] && !any; i++)
		any = rule_active(in, &in->rs->rules[d->det_rules[p->det][i]]);
	if (!any)
		return;
	uint8_t buf[STREAM_WINDOW];
	long n;
	size_t a = 0, b;
	if (p->det == DLP_EMAIL) {
		/* no SOM: from the framed end, walk back over the domain to '@'
		 * and over the local part to its start */
		bool at_start;
		n = get_tail(in, to, buf, sizeof(buf), &at_start);
		b = n > 0 ? (size_t)n : 0;
		while (b > 0 && !is_alpha(buf[b - 1]))
			b--;
		size_t j = b;
		while (j > 0 && (is_alpha(buf[j - 1]) || is_digit(buf[j - 1]) || buf[j - 1] == '.' ||
				 buf[j - 1] == '-'))
			j--;
		if (j == 0 || buf[j - 1] != '@') {
			n = -1;
		} else {
			a = j - 1;
			while (a > 0 && local_char(buf[a - 1]))
				a--;
			if (a == 0 && !at_start)
				n = -1; /* the local part may begin before the window */
		}
	} else {
		n = to - from <= sizeof(buf) ? get_bytes(in, from, to, buf, sizeof(buf)) : -1;
		b = n > 0 ? (size_t)n : 0;
		if (b && !is_digit(buf[0]))
			a++;
		while (b > a && !is_digit(buf[b - 1]))
			b--;
	}
	if (n < 0) {
		in->stats.candidates_rejected++;
		return;
	}
	const char *c = (const char *)buf + a;
	size_t cl = b - a;
	char val[256];
	char masked[INSPECT_EXCERPT_MAX];
	uint64_t key = 0;
	size_t vl = 0;
	bool ok = false;
	switch (p->det) {
	case DLP_KR_RRN:
		ok = dlp_kr_rrn_valid(c, cl, val);
		vl = 13;
		break;
	case DLP_CARD:
		ok = dlp_card_valid(c, cl, val);
		vl = ok ? strlen(val) : 0;
		break;
	case DLP_EMAIL:
		ok = dlp_email_valid(c, cl, val, sizeof(val));
		vl = ok ? strlen(val) : 0;
		break;
	default:
		break;
	}
	if (!ok) {
		in->stats.candidates_rejected++;
		return;
	}
	if (p->det == DLP_EMAIL) {
		key = 1469598103934665603ull ^ in->seed;
		for (size_t i = 0; i < vl; i++) {
			key ^= (uint8_t)val[i];
			key *= 1099511628211ull;
			key ^= key >> 29;
		}
	} else {
		for (size_t i = 0; i < vl; i++) /* at most 19 digits: exact in 64 bits */
			key = key * 10 + (uint64_t)(val[i] - '0');
		/* a seeded bijection (murmur3's finaliser), so the sender cannot
		 * pick numbers that all land in one run of the value set */
		key ^= in->seed;
		key ^= key >> 33;
		key *= 0xff51afd7ed558ccdull;
		key ^= key >> 33;
		key *= 0xc4ceb9fe1a85ec53ull;
		key ^= key >> 33;
	}
	dlp_mask(val, vl, masked, sizeof(masked));
	for (uint32_t i = 0; i < d->det_nrules[p->det]; i++) {
		uint32_t ri = d->det_rules[p->det][i];
		if (!rule_active(in, &in->rs->rules[ri]))
			continue;
		struct rstate *st = state_get(in, ri);
		if (!st) {
			in->stats.matches_lost++;
			continue;
		}
		if (!set_insert(in, st, key))
			continue;
		count_add(st);
		/* offset: end of the value itself, not of its frame */
		record_first(in, st, to - ((size_t)n - b), masked, 0, false);
	}
}

static bool host_char(uint8_t c)
{
	return is_alpha(c) || is_digit(c) || c == '.' || c == '-';
}

static void on_url(struct inspection *in, uint64_t from, uint64_t to)
{
	if (!in->cb.url_host)
		return;
	(void)from;
	uint8_t buf[STREAM_WINDOW];
	bool at_start;
	long n = get_tail(in, to, buf, sizeof(buf), &at_start);
	if (n <= 0)
		return;
	/* no SOM: walk back from the framed end over the authority to "://" */
	static const char auth[] = "._~%!$&'()*+,;=:@-";
	size_t b = (size_t)n, j;
	if (!(is_alpha(buf[b - 1]) || is_digit(buf[b - 1]) || (buf[b - 1] && strchr(auth, buf[b - 1]))))
		b--;
	j = b;
	while (j > 0 && (is_alpha(buf[j - 1]) || is_digit(buf[j - 1]) ||
			 (buf[j - 1] && strchr(auth, buf[j - 1]))))
		j--;
	if (j < 3 || memcmp(buf + j - 3, "://", 3) != 0)
		return; /* authority longer than the window */
	const uint8_t *p = buf + b, *host = buf + j;
	for (const uint8_t *q = host; q < p; q++)
		if (*q == '@')
			host = q + 1;
	size_t hl = 0;
	char h[256];
	while (host + hl < p && host_char(host[hl]) && hl < sizeof(h) - 1) {
		uint8_t c = host[hl];
		h[hl++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	while (hl && (h[hl - 1] == '.' || h[hl - 1] == '-'))
		hl--;
	while (hl && h[0] == '.')
		memmove(h, h + 1, --hl);
	h[hl] = '\0';
	if (hl == 0 || hl > 253)
		return;
	for (uint32_t i = 0; i < in->nhosts; i++)
		if (strcmp(in->hosts[i], h) == 0)
			return;
	if (in->nhosts >= in->lim.max_url_hosts) {
		in->stats.url_hosts_dropped++;
		return;
	}
	if (!in->hosts) {
		in->hosts = calloc(in->lim.max_url_hosts, sizeof(*in->hosts));
		if (!in->hosts) {
			in->stats.url_hosts_dropped++;
			return;
		}
	}
	char *copy = strdup(h);
	if (!copy) {
		in->stats.url_hosts_dropped++;
		return;
	}
	in->hosts[in->nhosts++] = copy;
	in->cb.url_host(in->cbctx, copy);
}

static int on_match(unsigned id, unsigned long long from, unsigned long long to,
		    unsigned flags, void *ctx)
{
	(void)flags;
	struct inspection *in = ctx;
	const struct scope_db *d = &in->rs->db[in->cur_scope];
	in->stats.matches++;
	if (id >= d->npats)
		return 0;
	const struct pat *p = &d->pats[id];
	switch (p->kind) {
	case PAT_KEYWORD:
	case PAT_REGEX:
		on_pattern(in, p, from, to);
		break;
	case PAT_DETECTOR:
		on_detector(in, p, from, to);
		break;
	case PAT_URL:
		on_url(in, from, to);
		break;
	default:
		break;
	}
	return 0;
}

void inspection_stream_end(struct inspection *in, enum rule_scope scope);

void inspection_field(struct inspection *in, enum rule_scope scope, const char *header_name,
		      const uint8_t *data, size_t len)
{
	if (!in || (unsigned)scope >= SCOPE_COUNT)
		return;
	if (rule_scope_is_stream(scope)) {
		/* a whole value in a stream scope: a stream of one chunk */
		inspection_stream_begin(in, scope, 0);
		inspection_stream_data(in, scope, data, len);
		inspection_stream_end(in, scope);
		return;
	}
	const struct scope_db *d = &in->rs->db[scope];
	if (!d->db)
		return;
	char hname[129];
	if (scope == SCOPE_HEADER) {
		size_t n = header_name ? strlen(header_name) : 0;
		if (n == 0 || n >= sizeof(hname))
			return; /* no rule can name it */
		for (size_t i = 0; i <= n; i++) {
			char c = header_name[i];
			hname[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
		}
	}
	if (len > UINT32_MAX)
		len = UINT32_MAX; /* Hyperscan block length is 32-bit */
	in->cur_scope = scope;
	in->cur_part = 0;
	in->cur_ctx = ++in->ctx_seq;
	in->call_seq++;
	in->cur_header = scope == SCOPE_HEADER ? hname : NULL;
	in->cur_data = data;
	in->cur_len = len;
	in->cur_base = 0;
	in->cur_stream = NULL;
	in->stats.bytes_scanned += len;
	if (hs_scan(d->db, (const char *)data, (unsigned)len, 0, in->scr->hs, on_match, in) !=
	    HS_SUCCESS)
		in->stats.scan_errors++;
	in->cur_header = NULL;
}

void inspection_stream_begin(struct inspection *in, enum rule_scope scope, uint32_t part)
{
	if (!in || !rule_scope_is_stream(scope))
		return;
	struct stream_state *ss = &in->streams[scope];
	if (ss->open)
		inspection_stream_end(in, scope);
	memset(ss, 0, sizeof(*ss));
	ss->part = part;
	ss->ctx = ++in->ctx_seq;
	ss->open = true;
	const struct scope_db *d = &in->rs->db[scope];
	if (d->db && hs_open_stream(d->db, 0, &ss->hs) != HS_SUCCESS) {
		ss->hs = NULL;
		in->stats.scan_errors++;
	}
}

static void set_stream_ctx(struct inspection *in, enum rule_scope scope,
			   const struct stream_state *ss, const uint8_t *data, size_t len)
{
	in->cur_scope = scope;
	in->cur_part = ss->part;
	in->cur_ctx = ss->ctx;
	in->cur_header = NULL;
	in->cur_data = data;
	in->cur_len = len;
	in->cur_base = ss->base;
	in->cur_stream = ss;
	in->call_seq++;
}

static void window_push(struct stream_state *ss, const uint8_t *data, size_t len)
{
	if (len >= STREAM_WINDOW) {
		memcpy(ss->win, data + len - STREAM_WINDOW, STREAM_WINDOW);
		ss->wlen = STREAM_WINDOW;
		return;
	}
	size_t keep = ss->wlen + len > STREAM_WINDOW ? STREAM_WINDOW - len : ss->wlen;
	memmove(ss->win, ss->win + ss->wlen - keep, keep);
	memcpy(ss->win + keep, data, len);
	ss->wlen = keep + len;
}

void inspection_stream_data(struct inspection *in, enum rule_scope scope, const uint8_t *data,
			    size_t len)
{
	if (!in || !rule_scope_is_stream(scope))
		return;
	struct stream_state *ss = &in->streams[scope];
	if (!ss->open)
		inspection_stream_begin(in, scope, 0);
	while (len > 0) {
		size_t n = len > (1u << 30) ? (1u << 30) : len;
		in->stats.bytes_scanned += n;
		if (ss->hs) {
			set_stream_ctx(in, scope, ss, data, n);
			if (hs_scan_stream(ss->hs, (const char *)data, (unsigned)n, 0, in->scr->hs,
					   on_match, in) != HS_SUCCESS) {
				/* abandon: free the stream without reporting */
				in->stats.scan_errors++;
				hs_close_stream(ss->hs, NULL, NULL, NULL);
				ss->hs = NULL;
			}
			in->cur_stream = NULL;
		}
		if (ss->hs) /* the window is only read back during a scan */
			window_push(ss, data, n);
		ss->base += n;
		data += n;
		len -= n;
	}
}

void inspection_stream_end(struct inspection *in, enum rule_scope scope)
{
	if (!in || !rule_scope_is_stream(scope))
		return;
	struct stream_state *ss = &in->streams[scope];
	if (!ss->open)
		return;
	ss->open = false;
	if (!ss->hs)
		return;
	/* end-anchored candidates ("...digits$") are reported here */
	set_stream_ctx(in, scope, ss, NULL, 0);
	if (hs_close_stream(ss->hs, in->scr->hs, on_match, in) != HS_SUCCESS)
		in->stats.scan_errors++;
	ss->hs = NULL;
	in->cur_stream = NULL;
}

static int hit_cmp(const void *a, const void *b)
{
	const struct rule_hit *x = a, *y = b;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

size_t inspection_hits(struct inspection *in, const struct rule_hit **hits)
{
	*hits = NULL;
	if (!in)
		return 0;
	for (unsigned s = 0; s < SCOPE_COUNT; s++)
		if (in->streams[s].open)
			inspection_stream_end(in, (enum rule_scope)s);
	free(in->hits);
	in->hits = calloc(in->nst ? in->nst : 1, sizeof(*in->hits));
	if (!in->hits)
		return 0;
	size_t n = 0;
	for (uint32_t i = 0; i < in->nst; i++)
		if (in->st[i].hit.count >= in->st[i].hit.rule->threshold)
			in->hits[n++] = in->st[i].hit;
	/* rules are one array in file order: pointer order is file order */
	qsort(in->hits, n, sizeof(*in->hits), hit_cmp);
	*hits = in->hits;
	return n;
}

const struct inspect_stats *inspection_stats(const struct inspection *in)
{
	return &in->stats;
}

void inspection_free(struct inspection *in)
{
	if (!in)
		return;
	for (unsigned s = 0; s < SCOPE_COUNT; s++)
		if (in->streams[s].hs)
			hs_close_stream(in->streams[s].hs, NULL, NULL, NULL);
	for (uint32_t i = 0; i < in->nst; i++)
		free(in->st[i].set);
	for (uint32_t i = 0; i < in->nhosts; i++)
		free(in->hosts[i]);
	free(in->hosts);
	free(in->st);
	free(in->map);
	free(in->hits);
	free(in);
}
