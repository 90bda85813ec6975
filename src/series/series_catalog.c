/*
 * series_catalog.c: the series catalog's setup, called once from _PG_init:
 * its settings and, when preloaded, the shared-memory hooks of the series
 * cache (series_cache.c). It sits on top of the other files of series/,
 * whose settings it defines.
 *
 * The extension also runs without shared_preload_libraries; then the hooks
 * are never installed and series_cache.c falls back to a backend-local cache.
 */
#include "postgres.h"

#include <limits.h>

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"

#include "series/series_int.h"

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

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
