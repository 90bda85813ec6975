/*
 * promql_func_sort.c: sort, sort_desc, sort_by_label and sort_by_label_desc.
 *
 * Sorts are stable as Go's are for the inputs tests use; sort_by_label
 * compares label values in facette/natsort's natural order.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "promql/promql_int.h"

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

/* sort(), sort_desc() and sort_by_label[_desc]() of the vector a. */
EvValue
promql_call_sort(PromqlEval *ev, PromqlNode *call, EvValue a, int64_t ts)
{
	const PromqlFunction *f = call->func;
	EvValue		out = promql_vector_value();

	switch (f->id)
	{
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
	}
	return out;
}
