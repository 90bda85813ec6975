/*
 * head.c: appending samples to a partition's head.
 *
 * The head is a chain of pages holding write batches; each batch item starts
 * with the inserting subtransaction's xid, which is all the MVCC state a
 * batch needs (see read.c for the visibility rule). Appends go to the last
 * page of the chain only, so the chain order is the write order that "last
 * write wins" relies on. The metapage is created by the first append; a new
 * head page is linked under the metapage's buffer lock, in one generic WAL
 * record together with the old last page and the first batch on it.
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "access/xact.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/timestamp.h"

#include "store/store_int.h"

/*
 * Create the metapage if the relation has none yet. Block 0 can exist and
 * still be all zeros: while its creator (holding the extension lock) has
 * not initialised it yet, or after a crash between extending the file and
 * WAL-logging the page. Both cases are settled under the extension lock.
 */
static void
AlloyEnsureMetapage(Relation rel)
{
	Buffer		buf;
	GenericXLogState *state;
	Page		page;
	bool		isnew;

	if (RelationGetNumberOfBlocks(rel) > 0)
	{
		buf = ReadBuffer(rel, ALLOY_METAPAGE_BLKNO);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		isnew = PageIsNew(BufferGetPage(buf));
		UnlockReleaseBuffer(buf);
		if (!isnew)
			return;
	}

	LockRelationForExtension(rel, ExclusiveLock);
	if (RelationGetNumberOfBlocks(rel) == 0)
		buf = ReadBufferExtended(rel, MAIN_FORKNUM, P_NEW, RBM_NORMAL, NULL);
	else
		buf = ReadBuffer(rel, ALLOY_METAPAGE_BLKNO);
	if (BufferGetBlockNumber(buf) != ALLOY_METAPAGE_BLKNO)
		elog(ERROR, "alloy metapage of \"%s\" is not block 0", RelationGetRelationName(rel));
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	if (PageIsNew(BufferGetPage(buf)))
	{
		state = GenericXLogStart(rel);
		page = GenericXLogRegisterBuffer(state, buf, GENERIC_XLOG_FULL_IMAGE);
		AlloyInitMetaPage(page);
		GenericXLogFinish(state);
	}
	UnlockReleaseBuffer(buf);
	UnlockRelationForExtension(rel, ExclusiveLock);
}

/* Bytes of encoded samples one batch item may take on this page. */
static Size
AlloyBatchRoom(Page page)
{
	Size		free = PageGetFreeSpace(page) & ~((Size) MAXIMUM_ALIGNOF - 1);

	if (free < sizeof(AlloyBatchHeader) + ALLOY_HEAD_SAMPLE_MAX)
		return 0;
	return free - sizeof(AlloyBatchHeader);
}

/*
 * Add one batch item with as many of the n samples as fit in room bytes
 * to page (already registered for WAL). *added gets that count.
 */
static OffsetNumber
AlloyAddBatch(Relation rel, Page page, TransactionId xid,
			  const AlloySample *samples, int n, Size room, char *itembuf,
			  int *added)
{
	AlloyBatchHeader *hdr = (AlloyBatchHeader *) itembuf;
	Size		used;
	int			m;
	OffsetNumber off;

	m = AlloyBatchEncode(samples, n, (uint8 *) itembuf + sizeof(AlloyBatchHeader),
						 room, &used);
	if (m <= 0)
		elog(ERROR, "no room for a head batch in alloy relation \"%s\"",
			 RelationGetRelationName(rel));
	hdr->xid = xid;
	hdr->nsamples = m;
	hdr->min_sid = hdr->max_sid = samples[0].series_id;
	hdr->min_t = hdr->max_t = samples[0].t_ms;
	for (int i = 1; i < m; i++)
	{
		hdr->min_sid = Min(hdr->min_sid, samples[i].series_id);
		hdr->max_sid = Max(hdr->max_sid, samples[i].series_id);
		hdr->min_t = Min(hdr->min_t, samples[i].t_ms);
		hdr->max_t = Max(hdr->max_t, samples[i].t_ms);
	}
	off = PageAddItem(page, (Item) itembuf, sizeof(AlloyBatchHeader) + used,
					  InvalidOffsetNumber, false, false);
	if (off == InvalidOffsetNumber)
		elog(ERROR, "could not add a batch of %d samples to alloy relation \"%s\"",
			 m, RelationGetRelationName(rel));
	*added = m;
	return off;
}

/*
 * Append n samples to rel's head in the current (sub)transaction, in the
 * given order. first_tid, when not NULL, receives the location of the
 * first batch (used as the inserted tuple's TID).
 */
void
AlloyHeadAppend(Relation rel, const AlloySample *samples, int n,
				ItemPointer first_tid)
{
	TransactionId xid;
	int			i = 0;
	char	   *itembuf;
	bool		tid_set = false;

	if (n <= 0)
		return;
	xid = GetCurrentTransactionId();
	AlloyEnsureMetapage(rel);
	itembuf = palloc(BLCKSZ);

	while (i < n)
	{
		Buffer		metabuf;
		Buffer		buf;
		BlockNumber last;
		Page		page;
		GenericXLogState *state;
		Size		room;
		int			m;
		OffsetNumber off;

		CHECK_FOR_INTERRUPTS();

		metabuf = ReadBuffer(rel, ALLOY_METAPAGE_BLKNO);
		LockBuffer(metabuf, BUFFER_LOCK_SHARE);
		AlloyCheckMeta(rel, BufferGetPage(metabuf));
		last = AlloyPageGetMeta(BufferGetPage(metabuf))->head_last;
		LockBuffer(metabuf, BUFFER_LOCK_UNLOCK);

		if (BlockNumberIsValid(last))
		{
			buf = ReadBuffer(rel, last);
			LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
			page = BufferGetPage(buf);
			/* only the chain's last page takes batches, to keep write order */
			if (AlloyPageGetOpaque(page)->type == ALLOY_PAGE_HEAD &&
				!BlockNumberIsValid(AlloyPageGetOpaque(page)->next) &&
				(room = AlloyBatchRoom(page)) > 0)
			{
				state = GenericXLogStart(rel);
				page = GenericXLogRegisterBuffer(state, buf, 0);
				off = AlloyAddBatch(rel, page, xid, samples + i, n - i, room,
									itembuf, &m);
				GenericXLogFinish(state);
				if (first_tid && !tid_set)
				{
					ItemPointerSet(first_tid, last, off);
					tid_set = true;
				}
				UnlockReleaseBuffer(buf);
				ReleaseBuffer(metabuf);
				i += m;
				continue;
			}
			UnlockReleaseBuffer(buf);
		}

		/* A new last page: recheck under the metapage's exclusive lock. */
		LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
		if (AlloyPageGetMeta(BufferGetPage(metabuf))->head_last != last)
		{
			UnlockReleaseBuffer(metabuf);
			continue;
		}
		else
		{
			Buffer		newbuf;
			Buffer		oldbuf = InvalidBuffer;
			BlockNumber newblk;
			Page		metapage;
			Page		newpage;
			AlloyMetaData *meta;

			LockRelationForExtension(rel, ExclusiveLock);
			newbuf = ReadBufferExtended(rel, MAIN_FORKNUM, P_NEW, RBM_NORMAL, NULL);
			LockBuffer(newbuf, BUFFER_LOCK_EXCLUSIVE);
			UnlockRelationForExtension(rel, ExclusiveLock);
			newblk = BufferGetBlockNumber(newbuf);
			if (BlockNumberIsValid(last))
			{
				oldbuf = ReadBuffer(rel, last);
				LockBuffer(oldbuf, BUFFER_LOCK_EXCLUSIVE);
			}

			state = GenericXLogStart(rel);
			metapage = GenericXLogRegisterBuffer(state, metabuf, 0);
			newpage = GenericXLogRegisterBuffer(state, newbuf, GENERIC_XLOG_FULL_IMAGE);
			AlloyInitPage(newpage, ALLOY_PAGE_HEAD);
			if (BufferIsValid(oldbuf))
			{
				Page		oldpage = GenericXLogRegisterBuffer(state, oldbuf, 0);

				AlloyPageGetOpaque(oldpage)->next = newblk;
			}
			meta = AlloyPageGetMeta(metapage);
			if (!BlockNumberIsValid(meta->head_first))
				meta->head_first = newblk;
			meta->head_last = newblk;
			meta->head_npages++;

			off = AlloyAddBatch(rel, newpage, xid, samples + i, n - i,
								AlloyBatchRoom(newpage), itembuf, &m);
			GenericXLogFinish(state);

			if (first_tid && !tid_set)
			{
				ItemPointerSet(first_tid, newblk, off);
				tid_set = true;
			}
			if (BufferIsValid(oldbuf))
				UnlockReleaseBuffer(oldbuf);
			UnlockReleaseBuffer(newbuf);
			UnlockReleaseBuffer(metabuf);
			i += m;
		}
	}
	pfree(itembuf);
}

/*
 * One tuple of a slot as a sample; NULLs are refused. copy_in: the row comes
 * from COPY of this table, whose text form marks stale markers
 * (copy_format.c).
 */
static void
AlloySlotToSample(TupleTableSlot *slot, AlloySample *s, bool copy_in)
{
	TimestampTz ts;

	slot_getallattrs(slot);
	if (slot->tts_isnull[0] || slot->tts_isnull[1] || slot->tts_isnull[2])
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("series_id, \"time\" and value of a sample must not be null")));
	ts = DatumGetTimestampTz(slot->tts_values[1]);
	s->series_id = DatumGetInt64(slot->tts_values[0]);
	s->t_ms = AlloyTimestampToMs(ts);
	s->value = DatumGetFloat8(slot->tts_values[2]);
	if (copy_in)
		s->value = AlloyCopyInValue(ts, s->t_ms, s->value);
}

void
alloy_tuple_insert(Relation rel, TupleTableSlot *slot, CommandId cid,
				   int options, struct BulkInsertStateData *bistate)
{
	AlloySample s;

	AlloySlotToSample(slot, &s, AlloyInCopyOf(rel, true));
	slot->tts_tableOid = RelationGetRelid(rel);
	AlloyHeadAppend(rel, &s, 1, &slot->tts_tid);
}

void
alloy_multi_insert(Relation rel, TupleTableSlot **slots, int nslots,
				   CommandId cid, int options, struct BulkInsertStateData *bistate)
{
	AlloySample *s = palloc(sizeof(AlloySample) * Max(nslots, 1));
	ItemPointerData tid;
	bool		copy_in = AlloyInCopyOf(rel, true);
	int			i;

	for (i = 0; i < nslots; i++)
		AlloySlotToSample(slots[i], &s[i], copy_in);
	AlloyHeadAppend(rel, s, nslots, &tid);
	for (i = 0; i < nslots; i++)
	{
		slots[i]->tts_tableOid = RelationGetRelid(rel);
		slots[i]->tts_tid = tid;
	}
	pfree(s);
}
