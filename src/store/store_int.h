/*
 * store_int.h: private header of src/store (the alloy table access
 * method): page layout, in-memory structures and the functions the phase
 * files share. Nothing outside src/store includes it; callers use
 * store.h.
 *
 * One partition relation looks like this (see docs/storage.md for why):
 *
 *	block 0				metapage: magic, format version, where the sealed
 *						region, its sparse index and the head chain are
 *	sealed region		chunk pages: items of (series_id, min_t, max_t) +
 *						one Prometheus XOR chunk, ordered by (series_id,
 *						min_t); one series' chunks never overlap in time
 *						and hold no duplicate timestamps
 *	index region		per chunk page, the key of its first chunk, so one
 *						series is found by binary search
 *	head pages			write batches, chained in append order; each batch
 *						item carries the inserting (sub)transaction's xid
 *
 * The sealed and index regions are written only by sealing, which rewrites
 * the whole partition into a new relfilenode under AccessExclusiveLock, so
 * they are immutable while anybody can see them. Head pages are appended to
 * concurrently under buffer locks. Every page change is WAL-logged (generic
 * WAL or full-page images).
 */
#ifndef ALLOY_STORE_STORE_INT_H
#define ALLOY_STORE_STORE_INT_H

#include "postgres.h"

#include "access/tableam.h"
#include "storage/bufpage.h"
#include "storage/relfilenode.h"
#include "utils/rel.h"
#include "utils/snapshot.h"

#include "store/store.h"

#define ALLOY_MAGIC			0xA110C5A7
/*
 * 1: chunk items held XOR chunks only. 2: a chunk item names its encoding
 * (XOR or decimal) in a byte after its header. 3: a head batch's header
 * carries the range of its series ids and times. 4: decimal chunks give bit
 * widths per group of 16 (or 8) samples instead of a prefix per field.
 */
#define ALLOY_FORMAT_VERSION 4

#define ALLOY_METAPAGE_BLKNO 0

/* Page types, kept in the special area. */
#define ALLOY_PAGE_META		1
#define ALLOY_PAGE_HEAD		2
#define ALLOY_PAGE_CHUNK	3
#define ALLOY_PAGE_INDEX	4

/*
 * Prometheus cuts XOR chunks at 120 samples, and so do we: remote read can
 * stream them as they are. Decimal chunks (codec/codec.h) take a few bits per
 * sample, so their fixed costs (item header, first timestamp and value)
 * matter more: they hold up to 240 samples (an hour at 15 s). A seal
 * encodes each run of up to 240 samples both ways and keeps the smaller.
 * Readers decode chunks of up to ALLOY_CHUNK_MAX_SAMPLES.
 */
#define ALLOY_CHUNK_SAMPLES 120
#define ALLOY_DEC_CHUNK_SAMPLES 240
#define ALLOY_CHUNK_MAX_SAMPLES 480
/* Room for the chunks of one run while they are encoded. */
#define ALLOY_CHUNK_BUF		(2 + ALLOY_DEC_CHUNK_SAMPLES * 20 + 16)

/* Chunk encodings (the byte after a chunk item's header). */
#define ALLOY_ENC_XOR		1	/* Prometheus's XOR chunk (its EncXOR) */
#define ALLOY_ENC_DECIMAL	0x81	/* codec/decchunk.c; alloy's own */

typedef struct AlloyPageOpaqueData
{
	uint16		type;			/* ALLOY_PAGE_* */
	uint16		flags;			/* unused, zero */
	BlockNumber next;			/* head pages: next in the chain */
} AlloyPageOpaqueData;

typedef AlloyPageOpaqueData *AlloyPageOpaque;

#define AlloyPageGetOpaque(page) ((AlloyPageOpaque) PageGetSpecialPointer(page))

typedef struct AlloyMetaData
{
	uint32		magic;
	uint32		version;
	BlockNumber sealed_start;	/* first chunk page */
	uint32		sealed_npages;
	BlockNumber index_start;	/* first index page */
	uint32		index_npages;
	BlockNumber head_first;		/* InvalidBlockNumber when no head */
	BlockNumber head_last;
	uint32		head_npages;
	uint32		pad;
	uint64		sealed_nchunks;
	uint64		sealed_nsamples;
	int64		sealed_min_t;
	int64		sealed_max_t;
	uint64		seal_count;		/* how many seals built this file's lineage */
	uint64		sealed_ndecimal;	/* chunks in the decimal encoding */
} AlloyMetaData;

#define AlloyPageGetMeta(page) ((AlloyMetaData *) PageGetContents(page))

/*
 * A head write batch: header, then nsamples encoded samples, each as the
 * zigzag varint of its series id minus the previous one, the zigzag varint
 * of its time minus the previous one, and the value's 8 bytes. Requests
 * list many samples of neighbouring series at one time, so a sample takes
 * about 10-11 bytes instead of 24, halving head pages and their WAL.
 */
typedef struct AlloyBatchHeader
{
	TransactionId xid;			/* the inserting subtransaction */
	uint32		nsamples;
	/*
	 * The smallest and largest series id and time in the batch: a reader
	 * that wants a few series or a short time range skips the batches that
	 * cannot hold them without decoding them (32 bytes on a batch of a few
	 * hundred samples).
	 */
	int64		min_sid;
	int64		max_sid;
	int64		min_t;
	int64		max_t;
} AlloyBatchHeader;

/* Largest encoding of one head sample: two 10-byte varints and the value. */
#define ALLOY_HEAD_SAMPLE_MAX 28
/* Rough head samples per page, for estimates and seal decisions. */
#define ALLOY_HEAD_SAMPLES_PER_PAGE 700

/* Decodes the samples of one batch item, bounds-checked. */
typedef struct AlloyBatchIter
{
	const uint8 *p;
	const uint8 *end;
	uint32		left;
	int64		sid;
	int64		t;
} AlloyBatchIter;

/* One decoded head sample. */
typedef struct AlloyHeadSample
{
	int64		series_id;
	int64		t;
	uint64		vbits;			/* the float64's bits, NaN payloads kept */
} AlloyHeadSample;

/* A sealed chunk item: header, encoding byte, then the chunk bytes. */
typedef struct AlloyChunkHeader
{
	int64		series_id;
	int64		min_t;
	int64		max_t;
} AlloyChunkHeader;

/* Bytes before a chunk item's chunk: the header and the encoding byte. */
#define ALLOY_CHUNK_ITEM_HDR (sizeof(AlloyChunkHeader) + 1)

/* Sample count of a chunk of either encoding (0 when unreadable). */
extern int	AlloyChunkCount(uint8 encoding, const uint8 *data, size_t len);

/*
 * Decode a chunk of either encoding into ts[]/vs[] (room for max samples);
 * the sample count, or -1 when the chunk is corrupt, too large or of an
 * unknown encoding.
 */
extern int	AlloyChunkDecode(uint8 encoding, const uint8 *data, size_t len,
							 int64 *ts, double *vs, int max);

/* One index entry per chunk page: the key of the page's first chunk. */
typedef struct AlloyIndexEntry
{
	int64		series_id;
	int64		min_t;
} AlloyIndexEntry;

#define ALLOY_INDEX_PER_PAGE \
	((BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(AlloyPageOpaqueData))) / sizeof(AlloyIndexEntry))

/* One in-memory head sample with its write order (last write wins). */
typedef struct AlloyMemSample
{
	int64		series_id;
	int64		t;
	uint64		vbits;
	uint64		seq;
} AlloyMemSample;

/*
 * Where pages are read from: the relation, or (while sealing rewrites a
 * relation into a new relfilenode) the old relfilenode directly.
 */
typedef struct AlloyPageSource
{
	Relation	rel;
	bool		by_node;
	RelFileNode node;
	bool		permanent;
} AlloyPageSource;

/* Reads one series or everything from a sealed region, in key order. */
typedef struct AlloySealedCursor
{
	AlloyPageSource src;
	BlockNumber blk;			/* next page to load */
	BlockNumber endblk;
	Buffer		buf;			/* the current page, pinned */
	Page		page;
	OffsetNumber off;			/* next item on it */
	OffsetNumber maxoff;
	int64		only_sid;		/* with has_sid: stop after this series */
	bool		has_sid;
	int64		mint;
	int64		maxt;
	int			n;				/* decoded samples of the current chunk */
	int			pos;
	int64		sid;
	int64		ts[ALLOY_CHUNK_MAX_SAMPLES];
	double		vs[ALLOY_CHUNK_MAX_SAMPLES];
} AlloySealedCursor;

/* One partition opened for reading with a snapshot. */
typedef struct AlloyPartReader
{
	Relation	rel;
	bool		empty;
	AlloyMetaData meta;
	AlloyIndexEntry *index;		/* meta.sealed_npages entries */
	AlloyMemSample *head;		/* visible head samples, sorted */
	int64		nhead;
	int64		mint;
	int64		maxt;
	const int64 *only;			/* sorted series ids to load from the head, or NULL for all */
	int			nonly;
} AlloyPartReader;

/* The partitions a store.h reader reads, opened once. */
struct AlloySamplesReader
{
	MemoryContext cxt;
	Snapshot	snapshot;
	int64		mint;
	int64		maxt;
	int			nparts;
	AlloyPartReader **parts;
};

extern BlockNumber AlloyIndexStart(AlloyPartReader *pr, int64 sid, int64 mint);
extern AlloySealedCursor *AlloyPartSeriesCursor(AlloyPartReader *pr, int64 sid);

/*
 * Merges a sealed cursor with sorted head samples into one (series, time)
 * ordered stream without duplicates: head beats sealed, and among head
 * samples the latest write (highest seq) wins.
 */
typedef struct AlloyMerge
{
	AlloySealedCursor *cur;
	bool		have_s;
	bool		s_done;
	int64		s_sid;
	int64		s_t;
	double		s_v;
	AlloyMemSample *head;
	int64		hpos;
	int64		hend;
} AlloyMerge;

/* Sample-to-tuple scan state. */
typedef struct AlloyScanDescData
{
	TableScanDescData base;
	MemoryContext cxt;			/* where the scan's state lives */
	AlloyPartReader *part;
	AlloyMerge	merge;
	bool		started;
	bool		skip;			/* another parallel participant scans */
	bool		copy_out;		/* serving COPY TO: mark stale markers */
	/* analyze: samples of the current block */
	int64		an_n;
	int64		an_pos;
	AlloyHeadSample *an_samples;
	int64		an_cap;
} AlloyScanDescData;

typedef AlloyScanDescData *AlloyScanDesc;

/* Parallel scan: the first participant takes everything. */
typedef struct AlloyParallelScanDescData
{
	ParallelTableScanDescData base;
	pg_atomic_uint32 claimed;
} AlloyParallelScanDescData;

/*
 * pages.c (AlloyTimestampToMs, AlloyMsToTimestamp, AlloyBitsToDouble and
 * AlloyDoubleToBits are in store.h)
 */
extern void AlloyInitPage(Page page, uint16 type);
extern void AlloyInitMetaPage(Page page);
extern Buffer AlloyReadPage(AlloyPageSource *src, BlockNumber blk);
extern void AlloySourceFromRel(AlloyPageSource *src, Relation rel);
extern bool AlloyReadMeta(AlloyPageSource *src, AlloyMetaData *meta);
extern void AlloyCheckMeta(Relation rel, Page page);
extern BlockNumber AlloyWriteNewPage(Relation rel, Page page);
extern void AlloyCheckTupleDesc(Relation rel);
extern const TupleTableSlotOps *AlloySlotCallbacks(Relation rel);
extern bool AlloyIsAlloyRelation(Relation rel);
extern int	AlloyBatchEncode(const AlloySample *s, int n, uint8 *out, Size room,
							 Size *used);
extern pg_attribute_noreturn() void AlloyBatchTooShort(Size itemlen);
extern void AlloyBatchIterInit(AlloyBatchIter *it, const AlloyBatchHeader *hdr,
							   Size itemlen);
extern bool AlloyBatchNext(AlloyBatchIter *it, AlloyHeadSample *out);

/*
 * head_walk.c: a walk over a head chain in append order. The page being
 * read stays share-locked until the next page is taken or the walk ends;
 * a batch header handed out points into it until then.
 */
typedef struct AlloyHeadWalk
{
	Relation	rel;
	BlockNumber next;			/* next page of the chain, or invalid */
	BlockNumber blk;			/* the page held (when buf is valid) */
	Buffer		buf;
	Page		page;
	OffsetNumber off;			/* next item on it */
	OffsetNumber maxoff;
	OffsetNumber start;			/* first item to read on the next page */
	uint64		seq;			/* write-order number of the next batch's first sample */
	bool		resumed;		/* the next page is where a walk resumes */
	bool		lost;			/* ... and it was gone */
} AlloyHeadWalk;

extern void AlloyHeadWalkBegin(AlloyHeadWalk *w, Relation rel, BlockNumber first);
extern void AlloyHeadWalkResume(AlloyHeadWalk *w, Relation rel, BlockNumber blk,
								OffsetNumber off, uint64 seq);
extern bool AlloyHeadWalkNextPage(AlloyHeadWalk *w);
extern void AlloyHeadWalkEnd(AlloyHeadWalk *w);

/*
 * The next batch on the page held: its header, item length and the
 * write-order number of its first sample. False when the page has no more
 * (or none is held).
 */
extern bool AlloyHeadWalkNextInPage(AlloyHeadWalk *w, const AlloyBatchHeader **hdr,
									Size *len, uint64 *seq_base);
/* The next batch of the chain, taking pages as needed; false at its end. */
extern bool AlloyHeadWalkNext(AlloyHeadWalk *w, const AlloyBatchHeader **hdr,
							  Size *len, uint64 *seq_base);

/*
 * copy_format.c: COPY of an alloy table writes a stale marker as NaN this
 * many microseconds after its (millisecond) time, and reads it back so.
 */
#define ALLOY_COPY_STALE_USEC	1
extern bool AlloyInCopyOf(Relation rel, bool from);
extern TimestampTz AlloyCopyOutTime(int64 t_ms, uint64 vbits);
extern double AlloyCopyInValue(TimestampTz ts, int64 t_ms, double value);

/* visibility (read.c) */
extern bool AlloyXidVisible(TransactionId xid, Snapshot snapshot);

/* head.c */
extern void AlloyHeadAppend(Relation rel, const AlloySample *samples, int n,
							ItemPointer first_tid);
extern void alloy_tuple_insert(Relation rel, TupleTableSlot *slot, CommandId cid,
							   int options, struct BulkInsertStateData *bistate);
extern void alloy_multi_insert(Relation rel, TupleTableSlot **slots, int nslots,
							   CommandId cid, int options,
							   struct BulkInsertStateData *bistate);

/* read.c */
extern void AlloySealedCursorInit(AlloySealedCursor *cur, AlloyPageSource *src,
								  const AlloyMetaData *meta, BlockNumber startblk,
								  int64 mint, int64 maxt);
extern bool AlloySealedNext(AlloySealedCursor *cur, int64 *sid, int64 *t, double *v);
extern bool AlloySealedNextChunk(AlloySealedCursor *cur, const AlloyChunkHeader **hdrp,
								 uint8 *encoding, const uint8 **data, size_t *len);
extern void AlloySealedCursorEnd(AlloySealedCursor *cur);
extern int	AlloyMemSampleCmp(const void *a, const void *b);
extern AlloyMemSample *AlloySortMemSamples(AlloyMemSample *a, int64 n);
extern AlloyPartReader *AlloyPartOpenSeries(Relation rel, Snapshot snapshot,
											int64 mint, int64 maxt,
											const int64 *only, int nonly);
extern AlloyPartReader *AlloyPartOpen(Relation rel, Snapshot snapshot,
									  int64 mint, int64 maxt);
extern void AlloyPartClose(AlloyPartReader *pr);
extern void AlloyMergeInit(AlloyMerge *m, AlloySealedCursor *cur,
						   AlloyMemSample *head, int64 hpos, int64 hend);
extern bool AlloyMergeNext(AlloyMerge *m, int64 *sid, int64 *t, double *v);
extern int64 AlloyHeadLowerBound(AlloyMemSample *head, int64 n, int64 sid);
extern int	AlloyPartReadSeries(AlloyPartReader *pr, int64 sid,
								int64 **ts, double **vs, int n, int *cap);

/*
 * head_index.c: a per-backend index of head batches by series, caught up
 * incrementally (see there). A reference to one batch that may hold a
 * wanted series, with what the full walk would know of it.
 */
typedef struct AlloyHeadBatchRef
{
	BlockNumber blk;
	OffsetNumber off;
	TransactionId xid;
	uint32		nsamples;
	uint64		seq_base;		/* write-order number of its first sample */
} AlloyHeadBatchRef;

/* Default of alloy.head_index_max_entries ((series, batch) pairs). */
#define ALLOY_HEAD_INDEX_DEFAULT_ENTRIES 8000000

extern int	alloy_head_index_max_entries;
extern AlloyHeadBatchRef *AlloyHeadIndexLookup(Relation rel, const AlloyMetaData *meta,
											   const int64 *only, int nonly,
											   int64 mint, int64 maxt, int *nrefs);
extern void AlloyHeadIndexForget(const RelFileNode *node);

/* scan.c */
extern TableScanDesc alloy_scan_begin(Relation rel, Snapshot snapshot, int nkeys,
									  struct ScanKeyData *key,
									  ParallelTableScanDesc pscan, uint32 flags);
extern void alloy_scan_end(TableScanDesc scan);
extern void alloy_scan_rescan(TableScanDesc scan, struct ScanKeyData *key,
							  bool set_params, bool allow_strat,
							  bool allow_sync, bool allow_pagemode);
extern bool alloy_scan_getnextslot(TableScanDesc scan, ScanDirection direction,
								   TupleTableSlot *slot);
extern Size alloy_parallelscan_estimate(Relation rel);
extern Size alloy_parallelscan_initialize(Relation rel, ParallelTableScanDesc pscan);
extern void alloy_parallelscan_reinitialize(Relation rel, ParallelTableScanDesc pscan);
extern bool alloy_scan_analyze_next_block(TableScanDesc scan, BlockNumber blockno,
										  BufferAccessStrategy bstrategy);
extern bool alloy_scan_analyze_next_tuple(TableScanDesc scan, TransactionId OldestXmin,
										  double *liverows, double *deadrows,
										  TupleTableSlot *slot);

/* seal.c */
extern int64 AlloySealRelation(Relation rel, bool *rewritten);

/* vacuum.c */
extern void alloy_relation_set_new_filenode(Relation rel, const RelFileNode *newrnode,
											char persistence, TransactionId *freezeXid,
											MultiXactId *minmulti);
extern void alloy_relation_nontransactional_truncate(Relation rel);
extern void alloy_relation_copy_data(Relation rel, const RelFileNode *newrnode);
extern void alloy_relation_vacuum(Relation rel, struct VacuumParams *params,
								  BufferAccessStrategy bstrategy);
extern void alloy_relation_estimate_size(Relation rel, int32 *attr_widths,
										 BlockNumber *pages, double *tuples,
										 double *allvisfrac);

/* partition.c (AlloyEnsurePartition, AlloyDropBefore: store.h) */
typedef struct AlloyPartition
{
	Oid			relid;
	int64		lo_ms;			/* inclusive */
	int64		hi_ms;			/* exclusive */
	bool		is_alloy;		/* uses the alloy access method */
} AlloyPartition;

extern Oid	AlloySamplesParentOid(bool missing_ok);
extern AlloyPartition *AlloyListPartitions(Oid parent, int *n);
extern Oid	AlloyPartitionFor(int64 t_ms);

/* worker.c */
extern PGDLLEXPORT void AlloyStorageWorkerMain(Datum arg);

#endif							/* ALLOY_STORE_STORE_INT_H */
