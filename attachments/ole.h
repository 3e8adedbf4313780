/* Minimal reader of the Compound File Binary format (OLE2: .doc, .xls, .ppt,
 * vbaProject.bin), used only to list directory entry names.  Internal to the
 * attachments library. */
#ifndef POSTERN_ATTACHMENTS_OLE_H
#define POSTERN_ATTACHMENTS_OLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OLE_MAX_DIR_ENTRIES 4096

enum ole_status {
	OLE_OK = 0,
	OLE_NOT_OLE,         /* no CFB signature */
	OLE_BAD_HEADER,      /* signature but impossible header fields */
	OLE_BAD_FAT,         /* FAT/DIFAT sector outside the file or a DIFAT loop */
	OLE_BAD_DIRECTORY,   /* directory chain outside the file or looping */
	OLE_NO_MEMORY,
};

struct ole_scan {
	bool vba;                 /* a VBA project storage or stream is present */
	char vba_name[32];        /* the entry that showed it ("VBA", "Macros", ...) */
	uint32_t entries;         /* directory entries read */
	bool entries_capped;      /* more than OLE_MAX_DIR_ENTRIES: the rest not read */
	bool truncated;           /* a chain ran past the end of the buffer */
};

bool ole_is_cfb(const uint8_t *data, size_t len);
/* Walk the directory of the CFB in data and look for VBA project entries. */
enum ole_status ole_scan_vba(const uint8_t *data, size_t len, struct ole_scan *out);
const char *ole_status_name(enum ole_status s);

#endif
