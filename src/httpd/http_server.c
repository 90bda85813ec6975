/*
 * http_server.c: listening sockets and libmicrohttpd in external-epoll mode.
 *
 * libmicrohttpd does the HTTP/1.1 parsing, keep-alive, chunked bodies and
 * timeouts. It runs without threads of its own: each daemon exposes one epoll
 * descriptor that the worker puts into its WaitEventSet next to the latch, and
 * MHD_run() is called from the worker's main loop. So every handler runs in
 * the worker's only thread and may call PostgreSQL freely.
 *
 * We create the listening sockets ourselves (SO_REUSEPORT, so every HTTP worker
 * binds the same port and the kernel spreads connections over them) to report
 * bind failures clearly and to retry instead of exiting.
 *
 * Nothing may longjmp through libmicrohttpd's stack: the access callback
 * catches every ERROR and turns it into a response or a closed connection.
 */
#include "postgres.h"

#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <microhttpd.h>
#include <zlib.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/memutils.h"

#include "runtime/runtime.h"
#include "httpd/httpd_int.h"

#define ALLOY_HTTP_MAX_DAEMONS 8
#define ALLOY_HTTP_BACKLOG 1024

/* Settings defined by AlloyHttpInit. */
extern int	alloy_http_max_connections;
extern int	alloy_http_idle_timeout;

char	   *alloy_tls_cert_file = NULL;
char	   *alloy_tls_key_file = NULL;

/* PEM text of the TLS certificate and key, read once per worker. */
static char *alloy_tls_cert = NULL;
static char *alloy_tls_key = NULL;

static struct MHD_Daemon *alloy_daemons[ALLOY_HTTP_MAX_DAEMONS];
static int	alloy_ndaemons = 0;

/* Suspended requests whose answers wait for a WAL flush (see AlloyHttpRespondAfterFlush). */
static AlloyHttpRequest **alloy_pending = NULL;
static int	alloy_npending = 0;
static int	alloy_maxpending = 0;

/* Suspended query-class requests waiting for a slot (see http_admission.c). */
static AlloyHttpRequest **alloy_waiting = NULL;
static int	alloy_nwaiting = 0;
static int	alloy_maxwaiting = 0;

/* How often a worker with waiting requests looks for a free slot. */
#define ALLOY_ADMISSION_POLL_MS 5

static void
AlloyMhdLogger(void *cls, const char *fmt, va_list ap)
{
	char		buf[512];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	/* libmicrohttpd ends its messages with a newline */
	buf[strcspn(buf, "\n")] = '\0';
	elog(DEBUG1, "alloy http: %s", buf);
}

/* Open one listening socket for ai; -1 with errno set on failure. */
static int
AlloyHttpListenOn(struct addrinfo *ai)
{
	int			fd;
	int			one = 1;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
		(ai->ai_family == AF_INET6 &&
		 setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
		bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
		listen(fd, ALLOY_HTTP_BACKLOG) < 0 ||
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
	{
		int			save = errno;

		close(fd);
		errno = save;
		return -1;
	}
	return fd;
}

static enum MHD_Result AlloyHttpAccess(void *cls, struct MHD_Connection *connection,
									   const char *url, const char *method,
									   const char *version, const char *upload_data,
									   size_t *upload_data_size, void **req_cls);
static void AlloyHttpCompleted(void *cls, struct MHD_Connection *connection,
							   void **req_cls, enum MHD_RequestTerminationCode toe);

/* The whole content of a file (relative paths from the data directory), or NULL after logging. */
static char *
AlloyReadWholeFile(const char *path, int elevel)
{
	char	   *abs = is_absolute_path(path) ? pstrdup(path) : psprintf("%s/%s", DataDir, path);
	FILE	   *f = AllocateFile(abs, "r");
	StringInfoData buf;
	char		chunk[8192];
	size_t		n;
	MemoryContext old;

	if (f == NULL)
	{
		ereport(elevel,
				(errcode_for_file_access(),
				 errmsg("could not open alloy TLS file \"%s\": %m", abs)));
		return NULL;
	}
	old = MemoryContextSwitchTo(TopMemoryContext);
	initStringInfo(&buf);
	MemoryContextSwitchTo(old);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		appendBinaryStringInfo(&buf, chunk, n);
	FreeFile(f);
	return buf.data;
}

/*
 * Read the TLS certificate and key named by alloy.tls_cert_file and
 * alloy.tls_key_file, once. False after logging at elevel when TLS is asked
 * for but the files cannot be read: the worker then serves nothing rather
 * than falling back to plain HTTP.
 */
static bool
AlloyHttpLoadTls(int elevel)
{
	if (alloy_tls_cert_file == NULL || alloy_tls_cert_file[0] == '\0')
		return true;
	if (alloy_tls_key_file == NULL || alloy_tls_key_file[0] == '\0')
	{
		ereport(elevel, (errmsg("alloy.tls_cert_file is set but alloy.tls_key_file is not")));
		return false;
	}
	if (alloy_tls_cert == NULL)
		alloy_tls_cert = AlloyReadWholeFile(alloy_tls_cert_file, elevel);
	if (alloy_tls_key == NULL)
		alloy_tls_key = AlloyReadWholeFile(alloy_tls_key_file, elevel);
	return alloy_tls_cert != NULL && alloy_tls_key != NULL;
}

static bool
AlloyHttpStartDaemon(int fd, int family)
{
	struct MHD_Daemon *d;
	unsigned int flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;

	if (family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (alloy_tls_cert != NULL && alloy_tls_key != NULL)
		d = MHD_start_daemon(flags | MHD_USE_TLS, 0, NULL, NULL,
							 &AlloyHttpAccess, NULL,
							 MHD_OPTION_LISTEN_SOCKET, (MHD_socket) fd,
							 MHD_OPTION_HTTPS_MEM_CERT, alloy_tls_cert,
							 MHD_OPTION_HTTPS_MEM_KEY, alloy_tls_key,
							 MHD_OPTION_CONNECTION_LIMIT, (unsigned int) alloy_http_max_connections,
							 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) alloy_http_idle_timeout,
							 MHD_OPTION_NOTIFY_COMPLETED, &AlloyHttpCompleted, NULL,
							 MHD_OPTION_EXTERNAL_LOGGER, &AlloyMhdLogger, NULL,
							 MHD_OPTION_END);
	else
		d = MHD_start_daemon(flags, 0, NULL, NULL,
							 &AlloyHttpAccess, NULL,
							 MHD_OPTION_LISTEN_SOCKET, (MHD_socket) fd,
							 MHD_OPTION_CONNECTION_LIMIT, (unsigned int) alloy_http_max_connections,
							 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) alloy_http_idle_timeout,
							 MHD_OPTION_NOTIFY_COMPLETED, &AlloyHttpCompleted, NULL,
							 MHD_OPTION_EXTERNAL_LOGGER, &AlloyMhdLogger, NULL,
							 MHD_OPTION_END);
	if (d == NULL)
		return false;
	alloy_daemons[alloy_ndaemons++] = d;
	return true;
}

/*
 * Bind every address of alloy.listen_addresses. All or nothing: on any
 * failure everything opened is closed again, the reason is logged, and false
 * comes back so the worker retries later. Failures are reported at elevel,
 * so retries can stay quiet.
 */
bool
AlloyHttpServerStart(int elevel)
{
	char	   *list = pstrdup(alloy_listen_addresses);
	char	   *tok;
	char	   *save = NULL;
	char		port[16];

	if (!AlloyHttpLoadTls(elevel))
		return false;
	snprintf(port, sizeof(port), "%d", alloy_port);
	for (tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
	{
		struct addrinfo hints;
		struct addrinfo *res;
		struct addrinfo *ai;
		char	   *host = tok;
		int			rc;

		while (*host == ' ')
			host++;
		host[strcspn(host, " ")] = '\0';
		if (*host == '\0')
			continue;

		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_PASSIVE;
		rc = getaddrinfo(strcmp(host, "*") == 0 ? NULL : host, port, &hints, &res);
		if (rc != 0)
		{
			ereport(elevel,
					(errmsg("alloy could not resolve listen address \"%s\": %s", host, gai_strerror(rc)),
					 errhint("Check alloy.listen_addresses.")));
			AlloyHttpServerStop();
			return false;
		}
		for (ai = res; ai != NULL; ai = ai->ai_next)
		{
			int			fd;

			if (alloy_ndaemons >= ALLOY_HTTP_MAX_DAEMONS)
				break;
			fd = AlloyHttpListenOn(ai);
			if (fd < 0 || !AlloyHttpStartDaemon(fd, ai->ai_family))
			{
				ereport(elevel,
						(errcode_for_socket_access(),
						 errmsg("alloy could not listen on \"%s\" port %d: %m", host, alloy_port),
						 errhint("Another program may be using the port; set alloy.port or alloy.listen_addresses. alloy retries every few seconds.")));
				if (fd >= 0)
					close(fd);
				freeaddrinfo(res);
				AlloyHttpServerStop();
				return false;
			}
		}
		freeaddrinfo(res);
	}
	pfree(list);
	if (alloy_ndaemons == 0)
	{
		ereport(elevel, (errmsg("alloy.listen_addresses names no address to listen on")));
		return false;
	}
	return true;
}

void
AlloyHttpServerStop(void)
{
	for (int i = 0; i < alloy_ndaemons; i++)
	{
		const union MHD_DaemonInfo *info =
			MHD_get_daemon_info(alloy_daemons[i], MHD_DAEMON_INFO_LISTEN_FD);
		MHD_socket	fd = info ? info->listen_fd : MHD_INVALID_SOCKET;

		MHD_stop_daemon(alloy_daemons[i]);
		/* we own the listening socket we passed in */
		if (fd != MHD_INVALID_SOCKET)
			close(fd);
	}
	alloy_ndaemons = 0;
}

bool
AlloyHttpServerListening(void)
{
	return alloy_ndaemons > 0;
}

int
AlloyHttpServerFds(int *fds, int max)
{
	int			n = 0;

	for (int i = 0; i < alloy_ndaemons && n < max; i++)
	{
		const union MHD_DaemonInfo *info =
			MHD_get_daemon_info(alloy_daemons[i], MHD_DAEMON_INFO_EPOLL_FD);

		if (info)
			fds[n++] = info->epoll_fd;
	}
	return n;
}

/*
 * Resume the requests waiting for a query slot when one looks free or their
 * wait is over; the access callback then takes the slot or answers 503 (or
 * suspends them again if another worker was quicker).
 */
static void
AlloyHttpResumeWaiting(void)
{
	double		now;
	bool		avail;
	int			kept = 0;

	if (alloy_nwaiting == 0)
		return;
	now = AlloyHttpNow();
	avail = AlloyHttpAdmissionAvailable();
	for (int i = 0; i < alloy_nwaiting; i++)
	{
		AlloyHttpRequest *req = alloy_waiting[i];

		if (avail || now >= req->queue_deadline)
			MHD_resume_connection(req->connection);
		else
			alloy_waiting[kept++] = req;
	}
	alloy_nwaiting = kept;
}

void
AlloyHttpServerRun(void)
{
	AlloyHttpResumeWaiting();
	for (int i = 0; i < alloy_ndaemons; i++)
		MHD_run(alloy_daemons[i]);
}

/* Milliseconds until libmicrohttpd needs to run for its timeouts, or -1. */
long
AlloyHttpServerTimeoutMs(void)
{
	long		best = -1;

	for (int i = 0; i < alloy_ndaemons; i++)
	{
		MHD_UNSIGNED_LONG_LONG t;

		if (MHD_get_timeout(alloy_daemons[i], &t) == MHD_YES)
		{
			long		ms = t > LONG_MAX ? LONG_MAX : (long) t;

			if (best < 0 || ms < best)
				best = ms;
		}
	}
	/* waiting requests poll for a free slot (other workers do not wake us) */
	if (alloy_nwaiting > 0 && (best < 0 || best > ALLOY_ADMISSION_POLL_MS))
		best = ALLOY_ADMISSION_POLL_MS;
	return best;
}

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

/* Queue resp on the connection, adding the standard headers. */
static enum MHD_Result
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

static void
AlloyHttpResponseInit(AlloyHttpResponse *resp)
{
	memset(resp, 0, sizeof(*resp));
	resp->status = 200;
	initStringInfo(&resp->body);
}

/* Answer now, before or without running a handler (counted in AlloyHttpCompleted). */
static enum MHD_Result
AlloyHttpSendError(AlloyHttpRequest *req, int status, const char *type, const char *msg)
{
	AlloyHttpResponse resp;

	AlloyHttpResponseInit(&resp);
	AlloyHttpJsonError(&resp, status, type, msg);
	return AlloyHttpSend(req, &resp);
}

/* First call for a request: set up its state and check what the headers allow. */
static enum MHD_Result
AlloyHttpBegin(struct MHD_Connection *connection, const char *url, const char *method,
			   void **req_cls)
{
	MemoryContext cxt;
	AlloyHttpRequest *req;
	bool		method_ok;
	const char *clen;

	cxt = AllocSetContextCreate(TopMemoryContext, "alloy http request",
								ALLOCSET_DEFAULT_SIZES);
	req = MemoryContextAllocZero(cxt, sizeof(AlloyHttpRequest));
	req->context = cxt;
	req->connection = connection;
	req->started = AlloyHttpNow();
	req->method = MemoryContextStrdup(cxt, method);
	req->path = MemoryContextStrdup(cxt, url);
	req->route = AlloyHttpFindRoute(method, url, &method_ok);
	*req_cls = req;

	/* refuse a declared body that is too large before reading any of it, whatever the route */
	clen = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
									   MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (clen != NULL)
	{
		unsigned long long n = strtoull(clen, NULL, 10);

		if (n > (unsigned long long) alloy_max_request_bytes || n >= MaxAllocSize)
		{
			req->body_too_large = true;
			return AlloyHttpSendError(req, 413, "bad_data",
									  psprintf("request body of %llu bytes exceeds alloy.max_request_bytes (%d)",
											   n, alloy_max_request_bytes));
		}
		if (n > 0)
		{
			MemoryContext old = MemoryContextSwitchTo(cxt);

			req->body.data = palloc(n + 1);
			req->body.maxlen = n + 1;
			req->body.len = 0;
			req->body.data[0] = '\0';
			MemoryContextSwitchTo(old);
		}
	}
	if (req->body.data == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		initStringInfo(&req->body);
		MemoryContextSwitchTo(old);
	}

	if (req->route < 0)
		return AlloyHttpSendError(req, 404, "not_found",
								  psprintf("no endpoint %s", url));
	if (!method_ok)
		return AlloyHttpSendError(req, 405, "bad_data",
								  psprintf("method %s not allowed for %s", method, url));
	if (alloy_http_routes[req->route].flags & ALLOY_ROUTE_PREFIX)
		req->path_rest = req->path + strlen(alloy_http_routes[req->route].path);
	return MHD_YES;
}

/*
 * Take a query slot for req (see http_admission.c). False when it cannot run
 * now: it is then either suspended to wait for a slot (at most
 * alloy.http_queue_timeout) or answered 503, Prometheus's "unavailable".
 */
static bool
AlloyHttpAdmit(AlloyHttpRequest *req, enum MHD_Result *ret)
{
	double		now;

	*ret = MHD_YES;
	if (AlloyHttpAdmissionTryAcquire())
	{
		req->admitted = true;
		if (req->queued)
		{
			req->queued = false;
			AlloyHttpAdmissionWaitEnd(false);
		}
		return true;
	}

	now = AlloyHttpNow();
	if (!req->queued && alloy_http_queue_timeout > 0)
	{
		req->queued = true;
		req->queue_deadline = now + alloy_http_queue_timeout / 1000.0;
		AlloyHttpAdmissionWaitBegin();
	}
	if (req->queued && now < req->queue_deadline)
	{
		if (alloy_nwaiting == alloy_maxwaiting)
		{
			alloy_maxwaiting = alloy_maxwaiting ? alloy_maxwaiting * 2 : 16;
			alloy_waiting = alloy_waiting ?
				repalloc(alloy_waiting, sizeof(AlloyHttpRequest *) * alloy_maxwaiting) :
				MemoryContextAlloc(TopMemoryContext, sizeof(AlloyHttpRequest *) * alloy_maxwaiting);
		}
		alloy_waiting[alloy_nwaiting++] = req;
		MHD_suspend_connection(req->connection);
		return false;
	}

	if (req->queued)
	{
		req->queued = false;
		AlloyHttpAdmissionWaitEnd(true);
	}
	else
		AlloyHttpAdmissionCountRejected();
	{
		AlloyHttpResponse resp;
		MemoryContext old = MemoryContextSwitchTo(req->context);

		AlloyHttpResponseInit(&resp);
		AlloyHttpJsonError(&resp, 503, "unavailable",
						   psprintf("too many concurrent queries: all %d slots of alloy.http_max_concurrent_queries stayed busy for alloy.http_queue_timeout (%d ms)",
									AlloyHttpQueryLimit(), alloy_http_queue_timeout));
		AlloyHttpAddHeader(&resp, "Retry-After", "1");
		*ret = AlloyHttpSend(req, &resp);
		MemoryContextSwitchTo(old);
	}
	return false;
}

static enum MHD_Result
AlloyHttpAccessInner(struct MHD_Connection *connection, const char *url,
					 const char *method, const char *upload_data,
					 size_t *upload_data_size, void **req_cls)
{
	AlloyHttpRequest *req = *req_cls;
	AlloyHttpResponse resp;
	MemoryContext old;
	enum MHD_Result ret;

	if (req == NULL)
		return AlloyHttpBegin(connection, url, method, req_cls);

	/* resumed after the WAL flush it waited for: send the answer now */
	if (req->deferred != NULL)
	{
		AlloyHttpResponse *r = req->deferred;

		req->deferred = NULL;
		return AlloyHttpSend(req, r);
	}

	if (*upload_data_size > 0)
	{
		size_t		n = *upload_data_size;

		*upload_data_size = 0;
		if (req->body_too_large)
			return MHD_YES;
		if ((size_t) req->body.len + n > (size_t) alloy_max_request_bytes ||
			(size_t) req->body.len + n >= MaxAllocSize - 1)
		{
			req->body_too_large = true;
			return MHD_YES;
		}
		old = MemoryContextSwitchTo(req->context);
		appendBinaryStringInfo(&req->body, upload_data, n);
		MemoryContextSwitchTo(old);
		return MHD_YES;
	}

	/* the whole body is here: answer */
	if (req->body_too_large)
		return AlloyHttpSendError(req, 413, "bad_data",
								  psprintf("request body exceeds alloy.max_request_bytes (%d)",
										   alloy_max_request_bytes));

	if (!req->admitted && AlloyHttpRouteIsQuery(req->route) && !AlloyHttpAdmit(req, &ret))
		return ret;				/* suspended until a slot frees, or answered 503 */

	old = MemoryContextSwitchTo(req->context);
	AlloyHttpResponseInit(&resp);
	req->wait_lsn = 0;
	AlloyHttpDispatch(req, &resp);
	MemoryContextSwitchTo(req->context);
	if (req->wait_lsn != 0 && resp.status < 300)
	{
		/* durable answers wait for the worker's next group flush */
		if (alloy_npending == alloy_maxpending)
		{
			alloy_maxpending = alloy_maxpending ? alloy_maxpending * 2 : 64;
			alloy_pending = alloy_pending ?
				repalloc(alloy_pending, sizeof(AlloyHttpRequest *) * alloy_maxpending) :
				MemoryContextAlloc(TopMemoryContext, sizeof(AlloyHttpRequest *) * alloy_maxpending);
		}
		req->deferred = palloc(sizeof(AlloyHttpResponse));
		*req->deferred = resp;
		alloy_pending[alloy_npending++] = req;
		MHD_suspend_connection(connection);
		MemoryContextSwitchTo(old);
		return MHD_YES;
	}
	ret = AlloyHttpSend(req, &resp);
	MemoryContextSwitchTo(old);
	return ret;
}

/*
 * The libmicrohttpd access callback: the error boundary. Errors from handlers
 * are already answered by AlloyHttpDispatch; anything that still escapes here
 * (out of memory while reading a body, say) closes the connection.
 */
static enum MHD_Result
AlloyHttpAccess(void *cls, struct MHD_Connection *connection, const char *url,
				const char *method, const char *version, const char *upload_data,
				size_t *upload_data_size, void **req_cls)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	volatile enum MHD_Result ret = MHD_NO;

	PG_TRY();
	{
		ret = AlloyHttpAccessInner(connection, url, method, upload_data,
								   upload_data_size, req_cls);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		EmitErrorReport();
		FlushErrorState();
		AbortOutOfAnyTransaction();
		ret = MHD_NO;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcxt);
	return ret;
}

static void
AlloyHttpCompleted(void *cls, struct MHD_Connection *connection, void **req_cls,
				   enum MHD_RequestTerminationCode toe)
{
	AlloyHttpRequest *req = *req_cls;
	const union MHD_ConnectionInfo *info;
	int			status = 0;

	if (req == NULL)
		return;
	info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_HTTP_STATUS);
	if (info)
		status = info->http_status;
	/* the slot is held until the answer is out, or the client gone */
	if (req->admitted)
	{
		req->admitted = false;
		AlloyHttpAdmissionRelease();
	}
	if (req->queued)
	{
		/* gone while waiting (the daemon stopped): forget it */
		int			kept = 0;

		for (int i = 0; i < alloy_nwaiting; i++)
			if (alloy_waiting[i] != req)
				alloy_waiting[kept++] = alloy_waiting[i];
		alloy_nwaiting = kept;
		req->queued = false;
		AlloyHttpAdmissionWaitEnd(false);
	}
	AlloyMetricsCountRequest(req->route, status, AlloyHttpNow() - req->started);
	*req_cls = NULL;
	MemoryContextDelete(req->context);
}

void
AlloyHttpRespondAfterFlush(AlloyHttpRequest *req, uint64 lsn)
{
	req->wait_lsn = lsn;
}

/*
 * Send the answers whose WAL is durable now. The WAL flusher process does
 * the flushing (see wal_flusher.c), so this worker goes on serving while an
 * fsync runs; without a flusher the worker flushes once for every answer
 * waiting. Either way one fsync covers many requests.
 */
void
AlloyHttpServerFlushPending(void)
{
	XLogRecPtr	upto = InvalidXLogRecPtr;
	uint64		durable;
	int			kept = 0;
	int			resumed = 0;

	if (alloy_npending == 0)
		return;
	for (int i = 0; i < alloy_npending; i++)
		if (alloy_pending[i]->wait_lsn > upto)
			upto = alloy_pending[i]->wait_lsn;

	durable = AlloyWalDurableLsn();
	if (durable < upto && !AlloyWalRequestFlush(upto))
	{
		AlloyWalMakeDurable(upto);
		durable = upto;
	}

	for (int i = 0; i < alloy_npending; i++)
	{
		if (alloy_pending[i]->wait_lsn <= durable)
		{
			MHD_resume_connection(alloy_pending[i]->connection);
			resumed++;
		}
		else
			alloy_pending[kept++] = alloy_pending[i];
	}
	alloy_npending = kept;
	/* hand the resumed connections their answers now */
	if (resumed > 0)
		AlloyHttpServerRun();
}

/* ---- request accessors (http.h) ---- */

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
