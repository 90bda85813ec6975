/*
 * promql_plan.c: the planner of the PromQL engine.
 *
 * Planning walks the AST once with the interval of evaluation times each
 * node will see (narrowed by @, shifted by offset and subquery windows) and
 * computes for every selector the exact [mint, maxt] it reads; storage is
 * asked once per selector for that window.  EXPLAIN prints the same walk.
 */
#include <string.h>

#include "promql/promql_int.h"

/* Append s to the EXPLAIN text. */
void
promql_plan_append(Planner *pl, const char *s)
{
	size_t		n = strlen(s);
	char	   *e = alloy_arena_alloc(pl->ev->arena, pl->explain_len + n + 1);

	if (pl->explain_len)
		memcpy(e, pl->explain, pl->explain_len);
	memcpy(e + pl->explain_len, s, n + 1);
	pl->explain = e;
	pl->explain_len += n;
}

/* Copy a series without its stale markers: range selectors never see them. */
static void
drop_stale(PromqlEval *ev, PromqlSeries *s)
{
	size_t		k = 0;
	int64_t    *t;
	double	   *v;

	for (size_t i = 0; i < s->n; i++)
		if (promql_is_stale(s->v[i]))
			break;
		else
			k++;
	if (k == s->n)
		return;
	t = alloy_arena_alloc(ev->arena, sizeof(int64_t) * (s->n + 1));
	v = alloy_arena_alloc(ev->arena, sizeof(double) * (s->n + 1));
	k = 0;
	for (size_t i = 0; i < s->n; i++)
		if (!promql_is_stale(s->v[i]))
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
		lo = hi = promql_at_time(ev, vs, lo);
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

		promql_plan_append(pl, line);
	}
}

/* Plan n for evaluation times [lo, hi]: fetch or explain its selectors. */
void
promql_plan_node(Planner *pl, PromqlNode *n, int64_t lo, int64_t hi)
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
				lo = hi = promql_at_time(pl->ev, n, lo);
			promql_plan_node(pl, n->expr, promql_ts_sub(promql_ts_sub(lo, n->offset_ms), n->range_ms),
					  promql_ts_sub(hi, n->offset_ms));
			break;
		case PROMQL_NODE_CALL:
			for (int i = 0; i < n->nargs; i++)
				promql_plan_node(pl, n->args[i], lo, hi);
			break;
		case PROMQL_NODE_AGGREGATE:
			if (n->param)
				promql_plan_node(pl, n->param, lo, hi);
			promql_plan_node(pl, n->expr, lo, hi);
			break;
		case PROMQL_NODE_BINARY:
			promql_plan_node(pl, n->lhs, lo, hi);
			promql_plan_node(pl, n->rhs, lo, hi);
			break;
		case PROMQL_NODE_UNARY:
		case PROMQL_NODE_PAREN:
			promql_plan_node(pl, n->expr, lo, hi);
			break;
	}
}
