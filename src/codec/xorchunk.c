/*
 * xorchunk.c: encoder and decoder for Prometheus-compatible XOR chunks.
 *
 * The byte layout follows Prometheus 2.42 tsdb/chunkenc (xor.go, bstream.go)
 * bit for bit, so a chunk written here can be streamed to a remote-read client
 * as it is, and a chunk Prometheus wrote decodes here. docs/storage-codec.md
 * describes the format and how golden vectors from a real Prometheus pin it.
 *
 * Two details of Prometheus's bit writer shape the output length and are
 * reproduced on purpose:
 *  - a whole byte written at a byte boundary leaves an extra zero byte at
 *    the end of the stream (its bstream appends the next byte eagerly), so a
 *    chunk ends with a zero "pad" byte whenever the payload of its last value
 *    field is a whole number of bytes and ends on a byte boundary (always
 *    after sample 1, whose value is 64 raw bits after a varint);
 *  - the reader stops at the sample count in the header, never at the end
 *    of the bytes, so that pad byte is simply never read.
 *
 * Timestamp arithmetic is done in uint64 with wrap-around, which is what the
 * Go code does with its int64/uint64 conversions; that keeps every input
 * well defined (no signed overflow) and makes any non-decreasing sequence of
 * int64 timestamps round-trip exactly.
 *
 * The decoder is the hot path (every query decodes chunks): it reads through
 * 64-bit big-endian peeks at a bit position, checks the position against the
 * end once per sample, and lets peeks past the end read zeros instead of
 * memory, so a truncated chunk can never make it read out of bounds.
 */
#include "base/base.h"
#include "codec/codec.h"

#include <string.h>

#if defined(__GNUC__)
#define XOR_LIKELY(x)	__builtin_expect(!!(x), 1)
#define XOR_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define XOR_INLINE		static inline __attribute__((always_inline))
#else
#define XOR_LIKELY(x)	(x)
#define XOR_UNLIKELY(x) (x)
#define XOR_INLINE		static inline
#endif

/* No window yet: the next changed value must open one. */
#define XOR_NO_WINDOW	0xff

/* ---------------------------------------------------------------- helpers */

static inline uint64_t
xor_load_be64(const uint8_t *p)
{
	uint64_t	x;

	memcpy(&x, p, sizeof(x));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return x;
#else
	return __builtin_bswap64(x);
#endif
}

static inline int
xor_clz64(uint64_t x)
{
	return x == 0 ? 64 : __builtin_clzll(x);
}

static inline int
xor_ctz64(uint64_t x)
{
	return x == 0 ? 64 : __builtin_ctzll(x);
}

static inline uint64_t
xor_double_bits(double v)
{
	uint64_t	b;

	memcpy(&b, &v, sizeof(b));
	return b;
}

static inline double
xor_bits_double(uint64_t b)
{
	double		v;

	memcpy(&v, &b, sizeof(v));
	return v;
}

/* Go's binary.PutVarint maps signed to unsigned by zig-zag. */
static inline uint64_t
xor_zigzag(int64_t t)
{
	uint64_t	u = (uint64_t) t << 1;

	return t < 0 ? ~u : u;
}

/*
 * Whether dod fits the nbits-wide bucket. Prometheus's range is asymmetric:
 * -(2^(n-1) - 1) .. 2^(n-1), because its reader maps only values above
 * 2^(n-1) to negatives.
 */
static inline bool
xor_bit_range(int64_t dod, int nbits)
{
	int64_t		half = (int64_t) 1 << (nbits - 1);

	return dod >= -(half - 1) && dod <= half;
}

/* ---------------------------------------------------------------- writing */

/*
 * Write the low n bits of v (1 <= n <= 64) at bit position *pos of p.
 * Bytes after the current end may hold anything, so they are assigned; only
 * the partly used byte at *pos is or-ed into (its free low bits are zero).
 */
static inline void
xor_put_bits(uint8_t *p, size_t *pos, uint64_t v, int n)
{
	size_t		byte = *pos >> 3;
	int			used = (int) (*pos & 7);
	uint64_t	top = v << (64 - n);
	int			left = n;

	*pos += n;
	if (used != 0)
	{
		int			room = 8 - used;

		p[byte] |= (uint8_t) (top >> (56 + used));
		if (left <= room)
			return;
		top <<= room;
		left -= room;
		byte++;
	}
	while (left >= 8)
	{
		p[byte++] = (uint8_t) (top >> 56);
		top <<= 8;
		left -= 8;
	}
	if (left > 0)
		p[byte] = (uint8_t) (top >> 56);
}

static inline void
xor_put_uvarint(uint8_t *p, size_t *pos, uint64_t x)
{
	while (x >= 0x80)
	{
		xor_put_bits(p, pos, (x & 0x7f) | 0x80, 8);
		x >>= 7;
	}
	xor_put_bits(p, pos, x, 8);
}

/* Bytes a chunk of nbits stream bits occupies, header included. */
static inline size_t
xor_chunk_bytes(size_t nbits, bool pad)
{
	return XOR_HEADER_BYTES + (nbits + 7) / 8 + (pad ? 1 : 0);
}

int
xor_appender_init(XorAppender *app, uint8_t *buf, size_t cap)
{
	memset(app, 0, sizeof(*app));
	if (buf == NULL || cap < XOR_HEADER_BYTES)
		return XOR_EFULL;
	app->buf = buf;
	app->cap = cap;
	app->leading = XOR_NO_WINDOW;
	buf[0] = 0;
	buf[1] = 0;
	return XOR_OK;
}

/*
 * The value field: '0' for an unchanged value, '10' + the XOR inside the
 * previous window, or '11' + 5 bits leading zeros (clamped to 31) + 6 bits
 * significant-bit count (64 written as 0) + the XOR bits. Returns the field's
 * size; *payload gets the size of its last part, which decides padding.
 */
static inline int
xor_value_field_bits(const XorAppender *app, uint64_t delta, int *payload)
{
	int			lead,
				trail;

	if (delta == 0)
	{
		*payload = 1;
		return 1;
	}
	lead = xor_clz64(delta);
	trail = xor_ctz64(delta);
	if (lead >= 32)
		lead = 31;
	if (app->leading != XOR_NO_WINDOW &&
		lead >= app->leading && trail >= app->trailing)
	{
		*payload = 64 - app->leading - app->trailing;
		return 2 + *payload;
	}
	*payload = 64 - lead - trail;
	return 2 + 5 + 6 + *payload;
}

static inline void
xor_put_value(XorAppender *app, size_t *pos, uint64_t delta)
{
	uint8_t    *p = app->buf + XOR_HEADER_BYTES;
	int			lead,
				trail,
				sig;

	if (delta == 0)
	{
		xor_put_bits(p, pos, 0, 1);
		return;
	}
	lead = xor_clz64(delta);
	trail = xor_ctz64(delta);
	if (lead >= 32)
		lead = 31;
	if (app->leading != XOR_NO_WINDOW &&
		lead >= app->leading && trail >= app->trailing)
	{
		xor_put_bits(p, pos, 2, 2);
		xor_put_bits(p, pos, delta >> app->trailing,
					 64 - app->leading - app->trailing);
		return;
	}
	app->leading = (uint8_t) lead;
	app->trailing = (uint8_t) trail;
	sig = 64 - lead - trail;
	xor_put_bits(p, pos, 3, 2);
	xor_put_bits(p, pos, (uint64_t) lead, 5);
	xor_put_bits(p, pos, (uint64_t) (sig & 63), 6);
	xor_put_bits(p, pos, delta >> trail, sig);
}

int
xor_append(XorAppender *app, int64_t t, double v)
{
	uint64_t	vbits = xor_double_bits(v);
	uint64_t	delta = 0;
	int64_t		dod = 0;
	int			dodbits = 0;	/* prefix + payload of the dod field */
	size_t		bits;
	size_t		newbits;
	int			payload;
	bool		newpad;
	uint8_t    *p = app->buf + XOR_HEADER_BYTES;
	size_t		pos = app->nbits;

	if (app->count == XOR_MAX_SAMPLES)
		return XOR_ETOOMANY;

	/* Size the sample first so that a failure leaves the chunk untouched. */
	if (app->count == 0)
	{
		bits = 8 * (size_t) alloy_uvarint_len(xor_zigzag(t)) + 64;
		payload = 64;
	}
	else
	{
		if (t < app->t)
			return XOR_EORDER;
		delta = (uint64_t) t - (uint64_t) app->t;
		if (app->count == 1)
			bits = 8 * (size_t) alloy_uvarint_len(delta);
		else
		{
			dod = (int64_t) (delta - (uint64_t) app->tdelta);
			if (dod == 0)
				dodbits = 1;
			else if (xor_bit_range(dod, 14))
				dodbits = 2 + 14;
			else if (xor_bit_range(dod, 17))
				dodbits = 3 + 17;
			else if (xor_bit_range(dod, 20))
				dodbits = 4 + 20;
			else
				dodbits = 4 + 64;
			bits = dodbits;
		}
		bits += xor_value_field_bits(app, vbits ^ app->vbits, &payload);
	}
	newbits = app->nbits + bits;
	newpad = (newbits % 8 == 0) && (payload % 8 == 0);
	if (xor_chunk_bytes(newbits, newpad) > app->cap)
		return XOR_EFULL;

	if (app->count == 0)
	{
		xor_put_uvarint(p, &pos, xor_zigzag(t));
		xor_put_bits(p, &pos, vbits, 64);
	}
	else
	{
		if (app->count == 1)
			xor_put_uvarint(p, &pos, delta);
		else
		{
			switch (dodbits)
			{
				case 1:
					xor_put_bits(p, &pos, 0, 1);
					break;
				case 16:
					xor_put_bits(p, &pos, 0x2, 2);
					xor_put_bits(p, &pos, (uint64_t) dod & 0x3fff, 14);
					break;
				case 20:
					xor_put_bits(p, &pos, 0x6, 3);
					xor_put_bits(p, &pos, (uint64_t) dod & 0x1ffff, 17);
					break;
				case 24:
					xor_put_bits(p, &pos, 0xe, 4);
					xor_put_bits(p, &pos, (uint64_t) dod & 0xfffff, 20);
					break;
				default:
					xor_put_bits(p, &pos, 0xf, 4);
					xor_put_bits(p, &pos, (uint64_t) dod, 64);
					break;
			}
		}
		xor_put_value(app, &pos, vbits ^ app->vbits);
	}
	if (newpad)
		p[newbits / 8] = 0;

	app->nbits = newbits;
	app->pad = newpad;
	app->count++;
	app->t = t;
	app->tdelta = (int64_t) delta;
	app->vbits = vbits;
	app->buf[0] = (uint8_t) (app->count >> 8);
	app->buf[1] = (uint8_t) app->count;
	return XOR_OK;
}

size_t
xor_appender_bytes(const XorAppender *app)
{
	return xor_chunk_bytes(app->nbits, app->pad);
}

/* ---------------------------------------------------------------- reading */

uint16_t
xor_chunk_count(const uint8_t *data, size_t len)
{
	if (data == NULL || len < XOR_HEADER_BYTES)
		return 0;
	return (uint16_t) ((data[0] << 8) | data[1]);
}

/* 64 bits from bit pos on, reading zeros past the end of p[0..len). */
static uint64_t
xor_peek_slow(const uint8_t *p, size_t len, size_t pos)
{
	size_t		byte = pos >> 3;
	int			used = (int) (pos & 7);
	uint64_t	x = 0;
	uint64_t	next;
	int			i;

	for (i = 0; i < 8; i++)
		x = (x << 8) | (byte + i < len ? p[byte + i] : 0);
	next = byte + 8 < len ? p[byte + 8] : 0;
	return used == 0 ? x : (x << used) | (next >> (8 - used));
}

/* The 64 bits at bit position pos; the fast path needs 9 bytes in range. */
XOR_INLINE uint64_t
xor_peek(const uint8_t *p, size_t len, size_t pos)
{
	size_t		byte = pos >> 3;
	int			used = (int) (pos & 7);

	if (XOR_LIKELY(byte + 9 <= len))
		return (xor_load_be64(p + byte) << used) |
			((uint64_t) p[byte + 8] >> (8 - used));
	return xor_peek_slow(p, len, pos);
}

/*
 * At least 57 valid bits at bit position pos (the low bits may be garbage):
 * enough for a dod and a value header, and one load shorter than xor_peek on
 * the decoder's critical path (the next position depends on these bits).
 */
XOR_INLINE uint64_t
xor_peek57(const uint8_t *p, size_t len, size_t pos)
{
	size_t		byte = pos >> 3;

	if (XOR_LIKELY(byte + 8 <= len))
		return xor_load_be64(p + byte) << (pos & 7);
	return xor_peek_slow(p, len, pos);
}

/*
 * A base-128 varint at a byte-aligned pos, with Go's binary.ReadUvarint
 * rules: at most 10 bytes, the 10th at most 1. Returns false on overflow or
 * when it runs past the end.
 */
static bool
xor_get_uvarint(const uint8_t *p, size_t len, size_t *pos, uint64_t *out)
{
	size_t		byte = *pos >> 3;
	uint64_t	x = 0;
	int			shift = 0;
	int			i;

	for (i = 0; i < 10; i++)
	{
		uint8_t		b;

		if (byte + i >= len)
			return false;
		b = p[byte + i];
		if (b < 0x80)
		{
			if (i == 9 && b > 1)
				return false;
			*out = x | ((uint64_t) b << shift);
			*pos += 8 * (size_t) (i + 1);
			return true;
		}
		x |= (uint64_t) (b & 0x7f) << shift;
		shift += 7;
	}
	return false;
}

/*
 * The decoder's state, kept apart from XorIterator so that the hot loop in
 * xor_decode_all holds it in registers (a local struct whose address never
 * escapes); the iterator copies it in and out around each step.
 */
typedef struct XorDecState
{
	size_t		pos;			/* bit position after the header */
	uint64_t	t;				/* timestamp, as wrap-around uint64 */
	uint64_t	tdelta;
	uint64_t	vbits;
	unsigned	leading;
	unsigned	trailing;
	unsigned	lastbits;
	bool		window;
} XorDecState;

/*
 * Delta-of-delta buckets by the number of leading 1 bits of the prefix
 * ('10' = 1, '110' = 2, '1110' = 3): payload size, and the offset that turns
 * payloads above 2^(size-1) into negatives (see xor_bit_range).
 */
static const uint8_t xor_dod_size[4] = {0, 14, 17, 20};
static const uint64_t xor_dod_half[4] = {0, 1 << 13, 1 << 16, 1 << 19};
static const uint64_t xor_dod_full[4] = {0, 1 << 14, 1 << 17, 1 << 20};

/*
 * The value field at st->pos, w holding the next `valid` bits of the stream
 * left-aligned. Returns false on a window wider than 64 bits. Bits past the
 * end read as zero; the caller checks the position afterwards.
 */
XOR_INLINE bool
xor_decode_value(XorDecState *st, const uint8_t *p, size_t len,
				 uint64_t w, int valid)
{
	unsigned	lead,
				trail,
				m,
				hdr;
	uint64_t	sigbits;

	if ((w >> 63) == 0)
	{
		st->pos += 1;
		st->lastbits = 1;
		return true;
	}
	if (((w >> 62) & 1) == 0)
	{
		/* '10': reuse the window (0/0, i.e. 64 bits, before any) */
		lead = st->leading;
		trail = st->trailing;
		m = 64 - lead - trail;
		hdr = 2;
	}
	else
	{
		lead = (unsigned) (w >> 57) & 31;
		m = (unsigned) (w >> 51) & 63;
		if (m == 0)
			m = 64;
		if (XOR_UNLIKELY(lead + m > 64))
			return false;
		trail = 64 - lead - m;
		st->leading = lead;
		st->trailing = trail;
		st->window = true;
		hdr = 13;
	}
	if ((int) (hdr + m) <= valid)
		sigbits = (w << hdr) >> (64 - m);
	else
		sigbits = xor_peek(p, len, st->pos + hdr) >> (64 - m);
	st->vbits ^= sigbits << trail;
	st->lastbits = m;
	st->pos += hdr + m;
	return true;
}

/*
 * Sample 1 (varint timestamp, raw value) or 2 (uvarint delta, value field).
 * Both start byte-aligned. Returns XOR_OK or XOR_ECORRUPT.
 */
static int
xor_decode_head(XorDecState *st, const uint8_t *p, size_t len, int index)
{
	uint64_t	u;

	if (!xor_get_uvarint(p, len, &st->pos, &u))
		return XOR_ECORRUPT;
	if (index == 0)
	{
		/* Go's ReadVarint: undo the zig-zag mapping */
		st->t = (u >> 1) ^ (0 - (u & 1));
		st->vbits = xor_peek(p, len, st->pos);
		st->lastbits = 64;
		st->pos += 64;
	}
	else
	{
		st->tdelta = u;
		st->t += u;
		if (!xor_decode_value(st, p, len, xor_peek(p, len, st->pos), 64))
			return XOR_ECORRUPT;
	}
	return st->pos <= (size_t) 8 * len ? XOR_OK : XOR_ECORRUPT;
}

/* Samples 3 on: delta of delta, then the value field. */
XOR_INLINE int
xor_decode_next(XorDecState *st, const uint8_t *p, size_t len)
{
	uint64_t	w = xor_peek57(p, len, st->pos);
	int			valid;

	if (XOR_LIKELY((w >> 63) == 0))
	{
		/* '0': the same delta again */
		st->pos += 1;
		w <<= 1;
		valid = 56;
	}
	else
	{
		int			ones = xor_clz64(~w);
		uint64_t	dod;

		if (XOR_LIKELY(ones == 1))
		{
			/* '10' + 14 bits, the usual scrape jitter: a constant size */
			dod = (w >> 48) & 0x3fff;
			if (dod > (1 << 13))
				dod -= 1 << 14;
			st->pos += 16;
			w <<= 16;
			valid = 41;
		}
		else if (ones < 4)
		{
			unsigned	sz = xor_dod_size[ones];
			int			used = ones + 1 + (int) sz;

			dod = (w << (ones + 1)) >> (64 - sz);
			if (dod > xor_dod_half[ones])
				dod -= xor_dod_full[ones];
			st->pos += used;
			w <<= used;
			valid = 57 - used;
		}
		else
		{
			/* '1111': a raw 64-bit delta of delta */
			dod = xor_peek(p, len, st->pos + 4);
			st->pos += 4 + 64;
			w = xor_peek(p, len, st->pos);
			valid = 64;
		}
		st->tdelta += dod;
	}
	st->t += st->tdelta;
	if (XOR_UNLIKELY(!xor_decode_value(st, p, len, w, valid)))
		return XOR_ECORRUPT;
	return XOR_LIKELY(st->pos <= (size_t) 8 * len) ? XOR_OK : XOR_ECORRUPT;
}

void
xor_iter_init(XorIterator *it, const uint8_t *data, size_t len)
{
	memset(it, 0, sizeof(*it));
	it->data = data;
	it->len = len;
	if (data == NULL || len < XOR_HEADER_BYTES)
	{
		it->err = XOR_ECORRUPT;
		return;
	}
	it->total = xor_chunk_count(data, len);
}

bool
xor_iter_next(XorIterator *it, int64_t *t, double *v)
{
	XorDecState st;
	const uint8_t *p;
	size_t		len;
	int			rc;

	if (it->err != XOR_OK || it->read == it->total)
		return false;
	p = it->data + XOR_HEADER_BYTES;
	len = it->len - XOR_HEADER_BYTES;
	st.pos = it->bitpos;
	st.t = (uint64_t) it->t;
	st.tdelta = (uint64_t) it->tdelta;
	st.vbits = it->vbits;
	st.leading = it->leading;
	st.trailing = it->trailing;
	st.lastbits = it->lastbits;
	st.window = it->window;
	if (XOR_UNLIKELY(it->read < 2))
		rc = xor_decode_head(&st, p, len, it->read);
	else
		rc = xor_decode_next(&st, p, len);
	if (rc != XOR_OK)
	{
		it->err = rc;
		return false;
	}
	it->bitpos = st.pos;
	it->t = (int64_t) st.t;
	it->tdelta = (int64_t) st.tdelta;
	it->vbits = st.vbits;
	it->leading = (uint8_t) st.leading;
	it->trailing = (uint8_t) st.trailing;
	it->lastbits = (uint8_t) st.lastbits;
	it->window = st.window;
	it->read++;
	*t = it->t;
	*v = xor_bits_double(it->vbits);
	return true;
}

int
xor_decode_all(const uint8_t *data, size_t len, int64_t *ts, double *vs, int max)
{
	XorDecState st;
	const uint8_t *p;
	size_t		plen;
	int			total;
	int			n;

	if (data == NULL || len < XOR_HEADER_BYTES)
		return -1;
	total = xor_chunk_count(data, len);
	if (total > max)
		return -1;
	p = data + XOR_HEADER_BYTES;
	plen = len - XOR_HEADER_BYTES;
	st.pos = 0;
	st.t = 0;
	st.tdelta = 0;
	st.vbits = 0;
	st.leading = 0;
	st.trailing = 0;
	st.lastbits = 0;
	st.window = false;
	for (n = 0; n < total && n < 2; n++)
	{
		if (xor_decode_head(&st, p, plen, n) != XOR_OK)
			return -1;
		ts[n] = (int64_t) st.t;
		vs[n] = xor_bits_double(st.vbits);
	}
	for (; n < total; n++)
	{
		if (XOR_UNLIKELY(xor_decode_next(&st, p, plen) != XOR_OK))
			return -1;
		ts[n] = (int64_t) st.t;
		vs[n] = xor_bits_double(st.vbits);
	}
	return n;
}

int
xor_appender_reopen(XorAppender *app, uint8_t *buf, size_t cap, size_t len)
{
	XorIterator it;
	int64_t		t;
	double		v;
	bool		pad;

	memset(app, 0, sizeof(*app));
	if (buf == NULL || len < XOR_HEADER_BYTES || cap < len)
		return XOR_ECORRUPT;
	xor_iter_init(&it, buf, len);
	while (xor_iter_next(&it, &t, &v))
		;
	if (it.err != XOR_OK)
		return it.err;

	/* The length must be exactly what appending these samples produces. */
	pad = it.total > 0 && it.bitpos % 8 == 0 && it.lastbits % 8 == 0;
	if (len != xor_chunk_bytes(it.bitpos, pad))
		return XOR_ECORRUPT;
	/* Unused low bits of the last byte must be zero: we or into them. */
	if (it.bitpos % 8 != 0 &&
		(buf[XOR_HEADER_BYTES + it.bitpos / 8] & (0xff >> (it.bitpos % 8))) != 0)
		return XOR_ECORRUPT;
	if (pad && buf[len - 1] != 0)
		return XOR_ECORRUPT;

	app->buf = buf;
	app->cap = cap;
	app->nbits = it.bitpos;
	app->pad = pad;
	app->count = it.total;
	app->t = it.t;
	app->tdelta = it.tdelta;
	app->vbits = it.vbits;

	/*
	 * Prometheus's own reopen takes the iterator's 0/0 window even when no
	 * window was ever written, so its next changed value can come out in a
	 * different (equally valid) form than without the reopen. We keep "no
	 * window" instead, which makes the bytes independent of reopens.
	 */
	if (it.window)
	{
		app->leading = it.leading;
		app->trailing = it.trailing;
	}
	else
		app->leading = XOR_NO_WINDOW;
	return XOR_OK;
}
