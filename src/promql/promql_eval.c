/*
 * promql_eval.c: planner and evaluator of the PromQL engine.
 *
 * Planning walks the AST once with the interval of evaluation times each
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
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql/promql_int.h"

/* ------------------------------------------------------------- utilities */

void
promql_ev_error(PromqlEval *ev, const char *fmt,...)
{
	va_list		ap;
	char		buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ev->err = alloy_arena_strdup(ev->arena, buf);
	longjmp(ev->jb, 1);
}

void
promql_ev_tick(PromqlEval *ev)
{
	if ((++ev->ticks & 1023) == 0 && ev->opts->interrupt)
		ev->opts->interrupt(ev->opts->interrupt_arg);
}

static void
count_samples(PromqlEval *ev, int64_t n)
{
	ev->samples += n;
	if (ev->max_samples > 0 && ev->samples > ev->max_samples)
		promql_ev_error(ev, "query processing would load too many samples into memory in query execution");
}

void
promql_vec_push(PromqlEval *ev, PromqlVector *v, PromqlLabels labels, int64_t t, double val)
{
	if (v->n == v->cap)
	{
		int			nc = v->cap ? v->cap * 2 : 8;

		v->s = alloy_arena_realloc(ev->arena, v->s, sizeof(PromqlSample) * v->cap, sizeof(PromqlSample) * nc);
		v->cap = nc;
	}
	v->s[v->n].labels = labels;
	v->s[v->n].t = t;
	v->s[v->n].v = val;
	v->n++;
	count_samples(ev, 1);
}

static bool
is_stale(double v)
{
	uint64_t	bits;

	memcpy(&bits, &v, sizeof(bits));
	return bits == PROMQL_STALE_NAN_BITS;
}

bool
promql_matcher_matches(const PromqlMatcher *m, const char *value)
{
	if (value == NULL)
		value = "";
	switch (m->type)
	{
		case PROMQL_MATCH_EQ:
			return strcmp(value, m->value) == 0;
		case PROMQL_MATCH_NEQ:
			return strcmp(value, m->value) != 0;
		case PROMQL_MATCH_RE:
			return alloy_regex_match(m->rx, value, strlen(value));
		case PROMQL_MATCH_NRE:
			return !alloy_regex_match(m->rx, value, strlen(value));
	}
	return false;
}

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

/*
 * Vector must not hold one label set twice (Prometheus checks each step).
 * Functions of a selector keep its series' order, sorted by labels, so a
 * pass over neighbours usually proves the labels distinct without hashing
 * every label set at every step; anything else gets the hash check.
 */
static void
check_unique_labels(PromqlEval *ev, const PromqlVector *v)
{
	PromqlLMap	m;
	int			i;

	if (v->n < 2)
		return;
	for (i = 1; i < v->n; i++)
		if (promql_labels_cmp(&v->s[i - 1].labels, &v->s[i].labels) >= 0)
			break;
	if (i == v->n)
		return;
	promql_lmap_init(&m, ev->arena, v->n);
	for (int i = 0; i < v->n; i++)
	{
		uint64_t	h = promql_labels_hash(&v->s[i].labels);

		if (promql_lmap_get(&m, h, &v->s[i].labels) >= 0)
			promql_ev_error(ev, "vector cannot contain metrics with the same labelset");
		promql_lmap_put(&m, h, &v->s[i].labels, i);
	}
}

/* Merge sort: stable, as Go's sort is for the small inputs tests use. */
void
promql_stable_sort(void *base, size_t n, size_t size, int (*cmp) (const void *, const void *))
{
	char	   *a = base;
	char	   *tmp;
	size_t		width;

	if (n < 2)
		return;
	tmp = malloc(n * size);
	if (!tmp)
	{
		/* insertion sort needs no memory */
		for (size_t i = 1; i < n; i++)
			for (size_t j = i; j > 0 && cmp(a + j * size, a + (j - 1) * size) < 0; j--)
			{
				char		t[256];
				size_t		left = size;
				char	   *x = a + j * size,
						   *y = a + (j - 1) * size;

				while (left)
				{
					size_t		c = left < sizeof(t) ? left : sizeof(t);

					memcpy(t, x, c);
					memcpy(x, y, c);
					memcpy(y, t, c);
					x += c;
					y += c;
					left -= c;
				}
			}
		return;
	}
	for (width = 1; width < n; width *= 2)
	{
		for (size_t lo = 0; lo < n; lo += 2 * width)
		{
			size_t		mid = lo + width < n ? lo + width : n;
			size_t		hi = lo + 2 * width < n ? lo + 2 * width : n;
			size_t		i = lo,
						j = mid,
						k = lo;

			while (i < mid && j < hi)
			{
				if (cmp(a + j * size, a + i * size) < 0)
					memcpy(tmp + (k++) * size, a + (j++) * size, size);
				else
					memcpy(tmp + (k++) * size, a + (i++) * size, size);
			}
			while (i < mid)
				memcpy(tmp + (k++) * size, a + (i++) * size, size);
			while (j < hi)
				memcpy(tmp + (k++) * size, a + (j++) * size, size);
		}
		memcpy(a, tmp, n * size);
	}
	free(tmp);
}

/* ---------------------------------------------------------------- planner */

typedef struct Planner
{
	PromqlEval *ev;
	bool		fetch;
	char	   *explain;
	size_t		explain_len;
} Planner;

static void
plan_append(Planner *pl, const char *s)
{
	size_t		n = strlen(s);
	char	   *e = alloy_arena_alloc(pl->ev->arena, pl->explain_len + n + 1);

	if (pl->explain_len)
		memcpy(e, pl->explain, pl->explain_len);
	memcpy(e + pl->explain_len, s, n + 1);
	pl->explain = e;
	pl->explain_len += n;
}

static int64_t
at_time(PromqlEval *ev, const PromqlNode *n, int64_t ts)
{
	switch (n->at_kind)
	{
		case PROMQL_AT_TIME:
			return n->at_ms;
		case PROMQL_AT_START:
			return ev->start;
		case PROMQL_AT_END:
			return ev->end;
		default:
			return ts;
	}
}

/* Copy a series without its stale markers: range selectors never see them. */
static void
drop_stale(PromqlEval *ev, PromqlSeries *s)
{
	size_t		k = 0;
	int64_t    *t;
	double	   *v;

	for (size_t i = 0; i < s->n; i++)
		if (is_stale(s->v[i]))
			break;
		else
			k++;
	if (k == s->n)
		return;
	t = alloy_arena_alloc(ev->arena, sizeof(int64_t) * (s->n + 1));
	v = alloy_arena_alloc(ev->arena, sizeof(double) * (s->n + 1));
	k = 0;
	for (size_t i = 0; i < s->n; i++)
		if (!is_stale(s->v[i]))
		{
			t[k] = s->t[i];
			v[k] = s->v[i];
			k++;
		}
	s->t = t;
	s->v = v;
	s->n = k;
}

static void
plan_selector(Planner *pl, PromqlNode *vs, int64_t lo, int64_t hi, int64_t range, bool matrix)
{
	PromqlEval *ev = pl->ev;
	char		errbuf[512] = "";

	vs->eval_cache = NULL;
	if (vs->at_kind != PROMQL_AT_NONE)
		lo = hi = at_time(ev, vs, lo);
	vs->plan_mint = promql_ts_sub(promql_ts_sub(lo, vs->offset_ms), matrix ? range : ev->lookback);
	vs->plan_maxt = promql_ts_sub(hi, vs->offset_ms);
	if (pl->fetch)
	{
		PromqlSeriesSet *set = alloy_arena_alloc0(ev->arena, sizeof(PromqlSeriesSet));

		if (!ev->storage->select(ev->storage->ctx, ev->arena, vs->matchers, vs->nmatchers,
								 vs->plan_mint, vs->plan_maxt, set, errbuf, sizeof(errbuf)))
			promql_ev_error(ev, "%s", errbuf[0] ? errbuf : "storage error");
		if (matrix)
			for (size_t i = 0; i < set->n; i++)
				drop_stale(ev, &set->series[i]);
		vs->series = set;
	}
	if (pl->explain_len || !pl->fetch || pl->explain)
	{
		char	   *line = alloy_arena_sprintf(ev->arena, "selector %s%s: time range [%lld, %lld]%s\n",
										  promql_node_string(ev->arena, vs),
										  matrix ? alloy_arena_sprintf(ev->arena, " range %lldms", (long long) range) : "",
										  (long long) vs->plan_mint, (long long) vs->plan_maxt,
										  vs->series ? alloy_arena_sprintf(ev->arena, ", %zu series", vs->series->n) : "");

		plan_append(pl, line);
	}
}

static void
plan_node(Planner *pl, PromqlNode *n, int64_t lo, int64_t hi)
{
	switch (n->type)
	{
		case PROMQL_NODE_NUMBER:
		case PROMQL_NODE_STRING:
			break;
		case PROMQL_NODE_VECTOR_SELECTOR:
			plan_selector(pl, n, lo, hi, 0, false);
			break;
		case PROMQL_NODE_MATRIX_SELECTOR:
			plan_selector(pl, n->expr, lo, hi, n->range_ms, true);
			break;
		case PROMQL_NODE_SUBQUERY:
			n->eval_cache = NULL;
			if (n->at_kind != PROMQL_AT_NONE)
				lo = hi = at_time(pl->ev, n, lo);
			plan_node(pl, n->expr, promql_ts_sub(promql_ts_sub(lo, n->offset_ms), n->range_ms),
					  promql_ts_sub(hi, n->offset_ms));
			break;
		case PROMQL_NODE_CALL:
			for (int i = 0; i < n->nargs; i++)
				plan_node(pl, n->args[i], lo, hi);
			break;
		case PROMQL_NODE_AGGREGATE:
			if (n->param)
				plan_node(pl, n->param, lo, hi);
			plan_node(pl, n->expr, lo, hi);
			break;
		case PROMQL_NODE_BINARY:
			plan_node(pl, n->lhs, lo, hi);
			plan_node(pl, n->rhs, lo, hi);
			break;
		case PROMQL_NODE_UNARY:
		case PROMQL_NODE_PAREN:
			plan_node(pl, n->expr, lo, hi);
			break;
	}
}

/* ------------------------------------------------------------- selectors */

static EvValue
eval_vector_selector(PromqlEval *ev, PromqlNode *n, int64_t ts)
{
	EvValue		r;
	int64_t		ref = promql_ts_sub(at_time(ev, n, ts), n->offset_ms);
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
			(ev->v3 && s->t[k] == promql_ts_sub(ref, ev->lookback)) || is_stale(s->v[k]))
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
	count_samples(ev, o->n);
}

static EvValue
eval_matrix_selector(PromqlEval *ev, PromqlNode *n, int64_t ts)
{
	EvValue		r;
	PromqlNode *vs = n->expr;
	int64_t		maxt = promql_ts_sub(at_time(ev, vs, ts), vs->offset_ms);
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

/*
 * A label set that outlives the current step: step arenas are reset, so
 * what lives there is copied into the query arena. Label sets that already
 * live longer (a selector's series, or what they were cut from, such as
 * the view promql_labels_drop_name returns) are kept as they are, which
 * lets the next step's lookup of the same series match by pointer.
 */
static PromqlLabels
labels_to_query_arena(PromqlEval *ev, const PromqlLabels *ls)
{
	PromqlLabels out;
	PromqlLabel *v;

	if (ev->arena == ev->qarena)
		return *ls;
	if (!alloy_arena_owns(ev->arena, ls->v))
	{
		int			i;

		for (i = 0; i < ls->n; i++)
			if (alloy_arena_owns(ev->arena, ls->v[i].name) ||
				alloy_arena_owns(ev->arena, ls->v[i].value))
				break;
		if (i == ls->n)
			return *ls;
	}
	v = alloy_arena_alloc(ev->qarena, sizeof(PromqlLabel) * (ls->n + 1));
	for (int i = 0; i < ls->n; i++)
	{
		v[i].name = alloy_arena_owns(ev->arena, ls->v[i].name) ?
			alloy_arena_strdup(ev->qarena, ls->v[i].name) : ls->v[i].name;
		v[i].value = alloy_arena_owns(ev->arena, ls->v[i].value) ?
			alloy_arena_strdup(ev->qarena, ls->v[i].value) : ls->v[i].value;
	}
	out.n = ls->n;
	out.v = v;
	return out;
}

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
			c->ss[k].labels = labels_to_query_arena(ev, &s->labels);
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

static EvValue
eval_subquery(PromqlEval *ev, PromqlNode *n, int64_t ts)
{
	EvValue		r;
	int64_t		ref = promql_ts_sub(at_time(ev, n, ts), n->offset_ms);
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

/* ------------------------------------------------------- binary operators */

static bool
is_comparison(PromqlOp op)
{
	return op >= PROMQL_OP_EQLC && op <= PROMQL_OP_GTR;
}

static bool
drops_name(PromqlOp op, bool v3)
{
	return op == PROMQL_OP_ADD || op == PROMQL_OP_SUB || op == PROMQL_OP_MUL ||
		op == PROMQL_OP_DIV || op == PROMQL_OP_MOD || op == PROMQL_OP_POW ||
		(v3 && op == PROMQL_OP_ATAN2);
}

/* Value of l op r; *keep is false when a comparison filters the element. */
static double
elem_binop(PromqlOp op, double l, double r, bool *keep)
{
	*keep = true;
	switch (op)
	{
		case PROMQL_OP_ADD:
			return l + r;
		case PROMQL_OP_SUB:
			return l - r;
		case PROMQL_OP_MUL:
			return l * r;
		case PROMQL_OP_DIV:
			return l / r;
		case PROMQL_OP_POW:
			return pow(l, r);
		case PROMQL_OP_MOD:
			return fmod(l, r);
		case PROMQL_OP_ATAN2:
			return atan2(l, r);
		case PROMQL_OP_EQLC:
			*keep = l == r;
			return l;
		case PROMQL_OP_NEQ:
			*keep = l != r;
			return l;
		case PROMQL_OP_GTR:
			*keep = l > r;
			return l;
		case PROMQL_OP_LSS:
			*keep = l < r;
			return l;
		case PROMQL_OP_GTE:
			*keep = l >= r;
			return l;
		case PROMQL_OP_LTE:
			*keep = l <= r;
			return l;
		default:
			return NAN;
	}
}

static double
scalar_binop(PromqlOp op, double l, double r)
{
	bool		keep;
	double		v = elem_binop(op, l, r, &keep);

	if (is_comparison(op))
		return keep ? 1 : 0;
	return v;
}

/* Matching signature: the labels of ls that on()/ignoring() compare. */
static PromqlLabels
signature(PromqlEval *ev, const PromqlNode *n, const PromqlLabels *ls)
{
	if (n->on)
		return promql_labels_filter(ev->arena, ls, n->grouping, n->ngrouping, true, false);
	return promql_labels_filter(ev->arena, ls, n->grouping, n->ngrouping, false, true);
}

static EvValue
vector_set_op(PromqlEval *ev, PromqlNode *n, PromqlVector *l, PromqlVector *r, int64_t ts)
{
	EvValue		out;
	PromqlLMap	m;
	PromqlVector *probe = n->op == PROMQL_OP_LOR ? l : r;

	(void) ts;
	memset(&out, 0, sizeof(out));
	out.type = PROMQL_VAL_VECTOR;
	if (n->op == PROMQL_OP_LAND && (l->n == 0 || r->n == 0))
		return out;
	if (n->op == PROMQL_OP_LOR && (l->n == 0 || r->n == 0))
	{
		for (int i = 0; i < l->n; i++)
			promql_vec_push(ev, &out.vec, l->s[i].labels, l->s[i].t, l->s[i].v);
		for (int i = 0; i < r->n; i++)
			promql_vec_push(ev, &out.vec, r->s[i].labels, r->s[i].t, r->s[i].v);
		return out;
	}
	if (n->op == PROMQL_OP_LUNLESS && (l->n == 0 || r->n == 0))
	{
		for (int i = 0; i < l->n; i++)
			promql_vec_push(ev, &out.vec, l->s[i].labels, l->s[i].t, l->s[i].v);
		return out;
	}
	promql_lmap_init(&m, ev->arena, probe->n);
	for (int i = 0; i < probe->n; i++)
	{
		PromqlLabels sig = signature(ev, n, &probe->s[i].labels);

		promql_lmap_put(&m, promql_labels_hash(&sig), &sig, i);
	}
	if (n->op == PROMQL_OP_LOR)
	{
		for (int i = 0; i < l->n; i++)
			promql_vec_push(ev, &out.vec, l->s[i].labels, l->s[i].t, l->s[i].v);
		for (int i = 0; i < r->n; i++)
		{
			PromqlLabels sig = signature(ev, n, &r->s[i].labels);

			if (promql_lmap_get(&m, promql_labels_hash(&sig), &sig) < 0)
				promql_vec_push(ev, &out.vec, r->s[i].labels, r->s[i].t, r->s[i].v);
		}
		return out;
	}
	for (int i = 0; i < l->n; i++)
	{
		PromqlLabels sig = signature(ev, n, &l->s[i].labels);
		bool		found = promql_lmap_get(&m, promql_labels_hash(&sig), &sig) >= 0;

		if (found == (n->op == PROMQL_OP_LAND))
			promql_vec_push(ev, &out.vec, l->s[i].labels, l->s[i].t, l->s[i].v);
	}
	return out;
}

static PromqlLabels
result_metric(PromqlEval *ev, PromqlNode *n, const PromqlLabels *ls, const PromqlLabels *rs)
{
	PromqlLabels m = *ls;

	if (drops_name(n->op, ev->v3))
		m = promql_labels_drop_name(ev->arena, &m);
	if (n->card == PROMQL_CARD_ONE_TO_ONE)
	{
		if (n->on)
			m = promql_labels_filter(ev->arena, &m, n->grouping, n->ngrouping, true, false);
		else if (n->ngrouping)
			m = promql_labels_filter(ev->arena, &m, n->grouping, n->ngrouping, false, false);
	}
	for (int i = 0; i < n->ninclude; i++)
	{
		const char *v = promql_labels_get(rs, n->include[i]);

		m = promql_labels_set(ev->arena, &m, n->include[i], v);
	}
	return m;
}

static EvValue
vector_binop(PromqlEval *ev, PromqlNode *n, PromqlVector *lhs, PromqlVector *rhs, int64_t ts)
{
	EvValue		out;
	PromqlLMap	right,
				matched;
	PromqlLabels *rsig;
	PromqlVector *l = lhs,
			   *r = rhs;
	bool		swap = n->card == PROMQL_CARD_ONE_TO_MANY;
	PromqlLMap *inserted = NULL;
	int			ninserted = 0;

	memset(&out, 0, sizeof(out));
	out.type = PROMQL_VAL_VECTOR;
	if (lhs->n == 0 || rhs->n == 0)
		return out;
	if (swap)
	{
		l = rhs;
		r = lhs;
	}
	promql_lmap_init(&right, ev->arena, r->n);
	rsig = alloy_arena_alloc(ev->arena, sizeof(PromqlLabels) * r->n);
	for (int i = 0; i < r->n; i++)
	{
		uint64_t	h;
		int			k;

		rsig[i] = signature(ev, n, &r->s[i].labels);
		h = promql_labels_hash(&rsig[i]);
		k = promql_lmap_get(&right, h, &rsig[i]);
		if (k >= 0)
			promql_ev_error(ev, "found duplicate series for the match group %s on the %s hand-side of the operation: [%s, %s];many-to-many matching not allowed: matching labels must be unique on one side",
							promql_labels_string(ev->arena, &rsig[i]), swap ? "left" : "right",
							promql_labels_string(ev->arena, &r->s[i].labels),
							promql_labels_string(ev->arena, &r->s[k].labels));
		promql_lmap_put(&right, h, &rsig[i], i);
	}
	promql_lmap_init(&matched, ev->arena, l->n);
	if (n->card != PROMQL_CARD_ONE_TO_ONE)
		inserted = alloy_arena_alloc(ev->arena, sizeof(PromqlLMap) * (r->n + 1));
	for (int i = 0; i < l->n; i++)
	{
		PromqlLabels sig = signature(ev, n, &l->s[i].labels);
		uint64_t	h = promql_labels_hash(&sig);
		int			k = promql_lmap_get(&right, h, &sig);
		double		vl,
					vr,
					value;
		bool		keep;
		PromqlLabels metric;
		int			mk;

		promql_ev_tick(ev);
		if (k < 0)
			continue;
		vl = l->s[i].v;
		vr = r->s[k].v;
		if (swap)
		{
			double		t = vl;

			vl = vr;
			vr = t;
		}
		value = elem_binop(n->op, vl, vr, &keep);
		if (n->return_bool)
			value = keep ? 1.0 : 0.0;
		else if (!keep && !ev->v3)
			continue;			/* 2.42 filters before checking for duplicate matches */
		metric = result_metric(ev, n, &l->s[i].labels, &r->s[k].labels);
		if (n->return_bool)
			metric = promql_labels_drop_name(ev->arena, &metric);
		mk = promql_lmap_get(&matched, h, &sig);
		if (n->card == PROMQL_CARD_ONE_TO_ONE)
		{
			if (mk >= 0)
				promql_ev_error(ev, "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)");
			promql_lmap_put(&matched, h, &sig, 0);
		}
		else
		{
			uint64_t	mh = promql_labels_hash(&metric);

			if (mk < 0)
			{
				mk = ninserted++;
				promql_lmap_init(&inserted[mk], ev->arena, 4);
				promql_lmap_put(&matched, h, &sig, mk);
			}
			else if (promql_lmap_get(&inserted[mk], mh, &metric) >= 0)
				promql_ev_error(ev, "multiple matches for labels: grouping labels must ensure unique matches");
			promql_lmap_put(&inserted[mk], mh, &metric, 0);
		}
		if (!keep && !n->return_bool)
			continue;
		promql_vec_push(ev, &out.vec, metric, ts, value);
	}
	return out;
}

static EvValue
eval_binary(PromqlEval *ev, PromqlNode *n, int64_t ts)
{
	EvValue		l = promql_ev_eval(ev, n->lhs, ts);
	EvValue		r = promql_ev_eval(ev, n->rhs, ts);
	EvValue		out;

	memset(&out, 0, sizeof(out));
	if (l.type == PROMQL_VAL_SCALAR && r.type == PROMQL_VAL_SCALAR)
	{
		out.type = PROMQL_VAL_SCALAR;
		out.scalar = scalar_binop(n->op, l.scalar, r.scalar);
		return out;
	}
	if (l.type == PROMQL_VAL_VECTOR && r.type == PROMQL_VAL_VECTOR)
	{
		if (n->op == PROMQL_OP_LAND || n->op == PROMQL_OP_LOR || n->op == PROMQL_OP_LUNLESS)
			out = vector_set_op(ev, n, &l.vec, &r.vec, ts);
		else
			out = vector_binop(ev, n, &l.vec, &r.vec, ts);
	}
	else
	{
		/* vector op scalar, or scalar op vector (swap) */
		bool		swap = l.type == PROMQL_VAL_SCALAR;
		PromqlVector *vec = swap ? &r.vec : &l.vec;
		double		sv = swap ? l.scalar : r.scalar;

		out.type = PROMQL_VAL_VECTOR;
		for (int i = 0; i < vec->n; i++)
		{
			double		lv = vec->s[i].v,
						rv = sv,
						value;
			bool		keep;
			PromqlLabels metric = vec->s[i].labels;

			if (swap)
			{
				lv = sv;
				rv = vec->s[i].v;
			}
			value = elem_binop(n->op, lv, rv, &keep);
			if (is_comparison(n->op) && swap)
				value = rv;
			if (n->return_bool)
			{
				value = keep ? 1.0 : 0.0;
				keep = true;
			}
			if (!keep)
				continue;
			if (drops_name(n->op, ev->v3) || n->return_bool)
				metric = promql_labels_drop_name(ev->arena, &metric);
			promql_vec_push(ev, &out.vec, metric, ts, value);
		}
	}
	check_unique_labels(ev, &out.vec);
	return out;
}

/* ------------------------------------------------------------ aggregation */

typedef struct AggGroup
{
	PromqlLabels labels;
	double		value;
	double		kahan_c;		/* Prometheus 3 compensated sum and mean */
	bool		incremental;
	double		mean;
	int			count;
	/* topk/bottomk heap, quantile values */
	PromqlSample *heap;
	int			nheap;
	int			capheap;
} AggGroup;

/* Go's vectorByValueHeap / vectorByReverseValueHeap Less. */
static bool
heap_less(bool reverse, double a, double b)
{
	if (isnan(a))
		return true;
	return reverse ? a > b : a < b;
}

static void
heap_swap(PromqlSample *h, int i, int j)
{
	PromqlSample t = h[i];

	h[i] = h[j];
	h[j] = t;
}

static void
heap_up(PromqlSample *h, int j, bool rev)
{
	for (;;)
	{
		int			i = (j - 1) / 2;

		if (i == j || !heap_less(rev, h[j].v, h[i].v))
			break;
		heap_swap(h, i, j);
		j = i;
	}
}

static void
heap_down(PromqlSample *h, int i0, int n, bool rev)
{
	int			i = i0;

	for (;;)
	{
		int			j1 = 2 * i + 1,
					j;

		if (j1 >= n || j1 < 0)
			break;
		j = j1;
		if (j1 + 1 < n && heap_less(rev, h[j1 + 1].v, h[j1].v))
			j = j1 + 1;
		if (!heap_less(rev, h[j].v, h[i].v))
			break;
		heap_swap(h, i, j);
		i = j;
	}
}

static bool sort_reverse_flag;

/* sort.Reverse(heap): element a before b when Less(b, a). */
static int
cmp_reversed_heap(const void *a, const void *b)
{
	const PromqlSample *x = a,
			   *y = b;

	if (heap_less(sort_reverse_flag, y->v, x->v))
		return -1;
	if (heap_less(sort_reverse_flag, x->v, y->v))
		return 1;
	return 0;
}

static void
sort_reversed_heap(PromqlSample *s, int n, bool rev)
{
	/* Go sorts small slices with insertion sort, which is stable */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0; j--)
		{
			sort_reverse_flag = rev;
			if (cmp_reversed_heap(&s[j], &s[j - 1]) < 0)
				heap_swap(s, j, j - 1);
			else
				break;
		}
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	if (isnan(x))
		return isnan(y) ? 0 : -1;
	if (isnan(y))
		return 1;
	return x < y ? -1 : x > y ? 1 : 0;
}

double
promql_quantile(double q, double *vals, int n)
{
	double		rank,
				lower,
				upper,
				weight;

	if (n == 0 || isnan(q))
		return NAN;
	if (q < 0)
		return -INFINITY;
	if (q > 1)
		return INFINITY;
	qsort(vals, n, sizeof(double), cmp_double);
	rank = q * (n - 1);
	lower = fmax(0, floor(rank));
	upper = fmin(n - 1, lower + 1);
	weight = rank - floor(rank);
	return vals[(int) lower] * (1 - weight) + vals[(int) upper] * weight;
}

/*
 * strconv.FormatFloat(v, 'f', -1, 64): the shortest digits that read back
 * as v, written out without an exponent (1e300 is a 1 and 300 zeros, not
 * the exact binary value's expansion).
 */
static char *
format_go_float(AlloyArena *a, double v)
{
	char		buf[64];
	char		digits[32];
	char	   *out;
	char	   *o;
	char	   *e;
	int			nd = 0;
	int			exp10;
	int			prec;

	if (isnan(v))
		return alloy_arena_strdup(a, "NaN");
	if (isinf(v))
		return alloy_arena_strdup(a, v > 0 ? "+Inf" : "-Inf");
	for (prec = 0; prec < 17; prec++)
	{
		snprintf(buf, sizeof(buf), "%.*e", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	/* buf is [-]d[.ddd]e±XX: collect the digits and the exponent */
	e = strchr(buf, 'e');
	exp10 = atoi(e + 1);
	for (char *c = buf; c < e; c++)
		if (*c >= '0' && *c <= '9')
			digits[nd++] = *c;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	out = o = alloy_arena_alloc(a, nd + abs(exp10) + 8);
	if (buf[0] == '-')
		*o++ = '-';
	if (exp10 < 0)
	{
		*o++ = '0';
		*o++ = '.';
		for (int i = 0; i < -exp10 - 1; i++)
			*o++ = '0';
		memcpy(o, digits, nd);
		o += nd;
	}
	else
	{
		for (int i = 0; i <= exp10 || i < nd; i++)
		{
			if (i == exp10 + 1)
				*o++ = '.';
			*o++ = i < nd ? digits[i] : '0';
		}
	}
	*o = '\0';
	return out;
}

static EvValue
eval_aggregate(PromqlEval *ev, PromqlNode *n, int64_t ts)
{
	EvValue		in,
				out;
	PromqlOp	op = n->op;
	int64_t		k = 0;
	double		q = 0;
	const char *value_label = NULL;
	const char **grouping = n->grouping;
	int			ngrouping = n->ngrouping;
	PromqlLMap	map;
	AggGroup   *groups;
	int			ngroups = 0;
	bool		rev = op == PROMQL_AGG_BOTTOMK;

	memset(&out, 0, sizeof(out));
	out.type = PROMQL_VAL_VECTOR;
	if (op == PROMQL_AGG_TOPK || op == PROMQL_AGG_BOTTOMK)
	{
		EvValue		p = promql_ev_eval(ev, n->param, ts);
		double		f = p.scalar;

		/*
		 * Prometheus evaluates both arguments before it looks at k, so an
		 * error inside the vector argument surfaces even when k < 1.
		 */
		in = promql_ev_eval(ev, n->expr, ts);
		if (!(f >= -9223372036854775808.0 && f < 9223372036854775808.0))
			promql_ev_error(ev, "Scalar value %s overflows int64", format_go_float(ev->arena, f));
		k = (int64_t) f;
		if (k < 1)
			return out;
	}
	else if (op == PROMQL_AGG_QUANTILE)
		q = promql_ev_eval(ev, n->param, ts).scalar;
	else if (op == PROMQL_AGG_COUNT_VALUES)
	{
		value_label = promql_ev_eval(ev, n->param, ts).str;
		if (!alloy_valid_label_name(value_label, strlen(value_label)))
			promql_ev_error(ev, "invalid label name \"%s\"", value_label);
		if (!n->without)
		{
			const char **g = alloy_arena_alloc(ev->arena, sizeof(char *) * (ngrouping + 1));

			if (ngrouping > 0)
				memcpy(g, grouping, sizeof(char *) * ngrouping);
			g[ngrouping++] = value_label;
			grouping = g;
		}
	}
	if (op != PROMQL_AGG_TOPK && op != PROMQL_AGG_BOTTOMK)
		in = promql_ev_eval(ev, n->expr, ts);
	groups = alloy_arena_alloc(ev->arena, sizeof(AggGroup) * (in.vec.n + 1));
	promql_lmap_init(&map, ev->arena, in.vec.n);
	for (int i = 0; i < in.vec.n; i++)
	{
		PromqlSample *s = &in.vec.s[i];
		PromqlLabels metric = s->labels;
		PromqlLabels key;
		uint64_t	h;
		int			gi;
		AggGroup   *g;

		promql_ev_tick(ev);
		if (op == PROMQL_AGG_COUNT_VALUES)
			metric = promql_labels_set(ev->arena, &metric, value_label,
									   format_go_float(ev->arena, s->v));
		if (n->without)
			key = promql_labels_filter(ev->arena, &metric, grouping, ngrouping, false, true);
		else
			key = promql_labels_filter(ev->arena, &metric, grouping, ngrouping, true, false);
		h = promql_labels_hash(&key);
		gi = promql_lmap_get(&map, h, &key);
		if (gi < 0)
		{
			gi = ngroups++;
			promql_lmap_put(&map, h, &key, gi);
			g = &groups[gi];
			memset(g, 0, sizeof(*g));
			g->labels = key;
			g->value = s->v;
			g->mean = s->v;
			g->count = 1;
			switch (op)
			{
				case PROMQL_AGG_STDDEV:
				case PROMQL_AGG_STDVAR:
					/* Prometheus 3: a group starting with NaN or Inf stays NaN */
					g->value = (ev->v3 && (isnan(s->v) || isinf(s->v))) ? NAN : 0;
					break;
				case PROMQL_AGG_TOPK:
				case PROMQL_AGG_BOTTOMK:
				case PROMQL_AGG_QUANTILE:
					g->capheap = 8;
					g->heap = alloy_arena_alloc(ev->arena, sizeof(PromqlSample) * g->capheap);
					g->heap[0] = *s;
					g->nheap = 1;
					break;
				case PROMQL_AGG_GROUP:
					g->value = 1;
					break;
				default:
					break;
			}
			continue;
		}
		g = &groups[gi];
		switch (op)
		{
			case PROMQL_AGG_SUM:
				if (ev->v3)
					alloy_kahan_inc(s->v, &g->value, &g->kahan_c);
				else
					g->value += s->v;
				break;
			case PROMQL_AGG_AVG:
				if (ev->v3)
				{
					double		q;

					g->count++;
					if (!g->incremental)
					{
						double		ns = g->value,
									nc = g->kahan_c;

						alloy_kahan_inc(s->v, &ns, &nc);
						if (!isinf(ns))
						{
							g->value = ns;
							g->kahan_c = nc;
							break;
						}
						g->incremental = true;
						g->mean = g->value / (g->count - 1);
						g->kahan_c /= (g->count - 1);
					}
					q = (double) (g->count - 1) / g->count;
					g->mean *= q;
					g->kahan_c *= q;
					alloy_kahan_inc(s->v / g->count, &g->mean, &g->kahan_c);
					break;
				}
				g->count++;
				if (isinf(g->mean))
				{
					if (isinf(s->v) && (g->mean > 0) == (s->v > 0))
						break;
					if (!isinf(s->v) && !isnan(s->v))
						break;
				}
				g->mean += s->v / g->count - g->mean / g->count;
				break;
			case PROMQL_AGG_GROUP:
				break;
			case PROMQL_AGG_MAX:
				if (g->value < s->v || isnan(g->value))
					g->value = s->v;
				break;
			case PROMQL_AGG_MIN:
				if (g->value > s->v || isnan(g->value))
					g->value = s->v;
				break;
			case PROMQL_AGG_COUNT:
			case PROMQL_AGG_COUNT_VALUES:
				g->count++;
				break;
			case PROMQL_AGG_STDDEV:
			case PROMQL_AGG_STDVAR:
				{
					double		delta;

					g->count++;
					delta = s->v - g->mean;
					g->mean += delta / g->count;
					g->value += delta * (s->v - g->mean);
				}
				break;
			case PROMQL_AGG_TOPK:
			case PROMQL_AGG_BOTTOMK:
				if (g->nheap < k || heap_less(rev, g->heap[0].v, s->v) || isnan(g->heap[0].v))
				{
					if (g->nheap == k)
					{
						if (k == 1)
						{
							g->heap[0] = *s;
							break;
						}
						/* heap.Pop */
						heap_swap(g->heap, 0, g->nheap - 1);
						heap_down(g->heap, 0, g->nheap - 1, rev);
						g->nheap--;
					}
					if (g->nheap == g->capheap)
					{
						g->heap = alloy_arena_realloc(ev->arena, g->heap, sizeof(PromqlSample) * g->capheap,
												 sizeof(PromqlSample) * g->capheap * 2);
						g->capheap *= 2;
					}
					g->heap[g->nheap++] = *s;
					heap_up(g->heap, g->nheap - 1, rev);
				}
				break;
			case PROMQL_AGG_QUANTILE:
				if (g->nheap == g->capheap)
				{
					g->heap = alloy_arena_realloc(ev->arena, g->heap, sizeof(PromqlSample) * g->capheap,
											 sizeof(PromqlSample) * g->capheap * 2);
					g->capheap *= 2;
				}
				g->heap[g->nheap++] = *s;
				break;
			default:
				break;
		}
	}
	for (int gi = 0; gi < ngroups; gi++)
	{
		AggGroup   *g = &groups[gi];

		switch (op)
		{
			case PROMQL_AGG_AVG:
				if (!ev->v3)
					g->value = g->mean;
				else if (g->incremental)
					g->value = g->mean + g->kahan_c;
				else
					g->value = g->value / g->count + g->kahan_c / g->count;
				break;
			case PROMQL_AGG_SUM:
				if (ev->v3)
					g->value += g->kahan_c;
				break;
			case PROMQL_AGG_COUNT:
			case PROMQL_AGG_COUNT_VALUES:
				g->value = g->count;
				break;
			case PROMQL_AGG_STDVAR:
				g->value = g->value / g->count;
				break;
			case PROMQL_AGG_STDDEV:
				g->value = sqrt(g->value / g->count);
				break;
			case PROMQL_AGG_TOPK:
			case PROMQL_AGG_BOTTOMK:
				if (g->nheap > 1)
					sort_reversed_heap(g->heap, g->nheap, rev);
				for (int i = 0; i < g->nheap; i++)
					promql_vec_push(ev, &out.vec, g->heap[i].labels, ts, g->heap[i].v);
				continue;
			case PROMQL_AGG_QUANTILE:
				{
					double	   *vals = alloy_arena_alloc(ev->arena, sizeof(double) * g->nheap);

					for (int i = 0; i < g->nheap; i++)
						vals[i] = g->heap[i].v;
					g->value = promql_quantile(q, vals, g->nheap);
				}
				break;
			default:
				break;
		}
		promql_vec_push(ev, &out.vec, g->labels, ts, g->value);
	}
	return out;
}

/* ------------------------------------------------------------------ eval */

EvValue
promql_ev_eval(PromqlEval *ev, PromqlNode *n, int64_t ts)
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
			return eval_vector_selector(ev, n, ts);
		case PROMQL_NODE_MATRIX_SELECTOR:
			return eval_matrix_selector(ev, n, ts);
		case PROMQL_NODE_SUBQUERY:
			return eval_subquery(ev, n, ts);
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
					check_unique_labels(ev, &r.vec);
				}
			}
			return r;
		case PROMQL_NODE_BINARY:
			return eval_binary(ev, n, ts);
		case PROMQL_NODE_AGGREGATE:
			return eval_aggregate(ev, n, ts);
		case PROMQL_NODE_CALL:
			r = promql_call(ev, n, ts);
			if (r.type == PROMQL_VAL_VECTOR)
				check_unique_labels(ev, &r.vec);
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
	plan_node(&pl, expr, start, end);

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
					m->s[k].labels = labels_to_query_arena(&ev, &s->labels);
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
	plan_append(&pl, alloy_arena_sprintf(arena, "query %s\neval [%lld, %lld] step %lldms, lookback %lldms\n",
									promql_node_string(arena, expr), (long long) start,
									(long long) end, (long long) step, (long long) ev.lookback));
	plan_node(&pl, expr, start, end);
	return pl.explain;
}
