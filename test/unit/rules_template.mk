# Rule templates (src/rules/tmpl_*.c): cases confirmed with promtool, refusals,
# execution errors and work bounds.  The engine's files are the ones
# src/rules/objs.mk lists (RULES_TEMPLATE_SRCS).
include $(TOP)/src/rules/objs.mk
RULES_TMPL_ENGINE = $(TOP)/src/base/arena.c $(TOP)/src/base/labels.c $(TOP)/src/base/regex.c \
	$(addprefix $(TOP)/,$(RULES_TEMPLATE_SRCS))

UNIT_TESTS += test_rules_template

$(BUILD)/test_rules_template: test_rules_template.c rules_template_cases.h $(RULES_TMPL_ENGINE) \
		$(TOP)/src/rules/rules_int.h $(TOP)/src/base/base.h | $(BUILD)
	$(CC) $(CFLAGS) -DALLOY_ARENA_CLOBBER -o $@ test_rules_template.c $(RULES_TMPL_ENGINE) $(LDLIBS) -lpcre2-8
