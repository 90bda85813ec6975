/*
 * api_params.c: the Prometheus HTTP API's parameter syntax.
 *
 * Times are Unix seconds with decimals or RFC 3339; durations are float
 * seconds or Prometheus durations (1h30m). Errors read exactly like
 * Prometheus 2.42's, so clients that show them show the same text. 2.42
 * words a bad time two ways: query_range's start and end say
 * `invalid parameter "start": cannot parse "x" to a valid timestamp`, while
 * every parameter read through its parseTimeParam (instant query's time,
 * series, labels, label values and exemplars' start and end) wraps that once
 * more: `invalid parameter "start": Invalid time value for 'start': cannot
 * parse "x" to a valid timestamp`. Both were checked against the 2.42 binary
 * (test/t/020_query_api_oracle.pl keeps checking).
 */
#include "postgres.h"

#include <math.h>

#include "api/api_int.h"
#include "promql/promql.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64
AlloyDaysFromCivil(int64 y, int m, int d)
{
	int64		era;
	int64		yoe;
	int64		doy;
	int64		doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool
AlloyDigits(const char **p, int n, int *out)
{
	int			v = 0;

	for (int i = 0; i < n; i++)
	{
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool
AlloyLeapYear(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/*
 * RFC 3339 with optional fraction: 2015-07-01T20:10:51.781Z or ...+02:00,
 * as strict as Go's time.Parse(time.RFC3339Nano) that Prometheus uses:
 * upper-case T and Z only, the day checked against its month, seconds up to
 * 59, one to nine fraction digits after '.' or ','. Like Go, the offset's
 * digits are not range-checked.
 */
static bool
AlloyParseRfc3339(const char *s, int64 *ms)
{
	const char *p = s;
	int			y, mo, d, h, mi, sec;
	int64		frac_ms = 0;
	int			offset_min = 0;

	if (!AlloyDigits(&p, 4, &y) || *p++ != '-' || !AlloyDigits(&p, 2, &mo) ||
		*p++ != '-' || !AlloyDigits(&p, 2, &d) || *p != 'T')
		return false;
	p++;
	if (!AlloyDigits(&p, 2, &h) || *p++ != ':' || !AlloyDigits(&p, 2, &mi) ||
		*p++ != ':' || !AlloyDigits(&p, 2, &sec))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59)
		return false;
	{
		static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

		if (d > mdays[mo - 1] + (mo == 2 && AlloyLeapYear(y) ? 1 : 0))
			return false;
	}
	if (*p == '.' || *p == ',')
	{
		int			scale = 100;
		int			ndigits = 0;

		p++;
		while (*p >= '0' && *p <= '9')
		{
			frac_ms += (*p - '0') * scale;
			scale /= 10;
			p++;
			ndigits++;
		}
		if (ndigits < 1 || ndigits > 9)
			return false;
	}
	if (*p == 'Z')
		p++;
	else if (*p == '+' || *p == '-')
	{
		int			oh, om;
		int			sign = *p == '-' ? -1 : 1;

		p++;
		if (!AlloyDigits(&p, 2, &oh) || *p++ != ':' || !AlloyDigits(&p, 2, &om))
			return false;
		offset_min = sign * (oh * 60 + om);
	}
	else
		return false;
	if (*p != '\0')
		return false;
	*ms = ((AlloyDaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) -
		   (int64) offset_min * 60) * 1000 + frac_ms;
	return true;
}

/* Strict float: the whole string, as Go's strconv.ParseFloat. */
static bool
AlloyParseFloatStrict(const char *s, double *v)
{
	char	   *end;

	const char *digits = (*s == '+' || *s == '-') ? s + 1 : s;

	if (*s == '\0' || isspace((unsigned char) *s))
		return false;
	/* Go takes hexadecimal only with a binary exponent (0x1p4, not 0x10) */
	if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X') &&
		strpbrk(digits, "pP") == NULL)
		return false;
	errno = 0;
	*v = strtod(s, &end);
	return *end == '\0' && errno != ERANGE;
}

bool
AlloyApiParseTime(const char *s, int64 *ms)
{
	double		f;

	if (AlloyParseFloatStrict(s, &f))
	{
		double		secs;
		double		frac = modf(f, &secs);

		if (!isfinite(f) || fabs(f) > 9.2e15)
			return false;
		*ms = (int64) secs * 1000 + (int64) llround(frac * 1000);
		return true;
	}
	if (AlloyParseRfc3339(s, ms))
		return true;

	/*
	 * Go's parser takes 4-digit years only, so Prometheus recognises its own
	 * MinTime and MaxTime spelled out (clients echo them back) by name.
	 */
	if (strcmp(s, "-292273086-05-16T16:47:06Z") == 0)
	{
		*ms = ALLOY_API_MIN_TIME;
		return true;
	}
	if (strcmp(s, "292277025-08-18T07:12:54.999999999Z") == 0)
	{
		*ms = ALLOY_API_MAX_TIME;
		return true;
	}
	return false;
}

bool
AlloyApiParseDuration(const char *s, int64 *ms)
{
	double		f;

	if (AlloyParseFloatStrict(s, &f))
	{
		if (!isfinite(f) || fabs(f) * 1000 > 9.2e18)
			return false;
		*ms = (int64) (f * 1000);
		return true;
	}
	return promql_parse_duration(s, strlen(s), ms);
}

void
AlloyApiBadParam(AlloyHttpResponse *resp, const char *param, const char *msg)
{
	AlloyHttpJsonError(resp, 400, "bad_data",
					   psprintf("invalid parameter \"%s\": %s", param, msg));
}

bool
AlloyApiTimeParam(AlloyHttpRequest *req, AlloyHttpResponse *resp, const char *name,
				  int64 dflt, int64 *ms)
{
	const char *s = AlloyHttpArg(req, name);

	if (s == NULL || *s == '\0')
	{
		*ms = dflt;
		return true;
	}
	if (!AlloyApiParseTime(s, ms))
	{
		/* Prometheus's parseTimeParam wraps the parser's error once more */
		AlloyApiBadParam(resp, name,
						 psprintf("Invalid time value for '%s': cannot parse \"%s\" to a valid timestamp",
								  name, s));
		return false;
	}
	return true;
}

/*
 * Prometheus 2.42 words a parse error "LINE:COL: parse error: ..." (COL
 * counted in bytes from the last newline); alloy's parser says "parse error
 * at char N: ...". Reword it so clients that show the position show the
 * same one.
 */
const char *
AlloyApiParseError(const char *query, const char *msg)
{
	static const char prefix[] = "parse error at char ";
	const char *p;
	char	   *end;
	long		pos;
	int			line = 1;
	long		last_nl = -1;

	if (strncmp(msg, prefix, sizeof(prefix) - 1) != 0)
		return msg;
	p = msg + sizeof(prefix) - 1;
	pos = strtol(p, &end, 10) - 1;
	if (end == p || strncmp(end, ": ", 2) != 0 || pos < 0 || pos > (long) strlen(query))
		return msg;
	for (long i = 0; i < pos; i++)
		if (query[i] == '\n')
		{
			line++;
			last_nl = i;
		}
	return psprintf("%d:%ld: parse error: %s", line, pos - last_nl, end + 2);
}
