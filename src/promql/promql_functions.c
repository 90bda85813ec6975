/*
 * promql_functions.c: the PromQL 2.42 function table and implementations.
 *
 * Functions over a range vector are computed per series and window (rate,
 * *_over_time, ...); the engine's rule that their output keeps the series'
 * labels minus __name__ (except last_over_time) lives here, in call_matrix.
 * Numerical details (Kahan sums, extrapolation, the regression used by
 * deriv/predict_linear, bucket interpolation) follow Prometheus 2.42 so the
 * conformance scripts agree to their 1e-6 relative tolerance.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "promql/promql_int.h"

enum
{
	F_ABS, F_ABSENT, F_ABSENT_OVER_TIME, F_ACOS, F_ACOSH, F_ASIN, F_ASINH, F_ATAN, F_ATANH,
	F_AVG_OVER_TIME, F_CEIL, F_CHANGES, F_CLAMP, F_CLAMP_MAX, F_CLAMP_MIN, F_COS, F_COSH,
	F_COUNT_OVER_TIME, F_DAYS_IN_MONTH, F_DAY_OF_MONTH, F_DAY_OF_WEEK, F_DAY_OF_YEAR, F_DEG,
	F_DELTA, F_DERIV, F_EXP, F_FLOOR, F_HISTOGRAM_COUNT, F_HISTOGRAM_SUM, F_HISTOGRAM_FRACTION,
	F_HISTOGRAM_QUANTILE, F_HOLT_WINTERS, F_HOUR, F_IDELTA, F_INCREASE, F_IRATE,
	F_LABEL_REPLACE, F_LABEL_JOIN, F_LAST_OVER_TIME, F_LN, F_LOG10, F_LOG2, F_MAX_OVER_TIME,
	F_MIN_OVER_TIME, F_MINUTE, F_MONTH, F_PI, F_PREDICT_LINEAR, F_PRESENT_OVER_TIME,
	F_QUANTILE_OVER_TIME, F_RAD, F_RATE, F_RESETS, F_ROUND, F_SCALAR, F_SGN, F_SIN, F_SINH,
	F_SORT, F_SORT_DESC, F_SQRT, F_STDDEV_OVER_TIME, F_STDVAR_OVER_TIME, F_SUM_OVER_TIME,
	F_TAN, F_TANH, F_TIME, F_TIMESTAMP, F_VECTOR, F_YEAR,
	/* Prometheus 3 only */
	F_FIRST_OVER_TIME, F_MAD_OVER_TIME, F_TS_OF_FIRST_OVER_TIME, F_TS_OF_LAST_OVER_TIME,
	F_TS_OF_MAX_OVER_TIME, F_TS_OF_MIN_OVER_TIME, F_SORT_BY_LABEL, F_SORT_BY_LABEL_DESC
};

#define S PROMQL_VAL_SCALAR
#define V PROMQL_VAL_VECTOR
#define M PROMQL_VAL_MATRIX
#define STR PROMQL_VAL_STRING

/* Sorted by name for bsearch. */
static const PromqlFunction functions[] = {
	{"abs", {V}, 1, 0, V, F_ABS, 0},
	{"absent", {V}, 1, 0, V, F_ABSENT, 0},
	{"absent_over_time", {M}, 1, 0, V, F_ABSENT_OVER_TIME, 0},
	{"acos", {V}, 1, 0, V, F_ACOS, 0},
	{"acosh", {V}, 1, 0, V, F_ACOSH, 0},
	{"asin", {V}, 1, 0, V, F_ASIN, 0},
	{"asinh", {V}, 1, 0, V, F_ASINH, 0},
	{"atan", {V}, 1, 0, V, F_ATAN, 0},
	{"atanh", {V}, 1, 0, V, F_ATANH, 0},
	{"avg_over_time", {M}, 1, 0, V, F_AVG_OVER_TIME, 0},
	{"ceil", {V}, 1, 0, V, F_CEIL, 0},
	{"changes", {M}, 1, 0, V, F_CHANGES, 0},
	{"clamp", {V, S, S}, 3, 0, V, F_CLAMP, 0},
	{"clamp_max", {V, S}, 2, 0, V, F_CLAMP_MAX, 0},
	{"clamp_min", {V, S}, 2, 0, V, F_CLAMP_MIN, 0},
	{"cos", {V}, 1, 0, V, F_COS, 0},
	{"cosh", {V}, 1, 0, V, F_COSH, 0},
	{"count_over_time", {M}, 1, 0, V, F_COUNT_OVER_TIME, 0},
	{"day_of_month", {V}, 1, 1, V, F_DAY_OF_MONTH, 0},
	{"day_of_week", {V}, 1, 1, V, F_DAY_OF_WEEK, 0},
	{"day_of_year", {V}, 1, 1, V, F_DAY_OF_YEAR, 0},
	{"days_in_month", {V}, 1, 1, V, F_DAYS_IN_MONTH, 0},
	{"deg", {V}, 1, 0, V, F_DEG, 0},
	{"delta", {M}, 1, 0, V, F_DELTA, 0},
	{"deriv", {M}, 1, 0, V, F_DERIV, 0},
	{"double_exponential_smoothing", {M, S, S}, 3, 0, V, F_HOLT_WINTERS, PROMQL_COMPAT_V3},
	{"exp", {V}, 1, 0, V, F_EXP, 0},
	{"first_over_time", {M}, 1, 0, V, F_FIRST_OVER_TIME, PROMQL_COMPAT_V3},
	{"floor", {V}, 1, 0, V, F_FLOOR, 0},
	{"histogram_count", {V}, 1, 0, V, F_HISTOGRAM_COUNT, 0},
	{"histogram_fraction", {S, S, V}, 3, 0, V, F_HISTOGRAM_FRACTION, 0},
	{"histogram_quantile", {S, V}, 2, 0, V, F_HISTOGRAM_QUANTILE, 0},
	{"histogram_sum", {V}, 1, 0, V, F_HISTOGRAM_SUM, 0},
	{"holt_winters", {M, S, S}, 3, 0, V, F_HOLT_WINTERS, PROMQL_COMPAT_V2},
	{"hour", {V}, 1, 1, V, F_HOUR, 0},
	{"idelta", {M}, 1, 0, V, F_IDELTA, 0},
	{"increase", {M}, 1, 0, V, F_INCREASE, 0},
	{"irate", {M}, 1, 0, V, F_IRATE, 0},
	{"label_join", {V, STR, STR, STR}, 4, -1, V, F_LABEL_JOIN, 0},
	{"label_replace", {V, STR, STR, STR, STR}, 5, 0, V, F_LABEL_REPLACE, 0},
	{"last_over_time", {M}, 1, 0, V, F_LAST_OVER_TIME, 0},
	{"ln", {V}, 1, 0, V, F_LN, 0},
	{"log10", {V}, 1, 0, V, F_LOG10, 0},
	{"log2", {V}, 1, 0, V, F_LOG2, 0},
	{"mad_over_time", {M}, 1, 0, V, F_MAD_OVER_TIME, PROMQL_COMPAT_V3},
	{"max_over_time", {M}, 1, 0, V, F_MAX_OVER_TIME, 0},
	{"min_over_time", {M}, 1, 0, V, F_MIN_OVER_TIME, 0},
	{"minute", {V}, 1, 1, V, F_MINUTE, 0},
	{"month", {V}, 1, 1, V, F_MONTH, 0},
	{"pi", {0}, 0, 0, S, F_PI, 0},
	{"predict_linear", {M, S}, 2, 0, V, F_PREDICT_LINEAR, 0},
	{"present_over_time", {M}, 1, 0, V, F_PRESENT_OVER_TIME, 0},
	{"quantile_over_time", {S, M}, 2, 0, V, F_QUANTILE_OVER_TIME, 0},
	{"rad", {V}, 1, 0, V, F_RAD, 0},
	{"rate", {M}, 1, 0, V, F_RATE, 0},
	{"resets", {M}, 1, 0, V, F_RESETS, 0},
	{"round", {V, S}, 2, 1, V, F_ROUND, 0},
	{"scalar", {V}, 1, 0, S, F_SCALAR, 0},
	{"sgn", {V}, 1, 0, V, F_SGN, 0},
	{"sin", {V}, 1, 0, V, F_SIN, 0},
	{"sinh", {V}, 1, 0, V, F_SINH, 0},
	{"sort", {V}, 1, 0, V, F_SORT, 0},
	{"sort_by_label", {V, STR}, 2, -1, V, F_SORT_BY_LABEL, PROMQL_COMPAT_V3},
	{"sort_by_label_desc", {V, STR}, 2, -1, V, F_SORT_BY_LABEL_DESC, PROMQL_COMPAT_V3},
	{"sort_desc", {V}, 1, 0, V, F_SORT_DESC, 0},
	{"sqrt", {V}, 1, 0, V, F_SQRT, 0},
	{"stddev_over_time", {M}, 1, 0, V, F_STDDEV_OVER_TIME, 0},
	{"stdvar_over_time", {M}, 1, 0, V, F_STDVAR_OVER_TIME, 0},
	{"sum_over_time", {M}, 1, 0, V, F_SUM_OVER_TIME, 0},
	{"tan", {V}, 1, 0, V, F_TAN, 0},
	{"tanh", {V}, 1, 0, V, F_TANH, 0},
	{"time", {0}, 0, 0, S, F_TIME, 0},
	{"timestamp", {V}, 1, 0, V, F_TIMESTAMP, 0},
	{"ts_of_first_over_time", {M}, 1, 0, V, F_TS_OF_FIRST_OVER_TIME, PROMQL_COMPAT_V3},
	{"ts_of_last_over_time", {M}, 1, 0, V, F_TS_OF_LAST_OVER_TIME, PROMQL_COMPAT_V3},
	{"ts_of_max_over_time", {M}, 1, 0, V, F_TS_OF_MAX_OVER_TIME, PROMQL_COMPAT_V3},
	{"ts_of_min_over_time", {M}, 1, 0, V, F_TS_OF_MIN_OVER_TIME, PROMQL_COMPAT_V3},
	{"vector", {S}, 1, 0, V, F_VECTOR, 0},
	{"year", {V}, 1, 1, V, F_YEAR, 0},
};

#undef S
#undef V
#undef M
#undef STR

const PromqlFunction *
promql_function_lookup(const char *name, size_t len)
{
	int			lo = 0,
				hi = (int) (sizeof(functions) / sizeof(functions[0])) - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		int			c = strncmp(functions[mid].name, name, len);

		if (c == 0 && functions[mid].name[len] != '\0')
			c = 1;
		if (c == 0)
			return &functions[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

bool
promql_function_at_unsafe(const PromqlFunction *f)
{
	return f->id == F_DAYS_IN_MONTH || f->id == F_DAY_OF_MONTH || f->id == F_DAY_OF_WEEK ||
		f->id == F_DAY_OF_YEAR || f->id == F_HOUR || f->id == F_MINUTE || f->id == F_MONTH ||
		f->id == F_YEAR || f->id == F_TIME || f->id == F_PREDICT_LINEAR ||
		f->id == F_TIMESTAMP;
}

/* ------------------------------------------------------------- helpers */

/*
 * Go's math.Min/Max. Unlike fmin/fmax a NaN wins, except against the
 * infinity in the function's direction: Min(-Inf, NaN) is -Inf and
 * Max(+Inf, NaN) is +Inf (so clamp_max(-Inf, NaN) is -Inf). Of two zeros
 * Min picks -0 and Max +0.
 */
static double
go_min(double a, double b)
{
	if ((isinf(a) && a < 0) || (isinf(b) && b < 0))
		return -INFINITY;
	if (isnan(a) || isnan(b))
		return NAN;
	if (a == 0 && a == b)
		return signbit(a) ? a : b;
	return a < b ? a : b;
}
static double
go_max(double a, double b)
{
	if ((isinf(a) && a > 0) || (isinf(b) && b > 0))
		return INFINITY;
	if (isnan(a) || isnan(b))
		return NAN;
	if (a == 0 && a == b)
		return signbit(a) ? b : a;
	return a > b ? a : b;
}

static void
kahan_inc(double inc, double *sum, double *c)
{
	double		t = *sum + inc;

	if (fabs(*sum) >= fabs(inc))
		*c += (*sum - t) + inc;
	else
		*c += (inc - t) + *sum;
	*sum = t;
}

static PromqlNode *
unwrap_paren(PromqlNode *n)
{
	while (n->type == PROMQL_NODE_PAREN)
		n = n->expr;
	return n;
}

static EvValue
vector_value(void)
{
	EvValue		r;

	memset(&r, 0, sizeof(r));
	r.type = PROMQL_VAL_VECTOR;
	return r;
}

/* Prometheus's extrapolatedRate for rate, increase and delta. */
static bool
extrapolated_rate(const EvSeries *s, int64_t range_start, int64_t range_end, int64_t range_ms,
				  bool counter, bool is_rate, bool v3, double *out)
{
	double		result,
				prev,
				dstart,
				dend,
				sampled,
				avg,
				threshold,
				interval,
				factor;
	int			n = s->n;

	if (n < 2)
		return false;
	result = s->v[n - 1] - s->v[0];
	prev = s->v[0];
	if (counter)
		for (int i = 1; i < n; i++)
		{
			if (s->v[i] < prev)
				result += prev;
			prev = s->v[i];
		}
	dstart = (double) (s->t[0] - range_start) / 1000.0;
	dend = (double) (range_end - s->t[n - 1]) / 1000.0;
	sampled = (double) (s->t[n - 1] - s->t[0]) / 1000.0;
	avg = sampled / (double) (n - 1);
	if (counter && result > 0 && s->v[0] >= 0)
	{
		double		dzero = sampled * (s->v[0] / result);

		if (dzero < dstart)
			dstart = dzero;
	}
	threshold = avg * 1.1;
	interval = sampled;
	interval += dstart < threshold ? dstart : avg / 2;
	interval += dend < threshold ? dend : avg / 2;
	factor = interval / sampled;
	if (v3)
	{
		/* Prometheus 3 caps the start first and applies the zero point after */
		dstart = (double) (s->t[0] - range_start) / 1000.0;
		if (dstart >= threshold)
			dstart = avg / 2;
		if (counter && result > 0 && s->v[0] >= 0)
		{
			double		dzero = sampled * (s->v[0] / result);

			if (dzero < dstart)
				dstart = dzero;
		}
		if (dend >= threshold)
			dend = avg / 2;
		factor = (sampled + dstart + dend) / sampled;
	}
	if (is_rate)
		factor /= (double) range_ms / 1000.0;
	*out = result * factor;
	return true;
}

static void
linear_regression(const EvSeries *s, int64_t intercept_time, double *slope, double *intercept)
{
	double		n = 0,
				sx = 0,
				cx = 0,
				sy = 0,
				cy = 0,
				sxy = 0,
				cxy = 0,
				sx2 = 0,
				cx2 = 0;
	double		init = s->v[0];
	bool		consty = true;

	for (int i = 0; i < s->n; i++)
	{
		double		x;

		if (consty && i > 0 && s->v[i] != init)
			consty = false;
		n += 1.0;
		x = (double) (s->t[i] - intercept_time) / 1e3;
		kahan_inc(x, &sx, &cx);
		kahan_inc(s->v[i], &sy, &cy);
		kahan_inc(x * s->v[i], &sxy, &cxy);
		kahan_inc(x * x, &sx2, &cx2);
	}
	if (consty)
	{
		if (isinf(init))
		{
			*slope = NAN;
			*intercept = NAN;
			return;
		}
		*slope = 0;
		*intercept = init;
		return;
	}
	sx += cx;
	sy += cy;
	sxy += cxy;
	sx2 += cx2;
	{
		double		cov = sxy - sx * sy / n;
		double		var = sx2 - sx * sx / n;

		*slope = cov / var;
		*intercept = sy / n - *slope * sx / n;
	}
}

/* One window of one series -> value; false drops the element. */
static bool
matrix_func(PromqlEval *ev, int id, const EvSeries *s, const double *sargs,
			int64_t ts, int64_t range_start, int64_t range_end, int64_t range_ms, double *out)
{
	int			n = s->n;

	switch (id)
	{
		case F_RATE:
			return extrapolated_rate(s, range_start, range_end, range_ms, true, true, ev->v3, out);
		case F_INCREASE:
			return extrapolated_rate(s, range_start, range_end, range_ms, true, false, ev->v3, out);
		case F_DELTA:
			return extrapolated_rate(s, range_start, range_end, range_ms, false, false, ev->v3, out);
		case F_IRATE:
		case F_IDELTA:
			{
				double		last,
							prev,
							r;
				int64_t		dt;

				if (n < 2)
					return false;
				last = s->v[n - 1];
				prev = s->v[n - 2];
				if (id == F_IRATE && last < prev)
					r = last;
				else
					r = last - prev;
				dt = s->t[n - 1] - s->t[n - 2];
				if (dt == 0)
					return false;
				if (id == F_IRATE)
					r /= (double) dt / 1000.0;
				*out = r;
				return true;
			}
		case F_AVG_OVER_TIME:
			if (ev->v3)
			{
				/* Prometheus 3: a compensated sum, a running mean only on overflow */
				double		sum = s->v[0],
							count = 1,
							mean = 0,
							c = 0;
				bool		incremental = false;

				for (int i = 1; i < n; i++)
				{
					double		q;

					count = i + 1;
					if (!incremental)
					{
						double		ns = sum,
									nc = c;

						alloy_kahan_inc(s->v[i], &ns, &nc);
						if (!isinf(ns))
						{
							sum = ns;
							c = nc;
							continue;
						}
						incremental = true;
						mean = sum / (count - 1);
						c /= (count - 1);
					}
					q = (count - 1) / count;
					mean = q * mean;
					c = q * c;
					alloy_kahan_inc(s->v[i] / count, &mean, &c);
				}
				*out = incremental ? mean + c : sum / count + c / count;
				return true;
			}
			{
				double		mean = 0,
							count = 0,
							c = 0;

				for (int i = 0; i < n; i++)
				{
					double		v = s->v[i];

					count++;
					if (isinf(mean))
					{
						if (isinf(v) && (mean > 0) == (v > 0))
							continue;
						if (!isinf(v) && !isnan(v))
							continue;
					}
					kahan_inc(v / count - mean / count, &mean, &c);
				}
				*out = isinf(mean) ? mean : mean + c;
				return true;
			}
		case F_COUNT_OVER_TIME:
			*out = n;
			return true;
		case F_FIRST_OVER_TIME:
			*out = s->v[0];
			return true;
		case F_TS_OF_FIRST_OVER_TIME:
			*out = (double) s->t[0] / 1000.0;
			return true;
		case F_TS_OF_LAST_OVER_TIME:
			*out = (double) s->t[n - 1] / 1000.0;
			return true;
		case F_TS_OF_MAX_OVER_TIME:
		case F_TS_OF_MIN_OVER_TIME:
			{
				/* the last time the extreme value was seen */
				double		m = s->v[0];
				int64_t		t = s->t[0];

				for (int i = 0; i < n; i++)
					if ((id == F_TS_OF_MAX_OVER_TIME ? s->v[i] >= m : s->v[i] <= m) || isnan(m))
					{
						m = s->v[i];
						t = s->t[i];
					}
				*out = (double) t / 1000.0;
				return true;
			}
		case F_MAD_OVER_TIME:
			{
				double	   *vals = alloy_arena_alloc(ev->arena, sizeof(double) * n);
				double		median;

				for (int i = 0; i < n; i++)
				{
					if (isnan(s->v[i]))
					{
						*out = NAN;
						return true;
					}
					vals[i] = s->v[i];
				}
				median = promql_quantile(0.5, vals, n);
				for (int i = 0; i < n; i++)
					vals[i] = fabs(vals[i] - median);
				*out = promql_quantile(0.5, vals, n);
				return true;
			}
		case F_LAST_OVER_TIME:
			*out = s->v[n - 1];
			return true;
		case F_PRESENT_OVER_TIME:
		case F_ABSENT_OVER_TIME:
			*out = 1;
			return true;
		case F_MAX_OVER_TIME:
			{
				double		m = s->v[0];

				for (int i = 0; i < n; i++)
					if (s->v[i] > m || isnan(m))
						m = s->v[i];
				*out = m;
				return true;
			}
		case F_MIN_OVER_TIME:
			{
				double		m = s->v[0];

				for (int i = 0; i < n; i++)
					if (s->v[i] < m || isnan(m))
						m = s->v[i];
				*out = m;
				return true;
			}
		case F_SUM_OVER_TIME:
			{
				double		sum = 0,
							c = 0;

				for (int i = 0; i < n; i++)
					kahan_inc(s->v[i], &sum, &c);
				*out = isinf(sum) ? sum : sum + c;
				return true;
			}
		case F_STDDEV_OVER_TIME:
		case F_STDVAR_OVER_TIME:
			{
				double		count = 0,
							mean = 0,
							cmean = 0,
							aux = 0,
							caux = 0;

				for (int i = 0; i < n; i++)
				{
					double		delta;

					count++;
					delta = s->v[i] - (mean + cmean);
					kahan_inc(delta / count, &mean, &cmean);
					kahan_inc(delta * (s->v[i] - (mean + cmean)), &aux, &caux);
				}
				*out = (aux + caux) / count;
				if (id == F_STDDEV_OVER_TIME)
					*out = sqrt(*out);
				return true;
			}
		case F_QUANTILE_OVER_TIME:
			{
				double	   *vals = alloy_arena_alloc(ev->arena, sizeof(double) * n);

				memcpy(vals, s->v, sizeof(double) * n);
				*out = promql_quantile(sargs[0], vals, n);
				return true;
			}
		case F_CHANGES:
		case F_RESETS:
			{
				int			k = 0;
				double		prev = s->v[0];

				for (int i = 1; i < n; i++)
				{
					double		cur = s->v[i];

					if (id == F_CHANGES ? (cur != prev && !(isnan(cur) && isnan(prev))) : cur < prev)
						k++;
					prev = cur;
				}
				*out = k;
				return true;
			}
		case F_DERIV:
			{
				double		slope,
							icpt;

				if (n < 2)
					return false;
				linear_regression(s, s->t[0], &slope, &icpt);
				*out = slope;
				return true;
			}
		case F_PREDICT_LINEAR:
			{
				double		slope,
							icpt;

				if (n < 2)
					return false;
				linear_regression(s, ts, &slope, &icpt);
				*out = slope * sargs[0] + icpt;
				return true;
			}
		case F_HOLT_WINTERS:
			{
				double		sf = sargs[0],
							tf = sargs[1];
				double		s0 = 0,
							s1,
							b;

				if (sf <= 0 || sf >= 1)
					promql_ev_error(ev, "invalid smoothing factor. Expected: 0 < sf < 1, got: %f", sf);
				if (tf <= 0 || tf >= 1)
					promql_ev_error(ev, "invalid trend factor. Expected: 0 < tf < 1, got: %f", tf);
				if (n < 2)
					return false;
				s1 = s->v[0];
				b = s->v[1] - s->v[0];
				for (int i = 1; i < n; i++)
				{
					double		x = sf * s->v[i];
					double		y;

					if (i - 1 != 0)
						b = tf * (s1 - s0) + (1 - tf) * b;
					y = (1 - sf) * (s1 + b);
					s0 = s1;
					s1 = x + y;
				}
				*out = s1;
				return true;
			}
	}
	return false;
}

/*
 * absent()'s labels: the equality matchers of a selector argument. As in
 * Prometheus 2.42 the matchers are applied in order: the first equality
 * matcher of a name sets it, any later matcher of that name (and any
 * non-equality matcher) deletes it, so {a!="x",a="y"} keeps a="y" while
 * {a="y",a!="x"} and {a="y",a="z"} drop a.
 */
static PromqlLabels
absent_labels(PromqlEval *ev, PromqlNode *arg)
{
	PromqlLabels out = {0, NULL};
	PromqlNode *vs = NULL;
	const char **has;
	int			nhas = 0;

	/* 2.42 unwraps parentheses around a call's arguments before this */
	arg = unwrap_paren(arg);
	if (arg->type == PROMQL_NODE_VECTOR_SELECTOR)
		vs = arg;
	else if (arg->type == PROMQL_NODE_MATRIX_SELECTOR)
		vs = arg->expr;
	if (!vs)
		return out;
	has = alloy_arena_alloc(ev->arena, sizeof(char *) * (vs->nmatchers + 1));
	for (int i = 0; i < vs->nmatchers; i++)
	{
		const PromqlMatcher *m = &vs->matchers[i];
		bool		seen = false;

		if (strcmp(m->name, "__name__") == 0)
			continue;
		for (int j = 0; j < nhas && !seen; j++)
			seen = strcmp(has[j], m->name) == 0;
		if (m->type == PROMQL_MATCH_EQ && !seen)
		{
			out = promql_labels_set(ev->arena, &out, m->name, m->value);
			has[nhas++] = m->name;
		}
		else
			out = promql_labels_set(ev->arena, &out, m->name, NULL);
	}
	return out;
}

/* Functions whose argument is a range vector. */
static EvValue
call_matrix(PromqlEval *ev, PromqlNode *call, int64_t ts, int argi)
{
	const PromqlFunction *f = call->func;
	PromqlNode *arg = unwrap_paren(call->args[argi]);
	EvValue		m = promql_ev_eval(ev, arg, ts);
	EvValue		out = vector_value();
	double		sargs[4] = {0};
	int			ns = 0;
	int64_t		range_ms,
				range_end;

	for (int i = 0; i < call->nargs; i++)
		if (i != argi)
			sargs[ns++] = promql_ev_eval(ev, call->args[i], ts).scalar;
	if (arg->type == PROMQL_NODE_MATRIX_SELECTOR)
	{
		PromqlNode *vs = arg->expr;

		range_ms = arg->range_ms;
		range_end = (vs->at_kind == PROMQL_AT_NONE ? ts :
					 vs->at_kind == PROMQL_AT_TIME ? vs->at_ms :
					 vs->at_kind == PROMQL_AT_START ? ev->start : ev->end);
		range_end = promql_ts_sub(range_end, vs->offset_ms);
	}
	else
	{
		range_ms = arg->range_ms;
		range_end = (arg->at_kind == PROMQL_AT_NONE ? ts :
					 arg->at_kind == PROMQL_AT_TIME ? arg->at_ms :
					 arg->at_kind == PROMQL_AT_START ? ev->start : ev->end);
		range_end = promql_ts_sub(range_end, arg->offset_ms);
	}
	if (f->id == F_ABSENT_OVER_TIME)
	{
		if (m.mat.n == 0)
			promql_vec_push(ev, &out.vec, absent_labels(ev, arg), ts, 1);
		return out;
	}
	for (int i = 0; i < m.mat.n; i++)
	{
		EvSeries   *s = &m.mat.s[i];
		double		v;

		promql_ev_tick(ev);
		if (s->n == 0)
			continue;
		if (matrix_func(ev, f->id, s, sargs, ts, promql_ts_sub(range_end, range_ms), range_end, range_ms, &v))
			promql_vec_push(ev, &out.vec,
							(f->id == F_LAST_OVER_TIME || f->id == F_FIRST_OVER_TIME) ? s->labels :
							promql_labels_drop_name(ev->arena, &s->labels), ts, v);
	}
	return out;
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

static double
date_func(int id, double v)
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

static double
simple_func(int id, double v)
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
	return date_func(id, v);
}

/* Go's Regexp.Expand: $1, ${1}, $name, ${name}, $$. */
static char *
expand_template(PromqlEval *ev, const AlloyRegex *rx, const char *tmpl, const char *src,
				const size_t *ovec, int npairs)
{
	size_t		cap = strlen(tmpl) + strlen(src) * 4 + 16;
	char	   *out = alloy_arena_alloc(ev->arena, cap);
	size_t		o = 0;

	for (const char *p = tmpl; *p;)
	{
		const char *name;
		size_t		nlen;
		int			g = -1;
		bool		braces = false;

		if (*p != '$')
		{
			if (o + 1 >= cap)
			{
				out = alloy_arena_realloc(ev->arena, out, cap, cap * 2);
				cap *= 2;
			}
			out[o++] = *p++;
			continue;
		}
		if (p[1] == '$')
		{
			out[o++] = '$';
			p += 2;
			continue;
		}
		name = p + 1;
		if (*name == '{')
		{
			braces = true;
			name++;
		}
		nlen = 0;
		while (name[nlen] && (name[nlen] == '_' || (name[nlen] >= 'a' && name[nlen] <= 'z') ||
							  (name[nlen] >= 'A' && name[nlen] <= 'Z') ||
							  (name[nlen] >= '0' && name[nlen] <= '9')))
			nlen++;
		if (nlen == 0 || (braces && name[nlen] != '}'))
		{
			/* malformed: copy the '$' literally */
			out[o++] = *p++;
			continue;
		}
		p = name + nlen + (braces ? 1 : 0);
		{
			bool		numeric = true;
			long		num = 0;

			for (size_t i = 0; i < nlen; i++)
			{
				if (name[i] < '0' || name[i] > '9')
				{
					numeric = false;
					break;
				}
				if (num < 100000)
					num = num * 10 + (name[i] - '0');
			}
			if (numeric)
				g = (int) num;
			else
				g = alloy_regex_group_number(rx, name, nlen);
		}
		if (g >= 0 && g < npairs && ovec[2 * g] != (size_t) -1)
		{
			size_t		len = ovec[2 * g + 1] - ovec[2 * g];

			while (o + len + 1 >= cap)
			{
				out = alloy_arena_realloc(ev->arena, out, cap, cap * 2);
				cap *= 2;
			}
			memcpy(out + o, src + ovec[2 * g], len);
			o += len;
		}
	}
	out[o] = '\0';
	return out;
}

typedef struct Bucket
{
	double		upper;
	double		count;
} Bucket;

static int
cmp_bucket(const void *a, const void *b)
{
	double		x = ((const Bucket *) a)->upper,
				y = ((const Bucket *) b)->upper;

	return x < y ? -1 : x > y ? 1 : 0;
}

static double
bucket_quantile(double q, Bucket *b, int n)
{
	int			i,
				k;
	double		obs,
				rank,
				start = 0,
				end,
				count;

	if (isnan(q))
		return NAN;
	if (q < 0)
		return -INFINITY;
	if (q > 1)
		return INFINITY;
	qsort(b, n, sizeof(Bucket), cmp_bucket);
	if (!(isinf(b[n - 1].upper) && b[n - 1].upper > 0))
		return NAN;
	/* coalesce equal bounds */
	k = 0;
	for (i = 1; i < n; i++)
	{
		if (b[i].upper == b[k].upper)
			b[k].count += b[i].count;
		else
			b[++k] = b[i];
	}
	n = k + 1;
	/* ensure monotonic counts */
	{
		double		max = b[0].count;

		for (i = 1; i < n; i++)
		{
			if (b[i].count > max)
				max = b[i].count;
			else if (b[i].count < max)
				b[i].count = max;
		}
	}
	if (n < 2)
		return NAN;
	obs = b[n - 1].count;
	if (obs == 0)
		return NAN;
	rank = q * obs;
	/* sort.Search over the first n-1 buckets */
	{
		int			lo = 0,
					hi = n - 1;

		while (lo < hi)
		{
			int			mid = (lo + hi) / 2;

			if (b[mid].count >= rank)
				hi = mid;
			else
				lo = mid + 1;
		}
		i = lo;
	}
	if (i == n - 1)
		return b[n - 2].upper;
	if (i == 0 && b[0].upper <= 0)
		return b[0].upper;
	end = b[i].upper;
	count = b[i].count;
	if (i > 0)
	{
		start = b[i - 1].upper;
		count -= b[i - 1].count;
		rank -= b[i - 1].count;
	}
	return start + (end - start) * (rank / count);
}

static bool
parse_go_float(const char *s, double *out)
{
	char	   *end;

	if (!*s || *s == ' ' || *s == '\t' || *s == '\n')
		return false;
	*out = strtod(s, &end);
	return *end == '\0';
}

typedef struct HistGroup
{
	PromqlLabels labels;
	Bucket	   *b;
	int			n,
				cap;
} HistGroup;

static EvValue
call_histogram_quantile(PromqlEval *ev, PromqlNode *call, int64_t ts)
{
	double		q = promql_ev_eval(ev, call->args[0], ts).scalar;
	EvValue		in = promql_ev_eval(ev, call->args[1], ts);
	EvValue		out = vector_value();
	PromqlLMap	map;
	HistGroup  *g = alloy_arena_alloc(ev->arena, sizeof(HistGroup) * (in.vec.n + 1));
	int			ng = 0;
	static const char *const le[] = {"le"};
	static const char *const excluded[] = {"__name__", "le"};

	promql_lmap_init(&map, ev->arena, in.vec.n);
	for (int i = 0; i < in.vec.n; i++)
	{
		PromqlSample *s = &in.vec.s[i];
		const char *les = promql_labels_get(&s->labels, "le");
		double		upper;
		PromqlLabels key;
		uint64_t	h;
		int			k;

		if (!les || !parse_go_float(les, &upper))
			continue;
		key = promql_labels_filter(ev->arena, &s->labels, le, 1, false, false);
		h = promql_labels_hash(&key);
		k = promql_lmap_get(&map, h, &key);
		if (k < 0)
		{
			k = ng++;
			memset(&g[k], 0, sizeof(HistGroup));
			g[k].labels = promql_labels_filter(ev->arena, &s->labels, excluded, 2, false, false);
			promql_lmap_put(&map, h, &key, k);
		}
		if (g[k].n == g[k].cap)
		{
			int			nc = g[k].cap ? g[k].cap * 2 : 8;

			g[k].b = alloy_arena_realloc(ev->arena, g[k].b, sizeof(Bucket) * g[k].cap, sizeof(Bucket) * nc);
			g[k].cap = nc;
		}
		g[k].b[g[k].n].upper = upper;
		g[k].b[g[k].n].count = s->v;
		g[k].n++;
	}
	for (int i = 0; i < ng; i++)
		if (g[i].n > 0)
			promql_vec_push(ev, &out.vec, g[i].labels, ts, bucket_quantile(q, g[i].b, g[i].n));
	return out;
}

static int
cmp_sort_asc(const void *a, const void *b)
{
	double		x = ((const PromqlSample *) a)->v,
				y = ((const PromqlSample *) b)->v;

	/* ascending, NaN last */
	if (isnan(x))
		return isnan(y) ? 0 : 1;
	if (isnan(y))
		return -1;
	return x < y ? -1 : x > y ? 1 : 0;
}

static int
cmp_sort_desc(const void *a, const void *b)
{
	double		x = ((const PromqlSample *) a)->v,
				y = ((const PromqlSample *) b)->v;

	if (isnan(x))
		return isnan(y) ? 0 : 1;
	if (isnan(y))
		return -1;
	return x > y ? -1 : x < y ? 1 : 0;
}

/*
 * Natural order of facette/natsort (what sort_by_label uses): strings split
 * into runs of ASCII digits and of other bytes, compared run by run, digit
 * runs as integers.  Returns true when a sorts before b.
 */
static bool
natsort_less(const char *a, const char *b)
{
	for (;;)
	{
		const char *ea = a,
				   *eb = b;
		bool		da,
					db;
		bool		lasta,
					lastb;

		if (!*a)
			return false;
		if (!*b)
			return false;
		da = isdigit((unsigned char) *a);
		db = isdigit((unsigned char) *b);
		while (*ea && (isdigit((unsigned char) *ea) != 0) == da)
			ea++;
		while (*eb && (isdigit((unsigned char) *eb) != 0) == db)
			eb++;
		lasta = *ea == '\0';
		lastb = *eb == '\0';
		if (da && db && ea - a <= 18 && eb - b <= 18)
		{
			long long	x = strtoll(a, NULL, 10),
						y = strtoll(b, NULL, 10);

			if (x != y)
				return x < y;
		}
		else
		{
			size_t		la = (size_t) (ea - a),
						lb = (size_t) (eb - b);
			int			c = memcmp(a, b, la < lb ? la : lb);

			if (c != 0 || la != lb)
				return c < 0 || (c == 0 && la < lb);
		}
		if (lasta)
			return true;
		if (lastb)
			return false;
		a = ea;
		b = eb;
	}
}

static const char **sort_labels;
static int	sort_nlabels;
static bool sort_desc;

static int
cmp_by_label(const void *pa, const void *pb)
{
	const PromqlSample *a = pa,
			   *b = pb;

	for (int i = 0; i < sort_nlabels; i++)
	{
		const char *x = promql_labels_get(&a->labels, sort_labels[i]);
		const char *y = promql_labels_get(&b->labels, sort_labels[i]);

		if (!x)
			x = "";
		if (!y)
			y = "";
		if (strcmp(x, y) == 0)
			continue;
		return natsort_less(x, y) != sort_desc ? -1 : 1;
	}
	return sort_desc ? -promql_labels_cmp(&a->labels, &b->labels) :
		promql_labels_cmp(&a->labels, &b->labels);
}

EvValue
promql_call(PromqlEval *ev, PromqlNode *call, int64_t ts)
{
	const PromqlFunction *f = call->func;
	EvValue		out = vector_value();
	EvValue		a;

	/* range-vector functions */
	for (int i = 0; i < f->nargtypes; i++)
		if (f->argtypes[i] == PROMQL_VAL_MATRIX)
			return call_matrix(ev, call, ts, i);

	switch (f->id)
	{
		case F_PI:
			out.type = PROMQL_VAL_SCALAR;
			out.scalar = M_PI;
			return out;
		case F_TIME:
			out.type = PROMQL_VAL_SCALAR;
			out.scalar = (double) ts / 1000.0;
			return out;
		case F_SCALAR:
			a = promql_ev_eval(ev, call->args[0], ts);
			out.type = PROMQL_VAL_SCALAR;
			out.scalar = a.vec.n == 1 ? a.vec.s[0].v : NAN;
			return out;
		case F_VECTOR:
			a = promql_ev_eval(ev, call->args[0], ts);
			promql_vec_push(ev, &out.vec, (PromqlLabels)
							{
								0, NULL
							}, ts, a.scalar);
			return out;
		case F_HISTOGRAM_QUANTILE:
			return call_histogram_quantile(ev, call, ts);
		case F_HISTOGRAM_COUNT:
		case F_HISTOGRAM_SUM:
			(void) promql_ev_eval(ev, call->args[0], ts);
			return out;			/* no native histograms: never a result */
		case F_HISTOGRAM_FRACTION:
			(void) promql_ev_eval(ev, call->args[2], ts);
			return out;
		case F_DAYS_IN_MONTH:
		case F_DAY_OF_MONTH:
		case F_DAY_OF_WEEK:
		case F_DAY_OF_YEAR:
		case F_HOUR:
		case F_MINUTE:
		case F_MONTH:
		case F_YEAR:
			if (call->nargs == 0)
			{
				promql_vec_push(ev, &out.vec, (PromqlLabels)
								{
									0, NULL
								}, ts, date_func(f->id, (double) (ts / 1000)));
				return out;
			}
			break;
		default:
			break;
	}

	a = promql_ev_eval(ev, call->args[0], ts);
	switch (f->id)
	{
		case F_ABSENT:
			if (a.vec.n == 0)
				promql_vec_push(ev, &out.vec, absent_labels(ev, call->args[0]), ts, 1);
			return out;
		case F_SORT:
		case F_SORT_DESC:
			out.vec = a.vec;
			promql_stable_sort(out.vec.s, out.vec.n, sizeof(PromqlSample),
							   f->id == F_SORT ? cmp_sort_asc : cmp_sort_desc);
			return out;
		case F_SORT_BY_LABEL:
		case F_SORT_BY_LABEL_DESC:
			{
				int			nl = call->nargs - 1;

				sort_labels = alloy_arena_alloc(ev->arena, sizeof(char *) * (nl + 1));
				for (int i = 0; i < nl; i++)
					sort_labels[i] = promql_ev_eval(ev, call->args[1 + i], ts).str;
				sort_nlabels = nl;
				sort_desc = f->id == F_SORT_BY_LABEL_DESC;
				out.vec = a.vec;
				promql_stable_sort(out.vec.s, out.vec.n, sizeof(PromqlSample), cmp_by_label);
				return out;
			}
		case F_TIMESTAMP:
			{
				bool		selector = unwrap_paren(call->args[0])->type == PROMQL_NODE_VECTOR_SELECTOR;

				for (int i = 0; i < a.vec.n; i++)
					promql_vec_push(ev, &out.vec, promql_labels_drop_name(ev->arena, &a.vec.s[i].labels),
									ts, (double) (selector ? a.vec.s[i].t : ts) / 1000.0);
				return out;
			}
		case F_CLAMP:
		case F_CLAMP_MAX:
		case F_CLAMP_MIN:
			{
				double		lo = -INFINITY,
							hi = INFINITY;

				if (f->id == F_CLAMP)
				{
					lo = promql_ev_eval(ev, call->args[1], ts).scalar;
					hi = promql_ev_eval(ev, call->args[2], ts).scalar;
					if (hi < lo)
						return out;
				}
				else if (f->id == F_CLAMP_MAX)
					hi = promql_ev_eval(ev, call->args[1], ts).scalar;
				else
					lo = promql_ev_eval(ev, call->args[1], ts).scalar;
				for (int i = 0; i < a.vec.n; i++)
				{
					double		v = a.vec.s[i].v;

					v = go_max(lo, go_min(hi, v));
					promql_vec_push(ev, &out.vec, promql_labels_drop_name(ev->arena, &a.vec.s[i].labels), ts, v);
				}
				return out;
			}
		case F_ROUND:
			{
				double		to = 1,
							inv;

				if (call->nargs >= 2)
					to = promql_ev_eval(ev, call->args[1], ts).scalar;
				inv = 1.0 / to;
				for (int i = 0; i < a.vec.n; i++)
					promql_vec_push(ev, &out.vec, promql_labels_drop_name(ev->arena, &a.vec.s[i].labels),
									ts, floor(a.vec.s[i].v * inv + 0.5) / inv);
				return out;
			}
		case F_LABEL_REPLACE:
			{
				const char *dst = promql_ev_eval(ev, call->args[1], ts).str;
				const char *repl = promql_ev_eval(ev, call->args[2], ts).str;
				const char *src = promql_ev_eval(ev, call->args[3], ts).str;
				const char *re = promql_ev_eval(ev, call->args[4], ts).str;
				char		errbuf[256];
				AlloyAllocHooks rxhooks = alloy_arena_hooks(ev->arena);
				AlloyRegex *rx = alloy_regex_compile(re, strlen(re), &rxhooks, errbuf, sizeof(errbuf));
				size_t		ovec[2 * 32];

				if (!rx)
					promql_ev_error(ev, "invalid regular expression in label_replace(): %s", re);
				if (!alloy_valid_label_name(dst, strlen(dst)))
					promql_ev_error(ev, "invalid destination label name in label_replace(): %s", dst);
				for (int i = 0; i < a.vec.n; i++)
				{
					PromqlSample *s = &a.vec.s[i];
					const char *sv = promql_labels_get(&s->labels, src);
					int			np;
					PromqlLabels m = s->labels;

					if (!sv)
						sv = "";
					np = alloy_regex_captures(rx, sv, strlen(sv), ovec, 32);
					if (np >= 0)
						m = promql_labels_set(ev->arena, &m, dst,
											  expand_template(ev, rx, repl, sv, ovec, np));
					promql_vec_push(ev, &out.vec, m, ts, s->v);
				}
				return out;
			}
		case F_LABEL_JOIN:
			{
				const char *dst = promql_ev_eval(ev, call->args[1], ts).str;
				const char *sep = promql_ev_eval(ev, call->args[2], ts).str;
				int			nsrc = call->nargs - 3;
				const char **srcs = alloy_arena_alloc(ev->arena, sizeof(char *) * (nsrc + 1));

				for (int i = 0; i < nsrc; i++)
				{
					srcs[i] = promql_ev_eval(ev, call->args[3 + i], ts).str;
					if (!alloy_valid_label_name(srcs[i], strlen(srcs[i])))
						promql_ev_error(ev, "invalid source label name in label_join(): %s", srcs[i]);
				}
				if (!alloy_valid_label_name(dst, strlen(dst)))
					promql_ev_error(ev, "invalid destination label name in label_join(): %s", dst);
				for (int i = 0; i < a.vec.n; i++)
				{
					PromqlSample *s = &a.vec.s[i];
					size_t		len = 1;
					char	   *joined,
							   *p;

					for (int j = 0; j < nsrc; j++)
					{
						const char *v = promql_labels_get(&s->labels, srcs[j]);

						len += (v ? strlen(v) : 0) + strlen(sep);
					}
					joined = p = alloy_arena_alloc(ev->arena, len);
					*p = '\0';
					for (int j = 0; j < nsrc; j++)
					{
						const char *v = promql_labels_get(&s->labels, srcs[j]);

						if (j > 0)
							p = stpcpy(p, sep);
						p = stpcpy(p, v ? v : "");
					}
					promql_vec_push(ev, &out.vec, promql_labels_set(ev->arena, &s->labels, dst, joined),
									ts, s->v);
				}
				return out;
			}
		default:
			for (int i = 0; i < a.vec.n; i++)
			{
				promql_ev_tick(ev);
				promql_vec_push(ev, &out.vec, promql_labels_drop_name(ev->arena, &a.vec.s[i].labels),
								ts, simple_func(f->id, a.vec.s[i].v));
			}
			return out;
	}
}
