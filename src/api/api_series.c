/*
 * api_series.c: /api/v1/series, /api/v1/labels, /api/v1/label/<name>/values
 * and /api/v1/metadata, what Grafana's query builder and autocomplete call.
 *
 * match[] selectors are parsed by the PromQL parser and resolved through the
 * catalog's label index for the request's tenant. Without match[], label
 * names and values come straight from the interned label table.
 *
 * start and end are accepted and validated but not used to narrow results
 * yet: every matching series is returned whatever its time range (a superset
 * of Prometheus's answer when series have gone quiet).
 *
 * Series and label lists are streamed (AlloyHttpStreamBody): the matched
 * series or the sorted strings stay in the request's memory and their JSON is
 * written about 64kB at a time as the client reads it, never as a whole.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/snapmgr.h"

#include "series/series.h"
#include "api/api_int.h"
#include "httpd/httpd.h"
#include "runtime/runtime.h"
#include "query/query.h"

/* Strings collected for a sorted, de-duplicated JSON array answer. */
typedef struct AlloyStringSet
{
	int			n;
	int			cap;
	char	  **v;
} AlloyStringSet;

static void
AlloyStringSetAdd(AlloyStringSet *set, const char *s, int len)
{
	if (set->n == set->cap)
	{
		set->cap = set->cap ? set->cap * 2 : 64;
		set->v = set->v ? repalloc(set->v, sizeof(char *) * set->cap) :
			palloc(sizeof(char *) * set->cap);
	}
	set->v[set->n++] = pnstrdup(s, len);
}

static int
AlloyStrCmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* A sorted string set being written as a JSON answer. */
typedef struct AlloyStringSetStream
{
	AlloyStringSet set;			/* a copy: the caller's may be on its stack */
	bool		started;
	int			next;			/* next string to consider */
	int			written;
} AlloyStringSetStream;

static bool
AlloyStringSetFill(void *arg, StringInfo out)
{
	AlloyStringSetStream *st = arg;
	AlloyStringSet *set = &st->set;

	if (!st->started)
	{
		st->started = true;
		appendStringInfoString(out, "{\"status\":\"success\",\"data\":[");
	}
	while (out->len < ALLOY_HTTP_STREAM_CHUNK)
	{
		int			i = st->next++;

		if (i >= set->n)
		{
			appendStringInfoString(out, "]}");
			return true;
		}
		if (i > 0 && strcmp(set->v[i], set->v[i - 1]) == 0)
			continue;
		if (st->written++ > 0)
			appendStringInfoCharMacro(out, ',');
		AlloyJsonString(out, set->v[i]);
	}
	return false;
}

/*
 * Answer {"status":"success","data":[...]} with the set sorted and unique.
 * The set must be in the request's memory: the answer is streamed.
 */
static void
AlloyStringSetAnswer(AlloyHttpRequest *req, AlloyHttpResponse *resp, AlloyStringSet *set)
{
	AlloyStringSetStream *st = palloc0(sizeof(AlloyStringSetStream));

	qsort(set->v, set->n, sizeof(char *), AlloyStrCmp);
	st->set = *set;
	AlloyHttpStreamBody(req, resp, AlloyStringSetFill, st);
}

/*
 * Parse one match[] selector for the request's tenant and check it the way
 * Prometheus does; NULL after answering 400.
 */
static AlloyPromqlQuery *
AlloyParseSelector(AlloyHttpRequest *req, AlloyHttpResponse *resp, const char *sel)
{
	AlloyPromqlQuery *q = AlloyPromqlBegin(sel, AlloyHttpTenant(req));
	bool		nonempty = false;

	if (q->expr->type != PROMQL_NODE_VECTOR_SELECTOR)
	{
		AlloyApiBadParam(resp, "match[]",
						 psprintf("1:1: parse error: expected a series selector, got \"%s\"", sel));
		return NULL;
	}
	for (int j = 0; j < q->expr->nmatchers; j++)
		if (!promql_matcher_matches(&q->expr->matchers[j], ""))
			nonempty = true;
	if (!nonempty)
	{
		AlloyHttpJsonError(resp, 400, "bad_data",
						   "match[] must contain at least one non-empty matcher");
		return NULL;
	}
	return q;
}

/* Validate start/end as Prometheus does, though they do not narrow results yet. */
static bool
AlloyApiTimeRange(AlloyHttpRequest *req, AlloyHttpResponse *resp)
{
	int64		start;
	int64		end;

	return AlloyApiTimeParam(req, resp, "start", ALLOY_API_MIN_TIME, &start) &&
		AlloyApiTimeParam(req, resp, "end", ALLOY_API_MAX_TIME, &end);
}

/*
 * A read-only transaction around catalog lookups. Committing switches to
 * TopMemoryContext, so the end puts back the request's memory context: what
 * a handler allocates afterwards is freed with the request.
 */
static MemoryContext alloy_read_cxt;

static void
AlloyBeginRead(void)
{
	alloy_read_cxt = CurrentMemoryContext;
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
}

static void
AlloyEndRead(void)
{
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(alloy_read_cxt);
}

/*
 * A /api/v1/series answer: every selector's matched series (in the request's
 * memory), written in order with repeats across selectors left out.
 */
typedef struct AlloySeriesJson
{
	int			nlists;
	int			maxlists;
	AlloySelectedSeries **lists;
	int		   *counts;
	HTAB	   *seen;			/* series ids already written */
	bool		started;
	int			list;			/* progress: list, and item in it */
	int			item;
	int			count;			/* series written */
} AlloySeriesJson;

/* Keep one selector's matches for the answer. */
static void
AlloyKeepSeries(AlloySelectedSeries *found, int n, AlloySeriesJson *js)
{
	if (js->nlists == js->maxlists)
	{
		js->maxlists = js->maxlists ? js->maxlists * 2 : 4;
		js->lists = js->lists ? repalloc(js->lists, sizeof(AlloySelectedSeries *) * js->maxlists) :
			palloc(sizeof(AlloySelectedSeries *) * js->maxlists);
		js->counts = js->counts ? repalloc(js->counts, sizeof(int) * js->maxlists) :
			palloc(sizeof(int) * js->maxlists);
	}
	js->lists[js->nlists] = found;
	js->counts[js->nlists] = n;
	js->nlists++;
}

static void
AlloyWriteSeries(StringInfo out, AlloySelectedSeries *s, AlloySeriesJson *js)
{
	bool		found;

	hash_search(js->seen, &s->series_id, HASH_ENTER, &found);
	if (found)
		return;

	if (js->count++ > 0)
		appendStringInfoCharMacro(out, ',');
	appendStringInfoCharMacro(out, '{');
	for (int i = 0; i < s->nlabels; i++)
	{
		if (i > 0)
			appendStringInfoCharMacro(out, ',');
		AlloyJsonStringLen(out, s->labels[i].name, s->labels[i].name_len);
		appendStringInfoCharMacro(out, ':');
		AlloyJsonStringLen(out, s->labels[i].value, s->labels[i].value_len);
	}
	appendStringInfoCharMacro(out, '}');
}

static bool
AlloySeriesFill(void *arg, StringInfo out)
{
	AlloySeriesJson *js = arg;

	if (!js->started)
	{
		js->started = true;
		appendStringInfoString(out, "{\"status\":\"success\",\"data\":[");
	}
	while (out->len < ALLOY_HTTP_STREAM_CHUNK)
	{
		if (js->list >= js->nlists)
		{
			appendStringInfoString(out, "]}");
			return true;
		}
		if (js->item >= js->counts[js->list])
		{
			js->list++;
			js->item = 0;
			continue;
		}
		AlloyWriteSeries(out, &js->lists[js->list][js->item++], js);
	}
	return false;
}

static void
AlloySeriesHandler(AlloyHttpRequest *req, AlloyHttpResponse *resp)
{
	const char **sels;
	int			nsels = AlloyHttpArgAll(req, "match[]", &sels);
	AlloySeriesJson *js;
	MemoryContext cxt = CurrentMemoryContext;

	if (nsels == 0)
	{
		AlloyHttpJsonError(resp, 400, "bad_data", "no match[] parameter provided");
		return;
	}
	if (!AlloyApiTimeRange(req, resp))
		return;
	js = palloc0(sizeof(AlloySeriesJson));
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(int64);
		ctl.entrysize = sizeof(int64);
		ctl.hcxt = CurrentMemoryContext;
		js->seen = hash_create("alloy series answer", 256, &ctl,
							   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	AlloyBeginRead();
	/* the matches outlive the read transaction: they are streamed after it */
	MemoryContextSwitchTo(cxt);
	for (int i = 0; i < nsels; i++)
	{
		AlloyPromqlQuery *q = AlloyParseSelector(req, resp, sels[i]);
		AlloySelectedSeries *found;
		int			n;

		if (q == NULL)
		{
			AbortCurrentTransaction();
			MemoryContextSwitchTo(cxt);
			return;
		}
		found = AlloyPromqlMatchSeries(q, q->expr->matchers, q->expr->nmatchers, &n);
		AlloyKeepSeries(found, n, js);
	}
	AlloyEndRead();
	AlloyHttpStreamBody(req, resp, AlloySeriesFill, js);
}

/* Label names or one label's values, from match[] or from the label table. */
static void
AlloyLabelsAnswer(AlloyHttpRequest *req, AlloyHttpResponse *resp, const char *name)
{
	const char **sels;
	int			nsels = AlloyHttpArgAll(req, "match[]", &sels);
	AlloyStringSet set = {0, 0, NULL};
	MemoryContext cxt = CurrentMemoryContext;

	if (!AlloyApiTimeRange(req, resp))
		return;
	AlloyBeginRead();
	/* the answer outlives the read transaction: build it in the request's memory */
	MemoryContextSwitchTo(cxt);
	if (nsels > 0 && name != NULL)
	{
		/* one label's values: the catalog answers without building label sets */
		for (int i = 0; i < nsels; i++)
		{
			AlloyPromqlQuery *q = AlloyParseSelector(req, resp, sels[i]);
			AlloyLabel *vals;
			int			n;

			if (q == NULL)
			{
				AbortCurrentTransaction();
				MemoryContextSwitchTo(cxt);
				return;
			}
			vals = AlloyPromqlLabelValues(q, q->expr->matchers, q->expr->nmatchers, name, &n);
			for (int j = 0; j < n; j++)
				AlloyStringSetAdd(&set, vals[j].value, vals[j].value_len);
		}
	}
	else if (nsels > 0)
	{
		/* label names: the catalog answers without building label sets */
		for (int i = 0; i < nsels; i++)
		{
			AlloyPromqlQuery *q = AlloyParseSelector(req, resp, sels[i]);
			AlloyLabel *names;
			int			n;

			if (q == NULL)
			{
				AbortCurrentTransaction();
				MemoryContextSwitchTo(cxt);
				return;
			}
			names = AlloyPromqlLabelNames(q, q->expr->matchers, q->expr->nmatchers, &n);
			for (int j = 0; j < n; j++)
				AlloyStringSetAdd(&set, names[j].name, names[j].name_len);
		}
	}
	else
	{
		/* the catalog's label index answers directly, sorted and distinct */
		const char *tenant = AlloyHttpTenant(req);
		AlloyLabel *l;
		int			n;

		if (name == NULL)
			l = AlloyTenantLabelNames(tenant, &n);
		else
			l = AlloyTenantLabelValues(tenant, name, strlen(name), &n);
		for (int i = 0; i < n; i++)
		{
			if (name == NULL)
				AlloyStringSetAdd(&set, l[i].name, l[i].name_len);
			else
				AlloyStringSetAdd(&set, l[i].value, l[i].value_len);
		}
	}
	AlloyEndRead();
	AlloyStringSetAnswer(req, resp, &set);
}

static void
AlloyLabelNamesHandler(AlloyHttpRequest *req, AlloyHttpResponse *resp)
{
	AlloyLabelsAnswer(req, resp, NULL);
}

/* GET /api/v1/label/<name>/values */
static void
AlloyLabelValuesHandler(AlloyHttpRequest *req, AlloyHttpResponse *resp)
{
	const char *rest = AlloyHttpPathRest(req);
	const char *slash = strchr(rest, '/');
	char	   *name;

	if (slash == NULL || strcmp(slash, "/values") != 0 || slash == rest)
	{
		AlloyHttpJsonError(resp, 404, "not_found",
						   psprintf("no endpoint %s", AlloyHttpPath(req)));
		return;
	}
	name = pnstrdup(rest, slash - rest);
	/* Prometheus checks the name with the label-name rule */
	if (!alloy_valid_label_name(name, strlen(name)))
	{
		AlloyHttpJsonError(resp, 400, "bad_data",
						   psprintf("invalid label name: \"%s\"", name));
		return;
	}
	AlloyLabelsAnswer(req, resp, name);
}

/*
 * GET /api/v1/metadata: what remote-write senders reported (alloy.metadata),
 * as {"metric": [{"type", "help", "unit"}]}; limit and metric as Prometheus.
 */
static void
AlloyMetadataHandler(AlloyHttpRequest *req, AlloyHttpResponse *resp)
{
	const char *limit_s = AlloyHttpArg(req, "limit");
	const char *metric = AlloyHttpArg(req, "metric");
	long		limit = -1;
	Oid			types[2] = {INT4OID, TEXTOID};
	Datum		args[2];
	char		nulls[2] = {' ', ' '};
	int32		tenant_id;
	MemoryContext cxt = CurrentMemoryContext;
	StringInfoData out;

	if (limit_s != NULL && *limit_s != '\0')
	{
		char	   *end;

		limit = strtol(limit_s, &end, 10);
		if (*end != '\0')
		{
			AlloyHttpJsonError(resp, 400, "bad_data", "limit must be a number");
			return;
		}
	}
	initStringInfo(&out);
	appendStringInfoString(&out, "{\"status\":\"success\",\"data\":{");
	AlloyBeginRead();
	tenant_id = AlloyTenantLookup(AlloyHttpTenant(req), false);
	if (tenant_id != ALLOY_INVALID_TENANT_ID && limit != 0)
	{
		int			n = 0;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		args[0] = Int32GetDatum(tenant_id);
		args[1] = metric && *metric ? CStringGetTextDatum(metric) : (Datum) 0;
		nulls[1] = metric && *metric ? ' ' : 'n';
		if (SPI_execute_with_args("SELECT metric, type, help, unit FROM alloy.metadata "
								  "WHERE tenant_id = $1 AND ($2::text IS NULL OR metric = $2) "
								  "ORDER BY metric", 2, types, args, nulls, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "metadata query failed");
		for (uint64 i = 0; i < SPI_processed && (limit < 0 || n < limit); i++, n++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			MemoryContext old = MemoryContextSwitchTo(cxt);

			if (n > 0)
				appendStringInfoCharMacro(&out, ',');
			AlloyJsonString(&out, SPI_getvalue(tup, desc, 1));
			appendStringInfoString(&out, ":[{\"type\":");
			AlloyJsonString(&out, SPI_getvalue(tup, desc, 2));
			appendStringInfoString(&out, ",\"help\":");
			AlloyJsonString(&out, SPI_getvalue(tup, desc, 3));
			appendStringInfoString(&out, ",\"unit\":");
			AlloyJsonString(&out, SPI_getvalue(tup, desc, 4));
			appendStringInfoString(&out, "}]");
			MemoryContextSwitchTo(old);
		}
		SPI_finish();
	}
	AlloyEndRead();
	appendStringInfoString(&out, "}}");
	appendBinaryStringInfo(&resp->body, out.data, out.len);
	resp->status = 200;
}

void
AlloyApiSeriesRoutes(void)
{
	AlloyHttpRoute("/api/v1/series", ALLOY_ROUTE_GET | ALLOY_ROUTE_POST, "/api/v1/series",
				   AlloySeriesHandler);
	AlloyHttpRoute("/api/v1/labels", ALLOY_ROUTE_GET | ALLOY_ROUTE_POST, "/api/v1/labels",
				   AlloyLabelNamesHandler);
	AlloyHttpRoute("/api/v1/label/", ALLOY_ROUTE_GET | ALLOY_ROUTE_PREFIX, "/api/v1/label/:name/values",
				   AlloyLabelValuesHandler);
	AlloyHttpRoute("/api/v1/metadata", ALLOY_ROUTE_GET, "/api/v1/metadata",
				   AlloyMetadataHandler);
}
