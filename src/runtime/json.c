/*
 * json.c: JSON string escaping and number spelling for the HTTP API.
 *
 * Label values come from remote-write senders and may hold any byte; the
 * output must still be valid JSON, so control characters are escaped and
 * invalid UTF-8 sequences are replaced rather than copied.
 *
 * Large query answers are mostly [time,"value"] pairs, so those are written
 * straight into the output buffer (AlloyJsonSamplePair) with hand-rolled
 * integer formatting and a fast path for integral values, which counters
 * and most gauges are; only fractional values go through Ryu. The spelling
 * is byte-for-byte Prometheus's either way (test/unit/test_json.c checks it
 * on both paths and the exponent-form boundaries).
 */
#ifdef FRONTEND
/* test/unit/test_json.c builds this file outside the server */
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include <math.h>

#include "common/shortest_dec.h"

#include "runtime/runtime.h"

/* Length of the valid UTF-8 sequence at s (at most len bytes), or 0. */
static int
AlloyUtf8SeqLen(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	int			n;
	uint32		cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2, cp = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3, cp = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if ((size_t) n > len)
		return 0;
	for (int i = 1; i < n; i++)
	{
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	/* overlong forms, surrogates and values past U+10FFFF are invalid */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
		(cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		return 0;
	return n;
}

void
AlloyJsonStringLen(StringInfo out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		i = 0;

	appendStringInfoCharMacro(out, '"');
	while (i < len)
	{
		unsigned char c = p[i];
		int			n;
		size_t		run = i;

		/* copy a run of plain printable ASCII at once */
		while (run < len && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\')
			run++;
		if (run > i)
		{
			appendBinaryStringInfo(out, s + i, run - i);
			i = run;
			continue;
		}

		switch (c)
		{
			case '"':
				appendBinaryStringInfo(out, "\\\"", 2);
				i++;
				continue;
			case '\\':
				appendBinaryStringInfo(out, "\\\\", 2);
				i++;
				continue;
			case '\n':
				appendBinaryStringInfo(out, "\\n", 2);
				i++;
				continue;
			case '\r':
				appendBinaryStringInfo(out, "\\r", 2);
				i++;
				continue;
			case '\t':
				appendBinaryStringInfo(out, "\\t", 2);
				i++;
				continue;
			default:
				break;
		}
		if (c < 0x20)
		{
			appendStringInfo(out, "\\u%04x", c);
			i++;
			continue;
		}
		n = AlloyUtf8SeqLen(p + i, len - i);
		if (n == 0)
		{
			appendBinaryStringInfo(out, "\xEF\xBF\xBD", 3);
			i++;
			continue;
		}
		appendBinaryStringInfo(out, s + i, n);
		i += n;
	}
	appendStringInfoCharMacro(out, '"');
}

void
AlloyJsonString(StringInfo out, const char *s)
{
	AlloyJsonStringLen(out, s, strlen(s));
}

static const char alloy_digit_pairs[] =
"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
"8081828384858687888990919293949596979899";

/* Decimal digits of u at buf (no terminator); returns their count. */
static inline int
AlloyFormatUint(char *buf, uint64 u)
{
	char		tmp[20];
	char	   *p = tmp + sizeof(tmp);
	int			n;

	while (u >= 100)
	{
		int			d = (int) (u % 100) * 2;

		u /= 100;
		*--p = alloy_digit_pairs[d + 1];
		*--p = alloy_digit_pairs[d];
	}
	if (u >= 10)
	{
		*--p = alloy_digit_pairs[u * 2 + 1];
		*--p = alloy_digit_pairs[u * 2];
	}
	else
		*--p = (char) ('0' + u);
	n = tmp + sizeof(tmp) - p;
	memcpy(buf, p, n);
	return n;
}

/*
 * Shortest round-trip digits come from PostgreSQL's Ryu (the same digits Go's
 * strconv picks); only the layout is redone here to match Go's 'f' and 'e'
 * formats, which Prometheus's JSON uses.
 *
 * An integral value below 2^53 in magnitude is spelled by its integer digits
 * in both layouts: its neighbours are at most 1 apart, so no shorter digit
 * string rounds to it, and it lies in fixed notation's range.
 */
static int
AlloyFormatFloatMode(char *buf, double v, bool allow_exp)
{
	char		tmp[DOUBLE_SHORTEST_DECIMAL_LEN];
	char		digits[DOUBLE_SHORTEST_DECIMAL_LEN];
	int			nd = 0;
	int			exp10 = 0;		/* value = 0.digits * 10^exp10 */
	bool		neg;
	bool		seen_point = false;
	bool		leading = true;
	const char *p;
	char	   *o = buf;
	double		a;

	if (v > -9007199254740992.0 && v < 9007199254740992.0 && v == (double) (int64) v && v != 0)
	{
		int64		i = (int64) v;

		if (i < 0)
		{
			*o++ = '-';
			i = -i;
		}
		o += AlloyFormatUint(o, (uint64) i);
		*o = '\0';
		return o - buf;
	}
	if (isnan(v))
		return sprintf(buf, "NaN");
	if (isinf(v))
		return sprintf(buf, v > 0 ? "+Inf" : "-Inf");
	neg = signbit(v);
	if (v == 0)
		return sprintf(buf, neg ? "-0" : "0");

	/* the _bufn form does not terminate the string: use its length */
	tmp[double_to_shortest_decimal_bufn(v, tmp)] = '\0';
	p = tmp;
	if (*p == '-')
		p++;
	for (; *p && *p != 'e'; p++)
	{
		if (*p == '.')
		{
			seen_point = true;
			continue;
		}
		if (leading && *p == '0')
		{
			/* zeros before the first significant digit */
			if (seen_point)
				exp10--;
			continue;
		}
		leading = false;
		digits[nd++] = *p;
		if (!seen_point)
			exp10++;
	}
	if (*p == 'e')
		exp10 += atoi(p + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;

	if (neg)
		*o++ = '-';
	a = fabs(v);
	if (allow_exp && (a < 1e-6 || a >= 1e21))
	{
		int			e = exp10 - 1;

		*o++ = digits[0];
		if (nd > 1)
		{
			*o++ = '.';
			memcpy(o, digits + 1, nd - 1);
			o += nd - 1;
		}
		o += sprintf(o, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
	}
	else if (exp10 <= 0)
	{
		*o++ = '0';
		*o++ = '.';
		memset(o, '0', -exp10);
		o += -exp10;
		memcpy(o, digits, nd);
		o += nd;
	}
	else if (exp10 >= nd)
	{
		memcpy(o, digits, nd);
		o += nd;
		memset(o, '0', exp10 - nd);
		o += exp10 - nd;
	}
	else
	{
		memcpy(o, digits, exp10);
		o += exp10;
		*o++ = '.';
		memcpy(o, digits + exp10, nd - exp10);
		o += nd - exp10;
	}
	*o = '\0';
	return o - buf;
}

int
AlloyFormatFloat(char *buf, double v)
{
	return AlloyFormatFloatMode(buf, v, true);
}

void
AlloyJsonFloatFixed(StringInfo out, double v)
{
	char		buf[ALLOY_FLOAT_BUFLEN];
	int			n = AlloyFormatFloatMode(buf, v, false);

	appendStringInfoCharMacro(out, '"');
	appendBinaryStringInfo(out, buf, n);
	appendStringInfoCharMacro(out, '"');
}

void
AlloyJsonSeconds(StringInfo out, int64 t_ms)
{
	char		buf[ALLOY_FLOAT_BUFLEN];
	int			n = AlloyFormatFloatMode(buf, (double) t_ms / 1000.0, false);

	appendBinaryStringInfo(out, buf, n);
}

void
AlloyJsonFloat(StringInfo out, double v)
{
	char		buf[ALLOY_FLOAT_BUFLEN];
	int			n = AlloyFormatFloat(buf, v);

	appendStringInfoCharMacro(out, '"');
	appendBinaryStringInfo(out, buf, n);
	appendStringInfoCharMacro(out, '"');
}

/*
 * Prometheus's spelling of a millisecond timestamp: Unix seconds, then the
 * three decimals of the milliseconds unless they are zero (not trimmed:
 * 1.5 s is "1.500"). buf needs 24 bytes; returns the length.
 */
static inline int
AlloyFormatTimestamp(char *buf, int64 t_ms)
{
	char	   *o = buf;
	uint64		u;
	int			frac;

	if (t_ms < 0)
	{
		*o++ = '-';
		u = -(uint64) t_ms;
	}
	else
		u = (uint64) t_ms;
	frac = (int) (u % 1000);
	o += AlloyFormatUint(o, u / 1000);
	if (frac != 0)
	{
		*o++ = '.';
		*o++ = (char) ('0' + frac / 100);
		*o++ = alloy_digit_pairs[(frac % 100) * 2];
		*o++ = alloy_digit_pairs[(frac % 100) * 2 + 1];
	}
	return o - buf;
}

void
AlloyJsonTimestamp(StringInfo out, int64 t_ms)
{
	enlargeStringInfo(out, 32);
	out->len += AlloyFormatTimestamp(out->data + out->len, t_ms);
	out->data[out->len] = '\0';
}

/*
 * Longest spelling AlloyFormatFloat produces: 17 significant digits with
 * "0.00000" before them, or in exponent form; with sign and quotes.
 */
#define ALLOY_FLOAT_EXP_MAXLEN 32

void
AlloyJsonSamplePair(StringInfo out, int64 t_ms, double v)
{
	char	   *p;

	enlargeStringInfo(out, 32 + ALLOY_FLOAT_EXP_MAXLEN);
	p = out->data + out->len;
	*p++ = '[';
	p += AlloyFormatTimestamp(p, t_ms);
	*p++ = ',';
	*p++ = '"';
	p += AlloyFormatFloatMode(p, v, true);
	*p++ = '"';
	*p++ = ']';
	*p = '\0';
	out->len = p - out->data;
}
