/*
 * tableam.c: the routine table of the alloy table access method and
 * the callbacks it does not support.
 *
 * The phases live in their own files: head.c (insert), scan.c (scans,
 * ANALYZE), seal.c (compression), vacuum.c (storage, truncate, vacuum).
 * Row-level UPDATE/DELETE, indexes, TABLESAMPLE and speculative insertion
 * have no meaning for an append-only sample store; they fail with
 * ERRCODE_FEATURE_NOT_SUPPORTED instead of doing something surprising.
 */
#include "postgres.h"

#include "access/tableam.h"
#include "catalog/index.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "storage/bufmgr.h"

#include "store/store_int.h"

PG_FUNCTION_INFO_V1(alloy_tableam_handler);

static void
AlloyUnsupported(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("%s is not supported on tables using access method alloy", what),
			 errhint("Samples are removed with alloy.drop_before() or TRUNCATE.")));
}

static struct IndexFetchTableData *
alloy_index_fetch_begin(Relation rel)
{
	AlloyUnsupported("an index");
	return NULL;
}

static void
alloy_index_fetch_reset(struct IndexFetchTableData *data)
{
}

static void
alloy_index_fetch_end(struct IndexFetchTableData *data)
{
}

static bool
alloy_index_fetch_tuple(struct IndexFetchTableData *scan, ItemPointer tid,
						Snapshot snapshot, TupleTableSlot *slot,
						bool *call_again, bool *all_dead)
{
	AlloyUnsupported("an index");
	return false;
}

static bool
alloy_tuple_fetch_row_version(Relation rel, ItemPointer tid, Snapshot snapshot,
							  TupleTableSlot *slot)
{
	AlloyUnsupported("UPDATE (or fetching a row by its ctid)");
	return false;
}

static bool
alloy_tuple_tid_valid(TableScanDesc scan, ItemPointer tid)
{
	return false;
}

static void
alloy_tuple_get_latest_tid(TableScanDesc scan, ItemPointer tid)
{
}

static bool
alloy_tuple_satisfies_snapshot(Relation rel, TupleTableSlot *slot, Snapshot snapshot)
{
	AlloyUnsupported("checking a row's visibility");
	return false;
}

static TransactionId
alloy_index_delete_tuples(Relation rel, TM_IndexDeleteOp *delstate)
{
	AlloyUnsupported("an index");
	return InvalidTransactionId;
}

static void
alloy_tuple_insert_speculative(Relation rel, TupleTableSlot *slot, CommandId cid,
							   int options, struct BulkInsertStateData *bistate,
							   uint32 specToken)
{
	AlloyUnsupported("INSERT ... ON CONFLICT");
}

static void
alloy_tuple_complete_speculative(Relation rel, TupleTableSlot *slot,
								 uint32 specToken, bool succeeded)
{
	AlloyUnsupported("INSERT ... ON CONFLICT");
}

static TM_Result
alloy_tuple_delete(Relation rel, ItemPointer tid, CommandId cid, Snapshot snapshot,
				   Snapshot crosscheck, bool wait, TM_FailureData *tmfd,
				   bool changingPart)
{
	AlloyUnsupported("DELETE");
	return TM_Invisible;
}

static TM_Result
alloy_tuple_update(Relation rel, ItemPointer otid, TupleTableSlot *slot,
				   CommandId cid, Snapshot snapshot, Snapshot crosscheck,
				   bool wait, TM_FailureData *tmfd, LockTupleMode *lockmode,
				   bool *update_indexes)
{
	AlloyUnsupported("UPDATE");
	return TM_Invisible;
}

static TM_Result
alloy_tuple_lock(Relation rel, ItemPointer tid, Snapshot snapshot,
				 TupleTableSlot *slot, CommandId cid, LockTupleMode mode,
				 LockWaitPolicy wait_policy, uint8 flags, TM_FailureData *tmfd)
{
	AlloyUnsupported("SELECT FOR UPDATE/SHARE");
	return TM_Invisible;
}

/*
 * VACUUM FULL and CLUSTER: our pages never refer to the relfilenode, so a
 * block-by-block copy is a valid rewrite (alloy.seal() is what compacts).
 */
static void
alloy_relation_copy_for_cluster(Relation OldTable, Relation NewTable,
								Relation OldIndex, bool use_sort,
								TransactionId OldestXmin,
								TransactionId *xid_cutoff,
								MultiXactId *multi_cutoff,
								double *num_tuples,
								double *tups_vacuumed,
								double *tups_recently_dead)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(OldTable);
	BlockNumber blk;
	char	   *page = palloc(BLCKSZ);
	AlloyPageSource src;
	AlloyMetaData meta;

	if (OldIndex != NULL)
		AlloyUnsupported("CLUSTER");
	for (blk = 0; blk < nblocks; blk++)
	{
		Buffer		buf = ReadBuffer(OldTable, blk);

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		memcpy(page, BufferGetPage(buf), BLCKSZ);
		UnlockReleaseBuffer(buf);
		if (AlloyWriteNewPage(NewTable, page) != blk)
			elog(ERROR, "alloy copy wrote a block out of order");
	}
	*num_tuples = 0;
	*tups_vacuumed = 0;
	*tups_recently_dead = 0;
	AlloySourceFromRel(&src, OldTable);
	if (nblocks > 0 && AlloyReadMeta(&src, &meta))
		*num_tuples = (double) meta.sealed_nsamples;
	pfree(page);
}

static double
alloy_index_build_range_scan(Relation table_rel, Relation index_rel,
							 struct IndexInfo *index_info, bool allow_sync,
							 bool anyvisible, bool progress,
							 BlockNumber start_blockno, BlockNumber numblocks,
							 IndexBuildCallback callback, void *callback_state,
							 TableScanDesc scan)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("indexes are not supported on tables using access method alloy"),
			 errdetail("Sealed chunks carry their own per-series index.")));
	return 0;
}

static void
alloy_index_validate_scan(Relation table_rel, Relation index_rel,
						  struct IndexInfo *index_info, Snapshot snapshot,
						  struct ValidateIndexState *state)
{
	AlloyUnsupported("an index");
}

static bool
alloy_relation_needs_toast_table(Relation rel)
{
	return false;
}

static bool
alloy_scan_sample_next_block(TableScanDesc scan, struct SampleScanState *scanstate)
{
	AlloyUnsupported("TABLESAMPLE");
	return false;
}

static bool
alloy_scan_sample_next_tuple(TableScanDesc scan, struct SampleScanState *scanstate,
							 TupleTableSlot *slot)
{
	AlloyUnsupported("TABLESAMPLE");
	return false;
}

static const TableAmRoutine alloy_methods = {
	.type = T_TableAmRoutine,

	.slot_callbacks = AlloySlotCallbacks,

	.scan_begin = alloy_scan_begin,
	.scan_end = alloy_scan_end,
	.scan_rescan = alloy_scan_rescan,
	.scan_getnextslot = alloy_scan_getnextslot,

	.parallelscan_estimate = alloy_parallelscan_estimate,
	.parallelscan_initialize = alloy_parallelscan_initialize,
	.parallelscan_reinitialize = alloy_parallelscan_reinitialize,

	.index_fetch_begin = alloy_index_fetch_begin,
	.index_fetch_reset = alloy_index_fetch_reset,
	.index_fetch_end = alloy_index_fetch_end,
	.index_fetch_tuple = alloy_index_fetch_tuple,

	.tuple_fetch_row_version = alloy_tuple_fetch_row_version,
	.tuple_tid_valid = alloy_tuple_tid_valid,
	.tuple_get_latest_tid = alloy_tuple_get_latest_tid,
	.tuple_satisfies_snapshot = alloy_tuple_satisfies_snapshot,
	.index_delete_tuples = alloy_index_delete_tuples,

	.tuple_insert = alloy_tuple_insert,
	.tuple_insert_speculative = alloy_tuple_insert_speculative,
	.tuple_complete_speculative = alloy_tuple_complete_speculative,
	.multi_insert = alloy_multi_insert,
	.tuple_delete = alloy_tuple_delete,
	.tuple_update = alloy_tuple_update,
	.tuple_lock = alloy_tuple_lock,

	.relation_set_new_filenode = alloy_relation_set_new_filenode,
	.relation_nontransactional_truncate = alloy_relation_nontransactional_truncate,
	.relation_copy_data = alloy_relation_copy_data,
	.relation_copy_for_cluster = alloy_relation_copy_for_cluster,
	.relation_vacuum = alloy_relation_vacuum,
	.scan_analyze_next_block = alloy_scan_analyze_next_block,
	.scan_analyze_next_tuple = alloy_scan_analyze_next_tuple,
	.index_build_range_scan = alloy_index_build_range_scan,
	.index_validate_scan = alloy_index_validate_scan,

	.relation_size = table_block_relation_size,
	.relation_needs_toast_table = alloy_relation_needs_toast_table,

	.relation_estimate_size = alloy_relation_estimate_size,

	.scan_sample_next_block = alloy_scan_sample_next_block,
	.scan_sample_next_tuple = alloy_scan_sample_next_tuple,
};

Datum
alloy_tableam_handler(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(&alloy_methods);
}
