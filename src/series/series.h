/*
 * series.h: the public interface of alloy's series catalog.
 *
 * A series is a tenant plus a set of labels; the catalog gives each one a
 * stable int64 id, which is all sample storage knows about. Ingest maps label
 * sets to ids (AlloySeriesGetOrCreate, which answers known series from a
 * shared-memory cache without touching tables) and PromQL maps label matchers
 * to series (AlloySeriesSelect, through the GIN postings index).
 *
 * Everything here must run inside a transaction in a database where the
 * extension exists. Series are created in the caller's transaction: if it
 * aborts, the series never existed (and never reached the cache).
 */
#ifndef ALLOY_SERIES_SERIES_H
#define ALLOY_SERIES_SERIES_H

#include "postgres.h"

#include "base/base.h"

/* The default tenant: no X-Scope-OrgID header, tenant NULL or "". */
#define ALLOY_DEFAULT_TENANT_ID		0
#define ALLOY_DEFAULT_TENANT_NAME	"default"
/* AlloyTenantLookup(..., false) for a tenant that does not exist. */
#define ALLOY_INVALID_TENANT_ID		(-1)
/* Series ids start at 1; 0 means "no such series". */
#define ALLOY_INVALID_SERIES_ID		((int64) 0)

/* Longest tenant name accepted (the limit Cortex and Mimir use). */
#define ALLOY_TENANT_NAME_MAX		150
/* Most labels one series may have (the catalog's btree key must fit a page). */
#define ALLOY_MAX_LABELS_PER_SERIES 256

/*
 * The tenant id for a tenant name; NULL or "" is the default tenant (id 0).
 * With create, an unknown tenant is created (in its own committed-or-not
 * state: it is part of the caller's transaction); without, an unknown tenant
 * gives ALLOY_INVALID_TENANT_ID. Invalid names raise an error (names use the
 * characters Mimir allows: letters, digits and !-_.*'(), at most 150 bytes).
 */
extern int32 AlloyTenantLookup(const char *name, bool create);

/*
 * The series id for a label set, created if new. labels must be sorted by
 * name (bytewise), with unique non-empty names and no empty values, and hash
 * must be AlloyLabelsHash(labels, nlabels). Use AlloyLabelsValidate() when
 * the caller has not validated them itself.
 */
extern int64 AlloySeriesGetOrCreate(int32 tenant_id, const AlloyLabel *labels,
									int nlabels, uint64 hash);

/* The same lookup without creating: ALLOY_INVALID_SERIES_ID if absent. */
extern int64 AlloySeriesLookup(int32 tenant_id, const AlloyLabel *labels,
							   int nlabels, uint64 hash);

/*
 * Sort labels by name, drop empty values, and check names (non-empty,
 * [a-zA-Z_][a-zA-Z0-9_]*, no duplicates) and lengths. Raises an error on bad
 * input; returns the new count.
 */
extern int	AlloyLabelsValidate(AlloyLabel *labels, int nlabels);

/* A label set as a jsonb object Datum (name -> value), in that order. */
extern Datum AlloyLabelsJsonb(const AlloyLabel *labels, int n);

/* Label matchers, as in a PromQL selector. */
typedef enum AlloyMatchOp
{
	ALLOY_MATCH_EQ,				/* = */
	ALLOY_MATCH_NEQ,			/* != */
	ALLOY_MATCH_RE,				/* =~ (fully anchored, RE2 syntax) */
	ALLOY_MATCH_NRE				/* !~ */
} AlloyMatchOp;

typedef struct AlloyMatcher
{
	const char *name;
	int			name_len;
	AlloyMatchOp op;
	const char *value;
	int			value_len;
} AlloyMatcher;

/* One selected series: its id and its labels sorted by name. */
typedef struct AlloySelectedSeries
{
	int64		series_id;
	int			nlabels;
	AlloyLabel *labels;			/* strings NUL-terminated as well */
} AlloySelectedSeries;

/*
 * The series of a tenant matching every matcher, sorted by label set
 * (Prometheus order), allocated in CurrentMemoryContext. Semantics are
 * Prometheus's: a matcher that matches the empty string also matches series
 * without that label. Visibility: the active snapshot. Invalid regexes raise
 * an error (ERRCODE_INVALID_REGULAR_EXPRESSION).
 */
extern AlloySelectedSeries *AlloySeriesSelect(int32 tenant_id,
											  const AlloyMatcher *matchers,
											  int nmatchers, int *nseries);

/*
 * The distinct values of one label over the tenant's series matching every
 * matcher (unsorted; value strings NUL-terminated). For /api/v1/label/<name>/values
 * with match[], without building each series' label set.
 */
extern AlloyLabel *AlloySeriesLabelValues(int32 tenant_id, const AlloyMatcher *matchers,
										  int nmatchers, const char *name, int name_len,
										  int *nvalues);

/*
 * The distinct label names over the tenant's series matching every matcher,
 * sorted bytewise (AlloyLabels whose value is NULL). For /api/v1/labels with
 * match[], without building each series' label set.
 */
extern AlloyLabel *AlloySeriesLabelNames(int32 tenant_id, const AlloyMatcher *matchers,
										 int nmatchers, int *nnames);

/*
 * Without matchers: a tenant's label names (AlloyLabels with NULL values), or
 * one label's values, both sorted bytewise, from the label index alone. The
 * tenant is a name (NULL or "" is the default tenant); an unknown or invalid
 * one simply has no labels.
 */
extern AlloyLabel *AlloyTenantLabelNames(const char *tenant, int *nnames);
extern AlloyLabel *AlloyTenantLabelValues(const char *tenant, const char *name, int name_len,
										  int *nvalues);

/*
 * Bring this backend's in-memory label index, if it has built one, up to
 * the active snapshot (an idle HTTP worker calls it, so that the first
 * lookup after a burst of new series does not pay for reading them).
 * Returns the number of series added; nothing is built from scratch.
 */
extern int64 AlloyLabelIndexRefresh(void);
extern bool AlloyLabelIndexExists(void);

/*
 * The labels of one series (sorted by name), allocated in
 * CurrentMemoryContext; false if there is no such series.
 */
extern bool AlloySeriesGetLabels(int64 series_id, AlloyLabel **labels,
								 int *nlabels);

/*
 * One interned label by its id (the label_ids of alloy.series_catalog), name
 * and value NUL-terminated in CurrentMemoryContext, as the active snapshot
 * sees it; false if there is no such label.
 */
extern bool AlloyLabelById(int32 label_id, AlloyLabel *label);

/* Counters of the series cache, for monitoring (/metrics, series_cache_stats). */
typedef struct AlloyCacheStats
{
	bool		shared;
	int64		capacity;
	int64		entries;
	int64		hits;
	int64		misses;
	int64		inserts;
	int64		evictions;
	int64		bytes;
} AlloyCacheStats;

extern void AlloyCacheGetStats(AlloyCacheStats *stats);

/* Settings and the shared series cache; called from _PG_init. */
extern void AlloyCatalogInit(void);

#endif							/* ALLOY_SERIES_SERIES_H */
