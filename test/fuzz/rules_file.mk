# Rule files arrive from the ruler API's clients (src/rules, RULES_FILE_SRCS),
# with the PromQL parser for their expressions and libyaml underneath.
include $(TOP)/src/rules/objs.mk
include $(TOP)/src/promql/objs.mk
RULES_FILE_FUZZ_SRCS = $(addprefix $(TOP)/,$(RULES_FILE_SRCS) $(RULES_TEMPLATE_SRCS)) \
	$(TOP)/src/base/arena.c $(TOP)/src/base/labels.c $(TOP)/src/base/regex.c \
	$(addprefix $(TOP)/src/promql/,$(PROMQL_OBJS:.o=.c))

FUZZERS += fuzz_rules_file

$(BUILD)/fuzz_rules_file: fuzz_rules_file.c $(RULES_FILE_FUZZ_SRCS) $(TOP)/src/rules/rules.h | $(BUILD)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ fuzz_rules_file.c $(RULES_FILE_FUZZ_SRCS) -lm -lpcre2-8 -lyaml
