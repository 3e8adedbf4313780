/* Attachment analysis on fixtures made by real tools (tests/data/attachments/
 * make_fixtures.sh) and the test ClamAV signatures in tests/data/clamav.
 * Optional argument: the tests/data directory (default: found from __FILE__,
 * which is relative to the build directory meson runs tests in). */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "attachments/attachment.h"
#include "tests/unit/testlib.h"

static char data_dir[1024];

struct blob {
	uint8_t *d;
	size_t n;
};

static struct blob load(const char *name)
{
	char path[1200];
	snprintf(path, sizeof(path), "%s/attachments/%s", data_dir, name);
	struct blob b = {0};
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "cannot open %s\n", path);
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b.d = malloc(n > 0 ? (size_t)n : 1);
	b.n = fread(b.d, 1, (size_t)n, f);
	fclose(f);
	return b;
}

static struct attachment_engine *engine(const struct attachment_config *c)
{
	char err[512] = "";
	struct attachment_engine *e = attachment_engine_new(c, err, sizeof(err));
	if (!e) {
		fprintf(stderr, "engine: %s\n", err);
		exit(2);
	}
	return e;
}

static struct attachment_engine *default_engine(bool av)
{
	static char avdir[1200];
	struct attachment_config c;
	attachment_config_default(&c);
	snprintf(avdir, sizeof(avdir), "%s/clamav", data_dir);
	c.clamav_db_dir = av ? avdir : NULL;
	return engine(&c);
}

struct expect {
	enum attachment_finding_kind kind;
	const char *path, *detail;
};

static void dump(const struct attachment_result *r)
{
	for (uint32_t i = 0; i < r->finding_count; i++)
		fprintf(stderr, "    got %s %s [%s]\n", attachment_finding_name(r->findings[i].kind),
			r->findings[i].path, r->findings[i].detail);
}

/* The findings, exactly and in order. */
static void check_findings(const struct attachment_result *r, const struct expect *x, size_t n)
{
	unsigned before = tl_failed;
	CHECK_EQ_U(r->finding_count, n);
	for (size_t i = 0; i < n && i < r->finding_count; i++) {
		CHECK_STR(attachment_finding_name(r->findings[i].kind), attachment_finding_name(x[i].kind));
		CHECK_STR(r->findings[i].path, x[i].path);
		CHECK_STR(r->findings[i].detail, x[i].detail);
	}
	CHECK_EQ_U(r->findings_dropped, 0);
	if (tl_failed != before)
		dump(r);
}

#define EXPECT(r, ...)                                                                  \
	do {                                                                            \
		const struct expect x_[] = {__VA_ARGS__};                              \
		check_findings((r), x_, sizeof(x_) / sizeof(x_[0]));                   \
	} while (0)
#define EXPECT_NONE(r) check_findings((r), NULL, 0)

static struct attachment_engine *g_av; /* default config + test signatures */

/* Analyse a fixture under its own name (or rename). */
static struct attachment_analysis *run(struct attachment_engine *e, const char *file, const char *as,
				       const struct attachment_result **r)
{
	struct blob b = load(file);
	struct attachment_analysis *a = attachment_begin(e, as ? as : file, "", NULL, NULL);
	*r = attachment_analyse_buffer(a, b.d, b.n);
	CHECK_EQ_U((*r)->size, b.n);
	CHECK_EQ_U((*r)->av_errors, 0);
	free(b.d);
	return a;
}

static void test_names(void)
{
	CHECK_STR(attachment_finding_name(FINDING_BLOCKED_EXTENSION), "blocked_extension");
	CHECK_STR(attachment_finding_name(FINDING_TRUNCATED), "truncated");
	CHECK_STR(attachment_finding_name(FINDING_KIND_COUNT), "unknown");
	struct attachment_config c;
	attachment_config_default(&c);
	CHECK_EQ_U(c.max_buffer, 32u << 20);
	CHECK_EQ_U(c.max_archive_depth, 2);
	CHECK_EQ_U(c.max_ratio, 100);
	CHECK(c.blocked_extensions == NULL && c.hash_list == NULL && c.clamav_db_dir == NULL);
}

static const struct attachment_result *name_only(struct attachment_engine *e, const char *name,
						  struct attachment_analysis **a)
{
	static const uint8_t text[] = "just some words\n";
	*a = attachment_begin(e, name, "", NULL, NULL);
	return attachment_analyse_buffer(*a, text, sizeof(text) - 1);
}

static void test_extension_tricks(void)
{
	struct attachment_engine *e = default_engine(false);
	struct attachment_analysis *a;
	const struct attachment_result *r;
	r = name_only(e, "notes.txt", &a);
	EXPECT_NONE(r);
	CHECK_STR(r->true_type, "text/plain");
	attachment_free(a);
	r = name_only(e, "setup.exe", &a);
	EXPECT(r, {FINDING_BLOCKED_EXTENSION, "setup.exe", "exe"});
	attachment_free(a);
	r = name_only(e, "RUN.VBS", &a);
	EXPECT(r, {FINDING_BLOCKED_EXTENSION, "RUN.VBS", "vbs"});
	attachment_free(a);
	r = name_only(e, "invoice.pdf.exe", &a);
	EXPECT(r, {FINDING_BLOCKED_EXTENSION, "invoice.pdf.exe", "exe (double extension pdf.exe)"});
	attachment_free(a);
	r = name_only(e, "x.exe.", &a);
	EXPECT(r, {FINDING_BLOCKED_EXTENSION, "x.exe.", "exe (trailing dots/spaces)"});
	attachment_free(a);
	r = name_only(e, "x.scr . .", &a);
	EXPECT(r, {FINDING_BLOCKED_EXTENSION, "x.scr . .", "scr (trailing dots/spaces)"});
	attachment_free(a);
	/* Displays as "invoiceexe.pdf"; the real extension is exe. */
	r = name_only(e, "invoice\xE2\x80\xAE" "fdp.exe", &a);
	EXPECT(r, {FINDING_TYPE_MISMATCH, "invoice\xE2\x80\xAE" "fdp.exe", "bidi control U+202E in name"},
	       {FINDING_BLOCKED_EXTENSION, "invoice\xE2\x80\xAE" "fdp.exe", "exe"});
	attachment_free(a);
	r = name_only(e, "photo\xE2\x81\xA6gpj.txt", &a);
	EXPECT(r, {FINDING_TYPE_MISMATCH, "photo\xE2\x81\xA6gpj.txt", "bidi control U+2066 in name"});
	attachment_free(a);
	r = name_only(e, "exe", &a); /* no extension */
	EXPECT_NONE(r);
	attachment_free(a);
	r = name_only(e, "dir/file.js", &a);
	EXPECT(r, {FINDING_BLOCKED_EXTENSION, "dir/file.js", "js"});
	attachment_free(a);
	r = name_only(e, "", &a);
	EXPECT_NONE(r);
	attachment_free(a);
	attachment_engine_free(e);

	/* A caller's own list replaces the default one. */
	char *mine[] = {".FOO", "docm"};
	struct attachment_config c;
	attachment_config_default(&c);
	c.blocked_extensions = mine;
	c.blocked_extension_count = 2;
	e = engine(&c);
	r = name_only(e, "a.foo", &a);
	EXPECT(r, {FINDING_BLOCKED_EXTENSION, "a.foo", "foo"});
	attachment_free(a);
	r = name_only(e, "a.exe", &a);
	EXPECT_NONE(r);
	attachment_free(a);
	attachment_engine_free(e);
}

static void test_true_type(void)
{
	const struct attachment_result *r;
	struct attachment_analysis *a = run(g_av, "invoice.pdf", NULL, &r);
	CHECK_STR(r->true_type, "application/x-executable");
	EXPECT(r, {FINDING_EXECUTABLE, "invoice.pdf", "application/x-executable"},
	       {FINDING_TYPE_MISMATCH, "invoice.pdf", "application/x-executable content named as document"});
	attachment_free(a);
	a = run(g_av, "report.docx", NULL, &r);
	CHECK_STR(r->true_type, "application/vnd.microsoft.portable-executable");
	EXPECT(r, {FINDING_EXECUTABLE, "report.docx", "application/vnd.microsoft.portable-executable"},
	       {FINDING_TYPE_MISMATCH, "report.docx",
		"application/vnd.microsoft.portable-executable content named as document"});
	attachment_free(a);
	a = run(g_av, "photo.jpg", NULL, &r);
	EXPECT(r, {FINDING_EXECUTABLE, "photo.jpg", "text/x-shellscript"},
	       {FINDING_TYPE_MISMATCH, "photo.jpg", "text/x-shellscript content named as image"});
	attachment_free(a);
	/* An executable under a neutral name: executable, no mismatch. */
	a = run(g_av, "invoice.pdf", "tool", &r);
	EXPECT(r, {FINDING_EXECUTABLE, "tool", "application/x-executable"});
	attachment_free(a);
	/* No extension: the declared MIME type is the claim. */
	struct blob b = load("photo.jpg");
	a = attachment_begin(g_av, "photo", "image/jpeg", NULL, NULL);
	r = attachment_analyse_buffer(a, b.d, b.n);
	CHECK_STR(r->declared_type, "image/jpeg");
	EXPECT(r, {FINDING_EXECUTABLE, "photo", "text/x-shellscript"},
	       {FINDING_TYPE_MISMATCH, "photo", "text/x-shellscript content named as image"});
	attachment_free(a);
	free(b.d);
}

static void test_office(void)
{
	const struct attachment_result *r;
	struct attachment_analysis *a = run(g_av, "sample.docx", NULL, &r);
	CHECK_STR(r->true_type, "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
	CHECK(r->archive_members >= 5); /* the XML parts were opened... */
	EXPECT_NONE(r);                  /* ...and none is suspicious */
	attachment_free(a);
	a = run(g_av, "sample.xlsx", NULL, &r);
	CHECK(r->archive_members >= 5);
	EXPECT_NONE(r);
	attachment_free(a);
	a = run(g_av, "sample.odt", NULL, &r);
	CHECK_STR(r->true_type, "application/vnd.oasis.opendocument.text");
	CHECK(r->archive_members >= 5);
	EXPECT_NONE(r);
	attachment_free(a);
	a = run(g_av, "macro.docm", NULL, &r);
	EXPECT(r, {FINDING_MACRO, "macro.docm/word/vbaProject.bin", "OLE2 VBA storage"});
	attachment_free(a);
	a = run(g_av, "macro.doc", NULL, &r);
	CHECK_STR(r->true_type, "application/msword");
	EXPECT(r, {FINDING_MACRO, "macro.doc", "OLE2 Macros storage"});
	attachment_free(a);
	a = run(g_av, "clean.doc", NULL, &r);
	EXPECT_NONE(r);
	attachment_free(a);
}

static void test_archives(void)
{
	const struct attachment_result *r;
	struct attachment_analysis *a = run(g_av, "plain.zip", NULL, &r);
	CHECK_STR(r->true_type, "application/zip");
	CHECK_EQ_U(r->archive_members, 2);
	CHECK_EQ_U(r->unpacked_bytes, 57);
	EXPECT_NONE(r);
	attachment_free(a);
	a = run(g_av, "payload.zip", NULL, &r);
	EXPECT(r, {FINDING_BLOCKED_EXTENSION, "payload.zip/setup.exe", "exe"},
	       {FINDING_EXECUTABLE, "payload.zip/setup.exe", "application/vnd.microsoft.portable-executable"});
	attachment_free(a);
	a = run(g_av, "encrypted.zip", NULL, &r);
	CHECK_EQ_U(r->archive_members, 1);
	EXPECT(r, {FINDING_ENCRYPTED_ARCHIVE, "encrypted.zip", "notes.txt"});
	attachment_free(a);
	a = run(g_av, "nested.zip", NULL, &r);
	CHECK_EQ_U(r->archive_members, 3);
	EXPECT(r, {FINDING_BLOCKED_EXTENSION, "nested.zip/inner.zip/tool.exe", "exe"},
	       {FINDING_EXECUTABLE, "nested.zip/inner.zip/tool.exe",
		"application/vnd.microsoft.portable-executable"});
	attachment_free(a);
	a = run(g_av, "deep.zip", NULL, &r);
	EXPECT(r, {FINDING_ARCHIVE_DEPTH, "deep.zip/l2.zip/l3.zip", "nested deeper than 2 levels"});
	attachment_free(a);
	a = run(g_av, "bomb.zip", NULL, &r);
	CHECK(r->unpacked_bytes < 8u << 20); /* stopped early, not 50 MB */
	CHECK_EQ_U(r->finding_count, 1);
	CHECK(r->finding_count == 1 && r->findings[0].kind == FINDING_ARCHIVE_BOMB &&
	      strcmp(r->findings[0].path, "bomb.zip/zeros.bin") == 0 &&
	      strncmp(r->findings[0].detail, "ratio above 100", 15) == 0);
	attachment_free(a);
	a = run(g_av, "archive.7z", NULL, &r);
	CHECK_STR(r->true_type, "application/x-7z-compressed");
	EXPECT(r, {FINDING_BLOCKED_EXTENSION, "archive.7z/install.cmd", "cmd"},
	       {FINDING_EXECUTABLE, "archive.7z/install.cmd", "text/x-msdos-batch"});
	attachment_free(a);
	a = run(g_av, "encrypted.7z", NULL, &r);
	EXPECT(r, {FINDING_ENCRYPTED_ARCHIVE, "encrypted.7z", "notes.txt"});
	attachment_free(a);
	a = run(g_av, "encrypted-headers.7z", NULL, &r); /* member names hidden too */
	CHECK_EQ_U(r->archive_members, 0);
	EXPECT(r, {FINDING_ENCRYPTED_ARCHIVE, "encrypted-headers.7z", "encrypted headers"});
	attachment_free(a);
	/* A compressed single file is read as one member named after it. */
	a = run(g_av, "photo.jpg.gz", NULL, &r);
	CHECK_STR(r->true_type, "application/gzip");
	EXPECT(r, {FINDING_EXECUTABLE, "photo.jpg.gz/photo.jpg", "text/x-shellscript"},
	       {FINDING_TYPE_MISMATCH, "photo.jpg.gz/photo.jpg", "text/x-shellscript content named as image"});
	attachment_free(a);
	a = run(g_av, "drivers.cab", NULL, &r);
	CHECK_STR(r->true_type, "application/vnd.ms-cab-compressed");
	CHECK_EQ_U(r->archive_members, 2);
	EXPECT(r, {FINDING_BLOCKED_EXTENSION, "drivers.cab/update.exe", "exe"},
	       {FINDING_EXECUTABLE, "drivers.cab/update.exe", "application/vnd.microsoft.portable-executable"});
	attachment_free(a);
	a = run(g_av, "archive.tar.gz", NULL, &r);
	CHECK_EQ_U(r->archive_members, 2);
	EXPECT(r, {FINDING_EXECUTABLE, "archive.tar.gz/photo.jpg", "text/x-shellscript"},
	       {FINDING_TYPE_MISMATCH, "archive.tar.gz/photo.jpg",
		"text/x-shellscript content named as image"});
	attachment_free(a);
}

static void test_archive_caps(void)
{
	struct attachment_config c;
	const struct attachment_result *r;
	struct attachment_analysis *a;
	attachment_config_default(&c);
	c.max_archive_members = 1;
	struct attachment_engine *e = engine(&c);
	a = run(e, "plain.zip", NULL, &r);
	EXPECT(r, {FINDING_ARCHIVE_BOMB, "plain.zip", "more than 1 members"});
	CHECK_EQ_U(r->archive_members, 1);
	attachment_free(a);
	attachment_engine_free(e);

	attachment_config_default(&c);
	c.max_unpacked = 100000;
	e = engine(&c);
	a = run(e, "bomb.zip", NULL, &r);
	EXPECT(r, {FINDING_ARCHIVE_BOMB, "bomb.zip/zeros.bin", "unpacked more than 100000 bytes"});
	CHECK(r->unpacked_bytes <= 100000 + 65536);
	attachment_free(a);
	attachment_engine_free(e);

	attachment_config_default(&c);
	c.max_archive_depth = 1;
	e = engine(&c);
	a = run(e, "nested.zip", NULL, &r);
	EXPECT(r, {FINDING_ARCHIVE_DEPTH, "nested.zip/inner.zip", "nested deeper than 1 levels"});
	attachment_free(a);
	attachment_engine_free(e);

	attachment_config_default(&c);
	c.max_archive_depth = 0;
	e = engine(&c);
	a = run(e, "plain.zip", NULL, &r);
	EXPECT(r, {FINDING_ARCHIVE_DEPTH, "plain.zip", "nested deeper than 0 levels"});
	CHECK_EQ_U(r->archive_members, 0);
	attachment_free(a);
	attachment_engine_free(e);

	attachment_config_default(&c);
	c.max_member_size = 10;
	e = engine(&c);
	a = run(e, "plain.zip", NULL, &r);
	EXPECT(r, {FINDING_TRUNCATED, "plain.zip/notes.txt", "analysed 10 of 36 bytes"},
	       {FINDING_TRUNCATED, "plain.zip/readme.txt", "analysed 10 of 21 bytes"});
	attachment_free(a);
	attachment_engine_free(e);
}

struct seen {
	unsigned n;
	char paths[4][ATTACHMENT_PATH_MAX];
	size_t lens[4];
	bool notes_ok;
};

static void on_member(void *ctx, const char *path, const uint8_t *data, size_t len)
{
	struct seen *s = ctx;
	if (s->n < 4) {
		snprintf(s->paths[s->n], ATTACHMENT_PATH_MAX, "%s", path);
		s->lens[s->n] = len;
	}
	if (strcmp(path, "plain.zip/notes.txt") == 0)
		s->notes_ok = len == 36 && memcmp(data, "Quarterly figures attached.\n", 28) == 0;
	s->n++;
}

static void test_member_callback(void)
{
	struct seen s = {0};
	const struct attachment_callbacks cb = {.member = on_member};
	struct blob b = load("plain.zip");
	struct attachment_analysis *a = attachment_begin(g_av, "plain.zip", "application/zip", &cb, &s);
	attachment_analyse_buffer(a, b.d, b.n);
	CHECK_EQ_U(s.n, 2);
	CHECK_STR(s.paths[0], "plain.zip/notes.txt");
	CHECK_STR(s.paths[1], "plain.zip/readme.txt");
	CHECK_EQ_U(s.lens[1], 21);
	CHECK(s.notes_ok);
	attachment_free(a);
	free(b.d);
}

static void test_virus(void)
{
	CHECK_EQ_U(attachment_engine_av_signatures(g_av), 2);
	const struct attachment_result *r;
	struct attachment_analysis *a = run(g_av, "eicar.txt", NULL, &r);
	EXPECT(r, {FINDING_VIRUS, "eicar.txt", "Postern.Test.EICAR.UNOFFICIAL"});
	attachment_free(a);
	a = run(g_av, "eicar.zip", NULL, &r);
	EXPECT(r, {FINDING_VIRUS, "eicar.zip", "Postern.Test.EICAR.UNOFFICIAL"});
	attachment_free(a);
	a = run(g_av, "pattern.txt", NULL, &r);
	EXPECT(r, {FINDING_VIRUS, "pattern.txt", "Postern.Test.Pattern.UNOFFICIAL"});
	attachment_free(a);
	/* Without a database directory there is no scan. */
	struct attachment_engine *e = default_engine(false);
	CHECK_EQ_U(attachment_engine_av_signatures(e), 0);
	a = run(e, "eicar.txt", NULL, &r);
	EXPECT_NONE(r);
	attachment_free(a);
	attachment_engine_free(e);

	struct attachment_config c;
	attachment_config_default(&c);
	char dir[1200], err[512] = "";
	snprintf(dir, sizeof(dir), "%s/attachments", data_dir); /* no signature files */
	c.clamav_db_dir = dir;
	CHECK(attachment_engine_new(&c, err, sizeof(err)) == NULL);
	CHECK(strstr(err, dir) == err && strstr(err, "cl_load: ") != NULL);
	c.clamav_db_dir = "/nonexistent/clamav";
	CHECK(attachment_engine_new(&c, err, sizeof(err)) == NULL);
	CHECK(strncmp(err, "/nonexistent/clamav: cl_load: ", 30) == 0);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static void test_hash_list(void)
{
	/* The digest of report.docx, which is also payload.zip's setup.exe. */
	const struct attachment_result *r;
	struct attachment_analysis *a = run(g_av, "report.docx", NULL, &r);
	char digest[65];
	memcpy(digest, r->sha256, sizeof(digest));
	attachment_free(a);
	CHECK_EQ_U(strlen(digest), 64);

	char path[] = "/tmp/postern-hashes-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	char upper[65], text[512];
	for (int i = 0; i < 65; i++)
		upper[i] = (char)toupper((unsigned char)digest[i]);
	snprintf(text, sizeof(text),
		 "# test list\n\n  %s  # tiny PE\n%s\n"
		 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\r\n",
		 digest, upper);
	write_file(path, text);
	struct attachment_config c;
	attachment_config_default(&c);
	c.hash_list = path;
	struct attachment_engine *e = engine(&c);
	CHECK_EQ_U(attachment_engine_hashes(e), 2); /* the duplicate counted once */
	a = run(e, "payload.zip", NULL, &r);
	EXPECT(r, {FINDING_BLOCKED_EXTENSION, "payload.zip/setup.exe", "exe"},
	       {FINDING_EXECUTABLE, "payload.zip/setup.exe", "application/vnd.microsoft.portable-executable"},
	       {FINDING_HASH_LISTED, "payload.zip/setup.exe", digest});
	attachment_free(a);
	/* The empty file's digest is listed: an empty attachment matches. */
	a = attachment_begin(e, "empty.txt", "", NULL, NULL);
	r = attachment_end(a);
	CHECK_STR(r->true_type, "application/x-empty");
	EXPECT(r, {FINDING_HASH_LISTED, "empty.txt",
		   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"});
	attachment_free(a);
	attachment_engine_free(e);

	char err[512] = "", want[600];
	write_file(path, "# ok\n"
			 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
			 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8\n");
	CHECK(attachment_engine_new(&c, err, sizeof(err)) == NULL);
	snprintf(want, sizeof(want), "%s:3: expected a SHA-256 digest (64 hex digits)", path);
	CHECK_STR(err, want);
	write_file(path, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 extra\n");
	CHECK(attachment_engine_new(&c, err, sizeof(err)) == NULL);
	snprintf(want, sizeof(want), "%s:1: expected a SHA-256 digest (64 hex digits)", path);
	CHECK_STR(err, want);
	unlink(path);
	CHECK(attachment_engine_new(&c, err, sizeof(err)) == NULL);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	CHECK_STR(err, want);
}

static void test_streaming_and_truncation(void)
{
	struct attachment_analysis *a = attachment_begin(g_av, "abc.txt", "text/plain", NULL, NULL);
	attachment_feed(a, (const uint8_t *)"a", 1);
	attachment_feed(a, (const uint8_t *)"bc", 2);
	const struct attachment_result *r = attachment_end(a);
	CHECK_STR(r->sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	CHECK_EQ_U(r->size, 3);
	CHECK(attachment_end(a) == r); /* idempotent */
	attachment_free(a);

	struct blob b = load("invoice.pdf");
	const struct attachment_result *whole;
	struct attachment_analysis *w = run(g_av, "invoice.pdf", NULL, &whole);
	struct attachment_config c;
	attachment_config_default(&c);
	c.max_buffer = 100;
	struct attachment_engine *e = engine(&c);
	a = attachment_begin(e, "invoice.pdf", "", NULL, NULL);
	for (size_t i = 0; i < b.n; i += 7)
		attachment_feed(a, b.d + i, b.n - i < 7 ? b.n - i : 7);
	r = attachment_end(a);
	CHECK_EQ_U(r->size, b.n);
	CHECK_STR(r->sha256, whole->sha256); /* the digest covers every byte */
	char detail[64];
	snprintf(detail, sizeof(detail), "analysed 100 of %zu bytes", b.n);
	EXPECT(r, {FINDING_TRUNCATED, "invoice.pdf", detail},
	       {FINDING_EXECUTABLE, "invoice.pdf", "application/x-executable"},
	       {FINDING_TYPE_MISMATCH, "invoice.pdf", "application/x-executable content named as document"});
	attachment_free(a);
	attachment_free(w);
	attachment_engine_free(e);
	free(b.d);
}

static void test_garbage_and_damage(void)
{
	const struct attachment_result *r;
	struct attachment_analysis *a = run(g_av, "garbage.bin", NULL, &r);
	CHECK_STR(r->true_type, "application/octet-stream");
	EXPECT_NONE(r);
	attachment_free(a);

	/* A zip cut short. */
	struct blob b = load("plain.zip");
	a = attachment_begin(g_av, "cut.zip", "", NULL, NULL);
	r = attachment_analyse_buffer(a, b.d, 60);
	CHECK_EQ_U(r->finding_count, 1);
	CHECK(r->finding_count && r->findings[0].kind == FINDING_ARCHIVE_ERROR &&
	      strncmp(r->findings[0].path, "cut.zip", 7) == 0);
	attachment_free(a);
	free(b.d);

	/* OLE2 whose directory chain points at itself. */
	b = load("clean.doc");
	b.d[512 + 4 * 1] = 1; /* FAT entry of sector 1 (the directory) = 1 */
	memset(b.d + 512 + 5, 0, 3);
	a = attachment_begin(g_av, "loop.doc", "", NULL, NULL);
	r = attachment_analyse_buffer(a, b.d, b.n);
	EXPECT(r, {FINDING_ARCHIVE_ERROR, "loop.doc", "bad OLE2 directory chain"});
	attachment_free(a);
	/* ... and one claiming more FAT sectors than the file has. */
	b.d[0x2C] = 0xFF;
	a = attachment_begin(g_av, "fat.doc", "", NULL, NULL);
	r = attachment_analyse_buffer(a, b.d, b.n);
	EXPECT(r, {FINDING_ARCHIVE_ERROR, "fat.doc", "bad OLE2 FAT"});
	attachment_free(a);
	free(b.d);

	/* Every fixture with bytes flipped or cut: no crash, a type named. */
	static const char *const files[] = {"plain.zip", "nested.zip", "archive.7z", "archive.tar.gz",
					    "macro.docm", "macro.doc", "sample.odt", "encrypted.zip"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		b = load(files[i]);
		for (size_t k = 0; k < 16; k++) {
			uint8_t *m = malloc(b.n);
			memcpy(m, b.d, b.n);
			size_t pos = (k * 7919 + 13) % b.n;
			m[pos] ^= (uint8_t)(0x5A + k);
			a = attachment_begin(g_av, files[i], "", NULL, NULL);
			r = attachment_analyse_buffer(a, m, k & 1 ? b.n : b.n * k / 16);
			CHECK(r->true_type[0] != '\0');
			attachment_free(a);
			free(m);
		}
		free(b.d);
	}
}

struct thread_arg {
	struct blob b;
	unsigned bad;
};

static void *thread_main(void *p)
{
	struct thread_arg *t = p;
	for (int i = 0; i < 50; i++) {
		struct attachment_analysis *a = attachment_begin(g_av, "nested.zip", "", NULL, NULL);
		const struct attachment_result *r = attachment_analyse_buffer(a, t->b.d, t->b.n);
		if (r->finding_count != 2 || r->findings[1].kind != FINDING_EXECUTABLE)
			t->bad++;
		attachment_free(a);
	}
	return NULL;
}

/* One engine shared by workers (libmagic is used under the engine's lock). */
static void test_threads(void)
{
	struct thread_arg t[3];
	pthread_t th[3];
	for (int i = 0; i < 3; i++) {
		t[i].b = load("nested.zip");
		t[i].bad = 0;
		CHECK(pthread_create(&th[i], NULL, thread_main, &t[i]) == 0);
	}
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ_U(t[i].bad, 0);
		free(t[i].b.d);
	}
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		snprintf(data_dir, sizeof(data_dir), "%s", argv[1]);
	} else {
		const char *src = __FILE__; /* .../tests/unit/test_attachment.c */
		const char *cut = strstr(src, "tests/unit/test_attachment.c");
		snprintf(data_dir, sizeof(data_dir), "%.*stests/data", (int)(cut ? cut - src : 0), src);
	}
	g_av = default_engine(true);
	RUN(test_names);
	RUN(test_extension_tricks);
	RUN(test_true_type);
	RUN(test_office);
	RUN(test_archives);
	RUN(test_archive_caps);
	RUN(test_member_callback);
	RUN(test_virus);
	RUN(test_hash_list);
	RUN(test_streaming_and_truncation);
	RUN(test_garbage_and_damage);
	RUN(test_threads);
	attachment_engine_free(g_av);
	return tl_finish();
}
