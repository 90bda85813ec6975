# The PromQL parser reads queries from any HTTP client.
PROMQL_FUZZ_SRCS = $(TOP)/src/base/arena.c $(TOP)/src/base/labels.c $(TOP)/src/base/regex.c \
	$(addprefix $(TOP)/src/promql/,promql_labels.c \
	promql_parse.c promql_eval.c promql_functions.c)

FUZZERS += fuzz_promql_parse

$(BUILD)/fuzz_promql_parse: fuzz_promql_parse.c $(PROMQL_FUZZ_SRCS) $(wildcard $(TOP)/src/promql/*.h) | $(BUILD)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ fuzz_promql_parse.c $(PROMQL_FUZZ_SRCS) -lm -lpcre2-8
