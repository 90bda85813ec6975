/*
 * ingest_write.c: storing a Prometheus remote-write request (1.0 and 2.0);
 * the HTTP side of POST /api/v1/write is api/api_write.c.
 *
 * The request is decoded completely before anything touches the database, so
 * a malformed request costs no transaction. Then one transaction maps every
 * label set to its series id (the catalog's shared cache answers known series
 * without SQL) and appends every sample; 204 goes out only after the commit
 * returned, i.e. once the samples are as durable as synchronous_commit makes
 * them. Any failure after decoding aborts the whole request and answers 5xx
 * (the sender retries; appends are idempotent for identical samples), so a
 * request is never half stored. Exemplars go to alloy.exemplars in the same
 * transaction (ingest_exemplars.c).
 *
 * The transaction commits without waiting for its WAL flush and hands back
 * its commit LSN: the HTTP worker flushes once for all requests of an
 * event-loop pass and only then sends their 204s (group commit), so
 * durability costs one fsync per batch of requests instead of one per
 * request.
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "commands/extension.h"
#include "utils/guc.h"
#include "executor/spi.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "runtime/runtime.h"
#include "series/series.h"
#include "ingest/ingest.h"
#include "ingest/ingest_int.h"
#include "store/store.h"

static int	m_requests_v1;
static int	m_requests_v2;
static int	m_samples;
static int	m_bytes;
static int	m_exemplars_dropped;
static int	m_exemplars_stored;
static int	m_exemplars_duplicate;
static int	m_histograms_dropped;
static int	m_rejected_400;
static int	m_rejected_413;
static int	m_rejected_415;
static int	m_rejected_429;

/* The decoder's allocations live in the request's memory context. */
static void *
AlloyIngestAlloc(void *ctx, size_t size)
{
	return MemoryContextAllocHuge(CurrentMemoryContext, size);
}

static void
AlloyIngestFree(void *ctx, void *ptr)
{
	/* the request context is deleted as a whole */
}

/* Count a request the decoder refused, by the reason's status. */
static void
AlloyIngestCountRejected(const RwError *err)
{
	switch (err->http_status)
	{
		case 413:
			AlloyMetricAdd(m_rejected_413, 1);
			break;
		case 415:
			AlloyMetricAdd(m_rejected_415, 1);
			break;
		default:
			AlloyMetricAdd(m_rejected_400, 1);
			break;
	}
}

typedef struct AlloySeriesByHash
{
	uint64		hash;			/* key */
	int			index;			/* first series of the request with that hash */
} AlloySeriesByHash;

static bool
AlloySameLabels(const RwSeries *a, const RwSeries *b)
{
	if (a->nlabels != b->nlabels)
		return false;
	for (int i = 0; i < a->nlabels; i++)
		if (a->labels[i].name_len != b->labels[i].name_len ||
			a->labels[i].value_len != b->labels[i].value_len ||
			memcmp(a->labels[i].name, b->labels[i].name, a->labels[i].name_len) != 0 ||
			memcmp(a->labels[i].value, b->labels[i].value, a->labels[i].value_len) != 0)
			return false;
	return true;
}

/*
 * Series ids for the request's series that carry exemplars but no samples.
 * Prometheus's sender puts exemplars in entries of their own, so the samples
 * of the same series often sit in another entry of this very request: take
 * the id found for that entry (whatever the order of the two), else an
 * existing series. Exemplars of a series that exists nowhere are dropped,
 * as Prometheus drops exemplars of series its head does not have.
 */
static void
AlloyIngestExemplarOnlySeries(const RwRequest *rw, int32 tenant_id, int64 *ids)
{
	HTAB	   *byhash = NULL;

	for (int i = 0; i < rw->nseries; i++)
	{
		const RwSeries *s = &rw->series[i];
		AlloySeriesByHash *ent;

		if (s->nsamples > 0 || s->nexemplars == 0)
			continue;
		if (byhash == NULL)
		{
			HASHCTL		ctl;

			ctl.keysize = sizeof(uint64);
			ctl.entrysize = sizeof(AlloySeriesByHash);
			ctl.hcxt = CurrentMemoryContext;
			byhash = hash_create("alloy exemplar series", 256, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
			for (int j = 0; j < rw->nseries; j++)
			{
				bool		found;

				if (rw->series[j].nsamples == 0)
					continue;
				ent = hash_search(byhash, &rw->series[j].hash, HASH_ENTER, &found);
				if (!found)
					ent->index = j;
			}
		}
		ent = hash_search(byhash, &s->hash, HASH_FIND, NULL);
		if (ent != NULL && AlloySameLabels(&rw->series[ent->index], s))
			ids[i] = ids[ent->index];
		else
			ids[i] = AlloySeriesLookup(tenant_id, s->labels, s->nlabels, s->hash);
	}
}

/*
 * Store every series and sample of a decoded request in one transaction.
 * A request over its tenant's rate limit stores nothing and sets *limited.
 * The commit itself does not wait for the WAL flush; the caller answers
 * only after the HTTP worker's next group flush covers the returned LSN.
 */
static XLogRecPtr
AlloyIngestStore(const RwRequest *rw, const char *tenant, bool *limited,
				 AlloyExemplarCounts *exemplars)
{
	AlloySample *samples;
	int64	   *ids = NULL;
	int64		n = 0;
	int32		tenant_id;
	MemoryContext cxt = CurrentMemoryContext;

	StartTransactionCommand();
	(void) set_config_option("synchronous_commit", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_LOCAL, true, 0, false);
	PushActiveSnapshot(GetTransactionSnapshot());

	if (!OidIsValid(get_extension_oid("alloy", true)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"alloy\" is not installed in database \"%s\"", alloy_database),
				 errhint("Run CREATE EXTENSION alloy there.")));

	tenant_id = AlloyTenantLookup(tenant, true);
	if (!AlloyIngestTakeTokens(tenant_id, rw->nsamples))
	{
		PopActiveSnapshot();
		AbortCurrentTransaction();
		MemoryContextSwitchTo(cxt);
		*limited = true;
		return InvalidXLogRecPtr;
	}
	AlloyIngestStoreMetadata(tenant_id, rw);
	samples = MemoryContextAllocHuge(CurrentMemoryContext,
									 sizeof(AlloySample) * Max(rw->nsamples, 1));
	if (rw->nexemplars > 0)
		ids = palloc0(sizeof(int64) * rw->nseries);
	for (int i = 0; i < rw->nseries; i++)
	{
		const RwSeries *s = &rw->series[i];
		int64		id;

		if (s->nsamples == 0)
			continue;
		id = AlloySeriesGetOrCreate(tenant_id, s->labels, s->nlabels, s->hash);
		if (ids != NULL)
			ids[i] = id;
		for (int j = 0; j < s->nsamples; j++)
		{
			samples[n].series_id = id;
			samples[n].t_ms = s->samples[j].t_ms;
			samples[n].value = s->samples[j].value;
			n++;
		}
	}
	if (n > 0)
		AlloySamplesAppend(samples, (int) n);
	if (ids != NULL)
		AlloyIngestExemplarOnlySeries(rw, tenant_id, ids);
	AlloyExemplarsStore(rw, ids, exemplars);

	PopActiveSnapshot();
	CommitTransactionCommand();
	/* committing leaves TopMemoryContext current; the answer belongs to the request */
	MemoryContextSwitchTo(cxt);
	return XactLastCommitEnd;
}

/*
 * Decode and store one remote-write request for tenant (NULL: the default
 * tenant), counting it in the ingest metrics. The outcome and what the
 * sender is told about it come back in *res; see ingest.h.
 */
void
AlloyIngestWrite(const char *body, size_t len, const char *content_type,
				 const char *content_encoding, const char *tenant,
				 AlloyIngestResult *res)
{
	RwAllocator alloc = {AlloyIngestAlloc, AlloyIngestFree, NULL};
	RwError		err;
	RwRequest  *rw;
	bool		limited = false;
	AlloyExemplarCounts exemplars;

	memset(res, 0, sizeof(*res));
	AlloyMetricAdd(m_bytes, len);
	memset(&err, 0, sizeof(err));
	rw = rw_decode(body, len, content_type, content_encoding,
				   (size_t) alloy_max_request_bytes, &alloc, &err);
	if (rw == NULL)
	{
		AlloyIngestCountRejected(&err);
		res->outcome = err.http_status == 413 ? ALLOY_INGEST_TOO_LARGE :
			err.http_status == 415 ? ALLOY_INGEST_UNSUPPORTED : ALLOY_INGEST_INVALID;
		strlcpy(res->message, err.message, sizeof(res->message));
		return;
	}
	res->version2 = rw->version == RW_VERSION_2;
	AlloyMetricAdd(res->version2 ? m_requests_v2 : m_requests_v1, 1);

	memset(&exemplars, 0, sizeof(exemplars));
	res->commit_lsn = AlloyIngestStore(rw, tenant, &limited, &exemplars);
	if (limited)
	{
		AlloyMetricAdd(m_rejected_429, 1);
		res->outcome = ALLOY_INGEST_RATE_LIMITED;
		res->rate_limit = alloy_tenant_max_samples_per_second;
		return;
	}

	AlloyMetricAdd(m_samples, rw->nsamples);
	AlloyMetricAdd(m_exemplars_stored, exemplars.stored);
	AlloyMetricAdd(m_exemplars_duplicate, exemplars.duplicates);
	AlloyMetricAdd(m_exemplars_dropped, exemplars.dropped);
	AlloyMetricAdd(m_histograms_dropped, rw->nhistograms);

	res->outcome = ALLOY_INGEST_STORED;
	res->samples = rw->nsamples;
	res->exemplars_written = exemplars.stored + exemplars.duplicates;
}

/*
 * /metrics: the series cache that keeps known series off SQL, and how many
 * series the catalog holds (an index-only count: tens of milliseconds at a
 * million series, once per scrape).
 */
static void
AlloyIngestCollectMetrics(StringInfo out)
{
	AlloyCacheStats st;
	double		series = -1;
	MemoryContext cxt = CurrentMemoryContext;

	AlloyCacheGetStats(&st);
	appendStringInfo(out,
					 "# HELP alloy_series_cache_hits_total Label-set lookups answered by the series cache.\n"
					 "# TYPE alloy_series_cache_hits_total counter\n"
					 "alloy_series_cache_hits_total " INT64_FORMAT "\n"
					 "# HELP alloy_series_cache_misses_total Label-set lookups the series cache could not answer.\n"
					 "# TYPE alloy_series_cache_misses_total counter\n"
					 "alloy_series_cache_misses_total " INT64_FORMAT "\n"
					 "# HELP alloy_series_cache_evictions_total Series pushed out of the full series cache.\n"
					 "# TYPE alloy_series_cache_evictions_total counter\n"
					 "alloy_series_cache_evictions_total " INT64_FORMAT "\n"
					 "# HELP alloy_series_cache_entries Series in the cache: those written recently.\n"
					 "# TYPE alloy_series_cache_entries gauge\n"
					 "alloy_series_cache_entries " INT64_FORMAT "\n"
					 "# HELP alloy_series_cache_capacity Series the cache can hold (alloy.series_cache_size).\n"
					 "# TYPE alloy_series_cache_capacity gauge\n"
					 "alloy_series_cache_capacity " INT64_FORMAT "\n"
					 "# HELP alloy_series_cache_bytes Shared memory of the series cache.\n"
					 "# TYPE alloy_series_cache_bytes gauge\n"
					 "alloy_series_cache_bytes " INT64_FORMAT "\n",
					 st.hits, st.misses, st.evictions, st.entries, st.capacity, st.bytes);

	StartTransactionCommand();
	if (OidIsValid(get_extension_oid("alloy", true)))
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		if (SPI_connect() == SPI_OK_CONNECT)
		{
			bool		isnull = true;

			if (SPI_execute("SELECT count(*) FROM alloy.series_catalog", true, 1) == SPI_OK_SELECT &&
				SPI_processed == 1)
				series = (double) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
															  SPI_tuptable->tupdesc, 1, &isnull));
			if (isnull)
				series = -1;
			SPI_finish();
		}
		PopActiveSnapshot();
	}
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);
	if (series >= 0)
		appendStringInfo(out,
						 "# HELP alloy_series Series in the catalog, all tenants.\n"
						 "# TYPE alloy_series gauge\n"
						 "alloy_series %.0f\n", series);
}

static int
AlloyIngestCounter(const char *name, const char *help, const char *labels)
{
	return AlloyMetricRegister(ALLOY_METRIC_COUNTER, name, help, labels);
}

/*
 * One series of alloy_remote_write_rejected_requests_total. The label text
 * must outlive _PG_init's memory (it is read in every process): literals.
 */
static int
AlloyIngestRejected(const char *labels)
{
	return AlloyIngestCounter("alloy_remote_write_rejected_requests_total",
							  "Remote-write requests refused before storing, by reason.", labels);
}

/* One series of alloy_samples_dropped_total (labels: a literal, as above). */
static int
AlloyIngestDropped(const char *labels)
{
	return AlloyIngestCounter("alloy_samples_dropped_total",
							  "Samples received but not stored, by kind (histograms: not supported yet; exemplars: invalid, unknown series or time out of range).", labels);
}

void
AlloyIngestInit(void)
{
	AlloyMetricsRegisterCollector(AlloyIngestCollectMetrics);
	AlloyIngestLimitsInit();
	AlloyExemplarsInit();

	m_requests_v1 = AlloyIngestCounter("alloy_remote_write_requests_total",
									   "Remote-write requests decoded, by protocol version.",
									   "version=\"1.0\"");
	m_requests_v2 = AlloyIngestCounter("alloy_remote_write_requests_total",
									   "Remote-write requests decoded, by protocol version.",
									   "version=\"2.0\"");
	m_samples = AlloyIngestCounter("alloy_samples_ingested_total",
								   "Float samples committed through remote write.", NULL);
	m_bytes = AlloyIngestCounter("alloy_remote_write_received_bytes_total",
								 "Remote-write request bytes received, compressed.", NULL);
	m_rejected_400 = AlloyIngestRejected("reason=\"invalid\"");
	m_rejected_413 = AlloyIngestRejected("reason=\"too_large\"");
	m_rejected_415 = AlloyIngestRejected("reason=\"unsupported_media_type\"");
	m_rejected_429 = AlloyIngestRejected("reason=\"rate_limited\"");
	m_exemplars_dropped = AlloyIngestDropped("kind=\"exemplar\"");
	m_histograms_dropped = AlloyIngestDropped("kind=\"native_histogram\"");
	m_exemplars_stored = AlloyIngestCounter("alloy_exemplars_stored_total",
											"Exemplars committed through remote write (new rows of alloy.exemplars).",
											NULL);
	m_exemplars_duplicate = AlloyIngestCounter("alloy_exemplars_duplicate_total",
											   "Exemplars received that were stored already (same series, time and labels).",
											   NULL);
}
