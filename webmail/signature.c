/* Webmail signature files: loading and validation; the format is in
 * docs/webmail.md ("Writing a signature"), the contract in webmail.h.
 *
 * Like the rules loader, every error of every file is reported (file:line:
 * reason) before giving up, so an operator fixes them in one go: a file with
 * errors still has all its signatures checked, ids are checked for
 * uniqueness across every file of one load, and nothing is returned when any
 * error was found. */
#include "webmail/webmail.h"

#include <dirent.h>
#include <errno.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "webmail/webmail_priv.h"

#define SIG_ID_MAX 63
#define PRODUCT_MAX 63
#define SIG_TEXT_MAX 1024       /* a name, value or regex */
#define SIG_MAX_DIR_FILES 1024  /* *.conf files read from one directory */

static const char *const kind_names[] = {"none", "send", "draft", "upload"};

const char *webmail_kind_name(enum webmail_kind k)
{
	return (unsigned)k < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[k] : "?";
}

static const char *const role_names[WEBMAIL_ROLE_COUNT] = {
	[WEBMAIL_ROLE_NONE] = "none",       [WEBMAIL_ROLE_TO] = "to",
	[WEBMAIL_ROLE_CC] = "cc",           [WEBMAIL_ROLE_BCC] = "bcc",
	[WEBMAIL_ROLE_FROM] = "from",       [WEBMAIL_ROLE_SUBJECT] = "subject",
	[WEBMAIL_ROLE_BODY] = "body",       [WEBMAIL_ROLE_ATTACHMENT] = "attachment",
	[WEBMAIL_ROLE_COMPOSE_ID] = "compose_id",
};

const char *webmail_role_name(enum webmail_role r)
{
	return (unsigned)r < WEBMAIL_ROLE_COUNT ? role_names[r] : "?";
}

/* ---- freeing ---- */

static void cond_clear(struct sig_cond *c)
{
	free(c->name);
	free(c->value);
	if (c->has_re)
		regfree(&c->re);
	memset(c, 0, sizeof(*c));
}

static void sig_clear(struct signature *s)
{
	free(s->id);
	free(s->method);
	if (s->has_host)
		regfree(&s->host);
	if (s->has_path)
		regfree(&s->path);
	if (s->has_query)
		regfree(&s->query);
	for (size_t i = 0; i < s->nparams; i++)
		cond_clear(&s->params[i]);
	for (size_t i = 0; i < s->nheaders; i++)
		cond_clear(&s->headers[i]);
	free(s->params);
	free(s->headers);
	for (size_t i = 0; i < s->nroles; i++)
		free(s->roles[i].name);
	free(s->roles);
	memset(s, 0, sizeof(*s));
}

void webmail_signatures_free(struct webmail_signatures *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		sig_clear(&s->v[i]);
	free(s->v);
	for (size_t i = 0; i < s->nproducts; i++)
		free(s->products[i]);
	free(s->products);
	free(s);
}

size_t webmail_signatures_count(const struct webmail_signatures *s)
{
	return s ? s->n : 0;
}

size_t webmail_signatures_products(const struct webmail_signatures *s)
{
	if (!s)
		return 0;
	size_t d = 0;
	for (size_t i = 0; i < s->nproducts; i++) {
		size_t j;
		for (j = 0; j < i; j++)
			if (strcmp(s->products[i], s->products[j]) == 0)
				break;
		d += j == i;
	}
	return d;
}

/* ---- matching helpers shared with request.c ---- */

int signature_role(const struct signature *s, const char *name)
{
	for (size_t i = 0; i < s->nroles; i++) {
		const struct sig_role_name *r = &s->roles[i];
		if (r->prefix ? strncmp(name, r->name, r->len) == 0 : strcmp(name, r->name) == 0)
			return (int)r->role;
	}
	return -1;
}

bool sig_cond_eval(const struct sig_cond *c, const char *const *names, const char *const *values,
		   size_t n, bool nocase_names)
{
	for (size_t i = 0; i < n; i++) {
		bool same = nocase_names ? strcasecmp(names[i], c->name) == 0
					 : strcmp(names[i], c->name) == 0;
		if (!same)
			continue;
		const char *v = values[i];
		switch (c->op) {
		case COND_EQUALS:
			if (strcmp(v, c->value) == 0)
				return true;
			break;
		case COND_PRESENT:
			if (v[0])
				return true;
			break;
		case COND_ABSENT:
			if (v[0])
				return false;
			break;
		case COND_MATCHES:
			if (regexec(&c->re, v, 0, NULL, 0) == 0)
				return true;
			break;
		}
	}
	return c->op == COND_ABSENT;
}

/* ---- parsing ---- */

struct load {
	struct webmail_signatures *s;
	struct rule_errors *errs;
	size_t errors;
	const char *name;      /* the file being read */
	/* where each id was defined, for duplicate reports across files */
	struct id_at {
		char *id;
		char *file;
		unsigned line;
	} *ids;
	size_t nids, ids_cap;
};

static const char *setting_file(const struct load *ld, const config_setting_t *st)
{
	const char *f = config_setting_source_file(st);
	return f ? f : ld->name;
}

#define SERR(ld, st, ...)                                                            \
	do {                                                                         \
		rule_errors_add((ld)->errs, setting_file((ld), (st)),                \
				config_setting_source_line(st), __VA_ARGS__);        \
		(ld)->errors++;                                                      \
	} while (0)

static void load_err(struct load *ld, const char *file, unsigned line, const char *what)
{
	rule_errors_add(ld->errs, file, line, "%s", what);
	ld->errors++;
}

/* A string setting of 1..SIG_TEXT_MAX bytes (empty allowed when asked). */
static const char *get_text(struct load *ld, const config_setting_t *st, const char *ctx,
			    bool allow_empty)
{
	if (config_setting_type(st) != CONFIG_TYPE_STRING) {
		SERR(ld, st, "%s: '%s' must be a string", ctx,
		     config_setting_name(st) ? config_setting_name(st) : "value");
		return NULL;
	}
	const char *v = config_setting_get_string(st);
	size_t n = strlen(v);
	if ((!allow_empty && n == 0) || n > SIG_TEXT_MAX) {
		SERR(ld, st, "%s: '%s' must be %d-%d bytes", ctx,
		     config_setting_name(st) ? config_setting_name(st) : "value", allow_empty ? 0 : 1,
		     SIG_TEXT_MAX);
		return NULL;
	}
	return v;
}

static bool compile_re(struct load *ld, const config_setting_t *st, const char *ctx,
		       const char *pattern, regex_t *re)
{
	int rc = regcomp(re, pattern, REG_EXTENDED | REG_ICASE | REG_NOSUB);
	if (rc == 0)
		return true;
	char msg[128];
	regerror(rc, re, msg, sizeof(msg));
	SERR(ld, st, "%s: bad regex '%s': %s", ctx, pattern, msg);
	return false;
}

static bool is_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f ||
		    strchr("()<>@,;:\\\"/[]?={}", *s))
			return false;
	return true;
}

/* One condition group { name = ...; equals | present | matches }. */
static bool parse_cond(struct load *ld, const config_setting_t *g, const char *sid,
		       const char *what, bool header, struct sig_cond *c)
{
	size_t before = ld->errors;
	char ctx[160];
	snprintf(ctx, sizeof(ctx), "signature '%s': %s", sid, what);
	memset(c, 0, sizeof(*c));
	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		SERR(ld, g, "%s: each condition must be a group { name = ...; equals = ...; }", ctx);
		return false;
	}
	unsigned ops = 0;
	int len = config_setting_length(g);
	for (int i = 0; i < len; i++) {
		const config_setting_t *st = config_setting_get_elem(g, (unsigned)i);
		const char *key = config_setting_name(st);
		if (!key)
			continue;
		if (strcmp(key, "name") == 0) {
			const char *v = get_text(ld, st, ctx, false);
			if (!v)
				continue;
			if (header && !is_token(v)) {
				SERR(ld, st, "%s: '%s' is not a header field name", ctx, v);
				continue;
			}
			free(c->name);
			c->name = strdup(v);
			if (c->name && header)
				for (char *p = c->name; *p; p++)
					if (*p >= 'A' && *p <= 'Z')
						*p = (char)(*p - 'A' + 'a');
		} else if (strcmp(key, "equals") == 0) {
			ops++;
			const char *v = get_text(ld, st, ctx, true);
			if (!v)
				continue;
			free(c->value);
			c->value = strdup(v);
			c->op = COND_EQUALS;
		} else if (strcmp(key, "present") == 0) {
			ops++;
			if (config_setting_type(st) != CONFIG_TYPE_BOOL) {
				SERR(ld, st, "%s: 'present' must be true or false", ctx);
				continue;
			}
			c->op = config_setting_get_bool(st) ? COND_PRESENT : COND_ABSENT;
		} else if (strcmp(key, "matches") == 0) {
			ops++;
			const char *v = get_text(ld, st, ctx, false);
			if (!v || c->has_re)
				continue;
			if (compile_re(ld, st, ctx, v, &c->re)) {
				c->has_re = true;
				c->op = COND_MATCHES;
			}
		} else {
			SERR(ld, st, "%s: unknown key '%s' (name, equals, present, matches)", ctx, key);
		}
	}
	if (!config_setting_get_member(g, "name"))
		SERR(ld, g, "%s: condition without 'name'", ctx);
	if (ops != 1)
		SERR(ld, g, "%s: a condition needs exactly one of 'equals', 'present' or 'matches'",
		     ctx);
	return ld->errors == before && c->name;
}

static bool parse_conds(struct load *ld, const config_setting_t *st, const char *sid, bool header,
			struct sig_cond **out, size_t *nout)
{
	const char *what = header ? "headers" : "params";
	int t = config_setting_type(st);
	int m = config_setting_length(st);
	if (t != CONFIG_TYPE_LIST && !(t == CONFIG_TYPE_ARRAY && m == 0)) {
		SERR(ld, st, "signature '%s': '%s' must be a list: %s = ( { name = ...; ... } );", sid,
		     what, what);
		return false;
	}
	if (m == 0)
		return true;
	struct sig_cond *v = calloc((size_t)m, sizeof(*v));
	if (!v) {
		SERR(ld, st, "out of memory");
		return false;
	}
	size_t n = 0;
	bool ok = true;
	for (int i = 0; i < m; i++) {
		const config_setting_t *g = config_setting_get_elem(st, (unsigned)i);
		if (parse_cond(ld, g, sid, what, header, &v[n]))
			n++;
		else {
			cond_clear(&v[n]);
			ok = false;
		}
	}
	*out = v;
	*nout = n;
	return ok;
}

static bool role_by_name(const char *name, enum webmail_role *r)
{
	/* "none" too: a field the product uses for something else (html=0),
	 * which the generic guess by name must not take for a body */
	for (unsigned i = WEBMAIL_ROLE_NONE; i < WEBMAIL_ROLE_COUNT; i++)
		if (strcmp(name, role_names[i]) == 0) {
			*r = (enum webmail_role)i;
			return true;
		}
	return false;
}

static bool add_role_name(struct load *ld, const config_setting_t *st, const char *sid,
			  struct signature *s, enum webmail_role role, size_t *cap)
{
	char ctx[SIG_ID_MAX + 48];
	snprintf(ctx, sizeof(ctx), "signature '%s': role '%s'", sid, role_names[role]);
	const char *v = get_text(ld, st, ctx, true); /* "" names the raw body */
	if (!v)
		return false;
	size_t n = strlen(v);
	bool prefix = n > 0 && v[n - 1] == '*';
	if (s->nroles == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		struct sig_role_name *nv = realloc(s->roles, nc * sizeof(*nv));
		if (!nv) {
			SERR(ld, st, "out of memory");
			return false;
		}
		s->roles = nv;
		*cap = nc;
	}
	struct sig_role_name *rn = &s->roles[s->nroles];
	rn->name = strndup(v, prefix ? n - 1 : n);
	if (!rn->name) {
		SERR(ld, st, "out of memory");
		return false;
	}
	rn->len = prefix ? n - 1 : n;
	rn->prefix = prefix;
	rn->role = role;
	s->nroles++;
	return true;
}

static bool parse_roles(struct load *ld, const config_setting_t *g, const char *sid,
			struct signature *s)
{
	size_t before = ld->errors;
	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		SERR(ld, g, "signature '%s': 'roles' must be a group: roles = { to = [\"...\"]; };",
		     sid);
		return false;
	}
	size_t cap = 0;
	int len = config_setting_length(g);
	for (int i = 0; i < len; i++) {
		const config_setting_t *st = config_setting_get_elem(g, (unsigned)i);
		const char *key = config_setting_name(st);
		enum webmail_role role;
		if (!key)
			continue;
		if (!role_by_name(key, &role)) {
			SERR(ld, st,
			     "signature '%s': unknown role '%s' (to, cc, bcc, from, subject, body, "
			     "attachment, compose_id, none)",
			     sid, key);
			continue;
		}
		int t = config_setting_type(st);
		if (t == CONFIG_TYPE_STRING) {
			add_role_name(ld, st, sid, s, role, &cap);
		} else if (t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST) {
			int m = config_setting_length(st);
			if (m == 0)
				SERR(ld, st, "signature '%s': role '%s' lists no field names", sid, key);
			for (int k = 0; k < m; k++) {
				const config_setting_t *e =
					config_setting_get_elem(st, (unsigned)k);
				if (config_setting_type(e) != CONFIG_TYPE_STRING) {
					SERR(ld, e, "signature '%s': role '%s': field names must be strings",
					     sid, key);
					continue;
				}
				add_role_name(ld, e, sid, s, role, &cap);
			}
		} else {
			SERR(ld, st,
			     "signature '%s': role '%s' must be a field name or a list of them", sid,
			     key);
		}
	}
	return ld->errors == before;
}

/* Remember id; report it when an earlier signature (any file) has it. */
static void check_id(struct load *ld, const config_setting_t *st, const char *id)
{
	const char *file = setting_file(ld, st);
	unsigned line = config_setting_source_line(st);
	for (size_t i = 0; i < ld->nids; i++) {
		if (strcmp(ld->ids[i].id, id) != 0)
			continue;
		SERR(ld, st, "duplicate signature id '%s' (first at %s:%u)", id, ld->ids[i].file,
		     ld->ids[i].line);
		return;
	}
	if (ld->nids == ld->ids_cap) {
		size_t nc = ld->ids_cap ? ld->ids_cap * 2 : 32;
		struct id_at *nv = realloc(ld->ids, nc * sizeof(*nv));
		if (!nv) {
			SERR(ld, st, "out of memory");
			return;
		}
		ld->ids = nv;
		ld->ids_cap = nc;
	}
	struct id_at *a = &ld->ids[ld->nids];
	a->id = strdup(id);
	a->file = strdup(file);
	a->line = line;
	if (!a->id || !a->file) {
		free(a->id);
		free(a->file);
		SERR(ld, st, "out of memory");
		return;
	}
	ld->nids++;
}

static bool valid_id(const char *v)
{
	size_t n = strlen(v);
	if (n < 1 || n > SIG_ID_MAX)
		return false;
	for (size_t k = 0; k < n; k++)
		if ((unsigned char)v[k] <= 0x20 || (unsigned char)v[k] >= 0x7f || v[k] == '"' ||
		    v[k] == '\\')
			return false;
	return true;
}

/* One signature group.  Returns true when it is usable (s filled). */
static bool parse_signature(struct load *ld, const config_setting_t *g, size_t index,
			    const char *product, struct signature *s)
{
	size_t before = ld->errors;
	char sid[SIG_ID_MAX + 1 + 16];
	memset(s, 0, sizeof(*s));
	s->product = product;

	const config_setting_t *idset = config_setting_get_member(g, "id");
	if (idset && config_setting_type(idset) == CONFIG_TYPE_STRING)
		snprintf(sid, sizeof(sid), "%s", config_setting_get_string(idset));
	else
		snprintf(sid, sizeof(sid), "#%zu", index + 1);

	bool have_kind = false;
	int len = config_setting_length(g);
	for (int i = 0; i < len; i++) {
		const config_setting_t *st = config_setting_get_elem(g, (unsigned)i);
		const char *key = config_setting_name(st);
		char ctx[SIG_ID_MAX + 32];
		snprintf(ctx, sizeof(ctx), "signature '%s'", sid);
		if (!key)
			continue;
		if (strcmp(key, "id") == 0) {
			const char *v = get_text(ld, st, ctx, false);
			if (!v)
				continue;
			if (!valid_id(v)) {
				SERR(ld, st,
				     "signature '%s': id must be 1-%d printable ASCII characters without "
				     "spaces, quotes or backslashes",
				     sid, SIG_ID_MAX);
				continue;
			}
			check_id(ld, st, v);
			free(s->id);
			s->id = strdup(v);
		} else if (strcmp(key, "description") == 0) {
			(void)get_text(ld, st, ctx, true);
		} else if (strcmp(key, "kind") == 0) {
			const char *v = get_text(ld, st, ctx, false);
			if (!v)
				continue;
			if (strcmp(v, "send") == 0)
				s->kind = WEBMAIL_SEND;
			else if (strcmp(v, "draft") == 0)
				s->kind = WEBMAIL_DRAFT;
			else if (strcmp(v, "upload") == 0)
				s->kind = WEBMAIL_UPLOAD;
			else {
				SERR(ld, st, "signature '%s': kind '%s' is not send, draft or upload",
				     sid, v);
				continue;
			}
			have_kind = true;
		} else if (strcmp(key, "method") == 0) {
			const char *v = get_text(ld, st, ctx, false);
			if (!v)
				continue;
			if (!is_token(v)) {
				SERR(ld, st, "signature '%s': method '%s' is not an HTTP method", sid, v);
				continue;
			}
			free(s->method);
			s->method = strdup(v);
		} else if (strcmp(key, "host") == 0 || strcmp(key, "path") == 0 ||
			   strcmp(key, "query") == 0) {
			regex_t *re = key[0] == 'h'   ? &s->host
				      : key[0] == 'p' ? &s->path
						      : &s->query;
			bool *has = key[0] == 'h'   ? &s->has_host
				    : key[0] == 'p' ? &s->has_path
						    : &s->has_query;
			const char *v = get_text(ld, st, ctx, false);
			if (!v || *has)
				continue;
			if (compile_re(ld, st, ctx, v, re))
				*has = true;
		} else if (strcmp(key, "decode") == 0) {
			/* products that label their JSON otherwise (Zimbra: soap+xml) */
			const char *v = get_text(ld, st, ctx, false);
			if (!v)
				continue;
			if (strcmp(v, "json") == 0)
				s->decode = "application/json";
			else if (strcmp(v, "urlencoded") == 0)
				s->decode = "application/x-www-form-urlencoded";
			else
				SERR(ld, st, "signature '%s': decode '%s' is not json or urlencoded", sid,
				     v);
		} else if (strcmp(key, "params") == 0) {
			if (!s->params)
				parse_conds(ld, st, sid, false, &s->params, &s->nparams);
		} else if (strcmp(key, "headers") == 0) {
			if (!s->headers)
				parse_conds(ld, st, sid, true, &s->headers, &s->nheaders);
		} else if (strcmp(key, "roles") == 0) {
			parse_roles(ld, st, sid, s);
		} else {
			SERR(ld, st,
			     "signature '%s': unknown key '%s' (id, description, kind, method, host, "
			     "path, query, headers, params, decode, roles)",
			     sid, key);
		}
	}
	if (!idset)
		SERR(ld, g, "signature %s: missing 'id'", sid);
	if (!config_setting_get_member(g, "kind"))
		SERR(ld, g, "signature '%s': missing 'kind' (send, draft or upload)", sid);
	if (ld->errors != before || !s->id || !have_kind) {
		sig_clear(s);
		return false;
	}
	return true;
}

static char *add_product(struct load *ld, const config_setting_t *st, const char *v)
{
	struct webmail_signatures *s = ld->s;
	if (s->nproducts == s->products_cap) {
		size_t nc = s->products_cap ? s->products_cap * 2 : 8;
		char **nv = realloc(s->products, nc * sizeof(*nv));
		if (!nv) {
			SERR(ld, st, "out of memory");
			return NULL;
		}
		s->products = nv;
		s->products_cap = nc;
	}
	char *p = strdup(v);
	if (!p) {
		SERR(ld, st, "out of memory");
		return NULL;
	}
	s->products[s->nproducts++] = p;
	return p;
}

static void load_config(struct load *ld, config_t *cf, bool read_ok)
{
	if (!read_ok) {
		const char *f = config_error_file(cf);
		load_err(ld, f ? f : ld->name, (unsigned)config_error_line(cf),
			 config_error_text(cf) ? config_error_text(cf) : "cannot read file");
		return;
	}
	config_setting_t *root = config_root_setting(cf);
	const config_setting_t *list = NULL, *prod = NULL;
	int nroot = config_setting_length(root);
	for (int i = 0; i < nroot; i++) {
		const config_setting_t *st = config_setting_get_elem(root, (unsigned)i);
		const char *key = config_setting_name(st);
		if (!key)
			continue;
		if (strcmp(key, "signatures") == 0) {
			list = st;
		} else if (strcmp(key, "product") == 0) {
			prod = st;
		} else if (strcmp(key, "evidence") == 0) {
			(void)get_text(ld, st, "file", true);
		} else {
			SERR(ld, st, "unknown top-level setting '%s' (product, evidence, signatures)",
			     key);
		}
	}
	const char *product = NULL;
	if (!prod) {
		load_err(ld, ld->name, 0, "missing 'product = \"Name\";'");
	} else if (config_setting_type(prod) != CONFIG_TYPE_STRING) {
		SERR(ld, prod, "'product' must be a string");
	} else {
		const char *v = config_setting_get_string(prod);
		size_t n = strlen(v);
		if (n == 0 || n > PRODUCT_MAX)
			SERR(ld, prod, "'product' must be 1-%d bytes", PRODUCT_MAX);
		else
			product = add_product(ld, prod, v);
	}
	if (!list) {
		load_err(ld, ld->name, 0, "missing 'signatures = ( { ... } );'");
		return;
	}
	int t = config_setting_type(list);
	int m = config_setting_length(list);
	if (t != CONFIG_TYPE_LIST && !(t == CONFIG_TYPE_ARRAY && m == 0)) {
		SERR(ld, list, "'signatures' must be a list: signatures = ( { ... }, ... );");
		return;
	}
	struct webmail_signatures *s = ld->s;
	for (int i = 0; i < m; i++) {
		const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
		if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
			SERR(ld, g, "signature #%d: not a group { ... }", i + 1);
			continue;
		}
		if (s->n == s->cap) {
			size_t nc = s->cap ? s->cap * 2 : 16;
			struct signature *nv = realloc(s->v, nc * sizeof(*nv));
			if (!nv) {
				SERR(ld, g, "out of memory");
				return;
			}
			s->v = nv;
			s->cap = nc;
		}
		/* a signature still gets checked when the product is bad */
		if (parse_signature(ld, g, (size_t)i, product ? product : "", &s->v[s->n]))
			s->n++;
	}
}

static void load_file(struct load *ld, const char *path)
{
	config_t cf;
	config_init(&cf);
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		config_set_include_dir(&cf, dir[0] ? dir : "/");
	}
	ld->name = path;
	size_t before = ld->errors;
	bool ok = config_read_file(&cf, path) == CONFIG_TRUE;
	if (!ok && (!config_error_text(&cf) || config_error_type(&cf) == CONFIG_ERR_FILE_IO)) {
		/* libconfig says nothing when the file cannot be opened */
		char msg[160];
		snprintf(msg, sizeof(msg), "cannot read signature file: %s", strerror(errno));
		load_err(ld, path, 0, msg);
	} else {
		load_config(ld, &cf, ok);
	}
	if (!ok && ld->errors == before)
		load_err(ld, path, 0, "cannot read signature file");
	config_destroy(&cf);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load_dir(struct load *ld, const char *path)
{
	DIR *d = opendir(path);
	if (!d) {
		char msg[160];
		snprintf(msg, sizeof(msg), "cannot open signature directory: %s", strerror(errno));
		load_err(ld, path, 0, msg);
		return;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (e->d_name[0] == '.' || l < 6 || strcmp(e->d_name + l - 5, ".conf") != 0)
			continue;
		if (n == SIG_MAX_DIR_FILES) {
			load_err(ld, path, 0, "more than 1024 *.conf files in the signature directory");
			break;
		}
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			char **nv = realloc(names, nc * sizeof(*nv));
			if (!nv)
				break;
			names = nv;
			cap = nc;
		}
		size_t pl = strlen(path) + 1 + l + 1;
		if (!(names[n] = malloc(pl)))
			break;
		snprintf(names[n], pl, "%s/%s", path, e->d_name);
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		load_file(ld, names[i]);
		free(names[i]);
	}
	free(names);
}

static struct webmail_signatures *load_finish(struct load *ld)
{
	for (size_t i = 0; i < ld->nids; i++) {
		free(ld->ids[i].id);
		free(ld->ids[i].file);
	}
	free(ld->ids);
	if (ld->errors) {
		webmail_signatures_free(ld->s);
		return NULL;
	}
	return ld->s;
}

struct webmail_signatures *webmail_signatures_load(const char *const *paths, size_t n,
						   struct rule_errors *errs)
{
	struct load ld = {.errs = errs};
	if (!(ld.s = calloc(1, sizeof(*ld.s)))) {
		rule_errors_add(errs, n ? paths[0] : "", 0, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode))
			load_dir(&ld, paths[i]);
		else
			load_file(&ld, paths[i]);
	}
	return load_finish(&ld);
}

struct webmail_signatures *webmail_signatures_load_mem(const char *name, const char *text,
						       size_t len, struct rule_errors *errs)
{
	if (memchr(text, '\0', len)) {
		rule_errors_add(errs, name, 0, "NUL byte in signature text");
		return NULL;
	}
	struct load ld = {.errs = errs, .name = name};
	char *copy = malloc(len + 1);
	if (!copy || !(ld.s = calloc(1, sizeof(*ld.s)))) {
		free(copy);
		rule_errors_add(errs, name, 0, "out of memory");
		return NULL;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	config_t cf;
	config_init(&cf);
	bool ok = config_read_string(&cf, copy) == CONFIG_TRUE;
	load_config(&ld, &cf, ok);
	config_destroy(&cf);
	free(copy);
	return load_finish(&ld);
}
