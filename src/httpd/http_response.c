/*
 * http_response.c: helpers that shape an answer, shared by the core and the
 * endpoints: Prometheus-style error bodies, extra headers, and the status an
 * SQLSTATE maps to.
 */
#include "postgres.h"

#include "runtime/runtime.h"
#include "httpd/httpd_int.h"

/*
 * Prometheus-style error JSON. Used by every handler, so error bodies are the
 * same everywhere.
 */
void
AlloyHttpJsonError(AlloyHttpResponse *resp, int status, const char *error_type,
				   const char *message)
{
	resp->status = status;
	resp->content_type = "application/json";
	resetStringInfo(&resp->body);
	appendStringInfoString(&resp->body, "{\"status\":\"error\",\"errorType\":");
	AlloyJsonString(&resp->body, error_type);
	appendStringInfoString(&resp->body, ",\"error\":");
	AlloyJsonString(&resp->body, message);
	appendStringInfoString(&resp->body, "}");
}

/*
 * Map an SQLSTATE to an HTTP status and a Prometheus error type. Anything
 * that may succeed on retry (shutdown, recovery, cancel, lock conflicts, a
 * missing extension) is a 5xx, since remote-write senders drop data on 4xx.
 */
int
AlloyHttpStatusForSqlstate(int sqlerrcode, const char **error_type)
{
	switch (sqlerrcode)
	{
		case ERRCODE_QUERY_CANCELED:
			*error_type = "timeout";
			return 503;
		case ERRCODE_ADMIN_SHUTDOWN:
		case ERRCODE_CRASH_SHUTDOWN:
		case ERRCODE_CANNOT_CONNECT_NOW:
		case ERRCODE_READ_ONLY_SQL_TRANSACTION:
		case ERRCODE_T_R_SERIALIZATION_FAILURE:
		case ERRCODE_T_R_DEADLOCK_DETECTED:
		case ERRCODE_LOCK_NOT_AVAILABLE:
		case ERRCODE_UNDEFINED_TABLE:
		case ERRCODE_UNDEFINED_FUNCTION:
		case ERRCODE_UNDEFINED_OBJECT:
		case ERRCODE_INVALID_SCHEMA_NAME:
			*error_type = "unavailable";
			return 503;
		case ERRCODE_PROGRAM_LIMIT_EXCEEDED:
			*error_type = "execution";
			return 422;
		case ERRCODE_CONFIGURATION_LIMIT_EXCEEDED:
			/* a per-tenant limit (alloy.tenant_max_series): back off and retry */
			*error_type = "too_many_requests";
			return 429;
		default:
			break;
	}
	switch (ERRCODE_TO_CATEGORY(sqlerrcode))
	{
		case ERRCODE_DATA_EXCEPTION:
		case ERRCODE_SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION:
			*error_type = "bad_data";
			return 400;
		case ERRCODE_INSUFFICIENT_RESOURCES:
		case ERRCODE_OPERATOR_INTERVENTION:
		case ERRCODE_TRANSACTION_ROLLBACK:
		case ERRCODE_CONNECTION_EXCEPTION:
			*error_type = "unavailable";
			return 503;
		default:
			*error_type = "internal";
			return 500;
	}
}

void
AlloyHttpAddHeader(AlloyHttpResponse *resp, const char *name, const char *value)
{
	if (resp->nheaders >= lengthof(resp->header_names))
		elog(ERROR, "too many alloy HTTP response headers");
	resp->header_names[resp->nheaders] = name;
	resp->header_values[resp->nheaders] = value;
	resp->nheaders++;
}
