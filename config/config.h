/* The postern configuration file (libconfig syntax; docs/configuration.md).
 *
 * config_load parses, validates and fills every stage's settings over the
 * defaults; an error names the file, the line and the reason.  Paths in the
 * file are taken relative to the file's own directory. */
#ifndef POSTERN_CONFIG_CONFIG_H
#define POSTERN_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attachments/attachment.h"
#include "policy/rules.h"
#include "rbl/rbl.h"
#include "smtp_parser/mime.h"
#include "smtp_parser/smtp.h"
#include "store/store.h"

/* A set of IPv4/IPv6 prefixes (internal networks). */
struct netset_entry {
	int family;           /* AF_INET or AF_INET6 */
	uint8_t addr[16];     /* network address, host bits zero */
	uint8_t prefix;
};
struct netset {
	struct netset_entry *v;
	size_t count;
};
/* Parse "10.0.0.0/8", "fd00::/8", "192.0.2.1" (host).  0 or -1 with a reason. */
int netset_add(struct netset *s, const char *cidr, char *err, size_t errlen);
bool netset_contains(const struct netset *s, int family, const uint8_t *addr);
void netset_free(struct netset *s);

#define CONFIG_MAX_RULE_FILES 16
#define CONFIG_MAX_SIGNATURE_PATHS 16

/* What a webmail verdict does to the request (docs/webmail.md). */
enum webmail_action {
	WEBMAIL_ACTION_ACCEPT = 0,  /* accept and log */
	WEBMAIL_ACTION_RESET,       /* RST both ways */
	WEBMAIL_ACTION_REDIRECT,    /* HTTP: 302 to the block page for the client, RST to the server;
	                             * HTTPS: reset (nothing can be said inside TLS) */
};
const char *webmail_action_name(enum webmail_action a); /* "accept", "reset", "redirect" */

/* One entry of the mail-service policy: a webmail service by domain. */
enum service_list { SERVICE_ALLOW = 0, SERVICE_DENY };
struct service_entry {
	char *name;
	char **domains;             /* lower-case A-labels; a leading "." means that domain and
	                             * every subdomain, otherwise the exact host */
	size_t domain_count;
	enum service_list list;
	struct netset sources;      /* clients it applies to; empty = every client */
	uint64_t from_us, until_us; /* applies from/until (Unix time, us); 0 = unbounded */
	bool has_action;
	enum webmail_action action; /* deny: reset or redirect (default: webmail.block_action) */
	unsigned line;              /* in the config file */
};

struct webmail_config {
	bool enabled;               /* HTTP/TLS inspection on (default true) */
	char *signature_paths[CONFIG_MAX_SIGNATURE_PATHS]; /* files or directories of *.conf */
	size_t signature_path_count;
	uint16_t http_ports[16];    /* parsed as HTTP from the first byte (default 80, 8080) */
	unsigned http_port_count;
	uint16_t tls_ports[16];     /* ClientHello expected (default 443) */
	unsigned tls_port_count;
	bool content_detect;        /* other ports: HTTP or TLS recognised by the client's first bytes (default true) */
	uint32_t generic_threshold; /* generic detector confidence for a send (default 60) */
	enum webmail_action unlisted_action; /* a send by signature to a service on no list (default accept) */
	enum webmail_action unknown_action;  /* a send found only by the generic detector (default accept) */
	enum webmail_action block_action;    /* deny entries without action, and content rules that
	                                      * reset (default redirect when block_page is set, else reset) */
	char *block_page;           /* absolute http(s) URL the redirect points to */
	struct service_entry *services;
	size_t service_count;
	uint64_t max_body;          /* request body bytes inspected (default: max_message) */
	uint32_t max_upload_ids;    /* compose ids whose uploads are remembered (default 4096) */
	uint64_t upload_ttl_us;     /* how long uploads wait for their send (default 1 h) */
};

struct postern_config {
	char *path;                         /* the file loaded, NULL = defaults only */
	struct netset internal;             /* internal networks: direction of a transaction */
	char *rule_files[CONFIG_MAX_RULE_FILES];
	size_t rule_file_count;

	/* Actions for findings outside the rules file. */
	enum rule_action finding_action[FINDING_KIND_COUNT];
	enum rule_action virus_action;      /* (also finding_action[FINDING_VIRUS]) */

	struct attachment_config attachments;
	char *attachment_paths[2];          /* storage behind attachments.hash_list / clamav_db_dir */
	char **blocked_ext_storage;
	/* Attachment bytes buffered at once by one worker, all transactions
	 * together; an attachment begun when the budget is spent is analysed
	 * from what fits (FINDING_TRUNCATED). */
	uint64_t max_attachment_memory;

	bool rbl_enabled;
	enum rule_action rbl_action;
	enum rule_direction rbl_direction;  /* which transactions are checked (default inbound) */
	struct rbl_config rbl;

	bool store_enabled;
	struct store_config store;
	char *store_path;

	struct smtp_limits smtp;
	struct mime_limits mime;
	uint64_t max_flows;                 /* 0 = pipeline default */
	uint64_t max_message;               /* message bytes inspected per transaction */
	uint16_t smtp_ports[16];
	unsigned smtp_port_count;           /* 0 = default (25, 587) */
	bool fail_closed;                   /* inline: reset instead of accept when a hold expires */

	/* Inline datapath (postern run). */
	uint32_t hold_timeout_ms;           /* longest a commit packet waits for a decision */
	uint32_t bypass_mark, bypass_mask;  /* conntrack mark bits meaning "stop queueing" */
	uint32_t queue_maxlen;              /* per queue, before the kernel fails open */
	uint64_t queue_rcvbuf;              /* netlink socket receive buffer */

	/* Alerts: RFC 5424 syslog. */
	bool syslog_enabled;
	int syslog_transport;               /* enum syslog_transport (alerts/syslog.h) */
	char *syslog_target;                /* owned; NULL = /dev/log for local */
	uint32_t syslog_facility;
	uint32_t syslog_rate, syslog_burst, syslog_queue;
	enum rule_action syslog_min_action; /* alert: every verdict with reasons; reset: resets only */

	/* Webmail control: HTTP requests, TLS ClientHellos, service policy. */
	struct webmail_config webmail;
};

/* Defaults only (no file). */
void config_default(struct postern_config *c);
/* Load path over the defaults.  0 on success; -1 with "file:line: reason"
 * in err.  c is left freeable either way. */
int config_load(struct postern_config *c, const char *path, char *err, size_t errlen);
/* Same from memory (tests, fuzzing); name stands for the file in messages,
 * base_dir resolves relative paths. */
int config_load_mem(struct postern_config *c, const char *name, const char *base_dir,
		    const char *text, size_t len, char *err, size_t errlen);
void config_free(struct postern_config *c);

#endif
