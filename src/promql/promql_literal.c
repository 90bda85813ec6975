/*
 * promql_literal.c: the values of literal tokens: numbers (Go's ParseInt
 * and ParseFloat rules), durations (model.ParseDuration; in Prometheus 3
 * mode also plain seconds) and strings (strutil.Unquote).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "promql/promql_int.h"

/* The value of number literal s[0..len) at offset pos, as Go parses it. */
double
promql_literal_number(Parser *p, const char *s, int len, int pos)
{
	char		buf[128];
	char	   *end;
	double		d;

	if (len >= (int) sizeof(buf))
		promql_parse_fail(p, pos, "error parsing number: %.*s", len, s);
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (strcasecmp(buf, "inf") == 0)
		return INFINITY;
	if (strcasecmp(buf, "nan") == 0)
		return NAN;
	/* Go's ParseInt(s, 0, 64) first: hex, and octal for a leading 0 */
	errno = 0;
	{
		long long	v = strtoll(buf, &end, 0);

		if (*end == '\0' && errno == 0 && end != buf)
		{
			/* strtoll also accepts "0x" alone or leading space; Go would not */
			return (double) v;
		}
	}
	errno = 0;
	d = strtod(buf, &end);
	if (*end != '\0' || end == buf || (buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X') && strchr(buf, '.')))
		promql_parse_fail(p, pos, "error parsing number: strconv.ParseFloat: parsing \"%s\": invalid syntax", buf);
	return d;
}

/* model.ParseDuration: [Ny][Nw][Nd][Nh][Nm][Ns][Nms], units in this order. */
bool
promql_parse_duration(const char *s, size_t len, int64_t *ms)
{
	static const struct
	{
		const char *unit;
		int64_t		ms;
	}			units[] = {
		{"y", 365LL * 24 * 3600 * 1000}, {"w", 7LL * 24 * 3600 * 1000},
		{"d", 24LL * 3600 * 1000}, {"h", 3600LL * 1000}, {"m", 60LL * 1000},
		{"s", 1000}, {"ms", 1}
	};
	size_t		i = 0;
	int			next_unit = 0;
	int64_t		total = 0;

	if (len == 1 && s[0] == '0')
	{
		*ms = 0;
		return true;
	}
	if (len == 0)
		return false;
	while (i < len)
	{
		int64_t		n = 0;
		size_t		st = i;
		int			u;
		size_t		ulen;

		while (i < len && s[i] >= '0' && s[i] <= '9')
		{
			if (n > INT64_MAX / 10)
				return false;
			n = n * 10 + (s[i] - '0');
			i++;
		}
		if (i == st || i >= len)
			return false;
		ulen = (i + 1 < len && s[i] == 'm' && s[i + 1] == 's') ? 2 : 1;
		for (u = next_unit; u < 7; u++)
			if (strlen(units[u].unit) == ulen && strncmp(units[u].unit, s + i, ulen) == 0)
				break;
		if (u >= 7)
			return false;
		if (n != 0 && units[u].ms > INT64_MAX / n)
			return false;
		total += n * units[u].ms;
		next_unit = u + 1;
		i += ulen;
	}
	*ms = total;
	return true;
}

/* The milliseconds of a duration token; fails on a malformed one. */
int64_t
promql_literal_duration(Parser *p, const Token *t)
{
	int64_t		ms;

	if (!promql_parse_duration(p->q + t->pos, t->len, &ms))
		promql_parse_fail(p, t->pos, "not a valid duration string: \"%.*s\"", t->len, p->q + t->pos);
	return ms;
}

/*
 * Prometheus 3 lets a number (seconds) stand where a duration is expected
 * and the reverse; 2.42 accepts only the exact token type.
 */
bool
promql_literal_is_duration(Parser *p, const Token *t)
{
	return t->type == T_DURATION || (p->compat == PROMQL_COMPAT_V3 && t->type == T_NUMBER);
}

/* The milliseconds of a duration where 3 also accepts seconds. */
int64_t
promql_literal_duration_ms(Parser *p, const Token *t)
{
	double		secs;

	if (t->type == T_DURATION)
	{
		int64_t		ms = promql_literal_duration(p, t);

		/* 2.42's parseDuration: every duration in a query (range, offset, subquery) is > 0 */
		if (ms == 0 && p->compat != PROMQL_COMPAT_V3)
			promql_parse_fail(p, t->pos, "duration must be greater than 0");
		return ms;
	}
	secs = promql_literal_number(p, p->q + t->pos, t->len, t->pos);
	if (!(fabs(secs * 1000.0) < 9.2e18))
		promql_parse_fail(p, t->pos, "duration out of range");
	return (int64_t) round(secs * 1000.0);
}

/* strutil.Unquote: decode a lexed string token. */
const char *
promql_literal_string(Parser *p, const Token *t)
{
	const char *s = p->q + t->pos + 1;
	int			n = t->len - 2;
	char	   *out = alloy_arena_alloc(p->arena, n * 2 + 8);
	int			o = 0;
	char		quote = p->q[t->pos];

	if (quote == '`')
		return alloy_arena_strndup(p->arena, s, n);
	for (int i = 0; i < n; i++)
	{
		unsigned long cp;
		int			digits,
					base;
		bool		raw_byte = true;

		if (s[i] != '\\')
		{
			out[o++] = s[i];
			continue;
		}
		i++;
		switch (s[i])
		{
			case 'a':
				out[o++] = '\a';
				continue;
			case 'b':
				out[o++] = '\b';
				continue;
			case 'f':
				out[o++] = '\f';
				continue;
			case 'n':
				out[o++] = '\n';
				continue;
			case 'r':
				out[o++] = '\r';
				continue;
			case 't':
				out[o++] = '\t';
				continue;
			case 'v':
				out[o++] = '\v';
				continue;
			case '\\':
			case '\'':
			case '"':
				out[o++] = s[i];
				continue;
			case 'x':
				digits = 2;
				base = 16;
				i++;
				break;
			case 'u':
				digits = 4;
				base = 16;
				raw_byte = false;
				i++;
				break;
			case 'U':
				digits = 8;
				base = 16;
				raw_byte = false;
				i++;
				break;
			default:
				digits = 3;
				base = 8;
				break;
		}
		cp = 0;
		for (int k = 0; k < digits; k++, i++)
		{
			int			c = s[i];
			int			v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : c - 'A' + 10;

			cp = cp * base + v;
		}
		i--;
		if (raw_byte)
			out[o++] = (char) cp;	/* raw byte */
		else
		{
			/* UTF-8 encode a code point */
			if (cp < 0x80)
				out[o++] = (char) cp;
			else if (cp < 0x800)
			{
				out[o++] = (char) (0xC0 | (cp >> 6));
				out[o++] = (char) (0x80 | (cp & 0x3F));
			}
			else if (cp < 0x10000)
			{
				out[o++] = (char) (0xE0 | (cp >> 12));
				out[o++] = (char) (0x80 | ((cp >> 6) & 0x3F));
				out[o++] = (char) (0x80 | (cp & 0x3F));
			}
			else
			{
				out[o++] = (char) (0xF0 | (cp >> 18));
				out[o++] = (char) (0x80 | ((cp >> 12) & 0x3F));
				out[o++] = (char) (0x80 | ((cp >> 6) & 0x3F));
				out[o++] = (char) (0x80 | (cp & 0x3F));
			}
		}
	}
	out[o] = '\0';
	return out;
}
