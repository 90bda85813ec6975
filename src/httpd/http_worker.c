/*
 * http_worker.c: the HTTP background workers.
 *
 * alloy.http_workers processes, registered at preload time, each connected to
 * alloy.database and each listening on alloy.port through its own
 * SO_REUSEPORT socket, so requests are spread by the kernel and one slow
 * request never stalls the others' workers. The main loop is worker_spi's:
 * wait on the latch and the sockets, react to SIGHUP and SIGTERM, never block
 * elsewhere. If the port cannot be bound the worker logs why and keeps
 * retrying instead of exiting, so a taken port neither stops PostgreSQL nor
 * fills the log with restarts.
 */
#include "postgres.h"

#include <malloc.h>

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "runtime/runtime.h"
#include "series/series.h"
#include "httpd/httpd_int.h"
#include "store/store.h"

PGDLLEXPORT void AlloyHttpWorkerMain(Datum main_arg);

/* Retry a failed bind this often, and repeat the log line this often. */
#define ALLOY_BIND_RETRY_MS 5000
#define ALLOY_BIND_RELOG_MS 300000

static void
AlloyHttpRegisterWorkers(void)
{
	for (int i = 0; i < alloy_http_workers; i++)
	{
		BackgroundWorker worker;

		memset(&worker, 0, sizeof(worker));
		worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
		/* serve reads on a hot standby too; writes there fail with 503 */
		worker.bgw_start_time = BgWorkerStart_ConsistentState;
		worker.bgw_restart_time = 5;
		snprintf(worker.bgw_library_name, BGW_MAXLEN, "alloy");
		snprintf(worker.bgw_function_name, BGW_MAXLEN, "AlloyHttpWorkerMain");
		snprintf(worker.bgw_name, BGW_MAXLEN, "alloy http worker %d", i + 1);
		snprintf(worker.bgw_type, BGW_MAXLEN, "alloy http");
		worker.bgw_main_arg = Int32GetDatum(i);
		RegisterBackgroundWorker(&worker);
	}
}

void
AlloyHttpInit(void)
{
	AlloyHttpDefineSettings();
	AlloyHttpStatusRoutes();
	AlloyHttpMetricsRoutes();

	if (!process_shared_preload_libraries_in_progress)
		return;
	AlloyHttpMetricsShmemRequest();
	AlloyHttpAdmissionShmemRequest();
	AlloyHttpRegisterWorkers();
	if (alloy_http_workers > 0)
		AlloyWalFlusherRegister();
}

/* A wait set with the latch, postmaster death and every daemon's epoll fd. */
static WaitEventSet *
AlloyHttpWaitSet(void)
{
	int			fds[16];
	int			n = AlloyHttpServerFds(fds, lengthof(fds));
	WaitEventSet *set = CreateWaitEventSet(TopMemoryContext, n + 2);

	AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	for (int i = 0; i < n; i++)
		AddWaitEventToSet(set, WL_SOCKET_READABLE, fds[i], NULL, NULL);
	return set;
}

/*
 * Work for a worker that had nothing else to do for a while: bring the
 * label index and the head index it keeps (if any) up to date, so the next
 * query does not pay for what was written in between. At most once a
 * second; an error is logged and forgotten, the worker serves on.
 */
static void
AlloyHttpIdleWork(void)
{
	static TimestampTz last = 0;
	TimestampTz now = GetCurrentTimestamp();
	MemoryContext oldcxt = CurrentMemoryContext;

	if ((!AlloyLabelIndexExists() && !AlloyHeadIndexExists()) ||
		!TimestampDifferenceExceeds(last, now, 1000))
		return;
	last = now;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	PG_TRY();
	{
		int64		added = AlloyLabelIndexExists() ? AlloyLabelIndexRefresh() : 0;

		if (added > 0)
			elog(DEBUG1, "alloy label index caught up %lld new series while idle",
				 (long long) added);
		added = AlloyHeadIndexRefresh();
		if (added > 0)
			elog(DEBUG1, "alloy head index caught up %lld new batches while idle",
				 (long long) added);
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcxt);
}

void
AlloyHttpWorkerMain(Datum main_arg)
{
	WaitEventSet *set = NULL;
	TimestampTz next_bind = 0;
	TimestampTz last_bind_log = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/*
	 * Each query builds and frees megabytes of arrays; with glibc's default
	 * thresholds (128 kB) every free gives the heap's top back to the kernel
	 * and the next query faults the same pages in again, zeroed: a third of
	 * a subquery's CPU time was kernel time. This process serves one query
	 * after another, so it keeps up to 64 MB of freed heap instead, and
	 * still maps single allocations above 32 MB on their own (returned at
	 * once, so one huge answer does not pin its memory). The limit must
	 * stay above 8 MB, the largest block a memory context asks for, or a
	 * large query's context blocks would be mapped and faulted in anew
	 * every time. Only alloy's own workers do this; ordinary backends keep
	 * PostgreSQL's behaviour.
	 */
	mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
	mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);

	BackgroundWorkerInitializeConnection(alloy_database, NULL, 0);
	pgstat_report_appname("alloy http");
	AlloyWalFlusherAttachWorker(DatumGetInt32(main_arg));

	for (;;)
	{
		WaitEvent	events[8];
		long		timeout;
		int			nevents;
		TimestampTz now = GetCurrentTimestamp();

		if (!AlloyHttpServerListening() && now >= next_bind)
		{
			bool		quiet = last_bind_log != 0 &&
				!TimestampDifferenceExceeds(last_bind_log, now, ALLOY_BIND_RELOG_MS);
			/* after the first report, stay quiet for a while between retries */
			if (AlloyHttpServerStart(quiet ? DEBUG1 : LOG))
			{
				ereport(LOG, (errmsg("alloy HTTP worker listening on %s port %d",
									 alloy_listen_addresses, alloy_port)));
				last_bind_log = 0;
			}
			else
			{
				next_bind = TimestampTzPlusMilliseconds(now, ALLOY_BIND_RETRY_MS);
				if (!quiet)
					last_bind_log = now;
			}
			if (set)
				FreeWaitEventSet(set);
			set = AlloyHttpWaitSet();
		}
		if (set == NULL)
			set = AlloyHttpWaitSet();

		timeout = AlloyHttpServerTimeoutMs();
		if (!AlloyHttpServerListening())
			timeout = ALLOY_BIND_RETRY_MS;
		else if (timeout < 0 || timeout > 1000)
			timeout = 1000;

		nevents = WaitEventSetWait(set, timeout, events, lengthof(events), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		AlloyHttpServerRun();
		/* hand the connections resumed after a WAL flush their answers now */
		if (AlloyHttpFlushDurable() > 0)
			AlloyHttpServerRun();

		AlloyReportStats();
		/* a whole wait without a single event: the worker is idle */
		if (nevents == 0 && AlloyHttpServerListening())
			AlloyHttpIdleWork();
	}
}
