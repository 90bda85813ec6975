/*
 * promql_func_call.c: a function call, dispatched on the function's id to
 * its implementation (promql_func_*.c); the small ones (scalar, vector,
 * clamp, round, timestamp, ...) are computed here.
 */
#include <math.h>
#include <string.h>

#include "promql/promql_int.h"

EvValue
promql_call(PromqlEval *ev, PromqlNode *call, int64_t ts)
{
	const PromqlFunction *f = call->func;
	EvValue		out = promql_vector_value();
	EvValue		a;

	/* range-vector functions */
	for (int i = 0; i < f->nargtypes; i++)
		if (f->argtypes[i] == PROMQL_VAL_MATRIX)
			return promql_call_range(ev, call, ts, i);

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
			return promql_call_histogram_quantile(ev, call, ts);
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
								}, ts, promql_func_date(f->id, (double) (ts / 1000)));
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
				promql_vec_push(ev, &out.vec, promql_absent_labels(ev, call->args[0]), ts, 1);
			return out;
		case F_SORT:
		case F_SORT_DESC:
		case F_SORT_BY_LABEL:
		case F_SORT_BY_LABEL_DESC:
			return promql_call_sort(ev, call, a, ts);
		case F_TIMESTAMP:
			{
				bool		selector = promql_unwrap_paren(call->args[0])->type == PROMQL_NODE_VECTOR_SELECTOR;

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

					v = promql_go_max(lo, promql_go_min(hi, v));
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
			return promql_call_label_replace(ev, call, a, ts);
		case F_LABEL_JOIN:
			return promql_call_label_join(ev, call, a, ts);
		default:
			for (int i = 0; i < a.vec.n; i++)
			{
				promql_ev_tick(ev);
				promql_vec_push(ev, &out.vec, promql_labels_drop_name(ev->arena, &a.vec.s[i].labels),
								ts, promql_func_simple(f->id, a.vec.s[i].v));
			}
			return out;
	}
}
