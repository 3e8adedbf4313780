/* IPv4/IPv6 fragment reassembly, internal to the decoder.
 *
 * Fragments are stored only as the bytes they add (first data wins): a new
 * fragment is cut against what is already held, so a datagram's pieces never
 * overlap and their count is capped.  Datagrams are kept in arrival order of
 * their first fragment; that order alone decides eviction and expiry, so the
 * results never depend on hash order.  Not thread-safe. */
#ifndef POSTERN_REASSEMBLY_IP_DEFRAG_H
#define POSTERN_REASSEMBLY_IP_DEFRAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reassembly/decode.h"

struct defrag;

struct defrag_key {
	uint8_t src[16], dst[16];
	uint32_t id;     /* IPv4: 16-bit identification; IPv6: 32-bit */
	uint32_t vlan;   /* both VLAN ids and their count, packed */
	uint8_t version; /* 4 or 6 */
	uint8_t proto;   /* IPv4 protocol; 0 for IPv6 */
	uint8_t pad[2];  /* zeroed: the key is hashed as bytes */
};

/* One fragment as the decoder found it. */
struct defrag_frag {
	const uint8_t *hdr;  /* the IP header (+ IPv6 unfragmentable part) */
	uint32_t hdr_len;    /* bytes of hdr kept when this is the first fragment */
	const uint8_t *data; /* fragment payload */
	uint32_t off, len;   /* payload offset in the datagram and length, bytes */
	bool more;           /* MF / M flag */
	uint8_t next_proto;  /* IPv4 protocol or IPv6 fragment header's next header */
	uint32_t nh_off;     /* IPv6: offset in hdr of the next-header byte that named
			      * the fragment header (patched on rebuild) */
};

enum defrag_result {
	DEFRAG_HELD,     /* stored, or dropped at a cap (counted) */
	DEFRAG_INVALID,  /* rejected (counted as frag_invalid) */
	DEFRAG_COMPLETE, /* the datagram is rebuilt in *out / *out_len */
};

/* stats is the decoder's counter block; the defrag updates frag_* in it. */
struct defrag *defrag_new(const struct decoder_config *cfg, struct decoder_stats *stats);
void defrag_free(struct defrag *df);

/* Add one fragment seen at ts_us.  On DEFRAG_COMPLETE, *out points to the
 * rebuilt datagram (IP header with lengths, fragment fields and IPv4 header
 * checksum fixed; the IPv6 fragment header removed), valid until the next
 * defrag call. */
enum defrag_result defrag_insert(struct defrag *df, const struct defrag_key *key,
				 const struct defrag_frag *frag, uint64_t ts_us,
				 const uint8_t **out, size_t *out_len);

/* Drop datagrams whose first fragment is at least the timeout older than now. */
void defrag_expire(struct defrag *df, uint64_t now_us);

/* Bytes held: fragment data, saved headers and bookkeeping. */
size_t defrag_memory(const struct defrag *df);

#endif
