/*
 * copy_format.c: how COPY of an alloy table carries stale markers.
 *
 * float8's text form has a single "NaN", so a stale marker (the NaN with
 * payload 0x7ff0000000000002 that ends a series in PromQL) would leave a
 * COPY, and therefore pg_dump, as an ordinary NaN and come back from the
 * restore as a value: a series that had ended would be drawn on as NaN for
 * another five minutes. Storage keeps milliseconds, so the microsecond
 * digits of "time" are free on the way out: COPY of an alloy table writes a
 * stale marker as NaN one microsecond after its time, and COPY into one
 * reads NaN one microsecond past a millisecond back as a stale marker.
 *
 * Only the relation form of COPY does this (COPY tbl TO/FROM ..., which is
 * what pg_dump and pg_restore send, also with --load-via-partition-root);
 * SELECT, INSERT and COPY (query) TO see samples as they are. We recognise
 * it from the active portal instead of a ProcessUtility hook because the
 * library may only be loaded in the middle of the COPY (first use of the
 * access method when alloy is not preloaded, as in a parallel restore's
 * workers), after a hook would have had its chance.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "tcop/pquery.h"
#include "utils/portal.h"

#include "store/store_int.h"

/* The stale marker's bits: Prometheus's value.StaleNaN. */
#define ALLOY_STALE_BITS	UINT64CONST(0x7ff0000000000002)

/*
 * Does the statement running now COPY rel in the given direction? For
 * COPY FROM the statement may name a partitioned ancestor of rel (tuple
 * routing), for COPY TO it names rel itself (PostgreSQL refuses COPY TO of
 * a partitioned table).
 */
bool
AlloyInCopyOf(Relation rel, bool from)
{
	PlannedStmt *pstmt;
	CopyStmt   *copy;
	Oid			named;

	if (ActivePortal == NULL || ActivePortal->commandTag != CMDTAG_COPY ||
		list_length(ActivePortal->stmts) != 1)
		return false;
	pstmt = linitial_node(PlannedStmt, ActivePortal->stmts);
	if (pstmt->utilityStmt == NULL || !IsA(pstmt->utilityStmt, CopyStmt))
		return false;
	copy = (CopyStmt *) pstmt->utilityStmt;
	if (copy->is_from != from || copy->relation == NULL)
		return false;
	named = RangeVarGetRelid(copy->relation, NoLock, true);
	if (named == RelationGetRelid(rel))
		return true;
	if (from && OidIsValid(named) && rel->rd_rel->relispartition)
		return list_member_oid(get_partition_ancestors(RelationGetRelid(rel)), named);
	return false;
}

/* The "time" a COPY TO writes for a sample at t_ms with value bits vbits. */
TimestampTz
AlloyCopyOutTime(int64 t_ms, uint64 vbits)
{
	TimestampTz ts = AlloyMsToTimestamp(t_ms);

	if (vbits == ALLOY_STALE_BITS)
		ts += ALLOY_COPY_STALE_USEC;
	return ts;
}

/*
 * The value a COPY FROM stores for a row read as (ts, value): a NaN whose
 * time lies ALLOY_COPY_STALE_USEC past a millisecond is a stale marker.
 */
double
AlloyCopyInValue(TimestampTz ts, int64 t_ms, double value)
{
	if (isnan(value) && ts - AlloyMsToTimestamp(t_ms) == ALLOY_COPY_STALE_USEC)
		return AlloyBitsToDouble(ALLOY_STALE_BITS);
	return value;
}
