# src/httpd: the HTTP core (workers, server, router, auth, admission, WAL flusher).
ALLOY_OBJS += src/httpd/http_settings.o src/httpd/http_router.o src/httpd/http_response.o \
	src/httpd/bgw_stats.o src/httpd/http_request.o src/httpd/http_metrics.o \
	src/httpd/http_admission.o src/httpd/http_status.o src/httpd/wal_flusher.o \
	src/httpd/http_auth.o src/httpd/http_dispatch.o src/httpd/http_send.o \
	src/httpd/http_queue.o src/httpd/http_connection.o src/httpd/http_server.o \
	src/httpd/http_worker.o
