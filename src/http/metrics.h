/*
 * metrics.h: alloy's own metrics, kept in shared memory and served on
 * GET /metrics in the Prometheus text format.
 *
 * Modules register counters and gauges from their Init function, in every
 * process in the same order, so the returned ids agree everywhere. Updates are
 * lock-free atomic adds; without shared_preload_libraries there is no shared
 * memory and updates are silently skipped (the SQL-only mode has no /metrics).
 */
#ifndef ALLOY_METRICS_H
#define ALLOY_METRICS_H

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

/* Count one HTTP request of a route (see http.h) with its status and duration. */
extern void AlloyMetricsCountRequest(int route, int status, double seconds);

/*
 * Metrics that are read when /metrics is scraped rather than counted as they
 * happen: fn appends complete families (HELP, TYPE, samples) to out. Register
 * from a module's Init.
 */
typedef void (*AlloyMetricsCollector) (StringInfo out);
extern void AlloyMetricsRegisterCollector(AlloyMetricsCollector fn);

/* Render every metric in the Prometheus text exposition format. */
extern void AlloyMetricsRender(StringInfo out);

#endif							/* ALLOY_METRICS_H */
