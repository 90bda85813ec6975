/*
 * promql_select.c: vector selectors, range selectors and subqueries at one
 * evaluation time.
 *
 * Selectors only slice the arrays fetched during planning (binary search
 * from the previous step's position), so a step costs O(series * log
 * samples) per selector.  Subqueries cache their inner steps for the whole
 * query and slice windows out of them the same way.
 */
#include <string.h>

#include "promql/promql_int.h"

/*
 * The first index i in [0, n] where t[i] <= x (le) or t[i] < x (!le) no
 * longer holds, searched from where the previous step's answer was: a range
 * query moves each selector's window forward by a few samples per step, so
 * galloping from the hint costs a few predictable compares where a binary
 * search over the whole series took a dozen unpredictable ones. A hint past
 * the answer (a window that moved back) falls back to a binary search.
 */
static size_t
partition_from(const int64_t *t, size_t n, int64_t x, bool le, size_t hint)
{
	size_t		lo,
				hi,
				step;

#define BELOW(i) (le ? t[(i)] <= x : t[(i)] < x)
	if (hint > n)
		hint = n;
	if (hint > 0 && !BELOW(hint - 1))
	{
		lo = 0;
		hi = hint - 1;
	}
	else
	{
		/* every index below lo is BELOW; find an upper end */
		lo = hint;
		for (step = 1;; step <<= 1)
		{
			if (step > n - lo)
			{
				hi = n;
				break;
			}
			if (!BELOW(lo + step - 1))
			{
				hi = lo + step - 1;
				break;
			}
			lo += step;
		}
	}
	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;

		if (BELOW(mid))
			lo = mid + 1;
		else
			hi = mid;
	}
#undef BELOW
	return lo;
}

/*
 * Per-series search hints of one selector, kept for the whole query in the
 * selector node (plan_selector clears them): nhints per series.
 */
static size_t *
selector_hints(PromqlEval *ev, PromqlNode *vs, size_t nseries, int nhints)
{
	if (vs->eval_cache == NULL)
		vs->eval_cache = alloy_arena_alloc0(ev->qarena, sizeof(size_t) * (nseries * nhints + 1));
	return vs->eval_cache;
}

/* An instant selector at ts: each series' latest sample in the lookback. */
EvValue
promql_eval_vector_selector(PromqlEval *ev, PromqlNode *n, int64_t ts)
{
	EvValue		r;
	int64_t		ref = promql_ts_sub(promql_at_time(ev, n, ts), n->offset_ms);
	PromqlSeriesSet *set = n->series;
	size_t	   *hints = selector_hints(ev, n, set->n, 1);

	memset(&r, 0, sizeof(r));
	r.type = PROMQL_VAL_VECTOR;
	for (size_t i = 0; i < set->n; i++)
	{
		PromqlSeries *s = &set->series[i];
		int64_t		k;

		hints[i] = partition_from(s->t, s->n, ref, true, hints[i]);
		k = (int64_t) hints[i] - 1;

		promql_ev_tick(ev);
		if (k < 0 || s->t[k] < promql_ts_sub(ref, ev->lookback) ||
			(ev->v3 && s->t[k] == promql_ts_sub(ref, ev->lookback)) || promql_is_stale(s->v[k]))
			continue;
		promql_vec_push(ev, &r.vec, s->labels, s->t[k], s->v[k]);
	}
	return r;
}

/*
 * Add to matrix m the points of one series (t[], v[], n of them, in time
 * order) that lie in [lo, hi], or in (lo, hi] when open_left: a slice of
 * the arrays, not a copy. A series with no point there is left out. hint
 * holds two positions carried from the previous step (partition_from).
 */
static void
matrix_add_window(PromqlEval *ev, EvValue *m, PromqlLabels labels, const int64_t *t,
				  const double *v, size_t n, int64_t lo, int64_t hi, bool open_left,
				  size_t *hint)
{
	size_t		a;
	int64_t		b;
	EvSeries   *o;

	/* hint[0]: the window's start, hint[1]: one past its end */
	hint[0] = a = partition_from(t, n, lo, open_left, hint[0]);
	hint[1] = partition_from(t, n, hi, true, hint[1]);
	b = (int64_t) hint[1] - 1;
	if (b < (int64_t) a)
		return;
	o = &m->mat.s[m->mat.n++];
	o->labels = labels;
	o->n = (int) (b - (int64_t) a + 1);
	o->t = t + a;
	o->v = v + a;
	promql_ev_count_samples(ev, o->n);
}

/* A range selector at ts: each series' window, sliced, not copied. */
EvValue
promql_eval_matrix_selector(PromqlEval *ev, PromqlNode *n, int64_t ts)
{
	EvValue		r;
	PromqlNode *vs = n->expr;
	int64_t		maxt = promql_ts_sub(promql_at_time(ev, vs, ts), vs->offset_ms);
	int64_t		mint = promql_ts_sub(maxt, n->range_ms);
	PromqlSeriesSet *set = vs->series;
	size_t	   *hints = selector_hints(ev, vs, set->n, 2);

	memset(&r, 0, sizeof(r));
	r.type = PROMQL_VAL_MATRIX;
	r.mat.s = alloy_arena_alloc(ev->arena, sizeof(EvSeries) * (set->n + 1));
	for (size_t i = 0; i < set->n; i++)
	{
		PromqlSeries *s = &set->series[i];

		promql_ev_tick(ev);
		/* Prometheus 3: the window is open on the left */
		matrix_add_window(ev, &r, s->labels, s->t, s->v, s->n, mint, maxt, ev->v3,
						  &hints[2 * i]);
	}
	return r;
}

/*
 * A subquery's inner steps, cached for the whole query: the series it
 * produced, each a growing array of points in time order.  Range queries
 * step forward, so each outer step only evaluates the inner steps after the
 * last one cached, and windows are slices found by binary search, as for
 * range selectors.  Everything here lives in the query arena.
 */
typedef struct SubSeries
{
	PromqlLabels labels;
	size_t		hint[2];		/* matrix_add_window's search hints */
	int			n,
				cap;
	int64_t    *t;
	double	   *v;
} SubSeries;

typedef struct SubCache
{
	bool		any;			/* some inner step has been evaluated */
	int64_t		first;			/* first and last inner step evaluated */
	int64_t		last;
	PromqlLMap	map;			/* labels -> index into ss */
	SubSeries  *ss;
	int			nss,
				capss;
} SubCache;

static void
subcache_reset(PromqlEval *ev, SubCache *c)
{
	memset(c, 0, sizeof(*c));
	promql_lmap_init(&c->map, ev->qarena, 16);
}

/* Evaluate the inner expression at t and append its points to the cache. */
static void
subcache_add_step(PromqlEval *ev, PromqlNode *n, SubCache *c, int64_t t)
{
	EvValue		v = promql_ev_eval(ev, n->expr, t);

	for (int i = 0; i < v.vec.n; i++)
	{
		PromqlSample *s = &v.vec.s[i];
		uint64_t	h = 0;
		int			k = promql_lmap_get_at(&c->map, i, &s->labels, &h);
		SubSeries  *o;

		if (k < 0)
		{
			if (c->nss == c->capss)
			{
				int			nc = c->capss ? c->capss * 2 : 8;

				c->ss = alloy_arena_realloc(ev->qarena, c->ss, sizeof(SubSeries) * c->capss,
									   sizeof(SubSeries) * nc);
				c->capss = nc;
			}
			k = c->nss++;
			memset(&c->ss[k], 0, sizeof(SubSeries));
			c->ss[k].labels = promql_labels_to_query_arena(ev, &s->labels);
			promql_lmap_put_at(&c->map, i, h, &c->ss[k].labels, k);
		}
		o = &c->ss[k];
		if (o->n == o->cap)
		{
			int			nc = o->cap ? o->cap * 2 : 16;

			o->t = alloy_arena_realloc(ev->qarena, o->t, sizeof(int64_t) * o->cap, sizeof(int64_t) * nc);
			o->v = alloy_arena_realloc(ev->qarena, o->v, sizeof(double) * o->cap, sizeof(double) * nc);
			o->cap = nc;
		}
		o->t[o->n] = t;
		o->v[o->n] = s->v;
		o->n++;
	}
}

/* A subquery at ts: the inner steps in its window, from the cache. */
EvValue
promql_eval_subquery(PromqlEval *ev, PromqlNode *n, int64_t ts)
{
	EvValue		r;
	int64_t		ref = promql_ts_sub(promql_at_time(ev, n, ts), n->offset_ms);
	int64_t		step = n->step_ms > 0 ? n->step_ms :
		(ev->opts->default_subquery_step_ms > 0 ? ev->opts->default_subquery_step_ms : 60000);
	int64_t		lo = promql_ts_sub(ref, n->range_ms);
	int64_t		first;
	SubCache   *c = n->eval_cache;
	int64_t		from;
	int64_t		until = ref;

	/* the first multiple of step at or after lo */
	first = (lo / step) * step;
	if ((first < lo || (ev->v3 && first == lo)) && __builtin_add_overflow(first, step, &first))
		first = INT64_MAX;		/* only a window ending at the end of time */
	if (c == NULL)
	{
		c = alloy_arena_alloc(ev->qarena, sizeof(SubCache));
		subcache_reset(ev, c);
		n->eval_cache = c;
	}
	/* the cache holds consecutive inner steps; start over if this window is not their continuation */
	if (c->any && (first < c->first || (first - c->first) % step != 0 ||
				   (first > c->last && first - c->last > step)))
		subcache_reset(ev, c);
	from = first;
	if (c->any && c->last >= first && __builtin_add_overflow(c->last, step, &from))
		from = -1, until = -2;	/* everything up to the end of time is cached */
	for (int64_t t = from; t <= until;)
	{
		promql_ev_tick(ev);
		subcache_add_step(ev, n, c, t);
		if (!c->any)
		{
			c->any = true;
			c->first = t;
		}
		c->last = t;
		if (__builtin_add_overflow(t, step, &t))
			break;
	}

	memset(&r, 0, sizeof(r));
	r.type = PROMQL_VAL_MATRIX;
	r.mat.s = alloy_arena_alloc(ev->arena, sizeof(EvSeries) * (c->nss + 1));
	for (int i = 0; i < c->nss; i++)
	{
		SubSeries  *s = &c->ss[i];

		/* first already excludes lo itself under Prometheus 3 */
		matrix_add_window(ev, &r, s->labels, s->t, s->v, (size_t) s->n, first, ref, false,
						  s->hint);
	}
	return r;
}
