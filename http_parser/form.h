/* Request body decoders: the fields of an HTML form or API call, whatever
 * its encoding.
 *
 *   application/x-www-form-urlencoded  name=value&...; percent and '+' decoded
 *   multipart/form-data                through the MIME decoder: fields and
 *                                      uploaded files (name, filename, type)
 *   application/json (and +json)       buffered up to max_json, parsed with
 *                                      jansson; every string, number and
 *                                      boolean leaf is a field named by its
 *                                      key path ("a.b.c", array levels add
 *                                      nothing: "to.address")
 *   anything else, or JSON past its cap  one raw field named "" with the body
 *
 * Field values stream (a value is never held whole, except JSON's).  Names
 * and values are UTF-8 as sent (multipart text converted per its charset).
 * Byte-by-byte feeding gives the same fields as whole-buffer feeding. */
#ifndef POSTERN_HTTP_PARSER_FORM_H
#define POSTERN_HTTP_PARSER_FORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum form_kind { FORM_RAW = 0, FORM_URLENCODED, FORM_MULTIPART, FORM_JSON };
/* From a Content-Type value (parameters allowed); FORM_RAW if unrecognised. */
enum form_kind form_kind_of(const char *content_type);
const char *form_kind_name(enum form_kind k); /* "raw", "urlencoded", "multipart", "json" */

struct form_limits {
	uint32_t max_name;         /* bytes of a field name kept (default 256) */
	uint32_t max_fields;       /* fields reported per body (default 1024) */
	uint64_t max_json;         /* JSON bytes buffered for parsing (default 1 MiB) */
	uint32_t max_json_depth;   /* nesting followed (default 32) */
};
void form_limits_default(struct form_limits *l);

enum form_anomaly {
	FORM_ANOM_NAME_TOO_LONG = 1u << 0,
	FORM_ANOM_FIELDS_CAP = 1u << 1,      /* fields past max_fields: their bytes go to no field */
	FORM_ANOM_BAD_PERCENT = 1u << 2,     /* '%' not followed by two hex digits: kept literally */
	FORM_ANOM_JSON_TOO_LARGE = 1u << 3,  /* past max_json: delivered as one raw field instead */
	FORM_ANOM_JSON_INVALID = 1u << 4,    /* not parseable: delivered as one raw field instead */
	FORM_ANOM_JSON_DEPTH = 1u << 5,
	FORM_ANOM_MIME = 1u << 6,            /* the multipart decoder reported anomalies (mime_stats) */
	FORM_ANOM_GAP = 1u << 7,
};
#define FORM_ANOM_COUNT 8
const char *form_anomaly_name(uint32_t bit);

struct form_field {
	uint32_t index;            /* 0, 1, 2... in body order */
	const char *name;          /* decoded, capped at max_name; "" for the raw field */
	bool is_file;              /* multipart part with a filename */
	const char *filename;      /* decoded file name ("" unless is_file) */
	const char *content_type;  /* multipart part's type, lower case; "" otherwise */
	bool is_text;              /* value is text (UTF-8 as far as the sender's charset allowed) */
};

struct form_callbacks {
	void (*field_begin)(void *ctx, const struct form_field *f);
	void (*field_data)(void *ctx, const struct form_field *f, const uint8_t *data, size_t len);
	/* size = decoded bytes delivered for the field. */
	void (*field_end)(void *ctx, const struct form_field *f, uint64_t size);
};

struct form_decoder;
/* content_type is the request's full Content-Type (boundary= for multipart).
 * NULL with errno on failure; limits may be NULL. */
struct form_decoder *form_decoder_new(const char *content_type, const struct form_limits *limits,
				      const struct form_callbacks *cb, void *ctx);
enum form_kind form_decoder_kind(const struct form_decoder *d);
void form_feed(struct form_decoder *d, const uint8_t *data, size_t len);
void form_gap(struct form_decoder *d, uint64_t len);
/* End of body: JSON is parsed now; open fields end. */
void form_close(struct form_decoder *d);
void form_decoder_free(struct form_decoder *d);

struct form_stats {
	uint32_t anomalies;        /* enum form_anomaly bits */
	uint32_t fields;           /* fields reported */
	uint32_t fields_skipped;   /* past max_fields */
	uint32_t files;
	uint32_t mime_anomalies;   /* enum mime_anomaly bits (multipart) */
	uint64_t bytes;            /* body bytes fed */
};
const struct form_stats *form_decoder_stats(const struct form_decoder *d);

/* Decode one application/x-www-form-urlencoded component ("a%20b+c" ->
 * "a b c") into out (at most cap-1 bytes plus NUL); returns the length.
 * For URL query strings (signatures match query parameters). */
size_t form_urldecode(const char *in, size_t len, char *out, size_t cap);

#endif
