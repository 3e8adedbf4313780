/* Webmail send detection on HTTP requests.
 *
 * Signatures are data (docs/webmail.md): files in libconfig syntax, one
 * product per file, each signature saying which requests of the product are a
 * send, a draft save or an attachment upload (method, host, path, query and
 * body parameters, headers) and which fields carry the recipients, subject,
 * body, attachments and the compose id.  A generic detector scores requests
 * that no signature knows (recipient-like fields holding address lists, a
 * subject and a body, uploads) and gives its reasons.
 *
 * A webmail_request follows one HTTP request: it decodes the body (form.h),
 * maps each field to a role as it begins, streams body text and uploaded
 * files to a sink as they arrive (the policy inspects them), and at the end
 * says what the request was.  Signatures are immutable once loaded and may be
 * shared by every worker. */
#ifndef POSTERN_WEBMAIL_WEBMAIL_H
#define POSTERN_WEBMAIL_WEBMAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_parser/form.h"
#include "http_parser/http.h"
#include "policy/rules.h"

/* ---- signatures -------------------------------------------------------- */

enum webmail_kind { WEBMAIL_NONE = 0, WEBMAIL_SEND, WEBMAIL_DRAFT, WEBMAIL_UPLOAD };
const char *webmail_kind_name(enum webmail_kind k); /* "none", "send", "draft", "upload" */

enum webmail_role {
	WEBMAIL_ROLE_NONE = 0,   /* any other field: its text still goes to the body scope */
	WEBMAIL_ROLE_TO,
	WEBMAIL_ROLE_CC,
	WEBMAIL_ROLE_BCC,
	WEBMAIL_ROLE_FROM,
	WEBMAIL_ROLE_SUBJECT,
	WEBMAIL_ROLE_BODY,
	WEBMAIL_ROLE_ATTACHMENT, /* a file field, or a field naming uploaded attachments */
	WEBMAIL_ROLE_COMPOSE_ID, /* ties uploads to the send that uses them */
	WEBMAIL_ROLE_COUNT
};
const char *webmail_role_name(enum webmail_role r); /* "none", "to", ... "compose_id" */

struct webmail_signatures;
/* Load signature files: each path is a file, or a directory whose *.conf
 * files are loaded in name order.  NULL when any error was found; every error
 * (file:line: reason) is in errs. */
struct webmail_signatures *webmail_signatures_load(const char *const *paths, size_t n,
						   struct rule_errors *errs);
/* One file's text from memory (tests, fuzzing); name stands for the file. */
struct webmail_signatures *webmail_signatures_load_mem(const char *name, const char *text,
						       size_t len, struct rule_errors *errs);
void webmail_signatures_free(struct webmail_signatures *s);
size_t webmail_signatures_count(const struct webmail_signatures *s);   /* signatures */
size_t webmail_signatures_products(const struct webmail_signatures *s);/* distinct products */

/* ---- one request --------------------------------------------------------- */

struct webmail_limits {
	struct form_limits form;
	uint32_t max_field_copy;   /* bytes kept of a to/cc/bcc/from/subject/compose-id value (default 4 KiB) */
	uint32_t max_param_copy;   /* bytes kept of other fields, for signature conditions (default 256) */
	uint32_t max_kept_fields;  /* fields whose copies are kept (default 256) */
	uint32_t generic_threshold;/* generic detector: confidence (0-100) from which a request is a send (default 60) */
};
void webmail_limits_default(struct webmail_limits *l);

/* Where the request's content goes as it arrives. */
struct webmail_sink {
	/* Text of body and unmapped fields (UTF-8 as sent), for the webmail.body scope. */
	void (*text)(void *ctx, enum webmail_role role, const char *field, const uint8_t *data,
		     size_t len);
	/* An uploaded file: begin, data*, end. */
	void (*file_begin)(void *ctx, const char *field, const char *filename, const char *content_type);
	void (*file_data)(void *ctx, const uint8_t *data, size_t len);
	void (*file_end)(void *ctx, uint64_t size);
};

#define WEBMAIL_MAX_REASONS 8
#define WEBMAIL_MAX_FILES 32
struct webmail_file {
	char field[128];
	char filename[256];
	char content_type[128];
	uint64_t size;
};

struct webmail_result {
	enum webmail_kind kind;
	const char *product;       /* "Roundcube", ...; "generic" for the generic detector; "" if none */
	const char *signature;     /* signature id, "" for generic */
	uint32_t confidence;       /* 100 for a signature, the score for generic */
	const char *reasons[WEBMAIL_MAX_REASONS]; /* generic: why ("recipient field 'to' holds 2 addresses") */
	uint32_t reason_count;
	/* Role values (to/cc/bcc: fields of a role joined with ", "), decoded,
	 * capped at max_field_copy ("" if absent). */
	const char *to, *cc, *bcc, *from, *subject, *compose_id;
	uint32_t recipients;       /* addresses counted in to, cc and bcc */
	uint64_t body_bytes;       /* bytes of body-role fields */
	uint64_t text_bytes;       /* bytes of all text fields */
	uint32_t fields;
	struct webmail_file files[WEBMAIL_MAX_FILES]; /* uploaded in this request */
	uint32_t file_count, files_dropped;
	enum form_kind form;
	uint32_t form_anomalies;   /* enum form_anomaly bits */
	uint32_t truncated_fields; /* role copies cut at max_field_copy */
	uint32_t fields_unseen;    /* parameters past max_kept_fields: no signature condition saw them */
};

struct webmail_request;
/* The request's head is known (http request_begin).  sigs may be NULL (generic
 * detector only).  NULL with errno on failure. */
struct webmail_request *webmail_request_begin(const struct webmail_signatures *sigs,
					      const struct webmail_limits *lim,
					      const struct http_request *req,
					      const struct webmail_sink *sink, void *ctx);
/* Body bytes as http request_body hands them over. */
void webmail_request_body(struct webmail_request *w, const uint8_t *data, size_t len);
void webmail_request_gap(struct webmail_request *w, uint64_t len);
/* The body is complete: what was it?  Owned by w until webmail_request_free. */
const struct webmail_result *webmail_request_end(struct webmail_request *w);
void webmail_request_free(struct webmail_request *w);

#endif
