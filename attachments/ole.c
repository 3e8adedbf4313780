/* Compound File Binary ([MS-CFB]) directory reader, for VBA detection.
 *
 * Why not libgsf or libolecf: libgsf pulls in GLib and GObject for what is a
 * walk over one table, and libolecf is not packaged in Debian 12.  All that is
 * needed is the names in the directory stream, so this reads the header, the
 * FAT (through the header DIFAT and the DIFAT chain) and the directory chain,
 * and nothing else: no mini stream, no stream contents, no red-black tree
 * (every entry of the directory stream is looked at, reachable or not, which
 * also catches entries a writer left unlinked).
 *
 * The input is hostile: every sector index is checked against the buffer, each
 * chain walk stops after as many steps as the file has sectors (a longer
 * chain must loop), and at most OLE_MAX_DIR_ENTRIES entries are read.  A
 * truncated file is read as far as it goes.
 */
#include "attachments/ole.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAXREGSECT 0xFFFFFFFAu
#define ENDOFCHAIN 0xFFFFFFFEu
#define FREESECT 0xFFFFFFFFu
#define HEADER_DIFAT 109
#define DIR_ENTRY_SIZE 128

static const uint8_t cfb_sig[8] = {0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1};

/* Entry names that mean a VBA project (Word keeps it under "Macros", Excel
 * under "_VBA_PROJECT_CUR", vbaProject.bin and PowerPoint's under "VBA"). */
static const char *const vba_names[] = {"VBA", "_VBA_PROJECT", "_VBA_PROJECT_CUR", "Macros"};

struct cfb {
	const uint8_t *data;
	size_t len;
	uint32_t shift;
	uint32_t nsect;     /* sectors that start inside the buffer */
	uint32_t *fat;
	uint32_t fat_len;   /* FAT entries held (at most nsect) */
};

static uint32_t rd16(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* 32-bit word at byte off of sector sec; FREESECT past the end of the buffer. */
static uint32_t sect_word(const struct cfb *c, uint32_t sec, size_t off)
{
	size_t pos = ((size_t)sec + 1) << c->shift;
	if (sec >= c->nsect || pos + off + 4 > c->len)
		return FREESECT;
	return rd32(c->data + pos + off);
}

bool ole_is_cfb(const uint8_t *data, size_t len)
{
	return len >= sizeof(cfb_sig) && memcmp(data, cfb_sig, sizeof(cfb_sig)) == 0;
}

const char *ole_status_name(enum ole_status s)
{
	switch (s) {
	case OLE_OK: return "ok";
	case OLE_NOT_OLE: return "not an OLE2 file";
	case OLE_BAD_HEADER: return "bad OLE2 header";
	case OLE_BAD_FAT: return "bad OLE2 FAT";
	case OLE_BAD_DIRECTORY: return "bad OLE2 directory chain";
	case OLE_NO_MEMORY: return "out of memory";
	}
	return "?";
}

/* Record one FAT sector's entries at FAT position k (k-th FAT sector). */
static void load_fat_sector(struct cfb *c, uint32_t k, uint32_t sec, struct ole_scan *out)
{
	if (sec > MAXREGSECT)
		return; /* unused DIFAT slot */
	if (sec >= c->nsect) {
		out->truncated = true;
		return;
	}
	uint32_t per = (1u << c->shift) / 4;
	uint64_t first = (uint64_t)k * per;
	for (uint32_t j = 0; j < per && first + j < c->fat_len; j++)
		c->fat[first + j] = sect_word(c, sec, (size_t)j * 4);
}

static enum ole_status load_fat(struct cfb *c, struct ole_scan *out)
{
	const uint8_t *h = c->data;
	uint32_t nfat = rd32(h + 0x2C), difat = rd32(h + 0x44), ndifat = rd32(h + 0x48);
	uint32_t per = (1u << c->shift) / 4;
	/* A FAT sector must itself be in the file: more than nsect is a lie. */
	if (nfat > c->nsect + 1u)
		return OLE_BAD_FAT;
	c->fat_len = c->nsect;
	c->fat = malloc(((size_t)c->fat_len + 1) * sizeof(uint32_t));
	if (!c->fat)
		return OLE_NO_MEMORY;
	for (uint32_t i = 0; i < c->fat_len; i++)
		c->fat[i] = FREESECT;
	uint32_t k = 0;
	for (; k < nfat && k < HEADER_DIFAT; k++)
		load_fat_sector(c, k, rd32(h + 0x4C + 4 * k), out);
	/* DIFAT chain: per-1 FAT sector numbers, then the next DIFAT sector. */
	uint32_t steps = 0;
	for (uint32_t d = difat; k < nfat && d <= MAXREGSECT && steps < ndifat; steps++) {
		if (d >= c->nsect) {
			out->truncated = true;
			break;
		}
		if (steps > c->nsect)
			return OLE_BAD_FAT;
		for (uint32_t j = 0; j + 1 < per && k < nfat; j++, k++)
			load_fat_sector(c, k, sect_word(c, d, (size_t)j * 4), out);
		d = sect_word(c, d, (size_t)(per - 1) * 4);
	}
	return OLE_OK;
}

static void check_entry(const uint8_t *e, struct ole_scan *out)
{
	uint32_t name_len = rd16(e + 64);
	uint8_t type = e[66];
	if (out->vba || (type != 1 && type != 2)) /* found already; not a storage or stream */
		return;
	char name[33];
	size_t n = 0;
	if (name_len > 64)
		name_len = 64;
	for (uint32_t i = 0; i + 1 < name_len; i += 2) {
		uint32_t u = rd16(e + i);
		if (u == 0)
			break;
		name[n++] = u < 0x80 ? (char)u : '?';
	}
	name[n] = '\0';
	for (size_t i = 0; i < sizeof(vba_names) / sizeof(vba_names[0]); i++) {
		if (strcasecmp(name, vba_names[i]) == 0) {
			out->vba = true;
			memcpy(out->vba_name, name, n + 1);
			return;
		}
	}
}

enum ole_status ole_scan_vba(const uint8_t *data, size_t len, struct ole_scan *out)
{
	memset(out, 0, sizeof(*out));
	if (len < 512 || !ole_is_cfb(data, len))
		return OLE_NOT_OLE;
	struct cfb c = {.data = data, .len = len};
	c.shift = rd16(data + 0x1E);
	if (rd16(data + 0x1C) != 0xFFFE || (c.shift != 9 && c.shift != 12))
		return OLE_BAD_HEADER;
	size_t ssize = (size_t)1 << c.shift;
	if (len <= ssize)
		return OLE_BAD_HEADER;
	size_t nsect = (len - ssize + ssize - 1) / ssize;
	c.nsect = nsect > MAXREGSECT ? MAXREGSECT : (uint32_t)nsect;

	enum ole_status st = load_fat(&c, out);
	if (st != OLE_OK) {
		free(c.fat);
		return st;
	}
	uint32_t sec = rd32(data + 0x30);
	if (sec >= c.nsect) {
		free(c.fat);
		return sec > MAXREGSECT ? OLE_BAD_DIRECTORY : (out->truncated = true, OLE_OK);
	}
	uint32_t steps = 0;
	while (sec != ENDOFCHAIN) {
		if (sec >= c.nsect || sec >= c.fat_len) {
			if (sec <= MAXREGSECT)
				out->truncated = true;
			else
				st = OLE_BAD_DIRECTORY;
			break;
		}
		if (++steps > c.nsect) {
			st = OLE_BAD_DIRECTORY; /* a chain longer than the file loops */
			break;
		}
		size_t base = ((size_t)sec + 1) << c.shift;
		for (size_t off = 0; off + DIR_ENTRY_SIZE <= ssize; off += DIR_ENTRY_SIZE) {
			if (base + off + DIR_ENTRY_SIZE > len) {
				out->truncated = true;
				break;
			}
			if (out->entries >= OLE_MAX_DIR_ENTRIES) {
				out->entries_capped = true;
				break;
			}
			out->entries++;
			check_entry(data + base + off, out);
		}
		if (out->entries_capped)
			break;
		sec = c.fat[sec];
	}
	free(c.fat);
	/* A VBA entry found before the damage is still a macro. */
	return out->vba ? OLE_OK : st;
}
