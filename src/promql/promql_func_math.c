/*
 * promql_func_math.c: the functions of one plain value: math (abs, ln, sin,
 * ...), the calendar functions (hour, month, ...) and Go's min and max.
 *
 * Prometheus computes these with Go's math and time packages; where Go's
 * answers differ from the C library's (NaN handling of min/max, cosh and
 * sinh overflow, dates out of range) Go's are reproduced.
 */
#include <math.h>
#include <stdint.h>

#include "promql/promql_int.h"

/*
 * Go's math.Min/Max. Unlike fmin/fmax a NaN wins, except against the
 * infinity in the function's direction: Min(-Inf, NaN) is -Inf and
 * Max(+Inf, NaN) is +Inf (so clamp_max(-Inf, NaN) is -Inf). Of two zeros
 * Min picks -0 and Max +0.
 */
double
promql_go_min(double a, double b)
{
	if ((isinf(a) && a < 0) || (isinf(b) && b < 0))
		return -INFINITY;
	if (isnan(a) || isnan(b))
		return NAN;
	if (a == 0 && a == b)
		return signbit(a) ? a : b;
	return a < b ? a : b;
}
double
promql_go_max(double a, double b)
{
	if ((isinf(a) && a > 0) || (isinf(b) && b > 0))
		return INFINITY;
	if (isnan(a) || isnan(b))
		return NAN;
	if (a == 0 && a == b)
		return signbit(a) ? b : a;
	return a > b ? a : b;
}

/*
 * Go's time.Unix(int64(v), 0).UTC() broken down, computed the way Go's time
 * package does it so that values outside the calendar give Go's answers.
 * Go converts a float that does not fit an int64 (NaN, +-Inf, huge) to the
 * minimum int64 on amd64, and its arithmetic on seconds wraps around in
 * uint64: hour(vector(NaN)) is 15 and year(vector(NaN)) 292277026596 in
 * Prometheus, not an error or NaN. The calendar math below is Go's absDate
 * (400/100/4-year cycles counted from year -292277022399).
 */
typedef struct GoDate
{
	int64_t		year;
	int			month;			/* 1..12 */
	int			mday;			/* 1..31 */
	int			yday;			/* 0..365 */
	int			wday;			/* 0 = Sunday */
	int			hour;
	int			min;
} GoDate;

#define GO_SECS_PER_DAY		86400ULL
#define GO_DAYS_400Y		(365ULL * 400 + 97)
#define GO_DAYS_100Y		(365ULL * 100 + 24)
#define GO_DAYS_4Y			(365ULL * 4 + 1)
#define GO_ABSOLUTE_ZERO_YEAR	INT64_C(-292277022399)
/* unixToInternal + internalToAbsolute of Go's time package */
#define GO_UNIX_TO_ABSOLUTE	UINT64_C(9223372028715321600)

static bool
go_is_leap(int64_t y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static void
go_date(double v, GoDate *d)
{
	static const int before[13] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365};
	int64_t		sec;
	uint64_t	abs,
				days,
				n,
				y;
	int			day;

	if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0))
		sec = INT64_MIN;
	else
		sec = (int64_t) v;
	abs = (uint64_t) sec + GO_UNIX_TO_ABSOLUTE;
	d->hour = (int) (abs % GO_SECS_PER_DAY / 3600);
	d->min = (int) (abs % 3600 / 60);
	d->wday = (int) ((abs + GO_SECS_PER_DAY) % (7 * GO_SECS_PER_DAY) / GO_SECS_PER_DAY);

	days = abs / GO_SECS_PER_DAY;
	n = days / GO_DAYS_400Y;
	y = 400 * n;
	days -= GO_DAYS_400Y * n;
	n = days / GO_DAYS_100Y;
	n -= n >> 2;
	y += 100 * n;
	days -= GO_DAYS_100Y * n;
	n = days / GO_DAYS_4Y;
	y += 4 * n;
	days -= GO_DAYS_4Y * n;
	n = days / 365;
	n -= n >> 2;
	y += n;
	days -= 365 * n;
	d->year = (int64_t) y + GO_ABSOLUTE_ZERO_YEAR;
	d->yday = (int) days;

	day = d->yday;
	if (go_is_leap(d->year))
	{
		if (day == 31 + 29 - 1)
		{
			d->month = 2;
			d->mday = 29;
			return;
		}
		if (day > 31 + 29 - 1)
			day--;
	}
	d->month = day / 31;
	if (day >= before[d->month + 1])
		d->month++;
	d->mday = day - before[d->month] + 1;
	d->month++;
}

double
promql_func_date(int id, double v)
{
	GoDate		d;

	go_date(v, &d);
	switch (id)
	{
		case F_DAYS_IN_MONTH:
			{
				static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

				if (d.month == 2 && go_is_leap(d.year))
					return 29;
				return days[d.month - 1];
			}
		case F_DAY_OF_MONTH:
			return d.mday;
		case F_DAY_OF_WEEK:
			return d.wday;
		case F_DAY_OF_YEAR:
			return d.yday + 1;
		case F_HOUR:
			return d.hour;
		case F_MINUTE:
			return d.min;
		case F_MONTH:
			return d.month;
		case F_YEAR:
			return (double) d.year;
	}
	return NAN;
}

/*
 * Go's math.Cosh and Sinh take exp(|x|) / 2 above |x| = 21, so they reach
 * +Inf as soon as exp(|x|) does (|x| > 709.78), where the C library's stay
 * finite up to |x| = 710.47: cosh(vector(710)) is +Inf in Prometheus.
 */
static double
go_cosh(double v)
{
	double		x = fabs(v);

	if (x > 21)
		return exp(x) * 0.5;
	return cosh(v);
}

static double
go_sinh(double v)
{
	double		x = fabs(v);

	if (x > 21)
		return copysign(exp(x) * 0.5, v);
	return sinh(v);
}

double
promql_func_simple(int id, double v)
{
	switch (id)
	{
		case F_ABS:
			return fabs(v);
		case F_CEIL:
			return ceil(v);
		case F_FLOOR:
			return floor(v);
		case F_EXP:
			return exp(v);
		case F_SQRT:
			return sqrt(v);
		case F_LN:
			return log(v);
		case F_LOG2:
			return log2(v);
		case F_LOG10:
			return log10(v);
		case F_SIN:
			return sin(v);
		case F_COS:
			return cos(v);
		case F_TAN:
			return tan(v);
		case F_ASIN:
			return asin(v);
		case F_ACOS:
			return acos(v);
		case F_ATAN:
			return atan(v);
		case F_SINH:
			return go_sinh(v);
		case F_COSH:
			return go_cosh(v);
		case F_TANH:
			return tanh(v);
		case F_ASINH:
			return asinh(v);
		case F_ACOSH:
			return acosh(v);
		case F_ATANH:
			return atanh(v);
		case F_RAD:
			return v * M_PI / 180;
		case F_DEG:
			return v * 180 / M_PI;
		case F_SGN:
			return v < 0 ? -1 : v > 0 ? 1 : v;
	}
	return promql_func_date(id, v);
}
