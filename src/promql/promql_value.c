/*
 * promql_value.c: what every part of the evaluator does with values:
 * errors, interrupt checks, the sample limit, building instant vectors,
 * the one-label-set-per-vector rule, stable sorting and quantiles, and
 * the @ time of a node.
 *
 * These sit below the node evaluators (selectors, operators, aggregation,
 * functions), which all use them and which call back into evaluation only
 * through PromqlEval.eval_node.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql/promql_int.h"

/* Fail the query with a message: longjmps back to promql_eval. */
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

/* Count a unit of work; every 1024th asks the caller whether to stop. */
void
promql_ev_tick(PromqlEval *ev)
{
	if ((++ev->ticks & 1023) == 0 && ev->opts->interrupt)
		ev->opts->interrupt(ev->opts->interrupt_arg);
}

/* Account n more samples to the step; fail past the query's limit. */
void
promql_ev_count_samples(PromqlEval *ev, int64_t n)
{
	ev->samples += n;
	if (ev->max_samples > 0 && ev->samples > ev->max_samples)
		promql_ev_error(ev, "query processing would load too many samples into memory in query execution");
}

/* Append a sample to v in the step arena, counting it against the limit. */
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
	promql_ev_count_samples(ev, 1);
}

/*
 * Vector must not hold one label set twice (Prometheus checks each step).
 * Functions of a selector keep its series' order, sorted by labels, so a
 * pass over neighbours usually proves the labels distinct without hashing
 * every label set at every step; anything else gets the hash check.
 */
void
promql_check_unique_labels(PromqlEval *ev, const PromqlVector *v)
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

/* The time node n is evaluated at: its @ time, or ts without @. */
int64_t
promql_at_time(PromqlEval *ev, const PromqlNode *n, int64_t ts)
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

/*
 * A label set that outlives the current step: step arenas are reset, so
 * what lives there is copied into the query arena. Label sets that already
 * live longer (a selector's series, or what they were cut from, such as
 * the view promql_labels_drop_name returns) are kept as they are, which
 * lets the next step's lookup of the same series match by pointer.
 */
PromqlLabels
promql_labels_to_query_arena(PromqlEval *ev, const PromqlLabels *ls)
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
