/*
 * promql_aggr.c: aggregation operators (sum, avg, count, min, max, group,
 * stddev, stdvar, topk, bottomk, quantile, count_values) over the groups
 * that by/without make.
 *
 * topk and bottomk keep Go's heap and its ordering of ties, so results come
 * out in the order Prometheus gives them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql/promql_int.h"

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

/* An aggregation at ts: the groups by/without make, and each one's value. */
EvValue
promql_eval_aggregate(PromqlEval *ev, PromqlNode *n, int64_t ts)
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
