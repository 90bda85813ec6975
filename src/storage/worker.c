/*
 * worker.c: the storage maintenance background worker and
 * AlloyStorageInit.
 *
 * One worker connects to alloy.database and, every alloy.seal_interval
 * seconds, seals partitions whose head has grown (or, every fifth round,
 * any head at all), drops partitions entirely older than
 * now - alloy.retention, and creates the current and the next partition
 * ahead of time so that plain INSERT INTO alloy.samples finds them. It does nothing until the extension exists there.
 * Each partition is sealed in its own transaction with a conditional
 * AccessExclusiveLock: a partition busy with long queries is skipped and
 * retried next round, so the worker never queues ingest behind a reader.
 * Signals follow worker_spi: SIGHUP reloads settings, SIGTERM exits.
 */
#include "postgres.h"

#include "access/table.h"
#include "access/xact.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "alloy.h"
#include "storage/storage_int.h"

/* Seal a head once it has this many pages (about 339 samples each). */
#define ALLOY_SEAL_MIN_HEAD_PAGES 64

static int	alloy_seal_interval = 60;	/* seconds */

void
AlloyStorageInit(void)
{
	BackgroundWorker worker;

	DefineCustomIntVariable("alloy.seal_interval",
							"Seconds between the storage worker's seal and retention rounds.",
							NULL,
							&alloy_seal_interval,
							60, 1, 86400,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	if (!process_shared_preload_libraries_in_progress)
		return;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 30;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "alloy");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "AlloyStorageWorkerMain");
	snprintf(worker.bgw_name, BGW_MAXLEN, "alloy storage worker");
	snprintf(worker.bgw_type, BGW_MAXLEN, "alloy storage worker");
	RegisterBackgroundWorker(&worker);
}

/* The alloy partitions to look at, or NULL while the extension is absent. */
static Oid *
AlloyWorkerPartitions(int *n)
{
	Oid		   *relids = NULL;
	Oid			parent;
	AlloyPartition *parts;
	int			nparts;
	int			i;

	*n = 0;
	if (!OidIsValid(get_extension_oid("alloy", true)))
		return NULL;
	parent = AlloySamplesParentOid(true);
	if (!OidIsValid(parent))
		return NULL;
	parts = AlloyListPartitions(parent, &nparts);
	relids = MemoryContextAlloc(TopMemoryContext, sizeof(Oid) * Max(nparts, 1));
	for (i = 0; i < nparts; i++)
		if (parts[i].is_alloy)
			relids[(*n)++] = parts[i].relid;
	return relids;
}

static void
AlloyWorkerRound(uint64 round)
{
	Oid		   *relids;
	int			n;
	int			i;
	bool		have_ext;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "alloy: listing partitions");
	relids = AlloyWorkerPartitions(&n);
	have_ext = relids != NULL;
	PopActiveSnapshot();
	CommitTransactionCommand();

	for (i = 0; i < n; i++)
	{
		Relation	rel;

		CHECK_FOR_INTERRUPTS();
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		if (ConditionalLockRelationOid(relids[i], AccessExclusiveLock))
		{
			rel = try_table_open(relids[i], NoLock);
			if (rel != NULL)
			{
				AlloyPageSource src;
				AlloyMetaData meta;

				AlloySourceFromRel(&src, rel);
				if (AlloyReadMeta(&src, &meta) && meta.head_npages > 0 &&
					(meta.head_npages >= ALLOY_SEAL_MIN_HEAD_PAGES || round % 5 == 0))
				{
					int64		sealed;

					pgstat_report_activity(STATE_RUNNING, "alloy: sealing");
					sealed = AlloySealRelation(rel, NULL);
					if (sealed > 0)
						elog(DEBUG1, "alloy sealed %lld samples of \"%s\"",
							 (long long) sealed, RelationGetRelationName(rel));
				}
				table_close(rel, NoLock);
			}
		}
		CommitTransactionCommand();
	}
	if (relids)
		pfree(relids);

	if (have_ext)
	{
		int64		now_ms;
		int64		hi;
		int			dropped;

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		now_ms = AlloyTimestampToMs(GetCurrentTimestamp());

		/* keep the current and the next partition ready for plain INSERT */
		pgstat_report_activity(STATE_RUNNING, "alloy: creating partitions");
		(void) AlloyEnsurePartition(now_ms, &hi);
		if (hi != PG_INT64_MAX)
			(void) AlloyEnsurePartition(hi, &hi);

		if (alloy_retention > 0)
		{
			pgstat_report_activity(STATE_RUNNING, "alloy: retention");
			dropped = AlloyDropBefore(now_ms - (int64) alloy_retention * 1000);
			if (dropped > 0)
				elog(LOG, "alloy retention dropped %d partitions", dropped);
		}
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	pgstat_report_activity(STATE_IDLE, NULL);
}

void
AlloyStorageWorkerMain(Datum arg)
{
	uint64		round = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(alloy_database, NULL, 0);

	for (;;)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 (long) alloy_seal_interval * 1000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		round++;
		AlloyWorkerRound(round);
	}
}
