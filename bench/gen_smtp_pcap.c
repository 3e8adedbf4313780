/* gen_smtp_pcap: deterministic generator of a large Ethernet/IPv4 SMTP capture
 * for benchmarking `postern replay`.
 *
 * The capture is written in the classic pcap format (LINKTYPE_ETHERNET,
 * microsecond timestamps) straight to a stdio stream, so memory stays small
 * whatever the size: every session owns one content buffer of BUF_CAP bytes
 * and a queue of a few built frames, and at most --concurrency sessions are
 * open at once.
 *
 * Each session is a complete SMTP conversation on port 25: three-way
 * handshake, banner, EHLO (PIPELINING, SIZE, CHUNKING), one to three
 * transactions of MAIL + 1-5 RCPT followed either by DATA (dot-stuffed
 * message, "." terminator) or by BDAT chunks, QUIT, and FIN both ways.
 * Segments carry at most MSS payload bytes with consistent seq/ack numbers;
 * the receiver of a bulk flight sends a pure ACK every second segment.
 * Sessions are interleaved packet by packet.  A fraction of adjacent data
 * segments are swapped and a fraction are retransmitted.  IPv4 and TCP
 * checksums are correct.
 *
 * Every random choice comes from xoshiro256** seeded by --seed: one stream
 * for scheduling and one per session for its content, so a session's bytes
 * do not depend on how it is interleaved with the others.
 *
 * --idle-flows N writes N handshakes of distinct connections that never
 * close, for measuring the memory of an idle tracked flow. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSS 1460u
#define ETH_LEN 14u
#define IP_LEN 20u
#define TCP_LEN 20u
#define TCP_SYN_OPT_LEN 12u
#define MAX_FRAME (ETH_LEN + IP_LEN + TCP_LEN + TCP_SYN_OPT_LEN + MSS)
#define QCAP 8u
#define BUF_CAP (80u * 1024u)
#define UNIT_MAX 4096u          /* largest piece of content produced at once */
#define DATA_REFILL 16384u      /* DATA flights keep this many bytes ready */
#define BDAT_PREFIX 32u         /* room reserved for "BDAT n LAST\r\n" */
#define MIN_MSG 1024.0          /* message sizes: bounded Pareto in [MIN, MAX] */
#define MAX_MSG (8.0 * 1024 * 1024)
#define PARETO_ALPHA 0.6
#define EPOCH_US 1704067200000000ull /* 2024-01-01T00:00:00Z */

#define F_FIN 0x01
#define F_SYN 0x02
#define F_PSH 0x08
#define F_ACK 0x10

/* ---- random numbers --------------------------------------------------- */

struct rng {
	uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Uniform in [0, n). */
static uint32_t rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Uniform in [0, 1). */
static double rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1p-53;
}

static bool rng_chance(struct rng *r, double p)
{
	return rng_unit(r) < p;
}

/* ---- pcap writer ------------------------------------------------------- */

struct writer {
	FILE *f;
	uint64_t bytes;   /* file bytes written, headers included */
	uint64_t packets;
	uint64_t ts_us;   /* time of the last packet */
};

static void put16le(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32le(uint8_t *p, uint32_t v)
{
	put16le(p, (uint16_t)v);
	put16le(p + 2, (uint16_t)(v >> 16));
}

static void put16be(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32be(uint8_t *p, uint32_t v)
{
	put16be(p, (uint16_t)(v >> 16));
	put16be(p + 2, (uint16_t)v);
}

static void die_io(const char *what)
{
	fprintf(stderr, "gen_smtp_pcap: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void writer_header(struct writer *w)
{
	uint8_t h[24];
	put32le(h, 0xa1b2c3d4u);  /* microsecond timestamps */
	put16le(h + 4, 2);
	put16le(h + 6, 4);
	put32le(h + 8, 0);        /* thiszone */
	put32le(h + 12, 0);       /* sigfigs */
	put32le(h + 16, 65535);   /* snaplen */
	put32le(h + 20, 1);       /* LINKTYPE_ETHERNET */
	if (fwrite(h, 1, sizeof h, w->f) != sizeof h)
		die_io("write");
	w->bytes += sizeof h;
}

static void writer_packet(struct writer *w, const uint8_t *frame, uint32_t len)
{
	uint8_t h[16];
	put32le(h, (uint32_t)(w->ts_us / 1000000u));
	put32le(h + 4, (uint32_t)(w->ts_us % 1000000u));
	put32le(h + 8, len);
	put32le(h + 12, len);
	if (fwrite(h, 1, sizeof h, w->f) != sizeof h || fwrite(frame, 1, len, w->f) != len)
		die_io("write");
	w->bytes += sizeof h + len;
	w->packets++;
}

/* ---- checksums --------------------------------------------------------- */

static uint64_t csum_partial(uint64_t sum, const uint8_t *p, size_t n)
{
	while (n >= 4) {
		sum += ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
		p += 4;
		n -= 4;
	}
	if (n >= 2) {
		sum += ((uint32_t)p[0] << 8) | p[1];
		p += 2;
		n -= 2;
	}
	if (n)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* ---- frames ------------------------------------------------------------ */

struct endpoint {
	uint32_t ip;
	uint16_t port;
	uint16_t ip_id;
	uint32_t next_seq;
	uint8_t mac[6];
	uint8_t ttl;
	uint16_t window;
};

struct pkt {
	uint16_t len;
	uint8_t dir;   /* 0: client to server, 1: server to client */
	bool data;     /* carries payload */
	uint8_t frame[MAX_FRAME];
};

static void ip_checksum(uint8_t *ip)
{
	ip[10] = ip[11] = 0;
	put16be(ip + 10, csum_fold(csum_partial(0, ip, IP_LEN)));
}

/* Build one frame from ep[dir] to ep[!dir] and advance the sender's
 * sequence number.  The ACK number is the peer's next sequence number: every
 * flight of the peer is complete before this side sends. */
static void build_frame(struct pkt *p, struct endpoint *ep, int dir, uint8_t flags,
			const uint8_t *payload, uint32_t plen)
{
	struct endpoint *src = &ep[dir], *dst = &ep[!dir];
	uint32_t optlen = (flags & F_SYN) ? TCP_SYN_OPT_LEN : 0;
	uint32_t tcplen = TCP_LEN + optlen + plen;
	uint8_t *f = p->frame, *ip = f + ETH_LEN, *tcp = ip + IP_LEN;

	memcpy(f, dst->mac, 6);
	memcpy(f + 6, src->mac, 6);
	put16be(f + 12, 0x0800);

	ip[0] = 0x45;
	ip[1] = 0;
	put16be(ip + 2, (uint16_t)(IP_LEN + tcplen));
	put16be(ip + 4, src->ip_id++);
	put16be(ip + 6, 0x4000); /* DF */
	ip[8] = src->ttl;
	ip[9] = 6;
	put32be(ip + 12, src->ip);
	put32be(ip + 16, dst->ip);
	ip_checksum(ip);

	put16be(tcp, src->port);
	put16be(tcp + 2, dst->port);
	put32be(tcp + 4, src->next_seq);
	put32be(tcp + 8, (flags & F_ACK) ? dst->next_seq : 0);
	tcp[12] = (uint8_t)(((TCP_LEN + optlen) / 4) << 4);
	tcp[13] = flags;
	put16be(tcp + 14, (flags & F_SYN) ? 64240 : src->window);
	tcp[16] = tcp[17] = 0;
	tcp[18] = tcp[19] = 0;
	if (optlen) {
		uint8_t *o = tcp + TCP_LEN;
		o[0] = 2; o[1] = 4; put16be(o + 2, MSS);     /* MSS */
		o[4] = 1;                                   /* NOP */
		o[5] = 3; o[6] = 3; o[7] = 7;               /* window scale 7 */
		o[8] = 1; o[9] = 1;                         /* NOP NOP */
		o[10] = 4; o[11] = 2;                       /* SACK permitted */
	}
	if (plen)
		memcpy(tcp + TCP_LEN + optlen, payload, plen);

	uint64_t sum = 0;
	sum = csum_partial(sum, ip + 12, 8); /* pseudo header: addresses */
	sum += 6u + tcplen;                  /* protocol, TCP length */
	sum = csum_partial(sum, tcp, tcplen);
	put16be(tcp + 16, csum_fold(sum));

	p->len = (uint16_t)(ETH_LEN + IP_LEN + tcplen);
	p->dir = (uint8_t)dir;
	p->data = plen > 0;
	src->next_seq += plen + ((flags & F_SYN) ? 1u : 0u) + ((flags & F_FIN) ? 1u : 0u);
}

/* A retransmission is the same segment with a new IP id. */
static void rebuild_ip_id(struct pkt *p, struct endpoint *ep)
{
	uint8_t *ip = p->frame + ETH_LEN;
	put16be(ip + 4, ep[p->dir].ip_id++);
	ip_checksum(ip);
}

/* ---- content vocabulary ------------------------------------------------ */

static const char *const words[] = {
	"the", "quarterly", "report", "attached", "please", "review", "before", "meeting",
	"on", "Thursday", "and", "send", "comments", "to", "team", "budget", "forecast",
	"we", "need", "a", "decision", "about", "supplier", "contract", "renewal", "for",
	"next", "year", "thanks", "regards", "invoice", "shipment", "delayed", "customer",
	"project", "milestone", "schedule", "update", "is", "of", "in", "with", "our",
	"new", "office", "network", "maintenance", "window", "Saturday", "morning", "all",
	"systems", "will", "be", "unavailable", "during", "that", "time", "question",
	"answer", "draft", "final", "version", "approved",
};
#define NWORDS (sizeof words / sizeof words[0])

static const char *const users[] = {
	"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
	"mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor",
	"walter", "accounts", "sales", "support", "hr", "billing", "noreply",
};
#define NUSERS (sizeof users / sizeof users[0])

static const char *const domains[] = {
	"example.com", "example.net", "example.org", "corp.example", "mail.example",
	"shop.example.com", "partner.example.net", "lists.example.org",
};
#define NDOMAINS (sizeof domains / sizeof domains[0])

static const char *const att_types[][2] = {
	{"application/pdf", "pdf"},
	{"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"},
	{"application/zip", "zip"},
	{"image/jpeg", "jpg"},
	{"application/octet-stream", "bin"},
};
#define NATT (sizeof att_types / sizeof att_types[0])

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static const char *const day_names[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

/* ---- sessions ---------------------------------------------------------- */

enum sstate {
	ST_SYN, ST_SYNACK, ST_ACK, ST_BANNER, ST_EHLO, ST_EHLO_REPLY,
	ST_ENV, ST_ENV_REPLY, ST_DATA_MSG, ST_DATA_REPLY, ST_BDAT, ST_BDAT_REPLY,
	ST_QUIT, ST_QUIT_REPLY, ST_FIN_S, ST_FIN_C, ST_LAST_ACK, ST_DONE,
};

enum mphase { MP_HEADERS, MP_TEXT, MP_ATT_HDR, MP_ATT, MP_CLOSE, MP_DONE };

struct addr {
	char s[64];
};

struct message {
	enum mphase phase;
	uint64_t text_left, att_left; /* byte budgets of the text and the base64 part */
	uint64_t size;                /* planned size, announced with SIZE= */
	bool multipart;
	unsigned att_type;
	char boundary[48];
};

struct session {
	uint64_t index;
	struct rng rng;
	struct endpoint ep[2];
	enum sstate state;
	bool pipelining, bdat;
	char client_name[48];
	/* transaction */
	unsigned ntx, tx;
	uint64_t msg_size[3];         /* planned size of each message, drawn at start */
	unsigned nrcpt, reject;       /* reject: index of a refused RCPT, or nrcpt */
	unsigned env_i, env_n;        /* envelope commands sent / total (no pipelining) */
	struct addr from, rcpt[5];
	struct message msg;
	bool last_chunk;
	uint64_t chunk_len;
	/* current flight */
	int fdir;
	uint8_t *buf;
	size_t off, len;
	bool more;           /* the flight continues past the buffer (DATA) */
	bool in_flight;
	unsigned segs;
	/* frames built but not yet written */
	struct pkt slot[QCAP];
	uint8_t q[QCAP];
	unsigned qlen;
};

struct gen_stats {
	uint64_t sessions, messages, bdat_messages, bdat_chunks, attachments;
	uint64_t message_bytes, max_message, stuffed_lines;
	uint64_t data_segments, reordered, retransmitted;
};

struct gen {
	struct rng rng;      /* scheduling */
	uint64_t seed;
	struct writer w;
	struct gen_stats st;
	double reorder_p, retrans_p;
};

static void flight_begin(struct session *s, int dir)
{
	s->fdir = dir;
	s->off = 0;
	s->len = 0;
	s->more = false;
	s->in_flight = true;
	s->segs = 0;
}

static void flight_printf(struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void flight_printf(struct session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf((char *)s->buf + s->len, BUF_CAP - s->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= BUF_CAP - s->len) {
		fprintf(stderr, "gen_smtp_pcap: internal: flight buffer overflow\n");
		exit(2);
	}
	s->len += (size_t)n;
}

/* Random choices are taken one per statement: the order in which a
 * compiler evaluates function arguments is unspecified, and the output must
 * be the same whatever the compiler. */
static void random_addr(struct rng *r, struct addr *a)
{
	unsigned n = rng_below(r, 100);
	const char *user = users[rng_below(r, NUSERS)];
	const char *dom = domains[rng_below(r, NDOMAINS)];
	if (n < 50)
		snprintf(a->s, sizeof a->s, "%s@%s", user, dom);
	else
		snprintf(a->s, sizeof a->s, "%s.%u@%s", user, n, dom);
}

/* Bounded Pareto: median about 3 KB, mean about 55 KB, 1.5% above 1 MB. */
static uint64_t random_message_size(struct rng *r)
{
	double u = rng_unit(r);
	double la = pow(MIN_MSG, PARETO_ALPHA), ha = pow(MAX_MSG, PARETO_ALPHA);
	double x = pow(-(u * ha - u * la - ha) / (ha * la), -1.0 / PARETO_ALPHA);
	if (x < MIN_MSG)
		x = MIN_MSG;
	if (x > MAX_MSG)
		x = MAX_MSG;
	return (uint64_t)x;
}

static void message_plan(struct session *s)
{
	struct message *m = &s->msg;
	struct rng *r = &s->rng;
	uint64_t size = s->msg_size[s->tx];
	memset(m, 0, sizeof *m);
	m->size = size;
	m->multipart = (size > 16384 && rng_chance(r, 0.7)) || rng_chance(r, 0.15);
	if (m->multipart) {
		m->att_left = size * 8 / 10;
		m->att_left -= m->att_left % 4;
		if (m->att_left < 400)
			m->att_left = 400;
		m->text_left = size > m->att_left + 600 ? size - m->att_left - 600 : 200;
		m->att_type = rng_below(r, NATT);
		snprintf(m->boundary, sizeof m->boundary, "----=_Part_%" PRIu64 "_%08" PRIx32,
			 s->index, (uint32_t)rng_next(r));
	} else {
		m->text_left = size > 700 ? size - 700 : 200;
	}
	m->phase = MP_HEADERS;
}

/* Append the next piece of the message (at most UNIT_MAX bytes, whole lines)
 * to the flight buffer; DATA flights dot-stuff lines that start with '.'.
 * Returns false once the message is complete. */
static bool message_unit(struct session *s, struct gen_stats *st)
{
	struct message *m = &s->msg;
	struct rng *r = &s->rng;
	size_t start = s->len;

	switch (m->phase) {
	case MP_HEADERS: {
		uint64_t t = EPOCH_US / 1000000u + s->index;
		unsigned c = (unsigned)(s->ep[0].ip & 0xffffu);
		flight_printf(s, "Received: from %s (%s [10.%u.%u.%u])\r\n"
			      "\tby mx.example.net (Postfix) with ESMTPS id 4T%08" PRIX32 "\r\n"
			      "\tfor <%s>; %s, 01 Jan 2024 %02u:%02u:%02u +0000\r\n",
			      s->client_name, s->client_name, (s->ep[0].ip >> 16) & 0xff,
			      (c >> 8) & 0xff, c & 0xff, (uint32_t)rng_next(r), s->rcpt[0].s,
			      day_names[0], (unsigned)(t / 3600 % 24), (unsigned)(t / 60 % 60),
			      (unsigned)(t % 60));
		if (rng_chance(r, 0.5)) {
			const char *dom = domains[rng_below(r, NDOMAINS)];
			unsigned a = rng_below(r, 255);
			unsigned b = rng_below(r, 255);
			flight_printf(s, "Received: from workstation.%s ([192.168.%u.%u])\r\n"
				      "\tby %s with ESMTPSA; Mon, 01 Jan 2024 00:00:00 +0000\r\n",
				      dom, a, b, s->client_name);
		}
		flight_printf(s, "Message-ID: <%" PRIu64 ".%08" PRIx32 "@%s>\r\n", s->index,
			      (uint32_t)rng_next(r), s->client_name);
		flight_printf(s, "Date: Mon, 01 Jan 2024 %02u:%02u:%02u +0000\r\n",
			      (unsigned)(t / 3600 % 24), (unsigned)(t / 60 % 60), (unsigned)(t % 60));
		flight_printf(s, "From: \"%s\" <%s>\r\n", users[rng_below(r, NUSERS)], s->from.s);
		flight_printf(s, "To: <%s>", s->rcpt[0].s);
		for (unsigned i = 1; i < s->nrcpt; i++)
			flight_printf(s, ",\r\n <%s>", s->rcpt[i].s); /* folded */
		const char *w1 = words[rng_below(r, NWORDS)];
		const char *w2 = words[rng_below(r, NWORDS)];
		const char *w3 = words[rng_below(r, NWORDS)];
		flight_printf(s, "\r\nSubject: %s %s %s #%" PRIu64 "\r\n", w1, w2, w3, s->index);
		flight_printf(s, "MIME-Version: 1.0\r\nX-Mailer: bench-mailer 1.%u\r\n", rng_below(r, 9));
		if (m->multipart)
			flight_printf(s, "Content-Type: multipart/mixed;\r\n boundary=\"%s\"\r\n\r\n"
				      "This is a multi-part message in MIME format.\r\n\r\n"
				      "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
				      "Content-Transfer-Encoding: 7bit\r\n\r\n", m->boundary, m->boundary);
		else
			flight_printf(s, "Content-Type: text/plain; charset=utf-8\r\n"
				      "Content-Transfer-Encoding: 7bit\r\n\r\n");
		m->phase = MP_TEXT;
		break;
	}
	case MP_TEXT: {
		/* One line of text: words up to 40-76 columns, blank lines between
		 * paragraphs, now and then a line starting with '.' or a lone '.'. */
		uint8_t *line = s->buf + s->len;
		size_t n = 0, target = 40 + rng_below(r, 37);
		unsigned kind = rng_below(r, 1000);
		bool dot = false;
		if (kind < 60) {
			/* blank line */
		} else if (kind < 63) {
			line[n++] = '.';
			dot = true;
		} else {
			if (kind < 80) {
				memcpy(line, "...", 3);
				n = 3;
				dot = true;
			}
			while (n < target) {
				const char *wd = words[rng_below(r, NWORDS)];
				size_t wl = strlen(wd);
				if (n)
					line[n++] = ' ';
				memcpy(line + n, wd, wl);
				n += wl;
			}
		}
		if (dot && !s->bdat) {
			memmove(line + 1, line, n);
			line[0] = '.';
			n++;
			st->stuffed_lines++;
		}
		line[n++] = '\r';
		line[n++] = '\n';
		s->len += n;
		if (m->text_left > n)
			m->text_left -= n;
		else
			m->phase = m->multipart ? MP_ATT_HDR : MP_DONE;
		break;
	}
	case MP_ATT_HDR: {
		unsigned id = rng_below(r, 100000);
		const char *const *t = att_types[m->att_type];
		flight_printf(s, "\r\n--%s\r\nContent-Type: %s; name=\"document-%u.%s\"\r\n"
			      "Content-Transfer-Encoding: base64\r\n"
			      "Content-Disposition: attachment; filename=\"document-%u.%s\"\r\n\r\n",
			      m->boundary, t[0], id, t[1], id, t[1]);
		st->attachments++;
		m->phase = MP_ATT;
		break;
	}
	case MP_ATT: {
		/* Up to 40 lines of 76 base64 characters of random bytes. */
		for (int l = 0; l < 40 && m->att_left; l++) {
			size_t n = m->att_left < 76 ? (size_t)m->att_left : 76;
			uint8_t *p = s->buf + s->len;
			uint64_t bits = 0;
			for (size_t i = 0; i < n; i++) {
				if (i % 10 == 0)
					bits = rng_next(r);
				p[i] = (uint8_t)b64[bits & 63];
				bits >>= 6;
			}
			p[n] = '\r';
			p[n + 1] = '\n';
			s->len += n + 2;
			m->att_left -= n;
		}
		if (!m->att_left)
			m->phase = MP_CLOSE;
		break;
	}
	case MP_CLOSE:
		flight_printf(s, "\r\n--%s--\r\n", m->boundary);
		m->phase = MP_DONE;
		break;
	case MP_DONE:
		return false;
	}
	st->message_bytes += s->len - start;
	return true;
}

static void flight_compact(struct session *s)
{
	if (s->off) {
		memmove(s->buf, s->buf + s->off, s->len - s->off);
		s->len -= s->off;
		s->off = 0;
	}
}

/* DATA flights are produced as they are sent. */
static void data_refill(struct session *s, struct gen_stats *st)
{
	if (!s->more || s->len - s->off >= DATA_REFILL)
		return;
	flight_compact(s);
	while (s->more && s->len < DATA_REFILL) {
		if (!message_unit(s, st)) {
			flight_printf(s, ".\r\n");
			s->more = false;
		}
	}
}

/* One BDAT chunk: the whole chunk is built at once, the command written in
 * front of it once its length is known. */
static void bdat_chunk(struct session *s, struct gen_stats *st)
{
	size_t target = 8192 + rng_below(&s->rng, 64 * 1024 - 8192);
	char cmd[BDAT_PREFIX];
	flight_begin(s, 0);
	s->len = BDAT_PREFIX;
	while (s->len - BDAT_PREFIX < target && s->msg.phase != MP_DONE)
		message_unit(s, st);
	s->chunk_len = s->len - BDAT_PREFIX;
	s->last_chunk = s->msg.phase == MP_DONE;
	int n = snprintf(cmd, sizeof cmd, "BDAT %" PRIu64 "%s\r\n", s->chunk_len,
			 s->last_chunk ? " LAST" : "");
	s->off = BDAT_PREFIX - (size_t)n;
	memcpy(s->buf + s->off, cmd, (size_t)n);
	st->bdat_chunks++;
}

static void transaction_plan(struct session *s)
{
	struct rng *r = &s->rng;
	random_addr(r, &s->from);
	s->nrcpt = 1 + (rng_chance(r, 0.4) ? 1 + rng_below(r, 4) : 0);
	for (unsigned i = 0; i < s->nrcpt; i++)
		random_addr(r, &s->rcpt[i]);
	s->reject = (s->nrcpt > 1 && rng_chance(r, 0.1)) ? 1 + rng_below(r, s->nrcpt - 1) : s->nrcpt;
	s->env_i = 0;
	s->env_n = 1 + s->nrcpt + (s->bdat ? 0 : 1);
	message_plan(s);
}

/* Envelope command i: 0 = MAIL, 1..nrcpt = RCPT, nrcpt+1 = DATA. */
static void env_command(struct session *s, unsigned i)
{
	if (i == 0)
		flight_printf(s, "MAIL FROM:<%s> SIZE=%" PRIu64 "%s\r\n", s->from.s, s->msg.size,
			      s->bdat ? " BODY=BINARYMIME" : "");
	else if (i <= s->nrcpt)
		flight_printf(s, "RCPT TO:<%s>\r\n", s->rcpt[i - 1].s);
	else
		flight_printf(s, "DATA\r\n");
}

static void env_reply(struct session *s, unsigned i)
{
	if (i == 0)
		flight_printf(s, "250 2.1.0 Ok\r\n");
	else if (i <= s->nrcpt && i - 1 == s->reject)
		flight_printf(s, "550 5.1.1 <%s>: Recipient address rejected: User unknown\r\n",
			      s->rcpt[i - 1].s);
	else if (i <= s->nrcpt)
		flight_printf(s, "250 2.1.5 Ok\r\n");
	else
		flight_printf(s, "354 End data with <CR><LF>.<CR><LF>\r\n");
}

static void pkt_push(struct session *s, int dir, uint8_t flags, const uint8_t *payload, uint32_t plen)
{
	/* Pick a free slot. */
	bool used[QCAP] = {false};
	for (unsigned i = 0; i < s->qlen; i++)
		used[s->q[i]] = true;
	unsigned k = 0;
	while (used[k])
		k++;
	build_frame(&s->slot[k], s->ep, dir, flags, payload, plen);
	s->q[s->qlen++] = (uint8_t)k;
}

/* Move the session on by one step: start the next flight or push the
 * control packets of the handshake and the close. */
static void session_step(struct session *s, struct gen_stats *st)
{
	switch (s->state) {
	case ST_SYN:
		pkt_push(s, 0, F_SYN, NULL, 0);
		s->state = ST_SYNACK;
		break;
	case ST_SYNACK:
		pkt_push(s, 1, F_SYN | F_ACK, NULL, 0);
		s->state = ST_ACK;
		break;
	case ST_ACK:
		pkt_push(s, 0, F_ACK, NULL, 0);
		s->state = ST_BANNER;
		break;
	case ST_BANNER:
		flight_begin(s, 1);
		flight_printf(s, "220 mx%u.example.net ESMTP Postfix\r\n", (unsigned)(s->index % 7));
		s->state = ST_EHLO;
		break;
	case ST_EHLO:
		flight_begin(s, 0);
		flight_printf(s, "EHLO %s\r\n", s->client_name);
		s->state = ST_EHLO_REPLY;
		break;
	case ST_EHLO_REPLY:
		flight_begin(s, 1);
		flight_printf(s, "250-mx%u.example.net\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n"
			      "250-ETRN\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
			      "250-CHUNKING\r\n250 SMTPUTF8\r\n", (unsigned)(s->index % 7));
		transaction_plan(s);
		s->state = ST_ENV;
		break;
	case ST_ENV:
		flight_begin(s, 0);
		if (s->pipelining) {
			for (unsigned i = 0; i < s->env_n; i++)
				env_command(s, i);
		} else {
			env_command(s, s->env_i);
		}
		s->state = ST_ENV_REPLY;
		break;
	case ST_ENV_REPLY:
		flight_begin(s, 1);
		if (s->pipelining) {
			for (unsigned i = 0; i < s->env_n; i++)
				env_reply(s, i);
			s->env_i = s->env_n;
		} else {
			env_reply(s, s->env_i++);
		}
		if (s->env_i < s->env_n)
			s->state = ST_ENV;
		else
			s->state = s->bdat ? ST_BDAT : ST_DATA_MSG;
		break;
	case ST_DATA_MSG:
		flight_begin(s, 0);
		s->more = true;
		data_refill(s, st);
		s->state = ST_DATA_REPLY;
		break;
	case ST_DATA_REPLY:
	case ST_BDAT_REPLY:
		flight_begin(s, 1);
		if (s->state == ST_BDAT_REPLY && !s->last_chunk) {
			flight_printf(s, "250 2.0.0 %" PRIu64 " bytes received\r\n", s->chunk_len);
			s->state = ST_BDAT;
			break;
		}
		flight_printf(s, "250 2.0.0 Ok: queued as 4T%08" PRIX32 "\r\n", (uint32_t)rng_next(&s->rng));
		st->messages++;
		if (s->bdat)
			st->bdat_messages++;
		if (s->msg.size > st->max_message)
			st->max_message = s->msg.size;
		if (++s->tx < s->ntx) {
			transaction_plan(s);
			s->state = ST_ENV;
		} else {
			s->state = ST_QUIT;
		}
		break;
	case ST_BDAT:
		bdat_chunk(s, st);
		s->state = ST_BDAT_REPLY;
		break;
	case ST_QUIT:
		flight_begin(s, 0);
		flight_printf(s, "QUIT\r\n");
		s->state = ST_QUIT_REPLY;
		break;
	case ST_QUIT_REPLY:
		flight_begin(s, 1);
		flight_printf(s, "221 2.0.0 Bye\r\n");
		s->state = ST_FIN_S;
		break;
	case ST_FIN_S:
		pkt_push(s, 1, F_FIN | F_ACK, NULL, 0);
		s->state = ST_FIN_C;
		break;
	case ST_FIN_C:
		pkt_push(s, 0, F_FIN | F_ACK, NULL, 0);
		s->state = ST_LAST_ACK;
		break;
	case ST_LAST_ACK:
		pkt_push(s, 1, F_ACK, NULL, 0);
		s->state = ST_DONE;
		break;
	case ST_DONE:
		break;
	}
}

/* Build at least one more frame into the queue unless the session is over. */
static void session_generate(struct session *s, struct gen_stats *st)
{
	unsigned before = s->qlen;
	while (s->qlen == before && s->state != ST_DONE) {
		if (!s->in_flight) {
			session_step(s, st);
			continue;
		}
		if (s->more)
			data_refill(s, st);
		size_t avail = s->len - s->off;
		if (avail == 0) {
			s->in_flight = false;
			continue;
		}
		uint32_t n = avail < MSS ? (uint32_t)avail : MSS;
		bool last = n == avail && !s->more;
		pkt_push(s, s->fdir, F_ACK | (last ? F_PSH : 0), s->buf + s->off, n);
		s->off += n;
		s->segs++;
		st->data_segments++;
		if (last)
			s->in_flight = false;
		else if (s->segs % 2 == 0)
			pkt_push(s, !s->fdir, F_ACK, NULL, 0); /* delayed ACK */
	}
}

static struct session *session_new(struct gen *g, uint64_t index)
{
	struct session *s = calloc(1, sizeof *s);
	if (!s || !(s->buf = malloc(BUF_CAP))) {
		fprintf(stderr, "gen_smtp_pcap: out of memory\n");
		exit(1);
	}
	uint64_t x = g->seed ^ (index * 0x9e3779b97f4a7c15ull);
	rng_seed(&s->rng, splitmix64(&x));
	struct rng *r = &s->rng;
	s->index = index;
	/* Client 10.a.b.c: consecutive sessions get distinct addresses; the port
	 * varies too, so no two open sessions share a tuple. */
	uint32_t host = (uint32_t)(index % 4000000u) + 1;
	s->ep[0].ip = 0x0a000000u | (host & 0xffffffu);
	s->ep[0].port = (uint16_t)(32768 + rng_below(r, 28000));
	s->ep[0].ttl = 64;
	s->ep[0].window = 502;
	uint8_t cmac[6] = {0x02, 0x00, 0x0a, (uint8_t)(host >> 16), (uint8_t)(host >> 8), (uint8_t)host};
	memcpy(s->ep[0].mac, cmac, 6);
	unsigned srv = rng_below(r, 40);
	s->ep[1].ip = 0xc6336400u | (10 + srv); /* 198.51.100.x */
	s->ep[1].port = 25;
	s->ep[1].ttl = 57;
	s->ep[1].window = 2048;
	uint8_t smac[6] = {0x02, 0x00, 0xc6, 0x33, 0x64, (uint8_t)(10 + srv)};
	memcpy(s->ep[1].mac, smac, 6);
	for (int d = 0; d < 2; d++) {
		s->ep[d].next_seq = (uint32_t)rng_next(r);
		s->ep[d].ip_id = (uint16_t)rng_next(r);
	}
	snprintf(s->client_name, sizeof s->client_name, "host%" PRIu64 ".%s", index,
		 domains[rng_below(r, NDOMAINS)]);
	s->pipelining = rng_chance(r, 0.8);
	s->bdat = rng_chance(r, 0.2);
	unsigned t = rng_below(r, 100);
	s->ntx = t < 85 ? 1 : t < 95 ? 2 : 3;
	for (unsigned i = 0; i < s->ntx; i++)
		s->msg_size[i] = random_message_size(r);
	s->state = ST_SYN;
	g->st.sessions++;
	return s;
}

/* Write the session's next frame (or several with a reordering or a
 * retransmission).  Returns false when the session is finished. */
static bool session_emit(struct gen *g, struct session *s)
{
	if (s->qlen == 0)
		session_generate(s, &g->st);
	if (s->qlen == 0)
		return false;
	struct pkt *p = &s->slot[s->q[0]];
	if (p->data && rng_chance(&g->rng, g->reorder_p)) {
		if (s->qlen < 2)
			session_generate(s, &g->st);
		struct pkt *n = s->qlen >= 2 ? &s->slot[s->q[1]] : NULL;
		if (n && n->data && n->dir == p->dir) {
			uint8_t t = s->q[0];
			s->q[0] = s->q[1];
			s->q[1] = t;
			p = n;
			g->st.reordered++;
		}
	}
	g->w.ts_us += 1 + rng_below(&g->rng, 60);
	writer_packet(&g->w, p->frame, p->len);
	uint8_t sent = s->q[0];
	memmove(s->q, s->q + 1, --s->qlen);
	if (p->data && rng_chance(&g->rng, g->retrans_p)) {
		/* Retransmit after the next frame of this session (if any). */
		bool used[QCAP] = {false};
		for (unsigned i = 0; i < s->qlen; i++)
			used[s->q[i]] = true;
		used[sent] = true;
		unsigned k = 0;
		while (used[k])
			k++;
		s->slot[k] = *p;
		rebuild_ip_id(&s->slot[k], s->ep);
		unsigned at = s->qlen ? 1 : 0;
		memmove(s->q + at + 1, s->q + at, s->qlen - at);
		s->q[at] = (uint8_t)k;
		s->qlen++;
		g->st.retransmitted++;
	}
	return true;
}

static void session_free(struct session *s)
{
	free(s->buf);
	free(s);
}

/* File bytes a session is expected to write: its messages plus about 5%
 * for frame and record headers, delayed ACKs and retransmissions, plus the
 * dialogue and the message headers. */
static uint64_t session_estimate(const struct session *s)
{
	uint64_t total = 3500;
	for (unsigned i = 0; i < s->ntx; i++)
		total += (s->msg_size[i] + 1200) * 105 / 100;
	return total;
}

static int run_sessions(struct gen *g, uint64_t size_bytes, uint64_t max_sessions, unsigned conc)
{
	struct session **act = calloc(conc, sizeof *act);
	if (!act) {
		fprintf(stderr, "gen_smtp_pcap: out of memory\n");
		return 1;
	}
	unsigned nact = 0;
	uint64_t launched = 0, planned = 0;
	for (;;) {
		/* Keep conc sessions open until the planned bytes reach the size. */
		while (nact < conc && (!max_sessions || launched < max_sessions) &&
		       (!size_bytes || planned < size_bytes)) {
			struct session *s = session_new(g, launched++);
			planned += session_estimate(s);
			act[nact++] = s;
		}
		if (nact == 0)
			break;
		unsigned i = rng_below(&g->rng, nact);
		if (!session_emit(g, act[i])) {
			session_free(act[i]);
			act[i] = act[--nact];
		}
	}
	free(act);
	return 0;
}

/* N handshakes of distinct connections that stay open. */
static int run_idle(struct gen *g, uint64_t n)
{
	struct session s;
	memset(&s, 0, sizeof s);
	s.buf = NULL;
	rng_seed(&s.rng, g->seed);
	for (uint64_t k = 0; k < n; k++) {
		uint32_t host = (uint32_t)(k >> 4) + 1;
		s.ep[0].ip = 0x0a000000u | (host & 0xffffffu);
		s.ep[0].port = (uint16_t)(40000 + (k & 15));
		s.ep[0].ttl = 64;
		s.ep[0].window = 502;
		uint8_t cmac[6] = {0x02, 0x00, 0x0a, (uint8_t)(host >> 16), (uint8_t)(host >> 8), (uint8_t)host};
		memcpy(s.ep[0].mac, cmac, 6);
		s.ep[1].ip = 0xc6336400u | (10 + (uint32_t)(k % 40));
		s.ep[1].port = 25;
		s.ep[1].ttl = 57;
		s.ep[1].window = 2048;
		uint8_t smac[6] = {0x02, 0x00, 0xc6, 0x33, 0x64, (uint8_t)(10 + k % 40)};
		memcpy(s.ep[1].mac, smac, 6);
		for (int d = 0; d < 2; d++) {
			s.ep[d].next_seq = (uint32_t)rng_next(&s.rng);
			s.ep[d].ip_id = (uint16_t)rng_next(&s.rng);
		}
		static const uint8_t flags[3] = {F_SYN, F_SYN | F_ACK, F_ACK};
		for (int i = 0; i < 3; i++) {
			build_frame(&s.slot[0], s.ep, i == 1, flags[i], NULL, 0);
			g->w.ts_us += 2;
			writer_packet(&g->w, s.slot[0].frame, s.slot[0].len);
		}
		g->st.sessions++;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gen_smtp_pcap --out FILE [options]\n"
		"  --out FILE         capture to write (\"-\": standard output)\n"
		"  --seed N           random seed (default 1)\n"
		"  --size MB          stop opening sessions at about this many MiB (default 600;\n"
		"                     0 with --sessions: no size limit)\n"
		"  --sessions N       at most N sessions (default: no limit)\n"
		"  --concurrency N    sessions open at once, interleaved (default 200)\n"
		"  --reorder-pct P    chance that a data segment is swapped with the next\n"
		"                     segment of the same flight when that one follows at\n"
		"                     once (default 6: about 5%% of data segments end up\n"
		"                     in a swapped pair)\n"
		"  --retrans-pct P    chance that a data segment is retransmitted (default 0.5)\n"
		"  --idle-flows N     write only N handshakes of connections never closed\n"
		"  --quiet            no summary on standard error\n");
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		return false;
	*out = v;
	return true;
}

static bool parse_pct(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end || !(v >= 0 && v <= 100))
		return false;
	*out = v / 100.0;
	return true;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"out", required_argument, NULL, 'o'},
		{"seed", required_argument, NULL, 's'},
		{"size", required_argument, NULL, 'S'},
		{"sessions", required_argument, NULL, 'n'},
		{"concurrency", required_argument, NULL, 'c'},
		{"reorder-pct", required_argument, NULL, 'r'},
		{"retrans-pct", required_argument, NULL, 'R'},
		{"idle-flows", required_argument, NULL, 'i'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *out = NULL;
	uint64_t seed = 1, size_mb = 600, sessions = 0, conc = 200, idle = 0;
	bool size_given = false, idle_mode = false, quiet = false;
	struct gen g;
	memset(&g, 0, sizeof g);
	g.reorder_p = 0.06;
	g.retrans_p = 0.005;
	int c;
	while ((c = getopt_long(argc, argv, "o:s:S:n:c:r:R:i:qh", opts, NULL)) != -1) {
		bool ok = true;
		switch (c) {
		case 'o': out = optarg; break;
		case 's': ok = parse_u64(optarg, &seed); break;
		case 'S': ok = parse_u64(optarg, &size_mb); size_given = true; break;
		case 'n': ok = parse_u64(optarg, &sessions); break;
		case 'c': ok = parse_u64(optarg, &conc) && conc >= 1 && conc <= 1000000; break;
		case 'r': ok = parse_pct(optarg, &g.reorder_p); break;
		case 'R': ok = parse_pct(optarg, &g.retrans_p); break;
		case 'i': ok = parse_u64(optarg, &idle); idle_mode = true; break;
		case 'q': quiet = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		if (!ok) {
			fprintf(stderr, "gen_smtp_pcap: bad option value: %s\n", optarg);
			usage(stderr);
			return 2;
		}
	}
	if (!out || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (sessions && !size_given)
		size_mb = 0;
	if (!sessions && !size_mb && !idle_mode) {
		fprintf(stderr, "gen_smtp_pcap: --size 0 needs --sessions\n");
		return 2;
	}

	g.seed = seed;
	rng_seed(&g.rng, seed ^ 0x5eed5eed5eed5eedull);
	g.w.ts_us = EPOCH_US;
	g.w.f = strcmp(out, "-") ? fopen(out, "wb") : stdout;
	if (!g.w.f)
		die_io(out);
	static char iobuf[1 << 20];
	setvbuf(g.w.f, iobuf, _IOFBF, sizeof iobuf);
	writer_header(&g.w);

	int rc = idle_mode ? run_idle(&g, idle)
			   : run_sessions(&g, size_mb * 1024 * 1024, sessions, (unsigned)conc);
	if (fflush(g.w.f) != 0 || (g.w.f != stdout && fclose(g.w.f) != 0))
		die_io(out);
	if (rc)
		return rc;

	if (!quiet) {
		const struct gen_stats *st = &g.st;
		if (idle_mode) {
			fprintf(stderr, "idle_flows=%" PRIu64 " packets=%" PRIu64 " bytes=%" PRIu64 "\n",
				st->sessions, g.w.packets, g.w.bytes);
		} else {
			fprintf(stderr,
				"sessions=%" PRIu64 " messages=%" PRIu64 " bdat_messages=%" PRIu64
				" bdat_chunks=%" PRIu64 " attachments=%" PRIu64 " message_bytes=%" PRIu64
				" max_message=%" PRIu64 " stuffed_lines=%" PRIu64 "\n"
				"packets=%" PRIu64 " bytes=%" PRIu64 " data_segments=%" PRIu64
				" reordered_pairs=%" PRIu64 " (%.2f%% of data segments)" " retransmitted=%" PRIu64
				" duration_s=%.3f\n",
				st->sessions, st->messages, st->bdat_messages, st->bdat_chunks,
				st->attachments, st->message_bytes, st->max_message, st->stuffed_lines,
				g.w.packets, g.w.bytes, st->data_segments, st->reordered,
				st->data_segments ? 200.0 * (double)st->reordered / (double)st->data_segments : 0.0,
				st->retransmitted, (double)(g.w.ts_us - EPOCH_US) / 1e6);
		}
	}
	return 0;
}
