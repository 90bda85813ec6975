/*
 * promql_func_range.c: the functions of a range vector (rate, increase,
 * delta, irate, deriv, predict_linear, holt_winters, *_over_time, ...).
 *
 * Each is computed per series and window; the engine's rule that their
 * output keeps the series' labels minus __name__ (except last_over_time and
 * first_over_time) lives in promql_call_range.  Numerical details (Kahan
 * sums, extrapolation, the regression of deriv/predict_linear) follow
 * Prometheus so the conformance scripts agree to their 1e-6 tolerance.
 */
#include <math.h>
#include <string.h>

#include "promql/promql_int.h"

/* Kahan-Babuska summation step, as Prometheus's kahanSumInc. */
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

/* Functions whose argument is a range vector. */
EvValue
promql_call_range(PromqlEval *ev, PromqlNode *call, int64_t ts, int argi)
{
	const PromqlFunction *f = call->func;
	PromqlNode *arg = promql_unwrap_paren(call->args[argi]);
	EvValue		m = promql_ev_eval(ev, arg, ts);
	EvValue		out = promql_vector_value();
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
			promql_vec_push(ev, &out.vec, promql_absent_labels(ev, arg), ts, 1);
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
