/*
 * catalog.c: the series catalog's setup: its setting, the shared-memory hooks
 * of the series cache, the lookup of the catalog tables by name, and the
 * transaction callbacks that publish new series to the cache only at commit.
 *
 * The extension also runs without shared_preload_libraries; then the hooks
 * are never installed and catalog_cache.c falls back to a backend-local cache.
 */
#include "postgres.h"

#include <limits.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "runtime/runtime.h"
#include "series/series_int.h"

int			alloy_series_cache_size = 1048576;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static AlloyCatalogRels catalog_rels;
static bool catalog_rels_valid = false;
static bool callbacks_registered = false;

#define ALLOY_CACHE_TRANCHE "alloy_series_cache"

static void
alloy_catalog_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();

	RequestAddinShmemSpace(AlloyCacheShmemSize());
	RequestNamedLWLockTranche(ALLOY_CACHE_TRANCHE, ALLOY_CACHE_PARTITIONS);
}

static void
alloy_catalog_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	AlloyCacheShmemInit();
	AlloyCacheLWLocksAssign(GetNamedLWLockTranche(ALLOY_CACHE_TRANCHE));
	LWLockRelease(AddinShmemInitLock);
}

/*
 * When preloaded, define alloy.series_cache_size and ask for the shared
 * cache. Called once from _PG_init.
 */
void
AlloyCatalogInit(void)
{
	DefineCustomIntVariable("alloy.tenant_max_series",
							"Most series one tenant may have; 0 means no limit.",
							"Writes that would create more are refused (429 over HTTP).",
							&alloy_tenant_max_series,
							0, 0, INT_MAX,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("alloy.label_index_max_series",
							"Most series a backend keeps in its in-memory label index; 0 turns it off.",
							"The index answers label values with match[] from memory (about "
							"90 bytes per series of 10 labels, in each HTTP worker); past "
							"this size the catalog tables answer.",
							&alloy_label_index_max_series,
							4 * 1024 * 1024, 0, INT_MAX,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	/*
	 * PostgreSQL refuses (FATAL) to define a PGC_POSTMASTER setting outside
	 * shared_preload_libraries, and without preloading there is no shared
	 * cache to size: the backend-local cache then has its fixed size.
	 */
	if (!process_shared_preload_libraries_in_progress)
		return;

	DefineCustomIntVariable("alloy.series_cache_size",
							"Number of series ids the shared series cache holds.",
							"Each entry takes 40 bytes of shared memory. Series not in the "
							"cache are found through the catalog's indexes.",
							&alloy_series_cache_size,
							1048576, 1024, 100 * 1000 * 1000,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = alloy_catalog_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = alloy_catalog_shmem_startup;
}

/*
 * Any relcache invalidation of one of our tables (or a full reset) may mean
 * the extension was dropped and created again: look the OIDs up afresh.
 */
static void
alloy_catalog_relcache_callback(Datum arg, Oid relid)
{
	if (!catalog_rels_valid)
		return;
	if (relid == InvalidOid ||
		relid == catalog_rels.tenants || relid == catalog_rels.labels ||
		relid == catalog_rels.series)
		catalog_rels_valid = false;
}

static void
alloy_catalog_syscache_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	catalog_rels_valid = false;
	AlloyTenantCacheReset();
}

/* Series created in this transaction reach the cache when it commits. */
static void
alloy_catalog_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			AlloyPendingAtCommit();
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			/* a prepared transaction's series are found by index later */
			AlloyPendingAtAbort();
			break;
		default:
			break;
	}
}

static void
alloy_catalog_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
							   SubTransactionId parentSubid, void *arg)
{
	switch (event)
	{
		case SUBXACT_EVENT_COMMIT_SUB:
			AlloyPendingAtSubCommit(mySubid, parentSubid);
			break;
		case SUBXACT_EVENT_ABORT_SUB:
			AlloyPendingAtSubAbort(mySubid);
			break;
		default:
			break;
	}
}

void
AlloyCatalogRegisterCallbacks(void)
{
	if (callbacks_registered)
		return;
	CacheRegisterRelcacheCallback(alloy_catalog_relcache_callback, (Datum) 0);
	/* DROP SCHEMA / DROP EXTENSION: the namespace goes away */
	CacheRegisterSyscacheCallback(NAMESPACEOID, alloy_catalog_syscache_callback, (Datum) 0);
	RegisterXactCallback(alloy_catalog_xact_callback, NULL);
	RegisterSubXactCallback(alloy_catalog_subxact_callback, NULL);
	callbacks_registered = true;
}

static Oid
alloy_catalog_relid(const char *name, Oid nsp)
{
	Oid			relid = get_relname_relid(name, nsp);

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("alloy catalog relation \"alloy.%s\" does not exist", name),
				 errhint("Run CREATE EXTENSION alloy in this database.")));
	return relid;
}

/*
 * The OIDs of the catalog relations, looked up by name on first use and after
 * any invalidation. Raises an error when the extension is not installed.
 */
const AlloyCatalogRels *
AlloyCatalogGetRels(void)
{
	Oid			nsp;

	AlloyCatalogRegisterCallbacks();
	if (catalog_rels_valid)
		return &catalog_rels;

	nsp = get_namespace_oid("alloy", true);
	if (!OidIsValid(nsp))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_SCHEMA),
				 errmsg("schema \"alloy\" does not exist"),
				 errhint("Run CREATE EXTENSION alloy in this database.")));

	catalog_rels.namespace = nsp;
	catalog_rels.tenants = alloy_catalog_relid("tenants", nsp);
	catalog_rels.tenants_pkey = alloy_catalog_relid("tenants_pkey", nsp);
	catalog_rels.tenants_name_key = alloy_catalog_relid("tenants_name_key", nsp);
	catalog_rels.tenants_seq = alloy_catalog_relid("tenants_tenant_id_seq", nsp);
	catalog_rels.labels = alloy_catalog_relid("labels", nsp);
	catalog_rels.labels_pkey = alloy_catalog_relid("labels_pkey", nsp);
	catalog_rels.labels_key = alloy_catalog_relid("labels_tenant_name_value_key", nsp);
	catalog_rels.labels_seq = alloy_catalog_relid("labels_label_id_seq", nsp);
	catalog_rels.series = alloy_catalog_relid("series_catalog", nsp);
	catalog_rels.series_pkey = alloy_catalog_relid("series_catalog_pkey", nsp);
	catalog_rels.series_key = alloy_catalog_relid("series_catalog_tenant_hash_key", nsp);
	catalog_rels.series_gin = alloy_catalog_relid("series_catalog_label_ids_idx", nsp);
	catalog_rels.series_seq = alloy_catalog_relid("series_catalog_series_id_seq", nsp);
	catalog_rels_valid = true;
	return &catalog_rels;
}
