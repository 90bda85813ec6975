# Objects and regression tests of src/promql (see the top-level Makefile).
PROMQL_OBJS +=
