/*
 * store.h: the public interface of alloy's sample storage.
 *
 * Callers (ingest, the catalog's alloy.write, the PromQL engine, remote read)
 * see samples only as (series id, millisecond timestamp, float64 value)
 * triples; how they are laid out in partitions, heads and sealed XOR chunks
 * stays inside src/storage. Everything here runs inside a transaction of a
 * backend or background worker connected to a database where the extension
 * exists.
 */
#ifndef ALLOY_STORE_STORE_H
#define ALLOY_STORE_STORE_H

#include "postgres.h"

#include "datatype/timestamp.h"

typedef struct AlloySample
{
	int64		series_id;
	int64		t_ms;			/* milliseconds since the Unix epoch */
	double		value;			/* stored bit-exact (stale-marker NaN kept) */
} AlloySample;

/*
 * Append samples in the current transaction. Any order of series and times;
 * each sample is routed to its time partition of alloy.samples, which is
 * created on demand. The samples become visible when the transaction commits
 * and vanish if it aborts. Same series and timestamp written twice: the later
 * write wins when read.
 */
extern void AlloySamplesAppend(const AlloySample *samples, int n);

/*
 * Reading for PromQL: one reader per query over an inclusive time range,
 * opened once, then asked for one series at a time. The reader uses the
 * active snapshot at AlloySamplesBeginRead.
 */
typedef struct AlloySamplesReader AlloySamplesReader;

extern AlloySamplesReader *AlloySamplesBeginRead(int64 mint_ms, int64 maxt_ms);

/*
 * The same for a reader that will only be asked for these series (any
 * order): the unsealed head is filtered to them while it is loaded, so a
 * query for a few series does not copy and sort the whole head. Reading
 * another series from such a reader misses its unsealed samples.
 */
extern AlloySamplesReader *AlloySamplesBeginReadSeries(int64 mint_ms, int64 maxt_ms,
													   const int64 *series_ids, int nseries);

/*
 * Samples of one series in [mint_ms, maxt_ms]: *ts and *vs are palloc'd in
 * the caller's memory context, sorted by time, with duplicate timestamps
 * resolved (last write wins). Returns the number of samples (0: *ts and *vs
 * are NULL).
 */
extern int	AlloySamplesReadSeries(AlloySamplesReader *r, int64 series_id,
								   int64 **ts, double **vs);

/* One Prometheus XOR chunk of a series, for remote read. */
typedef struct AlloyXorChunk
{
	int64		mint;
	int64		maxt;
	uint8	   *data;			/* palloc'd chunk bytes */
	size_t		len;
	int			nsamples;
	bool		stored;			/* as stored on disk, not re-encoded */
} AlloyXorChunk;

/*
 * The samples AlloySamplesReadSeries would return, as XOR chunks of up to
 * 120 samples in time order (a sealed chunk wholly inside the range goes
 * out as stored). *chunks is palloc'd in the caller's memory context;
 * returns the number of chunks and sets *nsamples.
 */
extern int	AlloySamplesReadSeriesXor(AlloySamplesReader *r, int64 series_id,
									  AlloyXorChunk **chunks, int64 *nsamples);

extern void AlloySamplesEndRead(AlloySamplesReader *r);

/*
 * Seal every open head of every partition into compressed chunks now.
 * Returns the number of head samples sealed. Also SQL alloy.seal().
 */
extern int64 AlloySeal(void);

/*
 * Partitions: make sure one covers t_ms (true if it was created; *hi_ms
 * gets its exclusive upper bound), and drop every partition wholly before
 * t_ms (returns how many). Also SQL alloy.create_partitions() and
 * alloy.drop_before().
 */
extern bool AlloyEnsurePartition(int64 t_ms, int64 *hi_ms);
extern int	AlloyDropBefore(int64 t_ms);

/* What one partition's metapage says: SQL alloy.storage_info(). */
typedef struct AlloyStorageStats
{
	int64		blocks;
	int64		sealed_pages;
	int64		index_pages;
	int64		head_pages;
	int64		chunks;
	int64		sealed_samples;
	int64		seals;
	int64		decimal_chunks;
} AlloyStorageStats;

extern void AlloyStorageStatsOf(Oid relid, AlloyStorageStats *stats);

/*
 * The backend's head index (head_index.c): whether it indexes any
 * partition, and catching those partitions up with what was appended since,
 * for a worker with nothing else to do. Returns the head batches added.
 */
extern bool AlloyHeadIndexExists(void);
extern int64 AlloyHeadIndexRefresh(void);

/*
 * Prometheus time (ms since the Unix epoch) and timestamptz; sub-millisecond
 * digits are cut towards minus infinity.
 */
extern int64 AlloyTimestampToMs(TimestampTz ts);
extern TimestampTz AlloyMsToTimestamp(int64 ms);

/* A float64 from exactly these IEEE 754 bits and back (NaN payloads kept). */
extern double AlloyBitsToDouble(uint64 bits);
extern uint64 AlloyDoubleToBits(double v);

/*
 * Retention of data kept outside alloy.samples (exemplars, for one): the
 * storage worker's retention pass calls every registered hook, inside its
 * transaction and with an active snapshot, with the cutoff (Unix ms) it
 * drops sample partitions by. what names the data in the worker's activity
 * ("alloy: <what> retention"). Register from _PG_init.
 */
typedef void (*AlloyRetentionHook) (int64 cutoff_ms);

extern void AlloyRegisterRetentionHook(const char *what, AlloyRetentionHook hook);

/* Settings, shared memory and the storage worker; called from _PG_init. */
extern void AlloyStorageInit(void);

#endif							/* ALLOY_STORE_STORE_H */
