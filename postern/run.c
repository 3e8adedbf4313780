/* postern run: the inline daemon.  One worker thread per NFQUEUE queue, each
 * with its own pipeline (flow table, parsers, Hyperscan scratch, DNS
 * resolver): the kernel sends both directions of a connection to the same
 * queue, so workers share nothing on the packet path but the read-only
 * policy, the verdict store's queue and the syslog sender's queue.
 *
 * Every packet is answered at once except the commit point whose decision
 * waits for DNS: it is held (answered later, out of order) at most
 * inline.hold_timeout_ms.  A reset drops the commit packet and injects RSTs
 * both ways; a packet of a connection that needs no more inspection gets the
 * bypass bits in its mark, which the bridge rules save into the connection
 * mark, so the kernel stops queueing the connection.
 *
 * Signals (handled by the main thread, workers only read flags):
 *   SIGHUP   reload the configuration and rules; a bad file keeps the old policy
 *   SIGUSR1  each worker writes a stats event (and its queue counters)
 *   SIGTERM, SIGINT  answer held packets, finish, exit */
#include "postern/commands.h"

#include <cap-ng.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "alerts/syslog.h"
#include "config/config.h"
#include "nfq/inject.h"
#include "nfq/queue.h"
#include "policy/mail_scan.h"
#include "postern/cli_util.h"
#include "postern/pipeline.h"
#include "rbl/rbl.h"
#include "store/store.h"
#include "webmail/uploads.h"

#define MAX_QUEUES 64
#define LINKTYPE_RAW 101
#define MAC_SLOTS 65536      /* learned addresses per worker (direct-mapped) */
#define RETIRED_MAX 16       /* old policies still used by open transactions */
#define POLL_MS 100          /* how often a quiet worker looks at its flags */
#define ACCEPT_BATCH 64      /* = nfq max_batch: plain accepts gathered per receive */
#define OWN_RST_MAX 64       /* resets per receive batch fed back to the pipeline */
#define LINKTYPE_ETHERNET 1

static const char run_usage[] =
	"Usage: postern run --config FILE [--queues A[-B]] [OPTIONS]\n"
	"\n"
	"Run inline: read packets from NFQUEUE queues A..B (one worker thread per\n"
	"queue), judge every mail at its commit point and enforce the verdict: accept,\n"
	"or drop the packet that completes the message and reset both ends.  Events\n"
	"(JSON lines, as 'postern replay' writes them) go to standard output.\n"
	"Install the bridge's iptables rules with tools/postern-bridge first.\n"
	"\n"
	"Options:\n"
	"  -c, --config FILE   configuration (docs/configuration.md); required\n"
	"  -q, --queues A[-B]  NFQUEUE numbers (default 0)\n"
	"  -o, --output FILE   write events to FILE instead of standard output\n"
	"      --keep-caps     do not drop capabilities after setup (debugging)\n"
	"  -h, --help          show this help\n"
	"\n"
	"Signals: SIGHUP reloads the configuration and rules (a bad file keeps the\n"
	"running policy and says why on standard error); SIGUSR1 writes live stats\n"
	"events; SIGTERM or SIGINT answers held packets and exits.\n"
	"\n"
	"Exit status: 0 after a clean stop, 1 when a queue failed, 2 on usage or\n"
	"configuration errors.\n";

/* ---- policy generations ------------------------------------------------ */

/* A loaded configuration and its compiled policy.  Workers hold references;
 * a reload publishes a new generation and the old one is freed by the last
 * worker that lets go of it. */
struct policy_gen {
	struct postern_config cfg;
	struct mail_policy mp;
	atomic_int refs;
	unsigned serial;
};

static pthread_mutex_t gen_lock = PTHREAD_MUTEX_INITIALIZER;
static struct policy_gen *current_gen;
static atomic_uint gen_serial;

static void gen_put(struct policy_gen *g)
{
	if (g && atomic_fetch_sub(&g->refs, 1) == 1) {
		mail_policy_free(&g->mp);
		config_free(&g->cfg);
		free(g);
	}
}

static struct policy_gen *gen_get(void)
{
	pthread_mutex_lock(&gen_lock);
	struct policy_gen *g = current_gen;
	if (g)
		atomic_fetch_add(&g->refs, 1);
	pthread_mutex_unlock(&gen_lock);
	return g;
}

/* Load path into a new generation; errors go to stderr.  NULL on any error. */
static struct policy_gen *gen_load(const char *path)
{
	struct policy_gen *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	char err[2048];
	config_default(&g->cfg);
	if (config_load(&g->cfg, path, err, sizeof err) < 0) {
		fprintf(stderr, "postern: %s\n", err);
		config_free(&g->cfg);
		free(g);
		return NULL;
	}
	if (mail_policy_load(&g->mp, &g->cfg, stderr) < 0) {
		config_free(&g->cfg);
		free(g);
		return NULL;
	}
	atomic_init(&g->refs, 1);
	return g;
}

static void gen_publish(struct policy_gen *g)
{
	pthread_mutex_lock(&gen_lock);
	struct policy_gen *old = current_gen;
	g->serial = atomic_load(&gen_serial) + 1;
	current_gen = g;
	atomic_store(&gen_serial, g->serial);
	pthread_mutex_unlock(&gen_lock);
	gen_put(old);
}

/* ---- shared state ------------------------------------------------------ */

static atomic_bool stop_flag;
static atomic_uint stats_request; /* bumped by SIGUSR1 */
static FILE *events_out;
static struct store *store;              /* from the first generation; not reloaded */
/* Webmail uploads waiting for their send, shared by the workers (a send may
 * come on another connection, hence another queue); from the first
 * generation, kept across reloads. */
static struct webmail_uploads *uploads;
static struct syslog_sender *alerts;     /* likewise */
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- learned addresses ---------------------------------------------------- */

/* Where each IP address was last seen on the bridge: its MAC and the port it
 * arrived on.  Reset frames are addressed with these. */
struct mac_slot {
	uint8_t family, used;
	uint8_t addr[16];
	uint8_t mac[6];
	uint32_t ifindex;
};

static size_t mac_hash(int family, const uint8_t *addr)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)family;
	size_t n = family == 6 ? 16 : 4;
	for (size_t i = 0; i < n; i++)
		h = (h ^ addr[i]) * 1099511628211ull;
	return (size_t)(h ^ (h >> 29)) & (MAC_SLOTS - 1);
}

/* ---- workers ------------------------------------------------------------------ */


struct retired {
	struct mail_scanner *ms;
	struct policy_gen *gen;
};

struct worker {
	uint16_t queue;
	pthread_t thread;
	bool started;
	int status;
	struct nfq_queue *q;
	struct injector *inj;
	struct pipeline *pl;
	struct policy_gen *gen;
	struct mail_scanner *ms;
	unsigned serial;
	struct retired retired[RETIRED_MAX];
	size_t nretired;
	struct mac_slot *macs;
	uint64_t mac_overwrites, reset_failures, reload_failures;
	uint64_t own_rst_skipped;  /* resets past OWN_RST_MAX in one batch: ended by timeout */
	/* The RSTs sent, to be fed back into the pipeline (see cut). */
	struct {
		uint8_t frame[96];
		size_t len;
	} own_rst[OWN_RST_MAX];
	size_t nown_rst;
	/* Plain accepts of the current receive batch, answered together. */
	uint32_t acc_ids[ACCEPT_BATCH];
	size_t nacc;
	unsigned stats_seen;
};

static void learn(struct worker *w, const struct nfq_packet *p)
{
	if (p->hwaddr_len != 6 || !p->physindev || p->len < 20)
		return;
	uint8_t family = (p->payload[0] >> 4) == 6 ? 6 : 4;
	const uint8_t *src = family == 6 ? p->payload + 8 : p->payload + 12;
	if (family == 6 && p->len < 40)
		return;
	size_t n = family == 6 ? 16 : 4;
	struct mac_slot *m = &w->macs[mac_hash(family, src)];
	if (m->used && (m->family != family || memcmp(m->addr, src, n)))
		w->mac_overwrites++;
	m->used = 1;
	m->family = family;
	memset(m->addr, 0, sizeof m->addr);
	memcpy(m->addr, src, n);
	memcpy(m->mac, p->hwaddr, 6);
	m->ifindex = p->physindev;
}

static bool lookup(const struct worker *w, const struct ip_addr *a, struct inject_end *e)
{
	size_t n = a->family == 6 ? 16 : 4;
	const struct mac_slot *m = &w->macs[mac_hash(a->family, a->addr)];
	if (!m->used || m->family != a->family || memcmp(m->addr, a->addr, n))
		return false;
	memcpy(e->mac, m->mac, 6);
	e->ifindex = m->ifindex;
	return true;
}

static uint64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Cut the connection of a dropped commit packet: RSTs to both ends, or, with
 * location (an HTTP request from the client), the server's RST and a 302 to
 * location for the client as if from the server. */
static void cut(struct worker *w, const struct pipeline_verdict *v, const char *location)
{
	struct inject_end client = {0}, server = {0};
	client.family = v->client.family == 6 ? AF_INET6 : AF_INET;
	server.family = client.family;
	memcpy(client.addr, v->client.addr, 16);
	memcpy(server.addr, v->server.addr, 16);
	client.port = v->client_port;
	server.port = v->server_port;
	bool ok = lookup(w, &v->client, &client) && lookup(w, &v->server, &server) && w->inj;
	uint32_t to_server = v->from_client ? v->seq : v->ack;
	uint32_t to_client = v->from_client ? v->ack : v->seq;
	if (location && v->from_client) {
		/* The request ends at seq + payload_len: that is what the answer
		 * acknowledges, so the client does not send it again. */
		ok = ok && injector_redirect(w->inj, &client, &server, to_server, to_client,
					     v->seq + v->payload_len, location) == 0;
	} else {
		ok = ok && injector_reset(w->inj, &client, &server, to_server, to_client) == 0;
	}
	if (!ok)
		w->reset_failures++;
	/* The injected segments never pass the queue, so the pipeline would see
	 * the connection end only at its idle timeout, and the transaction's
	 * event and alert with it.  Feed it a RST to the client (the one its
	 * tracker finds in window: the server->client stream is where the
	 * packet's ack left it, while the client->server stream already took
	 * the dropped bytes), after the current batch, never from inside a
	 * pipeline callback. */
	if (w->nown_rst < OWN_RST_MAX) {
		size_t n = inject_build_rst(w->own_rst[w->nown_rst].frame,
					   sizeof w->own_rst[w->nown_rst].frame, &server, &client,
					   to_client, to_server);
		if (n)
			w->own_rst[w->nown_rst++].len = n;
	} else {
		w->own_rst_skipped++;
	}
}

static void feed_own_resets(struct worker *w)
{
	for (size_t i = 0; i < w->nown_rst; i++) {
		struct pipeline_verdict ignored;
		pipeline_packet_inline(w->pl, LINKTYPE_ETHERNET, w->own_rst[i].frame,
				       w->own_rst[i].len, wall_us(), 0, &ignored);
	}
	w->nown_rst = 0;
}


/* mark: the packet's own mark, kept apart from the bypass bits. */
static void answer(struct worker *w, const struct pipeline_verdict *v, uint32_t mark)
{
	const struct postern_config *c = &w->gen->cfg;
	uint32_t id = (uint32_t)v->token;
	switch (v->action) {
	case PIPE_ACCEPT:
		nfq_verdict(w->q, id, NFQ_ACCEPT, 0, 0, 0);
		break;
	case PIPE_BYPASS:
		nfq_verdict_mark(w->q, id, NFQ_ACCEPT, c->bypass_mark, c->bypass_mask, mark);
		break;
	case PIPE_RESET:
		nfq_verdict(w->q, id, NFQ_DROP, 0, 0, 0);
		cut(w, v, NULL);
		break;
	case PIPE_REDIRECT:
		nfq_verdict(w->q, id, NFQ_DROP, 0, 0, 0);
		/* without a block page the config never asks for a redirect */
		cut(w, v, c->webmail.block_page);
		break;
	case PIPE_DROP:
		nfq_verdict(w->q, id, NFQ_DROP, 0, 0, 0);
		break;
	case PIPE_HOLD:
		break; /* answered by on_released */
	}
}

/* Answer the gathered plain accepts: one batch verdict when no packet is held
 * (a batch accepts every unanswered id up to the last, held ones included),
 * one verdict each otherwise. */
static void flush_accepts(struct worker *w)
{
	if (!w->nacc)
		return;
	uint32_t max = w->acc_ids[0];
	for (size_t i = 1; i < w->nacc; i++)
		if (w->acc_ids[i] > max)
			max = w->acc_ids[i];
	if (pipeline_held_count(w->pl) == 0 && w->nacc > 1)
		nfq_verdict_batch_accept(w->q, max);
	else
		for (size_t i = 0; i < w->nacc; i++)
			nfq_verdict(w->q, w->acc_ids[i], NFQ_ACCEPT, 0, 0, 0);
	w->nacc = 0;
}

static void on_released(void *ctx, const struct pipeline_verdict *v)
{
	/* A held packet ends as ACCEPT or RESET, never BYPASS: its own mark
	 * (which only a bypass verdict rewrites) is not needed. */
	answer(ctx, v, 0);
}

static void on_packet(void *ctx, const struct nfq_packet *p)
{
	struct worker *w = ctx;
	learn(w, p);
	struct pipeline_verdict v;
	pipeline_packet_inline(w->pl, LINKTYPE_RAW, p->payload, p->len, p->ts_us, p->id, &v);
	if (v.action == PIPE_HOLD) {
		/* Gathered accepts of earlier ids must not be batched past it. */
		flush_accepts(w);
		return;
	}
	if (v.action == PIPE_ACCEPT && w->nacc < ACCEPT_BATCH) {
		w->acc_ids[w->nacc++] = p->id;
		return;
	}
	/* Earlier segments of the batch go out before a reset's RSTs: a server
	 * that saw the RST before them would ignore it and wait for them. */
	flush_accepts(w);
	answer(w, &v, p->mark);
}

/* ---- alerts ------------------------------------------------------------------ */

static const char *jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

/* A webmail request or ClientHello: who sent what through which service. */
static void alert_webmail(struct worker *w, const json_t *ev, const char *type,
			  const char *verdict, const char *flow, const char *ids)
{
	(void)w;
	bool http = !strcmp(type, "http_request");
	const json_t *wm = json_object_get(ev, "webmail");
	const char *host = http ? jstr(ev, "host") : jstr(ev, "sni");
	const char *service = jstr(json_object_get(ev, "service"), "name");
	struct syslog_param params[] = {
		{"verdict", verdict}, {"direction", jstr(ev, "direction")}, {"flow", flow},
		{"client", jstr(ev, "client")}, {"server", jstr(ev, "server")},
		{"host", host}, {"service", service}, {"product", jstr(wm, "product")},
		{"kind", jstr(wm, "kind")}, {"rcpt", jstr(wm, "to")}, {"subject", jstr(wm, "subject")},
		{"reasons", ids},
	};
	char msg[512];
	if (http)
		snprintf(msg, sizeof msg, "%s webmail %s via %s (%s) to <%s>: %s", verdict,
			 jstr(wm, "kind"), host, jstr(wm, "product"), jstr(wm, "to"), ids);
	else
		snprintf(msg, sizeof msg, "%s TLS to %s (service %s)", verdict, host, service);
	bool blocked = strcmp(verdict, "accept") != 0;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	syslog_alert(alerts, blocked ? 4 : 5, "verdict",
		     (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u, params,
		     sizeof params / sizeof params[0], msg);
}

static void on_decided(void *ctx, const json_t *ev)
{
	struct worker *w = ctx;
	const struct postern_config *c = &w->gen->cfg;
	if (!alerts)
		return;
	const char *verdict = jstr(ev, "verdict");
	json_t *reasons = json_object_get(ev, "reasons");
	/* reset, or redirect (webmail): both block */
	bool reset = verdict[0] && strcmp(verdict, "accept") != 0;
	bool tls = !strcmp(jstr(ev, "type"), "tls_client_hello"); /* only blocked ones come here */
	if ((!json_array_size(reasons) && !tls) ||
	    (c->syslog_min_action == RULE_ACTION_RESET && !reset))
		return;
	char flow[160], ids[256] = "", rcpt[320] = "";
	snprintf(flow, sizeof flow, "%s:%lld>%s:%lld", jstr(ev, "client"),
		 (long long)json_integer_value(json_object_get(ev, "client_port")), jstr(ev, "server"),
		 (long long)json_integer_value(json_object_get(ev, "server_port")));
	size_t used = 0, i;
	json_t *r;
	json_array_foreach(reasons, i, r) {
		const char *id = jstr(r, "id");
		if (!strstr(ids, id) && used + strlen(id) + 2 < sizeof ids)
			used += (size_t)snprintf(ids + used, sizeof ids - used, "%s%s", used ? "," : "", id);
	}
	json_t *to = json_object_get(ev, "rcpt_to");
	size_t nto = json_array_size(to);
	if (nto > 1)
		snprintf(rcpt, sizeof rcpt, "%s (+%zu)", json_string_value(json_array_get(to, 0)), nto - 1);
	else if (nto == 1)
		snprintf(rcpt, sizeof rcpt, "%s", json_string_value(json_array_get(to, 0)));
	const char *subject = jstr(json_object_get(ev, "content"), "subject");
	const char *type = jstr(ev, "type");
	if (!strcmp(type, "http_request") || !strcmp(type, "tls_client_hello")) {
		alert_webmail(w, ev, type, verdict, flow, ids);
		return;
	}
	struct syslog_param params[] = {
		{"verdict", verdict}, {"direction", jstr(ev, "direction")}, {"flow", flow},
		{"client", jstr(ev, "client")}, {"server", jstr(ev, "server")},
		{"mail_from", jstr(ev, "mail_from")}, {"rcpt", rcpt}, {"subject", subject},
		{"reasons", ids},
	};
	char msg[512];
	snprintf(msg, sizeof msg, "%s %s mail from <%s> to <%s>: %s", verdict, jstr(ev, "direction"),
		 jstr(ev, "mail_from"), rcpt, ids);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	syslog_alert(alerts, reset ? 4 : 5, "verdict",
		     (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u, params,
		     sizeof params / sizeof params[0], msg);
}

/* ---- worker life ----------------------------------------------------------- */


static void pipeline_settings(struct pipeline_config *pc, const struct postern_config *c)
{
	pipeline_config_default(pc);
	pipeline_config_apply(pc, c);
	/* The kernel verified checksums of forwarded packets already, and GSO
	 * packets carry none. */
	pc->decode.verify_checksums = false;
}

/* A reload was published: new scanner, the old one retires until its
 * transactions are over. */
static void worker_reload(struct worker *w)
{
	struct policy_gen *g = gen_get();
	if (!g || g == w->gen) {
		gen_put(g);
		return;
	}
	char err[256];
	struct mail_scanner *ms = mail_scanner_new(&g->mp, err, sizeof err);
	if (!ms || w->nretired == RETIRED_MAX) {
		fprintf(stderr, "postern: queue %u: reload not taken: %s\n", w->queue,
			ms ? "too many policies still in use" : err);
		mail_scanner_free(ms);
		gen_put(g);
		w->reload_failures++;
		w->serial = g ? g->serial : w->serial;
		return;
	}
	w->retired[w->nretired++] = (struct retired){w->ms, w->gen};
	w->ms = ms;
	w->gen = g;
	w->serial = g->serial;
	pipeline_set_scanner(w->pl, ms);
}

static void retire_unused(struct worker *w)
{
	for (size_t i = 0; i < w->nretired;) {
		if (mail_scanner_open_scans(w->retired[i].ms) == 0) {
			mail_scanner_free(w->retired[i].ms);
			gen_put(w->retired[i].gen);
			w->retired[i] = w->retired[--w->nretired];
		} else {
			i++;
		}
	}
}

static void write_queue_stats(struct worker *w)
{
	const struct nfq_stats *s = nfq_queue_stats(w->q);
	const struct injector_stats *is = w->inj ? injector_stats(w->inj) : NULL;
	pthread_mutex_lock(&out_lock);
	fprintf(events_out,
		"{\"type\":\"queue_stats\",\"queue\":%u,\"received\":%llu,\"accepted\":%llu,"
		"\"dropped\":%llu,\"marked\":%llu,\"verdict_errors\":%llu,\"recv_errors\":%llu,"
		"\"parse_errors\":%llu,\"gso\":%llu,\"held_now\":%zu,\"rst_sent\":%llu,"
		"\"reset_failures\":%llu,\"mac_overwrites\":%llu,\"reload_failures\":%llu,"
		"\"own_rst_skipped\":%llu}\n",
		w->queue, (unsigned long long)s->received, (unsigned long long)s->accepted,
		(unsigned long long)s->dropped, (unsigned long long)s->packet_marked,
		(unsigned long long)s->verdict_errors, (unsigned long long)s->recv_errors,
		(unsigned long long)s->parse_errors, (unsigned long long)s->gso,
		pipeline_held_count(w->pl), (unsigned long long)(is ? is->sent : 0),
		(unsigned long long)w->reset_failures, (unsigned long long)w->mac_overwrites,
		(unsigned long long)w->reload_failures, (unsigned long long)w->own_rst_skipped);
	fflush(events_out);
	pthread_mutex_unlock(&out_lock);
}

static size_t resolver_fds(struct worker *w, struct pollfd *fds, size_t cap)
{
	size_t n = 0;
	struct rbl_resolver *r = mail_scanner_resolver(w->ms);
	if (r)
		n += rbl_pollfds(r, fds + n, cap - n);
	for (size_t i = 0; i < w->nretired && n < cap; i++) {
		r = mail_scanner_resolver(w->retired[i].ms);
		if (r)
			n += rbl_pollfds(r, fds + n, cap - n);
	}
	return n;
}

static void resolvers_process(struct worker *w, const struct pollfd *fds, size_t n)
{
	/* Each resolver picks its own sockets out of the set. */
	struct rbl_resolver *r = mail_scanner_resolver(w->ms);
	if (r)
		rbl_process(r, fds, n);
	for (size_t i = 0; i < w->nretired; i++) {
		r = mail_scanner_resolver(w->retired[i].ms);
		if (r)
			rbl_process(r, fds, n);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct pollfd fds[1 + 64];
	while (!atomic_load(&stop_flag)) {
		if (atomic_load(&gen_serial) != w->serial)
			worker_reload(w);
		if (w->nretired)
			retire_unused(w);
		unsigned sr = atomic_load(&stats_request);
		if (sr != w->stats_seen) {
			w->stats_seen = sr;
			pthread_mutex_lock(&out_lock);
			pipeline_emit_stats(w->pl);
			pthread_mutex_unlock(&out_lock);
			write_queue_stats(w);
		}
		fds[0] = (struct pollfd){.fd = nfq_queue_fd(w->q), .events = POLLIN};
		size_t nres = resolver_fds(w, fds + 1, 64);
		int timeout = pipeline_held_count(w->pl) ? 10 : POLL_MS;
		if (poll(fds, 1 + nres, timeout) < 0 && errno != EINTR)
			break;
		if (nres)
			resolvers_process(w, fds + 1, nres);
		if (fds[0].revents & POLLIN) {
			int got = nfq_queue_receive(w->q, on_packet, w);
			flush_accepts(w);
			feed_own_resets(w);
			if (got < 0) {
				fprintf(stderr, "postern: queue %u: receive failed: %s\n", w->queue,
					strerror(errno));
				w->status = 1;
				break;
			}
		}
		if (pipeline_held_count(w->pl)) {
			pipeline_release_held(w->pl, wall_us(), on_released, w);
			feed_own_resets(w);
		}
	}
	/* Shutdown: every held packet gets its answer now (expiry rules). */
	pipeline_release_held(w->pl, UINT64_MAX, on_released, w);
	return NULL;
}

static int worker_open(struct worker *w, struct policy_gen *g)
{
	char err[512];
	struct nfq_config qc;
	nfq_config_default(&qc, w->queue);
	qc.conntrack = false; /* bypass goes through the packet mark (see nfq_verdict_mark) */
	qc.queue_maxlen = g->cfg.queue_maxlen;
	qc.rcvbuf = (uint32_t)(g->cfg.queue_rcvbuf > UINT32_MAX ? UINT32_MAX : g->cfg.queue_rcvbuf);
	w->q = nfq_queue_open(&qc, err, sizeof err);
	if (!w->q) {
		cli_error("run: queue %u: %s", w->queue, err);
		return -1;
	}
	w->inj = injector_new(err, sizeof err);
	if (!w->inj) {
		cli_error("run: %s", err);
		return -1;
	}
	w->macs = calloc(MAC_SLOTS, sizeof *w->macs);
	w->ms = mail_scanner_new(&g->mp, err, sizeof err);
	if (!w->macs || !w->ms) {
		cli_error("run: queue %u: %s", w->queue, w->ms ? "out of memory" : err);
		return -1;
	}
	atomic_fetch_add(&g->refs, 1);
	w->gen = g;
	w->serial = g->serial;
	struct pipeline_config pc;
	pipeline_settings(&pc, &g->cfg);
	pc.scanner = w->ms;
	pc.store = store;
	pc.uploads = uploads;
	pc.on_decided = on_decided;
	pc.flush_events = true;
	pc.on_decided_ctx = w;
	w->pl = pipeline_new(&pc, events_out);
	if (!w->pl) {
		cli_error("run: queue %u: cannot set up the pipeline", w->queue);
		return -1;
	}
	return 0;
}

static void worker_close(struct worker *w)
{
	if (w->pl) {
		pthread_mutex_lock(&out_lock);
		pipeline_finish(w->pl);
		pthread_mutex_unlock(&out_lock);
		if (w->q)
			write_queue_stats(w); /* reads the pipeline's held count */
		pipeline_free(w->pl);
	}
	for (size_t i = 0; i < w->nretired; i++) {
		mail_scanner_free(w->retired[i].ms);
		gen_put(w->retired[i].gen);
	}
	mail_scanner_free(w->ms);
	gen_put(w->gen);
	if (w->q)
		nfq_queue_close(w->q);
	if (w->inj)
		injector_free(w->inj);
	free(w->macs);
}

/* ---- setup ------------------------------------------------------------------- */

static int parse_queues(const char *s, uint16_t *first, uint16_t *last)
{
	char *end;
	unsigned long a = strtoul(s, &end, 10), b = a;
	if (end == s)
		return -1;
	if (*end == '-') {
		const char *t = end + 1;
		b = strtoul(t, &end, 10);
		if (end == t)
			return -1;
	}
	if (*end || a > 65535 || b > 65535 || b < a || b - a + 1 > MAX_QUEUES)
		return -1;
	*first = (uint16_t)a;
	*last = (uint16_t)b;
	return 0;
}

static int drop_capabilities(void)
{
	/* Sockets are open.  What stays: CAP_NET_ADMIN, because nfnetlink checks
	 * the sender's capability on every verdict message, not only at bind.
	 * AF_PACKET sends need nothing once the socket exists; reloads read
	 * files the configuration names, which root-owned 0644 files allow. */
	capng_clear(CAPNG_SELECT_BOTH);
	capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET,
		     CAP_NET_ADMIN);
	return capng_apply(CAPNG_SELECT_BOTH) == 0 ? 0 : -1;
}

static int start_alerts(const struct postern_config *c)
{
	if (!c->syslog_enabled)
		return 0;
	struct syslog_config sc;
	syslog_config_default(&sc);
	sc.transport = (enum syslog_transport)c->syslog_transport;
	if (c->syslog_target)
		sc.target = c->syslog_target;
	sc.facility = (int)c->syslog_facility;
	sc.rate_per_sec = c->syslog_rate;
	sc.burst = c->syslog_burst;
	sc.queue = c->syslog_queue;
	char err[256];
	alerts = syslog_sender_new(&sc, err, sizeof err);
	if (!alerts) {
		cli_error("run: alerts: %s", err);
		return -1;
	}
	return 0;
}

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"queues", required_argument, NULL, 'q'},
		{"output", required_argument, NULL, 'o'}, {"keep-caps", no_argument, NULL, 'K'},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	const char *config_path = NULL, *output = NULL;
	uint16_t first = 0, last = 0;
	bool keep_caps = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:q:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'q':
			if (parse_queues(optarg, &first, &last) < 0) {
				cli_error("run: --queues: '%s' is not N or A-B (at most %d queues)", optarg,
					  MAX_QUEUES);
				return 2;
			}
			break;
		case 'o':
			output = optarg;
			break;
		case 'K':
			keep_caps = true;
			break;
		case 'h':
			fputs(run_usage, stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'postern run --help'.\n");
			return 2;
		}
	}
	if (!config_path || optind != argc) {
		cli_error("run: give --config FILE and no other arguments (try 'postern run --help')");
		return 2;
	}

	/* Signals are taken by this thread only (sigwaitinfo); workers inherit the mask. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct policy_gen *g = gen_load(config_path);
	if (!g)
		return 2;
	gen_publish(g);
	events_out = stdout;
	if (output && !(events_out = fopen(output, "a"))) {
		cli_error("run: cannot write '%s': %s", output, strerror(errno));
		return 2;
	}
	int status = 0;
	char err[512];
	if (g->cfg.store_enabled) {
		store = store_open(&g->cfg.store, err, sizeof err);
		if (!store) {
			cli_error("run: verdict store: %s", err);
			return 2;
		}
	}
	if (g->cfg.webmail.enabled) {
		uploads = webmail_uploads_new(g->cfg.webmail.max_upload_ids, g->cfg.webmail.upload_ttl_us);
		if (!uploads) {
			cli_error("run: cannot allocate the webmail upload table");
			return 2;
		}
	}
	if (start_alerts(&g->cfg) < 0)
		return 2;

	size_t nw = (size_t)(last - first) + 1;
	struct worker *ws = calloc(nw, sizeof *ws);
	if (!ws)
		return 2;
	for (size_t i = 0; i < nw && !status; i++) {
		ws[i].queue = (uint16_t)(first + i);
		if (worker_open(&ws[i], g) < 0)
			status = 1;
	}
	if (!status && !keep_caps && drop_capabilities() < 0)
		fprintf(stderr, "postern: run: could not drop capabilities; going on\n");
	for (size_t i = 0; i < nw && !status; i++) {
		if (pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]) != 0)
			status = 1;
		else
			ws[i].started = true;
	}
	if (!status)
		fprintf(stderr, "postern: running on queues %u-%u\n", first, last);

	while (!status) {
		siginfo_t si;
		struct timespec tick = {1, 0};
		int sig = sigtimedwait(&sigs, &si, &tick);
		bool any_dead = false;
		for (size_t i = 0; i < nw; i++)
			any_dead |= ws[i].status != 0;
		if (any_dead) {
			status = 1;
			break;
		}
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig == SIGUSR1)
			atomic_fetch_add(&stats_request, 1);
		if (sig == SIGHUP) {
			struct policy_gen *ng = gen_load(config_path);
			if (ng) {
				gen_publish(ng);
				fprintf(stderr, "postern: reloaded %s\n", config_path);
			} else {
				fprintf(stderr, "postern: reload of %s failed; the running policy stays\n",
					config_path);
			}
		}
	}
	atomic_store(&stop_flag, true);
	for (size_t i = 0; i < nw; i++) {
		if (ws[i].started)
			pthread_join(ws[i].thread, NULL);
		if (ws[i].status)
			status = 1;
		worker_close(&ws[i]);
	}
	free(ws);
	if (alerts)
		syslog_sender_free(alerts, 2000);
	if (store)
		store_close(store);
	webmail_uploads_free(uploads);
	pthread_mutex_lock(&gen_lock);
	struct policy_gen *cur = current_gen;
	current_gen = NULL;
	pthread_mutex_unlock(&gen_lock);
	gen_put(cur);
	if (events_out != stdout)
		fclose(events_out);
	else
		fflush(stdout);
	return status;
}
