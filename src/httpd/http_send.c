/*
 * http_send.c: writing an answer onto its connection.
 *
 * An AlloyHttpResponse becomes a libmicrohttpd response here: gzip when the
 * client takes it and the body is worth it, the standard headers, and for
 * a streamed body (AlloyHttpStreamBody) a content reader that asks the
 * handler's fill function for one piece at a time while the client reads.
 */
#include "postgres.h"

#include <zlib.h>

#include "utils/memutils.h"

#include "httpd/httpd_int.h"

/* Whether the client takes gzip (Accept-Encoding lists it without q=0). */
static bool
AlloyHttpAcceptsGzip(struct MHD_Connection *connection)
{
	const char *ae = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
												 MHD_HTTP_HEADER_ACCEPT_ENCODING);
	const char *g;

	if (ae == NULL || (g = strstr(ae, "gzip")) == NULL)
		return false;
	if (strncmp(g + 4, ";q=0", 4) == 0)
	{
		/* q=0, q=0.0, q=0.000 refuse it; q=0.5 accepts it */
		const char *q = g + 8;

		if (*q != '.')
			return false;
		for (q++; *q == '0'; q++)
			;
		return *q >= '1' && *q <= '9';
	}
	return true;
}

/*
 * gzip a body (fastest level: the API's JSON shrinks 10-20x even so, and
 * the worker's CPU is better spent evaluating). NULL if it did not pay off.
 */
static char *
AlloyHttpGzip(const char *data, size_t len, size_t *outlen)
{
	z_stream	zs;
	char	   *out;
	uLong		bound;

	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return NULL;
	bound = deflateBound(&zs, len);
	out = MemoryContextAllocHuge(CurrentMemoryContext, bound);
	zs.next_in = (Bytef *) data;
	zs.avail_in = len;
	zs.next_out = (Bytef *) out;
	zs.avail_out = bound;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END || zs.total_out >= len)
	{
		deflateEnd(&zs);
		return NULL;
	}
	*outlen = zs.total_out;
	deflateEnd(&zs);
	return out;
}

#define ALLOY_GZIP_MIN_BYTES 1024

/*
 * A body streamed from an AlloyHttpStreamFill while the client reads it.
 * libmicrohttpd asks for bytes through AlloyHttpStreamRead; each time the
 * bytes ready run out, the fill writes the next piece of JSON (about
 * ALLOY_HTTP_STREAM_CHUNK bytes) and, for gzip, that piece is deflated at
 * once. So what the body costs in memory is one piece, its deflated form and
 * zlib's state (about 256kB at level 1), whatever the body's size. The struct
 * lives in its own context, freed by libmicrohttpd's free callback, which may
 * run after the request's completion callback has deleted the request's
 * context; the fill's state lives in the request's context and the fill is
 * never called after completion.
 */
typedef struct AlloyHttpStream
{
	MemoryContext cxt;			/* this struct and its buffers */
	MemoryContext scratch;		/* CurrentMemoryContext of the fill, reset after each call */
	AlloyHttpStreamFill fill;
	void	   *state;
	StringInfoData json;		/* the latest piece of the body */
	StringInfoData out;			/* bytes ready to send: that piece or its deflated form */
	size_t		off;			/* bytes of out already handed out */
	bool		filled;			/* the fill wrote its last piece */
	bool		finished;		/* out holds the last bytes */
	bool		gzip;
	bool		zinit;
	z_stream	zs;
} AlloyHttpStream;

/* Deflate len bytes into st->out (appending); last finishes the gzip stream. */
static void
AlloyHttpStreamDeflate(AlloyHttpStream *st, const char *data, size_t len, bool last)
{
	st->zs.next_in = (Bytef *) data;
	st->zs.avail_in = len;
	for (;;)
	{
		int			rc;

		if (st->out.maxlen - st->out.len < 16384)
			enlargeStringInfo(&st->out, ALLOY_HTTP_STREAM_CHUNK);
		st->zs.next_out = (Bytef *) st->out.data + st->out.len;
		st->zs.avail_out = st->out.maxlen - st->out.len - 1;
		rc = deflate(&st->zs, last ? Z_FINISH : Z_NO_FLUSH);
		st->out.len = (char *) st->zs.next_out - st->out.data;
		if (rc == Z_STREAM_END)
		{
			st->finished = true;
			return;
		}
		if (rc != Z_OK && rc != Z_BUF_ERROR)
			elog(ERROR, "deflate failed with code %d", rc);
		/* without Z_FINISH, done once every input byte is taken and room is left */
		if (!last && st->zs.avail_in == 0 && st->zs.avail_out > 0)
			return;
	}
}

/* Refill st->out with the next bytes of the body. */
static void
AlloyHttpStreamProduce(AlloyHttpStream *st)
{
	resetStringInfo(&st->out);
	st->off = 0;
	if (!st->filled)
	{
		MemoryContext old = MemoryContextSwitchTo(st->scratch);

		resetStringInfo(&st->json);
		st->filled = st->fill(st->state, &st->json);
		MemoryContextSwitchTo(old);
		MemoryContextReset(st->scratch);
	}
	if (st->gzip)
		AlloyHttpStreamDeflate(st, st->json.data, st->json.len, st->filled);
	else
	{
		StringInfoData tmp = st->out;

		/* hand the piece out as it is: swap the buffers instead of copying */
		st->out = st->json;
		st->json = tmp;
		st->finished = st->filled;
	}
}

/* libmicrohttpd's content reader: the error boundary of the fill. */
static ssize_t
AlloyHttpStreamRead(void *cls, uint64_t pos, char *buf, size_t max)
{
	AlloyHttpStream *st = cls;
	MemoryContext oldcxt = CurrentMemoryContext;
	volatile ssize_t ret = MHD_CONTENT_READER_END_WITH_ERROR;

	PG_TRY();
	{
		while (st->off >= (size_t) st->out.len && !st->finished)
			AlloyHttpStreamProduce(st);
		if (st->off >= (size_t) st->out.len)
			ret = MHD_CONTENT_READER_END_OF_STREAM;
		else
		{
			size_t		n = Min(max, (size_t) st->out.len - st->off);

			memcpy(buf, st->out.data + st->off, n);
			st->off += n;
			ret = (ssize_t) n;
		}
	}
	PG_CATCH();
	{
		/* the status line is out already: all we can do is cut the body short */
		MemoryContextSwitchTo(oldcxt);
		EmitErrorReport();
		FlushErrorState();
		ret = MHD_CONTENT_READER_END_WITH_ERROR;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcxt);
	return ret;
}

static void
AlloyHttpStreamFree(void *cls)
{
	AlloyHttpStream *st = cls;

	if (st->zinit)
		deflateEnd(&st->zs);
	MemoryContextDelete(st->cxt);
}

/*
 * The libmicrohttpd response of a streamed body whose first piece is in
 * resp->body (see AlloyHttpStreamBody).
 */
static struct MHD_Response *
AlloyHttpStreamResponse(AlloyHttpRequest *req, AlloyHttpResponse *resp, bool gzip)
{
	MemoryContext cxt;
	MemoryContext old;
	AlloyHttpStream *st;
	struct MHD_Response *r;

	/* under the request until libmicrohttpd owns it, so an error frees it */
	cxt = AllocSetContextCreate(req->context, "alloy http stream", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	st = palloc0(sizeof(AlloyHttpStream));
	st->cxt = cxt;
	st->scratch = AllocSetContextCreate(cxt, "alloy http stream fill", ALLOCSET_DEFAULT_SIZES);
	st->fill = req->stream_fill;
	st->state = req->stream_state;
	initStringInfo(&st->json);
	initStringInfo(&st->out);
	if (gzip && deflateInit2(&st->zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK)
	{
		st->gzip = true;
		st->zinit = true;
		resp->content_encoding = "gzip";
		AlloyHttpStreamDeflate(st, resp->body.data, resp->body.len, false);
	}
	else
		appendBinaryStringInfo(&st->out, resp->body.data, resp->body.len);
	MemoryContextSwitchTo(old);

	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, ALLOY_HTTP_STREAM_CHUNK,
										  &AlloyHttpStreamRead, st, &AlloyHttpStreamFree);
	if (r == NULL)
	{
		if (st->zinit)
			deflateEnd(&st->zs);
		MemoryContextDelete(cxt);
		return NULL;
	}
	MemoryContextSetParent(cxt, TopMemoryContext);
	return r;
}

/* Queue resp on the connection, adding the standard headers. */
enum MHD_Result
AlloyHttpSend(AlloyHttpRequest *req, AlloyHttpResponse *resp)
{
	struct MHD_Connection *connection = req->connection;
	struct MHD_Response *r;
	enum MHD_Result ret;
	char	   *body = resp->body.data;
	size_t		len = resp->body.len;

	if (req->stream_fill != NULL)
	{
		r = AlloyHttpStreamResponse(req, resp,
									resp->content_encoding == NULL &&
									AlloyHttpAcceptsGzip(connection));
		req->stream_fill = NULL;
		if (r == NULL)
			return MHD_NO;
	}
	else
	{
		if (resp->content_encoding == NULL && len >= ALLOY_GZIP_MIN_BYTES &&
			AlloyHttpAcceptsGzip(connection))
		{
			size_t		zlen;
			char	   *z = AlloyHttpGzip(body, len, &zlen);

			if (z != NULL)
			{
				body = z;
				len = zlen;
				resp->content_encoding = "gzip";
			}
		}
		r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_COPY);
		if (r == NULL)
			return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
							resp->content_type ? resp->content_type : "application/json");
	if (resp->content_encoding)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, resp->content_encoding);
	for (int i = 0; i < resp->nheaders; i++)
		MHD_add_response_header(r, resp->header_names[i], resp->header_values[i]);
	MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT_ENCODING);
	ret = MHD_queue_response(connection, resp->status, r);
	MHD_destroy_response(r);
	return ret;
}

/* An empty 200 answer, its body in CurrentMemoryContext. */
void
AlloyHttpResponseInit(AlloyHttpResponse *resp)
{
	memset(resp, 0, sizeof(*resp));
	resp->status = 200;
	initStringInfo(&resp->body);
}

/* Answer now, before or without running a handler (counted in AlloyHttpCompleted). */
enum MHD_Result
AlloyHttpSendError(AlloyHttpRequest *req, int status, const char *type, const char *msg)
{
	AlloyHttpResponse resp;

	AlloyHttpResponseInit(&resp);
	AlloyHttpJsonError(&resp, status, type, msg);
	return AlloyHttpSend(req, &resp);
}
