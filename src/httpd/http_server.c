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
 * (http_connection.c) catches every ERROR and turns it into a response or a
 * closed connection.
 */
#include "postgres.h"

#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/memutils.h"

#include "runtime/runtime.h"
#include "httpd/httpd_int.h"

#define ALLOY_HTTP_MAX_DAEMONS 8
#define ALLOY_HTTP_BACKLOG 1024

/* PEM text of the TLS certificate and key, read once per worker. */
static char *alloy_tls_cert = NULL;
static char *alloy_tls_key = NULL;

static struct MHD_Daemon *alloy_daemons[ALLOY_HTTP_MAX_DAEMONS];
static int	alloy_ndaemons = 0;

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
	if (AlloyHttpAnyWaiting() && (best < 0 || best > ALLOY_ADMISSION_POLL_MS))
		best = ALLOY_ADMISSION_POLL_MS;
	return best;
}
