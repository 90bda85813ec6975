# Objects and regression tests of src/promql (see the top-level Makefile).
# The engine itself is plain C (no PostgreSQL calls) so that unit tests and
# fuzzers build it standalone; only promql_sql.c talks to the server.
PROMQL_ENGINE_OBJS = src/promql/promql_arena.o src/promql/promql_regex.o \
	src/promql/promql_labels.o src/promql/promql_parse.o \
	src/promql/promql_eval.o src/promql/promql_functions.o
PROMQL_OBJS += $(PROMQL_ENGINE_OBJS)
PROMQL_OBJS += src/promql/promql_pg.o src/promql/promql_sql.o
