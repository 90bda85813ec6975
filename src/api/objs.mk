# src/api: the endpoints: HTTP API handlers and SQL-callable functions.
ALLOY_OBJS += src/api/api_init.o src/api/api_write.o src/api/api_params.o src/api/api_query.o src/api/api_series.o \
	src/api/api_read.o src/api/api_exemplars.o \
	src/api/sql_args.o src/api/sql_write.o src/api/sql_series.o src/api/sql_labels.o \
	src/api/sql_promql.o src/api/sql_store.o src/api/sql_rules.o
