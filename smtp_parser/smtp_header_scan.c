/* Incremental RFC 5322 header section scanner; see smtp_header_scan.h. */
#include "smtp_parser/smtp_header_scan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_parser/smtp.h"

enum { HS_LINE_START, HS_NAME, HS_VALUE };
enum { HF_PRESENT = 1, HF_COMPLETE = 2, HF_TRUNCATED = 4 };

static const char *const hs_names[SMTP_HF_COUNT] = {
	"subject", "from", "to", "cc", "message-id",
};

void smtp_header_scan_init(struct smtp_header_scan *h, uint32_t max_field, uint32_t max_scan)
{
	memset(h, 0, sizeof(*h));
	h->max_field = max_field;
	h->max_scan = max_scan;
	h->cur = -1;
	h->done = max_scan == 0;
}

void smtp_header_scan_reset(struct smtp_header_scan *h)
{
	char *buf = h->buf;
	smtp_header_scan_init(h, h->max_field, h->max_scan);
	h->buf = buf;
}

void smtp_header_scan_free(struct smtp_header_scan *h)
{
	free(h->buf);
	h->buf = NULL;
}

static char *hs_slot(const struct smtp_header_scan *h, int f)
{
	return h->buf + (size_t)f * ((size_t)h->max_field + 1);
}

/* Trim trailing blanks and terminate: the value can no longer grow. */
static void hs_complete(struct smtp_header_scan *h)
{
	if (h->cur < 0)
		return;
	char *v = hs_slot(h, h->cur);
	uint32_t n = h->len[h->cur];
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	v[n] = '\0';
	h->len[h->cur] = n;
	h->flags[h->cur] |= HF_COMPLETE;
	h->cur = -1;
}

static void hs_name_end(struct smtp_header_scan *h)
{
	size_t n = h->name_len;
	h->cur = -1;
	if (n > SMTP_HSCAN_NAME_MAX)
		return;
	while (n > 0 && (h->name[n - 1] == ' ' || h->name[n - 1] == '\t'))
		n--;
	for (int f = 0; f < SMTP_HF_COUNT; f++) {
		if (strlen(hs_names[f]) == n && memcmp(hs_names[f], h->name, n) == 0) {
			if (!(h->flags[f] & HF_PRESENT)) { /* first occurrence wins */
				h->flags[f] |= HF_PRESENT;
				h->len[f] = 0;
				h->cur = (int8_t)f;
			}
			return;
		}
	}
}

long smtp_header_scan_push(struct smtp_header_scan *h, const uint8_t *data, size_t len)
{
	if (h->done)
		return 0;
	if (!h->buf) {
		h->buf = malloc((size_t)SMTP_HF_COUNT * ((size_t)h->max_field + 1));
		if (!h->buf) {
			h->done = true;
			errno = ENOMEM;
			return -1;
		}
	}
	size_t room = h->max_scan - h->scanned;
	size_t n = len < room ? len : room;
	size_t i = 0;
	while (i < n) {
		uint8_t c = data[i++];
		if (c == '\r')
			continue;
		switch (h->state) {
		case HS_LINE_START:
			if (c == ' ' || c == '\t') {
				/* folded continuation: the WSP stays, the line break goes */
				h->state = HS_VALUE;
				goto value;
			}
			hs_complete(h);
			if (c == '\n') {
				h->found_end = true;
				h->done = true;
				h->scanned += i;
				return (long)i;
			}
			h->name_len = 0;
			h->state = HS_NAME;
			/* fall through */
		case HS_NAME:
			if (c == ':') {
				hs_name_end(h);
				h->state = HS_VALUE;
			} else if (c == '\n') {
				h->state = HS_LINE_START; /* a line without a colon: ignored */
			} else if (h->name_len < SMTP_HSCAN_NAME_MAX) {
				h->name[h->name_len++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
			} else {
				h->name_len = SMTP_HSCAN_NAME_MAX + 1;
			}
			break;
		case HS_VALUE:
		value:
			if (c == '\n') {
				h->state = HS_LINE_START;
				break;
			}
			if (h->cur < 0)
				break;
			{
				uint32_t *vl = &h->len[h->cur];
				if (*vl == 0 && (c == ' ' || c == '\t'))
					break; /* leading blanks are trimmed */
				if (*vl >= h->max_field) {
					if (!(h->flags[h->cur] & HF_TRUNCATED)) {
						h->flags[h->cur] |= HF_TRUNCATED;
						h->truncated++;
						h->anomalies |= SMTP_ANOM_FIELD_TRUNCATED;
					}
					break;
				}
				hs_slot(h, h->cur)[(*vl)++] = (char)c;
			}
			break;
		}
	}
	h->scanned += n;
	if (h->scanned >= h->max_scan) {
		h->anomalies |= SMTP_ANOM_HEADER_CAP;
		hs_complete(h);
		h->done = true;
	}
	return (long)n;
}

void smtp_header_scan_finish(struct smtp_header_scan *h)
{
	if (h->buf)
		hs_complete(h);
	h->done = true;
}

const char *smtp_header_scan_field(const struct smtp_header_scan *h, enum smtp_hfield f)
{
	if ((unsigned)f >= SMTP_HF_COUNT || !h->buf || !(h->flags[f] & HF_COMPLETE))
		return NULL;
	return hs_slot(h, (int)f);
}

uint32_t smtp_header_scan_field_len(const struct smtp_header_scan *h, enum smtp_hfield f)
{
	return smtp_header_scan_field(h, f) ? h->len[f] : 0;
}

size_t smtp_header_scan_memory(const struct smtp_header_scan *h)
{
	return h->buf ? (size_t)SMTP_HF_COUNT * ((size_t)h->max_field + 1) : 0;
}
