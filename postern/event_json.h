/* Small helpers to build event objects with jansson from network data. */
#ifndef POSTERN_EVENT_JSON_H
#define POSTERN_EVENT_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "reassembly/packet.h"

/* A JSON string from bytes that came off the wire: invalid UTF-8 sequences
 * become U+FFFD, so the event is always valid JSON.  NULL input -> JSON null. */
json_t *event_json_text(const char *s);
json_t *event_json_textn(const char *s, size_t len);

/* Packet time as ISO 8601 UTC with microseconds: "2009-10-05T06:06:08.123456Z". */
json_t *event_json_time(uint64_t ts_us);

/* "192.0.2.1" or "2001:db8::1". */
json_t *event_json_addr(const struct ip_addr *a);
/* The same address as text into buf ("?" if it cannot be printed). */
void event_json_addr_text(const struct ip_addr *a, char *buf, size_t cap);

/* A JSON array of the names of the bits set in mask, name_of(bit) per bit. */
json_t *event_json_flags(uint32_t mask, const char *(*name_of)(uint32_t bit));

/* Set key to value, taking ownership (value may be NULL: nothing is set). */
void event_json_set(json_t *obj, const char *key, json_t *value);

#endif
