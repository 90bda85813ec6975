/*
 * seal.c: moving head batches into compressed, per-series chunks.
 *
 * Sealing rewrites a whole partition into a new relfilenode, the way
 * TRUNCATE and CLUSTER swap storage: under AccessExclusiveLock, the old
 * sealed region and the sealable head samples are merged (last write wins)
 * into chunks (XOR or decimal, whichever is smaller; chunks of series without new
 * samples, and full chunks that end before a series' new samples, are
 * copied byte for byte; the rest is decoded and re-encoded), the sparse index is
 * written after them, and head batches that cannot be sealed yet are copied
 * over unchanged. The swap is transactional: until commit every other
 * session keeps reading the old file (it cannot even open the relation),
 * after commit the old file is deleted, and a crash at any point leaves one
 * of the two complete files. So there are no half-sealed states, no
 * "sealed" flags in head batches and nothing for VACUUM to reclaim.
 *
 * A batch is sealable when its xid committed and precedes the oldest xmin
 * any snapshot may still use (GetOldestNonRemovableTransactionId): every
 * snapshot sees it, so dropping its xid loses nothing. Aborted (or crashed)
 * batches are dropped. Everything else stays in the head with its xid.
 *
 * The cost is rewriting the partition (and WAL-logging it as full pages) on
 * every seal; docs/storage.md discusses the trade-off and the LSM-style
 * alternative.
 */
#include "postgres.h"

#include "access/table.h"
#include "access/transam.h"
#include "access/xact.h"
#include "access/xloginsert.h"
#include "commands/tablecmds.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "storage/procarray.h"
#include "utils/memutils.h"
#include "utils/relcache.h"

#include "store/store_int.h"
#include "codec/codec.h"

/* Writes the new file page by page in block order. */
typedef struct AlloySealWriter
{
	Relation	rel;
	BlockNumber nextblk;		/* block the next written page gets */
	char	   *page;			/* chunk page being filled */
	bool		page_has_items;
	AlloyIndexEntry *index;		/* first key of each chunk page */
	uint32		nindex;
	uint32		index_cap;
	/* the run of one series' samples that becomes the next chunk(s) */
	int64		run_sid;
	int			nrun;
	int64		run_ts[ALLOY_DEC_CHUNK_SAMPLES];
	double		run_vs[ALLOY_DEC_CHUNK_SAMPLES];
	uint8		xorbuf[ALLOY_CHUNK_BUF];
	uint8		decbuf[DEC_MAX_BYTES(ALLOY_DEC_CHUNK_SAMPLES)];
	/* totals */
	uint64		nchunks;
	uint64		ndecimal;		/* of which decimal chunks */
	uint64		nsamples;
	int64		min_t;
	int64		max_t;
} AlloySealWriter;

static void
AlloySealWritePage(AlloySealWriter *w, Page page)
{
	BlockNumber blk = AlloyWriteNewPage(w->rel, page);

	if (blk != w->nextblk)
		elog(ERROR, "alloy seal of \"%s\" wrote block %u, expected %u",
			 RelationGetRelationName(w->rel), blk, w->nextblk);
	w->nextblk++;
}

static void
AlloySealFlushPage(AlloySealWriter *w)
{
	if (!w->page_has_items)
		return;
	AlloySealWritePage(w, w->page);
	AlloyInitPage(w->page, ALLOY_PAGE_CHUNK);
	w->page_has_items = false;
}

/* Add one chunk item (header, encoding, chunk) to the chunk page being filled. */
static void
AlloySealAddItem(AlloySealWriter *w, int64 sid, int64 min_t, int64 max_t, uint8 encoding,
				 const uint8 *data, size_t len)
{
	char		item[ALLOY_CHUNK_ITEM_HDR + BLCKSZ];
	AlloyChunkHeader *hdr = (AlloyChunkHeader *) item;
	size_t		ilen = ALLOY_CHUNK_ITEM_HDR + len;

	if (ilen > sizeof(item))
		elog(ERROR, "alloy chunk of %zu bytes is too large", len);
	hdr->series_id = sid;
	hdr->min_t = min_t;
	hdr->max_t = max_t;
	item[sizeof(AlloyChunkHeader)] = (char) encoding;
	memcpy(item + ALLOY_CHUNK_ITEM_HDR, data, len);

	if (PageGetFreeSpace(w->page) < MAXALIGN(ilen))
		AlloySealFlushPage(w);
	if (!w->page_has_items)
	{
		if (w->nindex >= w->index_cap)
		{
			w->index_cap *= 2;
			w->index = repalloc_huge(w->index, w->index_cap * sizeof(AlloyIndexEntry));
		}
		w->index[w->nindex].series_id = sid;
		w->index[w->nindex].min_t = min_t;
		w->nindex++;
	}
	if (PageAddItem(w->page, (Item) item, ilen, InvalidOffsetNumber, false, false) ==
		InvalidOffsetNumber)
		elog(ERROR, "could not add a chunk of %zu bytes to an alloy page", ilen);
	w->page_has_items = true;
	w->nchunks++;
	if (encoding == ALLOY_ENC_DECIMAL)
		w->ndecimal++;
	if (min_t < w->min_t)
		w->min_t = min_t;
	if (max_t > w->max_t)
		w->max_t = max_t;
}

/*
 * Turn the collected run into chunks: one decimal chunk, or XOR chunks of
 * up to ALLOY_CHUNK_SAMPLES, whichever takes less room on the page. Ties go
 * to XOR, which remote read can send without decoding.
 */
static void
AlloySealFlushRun(AlloySealWriter *w)
{
	int			n = w->nrun;
	size_t		xlen[(ALLOY_DEC_CHUNK_SAMPLES + ALLOY_CHUNK_SAMPLES - 1) / ALLOY_CHUNK_SAMPLES];
	int			xstart[lengthof(xlen)];
	int			npieces = 0;
	size_t		xoff = 0;
	Size		xor_cost = 0;
	size_t		declen = 0;

	if (n == 0)
		return;
	for (int i = 0; i < n; i += ALLOY_CHUNK_SAMPLES)
	{
		XorAppender app;
		int			end = Min(n, i + ALLOY_CHUNK_SAMPLES);

		if (xor_appender_init(&app, w->xorbuf + xoff, sizeof(w->xorbuf) - xoff) != XOR_OK)
			elog(ERROR, "XOR chunk buffer too small");
		for (int j = i; j < end; j++)
		{
			int			rc = xor_append(&app, w->run_ts[j], w->run_vs[j]);

			if (rc != XOR_OK)
				elog(ERROR, "XOR chunk append failed with status %d", rc);
		}
		xstart[npieces] = i;
		xlen[npieces] = xor_appender_bytes(&app);
		xor_cost += MAXALIGN(ALLOY_CHUNK_ITEM_HDR + xlen[npieces]) + sizeof(ItemIdData);
		xoff += xlen[npieces];
		npieces++;
	}

	if (dec_encode(w->run_ts, w->run_vs, n, w->decbuf, sizeof(w->decbuf), &declen) == DEC_OK &&
		MAXALIGN(ALLOY_CHUNK_ITEM_HDR + declen) + sizeof(ItemIdData) < xor_cost)
		AlloySealAddItem(w, w->run_sid, w->run_ts[0], w->run_ts[n - 1], ALLOY_ENC_DECIMAL,
						 w->decbuf, declen);
	else
	{
		xoff = 0;
		for (int p = 0; p < npieces; p++)
		{
			int			last = (p + 1 < npieces ? xstart[p + 1] : n) - 1;

			AlloySealAddItem(w, w->run_sid, w->run_ts[xstart[p]], w->run_ts[last],
							 ALLOY_ENC_XOR, w->xorbuf + xoff, xlen[p]);
			xoff += xlen[p];
		}
	}
	w->nrun = 0;
}

/* Add one sample (series by series, in time order) to the run. */
static void
AlloySealAdd(AlloySealWriter *w, int64 sid, int64 t, double v)
{
	if (w->nrun > 0 && (w->run_sid != sid || w->nrun >= ALLOY_DEC_CHUNK_SAMPLES))
		AlloySealFlushRun(w);
	if (w->nrun == 0)
		w->run_sid = sid;
	w->run_ts[w->nrun] = t;
	w->run_vs[w->nrun] = v;
	w->nrun++;
	w->nsamples++;
}

/*
 * Walks the chunk items of the old sealed region in order, so that chunks a
 * seal does not need to change are copied without decoding.
 */
typedef struct AlloyChunkCursor
{
	AlloyPageSource src;
	BlockNumber blk;
	BlockNumber endblk;
	char	   *page;
	bool		loaded;
	OffsetNumber off;
	OffsetNumber maxoff;
	bool		have;
	AlloyChunkHeader hdr;
	uint8		encoding;
	const uint8 *data;			/* points into page until the next call */
	size_t		len;
} AlloyChunkCursor;

static void
AlloyChunkCursorNext(AlloyChunkCursor *cc)
{
	for (;;)
	{
		ItemId		itemid;
		char	   *item;

		if (!cc->loaded || cc->off > cc->maxoff)
		{
			Buffer		buf;

			if (cc->blk >= cc->endblk)
			{
				cc->have = false;
				return;
			}
			CHECK_FOR_INTERRUPTS();
			buf = AlloyReadPage(&cc->src, cc->blk);
			LockBuffer(buf, BUFFER_LOCK_SHARE);
			memcpy(cc->page, BufferGetPage(buf), BLCKSZ);
			UnlockReleaseBuffer(buf);
			if (PageIsNew(cc->page) ||
				AlloyPageGetOpaque(cc->page)->type != ALLOY_PAGE_CHUNK)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("alloy page %u is not a chunk page", cc->blk)));
			cc->blk++;
			cc->off = FirstOffsetNumber;
			cc->maxoff = PageGetMaxOffsetNumber(cc->page);
			cc->loaded = true;
			continue;
		}
		itemid = PageGetItemId(cc->page, cc->off);
		cc->off++;
		if (!ItemIdIsNormal(itemid) || ItemIdGetLength(itemid) < ALLOY_CHUNK_ITEM_HDR)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("alloy chunk page %u has a bad item", cc->blk - 1)));
		item = PageGetItem(cc->page, itemid);
		memcpy(&cc->hdr, item, sizeof(AlloyChunkHeader));
		cc->encoding = (uint8) item[sizeof(AlloyChunkHeader)];
		cc->data = (const uint8 *) item + ALLOY_CHUNK_ITEM_HDR;
		cc->len = ItemIdGetLength(itemid) - ALLOY_CHUNK_ITEM_HDR;
		cc->have = true;
		return;
	}
}

static void
AlloySealCopyChunk(AlloySealWriter *w, AlloyChunkCursor *cc)
{
	AlloySealFlushRun(w);
	AlloySealAddItem(w, cc->hdr.series_id, cc->hdr.min_t, cc->hdr.max_t, cc->encoding,
					 cc->data, cc->len);
	w->nsamples += AlloyChunkCount(cc->encoding, cc->data, cc->len);
}

/*
 * One series present in both the old chunks and the sealable head
 * (head[hlo, hhi)): full chunks that end before the first head sample are
 * copied as they are; from the first chunk that may overlap (or is not
 * full, so it gets filled up) on, old samples are decoded and merged, the
 * head winning on equal timestamps.
 */
static void
AlloySealMergeSeries(AlloySealWriter *w, AlloyChunkCursor *cc,
					 AlloyMemSample *head, int64 hlo, int64 hhi)
{
	int64		sid = head[hlo].series_id;
	int64		first_t = head[hlo].t;
	int64	   *ots = NULL;
	double	   *ovs = NULL;
	int64		no = 0;
	int64		ocap = 0;
	int64		i;
	int64		j;

	while (cc->have && cc->hdr.series_id == sid && cc->hdr.max_t < first_t &&
		   AlloyChunkCount(cc->encoding, cc->data, cc->len) >= ALLOY_CHUNK_SAMPLES)
	{
		AlloySealCopyChunk(w, cc);
		AlloyChunkCursorNext(cc);
	}
	while (cc->have && cc->hdr.series_id == sid)
	{
		int			cnt = AlloyChunkCount(cc->encoding, cc->data, cc->len);
		int			got;

		if (no + cnt > ocap)
		{
			ocap = Max(ocap * 2, no + cnt + 256);
			ots = ots ? repalloc_huge(ots, ocap * sizeof(int64)) : palloc(ocap * sizeof(int64));
			ovs = ovs ? repalloc_huge(ovs, ocap * sizeof(double)) : palloc(ocap * sizeof(double));
		}
		got = AlloyChunkDecode(cc->encoding, cc->data, cc->len, ots + no, ovs + no, cnt);
		if (got != cnt)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("corrupt chunk of series %lld", (long long) sid)));
		no += got;
		AlloyChunkCursorNext(cc);
	}

	i = 0;
	j = hlo;
	while (i < no || j < hhi)
	{
		int64		k = j;

		if (j < hhi)
			while (k + 1 < hhi && head[k + 1].t == head[j].t)
				k++;
		if (i < no && (j >= hhi || ots[i] < head[j].t))
		{
			AlloySealAdd(w, sid, ots[i], ovs[i]);
			i++;
			continue;
		}
		if (i < no && ots[i] == head[j].t)
			i++;				/* overwritten by a later write */
		AlloySealAdd(w, sid, head[k].t, AlloyBitsToDouble(head[k].vbits));
		j = k + 1;
	}
	if (ots)
	{
		pfree(ots);
		pfree(ovs);
	}
}

/* A kept head batch, copied out of the old file. */
typedef struct AlloyKeptBatch
{
	Size		len;
	char	   *data;
} AlloyKeptBatch;

/*
 * Seal rel, which the caller holds in AccessExclusiveLock. Returns the
 * number of head samples moved into chunks; *rewritten (if not NULL) tells
 * whether a new file was written (also when only aborted batches went).
 */
int64
AlloySealRelation(Relation rel, bool *rewritten)
{
	AlloyPageSource src;
	AlloyMetaData meta;
	TransactionId horizon;
	AlloyMemSample *seal;
	int64		nseal = 0;
	int64		seal_cap = 1024;
	AlloyKeptBatch *kept;
	int			nkept = 0;
	int			kept_cap = 64;
	int64		ndropped = 0;
	AlloyHeadWalk walk;
	const AlloyBatchHeader *hdr;
	Size		len;
	uint64		seq_base;
	RelFileNode oldnode;
	AlloySealWriter *w;
	AlloyChunkCursor *cc;
	AlloyMerge	m;
	int64		hpos;
	int64		sid;
	int64		t;
	double		v;
	char	   *page;
	uint32		i;
	int			k;
	Buffer		metabuf;
	AlloyMetaData *newmeta;
	MemoryContext cxt;
	MemoryContext old;

	if (rewritten)
		*rewritten = false;
	AlloySourceFromRel(&src, rel);
	if (!AlloyReadMeta(&src, &meta) || !BlockNumberIsValid(meta.head_first))
		return 0;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "alloy seal",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);

	/* classify the head batches */
	horizon = GetOldestNonRemovableTransactionId(rel);
	seal = MemoryContextAllocHuge(cxt, seal_cap * sizeof(AlloyMemSample));
	kept = palloc(kept_cap * sizeof(AlloyKeptBatch));
	AlloyHeadWalkBegin(&walk, rel, meta.head_first);
	while (AlloyHeadWalkNext(&walk, &hdr, &len, &seq_base))
	{
		TransactionId xid = hdr->xid;
		AlloyBatchIter it;
		AlloyHeadSample hs;
		uint64		seq = seq_base;

		if (TransactionIdIsCurrentTransactionId(xid) ||
			TransactionIdIsInProgress(xid) ||
			(TransactionIdDidCommit(xid) && !TransactionIdPrecedes(xid, horizon)))
		{
			if (nkept >= kept_cap)
			{
				kept_cap *= 2;
				kept = repalloc(kept, kept_cap * sizeof(AlloyKeptBatch));
			}
			kept[nkept].len = len;
			kept[nkept].data = palloc(len);
			memcpy(kept[nkept].data, hdr, len);
			nkept++;
			continue;
		}
		if (!TransactionIdDidCommit(xid))
		{
			ndropped += hdr->nsamples;
			continue;
		}
		AlloyBatchIterInit(&it, hdr, len);
		while (AlloyBatchNext(&it, &hs))
		{
			AlloyMemSample *ms;

			if (nseal >= seal_cap)
			{
				seal_cap *= 2;
				seal = repalloc_huge(seal, seal_cap * sizeof(AlloyMemSample));
			}
			ms = &seal[nseal++];
			ms->series_id = hs.series_id;
			ms->t = hs.t;
			ms->vbits = hs.vbits;
			ms->seq = seq++;
		}
	}

	if (nseal == 0 && ndropped == 0)
	{
		MemoryContextSwitchTo(old);
		MemoryContextDelete(cxt);
		return 0;
	}
	seal = AlloySortMemSamples(seal, nseal);

	/* swap in a new, empty relfilenode; the old one stays readable by node */
	CheckTableNotInUse(rel, "alloy.seal");
	oldnode = rel->rd_node;
	MemoryContextSwitchTo(old);
	RelationSetNewRelfilenode(rel, rel->rd_rel->relpersistence);
	MemoryContextSwitchTo(cxt);
	src.by_node = true;
	src.node = oldnode;

	page = palloc(BLCKSZ);
	AlloyInitMetaPage(page);
	if (AlloyWriteNewPage(rel, page) != ALLOY_METAPAGE_BLKNO)
		elog(ERROR, "alloy seal could not write the metapage first");

	w = palloc0(sizeof(AlloySealWriter));
	w->rel = rel;
	w->nextblk = ALLOY_METAPAGE_BLKNO + 1;
	w->page = palloc(BLCKSZ);
	AlloyInitPage(w->page, ALLOY_PAGE_CHUNK);
	w->index_cap = 64;
	w->index = MemoryContextAllocHuge(cxt, w->index_cap * sizeof(AlloyIndexEntry));
	w->min_t = PG_INT64_MAX;
	w->max_t = PG_INT64_MIN;

	/*
	 * Merge the old sealed region with the sealable head, series by series:
	 * series without new samples keep their chunks byte for byte.
	 */
	cc = palloc0(sizeof(AlloyChunkCursor));
	cc->src = src;
	cc->page = palloc(BLCKSZ);
	if (BlockNumberIsValid(meta.sealed_start) && meta.sealed_npages > 0)
	{
		cc->blk = meta.sealed_start;
		cc->endblk = meta.sealed_start + meta.sealed_npages;
	}
	AlloyChunkCursorNext(cc);
	hpos = 0;
	while (cc->have || hpos < nseal)
	{
		int64		sc = cc->have ? cc->hdr.series_id : PG_INT64_MAX;
		int64		sh = hpos < nseal ? seal[hpos].series_id : PG_INT64_MAX;
		int64		hend = hpos;

		while (hend < nseal && seal[hend].series_id == sh)
			hend++;
		if (sc < sh || (sc == sh && hpos >= nseal))
		{
			while (cc->have && cc->hdr.series_id == sc)
			{
				AlloySealCopyChunk(w, cc);
				AlloyChunkCursorNext(cc);
			}
			continue;
		}
		if (sh < sc)
		{
			AlloyMergeInit(&m, NULL, seal, hpos, hend);
			while (AlloyMergeNext(&m, &sid, &t, &v))
				AlloySealAdd(w, sid, t, v);
		}
		else
			AlloySealMergeSeries(w, cc, seal, hpos, hend);
		hpos = hend;
	}
	AlloySealFlushRun(w);
	AlloySealFlushPage(w);

	/* the sparse index */
	AlloyInitPage(page, ALLOY_PAGE_INDEX);
	{
		BlockNumber index_start = w->nextblk;
		uint32		npages = 0;

		for (i = 0; i < w->nindex; i += ALLOY_INDEX_PER_PAGE)
		{
			uint32		cnt = Min(ALLOY_INDEX_PER_PAGE, w->nindex - i);

			AlloyInitPage(page, ALLOY_PAGE_INDEX);
			memcpy(PageGetContents(page), w->index + i, cnt * sizeof(AlloyIndexEntry));
			((PageHeader) page)->pd_lower = MAXALIGN(SizeOfPageHeaderData) +
				cnt * sizeof(AlloyIndexEntry);
			AlloySealWritePage(w, page);
			npages++;
		}
		meta.index_start = npages > 0 ? index_start : InvalidBlockNumber;
		meta.index_npages = npages;
	}
	meta.sealed_start = w->nindex > 0 ? ALLOY_METAPAGE_BLKNO + 1 : InvalidBlockNumber;
	meta.sealed_npages = w->nindex;
	meta.sealed_nchunks = w->nchunks;
	meta.sealed_ndecimal = w->ndecimal;
	meta.sealed_nsamples = w->nsamples;
	meta.sealed_min_t = w->min_t;
	meta.sealed_max_t = w->max_t;
	meta.seal_count++;

	/* head batches that stay, in their original order */
	meta.head_first = InvalidBlockNumber;
	meta.head_last = InvalidBlockNumber;
	meta.head_npages = 0;
	AlloyInitPage(page, ALLOY_PAGE_HEAD);
	for (k = 0; k < nkept; k++)
	{
		if (PageGetFreeSpace(page) < MAXALIGN(kept[k].len))
		{
			AlloyPageGetOpaque(page)->next = w->nextblk + 1;
			if (!BlockNumberIsValid(meta.head_first))
				meta.head_first = w->nextblk;
			meta.head_last = w->nextblk;
			meta.head_npages++;
			AlloySealWritePage(w, page);
			AlloyInitPage(page, ALLOY_PAGE_HEAD);
		}
		if (PageAddItem(page, (Item) kept[k].data, kept[k].len, InvalidOffsetNumber,
						false, false) == InvalidOffsetNumber)
			elog(ERROR, "could not copy a head batch of %zu bytes", kept[k].len);
	}
	if (nkept > 0)
	{
		if (!BlockNumberIsValid(meta.head_first))
			meta.head_first = w->nextblk;
		meta.head_last = w->nextblk;
		meta.head_npages++;
		AlloySealWritePage(w, page);
	}

	/* finally the metapage */
	metabuf = ReadBuffer(rel, ALLOY_METAPAGE_BLKNO);
	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	START_CRIT_SECTION();
	newmeta = AlloyPageGetMeta(BufferGetPage(metabuf));
	memcpy(newmeta, &meta, sizeof(AlloyMetaData));
	MarkBufferDirty(metabuf);
	if (RelationNeedsWAL(rel))
		log_newpage_buffer(metabuf, true);
	END_CRIT_SECTION();
	UnlockReleaseBuffer(metabuf);

	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	if (rewritten)
		*rewritten = true;
	return nseal;
}

static int
AlloyOidCmp(const void *a, const void *b)
{
	Oid			x = *(const Oid *) a;
	Oid			y = *(const Oid *) b;

	return x < y ? -1 : (x > y ? 1 : 0);
}

/*
 * store.h: seal every alloy partition, in OID order (as appends lock
 * them), each under AccessExclusiveLock until the end of the transaction.
 */
int64
AlloySeal(void)
{
	Oid			parent = AlloySamplesParentOid(true);
	AlloyPartition *parts;
	Oid		   *relids;
	int			n;
	int			i;
	int			k = 0;
	int64		total = 0;

	if (!OidIsValid(parent))
		return 0;
	if (XactReadOnly)
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot seal in a read-only transaction")));
	parts = AlloyListPartitions(parent, &n);
	relids = palloc(sizeof(Oid) * Max(n, 1));
	for (i = 0; i < n; i++)
		if (parts[i].is_alloy)
			relids[k++] = parts[i].relid;
	qsort(relids, k, sizeof(Oid), AlloyOidCmp);
	for (i = 0; i < k; i++)
	{
		Relation	rel;

		LockRelationOid(relids[i], AccessExclusiveLock);
		rel = try_table_open(relids[i], NoLock);
		if (rel == NULL)
			continue;
		total += AlloySealRelation(rel, NULL);
		table_close(rel, NoLock);
	}
	return total;
}
