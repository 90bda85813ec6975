/*
 * api_query.c: GET/POST /api/v1/query and /api/v1/query_range.
 *
 * Parameters, JSON and errors as Prometheus 2.42's web API: a parse error is
 * 400 bad_data, an evaluation error 422 execution, a timeout 503. Each query
 * runs in its own read-only transaction in the HTTP worker, bounded by the
 * request's timeout parameter and alloy.query_timeout through PostgreSQL's
 * statement timeout, so a cancel reaches every loop of the engine.
 *
 * Answers are streamed (AlloyHttpStreamBody): the first 64kB of JSON are
 * written inside the transaction; a result that needs more is copied into
 * the request's memory, the query's own memory (its inputs) is freed with the
 * transaction, and the rest of the JSON is written piece by piece as the
 * client reads it. So besides the result itself, which alloy.query_max_samples
 * bounds, an answer costs one piece of JSON however large it is.
 */
#include "postgres.h"

#include <limits.h>

#include "access/xact.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "api/api_int.h"
#include "httpd/httpd.h"
#include "runtime/runtime.h"
#include "query/query.h"

/* Prometheus's limit on points per series in a range query. */
#define ALLOY_MAX_RANGE_POINTS 11000

int			alloy_query_timeout = 120000;	/* alloy.query_timeout */

static void
AlloyJsonLabels(StringInfo out, const PromqlLabels *ls)
{
	appendStringInfoCharMacro(out, '{');
	for (int i = 0; i < ls->n; i++)
	{
		if (i > 0)
			appendStringInfoCharMacro(out, ',');
		AlloyJsonString(out, ls->v[i].name);
		appendStringInfoCharMacro(out, ':');
		AlloyJsonString(out, ls->v[i].value);
	}
	appendStringInfoCharMacro(out, '}');
}

/*
 * A query answer being written: the result, and how far the JSON has got.
 * series indexes the vector's samples or the matrix's series; point is the
 * next point of that series, or -1 before its "metric" part.
 */
typedef struct AlloyQueryStream
{
	PromqlResult res;
	bool		started;
	int			series;
	int			point;
} AlloyQueryStream;

/*
 * The JSON of a successful query answer, as Prometheus 2.42 writes it: fill
 * function of AlloyHttpStreamBody, so it stops at a point boundary once about
 * ALLOY_HTTP_STREAM_CHUNK bytes are out and carries on from there next time.
 */
static bool
AlloyQueryFill(void *arg, StringInfo out)
{
	AlloyQueryStream *st = arg;
	const PromqlResult *res = &st->res;

	if (!st->started)
	{
		st->started = true;
		st->point = -1;
		appendStringInfoString(out, "{\"status\":\"success\",\"data\":{\"resultType\":");
		switch (res->type)
		{
			case PROMQL_VAL_SCALAR:
				/* Prometheus marshals scalars and strings differently from samples */
				appendStringInfoString(out, "\"scalar\",\"result\":[");
				AlloyJsonSeconds(out, res->t);
				appendStringInfoCharMacro(out, ',');
				AlloyJsonFloatFixed(out, res->scalar);
				appendStringInfoString(out, "]}}");
				return true;
			case PROMQL_VAL_STRING:
				appendStringInfoString(out, "\"string\",\"result\":[");
				AlloyJsonSeconds(out, res->t);
				appendStringInfoCharMacro(out, ',');
				AlloyJsonString(out, res->str ? res->str : "");
				appendStringInfoString(out, "]}}");
				return true;
			case PROMQL_VAL_VECTOR:
			case PROMQL_VAL_NONE:
				appendStringInfoString(out, "\"vector\",\"result\":[");
				break;
			case PROMQL_VAL_MATRIX:
				appendStringInfoString(out, "\"matrix\",\"result\":[");
				break;
		}
	}

	if (res->type != PROMQL_VAL_MATRIX)
	{
		while (out->len < ALLOY_HTTP_STREAM_CHUNK)
		{
			const PromqlSample *s;

			if (st->series >= res->vector.n)
			{
				appendStringInfoString(out, "]}}");
				return true;
			}
			s = &res->vector.s[st->series];
			if (st->series++ > 0)
				appendStringInfoCharMacro(out, ',');
			appendStringInfoString(out, "{\"metric\":");
			AlloyJsonLabels(out, &s->labels);
			appendStringInfoString(out, ",\"value\":");
			AlloyJsonSamplePair(out, s->t, s->v);
			appendStringInfoCharMacro(out, '}');
		}
		return false;
	}

	while (out->len < ALLOY_HTTP_STREAM_CHUNK)
	{
		const PromqlSeriesOut *s;

		if (st->series >= res->matrix.n)
		{
			appendStringInfoString(out, "]}}");
			return true;
		}
		s = &res->matrix.s[st->series];
		if (st->point < 0)
		{
			if (st->series > 0)
				appendStringInfoCharMacro(out, ',');
			appendStringInfoString(out, "{\"metric\":");
			AlloyJsonLabels(out, &s->labels);
			appendStringInfoString(out, ",\"values\":[");
			st->point = 0;
		}
		for (; st->point < s->n && out->len < ALLOY_HTTP_STREAM_CHUNK; st->point++)
		{
			if (st->point > 0)
				appendStringInfoCharMacro(out, ',');
			AlloyJsonSamplePair(out, s->t[st->point], s->v[st->point]);
		}
		if (st->point >= s->n)
		{
			appendStringInfoString(out, "]}");
			st->series++;
			st->point = -1;
		}
	}
	return false;
}

static void
AlloyCopyLabels(PromqlLabels *ls)
{
	PromqlLabel *v = palloc(sizeof(PromqlLabel) * Max(ls->n, 1));

	for (int i = 0; i < ls->n; i++)
	{
		v[i].name = pstrdup(ls->v[i].name);
		v[i].value = pstrdup(ls->v[i].value);
	}
	ls->v = v;
}

/*
 * Copy a result into CurrentMemoryContext, so it outlives the query's
 * memory (a child of the transaction's) while it is streamed.
 */
static void
AlloyCopyResult(PromqlResult *res)
{
	if (res->type == PROMQL_VAL_MATRIX)
	{
		PromqlSeriesOut *s = palloc(sizeof(PromqlSeriesOut) * Max(res->matrix.n, 1));

		for (int i = 0; i < res->matrix.n; i++)
		{
			const PromqlSeriesOut *from = &res->matrix.s[i];

			s[i] = *from;
			s[i].cap = from->n;
			AlloyCopyLabels(&s[i].labels);
			s[i].t = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64_t) * Max(from->n, 1));
			s[i].v = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * Max(from->n, 1));
			memcpy(s[i].t, from->t, sizeof(int64_t) * from->n);
			memcpy(s[i].v, from->v, sizeof(double) * from->n);
		}
		res->matrix.s = s;
		res->matrix.cap = res->matrix.n;
	}
	else if (res->type == PROMQL_VAL_VECTOR || res->type == PROMQL_VAL_NONE)
	{
		PromqlSample *s = MemoryContextAllocHuge(CurrentMemoryContext,
												 sizeof(PromqlSample) * Max(res->vector.n, 1));

		for (int i = 0; i < res->vector.n; i++)
		{
			s[i] = res->vector.s[i];
			AlloyCopyLabels(&s[i].labels);
		}
		res->vector.s = s;
		res->vector.cap = res->vector.n;
	}
}

/*
 * Parse and evaluate in one transaction, answering success or Prometheus's
 * error. instant decides the wording of parse errors, which Prometheus words
 * differently for the two endpoints.
 */
static void
AlloyApiExecute(AlloyHttpRequest *req, AlloyHttpResponse *resp, const char *query,
				int64 start, int64 end, int64 step, int64 timeout_ms, bool instant)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	AlloyPromqlQuery *volatile q = NULL;
	AlloyQueryStream *st = palloc0(sizeof(AlloyQueryStream));
	volatile bool parsed = false;

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	PG_TRY();
	{
		q = AlloyPromqlBegin(query, AlloyHttpTenant(req));
		parsed = true;
		if (timeout_ms > 0)
			enable_timeout_after(STATEMENT_TIMEOUT, (int) Min(timeout_ms, INT_MAX));
		AlloyPromqlEval(q, start, end, step, &st->res);
		disable_timeout(STATEMENT_TIMEOUT, false);
		MemoryContextSwitchTo(oldcxt);
		if (AlloyHttpStreamBody(req, resp, AlloyQueryFill, st))
			AlloyCopyResult(&st->res);	/* the rest is written after commit */
		AlloyPromqlEnd(q);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		disable_timeout(STATEMENT_TIMEOUT, false);
		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
		{
			/* a timeout or a cancel: the router's answer is Prometheus's */
			FreeErrorData(edata);
			PG_RE_THROW();
		}
		FlushErrorState();
		AbortCurrentTransaction();
		MemoryContextSwitchTo(oldcxt);
		AlloyHttpStreamCancel(req);
		if (!parsed)
			AlloyHttpJsonError(resp, 400, "bad_data",
							   instant ? psprintf("invalid parameter \"query\": %s",
												  AlloyApiParseError(query, edata->message))
							   : AlloyApiParseError(query, edata->message));
		else if (edata->sqlerrcode == ERRCODE_DATA_EXCEPTION ||
				 edata->sqlerrcode == ERRCODE_PROGRAM_LIMIT_EXCEEDED)
			AlloyHttpJsonError(resp, 422, "execution", edata->message);
		else
		{
			const char *type;
			int			status = AlloyHttpStatusForSqlstate(edata->sqlerrcode, &type);

			AlloyHttpJsonError(resp, status, type, edata->message);
		}
		FreeErrorData(edata);
		return;
	}
	PG_END_TRY();
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(oldcxt);
}

/* The request's timeout parameter, capped by alloy.query_timeout; -1 after answering 400. */
static int64
AlloyApiTimeout(AlloyHttpRequest *req, AlloyHttpResponse *resp)
{
	const char *s = AlloyHttpArg(req, "timeout");
	int64		ms = alloy_query_timeout;

	if (s != NULL && *s != '\0')
	{
		int64		t;

		if (!AlloyApiParseDuration(s, &t))
		{
			AlloyApiBadParam(resp, "timeout", psprintf("cannot parse \"%s\" to a valid duration", s));
			return -1;
		}
		if (t > 0 && (ms == 0 || t < ms))
			ms = t;
	}
	return ms;
}

static int64
AlloyNowMs(void)
{
	return AlloyTimestampToMs(GetCurrentTimestamp());
}

static void
AlloyQueryHandler(AlloyHttpRequest *req, AlloyHttpResponse *resp)
{
	const char *query = AlloyHttpArg(req, "query");
	int64		t;
	int64		timeout;

	if (!AlloyApiTimeParam(req, resp, "time", AlloyNowMs(), &t))
		return;
	if ((timeout = AlloyApiTimeout(req, resp)) < 0)
		return;
	AlloyApiExecute(req, resp, query ? query : "", t, t, 0, timeout, true);
}

/*
 * query_range's start or end. Prometheus 2.42 parses these two without its
 * parseTimeParam, so the error is the parser's alone (`invalid parameter
 * "start": cannot parse "x" to a valid timestamp`; absent or empty is "")
 * where instant query's time gets AlloyApiTimeParam's longer wording.
 */
static bool
AlloyRangeTimeParam(AlloyHttpRequest *req, AlloyHttpResponse *resp, const char *name,
					int64 *ms)
{
	const char *s = AlloyHttpArg(req, name);

	if (s == NULL)
		s = "";
	if (*s != '\0' && AlloyApiParseTime(s, ms))
		return true;
	AlloyApiBadParam(resp, name, psprintf("cannot parse \"%s\" to a valid timestamp", s));
	return false;
}

static void
AlloyQueryRangeHandler(AlloyHttpRequest *req, AlloyHttpResponse *resp)
{
	const char *query = AlloyHttpArg(req, "query");
	const char *step_s = AlloyHttpArg(req, "step");
	int64		start;
	int64		end;
	int64		step;
	int64		timeout;

	if (!AlloyRangeTimeParam(req, resp, "start", &start) ||
		!AlloyRangeTimeParam(req, resp, "end", &end))
		return;
	if (end < start)
	{
		AlloyApiBadParam(resp, "end", "end timestamp must not be before start time");
		return;
	}
	if (step_s == NULL || !AlloyApiParseDuration(step_s, &step))
	{
		AlloyApiBadParam(resp, "step", psprintf("cannot parse \"%s\" to a valid duration",
												step_s ? step_s : ""));
		return;
	}
	if (step <= 0)
	{
		AlloyApiBadParam(resp, "step", "zero or negative query resolution step widths are not accepted. Try a positive integer");
		return;
	}
	if ((end - start) / step > ALLOY_MAX_RANGE_POINTS)
	{
		AlloyHttpJsonError(resp, 400, "bad_data",
						   "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)");
		return;
	}
	if ((timeout = AlloyApiTimeout(req, resp)) < 0)
		return;
	AlloyApiExecute(req, resp, query ? query : "", start, end, step, timeout, false);
}

void
AlloyApiQueryRoutes(void)
{
	AlloyHttpRoute("/api/v1/query", ALLOY_ROUTE_GET | ALLOY_ROUTE_POST, "/api/v1/query",
				   AlloyQueryHandler);
	AlloyHttpRoute("/api/v1/query_range", ALLOY_ROUTE_GET | ALLOY_ROUTE_POST, "/api/v1/query_range",
				   AlloyQueryRangeHandler);
}
