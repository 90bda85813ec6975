/*
 * api_exemplars.c: GET/POST /api/v1/query_exemplars and its SQL twin
 * alloy.query_exemplars().
 *
 * As in Prometheus 2.42 (web/api/v1 queryExemplars): the query is parsed
 * as PromQL only to collect the label matchers of every vector selector in
 * it (parser.ExtractSelectors); a series whose labels satisfy any one of
 * those matcher sets qualifies, and its exemplars between start and end
 * are returned, series ordered by label set, exemplars by time.
 *
 * Series come from the catalog's label index for the request's tenant, so
 * tenants never see each other's exemplars (alloy.exemplars rows are keyed
 * by series id); the exemplars of all matched series are then read with one
 * index scan per series through the (series_id, "time", labels) index.
 * The walker lives here rather than in src/promql because only this
 * endpoint needs selectors without evaluating anything.
 *
 * A query without any selector gets 204 No Content, as Prometheus's API
 * wrapper answers a handler that returns no data.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "series/series.h"
#include "api/api_int.h"
#include "runtime/runtime.h"
#include "query/query.h"

PG_FUNCTION_INFO_V1(alloy_query_exemplars);

/* Times a timestamptz can hold, in Unix ms: wider query bounds are clamped. */
#define ALLOY_UNIX_EPOCH_MS		INT64CONST(946684800000)
#define ALLOY_TS_MIN_MS			(MIN_TIMESTAMP / 1000 + ALLOY_UNIX_EPOCH_MS + 1)
#define ALLOY_TS_MAX_MS			(PG_INT64_MAX / 1000 - 1)	/* below END_TIMESTAMP too */

/* The exemplars of one matched series. */
typedef struct AlloyExemplarSeries
{
	AlloySelectedSeries *series;
	int			n;
	int			cap;
	int64	   *t_ms;
	double	   *value;
	Jsonb	  **labels;
} AlloyExemplarSeries;

typedef struct AlloyExemplarResult
{
	bool		no_selectors;	/* the query has no vector selector at all */
	int			nseries;		/* series with at least one exemplar */
	AlloyExemplarSeries **series;	/* sorted by label set */
} AlloyExemplarResult;

typedef struct AlloySeriesEntry
{
	int64		series_id;		/* hash key */
	AlloyExemplarSeries *es;
} AlloySeriesEntry;

/*
 * Every vector selector under n, as parser.ExtractSelectors collects them:
 * all of them, also those inside range selectors, subqueries and function
 * arguments, whatever they are evaluated for.
 */
static void
AlloyCollectSelectors(const PromqlNode *n, List **out)
{
	if (n == NULL)
		return;
	check_stack_depth();
	switch (n->type)
	{
		case PROMQL_NODE_VECTOR_SELECTOR:
			*out = lappend(*out, (void *) n);
			break;
		case PROMQL_NODE_MATRIX_SELECTOR:
		case PROMQL_NODE_SUBQUERY:
		case PROMQL_NODE_PAREN:
		case PROMQL_NODE_UNARY:
			AlloyCollectSelectors(n->expr, out);
			break;
		case PROMQL_NODE_CALL:
			for (int i = 0; i < n->nargs; i++)
				AlloyCollectSelectors(n->args[i], out);
			break;
		case PROMQL_NODE_AGGREGATE:
			AlloyCollectSelectors(n->param, out);
			AlloyCollectSelectors(n->expr, out);
			break;
		case PROMQL_NODE_BINARY:
			AlloyCollectSelectors(n->lhs, out);
			AlloyCollectSelectors(n->rhs, out);
			break;
		case PROMQL_NODE_NUMBER:
		case PROMQL_NODE_STRING:
			break;
	}
}

static int
AlloyBytesCmp(const char *a, int alen, const char *b, int blen)
{
	int			c = memcmp(a, b, Min(alen, blen));

	if (c != 0)
		return c;
	return (alen > blen) - (alen < blen);
}

/* Prometheus's labels.Compare: pairwise name then value, then the count. */
static int
AlloyExemplarSeriesCmp(const void *pa, const void *pb)
{
	const AlloySelectedSeries *a = (*(AlloyExemplarSeries *const *) pa)->series;
	const AlloySelectedSeries *b = (*(AlloyExemplarSeries *const *) pb)->series;
	int			n = Min(a->nlabels, b->nlabels);

	for (int i = 0; i < n; i++)
	{
		int			c = AlloyBytesCmp(a->labels[i].name, a->labels[i].name_len,
									  b->labels[i].name, b->labels[i].name_len);

		if (c == 0)
			c = AlloyBytesCmp(a->labels[i].value, a->labels[i].value_len,
							  b->labels[i].value, b->labels[i].value_len);
		if (c != 0)
			return c;
	}
	return (a->nlabels > b->nlabels) - (a->nlabels < b->nlabels);
}

static int64
AlloyClampMs(int64 ms)
{
	return Max(ALLOY_TS_MIN_MS, Min(ms, ALLOY_TS_MAX_MS));
}

/*
 * Read the exemplars in [start_ms, end_ms] of the given series into their
 * entries (allocated in cxt).
 */
static void
AlloyReadExemplars(HTAB *byid, Datum *ids, int nids, int64 start_ms, int64 end_ms,
				   MemoryContext cxt)
{
	Datum		args[3];
	Oid			types[3] = {INT8ARRAYOID, TIMESTAMPTZOID, TIMESTAMPTZOID};

	args[0] = PointerGetDatum(construct_array(ids, nids, INT8OID, 8, FLOAT8PASSBYVAL,
											  TYPALIGN_DOUBLE));
	args[1] = TimestampTzGetDatum(AlloyMsToTimestamp(AlloyClampMs(start_ms)));
	args[2] = TimestampTzGetDatum(AlloyMsToTimestamp(AlloyClampMs(end_ms)));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT e.series_id, e.\"time\", e.value, e.labels "
							  "FROM unnest($1) AS s(id) "
							  "JOIN alloy.exemplars e ON e.series_id = s.id "
							  "AND e.\"time\" >= $2 AND e.\"time\" <= $3 "
							  "ORDER BY e.series_id, e.\"time\", e.labels",
							  3, types, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading exemplars failed");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		AlloySeriesEntry *ent = hash_search(byid, &id, HASH_FIND, NULL);
		AlloyExemplarSeries *es;
		MemoryContext old;

		if (ent == NULL)
			continue;
		es = ent->es;
		old = MemoryContextSwitchTo(cxt);
		if (es->n == es->cap)
		{
			es->cap = es->cap ? es->cap * 2 : 8;
			es->t_ms = es->t_ms ? repalloc(es->t_ms, sizeof(int64) * es->cap) :
				palloc(sizeof(int64) * es->cap);
			es->value = es->value ? repalloc(es->value, sizeof(double) * es->cap) :
				palloc(sizeof(double) * es->cap);
			es->labels = es->labels ? repalloc(es->labels, sizeof(Jsonb *) * es->cap) :
				palloc(sizeof(Jsonb *) * es->cap);
		}
		es->t_ms[es->n] = AlloyTimestampToMs(DatumGetTimestampTz(SPI_getbinval(tup, desc, 2, &isnull)));
		es->value[es->n] = DatumGetFloat8(SPI_getbinval(tup, desc, 3, &isnull));
		es->labels[es->n] = DatumGetJsonbPCopy(SPI_getbinval(tup, desc, 4, &isnull));
		es->n++;
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
}

/*
 * The whole query: selectors, matching series (any selector), their
 * exemplars. Runs in the caller's transaction; a parse error is an ERROR
 * raised by AlloyPromqlBegin before anything else happens.
 */
static void
AlloyExemplarsQuery(const char *query, const char *tenant, int64 start_ms, int64 end_ms,
					AlloyExemplarResult *res)
{
	AlloyPromqlQuery *q = AlloyPromqlBegin(query, tenant);
	MemoryContext cxt = CurrentMemoryContext;
	List	   *selectors = NIL;
	ListCell   *lc;
	HASHCTL		ctl;
	HTAB	   *byid;
	Datum	   *ids = NULL;
	int			nids = 0;
	int			capids = 0;
	AlloyExemplarSeries **all = NULL;

	memset(res, 0, sizeof(*res));
	AlloyCollectSelectors(q->expr, &selectors);
	if (selectors == NIL)
	{
		res->no_selectors = true;
		AlloyPromqlEnd(q);
		return;
	}

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(AlloySeriesEntry);
	ctl.hcxt = cxt;
	byid = hash_create("alloy exemplar series", 256, &ctl,
					   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	foreach(lc, selectors)
	{
		const PromqlNode *sel = lfirst(lc);
		AlloySelectedSeries *found;
		int			n;

		found = AlloyPromqlMatchSeries(q, sel->matchers, sel->nmatchers, &n);
		for (int i = 0; i < n; i++)
		{
			bool		seen;
			AlloySeriesEntry *ent = hash_search(byid, &found[i].series_id, HASH_ENTER, &seen);

			if (seen)
				continue;
			ent->es = palloc0(sizeof(AlloyExemplarSeries));
			ent->es->series = &found[i];
			if (nids == capids)
			{
				capids = capids ? capids * 2 : 64;
				ids = ids ? repalloc(ids, sizeof(Datum) * capids) : palloc(sizeof(Datum) * capids);
				all = all ? repalloc(all, sizeof(AlloyExemplarSeries *) * capids) :
					palloc(sizeof(AlloyExemplarSeries *) * capids);
			}
			ids[nids] = Int64GetDatum(found[i].series_id);
			all[nids] = ent->es;
			nids++;
		}
	}
	if (nids > 0)
		AlloyReadExemplars(byid, ids, nids, start_ms, end_ms, cxt);

	res->series = palloc(sizeof(AlloyExemplarSeries *) * Max(nids, 1));
	for (int i = 0; i < nids; i++)
		if (all[i]->n > 0)
			res->series[res->nseries++] = all[i];
	qsort(res->series, res->nseries, sizeof(AlloyExemplarSeries *), AlloyExemplarSeriesCmp);
	/* the selected series live in cxt, not in the query's context */
	AlloyPromqlEnd(q);
}

/* ---------- HTTP ---------- */

typedef struct AlloyJsonPair
{
	const char *name;
	int			name_len;
	const char *value;
	int			value_len;
} AlloyJsonPair;

static int
AlloyJsonPairCmp(const void *pa, const void *pb)
{
	const AlloyJsonPair *a = pa;
	const AlloyJsonPair *b = pb;

	return AlloyBytesCmp(a->name, a->name_len, b->name, b->name_len);
}

/*
 * A stored exemplar label set as Prometheus writes one: an object with keys
 * in byte order (jsonb keeps its keys shortest first, so reorder them).
 */
static void
AlloyJsonExemplarLabels(StringInfo out, Jsonb *jb)
{
	JsonbIterator *it = JsonbIteratorInit(&jb->root);
	JsonbValue	v;
	JsonbIteratorToken tok;
	AlloyJsonPair *pairs = palloc(sizeof(AlloyJsonPair) * (JB_ROOT_COUNT(jb) + 1));
	int			n = 0;
	bool		key = false;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY && v.type == jbvString)
		{
			pairs[n].name = v.val.string.val;
			pairs[n].name_len = v.val.string.len;
			key = true;
		}
		else if (tok == WJB_VALUE && key)
		{
			if (v.type == jbvString)
			{
				pairs[n].value = v.val.string.val;
				pairs[n].value_len = v.val.string.len;
			}
			else
			{
				pairs[n].value = "";
				pairs[n].value_len = 0;
			}
			n++;
			key = false;
		}
	}
	qsort(pairs, n, sizeof(AlloyJsonPair), AlloyJsonPairCmp);
	appendStringInfoCharMacro(out, '{');
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoCharMacro(out, ',');
		AlloyJsonStringLen(out, pairs[i].name, pairs[i].name_len);
		appendStringInfoCharMacro(out, ':');
		AlloyJsonStringLen(out, pairs[i].value, pairs[i].value_len);
	}
	appendStringInfoCharMacro(out, '}');
	pfree(pairs);
}

static void
AlloyJsonExemplarResult(StringInfo out, const AlloyExemplarResult *res)
{
	appendStringInfoString(out, "{\"status\":\"success\",\"data\":[");
	for (int i = 0; i < res->nseries; i++)
	{
		const AlloyExemplarSeries *es = res->series[i];
		const AlloySelectedSeries *s = es->series;

		if (i > 0)
			appendStringInfoCharMacro(out, ',');
		appendStringInfoString(out, "{\"seriesLabels\":{");
		for (int j = 0; j < s->nlabels; j++)
		{
			if (j > 0)
				appendStringInfoCharMacro(out, ',');
			AlloyJsonStringLen(out, s->labels[j].name, s->labels[j].name_len);
			appendStringInfoCharMacro(out, ':');
			AlloyJsonStringLen(out, s->labels[j].value, s->labels[j].value_len);
		}
		appendStringInfoString(out, "},\"exemplars\":[");
		for (int j = 0; j < es->n; j++)
		{
			if (j > 0)
				appendStringInfoCharMacro(out, ',');
			appendStringInfoString(out, "{\"labels\":");
			AlloyJsonExemplarLabels(out, es->labels[j]);
			appendStringInfoString(out, ",\"value\":");
			AlloyJsonFloat(out, es->value[j]);
			appendStringInfoString(out, ",\"timestamp\":");
			AlloyJsonTimestamp(out, es->t_ms[j]);
			appendStringInfoCharMacro(out, '}');
		}
		appendStringInfoString(out, "]}");
	}
	appendStringInfoString(out, "]}");
}

/*
 * A time parameter as Prometheus's parseTimeParam reads it: absent or empty
 * gives dflt; its error wraps the parser's ("Invalid time value for ...").
 */
static bool
AlloyExemplarsTimeParam(AlloyHttpRequest *req, AlloyHttpResponse *resp, const char *name,
						int64 dflt, int64 *ms)
{
	const char *s = AlloyHttpArg(req, name);

	if (s == NULL || *s == '\0')
	{
		*ms = dflt;
		return true;
	}
	if (AlloyApiParseTime(s, ms))
		return true;
	AlloyApiBadParam(resp, name,
					 psprintf("Invalid time value for '%s': cannot parse \"%s\" to a valid timestamp",
							  name, s));
	return false;
}

static void
AlloyQueryExemplarsHandler(AlloyHttpRequest *req, AlloyHttpResponse *resp)
{
	const char *query = AlloyHttpArg(req, "query");
	MemoryContext cxt = CurrentMemoryContext;
	AlloyExemplarResult res;
	int64		start;
	int64		end;

	if (!AlloyExemplarsTimeParam(req, resp, "start", ALLOY_API_MIN_TIME, &start) ||
		!AlloyExemplarsTimeParam(req, resp, "end", ALLOY_API_MAX_TIME, &end))
		return;
	if (end < start)
	{
		AlloyHttpJsonError(resp, 400, "bad_data", "end timestamp must not be before start timestamp");
		return;
	}

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	/* the answer is built from the result after the commit: keep it with the request */
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		AlloyExemplarsQuery(query ? query : "", AlloyHttpTenant(req), start, end, &res);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode != ERRCODE_INVALID_TEXT_REPRESENTATION)
		{
			/* not a parse error: the router answers it from the SQLSTATE */
			FreeErrorData(edata);
			PG_RE_THROW();
		}
		FlushErrorState();
		AbortCurrentTransaction();
		MemoryContextSwitchTo(cxt);
		/* Prometheus answers the parser's message as is, without "invalid parameter" */
		AlloyHttpJsonError(resp, 400, "bad_data",
						   AlloyApiParseError(query ? query : "", edata->message));
		FreeErrorData(edata);
		return;
	}
	PG_END_TRY();
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);
	if (res.no_selectors)
	{
		/* Prometheus has no data to send then and answers 204 with no body */
		resp->status = 204;
		return;
	}
	AlloyJsonExemplarResult(&resp->body, &res);
	resp->status = 200;
}

void
AlloyApiExemplarsRoutes(void)
{
	AlloyHttpRoute("/api/v1/query_exemplars", ALLOY_ROUTE_GET | ALLOY_ROUTE_POST,
				   "/api/v1/query_exemplars", AlloyQueryExemplarsHandler);
}

/* ---------- SQL ---------- */

/* A time argument in Unix ms; NULL or -infinity/infinity give dflt's extreme. */
static int64
AlloyTimeArg(FunctionCallInfo fcinfo, int argno, int64 dflt)
{
	TimestampTz ts;

	if (PG_ARGISNULL(argno))
		return dflt;
	ts = PG_GETARG_TIMESTAMPTZ(argno);
	if (TIMESTAMP_IS_NOBEGIN(ts))
		return ALLOY_API_MIN_TIME;
	if (TIMESTAMP_IS_NOEND(ts))
		return ALLOY_API_MAX_TIME;
	return AlloyTimestampToMs(ts);
}

/*
 * alloy.query_exemplars(query text, start timestamptz, "end" timestamptz,
 * tenant text): (labels, exemplar_labels, time, value) rows. NULL start or
 * end leaves that side open, as the HTTP API does without the parameter.
 */
Datum
alloy_query_exemplars(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	AlloyExemplarResult res;
	int64		start;
	int64		end;
	const char *tenant = NULL;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("query must not be null")));
	start = AlloyTimeArg(fcinfo, 1, ALLOY_API_MIN_TIME);
	end = AlloyTimeArg(fcinfo, 2, ALLOY_API_MAX_TIME);
	if (PG_NARGS() > 3 && !PG_ARGISNULL(3))
		tenant = text_to_cstring(PG_GETARG_TEXT_PP(3));
	if (end < start)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("end timestamp must not be before start timestamp")));

	InitMaterializedSRF(fcinfo, 0);
	AlloyExemplarsQuery(text_to_cstring(PG_GETARG_TEXT_PP(0)), tenant, start, end, &res);
	for (int i = 0; i < res.nseries; i++)
	{
		const AlloyExemplarSeries *es = res.series[i];
		Datum		labels = AlloyLabelsJsonb(es->series->labels, es->series->nlabels);

		for (int j = 0; j < es->n; j++)
		{
			Datum		values[4];
			bool		nulls[4] = {false, false, false, false};

			values[0] = labels;
			values[1] = JsonbPGetDatum(es->labels[j]);
			values[2] = TimestampTzGetDatum(AlloyMsToTimestamp(es->t_ms[j]));
			values[3] = Float8GetDatum(es->value[j]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	return (Datum) 0;
}
