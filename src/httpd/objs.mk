# src/httpd: the HTTP core (workers, server, router, auth, admission, WAL flusher).
ALLOY_OBJS += src/httpd/http_worker.o src/httpd/http_server.o src/httpd/http_router.o \
	src/httpd/http_status.o src/httpd/wal_flusher.o src/httpd/http_auth.o \
	src/httpd/http_admission.o
