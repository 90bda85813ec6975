/*
 * series_tables.c: tenants, interned labels and series rows, read and
 * written through their indexes without SPI (the ingest hot path must not
 * plan queries), in the style of Citus columnar's metadata tables.
 *
 * Finding a series: cache (shared or local) -> series created earlier in
 * this transaction (the pending map) -> one probe of the (tenant_id, hash)
 * index with SnapshotSelf, accepting a row whose second hash (hash2) matches
 * too: like the cache, identity is the 128-bit pair, and label rows are only
 * read when a series is created.
 * SnapshotSelf sees every committed row and this transaction's own, whatever
 * the transaction's isolation level: a series another backend committed a
 * moment ago is found even inside an old REPEATABLE READ snapshot, which is
 * what get-or-create needs.
 *
 * Creating a series or a tenant: one transaction-level lock per database (the
 * "creation lock", an advisory lock tag in our own key space) serialises the
 * creation of tenants, series and labels. After taking it the lookup is
 * repeated: any other creator of the same series has committed or aborted by
 * then, so two backends creating the same new series end with one id, and no
 * unique violation can be raised. A single lock, rather than one per tenant or
 * per hash, keeps the lock table small during bulk creation and can never
 * deadlock against itself (per-tenant locks deadlocked as soon as two
 * transactions created series in two tenants in opposite orders); the cost
 * is that creations serialise until the creating transaction ends. Existing
 * series never take it. See docs/catalog.md.
 *
 * New series are kept in a per-transaction map and published to the cache
 * by the commit callback only; subtransaction aborts remove theirs. That map
 * and the backend's caches of tenants and labels live in series_local.c.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "series/series_int.h"

/* Our advisory lock key space: field2 'allo', field4 outside 1..2 (SQL's). */
#define ALLOY_LOCK_MAGIC			0x616c6c6f
#define ALLOY_LOCK_CREATE			16

/* Longest name + value of one label (the btree key of alloy.labels must fit). */
#define ALLOY_MAX_LABEL_BYTES		2048

/* ---------- helpers ---------- */

/* The creation lock: held until the end of the transaction. */
static void
alloy_lock_creation(void)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, ALLOY_LOCK_MAGIC, 0, ALLOY_LOCK_CREATE);
	if (LockHeldByMe(&tag, ExclusiveLock))
		return;
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

static bool
alloy_creation_lock_held(void)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, ALLOY_LOCK_MAGIC, 0, ALLOY_LOCK_CREATE);
	return LockHeldByMe(&tag, ExclusiveLock);
}

/* Was this row inserted by the current transaction (not yet committed)? */
static bool
alloy_tuple_is_own(HeapTuple tup)
{
	return TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(tup->t_data));
}

static int
alloy_cmp_bytes(const char *a, int alen, const char *b, int blen)
{
	int			r = memcmp(a, b, Min(alen, blen));

	if (r != 0)
		return r;
	return alen < blen ? -1 : alen > blen;
}

static int
alloy_cmp_label_name(const void *a, const void *b)
{
	const AlloyLabel *x = a;
	const AlloyLabel *y = b;

	return alloy_cmp_bytes(x->name, x->name_len, y->name, y->name_len);
}

/* Prometheus order of label sets: label by label, name then value. */
int
AlloyCompareLabelSets(const AlloyLabel *a, int na, const AlloyLabel *b, int nb)
{
	for (int i = 0; i < na && i < nb; i++)
	{
		int			r = alloy_cmp_bytes(a[i].name, a[i].name_len, b[i].name, b[i].name_len);

		if (r != 0)
			return r;
		r = alloy_cmp_bytes(a[i].value, a[i].value_len, b[i].value, b[i].value_len);
		if (r != 0)
			return r;
	}
	return na < nb ? -1 : na > nb;
}

/*
 * Sort by name, drop empty values (Prometheus: an empty value is the label's
 * absence), then check names, the metric name, duplicates and sizes.
 */
int
AlloyLabelsValidate(AlloyLabel *labels, int nlabels)
{
	int			n = 0;

	for (int i = 0; i < nlabels; i++)
	{
		if (labels[i].value_len == 0)
			continue;
		labels[n++] = labels[i];
	}
	if (n > 1)
		qsort(labels, n, sizeof(AlloyLabel), alloy_cmp_label_name);

	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a series needs at least one label with a non-empty value")));
	if (n > ALLOY_MAX_LABELS_PER_SERIES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("series has %d labels, the limit is %d", n, ALLOY_MAX_LABELS_PER_SERIES)));

	for (int i = 0; i < n; i++)
	{
		const AlloyLabel *l = &labels[i];

		if (!alloy_valid_label_name(l->name, l->name_len))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid label name \"%.*s\"", l->name_len, l->name),
					 errdetail("Label names must match [a-zA-Z_][a-zA-Z0-9_]*.")));
		if (i > 0 && l->name_len == labels[i - 1].name_len &&
			memcmp(l->name, labels[i - 1].name, l->name_len) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("duplicate label name \"%.*s\"", l->name_len, l->name)));
		if (l->name_len == 8 && memcmp(l->name, "__name__", 8) == 0 &&
			!alloy_valid_metric_name(l->value, l->value_len))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid metric name \"%.*s\"", l->value_len, l->value),
					 errdetail("Metric names must match [a-zA-Z_:][a-zA-Z0-9_:]*.")));
		if (l->name_len + l->value_len > ALLOY_MAX_LABEL_BYTES)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("label \"%.*s\" is too long", l->name_len, l->name),
					 errdetail("Name and value together may have at most %d bytes.",
							   ALLOY_MAX_LABEL_BYTES)));
		(void) pg_verify_mbstr(PG_UTF8, l->value, l->value_len, false);
	}
	return n;
}

/* ---------- tenants ---------- */

static void
alloy_validate_tenant_name(const char *name, int len)
{
	if (len > ALLOY_TENANT_NAME_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tenant name is too long"),
				 errdetail("Tenant names have at most %d bytes.", ALLOY_TENANT_NAME_MAX)));
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid tenant name \"%s\"", name)));
	for (int i = 0; i < len; i++)
	{
		char		c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  strchr("!-_.*'()", c) != NULL) || c == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid tenant name \"%s\"", name),
					 errdetail("Tenant names may contain letters, digits and the characters !-_.*'().")));
	}
}

/* Scan alloy.tenants by name with SnapshotSelf; -1 if absent. */
static int32
alloy_tenant_find(Relation rel, const AlloyCatalogRels *rels, const char *name, bool *own)
{
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	int32		result = ALLOY_INVALID_TENANT_ID;

	ScanKeyInit(&key, Anum_alloy_tenants_name, BTEqualStrategyNumber, F_TEXTEQ,
				CStringGetTextDatum(name));
	scan = systable_beginscan(rel, rels->tenants_name_key, true, SnapshotSelf, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;

		result = DatumGetInt32(heap_getattr(tup, Anum_alloy_tenants_tenant_id,
											RelationGetDescr(rel), &isnull));
		*own = alloy_tuple_is_own(tup);
	}
	systable_endscan(scan);
	return result;
}

int32
AlloyTenantLookup(const char *name, bool create)
{
	const AlloyCatalogRels *rels;
	Relation	rel;
	int32		id;
	bool		own = false;
	int			len;

	if (name == NULL || name[0] == '\0')
		return ALLOY_DEFAULT_TENANT_ID;
	len = strlen(name);
	alloy_validate_tenant_name(name, len);

	rels = AlloyCatalogGetRels();
	id = AlloyTenantCacheGet(name);
	if (id != ALLOY_INVALID_TENANT_ID)
		return id;

	rel = table_open(rels->tenants, create ? RowExclusiveLock : AccessShareLock);
	id = alloy_tenant_find(rel, rels, name, &own);
	if (id == ALLOY_INVALID_TENANT_ID && create)
	{
		alloy_lock_creation();
		id = alloy_tenant_find(rel, rels, name, &own);
		if (id == ALLOY_INVALID_TENANT_ID)
		{
			Datum		values[Natts_alloy_tenants];
			bool		nulls[Natts_alloy_tenants] = {0};
			HeapTuple	tup;

			id = (int32) nextval_internal(rels->tenants_seq, false);
			values[Anum_alloy_tenants_tenant_id - 1] = Int32GetDatum(id);
			values[Anum_alloy_tenants_name - 1] = CStringGetTextDatum(name);
			values[Anum_alloy_tenants_created - 1] = TimestampTzGetDatum(GetCurrentTimestamp());
			tup = heap_form_tuple(RelationGetDescr(rel), values, nulls);
			CatalogTupleInsert(rel, tup);
			heap_freetuple(tup);
			own = true;
		}
	}
	table_close(rel, NoLock);

	/* only committed tenants are remembered; they are never deleted */
	if (id != ALLOY_INVALID_TENANT_ID && !own)
		AlloyTenantCachePut(name, id);
	return id;
}

/* ---------- labels ---------- */

/* The id of (tenant, name, value) in alloy.labels, or 0. */
int32
AlloyLabelIdLookup(Relation labels, Relation labels_key, Snapshot snapshot,
				   int32 tenant_id, const char *name, int name_len,
				   const char *value, int value_len)
{
	ScanKeyData keys[3];
	IndexScanDesc scan;
	int32		result = 0;
	text	   *tname = cstring_to_text_with_len(name, name_len);
	text	   *tvalue = cstring_to_text_with_len(value, value_len);

	/* index column numbers: labels_tenant_name_value_key (tenant_id, name, value) */
	ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(tenant_id));
	ScanKeyInit(&keys[1], 2, BTEqualStrategyNumber, F_TEXTEQ, PointerGetDatum(tname));
	ScanKeyInit(&keys[2], 3, BTEqualStrategyNumber, F_TEXTEQ, PointerGetDatum(tvalue));
	scan = index_beginscan(labels, labels_key, snapshot, 3, 0);
	index_rescan(scan, keys, 3, NULL, 0);
	{
		TupleTableSlot *slot = table_slot_create(labels, NULL);

		if (index_getnext_slot(scan, ForwardScanDirection, slot))
		{
			bool		isnull;

			result = DatumGetInt32(slot_getattr(slot, Anum_alloy_labels_label_id, &isnull));
		}
		ExecDropSingleTupleTableSlot(slot);
	}
	index_endscan(scan);
	pfree(tname);
	pfree(tvalue);
	return result;
}

/* The id of a label (SnapshotSelf), and whether this transaction made it. */
static int32
alloy_label_find(Relation labels, Relation labels_key, int32 tenant_id,
				 const AlloyLabel *l, bool *own)
{
	ScanKeyData keys[3];
	IndexScanDesc scan;
	TupleTableSlot *slot = table_slot_create(labels, NULL);
	int32		result = 0;
	text	   *tname = cstring_to_text_with_len(l->name, l->name_len);
	text	   *tvalue = cstring_to_text_with_len(l->value, l->value_len);

	ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(tenant_id));
	ScanKeyInit(&keys[1], 2, BTEqualStrategyNumber, F_TEXTEQ, PointerGetDatum(tname));
	ScanKeyInit(&keys[2], 3, BTEqualStrategyNumber, F_TEXTEQ, PointerGetDatum(tvalue));
	scan = index_beginscan(labels, labels_key, SnapshotSelf, 3, 0);
	index_rescan(scan, keys, 3, NULL, 0);
	*own = false;
	if (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		bool		shouldfree;
		HeapTuple	tup = ExecFetchSlotHeapTuple(slot, false, &shouldfree);

		result = DatumGetInt32(slot_getattr(slot, Anum_alloy_labels_label_id, &isnull));
		*own = alloy_tuple_is_own(tup);
		if (shouldfree)
			heap_freetuple(tup);
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	pfree(tname);
	pfree(tvalue);
	return result;
}

static int32
alloy_label_insert(Relation labels, const AlloyCatalogRels *rels, int32 tenant_id,
				   const AlloyLabel *l)
{
	Datum		values[Natts_alloy_labels];
	bool		nulls[Natts_alloy_labels] = {0};
	HeapTuple	tup;
	int32		id = (int32) nextval_internal(rels->labels_seq, false);

	values[Anum_alloy_labels_label_id - 1] = Int32GetDatum(id);
	values[Anum_alloy_labels_tenant_id - 1] = Int32GetDatum(tenant_id);
	values[Anum_alloy_labels_name - 1] =
		PointerGetDatum(cstring_to_text_with_len(l->name, l->name_len));
	values[Anum_alloy_labels_value - 1] =
		PointerGetDatum(cstring_to_text_with_len(l->value, l->value_len));
	tup = heap_form_tuple(RelationGetDescr(labels), values, nulls);
	CatalogTupleInsert(labels, tup);
	heap_freetuple(tup);
	return id;
}

/* ---------- series ---------- */

/*
 * Find a series by its two label-set hashes (SnapshotSelf). Both 64-bit
 * hashes equal is taken as the same label set, as in the cache: no label
 * rows are read, so a cold lookup is one index probe. Returns its id and
 * whether the row belongs to this transaction (not committed yet).
 */
static int64
alloy_series_find(Relation srel, const AlloyCatalogRels *rels, const AlloyCacheKey *key,
				  bool *own)
{
	ScanKeyData keys[2];
	SysScanDesc scan;
	HeapTuple	tup;
	int64		result = ALLOY_INVALID_SERIES_ID;

	*own = false;
	ScanKeyInit(&keys[0], Anum_alloy_series_tenant_id, BTEqualStrategyNumber, F_INT4EQ,
				Int32GetDatum(key->tenant_id));
	ScanKeyInit(&keys[1], Anum_alloy_series_hash, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) key->hash));
	scan = systable_beginscan(srel, rels->series_key, true, SnapshotSelf, 2, keys);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;

		if (DatumGetInt64(heap_getattr(tup, Anum_alloy_series_hash2,
									   RelationGetDescr(srel), &isnull)) != (int64) key->hash2)
			continue;
		result = DatumGetInt64(heap_getattr(tup, Anum_alloy_series_series_id,
											RelationGetDescr(srel), &isnull));
		*own = alloy_tuple_is_own(tup);
		break;
	}
	systable_endscan(scan);
	return result;
}

/*
 * Make a new series: intern its labels (finding or inserting each), then
 * insert the row. The caller holds the creation lock and has just checked
 * that the series does not exist.
 */
static int64
alloy_series_insert(Relation srel, const AlloyCatalogRels *rels, const AlloyCacheKey *key,
					const AlloyLabel *labels, int nlabels)
{
	Relation	lrel;
	Relation	lidx;
	Datum	   *elems = palloc(sizeof(Datum) * nlabels);
	int32	   *ids = palloc(sizeof(int32) * nlabels);
	Datum		values[Natts_alloy_series];
	bool		nulls[Natts_alloy_series] = {0};
	ArrayType  *arr;
	HeapTuple	tup;
	int64		id;

	lrel = table_open(rels->labels, RowExclusiveLock);
	lidx = index_open(rels->labels_key, AccessShareLock);
	for (int i = 0; i < nlabels; i++)
	{
		uint64		ck = AlloyLabelCacheKey(key->tenant_id, &labels[i]);
		bool		own = false;

		ids[i] = AlloyLabelCacheGet(key->tenant_id, &labels[i], ck);
		if (ids[i] != 0)
			continue;
		ids[i] = alloy_label_find(lrel, lidx, key->tenant_id, &labels[i], &own);
		if (ids[i] == 0)
			ids[i] = alloy_label_insert(lrel, rels, key->tenant_id, &labels[i]);
		else if (!own)
			AlloyLabelCachePut(key->tenant_id, &labels[i], ck, ids[i]);
	}
	index_close(lidx, AccessShareLock);
	table_close(lrel, NoLock);

	qsort(ids, nlabels, sizeof(int32), AlloyCmpLabelId);
	for (int i = 0; i < nlabels; i++)
		elems[i] = Int32GetDatum(ids[i]);
	arr = construct_array(elems, nlabels, INT4OID, sizeof(int32), true, TYPALIGN_INT);

	id = nextval_internal(rels->series_seq, false);
	values[Anum_alloy_series_series_id - 1] = Int64GetDatum(id);
	values[Anum_alloy_series_tenant_id - 1] = Int32GetDatum(key->tenant_id);
	values[Anum_alloy_series_hash - 1] = Int64GetDatum((int64) key->hash);
	values[Anum_alloy_series_hash2 - 1] = Int64GetDatum((int64) key->hash2);
	values[Anum_alloy_series_label_ids - 1] = PointerGetDatum(arr);
	values[Anum_alloy_series_created - 1] = TimestampTzGetDatum(GetCurrentTimestamp());
	tup = heap_form_tuple(RelationGetDescr(srel), values, nulls);
	CatalogTupleInsert(srel, tup);
	heap_freetuple(tup);
	pfree(elems);
	pfree(ids);
	pfree(arr);
	return id;
}

static void
alloy_series_key(AlloyCacheKey *key, const AlloyCatalogRels *rels, int32 tenant_id,
				 const AlloyLabel *labels, int nlabels, uint64 hash)
{
	memset(key, 0, sizeof(*key));	/* the pending map hashes the padding too */
	key->hash = hash;
	key->hash2 = AlloyLabelsHashSeed(labels, nlabels, ALLOY_LABELS_HASH_SEED2);
	key->dbid = MyDatabaseId;
	key->relid = rels->series;
	key->tenant_id = tenant_id;
	Assert(hash == AlloyLabelsHash(labels, nlabels));
}

/* Remember a found or created series where it belongs. */
static void
alloy_series_remember(const AlloyCacheKey *key, int64 id, bool own)
{
	if (own)
		AlloyPendingAdd(key, id);
	else
		AlloyCacheInsert(key, id);
}

int64
AlloySeriesLookup(int32 tenant_id, const AlloyLabel *labels, int nlabels, uint64 hash)
{
	const AlloyCatalogRels *rels = AlloyCatalogGetRels();
	AlloyCacheKey key;
	Relation	srel;
	int64		id;
	bool		own;

	alloy_series_key(&key, rels, tenant_id, labels, nlabels, hash);
	if ((id = AlloyCacheLookup(&key)) != ALLOY_INVALID_SERIES_ID)
		return id;
	if ((id = AlloyPendingLookup(&key)) != ALLOY_INVALID_SERIES_ID)
		return id;
	srel = table_open(rels->series, AccessShareLock);
	id = alloy_series_find(srel, rels, &key, &own);
	table_close(srel, AccessShareLock);
	if (id != ALLOY_INVALID_SERIES_ID)
		alloy_series_remember(&key, id, own);
	return id;
}

static void alloy_check_series_limit(int32 tenant_id);

int64
AlloySeriesGetOrCreate(int32 tenant_id, const AlloyLabel *labels, int nlabels, uint64 hash)
{
	const AlloyCatalogRels *rels = AlloyCatalogGetRels();
	AlloyCacheKey key;
	Relation	srel;
	int64		id = ALLOY_INVALID_SERIES_ID;
	bool		own = false;

	alloy_series_key(&key, rels, tenant_id, labels, nlabels, hash);
	if ((id = AlloyCacheLookup(&key)) != ALLOY_INVALID_SERIES_ID)
		return id;
	if ((id = AlloyPendingLookup(&key)) != ALLOY_INVALID_SERIES_ID)
		return id;

	srel = table_open(rels->series, RowExclusiveLock);
	id = alloy_series_find(srel, rels, &key, &own);
	if (id == ALLOY_INVALID_SERIES_ID)
	{
		if (RecoveryInProgress())
			ereport(ERROR,
					(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
					 errmsg("cannot create series during recovery")));
		/*
		 * Take the creation lock and look again: whoever created the series
		 * meanwhile has committed (we find it) or aborted (we create it).
		 * SnapshotSelf sees our own new rows without CommandCounterIncrement.
		 */
		if (!alloy_creation_lock_held())
		{
			alloy_lock_creation();
			id = alloy_series_find(srel, rels, &key, &own);
		}
		if (id == ALLOY_INVALID_SERIES_ID)
		{
			if (alloy_tenant_max_series > 0)
				alloy_check_series_limit(tenant_id);
			id = alloy_series_insert(srel, rels, &key, labels, nlabels);
			own = true;
		}
	}
	table_close(srel, NoLock);
	alloy_series_remember(&key, id, own);
	return id;
}

/* ---------- per-tenant series limit ---------- */

int			alloy_tenant_max_series = 0;

/*
 * Refuse a new series when the tenant has alloy.tenant_max_series already.
 * Creation is serialised by the creation lock, held until commit, so a count
 * taken under it is exact for the rest of the transaction: count once per
 * transaction and tenant, then add what this transaction creates. The count
 * runs only when the limit is set and only for transactions that create
 * series, which steady traffic does not.
 */
static void
alloy_check_series_limit(int32 tenant_id)
{
	static LocalTransactionId counted_lxid = InvalidLocalTransactionId;
	static int32 counted_tenant = ALLOY_INVALID_TENANT_ID;
	static int64 counted = 0;

	if (counted_lxid != MyProc->lxid || counted_tenant != tenant_id)
	{
		Oid			argtypes[1] = {INT4OID};
		Datum		args[1] = {Int32GetDatum(tenant_id)};
		bool		isnull;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute_with_args("SELECT count(*) FROM alloy.series_catalog WHERE tenant_id = $1",
								  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "counting the series of a tenant failed");
		counted = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		SPI_finish();
		counted_lxid = MyProc->lxid;
		counted_tenant = tenant_id;
	}
	if (counted >= alloy_tenant_max_series)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("tenant has reached its limit of %d series", alloy_tenant_max_series),
				 errhint("Raise alloy.tenant_max_series, or reduce the tenant's label cardinality.")));
	counted++;
}

/* ---------- labels by id ---------- */

/*
 * Read label label_id from alloy.labels (lrel, open) by its primary key:
 * name and value NUL-terminated in CurrentMemoryContext. False if there is
 * no such label in the snapshot.
 */
bool
AlloyLabelRowRead(Relation lrel, Snapshot snapshot, int32 label_id, AlloyLabel *out)
{
	const AlloyCatalogRels *rels = AlloyCatalogGetRels();
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		isnull;

	ScanKeyInit(&key, Anum_alloy_labels_label_id, BTEqualStrategyNumber, F_INT4EQ,
				Int32GetDatum(label_id));
	scan = systable_beginscan(lrel, rels->labels_pkey, true, snapshot, 1, &key);
	tup = systable_getnext(scan);
	if (!HeapTupleIsValid(tup))
	{
		systable_endscan(scan);
		return false;
	}
	out->name = TextDatumGetCString(heap_getattr(tup, Anum_alloy_labels_name,
												 RelationGetDescr(lrel), &isnull));
	out->name_len = strlen(out->name);
	out->value = TextDatumGetCString(heap_getattr(tup, Anum_alloy_labels_value,
												  RelationGetDescr(lrel), &isnull));
	out->value_len = strlen(out->value);
	systable_endscan(scan);
	return true;
}

bool
AlloyLabelById(int32 label_id, AlloyLabel *label)
{
	const AlloyCatalogRels *rels = AlloyCatalogGetRels();
	Snapshot	snapshot = ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot();
	Relation	lrel = table_open(rels->labels, AccessShareLock);
	bool		found = AlloyLabelRowRead(lrel, snapshot, label_id, label);

	table_close(lrel, AccessShareLock);
	return found;
}

/* ---------- labels of a series ---------- */

bool
AlloySeriesGetLabels(int64 series_id, AlloyLabel **labels, int *nlabels)
{
	const AlloyCatalogRels *rels = AlloyCatalogGetRels();
	Snapshot	snapshot = ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot();
	Relation	srel;
	Relation	lrel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	int32	   *ids = NULL;
	int			n = 0;
	AlloyLabel *out;

	srel = table_open(rels->series, AccessShareLock);
	ScanKeyInit(&key, Anum_alloy_series_series_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum(series_id));
	scan = systable_beginscan(srel, rels->series_pkey, true, snapshot, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		ArrayType  *arr = DatumGetArrayTypePCopy(heap_getattr(tup, Anum_alloy_series_label_ids,
															  RelationGetDescr(srel), &isnull));

		n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
		ids = (int32 *) ARR_DATA_PTR(arr);
	}
	systable_endscan(scan);
	table_close(srel, AccessShareLock);
	if (ids == NULL)
		return false;

	out = palloc(sizeof(AlloyLabel) * Max(n, 1));
	lrel = table_open(rels->labels, AccessShareLock);
	for (int i = 0; i < n; i++)
		if (!AlloyLabelRowRead(lrel, snapshot, ids[i], &out[i]))
			elog(ERROR, "alloy label %d of series " INT64_FORMAT " is missing", ids[i], series_id);
	table_close(lrel, AccessShareLock);
	if (n > 1)
		qsort(out, n, sizeof(AlloyLabel), alloy_cmp_label_name);
	*labels = out;
	*nlabels = n;
	return true;
}
