/*
 * http_dispatch.c: the error boundary around handlers.
 *
 * Every handler runs inside PG_TRY here, so an ereport(ERROR) anywhere below a
 * handler becomes a Prometheus-style JSON error with a status that tells the
 * client whether to retry (5xx, 429) or to drop the request (4xx), and the
 * worker goes on serving the next request with no transaction left open.
 * Routes that need credentials are authenticated here first (http_auth.c).
 */
#include "postgres.h"

#include "access/xact.h"
#include "pgstat.h"
#include "utils/elog.h"
#include "utils/memutils.h"

#include "httpd/httpd_int.h"

/* Run the request's handler behind the error boundary. */
void
AlloyHttpDispatch(AlloyHttpRequest *req, AlloyHttpResponse *resp)
{
	AlloyHttpRouteEntry *r = &alloy_http_routes[req->route];
	MemoryContext oldcxt = CurrentMemoryContext;

	pgstat_report_activity(STATE_RUNNING, r->path);
	PG_TRY();
	{
		if (alloy_http_auth && !(r->flags & ALLOY_ROUTE_NO_AUTH) &&
			!AlloyHttpAuthenticate(req, resp))
		{
			/* answered 401/403 */
		}
		else
			r->handler(req, resp);
		if (IsTransactionState())
			elog(WARNING, "alloy HTTP handler for %s left a transaction open", r->path);
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		const char *error_type;
		int			status;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortOutOfAnyTransaction();

		status = AlloyHttpStatusForSqlstate(edata->sqlerrcode, &error_type);
		if (status >= 500)
			ereport(LOG,
					(errmsg("alloy HTTP %s %s failed: %s", req->method, req->path,
							edata->message)));
		resetStringInfo(&resp->body);
		req->stream_fill = NULL;	/* no half-streamed answer after an error */
		resp->nheaders = 0;
		resp->content_encoding = NULL;
		AlloyHttpJsonError(resp, status, error_type, edata->message);
		FreeErrorData(edata);
	}
	PG_END_TRY();
	AbortOutOfAnyTransaction();
	pgstat_report_activity(STATE_IDLE, NULL);
}
