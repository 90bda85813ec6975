/*
 * sql_write.c: alloy.write, the SQL ingest path, for one sample or arrays of
 * them.
 *
 * The labels (a jsonb object) become sorted, validated labels; the series is
 * found or created through the same cache the HTTP ingest uses, and the
 * samples go to storage (AlloySamplesAppend). Timestamps become milliseconds
 * since the Unix epoch, rounded down (floor) like Prometheus's
 * timestamp.FromTime: sub-millisecond parts are dropped, also before 1970.
 */
#include "postgres.h"

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/timestamp.h"

#include "api/api_int.h"
#include "series/series.h"
#include "store/store.h"

PG_FUNCTION_INFO_V1(alloy_write);
PG_FUNCTION_INFO_V1(alloy_write_array);

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

/* alloy.write(labels jsonb, time timestamptz, value float8, tenant text) */
Datum
alloy_write(PG_FUNCTION_ARGS)
{
	AlloySample s;

	AlloySqlRequireArg(fcinfo, 1, "time");
	AlloySqlRequireArg(fcinfo, 2, "value");
	s.t_ms = alloy_timestamptz_to_ms(PG_GETARG_TIMESTAMPTZ(1));
	s.value = PG_GETARG_FLOAT8(2);
	s.series_id = AlloySqlSeriesArg(fcinfo, 3);
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

	AlloySqlRequireArg(fcinfo, 1, "time");
	AlloySqlRequireArg(fcinfo, 2, "value");
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

	series_id = AlloySqlSeriesArg(fcinfo, 3);
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
