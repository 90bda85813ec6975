/*
 * promql_binop.c: binary operators: arithmetic, comparisons (with and
 * without bool) and the set operators and/or/unless, between scalars and
 * instant vectors, with Prometheus's vector matching (on, ignoring,
 * group_left, group_right) and its errors for ambiguous matches.
 */
#include <math.h>
#include <string.h>

#include "promql/promql_int.h"

/* Does op drop the metric name (arithmetic does, comparisons do not)? */
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

/* l op r between scalars: comparisons give 1 or 0. */
static double
scalar_binop(PromqlOp op, double l, double r)
{
	bool		keep;
	double		v = elem_binop(op, l, r, &keep);

	if (promql_op_is_comparison(op))
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

/* and, or, unless between instant vectors, matched by signature. */
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

/* The labels of a vector_binop result, from the matched pair of samples. */
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

/* Arithmetic or comparison between instant vectors, with vector matching. */
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

/* A binary expression at ts, between scalars and/or instant vectors. */
EvValue
promql_eval_binary(PromqlEval *ev, PromqlNode *n, int64_t ts)
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
			if (promql_op_is_comparison(n->op) && swap)
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
	promql_check_unique_labels(ev, &out.vec);
	return out;
}
