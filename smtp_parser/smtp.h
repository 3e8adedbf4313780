/* SMTP session reconstruction from the two byte streams of one connection.
 *
 * An incremental state machine: feed it the client's and the server's bytes in
 * any chunking (byte by byte gives the same events as whole buffers), tell it
 * about gaps and the end of the session, and it reports transactions through
 * struct smtp_callbacks.  It knows nothing about packets, time or policy.
 *
 * Every buffer is capped (struct smtp_limits); a cap that is hit sets an
 * anomaly bit on the transaction or session and is counted, never cuts a
 * message short silently.
 *
 * Decisions callers may rely on (details at the top of smtp.c):
 * - DATA ends only on CRLF "." CRLF; a bare LF never ends a line in the body
 *   (SMTP_ANOM_BARE_LF is set), so a smuggled "\n.\n" stays message content.
 * - ABORTED is reported when the reply to RSET/HELO/EHLO/QUIT arrives (or at
 *   close), so the record holds every earlier reply.
 * - A pipelining client may begin transaction N+1 before N's final reply:
 *   tx_begin(N+1) can precede tx_end(N).  Per transaction the order is always
 *   tx_begin, msg_data*, msg_end?, tx_end.
 * - DATA/BDAT without MAIL opens a transaction with an empty envelope
 *   (SMTP_ANOM_OUT_OF_ORDER): a server that accepts it delivers a message. */
#ifndef POSTERN_SMTP_PARSER_SMTP_H
#define POSTERN_SMTP_PARSER_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum smtp_dir {
	SMTP_FROM_CLIENT = 0, /* same value as FLOW_DIR_TO_SERVER */
	SMTP_FROM_SERVER = 1,
};

struct smtp_limits {
	uint32_t max_line;        /* command/reply line bytes kept (longer: truncated, anomaly) */
	uint32_t max_pending;     /* pipelined commands waiting for their replies */
	uint32_t max_rcpt;        /* recipients kept per transaction; more are counted */
	uint32_t max_field;       /* bytes kept of an address, parameter or header field */
	uint32_t max_header_scan; /* message header bytes scanned for Subject/From/... */
	uint64_t max_message;     /* message bytes handed to msg_data; 0 = no cap.
	                           * Past it the transaction is still followed to its
	                           * end and message_bytes still counts. */
};

void smtp_limits_default(struct smtp_limits *l);

/* Bits in smtp_transaction.anomalies and smtp_session_info.anomalies. */
enum smtp_anomaly {
	SMTP_ANOM_LINE_TOO_LONG = 1u << 0,
	SMTP_ANOM_BAD_COMMAND = 1u << 1,     /* unknown or malformed command */
	SMTP_ANOM_BAD_REPLY = 1u << 2,       /* reply line that is not NNN[ -]text */
	SMTP_ANOM_OUT_OF_ORDER = 1u << 3,    /* RCPT before MAIL, DATA without RCPT... */
	SMTP_ANOM_PENDING_CAP = 1u << 4,     /* too many pipelined commands */
	SMTP_ANOM_RCPT_CAP = 1u << 5,
	SMTP_ANOM_FIELD_TRUNCATED = 1u << 6,
	SMTP_ANOM_MESSAGE_CAP = 1u << 7,     /* max_message reached */
	SMTP_ANOM_GAP = 1u << 8,             /* bytes missing in the stream */
	SMTP_ANOM_INCOMPLETE = 1u << 9,      /* session ended inside a message */
	SMTP_ANOM_BARE_LF = 1u << 10,        /* LF without CR in commands or data */
	SMTP_ANOM_BDAT_INVALID = 1u << 11,   /* BDAT with a bad size argument */
	SMTP_ANOM_DATA_REJECTED = 1u << 12,  /* DATA/BDAT refused but client sent content */
	SMTP_ANOM_UNEXPECTED_REPLY = 1u << 13, /* reply with no command waiting */
	SMTP_ANOM_HEADER_CAP = 1u << 14,     /* header section longer than max_header_scan */
	SMTP_ANOM_NUL_BYTE = 1u << 15,
	SMTP_ANOM_SERVER_ENDED_DATA = 1u << 16, /* the server answered before CRLF.CRLF */
};
#define SMTP_ANOM_COUNT 17
const char *smtp_anomaly_name(uint32_t bit); /* "line_too_long", ...; NULL if unknown */

enum smtp_outcome {
	SMTP_TX_ACCEPTED = 0,  /* final reply 2xx */
	SMTP_TX_REJECTED,      /* final reply 4xx/5xx (to MAIL, all RCPTs, DATA or end of data) */
	SMTP_TX_ABORTED,       /* RSET, HELO/EHLO or QUIT before the end of the message */
	SMTP_TX_NO_REPLY,      /* message complete but the session ended before the reply */
	SMTP_TX_INCOMPLETE,    /* session ended (or gap) inside the message */
};
const char *smtp_outcome_name(enum smtp_outcome o);

enum smtp_auth_outcome {
	SMTP_AUTH_NONE = 0,    /* no AUTH command */
	SMTP_AUTH_PENDING,     /* exchange not finished */
	SMTP_AUTH_SUCCESS,     /* 235 */
	SMTP_AUTH_FAILURE,     /* 4xx/5xx */
};
const char *smtp_auth_outcome_name(enum smtp_auth_outcome o);

struct smtp_rcpt {
	const char *address;   /* between < and >, or the bare argument */
	const char *params;    /* text after the address, "" when none */
	int reply_code;        /* 0 until the server answered */
};

/* Strings are NUL-terminated, owned by the parser and valid during the
 * callback only.  A header field not present is NULL. */
struct smtp_transaction {
	uint32_t index;             /* 0, 1, 2... within the session */
	const char *helo;           /* argument of the last HELO/EHLO/LHLO, "" if none */
	const char *mail_from;      /* reverse path without <>, "" for the null sender */
	const char *mail_params;    /* raw parameters after the reverse path */
	uint64_t size_param;        /* SIZE=, 0 if absent */
	bool has_size_param;
	const char *body_param;     /* BODY= value (7BIT, 8BITMIME, BINARYMIME) or NULL */
	bool smtputf8;
	const struct smtp_rcpt *rcpt;
	uint32_t rcpt_count;        /* entries in rcpt[] */
	uint32_t rcpt_dropped;      /* recipients past max_rcpt */
	const char *method;         /* "DATA", "BDAT" or NULL when no message was sent */
	uint32_t bdat_chunks;
	uint64_t message_bytes;     /* message size after dot-unstuffing / BDAT framing */
	const char *subject, *from, *to, *cc, *message_id; /* raw header values (unfolded) */
	int reply_code;             /* server's final reply, 0 if none */
	const char *reply_text;     /* that reply's text (last line), "" if none */
	enum smtp_outcome outcome;  /* meaningful in tx_end */
	const char *auth_mechanism; /* AUTH mechanism of the session so far, NULL if none */
	enum smtp_auth_outcome auth_outcome;
	uint32_t anomalies;         /* enum smtp_anomaly bits seen during the transaction */
};

/* Session-wide facts, for the flow end event. */
struct smtp_session_info {
	const char *banner;         /* first line of the server greeting, "" if unseen */
	const char *helo;
	const char *capabilities;   /* EHLO keywords, space separated, e.g. "PIPELINING SIZE 10240000 CHUNKING" */
	const char *auth_mechanism;
	enum smtp_auth_outcome auth_outcome;
	bool starttls;              /* STARTTLS accepted: the rest is encrypted, not parsed */
	uint32_t transactions;      /* transactions reported so far */
	uint32_t commands, replies;
	uint32_t anomalies;         /* enum smtp_anomaly bits outside transactions too */
	/* Counters of what the caps and the stream cost (added after the first draft). */
	uint32_t lines_truncated;   /* command/reply lines longer than max_line */
	uint32_t pending_dropped;   /* commands not queued: max_pending reached */
	uint32_t tx_dropped;        /* transactions ended early (NO_REPLY): too many awaiting replies */
	uint32_t auth_lines;        /* client lines consumed as AUTH data (never stored) */
	uint64_t gap_bytes;         /* bytes reported missing, both directions */
	uint64_t ignored_bytes;     /* bytes not parsed: encrypted, or sent before the STARTTLS reply */
};

struct smtp_callbacks {
	/* MAIL FROM seen: a transaction starts. */
	void (*tx_begin)(void *ctx, const struct smtp_transaction *tx);
	/* Message bytes in order, dot-unstuffed (DATA) or unframed (BDAT), without
	 * the terminating CRLF.CRLF.  The first byte is the first header byte. */
	void (*msg_data)(void *ctx, const struct smtp_transaction *tx, const uint8_t *data, size_t len);
	/* The client completed the message (final "." line or BDAT LAST chunk).
	 * This is the commit point: the server acts when it sees these bytes. */
	void (*msg_end)(void *ctx, const struct smtp_transaction *tx);
	/* The transaction is over (final reply, abort or end of session). */
	void (*tx_end)(void *ctx, const struct smtp_transaction *tx);
	/* STARTTLS accepted by the server (220): the streams are encrypted now. */
	void (*starttls)(void *ctx);
};

struct smtp_session;

/* NULL with errno set on failure.  limits may be NULL (defaults); cb fields may be NULL. */
struct smtp_session *smtp_session_new(const struct smtp_limits *limits,
				      const struct smtp_callbacks *cb, void *ctx);
void smtp_session_free(struct smtp_session *s);

/* Feed stream bytes of one direction (any chunk size, including 0). */
void smtp_session_feed(struct smtp_session *s, enum smtp_dir dir, const uint8_t *data, size_t len);
/* len bytes of one direction are missing. */
void smtp_session_gap(struct smtp_session *s, enum smtp_dir dir, uint64_t len);
/* The connection is over: finish open transactions (tx_end with NO_REPLY or
 * INCOMPLETE as fits).  No callback after this. */
void smtp_session_close(struct smtp_session *s);

const struct smtp_session_info *smtp_session_info(const struct smtp_session *s);

/* true once STARTTLS took effect: callers may stop feeding. */
bool smtp_session_encrypted(const struct smtp_session *s);

/* Banner detection for SMTP on non-standard ports: look at the first bytes a
 * server sent.  1 = an SMTP greeting ("220 " / "220-" then text), 0 = not SMTP,
 * -1 = need more bytes. */
int smtp_detect_greeting(const uint8_t *data, size_t len);

/* Bytes allocated by the session (for memory accounting). */
size_t smtp_session_memory(const struct smtp_session *s);

#endif
