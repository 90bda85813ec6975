/*
 * catalog_select.c: PromQL series selection, label matchers -> series.
 *
 * Each matcher becomes a set of interned label ids of its label name:
 *  - a matcher that does not match the empty string needs the series to carry
 *    one of the ids whose value matches ("positive": postings union);
 *  - one that matches the empty string also matches series without the label
 *    (Prometheus semantics), so it is kept as the ids whose value does NOT
 *    match, and a series must carry none of them ("negative": subtraction).
 * Positive matchers with few ids go to one GIN scan of
 * series_catalog.label_ids, one `&&` (overlap) key each, which GIN
 * intersects itself; matchers with many ids are scanned in chunks and
 * unioned (see AlloySeriesSelect). The resulting TIDs are fetched and every
 * matcher is rechecked on the row's label ids (GIN bitmaps may be lossy, and
 * negative matchers are checked only there). A selector with no positive
 * matcher reads all of the tenant's series.
 *
 * Label values are found through alloy.labels' (tenant_id, name, value)
 * index: an = matcher (or a regex that is an alternation of literals) is one
 * or a few direct lookups, other regexes scan the values of one name (only the
 * matching prefix when the regex has a literal prefix).
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

typedef struct MatcherIds
{
	bool		positive;		/* ids are the matching values, else the non-matching */
	int			nids;
	int			maxids;
	int32	   *ids;			/* sorted */
} MatcherIds;

typedef struct LabelCacheEntry
{
	int32		label_id;
	AlloyLabel	label;
} LabelCacheEntry;

static void
matcher_ids_add(MatcherIds *m, int32 id)
{
	if (m->nids == m->maxids)
	{
		m->maxids = Max(16, m->maxids * 2);
		m->ids = m->ids ? repalloc_huge(m->ids, sizeof(int32) * m->maxids)
			: palloc(sizeof(int32) * m->maxids);
	}
	m->ids[m->nids++] = id;
}

static int
cmp_int32(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	return x < y ? -1 : x > y;
}

static void *
select_palloc(void *arg, size_t size)
{
	return palloc(size);
}

static void
select_pfree(void *arg, void *ptr)
{
	pfree(ptr);
}

static const AlloyAllocHooks select_hooks = {select_palloc, select_pfree, NULL};

/* Does value v satisfy matcher m (v may be empty: label absent)? */
typedef struct ValueTest
{
	AlloyMatchOp op;
	const char *value;
	int			value_len;
	AlloyRegex *rx;
} ValueTest;

static bool
value_test(const ValueTest *t, const char *v, int len)
{
	switch (t->op)
	{
		case ALLOY_MATCH_EQ:
			return len == t->value_len && memcmp(v, t->value, len) == 0;
		case ALLOY_MATCH_NEQ:
			return !(len == t->value_len && memcmp(v, t->value, len) == 0);
		case ALLOY_MATCH_RE:
			return alloy_regex_match(t->rx, v, len);
		case ALLOY_MATCH_NRE:
			return !alloy_regex_match(t->rx, v, len);
	}
	return false;
}

/*
 * Visit the values of one label name in a tenant, optionally only those
 * starting with prefix, adding ids whose match result equals want.
 */
static void
scan_label_values(Relation lrel, Relation lidx, Snapshot snapshot, int32 tenant_id,
				  const AlloyMatcher *m, const char *prefix, int prefix_len,
				  const ValueTest *t, bool want, MatcherIds *out)
{
	ScanKeyData keys[3];
	int			nkeys = 2;
	IndexScanDesc scan;
	TupleTableSlot *slot = table_slot_create(lrel, NULL);

	ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(tenant_id));
	ScanKeyInit(&keys[1], 2, BTEqualStrategyNumber, F_TEXTEQ,
				PointerGetDatum(cstring_to_text_with_len(m->name, m->name_len)));
	if (prefix_len > 0)
	{
		/* values >= prefix; the loop stops at the first value without it */
		ScanKeyInit(&keys[2], 3, BTGreaterEqualStrategyNumber, F_TEXT_GE,
					PointerGetDatum(cstring_to_text_with_len(prefix, prefix_len)));
		nkeys = 3;
	}
	scan = index_beginscan(lrel, lidx, snapshot, nkeys, 0);
	index_rescan(scan, keys, nkeys, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		text	   *tv = DatumGetTextPP(slot_getattr(slot, Anum_alloy_labels_value, &isnull));
		const char *v = VARDATA_ANY(tv);
		int			len = VARSIZE_ANY_EXHDR(tv);

		CHECK_FOR_INTERRUPTS();
		if (prefix_len > 0 && (len < prefix_len || memcmp(v, prefix, prefix_len) != 0))
			break;
		if (value_test(t, v, len) == want)
			matcher_ids_add(out, DatumGetInt32(slot_getattr(slot, Anum_alloy_labels_label_id,
															&isnull)));
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
}

/*
 * Turn one matcher into its id set. Returns false when no series can match
 * (a positive matcher without any matching value).
 */
static bool
matcher_resolve(Relation lrel, Relation lidx, Snapshot snapshot, int32 tenant_id,
				const AlloyMatcher *m, MatcherIds *out)
{
	ValueTest	t = {m->op, m->value, m->value_len, NULL};
	bool		matches_empty;
	const char *prefix = NULL;
	size_t		prefix_len = 0;

	memset(out, 0, sizeof(*out));
	if (m->op == ALLOY_MATCH_RE || m->op == ALLOY_MATCH_NRE)
	{
		char		err[256];

		t.rx = alloy_regex_compile(m->value, m->value_len, &select_hooks, err, sizeof(err));
		if (t.rx == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_REGULAR_EXPRESSION),
					 errmsg("invalid regular expression \"%.*s\": %s",
							m->value_len, m->value, err)));
	}
	matches_empty = value_test(&t, "", 0);
	out->positive = !matches_empty;

	/* A literal value or set of literals: direct lookups of matching values. */
	if (out->positive && (m->op == ALLOY_MATCH_EQ || m->op == ALLOY_MATCH_RE))
	{
		const char *const *lits = &m->value;
		const size_t *litlens = NULL;
		size_t		eqlen = m->value_len;
		int			nlits = 1;

		if (m->op == ALLOY_MATCH_RE)
			nlits = alloy_regex_literals(t.rx, &lits, &litlens);
		else
			litlens = &eqlen;
		if (nlits >= 0)
		{
			for (int i = 0; i < nlits; i++)
			{
				int32		id;

				if (litlens[i] == 0)
					continue;
				id = AlloyLabelIdLookup(lrel, lidx, snapshot, tenant_id, m->name, m->name_len,
										lits[i], (int) litlens[i]);
				if (id != 0)
					matcher_ids_add(out, id);
			}
			goto done;
		}
	}
	/* name != "v": the one non-matching value, looked up directly */
	if (!out->positive && m->op == ALLOY_MATCH_NEQ)
	{
		int32		id = AlloyLabelIdLookup(lrel, lidx, snapshot, tenant_id, m->name,
											m->name_len, m->value, m->value_len);

		if (id != 0)
			matcher_ids_add(out, id);
		goto done;
	}
	/* Otherwise scan the label's values (only the regex prefix, if positive). */
	if (out->positive && m->op == ALLOY_MATCH_RE)
		prefix = alloy_regex_prefix(t.rx, &prefix_len);
	scan_label_values(lrel, lidx, snapshot, tenant_id, m, prefix, (int) prefix_len,
					  &t, out->positive, out);

done:
	if (t.rx)
		alloy_regex_free(t.rx);
	if (out->nids > 1)
		qsort(out->ids, out->nids, sizeof(int32), cmp_int32);
	return !(out->positive && out->nids == 0);
}

static bool
ids_intersect(const int32 *row, int nrow, const MatcherIds *m)
{
	for (int i = 0; i < nrow; i++)
		if (bsearch(&row[i], m->ids, m->nids, sizeof(int32), cmp_int32) != NULL)
			return true;
	return false;
}

typedef struct SelectState
{
	const AlloyCatalogRels *rels;
	Snapshot	snapshot;
	int32		tenant_id;
	MatcherIds *mids;
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
	if (!found)
	{
		ScanKeyData key;
		SysScanDesc scan;
		HeapTuple	tup;
		bool		isnull;

		ScanKeyInit(&key, Anum_alloy_labels_label_id, BTEqualStrategyNumber, F_INT4EQ,
					Int32GetDatum(id));
		scan = systable_beginscan(st->lrel, st->rels->labels_pkey, true, st->snapshot, 1, &key);
		tup = systable_getnext(scan);
		if (!HeapTupleIsValid(tup))
		{
			hash_search(st->label_cache, &id, HASH_REMOVE, NULL);
			elog(ERROR, "alloy label %d is missing", id);
		}
		e->label.name = TextDatumGetCString(heap_getattr(tup, Anum_alloy_labels_name,
														 RelationGetDescr(st->lrel), &isnull));
		e->label.name_len = strlen(e->label.name);
		e->label.value = TextDatumGetCString(heap_getattr(tup, Anum_alloy_labels_value,
														  RelationGetDescr(st->lrel), &isnull));
		e->label.value_len = strlen(e->label.value);
		systable_endscan(scan);
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
		bool		hit = ids_intersect(ids, n, &st->mids[i]);

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
	const MatcherIds *x = *(const MatcherIds *const *) a;
	const MatcherIds *y = *(const MatcherIds *const *) b;

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
matcher_postings_and(Relation gin, Snapshot snapshot, MatcherIds **ms, int n)
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
matcher_postings_union(Relation gin, Snapshot snapshot, const MatcherIds *m)
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
	Relation	lidx;
	Relation	srel;
	MatcherIds **order;
	int			npos = 0;
	bool		possible = true;
	TupleTableSlot *slot;
	HASHCTL		ctl;

	memset(&st, 0, sizeof(st));
	st.want = want;
	st.rels = AlloyCatalogGetRels();
	st.snapshot = ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot();
	st.tenant_id = tenant_id;
	st.nmatchers = nmatchers;
	st.mids = palloc0(sizeof(MatcherIds) * Max(nmatchers, 1));
	*nseries = 0;

	st.lrel = table_open(st.rels->labels, AccessShareLock);
	lidx = index_open(st.rels->labels_key, AccessShareLock);
	for (int i = 0; i < nmatchers && possible; i++)
		possible = matcher_resolve(st.lrel, lidx, st.snapshot, tenant_id, &matchers[i], &st.mids[i]);
	index_close(lidx, AccessShareLock);
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
	order = palloc(sizeof(MatcherIds *) * Max(nmatchers, 1));
	for (int i = 0; i < nmatchers; i++)
		if (st.mids[i].positive)
			order[npos++] = &st.mids[i];
	qsort(order, npos, sizeof(MatcherIds *), cmp_matcher_size);

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

/*
 * One matched series' labels cost about this many posting-list steps: the
 * unit of the cost estimates that pick between intersecting postings and
 * visiting series.
 */
#define ALLOY_LV_SERIES_COST		4
/* The scan strategy maps wanted label ids densely when their range allows. */
#define ALLOY_LV_DENSE_MAX			(1 << 20)

/* The first position >= lo of sorted a[0..n) whose value is >= x. */
static inline int
gallop_to(const int32 *a, int n, int lo, int32 x)
{
	int			step = 1;
	int			hi;

	if (lo >= n || a[lo] >= x)
		return lo;
	/* a[lo] < x: probe ahead in growing steps, then bisect */
	hi = lo + 1;
	while (hi < n && a[hi] < x)
	{
		lo = hi;
		step <<= 1;
		hi = lo + step;
	}
	if (hi > n)
		hi = n;
	lo++;
	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (a[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Intersect sorted a with sorted b into a; returns the new length. The
 * shorter list drives and gallops through the longer one, so a selective
 * posting list costs its own length, not the other's.
 */
static int
sorted_intersect(int32 *a, int na, const int32 *b, int nb)
{
	int			out = 0;
	int			i = 0;
	int			j = 0;

	if (na <= nb)
	{
		for (i = 0; i < na && j < nb; i++)
		{
			j = gallop_to(b, nb, j, a[i]);
			if (j < nb && b[j] == a[i])
				a[out++] = a[i];
		}
	}
	else
	{
		/* out <= i: positions already passed are overwritten */
		for (j = 0; j < nb && i < na; j++)
		{
			i = gallop_to(a, na, i, b[j]);
			if (i < na && a[i] == b[j])
				a[out++] = a[i];
		}
	}
	return out;
}

/* Do sorted a and b share an element? Stops at the first. */
static bool
sorted_overlap(const int32 *a, int na, const int32 *b, int nb)
{
	int			j = 0;

	if (na > nb)
	{
		const int32 *t = a;
		int			tn = na;

		a = b;
		na = nb;
		b = t;
		nb = tn;
	}
	for (int i = 0; i < na && j < nb; i++)
	{
		j = gallop_to(b, nb, j, a[i]);
		if (j < nb && b[j] == a[i])
			return true;
	}
	return false;
}

/* Remove from sorted a the elements of sorted b; returns the new length. */
static int
sorted_subtract(int32 *a, int na, const int32 *b, int nb)
{
	int			out = 0;
	int			j = 0;

	for (int i = 0; i < na; i++)
	{
		j = gallop_to(b, nb, j, a[i]);
		if (!(j < nb && b[j] == a[i]))
			a[out++] = a[i];
	}
	return out;
}

/* Total length of the posting lists of a matcher's label ids. */
static int64
matcher_postings_count(const AlloyLabelIndex *idx, const MatcherIds *m)
{
	int64		total = 0;

	for (int i = 0; i < m->nids; i++)
	{
		int			n;

		(void) AlloyLabelIndexPostings(idx, m->ids[i], &n);
		total += n;
	}
	return total;
}

/*
 * The series carrying any of a matcher's label ids, sorted. The ids are
 * values of one label name and a series has one value per name, so their
 * posting lists are disjoint: concatenating and sorting is the union.
 */
static int32 *
matcher_series(const AlloyLabelIndex *idx, const MatcherIds *m, int64 count, int *n)
{
	int32	   *out = palloc_extended(sizeof(int32) * Max(count, 1), MCXT_ALLOC_HUGE);
	int			k = 0;

	for (int i = 0; i < m->nids; i++)
	{
		int			np;
		const int32 *p = AlloyLabelIndexPostings(idx, m->ids[i], &np);

		if (np > 0)
			memcpy(out + k, p, sizeof(int32) * np);
		k += np;
	}
	if (m->nids > 1 && k > 1)
		qsort(out, k, sizeof(int32), cmp_int32);
	*n = k;
	return out;
}

/* Keep the series of set whose labels hit m (want true) or miss it (false). */
static int
filter_series(const AlloyLabelIndex *idx, int32 *set, int nset, const MatcherIds *m, bool want)
{
	int			out = 0;

	for (int i = 0; i < nset; i++)
	{
		int			n;
		const int32 *ids = AlloyLabelIndexSeriesLabels(idx, set[i], &n);

		if (ids_intersect(ids, n, m) == want)
			set[out++] = set[i];
	}
	return out;
}

typedef struct MatcherOrder
{
	MatcherIds *m;
	int64		count;			/* series in its posting lists */
} MatcherOrder;

static int
cmp_matcher_order(const void *a, const void *b)
{
	const MatcherOrder *x = a;
	const MatcherOrder *y = b;

	return x->count < y->count ? -1 : x->count > y->count;
}

/*
 * The series (numbers of the label index) matching every matcher, sorted.
 * Positive matchers are intersected smallest first; a matcher whose
 * postings are far longer than the set so far is checked per series instead,
 * and negative matchers are subtracted the same way.
 */
static int32 *
indexed_match(const AlloyLabelIndex *idx, MatcherIds *mids, int nmatchers, int *nset)
{
	MatcherOrder *order = palloc(sizeof(MatcherOrder) * Max(nmatchers, 1));
	int32	   *set = NULL;
	int			n = 0;

	for (int i = 0; i < nmatchers; i++)
	{
		order[i].m = &mids[i];
		order[i].count = matcher_postings_count(idx, &mids[i]);
	}
	qsort(order, nmatchers, sizeof(MatcherOrder), cmp_matcher_order);

	for (int i = 0; i < nmatchers; i++)
	{
		MatcherIds *m = order[i].m;

		if (!m->positive)
			continue;
		if (set == NULL)
			set = matcher_series(idx, m, order[i].count, &n);
		else if (order[i].count <= (int64) n * ALLOY_LV_SERIES_COST)
		{
			int			nb;
			int32	   *b = matcher_series(idx, m, order[i].count, &nb);

			n = sorted_intersect(set, n, b, nb);
			pfree(b);
		}
		else
			n = filter_series(idx, set, n, m, true);
		if (n == 0)
			break;
	}
	if (set == NULL)
	{
		/* no positive matcher: every series of the tenant */
		n = AlloyLabelIndexSeriesCount(idx);
		set = palloc_extended(sizeof(int32) * Max(n, 1), MCXT_ALLOC_HUGE);
		for (int i = 0; i < n; i++)
			set[i] = i;
	}
	for (int i = 0; i < nmatchers && n > 0; i++)
	{
		MatcherIds *m = order[i].m;

		if (m->positive || m->nids == 0)
			continue;
		if (order[i].count <= (int64) n * ALLOY_LV_SERIES_COST)
		{
			int			nb;
			int32	   *b = matcher_series(idx, m, order[i].count, &nb);

			n = sorted_subtract(set, n, b, nb);
			pfree(b);
		}
		else
			n = filter_series(idx, set, n, m, false);
	}
	pfree(order);
	*nset = n;
	return set;
}

/*
 * Mark which wanted label ids (sorted, all of one label name) the matched
 * series carry, from the in-memory label index. Two strategies, chosen by
 * estimated cost as Prometheus does: when the wanted values' posting lists
 * are short next to the matched set, test each value's postings for overlap
 * with the set (stopping at the first common series); otherwise visit the
 * matched series once and look their labels up among the wanted ids,
 * stopping once every value has been seen.
 */
static void
indexed_label_values(const AlloyLabelIndex *idx, MatcherIds *mids, int nmatchers,
					 const int32 *wids, int nv, bool *seen, const char *name, int name_len)
{
	int			nset;
	int32	   *set = indexed_match(idx, mids, nmatchers, &nset);
	int64		cost = 0;
	bool		intersect;

	if (nset == 0)
	{
		pfree(set);
		return;
	}
	/* every value costs at least one step: many values always mean a scan */
	intersect = (int64) nv <= (int64) nset * ALLOY_LV_SERIES_COST;
	for (int v = 0; v < nv && intersect; v++)
	{
		int			np;

		(void) AlloyLabelIndexPostings(idx, wids[v], &np);
		cost += Min(np, nset);
		intersect = cost <= (int64) nset * ALLOY_LV_SERIES_COST;
	}
	elog(DEBUG1, "alloy label values of \"%.*s\": %d matched series, %d values, %s",
		 name_len, name, nset, nv, intersect ? "postings intersection" : "series scan");

	if (intersect)
	{
		for (int v = 0; v < nv; v++)
		{
			int			np;
			const int32 *p = AlloyLabelIndexPostings(idx, wids[v], &np);

			seen[v] = np > 0 && sorted_overlap(p, np, set, nset);
		}
	}
	else
	{
		int32		lo = wids[0];
		int32		hi = wids[nv - 1];
		int32	   *dense = NULL;
		int			nseen = 0;

		/* wanted id -> its position + 1, when the id range is small */
		if ((int64) hi - lo < ALLOY_LV_DENSE_MAX)
		{
			dense = palloc0(sizeof(int32) * ((Size) (hi - lo) + 1));
			for (int v = 0; v < nv; v++)
				dense[wids[v] - lo] = v + 1;
		}
		for (int i = 0; i < nset && nseen < nv; i++)
		{
			int			n;
			const int32 *ids = AlloyLabelIndexSeriesLabels(idx, set[i], &n);

			for (int j = 0; j < n; j++)
			{
				int			v;

				if (ids[j] < lo || ids[j] > hi)
					continue;
				if (dense)
					v = dense[ids[j] - lo] - 1;
				else
				{
					const int32 *f = bsearch(&ids[j], wids, nv, sizeof(int32), cmp_int32);

					v = f ? (int) (f - wids) : -1;
				}
				if (v >= 0)
				{
					if (!seen[v])
						nseen++;
					seen[v] = true;
					break;		/* one value per label name */
				}
			}
		}
		if (dense)
			pfree(dense);
	}
	pfree(set);
}

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
 * label index (catalog_labelidx.c) when it can be used, else from the
 * matched series' rows, without building label sets.
 */
AlloyLabel *
AlloySeriesLabelValues(int32 tenant_id, const AlloyMatcher *matchers, int nmatchers,
					   const char *name, int name_len, int *nvalues)
{
	const AlloyCatalogRels *rels = AlloyCatalogGetRels();
	Snapshot	snapshot = ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot();
	Relation	lrel;
	Relation	lidx;
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
		MatcherIds *mids = palloc0(sizeof(MatcherIds) * Max(nmatchers, 1));
		int32	   *wids = palloc(sizeof(int32) * nrows);
		bool		possible = true;

		lrel = table_open(rels->labels, AccessShareLock);
		lidx = index_open(rels->labels_key, AccessShareLock);
		for (int i = 0; i < nmatchers && possible; i++)
			possible = matcher_resolve(lrel, lidx, snapshot, tenant_id, &matchers[i], &mids[i]);
		index_close(lidx, AccessShareLock);
		table_close(lrel, AccessShareLock);
		for (int v = 0; v < nrows; v++)
			wids[v] = rows[v].label_id;
		if (possible)
			indexed_label_values(idx, mids, nmatchers, wids, nrows, seen, name, name_len);
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
		MatcherIds *mids = palloc0(sizeof(MatcherIds) * Max(nmatchers, 1));
		Relation	lrel = table_open(rels->labels, AccessShareLock);
		Relation	lidx = index_open(rels->labels_key, AccessShareLock);
		bool		possible = true;

		for (int i = 0; i < nmatchers && possible; i++)
			possible = matcher_resolve(lrel, lidx, snapshot, tenant_id, &matchers[i], &mids[i]);
		index_close(lidx, AccessShareLock);
		if (possible)
		{
			int			nset;
			int32	   *set = indexed_match(idx, mids, nmatchers, &nset);
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
