/*
 * series_labels.c: a tenant's label names and one label's values, without
 * match[] (/api/v1/labels, /api/v1/label/<name>/values), and a label set as
 * jsonb, the form every SQL-facing caller shows labels in.
 *
 * Names and values come from alloy.labels' (tenant_id, name, value) index,
 * whose text columns use COLLATE "C", so index order is the bytewise order
 * Prometheus answers in and nothing needs sorting. The names are read by
 * skipping: after each name the scan restarts at the first entry with a
 * greater name, so a name with a million values (instance) costs one B-tree
 * descent, not a million index entries. These are the same answers as the
 * former SQL functions (a join, DISTINCT and ORDER BY planned on every call),
 * without the planner, the executor and SPI: the HTTP worker calls the C API
 * directly, SQL through alloy.label_names() and alloy.label_values()
 * (api/sql_labels.c).
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "series/series_int.h"

static Snapshot
labels_snapshot(void)
{
	return ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot();
}

/*
 * The id of a tenant name, or ALLOY_INVALID_TENANT_ID. Unlike
 * AlloyTenantLookup, a name that could never be valid is not an error: it is
 * simply no tenant, as the SQL functions always answered.
 */
static int32
labels_tenant_id(const char *tenant, Snapshot snapshot)
{
	const AlloyCatalogRels *rels;
	Relation	trel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	int32		id = ALLOY_INVALID_TENANT_ID;

	if (tenant == NULL || tenant[0] == '\0' || strcmp(tenant, ALLOY_DEFAULT_TENANT_NAME) == 0)
		return ALLOY_DEFAULT_TENANT_ID;
	rels = AlloyCatalogGetRels();
	trel = table_open(rels->tenants, AccessShareLock);
	ScanKeyInit(&key, Anum_alloy_tenants_name, BTEqualStrategyNumber, F_TEXTEQ,
				CStringGetTextDatum(tenant));
	scan = systable_beginscan(trel, rels->tenants_name_key, true, snapshot, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;

		id = DatumGetInt32(heap_getattr(tup, Anum_alloy_tenants_tenant_id,
										RelationGetDescr(trel), &isnull));
	}
	systable_endscan(scan);
	table_close(trel, AccessShareLock);
	return id;
}

static void
labels_add(AlloyLabel **out, int *n, int *max, const char *name, int name_len,
		   const char *value, int value_len)
{
	if (*n == *max)
	{
		*max = Max(32, *max * 2);
		*out = *out ? repalloc_huge(*out, sizeof(AlloyLabel) * *max)
			: palloc(sizeof(AlloyLabel) * *max);
	}
	(*out)[*n].name = name;
	(*out)[*n].name_len = name_len;
	(*out)[*n].value = value;
	(*out)[*n].value_len = value_len;
	(*n)++;
}

/*
 * The label names of a tenant's series, sorted bytewise, as AlloyLabels
 * whose value is NULL. tenant NULL or "" is the default tenant; an unknown
 * tenant has none.
 */
AlloyLabel *
AlloyTenantLabelNames(const char *tenant, int *nnames)
{
	Snapshot	snapshot = labels_snapshot();
	int32		tenant_id = labels_tenant_id(tenant, snapshot);

	*nnames = 0;
	if (tenant_id == ALLOY_INVALID_TENANT_ID)
		return NULL;
	return AlloyLabelNamesOfTenant(tenant_id, snapshot, nnames);
}

/* The same by tenant id (series_int.h). */
AlloyLabel *
AlloyLabelNamesOfTenant(int32 tenant_id, Snapshot snapshot, int *nnames)
{
	const AlloyCatalogRels *rels;
	Relation	lrel;
	Relation	lidx;
	TupleTableSlot *slot;
	IndexScanDesc scan;
	ScanKeyData keys[2];
	AlloyLabel *out = NULL;
	int			max = 0;

	*nnames = 0;
	rels = AlloyCatalogGetRels();
	lrel = table_open(rels->labels, AccessShareLock);
	lidx = index_open(rels->labels_key, AccessShareLock);
	slot = table_slot_create(lrel, NULL);
	/* btree rescans take as many keys as the scan began with: name >= '' first */
	ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(tenant_id));
	ScanKeyInit(&keys[1], 2, BTGreaterEqualStrategyNumber, F_TEXT_GE,
				PointerGetDatum(cstring_to_text("")));
	scan = index_beginscan(lrel, lidx, snapshot, 2, 0);
	for (;;)
	{
		bool		isnull;
		text	   *name;

		CHECK_FOR_INTERRUPTS();
		index_rescan(scan, keys, 2, NULL, 0);
		if (!index_getnext_slot(scan, ForwardScanDirection, slot))
			break;
		/* a visible row: its name is the next one; skip past all its values */
		name = DatumGetTextPCopy(slot_getattr(slot, Anum_alloy_labels_name, &isnull));
		labels_add(&out, nnames, &max, text_to_cstring(name), VARSIZE_ANY_EXHDR(name),
				   NULL, 0);
		ScanKeyInit(&keys[1], 2, BTGreaterStrategyNumber, F_TEXT_GT, PointerGetDatum(name));
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(lidx, AccessShareLock);
	table_close(lrel, AccessShareLock);
	return out;
}

/*
 * The values of one label over a tenant's series, sorted bytewise (value
 * strings NUL-terminated). An unknown tenant or name has none.
 */
AlloyLabel *
AlloyTenantLabelValues(const char *tenant, const char *name, int name_len, int *nvalues)
{
	Snapshot	snapshot = labels_snapshot();
	int32		tenant_id = labels_tenant_id(tenant, snapshot);
	AlloyLabelValueRow *rows;
	AlloyLabel *out;

	*nvalues = 0;
	if (tenant_id == ALLOY_INVALID_TENANT_ID)
		return NULL;
	rows = AlloyLabelValueRows(tenant_id, name, name_len, snapshot, nvalues);
	if (*nvalues == 0)
		return NULL;
	out = palloc(sizeof(AlloyLabel) * *nvalues);
	for (int i = 0; i < *nvalues; i++)
	{
		out[i].name = name;
		out[i].name_len = name_len;
		out[i].value = rows[i].value;
		out[i].value_len = rows[i].value_len;
	}
	pfree(rows);
	return out;
}

AlloyLabelValueRow *
AlloyLabelValueRows(int32 tenant_id, const char *name, int name_len, Snapshot snapshot,
					int *nrows)
{
	const AlloyCatalogRels *rels = AlloyCatalogGetRels();
	Relation	lrel = table_open(rels->labels, AccessShareLock);
	Relation	lidx = index_open(rels->labels_key, AccessShareLock);
	TupleTableSlot *slot = table_slot_create(lrel, NULL);
	IndexScanDesc scan;
	ScanKeyData keys[2];
	AlloyLabelValueRow *rows = NULL;
	int			max = 0;

	*nrows = 0;
	ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(tenant_id));
	ScanKeyInit(&keys[1], 2, BTEqualStrategyNumber, F_TEXTEQ,
				PointerGetDatum(cstring_to_text_with_len(name, name_len)));
	scan = index_beginscan(lrel, lidx, snapshot, 2, 0);
	index_rescan(scan, keys, 2, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		text	   *tv = DatumGetTextPP(slot_getattr(slot, Anum_alloy_labels_value, &isnull));
		AlloyLabelValueRow *r;

		CHECK_FOR_INTERRUPTS();
		if (*nrows == max)
		{
			max = Max(64, max * 2);
			rows = rows ? repalloc_huge(rows, sizeof(AlloyLabelValueRow) * max)
				: palloc(sizeof(AlloyLabelValueRow) * max);
		}
		r = &rows[(*nrows)++];
		r->label_id = DatumGetInt32(slot_getattr(slot, Anum_alloy_labels_label_id, &isnull));
		r->value_len = VARSIZE_ANY_EXHDR(tv);
		r->value = pnstrdup(VARDATA_ANY(tv), r->value_len);
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(lidx, AccessShareLock);
	table_close(lrel, AccessShareLock);
	return rows;
}

/* A label set as a jsonb object (name -> value), for every SQL-facing caller. */
Datum
AlloyLabelsJsonb(const AlloyLabel *labels, int n)
{
	JsonbParseState *state = NULL;
	JsonbValue *res;

	res = pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < n; i++)
	{
		JsonbValue	k;
		JsonbValue	v;

		k.type = jbvString;
		k.val.string.val = (char *) labels[i].name;
		k.val.string.len = labels[i].name_len;
		v.type = jbvString;
		v.val.string.val = (char *) labels[i].value;
		v.val.string.len = labels[i].value_len;
		pushJsonbValue(&state, WJB_KEY, &k);
		pushJsonbValue(&state, WJB_VALUE, &v);
	}
	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbPGetDatum(JsonbValueToJsonb(res));
}
