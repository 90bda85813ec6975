/*
 * metrics.c: alloy's own metrics in shared memory and their text exposition.
 *
 * Every counter is a pg_atomic_uint64 in one fixed-size shared struct sized at
 * startup from what the modules registered, so updating a metric on the ingest
 * hot path is one atomic add with no lock. Registration happens in _PG_init of
 * every process in the same order, so ids agree between processes. Locking
 * rules: none; readers may see counters mid-update, which the text format
 * tolerates (each value is read atomically).
 */
#include "postgres.h"

#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "runtime/runtime.h"

#define ALLOY_MAX_METRICS 128

typedef struct AlloyMetricDef
{
	AlloyMetricKind kind;
	const char *name;
	const char *help;
	const char *labels;
} AlloyMetricDef;

typedef struct AlloyMetricsShared
{
	pg_atomic_uint64 values[ALLOY_MAX_METRICS];
} AlloyMetricsShared;

static AlloyMetricDef alloy_metric_defs[ALLOY_MAX_METRICS];
static AlloyMetricsCollector alloy_collectors[8];
static int	alloy_ncollectors = 0;
static int	alloy_nmetrics = 0;
static AlloyMetricsShared *alloy_metrics = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

int
AlloyMetricRegister(AlloyMetricKind kind, const char *name, const char *help,
					const char *labels)
{
	AlloyMetricDef *d;

	if (alloy_nmetrics >= ALLOY_MAX_METRICS)
		elog(ERROR, "too many alloy metrics registered");
	d = &alloy_metric_defs[alloy_nmetrics];
	d->kind = kind;
	d->name = name;
	d->help = help;
	d->labels = labels;
	return alloy_nmetrics++;
}

void
AlloyMetricsRegisterCollector(AlloyMetricsCollector fn)
{
	if (alloy_ncollectors >= (int) lengthof(alloy_collectors))
		elog(ERROR, "too many alloy metric collectors registered");
	alloy_collectors[alloy_ncollectors++] = fn;
}

void
AlloyMetricAdd(int id, uint64 delta)
{
	if (alloy_metrics != NULL && id >= 0 && id < alloy_nmetrics)
		pg_atomic_fetch_add_u64(&alloy_metrics->values[id], delta);
}

void
AlloyMetricSet(int id, int64 value)
{
	if (alloy_metrics != NULL && id >= 0 && id < alloy_nmetrics)
		pg_atomic_write_u64(&alloy_metrics->values[id], (uint64) value);
}

static void
AlloyMetricsShmemRequestHook(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(AlloyMetricsShared)));
}

static void
AlloyMetricsShmemStartupHook(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	alloy_metrics = ShmemInitStruct("alloy metrics", sizeof(AlloyMetricsShared), &found);
	if (!found)
	{
		pg_atomic_uint64 *all = (pg_atomic_uint64 *) alloy_metrics;

		for (size_t i = 0; i < sizeof(AlloyMetricsShared) / sizeof(pg_atomic_uint64); i++)
			pg_atomic_init_u64(&all[i], 0);
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Chain the shared-memory hooks; only when preloaded, since only then is there shared memory to ask for. */
void
AlloyMetricsShmemRequest(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = AlloyMetricsShmemRequestHook;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = AlloyMetricsShmemStartupHook;
}

void
AlloyMetricsRender(StringInfo out)
{
	appendStringInfo(out,
					 "# HELP alloy_build_info The alloy build answering, and the Prometheus version it is compatible with.\n"
					 "# TYPE alloy_build_info gauge\n"
					 "alloy_build_info{version=\"%s\",prometheus_version=\"%s\"} 1\n",
					 ALLOY_VERSION, ALLOY_PROMETHEUS_COMPAT_VERSION);
	if (alloy_metrics == NULL)
		return;

	for (int i = 0; i < alloy_nmetrics; i++)
	{
		AlloyMetricDef *d = &alloy_metric_defs[i];
		uint64		v = pg_atomic_read_u64(&alloy_metrics->values[i]);

		if (i == 0 || strcmp(alloy_metric_defs[i - 1].name, d->name) != 0)
			appendStringInfo(out, "# HELP %s %s\n# TYPE %s %s\n", d->name, d->help, d->name,
							 d->kind == ALLOY_METRIC_COUNTER ? "counter" : "gauge");
		if (d->labels)
			appendStringInfo(out, "%s{%s} ", d->name, d->labels);
		else
			appendStringInfo(out, "%s ", d->name);
		if (d->kind == ALLOY_METRIC_GAUGE)
			appendStringInfo(out, INT64_FORMAT "\n", (int64) v);
		else
			appendStringInfo(out, UINT64_FORMAT "\n", v);
	}
	for (int i = 0; i < alloy_ncollectors; i++)
		alloy_collectors[i] (out);
}
