/*
 * worker.c: the storage maintenance background worker and
 * AlloyStorageInit.
 *
 * One worker connects to alloy.database and, every alloy.seal_interval
 * seconds, seals partitions whose head has grown enough
 * (AlloyWorthSealing), creates the current and the next partition ahead of
 * time so that plain INSERT INTO alloy.samples finds them, and drops
 * partitions entirely older than alloy.retention before now (or before the
 * newest data, if that is older), then calls the retention hooks that upper
 * layers registered (AlloyRegisterRetentionHook) with the same cutoff. It
 * does nothing until the extension exists there.
 * Each partition is sealed in its own transaction with a conditional
 * AccessExclusiveLock: a partition busy with long queries is skipped and
 * retried next round, so the worker does not queue ingest behind a reader;
 * only after three busy rounds does it wait, briefly (AlloyWorkerLock).
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
#include "storage/bufmgr.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/resowner.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "runtime/runtime.h"
#include "store/store_int.h"

/* Head sizes in pages (ALLOY_HEAD_SAMPLES_PER_PAGE samples each) that make a seal worth it. */
#define ALLOY_SEAL_MIN_HEAD_PAGES 64
#define ALLOY_SEAL_MAX_HEAD_PAGES 1024
/* Longest wait for a busy partition's lock (after three skipped rounds). */
#define ALLOY_SEAL_LOCK_WAIT_MS 2000

static int	alloy_seal_interval = 60;	/* seconds */

/* Retention hooks (store.h), registered from _PG_init. */
#define ALLOY_MAX_RETENTION_HOOKS 4

typedef struct AlloyRetentionHookEntry
{
	const char *what;
	AlloyRetentionHook hook;
} AlloyRetentionHookEntry;

static AlloyRetentionHookEntry alloy_retention_hooks[ALLOY_MAX_RETENTION_HOOKS];
static int	alloy_nretention_hooks = 0;

void
AlloyRegisterRetentionHook(const char *what, AlloyRetentionHook hook)
{
	if (alloy_nretention_hooks >= ALLOY_MAX_RETENTION_HOOKS)
		elog(ERROR, "too many alloy retention hooks");
	alloy_retention_hooks[alloy_nretention_hooks].what = what;
	alloy_retention_hooks[alloy_nretention_hooks].hook = hook;
	alloy_nretention_hooks++;
}

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

	DefineCustomIntVariable("alloy.head_index_max_entries",
							"Series-batch pairs a backend may hold in its head index (0 disables it).",
							"Beyond this, a partition's unsealed head is not indexed and queries walk it.",
							&alloy_head_index_max_entries,
							ALLOY_HEAD_INDEX_DEFAULT_ENTRIES, 0, INT_MAX,
							PGC_USERSET,
							0,
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
static AlloyPartition *
AlloyWorkerPartitions(int *n)
{
	AlloyPartition *res;
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
	res = MemoryContextAlloc(TopMemoryContext, sizeof(AlloyPartition) * Max(nparts, 1));
	for (i = 0; i < nparts; i++)
		if (parts[i].is_alloy)
			res[(*n)++] = parts[i];
	return res;
}

/*
 * Whether a partition's head is worth sealing now. Sealing rewrites the
 * whole partition, so a partition still receiving samples is sealed only
 * when its head has grown to a fair share of the sealed part (bounding the
 * rewrite amplification) or is large in itself (bounding the head every
 * query loads into memory); every fifth round a smaller share suffices, so
 * recent samples do not stay uncompressed for long. A partition whose time
 * range has ended is sealed as soon as it has a head.
 */
static bool
AlloyWorthSealing(const AlloyMetaData *meta, const AlloyPartition *part,
				  int64 now_ms, uint64 round)
{
	double		head = (double) meta->head_npages * ALLOY_HEAD_SAMPLES_PER_PAGE;
	double		sealed = (double) meta->sealed_nsamples;

	if (meta->head_npages == 0)
		return false;
	if (part->hi_ms <= now_ms)
		return true;
	if (meta->head_npages >= ALLOY_SEAL_MAX_HEAD_PAGES)
		return true;
	if (meta->head_npages >= ALLOY_SEAL_MIN_HEAD_PAGES && head * 8 >= sealed)
		return true;
	return round % 5 == 0 && head * 32 >= sealed;
}

/* Rounds a partition was skipped because its lock was busy, by relid. */
typedef struct AlloySkipEntry
{
	Oid			relid;
	int			skipped;
} AlloySkipEntry;

static HTAB *alloy_skips = NULL;

/*
 * Take a partition's AccessExclusiveLock for sealing. First without
 * waiting; a partition that stayed busy for three rounds (steady ingest can
 * always hold RowExclusiveLock at the instant we try) is waited for, at
 * most ALLOY_SEAL_LOCK_WAIT_MS, so ingest queues behind the seal only
 * briefly. The wait runs in a subtransaction so a lock timeout just skips
 * the partition.
 */
static bool
AlloyWorkerLock(Oid relid)
{
	AlloySkipEntry *e;
	bool		found;
	bool		ok = false;
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;

	if (alloy_skips == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(AlloySkipEntry);
		alloy_skips = hash_create("alloy seal skips", 64, &ctl, HASH_ELEM | HASH_BLOBS);
	}
	e = hash_search(alloy_skips, &relid, HASH_ENTER, &found);
	if (!found)
		e->skipped = 0;

	if (ConditionalLockRelationOid(relid, AccessExclusiveLock))
	{
		e->skipped = 0;
		return true;
	}
	if (++e->skipped < 3)
		return false;

	BeginInternalSubTransaction(NULL);
	PG_TRY();
	{
		char		buf[32];

		snprintf(buf, sizeof(buf), "%d", ALLOY_SEAL_LOCK_WAIT_MS);
		(void) set_config_option("lock_timeout", buf, PGC_SUSET, PGC_S_SESSION,
								 GUC_ACTION_LOCAL, true, 0, false);
		LockRelationOid(relid, AccessExclusiveLock);
		ReleaseCurrentSubTransaction();
		ok = true;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	if (ok)
		e->skipped = 0;
	return ok;
}

/*
 * The time retention counts back from: now, or the end of the newest
 * partition holding data if that is earlier. Like Prometheus, which
 * measures retention from its newest block, data loaded for another time
 * (backfill, tests at the epoch) is not dropped the moment it arrives, and
 * a store that stopped receiving samples keeps its last retention window.
 */
static int64
AlloyRetentionReference(int64 now_ms)
{
	Oid			parent = AlloySamplesParentOid(true);
	AlloyPartition *parts;
	int			n;
	int			i;

	if (!OidIsValid(parent))
		return now_ms;
	parts = AlloyListPartitions(parent, &n);
	for (i = n - 1; i >= 0; i--)
	{
		Relation	rel;
		BlockNumber nblocks;

		if (parts[i].lo_ms >= now_ms ||
			(parts[i].lo_ms == PG_INT64_MIN && parts[i].hi_ms == PG_INT64_MAX))
			continue;
		rel = try_table_open(parts[i].relid, AccessShareLock);
		if (rel == NULL)
			continue;
		nblocks = RelationGetNumberOfBlocks(rel);
		table_close(rel, AccessShareLock);
		if (nblocks > 0)
			return Min(now_ms, parts[i].hi_ms);
	}
	return now_ms;
}

/* Seal one partition if it is worth it; the caller holds its lock. */
static void
AlloyWorkerSealOne(const AlloyPartition *part, int64 now_ms, uint64 round)
{
	Relation	rel = try_table_open(part->relid, NoLock);
	AlloyPageSource src;
	AlloyMetaData meta;

	if (rel == NULL)
		return;
	AlloySourceFromRel(&src, rel);
	if (AlloyReadMeta(&src, &meta) && AlloyWorthSealing(&meta, part, now_ms, round))
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

/* Prepare partitions and apply retention. */
static void
AlloyWorkerHousekeeping(int64 now_ms)
{
	int64		hi;
	int			dropped;

	/* keep the current and the next partition ready for plain INSERT */
	pgstat_report_activity(STATE_RUNNING, "alloy: creating partitions");
	(void) AlloyEnsurePartition(now_ms, &hi);
	if (hi != PG_INT64_MAX)
		(void) AlloyEnsurePartition(hi, &hi);

	if (alloy_retention > 0)
	{
		int64		ref = AlloyRetentionReference(now_ms);
		int			i;

		pgstat_report_activity(STATE_RUNNING, "alloy: retention");
		dropped = AlloyDropBefore(ref - (int64) alloy_retention * 1000);
		if (dropped > 0)
			elog(LOG, "alloy retention dropped %d partitions", dropped);
		/* data kept elsewhere (exemplars) follows the samples it belongs to */
		for (i = 0; i < alloy_nretention_hooks; i++)
		{
			char		activity[NAMEDATALEN + 32];

			snprintf(activity, sizeof(activity), "alloy: %s retention",
					 alloy_retention_hooks[i].what);
			pgstat_report_activity(STATE_RUNNING, activity);
			alloy_retention_hooks[i].hook(ref - (int64) alloy_retention * 1000);
		}
	}
}

/*
 * Run one step in a subtransaction: an error (a corrupt partition, a
 * partition name taken by a user table) is logged and the worker goes on
 * with the other partitions instead of exiting and failing again on
 * restart.
 */
static void
AlloyWorkerStep(const AlloyPartition *part, int64 now_ms, uint64 round)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;

	BeginInternalSubTransaction(NULL);
	PG_TRY();
	{
		if (part)
			AlloyWorkerSealOne(part, now_ms, round);
		else
			AlloyWorkerHousekeeping(now_ms);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		ereport(LOG,
				(errmsg("alloy storage worker: %s", edata->message),
				 part ? errcontext("sealing partition with OID %u", part->relid) : 0));
		FreeErrorData(edata);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
}

static void
AlloyWorkerRound(uint64 round)
{
	AlloyPartition *parts;
	int			n;
	int			i;
	bool		have_ext;
	int64		now_ms = AlloyTimestampToMs(GetCurrentTimestamp());

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "alloy: listing partitions");
	parts = AlloyWorkerPartitions(&n);
	have_ext = parts != NULL;
	PopActiveSnapshot();
	CommitTransactionCommand();

	for (i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		if (AlloyWorkerLock(parts[i].relid))
			AlloyWorkerStep(&parts[i], now_ms, round);
		CommitTransactionCommand();
	}
	if (parts)
		pfree(parts);

	if (have_ext)
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		AlloyWorkerStep(NULL, now_ms, round);
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	pgstat_report_activity(STATE_IDLE, NULL);
	/* a background worker's statistics (WAL, tables) reach pgstat only this way */
	pgstat_report_stat(true);
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
