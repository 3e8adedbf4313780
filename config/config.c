/* The postern configuration file; the contract is in config.h, the settings
 * are documented in docs/configuration.md.
 *
 * Shape: every group of the file has a table of known keys.  One walker goes
 * through the settings of a group, rejects names that are not in the table
 * (with a "did you mean" from the same table, or the group a key belongs
 * in), checks the type and range and stores the value at the key's offset;
 * lists and paths have their own handlers.  Cross-setting checks run once the
 * whole file is read.  Every error is reported, one "FILE:LINE: reason" per
 * line of err, so an operator fixes a file in one pass.
 *
 * Defaults are written here rather than taken from each module's *_default
 * (the config library links nothing but libconfig); they mirror the defaults
 * documented in those modules' headers.
 *
 * libconfig 1.5 quirks handled before parsing (see prescan):
 * - a plain integer literal beyond 32 bits is silently truncated
 *   (5000000000 reads as 705032704), so such literals are rejected;
 * - @include would read any file (and /dev/zero forever), so it is refused;
 * - setting line numbers are 16-bit, so files are limited to 65535 lines;
 * - a comment on the last line without a newline is a syntax error, so a
 *   newline is added. */
#include "config/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "common/hostname.h"

#define CONFIG_MAX_BYTES (1u << 20)
#define CONFIG_MAX_LINES 65535u
#define NETSET_MAX 65536u
#define CONFIG_MAX_NETWORKS 4096u
#define CONFIG_MAX_EXTENSIONS 256u
#define EXTENSION_MAX_LEN 32u
/* rbl_result reports at most RBL_MAX_HITS lists; more lists could hide hits. */
#define CONFIG_MAX_RBL_LISTS RBL_MAX_HITS
#define RBL_ZONE_MAX (sizeof(((struct rbl_hit *)0)->zone) - 1)
#define FLOW_MAX_FLOWS (1u << 26) /* reassembly/flow_table.c accepts no more */
#define CONFIG_MAX_SERVICES 4096u
#define CONFIG_MAX_SERVICE_DOMAINS 256u
#define SERVICE_NAME_MAX 64u
#define BLOCK_PAGE_MAX 1024u /* it goes into a Location header */

#define KIB (UINT64_C(1) << 10)
#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)
#define TIB (UINT64_C(1) << 40)
#define DAY_S UINT64_C(86400)
#define US_PER_S UINT64_C(1000000)

static const char default_store_path[] = "/var/lib/postern/verdicts";

/* ---- networks ---------------------------------------------------------- */

static bool prefix_match(const uint8_t *a, const uint8_t *net, unsigned prefix)
{
	unsigned bytes = prefix / 8, bits = prefix % 8;
	if (memcmp(a, net, bytes) != 0)
		return false;
	if (bits == 0)
		return true;
	uint8_t mask = (uint8_t)(0xFFu << (8 - bits));
	return (a[bytes] & mask) == (net[bytes] & mask);
}

int netset_add(struct netset *s, const char *cidr, char *err, size_t errlen)
{
	char buf[64];
	size_t len = strlen(cidr);
	if (len == 0) {
		snprintf(err, errlen, "empty network");
		return -1;
	}
	if (len >= sizeof buf) {
		snprintf(err, errlen, "'%.40s...' is too long for a network", cidr);
		return -1;
	}
	memcpy(buf, cidr, len + 1);
	char *slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';

	struct netset_entry e = {0};
	unsigned max;
	if (inet_pton(AF_INET, buf, e.addr) == 1) {
		e.family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, e.addr) == 1) {
		e.family = AF_INET6;
		max = 128;
	} else {
		snprintf(err, errlen, "'%s': not an IPv4 or IPv6 address", buf);
		return -1;
	}

	unsigned prefix = max;
	if (slash) {
		const char *p = slash + 1;
		size_t n = strlen(p);
		/* Digits only: strtoul would take "+8", " 8" and "0x8". */
		if (n == 0 || n > 3 || strspn(p, "0123456789") != n) {
			snprintf(err, errlen, "'%s': bad prefix length '%s'", cidr, p);
			return -1;
		}
		prefix = (unsigned)atoi(p);
		if (prefix > max) {
			snprintf(err, errlen, "'%s': prefix length %u is more than %u", cidr, prefix, max);
			return -1;
		}
	}
	e.prefix = (uint8_t)prefix;

	/* Host bits set usually means a typo in the address or the length;
	 * say what the network would be rather than guess. */
	uint8_t net[16] = {0};
	memcpy(net, e.addr, prefix / 8);
	if (prefix % 8)
		net[prefix / 8] = (uint8_t)(e.addr[prefix / 8] & (0xFFu << (8 - prefix % 8)));
	if (memcmp(net, e.addr, sizeof net) != 0) {
		char shown[INET6_ADDRSTRLEN];
		inet_ntop(e.family, net, shown, sizeof shown);
		snprintf(err, errlen, "host bits set in '%s' (the network is %s/%u)", cidr, shown,
			 prefix);
		return -1;
	}

	if (s->count >= NETSET_MAX) {
		snprintf(err, errlen, "more than %u networks", NETSET_MAX);
		return -1;
	}
	/* Grow by doubling from 8: count is capped above, so this cannot overflow. */
	if ((s->count & (s->count - 1)) == 0 && (s->count == 0 || s->count >= 8)) {
		size_t cap = s->count < 8 ? 8 : s->count * 2;
		struct netset_entry *v = realloc(s->v, cap * sizeof *v);
		if (!v) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		s->v = v;
	}
	s->v[s->count++] = e;
	return 0;
}

bool netset_contains(const struct netset *s, int family, const uint8_t *addr)
{
	/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is that IPv4 address. */
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
	bool v4_mapped = family == AF_INET6 && memcmp(addr, mapped, sizeof mapped) == 0;
	for (size_t i = 0; i < s->count; i++) {
		const struct netset_entry *e = &s->v[i];
		if (e->family == family && prefix_match(addr, e->addr, e->prefix))
			return true;
		if (v4_mapped && e->family == AF_INET && prefix_match(addr + 12, e->addr, e->prefix))
			return true;
	}
	return false;
}

void netset_free(struct netset *s)
{
	free(s->v);
	s->v = NULL;
	s->count = 0;
}

/* ---- defaults and freeing ---------------------------------------------- */

void config_default(struct postern_config *c)
{
	memset(c, 0, sizeof *c);

	static const enum rule_action actions[FINDING_KIND_COUNT] = {
		[FINDING_BLOCKED_EXTENSION] = RULE_ACTION_RESET,
		[FINDING_TYPE_MISMATCH] = RULE_ACTION_RESET,
		[FINDING_EXECUTABLE] = RULE_ACTION_ALERT,
		[FINDING_ENCRYPTED_ARCHIVE] = RULE_ACTION_ALERT,
		[FINDING_ARCHIVE_BOMB] = RULE_ACTION_RESET,
		[FINDING_ARCHIVE_DEPTH] = RULE_ACTION_ALERT,
		[FINDING_ARCHIVE_ERROR] = RULE_ACTION_ALERT,
		[FINDING_MACRO] = RULE_ACTION_ALERT,
		[FINDING_HASH_LISTED] = RULE_ACTION_RESET,
		[FINDING_VIRUS] = RULE_ACTION_RESET,
		[FINDING_TRUNCATED] = RULE_ACTION_ALERT,
	};
	memcpy(c->finding_action, actions, sizeof actions);
	c->virus_action = actions[FINDING_VIRUS];

	/* attachment_config_default (attachments/attachment.h) */
	c->attachments.max_buffer = 32 * MIB;
	c->attachments.max_archive_depth = 2;
	c->attachments.max_archive_members = 1000;
	c->attachments.max_unpacked = 256 * MIB;
	c->attachments.max_ratio = 100;
	c->attachments.max_member_size = 32 * MIB;
	c->max_attachment_memory = 512 * MIB;
	c->hold_timeout_ms = 3000;
	c->bypass_mark = 0x10000000u;
	c->bypass_mask = 0x10000000u;
	c->queue_maxlen = 4096;
	c->queue_rcvbuf = 8 * MIB;
	c->syslog_enabled = false;
	c->syslog_transport = 0;
	c->syslog_facility = 16;
	c->syslog_rate = 100;
	c->syslog_burst = 200;
	c->syslog_queue = 4096;
	c->syslog_min_action = RULE_ACTION_ALERT;

	c->rbl_action = RULE_ACTION_RESET;
	c->rbl_direction = RULE_DIR_INBOUND;
	/* rbl_config_default (rbl/rbl.h) */
	c->rbl.threshold = 1;
	c->rbl.timeout_ms = 1500;
	c->rbl.tries = 2;
	c->rbl.cache_entries = 65536;
	c->rbl.min_ttl = 60;
	c->rbl.max_ttl = 86400;
	c->rbl.max_pending = 4096;
	c->rbl.max_domains = 16;

	c->store_enabled = true;
	/* store_config_default (store/store.h); retention is postern's choice:
	 * a verdict store that never prunes fills its map. */
	c->store.path = default_store_path;
	c->store.map_size = GIB;
	c->store.retention_us = 90 * DAY_S * US_PER_S;
	c->store.queue_records = 4096;
	c->store.batch_records = 256;

	/* smtp_limits_default (smtp_parser/smtp.c) */
	c->smtp.max_line = 2048;
	c->smtp.max_pending = 128;
	c->smtp.max_rcpt = 1000;
	c->smtp.max_field = 1024;
	c->smtp.max_header_scan = 64 * 1024;
	/* mime_limits_default (smtp_parser/mime.h) */
	c->mime.max_depth = 16;
	c->mime.max_header_line = 16 * 1024;
	c->mime.max_headers = 256;
	c->mime.max_parts = 1024;
	c->mime.max_boundary = 200;

	c->max_flows = 0;
	c->max_message = 64 * MIB;
	c->smtp.max_message = c->max_message;
	c->smtp_ports[0] = 25;
	c->smtp_ports[1] = 587;
	c->smtp_port_count = 2;

	c->webmail.enabled = true;
	c->webmail.http_ports[0] = 80;
	c->webmail.http_ports[1] = 8080;
	c->webmail.http_port_count = 2;
	c->webmail.tls_ports[0] = 443;
	c->webmail.tls_port_count = 1;
	c->webmail.content_detect = true;
	c->webmail.generic_threshold = 60;
	c->webmail.unlisted_action = WEBMAIL_ACTION_ACCEPT;
	c->webmail.unknown_action = WEBMAIL_ACTION_ACCEPT;
	c->webmail.block_action = WEBMAIL_ACTION_RESET;
	c->webmail.max_body = 0;
	c->webmail.max_upload_ids = 4096;
	c->webmail.upload_ttl_us = 3600 * US_PER_S;
}

static void free_strv(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void service_entry_free(struct service_entry *e)
{
	free(e->name);
	free_strv(e->domains, e->domain_count);
	netset_free(&e->sources);
	memset(e, 0, sizeof *e);
}

static void webmail_free(struct webmail_config *w)
{
	for (size_t i = 0; i < w->signature_path_count && i < CONFIG_MAX_SIGNATURE_PATHS; i++)
		free(w->signature_paths[i]);
	free(w->block_page);
	for (size_t i = 0; i < w->service_count; i++)
		service_entry_free(&w->services[i]);
	free(w->services);
}

void config_free(struct postern_config *c)
{
	webmail_free(&c->webmail);
	free(c->path);
	netset_free(&c->internal);
	for (size_t i = 0; i < c->rule_file_count && i < CONFIG_MAX_RULE_FILES; i++)
		free(c->rule_files[i]);
	free(c->attachment_paths[0]);
	free(c->attachment_paths[1]);
	free_strv(c->blocked_ext_storage, c->attachments.blocked_extension_count);
	for (size_t i = 0; i < c->rbl.list_count; i++)
		free(c->rbl.lists[i].zone);
	free(c->rbl.lists);
	free(c->rbl.servers);
	free(c->store_path);
	free(c->syslog_target);
	memset(c, 0, sizeof *c);
}

/* ---- loading state and errors ------------------------------------------ */

struct ld {
	struct postern_config *c;
	const char *name;     /* the file, in messages */
	const char *base_dir; /* relative paths are taken from here */
	char *err;
	size_t errlen, errused;
	unsigned errors;
};

static void add_error(struct ld *l, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Append "NAME:LINE: reason" (or "NAME: reason" when line is 0) on its own line. */
static void add_error(struct ld *l, unsigned line, const char *fmt, ...)
{
	l->errors++;
	if (!l->err || l->errlen == 0 || l->errused + 1 >= l->errlen)
		return;
	char *p = l->err + l->errused;
	size_t room = l->errlen - l->errused;
	int n;
	if (l->errused > 0) {
		*p++ = '\n';
		room--;
		l->errused++;
	}
	n = line ? snprintf(p, room, "%s:%u: ", l->name, line) : snprintf(p, room, "%s: ", l->name);
	if (n > 0 && (size_t)n < room) {
		va_list ap;
		va_start(ap, fmt);
		int m = vsnprintf(p + n, room - (size_t)n, fmt, ap);
		va_end(ap);
		if (m > 0)
			n += m;
	}
	l->errused += n > 0 ? (size_t)n : 0;
	if (l->errused >= l->errlen)
		l->errused = l->errlen - 1;
}

/* "rbl.lists[1].zone": where a setting is, for messages. */
static void setting_path(const config_setting_t *s, char *out, size_t cap)
{
	const config_setting_t *chain[16];
	size_t n = 0;
	for (const config_setting_t *p = s; p && !config_setting_is_root(p) && n < 16;
	     p = config_setting_parent(p))
		chain[n++] = p;
	size_t used = 0;
	out[0] = '\0';
	while (n-- > 0 && used < cap) {
		const config_setting_t *p = chain[n];
		int w;
		if (config_setting_name(p))
			w = snprintf(out + used, cap - used, "%s%s", used ? "." : "",
				     config_setting_name(p));
		else
			w = snprintf(out + used, cap - used, "[%d]", config_setting_index(p));
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

static void setting_error(struct ld *l, const config_setting_t *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void setting_error(struct ld *l, const config_setting_t *s, const char *fmt, ...)
{
	char where[128], reason[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	setting_path(s, where, sizeof where);
	add_error(l, config_setting_source_line(s), "%s: %s", where, reason);
}

static const char *type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP: return "a group { ... }";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64: return "an integer";
	case CONFIG_TYPE_FLOAT: return "a floating-point number";
	case CONFIG_TYPE_STRING: return "a string";
	case CONFIG_TYPE_BOOL: return "a boolean";
	case CONFIG_TYPE_ARRAY: return "an array [ ... ]";
	case CONFIG_TYPE_LIST: return "a list ( ... )";
	default: return "nothing";
	}
}

static bool is_int(const config_setting_t *s)
{
	return config_setting_type(s) == CONFIG_TYPE_INT || config_setting_type(s) == CONFIG_TYPE_INT64;
}

static bool is_string(const config_setting_t *s)
{
	return config_setting_type(s) == CONFIG_TYPE_STRING;
}

/* A string or a list/array of strings; calls fn per string, false on the first
 * non-string (reported). */
static bool each_string(struct ld *l, const config_setting_t *s, size_t max, void *ctx,
			void (*fn)(struct ld *, const config_setting_t *, const char *, void *))
{
	if (is_string(s)) {
		fn(l, s, config_setting_get_string(s), ctx);
		return true;
	}
	if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST) {
		setting_error(l, s, "expected a string or a list of strings, got %s", type_name(s));
		return false;
	}
	int n = config_setting_length(s);
	if ((size_t)n > max) {
		setting_error(l, s, "more than %zu entries", max);
		return false;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		if (!is_string(e)) {
			setting_error(l, e, "expected a string, got %s", type_name(e));
			return false;
		}
		fn(l, e, config_setting_get_string(e), ctx);
	}
	return true;
}

/* ---- scalar values ------------------------------------------------------- */

static const char *const action_names[] = {[RULE_ACTION_ALERT] = "alert", [RULE_ACTION_RESET] = "reset"};
static const char *const webmail_action_names[] = {
	[WEBMAIL_ACTION_ACCEPT] = "accept", [WEBMAIL_ACTION_RESET] = "reset",
	[WEBMAIL_ACTION_REDIRECT] = "redirect"};
static const char *const direction_names[] = {
	[RULE_DIR_ANY] = "any", [RULE_DIR_INBOUND] = "inbound", [RULE_DIR_OUTBOUND] = "outbound"};

/* The leading decimal number of *p (at least one digit), advancing *p;
 * false on overflow or no digit. */
static bool parse_decimal(const char **p, uint64_t *out)
{
	uint64_t v = 0;
	if (!isdigit((unsigned char)**p))
		return false;
	while (isdigit((unsigned char)**p)) {
		unsigned d = (unsigned)(*(*p)++ - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

struct unit {
	const char *suffix;
	uint64_t mult;
};

#define SIZE_UNIT(letter, shift)                                                                   \
	{letter, UINT64_C(1) << (shift)}, {letter "b", UINT64_C(1) << (shift)},                    \
		{letter "ib", UINT64_C(1) << (shift)}

/* "64M", "64MiB", "1g", "4096": a byte count, K/M/G/T are powers of 1024; any case. */
static const struct unit size_units[] = {
	{"", 1}, {"b", 1}, SIZE_UNIT("k", 10), SIZE_UNIT("m", 20), SIZE_UNIT("g", 30), SIZE_UNIT("t", 40),
};

/* "30s", "15m", "12h", "90d", "2w", "3600": seconds; lower case only. */
static const struct unit duration_units[] = {
	{"", 1}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", DAY_S}, {"w", 7 * DAY_S},
};

/* A decimal number and one of the units' suffixes; false on anything else or
 * overflow. */
static bool parse_scaled(const char *str, const struct unit *units, size_t n, bool any_case,
			 uint64_t *out)
{
	const char *p = str;
	uint64_t v;
	if (!parse_decimal(&p, &v))
		return false;
	for (size_t i = 0; i < n; i++) {
		if ((any_case ? strcasecmp(p, units[i].suffix) : strcmp(p, units[i].suffix)) != 0)
			continue;
		if (v > UINT64_MAX / units[i].mult)
			return false;
		*out = v * units[i].mult;
		return true;
	}
	return false;
}

static bool parse_size(const char *str, uint64_t *out)
{
	return parse_scaled(str, size_units, sizeof size_units / sizeof size_units[0], true, out);
}

static bool parse_duration(const char *str, uint64_t *out)
{
	return parse_scaled(str, duration_units, sizeof duration_units / sizeof duration_units[0],
			    false, out);
}

/* ---- key tables ---------------------------------------------------------- */

enum vkind {
	V_BOOL,      /* true / false */
	V_UINT,      /* integer in [min, max] */
	V_SIZE,      /* integer or "64M" in [min, max] bytes */
	V_DURATION,  /* integer seconds or "90d"; stored times scale, in [min, max] stored units */
	V_ACTION,    /* "alert" / "reset" */
	V_WACTION,   /* "accept" / "reset" / "redirect" (enum webmail_action) */
	V_GROUP,     /* { ... } with its own table */
	V_CUSTOM,
};

struct key {
	const char *name;
	enum vkind kind;
	size_t off;      /* into the base the table is walked with */
	uint8_t width;   /* bytes of the integer stored */
	uint64_t min, max;
	uint64_t scale;  /* V_DURATION: stored units per second */
	void (*custom)(struct ld *l, const config_setting_t *s, void *base);
	const struct key *sub; /* V_GROUP */
};

#define PC(member) offsetof(struct postern_config, member)
#define W(member) ((uint8_t)sizeof(((struct postern_config *)0)->member))
#define UINTK(n, m, lo, hi) {n, V_UINT, PC(m), W(m), lo, hi, 0, NULL, NULL}
#define SIZEK(n, m, lo, hi) {n, V_SIZE, PC(m), W(m), lo, hi, 0, NULL, NULL}
#define DURK(n, m, lo, hi, sc) {n, V_DURATION, PC(m), W(m), lo, hi, sc, NULL, NULL}
#define BOOLK(n, m) {n, V_BOOL, PC(m), W(m), 0, 1, 0, NULL, NULL}
#define ACTK(n, m) {n, V_ACTION, PC(m), W(m), 0, 0, 0, NULL, NULL}
#define WACTK(n, m) {n, V_WACTION, PC(m), W(m), 0, 0, 0, NULL, NULL}
#define CUSTK(n, fn) {n, V_CUSTOM, 0, 0, 0, 0, 0, fn, NULL}
#define GROUPK(n, t) {n, V_GROUP, 0, 0, 0, 0, 0, NULL, t}

_Static_assert(sizeof(int) == 4, "int settings are stored as 32-bit values");
_Static_assert(sizeof(enum rule_action) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(bool) == 1, "bools are stored as one byte");
_Static_assert(sizeof(enum webmail_action) == sizeof(int), "enums are stored as int");

static void k_internal(struct ld *l, const config_setting_t *s, void *base);
static void k_rules(struct ld *l, const config_setting_t *s, void *base);
static void k_smtp_ports(struct ld *l, const config_setting_t *s, void *base);
static void k_extensions(struct ld *l, const config_setting_t *s, void *base);
static void k_hash_list(struct ld *l, const config_setting_t *s, void *base);
static void k_clamav(struct ld *l, const config_setting_t *s, void *base);
static void k_servers(struct ld *l, const config_setting_t *s, void *base);
static void k_direction(struct ld *l, const config_setting_t *s, void *base);
static void k_syslog_transport(struct ld *l, const config_setting_t *s, void *base);
static void k_syslog_target(struct ld *l, const config_setting_t *s, void *base);
static void k_lists(struct ld *l, const config_setting_t *s, void *base);
static void k_store_path(struct ld *l, const config_setting_t *s, void *base);
static void k_zone(struct ld *l, const config_setting_t *s, void *base);
static void k_list_type(struct ld *l, const config_setting_t *s, void *base);
static void k_signatures(struct ld *l, const config_setting_t *s, void *base);
static void k_http_ports(struct ld *l, const config_setting_t *s, void *base);
static void k_tls_ports(struct ld *l, const config_setting_t *s, void *base);
static void k_block_page(struct ld *l, const config_setting_t *s, void *base);
static void k_services(struct ld *l, const config_setting_t *s, void *base);
static void k_svc_name(struct ld *l, const config_setting_t *s, void *base);
static void k_svc_domains(struct ld *l, const config_setting_t *s, void *base);
static void k_svc_list(struct ld *l, const config_setting_t *s, void *base);
static void k_svc_sources(struct ld *l, const config_setting_t *s, void *base);
static void k_svc_from(struct ld *l, const config_setting_t *s, void *base);
static void k_svc_until(struct ld *l, const config_setting_t *s, void *base);
static void k_svc_action(struct ld *l, const config_setting_t *s, void *base);

/* The same names as attachment_finding_name (not linked here). */
static const struct key action_keys[] = {
	ACTK("blocked_extension", finding_action[FINDING_BLOCKED_EXTENSION]),
	ACTK("type_mismatch", finding_action[FINDING_TYPE_MISMATCH]),
	ACTK("executable", finding_action[FINDING_EXECUTABLE]),
	ACTK("encrypted_archive", finding_action[FINDING_ENCRYPTED_ARCHIVE]),
	ACTK("archive_bomb", finding_action[FINDING_ARCHIVE_BOMB]),
	ACTK("archive_depth", finding_action[FINDING_ARCHIVE_DEPTH]),
	ACTK("archive_error", finding_action[FINDING_ARCHIVE_ERROR]),
	ACTK("macro", finding_action[FINDING_MACRO]),
	ACTK("hash_listed", finding_action[FINDING_HASH_LISTED]),
	ACTK("virus", finding_action[FINDING_VIRUS]),
	ACTK("truncated", finding_action[FINDING_TRUNCATED]),
	{NULL, V_BOOL, 0, 0, 0, 0, 0, NULL, NULL},
};
_Static_assert(sizeof action_keys / sizeof action_keys[0] == FINDING_KIND_COUNT + 1,
	       "one action per finding kind");

static const struct key attachment_keys[] = {
	CUSTK("blocked_extensions", k_extensions),
	CUSTK("hash_list", k_hash_list),
	CUSTK("clamav_db_dir", k_clamav),
	SIZEK("max_buffer", attachments.max_buffer, KIB, 4 * GIB),
	UINTK("max_archive_depth", attachments.max_archive_depth, 0, 16),
	UINTK("max_archive_members", attachments.max_archive_members, 1, 1000000),
	SIZEK("max_unpacked", attachments.max_unpacked, KIB, TIB),
	UINTK("max_ratio", attachments.max_ratio, 1, 1000000),
	SIZEK("max_member_size", attachments.max_member_size, KIB, 4 * GIB),
	SIZEK("max_total_buffer", max_attachment_memory, MIB, TIB),
	{NULL, V_BOOL, 0, 0, 0, 0, 0, NULL, NULL},
};

static const struct key rbl_keys[] = {
	BOOLK("enabled", rbl_enabled),
	ACTK("action", rbl_action),
	CUSTK("direction", k_direction),
	UINTK("threshold", rbl.threshold, 1, 1000000),
	CUSTK("servers", k_servers),
	UINTK("timeout_ms", rbl.timeout_ms, 1, 600000),
	UINTK("tries", rbl.tries, 1, 10),
	UINTK("cache_entries", rbl.cache_entries, 1, 1u << 24),
	DURK("min_ttl", rbl.min_ttl, 0, 365 * DAY_S, 1),
	DURK("max_ttl", rbl.max_ttl, 1, 365 * DAY_S, 1),
	UINTK("max_pending", rbl.max_pending, 1, 1u << 20),
	UINTK("max_domains", rbl.max_domains, 0, 1024),
	CUSTK("lists", k_lists),
	{NULL, V_BOOL, 0, 0, 0, 0, 0, NULL, NULL},
};

/* Walked with a struct rbl_list as base. */
static const struct key rbl_list_keys[] = {
	CUSTK("zone", k_zone),
	CUSTK("type", k_list_type),
	{"weight", V_UINT, offsetof(struct rbl_list, weight), sizeof(int), 0, 1000, 0, NULL, NULL},
	{NULL, V_BOOL, 0, 0, 0, 0, 0, NULL, NULL},
};

static const struct key store_keys[] = {
	BOOLK("enabled", store_enabled),
	CUSTK("path", k_store_path),
	SIZEK("map_size", store.map_size, MIB, 64 * TIB),
	DURK("retention", store.retention_us, 0, 100 * 366 * DAY_S * US_PER_S, US_PER_S),
	UINTK("queue_records", store.queue_records, 1, 1u << 20),
	UINTK("batch_records", store.batch_records, 1, 1u << 20),
	{NULL, V_BOOL, 0, 0, 0, 0, 0, NULL, NULL},
};

static const struct key limit_keys[] = {
	UINTK("max_flows", max_flows, 0, FLOW_MAX_FLOWS),
	SIZEK("max_message", max_message, 0, TIB),
	SIZEK("smtp_max_line", smtp.max_line, 16, MIB),
	UINTK("smtp_max_pending", smtp.max_pending, 1, 65536),
	UINTK("smtp_max_rcpt", smtp.max_rcpt, 1, 1000000),
	SIZEK("smtp_max_field", smtp.max_field, 16, MIB),
	SIZEK("smtp_max_header_scan", smtp.max_header_scan, 0, 16 * MIB),
	UINTK("mime_max_depth", mime.max_depth, 1, 256),
	SIZEK("mime_max_header_line", mime.max_header_line, 78, MIB),
	UINTK("mime_max_headers", mime.max_headers, 1, 65536),
	UINTK("mime_max_parts", mime.max_parts, 1, 1000000),
	UINTK("mime_max_boundary", mime.max_boundary, 70, 998),
	{NULL, V_BOOL, 0, 0, 0, 0, 0, NULL, NULL},
};

static const struct key inline_keys[] = {
	UINTK("hold_timeout_ms", hold_timeout_ms, 1, 600000),
	UINTK("bypass_mark", bypass_mark, 1, UINT32_MAX),
	UINTK("bypass_mask", bypass_mask, 1, UINT32_MAX),
	UINTK("queue_maxlen", queue_maxlen, 1, 1u << 20),
	SIZEK("queue_rcvbuf", queue_rcvbuf, 64 * KIB, GIB),
	{NULL, V_BOOL, 0, 0, 0, 0, 0, NULL, NULL},
};

static const struct key alert_keys[] = {
	BOOLK("enabled", syslog_enabled),
	CUSTK("transport", k_syslog_transport),
	CUSTK("target", k_syslog_target),
	UINTK("facility", syslog_facility, 0, 23),
	UINTK("rate_per_sec", syslog_rate, 0, 1000000),
	UINTK("burst", syslog_burst, 1, 1000000),
	UINTK("queue", syslog_queue, 1, 1u << 20),
	ACTK("min_action", syslog_min_action),
	{NULL, V_BOOL, 0, 0, 0, 0, 0, NULL, NULL},
};

static const struct key webmail_keys[] = {
	BOOLK("enabled", webmail.enabled),
	CUSTK("signatures", k_signatures),
	CUSTK("http_ports", k_http_ports),
	CUSTK("tls_ports", k_tls_ports),
	BOOLK("content_detect", webmail.content_detect),
	UINTK("generic_threshold", webmail.generic_threshold, 0, 100),
	WACTK("unlisted_action", webmail.unlisted_action),
	WACTK("unknown_action", webmail.unknown_action),
	WACTK("block_action", webmail.block_action),
	CUSTK("block_page", k_block_page),
	SIZEK("max_body", webmail.max_body, 0, TIB),
	UINTK("max_upload_ids", webmail.max_upload_ids, 1, 1u << 20),
	DURK("upload_ttl", webmail.upload_ttl_us, 1, 7 * DAY_S * US_PER_S, US_PER_S),
	CUSTK("services", k_services),
	{NULL, V_BOOL, 0, 0, 0, 0, 0, NULL, NULL},
};

/* Walked with a struct service_entry as base. */
static const struct key service_keys[] = {
	CUSTK("name", k_svc_name),
	CUSTK("domains", k_svc_domains),
	CUSTK("list", k_svc_list),
	CUSTK("sources", k_svc_sources),
	CUSTK("from", k_svc_from),
	CUSTK("until", k_svc_until),
	CUSTK("action", k_svc_action),
	{NULL, V_BOOL, 0, 0, 0, 0, 0, NULL, NULL},
};

static const struct key top_keys[] = {
	CUSTK("internal_networks", k_internal),
	CUSTK("rules", k_rules),
	GROUPK("actions", action_keys),
	GROUPK("attachments", attachment_keys),
	GROUPK("rbl", rbl_keys),
	GROUPK("store", store_keys),
	GROUPK("limits", limit_keys),
	GROUPK("inline", inline_keys),
	GROUPK("alerts", alert_keys),
	GROUPK("webmail", webmail_keys),
	CUSTK("smtp_ports", k_smtp_ports),
	BOOLK("fail_closed", fail_closed),
	{NULL, V_BOOL, 0, 0, 0, 0, 0, NULL, NULL},
};

/* Every table with the name of the group it describes, for "belongs in". */
static const struct {
	const char *group;
	const struct key *keys;
} all_tables[] = {
	{"the top level", top_keys}, {"actions", action_keys}, {"attachments", attachment_keys},
	{"rbl", rbl_keys},           {"rbl.lists entries", rbl_list_keys},
	{"store", store_keys},       {"limits", limit_keys},
	{"webmail", webmail_keys},   {"webmail.services entries", service_keys},
};

/* ---- unknown keys ---------------------------------------------------------- */

static unsigned edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 63 || lb > 63)
		return UINT_MAX;
	unsigned row[64];
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0];
		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned up = row[j];
			unsigned cost = a[i - 1] == b[j - 1] ? 0 : 1;
			unsigned best = diag + cost;
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static void unknown_key(struct ld *l, const config_setting_t *s, const struct key *table)
{
	const char *name = config_setting_name(s);
	const char *best = NULL;
	unsigned best_d = UINT_MAX;
	for (const struct key *k = table; k->name; k++) {
		unsigned d = edit_distance(name, k->name);
		if (d < best_d) {
			best_d = d;
			best = k->name;
		}
	}
	/* A close spelling first; otherwise the group that has this key. */
	if (best && best_d <= 2 && best_d < strlen(name)) {
		setting_error(l, s, "unknown setting '%s' (did you mean '%s'?)", name, best);
		return;
	}
	for (size_t t = 0; t < sizeof all_tables / sizeof all_tables[0]; t++) {
		if (all_tables[t].keys == table)
			continue;
		for (const struct key *k = all_tables[t].keys; k->name; k++) {
			if (strcmp(k->name, name) == 0) {
				setting_error(l, s, "unknown setting '%s' here (it belongs in %s)", name,
					      all_tables[t].group);
				return;
			}
		}
	}
	setting_error(l, s, "unknown setting '%s'", name);
}

/* ---- walking a group --------------------------------------------------------- */

static void store_uint(void *p, unsigned width, uint64_t v)
{
	switch (width) {
	case 1: { uint8_t x = (uint8_t)v; memcpy(p, &x, 1); break; }
	case 2: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
	case 4: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
	default: memcpy(p, &v, 8); break;
	}
}

static bool get_name(struct ld *l, const config_setting_t *s, const char *const *names,
		     size_t n, int *out)
{
	if (!is_string(s)) {
		setting_error(l, s, "expected a string, got %s", type_name(s));
		return false;
	}
	const char *v = config_setting_get_string(s);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v, names[i]) == 0) {
			*out = (int)i;
			return true;
		}
	}
	char choices[128];
	size_t used = 0;
	for (size_t i = 0; i < n && used < sizeof choices; i++) {
		int w = snprintf(choices + used, sizeof choices - used, "%s'%s'",
				 i == 0 ? "" : i + 1 == n ? " or " : ", ", names[i]);
		if (w > 0)
			used += (size_t)w;
	}
	setting_error(l, s, "'%s' is not %s", v, choices);
	return false;
}

static void walk_group(struct ld *l, const config_setting_t *g, const struct key *table, void *base);

static void apply_key(struct ld *l, const config_setting_t *s, const struct key *k, void *base)
{
	void *p = (char *)base + k->off;
	uint64_t v = 0;

	switch (k->kind) {
	case V_BOOL:
		if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
			setting_error(l, s, "expected true or false, got %s", type_name(s));
			return;
		}
		*(bool *)p = config_setting_get_bool(s) != 0;
		return;
	case V_ACTION: {
		int a;
		if (get_name(l, s, action_names, sizeof action_names / sizeof action_names[0], &a))
			*(enum rule_action *)p = (enum rule_action)a;
		return;
	}
	case V_WACTION: {
		int a;
		if (get_name(l, s, webmail_action_names,
			     sizeof webmail_action_names / sizeof webmail_action_names[0], &a))
			*(enum webmail_action *)p = (enum webmail_action)a;
		return;
	}
	case V_CUSTOM:
		k->custom(l, s, base);
		return;
	case V_GROUP:
		if (!config_setting_is_group(s)) {
			setting_error(l, s, "expected a group { ... }, got %s", type_name(s));
			return;
		}
		walk_group(l, s, k->sub, base);
		return;
	case V_UINT:
	case V_SIZE:
	case V_DURATION:
		break;
	}

	if (is_int(s)) {
		long long x = config_setting_get_int64(s);
		if (x < 0) {
			setting_error(l, s, "must not be negative");
			return;
		}
		v = (uint64_t)x;
		if (k->kind == V_DURATION) {
			if (v > UINT64_MAX / k->scale) {
				setting_error(l, s, "%lld seconds is too long", x);
				return;
			}
			v *= k->scale;
		}
	} else if (is_string(s) && k->kind == V_SIZE) {
		const char *str = config_setting_get_string(s);
		if (!parse_size(str, &v)) {
			setting_error(l, s, "'%s' is not a size (a number with an optional K, M, G or T suffix; too large?)",
				      str);
			return;
		}
	} else if (is_string(s) && k->kind == V_DURATION) {
		const char *str = config_setting_get_string(s);
		uint64_t secs;
		if (!parse_duration(str, &secs) || secs > UINT64_MAX / k->scale) {
			setting_error(l, s, "'%s' is not a duration (a number of seconds with an optional s, m, h, d or w suffix; too large?)",
				      str);
			return;
		}
		v = secs * k->scale;
	} else {
		setting_error(l, s, "expected %s, got %s",
			      k->kind == V_SIZE ? "a size (integer or string like \"64M\")"
			      : k->kind == V_DURATION ? "a duration (seconds or a string like \"90d\")"
						      : "an integer",
			      type_name(s));
		return;
	}
	if (v < k->min || v > k->max) {
		if (k->kind == V_DURATION)
			setting_error(l, s, "must be between %llu and %llu seconds",
				      (unsigned long long)(k->min / k->scale),
				      (unsigned long long)(k->max / k->scale));
		else
			setting_error(l, s, "must be between %llu and %llu",
				      (unsigned long long)k->min, (unsigned long long)k->max);
		return;
	}
	store_uint(p, k->width, v);
}

static void walk_group(struct ld *l, const config_setting_t *g, const struct key *table, void *base)
{
	int n = config_setting_length(g);
	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const struct key *k = table;
		while (k->name && strcmp(k->name, config_setting_name(s)) != 0)
			k++;
		if (!k->name)
			unknown_key(l, s, table);
		else
			apply_key(l, s, k, base);
	}
}

/* ---- custom keys --------------------------------------------------------------- */

static char *resolve_path(struct ld *l, const config_setting_t *s)
{
	if (!is_string(s)) {
		setting_error(l, s, "expected a path string, got %s", type_name(s));
		return NULL;
	}
	const char *v = config_setting_get_string(s);
	if (!*v) {
		setting_error(l, s, "empty path (leave the setting out instead)");
		return NULL;
	}
	char *out;
	if (v[0] == '/' || !l->base_dir || !*l->base_dir)
		out = strdup(v);
	else if (asprintf(&out, "%s/%s", l->base_dir, v) < 0)
		out = NULL;
	if (!out)
		setting_error(l, s, "out of memory");
	return out;
}

static void set_owned(char **slot, char *v)
{
	if (v) {
		free(*slot);
		*slot = v;
	}
}

static void k_hash_list(struct ld *l, const config_setting_t *s, void *base)
{
	set_owned(&l->c->attachment_paths[0], resolve_path(l, s));
}

static void k_clamav(struct ld *l, const config_setting_t *s, void *base)
{
	set_owned(&l->c->attachment_paths[1], resolve_path(l, s));
}

static void k_store_path(struct ld *l, const config_setting_t *s, void *base)
{
	set_owned(&l->c->store_path, resolve_path(l, s));
}

static void add_network(struct ld *l, const config_setting_t *s, const char *v, void *ctx)
{
	struct netset *ns = &l->c->internal;
	char why[160];
	if (ns->count >= CONFIG_MAX_NETWORKS) {
		setting_error(l, s, "more than %u networks", CONFIG_MAX_NETWORKS);
		return;
	}
	if (netset_add(ns, v, why, sizeof why) != 0) {
		setting_error(l, s, "%s", why);
		return;
	}
	const struct netset_entry *e = &ns->v[ns->count - 1];
	for (size_t i = 0; i + 1 < ns->count; i++) {
		if (ns->v[i].family == e->family && ns->v[i].prefix == e->prefix &&
		    memcmp(ns->v[i].addr, e->addr, sizeof e->addr) == 0) {
			setting_error(l, s, "'%s' is listed twice", v);
			ns->count--;
			return;
		}
	}
}

static void k_internal(struct ld *l, const config_setting_t *s, void *base)
{
	each_string(l, s, CONFIG_MAX_NETWORKS, NULL, add_network);
}

static void add_rule_file(struct ld *l, const config_setting_t *s, const char *v, void *ctx)
{
	struct postern_config *c = l->c;
	char *path = resolve_path(l, s);
	if (path)
		c->rule_files[c->rule_file_count++] = path;
}

static void k_rules(struct ld *l, const config_setting_t *s, void *base)
{
	each_string(l, s, CONFIG_MAX_RULE_FILES, NULL, add_rule_file);
}

/* A port or a list of 1 to max distinct ports into out; false (reported) on
 * anything else, out untouched. */
static bool get_ports(struct ld *l, const config_setting_t *s, uint16_t *out, size_t max,
		      unsigned *count, const char *empty_hint)
{
	const config_setting_t *one = is_int(s) ? s : NULL;
	int n = one ? 1 : -1;
	if (!one) {
		if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST) {
			setting_error(l, s, "expected a port or a list of ports, got %s", type_name(s));
			return false;
		}
		n = config_setting_length(s);
		if (n == 0) {
			setting_error(l, s, "empty list (%s)", empty_hint);
			return false;
		}
		if ((size_t)n > max) {
			setting_error(l, s, "more than %zu ports", max);
			return false;
		}
	}
	uint16_t ports[16];
	_Static_assert(sizeof ports / sizeof ports[0] >= sizeof(((struct postern_config *)0)->smtp_ports) /
							     sizeof(uint16_t),
		       "room for every port list");
	if ((size_t)n > sizeof ports / sizeof ports[0])
		return false;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = one ? one : config_setting_get_elem(s, (unsigned)i);
		if (!is_int(e)) {
			setting_error(l, e, "expected a port number, got %s", type_name(e));
			return false;
		}
		long long p = config_setting_get_int64(e);
		if (p < 1 || p > 65535) {
			setting_error(l, e, "port %lld is not between 1 and 65535", p);
			return false;
		}
		for (int j = 0; j < i; j++) {
			if (ports[j] == p) {
				setting_error(l, e, "port %lld is listed twice", p);
				return false;
			}
		}
		ports[i] = (uint16_t)p;
	}
	memcpy(out, ports, (size_t)n * sizeof ports[0]);
	*count = (unsigned)n;
	return true;
}

static void k_smtp_ports(struct ld *l, const config_setting_t *s, void *base)
{
	struct postern_config *c = l->c;
	get_ports(l, s, c->smtp_ports, sizeof c->smtp_ports / sizeof c->smtp_ports[0],
		  &c->smtp_port_count, "leave the setting out for 25 and 587");
}

static void add_extension(struct ld *l, const config_setting_t *s, const char *v, void *ctx)
{
	struct postern_config *c = l->c;
	const char *p = v[0] == '.' ? v + 1 : v; /* ".exe" and "exe" alike */
	size_t n = strlen(p);
	if (n == 0 || n > EXTENSION_MAX_LEN) {
		setting_error(l, s, "'%s' is not an extension (1 to %u characters)", v, EXTENSION_MAX_LEN);
		return;
	}
	char *ext = malloc(n + 1);
	if (!ext) {
		setting_error(l, s, "out of memory");
		return;
	}
	for (size_t i = 0; i <= n; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch && (ch <= ' ' || ch == '/' || ch == '\\' || ch == '.' || ch >= 0x7F)) {
			setting_error(l, s, "'%s' is not an extension (no dots, slashes, spaces or non-ASCII)", v);
			free(ext);
			return;
		}
		ext[i] = (char)tolower(ch);
	}
	size_t *count = &c->attachments.blocked_extension_count;
	for (size_t i = 0; i < *count; i++) {
		if (strcmp(c->blocked_ext_storage[i], ext) == 0) {
			setting_error(l, s, "'%s' is listed twice", v);
			free(ext);
			return;
		}
	}
	c->blocked_ext_storage[(*count)++] = ext;
}

static void k_extensions(struct ld *l, const config_setting_t *s, void *base)
{
	struct postern_config *c = l->c;
	if (c->blocked_ext_storage) {
		/* libconfig refuses duplicate names, so this is never reached twice. */
		return;
	}
	/* Allocated even for [] : an empty list (block nothing) is not NULL (the
	 * default list). */
	c->blocked_ext_storage = calloc(CONFIG_MAX_EXTENSIONS, sizeof(char *));
	if (!c->blocked_ext_storage) {
		setting_error(l, s, "out of memory");
		return;
	}
	each_string(l, s, CONFIG_MAX_EXTENSIONS, NULL, add_extension);
}

static void k_servers(struct ld *l, const config_setting_t *s, void *base)
{
	if (!is_string(s)) {
		setting_error(l, s, "expected a string like \"127.0.0.1:53,[::1]:53\", got %s", type_name(s));
		return;
	}
	const char *v = config_setting_get_string(s);
	size_t n = strlen(v);
	/* c-ares checks the syntax when the resolver starts; catch the obvious here. */
	if (n == 0 || strspn(v, "0123456789abcdefABCDEF.:[],%") != n) {
		setting_error(l, s, "'%s' is not a server list (addresses with optional :port, "
			      "IPv6 in brackets, separated by commas)", v);
		return;
	}
	char *copy = strdup(v);
	if (!copy)
		setting_error(l, s, "out of memory");
	set_owned(&l->c->rbl.servers, copy);
}

static const char *const transport_names[] = {"local", "udp", "tcp"};

static void k_syslog_transport(struct ld *l, const config_setting_t *s, void *base)
{
	int t;
	if (get_name(l, s, transport_names, sizeof transport_names / sizeof transport_names[0], &t))
		l->c->syslog_transport = t;
}

static void k_syslog_target(struct ld *l, const config_setting_t *s, void *base)
{
	if (!is_string(s) || !config_setting_get_string(s)[0]) {
		setting_error(l, s, "expected a socket path or \"host:port\", got %s",
			      is_string(s) ? "an empty string" : type_name(s));
		return;
	}
	char *copy = strdup(config_setting_get_string(s));
	if (!copy)
		setting_error(l, s, "out of memory");
	set_owned(&l->c->syslog_target, copy);
}

static void k_direction(struct ld *l, const config_setting_t *s, void *base)
{
	int d;
	if (get_name(l, s, direction_names, sizeof direction_names / sizeof direction_names[0], &d))
		l->c->rbl_direction = (enum rule_direction)d;
}

static void k_zone(struct ld *l, const config_setting_t *s, void *base)
{
	struct rbl_list *rl = base;
	if (!is_string(s)) {
		setting_error(l, s, "expected a DNS zone string, got %s", type_name(s));
		return;
	}
	const char *v = config_setting_get_string(s);
	size_t n = strlen(v);
	if (n > 0 && v[n - 1] == '.')
		n--; /* "zen.example." is the same zone */
	if (n == 0) {
		setting_error(l, s, "empty zone");
		return;
	}
	if (n > RBL_ZONE_MAX) {
		setting_error(l, s, "zone longer than %zu characters", (size_t)RBL_ZONE_MAX);
		return;
	}
	char *z = malloc(n + 1);
	if (!z) {
		setting_error(l, s, "out of memory");
		return;
	}
	size_t label = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];
		bool ok = isalnum(ch) || ch == '-' || ch == '_' || ch == '.';
		if (ch == '.') {
			ok = label > 0;
			label = 0;
		} else if (++label > 63) {
			ok = false;
		}
		if (!ok || (ch >= 0x80)) {
			setting_error(l, s, "'%s' is not a DNS zone (letters, digits, '-', '_', labels of 1 to 63)", v);
			free(z);
			return;
		}
		z[i] = (char)tolower(ch);
	}
	z[n] = '\0';
	free(rl->zone);
	rl->zone = z;
}

static void k_list_type(struct ld *l, const config_setting_t *s, void *base)
{
	static const char *const kinds[] = {[RBL_KIND_IP] = "ip", [RBL_KIND_DOMAIN] = "domain"};
	int k;
	if (get_name(l, s, kinds, 2, &k))
		((struct rbl_list *)base)->kind = (enum rbl_kind)k;
}

static void k_lists(struct ld *l, const config_setting_t *s, void *base)
{
	struct rbl_config *r = &l->c->rbl;
	if (config_setting_type(s) != CONFIG_TYPE_LIST) {
		setting_error(l, s, "expected a list ( { zone = ...; }, ... ), got %s", type_name(s));
		return;
	}
	int n = config_setting_length(s);
	if (n > (int)CONFIG_MAX_RBL_LISTS) {
		setting_error(l, s, "more than %u lists", (unsigned)CONFIG_MAX_RBL_LISTS);
		return;
	}
	if (n == 0)
		return;
	r->lists = calloc((size_t)n, sizeof *r->lists);
	if (!r->lists) {
		setting_error(l, s, "out of memory");
		return;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		if (!config_setting_is_group(e)) {
			setting_error(l, e, "expected a group { zone = ...; }, got %s", type_name(e));
			continue;
		}
		struct rbl_list tmp = {.zone = NULL, .kind = RBL_KIND_IP, .weight = 1};
		walk_group(l, e, rbl_list_keys, &tmp);
		if (!tmp.zone) {
			if (!config_setting_get_member(e, "zone"))
				setting_error(l, e, "zone is missing");
			continue;
		}
		bool dup = false;
		for (size_t j = 0; j < r->list_count; j++)
			dup = dup || strcmp(r->lists[j].zone, tmp.zone) == 0;
		if (dup) {
			setting_error(l, config_setting_get_member(e, "zone"), "zone '%s' is listed twice",
				      tmp.zone);
			free(tmp.zone);
			continue;
		}
		r->lists[r->list_count++] = tmp;
	}
}

/* ---- webmail ------------------------------------------------------------------ */

static void add_signature_path(struct ld *l, const config_setting_t *s, const char *v, void *ctx)
{
	struct webmail_config *w = &l->c->webmail;
	char *path = resolve_path(l, s);
	if (path && w->signature_path_count < CONFIG_MAX_SIGNATURE_PATHS)
		w->signature_paths[w->signature_path_count++] = path;
	else
		free(path);
}

static void k_signatures(struct ld *l, const config_setting_t *s, void *base)
{
	each_string(l, s, CONFIG_MAX_SIGNATURE_PATHS, NULL, add_signature_path);
}

static void k_http_ports(struct ld *l, const config_setting_t *s, void *base)
{
	struct webmail_config *w = &l->c->webmail;
	get_ports(l, s, w->http_ports, sizeof w->http_ports / sizeof w->http_ports[0],
		  &w->http_port_count, "leave the setting out for 80 and 8080");
}

static void k_tls_ports(struct ld *l, const config_setting_t *s, void *base)
{
	struct webmail_config *w = &l->c->webmail;
	get_ports(l, s, w->tls_ports, sizeof w->tls_ports / sizeof w->tls_ports[0],
		  &w->tls_port_count, "leave the setting out for 443");
}

/* The block page goes verbatim into a Location header: an absolute http(s)
 * URL of printable ASCII (no CR/LF to split the response with), with a valid
 * host. */
static void k_block_page(struct ld *l, const config_setting_t *s, void *base)
{
	if (!is_string(s)) {
		setting_error(l, s, "expected a URL string, got %s", type_name(s));
		return;
	}
	const char *v = config_setting_get_string(s);
	size_t n = strlen(v);
	if (n > BLOCK_PAGE_MAX) {
		setting_error(l, s, "URL longer than %u bytes", BLOCK_PAGE_MAX);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];
		if (ch <= ' ' || ch >= 0x7F) {
			/* Not echoed: it may hold the very CR/LF refused here. */
			setting_error(l, s, "control character, space or non-ASCII byte at %zu "
				      "(percent-encode it)", i);
			return;
		}
	}
	size_t scheme = strncasecmp(v, "http://", 7) == 0 ? 7 : strncasecmp(v, "https://", 8) == 0 ? 8 : 0;
	if (!scheme) {
		setting_error(l, s, "'%s' is not an absolute http:// or https:// URL", v);
		return;
	}
	char host[300];
	size_t hn = strcspn(v + scheme, "/?#");
	if (hn == 0 || hn >= sizeof host) {
		setting_error(l, s, "'%s': no host or a host too long", v);
		return;
	}
	memcpy(host, v + scheme, hn);
	host[hn] = '\0';
	char norm[256];
	if (strchr(host, '@') || host_normalize(host, norm, sizeof norm) < 0) {
		setting_error(l, s, "'%s': '%s' is not a host name, address or host:port", v, host);
		return;
	}
	char *copy = strdup(v);
	if (!copy)
		setting_error(l, s, "out of memory");
	set_owned(&l->c->webmail.block_page, copy);
}

static void k_svc_name(struct ld *l, const config_setting_t *s, void *base)
{
	struct service_entry *e = base;
	if (!is_string(s)) {
		setting_error(l, s, "expected a string, got %s", type_name(s));
		return;
	}
	const char *v = config_setting_get_string(s);
	size_t n = strlen(v);
	if (n == 0 || n > SERVICE_NAME_MAX) {
		setting_error(l, s, "a name has 1 to %u bytes", SERVICE_NAME_MAX);
		return;
	}
	/* It goes into logs and events as is. */
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];
		if (ch < ' ' || ch == 0x7F || ch == '"' || ch == '\\') {
			setting_error(l, s, "control characters, quotes and backslashes are not allowed in a name");
			return;
		}
	}
	char *copy = strdup(v);
	if (!copy)
		setting_error(l, s, "out of memory");
	set_owned(&e->name, copy);
}

static void add_service_domain(struct ld *l, const config_setting_t *s, const char *v, void *ctx)
{
	struct service_entry *e = ctx;
	bool suffix = v[0] == '.';
	char norm[256];
	if (host_normalize(v + suffix, norm, sizeof norm) < 0) {
		setting_error(l, s, "'%s' is not a valid host name", v);
		return;
	}
	unsigned char addr[16];
	if (suffix && (inet_pton(AF_INET, norm, addr) == 1 || inet_pton(AF_INET6, norm, addr) == 1)) {
		setting_error(l, s, "'%s': a leading '.' (the domain and its subdomains) needs a "
			      "domain, not an address", v);
		return;
	}
	for (size_t i = 0; i < e->domain_count; i++) {
		const char *d = e->domains[i];
		if ((d[0] == '.') == suffix && strcmp(d + suffix, norm) == 0) {
			setting_error(l, s, "'%s' is listed twice", v);
			return;
		}
	}
	char *stored = malloc(strlen(norm) + 2);
	if (!stored) {
		setting_error(l, s, "out of memory");
		return;
	}
	stored[0] = '.';
	strcpy(stored + suffix, norm);
	e->domains[e->domain_count++] = stored;
}

static void k_svc_domains(struct ld *l, const config_setting_t *s, void *base)
{
	struct service_entry *e = base;
	bool list = config_setting_type(s) == CONFIG_TYPE_ARRAY || config_setting_type(s) == CONFIG_TYPE_LIST;
	if (!is_string(s) && !list) {
		setting_error(l, s, "expected a string or a list of strings, got %s", type_name(s));
		return;
	}
	int n = list ? config_setting_length(s) : 1;
	if (n == 0) {
		setting_error(l, s, "empty list");
		return;
	}
	if ((size_t)n > CONFIG_MAX_SERVICE_DOMAINS) {
		setting_error(l, s, "more than %u domains", CONFIG_MAX_SERVICE_DOMAINS);
		return;
	}
	if (e->domains)
		return; /* libconfig refuses a name twice in a group */
	e->domains = calloc((size_t)n, sizeof *e->domains);
	if (!e->domains) {
		setting_error(l, s, "out of memory");
		return;
	}
	each_string(l, s, CONFIG_MAX_SERVICE_DOMAINS, e, add_service_domain);
}

static void k_svc_list(struct ld *l, const config_setting_t *s, void *base)
{
	static const char *const names[] = {[SERVICE_ALLOW] = "allow", [SERVICE_DENY] = "deny"};
	int v;
	if (get_name(l, s, names, 2, &v))
		((struct service_entry *)base)->list = (enum service_list)v;
}

static void add_service_source(struct ld *l, const config_setting_t *s, const char *v, void *ctx)
{
	struct netset *ns = &((struct service_entry *)ctx)->sources;
	char why[160];
	if (netset_add(ns, v, why, sizeof why) != 0)
		setting_error(l, s, "%s", why);
}

static void k_svc_sources(struct ld *l, const config_setting_t *s, void *base)
{
	each_string(l, s, CONFIG_MAX_NETWORKS, base, add_service_source);
}

static bool is_leap(unsigned y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d (y >= 1970; month and day checked). */
static uint64_t days_from_epoch(unsigned y, unsigned m, unsigned d)
{
	static const unsigned before[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
	uint64_t days = 0;
	for (unsigned yy = 1970; yy < y; yy++)
		days += is_leap(yy) ? 366 : 365;
	return days + before[m - 1] + (m > 2 && is_leap(y)) + d - 1;
}

/* Exactly "YYYY-MM-DDTHH:MM:SSZ" (RFC 3339, UTC, no fraction, no leap second),
 * 1970 to 9999, to Unix time in us. */
static bool parse_utc_time(const char *v, uint64_t *out)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	if (strlen(v) != sizeof shape - 1)
		return false;
	for (size_t i = 0; shape[i]; i++) {
		if (shape[i] == 'd' ? !isdigit((unsigned char)v[i]) : v[i] != shape[i])
			return false;
	}
	unsigned f[6];
	static const unsigned at[6] = {0, 5, 8, 11, 14, 17}, len[6] = {4, 2, 2, 2, 2, 2};
	for (size_t i = 0; i < 6; i++) {
		f[i] = 0;
		for (unsigned k = 0; k < len[i]; k++)
			f[i] = f[i] * 10 + (unsigned)(v[at[i] + k] - '0');
	}
	static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (f[0] < 1970 || f[1] < 1 || f[1] > 12 || f[2] < 1 || f[3] > 23 || f[4] > 59 || f[5] > 59)
		return false;
	if (f[2] > mdays[f[1] - 1] + (f[1] == 2 && is_leap(f[0])))
		return false;
	uint64_t secs = days_from_epoch(f[0], f[1], f[2]) * DAY_S + f[3] * UINT64_C(3600) +
			f[4] * UINT64_C(60) + f[5];
	*out = secs * US_PER_S;
	return true;
}

static void get_time(struct ld *l, const config_setting_t *s, uint64_t *out)
{
	if (!is_string(s)) {
		setting_error(l, s, "expected a time string like \"2026-01-01T00:00:00Z\", got %s",
			      type_name(s));
		return;
	}
	const char *v = config_setting_get_string(s);
	uint64_t t;
	if (!parse_utc_time(v, &t)) {
		setting_error(l, s, "'%s' is not a UTC time like \"2026-01-01T00:00:00Z\" "
			      "(RFC 3339, 1970 to 9999, Z)", v);
		return;
	}
	if (t == 0) {
		/* 0 stands for "unbounded" */
		setting_error(l, s, "'%s': the time must be after 1970-01-01T00:00:00Z", v);
		return;
	}
	*out = t;
}

static void k_svc_from(struct ld *l, const config_setting_t *s, void *base)
{
	get_time(l, s, &((struct service_entry *)base)->from_us);
}

static void k_svc_until(struct ld *l, const config_setting_t *s, void *base)
{
	get_time(l, s, &((struct service_entry *)base)->until_us);
}

static void k_svc_action(struct ld *l, const config_setting_t *s, void *base)
{
	static const char *const names[] = {"reset", "redirect"};
	struct service_entry *e = base;
	int v;
	if (get_name(l, s, names, 2, &v)) {
		e->has_action = true;
		e->action = v == 0 ? WEBMAIL_ACTION_RESET : WEBMAIL_ACTION_REDIRECT;
	}
}

static void k_services(struct ld *l, const config_setting_t *s, void *base)
{
	struct webmail_config *w = &l->c->webmail;
	if (config_setting_type(s) != CONFIG_TYPE_LIST) {
		setting_error(l, s, "expected a list ( { name = ...; domains = [...]; list = ...; }, ... ), got %s",
			      type_name(s));
		return;
	}
	int n = config_setting_length(s);
	if (n > (int)CONFIG_MAX_SERVICES) {
		setting_error(l, s, "more than %u services", CONFIG_MAX_SERVICES);
		return;
	}
	if (n == 0 || w->services)
		return;
	w->services = calloc((size_t)n, sizeof *w->services);
	if (!w->services) {
		setting_error(l, s, "out of memory");
		return;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
		if (!config_setting_is_group(g)) {
			setting_error(l, g, "expected a group { name = ...; ... }, got %s", type_name(g));
			continue;
		}
		struct service_entry tmp = {.line = (unsigned)config_setting_source_line(g)};
		unsigned errors = l->errors;
		walk_group(l, g, service_keys, &tmp);
		static const char *const required[] = {"name", "domains", "list"};
		for (size_t r = 0; r < 3; r++) {
			if (!config_setting_get_member(g, required[r]))
				setting_error(l, g, "%s is missing", required[r]);
		}
		const config_setting_t *a = config_setting_get_member(g, "action");
		if (a && tmp.has_action && tmp.list == SERVICE_ALLOW)
			setting_error(l, a, "an action is for deny entries only");
		const config_setting_t *u = config_setting_get_member(g, "until");
		if (u && tmp.from_us && tmp.until_us && tmp.from_us >= tmp.until_us)
			setting_error(l, u, "until is not after from");
		if (l->errors != errors) {
			service_entry_free(&tmp);
			continue;
		}
		w->services[w->service_count++] = tmp;
	}
}

/* After the whole file: block_page makes redirect the default block action;
 * a redirect with nowhere to redirect to is an error where it is asked for. */
static void finish_webmail(struct ld *l, const config_setting_t *root)
{
	struct webmail_config *w = &l->c->webmail;
	const config_setting_t *wm = config_setting_get_member(root, "webmail");
	if (!wm || !config_setting_is_group(wm))
		return;
	if (w->block_page && !config_setting_get_member(wm, "block_action"))
		w->block_action = WEBMAIL_ACTION_REDIRECT;
	if (!w->block_page) {
		static const char *const keys[] = {"unlisted_action", "unknown_action", "block_action"};
		for (size_t i = 0; i < 3; i++) {
			const config_setting_t *s = config_setting_get_member(wm, keys[i]);
			if (s && is_string(s) && strcmp(config_setting_get_string(s), "redirect") == 0)
				setting_error(l, s, "\"redirect\" needs webmail.block_page");
		}
		const config_setting_t *list = config_setting_get_member(wm, "services");
		int n = list && config_setting_type(list) == CONFIG_TYPE_LIST ? config_setting_length(list) : 0;
		for (int i = 0; i < n; i++) {
			const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
			const config_setting_t *s = config_setting_is_group(g) ? config_setting_get_member(g, "action") : NULL;
			if (s && is_string(s) && strcmp(config_setting_get_string(s), "redirect") == 0)
				setting_error(l, s, "\"redirect\" needs webmail.block_page");
		}
	}
	const config_setting_t *ports = config_setting_get_member(wm, "tls_ports");
	if (!ports)
		ports = config_setting_get_member(wm, "http_ports");
	for (unsigned i = 0; ports && i < w->tls_port_count; i++) {
		for (unsigned j = 0; j < w->http_port_count; j++) {
			if (w->tls_ports[i] == w->http_ports[j]) {
				setting_error(l, ports, "port %u is in both http_ports and tls_ports",
					      w->tls_ports[i]);
				return;
			}
		}
	}
}

/* ---- whole-file checks ------------------------------------------------------ */

static void finish(struct ld *l, const config_setting_t *root)
{
	struct postern_config *c = l->c;
	c->virus_action = c->finding_action[FINDING_VIRUS];
	c->attachments.blocked_extensions = c->blocked_ext_storage;
	c->attachments.hash_list = c->attachment_paths[0];
	c->attachments.clamav_db_dir = c->attachment_paths[1];
	c->store.path = c->store_path ? c->store_path : default_store_path;
	c->smtp.max_message = c->max_message;

	const config_setting_t *rbl = config_setting_get_member(root, "rbl");
	if (rbl && config_setting_is_group(rbl)) {
		const config_setting_t *s;
		if (c->rbl.min_ttl > c->rbl.max_ttl && (s = config_setting_get_member(rbl, "min_ttl")))
			setting_error(l, s, "min_ttl %u is more than max_ttl %u", c->rbl.min_ttl,
				      c->rbl.max_ttl);
		else if (c->rbl.min_ttl > c->rbl.max_ttl && (s = config_setting_get_member(rbl, "max_ttl")))
			setting_error(l, s, "max_ttl %u is less than min_ttl %u", c->rbl.max_ttl,
				      c->rbl.min_ttl);
		if (c->rbl_enabled && (s = config_setting_get_member(rbl, "enabled"))) {
			long long sum = 0;
			for (size_t i = 0; i < c->rbl.list_count; i++)
				sum += c->rbl.lists[i].weight;
			if (c->rbl.list_count == 0 && !config_setting_get_member(rbl, "lists"))
				setting_error(l, s, "enabled without lists");
			else if (c->rbl.list_count > 0 && sum < c->rbl.threshold)
				setting_error(l, s, "threshold %d can never be reached: the lists' weights add up to %lld",
					      c->rbl.threshold, sum);
		}
	}
	const config_setting_t *store = config_setting_get_member(root, "store");
	if (store && config_setting_is_group(store) && c->store.batch_records > c->store.queue_records) {
		const config_setting_t *s = config_setting_get_member(store, "batch_records");
		if (!s)
			s = config_setting_get_member(store, "queue_records");
		if (s)
			setting_error(l, s, "batch_records %u is more than queue_records %u",
				      c->store.batch_records, c->store.queue_records);
	}
	finish_webmail(l, root);
}

/* ---- loading ----------------------------------------------------------------- */

/* What libconfig 1.5 gets wrong or should not do, found before it parses:
 * NUL bytes, @include, too many lines for its 16-bit line numbers, and plain
 * integers beyond 32 bits (silently truncated).  The scan skips strings and
 * comments like libconfig's scanner does. */
static void prescan(struct ld *l, const char *t, size_t len)
{
	unsigned line = 1;
	bool line_start = true;
	size_t i = 0;
	while (i < len) {
		char ch = t[i];
		if (ch == '\0') {
			add_error(l, line, "NUL byte in the file");
			return;
		}
		if (ch == '\n') {
			if (++line > CONFIG_MAX_LINES) {
				add_error(l, line, "more than %u lines", CONFIG_MAX_LINES);
				return;
			}
			line_start = true;
			i++;
			continue;
		}
		if (line_start && (ch == ' ' || ch == '\t')) {
			i++;
			continue;
		}
		if (line_start && len - i >= 8 && memcmp(t + i, "@include", 8) == 0) {
			add_error(l, line, "@include is not supported: keep the configuration in one file");
			i += 8;
		}
		line_start = false;
		if (ch == '#' || (ch == '/' && i + 1 < len && t[i + 1] == '/')) {
			while (i < len && t[i] != '\n' && t[i] != '\0')
				i++;
		} else if (ch == '/' && i + 1 < len && t[i + 1] == '*') {
			i += 2;
			while (i < len && !(t[i] == '*' && i + 1 < len && t[i + 1] == '/')) {
				if (t[i] == '\0')
					break;
				if (t[i] == '\n')
					line++;
				i++;
			}
			if (i < len && t[i] == '*')
				i += 2;
		} else if (ch == '"') {
			i++;
			while (i < len && t[i] != '"' && t[i] != '\0') {
				if (t[i] == '\\' && i + 1 < len && t[i + 1] != '\0')
					i++;
				if (t[i] == '\n')
					line++;
				i++;
			}
			if (i < len && t[i] == '"')
				i++;
		} else if (isalpha((unsigned char)ch) || ch == '_' || ch == '*') {
			while (i < len && (isalnum((unsigned char)t[i]) || t[i] == '_' || t[i] == '*' ||
					   t[i] == '-'))
				i++;
		} else if (isdigit((unsigned char)ch)) {
			size_t start = i;
			while (i < len && (isalnum((unsigned char)t[i]) || t[i] == '.' || t[i] == '_'))
				i++;
			size_t n = i - start;
			bool hex = n > 2 && t[start] == '0' && (t[start + 1] == 'x' || t[start + 1] == 'X');
			size_t from = hex ? start + 2 : start;
			size_t digits = 0;
			while (from + digits < i && (hex ? isxdigit((unsigned char)t[from + digits])
							  : isdigit((unsigned char)t[from + digits])))
				digits++;
			if (from + digits != i)
				continue; /* a float, an L-suffixed integer or not a number */
			uint64_t v = 0;
			bool big = false;
			for (size_t d = 0; d < digits && !big; d++) {
				unsigned c = (unsigned)(isdigit((unsigned char)t[from + d])
								? t[from + d] - '0'
								: tolower((unsigned char)t[from + d]) - 'a' + 10);
				v = v * (hex ? 16 : 10) + c;
				big = v > INT32_MAX;
			}
			if (big) {
				int shown = (int)(n > 40 ? 40 : n);
				add_error(l, line, "%.*s does not fit in a plain integer (libconfig would "
					  "truncate it): write it as a string (\"%.*s\") or with an L "
					  "suffix (%.*sL)", shown, t + start, shown, t + start, shown, t + start);
			}
		} else {
			i++;
		}
	}
}

static int load_text(struct postern_config *c, const char *name, const char *base_dir,
		     const char *text, size_t len, char *err, size_t errlen)
{
	struct ld l = {.c = c, .name = name ? name : "(config)", .base_dir = base_dir, .err = err,
		       .errlen = errlen};
	if (err && errlen)
		err[0] = '\0';
	if (len > CONFIG_MAX_BYTES) {
		add_error(&l, 0, "larger than %u bytes", CONFIG_MAX_BYTES);
		return -1;
	}
	prescan(&l, text, len);
	if (l.errors)
		return -1;

	/* libconfig wants a NUL-terminated string (prescan ruled out inner NULs)
	 * and takes a '#' or '//' comment on the last line without a newline for
	 * a syntax error, so one is added. */
	char *copy = malloc(len + 2);
	if (!copy) {
		add_error(&l, 0, "out of memory");
		return -1;
	}
	memcpy(copy, text, len);
	copy[len] = '\n';
	copy[len + 1] = '\0';

	config_t cf;
	config_init(&cf);
	if (!config_read_string(&cf, copy)) {
		add_error(&l, (unsigned)config_error_line(&cf), "%s",
			  config_error_text(&cf) ? config_error_text(&cf) : "parse error");
	} else {
		const config_setting_t *root = config_root_setting(&cf);
		walk_group(&l, root, top_keys, c);
		finish(&l, root);
	}
	config_destroy(&cf);
	free(copy);
	return l.errors ? -1 : 0;
}

int config_load_mem(struct postern_config *c, const char *name, const char *base_dir,
		    const char *text, size_t len, char *err, size_t errlen)
{
	config_default(c);
	int rc = load_text(c, name, base_dir, text, len, err, errlen);
	if (rc != 0) {
		/* Never half a configuration: defaults, freeable. */
		config_free(c);
		config_default(c);
	}
	return rc;
}

static char *file_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	if (!dir)
		return NULL;
	/* Absolute, so the paths stay right if the process changes directory. */
	char *real = realpath(dir, NULL);
	if (real) {
		free(dir);
		return real;
	}
	return dir;
}

int config_load(struct postern_config *c, const char *path, char *err, size_t errlen)
{
	config_default(c);
	if (err && errlen)
		err[0] = '\0';
	FILE *f = fopen(path, "rb");
	if (!f) {
		if (err)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* Read one byte past the cap so load_text can tell the file is too large. */
	char *text = malloc(CONFIG_MAX_BYTES + 1);
	size_t len = text ? fread(text, 1, CONFIG_MAX_BYTES + 1, f) : 0;
	bool bad = !text || ferror(f);
	int read_errno = errno;
	fclose(f);
	char *dir = bad ? NULL : file_dir(path);
	if (bad || !dir) {
		if (err)
			snprintf(err, errlen, "%s: %s", path, text ? strerror(read_errno) : "out of memory");
		free(text);
		free(dir);
		return -1;
	}
	int rc = config_load_mem(c, path, dir, text, len, err, errlen);
	free(text);
	free(dir);
	if (rc == 0) {
		c->path = strdup(path);
		if (!c->path) {
			if (err)
				snprintf(err, errlen, "%s: out of memory", path);
			config_free(c);
			config_default(c);
			return -1;
		}
	}
	return rc;
}

const char *webmail_action_name(enum webmail_action a)
{
	return (unsigned)a < sizeof webmail_action_names / sizeof webmail_action_names[0]
		       ? webmail_action_names[a]
		       : "?";
}
