# Rule templates come from rule files: parse and expand any bytes.
# The engine's files are the ones src/rules/objs.mk lists (RULES_TEMPLATE_SRCS).
include $(TOP)/src/rules/objs.mk
RULES_TMPL_FUZZ_SRCS = $(TOP)/src/base/arena.c $(TOP)/src/base/labels.c $(TOP)/src/base/regex.c \
	$(addprefix $(TOP)/,$(RULES_TEMPLATE_SRCS))

FUZZERS += fuzz_rules_template

$(BUILD)/fuzz_rules_template: fuzz_rules_template.c $(RULES_TMPL_FUZZ_SRCS) $(wildcard $(TOP)/src/rules/*.h) | $(BUILD)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ fuzz_rules_template.c $(RULES_TMPL_FUZZ_SRCS) -lm -lpcre2-8
