/*
 * reader.c: the public reader API of store.h (AlloySamplesBeginRead and
 * friends), used by PromQL and the SQL functions: one reader opens every
 * partition of alloy.samples overlapping its time range once, with one
 * registered snapshot, and then reads series by series through the
 * partition readers of read.c.
 */
#include "postgres.h"

#include "access/table.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "store/store_int.h"

AlloySamplesReader *
AlloySamplesBeginRead(int64 mint_ms, int64 maxt_ms)
{
	return AlloySamplesBeginReadSeries(mint_ms, maxt_ms, NULL, 0);
}

static int
AlloyCmpInt64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : (x > y ? 1 : 0);
}

AlloySamplesReader *
AlloySamplesBeginReadSeries(int64 mint_ms, int64 maxt_ms, const int64 *series_ids, int nseries)
{
	MemoryContext cxt;
	int64	   *only = NULL;
	MemoryContext old;
	AlloySamplesReader *r;
	Oid			parent;
	AlloyPartition *parts;
	int			nparts;
	int			i;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "alloy samples reader",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	r = palloc0(sizeof(AlloySamplesReader));
	r->cxt = cxt;
	r->mint = mint_ms;
	r->maxt = maxt_ms;
	r->snapshot = RegisterSnapshot(ActiveSnapshotSet() ? GetActiveSnapshot() :
								   GetTransactionSnapshot());
	if (series_ids != NULL)
	{
		only = palloc(sizeof(int64) * Max(nseries, 1));
		memcpy(only, series_ids, sizeof(int64) * nseries);
		qsort(only, nseries, sizeof(int64), AlloyCmpInt64);
	}

	parent = AlloySamplesParentOid(false);
	LockRelationOid(parent, AccessShareLock);
	parts = AlloyListPartitions(parent, &nparts);
	r->parts = palloc0(sizeof(AlloyPartReader *) * Max(nparts, 1));
	for (i = 0; i < nparts && mint_ms <= maxt_ms; i++)
	{
		Relation	rel;

		if (parts[i].lo_ms > maxt_ms || parts[i].hi_ms <= mint_ms)
			continue;
		rel = try_table_open(parts[i].relid, AccessShareLock);
		if (rel == NULL)
			continue;			/* dropped meanwhile */
		if (!AlloyIsAlloyRelation(rel))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("partition \"%s\" of alloy.samples does not use access method alloy",
							RelationGetRelationName(rel))));
		r->parts[r->nparts++] = AlloyPartOpenSeries(rel, r->snapshot, mint_ms, maxt_ms,
													only, nseries);
	}
	MemoryContextSwitchTo(old);
	return r;
}

static int
AlloyCmpInt64Pair(const void *a, const void *b)
{
	const int64 *x = a;
	const int64 *y = b;

	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return x[1] < y[1] ? -1 : (x[1] > y[1] ? 1 : 0);
}

int
AlloySamplesReadSeries(AlloySamplesReader *r, int64 series_id,
					   int64 **ts, double **vs)
{
	int			n = 0;
	int			cap = 0;
	int			i;
	bool		sorted = true;

	*ts = NULL;
	*vs = NULL;
	for (i = 0; i < r->nparts; i++)
		n = AlloyPartReadSeries(r->parts[i], series_id, ts, vs, n, &cap);
	for (i = 1; i < n && sorted; i++)
		if ((*ts)[i] <= (*ts)[i - 1])
			sorted = false;
	if (!sorted)
	{
		/* a default partition interleaves; one time maps to one partition */
		int64	   *pairs = palloc(sizeof(int64) * 2 * n);

		for (i = 0; i < n; i++)
		{
			pairs[2 * i] = (*ts)[i];
			pairs[2 * i + 1] = (int64) AlloyDoubleToBits((*vs)[i]);
		}
		qsort(pairs, n, sizeof(int64) * 2, AlloyCmpInt64Pair);
		for (i = 0; i < n; i++)
		{
			(*ts)[i] = pairs[2 * i];
			(*vs)[i] = AlloyBitsToDouble((uint64) pairs[2 * i + 1]);
		}
		pfree(pairs);
	}
	return n;
}

void
AlloySamplesEndRead(AlloySamplesReader *r)
{
	int			i;

	for (i = 0; i < r->nparts; i++)
		table_close(r->parts[i]->rel, NoLock);
	UnregisterSnapshot(r->snapshot);
	MemoryContextDelete(r->cxt);
}
