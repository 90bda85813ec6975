/*
 * test_xorchunk.c: unit tests and benchmark of the XOR chunk codec.
 *
 * The codec must match Prometheus 2.42 byte for byte, so the tests check it
 * three ways: against chunks a real Prometheus wrote (xorchunk_golden.h,
 * made by test/tools/golden_chunks.py), against a literal re-statement of
 * Prometheus's bit writer (ref_* below: a byte array with its "free bits in
 * the last byte" counter, appending one byte at a time) on thousands of
 * random chunks, and by round trips. Then the error paths: truncation,
 * corruption, a full buffer, the 16-bit count, timestamps going backwards.
 *
 * `test_xorchunk --bench [seconds]` measures encode and decode speed instead.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/codec.h"
#include "unit.h"
#include "rng.h"
#include "xorchunk_golden.h"

#define MAXN 600				/* samples per random chunk at most */
#define BUFCAP (MAXN * XOR_MAX_SAMPLE_BYTES + 64)

/* ------------------------------------------------ reference bit writer */

/*
 * A deliberately naive restatement of Prometheus's bstream and xorAppender:
 * one bit or one byte at a time, "count" free bits in the last byte, and a
 * writeByte that always appends the following byte. Slow and obvious, so it
 * can judge the fast encoder on inputs a real Prometheus never saw.
 */
typedef struct RefChunk
{
	uint8_t		b[BUFCAP];
	size_t		len;
	int			count;			/* free bits in b[len-1] */
	int64_t		t;
	uint64_t	tdelta;
	uint64_t	v;
	int			leading,
				trailing;
	int			num;
} RefChunk;

static void
ref_init(RefChunk *c)
{
	memset(c, 0, sizeof(*c));
	c->len = 2;
	c->leading = 0xff;
}

static void
ref_bit(RefChunk *c, int bit)
{
	if (c->count == 0)
	{
		c->b[c->len++] = 0;
		c->count = 8;
	}
	if (bit)
		c->b[c->len - 1] |= (uint8_t) (1 << (c->count - 1));
	c->count--;
}

static void
ref_byte(RefChunk *c, uint8_t byt)
{
	if (c->count == 0)
	{
		c->b[c->len++] = 0;
		c->count = 8;
	}
	c->b[c->len - 1] |= (uint8_t) (byt >> (8 - c->count));
	c->b[c->len++] = (uint8_t) (c->count == 8 ? 0 : byt << c->count);
}

static void
ref_bits(RefChunk *c, uint64_t u, int nbits)
{
	u <<= 64 - nbits;
	while (nbits >= 8)
	{
		ref_byte(c, (uint8_t) (u >> 56));
		u <<= 8;
		nbits -= 8;
	}
	while (nbits > 0)
	{
		ref_bit(c, (int) (u >> 63));
		u <<= 1;
		nbits--;
	}
}

static void
ref_uvarint(RefChunk *c, uint64_t x)
{
	while (x >= 0x80)
	{
		ref_byte(c, (uint8_t) (x | 0x80));
		x >>= 7;
	}
	ref_byte(c, (uint8_t) x);
}

static int
ref_in_range(int64_t x, int n)
{
	return -(((int64_t) 1 << (n - 1)) - 1) <= x && x <= ((int64_t) 1 << (n - 1));
}

static void
ref_append(RefChunk *c, int64_t t, double v)
{
	uint64_t	vb = dbits(v);
	uint64_t	tdelta = 0;

	if (c->num == 0)
	{
		uint64_t	zz = ((uint64_t) t << 1) ^ (t < 0 ? ~(uint64_t) 0 : 0);

		ref_uvarint(c, zz);
		ref_bits(c, vb, 64);
	}
	else
	{
		uint64_t	delta;
		int			lead,
					trail;

		tdelta = (uint64_t) t - (uint64_t) c->t;
		if (c->num == 1)
			ref_uvarint(c, tdelta);
		else
		{
			int64_t		dod = (int64_t) (tdelta - c->tdelta);

			if (dod == 0)
				ref_bit(c, 0);
			else if (ref_in_range(dod, 14))
			{
				ref_bits(c, 2, 2);
				ref_bits(c, (uint64_t) dod, 14);
			}
			else if (ref_in_range(dod, 17))
			{
				ref_bits(c, 6, 3);
				ref_bits(c, (uint64_t) dod, 17);
			}
			else if (ref_in_range(dod, 20))
			{
				ref_bits(c, 14, 4);
				ref_bits(c, (uint64_t) dod, 20);
			}
			else
			{
				ref_bits(c, 15, 4);
				ref_bits(c, (uint64_t) dod, 64);
			}
		}
		delta = vb ^ c->v;
		if (delta == 0)
			ref_bit(c, 0);
		else
		{
			ref_bit(c, 1);
			lead = delta ? __builtin_clzll(delta) : 64;
			trail = delta ? __builtin_ctzll(delta) : 64;
			if (lead >= 32)
				lead = 31;
			if (c->leading != 0xff && lead >= c->leading && trail >= c->trailing)
			{
				ref_bit(c, 0);
				ref_bits(c, delta >> c->trailing, 64 - c->leading - c->trailing);
			}
			else
			{
				c->leading = lead;
				c->trailing = trail;
				ref_bit(c, 1);
				ref_bits(c, (uint64_t) lead, 5);
				ref_bits(c, (uint64_t) (64 - lead - trail), 6);
				ref_bits(c, delta >> trail, 64 - lead - trail);
			}
		}
	}
	c->t = t;
	c->v = vb;
	c->tdelta = tdelta;
	c->num++;
	c->b[0] = (uint8_t) (c->num >> 8);
	c->b[1] = (uint8_t) c->num;
}

/* ------------------------------------------------ sample generators */

static const uint64_t special_bits[] = {
	0x7ff0000000000002ULL,		/* stale marker */
	0x7ff8000000000001ULL,		/* Go's NaN */
	0x7ff8000000000000ULL,		/* C's NaN */
	0xfff8000000000000ULL,		/* negative NaN */
	0x7ff0000000000000ULL,		/* +Inf */
	0xfff0000000000000ULL,		/* -Inf */
	0x8000000000000000ULL,		/* -0.0 */
	0x0000000000000000ULL,		/* 0.0 */
	0x0000000000000001ULL,		/* smallest denormal */
	0x7fefffffffffffffULL,		/* DBL_MAX */
	0x3ff0000000000000ULL,		/* 1.0 */
	0xffffffffffffffffULL,		/* all ones (a NaN) */
};

#define NPATTERNS 9
static const char *const pattern_names[NPATTERNS] = {
	"counter", "constant", "random_walk", "gauge_2dec", "specials",
	"irregular_ts", "extreme_ts", "random_bits", "equal_ts"
};

/* Fill ts/vs with n samples of a pattern; timestamps never decrease. */
static void
gen_series(int pattern, int n, int64_t *ts, double *vs)
{
	int64_t		t = (int64_t) rng_below(4000000000000ULL) - 1000000000000LL;
	double		v = 0;
	int			i;

	switch (pattern)
	{
		case 0:					/* counter, 15 s scrapes with jitter */
			for (i = 0; i < n; i++)
			{
				ts[i] = t;
				vs[i] = v;
				t += 15000 + (int64_t) rng_below(7) - 3;
				v += (double) rng_below(rng_below(4) == 0 ? 1000 : 5);
			}
			break;
		case 1:					/* constant */
			v = (double) rng_below(100) / 4.0;
			for (i = 0; i < n; i++)
			{
				ts[i] = t + 10000 * (int64_t) i;
				vs[i] = v;
			}
			break;
		case 2:					/* random walk */
			for (i = 0; i < n; i++)
			{
				ts[i] = t + 5000 * (int64_t) i;
				v += rng_unit() - 0.5;
				vs[i] = v;
			}
			break;
		case 3:					/* gauge with two decimals */
			v = 50;
			for (i = 0; i < n; i++)
			{
				ts[i] = t + 30000 * (int64_t) i;
				v = round((v + rng_unit() * 4 - 2) * 100) / 100;
				vs[i] = v;
			}
			break;
		case 4:					/* special values mixed with plain ones */
			for (i = 0; i < n; i++)
			{
				ts[i] = t + 1000 * (int64_t) i;
				if (rng_below(3) == 0)
					vs[i] = (double) rng_below(10);
				else
					vs[i] = bitsd(special_bits[rng_below(sizeof(special_bits) / 8)]);
			}
			break;
		case 5:					/* irregular: deltas of every magnitude */
			for (i = 0; i < n; i++)
			{
				ts[i] = t;
				vs[i] = (double) i;
				t += (int64_t) (rng() >> (64 - 1 - rng_below(40)));
			}
			break;
		case 6:					/* near the int64 limits, huge jumps */
			t = rng_below(2) ? INT64_MIN + (int64_t) rng_below(1000) : -(int64_t) rng_below(1000);
			for (i = 0; i < n; i++)
			{
				ts[i] = t;
				vs[i] = bitsd(rng());
				if (rng_below(8) == 0)
				{
					int64_t		jump = INT64_MAX - (int64_t) rng_below(3) * (n - i);

					t = jump > t ? jump : t;
				}
				else if (t < INT64_MAX - 4000)
					t += (int64_t) rng_below(4000);
			}
			break;
		case 7:					/* random bits, random deltas */
			for (i = 0; i < n; i++)
			{
				ts[i] = t;
				vs[i] = bitsd(rng() >> rng_below(64));
				t += (int64_t) rng_below(1ULL << rng_below(33));
			}
			break;
		default:				/* runs of equal timestamps and values */
			for (i = 0; i < n; i++)
			{
				ts[i] = t;
				vs[i] = v;
				if (rng_below(3) == 0)
					t += (int64_t) rng_below(3);
				if (rng_below(4) == 0)
					v += 1;
			}
			break;
	}
}

/* ------------------------------------------------ helpers */

static bool
same_samples(const int64_t *ta, const double *va, const int64_t *tb,
			 const double *vb, int n)
{
	int			i;

	for (i = 0; i < n; i++)
		if (ta[i] != tb[i] || dbits(va[i]) != dbits(vb[i]))
			return false;
	return true;
}

/* Encode in one go; returns the byte length or 0 on an error. */
static size_t
encode(uint8_t *buf, size_t cap, const int64_t *ts, const double *vs, int n)
{
	XorAppender app;
	int			i;

	if (xor_appender_init(&app, buf, cap) != XOR_OK)
		return 0;
	for (i = 0; i < n; i++)
		if (xor_append(&app, ts[i], vs[i]) != XOR_OK)
			return 0;
	return xor_appender_bytes(&app);
}

/* ------------------------------------------------ tests */

static void
test_golden(void)
{
	static uint8_t buf[BUFCAP];
	static int64_t ts[MAXN];
	static double vs[MAXN];
	int			g;

	CHECK(XOR_GOLDEN_COUNT >= 10, "only %d golden chunks", XOR_GOLDEN_COUNT);
	for (g = 0; g < XOR_GOLDEN_COUNT; g++)
	{
		const XorGolden *gd = &xor_golden[g];
		double		in[MAXN];
		size_t		len;
		int			n,
					i;
		XorIterator it;
		int64_t		t;
		double		v;
		XorAppender app;

		for (i = 0; i < gd->nsamples; i++)
			in[i] = bitsd(gd->vbits[i]);

		/* our encoder makes Prometheus's bytes */
		memset(buf, 0xa5, sizeof(buf));
		len = encode(buf, sizeof(buf), gd->ts, in, gd->nsamples);
		CHECK(len == gd->len && memcmp(buf, gd->chunk, len) == 0,
			  "golden %s: encoded %zu bytes, Prometheus %zu, or bytes differ",
			  gd->name, len, gd->len);

		/* exact capacity is enough, one byte less is not */
		CHECK(encode(buf, gd->len, gd->ts, in, gd->nsamples) == gd->len,
			  "golden %s: does not fit its own size", gd->name);
		CHECK(encode(buf, gd->len - 1, gd->ts, in, gd->nsamples) == 0,
			  "golden %s: fits in one byte less", gd->name);

		/* our decoder returns Prometheus's samples */
		n = xor_decode_all(gd->chunk, gd->len, ts, vs, MAXN);
		CHECK(n == gd->nsamples && same_samples(ts, vs, gd->ts, in, n),
			  "golden %s: decode_all gave %d samples (want %d) or other values",
			  gd->name, n, gd->nsamples);
		CHECK(xor_chunk_count(gd->chunk, gd->len) == gd->nsamples,
			  "golden %s: count", gd->name);

		xor_iter_init(&it, gd->chunk, gd->len);
		i = 0;
		while (xor_iter_next(&it, &t, &v))
		{
			if (i < gd->nsamples && (t != gd->ts[i] || dbits(v) != gd->vbits[i]))
				break;
			i++;
		}
		CHECK(i == gd->nsamples && it.err == XOR_OK,
			  "golden %s: iterator stopped at %d, err %d", gd->name, i, it.err);

		/* reopening Prometheus's chunk accepts it as complete */
		memcpy(buf, gd->chunk, gd->len);
		CHECK(xor_appender_reopen(&app, buf, sizeof(buf), gd->len) == XOR_OK &&
			  xor_appender_bytes(&app) == gd->len,
			  "golden %s: reopen", gd->name);
	}
}

/* A few chunks worked out by hand from the format description. */
static void
test_hand_vectors(void)
{
	uint8_t		buf[64];
	XorAppender app;
	static const uint8_t one[] = {
		0x00, 0x01,				/* one sample */
		0x02,					/* varint zig-zag(1) */
		0x3f, 0xf0, 0, 0, 0, 0, 0, 0,	/* 1.0 */
		0x00					/* the pad byte */
	};
	static const uint8_t two[] = {
		0x00, 0x02,
		0x01,					/* varint zig-zag(-1) */
		0x3f, 0xf0, 0, 0, 0, 0, 0, 0,
		0x0b,					/* uvarint delta 11 */
		0x00					/* '0': same value, 7 zero bits */
	};
	/* three samples: dod 0 ('0'), then value 1.0 -> 3.0: xor 0x7ff8 << 48 */
	static const uint8_t three[] = {
		0x00, 0x03,
		0x00,					/* t = 0 */
		0x3f, 0xf0, 0, 0, 0, 0, 0, 0,
		0x0a,					/* delta 10 */
		/*
		 * sample 2 value 1.0: '0'; sample 3: dod '0', value '11', leading
		 * zeros 1 (00001), 12 significant bits (001100), then 0xfff:
		 * 0 0 11 00001 001100 111111111111 + 5 zero bits
		 */
		0x30, 0x99, 0xff, 0xe0
	};

	xor_appender_init(&app, buf, sizeof(buf));
	xor_append(&app, 1, 1.0);
	CHECK(xor_appender_bytes(&app) == sizeof(one) && memcmp(buf, one, sizeof(one)) == 0,
		  "hand vector one");

	xor_appender_init(&app, buf, sizeof(buf));
	xor_append(&app, -1, 1.0);
	xor_append(&app, 10, 1.0);
	CHECK(xor_appender_bytes(&app) == sizeof(two) && memcmp(buf, two, sizeof(two)) == 0,
		  "hand vector two");

	xor_appender_init(&app, buf, sizeof(buf));
	xor_append(&app, 0, 1.0);
	xor_append(&app, 10, 1.0);
	xor_append(&app, 20, 3.0);
	CHECK(xor_appender_bytes(&app) == sizeof(three) &&
		  memcmp(buf, three, sizeof(three)) == 0,
		  "hand vector three: %zu bytes %02x %02x", xor_appender_bytes(&app),
		  buf[12], buf[13]);

	/* an empty chunk */
	xor_appender_init(&app, buf, sizeof(buf));
	CHECK(xor_appender_bytes(&app) == 2 && buf[0] == 0 && buf[1] == 0, "empty chunk");
	CHECK(xor_decode_all(buf, 2, NULL, NULL, 0) == 0, "empty chunk decodes");
}

/*
 * Random chunks of every pattern: the encoder must equal the reference
 * writer, reopening every 10 samples (and at random points) must not change
 * the bytes, and decoding must give back every sample bit for bit.
 */
static void
test_random_round_trips(int nchunks)
{
	static uint8_t buf[BUFCAP],
				buf2[BUFCAP];
	static RefChunk ref;
	static int64_t ts[MAXN],
				dts[MAXN];
	static double vs[MAXN],
				dvs[MAXN];
	int			c;
	int			bad_ref = 0,
				bad_reopen = 0,
				bad_decode = 0,
				bad_iter = 0,
				bad_tail = 0;

	for (c = 0; c < nchunks; c++)
	{
		int			pattern = c % NPATTERNS;
		int			n = 1 + (int) rng_below(rng_below(4) == 0 ? MAXN : 130);
		size_t		len,
					len2 = 0;
		XorAppender app;
		int			i,
					rc = XOR_OK,
					got;
		XorIterator it;
		int64_t		t;
		double		v;

		gen_series(pattern, n, ts, vs);

		/* one go, into a buffer full of garbage */
		memset(buf, 0xa5, sizeof(buf));
		len = encode(buf, sizeof(buf), ts, vs, n);
		for (i = (int) len; i < (int) sizeof(buf); i++)
			if (buf[i] != 0xa5)
			{
				bad_tail++;
				break;
			}

		ref_init(&ref);
		for (i = 0; i < n; i++)
			ref_append(&ref, ts[i], vs[i]);
		if (len != ref.len || memcmp(buf, ref.b, len) != 0)
		{
			if (bad_ref++ == 0)
				printf("# reference mismatch: pattern %s n %d len %zu ref %zu\n",
					   pattern_names[pattern], n, len, ref.len);
		}

		/* reopen every 10 samples (and at random points), other garbage */
		memset(buf2, 0x5a, sizeof(buf2));
		xor_appender_init(&app, buf2, sizeof(buf2));
		for (i = 0; i < n && rc == XOR_OK; i++)
		{
			if (i % 10 == 0 || rng_below(7) == 0)
				rc = xor_appender_reopen(&app, buf2, sizeof(buf2),
										 xor_appender_bytes(&app));
			if (rc == XOR_OK)
				rc = xor_append(&app, ts[i], vs[i]);
		}
		if (rc == XOR_OK)
			len2 = xor_appender_bytes(&app);
		if (rc != XOR_OK || len2 != len || memcmp(buf, buf2, len) != 0)
		{
			if (bad_reopen++ == 0)
				printf("# reopen mismatch: pattern %s n %d rc %d len %zu/%zu\n",
					   pattern_names[pattern], n, rc, len, len2);
		}

		got = xor_decode_all(buf, len, dts, dvs, MAXN);
		if (got != n || !same_samples(ts, vs, dts, dvs, n))
		{
			if (bad_decode++ == 0)
				printf("# decode mismatch: pattern %s n %d got %d\n",
					   pattern_names[pattern], n, got);
		}

		xor_iter_init(&it, buf, len);
		i = 0;
		while (xor_iter_next(&it, &t, &v))
		{
			if (t != ts[i] || dbits(v) != dbits(vs[i]))
				break;
			i++;
		}
		if (i != n || it.err != XOR_OK || xor_iter_next(&it, &t, &v))
			bad_iter++;
	}
	CHECK(bad_ref == 0, "%d of %d chunks differ from the reference writer", bad_ref, nchunks);
	CHECK(bad_reopen == 0, "%d of %d chunks change when reopened", bad_reopen, nchunks);
	CHECK(bad_decode == 0, "%d of %d chunks do not round-trip", bad_decode, nchunks);
	CHECK(bad_iter == 0, "%d of %d chunks fail through the iterator", bad_iter, nchunks);
	CHECK(bad_tail == 0, "%d of %d encodings wrote past their length", bad_tail, nchunks);
}

/* Every dod bucket edge, which also exercises the asymmetric ranges. */
static void
test_dod_buckets(void)
{
	static const struct
	{
		int64_t		dod;
		int			bits;		/* prefix + payload */
	}			cases[] = {
		{0, 1}, {1, 16}, {-1, 16}, {8192, 16}, {-8191, 16}, {-8192, 20},
		{8193, 20}, {65536, 20}, {-65535, 20}, {-65536, 24}, {65537, 24},
		{524288, 24}, {-524287, 24}, {-524288, 68}, {524289, 68},
		{INT64_C(1) << 40, 68}, {-5000000, 68},
	};
	size_t		k;

	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
	{
		uint8_t		buf[128];
		XorAppender app;
		int64_t		ts[4],
					out_t[4];
		double		vs[4] = {1, 1, 1, 1},
					out_v[4];
		size_t		before;
		int			n;

		ts[0] = 1000000;
		ts[1] = ts[0] + 10000000;
		ts[2] = ts[1] + 10000000 + cases[k].dod;
		ts[3] = ts[2] + 10000000 + cases[k].dod;
		xor_appender_init(&app, buf, sizeof(buf));
		xor_append(&app, ts[0], vs[0]);
		xor_append(&app, ts[1], vs[1]);
		before = app.nbits;
		xor_append(&app, ts[2], vs[2]);
		CHECK(app.nbits - before == (size_t) cases[k].bits + 1,
			  "dod %lld took %zu bits, want %d", (long long) cases[k].dod,
			  app.nbits - before - 1, cases[k].bits);
		xor_append(&app, ts[3], vs[3]);
		n = xor_decode_all(buf, xor_appender_bytes(&app), out_t, out_v, 4);
		CHECK(n == 4 && same_samples(ts, vs, out_t, out_v, 4),
			  "dod %lld does not round-trip", (long long) cases[k].dod);
	}
}

/* Extreme timestamps: both int64 ends in one chunk, and equal timestamps. */
static void
test_extreme_timestamps(void)
{
	uint8_t		buf[256];
	int64_t		ts[6] = {INT64_MIN, INT64_MIN, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX};
	double		vs[6] = {1, 2, 3, 4, 5, 6};
	int64_t		ot[6];
	double		ov[6];
	size_t		len = encode(buf, sizeof(buf), ts, vs, 6);
	XorAppender app;

	CHECK(len > 0 && xor_decode_all(buf, len, ot, ov, 6) == 6 &&
		  same_samples(ts, vs, ot, ov, 6), "INT64_MIN..INT64_MAX round trip");

	/* going backwards is refused and leaves the chunk alone */
	xor_appender_init(&app, buf, sizeof(buf));
	xor_append(&app, 100, 1);
	xor_append(&app, 200, 1);
	len = xor_appender_bytes(&app);
	CHECK(xor_append(&app, 199, 1) == XOR_EORDER && xor_appender_bytes(&app) == len &&
		  xor_chunk_count(buf, len) == 2, "decreasing timestamp");
	CHECK(xor_append(&app, 200, 1) == XOR_OK, "equal timestamp");
}

/*
 * Truncation and corruption: a chunk cut anywhere before its last bit is
 * refused; cutting only the pad byte is fine (Prometheus never reads it);
 * random damage never crashes (the fuzz target checks that under ASan).
 */
static void
test_truncated_and_corrupt(void)
{
	static uint8_t buf[BUFCAP],
				bad[BUFCAP];
	static int64_t ts[MAXN],
				ot[MAXN];
	static double vs[MAXN],
				ov[MAXN];
	int			c;
	int			wrong_trunc = 0,
				tried = 0;

	for (c = 0; c < 300; c++)
	{
		int			n = 1 + (int) rng_below(150);
		size_t		len,
					minlen,
					cut;
		XorAppender app;
		int			k;

		gen_series(c % NPATTERNS, n, ts, vs);
		len = encode(buf, sizeof(buf), ts, vs, n);
		xor_appender_init(&app, buf, 0);	/* just to read nbits below */
		xor_appender_reopen(&app, buf, len, len);
		minlen = 2 + (app.nbits + 7) / 8;
		for (cut = 0; cut < len; cut++)
		{
			int			got = xor_decode_all(buf, cut, ot, ov, MAXN);
			int			want = cut >= minlen ? n : -1;

			tried++;
			if (got != want)
			{
				if (wrong_trunc++ == 0)
					printf("# truncation: n %d len %zu cut %zu got %d\n", n, len, cut, got);
			}
		}
		/* random bit flips and byte damage: must terminate sanely */
		for (k = 0; k < 20; k++)
		{
			int			got;
			XorIterator it;
			int64_t		t;
			double		v;
			int			steps = 0;

			memcpy(bad, buf, len);
			bad[rng_below(len)] ^= (uint8_t) (1 << rng_below(8));
			if (k & 1)
				bad[rng_below(len)] = (uint8_t) rng();
			got = xor_decode_all(bad, len, ot, ov, MAXN);
			xor_iter_init(&it, bad, len);
			while (xor_iter_next(&it, &t, &v))
				steps++;
			CHECK(got >= -1 && steps <= 65535 &&
				  (got == -1 ? it.err == XOR_ECORRUPT || it.total > MAXN : steps == got),
				  "corrupt chunk: decode_all %d, iterator %d err %d", got, steps, it.err);
		}
	}
	CHECK(wrong_trunc == 0, "%d of %d truncations judged wrongly", wrong_trunc, tried);

	/* specific corruptions */
	{
		uint8_t		v10[16] = {0x00, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0x7f};					/* 10-byte varint with a last byte > 1 */
		uint8_t		w[32];
		XorIterator it;
		int64_t		t;
		double		v;
		size_t		len;
		XorAppender app;

		CHECK(xor_decode_all(v10, sizeof(v10), ot, ov, 4) == -1, "varint overflow");
		CHECK(xor_decode_all(v10, 1, ot, ov, 4) == -1, "one-byte chunk");
		xor_iter_init(&it, v10, 1);
		CHECK(!xor_iter_next(&it, &t, &v) && it.err == XOR_ECORRUPT, "one-byte iterator");

		/* '11' + leading 31 + 40 significant bits: 71 > 64 */
		xor_appender_init(&app, w, sizeof(w));
		xor_append(&app, 0, 1.0);
		len = xor_appender_bytes(&app);	/* 12 bytes incl. pad */
		w[1] = 2;
		w[len - 1] = 0x0a;		/* delta 10, then the value field: */
		w[len] = 0xff;			/* 11 11111 0 */
		w[len + 1] = 0xa0;		/* 1010 0000: sig 40 */
		memset(w + len + 2, 0, 8);
		CHECK(xor_decode_all(w, len + 10, ot, ov, 4) == -1, "window wider than 64 bits");
		w[len] = 0xc0;			/* 11 00000 0 */
		w[len + 1] = 0x00;		/* sig 000000: 64 bits */
		CHECK(xor_decode_all(w, len + 10, ot, ov, 4) == 2, "64-bit window accepted");
		CHECK(xor_decode_all(w, len + 10, ot, ov, 1) == -1, "more samples than max");
	}
}

/* A full buffer returns XOR_EFULL and leaves the chunk exactly as it was. */
static void
test_efull(void)
{
	static uint8_t buf[BUFCAP],
				full[BUFCAP],
				copy[BUFCAP];
	static int64_t ts[MAXN];
	static double vs[MAXN];
	int			c;
	int			bad = 0,
				fulls = 0;

	for (c = 0; c < 500; c++)
	{
		int			n = 2 + (int) rng_below(200);
		size_t		cap,
					whole;
		XorAppender app;
		int			i,
					rc = XOR_OK;

		gen_series(c % NPATTERNS, n, ts, vs);
		whole = encode(full, sizeof(full), ts, vs, n);
		cap = 2 + rng_below(whole);
		memset(buf, 0xee, sizeof(buf));
		xor_appender_init(&app, buf, cap);
		for (i = 0; i < n; i++)
		{
			size_t		before = xor_appender_bytes(&app);

			memcpy(copy, buf, sizeof(buf));
			rc = xor_append(&app, ts[i], vs[i]);
			if (rc != XOR_OK)
			{
				XorAppender big;
				size_t		need;

				fulls++;
				/* unchanged; and the sample really did not fit */
				if (rc != XOR_EFULL || memcmp(copy, buf, sizeof(buf)) != 0 ||
					xor_appender_bytes(&app) != before || app.count != i)
					bad++;
				memcpy(copy, buf, before);
				xor_appender_reopen(&big, copy, sizeof(copy), before);
				xor_append(&big, ts[i], vs[i]);
				need = xor_appender_bytes(&big);
				if (need <= cap)
					bad++;
				/* the sealed part equals a chunk of the first i samples */
				if (i > 0 && (encode(copy, sizeof(copy), ts, vs, i) != before ||
							  memcmp(copy, buf, before) != 0))
					bad++;
				break;
			}
			if (xor_appender_bytes(&app) > cap)
				bad++;
		}
		if (rc == XOR_OK && cap < whole)
			bad++;
	}
	CHECK(fulls > 400, "only %d of 500 chunks filled up", fulls);
	CHECK(bad == 0, "%d bad XOR_EFULL outcomes", bad);

	{
		XorAppender app;

		CHECK(xor_appender_init(&app, buf, 1) == XOR_EFULL, "cap below the header");
		xor_appender_init(&app, buf, 2);
		CHECK(xor_append(&app, 1, 1) == XOR_EFULL && xor_appender_bytes(&app) == 2,
			  "no room for the first sample");
	}
}

/* The 16-bit sample count: 65535 fit, the next is refused. */
static void
test_count_limit(void)
{
	size_t		cap = 2 + 20 + 65535 / 4 + 64;
	uint8_t    *buf = malloc(cap);
	int64_t    *ts = malloc(sizeof(int64_t) * 65536);
	double	   *vs = malloc(sizeof(double) * 65536);
	XorAppender app;
	int			i,
				rc = XOR_OK;
	size_t		len;

	xor_appender_init(&app, buf, cap);
	for (i = 0; i < 65535 && rc == XOR_OK; i++)
		rc = xor_append(&app, 1000 * (int64_t) i, 0.5);
	CHECK(rc == XOR_OK, "65535 samples: %d", rc);
	len = xor_appender_bytes(&app);
	CHECK(xor_append(&app, 1000 * (int64_t) 65535, 0.5) == XOR_ETOOMANY &&
		  xor_appender_bytes(&app) == len, "sample 65536 refused");
	CHECK(xor_chunk_count(buf, len) == 65535, "count header 65535");
	CHECK(xor_decode_all(buf, len, ts, vs, 65536) == 65535 &&
		  ts[65534] == 65534000 && vs[65534] == 0.5, "65535 samples decode");
	CHECK(xor_decode_all(buf, len, ts, vs, 65534) == -1, "max below count");
	CHECK(xor_appender_reopen(&app, buf, cap, len) == XOR_OK &&
		  xor_append(&app, 1000 * (int64_t) 65535, 0.5) == XOR_ETOOMANY,
		  "reopened full chunk refuses more");
	free(buf);
	free(ts);
	free(vs);
}

/*
 * What Prometheus's own reopen can write: a '10' (reuse the window) before
 * any window exists, meaning all 64 bits. It must decode, and reopening it
 * must still see "no window" so the next value opens one.
 */
static void
test_reuse_without_window(void)
{
	static RefChunk c;
	uint8_t		buf[128];
	XorAppender app;
	int64_t		ot[3];
	double		ov[3];
	int			n;

	ref_init(&c);
	ref_uvarint(&c, 0);			/* t = 0 */
	ref_bits(&c, dbits(1.0), 64);
	ref_uvarint(&c, 10);		/* t = 10 */
	ref_bits(&c, 2, 2);			/* '10' with the 0/0 window */
	ref_bits(&c, dbits(1.0) ^ dbits(2.0), 64);
	c.b[1] = 2;
	n = xor_decode_all(c.b, c.len, ot, ov, 3);
	CHECK(n == 2 && ot[0] == 0 && ov[0] == 1.0 && ot[1] == 10 && ov[1] == 2.0,
		  "'10' before any window: %d samples", n);

	memcpy(buf, c.b, c.len);
	CHECK(xor_appender_reopen(&app, buf, sizeof(buf), c.len) == XOR_OK &&
		  app.leading == 0xff, "reopen keeps no window");
	CHECK(xor_append(&app, 20, 3.0) == XOR_OK &&
		  xor_decode_all(buf, xor_appender_bytes(&app), ot, ov, 3) == 3 &&
		  ot[2] == 20 && ov[2] == 3.0, "append after '10' without window");
}

/* Reopen refuses chunks whose length or trailing bits are off. */
static void
test_reopen_checks(void)
{
	uint8_t		buf[128];
	XorAppender app;
	size_t		len;

	xor_appender_init(&app, buf, sizeof(buf));
	CHECK(xor_appender_reopen(&app, buf, sizeof(buf), 2) == XOR_OK, "reopen empty");
	CHECK(xor_appender_reopen(&app, buf, sizeof(buf), 1) == XOR_ECORRUPT, "reopen 1 byte");
	xor_appender_init(&app, buf, sizeof(buf));
	xor_append(&app, 5, 2.5);
	xor_append(&app, 10, 3.5);
	len = xor_appender_bytes(&app);
	CHECK(xor_appender_reopen(&app, buf, 4, len) == XOR_ECORRUPT, "cap below len");
	buf[len] = 0;
	CHECK(xor_appender_reopen(&app, buf, sizeof(buf), len + 1) == XOR_ECORRUPT,
		  "trailing byte");
	buf[len - 1] |= 1;
	CHECK(xor_appender_reopen(&app, buf, sizeof(buf), len) == XOR_ECORRUPT,
		  "stray bit after the last sample");
}

/* ------------------------------------------------ benchmark */

#define BENCH_N 120
#define BENCH_CHUNKS 512

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void
bench_fill(const char *kind, int c, int64_t *ts, double *vs)
{
	int			i;
	double		v = 0;

	for (i = 0; i < BENCH_N; i++)
	{
		ts[i] = 1764072000000LL + 15000LL * (c * BENCH_N + i) +
			(strcmp(kind, "counter") == 0 ? (int64_t) rng_below(5) : 0);
		if (strcmp(kind, "counter") == 0)
			v += (double) rng_below(100);
		else if (strcmp(kind, "constant") == 0)
			v = 42;
		else if (strcmp(kind, "random_walk") == 0)
			v += rng_unit() - 0.5;
		else
			v = round((50 + (rng_unit() - 0.5) * 20) * 100) / 100;
		vs[i] = v;
	}
}

static int
run_bench(double seconds)
{
	static const char *const kinds[] = {"counter", "constant", "random_walk", "gauge_2dec"};
	size_t		k;
	int64_t    *ts = malloc(sizeof(int64_t) * BENCH_N * BENCH_CHUNKS);
	double	   *vs = malloc(sizeof(double) * BENCH_N * BENCH_CHUNKS);
	uint8_t    *chunks = malloc((size_t) BENCH_CHUNKS * BENCH_N * XOR_MAX_SAMPLE_BYTES);
	size_t	   *lens = malloc(sizeof(size_t) * BENCH_CHUNKS);
	int64_t		ot[BENCH_N];
	double		ov[BENCH_N];
	size_t		stride = (size_t) BENCH_N * XOR_MAX_SAMPLE_BYTES;

	printf("%-12s %14s %14s %14s %10s\n", "data", "encode/s", "decode_all/s",
		   "iterator/s", "bytes/smp");
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
	{
		double		t0,
					el,
					enc,
					dec,
					itr;
		long		samples;
		size_t		total = 0;
		int			c;
		volatile double sink = 0;

		for (c = 0; c < BENCH_CHUNKS; c++)
			bench_fill(kinds[k], c, ts + c * BENCH_N, vs + c * BENCH_N);

		samples = 0;
		t0 = now();
		do
		{
			for (c = 0; c < BENCH_CHUNKS; c++)
				lens[c] = encode(chunks + c * stride, stride, ts + c * BENCH_N,
								 vs + c * BENCH_N, BENCH_N);
			samples += (long) BENCH_N * BENCH_CHUNKS;
		} while ((el = now() - t0) < seconds);
		enc = samples / el;
		for (c = 0; c < BENCH_CHUNKS; c++)
			total += lens[c];

		samples = 0;
		t0 = now();
		do
		{
			for (c = 0; c < BENCH_CHUNKS; c++)
			{
				xor_decode_all(chunks + c * stride, lens[c], ot, ov, BENCH_N);
				sink += ov[BENCH_N - 1];
			}
			samples += (long) BENCH_N * BENCH_CHUNKS;
		} while ((el = now() - t0) < seconds);
		dec = samples / el;

		samples = 0;
		t0 = now();
		do
		{
			for (c = 0; c < BENCH_CHUNKS; c++)
			{
				XorIterator it;
				int64_t		t;
				double		v,
							s = 0;

				xor_iter_init(&it, chunks + c * stride, lens[c]);
				while (xor_iter_next(&it, &t, &v))
					s += v;
				sink += s;
			}
			samples += (long) BENCH_N * BENCH_CHUNKS;
		} while ((el = now() - t0) < seconds);
		itr = samples / el;
		(void) sink;

		printf("%-12s %12.1fM %12.1fM %12.1fM %10.2f\n", kinds[k], enc / 1e6,
			   dec / 1e6, itr / 1e6, (double) total / ((double) BENCH_N * BENCH_CHUNKS));
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
	if (argc > 1 && strcmp(argv[1], "--bench") == 0)
		return run_bench(argc > 2 ? atof(argv[2]) : 1.0);

	test_golden();
	test_hand_vectors();
	test_random_round_trips(5000);
	test_dod_buckets();
	test_extreme_timestamps();
	test_truncated_and_corrupt();
	test_efull();
	test_count_limit();
	test_reopen_checks();
	test_reuse_without_window();
	return unit_finish();
}
