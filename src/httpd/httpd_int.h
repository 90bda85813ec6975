/*
 * http_int.h: private declarations shared by the files of src/http.
 *
 * Layering: http_worker.c (process, signals, wait loop) -> http_server.c
 * (sockets, libmicrohttpd, request bodies) -> http_router.c (routes, argument
 * parsing, error mapping) -> handlers. metrics.c owns the shared memory.
 */
#ifndef ALLOY_HTTPD_HTTPD_INT_H
#define ALLOY_HTTPD_HTTPD_INT_H

#include "httpd/httpd.h"

#define ALLOY_HTTP_MAX_ROUTES 32

typedef struct AlloyHttpRoute
{
	const char *path;
	int			flags;
	const char *metric_name;	/* handler="..." label of the request metrics */
	AlloyHttpHandler handler;
} AlloyHttpRouteEntry;

typedef struct AlloyHttpArgPair
{
	const char *name;
	const char *value;
} AlloyHttpArgPair;

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

/* One request, from its first header to its completion. */
struct AlloyHttpRequest
{
	void	   *connection;		/* struct MHD_Connection * */
	MemoryContext context;		/* everything of this request */
	const char *method;
	const char *path;
	const char *path_rest;
	StringInfoData body;
	bool		body_too_large;
	bool		args_parsed;
	int			nargs;
	int			maxargs;
	AlloyHttpArgPair *args;
	int			route;			/* index into the route table, -1 if none */
	double		started;		/* seconds, for the duration histogram */
	uint64		wait_lsn;		/* answer after WAL is flushed to here */
	const char *auth_tenant;	/* tenant of verified credentials, or NULL */
	AlloyHttpResponse *deferred;	/* the answer, while waiting for the flush */
	bool		admitted;		/* holds a query slot (http_admission.c) */
	bool		queued;			/* waiting for a query slot */
	double		queue_deadline; /* AlloyHttpNow() when the wait ends in 503 */
	AlloyHttpStreamFill stream_fill;	/* the rest of the body, or NULL */
	void	   *stream_state;
};

/* http_router.c */
extern int	alloy_http_nroutes;
extern AlloyHttpRouteEntry alloy_http_routes[ALLOY_HTTP_MAX_ROUTES];
extern int	AlloyHttpFindRoute(const char *method, const char *path, bool *method_ok);
extern void AlloyHttpDispatch(AlloyHttpRequest *req, AlloyHttpResponse *resp);

/* http_server.c */
extern bool AlloyHttpServerStart(int elevel);
extern void AlloyHttpServerStop(void);
extern int	AlloyHttpServerFds(int *fds, int max);
extern void AlloyHttpServerRun(void);
extern long AlloyHttpServerTimeoutMs(void);
extern bool AlloyHttpServerListening(void);
extern void AlloyHttpServerFlushPending(void);

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

/* http_admission.c: the server-wide bound on running query-class requests */
extern int	alloy_http_max_concurrent_queries;
extern int	alloy_http_queue_timeout;
extern void AlloyHttpAdmissionShmemRequest(void);
extern int	AlloyHttpQueryLimit(void);
extern bool AlloyHttpRouteIsQuery(int route);
extern bool AlloyHttpAdmissionTryAcquire(void);
extern bool AlloyHttpAdmissionAvailable(void);
extern void AlloyHttpAdmissionRelease(void);
extern void AlloyHttpAdmissionWaitBegin(void);
extern void AlloyHttpAdmissionWaitEnd(bool rejected);
extern void AlloyHttpAdmissionCountRejected(void);

/* wal_flusher.c */
extern void AlloyWalFlusherRegister(void);
extern void AlloyWalFlusherAttachWorker(int index);
extern uint64 AlloyWalDurableLsn(void);
extern bool AlloyWalRequestFlush(uint64 lsn);
extern void AlloyWalMakeDurable(uint64 lsn);

/* http_auth.c */
extern bool alloy_http_auth;
extern bool AlloyHttpAuthenticate(AlloyHttpRequest *req, AlloyHttpResponse *resp);

/* http_server.c settings */
extern char *alloy_tls_cert_file;
extern char *alloy_tls_key_file;

/* http_status.c */
extern void AlloyHttpStatusRoutes(void);

/* Report a background worker's statistics, at most once a second. */
extern void AlloyReportStats(void);

/* metrics.c */
extern void AlloyMetricsShmemRequest(void);
extern void AlloyMetricsRoutes(void);
extern double AlloyHttpNow(void);

#endif							/* ALLOY_HTTPD_HTTPD_INT_H */
