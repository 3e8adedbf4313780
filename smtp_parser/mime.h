/* Streaming MIME decoder for one RFC 5322 message.
 *
 * Feed it the message bytes (as smtp msg_data hands them over) in any
 * chunking; it reports headers, the start and end of every leaf part and the
 * part's content decoded from its Content-Transfer-Encoding.  Text parts
 * (text/ *, and the body of a message without Content-Type) are converted to
 * UTF-8 with iconv; other parts are handed over as decoded bytes.
 *
 * Nothing about SMTP or policy is known here: the same decoder serves a mail
 * and (later) a webmail upload.  Every buffer is capped; a cap that is hit
 * sets an anomaly bit and is counted, it never stops the parse.
 *
 * Byte-by-byte feeding gives the same callbacks (with different chunking of
 * part_data) as whole-buffer feeding. */
#ifndef POSTERN_SMTP_PARSER_MIME_H
#define POSTERN_SMTP_PARSER_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mime_limits {
	uint32_t max_depth;        /* nested multipart/message levels (default 16) */
	uint32_t max_header_line;  /* bytes of one unfolded header field kept (default 16 KiB) */
	uint32_t max_headers;      /* header fields reported per entity (default 256) */
	uint32_t max_parts;        /* leaf parts reported per message (default 1024) */
	uint32_t max_boundary;     /* bytes of a boundary (RFC 2046: 70; default 200) */
};
void mime_limits_default(struct mime_limits *l);

enum mime_anomaly {
	MIME_ANOM_HEADER_TOO_LONG = 1u << 0,
	MIME_ANOM_TOO_MANY_HEADERS = 1u << 1,
	MIME_ANOM_DEPTH_CAP = 1u << 2,        /* nesting beyond max_depth: treated as a leaf */
	MIME_ANOM_PARTS_CAP = 1u << 3,
	MIME_ANOM_MISSING_BOUNDARY = 1u << 4, /* multipart without boundary= */
	MIME_ANOM_UNTERMINATED = 1u << 5,     /* closing --boundary-- never came */
	MIME_ANOM_BAD_BASE64 = 1u << 6,       /* characters outside the alphabet, bad padding */
	MIME_ANOM_BAD_QP = 1u << 7,           /* '=' not followed by two hex digits or CRLF */
	MIME_ANOM_UNKNOWN_CHARSET = 1u << 8,  /* passed through as-is (not converted) */
	MIME_ANOM_BAD_CHARSET_DATA = 1u << 9, /* invalid sequences replaced by U+FFFD */
	MIME_ANOM_BAD_ENCODED_WORD = 1u << 10,/* malformed RFC 2047 word, kept literally */
	MIME_ANOM_UNKNOWN_ENCODING = 1u << 11,/* unknown Content-Transfer-Encoding: raw */
	MIME_ANOM_BAD_HEADER = 1u << 12,      /* header line without a colon, NUL, ... */
	MIME_ANOM_BAD_PARAMETER = 1u << 13,   /* malformed Content-Type/Disposition params */
	MIME_ANOM_PREAMBLE_DATA = 1u << 14,   /* more than a notice's worth of text (256 non-blank bytes) before the first boundary */
	MIME_ANOM_GAP = 1u << 15,             /* mime_gap: bytes of the message are missing */
};
#define MIME_ANOM_COUNT 16
const char *mime_anomaly_name(uint32_t bit); /* "header_too_long", ...; NULL if unknown */

/* One leaf entity.  Strings are NUL-terminated UTF-8, owned by the decoder,
 * valid from part_begin until part_end returns. */
struct mime_part {
	uint32_t index;           /* 0, 1, 2... in message order */
	uint32_t depth;           /* 0 = the message itself */
	const char *content_type; /* lower case "type/subtype"; "text/plain" if absent */
	const char *charset;      /* as declared (lower case), "" if none */
	const char *encoding;     /* lower case Content-Transfer-Encoding, "7bit" if absent */
	const char *disposition;  /* "inline", "attachment" or "" */
	const char *filename;     /* decoded (RFC 2231 / RFC 2047) from Content-Disposition
	                           * filename= or Content-Type name=, "" if none */
	const char *field_name;   /* decoded Content-Disposition name= (the form field of a
	                           * multipart/form-data part), "" if none */
	bool is_text;             /* content converted to UTF-8 and meant for reading */
	bool is_attachment;       /* has a filename, or disposition attachment, or not text */
};

struct mime_callbacks {
	/* One header field of any entity; value unfolded, encoded words decoded to
	 * UTF-8.  depth 0 = the message's own header. */
	void (*header)(void *ctx, uint32_t depth, const char *name, const char *value);
	void (*part_begin)(void *ctx, const struct mime_part *part);
	/* Decoded content: UTF-8 text for is_text parts, bytes otherwise. */
	void (*part_data)(void *ctx, const struct mime_part *part, const uint8_t *data, size_t len);
	/* size = decoded bytes delivered for the part. */
	void (*part_end)(void *ctx, const struct mime_part *part, uint64_t size);
};

struct mime_parser;

/* NULL with errno on failure; limits may be NULL (defaults); callbacks may be NULL. */
struct mime_parser *mime_parser_new(const struct mime_limits *limits,
				    const struct mime_callbacks *cb, void *ctx);
void mime_feed(struct mime_parser *m, const uint8_t *data, size_t len);
/* Bytes of the message are missing (stream gap): the current part is marked, decoding resyncs. */
void mime_gap(struct mime_parser *m, uint64_t len);
/* End of message: flush and end open parts (MIME_ANOM_UNTERMINATED where due). */
void mime_close(struct mime_parser *m);
void mime_parser_free(struct mime_parser *m);

struct mime_stats {
	uint32_t anomalies;       /* enum mime_anomaly bits */
	uint32_t parts;           /* leaf parts reported */
	uint32_t parts_skipped;   /* past max_parts */
	uint32_t headers_skipped; /* past max_headers */
	uint32_t header_bytes_truncated;
	uint64_t base64_bad_chars;
	uint64_t charset_replacements; /* invalid input sequences replaced */
	uint64_t gap_bytes;       /* announced by mime_gap */
};
const struct mime_stats *mime_parser_stats(const struct mime_parser *m);
size_t mime_parser_memory(const struct mime_parser *m);

/* Standalone helpers, exposed for the header scanner and tests. */
/* Decode RFC 2047 encoded words in a header value into UTF-8.  Writes at most
 * cap-1 bytes plus NUL into out; returns the length (truncated at cap-1), or
 * sets *anomalies bits. */
size_t mime_decode_header_words(const char *in, size_t len, char *out, size_t cap, uint32_t *anomalies);

#endif
