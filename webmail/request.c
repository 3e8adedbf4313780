/* One webmail request: field roles, streaming to the sink, and the decision
 * at the end; the contract is in webmail.h.
 *
 * A field's role is fixed when it begins (its bytes are streamed or copied
 * from then on), so it comes from the signatures still possible at that
 * point: those whose request-level conditions (method, host, path, query,
 * headers) held at begin.  Parameter conditions need the whole body (a
 * parameter may come late or be absent) and are only judged at the end; a
 * candidate that then fails may thus have named some roles, which only
 * decides where bytes went, never what the request was.
 *
 * Memory per request is bounded: role copies by max_field_copy per role,
 * condition copies by max_param_copy x max_kept_fields; body text and files
 * are never held.
 *
 * Every byte of a non-file field reaches inspection: body and other fields
 * stream as text, role values (to, subject...) are copied, and what does
 * not fit in a copy streams as text too. */
#include "webmail/webmail.h"

#include <errno.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "webmail/webmail_priv.h"

#define PATH_COPY_MAX 2048       /* path and query kept for the generic detector */

void webmail_limits_default(struct webmail_limits *l)
{
	memset(l, 0, sizeof(*l));
	form_limits_default(&l->form);
	l->max_field_copy = 4096;
	l->max_param_copy = 256;
	l->max_kept_fields = 256;
	l->generic_threshold = 60;
}

/* A parameter (query or body) as the signature conditions see it. */
struct kept {
	char *name;
	char *value;             /* max_param_copy + 1 */
	size_t len;
};

/* The joined values of one role. */
struct role_buf {
	char *s;                 /* max_field_copy + 1, allocated on first use */
	size_t len;
	uint32_t fields;
	char first[64];          /* name of its first field, for reasons */
};

struct webmail_request {
	const struct webmail_signatures *sigs;
	struct webmail_limits lim;
	const struct webmail_sink *sink;
	void *ctx;
	uint8_t *cand;           /* per signature: request-level conditions held */

	char method[16];
	char path[PATH_COPY_MAX], query[PATH_COPY_MAX];
	char *content_type;       /* whole: a cut one could lose the boundary */
	char raw_filename[256];  /* Content-Disposition filename= of a raw upload */

	struct form_decoder *form;
	enum form_kind form_kind; /* of the content type (the decoder may call back from _new) */
	bool form_failed;

	/* the open body field */
	enum webmail_role role;
	bool is_file, sep_pending, truncated;
	struct kept *kp;         /* its condition copy, NULL past max_kept_fields */
	struct webmail_file *file; /* its entry in res.files, NULL past the cap */

	struct kept *kept;
	size_t nkept, kept_cap;
	uint32_t kept_dropped;   /* fields no condition can see (max_kept_fields) */

	struct role_buf roles[WEBMAIL_ROLE_COUNT];
	bool attachment_refs;
	uint64_t body_bytes, text_bytes;
	bool ended;

	struct webmail_result res;
	char product[64], signature[64];
	struct generic_verdict gen;
};

/* Copy src into dst[cap], cut to fit (snprintf would warn of the cut). */
static void str_copy(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static bool role_is_copied(enum webmail_role r)
{
	return r == WEBMAIL_ROLE_TO || r == WEBMAIL_ROLE_CC || r == WEBMAIL_ROLE_BCC ||
	       r == WEBMAIL_ROLE_FROM || r == WEBMAIL_ROLE_SUBJECT || r == WEBMAIL_ROLE_COMPOSE_ID;
}

/* The role of a field name: first candidate signature naming it, else the
 * generic guess from the name alone. */
static enum webmail_role role_for(const struct webmail_request *w, const char *name)
{
	if (w->sigs)
		for (size_t i = 0; i < w->sigs->n; i++) {
			if (!w->cand[i])
				continue;
			int r = signature_role(&w->sigs->v[i], name);
			if (r >= 0)
				return (enum webmail_role)r;
		}
	return generic_role_of_name(name);
}

static struct kept *kept_add(struct webmail_request *w, const char *name)
{
	if (w->nkept >= w->lim.max_kept_fields) {
		w->kept_dropped++;
		return NULL;
	}
	if (w->nkept == w->kept_cap) {
		size_t nc = w->kept_cap ? w->kept_cap * 2 : 16;
		if (nc > w->lim.max_kept_fields)
			nc = w->lim.max_kept_fields;
		struct kept *nv = realloc(w->kept, nc * sizeof(*nv));
		if (!nv) {
			w->kept_dropped++;
			return NULL;
		}
		w->kept = nv;
		w->kept_cap = nc;
	}
	struct kept *k = &w->kept[w->nkept];
	k->name = strdup(name);
	k->value = malloc((size_t)w->lim.max_param_copy + 1);
	if (!k->name || !k->value) {
		free(k->name);
		free(k->value);
		w->kept_dropped++;
		return NULL;
	}
	k->len = 0;
	k->value[0] = '\0';
	w->nkept++;
	return k;
}

static void kept_append(const struct webmail_request *w, struct kept *k, const uint8_t *d,
			size_t n)
{
	if (!k)
		return;
	size_t room = w->lim.max_param_copy - k->len;
	if (n > room)
		n = room;
	memcpy(k->value + k->len, d, n);
	k->len += n;
	k->value[k->len] = '\0';
}

static void role_begin(struct webmail_request *w, enum webmail_role r, const char *name)
{
	struct role_buf *b = &w->roles[r];
	if (b->fields++ == 0)
		str_copy(b->first, sizeof(b->first), name);
}

static void emit_text(struct webmail_request *w, enum webmail_role r, const char *field,
		      const uint8_t *d, size_t n);

/* Append a role field's bytes; a field joins the earlier ones with ", "
 * once its first byte arrives (empty fields add nothing).  What does not
 * fit is cut from the copy (counted) but still streamed as text, so a huge
 * "subject" cannot carry text past inspection. */
static void role_append(struct webmail_request *w, enum webmail_role r, const char *field,
			const uint8_t *d, size_t n)
{
	struct role_buf *b = &w->roles[r];
	size_t cap = w->lim.max_field_copy;
	if (!n)
		return;
	if (!b->s) {
		if (!(b->s = malloc(cap + 1))) {
			w->truncated = true;
			emit_text(w, r, field, d, n);
			return;
		}
		b->s[0] = '\0';
	}
	if (w->sep_pending) {
		w->sep_pending = false;
		if (b->len) {
			for (const char *sep = ", "; *sep && b->len < cap; sep++)
				b->s[b->len++] = *sep;
		}
	}
	size_t room = cap - b->len, k = n;
	if (k > room) {
		k = room;
		w->truncated = true;
	}
	memcpy(b->s + b->len, d, k);
	b->len += k;
	b->s[b->len] = '\0';
	if (k < n)
		emit_text(w, r, field, d + k, n - k);
}

static void role_field_end(struct webmail_request *w)
{
	if (w->truncated)
		w->res.truncated_fields++;
	w->truncated = false;
	w->sep_pending = false;
}

/* Text to the body scope; body_bytes counts the body role's. */
static void emit_text(struct webmail_request *w, enum webmail_role r, const char *field,
		      const uint8_t *d, size_t n)
{
	if (!n)
		return;
	w->text_bytes += n;
	if (r == WEBMAIL_ROLE_BODY)
		w->body_bytes += n;
	if (w->sink && w->sink->text)
		w->sink->text(w->ctx, r, field, d, n);
}

/* ---- request-level conditions ---- */

static bool header_cond(const struct sig_cond *c, const struct http_request *req)
{
	/* every header of that name counts, not just the first */
	size_t n = req->header_count;
	const char *names[64], *values[64];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(req->headers[i].name, c->name) != 0)
			continue;
		names[k] = req->headers[i].name;
		values[k] = req->headers[i].value ? req->headers[i].value : "";
		if (++k == sizeof(names) / sizeof(names[0]))
			break;
	}
	return sig_cond_eval(c, names, values, k, false);
}

static bool request_level_match(const struct signature *s, const struct http_request *req)
{
	if (s->method && strcasecmp(s->method, req->method ? req->method : "") != 0)
		return false;
	if (s->has_host && regexec(&s->host, req->host ? req->host : "", 0, NULL, 0) != 0)
		return false;
	if (s->has_path && regexec(&s->path, req->path ? req->path : "/", 0, NULL, 0) != 0)
		return false;
	if (s->has_query && regexec(&s->query, req->query ? req->query : "", 0, NULL, 0) != 0)
		return false;
	for (size_t i = 0; i < s->nheaders; i++)
		if (!header_cond(&s->headers[i], req))
			return false;
	return true;
}

/* The query's parameters: kept for conditions, their roles copied (body
 * role text streamed: a send by GET still has its text inspected).  The
 * whole query, not w->query's cut copy: a role past 2 KiB still counts.
 * One buffer holds each decoded name and value in turn (decoding never
 * lengthens). */
static void take_query(struct webmail_request *w, const char *q)
{
	size_t name_cap = w->lim.form.max_name ? w->lim.form.max_name : 256;
	size_t qlen = strlen(q);
	char *name = malloc(name_cap + 1 + qlen + 1);
	if (!name)
		return;
	char *val = name + name_cap + 1;
	while (*q) {
		const char *amp = strchr(q, '&');
		size_t plen = amp ? (size_t)(amp - q) : strlen(q);
		const char *eq = memchr(q, '=', plen);
		size_t nlen = eq ? (size_t)(eq - q) : plen;
		if (plen) {
			form_urldecode(q, nlen, name, name_cap + 1);
			size_t vraw = eq ? plen - nlen - 1 : 0;
			size_t vlen = eq ? form_urldecode(eq + 1, vraw, val, vraw + 1) : 0;
			val[vlen] = '\0';
			struct kept *k = kept_add(w, name);
			kept_append(w, k, (const uint8_t *)val, vlen);
			enum webmail_role r = role_for(w, name);
			if (role_is_copied(r)) {
				role_begin(w, r, name);
				w->sep_pending = true;
				role_append(w, r, name, (const uint8_t *)val, vlen);
				role_field_end(w);
			} else if (r == WEBMAIL_ROLE_BODY) {
				role_begin(w, r, name);
				emit_text(w, r, name, (const uint8_t *)val, vlen);
			} else if (r == WEBMAIL_ROLE_ATTACHMENT) {
				role_begin(w, r, name);
				w->attachment_refs |= vlen > 0;
			}
		}
		if (!amp)
			break;
		q = amp + 1;
	}
	free(name);
}

/* filename= of a Content-Disposition value (raw uploads name their file
 * so), quoted or not; "" if none. */
static void disposition_filename(const char *v, char *out, size_t cap)
{
	out[0] = '\0';
	if (!v)
		return;
	for (const char *p = v; (p = strcasestr(p, "filename=")); p += 9) {
		if (p != v && p[-1] != ';' && p[-1] != ' ' && p[-1] != '\t')
			continue;
		p += 9;
		size_t n = 0;
		if (*p == '"') {
			for (p++; *p && *p != '"' && n + 1 < cap; p++) {
				if (*p == '\\' && p[1])
					p++;
				out[n++] = *p;
			}
		} else {
			for (; *p && *p != ';' && *p != ' ' && n + 1 < cap; p++)
				out[n++] = *p;
		}
		out[n] = '\0';
		return;
	}
}

/* ---- form callbacks ---- */

static void on_field_begin(void *ctx, const struct form_field *f)
{
	struct webmail_request *w = ctx;
	w->kp = NULL;
	w->file = NULL;
	w->truncated = false;
	w->sep_pending = false;
	w->is_file = f->is_file;
	w->role = f->is_file ? WEBMAIL_ROLE_ATTACHMENT : role_for(w, f->name);
	const char *filename = f->filename, *ctype = f->content_type;
	/* a raw body named as an attachment is an upload of one file */
	if (!f->is_file && w->role == WEBMAIL_ROLE_ATTACHMENT &&
	    w->form_kind == FORM_RAW) {
		w->is_file = true;
		filename = w->raw_filename;
		ctype = w->content_type;
	}
	role_begin(w, w->role, f->name);
	if (w->is_file) {
		if (w->res.file_count < WEBMAIL_MAX_FILES) {
			w->file = &w->res.files[w->res.file_count++];
			str_copy(w->file->field, sizeof(w->file->field), f->name);
			str_copy(w->file->filename, sizeof(w->file->filename), filename);
			str_copy(w->file->content_type, sizeof(w->file->content_type), ctype);
		} else {
			w->res.files_dropped++;
		}
		if (w->sink && w->sink->file_begin)
			w->sink->file_begin(w->ctx, f->name, filename, ctype);
		/* conditions see a file field with its file name as the value,
		 * as the browser's form has it */
		struct kept *k = kept_add(w, f->name);
		kept_append(w, k, (const uint8_t *)filename, strlen(filename));
		return;
	}
	w->kp = kept_add(w, f->name);
	w->sep_pending = true;
}

static void on_field_data(void *ctx, const struct form_field *f, const uint8_t *d, size_t n)
{
	struct webmail_request *w = ctx;
	if (w->is_file) {
		if (w->sink && w->sink->file_data)
			w->sink->file_data(w->ctx, d, n);
		return;
	}
	kept_append(w, w->kp, d, n);
	if (role_is_copied(w->role)) {
		role_append(w, w->role, f->name, d, n);
		return;
	}
	/* attachment references (upload ids) stream too: a field's name must
	 * not decide whether its text is inspected */
	if (w->role == WEBMAIL_ROLE_ATTACHMENT)
		w->attachment_refs |= n > 0;
	emit_text(w, w->role, f->name, d, n);
}

static void on_field_end(void *ctx, const struct form_field *f, uint64_t size)
{
	struct webmail_request *w = ctx;
	(void)f;
	if (w->is_file) {
		if (w->file)
			w->file->size = size;
		if (w->sink && w->sink->file_end)
			w->sink->file_end(w->ctx, size);
	} else if (role_is_copied(w->role)) {
		role_field_end(w);
	}
	w->is_file = false;
	w->kp = NULL;
	w->file = NULL;
}

static const struct form_callbacks form_cb = {
	.field_begin = on_field_begin,
	.field_data = on_field_data,
	.field_end = on_field_end,
};

/* ---- the request ---- */

struct webmail_request *webmail_request_begin(const struct webmail_signatures *sigs,
					      const struct webmail_limits *lim,
					      const struct http_request *req,
					      const struct webmail_sink *sink, void *ctx)
{
	if (!req) {
		errno = EINVAL;
		return NULL;
	}
	struct webmail_request *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	if (lim)
		w->lim = *lim;
	else
		webmail_limits_default(&w->lim);
	w->sigs = sigs && sigs->n ? sigs : NULL;
	w->sink = sink;
	w->ctx = ctx;
	w->content_type = strdup(req->content_type ? req->content_type : "");
	if (!w->content_type || (w->sigs && !(w->cand = calloc(w->sigs->n, 1)))) {
		free(w->content_type);
		free(w);
		return NULL;
	}
	str_copy(w->method, sizeof(w->method), req->method ? req->method : "");
	str_copy(w->path, sizeof(w->path), req->path ? req->path : "/");
	str_copy(w->query, sizeof(w->query), req->query ? req->query : "");
	w->form_kind = form_kind_of(w->content_type);
	disposition_filename(http_request_header(req, "content-disposition"), w->raw_filename,
			     sizeof(w->raw_filename));
	if (!w->raw_filename[0]) {
		const char *xf = http_request_header(req, "x-file-name");
		if (!xf)
			xf = http_request_header(req, "x-filename");
		if (xf)
			str_copy(w->raw_filename, sizeof(w->raw_filename), xf);
	}
	for (size_t i = 0; w->sigs && i < w->sigs->n; i++)
		w->cand[i] = request_level_match(&w->sigs->v[i], req);
	w->res.product = w->res.signature = "";
	take_query(w, req->query ? req->query : "");
	return w;
}

static bool want_form(struct webmail_request *w)
{
	if (w->form)
		return true;
	if (w->form_failed || w->ended)
		return false;
	/* a body whose type says nothing may be decoded as a candidate
	 * signature says (Zimbra's JSON comes as application/soap+xml) */
	const char *ct = w->content_type;
	for (size_t i = 0; w->form_kind == FORM_RAW && w->sigs && i < w->sigs->n; i++)
		if (w->cand[i] && w->sigs->v[i].decode) {
			ct = w->sigs->v[i].decode;
			w->form_kind = form_kind_of(ct);
			break;
		}
	w->form = form_decoder_new(ct, &w->lim.form, &form_cb, w);
	if (!w->form)
		w->form_failed = true;
	return w->form != NULL;
}

void webmail_request_body(struct webmail_request *w, const uint8_t *data, size_t len)
{
	if (!w || !len || !want_form(w))
		return;
	form_feed(w->form, data, len);
}

void webmail_request_gap(struct webmail_request *w, uint64_t len)
{
	if (!w || !len || !want_form(w))
		return;
	form_gap(w->form, len);
}

static const char *role_str(const struct webmail_request *w, enum webmail_role r)
{
	return w->roles[r].s ? w->roles[r].s : "";
}

/* Roles were given as fields began, by every signature still a candidate
 * then; once one signature matched, a role it does not name (the send's
 * "_from" seen in an upload's query) is not this request's. */
static void drop_foreign_roles(struct webmail_request *w, const struct signature *s)
{
	bool named[WEBMAIL_ROLE_COUNT] = {false};
	for (size_t i = 0; i < s->nroles; i++)
		named[s->roles[i].role] = true;
	for (unsigned r = 0; r < WEBMAIL_ROLE_COUNT; r++) {
		if (named[r] || !w->roles[r].s)
			continue;
		w->roles[r].s[0] = '\0';
		w->roles[r].len = 0;
	}
}

static void decide(struct webmail_request *w)
{
	struct webmail_result *res = &w->res;
	const char **names = NULL, **values = NULL;
	if (w->sigs && w->nkept) {
		names = malloc(w->nkept * sizeof(*names));
		values = malloc(w->nkept * sizeof(*values));
		if (names && values) {
			for (size_t i = 0; i < w->nkept; i++) {
				names[i] = w->kept[i].name;
				values[i] = w->kept[i].value;
			}
		}
	}
	size_t nk = names && values ? w->nkept : 0;
	for (size_t i = 0; w->sigs && i < w->sigs->n; i++) {
		const struct signature *s = &w->sigs->v[i];
		if (!w->cand[i])
			continue;
		size_t c;
		for (c = 0; c < s->nparams; c++)
			if (!sig_cond_eval(&s->params[c], names, values, nk, false))
				break;
		if (c < s->nparams)
			continue;
		res->kind = s->kind;
		str_copy(w->product, sizeof(w->product), s->product);
		str_copy(w->signature, sizeof(w->signature), s->id);
		res->product = w->product;
		res->signature = w->signature;
		res->confidence = 100;
		drop_foreign_roles(w, s);
		break;
	}
	free(names);
	free(values);
	if (res->product[0])
		return;

	struct generic_input in = {
		.method = w->method, .path = w->path, .query = w->query,
		.to_addrs = webmail_count_addresses(role_str(w, WEBMAIL_ROLE_TO)),
		.cc_addrs = webmail_count_addresses(role_str(w, WEBMAIL_ROLE_CC)),
		.bcc_addrs = webmail_count_addresses(role_str(w, WEBMAIL_ROLE_BCC)),
		.subject_text = w->roles[WEBMAIL_ROLE_SUBJECT].len > 0,
		.body_bytes = w->body_bytes,
		.files = res->file_count + res->files_dropped,
		.attachment_refs = w->attachment_refs,
	};
	for (unsigned r = 0; r < WEBMAIL_ROLE_COUNT; r++) {
		in.role_fields[r] = w->roles[r].fields;
		in.role_first[r] = w->roles[r].first;
	}
	generic_detect(&in, w->lim.generic_threshold, &w->gen);
	res->kind = w->gen.kind;
	res->confidence = w->gen.score;
	res->product = w->gen.kind != WEBMAIL_NONE ? "generic" : "";
	res->signature = "";
	for (uint32_t i = 0; i < w->gen.reason_count; i++)
		res->reasons[i] = w->gen.reasons[i];
	res->reason_count = w->gen.reason_count;
}

const struct webmail_result *webmail_request_end(struct webmail_request *w)
{
	if (!w)
		return NULL;
	if (w->ended)
		return &w->res;
	struct webmail_result *res = &w->res;
	if (w->form) {
		form_close(w->form);
		const struct form_stats *st = form_decoder_stats(w->form);
		res->form = form_decoder_kind(w->form);
		res->form_anomalies = st->anomalies;
		res->fields = st->fields;
	} else {
		res->form = form_kind_of(w->content_type);
	}
	w->ended = true;
	res->body_bytes = w->body_bytes;
	res->text_bytes = w->text_bytes;
	w->res.fields_unseen = w->kept_dropped;
	decide(w);
	/* after decide: a matched signature may have dropped roles */
	res->to = role_str(w, WEBMAIL_ROLE_TO);
	res->cc = role_str(w, WEBMAIL_ROLE_CC);
	res->bcc = role_str(w, WEBMAIL_ROLE_BCC);
	res->from = role_str(w, WEBMAIL_ROLE_FROM);
	res->subject = role_str(w, WEBMAIL_ROLE_SUBJECT);
	res->compose_id = role_str(w, WEBMAIL_ROLE_COMPOSE_ID);
	res->recipients = webmail_count_addresses(res->to) + webmail_count_addresses(res->cc) +
			  webmail_count_addresses(res->bcc);
	return res;
}

void webmail_request_free(struct webmail_request *w)
{
	if (!w)
		return;
	form_decoder_free(w->form);
	for (size_t i = 0; i < w->nkept; i++) {
		free(w->kept[i].name);
		free(w->kept[i].value);
	}
	free(w->kept);
	for (unsigned r = 0; r < WEBMAIL_ROLE_COUNT; r++)
		free(w->roles[r].s);
	free(w->cand);
	free(w->content_type);
	free(w);
}
