/*
 * api_query.c: GET/POST /api/v1/query and /api/v1/query_range.
 *
 * Parameters, JSON and errors as Prometheus 2.42's web API: a parse error is
 * 400 bad_data, an evaluation error 422 execution, a timeout 503. Each query
 * runs in its own read-only transaction in the HTTP worker, bounded by the
 * request's timeout parameter and alloy.query_timeout through PostgreSQL's
 * statement timeout, so a cancel reaches every loop of the engine.
 */
#include "postgres.h"

#include <limits.h>

#include "access/xact.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "http/api.h"
#include "http/json.h"
#include "promql/promql_pg.h"

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

static void
AlloyJsonPoint(StringInfo out, int64 t, double v)
{
	appendStringInfoCharMacro(out, '[');
	AlloyJsonTimestamp(out, t);
	appendStringInfoCharMacro(out, ',');
	AlloyJsonFloat(out, v);
	appendStringInfoCharMacro(out, ']');
}

/* The "data" object of a successful query answer. */
static void
AlloyJsonResult(StringInfo out, const PromqlResult *res)
{
	appendStringInfoString(out, "{\"status\":\"success\",\"data\":{\"resultType\":");
	switch (res->type)
	{
		case PROMQL_VAL_SCALAR:
			/* Prometheus marshals scalars and strings differently from samples */
			appendStringInfoString(out, "\"scalar\",\"result\":[");
			AlloyJsonSeconds(out, res->t);
			appendStringInfoCharMacro(out, ',');
			AlloyJsonFloatFixed(out, res->scalar);
			appendStringInfoCharMacro(out, ']');
			break;
		case PROMQL_VAL_STRING:
			appendStringInfoString(out, "\"string\",\"result\":[");
			AlloyJsonSeconds(out, res->t);
			appendStringInfoCharMacro(out, ',');
			AlloyJsonString(out, res->str ? res->str : "");
			appendStringInfoCharMacro(out, ']');
			break;
		case PROMQL_VAL_VECTOR:
		case PROMQL_VAL_NONE:
			appendStringInfoString(out, "\"vector\",\"result\":[");
			for (int i = 0; i < res->vector.n; i++)
			{
				const PromqlSample *s = &res->vector.s[i];

				if (i > 0)
					appendStringInfoCharMacro(out, ',');
				appendStringInfoString(out, "{\"metric\":");
				AlloyJsonLabels(out, &s->labels);
				appendStringInfoString(out, ",\"value\":");
				AlloyJsonPoint(out, s->t, s->v);
				appendStringInfoCharMacro(out, '}');
			}
			appendStringInfoCharMacro(out, ']');
			break;
		case PROMQL_VAL_MATRIX:
			appendStringInfoString(out, "\"matrix\",\"result\":[");
			for (int i = 0; i < res->matrix.n; i++)
			{
				const PromqlSeriesOut *s = &res->matrix.s[i];

				if (i > 0)
					appendStringInfoCharMacro(out, ',');
				appendStringInfoString(out, "{\"metric\":");
				AlloyJsonLabels(out, &s->labels);
				appendStringInfoString(out, ",\"values\":[");
				for (int j = 0; j < s->n; j++)
				{
					if (j > 0)
						appendStringInfoCharMacro(out, ',');
					AlloyJsonPoint(out, s->t[j], s->v[j]);
				}
				appendStringInfoString(out, "]}");
			}
			appendStringInfoCharMacro(out, ']');
			break;
	}
	appendStringInfoString(out, "}}");
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
	PromqlResult res;
	volatile bool parsed = false;

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	PG_TRY();
	{
		q = AlloyPromqlBegin(query, AlloyHttpTenant(req));
		parsed = true;
		if (timeout_ms > 0)
			enable_timeout_after(STATEMENT_TIMEOUT, (int) Min(timeout_ms, INT_MAX));
		AlloyPromqlEval(q, start, end, step, &res);
		disable_timeout(STATEMENT_TIMEOUT, false);
		MemoryContextSwitchTo(oldcxt);
		AlloyJsonResult(&resp->body, &res);
		resp->status = 200;
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
		if (!parsed)
			AlloyHttpJsonError(resp, 400, "bad_data",
							   instant ? psprintf("invalid parameter \"query\": %s", edata->message)
							   : edata->message);
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

static void
AlloyQueryRangeHandler(AlloyHttpRequest *req, AlloyHttpResponse *resp)
{
	const char *query = AlloyHttpArg(req, "query");
	const char *step_s = AlloyHttpArg(req, "step");
	int64		start;
	int64		end;
	int64		step;
	int64		timeout;

	if (!AlloyApiTimeParam(req, resp, "start", INT64_MIN, &start) ||
		!AlloyApiTimeParam(req, resp, "end", INT64_MIN, &end))
		return;
	if (start == INT64_MIN)
	{
		AlloyApiBadParam(resp, "start", "cannot parse \"\" to a valid timestamp");
		return;
	}
	if (end == INT64_MIN)
	{
		AlloyApiBadParam(resp, "end", "cannot parse \"\" to a valid timestamp");
		return;
	}
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
