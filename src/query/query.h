/*
 * query.h: the PromQL engine inside a PostgreSQL backend.
 *
 * The one place that binds the plain-C engine to the server: memory from a
 * per-query context, interrupts through CHECK_FOR_INTERRUPTS, series from the
 * catalog's label index, samples from the storage reader, errors as
 * ereport with SQLSTATEs the HTTP API maps to Prometheus's error types
 * (22P02 parse error -> bad_data, 54000 sample limit and 22000 evaluation
 * errors -> execution). Used by the SQL functions and the HTTP API alike.
 */
#ifndef ALLOY_QUERY_QUERY_H
#define ALLOY_QUERY_QUERY_H

#include "postgres.h"

#include "datatype/timestamp.h"

#include "series/series.h"
#include "promql/promql.h"
#include "store/store.h"		/* AlloyTimestampToMs, AlloyMsToTimestamp */

typedef struct AlloyPromqlQuery
{
	MemoryContext context;		/* everything of the query; deleted by End */
	AlloyArena *arena;
	PromqlEngineOpts opts;
	int32		tenant_id;
	PromqlStorage storage;
	PromqlNode *expr;
	const char *text;
} AlloyPromqlQuery;

/* Parse a query for a tenant (NULL: default); a syntax error is an ERROR. */
extern AlloyPromqlQuery *AlloyPromqlBegin(const char *query, const char *tenant);

/* Evaluate (step 0: instant query at start); errors are ERRORs. */
extern void AlloyPromqlEval(AlloyPromqlQuery *q, int64 start_ms, int64 end_ms,
							int64 step_ms, PromqlResult *res);

extern char *AlloyPromqlExplain(AlloyPromqlQuery *q, int64 start_ms, int64 end_ms,
								int64 step_ms);

extern void AlloyPromqlEnd(AlloyPromqlQuery *q);

/* The query tenant's series matching every matcher (label index only, no samples). */
extern AlloySelectedSeries *AlloyPromqlMatchSeries(AlloyPromqlQuery *q,
												   const PromqlMatcher *matchers,
												   int nmatchers, int *nseries);

/* The distinct values of label name over those series (unsorted). */
extern AlloyLabel *AlloyPromqlLabelValues(AlloyPromqlQuery *q, const PromqlMatcher *matchers,
										  int nmatchers, const char *name, int *nvalues);

/* The distinct label names over those series, sorted (values NULL). */
extern AlloyLabel *AlloyPromqlLabelNames(AlloyPromqlQuery *q, const PromqlMatcher *matchers,
										 int nmatchers, int *nnames);


/* Settings of the engine inside the server; called from _PG_init. */
extern void AlloyPromqlInit(void);

#endif							/* ALLOY_QUERY_QUERY_H */
