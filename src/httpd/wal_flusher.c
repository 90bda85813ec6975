/*
 * wal_flusher.c: group commit for durable HTTP answers.
 *
 * Remote-write transactions commit without waiting for their WAL flush; the
 * HTTP worker then parks the answer and asks this process to flush up to the
 * commit's LSN. The flusher flushes once for everything asked so far (and
 * waits for synchronous standbys when synchronous_commit asks for it), then
 * publishes the LSN that is now durable and wakes the HTTP workers, which
 * send the answers it covers. So the HTTP workers never sit in an fsync:
 * while one batch is being flushed they already process the next, and one
 * fsync covers every request that arrived meanwhile.
 *
 * Shared state (AlloyFlusherShared) is lock-free: requested only grows (CAS),
 * durable is written only by the flusher, latch pointers are set by their
 * owners at startup. Without the flusher (the library not preloaded, or the
 * flusher not running yet) HTTP workers flush for themselves.
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "replication/syncrep.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"

#include "runtime/runtime.h"
#include "httpd/httpd_int.h"

#define ALLOY_MAX_HTTP_WORKERS 64

typedef struct AlloyFlusherShared
{
	pg_atomic_uint64 requested;	/* highest LSN an HTTP worker waits for */
	pg_atomic_uint64 durable;	/* everything up to here is flushed (and replicated) */
	pg_atomic_uint32 running;	/* the flusher's process number + 1, or 0 */
	int			worker_procno[ALLOY_MAX_HTTP_WORKERS];	/* pgprocno + 1, or 0 */
} AlloyFlusherShared;

static AlloyFlusherShared *alloy_flusher = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

PGDLLEXPORT void AlloyWalFlusherMain(Datum main_arg);

static void
AlloyFlusherShmemRequestHook(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(AlloyFlusherShared)));
}

static void
AlloyFlusherShmemStartupHook(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	alloy_flusher = ShmemInitStruct("alloy wal flusher", sizeof(AlloyFlusherShared), &found);
	if (!found)
	{
		memset(alloy_flusher, 0, sizeof(AlloyFlusherShared));
		pg_atomic_init_u64(&alloy_flusher->requested, 0);
		pg_atomic_init_u64(&alloy_flusher->durable, 0);
		pg_atomic_init_u32(&alloy_flusher->running, 0);
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Called from AlloyHttpInit at preload time: shared memory and the flusher process. */
void
AlloyWalFlusherRegister(void)
{
	BackgroundWorker worker;

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = AlloyFlusherShmemRequestHook;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = AlloyFlusherShmemStartupHook;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 1;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "alloy");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "AlloyWalFlusherMain");
	snprintf(worker.bgw_name, BGW_MAXLEN, "alloy wal flusher");
	snprintf(worker.bgw_type, BGW_MAXLEN, "alloy wal flusher");
	RegisterBackgroundWorker(&worker);
}

/*
 * Make WAL up to lsn durable as synchronous_commit asks: flushed, and for
 * remote_* levels confirmed by synchronous standbys. The flusher does this
 * for everyone; an HTTP worker without a flusher does it itself.
 */
void
AlloyWalMakeDurable(uint64 lsn)
{
	XLogFlush((XLogRecPtr) lsn);
	if (synchronous_commit > SYNCHRONOUS_COMMIT_LOCAL_FLUSH)
		SyncRepWaitForLSN((XLogRecPtr) lsn, true);
}

/* An HTTP worker announces itself so the flusher can wake it. */
void
AlloyWalFlusherAttachWorker(int index)
{
	if (alloy_flusher != NULL && index >= 0 && index < ALLOY_MAX_HTTP_WORKERS)
		alloy_flusher->worker_procno[index] = MyProc->pgprocno + 1;
}

/* WAL up to here is durable as the answers need it. */
uint64
AlloyWalDurableLsn(void)
{
	if (alloy_flusher == NULL || pg_atomic_read_u32(&alloy_flusher->running) == 0)
		return 0;
	return pg_atomic_read_u64(&alloy_flusher->durable);
}

/*
 * Ask for WAL up to lsn to be made durable. Returns false when no flusher
 * runs, and the caller must flush itself.
 */
bool
AlloyWalRequestFlush(uint64 lsn)
{
	uint64		cur;
	uint32		running;

	if (alloy_flusher == NULL || (running = pg_atomic_read_u32(&alloy_flusher->running)) == 0)
		return false;
	cur = pg_atomic_read_u64(&alloy_flusher->requested);
	while (cur < lsn)
	{
		if (pg_atomic_compare_exchange_u64(&alloy_flusher->requested, &cur, lsn))
			break;
	}
	SetLatch(&ProcGlobal->allProcs[running - 1].procLatch);
	return true;
}

static void
AlloyWalFlusherWakeWorkers(void)
{
	for (int i = 0; i < ALLOY_MAX_HTTP_WORKERS; i++)
	{
		int			procno = alloy_flusher->worker_procno[i];

		if (procno > 0)
			SetLatch(&ProcGlobal->allProcs[procno - 1].procLatch);
	}
}

static void
AlloyWalFlusherShutdown(int code, Datum arg)
{
	if (alloy_flusher)
		pg_atomic_write_u32(&alloy_flusher->running, 0);
}

void
AlloyWalFlusherMain(Datum main_arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	if (alloy_flusher == NULL)
		proc_exit(0);
	before_shmem_exit(AlloyWalFlusherShutdown, 0);
	pg_atomic_write_u64(&alloy_flusher->durable, GetFlushRecPtr(NULL));
	pg_atomic_write_u32(&alloy_flusher->running, MyProc->pgprocno + 1);
	/* workers that parked answers before we ran wait for a wake-up */
	AlloyWalFlusherWakeWorkers();

	for (;;)
	{
		uint64		want;

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 1000, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		want = pg_atomic_read_u64(&alloy_flusher->requested);
		if (want <= pg_atomic_read_u64(&alloy_flusher->durable))
			continue;
		AlloyWalMakeDurable(want);
		pg_atomic_write_u64(&alloy_flusher->durable, want);
		AlloyWalFlusherWakeWorkers();
		/* its WAL writes and syncs show in pg_stat_wal */
		AlloyReportStats();
	}
}
