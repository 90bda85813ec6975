# src/promql: the PromQL engine, plain C (no PostgreSQL calls), so that unit
# tests, the conformance harness and fuzzers build it standalone.  Listed
# bottom up: labels and the function table, the parser's files, the value
# helpers, the node evaluators and functions, the evaluator.
PROMQL_OBJS = promql_labels.o promql_func_table.o \
	promql_lex.o promql_literal.o promql_print.o promql_check.o promql_parse.o \
	promql_value.o promql_plan.o promql_select.o promql_binop.o promql_aggr.o \
	promql_func_math.o promql_func_range.o promql_func_hist.o promql_func_sort.o \
	promql_func_label.o promql_func_call.o promql_eval.o
ALLOY_OBJS += $(addprefix src/promql/,$(PROMQL_OBJS))
