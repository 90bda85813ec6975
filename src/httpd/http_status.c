/*
 * http_status.c: liveness, readiness and build information.
 *
 * /-/healthy answers as long as the worker runs. /-/ready also needs the
 * extension in alloy.database, because every data endpoint depends on its
 * tables; a load balancer or Prometheus sender can wait on it after
 * installation. buildinfo reports a Prometheus version so that clients such as
 * Grafana enable the API features alloy implements.
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/extension.h"

#include "runtime/runtime.h"
#include "httpd/httpd_int.h"

static void
AlloyHealthyHandler(AlloyHttpRequest *req, AlloyHttpResponse *resp)
{
	resp->status = 200;
	resp->content_type = "text/plain; charset=utf-8";
	appendStringInfoString(&resp->body, "alloy is Healthy.\n");
}

static void
AlloyReadyHandler(AlloyHttpRequest *req, AlloyHttpResponse *resp)
{
	bool		installed;
	MemoryContext cxt = CurrentMemoryContext;

	StartTransactionCommand();
	installed = OidIsValid(get_extension_oid("alloy", true));
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);

	resp->content_type = "text/plain; charset=utf-8";
	if (installed)
	{
		resp->status = 200;
		appendStringInfoString(&resp->body, "alloy is Ready.\n");
	}
	else
	{
		resp->status = 503;
		appendStringInfo(&resp->body,
						 "alloy is not ready: the extension is not installed in database \"%s\" (run CREATE EXTENSION alloy).\n",
						 alloy_database);
	}
}

static void
AlloyBuildinfoHandler(AlloyHttpRequest *req, AlloyHttpResponse *resp)
{
	resp->status = 200;
	appendStringInfo(&resp->body,
					 "{\"status\":\"success\",\"data\":{\"version\":\"%s\",\"revision\":\"alloy-%s\","
					 "\"branch\":\"alloy\",\"buildUser\":\"alloy\",\"buildDate\":\"\",\"goVersion\":\"none\"}}",
					 ALLOY_PROMETHEUS_COMPAT_VERSION, ALLOY_VERSION);
}

void
AlloyHttpStatusRoutes(void)
{
	AlloyHttpRoute("/-/healthy", ALLOY_ROUTE_GET | ALLOY_ROUTE_NO_AUTH, "/-/healthy", AlloyHealthyHandler);
	AlloyHttpRoute("/-/ready", ALLOY_ROUTE_GET | ALLOY_ROUTE_NO_AUTH, "/-/ready", AlloyReadyHandler);
	AlloyHttpRoute("/api/v1/status/buildinfo", ALLOY_ROUTE_GET, "/api/v1/status/buildinfo",
				   AlloyBuildinfoHandler);
}
