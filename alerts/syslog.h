/* Alerts as RFC 5424 syslog messages, to the local socket (/dev/log), UDP
 * or TCP (RFC 6587 octet-counting framing).
 *
 * Never blocks the caller: syslog_alert formats into a bounded queue that a
 * sender thread drains; a full queue or the rate limit drops the alert and
 * counts it.  A lost TCP connection is re-established with backoff. */
#ifndef POSTERN_ALERTS_SYSLOG_H
#define POSTERN_ALERTS_SYSLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum syslog_transport { SYSLOG_LOCAL = 0, SYSLOG_UDP, SYSLOG_TCP };

struct syslog_config {
	enum syslog_transport transport;
	const char *target;       /* LOCAL: socket path (default "/dev/log"); UDP/TCP: "host:port", "[v6]:port" */
	int facility;             /* 0-23 (default 16, local0) */
	const char *app_name;     /* default "postern" */
	const char *hostname;     /* NULL = gethostname() */
	uint32_t rate_per_sec;    /* token bucket: alerts per second (default 100; 0 = no limit) */
	uint32_t burst;           /* bucket size (default 200) */
	uint32_t queue;           /* messages waiting to be sent (default 4096) */
};
void syslog_config_default(struct syslog_config *c);

/* One SD-PARAM of the structured data element [postern@32473 ...]. */
struct syslog_param {
	const char *name;         /* printable US-ASCII, no '=', ' ', ']', '"' */
	const char *value;        /* UTF-8; '"', '\\' and ']' are escaped */
};

struct syslog_stats {
	uint64_t queued, sent, dropped_queue_full, dropped_rate, send_errors, reconnects;
	uint64_t invalid_params;  /* SD-PARAMs skipped: name empty, too long or not SD-NAME */
	uint64_t truncated;       /* messages cut to SYSLOG_MSG_MAX (MSG or SD-PARAMs) */
	uint64_t dropped_invalid; /* severity outside 0-7 */
};

/* Longest message sent, on every transport (UDP: one datagram). */
#define SYSLOG_MSG_MAX 8192

struct syslog_sender;
/* NULL with a reason in err (bad target). */
struct syslog_sender *syslog_sender_new(const struct syslog_config *c, char *err, size_t errlen);
/* severity 0-7 (RFC 5424), msgid e.g. "verdict"; ts_us the event time.
 * false when dropped (queue full or rate limited), counted either way. */
bool syslog_alert(struct syslog_sender *s, int severity, const char *msgid, uint64_t ts_us,
		  const struct syslog_param *params, size_t nparams, const char *msg);
/* Format one message (exposed for tests): returns its length, or 0 when cap is too small. */
size_t syslog_format(char *out, size_t cap, const struct syslog_config *c, const char *hostname,
		     int pid, int severity, const char *msgid, uint64_t ts_us,
		     const struct syslog_param *params, size_t nparams, const char *msg);
/* Waits up to timeout_ms for the queue to drain, then stops the thread. */
void syslog_sender_free(struct syslog_sender *s, uint32_t timeout_ms);
void syslog_stats(struct syslog_sender *s, struct syslog_stats *out);

/* Test hooks.  A paused sender thread sends nothing (the queue fills).
 * The rate limiter reads now_ns (default CLOCK_MONOTONIC). */
void syslog_sender_pause(struct syslog_sender *s, bool paused);
void syslog_sender_set_clock(struct syslog_sender *s, uint64_t (*now_ns)(void *arg), void *arg);

#endif
