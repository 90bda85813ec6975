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

#include <time.h>

#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "runtime/runtime.h"
#include "httpd/httpd_int.h"

#define ALLOY_MAX_METRICS 128

/* Status codes counted individually; anything else counts as "other". */
static const int alloy_metric_codes[] = {200, 204, 400, 401, 403, 404, 405, 413, 415, 422, 429, 500, 503};
#define ALLOY_NCODES (lengthof(alloy_metric_codes) + 1)

/* Upper bounds of the request duration histogram, in seconds. */
static const double alloy_metric_buckets[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
#define ALLOY_NBUCKETS (lengthof(alloy_metric_buckets) + 1)

/* Route slots; the last one counts requests that matched no route. */
#define ALLOY_ROUTE_SLOTS (ALLOY_HTTP_MAX_ROUTES + 1)

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
	pg_atomic_uint64 requests[ALLOY_ROUTE_SLOTS][ALLOY_NCODES];
	pg_atomic_uint64 buckets[ALLOY_ROUTE_SLOTS][ALLOY_NBUCKETS];
	pg_atomic_uint64 sum_us[ALLOY_ROUTE_SLOTS];
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

double
AlloyHttpNow(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void
AlloyMetricsCountRequest(int route, int status, double seconds)
{
	int			slot = (route >= 0 && route < ALLOY_HTTP_MAX_ROUTES) ? route : ALLOY_HTTP_MAX_ROUTES;
	int			code = ALLOY_NCODES - 1;
	int			bucket = ALLOY_NBUCKETS - 1;

	if (alloy_metrics == NULL)
		return;
	for (int i = 0; i < (int) lengthof(alloy_metric_codes); i++)
		if (alloy_metric_codes[i] == status)
			code = i;
	for (int i = 0; i < (int) lengthof(alloy_metric_buckets); i++)
		if (seconds <= alloy_metric_buckets[i])
		{
			bucket = i;
			break;
		}
	pg_atomic_fetch_add_u64(&alloy_metrics->requests[slot][code], 1);
	pg_atomic_fetch_add_u64(&alloy_metrics->buckets[slot][bucket], 1);
	pg_atomic_fetch_add_u64(&alloy_metrics->sum_us[slot], (uint64) (seconds * 1e6));
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

static const char *
AlloyRouteLabel(int slot)
{
	return slot < alloy_http_nroutes ? alloy_http_routes[slot].metric_name : "other";
}

static void
AlloyMetricsRenderRequests(StringInfo out)
{
	appendStringInfoString(out,
						   "# HELP alloy_http_requests_total HTTP requests answered, by handler and status code.\n"
						   "# TYPE alloy_http_requests_total counter\n");
	for (int slot = 0; slot < ALLOY_ROUTE_SLOTS; slot++)
	{
		if (slot >= alloy_http_nroutes && slot != ALLOY_HTTP_MAX_ROUTES)
			continue;
		for (int c = 0; c < (int) ALLOY_NCODES; c++)
		{
			uint64		n = pg_atomic_read_u64(&alloy_metrics->requests[slot][c]);
			char		code[16];

			if (n == 0)
				continue;
			if (c < (int) lengthof(alloy_metric_codes))
				snprintf(code, sizeof(code), "%d", alloy_metric_codes[c]);
			else
				strlcpy(code, "other", sizeof(code));
			appendStringInfo(out, "alloy_http_requests_total{handler=\"%s\",code=\"%s\"} " UINT64_FORMAT "\n",
							 AlloyRouteLabel(slot), code, n);
		}
	}

	appendStringInfoString(out,
						   "# HELP alloy_http_request_duration_seconds Time to answer an HTTP request, by handler.\n"
						   "# TYPE alloy_http_request_duration_seconds histogram\n");
	for (int slot = 0; slot < ALLOY_ROUTE_SLOTS; slot++)
	{
		uint64		cumulative = 0;
		const char *h = AlloyRouteLabel(slot);

		if (slot >= alloy_http_nroutes && slot != ALLOY_HTTP_MAX_ROUTES)
			continue;
		for (int b = 0; b < (int) ALLOY_NBUCKETS; b++)
		{
			cumulative += pg_atomic_read_u64(&alloy_metrics->buckets[slot][b]);
			if (b < (int) lengthof(alloy_metric_buckets))
				appendStringInfo(out, "alloy_http_request_duration_seconds_bucket{handler=\"%s\",le=\"%g\"} " UINT64_FORMAT "\n",
								 h, alloy_metric_buckets[b], cumulative);
			else
				appendStringInfo(out, "alloy_http_request_duration_seconds_bucket{handler=\"%s\",le=\"+Inf\"} " UINT64_FORMAT "\n",
								 h, cumulative);
		}
		appendStringInfo(out, "alloy_http_request_duration_seconds_sum{handler=\"%s\"} %.6f\n",
						 h, pg_atomic_read_u64(&alloy_metrics->sum_us[slot]) / 1e6);
		appendStringInfo(out, "alloy_http_request_duration_seconds_count{handler=\"%s\"} " UINT64_FORMAT "\n",
						 h, cumulative);
	}
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
	AlloyMetricsRenderRequests(out);
	for (int i = 0; i < alloy_ncollectors; i++)
		alloy_collectors[i] (out);
}

static void
AlloyMetricsHandler(AlloyHttpRequest *req, AlloyHttpResponse *resp)
{
	resp->status = 200;
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	AlloyMetricsRender(&resp->body);
}

void
AlloyMetricsRoutes(void)
{
	AlloyHttpRoute("/metrics", ALLOY_ROUTE_GET, "/metrics", AlloyMetricsHandler);
}
