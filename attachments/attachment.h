/* Attachment analysis: everything a mail gateway checks on one attached file.
 *
 * The caller streams the decoded bytes of one attachment (attachment_feed)
 * and ends it; the analysis then runs on what was buffered (up to
 * max_buffer: the SHA-256 and size always cover every byte):
 *   - extension block list, on the name and on names inside archives;
 *   - true type from content (libmagic) and extension mismatch: an
 *     executable or script whose name claims a document, image or archive;
 *   - archives (libarchive) opened up to max_archive_depth levels, with caps on
 *     members, unpacked bytes and compression ratio (zip bombs), and
 *     detection of encrypted members;
 *   - VBA macros: vbaProject.bin in OOXML, VBA storages in OLE2 documents;
 *   - SHA-256 of the attachment (and of archive members) against a hash list;
 *   - a libclamav scan with the signature databases of a directory.
 *
 * An attachment_engine is loaded once (hash list, ClamAV databases, libmagic)
 * and shared read-only; attachment_analysis objects are per attachment. */
#ifndef POSTERN_ATTACHMENTS_ATTACHMENT_H
#define POSTERN_ATTACHMENTS_ATTACHMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct attachment_config {
	char **blocked_extensions;   /* lower case, without dot; NULL = the default list */
	size_t blocked_extension_count;
	const char *hash_list;       /* file of SHA-256 hex digests, one per line, '#' comments; NULL = none */
	const char *clamav_db_dir;   /* ClamAV signature directory; NULL = no AV scan */
	uint64_t max_buffer;         /* bytes of one attachment kept for analysis (default 32 MiB) */
	uint32_t max_archive_depth;  /* archive levels opened (default 2) */
	uint32_t max_archive_members;/* members examined per archive (default 1000) */
	uint64_t max_unpacked;       /* bytes unpacked per attachment, all levels (default 256 MiB) */
	uint32_t max_ratio;          /* unpacked / packed above this = bomb (default 100) */
	uint64_t max_member_size;    /* bytes of one member kept for inner checks (default 32 MiB) */
};
void attachment_config_default(struct attachment_config *c);

/* One error message (file, line, reason) when loading fails. */
struct attachment_engine;
struct attachment_engine *attachment_engine_new(const struct attachment_config *c,
						char *err, size_t errlen);
void attachment_engine_free(struct attachment_engine *e);
/* Signatures loaded into ClamAV (0 when disabled); hash list entries. */
unsigned attachment_engine_av_signatures(const struct attachment_engine *e);
size_t attachment_engine_hashes(const struct attachment_engine *e);

enum attachment_finding_kind {
	FINDING_BLOCKED_EXTENSION = 0,
	FINDING_TYPE_MISMATCH,       /* executable/script content under a document/image/archive name */
	FINDING_EXECUTABLE,          /* executable or script content (whatever the name) */
	FINDING_ENCRYPTED_ARCHIVE,
	FINDING_ARCHIVE_BOMB,        /* ratio, unpacked size or member count cap exceeded */
	FINDING_ARCHIVE_DEPTH,       /* nested deeper than max_archive_depth: not opened */
	FINDING_ARCHIVE_ERROR,       /* corrupt or unreadable archive */
	FINDING_MACRO,               /* VBA macros present */
	FINDING_HASH_LISTED,         /* SHA-256 on the hash list */
	FINDING_VIRUS,               /* ClamAV detection */
	FINDING_TRUNCATED,           /* larger than max_buffer: deep checks saw only the start */
	FINDING_KIND_COUNT
};
const char *attachment_finding_name(enum attachment_finding_kind k); /* "blocked_extension", ... */

#define ATTACHMENT_PATH_MAX 256
struct attachment_finding {
	enum attachment_finding_kind kind;
	char path[ATTACHMENT_PATH_MAX];  /* "report.zip" or "report.zip/inner/x.exe" */
	char detail[128];                /* extension, true type, AV signature name, digest... */
};

/* Per member of an archive, for content rules (callback, optional). */
struct attachment_callbacks {
	void (*member)(void *ctx, const char *path, const uint8_t *data, size_t len);
};

#define ATTACHMENT_MAX_FINDINGS 32
struct attachment_result {
	char name[ATTACHMENT_PATH_MAX];  /* as given */
	char declared_type[128];         /* as given */
	char true_type[128];             /* libmagic MIME type, e.g. "application/pdf" */
	uint64_t size;                   /* decoded bytes fed */
	char sha256[65];                 /* hex */
	uint32_t archive_members;        /* members seen, all levels */
	uint64_t unpacked_bytes;
	struct attachment_finding findings[ATTACHMENT_MAX_FINDINGS];
	uint32_t finding_count;
	uint32_t findings_dropped;
	uint32_t av_errors;              /* ClamAV scans that failed (not clean, not a virus) */
};

struct attachment_analysis;
struct attachment_analysis *attachment_begin(struct attachment_engine *e, const char *name,
					     const char *declared_type,
					     const struct attachment_callbacks *cb, void *ctx);
/* Buffer at most max bytes of this attachment (less than max_buffer: a
 * caller's memory budget).  Call before the first attachment_feed. */
void attachment_limit_buffer(struct attachment_analysis *a, uint64_t max);
void attachment_feed(struct attachment_analysis *a, const uint8_t *data, size_t len);
/* Run the checks; the result is owned by the analysis until attachment_free. */
const struct attachment_result *attachment_end(struct attachment_analysis *a);
void attachment_free(struct attachment_analysis *a);

/* Analyse a whole buffer in one call (tests, fuzzing, benchmarks). */
const struct attachment_result *attachment_analyse_buffer(struct attachment_analysis *a,
							  const uint8_t *data, size_t len);

#endif
