/*
 * read.c: reading one partition back: batch visibility, the sealed-region
 * cursor, the head loader and the sealed+head merge. The public reader
 * API over all partitions (store.h) is in reader.c.
 *
 * A partition is read as two sorted streams: the sealed region (chunks in
 * (series, min time) order, already free of duplicates) and the head
 * samples visible to the snapshot, loaded into memory and sorted by
 * (series, time, write order). Merging them gives each (series, time) once,
 * the latest write winning. The head is small by design (sealing keeps
 * moving it into chunks), so a scan loads it whole; a reader of known series
 * reads only the head pages that the backend's head index (head_index.c)
 * lists for them.
 */
#include "postgres.h"

#include "access/table.h"
#include "access/transam.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "storage/procarray.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "store/store_int.h"


/*
 * Is a batch written by xid visible to snapshot? The same rule heap applies
 * to a tuple's xmin, without hint bits: own (sub)transaction yes, running
 * at snapshot time no, otherwise committed. Aborted subtransactions of our
 * own transaction are no longer "current", so their batches vanish too.
 */
bool
AlloyXidVisible(TransactionId xid, Snapshot snapshot)
{
	if (TransactionIdIsCurrentTransactionId(xid))
		return true;
	if (snapshot != NULL && snapshot->snapshot_type == SNAPSHOT_MVCC)
	{
		if (XidInMVCCSnapshot(xid, snapshot))
			return false;
		return TransactionIdDidCommit(xid);
	}
	if (TransactionIdIsInProgress(xid))
		return false;
	return TransactionIdDidCommit(xid);
}

void
AlloySealedCursorInit(AlloySealedCursor *cur, AlloyPageSource *src,
					  const AlloyMetaData *meta, BlockNumber startblk,
					  int64 mint, int64 maxt)
{
	cur->src = *src;
	if (meta == NULL || !BlockNumberIsValid(meta->sealed_start) ||
		meta->sealed_npages == 0)
	{
		cur->blk = 0;
		cur->endblk = 0;
	}
	else
	{
		cur->blk = startblk;
		cur->endblk = meta->sealed_start + meta->sealed_npages;
	}
	cur->buf = InvalidBuffer;
	cur->page = NULL;
	cur->off = FirstOffsetNumber;
	cur->maxoff = InvalidOffsetNumber;
	cur->has_sid = false;
	cur->only_sid = 0;
	cur->mint = mint;
	cur->maxt = maxt;
	cur->n = 0;
	cur->pos = 0;
	cur->sid = 0;
}

void
AlloySealedCursorEnd(AlloySealedCursor *cur)
{
	if (BufferIsValid(cur->buf))
		ReleaseBuffer(cur->buf);
	cur->buf = InvalidBuffer;
	cur->page = NULL;
}

/*
 * Next sealed chunk item in key order that overlaps [mint, maxt] (and is of
 * only_sid when has_sid), without decoding it. *data points into the
 * current page until the next call. The page stays pinned but not locked
 * between calls: chunk pages never change in place (a seal writes a new
 * relfilenode under AccessExclusiveLock, which the reader's lock excludes),
 * so reading them needs no content lock and no private copy.
 */
bool
AlloySealedNextChunk(AlloySealedCursor *cur, const AlloyChunkHeader **hdrp,
					 uint8 *encoding, const uint8 **data, size_t *len)
{
	for (;;)
	{
		ItemId		itemid;
		const AlloyChunkHeader *hdr;

		if (!BufferIsValid(cur->buf) || cur->off > cur->maxoff)
		{
			if (BufferIsValid(cur->buf))
				ReleaseBuffer(cur->buf);
			cur->buf = InvalidBuffer;
			if (cur->blk >= cur->endblk)
				return false;
			CHECK_FOR_INTERRUPTS();
			cur->buf = AlloyReadPage(&cur->src, cur->blk);
			LockBuffer(cur->buf, BUFFER_LOCK_SHARE);
			cur->page = BufferGetPage(cur->buf);
			if (PageIsNew(cur->page) ||
				AlloyPageGetOpaque(cur->page)->type != ALLOY_PAGE_CHUNK)
			{
				LockBuffer(cur->buf, BUFFER_LOCK_UNLOCK);
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("alloy page %u is not a chunk page", cur->blk)));
			}
			cur->maxoff = PageGetMaxOffsetNumber(cur->page);
			LockBuffer(cur->buf, BUFFER_LOCK_UNLOCK);
			cur->blk++;
			cur->off = FirstOffsetNumber;
			continue;
		}

		itemid = PageGetItemId(cur->page, cur->off);
		cur->off++;
		if (!ItemIdIsNormal(itemid) || ItemIdGetLength(itemid) < ALLOY_CHUNK_ITEM_HDR)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("alloy chunk page %u has a bad item", cur->blk - 1)));
		hdr = (const AlloyChunkHeader *) PageGetItem(cur->page, itemid);
		if (cur->has_sid)
		{
			if (hdr->series_id < cur->only_sid)
				continue;
			if (hdr->series_id > cur->only_sid || hdr->min_t > cur->maxt)
			{
				cur->endblk = 0;	/* nothing further can match */
				return false;
			}
		}
		if (hdr->max_t < cur->mint || hdr->min_t > cur->maxt)
			continue;
		*hdrp = hdr;
		*encoding = *((const uint8 *) hdr + sizeof(AlloyChunkHeader));
		*data = (const uint8 *) hdr + ALLOY_CHUNK_ITEM_HDR;
		*len = ItemIdGetLength(itemid) - ALLOY_CHUNK_ITEM_HDR;
		return true;
	}
}

/*
 * Next sealed sample in key order within [mint, maxt] (and of only_sid when
 * has_sid), decoding one chunk at a time.
 */
bool
AlloySealedNext(AlloySealedCursor *cur, int64 *sid, int64 *t, double *v)
{
	for (;;)
	{
		const AlloyChunkHeader *hdr;
		uint8		encoding;
		const uint8 *data;
		size_t		len;

		while (cur->pos < cur->n)
		{
			int			i = cur->pos++;

			if (cur->ts[i] < cur->mint)
				continue;
			if (cur->ts[i] > cur->maxt)
			{
				cur->pos = cur->n;
				break;
			}
			*sid = cur->sid;
			*t = cur->ts[i];
			*v = cur->vs[i];
			return true;
		}

		if (!AlloySealedNextChunk(cur, &hdr, &encoding, &data, &len))
			return false;
		cur->n = AlloyChunkDecode(encoding, data, len, cur->ts, cur->vs, lengthof(cur->ts));
		if (cur->n < 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("corrupt chunk of series %lld on alloy page %u",
							(long long) hdr->series_id, cur->blk - 1)));
		cur->sid = hdr->series_id;
		cur->pos = 0;
	}
}

int
AlloyMemSampleCmp(const void *a, const void *b)
{
	const AlloyMemSample *x = a;
	const AlloyMemSample *y = b;

	if (x->series_id != y->series_id)
		return x->series_id < y->series_id ? -1 : 1;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return 0;
}

typedef struct AlloySeriesBucket
{
	int64		series_id;		/* hash key */
	int64		count;
	int64		offset;
	int32		idx;
} AlloySeriesBucket;

static int
AlloyBucketCmp(const void *a, const void *b)
{
	const AlloySeriesBucket *x = *(AlloySeriesBucket *const *) a;
	const AlloySeriesBucket *y = *(AlloySeriesBucket *const *) b;

	return x->series_id < y->series_id ? -1 : (x->series_id > y->series_id ? 1 : 0);
}

/*
 * Sort head samples by (series, time, write order). Samples arrive
 * scrape-ordered (every series at one time, then the next time), which a
 * comparison sort of 32-byte elements handles slowly; instead they are
 * bucketed by series (stable, so each series keeps its write order), and
 * a series is sorted by time only if it is not already. Returns the sorted
 * array (a new allocation; a is freed).
 */
AlloyMemSample *
AlloySortMemSamples(AlloyMemSample *a, int64 n)
{
	HASHCTL		ctl;
	HTAB	   *h;
	int32	   *bidx;
	AlloySeriesBucket **buckets;
	int32		nbuckets = 0;
	int32		bucket_cap = 1024;
	int64	   *offsets;
	AlloyMemSample *out;
	AlloySeriesBucket *last = NULL;
	int64		i;
	int32		b;

	if (n <= 1)
		return a;
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(AlloySeriesBucket);
	ctl.hcxt = CurrentMemoryContext;
	h = hash_create("alloy head series", 1024, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	bidx = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int32) * n);
	buckets = palloc(sizeof(AlloySeriesBucket *) * bucket_cap);
	for (i = 0; i < n; i++)
	{
		if (last == NULL || last->series_id != a[i].series_id)
		{
			bool		found;

			last = hash_search(h, &a[i].series_id, HASH_ENTER, &found);
			if (!found)
			{
				last->count = 0;
				if (nbuckets >= bucket_cap)
				{
					bucket_cap *= 2;
					buckets = repalloc_huge(buckets, sizeof(AlloySeriesBucket *) * bucket_cap);
				}
				last->idx = nbuckets;
				buckets[nbuckets++] = last;
			}
		}
		last->count++;
		bidx[i] = last->idx;
	}

	/* series in id order; each gets its place in the output */
	offsets = palloc(sizeof(int64) * nbuckets);
	{
		AlloySeriesBucket **sorted = palloc(sizeof(AlloySeriesBucket *) * nbuckets);
		int64		off = 0;

		memcpy(sorted, buckets, sizeof(AlloySeriesBucket *) * nbuckets);
		qsort(sorted, nbuckets, sizeof(AlloySeriesBucket *), AlloyBucketCmp);
		for (b = 0; b < nbuckets; b++)
		{
			sorted[b]->offset = off;
			off += sorted[b]->count;
		}
		for (b = 0; b < nbuckets; b++)
			offsets[b] = buckets[b]->offset;
		pfree(sorted);
	}

	out = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(AlloyMemSample) * n);
	for (i = 0; i < n; i++)
		out[offsets[bidx[i]]++] = a[i];

	/* within a series: usually already in time order */
	for (b = 0; b < nbuckets; b++)
	{
		int64		end = offsets[b];
		int64		start = end - buckets[b]->count;
		int64		k;

		for (k = start + 1; k < end; k++)
		{
			if (out[k].t < out[k - 1].t)
			{
				qsort(out + start, end - start, sizeof(AlloyMemSample), AlloyMemSampleCmp);
				break;
			}
		}
	}

	hash_destroy(h);
	pfree(bidx);
	pfree(buckets);
	pfree(offsets);
	pfree(a);
	return out;
}

/* First index of a head sample of series sid or later. */
int64
AlloyHeadLowerBound(AlloyMemSample *head, int64 n, int64 sid)
{
	int64		lo = 0;
	int64		hi = n;

	while (lo < hi)
	{
		int64		mid = lo + (hi - lo) / 2;

		if (head[mid].series_id < sid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void
AlloyMergeInit(AlloyMerge *m, AlloySealedCursor *cur, AlloyMemSample *head,
			   int64 hpos, int64 hend)
{
	m->cur = cur;
	m->have_s = false;
	m->s_done = (cur == NULL);
	m->head = head;
	m->hpos = hpos;
	m->hend = hend;
}

bool
AlloyMergeNext(AlloyMerge *m, int64 *sid, int64 *t, double *v)
{
	if (!m->have_s && !m->s_done)
	{
		if (AlloySealedNext(m->cur, &m->s_sid, &m->s_t, &m->s_v))
			m->have_s = true;
		else
			m->s_done = true;
	}
	if (m->hpos < m->hend)
	{
		int64		j = m->hpos;
		AlloyMemSample *h;

		/* the last of equal (series, time) head samples is the latest write */
		while (j + 1 < m->hend &&
			   m->head[j + 1].series_id == m->head[j].series_id &&
			   m->head[j + 1].t == m->head[j].t)
			j++;
		h = &m->head[j];
		if (m->have_s)
		{
			if (m->s_sid < h->series_id ||
				(m->s_sid == h->series_id && m->s_t < h->t))
			{
				*sid = m->s_sid;
				*t = m->s_t;
				*v = m->s_v;
				m->have_s = false;
				return true;
			}
			if (m->s_sid == h->series_id && m->s_t == h->t)
				m->have_s = false;	/* overwritten by a later write */
		}
		*sid = h->series_id;
		*t = h->t;
		*v = AlloyBitsToDouble(h->vbits);
		m->hpos = j + 1;
		return true;
	}
	if (m->have_s)
	{
		*sid = m->s_sid;
		*t = m->s_t;
		*v = m->s_v;
		m->have_s = false;
		return true;
	}
	return false;
}

/* Load the sparse index: one key per chunk page. */
static void
AlloyLoadIndex(AlloyPartReader *pr)
{
	uint32		i;
	uint32		k = 0;

	pr->index = MemoryContextAllocHuge(CurrentMemoryContext,
									   sizeof(AlloyIndexEntry) * Max(pr->meta.sealed_npages, 1));
	for (i = 0; i < pr->meta.index_npages; i++)
	{
		Buffer		buf = ReadBuffer(pr->rel, pr->meta.index_start + i);
		Page		page;
		int			cnt;

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (AlloyPageGetOpaque(page)->type != ALLOY_PAGE_INDEX)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("alloy page %u is not an index page", pr->meta.index_start + i)));
		cnt = (((PageHeader) page)->pd_lower - MAXALIGN(SizeOfPageHeaderData)) /
			sizeof(AlloyIndexEntry);
		if (k + cnt > pr->meta.sealed_npages)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("alloy index of \"%s\" is longer than its sealed region",
							RelationGetRelationName(pr->rel))));
		memcpy(pr->index + k, PageGetContents(page), cnt * sizeof(AlloyIndexEntry));
		k += cnt;
		UnlockReleaseBuffer(buf);
	}
	if (k != pr->meta.sealed_npages)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("alloy index of \"%s\" does not match its sealed region",
						RelationGetRelationName(pr->rel))));
}

/* First index of the ascending array ids[0..n) holding a value >= id. */
static inline int
AlloyIdLowerBound(const int64 *ids, int n, int64 id)
{
	int			lo = 0;
	int			hi = n;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Whether id is in the ascending array ids[0..n). */
static inline bool
AlloyIdInSorted(const int64 *ids, int n, int64 id)
{
	int			lo = AlloyIdLowerBound(ids, n, id);

	return lo < n && ids[lo] == id;
}

/* Whether the ascending array ids[0..n) holds an id in [lo_id, hi_id]. */
static inline bool
AlloyIdRangeInSorted(const int64 *ids, int n, int64 lo_id, int64 hi_id)
{
	int			lo = AlloyIdLowerBound(ids, n, lo_id);

	return lo < n && ids[lo] <= hi_id;
}

/*
 * Add the samples of one visible head batch in [mint, maxt] (and of
 * pr->only's series) to pr->head; seq_base is the write-order number of its
 * first sample: the count of samples in all batches before it in the head.
 */
static void
AlloyLoadBatch(AlloyPartReader *pr, const AlloyBatchHeader *hdr, Size itemlen,
			   uint64 seq_base, int64 *cap)
{
	AlloyBatchIter it;
	AlloyHeadSample hs;
	uint64		seq = seq_base;

	AlloyBatchIterInit(&it, hdr, itemlen);
	for (; AlloyBatchNext(&it, &hs); seq++)
	{
		AlloyMemSample *ms;

		if (hs.t < pr->mint || hs.t > pr->maxt)
			continue;
		if (pr->only != NULL && !AlloyIdInSorted(pr->only, pr->nonly, hs.series_id))
			continue;
		if (pr->nhead >= *cap)
		{
			*cap *= 2;
			pr->head = repalloc_huge(pr->head, *cap * sizeof(AlloyMemSample));
		}
		ms = &pr->head[pr->nhead++];
		ms->series_id = hs.series_id;
		ms->t = hs.t;
		ms->vbits = hs.vbits;
		ms->seq = seq;
	}
}

/*
 * Load the head batches the head index (head_index.c) lists for pr->only:
 * only the pages holding them are read. Each batch is checked against what
 * the index recorded; if one does not match (which would be a bug), the
 * entry is dropped and false returned, and the caller walks the head.
 */
static bool
AlloyLoadHeadIndexed(AlloyPartReader *pr, Snapshot snapshot,
					 const AlloyHeadBatchRef *refs, int nrefs, int64 *cap)
{
	int			i = 0;

	while (i < nrefs)
	{
		BlockNumber blk = refs[i].blk;
		Buffer		buf;
		Page		page;
		OffsetNumber maxoff;

		/* visibility needs only the xid the index recorded */
		if (!AlloyXidVisible(refs[i].xid, snapshot))
		{
			i++;
			continue;
		}
		CHECK_FOR_INTERRUPTS();
		buf = ReadBuffer(pr->rel, blk);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (PageIsNew(page) || AlloyPageGetOpaque(page)->type != ALLOY_PAGE_HEAD)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("alloy page %u is not a head page", blk)));
		maxoff = PageGetMaxOffsetNumber(page);
		for (; i < nrefs && refs[i].blk == blk; i++)
		{
			ItemId		itemid;
			const AlloyBatchHeader *hdr;

			if (!AlloyXidVisible(refs[i].xid, snapshot))
				continue;
			itemid = refs[i].off <= maxoff ? PageGetItemId(page, refs[i].off) : NULL;
			hdr = itemid && ItemIdGetLength(itemid) >= sizeof(AlloyBatchHeader) ?
				(const AlloyBatchHeader *) PageGetItem(page, itemid) : NULL;
			if (hdr == NULL || hdr->xid != refs[i].xid || hdr->nsamples != refs[i].nsamples)
			{
				UnlockReleaseBuffer(buf);
				AlloyHeadIndexForget(&pr->rel->rd_node);
				elog(WARNING, "alloy head index of \"%s\" does not match the batch at (%u,%u); reading the whole head",
					 RelationGetRelationName(pr->rel), blk, refs[i].off);
				return false;
			}
			AlloyLoadBatch(pr, hdr, ItemIdGetLength(itemid), refs[i].seq_base, cap);
		}
		UnlockReleaseBuffer(buf);
	}
	return true;
}

/*
 * Load every head sample in [mint, maxt] visible to snapshot, sorted; only
 * those of pr->only's series when the reader knows which it will ask for,
 * so a query for a few series does not copy and sort the whole head. Such
 * a reader asks the head index which batches hold its series and reads
 * only their pages; everything else walks the head chain.
 */
static void
AlloyLoadHead(AlloyPartReader *pr, Snapshot snapshot)
{
	int64		cap = 1024;
	AlloyHeadWalk walk;
	const AlloyBatchHeader *hdr;
	Size		len;
	uint64		seq_base;

	pr->head = MemoryContextAllocHuge(CurrentMemoryContext, cap * sizeof(AlloyMemSample));
	pr->nhead = 0;
	if (pr->only != NULL && BlockNumberIsValid(pr->meta.head_first))
	{
		AlloyHeadBatchRef *refs;
		int			nrefs;

		refs = AlloyHeadIndexLookup(pr->rel, &pr->meta, pr->only, pr->nonly,
									pr->mint, pr->maxt, &nrefs);
		if (refs != NULL)
		{
			bool		done = AlloyLoadHeadIndexed(pr, snapshot, refs, nrefs, &cap);

			pfree(refs);
			if (done)
			{
				pr->head = AlloySortMemSamples(pr->head, pr->nhead);
				return;
			}
			pr->nhead = 0;
		}
	}
	AlloyHeadWalkBegin(&walk, pr->rel, pr->meta.head_first);
	while (AlloyHeadWalkNext(&walk, &hdr, &len, &seq_base))
	{
		/* batches that cannot hold a wanted sample are not decoded */
		if (hdr->max_t < pr->mint || hdr->min_t > pr->maxt ||
			(pr->only != NULL &&
			 !AlloyIdRangeInSorted(pr->only, pr->nonly, hdr->min_sid, hdr->max_sid)))
			continue;
		if (!AlloyXidVisible(hdr->xid, snapshot))
			continue;
		AlloyLoadBatch(pr, hdr, len, seq_base, &cap);
	}
	pr->head = AlloySortMemSamples(pr->head, pr->nhead);
}

/*
 * Open one partition for reading: copy its metapage, load its sparse index
 * and its visible head. Sealing rewrites a partition only under
 * AccessExclusiveLock, so the caller's lock keeps the sealed region stable.
 */
AlloyPartReader *
AlloyPartOpen(Relation rel, Snapshot snapshot, int64 mint, int64 maxt)
{
	return AlloyPartOpenSeries(rel, snapshot, mint, maxt, NULL, 0);
}

/* AlloyPartOpen for a known, sorted set of series (only; NULL means all). */
AlloyPartReader *
AlloyPartOpenSeries(Relation rel, Snapshot snapshot, int64 mint, int64 maxt,
					const int64 *only, int nonly)
{
	AlloyPartReader *pr = palloc0(sizeof(AlloyPartReader));
	AlloyPageSource src;

	pr->rel = rel;
	pr->mint = mint;
	pr->maxt = maxt;
	pr->only = only;
	pr->nonly = nonly;
	AlloySourceFromRel(&src, rel);
	if (!AlloyReadMeta(&src, &pr->meta))
	{
		pr->empty = true;
		return pr;
	}
	AlloyLoadIndex(pr);
	AlloyLoadHead(pr, snapshot);
	return pr;
}

void
AlloyPartClose(AlloyPartReader *pr)
{
	if (pr->index)
		pfree(pr->index);
	if (pr->head)
		pfree(pr->head);
	pfree(pr);
}

/* First chunk page that can hold series sid at or after mint. */
BlockNumber
AlloyIndexStart(AlloyPartReader *pr, int64 sid, int64 mint)
{
	int64		lo = 0;
	int64		hi = pr->meta.sealed_npages;

	/* find the first page whose first key is >= (sid, mint) */
	while (lo < hi)
	{
		int64		mid = lo + (hi - lo) / 2;
		AlloyIndexEntry *e = &pr->index[mid];

		if (e->series_id < sid || (e->series_id == sid && e->min_t < mint))
			lo = mid + 1;
		else
			hi = mid;
	}
	/* the previous page may still end with chunks of sid */
	if (lo > 0)
		lo--;
	return pr->meta.sealed_start + (BlockNumber) lo;
}

/* A cursor over the sealed chunks of series sid in the reader's range. */
AlloySealedCursor *
AlloyPartSeriesCursor(AlloyPartReader *pr, int64 sid)
{
	AlloySealedCursor *cur = palloc(sizeof(AlloySealedCursor));

	AlloySourceFromRel(&cur->src, pr->rel);
	AlloySealedCursorInit(cur, &cur->src, &pr->meta,
						  AlloyIndexStart(pr, sid, pr->mint), pr->mint, pr->maxt);
	cur->has_sid = true;
	cur->only_sid = sid;
	return cur;
}

/* Make room for need samples in (*ts, *vs), growing by doubling. */
static void
AlloyReadEnsure(int64 **ts, double **vs, int *cap, int64 need)
{
	int64		newcap;

	if (need <= *cap)
		return;
	newcap = Max((int64) *cap * 2, Max(need, 64));
	if (newcap > PG_INT32_MAX / (int64) sizeof(int64))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many samples in one series")));
	if (*ts == NULL)
	{
		*ts = palloc(sizeof(int64) * newcap);
		*vs = palloc(sizeof(double) * newcap);
	}
	else
	{
		*ts = repalloc_huge(*ts, sizeof(int64) * newcap);
		*vs = repalloc_huge(*vs, sizeof(double) * newcap);
	}
	*cap = (int) newcap;
}

/*
 * Merge head samples head[hlo, hhi) of one series into the sealed samples
 * (*ts, *vs)[n0, n): on equal times the head wins, and of equal head times
 * the last (the latest write). Returns the new count.
 */
static int
AlloyMergeHeadInto(const AlloyMemSample *head, int64 hlo, int64 hhi,
				   int64 **ts, double **vs, int n0, int n, int *cap)
{
	int			m = n - n0;
	int64	   *st = NULL;
	double	   *sv = NULL;
	int			i = 0;
	int64		h = hlo;
	int			out = n0;

	if (m > 0 && head[hlo].t > (*ts)[n - 1])
	{
		/* the usual case: every head sample is newer, just append */
		out = n;
		m = 0;
	}
	if (m > 0)
	{
		st = palloc(sizeof(int64) * m);
		sv = palloc(sizeof(double) * m);
		memcpy(st, *ts + n0, sizeof(int64) * m);
		memcpy(sv, *vs + n0, sizeof(double) * m);
	}
	AlloyReadEnsure(ts, vs, cap, (int64) out + m + (hhi - hlo));
	while (i < m || h < hhi)
	{
		int64		j = h;

		if (h < hhi)
		{
			while (j + 1 < hhi && head[j + 1].t == head[j].t)
				j++;
		}
		if (h < hhi && (i >= m || head[j].t <= st[i]))
		{
			if (i < m && st[i] == head[j].t)
				i++;			/* overwritten by a later write */
			(*ts)[out] = head[j].t;
			(*vs)[out] = AlloyBitsToDouble(head[j].vbits);
			h = j + 1;
		}
		else
		{
			(*ts)[out] = st[i];
			(*vs)[out] = sv[i];
			i++;
		}
		out++;
	}
	if (st)
	{
		pfree(st);
		pfree(sv);
	}
	return out;
}

/*
 * Append the samples of series sid in the reader's range to (*ts, *vs),
 * which hold n samples in room for *cap; returns the new count. Sealed
 * chunks are decoded straight into the output arrays and cut to the range
 * there; the series' head samples, usually none or a few newer ones, are
 * merged in afterwards. (Going through AlloyMergeNext cost two calls and a
 * copy per sample.)
 */
int
AlloyPartReadSeries(AlloyPartReader *pr, int64 sid, int64 **ts, double **vs,
					int n, int *cap)
{
	int64		hlo;
	int64		hhi;
	int			n0 = n;

	if (pr->empty)
		return n;
	if (pr->meta.sealed_npages > 0)
	{
		AlloySealedCursor *cur = AlloyPartSeriesCursor(pr, sid);
		const AlloyChunkHeader *hdr;
		uint8		encoding;
		const uint8 *data;
		size_t		len;

		while (AlloySealedNextChunk(cur, &hdr, &encoding, &data, &len))
		{
			int			k;
			int			a = 0;

			/* room for what the header announces; more is corrupt */
			k = Min(AlloyChunkCount(encoding, data, len), ALLOY_CHUNK_MAX_SAMPLES);
			AlloyReadEnsure(ts, vs, cap, (int64) n + k);
			k = AlloyChunkDecode(encoding, data, len, *ts + n, *vs + n, k);
			if (k < 0)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("corrupt chunk of series %lld on alloy page %u",
								(long long) sid, cur->blk - 1)));
			if (hdr->min_t < pr->mint)
			{
				while (a < k && (*ts)[n + a] < pr->mint)
					a++;
				memmove(*ts + n, *ts + n + a, sizeof(int64) * (k - a));
				memmove(*vs + n, *vs + n + a, sizeof(double) * (k - a));
				k -= a;
			}
			if (hdr->max_t > pr->maxt)
				while (k > 0 && (*ts)[n + k - 1] > pr->maxt)
					k--;
			n += k;
		}
		AlloySealedCursorEnd(cur);
		pfree(cur);
	}
	hlo = AlloyHeadLowerBound(pr->head, pr->nhead, sid);
	hhi = hlo;
	while (hhi < pr->nhead && pr->head[hhi].series_id == sid)
		hhi++;
	if (hlo < hhi)
		n = AlloyMergeHeadInto(pr->head, hlo, hhi, ts, vs, n0, n, cap);
	return n;
}
