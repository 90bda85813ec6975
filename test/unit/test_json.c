/*
 * test_json.c: the HTTP API's JSON spelling (src/runtime/json.c).
 *
 * Prometheus clients compare answers byte for byte more often than one would
 * hope (caches, tests, the oracle in test/t/020), so every fast path of the
 * encoder is checked here against Go's spelling: integers through the integer
 * path, fractions through Ryu, the exponent-form boundaries, timestamps.
 *
 * With --bench [N] it instead measures the encoder alone: N points (default
 * 10 million) written as a matrix answer's [time,"value"] pairs, in 64kB
 * pieces as the streamed answers are, and prints points per second for
 * counters (integral values), gauges (fractional) and rate() outputs.
 * The bench is not part of `make run`.
 */
#include "postgres_fe.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include "runtime/runtime.h"
#include "unit.h"

static const char *
fmt(double v)
{
	static char buf[ALLOY_FLOAT_BUFLEN];

	AlloyFormatFloat(buf, v);
	return buf;
}

static void
check_float(double v, const char *want)
{
	const char *got = fmt(v);

	CHECK(strcmp(got, want) == 0, "float %.17g: got %s, want %s", v, got, want);
}

static void
check_pair(int64 t, double v, const char *want)
{
	StringInfoData s;

	initStringInfo(&s);
	AlloyJsonSamplePair(&s, t, v);
	CHECK(strcmp(s.data, want) == 0 && (int) strlen(s.data) == s.len,
		  "pair (" INT64_FORMAT ", %.17g): got %s, want %s", t, v, s.data, want);
	pfree(s.data);
}

static void
check_string(const char *in, size_t len, const char *want)
{
	StringInfoData s;

	initStringInfo(&s);
	AlloyJsonStringLen(&s, in, len);
	CHECK(strcmp(s.data, want) == 0, "string: got %s, want %s", s.data, want);
	pfree(s.data);
}

/* xorshift64*: deterministic values for the random checks and the bench */
static uint64
next_random(uint64 *state)
{
	uint64		x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * UINT64CONST(2685821657736338717);
}

static void
check_spellings(void)
{
	uint64		rnd = 42;

	/* integral values: the integer path */
	check_float(0, "0");
	check_float(-0.0, "-0");
	check_float(1, "1");
	check_float(-7, "-7");
	check_float(10, "10");
	check_float(1234567890, "1234567890");
	check_float(9007199254740991.0, "9007199254740991");
	check_float(-9007199254740991.0, "-9007199254740991");
	/* 2^53 and beyond: Ryu's shortest digits, still fixed below 1e21 */
	check_float(9007199254740992.0, "9007199254740992");
	check_float(9007199254740994.0, "9007199254740994");
	check_float(1e20, "100000000000000000000");
	check_float(123456789012345678901.0, "123456789012345680000");
	check_float(1e21, "1e+21");
	check_float(-1.5e22, "-1.5e+22");
	check_float(1.7976931348623157e308, "1.7976931348623157e+308");
	/* fractions */
	check_float(0.1, "0.1");
	check_float(-2.5, "-2.5");
	check_float(1.0 / 3, "0.3333333333333333");
	check_float(123456.789, "123456.789");
	check_float(841.4709848078965, "841.4709848078965");
	check_float(0.000001, "0.000001");
	check_float(0.0000015, "0.0000015");
	check_float(1e-7, "1e-07");
	check_float(1.5e-7, "1.5e-07");
	check_float(5e-324, "5e-324");
	check_float(NAN, "NaN");
	check_float(INFINITY, "+Inf");
	check_float(-INFINITY, "-Inf");

	/* every integer below 2^53 is its own digits (one check for 100k values) */
	{
		int			bad = 0;

		for (int i = 0; i < 100000; i++)
		{
			int64		n = (int64) (next_random(&rnd) >> (11 + i % 50));
			char		want[32];

			if (i & 1)
				n = -n;
			snprintf(want, sizeof(want), INT64_FORMAT, n);
			if (n != 0 && strcmp(fmt((double) n), want) != 0 && bad++ == 0)
				printf("integer " INT64_FORMAT " spelled %s\n", n, fmt((double) n));
		}
		CHECK(bad == 0, "%d of 100000 integers misspelled", bad);
	}
	/* random doubles round-trip (shortness is Ryu's, checked by PostgreSQL) */
	{
		int			bad = 0;

		for (int i = 0; i < 100000; i++)
		{
			uint64		bits = next_random(&rnd);
			double		v;
			const char *s;

			memcpy(&v, &bits, sizeof(v));
			if (isnan(v) || isinf(v))
				continue;
			s = fmt(v);
			if (strtod(s, NULL) != v && bad++ == 0)
				printf("%s does not round-trip to %.17g\n", s, v);
		}
		CHECK(bad == 0, "%d of 100000 random doubles do not round-trip", bad);
	}

	/* timestamps: seconds and three decimals unless they are zero */
	check_pair(0, 1, "[0,\"1\"]");
	check_pair(1700000000000, 3, "[1700000000,\"3\"]");
	check_pair(1700000000123, 0.5, "[1700000000.123,\"0.5\"]");
	check_pair(1700000000100, -1, "[1700000000.100,\"-1\"]");
	check_pair(1700000000005, NAN, "[1700000000.005,\"NaN\"]");
	check_pair(-1500, 2e-9, "[-1.500,\"2e-09\"]");
	check_pair(5, 1e300, "[0.005,\"1e+300\"]");
	check_pair(INT64CONST(9223309901257974), -1.7976931348623157e308,
			   "[9223309901257.974,\"-1.7976931348623157e+308\"]");

	/* strings */
	check_string("plain", 5, "\"plain\"");
	check_string("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
	check_string("\n\t\r\x01", 4, "\"\\n\\t\\r\\u0001\"");
	check_string("\xc3\xbc\xe2\x82\xac", 5, "\"\xc3\xbc\xe2\x82\xac\"");
	check_string("a\xff" "b", 3, "\"a\xef\xbf\xbd" "b\"");
	check_string("\xe2\x82", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\"");
}

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Encode npoints points as a matrix answer of 1000-point series, flushing the
 * buffer every 64kB like the streamed answers do; returns points per second.
 */
static double
bench_one(const char *name, long npoints, int kind)
{
	StringInfoData out;
	uint64		rnd = 7;
	double		counter = 0;
	double		t0;
	double		secs;
	long		bytes = 0;
	int64		t = INT64CONST(1700000000000);

	initStringInfo(&out);
	t0 = now_seconds();
	for (long i = 0; i < npoints; i++)
	{
		double		v;

		if (i % 1000 == 0)
		{
			if (i > 0)
				appendBinaryStringInfo(&out, "]},", 3);
			appendStringInfoString(&out, "{\"metric\":{");
			AlloyJsonString(&out, "__name__");
			appendStringInfoCharMacro(&out, ':');
			AlloyJsonString(&out, "node_cpu_seconds_total");
			appendStringInfoString(&out, "},\"values\":[");
		}
		else
			appendStringInfoCharMacro(&out, ',');
		switch (kind)
		{
			case 0:				/* a counter: integral, growing */
				counter += (double) (next_random(&rnd) % 100);
				v = counter;
				break;
			case 1:				/* a gauge with two decimals */
				v = (double) (next_random(&rnd) % 100000) / 100.0;
				break;
			default:			/* rate(): full-precision fractions */
				v = (double) (next_random(&rnd) % 1000000) / 15.0;
				break;
		}
		AlloyJsonSamplePair(&out, t + (i % 1000) * 15000, v);
		if (out.len >= 64 * 1024)
		{
			bytes += out.len;
			resetStringInfo(&out);
		}
	}
	bytes += out.len;
	secs = now_seconds() - t0;
	printf("%-28s %ld points in %.3f s: %.2f M points/s, %.1f MB/s of JSON\n",
		   name, npoints, secs, npoints / secs / 1e6, bytes / secs / 1e6);
	pfree(out.data);
	return npoints / secs;
}

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--bench") == 0)
	{
		long		n = argc > 2 ? atol(argv[2]) : 10000000L;

		bench_one("counters (integral values)", n, 0);
		bench_one("gauges (2 decimals)", n, 1);
		bench_one("rate() (17 digits)", n, 2);
		return 0;
	}
	check_spellings();
	return unit_finish();
}
