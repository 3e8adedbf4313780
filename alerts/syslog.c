/* RFC 5424 alerts: formatting, a bounded queue with a token-bucket rate
 * limit, and one sender thread doing the socket I/O (unix datagram, UDP
 * datagram, or TCP with RFC 6587 octet counting). */
#include "alerts/syslog.h"

#include "common/utf8.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define SD_ID "postern@32473" /* 32473: documentation enterprise number (RFC 5612) */
#define HOSTNAME_MAX 255
#define APP_NAME_MAX 48
#define PROCID_MAX 128
#define MSGID_MAX 32
#define SD_NAME_MAX 32
#define MAX_ADDRS 4
#define IO_TIMEOUT_MS 2000 /* one connect or one write; longer means the peer is stuck */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

/* ---- formatting ---- */

struct out {
	char *p;
	size_t len, cap;
	bool over;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->over || n > o->cap - o->len) {
		o->over = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* UTF-8 text, ill-formed bytes replaced by U+FFFD, the bytes in `escape`
 * preceded by a backslash.  With `cut`, stops at the last whole character
 * that leaves `reserve` bytes free; returns false if it stopped early. */
static bool put_text(struct out *o, const char *s, const char *escape, bool cut, size_t reserve)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		size_t l = utf8_seq_len(u + i, n - i, NULL);
		char buf[4];
		const char *piece = (const char *)u + i;
		size_t plen = l;
		if (l == 0) {
			piece = "\xef\xbf\xbd";
			plen = 3;
			l = 1;
		} else if (l == 1 && escape && strchr(escape, u[i])) {
			buf[0] = '\\';
			buf[1] = (char)u[i];
			piece = buf;
			plen = 2;
		}
		if (cut && (o->over || plen + reserve > o->cap - o->len))
			return false;
		put(o, piece, plen);
		i += l;
	}
	return true;
}

/* A header field: NILVALUE when empty, else at most max bytes of
 * PRINTUSASCII, other bytes replaced by '_'. */
static void put_field(struct out *o, const char *s, size_t max)
{
	if (!s || !*s) {
		put(o, "-", 1);
		return;
	}
	char buf[HOSTNAME_MAX];
	size_t n = 0;
	for (; s[n] && n < max; n++) {
		unsigned char ch = (unsigned char)s[n];
		buf[n] = ch >= 33 && ch <= 126 ? (char)ch : '_';
	}
	put(o, buf, n);
}

static bool sd_name_ok(const char *name)
{
	size_t n = 0;
	for (; name[n]; n++) {
		unsigned char ch = (unsigned char)name[n];
		if (n >= SD_NAME_MAX || ch < 33 || ch > 126 || ch == '=' || ch == ']' || ch == '"')
			return false;
	}
	return n > 0;
}

static void put_timestamp(struct out *o, uint64_t ts_us)
{
	struct tm tm;
	time_t secs = (time_t)(ts_us / 1000000);
	/* 0 is "unknown": the receiver then uses its own time */
	if (ts_us == 0 || !gmtime_r(&secs, &tm) || tm.tm_year + 1900 > 9999) {
		put(o, "-", 1);
		return;
	}
	char buf[40];
	int n = snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (unsigned)(ts_us % 1000000));
	put(o, buf, (size_t)n);
}

struct format_result {
	unsigned invalid_params;
	bool truncated;
};

/* With cut, an SD-PARAM value or the MSG that does not fit is cut at a
 * character boundary (a parameter whose name does not fit is left out) and
 * the message always fits once its header does; without, it is all or 0. */
static size_t format(char *buf, size_t cap, const struct syslog_config *c, const char *hostname,
		     int pid, int severity, const char *msgid, uint64_t ts_us,
		     const struct syslog_param *params, size_t nparams, const char *msg, bool cut,
		     struct format_result *r)
{
	if (cap == 0 || severity < 0 || severity > 7 || c->facility < 0 || c->facility > 23)
		return 0;
	struct out o = {.p = buf, .cap = cap - 1}; /* room for the NUL */
	char num[32];
	snprintf(num, sizeof num, "<%d>1 ", c->facility * 8 + severity);
	puts_(&o, num);
	put_timestamp(&o, ts_us);
	put(&o, " ", 1);
	put_field(&o, hostname, HOSTNAME_MAX);
	put(&o, " ", 1);
	put_field(&o, c->app_name, APP_NAME_MAX);
	put(&o, " ", 1);
	if (pid > 0)
		snprintf(num, sizeof num, "%d", pid);
	else
		num[0] = '\0';
	put_field(&o, num, PROCID_MAX);
	put(&o, " ", 1);
	put_field(&o, msgid, MSGID_MAX);
	put(&o, " ", 1);

	unsigned written = 0;
	for (size_t i = 0; i < nparams; i++) {
		const struct syslog_param *p = &params[i];
		if (!p->name || !sd_name_ok(p->name)) {
			r->invalid_params++;
			continue;
		}
		size_t before = o.len;
		if (written == 0)
			puts_(&o, "[" SD_ID);
		put(&o, " ", 1);
		puts_(&o, p->name);
		put(&o, "=\"", 2);
		/* 2: the closing quote and bracket */
		if (cut && (o.over || o.cap - o.len < 2)) {
			o.over = false;
			o.len = before;
			r->truncated = true;
			break;
		}
		if (!put_text(&o, p->value ? p->value : "", "\"\\]", cut, 2))
			r->truncated = true;
		put(&o, "\"", 1);
		written++;
		if (r->truncated)
			break;
	}
	if (written == 0) {
		put(&o, "-", 1);
	} else {
		put(&o, "]", 1);
	}
	if (msg && *msg && !(cut && r->truncated)) {
		/* MSG-ANY without a BOM: plain UTF-8, as receivers expect */
		put(&o, " ", 1);
		if (!put_text(&o, msg, NULL, cut, 0))
			r->truncated = true;
	}
	if (o.over)
		return 0;
	buf[o.len] = '\0';
	return o.len;
}

size_t syslog_format(char *out, size_t cap, const struct syslog_config *c, const char *hostname,
		     int pid, int severity, const char *msgid, uint64_t ts_us,
		     const struct syslog_param *params, size_t nparams, const char *msg)
{
	struct format_result r = {0};
	return format(out, cap, c, hostname, pid, severity, msgid, ts_us, params, nparams, msg,
		      false, &r);
}

void syslog_config_default(struct syslog_config *c)
{
	*c = (struct syslog_config){
		.transport = SYSLOG_LOCAL,
		.target = "/dev/log",
		.facility = 16,
		.app_name = "postern",
		.hostname = NULL,
		.rate_per_sec = 100,
		.burst = 200,
		.queue = 4096,
	};
}

/* ---- sender ---- */

struct qmsg {
	size_t len;
	char data[];
};

struct syslog_sender {
	struct syslog_config cfg; /* strings point into the copies below */
	char app_name[APP_NAME_MAX + 1];
	char hostname[HOSTNAME_MAX + 1];
	int pid;

	struct sockaddr_storage addr[MAX_ADDRS];
	socklen_t addrlen[MAX_ADDRS];
	int naddrs;
	int fd;      /* sender thread only */
	int wake_fd; /* eventfd: interrupts the sender's waits on shutdown */
	bool ever_connected;
	uint32_t backoff_ms;
	uint64_t next_connect_ns;

	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC */
	struct qmsg **ring;
	uint32_t ring_cap, head, count;
	bool busy, stopping, quit, paused;

	double tokens;
	uint64_t last_ns;
	uint64_t (*now_ns)(void *);
	void *now_arg;

	struct syslog_stats st;
};

static uint64_t mono_ns(void *arg)
{
	(void)arg;
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static struct timespec deadline_ts(uint64_t ns)
{
	return (struct timespec){.tv_sec = (time_t)(ns / 1000000000u),
				 .tv_nsec = (long)(ns % 1000000000u)};
}

/* "host:port", "[v6]:port" or "host" (port 514). */
static bool split_target(const char *t, char *host, size_t hn, char *port, size_t pn)
{
	const char *h = t, *he, *p = NULL;
	if (*t == '[') {
		h = t + 1;
		he = strchr(h, ']');
		if (!he || (he[1] != '\0' && he[1] != ':'))
			return false;
		if (he[1] == ':')
			p = he + 2;
	} else {
		he = strrchr(t, ':');
		if (he && strchr(t, ':') != he)
			return false; /* a bare IPv6 address needs brackets */
		if (he)
			p = he + 1;
		else
			he = t + strlen(t);
	}
	if (he == h || (size_t)(he - h) >= hn || (p && (!*p || strlen(p) >= pn)))
		return false;
	memcpy(host, h, (size_t)(he - h));
	host[he - h] = '\0';
	snprintf(port, pn, "%s", p ? p : "514");
	return true;
}

static bool resolve(struct syslog_sender *s, char *err, size_t errlen)
{
	const char *t = s->cfg.target;
	if (s->cfg.transport == SYSLOG_LOCAL) {
		struct sockaddr_un *un = (struct sockaddr_un *)&s->addr[0];
		if (!t || !*t)
			t = "/dev/log";
		if (strlen(t) >= sizeof un->sun_path) {
			snprintf(err, errlen, "syslog target '%s': path longer than %zu bytes", t,
				 sizeof un->sun_path - 1);
			return false;
		}
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, t, strlen(t) + 1);
		s->addrlen[0] = (socklen_t)sizeof *un;
		s->naddrs = 1;
		return true;
	}
	char host[256], port[32];
	if (!t || !split_target(t, host, sizeof host, port, sizeof port)) {
		snprintf(err, errlen, "syslog target '%s': expected host:port or [IPv6]:port",
			 t ? t : "");
		return false;
	}
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = s->cfg.transport == SYSLOG_TCP ? SOCK_STREAM : SOCK_DGRAM,
	};
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "syslog target '%s': %s", t, gai_strerror(rc));
		return false;
	}
	for (struct addrinfo *a = res; a && s->naddrs < MAX_ADDRS; a = a->ai_next) {
		if (a->ai_addrlen > sizeof s->addr[0])
			continue;
		memcpy(&s->addr[s->naddrs], a->ai_addr, a->ai_addrlen);
		s->addrlen[s->naddrs++] = a->ai_addrlen;
	}
	freeaddrinfo(res);
	if (s->naddrs == 0) {
		snprintf(err, errlen, "syslog target '%s': no usable address", t);
		return false;
	}
	return true;
}

static void close_fd(struct syslog_sender *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* Waits for fd to be ready for `events`; false on timeout, error or shutdown. */
static bool wait_fd(struct syslog_sender *s, int fd, short events)
{
	struct pollfd p[2] = {{.fd = fd, .events = events}, {.fd = s->wake_fd, .events = POLLIN}};
	int rc;
	do
		rc = poll(p, 2, IO_TIMEOUT_MS);
	while (rc < 0 && errno == EINTR);
	return rc > 0 && !(p[1].revents & POLLIN) && (p[0].revents & (events | POLLERR | POLLHUP));
}

static bool quitting(struct syslog_sender *s)
{
	pthread_mutex_lock(&s->mu);
	bool q = s->quit;
	pthread_mutex_unlock(&s->mu);
	return q;
}

/* One connection attempt over the resolved addresses, each bounded by
 * IO_TIMEOUT_MS (a blackholed host would otherwise hold us for minutes). */
static bool open_socket(struct syslog_sender *s)
{
	int type = s->cfg.transport == SYSLOG_TCP ? SOCK_STREAM : SOCK_DGRAM;
	for (int i = 0; i < s->naddrs; i++) {
		int fd = socket(s->addr[i].ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (s->cfg.transport == SYSLOG_LOCAL) {
			/* room for a burst while the daemon catches up; past
			 * it a send waits up to IO_TIMEOUT_MS, then drops */
			int sz = 256 * 1024;
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
		}
		int rc = connect(fd, (struct sockaddr *)&s->addr[i], s->addrlen[i]);
		if (rc != 0 && errno == EINPROGRESS && wait_fd(s, fd, POLLOUT)) {
			int e = 0;
			socklen_t el = sizeof e;
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) == 0 && e == 0)
				rc = 0;
		}
		if (rc == 0) {
			s->fd = fd;
			return true;
		}
		close(fd);
	}
	return false;
}

/* TCP only: the receiver never writes, so readable means closed or reset. */
static bool peer_closed(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
	if (poll(&p, 1, 0) <= 0)
		return false;
	char b;
	ssize_t n = recv(fd, &b, 1, MSG_DONTWAIT | MSG_PEEK);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/* TCP: (re)connects, holding the message while the backoff runs so that a
 * short outage only fills the queue.  false once shutting down. */
static bool tcp_ready(struct syslog_sender *s)
{
	while (s->fd < 0) {
		uint64_t now = mono_ns(NULL);
		if (now < s->next_connect_ns) {
			struct timespec ts = deadline_ts(s->next_connect_ns);
			pthread_mutex_lock(&s->mu);
			while (!s->quit && mono_ns(NULL) < s->next_connect_ns)
				pthread_cond_timedwait(&s->cv, &s->mu, &ts);
			pthread_mutex_unlock(&s->mu);
		}
		if (quitting(s))
			return false;
		if (open_socket(s)) {
			pthread_mutex_lock(&s->mu);
			if (s->ever_connected)
				s->st.reconnects++;
			pthread_mutex_unlock(&s->mu);
			s->ever_connected = true;
			s->backoff_ms = BACKOFF_MIN_MS;
			return true;
		}
		s->next_connect_ns = mono_ns(NULL) + (uint64_t)s->backoff_ms * 1000000u;
		s->backoff_ms = s->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : s->backoff_ms * 2;
	}
	return true;
}

/* Writes the iovecs; *sent_any tells whether part of them went out. */
static bool write_all(struct syslog_sender *s, struct iovec *iov, int n, bool *sent_any)
{
	size_t total = 0;
	for (int i = 0; i < n; i++)
		total += iov[i].iov_len;
	*sent_any = false;
	while (total > 0) {
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
		ssize_t w = sendmsg(s->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if ((errno == EAGAIN || errno == EWOULDBLOCK) && wait_fd(s, s->fd, POLLOUT))
				continue;
			return false;
		}
		if (s->cfg.transport != SYSLOG_TCP)
			return (size_t)w == total; /* a datagram goes whole or not at all */
		*sent_any = true;
		total -= (size_t)w;
		while (w > 0 && n > 0) {
			size_t take = (size_t)w < iov->iov_len ? (size_t)w : iov->iov_len;
			iov->iov_base = (char *)iov->iov_base + take;
			iov->iov_len -= take;
			w -= (ssize_t)take;
			if (iov->iov_len == 0) {
				iov++;
				n--;
			}
		}
	}
	return true;
}

/* One message, with one retry on a fresh socket when the first attempt
 * failed before any byte left (a TCP peer gone, a restarted local daemon). */
static bool send_one(struct syslog_sender *s, const struct qmsg *m)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (s->cfg.transport == SYSLOG_TCP) {
			if (s->fd >= 0 && peer_closed(s->fd)) {
				close_fd(s);
				s->next_connect_ns = 0; /* reconnect at once, back off after */
			}
			if (!tcp_ready(s))
				return false;
		} else if (s->fd < 0 && !open_socket(s)) {
			return false;
		}
		char frame[24];
		struct iovec iov[2];
		int n = 0;
		if (s->cfg.transport == SYSLOG_TCP) {
			/* RFC 6587 octet counting: "LEN SP MSG" */
			int fl = snprintf(frame, sizeof frame, "%zu ", m->len);
			iov[n++] = (struct iovec){.iov_base = frame, .iov_len = (size_t)fl};
		}
		iov[n++] = (struct iovec){.iov_base = (void *)m->data, .iov_len = m->len};
		bool sent_any;
		if (write_all(s, iov, n, &sent_any))
			return true;
		int e = errno;
		bool timed_out = e == EAGAIN || e == EWOULDBLOCK;
		if (s->cfg.transport != SYSLOG_TCP && (timed_out || (s->cfg.transport == SYSLOG_UDP &&
								     e != ECONNREFUSED)))
			return false; /* the datagram socket is still good */
		/* TCP: a frame cut short leaves the stream unusable */
		close_fd(s);
		if (sent_any || timed_out || quitting(s))
			return false;
	}
	return false;
}

static void *sender_main(void *arg)
{
	struct syslog_sender *s = arg;
	for (;;) {
		pthread_mutex_lock(&s->mu);
		while (!s->quit && (s->count == 0 || s->paused))
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->quit) {
			pthread_mutex_unlock(&s->mu);
			break;
		}
		struct qmsg *m = s->ring[s->head];
		s->head = (s->head + 1) % s->ring_cap;
		s->count--;
		s->busy = true;
		pthread_mutex_unlock(&s->mu);

		bool ok = send_one(s, m);
		free(m);

		pthread_mutex_lock(&s->mu);
		if (ok)
			s->st.sent++;
		else
			s->st.send_errors++;
		s->busy = false;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
	}
	close_fd(s);
	return NULL;
}

struct syslog_sender *syslog_sender_new(const struct syslog_config *c, char *err, size_t errlen)
{
	if (c->transport != SYSLOG_LOCAL && c->transport != SYSLOG_UDP &&
	    c->transport != SYSLOG_TCP) {
		snprintf(err, errlen, "syslog: unknown transport %d", (int)c->transport);
		return NULL;
	}
	if (c->facility < 0 || c->facility > 23) {
		snprintf(err, errlen, "syslog: facility %d is not 0-23", c->facility);
		return NULL;
	}
	if (c->queue == 0 || c->queue > 1u << 20) {
		snprintf(err, errlen, "syslog: queue %u is not 1-%u", c->queue, 1u << 20);
		return NULL;
	}
	if (c->rate_per_sec > 0 && c->burst == 0) {
		snprintf(err, errlen, "syslog: burst 0 would drop every alert");
		return NULL;
	}
	struct syslog_sender *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "syslog: out of memory");
		return NULL;
	}
	s->cfg = *c;
	s->fd = -1;
	s->wake_fd = -1;
	snprintf(s->app_name, sizeof s->app_name, "%s", c->app_name ? c->app_name : "");
	s->cfg.app_name = s->app_name;
	if (c->hostname)
		snprintf(s->hostname, sizeof s->hostname, "%s", c->hostname);
	else if (gethostname(s->hostname, sizeof s->hostname) != 0)
		s->hostname[0] = '\0'; /* sent as NILVALUE */
	s->hostname[sizeof s->hostname - 1] = '\0';
	s->cfg.hostname = s->hostname;
	s->pid = (int)getpid();
	s->backoff_ms = BACKOFF_MIN_MS;
	s->now_ns = mono_ns;
	s->tokens = c->burst;
	s->last_ns = mono_ns(NULL);
	if (!resolve(s, err, errlen)) {
		free(s);
		return NULL;
	}
	s->cfg.target = NULL; /* the caller's string is not kept */
	s->ring_cap = c->queue;
	s->ring = calloc(s->ring_cap, sizeof *s->ring);
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&s->mu, NULL);
	int rc = -1;
	if (s->ring && s->wake_fd >= 0)
		rc = pthread_create(&s->thread, NULL, sender_main, s);
	if (rc != 0) {
		snprintf(err, errlen, "syslog: cannot start the sender: %s",
			 strerror(rc > 0 ? rc : errno));
		if (s->wake_fd >= 0)
			close(s->wake_fd);
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
		free(s->ring);
		free(s);
		return NULL;
	}
	return s;
}

bool syslog_alert(struct syslog_sender *s, int severity, const char *msgid, uint64_t ts_us,
		  const struct syslog_param *params, size_t nparams, const char *msg)
{
	pthread_mutex_lock(&s->mu);
	if (severity < 0 || severity > 7) {
		s->st.dropped_invalid++;
		pthread_mutex_unlock(&s->mu);
		return false;
	}
	/* Checked before formatting so that a flood costs little. */
	if (s->count >= s->ring_cap) {
		s->st.dropped_queue_full++;
		pthread_mutex_unlock(&s->mu);
		return false;
	}
	if (s->cfg.rate_per_sec > 0) {
		uint64_t now = s->now_ns(s->now_arg);
		if (now > s->last_ns) {
			s->tokens += (double)(now - s->last_ns) * s->cfg.rate_per_sec / 1e9;
			if (s->tokens > s->cfg.burst)
				s->tokens = s->cfg.burst;
		}
		s->last_ns = now;
		if (s->tokens < 1.0) {
			s->st.dropped_rate++;
			pthread_mutex_unlock(&s->mu);
			return false;
		}
		s->tokens -= 1.0;
	}
	pthread_mutex_unlock(&s->mu);

	char buf[SYSLOG_MSG_MAX + 1];
	struct format_result r = {0};
	size_t len = format(buf, sizeof buf, &s->cfg, s->hostname, s->pid, severity, msgid, ts_us,
			    params, nparams, msg, true, &r);
	struct qmsg *m = len ? malloc(sizeof *m + len) : NULL;
	if (m) {
		m->len = len;
		memcpy(m->data, buf, len);
	}

	pthread_mutex_lock(&s->mu);
	s->st.invalid_params += r.invalid_params;
	if (r.truncated)
		s->st.truncated++;
	bool ok = false;
	if (!m) {
		s->st.send_errors++; /* out of memory: lost before the queue */
	} else if (s->count >= s->ring_cap || s->stopping) {
		s->st.dropped_queue_full++;
	} else {
		s->ring[(s->head + s->count) % s->ring_cap] = m;
		s->count++;
		s->st.queued++;
		pthread_cond_signal(&s->cv);
		ok = true;
		m = NULL;
	}
	pthread_mutex_unlock(&s->mu);
	free(m);
	return ok;
}

void syslog_sender_free(struct syslog_sender *s, uint32_t timeout_ms)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	s->paused = false;
	pthread_cond_broadcast(&s->cv);
	uint64_t deadline = mono_ns(NULL) + (uint64_t)timeout_ms * 1000000u;
	struct timespec ts = deadline_ts(deadline);
	while ((s->count > 0 || s->busy) && mono_ns(NULL) < deadline)
		pthread_cond_timedwait(&s->cv, &s->mu, &ts);
	s->quit = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	uint64_t one = 1;
	if (write(s->wake_fd, &one, sizeof one) < 0) {
		/* cannot fail on a fresh eventfd; the I/O timeouts bound the wait anyway */
	}
	pthread_join(s->thread, NULL);
	for (uint32_t i = 0; i < s->count; i++)
		free(s->ring[(s->head + i) % s->ring_cap]);
	free(s->ring);
	close(s->wake_fd);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

void syslog_stats(struct syslog_sender *s, struct syslog_stats *out)
{
	pthread_mutex_lock(&s->mu);
	*out = s->st;
	pthread_mutex_unlock(&s->mu);
}

void syslog_sender_pause(struct syslog_sender *s, bool paused)
{
	pthread_mutex_lock(&s->mu);
	s->paused = paused;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

void syslog_sender_set_clock(struct syslog_sender *s, uint64_t (*now_ns)(void *arg), void *arg)
{
	pthread_mutex_lock(&s->mu);
	s->now_ns = now_ns ? now_ns : mono_ns;
	s->now_arg = arg;
	s->last_ns = s->now_ns(arg);
	pthread_mutex_unlock(&s->mu);
}
