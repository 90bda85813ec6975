/*
 * sql_promql.c: PromQL as SQL functions.
 *
 * alloy.promql_instant / promql_range return one (labels, time, value) row per
 * output point, the long format Grafana's PostgreSQL data source and plain
 * SQL want; alloy.promql_explain returns the plan. The engine runs through
 * query/query.c, shared with the HTTP API, so both give the same answers.
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "query/query.h"

PG_FUNCTION_INFO_V1(alloy_promql_instant);
PG_FUNCTION_INFO_V1(alloy_promql_range);
PG_FUNCTION_INFO_V1(alloy_promql_explain);
PG_FUNCTION_INFO_V1(alloy_stale_marker);
PG_FUNCTION_INFO_V1(alloy_is_stale_marker);

/* A label set as a jsonb object. */
static Datum
AlloyPromqlLabelsJsonb(const PromqlLabels *ls)
{
	JsonbParseState *state = NULL;
	JsonbValue *res;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < ls->n; i++)
	{
		JsonbValue	k;
		JsonbValue	v;

		k.type = jbvString;
		k.val.string.val = (char *) ls->v[i].name;
		k.val.string.len = strlen(ls->v[i].name);
		v.type = jbvString;
		v.val.string.val = (char *) ls->v[i].value;
		v.val.string.len = strlen(ls->v[i].value);
		pushJsonbValue(&state, WJB_KEY, &k);
		pushJsonbValue(&state, WJB_VALUE, &v);
	}
	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbPGetDatum(JsonbValueToJsonb(res));
}

static void
AlloyPromqlEmit(ReturnSetInfo *rsinfo, Datum labels, int64 t_ms, double v)
{
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	values[0] = labels;
	values[1] = TimestampTzGetDatum(AlloyMsToTimestamp(t_ms));
	values[2] = Float8GetDatum(v);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/* Write a result as (labels, time, value) rows. */
static void
AlloyPromqlEmitResult(FunctionCallInfo fcinfo, const PromqlResult *res)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PromqlLabels none = {0, NULL};

	switch (res->type)
	{
		case PROMQL_VAL_SCALAR:
			AlloyPromqlEmit(rsinfo, AlloyPromqlLabelsJsonb(&none), res->t, res->scalar);
			break;
		case PROMQL_VAL_VECTOR:
			for (int i = 0; i < res->vector.n; i++)
				AlloyPromqlEmit(rsinfo, AlloyPromqlLabelsJsonb(&res->vector.s[i].labels),
								res->vector.s[i].t, res->vector.s[i].v);
			break;
		case PROMQL_VAL_MATRIX:
			for (int i = 0; i < res->matrix.n; i++)
			{
				const PromqlSeriesOut *s = &res->matrix.s[i];
				Datum		labels = AlloyPromqlLabelsJsonb(&s->labels);

				for (int j = 0; j < s->n; j++)
					AlloyPromqlEmit(rsinfo, labels, s->t[j], s->v[j]);
			}
			break;
		case PROMQL_VAL_STRING:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("PromQL string results have no (labels, time, value) form"),
					 errhint("Query string expressions through the HTTP API.")));
			break;
		case PROMQL_VAL_NONE:
			break;
	}
}

static int64
AlloyIntervalToMs(const Interval *iv)
{
	int64		days = (int64) iv->month * DAYS_PER_MONTH + iv->day;

	return days * (USECS_PER_DAY / 1000) + iv->time / 1000;
}

static char *
AlloyOptionalText(FunctionCallInfo fcinfo, int argno)
{
	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return NULL;
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

static void
AlloyPromqlRun(FunctionCallInfo fcinfo, int64 start_ms, int64 end_ms, int64 step_ms,
			   int tenant_arg)
{
	AlloyPromqlQuery *q;
	PromqlResult res;

	InitMaterializedSRF(fcinfo, 0);
	q = AlloyPromqlBegin(text_to_cstring(PG_GETARG_TEXT_PP(0)),
						 AlloyOptionalText(fcinfo, tenant_arg));
	AlloyPromqlEval(q, start_ms, end_ms, step_ms, &res);
	AlloyPromqlEmitResult(fcinfo, &res);
	AlloyPromqlEnd(q);
}

/* alloy.promql_instant(query text, time timestamptz, tenant text) */
Datum
alloy_promql_instant(PG_FUNCTION_ARGS)
{
	int64		t;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("query and time must not be null")));
	t = AlloyTimestampToMs(PG_GETARG_TIMESTAMPTZ(1));
	AlloyPromqlRun(fcinfo, t, t, 0, 2);
	return (Datum) 0;
}

/* alloy.promql_range(query text, start timestamptz, "end" timestamptz, step interval, tenant text) */
Datum
alloy_promql_range(PG_FUNCTION_ARGS)
{
	int64		start;
	int64		end;
	int64		step;

	for (int i = 0; i < 4; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("query, start, end and step must not be null")));
	start = AlloyTimestampToMs(PG_GETARG_TIMESTAMPTZ(1));
	end = AlloyTimestampToMs(PG_GETARG_TIMESTAMPTZ(2));
	step = AlloyIntervalToMs(PG_GETARG_INTERVAL_P(3));
	if (step <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("zero or negative query resolution step widths are not accepted. Try a positive integer")));
	if (end < start)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("end timestamp must not be before start time")));
	AlloyPromqlRun(fcinfo, start, end, step, 4);
	return (Datum) 0;
}

/* alloy.promql_explain(query text, time timestamptz, tenant text): the plan as text */
Datum
alloy_promql_explain(PG_FUNCTION_ARGS)
{
	AlloyPromqlQuery *q;
	text	   *result;
	int64		t;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("query must not be null")));
	t = AlloyTimestampToMs(PG_NARGS() > 1 && !PG_ARGISNULL(1) ?
						   PG_GETARG_TIMESTAMPTZ(1) :
						   GetCurrentTransactionStartTimestamp());
	q = AlloyPromqlBegin(text_to_cstring(PG_GETARG_TEXT_PP(0)), AlloyOptionalText(fcinfo, 2));
	result = cstring_to_text(AlloyPromqlExplain(q, t, t, 0));
	AlloyPromqlEnd(q);
	PG_RETURN_TEXT_P(result);
}

/*
 * alloy.stale_marker(): Prometheus's staleness marker, the NaN with bits
 * 0x7ff0000000000002. float8in turns every "NaN" into one canonical NaN, so
 * SQL needs this to write a marker (tests, backfills that end a series).
 */
Datum
alloy_stale_marker(PG_FUNCTION_ARGS)
{
	uint64		bits = PROMQL_STALE_NAN_BITS;
	double		v;

	memcpy(&v, &bits, sizeof(v));
	PG_RETURN_FLOAT8(v);
}

/* alloy.is_stale_marker(float8): whether a value is exactly the staleness marker. */
Datum
alloy_is_stale_marker(PG_FUNCTION_ARGS)
{
	double		v = PG_GETARG_FLOAT8(0);
	uint64		bits;

	memcpy(&bits, &v, sizeof(bits));
	PG_RETURN_BOOL(bits == PROMQL_STALE_NAN_BITS);
}
