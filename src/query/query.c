/*
 * query.c: the PromQL engine bound to alloy's catalog and storage.
 *
 * The engine's arena takes its blocks from a per-query memory context, so an
 * error or a cancel anywhere in evaluation (the engine calls
 * CHECK_FOR_INTERRUPTS through its interrupt hook) frees everything with the
 * context and no cleanup code needs to run. Storage is reached through the
 * PromqlStorage callback: a selector resolves to series ids through the label
 * index (AlloySeriesSelect, tenant-scoped) and reads exactly the time range
 * the planner computed (AlloySamplesBeginRead), so only overlapping chunks
 * are decoded.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "runtime/runtime.h"
#include "series/series.h"
#include "query/query.h"
#include "store/store.h"

int			alloy_promql_compat = PROMQL_COMPAT_V2;

static const struct config_enum_entry alloy_promql_compat_options[] = {
	{"2", PROMQL_COMPAT_V2, false},
	{"3", PROMQL_COMPAT_V3, false},
	{NULL, 0, false}
};

/*
 * alloy.promql_compat chooses Prometheus 2.42's semantics (the default, what
 * the reference Prometheus does) or Prometheus 3's where they differ:
 * left-open range windows, '.' matching newlines in regexes, and 3.x's
 * function set and numerics.
 */
void
AlloyPromqlInit(void)
{
	DefineCustomEnumVariable("alloy.promql_compat",
							 "Prometheus major version whose PromQL semantics alloy follows (2 or 3).",
							 "2 matches Prometheus 2.42; 3 selects Prometheus 3's left-open range windows and regex rules.",
							 &alloy_promql_compat,
							 PROMQL_COMPAT_V2,
							 alloy_promql_compat_options,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
}

static void *
AlloyPromqlAlloc(void *arg, size_t size)
{
	return MemoryContextAllocHuge((MemoryContext) arg, size);
}

static void
AlloyPromqlFree(void *arg, void *ptr)
{
	pfree(ptr);
}

static void
AlloyPromqlInterrupt(void *arg)
{
	CHECK_FOR_INTERRUPTS();
}

/* The engine's matchers as the catalog's. */
static AlloyMatcher *
AlloyPromqlToMatchers(const PromqlMatcher *matchers, int nmatchers)
{
	AlloyMatcher *am = palloc(sizeof(AlloyMatcher) * Max(nmatchers, 1));

	for (int i = 0; i < nmatchers; i++)
	{
		am[i].name = matchers[i].name;
		am[i].name_len = strlen(matchers[i].name);
		am[i].value = matchers[i].value;
		am[i].value_len = strlen(matchers[i].value);
		switch (matchers[i].type)
		{
			case PROMQL_MATCH_EQ:
				am[i].op = ALLOY_MATCH_EQ;
				break;
			case PROMQL_MATCH_NEQ:
				am[i].op = ALLOY_MATCH_NEQ;
				break;
			case PROMQL_MATCH_RE:
				am[i].op = ALLOY_MATCH_RE;
				break;
			case PROMQL_MATCH_NRE:
				am[i].op = ALLOY_MATCH_NRE;
				break;
		}
	}
	return am;
}

AlloySelectedSeries *
AlloyPromqlMatchSeries(AlloyPromqlQuery *q, const PromqlMatcher *matchers, int nmatchers,
					   int *nseries)
{
	*nseries = 0;
	if (q->tenant_id == ALLOY_INVALID_TENANT_ID)
		return NULL;
	return AlloySeriesSelect(q->tenant_id, AlloyPromqlToMatchers(matchers, nmatchers),
							 nmatchers, nseries);
}

AlloyLabel *
AlloyPromqlLabelValues(AlloyPromqlQuery *q, const PromqlMatcher *matchers, int nmatchers,
					   const char *name, int *nvalues)
{
	*nvalues = 0;
	if (q->tenant_id == ALLOY_INVALID_TENANT_ID)
		return NULL;
	return AlloySeriesLabelValues(q->tenant_id, AlloyPromqlToMatchers(matchers, nmatchers),
								  nmatchers, name, strlen(name), nvalues);
}

AlloyLabel *
AlloyPromqlLabelNames(AlloyPromqlQuery *q, const PromqlMatcher *matchers, int nmatchers,
					  int *nnames)
{
	*nnames = 0;
	if (q->tenant_id == ALLOY_INVALID_TENANT_ID)
		return NULL;
	return AlloySeriesLabelNames(q->tenant_id, AlloyPromqlToMatchers(matchers, nmatchers),
								 nmatchers, nnames);
}

/* The PromqlStorage select callback: label index, then the time range. */
static bool
AlloyPromqlSelect(void *ctx, AlloyArena *arena, const PromqlMatcher *matchers,
				  int nmatchers, int64_t mint, int64_t maxt,
				  PromqlSeriesSet *out, char *errbuf, size_t errlen)
{
	AlloyPromqlQuery *q = ctx;
	AlloySelectedSeries *sel;
	AlloySamplesReader *reader;
	int			nsel = 0;

	out->n = 0;
	out->series = NULL;
	sel = AlloyPromqlMatchSeries(q, matchers, nmatchers, &nsel);
	if (nsel == 0)
		return true;

	out->series = alloy_arena_alloc0(arena, sizeof(PromqlSeries) * nsel);
	{
		int64	   *ids = palloc(sizeof(int64) * nsel);

		for (int i = 0; i < nsel; i++)
			ids[i] = sel[i].series_id;
		/* the head is filtered to these series as it is loaded */
		reader = AlloySamplesBeginReadSeries(mint, maxt, ids, nsel);
	}
	for (int i = 0; i < nsel; i++)
	{
		PromqlSeries *ps = &out->series[out->n];
		PromqlLabel *labels;
		int64	   *ts = NULL;
		double	   *vs = NULL;
		int			n;

		CHECK_FOR_INTERRUPTS();
		n = AlloySamplesReadSeries(reader, sel[i].series_id, &ts, &vs);
		labels = alloy_arena_alloc(arena, sizeof(PromqlLabel) * Max(sel[i].nlabels, 1));
		for (int j = 0; j < sel[i].nlabels; j++)
		{
			labels[j].name = alloy_arena_strndup(arena, sel[i].labels[j].name, sel[i].labels[j].name_len);
			labels[j].value = alloy_arena_strndup(arena, sel[i].labels[j].value, sel[i].labels[j].value_len);
		}
		ps->labels.n = sel[i].nlabels;
		ps->labels.v = labels;
		ps->n = n;
		ps->t = (const int64_t *) ts;
		ps->v = vs;
		out->n++;
	}
	AlloySamplesEndRead(reader);
	return true;
}

AlloyPromqlQuery *
AlloyPromqlBegin(const char *query, const char *tenant)
{
	MemoryContext cxt;
	AlloyPromqlQuery *q;
	AlloyAllocHooks hooks;
	const char *err = NULL;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "alloy promql",
								ALLOCSET_DEFAULT_SIZES);
	q = MemoryContextAllocZero(cxt, sizeof(AlloyPromqlQuery));
	q->context = cxt;
	q->text = MemoryContextStrdup(cxt, query);
	hooks.alloc = AlloyPromqlAlloc;
	hooks.free = AlloyPromqlFree;
	hooks.arg = cxt;
	q->arena = alloy_arena_create(&hooks);

	promql_engine_opts_default(&q->opts);
	q->opts.lookback_ms = alloy_lookback_delta;
	q->opts.max_samples = alloy_query_max_samples;
	q->opts.interrupt = AlloyPromqlInterrupt;
	q->opts.interrupt_arg = NULL;
	q->opts.compat = alloy_promql_compat;

	q->tenant_id = AlloyTenantLookup(tenant, false);
	q->storage.ctx = q;
	q->storage.select = AlloyPromqlSelect;

	q->expr = promql_parse_compat(q->arena, q->text, strlen(q->text), alloy_promql_compat, &err);
	if (q->expr == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("%s", err ? err : "parse error")));
	return q;
}

/* Raise an evaluation error with the SQLSTATE that tells its kind. */
static void
AlloyPromqlEvalError(const char *err)
{
	if (err && strstr(err, "too many samples") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s", err),
				 errhint("Raise alloy.query_max_samples or narrow the query.")));
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("%s", err ? err : "PromQL evaluation failed")));
}

void
AlloyPromqlEval(AlloyPromqlQuery *q, int64 start_ms, int64 end_ms, int64 step_ms,
				PromqlResult *res)
{
	const char *err = NULL;

	memset(res, 0, sizeof(*res));

	/*
	 * Prometheus rejects a range query of a range vector or a string when it
	 * builds the query, so the HTTP API answers 400 bad_data, not an
	 * evaluation error: raise it with a bad-parameter SQLSTATE here, before
	 * the engine's own (identical) check would.
	 */
	if (step_ms > 0)
	{
		PromqlValueType type = promql_node_type(q->expr);

		if (type != PROMQL_VAL_SCALAR && type != PROMQL_VAL_VECTOR)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid expression type \"%s\" for range query, must be Scalar or instant Vector",
							promql_value_type_name(type))));
	}
	if (!promql_eval(q->arena, &q->opts, &q->storage, q->expr,
					 start_ms, end_ms, step_ms, res, &err))
		AlloyPromqlEvalError(err);
}

char *
AlloyPromqlExplain(AlloyPromqlQuery *q, int64 start_ms, int64 end_ms, int64 step_ms)
{
	const char *err = NULL;
	char	   *plan;

	plan = promql_explain(q->arena, &q->opts, &q->storage, q->expr,
						  start_ms, end_ms, step_ms, &err);
	if (plan == NULL)
		AlloyPromqlEvalError(err);
	return plan;
}

void
AlloyPromqlEnd(AlloyPromqlQuery *q)
{
	MemoryContextDelete(q->context);
}
