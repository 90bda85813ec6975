/*
 * http_request.c: what a handler reads of its request and how it shapes the
 * way its answer goes out (streamed, or held until the WAL is durable).
 *
 * Arguments are gathered on first use: the query string's and, for a POST
 * form on a route that does not ask for its raw body, the form's.
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "httpd/httpd_int.h"

const char *
AlloyHttpMethod(AlloyHttpRequest *req)
{
	return req->method;
}

const char *
AlloyHttpPath(AlloyHttpRequest *req)
{
	return req->path;
}

const char *
AlloyHttpPathRest(AlloyHttpRequest *req)
{
	return req->path_rest ? req->path_rest : "";
}

const char *
AlloyHttpHeader(AlloyHttpRequest *req, const char *name)
{
	return MHD_lookup_connection_value(req->connection, MHD_HEADER_KIND, name);
}

const char *
AlloyHttpBody(AlloyHttpRequest *req, size_t *len)
{
	*len = req->body.len;
	return req->body.data;
}

const char *
AlloyHttpTenant(AlloyHttpRequest *req)
{
	const char *t;

	if (req->auth_tenant != NULL)
		return req->auth_tenant[0] ? req->auth_tenant : NULL;
	t = AlloyHttpHeader(req, "X-Scope-OrgID");
	return (t && *t) ? t : NULL;
}

static void
AlloyHttpAddArg(AlloyHttpRequest *req, const char *name, const char *value)
{
	if (req->nargs == req->maxargs)
	{
		req->maxargs = req->maxargs ? req->maxargs * 2 : 16;
		req->args = req->args ?
			repalloc(req->args, req->maxargs * sizeof(AlloyHttpArgPair)) :
			palloc(req->maxargs * sizeof(AlloyHttpArgPair));
	}
	req->args[req->nargs].name = name;
	req->args[req->nargs].value = value;
	req->nargs++;
}

static enum MHD_Result
AlloyHttpCollectArg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	AlloyHttpRequest *req = cls;

	AlloyHttpAddArg(req, pstrdup(key), pstrdup(value ? value : ""));
	return MHD_YES;
}

static int
AlloyHexValue(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode one application/x-www-form-urlencoded component of len bytes. */
static char *
AlloyFormDecode(const char *s, size_t len)
{
	char	   *out = palloc(len + 1);
	size_t		o = 0;

	for (size_t i = 0; i < len; i++)
	{
		if (s[i] == '+')
			out[o++] = ' ';
		else if (s[i] == '%' && i + 2 < len &&
				 AlloyHexValue(s[i + 1]) >= 0 && AlloyHexValue(s[i + 2]) >= 0)
		{
			out[o++] = (char) (AlloyHexValue(s[i + 1]) * 16 + AlloyHexValue(s[i + 2]));
			i += 2;
		}
		else
			out[o++] = s[i];
	}
	out[o] = '\0';
	return out;
}

/* Gather query-string arguments and, for form posts, the body's. */
static void
AlloyHttpParseArgs(AlloyHttpRequest *req)
{
	const char *ctype;

	if (req->args_parsed)
		return;
	req->args_parsed = true;
	MHD_get_connection_values(req->connection, MHD_GET_ARGUMENT_KIND,
							  &AlloyHttpCollectArg, req);

	ctype = AlloyHttpHeader(req, MHD_HTTP_HEADER_CONTENT_TYPE);
	if (strcmp(req->method, "POST") == 0 && req->body.len > 0 &&
		!(alloy_http_routes[req->route].flags & ALLOY_ROUTE_RAW_BODY) &&
		ctype != NULL &&
		pg_strncasecmp(ctype, "application/x-www-form-urlencoded", 33) == 0)
	{
		const char *p = req->body.data;
		const char *end = p + req->body.len;

		while (p < end)
		{
			const char *amp = memchr(p, '&', end - p);
			const char *stop = amp ? amp : end;
			const char *eq = memchr(p, '=', stop - p);

			if (stop > p)
			{
				if (eq)
					AlloyHttpAddArg(req, AlloyFormDecode(p, eq - p),
									AlloyFormDecode(eq + 1, stop - eq - 1));
				else
					AlloyHttpAddArg(req, AlloyFormDecode(p, stop - p), "");
			}
			p = stop + 1;
		}
	}
}

const char *
AlloyHttpArg(AlloyHttpRequest *req, const char *name)
{
	AlloyHttpParseArgs(req);
	for (int i = 0; i < req->nargs; i++)
		if (strcmp(req->args[i].name, name) == 0)
			return req->args[i].value;
	return NULL;
}

int
AlloyHttpArgAll(AlloyHttpRequest *req, const char *name, const char ***values)
{
	int			n = 0;

	AlloyHttpParseArgs(req);
	*values = palloc(sizeof(char *) * (req->nargs + 1));
	for (int i = 0; i < req->nargs; i++)
		if (strcmp(req->args[i].name, name) == 0)
			(*values)[n++] = req->args[i].value;
	return n;
}

void
AlloyHttpRespondAfterFlush(AlloyHttpRequest *req, uint64 lsn)
{
	req->wait_lsn = lsn;
}

bool
AlloyHttpStreamBody(AlloyHttpRequest *req, AlloyHttpResponse *resp,
					AlloyHttpStreamFill fill, void *state)
{
	resp->status = 200;
	req->stream_fill = NULL;
	req->stream_state = NULL;
	while (resp->body.len < ALLOY_HTTP_STREAM_CHUNK)
		if (fill(state, &resp->body))
			return false;		/* small: sent as one buffer, as any answer */
	req->stream_fill = fill;
	req->stream_state = state;
	return true;
}

void
AlloyHttpStreamCancel(AlloyHttpRequest *req)
{
	req->stream_fill = NULL;
}
