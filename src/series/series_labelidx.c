/*
 * series_labelidx.c: a backend-local in-memory label index of the catalog.
 *
 * /api/v1/label/<name>/values?match[]=... has to find the values of one label
 * over the series a selector matches. Answering it from the tables means
 * decoding GIN posting lists and visiting every matched heap row: about
 * 0.5 us per series, 5 ms for 10,000 series, where Prometheus answers from
 * its in-memory postings in well under a millisecond. This file keeps the
 * same structure per tenant in the memory of the backend that asks (in
 * practice the long-lived HTTP workers): every series' sorted label ids, and
 * for every label id the ascending list of series numbers carrying it.
 *
 * Keeping it current. Series are never updated or deleted, and new series
 * get their ids while holding the catalog's creation lock, which is kept
 * until the creating transaction ends (series_tables.c). So a transaction
 * that takes ids commits (or aborts) before the next creator can take any:
 * committed series ids grow in commit order, and the ids visible to any MVCC
 * snapshot are exactly the committed ids up to the largest visible one. The
 * index therefore only remembers that largest id (the watermark); before each
 * use it reads the primary key from the watermark up with the caller's
 * snapshot (one B-tree descent when nothing is new) and appends what it finds.
 * A backend's snapshots only move forward, so nothing is added twice.
 *
 * Not used, so the callers read the tables instead, when the transaction has
 * written (its own uncommitted series must not outlive it here), or past
 * alloy.label_index_max_series series in one backend (0 turns it off). A new
 * catalog (DROP and CREATE EXTENSION, or a rewrite of series_catalog) drops
 * everything. Memory: about 8 bytes per label of each series, 4 per series
 * and some 30 per distinct label id; 9.2 MB for the benchmark's 100,000
 * series of 10 labels.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "series/series_int.h"

/* alloy.label_index_max_series: series over all tenants kept by one backend. */
int			alloy_label_index_max_series = 4 * 1024 * 1024;

/* Tenants kept by one backend; one more starts afresh. */
#define ALLOY_LABEL_INDEX_MAX_TENANTS	16

/* The series numbers carrying one label id. */
typedef struct LabelPosting
{
	int32		n;
	int32		max;
	int32	   *series;			/* ascending */
	int32		name;			/* 1 + its name's number in names[], 0: not looked up */
} LabelPosting;

/*
 * Postings are found by label id through pages of 1,024 consecutive ids,
 * allocated when a tenant has an id in them: a direct lookup, where a hash
 * table was a quarter of the build time. Label ids come from one sequence
 * over all tenants, so a page may be partly another tenant's (unused).
 */
#define ALLOY_LI_PAGE_BITS		10
#define ALLOY_LI_PAGE_SIZE		(1 << ALLOY_LI_PAGE_BITS)

struct AlloyLabelIndex
{
	int32		tenant_id;
	int32		nseries;
	int32		maxseries;
	uint32	   *offsets;		/* series s: pool[offsets[s] .. offsets[s + 1]) */
	int64		npool;
	int64		maxpool;
	int32	   *pool;			/* every series' sorted label ids, concatenated */
	int32		npages;
	LabelPosting **pages;		/* label id >> ALLOY_LI_PAGE_BITS -> postings */
	int32		nnames;			/* label names met so far (label ids' names are */
	int32		maxnames;		/* looked up on first use: labels never change) */
	AlloyLabel *names;			/* only name and name_len are set */
};

/* Everything this backend keeps, for one catalog. */
static struct
{
	MemoryContext cxt;
	Oid			relid;			/* alloy.series_catalog */
	Oid			relfilenode;
	int64		watermark;		/* every visible series up to this id is in */
	int64		total;			/* series over all tenants */
	int			too_big_at;		/* the setting when the catalog outgrew it, else -1 */
	int			ntenants;
	AlloyLabelIndex *tenants[ALLOY_LABEL_INDEX_MAX_TENANTS];
} li;

static void
labelidx_reset(void)
{
	if (li.cxt != NULL)
		MemoryContextReset(li.cxt);
	li.relid = InvalidOid;
	li.relfilenode = InvalidOid;
	li.watermark = 0;
	li.total = 0;
	li.ntenants = 0;
	li.too_big_at = -1;
}

/*
 * The label ids of a series_catalog row's label_ids datum, without the
 * palloc'd copy DatumGetArrayTypeP makes of every short (1-byte header)
 * array, which is what small label sets are on disk: those are copied into
 * buf. Only compressed or out-of-line values (large label sets) are
 * detoasted in the current memory context.
 */
const int32 *
AlloyLabelIdsOf(Datum d, AlloyLabelIdsBuf *buf, int *n)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(d);
	ArrayType  *arr;

	if (VARATT_IS_EXTERNAL(v) || VARATT_IS_COMPRESSED(v))
		arr = DatumGetArrayTypeP(d);
	else if (VARATT_IS_SHORT(v))
	{
		Size		len = VARSIZE_SHORT(v) - VARHDRSZ_SHORT;

		Assert(len + VARHDRSZ <= sizeof(buf->data));
		SET_VARSIZE(buf->data, len + VARHDRSZ);
		memcpy(VARDATA(buf->data), VARDATA_SHORT(v), len);
		arr = (ArrayType *) buf->data;
	}
	else
		arr = (ArrayType *) v;
	if (ARR_NDIM(arr) > 1 || ARR_HASNULL(arr) || ARR_ELEMTYPE(arr) != INT4OID)
		elog(ERROR, "alloy series label_ids is not a one-dimensional int4 array without nulls");
	*n = ARR_NDIM(arr) == 0 ? 0 : ARR_DIMS(arr)[0];
	return (const int32 *) ARR_DATA_PTR(arr);
}

static AlloyLabelIndex *
labelidx_tenant_new(int32 tenant_id)
{
	AlloyLabelIndex *t = MemoryContextAllocZero(li.cxt, sizeof(AlloyLabelIndex));

	t->tenant_id = tenant_id;
	t->maxseries = 1024;
	t->offsets = MemoryContextAlloc(li.cxt, sizeof(uint32) * (t->maxseries + 1));
	t->offsets[0] = 0;
	t->maxpool = 8192;
	t->pool = MemoryContextAlloc(li.cxt, sizeof(int32) * t->maxpool);
	t->npages = 64;
	t->pages = MemoryContextAllocZero(li.cxt, sizeof(LabelPosting *) * t->npages);
	return t;
}

/* Add one series (its sorted label ids) as series number t->nseries. */
static void
labelidx_append(AlloyLabelIndex *t, const int32 *ids, int n)
{
	int32		s = t->nseries;

	if (s == t->maxseries)
	{
		t->maxseries *= 2;
		t->offsets = repalloc_huge(t->offsets, sizeof(uint32) * ((Size) t->maxseries + 1));
	}
	if (t->npool + n > t->maxpool)
	{
		while (t->npool + n > t->maxpool)
			t->maxpool *= 2;
		if (t->maxpool > PG_UINT32_MAX)
			elog(ERROR, "alloy label index is too large");
		t->pool = repalloc_huge(t->pool, sizeof(int32) * t->maxpool);
	}
	memcpy(t->pool + t->npool, ids, sizeof(int32) * n);
	for (int i = 0; i < n; i++)
	{
		int32		pg = ids[i] >> ALLOY_LI_PAGE_BITS;
		LabelPosting *p;

		if (ids[i] < 0)
			elog(ERROR, "alloy label id %d is negative", ids[i]);
		if (pg >= t->npages)
		{
			int32		npages = t->npages;

			while (pg >= npages)
				npages *= 2;
			t->pages = repalloc_huge(t->pages, sizeof(LabelPosting *) * npages);
			memset(t->pages + t->npages, 0, sizeof(LabelPosting *) * (npages - t->npages));
			t->npages = npages;
		}
		if (t->pages[pg] == NULL)
			t->pages[pg] = MemoryContextAllocZero(li.cxt,
												  sizeof(LabelPosting) * ALLOY_LI_PAGE_SIZE);
		p = &t->pages[pg][ids[i] & (ALLOY_LI_PAGE_SIZE - 1)];
		if (p->series == NULL)
		{
			p->n = 0;
			p->max = 4;
			p->series = MemoryContextAlloc(li.cxt, sizeof(int32) * p->max);
		}
		else if (p->n == p->max)
		{
			p->max *= 2;
			p->series = repalloc_huge(p->series, sizeof(int32) * (Size) p->max);
		}
		p->series[p->n++] = s;
	}
	t->npool += n;
	t->offsets[s + 1] = (uint32) t->npool;
	t->nseries++;
	li.total++;
}

static AlloyLabelIndex *
labelidx_find(int32 tenant_id)
{
	for (int i = 0; i < li.ntenants; i++)
		if (li.tenants[i]->tenant_id == tenant_id)
			return li.tenants[i];
	return NULL;
}

/* Add one visible series_catalog row to its tenant's index, if kept. */
static void
labelidx_add_row(TupleTableSlot *slot, AlloyLabelIndex *only)
{
	bool		isnull;
	int32		tenant_id;
	AlloyLabelIndex *t;
	AlloyLabelIdsBuf buf;
	const int32 *ids;
	int			n;

	tenant_id = DatumGetInt32(slot_getattr(slot, Anum_alloy_series_tenant_id, &isnull));
	t = only ? (only->tenant_id == tenant_id ? only : NULL) : labelidx_find(tenant_id);
	if (t == NULL)
		return;
	ids = AlloyLabelIdsOf(slot_getattr(slot, Anum_alloy_series_label_ids, &isnull), &buf, &n);
	labelidx_append(t, ids, n);
}

/* Append the series with ids above the watermark, in id order. */
static void
labelidx_catch_up(Relation srel, Snapshot snapshot)
{
	const AlloyCatalogRels *rels = AlloyCatalogGetRels();
	Relation	pkey = index_open(rels->series_pkey, AccessShareLock);
	TupleTableSlot *slot = table_slot_create(srel, NULL);
	IndexScanDesc scan;
	ScanKeyData key;

	ScanKeyInit(&key, 1, BTGreaterStrategyNumber, F_INT8GT, Int64GetDatum(li.watermark));
	scan = index_beginscan(srel, pkey, snapshot, 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;

		CHECK_FOR_INTERRUPTS();
		labelidx_add_row(slot, NULL);
		li.watermark = DatumGetInt64(slot_getattr(slot, Anum_alloy_series_series_id, &isnull));
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(pkey, AccessShareLock);
}

/*
 * Build one tenant's index from a sequential scan (faster than the tenant's
 * index order for a whole tenant). The other tenants are already caught up
 * to this snapshot, so the largest visible id seen is the new watermark.
 */
static void
labelidx_build(Relation srel, Snapshot snapshot, AlloyLabelIndex *t)
{
	TableScanDesc scan = table_beginscan(srel, snapshot, 0, NULL);
	TupleTableSlot *slot = table_slot_create(srel, NULL);
	int64		maxid = li.watermark;

	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		int64		id = DatumGetInt64(slot_getattr(slot, Anum_alloy_series_series_id, &isnull));

		CHECK_FOR_INTERRUPTS();
		labelidx_add_row(slot, t);
		maxid = Max(maxid, id);
		if (li.total > alloy_label_index_max_series)
			break;
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	li.watermark = maxid;
}

/*
 * The tenant's label index, current as of snapshot, or NULL when the tables
 * must answer (see the file header). Valid until the next call.
 */
AlloyLabelIndex *
AlloyLabelIndexGet(int32 tenant_id, Snapshot snapshot)
{
	const AlloyCatalogRels *rels;
	Relation	srel;
	AlloyLabelIndex *t = NULL;

	if (alloy_label_index_max_series <= 0 ||
		GetTopTransactionIdIfAny() != InvalidTransactionId || !IsMVCCSnapshot(snapshot))
	{
		if (li.ntenants > 0 && alloy_label_index_max_series <= 0)
			labelidx_reset();
		return NULL;
	}
	if (li.cxt == NULL)
		li.cxt = AllocSetContextCreate(TopMemoryContext, "alloy label index",
									   ALLOCSET_DEFAULT_SIZES);
	rels = AlloyCatalogGetRels();
	srel = table_open(rels->series, AccessShareLock);
	if (li.relid != rels->series || li.relfilenode != srel->rd_node.relNode)
	{
		labelidx_reset();
		li.relid = rels->series;
		li.relfilenode = srel->rd_node.relNode;
	}
	if (li.too_big_at == alloy_label_index_max_series)
	{
		/* not again for every request: only once the setting changes */
		table_close(srel, AccessShareLock);
		return NULL;
	}

	PG_TRY();
	{
		if (li.ntenants > 0)
			labelidx_catch_up(srel, snapshot);
		t = labelidx_find(tenant_id);
		if (t == NULL && li.total <= alloy_label_index_max_series)
		{
			if (li.ntenants == ALLOY_LABEL_INDEX_MAX_TENANTS)
			{
				Oid			relid = li.relid;
				Oid			relfilenode = li.relfilenode;

				labelidx_reset();
				li.relid = relid;
				li.relfilenode = relfilenode;
			}
			t = labelidx_tenant_new(tenant_id);
			labelidx_build(srel, snapshot, t);
			li.tenants[li.ntenants++] = t;
			elog(DEBUG1, "alloy label index of tenant %d: %d series, %zu bytes in this backend",
				 tenant_id, t->nseries, MemoryContextMemAllocated(li.cxt, true));
		}
	}
	PG_CATCH();
	{
		/* a half-appended series would break the index: start afresh */
		labelidx_reset();
		PG_RE_THROW();
	}
	PG_END_TRY();

	if (li.total > alloy_label_index_max_series)
	{
		/* too big for one backend: free it, the tables answer */
		labelidx_reset();
		li.relid = rels->series;
		li.relfilenode = srel->rd_node.relNode;
		li.too_big_at = alloy_label_index_max_series;
		t = NULL;
	}
	table_close(srel, AccessShareLock);
	return t;
}

/*
 * Catch the index up while the backend is idle. Only an index that exists
 * is refreshed: a worker that never served a label lookup keeps no memory
 * for it (an ingest-only node pays nothing).
 */
int64
AlloyLabelIndexRefresh(void)
{
	int64		before = li.total;

	if (li.ntenants == 0)
		return 0;
	PG_TRY();
	{
		(void) AlloyLabelIndexGet(li.tenants[0]->tenant_id, GetActiveSnapshot());
	}
	PG_CATCH();
	{
		/* the catalog went away (DROP EXTENSION): forget it, do not retry */
		labelidx_reset();
		PG_RE_THROW();
	}
	PG_END_TRY();
	return li.ntenants > 0 ? li.total - before : 0;
}

bool
AlloyLabelIndexExists(void)
{
	return li.ntenants > 0;
}

int32
AlloyLabelIndexSeriesCount(const AlloyLabelIndex *idx)
{
	return idx->nseries;
}

/* The ascending series numbers carrying label_id (none: *n = 0). */
const int32 *
AlloyLabelIndexPostings(const AlloyLabelIndex *idx, int32 label_id, int *n)
{
	int32		pg = label_id >> ALLOY_LI_PAGE_BITS;
	LabelPosting *p;

	*n = 0;
	if (label_id < 0 || pg >= idx->npages || idx->pages[pg] == NULL)
		return NULL;
	p = &idx->pages[pg][label_id & (ALLOY_LI_PAGE_SIZE - 1)];
	*n = p->n;
	return p->series;
}

/*
 * The number of label_id's name among the tenant's names met so far, looking
 * the label up the first time (a committed label row never changes, and the
 * ids in the index are all committed).
 */
int32
AlloyLabelIndexNameOf(AlloyLabelIndex *idx, int32 label_id, Relation labels,
					  Snapshot snapshot)
{
	int32		pg = label_id >> ALLOY_LI_PAGE_BITS;
	LabelPosting *p;
	const AlloyCatalogRels *rels;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	text	   *name;
	int			len;
	int32		i;

	if (label_id < 0 || pg >= idx->npages || idx->pages[pg] == NULL)
		elog(ERROR, "alloy label %d is not in the label index", label_id);
	p = &idx->pages[pg][label_id & (ALLOY_LI_PAGE_SIZE - 1)];
	if (p->name > 0)
		return p->name - 1;

	rels = AlloyCatalogGetRels();
	ScanKeyInit(&key, Anum_alloy_labels_label_id, BTEqualStrategyNumber, F_INT4EQ,
				Int32GetDatum(label_id));
	scan = systable_beginscan(labels, rels->labels_pkey, true, snapshot, 1, &key);
	tup = systable_getnext(scan);
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "alloy label %d is missing", label_id);
	{
		bool		isnull;

		name = DatumGetTextPP(heap_getattr(tup, Anum_alloy_labels_name,
										   RelationGetDescr(labels), &isnull));
	}
	len = VARSIZE_ANY_EXHDR(name);
	/* few names: a linear search */
	for (i = 0; i < idx->nnames; i++)
		if (idx->names[i].name_len == len &&
			memcmp(idx->names[i].name, VARDATA_ANY(name), len) == 0)
			break;
	if (i == idx->nnames)
	{
		char	   *copy = MemoryContextAlloc(li.cxt, len + 1);

		memcpy(copy, VARDATA_ANY(name), len);
		copy[len] = '\0';
		if (idx->nnames == idx->maxnames)
		{
			int32		max = Max(16, idx->maxnames * 2);

			idx->names = idx->names ? repalloc(idx->names, sizeof(AlloyLabel) * max)
				: MemoryContextAlloc(li.cxt, sizeof(AlloyLabel) * max);
			idx->maxnames = max;
		}
		memset(&idx->names[i], 0, sizeof(AlloyLabel));
		idx->names[i].name = copy;
		idx->names[i].name_len = len;
		idx->nnames++;
	}
	systable_endscan(scan);
	p->name = i + 1;
	return i;
}

/* A name number from AlloyLabelIndexNameOf. */
const AlloyLabel *
AlloyLabelIndexName(const AlloyLabelIndex *idx, int32 name)
{
	Assert(name >= 0 && name < idx->nnames);
	return &idx->names[name];
}

/* The sorted label ids of series number s. */
const int32 *
AlloyLabelIndexSeriesLabels(const AlloyLabelIndex *idx, int32 s, int *n)
{
	*n = (int) (idx->offsets[s + 1] - idx->offsets[s]);
	return idx->pool + idx->offsets[s];
}
