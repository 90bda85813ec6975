/*
 * api_int.h: shared pieces of the endpoints: the Prometheus HTTP API handlers
 * (api_*.c) and the SQL functions (sql_*.c).
 */
#ifndef ALLOY_API_API_INT_H
#define ALLOY_API_API_INT_H

#include "fmgr.h"

#include "base/base.h"
#include "httpd/httpd.h"

/* The widest times Prometheus accepts (its minTime/maxTime), in ms. */
#define ALLOY_API_MIN_TIME INT64CONST(-9223309901257974)
#define ALLOY_API_MAX_TIME INT64CONST(9223309901257974)

extern bool AlloyApiParseTime(const char *s, int64 *ms);
extern bool AlloyApiParseDuration(const char *s, int64 *ms);
extern void AlloyApiBadParam(AlloyHttpResponse *resp, const char *param, const char *msg);
/* Read a time parameter (dflt when absent); on a bad value answer 400 and return false. */
extern bool AlloyApiTimeParam(AlloyHttpRequest *req, AlloyHttpResponse *resp,
							  const char *name, int64 dflt, int64 *ms);

extern int	alloy_query_timeout;	/* ms, 0 = none */

/*
 * A PromQL parse error in Prometheus 2.42's words ("LINE:COL: parse error:
 * ..." instead of the parser's "parse error at char N: ..."); other messages
 * unchanged.
 */
extern const char *AlloyApiParseError(const char *query, const char *msg);

/* Each registers its handlers' routes; AlloyApiInit calls them. */
extern void AlloyApiWriteRoutes(void);
extern void AlloyApiQueryRoutes(void);
extern void AlloyApiSeriesRoutes(void);
extern void AlloyApiReadRoutes(void);
extern void AlloyApiExemplarsRoutes(void);

/*
 * sql_args.c: arguments of the SQL functions of series. A label set is a
 * jsonb object {"name": "value", ...}: AlloySqlLabelsArg returns its labels
 * (strings pointing into the jsonb) sorted and validated, and their count.
 */
extern int	AlloySqlLabelsArg(FunctionCallInfo fcinfo, int argno, AlloyLabel **labels_out);
extern int32 AlloySqlTenantArg(FunctionCallInfo fcinfo, int argno, bool create);
extern void AlloySqlRequireArg(FunctionCallInfo fcinfo, int argno, const char *what);
extern int64 AlloySqlSeriesArg(FunctionCallInfo fcinfo, int tenant_argno);

#endif							/* ALLOY_API_API_INT_H */
