/* Configuration file: defaults, every setting, each kind of error with its
 * line, path resolution, sizes and durations, and the internal-network set.
 *
 * The example file etc/postern.conf is loaded from the source tree: found from
 * argv[1] if given, else next to this source file (__FILE__, relative to the
 * build directory meson runs tests in). */
#include <arpa/inet.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "tests/unit/testlib.h"

static char err[4096];
static struct postern_config cfg;

static int load(const char *text)
{
	config_free(&cfg);
	return config_load_mem(&cfg, "t.conf", "/base", text, strlen(text), err, sizeof err);
}

/* The load fails and the first error is "t.conf:LINE: " followed by text
 * that contains reason. */
#define CHECK_ERR(text, line, reason) check_err(__LINE__, text, line, reason)
static void check_err(int at, const char *text, unsigned line, const char *reason)
{
	char prefix[32];
	snprintf(prefix, sizeof prefix, "t.conf:%u: ", line);
	int rc = load(text);
	bool ok = rc == -1 && strncmp(err, prefix, strlen(prefix)) == 0;
	char *nl = strchr(err, '\n');
	if (nl)
		*nl = '\0';
	ok = ok && strstr(err + strlen(prefix), reason) != NULL;
	if (nl)
		*nl = '\n';
	if (ok) {
		tl_passed++;
	} else {
		tl_failed++;
		fprintf(stderr, "%s:%d: expected error \"%s...%s\", got rc %d \"%s\"\n", __FILE__, at,
			prefix, reason, rc, err);
	}
}

static void check_defaults(const struct postern_config *c)
{
	CHECK(c->path == NULL);
	CHECK_EQ_U(c->internal.count, 0);
	CHECK_EQ_U(c->rule_file_count, 0);
	CHECK_EQ_U(c->finding_action[FINDING_BLOCKED_EXTENSION], RULE_ACTION_RESET);
	CHECK_EQ_U(c->finding_action[FINDING_TYPE_MISMATCH], RULE_ACTION_RESET);
	CHECK_EQ_U(c->finding_action[FINDING_EXECUTABLE], RULE_ACTION_ALERT);
	CHECK_EQ_U(c->finding_action[FINDING_ENCRYPTED_ARCHIVE], RULE_ACTION_ALERT);
	CHECK_EQ_U(c->finding_action[FINDING_ARCHIVE_BOMB], RULE_ACTION_RESET);
	CHECK_EQ_U(c->finding_action[FINDING_ARCHIVE_DEPTH], RULE_ACTION_ALERT);
	CHECK_EQ_U(c->finding_action[FINDING_ARCHIVE_ERROR], RULE_ACTION_ALERT);
	CHECK_EQ_U(c->finding_action[FINDING_MACRO], RULE_ACTION_ALERT);
	CHECK_EQ_U(c->finding_action[FINDING_HASH_LISTED], RULE_ACTION_RESET);
	CHECK_EQ_U(c->finding_action[FINDING_VIRUS], RULE_ACTION_RESET);
	CHECK_EQ_U(c->finding_action[FINDING_TRUNCATED], RULE_ACTION_ALERT);
	CHECK_EQ_U(c->virus_action, RULE_ACTION_RESET);
	CHECK(c->attachments.blocked_extensions == NULL);
	CHECK(c->attachments.hash_list == NULL);
	CHECK(c->attachments.clamav_db_dir == NULL);
	CHECK_EQ_U(c->attachments.max_buffer, 32u << 20);
	CHECK_EQ_U(c->attachments.max_archive_depth, 2);
	CHECK_EQ_U(c->attachments.max_archive_members, 1000);
	CHECK_EQ_U(c->attachments.max_unpacked, 256u << 20);
	CHECK_EQ_U(c->attachments.max_ratio, 100);
	CHECK_EQ_U(c->attachments.max_member_size, 32u << 20);
	CHECK(!c->rbl_enabled);
	CHECK_EQ_U(c->rbl_action, RULE_ACTION_RESET);
	CHECK_EQ_U(c->rbl_direction, RULE_DIR_INBOUND);
	CHECK_EQ_U(c->rbl.list_count, 0);
	CHECK(c->rbl.lists == NULL);
	CHECK(c->rbl.servers == NULL);
	CHECK_EQ_U(c->rbl.threshold, 1);
	CHECK_EQ_U(c->rbl.timeout_ms, 1500);
	CHECK_EQ_U(c->rbl.tries, 2);
	CHECK_EQ_U(c->rbl.cache_entries, 65536);
	CHECK_EQ_U(c->rbl.min_ttl, 60);
	CHECK_EQ_U(c->rbl.max_ttl, 86400);
	CHECK_EQ_U(c->rbl.max_pending, 4096);
	CHECK_EQ_U(c->rbl.max_domains, 16);
	CHECK(c->store_enabled);
	CHECK_STR(c->store.path, "/var/lib/postern/verdicts");
	CHECK_EQ_U(c->store.map_size, 1u << 30);
	CHECK_EQ_U(c->store.retention_us, 90ull * 86400 * 1000000);
	CHECK_EQ_U(c->store.queue_records, 4096);
	CHECK_EQ_U(c->store.batch_records, 256);
	CHECK_EQ_U(c->smtp.max_line, 2048);
	CHECK_EQ_U(c->smtp.max_pending, 128);
	CHECK_EQ_U(c->smtp.max_rcpt, 1000);
	CHECK_EQ_U(c->smtp.max_field, 1024);
	CHECK_EQ_U(c->smtp.max_header_scan, 65536);
	CHECK_EQ_U(c->smtp.max_message, 64u << 20);
	CHECK_EQ_U(c->mime.max_depth, 16);
	CHECK_EQ_U(c->mime.max_header_line, 16384);
	CHECK_EQ_U(c->mime.max_headers, 256);
	CHECK_EQ_U(c->mime.max_parts, 1024);
	CHECK_EQ_U(c->mime.max_boundary, 200);
	CHECK_EQ_U(c->max_flows, 0);
	CHECK_EQ_U(c->max_message, 64u << 20);
	CHECK_EQ_U(c->smtp_port_count, 2);
	CHECK_EQ_U(c->smtp_ports[0], 25);
	CHECK_EQ_U(c->smtp_ports[1], 587);
	CHECK(!c->fail_closed);
}

static void test_defaults(void)
{
	struct postern_config c;
	config_default(&c);
	check_defaults(&c);
	config_free(&c);

	CHECK_EQ_U(load(""), 0);
	CHECK_STR(err, "");
	check_defaults(&cfg);
	CHECK_EQ_U(load("# only a comment\n\n  // and another\n/* and a block */\n"), 0);
	check_defaults(&cfg);
	CHECK_EQ_U(load("actions = {}; attachments = {}; rbl = {}; store = {}; limits = {};"), 0);
	check_defaults(&cfg);
}

static const char full[] =
	"internal_networks = [\"10.0.0.0/8\", \"2001:db8::/32\"];\n"
	"rules = [\"rules/out.rules\", \"/etc/abs.rules\"];\n"
	"actions = { blocked_extension = \"alert\"; type_mismatch = \"alert\"; executable = \"reset\";\n"
	"  encrypted_archive = \"reset\"; archive_bomb = \"alert\"; archive_depth = \"reset\";\n"
	"  archive_error = \"reset\"; macro = \"reset\"; hash_listed = \"alert\"; virus = \"alert\";\n"
	"  truncated = \"reset\"; };\n"
	"attachments = { blocked_extensions = [\".EXE\", \"scr\"]; hash_list = \"hashes.txt\";\n"
	"  clamav_db_dir = \"/var/lib/clamav\"; max_buffer = \"8M\"; max_archive_depth = 3;\n"
	"  max_archive_members = 50; max_unpacked = \"1G\"; max_ratio = 42; max_member_size = 65536; };\n"
	"rbl = { enabled = true; action = \"alert\"; direction = \"any\"; threshold = 3;\n"
	"  servers = \"127.0.0.1:5353,[::1]:53\"; timeout_ms = 700; tries = 3; cache_entries = 100;\n"
	"  min_ttl = \"5m\"; max_ttl = \"2d\"; max_pending = 10; max_domains = 4;\n"
	"  lists = ( { zone = \"Zen.Example.\"; type = \"ip\"; weight = 2; },\n"
	"            { zone = \"dbl.example\"; type = \"domain\"; } ,\n"
	"            { zone = \"zero.example\"; weight = 0; } ); };\n"
	"store = { enabled = false; path = \"verdicts\"; map_size = \"2G\"; retention = \"12h\";\n"
	"  queue_records = 100; batch_records = 10; };\n"
	"limits = { max_flows = 1000000; max_message = \"10M\"; smtp_max_line = 4096;\n"
	"  smtp_max_pending = 64; smtp_max_rcpt = 500; smtp_max_field = \"2K\";\n"
	"  smtp_max_header_scan = \"128K\"; mime_max_depth = 8; mime_max_header_line = 8192;\n"
	"  mime_max_headers = 100; mime_max_parts = 200; mime_max_boundary = 100; };\n"
	"smtp_ports = [25, 2525, 587];\n"
	"fail_closed = true;\n";

static void test_every_setting(void)
{
	CHECK_EQ_U(load(full), 0);
	CHECK_STR(err, "");
	const struct postern_config *c = &cfg;
	CHECK_EQ_U(c->internal.count, 2);
	uint8_t a4[4] = {10, 200, 1, 1}, a6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	CHECK(netset_contains(&c->internal, AF_INET, a4));
	CHECK(netset_contains(&c->internal, AF_INET6, a6));
	CHECK_EQ_U(c->rule_file_count, 2);
	CHECK_STR(c->rule_files[0], "/base/rules/out.rules");
	CHECK_STR(c->rule_files[1], "/etc/abs.rules");
	for (int k = 0; k < FINDING_KIND_COUNT; k++) {
		bool was_reset = k == FINDING_BLOCKED_EXTENSION || k == FINDING_TYPE_MISMATCH ||
				 k == FINDING_ARCHIVE_BOMB || k == FINDING_HASH_LISTED || k == FINDING_VIRUS;
		CHECK_EQ_U(c->finding_action[k], was_reset ? RULE_ACTION_ALERT : RULE_ACTION_RESET);
	}
	CHECK_EQ_U(c->virus_action, RULE_ACTION_ALERT);
	CHECK_EQ_U(c->attachments.blocked_extension_count, 2);
	CHECK_STR(c->attachments.blocked_extensions[0], "exe");
	CHECK_STR(c->attachments.blocked_extensions[1], "scr");
	CHECK_STR(c->attachments.hash_list, "/base/hashes.txt");
	CHECK_STR(c->attachments.clamav_db_dir, "/var/lib/clamav");
	CHECK_EQ_U(c->attachments.max_buffer, 8u << 20);
	CHECK_EQ_U(c->attachments.max_archive_depth, 3);
	CHECK_EQ_U(c->attachments.max_archive_members, 50);
	CHECK_EQ_U(c->attachments.max_unpacked, 1u << 30);
	CHECK_EQ_U(c->attachments.max_ratio, 42);
	CHECK_EQ_U(c->attachments.max_member_size, 65536);
	CHECK(c->rbl_enabled);
	CHECK_EQ_U(c->rbl_action, RULE_ACTION_ALERT);
	CHECK_EQ_U(c->rbl_direction, RULE_DIR_ANY);
	CHECK_EQ_U(c->rbl.threshold, 3);
	CHECK_STR(c->rbl.servers, "127.0.0.1:5353,[::1]:53");
	CHECK_EQ_U(c->rbl.timeout_ms, 700);
	CHECK_EQ_U(c->rbl.tries, 3);
	CHECK_EQ_U(c->rbl.cache_entries, 100);
	CHECK_EQ_U(c->rbl.min_ttl, 300);
	CHECK_EQ_U(c->rbl.max_ttl, 2 * 86400);
	CHECK_EQ_U(c->rbl.max_pending, 10);
	CHECK_EQ_U(c->rbl.max_domains, 4);
	CHECK_EQ_U(c->rbl.list_count, 3);
	if (c->rbl.list_count == 3) {
		CHECK_STR(c->rbl.lists[0].zone, "zen.example");
		CHECK_EQ_U(c->rbl.lists[0].kind, RBL_KIND_IP);
		CHECK_EQ_U(c->rbl.lists[0].weight, 2);
		CHECK_STR(c->rbl.lists[1].zone, "dbl.example");
		CHECK_EQ_U(c->rbl.lists[1].kind, RBL_KIND_DOMAIN);
		CHECK_EQ_U(c->rbl.lists[1].weight, 1); /* default weight */
		CHECK_EQ_U(c->rbl.lists[2].kind, RBL_KIND_IP); /* default type */
		CHECK_EQ_U(c->rbl.lists[2].weight, 0);
	}
	CHECK(!c->store_enabled);
	CHECK_STR(c->store.path, "/base/verdicts");
	CHECK_EQ_U(c->store.map_size, 2ull << 30);
	CHECK_EQ_U(c->store.retention_us, 12ull * 3600 * 1000000);
	CHECK_EQ_U(c->store.queue_records, 100);
	CHECK_EQ_U(c->store.batch_records, 10);
	CHECK_EQ_U(c->max_flows, 1000000);
	CHECK_EQ_U(c->max_message, 10u << 20);
	CHECK_EQ_U(c->smtp.max_message, 10u << 20);
	CHECK_EQ_U(c->smtp.max_line, 4096);
	CHECK_EQ_U(c->smtp.max_pending, 64);
	CHECK_EQ_U(c->smtp.max_rcpt, 500);
	CHECK_EQ_U(c->smtp.max_field, 2048);
	CHECK_EQ_U(c->smtp.max_header_scan, 131072);
	CHECK_EQ_U(c->mime.max_depth, 8);
	CHECK_EQ_U(c->mime.max_header_line, 8192);
	CHECK_EQ_U(c->mime.max_headers, 100);
	CHECK_EQ_U(c->mime.max_parts, 200);
	CHECK_EQ_U(c->mime.max_boundary, 100);
	CHECK_EQ_U(c->smtp_port_count, 3);
	CHECK_EQ_U(c->smtp_ports[0], 25);
	CHECK_EQ_U(c->smtp_ports[1], 2525);
	CHECK_EQ_U(c->smtp_ports[2], 587);
	CHECK(c->fail_closed);

	/* Single values where a list is allowed; [] blocks no extension. */
	CHECK_EQ_U(load("rules = \"one.rules\"; internal_networks = \"192.0.2.1\";\n"
			"smtp_ports = 2525; attachments = { blocked_extensions = []; };"),
		   0);
	CHECK_EQ_U(cfg.rule_file_count, 1);
	CHECK_STR(cfg.rule_files[0], "/base/one.rules");
	CHECK_EQ_U(cfg.internal.count, 1);
	CHECK_EQ_U(cfg.internal.v[0].prefix, 32);
	CHECK_EQ_U(cfg.smtp_port_count, 1);
	CHECK_EQ_U(cfg.smtp_ports[0], 2525);
	CHECK(cfg.attachments.blocked_extensions != NULL);
	CHECK_EQ_U(cfg.attachments.blocked_extension_count, 0);

	/* Lists may also be written as libconfig lists. */
	CHECK_EQ_U(load("rules = (\"a\", \"b\"); smtp_ports = (25);"), 0);
	CHECK_EQ_U(cfg.rule_file_count, 2);
	CHECK_EQ_U(cfg.smtp_port_count, 1);
}

static void test_errors(void)
{
	/* libconfig syntax errors carry libconfig's line. */
	CHECK_ERR("fail_closed = true;\nrbl = {\n  enabled = ;\n};\n", 3, "syntax error");
	CHECK_ERR("a = 1;\n\na = 2;\n", 3, "duplicate setting name");
	CHECK_ERR("smtp_ports = [25,\n\"x\"];\n", 2, "mismatched element type");

	/* Unknown names: a close spelling, the right group, or just unknown. */
	CHECK_ERR("store = {\n  retension = \"30d\";\n};", 2,
		  "store.retension: unknown setting 'retension' (did you mean 'retention'?)");
	CHECK_ERR("\nfail_close = true;", 2, "did you mean 'fail_closed'?");
	CHECK_ERR("limits = { max_ttl = 5; };", 1, "unknown setting 'max_ttl' here (it belongs in rbl)");
	CHECK_ERR("rbl = { lists = ( { zone = \"a.example\"; weigth = 2; } ); };", 1,
		  "rbl.lists[0].weigth: unknown setting 'weigth' (did you mean 'weight'?)");
	CHECK_ERR("\n\nfrobnicate = 1;", 3, "unknown setting 'frobnicate'");
	CHECK_ERR("actions = { viruses = \"reset\"; };", 1, "did you mean 'virus'?");

	/* Types. */
	CHECK_ERR("fail_closed = \"yes\";", 1, "fail_closed: expected true or false, got a string");
	CHECK_ERR("rbl = true;", 1, "rbl: expected a group { ... }, got a boolean");
	CHECK_ERR("limits = { mime_max_depth = \"8\"; };", 1, "expected an integer, got a string");
	CHECK_ERR("limits = { max_message = 1.5; };", 1, "got a floating-point number");
	CHECK_ERR("rules = [1, 2];", 1, "rules[0]: expected a string, got an integer");
	CHECK_ERR("rules = 7;", 1, "expected a string or a list of strings, got an integer");
	CHECK_ERR("store = { path = 3; };", 1, "expected a path string");
	CHECK_ERR("rbl = { lists = [\"zen.example\"]; };", 1, "expected a list ( { zone");
	CHECK_ERR("rbl = { lists = ( \"zen.example\" ); };", 1, "expected a group { zone = ...; }");

	/* Ranges. */
	CHECK_ERR("attachments = {\n max_archive_depth = 17; };", 2,
		  "attachments.max_archive_depth: must be between 0 and 16");
	CHECK_ERR("rbl = { tries = 0; };", 1, "must be between 1 and 10");
	CHECK_ERR("rbl = { timeout_ms = -5; };", 1, "must not be negative");
	CHECK_ERR("limits = { max_flows = 100000000; };", 1, "must be between 0 and 67108864");
	CHECK_ERR("limits = { mime_max_boundary = 69; };", 1, "must be between 70 and 998");
	CHECK_ERR("rbl = { max_ttl = \"400d\"; };", 1, "must be between 1 and 31536000 seconds");
	CHECK_ERR("smtp_ports = [25, 0];", 1, "smtp_ports[1]: port 0 is not between 1 and 65535");
	CHECK_ERR("smtp_ports = [25, 70000];", 1, "port 70000 is not between 1 and 65535");
	CHECK_ERR("smtp_ports = [25,\n 25];", 2, "port 25 is listed twice");
	CHECK_ERR("smtp_ports = [];", 1, "empty list");
	CHECK_ERR("rules = [\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\",\"12\",\"13\",\"14\",\"15\",\"16\",\"17\"];",
		  1, "more than 16 entries");
	CHECK_ERR("rules = \"\";", 1, "empty path");

	/* Networks. */
	CHECK_ERR("internal_networks = [\"10.0.0.0/8\",\n \"10.0.0.1/8\"];", 2,
		  "internal_networks[1]: host bits set in '10.0.0.1/8' (the network is 10.0.0.0/8)");
	CHECK_ERR("internal_networks = [\"10.0.0.0/33\"];", 1, "prefix length 33 is more than 32");
	CHECK_ERR("internal_networks = [\"fd00::/129\"];", 1, "prefix length 129 is more than 128");
	CHECK_ERR("internal_networks = [\"10.0.0/8\"];", 1, "'10.0.0': not an IPv4 or IPv6 address");
	CHECK_ERR("internal_networks = [\"10.0.0.0/\"];", 1, "bad prefix length ''");
	CHECK_ERR("internal_networks = [\"10.0.0.0/+8\"];", 1, "bad prefix length '+8'");
	CHECK_ERR("internal_networks = [\"10.0.0.0/8\", \"10.0.0.0/8\"];", 1, "listed twice");

	/* Names. */
	CHECK_ERR("actions = {\n  macro = \"block\";\n};", 2,
		  "actions.macro: 'block' is not 'alert' or 'reset'");
	CHECK_ERR("rbl = { direction = \"in\"; };", 1,
		  "rbl.direction: 'in' is not 'any', 'inbound' or 'outbound'");
	CHECK_ERR("rbl = { lists = ( { zone = \"a.example\"; type = \"url\"; } ); };", 1,
		  "'url' is not 'ip' or 'domain'");

	/* RBL lists. */
	CHECK_ERR("rbl = { lists = (\n { zone = \"\"; } ); };", 2, "rbl.lists[0].zone: empty zone");
	CHECK_ERR("rbl = { lists = (\n { zone = \".\"; } ); };", 2, "empty zone");
	CHECK_ERR("rbl = { lists = ( { zone = \"a..example\"; } ); };", 1, "is not a DNS zone");
	CHECK_ERR("rbl = { lists = ( { zone = \"a example\"; } ); };", 1, "is not a DNS zone");
	CHECK_ERR("rbl = { lists = ( { zone = \"zen.example\"; },\n { zone = \"ZEN.example.\"; } ); };", 2,
		  "rbl.lists[1].zone: zone 'zen.example' is listed twice");
	CHECK_ERR("rbl = { lists = ( { zone = \"a.example\";\n weight = -2; } ); };", 2,
		  "rbl.lists[0].weight: must not be negative");
	CHECK_ERR("rbl = { lists = (\n { type = \"ip\"; } ); };", 2, "rbl.lists[0]: zone is missing");
	CHECK_ERR("rbl = {\n enabled = true; };", 2, "rbl.enabled: enabled without lists");
	CHECK_ERR("rbl = {\n enabled = true; threshold = 5;\n"
		  " lists = ( { zone = \"a.example\"; weight = 2; } ); };",
		  2, "threshold 5 can never be reached: the lists' weights add up to 2");
	CHECK_ERR("rbl = { min_ttl = 600;\n max_ttl = 60; };", 1, "min_ttl 600 is more than max_ttl 60");
	CHECK_ERR("rbl = { servers = \"dns server\"; };", 1, "is not a server list");
	CHECK_ERR("store = { queue_records = 10;\n batch_records = 20; };", 2,
		  "batch_records 20 is more than queue_records 10");

	/* Extensions. */
	CHECK_ERR("attachments = { blocked_extensions = [\"exe\", \"tar.gz\"]; };", 1,
		  "blocked_extensions[1]: 'tar.gz' is not an extension");
	CHECK_ERR("attachments = { blocked_extensions = [\"\"]; };", 1, "'' is not an extension");
	CHECK_ERR("attachments = { blocked_extensions = [\"EXE\", \".exe\"]; };", 1,
		  "'.exe' is listed twice");

	/* What libconfig 1.5 would get wrong or should not do. */
	CHECK_ERR("limits = {\n max_message = 5000000000; };", 2,
		  "5000000000 does not fit in a plain integer");
	CHECK_ERR("limits = { max_message = 0x100000000; };", 1, "0x100000000 does not fit");
	CHECK_ERR("limits = { max_message = 2147483648; };", 1,
		  "write it as a string (\"2147483648\") or with an L suffix (2147483648L)");
	CHECK_ERR("fail_closed = true;\n  @include \"/etc/passwd\"\n", 2, "@include is not supported");
	CHECK_ERR("# \"5000000000\" in a comment is fine\nfail_closed = 1;", 2,
		  "expected true or false, got an integer");
	static const char with_nul[] = "fail_closed = true;\n\0";
	CHECK_EQ_U(config_load_mem(&cfg, "t.conf", "/base", with_nul, sizeof with_nul - 1, err,
				   sizeof err),
		   -1);
	CHECK(strstr(err, "t.conf:2: NUL byte") == err);
	/* Plain integers up to 2^31-1 and L-suffixed ones are fine. */
	CHECK_EQ_U(load("limits = { max_message = 2147483647; };"), 0);
	CHECK_EQ_U(cfg.max_message, 2147483647u);
	CHECK_EQ_U(load("limits = { max_message = 5000000000L; };"), 0);
	CHECK_EQ_U(cfg.max_message, 5000000000ull);
	CHECK_EQ_U(load("store = { path = \"5000000000\"; };  # 5000000000"), 0);
	CHECK_STR(err, "");

	/* Every error is reported, one per line; a failed load leaves defaults. */
	CHECK_EQ_U(load("fail_closed = true;\nrbl = { tries = 0;\n timeout_ms = 0; };\nbogus = 1;\n"
			"rules = \"x\";"),
		   -1);
	CHECK(strstr(err, "t.conf:2: rbl.tries: must be between 1 and 10\n"
			  "t.conf:3: rbl.timeout_ms: must be between 1 and 600000\n"
			  "t.conf:4: bogus: unknown setting 'bogus'") == err);
	check_defaults(&cfg);

	/* A small or absent error buffer is fine. */
	char tiny[8];
	CHECK_EQ_U(config_load_mem(&cfg, "t.conf", "/", "x = 1; y = 2;", 13, tiny, sizeof tiny), -1);
	CHECK_STR(tiny, "t.conf:");
	CHECK_EQ_U(config_load_mem(&cfg, "t.conf", "/", "x = 1;", 6, NULL, 0), -1);
	CHECK_EQ_U(config_load_mem(&cfg, "t.conf", "/", "x = 1;", 6, tiny, 0), -1);
}

static void test_sizes_and_durations(void)
{
	static const struct {
		const char *value;
		uint64_t bytes; /* 0 = rejected */
	} sizes[] = {
		{"0", 0},        {"1024", 1024},        {"1K", 1024},          {"1k", 1024},
		{"64M", 64 << 20}, {"64MB", 64 << 20},  {"64MiB", 64 << 20},   {"2g", 2ull << 30},
		{"1T", 1ull << 40}, {"10B", 10},         {"1.5M", 0},           {"12X", 0},
		{"", 0},         {"-1", 0},             {"M", 0},              {" 1M", 0},
		{"1M ", 0},      {"1Mi", 0},            {"1iB", 0},            {"18446744073709551616", 0},
		{"16777216T", 0}, {"2T", 0},            {"1099511627777", 0},
		{"3kIb", 3072},  {"5gB", 5ull << 30},   {"1KBB", 0},           {"1KiBs", 0},
	};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char text[128];
		snprintf(text, sizeof text, "limits = { max_message = \"%s\"; };", sizes[i].value);
		int rc = load(text);
		if (sizes[i].bytes || strcmp(sizes[i].value, "0") == 0) {
			CHECK_EQ_U(rc, 0);
			CHECK_EQ_U(cfg.max_message, sizes[i].bytes);
		} else {
			CHECK_EQ_U(rc, -1);
			CHECK(strncmp(err, "t.conf:1: limits.max_message: ", 30) == 0);
		}
	}
	CHECK_ERR("limits = { max_message = \"12X\"; };", 1, "'12X' is not a size");
	CHECK_ERR("limits = { max_message = \"16777216T\"; };", 1, "is not a size");
	CHECK_ERR("limits = { max_message = \"2T\"; };", 1, "must be between 0 and 1099511627776");
	CHECK_EQ_U(load("limits = { max_message = \"1T\"; };"), 0);
	CHECK_EQ_U(cfg.max_message, 1ull << 40);

	static const struct {
		const char *value;
		uint64_t seconds; /* UINT64_MAX = rejected */
	} durations[] = {
		{"0", 0},        {"30s", 30},   {"15m", 900},   {"12h", 43200}, {"90d", 7776000},
		{"2w", 1209600}, {"3600", 3600}, {"1y", UINT64_MAX}, {"5 m", UINT64_MAX},
		{"", UINT64_MAX}, {"1.5h", UINT64_MAX}, {"m", UINT64_MAX}, {"30S", UINT64_MAX},
		{"99999999999999999999", UINT64_MAX}, {"30500000000000d", UINT64_MAX},
		{"36700d", UINT64_MAX}, /* more than the 100-year cap */
		{"2H", UINT64_MAX}, {"1ms", UINT64_MAX}, {"7ss", UINT64_MAX},
	};
	for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++) {
		char text[128];
		snprintf(text, sizeof text, "store = { retention = \"%s\"; };", durations[i].value);
		int rc = load(text);
		if (durations[i].seconds != UINT64_MAX) {
			CHECK_EQ_U(rc, 0);
			CHECK_EQ_U(cfg.store.retention_us, durations[i].seconds * 1000000);
		} else {
			CHECK_EQ_U(rc, -1);
			CHECK(strncmp(err, "t.conf:1: store.retention: ", 27) == 0);
		}
	}
	/* Integers are seconds, sizes bytes. */
	CHECK_EQ_U(load("store = { retention = 60; map_size = 2097152; }; rbl = { min_ttl = 0; };"), 0);
	CHECK_EQ_U(cfg.store.retention_us, 60000000);
	CHECK_EQ_U(cfg.store.map_size, 2u << 20);
	CHECK_EQ_U(cfg.rbl.min_ttl, 0);
	/* 2^63 seconds as an L integer overflows the microsecond conversion. */
	CHECK_ERR("store = { retention = 9223372036854775807L; };", 1, "seconds is too long");
	CHECK_ERR("store = { retention = \"90x\"; };", 1, "'90x' is not a duration");
}

static void test_paths(void)
{
	/* config_load_mem: against base_dir; absolute paths unchanged. */
	CHECK_EQ_U(load("attachments = { hash_list = \"../lists/h.txt\"; clamav_db_dir = \"db\"; };"), 0);
	CHECK_STR(cfg.attachments.hash_list, "/base/../lists/h.txt");
	CHECK_STR(cfg.attachments.clamav_db_dir, "/base/db");
	CHECK(cfg.attachments.hash_list == cfg.attachment_paths[0]);

	/* config_load: against the file's own directory (made absolute), and
	 * missing files are not an error here. */
	char dir[] = "/tmp/postern-config-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[300], sub[256];
	snprintf(sub, sizeof sub, "%s/etc", dir);
	CHECK(mkdir(sub, 0700) == 0);
	snprintf(path, sizeof path, "%s/postern.conf", sub);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs("rules = \"rules/r.rules\";\nstore = { path = \"/srv/v\"; };\n", f);
	fclose(f);
	config_free(&cfg);
	CHECK_EQ_U(config_load(&cfg, path, err, sizeof err), 0);
	char expect[300];
	snprintf(expect, sizeof expect, "%s/rules/r.rules", sub);
	CHECK_STR(cfg.rule_files[0], expect);
	CHECK_STR(cfg.store.path, "/srv/v");
	CHECK_STR(cfg.path, path);

	/* A relative config path still gives absolute rule paths. */
	char cwd[PATH_MAX];
	CHECK(getcwd(cwd, sizeof cwd) != NULL);
	CHECK(chdir(dir) == 0);
	config_free(&cfg);
	CHECK_EQ_U(config_load(&cfg, "etc/postern.conf", err, sizeof err), 0);
	CHECK_STR(cfg.rule_files[0], expect);
	CHECK_STR(cfg.path, "etc/postern.conf");
	/* Errors in a file name the file as given. */
	f = fopen(path, "w");
	if (f) {
		fputs("\nstore = { map_size = \"1Q\"; };\n", f);
		fclose(f);
	}
	config_free(&cfg);
	CHECK_EQ_U(config_load(&cfg, "etc/postern.conf", err, sizeof err), -1);
	CHECK(strstr(err, "etc/postern.conf:2: store.map_size: '1Q' is not a size") == err);
	CHECK(cfg.path == NULL);
	CHECK(chdir(cwd) == 0);
	unlink(path);
	rmdir(sub);
	rmdir(dir);

	config_free(&cfg);
	CHECK_EQ_U(config_load(&cfg, "/nonexistent/postern.conf", err, sizeof err), -1);
	CHECK_STR(err, "/nonexistent/postern.conf: No such file or directory");
	check_defaults(&cfg);
}

static bool has(const struct netset *s, const char *addr)
{
	uint8_t a[16];
	if (inet_pton(AF_INET, addr, a) == 1)
		return netset_contains(s, AF_INET, a);
	if (inet_pton(AF_INET6, addr, a) == 1)
		return netset_contains(s, AF_INET6, a);
	fprintf(stderr, "bad test address %s\n", addr);
	return false;
}

static void test_netset(void)
{
	struct netset s = {0};
	char why[160];
	CHECK(!has(&s, "10.0.0.1"));
	CHECK_EQ_U(netset_add(&s, "10.20.0.0/23", why, sizeof why), 0);
	CHECK(has(&s, "10.20.0.0"));
	CHECK(has(&s, "10.20.1.255"));
	CHECK(!has(&s, "10.20.2.0"));
	CHECK(!has(&s, "10.19.255.255"));
	CHECK(!has(&s, "::a14:1")); /* the same bits in IPv6 are not IPv4 */
	CHECK(has(&s, "::ffff:10.20.1.1")); /* IPv4-mapped is IPv4 */
	CHECK(!has(&s, "::ffff:10.20.2.1"));
	CHECK_EQ_U(netset_add(&s, "192.0.2.7", why, sizeof why), 0); /* a host is /32 */
	CHECK_EQ_U(s.v[1].prefix, 32);
	CHECK(has(&s, "192.0.2.7"));
	CHECK(!has(&s, "192.0.2.6"));
	CHECK(!has(&s, "192.0.2.8"));
	CHECK_EQ_U(netset_add(&s, "2001:db8:0:8000::/65", why, sizeof why), 0);
	CHECK(has(&s, "2001:db8:0:8000:7fff:ffff:ffff:ffff"));
	CHECK(!has(&s, "2001:db8:0:8000:8000::"));
	CHECK(!has(&s, "2001:db8:0:7fff::"));
	CHECK(!has(&s, "2001:db8::1"));
	CHECK_EQ_U(netset_add(&s, "2001:db8::1/128", why, sizeof why), 0);
	CHECK(has(&s, "2001:db8::1"));
	CHECK(!has(&s, "2001:db8::2"));
	CHECK(!has(&s, "1.2.3.4"));
	CHECK_EQ_U(netset_add(&s, "0.0.0.0/0", why, sizeof why), 0);
	CHECK(has(&s, "1.2.3.4"));
	CHECK(has(&s, "255.255.255.255"));
	CHECK(!has(&s, "2001:db9::1"));
	CHECK_EQ_U(netset_add(&s, "::/0", why, sizeof why), 0);
	CHECK(has(&s, "2001:db9::1"));
	CHECK_EQ_U(s.count, 6);

	/* Growth past the first allocation keeps every entry. */
	for (unsigned i = 0; i < 100; i++) {
		char net[32];
		snprintf(net, sizeof net, "172.16.%u.0/24", i);
		CHECK_EQ_U(netset_add(&s, net, why, sizeof why), 0);
	}
	CHECK_EQ_U(s.count, 106);
	netset_free(&s);
	CHECK(s.v == NULL && s.count == 0);
	CHECK(!has(&s, "1.2.3.4"));

	static const struct {
		const char *cidr, *reason;
	} bad[] = {
		{"", "empty network"},
		{"10.0.0.1/8", "host bits set in '10.0.0.1/8' (the network is 10.0.0.0/8)"},
		{"10.20.1.0/23", "the network is 10.20.0.0/23"},
		{"2001:db8::1/64", "the network is 2001:db8::/64"},
		{"2001:db8::c000:0:0:0/65", "the network is 2001:db8:0:0:8000::/65"},
		{"1.2.3.4/0", "the network is 0.0.0.0/0"},
		{"10.0.0.0/33", "prefix length 33 is more than 32"},
		{"::/129", "prefix length 129 is more than 128"},
		{"10.0.0.0/0008", "bad prefix length '0008'"},
		{"10.0.0.0/8/8", "bad prefix length '8/8'"},
		{"10.0.0.0/-1", "bad prefix length '-1'"},
		{"10.0.0.0/ 8", "bad prefix length ' 8'"},
		{"10.0.0.256/32", "not an IPv4 or IPv6 address"},
		{"example.com", "not an IPv4 or IPv6 address"},
		{" 10.0.0.0/8", "not an IPv4 or IPv6 address"},
		{"/8", "not an IPv4 or IPv6 address"},
		{"1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc:dddd/128", "too long"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		why[0] = '\0';
		int rc = netset_add(&s, bad[i].cidr, why, sizeof why);
		CHECK_EQ_U(rc, -1);
		if (!strstr(why, bad[i].reason)) {
			tl_failed++;
			fprintf(stderr, "netset_add(\"%s\"): \"%s\", expected \"%s\"\n", bad[i].cidr, why,
				bad[i].reason);
		}
	}
	CHECK_EQ_U(s.count, 0);
	netset_free(&s);
}

static char example_path[PATH_MAX];

static void test_example_file(void)
{
	const char *path = example_path;
	config_free(&cfg);
	int rc = config_load(&cfg, path, err, sizeof err);
	if (rc != 0)
		fprintf(stderr, "%s\n", err);
	CHECK_EQ_U(rc, 0);
	/* The example shows the defaults, except these: */
	CHECK_EQ_U(cfg.internal.count, 4);
	CHECK_EQ_U(cfg.rbl.list_count, 2);
	cfg.internal.count = 0;
	size_t lists = cfg.rbl.list_count;
	struct rbl_list *saved = cfg.rbl.lists;
	cfg.rbl.list_count = 0;
	cfg.rbl.lists = NULL;
	char *saved_path = cfg.path;
	cfg.path = NULL;
	check_defaults(&cfg);
	cfg.path = saved_path;
	cfg.rbl.lists = saved;
	cfg.rbl.list_count = lists;
	cfg.internal.count = 4;
}

/* ---- webmail ------------------------------------------------------------ */

static void test_webmail_defaults(void)
{
	struct postern_config c;
	config_default(&c);
	const struct webmail_config *w = &c.webmail;
	CHECK(w->enabled);
	CHECK_EQ_U(w->signature_path_count, 0);
	CHECK_EQ_U(w->http_port_count, 2);
	CHECK_EQ_U(w->http_ports[0], 80);
	CHECK_EQ_U(w->http_ports[1], 8080);
	CHECK_EQ_U(w->tls_port_count, 1);
	CHECK_EQ_U(w->tls_ports[0], 443);
	CHECK(w->content_detect);
	CHECK_EQ_U(w->generic_threshold, 60);
	CHECK_EQ_U(w->unlisted_action, WEBMAIL_ACTION_ACCEPT);
	CHECK_EQ_U(w->unknown_action, WEBMAIL_ACTION_ACCEPT);
	CHECK_EQ_U(w->block_action, WEBMAIL_ACTION_RESET);
	CHECK(w->block_page == NULL);
	CHECK_EQ_U(w->service_count, 0);
	CHECK_EQ_U(w->max_body, 0);
	CHECK_EQ_U(w->max_upload_ids, 4096);
	CHECK_EQ_U(w->upload_ttl_us, UINT64_C(3600000000));
	config_free(&c);

	/* An empty group changes nothing. */
	CHECK_EQ_U(load("webmail = { };"), 0);
	CHECK(cfg.webmail.enabled);
	CHECK_EQ_U(cfg.webmail.block_action, WEBMAIL_ACTION_RESET);
	CHECK_EQ_U(cfg.webmail.http_port_count, 2);
}

static void test_webmail_settings(void)
{
	static const char text[] =
		"webmail = {\n"                                                     /* 1 */
		"  enabled = false;\n"                                              /* 2 */
		"  signatures = [\"webmail\", \"/opt/sig/extra.conf\"];\n"          /* 3 */
		"  http_ports = [80, 8081];\n"                                      /* 4 */
		"  tls_ports = 8443;\n"                                             /* 5 */
		"  content_detect = false;\n"                                       /* 6 */
		"  generic_threshold = 75;\n"                                       /* 7 */
		"  unlisted_action = \"reset\";\n"                                  /* 8 */
		"  unknown_action = \"redirect\";\n"                                /* 9 */
		"  block_page = \"https://block.corp.example:8443/webmail?x=1\";\n" /* 10 */
		"  max_body = \"8M\";\n"                                            /* 11 */
		"  max_upload_ids = 100;\n"                                         /* 12 */
		"  upload_ttl = \"30m\";\n"                                         /* 13 */
		"  services = (\n"                                                  /* 14 */
		"    { name = \"corp\"; domains = [\"Webmail.Corp.Example.\"]; list = \"allow\";\n" /* 15 */
		"      sources = [\"10.1.0.0/16\", \"2001:db8:1::/48\"]; },\n"      /* 16 */
		"    { name = \"project\"; domains = \"mail.partner.example\"; list = \"allow\";\n" /* 17 */
		"      from = \"2026-01-01T00:00:00Z\"; until = \"2026-03-01T12:30:00Z\"; },\n" /* 18 */
		"    { name = \"public\"; list = \"deny\"; action = \"reset\";\n"   /* 19 */
		"      domains = [\".mail.yahoo.com\", \"mail.google.com\", \".메일.한국\"]; }\n" /* 20 */
		"  );\n"
		"};\n";
	int rc = load(text);
	if (rc != 0)
		fprintf(stderr, "%s\n", err);
	CHECK_EQ_U(rc, 0);
	const struct webmail_config *w = &cfg.webmail;
	CHECK(!w->enabled);
	CHECK_EQ_U(w->signature_path_count, 2);
	CHECK_STR(w->signature_paths[0], "/base/webmail");
	CHECK_STR(w->signature_paths[1], "/opt/sig/extra.conf");
	CHECK_EQ_U(w->http_port_count, 2);
	CHECK_EQ_U(w->http_ports[1], 8081);
	CHECK_EQ_U(w->tls_port_count, 1);
	CHECK_EQ_U(w->tls_ports[0], 8443);
	CHECK(!w->content_detect);
	CHECK_EQ_U(w->generic_threshold, 75);
	CHECK_EQ_U(w->unlisted_action, WEBMAIL_ACTION_RESET);
	CHECK_EQ_U(w->unknown_action, WEBMAIL_ACTION_REDIRECT);
	/* block_page without block_action: deny entries redirect. */
	CHECK_EQ_U(w->block_action, WEBMAIL_ACTION_REDIRECT);
	CHECK_STR(w->block_page, "https://block.corp.example:8443/webmail?x=1");
	CHECK_EQ_U(w->max_body, 8u << 20);
	CHECK_EQ_U(w->max_upload_ids, 100);
	CHECK_EQ_U(w->upload_ttl_us, UINT64_C(1800000000));
	CHECK_EQ_U(w->service_count, 3);
	if (w->service_count != 3)
		return;
	const struct service_entry *e = &w->services[0];
	CHECK_STR(e->name, "corp");
	CHECK_EQ_U(e->domain_count, 1);
	CHECK_STR(e->domains[0], "webmail.corp.example");
	CHECK_EQ_U(e->list, SERVICE_ALLOW);
	CHECK_EQ_U(e->sources.count, 2);
	uint8_t a4[16] = {10, 1, 200, 3};
	CHECK(netset_contains(&e->sources, AF_INET, a4));
	a4[1] = 2;
	CHECK(!netset_contains(&e->sources, AF_INET, a4));
	CHECK_EQ_U(e->from_us, 0);
	CHECK_EQ_U(e->until_us, 0);
	CHECK(!e->has_action);
	CHECK_EQ_U(e->line, 15);
	e = &w->services[1];
	CHECK_STR(e->name, "project");
	CHECK_STR(e->domains[0], "mail.partner.example");
	CHECK_EQ_U(e->sources.count, 0);
	CHECK_EQ_U(e->from_us, UINT64_C(1767225600) * 1000000);  /* date -d 2026-01-01Z +%s */
	CHECK_EQ_U(e->until_us, UINT64_C(1772368200) * 1000000); /* date -d '2026-03-01 12:30Z' +%s */
	CHECK_EQ_U(e->line, 17);
	e = &w->services[2];
	CHECK_STR(e->name, "public");
	CHECK_EQ_U(e->list, SERVICE_DENY);
	CHECK(e->has_action);
	CHECK_EQ_U(e->action, WEBMAIL_ACTION_RESET);
	CHECK_EQ_U(e->domain_count, 3);
	CHECK_STR(e->domains[0], ".mail.yahoo.com");
	CHECK_STR(e->domains[1], "mail.google.com");
	CHECK_STR(e->domains[2], ".xn--h32bq4v.xn--3e0b707e");
	CHECK_EQ_U(e->line, 19);

	/* An explicit block_action stays; leap days parse. */
	CHECK_EQ_U(load("webmail = { block_page = \"http://b.example/\"; block_action = \"reset\";\n"
			"services = ( { name = \"x\"; domains = \"a.example\"; list = \"deny\";\n"
			"from = \"2028-02-29T23:59:59Z\"; } ); };"), 0);
	CHECK_EQ_U(cfg.webmail.block_action, WEBMAIL_ACTION_RESET);
	CHECK_EQ_U(cfg.webmail.services[0].from_us, UINT64_C(1835481599) * 1000000);
	CHECK_EQ_U(cfg.webmail.services[0].until_us, 0);
}

static void test_webmail_errors(void)
{
	CHECK_ERR("webmail = {\n  enable = true; };", 2,
		  "webmail.enable: unknown setting 'enable' (did you mean 'enabled'?)");
	CHECK_ERR("webmail = { generic_threshold = 101; };", 1,
		  "webmail.generic_threshold: must be between 0 and 100");
	CHECK_ERR("webmail = { http_ports = [80, 0]; };", 1,
		  "webmail.http_ports[1]: port 0 is not between 1 and 65535");
	CHECK_ERR("webmail = { tls_ports = [443,\n 443]; };", 2, "port 443 is listed twice");
	CHECK_ERR("webmail = { tls_ports = []; };", 1, "webmail.tls_ports: empty list");
	CHECK_ERR("webmail = { http_ports = [80, 443]; };", 1,
		  "webmail.http_ports: port 443 is in both http_ports and tls_ports");
	CHECK_ERR("webmail = { unlisted_action = \"alert\"; };", 1,
		  "webmail.unlisted_action: 'alert' is not 'accept', 'reset' or 'redirect'");
	CHECK_ERR("webmail = {\n block_action = \"redirect\"; };", 2,
		  "webmail.block_action: \"redirect\" needs webmail.block_page");
	CHECK_ERR("webmail = { unknown_action = \"redirect\"; };", 1, "needs webmail.block_page");
	CHECK_ERR("webmail = { block_page = \"ftp://b.example/\"; };", 1,
		  "webmail.block_page: 'ftp://b.example/' is not an absolute http:// or https:// URL");
	CHECK_ERR("webmail = { block_page = \"/blocked\"; };", 1, "not an absolute http://");
	CHECK_ERR("webmail = { block_page = \"http://b.example/x\\r\\nSet-Cookie: a=b\"; };", 1,
		  "webmail.block_page: control character, space or non-ASCII byte at 18");
	CHECK_ERR("webmail = { block_page = \"http://b.example/a b\"; };", 1, "control character, space");
	CHECK_ERR("webmail = { block_page = \"http:///x\"; };", 1, "no host");
	CHECK_ERR("webmail = { block_page = \"http://u@b.example/\"; };", 1, "is not a host name");
	CHECK_ERR("webmail = { block_page = \"http://b..example/\"; };", 1, "is not a host name");
	static char long_url[1100];
	snprintf(long_url, sizeof long_url, "webmail = { block_page = \"http://b.example/%01010d\"; };", 0);
	CHECK_ERR(long_url, 1, "webmail.block_page: URL longer than 1024 bytes");
	CHECK_ERR("webmail = { max_body = \"8Q\"; };", 1, "webmail.max_body: '8Q' is not a size");
	CHECK_ERR("webmail = { upload_ttl = \"1y\"; };", 1, "webmail.upload_ttl: '1y' is not a duration");
	CHECK_ERR("webmail = { max_upload_ids = 0; };", 1, "webmail.max_upload_ids: must be between 1 and");
	CHECK_ERR("webmail = { signatures = \"\"; };", 1, "webmail.signatures: empty path");

	/* Services. */
	CHECK_ERR("webmail = { services = { name = \"a\"; }; };", 1,
		  "webmail.services: expected a list ( { name = ...");
	CHECK_ERR("webmail = { services = ( \"a\" ); };", 1,
		  "webmail.services[0]: expected a group { name = ...; ... }, got a string");
	CHECK_ERR("webmail = { services = (\n { domains = [\"a.example\"]; list = \"deny\"; } ); };", 2,
		  "name is missing");
	CHECK_ERR("webmail = { services = (\n { name = \"a\"; list = \"deny\"; } ); };", 2,
		  "domains is missing");
	CHECK_ERR("webmail = { services = (\n { name = \"a\"; domains = \"a.example\"; } ); };", 2,
		  "list is missing");
	CHECK_ERR("webmail = { services = ( { name = \"a\"; domains = [\"a.example\",\n"
		  "\"mail..example\"]; list = \"deny\"; } ); };", 2,
		  "webmail.services[0].domains[1]: 'mail..example' is not a valid host name");
	CHECK_ERR("webmail = { services = ( { name = \"a\"; domains = [\"xn--zz.example\"]; list = \"deny\"; } ); };",
		  1, "'xn--zz.example' is not a valid host name");
	CHECK_ERR("webmail = { services = ( { name = \"a\"; domains = [\"mail_box.example\"]; list = \"deny\"; } ); };",
		  1, "'mail_box.example' is not a valid host name");
	CHECK_ERR("webmail = { services = ( { name = \"a\"; domains = [\".192.0.2.1\"]; list = \"deny\"; } ); };",
		  1, "needs a domain, not an address");
	CHECK_ERR("webmail = { services = ( { name = \"a\"; domains = [\"a.example\", \"A.example.\"]; list = \"deny\"; } ); };",
		  1, "'A.example.' is listed twice");
	CHECK_ERR("webmail = { services = ( { name = \"a\"; domains = []; list = \"deny\"; } ); };", 1,
		  "webmail.services[0].domains: empty list");
	CHECK_ERR("webmail = { services = ( { name = \"\"; domains = \"a.example\"; list = \"deny\"; } ); };",
		  1, "webmail.services[0].name: a name has 1 to 64 bytes");
	CHECK_ERR("webmail = { services = ( { name = \"a\\\"b\"; domains = \"a.example\"; list = \"deny\"; } ); };",
		  1, "quotes and backslashes are not allowed");
	CHECK_ERR("webmail = { services = ( { name = \"a\"; domains = \"a.example\"; list = \"block\"; } ); };",
		  1, "webmail.services[0].list: 'block' is not 'allow' or 'deny'");
	CHECK_ERR("webmail = { services = ( { name = \"a\"; domains = \"a.example\"; list = \"deny\";\n"
		  "  sources = [\"10.0.0.1/8\"]; } ); };", 2,
		  "webmail.services[0].sources[0]: host bits set in '10.0.0.1/8'");
	CHECK_ERR("webmail = { services = ( { name = \"a\"; domains = \"a.example\"; list = \"allow\";\n"
		  "  action = \"reset\"; } ); };", 2,
		  "webmail.services[0].action: an action is for deny entries only");
	CHECK_ERR("webmail = { services = ( { name = \"a\"; domains = \"a.example\"; list = \"deny\";\n"
		  "  action = \"accept\"; } ); };", 2, "'accept' is not 'reset' or 'redirect'");
	CHECK_ERR("webmail = { services = ( { name = \"a\"; domains = \"a.example\"; list = \"deny\";\n"
		  "  action = \"redirect\"; } ); };", 2,
		  "webmail.services[0].action: \"redirect\" needs webmail.block_page");
	CHECK_ERR("webmail = { services = ( { name = \"a\"; domains = \"a.example\"; list = \"deny\"; lists = 1; } ); };",
		  1, "did you mean 'list'?");

	/* Times: strict RFC 3339 UTC. */
	static const char *const bad_times[] = {
		"2026-01-01 00:00:00Z", "2026-01-01T00:00:00", "2026-01-01T00:00:00+09:00",
		"2026-01-01T00:00:00.5Z", "2026-1-01T00:00:00Z", "2026-13-01T00:00:00Z",
		"2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-01-01T24:00:00Z",
		"2026-01-01T00:60:00Z", "2026-01-01T00:00:60Z", "1969-12-31T23:59:59Z",
		"2026-01-01t00:00:00z", "", "+026-01-01T00:00:00Z",
	};
	for (size_t i = 0; i < sizeof bad_times / sizeof bad_times[0]; i++) {
		char text[256];
		snprintf(text, sizeof text,
			 "webmail = { services = ( { name = \"a\"; domains = \"a.example\"; list = \"deny\";\n"
			 "  from = \"%s\"; } ); };", bad_times[i]);
		char want[128];
		snprintf(want, sizeof want, "webmail.services[0].from: '%s' is not a UTC time", bad_times[i]);
		CHECK_ERR(text, 2, want);
	}
	CHECK_ERR("webmail = { services = ( { name = \"a\"; domains = \"a.example\"; list = \"deny\";\n"
		  "  until = \"1970-01-01T00:00:00Z\"; } ); };", 2, "must be after 1970-01-01T00:00:00Z");
	CHECK_ERR("webmail = { services = ( { name = \"a\"; domains = \"a.example\"; list = \"deny\";\n"
		  "  until = 20260101; } ); };", 2, "webmail.services[0].until: expected a time string");
	CHECK_ERR("webmail = { services = ( { name = \"a\"; domains = \"a.example\"; list = \"deny\";\n"
		  " from = \"2026-02-01T00:00:00Z\";\n until = \"2026-02-01T00:00:00Z\"; } ); };", 3,
		  "webmail.services[0].until: until is not after from");

	/* Every bad entry is reported, not only the first. */
	CHECK(load("webmail = { services = (\n"
		   "{ name = \"a\"; domains = \"a..example\"; list = \"deny\"; },\n"
		   "{ name = \"b\"; domains = \"b.example\"; list = \"deny\"; },\n"
		   "{ name = \"c\"; domains = \"c.example\"; list = \"maybe\"; } ); };") == -1);
	CHECK(strstr(err, "t.conf:2: ") != NULL);
	CHECK(strstr(err, "t.conf:4: ") != NULL);
	CHECK(strstr(err, "t.conf:3: ") == NULL);
	CHECK_EQ_U(cfg.webmail.service_count, 0); /* a failed load leaves the defaults */
}

static void test_example_webmail(void)
{
	config_free(&cfg);
	int rc = config_load(&cfg, example_path, err, sizeof err);
	CHECK_EQ_U(rc, 0);
	const struct webmail_config *w = &cfg.webmail;
	CHECK_EQ_U(w->signature_path_count, 1);
	if (w->signature_path_count == 1)
		CHECK(strstr(w->signature_paths[0], "/webmail") != NULL);
	CHECK(w->block_page != NULL);
	CHECK_EQ_U(w->block_action, WEBMAIL_ACTION_REDIRECT);
	CHECK(w->service_count >= 3);
	bool allow_with_sources = false, timed = false, deny = false;
	for (size_t i = 0; i < w->service_count; i++) {
		allow_with_sources |= w->services[i].list == SERVICE_ALLOW && w->services[i].sources.count > 0;
		timed |= w->services[i].until_us > w->services[i].from_us && w->services[i].from_us > 0;
		deny |= w->services[i].list == SERVICE_DENY;
	}
	CHECK(allow_with_sources);
	CHECK(timed);
	CHECK(deny);
}

int main(int argc, char **argv)
{
	char *example = example_path;
	if (argc > 1) {
		snprintf(example, sizeof example_path, "%s", argv[1]);
	} else {
		/* __FILE__ is ".../tests/unit/test_config.c". */
		snprintf(example, sizeof example_path, "%s", __FILE__);
		char *t = strstr(example, "tests/unit/test_config.c");
		if (t)
			snprintf(t, sizeof example_path - (size_t)(t - example), "etc/postern.conf");
	}
	RUN(test_defaults);
	RUN(test_every_setting);
	RUN(test_errors);
	RUN(test_sizes_and_durations);
	RUN(test_paths);
	RUN(test_netset);
	RUN(test_example_file);
	RUN(test_webmail_defaults);
	RUN(test_webmail_settings);
	RUN(test_webmail_errors);
	RUN(test_example_webmail);
	config_free(&cfg);
	config_free(&cfg); /* twice is safe */
	return tl_finish();
}
