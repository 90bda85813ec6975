/*
 * series_matchers.c: label matchers -> sets of interned label ids.
 *
 * Each matcher becomes a set of interned label ids of its label name:
 *  - a matcher that does not match the empty string needs the series to carry
 *    one of the ids whose value matches ("positive": postings union);
 *  - one that matches the empty string also matches series without the label
 *    (Prometheus semantics), so it is kept as the ids whose value does NOT
 *    match, and a series must carry none of them ("negative": subtraction).
 * What is done with the sets is up to the callers: GIN scans of the catalog
 * (series_select.c) or the in-memory postings (series_postings.c).
 *
 * Label values are found through alloy.labels' (tenant_id, name, value)
 * index: an = matcher (or a regex that is an alternation of literals) is one
 * or a few direct lookups, other regexes scan the values of one name (only the
 * matching prefix when the regex has a literal prefix).
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"

#include "series/series_int.h"
#include "base/base.h"

static void
matcher_ids_add(AlloyMatcherIds *m, int32 id)
{
	if (m->nids == m->maxids)
	{
		m->maxids = Max(16, m->maxids * 2);
		m->ids = m->ids ? repalloc_huge(m->ids, sizeof(int32) * m->maxids)
			: palloc(sizeof(int32) * m->maxids);
	}
	m->ids[m->nids++] = id;
}

static void *
matcher_palloc(void *arg, size_t size)
{
	return palloc(size);
}

static void
matcher_pfree(void *arg, void *ptr)
{
	pfree(ptr);
}

/* A matcher's regex allocates in the current memory context. */
static const AlloyAllocHooks matcher_hooks = {matcher_palloc, matcher_pfree, NULL};

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
				  const ValueTest *t, bool want, AlloyMatcherIds *out)
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
				const AlloyMatcher *m, AlloyMatcherIds *out)
{
	ValueTest	t = {m->op, m->value, m->value_len, NULL};
	bool		matches_empty;
	const char *prefix = NULL;
	size_t		prefix_len = 0;

	memset(out, 0, sizeof(*out));
	if (m->op == ALLOY_MATCH_RE || m->op == ALLOY_MATCH_NRE)
	{
		char		err[256];

		t.rx = alloy_regex_compile(m->value, m->value_len, &matcher_hooks, err, sizeof(err));
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
		qsort(out->ids, out->nids, sizeof(int32), AlloyCmpLabelId);
	return !(out->positive && out->nids == 0);
}


/*
 * Resolve every matcher into mids[0..nmatchers), with alloy.labels (lrel)
 * open and its (tenant, name, value) index opened here. Returns false, at
 * the first matcher that no series can match, when the selection is empty.
 */
bool
AlloyMatchersResolve(Relation lrel, Snapshot snapshot, int32 tenant_id,
					 const AlloyMatcher *matchers, int nmatchers, AlloyMatcherIds *mids)
{
	const AlloyCatalogRels *rels = AlloyCatalogGetRels();
	Relation	lidx = index_open(rels->labels_key, AccessShareLock);
	bool		possible = true;

	for (int i = 0; i < nmatchers && possible; i++)
		possible = matcher_resolve(lrel, lidx, snapshot, tenant_id, &matchers[i], &mids[i]);
	index_close(lidx, AccessShareLock);
	return possible;
}
