/*
 * series_select.c: PromQL series selection, label matchers -> series, and
 * the label names and values of the matched series.
 *
 * The matchers are resolved to label ids first (series_matchers.c). Positive
 * matchers with few ids go to one GIN scan of series_catalog.label_ids, one
 * `&&` (overlap) key each, which GIN intersects itself; matchers with many
 * ids are scanned in chunks and unioned (see select_run). The resulting TIDs
 * are fetched and every matcher is rechecked on the row's label ids (GIN
 * bitmaps may be lossy, and negative matchers are checked only there); the
 * rows that pass are materialised with their label sets, sorted in
 * Prometheus order. A selector with no positive matcher reads all of the
 * tenant's series.
 *
 * Label names and values with matchers come from the backend's in-memory
 * label index when it can be used (series_postings.c), else from the rows
 * the same selection visits, without building label sets.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/tidbitmap.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "series/series_int.h"
#include "base/base.h"

/* GIN array_ops strategies (ginarrayproc.c) */
#define ALLOY_GIN_OVERLAP_STRATEGY	1
/* Label ids per GIN overlap key (its cost per row grows with the count). */
#define ALLOY_GIN_CHUNK_IDS			32
/* A matcher with at most this many ids joins the single intersecting scan. */
#define ALLOY_GIN_KEY_MAX_IDS		256
/* A second positive matcher with more ids than this is only rechecked. */
#define ALLOY_SELECT_MAX_INTERSECT_IDS	4096

typedef struct LabelCacheEntry
{
	int32		label_id;
	AlloyLabel	label;
} LabelCacheEntry;

typedef struct SelectState
{
	const AlloyCatalogRels *rels;
	Snapshot	snapshot;
	int32		tenant_id;
	AlloyMatcherIds *mids;
	int			nmatchers;
	Relation	lrel;
	HTAB	   *label_cache;
	AlloySelectedSeries *out;
	int			nout;
	int			maxout;
	HTAB	   *want;			/* label-values mode: label id -> WantedValue */
} SelectState;

/* One value of the label whose values are asked for (AlloySeriesLabelValues). */
typedef struct WantedValue
{
	int32		label_id;		/* hash key */
	char	   *value;
	int			value_len;
	bool		seen;			/* some matching series carries it */
} WantedValue;

static const AlloyLabel *
label_by_id(SelectState *st, int32 id)
{
	LabelCacheEntry *e;
	bool		found;

	e = hash_search(st->label_cache, &id, HASH_ENTER, &found);
	if (!found && !AlloyLabelRowRead(st->lrel, st->snapshot, id, &e->label))
	{
		hash_search(st->label_cache, &id, HASH_REMOVE, NULL);
		elog(ERROR, "alloy label %d is missing", id);
	}
	return &e->label;
}

static int
cmp_label_name(const void *a, const void *b)
{
	const AlloyLabel *x = a;
	const AlloyLabel *y = b;
	int			r = memcmp(x->name, y->name, Min(x->name_len, y->name_len));

	if (r != 0)
		return r;
	return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

static int
cmp_selected(const void *a, const void *b)
{
	const AlloySelectedSeries *x = a;
	const AlloySelectedSeries *y = b;

	return AlloyCompareLabelSets(x->labels, x->nlabels, y->labels, y->nlabels);
}

/* Check one series row against every matcher and keep it if it passes. */
static void
consider_row(SelectState *st, TupleTableSlot *slot)
{
	bool		isnull;
	AlloyLabelIdsBuf buf;
	const int32 *ids;
	int			n;
	AlloySelectedSeries *s;

	if (DatumGetInt32(slot_getattr(slot, Anum_alloy_series_tenant_id, &isnull)) != st->tenant_id)
		return;
	ids = AlloyLabelIdsOf(slot_getattr(slot, Anum_alloy_series_label_ids, &isnull), &buf, &n);
	for (int i = 0; i < st->nmatchers; i++)
	{
		bool		hit = AlloyMatcherHit(ids, n, &st->mids[i]);

		if (hit != st->mids[i].positive)
			return;
	}

	if (st->want != NULL)
	{
		/* label-values mode: note which wanted values the series carries */
		for (int i = 0; i < n; i++)
		{
			WantedValue *w = hash_search(st->want, &ids[i], HASH_FIND, NULL);

			if (w != NULL)
				w->seen = true;
		}
		return;
	}

	if (st->nout == st->maxout)
	{
		st->maxout = Max(64, st->maxout * 2);
		st->out = st->out ? repalloc_huge(st->out, sizeof(AlloySelectedSeries) * st->maxout)
			: palloc(sizeof(AlloySelectedSeries) * st->maxout);
	}
	s = &st->out[st->nout++];
	s->series_id = DatumGetInt64(slot_getattr(slot, Anum_alloy_series_series_id, &isnull));
	s->nlabels = n;
	s->labels = palloc(sizeof(AlloyLabel) * Max(n, 1));
	for (int i = 0; i < n; i++)
		s->labels[i] = *label_by_id(st, ids[i]);
	if (n > 1)
		qsort(s->labels, n, sizeof(AlloyLabel), cmp_label_name);
}

static int
cmp_matcher_size(const void *a, const void *b)
{
	const AlloyMatcherIds *x = *(const AlloyMatcherIds *const *) a;
	const AlloyMatcherIds *y = *(const AlloyMatcherIds *const *) b;

	return x->nids < y->nids ? -1 : x->nids > y->nids;
}

static ArrayType *
ids_array(const int32 *ids, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	ArrayType  *arr;

	for (int j = 0; j < n; j++)
		elems[j] = Int32GetDatum(ids[j]);
	arr = construct_array(elems, n, INT4OID, sizeof(int32), true, TYPALIGN_INT);
	pfree(elems);
	return arr;
}

/* Series carrying an id of every one of these matchers: one GIN scan. */
static TIDBitmap *
matcher_postings_and(Relation gin, Snapshot snapshot, AlloyMatcherIds **ms, int n)
{
	TIDBitmap  *tbm = tbm_create(work_mem * (Size) 1024, NULL);
	IndexScanDesc scan = index_beginscan_bitmap(gin, snapshot, n);
	ScanKeyData *keys = palloc(sizeof(ScanKeyData) * n);

	for (int i = 0; i < n; i++)
		ScanKeyInit(&keys[i], 1, ALLOY_GIN_OVERLAP_STRATEGY, F_ARRAYOVERLAP,
					PointerGetDatum(ids_array(ms[i]->ids, ms[i]->nids)));
	index_rescan(scan, keys, n, NULL, 0);
	(void) index_getbitmap(scan, tbm);
	index_endscan(scan);
	return tbm;
}

/*
 * The union of the posting lists of a matcher's ids. GIN evaluates an
 * overlap key against every one of its ids for each candidate row, so one
 * key with thousands of ids is quadratic; the ids go in chunks instead, each
 * chunk a rescan adding to the same bitmap.
 */
static TIDBitmap *
matcher_postings_union(Relation gin, Snapshot snapshot, const AlloyMatcherIds *m)
{
	TIDBitmap  *tbm = tbm_create(work_mem * (Size) 1024, NULL);
	IndexScanDesc scan = index_beginscan_bitmap(gin, snapshot, 1);

	for (int off = 0; off < m->nids; off += ALLOY_GIN_CHUNK_IDS)
	{
		int			n = Min(m->nids - off, ALLOY_GIN_CHUNK_IDS);
		ArrayType  *arr = ids_array(m->ids + off, n);
		ScanKeyData key;

		CHECK_FOR_INTERRUPTS();
		ScanKeyInit(&key, 1, ALLOY_GIN_OVERLAP_STRATEGY, F_ARRAYOVERLAP, PointerGetDatum(arr));
		index_rescan(scan, &key, 1, NULL, 0);
		(void) index_getbitmap(scan, tbm);
		pfree(arr);
	}
	index_endscan(scan);
	return tbm;
}

/*
 * Resolve the matchers and visit every matching series of the tenant: in
 * series mode (want NULL) collect them with their label sets, in
 * label-values mode only mark the wanted label ids they carry.
 */
static AlloySelectedSeries *
select_run(int32 tenant_id, const AlloyMatcher *matchers, int nmatchers, HTAB *want,
		   int *nseries)
{
	SelectState st;
	Relation	srel;
	AlloyMatcherIds **order;
	int			npos = 0;
	bool		possible;
	TupleTableSlot *slot;
	HASHCTL		ctl;

	memset(&st, 0, sizeof(st));
	st.want = want;
	st.rels = AlloyCatalogGetRels();
	st.snapshot = ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot();
	st.tenant_id = tenant_id;
	st.nmatchers = nmatchers;
	st.mids = palloc0(sizeof(AlloyMatcherIds) * Max(nmatchers, 1));
	*nseries = 0;

	st.lrel = table_open(st.rels->labels, AccessShareLock);
	possible = AlloyMatchersResolve(st.lrel, st.snapshot, tenant_id, matchers, nmatchers,
									st.mids);
	if (!possible)
	{
		table_close(st.lrel, AccessShareLock);
		return NULL;
	}

	ctl.keysize = sizeof(int32);
	ctl.entrysize = sizeof(LabelCacheEntry);
	ctl.hcxt = CurrentMemoryContext;
	st.label_cache = hash_create("alloy select labels", 256, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	srel = table_open(st.rels->series, AccessShareLock);
	slot = table_slot_create(srel, NULL);

	/*
	 * Postings. Positive matchers with few ids become one GIN scan with one
	 * `&&` key each: GIN intersects them itself and skips through long
	 * posting lists (metric{instance="x"} reads one posting, not the
	 * metric's million). Without such a matcher, the one with the fewest ids
	 * gives the candidates as a union of chunked scans. Other positive
	 * matchers with many ids are intersected as bitmaps when moderate, else
	 * only rechecked per row.
	 */
	order = palloc(sizeof(AlloyMatcherIds *) * Max(nmatchers, 1));
	for (int i = 0; i < nmatchers; i++)
		if (st.mids[i].positive)
			order[npos++] = &st.mids[i];
	qsort(order, npos, sizeof(AlloyMatcherIds *), cmp_matcher_size);

	if (npos > 0)
	{
		Relation	gin = index_open(st.rels->series_gin, AccessShareLock);
		TIDBitmap  *tbm = NULL;
		TBMIterator *it;
		TBMIterateResult *res;
		int			nsmall = 0;

		while (nsmall < npos && order[nsmall]->nids <= ALLOY_GIN_KEY_MAX_IDS)
			nsmall++;
		if (nsmall > 0)
			tbm = matcher_postings_and(gin, st.snapshot, order, nsmall);
		for (int i = nsmall; i < npos && !(tbm && tbm_is_empty(tbm)); i++)
		{
			TIDBitmap  *b;

			if (tbm != NULL && (nsmall > 0 || order[i]->nids > ALLOY_SELECT_MAX_INTERSECT_IDS))
				break;			/* recheck only */
			b = matcher_postings_union(gin, st.snapshot, order[i]);
			if (tbm == NULL)
				tbm = b;
			else
			{
				tbm_intersect(tbm, b);
				tbm_free(b);
			}
		}
		index_close(gin, AccessShareLock);

		it = tbm_begin_iterate(tbm);
		while ((res = tbm_iterate(it)) != NULL)
		{
			int			nt = res->ntuples >= 0 ? res->ntuples : MaxHeapTuplesPerPage;

			CHECK_FOR_INTERRUPTS();
			for (int j = 0; j < nt; j++)
			{
				ItemPointerData tid;

				ItemPointerSet(&tid, res->blockno,
							   res->ntuples >= 0 ? res->offsets[j] : (OffsetNumber) (j + 1));
				if (table_tuple_fetch_row_version(srel, &tid, st.snapshot, slot))
					consider_row(&st, slot);
			}
		}
		tbm_end_iterate(it);
		tbm_free(tbm);
	}
	else
	{
		/* only negative matchers: every series of the tenant */
		ScanKeyData key;
		IndexScanDesc scan;
		Relation	idx = index_open(st.rels->series_key, AccessShareLock);

		ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(tenant_id));
		scan = index_beginscan(srel, idx, st.snapshot, 1, 0);
		index_rescan(scan, &key, 1, NULL, 0);
		while (index_getnext_slot(scan, ForwardScanDirection, slot))
		{
			CHECK_FOR_INTERRUPTS();
			consider_row(&st, slot);
		}
		index_endscan(scan);
		index_close(idx, AccessShareLock);
	}

	ExecDropSingleTupleTableSlot(slot);
	table_close(srel, AccessShareLock);
	table_close(st.lrel, AccessShareLock);

	if (st.nout > 1)
		qsort(st.out, st.nout, sizeof(AlloySelectedSeries), cmp_selected);
	*nseries = st.nout;
	return st.out;
}

AlloySelectedSeries *
AlloySeriesSelect(int32 tenant_id, const AlloyMatcher *matchers, int nmatchers, int *nseries)
{
	return select_run(tenant_id, matchers, nmatchers, NULL, nseries);
}

/* ---------- label values with matchers ---------- */

static int
cmp_value_row(const void *a, const void *b)
{
	const AlloyLabelValueRow *x = a;
	const AlloyLabelValueRow *y = b;

	return x->label_id < y->label_id ? -1 : x->label_id > y->label_id;
}

/*
 * The distinct values of label `name` over the series matching every
 * matcher, unsorted. The label's values are read once from the label index;
 * which of them the matched series carry comes from the backend's in-memory
 * label index (series_postings.c) when it can be used, else from the
 * matched series' rows, without building label sets.
 */
AlloyLabel *
AlloySeriesLabelValues(int32 tenant_id, const AlloyMatcher *matchers, int nmatchers,
					   const char *name, int name_len, int *nvalues)
{
	const AlloyCatalogRels *rels = AlloyCatalogGetRels();
	Snapshot	snapshot = ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot();
	Relation	lrel;
	AlloyLabelValueRow *rows;
	int			nrows;
	bool	   *seen;
	AlloyLabelIndex *idx;
	AlloyLabel *out;

	*nvalues = 0;
	rows = AlloyLabelValueRows(tenant_id, name, name_len, snapshot, &nrows);
	if (nrows == 0)
		return NULL;
	qsort(rows, nrows, sizeof(AlloyLabelValueRow), cmp_value_row);
	seen = palloc0(sizeof(bool) * nrows);

	idx = AlloyLabelIndexGet(tenant_id, snapshot);
	if (idx != NULL)
	{
		AlloyMatcherIds *mids = palloc0(sizeof(AlloyMatcherIds) * Max(nmatchers, 1));
		int32	   *wids = palloc(sizeof(int32) * nrows);
		bool		possible;

		lrel = table_open(rels->labels, AccessShareLock);
		possible = AlloyMatchersResolve(lrel, snapshot, tenant_id, matchers, nmatchers, mids);
		table_close(lrel, AccessShareLock);
		for (int v = 0; v < nrows; v++)
			wids[v] = rows[v].label_id;
		if (possible)
			AlloyPostingsLabelValues(idx, mids, nmatchers, wids, nrows, seen, name, name_len);
	}
	else
	{
		/* the tables answer: each matched series is checked for the ids */
		HASHCTL		ctl;
		HTAB	   *want;
		int			nseries;

		ctl.keysize = sizeof(int32);
		ctl.entrysize = sizeof(WantedValue);
		ctl.hcxt = CurrentMemoryContext;
		want = hash_create("alloy wanted label values", Max(nrows, 16), &ctl,
						   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		for (int v = 0; v < nrows; v++)
		{
			WantedValue *w = hash_search(want, &rows[v].label_id, HASH_ENTER, NULL);

			w->seen = false;
		}
		(void) select_run(tenant_id, matchers, nmatchers, want, &nseries);
		for (int v = 0; v < nrows; v++)
		{
			WantedValue *w = hash_search(want, &rows[v].label_id, HASH_FIND, NULL);

			seen[v] = w->seen;
		}
		hash_destroy(want);
	}

	out = palloc(sizeof(AlloyLabel) * nrows);
	for (int v = 0; v < nrows; v++)
	{
		if (!seen[v])
			continue;
		out[*nvalues].name = name;
		out[*nvalues].name_len = name_len;
		out[*nvalues].value = rows[v].value;
		out[*nvalues].value_len = rows[v].value_len;
		(*nvalues)++;
	}
	return out;
}

/*
 * The distinct label names over the series matching every matcher, sorted
 * bytewise (AlloyLabels whose value is NULL). For /api/v1/labels with
 * match[]: from the in-memory label index, the matched series' label ids are
 * mapped to names (each id looked up once per backend), and the scan stops
 * as soon as every name of the tenant has been seen, which for a broad
 * selector is after a handful of series. Without the index, the matched
 * series are selected as for PromQL and their names collected.
 */
AlloyLabel *
AlloySeriesLabelNames(int32 tenant_id, const AlloyMatcher *matchers, int nmatchers, int *nnames)
{
	Snapshot	snapshot = ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot();
	const AlloyCatalogRels *rels = AlloyCatalogGetRels();
	AlloyLabelIndex *idx;
	AlloyLabel *out;
	int			nall;
	int			n = 0;

	*nnames = 0;
	(void) AlloyLabelNamesOfTenant(tenant_id, snapshot, &nall);
	if (nall == 0)
		return NULL;
	out = palloc(sizeof(AlloyLabel) * nall);

	idx = AlloyLabelIndexGet(tenant_id, snapshot);
	if (idx != NULL)
	{
		AlloyMatcherIds *mids = palloc0(sizeof(AlloyMatcherIds) * Max(nmatchers, 1));
		Relation	lrel = table_open(rels->labels, AccessShareLock);

		if (AlloyMatchersResolve(lrel, snapshot, tenant_id, matchers, nmatchers, mids))
		{
			int			nset;
			int32	   *set = AlloyPostingsMatch(idx, mids, nmatchers, &nset);
			int			maxseen = 64;
			bool	   *seen = palloc0(sizeof(bool) * maxseen);

			for (int i = 0; i < nset && n < nall; i++)
			{
				int			nl;
				const int32 *ids = AlloyLabelIndexSeriesLabels(idx, set[i], &nl);

				for (int j = 0; j < nl; j++)
				{
					int32		name = AlloyLabelIndexNameOf(idx, ids[j], lrel, snapshot);

					if (name >= maxseen)
					{
						int			old = maxseen;

						while (name >= maxseen)
							maxseen *= 2;
						seen = repalloc(seen, sizeof(bool) * maxseen);
						memset(seen + old, 0, sizeof(bool) * (maxseen - old));
					}
					if (!seen[name] && n < nall)
					{
						const AlloyLabel *l = AlloyLabelIndexName(idx, name);

						/* a copy: the index may be rebuilt by the next call */
						seen[name] = true;
						out[n].name = pnstrdup(l->name, l->name_len);
						out[n].name_len = l->name_len;
						out[n].value = NULL;
						out[n].value_len = 0;
						n++;
					}
				}
			}
			pfree(seen);
			pfree(set);
		}
		table_close(lrel, AccessShareLock);
	}
	else
	{
		AlloySelectedSeries *ss;
		int			nss;
		int			nl = 0;
		AlloyLabel *all;

		/* every label of every matched series, sorted by name, then unique */
		ss = AlloySeriesSelect(tenant_id, matchers, nmatchers, &nss);
		for (int i = 0; i < nss; i++)
			nl += ss[i].nlabels;
		all = palloc_extended(sizeof(AlloyLabel) * Max(nl, 1), MCXT_ALLOC_HUGE);
		nl = 0;
		for (int i = 0; i < nss; i++)
			for (int j = 0; j < ss[i].nlabels; j++)
				all[nl++] = ss[i].labels[j];
		if (nl > 1)
			qsort(all, nl, sizeof(AlloyLabel), cmp_label_name);
		for (int i = 0; i < nl && n < nall; i++)
			if (n == 0 || cmp_label_name(&all[i], &out[n - 1]) != 0)
			{
				out[n] = all[i];
				out[n].value = NULL;
				out[n].value_len = 0;
				n++;
			}
	}
	if (n > 1)
		qsort(out, n, sizeof(AlloyLabel), cmp_label_name);
	*nnames = n;
	return out;
}

