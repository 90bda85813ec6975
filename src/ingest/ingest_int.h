/*
 * ingest_int.h: private declarations shared by the files of src/ingest.
 */
#ifndef ALLOY_INGEST_INT_H
#define ALLOY_INGEST_INT_H

#include "wire/wire.h"

/* ingest_limits.c */
extern int	alloy_tenant_max_samples_per_second;
extern void AlloyIngestLimitsInit(void);
extern void AlloyExemplarsInit(void);	/* registers exemplar retention */
extern bool AlloyIngestTakeTokens(int32 tenant_id, int64 n);

/* ingest_metadata.c */
extern void AlloyIngestStoreMetadata(int32 tenant_id, const RwRequest *rw);

/* ingest_exemplars.c */
typedef struct AlloyExemplarCounts
{
	int64		stored;			/* new rows */
	int64		duplicates;		/* valid, but stored already */
	int64		dropped;		/* invalid, unknown series or time out of range */
} AlloyExemplarCounts;

extern void AlloyExemplarsStore(const RwRequest *rw, const int64 *ids,
								AlloyExemplarCounts *counts);

#endif							/* ALLOY_INGEST_INT_H */
