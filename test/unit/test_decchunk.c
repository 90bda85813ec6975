/*
 * test_decchunk.c: unit tests and benchmark of the decimal chunk codec
 * (src/codec/decchunk.c).
 *
 * The codec must give back every float64 bit for bit whatever it is fed, so
 * most checks are round trips over generated series: decimals of every
 * exponent, counters, integers, random bits, and values that are no decimal
 * at all (NaN payloads such as the stale marker, infinities, -0, denormals,
 * values past 2^53) mixed into decimal runs, plus extreme timestamps. Then
 * the sizes it promises (a steady counter in a few bits per sample, never far
 * above raw float64 on noise), and the error paths: truncation, corrupt
 * headers, a full buffer, bad sample counts.
 *
 * `test_decchunk --bench [seconds]` measures speed and size next to the XOR
 * codec on the same data.
 */
#include <float.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/codec.h"
#include "codec/codec.h"
#include "unit.h"
#include "rng.h"

#define MAXN 1024

static const double pow10s[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
1e11, 1e12, 1e13, 1e14, 1e15};

/* Encode, decode, compare bit for bit; returns the chunk length or 0. */
static size_t
round_trip(const char *what, const int64_t *ts, const double *vs, int n)
{
	static uint8_t buf[DEC_MAX_BYTES(MAXN)];
	static int64_t ot[MAXN];
	static double ov[MAXN];
	size_t		len = 0;
	int			rc = dec_encode(ts, vs, n, buf, sizeof(buf), &len);
	int			got;
	int			bad = -1;

	CHECK(rc == DEC_OK, "%s: encode failed with %d", what, rc);
	if (rc != DEC_OK)
		return 0;
	CHECK(len <= DEC_MAX_BYTES(n), "%s: %zu bytes exceed the bound", what, len);
	CHECK(dec_chunk_count(buf, len) == n, "%s: count %u, want %d", what,
		  dec_chunk_count(buf, len), n);
	got = dec_decode_all(buf, len, ot, ov, MAXN);
	CHECK(got == n, "%s: decoded %d of %d samples", what, got, n);
	if (got != n)
		return 0;
	for (int i = 0; i < n && bad < 0; i++)
		if (ot[i] != ts[i] || dbits(ov[i]) != dbits(vs[i]))
			bad = i;
	CHECK(bad < 0, "%s: sample %d differs: t %lld/%lld v %016llx/%016llx", what, bad,
		  bad < 0 ? 0LL : (long long) ot[bad], bad < 0 ? 0LL : (long long) ts[bad],
		  bad < 0 ? 0ULL : (unsigned long long) dbits(ov[bad]),
		  bad < 0 ? 0ULL : (unsigned long long) dbits(vs[bad]));
	/* one sample fewer must not decode */
	if (n > 0)
		CHECK(dec_decode_all(buf, len, ot, ov, n - 1) == -1, "%s: max not honoured", what);
	return len;
}

/* A value with an awkward bit pattern. */
static double
odd_value(void)
{
	switch (rng_below(10))
	{
		case 0:
			return bitsd(0x7ff0000000000002ULL);	/* the stale marker */
		case 1:
			return NAN;
		case 2:
			return INFINITY;
		case 3:
			return -INFINITY;
		case 4:
			return -0.0;
		case 5:
			return bitsd(rng_below(1000) + 1);	/* denormal */
		case 6:
			return 1e300 * (rng_unit() + 1);
		case 7:
			return 9007199254740993.0 * 4;	/* integer past 2^53 */
		case 8:
			return bitsd(rng());
		default:
			return rng_unit();	/* 16-17 digits */
	}
}

static int64_t
random_timestamp_step(int style)
{
	switch (style)
	{
		case 0:
			return 15000;
		case 1:
			return 15000 + (int64_t) rng_below(11) - 5;
		case 2:
			return (int64_t) rng_below(100000);
		default:
			return (int64_t) (rng() >> (rng_below(60) + 1));
	}
}

static void
test_random_round_trips(int rounds)
{
	static int64_t ts[MAXN];
	static double vs[MAXN];

	for (int r = 0; r < rounds; r++)
	{
		int			n = 1 + (int) rng_below(r % 3 == 0 ? MAXN : 130);
		int			kind = (int) rng_below(7);
		int			d = (int) rng_below(16);
		int			tstyle = (int) rng_below(4);
		double		odd_rate = rng_below(3) == 0 ? rng_unit() * 0.2 : 0;
		int64_t		m = (int64_t) rng_below(1000000) - 500000;
		int64_t		step = (int64_t) rng_below(5000);
		char		what[64];

		ts[0] = (int64_t) rng() >> (rng_below(4) * 8 + 1);
		for (int i = 0; i < n; i++)
		{
			double		v;

			if (i > 0)
				ts[i] = ts[i - 1] + random_timestamp_step(tstyle);
			switch (kind)
			{
				case 0:			/* counter of decimals */
					m += step + (int64_t) rng_below(3);
					v = (double) m / pow10s[d];
					break;
				case 1:			/* gauge of decimals */
					m += (int64_t) rng_below(2001) - 1000;
					v = (double) m / pow10s[d];
					break;
				case 2:			/* integers */
					v = (double) (int64_t) (rng() >> rng_below(64));
					break;
				case 3:			/* constant */
					v = 42.5;
					break;
				case 4:			/* random bits */
					v = bitsd(rng());
					break;
				case 5:			/* random walk of full doubles */
					v = (i ? vs[i - 1] : 0) + rng_unit() - 0.5;
					break;
				default:		/* decimals of mixed exponents */
					v = (double) ((int64_t) rng_below(2000000) - 1000000) / pow10s[rng_below(16)];
					break;
			}
			if (odd_rate > 0 && rng_unit() < odd_rate)
				v = odd_value();
			vs[i] = v;
		}
		snprintf(what, sizeof(what), "round %d (kind %d, d %d, n %d)", r, kind, d, n);
		round_trip(what, ts, vs, n);
	}
}

static void
test_special_values(void)
{
	int64_t		ts[8];
	double		all_odd[8] = {NAN, bitsd(0x7ff0000000000002ULL), INFINITY, -INFINITY,
	-0.0, bitsd(1), DBL_MAX, 0.1};
	double		first_odd[4] = {bitsd(0x7ff0000000000002ULL), 1.5, 1.75, 2.0};
	double		one[1] = {3.25};

	for (int i = 0; i < 8; i++)
		ts[i] = 1000 * i;
	round_trip("all special", ts, all_odd, 8);
	round_trip("first is an exception", ts, first_odd, 4);
	round_trip("one sample", ts, one, 1);
}

static void
test_extreme_timestamps(void)
{
	int64_t		ts[6] = {INT64_MIN, INT64_MIN + 1, -1, 0, INT64_MAX - 1, INT64_MAX};
	int64_t		back[4] = {5000, 1000, 1000, -7};	/* decreasing, equal */
	double		vs[6] = {1, 2, 3, 4, 5, 6};

	round_trip("extreme timestamps", ts, vs, 6);
	round_trip("unsorted timestamps", back, vs, 4);
}

/* The sizes the design is for. */
static void
test_sizes(void)
{
	static int64_t ts[240];
	static double vs[240];
	size_t		len;

	/* steady counter of 1/100 units, regular scrapes: ~2 bits a sample */
	for (int i = 0; i < 240; i++)
	{
		ts[i] = 1764072000000LL + 15000LL * i;
		vs[i] = floor((123456.78 + 0.37 * 15 * i) * 100) / 100;
	}
	len = round_trip("steady counter", ts, vs, 240);
	CHECK(len > 0 && len <= 3 + 16 + 240 / 2, "steady counter takes %zu bytes", len);

	/* the same counter with a stale marker in the middle costs one exception */
	vs[100] = bitsd(0x7ff0000000000002ULL);
	len = round_trip("counter with a stale marker", ts, vs, 240);
	CHECK(len > 0 && len <= 3 + 16 + 240 / 2 + 9, "counter with a stale marker takes %zu bytes", len);

	/* integers with noise of +-100: under 17 bits a sample */
	for (int i = 0; i < 240; i++)
		vs[i] = 8.0e9 + (double) ((int64_t) rng_below(201) - 100);
	len = round_trip("integer gauge", ts, vs, 240);
	CHECK(len > 0 && len <= 3 + 16 + 240 * 17 / 8, "integer gauge takes %zu bytes", len);

	/*
	 * a gauge that jumps to a new level 4 times: each jump is one patch (a
	 * few bytes), not a group of wide fields
	 */
	for (int i = 0; i < 240; i++)
		vs[i] = i < 37 ? 5 : i < 101 ? 734211 : i < 170 ? 12 : i < 222 ? 99999 : 100;
	len = round_trip("gauge with level changes", ts, vs, 240);
	CHECK(len > 0 && len <= 3 + 16 + 4 * 10, "gauge with level changes takes %zu bytes", len);

	/* noise costs at most the exception's 70 bits a sample */
	for (int i = 0; i < 240; i++)
		vs[i] = bitsd(rng());
	len = round_trip("random bits", ts, vs, 240);
	CHECK(len > 0 && len <= 3 + 16 + 240 * 72 / 8, "random bits take %zu bytes", len);
}

static void
test_errors(void)
{
	int64_t		ts[4] = {1, 2, 3, 4};
	double		vs[4] = {0.5, 0.25, 1e-3, 7};
	uint8_t		buf[64];
	int64_t		ot[4];
	double		ov[4];
	size_t		len = 0;

	CHECK(dec_encode(ts, vs, 0, buf, sizeof(buf), &len) == DEC_EINVAL, "n = 0 accepted");
	CHECK(dec_encode(ts, vs, DEC_MAX_SAMPLES + 1, buf, sizeof(buf), &len) == DEC_EINVAL,
		  "n > DEC_MAX_SAMPLES accepted");
	CHECK(dec_encode(ts, vs, 4, buf, 2, &len) == DEC_EFULL, "2-byte buffer accepted");
	CHECK(dec_encode(ts, vs, 4, buf, 5, &len) == DEC_EFULL, "5-byte buffer accepted");
	CHECK(dec_encode(ts, vs, 4, buf, sizeof(buf), &len) == DEC_OK, "encode failed");

	/* every proper prefix is too short: its last byte always holds a bit */
	for (size_t cut = 0; cut < len; cut++)
		CHECK(dec_decode_all(buf, cut, ot, ov, 4) == -1, "prefix of %zu bytes decoded", cut);
	buf[2] |= 0x80;
	CHECK(dec_decode_all(buf, len, ot, ov, 4) == -1, "reserved header bit accepted");
	buf[2] = (buf[2] & ~0x9f) | 16;
	CHECK(dec_decode_all(buf, len, ot, ov, 4) == -1, "exponent 16 accepted");
	CHECK(dec_chunk_count(buf, 2) == 0, "count of a 2-byte chunk");

	/* random corruption: never a crash or a read past the end (ASan/valgrind) */
	for (int r = 0; r < 20000; r++)
	{
		uint8_t		junk[40];
		int64_t		jt[300];
		double		jv[300];
		size_t		jl = (size_t) rng_below(sizeof(junk) + 1);

		for (size_t i = 0; i < jl; i++)
			junk[i] = (uint8_t) rng();
		(void) dec_decode_all(junk, jl, jt, jv, 300);
	}
	CHECK(1, "corrupt inputs decoded without crashing");
}

/* ------------------------------------------------ reference decoder */

/*
 * A simple decoder of the layout, kept as the reference the fast one must
 * match: a byte-at-a-time bit reader that checks every field against the
 * end of the stream, reading the fields in stream order with no padding and
 * no computed positions. On any input, both decoders must return -1, or the
 * same count and the same samples bit for bit.
 */
typedef struct RefReader
{
	const uint8_t *p;
	const uint8_t *end;
	uint64_t	acc;			/* bits of the current byte not yet taken */
	int			nacc;
} RefReader;

static bool
ref_bits(RefReader *r, int n, uint64_t *out)
{
	uint64_t	v = 0;

	while (n > 0)
	{
		if (r->nacc == 0)
		{
			if (r->p >= r->end)
				return false;
			r->acc = *r->p++;
			r->nacc = 8;
		}
		v = v << 1 | ((r->acc >> (r->nacc - 1)) & 1);
		r->nacc--;
		n--;
	}
	*out = v;
	return true;
}

static uint64_t
ref_unzigzag(uint64_t u)
{
	return (u >> 1) ^ (0 - (u & 1));
}

/* A field of w bits as a two's complement number, bit by bit. */
static uint64_t
ref_sign_extend(uint64_t u, int w)
{
	if (w > 0 && w < 64 && ((u >> (w - 1)) & 1))
		for (int b = w; b < 64; b++)
			u |= (uint64_t) 1 << b;
	return u;
}

static bool
ref_wide(RefReader *r, uint64_t *u)
{
	uint64_t	n;

	return ref_bits(r, 6, &n) && ref_bits(r, (int) n + 1, u);
}

static int
ref_decode_all(const uint8_t *data, size_t len, int64_t *ts, double *vs, int max)
{
	RefReader	r;
	int			n,
				d,
				g,
				tw = 0,
				vw = 0;
	bool		dod;
	uint64_t	t,
				td,
				m,
				delta = 0,
				u;

	if (len < 3 || (data[2] & 0x80) != 0)
		return -1;
	n = data[0] << 8 | data[1];
	d = data[2] & 0x1f;
	dod = (data[2] & 0x20) != 0;
	g = (data[2] & 0x40) ? 8 : 16;
	if (n > max || d > 15)
		return -1;
	if (n == 0)
		return 0;
	r.p = data + 3;
	r.end = data + len;
	r.nacc = 0;
	r.acc = 0;
	if (!ref_wide(&r, &t) || !ref_wide(&r, &td) || !ref_wide(&r, &m))
		return -1;
	if (dod && !ref_wide(&r, &delta))
		return -1;
	t = ref_unzigzag(t);
	td = ref_unzigzag(td);
	m = ref_unzigzag(m);
	delta = ref_unzigzag(delta);
	for (int i = 0; i < n; i += g)
	{
		int			cnt = n - i < g ? n - i : g;
		uint64_t	res[16],
					raw[16];
		bool		special[16] = {false};
		bool		exc[16] = {false};

		if (!ref_bits(&r, 1, &u))
			return -1;
		if (u == 1)
		{
			uint64_t	tc,
						vc,
						flag;

			if (!ref_bits(&r, 6, &tc) || !ref_bits(&r, 6, &vc) || !ref_bits(&r, 1, &flag))
				return -1;
			tw = tc == 63 ? 64 : (int) tc;
			vw = vc == 63 ? 64 : (int) vc;
			for (int j = 0; flag && j < cnt; j++)
			{
				if (!ref_bits(&r, 1, &u))
					return -1;
				special[j] = u == 1;
			}
			for (int j = 0; j < cnt; j++)
			{
				if (!special[j])
					continue;
				if (!ref_bits(&r, 1, &u))
					return -1;
				exc[j] = u == 1;
			}
		}
		for (int j = 0; j < cnt; j++)
		{
			u = 0;
			if (tw > 0 && !ref_bits(&r, tw, &u))
				return -1;
			td += ref_sign_extend(u, tw);
			t += td;
			ts[i + j] = (int64_t) t;
		}
		/* value fields of the ordinary samples, then the special ones' data */
		for (int j = 0; j < cnt; j++)
		{
			res[j] = 0;
			if (!special[j] && vw > 0 && !ref_bits(&r, vw, &res[j]))
				return -1;
			res[j] = ref_sign_extend(res[j], vw);
		}
		for (int j = 0; j < cnt; j++)
		{
			if (!special[j])
				continue;
			if (exc[j])
			{
				if (!ref_bits(&r, 64, &raw[j]))
					return -1;
				res[j] = 0;
			}
			else if (!ref_wide(&r, &res[j]))
				return -1;
			else
				res[j] = ref_unzigzag(res[j]);
		}
		for (int j = 0; j < cnt; j++)
		{
			delta = dod ? delta + res[j] : res[j];
			m += delta;
			vs[i + j] = exc[j] ? bitsd(raw[j]) : (double) (int64_t) m / pow10s[d];
		}
	}
	return n;
}

/* Both decoders on one input: the same verdict and the same samples. */
static void
compare_decoders(const char *what, const uint8_t *data, size_t len, int max)
{
	static int64_t t1[MAXN],
				t2[MAXN];
	static double v1[MAXN],
				v2[MAXN];
	int			a = dec_decode_all(data, len, t1, v1, max);
	int			b = ref_decode_all(data, len, t2, v2, max);
	int			bad = -1;

	CHECK(a == b, "%s (%zu bytes, max %d): decoded %d, reference %d", what, len, max, a, b);
	for (int i = 0; a == b && i < a && bad < 0; i++)
		if (t1[i] != t2[i] || dbits(v1[i]) != dbits(v2[i]))
			bad = i;
	CHECK(bad < 0, "%s: sample %d differs from the reference", what, bad);
}

/*
 * Random chunks from the encoder, whole and mutated (cut short, bits
 * flipped, bytes overwritten, the count raised), and random bytes behind a
 * plausible header, through both decoders.
 */
static void
test_against_reference(int rounds)
{
	static int64_t ts[MAXN];
	static double vs[MAXN];
	static uint8_t buf[DEC_MAX_BYTES(MAXN)];

	for (int r = 0; r < rounds; r++)
	{
		int			n = 1 + (int) rng_below(r % 4 == 0 ? MAXN : 300);
		int			d = (int) rng_below(16);
		int			kind = (int) rng_below(4);
		double		odd_rate = rng_below(3) == 0 ? rng_unit() * 0.3 : 0;
		int64_t		m = (int64_t) rng_below(1000000) - 500000;
		int64_t		dm = 0;
		size_t		len = 0;
		char		what[64];

		ts[0] = (int64_t) rng() >> (rng_below(4) * 8 + 1);
		for (int i = 0; i < n; i++)
		{
			if (i > 0)
				ts[i] = ts[i - 1] + random_timestamp_step((int) rng_below(4));
			if (kind == 0)
				m += (int64_t) rng_below(100);
			else if (kind == 1)
				m += (int64_t) rng_below(2001) - 1000;
			else if (kind == 2)
				m += (dm += (int64_t) rng_below(3) - 1);
			else
				m = (int64_t) (rng() >> (rng_below(40) + 12)) - (1LL << 40);
			vs[i] = rng_unit() < odd_rate ? odd_value() : (double) m / pow10s[d];
		}
		if (dec_encode(ts, vs, n, buf, sizeof(buf), &len) != DEC_OK)
		{
			CHECK(0, "reference round %d: encode failed", r);
			continue;
		}
		snprintf(what, sizeof(what), "reference round %d (kind %d, n %d)", r, kind, n);
		compare_decoders(what, buf, len, MAXN);
		compare_decoders(what, buf, (size_t) rng_below(len + 1), MAXN);
		switch (rng_below(4))
		{
			case 0:				/* flip bits */
				for (int j = 0, f = 1 + (int) rng_below(4); j < f; j++)
					buf[3 + rng_below(len - 3 > 0 ? len - 3 : 1)] ^= (uint8_t) (1 << rng_below(8));
				break;
			case 1:				/* overwrite a run of bytes */
				for (size_t j = rng_below(len), e = j + rng_below(20); j < e && j < len; j++)
					buf[j] = (uint8_t) rng();
				break;
			case 2:				/* announce more samples than there are */
				buf[0] = (uint8_t) ((n + 1 + rng_below(50)) >> 8);
				buf[1] = (uint8_t) (n + 1 + rng_below(50));
				break;
			default:			/* all ones, the longest fields */
				for (size_t j = 3 + rng_below(len), e = j + rng_below(40); j < e && j < len; j++)
					buf[j] = 0xff;
				break;
		}
		compare_decoders(what, buf, len, MAXN);
		compare_decoders(what, buf, (size_t) rng_below(len + 1), MAXN);
	}

	/* random bytes behind a valid header */
	for (int r = 0; r < rounds; r++)
	{
		size_t		len = 3 + (size_t) rng_below(200);

		for (size_t j = 0; j < len; j++)
			buf[j] = (uint8_t) rng();
		buf[0] = 0;
		buf[1] = (uint8_t) rng_below(120);
		buf[2] &= 0x6f;
		compare_decoders("random stream", buf, len, MAXN);
	}
}

/*
 * Group widths at the edges: a timestamp residual of 63 significant bits
 * (code 63, stored in 64), full 64-bit residuals, value residuals just
 * past the fast path's 56 bits, and a group size chosen per chunk.
 */
static void
test_group_widths(void)
{
	static int64_t ts[64];
	static double vs[64];
	static uint8_t buf[DEC_MAX_BYTES(240)];
	size_t		len = 0;

	/* steps alternating 0 and 2^61: deltas of deltas of +-2^61 */
	for (int i = 0; i < 40; i++)
	{
		ts[i] = (int64_t) ((i / 2) * (UINT64_C(1) << 61));
		vs[i] = i;
	}
	round_trip("63-bit timestamp residuals", ts, vs, 40);

	/* full-range jumps: 64-bit residuals */
	for (int i = 0; i < 40; i++)
	{
		ts[i] = i % 2 ? INT64_MAX - i : INT64_MIN + i;
		vs[i] = i % 3 ? 1.5 : bitsd(0x7ff0000000000002ULL);
	}
	round_trip("64-bit timestamp residuals", ts, vs, 40);

	/* mantissas alternating near +-2^53: value residuals of 55-58 bits */
	for (int i = 0; i < 64; i++)
	{
		ts[i] = 15000LL * i;
		vs[i] = (double) ((i % 2 ? 1 : -1) * (9007199254740991LL - (i % 5) * 1000003LL));
		if (i % 7 == 3)
			vs[i] = (double) ((i % 3 - 1) * 4503599627370496LL);
	}
	for (int n = 1; n <= 64; n += 9)
		round_trip("wide value residuals", ts, vs, n);

	/*
	 * A missed scrape every 50 samples: a residual of 15 s widens only a
	 * group of 8 (header bit 6); regular scrapes keep groups of 16.
	 */
	{
		static int64_t t2[240];
		static double v2[240];

		for (int i = 0; i < 240; i++)
		{
			t2[i] = 1764072000000LL + 15000LL * i + (i % 50 >= 49 ? 15000 : 0);
			v2[i] = floor((1000 + 0.37 * 15 * i) * 100) / 100;
		}
		CHECK(dec_encode(t2, v2, 240, buf, sizeof(buf), &len) == DEC_OK, "gaps: encode");
		CHECK((buf[2] & 0x40) != 0, "gaps: groups of 8 not chosen");
		round_trip("missed scrapes", t2, v2, 240);
		for (int i = 0; i < 240; i++)
			t2[i] = 1764072000000LL + 15000LL * i;
		CHECK(dec_encode(t2, v2, 240, buf, sizeof(buf), &len) == DEC_OK, "regular: encode");
		CHECK((buf[2] & 0x40) == 0, "regular: groups of 8 chosen");
	}
}

/*
 * DEC_MAX_BYTES is a true bound: the worst data (random full-range
 * timestamps with random bits, all exceptions, or wide decimals) fits a buffer
 * of exactly that size, for every n up to 300 and the largest n.
 */
static void
test_bound(void)
{
	static int64_t ts[MAXN];
	static double vs[MAXN];
	static uint8_t buf[DEC_MAX_BYTES(MAXN)];

	for (int n = 1; n <= MAXN; n = n < 300 ? n + 1 : MAXN + (n == MAXN))
	{
		size_t		len = 0;
		int			rc;

		for (int i = 0; i < n; i++)
		{
			ts[i] = (int64_t) rng();
			vs[i] = n % 4 ? bitsd(rng()) :
				(double) ((int64_t) (rng() >> 11) - (1LL << 52));
		}
		rc = dec_encode(ts, vs, n, buf, DEC_MAX_BYTES(n), &len);
		CHECK(rc == DEC_OK, "worst case of %d samples does not fit DEC_MAX_BYTES", n);
	}
}

/*
 * Every proper prefix of a chunk fails (its last byte always holds a bit
 * of the last group), for chunks of every style and both group sizes.
 */
static void
test_truncations(int rounds)
{
	static int64_t ts[MAXN];
	static double vs[MAXN];
	static int64_t ot[MAXN];
	static double ov[MAXN];
	static uint8_t buf[DEC_MAX_BYTES(MAXN)];
	int			small = 0;

	for (int r = 0; r < rounds; r++)
	{
		int			n = 1 + (int) rng_below(300);
		int			tstyle = (int) rng_below(4);
		double		odd_rate = rng_below(2) ? 0 : rng_unit() * 0.2;
		int64_t		m = 0;
		size_t		len = 0;
		int			bad = 0;

		ts[0] = 1764072000000LL;
		for (int i = 0; i < n; i++)
		{
			if (i > 0)
				ts[i] = ts[i - 1] + random_timestamp_step(tstyle) +
					(rng_below(40) == 0 ? 15000 : 0);
			m += rng_below(10) == 0 ? (int64_t) rng_below(100000) : (int64_t) rng_below(4);
			vs[i] = rng_unit() < odd_rate ? odd_value() : (double) m / 100;
		}
		if (dec_encode(ts, vs, n, buf, sizeof(buf), &len) != DEC_OK)
		{
			CHECK(0, "truncation round %d: encode failed", r);
			continue;
		}
		small += (buf[2] & 0x40) != 0;
		for (size_t cut = 0; cut < len; cut++)
			if (dec_decode_all(buf, cut, ot, ov, MAXN) != -1)
				bad++;
		CHECK(bad == 0, "truncation round %d: %d prefixes of %zu bytes decoded", r, bad, len);
	}
	CHECK(small > 0 && small < rounds, "truncations: %d of %d chunks with groups of 8",
		  small, rounds);
}

/* ------------------------------------------------ benchmark */

#define BENCH_N 240
#define BENCH_CHUNKS 512

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double) t.tv_sec + (double) t.tv_nsec / 1e9;
}

static void
bench_fill(int kind, int c, int64_t *ts, double *vs)
{
	double		v = 0;

	for (int i = 0; i < BENCH_N; i++)
	{
		ts[i] = 1764072000000LL + 15000LL * (c * BENCH_N + i) + (int64_t) rng_below(5);
		if (kind == 0)			/* counter of integers */
			v += (double) rng_below(100);
		else if (kind == 1)		/* cpu seconds in 1/100 */
			v = floor((1000 + 0.37 * 15 * (c * BENCH_N + i)) * 100) / 100;
		else if (kind == 2)		/* random walk of full doubles */
			v += rng_unit() - 0.5;
		else					/* 2-decimal gauge */
			v = round((50 + (rng_unit() - 0.5) * 20) * 100) / 100;
		vs[i] = v;
	}
}

static size_t
xor_size(const int64_t *ts, const double *vs, int n)
{
	uint8_t		buf[2 + 120 * XOR_MAX_SAMPLE_BYTES + 16];
	size_t		total = 0;

	for (int i = 0; i < n; i += 120)
	{
		XorAppender app;

		xor_appender_init(&app, buf, sizeof(buf));
		for (int j = i; j < n && j < i + 120; j++)
			xor_append(&app, ts[j], vs[j]);
		total += xor_appender_bytes(&app);
	}
	return total;
}

static int
run_bench(double seconds)
{
	static const char *const kinds[] = {"counter", "cpu_seconds", "random_walk", "gauge_2dec"};
	int64_t    *ts = malloc(sizeof(int64_t) * BENCH_N * BENCH_CHUNKS);
	double	   *vs = malloc(sizeof(double) * BENCH_N * BENCH_CHUNKS);
	size_t		stride = DEC_MAX_BYTES(BENCH_N);
	uint8_t    *chunks = malloc(stride * BENCH_CHUNKS);
	size_t	   *lens = malloc(sizeof(size_t) * BENCH_CHUNKS);
	int64_t		ot[BENCH_N];
	double		ov[BENCH_N];

	printf("%-12s %12s %14s %10s %10s\n", "data", "encode/s", "decode_all/s",
		   "bytes/smp", "xor b/smp");
	for (int k = 0; k < 4; k++)
	{
		double		t0,
					el,
					enc,
					dec;
		long		samples = 0;
		size_t		total = 0,
					xtotal = 0;
		volatile double sink = 0;

		for (int c = 0; c < BENCH_CHUNKS; c++)
		{
			bench_fill(k, c, ts + c * BENCH_N, vs + c * BENCH_N);
			xtotal += xor_size(ts + c * BENCH_N, vs + c * BENCH_N, BENCH_N);
		}
		t0 = now();
		do
		{
			for (int c = 0; c < BENCH_CHUNKS; c++)
				dec_encode(ts + c * BENCH_N, vs + c * BENCH_N, BENCH_N,
						   chunks + c * stride, stride, &lens[c]);
			samples += (long) BENCH_N * BENCH_CHUNKS;
		} while ((el = now() - t0) < seconds);
		enc = samples / el;
		for (int c = 0; c < BENCH_CHUNKS; c++)
			total += lens[c];

		samples = 0;
		t0 = now();
		do
		{
			for (int c = 0; c < BENCH_CHUNKS; c++)
			{
				dec_decode_all(chunks + c * stride, lens[c], ot, ov, BENCH_N);
				sink += ov[BENCH_N - 1];
			}
			samples += (long) BENCH_N * BENCH_CHUNKS;
		} while ((el = now() - t0) < seconds);
		dec = samples / el;
		(void) sink;
		printf("%-12s %10.1fM %12.1fM %10.2f %10.2f\n", kinds[k], enc / 1e6, dec / 1e6,
			   (double) total / ((double) BENCH_N * BENCH_CHUNKS),
			   (double) xtotal / ((double) BENCH_N * BENCH_CHUNKS));
	}
	free(ts);
	free(vs);
	free(chunks);
	free(lens);
	return 0;
}

int
main(int argc, char **argv)
{
	rng_state = 0x2545f4914f6cdd1dULL;
	if (argc > 1 && strcmp(argv[1], "--bench") == 0)
		return run_bench(argc > 2 ? atof(argv[2]) : 1.0);

	test_special_values();
	test_extreme_timestamps();
	test_sizes();
	test_errors();
	test_group_widths();
	test_bound();
	test_truncations(300);
	test_random_round_trips(6000);
	test_against_reference(3000);
	return unit_finish();
}
