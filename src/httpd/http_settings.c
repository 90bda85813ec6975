/*
 * http_settings.c: the HTTP core's settings.
 *
 * alloy.http_auth can change on reload and is defined in every process;
 * the others size or time the HTTP workers and exist only when the library
 * is preloaded, as the workers do. alloy.port, alloy.listen_addresses and
 * the other settings of the public contract are runtime/settings.c's.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/guc.h"

#include "httpd/httpd_int.h"

bool		alloy_http_auth = false;
int			alloy_http_max_connections = 256;
int			alloy_http_idle_timeout = 60;
int			alloy_http_max_concurrent_queries = -1;	/* -1: 2 x alloy.http_workers */
int			alloy_http_queue_timeout = 2000;	/* ms */
char	   *alloy_tls_cert_file = NULL;
char	   *alloy_tls_key_file = NULL;

void
AlloyHttpDefineSettings(void)
{
	DefineCustomBoolVariable("alloy.http_auth",
							 "Require credentials from alloy.http_credentials on the HTTP API.",
							 "Basic auth or bearer tokens; the credential decides the tenant. Health checks stay open.",
							 &alloy_http_auth,
							 false,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);

	if (!process_shared_preload_libraries_in_progress)
		return;
	DefineCustomIntVariable("alloy.http_max_connections",
							"Most concurrent HTTP connections one alloy HTTP worker accepts.",
							NULL,
							&alloy_http_max_connections,
							256, 1, 65536,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("alloy.http_idle_timeout",
							"Idle HTTP connections are closed after this long.",
							NULL,
							&alloy_http_idle_timeout,
							60, 1, 3600,
							PGC_POSTMASTER, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("alloy.http_max_concurrent_queries",
							"Most query-class HTTP requests (queries, series, labels, remote read) running at once over all HTTP workers.",
							"-1 means twice alloy.http_workers; 0 means no limit. Remote write is not counted.",
							&alloy_http_max_concurrent_queries,
							-1, -1, 65536,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("alloy.http_queue_timeout",
							"Longest a query-class HTTP request waits for a free slot before it is answered 503.",
							"Zero answers 503 at once.",
							&alloy_http_queue_timeout,
							2000, 0, 600000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomStringVariable("alloy.tls_cert_file",
							   "PEM certificate (chain) for HTTPS on the alloy port; empty means plain HTTP.",
							   "Relative paths are relative to the data directory.",
							   &alloy_tls_cert_file,
							   "",
							   PGC_POSTMASTER, 0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("alloy.tls_key_file",
							   "PEM private key for alloy.tls_cert_file.",
							   NULL,
							   &alloy_tls_key_file,
							   "",
							   PGC_POSTMASTER, 0,
							   NULL, NULL, NULL);
}
