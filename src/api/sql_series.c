/*
 * catalog_sql.c: the SQL face of the catalog: alloy.write (the SQL ingest
 * path), series lookups, PromQL-style selection and cache statistics.
 *
 * alloy.write turns a jsonb object into sorted, validated labels, finds or
 * creates the series through the same cache the HTTP ingest uses, and hands
 * the samples to storage (AlloySamplesAppend). Timestamps become milliseconds
 * since the Unix epoch, rounded down (floor) like Prometheus's
 * timestamp.FromTime: sub-millisecond parts are dropped, also before 1970.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/snapmgr.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "series/series_int.h"
#include "store/store.h"

PG_FUNCTION_INFO_V1(alloy_write);
PG_FUNCTION_INFO_V1(alloy_write_array);
PG_FUNCTION_INFO_V1(alloy_series_get_or_create);
PG_FUNCTION_INFO_V1(alloy_series_lookup);
PG_FUNCTION_INFO_V1(alloy_match_series);
PG_FUNCTION_INFO_V1(alloy_series_cache_stats);
PG_FUNCTION_INFO_V1(alloy_series_labels);
PG_FUNCTION_INFO_V1(alloy_series_metric);

/* Samples handed to storage per call, for the array form. */
#define ALLOY_WRITE_BATCH 8192

#define UNIX_EPOCH_OFFSET_MS \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000)

static int64
alloy_timestamptz_to_ms(TimestampTz t)
{
	int64		ms;

	if (TIMESTAMP_NOT_FINITE(t))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("sample time must be finite")));
	ms = t / 1000;
	if (t % 1000 < 0)
		ms--;					/* floor, not truncation toward zero */
	return ms + UNIX_EPOCH_OFFSET_MS;
}

/*
 * Labels of a jsonb object {"name": "value", ...}. The strings point into the
 * jsonb value. Returns the count after AlloyLabelsValidate.
 */
static int
alloy_labels_from_jsonb(Jsonb *jb, AlloyLabel **labels_out)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	AlloyLabel *labels;
	int			n = 0;
	int			cap;

	if (!JB_ROOT_IS_OBJECT(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("labels must be a jsonb object"),
				 errdetail("Example: '{\"__name__\": \"up\", \"job\": \"node\"}'.")));
	cap = Max(JB_ROOT_COUNT(jb), 1);
	labels = palloc(sizeof(AlloyLabel) * cap);

	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			Assert(n < cap);
			labels[n].name = v.val.string.val;
			labels[n].name_len = v.val.string.len;
		}
		else if (tok == WJB_VALUE)
		{
			if (v.type != jbvString)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("value of label \"%.*s\" must be a string",
								labels[n].name_len, labels[n].name)));
			labels[n].value = v.val.string.val;
			labels[n].value_len = v.val.string.len;
			n++;
		}
	}
	*labels_out = labels;
	return AlloyLabelsValidate(labels, n);
}

static int32
alloy_tenant_arg(FunctionCallInfo fcinfo, int argno, bool create)
{
	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return ALLOY_DEFAULT_TENANT_ID;
	return AlloyTenantLookup(text_to_cstring(PG_GETARG_TEXT_PP(argno)), create);
}

static void
alloy_require_arg(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
}

/* The series of the labels argument, created if new. */
static int64
alloy_series_from_args(FunctionCallInfo fcinfo, int tenant_argno)
{
	AlloyLabel *labels;
	int			n;
	int32		tenant_id;

	alloy_require_arg(fcinfo, 0, "labels");
	n = alloy_labels_from_jsonb(PG_GETARG_JSONB_P(0), &labels);
	tenant_id = alloy_tenant_arg(fcinfo, tenant_argno, true);
	return AlloySeriesGetOrCreate(tenant_id, labels, n, AlloyLabelsHash(labels, n));
}

/* alloy.write(labels jsonb, time timestamptz, value float8, tenant text) */
Datum
alloy_write(PG_FUNCTION_ARGS)
{
	AlloySample s;

	alloy_require_arg(fcinfo, 1, "time");
	alloy_require_arg(fcinfo, 2, "value");
	s.t_ms = alloy_timestamptz_to_ms(PG_GETARG_TIMESTAMPTZ(1));
	s.value = PG_GETARG_FLOAT8(2);
	s.series_id = alloy_series_from_args(fcinfo, 3);
	AlloySamplesAppend(&s, 1);
	PG_RETURN_INT64(1);
}

/* alloy.write(labels jsonb, time timestamptz[], value float8[], tenant text) */
Datum
alloy_write_array(PG_FUNCTION_ARGS)
{
	ArrayType  *ta;
	ArrayType  *va;
	int			nt;
	int			nv;
	TimestampTz *ts;
	float8	   *vs;
	int64		series_id;
	AlloySample *batch;

	alloy_require_arg(fcinfo, 1, "time");
	alloy_require_arg(fcinfo, 2, "value");
	ta = PG_GETARG_ARRAYTYPE_P(1);
	va = PG_GETARG_ARRAYTYPE_P(2);
	if (ARR_NDIM(ta) > 1 || ARR_NDIM(va) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("time and value must be one-dimensional arrays")));
	if (array_contains_nulls(ta) || array_contains_nulls(va))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("time and value arrays must not contain nulls")));
	nt = ArrayGetNItems(ARR_NDIM(ta), ARR_DIMS(ta));
	nv = ArrayGetNItems(ARR_NDIM(va), ARR_DIMS(va));
	if (nt != nv)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("time and value arrays have different lengths (%d and %d)", nt, nv)));

	series_id = alloy_series_from_args(fcinfo, 3);
	if (nt == 0)
		PG_RETURN_INT64(0);

	/* int8 and float8 arrays without nulls are plain C arrays */
	ts = (TimestampTz *) ARR_DATA_PTR(ta);
	vs = (float8 *) ARR_DATA_PTR(va);
	batch = palloc(sizeof(AlloySample) * Min(nt, ALLOY_WRITE_BATCH));
	for (int off = 0; off < nt; off += ALLOY_WRITE_BATCH)
	{
		int			n = Min(nt - off, ALLOY_WRITE_BATCH);

		for (int i = 0; i < n; i++)
		{
			batch[i].series_id = series_id;
			batch[i].t_ms = alloy_timestamptz_to_ms(ts[off + i]);
			batch[i].value = vs[off + i];
		}
		AlloySamplesAppend(batch, n);
		CHECK_FOR_INTERRUPTS();
	}
	pfree(batch);
	PG_RETURN_INT64(nt);
}

/* alloy.series_get_or_create(labels jsonb, tenant text) */
Datum
alloy_series_get_or_create(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(alloy_series_from_args(fcinfo, 1));
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
	n = alloy_labels_from_jsonb(PG_GETARG_JSONB_P(0), &labels);
	tenant_id = alloy_tenant_arg(fcinfo, 1, false);
	if (tenant_id == ALLOY_INVALID_TENANT_ID)
		PG_RETURN_NULL();
	id = AlloySeriesLookup(tenant_id, labels, n, AlloyLabelsHash(labels, n));
	if (id == ALLOY_INVALID_SERIES_ID)
		PG_RETURN_NULL();
	PG_RETURN_INT64(id);
}

/* A label set as a jsonb object (name -> value), for every SQL-facing caller. */
Datum
AlloyLabelsJsonb(const AlloyLabel *labels, int n)
{
	JsonbParseState *state = NULL;
	JsonbValue *res;

	res = pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < n; i++)
	{
		JsonbValue	k;
		JsonbValue	v;

		k.type = jbvString;
		k.val.string.val = (char *) labels[i].name;
		k.val.string.len = labels[i].name_len;
		v.type = jbvString;
		v.val.string.val = (char *) labels[i].value;
		v.val.string.len = labels[i].value_len;
		pushJsonbValue(&state, WJB_KEY, &k);
		pushJsonbValue(&state, WJB_VALUE, &v);
	}
	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbPGetDatum(JsonbValueToJsonb(res));
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
	tenant_id = alloy_tenant_arg(fcinfo, 1, false);
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
		const AlloyCatalogRels *rels = AlloyCatalogGetRels();
		Snapshot	snapshot = ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot();
		Relation	rel = table_open(rels->labels, AccessShareLock);
		ScanKeyData key;
		SysScanDesc scan;
		HeapTuple	tup;
		MemoryContext old;
		bool		isnull;

		ScanKeyInit(&key, Anum_alloy_labels_label_id, BTEqualStrategyNumber, F_INT4EQ,
					Int32GetDatum(id));
		scan = systable_beginscan(rel, rels->labels_pkey, true, snapshot, 1, &key);
		tup = systable_getnext(scan);
		if (!HeapTupleIsValid(tup))
		{
			systable_endscan(scan);
			table_close(rel, AccessShareLock);
			hash_search(h, &id, HASH_REMOVE, NULL);
			return NULL;
		}
		old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		e->label.name = TextDatumGetCString(heap_getattr(tup, Anum_alloy_labels_name,
														 RelationGetDescr(rel), &isnull));
		e->label.name_len = strlen(e->label.name);
		e->label.value = TextDatumGetCString(heap_getattr(tup, Anum_alloy_labels_value,
														  RelationGetDescr(rel), &isnull));
		e->label.value_len = strlen(e->label.value);
		MemoryContextSwitchTo(old);
		systable_endscan(scan);
		table_close(rel, AccessShareLock);
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
