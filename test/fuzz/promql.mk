# The PromQL parser reads queries from any HTTP client.
# The engine's files are the ones src/promql/objs.mk lists (PROMQL_OBJS).
include $(TOP)/src/promql/objs.mk
PROMQL_FUZZ_SRCS = $(TOP)/src/base/arena.c $(TOP)/src/base/labels.c $(TOP)/src/base/regex.c \
	$(addprefix $(TOP)/src/promql/,$(PROMQL_OBJS:.o=.c))

FUZZERS += fuzz_promql_parse

$(BUILD)/fuzz_promql_parse: fuzz_promql_parse.c $(PROMQL_FUZZ_SRCS) $(wildcard $(TOP)/src/promql/*.h) | $(BUILD)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ fuzz_promql_parse.c $(PROMQL_FUZZ_SRCS) -lm -lpcre2-8
