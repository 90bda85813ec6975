/*
 * httpd.h: what the endpoints (src/api) need to serve on alloy's HTTP port.
 *
 * The HTTP core never calls an endpoint by name: modules above it register
 * routes from their Init function, called from _PG_init in every process in
 * the same order, so route numbers agree across processes for the shared
 * request metrics. The HTTP workers are forked from the postmaster after
 * _PG_init ran there and inherit the table (Linux builds never use
 * EXEC_BACKEND; where it is used, a worker runs _PG_init itself on loading
 * the library and so fills the same table). Handlers run in an HTTP background worker's main thread, connected
 * to alloy.database, with CurrentMemoryContext a per-request context that is
 * reset afterwards. A handler may ereport(ERROR): the router aborts any open
 * transaction and answers with Prometheus-style JSON and a status chosen from
 * the SQLSTATE (see AlloyHttpStatusForSqlstate).
 */
#ifndef ALLOY_HTTPD_HTTPD_H
#define ALLOY_HTTPD_HTTPD_H

#include "lib/stringinfo.h"

typedef struct AlloyHttpRequest AlloyHttpRequest;

typedef struct AlloyHttpResponse
{
	int			status;
	const char *content_type;	/* NULL: application/json */
	const char *content_encoding;	/* NULL: none */
	StringInfoData body;
	int			nheaders;
	const char *header_names[8];
	const char *header_values[8];
} AlloyHttpResponse;

typedef void (*AlloyHttpHandler) (AlloyHttpRequest *req, AlloyHttpResponse *resp);

/* Route flags. */
#define ALLOY_ROUTE_GET		0x01
#define ALLOY_ROUTE_POST	0x02
#define ALLOY_ROUTE_PREFIX	0x04	/* path is a prefix; the rest is AlloyHttpPathRest() */
#define ALLOY_ROUTE_RAW_BODY 0x08	/* do not parse a form-encoded body into arguments */
#define ALLOY_ROUTE_NO_AUTH	0x10	/* served without credentials (health checks) */

/* Register a handler; call from a module's Init (before shared memory is sized). */
extern void AlloyHttpRoute(const char *path, int flags, const char *metric_name,
						   AlloyHttpHandler handler);

/* Request accessors. */
extern const char *AlloyHttpMethod(AlloyHttpRequest *req);
extern const char *AlloyHttpPath(AlloyHttpRequest *req);
extern const char *AlloyHttpPathRest(AlloyHttpRequest *req);
extern const char *AlloyHttpHeader(AlloyHttpRequest *req, const char *name);
extern const char *AlloyHttpBody(AlloyHttpRequest *req, size_t *len);
/*
 * The request's tenant, or NULL for the default tenant: the tenant of its
 * credentials when alloy.http_auth is on, else the one X-Scope-OrgID names.
 */
extern const char *AlloyHttpTenant(AlloyHttpRequest *req);
/* First value of a query-string or form argument, or NULL. */
extern const char *AlloyHttpArg(AlloyHttpRequest *req, const char *name);
/* Every value of a repeated argument (match[]); returns the count. */
extern int	AlloyHttpArgAll(AlloyHttpRequest *req, const char *name, const char ***values);

/*
 * Answer only once WAL up to lsn is flushed (and replicated, as
 * synchronous_commit asks). The worker suspends the connection and flushes
 * once for every request waiting after its event-loop pass, so concurrent
 * writes share one fsync (group commit) while each 2xx still means durable.
 */
extern void AlloyHttpRespondAfterFlush(AlloyHttpRequest *req, uint64 lsn);

/*
 * A streamed answer body (see AlloyHttpStreamBody): each call appends the next
 * piece of the body to out, about ALLOY_HTTP_STREAM_CHUNK bytes (a little more
 * is fine), and returns true with the last piece. It runs from libmicrohttpd's
 * send loop, outside any transaction, with CurrentMemoryContext a scratch
 * context reset between calls; its state lives in the request's context,
 * which outlives the last call.
 */
typedef bool (*AlloyHttpStreamFill) (void *state, StringInfo out);

#define ALLOY_HTTP_STREAM_CHUNK (64 * 1024)

/*
 * Answer 200 with a body made by fill. fill runs at once until it is done or
 * has produced ALLOY_HTTP_STREAM_CHUNK bytes: a body that fits is sent as
 * usual and false comes back. Otherwise true comes back and the rest goes out
 * piece by piece as the client reads it (gzip too), so only one piece of the
 * body is in memory at a time; state and whatever it points to must then live
 * in the request's memory context (not a transaction's), and no other answer
 * may be given.
 */
extern bool AlloyHttpStreamBody(AlloyHttpRequest *req, AlloyHttpResponse *resp,
								AlloyHttpStreamFill fill, void *state);

/* Forget a streamed body set up by AlloyHttpStreamBody, to answer otherwise. */
extern void AlloyHttpStreamCancel(AlloyHttpRequest *req);

/* Response helpers. */
extern void AlloyHttpAddHeader(AlloyHttpResponse *resp, const char *name, const char *value);
extern void AlloyHttpJsonError(AlloyHttpResponse *resp, int status,
							   const char *error_type, const char *message);
extern int	AlloyHttpStatusForSqlstate(int sqlerrcode, const char **error_type);

/*
 * Settings, the core's own routes (health, build info, /metrics) and the HTTP
 * workers; called from _PG_init before any module registers its routes.
 */
extern void AlloyHttpInit(void);

#endif							/* ALLOY_HTTPD_HTTPD_H */
