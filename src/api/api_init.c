/*
 * api_init.c: the API's settings and the registration of its routes.
 *
 * Called from _PG_init in every process, so the route table is the same
 * (same entries, same order) in the postmaster, in the HTTP workers it forks
 * and in every backend, and route numbers agree in the shared request
 * metrics.
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"

#include "api/api.h"
#include "api/api_int.h"

void
AlloyApiInit(void)
{
	DefineCustomIntVariable("alloy.query_timeout",
							"Longest a PromQL query over HTTP may run; a request's timeout parameter can only shorten it.",
							"Zero means no limit. The same as Prometheus's --query.timeout.",
							&alloy_query_timeout,
							120000, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	AlloyApiWriteRoutes();
	AlloyApiQueryRoutes();
	AlloyApiSeriesRoutes();
	AlloyApiReadRoutes();
	AlloyApiExemplarsRoutes();
}
