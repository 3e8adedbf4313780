/* postern verdicts: list the verdict records in the store, filtered, as
 * aligned text columns or as the stored JSON lines. */
#include "postern/commands.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "postern/cli_util.h"
#include "store/store.h"

static const char verdicts_usage[] =
	"Usage: postern verdicts --db DIR [OPTIONS]\n"
	"\n"
	"List the verdicts postern stored, one per decided mail transaction, oldest\n"
	"first.  Every filter given must match.  The store can be read while postern\n"
	"writes to it; the listing is one consistent snapshot.\n"
	"\n"
	"Options:\n"
	"      --db DIR           the verdict store (LMDB environment directory)\n"
	"      --since TIME       records committed at or after TIME\n"
	"      --until TIME       records committed before TIME (not at it)\n"
	"      --verdict V        'accept', 'reset' or 'redirect' (webmail)\n"
	"      --sender S         the envelope sender contains S (case-insensitive)\n"
	"      --recipient S      a recipient contains S (case-insensitive)\n"
	"      --rule ID          a reason of the verdict is rule ID (exact)\n"
	"      --limit N          print at most N records\n"
	"      --newest-first     newest record first (with --limit: the N newest)\n"
	"      --json             print each record as stored: one JSON object per line\n"
	"  -h, --help             show this help\n"
	"\n"
	"TIME is UTC, ISO 8601: 2026-11-23T10:00:00Z, 2026-11-23T10:00Z,\n"
	"2026-11-23T10:00:00.25Z or 2026-11-23 (midnight); the Z may be left out, a\n"
	"space may stand for the T.  Or seconds since the epoch: 1795428000.\n"
	"\n"
	"Text columns: commit time (UTC), verdict, flow id, transaction index,\n"
	"envelope sender (<> for the null sender), first recipient (+N more),\n"
	"subject, ids of the reasons (comma-separated).  Long values are cut (…),\n"
	"control characters shown as '?', a missing field as '-'.\n"
	"\n"
	"Exit status: 0 on success (also when no record matched), 1 when the store\n"
	"cannot be read, 2 on usage errors.\n";

enum {
	OPT_DB = 256,
	OPT_SINCE,
	OPT_UNTIL,
	OPT_VERDICT,
	OPT_SENDER,
	OPT_RECIPIENT,
	OPT_RULE,
	OPT_LIMIT,
	OPT_NEWEST_FIRST,
	OPT_JSON,
};

static const struct option verdicts_options[] = {
	{"db", required_argument, NULL, OPT_DB},
	{"since", required_argument, NULL, OPT_SINCE},
	{"until", required_argument, NULL, OPT_UNTIL},
	{"verdict", required_argument, NULL, OPT_VERDICT},
	{"sender", required_argument, NULL, OPT_SENDER},
	{"recipient", required_argument, NULL, OPT_RECIPIENT},
	{"rule", required_argument, NULL, OPT_RULE},
	{"limit", required_argument, NULL, OPT_LIMIT},
	{"newest-first", no_argument, NULL, OPT_NEWEST_FIRST},
	{"json", no_argument, NULL, OPT_JSON},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* Exactly n decimal digits at *p, advancing it; -1 if not. */
static int take_digits(const char **p, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	return v;
}

static int days_in_month(int year, int month)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return month == 2 && leap ? 29 : days[month - 1];
}

/* ISO 8601 UTC (date, optional time with optional seconds and fraction,
 * optional Z) or epoch seconds, to µs since the epoch; -1 if malformed. */
static int parse_time(const char *s, uint64_t *out_us)
{
	uint64_t v;
	if (cli_parse_u64(s, 0, UINT64_MAX / 1000000, &v) == 0) {
		*out_us = v * 1000000;
		return 0;
	}
	const char *p = s;
	int year, month, day, hour = 0, min = 0, sec = 0;
	uint64_t frac_us = 0;
	if ((year = take_digits(&p, 4)) < 0 || *p++ != '-' || (month = take_digits(&p, 2)) < 0 ||
	    *p++ != '-' || (day = take_digits(&p, 2)) < 0)
		return -1;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if ((hour = take_digits(&p, 2)) < 0 || *p++ != ':' || (min = take_digits(&p, 2)) < 0)
			return -1;
		if (*p == ':') {
			p++;
			if ((sec = take_digits(&p, 2)) < 0)
				return -1;
			if (*p == '.' || *p == ',') {
				p++;
				int digits = 0;
				for (; *p >= '0' && *p <= '9'; p++, digits++)
					if (digits < 6)
						frac_us = frac_us * 10 + (uint64_t)(*p - '0');
				if (!digits)
					return -1;
				for (; digits < 6; digits++)
					frac_us *= 10;
			}
		}
		if (*p == 'Z' || *p == 'z')
			p++;
	}
	if (*p || year < 1970 || month < 1 || month > 12 || day < 1 ||
	    day > days_in_month(year, month) || hour > 23 || min > 59 || sec > 59)
		return -1;
	struct tm tm = {.tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day,
			.tm_hour = hour, .tm_min = min, .tm_sec = sec};
	time_t t = timegm(&tm);
	if (t < 0)
		return -1;
	*out_us = (uint64_t)t * 1000000 + frac_us;
	return 0;
}

/* Copy s into dst cut to width columns (one per code point) with an
 * ellipsis, control characters as '?'; returns the columns used. */
static size_t fit(char *dst, size_t cap, const char *s, size_t width)
{
	size_t cols = 0, len = strlen(s);
	for (size_t i = 0; i < len; i++)
		cols += ((unsigned char)s[i] & 0xc0) != 0x80;
	size_t room = cols > width ? width - 1 : width, used = 0, o = 0;
	if (!width || cap < 8) {
		dst[0] = '\0';
		return 0;
	}
	for (size_t i = 0; i < len && o + 4 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		/* room for this code point (4 bytes at most), the ellipsis and NUL */
		if ((c & 0xc0) != 0x80 && (used++ == room || o + 8 > cap))
			break;
		if (c == 0xc2 && (unsigned char)s[i + 1] >= 0x80 && (unsigned char)s[i + 1] <= 0x9f) {
			dst[o++] = '?'; /* C1 control: a terminal may act on it like ESC */
			i++;
			continue;
		}
		dst[o++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	if (cols > width) {
		memcpy(dst + o, "\xe2\x80\xa6", 3); /* U+2026 */
		o += 3;
	}
	dst[o] = '\0';
	return cols > width ? width : cols;
}

/* s in exactly width columns, then a space, or a newline when last. */
static void put_column(FILE *out, const char *s, size_t width, bool last)
{
	char buf[4096];
	size_t cols = fit(buf, sizeof buf, s, width);
	fputs(buf, out);
	if (!last)
		for (; cols < width; cols++)
			fputc(' ', out);
	fputc(last ? '\n' : ' ', out);
}

/* Column widths: a flow id of two IPv4 endpoints fits whole. */
enum { W_TIME = 20, W_VERDICT = 8, W_FLOW = 43, W_TX = 3, W_FROM = 28, W_TO = 32, W_SUBJECT = 32 };
#define W_LAST 1024 /* the reasons: not cut */

static void put_header(FILE *out)
{
	put_column(out, "TIME", W_TIME, false);
	put_column(out, "VERDICT", W_VERDICT, false);
	put_column(out, "FLOW", W_FLOW, false);
	put_column(out, "TX", W_TX, false);
	put_column(out, "FROM", W_FROM, false);
	put_column(out, "TO", W_TO, false);
	put_column(out, "SUBJECT", W_SUBJECT, false);
	put_column(out, "REASONS", W_LAST, true);
}

static const char *str_or_dash(json_t *v)
{
	const char *s = json_string_value(v);
	return s && *s ? s : "-";
}

static void put_record_line(FILE *out, json_t *rec)
{
	char buf[1024];
	json_t *v;

	/* time: from the µs field, else the stored ISO text */
	v = json_object_get(rec, "ts_commit_us");
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		time_t t = (time_t)(json_integer_value(v) / 1000000);
		struct tm tm;
		if (!gmtime_r(&t, &tm) || !strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm))
			snprintf(buf, sizeof buf, "-");
		put_column(out, buf, W_TIME, false);
	} else {
		put_column(out, str_or_dash(json_object_get(rec, "ts_commit")), W_TIME, false);
	}
	put_column(out, str_or_dash(json_object_get(rec, "verdict")), W_VERDICT, false);

	v = json_object_get(rec, "flow");
	if (json_is_integer(v))
		snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else
		snprintf(buf, sizeof buf, "%s", str_or_dash(v));
	put_column(out, buf, W_FLOW, false);
	v = json_object_get(rec, "tx");
	if (json_is_integer(v))
		snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else
		snprintf(buf, sizeof buf, "-");
	put_column(out, buf, W_TX, false);

	v = json_object_get(rec, "mail_from");
	put_column(out, json_is_string(v) && !*json_string_value(v) ? "<>" : str_or_dash(v), W_FROM,
		   false);

	/* first recipient, cut so that "(+N more)" stays visible */
	v = json_object_get(rec, "rcpt");
	if (!v) /* records built from the transaction event */
		v = json_object_get(rec, "rcpt_to");
	size_t n_rcpt = json_array_size(v);
	if (n_rcpt > 1) {
		char more[32];
		int mlen = snprintf(more, sizeof more, " (+%zu more)", n_rcpt - 1);
		fit(buf, sizeof buf - sizeof more, str_or_dash(json_array_get(v, 0)),
		    W_TO - (size_t)mlen);
		strcat(buf, more);
		put_column(out, buf, W_TO, false);
	} else {
		put_column(out, str_or_dash(json_array_get(v, 0)), W_TO, false);
	}

	/* the decoded subject: "subject", else the event's content.subject,
	 * else the raw header */
	v = json_object_get(rec, "subject");
	if (!json_is_string(v))
		v = json_object_get(json_object_get(rec, "content"), "subject");
	if (!json_is_string(v))
		v = json_object_get(json_object_get(rec, "headers"), "subject");
	put_column(out, str_or_dash(v), W_SUBJECT, false);

	size_t i, used = 0;
	json_t *reason;
	buf[0] = '\0';
	json_t *reasons = json_object_get(rec, "reasons");
	json_array_foreach(reasons, i, reason) {
		const char *id = json_string_value(json_object_get(reason, "id"));
		/* Each id once, in first-seen order: the JSON keeps every reason. */
		bool seen = false;
		for (size_t j = 0; id && j < i && !seen; j++) {
			const char *prev = json_string_value(json_object_get(json_array_get(reasons, j), "id"));
			seen = prev && !strcmp(prev, id);
		}
		if (id && !seen && used < sizeof buf) {
			int w = snprintf(buf + used, sizeof buf - used, "%s%s", used ? "," : "", id);
			used += w > 0 ? (size_t)w : 0;
		}
	}
	put_column(out, used ? buf : "-", W_LAST, true);
}

struct print_ctx {
	FILE *out;
	bool json, header_done;
};

static bool print_record(void *arg, const char *json, size_t len)
{
	struct print_ctx *p = arg;
	if (p->json) {
		fwrite(json, 1, len, p->out);
		fputc('\n', p->out);
		return !ferror(p->out);
	}
	if (!p->header_done) {
		put_header(p->out);
		p->header_done = true;
	}
	json_t *rec = json_loadb(json, len, 0, NULL);
	if (json_is_object(rec))
		put_record_line(p->out, rec);
	else
		fputs("(a stored record that is not a JSON object; see --json)\n", p->out);
	json_decref(rec);
	return !ferror(p->out);
}

int cmd_verdicts(int argc, char **argv)
{
	struct store_filter f = {0};
	const char *db = NULL;
	bool json = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", verdicts_options, NULL)) != -1) {
		switch (c) {
		case OPT_DB:
			db = optarg;
			break;
		case OPT_SINCE:
		case OPT_UNTIL:
			if (parse_time(optarg, c == OPT_SINCE ? &f.since_us : &f.until_us) < 0) {
				cli_error("verdicts: %s: '%s' is not a UTC time (2026-11-23T10:00:00Z, "
					  "2026-11-23 or epoch seconds)",
					  c == OPT_SINCE ? "--since" : "--until", optarg);
				return 2;
			}
			break;
		case OPT_VERDICT:
			if (strcmp(optarg, "accept") && strcmp(optarg, "reset") && strcmp(optarg, "redirect")) {
				cli_error("verdicts: --verdict: '%s' is not 'accept', 'reset' or 'redirect'",
					  optarg);
				return 2;
			}
			f.verdict = optarg;
			break;
		case OPT_SENDER:
			f.sender = optarg;
			break;
		case OPT_RECIPIENT:
			f.recipient = optarg;
			break;
		case OPT_RULE:
			f.rule = optarg;
			break;
		case OPT_LIMIT:
			if (cli_parse_u64(optarg, 1, UINT64_MAX, &f.limit) < 0) {
				cli_error("verdicts: --limit: '%s' is not a number of at least 1", optarg);
				return 2;
			}
			break;
		case OPT_NEWEST_FIRST:
			f.newest_first = true;
			break;
		case OPT_JSON:
			json = true;
			break;
		case 'h':
			fputs(verdicts_usage, stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'postern verdicts --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		cli_error("verdicts: unexpected argument '%s' (try 'postern verdicts --help')",
			  argv[optind]);
		return 2;
	}
	if (!db) {
		cli_error("verdicts: --db DIR is required (try 'postern verdicts --help')");
		return 2;
	}
	if (f.since_us && f.until_us && f.since_us >= f.until_us) {
		cli_error("verdicts: --since must be before --until");
		return 2;
	}

	static char outbuf[1 << 16];
	setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
	struct print_ctx p = {.out = stdout, .json = json};
	char err[512];
	long n = store_list(db, &f, print_record, &p, err, sizeof err);
	if (n < 0) {
		cli_error("verdicts: %s", err);
		return 1;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error("verdicts: writing the listing failed");
		return 1;
	}
	return 0;
}
