/*
 * series_rels.c: the catalog's relations, looked up by name, and the
 * callbacks that keep what this backend remembers about them honest:
 *
 *  - relation and schema invalidations make the next AlloyCatalogGetRels
 *    look the OIDs up afresh (the extension may have been dropped and
 *    created again), and empty the tenant and label caches;
 *  - transaction callbacks publish the series a transaction created to the
 *    series cache when it commits, and forget them when it aborts
 *    (series_local.c).
 *
 * Every file that reads the catalog tables gets their OIDs here.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "series/series_int.h"

static AlloyCatalogRels catalog_rels;
static bool catalog_rels_valid = false;
static bool callbacks_registered = false;

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
