/* postern replay: run captured packets through the same pipeline as the
 * inline daemon and write the events as JSON lines. */
#include "postern/commands.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "config/config.h"
#include "policy/mail_scan.h"
#include "postern/cli_util.h"
#include "postern/pipeline.h"
#include "store/store.h"
#include "webmail/uploads.h"

static const char replay_usage[] =
	"Usage: postern replay [OPTIONS] FILE...\n"
	"\n"
	"Replay pcap or pcapng files through postern's pipeline (decode, TCP\n"
	"reassembly, SMTP reconstruction, content inspection and verdicts) and\n"
	"write one JSON object per line: one per SMTP transaction (with its verdict\n"
	"and reasons), one per flow end and a closing \"stats\" object.\n"
	"Files are read in the order given, as one capture: a flow may continue\n"
	"from one file into the next.  Time comes from the packets only, so the\n"
	"same input always gives byte-identical output.\n"
	"\n"
	"Options:\n"
	"  -c, --config FILE          postern configuration (docs/configuration.md):\n"
	"                             rules, internal networks, attachment checks,\n"
	"                             ClamAV, block lists, verdict store, caps.\n"
	"                             Without it: no rules, default attachment checks,\n"
	"                             every address external, no DNS, no store\n"
	"      --db DIR               write verdict records to the LMDB store DIR\n"
	"                             (overrides the config's store path); with a\n"
	"                             config whose store is enabled, records go there\n"
	"      --no-store             write no verdict records, whatever the config says\n"
	"      --no-inspect           reconstruct only: no content inspection, no verdicts\n"
	"  -o, --output FILE          write events to FILE instead of standard output\n"
	"  -x, --extract-messages DIR write each reconstructed message to\n"
	"                             DIR/<flow_id>-<tx>.eml (DIR must exist)\n"
	"      --smtp-ports LIST      comma-separated ports parsed as SMTP from the\n"
	"                             first byte (default 25,587)\n"
	"      --no-banner-detect     do not recognise SMTP on other ports by the\n"
	"                             server's 220 greeting\n"
	"      --max-flows N          flows tracked at once; the least recently used\n"
	"                             flow is ended to make room (default %u)\n"
	"      --max-message BYTES    message bytes inspected per mail, 0 = all\n"
	"                             (default 0); larger mails are still followed\n"
	"      --no-midstream         ignore connections whose handshake was missed\n"
	"      --no-checksums         do not verify IPv4/TCP checksums\n"
	"      --stats                print a summary on standard error: counts, the\n"
	"                             wall time of policy loading and of the replay\n"
	"  -h, --help                 show this help\n"
	"\n"
	"Exit status: 0 when every file was read to its end, 1 when a file was\n"
	"truncated or damaged (the packets before the damage are processed and a\n"
	"\"capture_error\" event says where), 2 on usage errors, unreadable files,\n"
	"or a configuration or rules error (each printed as FILE:LINE: reason).\n";

enum {
	OPT_SMTP_PORTS = 256,
	OPT_NO_BANNER,
	OPT_MAX_FLOWS,
	OPT_MAX_MESSAGE,
	OPT_NO_MIDSTREAM,
	OPT_NO_CHECKSUMS,
	OPT_STATS,
	OPT_DB,
	OPT_NO_INSPECT,
	OPT_NO_STORE,
};

static const struct option replay_options[] = {
	{"config", required_argument, NULL, 'c'},
	{"db", required_argument, NULL, OPT_DB},
	{"no-inspect", no_argument, NULL, OPT_NO_INSPECT},
	{"no-store", no_argument, NULL, OPT_NO_STORE},
	{"output", required_argument, NULL, 'o'},
	{"extract-messages", required_argument, NULL, 'x'},
	{"smtp-ports", required_argument, NULL, OPT_SMTP_PORTS},
	{"no-banner-detect", no_argument, NULL, OPT_NO_BANNER},
	{"max-flows", required_argument, NULL, OPT_MAX_FLOWS},
	{"max-message", required_argument, NULL, OPT_MAX_MESSAGE},
	{"no-midstream", no_argument, NULL, OPT_NO_MIDSTREAM},
	{"no-checksums", no_argument, NULL, OPT_NO_CHECKSUMS},
	{"stats", no_argument, NULL, OPT_STATS},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static int parse_ports(const char *arg, struct pipeline_config *cfg)
{
	char *copy = strdup(arg), *save = NULL;
	if (!copy)
		return -1;
	cfg->smtp_port_count = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint64_t port;
		if (cli_parse_u64(tok, 1, 65535, &port) < 0) {
			cli_error("replay: --smtp-ports: '%s' is not a port number (1-65535)", tok);
			free(copy);
			return -1;
		}
		if (cfg->smtp_port_count == PIPELINE_MAX_SMTP_PORTS) {
			cli_error("replay: --smtp-ports: at most %d ports", PIPELINE_MAX_SMTP_PORTS);
			free(copy);
			return -1;
		}
		cfg->smtp_ports[cfg->smtp_port_count++] = (uint16_t)port;
	}
	free(copy);
	return 0;
}

/* Returns 0 when the file was read to its end, 1 when it was damaged, 2 when
 * it could not be opened. */
static int replay_file(struct pipeline *pl, const char *path, uint64_t *bytes)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		snprintf(errbuf, sizeof errbuf, "%s", strerror(errno));
		cli_error("replay: %s: %s", path, errbuf);
		pipeline_capture_error(pl, cli_basename(path), 0, errbuf);
		return 2;
	}
	/* libpcap reads record by record through stdio: a large buffer turns
	 * thousands of small read() calls into a few big ones. */
	static char filebuf[1 << 20];
	setvbuf(fp, filebuf, _IOFBF, sizeof filebuf);
	pcap_t *pc = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO,
							      errbuf);
	if (!pc) {
		fclose(fp); /* libpcap leaves the file to us when it fails */
		cli_error("replay: %s: %s", path, errbuf);
		pipeline_capture_error(pl, cli_basename(path), 0, errbuf);
		return 2;
	}
	int link = pcap_datalink(pc);
	struct pcap_pkthdr *hdr;
	const u_char *data;
	uint64_t frame_no = 0;
	int rc, status = 0;
	while ((rc = pcap_next_ex(pc, &hdr, &data)) == 1) {
		frame_no++;
		*bytes += hdr->caplen;
		uint64_t ts = (uint64_t)hdr->ts.tv_sec * 1000000u + (uint64_t)hdr->ts.tv_usec;
		pipeline_packet(pl, link, data, hdr->caplen, hdr->len, ts);
	}
	if (rc == PCAP_ERROR) {
		const char *why = pcap_geterr(pc);
		cli_error("replay: %s: after frame %llu: %s", path, (unsigned long long)frame_no, why);
		pipeline_capture_error(pl, cli_basename(path), frame_no + 1, why);
		status = 1;
	}
	pcap_close(pc);
	return status;
}

/* Settings of the config file that the pipeline itself uses. */
static void apply_config(struct pipeline_config *cfg, const struct postern_config *pc)
{
	pipeline_config_apply(cfg, pc);
	cfg->wait_for_lookups = true;
	/* c-ares doubles the timeout on each try: 1 + 2 + 4 ... times timeout_ms. */
	uint32_t tries = pc->rbl.tries ? pc->rbl.tries : 1;
	cfg->lookup_wait_ms = pc->rbl.timeout_ms * ((1u << (tries < 8 ? tries : 8)) - 1) + 500;
}

/* The first pass looks for --config only: the file sets defaults that the
 * other options then override, whatever their order on the command line. */
static int load_config(int argc, char **argv, struct postern_config *pc, bool *have)
{
	int c;
	*have = false;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:o:x:h", replay_options, NULL)) != -1) {
		if (c != 'c')
			continue;
		char err[1024];
		if (config_load(pc, optarg, err, sizeof err) < 0) {
			cli_error("replay: %s", err);
			return -1;
		}
		*have = true;
	}
	opterr = 1;
	return 0;
}

/* Wall time, for the --stats summary only: never part of the events. */
static double wall_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int replay_run(int argc, char **argv, struct pipeline_config *cfgp,
		      struct postern_config *pc, bool have_config)
{
	struct pipeline_config cfg = *cfgp;
	const char *output = NULL, *db = NULL;
	bool print_stats = false, inspect = true, use_store = true;
	uint64_t v;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:o:x:h", replay_options, NULL)) != -1) {
		switch (c) {
		case 'c':
			break; /* loaded already */
		case OPT_DB:
			db = optarg;
			break;
		case OPT_NO_INSPECT:
			inspect = false;
			break;
		case OPT_NO_STORE:
			use_store = false;
			break;
		case 'o':
			output = optarg;
			break;
		case 'x':
			cfg.extract_dir = optarg;
			break;
		case OPT_SMTP_PORTS:
			if (parse_ports(optarg, &cfg) < 0)
				return 2;
			break;
		case OPT_NO_BANNER:
			cfg.smtp_banner_detect = false;
			break;
		case OPT_MAX_FLOWS:
			if (cli_parse_u64(optarg, 1, UINT32_MAX, &v) < 0) {
				cli_error("replay: --max-flows: '%s' is not a number from 1 to %u",
					  optarg, UINT32_MAX);
				return 2;
			}
			cfg.flows.max_flows = (uint32_t)v;
			break;
		case OPT_MAX_MESSAGE:
			if (cli_parse_u64(optarg, 0, UINT64_MAX, &v) < 0) {
				cli_error("replay: --max-message: '%s' is not a byte count", optarg);
				return 2;
			}
			cfg.smtp.max_message = v;
			break;
		case OPT_NO_MIDSTREAM:
			cfg.flows.allow_midstream = false;
			break;
		case OPT_NO_CHECKSUMS:
			cfg.decode.verify_checksums = false;
			break;
		case OPT_STATS:
			print_stats = true;
			break;
		case 'h':
			printf(replay_usage, cfg.flows.max_flows);
			return 0;
		default:
			fprintf(stderr, "Try 'postern replay --help'.\n");
			return 2;
		}
	}
	if (optind >= argc) {
		cli_error("replay: no capture file given (try 'postern replay --help')");
		return 2;
	}
	if (cfg.extract_dir) {
		struct stat st;
		if (stat(cfg.extract_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
			cli_error("replay: --extract-messages: '%s' is not a directory", cfg.extract_dir);
			return 2;
		}
	}

	FILE *out = stdout;
	if (output && !(out = fopen(output, "w"))) {
		cli_error("replay: cannot write '%s': %s", output, strerror(errno));
		return 2;
	}
	static char outbuf[1 << 16];
	setvbuf(out, outbuf, _IOFBF, sizeof outbuf);

	/* Content inspection: the compiled policy, one scanner (this is one
	 * worker), and the verdict store. */
	struct mail_policy mp = {0};
	struct mail_scanner *scanner = NULL;
	struct store *store = NULL;
	struct webmail_uploads *uploads = NULL;
	char err[1024];
	double t_load = wall_seconds();
	if (inspect) {
		if (mail_policy_load(&mp, pc, stderr) < 0) {
			cli_error("replay: the policy has errors (above); nothing was replayed");
			goto fail_early;
		}
		scanner = mail_scanner_new(&mp, err, sizeof err);
		if (!scanner) {
			cli_error("replay: %s", err);
			goto fail_early;
		}
		cfg.scanner = scanner;
		if (pc->webmail.enabled) {
			uploads = webmail_uploads_new(pc->webmail.max_upload_ids, pc->webmail.upload_ttl_us);
			if (!uploads) {
				cli_error("replay: cannot allocate the webmail upload table");
				goto fail_early;
			}
			cfg.uploads = uploads;
		}
		if (use_store && (db || (have_config && pc->store_enabled))) {
			struct store_config sc = pc->store;
			if (db)
				sc.path = db;
			store = store_open(&sc, err, sizeof err);
			if (!store) {
				cli_error("replay: verdict store: %s", err);
				goto fail_early;
			}
			cfg.store = store;
			cfg.store_retention_us = sc.retention_us;
		}
	}

	double t_start = wall_seconds();
	struct pipeline *pl = pipeline_new(&cfg, out);
	if (!pl) {
		cli_error("replay: cannot set up the pipeline: %s", strerror(errno));
		goto fail_early;
	}
	int worst = 0;
	uint64_t bytes = 0;
	for (int i = optind; i < argc; i++) {
		int rc = replay_file(pl, argv[i], &bytes);
		if (rc > worst)
			worst = rc;
	}
	pipeline_finish(pl);
	if (print_stats) {
		const struct pipeline_stats *s = pipeline_stats(pl);
		double t_end = wall_seconds();
		fprintf(stderr,
			"replayed %llu bytes: %llu SMTP sessions, %llu transactions, %llu messages, "
			"%llu events\n"
			"policy load %.3f s, packets %.3f s (%.1f MB/s)\n",
			(unsigned long long)bytes, (unsigned long long)s->smtp_sessions,
			(unsigned long long)s->smtp_transactions,
			(unsigned long long)s->smtp_messages, (unsigned long long)s->events,
			t_start - t_load, t_end - t_start,
			t_end > t_start ? (double)bytes / 1e6 / (t_end - t_start) : 0.0);
	}
	pipeline_free(pl);
	if (store)
		store_close(store);
	webmail_uploads_free(uploads);
	mail_scanner_free(scanner);
	mail_policy_free(&mp);
	if (fflush(out) != 0 || ferror(out)) {
		cli_error("replay: writing events failed: %s", strerror(errno));
		worst = 2;
	}
	if (out != stdout)
		fclose(out);
	return worst;

fail_early:
	if (store)
		store_close(store);
	webmail_uploads_free(uploads);
	mail_scanner_free(scanner);
	mail_policy_free(&mp);
	if (out != stdout)
		fclose(out);
	return 2;
}

int cmd_replay(int argc, char **argv)
{
	struct pipeline_config cfg;
	struct postern_config pc;
	bool have_config;

	pipeline_config_default(&cfg);
	config_default(&pc);
	if (load_config(argc, argv, &pc, &have_config) < 0) {
		config_free(&pc);
		return 2;
	}
	if (have_config)
		apply_config(&cfg, &pc);
	int status = replay_run(argc, argv, &cfg, &pc, have_config);
	config_free(&pc);
	return status;
}
