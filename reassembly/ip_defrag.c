/* IPv4/IPv6 fragment reassembly.  See ip_defrag.h for the policy. */
#include "reassembly/ip_defrag.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/siphash.h"

#define IPV6_MAX_PAYLOAD 65535u
#define IPV4_MAX_TOTAL 65535u
#define DEFRAG_MAX_OUT (40u + IPV6_MAX_PAYLOAD)

struct frag_piece {
	struct frag_piece *next; /* sorted by off, never overlapping */
	uint32_t off, len;
	uint8_t data[];
};

struct frag_dgram {
	struct frag_dgram *hnext;         /* hash chain */
	struct frag_dgram *older, *newer; /* age list, by first fragment */
	struct defrag_key key;
	uint64_t first_ts;
	struct frag_piece *pieces;
	uint8_t *hdr;       /* copy of the first fragment's header, or NULL */
	uint32_t hdr_len;
	uint32_t nh_off;
	uint32_t end;       /* payload length, once the last fragment is known */
	uint32_t npieces;
	uint32_t nfrags;    /* fragments accepted, for the drop counter */
	size_t mem;
	uint8_t next_proto;
	bool have_last;
};

struct defrag {
	struct decoder_config cfg;
	struct decoder_stats *st;
	struct siphash_key hkey;
	struct frag_dgram **buckets;
	uint32_t nbuckets; /* power of two */
	uint32_t count;
	size_t mem;
	struct frag_dgram *oldest, *newest;
	uint8_t *out;      /* rebuilt datagram */
	uint32_t out_cap;
};

struct defrag *defrag_new(const struct decoder_config *cfg, struct decoder_stats *stats)
{
	struct defrag *df = calloc(1, sizeof(*df));
	if (!df)
		return NULL;
	df->cfg = *cfg;
	if (df->cfg.frag_max_datagrams == 0)
		df->cfg.frag_max_datagrams = 1;
	if (df->cfg.frag_max_datagrams > (1u << 20))
		df->cfg.frag_max_datagrams = 1u << 20;
	if (df->cfg.frag_max_fragments == 0)
		df->cfg.frag_max_fragments = 1;
	if (df->cfg.frag_max_datagram_size > DEFRAG_MAX_OUT)
		df->cfg.frag_max_datagram_size = DEFRAG_MAX_OUT;
	df->st = stats;
	uint32_t nb = 16;
	while (nb < 2 * df->cfg.frag_max_datagrams)
		nb <<= 1;
	df->nbuckets = nb;
	df->out_cap = df->cfg.frag_max_datagram_size;
	df->buckets = calloc(nb, sizeof(*df->buckets));
	df->out = malloc(df->out_cap ? df->out_cap : 1);
	if (!df->buckets || !df->out || siphash_key_random(&df->hkey) != 0) {
		int e = errno ? errno : ENOMEM;
		free(df->buckets);
		free(df->out);
		free(df);
		errno = e;
		return NULL;
	}
	return df;
}

static uint32_t dgram_bucket(const struct defrag *df, const struct defrag_key *k)
{
	return (uint32_t)siphash24(&df->hkey, k, sizeof(*k)) & (df->nbuckets - 1);
}

static void dgram_release(struct defrag *df, struct frag_dgram *g)
{
	struct frag_dgram **pp = &df->buckets[dgram_bucket(df, &g->key)];
	while (*pp && *pp != g)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = g->hnext;
	if (g->older)
		g->older->newer = g->newer;
	else
		df->oldest = g->newer;
	if (g->newer)
		g->newer->older = g->older;
	else
		df->newest = g->older;
	for (struct frag_piece *p = g->pieces, *n; p; p = n) {
		n = p->next;
		free(p);
	}
	free(g->hdr);
	df->mem -= g->mem;
	df->count--;
	free(g);
}

void defrag_free(struct defrag *df)
{
	if (!df)
		return;
	while (df->oldest)
		dgram_release(df, df->oldest);
	free(df->buckets);
	free(df->out);
	free(df);
}

static bool dgram_expired(const struct defrag *df, const struct frag_dgram *g, uint64_t now)
{
	return now >= g->first_ts && now - g->first_ts >= df->cfg.frag_timeout_us;
}

void defrag_expire(struct defrag *df, uint64_t now_us)
{
	/* Full scan: packet times need not be monotonic, so age order is only a
	 * hint; the list is bounded by frag_max_datagrams. */
	for (struct frag_dgram *g = df->oldest, *n; g; g = n) {
		n = g->newer;
		if (dgram_expired(df, g, now_us)) {
			df->st->frag_timeout++;
			dgram_release(df, g);
		}
	}
}

size_t defrag_memory(const struct defrag *df)
{
	return df->mem;
}

/* Drop a datagram at a cap: its fragments count as dropped. */
static void dgram_drop_cap(struct defrag *df, struct frag_dgram *g)
{
	df->st->frag_dropped_cap += g->nfrags;
	dgram_release(df, g);
}

static struct frag_dgram *dgram_find(struct defrag *df, const struct defrag_key *k)
{
	for (struct frag_dgram *g = df->buckets[dgram_bucket(df, k)]; g; g = g->hnext)
		if (memcmp(&g->key, k, sizeof(*k)) == 0)
			return g;
	return NULL;
}

static struct frag_dgram *dgram_create(struct defrag *df, const struct defrag_key *k,
				       uint64_t ts)
{
	while (df->count >= df->cfg.frag_max_datagrams && df->oldest)
		dgram_drop_cap(df, df->oldest);
	struct frag_dgram *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->key = *k;
	g->first_ts = ts;
	g->mem = sizeof(*g);
	uint32_t b = dgram_bucket(df, k);
	g->hnext = df->buckets[b];
	df->buckets[b] = g;
	g->older = df->newest;
	if (df->newest)
		df->newest->newer = g;
	else
		df->oldest = g;
	df->newest = g;
	df->count++;
	df->mem += g->mem;
	return g;
}

/* Make room for need more bytes under frag_max_bytes by evicting the oldest
 * datagrams other than keep.  Returns false when even that is not enough. */
static bool defrag_make_room(struct defrag *df, struct frag_dgram *keep, size_t need)
{
	struct frag_dgram *g = df->oldest;
	while (df->mem + need > df->cfg.frag_max_bytes && g) {
		struct frag_dgram *n = g->newer;
		if (g != keep)
			dgram_drop_cap(df, g);
		g = n;
	}
	return df->mem + need <= df->cfg.frag_max_bytes;
}

static uint16_t ipv4_header_csum(const uint8_t *h, uint32_t len)
{
	uint32_t sum = 0;
	for (uint32_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)h[i] << 8 | h[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static bool dgram_complete(const struct frag_dgram *g)
{
	if (!g->have_last || !g->hdr)
		return false;
	uint32_t pos = 0;
	for (const struct frag_piece *p = g->pieces; p; p = p->next) {
		if (p->off != pos)
			return false;
		pos += p->len;
	}
	return pos == g->end;
}

static size_t dgram_rebuild(struct defrag *df, const struct frag_dgram *g)
{
	uint8_t *o = df->out;
	memcpy(o, g->hdr, g->hdr_len);
	for (const struct frag_piece *p = g->pieces; p; p = p->next)
		memcpy(o + g->hdr_len + p->off, p->data, p->len);
	uint32_t total = g->hdr_len + g->end;
	if (g->key.version == 4) {
		o[2] = (uint8_t)(total >> 8);
		o[3] = (uint8_t)total;
		o[6] &= 0x40; /* keep DF, clear MF and the offset */
		o[7] = 0;
		o[10] = o[11] = 0;
		uint16_t c = ipv4_header_csum(o, g->hdr_len);
		o[10] = (uint8_t)(c >> 8);
		o[11] = (uint8_t)c;
	} else {
		uint32_t plen = total - 40;
		o[4] = (uint8_t)(plen >> 8);
		o[5] = (uint8_t)plen;
		o[g->nh_off] = g->next_proto;
	}
	return total;
}

/* Largest payload end a datagram with this header may reach. */
static uint32_t frag_max_end(const struct defrag *df, const struct defrag_key *k,
			     uint32_t hdr_len)
{
	uint32_t lim = k->version == 4 ? IPV4_MAX_TOTAL - hdr_len
				       : IPV6_MAX_PAYLOAD - (hdr_len - 40);
	uint32_t cfg_lim = df->cfg.frag_max_datagram_size > hdr_len
				   ? df->cfg.frag_max_datagram_size - hdr_len
				   : 0;
	return lim < cfg_lim ? lim : cfg_lim;
}

static bool frag_shape_ok(const struct defrag_key *k, const struct defrag_frag *f)
{
	if (f->len == 0)
		return false;
	if (f->more && (f->len & 7))
		return false;
	if (f->next_proto == 6) {
		/* RFC 1858: a first fragment too short for the TCP header, or a
		 * second one at offset 8 rewriting its flags, is an attack. */
		if (f->off == 0 && f->more && f->len < 20)
			return false;
		if (f->off == 8)
			return false;
	}
	return true;
}

enum defrag_result defrag_insert(struct defrag *df, const struct defrag_key *key,
				 const struct defrag_frag *f, uint64_t ts_us,
				 const uint8_t **out, size_t *out_len)
{
	/* Lazy expiry: the oldest entries, cheap and enough for monotonic time. */
	while (df->oldest && dgram_expired(df, df->oldest, ts_us)) {
		df->st->frag_timeout++;
		dgram_release(df, df->oldest);
	}

	uint64_t fend = (uint64_t)f->off + f->len;
	if (!frag_shape_ok(key, f) || f->hdr_len < (key->version == 4 ? 20u : 40u) ||
	    f->hdr_len > df->cfg.frag_max_datagram_size ||
	    fend > frag_max_end(df, key, f->hdr_len)) {
		df->st->frag_invalid++;
		return DEFRAG_INVALID;
	}

	struct frag_dgram *g = dgram_find(df, key);
	if (!g) {
		g = dgram_create(df, key, ts_us);
		if (!g) {
			df->st->frag_dropped_cap++;
			return DEFRAG_HELD;
		}
	}

	/* The end must agree with what the datagram already knows. */
	if (!f->more) {
		if (g->have_last && g->end != fend)
			goto invalid;
		for (const struct frag_piece *p = g->pieces; p; p = p->next)
			if (p->off + p->len > fend)
				goto invalid;
	} else if (g->have_last && fend > g->end) {
		goto invalid;
	}
	if (g->hdr && fend > frag_max_end(df, key, g->hdr_len))
		goto invalid;
	if (f->off == 0 && !g->hdr) {
		/* The header decides how far the datagram may reach. */
		uint32_t known = g->have_last ? g->end : 0;
		for (const struct frag_piece *p = g->pieces; p; p = p->next)
			if (p->off + p->len > known)
				known = p->off + p->len;
		if (known > frag_max_end(df, key, f->hdr_len))
			goto invalid;
	}

	/* Cut the fragment against held pieces: only uncovered bytes are kept. */
	bool overlap = false;
	uint32_t new_pieces = 0;
	size_t new_bytes = 0;
	{
		uint32_t pos = f->off;
		for (const struct frag_piece *p = g->pieces; p && pos < fend; p = p->next) {
			if (p->off + p->len <= pos)
				continue;
			if (p->off >= fend)
				break;
			overlap = true;
			if (p->off > pos) {
				new_pieces++;
				new_bytes += p->off - pos;
			}
			pos = p->off + p->len;
		}
		if (pos < fend) {
			new_pieces++;
			new_bytes += fend - pos;
		}
	}
	if (overlap)
		df->st->frag_overlap++;

	bool need_hdr = f->off == 0 && !g->hdr;
	if (g->npieces + new_pieces > df->cfg.frag_max_fragments ||
	    g->nfrags + 1 > df->cfg.frag_max_fragments) {
		df->st->frag_dropped_cap++;
		dgram_drop_cap(df, g);
		return DEFRAG_HELD;
	}
	size_t need = new_pieces * sizeof(struct frag_piece) + new_bytes +
		      (need_hdr ? f->hdr_len : 0);
	if (!defrag_make_room(df, g, need)) {
		df->st->frag_dropped_cap++;
		dgram_drop_cap(df, g);
		return DEFRAG_HELD;
	}

	if (need_hdr) {
		g->hdr = malloc(f->hdr_len);
		if (!g->hdr) {
			df->st->frag_dropped_cap++;
			dgram_drop_cap(df, g);
			return DEFRAG_HELD;
		}
		memcpy(g->hdr, f->hdr, f->hdr_len);
		g->hdr_len = f->hdr_len;
		g->nh_off = f->nh_off;
		g->next_proto = f->next_proto;
		g->mem += f->hdr_len;
		df->mem += f->hdr_len;
	}
	if (!f->more) {
		g->have_last = true;
		g->end = (uint32_t)fend;
	}
	g->nfrags++;

	/* Insert the uncovered ranges in order. */
	struct frag_piece **pp = &g->pieces;
	uint32_t pos = f->off;
	while (pos < fend) {
		while (*pp && (*pp)->off + (*pp)->len <= pos)
			pp = &(*pp)->next;
		uint32_t stop = (uint32_t)fend;
		if (*pp && (*pp)->off <= pos) {
			pos = (*pp)->off + (*pp)->len;
			continue;
		}
		if (*pp && (*pp)->off < stop)
			stop = (*pp)->off;
		uint32_t n = stop - pos;
		struct frag_piece *p = malloc(sizeof(*p) + n);
		if (!p) {
			df->st->frag_dropped_cap++;
			dgram_drop_cap(df, g);
			return DEFRAG_HELD;
		}
		p->off = pos;
		p->len = n;
		memcpy(p->data, f->data + (pos - f->off), n);
		p->next = *pp;
		*pp = p;
		pp = &p->next;
		g->npieces++;
		g->mem += sizeof(*p) + n;
		df->mem += sizeof(*p) + n;
		pos = stop;
	}

	if (!dgram_complete(g))
		return DEFRAG_HELD;
	if (g->hdr_len + g->end > df->out_cap) {
		df->st->frag_invalid++;
		dgram_release(df, g);
		return DEFRAG_INVALID;
	}
	*out_len = dgram_rebuild(df, g);
	*out = df->out;
	df->st->frag_reassembled++;
	dgram_release(df, g);
	return DEFRAG_COMPLETE;

invalid:
	df->st->frag_invalid++;
	if (g->nfrags == 0)
		dgram_release(df, g);
	return DEFRAG_INVALID;
}
