/*
 * api_params.c: the Prometheus HTTP API's parameter syntax.
 *
 * Times are Unix seconds with decimals or RFC 3339; durations are float
 * seconds or Prometheus durations (1h30m). Errors read exactly like
 * Prometheus's (`invalid parameter "start": cannot parse "x" to a valid
 * timestamp`), so clients that show them show the same text.
 */
#include "postgres.h"

#include <math.h>

#include "http/api.h"
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

/* RFC 3339 with optional fraction: 2015-07-01T20:10:51.781Z or ...+02:00 */
static bool
AlloyParseRfc3339(const char *s, int64 *ms)
{
	const char *p = s;
	int			y, mo, d, h, mi, sec;
	int64		frac_ms = 0;
	int			offset_min = 0;

	if (!AlloyDigits(&p, 4, &y) || *p++ != '-' || !AlloyDigits(&p, 2, &mo) ||
		*p++ != '-' || !AlloyDigits(&p, 2, &d) || (*p != 'T' && *p != 't'))
		return false;
	p++;
	if (!AlloyDigits(&p, 2, &h) || *p++ != ':' || !AlloyDigits(&p, 2, &mi) ||
		*p++ != ':' || !AlloyDigits(&p, 2, &sec))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return false;
	if (*p == '.')
	{
		int			scale = 100;

		p++;
		if (*p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9')
		{
			frac_ms += (*p - '0') * scale;
			scale /= 10;
			p++;
		}
	}
	if (*p == 'Z' || *p == 'z')
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

	if (*s == '\0' || isspace((unsigned char) *s))
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
	return AlloyParseRfc3339(s, ms);
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
		AlloyApiBadParam(resp, name, psprintf("cannot parse \"%s\" to a valid timestamp", s));
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
