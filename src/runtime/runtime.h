#ifndef ALLOY_RUNTIME_RUNTIME_H
#define ALLOY_RUNTIME_RUNTIME_H

/* ---- from src/alloy.h ---- */
/*
 * alloy.h: what every part of the extension shares: the settings and the
 * per-module initialisation entry points that _PG_init calls.
 *
 * Each module's Init function is called once from _PG_init. It may define its
 * own extra settings and, when process_shared_preload_libraries_in_progress is
 * true, request shared memory and register background workers by chaining
 * shmem_request_hook / shmem_startup_hook itself (pg_stat_statements style).
 */

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

/* Define the settings above; _PG_init calls it before any module's Init. */
extern void AlloyDefineSettings(void);

/* ---- from src/http/metrics.h ---- */
/*
 * metrics.h: alloy's own metrics, kept in shared memory and rendered in the
 * Prometheus text format (httpd serves them on GET /metrics).
 *
 * Modules register counters and gauges from their Init function, in every
 * process in the same order, so the returned ids agree everywhere. Updates are
 * lock-free atomic adds; without shared_preload_libraries there is no shared
 * memory and updates are silently skipped (the SQL-only mode has no /metrics).
 */

#include "lib/stringinfo.h"

typedef enum AlloyMetricKind
{
	ALLOY_METRIC_COUNTER,
	ALLOY_METRIC_GAUGE
} AlloyMetricKind;

/*
 * Register one series: name and help text of its family, and its labels
 * rendered in exposition syntax without braces (e.g. reason="bad_snappy"), or
 * NULL. Series of one family must be registered one after another.
 */
extern int	AlloyMetricRegister(AlloyMetricKind kind, const char *name, const char *help,
								const char *labels);
extern void AlloyMetricAdd(int id, uint64 delta);
extern void AlloyMetricSet(int id, int64 value);

/*
 * Ask for the registry's shared memory; at preload, from the module that
 * serves the metrics (httpd). Without it updates are skipped and only
 * alloy_build_info is rendered.
 */
extern void AlloyMetricsShmemRequest(void);

/*
 * Metrics that are read when /metrics is scraped rather than counted as they
 * happen: fn appends complete families (HELP, TYPE, samples) to out. Register
 * from a module's Init.
 */
typedef void (*AlloyMetricsCollector) (StringInfo out);
extern void AlloyMetricsRegisterCollector(AlloyMetricsCollector fn);

/* Render every metric in the Prometheus text exposition format. */
extern void AlloyMetricsRender(StringInfo out);

/* ---- from src/http/json.h ---- */
/*
 * json.h: small helpers to write JSON into a StringInfo, for the HTTP API.
 *
 * The Prometheus API spells floats as strings ("NaN", "+Inf", shortest
 * round-trip decimal) and times as Unix seconds; these helpers keep that
 * spelling in one place.
 */


/* Append s as a quoted JSON string (invalid UTF-8 bytes become U+FFFD). */
extern void AlloyJsonString(StringInfo out, const char *s);
extern void AlloyJsonStringLen(StringInfo out, const char *s, size_t len);

/*
 * Prometheus's spelling of a sample value (without quotes): shortest
 * round-trip digits, fixed notation unless |v| < 1e-6 or |v| >= 1e21, and
 * NaN, +Inf, -Inf. buf needs ALLOY_FLOAT_BUFLEN bytes; returns the length.
 */
#define ALLOY_FLOAT_BUFLEN 400
extern int	AlloyFormatFloat(char *buf, double v);
extern void AlloyJsonFloat(StringInfo out, double v);	/* quoted */
/* Quoted, never in exponent form: how Prometheus spells a scalar result. */
extern void AlloyJsonFloatFixed(StringInfo out, double v);
/* Unix seconds as the shortest float (scalar and string results' times). */
extern void AlloyJsonSeconds(StringInfo out, int64 t_ms);

/* A millisecond timestamp as Prometheus writes it: Unix seconds, 3 decimals at most. */
extern void AlloyJsonTimestamp(StringInfo out, int64 t_ms);

/* One point of a query answer, [<timestamp>,"<value>"]: the hot path of large answers. */
extern void AlloyJsonSamplePair(StringInfo out, int64 t_ms, double v);

#endif							/* ALLOY_RUNTIME_RUNTIME_H */
