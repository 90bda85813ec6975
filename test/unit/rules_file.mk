# Rule files (src/rules, RULES_FILE_SRCS): parser, checks, emitter, over the
# corpus in rules_file/ (good/ and bad/), with promtool as a live oracle when
# it is installed.  Links the PromQL parser for expr and libyaml.
include $(TOP)/src/rules/objs.mk
include $(TOP)/src/promql/objs.mk
RULES_FILE_LIB = $(addprefix $(TOP)/,$(RULES_FILE_SRCS) $(RULES_TEMPLATE_SRCS)) \
	$(TOP)/src/base/arena.c $(TOP)/src/base/labels.c $(TOP)/src/base/regex.c \
	$(addprefix $(TOP)/src/promql/,$(PROMQL_OBJS:.o=.c))
RULES_FILE_HDRS = $(TOP)/src/rules/rules.h $(TOP)/src/rules/rules_int.h $(wildcard $(TOP)/src/promql/*.h) $(TOP)/src/base/base.h

UNIT_TESTS += test_rules_file

$(BUILD)/test_rules_file: test_rules_file.c $(RULES_FILE_LIB) $(RULES_FILE_HDRS) | $(BUILD)
	$(CC) $(CFLAGS) -DRULES_CORPUS='"$(TOP)/test/unit/rules_file"' -o $@ test_rules_file.c \
		$(RULES_FILE_LIB) $(LDLIBS) -lpcre2-8 -lyaml
