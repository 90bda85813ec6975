/*
 * promql_eval.c: the evaluator of the PromQL engine: its entry points and
 * the dispatch of a node to the code that evaluates it.
 *
 * Planning (promql_plan.c) walks the AST once with the interval of evaluation times each
 * node will see (narrowed by @, shifted by offset and subquery windows) and
 * computes for every selector the exact [mint, maxt] it reads; storage is
 * asked once per selector for that window.
 *
 * Evaluation is step by step: the whole expression is evaluated at each
 * output timestamp.  Each node evaluated at time ts yields a scalar, string,
 * instant vector or (for range selectors and subqueries) a set of windows.
 * Selectors only slice the arrays fetched during planning (binary search),
 * so a step costs O(series * log samples) per selector.  This gives
 * Prometheus 2.42's results (which evaluates node by node over all steps)
 * because every PromQL operation is defined per step; the exceptions
 * Prometheus has (absent_over_time over a range, label sets checked over a
 * whole range) are reproduced where they matter.
 *
 * Errors longjmp back to promql_eval; all memory is in the query's arena.
 *
 * The node evaluators (promql_select.c, promql_binop.c, promql_aggr.c,
 * promql_func_*.c) evaluate their operands through PromqlEval.eval_node,
 * which ev_init points at eval_node here: the recursion of evaluation goes
 * through that pointer, so those files need not call back into this one.
 */
#include <stdlib.h>
#include <string.h>

#include "promql/promql_int.h"

/* ------------------------------------------------------------------ eval */

/* The value of node n at time ts: promql_ev_eval's target. */
static EvValue
eval_node(PromqlEval *ev, PromqlNode *n, int64_t ts)
{
	EvValue		r;

	memset(&r, 0, sizeof(r));
	switch (n->type)
	{
		case PROMQL_NODE_NUMBER:
			r.type = PROMQL_VAL_SCALAR;
			r.scalar = n->number;
			return r;
		case PROMQL_NODE_STRING:
			r.type = PROMQL_VAL_STRING;
			r.str = n->str;
			return r;
		case PROMQL_NODE_PAREN:
			return promql_ev_eval(ev, n->expr, ts);
		case PROMQL_NODE_VECTOR_SELECTOR:
			return promql_eval_vector_selector(ev, n, ts);
		case PROMQL_NODE_MATRIX_SELECTOR:
			return promql_eval_matrix_selector(ev, n, ts);
		case PROMQL_NODE_SUBQUERY:
			return promql_eval_subquery(ev, n, ts);
		case PROMQL_NODE_UNARY:
			r = promql_ev_eval(ev, n->expr, ts);
			if (n->op == PROMQL_OP_SUB)
			{
				if (r.type == PROMQL_VAL_SCALAR)
					r.scalar = -r.scalar;
				else
				{
					PromqlVector v;

					memset(&v, 0, sizeof(v));
					for (int i = 0; i < r.vec.n; i++)
						promql_vec_push(ev, &v, promql_labels_drop_name(ev->arena, &r.vec.s[i].labels),
										ts, -r.vec.s[i].v);
					r.vec = v;
					promql_check_unique_labels(ev, &r.vec);
				}
			}
			return r;
		case PROMQL_NODE_BINARY:
			return promql_eval_binary(ev, n, ts);
		case PROMQL_NODE_AGGREGATE:
			return promql_eval_aggregate(ev, n, ts);
		case PROMQL_NODE_CALL:
			r = promql_call(ev, n, ts);
			if (r.type == PROMQL_VAL_VECTOR)
				promql_check_unique_labels(ev, &r.vec);
			return r;
	}
	promql_ev_error(ev, "unknown node type");
}

/* ------------------------------------------------------------ entry points */

void
promql_engine_opts_default(PromqlEngineOpts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->lookback_ms = 5 * 60 * 1000;
	opts->max_samples = 50000000;
	opts->default_subquery_step_ms = 60000;
	opts->compat = PROMQL_COMPAT_V2;
}

static void
ev_init(PromqlEval *ev, AlloyArena *arena, const PromqlEngineOpts *opts,
		PromqlStorage *storage, int64_t start, int64_t end, int64_t step)
{
	memset(ev, 0, sizeof(*ev));
	ev->arena = arena;
	ev->qarena = arena;
	ev->opts = opts;
	ev->storage = storage;
	ev->start = start;
	ev->end = end;
	ev->interval = step > 0 ? step : 1;
	ev->lookback = opts->lookback_ms > 0 ? opts->lookback_ms : 5 * 60 * 1000;
	ev->v3 = opts->compat == PROMQL_COMPAT_V3;
	ev->max_samples = opts->max_samples;
	ev->eval_node = eval_node;
}

typedef struct OutSeries
{
	PromqlSeriesOut s;
} OutSeries;

static void
series_push(AlloyArena *a, PromqlSeriesOut *s, int64_t t, double v)
{
	if (s->n == s->cap)
	{
		int			nc = s->cap ? s->cap * 2 : 16;

		s->t = alloy_arena_realloc(a, s->t, sizeof(int64_t) * s->cap, sizeof(int64_t) * nc);
		s->v = alloy_arena_realloc(a, s->v, sizeof(double) * s->cap, sizeof(double) * nc);
		s->cap = nc;
	}
	s->t[s->n] = t;
	s->v[s->n] = v;
	s->n++;
}

static int
cmp_series_out(const void *a, const void *b)
{
	return promql_labels_cmp(&((const PromqlSeriesOut *) a)->labels,
							 &((const PromqlSeriesOut *) b)->labels);
}

bool
promql_eval(AlloyArena *arena, const PromqlEngineOpts *opts, PromqlStorage *storage,
			PromqlNode *expr, int64_t start, int64_t end, int64_t step,
			PromqlResult *result, const char **err)
{
	PromqlEval	ev;
	Planner		pl;
	PromqlValueType type = promql_node_type(expr);

	AlloyArena *steparena;

	memset(result, 0, sizeof(*result));
	*err = NULL;
	ev_init(&ev, arena, opts, storage, start, end, step);
	/* created before setjmp so the error path can release it */
	steparena = alloy_arena_create(&arena->hooks);
	if (setjmp(ev.jb) != 0)
	{
		alloy_arena_destroy(steparena);
		*err = ev.err;
		return false;
	}
	/*
	 * step > 0 is a range query even when start == end: Prometheus 2.42
	 * checks the type and answers a matrix then too (its instant path is
	 * taken only for step 0).
	 */
	if (step > 0)
	{
		if (type != PROMQL_VAL_SCALAR && type != PROMQL_VAL_VECTOR)
			promql_ev_error(&ev, "invalid expression type \"%s\" for range query, must be Scalar or instant Vector",
							promql_value_type_name(type));
		if (end < start)
			promql_ev_error(&ev, "end timestamp must not be before start time");
	}
	memset(&pl, 0, sizeof(pl));
	pl.ev = &ev;
	pl.fetch = true;
	promql_plan_node(&pl, expr, start, end);

	if (step <= 0)
	{
		EvValue		v = promql_ev_eval(&ev, expr, start);

		result->type = v.type;
		result->t = start;
		switch (v.type)
		{
			case PROMQL_VAL_SCALAR:
				result->scalar = v.scalar;
				break;
			case PROMQL_VAL_STRING:
				result->str = v.str;
				break;
			case PROMQL_VAL_VECTOR:
				result->vector = v.vec;
				for (int i = 0; i < v.vec.n; i++)
					result->vector.s[i].t = start;
				break;
			case PROMQL_VAL_MATRIX:
				result->matrix.n = result->matrix.cap = v.mat.n;
				result->matrix.s = alloy_arena_alloc0(arena, sizeof(PromqlSeriesOut) * (v.mat.n + 1));
				for (int i = 0; i < v.mat.n; i++)
				{
					PromqlSeriesOut *o = &result->matrix.s[i];

					o->labels = v.mat.s[i].labels;
					o->n = o->cap = v.mat.s[i].n;
					o->t = (int64_t *) v.mat.s[i].t;
					o->v = (double *) v.mat.s[i].v;
				}
				qsort(result->matrix.s, result->matrix.n, sizeof(PromqlSeriesOut), cmp_series_out);
				break;
			default:
				break;
		}
		alloy_arena_destroy(steparena);
		return true;
	}
	else
	{
		PromqlLMap	map;
		PromqlMatrix *m = &result->matrix;
		int64_t		held = 0;

		result->type = PROMQL_VAL_MATRIX;
		promql_lmap_init(&map, arena, 64);
		for (int64_t ts = start; ts <= end; ts += step)
		{
			EvValue		v;

			/* a step's intermediate values die with it; results are copied out */
			alloy_arena_reset(steparena);
			ev.arena = steparena;
			ev.samples = held;
			v = promql_ev_eval(&ev, expr, ts);
			if (v.type == PROMQL_VAL_SCALAR)
			{
				v.vec.n = 0;
				v.vec.s = NULL;
				v.vec.cap = 0;
				promql_vec_push(&ev, &v.vec, (PromqlLabels)
								{
									0, NULL
								}, ts, v.scalar);
			}
			for (int i = 0; i < v.vec.n; i++)
			{
				PromqlSample *s = &v.vec.s[i];
				uint64_t	h = 0;
				int			k = promql_lmap_get_at(&map, i, &s->labels, &h);

				if (k < 0)
				{
					if (m->n == m->cap)
					{
						int			nc = m->cap ? m->cap * 2 : 16;

						m->s = alloy_arena_realloc(arena, m->s, sizeof(PromqlSeriesOut) * m->cap,
											  sizeof(PromqlSeriesOut) * nc);
						m->cap = nc;
					}
					k = m->n++;
					memset(&m->s[k], 0, sizeof(PromqlSeriesOut));
					m->s[k].labels = promql_labels_to_query_arena(&ev, &s->labels);
					promql_lmap_put_at(&map, i, h, &m->s[k].labels, k);
				}
				series_push(arena, &m->s[k], ts, s->v);
				held++;
			}
			if (ev.max_samples > 0 && held > ev.max_samples)
				promql_ev_error(&ev, "query processing would load too many samples into memory in query execution");
			if (ts > end - step)
				break;			/* the next step would overflow or pass the end */
		}
		ev.arena = arena;
		if (m->n > 1)
			qsort(m->s, m->n, sizeof(PromqlSeriesOut), cmp_series_out);
		alloy_arena_destroy(steparena);
		return true;
	}
}

char *
promql_explain(AlloyArena *arena, const PromqlEngineOpts *opts, PromqlStorage *storage,
			   PromqlNode *expr, int64_t start, int64_t end, int64_t step, const char **err)
{
	PromqlEval	ev;
	Planner		pl;

	*err = NULL;
	ev_init(&ev, arena, opts, storage, start, end, step);
	if (setjmp(ev.jb) != 0)
	{
		*err = ev.err;
		return NULL;
	}
	memset(&pl, 0, sizeof(pl));
	pl.ev = &ev;
	pl.fetch = storage != NULL;
	pl.explain = alloy_arena_strdup(arena, "");
	promql_plan_append(&pl, alloy_arena_sprintf(arena, "query %s\neval [%lld, %lld] step %lldms, lookback %lldms\n",
									promql_node_string(arena, expr), (long long) start,
									(long long) end, (long long) step, (long long) ev.lookback));
	promql_plan_node(&pl, expr, start, end);
	return pl.explain;
}
