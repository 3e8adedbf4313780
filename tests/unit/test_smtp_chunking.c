/* Chunking property test: the record of every callback (per transaction,
 * message bytes included, plus the session summary) must not depend on how
 * the two streams are cut or interleaved.
 *
 * Reference: each dialog item fed whole, in script order.  Variants: byte by
 * byte; random chunk sizes; random interleavings of the two directions.  An
 * interleaving keeps each direction's order and the causality a capture
 * shows: a server item comes after every client item before it (replies
 * after their commands); a client item waits for the server items before it
 * that a real client waits for (any reply but a plain 250: greeting, 354,
 * 334, 235, 220, errors).  Plain 250s may lag behind: that is pipelining.
 * Transactions are compared each on its own, because with a lagging server
 * the next tx_begin may legitimately come before the previous tx_end. */
#define SMTP_TEST_NO_MAIN
#include "tests/unit/test_smtp.c"

#define MAX_ITEMS 512
#define SUMMARY_MAX (REC_MAX_TX * 4096 + 1024)

static uint64_t rng_state;

static uint64_t rng(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static unsigned rnd(unsigned n)
{
	return (unsigned)(rng() % n);
}

static void summary(const struct rec *rc, const struct smtp_session_info *in, char *out, size_t cap)
{
	size_t n = 0;
	n += (size_t)snprintf(out + n, cap - n,
			      "begins=%u ends=%u tls=%u order=%u leaks=%u\n"
			      "banner=%s helo=%s caps=%s auth=%s/%s tls=%d tx=%u cmd=%u rep=%u anom=%#x "
			      "trunc=%u pdrop=%u txdrop=%u authl=%u gap=%llu ign=%llu\n",
			      rc->begins, rc->ends, rc->starttls, rc->order_errors, rc->leaks, in->banner,
			      in->helo, in->capabilities, in->auth_mechanism ? in->auth_mechanism : "-",
			      smtp_auth_outcome_name(in->auth_outcome), in->starttls, in->transactions,
			      in->commands, in->replies, in->anomalies, in->lines_truncated,
			      in->pending_dropped, in->tx_dropped, in->auth_lines,
			      (unsigned long long)in->gap_bytes, (unsigned long long)in->ignored_bytes);
	for (int i = 0; i < REC_MAX_TX && n < cap; i++)
		if (rc->tx[i].begun)
			n += (size_t)snprintf(out + n, cap - n, "[%d] ends=%u\n%s", i, rc->tx[i].ends,
					      rc->tx[i].log);
}

struct plan {
	struct seg seg[MAX_ITEMS];
	bool gating[MAX_ITEMS];
	size_t n;
};

static void plan_make(struct plan *p, const char *const *d)
{
	p->n = 0;
	for (; *d && p->n < MAX_ITEMS; d++) {
		struct seg *g = &p->seg[p->n];
		seg_make(g, *d);
		bool gate = false;
		if (!g->gap && g->dir == SMTP_FROM_SERVER) {
			/* any line of this item that is not "250" */
			const char *t = (const char *)g->data;
			size_t l = g->len;
			for (size_t i = 0; i < l; i++)
				if ((i == 0 || t[i - 1] == '\n') && (l - i < 3 || memcmp(t + i, "250", 3) != 0))
					gate = true;
		}
		p->gating[p->n] = gate;
		p->n++;
	}
}

enum feed_mode { FEED_WHOLE, FEED_BYTES, FEED_RANDOM, FEED_INTERLEAVE };

static void run_plan(const struct plan *p, enum feed_mode mode, const struct smtp_limits *lim,
		     char *out, size_t cap)
{
	struct rec *rc = rec_new();
	struct smtp_session *s = smtp_session_new(lim, &rec_cb, rc);
	if (mode != FEED_INTERLEAVE) {
		for (size_t i = 0; i < p->n; i++) {
			const struct seg *g = &p->seg[i];
			if (g->gap || mode == FEED_WHOLE) {
				seg_feed(s, g);
				continue;
			}
			for (size_t off = 0; off < g->len;) {
				size_t k = mode == FEED_BYTES ? 1 : 1 + rnd(rnd(4) == 0 ? 300 : 9);
				if (k > g->len - off)
					k = g->len - off;
				smtp_session_feed(s, g->dir, g->data + off, k);
				off += k;
			}
		}
	} else {
		size_t cur[2] = { 0, 0 }, off[2] = { 0, 0 };
		for (;;) {
			/* next unfinished item of each direction */
			for (int d = 0; d < 2; d++)
				while (cur[d] < p->n && p->seg[cur[d]].dir != (enum smtp_dir)d)
					cur[d]++;
			size_t ic = cur[SMTP_FROM_CLIENT], is = cur[SMTP_FROM_SERVER];
			if (ic >= p->n && is >= p->n)
				break;
			bool ok_c = ic < p->n, ok_s = is < p->n && ic > is;
			for (size_t j = is; ok_c && j < ic; j++)
				if (p->seg[j].dir == SMTP_FROM_SERVER && p->gating[j])
					ok_c = false;
			int d = ok_c && ok_s ? (int)rnd(2) : ok_c ? SMTP_FROM_CLIENT : SMTP_FROM_SERVER;
			const struct seg *g = &p->seg[cur[d]];
			if (g->gap) {
				seg_feed(s, g);
				cur[d]++;
				continue;
			}
			size_t k = 1 + rnd(rnd(3) == 0 ? 200 : 7);
			if (k > g->len - off[d])
				k = g->len - off[d];
			smtp_session_feed(s, g->dir, g->data + off[d], k);
			off[d] += k;
			if (off[d] >= g->len) {
				off[d] = 0;
				cur[d]++;
			}
		}
	}
	smtp_session_close(s);
	summary(rc, smtp_session_info(s), out, cap);
	smtp_session_free(s);
	free(rc);
}

static unsigned failures_shown;

static void check_plan(const struct plan *p, const struct smtp_limits *lim, const char *name)
{
	static char ref[SUMMARY_MAX], got[SUMMARY_MAX];
	run_plan(p, FEED_WHOLE, lim, ref, sizeof(ref));
	CHECK(strstr(ref, "order=0 leaks=0") != NULL);
	for (int v = 0; v < 1 + 40 + 40; v++) {
		enum feed_mode m = v == 0 ? FEED_BYTES : v <= 40 ? FEED_RANDOM : FEED_INTERLEAVE;
		rng_state = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)v * 7919 + 1);
		run_plan(p, m, lim, got, sizeof(got));
		bool same = strcmp(ref, got) == 0;
		CHECK(same);
		if (!same && failures_shown++ < 2)
			fprintf(stderr, "%s variant %d differs\n--- whole:\n%s--- variant:\n%s", name, v,
				ref, got);
	}
}

/* ---- generated dialogs ------------------------------------------------ */

static char gen_pool[1 << 20];
static size_t gen_used;
static const char *gen_items[MAX_ITEMS + 1];
static size_t gen_n;

static void gen_add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void gen_add(const char *fmt, ...)
{
	if (gen_n >= MAX_ITEMS - 1 || gen_used > sizeof(gen_pool) - 4096)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(gen_pool + gen_used, sizeof(gen_pool) - gen_used, fmt, ap);
	va_end(ap);
	gen_items[gen_n++] = gen_pool + gen_used;
	gen_items[gen_n] = NULL;
	gen_used += (size_t)n + 1;
}

/* A random message body, CRLF lines, with dot lines, stuffing and the odd
 * bare LF; stuffed == true: ready for DATA (dots doubled, ".\r\n" end). */
static void gen_body(char *out, size_t cap, bool stuffed)
{
	static const char alpha[] = "abc .xyz:Q=\t-";
	size_t n = 0;
	unsigned lines = 1 + rnd(12);
	if (rnd(2))
		n += (size_t)snprintf(out + n, cap - n, "Subject: gen %u\r\n\r\n", rnd(1000));
	for (unsigned l = 0; l < lines && n < cap - 200; l++) {
		unsigned len = rnd(4) == 0 ? 0 : rnd(70);
		if (rnd(5) == 0) {
			out[n++] = '.';
			if (stuffed)
				out[n++] = '.';
		}
		for (unsigned i = 0; i < len; i++)
			out[n++] = alpha[rnd(sizeof(alpha) - 1)];
		if (rnd(15) == 0)
			out[n++] = '\n'; /* bare LF inside a line */
		out[n++] = '\r';
		out[n++] = '\n';
	}
	if (stuffed) {
		out[n++] = '.';
		out[n++] = '\r';
		out[n++] = '\n';
	}
	out[n] = '\0';
}

static void gen_dialog(void)
{
	static char body[4096];
	gen_used = 0;
	gen_n = 0;
	gen_add("S: 220 gen.example ESMTP");
	gen_add("C: EHLO client%u", rnd(100));
	gen_add("s: 250-gen\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 CHUNKING\r\n");
	unsigned ntx = 1 + rnd(5);
	for (unsigned t = 0; t < ntx; t++) {
		switch (rnd(8)) {
		case 0:
			gen_add("C: NOOP");
			gen_add("S: 250 ok");
			break;
		case 1:
			gen_add("C: RSET");
			gen_add("S: 250 ok");
			break;
		case 2:
			gen_add("C: EHLO again%u", t);
			gen_add("S: 250 gen");
			break;
		}
		gen_add("C: MAIL FROM:<s%u@x> SIZE=%u", t, rnd(5000));
		if (rnd(10) == 0) {
			gen_add("S: 550 no");
			continue;
		}
		gen_add("S: 250 ok");
		unsigned nr = 1 + rnd(3);
		for (unsigned r = 0; r < nr; r++) {
			gen_add("C: RCPT TO:<r%u@y>", r);
			gen_add(rnd(6) ? "S: 250 ok" : "S: 550 unknown");
		}
		if (rnd(8) == 0) {
			gen_add("C: RSET");
			gen_add("S: 250 ok");
			continue;
		}
		if (rnd(5) < 3) {
			gen_add("C: DATA");
			if (rnd(10) == 0) {
				gen_add("S: 554 no");
				continue;
			}
			gen_add("S: 354 go");
			gen_body(body, sizeof(body), true);
			gen_add("c: %s", body);
			gen_add(rnd(5) ? "S: 250 queued" : "S: 552 too big");
		} else {
			unsigned chunks = 1 + rnd(3);
			for (unsigned c = 0; c < chunks; c++) {
				bool last = c + 1 == chunks;
				gen_body(body, sizeof(body), false);
				size_t bl = strlen(body);
				gen_add("c: BDAT %zu%s\r\n%s", bl, last ? " LAST" : "", body);
				gen_add(last && rnd(5) == 0 ? "S: 554 rejected" : "S: 250 ok");
			}
		}
	}
	if (rnd(3))
		gen_add("C: QUIT");
	if (rnd(2))
		gen_add("S: 221 bye");
}

static void test_corpus(void)
{
	static struct plan p;
	char name[32];
	for (int i = 0; corpus[i]; i++) {
		plan_make(&p, corpus[i]);
		snprintf(name, sizeof(name), "corpus[%d]", i);
		check_plan(&p, NULL, name);
	}
}

static void test_corpus_small_limits(void)
{
	static struct plan p;
	struct smtp_limits lim;
	smtp_limits_default(&lim);
	lim.max_line = 20;
	/* max_pending stays: how full the queue gets depends on how far the
	 * server lags, which interleaving changes on purpose */
	lim.max_rcpt = 1;
	lim.max_field = 6;
	lim.max_header_scan = 12;
	lim.max_message = 5;
	for (int i = 0; corpus[i]; i++) {
		plan_make(&p, corpus[i]);
		check_plan(&p, &lim, "small limits");
	}
}

static void test_generated(void)
{
	static struct plan p;
	char name[32];
	for (unsigned seed = 1; seed <= 60; seed++) {
		rng_state = seed * 0x2545f4914f6cdd1dULL;
		gen_dialog();
		plan_make(&p, gen_items);
		snprintf(name, sizeof(name), "generated %u", seed);
		check_plan(&p, NULL, name);
	}
}

int main(void)
{
	RUN(test_corpus);
	RUN(test_corpus_small_limits);
	RUN(test_generated);
	return tl_finish();
}
