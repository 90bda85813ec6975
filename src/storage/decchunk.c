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
 * register and refills it eight bytes at a time, so a field costs a shift
 * and a mask. avail counts the valid bits; it only falls short of what a
 * field needs at the end of the stream, which is how truncation is caught.
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

static inline int64_t
sign_extend(uint64_t v, int n)
{
	return (int64_t) (v << (64 - n)) >> (64 - n);
}

/*
 * One bucket field. Returns 0 with *out set, 1 for the exception code (only
 * valid where the caller allows it) or -1 when the stream ends early.
 */
static inline __attribute__((always_inline)) int
take_bucket(DecReader *r, int64_t *out)
{
	/* by count of leading ones: field length, and the shift that drops the prefix */
	static const int8_t total_len[5] = {1, 9, 17, 24, 37};
	static const int8_t drop[5] = {63, 57, 50, 44, 32};
	int			ones;
	uint64_t	v;

	refill(r);
	ones = __builtin_clzll(~r->buf | 1);
	if (__builtin_expect(ones <= 4, 1))
	{
		int			total = total_len[ones];

		if (__builtin_expect(r->avail < total, 0))
			return -1;
		/* branch-free: a 0 field (one zero bit) comes out as 0 too */
		v = r->buf >> (64 - total);
		r->buf <<= total;
		r->avail -= total;
		*out = (int64_t) (v << drop[ones]) >> drop[ones];
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
	uint64_t	t = 0,
				td = 0;
	int64_t		m = 0,
				delta = 0;
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

	/* the first two timestamps and the first decimal value are wide */
	for (; i < n && k == 0; i++)
	{
		uint64_t	u;

		if (i < 2)
		{
			if (!take_wide(&r, &u))
				return -1;
			td = i == 0 ? 0 : (uint64_t) unzigzag(u);
			t = i == 0 ? (uint64_t) unzigzag(u) : t + td;
		}
		else
		{
			int64_t		dd;

			if (take_bucket(&r, &dd) != 0)
				return -1;
			td += (uint64_t) dd;
			t += td;
		}
		ts[i] = (int64_t) t;
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
		m = unzigzag(u);
		if (m >= DEC_M_LIMIT || m <= -DEC_M_LIMIT)
			return -1;
		vs[i] = (double) m / scale;
		k++;
	}

	for (; i < n; i++)
	{
		int64_t		res;
		uint64_t	u;
		int			rc;

		if (i < 2)
		{
			if (!take_wide(&r, &u))
				return -1;
			td = (uint64_t) unzigzag(u);
		}
		else
		{
			if (take_bucket(&r, &res) != 0)
				return -1;
			td += (uint64_t) res;
		}
		t += td;
		ts[i] = (int64_t) t;

		rc = take_bucket(&r, &res);
		if (rc != 0)
		{
			if (rc < 0 || !take_bits(&r, 64, &u))
				return -1;
			vs[i] = bitsd(u);
			continue;
		}
		/* wrapping adds: corrupt input must not overflow */
		if (dod)
			delta = (int64_t) ((uint64_t) delta + (uint64_t) res);
		else
			delta = res;
		m = (int64_t) ((uint64_t) m + (uint64_t) delta);
		if (m >= DEC_M_LIMIT || m <= -DEC_M_LIMIT)
			return -1;
		vs[i] = (double) m / scale;
	}
	return n;
}
