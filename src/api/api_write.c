/*
 * api_write.c: POST /api/v1/write, the HTTP side of Prometheus remote write.
 *
 * ingest/ingest_write.c decodes and stores the request; this handler turns
 * its outcome into the answer a Prometheus sender expects: 204 once the
 * samples are durable, a one-line plain-text reason with 400, 413 or 415 for
 * requests it must not retry, 429 over the tenant's rate. The commit does
 * not wait for its WAL flush; the answer is held until the HTTP worker's
 * next group flush covers it, as synchronous_commit asks.
 */
#include "postgres.h"

#include "access/xact.h"

#include "api/api_int.h"
#include "httpd/httpd.h"
#include "ingest/ingest.h"

/* The status of a request ingest refused, as Prometheus's receiver answers it. */
static int
AlloyWriteRefusedStatus(AlloyIngestOutcome outcome)
{
	switch (outcome)
	{
		case ALLOY_INGEST_TOO_LARGE:
			return 413;
		case ALLOY_INGEST_UNSUPPORTED:
			return 415;
		case ALLOY_INGEST_RATE_LIMITED:
			return 429;
		default:
			return 400;
	}
}

static void
AlloyRemoteWriteHandler(AlloyHttpRequest *req, AlloyHttpResponse *resp)
{
	size_t		len;
	const char *body = AlloyHttpBody(req, &len);
	AlloyIngestResult res;

	AlloyIngestWrite(body, len,
					 AlloyHttpHeader(req, "Content-Type"),
					 AlloyHttpHeader(req, "Content-Encoding"),
					 AlloyHttpTenant(req), &res);
	resp->content_type = "text/plain; charset=utf-8";
	if (res.outcome == ALLOY_INGEST_RATE_LIMITED)
	{
		resp->status = 429;
		appendStringInfo(&resp->body,
						 "tenant \"%s\" is over its ingestion rate of %d samples per second (alloy.tenant_max_samples_per_second)\n",
						 AlloyHttpTenant(req) ? AlloyHttpTenant(req) : "default",
						 res.rate_limit);
		return;
	}
	if (res.outcome != ALLOY_INGEST_STORED)
	{
		/* like Prometheus's receiver: a one-line plain-text reason */
		resp->status = AlloyWriteRefusedStatus(res.outcome);
		appendStringInfo(&resp->body, "%s\n", res.message);
		return;
	}
	/* 2xx means durable as far as synchronous_commit asks */
	if (synchronous_commit > SYNCHRONOUS_COMMIT_OFF)
		AlloyHttpRespondAfterFlush(req, res.commit_lsn);

	resp->status = 204;
	if (res.version2)
	{
		AlloyHttpAddHeader(resp, "X-Prometheus-Remote-Write-Samples-Written",
						   psprintf(INT64_FORMAT, res.samples));
		/* histograms are counted as dropped, not stored yet */
		AlloyHttpAddHeader(resp, "X-Prometheus-Remote-Write-Histograms-Written", "0");
		/* as Prometheus: a duplicate of a stored exemplar counts as written */
		AlloyHttpAddHeader(resp, "X-Prometheus-Remote-Write-Exemplars-Written",
						   psprintf(INT64_FORMAT, res.exemplars_written));
	}
}

void
AlloyApiWriteRoutes(void)
{
	AlloyHttpRoute("/api/v1/write", ALLOY_ROUTE_POST | ALLOY_ROUTE_RAW_BODY,
				   "/api/v1/write", AlloyRemoteWriteHandler);
}
