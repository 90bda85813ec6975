/*
 * http_metrics.c: the per-route request metrics and the GET /metrics endpoint.
 *
 * alloy_http_requests_total (by handler and status code) and the histogram
 * alloy_http_request_duration_seconds (by handler) live in one shared struct
 * of pg_atomic_uint64, indexed by route number: routes are registered in the
 * same order in every process, so the numbers agree. They are rendered as a
 * collector of the metrics registry (runtime/metrics.c), which /metrics
 * serves. Locking rules: none; each value is read and updated atomically.
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

/* Status codes counted individually; anything else counts as "other". */
static const int alloy_metric_codes[] = {200, 204, 400, 401, 403, 404, 405, 413, 415, 422, 429, 500, 503};
#define ALLOY_NCODES (lengthof(alloy_metric_codes) + 1)

/* Upper bounds of the request duration histogram, in seconds. */
static const double alloy_metric_buckets[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
#define ALLOY_NBUCKETS (lengthof(alloy_metric_buckets) + 1)

/* Route slots; the last one counts requests that matched no route. */
#define ALLOY_ROUTE_SLOTS (ALLOY_HTTP_MAX_ROUTES + 1)

typedef struct AlloyRequestMetricsShared
{
	pg_atomic_uint64 requests[ALLOY_ROUTE_SLOTS][ALLOY_NCODES];
	pg_atomic_uint64 buckets[ALLOY_ROUTE_SLOTS][ALLOY_NBUCKETS];
	pg_atomic_uint64 sum_us[ALLOY_ROUTE_SLOTS];
} AlloyRequestMetricsShared;

static AlloyRequestMetricsShared *alloy_request_metrics = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* A monotonic clock in seconds, for request durations and queue deadlines. */
double
AlloyHttpNow(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Count one answered request of a route (-1: no route) with its status and duration. */
void
AlloyHttpCountRequest(int route, int status, double seconds)
{
	int			slot = (route >= 0 && route < ALLOY_HTTP_MAX_ROUTES) ? route : ALLOY_HTTP_MAX_ROUTES;
	int			code = ALLOY_NCODES - 1;
	int			bucket = ALLOY_NBUCKETS - 1;

	if (alloy_request_metrics == NULL)
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
	pg_atomic_fetch_add_u64(&alloy_request_metrics->requests[slot][code], 1);
	pg_atomic_fetch_add_u64(&alloy_request_metrics->buckets[slot][bucket], 1);
	pg_atomic_fetch_add_u64(&alloy_request_metrics->sum_us[slot], (uint64) (seconds * 1e6));
}

static void
AlloyRequestMetricsShmemRequestHook(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(AlloyRequestMetricsShared)));
}

static void
AlloyRequestMetricsShmemStartupHook(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	alloy_request_metrics = ShmemInitStruct("alloy http request metrics",
											sizeof(AlloyRequestMetricsShared), &found);
	if (!found)
	{
		pg_atomic_uint64 *all = (pg_atomic_uint64 *) alloy_request_metrics;

		for (size_t i = 0; i < sizeof(AlloyRequestMetricsShared) / sizeof(pg_atomic_uint64); i++)
			pg_atomic_init_u64(&all[i], 0);
	}
	LWLockRelease(AddinShmemInitLock);
}

/* At preload: ask for the shared counters (and the registry's own). */
void
AlloyHttpMetricsShmemRequest(void)
{
	AlloyMetricsShmemRequest();
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = AlloyRequestMetricsShmemRequestHook;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = AlloyRequestMetricsShmemStartupHook;
}

static const char *
AlloyRouteLabel(int slot)
{
	return slot < alloy_http_nroutes ? alloy_http_routes[slot].metric_name : "other";
}

/* The collector of the request metrics: both families, every route. */
static void
AlloyHttpRenderRequests(StringInfo out)
{
	if (alloy_request_metrics == NULL)
		return;
	appendStringInfoString(out,
						   "# HELP alloy_http_requests_total HTTP requests answered, by handler and status code.\n"
						   "# TYPE alloy_http_requests_total counter\n");
	for (int slot = 0; slot < ALLOY_ROUTE_SLOTS; slot++)
	{
		if (slot >= alloy_http_nroutes && slot != ALLOY_HTTP_MAX_ROUTES)
			continue;
		for (int c = 0; c < (int) ALLOY_NCODES; c++)
		{
			uint64		n = pg_atomic_read_u64(&alloy_request_metrics->requests[slot][c]);
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
			cumulative += pg_atomic_read_u64(&alloy_request_metrics->buckets[slot][b]);
			if (b < (int) lengthof(alloy_metric_buckets))
				appendStringInfo(out, "alloy_http_request_duration_seconds_bucket{handler=\"%s\",le=\"%g\"} " UINT64_FORMAT "\n",
								 h, alloy_metric_buckets[b], cumulative);
			else
				appendStringInfo(out, "alloy_http_request_duration_seconds_bucket{handler=\"%s\",le=\"+Inf\"} " UINT64_FORMAT "\n",
								 h, cumulative);
		}
		appendStringInfo(out, "alloy_http_request_duration_seconds_sum{handler=\"%s\"} %.6f\n",
						 h, pg_atomic_read_u64(&alloy_request_metrics->sum_us[slot]) / 1e6);
		appendStringInfo(out, "alloy_http_request_duration_seconds_count{handler=\"%s\"} " UINT64_FORMAT "\n",
						 h, cumulative);
	}
}

static void
AlloyMetricsHandler(AlloyHttpRequest *req, AlloyHttpResponse *resp)
{
	resp->status = 200;
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	AlloyMetricsRender(&resp->body);
}

/*
 * The /metrics route, and the request metrics as the first collector of the
 * registry, so they follow the registered counters as they always did.
 */
void
AlloyHttpMetricsRoutes(void)
{
	AlloyMetricsRegisterCollector(AlloyHttpRenderRequests);
	AlloyHttpRoute("/metrics", ALLOY_ROUTE_GET, "/metrics", AlloyMetricsHandler);
}
