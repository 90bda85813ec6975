/*
 * sql_store.c: the SQL-callable functions of sample storage: alloy.seal(),
 * alloy.drop_before(), alloy.create_partitions(), the float8 bit helpers,
 * and the storage_* functions that give tests and operators direct access
 * to the storage API of store.h (append, read, page stats).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "runtime/runtime.h"
#include "store/store.h"

PG_FUNCTION_INFO_V1(alloy_seal);
PG_FUNCTION_INFO_V1(alloy_drop_before);
PG_FUNCTION_INFO_V1(alloy_storage_append);
PG_FUNCTION_INFO_V1(alloy_storage_read);
PG_FUNCTION_INFO_V1(alloy_storage_info);
PG_FUNCTION_INFO_V1(alloy_create_partitions);
PG_FUNCTION_INFO_V1(alloy_float8_from_bits);
PG_FUNCTION_INFO_V1(alloy_float8_bits);

/*
 * alloy.float8_from_bits(bigint) / alloy.float8_bits(float8): the value
 * with exactly these IEEE 754 bits and back, so SQL can write and check
 * Prometheus stale markers (NaN 0x7ff0000000000002) and other payloads.
 */
Datum
alloy_float8_from_bits(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(AlloyBitsToDouble((uint64) PG_GETARG_INT64(0)));
}

Datum
alloy_float8_bits(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64((int64) AlloyDoubleToBits(PG_GETARG_FLOAT8(0)));
}

Datum
alloy_seal(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(AlloySeal());
}

Datum
alloy_drop_before(PG_FUNCTION_ARGS)
{
	TimestampTz ts = PG_GETARG_TIMESTAMPTZ(0);

	if (TIMESTAMP_IS_NOBEGIN(ts))
		PG_RETURN_INT32(0);
	if (TIMESTAMP_IS_NOEND(ts))
		PG_RETURN_INT32(AlloyDropBefore(PG_INT64_MAX));
	PG_RETURN_INT32(AlloyDropBefore(AlloyTimestampToMs(ts)));
}

/* A range bound argument: infinities mean unbounded. */
static int64
AlloyBoundArgToMs(TimestampTz ts)
{
	if (TIMESTAMP_IS_NOBEGIN(ts))
		return PG_INT64_MIN;
	if (TIMESTAMP_IS_NOEND(ts))
		return PG_INT64_MAX;
	return AlloyTimestampToMs(ts);
}

/*
 * alloy.create_partitions(from timestamptz, "to" timestamptz): make sure
 * partitions cover [from, to], so that plain INSERT INTO alloy.samples (whose
 * tuple routing cannot create partitions) finds them. Returns how many
 * partitions were created.
 */
Datum
alloy_create_partitions(PG_FUNCTION_ARGS)
{
	int64		from = AlloyTimestampToMs(PG_GETARG_TIMESTAMPTZ(0));
	int64		to = AlloyTimestampToMs(PG_GETARG_TIMESTAMPTZ(1));
	int64		t = from;
	int			created = 0;

	if (to < from)
		PG_RETURN_INT32(0);
	if ((to - from) / Max((int64) alloy_partition_interval * 1000, 1) > 100000)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many partitions requested"),
				 errdetail("At most 100000 partitions of alloy.partition_interval are created at once.")));
	for (;;)
	{
		int64		hi;

		if (AlloyEnsurePartition(t, &hi))
			created++;
		if (hi > to || hi == PG_INT64_MAX)
			break;
		t = hi;
	}
	PG_RETURN_INT32(created);
}

/* alloy.storage_append(series_id bigint[], "time" timestamptz[], value float8[]) */
Datum
alloy_storage_append(PG_FUNCTION_ARGS)
{
	ArrayType  *ids = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *times = PG_GETARG_ARRAYTYPE_P(1);
	ArrayType  *vals = PG_GETARG_ARRAYTYPE_P(2);
	Datum	   *d_ids;
	Datum	   *d_times;
	Datum	   *d_vals;
	bool	   *n_ids;
	bool	   *n_times;
	bool	   *n_vals;
	int			c_ids;
	int			c_times;
	int			c_vals;
	AlloySample *s;
	int			i;

	deconstruct_array(ids, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &d_ids, &n_ids, &c_ids);
	deconstruct_array(times, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &d_times, &n_times, &c_times);
	deconstruct_array(vals, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &d_vals, &n_vals, &c_vals);
	if (c_ids != c_times || c_ids != c_vals)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("series_id, \"time\" and value arrays must have the same length")));
	s = palloc(sizeof(AlloySample) * Max(c_ids, 1));
	for (i = 0; i < c_ids; i++)
	{
		if (n_ids[i] || n_times[i] || n_vals[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("sample arrays must not contain nulls")));
		s[i].series_id = DatumGetInt64(d_ids[i]);
		s[i].t_ms = AlloyTimestampToMs(DatumGetTimestampTz(d_times[i]));
		s[i].value = DatumGetFloat8(d_vals[i]);
	}
	AlloySamplesAppend(s, c_ids);
	PG_RETURN_INT64(c_ids);
}

/*
 * alloy.storage_read(series_id bigint, mint timestamptz, maxt timestamptz)
 * RETURNS TABLE("time" timestamptz, value float8): AlloySamplesReadSeries.
 */
Datum
alloy_storage_read(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		sid = PG_GETARG_INT64(0);
	int64		mint = AlloyBoundArgToMs(PG_GETARG_TIMESTAMPTZ(1));
	int64		maxt = AlloyBoundArgToMs(PG_GETARG_TIMESTAMPTZ(2));
	AlloySamplesReader *r;
	int64	   *ts;
	double	   *vs;
	int			n;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	r = AlloySamplesBeginRead(mint, maxt);
	n = AlloySamplesReadSeries(r, sid, &ts, &vs);
	for (i = 0; i < n; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = TimestampTzGetDatum(AlloyMsToTimestamp(ts[i]));
		values[1] = Float8GetDatum(vs[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	AlloySamplesEndRead(r);
	return (Datum) 0;
}

/* alloy.storage_info(regclass): what a partition's metapage says. */
Datum
alloy_storage_info(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	TupleDesc	tupdesc;
	AlloyStorageStats stats;
	Datum		values[8];
	bool		nulls[8] = {false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	AlloyStorageStatsOf(relid, &stats);
	values[0] = Int64GetDatum(stats.blocks);
	values[1] = Int64GetDatum(stats.sealed_pages);
	values[2] = Int64GetDatum(stats.index_pages);
	values[3] = Int64GetDatum(stats.head_pages);
	values[4] = Int64GetDatum(stats.chunks);
	values[5] = Int64GetDatum(stats.sealed_samples);
	values[6] = Int64GetDatum(stats.seals);
	values[7] = Int64GetDatum(stats.decimal_chunks);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
