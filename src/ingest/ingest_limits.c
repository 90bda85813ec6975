/*
 * ingest_limits.c: per-tenant ingestion rate limits.
 *
 * A token bucket per tenant in shared memory, refilled at
 * alloy.tenant_max_samples_per_second and holding at most
 * alloy.tenant_burst_seconds of it. A request that would take more tokens
 * than the bucket holds is refused whole with 429, before anything is
 * stored, so Prometheus backs off and retries it later; nothing is half
 * written. Buckets are few (one per active tenant) and one LWLock guards
 * them: a request takes it once.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "ingest/ingest_int.h"

#define ALLOY_MAX_TENANT_BUCKETS 1024

typedef struct AlloyTenantBucket
{
	int32		tenant_id;		/* -1: free */
	double		tokens;
	TimestampTz last;
} AlloyTenantBucket;

typedef struct AlloyLimitsShared
{
	LWLock	   *lock;
	AlloyTenantBucket buckets[ALLOY_MAX_TENANT_BUCKETS];
} AlloyLimitsShared;

int			alloy_tenant_max_samples_per_second = 0;
int			alloy_tenant_burst_seconds = 10;

static AlloyLimitsShared *alloy_limits = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
AlloyLimitsShmemRequestHook(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(AlloyLimitsShared)));
	RequestNamedLWLockTranche("alloy ingest limits", 1);
}

static void
AlloyLimitsShmemStartupHook(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	alloy_limits = ShmemInitStruct("alloy ingest limits", sizeof(AlloyLimitsShared), &found);
	if (!found)
	{
		alloy_limits->lock = &(GetNamedLWLockTranche("alloy ingest limits"))->lock;
		for (int i = 0; i < ALLOY_MAX_TENANT_BUCKETS; i++)
			alloy_limits->buckets[i].tenant_id = -1;
	}
	LWLockRelease(AddinShmemInitLock);
}

void
AlloyIngestLimitsInit(void)
{
	DefineCustomIntVariable("alloy.tenant_max_samples_per_second",
							"Samples per second one tenant may send through remote write; 0 means no limit.",
							"Requests over the limit are refused with 429, and senders retry them.",
							&alloy_tenant_max_samples_per_second,
							0, 0, INT_MAX,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("alloy.tenant_burst_seconds",
							"How many seconds of a tenant's sample rate may arrive at once.",
							NULL,
							&alloy_tenant_burst_seconds,
							10, 1, 3600,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = AlloyLimitsShmemRequestHook;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = AlloyLimitsShmemStartupHook;
}

/*
 * Take n samples' worth of tokens from the tenant's bucket. False means over
 * the limit (nothing taken). Without shared memory or without a limit,
 * always true.
 */
bool
AlloyIngestTakeTokens(int32 tenant_id, int64 n)
{
	double		rate = alloy_tenant_max_samples_per_second;
	double		cap = rate * alloy_tenant_burst_seconds;
	TimestampTz now = GetCurrentTimestamp();
	AlloyTenantBucket *b = NULL;
	AlloyTenantBucket *oldest = NULL;
	bool		ok;

	if (rate <= 0 || alloy_limits == NULL)
		return true;

	LWLockAcquire(alloy_limits->lock, LW_EXCLUSIVE);
	for (int i = 0; i < ALLOY_MAX_TENANT_BUCKETS; i++)
	{
		AlloyTenantBucket *c = &alloy_limits->buckets[i];

		if (c->tenant_id == tenant_id)
		{
			b = c;
			break;
		}
		if (oldest == NULL || c->tenant_id == -1 ||
			(oldest->tenant_id != -1 && c->last < oldest->last))
			oldest = c;
	}
	if (b == NULL)
	{
		/* a new (or long idle) tenant starts with a full bucket */
		b = oldest;
		b->tenant_id = tenant_id;
		b->tokens = cap;
		b->last = now;
	}
	b->tokens = Min(cap, b->tokens + rate * (double) (now - b->last) / USECS_PER_SEC);
	b->last = now;
	ok = b->tokens >= (double) n;
	if (ok)
		b->tokens -= (double) n;
	LWLockRelease(alloy_limits->lock);
	return ok;
}
