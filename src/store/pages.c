/*
 * pages.c: page and metapage helpers shared by every phase of the alloy
 * table access method, the checks that a relation is an alloy one, and the
 * millisecond <-> timestamptz conversion.
 *
 * Pages use the standard layout (line pointers, pd_lower/pd_upper) so that
 * full-page images and generic WAL skip the hole between them.
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "access/xloginsert.h"
#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/timestamp.h"

#include "store/store_int.h"

/* Microseconds between the Unix epoch and the PostgreSQL epoch (2000-01-01). */
#define ALLOY_EPOCH_OFFSET_US \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)

/*
 * timestamptz to Prometheus milliseconds; sub-millisecond digits are cut
 * towards minus infinity so that a sample never moves to a later millisecond.
 */
int64
AlloyTimestampToMs(TimestampTz ts)
{
	int64		us;

	if (TIMESTAMP_NOT_FINITE(ts))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("sample time must be finite")));
	us = ts + ALLOY_EPOCH_OFFSET_US;
	if (us >= 0)
		return us / 1000;
	return -((-us + 999) / 1000);
}

TimestampTz
AlloyMsToTimestamp(int64 ms)
{
	TimestampTz ts;

	if (ms > PG_INT64_MAX / 1000 || ms < PG_INT64_MIN / 1000)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("sample time %lld ms is out of range", (long long) ms)));
	ts = ms * 1000 - ALLOY_EPOCH_OFFSET_US;
	if (!IS_VALID_TIMESTAMP(ts))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("sample time %lld ms is out of range", (long long) ms)));
	return ts;
}

/* Values travel as bits so that NaN payloads (stale markers) survive. */
double
AlloyBitsToDouble(uint64 bits)
{
	double		v;

	memcpy(&v, &bits, sizeof(v));
	return v;
}

uint64
AlloyDoubleToBits(double v)
{
	uint64		bits;

	memcpy(&bits, &v, sizeof(bits));
	return bits;
}

static inline int
AlloyPutVarint(uint8 *p, uint64 v)
{
	int			n = 0;

	while (v >= 0x80)
	{
		p[n++] = (uint8) (v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8) v;
	return n;
}

/* Zigzag of a wrapping difference, so any two int64 values round-trip. */
static inline uint64
AlloyZigzag(int64 cur, int64 prev)
{
	uint64		d = (uint64) cur - (uint64) prev;

	return (d << 1) ^ (uint64) ((int64) d >> 63);
}

/*
 * Encode samples into out (room bytes) until the next one might not fit.
 * Returns how many were encoded; *used gets the bytes written.
 */
int
AlloyBatchEncode(const AlloySample *s, int n, uint8 *out, Size room, Size *used)
{
	Size		pos = 0;
	int64		psid = 0;
	int64		pt = 0;
	int			i;

	for (i = 0; i < n && pos + ALLOY_HEAD_SAMPLE_MAX <= room; i++)
	{
		uint64		bits = AlloyDoubleToBits(s[i].value);

		pos += AlloyPutVarint(out + pos, AlloyZigzag(s[i].series_id, psid));
		pos += AlloyPutVarint(out + pos, AlloyZigzag(s[i].t_ms, pt));
		memcpy(out + pos, &bits, sizeof(bits));
		pos += sizeof(bits);
		psid = s[i].series_id;
		pt = s[i].t_ms;
	}
	*used = pos;
	return i;
}

/* A head batch item too short for its header: the page is corrupt. */
void
AlloyBatchTooShort(Size itemlen)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("alloy head batch of %zu bytes is too short", itemlen)));
}

void
AlloyBatchIterInit(AlloyBatchIter *it, const AlloyBatchHeader *hdr, Size itemlen)
{
	if (itemlen < sizeof(AlloyBatchHeader))
		AlloyBatchTooShort(itemlen);
	it->p = (const uint8 *) hdr + sizeof(AlloyBatchHeader);
	it->end = (const uint8 *) hdr + itemlen;
	it->left = hdr->nsamples;
	it->sid = 0;
	it->t = 0;
}

static inline bool
AlloyGetVarint(AlloyBatchIter *it, uint64 *v)
{
	uint64		r = 0;
	int			shift = 0;

	while (it->p < it->end && shift < 64)
	{
		uint8		b = *it->p++;

		r |= (uint64) (b & 0x7f) << shift;
		if (!(b & 0x80))
		{
			*v = r;
			return true;
		}
		shift += 7;
	}
	return false;
}

/* Next sample of a batch; false at its end. Corruption is an error. */
bool
AlloyBatchNext(AlloyBatchIter *it, AlloyHeadSample *out)
{
	uint64		zs;
	uint64		zt;

	if (it->left == 0)
		return false;
	if (!AlloyGetVarint(it, &zs) || !AlloyGetVarint(it, &zt) ||
		it->end - it->p < (ptrdiff_t) sizeof(uint64))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("alloy head batch is truncated")));
	it->sid = (int64) ((uint64) it->sid + ((zs >> 1) ^ (0 - (zs & 1))));
	it->t = (int64) ((uint64) it->t + ((zt >> 1) ^ (0 - (zt & 1))));
	memcpy(&out->vbits, it->p, sizeof(uint64));
	it->p += sizeof(uint64);
	out->series_id = it->sid;
	out->t = it->t;
	it->left--;
	return true;
}

void
AlloyInitPage(Page page, uint16 type)
{
	AlloyPageOpaque opaque;

	PageInit(page, BLCKSZ, sizeof(AlloyPageOpaqueData));
	opaque = AlloyPageGetOpaque(page);
	opaque->type = type;
	opaque->flags = 0;
	opaque->next = InvalidBlockNumber;
}

void
AlloyInitMetaPage(Page page)
{
	AlloyMetaData *meta;

	AlloyInitPage(page, ALLOY_PAGE_META);
	meta = AlloyPageGetMeta(page);
	memset(meta, 0, sizeof(AlloyMetaData));
	meta->magic = ALLOY_MAGIC;
	meta->version = ALLOY_FORMAT_VERSION;
	meta->sealed_start = InvalidBlockNumber;
	meta->index_start = InvalidBlockNumber;
	meta->head_first = InvalidBlockNumber;
	meta->head_last = InvalidBlockNumber;
	meta->sealed_min_t = PG_INT64_MAX;
	meta->sealed_max_t = PG_INT64_MIN;
	((PageHeader) page)->pd_lower =
		((char *) meta + sizeof(AlloyMetaData)) - (char *) page;
}

/*
 * A metapage we do not understand must stop every reader and writer: a
 * newer format after a downgrade, or a relation that is not ours.
 */
void
AlloyCheckMeta(Relation rel, Page page)
{
	AlloyMetaData *meta = AlloyPageGetMeta(page);

	if (PageIsNew(page) || AlloyPageGetOpaque(page)->type != ALLOY_PAGE_META ||
		meta->magic != ALLOY_MAGIC)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("relation \"%s\" has no valid alloy metapage",
						rel ? RelationGetRelationName(rel) : "?")));
	if (meta->version != ALLOY_FORMAT_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("alloy storage format version %u is not supported",
						meta->version),
				 errdetail("This build reads format version %d.",
						   ALLOY_FORMAT_VERSION)));
}

void
AlloySourceFromRel(AlloyPageSource *src, Relation rel)
{
	src->rel = rel;
	src->by_node = false;
	memset(&src->node, 0, sizeof(src->node));
	src->permanent = rel->rd_rel->relpersistence == RELPERSISTENCE_PERMANENT;
}

Buffer
AlloyReadPage(AlloyPageSource *src, BlockNumber blk)
{
	if (src->by_node)
		return ReadBufferWithoutRelcache(src->node, MAIN_FORKNUM, blk,
										 RBM_NORMAL, NULL, src->permanent);
	return ReadBuffer(src->rel, blk);
}

/*
 * Copy the metapage; false when the relation has none yet (the metapage
 * is created by the first insert, so an empty partition costs no page at
 * all) or block 0 is still all zeros.
 */
bool
AlloyReadMeta(AlloyPageSource *src, AlloyMetaData *meta)
{
	Buffer		buf;
	Page		page;
	BlockNumber nblocks;

	if (src->by_node)
	{
		buf = AlloyReadPage(src, ALLOY_METAPAGE_BLKNO);
	}
	else
	{
		nblocks = RelationGetNumberOfBlocks(src->rel);
		if (nblocks == 0)
			return false;
		buf = ReadBuffer(src->rel, ALLOY_METAPAGE_BLKNO);
	}
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	if (PageIsNew(page))
	{
		/* being created by a first append, or left so by a crash: empty */
		UnlockReleaseBuffer(buf);
		return false;
	}
	AlloyCheckMeta(src->rel, page);
	memcpy(meta, AlloyPageGetMeta(page), sizeof(AlloyMetaData));
	UnlockReleaseBuffer(buf);
	return true;
}

/*
 * Append a fully built page at the end of rel and WAL-log it as a full
 * image. Only sealing uses this, on a new relfilenode nobody else can see
 * yet, so no extension lock is needed.
 */
BlockNumber
AlloyWriteNewPage(Relation rel, Page page)
{
	Buffer		buf;
	BlockNumber blkno;

	buf = ReadBufferExtended(rel, MAIN_FORKNUM, P_NEW, RBM_NORMAL, NULL);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	blkno = BufferGetBlockNumber(buf);

	START_CRIT_SECTION();
	memcpy(BufferGetPage(buf), page, BLCKSZ);
	MarkBufferDirty(buf);
	if (RelationNeedsWAL(rel))
		log_newpage_buffer(buf, true);
	END_CRIT_SECTION();

	UnlockReleaseBuffer(buf);
	return blkno;
}

/*
 * The AM stores exactly (series_id bigint, "time" timestamptz, value
 * double precision); anything else is refused up front rather than
 * misread later.
 */
void
AlloyCheckTupleDesc(Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			i;
	int			live = 0;
	static const Oid types[3] = {INT8OID, TIMESTAMPTZOID, FLOAT8OID};

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped)
			continue;
		if (live >= 3 || i != live || att->atttypid != types[live])
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("tables using access method alloy must have exactly the columns (series_id bigint, \"time\" timestamptz, value double precision)")));
		live++;
	}
	if (live != 3)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("tables using access method alloy must have exactly the columns (series_id bigint, \"time\" timestamptz, value double precision)")));
}

/*
 * The slot_callbacks of the alloy routine table (tableam.c): samples go
 * through virtual slots. It lives down here because its address is what
 * marks a relation as an alloy one (AlloyIsAlloyRelation), which lower
 * files need without depending on the routine table and all it calls.
 */
const TupleTableSlotOps *
AlloySlotCallbacks(Relation rel)
{
	return &TTSOpsVirtual;
}

/*
 * Whether rel uses the alloy access method: only alloy's routine table has
 * AlloySlotCallbacks as its slot_callbacks.
 */
bool
AlloyIsAlloyRelation(Relation rel)
{
	return rel->rd_tableam != NULL &&
		rel->rd_tableam->slot_callbacks == AlloySlotCallbacks;
}
