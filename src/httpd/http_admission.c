/*
 * http_admission.c: a server-wide bound on concurrently running queries.
 *
 * alloy.http_max_connections bounds connections per worker, not work: a burst
 * of heavy range queries from dashboards could keep every HTTP worker busy
 * evaluating, so remote write (which shares the workers) would stall and
 * memory would grow with every result held at once. Query-class requests
 * (query, query_range, series, labels, label values, remote read, exemplars)
 * therefore take one of alloy.http_max_concurrent_queries slots, counted in
 * shared memory across every HTTP worker process, from the moment they start
 * executing until libmicrohttpd reports the request complete (the answer sent,
 * the client gone, or the connection timed out). Holding the slot until the
 * answer is out, not just while evaluating, is what bounds the memory of
 * streamed answers: at most that many results are alive at once.
 *
 * A request that finds no free slot is suspended (the worker goes on serving
 * other connections) and retried every few milliseconds for up to
 * alloy.http_queue_timeout; then it is answered 503 "unavailable", the error
 * type Prometheus uses for 503, which clients retry. Remote write is never
 * throttled here: it has its own 429/503 rules.
 *
 * Locking rules: none. The slot counter is one atomic, taken with
 * compare-and-swap so it never passes the limit; the other counters are
 * atomic adds. Each process also counts what it holds, and a before_shmem_exit
 * callback gives those back, so a worker that exits (SIGTERM in the middle of
 * a query, FATAL) never leaks a slot.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "runtime/runtime.h"
#include "httpd/httpd_int.h"

typedef struct AlloyAdmissionShared
{
	pg_atomic_uint32 running;	/* slots taken */
	pg_atomic_uint32 queued;	/* requests waiting for a slot */
	pg_atomic_uint64 admitted_total;
	pg_atomic_uint64 waited_total;
	pg_atomic_uint64 rejected_total;
} AlloyAdmissionShared;

static AlloyAdmissionShared *alloy_admission = NULL;

/* What this process holds, given back at exit. */
static int	alloy_admission_held = 0;
static int	alloy_admission_waiting = 0;
static bool alloy_admission_exit_registered = false;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* The routes that take a slot, by path. */
static const char *const alloy_query_paths[] = {
	"/api/v1/query",
	"/api/v1/query_range",
	"/api/v1/query_exemplars",
	"/api/v1/series",
	"/api/v1/labels",
	"/api/v1/label/",
	"/api/v1/read",
};

/* The effective limit: 0 means none. */
int
AlloyHttpQueryLimit(void)
{
	if (alloy_http_max_concurrent_queries < 0)
		return 2 * Max(alloy_http_workers, 1);
	return alloy_http_max_concurrent_queries;
}

bool
AlloyHttpRouteIsQuery(int route)
{
	if (route < 0 || route >= alloy_http_nroutes)
		return false;
	for (int i = 0; i < (int) lengthof(alloy_query_paths); i++)
		if (strcmp(alloy_http_routes[route].path, alloy_query_paths[i]) == 0)
			return true;
	return false;
}

static void
AlloyAdmissionAtExit(int code, Datum arg)
{
	if (alloy_admission == NULL)
		return;
	if (alloy_admission_held > 0)
		pg_atomic_fetch_sub_u32(&alloy_admission->running, alloy_admission_held);
	if (alloy_admission_waiting > 0)
		pg_atomic_fetch_sub_u32(&alloy_admission->queued, alloy_admission_waiting);
	alloy_admission_held = 0;
	alloy_admission_waiting = 0;
}

/*
 * Take a slot if one is free. Without shared memory (no preload: there is no
 * HTTP server either) everything is admitted.
 */
bool
AlloyHttpAdmissionTryAcquire(void)
{
	int			limit = AlloyHttpQueryLimit();
	uint32		cur;

	if (alloy_admission == NULL)
		return true;
	if (!alloy_admission_exit_registered)
	{
		before_shmem_exit(AlloyAdmissionAtExit, 0);
		alloy_admission_exit_registered = true;
	}
	cur = pg_atomic_read_u32(&alloy_admission->running);
	for (;;)
	{
		if (limit > 0 && cur >= (uint32) limit)
			return false;
		/* on failure cur is reloaded with the current value */
		if (pg_atomic_compare_exchange_u32(&alloy_admission->running, &cur, cur + 1))
			break;
	}
	alloy_admission_held++;
	pg_atomic_fetch_add_u64(&alloy_admission->admitted_total, 1);
	return true;
}

/* Whether a slot looks free now (a hint for waking waiters; no slot is taken). */
bool
AlloyHttpAdmissionAvailable(void)
{
	int			limit = AlloyHttpQueryLimit();

	return alloy_admission == NULL || limit <= 0 ||
		pg_atomic_read_u32(&alloy_admission->running) < (uint32) limit;
}

void
AlloyHttpAdmissionRelease(void)
{
	if (alloy_admission == NULL || alloy_admission_held <= 0)
		return;
	alloy_admission_held--;
	pg_atomic_fetch_sub_u32(&alloy_admission->running, 1);
}

/* A request starts waiting for a slot (counted once per request). */
void
AlloyHttpAdmissionWaitBegin(void)
{
	if (alloy_admission == NULL)
		return;
	alloy_admission_waiting++;
	pg_atomic_fetch_add_u32(&alloy_admission->queued, 1);
	pg_atomic_fetch_add_u64(&alloy_admission->waited_total, 1);
}

/* A waiting request got its slot, was refused, or went away. */
void
AlloyHttpAdmissionWaitEnd(bool rejected)
{
	if (alloy_admission == NULL || alloy_admission_waiting <= 0)
		return;
	alloy_admission_waiting--;
	pg_atomic_fetch_sub_u32(&alloy_admission->queued, 1);
	if (rejected)
		pg_atomic_fetch_add_u64(&alloy_admission->rejected_total, 1);
}

/* A request refused at once (no wait queue configured). */
void
AlloyHttpAdmissionCountRejected(void)
{
	if (alloy_admission != NULL)
		pg_atomic_fetch_add_u64(&alloy_admission->rejected_total, 1);
}

static void
AlloyAdmissionCollect(StringInfo out)
{
	if (alloy_admission == NULL)
		return;
	appendStringInfo(out,
					 "# HELP alloy_http_queries_running Query-class HTTP requests holding a slot of alloy.http_max_concurrent_queries.\n"
					 "# TYPE alloy_http_queries_running gauge\n"
					 "alloy_http_queries_running %u\n"
					 "# HELP alloy_http_queries_max The effective alloy.http_max_concurrent_queries (0: no limit).\n"
					 "# TYPE alloy_http_queries_max gauge\n"
					 "alloy_http_queries_max %d\n"
					 "# HELP alloy_http_queries_queued Query-class HTTP requests waiting for a slot.\n"
					 "# TYPE alloy_http_queries_queued gauge\n"
					 "alloy_http_queries_queued %u\n"
					 "# HELP alloy_http_queries_admitted_total Query-class HTTP requests that got a slot.\n"
					 "# TYPE alloy_http_queries_admitted_total counter\n"
					 "alloy_http_queries_admitted_total " UINT64_FORMAT "\n"
					 "# HELP alloy_http_queries_waited_total Query-class HTTP requests that had to wait for a slot.\n"
					 "# TYPE alloy_http_queries_waited_total counter\n"
					 "alloy_http_queries_waited_total " UINT64_FORMAT "\n"
					 "# HELP alloy_http_queries_rejected_total Query-class HTTP requests answered 503 because no slot freed within alloy.http_queue_timeout.\n"
					 "# TYPE alloy_http_queries_rejected_total counter\n"
					 "alloy_http_queries_rejected_total " UINT64_FORMAT "\n",
					 pg_atomic_read_u32(&alloy_admission->running),
					 AlloyHttpQueryLimit(),
					 pg_atomic_read_u32(&alloy_admission->queued),
					 pg_atomic_read_u64(&alloy_admission->admitted_total),
					 pg_atomic_read_u64(&alloy_admission->waited_total),
					 pg_atomic_read_u64(&alloy_admission->rejected_total));
}

static void
AlloyAdmissionShmemRequestHook(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(AlloyAdmissionShared)));
}

static void
AlloyAdmissionShmemStartupHook(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	alloy_admission = ShmemInitStruct("alloy http admission", sizeof(AlloyAdmissionShared),
									  &found);
	if (!found)
	{
		pg_atomic_init_u32(&alloy_admission->running, 0);
		pg_atomic_init_u32(&alloy_admission->queued, 0);
		pg_atomic_init_u64(&alloy_admission->admitted_total, 0);
		pg_atomic_init_u64(&alloy_admission->waited_total, 0);
		pg_atomic_init_u64(&alloy_admission->rejected_total, 0);
	}
	LWLockRelease(AddinShmemInitLock);
}

/* At preload: ask for the shared counters and show them on /metrics. */
void
AlloyHttpAdmissionShmemRequest(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = AlloyAdmissionShmemRequestHook;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = AlloyAdmissionShmemStartupHook;
	AlloyMetricsRegisterCollector(AlloyAdmissionCollect);
}
