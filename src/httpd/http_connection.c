/*
 * http_connection.c: one request's life, as libmicrohttpd's callbacks see it.
 *
 * The access callback is called for the headers, for every piece of the body
 * and once more when the body is complete: it sets the request up (route,
 * size check), gathers its body, takes a query slot for query-class routes
 * (http_admission.c), runs the handler behind the router's error boundary
 * and sends the answer, or parks it until its WAL is durable. The
 * completion callback gives the slot back, counts the request in the
 * request metrics and frees it.
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/memutils.h"

#include "runtime/runtime.h"
#include "httpd/httpd_int.h"

/* First call for a request: set up its state and check what the headers allow. */
static enum MHD_Result
AlloyHttpBegin(struct MHD_Connection *connection, const char *url, const char *method,
			   void **req_cls)
{
	MemoryContext cxt;
	AlloyHttpRequest *req;
	bool		method_ok;
	const char *clen;

	cxt = AllocSetContextCreate(TopMemoryContext, "alloy http request",
								ALLOCSET_DEFAULT_SIZES);
	req = MemoryContextAllocZero(cxt, sizeof(AlloyHttpRequest));
	req->context = cxt;
	req->connection = connection;
	req->started = AlloyHttpNow();
	req->method = MemoryContextStrdup(cxt, method);
	req->path = MemoryContextStrdup(cxt, url);
	req->route = AlloyHttpFindRoute(method, url, &method_ok);
	*req_cls = req;

	/* refuse a declared body that is too large before reading any of it, whatever the route */
	clen = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
									   MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (clen != NULL)
	{
		unsigned long long n = strtoull(clen, NULL, 10);

		if (n > (unsigned long long) alloy_max_request_bytes || n >= MaxAllocSize)
		{
			req->body_too_large = true;
			return AlloyHttpSendError(req, 413, "bad_data",
									  psprintf("request body of %llu bytes exceeds alloy.max_request_bytes (%d)",
											   n, alloy_max_request_bytes));
		}
		if (n > 0)
		{
			MemoryContext old = MemoryContextSwitchTo(cxt);

			req->body.data = palloc(n + 1);
			req->body.maxlen = n + 1;
			req->body.len = 0;
			req->body.data[0] = '\0';
			MemoryContextSwitchTo(old);
		}
	}
	if (req->body.data == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		initStringInfo(&req->body);
		MemoryContextSwitchTo(old);
	}

	if (req->route < 0)
		return AlloyHttpSendError(req, 404, "not_found",
								  psprintf("no endpoint %s", url));
	if (!method_ok)
		return AlloyHttpSendError(req, 405, "bad_data",
								  psprintf("method %s not allowed for %s", method, url));
	if (alloy_http_routes[req->route].flags & ALLOY_ROUTE_PREFIX)
		req->path_rest = req->path + strlen(alloy_http_routes[req->route].path);
	return MHD_YES;
}

/*
 * Take a query slot for req (see http_admission.c). False when it cannot run
 * now: it is then either suspended to wait for a slot (at most
 * alloy.http_queue_timeout) or answered 503, Prometheus's "unavailable".
 */
static bool
AlloyHttpAdmit(AlloyHttpRequest *req, enum MHD_Result *ret)
{
	double		now;

	*ret = MHD_YES;
	if (AlloyHttpAdmissionTryAcquire())
	{
		req->admitted = true;
		if (req->queued)
		{
			req->queued = false;
			AlloyHttpAdmissionWaitEnd(false);
		}
		return true;
	}

	now = AlloyHttpNow();
	if (!req->queued && alloy_http_queue_timeout > 0)
	{
		req->queued = true;
		req->queue_deadline = now + alloy_http_queue_timeout / 1000.0;
		AlloyHttpAdmissionWaitBegin();
	}
	if (req->queued && now < req->queue_deadline)
	{
		AlloyHttpQueueWaiting(req);
		return false;
	}

	if (req->queued)
	{
		req->queued = false;
		AlloyHttpAdmissionWaitEnd(true);
	}
	else
		AlloyHttpAdmissionCountRejected();
	{
		AlloyHttpResponse resp;
		MemoryContext old = MemoryContextSwitchTo(req->context);

		AlloyHttpResponseInit(&resp);
		AlloyHttpJsonError(&resp, 503, "unavailable",
						   psprintf("too many concurrent queries: all %d slots of alloy.http_max_concurrent_queries stayed busy for alloy.http_queue_timeout (%d ms)",
									AlloyHttpQueryLimit(), alloy_http_queue_timeout));
		AlloyHttpAddHeader(&resp, "Retry-After", "1");
		*ret = AlloyHttpSend(req, &resp);
		MemoryContextSwitchTo(old);
	}
	return false;
}

static enum MHD_Result
AlloyHttpAccessInner(struct MHD_Connection *connection, const char *url,
					 const char *method, const char *upload_data,
					 size_t *upload_data_size, void **req_cls)
{
	AlloyHttpRequest *req = *req_cls;
	AlloyHttpResponse resp;
	MemoryContext old;
	enum MHD_Result ret;

	if (req == NULL)
		return AlloyHttpBegin(connection, url, method, req_cls);

	/* resumed after the WAL flush it waited for: send the answer now */
	if (req->deferred != NULL)
	{
		AlloyHttpResponse *r = req->deferred;

		req->deferred = NULL;
		return AlloyHttpSend(req, r);
	}

	if (*upload_data_size > 0)
	{
		size_t		n = *upload_data_size;

		*upload_data_size = 0;
		if (req->body_too_large)
			return MHD_YES;
		if ((size_t) req->body.len + n > (size_t) alloy_max_request_bytes ||
			(size_t) req->body.len + n >= MaxAllocSize - 1)
		{
			req->body_too_large = true;
			return MHD_YES;
		}
		old = MemoryContextSwitchTo(req->context);
		appendBinaryStringInfo(&req->body, upload_data, n);
		MemoryContextSwitchTo(old);
		return MHD_YES;
	}

	/* the whole body is here: answer */
	if (req->body_too_large)
		return AlloyHttpSendError(req, 413, "bad_data",
								  psprintf("request body exceeds alloy.max_request_bytes (%d)",
										   alloy_max_request_bytes));

	if (!req->admitted && AlloyHttpRouteIsQuery(req->route) && !AlloyHttpAdmit(req, &ret))
		return ret;				/* suspended until a slot frees, or answered 503 */

	old = MemoryContextSwitchTo(req->context);
	AlloyHttpResponseInit(&resp);
	req->wait_lsn = 0;
	AlloyHttpDispatch(req, &resp);
	MemoryContextSwitchTo(req->context);
	if (req->wait_lsn != 0 && resp.status < 300)
	{
		/* durable answers wait for the worker's next group flush */
		AlloyHttpQueueDurable(req, &resp);
		MemoryContextSwitchTo(old);
		return MHD_YES;
	}
	ret = AlloyHttpSend(req, &resp);
	MemoryContextSwitchTo(old);
	return ret;
}

/*
 * The libmicrohttpd access callback: the error boundary. Errors from handlers
 * are already answered by AlloyHttpDispatch; anything that still escapes here
 * (out of memory while reading a body, say) closes the connection.
 */
enum MHD_Result
AlloyHttpAccess(void *cls, struct MHD_Connection *connection, const char *url,
				const char *method, const char *version, const char *upload_data,
				size_t *upload_data_size, void **req_cls)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	volatile enum MHD_Result ret = MHD_NO;

	PG_TRY();
	{
		ret = AlloyHttpAccessInner(connection, url, method, upload_data,
								   upload_data_size, req_cls);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		EmitErrorReport();
		FlushErrorState();
		AbortOutOfAnyTransaction();
		ret = MHD_NO;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcxt);
	return ret;
}

/* libmicrohttpd's completion callback: the request is over, answered or not. */
void
AlloyHttpCompleted(void *cls, struct MHD_Connection *connection, void **req_cls,
				   enum MHD_RequestTerminationCode toe)
{
	AlloyHttpRequest *req = *req_cls;
	const union MHD_ConnectionInfo *info;
	int			status = 0;

	if (req == NULL)
		return;
	info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_HTTP_STATUS);
	if (info)
		status = info->http_status;
	/* the slot is held until the answer is out, or the client gone */
	if (req->admitted)
	{
		req->admitted = false;
		AlloyHttpAdmissionRelease();
	}
	if (req->queued)
	{
		/* gone while waiting (the daemon stopped): forget it */
		AlloyHttpForgetWaiting(req);
		req->queued = false;
		AlloyHttpAdmissionWaitEnd(false);
	}
	AlloyHttpCountRequest(req->route, status, AlloyHttpNow() - req->started);
	*req_cls = NULL;
	MemoryContextDelete(req->context);
}
