/*
 * fuzz_xorchunk.c: libFuzzer target of the XOR chunk codec.
 *
 * Chunks come off disk pages and, some day, from remote peers, so the
 * decoder must survive any bytes: the input is decoded as a chunk both ways
 * (decode_all and the iterator must agree) and reopened for appending.
 * Then the same input is read as a recipe of samples (timestamp steps and
 * values, NaN payloads and int64 extremes included) that are encoded into a
 * buffer of input-chosen size, reopened at input-chosen points, and decoded:
 * every appended sample must come back bit for bit, and the reopen points
 * must not change the bytes. Any mismatch aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"

#define FUZZ_MAXN 512

static const uint64_t fuzz_specials[8] = {
	0x7ff0000000000002ULL, 0x7ff8000000000001ULL, 0x7ff0000000000000ULL,
	0xfff0000000000000ULL, 0x8000000000000000ULL, 0x0000000000000001ULL,
	0xffffffffffffffffULL, 0x3ff0000000000000ULL
};

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
	int			i;

	for (i = 0; i < k; i++)
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

static void
fuzz_decode(const uint8_t *data, size_t size)
{
	static int64_t ts[65536];
	static double vs[65536];
	static uint8_t buf[4096 + 64];
	XorIterator it;
	XorAppender app;
	int64_t		t;
	double		v;
	int			n,
				i = 0;

	n = xor_decode_all(data, size, ts, vs, 65536);
	xor_iter_init(&it, data, size);
	while (xor_iter_next(&it, &t, &v))
	{
		if (n >= 0 && (t != ts[i] || memcmp(&v, &vs[i], 8) != 0))
			abort();
		i++;
	}
	if (n >= 0 ? (i != n || it.err != XOR_OK) : it.err == XOR_OK)
		abort();

	if (size <= 4096)
	{
		memcpy(buf, data, size);
		if (xor_appender_reopen(&app, buf, sizeof(buf), size) == XOR_OK)
		{
			int			rc = xor_append(&app, t == INT64_MAX ? t : t + 1, 1.0);

			if (n < 0)
				abort();		/* reopen accepted what decode refused */
			if (rc == XOR_OK &&
				xor_decode_all(buf, xor_appender_bytes(&app), ts, vs, 65536) != n + 1)
				abort();
		}
	}
}

static void
fuzz_round_trip(const uint8_t *data, size_t size)
{
	static int64_t ts[FUZZ_MAXN],
				ot[FUZZ_MAXN];
	static double vs[FUZZ_MAXN],
				ov[FUZZ_MAXN];
	static uint8_t a[FUZZ_MAXN * XOR_MAX_SAMPLE_BYTES],
				b[FUZZ_MAXN * XOR_MAX_SAMPLE_BYTES];
	FuzzIn		in = {data, size};
	size_t		cap = 2 + take(&in, 2);
	uint64_t	reopen_mask = take(&in, 8);
	int64_t		t = (int64_t) take(&in, 8);
	uint64_t	vb = 0;
	int64_t		delta = 0;
	XorAppender app,
				app2;
	int			n = 0,
				i,
				got;

	while (in.n > 0 && n < FUZZ_MAXN)
	{
		uint8_t		c = (uint8_t) take(&in, 1);
		uint64_t	step;

		switch (c & 3)
		{
			case 0:				/* the same step again */
				step = (uint64_t) delta;
				break;
			case 1:
				step = take(&in, 1);
				break;
			case 2:
				step = take(&in, 4);
				break;
			default:
				step = take(&in, 8);
				break;
		}
		if (n > 0)
		{
			/* keep time non-decreasing: saturate at INT64_MAX */
			uint64_t	room = (uint64_t) INT64_MAX - (uint64_t) t;

			if (step > room)
				step = room;
			delta = (int64_t) step;
			t = (int64_t) ((uint64_t) t + step);
		}
		switch ((c >> 2) & 3)
		{
			case 0:
				break;
			case 1:
				{
					double		v;

					memcpy(&v, &vb, 8);
					v += (double) (int8_t) take(&in, 1);
					memcpy(&vb, &v, 8);
				}
				break;
			case 2:
				vb = take(&in, 8);
				break;
			default:
				vb = fuzz_specials[(c >> 4) & 7];
				break;
		}
		ts[n] = t;
		memcpy(&vs[n], &vb, 8);
		n++;
	}

	if (cap > sizeof(a))
		cap = sizeof(a);
	xor_appender_init(&app, a, cap);
	xor_appender_init(&app2, b, cap);
	for (i = 0; i < n; i++)
	{
		int			rc = xor_append(&app, ts[i], vs[i]);
		int			rc2;

		if ((reopen_mask >> ((i / 4) & 63)) & 1 && i % 4 == 0 &&
			xor_appender_reopen(&app2, b, cap, xor_appender_bytes(&app2)) != XOR_OK)
			abort();
		rc2 = xor_append(&app2, ts[i], vs[i]);
		if (rc != rc2)
			abort();
		if (rc == XOR_EFULL)
			break;
		if (rc != XOR_OK)
			abort();
	}
	if (xor_appender_bytes(&app) != xor_appender_bytes(&app2) ||
		memcmp(a, b, xor_appender_bytes(&app)) != 0)
		abort();
	got = xor_decode_all(a, xor_appender_bytes(&app), ot, ov, FUZZ_MAXN);
	if (got != i)
		abort();
	for (i = 0; i < got; i++)
		if (ot[i] != ts[i] || memcmp(&ov[i], &vs[i], 8) != 0)
			abort();
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_decode(data, size);
	fuzz_round_trip(data, size);
	return 0;
}
