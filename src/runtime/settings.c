/*
 * settings.c: the settings of the public contract (docs: README.md and the
 * architecture contract), defined in one place so `SHOW alloy.*` and the
 * README table agree; every layer reads them through runtime.h.
 *
 * Settings that shape shared memory or sockets are PGC_POSTMASTER; storage
 * policies can change on reload; query limits are per session. Each module
 * defines its own further settings from its Init function.
 */
#include "postgres.h"

#include <limits.h>

#include "miscadmin.h"
#include "utils/guc.h"

#include "runtime/runtime.h"

char	   *alloy_listen_addresses = NULL;
int			alloy_port = 9201;
char	   *alloy_database = NULL;
int			alloy_http_workers = 2;
int			alloy_partition_interval = 86400;
int			alloy_retention = 15 * 86400;
int			alloy_lookback_delta = 300000;
int			alloy_query_max_samples = 50000000;
int			alloy_max_request_bytes = 64 * 1024 * 1024;

/*
 * Settings that do not shape processes or shared memory: defined whether or
 * not the library is preloaded, since SQL ingest and queries work either way.
 */
static void
AlloyDefineSessionSettings(void)
{
	DefineCustomIntVariable("alloy.partition_interval",
							"Time span of one partition of alloy.samples.",
							"Applies to partitions created after a change.",
							&alloy_partition_interval,
							86400, 60, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("alloy.retention",
							"Samples older than this are dropped, a whole partition at a time.",
							"Zero keeps samples forever.",
							&alloy_retention,
							15 * 86400, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("alloy.lookback_delta",
							"How far back PromQL looks for a sample at each evaluation step.",
							"The same as Prometheus's --query.lookback-delta.",
							&alloy_lookback_delta,
							300000, 1, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("alloy.query_max_samples",
							"Largest number of samples one PromQL query may hold in memory.",
							"The same as Prometheus's --query.max-samples.",
							&alloy_query_max_samples,
							50000000, 1, INT_MAX,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("alloy.max_request_bytes",
							"Largest accepted HTTP request body, compressed and decompressed.",
							NULL,
							&alloy_max_request_bytes,
							64 * 1024 * 1024, 1024, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_BYTE,
							NULL, NULL, NULL);
}

/*
 * Define the contract's settings. Called before the modules so their Init code
 * can rely on the values. The PGC_POSTMASTER ones (sockets, workers) exist
 * only when the library is preloaded: PostgreSQL refuses to create them
 * later, and without preloading there are no workers to configure.
 */
void
AlloyDefineSettings(void)
{
	AlloyDefineSessionSettings();
	if (!process_shared_preload_libraries_in_progress)
		return;

	DefineCustomStringVariable("alloy.listen_addresses",
							   "Addresses the alloy HTTP workers listen on.",
							   "A comma-separated list of host names or IP addresses; '*' means all.",
							   &alloy_listen_addresses,
							   "127.0.0.1",
							   PGC_POSTMASTER, 0,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("alloy.port",
							"TCP port of the alloy HTTP API (remote write, remote read, PromQL, metrics).",
							NULL,
							&alloy_port,
							9201, 1, 65535,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);

	DefineCustomStringVariable("alloy.database",
							   "Database the alloy background workers connect to.",
							   "The alloy extension must be created in this database.",
							   &alloy_database,
							   "postgres",
							   PGC_POSTMASTER, 0,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("alloy.http_workers",
							"Number of HTTP worker processes sharing the alloy port.",
							"Zero disables the HTTP API; SQL ingest and queries still work.",
							&alloy_http_workers,
							2, 0, 64,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);

}

