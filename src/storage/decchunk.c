/*
 * decchunk.c: the decimal chunk codec (see decchunk.h for why it exists).
 *
 * Bit stream, per sample i (k counts the samples whose value is a decimal):
 *
 *	timestamp	i = 0: wide(zigzag(t0)); i = 1: wide(zigzag(t1 - t0));
 *				i >= 2: bucket(delta of delta)
 *	value		k = 0: one flag bit, then wide(zigzag(m)) or, flag set,
 *				the raw 64 bits of an exception;
 *				k >= 1: bucket(m - previous m) in delta mode, or
 *				bucket(that delta - the previous delta) in delta-of-delta
 *				mode; the code 111111 instead announces 64 raw bits
 *
 * wide(x) is 6 bits holding (significant bits of x) - 1, then those bits.
 * bucket(r) is 0 for r = 0, or a prefix naming the payload width and r in
 * two's complement: 10 + 7 bits, 110 + 14, 1110 + 20, 11110 + 32,
 * 111110 + 64. Exceptions leave the delta state untouched, so one stale
 * marker does not disturb a counter's run of zero deltas of deltas.
 *
 * Arithmetic on timestamps wraps (uint64), so any int64 sequence round-trips.
 * A value is a decimal with exponent d when m = rint(v * 10^d) is below 2^53
 * and m / 10^d gives back exactly v's bits. Encoder and decoder compute that
 * same correctly rounded IEEE division, which is why the round trip is exact
 * on every platform. A value that is a decimal at its smallest exponent e
 * also is one at any d > e with m * 10^(d-e), as long as that stays below
 * 2^53: both divisions round the same rational number. So the encoder finds
 * each value's smallest exponent once and then prices every candidate
 * exponent with integer arithmetic alone.
 */
#include "decchunk.h"

#include <math.h>
#include <string.h>

#define DEC_MODE_DOD	0x20
#define DEC_EXP_MASK	0x1f
#define DEC_RESERVED	0xc0
#define DEC_M_LIMIT		9007199254740992LL	/* 2^53 */
#define DEC_EXC_BITS	70		/* 111111 + 64 raw bits */

static const double dec_pow10[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13,
	1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

static const int64_t dec_ipow10[] = {
	1LL, 10LL, 100LL, 1000LL, 10000LL, 100000LL, 1000000LL, 10000000LL,
	100000000LL, 1000000000LL, 10000000000LL, 100000000000LL,
	1000000000000LL, 10000000000000LL, 100000000000000LL, 1000000000000000LL
};

static inline uint64_t
zigzag(int64_t x)
{
	return ((uint64_t) x << 1) ^ (uint64_t) (x >> 63);
}

static inline int64_t
unzigzag(uint64_t u)
{
	return (int64_t) (u >> 1) ^ -(int64_t) (u & 1);
}

static inline uint64_t
dbits(double v)
{
	uint64_t	b;

	memcpy(&b, &v, 8);
	return b;
}

static inline double
bitsd(uint64_t b)
{
	double		v;

	memcpy(&v, &b, 8);
	return v;
}

/* Significant bits of u, at least 1. */
static inline int
sigbits(uint64_t u)
{
	return u == 0 ? 1 : 64 - __builtin_clzll(u);
}

static inline int
wide_bits(uint64_t u)
{
	return 6 + sigbits(u);
}

static inline int
bucket_bits(int64_t r)
{
	if (r == 0)
		return 1;
	if (r >= -64 && r <= 63)
		return 9;
	if (r >= -8192 && r <= 8191)
		return 17;
	if (r >= -524288 && r <= 524287)
		return 24;
	if (r >= INT32_MIN && r <= INT32_MAX)
		return 37;
	return 70;
}

/* ---------------- bit writer ---------------- */

typedef struct DecWriter
{
	uint8_t    *buf;
	size_t		cap;
	size_t		nbits;
	bool		full;
} DecWriter;

/* Append the low n bits of v (1 <= n <= 64), most significant first. */
static void
put_bits(DecWriter *w, uint64_t v, int n)
{
	if (n < 64)
		v &= (((uint64_t) 1) << n) - 1;
	if ((w->nbits + n + 7) / 8 > w->cap)
	{
		w->full = true;
		return;
	}
	while (n > 0)
	{
		size_t		byte = w->nbits >> 3;
		int			used = (int) (w->nbits & 7);
		int			room = 8 - used;
		int			take = n < room ? n : room;
		uint8_t		bits = (uint8_t) ((v >> (n - take)) & ((1u << take) - 1));

		if (used == 0)
			w->buf[byte] = 0;
		w->buf[byte] |= (uint8_t) (bits << (room - take));
		w->nbits += take;
		n -= take;
	}
}

static void
put_wide(DecWriter *w, uint64_t u)
{
	int			n = sigbits(u);

	put_bits(w, (uint64_t) (n - 1), 6);
	put_bits(w, u, n);
}

static void
put_bucket(DecWriter *w, int64_t r)
{
	switch (bucket_bits(r))
	{
		case 1:
			put_bits(w, 0, 1);
			break;
		case 9:
			put_bits(w, 0x2, 2);
			put_bits(w, (uint64_t) r, 7);
			break;
		case 17:
			put_bits(w, 0x6, 3);
			put_bits(w, (uint64_t) r, 14);
			break;
		case 24:
			put_bits(w, 0xe, 4);
			put_bits(w, (uint64_t) r, 20);
			break;
		case 37:
			put_bits(w, 0x1e, 5);
			put_bits(w, (uint64_t) r, 32);
			break;
		default:
			put_bits(w, 0x3e, 6);
			put_bits(w, (uint64_t) r, 64);
			break;
	}
}

/* ---------------- encoder ---------------- */

/*
 * Smallest exponent at which v is a decimal, with its integer; -1 when there
 * is none up to DEC_MAX_EXP (NaN, infinities, -0, too many digits or too
 * large).
 */
static int
smallest_exponent(double v, int64_t *m)
{
	uint64_t	want = dbits(v);

	for (int d = 0; d <= DEC_MAX_EXP; d++)
	{
		double		x = v * dec_pow10[d];
		int64_t		mi;

		if (!(fabs(x) < (double) DEC_M_LIMIT))
			return -1;			/* also NaN and infinities */
		mi = (int64_t) rint(x);
		if (dbits((double) mi / dec_pow10[d]) == want)
		{
			*m = mi;
			return d;
		}
	}
	return -1;
}

/* The integer of value i at exponent d, or false when it is an exception. */
static inline bool
mantissa_at(const int8_t *emin, const int64_t *mmin, int i, int d, int64_t *m)
{
	int64_t		scale;

	if (emin[i] < 0 || emin[i] > d)
		return false;
	scale = dec_ipow10[d - emin[i]];
	if (mmin[i] > DEC_M_LIMIT / scale || mmin[i] < -DEC_M_LIMIT / scale)
		return false;
	*m = mmin[i] * scale;
	return !(*m >= DEC_M_LIMIT || *m <= -DEC_M_LIMIT);
}

/* Bits the values take at exponent d in both modes. */
static void
price_exponent(const int8_t *emin, const int64_t *mmin, int n, int d,
			   uint64_t *delta_bits, uint64_t *dod_bits)
{
	uint64_t	bd = 0,
				bdd = 0;
	int64_t		prev = 0,
				prevdelta = 0;
	int			k = 0;

	for (int i = 0; i < n; i++)
	{
		int64_t		m;
		int64_t		delta;

		if (!mantissa_at(emin, mmin, i, d, &m))
		{
			bd += k == 0 ? 65 : DEC_EXC_BITS;
			bdd += k == 0 ? 65 : DEC_EXC_BITS;
			continue;
		}
		if (k == 0)
		{
			bd += 1 + wide_bits(zigzag(m));
			bdd += 1 + wide_bits(zigzag(m));
		}
		else
		{
			delta = m - prev;
			bd += bucket_bits(delta);
			bdd += bucket_bits(delta - prevdelta);
			prevdelta = delta;
		}
		prev = m;
		k++;
	}
	*delta_bits = bd;
	*dod_bits = bdd;
}

int
dec_encode(const int64_t *ts, const double *vs, int n,
		   uint8_t *out, size_t cap, size_t *outlen)
{
	int8_t		emin[DEC_MAX_SAMPLES];
	int64_t		mmin[DEC_MAX_SAMPLES];
	int			count_at[DEC_MAX_EXP + 1] = {0};
	int			best_d = 0;
	bool		best_dod = false;
	uint64_t	best = UINT64_MAX;
	DecWriter	w = {out + DEC_HEADER_BYTES, 0, 0, false};
	uint64_t	prevt = 0,
				prevtd = 0;
	int64_t		prev = 0,
				prevdelta = 0;
	int			k = 0;

	if (n <= 0 || n > DEC_MAX_SAMPLES)
		return DEC_EINVAL;
	if (cap < DEC_HEADER_BYTES)
		return DEC_EFULL;

	for (int i = 0; i < n; i++)
	{
		int			e = smallest_exponent(vs[i], &mmin[i]);

		emin[i] = (int8_t) e;
		if (e >= 0)
			count_at[e]++;
	}

	/*
	 * Price every exponent some value needs. A larger one turns no new value
	 * into an exception but may push large ones past 2^53 and makes deltas
	 * wider, so the cheapest is usually the largest needed; measuring all of
	 * them costs a few integer passes over at most DEC_MAX_SAMPLES values.
	 */
	for (int d = 0; d <= DEC_MAX_EXP; d++)
	{
		uint64_t	bd,
					bdd;

		if (count_at[d] == 0 && !(d == 0 && best == UINT64_MAX))
			continue;
		price_exponent(emin, mmin, n, d, &bd, &bdd);
		if (bd < best)
		{
			best = bd;
			best_d = d;
			best_dod = false;
		}
		if (bdd < best)
		{
			best = bdd;
			best_d = d;
			best_dod = true;
		}
	}

	out[0] = (uint8_t) (n >> 8);
	out[1] = (uint8_t) n;
	out[2] = (uint8_t) (best_d | (best_dod ? DEC_MODE_DOD : 0));
	w.cap = cap - DEC_HEADER_BYTES;

	for (int i = 0; i < n && !w.full; i++)
	{
		uint64_t	t = (uint64_t) ts[i];
		int64_t		m;

		if (i == 0)
			put_wide(&w, zigzag((int64_t) t));
		else if (i == 1)
		{
			prevtd = t - prevt;
			put_wide(&w, zigzag((int64_t) prevtd));
		}
		else
		{
			uint64_t	td = t - prevt;

			put_bucket(&w, (int64_t) (td - prevtd));
			prevtd = td;
		}
		prevt = t;

		if (!mantissa_at(emin, mmin, i, best_d, &m))
		{
			if (k == 0)
				put_bits(&w, 1, 1);
			else
				put_bits(&w, 0x3f, 6);
			put_bits(&w, dbits(vs[i]), 64);
			continue;
		}
		if (k == 0)
		{
			put_bits(&w, 0, 1);
			put_wide(&w, zigzag(m));
		}
		else
		{
			int64_t		delta = m - prev;

			put_bucket(&w, best_dod ? delta - prevdelta : delta);
			prevdelta = delta;
		}
		prev = m;
		k++;
	}
	if (w.full)
		return DEC_EFULL;
	*outlen = DEC_HEADER_BYTES + (w.nbits + 7) / 8;
	return DEC_OK;
}

/* ---------------- decoder ---------------- */

/*
 * The reader keeps the next bits of the stream left-aligned in a 64-bit
 * register. avail counts the valid bits, which always end exactly at byte p
 * (so the stream position is 8 * p - avail), and any bits below them are the
 * stream's next bits or zeros, so a refill can OR a fresh load in without
 * masking.
 *
 * dec_decode_all reads the few wide fields at the start with the checked
 * helpers below (take_bits and friends test avail before every field), then
 * hands the register to a loop that holds it in locals and checks nothing
 * but the distance to the end once per sample (see dec_decode_body).
 */
typedef struct DecReader
{
	const uint8_t *p;			/* next byte not yet in buf */
	const uint8_t *end;
	uint64_t	buf;
	int			avail;
} DecReader;

static inline uint64_t
load_be64(const uint8_t *q)
{
	uint64_t	w;

	memcpy(&w, q, 8);
	return __builtin_bswap64(w);
}

/*
 * Make avail at least 56, or take everything that is left. Away from the
 * end this is one unconditional load (no test of avail: a predictable
 * branch beats an unpredictable one).
 */
static inline __attribute__((always_inline)) void
refill(DecReader *r)
{
	if (__builtin_expect(r->end - r->p >= 8, 1))
	{
		int			bytes = (63 - r->avail) >> 3;

		/* bits past avail + 8 * bytes are the stream's next bits too */
		r->buf |= load_be64(r->p) >> r->avail;
		r->p += bytes;
		r->avail += bytes * 8;
	}
	else
	{
		while (r->avail <= 56 && r->p < r->end)
		{
			r->buf |= (uint64_t) *r->p++ << (56 - r->avail);
			r->avail += 8;
		}
	}
}

/* n bits (1..56) that the caller checked are there. */
static inline uint64_t
getbits(DecReader *r, int n)
{
	uint64_t	v = r->buf >> (64 - n);

	r->buf <<= n;
	r->avail -= n;
	return v;
}

/* n bits (1..64) with refills; false when the stream ends first. */
static inline bool
take_bits(DecReader *r, int n, uint64_t *v)
{
	uint64_t	hi = 0;

	refill(r);
	if (n > 32)
	{
		if (r->avail < n - 32)
			return false;
		hi = getbits(r, n - 32) << 32;
		n = 32;
		refill(r);
	}
	if (r->avail < n)
		return false;
	*v = hi | getbits(r, n);
	return true;
}

static inline bool
take_wide(DecReader *r, uint64_t *u)
{
	uint64_t	n;

	return take_bits(r, 6, &n) && take_bits(r, (int) n + 1, u);
}

/*
 * One bucket field, checked. Returns 0 with *out set, 1 for the exception
 * code (only valid where the caller allows it) or -1 when the stream ends
 * early.
 */
static int
take_bucket(DecReader *r, int64_t *out)
{
	static const int8_t total_len[5] = {1, 9, 17, 24, 37};
	int			ones;
	uint64_t	v;

	refill(r);
	ones = __builtin_clzll(~r->buf | 1);
	if (ones <= 4)
	{
		int			total = total_len[ones];
		int			drop = 64 - (total - (ones < 4 ? ones + 1 : 5));

		if (r->avail < total)
			return -1;
		v = getbits(r, total);
		*out = ones == 0 ? 0 : (int64_t) (v << drop) >> drop;
		return 0;
	}
	if (r->avail < 6)
		return -1;
	getbits(r, 6);
	if (ones >= 6)
		return 1;
	if (!take_bits(r, 64, &v))
		return -1;
	*out = (int64_t) v;
	return 0;
}

/*
 * The fast loop finds a bucket field's width with one table load indexed by
 * the register's top 6 bits (the longest prefix), which keeps the chain from
 * one field's bits to the next field's position short. Prefixes 111110 (64-bit
 * payload) and 111111 (exception) sort above all others, so one compare
 * against DEC_PFX_LONG sends them to the rare path.
 */
#define DEC_PFX_LONG	UINT64_C(0xf800000000000000)	/* 111110 */
#define DEC_PFX_EXC		UINT64_C(0xfc00000000000000)	/* 111111 */

/*
 * By the register's top 6 bits: the field's width, the shift that drops
 * its prefix and the arithmetic shift that then sign-extends its payload.
 * A 0 field is the single bit 0: shifting buf itself right by 63 gives 0.
 * The prefixes 111110 and 111111 never reach the table (width 0 there).
 */
typedef struct DecField
{
	uint8_t		len;
	uint8_t		pshift;
	uint8_t		sshift;
	uint8_t		unused;
} DecField;

#define DEC_F0	{1, 0, 63, 0}
#define DEC_F1	{9, 2, 57, 0}
#define DEC_F2	{17, 3, 50, 0}
#define DEC_F3	{24, 4, 44, 0}
#define DEC_F4	{37, 5, 32, 0}
#define DEC_FL	{0, 0, 0, 0}
#define DEC_F0x8 DEC_F0, DEC_F0, DEC_F0, DEC_F0, DEC_F0, DEC_F0, DEC_F0, DEC_F0
#define DEC_F1x8 DEC_F1, DEC_F1, DEC_F1, DEC_F1, DEC_F1, DEC_F1, DEC_F1, DEC_F1

static const DecField dec_field[64] = {
	DEC_F0x8, DEC_F0x8, DEC_F0x8, DEC_F0x8,
	DEC_F1x8, DEC_F1x8,
	DEC_F2, DEC_F2, DEC_F2, DEC_F2, DEC_F2, DEC_F2, DEC_F2, DEC_F2,
	DEC_F3, DEC_F3, DEC_F3, DEC_F3, DEC_F4, DEC_F4, DEC_FL, DEC_FL
};

/*
 * Bytes the unchecked loop wants left before a sample. The stream position
 * is 8 * p - avail with avail <= 63. A sample takes at most 140 bits (two
 * 70-bit fields) and its last refill comes before the last 32 of them, so
 * that refill's p is at most (108 + 63) / 8 = 21 bytes past the p the
 * sample started at, and its 8-byte load ends within 29 bytes of it.
 */
#define DEC_FAST_MARGIN	32
/* zeros after the copied tail: the margin plus room to run past the end */
#define DEC_TAIL_PAD	48

/*
 * Refill an unchecked register: avail goes from 0..63 to 56..63, and since
 * the load brings 64 - avail bits, all 64 bits of buf are stream bits.
 */
#define DEC_REFILL(buf, avail, p) \
	do { \
		(buf) |= load_be64(p) >> (avail); \
		(p) += 7 - ((avail) >> 3); \
		(avail) |= 56; \
	} while (0)

/* A short field (prefix 0 to 11110), whose table entry is f: take it. */
#define DEC_SHORT_FIELD(buf, avail, f, res) \
	do { \
		uint64_t	b_ = (buf); \
		\
		(buf) <<= (f)->len; \
		(res) = (int64_t) (b_ << (f)->pshift) >> (f)->sshift; \
		(avail) -= (f)->len; \
	} while (0)

/*
 * After a prefix 111110 or 111111: drop its 6 bits and take the 64 that
 * follow, in two halves with a refill before each.
 */
#define DEC_LONG_FIELD(buf, avail, p, out) \
	do { \
		uint64_t	hi_; \
		\
		(buf) <<= 6; \
		(avail) -= 6; \
		DEC_REFILL(buf, avail, p); \
		hi_ = (buf) >> 32; \
		(buf) <<= 32; \
		(avail) -= 32; \
		DEC_REFILL(buf, avail, p); \
		(out) = hi_ << 32 | (buf) >> 32; \
		(buf) <<= 32; \
		(avail) -= 32; \
	} while (0)

/* The decoder's running state between the checked start and the loop. */
typedef struct DecState
{
	uint64_t	buf;			/* as in DecReader, for the unchecked loop */
	uint64_t	avail;
	const uint8_t *p;
	const uint8_t *stop;		/* the unchecked loop runs while p < stop */
	uint64_t	t;				/* timestamp, wrapping */
	uint64_t	td;				/* timestamp delta, wrapping */
	int64_t		m;				/* last decimal mantissa */
	int64_t		delta;			/* last mantissa delta */
} DecState;

/*
 * Samples from i on, all of them bucket fields, while i < n and p < stop:
 * then DEC_FAST_MARGIN bytes are left and a sample can be read without any
 * check. Returns the next i, or -1 on a corrupt field.
 *
 * The callers pass constants for dod and scaled, so each (value mode,
 * exponent is 0) pair gets its own loop with no per-sample test of the
 * mode, and exponent 0 needs no division ((double) m is exact below 2^53,
 * so it equals m / 1). The state lives in locals here, with no call inside
 * the loop, so that it stays in registers.
 */
static inline __attribute__((always_inline)) int
dec_run(DecState *st, int i, int n, int64_t *restrict ts, double *restrict vs,
		double scale, bool dod, bool scaled)
{
	uint64_t	buf = st->buf;
	uint64_t	avail = st->avail;
	const uint8_t *p = st->p;
	const uint8_t *stop = st->stop;
	uint64_t	t = st->t;
	uint64_t	td = st->td;
	int64_t		m = st->m;
	int64_t		delta = st->delta;

	for (; i < n && p < stop; i++)
	{
		const DecField *f;
		int64_t		res;

		/* timestamp: delta of delta */
		DEC_REFILL(buf, avail, p);
		f = &dec_field[buf >> 58];
		if (__builtin_expect(buf >= DEC_PFX_LONG, 0))
		{
			uint64_t	u;

			if (buf >= DEC_PFX_EXC)
				return -1;		/* no exceptions among timestamps */
			DEC_LONG_FIELD(buf, avail, p, u);
			res = (int64_t) u;
		}
		else
			DEC_SHORT_FIELD(buf, avail, f, res);
		td += (uint64_t) res;
		t += td;
		ts[i] = (int64_t) t;

		/* value: delta or delta of delta of m, or an exception */
		if (__builtin_expect(avail < 37, 0))
			DEC_REFILL(buf, avail, p);
		f = &dec_field[buf >> 58];
		if (__builtin_expect(buf >= DEC_PFX_LONG, 0))
		{
			bool		exc = buf >= DEC_PFX_EXC;
			uint64_t	u;

			DEC_LONG_FIELD(buf, avail, p, u);
			if (exc)
			{
				vs[i] = bitsd(u);
				continue;
			}
			res = (int64_t) u;
		}
		else
			DEC_SHORT_FIELD(buf, avail, f, res);
		/* wrapping adds: corrupt input must not overflow */
		if (dod)
			delta = (int64_t) ((uint64_t) delta + (uint64_t) res);
		else
			delta = res;
		m = (int64_t) ((uint64_t) m + (uint64_t) delta);
		/* |m| < 2^53 as one unsigned compare */
		if (__builtin_expect((uint64_t) m + (uint64_t) (DEC_M_LIMIT - 1) >
							 (uint64_t) (2 * (DEC_M_LIMIT - 1)), 0))
			return -1;
		vs[i] = scaled ? (double) m / scale : (double) m;
	}
	st->buf = buf;
	st->avail = avail;
	st->p = p;
	st->t = t;
	st->td = td;
	st->m = m;
	st->delta = delta;
	return i;
}

/*
 * Samples i..n-1 after the checked start. The unchecked loop runs on the
 * chunk while DEC_FAST_MARGIN bytes are left; then the rest of the stream
 * is copied into a zero-padded buffer and the loop goes on there. Reading
 * past the real end then yields zero bits, which is caught once at the end
 * by comparing the position with the real length. Returns n, or -1 on a
 * corrupt or truncated stream.
 */
static inline __attribute__((always_inline)) int
dec_decode_body(DecState *st, const uint8_t *end, int i, int n,
				int64_t *ts, double *vs, double scale, bool dod, bool scaled)
{
	uint8_t		pad[DEC_FAST_MARGIN + DEC_TAIL_PAD];
	size_t		rest;

	st->stop = end - st->p > DEC_FAST_MARGIN ? end - DEC_FAST_MARGIN : st->p;
	i = dec_run(st, i, n, ts, vs, scale, dod, scaled);
	if (i < 0 || i == n)
		return i;

	/* copy the tail; buf already holds the bits before p */
	rest = (size_t) (end - st->p);
	memset(pad, 0, sizeof(pad));
	memcpy(pad, st->p, rest);
	st->p = pad;
	st->stop = pad + sizeof(pad) - DEC_FAST_MARGIN;
	i = dec_run(st, i, n, ts, vs, scale, dod, scaled);
	if (i < n)
		return -1;				/* corrupt, or ran past the padding */
	/* the bits taken must not pass the real end */
	if ((int64_t) (st->p - pad) * 8 - (int64_t) st->avail > (int64_t) rest * 8)
		return -1;
	return n;
}

/* One loop per (value mode, exponent is 0), so that each is compiled apart. */
static __attribute__((noinline)) int
dec_body_delta(DecState *st, const uint8_t *end, int i, int n, int64_t *ts, double *vs,
			   double scale)
{
	return dec_decode_body(st, end, i, n, ts, vs, scale, false, true);
}

static __attribute__((noinline)) int
dec_body_delta_int(DecState *st, const uint8_t *end, int i, int n, int64_t *ts, double *vs,
				   double scale)
{
	return dec_decode_body(st, end, i, n, ts, vs, scale, false, false);
}

static __attribute__((noinline)) int
dec_body_dod(DecState *st, const uint8_t *end, int i, int n, int64_t *ts, double *vs,
			 double scale)
{
	return dec_decode_body(st, end, i, n, ts, vs, scale, true, true);
}

static __attribute__((noinline)) int
dec_body_dod_int(DecState *st, const uint8_t *end, int i, int n, int64_t *ts, double *vs,
				 double scale)
{
	return dec_decode_body(st, end, i, n, ts, vs, scale, true, false);
}

uint16_t
dec_chunk_count(const uint8_t *data, size_t len)
{
	if (len < DEC_HEADER_BYTES)
		return 0;
	return (uint16_t) ((data[0] << 8) | data[1]);
}

int
dec_decode_all(const uint8_t *data, size_t len, int64_t *ts, double *vs, int max)
{
	int			n;
	int			d;
	bool		dod;
	double		scale;
	DecReader	r;
	DecState	st = {0};
	int			k = 0;
	int			i = 0;

	if (len < DEC_HEADER_BYTES || (data[2] & DEC_RESERVED) != 0)
		return -1;
	n = dec_chunk_count(data, len);
	d = data[2] & DEC_EXP_MASK;
	dod = (data[2] & DEC_MODE_DOD) != 0;
	if (n > max || d > DEC_MAX_EXP)
		return -1;
	scale = dec_pow10[d];
	r.p = data + DEC_HEADER_BYTES;
	r.end = data + len;
	r.buf = 0;
	r.avail = 0;

	/*
	 * The checked start: the first two timestamps are wide, and so is the
	 * first decimal value, which may come after any number of exceptions.
	 */
	for (; i < n && (i < 2 || k == 0); i++)
	{
		uint64_t	u;
		int64_t		res;

		if (i < 2)
		{
			if (!take_wide(&r, &u))
				return -1;
			st.td = i == 0 ? 0 : (uint64_t) unzigzag(u);
			st.t = i == 0 ? (uint64_t) unzigzag(u) : st.t + st.td;
		}
		else
		{
			if (take_bucket(&r, &res) != 0)
				return -1;
			st.td += (uint64_t) res;
			st.t += st.td;
		}
		ts[i] = (int64_t) st.t;

		if (k == 0)
		{
			if (!take_bits(&r, 1, &u))
				return -1;
			if (u)
			{
				if (!take_bits(&r, 64, &u))
					return -1;
				vs[i] = bitsd(u);
				continue;
			}
			if (!take_wide(&r, &u))
				return -1;
			st.m = unzigzag(u);
		}
		else
		{
			int			rc = take_bucket(&r, &res);

			if (rc != 0)
			{
				if (rc < 0 || !take_bits(&r, 64, &u))
					return -1;
				vs[i] = bitsd(u);
				continue;
			}
			/* wrapping adds: corrupt input must not overflow */
			if (dod)
				st.delta = (int64_t) ((uint64_t) st.delta + (uint64_t) res);
			else
				st.delta = res;
			st.m = (int64_t) ((uint64_t) st.m + (uint64_t) st.delta);
		}
		if (st.m >= DEC_M_LIMIT || st.m <= -DEC_M_LIMIT)
			return -1;
		vs[i] = (double) st.m / scale;
		k++;
	}
	if (i == n)
		return n;

	st.buf = r.buf;
	st.avail = (uint64_t) r.avail;
	st.p = r.p;
	if (dod)
		return d == 0 ? dec_body_dod_int(&st, r.end, i, n, ts, vs, scale) :
			dec_body_dod(&st, r.end, i, n, ts, vs, scale);
	return d == 0 ? dec_body_delta_int(&st, r.end, i, n, ts, vs, scale) :
		dec_body_delta(&st, r.end, i, n, ts, vs, scale);
}
