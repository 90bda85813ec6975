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

/* Settings, metrics and the remote-write route; called from _PG_init. */
extern void AlloyIngestInit(void);

#endif							/* ALLOY_INGEST_INGEST_H */
