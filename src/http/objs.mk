# Objects and regression tests of src/http (see the top-level Makefile).
HTTP_OBJS += src/http/http_worker.o src/http/http_server.o src/http/http_router.o \
	src/http/http_status.o src/http/metrics.o src/http/json.o \
	src/http/api_params.o src/http/api_query.o src/http/api_series.o \
	src/http/wal_flusher.o src/http/http_auth.o src/http/api_read.o src/http/api_exemplars.o \
	src/http/http_admission.o
