/* libFuzzer target for the SMTP session parser.
 *
 * The input is a sequence of chunks.  A control byte 0xF0..0xF7 starts a new
 * chunk: bit 0 = direction (server when set), 0xF4..0xF7 = a gap of the next
 * byte's value + 1 bytes instead of data.  The first input byte picks small
 * or default limits.  Invariants checked: every tx_begin has exactly one
 * tx_end, callbacks come in order, and message_bytes equals the sum of
 * msg_data lengths unless the message cap was hit (or a gap ate bytes, which
 * message_bytes does not count either). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_parser/smtp.h"

#define MAX_TX 4096

struct fz {
	uint8_t state[MAX_TX]; /* 0 none, 1 begun, 2 msg_end, 3 ended */
	uint64_t data[MAX_TX];
	uint32_t begins, ends;
};

static void fz_fail(void)
{
	abort();
}

static struct fz *fz_ctx(void *ctx, const struct smtp_transaction *tx)
{
	if (tx->index >= MAX_TX)
		fz_fail();
	return ctx;
}

static void on_begin(void *ctx, const struct smtp_transaction *tx)
{
	struct fz *f = fz_ctx(ctx, tx);
	if (f->state[tx->index] != 0 || !tx->mail_from || !tx->helo || !tx->mail_params)
		fz_fail();
	f->state[tx->index] = 1;
	f->begins++;
}

static void on_data(void *ctx, const struct smtp_transaction *tx, const uint8_t *d, size_t n)
{
	struct fz *f = fz_ctx(ctx, tx);
	if (f->state[tx->index] != 1 || n == 0)
		fz_fail();
	volatile uint8_t x = d[0] ^ d[n - 1]; /* touch both ends */
	(void)x;
	f->data[tx->index] += n;
}

static void on_msg_end(void *ctx, const struct smtp_transaction *tx)
{
	struct fz *f = fz_ctx(ctx, tx);
	if (f->state[tx->index] != 1)
		fz_fail();
	f->state[tx->index] = 2;
}

static void on_end(void *ctx, const struct smtp_transaction *tx)
{
	struct fz *f = fz_ctx(ctx, tx);
	if (f->state[tx->index] == 0 || f->state[tx->index] == 3)
		fz_fail();
	f->state[tx->index] = 3;
	f->ends++;
	if (!(tx->anomalies & (SMTP_ANOM_MESSAGE_CAP | SMTP_ANOM_GAP)) &&
	    tx->message_bytes != f->data[tx->index])
		fz_fail();
	if (tx->rcpt_count && !tx->rcpt)
		fz_fail();
	for (uint32_t i = 0; i < tx->rcpt_count; i++)
		if (!tx->rcpt[i].address || !tx->rcpt[i].params)
			fz_fail();
	if (!tx->reply_text || strlen(tx->reply_text) > 4096)
		fz_fail();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz f;
	memset(&f, 0, sizeof(f));
	struct smtp_limits lim;
	smtp_limits_default(&lim);
	if (size && (data[0] & 1)) {
		lim.max_line = 24;
		lim.max_pending = 3;
		lim.max_rcpt = 2;
		lim.max_field = 5;
		lim.max_header_scan = 16;
		lim.max_message = 7;
	}
	const struct smtp_callbacks cb = {
		.tx_begin = on_begin, .msg_data = on_data, .msg_end = on_msg_end, .tx_end = on_end,
	};
	struct smtp_session *s = smtp_session_new(&lim, &cb, &f);
	if (!s)
		return 0;
	enum smtp_dir dir = SMTP_FROM_SERVER;
	size_t i = size ? 1 : 0;
	while (i < size) {
		size_t j = i;
		while (j < size && (data[j] & 0xF8) != 0xF0)
			j++;
		if (j > i)
			smtp_session_feed(s, dir, data + i, j - i);
		if (j >= size)
			break;
		uint8_t c = data[j++];
		dir = (c & 1) ? SMTP_FROM_SERVER : SMTP_FROM_CLIENT;
		if (c & 4) {
			if (j < size)
				smtp_session_gap(s, dir, (uint64_t)data[j++] + 1);
		}
		i = j;
	}
	size_t mem = smtp_session_memory(s);
	if (mem < 100 || mem > (size_t)64 << 20)
		fz_fail();
	smtp_session_close(s);
	if (f.begins != f.ends || smtp_session_info(s)->transactions != f.begins)
		fz_fail();
	smtp_session_free(s);
	return 0;
}
