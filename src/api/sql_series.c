/*
 * sql_series.c: the SQL face of the series catalog: series lookups,
 * PromQL-style selection, the label sets of the alloy.series view and the
 * series cache's statistics. alloy.write is in sql_write.c.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "api/api_int.h"
#include "series/series.h"

PG_FUNCTION_INFO_V1(alloy_series_get_or_create);
PG_FUNCTION_INFO_V1(alloy_series_lookup);
PG_FUNCTION_INFO_V1(alloy_match_series);
PG_FUNCTION_INFO_V1(alloy_series_cache_stats);
PG_FUNCTION_INFO_V1(alloy_series_labels);
PG_FUNCTION_INFO_V1(alloy_series_metric);

/* alloy.series_get_or_create(labels jsonb, tenant text) */
Datum
alloy_series_get_or_create(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(AlloySqlSeriesArg(fcinfo, 1));
}

/* alloy.series_lookup(labels jsonb, tenant text): NULL if absent */
Datum
alloy_series_lookup(PG_FUNCTION_ARGS)
{
	AlloyLabel *labels;
	int			n;
	int32		tenant_id;
	int64		id;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	n = AlloySqlLabelsArg(fcinfo, 0, &labels);
	tenant_id = AlloySqlTenantArg(fcinfo, 1, false);
	if (tenant_id == ALLOY_INVALID_TENANT_ID)
		PG_RETURN_NULL();
	id = AlloySeriesLookup(tenant_id, labels, n, AlloyLabelsHash(labels, n));
	if (id == ALLOY_INVALID_SERIES_ID)
		PG_RETURN_NULL();
	PG_RETURN_INT64(id);
}

static void
alloy_bad_matchers(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("matchers must be a jsonb array of [name, op, value] string triples"),
			 errdetail("op is one of =, !=, =~, !~; example: '[[\"__name__\", \"=\", \"up\"]]'.")));
}

/* Matchers from '[["name", "op", "value"], ...]'. */
static int
alloy_matchers_from_jsonb(Jsonb *jb, AlloyMatcher **out)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	AlloyMatcher *ms;
	int			n = 0;
	int			depth = 0;
	int			field = 0;

	if (!JB_ROOT_IS_ARRAY(jb) || JB_ROOT_IS_SCALAR(jb))
		alloy_bad_matchers();
	ms = palloc0(sizeof(AlloyMatcher) * Max(JB_ROOT_COUNT(jb), 1));
	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		switch (tok)
		{
			case WJB_BEGIN_ARRAY:
				if (++depth > 2)
					alloy_bad_matchers();
				field = 0;
				break;
			case WJB_END_ARRAY:
				if (depth-- == 2)
				{
					if (field != 3)
						alloy_bad_matchers();
					n++;
				}
				break;
			case WJB_ELEM:
				if (depth != 2 || v.type != jbvString || field >= 3)
					alloy_bad_matchers();
				if (field == 0)
				{
					ms[n].name = v.val.string.val;
					ms[n].name_len = v.val.string.len;
				}
				else if (field == 1)
				{
					const char *op = v.val.string.val;
					int			len = v.val.string.len;

					if (len == 1 && op[0] == '=')
						ms[n].op = ALLOY_MATCH_EQ;
					else if (len == 2 && memcmp(op, "!=", 2) == 0)
						ms[n].op = ALLOY_MATCH_NEQ;
					else if (len == 2 && memcmp(op, "=~", 2) == 0)
						ms[n].op = ALLOY_MATCH_RE;
					else if (len == 2 && memcmp(op, "!~", 2) == 0)
						ms[n].op = ALLOY_MATCH_NRE;
					else
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
								 errmsg("unknown matcher operator \"%.*s\"", len, op)));
				}
				else
				{
					ms[n].value = v.val.string.val;
					ms[n].value_len = v.val.string.len;
				}
				field++;
				break;
			default:
				alloy_bad_matchers();
		}
	}
	*out = ms;
	return n;
}

/* alloy.match_series(matchers jsonb, tenant text) */
Datum
alloy_match_series(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	AlloyMatcher *ms;
	int			nm;
	int32		tenant_id;
	AlloySelectedSeries *series;
	int			nseries = 0;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	nm = alloy_matchers_from_jsonb(PG_GETARG_JSONB_P(0), &ms);
	tenant_id = AlloySqlTenantArg(fcinfo, 1, false);
	if (tenant_id == ALLOY_INVALID_TENANT_ID)
		return (Datum) 0;
	series = AlloySeriesSelect(tenant_id, ms, nm, &nseries);
	for (int i = 0; i < nseries; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = Int64GetDatum(series[i].series_id);
		values[1] = AlloyLabelsJsonb(series[i].labels, series[i].nlabels);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* alloy.series_cache_stats() */
Datum
alloy_series_cache_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	AlloyCacheStats st;
	Datum		values[8];
	bool		nulls[8] = {0};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	AlloyCacheGetStats(&st);
	values[0] = BoolGetDatum(st.shared);
	values[1] = Int64GetDatum(st.capacity);
	values[2] = Int64GetDatum(st.entries);
	values[3] = Int64GetDatum(st.hits);
	values[4] = Int64GetDatum(st.misses);
	values[5] = Int64GetDatum(st.inserts);
	values[6] = Int64GetDatum(st.evictions);
	values[7] = Int64GetDatum(st.bytes);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/*
 * Label ids -> (name, value) for the alloy.series view. Labels never change,
 * so each call site keeps the labels it has read in fn_extra for the rest of
 * the query: a scan of the view reads each label row once instead of once
 * per series (about 25 us per row before, with SQL subqueries).
 */
typedef struct SeriesLabelEntry
{
	int32		label_id;
	AlloyLabel	label;
} SeriesLabelEntry;

#define ALLOY_SERIES_LABELS_CACHE_MAX 100000

static const AlloyLabel *
alloy_label_by_id_cached(FunctionCallInfo fcinfo, int32 id)
{
	HTAB	   *h = (HTAB *) fcinfo->flinfo->fn_extra;
	SeriesLabelEntry *e;
	bool		found;

	if (h != NULL && hash_get_num_entries(h) >= ALLOY_SERIES_LABELS_CACHE_MAX)
	{
		hash_destroy(h);		/* strings stay in fn_mcxt until the query ends */
		h = NULL;
	}
	if (h == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(int32);
		ctl.entrysize = sizeof(SeriesLabelEntry);
		ctl.hcxt = fcinfo->flinfo->fn_mcxt;
		h = hash_create("alloy series labels", 1024, &ctl,
						HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		fcinfo->flinfo->fn_extra = h;
	}
	e = hash_search(h, &id, HASH_ENTER, &found);
	if (!found)
	{
		AlloyLabel	l;

		if (!AlloyLabelById(id, &l))
		{
			hash_search(h, &id, HASH_REMOVE, NULL);
			return NULL;
		}
		e->label.name = MemoryContextStrdup(fcinfo->flinfo->fn_mcxt, l.name);
		e->label.name_len = l.name_len;
		e->label.value = MemoryContextStrdup(fcinfo->flinfo->fn_mcxt, l.value);
		e->label.value_len = l.value_len;
		pfree((char *) l.name);
		pfree((char *) l.value);
	}
	return &e->label;
}

static int32 *
alloy_label_ids_arg(FunctionCallInfo fcinfo, int *n)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(0);

	if (ARR_NDIM(arr) > 1 || array_contains_nulls(arr) || ARR_ELEMTYPE(arr) != INT4OID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("label ids must be a one-dimensional int4 array without nulls")));
	*n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	return (int32 *) ARR_DATA_PTR(arr);
}

/* alloy.series_labels(label_ids int4[]) RETURNS jsonb */
Datum
alloy_series_labels(PG_FUNCTION_ARGS)
{
	int			n;
	int32	   *ids = alloy_label_ids_arg(fcinfo, &n);
	AlloyLabel *labels = palloc(sizeof(AlloyLabel) * Max(n, 1));
	int			m = 0;

	for (int i = 0; i < n; i++)
	{
		const AlloyLabel *l = alloy_label_by_id_cached(fcinfo, ids[i]);

		if (l != NULL)
			labels[m++] = *l;
	}
	PG_RETURN_DATUM(AlloyLabelsJsonb(labels, m));
}

/* alloy.series_metric(label_ids int4[]) RETURNS text: the __name__ value */
Datum
alloy_series_metric(PG_FUNCTION_ARGS)
{
	int			n;
	int32	   *ids = alloy_label_ids_arg(fcinfo, &n);

	for (int i = 0; i < n; i++)
	{
		const AlloyLabel *l = alloy_label_by_id_cached(fcinfo, ids[i]);

		if (l != NULL && l->name_len == 8 && memcmp(l->name, "__name__", 8) == 0)
			PG_RETURN_TEXT_P(cstring_to_text_with_len(l->value, l->value_len));
	}
	PG_RETURN_NULL();
}
