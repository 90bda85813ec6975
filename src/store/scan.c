/*
 * scan.c: sequential scans of an alloy partition for plain SQL, parallel
 * scan support and ANALYZE sampling.
 *
 * A scan returns the same samples AlloySamplesReadSeries does: sealed and
 * visible head samples merged, in (series_id, time) order, duplicates
 * resolved. Time pruning comes from partitioning, so a scan reads its whole
 * partition. A parallel scan is not split: the first participant to start
 * takes the partition and the others return nothing, which keeps results
 * exact if the planner picks a parallel plan.
 */
#include "postgres.h"

#include "access/relscan.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/bufmgr.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "store/store_int.h"

TableScanDesc
alloy_scan_begin(Relation rel, Snapshot snapshot, int nkeys,
				 struct ScanKeyData *key, ParallelTableScanDesc pscan,
				 uint32 flags)
{
	AlloyScanDesc scan;

	AlloyCheckTupleDesc(rel);
	scan = palloc0(sizeof(AlloyScanDescData));
	scan->base.rs_rd = rel;
	scan->base.rs_snapshot = snapshot;
	scan->base.rs_nkeys = nkeys;
	scan->base.rs_key = key;
	scan->base.rs_flags = flags;
	scan->base.rs_parallel = pscan;
	scan->cxt = CurrentMemoryContext;
	scan->copy_out = AlloyInCopyOf(rel, false);
	return (TableScanDesc) scan;
}

static void
AlloyScanReset(AlloyScanDesc scan)
{
	if (scan->merge.cur)
	{
		AlloySealedCursorEnd(scan->merge.cur);
		pfree(scan->merge.cur);
		scan->merge.cur = NULL;
	}
	if (scan->part)
	{
		AlloyPartClose(scan->part);
		scan->part = NULL;
	}
	scan->started = false;
	scan->skip = false;
}

void
alloy_scan_end(TableScanDesc sscan)
{
	AlloyScanDesc scan = (AlloyScanDesc) sscan;

	AlloyScanReset(scan);
	if (scan->an_samples)
		pfree(scan->an_samples);
	if (scan->base.rs_flags & SO_TEMP_SNAPSHOT)
		UnregisterSnapshot(scan->base.rs_snapshot);
	pfree(scan);
}

void
alloy_scan_rescan(TableScanDesc sscan, struct ScanKeyData *key,
				  bool set_params, bool allow_strat,
				  bool allow_sync, bool allow_pagemode)
{
	AlloyScanReset((AlloyScanDesc) sscan);
}

bool
alloy_scan_getnextslot(TableScanDesc sscan, ScanDirection direction,
					   TupleTableSlot *slot)
{
	AlloyScanDesc scan = (AlloyScanDesc) sscan;
	int64		sid;
	int64		t;
	double		v;

	ExecClearTuple(slot);
	if (scan->skip)
		return false;
	if (!scan->started && scan->base.rs_parallel != NULL)
	{
		/*
		 * Claim the partition on the first fetch, not at scan start: under
		 * Parallel Append a participant that began the scan may never run
		 * it, while one that fetches is sure to finish it.
		 */
		AlloyParallelScanDescData *p = (AlloyParallelScanDescData *) scan->base.rs_parallel;

		if (pg_atomic_exchange_u32(&p->claimed, 1) != 0)
		{
			scan->skip = true;
			return false;
		}
	}
	if (!scan->started)
	{
		AlloyPageSource src;
		MemoryContext old = MemoryContextSwitchTo(scan->cxt);

		scan->part = AlloyPartOpen(scan->base.rs_rd, scan->base.rs_snapshot,
								   PG_INT64_MIN, PG_INT64_MAX);
		scan->merge.cur = palloc(sizeof(AlloySealedCursor));
		AlloySourceFromRel(&src, scan->base.rs_rd);
		AlloySealedCursorInit(scan->merge.cur, &src,
							  scan->part->empty ? NULL : &scan->part->meta,
							  scan->part->meta.sealed_start,
							  PG_INT64_MIN, PG_INT64_MAX);
		AlloyMergeInit(&scan->merge, scan->merge.cur, scan->part->head, 0,
					   scan->part->nhead);
		scan->started = true;
		MemoryContextSwitchTo(old);
	}
	CHECK_FOR_INTERRUPTS();
	if (!AlloyMergeNext(&scan->merge, &sid, &t, &v))
		return false;
	slot->tts_values[0] = Int64GetDatum(sid);
	if (unlikely(scan->copy_out))
		slot->tts_values[1] = TimestampTzGetDatum(AlloyCopyOutTime(t, AlloyDoubleToBits(v)));
	else
		slot->tts_values[1] = TimestampTzGetDatum(AlloyMsToTimestamp(t));
	slot->tts_values[2] = Float8GetDatum(v);
	slot->tts_isnull[0] = slot->tts_isnull[1] = slot->tts_isnull[2] = false;
	ExecStoreVirtualTuple(slot);
	slot->tts_tableOid = RelationGetRelid(scan->base.rs_rd);
	ItemPointerSet(&slot->tts_tid, 0, 1);
	return true;
}

Size
alloy_parallelscan_estimate(Relation rel)
{
	return sizeof(AlloyParallelScanDescData);
}

Size
alloy_parallelscan_initialize(Relation rel, ParallelTableScanDesc pscan)
{
	AlloyParallelScanDescData *p = (AlloyParallelScanDescData *) pscan;

	p->base.phs_relid = RelationGetRelid(rel);
	p->base.phs_syncscan = false;
	pg_atomic_init_u32(&p->claimed, 0);
	return sizeof(AlloyParallelScanDescData);
}

void
alloy_parallelscan_reinitialize(Relation rel, ParallelTableScanDesc pscan)
{
	AlloyParallelScanDescData *p = (AlloyParallelScanDescData *) pscan;

	pg_atomic_write_u32(&p->claimed, 0);
}

static void
AlloyAnalyzeAdd(AlloyScanDesc scan, int64 sid, int64 t, uint64 vbits)
{
	AlloyHeadSample *s;

	if (scan->an_n >= scan->an_cap)
	{
		scan->an_cap = Max(scan->an_cap * 2, 512);
		if (scan->an_samples)
			scan->an_samples = repalloc(scan->an_samples,
										scan->an_cap * sizeof(AlloyHeadSample));
		else
			scan->an_samples = palloc(scan->an_cap * sizeof(AlloyHeadSample));
	}
	s = &scan->an_samples[scan->an_n++];
	s->series_id = sid;
	s->t = t;
	s->vbits = vbits;
}

/*
 * ANALYZE samples blocks: decode the chunks of a chunk page, or take the
 * committed batches of a head page. Samples a later write overwrote may be
 * counted, which only matters for statistics.
 */
bool
alloy_scan_analyze_next_block(TableScanDesc sscan, BlockNumber blockno,
							  BufferAccessStrategy bstrategy)
{
	AlloyScanDesc scan = (AlloyScanDesc) sscan;
	Buffer		buf;
	Page		page;
	OffsetNumber off;
	OffsetNumber maxoff;
	int64		ts[ALLOY_CHUNK_MAX_SAMPLES];
	double		vs[ALLOY_CHUNK_MAX_SAMPLES];

	scan->an_n = 0;
	scan->an_pos = 0;
	buf = ReadBufferExtended(scan->base.rs_rd, MAIN_FORKNUM, blockno,
							 RBM_NORMAL, bstrategy);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	if (PageIsNew(page))
	{
		UnlockReleaseBuffer(buf);
		return true;
	}
	maxoff = PageGetMaxOffsetNumber(page);
	switch (AlloyPageGetOpaque(page)->type)
	{
		case ALLOY_PAGE_CHUNK:
			for (off = FirstOffsetNumber; off <= maxoff; off++)
			{
				ItemId		itemid = PageGetItemId(page, off);
				AlloyChunkHeader *hdr = (AlloyChunkHeader *) PageGetItem(page, itemid);
				int			n;
				int			i;

				if (ItemIdGetLength(itemid) < ALLOY_CHUNK_ITEM_HDR)
					continue;
				n = AlloyChunkDecode(*((const uint8 *) hdr + sizeof(AlloyChunkHeader)),
									 (const uint8 *) hdr + ALLOY_CHUNK_ITEM_HDR,
									 ItemIdGetLength(itemid) - ALLOY_CHUNK_ITEM_HDR,
									 ts, vs, lengthof(ts));
				for (i = 0; i < n; i++)
					AlloyAnalyzeAdd(scan, hdr->series_id, ts[i], AlloyDoubleToBits(vs[i]));
			}
			break;
		case ALLOY_PAGE_HEAD:
			for (off = FirstOffsetNumber; off <= maxoff; off++)
			{
				ItemId		itemid = PageGetItemId(page, off);
				AlloyBatchHeader *hdr = (AlloyBatchHeader *) PageGetItem(page, itemid);
				AlloyBatchIter it;
				AlloyHeadSample hs;

				if (!AlloyXidVisible(hdr->xid, NULL))
					continue;
				AlloyBatchIterInit(&it, hdr, ItemIdGetLength(itemid));
				while (AlloyBatchNext(&it, &hs))
					AlloyAnalyzeAdd(scan, hs.series_id, hs.t, hs.vbits);
			}
			break;
		default:
			break;
	}
	UnlockReleaseBuffer(buf);
	return true;
}

bool
alloy_scan_analyze_next_tuple(TableScanDesc sscan, TransactionId OldestXmin,
							  double *liverows, double *deadrows,
							  TupleTableSlot *slot)
{
	AlloyScanDesc scan = (AlloyScanDesc) sscan;
	AlloyHeadSample *s;

	if (scan->an_pos >= scan->an_n)
		return false;
	s = &scan->an_samples[scan->an_pos++];
	ExecClearTuple(slot);
	slot->tts_values[0] = Int64GetDatum(s->series_id);
	slot->tts_values[1] = TimestampTzGetDatum(AlloyMsToTimestamp(s->t));
	slot->tts_values[2] = Float8GetDatum(AlloyBitsToDouble(s->vbits));
	slot->tts_isnull[0] = slot->tts_isnull[1] = slot->tts_isnull[2] = false;
	ExecStoreVirtualTuple(slot);
	*liverows += 1;
	return true;
}
