/*
 * series_int.h: what the files of src/series share and nobody else sees.
 *
 * From the bottom up (a file calls only the files above it in this list):
 * series_cache.c	the (tenant, label-set hash) -> series id cache
 * series_local.c	this transaction's new series, cached tenants and labels
 * series_rels.c	catalog relations by name, invalidation and xact callbacks
 * series_tables.c	tenants, interned labels and series rows (index scans, inserts)
 * series_labels.c	label names and values without matchers; labels as jsonb
 * series_labelidx.c	backend-local in-memory postings for label lookups
 * series_matchers.c	label matchers -> sets of label ids
 * series_postings.c	matchers over the in-memory postings (sorted-list algebra)
 * series_select.c	matchers -> series (GIN postings), label names and values
 * series_catalog.c	settings and shared memory hooks (_PG_init)
 */
#ifndef ALLOY_SERIES_SERIES_INT_H
#define ALLOY_SERIES_SERIES_INT_H

#include "postgres.h"

#include "storage/lwlock.h"
#include "utils/rel.h"
#include "utils/snapshot.h"

#include "series/series.h"

/* alloy.series_cache_size: entries in the shared cache (PGC_POSTMASTER). series_cache.c */
extern int	alloy_series_cache_size;
/* alloy.tenant_max_series: series per tenant, 0 = unlimited (PGC_SIGHUP). series_tables.c */
extern int	alloy_tenant_max_series;
/* alloy.label_index_max_series: in-memory label index size, 0 = off (PGC_SIGHUP). series_labelidx.c */
extern int	alloy_label_index_max_series;

/* Cache entries per set: a lookup reads one set, within one cache line pair. */
#define ALLOY_CACHE_WAYS		8
/* Lock partitions of the shared cache (sets are spread over them). */
#define ALLOY_CACHE_PARTITIONS	128
/* The backend-local cache used without shared_preload_libraries. */
#define ALLOY_LOCAL_CACHE_MAX	65536

/* Attribute numbers of the catalog tables (sql/install/10_catalog.sql). */
#define Anum_alloy_tenants_tenant_id	1
#define Anum_alloy_tenants_name			2
#define Anum_alloy_tenants_created		3
#define Natts_alloy_tenants				3

#define Anum_alloy_labels_label_id		1
#define Anum_alloy_labels_tenant_id		2
#define Anum_alloy_labels_name			3
#define Anum_alloy_labels_value			4
#define Natts_alloy_labels				4

#define Anum_alloy_series_series_id		1
#define Anum_alloy_series_tenant_id		2
#define Anum_alloy_series_hash			3
#define Anum_alloy_series_hash2			4
#define Anum_alloy_series_label_ids		5
#define Anum_alloy_series_created		6
#define Natts_alloy_series				6

/* OIDs of the catalog's relations in this database, looked up by name once. */
typedef struct AlloyCatalogRels
{
	Oid			namespace;
	Oid			tenants;
	Oid			tenants_pkey;
	Oid			tenants_name_key;
	Oid			tenants_seq;
	Oid			labels;
	Oid			labels_pkey;
	Oid			labels_key;		/* (tenant_id, name, value) */
	Oid			labels_seq;
	Oid			series;
	Oid			series_pkey;
	Oid			series_key;		/* (tenant_id, hash, label_ids) */
	Oid			series_gin;		/* gin (label_ids) */
	Oid			series_seq;
} AlloyCatalogRels;

/* series_rels.c */
extern const AlloyCatalogRels *AlloyCatalogGetRels(void);
extern void AlloyCatalogRegisterCallbacks(void);

/* series_cache.c: the key of a cache entry. */
typedef struct AlloyCacheKey
{
	uint64		hash;			/* AlloyLabelsHash */
	uint64		hash2;			/* the same with ALLOY_LABELS_HASH_SEED2 */
	Oid			dbid;
	Oid			relid;			/* alloy.series_catalog: a new extension is a new epoch */
	int32		tenant_id;
} AlloyCacheKey;

extern Size AlloyCacheShmemSize(void);
extern void AlloyCacheShmemInit(void);
extern void AlloyCacheLWLocksAssign(LWLockPadded *locks);
extern int64 AlloyCacheLookup(const AlloyCacheKey *key);
extern void AlloyCacheInsert(const AlloyCacheKey *key, int64 series_id);

/* AlloyCacheStats and AlloyCacheGetStats are public: see series.h */

/* series_local.c: series created by this transaction, cached at commit. */
extern int64 AlloyPendingLookup(const AlloyCacheKey *key);
extern void AlloyPendingAdd(const AlloyCacheKey *key, int64 series_id);
extern void AlloyPendingAtCommit(void);
extern void AlloyPendingAtAbort(void);
extern void AlloyPendingAtSubCommit(SubTransactionId mySubid, SubTransactionId parentSubid);
extern void AlloyPendingAtSubAbort(SubTransactionId mySubid);

/* series_local.c: committed tenants and labels this backend has seen. */
extern int32 AlloyTenantCacheGet(const char *name);
extern void AlloyTenantCachePut(const char *name, int32 tenant_id);
extern uint64 AlloyLabelCacheKey(int32 tenant_id, const AlloyLabel *l);
extern int32 AlloyLabelCacheGet(int32 tenant_id, const AlloyLabel *l, uint64 key);
extern void AlloyLabelCachePut(int32 tenant_id, const AlloyLabel *l, uint64 key,
							   int32 label_id);
extern void AlloyTenantCacheReset(void);

/* series_tables.c: label and series rows. */
extern int32 AlloyLabelIdLookup(Relation labels, Relation labels_key, Snapshot snapshot,
								int32 tenant_id, const char *name, int name_len,
								const char *value, int value_len);

/* series_tables.c: one label row by id, from alloy.labels opened by the caller. */
extern bool AlloyLabelRowRead(Relation lrel, Snapshot snapshot, int32 label_id,
							  AlloyLabel *out);

/* series_tables.c: Prometheus order of label sets. */
extern int	AlloyCompareLabelSets(const AlloyLabel *a, int na,
								  const AlloyLabel *b, int nb);

/*
 * series_labelidx.c: label_ids of a series row without a palloc'd copy.
 * Short arrays (up to 126 bytes: small label sets) are copied into buf.
 */
typedef union AlloyLabelIdsBuf
{
	int32		align;
	char		data[160];
} AlloyLabelIdsBuf;

extern const int32 *AlloyLabelIdsOf(Datum label_ids, AlloyLabelIdsBuf *buf, int *n);

/* series_labelidx.c: a tenant's in-memory postings (see the file header). */
typedef struct AlloyLabelIndex AlloyLabelIndex;

/* One interned value of a label name: its id and the value (NUL-terminated). */
typedef struct AlloyLabelValueRow
{
	int32		label_id;
	int			value_len;
	char	   *value;
} AlloyLabelValueRow;

/*
 * Every value of label `name` in a tenant, read from the labels table's
 * (tenant, name, value) index, so sorted bytewise by value. series_labels.c
 */
extern AlloyLabelValueRow *AlloyLabelValueRows(int32 tenant_id, const char *name, int name_len,
											   Snapshot snapshot, int *nrows);

extern AlloyLabelIndex *AlloyLabelIndexGet(int32 tenant_id, Snapshot snapshot);
extern int32 AlloyLabelIndexSeriesCount(const AlloyLabelIndex *idx);
extern const int32 *AlloyLabelIndexPostings(const AlloyLabelIndex *idx, int32 label_id,
											int *n);
extern const int32 *AlloyLabelIndexSeriesLabels(const AlloyLabelIndex *idx, int32 s,
												int *n);
extern int32 AlloyLabelIndexNameOf(AlloyLabelIndex *idx, int32 label_id, Relation labels,
								   Snapshot snapshot);
extern const AlloyLabel *AlloyLabelIndexName(const AlloyLabelIndex *idx, int32 name);

/* series_labels.c: a tenant's label names (value NULL), sorted bytewise. */
extern AlloyLabel *AlloyLabelNamesOfTenant(int32 tenant_id, Snapshot snapshot, int *nnames);

/* qsort and bsearch order of label ids (and of series numbers). */
static inline int
AlloyCmpLabelId(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	return x < y ? -1 : x > y;
}

/*
 * series_matchers.c: one label matcher as interned label ids of its name.
 * Positive: a series must carry one of the ids (the matching values).
 * Negative (the matcher matches the empty string, so also series without
 * the label): a series must carry none of them (the non-matching values).
 */
typedef struct AlloyMatcherIds
{
	bool		positive;		/* ids are the matching values, else the non-matching */
	int			nids;
	int			maxids;
	int32	   *ids;			/* sorted */
} AlloyMatcherIds;

extern bool AlloyMatchersResolve(Relation lrel, Snapshot snapshot, int32 tenant_id,
								 const AlloyMatcher *matchers, int nmatchers,
								 AlloyMatcherIds *mids);

/* Does a series with these label ids carry one of m's ids? (per row: inline) */
static inline bool
AlloyMatcherHit(const int32 *row, int nrow, const AlloyMatcherIds *m)
{
	for (int i = 0; i < nrow; i++)
		if (bsearch(&row[i], m->ids, m->nids, sizeof(int32), AlloyCmpLabelId) != NULL)
			return true;
	return false;
}

/*
 * series_postings.c: the matchers over a tenant's in-memory label index: the
 * matching series numbers (sorted), and which wanted label ids (sorted, of
 * one label name) the matching series carry.
 */
extern int32 *AlloyPostingsMatch(const AlloyLabelIndex *idx, AlloyMatcherIds *mids,
								 int nmatchers, int *nset);
extern void AlloyPostingsLabelValues(const AlloyLabelIndex *idx, AlloyMatcherIds *mids,
									 int nmatchers, const int32 *wids, int nv, bool *seen,
									 const char *name, int name_len);

#endif							/* ALLOY_SERIES_SERIES_INT_H */
