/*
 * series_local.c: what one backend remembers between catalog lookups, below
 * the tables and the relation lookup so that both may call it:
 *
 *  - the pending map: series created by the current transaction, published
 *    to the series cache (series_cache.c) by the commit callback only, and
 *    dropped with their subtransaction when it aborts;
 *  - committed tenants, name -> id (tenants are never deleted);
 *  - committed labels, (tenant, name, value) -> label id, so creating a
 *    series whose labels mostly exist does not probe alloy.labels for each.
 *
 * The last two are emptied when the catalog's schema goes away
 * (AlloyTenantCacheReset, from the invalidation callback of series_rels.c).
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "series/series_int.h"

typedef struct AlloyPendingEntry
{
	AlloyCacheKey key;
	int64		series_id;
	SubTransactionId subid;
} AlloyPendingEntry;

static HTAB *pending_series = NULL;

typedef struct AlloyTenantCacheEntry
{
	char		name[NAMEDATALEN * 3];	/* > ALLOY_TENANT_NAME_MAX */
	int32		tenant_id;
} AlloyTenantCacheEntry;

static HTAB *tenant_cache = NULL;

/*
 * Committed labels of this backend: (tenant, name, value) -> label id, so
 * creating a series whose labels mostly exist does not probe alloy.labels
 * for each. Keyed by a 64-bit hash with the strings kept for verification;
 * emptied when it reaches ALLOY_LABEL_CACHE_MAX entries or the catalog
 * changes (labels are never deleted, so entries never go stale otherwise).
 */
typedef struct AlloyLabelCacheEntry
{
	uint64		key;
	int32		tenant_id;
	int32		label_id;
	char	   *name;			/* name NUL value NUL, in label_cache_cxt */
	int			name_len;
	int			value_len;
} AlloyLabelCacheEntry;

#define ALLOY_LABEL_CACHE_MAX 100000

static HTAB *label_cache = NULL;
static MemoryContext label_cache_cxt = NULL;

StaticAssertDecl(NAMEDATALEN * 3 > ALLOY_TENANT_NAME_MAX, "tenant cache key too short");

/* ---------- the pending map ---------- */

/* A series this transaction created, or ALLOY_INVALID_SERIES_ID. */
int64
AlloyPendingLookup(const AlloyCacheKey *key)
{
	AlloyPendingEntry *e;

	if (pending_series == NULL)
		return ALLOY_INVALID_SERIES_ID;
	e = hash_search(pending_series, key, HASH_FIND, NULL);
	return e ? e->series_id : ALLOY_INVALID_SERIES_ID;
}

void
AlloyPendingAdd(const AlloyCacheKey *key, int64 series_id)
{
	AlloyPendingEntry *e;
	bool		found;

	if (pending_series == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(AlloyCacheKey);
		ctl.entrysize = sizeof(AlloyPendingEntry);
		ctl.hcxt = TopTransactionContext;
		pending_series = hash_create("alloy pending series", 1024, &ctl,
									 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	e = hash_search(pending_series, key, HASH_ENTER, &found);
	e->series_id = series_id;
	e->subid = GetCurrentSubTransactionId();
}

/* Commit: the rows are visible to everybody now; publish them. */
void
AlloyPendingAtCommit(void)
{
	HASH_SEQ_STATUS status;
	AlloyPendingEntry *e;

	if (pending_series == NULL)
		return;
	hash_seq_init(&status, pending_series);
	while ((e = hash_seq_search(&status)) != NULL)
		AlloyCacheInsert(&e->key, e->series_id);
	pending_series = NULL;		/* freed with TopTransactionContext */
}

void
AlloyPendingAtAbort(void)
{
	pending_series = NULL;
}

void
AlloyPendingAtSubCommit(SubTransactionId mySubid, SubTransactionId parentSubid)
{
	HASH_SEQ_STATUS status;
	AlloyPendingEntry *e;

	if (pending_series == NULL)
		return;
	hash_seq_init(&status, pending_series);
	while ((e = hash_seq_search(&status)) != NULL)
		if (e->subid == mySubid)
			e->subid = parentSubid;
}

/* A subtransaction's rows are gone: so are its entries (and its children's). */
void
AlloyPendingAtSubAbort(SubTransactionId mySubid)
{
	HASH_SEQ_STATUS status;
	AlloyPendingEntry *e;

	if (pending_series == NULL)
		return;
	hash_seq_init(&status, pending_series);
	while ((e = hash_seq_search(&status)) != NULL)
		if (e->subid >= mySubid)
			hash_search(pending_series, &e->key, HASH_REMOVE, NULL);
}

/* The catalog may have been dropped: forget every tenant and label. */
void
AlloyTenantCacheReset(void)
{
	if (tenant_cache != NULL)
	{
		hash_destroy(tenant_cache);
		tenant_cache = NULL;
	}
	if (label_cache_cxt != NULL)
	{
		MemoryContextDelete(label_cache_cxt);
		label_cache_cxt = NULL;
		label_cache = NULL;
	}
}

/* ---------- committed tenants ---------- */

/* The id of a committed tenant this backend has seen, or ALLOY_INVALID_TENANT_ID. */
int32
AlloyTenantCacheGet(const char *name)
{
	AlloyTenantCacheEntry *ce;

	if (tenant_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(((AlloyTenantCacheEntry *) 0)->name);
		ctl.entrysize = sizeof(AlloyTenantCacheEntry);
		ctl.hcxt = TopMemoryContext;
		tenant_cache = hash_create("alloy tenants", 64, &ctl,
								   HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	}
	ce = hash_search(tenant_cache, name, HASH_FIND, NULL);
	return ce != NULL ? ce->tenant_id : ALLOY_INVALID_TENANT_ID;
}

/*
 * Remember a committed tenant (they are never deleted). The name has been
 * validated, so it fits the key; AlloyTenantCacheGet has made the table.
 */
void
AlloyTenantCachePut(const char *name, int32 tenant_id)
{
	AlloyTenantCacheEntry *ce = hash_search(tenant_cache, name, HASH_ENTER, NULL);

	ce->tenant_id = tenant_id;
}

/* ---------- committed labels ---------- */

/* The label cache's key of (tenant, name, value). */
uint64
AlloyLabelCacheKey(int32 tenant_id, const AlloyLabel *l)
{
	AlloyLabelsHashState st;

	alloy_labels_hash_init(&st, (uint64) (uint32) tenant_id);
	alloy_labels_hash_add(&st, l->name, l->name_len, l->value, l->value_len);
	return alloy_labels_hash_final(&st);
}

/* The cached id of a committed label, or 0. */
int32
AlloyLabelCacheGet(int32 tenant_id, const AlloyLabel *l, uint64 key)
{
	AlloyLabelCacheEntry *e;

	if (label_cache == NULL)
		return 0;
	e = hash_search(label_cache, &key, HASH_FIND, NULL);
	if (e == NULL || e->tenant_id != tenant_id ||
		e->name_len != l->name_len || e->value_len != l->value_len ||
		memcmp(e->name, l->name, l->name_len) != 0 ||
		memcmp(e->name + l->name_len + 1, l->value, l->value_len) != 0)
		return 0;
	return e->label_id;
}

/* Remember a committed label's id (emptying the cache when it is full). */
void
AlloyLabelCachePut(int32 tenant_id, const AlloyLabel *l, uint64 key, int32 label_id)
{
	AlloyLabelCacheEntry *e;
	bool		found;

	if (label_cache != NULL && hash_get_num_entries(label_cache) >= ALLOY_LABEL_CACHE_MAX)
	{
		MemoryContextDelete(label_cache_cxt);
		label_cache_cxt = NULL;
		label_cache = NULL;
	}
	if (label_cache == NULL)
	{
		HASHCTL		ctl;

		label_cache_cxt = AllocSetContextCreate(TopMemoryContext, "alloy label cache",
												ALLOCSET_DEFAULT_SIZES);
		ctl.keysize = sizeof(uint64);
		ctl.entrysize = sizeof(AlloyLabelCacheEntry);
		ctl.hcxt = label_cache_cxt;
		label_cache = hash_create("alloy labels", 4096, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	e = hash_search(label_cache, &key, HASH_ENTER, &found);
	if (found)
		return;					/* a 64-bit collision: keep the first */
	e->tenant_id = tenant_id;
	e->label_id = label_id;
	e->name_len = l->name_len;
	e->value_len = l->value_len;
	e->name = MemoryContextAlloc(label_cache_cxt, l->name_len + l->value_len + 2);
	memcpy(e->name, l->name, l->name_len);
	e->name[l->name_len] = '\0';
	memcpy(e->name + l->name_len + 1, l->value, l->value_len);
	e->name[l->name_len + 1 + l->value_len] = '\0';
}
