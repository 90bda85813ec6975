/*
 * http_int.h: private declarations shared by the files of src/http.
 *
 * Layering: http_worker.c (process, signals, wait loop) -> http_server.c
 * (sockets, libmicrohttpd, request bodies) -> http_router.c (routes, argument
 * parsing, error mapping) -> handlers. metrics.c owns the shared memory.
 */
#ifndef ALLOY_HTTP_INT_H
#define ALLOY_HTTP_INT_H

#include "http/http.h"

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

/* metrics.c */
extern void AlloyMetricsShmemRequest(void);
extern void AlloyMetricsRoutes(void);
extern double AlloyHttpNow(void);

#endif							/* ALLOY_HTTP_INT_H */
