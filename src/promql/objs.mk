# src/promql: the PromQL engine, plain C (no PostgreSQL calls), so that unit
# tests, the conformance harness and fuzzers build it standalone.
ALLOY_OBJS += src/promql/promql_labels.o src/promql/promql_parse.o \
	src/promql/promql_eval.o src/promql/promql_functions.o
