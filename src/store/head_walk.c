/*
 * head_walk.c: the one walk over a partition's head chain, in append
 * order, page by page and batch by batch.
 *
 * Readers loading the head (read.c), sealing (seal.c), VACUUM's oldest-xid
 * pass (vacuum.c) and the head index catching up (head_index.c) all follow
 * the chain the same way: read a page, share-lock it, check that it is a
 * head page, hand out its batch items with the write-order number of each
 * batch's first sample, follow its next link. AlloyHeadWalkNext (inline in
 * store_int.h) steps through the items of the page held; the page changes
 * here.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/bufmgr.h"

#include "store/store_int.h"

/* Start a walk at the head's first page (meta.head_first; may be invalid). */
void
AlloyHeadWalkBegin(AlloyHeadWalk *w, Relation rel, BlockNumber first)
{
	w->rel = rel;
	w->next = first;
	w->blk = InvalidBlockNumber;
	w->buf = InvalidBuffer;
	w->page = NULL;
	w->off = FirstOffsetNumber;
	w->maxoff = InvalidOffsetNumber;
	w->start = FirstOffsetNumber;
	w->seq = 0;
	w->resumed = false;
	w->lost = false;
}

/*
 * Start a walk at item off of page blk, where an earlier walk stopped; seq
 * is the write-order number of that item's first sample. The page may have
 * gone meanwhile (a seal or a truncate gave the relation a new file): then
 * the first AlloyHeadWalkNextPage returns false and sets w->lost instead
 * of failing.
 */
void
AlloyHeadWalkResume(AlloyHeadWalk *w, Relation rel, BlockNumber blk,
					OffsetNumber off, uint64 seq)
{
	AlloyHeadWalkBegin(w, rel, blk);
	w->start = off;
	w->seq = seq;
	w->resumed = true;
}

/*
 * Release the page held (if any) and share-lock the next page of the
 * chain. False at the end of the chain (or when a resumed walk's first
 * page is gone).
 */
bool
AlloyHeadWalkNextPage(AlloyHeadWalk *w)
{
	bool		resumed = w->resumed;

	if (BufferIsValid(w->buf))
		UnlockReleaseBuffer(w->buf);
	w->buf = InvalidBuffer;
	w->page = NULL;
	w->resumed = false;
	if (!BlockNumberIsValid(w->next))
		return false;
	CHECK_FOR_INTERRUPTS();
	w->blk = w->next;
	w->buf = ReadBuffer(w->rel, w->blk);
	LockBuffer(w->buf, BUFFER_LOCK_SHARE);
	w->page = BufferGetPage(w->buf);
	if (PageIsNew(w->page) || AlloyPageGetOpaque(w->page)->type != ALLOY_PAGE_HEAD)
	{
		UnlockReleaseBuffer(w->buf);
		w->buf = InvalidBuffer;
		w->page = NULL;
		w->next = InvalidBlockNumber;
		if (resumed)
		{
			w->lost = true;
			return false;
		}
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("alloy page %u is not a head page", w->blk)));
	}
	w->maxoff = PageGetMaxOffsetNumber(w->page);
	w->off = w->start;
	w->start = FirstOffsetNumber;
	w->next = AlloyPageGetOpaque(w->page)->next;
	return true;
}

/* Release what the walk still holds (after it stopped early). */
void
AlloyHeadWalkEnd(AlloyHeadWalk *w)
{
	if (BufferIsValid(w->buf))
		UnlockReleaseBuffer(w->buf);
	w->buf = InvalidBuffer;
	w->page = NULL;
	w->next = InvalidBlockNumber;
}

/*
 * The next batch on the page held: its header, item length and the
 * write-order number of its first sample. False when the page has no more
 * (or none is held).  Out of line like the page step, so store_int.h calls
 * back into no file that includes it; one call per batch is small next to
 * decoding the batch's samples.
 */
bool
AlloyHeadWalkNextInPage(AlloyHeadWalk *w, const AlloyBatchHeader **hdr,
						Size *len, uint64 *seq_base)
{
	ItemId		itemid;

	if (w->page == NULL || w->off > w->maxoff)
		return false;
	itemid = PageGetItemId(w->page, w->off);
	w->off++;
	*len = ItemIdGetLength(itemid);
	if (*len < sizeof(AlloyBatchHeader))
		AlloyBatchTooShort(*len);
	*hdr = (const AlloyBatchHeader *) PageGetItem(w->page, itemid);
	*seq_base = w->seq;
	w->seq += (*hdr)->nsamples;
	return true;
}

/* The next batch of the chain, taking pages as needed; false at its end. */
bool
AlloyHeadWalkNext(AlloyHeadWalk *w, const AlloyBatchHeader **hdr,
				  Size *len, uint64 *seq_base)
{
	while (!AlloyHeadWalkNextInPage(w, hdr, len, seq_base))
	{
		if (!AlloyHeadWalkNextPage(w))
			return false;
	}
	return true;
}
