/* Attachment analysis; the contract is in attachment.h.
 *
 * One attachment is an "object" at level 0; members of an archive it holds
 * are objects at level 1, and so on.  Every object goes through the same
 * checks (analyse_object): name, true type, hash, macros, then, if it is an
 * archive and its level is below max_archive_depth, its members.  ClamAV runs
 * once, on the whole attachment: it unpacks archives itself.
 *
 * Threads: an engine is shared read-only by all workers.  libmagic's handle is
 * not thread-safe, so magic_buffer runs under a mutex (a lookup costs tens of
 * microseconds; a handle per analysis would cost a magic_load, milliseconds).
 * The ClamAV engine is safe for concurrent scans once compiled.
 */
#include "attachments/attachment.h"

#include <archive.h>
#include <archive_entry.h>
#include <clamav.h>
#include <ctype.h>
#include <errno.h>
#include <magic.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "attachments/ole.h"

#define MiB (UINT64_C(1) << 20)
/* Below this many unpacked bytes an archive is never a bomb by ratio: small
 * files of repeated text legitimately compress 100:1 and more. */
#define RATIO_FLOOR MiB
#define MAGIC_BYTES_MAX ((size_t)1 << 20)
#define READ_BLOCK 65536
#define EXT_MAX 16

static const char *const default_blocked[] = {
	"ace", "bat", "cmd", "com", "cpl", "exe", "hta", "jar", "js", "jse", "msc", "msi",
	"msp", "pif", "scr", "vb", "vbe", "vbs", "ws", "wsc", "wsf", "wsh",
};

static const char *const finding_names[FINDING_KIND_COUNT] = {
	[FINDING_BLOCKED_EXTENSION] = "blocked_extension",
	[FINDING_TYPE_MISMATCH] = "type_mismatch",
	[FINDING_EXECUTABLE] = "executable",
	[FINDING_ENCRYPTED_ARCHIVE] = "encrypted_archive",
	[FINDING_ARCHIVE_BOMB] = "archive_bomb",
	[FINDING_ARCHIVE_DEPTH] = "archive_depth",
	[FINDING_ARCHIVE_ERROR] = "archive_error",
	[FINDING_MACRO] = "macro",
	[FINDING_HASH_LISTED] = "hash_listed",
	[FINDING_VIRUS] = "virus",
	[FINDING_TRUNCATED] = "truncated",
};

const char *attachment_finding_name(enum attachment_finding_kind k)
{
	return (unsigned)k < FINDING_KIND_COUNT ? finding_names[k] : "unknown";
}

void attachment_config_default(struct attachment_config *c)
{
	memset(c, 0, sizeof(*c));
	c->max_buffer = 32 * MiB;
	c->max_archive_depth = 2;
	c->max_archive_members = 1000;
	c->max_unpacked = 256 * MiB;
	c->max_ratio = 100;
	c->max_member_size = 32 * MiB;
}

/* ---- content classes ---- */

enum klass { K_OTHER, K_EXECUTABLE, K_SCRIPT, K_DOCUMENT, K_IMAGE, K_ARCHIVE };

static const char *const klass_names[] = {"other", "executable", "script", "document", "image",
					  "archive"};

struct mime_class {
	const char *mime; /* a trailing '*' matches any rest */
	enum klass k;
};

static const struct mime_class mime_classes[] = {
	{"application/x-dosexec", K_EXECUTABLE},
	{"application/x-executable", K_EXECUTABLE},
	{"application/x-pie-executable", K_EXECUTABLE},
	{"application/x-sharedlib", K_EXECUTABLE},
	{"application/x-mach-binary", K_EXECUTABLE},
	{"application/vnd.microsoft.portable-executable", K_EXECUTABLE},
	{"application/x-msdownload", K_EXECUTABLE},
	{"application/x-ms-installer", K_EXECUTABLE},
	{"application/x-msi", K_EXECUTABLE},
	{"application/x-elf", K_EXECUTABLE},
	{"text/x-shellscript", K_SCRIPT},
	{"application/x-shellscript", K_SCRIPT},
	{"text/x-python", K_SCRIPT},
	{"text/x-script.python", K_SCRIPT},
	{"text/x-perl", K_SCRIPT},
	{"text/x-ruby", K_SCRIPT},
	{"text/x-php", K_SCRIPT},
	{"text/x-tcl", K_SCRIPT},
	{"text/x-lua", K_SCRIPT},
	{"text/x-awk", K_SCRIPT},
	{"text/x-nawk", K_SCRIPT},
	{"text/x-gawk", K_SCRIPT},
	{"application/javascript", K_SCRIPT},
	{"text/javascript", K_SCRIPT},
	{"application/x-javascript", K_SCRIPT},
	{"text/x-msdos-batch", K_SCRIPT},
	{"application/x-bat", K_SCRIPT},
	{"text/x-bat", K_SCRIPT},
	{"application/hta", K_SCRIPT},
	{"text/x-vbscript", K_SCRIPT},
	{"application/x-powershell", K_SCRIPT},
	{"application/pdf", K_DOCUMENT},
	{"application/msword", K_DOCUMENT},
	{"application/rtf", K_DOCUMENT},
	{"text/rtf", K_DOCUMENT},
	{"application/vnd.ms-cab-compressed", K_ARCHIVE}, /* before vnd.ms-* */
	{"application/vnd.ms-*", K_DOCUMENT},
	{"application/vnd.openxmlformats-officedocument*", K_DOCUMENT},
	{"application/vnd.oasis.opendocument*", K_DOCUMENT},
	{"application/CDFV2*", K_DOCUMENT},
	{"application/x-ole-storage", K_DOCUMENT},
	{"application/x-hwp", K_DOCUMENT},
	{"application/haansofthwp", K_DOCUMENT},
	{"text/plain", K_DOCUMENT},
	{"text/csv", K_DOCUMENT},
	{"image/*", K_IMAGE},
	{"application/zip", K_ARCHIVE},
	{"application/x-zip-compressed", K_ARCHIVE},
	{"application/java-archive", K_ARCHIVE},
	{"application/x-7z-compressed", K_ARCHIVE},
	{"application/x-rar", K_ARCHIVE},
	{"application/vnd.rar", K_ARCHIVE},
	{"application/x-tar", K_ARCHIVE},
	{"application/gzip", K_ARCHIVE},
	{"application/x-gzip", K_ARCHIVE},
	{"application/x-bzip2", K_ARCHIVE},
	{"application/x-xz", K_ARCHIVE},
	{"application/x-lzma", K_ARCHIVE},
	{"application/zstd", K_ARCHIVE},
	{"application/x-cpio", K_ARCHIVE},
};

static bool mime_match(const char *pattern, const char *mime)
{
	size_t n = strlen(pattern);
	if (n && pattern[n - 1] == '*')
		return strncasecmp(pattern, mime, n - 1) == 0;
	return strcasecmp(pattern, mime) == 0;
}

static enum klass mime_klass(const char *mime)
{
	/* First match wins: the table lists specific entries before patterns. */
	for (size_t i = 0; i < sizeof(mime_classes) / sizeof(mime_classes[0]); i++)
		if (mime_match(mime_classes[i].mime, mime))
			return mime_classes[i].k;
	return K_OTHER;
}

/* Compressed single files: opened with libarchive's raw format as one member. */
static bool mime_is_compressor(const char *mime)
{
	static const char *const c[] = {"application/gzip", "application/x-gzip", "application/x-bzip2",
					"application/x-xz", "application/x-lzma", "application/zstd"};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		if (strcasecmp(c[i], mime) == 0)
			return true;
	return false;
}

/* Containers libarchive opens: archives, and the zip-based office formats
 * (that is where an OOXML vbaProject.bin is). */
static bool is_container(const char *mime, const uint8_t *d, size_t len)
{
	return mime_klass(mime) == K_ARCHIVE || (len >= 4 && memcmp(d, "PK\3\4", 4) == 0);
}

struct ext_class {
	const char *ext;
	enum klass k;
};

/* Extensions whose name claims something harmless to open. */
static const struct ext_class ext_classes[] = {
	{"pdf", K_DOCUMENT},  {"doc", K_DOCUMENT},  {"docx", K_DOCUMENT}, {"docm", K_DOCUMENT},
	{"dot", K_DOCUMENT},  {"dotx", K_DOCUMENT}, {"xls", K_DOCUMENT},  {"xlsx", K_DOCUMENT},
	{"xlsm", K_DOCUMENT}, {"ppt", K_DOCUMENT},  {"pptx", K_DOCUMENT}, {"pptm", K_DOCUMENT},
	{"pps", K_DOCUMENT},  {"ppsx", K_DOCUMENT}, {"hwp", K_DOCUMENT},  {"hwpx", K_DOCUMENT},
	{"rtf", K_DOCUMENT},  {"txt", K_DOCUMENT},  {"csv", K_DOCUMENT},  {"odt", K_DOCUMENT},
	{"ods", K_DOCUMENT},  {"odp", K_DOCUMENT},  {"xml", K_DOCUMENT},  {"eml", K_DOCUMENT},
	{"jpg", K_IMAGE},     {"jpeg", K_IMAGE},    {"png", K_IMAGE},     {"gif", K_IMAGE},
	{"bmp", K_IMAGE},     {"tif", K_IMAGE},     {"tiff", K_IMAGE},    {"webp", K_IMAGE},
	{"heic", K_IMAGE},    {"ico", K_IMAGE},     {"zip", K_ARCHIVE},   {"rar", K_ARCHIVE},
	{"7z", K_ARCHIVE},    {"tar", K_ARCHIVE},   {"gz", K_ARCHIVE},    {"tgz", K_ARCHIVE},
	{"bz2", K_ARCHIVE},   {"xz", K_ARCHIVE},    {"cab", K_ARCHIVE},   {"iso", K_ARCHIVE},
	{"arj", K_ARCHIVE},   {"lzh", K_ARCHIVE},
};

static enum klass ext_klass(const char *ext)
{
	for (size_t i = 0; i < sizeof(ext_classes) / sizeof(ext_classes[0]); i++)
		if (strcmp(ext_classes[i].ext, ext) == 0)
			return ext_classes[i].k;
	return K_OTHER;
}

/* ---- engine ---- */

struct attachment_engine {
	struct attachment_config cfg;
	char **blocked;
	size_t blocked_count;
	uint8_t (*hashes)[32];
	size_t hash_count;
	struct cl_engine *av;
	unsigned av_sigs;
	magic_t magic;
	pthread_mutex_t magic_lock;
};

static pthread_once_t av_once = PTHREAD_ONCE_INIT;
static cl_error_t av_init_rc;

/* libclamav prints its warnings to stderr by default; its errors reach the
 * caller through return codes, so the messages are dropped. */
static void av_quiet(enum cl_msg severity, const char *fullmsg, const char *msg, void *context)
{
	(void)severity, (void)fullmsg, (void)msg, (void)context;
}

static void av_global_init(void)
{
	cl_set_clcb_msg(av_quiet);
	av_init_rc = cl_init(CL_INIT_DEFAULT);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int cmp_digest(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

static bool load_hashes(struct attachment_engine *e, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	char *line = NULL;
	size_t linecap = 0, cap = 0;
	unsigned lineno = 0;
	bool ok = true;
	while (getline(&line, &linecap, f) >= 0) {
		lineno++;
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '#' || *p == '\n' || *p == '\r' || *p == '\0')
			continue;
		uint8_t d[32];
		size_t i = 0;
		for (; i < 64; i++) {
			int v = hexval((unsigned char)p[i]);
			if (v < 0)
				break;
			if (i & 1)
				d[i / 2] |= (uint8_t)v;
			else
				d[i / 2] = (uint8_t)(v << 4);
		}
		const char *rest = p + i;
		while (*rest == ' ' || *rest == '\t' || *rest == '\r' || *rest == '\n')
			rest++;
		if (i != 64 || (*rest && *rest != '#')) {
			snprintf(err, errlen, "%s:%u: expected a SHA-256 digest (64 hex digits)", path,
				 lineno);
			ok = false;
			break;
		}
		if (e->hash_count == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			void *n = realloc(e->hashes, ncap * sizeof(*e->hashes));
			if (!n) {
				snprintf(err, errlen, "%s:%u: out of memory", path, lineno);
				ok = false;
				break;
			}
			e->hashes = n;
			cap = ncap;
		}
		memcpy(e->hashes[e->hash_count++], d, 32);
	}
	if (ok && ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		ok = false;
	}
	free(line);
	fclose(f);
	if (!ok)
		return false;
	qsort(e->hashes, e->hash_count, sizeof(*e->hashes), cmp_digest);
	size_t w = 0; /* drop duplicates */
	for (size_t r = 0; r < e->hash_count; r++)
		if (w == 0 || memcmp(e->hashes[w - 1], e->hashes[r], 32) != 0)
			memmove(e->hashes[w++], e->hashes[r], 32);
	e->hash_count = w;
	return true;
}

static bool load_av(struct attachment_engine *e, const char *dir, char *err, size_t errlen)
{
	pthread_once(&av_once, av_global_init);
	if (av_init_rc != CL_SUCCESS) {
		snprintf(err, errlen, "%s: cl_init: %s", dir, cl_strerror(av_init_rc));
		return false;
	}
	e->av = cl_engine_new();
	if (!e->av) {
		snprintf(err, errlen, "%s: cl_engine_new failed", dir);
		return false;
	}
	/* Keep ClamAV within the same budget as our own unpacking. */
	cl_engine_set_num(e->av, CL_ENGINE_MAX_FILESIZE, (long long)e->cfg.max_buffer);
	cl_engine_set_num(e->av, CL_ENGINE_MAX_SCANSIZE, (long long)e->cfg.max_unpacked);
	unsigned sigs = 0;
	cl_error_t rc = cl_load(dir, e->av, &sigs, CL_DB_STDOPT);
	if (rc != CL_SUCCESS) {
		snprintf(err, errlen, "%s: cl_load: %s", dir, cl_strerror(rc));
		return false;
	}
	rc = cl_engine_compile(e->av);
	if (rc != CL_SUCCESS) {
		snprintf(err, errlen, "%s: cl_engine_compile: %s", dir, cl_strerror(rc));
		return false;
	}
	e->av_sigs = sigs;
	return true;
}

struct attachment_engine *attachment_engine_new(const struct attachment_config *c, char *err,
						size_t errlen)
{
	struct attachment_engine *e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->cfg = *c;
	e->cfg.hash_list = NULL;
	e->cfg.clamav_db_dir = NULL;
	pthread_mutex_init(&e->magic_lock, NULL);
	size_t n = c->blocked_extensions ? c->blocked_extension_count
					 : sizeof(default_blocked) / sizeof(default_blocked[0]);
	e->blocked = calloc(n ? n : 1, sizeof(char *));
	if (!e->blocked)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		const char *x = c->blocked_extensions ? c->blocked_extensions[i] : default_blocked[i];
		while (*x == '.')
			x++;
		e->blocked[i] = strdup(x);
		if (!e->blocked[i])
			goto oom;
		for (char *p = e->blocked[i]; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		e->blocked_count = i + 1;
	}
	e->magic = magic_open(MAGIC_MIME_TYPE);
	if (!e->magic || magic_load(e->magic, NULL) != 0) {
		snprintf(err, errlen, "libmagic: %s",
			 e->magic && magic_error(e->magic) ? magic_error(e->magic) : "cannot load");
		goto fail;
	}
	size_t bytes_max = MAGIC_BYTES_MAX;
	magic_setparam(e->magic, MAGIC_PARAM_BYTES_MAX, &bytes_max);
	if (c->hash_list && !load_hashes(e, c->hash_list, err, errlen))
		goto fail;
	if (c->clamav_db_dir && !load_av(e, c->clamav_db_dir, err, errlen))
		goto fail;
	return e;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	attachment_engine_free(e);
	return NULL;
}

void attachment_engine_free(struct attachment_engine *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->blocked_count; i++)
		free(e->blocked[i]);
	free(e->blocked);
	free(e->hashes);
	if (e->av)
		cl_engine_free(e->av);
	if (e->magic)
		magic_close(e->magic);
	pthread_mutex_destroy(&e->magic_lock);
	free(e);
}

unsigned attachment_engine_av_signatures(const struct attachment_engine *e)
{
	return e->av_sigs;
}

size_t attachment_engine_hashes(const struct attachment_engine *e)
{
	return e->hash_count;
}

/* ---- analysis ---- */

struct attachment_analysis {
	struct attachment_engine *e;
	struct attachment_callbacks cb;
	void *ctx;
	uint8_t *buf;
	size_t len, cap;
	uint64_t buf_limit;    /* max_buffer, or less: the caller's budget */
	EVP_MD_CTX *md;
	bool ended;
	bool unpack_stopped;   /* max_unpacked reached: no more unpacking at any level */
	uint8_t *scratch;      /* READ_BLOCK bytes for member data past max_member_size */
	struct attachment_result r;
};

static void copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* a + "/" + b, cut at cap. */
static void join_path(char *dst, size_t cap, const char *a, const char *b)
{
	copy_str(dst, cap, a);
	size_t n = strlen(dst);
	if (n + 1 < cap) {
		dst[n++] = '/';
		dst[n] = '\0';
		copy_str(dst + n, cap - n, b);
	}
}

__attribute__((format(printf, 4, 5)))
static void add_finding(struct attachment_analysis *a, enum attachment_finding_kind k,
			const char *path, const char *fmt, ...)
{
	struct attachment_result *r = &a->r;
	if (r->finding_count >= ATTACHMENT_MAX_FINDINGS) {
		r->findings_dropped++;
		return;
	}
	struct attachment_finding *f = &r->findings[r->finding_count++];
	f->kind = k;
	copy_str(f->path, sizeof(f->path), path);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->detail, sizeof(f->detail), fmt, ap);
	va_end(ap);
}

struct attachment_analysis *attachment_begin(struct attachment_engine *e, const char *name,
					     const char *declared_type,
					     const struct attachment_callbacks *cb, void *ctx)
{
	struct attachment_analysis *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->e = e;
	a->buf_limit = e->cfg.max_buffer;
	if (cb)
		a->cb = *cb;
	a->ctx = ctx;
	a->md = EVP_MD_CTX_new();
	if (!a->md || EVP_DigestInit_ex(a->md, EVP_sha256(), NULL) != 1) {
		attachment_free(a);
		return NULL;
	}
	copy_str(a->r.name, sizeof(a->r.name), name ? name : "");
	copy_str(a->r.declared_type, sizeof(a->r.declared_type), declared_type ? declared_type : "");
	return a;
}

void attachment_limit_buffer(struct attachment_analysis *a, uint64_t max)
{
	if (max < a->buf_limit)
		a->buf_limit = max;
}

void attachment_feed(struct attachment_analysis *a, const uint8_t *data, size_t len)
{
	if (a->ended || len == 0)
		return;
	EVP_DigestUpdate(a->md, data, len);
	a->r.size += len;
	uint64_t room = a->buf_limit > a->len ? a->buf_limit - a->len : 0;
	size_t take = len < room ? len : (size_t)room;
	if (take == 0)
		return;
	if (a->len + take > a->cap) {
		size_t ncap = a->cap ? a->cap : 65536;
		while (ncap < a->len + take)
			ncap *= 2;
		if (ncap > a->buf_limit)
			ncap = (size_t)a->buf_limit;
		uint8_t *n = realloc(a->buf, ncap);
		if (!n)
			return; /* analysed as truncated: size > buffered */
		a->buf = n;
		a->cap = ncap;
	}
	memcpy(a->buf + a->len, data, take);
	a->len += take;
}

static void hex(char *out, const uint8_t *d, size_t n)
{
	static const char x[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = x[d[i] >> 4];
		out[2 * i + 1] = x[d[i] & 15];
	}
	out[2 * n] = '\0';
}

static void true_type(struct attachment_engine *e, const uint8_t *d, size_t len, char *out, size_t cap)
{
	pthread_mutex_lock(&e->magic_lock);
	const char *m = magic_buffer(e->magic, d, len);
	copy_str(out, cap, m ? m : "application/octet-stream");
	pthread_mutex_unlock(&e->magic_lock);
}

static const char *basename_of(const char *path)
{
	const char *b = path;
	for (const char *p = path; *p; p++)
		if (*p == '/' || *p == '\\')
			b = p + 1;
	return b;
}

static bool is_blocked(const struct attachment_engine *e, const char *ext)
{
	for (size_t i = 0; i < e->blocked_count; i++)
		if (strcmp(e->blocked[i], ext) == 0)
			return true;
	return false;
}

/* Bidirectional controls (U+200E/F, U+202A..E, U+2066..9) let a name display
 * as "invoice<RLO>fdp.exe" -> "invoiceexe.pdf". */
static bool has_bidi(const char *s, unsigned *cp)
{
	for (const unsigned char *p = (const unsigned char *)s; p[0]; p++) {
		if (p[0] != 0xE2 || !p[1] || !p[2])
			continue;
		unsigned c = ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
		if (c == 0x200E || c == 0x200F || (c >= 0x202A && c <= 0x202E) ||
		    (c >= 0x2066 && c <= 0x2069)) {
			*cp = c;
			return true;
		}
	}
	return false;
}

/* The extension ending name[0..n) in lower case ("" if none or too long). */
static size_t ext_before(const char *name, size_t n, char ext[EXT_MAX])
{
	size_t i = n;
	while (i > 0 && name[i - 1] != '.')
		i--;
	ext[0] = '\0';
	if (i == 0 || n - i == 0 || n - i >= EXT_MAX)
		return i ? i - 1 : 0;
	for (size_t j = i; j < n; j++)
		ext[j - i] = (char)tolower((unsigned char)name[j]);
	ext[n - i] = '\0';
	return i - 1; /* position of the dot */
}

/* Name checks; returns what the extension claims the content is. */
static enum klass check_name(struct attachment_analysis *a, const char *path, const char *name)
{
	unsigned cp;
	if (has_bidi(name, &cp))
		add_finding(a, FINDING_TYPE_MISMATCH, path, "bidi control U+%04X in name", cp);
	size_t n = strlen(name);
	size_t full = n;
	while (n > 0 && (name[n - 1] == '.' || name[n - 1] == ' '))
		n--; /* Windows drops trailing dots and spaces */
	char ext[EXT_MAX], prev[EXT_MAX];
	size_t dot = ext_before(name, n, ext);
	if (!ext[0])
		return K_OTHER;
	if (is_blocked(a->e, ext)) {
		ext_before(name, dot, prev);
		if (n != full)
			add_finding(a, FINDING_BLOCKED_EXTENSION, path, "%s (trailing dots/spaces)", ext);
		else if (prev[0] && ext_klass(prev) != K_OTHER)
			add_finding(a, FINDING_BLOCKED_EXTENSION, path, "%s (double extension %s.%s)",
				    ext, prev, ext);
		else
			add_finding(a, FINDING_BLOCKED_EXTENSION, path, "%s", ext);
	}
	return ext_klass(ext);
}

static enum klass declared_klass(const char *declared)
{
	if (!declared[0] || strcasecmp(declared, "application/octet-stream") == 0)
		return K_OTHER;
	enum klass k = mime_klass(declared);
	return k == K_EXECUTABLE || k == K_SCRIPT ? K_OTHER : k;
}

static void analyse_object(struct attachment_analysis *a, const char *path, const uint8_t *d,
			   size_t len, unsigned level, const uint8_t digest[32], char *type_out,
			   size_t type_cap);

static bool is_vba_project_name(const char *name)
{
	return strcasecmp(name, "vbaProject.bin") == 0;
}

/* Read one member's data: keep up to max_member_size, count and hash all.
 * Returns false when the archive must not be read further. */
struct member_read {
	uint8_t *data;
	size_t len, cap;
	uint64_t total;
	bool bomb, failed;
};

static bool read_member(struct attachment_analysis *a, struct archive *ar, const char *path,
			size_t packed, uint64_t *unpacked_here, struct member_read *m,
			EVP_MD_CTX *md)
{
	const struct attachment_config *c = &a->e->cfg;
	unsigned warnings = 0;
	for (;;) {
		uint8_t *dst = a->scratch;
		size_t want = READ_BLOCK;
		if (m->len < c->max_member_size) {
			if (m->len + READ_BLOCK > m->cap) {
				size_t ncap = m->cap ? m->cap * 2 : 4 * READ_BLOCK;
				if (ncap > c->max_member_size)
					ncap = (size_t)c->max_member_size;
				if (ncap > m->cap) {
					uint8_t *n = realloc(m->data, ncap);
					if (n) {
						m->data = n;
						m->cap = ncap;
					}
				}
			}
			if (m->cap > m->len) {
				dst = m->data + m->len;
				want = m->cap - m->len < READ_BLOCK ? m->cap - m->len : READ_BLOCK;
			}
		}
		la_ssize_t got = archive_read_data(ar, dst, want);
		if (got == 0)
			return true;
		if (got < 0) {
			if (got == ARCHIVE_WARN && ++warnings < 16)
				continue; /* a warning does not stop the data, but must not loop */
			add_finding(a, FINDING_ARCHIVE_ERROR, path, "%s",
				    archive_error_string(ar) ? archive_error_string(ar) : "read error");
			m->failed = true;
			return got != ARCHIVE_FATAL;
		}
		EVP_DigestUpdate(md, dst, (size_t)got);
		if (dst != a->scratch)
			m->len += (size_t)got;
		m->total += (uint64_t)got;
		*unpacked_here += (uint64_t)got;
		a->r.unpacked_bytes += (uint64_t)got;
		if (a->r.unpacked_bytes > c->max_unpacked) {
			add_finding(a, FINDING_ARCHIVE_BOMB, path, "unpacked more than %llu bytes",
				    (unsigned long long)c->max_unpacked);
			a->unpack_stopped = true;
			m->bomb = true;
			return false;
		}
		if (c->max_ratio && *unpacked_here > RATIO_FLOOR &&
		    *unpacked_here / (packed ? packed : 1) > c->max_ratio) {
			add_finding(a, FINDING_ARCHIVE_BOMB, path, "ratio above %u (%llu bytes from %zu)",
				    c->max_ratio, (unsigned long long)*unpacked_here, packed);
			m->bomb = true;
			return false;
		}
	}
}

static void open_archive(struct attachment_analysis *a, const char *path, const uint8_t *d,
			 size_t len, unsigned level, bool raw)
{
	const struct attachment_config *c = &a->e->cfg;
	if (a->unpack_stopped)
		return;
	if (!a->scratch && !(a->scratch = malloc(READ_BLOCK)))
		return;
	struct archive *ar = archive_read_new();
	if (!ar)
		return;
	archive_read_support_filter_all(ar);
	archive_read_support_format_zip(ar);
	archive_read_support_format_7zip(ar);
	archive_read_support_format_rar(ar);
	archive_read_support_format_rar5(ar);
	archive_read_support_format_tar(ar);
	archive_read_support_format_cab(ar);
	archive_read_support_format_cpio(ar);
	if (raw)
		archive_read_support_format_raw(ar);
	if (archive_read_open_memory(ar, d, len) != ARCHIVE_OK) {
		add_finding(a, FINDING_ARCHIVE_ERROR, path, "%s",
			    archive_error_string(ar) ? archive_error_string(ar) : "cannot open");
		archive_read_free(ar);
		return;
	}
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint32_t members = 0;
	uint64_t unpacked_here = 0;
	bool encrypted_reported = false;
	/* One data buffer for all members of this archive, grown as needed. */
	struct member_read m = {0};
	while (md) {
		struct archive_entry *ent;
		int rc = archive_read_next_header(ar, &ent);
		if (rc == ARCHIVE_EOF)
			break;
		if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
			if (archive_read_has_encrypted_entries(ar) > 0) {
				if (!encrypted_reported)
					add_finding(a, FINDING_ENCRYPTED_ARCHIVE, path, "encrypted headers");
			} else {
				add_finding(a, FINDING_ARCHIVE_ERROR, path, "%s",
					    archive_error_string(ar) ? archive_error_string(ar)
								     : "bad header");
			}
			break;
		}
		if (++members > c->max_archive_members) {
			add_finding(a, FINDING_ARCHIVE_BOMB, path, "more than %u members",
				    c->max_archive_members);
			break;
		}
		a->r.archive_members++;
		const char *en = archive_entry_pathname(ent);
		char mname[ATTACHMENT_PATH_MAX];
		if (archive_format(ar) == ARCHIVE_FORMAT_RAW) {
			/* "x.gz" holds "x" */
			copy_str(mname, sizeof(mname), basename_of(path));
			char *dot = strrchr(mname, '.');
			if (dot && dot != mname)
				*dot = '\0';
		} else {
			copy_str(mname, sizeof(mname), en && en[0] ? en : "(unnamed)");
		}
		char mpath[ATTACHMENT_PATH_MAX];
		join_path(mpath, sizeof(mpath), path, mname);
		if (archive_entry_filetype(ent) != AE_IFREG) {
			continue;
		}
		if (archive_entry_is_encrypted(ent)) {
			if (!encrypted_reported)
				add_finding(a, FINDING_ENCRYPTED_ARCHIVE, path, "%s", mname);
			encrypted_reported = true;
			check_name(a, mpath, basename_of(mname));
			continue;
		}
		m = (struct member_read){.data = m.data, .cap = m.cap};
		EVP_DigestInit_ex(md, EVP_sha256(), NULL);
		bool go_on = read_member(a, ar, mpath, len, &unpacked_here, &m, md);
		if (m.bomb || m.failed) {
			check_name(a, mpath, basename_of(mname));
		} else {
			uint8_t digest[32];
			unsigned dn = 0;
			EVP_DigestFinal_ex(md, digest, &dn);
			if (a->cb.member)
				a->cb.member(a->ctx, mpath, m.data ? m.data : (const uint8_t *)"", m.len);
			if (m.total > m.len)
				add_finding(a, FINDING_TRUNCATED, mpath, "analysed %zu of %llu bytes",
					    m.len, (unsigned long long)m.total);
			analyse_object(a, mpath, m.data ? m.data : (const uint8_t *)"", m.len, level + 1,
				       digest, NULL, 0);
		}
		if (!go_on || a->unpack_stopped)
			break;
	}
	free(m.data);
	EVP_MD_CTX_free(md);
	archive_read_free(ar);
}

static void analyse_object(struct attachment_analysis *a, const char *path, const uint8_t *d,
			   size_t len, unsigned level, const uint8_t digest[32], char *type_out,
			   size_t type_cap)
{
	struct attachment_engine *e = a->e;
	const char *name = basename_of(path);
	enum klass claim = check_name(a, path, name);
	if (level == 0 && claim == K_OTHER)
		claim = declared_klass(a->r.declared_type);

	char mime[128];
	true_type(e, d, len, mime, sizeof(mime));
	if (type_out)
		copy_str(type_out, type_cap, mime);
	enum klass k = mime_klass(mime);
	if (k == K_EXECUTABLE || k == K_SCRIPT) {
		add_finding(a, FINDING_EXECUTABLE, path, "%s", mime);
		if (claim == K_DOCUMENT || claim == K_IMAGE || claim == K_ARCHIVE)
			add_finding(a, FINDING_TYPE_MISMATCH, path, "%s content named as %s", mime,
				    klass_names[claim]);
	}

	if (e->hash_count && bsearch(digest, e->hashes, e->hash_count, sizeof(*e->hashes), cmp_digest)) {
		char h[65];
		hex(h, digest, 32);
		add_finding(a, FINDING_HASH_LISTED, path, "%s", h);
	}

	if (ole_is_cfb(d, len)) {
		struct ole_scan os;
		enum ole_status st = ole_scan_vba(d, len, &os);
		if (os.vba)
			add_finding(a, FINDING_MACRO, path, "OLE2 %s storage", os.vba_name);
		else if (level > 0 && is_vba_project_name(name))
			add_finding(a, FINDING_MACRO, path, "vbaProject.bin");
		else if (st != OLE_OK)
			add_finding(a, FINDING_ARCHIVE_ERROR, path, "%s", ole_status_name(st));
	} else if (level > 0 && is_vba_project_name(name)) {
		add_finding(a, FINDING_MACRO, path, "vbaProject.bin");
	}

	if (is_container(mime, d, len) && len > 0) {
		if (level < e->cfg.max_archive_depth)
			open_archive(a, path, d, len, level, mime_is_compressor(mime));
		else
			add_finding(a, FINDING_ARCHIVE_DEPTH, path, "nested deeper than %u levels",
				    e->cfg.max_archive_depth);
	}
}

static void av_scan(struct attachment_analysis *a, const char *path)
{
	struct attachment_engine *e = a->e;
	if (!e->av || a->len == 0)
		return;
	cl_fmap_t *map = cl_fmap_open_memory(a->buf, a->len);
	if (!map) {
		a->r.av_errors++;
		return;
	}
	struct cl_scan_options opts = {0};
	/* Heuristics on but no heuristic.* alerts selected: only what the
	 * signatures say, plus ClamAV's own file typing. */
	opts.general = CL_SCAN_GENERAL_HEURISTICS;
	opts.parse = ~0u;
	const char *virname = NULL;
	unsigned long scanned = 0;
	cl_error_t rc = cl_scanmap_callback(map, a->r.name, &virname, &scanned, e->av, &opts, NULL);
	cl_fmap_close(map);
	if (rc == CL_VIRUS)
		add_finding(a, FINDING_VIRUS, path, "%s", virname ? virname : "unknown");
	else if (rc != CL_CLEAN)
		a->r.av_errors++;
}

const struct attachment_result *attachment_end(struct attachment_analysis *a)
{
	if (a->ended)
		return &a->r;
	a->ended = true;
	uint8_t digest[32];
	unsigned dn = 0;
	EVP_DigestFinal_ex(a->md, digest, &dn);
	hex(a->r.sha256, digest, 32);
	const char *path = a->r.name[0] ? a->r.name : "(unnamed)";
	if (a->r.size > a->len)
		add_finding(a, FINDING_TRUNCATED, path, "analysed %zu of %llu bytes", a->len,
			    (unsigned long long)a->r.size);
	analyse_object(a, path, a->buf ? a->buf : (const uint8_t *)"", a->len, 0, digest,
		       a->r.true_type, sizeof(a->r.true_type));
	av_scan(a, path);
	return &a->r;
}

const struct attachment_result *attachment_analyse_buffer(struct attachment_analysis *a,
							  const uint8_t *data, size_t len)
{
	attachment_feed(a, data, len);
	return attachment_end(a);
}

void attachment_free(struct attachment_analysis *a)
{
	if (!a)
		return;
	EVP_MD_CTX_free(a->md);
	free(a->buf);
	free(a->scratch);
	free(a);
}
