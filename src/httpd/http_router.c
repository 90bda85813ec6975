/*
 * http_router.c: the route table and the lookup of a request's route.
 *
 * Filled from _PG_init (the core's routes by AlloyHttpInit, the endpoints'
 * by the modules above), so every process has the same table in the same
 * order; the HTTP workers inherit it. Handlers run from http_dispatch.c.
 */
#include "postgres.h"

#include "httpd/httpd_int.h"

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
