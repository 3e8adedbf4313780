/* libFuzzer target for attachment analysis (libmagic typing, libarchive
 * unpacking, the OLE2 directory reader, name checks).
 *
 * The first input byte picks the attachment name (so names with tricks and
 * every claimed type are exercised); the rest is the attachment.  ClamAV is
 * not loaded: its scan dominates the run time and it is not our parser.
 * Caps are small so that one input stays fast.  Invariants checked: size and
 * digest cover the input, the findings respect their cap and name a path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attachments/attachment.h"

static const char *const names[] = {
	"report.zip", "report.doc", "report.docm", "data.7z", "logs.tar.gz", "invoice.pdf",
	"photo.jpg", "setup.exe", "a.pdf.exe", "x.exe. ", "vbaProject.bin", "notes.txt",
	("inv\xE2\x80\xAE" "fdp.exe"), "", "archive.rar", "sheet.xlsx",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct attachment_engine *e;
	if (!e) {
		struct attachment_config c;
		attachment_config_default(&c);
		c.max_buffer = 1 << 20;
		c.max_member_size = 256 << 10;
		c.max_unpacked = 4 << 20;
		c.max_archive_members = 64;
		char err[256];
		e = attachment_engine_new(&c, err, sizeof(err));
		if (!e)
			abort();
	}
	if (size == 0)
		return 0;
	const char *name = names[data[0] % (sizeof(names) / sizeof(names[0]))];
	struct attachment_analysis *a = attachment_begin(e, name, "application/octet-stream", NULL, NULL);
	if (!a)
		return 0;
	const struct attachment_result *r = attachment_analyse_buffer(a, data + 1, size - 1);
	if (r->size != size - 1 || strlen(r->sha256) != 64 || !r->true_type[0])
		abort();
	if (r->finding_count > ATTACHMENT_MAX_FINDINGS || r->unpacked_bytes > (4 << 20) + 65536)
		abort();
	for (uint32_t i = 0; i < r->finding_count; i++)
		if ((unsigned)r->findings[i].kind >= FINDING_KIND_COUNT ||
		    strlen(r->findings[i].path) >= ATTACHMENT_PATH_MAX)
			abort();
	attachment_free(a);
	return 0;
}
