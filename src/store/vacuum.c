/*
 * vacuum.c: storage-level callbacks of the alloy table access method:
 * creating and truncating storage, copying it (SET TABLESPACE, VACUUM FULL),
 * VACUUM and size estimates.
 *
 * New storage is left empty (no metapage): the first insert or seal writes
 * block 0, so empty partitions and TRUNCATE cost no page and no WAL beyond
 * the file creation. An unlogged relation gets an empty init fork, which
 * crash recovery copies over the main fork: empty is a valid state.
 */
#include "postgres.h"

#include "access/multixact.h"
#include "access/xloginsert.h"
#include "catalog/storage.h"
#include "catalog/storage_xlog.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "storage/procarray.h"
#include "storage/smgr.h"

#include "store/store_int.h"

void
alloy_relation_set_new_filenode(Relation rel, const RelFileNode *newrnode,
								char persistence, TransactionId *freezeXid,
								MultiXactId *minmulti)
{
	SMgrRelation srel;

	AlloyCheckTupleDesc(rel);

	/*
	 * Sealing reads the old file by its RelFileNode through shared buffers,
	 * which does not reach a temporary table's local buffers and files.
	 */
	if (persistence == RELPERSISTENCE_TEMP)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("temporary tables cannot use access method alloy")));

	/*
	 * Head batches copied by a seal may carry xids down to the removal
	 * horizon, so claim nothing newer than that.
	 */
	*freezeXid = GetOldestNonRemovableTransactionId(rel);
	*minmulti = GetOldestMultiXactId();

	srel = RelationCreateStorage(*newrnode, persistence, true);
	if (persistence == RELPERSISTENCE_UNLOGGED)
	{
		smgrcreate(srel, INIT_FORKNUM, false);
		log_smgrcreate(newrnode, INIT_FORKNUM);
		smgrimmedsync(srel, INIT_FORKNUM);
	}
	smgrclose(srel);
}

void
alloy_relation_nontransactional_truncate(Relation rel)
{
	/* the same relfilenode gets a new head: this backend's index is stale */
	AlloyHeadIndexForget(&rel->rd_node);
	RelationTruncate(rel, 0);
}

void
alloy_relation_copy_data(Relation rel, const RelFileNode *newrnode)
{
	SMgrRelation dstrel;

	dstrel = smgropen(*newrnode, rel->rd_backend);
	FlushRelationBuffers(rel);
	RelationCreateStorage(*newrnode, rel->rd_rel->relpersistence, true);
	RelationCopyStorage(RelationGetSmgr(rel), dstrel, MAIN_FORKNUM,
						rel->rd_rel->relpersistence);
	if (smgrexists(RelationGetSmgr(rel), INIT_FORKNUM))
	{
		smgrcreate(dstrel, INIT_FORKNUM, false);
		log_smgrcreate(newrnode, INIT_FORKNUM);
		RelationCopyStorage(RelationGetSmgr(rel), dstrel, INIT_FORKNUM,
							RELPERSISTENCE_PERMANENT);
	}
	RelationDropStorage(rel);
	smgrclose(dstrel);
}

/*
 * Oldest xid a head batch still carries (InvalidTransactionId: none), so
 * VACUUM can advance relfrozenxid to it.
 */
static TransactionId
AlloyOldestHeadXid(Relation rel)
{
	AlloyPageSource src;
	AlloyMetaData meta;
	AlloyHeadWalk walk;
	const AlloyBatchHeader *hdr;
	Size		len;
	uint64		seq_base;
	TransactionId oldest = InvalidTransactionId;

	AlloySourceFromRel(&src, rel);
	if (!AlloyReadMeta(&src, &meta))
		return InvalidTransactionId;
	AlloyHeadWalkBegin(&walk, rel, meta.head_first);
	while (AlloyHeadWalkNext(&walk, &hdr, &len, &seq_base))
	{
		if (TransactionIdIsNormal(hdr->xid) &&
			(!TransactionIdIsValid(oldest) || TransactionIdPrecedes(hdr->xid, oldest)))
			oldest = hdr->xid;
	}
	return oldest;
}

/*
 * VACUUM seals, when it can take AccessExclusiveLock without waiting (as
 * heap's truncation does): that drops aborted batches and, because the
 * rewrite sets relfrozenxid to the removal horizon, freezes the partition.
 * Otherwise it only advances relfrozenxid to the oldest xid left in the
 * head, so anti-wraparound autovacuum is satisfied either way.
 */
void
alloy_relation_vacuum(Relation rel, struct VacuumParams *params,
					  BufferAccessStrategy bstrategy)
{
	bool		rewritten = false;
	TransactionId frozenxid;
	bool		frozenxid_updated;
	bool		minmulti_updated;
	AlloyPageSource src;
	AlloyMetaData meta;
	double		ntuples = 0;

	if (ConditionalLockRelation(rel, AccessExclusiveLock))
		(void) AlloySealRelation(rel, &rewritten);
	if (rewritten)
		return;

	frozenxid = AlloyOldestHeadXid(rel);
	if (!TransactionIdIsValid(frozenxid))
		frozenxid = GetOldestNonRemovableTransactionId(rel);
	else if (TransactionIdPrecedes(GetOldestNonRemovableTransactionId(rel), frozenxid))
		frozenxid = GetOldestNonRemovableTransactionId(rel);
	AlloySourceFromRel(&src, rel);
	if (RelationGetNumberOfBlocks(rel) > 0 && AlloyReadMeta(&src, &meta))
		ntuples = (double) meta.sealed_nsamples + (double) meta.head_npages * ALLOY_HEAD_SAMPLES_PER_PAGE;
	vac_update_relstats(rel, RelationGetNumberOfBlocks(rel), ntuples, 0, false,
						frozenxid, GetOldestMultiXactId(),
						&frozenxid_updated, &minmulti_updated, false);
}

void
alloy_relation_estimate_size(Relation rel, int32 *attr_widths,
							 BlockNumber *pages, double *tuples,
							 double *allvisfrac)
{
	AlloyPageSource src;
	AlloyMetaData meta;
	BlockNumber nblocks = RelationGetNumberOfBlocks(rel);

	*pages = nblocks;
	*allvisfrac = 0;
	*tuples = 0;
	if (nblocks == 0)
		return;
	AlloySourceFromRel(&src, rel);
	if (!AlloyReadMeta(&src, &meta))
		return;
	/* head pages hold about ALLOY_HEAD_SAMPLES_PER_PAGE samples each */
	*tuples = (double) meta.sealed_nsamples + (double) meta.head_npages * ALLOY_HEAD_SAMPLES_PER_PAGE;
}
