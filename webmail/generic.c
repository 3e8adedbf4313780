/* The generic detector: is a request that no signature knows a mail send?
 * The weights and why they are what they are: docs/webmail.md ("How the
 * generic detector decides").  Only a recipient field holding real
 * addresses weighs enough to lift a request near the threshold; everything
 * else (a subject, a text, a word in the path) merely supports it, so forms
 * that have a title and a text but nobody to send to stay below it. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "webmail/webmail_priv.h"

#define W_RECIPIENTS 40    /* a to-like field whose value is an address list */
#define W_RECIPIENT_FIELD 5 /* a to-like field without addresses */
#define W_COPY 10          /* cc/bcc fields holding addresses */
#define W_COPY_FIELD 5     /* cc/bcc fields, empty */
#define W_SUBJECT 15
#define W_SUBJECT_FIELD 5  /* subject-like field, empty */
#define W_BODY 15
#define W_ATTACH 5
#define W_WORD 10          /* send/compose/mail/message/draft in path or query */
#define W_POST 5

/* ---- names ---- */

struct name_role {
	const char *name;      /* lower case, without '_' and '-' */
	enum webmail_role role;
};

static const struct name_role name_roles[] = {
	{"to", WEBMAIL_ROLE_TO},           {"recipient", WEBMAIL_ROLE_TO},
	{"recipients", WEBMAIL_ROLE_TO},   {"rcpt", WEBMAIL_ROLE_TO},
	{"rcpts", WEBMAIL_ROLE_TO},        {"rcptto", WEBMAIL_ROLE_TO},
	{"mailto", WEBMAIL_ROLE_TO},       {"sendto", WEBMAIL_ROLE_TO},
	{"torecipients", WEBMAIL_ROLE_TO}, {"toaddress", WEBMAIL_ROLE_TO},
	{"toaddr", WEBMAIL_ROLE_TO},       {"cc", WEBMAIL_ROLE_CC},
	{"sendtocc", WEBMAIL_ROLE_CC},     {"ccrecipients", WEBMAIL_ROLE_CC},
	{"bcc", WEBMAIL_ROLE_BCC},         {"sendtobcc", WEBMAIL_ROLE_BCC},
	{"bccrecipients", WEBMAIL_ROLE_BCC}, {"from", WEBMAIL_ROLE_FROM},
	{"sender", WEBMAIL_ROLE_FROM},     {"subject", WEBMAIL_ROLE_SUBJECT},
	{"subj", WEBMAIL_ROLE_SUBJECT},    {"title", WEBMAIL_ROLE_SUBJECT},
	{"body", WEBMAIL_ROLE_BODY},       {"message", WEBMAIL_ROLE_BODY},
	{"msg", WEBMAIL_ROLE_BODY},        {"content", WEBMAIL_ROLE_BODY},
	{"text", WEBMAIL_ROLE_BODY},       {"html", WEBMAIL_ROLE_BODY},
	{"plain", WEBMAIL_ROLE_BODY},      {"bodyhtml", WEBMAIL_ROLE_BODY},
	{"htmlbody", WEBMAIL_ROLE_BODY},   {"textbody", WEBMAIL_ROLE_BODY},
	{"messagebody", WEBMAIL_ROLE_BODY}, {"attachment", WEBMAIL_ROLE_ATTACHMENT},
	{"attachments", WEBMAIL_ROLE_ATTACHMENT}, {"attach", WEBMAIL_ROLE_ATTACHMENT},
};

enum webmail_role generic_role_of_name(const char *name)
{
	/* the last component of a key path, without array subscripts:
	 * "Body.Items.ToRecipients" -> torecipients, "_to[]" -> to */
	const char *last = strrchr(name, '.');
	last = last ? last + 1 : name;
	char key[32];
	size_t n = 0;
	for (const char *p = last; *p && *p != '['; p++) {
		if (*p == '_' || *p == '-')
			continue;
		if (n + 1 == sizeof(key))
			return WEBMAIL_ROLE_NONE;
		key[n++] = (char)tolower((unsigned char)*p);
	}
	key[n] = '\0';
	if (!n)
		return WEBMAIL_ROLE_NONE;
	for (size_t i = 0; i < sizeof(name_roles) / sizeof(name_roles[0]); i++)
		if (strcmp(key, name_roles[i].name) == 0)
			return name_roles[i].role;
	return WEBMAIL_ROLE_NONE;
}

/* ---- addresses ---- */

static bool local_char(unsigned char c)
{
	return isalnum(c) || c >= 0x80 || strchr("!#$%&'*+/=?^_`{|}~.-", c);
}

static bool domain_char(unsigned char c)
{
	return isalnum(c) || c >= 0x80 || c == '-';
}

/* Is [s, s+n) exactly local@domain, domain having at least two labels? */
static bool is_address(const char *s, size_t n)
{
	const char *at = NULL;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '@')
			at = s + i;
	if (!at || at == s || (size_t)(at - s) > 64 || n - (size_t)(at - s) - 1 > 253)
		return false;
	for (const char *p = s; p < at; p++)
		if (!local_char((unsigned char)*p))
			return false;
	const char *d = at + 1, *end = s + n;
	if (d == end || *d == '.' || end[-1] == '.')
		return false;
	unsigned labels = 1;
	for (const char *p = d; p < end; p++) {
		if (*p == '.') {
			if (p[1] == '.')
				return false;
			labels++;
		} else if (!domain_char((unsigned char)*p)) {
			return false;
		}
	}
	return labels >= 2;
}

/* One list entry: "Name <a@b>" counts its bracketed address; otherwise
 * every whitespace-separated token that is an address counts. */
static uint32_t count_entry(const char *s, size_t n)
{
	const char *lt = NULL, *gt = NULL;
	bool quoted = false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			quoted = !quoted;
		else if (!quoted && s[i] == '<')
			lt = s + i;
		else if (!quoted && s[i] == '>' && lt)
			gt = s + i;
	}
	if (lt && gt && gt > lt)
		return is_address(lt + 1, (size_t)(gt - lt - 1));
	uint32_t k = 0;
	size_t i = 0;
	while (i < n) {
		while (i < n && isspace((unsigned char)s[i]))
			i++;
		size_t b = i;
		while (i < n && !isspace((unsigned char)s[i]))
			i++;
		if (i > b && is_address(s + b, i - b))
			k++;
	}
	return k;
}

uint32_t webmail_count_addresses(const char *s)
{
	uint32_t k = 0;
	bool quoted = false, angle = false;
	const char *b = s;
	for (const char *p = s;; p++) {
		char c = *p;
		if (c == '"' && !angle)
			quoted = !quoted;
		else if (c == '<' && !quoted)
			angle = true;
		else if (c == '>' && !quoted)
			angle = false;
		bool sep = c == '\0' || (!quoted && !angle && (c == ',' || c == ';' || c == '\n' ||
							       c == '\r'));
		if (!sep)
			continue;
		k += count_entry(b, (size_t)(p - b));
		if (c == '\0')
			break;
		b = p + 1;
	}
	return k;
}

/* ---- scoring ---- */

__attribute__((format(printf, 2, 3))) static void reason(struct generic_verdict *v,
							   const char *fmt, ...)
{
	if (v->reason_count >= WEBMAIL_MAX_REASONS)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->reasons[v->reason_count++], sizeof(v->reasons[0]), fmt, ap);
	va_end(ap);
}

static const char *word_in(const char *path, const char *query, const char *const *words)
{
	for (; *words; words++)
		if (strcasestr(path, *words) || strcasestr(query, *words))
			return *words;
	return NULL;
}

void generic_detect(const struct generic_input *in, uint32_t threshold,
		    struct generic_verdict *v)
{
	static const char *const mail_words[] = {"send", "compose", "mail", "message", "draft",
						 NULL};
	static const char *const upload_words[] = {"upload", "attach", NULL};
	const char *path = in->path ? in->path : "", *query = in->query ? in->query : "";
	memset(v, 0, sizeof(*v));
	uint32_t s = 0;

	if (in->to_addrs) {
		s += W_RECIPIENTS;
		reason(v, "recipient field '%s' holds %u address(es)",
		       in->role_first[WEBMAIL_ROLE_TO], in->to_addrs);
	} else if (in->role_fields[WEBMAIL_ROLE_TO]) {
		s += W_RECIPIENT_FIELD;
		reason(v, "recipient field '%s' without addresses",
		       in->role_first[WEBMAIL_ROLE_TO]);
	}
	uint32_t copies = in->cc_addrs + in->bcc_addrs;
	enum webmail_role cr =
		in->role_fields[WEBMAIL_ROLE_CC] ? WEBMAIL_ROLE_CC : WEBMAIL_ROLE_BCC;
	if (copies) {
		s += W_COPY;
		reason(v, "cc/bcc field '%s' holds %u address(es)",
		       in->role_first[in->cc_addrs ? WEBMAIL_ROLE_CC : WEBMAIL_ROLE_BCC], copies);
	} else if (in->role_fields[cr]) {
		s += W_COPY_FIELD;
		reason(v, "cc/bcc field '%s'", in->role_first[cr]);
	}
	if (in->subject_text) {
		s += W_SUBJECT;
		reason(v, "subject field '%s'", in->role_first[WEBMAIL_ROLE_SUBJECT]);
	} else if (in->role_fields[WEBMAIL_ROLE_SUBJECT]) {
		s += W_SUBJECT_FIELD;
		reason(v, "empty subject field '%s'", in->role_first[WEBMAIL_ROLE_SUBJECT]);
	}
	if (in->body_bytes) {
		s += W_BODY;
		reason(v, "body field '%s' with %u bytes of text",
		       in->role_first[WEBMAIL_ROLE_BODY],
		       in->body_bytes > 0xffffffffu ? 0xffffffffu : (unsigned)in->body_bytes);
	}
	if (in->files || in->attachment_refs) {
		s += W_ATTACH;
		if (in->files)
			reason(v, "%u file(s) uploaded", in->files);
		else
			reason(v, "attachment field '%s' references uploads",
			       in->role_first[WEBMAIL_ROLE_ATTACHMENT]);
	}
	const char *word = word_in(path, query, mail_words);
	if (word) {
		s += W_WORD;
		reason(v, "path or query mentions '%s'", word);
	}
	bool post = in->method && strcasecmp(in->method, "POST") == 0;
	if (post) {
		s += W_POST;
		reason(v, "method %s", "POST");
	}
	v->score = s > 100 ? 100 : s;

	uint32_t addrs = in->to_addrs + copies;
	if (addrs && v->score >= threshold) {
		/* a save of a draft says so; a send does not have to */
		bool draft = word_in(path, query, (const char *const[]){"draft", NULL}) &&
			     !word_in(path, query, (const char *const[]){"send", NULL});
		v->kind = draft ? WEBMAIL_DRAFT : WEBMAIL_SEND;
	} else if (!addrs && in->files && word_in(path, query, upload_words) && word) {
		v->kind = WEBMAIL_UPLOAD;
	} else {
		v->kind = WEBMAIL_NONE;
	}
}
