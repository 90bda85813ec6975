/*
 * series_postings.c: label matchers over a tenant's in-memory label index
 * (series_labelidx.c), for label names and values with matchers.
 *
 * The matchers' label ids (series_matchers.c) give sorted posting lists of
 * series numbers; a selection is their intersection, minus the postings of
 * negative matchers. The set algebra works on sorted int32 arrays, with the
 * shorter list galloping through the longer one, and falls back to checking
 * each series' own label ids when a posting list is far longer than the set
 * so far: the same cost-based choices Prometheus makes over its postings.
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "series/series_int.h"

/*
 * One matched series' labels cost about this many posting-list steps: the
 * unit of the cost estimates that pick between intersecting postings and
 * visiting series.
 */
#define ALLOY_LV_SERIES_COST		4
/* The scan strategy maps wanted label ids densely when their range allows. */
#define ALLOY_LV_DENSE_MAX			(1 << 20)

/* The first position >= lo of sorted a[0..n) whose value is >= x. */
static inline int
gallop_to(const int32 *a, int n, int lo, int32 x)
{
	int			step = 1;
	int			hi;

	if (lo >= n || a[lo] >= x)
		return lo;
	/* a[lo] < x: probe ahead in growing steps, then bisect */
	hi = lo + 1;
	while (hi < n && a[hi] < x)
	{
		lo = hi;
		step <<= 1;
		hi = lo + step;
	}
	if (hi > n)
		hi = n;
	lo++;
	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (a[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Intersect sorted a with sorted b into a; returns the new length. The
 * shorter list drives and gallops through the longer one, so a selective
 * posting list costs its own length, not the other's.
 */
static int
sorted_intersect(int32 *a, int na, const int32 *b, int nb)
{
	int			out = 0;
	int			i = 0;
	int			j = 0;

	if (na <= nb)
	{
		for (i = 0; i < na && j < nb; i++)
		{
			j = gallop_to(b, nb, j, a[i]);
			if (j < nb && b[j] == a[i])
				a[out++] = a[i];
		}
	}
	else
	{
		/* out <= i: positions already passed are overwritten */
		for (j = 0; j < nb && i < na; j++)
		{
			i = gallop_to(a, na, i, b[j]);
			if (i < na && a[i] == b[j])
				a[out++] = a[i];
		}
	}
	return out;
}

/* Do sorted a and b share an element? Stops at the first. */
static bool
sorted_overlap(const int32 *a, int na, const int32 *b, int nb)
{
	int			j = 0;

	if (na > nb)
	{
		const int32 *t = a;
		int			tn = na;

		a = b;
		na = nb;
		b = t;
		nb = tn;
	}
	for (int i = 0; i < na && j < nb; i++)
	{
		j = gallop_to(b, nb, j, a[i]);
		if (j < nb && b[j] == a[i])
			return true;
	}
	return false;
}

/* Remove from sorted a the elements of sorted b; returns the new length. */
static int
sorted_subtract(int32 *a, int na, const int32 *b, int nb)
{
	int			out = 0;
	int			j = 0;

	for (int i = 0; i < na; i++)
	{
		j = gallop_to(b, nb, j, a[i]);
		if (!(j < nb && b[j] == a[i]))
			a[out++] = a[i];
	}
	return out;
}

/* Total length of the posting lists of a matcher's label ids. */
static int64
matcher_postings_count(const AlloyLabelIndex *idx, const AlloyMatcherIds *m)
{
	int64		total = 0;

	for (int i = 0; i < m->nids; i++)
	{
		int			n;

		(void) AlloyLabelIndexPostings(idx, m->ids[i], &n);
		total += n;
	}
	return total;
}

/*
 * The series carrying any of a matcher's label ids, sorted. The ids are
 * values of one label name and a series has one value per name, so their
 * posting lists are disjoint: concatenating and sorting is the union.
 */
static int32 *
matcher_series(const AlloyLabelIndex *idx, const AlloyMatcherIds *m, int64 count, int *n)
{
	int32	   *out = palloc_extended(sizeof(int32) * Max(count, 1), MCXT_ALLOC_HUGE);
	int			k = 0;

	for (int i = 0; i < m->nids; i++)
	{
		int			np;
		const int32 *p = AlloyLabelIndexPostings(idx, m->ids[i], &np);

		if (np > 0)
			memcpy(out + k, p, sizeof(int32) * np);
		k += np;
	}
	if (m->nids > 1 && k > 1)
		qsort(out, k, sizeof(int32), AlloyCmpLabelId);
	*n = k;
	return out;
}

/* Keep the series of set whose labels hit m (want true) or miss it (false). */
static int
filter_series(const AlloyLabelIndex *idx, int32 *set, int nset, const AlloyMatcherIds *m, bool want)
{
	int			out = 0;

	for (int i = 0; i < nset; i++)
	{
		int			n;
		const int32 *ids = AlloyLabelIndexSeriesLabels(idx, set[i], &n);

		if (AlloyMatcherHit(ids, n, m) == want)
			set[out++] = set[i];
	}
	return out;
}

typedef struct MatcherOrder
{
	AlloyMatcherIds *m;
	int64		count;			/* series in its posting lists */
} MatcherOrder;

static int
cmp_matcher_order(const void *a, const void *b)
{
	const MatcherOrder *x = a;
	const MatcherOrder *y = b;

	return x->count < y->count ? -1 : x->count > y->count;
}

/*
 * The series (numbers of the label index) matching every matcher, sorted.
 * Positive matchers are intersected smallest first; a matcher whose
 * postings are far longer than the set so far is checked per series instead,
 * and negative matchers are subtracted the same way.
 */
int32 *
AlloyPostingsMatch(const AlloyLabelIndex *idx, AlloyMatcherIds *mids, int nmatchers, int *nset)
{
	MatcherOrder *order = palloc(sizeof(MatcherOrder) * Max(nmatchers, 1));
	int32	   *set = NULL;
	int			n = 0;

	for (int i = 0; i < nmatchers; i++)
	{
		order[i].m = &mids[i];
		order[i].count = matcher_postings_count(idx, &mids[i]);
	}
	qsort(order, nmatchers, sizeof(MatcherOrder), cmp_matcher_order);

	for (int i = 0; i < nmatchers; i++)
	{
		AlloyMatcherIds *m = order[i].m;

		if (!m->positive)
			continue;
		if (set == NULL)
			set = matcher_series(idx, m, order[i].count, &n);
		else if (order[i].count <= (int64) n * ALLOY_LV_SERIES_COST)
		{
			int			nb;
			int32	   *b = matcher_series(idx, m, order[i].count, &nb);

			n = sorted_intersect(set, n, b, nb);
			pfree(b);
		}
		else
			n = filter_series(idx, set, n, m, true);
		if (n == 0)
			break;
	}
	if (set == NULL)
	{
		/* no positive matcher: every series of the tenant */
		n = AlloyLabelIndexSeriesCount(idx);
		set = palloc_extended(sizeof(int32) * Max(n, 1), MCXT_ALLOC_HUGE);
		for (int i = 0; i < n; i++)
			set[i] = i;
	}
	for (int i = 0; i < nmatchers && n > 0; i++)
	{
		AlloyMatcherIds *m = order[i].m;

		if (m->positive || m->nids == 0)
			continue;
		if (order[i].count <= (int64) n * ALLOY_LV_SERIES_COST)
		{
			int			nb;
			int32	   *b = matcher_series(idx, m, order[i].count, &nb);

			n = sorted_subtract(set, n, b, nb);
			pfree(b);
		}
		else
			n = filter_series(idx, set, n, m, false);
	}
	pfree(order);
	*nset = n;
	return set;
}

/*
 * Mark which wanted label ids (sorted, all of one label name) the matched
 * series carry, from the in-memory label index. Two strategies, chosen by
 * estimated cost as Prometheus does: when the wanted values' posting lists
 * are short next to the matched set, test each value's postings for overlap
 * with the set (stopping at the first common series); otherwise visit the
 * matched series once and look their labels up among the wanted ids,
 * stopping once every value has been seen.
 */
void
AlloyPostingsLabelValues(const AlloyLabelIndex *idx, AlloyMatcherIds *mids, int nmatchers,
					 const int32 *wids, int nv, bool *seen, const char *name, int name_len)
{
	int			nset;
	int32	   *set = AlloyPostingsMatch(idx, mids, nmatchers, &nset);
	int64		cost = 0;
	bool		intersect;

	if (nset == 0)
	{
		pfree(set);
		return;
	}
	/* every value costs at least one step: many values always mean a scan */
	intersect = (int64) nv <= (int64) nset * ALLOY_LV_SERIES_COST;
	for (int v = 0; v < nv && intersect; v++)
	{
		int			np;

		(void) AlloyLabelIndexPostings(idx, wids[v], &np);
		cost += Min(np, nset);
		intersect = cost <= (int64) nset * ALLOY_LV_SERIES_COST;
	}
	elog(DEBUG1, "alloy label values of \"%.*s\": %d matched series, %d values, %s",
		 name_len, name, nset, nv, intersect ? "postings intersection" : "series scan");

	if (intersect)
	{
		for (int v = 0; v < nv; v++)
		{
			int			np;
			const int32 *p = AlloyLabelIndexPostings(idx, wids[v], &np);

			seen[v] = np > 0 && sorted_overlap(p, np, set, nset);
		}
	}
	else
	{
		int32		lo = wids[0];
		int32		hi = wids[nv - 1];
		int32	   *dense = NULL;
		int			nseen = 0;

		/* wanted id -> its position + 1, when the id range is small */
		if ((int64) hi - lo < ALLOY_LV_DENSE_MAX)
		{
			dense = palloc0(sizeof(int32) * ((Size) (hi - lo) + 1));
			for (int v = 0; v < nv; v++)
				dense[wids[v] - lo] = v + 1;
		}
		for (int i = 0; i < nset && nseen < nv; i++)
		{
			int			n;
			const int32 *ids = AlloyLabelIndexSeriesLabels(idx, set[i], &n);

			for (int j = 0; j < n; j++)
			{
				int			v;

				if (ids[j] < lo || ids[j] > hi)
					continue;
				if (dense)
					v = dense[ids[j] - lo] - 1;
				else
				{
					const int32 *f = bsearch(&ids[j], wids, nv, sizeof(int32), AlloyCmpLabelId);

					v = f ? (int) (f - wids) : -1;
				}
				if (v >= 0)
				{
					if (!seen[v])
						nseen++;
					seen[v] = true;
					break;		/* one value per label name */
				}
			}
		}
		if (dense)
			pfree(dense);
	}
	pfree(set);
}

