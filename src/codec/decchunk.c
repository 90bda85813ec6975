/*
 * decchunk.c: the decimal chunk codec (see codec/codec.h for why it exists).
 *
 * Each sample i has a timestamp residual and a value residual r_i; the
 * decoder rebuilds the samples with wrapping (uint64) arithmetic:
 *
 *	timestamps	td += r_i; t += td; ts[i] = t
 *	values		delta = r_i (delta mode) or delta += r_i (delta-of-delta
 *				mode); m += delta; vs[i] = m / 10^d, unless sample i is an
 *				exception, whose raw 64 bits replace the value
 *
 * The bit stream (most significant bit first) starts with the state before
 * sample 0: wide(zigzag(t0 - td)), wide(zigzag(td)), wide(zigzag(m)) and, in
 * delta-of-delta mode only, wide(zigzag(delta)). wide(x) is 6 bits holding
 * (significant bits of x) - 1, then those bits. The encoder picks td = t1 - t0,
 * so the first two timestamp residuals are 0, and an m (and delta) under which
 * the first decimal value's residual is 0 (in dod mode, the next one's too
 * when the two are adjacent).
 *
 * Then groups of g samples, g = DEC_GROUP or, when bit 6 of the header byte
 * is set, DEC_GROUP_SMALL (the last group may be shorter, cnt samples):
 *
 *	header		0: the previous group's widths, no special samples (the
 *				widths before the first group are 0 and 0); or 1, a 6-bit
 *				timestamp width code tw, a 6-bit value width code vw and a
 *				flag; when the flag is set, a cnt-bit bitmap of the special
 *				samples (sample 0 of the group in its top bit) and one kind
 *				bit per special sample, in sample order (1: exception, 0:
 *				patch). Code c means width c, but code 63 means 64.
 *	fields		cnt timestamp residuals of tw bits, then the value residuals
 *				of the ordinary samples, vw bits each, in two's complement
 *				(the decoder sign-extends them with one arithmetic shift)
 *	specials	per special sample, in sample order: an exception's raw 64
 *				bits, or a patch: its value residual as wide(zigzag(r))
 *
 * A patch takes a lone wide residual (a gauge's level change) out of its
 * group's width. An exception's value residual is 0: the mantissa state runs
 * on through it as the encoder predicted, so a stale marker in a counter or
 * a gauge costs its 64 bits and the bitmap, and the next value's residual
 * is as small as without it.
 *
 * A value is a decimal with exponent d when m = rint(v * 10^d) is below 2^53
 * and m / 10^d gives back exactly v's bits. Encoder and decoder compute that
 * same correctly rounded IEEE division, which is why the round trip is exact
 * on every platform. A value that is a decimal at its smallest exponent e
 * also is one at any d > e with m * 10^(d-e), as long as that stays below
 * 2^53: both divisions round the same rational number. So the encoder finds
 * each value's smallest exponent once and then prices every candidate
 * exponent with integer arithmetic alone.
 */
#include "codec/codec.h"

#include <math.h>
#include <string.h>

#define DEC_MODE_DOD	0x20
#define DEC_EXP_MASK	0x1f
#define DEC_SMALL_GROUPS 0x40
#define DEC_RESERVED	0x80
#define DEC_M_LIMIT		9007199254740992LL	/* 2^53 */

/* A group header with new widths: 1, two 6-bit codes, the special-samples flag. */
#define DEC_GROUP_HEAD_BITS 14
/*
 * Most bits one group can span, corrupt or not: header, bitmap, kind bits,
 * and per sample a 64-bit timestamp field and a 70-bit patch.
 */
#define DEC_GROUP_MAX_BITS (DEC_GROUP_HEAD_BITS + 2 * DEC_GROUP + DEC_GROUP * (64 + 70))
#define DEC_GROUP_MAX_BYTES ((DEC_GROUP_MAX_BITS + 7) / 8)

static const double dec_pow10[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13,
	1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

/* 2^53 / 10^k, rounded down: the largest mantissa that 10^k may scale. */
static const int64_t dec_mlimit[] = {
	9007199254740992LL, 900719925474099LL, 90071992547409LL, 9007199254740LL,
	900719925474LL, 90071992547LL, 9007199254LL, 900719925LL, 90071992LL,
	9007199LL, 900719LL, 90071LL, 9007LL, 900LL, 90LL, 9LL
};

static const int64_t dec_ipow10[] = {
	1LL, 10LL, 100LL, 1000LL, 10000LL, 100000LL, 1000000LL, 10000000LL,
	100000000LL, 1000000000LL, 10000000000LL, 100000000000LL,
	1000000000000LL, 10000000000000LL, 100000000000000LL, 1000000000000000LL
};

static inline uint64_t
zigzag(uint64_t x)
{
	return (x << 1) ^ (uint64_t) ((int64_t) x >> 63);
}

static inline uint64_t
unzigzag(uint64_t u)
{
	return (u >> 1) ^ (0 - (u & 1));
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

/* Significant bits of u, at least 1 (the length of a wide field's payload). */
static inline int
sigbits(uint64_t u)
{
	return u == 0 ? 1 : 64 - __builtin_clzll(u);
}

/*
 * Group width for residuals whose zigzag codes OR to u: 0 when all are 0,
 * and 64 rather than 63, which has no code. w bits of two's complement
 * hold exactly the residuals whose zigzag code is below 2^w.
 */
static inline int
group_width(uint64_t u)
{
	int			w = u == 0 ? 0 : 64 - __builtin_clzll(u);

	return w == 63 ? 64 : w;
}

/* ---------------- bit writer ---------------- */

/*
 * Bits collect in acc (at most 39 of them between calls) and leave it a
 * byte at a time. With buf NULL the writer only counts, which is how the
 * encoder prices a candidate with the very code that writes it.
 */
typedef struct DecWriter
{
	uint8_t    *buf;
	size_t		cap;
	size_t		len;			/* bytes written */
	uint64_t	nbits;			/* bits put, in all */
	uint64_t	acc;
	int			nacc;
	bool		full;
} DecWriter;

/* Append the low n bits of v (0 <= n <= 32). */
static inline void
put32(DecWriter *w, uint64_t v, int n)
{
	w->nbits += (uint64_t) n;
	if (w->buf == NULL || n == 0)
		return;
	w->acc = (w->acc << n) | (v & ((((uint64_t) 1) << n) - 1));
	w->nacc += n;
	while (w->nacc >= 8)
	{
		w->nacc -= 8;
		if (w->len >= w->cap)
			w->full = true;
		else
			w->buf[w->len++] = (uint8_t) (w->acc >> w->nacc);
	}
}

/* Append the low n bits of v (0 <= n <= 64), most significant first. */
static inline void
put_bits(DecWriter *w, uint64_t v, int n)
{
	if (n > 32)
	{
		put32(w, v >> 32, n - 32);
		n = 32;
	}
	put32(w, v, n);
}

static void
put_wide(DecWriter *w, uint64_t u)
{
	int			n = sigbits(u);

	put_bits(w, (uint64_t) (n - 1), 6);
	put_bits(w, u, n);
}

/* Write out the last partial byte, zero-padded. */
static void
flush_bits(DecWriter *w)
{
	if (w->buf != NULL && w->nacc > 0)
		put32(w, 0, 8 - w->nacc);
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
	if (mmin[i] > dec_mlimit[d - emin[i]] || mmin[i] < -dec_mlimit[d - emin[i]])
		return false;
	*m = mmin[i] * scale;
	return !(*m >= DEC_M_LIMIT || *m <= -DEC_M_LIMIT);
}

/* One candidate encoding of the values: residuals and starting state. */
typedef struct DecValuePlan
{
	uint64_t	zv[DEC_MAX_SAMPLES];	/* zigzag value residuals */
	bool		exc[DEC_MAX_SAMPLES];
	uint64_t	m0;				/* mantissa before sample 0 */
	uint64_t	delta0;			/* delta before sample 0 (dod mode) */
} DecValuePlan;

/*
 * Residuals of the values at exponent d in one mode. Exceptions get the
 * residual 0, so the state runs on through them as if the series continued.
 * The starting state makes the first decimal's residual 0 and, in dod mode,
 * starts with the first two decimals' mean step.
 */
static void
plan_values(const int8_t *emin, const int64_t *mmin, int n, int d, bool dod,
			DecValuePlan *pl)
{
	int			j0 = -1,
				j1 = -1;
	int64_t		mj0 = 0,
				mj1 = 0;
	uint64_t	m,
				delta = 0;

	for (int i = 0; i < n && j1 < 0; i++)
	{
		int64_t		mi;

		if (!mantissa_at(emin, mmin, i, d, &mi))
			continue;
		if (j0 < 0)
		{
			j0 = i;
			mj0 = mi;
		}
		else
		{
			j1 = i;
			mj1 = mi;
		}
	}
	if (dod && j1 >= 0)
		delta = (uint64_t) ((mj1 - mj0) / (j1 - j0));	/* |m| < 2^53: no overflow */
	m = (uint64_t) mj0 - (uint64_t) (j0 + 1) * delta;
	if (!dod)
		m = (uint64_t) mj0;
	pl->m0 = m;
	pl->delta0 = delta;

	for (int i = 0; i < n; i++)
	{
		int64_t		mi;
		uint64_t	r;

		pl->exc[i] = !mantissa_at(emin, mmin, i, d, &mi);
		if (pl->exc[i])
			r = 0;
		else if (dod)
			r = (uint64_t) mi - m - delta;
		else
			r = (uint64_t) mi - m;
		delta = dod ? delta + r : r;
		m += delta;
		pl->zv[i] = zigzag(r);
	}
}

/*
 * The value width of one group and the samples that get a patch instead of
 * a field: the width that minimises the group's value bits, where a field
 * costs the width and a patch costs a kind bit and a wide field (and, when
 * there is any special sample, the bitmap). Exceptions are special anyway.
 * Sets *vw, *spec (the bitmap, sample 0 in bit cnt - 1) and returns the
 * bits of the value fields, bitmap, kind bits and special data.
 */
static uint64_t
choose_value_width(const DecValuePlan *pl, int i, int cnt, int *vw, uint64_t *spec)
{
	/*
	 * Per width present (width 64 counted at 63, which group_width never
	 * gives): the samples of that width and the bits of their patches.
	 * present has a bit per width, so the candidates take one pass in
	 * ascending order with no sort.
	 */
	int			nw[64];
	uint64_t	pbits[64];
	int			width[DEC_GROUP];
	uint64_t	present = 0,
				patched = 0,
				best = UINT64_MAX;
	int			nexc = 0,
				m = 0,
				fields = 0;

	for (int j = 0; j < cnt; j++)
	{
		int			w,
					slot;

		if (pl->exc[i + j])
		{
			nexc++;
			continue;
		}
		w = group_width(pl->zv[i + j]);
		width[j] = w;
		slot = w == 64 ? 63 : w;
		if (!((present >> slot) & 1))
		{
			present |= (uint64_t) 1 << slot;
			nw[slot] = 0;
			pbits[slot] = 0;
		}
		nw[slot]++;
		pbits[slot] += 1 + 6 + (uint64_t) sigbits(pl->zv[i + j]);
		patched += 1 + 6 + (uint64_t) sigbits(pl->zv[i + j]);
		m++;
	}

	/* width 0 with every ordinary sample patched, then each width present */
	*vw = 0;
	for (uint64_t left = present | 1; left != 0; left &= left - 1)
	{
		int			slot = __builtin_ctzll(left);
		int			w = slot == 63 ? 64 : slot;
		uint64_t	bits;

		if ((present >> slot) & 1)
		{
			fields += nw[slot];
			patched -= pbits[slot];
		}
		bits = (uint64_t) fields * w + patched + 65 * (uint64_t) nexc +
			(nexc + m - fields > 0 ? (uint64_t) cnt : 0);
		if (bits < best)
		{
			best = bits;
			*vw = w;
		}
	}
	*spec = 0;
	for (int j = 0; j < cnt; j++)
		*spec = *spec << 1 | (pl->exc[i + j] || width[j] > *vw);
	return best;
}

/*
 * Write (or, with a counting writer, price) the groups of g samples. Per
 * group, the header repeats the previous widths when they suffice, there is
 * no special sample and that costs no more than a new header; otherwise it
 * names the group's own widths: the smallest that hold its timestamp
 * residuals, and the value width choose_value_width finds.
 */
static void
put_groups(DecWriter *w, const uint64_t *zt, const DecValuePlan *pl,
		   const double *vs, int n, int g)
{
	int			ptw = 0,
				pvw = 0;

	for (int i = 0; i < n; i += g)
	{
		int			cnt = n - i < g ? n - i : g;
		uint64_t	tmax = 0,
					vmax = 0,
					spec = 0,
					vbits;
		int			nexc = 0;
		int			tw,
					vw = 0;
		bool		repeat;

		for (int j = 0; j < cnt; j++)
		{
			tmax |= zt[i + j];
			vmax |= pl->zv[i + j];	/* 0 for an exception */
			nexc += pl->exc[i + j];
		}
		tw = group_width(tmax);
		vbits = choose_value_width(pl, i, cnt, &vw, &spec);
		repeat = nexc == 0 && ptw >= tw && pvw >= group_width(vmax) &&
			1 + (uint64_t) cnt * (ptw + pvw) <=
			DEC_GROUP_HEAD_BITS + (uint64_t) cnt * tw + vbits;
		if (repeat)
		{
			put_bits(w, 0, 1);
			tw = ptw;
			vw = pvw;
			spec = 0;
		}
		else
		{
			put_bits(w, 1, 1);
			put_bits(w, (uint64_t) (tw == 64 ? 63 : tw), 6);
			put_bits(w, (uint64_t) (vw == 64 ? 63 : vw), 6);
			put_bits(w, spec != 0, 1);
			if (spec != 0)
			{
				put_bits(w, spec, cnt);
				for (int j = 0; j < cnt; j++)
					if ((spec >> (cnt - 1 - j)) & 1)
						put_bits(w, pl->exc[i + j], 1);
			}
			ptw = tw;
			pvw = vw;
		}
		if (w->buf == NULL)
		{
			/* only counting: skip the per-field calls */
			/* (the bitmap and kind bits are counted already) */
			w->nbits += (uint64_t) cnt * tw +
				(repeat ? (uint64_t) cnt * vw :
				 vbits - (spec ? (uint64_t) cnt + __builtin_popcountll(spec) : 0));
			continue;
		}
		/* fields hold residuals in two's complement, tw or vw bits */
		for (int j = 0; j < cnt; j++)
			put_bits(w, unzigzag(zt[i + j]), tw);
		for (int j = 0; j < cnt; j++)
			if (!((spec >> (cnt - 1 - j)) & 1))
				put_bits(w, unzigzag(pl->zv[i + j]), vw);
		for (int j = 0; j < cnt; j++)
		{
			if (!((spec >> (cnt - 1 - j)) & 1))
				continue;
			if (pl->exc[i + j])
				put_bits(w, dbits(vs[i + j]), 64);
			else
				put_wide(w, pl->zv[i + j]);
		}
	}
}

/* The starting state's fields. */
static void
put_start(DecWriter *w, const int64_t *ts, int n, const DecValuePlan *pl, bool dod)
{
	uint64_t	td = n > 1 ? (uint64_t) ts[1] - (uint64_t) ts[0] : 0;

	put_wide(w, zigzag((uint64_t) ts[0] - td));
	put_wide(w, zigzag(td));
	put_wide(w, zigzag(pl->m0));
	if (dod)
		put_wide(w, zigzag(pl->delta0));
}

int
dec_encode(const int64_t *ts, const double *vs, int n,
		   uint8_t *out, size_t cap, size_t *outlen)
{
	int8_t		emin[DEC_MAX_SAMPLES];
	int64_t		mmin[DEC_MAX_SAMPLES];
	uint64_t	zt[DEC_MAX_SAMPLES];
	DecValuePlan plan;
	int			count_at[DEC_MAX_EXP + 1] = {0};
	int			best_d = 0;
	bool		best_dod = false;
	bool		best_small = false;
	uint64_t	best = UINT64_MAX;
	int			ndecimal = 0;
	DecWriter	w = {0};
	uint64_t	t,
				td;

	if (n <= 0 || n > DEC_MAX_SAMPLES)
		return DEC_EINVAL;
	if (cap < DEC_HEADER_BYTES)
		return DEC_EFULL;

	for (int i = 0; i < n; i++)
	{
		int			e = smallest_exponent(vs[i], &mmin[i]);

		emin[i] = (int8_t) e;
		if (e >= 0)
		{
			count_at[e]++;
			ndecimal++;
		}
	}

	/* timestamp residuals, from the state put_start writes */
	td = n > 1 ? (uint64_t) ts[1] - (uint64_t) ts[0] : 0;
	t = (uint64_t) ts[0] - td;
	for (int i = 0; i < n; i++)
	{
		uint64_t	step = (uint64_t) ts[i] - t;

		zt[i] = zigzag(step - td);
		td = step;
		t = (uint64_t) ts[i];
	}

	/*
	 * Price every exponent some value needs, in both modes. A larger one
	 * turns no new value into an exception but may push large ones past
	 * 2^53 and makes residuals wider, so the cheapest is usually the largest
	 * needed: going down from there, an exponent whose exceptions alone
	 * (the values whose smallest exponent is larger, 65 bits each at least)
	 * cost more than the best so far is skipped unpriced. The timestamps
	 * cost the same in every candidate, but their widths share group
	 * headers with the values', so they are priced too.
	 */
	for (int d = DEC_MAX_EXP, decimals = ndecimal; d >= 0; d--)
	{
		if (d < DEC_MAX_EXP)
			decimals -= count_at[d + 1];
		if (count_at[d] == 0 && !(d == 0 && ndecimal == 0))
			continue;
		if (65 * (uint64_t) (n - decimals) >= best)
			continue;
		for (int dod = 0; dod <= 1; dod++)
		{
			DecWriter	counter = {0};

			plan_values(emin, mmin, n, d, dod, &plan);
			put_start(&counter, ts, n, &plan, dod);
			put_groups(&counter, zt, &plan, vs, n, DEC_GROUP);
			if (counter.nbits < best)
			{
				best = counter.nbits;
				best_d = d;
				best_dod = dod;
			}
		}
	}

	/*
	 * Small groups confine a lone wide timestamp residual (a missed scrape;
	 * values have patches) to fewer samples, but decode about 15 % slower:
	 * take them when they save at least 1/32 of the best candidate's bits.
	 */
	plan_values(emin, mmin, n, best_d, best_dod, &plan);
	{
		DecWriter	counter = {0};

		put_start(&counter, ts, n, &plan, best_dod);
		put_groups(&counter, zt, &plan, vs, n, DEC_GROUP_SMALL);
		best_small = counter.nbits < best - best / 32;
	}

	out[0] = (uint8_t) (n >> 8);
	out[1] = (uint8_t) n;
	out[2] = (uint8_t) (best_d | (best_dod ? DEC_MODE_DOD : 0) |
						(best_small ? DEC_SMALL_GROUPS : 0));

	w.buf = out + DEC_HEADER_BYTES;
	w.cap = cap - DEC_HEADER_BYTES;
	put_start(&w, ts, n, &plan, best_dod);
	put_groups(&w, zt, &plan, vs, n, best_small ? DEC_GROUP_SMALL : DEC_GROUP);
	flush_bits(&w);
	if (w.full)
		return DEC_EFULL;
	*outlen = DEC_HEADER_BYTES + w.len;
	return DEC_OK;
}

/* ---------------- decoder ---------------- */

/*
 * The starting state is read with a checked bit reader; the groups then
 * read fields at computed bit positions: a field of w <= 56 bits at
 * position pos is the top w bits of the 8 bytes at pos / 8, shifted left by
 * pos % 8, sign-extended by an arithmetic shift. A group's header gives the
 * length of its fields before any is read, so one comparison with the
 * stream's end per group bounds them; the data of special samples (patches
 * have variable length) are checked once they are read, and no group, corrupt
 * or not, loads more than DEC_GROUP_MAX_BYTES + 8 bytes from its start. The
 * last groups (less than that from the end) are read from a zero-padded copy
 * of the tail.
 */
static inline uint64_t
load_be64(const uint8_t *q)
{
	uint64_t	w;

	memcpy(&w, q, 8);
	return __builtin_bswap64(w);
}

/* At least 57 stream bits from pos on, left-aligned. */
static inline uint64_t
peek(const uint8_t *base, uint64_t pos)
{
	return load_be64(base + (pos >> 3)) << (pos & 7);
}

/* A field of w bits (0..64) at pos. */
static inline uint64_t
field64(const uint8_t *base, uint64_t pos, int w)
{
	if (w == 0)
		return 0;
	if (w <= 56)
		return peek(base, pos) >> (64 - w);
	return (peek(base, pos) >> 32) << (w - 32) |
		peek(base, pos + 32) >> (96 - w);
}

/* A field of w bits (0..64) at pos, sign-extended. */
static inline uint64_t
sfield64(const uint8_t *base, uint64_t pos, int w)
{
	uint64_t	u;

	if (w == 0)
		return 0;
	if (w <= 56)
		return (uint64_t) ((int64_t) peek(base, pos) >> (64 - w));
	u = field64(base, pos, w) << (64 - w);
	return (uint64_t) ((int64_t) u >> (64 - w));
}

/* Checked read of n bits (1..64) for the starting state. */
static bool
take_bits(const uint8_t *s, uint64_t endbits, uint64_t *pos, int n, uint64_t *v)
{
	uint64_t	x = 0;

	if (*pos + (uint64_t) n > endbits)
		return false;
	for (int k = 0; k < n; k++, (*pos)++)
		x = x << 1 | ((s[*pos >> 3] >> (7 - (*pos & 7))) & 1);
	*v = x;
	return true;
}

static bool
take_wide(const uint8_t *s, uint64_t endbits, uint64_t *pos, uint64_t *u)
{
	uint64_t	n;

	return take_bits(s, endbits, pos, 6, &n) &&
		take_bits(s, endbits, pos, (int) n + 1, u);
}

/* The decoder's running state (wrapping arithmetic throughout). */
typedef struct DecState
{
	uint64_t	t;
	uint64_t	td;
	uint64_t	m;
	uint64_t	delta;
} DecState;

/*
 * The samples of one group of cnt samples whose fields start at pos, with
 * widths tw and vw, special samples spec and their kinds; returns the
 * position after the group. The callers pass constants for
 * dod and scaled, so each (value mode, exponent is 0) pair gets its own
 * code with no per-sample test of the mode, and exponent 0 needs no division
 * ((double) m is exact below 2^53, so it equals m / 1). With cnt a constant
 * group size and widths up to 56 (the fast case), the loops unroll into
 * independent loads and shifts; only the running sums depend on each other.
 */
static inline __attribute__((always_inline)) uint64_t
dec_group(DecState *st, const uint8_t *base, uint64_t pos, int cnt, int tw, int vw,
		  uint64_t spec, uint64_t kinds, int64_t *restrict ts, double *restrict vs,
		  double scale, bool dod, bool scaled, bool fast)
{
	uint64_t	t = st->t;
	uint64_t	td = st->td;
	uint64_t	m = st->m;
	uint64_t	delta = st->delta;

	if (tw == 0)
	{
		for (int j = 0; j < cnt; j++)
		{
			t += td;
			ts[j] = (int64_t) t;
		}
	}
	else
	{
		for (int j = 0; j < cnt; j++)
		{
			uint64_t	r = fast ?
				(uint64_t) ((int64_t) peek(base, pos + (uint64_t) j * tw) >> (64 - tw)) :
				sfield64(base, pos + (uint64_t) j * tw, tw);

			td += r;
			t += td;
			ts[j] = (int64_t) t;
		}
	}
	pos += (uint64_t) cnt * tw;

	if (__builtin_expect(spec != 0, 0))
	{
		/*
		 * Special samples have no value field. Their data follow the value
		 * fields, in sample order: an exception's 64 raw bits (its residual
		 * is 0), or a patch, the residual as a wide field. Bit cnt - 1 of
		 * spec is sample 0; the kind bits (1 = exception) are in the same
		 * order.
		 */
		int			nspec = __builtin_popcountll(spec);
		int			k = 0;
		uint64_t	spos = pos + (uint64_t) (cnt - nspec) * vw;

		for (int j = 0; j < cnt; j++)
		{
			uint64_t	r = 0;
			bool		is_exc = false;

			if (!((spec >> (cnt - 1 - j)) & 1))
			{
				r = sfield64(base, pos, vw);
				pos += (uint64_t) vw;
			}
			else if ((kinds >> (nspec - 1 - k++)) & 1)
			{
				vs[j] = bitsd(field64(base, spos, 64));
				spos += 64;
				is_exc = true;
			}
			else
			{
				int			len = (int) field64(base, spos, 6) + 1;

				r = unzigzag(field64(base, spos + 6, len));
				spos += 6 + (uint64_t) len;
			}
			delta = dod ? delta + r : r;
			m += delta;
			if (!is_exc)
				vs[j] = scaled ? (double) (int64_t) m / scale : (double) (int64_t) m;
		}
		pos = spos;
	}
	else if (vw == 0)
	{
		for (int j = 0; j < cnt; j++)
		{
			if (!dod)
				delta = 0;
			m += delta;
			vs[j] = scaled ? (double) (int64_t) m / scale : (double) (int64_t) m;
		}
	}
	else
	{
		for (int j = 0; j < cnt; j++)
		{
			uint64_t	r = fast ?
				(uint64_t) ((int64_t) peek(base, pos + (uint64_t) j * vw) >> (64 - vw)) :
				sfield64(base, pos + (uint64_t) j * vw, vw);

			delta = dod ? delta + r : r;
			m += delta;
			vs[j] = scaled ? (double) (int64_t) m / scale : (double) (int64_t) m;
		}
		pos += (uint64_t) cnt * vw;
	}

	st->t = t;
	st->td = td;
	st->m = m;
	st->delta = delta;
	return pos;
}

/*
 * All groups of n samples in groups of g, the stream (len bytes) starting
 * at bit pos. Returns n, or -1 when a group's fields pass the end of the
 * stream.
 */
static inline __attribute__((always_inline)) int
dec_groups(DecState *st, const uint8_t *data, size_t len, uint64_t pos, int n,
		   int64_t *ts, double *vs, double scale, bool dod, bool scaled, int g)
{
	uint8_t		pad[2 * DEC_GROUP_MAX_BYTES + 32];
	const uint8_t *base = data;
	uint64_t	endbits = (uint64_t) len * 8;
	bool		padded = false;
	int			tw = 0,
				vw = 0;

	for (int i = 0; i < n; i += g)
	{
		int			cnt = n - i < g ? n - i : g;
		uint64_t	x,
					spec = 0,
					kinds = 0;
		int			nspec = 0;

		/*
		 * Once less than a largest group plus a load's 8 bytes is left, go
		 * on in a zero-padded copy of the rest. A group's loads stay within
		 * DEC_GROUP_MAX_BYTES + 8 bytes of its start even when it is corrupt
		 * (only the fields are checked before they are read; the special
		 * samples' data after), and a group starts at most at the end of
		 * the copied rest, so the padding holds a largest group too.
		 */
		if (!padded && (pos >> 3) + DEC_GROUP_MAX_BYTES + 8 > len)
		{
			size_t		from = (size_t) (pos >> 3);
			size_t		rest = len - from;

			memcpy(pad, data + from, rest);
			memset(pad + rest, 0, sizeof(pad) - rest);
			base = pad;
			pos &= 7;
			endbits = (uint64_t) rest * 8;
			padded = true;
		}

		x = peek(base, pos);
		if (x >> 63)
		{
			int			tc = (int) (x >> 57) & 63;
			int			vc = (int) (x >> 51) & 63;

			tw = tc + (tc == 63);
			vw = vc + (vc == 63);
			pos += DEC_GROUP_HEAD_BITS;
			if ((x >> 50) & 1)
			{
				spec = (x << DEC_GROUP_HEAD_BITS) >> (64 - cnt);
				nspec = __builtin_popcountll(spec);
				if (nspec > 0)
					kinds = (x << (DEC_GROUP_HEAD_BITS + cnt)) >> (64 - nspec);
				pos += (uint64_t) (cnt + nspec);
			}
		}
		else
			pos++;
		/* the fields; special samples' data are checked after them */
		if (pos + (uint64_t) cnt * (uint64_t) tw +
			(uint64_t) (cnt - nspec) * (uint64_t) vw > endbits)
			return -1;
		if (spec == 0 && cnt == g && tw <= 56 && vw <= 56)
			pos = dec_group(st, base, pos, g, tw, vw, 0, 0, ts + i, vs + i,
							scale, dod, scaled, true);
		else
			pos = dec_group(st, base, pos, cnt, tw, vw, spec, kinds, ts + i, vs + i,
							scale, dod, scaled, false);
		if (pos > endbits)
			return -1;
	}
	return n;
}

/*
 * One decoder per (value mode, exponent is 0, group size), so that each is
 * compiled apart with its constants.
 */
typedef int (*DecBody) (DecState *st, const uint8_t *data, size_t len, uint64_t pos,
						int n, int64_t *ts, double *vs, double scale);

#define DEC_BODY(name, dod, scaled, g) \
static __attribute__((noinline)) int \
name(DecState *st, const uint8_t *data, size_t len, uint64_t pos, int n, \
	 int64_t *ts, double *vs, double scale) \
{ \
	return dec_groups(st, data, len, pos, n, ts, vs, scale, dod, scaled, g); \
}

DEC_BODY(dec_body_delta, false, true, DEC_GROUP)
DEC_BODY(dec_body_delta_int, false, false, DEC_GROUP)
DEC_BODY(dec_body_dod, true, true, DEC_GROUP)
DEC_BODY(dec_body_dod_int, true, false, DEC_GROUP)
DEC_BODY(dec_body_delta_small, false, true, DEC_GROUP_SMALL)
DEC_BODY(dec_body_delta_int_small, false, false, DEC_GROUP_SMALL)
DEC_BODY(dec_body_dod_small, true, true, DEC_GROUP_SMALL)
DEC_BODY(dec_body_dod_int_small, true, false, DEC_GROUP_SMALL)

/* By header bits: small groups, deltas of deltas, exponent is not 0. */
static const DecBody dec_bodies[8] = {
	dec_body_delta_int, dec_body_delta, dec_body_dod_int, dec_body_dod,
	dec_body_delta_int_small, dec_body_delta_small, dec_body_dod_int_small,
	dec_body_dod_small
};

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
	const uint8_t *s = data + DEC_HEADER_BYTES;
	uint64_t	endbits;
	uint64_t	pos = 0;
	uint64_t	u;
	int			n;
	int			d;
	bool		dod;
	double		scale;
	DecState	st = {0};

	if (len < DEC_HEADER_BYTES || (data[2] & DEC_RESERVED) != 0)
		return -1;
	n = dec_chunk_count(data, len);
	d = data[2] & DEC_EXP_MASK;
	dod = (data[2] & DEC_MODE_DOD) != 0;
	if (n > max || d > DEC_MAX_EXP)
		return -1;
	if (n == 0)
		return 0;
	scale = dec_pow10[d];
	endbits = (uint64_t) (len - DEC_HEADER_BYTES) * 8;

	if (!take_wide(s, endbits, &pos, &u))
		return -1;
	st.t = unzigzag(u);
	if (!take_wide(s, endbits, &pos, &u))
		return -1;
	st.td = unzigzag(u);
	if (!take_wide(s, endbits, &pos, &u))
		return -1;
	st.m = unzigzag(u);
	if (dod)
	{
		if (!take_wide(s, endbits, &pos, &u))
			return -1;
		st.delta = unzigzag(u);
	}

	return dec_bodies[((data[2] & DEC_SMALL_GROUPS) ? 4 : 0) + (dod ? 2 : 0) + (d != 0)]
		(&st, s, len - DEC_HEADER_BYTES, pos, n, ts, vs, scale);
}
