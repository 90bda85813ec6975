/*
 * httpd_int.h: private declarations shared by the files of src/httpd.
 *
 * The files call each other in one direction only, bottom up:
 *   http_settings, http_router (route table), http_response, bgw_stats
 *   -> http_request (accessors), http_metrics (request metrics, /metrics),
 *      http_admission, http_status, wal_flusher
 *   -> http_auth -> http_dispatch (error boundary around handlers)
 *   -> http_send (writing answers), http_queue (suspended requests)
 *   -> http_connection (libmicrohttpd's callbacks: one request's life)
 *   -> http_server (sockets, daemons) -> http_worker (process, main loop).
 * Endpoints live above all of them, in src/api, and use httpd.h only.
 */
#ifndef ALLOY_HTTPD_HTTPD_INT_H
#define ALLOY_HTTPD_HTTPD_INT_H

#include <sys/socket.h>
#include <microhttpd.h>

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

/* http_settings.c */
extern bool alloy_http_auth;
extern int	alloy_http_max_connections;
extern int	alloy_http_idle_timeout;
extern int	alloy_http_max_concurrent_queries;
extern int	alloy_http_queue_timeout;
extern char *alloy_tls_cert_file;
extern char *alloy_tls_key_file;
extern void AlloyHttpDefineSettings(void);

/* http_router.c */
extern int	alloy_http_nroutes;
extern AlloyHttpRouteEntry alloy_http_routes[ALLOY_HTTP_MAX_ROUTES];
extern int	AlloyHttpFindRoute(const char *method, const char *path, bool *method_ok);

/* http_dispatch.c */
extern void AlloyHttpDispatch(AlloyHttpRequest *req, AlloyHttpResponse *resp);

/* http_metrics.c: per-route request metrics and GET /metrics */
extern double AlloyHttpNow(void);
extern void AlloyHttpCountRequest(int route, int status, double seconds);
extern void AlloyHttpMetricsShmemRequest(void);
extern void AlloyHttpMetricsRoutes(void);

/* http_send.c */
extern void AlloyHttpResponseInit(AlloyHttpResponse *resp);
extern enum MHD_Result AlloyHttpSend(AlloyHttpRequest *req, AlloyHttpResponse *resp);
extern enum MHD_Result AlloyHttpSendError(AlloyHttpRequest *req, int status,
										  const char *type, const char *msg);

/* http_queue.c: requests suspended for a WAL flush or a query slot */
extern void AlloyHttpQueueDurable(AlloyHttpRequest *req, AlloyHttpResponse *resp);
extern void AlloyHttpQueueWaiting(AlloyHttpRequest *req);
extern void AlloyHttpForgetWaiting(AlloyHttpRequest *req);
extern bool AlloyHttpAnyWaiting(void);
extern void AlloyHttpResumeWaiting(void);
extern int	AlloyHttpFlushDurable(void);

/* http_connection.c: libmicrohttpd's callbacks (http_server.c installs them) */
extern enum MHD_Result AlloyHttpAccess(void *cls, struct MHD_Connection *connection,
									   const char *url, const char *method,
									   const char *version, const char *upload_data,
									   size_t *upload_data_size, void **req_cls);
extern void AlloyHttpCompleted(void *cls, struct MHD_Connection *connection,
							   void **req_cls, enum MHD_RequestTerminationCode toe);

/* http_server.c */
extern bool AlloyHttpServerStart(int elevel);
extern void AlloyHttpServerStop(void);
extern int	AlloyHttpServerFds(int *fds, int max);
extern void AlloyHttpServerRun(void);
extern long AlloyHttpServerTimeoutMs(void);
extern bool AlloyHttpServerListening(void);

/* http_admission.c: the server-wide bound on running query-class requests */
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
extern bool AlloyHttpAuthenticate(AlloyHttpRequest *req, AlloyHttpResponse *resp);

/* http_status.c */
extern void AlloyHttpStatusRoutes(void);

/* bgw_stats.c: report a background worker's statistics, at most once a second. */
extern void AlloyReportStats(void);

#endif							/* ALLOY_HTTPD_HTTPD_INT_H */
