/* Link, IP and TCP decoding.  Every frame ends in exactly one status, and
 * every DECODE_INVALID increments exactly one of truncated, malformed or
 * frag_invalid: "truncated" means the capture stopped inside headers,
 * "malformed" means the headers contradict themselves or the wire length. */
#include "reassembly/decode.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reassembly/ip_defrag.h"

#define ETH_P_IPV4 0x0800
#define ETH_P_IPV6 0x86dd
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8
#define ETH_P_QINQ_OLD 0x9100
#define ETH_P_MPLS_UC 0x8847
#define ETH_P_MPLS_MC 0x8848
#define ETH_P_PPPOE_SESS 0x8864

#define IPPROTO_TCP_ 6
#define IPV6_MAX_EXT_HEADERS 32 /* more is an evasion attempt, not a real packet */

/* L3 selection after the link layer. */
enum l3_kind { L3_BY_VERSION, L3_IPV4, L3_IPV6, L3_OTHER, L3_UNSUPPORTED };

struct decoder {
	struct decoder_config cfg;
	struct decoder_stats st;
	struct defrag *df;
};

void decoder_config_default(struct decoder_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->frag_max_datagrams = 1024;
	cfg->frag_max_bytes = 4u << 20;
	cfg->frag_max_datagram_size = 65535 + 40; /* largest IPv6 datagram */
	cfg->frag_max_fragments = 64;
	cfg->frag_timeout_us = 30ull * 1000000;
	cfg->verify_checksums = true;
}

struct decoder *decoder_new(const struct decoder_config *cfg)
{
	struct decoder *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	if (cfg)
		d->cfg = *cfg;
	else
		decoder_config_default(&d->cfg);
	d->df = defrag_new(&d->cfg, &d->st);
	if (!d->df) {
		int e = errno;
		free(d);
		errno = e;
		return NULL;
	}
	return d;
}

void decoder_free(struct decoder *d)
{
	if (!d)
		return;
	defrag_free(d->df);
	free(d);
}

void decoder_expire(struct decoder *d, uint64_t now_us)
{
	defrag_expire(d->df, now_us);
}

const struct decoder_stats *decoder_stats(const struct decoder *d)
{
	return &d->st;
}

size_t decoder_memory(const struct decoder *d)
{
	return defrag_memory(d->df);
}

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* One's-complement sum in host byte order (RFC 1071 §2(B)): the folded
 * result is byte-swapped relative to network order, which does not matter
 * when checking that a sum including its checksum field is 0xffff.  p must
 * start at an even offset of the checksummed data. */
static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t n)
{
	uint64_t s2 = 0;
	while (n >= 16) {
		uint32_t a, b, c, e;
		memcpy(&a, p, 4);
		memcpy(&b, p + 4, 4);
		memcpy(&c, p + 8, 4);
		memcpy(&e, p + 12, 4);
		sum += (uint64_t)a + b;
		s2 += (uint64_t)c + e;
		p += 16;
		n -= 16;
	}
	sum += s2;
	while (n >= 4) {
		uint32_t a;
		memcpy(&a, p, 4);
		sum += a;
		p += 4;
		n -= 4;
	}
	if (n >= 2) {
		uint16_t v;
		memcpy(&v, p, 2);
		sum += v;
		p += 2;
		n -= 2;
	}
	if (n) {
		uint8_t last[2] = {p[0], 0};
		uint16_t v;
		memcpy(&v, last, 2);
		sum += v;
	}
	return sum;
}

static uint16_t csum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static enum decode_status count_truncated(struct decoder *d)
{
	d->st.truncated++;
	return DECODE_INVALID;
}

static enum decode_status count_malformed(struct decoder *d)
{
	d->st.malformed++;
	return DECODE_INVALID;
}

/* Walk 802.1Q / 802.1ad / old QinQ tags starting at *off. */
static enum decode_status vlan_walk(struct decoder *d, const uint8_t *f, size_t caplen,
				    size_t *off, uint16_t *type, struct packet *out)
{
	bool tagged = false;
	while (*type == ETH_P_8021Q || *type == ETH_P_8021AD || *type == ETH_P_QINQ_OLD) {
		if (caplen - *off < 4)
			return count_truncated(d);
		uint16_t tci = rd16(f + *off);
		if (out->vlan_count < 2)
			out->vlan[out->vlan_count++] = tci & 0x0fff;
		else
			d->st.vlan_extra++;
		*type = rd16(f + *off + 2);
		*off += 4;
		tagged = true;
	}
	if (tagged)
		d->st.vlan_tagged++;
	return DECODE_TCP;
}

static enum l3_kind l3_from_ethertype(uint16_t type)
{
	switch (type) {
	case ETH_P_IPV4:
		return L3_IPV4;
	case ETH_P_IPV6:
		return L3_IPV6;
	case ETH_P_MPLS_UC:
	case ETH_P_MPLS_MC:
	case ETH_P_PPPOE_SESS:
		return L3_UNSUPPORTED; /* may carry TCP, but we do not look inside */
	default:
		return L3_OTHER;
	}
}

static enum l3_kind l3_from_af(uint32_t af)
{
	switch (af) {
	case 2:
		return L3_IPV4;
	case 24: /* NetBSD, OpenBSD */
	case 28: /* FreeBSD */
	case 30: /* Darwin */
		return L3_IPV6;
	default:
		return L3_OTHER;
	}
}

/* Sets *off to the L3 start and *kind; returns DECODE_TCP to go on. */
static enum decode_status link_decode(struct decoder *d, int link, const uint8_t *f,
				      size_t caplen, size_t *off, enum l3_kind *kind,
				      struct packet *out)
{
	uint16_t type;
	enum decode_status s;
	switch (link) {
	case DECODE_LINK_ETHERNET:
		if (caplen < 14)
			return count_truncated(d);
		type = rd16(f + 12);
		*off = 14;
		break;
	case DECODE_LINK_LINUX_SLL:
		if (caplen < 16)
			return count_truncated(d);
		type = rd16(f + 14);
		*off = 16;
		break;
	case DECODE_LINK_LINUX_SLL2:
		if (caplen < 20)
			return count_truncated(d);
		type = rd16(f);
		*off = 20;
		break;
	case DECODE_LINK_NULL: {
		if (caplen < 4)
			return count_truncated(d);
		/* Written in the capturing host's order, which may not be ours:
		 * family values are small, so a large one is byte-swapped. */
		uint32_t af;
		memcpy(&af, f, 4);
		if (af > 0xffff)
			af = __builtin_bswap32(af);
		*off = 4;
		*kind = l3_from_af(af);
		return DECODE_TCP;
	}
	case DECODE_LINK_LOOP:
		if (caplen < 4)
			return count_truncated(d);
		*off = 4;
		*kind = l3_from_af(rd32(f));
		return DECODE_TCP;
	case DECODE_LINK_RAW:
	case DECODE_LINK_RAW_14:
	case DECODE_LINK_RAW_101:
		*off = 0;
		*kind = L3_BY_VERSION;
		return DECODE_TCP;
	case DECODE_LINK_IPV4:
		*off = 0;
		*kind = L3_IPV4;
		return DECODE_TCP;
	case DECODE_LINK_IPV6:
		*off = 0;
		*kind = L3_IPV6;
		return DECODE_TCP;
	default:
		*kind = L3_UNSUPPORTED;
		return DECODE_TCP;
	}
	/* Cooked captures keep VLAN tags only when the kernel did not strip them. */
	s = vlan_walk(d, f, caplen, off, &type, out);
	if (s != DECODE_TCP)
		return s;
	*kind = l3_from_ethertype(type);
	return DECODE_TCP;
}

static void tcp_options_parse(struct decoder *d, const uint8_t *o, size_t n, struct packet *out)
{
	size_t i = 0;
	while (i < n) {
		uint8_t kind = o[i];
		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (n - i < 2 || o[i + 1] < 2 || o[i + 1] > n - i) {
			out->flags |= PKT_TCP_OPTIONS_BAD;
			break;
		}
		uint8_t len = o[i + 1];
		const uint8_t *v = o + i + 2;
		bool ok = true;
		switch (kind) {
		case 2:
			if ((ok = len == 4)) {
				out->opt.has_mss = true;
				out->opt.mss = rd16(v);
			}
			break;
		case 3:
			if ((ok = len == 3)) {
				out->opt.has_wscale = true;
				out->opt.wscale = v[0];
			}
			break;
		case 4:
			if ((ok = len == 2))
				out->opt.sack_permitted = true;
			break;
		case 5:
			ok = len >= 10 && (len - 2) % 8 == 0;
			break;
		case 8:
			if ((ok = len == 10)) {
				out->opt.has_timestamp = true;
				out->opt.tsval = rd32(v);
				out->opt.tsecr = rd32(v + 4);
			}
			break;
		default:
			break;
		}
		if (!ok)
			out->flags |= PKT_TCP_OPTIONS_BAD;
		i += len;
	}
	if (out->flags & PKT_TCP_OPTIONS_BAD)
		d->st.tcp_options_bad++;
}

/* t: TCP header, cap bytes present, seg_len bytes claimed by the IP layer.
 * pseudo: the checksum pseudo-header, already summed. */
static enum decode_status tcp_decode(struct decoder *d, const uint8_t *t, size_t cap,
				     size_t seg_len, uint64_t pseudo, struct packet *out)
{
	if (seg_len < 20)
		return count_malformed(d);
	if (cap < 20)
		return count_truncated(d);
	size_t doff = (size_t)(t[12] >> 4) * 4;
	if (doff < 20 || doff > seg_len)
		return count_malformed(d);
	if (doff > cap)
		return count_truncated(d);
	out->sport = rd16(t);
	out->dport = rd16(t + 2);
	out->seq = rd32(t + 4);
	out->ack = rd32(t + 8);
	out->tcp_flags = t[13];
	out->window = rd16(t + 14);
	if (doff > 20)
		tcp_options_parse(d, t + 20, doff - 20, out);
	out->payload = t + doff;
	out->payload_len = (uint32_t)(cap - doff);
	if (cap < seg_len) {
		out->flags |= PKT_TRUNCATED_PAYLOAD;
		d->st.tcp_payload_truncated++;
	} else if (d->cfg.verify_checksums) {
		if (csum_fold(csum_add(pseudo, t, seg_len)) != 0xffff) {
			out->flags |= PKT_TCP_CSUM_BAD;
			d->st.tcp_csum_bad++;
		}
	}
	d->st.tcp++;
	return DECODE_TCP;
}

static enum decode_status not_tcp(struct decoder *d)
{
	d->st.not_tcp++;
	return DECODE_NOT_TCP;
}

static uint32_t vlan_key(const struct packet *out)
{
	return (uint32_t)out->vlan[0] | (uint32_t)out->vlan[1] << 12 |
	       (uint32_t)out->vlan_count << 24;
}

static enum decode_status ip_decode(struct decoder *d, const uint8_t *ip, size_t cap,
				    size_t wire, enum l3_kind kind, struct packet *out,
				    bool rebuilt);

/* Hand a fragment to reassembly; on completion decode the rebuilt datagram. */
static enum decode_status frag_feed(struct decoder *d, const struct defrag_key *key,
				    const struct defrag_frag *frag, struct packet *out)
{
	const uint8_t *buf;
	size_t len;
	switch (defrag_insert(d->df, key, frag, out->ts_us, &buf, &len)) {
	case DEFRAG_HELD:
		return DECODE_FRAGMENT_HELD;
	case DEFRAG_INVALID:
		return DECODE_INVALID; /* counted as frag_invalid */
	case DEFRAG_COMPLETE:
		break;
	}
	out->flags = PKT_DEFRAGMENTED;
	out->wire_len = (uint32_t)len;
	return ip_decode(d, buf, len, len, key->version == 4 ? L3_IPV4 : L3_IPV6, out, true);
}

static enum decode_status ipv4_decode(struct decoder *d, const uint8_t *ip, size_t cap,
				      size_t wire, struct packet *out, bool rebuilt)
{
	if (cap < 20)
		return count_truncated(d);
	if (ip[0] >> 4 != 4)
		return count_malformed(d);
	size_t ihl = (size_t)(ip[0] & 15) * 4;
	size_t tot = rd16(ip + 2);
	/* Trailing link padding lies beyond tot and is ignored. */
	if (ihl < 20 || tot < ihl || tot > wire)
		return count_malformed(d);
	if (ihl > cap)
		return count_truncated(d);
	size_t present = tot < cap ? tot : cap;
	out->src.family = out->dst.family = 4;
	memcpy(out->src.addr, ip + 12, 4);
	memcpy(out->dst.addr, ip + 16, 4);
	out->ttl = ip[8];
	out->l3 = ip;
	out->l3_len = (uint32_t)present;
	if (d->cfg.verify_checksums && !rebuilt && csum_fold(csum_add(0, ip, ihl)) != 0xffff) {
		out->flags |= PKT_IPV4_CSUM_BAD;
		d->st.ipv4_csum_bad++;
	}
	uint8_t proto = ip[9];
	uint16_t frag = rd16(ip + 6);
	if (frag & 0x3fff) {
		d->st.frag_fragments++;
		if (rebuilt)
			return count_malformed(d);
		if (proto != IPPROTO_TCP_)
			return not_tcp(d);
		if (present < tot)
			return count_truncated(d); /* a cut fragment cannot be rebuilt */
		struct defrag_key key;
		memset(&key, 0, sizeof(key));
		memcpy(key.src, ip + 12, 4);
		memcpy(key.dst, ip + 16, 4);
		key.id = rd16(ip + 4);
		key.vlan = vlan_key(out);
		key.version = 4;
		key.proto = proto;
		struct defrag_frag fr = {
			.hdr = ip,
			.hdr_len = (uint32_t)ihl,
			.data = ip + ihl,
			.off = (uint32_t)(frag & 0x1fff) * 8,
			.len = (uint32_t)(tot - ihl),
			.more = (frag & 0x2000) != 0,
			.next_proto = proto,
		};
		return frag_feed(d, &key, &fr, out);
	}
	if (proto != IPPROTO_TCP_)
		return not_tcp(d);
	uint64_t pseudo = 0;
	if (d->cfg.verify_checksums) {
		uint8_t ph[12];
		memcpy(ph, ip + 12, 8);
		ph[8] = 0;
		ph[9] = proto;
		ph[10] = (uint8_t)((tot - ihl) >> 8);
		ph[11] = (uint8_t)(tot - ihl);
		pseudo = csum_add(0, ph, sizeof(ph));
	}
	return tcp_decode(d, ip + ihl, present - ihl, tot - ihl, pseudo, out);
}

static bool ipv6_fragmentable_tcp(uint8_t nh)
{
	/* Headers that may follow a fragment header before TCP. */
	return nh == IPPROTO_TCP_ || nh == 43 || nh == 60 || nh == 51 || nh == 135 ||
	       nh == 139 || nh == 140;
}

static enum decode_status ipv6_decode(struct decoder *d, const uint8_t *ip, size_t cap,
				      size_t wire, struct packet *out, bool rebuilt)
{
	if (cap < 40)
		return count_truncated(d);
	if (ip[0] >> 4 != 6)
		return count_malformed(d);
	size_t tot = 40 + (size_t)rd16(ip + 4);
	if (tot > wire)
		return count_malformed(d);
	size_t present = tot < cap ? tot : cap;
	out->src.family = out->dst.family = 6;
	memcpy(out->src.addr, ip + 8, 16);
	memcpy(out->dst.addr, ip + 24, 16);
	out->ttl = ip[7];
	out->l3 = ip;
	out->l3_len = (uint32_t)present;

	uint8_t nh = ip[6];
	size_t off = 40, prev_nh_off = 6;
	for (unsigned n = 0; nh != IPPROTO_TCP_; n++) {
		size_t hlen;
		switch (nh) {
		case 0:   /* hop-by-hop */
		case 43:  /* routing */
		case 60:  /* destination options */
		case 135: /* mobility */
		case 139: /* HIP */
		case 140: /* shim6 */
		case 51:  /* AH */
			if (tot - off < 2)
				return count_malformed(d);
			if (present - off < 2)
				return count_truncated(d);
			hlen = nh == 51 ? ((size_t)ip[off + 1] + 2) * 4 : ((size_t)ip[off + 1] + 1) * 8;
			break;
		case 44: /* fragment */
			hlen = 8;
			break;
		default: /* ESP, no next header, UDP, ICMPv6, ... */
			return not_tcp(d);
		}
		if (n >= IPV6_MAX_EXT_HEADERS || hlen > tot - off)
			return count_malformed(d);
		if (hlen > present - off)
			return count_truncated(d);
		d->st.ipv6_ext_headers++;
		if (nh == 44) {
			uint16_t fo = rd16(ip + off + 2);
			uint8_t fnh = ip[off];
			if (fo & 0xfff9) { /* offset or M set: a real fragment */
				d->st.frag_fragments++;
				if (rebuilt)
					return count_malformed(d);
				if (!ipv6_fragmentable_tcp(fnh))
					return not_tcp(d);
				if (present < tot)
					return count_truncated(d);
				struct defrag_key key;
				memset(&key, 0, sizeof(key));
				memcpy(key.src, ip + 8, 16);
				memcpy(key.dst, ip + 24, 16);
				key.id = rd32(ip + off + 4);
				key.vlan = vlan_key(out);
				key.version = 6;
				struct defrag_frag fr = {
					.hdr = ip,
					.hdr_len = (uint32_t)off,
					.data = ip + off + 8,
					.off = fo & 0xfff8,
					.len = (uint32_t)(tot - off - 8),
					.more = (fo & 1) != 0,
					.next_proto = fnh,
					.nh_off = (uint32_t)prev_nh_off,
				};
				return frag_feed(d, &key, &fr, out);
			}
			/* Atomic fragment (RFC 6946): processed as a whole packet. */
		}
		prev_nh_off = off;
		nh = ip[off];
		off += hlen;
	}
	uint64_t pseudo = 0;
	if (d->cfg.verify_checksums) {
		uint8_t ph[40];
		size_t seg = tot - off;
		memcpy(ph, ip + 8, 32);
		ph[32] = ph[33] = 0;
		ph[34] = (uint8_t)(seg >> 8);
		ph[35] = (uint8_t)seg;
		ph[36] = ph[37] = ph[38] = 0;
		ph[39] = IPPROTO_TCP_;
		pseudo = csum_add(0, ph, sizeof(ph));
	}
	return tcp_decode(d, ip + off, present - off, tot - off, pseudo, out);
}

static enum decode_status ip_decode(struct decoder *d, const uint8_t *ip, size_t cap,
				    size_t wire, enum l3_kind kind, struct packet *out,
				    bool rebuilt)
{
	if (kind == L3_BY_VERSION) {
		if (cap < 1)
			return count_truncated(d);
		if (ip[0] >> 4 == 4)
			kind = L3_IPV4;
		else if (ip[0] >> 4 == 6)
			kind = L3_IPV6;
		else
			return count_malformed(d);
	}
	if (kind == L3_IPV4)
		return ipv4_decode(d, ip, cap, wire, out, rebuilt);
	return ipv6_decode(d, ip, cap, wire, out, rebuilt);
}

enum decode_status decoder_decode(struct decoder *d, int link, const uint8_t *frame,
				  size_t caplen, size_t wire_len, uint64_t ts_us,
				  struct packet *out)
{
	memset(out, 0, sizeof(*out));
	if (wire_len < caplen)
		wire_len = caplen;
	out->ts_us = ts_us;
	out->wire_len = wire_len > UINT32_MAX ? UINT32_MAX : (uint32_t)wire_len;
	d->st.frames++;
	if (!frame || caplen == 0)
		return count_truncated(d);

	size_t off = 0;
	enum l3_kind kind = L3_OTHER;
	enum decode_status s = link_decode(d, link, frame, caplen, &off, &kind, out);
	if (s != DECODE_TCP)
		return s;
	switch (kind) {
	case L3_UNSUPPORTED:
		d->st.unsupported++;
		return DECODE_UNSUPPORTED;
	case L3_OTHER:
		return not_tcp(d);
	default:
		break;
	}
	return ip_decode(d, frame + off, caplen - off, wire_len - off, kind, out, false);
}
