/* SMTP session parser: scripted dialogs.
 *
 * A dialog is an array of strings: "C: text" / "S: text" is a client / server
 * line (CRLF appended), "c: raw" / "s: raw" raw bytes, "g: C 10" / "g: S 4" a
 * gap.  The recorder copies what every callback exposes.  test_smtp_chunking.c
 * includes this file (SMTP_TEST_NO_MAIN) to replay the same dialogs. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "smtp_parser/smtp.h"
#include "tests/unit/testlib.h"

#define REC_MAX_TX 16
#define REC_LOG 65536

struct rec_tx {
	bool begun, ended, msg_end;
	unsigned ends;
	char msg[8192];
	size_t msg_len;        /* bytes received through msg_data (kept up to sizeof msg) */
	uint64_t msg_total;
	char log[4096];        /* serialised events of this transaction */
	size_t log_len;
	/* copy of the tx at tx_end */
	enum smtp_outcome outcome;
	int reply_code;
	char reply_text[128], mail_from[128], mail_params[128], helo[64], body[32], method[8];
	char subject[128], from[128], to[128], msgid[128];
	bool has_subject, has_body, smtputf8, has_size;
	uint64_t size_param, message_bytes;
	uint32_t rcpt_count, rcpt_dropped, bdat_chunks, anomalies;
	char rcpt[4][64];
	int rcpt_code[4];
	enum smtp_auth_outcome auth;
	char auth_mech[16];
};

struct rec {
	struct rec_tx tx[REC_MAX_TX];
	unsigned begins, ends, starttls, order_errors, leaks;
	const char *secret[4];  /* strings that must never be exposed */
};

static void rec_log(struct rec_tx *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#include <stdarg.h>
static void rec_log(struct rec_tx *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(r->log + r->log_len, sizeof(r->log) - r->log_len, fmt, ap);
	va_end(ap);
	if (n > 0)
		r->log_len += (size_t)n;
	if (r->log_len >= sizeof(r->log))
		r->log_len = sizeof(r->log) - 1;
}

static void rec_leak(struct rec *rc, const char *str)
{
	if (!str)
		return;
	for (int i = 0; i < 4; i++)
		if (rc->secret[i] && strstr(str, rc->secret[i]))
			rc->leaks++;
}

static void rec_check_tx(struct rec *rc, const struct smtp_transaction *tx)
{
	rec_leak(rc, tx->helo);
	rec_leak(rc, tx->mail_from);
	rec_leak(rc, tx->mail_params);
	rec_leak(rc, tx->body_param);
	rec_leak(rc, tx->reply_text);
	rec_leak(rc, tx->auth_mechanism);
	rec_leak(rc, tx->subject);
	for (uint32_t i = 0; i < tx->rcpt_count; i++) {
		rec_leak(rc, tx->rcpt[i].address);
		rec_leak(rc, tx->rcpt[i].params);
	}
}

static void cpy(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

static struct rec_tx *rec_get(struct rec *rc, const struct smtp_transaction *tx)
{
	if (tx->index >= REC_MAX_TX) {
		rc->order_errors++;
		return &rc->tx[REC_MAX_TX - 1];
	}
	return &rc->tx[tx->index];
}

static void cb_begin(void *ctx, const struct smtp_transaction *tx)
{
	struct rec *rc = ctx;
	struct rec_tx *r = rec_get(rc, tx);
	if (r->begun)
		rc->order_errors++;
	r->begun = true;
	rc->begins++;
	rec_check_tx(rc, tx);
	/* only what the client side decides: the server may lag behind */
	rec_log(r, "B %u helo=%s from=%s params=%s size=%d:%llu body=%s utf8=%d\n", tx->index,
		tx->helo, tx->mail_from, tx->mail_params, tx->has_size_param,
		(unsigned long long)tx->size_param, tx->body_param ? tx->body_param : "-",
		tx->smtputf8);
}

static void cb_data(void *ctx, const struct smtp_transaction *tx, const uint8_t *d, size_t n)
{
	struct rec *rc = ctx;
	struct rec_tx *r = rec_get(rc, tx);
	if (!r->begun || r->ended || r->msg_end || n == 0)
		rc->order_errors++;
	for (size_t i = 0; i < n; i++)
		if (r->msg_len < sizeof(r->msg))
			r->msg[r->msg_len++] = (char)d[i];
	r->msg_total += n;
}

static void log_msg(struct rec_tx *r)
{
	rec_log(r, "msg[%llu]=", (unsigned long long)r->msg_total);
	for (size_t i = 0; i < r->msg_len && r->log_len < sizeof(r->log) - 8; i++) {
		unsigned char c = (unsigned char)r->msg[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			rec_log(r, "%c", c);
		else
			rec_log(r, "\\x%02x", c);
	}
	rec_log(r, "\n");
}

static void cb_msg_end(void *ctx, const struct smtp_transaction *tx)
{
	struct rec *rc = ctx;
	struct rec_tx *r = rec_get(rc, tx);
	if (!r->begun || r->ended || r->msg_end)
		rc->order_errors++;
	r->msg_end = true;
	rec_check_tx(rc, tx);
	rec_log(r, "E method=%s chunks=%u bytes=%llu subj=%s\n", tx->method ? tx->method : "-",
		tx->bdat_chunks, (unsigned long long)tx->message_bytes,
		tx->subject ? tx->subject : "(none)");
	log_msg(r);
}

static void cb_end(void *ctx, const struct smtp_transaction *tx)
{
	struct rec *rc = ctx;
	struct rec_tx *r = rec_get(rc, tx);
	if (!r->begun || r->ended)
		rc->order_errors++;
	r->ended = true;
	r->ends++;
	rc->ends++;
	rec_check_tx(rc, tx);
	r->outcome = tx->outcome;
	r->reply_code = tx->reply_code;
	cpy(r->reply_text, sizeof(r->reply_text), tx->reply_text);
	cpy(r->mail_from, sizeof(r->mail_from), tx->mail_from);
	cpy(r->mail_params, sizeof(r->mail_params), tx->mail_params);
	cpy(r->helo, sizeof(r->helo), tx->helo);
	cpy(r->method, sizeof(r->method), tx->method);
	r->has_body = tx->body_param != NULL;
	cpy(r->body, sizeof(r->body), tx->body_param);
	r->has_subject = tx->subject != NULL;
	cpy(r->subject, sizeof(r->subject), tx->subject);
	cpy(r->from, sizeof(r->from), tx->from);
	cpy(r->to, sizeof(r->to), tx->to);
	cpy(r->msgid, sizeof(r->msgid), tx->message_id);
	r->smtputf8 = tx->smtputf8;
	r->has_size = tx->has_size_param;
	r->size_param = tx->size_param;
	r->message_bytes = tx->message_bytes;
	r->rcpt_count = tx->rcpt_count;
	r->rcpt_dropped = tx->rcpt_dropped;
	r->bdat_chunks = tx->bdat_chunks;
	r->anomalies = tx->anomalies;
	r->auth = tx->auth_outcome;
	cpy(r->auth_mech, sizeof(r->auth_mech), tx->auth_mechanism);
	for (uint32_t i = 0; i < tx->rcpt_count && i < 4; i++) {
		cpy(r->rcpt[i], sizeof(r->rcpt[i]), tx->rcpt[i].address);
		r->rcpt_code[i] = tx->rcpt[i].reply_code;
	}
	rec_log(r, "X %s code=%d text=%s method=%s chunks=%u bytes=%llu rcpt=%u/%u anom=%#x auth=%s/%s\n",
		smtp_outcome_name(tx->outcome), tx->reply_code, tx->reply_text,
		tx->method ? tx->method : "-", tx->bdat_chunks, (unsigned long long)tx->message_bytes,
		tx->rcpt_count, tx->rcpt_dropped, tx->anomalies,
		tx->auth_mechanism ? tx->auth_mechanism : "-", smtp_auth_outcome_name(tx->auth_outcome));
	for (uint32_t i = 0; i < tx->rcpt_count; i++)
		rec_log(r, " R %s [%s] %d\n", tx->rcpt[i].address, tx->rcpt[i].params,
			tx->rcpt[i].reply_code);
	rec_log(r, " H subj=%s from=%s to=%s cc=%s id=%s\n", tx->subject ? tx->subject : "-",
		tx->from ? tx->from : "-", tx->to ? tx->to : "-", tx->cc ? tx->cc : "-",
		tx->message_id ? tx->message_id : "-");
	log_msg(r);
}

static void cb_starttls(void *ctx)
{
	struct rec *rc = ctx;
	rc->starttls++;
}

static const struct smtp_callbacks rec_cb = {
	.tx_begin = cb_begin, .msg_data = cb_data, .msg_end = cb_msg_end, .tx_end = cb_end,
	.starttls = cb_starttls,
};

/* ---- dialogs ----------------------------------------------------------- */

struct seg {
	enum smtp_dir dir;
	bool gap;
	const uint8_t *data;
	size_t len;
	char buf[1100];
};

/* Turn one dialog item into bytes (or a gap). */
static void seg_make(struct seg *g, const char *item)
{
	char kind = item[0];
	const char *text = item + 3;
	g->gap = false;
	g->dir = (kind == 'C' || kind == 'c') ? SMTP_FROM_CLIENT : SMTP_FROM_SERVER;
	if (kind == 'g') {
		g->gap = true;
		g->dir = text[0] == 'C' ? SMTP_FROM_CLIENT : SMTP_FROM_SERVER;
		g->len = (size_t)strtoul(text + 2, NULL, 10);
		g->data = NULL;
		return;
	}
	size_t n = strlen(text);
	if (kind == 'c' || kind == 's') {
		/* raw bytes: used in place */
		g->data = (const uint8_t *)text;
		g->len = n;
		return;
	}
	if (n > sizeof(g->buf) - 2)
		n = sizeof(g->buf) - 2;
	memcpy(g->buf, text, n);
	g->buf[n++] = '\r';
	g->buf[n++] = '\n';
	g->data = (const uint8_t *)g->buf;
	g->len = n;
}

static void seg_feed(struct smtp_session *s, const struct seg *g)
{
	if (g->gap)
		smtp_session_gap(s, g->dir, g->len);
	else
		smtp_session_feed(s, g->dir, g->data, g->len);
}

/* Run a whole dialog, item by item, and close the session. */
static struct smtp_session *run_dialog_keep(const char *const *d, const struct smtp_limits *lim,
					    struct rec *rc)
{
	struct smtp_session *s = smtp_session_new(lim, &rec_cb, rc);
	if (!s)
		return NULL;
	for (; *d; d++) {
		struct seg g;
		seg_make(&g, *d);
		seg_feed(s, &g);
	}
	return s;
}

static __attribute__((unused)) void run_dialog(const char *const *d, const struct smtp_limits *lim,
					      struct rec *rc)
{
	struct smtp_session *s = run_dialog_keep(d, lim, rc);
	if (!s)
		return;
	smtp_session_close(s);
	smtp_session_free(s);
}

static struct rec *rec_new(void)
{
	return calloc(1, sizeof(struct rec));
}

/* ---- the corpus (shared with the chunking test) ---------------------- */

static const char *const d_plain[] = {
	"S: 220 mx.example.org ESMTP ready",
	"C: EHLO client.example.com",
	"S: 250-mx.example.org",
	"S: 250-PIPELINING",
	"S: 250-SIZE 10240000",
	"S: 250 CHUNKING",
	"C: MAIL FROM:<alice@example.com> SIZE=42 BODY=8BITMIME",
	"S: 250 2.1.0 Ok",
	"C: RCPT TO:<bob@example.org>",
	"S: 250 2.1.5 Ok",
	"C: DATA",
	"S: 354 End data with <CR><LF>.<CR><LF>",
	"C: Subject: hello",
	"C:  world",
	"C: From: Alice <alice@example.com>",
	"C: To: bob@example.org",
	"C: Message-ID: <1@x>",
	"C: ",
	"C: ..leading dot",
	"C: body",
	"C: .",
	"S: 250 2.0.0 Ok: queued as ABC",
	"C: QUIT",
	"S: 221 2.0.0 Bye",
	NULL,
};

static const char *const d_pipelined[] = {
	"S: 220 mx ESMTP",
	"C: EHLO c",
	"S: 250-mx",
	"S: 250 PIPELINING",
	"c: MAIL FROM: <a@b>\r\nRCPT TO:<c@d>\r\nRCPT TO:<e@f> NOTIFY=NEVER\r\nDATA\r\n",
	"s: 250 ok\r\n550 no such user\r\n250 ok\r\n354 go\r\n",
	"c: hi\r\n.\r\nQUIT\r\n",
	"s: 250 queued\r\n221 bye\r\n",
	NULL,
};

static const char *const d_bdat[] = {
	"S: 220 mx ESMTP",
	"C: EHLO c",
	"S: 250-mx",
	"S: 250 CHUNKING",
	"C: MAIL FROM:<a@b>",
	"S: 250 ok",
	"C: RCPT TO:<c@d>",
	"S: 250 ok",
	"c: BDAT 5\r\nSubjeBDAT 13\r\nct: x\r\n\r\nbodyBDAT 0 LAST\r\n",
	"S: 250 5 octets",
	"S: 250 12 octets",
	"S: 250 message ok",
	"c: MAIL FROM:<x@y>\r\nRCPT TO:<z@w>\r\nBDAT 3 LAST\r\n.\r\n",
	"s: 250 ok\r\n250 ok\r\n250 done\r\n",
	"c: MAIL FROM:<p@q>\r\nRCPT TO:<r@s>\r\nBDAT 1 LAST\r\nZMAIL FROM:<t@u>\r\n",
	"s: 250 ok\r\n250 ok\r\n250 done\r\n250 ok\r\n",
	"C: QUIT",
	"S: 221 bye",
	NULL,
};

static const char *const d_ehlo_mid[] = {
	"S: 220 mx ESMTP",
	"C: HELO c",
	"S: 250 mx",
	"C: MAIL FROM:<a@b>",
	"S: 250 ok",
	"C: RCPT TO:<c@d>",
	"S: 250 ok",
	"C: EHLO again",
	"S: 250 mx",
	"C: MAIL FROM:<e@f>",
	"S: 250 ok",
	"C: RSET",
	"S: 250 ok",
	"C: MAIL FROM:<g@h>",
	"S: 250 ok",
	"C: RCPT TO:<i@j>",
	"S: 250 ok",
	"C: DATA",
	"S: 354 go",
	"C: x",
	"C: .",
	"S: 250 ok",
	NULL,
};

static const char *const d_three[] = {
	"S: 220 mx ESMTP",
	"C: EHLO c",
	"S: 250 mx",
	"C: MAIL FROM:<>",
	"S: 250 ok",
	"C: RCPT TO:<a@b>",
	"S: 250 ok",
	"C: DATA",
	"S: 354 go",
	"C: one",
	"C: .",
	"S: 250 ok",
	"C: MAIL FROM:<b@c>",
	"S: 250 ok",
	"C: RCPT TO:<a@b>",
	"S: 250 ok",
	"C: DATA",
	"S: 354 go",
	"C: two",
	"C: .",
	"S: 554 5.7.1 spam",
	"C: MAIL FROM:<c@d>",
	"S: 250 ok",
	"C: RCPT TO:<a@b>",
	"S: 250 ok",
	"C: DATA",
	"S: 354 go",
	"C: three",
	"C: .",
	"S: 451 try later",
	"C: QUIT",
	"S: 221 bye",
	NULL,
};

static const char *const d_auth_plain[] = {
	"S: 220 mx ESMTP",
	"C: EHLO c",
	"S: 250-mx",
	"S: 250 AUTH PLAIN LOGIN",
	"C: AUTH PLAIN AGFsaWNlAHMzY3IzdA==",
	"S: 235 2.7.0 Authentication successful",
	"C: MAIL FROM:<alice@example.com>",
	"S: 250 ok",
	"C: QUIT",
	"S: 221 bye",
	NULL,
};

static const char *const d_auth_login[] = {
	"S: 220 mx ESMTP",
	"C: EHLO c",
	"S: 250 mx",
	"C: AUTH LOGIN",
	"S: 334 VXNlcm5hbWU6",
	"C: YWxpY2U=",
	"S: 334 UGFzc3dvcmQ6",
	"C: czNjcjN0",
	"S: 535 5.7.8 bad credentials",
	"C: AUTH LOGIN YWxpY2U=",
	"S: 334 UGFzc3dvcmQ6",
	"C: b3RoZXJwdw==",
	"S: 235 ok",
	"C: MAIL FROM:<alice@example.com>",
	"S: 250 ok",
	"C: RSET",
	"S: 250 ok",
	NULL,
};

static const char *const d_starttls[] = {
	"S: 220 mx ESMTP",
	"C: EHLO c",
	"S: 250-mx",
	"S: 250 STARTTLS",
	"C: STARTTLS",
	"S: 220 2.0.0 Ready to start TLS",
	"c: \x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03MAIL FROM:<x@y>\r\n",
	"s: \x16\x03\x03\x00\x7a\x02\x00\x00\x76\r\n250 ok\r\n",
	NULL,
};

static const char *const d_rejects[] = {
	"S: 220 mx ESMTP",
	"C: EHLO c",
	"S: 250 mx",
	"C: MAIL FROM:<spammer@bad>",
	"S: 550 5.7.1 go away",
	"C: MAIL FROM:<a@b>",
	"S: 250 ok",
	"C: RCPT TO:<x@y>",
	"S: 550 no",
	"C: RCPT TO:<z@y>",
	"S: 550 no",
	"C: DATA",
	"S: 554 no valid recipients",
	"C: RSET",
	"S: 250 ok",
	"C: NOOP",
	"S: 250 ok",
	"C: VRFY bob",
	"S: 252 maybe",
	"C: XFOO bar",
	"S: 500 unknown",
	"C: MAIL FROM:<a@b>",
	"S: 250 ok",
	"C: RCPT TO:<x@y>",
	"S: 250 ok",
	NULL,
};

static const char *const d_gaps[] = {
	"S: 220 mx ESMTP",
	"C: EHLO c",
	"S: 250 mx",
	"c: MAIL FR",
	"g: C 7",
	"c: xx>\r\nMAIL FROM:<a@b>\r\n",
	"S: 500 bad",
	"S: 250 ok",
	"C: RCPT TO:<c@d>",
	"S: 250 ok",
	"C: DATA",
	"S: 354 go",
	"c: Subject: gap\r\n\r\nline one\r\nline t",
	"g: C 100",
	"c: wo\r\n..stuffed\r\n.\r\n",
	"S: 250 ok",
	"C: MAIL FROM:<e@f>",
	"S: 250 ok",
	"C: RCPT TO:<c@d>",
	"S: 250 ok",
	"C: BDAT 10 LAST",
	"c: 0123",
	"g: C 6",
	"S: 250 ok",
	NULL,
};

static const char *const d_gap_whole_line[] = {
	"S: 220 mx ESMTP",
	"C: EHLO c",
	"S: 250 mx",
	"C: MAIL FROM:<a@b>",
	"S: 250 ok",
	"g: C 17",
	"S: 250 rcpt ok",
	"C: DATA",
	"S: 354 go",
	"c: Subject: after gap\r\n\r\nbody\r\n.\r\n",
	"S: 250 queued",
	NULL,
};

static const char *const d_bdat_body_chunks[] = {
	"S: 220 mx ESMTP",
	"C: EHLO c",
	"S: 250-mx",
	"S: 250 CHUNKING",
	"C: MAIL FROM:<a@b>",
	"S: 250 ok",
	"C: RCPT TO:<c@d>",
	"S: 250 ok",
	"c: BDAT 14\r\nSubject: x\r\n\r\n",
	"S: 250 ok",
	"c: BDAT 100 LAST\r\nSubject: not a header\r\nbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\r\n",
	"S: 250 queued",
	NULL,
};

static const char *const d_server_ends_data[] = {
	"S: 220 mx ESMTP Sendmail",
	"C: EHLO c",
	"S: 250 mx",
	"C: MAIL FROM:<a@b>",
	"S: 250 ok",
	"C: RCPT TO:<c@d>",
	"S: 250 ok",
	"C: DATA",
	"S: 354 go",
	"c: Subject: lf end\r\n\r\nbody\r\n.\n",
	"S: 250 accepted",
	"C: MAIL FROM:<e@f>",
	"S: 250 ok",
	"C: QUIT",
	"S: 221 bye",
	NULL,
};

static const char *const *const corpus[] = {
	d_plain, d_pipelined, d_bdat, d_ehlo_mid, d_three, d_auth_plain, d_auth_login,
	d_starttls, d_rejects, d_gaps, d_gap_whole_line, d_bdat_body_chunks, NULL,
};

#ifndef SMTP_TEST_NO_MAIN

static void test_plain(void)
{
	struct rec *rc = rec_new();
	struct smtp_session *s = run_dialog_keep(d_plain, NULL, rc);
	const struct smtp_session_info *in = smtp_session_info(s);
	CHECK_STR(in->banner, "220 mx.example.org ESMTP ready");
	CHECK_STR(in->helo, "client.example.com");
	CHECK_STR(in->capabilities, "PIPELINING SIZE 10240000 CHUNKING");
	CHECK_EQ_U(in->transactions, 1);
	smtp_session_close(s);
	struct rec_tx *t = &rc->tx[0];
	CHECK_EQ_U(rc->begins, 1);
	CHECK_EQ_U(rc->ends, 1);
	CHECK_EQ_U(t->outcome, SMTP_TX_ACCEPTED);
	CHECK_EQ_U(t->reply_code, 250);
	CHECK_STR(t->reply_text, "2.0.0 Ok: queued as ABC");
	CHECK_STR(t->mail_from, "alice@example.com");
	CHECK_STR(t->mail_params, "SIZE=42 BODY=8BITMIME");
	CHECK(t->has_size && t->size_param == 42);
	CHECK_STR(t->body, "8BITMIME");
	CHECK_STR(t->helo, "client.example.com");
	CHECK_EQ_U(t->rcpt_count, 1);
	CHECK_STR(t->rcpt[0], "bob@example.org");
	CHECK_EQ_U(t->rcpt_code[0], 250);
	CHECK_STR(t->method, "DATA");
	const char *want = "Subject: hello\r\n world\r\nFrom: Alice <alice@example.com>\r\n"
			   "To: bob@example.org\r\nMessage-ID: <1@x>\r\n\r\n.leading dot\r\nbody\r\n";
	CHECK_EQ_U(t->msg_len, strlen(want));
	CHECK(t->msg_len == strlen(want) && memcmp(t->msg, want, t->msg_len) == 0);
	CHECK_EQ_U(t->message_bytes, strlen(want));
	CHECK(t->msg_end);
	CHECK_STR(t->subject, "hello world");
	CHECK_STR(t->from, "Alice <alice@example.com>");
	CHECK_STR(t->to, "bob@example.org");
	CHECK_STR(t->msgid, "<1@x>");
	CHECK_EQ_U(t->anomalies, 0);
	CHECK_EQ_U(in->anomalies, 0);
	CHECK_EQ_U(rc->order_errors, 0);
	smtp_session_free(s);
	free(rc);
}

static void test_pipelining(void)
{
	struct rec *rc = rec_new();
	run_dialog(d_pipelined, NULL, rc);
	struct rec_tx *t = &rc->tx[0];
	CHECK_EQ_U(rc->ends, 1);
	CHECK_EQ_U(t->outcome, SMTP_TX_ACCEPTED);
	CHECK_STR(t->mail_from, "a@b");
	CHECK_EQ_U(t->rcpt_count, 2);
	CHECK_EQ_U(t->rcpt_code[0], 550);
	CHECK_EQ_U(t->rcpt_code[1], 250);
	CHECK_STR(t->rcpt[1], "e@f");
	CHECK(t->msg_len == 4 && memcmp(t->msg, "hi\r\n", 4) == 0);
	CHECK_EQ_U(rc->order_errors, 0);
	free(rc);
}

static void test_bdat(void)
{
	struct rec *rc = rec_new();
	run_dialog(d_bdat, NULL, rc);
	CHECK_EQ_U(rc->begins, 4);
	CHECK_EQ_U(rc->ends, 4);
	struct rec_tx *t = &rc->tx[0];
	CHECK_STR(t->method, "BDAT");
	CHECK_EQ_U(t->bdat_chunks, 3);
	CHECK(t->msg_len == 18 && memcmp(t->msg, "Subject: x\r\n\r\nbody", 18) == 0);
	CHECK_EQ_U(t->outcome, SMTP_TX_ACCEPTED);
	CHECK_STR(t->reply_text, "message ok");
	CHECK_STR(t->subject, "x");
	/* BDAT 3 LAST carrying ".\r\n": no dot handling in BDAT */
	t = &rc->tx[1];
	CHECK(t->msg_len == 3 && memcmp(t->msg, ".\r\n", 3) == 0);
	CHECK_EQ_U(t->outcome, SMTP_TX_ACCEPTED);
	/* BDAT LAST then MAIL FROM in the same segment */
	t = &rc->tx[2];
	CHECK(t->msg_len == 1 && t->msg[0] == 'Z');
	CHECK_EQ_U(t->outcome, SMTP_TX_ACCEPTED);
	CHECK_STR(rc->tx[3].mail_from, "t@u");
	CHECK_EQ_U(rc->tx[3].outcome, SMTP_TX_ABORTED); /* QUIT */
	CHECK_EQ_U(rc->order_errors, 0);
	free(rc);
}

static void test_bdat_invalid(void)
{
	static const char *const d[] = {
		"S: 220 mx", "C: EHLO c", "S: 250 mx", "C: MAIL FROM:<a@b>", "S: 250 ok",
		"C: RCPT TO:<c@d>", "S: 250 ok", "C: BDAT x12", "S: 501 bad size",
		"C: BDAT 99999999999999999999999", "S: 501 bad size", "C: BDAT 3 LAST junk",
		"S: 501 bad", "C: BDAT 2 LAST", "c: ok", "S: 250 ok", NULL,
	};
	struct rec *rc = rec_new();
	run_dialog(d, NULL, rc);
	struct rec_tx *t = &rc->tx[0];
	CHECK_EQ_U(rc->ends, 1);
	CHECK(t->anomalies & SMTP_ANOM_BDAT_INVALID);
	CHECK_EQ_U(t->bdat_chunks, 1);
	CHECK(t->msg_len == 2 && memcmp(t->msg, "ok", 2) == 0);
	CHECK_EQ_U(t->outcome, SMTP_TX_ACCEPTED);
	free(rc);
}

static void test_ehlo_mid_and_rset(void)
{
	struct rec *rc = rec_new();
	run_dialog(d_ehlo_mid, NULL, rc);
	CHECK_EQ_U(rc->begins, 3);
	CHECK_EQ_U(rc->ends, 3);
	CHECK_EQ_U(rc->tx[0].outcome, SMTP_TX_ABORTED);
	CHECK_STR(rc->tx[0].helo, "c");
	CHECK_EQ_U(rc->tx[0].rcpt_code[0], 250);
	CHECK_EQ_U(rc->tx[1].outcome, SMTP_TX_ABORTED);
	CHECK_STR(rc->tx[1].helo, "again");
	CHECK_EQ_U(rc->tx[2].outcome, SMTP_TX_ACCEPTED);
	CHECK(rc->tx[2].msg_len == 3 && memcmp(rc->tx[2].msg, "x\r\n", 3) == 0);
	CHECK_EQ_U(rc->order_errors, 0);
	free(rc);
}

static void test_three_transactions(void)
{
	struct rec *rc = rec_new();
	run_dialog(d_three, NULL, rc);
	CHECK_EQ_U(rc->ends, 3);
	CHECK_STR(rc->tx[0].mail_from, "");
	CHECK_EQ_U(rc->tx[0].outcome, SMTP_TX_ACCEPTED);
	CHECK_EQ_U(rc->tx[1].outcome, SMTP_TX_REJECTED);
	CHECK_EQ_U(rc->tx[1].reply_code, 554);
	CHECK_STR(rc->tx[1].reply_text, "5.7.1 spam");
	CHECK_EQ_U(rc->tx[2].outcome, SMTP_TX_REJECTED);
	CHECK_EQ_U(rc->tx[2].reply_code, 451);
	CHECK(rc->tx[2].msg_len == 7 && memcmp(rc->tx[2].msg, "three\r\n", 7) == 0);
	free(rc);
}

static void test_auth(void)
{
	struct rec *rc = rec_new();
	rc->secret[0] = "AGFsaWNlAHMzY3IzdA";
	struct smtp_session *s = run_dialog_keep(d_auth_plain, NULL, rc);
	const struct smtp_session_info *in = smtp_session_info(s);
	CHECK_STR(in->auth_mechanism, "PLAIN");
	CHECK_EQ_U(in->auth_outcome, SMTP_AUTH_SUCCESS);
	smtp_session_close(s);
	CHECK_EQ_U(rc->tx[0].auth, SMTP_AUTH_SUCCESS);
	CHECK_STR(rc->tx[0].auth_mech, "PLAIN");
	CHECK_EQ_U(rc->tx[0].outcome, SMTP_TX_ABORTED);
	CHECK_EQ_U(rc->leaks, 0);
	CHECK(!strstr(in->banner, "AGFsaWNl") && !strstr(in->helo, "AGFsaWNl") &&
	      !strstr(in->capabilities, "AGFsaWNl"));
	CHECK(!strstr(rc->tx[0].log, "AGFsaWNl"));
	smtp_session_free(s);
	free(rc);

	rc = rec_new();
	rc->secret[0] = "YWxpY2U";
	rc->secret[1] = "czNjcjN0";
	rc->secret[2] = "b3RoZXJwdw";
	s = run_dialog_keep(d_auth_login, NULL, rc);
	in = smtp_session_info(s);
	CHECK_STR(in->auth_mechanism, "LOGIN");
	CHECK_EQ_U(in->auth_outcome, SMTP_AUTH_SUCCESS);
	CHECK_EQ_U(in->auth_lines, 3);
	CHECK_EQ_U(in->anomalies & SMTP_ANOM_BAD_COMMAND, 0); /* auth data not taken as commands */
	smtp_session_close(s);
	CHECK_EQ_U(rc->ends, 1);
	CHECK_EQ_U(rc->leaks, 0);
	smtp_session_free(s);
	free(rc);

	/* a failed AUTH */
	static const char *const d[] = {
		"S: 220 mx", "C: EHLO c", "S: 250 mx", "C: AUTH PLAIN", "S: 334 ",
		"C: AGJvYgB3cm9uZw==", "S: 535 5.7.8 no", "C: QUIT", "S: 221 bye", NULL,
	};
	rc = rec_new();
	rc->secret[0] = "AGJvYgB3cm9uZw";
	s = run_dialog_keep(d, NULL, rc);
	in = smtp_session_info(s);
	CHECK_EQ_U(in->auth_outcome, SMTP_AUTH_FAILURE);
	CHECK_EQ_U(in->auth_lines, 1);
	CHECK_EQ_U(in->commands, 3);
	CHECK_EQ_U(in->anomalies, 0);
	smtp_session_close(s);
	smtp_session_free(s);
	free(rc);
}

static void test_starttls(void)
{
	struct rec *rc = rec_new();
	struct smtp_session *s = run_dialog_keep(d_starttls, NULL, rc);
	CHECK(smtp_session_encrypted(s));
	CHECK_EQ_U(rc->starttls, 1);
	CHECK_EQ_U(rc->begins, 0); /* the MAIL inside TLS is not parsed */
	const struct smtp_session_info *in = smtp_session_info(s);
	CHECK(in->starttls);
	CHECK_EQ_U(in->anomalies, 0);
	CHECK(in->ignored_bytes > 0);
	smtp_session_close(s);
	smtp_session_free(s);
	free(rc);

	/* refused STARTTLS: the session goes on in clear text */
	static const char *const d[] = {
		"S: 220 mx", "C: EHLO c", "S: 250 mx", "C: STARTTLS", "S: 454 TLS not available",
		"C: MAIL FROM:<a@b>", "S: 250 ok", NULL,
	};
	rc = rec_new();
	s = run_dialog_keep(d, NULL, rc);
	CHECK(!smtp_session_encrypted(s));
	CHECK_EQ_U(rc->begins, 1);
	smtp_session_close(s);
	CHECK_EQ_U(rc->tx[0].outcome, SMTP_TX_INCOMPLETE);
	smtp_session_free(s);
	free(rc);
}

static void test_rejects(void)
{
	struct rec *rc = rec_new();
	struct smtp_session *s = run_dialog_keep(d_rejects, NULL, rc);
	const struct smtp_session_info *in = smtp_session_info(s);
	CHECK(in->anomalies & SMTP_ANOM_BAD_COMMAND); /* XFOO */
	smtp_session_close(s);
	CHECK_EQ_U(rc->ends, 3);
	CHECK_EQ_U(rc->tx[0].outcome, SMTP_TX_REJECTED);
	CHECK_EQ_U(rc->tx[0].reply_code, 550);
	CHECK_EQ_U(rc->tx[1].outcome, SMTP_TX_REJECTED);
	CHECK_EQ_U(rc->tx[1].reply_code, 554);
	CHECK_EQ_U(rc->tx[1].rcpt_code[0], 550);
	CHECK_EQ_U(rc->tx[1].rcpt_code[1], 550);
	CHECK_STR(rc->tx[1].method, ""); /* DATA refused before any byte */
	CHECK_EQ_U(rc->tx[1].message_bytes, 0);
	CHECK_EQ_U(rc->tx[2].outcome, SMTP_TX_INCOMPLETE);
	CHECK_EQ_U(rc->order_errors, 0);
	smtp_session_free(s);
	free(rc);
}

/* DATA refused after the client already sent message bytes (it did not
 * wait for 354): counted as a rejected message. */
static void test_data_rejected_after_bytes(void)
{
	static const char *const d[] = {
		"S: 220 mx", "C: EHLO c", "S: 250 mx",
		"c: MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\n",
		"s: 250 ok\r\n250 ok\r\n554 no\r\n500 what\r\n500 what\r\n500 what\r\n500 what\r\n",
		NULL,
	};
	struct rec *rc = rec_new();
	run_dialog(d, NULL, rc);
	CHECK_EQ_U(rc->ends, 1);
	CHECK_EQ_U(rc->tx[0].outcome, SMTP_TX_REJECTED);
	CHECK(rc->tx[0].anomalies & SMTP_ANOM_DATA_REJECTED);
	CHECK_EQ_U(rc->tx[0].message_bytes, 18);
	free(rc);
}

static void test_multiline_and_bad_replies(void)
{
	static const char *const d[] = {
		"S: 220-mx.example ESMTP",
		"S: 220-second greeting line",
		"S: 220 third",
		"C: EHLO c",
		"S: 250-mx",
		"S: 250-8BITMIME",
		"S: hello there",
		"S: 250 SMTPUTF8",
		"C: NOOP",
		"S: 250 ok",
		"S: 250 spurious",
		NULL,
	};
	struct rec *rc = rec_new();
	struct smtp_session *s = run_dialog_keep(d, NULL, rc);
	const struct smtp_session_info *in = smtp_session_info(s);
	CHECK_STR(in->banner, "220-mx.example ESMTP");
	CHECK_STR(in->capabilities, "8BITMIME SMTPUTF8");
	CHECK_EQ_U(in->replies, 4);
	CHECK(in->anomalies & SMTP_ANOM_BAD_REPLY);
	CHECK(in->anomalies & SMTP_ANOM_UNEXPECTED_REPLY);
	smtp_session_close(s);
	smtp_session_free(s);
	free(rc);
}

static void test_mail_syntax(void)
{
	static const char *const d[] = {
		"S: 220 mx", "C: ehlo c",  "S: 250 mx",
		"C: mail from: <\"we>ird\"@b> SMTPUTF8 size=7 body=binarymime",
		"S: 250 ok", "C: rcpt to:bare@x", "S: 250 ok", "C: RSET", "S: 250 ok",
		"C: MAIL FROM:a@b", "S: 250 ok", NULL,
	};
	struct rec *rc = rec_new();
	run_dialog(d, NULL, rc);
	CHECK_STR(rc->tx[0].mail_from, "\"we>ird\"@b");
	CHECK(rc->tx[0].smtputf8);
	CHECK_EQ_U(rc->tx[0].size_param, 7);
	CHECK_STR(rc->tx[0].body, "binarymime");
	CHECK_STR(rc->tx[0].rcpt[0], "bare@x");
	CHECK_EQ_U(rc->tx[0].anomalies, 0);
	CHECK_STR(rc->tx[1].mail_from, "a@b");
	CHECK_EQ_U(rc->tx[1].outcome, SMTP_TX_INCOMPLETE);
	free(rc);
}

static void test_gaps(void)
{
	struct rec *rc = rec_new();
	struct smtp_session *s = run_dialog_keep(d_gaps, NULL, rc);
	const struct smtp_session_info *in = smtp_session_info(s);
	CHECK_EQ_U(in->gap_bytes, 113);
	smtp_session_close(s);
	CHECK_EQ_U(rc->ends, 2);
	struct rec_tx *t = &rc->tx[0];
	CHECK_STR(t->mail_from, "a@b");
	CHECK(t->anomalies & SMTP_ANOM_GAP);
	CHECK_EQ_U(t->outcome, SMTP_TX_ACCEPTED);
	/* the gap lost the end of "line two"; the next line start after it is
	 * found again (the "..stuffed" line is unstuffed) */
	const char *want = "Subject: gap\r\n\r\nline one\r\nline two\r\n.stuffed\r\n";
	CHECK_EQ_U(t->msg_len, strlen(want)); /* 32 + 4 + 10 real bytes */
	CHECK(t->msg_len == 46 && memcmp(t->msg, want, 32) == 0 &&
	      memcmp(t->msg + 32, "wo\r\n.stuffed\r\n", 14) == 0);
	CHECK_EQ_U(t->message_bytes, t->msg_len);
	CHECK_STR(t->subject, "gap");
	/* BDAT 10 with a 6-byte gap: 4 real bytes, the chunk ends on count */
	t = &rc->tx[1];
	CHECK_EQ_U(t->message_bytes, 4);
	CHECK(t->msg_end);
	CHECK_EQ_U(t->outcome, SMTP_TX_ACCEPTED);
	CHECK(t->anomalies & SMTP_ANOM_GAP);
	smtp_session_free(s);
	free(rc);
}

/* A lost segment held exactly one command line, and the server's answer to it
 * arrives before the client's next line (the ACK in that very packet is what
 * reveals the gap).  The answer must pair with the lost command, and the next
 * line, a whole command, must not be thrown away as the tail of a torn one. */
static void test_gap_whole_command_line(void)
{
	struct rec *rc = rec_new();
	run_dialog(d_gap_whole_line, NULL, rc);
	CHECK_EQ_U(rc->ends, 1);
	struct rec_tx *t = &rc->tx[0];
	CHECK_STR(t->method, "DATA");
	CHECK(t->msg_end);
	CHECK_EQ_U(t->outcome, SMTP_TX_ACCEPTED);
	CHECK_EQ_U(t->reply_code, 250);
	CHECK(t->anomalies & SMTP_ANOM_GAP);
	const char *want = "Subject: after gap\r\n\r\nbody\r\n";
	CHECK(t->msg_len == strlen(want) && memcmp(t->msg, want, t->msg_len) == 0);
	free(rc);
}

/* Headers are scanned once per message: a later BDAT chunk is body, not a
 * new header section (it must neither raise header_cap nor replace fields). */
static void test_bdat_headers_scanned_once(void)
{
	struct smtp_limits lim;
	smtp_limits_default(&lim);
	lim.max_header_scan = 64;
	struct rec *rc = rec_new();
	run_dialog(d_bdat_body_chunks, &lim, rc);
	struct rec_tx *t = &rc->tx[0];
	CHECK_EQ_U(t->bdat_chunks, 2);
	CHECK_EQ_U(t->message_bytes, 114);
	CHECK_STR(t->subject, "x");
	CHECK(!(t->anomalies & SMTP_ANOM_HEADER_CAP));
	CHECK_EQ_U(t->outcome, SMTP_TX_ACCEPTED);
	free(rc);
}

/* A server that accepts CRLF "." LF as the end of data (Sendmail) answers
 * while postern still reads the message: the message ends there, the outcome
 * is the server's, and the client's next command is parsed.  Not in the
 * chunking corpus: where the message ends depends on whether the client's
 * next bytes arrive before the server's reply (test_server_ends_data_late),
 * and both readings are safe -- every byte is inspected as message or
 * command. */
static void test_server_ends_data(void)
{
	struct rec *rc = rec_new();
	run_dialog(d_server_ends_data, NULL, rc);
	CHECK_EQ_U(rc->ends, 2);
	struct rec_tx *t = &rc->tx[0];
	CHECK(t->msg_end);
	CHECK_EQ_U(t->outcome, SMTP_TX_ACCEPTED);
	CHECK_EQ_U(t->reply_code, 250);
	CHECK(t->anomalies & SMTP_ANOM_SERVER_ENDED_DATA);
	CHECK(t->anomalies & SMTP_ANOM_BARE_LF);
	CHECK_STR(t->subject, "lf end");
	/* the bytes up to the server's end are all in the message */
	const char *want = "Subject: lf end\r\n\r\nbody\r\n";
	CHECK(t->msg_len >= strlen(want) && memcmp(t->msg, want, strlen(want)) == 0);
	/* the next MAIL FROM is a new transaction, not message text */
	CHECK_STR(rc->tx[1].mail_from, "e@f");
	CHECK_EQ_U(rc->tx[1].outcome, SMTP_TX_ABORTED);
	free(rc);
}

/* The same client pipelining its next commands before the server's reply:
 * postern cannot know the message ended, so those lines stay message bytes
 * (inspected as content, never lost); the server's reply still ends the
 * transaction with its outcome. */
static const char *const d_server_ends_data_late[] = {
	"S: 220 mx ESMTP Sendmail",
	"C: EHLO c",
	"S: 250 mx",
	"C: MAIL FROM:<a@b>",
	"S: 250 ok",
	"C: RCPT TO:<c@d>",
	"S: 250 ok",
	"C: DATA",
	"S: 354 go",
	"c: Subject: lf end\r\n\r\nbody\r\n.\nMAIL FROM:<e@f>\r\n",
	"S: 250 accepted",
	"S: 250 ok",
	NULL,
};

static void test_server_ends_data_late(void)
{
	struct rec *rc = rec_new();
	run_dialog(d_server_ends_data_late, NULL, rc);
	CHECK_EQ_U(rc->ends, 1);
	struct rec_tx *t = &rc->tx[0];
	CHECK_EQ_U(t->outcome, SMTP_TX_ACCEPTED);
	CHECK(t->anomalies & SMTP_ANOM_SERVER_ENDED_DATA);
	CHECK(t->msg_len > 20 && memmem(t->msg, t->msg_len, "MAIL FROM:<e@f>", 15) != NULL);
	free(rc);
}

static void test_long_lines_and_caps(void)
{
	struct smtp_limits lim;
	smtp_limits_default(&lim);
	lim.max_line = 64;
	lim.max_rcpt = 2;
	lim.max_pending = 4;
	lim.max_message = 10;
	lim.max_field = 16;
	static char longline[400];
	memset(longline, 0, sizeof(longline));
	memcpy(longline, "C: NOOP ", 8);
	memset(longline + 8, 'a', 300);
	static char longsubj[200];
	memcpy(longsubj, "C: Subject: ", 12);
	memset(longsubj + 12, 'b', 100);
	const char *const d[] = {
		"S: 220 mx", "C: EHLO c", "S: 250 mx", longline, "S: 250 ok",
		"C: MAIL FROM:<averyveryverylongsender@example.com>", "S: 250 ok",
		"c: RCPT TO:<1@x>\r\nRCPT TO:<2@x>\r\nRCPT TO:<3@x>\r\nRCPT TO:<4@x>\r\nRCPT TO:<5@x>\r\n",
		"s: 250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n",
		"C: DATA", "S: 354 go", longsubj, "C: ", "C: 0123456789abcdef", "C: .",
		"S: 250 ok", NULL,
	};
	struct rec *rc = rec_new();
	struct smtp_session *s = run_dialog_keep(d, &lim, rc);
	const struct smtp_session_info *in = smtp_session_info(s);
	CHECK(in->anomalies & SMTP_ANOM_LINE_TOO_LONG);
	CHECK_EQ_U(in->lines_truncated, 1);
	CHECK_EQ_U(in->pending_dropped, 1);
	CHECK(smtp_session_memory(s) > 64);
	smtp_session_close(s);
	struct rec_tx *t = &rc->tx[0];
	CHECK_EQ_U(t->rcpt_count, 2);
	CHECK_EQ_U(t->rcpt_dropped, 3);
	CHECK(t->anomalies & SMTP_ANOM_RCPT_CAP);
	CHECK(t->anomalies & SMTP_ANOM_FIELD_TRUNCATED);
	CHECK(t->anomalies & SMTP_ANOM_MESSAGE_CAP);
	CHECK_EQ_U(strlen(t->mail_from), 16);
	CHECK_EQ_U(t->msg_total, 10);               /* handed on: the cap */
	CHECK_EQ_U(t->message_bytes, 9 + 100 + 2 + 2 + 18); /* counted: everything */
	CHECK_EQ_U(strlen(t->subject), 16);
	CHECK(t->msg_end);
	smtp_session_free(s);
	free(rc);
}

static void test_bare_lf_and_close(void)
{
	/* a bare-LF "end" does not end the message; the session closes inside it */
	static const char *const d[] = {
		"S: 220 mx", "C: EHLO c", "S: 250 mx", "C: MAIL FROM:<a@b>", "S: 250 ok",
		"C: RCPT TO:<c@d>", "S: 250 ok", "C: DATA", "S: 354 go",
		"c: hi\n.\nMAIL FROM:<smuggled@x>\r\n", NULL,
	};
	struct rec *rc = rec_new();
	run_dialog(d, NULL, rc);
	CHECK_EQ_U(rc->begins, 1);
	CHECK_EQ_U(rc->tx[0].outcome, SMTP_TX_INCOMPLETE);
	CHECK(rc->tx[0].anomalies & SMTP_ANOM_BARE_LF);
	CHECK(rc->tx[0].anomalies & SMTP_ANOM_INCOMPLETE);
	CHECK(!rc->tx[0].msg_end);
	free(rc);

	/* message complete, no reply before the end */
	static const char *const d2[] = {
		"S: 220 mx", "C: HELO c", "S: 250 mx", "c: MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n",
		"s: 250 ok\r\n250 ok\r\n354 go\r\n", "c: x\r\n.\r\n", NULL,
	};
	rc = rec_new();
	run_dialog(d2, NULL, rc);
	CHECK_EQ_U(rc->tx[0].outcome, SMTP_TX_NO_REPLY);
	CHECK(rc->tx[0].msg_end);
	free(rc);
}

static void test_detect_greeting(void)
{
	const uint8_t *a = (const uint8_t *)"220 mx.example ESMTP\r\n";
	CHECK(smtp_detect_greeting(a, strlen((const char *)a)) == 1);
	CHECK(smtp_detect_greeting(a, 2) == -1);
	CHECK(smtp_detect_greeting(a, 10) == -1);
	CHECK(smtp_detect_greeting((const uint8_t *)"220-x\r\n", 7) == 1);
	CHECK(smtp_detect_greeting((const uint8_t *)"HTTP/1.1 200", 12) == 0);
	CHECK(smtp_detect_greeting((const uint8_t *)"2201", 4) == 0);
	CHECK(smtp_detect_greeting((const uint8_t *)"220 \x01x\r\n", 8) == 0);
}

static void test_names_and_memory(void)
{
	CHECK_STR(smtp_anomaly_name(SMTP_ANOM_BARE_LF), "bare_lf");
	CHECK(smtp_anomaly_name(3) == NULL);
	CHECK_STR(smtp_outcome_name(SMTP_TX_NO_REPLY), "no_reply");
	CHECK_STR(smtp_auth_outcome_name(SMTP_AUTH_SUCCESS), "success");
	struct smtp_session *s = smtp_session_new(NULL, NULL, NULL);
	size_t m0 = smtp_session_memory(s);
	CHECK(m0 < 4096); /* small fixed part, buffers come later */
	smtp_session_feed(s, SMTP_FROM_SERVER, (const uint8_t *)"220 x\r\n", 7);
	CHECK(smtp_session_memory(s) > m0);
	smtp_session_close(s);
	smtp_session_feed(s, SMTP_FROM_CLIENT, (const uint8_t *)"MAIL FROM:<a@b>\r\n", 17);
	CHECK_EQ_U(smtp_session_info(s)->transactions, 0);
	smtp_session_free(s);
}

int main(void)
{
	RUN(test_plain);
	RUN(test_pipelining);
	RUN(test_bdat);
	RUN(test_bdat_invalid);
	RUN(test_ehlo_mid_and_rset);
	RUN(test_three_transactions);
	RUN(test_auth);
	RUN(test_starttls);
	RUN(test_rejects);
	RUN(test_data_rejected_after_bytes);
	RUN(test_multiline_and_bad_replies);
	RUN(test_mail_syntax);
	RUN(test_gaps);
	RUN(test_gap_whole_command_line);
	RUN(test_bdat_headers_scanned_once);
	RUN(test_server_ends_data);
	RUN(test_server_ends_data_late);
	RUN(test_long_lines_and_caps);
	RUN(test_bare_lf_and_close);
	RUN(test_detect_greeting);
	RUN(test_names_and_memory);
	(void)corpus;
	return tl_finish();
}

#endif
