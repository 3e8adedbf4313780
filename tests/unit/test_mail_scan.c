/* Mail scanning end to end below the pipeline: a configuration and a rules
 * file, messages fed in chunks, the verdict, its reasons and the content
 * summary; the direction from internal networks; the per-worker attachment
 * memory budget. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/mail_scan.h"
#include "tests/unit/testlib.h"

static char dir[] = "/tmp/pst-mailscan.XXXXXX";
static char conf_path[256], rules_path[256];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

static const char rules[] =
	"rules = (\n"
	"  { id = \"secret\"; scope = [\"subject\", \"body\"]; keyword = \"top secret\"; nocase = true;\n"
	"    direction = \"outbound\"; action = \"reset\"; },\n"
	"  { id = \"to-rival\"; scope = \"rcpt\"; regex = \"@rival\\\\.example$\"; action = \"alert\"; },\n"
	"  { id = \"zip-name\"; scope = \"attachment.name\"; keyword = \"plans\"; action = \"alert\"; }\n"
	");\n";

/* Two base64 attachments of 900 bytes each ("A" * 900). */
static char *message(const char *subject, const char *body)
{
	static char buf[16384];
	char b64[1300];
	size_t o = 0;
	for (int i = 0; i < 300; i++) /* "AAA" encodes as "QUFB" */
		o += (size_t)snprintf(b64 + o, sizeof b64 - o, "QUFB%s", i % 19 == 18 ? "\r\n" : "");
	snprintf(buf, sizeof buf,
		 "From: a@corp.example\r\nSubject: %s\r\nMIME-Version: 1.0\r\n"
		 "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n"
		 "--XX\r\nContent-Type: text/plain; charset=utf-8\r\n"
		 "Content-Transfer-Encoding: quoted-printable\r\n\r\n%s\r\n"
		 "--XX\r\nContent-Type: application/octet-stream\r\n"
		 "Content-Disposition: attachment; filename=\"plans-1.bin\"\r\n"
		 "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n"
		 "--XX\r\nContent-Type: application/octet-stream\r\n"
		 "Content-Disposition: attachment; filename=\"plans-2.bin\"\r\n"
		 "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--XX--\r\n",
		 subject, body, b64, b64);
	return buf;
}

struct world {
	struct postern_config cfg;
	struct mail_policy mp;
	struct mail_scanner *ms;
};

static void world_up(struct world *w, const char *extra_conf)
{
	char text[1024], err[1024];
	snprintf(text, sizeof text, "internal_networks = [\"10.1.0.0/16\"];\nrules = [\"%s\"];\n%s",
		 rules_path, extra_conf);
	write_file(conf_path, text);
	CHECK(config_load(&w->cfg, conf_path, err, sizeof err) == 0);
	CHECK(mail_policy_load(&w->mp, &w->cfg, stderr) == 0);
	w->ms = mail_scanner_new(&w->mp, err, sizeof err);
	CHECK(w->ms != NULL);
}

static void world_down(struct world *w)
{
	mail_scanner_free(w->ms);
	mail_policy_free(&w->mp);
	config_free(&w->cfg);
}

/* Feed msg in chunks of chunk bytes (0 = whole) and decide. */
static json_t *scan(struct world *w, const uint8_t client[4], const char *msg, size_t chunk,
		    const char *rcpt, struct verdict *v)
{
	struct ip_addr a = {.family = 4};
	memcpy(a.addr, client, 4);
	struct mail_scan *s = mail_scan_begin(w->ms, &a, "a@corp.example");
	size_t n = strlen(msg);
	for (size_t i = 0; i < n;) {
		size_t k = chunk && n - i > chunk ? chunk : n - i;
		mail_scan_data(s, (const uint8_t *)msg + i, k);
		i += k;
	}
	const char *rc[1] = {rcpt};
	mail_scan_end(s, rc, 1);
	CHECK(mail_scan_ready(s));
	mail_scan_decide(s, v);
	json_t *j = mail_scan_json(s);
	json_object_set_new(j, "direction", json_string(mail_scan_direction(s)));
	mail_scan_free(s);
	return j;
}

static bool has_reason(const struct verdict *v, const char *id)
{
	for (uint32_t i = 0; i < v->reason_count; i++)
		if (!strcmp(v->reasons[i].id, id))
			return true;
	return false;
}

static void test_outbound_and_inbound(void)
{
	struct world w = {0};
	world_up(&w, "store = { enabled = false; };\n");
	static const uint8_t inside[4] = {10, 1, 2, 3}, outside[4] = {192, 0, 2, 1};
	/* "Top=20Secret" is a QP-encoded space: the keyword exists only decoded. */
	const char *msg = message("=?utf-8?q?quarterly_plan?=", "this is Top=20Secret, keep it in");
	struct verdict v, v1;
	json_t *j = scan(&w, inside, msg, 0, "boss@rival.example", &v);
	CHECK_STR(verdict_name(&v), "reset");
	CHECK(has_reason(&v, "secret"));
	CHECK(has_reason(&v, "to-rival"));
	CHECK(has_reason(&v, "zip-name"));
	CHECK_STR(json_string_value(json_object_get(j, "direction")), "outbound");
	CHECK_STR(json_string_value(json_object_get(j, "subject")), "quarterly plan");
	CHECK_EQ_U(json_array_size(json_object_get(j, "attachments")), 2);
	json_t *a0 = json_array_get(json_object_get(j, "attachments"), 0);
	CHECK_STR(json_string_value(json_object_get(a0, "name")), "plans-1.bin");
	CHECK_EQ_U(json_integer_value(json_object_get(a0, "size")), 900);
	json_decref(j);

	/* Byte by byte: the same verdict and reasons. */
	j = scan(&w, inside, msg, 1, "boss@rival.example", &v1);
	CHECK_EQ_U(v1.reason_count, v.reason_count);
	for (uint32_t i = 0; i < v.reason_count && i < v1.reason_count; i++) {
		CHECK_STR(v1.reasons[i].id, v.reasons[i].id);
		CHECK_EQ_U(v1.reasons[i].offset, v.reasons[i].offset);
	}
	json_decref(j);

	/* Inbound: the outbound-only keyword rule does not fire, the rest does. */
	j = scan(&w, outside, msg, 7, "boss@rival.example", &v);
	CHECK_STR(json_string_value(json_object_get(j, "direction")), "inbound");
	CHECK(!has_reason(&v, "secret"));
	CHECK(has_reason(&v, "to-rival"));
	CHECK_STR(verdict_name(&v), "accept");
	json_decref(j);
	world_down(&w);
}

static void test_attachment_budget(void)
{
	struct world w = {0};
	/* 1 MiB budget, but two scans open at once with attachments in flight:
	 * feed a first message's attachment partly, then a second whole. */
	world_up(&w, "store = { enabled = false; };\nattachments = { max_total_buffer = \"1M\"; };\n");
	static const uint8_t inside[4] = {10, 1, 2, 3};
	struct ip_addr a = {.family = 4};
	memcpy(a.addr, inside, 4);

	/* A message whose one attachment is 1 MiB + 3 bytes of "AAA". */
	size_t quanta = (1u << 20) / 3 + 1;
	size_t cap = quanta * 4 + quanta / 19 * 2 + 1024;
	char *big = malloc(cap);
	size_t o = (size_t)snprintf(big, cap,
				    "Content-Type: application/octet-stream\r\n"
				    "Content-Disposition: attachment; filename=\"big.bin\"\r\n"
				    "Content-Transfer-Encoding: base64\r\n\r\n");
	for (size_t i = 0; i < quanta; i++) {
		memcpy(big + o, "QUFB", 4);
		o += 4;
		if (i % 19 == 18) {
			memcpy(big + o, "\r\n", 2);
			o += 2;
		}
	}
	big[o] = '\0';
	struct mail_scan *s = mail_scan_begin(w.ms, &a, "a@corp.example");
	mail_scan_data(s, (const uint8_t *)big, o);
	mail_scan_end(s, NULL, 0);
	struct verdict v;
	mail_scan_decide(s, &v);
	/* Past the budget: analysed from what fitted, hashed whole, counted. */
	CHECK(has_reason(&v, "truncated"));
	CHECK_EQ_U(mail_scanner_stats(w.ms)->attachment_budget_short, 1);
	json_t *j = mail_scan_json(s);
	CHECK_EQ_U(json_integer_value(json_object_get(json_array_get(json_object_get(j, "attachments"), 0), "size")),
		   quanta * 3);
	json_decref(j);
	mail_scan_free(s);

	/* The budget is given back: a small attachment afterwards is whole. */
	json_t *j2 = scan(&w, inside, message("x", "y"), 0, "r@corp.example", &v);
	CHECK(!has_reason(&v, "truncated"));
	CHECK_EQ_U(mail_scanner_stats(w.ms)->attachment_budget_short, 1);
	json_decref(j2);
	free(big);
	world_down(&w);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(conf_path, sizeof conf_path, "%s/t.conf", dir);
	snprintf(rules_path, sizeof rules_path, "%s/t.rules", dir);
	write_file(rules_path, rules);
	RUN(test_outbound_and_inbound);
	RUN(test_attachment_budget);
	unlink(conf_path);
	unlink(rules_path);
	rmdir(dir);
	return tl_finish();
}
