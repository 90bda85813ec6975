/*
 * promql_storage.h: how the PromQL evaluator reads series.
 *
 * The engine never knows where samples live.  The planner computes for every
 * selector the exact [mint, maxt] it needs and calls select() once per
 * selector; the callee returns the matching series with their samples in
 * that window (both ends included), timestamps ascending, stale markers kept
 * bit-exact.  The in-memory store of the tests and alloy's table AM both
 * implement this, so both run the same engine.
 */
#ifndef PROMQL_STORAGE_H
#define PROMQL_STORAGE_H

#include "promql/promql.h"

typedef struct PromqlSeries
{
	PromqlLabels labels;		/* sorted, __name__ included */
	size_t		n;
	const int64_t *t;			/* milliseconds, ascending, unique */
	const double *v;
} PromqlSeries;

typedef struct PromqlSeriesSet
{
	size_t		n;
	PromqlSeries *series;
} PromqlSeriesSet;

typedef struct PromqlStorage
{
	void	   *ctx;

	/*
	 * Fill *out with every series matching all matchers (allocate from
	 * arena).  Return false and write errbuf on failure.  mint > maxt means
	 * no samples are needed but series still are (not used today).
	 */
	bool		(*select) (void *ctx, PromqlArena *arena,
						   const PromqlMatcher *matchers, int nmatchers,
						   int64_t mint, int64_t maxt,
						   PromqlSeriesSet *out, char *errbuf, size_t errlen);
} PromqlStorage;

#endif							/* PROMQL_STORAGE_H */
