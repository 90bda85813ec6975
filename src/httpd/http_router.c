/*
 * http_router.c: the route table and the error boundary around handlers.
 *
 * Every handler runs inside PG_TRY here, so an ereport(ERROR) anywhere below a
 * handler becomes a Prometheus-style JSON error with a status that tells the
 * client whether to retry (5xx, 429) or to drop the request (4xx), and the
 * worker goes on serving the next request with no transaction left open.
 */
#include "postgres.h"

#include "access/xact.h"
#include "pgstat.h"
#include "utils/elog.h"
#include "utils/memutils.h"

#include "httpd/httpd_int.h"
#include "runtime/runtime.h"

int			alloy_http_nroutes = 0;
AlloyHttpRouteEntry alloy_http_routes[ALLOY_HTTP_MAX_ROUTES];

void
AlloyHttpRoute(const char *path, int flags, const char *metric_name,
			   AlloyHttpHandler handler)
{
	AlloyHttpRouteEntry *r;

	if (alloy_http_nroutes >= ALLOY_HTTP_MAX_ROUTES)
		elog(ERROR, "too many alloy HTTP routes");
	r = &alloy_http_routes[alloy_http_nroutes++];
	r->path = path;
	r->flags = flags;
	r->metric_name = metric_name;
	r->handler = handler;
}

/*
 * The route index for the request's path, or -1. *method_ok says whether the
 * route accepts the method, so the caller can tell 404 from 405.
 */
int
AlloyHttpFindRoute(const char *method, const char *path, bool *method_ok)
{
	int			want = strcmp(method, "POST") == 0 ? ALLOY_ROUTE_POST :
		(strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) ? ALLOY_ROUTE_GET : 0;

	for (int i = 0; i < alloy_http_nroutes; i++)
	{
		AlloyHttpRouteEntry *r = &alloy_http_routes[i];
		bool		match;

		if (r->flags & ALLOY_ROUTE_PREFIX)
			match = strncmp(path, r->path, strlen(r->path)) == 0;
		else
			match = strcmp(path, r->path) == 0;
		if (match)
		{
			*method_ok = (r->flags & want) != 0;
			return i;
		}
	}
	*method_ok = false;
	return -1;
}

/*
 * Map an SQLSTATE to an HTTP status and a Prometheus error type. Anything
 * that may succeed on retry (shutdown, recovery, cancel, lock conflicts, a
 * missing extension) is a 5xx, since remote-write senders drop data on 4xx.
 */
int
AlloyHttpStatusForSqlstate(int sqlerrcode, const char **error_type)
{
	switch (sqlerrcode)
	{
		case ERRCODE_QUERY_CANCELED:
			*error_type = "timeout";
			return 503;
		case ERRCODE_ADMIN_SHUTDOWN:
		case ERRCODE_CRASH_SHUTDOWN:
		case ERRCODE_CANNOT_CONNECT_NOW:
		case ERRCODE_READ_ONLY_SQL_TRANSACTION:
		case ERRCODE_T_R_SERIALIZATION_FAILURE:
		case ERRCODE_T_R_DEADLOCK_DETECTED:
		case ERRCODE_LOCK_NOT_AVAILABLE:
		case ERRCODE_UNDEFINED_TABLE:
		case ERRCODE_UNDEFINED_FUNCTION:
		case ERRCODE_UNDEFINED_OBJECT:
		case ERRCODE_INVALID_SCHEMA_NAME:
			*error_type = "unavailable";
			return 503;
		case ERRCODE_PROGRAM_LIMIT_EXCEEDED:
			*error_type = "execution";
			return 422;
		case ERRCODE_CONFIGURATION_LIMIT_EXCEEDED:
			/* a per-tenant limit (alloy.tenant_max_series): back off and retry */
			*error_type = "too_many_requests";
			return 429;
		default:
			break;
	}
	switch (ERRCODE_TO_CATEGORY(sqlerrcode))
	{
		case ERRCODE_DATA_EXCEPTION:
		case ERRCODE_SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION:
			*error_type = "bad_data";
			return 400;
		case ERRCODE_INSUFFICIENT_RESOURCES:
		case ERRCODE_OPERATOR_INTERVENTION:
		case ERRCODE_TRANSACTION_ROLLBACK:
		case ERRCODE_CONNECTION_EXCEPTION:
			*error_type = "unavailable";
			return 503;
		default:
			*error_type = "internal";
			return 500;
	}
}

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

void
AlloyHttpAddHeader(AlloyHttpResponse *resp, const char *name, const char *value)
{
	if (resp->nheaders >= lengthof(resp->header_names))
		elog(ERROR, "too many alloy HTTP response headers");
	resp->header_names[resp->nheaders] = name;
	resp->header_values[resp->nheaders] = value;
	resp->nheaders++;
}
