/* Internal: compiled signatures (signature.c) as request.c and generic.c
 * read them, and the generic detector's interface. */
#ifndef POSTERN_WEBMAIL_WEBMAIL_PRIV_H
#define POSTERN_WEBMAIL_WEBMAIL_PRIV_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "webmail/webmail.h"

enum sig_cond_op {
	COND_EQUALS = 0,   /* some value equals the text exactly */
	COND_PRESENT,      /* some value is non-empty */
	COND_ABSENT,       /* no value, or only empty ones (present = false) */
	COND_MATCHES,      /* some value matches the ERE */
};

struct sig_cond {
	char *name;        /* parameter name as decoded; header names lower case */
	enum sig_cond_op op;
	char *value;       /* COND_EQUALS */
	regex_t re;        /* COND_MATCHES */
	bool has_re;
};

struct sig_role_name {
	char *name;
	size_t len;
	bool prefix;       /* written "name*": any field name starting with name */
	enum webmail_role role;
};

struct signature {
	char *id;
	const char *product;      /* into webmail_signatures.products */
	enum webmail_kind kind;
	char *method;             /* NULL: any */
	const char *decode;       /* content type to decode an unrecognised body as, NULL: none */
	regex_t host, path, query;  /* query: the raw query string, not decoded */
	bool has_host, has_path, has_query;
	struct sig_cond *params, *headers;
	size_t nparams, nheaders;
	struct sig_role_name *roles;   /* in file order: the first that fits wins */
	size_t nroles;
};

struct webmail_signatures {
	struct signature *v;
	size_t n, cap;
	char **products;          /* one per file loaded, in load order */
	size_t nproducts, products_cap;
};

/* The role (enum webmail_role) a signature gives a field name, -1 when it
 * does not name it (WEBMAIL_ROLE_NONE: named as nothing in particular). */
int signature_role(const struct signature *s, const char *name);

/* Does some value of this condition's name (values[i] named names[i])
 * satisfy it?  Shared by parameters and headers. */
bool sig_cond_eval(const struct sig_cond *c, const char *const *names, const char *const *values,
		   size_t n, bool nocase_names);

/* ---- generic detector (generic.c) ---- */

/* The role a field name suggests by itself (to, cc, subject, body...). */
enum webmail_role generic_role_of_name(const char *name);

/* Addresses in an address list: local@domain tokens, "Name <a@b>",
 * separated by ',', ';' or newlines (not inside quotes). */
uint32_t webmail_count_addresses(const char *s);

struct generic_input {
	const char *method, *path, *query;
	/* per role: fields seen, and the first field name (for reasons) */
	uint32_t role_fields[WEBMAIL_ROLE_COUNT];
	const char *role_first[WEBMAIL_ROLE_COUNT];
	uint32_t to_addrs, cc_addrs, bcc_addrs;
	bool subject_text;        /* a subject-role field with a non-empty value */
	uint64_t body_bytes;
	uint32_t files;           /* uploaded in this request */
	bool attachment_refs;     /* a non-file attachment-role field with a value */
};

struct generic_verdict {
	enum webmail_kind kind;
	uint32_t score;
	char reasons[WEBMAIL_MAX_REASONS][96];
	uint32_t reason_count;
};

void generic_detect(const struct generic_input *in, uint32_t threshold,
		    struct generic_verdict *out);

#endif
