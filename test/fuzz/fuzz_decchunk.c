/*
 * fuzz_decchunk.c: libFuzzer target of the decimal chunk codec.
 *
 * Sealed chunks are read back from disk pages, so the decoder must survive
 * any bytes: the input is first decoded as a chunk (with a capacity taken
 * from the input, so the "too many samples" path runs too); the corpus holds
 * encoded chunks of both group sizes. Then the same input is read as a
 * recipe of samples: timestamp steps of every size (missed scrapes too) and
 * values that are decimals of an input-chosen exponent, counters, or raw bit
 * patterns (NaN payloads, infinities, -0, denormals), mixed in input-chosen
 * proportions. They are encoded into a buffer of input-chosen size and, when
 * that succeeds, decoded: every sample must come back bit for bit, and a
 * buffer large enough by the documented bound must never be reported full.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"

static const uint64_t fuzz_specials[8] = {
	0x7ff0000000000002ULL, 0x7ff8000000000001ULL, 0x7ff0000000000000ULL,
	0xfff0000000000000ULL, 0x8000000000000000ULL, 0x0000000000000001ULL,
	0xffffffffffffffffULL, 0x3ff0000000000000ULL
};

static const double fuzz_pow10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
1e11, 1e12, 1e13, 1e14, 1e15};

typedef struct FuzzIn
{
	const uint8_t *p;
	size_t		n;
} FuzzIn;

/* Take k bytes (zeros once the input runs out) as a little-endian number. */
static uint64_t
take(FuzzIn *in, int k)
{
	uint64_t	x = 0;

	for (int i = 0; i < k; i++)
	{
		uint64_t	b = 0;

		if (in->n > 0)
		{
			b = in->p[0];
			in->p++;
			in->n--;
		}
		x |= b << (8 * i);
	}
	return x;
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int64_t ts[DEC_MAX_SAMPLES];
	static double vs[DEC_MAX_SAMPLES];
	static int64_t ot[DEC_MAX_SAMPLES];
	static double ov[DEC_MAX_SAMPLES];
	static uint8_t buf[DEC_MAX_BYTES(DEC_MAX_SAMPLES)];
	FuzzIn		in = {data, size};
	int			n,
				d,
				got;
	size_t		cap,
				len = 0;
	uint64_t	t;			/* wraps, as the codec's arithmetic does */
	int64_t		m;
	int			rc;

	/* 1. arbitrary bytes as a chunk */
	(void) dec_decode_all(data, size, ot, ov, size > 0 ? data[0] * 4 : 0);

	/* 2. a recipe of samples */
	n = 1 + (int) (take(&in, 2) % DEC_MAX_SAMPLES);
	d = (int) (take(&in, 1) % 16);
	cap = (size_t) take(&in, 2);
	t = take(&in, 8);
	m = (int64_t) (take(&in, 4) % 2000000) - 1000000;
	for (int i = 0; i < n; i++)
	{
		uint64_t	k = take(&in, 1);
		uint64_t	bits;

		switch (k >> 5)
		{
			case 0:
				t += take(&in, 8);	/* any step */
				break;
			case 1:
				t += take(&in, 1) - 128;
				break;
			case 2:
				t += 30000;		/* a missed scrape: groups of 8 pay */
				break;
			default:
				t += 15000;
				break;
		}
		ts[i] = (int64_t) t;
		switch (k & 7)
		{
			case 0:
				bits = fuzz_specials[take(&in, 1) & 7];
				memcpy(&vs[i], &bits, 8);
				break;
			case 1:
				bits = take(&in, 8);
				memcpy(&vs[i], &bits, 8);
				break;
			case 2:
				m += (int64_t) take(&in, 2) - 32768;
				vs[i] = (double) m / fuzz_pow10[d];
				break;
			default:
				m += (int64_t) (k & 0x18);
				vs[i] = (double) m / fuzz_pow10[d];
				break;
		}
	}
	if (cap == 0 || cap > sizeof(buf))
		cap = sizeof(buf);
	rc = dec_encode(ts, vs, n, buf, cap, &len);
	if (rc == DEC_EFULL && cap >= DEC_MAX_BYTES(n))
		abort();
	if (rc != DEC_OK)
		return 0;
	if (len > cap || dec_chunk_count(buf, len) != n)
		abort();
	got = dec_decode_all(buf, len, ot, ov, n);
	if (got != n)
		abort();
	for (int i = 0; i < n; i++)
		if (ot[i] != ts[i] || memcmp(&ov[i], &vs[i], 8) != 0)
			abort();
	return 0;
}
