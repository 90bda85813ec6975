/*
 * alloy.h: what every part of the extension shares: the settings and the
 * per-module initialisation entry points that _PG_init calls.
 *
 * Each module's Init function is called once from _PG_init. It may define its
 * own extra settings and, when process_shared_preload_libraries_in_progress is
 * true, request shared memory and register background workers by chaining
 * shmem_request_hook / shmem_startup_hook itself (pg_stat_statements style).
 */
#ifndef ALLOY_H
#define ALLOY_H

#define ALLOY_VERSION "0.1.0"
/* The Prometheus version alloy answers to, so clients enable what it supports. */
#define ALLOY_PROMETHEUS_COMPAT_VERSION "2.42.0"

/* Settings of the public contract (docs/settings in README.md). */
extern char *alloy_listen_addresses;
extern int	alloy_port;
extern char *alloy_database;
extern int	alloy_http_workers;
extern int	alloy_partition_interval;	/* seconds */
extern int	alloy_retention;	/* seconds, 0 = keep forever */
extern int	alloy_lookback_delta;	/* milliseconds */
extern int	alloy_query_max_samples;
extern int	alloy_max_request_bytes;

/* Module initialisation, called from _PG_init in this order. */
extern void AlloyStorageInit(void);
extern void AlloyCatalogInit(void);
extern void AlloyIngestInit(void);
extern void AlloyHttpInit(void);
extern void AlloyPromqlInit(void);

#endif							/* ALLOY_H */
