/*
 * ingest_exemplars.c: exemplars from remote write into alloy.exemplars.
 *
 * Exemplars are rare next to samples (a few per scrape of a histogram), so
 * they go into an ordinary heap table through SPI rather than the
 * compressed sample storage: one INSERT per request that carries any, in the
 * request's own transaction, so a 2xx answer still means they are durable.
 * The unique index on (series_id, "time", labels) with ON CONFLICT DO
 * NOTHING makes a resent exemplar a no-op, as Prometheus ignores duplicate
 * exemplars, and makes concurrent writers of the same exemplar safe.
 *
 * Retention: AlloyExemplarsDropBefore() deletes by time (a BRIN index on
 * "time" keeps that cheap); AlloyExemplarsInit registers it as a retention
 * hook of the storage worker, which calls it with the same cutoff it drops
 * sample partitions by.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "series/series.h"
#include "ingest/ingest.h"
#include "ingest/ingest_int.h"
#include "store/store.h"

PG_FUNCTION_INFO_V1(alloy_exemplars_drop_before);

/*
 * Exemplar times a timestamptz can hold (PostgreSQL's range is narrower
 * than int64 milliseconds); an exemplar outside it is dropped.
 */
#define ALLOY_UNIX_EPOCH_MS		INT64CONST(946684800000)	/* 2000-01-01 in Unix ms */
#define ALLOY_EXEMPLAR_MIN_MS	(MIN_TIMESTAMP / 1000 + ALLOY_UNIX_EPOCH_MS + 1)
#define ALLOY_EXEMPLAR_MAX_MS	(PG_INT64_MAX / 1000 - 1)	/* below END_TIMESTAMP too */

/*
 * Store every valid exemplar of a decoded request. ids[i] is the series id
 * of rw->series[i], or ALLOY_INVALID_SERIES_ID when the series is unknown:
 * like Prometheus, which refuses exemplars for series its head does not
 * have, those are dropped. Runs inside the caller's transaction.
 */
void
AlloyExemplarsStore(const RwRequest *rw, const int64 *ids, AlloyExemplarCounts *counts)
{
	Datum	   *sid;
	Datum	   *times;
	Datum	   *values;
	Datum	   *labels;
	Datum		args[4];
	Oid			types[4] = {INT8ARRAYOID, TIMESTAMPTZARRAYOID, FLOAT8ARRAYOID, JSONBARRAYOID};
	int			n = 0;

	memset(counts, 0, sizeof(*counts));
	counts->dropped = rw->nexemplars_dropped;
	if (rw->nexemplars == 0)
		return;

	sid = palloc(sizeof(Datum) * rw->nexemplars);
	times = palloc(sizeof(Datum) * rw->nexemplars);
	values = palloc(sizeof(Datum) * rw->nexemplars);
	labels = palloc(sizeof(Datum) * rw->nexemplars);
	for (int i = 0; i < rw->nseries; i++)
	{
		const RwSeries *s = &rw->series[i];

		for (int j = 0; j < s->nexemplars; j++)
		{
			const RwExemplar *e = &s->exemplars[j];

			if (ids[i] == ALLOY_INVALID_SERIES_ID ||
				e->t_ms < ALLOY_EXEMPLAR_MIN_MS || e->t_ms > ALLOY_EXEMPLAR_MAX_MS)
			{
				counts->dropped++;
				continue;
			}
			sid[n] = Int64GetDatum(ids[i]);
			times[n] = TimestampTzGetDatum(AlloyMsToTimestamp(e->t_ms));
			values[n] = Float8GetDatum(e->value);
			labels[n] = AlloyLabelsJsonb(e->labels, e->nlabels);
			n++;
		}
	}
	if (n == 0)
		return;

	args[0] = PointerGetDatum(construct_array(sid, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[1] = PointerGetDatum(construct_array(times, n, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[2] = PointerGetDatum(construct_array(values, n, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[3] = PointerGetDatum(construct_array(labels, n, JSONBOID, -1, false, TYPALIGN_INT));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("INSERT INTO alloy.exemplars (series_id, \"time\", value, labels) "
							  "SELECT * FROM unnest($1, $2, $3, $4) "
							  "ON CONFLICT DO NOTHING",
							  4, types, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "storing exemplars failed");
	counts->stored = (int64) SPI_processed;
	counts->duplicates = n - counts->stored;
	SPI_finish();
}

/*
 * Delete every exemplar older than cutoff_ms (Unix milliseconds); returns
 * how many. The retention pass calls this inside its transaction.
 */
int64
AlloyExemplarsDropBefore(int64 cutoff_ms)
{
	Datum		arg;
	Oid			type = TIMESTAMPTZOID;
	int64		n;

	if (cutoff_ms <= ALLOY_EXEMPLAR_MIN_MS)
		return 0;
	if (cutoff_ms > ALLOY_EXEMPLAR_MAX_MS)
		cutoff_ms = ALLOY_EXEMPLAR_MAX_MS;
	arg = TimestampTzGetDatum(AlloyMsToTimestamp(cutoff_ms));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("DELETE FROM alloy.exemplars WHERE \"time\" < $1",
							  1, &type, &arg, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "deleting old exemplars failed");
	n = (int64) SPI_processed;
	SPI_finish();
	return n;
}

/* The storage worker's retention hook (store.h). */
static void
AlloyExemplarsRetention(int64 cutoff_ms)
{
	int64		gone = AlloyExemplarsDropBefore(cutoff_ms);

	if (gone > 0)
		elog(DEBUG1, "alloy retention deleted %lld exemplars", (long long) gone);
}

/* Exemplars follow the samples they belong to out of retention. */
void
AlloyExemplarsInit(void)
{
	AlloyRegisterRetentionHook("exemplar", AlloyExemplarsRetention);
}

/* alloy.exemplars_drop_before(timestamptz) RETURNS bigint */
Datum
alloy_exemplars_drop_before(PG_FUNCTION_ARGS)
{
	TimestampTz cutoff = PG_GETARG_TIMESTAMPTZ(0);

	if (TIMESTAMP_IS_NOBEGIN(cutoff))
		PG_RETURN_INT64(0);
	if (TIMESTAMP_IS_NOEND(cutoff))
		PG_RETURN_INT64(AlloyExemplarsDropBefore(ALLOY_EXEMPLAR_MAX_MS));
	PG_RETURN_INT64(AlloyExemplarsDropBefore(AlloyTimestampToMs(cutoff)));
}
