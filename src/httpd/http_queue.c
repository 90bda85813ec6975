/*
 * http_queue.c: the requests a worker keeps suspended.
 *
 * Two queues, both of connections libmicrohttpd holds suspended while the
 * worker serves others: answers that wait for their WAL to be flushed
 * (AlloyHttpRespondAfterFlush; one flush covers every answer waiting, group
 * commit) and query-class requests that wait for a free query slot
 * (http_admission.c). The worker's main loop resumes them.
 */
#include "postgres.h"

#include "access/xlog.h"
#include "utils/memutils.h"

#include "httpd/httpd_int.h"

/* Suspended requests whose answers wait for a WAL flush (see AlloyHttpRespondAfterFlush). */
static AlloyHttpRequest **alloy_pending = NULL;
static int	alloy_npending = 0;
static int	alloy_maxpending = 0;

/* Suspended query-class requests waiting for a slot (see http_admission.c). */
static AlloyHttpRequest **alloy_waiting = NULL;
static int	alloy_nwaiting = 0;
static int	alloy_maxwaiting = 0;

/* Hold resp until the WAL up to req->wait_lsn is durable; suspends req. */
void
AlloyHttpQueueDurable(AlloyHttpRequest *req, AlloyHttpResponse *resp)
{
	if (alloy_npending == alloy_maxpending)
	{
		alloy_maxpending = alloy_maxpending ? alloy_maxpending * 2 : 64;
		alloy_pending = alloy_pending ?
			repalloc(alloy_pending, sizeof(AlloyHttpRequest *) * alloy_maxpending) :
			MemoryContextAlloc(TopMemoryContext, sizeof(AlloyHttpRequest *) * alloy_maxpending);
	}
	req->deferred = palloc(sizeof(AlloyHttpResponse));
	*req->deferred = *resp;
	alloy_pending[alloy_npending++] = req;
	MHD_suspend_connection(req->connection);
}

/* Suspend req until a query slot may be free or its wait is over. */
void
AlloyHttpQueueWaiting(AlloyHttpRequest *req)
{
	if (alloy_nwaiting == alloy_maxwaiting)
	{
		alloy_maxwaiting = alloy_maxwaiting ? alloy_maxwaiting * 2 : 16;
		alloy_waiting = alloy_waiting ?
			repalloc(alloy_waiting, sizeof(AlloyHttpRequest *) * alloy_maxwaiting) :
			MemoryContextAlloc(TopMemoryContext, sizeof(AlloyHttpRequest *) * alloy_maxwaiting);
	}
	alloy_waiting[alloy_nwaiting++] = req;
	MHD_suspend_connection(req->connection);
}

/* Drop req from the waiting requests (it completed while waiting). */
void
AlloyHttpForgetWaiting(AlloyHttpRequest *req)
{
	int			kept = 0;

	for (int i = 0; i < alloy_nwaiting; i++)
		if (alloy_waiting[i] != req)
			alloy_waiting[kept++] = alloy_waiting[i];
	alloy_nwaiting = kept;
}

bool
AlloyHttpAnyWaiting(void)
{
	return alloy_nwaiting > 0;
}

/*
 * Resume the requests waiting for a query slot when one looks free or their
 * wait is over; the access callback then takes the slot or answers 503 (or
 * suspends them again if another worker was quicker).
 */
void
AlloyHttpResumeWaiting(void)
{
	double		now;
	bool		avail;
	int			kept = 0;

	if (alloy_nwaiting == 0)
		return;
	now = AlloyHttpNow();
	avail = AlloyHttpAdmissionAvailable();
	for (int i = 0; i < alloy_nwaiting; i++)
	{
		AlloyHttpRequest *req = alloy_waiting[i];

		if (avail || now >= req->queue_deadline)
			MHD_resume_connection(req->connection);
		else
			alloy_waiting[kept++] = req;
	}
	alloy_nwaiting = kept;
}

/*
 * Send the answers whose WAL is durable now. The WAL flusher process does
 * the flushing (see wal_flusher.c), so this worker goes on serving while an
 * fsync runs; without a flusher the worker flushes once for every answer
 * waiting. Either way one fsync covers many requests. Returns how many
 * connections were resumed: the caller runs the server again to hand them
 * their answers.
 */
int
AlloyHttpFlushDurable(void)
{
	XLogRecPtr	upto = InvalidXLogRecPtr;
	uint64		durable;
	int			kept = 0;
	int			resumed = 0;

	if (alloy_npending == 0)
		return 0;
	for (int i = 0; i < alloy_npending; i++)
		if (alloy_pending[i]->wait_lsn > upto)
			upto = alloy_pending[i]->wait_lsn;

	durable = AlloyWalDurableLsn();
	if (durable < upto && !AlloyWalRequestFlush(upto))
	{
		AlloyWalMakeDurable(upto);
		durable = upto;
	}

	for (int i = 0; i < alloy_npending; i++)
	{
		if (alloy_pending[i]->wait_lsn <= durable)
		{
			MHD_resume_connection(alloy_pending[i]->connection);
			resumed++;
		}
		else
			alloy_pending[kept++] = alloy_pending[i];
	}
	alloy_npending = kept;
	return resumed;
}
