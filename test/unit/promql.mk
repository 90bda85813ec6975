# PromQL engine: regex, parser and evaluator unit tests, plus the conformance
# harness over Prometheus's own test scripts when they are present.
# The engine's files are the ones src/promql/objs.mk lists (PROMQL_OBJS).
PROMQL_SRC = $(TOP)/src/promql
include $(PROMQL_SRC)/objs.mk
PROMQL_ENGINE = $(TOP)/src/base/arena.c $(TOP)/src/base/labels.c $(TOP)/src/base/regex.c \
	$(addprefix $(PROMQL_SRC)/,$(PROMQL_OBJS:.o=.c))
PROMQL_HDRS = $(wildcard $(PROMQL_SRC)/*.h) $(TOP)/src/base/base.h
PROMQL_TESTS_V242 ?= $(TOP)/../shared/promql-tests/v2.42

UNIT_TESTS += test_promql_regex test_promql_parse test_promql_eval
ifneq ($(wildcard $(PROMQL_TESTS_V242)),)
UNIT_TESTS += promql_conformance
endif

$(BUILD)/test_promql_regex: test_promql_regex.c $(PROMQL_ENGINE) $(PROMQL_HDRS) | $(BUILD)
	$(CC) $(CFLAGS) -o $@ test_promql_regex.c $(PROMQL_ENGINE) $(LDLIBS) -lpcre2-8

$(BUILD)/test_promql_parse: test_promql_parse.c $(PROMQL_ENGINE) $(PROMQL_HDRS) | $(BUILD)
	$(CC) $(CFLAGS) -o $@ test_promql_parse.c $(PROMQL_ENGINE) $(LDLIBS) -lpcre2-8

$(BUILD)/test_promql_eval: test_promql_eval.c $(PROMQL_ENGINE) $(PROMQL_HDRS) | $(BUILD)
	$(CC) $(CFLAGS) -DALLOY_ARENA_CLOBBER -o $@ test_promql_eval.c $(PROMQL_ENGINE) $(LDLIBS) -lpcre2-8

$(BUILD)/promql_harness: $(TOP)/test/promql/promql_harness.c $(PROMQL_ENGINE) $(PROMQL_HDRS) | $(BUILD)
	$(CC) $(CFLAGS) -DALLOY_ARENA_CLOBBER -o $@ $(TOP)/test/promql/promql_harness.c $(PROMQL_ENGINE) $(LDLIBS) -lpcre2-8

# The harness run as a unit test: fails only on failures not listed in
# test/promql/known-failures.txt.
$(BUILD)/promql_conformance: $(BUILD)/promql_harness | $(BUILD)
	printf '#!/bin/sh\nexec %s --known-failures %s %s\n' '$(abspath $(BUILD))/promql_harness' \
		'$(TOP)/test/promql/known-failures.txt' '$(PROMQL_TESTS_V242)' > $@
	chmod +x $@
