/*
 * exemplars.h: what other subsystems call of the exemplar store
 * (src/ingest/ingest_exemplars.c, docs/exemplars.md).
 */
#ifndef ALLOY_INGEST_INGEST_H
#define ALLOY_INGEST_INGEST_H

#include "postgres.h"

/*
 * Delete exemplars older than cutoff_ms (Prometheus milliseconds); the
 * storage worker's retention pass calls it with the cutoff it drops sample
 * partitions by. Needs a transaction with an active snapshot. Returns the
 * number of rows deleted.
 */
extern int64 AlloyExemplarsDropBefore(int64 cutoff_ms);

/*
 * Storing one remote-write request (ingest_write.c). The body is decoded
 * completely before anything touches the database; then one transaction
 * stores every series, sample, exemplar and metadata entry, or nothing.
 */
typedef enum AlloyIngestOutcome
{
	ALLOY_INGEST_STORED,		/* committed; durable once commit_lsn is flushed */
	ALLOY_INGEST_INVALID,		/* undecodable: nothing stored, message says why */
	ALLOY_INGEST_TOO_LARGE,		/* over alloy.max_request_bytes once decompressed */
	ALLOY_INGEST_UNSUPPORTED,	/* unknown content type or encoding */
	ALLOY_INGEST_RATE_LIMITED	/* over the tenant's rate: nothing stored */
} AlloyIngestOutcome;

typedef struct AlloyIngestResult
{
	AlloyIngestOutcome outcome;
	char		message[200];	/* why it was refused (not rate limits), one line */
	int			rate_limit;		/* RATE_LIMITED: the samples per second allowed */
	bool		version2;		/* decoded as remote write 2.0 */
	int64		samples;		/* STORED: float samples written */
	int64		exemplars_written;	/* STORED: exemplars new or stored already */
	uint64		commit_lsn;		/* STORED: the commit's end; its flush makes it durable */
} AlloyIngestResult;

/*
 * Decode and store one remote-write request of tenant (NULL: the default
 * tenant). content_type and content_encoding are the request's, or NULL.
 * The commit does not wait for its WAL flush: a caller that promises
 * durability waits until commit_lsn is flushed. Errors after decoding
 * (database, per-tenant series limit) are thrown with ereport and leave
 * nothing stored.
 */
extern void AlloyIngestWrite(const char *body, size_t len, const char *content_type,
							 const char *content_encoding, const char *tenant,
							 AlloyIngestResult *res);

/* Settings and metrics of ingestion; called from _PG_init. */
extern void AlloyIngestInit(void);

#endif							/* ALLOY_INGEST_INGEST_H */
