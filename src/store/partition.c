/*
 * partition.c: the time partitions of alloy.samples: listing them with
 * their bounds in milliseconds, creating them on demand, routing appended
 * samples to them (AlloySamplesAppend), dropping old ones whole, and what
 * one partition's metapage says (AlloyStorageStatsOf).
 *
 * Bounds are read from pg_class.relpartbound rather than from names, so
 * partitions a user created or attached by hand are honoured. A new
 * partition spans alloy.partition_interval aligned to the Unix epoch, cut
 * short where it would overlap an existing one (after the interval was
 * changed, or around a hand-made partition). It is created standalone and
 * then attached, which needs only ShareUpdateExclusiveLock on the parent, so
 * running queries on alloy.samples do not block ingest; the same lock
 * taken first serialises concurrent creators.
 */
#include "postgres.h"

#include <time.h>

#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/defrem.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "partitioning/partdesc.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "runtime/runtime.h"
#include "store/store_int.h"

Oid
AlloySamplesParentOid(bool missing_ok)
{
	Oid			nsp = get_namespace_oid("alloy", missing_ok);
	Oid			relid = InvalidOid;

	if (OidIsValid(nsp))
		relid = get_relname_relid("samples", nsp);
	if (!OidIsValid(relid) && !missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"alloy.samples\" does not exist"),
				 errhint("Run CREATE EXTENSION alloy in this database.")));
	return relid;
}

/* The first millisecond whose timestamptz is >= ts (partition bounds). */
static int64
AlloyBoundToMs(Node *node, bool upper)
{
	PartitionRangeDatum *prd = castNode(PartitionRangeDatum, node);
	TimestampTz ts;
	int64		ms;

	if (prd->kind == PARTITION_RANGE_DATUM_MINVALUE)
		return PG_INT64_MIN;
	if (prd->kind == PARTITION_RANGE_DATUM_MAXVALUE)
		return PG_INT64_MAX;
	ts = DatumGetTimestampTz(castNode(Const, prd->value)->constvalue);
	if (TIMESTAMP_IS_NOBEGIN(ts))
		return PG_INT64_MIN;
	if (TIMESTAMP_IS_NOEND(ts))
		return PG_INT64_MAX;
	ms = AlloyTimestampToMs(ts);
	if (AlloyMsToTimestamp(ms) < ts)
		ms++;
	return ms;
}

static int
AlloyPartitionCmp(const void *a, const void *b)
{
	const AlloyPartition *x = a;
	const AlloyPartition *y = b;

	if (x->lo_ms != y->lo_ms)
		return x->lo_ms < y->lo_ms ? -1 : 1;
	return 0;
}

/*
 * The partitions of parent with their bounds, sorted by lower bound. A
 * default partition is listed with the whole range.
 */
AlloyPartition *
AlloyListPartitions(Oid parent, int *n)
{
	Relation	prel = table_open(parent, AccessShareLock);
	PartitionDesc pd = RelationGetPartitionDesc(prel, true);
	AlloyPartition *parts = palloc0(sizeof(AlloyPartition) * Max(pd->nparts, 1));
	Oid			amoid = get_table_am_oid("alloy", true);
	int			i;
	int			k = 0;

	for (i = 0; i < pd->nparts; i++)
	{
		HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(pd->oids[i]));
		Datum		d;
		bool		isnull;
		PartitionBoundSpec *spec;

		if (!HeapTupleIsValid(tup))
			continue;
		d = SysCacheGetAttr(RELOID, tup, Anum_pg_class_relpartbound, &isnull);
		if (isnull)
		{
			ReleaseSysCache(tup);
			continue;
		}
		spec = castNode(PartitionBoundSpec, stringToNode(TextDatumGetCString(d)));
		parts[k].relid = pd->oids[i];
		parts[k].is_alloy = ((Form_pg_class) GETSTRUCT(tup))->relam == amoid;
		if (spec->is_default || spec->strategy != PARTITION_STRATEGY_RANGE)
		{
			parts[k].lo_ms = PG_INT64_MIN;
			parts[k].hi_ms = PG_INT64_MAX;
		}
		else
		{
			parts[k].lo_ms = AlloyBoundToMs(linitial(spec->lowerdatums), false);
			parts[k].hi_ms = AlloyBoundToMs(linitial(spec->upperdatums), true);
		}
		ReleaseSysCache(tup);
		k++;
	}
	table_close(prel, NoLock);
	if (k > 1)
		qsort(parts, k, sizeof(AlloyPartition), AlloyPartitionCmp);
	*n = k;
	return parts;
}

/* The range partition holding t, or InvalidOid (default partitions skipped). */
static Oid
AlloyFindPartition(AlloyPartition *parts, int n, int64 t)
{
	int			lo = 0;
	int			hi = n - 1;

	/* bounds of range partitions do not overlap: binary search by lo_ms */
	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (parts[mid].lo_ms <= t)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	/* hi is the last partition starting at or before t; a default may sit there */
	for (; hi >= 0; hi--)
	{
		if (parts[hi].lo_ms == PG_INT64_MIN && parts[hi].hi_ms == PG_INT64_MAX)
			continue;
		if (t < parts[hi].hi_ms)
			return parts[hi].relid;
		break;
	}
	return InvalidOid;
}

/* "YYYY-MM-DD HH:MM:SS.mmm+00" for a millisecond time. */
static void
AlloyFormatMs(StringInfo buf, int64 ms, bool for_name)
{
	int64		secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
	int			msec = (int) (ms - secs * 1000);
	time_t		tt = (time_t) secs;
	struct tm	tm;

	gmtime_r(&tt, &tm);
	if (for_name)
		appendStringInfo(buf, "%04d%02d%02d_%02d%02d%02d",
						 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
						 tm.tm_hour, tm.tm_min, tm.tm_sec);
	else
		appendStringInfo(buf, "%04d-%02d-%02d %02d:%02d:%02d.%03d+00",
						 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
						 tm.tm_hour, tm.tm_min, tm.tm_sec, msec);
}

/* Run DDL; callers such as background workers may have no snapshot yet. */
static void
AlloyRunSQL(const char *sql)
{
	int			rc;
	bool		pushed = false;

	if (!ActiveSnapshotSet())
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		pushed = true;
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute(sql, false, 0);
	if (rc < 0)
		elog(ERROR, "SPI_execute failed with %d: %s", rc, sql);
	SPI_finish();
	if (pushed)
		PopActiveSnapshot();
}

/* Create (and attach) the partition that will hold t. */
static void
AlloyCreatePartition(Oid parent, int64 t)
{
	int64		interval = (int64) alloy_partition_interval * 1000;
	int64		lo;
	int64		hi;
	AlloyPartition *parts;
	int			n;
	int			i;
	StringInfoData name;
	StringInfoData sql;
	Oid			nsp = get_rel_namespace(parent);
	const char *nspname = get_namespace_name(nsp);
	int			suffix = 0;

	/* serialise creators; taking the lock also reads fresh catalogs */
	LockRelationOid(parent, ShareUpdateExclusiveLock);
	parts = AlloyListPartitions(parent, &n);
	if (OidIsValid(AlloyFindPartition(parts, n, t)))
		return;

	if (interval <= 0)
		interval = 86400000;
	lo = t >= 0 ? (t / interval) * interval : -(((-t) + interval - 1) / interval) * interval;
	hi = lo + interval;
	for (i = 0; i < n; i++)
	{
		if (parts[i].lo_ms == PG_INT64_MIN && parts[i].hi_ms == PG_INT64_MAX)
			continue;			/* default partition */
		if (parts[i].hi_ms <= t && parts[i].hi_ms > lo)
			lo = parts[i].hi_ms;
		if (parts[i].lo_ms > t && parts[i].lo_ms < hi)
			hi = parts[i].lo_ms;
	}

	initStringInfo(&name);
	for (;;)
	{
		resetStringInfo(&name);
		appendStringInfoString(&name, "samples_");
		AlloyFormatMs(&name, lo, true);
		if (suffix > 0)
			appendStringInfo(&name, "_%d", suffix);
		if (!OidIsValid(get_relname_relid(name.data, nsp)))
			break;
		suffix++;
	}

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "CREATE TABLE %s (series_id bigint NOT NULL, \"time\" timestamptz NOT NULL, "
					 "value double precision NOT NULL) USING alloy; ",
					 quote_qualified_identifier(nspname, name.data));
	appendStringInfo(&sql, "ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM ('",
					 quote_qualified_identifier(nspname, get_rel_name(parent)),
					 quote_qualified_identifier(nspname, name.data));
	AlloyFormatMs(&sql, lo, false);
	appendStringInfoString(&sql, "') TO ('");
	AlloyFormatMs(&sql, hi, false);
	appendStringInfoString(&sql, "')");
	AlloyRunSQL(sql.data);
	CommandCounterIncrement();
}

Oid
AlloyPartitionFor(int64 t_ms)
{
	Oid			parent = AlloySamplesParentOid(false);
	AlloyPartition *parts;
	int			n;
	Oid			relid;

	parts = AlloyListPartitions(parent, &n);
	relid = AlloyFindPartition(parts, n, t_ms);
	if (!OidIsValid(relid))
	{
		AlloyCreatePartition(parent, t_ms);
		parts = AlloyListPartitions(parent, &n);
		relid = AlloyFindPartition(parts, n, t_ms);
		if (!OidIsValid(relid))
			elog(ERROR, "could not create an alloy partition for time %lld",
				 (long long) t_ms);
	}
	return relid;
}

/*
 * Make sure a range partition holds t; true when one was created. *hi_ms
 * receives the upper bound of the partition holding t.
 */
bool
AlloyEnsurePartition(int64 t_ms, int64 *hi_ms)
{
	Oid			parent = AlloySamplesParentOid(false);
	AlloyPartition *parts;
	int			n;
	int			i;
	bool		created = false;
	Oid			relid;

	parts = AlloyListPartitions(parent, &n);
	relid = AlloyFindPartition(parts, n, t_ms);
	if (!OidIsValid(relid))
	{
		relid = AlloyPartitionFor(t_ms);
		parts = AlloyListPartitions(parent, &n);
		created = true;
	}
	*hi_ms = PG_INT64_MAX;
	for (i = 0; i < n; i++)
		if (parts[i].relid == relid)
			*hi_ms = parts[i].hi_ms;
	return created;
}

typedef struct AlloyRoute
{
	Oid			relid;
	int			idx;
} AlloyRoute;

static int
AlloyRouteCmp(const void *a, const void *b)
{
	const AlloyRoute *x = a;
	const AlloyRoute *y = b;

	if (x->relid != y->relid)
		return x->relid < y->relid ? -1 : 1;
	return x->idx < y->idx ? -1 : (x->idx > y->idx ? 1 : 0);
}

/*
 * store.h: route each sample to its partition (creating partitions on
 * demand) and append each partition's share in input order, partitions in
 * OID order so that concurrent writers and sealing lock them alike.
 */
void
AlloySamplesAppend(const AlloySample *samples, int n)
{
	Oid			parent;
	AlloyPartition *parts;
	int			nparts;
	AlloyRoute *routes;
	AlloySample *buf;
	int			i;
	int			j;

	if (n <= 0)
		return;
	if (XactReadOnly)
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot write samples in a read-only transaction"),
				 RecoveryInProgress() ? errhint("The server is a standby; write to the primary.") : 0));
	parent = AlloySamplesParentOid(false);
	parts = AlloyListPartitions(parent, &nparts);
	routes = palloc(sizeof(AlloyRoute) * n);
	for (i = 0; i < n; i++)
	{
		Oid			relid = AlloyFindPartition(parts, nparts, samples[i].t_ms);

		if (!OidIsValid(relid))
		{
			relid = AlloyPartitionFor(samples[i].t_ms);
			parts = AlloyListPartitions(parent, &nparts);
		}
		routes[i].relid = relid;
		routes[i].idx = i;
	}
	qsort(routes, n, sizeof(AlloyRoute), AlloyRouteCmp);

	buf = palloc(sizeof(AlloySample) * n);
	for (i = 0; i < n; i = j)
	{
		Relation	rel;
		int			k = 0;

		for (j = i; j < n && routes[j].relid == routes[i].relid; j++)
			buf[k++] = samples[routes[j].idx];
		rel = table_open(routes[i].relid, RowExclusiveLock);
		if (!AlloyIsAlloyRelation(rel))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("partition \"%s\" of alloy.samples does not use access method alloy",
							RelationGetRelationName(rel))));
		AlloyHeadAppend(rel, buf, k, NULL);
		table_close(rel, NoLock);
	}
	pfree(buf);
	pfree(routes);
}

/*
 * Drop every range partition whose upper bound is at or before t_ms: a
 * partition goes only when all its samples are older. Returns the count.
 */
int
AlloyDropBefore(int64 t_ms)
{
	Oid			parent = AlloySamplesParentOid(false);
	AlloyPartition *parts;
	int			n;
	int			i;
	int			dropped = 0;

	parts = AlloyListPartitions(parent, &n);
	for (i = 0; i < n; i++)
	{
		char	   *relname;
		char	   *nspname;
		StringInfoData sql;

		if (parts[i].lo_ms == PG_INT64_MIN && parts[i].hi_ms == PG_INT64_MAX)
			continue;
		if (parts[i].hi_ms > t_ms)
			continue;
		relname = get_rel_name(parts[i].relid);
		nspname = get_namespace_name(get_rel_namespace(parts[i].relid));
		if (relname == NULL || nspname == NULL)
			continue;
		initStringInfo(&sql);
		appendStringInfo(&sql, "DROP TABLE %s",
						 quote_qualified_identifier(nspname, relname));
		AlloyRunSQL(sql.data);
		dropped++;
	}
	return dropped;
}

/*
 * store.h: what the metapage of partition relid says (all zero but blocks
 * for a partition without one yet). Errors if relid is not an alloy table.
 */
void
AlloyStorageStatsOf(Oid relid, AlloyStorageStats *stats)
{
	Relation	rel;
	AlloyPageSource src;
	AlloyMetaData meta;

	rel = table_open(relid, AccessShareLock);
	if (!AlloyIsAlloyRelation(rel))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" does not use access method alloy",
						RelationGetRelationName(rel))));
	stats->blocks = RelationGetNumberOfBlocks(rel);
	AlloySourceFromRel(&src, rel);
	if (!AlloyReadMeta(&src, &meta))
		memset(&meta, 0, sizeof(meta));
	stats->sealed_pages = meta.sealed_npages;
	stats->index_pages = meta.index_npages;
	stats->head_pages = meta.head_npages;
	stats->chunks = (int64) meta.sealed_nchunks;
	stats->sealed_samples = (int64) meta.sealed_nsamples;
	stats->seals = (int64) meta.seal_count;
	stats->decimal_chunks = (int64) meta.sealed_ndecimal;
	table_close(rel, AccessShareLock);
}
