/*
 * head_index.c: a per-backend index of the head batches of recently read
 * partitions, so a reader that knows its series reads only the head pages
 * holding them instead of walking the whole head chain.
 *
 * Why per backend: HTTP workers and pooled sessions are long-lived and
 * answer many queries, and a head is append-only within one relfilenode
 * (batch items are never changed or removed in place; a seal, TRUNCATE,
 * VACUUM FULL or SET TABLESPACE writes a new relfilenode). So an index
 * built once can be caught up incrementally: each entry remembers the last
 * head page and item it has seen, and a later open reads only what was
 * appended since, typically the last page. Nothing is shared, so nothing
 * needs locks beyond the buffer share locks the walk already takes.
 *
 * What it holds, per partition (keyed by RelFileNode): one summary per
 * batch (where it is, its xid, its time range and the write-order number of
 * its first sample, so results are exactly those of the full walk), and per
 * series id the list of batches holding it. Visibility and the time range
 * are still checked per batch at read time, so MVCC is untouched: batches
 * of running or aborted transactions are indexed and filtered when read.
 *
 * Invalidation: an entry is dropped when its relation's relfilenode
 * changes or the relation goes away (checked after a relcache invalidation
 * names it), when the metapage's head_first or the last indexed item no
 * longer match, when its own relation is truncated in place
 * (AlloyHeadIndexForget), when it has not been used for a while, and when
 * the entries of all partitions together would exceed
 * alloy.head_index_max_entries (least recently used first; a partition that
 * alone exceeds it is not indexed, and readers walk its head as before).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "catalog/pg_class.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "store/store_int.h"

/* alloy.head_index_max_entries: (series, batch) pairs per backend; 0 = off */
int			alloy_head_index_max_entries = ALLOY_HEAD_INDEX_DEFAULT_ENTRIES;

/* Partitions indexed at once, and how long an unused entry is kept. */
#define ALLOY_HEAD_INDEX_MAX_PARTS	8
#define ALLOY_HEAD_INDEX_IDLE_MS	(10 * 60 * 1000)

/*
 * Series in hash order touch slots all over a large array, one cache miss
 * each; fetching a few samples ahead overlaps those misses.
 */
#if defined(__GNUC__) || defined(__clang__)
#define ALLOY_PREFETCH(p)	__builtin_prefetch(p)
#else
#define ALLOY_PREFETCH(p)	((void) 0)
#endif
#define ALLOY_PREFETCH_AHEAD 16

/* Postings live in segments, so growing never copies them. */
#define ALLOY_POSTING_SEG_BITS	14
#define ALLOY_POSTING_SEG_SIZE	(1 << ALLOY_POSTING_SEG_BITS)
#define ALLOY_POSTING_END		PG_UINT32_MAX

/* One head batch as the index knows it. */
typedef struct AlloyHeadBatch
{
	uint64		seq_base;		/* write-order number of its first sample */
	int64		min_t;
	int64		max_t;
	TransactionId xid;
	uint32		nsamples;
	BlockNumber blk;
	OffsetNumber off;
} AlloyHeadBatch;

/* One (series, batch) pair; a series' pairs are chained newest first. */
typedef struct AlloyHeadPosting
{
	uint32		batch;
	uint32		next;
} AlloyHeadPosting;

/* Where a series' postings start: its newest posting, and that one's batch. */
typedef struct AlloyHeadSlot
{
	uint32		last;			/* ALLOY_POSTING_END: none */
	uint32		last_batch;		/* so a batch adds each series once */
} AlloyHeadSlot;

/* A hashed series (when ids are too sparse for a direct array). */
typedef struct AlloyHeadSid
{
	int64		sid;
	AlloyHeadSlot slot;
	char		status;
} AlloyHeadSid;

/*
 * Series ids come from a sequence, so a head's ids are usually dense: then
 * slots are an array indexed by id - base (8 bytes per id, no hashing, and
 * sequential access for batches of neighbouring series). Ids spread over
 * more than ALLOY_SLOTS_SPARSE times the series seen or the samples the
 * head may hold (its pages times ALLOY_HEAD_SAMPLES_PER_PAGE: remote-write
 * shards send series in hash order, so the first batches already span
 * every id) switch to a hash.
 */
#define ALLOY_SLOTS_SPARSE	2
#define ALLOY_SLOTS_MIN		65536

/* A 64-bit finalizer-style mix: series ids are often consecutive. */
static inline uint32
AlloySidHash(int64 sid)
{
	uint64		x = (uint64) sid;

	x ^= x >> 33;
	x *= UINT64CONST(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64CONST(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return (uint32) x;
}

#define SH_PREFIX		alloy_sidtab
#define SH_ELEMENT_TYPE AlloyHeadSid
#define SH_KEY_TYPE		int64
#define SH_KEY			sid
#define SH_HASH_KEY(tb, key) AlloySidHash(key)
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* The index of one partition's head. */
typedef struct AlloyHeadIndex
{
	RelFileNode node;			/* key */
	Oid			relid;
	MemoryContext cxt;			/* everything below lives here */
	bool		valid;			/* false while catching up, or after an error there */
	bool		oversize;		/* too big for the limit: not indexed */
	int			oversize_limit; /* the limit it was too big for */
	bool		check;			/* a relcache invalidation named relid */
	uint64		last_use;		/* LRU tick */
	TimestampTz last_use_time;
	/* how far the head has been read */
	BlockNumber head_first;
	BlockNumber last_blk;		/* InvalidBlockNumber: nothing read yet */
	OffsetNumber last_off;		/* items read on last_blk */
	uint32		npages;			/* head pages read */
	uint64		next_seq;
	/* batches, in head order */
	AlloyHeadBatch *batches;
	uint32		nbatches;
	uint32		batch_cap;
	/* postings, in segments */
	AlloyHeadPosting **segs;
	uint32		nsegs;
	uint32		seg_cap;
	uint64		npostings;
	/* series slots: direct while ids are dense, else hashed */
	bool		hashed;
	int64		base;			/* id of slots[0] */
	uint32		nslots;
	uint64		nsids;			/* series with a posting */
	uint64		expect;			/* samples the head may hold */
	AlloyHeadSlot *slots;
	alloy_sidtab_hash *sids;
} AlloyHeadIndex;

static MemoryContext AlloyHeadIndexCxt = NULL;
static AlloyHeadIndex *AlloyHeadIndexes[ALLOY_HEAD_INDEX_MAX_PARTS];
static int	AlloyHeadIndexCount = 0;
static uint64 AlloyHeadIndexTick = 0;
static bool AlloyHeadIndexCallbackSet = false;

/* Free entry i and close the gap it leaves in the array. */
static void
AlloyHeadIndexFree(int i)
{
	AlloyHeadIndex *e = AlloyHeadIndexes[i];

	MemoryContextDelete(e->cxt);
	pfree(e);
	AlloyHeadIndexes[i] = AlloyHeadIndexes[--AlloyHeadIndexCount];
}

/*
 * A relcache invalidation (seal, TRUNCATE, DROP, ANALYZE, ...) only marks
 * entries: the callback cannot look at catalogs, and most invalidations do
 * not change the relfilenode, so the check waits for the next open.
 */
static void
AlloyHeadIndexRelcacheCallback(Datum arg, Oid relid)
{
	int			i;

	for (i = 0; i < AlloyHeadIndexCount; i++)
		if (!OidIsValid(relid) || AlloyHeadIndexes[i]->relid == relid)
			AlloyHeadIndexes[i]->check = true;
}

/* Whether relid still exists and still has the entry's relfilenode. */
static bool
AlloyHeadIndexStillCurrent(AlloyHeadIndex *e)
{
	HeapTuple	tup;
	bool		same;

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(e->relid));
	if (!HeapTupleIsValid(tup))
		return false;
	same = ((Form_pg_class) GETSTRUCT(tup))->relfilenode == e->node.relNode;
	ReleaseSysCache(tup);
	return same;
}

static uint64
AlloyHeadIndexTotal(void)
{
	uint64		total = 0;
	int			i;

	for (i = 0; i < AlloyHeadIndexCount; i++)
		total += AlloyHeadIndexes[i]->npostings;
	return total;
}

/*
 * Drop entries that went away, stayed unused too long, or no longer fit
 * the limit (least recently used first), sparing the entry for keep.
 */
static void
AlloyHeadIndexSweep(Relation keep)
{
	TimestampTz now = GetCurrentTimestamp();
	int			i;

	for (i = AlloyHeadIndexCount - 1; i >= 0; i--)
	{
		AlloyHeadIndex *e = AlloyHeadIndexes[i];
		bool		is_keep = RelFileNodeEquals(e->node, keep->rd_node);

		if (is_keep)
		{
			e->check = false;
			continue;
		}
		if ((e->check && !AlloyHeadIndexStillCurrent(e)) ||
			TimestampDifferenceExceeds(e->last_use_time, now, ALLOY_HEAD_INDEX_IDLE_MS) ||
			alloy_head_index_max_entries == 0)
			AlloyHeadIndexFree(i);
		else
			e->check = false;
	}
	while (AlloyHeadIndexTotal() > (uint64) alloy_head_index_max_entries)
	{
		int			victim = -1;

		for (i = 0; i < AlloyHeadIndexCount; i++)
		{
			AlloyHeadIndex *e = AlloyHeadIndexes[i];

			if (RelFileNodeEquals(e->node, keep->rd_node))
				continue;
			if (victim < 0 || e->last_use < AlloyHeadIndexes[victim]->last_use)
				victim = i;
		}
		if (victim < 0)
			break;
		AlloyHeadIndexFree(victim);
	}
}

/* Empty an entry (a new head, or the old one no longer matches). */
static void
AlloyHeadIndexReset(AlloyHeadIndex *e, BlockNumber head_first)
{
	MemoryContextReset(e->cxt);
	e->valid = false;
	e->oversize = false;
	e->head_first = head_first;
	e->last_blk = InvalidBlockNumber;
	e->last_off = InvalidOffsetNumber;
	e->npages = 0;
	e->next_seq = 0;
	e->batch_cap = 1024;
	e->batches = MemoryContextAllocHuge(e->cxt, sizeof(AlloyHeadBatch) * e->batch_cap);
	e->nbatches = 0;
	e->seg_cap = 16;
	e->segs = MemoryContextAlloc(e->cxt, sizeof(AlloyHeadPosting *) * e->seg_cap);
	e->nsegs = 0;
	e->npostings = 0;
	e->hashed = false;
	e->base = 0;
	e->nslots = 0;
	e->nsids = 0;
	e->slots = NULL;
	e->sids = NULL;
}

/* Move the direct slots into a hash: the ids turned out sparse. */
static void
AlloyHeadSlotsToHash(AlloyHeadIndex *e)
{
	uint32		i;

	e->sids = alloy_sidtab_create(e->cxt, Max(e->nsids * 2, 1024), NULL);
	for (i = 0; i < e->nslots; i++)
	{
		if (e->slots[i].last != ALLOY_POSTING_END)
		{
			bool		found;
			AlloyHeadSid *h = alloy_sidtab_insert(e->sids, e->base + i, &found);

			h->slot = e->slots[i];
		}
	}
	if (e->slots)
		pfree(e->slots);
	e->slots = NULL;
	e->nslots = 0;
	e->hashed = true;
}

/*
 * Make the direct slots cover sid, growing towards it (by a quarter more
 * than needed, so ids arriving one by one cost amortised constant time), or switch to a
 * hash if that would leave most slots empty.
 */
static void
AlloyHeadSlotsCover(AlloyHeadIndex *e, int64 sid)
{
	int64		lo;
	int64		hi;
	uint64		want;
	uint64		size;
	int64		newbase;
	AlloyHeadSlot *slots;
	uint64		i;

	/* far from zero, id arithmetic could overflow: hash those */
	if (sid < PG_INT64_MIN / 4 || sid > PG_INT64_MAX / 4)
	{
		AlloyHeadSlotsToHash(e);
		return;
	}
	if (e->slots == NULL)
	{
		lo = hi = sid;
		size = 1024;
		newbase = sid - 512 < PG_INT64_MIN / 4 ? sid : sid - 512;
	}
	else
	{
		lo = Min(e->base, sid);
		hi = Max(e->base + (int64) e->nslots - 1, sid);
		want = (uint64) (hi - lo) + 1;
		if (want > (uint64) ALLOY_SLOTS_SPARSE * Max(e->nsids, e->expect) + ALLOY_SLOTS_MIN ||
			want > PG_UINT32_MAX / 2)
		{
			AlloyHeadSlotsToHash(e);
			return;
		}
		size = Max(want + want / 4, (uint64) e->nslots + 1024);
		size = Min(size, PG_UINT32_MAX / 2);
		/* the spare room goes on the side the ids grow to */
		newbase = sid < e->base ? hi + 1 - (int64) size : e->base;
	}
	slots = MemoryContextAllocHuge(e->cxt, sizeof(AlloyHeadSlot) * size);
	for (i = 0; i < size; i++)
	{
		slots[i].last = ALLOY_POSTING_END;
		slots[i].last_batch = ALLOY_POSTING_END;
	}
	if (e->slots)
	{
		memcpy(slots + (e->base - newbase), e->slots, sizeof(AlloyHeadSlot) * e->nslots);
		pfree(e->slots);
	}
	e->slots = slots;
	e->base = newbase;
	e->nslots = (uint32) size;
}

/* The slot of series sid, created if need be. */
static inline AlloyHeadSlot *
AlloyHeadSlotFor(AlloyHeadIndex *e, int64 sid)
{
	AlloyHeadSid *h;
	bool		found;

	if (!e->hashed)
	{
		if (e->slots == NULL || sid < e->base || sid - e->base >= (int64) e->nslots)
			AlloyHeadSlotsCover(e, sid);
		if (!e->hashed)
			return &e->slots[sid - e->base];
	}
	h = alloy_sidtab_insert(e->sids, sid, &found);
	if (!found)
	{
		h->slot.last = ALLOY_POSTING_END;
		h->slot.last_batch = ALLOY_POSTING_END;
	}
	return &h->slot;
}

/* The slot of series sid, or NULL if it has none. */
static inline AlloyHeadSlot *
AlloyHeadSlotFind(AlloyHeadIndex *e, int64 sid)
{
	AlloyHeadSlot *slot;

	if (e->hashed)
	{
		AlloyHeadSid *h = alloy_sidtab_lookup(e->sids, sid);

		slot = h ? &h->slot : NULL;
	}
	else if (e->slots == NULL || sid < e->base || sid - e->base >= (int64) e->nslots)
		slot = NULL;
	else
		slot = &e->slots[sid - e->base];
	return (slot && slot->last != ALLOY_POSTING_END) ? slot : NULL;
}

static inline AlloyHeadPosting *
AlloyPosting(AlloyHeadIndex *e, uint32 p)
{
	return &e->segs[p >> ALLOY_POSTING_SEG_BITS][p & (ALLOY_POSTING_SEG_SIZE - 1)];
}

/* Record that series sid has samples in batch b (once per pair). */
static inline void
AlloyHeadIndexAdd(AlloyHeadIndex *e, int64 sid, uint32 b)
{
	AlloyHeadSlot *s = AlloyHeadSlotFor(e, sid);
	uint32		p;
	AlloyHeadPosting *post;

	if (s->last_batch == b)
		return;
	if (s->last == ALLOY_POSTING_END)
		e->nsids++;
	if ((e->npostings & (ALLOY_POSTING_SEG_SIZE - 1)) == 0)
	{
		if (e->nsegs >= e->seg_cap)
		{
			e->seg_cap *= 2;
			e->segs = repalloc(e->segs, sizeof(AlloyHeadPosting *) * e->seg_cap);
		}
		e->segs[e->nsegs++] = MemoryContextAlloc(e->cxt,
												 sizeof(AlloyHeadPosting) * ALLOY_POSTING_SEG_SIZE);
	}
	p = (uint32) e->npostings++;
	post = AlloyPosting(e, p);
	post->batch = b;
	post->next = s->last;
	s->last = p;
	s->last_batch = b;
}

/* Index one batch (number b) holding the series ids sids[0..n). */
static void
AlloyHeadIndexAddBatch(AlloyHeadIndex *e, const int64 *sids, int n, uint32 b)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		if (i + ALLOY_PREFETCH_AHEAD < n && !e->hashed && e->slots != NULL)
		{
			int64		ahead = sids[i + ALLOY_PREFETCH_AHEAD];

			if (ahead >= e->base && ahead - e->base < (int64) e->nslots)
				ALLOY_PREFETCH(&e->slots[ahead - e->base]);
		}
		AlloyHeadIndexAdd(e, sids[i], b);
	}
}

/*
 * Read the head from where the entry stopped to its current end. Returns
 * false when the entry must be rebuilt from the start (what it read last is
 * no longer there) or does not fit the limit (then it is marked oversize).
 * e->valid stays false until the end, so an error half-way (a corrupt
 * batch, a cancel) leaves an entry the next open rebuilds.
 */
static bool
AlloyHeadIndexCatchUp(AlloyHeadIndex *e, Relation rel, const AlloyMetaData *meta)
{
	AlloyHeadWalk walk;
	uint64		others = 0;
	int			i;
	int64	   *sids;
	int			sids_cap = 1024;

	for (i = 0; i < AlloyHeadIndexCount; i++)
		if (AlloyHeadIndexes[i] != e)
			others += AlloyHeadIndexes[i]->npostings;

	sids = palloc(sizeof(int64) * sids_cap);
	e->valid = false;
	e->expect = (uint64) meta->head_npages * ALLOY_HEAD_SAMPLES_PER_PAGE;
	if (BlockNumberIsValid(e->last_blk))
		AlloyHeadWalkResume(&walk, rel, e->last_blk, e->last_off + 1, e->next_seq);
	else
		AlloyHeadWalkBegin(&walk, rel, meta->head_first);
	while (AlloyHeadWalkNextPage(&walk))
	{
		const AlloyBatchHeader *hdr;
		Size		len;
		uint64		seq_base;

		if (walk.blk == e->last_blk)
		{
			/* resumed: the last item read must still be the same batch */
			const AlloyBatchHeader *last;
			const AlloyHeadBatch *lb;

			if (e->nbatches == 0 || e->last_off == InvalidOffsetNumber ||
				walk.maxoff < e->last_off)
			{
				AlloyHeadWalkEnd(&walk);
				return false;
			}
			lb = &e->batches[e->nbatches - 1];
			last = (const AlloyBatchHeader *) PageGetItem(walk.page,
														  PageGetItemId(walk.page, e->last_off));
			if (last->xid != lb->xid || last->nsamples != lb->nsamples ||
				last->min_t != lb->min_t || last->max_t != lb->max_t)
			{
				AlloyHeadWalkEnd(&walk);
				return false;
			}
		}
		else
			e->npages++;
		while (AlloyHeadWalkNextInPage(&walk, &hdr, &len, &seq_base))
		{
			AlloyHeadBatch *b;
			AlloyBatchIter it;
			AlloyHeadSample hs;
			int			n = 0;

			if (e->nbatches >= e->batch_cap)
			{
				e->batch_cap *= 2;
				e->batches = repalloc_huge(e->batches, sizeof(AlloyHeadBatch) * e->batch_cap);
			}
			AlloyBatchIterInit(&it, hdr, len);
			b = &e->batches[e->nbatches];
			b->seq_base = e->next_seq;
			b->min_t = hdr->min_t;
			b->max_t = hdr->max_t;
			b->xid = hdr->xid;
			b->nsamples = hdr->nsamples;
			b->blk = walk.blk;
			b->off = walk.off - 1;	/* the item just returned */
			while (AlloyBatchNext(&it, &hs))
			{
				if (n >= sids_cap)
				{
					sids_cap *= 2;
					sids = repalloc(sids, sizeof(int64) * sids_cap);
				}
				sids[n++] = hs.series_id;
			}
			/* cover the batch's id range first, so slots grow once */
			if (!e->hashed && n > 0)
			{
				(void) AlloyHeadSlotFor(e, hdr->min_sid);
				(void) AlloyHeadSlotFor(e, hdr->max_sid);
			}
			AlloyHeadIndexAddBatch(e, sids, n, e->nbatches);
			e->nbatches++;
			e->next_seq += hdr->nsamples;
		}
		e->last_blk = walk.blk;
		e->last_off = walk.maxoff;

		/* over the limit: other partitions' entries go first, least recently used first */
		while (others + e->npostings > (uint64) alloy_head_index_max_entries && others > 0)
		{
			int			victim = -1;

			for (i = 0; i < AlloyHeadIndexCount; i++)
				if (AlloyHeadIndexes[i] != e &&
					(victim < 0 || AlloyHeadIndexes[i]->last_use < AlloyHeadIndexes[victim]->last_use))
					victim = i;
			others -= AlloyHeadIndexes[victim]->npostings;
			AlloyHeadIndexFree(victim);
		}
		if (others + e->npostings > (uint64) alloy_head_index_max_entries)
		{
			/* too big: free what it holds, remember not to try again */
			MemoryContextReset(e->cxt);
			e->batches = NULL;
			e->nbatches = e->batch_cap = 0;
			e->segs = NULL;
			e->nsegs = e->seg_cap = 0;
			e->npostings = 0;
			e->slots = NULL;
			e->nslots = 0;
			e->nsids = 0;
			e->hashed = false;
			e->sids = NULL;
			e->last_blk = InvalidBlockNumber;
			e->npages = 0;
			e->oversize = true;
			e->oversize_limit = alloy_head_index_max_entries;
			e->valid = true;
			AlloyHeadWalkEnd(&walk);
			pfree(sids);
			return false;
		}
	}
	if (walk.lost)
		return false;			/* what was read last is gone */
	e->valid = true;
	pfree(sids);
	return true;
}

/*
 * Bring entry e up to rel's head (meta was just read): start over when the
 * head is another one or shorter than what was indexed, read what was
 * appended, and start over once more if what was read last is gone. False
 * when e cannot serve (too big for the limit, or the second try failed).
 * *added: the batches this call indexed.
 */
static bool
AlloyHeadIndexBringUp(AlloyHeadIndex *e, Relation rel, const AlloyMetaData *meta,
					  uint32 *added)
{
	uint32		before;

	*added = 0;
	if (!e->valid || e->head_first != meta->head_first ||
		e->npages > meta->head_npages)
		AlloyHeadIndexReset(e, meta->head_first);
	before = e->nbatches;
	if (!AlloyHeadIndexCatchUp(e, rel, meta))
	{
		if (e->oversize)
			return false;
		/* what was read last is gone: start over once */
		AlloyHeadIndexReset(e, meta->head_first);
		before = 0;
		if (!AlloyHeadIndexCatchUp(e, rel, meta))
			return false;
	}
	*added = e->nbatches - before;
	return true;
}

/*
 * The head batches of rel that may hold samples of the series only[0..nonly)
 * in [mint, maxt], in head order, caught up to the head's current end; or
 * NULL when rel's head is not indexed (the limit is 0 or too small), and the
 * caller walks the head. meta is the metapage the caller just copied.
 */
AlloyHeadBatchRef *
AlloyHeadIndexLookup(Relation rel, const AlloyMetaData *meta,
					 const int64 *only, int nonly, int64 mint, int64 maxt,
					 int *nrefs)
{
	AlloyHeadIndex *e = NULL;
	AlloyHeadBatchRef *refs;
	uint8	   *marks;
	uint32		nmarked = 0;
	uint32		bi;
	uint32		n = 0;
	uint32		added;
	int			i;

	*nrefs = 0;
	if (alloy_head_index_max_entries <= 0 && AlloyHeadIndexCount == 0)
		return NULL;
	if (AlloyHeadIndexCxt == NULL)
		AlloyHeadIndexCxt = AllocSetContextCreate(TopMemoryContext, "alloy head index",
												  ALLOCSET_SMALL_SIZES);
	if (!AlloyHeadIndexCallbackSet)
	{
		CacheRegisterRelcacheCallback(AlloyHeadIndexRelcacheCallback, (Datum) 0);
		AlloyHeadIndexCallbackSet = true;
	}
	AlloyHeadIndexSweep(rel);
	if (alloy_head_index_max_entries <= 0 || !BlockNumberIsValid(meta->head_first))
	{
		/* nothing to index; an entry of this relfilenode is stale */
		for (i = 0; i < AlloyHeadIndexCount; i++)
			if (RelFileNodeEquals(AlloyHeadIndexes[i]->node, rel->rd_node))
			{
				AlloyHeadIndexFree(i);
				break;
			}
		return NULL;
	}

	for (i = 0; i < AlloyHeadIndexCount; i++)
		if (RelFileNodeEquals(AlloyHeadIndexes[i]->node, rel->rd_node))
		{
			e = AlloyHeadIndexes[i];
			break;
		}
	if (e == NULL)
	{
		if (AlloyHeadIndexCount >= ALLOY_HEAD_INDEX_MAX_PARTS)
		{
			int			victim = 0;

			for (i = 1; i < AlloyHeadIndexCount; i++)
				if (AlloyHeadIndexes[i]->last_use < AlloyHeadIndexes[victim]->last_use)
					victim = i;
			AlloyHeadIndexFree(victim);
		}
		e = MemoryContextAllocZero(AlloyHeadIndexCxt, sizeof(AlloyHeadIndex));
		e->node = rel->rd_node;
		e->relid = RelationGetRelid(rel);
		e->cxt = AllocSetContextCreate(AlloyHeadIndexCxt, "alloy head index partition",
									   ALLOCSET_DEFAULT_SIZES);
		AlloyHeadIndexReset(e, meta->head_first);
		AlloyHeadIndexes[AlloyHeadIndexCount++] = e;
	}
	e->last_use = ++AlloyHeadIndexTick;
	e->last_use_time = GetCurrentTimestamp();

	if (e->oversize)
	{
		if (e->oversize_limit == alloy_head_index_max_entries &&
			e->head_first == meta->head_first)
			return NULL;
		AlloyHeadIndexReset(e, meta->head_first);
	}
	if (!AlloyHeadIndexBringUp(e, rel, meta, &added))
		return NULL;

	/*
	 * The batches of the wanted series, in head order, without repeats: a
	 * bitmap over the batches costs less than sorting when many series are
	 * wanted, and little when one is.
	 */
	marks = palloc0((e->nbatches + 7) / 8 + 1);
	for (i = 0; i < nonly; i++)
	{
		AlloyHeadSlot *s = AlloyHeadSlotFind(e, only[i]);
		uint32		p;

		if (s == NULL)
			continue;
		for (p = s->last; p != ALLOY_POSTING_END; p = AlloyPosting(e, p)->next)
		{
			uint32		b = AlloyPosting(e, p)->batch;

			if (!(marks[b / 8] & (1 << (b % 8))))
			{
				marks[b / 8] |= 1 << (b % 8);
				nmarked++;
			}
		}
	}
	refs = palloc(sizeof(AlloyHeadBatchRef) * Max(nmarked, 1));
	for (bi = 0; bi < e->nbatches && n < nmarked; bi++)
	{
		AlloyHeadBatch *b = &e->batches[bi];

		if (!(marks[bi / 8] & (1 << (bi % 8))))
			continue;
		if (b->max_t < mint || b->min_t > maxt)
		{
			nmarked--;
			continue;
		}
		refs[n].blk = b->blk;
		refs[n].off = b->off;
		refs[n].xid = b->xid;
		refs[n].nsamples = b->nsamples;
		refs[n].seq_base = b->seq_base;
		n++;
	}
	pfree(marks);
	*nrefs = (int) n;
	return refs;
}

bool
AlloyHeadIndexExists(void)
{
	return AlloyHeadIndexCount > 0;
}

/*
 * Catch every indexed partition up with its head. An idle HTTP worker does
 * this so that the first query after a burst of writes finds its index
 * current instead of first reading everything appended since (about 30 ns
 * per sample, a tenth of a second for a burst of 4M samples). Entries are
 * neither created nor counted as used here, so unused ones still expire.
 * A partition being sealed (its lock taken) is skipped.
 */
int64
AlloyHeadIndexRefresh(void)
{
	int64		added = 0;
	int			i;

	for (i = AlloyHeadIndexCount - 1; i >= 0 && i < AlloyHeadIndexCount; i--)
	{
		AlloyHeadIndex *e = AlloyHeadIndexes[i];
		Relation	rel;
		AlloyPageSource src;
		AlloyMetaData meta;
		uint32		n;

		if (e->oversize || alloy_head_index_max_entries <= 0)
			continue;
		if (!ConditionalLockRelationOid(e->relid, AccessShareLock))
			continue;
		rel = try_relation_open(e->relid, NoLock);
		if (rel == NULL)
		{
			UnlockRelationOid(e->relid, AccessShareLock);
			continue;
		}
		/* a new relfilenode: the next open drops the entry */
		if (RelFileNodeEquals(rel->rd_node, e->node))
		{
			AlloySourceFromRel(&src, rel);
			if (AlloyReadMeta(&src, &meta) && BlockNumberIsValid(meta.head_first))
			{
				(void) AlloyHeadIndexBringUp(e, rel, &meta, &n);
				added += n;
			}
		}
		relation_close(rel, AccessShareLock);
	}
	return added;
}

/*
 * Forget the entry of a relfilenode whose pages are about to be rewritten
 * in place (a TRUNCATE of a relation created or given new storage in the
 * same transaction keeps its relfilenode).
 */
void
AlloyHeadIndexForget(const RelFileNode *node)
{
	int			i;

	for (i = 0; i < AlloyHeadIndexCount; i++)
		if (RelFileNodeEquals(AlloyHeadIndexes[i]->node, *node))
		{
			AlloyHeadIndexFree(i);
			return;
		}
}
