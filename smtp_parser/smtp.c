/* SMTP session state machine; the contract is in smtp.h.
 *
 * Shape (after OpenSMTPD's smtp_session.c): the client side is a small mode
 * enum (commands, DATA body, BDAT chunk, AUTH exchange, waiting for the
 * STARTTLS reply); complete command lines go through a {verb, check, command,
 * reply} table.  Every command that expects a reply is queued in a bounded
 * FIFO; each complete server reply pops the oldest entry and runs that
 * command's reply handler.  Nothing in a reply handler depends on how far the
 * client stream has been parsed, except the documented optimistic DATA case,
 * so the directions may be fed in any relative order a capture can produce.
 *
 * Transactions live in a few slots: the one the client is building plus the
 * ones whose message is complete and that wait for their final reply (a
 * pipelining client can start the next MAIL before that reply).  A slot ends
 * exactly once (tx_end) and is then reused.
 *
 * Choices worth knowing:
 * - End of DATA is strictly CRLF "." CRLF, and dot-unstuffing applies only
 *   after CRLF.  A bare LF anywhere in the body sets SMTP_ANOM_BARE_LF but is
 *   never a line end: if we ended the message earlier than the server, the
 *   rest of the body would be parsed as commands and escape content
 *   inspection (SMTP smuggling); ending later keeps those bytes inside the
 *   inspected message and the anomaly tells policy what happened.
 * - ABORTED (RSET, HELO/EHLO/LHLO, QUIT) is decided when that command's reply
 *   arrives, so every earlier reply (RCPT codes...) is already in the record.
 * - NUL bytes are flagged in command and reply lines only; message bodies are
 *   not scanned for them (speed; the MIME layer sees the bytes).
 */
#include "smtp_parser/smtp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_parser/smtp_header_scan.h"

#define TX_SLOTS 4
#define NO_OFF UINT32_MAX
#define NO_IDX UINT32_MAX
#define MECH_MAX 32
#define BDAT_MAX_SIZE (UINT64_C(1) << 62)

enum cmode { CM_CMD, CM_DATA, CM_BDAT, CM_AUTH, CM_TLS_WAIT };
enum dstate { DS_LINE_START, DS_MID, DS_DOT, DS_DOT_CR };

enum cmd_id {
	C_HELO, C_EHLO, C_LHLO, C_MAIL, C_RCPT, C_DATA, C_BDAT, C_RSET, C_NOOP, C_VRFY,
	C_EXPN, C_HELP, C_QUIT, C_STARTTLS, C_AUTH,
	/* pseudo commands: queued, never typed by the client */
	C_UNKNOWN, C_DOT, C_BDAT_BAD, C_COUNT
};

/* pending flags */
#define P_ABORT 1u  /* the reply ends tx_seq as ABORTED */
#define P_LAST 2u   /* BDAT ... LAST */

struct pending {
	uint8_t cmd;
	uint8_t flags;
	uint32_t tx_seq;
	uint32_t arg; /* RCPT: recipient index or NO_IDX */
};

struct rcpt_rec {
	uint32_t addr, params;
	int code;
};

struct tx_slot {
	bool used, ended, aborting, dirty;
	bool msg_started, msg_done, data_consumed, cap_hit;
	bool data_go;          /* the server answered DATA with 354 */
	bool hs_started;       /* the header scan ran (once per message, not per BDAT chunk) */
	uint8_t defer;         /* outcome + 1 decided while the client was inside the message */
	uint32_t seq;
	struct smtp_transaction pub;
	char *arena;
	uint32_t alen, acap;
	uint32_t o_helo, o_from, o_params, o_body, o_reply, o_hdr[SMTP_HF_COUNT];
	struct rcpt_rec *rr;
	struct smtp_rcpt *rv;
	uint32_t rcap;
	uint64_t delivered;    /* bytes handed to msg_data (max_message) */
};

struct sbuf {
	char *p;
	uint32_t len;
};

struct lineasm {
	char *buf;
	uint32_t len;
	uint64_t total;        /* bytes of the current line, CR included */
	bool last_cr, too_long, skipping, resynced;
	bool after_gap;        /* the next line may be the tail of a torn one */
};

struct smtp_session {
	struct smtp_limits lim;
	struct smtp_callbacks cb;
	void *ctx;
	size_t mem;
	struct smtp_session_info info;
	struct lineasm la[2];

	/* client */
	uint8_t cmode, dstate;
	bool prev_cr;
	bool bdat_last;
	uint64_t bdat_left;
	struct tx_slot *cur;   /* transaction the client is building */

	/* server */
	bool await_greeting, in_reply, reply_orphan, encrypted, closed;
	int rcode;
	uint32_t rline;

	struct pending *pq;
	uint32_t pq_head, pq_len;

	uint32_t next_seq;
	struct tx_slot slots[TX_SLOTS];
	struct sbuf banner, helo, caps, mech;
	struct smtp_header_scan hs;
	bool hs_active;
	uint32_t hs_seq;
};

/* ---- names ------------------------------------------------------------ */

static const char *const anomaly_names[SMTP_ANOM_COUNT] = {
	"line_too_long", "bad_command", "bad_reply", "out_of_order", "pending_cap",
	"rcpt_cap", "field_truncated", "message_cap", "gap", "incomplete", "bare_lf",
	"bdat_invalid", "data_rejected", "unexpected_reply", "header_cap", "nul_byte",
	"server_ended_data",
};

const char *smtp_anomaly_name(uint32_t bit)
{
	for (unsigned i = 0; i < SMTP_ANOM_COUNT; i++)
		if (bit == (1u << i))
			return anomaly_names[i];
	return NULL;
}

const char *smtp_outcome_name(enum smtp_outcome o)
{
	switch (o) {
	case SMTP_TX_ACCEPTED: return "accepted";
	case SMTP_TX_REJECTED: return "rejected";
	case SMTP_TX_ABORTED: return "aborted";
	case SMTP_TX_NO_REPLY: return "no_reply";
	case SMTP_TX_INCOMPLETE: return "incomplete";
	}
	return "unknown";
}

const char *smtp_auth_outcome_name(enum smtp_auth_outcome o)
{
	switch (o) {
	case SMTP_AUTH_NONE: return "none";
	case SMTP_AUTH_PENDING: return "pending";
	case SMTP_AUTH_SUCCESS: return "success";
	case SMTP_AUTH_FAILURE: return "failure";
	}
	return "unknown";
}

void smtp_limits_default(struct smtp_limits *l)
{
	l->max_line = 2048;
	l->max_pending = 128;
	l->max_rcpt = 1000;
	l->max_field = 1024;
	l->max_header_scan = 64 * 1024;
	l->max_message = 0;
}

/* ---- memory ------------------------------------------------------------ */

static void *mem_alloc(struct smtp_session *s, size_t n)
{
	void *p = malloc(n);
	if (p)
		s->mem += n;
	return p;
}

static void *mem_grow(struct smtp_session *s, void *p, size_t old, size_t n)
{
	void *q = realloc(p, n);
	if (q)
		s->mem = s->mem - old + n;
	return q;
}

/* ---- small helpers ----------------------------------------------------- */

static bool is_sp(char c) { return c == ' ' || c == '\t'; }

static char up(char c) { return c >= 'a' && c <= 'z' ? (char)(c - 32) : c; }

static const char *skip_sp(const char *p)
{
	while (is_sp(*p))
		p++;
	return p;
}

static bool prefix_ci(const char *p, const char *kw)
{
	for (; *kw; p++, kw++)
		if (up(*p) != *kw)
			return false;
	return true;
}

static void anom(struct smtp_session *s, struct tx_slot *t, uint32_t bits)
{
	s->info.anomalies |= bits;
	if (t && !t->ended)
		t->pub.anomalies |= bits;
}

static void info_sync(struct smtp_session *s)
{
	s->info.banner = s->banner.p ? s->banner.p : "";
	s->info.helo = s->helo.p ? s->helo.p : "";
	s->info.capabilities = s->caps.p ? s->caps.p : "";
	s->info.auth_mechanism = s->mech.p ? s->mech.p : NULL;
}

/* Session strings get one buffer of cap + 1 bytes on first use. */
static bool sbuf_put(struct smtp_session *s, struct sbuf *b, uint32_t cap, const char *str,
		     size_t n, bool append)
{
	bool cut = false;
	if (!b->p) {
		b->p = mem_alloc(s, (size_t)cap + 1);
		if (!b->p)
			return false;
		b->len = 0;
		b->p[0] = '\0';
	}
	if (!append)
		b->len = 0;
	if (append && b->len > 0 && n > 0) {
		if (b->len < cap)
			b->p[b->len++] = ' ';
		else
			cut = true;
	}
	size_t room = cap - b->len;
	if (n > room) {
		n = room;
		cut = true;
	}
	memcpy(b->p + b->len, str, n);
	b->len += (uint32_t)n;
	b->p[b->len] = '\0';
	info_sync(s);
	return !cut;
}

/* ---- transactions ------------------------------------------------------ */

static uint32_t arena_put(struct smtp_session *s, struct tx_slot *t, const char *str, size_t n)
{
	if (n > s->lim.max_field) {
		n = s->lim.max_field;
		anom(s, t, SMTP_ANOM_FIELD_TRUNCATED);
	}
	size_t need = (size_t)t->alen + n + 1;
	if (need > UINT32_MAX - 1)
		return NO_OFF;
	if (need > t->acap) {
		size_t cap = t->acap ? t->acap : 256;
		while (cap < need)
			cap *= 2;
		char *a = mem_grow(s, t->arena, t->acap, cap);
		if (!a)
			return NO_OFF;
		t->arena = a;
		t->acap = (uint32_t)cap;
	}
	uint32_t off = t->alen;
	memcpy(t->arena + off, str, n);
	t->arena[off + n] = '\0';
	t->alen = (uint32_t)need;
	t->dirty = true;
	return off;
}

static const char *arena_str(const struct tx_slot *t, uint32_t off, const char *dflt)
{
	return off == NO_OFF ? dflt : t->arena + off;
}

static const struct smtp_transaction *tx_view(struct smtp_session *s, struct tx_slot *t)
{
	struct smtp_transaction *p = &t->pub;
	if (t->dirty) {
		p->helo = arena_str(t, t->o_helo, "");
		p->mail_from = arena_str(t, t->o_from, "");
		p->mail_params = arena_str(t, t->o_params, "");
		p->body_param = arena_str(t, t->o_body, NULL);
		p->reply_text = arena_str(t, t->o_reply, "");
		p->subject = arena_str(t, t->o_hdr[SMTP_HF_SUBJECT], NULL);
		p->from = arena_str(t, t->o_hdr[SMTP_HF_FROM], NULL);
		p->to = arena_str(t, t->o_hdr[SMTP_HF_TO], NULL);
		p->cc = arena_str(t, t->o_hdr[SMTP_HF_CC], NULL);
		p->message_id = arena_str(t, t->o_hdr[SMTP_HF_MESSAGE_ID], NULL);
		for (uint32_t i = 0; i < p->rcpt_count; i++) {
			t->rv[i].address = arena_str(t, t->rr[i].addr, "");
			t->rv[i].params = arena_str(t, t->rr[i].params, "");
			t->rv[i].reply_code = t->rr[i].code;
		}
		p->rcpt = p->rcpt_count ? t->rv : NULL;
		t->dirty = false;
	}
	p->auth_mechanism = s->info.auth_mechanism;
	p->auth_outcome = s->info.auth_outcome;
	return p;
}

/* Header fields go into the slot when the scan of its message stops. */
static void hs_collect(struct smtp_session *s, struct tx_slot *t)
{
	if (!s->hs_active || s->hs_seq != t->seq)
		return;
	s->hs_active = false;
	smtp_header_scan_finish(&s->hs);
	anom(s, t, s->hs.anomalies);
	for (int f = 0; f < SMTP_HF_COUNT; f++) {
		const char *v = smtp_header_scan_field(&s->hs, (enum smtp_hfield)f);
		if (v)
			t->o_hdr[f] = arena_put(s, t, v, smtp_header_scan_field_len(&s->hs, (enum smtp_hfield)f));
	}
}

static void tx_end(struct smtp_session *s, struct tx_slot *t, enum smtp_outcome o)
{
	if (!t->used || t->ended)
		return;
	hs_collect(s, t);
	t->pub.outcome = o;
	if (s->cb.tx_end)
		s->cb.tx_end(s->ctx, tx_view(s, t));
	t->ended = true;
	t->used = false;
	if (s->cur == t)
		s->cur = NULL;
}

static bool mid_message(const struct smtp_session *s, const struct tx_slot *t)
{
	return s->cur == t && t->msg_started && !t->msg_done;
}

static void tx_set_reply(struct smtp_session *s, struct tx_slot *t, int code, const char *text)
{
	t->pub.reply_code = code;
	t->o_reply = arena_put(s, t, text, strlen(text));
}

/* A reply decided the outcome.  While the client is still inside the
 * message, the end waits for the message end so msg_data never follows
 * tx_end. */
static void tx_finish(struct smtp_session *s, struct tx_slot *t, enum smtp_outcome o)
{
	if (mid_message(s, t))
		t->defer = (uint8_t)(o + 1);
	else
		tx_end(s, t, o);
}

static enum smtp_outcome abort_outcome(const struct tx_slot *t)
{
	return t->defer ? (enum smtp_outcome)(t->defer - 1) : SMTP_TX_ABORTED;
}

static struct tx_slot *tx_find(struct smtp_session *s, uint32_t seq)
{
	for (int i = 0; i < TX_SLOTS; i++)
		if (s->slots[i].used && s->slots[i].seq == seq)
			return &s->slots[i];
	return NULL;
}

static struct tx_slot *tx_new(struct smtp_session *s)
{
	struct tx_slot *t = NULL;
	for (int i = 0; i < TX_SLOTS && !t; i++)
		if (!s->slots[i].used)
			t = &s->slots[i];
	if (!t) {
		/* every slot waits for a reply: give up on the oldest */
		struct tx_slot *old = NULL;
		for (int i = 0; i < TX_SLOTS; i++)
			if (&s->slots[i] != s->cur && (!old || s->slots[i].seq < old->seq))
				old = &s->slots[i];
		anom(s, old, SMTP_ANOM_PENDING_CAP);
		s->info.tx_dropped++;
		tx_end(s, old, old->msg_done ? SMTP_TX_NO_REPLY : abort_outcome(old));
		t = old;
	}
	char *arena = t->arena;
	uint32_t acap = t->acap, rcap = t->rcap;
	struct rcpt_rec *rr = t->rr;
	struct smtp_rcpt *rv = t->rv;
	memset(t, 0, sizeof(*t));
	t->arena = arena;
	t->acap = acap;
	t->rr = rr;
	t->rv = rv;
	t->rcap = rcap;
	t->used = true;
	t->dirty = true;
	t->seq = s->next_seq++;
	t->pub.index = t->seq;
	t->o_helo = t->o_from = t->o_params = t->o_body = t->o_reply = NO_OFF;
	for (int f = 0; f < SMTP_HF_COUNT; f++)
		t->o_hdr[f] = NO_OFF;
	t->o_helo = arena_put(s, t, s->helo.p ? s->helo.p : "", s->helo.len);
	s->info.transactions++;
	return t;
}

static void tx_begin(struct smtp_session *s, struct tx_slot *t)
{
	s->cur = t;
	if (s->cb.tx_begin)
		s->cb.tx_begin(s->ctx, tx_view(s, t));
}

/* DATA or BDAT with no MAIL: follow the message anyway (a server that
 * accepts it would deliver it), as a transaction with an empty envelope. */
static struct tx_slot *tx_implicit(struct smtp_session *s)
{
	struct tx_slot *t = tx_new(s);
	anom(s, t, SMTP_ANOM_OUT_OF_ORDER);
	tx_begin(s, t);
	return t;
}

/* RSET, HELO/EHLO/LHLO, QUIT, STARTTLS: the transaction being built ends
 * with the reply to that command (p), or now when it could not be queued. */
static void tx_detach_abort(struct smtp_session *s, struct pending *p)
{
	struct tx_slot *t = s->cur;
	if (!t)
		return;
	s->cur = NULL;
	t->aborting = true;
	if (p) {
		p->flags |= P_ABORT;
		p->tx_seq = t->seq;
	} else {
		tx_end(s, t, abort_outcome(t));
	}
}

/* ---- message bytes ----------------------------------------------------- */

static void msg_start(struct smtp_session *s, struct tx_slot *t)
{
	t->msg_started = true;
	if (s->lim.max_header_scan && !t->hs_started) {
		t->hs_started = true;
		smtp_header_scan_reset(&s->hs);
		s->hs_active = true;
		s->hs_seq = t->seq;
	}
}

static void emit(struct smtp_session *s, struct tx_slot *t, const uint8_t *p, size_t n)
{
	if (!n)
		return;
	t->pub.message_bytes += n;
	if (s->hs_active && s->hs_seq == t->seq) {
		if (smtp_header_scan_push(&s->hs, p, n) < 0 || smtp_header_scan_done(&s->hs))
			hs_collect(s, t);
	}
	if (s->lim.max_message) {
		uint64_t room = s->lim.max_message - t->delivered;
		if (n > room) {
			n = (size_t)room;
			if (!t->cap_hit) {
				t->cap_hit = true;
				anom(s, t, SMTP_ANOM_MESSAGE_CAP);
			}
		}
		if (!n)
			return;
	}
	t->delivered += n;
	if (s->cb.msg_data)
		s->cb.msg_data(s->ctx, tx_view(s, t), p, n);
}

static bool pq_push(struct smtp_session *s, uint8_t cmd, uint8_t flags, uint32_t seq, uint32_t arg,
		    struct pending **out);

/* The client finished the message: the commit point. */
static void msg_complete(struct smtp_session *s, struct tx_slot *t, bool dot)
{
	t->msg_done = true;
	hs_collect(s, t);
	s->cmode = CM_CMD;
	if (s->cb.msg_end)
		s->cb.msg_end(s->ctx, tx_view(s, t));
	if (dot)
		pq_push(s, C_DOT, 0, t->seq, 0, NULL);
	s->cur = NULL;
	if (t->defer)
		tx_end(s, t, (enum smtp_outcome)(t->defer - 1));
}

static const uint8_t cr_byte = '\r';

/* DATA body: dot-unstuffing and the CRLF.CRLF end.  Runs of message bytes
 * are handed on as slices of the input; only a stuffing dot breaks a run. */
static size_t data_feed(struct smtp_session *s, const uint8_t *p, size_t len)
{
	struct tx_slot *t = s->cur;
	const uint8_t *run = NULL;
	size_t i = 0;
	t->data_consumed = true;
	while (i < len) {
		switch (s->dstate) {
		case DS_LINE_START:
			if (p[i] == '.') {
				if (run)
					emit(s, t, run, (size_t)(p + i - run));
				run = NULL;
				s->dstate = DS_DOT;
				i++;
				break;
			}
			s->dstate = DS_MID;
			/* fall through */
		case DS_MID: {
			if (!run)
				run = p + i;
			const uint8_t *nl = memchr(p + i, '\n', len - i);
			if (!nl) {
				i = len;
				break;
			}
			size_t k = (size_t)(nl - p);
			bool cr = k > i ? p[k - 1] == '\r' : s->prev_cr;
			i = k + 1;
			s->prev_cr = false;
			if (cr) {
				s->dstate = DS_LINE_START;
			} else {
				anom(s, t, SMTP_ANOM_BARE_LF);
				s->dstate = DS_MID;
			}
			break;
		}
		case DS_DOT:
			if (p[i] == '\r') {
				s->dstate = DS_DOT_CR;
				i++;
			} else if (p[i] == '\n') {
				/* ".\n" is not the end (see the top comment) */
				anom(s, t, SMTP_ANOM_BARE_LF);
				run = p + i;
				i++;
				s->prev_cr = false;
				s->dstate = DS_MID;
			} else {
				s->prev_cr = false;
				s->dstate = DS_MID; /* the stuffing dot is dropped */
			}
			break;
		case DS_DOT_CR:
			if (p[i] == '\n') {
				s->dstate = DS_LINE_START;
				msg_complete(s, t, true);
				return i + 1;
			}
			/* ".\r" then something else: dot dropped, the CR is data */
			emit(s, t, &cr_byte, 1);
			s->prev_cr = true;
			s->dstate = DS_MID;
			break;
		}
	}
	if (run)
		emit(s, t, run, (size_t)(p + len - run));
	if (s->dstate == DS_MID)
		s->prev_cr = p[len - 1] == '\r';
	return len;
}

static void bdat_chunk_done(struct smtp_session *s)
{
	struct tx_slot *t = s->cur;
	s->cmode = CM_CMD;
	if (t && s->bdat_last)
		msg_complete(s, t, false);
}

static size_t bdat_feed(struct smtp_session *s, const uint8_t *p, size_t len)
{
	size_t n = len < s->bdat_left ? len : (size_t)s->bdat_left;
	if (s->cur) {
		s->cur->data_consumed = true;
		emit(s, s->cur, p, n);
	}
	s->bdat_left -= n;
	if (s->bdat_left == 0)
		bdat_chunk_done(s);
	return n;
}

/* ---- pending replies --------------------------------------------------- */

static bool pq_push(struct smtp_session *s, uint8_t cmd, uint8_t flags, uint32_t seq, uint32_t arg,
		    struct pending **out)
{
	if (out)
		*out = NULL;
	if (s->lim.max_pending == 0 || s->pq_len >= s->lim.max_pending) {
		s->info.pending_dropped++;
		anom(s, s->cur, SMTP_ANOM_PENDING_CAP);
		return false;
	}
	if (!s->pq) {
		s->pq = mem_alloc(s, (size_t)s->lim.max_pending * sizeof(*s->pq));
		if (!s->pq) {
			s->info.pending_dropped++;
			return false;
		}
	}
	struct pending *p = &s->pq[(s->pq_head + s->pq_len) % s->lim.max_pending];
	s->pq_len++;
	p->cmd = cmd;
	p->flags = flags;
	p->tx_seq = seq;
	p->arg = arg;
	if (out)
		*out = p;
	return true;
}

/* ---- command table ----------------------------------------------------- */

struct cmd_def {
	const char *verb;
	/* validation only: anomaly bits for this command line (0 when fine) */
	uint32_t (*check)(struct smtp_session *s, const char *arg);
	/* the client sent it: act and queue (returns false for no reply expected) */
	void (*command)(struct smtp_session *s, enum cmd_id id, const char *arg);
	/* its complete reply arrived */
	void (*reply)(struct smtp_session *s, const struct pending *p, int code, const char *text);
};

static uint32_t check_none(struct smtp_session *s, const char *arg)
{
	return *arg ? SMTP_ANOM_BAD_COMMAND : 0;
}

static uint32_t check_arg(struct smtp_session *s, const char *arg)
{
	return *arg ? 0 : SMTP_ANOM_BAD_COMMAND;
}

static uint32_t check_any(struct smtp_session *s, const char *arg)
{
	return 0;
}

static uint32_t check_in_tx(struct smtp_session *s, const char *arg)
{
	return s->cur ? 0 : SMTP_ANOM_OUT_OF_ORDER;
}

static void cmd_simple(struct smtp_session *s, enum cmd_id id, const char *arg)
{
	pq_push(s, (uint8_t)id, 0, 0, 0, NULL);
}

static void reply_ignore(struct smtp_session *s, const struct pending *p, int code, const char *text)
{
}

static void reply_abort(struct smtp_session *s, const struct pending *p, int code, const char *text)
{
	struct tx_slot *t;
	if ((p->flags & P_ABORT) && (t = tx_find(s, p->tx_seq)) != NULL)
		tx_end(s, t, abort_outcome(t));
}

static void cmd_reset(struct smtp_session *s, enum cmd_id id, const char *arg)
{
	struct pending *p;
	pq_push(s, (uint8_t)id, 0, 0, 0, &p);
	tx_detach_abort(s, p);
}

static void cmd_helo(struct smtp_session *s, enum cmd_id id, const char *arg)
{
	size_t n = strlen(arg);
	while (n > 0 && is_sp(arg[n - 1]))
		n--;
	if (!sbuf_put(s, &s->helo, s->lim.max_field, arg, n, false))
		anom(s, s->cur, SMTP_ANOM_FIELD_TRUNCATED);
	cmd_reset(s, id, arg);
}

/* Parse "FROM:<path> params" / "TO:<path> params".  Tolerates case, blanks
 * around the colon, a missing colon (anomaly) and a path without <>. */
static bool parse_path(const char *arg, const char *kw, const char **addr, size_t *alen,
		       const char **rest)
{
	bool ok = true;
	const char *p = skip_sp(arg);
	if (prefix_ci(p, kw))
		p += strlen(kw);
	else
		ok = false;
	p = skip_sp(p);
	if (*p == ':')
		p++;
	else
		ok = false;
	p = skip_sp(p);
	if (*p == '<') {
		const char *a = ++p;
		bool quoted = false;
		while (*p && (quoted || *p != '>')) {
			if (*p == '"')
				quoted = !quoted;
			else if (*p == '\\' && quoted && p[1])
				p++;
			p++;
		}
		*addr = a;
		*alen = (size_t)(p - a);
		if (*p == '>')
			p++;
		else
			ok = false;
	} else {
		const char *a = p;
		while (*p && !is_sp(*p))
			p++;
		*addr = a;
		*alen = (size_t)(p - a);
	}
	*rest = skip_sp(p);
	return ok;
}

static uint32_t parse_u64(const char *p, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	if (n == 0 || n > 19)
		return 1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return 1;
		x = x * 10 + (uint64_t)(p[i] - '0');
	}
	*v = x;
	return 0;
}

static void mail_params(struct smtp_session *s, struct tx_slot *t, const char *p)
{
	while (*(p = skip_sp(p))) {
		const char *e = p;
		while (*e && !is_sp(*e))
			e++;
		size_t n = (size_t)(e - p);
		if (n > 5 && prefix_ci(p, "SIZE=")) {
			uint64_t v;
			if (parse_u64(p + 5, n - 5, &v) == 0) {
				t->pub.size_param = v;
				t->pub.has_size_param = true;
			} else {
				anom(s, t, SMTP_ANOM_BAD_COMMAND);
			}
		} else if (n > 5 && prefix_ci(p, "BODY=")) {
			t->o_body = arena_put(s, t, p + 5, n - 5);
		} else if (n == 8 && prefix_ci(p, "SMTPUTF8")) {
			t->pub.smtputf8 = true;
		}
		p = e;
	}
}

static void cmd_mail(struct smtp_session *s, enum cmd_id id, const char *arg)
{
	if (s->cur) {
		/* MAIL inside a transaction: the old one cannot go on */
		anom(s, s->cur, SMTP_ANOM_OUT_OF_ORDER);
		tx_end(s, s->cur, abort_outcome(s->cur));
	}
	struct tx_slot *t = tx_new(s);
	const char *addr, *rest;
	size_t alen;
	if (!parse_path(arg, "FROM", &addr, &alen, &rest))
		anom(s, t, SMTP_ANOM_BAD_COMMAND);
	t->o_from = arena_put(s, t, addr, alen);
	t->o_params = arena_put(s, t, rest, strlen(rest));
	mail_params(s, t, rest);
	tx_begin(s, t);
	pq_push(s, C_MAIL, 0, t->seq, 0, NULL);
}

static void reply_mail(struct smtp_session *s, const struct pending *p, int code, const char *text)
{
	struct tx_slot *t = tx_find(s, p->tx_seq);
	if (!t || code / 100 == 2)
		return;
	tx_set_reply(s, t, code, text);
	tx_finish(s, t, SMTP_TX_REJECTED);
}

/* Recipient records and their public view share one block, grown by doubling
 * up to max_rcpt. */
static bool rcpt_room(struct smtp_session *s, struct tx_slot *t)
{
	if (t->pub.rcpt_count < t->rcap)
		return true;
	uint32_t cap = t->rcap ? t->rcap * 2 : 4;
	if (cap > s->lim.max_rcpt || cap < t->rcap)
		cap = s->lim.max_rcpt;
	size_t unit = sizeof(struct rcpt_rec) + sizeof(struct smtp_rcpt);
	char *blk = mem_alloc(s, (size_t)cap * unit);
	if (!blk)
		return false;
	struct smtp_rcpt *rv = (struct smtp_rcpt *)blk;
	struct rcpt_rec *rr = (struct rcpt_rec *)(blk + (size_t)cap * sizeof(struct smtp_rcpt));
	if (t->rcap) {
		memcpy(rr, t->rr, (size_t)t->rcap * sizeof(*rr));
		s->mem -= (size_t)t->rcap * unit;
		free(t->rv);
	}
	t->rv = rv;
	t->rr = rr;
	t->rcap = cap;
	t->dirty = true;
	return true;
}

static void cmd_rcpt(struct smtp_session *s, enum cmd_id id, const char *arg)
{
	struct tx_slot *t = s->cur;
	if (!t) {
		pq_push(s, C_RCPT, 0, UINT32_MAX, NO_IDX, NULL);
		return;
	}
	const char *addr, *rest;
	size_t alen;
	if (!parse_path(arg, "TO", &addr, &alen, &rest))
		anom(s, t, SMTP_ANOM_BAD_COMMAND);
	uint32_t idx = NO_IDX;
	if (t->pub.rcpt_count < s->lim.max_rcpt && rcpt_room(s, t)) {
		idx = t->pub.rcpt_count++;
		t->rr[idx].addr = arena_put(s, t, addr, alen);
		t->rr[idx].params = arena_put(s, t, rest, strlen(rest));
		t->rr[idx].code = 0;
		t->dirty = true;
	} else {
		t->pub.rcpt_dropped++;
		anom(s, t, SMTP_ANOM_RCPT_CAP);
	}
	pq_push(s, C_RCPT, 0, t->seq, idx, NULL);
}

static void reply_rcpt(struct smtp_session *s, const struct pending *p, int code, const char *text)
{
	struct tx_slot *t = tx_find(s, p->tx_seq);
	if (t && p->arg != NO_IDX && p->arg < t->pub.rcpt_count) {
		t->rr[p->arg].code = code;
		t->dirty = true;
	}
}

static struct tx_slot *tx_for_message(struct smtp_session *s)
{
	struct tx_slot *t = s->cur;
	if (!t)
		return tx_implicit(s);
	if (t->pub.rcpt_count == 0 && t->pub.rcpt_dropped == 0)
		anom(s, t, SMTP_ANOM_OUT_OF_ORDER);
	return t;
}

static void cmd_data(struct smtp_session *s, enum cmd_id id, const char *arg)
{
	struct tx_slot *t = tx_for_message(s);
	if (t->pub.method)
		anom(s, t, SMTP_ANOM_OUT_OF_ORDER);
	t->pub.method = "DATA";
	t->data_consumed = false;
	msg_start(s, t);
	/* optimistic: a client waits for 354 before sending, so what follows
	 * the DATA line is the message unless the reply says otherwise */
	s->cmode = CM_DATA;
	s->dstate = DS_LINE_START;
	s->prev_cr = false;
	pq_push(s, C_DATA, 0, t->seq, 0, NULL);
}

static void reply_data(struct smtp_session *s, const struct pending *p, int code, const char *text)
{
	struct tx_slot *t = tx_find(s, p->tx_seq);
	if (t && code == 354)
		t->data_go = true;
	if (!t || code == 354)
		return;
	if (s->cur == t && s->cmode == CM_DATA && !t->data_consumed) {
		/* refused before any message byte: back to commands */
		s->cmode = CM_CMD;
		t->msg_started = false;
		t->hs_started = false;
		t->pub.method = NULL;
		if (s->hs_active && s->hs_seq == t->seq)
			s->hs_active = false;
	} else if (t->msg_started) {
		anom(s, t, SMTP_ANOM_DATA_REJECTED);
	}
	tx_set_reply(s, t, code, text);
	tx_finish(s, t, SMTP_TX_REJECTED);
}

static void reply_final(struct smtp_session *s, const struct pending *p, int code, const char *text)
{
	struct tx_slot *t = tx_find(s, p->tx_seq);
	if (!t)
		return;
	if (code / 100 == 1 || code / 100 == 3) {
		/* 1xx/3xx cannot end a transaction: replies and commands are out
		 * of step (a lost reply); wait for the close rather than invent
		 * an outcome */
		anom(s, t, SMTP_ANOM_UNEXPECTED_REPLY);
		return;
	}
	tx_set_reply(s, t, code, text);
	tx_finish(s, t, code / 100 == 2 ? SMTP_TX_ACCEPTED : SMTP_TX_REJECTED);
}

/* BDAT size [LAST] */
static bool parse_bdat(const char *arg, uint64_t *size, bool *last)
{
	const char *p = skip_sp(arg), *e = p;
	while (*e >= '0' && *e <= '9')
		e++;
	if (parse_u64(p, (size_t)(e - p), size) || *size > BDAT_MAX_SIZE)
		return false;
	if (*e && !is_sp(*e))
		return false;
	p = skip_sp(e);
	*last = false;
	if (prefix_ci(p, "LAST")) {
		*last = true;
		p = skip_sp(p + 4);
	}
	return *p == '\0';
}

static void cmd_bdat(struct smtp_session *s, enum cmd_id id, const char *arg)
{
	uint64_t size;
	bool last;
	if (!parse_bdat(arg, &size, &last)) {
		/* the server answers 501 and reads the next bytes as commands:
		 * so do we */
		anom(s, s->cur, SMTP_ANOM_BDAT_INVALID);
		pq_push(s, C_BDAT_BAD, 0, 0, 0, NULL);
		return;
	}
	struct tx_slot *t = s->cur;
	if (!t || !t->msg_started)
		t = tx_for_message(s);
	if (t->pub.method && strcmp(t->pub.method, "BDAT") != 0)
		anom(s, t, SMTP_ANOM_OUT_OF_ORDER);
	t->pub.method = "BDAT";
	t->pub.bdat_chunks++;
	msg_start(s, t);
	pq_push(s, C_BDAT, last ? P_LAST : 0, t->seq, 0, NULL);
	s->cmode = CM_BDAT;
	s->bdat_left = size;
	s->bdat_last = last;
	if (size == 0)
		bdat_chunk_done(s);
}

static void reply_bdat(struct smtp_session *s, const struct pending *p, int code, const char *text)
{
	struct tx_slot *t = tx_find(s, p->tx_seq);
	if (!t)
		return;
	if (p->flags & P_LAST) {
		reply_final(s, p, code, text);
	} else if (code / 100 != 2) {
		tx_set_reply(s, t, code, text);
		tx_finish(s, t, SMTP_TX_REJECTED);
	}
}

static void cmd_starttls(struct smtp_session *s, enum cmd_id id, const char *arg)
{
	pq_push(s, C_STARTTLS, 0, 0, 0, NULL);
	/* the client sends nothing in clear text before the reply; what it
	 * sends after a 220 is TLS, so hold off parsing until we know */
	s->cmode = CM_TLS_WAIT;
}

static void reply_starttls(struct smtp_session *s, const struct pending *p, int code, const char *text)
{
	if (code == 220) {
		s->encrypted = true;
		s->info.starttls = true;
		if (s->cur && !mid_message(s, s->cur))
			tx_end(s, s->cur, abort_outcome(s->cur));
		if (s->cb.starttls)
			s->cb.starttls(s->ctx);
		return;
	}
	if (s->cmode == CM_TLS_WAIT) {
		s->cmode = CM_CMD;
		if (s->la[SMTP_FROM_CLIENT].total || s->la[SMTP_FROM_CLIENT].skipping)
			s->la[SMTP_FROM_CLIENT].skipping = true;
	}
}

static uint32_t check_auth(struct smtp_session *s, const char *arg)
{
	uint32_t a = 0;
	if (s->info.auth_outcome == SMTP_AUTH_SUCCESS || s->cur)
		a |= SMTP_ANOM_OUT_OF_ORDER;
	if (!*arg)
		a |= SMTP_ANOM_BAD_COMMAND;
	return a;
}

static void cmd_auth(struct smtp_session *s, enum cmd_id id, const char *arg)
{
	/* keep the mechanism name only; the initial response is a credential */
	char mech[MECH_MAX];
	size_t n = 0;
	for (const char *p = arg; *p && !is_sp(*p) && n < MECH_MAX; p++) {
		char c = up(*p);
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
			anom(s, s->cur, SMTP_ANOM_BAD_COMMAND);
			break;
		}
		mech[n++] = c;
	}
	sbuf_put(s, &s->mech, MECH_MAX, mech, n, false);
	s->info.auth_outcome = SMTP_AUTH_PENDING;
	pq_push(s, C_AUTH, 0, 0, 0, NULL);
	s->cmode = CM_AUTH;
}

static void reply_auth(struct smtp_session *s, const struct pending *p, int code, const char *text)
{
	s->info.auth_outcome = code / 100 == 2 ? SMTP_AUTH_SUCCESS : SMTP_AUTH_FAILURE;
	if (s->cmode == CM_AUTH)
		s->cmode = CM_CMD;
}

static const struct cmd_def cmd_table[C_COUNT] = {
	[C_HELO] = { "HELO", check_arg, cmd_helo, reply_abort },
	[C_EHLO] = { "EHLO", check_arg, cmd_helo, reply_abort },
	[C_LHLO] = { "LHLO", check_arg, cmd_helo, reply_abort },
	[C_MAIL] = { "MAIL", check_arg, cmd_mail, reply_mail },
	[C_RCPT] = { "RCPT", check_in_tx, cmd_rcpt, reply_rcpt },
	[C_DATA] = { "DATA", check_none, cmd_data, reply_data },
	[C_BDAT] = { "BDAT", check_arg, cmd_bdat, reply_bdat },
	[C_RSET] = { "RSET", check_none, cmd_reset, reply_abort },
	[C_NOOP] = { "NOOP", check_any, cmd_simple, reply_ignore },
	[C_VRFY] = { "VRFY", check_arg, cmd_simple, reply_ignore },
	[C_EXPN] = { "EXPN", check_arg, cmd_simple, reply_ignore },
	[C_HELP] = { "HELP", check_any, cmd_simple, reply_ignore },
	[C_QUIT] = { "QUIT", check_none, cmd_reset, reply_abort },
	[C_STARTTLS] = { "STARTTLS", check_none, cmd_starttls, reply_starttls },
	[C_AUTH] = { "AUTH", check_auth, cmd_auth, reply_auth },
	[C_UNKNOWN] = { NULL, NULL, NULL, reply_ignore },
	[C_DOT] = { NULL, NULL, NULL, reply_final },
	[C_BDAT_BAD] = { NULL, NULL, NULL, reply_ignore },
};

/* ---- line assembly ----------------------------------------------------- */

/* Takes bytes up to and including the next LF.  Returns the bytes used;
 * *complete tells whether la->buf now holds a whole line (CR stripped,
 * NUL-terminated, at most max_line bytes). */
static size_t la_push(struct smtp_session *s, struct lineasm *la, const uint8_t *p, size_t n,
		      bool *complete)
{
	const uint8_t *nl = memchr(p, '\n', n);
	size_t take = nl ? (size_t)(nl - p) : n;
	*complete = false;
	if (!la->skipping && take) {
		if (!la->buf) {
			la->buf = mem_alloc(s, (size_t)s->lim.max_line + 1);
			if (!la->buf) {
				la->skipping = true;
				take = 0;
			}
		}
		size_t room = la->buf ? s->lim.max_line - la->len : 0;
		size_t c = take < room ? take : room;
		if (c)
			memcpy(la->buf + la->len, p, c);
		la->len += (uint32_t)c;
		if (take > room && la->buf)
			la->too_long = true; /* the rest of the line is skipped, not kept */
	}
	if (take) {
		la->total += take;
		la->last_cr = p[take - 1] == '\r';
	}
	if (!nl)
		return n;
	if (la->skipping) {
		/* resynchronised: the line in progress is dropped */
		la->skipping = false;
		la->resynced = true;
		la->len = 0;
		la->total = 0;
		la->too_long = false;
		la->last_cr = false;
		return take + 1;
	}
	*complete = true;
	return take + 1;
}

static void la_done(struct lineasm *la)
{
	la->len = 0;
	la->total = 0;
	la->too_long = false;
	la->last_cr = false;
}

/* Finish a line: strip CR, flag bare LF, long lines and NULs. */
static char *la_line(struct smtp_session *s, struct lineasm *la, struct tx_slot *t, size_t *len)
{
	static char empty[1]; /* never written: a line of length 0 */
	char *b = la->buf ? la->buf : empty;
	if (la->total == 0 || !la->last_cr)
		anom(s, t, SMTP_ANOM_BARE_LF);
	else if (la->len > 0 && !la->too_long && b[la->len - 1] == '\r')
		la->len--;
	if (la->too_long) {
		anom(s, t, SMTP_ANOM_LINE_TOO_LONG);
		s->info.lines_truncated++;
	}
	if (la->buf) {
		b[la->len] = '\0';
		if (memchr(b, '\0', la->len))
			anom(s, t, SMTP_ANOM_NUL_BYTE);
	}
	*len = la->len;
	return b;
}

/* ---- client lines ------------------------------------------------------ */

static bool is_auth_data(const char *l, size_t n)
{
	if (n == 1 && l[0] == '*')
		return true;
	for (size_t i = 0; i < n; i++) {
		char c = l[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '/' || c == '='))
			return false;
	}
	return true;
}

/* The command id whose verb starts line (followed by a space or the end),
 * C_UNKNOWN if none.  *vlen gets the verb's length. */
static int verb_lookup(const char *line, size_t len, size_t *vlen)
{
	char verb[12];
	size_t vn = 0;
	while (vn < len && !is_sp(line[vn]) && vn < sizeof(verb) - 1) {
		verb[vn] = up(line[vn]);
		vn++;
	}
	verb[vn] = '\0';
	*vlen = vn;
	if (vn < len && !is_sp(line[vn]))
		return C_UNKNOWN;
	for (int id = 0; id < C_UNKNOWN; id++)
		if (strcmp(cmd_table[id].verb, verb) == 0)
			return id;
	return C_UNKNOWN;
}

static void client_line(struct smtp_session *s, char *line, size_t len)
{
	if (s->cmode == CM_AUTH) {
		if (is_auth_data(line, len)) {
			/* a credential: counted, wiped, never kept */
			s->info.auth_lines++;
			memset(line, 0, len);
			return;
		}
		s->cmode = CM_CMD; /* not base64: the client moved on */
	}
	size_t vn;
	int id = verb_lookup(line, len, &vn);
	const char *arg = skip_sp(line + vn);
	s->info.commands++;
	if (id != C_UNKNOWN) {
		uint32_t a = cmd_table[id].check(s, arg);
		if (a)
			anom(s, s->cur, a);
		cmd_table[id].command(s, (enum cmd_id)id, arg);
		if (id == C_AUTH)
			memset(line, 0, len); /* may hold an initial response */
		return;
	}
	anom(s, s->cur, SMTP_ANOM_BAD_COMMAND);
	pq_push(s, C_UNKNOWN, 0, 0, 0, NULL);
}

static void client_feed(struct smtp_session *s, const uint8_t *p, size_t len)
{
	struct lineasm *la = &s->la[SMTP_FROM_CLIENT];
	while (len && !s->encrypted) {
		size_t n;
		bool complete;
		if ((s->cmode == CM_DATA || s->cmode == CM_BDAT) && !s->cur)
			s->cmode = CM_CMD; /* cannot happen; keeps data_feed's invariant */
		switch (s->cmode) {
		case CM_DATA:
			n = data_feed(s, p, len);
			break;
		case CM_BDAT:
			n = bdat_feed(s, p, len);
			break;
		case CM_TLS_WAIT:
			n = len;
			s->info.ignored_bytes += len;
			break;
		default:
			n = la_push(s, la, p, len, &complete);
			la->resynced = false;
			if (complete) {
				size_t ll, vn;
				char *line = la_line(s, la, s->cur, &ll);
				if (la->after_gap) {
					/* The gap may have ended on a line start (a whole
					 * segment lost) or inside a line.  A line that
					 * begins with a command verb is taken as whole;
					 * anything else is the tail of a torn line. */
					la->after_gap = false;
					if (s->cmode == CM_AUTH ||
					    verb_lookup(line, ll, &vn) == C_UNKNOWN) {
						la_done(la);
						break;
					}
				}
				client_line(s, line, ll);
				la_done(la);
			}
			break;
		}
		p += n;
		len -= n;
	}
	if (len)
		s->info.ignored_bytes += len;
}

/* ---- server lines ------------------------------------------------------ */

static struct tx_slot *reply_tx(struct smtp_session *s)
{
	if (!s->pq_len)
		return NULL;
	const struct pending *p = &s->pq[s->pq_head];
	return p->cmd == C_HELO || p->cmd == C_EHLO || p->cmd == C_LHLO || p->cmd == C_RSET ||
			       p->cmd == C_QUIT
		       ? NULL
		       : tx_find(s, p->tx_seq);
}

/* The server answered while we still read the client's bytes as the message
 * (no command is waiting for a reply, the 354 came): the server ended the
 * message before CRLF.CRLF -- some servers accept CRLF "." LF -- or cut it
 * short.  Follow the server: the message ends here, and the client's next
 * bytes are commands from the next line that starts with a verb.  The bytes
 * after the server's end were handed on as message bytes: they stay
 * inspected rather than being lost. */
static void data_ended_by_server(struct smtp_session *s)
{
	struct tx_slot *t = s->cur;
	anom(s, t, SMTP_ANOM_SERVER_ENDED_DATA);
	msg_complete(s, t, true);
	s->dstate = DS_LINE_START;
	s->prev_cr = false;
	la_done(&s->la[SMTP_FROM_CLIENT]);
	s->la[SMTP_FROM_CLIENT].after_gap = true;
}

static void server_line(struct smtp_session *s, const char *line, size_t len)
{
	struct tx_slot *t = reply_tx(s);
	if (len < 3 || line[0] < '0' || line[0] > '9' || line[1] < '0' || line[1] > '9' ||
	    line[2] < '0' || line[2] > '9' || (len > 3 && line[3] != ' ' && line[3] != '-')) {
		anom(s, t, SMTP_ANOM_BAD_REPLY);
		return;
	}
	int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	bool last = len == 3 || line[3] == ' ';
	const char *text = len > 4 ? line + 4 : "";
	if (!s->in_reply) {
		if (!s->await_greeting && s->pq_len == 0 && s->cmode == CM_DATA && s->cur &&
		    s->cur->data_go && code >= 200)
			data_ended_by_server(s);
		s->in_reply = true;
		s->rline = 0;
		s->rcode = code;
		/* picked up mid-session: a first reply that cannot be a greeting
		 * answers the first command */
		if (s->await_greeting && s->pq_len && code != 220 && code != 421 && code != 554)
			s->await_greeting = false;
		s->reply_orphan = !s->await_greeting && s->pq_len == 0;
		if (s->reply_orphan)
			anom(s, NULL, SMTP_ANOM_UNEXPECTED_REPLY);
	} else if (code != s->rcode) {
		anom(s, t, SMTP_ANOM_BAD_REPLY);
	}
	if (s->await_greeting) {
		if (s->rline == 0)
			sbuf_put(s, &s->banner, s->lim.max_line, line, len, false);
	} else if (!s->reply_orphan) {
		const struct pending *p = &s->pq[s->pq_head];
		if ((p->cmd == C_EHLO || p->cmd == C_LHLO) && code == 250) {
			/* the first line greets; the others are extension keywords */
			if (s->rline == 0)
				sbuf_put(s, &s->caps, s->lim.max_line, "", 0, false);
			else if (!sbuf_put(s, &s->caps, s->lim.max_line, text, strlen(text), true))
				anom(s, NULL, SMTP_ANOM_FIELD_TRUNCATED);
		}
	}
	s->rline++;
	if (!last)
		return;
	s->in_reply = false;
	s->info.replies++;
	if (s->await_greeting) {
		s->await_greeting = false;
		return;
	}
	if (s->reply_orphan)
		return;
	struct pending p = s->pq[s->pq_head];
	if (p.cmd == C_AUTH && code == 334)
		return; /* a challenge: the exchange goes on */
	s->pq_head = (s->pq_head + 1) % s->lim.max_pending;
	s->pq_len--;
	cmd_table[p.cmd].reply(s, &p, code, text);
}

static void server_feed(struct smtp_session *s, const uint8_t *p, size_t len)
{
	struct lineasm *la = &s->la[SMTP_FROM_SERVER];
	while (len && !s->encrypted) {
		bool complete;
		size_t n = la_push(s, la, p, len, &complete);
		if (complete) {
			size_t ll;
			char *line = la_line(s, la, reply_tx(s), &ll);
			server_line(s, line, ll);
			la_done(la);
		}
		p += n;
		len -= n;
	}
	if (len)
		s->info.ignored_bytes += len;
}

/* ---- public API -------------------------------------------------------- */

struct smtp_session *smtp_session_new(const struct smtp_limits *limits,
				      const struct smtp_callbacks *cb, void *ctx)
{
	struct smtp_session *s = calloc(1, sizeof(*s));
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	s->mem = sizeof(*s);
	if (limits)
		s->lim = *limits;
	else
		smtp_limits_default(&s->lim);
	if (s->lim.max_line < 16)
		s->lim.max_line = 16; /* room for any verb and reply code */
	if (cb)
		s->cb = *cb;
	s->ctx = ctx;
	s->await_greeting = true;
	smtp_header_scan_init(&s->hs, s->lim.max_field, s->lim.max_header_scan);
	info_sync(s);
	return s;
}

void smtp_session_free(struct smtp_session *s)
{
	if (!s)
		return;
	for (int i = 0; i < TX_SLOTS; i++) {
		free(s->slots[i].arena);
		free(s->slots[i].rv); /* rr lives in the same block */
	}
	free(s->la[0].buf);
	free(s->la[1].buf);
	free(s->pq);
	free(s->banner.p);
	free(s->helo.p);
	free(s->caps.p);
	free(s->mech.p);
	smtp_header_scan_free(&s->hs);
	free(s);
}

void smtp_session_feed(struct smtp_session *s, enum smtp_dir dir, const uint8_t *data, size_t len)
{
	if (!s || s->closed || !len)
		return;
	if (s->encrypted) {
		s->info.ignored_bytes += len;
		return;
	}
	if (dir == SMTP_FROM_CLIENT)
		client_feed(s, data, len);
	else
		server_feed(s, data, len);
}

/* Choices per mode, so later bytes still parse:
 * - command/reply/AUTH lines: the partial line is dropped and parsing
 *   resumes after the next LF (a line start we can trust);
 * - DATA: the message has a hole; message_bytes counts real bytes only; we
 *   cannot know whether the gap ended on a line start, so dot handling
 *   resumes after the next CRLF; the header scan stops (its fields may be
 *   torn);
 * - BDAT: the gap uses up the chunk's remaining count; any excess falls into
 *   the command stream, which then resynchronises like above. */
void smtp_session_gap(struct smtp_session *s, enum smtp_dir dir, uint64_t len)
{
	if (!s || s->closed || s->encrypted || !len)
		return;
	s->info.gap_bytes += len;
	if (dir == SMTP_FROM_SERVER) {
		anom(s, reply_tx(s), SMTP_ANOM_GAP);
		s->la[SMTP_FROM_SERVER].skipping = true;
		return;
	}
	struct tx_slot *t = s->cur;
	anom(s, t, SMTP_ANOM_GAP);
	switch (s->cmode) {
	case CM_DATA:
		t->data_consumed = true;
		s->dstate = DS_MID;
		s->prev_cr = false;
		hs_collect(s, t);
		return;
	case CM_BDAT:
		if (t)
			hs_collect(s, t);
		if (len < s->bdat_left) {
			s->bdat_left -= len;
			return;
		}
		len -= s->bdat_left;
		s->bdat_left = 0;
		bdat_chunk_done(s);
		if (!len)
			return;
		break;
	case CM_TLS_WAIT:
		return;
	case CM_AUTH:
		break;
	default:
		/* The server answers the command the gap ate, perhaps in the
		 * very packet that told us of the gap: queue it now so that
		 * reply finds its place.  (Several lost pipelined commands
		 * would need several; one is the common case of a lost
		 * segment.) */
		s->info.commands++;
		pq_push(s, C_UNKNOWN, 0, 0, 0, NULL);
		break;
	}
	la_done(&s->la[SMTP_FROM_CLIENT]);
	s->la[SMTP_FROM_CLIENT].after_gap = true;
}

void smtp_session_close(struct smtp_session *s)
{
	if (!s || s->closed)
		return;
	/* in transaction order, so the events do not depend on slot reuse */
	for (;;) {
		struct tx_slot *t = NULL;
		for (int i = 0; i < TX_SLOTS; i++)
			if (s->slots[i].used && (!t || s->slots[i].seq < t->seq))
				t = &s->slots[i];
		if (!t)
			break;
		enum smtp_outcome o;
		if (t->aborting || t->defer)
			o = abort_outcome(t);
		else if (t->msg_done)
			o = SMTP_TX_NO_REPLY;
		else
			o = SMTP_TX_INCOMPLETE;
		if (o == SMTP_TX_INCOMPLETE && t->msg_started)
			anom(s, t, SMTP_ANOM_INCOMPLETE);
		if (s->cur == t)
			s->cur = NULL;
		tx_end(s, t, o);
	}
	s->closed = true;
}

const struct smtp_session_info *smtp_session_info(const struct smtp_session *s)
{
	return &s->info;
}

bool smtp_session_encrypted(const struct smtp_session *s)
{
	return s->encrypted;
}

int smtp_detect_greeting(const uint8_t *data, size_t len)
{
	static const char pfx[3] = { '2', '2', '0' };
	for (size_t i = 0; i < 4; i++) {
		if (i >= len)
			return -1;
		if (i < 3 ? data[i] != (uint8_t)pfx[i] : (data[i] != ' ' && data[i] != '-'))
			return 0;
	}
	/* then printable text up to the line end, within a reasonable length */
	for (size_t i = 4; i < len; i++) {
		uint8_t c = data[i];
		if (c == '\n')
			return i > 4 ? 1 : 0;
		if (c == '\r' && i + 1 < len && data[i + 1] != '\n')
			return 0;
		if (c < 0x20 && c != '\t' && c != '\r')
			return 0;
		if (c == 0x7f)
			return 0;
		if (i >= 1000)
			return 0;
	}
	return -1;
}

size_t smtp_session_memory(const struct smtp_session *s)
{
	return s->mem + smtp_header_scan_memory(&s->hs);
}
