/* The pipeline's inline answers, packet by packet, on real captures:
 * - a mail that hits a reset rule: every packet accepted but the commit
 *   packet (PIPE_RESET, with the numbers the RSTs need), later packets of the
 *   connection dropped;
 * - a clean mail: every packet accepted;
 * - STARTTLS: the connection is bypassed once the server accepted it;
 * - block lists (a real unbound on loopback): the commit packet is held until
 *   the answers are in, then released as a reset.
 *
 * argv[1]: the source tree's root (meson passes it). */
#include <pcap/pcap.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>

#include "policy/mail_scan.h"
#include "postern/pipeline.h"
#include "tests/unit/testlib.h"

static const char *root = ".";

struct answers {
	size_t n, accept, reset, drop, bypass, hold, redirect, accept_before_bypass, accept_before_reset;
	size_t first_reset, first_bypass, first_hold, first_redirect; /* packet numbers, 1-based */
	size_t accept_before_redirect, client_data_dropped;
	struct pipeline_verdict reset_v, hold_v, redirect_v;
};

static void count(struct answers *a, const struct pipeline_verdict *v, size_t pkt)
{
	switch (v->action) {
	case PIPE_ACCEPT:
		a->accept++;
		if (!a->bypass)
			a->accept_before_bypass++;
		if (!a->reset)
			a->accept_before_reset++;
		if (!a->redirect)
			a->accept_before_redirect++;
		break;
	case PIPE_RESET:
		if (!a->reset++) {
			a->first_reset = pkt;
			a->reset_v = *v;
		}
		break;
	case PIPE_DROP: a->drop++; break;
	case PIPE_REDIRECT:
		if (!a->redirect++) {
			a->first_redirect = pkt;
			a->redirect_v = *v;
		}
		break;
	case PIPE_BYPASS:
		if (!a->bypass++)
			a->first_bypass = pkt;
		break;
	case PIPE_HOLD:
		if (!a->hold++) {
			a->first_hold = pkt;
			a->hold_v = *v;
		}
		break;
	}
}

struct world {
	struct postern_config cfg;
	struct mail_policy mp;
	struct mail_scanner *ms;
	struct pipeline *pl;
	FILE *out;
};

static int world_up(struct world *w, const char *conf_text)
{
	char path[] = "/tmp/pst-inline-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	if (write(fd, conf_text, strlen(conf_text)) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	char err[1024];
	int rc = config_load(&w->cfg, path, err, sizeof err);
	unlink(path);
	if (rc < 0) {
		fprintf(stderr, "config: %s\n", err);
		return -1;
	}
	if (mail_policy_load(&w->mp, &w->cfg, stderr) < 0)
		return -1;
	w->ms = mail_scanner_new(&w->mp, err, sizeof err);
	if (!w->ms) {
		fprintf(stderr, "scanner: %s\n", err);
		return -1;
	}
	struct pipeline_config pc;
	pipeline_config_default(&pc);
	pipeline_config_apply(&pc, &w->cfg);
	pc.scanner = w->ms;
	pc.hold_timeout_ms = 5000;
	w->out = fopen("/dev/null", "w");
	w->pl = pipeline_new(&pc, w->out);
	return w->pl ? 0 : -1;
}

static void world_down(struct world *w)
{
	pipeline_finish(w->pl);
	pipeline_free(w->pl);
	fclose(w->out);
	mail_scanner_free(w->ms);
	mail_policy_free(&w->mp);
	config_free(&w->cfg);
}

static void on_released(void *ctx, const struct pipeline_verdict *v)
{
	struct answers *a = ctx;
	if (v->action == PIPE_RESET && !a->reset++) {
		a->reset_v = *v;
		a->first_reset = 0; /* released, not answered at once */
	} else if (v->action == PIPE_ACCEPT) {
		a->accept++;
	}
}

/* Feed every frame of a capture; frames carry their pcap link type. */
static void feed(struct world *w, const char *rel, struct answers *a)
{
	char path[4096], err[PCAP_ERRBUF_SIZE];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	memset(a, 0, sizeof *a);
	pcap_t *p = pcap_open_offline(path, err);
	if (!p) {
		fprintf(stderr, "%s: %s\n", path, err);
		CHECK(p != NULL);
		return;
	}
	struct pcap_pkthdr *h;
	const u_char *d;
	while (pcap_next_ex(p, &h, &d) == 1) {
		struct pipeline_verdict v;
		uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
		a->n++;
		pipeline_packet_inline(w->pl, pcap_datalink(p), d, h->caplen, ts, a->n, &v);
		CHECK_EQ_U(v.token, a->n);
		count(a, &v, a->n);
		/* Held: wait here for the DNS answers, as the worker's loop would. */
		for (int i = 0; i < 300 && pipeline_held_count(w->pl); i++) {
			struct pollfd fds[8];
			struct rbl_resolver *r = mail_scanner_resolver(w->ms);
			size_t nf = r ? rbl_pollfds(r, fds, 8) : 0;
			if (nf)
				poll(fds, nf, 10);
			pipeline_service_dns(w->pl);
			pipeline_release_held(w->pl, ts, on_released, a);
		}
	}
	pcap_close(p);
}

static void content_conf(char *out, size_t cap)
{
	snprintf(out, cap,
		 "internal_networks = [\"10.98.0.1/32\", \"10.98.0.2/32\"];\n"
		 "rules = [\"%s/tests/pcaps/content/policy/content.rules\"];\n"
		 "store = { enabled = false; };\n",
		 root);
}

static void test_reset_and_clean(void)
{
	struct world w = {0};
	char conf[1024];
	content_conf(conf, sizeof conf);
	CHECK(world_up(&w, conf) == 0);
	struct answers a;

	feed(&w, "tests/pcaps/content/content_korean_euckr.pcap", &a);
	CHECK_EQ_U(a.reset, 1);
	CHECK_EQ_U(a.hold, 0);
	CHECK(a.first_reset > 0);
	/* Everything before the commit packet was accepted at once. */
	CHECK_EQ_U(a.accept_before_reset, a.first_reset - 1);
	/* After it: the connection is dropped (the capture goes on, the bridge
	 * would not have let it). */
	CHECK(a.drop >= 2);
	/* The rest accepted are strays after the connection's end (untracked). */
	CHECK_EQ_U(a.accept + a.drop + 1, a.n);
	CHECK(a.reset_v.from_client);
	CHECK_EQ_U(a.reset_v.server_port, 25);
	CHECK(a.reset_v.seq != 0 && a.reset_v.ack != 0);

	feed(&w, "tests/pcaps/content/content_clean.pcap", &a);
	CHECK_EQ_U(a.accept, a.n);
	CHECK_EQ_U(a.reset + a.drop + a.hold + a.bypass, 0);
	world_down(&w);
}

static void test_starttls_bypass(void)
{
	struct world w = {0};
	char conf[1024];
	content_conf(conf, sizeof conf);
	CHECK(world_up(&w, conf) == 0);
	struct answers a;
	feed(&w, "tests/pcaps/made/made_starttls.pcap", &a);
	/* Accepted up to the server's 220 to STARTTLS, bypassed from then on. */
	CHECK(a.bypass >= 3);
	CHECK(a.first_bypass > 5);
	CHECK_EQ_U(a.accept_before_bypass, a.first_bypass - 1);
	CHECK_EQ_U(a.reset + a.drop + a.hold, 0);
	world_down(&w);
}

static int free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof sa;
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    getsockname(s, (struct sockaddr *)&sa, &l) < 0)
		return -1;
	close(s);
	return ntohs(sa.sin_port);
}

static void test_hold_for_dns(void)
{
	char dir[] = "/tmp/pst-inline-dns-XXXXXX", cmd[8192];
	int port = free_port();
	if (!mkdtemp(dir) || port < 0) {
		CHECK(!"temp dir or port");
		return;
	}
	snprintf(cmd, sizeof cmd, "%s/tests/dns/unbound.sh start %s/u %d", root, dir, port);
	if (system(cmd) != 0) {
		fprintf(stderr, "cannot start unbound (Debian package unbound)\n");
		CHECK(!"unbound started");
		return;
	}
	struct world w = {0};
	char conf[2048];
	snprintf(conf, sizeof conf,
		 "internal_networks = [\"10.98.0.1/32\", \"10.98.0.2/32\"];\n"
		 "store = { enabled = false; };\n"
		 "rbl = { enabled = true; threshold = 2; servers = \"127.0.0.1:%d\"; timeout_ms = 1000;\n"
		 "  lists = ( { zone = \"bl.test\"; type = \"ip\"; weight = 1; },\n"
		 "            { zone = \"dbl.test\"; type = \"domain\"; weight = 1; } ); };\n",
		 port);
	CHECK(world_up(&w, conf) == 0);
	struct answers a;
	feed(&w, "tests/pcaps/content/content_inbound_spam.pcap", &a);
	/* The commit packet waited for the lists, then the mail was reset. */
	CHECK_EQ_U(a.hold, 1);
	CHECK_EQ_U(a.reset, 1);
	CHECK_EQ_U(a.hold_v.token, a.first_hold);
	CHECK_EQ_U(a.reset_v.token, a.first_hold);
	/* The client address and the URL host (no rules file: URL hosts are
	 * still found), both listed. */
	CHECK_EQ_U(rbl_resolver_stats(mail_scanner_resolver(w.ms))->listed, 2);
	CHECK_EQ_U(pipeline_held_count(w.pl), 0);
	CHECK_EQ_U(pipeline_stats(w.pl)->held_released, 1);
	CHECK_EQ_U(pipeline_stats(w.pl)->held_timeout, 0);
	world_down(&w);
	snprintf(cmd, sizeof cmd, "%s/tests/dns/unbound.sh stop %s/u; rm -rf %s", root, dir, dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", dir);
}

/* HTTPS: a denied service is reset on the packet that completes the
 * ClientHello (a real TLS 1.2 handshake to mail.yandex.com); an allowed or
 * unlisted one is bypassed after it. */
static void test_tls_denied(void)
{
	struct world w = {0};
	CHECK(world_up(&w, "store = { enabled = false; };\n"
			   "webmail = { services = (\n"
			   "  { name = \"yandex\"; domains = [\".yandex.com\"]; list = \"deny\"; action = \"reset\"; }\n"
			   "); };\n") == 0);
	struct answers a;
	feed(&w, "tests/pcaps/public/tls_mail_yandex_com.pcap", &a);
	CHECK_EQ_U(a.reset, 1);
	CHECK(a.first_reset >= 4); /* SYN, SYN-ACK, ACK, then the ClientHello */
	CHECK_EQ_U(a.accept_before_reset, a.first_reset - 1);
	CHECK(a.reset_v.from_client);
	CHECK_EQ_U(a.reset_v.server_port, 443);
	CHECK_EQ_U(a.reset + a.drop + a.accept, a.n);
	CHECK(a.drop >= 1); /* the server's answer never reaches the client */
	CHECK_EQ_U(pipeline_stats(w.pl)->tls_blocked, 1);
	world_down(&w);

	/* The same capture with the service allowed: bypassed after the ClientHello. */
	struct world w2 = {0};
	CHECK(world_up(&w2, "store = { enabled = false; };\n"
			    "webmail = { services = (\n"
			    "  { name = \"yandex\"; domains = [\"mail.yandex.com\"]; list = \"allow\"; }\n"
			    "); };\n") == 0);
	feed(&w2, "tests/pcaps/public/tls_mail_yandex_com.pcap", &a);
	CHECK_EQ_U(a.reset + a.drop + a.redirect, 0);
	CHECK(a.bypass >= 1);
	CHECK_EQ_U(pipeline_stats(w2.pl)->tls_client_hellos, 1);
	world_down(&w2);
}

/* Real Roundcube sessions under the content policy (tests/pcaps/content/policy,
 * whose webmail group denies mail.denied.test with a redirect and approves
 * mail.allowed.test). */
static void webmail_world(struct world *w)
{
	char conf[4096];
	snprintf(conf, sizeof conf,
		 "internal_networks = [\"10.97.80.1/32\"];\n"
		 "rules = [\"%s/tests/pcaps/content/policy/content.rules\"];\n"
		 "store = { enabled = false; };\n"
		 "actions = { blocked_extension = \"reset\"; };\n"
		 "webmail = { signatures = \"%s/etc/webmail\";\n"
		 "  block_page = \"http://block.postern.test/blocked\";\n"
		 "  services = (\n"
		 "    { name = \"denied-webmail\"; domains = [\"mail.denied.test\"]; list = \"deny\"; },\n"
		 "    { name = \"approved-webmail\"; domains = [\"mail.allowed.test\"]; list = \"allow\"; } ); };\n",
		 root, root);
	CHECK(world_up(w, conf) == 0);
}

static void test_webmail_redirect(void)
{
	struct world w = {0};
	webmail_world(&w);
	struct answers a;

	/* Denied host: login, mailbox list and compose pass; the send's last
	 * packet is the one redirected, everything before it was accepted. */
	feed(&w, "tests/pcaps/webmail/roundcube_send_denied_host.pcap", &a);
	CHECK_EQ_U(a.redirect, 1);
	CHECK_EQ_U(a.reset, 0);
	CHECK(a.first_redirect > 20);
	CHECK_EQ_U(a.accept_before_redirect, a.first_redirect - 1);
	CHECK(a.redirect_v.from_client);
	CHECK_EQ_U(a.redirect_v.server_port, 80);
	CHECK(a.redirect_v.payload_len > 0);
	CHECK_EQ_U(pipeline_stats(w.pl)->webmail_sends, 1);
	CHECK_EQ_U(pipeline_stats(w.pl)->redirects, 1);
	/* Nothing else of that connection was dropped but client data. */
	CHECK_EQ_U(a.accept + a.drop + a.redirect, a.n);

	/* Approved host, clean send: every packet accepted. */
	feed(&w, "tests/pcaps/webmail/roundcube_send_plain.pcap", &a);
	CHECK_EQ_U(a.accept, a.n);
	CHECK_EQ_U(a.redirect + a.reset + a.drop, 0);

	/* Approved host, a send with two resident registration numbers: the
	 * content policy blocks it the configured way (redirect). */
	feed(&w, "tests/pcaps/webmail/roundcube_send_dlp.pcap", &a);
	CHECK_EQ_U(a.redirect, 1);
	CHECK_EQ_U(a.accept_before_redirect, a.first_redirect - 1);

	/* An upload of invoice.pdf.exe is stopped at upload time. */
	feed(&w, "tests/pcaps/webmail/roundcube_upload_exe.pcap", &a);
	CHECK_EQ_U(a.redirect, 1);
	CHECK_EQ_U(pipeline_stats(w.pl)->webmail_uploads, 1);
	world_down(&w);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		root = argv[1];
	RUN(test_reset_and_clean);
	RUN(test_starttls_bypass);
	RUN(test_hold_for_dns);
	RUN(test_tls_denied);
	RUN(test_webmail_redirect);
	return tl_finish();
}
