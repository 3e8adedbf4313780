/* Incremental scanner of an RFC 5322 header section.
 *
 * Push the first bytes of a message in any chunking; the scanner finds the
 * end of the header section (an empty line) and captures the raw values of
 * Subject, From, To, Cc and Message-ID.  No MIME decoding happens here.
 *
 * Choices:
 * - Unfolding removes the line break only (CRLF + WSP -> WSP); the value is
 *   trimmed of leading and trailing blanks.
 * - The first occurrence of a field wins; later ones are ignored.
 * - Lines may end in CRLF or bare LF; a CR not followed by LF is dropped.
 * - A value longer than max_field is cut at max_field bytes (anomaly
 *   SMTP_ANOM_FIELD_TRUNCATED); the rest of it is skipped, not buffered.
 * - After max_scan bytes without the end of the header section the scan
 *   stops (SMTP_ANOM_HEADER_CAP); what was complete by then is kept.
 * - A value is reported only once its field is complete (the next line does
 *   not start with WSP, the header section ended, or smtp_header_scan_finish()
 *   was called), so a partial value is never exposed. */
#ifndef POSTERN_SMTP_PARSER_SMTP_HEADER_SCAN_H
#define POSTERN_SMTP_PARSER_SMTP_HEADER_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum smtp_hfield {
	SMTP_HF_SUBJECT = 0,
	SMTP_HF_FROM,
	SMTP_HF_TO,
	SMTP_HF_CC,
	SMTP_HF_MESSAGE_ID,
	SMTP_HF_COUNT
};

/* Longest field name worth remembering ("message-id" is 10). */
#define SMTP_HSCAN_NAME_MAX 16

/* Embed it anywhere; the value buffer is allocated on the first captured
 * byte (SMTP_HF_COUNT * (max_field + 1) bytes) and reused by _reset(). */
struct smtp_header_scan {
	uint32_t max_field;
	uint32_t max_scan;
	uint64_t scanned;        /* bytes pushed so far (up to max_scan) */
	uint8_t state;
	bool done;               /* header end found, cap hit or finished */
	bool found_end;          /* the empty line was seen */
	int8_t cur;              /* field being captured, -1 for none */
	uint8_t name_len;        /* bytes of name[] in use; > SMTP_HSCAN_NAME_MAX: too long */
	char name[SMTP_HSCAN_NAME_MAX];
	char *buf;               /* SMTP_HF_COUNT slots of max_field + 1 bytes */
	uint32_t len[SMTP_HF_COUNT];
	uint8_t flags[SMTP_HF_COUNT]; /* internal: present / complete bits */
	uint32_t anomalies;      /* SMTP_ANOM_FIELD_TRUNCATED, SMTP_ANOM_HEADER_CAP */
	uint32_t truncated;      /* values cut at max_field */
};

void smtp_header_scan_init(struct smtp_header_scan *h, uint32_t max_field, uint32_t max_scan);
/* Forget the previous message, keep the buffer. */
void smtp_header_scan_reset(struct smtp_header_scan *h);
void smtp_header_scan_free(struct smtp_header_scan *h);

/* Returns the number of bytes used (< len once the scan is done); -1 with
 * errno ENOMEM when the value buffer cannot be allocated (scan stops). */
long smtp_header_scan_push(struct smtp_header_scan *h, const uint8_t *data, size_t len);
/* The message ended (possibly without an empty line): complete the field in
 * progress and stop. */
void smtp_header_scan_finish(struct smtp_header_scan *h);
static inline bool smtp_header_scan_done(const struct smtp_header_scan *h) { return h->done; }

/* NUL-terminated trimmed value of a complete field, NULL when absent (or not
 * complete yet).  Valid until the next _push/_reset/_free. */
const char *smtp_header_scan_field(const struct smtp_header_scan *h, enum smtp_hfield f);
/* Length of that value (0 when absent). */
uint32_t smtp_header_scan_field_len(const struct smtp_header_scan *h, enum smtp_hfield f);

/* Bytes allocated. */
size_t smtp_header_scan_memory(const struct smtp_header_scan *h);

#endif
