/*
 * promql_func_hist.c: histogram_quantile over classic histograms (series
 * with an "le" label), with Prometheus's bucket interpolation.
 *
 * Buckets are grouped by their labels without "le", sorted by bound,
 * coalesced and made monotonic before the quantile is interpolated, as in
 * Prometheus's bucketQuantile.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "promql/promql_int.h"

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

EvValue
promql_call_histogram_quantile(PromqlEval *ev, PromqlNode *call, int64_t ts)
{
	double		q = promql_ev_eval(ev, call->args[0], ts).scalar;
	EvValue		in = promql_ev_eval(ev, call->args[1], ts);
	EvValue		out = promql_vector_value();
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
